"""The one Accelerate training loop shared by every hfgen task."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import math
import os
import time
import warnings
from typing import Optional

import torch

from .args import ConfigurationError, TrainingArguments
from .ema import EMA
from .state import (
    list_checkpoints,
    load_state_tree,
    prune_checkpoints,
    rng_state,
    save_state_tree,
    set_rng_state,
    write_checkpoint_atomically,
)
from .task import StepContext, Task

logger = logging.getLogger("hfgen.training")


class TrainingDivergedError(RuntimeError):
    """A loss became NaN or infinite; training stopped and no checkpoint was written after it."""


class EpochBatcher:
    """Deterministic data order: a fresh permutation per epoch, sharded across processes.

    The order depends only on (seed, epoch), so the state to checkpoint is just (epoch, position).
    Each global batch takes `batch_size * world_size` examples; process `rank` gets its slice.
    """

    def __init__(self, num_examples: int, batch_size: int, seed: int, rank: int = 0, world_size: int = 1):
        if num_examples < batch_size * world_size:
            raise ConfigurationError(
                f"The dataset has {num_examples} examples, fewer than one global batch "
                f"({batch_size} x {world_size} processes): lower --train_batch_size."
            )
        self.num_examples, self.batch_size, self.seed = num_examples, batch_size, seed
        self.rank, self.world_size = rank, world_size
        self.epoch, self.position = 0, 0
        self._perm: Optional[torch.Tensor] = None
        self._perm_epoch = -1

    def _permutation(self) -> torch.Tensor:
        if self._perm_epoch != self.epoch:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
            self._perm, self._perm_epoch = torch.randperm(self.num_examples, generator=g), self.epoch
        return self._perm

    def next_indices(self) -> torch.Tensor:
        """Indices of this process's next batch (drops an epoch's incomplete last batch)."""
        step = self.batch_size * self.world_size
        if self.position + step > self.num_examples:
            self.epoch, self.position = self.epoch + 1, 0
        start = self.position + self.rank * self.batch_size
        self.position += step
        return self._permutation()[start : start + self.batch_size]

    def state_dict(self) -> dict:
        """Epoch and position within it."""
        return {"epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict) -> None:
        """Restores `state_dict()`'s output."""
        self.epoch, self.position = int(state["epoch"]), int(state["position"])


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

    # -- setup ----------------------------------------------------------------------------------

    def _make_accelerator(self):
        from accelerate import Accelerator
        from accelerate.state import AcceleratorState, GradientState
        from accelerate.utils import ProjectConfiguration

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

    def _load_dataset(self):
        from hfgen.data import load_train_dataset

        a = self.args
        return load_train_dataset(
            a.dataset,
            image_size=a.resolution,
            num_channels=a.num_channels,
            split=a.dataset_split,
            image_column=a.image_column,
            label_column=a.label_column,
            text_column=a.caption_column,
            num_samples=a.max_train_samples,
            seed=a.seed,
        )

    # -- checkpoints ----------------------------------------------------------------------------

    @property
    def checkpoints_dir(self) -> str:
        """`<output_dir>/checkpoints`."""
        return os.path.join(self.args.output_dir, "checkpoints")

    def _resolve_resume(self) -> Optional[str]:
        value = self.args.resume_from_checkpoint
        if not value:
            return None
        if value == "latest":
            found = list_checkpoints(self.checkpoints_dir)
            if not found:
                logger.warning("resume_from_checkpoint=latest: no checkpoint in %s, starting from scratch.", self.checkpoints_dir)
                return None
            return found[-1][1]
        if not os.path.isfile(os.path.join(value, "state.json")):
            raise ConfigurationError(
                f"resume_from_checkpoint={value!r} is not a complete checkpoint folder (no state.json); "
                f"pass 'latest' or one of {self.checkpoints_dir}/checkpoint-<step>."
            )
        return value

    def _save_checkpoint(self, step: int) -> str:
        from accelerate.utils import gather_object

        acc = self.accelerator
        # Every process contributes its RNG state; only the main process writes.
        rngs = gather_object([rng_state(self.generators)])
        path = None
        if acc.is_main_process:
            tree = {
                "step": step,
                "models": {n: acc.unwrap_model(m).state_dict() for n, m in self.models.items()},
                "optimizers": {n: o.optimizer.state_dict() if hasattr(o, "optimizer") else o.state_dict() for n, o in self.optimizers.items()},
                "schedulers": {n: s.state_dict() for n, s in self.schedulers.items()},
                "ema": self.ema.state_dict() if self.ema else None,
                "rng": list(rngs),
                "data": self.batcher.state_dict(),
                "task": self.task.state_dict(),
                "history": self.history,
                "monitor": self.monitor.state_dict() if self.monitor is not None else None,
                "world_size": acc.num_processes,
            }
            path = write_checkpoint_atomically(self.checkpoints_dir, step, lambda tmp: save_state_tree(tree, tmp))
            prune_checkpoints(self.checkpoints_dir, self.args.checkpoints_total_limit)
            self.last_checkpoint = path
        acc.wait_for_everyone()
        return path

    def _load_checkpoint(self, path: str) -> int:
        acc = self.accelerator
        tree = load_state_tree(path)
        for name, model in self.models.items():
            acc.unwrap_model(model).load_state_dict(tree["models"][name])
        for name, opt in self.optimizers.items():
            opt.load_state_dict(tree["optimizers"][name])
        for name, sched in self.schedulers.items():
            sched.load_state_dict(tree["schedulers"][name])
        if self.ema is not None:
            if tree["ema"] is None:
                raise ConfigurationError(f"{path} was trained without --use_ema; resume without it or start afresh.")
            self.ema.load_state_dict(tree["ema"])
        rngs = tree["rng"]
        if len(rngs) == acc.num_processes:
            set_rng_state(rngs[acc.process_index], self.generators)
        else:
            logger.warning("Checkpoint written by %d processes, resuming with %d: RNG streams restart.", len(rngs), acc.num_processes)
        self.batcher.load_state_dict(tree["data"])
        self.task.load_state_dict(tree["task"])
        self.history = list(tree["history"])
        if tree.get("monitor") is not None and acc.is_main_process:
            self._evaluation_setup()
            self.monitor.load_state_dict(tree["monitor"])
        self.last_checkpoint = path
        return int(tree["step"])

    # -- the loop -------------------------------------------------------------------------------

    def _check_finite(self, losses: dict, phase: str, step: int) -> None:
        values = torch.stack([v.detach().float().reshape(()) for v in losses.values()])
        if not bool(torch.isfinite(values).all()):
            bad = {k: float(v.detach()) for k, v in losses.items() if not math.isfinite(float(v.detach()))}
            where = self.last_checkpoint or "none (no checkpoint was written yet)"
            raise TrainingDivergedError(
                f"Non-finite loss at step {step} in the {phase} phase: {bad}. Training stopped; the last good "
                f"checkpoint is {where}. Try a lower learning rate, a gradient penalty or spectral norm, "
                "then resume with --resume_from_checkpoint latest."
            )

    def _next_batch(self) -> dict:
        batch = self.dataset.get_batch(self.batcher.next_indices())
        device = self.accelerator.device
        return {k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}

    def train(self) -> dict:
        """Trains, writes checkpoints/samples/logs, exports the pipeline; returns a summary."""
        from accelerate.utils import set_seed
        from diffusers.optimization import get_scheduler

        args, task = self.args, self.task
        if args.num_threads:
            torch.set_num_threads(args.num_threads)
        acc = self.accelerator = self._make_accelerator()
        if self.dataset is None:
            self.dataset = self._load_dataset()
        set_seed(args.seed)  # identical initial models on every process
        task.setup(self.dataset)
        if args.init_from:
            task.load_exported(args.init_from)
        optimizers = task.create_optimizers()
        names = list(task.models)
        prepared = acc.prepare(*[task.models[n] for n in names], *[optimizers[n] for n in optimizers])
        prepared = prepared if isinstance(prepared, tuple) else (prepared,)
        self.models = dict(zip(names, prepared[: len(names)]))
        self.optimizers = dict(zip(optimizers, prepared[len(names) :]))
        self.unwrapped = {n: acc.unwrap_model(m) for n, m in self.models.items()}
        phases = task.phases()
        self.schedulers = {}
        for phase in phases:
            self.schedulers[phase.optimizer] = get_scheduler(
                args.lr_scheduler,
                self.optimizers[phase.optimizer],
                num_warmup_steps=args.lr_warmup_steps * phase.repeats,
                num_training_steps=args.max_train_steps * phase.repeats,
            )
        self.ema = EMA(self.unwrapped[task.ema_model], args.ema_decay) if args.use_ema and task.ema_model else None
        # The loop's own RNG for noise z and penalties: seeded per process, checkpointed.
        self.generators = {"noise": torch.Generator(device=acc.device).manual_seed(args.seed * 7919 + acc.process_index)}
        self.batcher = EpochBatcher(len(self.dataset), args.train_batch_size, args.seed, acc.process_index, acc.num_processes)
        self.last_checkpoint = None
        self.evaluator = self.monitor = None
        stopped_early = None

        start_step = 0
        resume = self._resolve_resume()
        if resume:
            start_step = self._load_checkpoint(resume)
            logger.info("Resumed from %s at step %d", resume, start_step)

        if acc.is_main_process:
            os.makedirs(os.path.join(args.output_dir, "samples"), exist_ok=True)
            os.makedirs(os.path.join(args.output_dir, "logs"), exist_ok=True)
            with open(os.path.join(args.output_dir, "logs", "training_args.json"), "w") as f:
                # The folder may be pushed to the Hub: record no local absolute paths.
                recorded = {**dataclasses.asdict(args), "output_dir": "."}
                json.dump({"training": recorded, **task.describe()}, f, indent=2, default=str)
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
        trainable_now: Optional[tuple] = None
        running: dict[str, list] = {}
        accum = args.gradient_accumulation_steps
        start_time = time.perf_counter()
        step = start_step
        for step in range(start_step, args.max_train_steps):
            for phase in phases:
                # Only the phase's models need gradients: saves the backward through the others.
                if trainable_now != phase.trainable:
                    for name, model in self.unwrapped.items():
                        model.requires_grad_(name in phase.trainable)
                    trainable_now = phase.trainable
                ctx = StepContext(
                    models={n: (self.models[n] if n in phase.trainable else self.unwrapped[n]) for n in self.models},
                    generator=self.generators["noise"],
                    device=acc.device,
                    step=step,
                )
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
                    optimizer.step()
                    optimizer.zero_grad(set_to_none=True)
                    self.schedulers[phase.optimizer].step()
                    if phase.after_step is not None:
                        phase.after_step()
                for key, value in losses.items():
                    running.setdefault(f"{phase.name}/{key}" if key == "loss" else key, []).append(value.detach())
                if self.ema is not None and phase.trainable == (task.ema_model,):
                    self.ema.update(self.unwrapped[task.ema_model])
            progress.update(1)
            done = step + 1
            if done % args.logging_steps == 0 or done == args.max_train_steps:
                row = {"step": done, **{k: float(torch.stack(v).float().mean()) for k, v in running.items()}}
                running = {}
                row["lr"] = self.schedulers[phases[-1].optimizer].get_last_lr()[0]
                self.history.append(row)
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
        if acc.is_main_process:
            self._finish(summary)
        if acc.log_with:
            acc.end_training()
        acc.wait_for_everyone()
        return summary

    _last_batches = None

    # -- evaluation -----------------------------------------------------------------------------

    def _evaluation_setup(self):
        """The evaluator and collapse monitor of periodic evaluation (main process, built once)."""
        if self.evaluator is None:
            from hfgen.evaluation import CollapseMonitor, Evaluator

            self.evaluator = Evaluator(self.dataset, metrics=self.args.eval_metrics, num_samples=self.args.eval_samples,
                                       seed=self.args.seed)
            floor = self.evaluator.floors()["real_vs_real"]["metrics"].get("fid")
            self.monitor = CollapseMonitor(fid_floor=floor)
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
                    pipe.save_pretrained(folder, training_components=self.task.training_components(models))
                    with open(os.path.join(folder, "eval_results.json"), "w") as f:
                        json.dump({**result, "step": step}, f, indent=2, default=float)
                if alarms and self.args.stop_on_collapse:
                    stop = [f"collapse alarm at step {step}: " + "; ".join(alarms)]
        if acc.num_processes > 1:
            broadcast_object_list(stop)
        return stop[0]

    def _final_evaluation(self, out: str) -> Optional[dict]:
        """The short evaluation that ends training; its results fill the model card."""
        from hfgen.evaluation import EvaluationError, Evaluator

        try:
            evaluator = Evaluator(self.dataset, metrics=self.args.eval_metrics, num_samples=self.args.final_eval_samples,
                                  seed=self.args.seed)
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
        """The models to export: unwrapped, with the EMA generator in place of the raw one."""
        models = dict(self.unwrapped)
        if self.ema is not None:
            models[self.task.ema_model] = self.ema.shadow
        return models

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

    def _write_summary(self, summary: dict) -> None:
        """`logs/summary.json`, with paths relative to the output folder (it may be pushed to the Hub)."""
        out = os.path.abspath(self.args.output_dir)

        def relative(value):
            if isinstance(value, str) and os.path.isabs(value) and (value == out or value.startswith(out + os.sep)):
                return os.path.relpath(value, out)
            return value

        with open(os.path.join(out, "logs", "summary.json"), "w") as f:
            json.dump({k: relative(v) for k, v in summary.items()}, f, indent=2)

    def _finish(self, summary: dict) -> None:
        """Loss curves, samples, export, final evaluation, model card, push; updates `summary`."""
        from .visualize import save_loss_curves

        out = self.args.output_dir
        summary["loss_curves"] = save_loss_curves(self.history, os.path.join(out, "loss_curves.png"))
        with open(os.path.join(out, "logs", "history.json"), "w") as f:
            json.dump(self.history, f)
        summary["samples"] = self._write_samples(os.path.join(out, "samples.png"))
        if self.args.export:
            models = self.export_models()
            for m in models.values():
                m.eval()
            pipe = self.task.build_pipeline(models)
            pipe.save_pretrained(out, training_components=self.task.training_components(models))
            summary["pipeline"] = os.path.abspath(out)
            self._write_summary(summary)  # the model card reads it
            if self.args.final_eval_samples:
                evaluation = self._final_evaluation(out)
                summary["metrics"] = evaluation["metrics"] if evaluation else None
            from hfgen.hub import write_model_card

            summary["model_card"] = write_model_card(out, repo_id=self.args.hub_model_id)
            if self.args.push_to_hub:
                from hfgen.hub import push_folder

                summary["hub_commit"] = push_folder(out, self.args.hub_model_id, private=self.args.hub_private)
        self._write_summary(summary)
