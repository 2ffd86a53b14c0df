"""The one Accelerate training loop shared by every hfgen task."""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import json
import logging
import math
import os
import re
import shutil
import sys
import time
import warnings
from typing import Optional

import torch

from hfgen.data.batching import EpochBatcher, build_batcher, move_batch  # noqa: F401  (EpochBatcher: re-exported)

from .args import CONSTANT_THEN_LINEAR, ConfigurationError, TrainingArguments
from .ema import EMA
from .lock import OutputDirLockedError, RunLock
from .state import (
    CorruptCheckpointError,
    StorageError,
    apply_umask_mode,
    incomplete_checkpoints,
    list_checkpoints,
    load_checkpoint_tree,
    pid_is_alive,
    prune_checkpoints,
    remove_stale_temporaries,
    rng_state,
    save_state_tree,
    set_rng_state,
    write_checkpoint_atomically,
)
from .task import StepContext, Task

logger = logging.getLogger("hfgen.training")

# Divergence short of NaN: a logged loss this large (in magnitude) means the game has blown up
# (a GAN's losses are O(1)-O(100) when training works; lr 1e6 gives ~1e13).
LOSS_EXPLOSION_THRESHOLD = 1e6
# Saturated images: more than this share of generated pixels within 5e-4 of 0 or 1 in [0, 1]
# (|x| > 0.999 before the pipeline maps tanh's [-1, 1] to [0, 1]).
SATURATION_SHARE = 0.99
# Config entries that say nothing about a model's shape (versions, code pointers).
_UNCOMPARED_CONFIG_KEYS = {"transformers_version", "architectures", "auto_map", "dtype", "torch_dtype", "_name_or_path",
                           "_commit_hash", "_attn_implementation_autoset", "output_attentions", "output_hidden_states",
                           "return_dict", "use_return_dict"}
# Where a config field comes from when it is not a flag of the same name.
_CONFIG_FIELD_SOURCES = {
    "image_size": "--resolution or the dataset",
    "num_channels": "--num_channels or the dataset",
    "data_dim": "the dataset",
    "num_classes": "--class_conditional or the dataset's labels",
    "discriminator_pack": "--pack",
    "id2label": "the dataset's labels",
    "label2id": "the dataset's labels",
}
# Top-level entries an export writes beside the pipeline's components (replaced as a whole).
_EXPORT_FILES = ("model_index.json", "README.md", "eval_results.json", "samples.png", "loss_curves.png")
# Entries of logs/summary.json that are paths (written relative to the output folder).
_SUMMARY_PATHS = ("output_dir", "pipeline", "samples", "loss_curves", "model_card")
_STAGING_PATTERN = re.compile(r"^\.(?:export|old-export)-(\d+)\.tmp$")


class TrainingDivergedError(RuntimeError):
    """A loss became NaN or infinite; training stopped and no checkpoint was written after it."""


def build_lr_scheduler(args: TrainingArguments, optimizer: torch.optim.Optimizer, updates_per_step: int):
    """The LR scheduler of one optimizer that makes `updates_per_step` updates per training step.

    One scheduler step is one OPTIMIZER step (the loop steps each optimizer's scheduler right after
    that optimizer's `step()`, once, however many phases share the optimizer). The flags count
    training steps (--lr_warmup_steps, --lr_decay_steps, --max_train_steps, as the user thinks of
    them); they are converted here to optimizer steps by multiplying with `updates_per_step`
    (e.g. n_critic for a WGAN critic), so every optimizer follows the same schedule over the run.
    """
    warmup = args.lr_warmup_steps * updates_per_step
    total = args.max_train_steps * updates_per_step
    if args.lr_scheduler == CONSTANT_THEN_LINEAR:
        decay = args.lr_decay_steps * updates_per_step

        def factor(current: int) -> float:
            # Pix2Pix/CycleGAN's rule (1 - max(0, t - n) / (n_decay + 1)): constant, then the last `decay`
            # updates use decay/(decay+1), ..., 1/(decay+1) of the rate; 0 would only come after the run.
            if current < warmup:
                return current / warmup
            return min(1.0, max(0.0, (total - current) / (decay + 1)))

        return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    from diffusers.optimization import get_scheduler

    return get_scheduler(args.lr_scheduler, optimizer, num_warmup_steps=warmup, num_training_steps=total)


def _to_cpu(value):
    """`value` with every tensor moved to the CPU (what is gathered across processes and checkpointed)."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, dict):
        return {k: _to_cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_to_cpu(v) for v in value)
    return value


def _fsdp_refusal() -> str:
    """Why FSDP is refused, and what to run instead (the error of `accelerate launch --use_fsdp ...`).

    Why refused rather than attempted: the loop reads each model's whole weights on the main process
    alone (checkpoints: `unwrap_model(m).state_dict()` and the optimizer's state; EMA: a deep copy of the
    model, updated from its parameters; periodic evaluation, sample grids, the output check and the export
    run the model there; the end-of-run digest compares the processes' parameters). Under FSDP each process
    holds only a shard: gathering the full weights is a collective every process must join, and a forward
    pass of the sharded model on the main process alone waits for the others forever. None of this can be
    run here (Accelerate does not start FSDP on CPU, see below), so it is refused instead of guessed at.
    """
    message = (
        "FSDP was requested (accelerate launch --use_fsdp, or an accelerate config with distributed_type: FSDP, sets "
        "ACCELERATE_USE_FSDP=true), but hfgen's training loop does not support FSDP: its checkpoints, EMA, evaluations and "
        "export read each model's whole weights on the main process, while FSDP shards them over the processes. Train with "
        "DDP instead, which fits every hfgen model (each fits one device): `accelerate launch --multi_gpu --num_processes N "
        "scripts/train_<task>.py ...` (on CPUs: `ACCELERATE_USE_CPU=true accelerate launch --multi_gpu --num_processes N ...`)."
    )
    if not torch.cuda.is_available():
        import accelerate

        # Measured with Accelerate 1.15 / torch 2.13 (CPU build), two processes: it enables FSDP only for GPU-like
        # backends; on CPU the FSDP plugin fails, or (sync_module_states off) the job quietly runs as DDP.
        message += (
            f" Without a CUDA GPU, Accelerate {accelerate.__version__} would not run FSDP anyway: it stops with \"There are "
            "currently no available devices found\", or, with --fsdp_sync_module_states false (and "
            "--fsdp_cpu_ram_efficient_loading false for FSDP 1), silently trains with DDP."
        )
    return message


def _select_trackers(report_to: str) -> Optional[list[str]]:
    if report_to == "none":
        return None
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        if report_to in ("tensorboard", "all"):
            raise ConfigurationError("report_to=tensorboard needs the tensorboard package: pip install tensorboard.")
        return None
    return ["tensorboard"]


class Trainer:
    """Runs a `Task` with `TrainingArguments`: the only code that touches the `Accelerator`.

    One training step = for each phase of the task (e.g. critic x n_critic, then generator):
    draw a batch, compute the task's losses, backward, optimizer and scheduler step. Checkpoints
    hold models, optimizers, schedulers, EMA, RNG states, data position and step.
    """

    def __init__(self, task: Task, args: TrainingArguments, dataset=None):
        args.validate()
        self.task, self.args = task, args
        self.dataset = dataset
        self.history: list[dict] = []
        # Warnings that go to the log, logs/summary.json and the model card (checkpointed, so a
        # resumed run keeps those of the steps before it).
        self.warnings: list[str] = []
        self._exploded: set[str] = set()

    # -- setup ----------------------------------------------------------------------------------

    def _make_accelerator(self):
        from accelerate import Accelerator
        from accelerate.state import AcceleratorState, GradientState
        from accelerate.utils import ProjectConfiguration, parse_flag_from_env

        # FSDP is refused before anything starts (no process group, no lock, no file). `accelerate launch
        # --use_fsdp` (or a config with distributed_type: FSDP) says so through this variable; hfgen builds
        # its own Accelerator without an fsdp_plugin, so it is the only way FSDP reaches this loop.
        if parse_flag_from_env("ACCELERATE_USE_FSDP"):
            raise ConfigurationError(_fsdp_refusal())
        # Several trainings in one process (notebooks, tests) may differ in mixed precision:
        # start from a fresh AcceleratorState; the process group (PartialState) is kept.
        if AcceleratorState._shared_state:
            AcceleratorState._reset_state()
            GradientState._reset_state()

        mixed_precision = self.args.mixed_precision
        if mixed_precision == "fp16" and not torch.cuda.is_available():
            warnings.warn("fp16 mixed precision needs a GPU; on CPU it is a no-op: training in fp32 (use bf16 on CPU).")
            mixed_precision = "no"
        project = ProjectConfiguration(project_dir=self.args.output_dir, logging_dir=os.path.join(self.args.output_dir, "logs"))
        return Accelerator(
            mixed_precision=mixed_precision,
            log_with=_select_trackers(self.args.report_to),
            project_config=project,
        )

    # -- checkpoints ----------------------------------------------------------------------------

    @property
    def checkpoints_dir(self) -> str:
        """`<output_dir>/checkpoints`."""
        return os.path.join(self.args.output_dir, "checkpoints")

    def _resume(self) -> int:
        """Restores `--resume_from_checkpoint` (after checking it fits this run); returns its step (0: none).

        With `latest`, a damaged newest checkpoint (truncated file, bad JSON, bad RNG state) is
        skipped with a warning naming the file and the checkpoint used instead; an explicit damaged
        path is refused, naming the newest intact checkpoint to pass instead.
        """
        value = self.args.resume_from_checkpoint
        if not value:
            return 0
        main = self.accelerator.is_main_process
        for path in incomplete_checkpoints(self.checkpoints_dir) if main else []:
            logger.warning("Skipping %s: it lacks state.json or state.safetensors (a damaged or partly deleted checkpoint).", path)
        if value == "latest":
            candidates = [path for _, path in reversed(list_checkpoints(self.checkpoints_dir))]
            if not candidates:
                logger.warning("resume_from_checkpoint=latest: no checkpoint in %s, starting from scratch.", self.checkpoints_dir)
                return 0
        else:
            missing = [n for n in ("state.json", "state.safetensors") if not os.path.isfile(os.path.join(value, n))]
            if missing:
                raise ConfigurationError(
                    f"--resume_from_checkpoint {value} is not a complete checkpoint folder (no {' or '.join(missing)}); "
                    f"pass 'latest' or one of {self.checkpoints_dir}/checkpoint-<step>."
                )
            candidates = [value]
        damaged: list[CorruptCheckpointError] = []
        for path in candidates:
            try:
                tree = load_checkpoint_tree(path)
                notes = self._check_resumable(tree, path)
                step = self._load_checkpoint(path, tree)
            except CorruptCheckpointError as error:
                if value != "latest":
                    intact = self._newest_intact_checkpoint(exclude=path)
                    advice = f"the newest intact checkpoint is {intact}: pass --resume_from_checkpoint {intact}" if intact \
                        else f"no intact checkpoint is left in {self.checkpoints_dir}: start afresh without --resume_from_checkpoint"
                    raise ConfigurationError(f"Cannot resume from {path}: {error}; {advice}.") from None
                damaged.append(error)
                continue
            if damaged and main:
                logger.warning(
                    "The newest checkpoint is damaged (%s); resuming from the newest intact one instead: %s.",
                    "; ".join(str(e) for e in damaged), path,
                )
            for note in notes:  # after the load, which restored the checkpoint's own warnings
                self._warn(note)
            logger.info("Resumed from %s at step %d", path, step)
            return step
        raise ConfigurationError(
            f"No intact checkpoint in {self.checkpoints_dir}: " + "; ".join(str(e) for e in damaged)
            + ". Start afresh without --resume_from_checkpoint (or in another --output_dir)."
        )

    def _newest_intact_checkpoint(self, exclude: str) -> Optional[str]:
        for _, path in reversed(list_checkpoints(self.checkpoints_dir)):
            if os.path.abspath(path) == os.path.abspath(exclude):
                continue
            try:
                load_checkpoint_tree(path)
            except CorruptCheckpointError:
                continue
            return path
        return None

    def _flag_names(self) -> set:
        """Every CLI flag of this run: TrainingArguments' fields and those of the task's argument dataclasses."""
        names = {f.name for f in dataclasses.fields(self.args)}
        for value in vars(self.task).values():
            if dataclasses.is_dataclass(value) and not isinstance(value, type):
                names |= {f.name for f in dataclasses.fields(value)}
        return names

    def _model_settings(self) -> dict:
        """Each model's configuration (what shapes its weights), recorded in checkpoints."""
        settings = {}
        for name, model in self.task.models.items():
            config = getattr(model, "config", None)
            if config is not None and hasattr(config, "to_dict"):
                settings[name] = {k: v for k, v in config.to_dict().items() if k not in _UNCOMPARED_CONFIG_KEYS}
        return settings

    def _task_settings(self) -> dict:
        """`task.describe()` flattened to dotted keys, without learning rates (a new one applies on resume)."""
        flat = {}

        def walk(prefix, value):
            if isinstance(value, dict):
                for k, v in value.items():
                    walk(f"{prefix}.{k}" if prefix else str(k), v)
            elif "learning_rate" not in prefix:
                flat[prefix] = value

        walk("", json.loads(json.dumps(self.task.describe(), default=str)))
        return flat

    def _check_resumable(self, tree: dict, path: str) -> list[str]:
        """Refuses a checkpoint this run cannot continue: other model shapes, other optimizer, no steps left.

        Returns warnings for the settings that changed but can continue (loss, n_critic, ...).
        """
        step = int(tree["step"])
        if step >= self.args.max_train_steps:
            raise ConfigurationError(
                f"{path} is at step {step} and --max_train_steps is {self.args.max_train_steps}: nothing is left to train "
                f"(the export in {self.args.output_dir} would be overwritten with the same weights). Pass a --max_train_steps "
                f"above {step} to continue training."
            )
        recorded = tree.get("settings") or {}
        flags = self._flag_names()
        differences = []
        for name, new in self._model_settings().items():
            old = (recorded.get("models") or {}).get(name)
            if old is None:
                continue
            for key in sorted(set(old) | set(new)):
                if old.get(key) != new.get(key):
                    source = f"--{key}" if key in flags else _CONFIG_FIELD_SOURCES.get(key, "config field")
                    differences.append(f"{name}.{key} ({source}): checkpoint {old.get(key)!r}, now {new.get(key)!r}")
        if differences:
            raise ConfigurationError(
                f"Cannot resume from {path}: the models of this run are shaped differently: " + "; ".join(differences)
                + ". Pass the checkpoint's values (see its run's logs/training_args.json), or train the new shape in another "
                "--output_dir (use --init_from only between folders of the same shape)."
            )
        old_task = recorded.get("task")
        if old_task is not None:
            new_task = self._task_settings()
            # The same setting may appear as a raw flag (None: "from the preset") and resolved:
            # report each setting once, by its resolved value when there is one.
            by_leaf: dict[str, str] = {}
            for key in sorted(k for k in set(old_task) | set(new_task) if old_task.get(k) != new_task.get(k)):
                leaf = key.split(".")[-1]
                if leaf not in by_leaf or (old_task.get(key) is not None and new_task.get(key) is not None):
                    by_leaf[leaf] = key
            changed = sorted(by_leaf.values())
            optimizer = [k for k in changed if k.split(".")[-1] == "optimizer"]
            if optimizer:
                raise ConfigurationError(
                    f"Cannot resume from {path} with another optimizer ({optimizer[0]}: checkpoint {old_task.get(optimizer[0])!r}, "
                    f"now {new_task.get(optimizer[0])!r}): its optimizer state does not fit. Pass --optimizer "
                    f"{old_task.get(optimizer[0])}, or start afresh in another --output_dir."
                )
            if changed:
                return [
                    f"Resumed from step {step} with changed settings: "
                    + ", ".join(f"{k} {old_task.get(k)!r} -> {new_task.get(k)!r}" for k in changed)
                    + " (the steps before used the checkpoint's)."
                ]
        return []

    def _warn(self, message: str) -> None:
        """A loud warning: logged now, and listed in logs/summary.json and on the model card."""
        if message not in self.warnings:
            self.warnings.append(message)
        if self.accelerator.is_main_process:
            logger.warning("WARNING: %s", message)

    def _save_checkpoint(self, step: int) -> str:
        from accelerate.utils import gather_object

        acc = self.accelerator
        # Every process contributes its RNG state and its task state (e.g. its image pool): the
        # checkpoint keeps one of each per process; only the main process writes.
        per_process = gather_object([{"rng": rng_state(self.generators), "task": _to_cpu(self.task.state_dict())}])
        path = None
        if acc.is_main_process:
            tree = {
                "step": step,
                "models": {n: acc.unwrap_model(m).state_dict() for n, m in self.models.items()},
                "optimizers": {n: o.optimizer.state_dict() if hasattr(o, "optimizer") else o.state_dict() for n, o in self.optimizers.items()},
                "schedulers": {n: s.state_dict() for n, s in self.schedulers.items()},
                "ema": {n: e.state_dict() for n, e in self.ema.items()} if self.ema else None,
                "rng": [p["rng"] for p in per_process],
                "data": self.batcher.state_dict(),
                "task": [p["task"] for p in per_process],
                "history": self.history,
                "monitor": self.monitor.state_dict() if self.monitor is not None else None,
                "world_size": acc.num_processes,
                "warnings": list(self.warnings),
                # What the next run is compared with before it resumes (shapes, optimizer, loss, ...).
                "settings": {"models": self._model_settings(), "task": self._task_settings()},
            }
            path = write_checkpoint_atomically(self.checkpoints_dir, step, lambda tmp: save_state_tree(tree, tmp))
            prune_checkpoints(self.checkpoints_dir, self.args.checkpoints_total_limit)
            self.last_checkpoint = path
        acc.wait_for_everyone()
        return path

    def _load_checkpoint(self, path: str, tree: dict) -> int:
        """Restores every part of `tree`; a new --learning_rate then replaces the checkpoint's."""
        acc = self.accelerator
        state_json = os.path.join(path, "state.json")
        # The learning rates this run was configured with (the schedulers stored them as initial_lr).
        configured = {n: [g["initial_lr"] for g in o.param_groups] for n, o in self.optimizers.items()}
        for name, model in self.models.items():
            try:
                acc.unwrap_model(model).load_state_dict(tree["models"][name])
            except KeyError:
                raise CorruptCheckpointError(f"{state_json} holds no weights for the {name}", state_json) from None
            except RuntimeError as error:  # checkpoints without recorded settings: shapes differ
                first = str(error).strip().splitlines()
                raise ConfigurationError(
                    f"Cannot resume from {path}: its {name} does not fit this run's ({' '.join(first[:3])}). Pass the flags "
                    "that run used (model sizes, --latent_dim, --class_conditional, ...), or start afresh in another --output_dir."
                ) from None
        if self.ema and tree.get("ema") is None:
            raise ConfigurationError(f"{path} was trained without --use_ema; resume without it or start afresh.")
        try:
            for name, opt in self.optimizers.items():
                opt.load_state_dict(tree["optimizers"][name])
            for name, sched in self.schedulers.items():
                sched.load_state_dict(tree["schedulers"][name])
            if self.ema:
                ema_states = tree["ema"]
                if "shadow" in ema_states and len(self.ema) == 1:  # written when a task had one EMA model
                    ema_states = {next(iter(self.ema)): ema_states}
                for name, ema in self.ema.items():
                    ema.load_state_dict(ema_states[name])
            rngs, task_states = tree["rng"], tree["task"]
            if not isinstance(task_states, list):  # written before task state was kept per process
                task_states = [task_states] * len(rngs)
            if len(rngs) == acc.num_processes:
                set_rng_state(rngs[acc.process_index], self.generators)
                self.task.load_state_dict(task_states[acc.process_index])
            else:
                logger.warning("Checkpoint written by %d processes, resuming with %d: RNG streams restart and every process "
                               "continues from the main process's task state.", len(rngs), acc.num_processes)
                self.task.load_state_dict(task_states[0])
            self.batcher.load_state_dict(tree["data"])
        except ConfigurationError:
            raise
        except (KeyError, IndexError, TypeError, ValueError, RuntimeError) as error:
            # e.g. "Invalid mt19937 state" from a damaged RNG entry, a missing optimizer entry
            raise CorruptCheckpointError(f"{state_json} holds a damaged training state ({type(error).__name__}: {error})", state_json) from None
        self.history = list(tree["history"])
        self.warnings = list(tree.get("warnings") or [])
        if tree.get("monitor") is not None and acc.is_main_process:
            self._evaluation_setup()
            self.monitor.load_state_dict(tree["monitor"])
            self.monitor.total_steps = self.args.max_train_steps  # this run's length, not the checkpoint's run's
        self.last_checkpoint = path
        step = int(tree["step"])
        self._apply_configured_learning_rates(configured, step)
        return step

    def _apply_configured_learning_rates(self, configured: dict, step: int) -> None:
        """Resume policy: the learning rate of THIS run applies from the resumed step on.

        The checkpoint's optimizer and scheduler carry the old rate; the schedule's base is
        replaced by the new one (its position is kept: warm-up/decay continue from `step`), so the
        advice "lower the learning rate, then resume" works. The change is logged and listed on the card.
        """
        changes = []
        for name, opt in self.optimizers.items():
            sched = self.schedulers.get(name)
            for i, group in enumerate(opt.param_groups):
                old, new = group.get("initial_lr", group["lr"]), configured[name][i]
                if math.isclose(old, new, rel_tol=1e-9, abs_tol=0.0):
                    continue
                # Every diffusers schedule is lr = base * factor(step): rescaling keeps the factor.
                group["lr"] = group["lr"] * new / old
                group["initial_lr"] = new
                if sched is not None:
                    sched.base_lrs[i] = new
                changes.append(f"{name} {old:g} -> {new:g}")
            if sched is not None:
                sched._last_lr = [g["lr"] for g in opt.param_groups]
        if changes:
            self._warn(f"Learning rate changed on resume at step {step}: {', '.join(changes)} (steps 1-{step} used the old rate).")

    # -- the loop -------------------------------------------------------------------------------

    def _check_finite(self, losses: dict, phase: str, step: int) -> None:
        values = torch.stack([v.detach().float().reshape(()) for v in losses.values()])
        if not bool(torch.isfinite(values).all()):
            bad = {k: float(v.detach()) for k, v in losses.items() if not math.isfinite(float(v.detach()))}
            where = self.last_checkpoint or "none (no checkpoint was written yet)"
            raise TrainingDivergedError(
                f"Non-finite loss at step {step} in the {phase} phase: {bad}. Training stopped; the last good "
                f"checkpoint is {where}. Try a lower --learning_rate (a new rate applies when resuming), "
                "then resume with --resume_from_checkpoint latest; or start afresh with a gradient penalty or spectral norm."
            )

    def _next_batch(self) -> dict:
        # Caption choice and augmentation draw from the loop's checkpointed generator: resume stays exact.
        generator = self.generators["noise"]
        batch = move_batch(self.dataset.get_batch(self.batcher.next_indices(), generator), self.accelerator.device)
        return self.task.augment(batch, generator)

    def train(self) -> dict:
        """Trains, writes checkpoints/samples/logs, exports the pipeline; returns a summary.

        The output folder is locked for the whole run (one run per folder); the lock is taken
        by the main process, and every process fails alike when another run holds it.
        """
        from accelerate.utils import broadcast_object_list

        if self.args.num_threads:
            torch.set_num_threads(self.args.num_threads)
        acc = self.accelerator = self._make_accelerator()
        lock = RunLock(self.args.output_dir) if acc.is_main_process else None
        refused = [None]
        if lock is not None:
            try:
                lock.acquire()
            except OutputDirLockedError as error:
                refused = [str(error)]
        if acc.num_processes > 1:
            broadcast_object_list(refused)
        if refused[0]:
            raise OutputDirLockedError(refused[0])
        try:
            if lock is not None:
                self._remove_stale_temporaries()
            return self._train()
        finally:
            if lock is not None:
                lock.release()

    def _remove_stale_temporaries(self) -> None:
        """Leftovers of killed runs (the lock says none is live): partial checkpoints and export folders."""
        removed = remove_stale_temporaries(self.checkpoints_dir)
        out = self.args.output_dir
        for name in os.listdir(out) if os.path.isdir(out) else []:
            match = _STAGING_PATTERN.match(name)
            if match and (int(match.group(1)) == os.getpid() or not pid_is_alive(int(match.group(1)))):
                shutil.rmtree(os.path.join(out, name), ignore_errors=True)
                removed.append(name)
        if removed:
            logger.warning("Removed leftovers of an interrupted run in %s: %s", out, ", ".join(removed))

    def _check_task(self, phases, optimizers: dict) -> None:
        """Fails early, naming the task's mistake, when its phases, EMA or frozen models do not fit its models."""
        task = self.task
        problems = [f"frozen model {n!r} is not in task.models" for n in task.frozen_models if n not in task.models]
        for phase in phases:
            problems += [f"phase {phase.name!r} trains {n!r}, which is not in task.models" for n in phase.trainable if n not in task.models]
            problems += [f"phase {phase.name!r} trains the frozen model {n!r}" for n in phase.trainable if n in task.frozen_models]
            if phase.optimizer not in optimizers:
                problems.append(f"phase {phase.name!r} uses optimizer {phase.optimizer!r}, which create_optimizers() did not return")
        trained = {n for phase in phases for n in phase.trainable}
        problems += [f"ema_models names {n!r}, which no phase trains" for n in task.ema_models if n not in trained]
        if problems:
            raise ValueError(f"Task {type(task).__name__} is inconsistent: " + "; ".join(problems) + ".")

    def _train(self) -> dict:
        from accelerate.utils import set_seed

        args, task, acc = self.args, self.task, self.accelerator
        if self.dataset is None:
            self.dataset = task.load_dataset(args)
        # Loop settings left unset (None): the task's suggestion for these data, else the loop's default.
        suggested = task.loop_defaults(self.dataset, args)
        self.task_loop_defaults = {k: v for k, v in suggested.items() if getattr(args, k) is None}
        self.args = args = args.with_defaults(suggested)
        task.training_args = args
        if self.task_loop_defaults and acc.is_main_process:
            print(f"Loop settings suggested by the {task.name} task for these data (flags left unset): "
                  + ", ".join(f"--{k} {v}" for k, v in self.task_loop_defaults.items()) + "; pass a flag to choose otherwise.",
                  file=sys.stderr, flush=True)
        set_seed(args.seed)  # identical initial models on every process
        task.setup(self.dataset)
        if args.init_from:
            task.load_exported(args.init_from)
        optimizers = task.create_optimizers()
        # Frozen models (e.g. a pretrained text encoder) are only moved: DDP would synchronise
        # gradients they never get, and checkpoints would copy weights that never change.
        names = [n for n in task.models if n not in task.frozen_models]
        prepared = acc.prepare(*[task.models[n] for n in names], *[optimizers[n] for n in optimizers])
        prepared = prepared if isinstance(prepared, tuple) else (prepared,)
        self.models = dict(zip(names, prepared[: len(names)]))
        self.optimizers = dict(zip(optimizers, prepared[len(names) :]))
        self.unwrapped = {n: acc.unwrap_model(m) for n, m in self.models.items()}
        self.frozen = {n: task.models[n].to(acc.device).eval().requires_grad_(False) for n in task.frozen_models}
        phases = task.phases()
        self._check_task(phases, self.optimizers)
        # One scheduler per optimizer, however many phases share it (see build_lr_scheduler).
        updates_per_step: dict[str, int] = {}
        for phase in phases:
            updates_per_step[phase.optimizer] = updates_per_step.get(phase.optimizer, 0) + phase.repeats
        self.schedulers = {n: build_lr_scheduler(args, self.optimizers[n], k) for n, k in updates_per_step.items()}
        self.ema = {n: EMA(self.unwrapped[n], args.ema_decay) for n in task.ema_models} if args.use_ema else {}
        # Per-process randomness (a design choice): the models above were initialised from the same
        # seed on every process (DDP needs identical replicas); from here on torch's, numpy's and
        # Python's global generators are seeded with seed + rank, so each process draws its own
        # dropout masks, noise and timesteps from them (with one seed for all, every process would
        # repeat the same draws and the extra processes would add no randomness). The loop's own
        # noise generator is per process too (seed * 7919 + rank). All of them are checkpointed per
        # process and restored on resume. (seed + rank means seed 1 on rank 0 draws what seed 0 draws
        # on rank 1; the data order and initial models still differ, as they depend on the seed only.)
        set_seed(args.seed + acc.process_index)
        # The loop's own RNG for noise z and penalties: seeded per process, checkpointed.
        self.generators = {"noise": torch.Generator(device=acc.device).manual_seed(args.seed * 7919 + acc.process_index)}
        self.batcher = build_batcher(self.dataset, args.train_batch_size, args.seed, acc.process_index, acc.num_processes)
        self.last_checkpoint = None
        self.evaluator = self.monitor = None
        stopped_early = None

        start_step = self._resume()

        if acc.is_main_process:
            os.makedirs(os.path.join(args.output_dir, "samples"), exist_ok=True)
            os.makedirs(os.path.join(args.output_dir, "logs"), exist_ok=True)
        if acc.log_with:
            acc.init_trackers("hfgen", config={k: v for k, v in dataclasses.asdict(args).items() if isinstance(v, (int, float, str, bool))})

        from tqdm.auto import tqdm

        progress = tqdm(
            range(start_step, args.max_train_steps),
            initial=start_step,
            total=args.max_train_steps,
            disable=args.disable_tqdm or not acc.is_local_main_process,
            desc=f"{task.name} steps",
        )
        # What each phase sees and does, fixed for the run: its models (the trained ones DDP-wrapped,
        # the others unwrapped, the frozen ones), the parameters it clips, the EMAs it updates.
        plans = []
        for phase in phases:
            models = {n: (self.models[n] if n in phase.trainable else self.unwrapped[n]) for n in self.models}
            max_norm = phase.max_grad_norm if phase.max_grad_norm is not None else args.max_grad_norm
            clipped = [p for n in phase.trainable for p in self.models[n].parameters()] if max_norm else None
            plans.append((phase, {**models, **self.frozen}, max_norm, clipped, [n for n in self.ema if n in phase.trainable]))
        trainable_now: Optional[tuple] = None
        running: dict[str, list] = {}
        accum = args.gradient_accumulation_steps
        start_time = time.perf_counter()
        step = start_step
        for step in range(start_step, args.max_train_steps):
            carry: dict = {}  # handed from phase to phase within this step only
            for phase, models, max_norm, clipped, ema_names in plans:
                # Only the phase's models need gradients: saves the backward through the others.
                # Frozen models are not in self.unwrapped: they keep requires_grad=False.
                if trainable_now != phase.trainable:
                    for name, model in self.unwrapped.items():
                        model.requires_grad_(name in phase.trainable)
                    trainable_now = phase.trainable
                ctx = StepContext(models=models, generator=self.generators["noise"], device=acc.device, step=step, carry=carry)
                optimizer = self.optimizers[phase.optimizer]
                for _ in range(phase.repeats):
                    if phase.new_batch or self._last_batches is None:
                        self._last_batches = [self._next_batch() for _ in range(accum)]
                    for micro, batch in enumerate(self._last_batches):
                        with acc.autocast():
                            losses = phase.step(batch, ctx)
                        self._check_finite(losses, phase.name, step)
                        with contextlib.ExitStack() as stack:
                            if micro < accum - 1:  # accumulate locally; synchronise on the last one
                                for name in phase.trainable:
                                    stack.enter_context(acc.no_sync(self.models[name]))
                            acc.backward(losses["loss"] / accum)
                        # Every repeat and micro-batch counts in the logged mean, under the phase's name.
                        for key, value in losses.items():
                            running.setdefault(f"{phase.name}/{key}", []).append(value.detach())
                    if max_norm:
                        acc.clip_grad_norm_(clipped, max_norm)
                    optimizer.step()
                    optimizer.zero_grad(set_to_none=True)
                    self.schedulers[phase.optimizer].step()
                    if phase.after_step is not None:
                        phase.after_step()
                for name in ema_names:  # after the phase that trains the model, whatever else it trains
                    self.ema[name].update(self.unwrapped[name])
            progress.update(1)
            done = step + 1
            if done % args.logging_steps == 0 or done == args.max_train_steps:
                row = {"step": done, **{k: float(torch.stack(v).float().mean()) for k, v in running.items()}}
                running = {}
                row["lr"] = self.schedulers[phases[-1].optimizer].get_last_lr()[0]
                self.history.append(row)
                self._check_loss_magnitude(row)
                progress.set_postfix({k: f"{v:.3g}" for k, v in row.items() if k not in ("step", "lr")}, refresh=False)
                if acc.log_with:
                    acc.log({k: v for k, v in row.items() if k != "step"}, step=done)
            if args.sample_steps and done % args.sample_steps == 0 and acc.is_main_process:
                self._write_samples(os.path.join(args.output_dir, "samples", f"step-{done:06d}.png"))
            if args.eval_steps and done % args.eval_steps == 0:
                stopped_early = self._periodic_evaluation(done)
            if args.checkpointing_steps and done % args.checkpointing_steps == 0:
                self._save_checkpoint(done)
            if stopped_early:
                break
        progress.close()
        elapsed = time.perf_counter() - start_time
        acc.wait_for_everyone()
        summary = {
            "steps": step + 1 if stopped_early else args.max_train_steps,
            "stopped_early": stopped_early,
            "resumed_from_step": start_step,
            "seconds": elapsed,
            "steps_per_second": (step + 1 - start_step) / elapsed if elapsed > 0 else None,
            "world_size": acc.num_processes,
            "output_dir": os.path.abspath(args.output_dir),
        }
        if acc.num_processes > 1:
            from accelerate.utils import gather_object

            # DDP keeps the replicas equal; prove it for this run (a silent divergence would export
            # only the main process's weights).
            digests = gather_object([self._weights_digest()])
            summary["weights_sha256_per_process"] = list(digests)
            if len(set(digests)) > 1:
                self._warn(f"The {acc.num_processes} processes ended with different weights: the export holds the main process's.")
        if acc.is_main_process:
            self._finish(summary)
        # Every process returns only once the export is complete; then trackers are closed and the
        # process group is destroyed (accelerate >= 1.x): nothing collective may follow end_training.
        acc.wait_for_everyone()
        prepared = plans = models = ctx = optimizer = None  # noqa: F841  (local references to the DDP wrappers)
        self._release_prepared_objects()
        acc.end_training()
        return summary

    def _release_prepared_objects(self) -> None:
        """Drops the DDP wrappers (and accelerate's references to them) while the process group lives.

        A DDP model's reducer holds the process group. Freed after `end_training()` (when this
        Trainer is garbage-collected), it was the group's last owner: the gloo group's destructor then
        joined its worker thread while holding the GIL, and that thread, still releasing the tensors
        of the last collective, waited for the GIL: a deadlock seen in about 1 of 3 two-process runs
        on a loaded machine. Freed here, the group outlives them and is destroyed by end_training.
        """
        if self.accelerator.num_processes == 1:
            return
        import gc

        self.models = dict(self.unwrapped)
        self.optimizers = {}
        self.accelerator.free_memory()
        gc.collect()

    def _weights_digest(self) -> str:
        """sha256 over every model's (and the EMA's) parameters, in a fixed order.

        Buffers are left out: BatchNorm running statistics are per process under DDP (each
        process normalises its own batches; DDP re-broadcasts rank 0's at each wrapped forward).
        """
        digest = hashlib.sha256()
        models = dict(self.unwrapped)
        for name, ema in self.ema.items():
            models[f"ema/{name}"] = ema.shadow
        for name in sorted(models):
            for key, tensor in sorted(models[name].named_parameters()):
                digest.update(f"{name}.{key}".encode())
                digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
        return digest.hexdigest()

    def _check_loss_magnitude(self, row: dict) -> None:
        """Warns (once per loss) when a logged loss explodes: divergence that is not (yet) a NaN."""
        for key, value in row.items():
            if key in ("step", "lr") or key.startswith("eval/") or key in self._exploded:
                continue
            if abs(value) > LOSS_EXPLOSION_THRESHOLD:
                self._exploded.add(key)
                self._warn(
                    f"Training diverged: {key} reached {value:.3g} at step {row['step']} (|loss| > {LOSS_EXPLOSION_THRESHOLD:g}). "
                    "The samples are likely meaningless; retrain with a lower --learning_rate (or resume from an earlier "
                    "checkpoint with one), a gradient penalty or spectral norm."
                )

    def _output_warnings(self, pipe) -> list[str]:
        """Checks a batch of generated samples: non-finite values, or images saturated at 0/1."""
        generator = torch.Generator(device=pipe.device).manual_seed(self.args.seed)
        try:
            with torch.no_grad():
                samples = self.task.output_samples(pipe, generator)
        except (TypeError, ValueError) as error:  # a pipeline that needs more inputs (e.g. prompts)
            logger.warning("The check of generated outputs was skipped: %s", error)
            return []
        samples = torch.as_tensor(samples, dtype=torch.float32)
        found = []
        if not bool(torch.isfinite(samples).all()):
            found.append("The generator outputs NaN or infinite values: the model is broken; retrain with a lower --learning_rate.")
        elif samples.dim() == 4:  # images in [0, 1]
            share = float(((samples <= 5e-4) | (samples >= 1 - 5e-4)).float().mean())
            if share > SATURATION_SHARE:
                found.append(
                    f"The generator's outputs are saturated: {share:.1%} of generated pixels are at the extremes (|x| > 0.999 "
                    "before mapping to [0, 1]). Training has likely diverged; retrain with a lower --learning_rate."
                )
        return found

    _last_batches = None

    # -- evaluation -----------------------------------------------------------------------------

    def _evaluation_setup(self):
        """The evaluator and collapse monitor of periodic evaluation (main process, built once)."""
        if self.evaluator is None:
            from hfgen.evaluation import CollapseMonitor

            self.evaluator = self.task.build_evaluator(self.dataset, metrics=self.args.eval_metrics,
                                                       num_samples=self.args.eval_samples, seed=self.args.seed)
            floor = self.evaluator.floors()["real_vs_real"]["metrics"].get("fid")
            # The coverage alarm counts the classes the evaluator can tell apart (10 digits, 48 shapes).
            extractor = getattr(self.evaluator, "extractor", None)
            num_classes = getattr(extractor, "num_classes", 0) or 10
            self.monitor = CollapseMonitor(fid_floor=floor, total_steps=self.args.max_train_steps, num_classes=num_classes)
        return self.evaluator

    def _periodic_evaluation(self, step: int) -> Optional[str]:
        """Evaluates the current (EMA) generator, logs it, keeps `best/`, runs the collapse alarm.

        Returns the alarm text when `stop_on_collapse` asks to stop (same answer on every process).
        """
        from accelerate.utils import broadcast_object_list

        acc = self.accelerator
        stop = [None]
        if acc.is_main_process:
            evaluator = self._evaluation_setup()
            with self._pipeline_in_eval_mode() as (pipe, models):
                result = evaluator(pipe)
                metrics = {k: v for k, v in result["metrics"].items() if isinstance(v, (int, float))}
                row = {"step": step, **{f"eval/{k}": float(v) for k, v in metrics.items()}}
                self.history.append(row)
                if acc.log_with:
                    acc.log({k: v for k, v in row.items() if k != "step"}, step=step)
                best = self.monitor.is_best(metrics)
                alarms = self.monitor.update(step, metrics)
                if best:
                    folder = os.path.join(self.args.output_dir, "best")
                    self.task.export(models, folder)
                    with open(os.path.join(folder, "eval_results.json"), "w") as f:
                        json.dump({**result, "step": step}, f, indent=2, default=float)
                    apply_umask_mode(folder)
                if alarms and self.args.stop_on_collapse:
                    stop = [f"collapse alarm at step {step}: " + "; ".join(alarms)]
        if acc.num_processes > 1:
            broadcast_object_list(stop)
        return stop[0]

    def _final_evaluation(self, out: str) -> Optional[dict]:
        """The short evaluation that ends training; its results fill the model card."""
        from hfgen.evaluation import EvaluationError

        try:
            evaluator = self.task.build_evaluator(self.dataset, metrics=self.args.eval_metrics,
                                                  num_samples=self.args.final_eval_samples, seed=self.args.seed)
            pipe = self.task.build_pipeline({n: m.eval() for n, m in self.export_models().items()})
            result = evaluator(pipe)
        except (FileNotFoundError, EvaluationError) as error:
            logger.warning("Final evaluation skipped: %s", error)
            return None
        with open(os.path.join(out, "eval_results.json"), "w") as f:
            json.dump(result, f, indent=2, default=float)
        return result

    # -- outputs --------------------------------------------------------------------------------

    def export_models(self) -> dict:
        """The models to export (in the task's order): unwrapped, frozen ones included, each EMA average
        in place of its raw model."""
        models = {**self.unwrapped, **self.frozen}
        for name, ema in self.ema.items():
            models[name] = ema.shadow
        return {name: models[name] for name in self.task.models if name in models}

    @contextlib.contextmanager
    def _pipeline_in_eval_mode(self):
        """Yields (pipeline, models) over the export models in eval mode; restores their modes."""
        models = self.export_models()
        modes = {n: m.training for n, m in models.items()}
        for m in models.values():
            m.eval()
        try:
            yield self.task.build_pipeline(models), models
        finally:
            for n, m in models.items():
                m.train(modes[n])

    def _write_samples(self, path: str) -> str:
        with self._pipeline_in_eval_mode() as (pipe, _):
            return self.task.save_samples(pipe, path, self.args.num_sample_images, seed=self.args.seed)

    def _write_summary(self, summary: dict, folder: Optional[str] = None) -> None:
        """`logs/summary.json` in `folder` (default: the output folder), every path relative to the output folder.

        The folder may be pushed to the Hub and moved: a path relative to the current directory or
        absolute would point nowhere there.
        """
        out = os.path.abspath(self.args.output_dir)

        def relative(key, value):
            if key in _SUMMARY_PATHS and isinstance(value, str):
                return os.path.relpath(os.path.abspath(value), out)
            return value

        with open(os.path.join(folder or out, "logs", "summary.json"), "w") as f:
            json.dump({k: relative(k, v) for k, v in summary.items()}, f, indent=2)

    def _finish(self, summary: dict) -> None:
        """Loss curves, samples, export, final evaluation, model card, push; updates `summary`.

        Everything is written into a hidden staging folder inside the output folder and swapped in
        only when complete: a failure (e.g. disk full) leaves the previous export, card and logs
        as they were. `checkpoints/`, `samples/`, `best/` and the lock are not part of the swap.
        """
        from .visualize import save_loss_curves

        out = os.path.abspath(self.args.output_dir)
        stage = os.path.join(out, f".export-{os.getpid()}.tmp")
        final = {}  # summary key -> name inside the output folder
        try:
            shutil.rmtree(stage, ignore_errors=True)
            os.makedirs(os.path.join(stage, "logs"))
            with open(os.path.join(stage, "logs", "training_args.json"), "w") as f:
                # The folder may be pushed to the Hub: record no local absolute paths.
                recorded = {**dataclasses.asdict(self.args), "output_dir": "."}
                json.dump({"training": recorded, "loop_defaults_from_task": getattr(self, "task_loop_defaults", {}),
                           **self.task.describe()}, f, indent=2, default=str)
            curves = save_loss_curves(self.history, os.path.join(stage, "loss_curves.png"))
            final["loss_curves"] = os.path.relpath(curves, stage) if curves else None
            with open(os.path.join(stage, "logs", "history.json"), "w") as f:
                json.dump(self.history, f)
            final["samples"] = os.path.relpath(self._write_samples(os.path.join(stage, "samples.png")), stage)
            models = self.export_models()
            for m in models.values():
                m.eval()
            pipe = self.task.build_pipeline(models)
            for message in self._output_warnings(pipe):
                self._warn(message)
            summary["warnings"] = list(self.warnings)
            summary.update({k: os.path.join(out, v) if v else None for k, v in final.items()})
            if self.args.export:
                self.task.export(models, stage)
                summary["pipeline"] = out
                self._write_summary(summary, stage)  # the model card reads it
                if self.args.final_eval_samples:
                    evaluation = self._final_evaluation(stage)
                    summary["metrics"] = evaluation["metrics"] if evaluation else None
                if os.path.isfile(os.path.join(stage, "model_index.json")):  # a pipeline: hfgen renders its card
                    from hfgen.hub import write_model_card

                    card = write_model_card(stage, repo_id=self.args.hub_model_id)
                else:  # a folder of another kind (e.g. transformers' CLIP) comes with the task's own card
                    card = os.path.join(stage, "README.md")
                summary["model_card"] = os.path.join(out, os.path.relpath(card, stage)) if os.path.isfile(card) else None
            self._write_summary(summary, stage)
            apply_umask_mode(stage)  # safetensors writes weights 0600; the user's umask decides
        except BaseException as error:
            shutil.rmtree(stage, ignore_errors=True)  # the previous export stays as it was
            if not isinstance(error, OSError):
                raise
            reason = "No space left on device" if error.errno == errno.ENOSPC else (error.strerror or str(error))
            where = self.last_checkpoint or "none (no checkpoint was written)"
            raise StorageError(
                f"Could not write the export into {out}: {reason} ({error}). Nothing of this run was swapped in: the previous "
                f"export, card and logs in {out} are untouched. The last checkpoint is {where}: free space, then export it "
                "by resuming with --resume_from_checkpoint latest and a --max_train_steps above its step."
            ) from error
        self._swap_in(stage, out)
        if self.args.export and self.args.push_to_hub:
            from hfgen.hub import push_folder

            summary["hub_commit"] = push_folder(out, self.args.hub_model_id, private=self.args.hub_private)
            self._write_summary(summary)

    def _swap_in(self, stage: str, out: str) -> None:
        """Moves the staged export into `out`, replacing the previous export as a whole.

        The previous export's entries (pipeline files, component folders, card, evaluation, grids)
        are moved aside first, so no file of an older export stays beside the new model. In `logs/`
        only the files written by this export are replaced (tracker event folders stay).
        """
        trash = os.path.join(out, f".old-export-{os.getpid()}.tmp")
        shutil.rmtree(trash, ignore_errors=True)
        os.makedirs(trash)
        staged = [n for n in os.listdir(stage) if n != "logs"]
        old = set(staged)
        if self.args.export and os.path.isfile(os.path.join(out, "model_index.json")):
            for name in os.listdir(out):
                path = os.path.join(out, name)
                if name in _EXPORT_FILES or (name.endswith(".py") and os.path.isfile(path)) or (
                    os.path.isdir(path) and os.path.isfile(os.path.join(path, "config.json"))
                ):
                    old.add(name)
        for name in sorted(old):
            if os.path.lexists(os.path.join(out, name)):
                os.replace(os.path.join(out, name), os.path.join(trash, name))
        for name in staged:
            os.replace(os.path.join(stage, name), os.path.join(out, name))
        os.makedirs(os.path.join(out, "logs"), exist_ok=True)
        for name in os.listdir(os.path.join(stage, "logs")):
            os.replace(os.path.join(stage, "logs", name), os.path.join(out, "logs", name))
        shutil.rmtree(stage, ignore_errors=True)
        shutil.rmtree(trash, ignore_errors=True)
