"""The loop's contract for every family (issue 10), exercised with toy tasks rather than the GAN:
frozen models, several EMAs, one LR scheduler per optimizer, gradient clipping, the per-step
carry, per-phase logging, per-process seeding and task state, the evaluator hook, the task registry.

Each test says what it guards; each fails on the loop as it was before (one GAN-shaped user).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch
from torch import nn

from hfgen.training import (
    TASKS,
    ConfigurationError,
    GANArguments,
    GANTask,
    Phase,
    Task,
    TaskSpec,
    Trainer,
    TrainingArguments,
    main,
)
from hfgen.training.state import load_state_tree

ROOT = Path(__file__).resolve().parents[1]


class ToyData:
    """64 fixed 4-D points, served as {"x": ...} batches (the loop needs only len and get_batch)."""

    primary_key = "x"

    def __init__(self, n: int = 64):
        self.x = torch.randn(n, 4, generator=torch.Generator().manual_seed(0))

    def __len__(self):
        return len(self.x)

    def get_batch(self, indices, generator=None):
        return {"x": self.x[indices]}


class ToyPipeline:
    """Stands in for a diffusers pipeline: the loop only samples and checks outputs through it."""

    device = torch.device("cpu")

    def __init__(self, models):
        self.models = models

    def __call__(self, *args, **kwargs):
        raise TypeError("the toy pipeline does not sample")  # the loop then skips its output check


def _mlp(width: int = 8) -> nn.Module:
    # BatchNorm: its buffers are what the EMA policy is about.
    return nn.Sequential(nn.Linear(4, width), nn.BatchNorm1d(width), nn.ReLU(), nn.Linear(width, 4))


class ToyTask(Task):
    """Models "a" and "b" (trained, EMA-averaged) and a frozen "encoder" (with dropout: eval mode matters).

    `layout` chooses the phases: "joint" (one phase trains a and b with one optimizer), "shared"
    (two phases share one optimizer), "carry" (phase "first" hands a tensor to phase "second").
    """

    ema_models = ("a", "b")
    frozen_models = ("encoder",)

    def __init__(self, layout: str = "joint", repeats: int = 1, max_grad_norm=None, loss_scale: float = 1.0):
        super().__init__(name="toy")
        self.layout, self.repeats, self.max_grad_norm, self.loss_scale = layout, repeats, max_grad_norm, loss_scale
        self.calls = 0
        self.records: list[dict] = []
        self.pipeline_models: list[dict] = []

    @classmethod
    def from_arguments(cls, training_args, task_args):
        return cls(layout=task_args.layout)

    def setup(self, dataset) -> None:
        self.key = dataset.primary_key
        self.models = {"encoder": nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5)), "a": _mlp(), "b": _mlp()}
        self.models["encoder"][0].weight.data.mul_(3)  # not the default init: "unchanged" then means something
        self.frozen_start = {k: v.clone() for k, v in self.models["encoder"].state_dict().items()}

    def create_optimizers(self):
        params = list(self.models["a"].parameters()) + list(self.models["b"].parameters())
        self.optimizer = torch.optim.SGD(params, lr=0.1)
        return {"ab": self.optimizer}

    def _loss(self, batch, ctx, names):
        encoder = ctx.models["encoder"]
        self.records.append({
            "phase_models": sorted(ctx.models), "encoder_training": encoder.training,
            "encoder_requires_grad": any(p.requires_grad for p in encoder.parameters()),
            "encoder_is_raw": encoder is self.models["encoder"], "lr": self.optimizer.param_groups[0]["lr"],
            "carry_keys": sorted(ctx.carry), "step": ctx.step,
        })
        self.calls += 1
        h = encoder(batch[self.key])
        loss = sum(((ctx.models[n](h) - 1) ** 2).mean() for n in names) * self.loss_scale
        return {"loss": loss, "call": torch.tensor(float(self.calls))}

    def phases(self):
        clip = self.max_grad_norm
        if self.layout == "joint":
            return [Phase("ab", optimizer="ab", trainable=("a", "b"), step=lambda b, c: self._loss(b, c, ("a", "b")),
                          repeats=self.repeats, max_grad_norm=clip)]
        if self.layout == "shared":
            return [Phase("a", optimizer="ab", trainable=("a",), step=lambda b, c: self._loss(b, c, ("a",)), repeats=2),
                    Phase("b", optimizer="ab", trainable=("b",), step=lambda b, c: self._loss(b, c, ("b",)))]

        def first(batch, ctx):
            losses = self._loss(batch, ctx, ("a",))
            ctx.carry["fake"] = ctx.models["a"](batch[self.key]).detach()
            ctx.carry["from_step"] = ctx.step
            return losses

        def second(batch, ctx):
            losses = self._loss(batch, ctx, ("b",))
            assert ctx.carry["from_step"] == ctx.step, "carry holds another step's tensors"
            losses["loss"] = losses["loss"] + ctx.models["b"](ctx.carry["fake"]).pow(2).mean()
            return losses

        return [Phase("first", optimizer="ab", trainable=("a",), step=first),
                Phase("second", optimizer="ab", trainable=("b",), step=second, new_batch=False)]

    def build_pipeline(self, models):
        self.pipeline_models.append(dict(models))
        return ToyPipeline(models)

    def save_samples(self, pipeline, path, num_samples, seed):
        Path(path).write_bytes(b"")
        return path


def toy_args(tmp_path, steps=4, **overrides) -> TrainingArguments:
    kwargs = dict(dataset="toy", output_dir=str(tmp_path), max_train_steps=steps, train_batch_size=8, checkpointing_steps=0,
                  sample_steps=0, logging_steps=1, report_to="none", export=False, final_eval_samples=0, disable_tqdm=True)
    kwargs.update(overrides)
    return TrainingArguments(**kwargs)


# ------------------------------------------------------------------------------ frozen models


def test_frozen_model_is_used_but_never_trained_prepared_or_checkpointed(tmp_path):
    """Guards `Task.frozen_models`: the model reaches every phase and the pipeline, on the device, in eval
    mode, with requires_grad False (the loop's toggling skips it), unchanged, and absent from checkpoints."""
    task = ToyTask()
    trainer = Trainer(task, toy_args(tmp_path, steps=2, checkpointing_steps=2), dataset=ToyData())
    trainer.train()
    assert task.records and all(r["phase_models"] == ["a", "b", "encoder"] for r in task.records)
    assert not any(r["encoder_training"] or r["encoder_requires_grad"] for r in task.records)
    assert all(r["encoder_is_raw"] for r in task.records)  # not wrapped by accelerate
    for key, value in task.models["encoder"].state_dict().items():
        assert torch.equal(value, task.frozen_start[key]), f"the frozen encoder's {key} changed"
    assert "encoder" in task.pipeline_models[-1]
    tree = load_state_tree(tmp_path / "checkpoints" / "checkpoint-2")
    assert sorted(tree["models"]) == ["a", "b"]


def test_a_phase_may_not_train_a_frozen_model(tmp_path):
    """Guards the task contract check: training a frozen model is a task bug named at setup."""

    class Wrong(ToyTask):
        def phases(self):
            return [Phase("x", optimizer="ab", trainable=("encoder",), step=lambda b, c: self._loss(b, c, ("a",)))]

    with pytest.raises(ValueError, match="trains the frozen model 'encoder'"):
        Trainer(Wrong(), toy_args(tmp_path, steps=1), dataset=ToyData()).train()


# ------------------------------------------------------------------------------------- EMA


def test_two_ema_models_are_exported_as_their_shadows_with_live_buffers(tmp_path):
    """Guards EMA of several models: one phase trains a AND b, both are averaged after it, and what the
    loop exports is each shadow: parameters averaged, buffers (BatchNorm statistics) copied from the
    live model (the documented choice in training/ema.py)."""
    task = ToyTask()
    trainer = Trainer(task, toy_args(tmp_path, steps=5, use_ema=True, ema_decay=0.9), dataset=ToyData())
    trainer.train()
    assert sorted(trainer.ema) == ["a", "b"]
    exported = task.pipeline_models[-1]  # the models of the final export's pipeline
    for name in ("a", "b"):
        ema = trainer.ema[name]
        assert ema.num_updates == 5
        assert exported[name] is ema.shadow
        shadow, live = ema.shadow.state_dict(), trainer.unwrapped[name].state_dict()
        buffers = {n for n, _ in trainer.unwrapped[name].named_buffers()}
        assert buffers >= {"1.running_mean", "1.running_var", "1.num_batches_tracked"}
        for key in buffers:
            assert torch.equal(shadow[key], live[key]), f"{name}.{key}: buffers are copied from the live model"
        assert int(shadow["1.num_batches_tracked"]) == 5
        params = dict(trainer.unwrapped[name].named_parameters())
        assert any(not torch.equal(shadow[k], p) for k, p in params.items()), f"{name}: the export is the raw model"


# ------------------------------------------------------------------------------ LR schedules


def test_phases_sharing_an_optimizer_step_its_scheduler_once_per_optimizer_step(tmp_path):
    """Guards one scheduler per optimizer: phases "a" (x2) and "b" share optimizer "ab", i.e. 3 updates
    per training step; a linear schedule over 4 steps must then fall by 1/12 per update (it was rebuilt
    per phase with 4 x 1 total steps and stepped 3 times per step: at 0 from the 4th update on)."""
    task = ToyTask(layout="shared")
    trainer = Trainer(task, toy_args(tmp_path, steps=4, lr_scheduler="linear"), dataset=ToyData())
    trainer.train()
    lrs = [r["lr"] for r in task.records]
    assert lrs == pytest.approx([0.1 * (12 - s) / 12 for s in range(12)])
    assert list(trainer.schedulers) == ["ab"] and trainer.schedulers["ab"].last_epoch == 12


def test_constant_then_linear_schedule(tmp_path):
    """Guards `--lr_scheduler constant_then_linear --lr_decay_steps N` (Pix2Pix/CycleGAN): constant, then
    the last N steps at N/(N+1), ..., 1/(N+1) of the rate; counted in training steps (x repeats)."""
    task = ToyTask(repeats=2)
    Trainer(task, toy_args(tmp_path, steps=6, lr_scheduler="constant_then_linear", lr_decay_steps=3), dataset=ToyData()).train()
    lrs = [r["lr"] for r in task.records]  # 12 updates; the last 6 decay
    assert lrs == pytest.approx([0.1] * 6 + [0.1 * k / 7 for k in range(6, 0, -1)])


@pytest.mark.parametrize(
    "overrides, match",
    [
        (dict(lr_scheduler="constant_then_linear"), "needs --lr_decay_steps"),
        (dict(lr_scheduler="linear", lr_decay_steps=2), "--lr_decay_steps applies only to --lr_scheduler constant_then_linear"),
        (dict(lr_scheduler="constant_then_linear", lr_decay_steps=5), r"--lr_decay_steps must lie in \[1, --max_train_steps=4\]"),
        (dict(lr_scheduler="constant_then_linear", lr_decay_steps=3, lr_warmup_steps=2), "exceed --max_train_steps"),
        (dict(max_grad_norm=0.0), "max_grad_norm must be > 0"),
    ],
)
def test_schedule_and_clipping_flags_are_validated(tmp_path, overrides, match):
    """Guards the validation of the new flags (a message naming the flag, before any training)."""
    with pytest.raises(ConfigurationError, match=match):
        toy_args(tmp_path, **overrides).validate()


def test_cli_accepts_constant_then_linear(tmp_path):
    """Guards the flag path end to end: the GAN trains with the new schedule and logs its LR."""
    main("gan", ["--dataset", "ring8", "--output_dir", str(tmp_path), "--max_train_steps", "4", "--train_batch_size", "16",
                 "--hidden_dim", "8", "--num_layers", "1", "--preset", "vanilla", "--report_to", "none", "--export", "false",
                 "--checkpointing_steps", "0", "--sample_steps", "0", "--logging_steps", "1", "--learning_rate", "1e-3",
                 "--lr_scheduler", "constant_then_linear", "--lr_decay_steps", "2", "--max_grad_norm", "5"])
    history = json.loads((tmp_path / "logs" / "history.json").read_text())
    # As in diffusers' examples, a row logs get_last_lr() after the step's update: the rate of the next step
    # (steps 3 and 4 run at 2/3 and 1/3 of the rate).
    assert [row["lr"] for row in history] == pytest.approx([1e-3, 1e-3 * 2 / 3, 1e-3 / 3, 0.0])


# ----------------------------------------------------------------------------- clipping


class _GradNormRecorder(ToyTask):
    def create_optimizers(self):
        recorded = self.norms = []

        class Recording(torch.optim.SGD):
            def step(self, closure=None):
                grads = [p.grad for g in self.param_groups for p in g["params"] if p.grad is not None]
                recorded.append(float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))))
                return super().step(closure)

        params = list(self.models["a"].parameters()) + list(self.models["b"].parameters())
        self.optimizer = Recording(params, lr=1e-4)
        return {"ab": self.optimizer}


@pytest.mark.parametrize("where", ["phase", "flag", "none"])
def test_max_grad_norm_clips_before_each_optimizer_step(tmp_path, where):
    """Guards `Phase.max_grad_norm` (and `--max_grad_norm` for phases without their own): the gradient
    norm the optimizer sees is at most the bound; without it the (scaled-up) gradient is far larger."""
    task = _GradNormRecorder(max_grad_norm=0.5 if where == "phase" else None, loss_scale=1000.0)
    args = toy_args(tmp_path, steps=3, max_grad_norm=0.5 if where == "flag" else None)
    Trainer(task, args, dataset=ToyData()).train()
    assert len(task.norms) == 3
    if where == "none":
        assert min(task.norms) > 5
    else:
        assert max(task.norms) <= 0.5 + 1e-5


# ------------------------------------------------------------------------- carry and logging


def test_carry_hands_tensors_on_within_a_step_and_is_emptied_between_steps(tmp_path):
    """Guards `StepContext.carry`: phase "second" reads what "first" put there in the same step (its
    step function asserts the step), and "first" finds it empty at the start of every step."""
    task = ToyTask(layout="carry")
    Trainer(task, toy_args(tmp_path, steps=3), dataset=ToyData()).train()
    firsts = task.records[0::2]
    seconds = task.records[1::2]
    assert [r["step"] for r in firsts] == [0, 1, 2]
    assert all(r["carry_keys"] == [] for r in firsts)
    assert all(r["carry_keys"] == ["fake", "from_step"] for r in seconds)


def test_phase_scalars_are_averaged_over_repeats_and_micro_batches_under_the_phase_name(tmp_path):
    """Guards logging: each phase's scalars are logged as "<phase>/<key>", the mean over every repeat and
    micro-batch of the logged steps (only the last repeat's value was kept, and extra keys had no prefix)."""
    task = ToyTask(repeats=3)
    Trainer(task, toy_args(tmp_path, steps=2, gradient_accumulation_steps=2), dataset=ToyData()).train()
    history = json.loads((tmp_path / "logs" / "history.json").read_text())
    # 3 repeats x 2 micro-batches = calls 1..6 in step 1 and 7..12 in step 2.
    assert [row["ab/call"] for row in history] == [3.5, 9.5]
    assert {"step", "lr", "ab/loss", "ab/call"} == set(history[0])


# -------------------------------------------------------------------------- evaluator hook


@pytest.mark.filterwarnings("ignore:FID with n <= d")
def test_loop_builds_its_evaluators_through_the_task(tmp_path):
    """Guards `Task.build_evaluator`: periodic and final evaluations use the task's evaluator (the loop
    hard-wired the GAN's), with the loop's metric, sample-count and seed settings."""
    calls = []

    class Counting(GANTask):
        def build_evaluator(self, dataset, metrics, num_samples, seed):
            calls.append((metrics, num_samples, seed))
            return super().build_evaluator(dataset, metrics=metrics, num_samples=num_samples, seed=seed)

    args = TrainingArguments(dataset="digits", output_dir=str(tmp_path), max_train_steps=2, train_batch_size=16,
                             checkpointing_steps=0, sample_steps=0, num_sample_images=10, report_to="none", seed=3,
                             eval_steps=2, eval_samples=100, final_eval_samples=120, eval_metrics="fid")
    Trainer(Counting(GANArguments(preset="hinge", generator_channels=8, discriminator_channels=8, latent_dim=8),
                     batch_size=16), args).train()
    assert calls == [("fid", 100, 3), ("fid", 120, 3)]
    assert json.loads((tmp_path / "eval_results.json").read_text())["protocol"]["n_generated"] == 120


# ------------------------------------------------------------------------------- registry


@dataclass
class ToyArguments:
    """The toy task's own flag."""

    layout: str = field(default="joint", metadata={"help": "joint, shared or carry."})


def test_registry_drives_main_cli_and_scripts(tmp_path, monkeypatch, capsys):
    """Guards the task registry: `main(name)` builds any registered task through `from_arguments` with
    its own argument dataclass, `hfgen train` lists the registered tasks, an unknown name lists them,
    and every registered task has its `scripts/train_<name>.py`."""
    from hfgen.cli import main as cli_main

    class Toy(ToyTask):
        frozen_models = ()  # the loop's ring8 points are 2-D: an encoder from 2 to 4 dims, trained with the rest

        def setup(self, dataset):
            self.key = dataset.primary_key
            self.models = {"encoder": nn.Linear(2, 4), "a": _mlp(), "b": _mlp()}

        def create_optimizers(self):
            self.optimizer = torch.optim.SGD([p for m in self.models.values() for p in m.parameters()], lr=0.1)
            return {"ab": self.optimizer}

        def phases(self):
            return [Phase("ab", optimizer="ab", trainable=("encoder", "a", "b"),
                          step=lambda b, c: self._loss(b, c, ("a", "b")))]

        def describe(self):
            return {"task": "toy", "layout": self.layout}

    monkeypatch.setitem(TASKS, "toy", TaskSpec(Toy, ToyArguments, "a toy task"))
    summary = main("toy", ["--dataset", "ring8", "--output_dir", str(tmp_path), "--max_train_steps", "2", "--train_batch_size",
                           "8", "--report_to", "none", "--export", "false", "--checkpointing_steps", "0", "--sample_steps", "0",
                           "--layout", "shared", "--disable_tqdm"])
    assert summary["steps"] == 2
    recorded = json.loads((tmp_path / "logs" / "training_args.json").read_text())
    assert recorded["layout"] == "shared"  # the task's own --layout flag reached it through from_arguments
    assert cli_main(["train"]) == 0
    assert "toy" in capsys.readouterr().out
    registered = ", ".join(sorted(TASKS))  # every registered task, named in order (gan, toy and the others)
    with pytest.raises(SystemExit, match=rf"Unknown task 'nope'; registered tasks: {registered} "):
        main("nope", [])
    for name in TASKS:
        if name != "toy":
            # a dashed task name ("text-gan") has an underscored script (scripts/train_text_gan.py)
            script = (ROOT / "scripts" / f"train_{name.replace('-', '_')}.py").read_text()
            assert f'main("{name}")' in script


# ------------------------------------------------------------- per-process seeding (2 processes)


class NoiseTask(ToyTask):
    """Draws from torch's global RNG (as dropout and diffusion timesteps do) and from the loop's noise
    generator every step, and keeps the draws as its per-process task state (like an image pool)."""

    frozen_models = ()
    ema_models = ()

    def setup(self, dataset):
        self.key = dataset.primary_key
        self.models = {"a": nn.Linear(4, 4), "b": nn.Linear(4, 4)}
        self.draws: list[list[float]] = []

    def phases(self):
        def step(batch, ctx):
            self.draws.append([float(torch.rand(())), float(torch.randn((), generator=ctx.generator, device=ctx.device))])
            x = batch[self.key]
            return {"loss": (ctx.models["a"](x) - ctx.models["b"](x)).pow(2).mean()}

        return [Phase("ab", optimizer="ab", trainable=("a", "b"), step=step)]

    def state_dict(self):
        return {"draws": torch.tensor(self.draws, dtype=torch.float64).reshape(-1, 2)}

    def load_state_dict(self, state):
        self.draws = state["draws"].tolist()


_SCRIPT = """
import json, os, sys
sys.path.insert(0, {tests!r})
from test_loop_core import NoiseTask, ToyData, toy_args
from hfgen.training import Trainer
out, steps, resume = sys.argv[1], int(sys.argv[2]), (sys.argv[3] if len(sys.argv) > 3 else None)
rank = int(os.environ["RANK"])  # (a PartialState() built here, before the loop's Accelerator, would ignore ACCELERATE_USE_CPU)
task = NoiseTask()
Trainer(task, toy_args(out, steps=steps, checkpointing_steps=2, resume_from_checkpoint=resume, train_batch_size=4),
        dataset=ToyData()).train()
with open(f"{{out}}/draws-{{rank}}.json", "w") as f:
    json.dump(task.draws, f)
"""


def _free_port() -> int:
    """A port no one listens on now (fixed ports collide with other test runs on the same machine)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _launch(script, log, *argv):
    """Runs `script` in two real CPU processes; output goes to `log`; the whole group is killed on a timeout."""
    import signal

    env = dict(os.environ, ACCELERATE_USE_CPU="true", OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(_free_port()), str(script),
           *map(str, argv)]
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True)
        try:
            proc.wait(timeout=300)
        except subprocess.TimeoutExpired:
            from conftest import kill_launched_workers

            os.killpg(proc.pid, signal.SIGKILL)  # no process of this test outlives it
            kill_launched_workers(str(script))
            proc.wait()
    assert proc.returncode == 0, Path(log).read_text()[-6000:]


def test_two_processes_draw_their_own_noise_and_resume_exactly(tmp_path):
    """Guards per-process seeding and per-process task state with two real processes: the ranks' draws
    from torch's global RNG (dropout, timesteps) differ (one seed gave both the same), and a run stopped
    at step 2 and resumed ends with each rank's draws (kept as task state) bitwise equal to a straight run."""
    script = tmp_path / "run.py"
    script.write_text(_SCRIPT.format(tests=str(Path(__file__).parent)))
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    _launch(script, tmp_path / "straight.log", straight, 4)
    _launch(script, tmp_path / "first-half.log", resumed, 2)
    _launch(script, tmp_path / "second-half.log", resumed, 4, "latest")
    draws = {(run.name, rank): json.loads((run / f"draws-{rank}.json").read_text())
             for run in (straight, resumed) for rank in (0, 1)}
    assert len(draws["straight", 0]) == 4
    global_0 = [d[0] for d in draws["straight", 0]]
    global_1 = [d[0] for d in draws["straight", 1]]
    assert all(a != b for a, b in zip(global_0, global_1)), "both processes drew the same global-RNG values"
    for rank in (0, 1):
        assert draws["resumed", rank] == draws["straight", rank], f"rank {rank}: resume is not exact"
    tree = load_state_tree(resumed / "checkpoints" / "checkpoint-4")
    assert len(tree["task"]) == 2  # one task state per process
    assert tree["task"][1]["draws"].tolist() == draws["straight", 1]


def test_fsdp_is_refused_before_anything_starts(tmp_path, monkeypatch):
    """Guards the FSDP refusal: with ACCELERATE_USE_FSDP=true (what `accelerate launch --use_fsdp` sets) the loop
    stops with a ConfigurationError naming FSDP and the DDP command to run instead, before it takes the output
    folder's lock or writes anything (without the guard this run trained as usual: Accelerate applies FSDP only on
    GPUs, so on CPU a requested FSDP silently was not one; tests/test_ddpm.py checks the two-process launch)."""
    monkeypatch.setenv("ACCELERATE_USE_FSDP", "true")
    out = tmp_path / "out"
    with pytest.raises(ConfigurationError, match=r"(?s)does not support FSDP.*accelerate launch --multi_gpu"):
        Trainer(ToyTask(), toy_args(out, checkpointing_steps=1), dataset=ToyData()).train()
    assert not out.exists()


# --------------------------------------------------------------------- task-suggested loop settings


def _ring_run(out, *extra):
    main("gan", ["--dataset", "ring8", "--output_dir", str(out), "--max_train_steps", "1", "--report_to", "none",
                 "--export", "false", "--checkpointing_steps", "0", "--sample_steps", "0", "--disable_tqdm", *extra])
    return json.loads((Path(out) / "logs" / "training_args.json").read_text())


def test_vector_recipe_suggests_its_loop_settings_where_flags_are_unset(tmp_path, capsys):
    """Guards task-suggested loop defaults: `--preset auto` on points (pacgan4-hinge) trains with the
    benchmark's batch 256, linear decay and EMA 0.99 unless a flag says otherwise; the resolved values
    are recorded (they were 64 / constant / no EMA, which left ring8 at 65-71% high quality)."""
    recorded = _ring_run(tmp_path / "auto")
    training = recorded["training"]
    assert (training["train_batch_size"], training["lr_scheduler"], training["use_ema"], training["ema_decay"]) == (256, "linear", True, 0.99)
    assert recorded["loop_defaults_from_task"] == {"train_batch_size": 256, "lr_scheduler": "linear", "use_ema": True, "ema_decay": 0.99}
    assert "Loop settings suggested by the gan task" in capsys.readouterr().err
    explicit = _ring_run(tmp_path / "explicit", "--train_batch_size", "32", "--use_ema", "false", "--lr_scheduler", "constant")
    training = explicit["training"]
    assert (training["train_batch_size"], training["lr_scheduler"], training["use_ema"], training["ema_decay"]) == (32, "constant", False, 0.99)
    assert explicit["loop_defaults_from_task"] == {"ema_decay": 0.99}
    other = _ring_run(tmp_path / "vanilla", "--preset", "vanilla")["training"]  # no suggestion: the loop's defaults
    assert (other["train_batch_size"], other["lr_scheduler"], other["use_ema"], other["ema_decay"]) == (64, "constant", False, 0.999)


def test_unset_loop_flags_parse_as_none_and_bare_use_ema_still_means_true():
    """Guards the parsing side of task-suggested defaults: unset flags are None ("the task's"), while
    `--use_ema` without a value keeps meaning true (HfArgumentParser drops that for None defaults)."""
    from hfgen.training import parse_args

    unset, _ = parse_args((TrainingArguments, GANArguments), [])
    assert (unset.train_batch_size, unset.lr_scheduler, unset.use_ema, unset.ema_decay) == (None, None, None, None)
    bare, _ = parse_args((TrainingArguments, GANArguments), ["--use_ema", "--seed", "3"])
    assert bare.use_ema is True and bare.seed == 3
    off, _ = parse_args((TrainingArguments, GANArguments), ["--use_ema", "false"])
    assert off.use_ema is False


def test_checkpoint_of_the_one_ema_format_still_resumes(tmp_path):
    """Guards resuming from checkpoints written before several EMAs and per-process task state: their
    "ema" entry is one EMA's state and their "task" entry one dict; both load into the new layout."""
    def trainer(steps, resume=None):
        args = TrainingArguments(dataset="ring8", output_dir=str(tmp_path), max_train_steps=steps, train_batch_size=16,
                                 checkpointing_steps=2, sample_steps=0, report_to="none", export=False, use_ema=True,
                                 disable_tqdm=True, resume_from_checkpoint=resume, max_train_samples=64)
        return Trainer(GANTask(GANArguments(preset="vanilla", hidden_dim=8, num_layers=1), batch_size=16), args)

    first = trainer(2)
    first.train()
    state = tmp_path / "checkpoints" / "checkpoint-2" / "state.json"
    tree = json.loads(state.read_text())
    entries = dict((k, v) for k, v in tree["__dict__"])
    (only_ema,) = [v for k, v in entries["ema"]["__dict__"] if k == "generator"]
    entries["ema"], entries["task"] = only_ema, entries["task"][0]  # the old layout
    tree["__dict__"] = [[k, v] for k, v in entries.items()]
    state.write_text(json.dumps(tree))
    resumed = trainer(3, resume="latest")
    summary = resumed.train()
    assert summary["resumed_from_step"] == 2
    assert resumed.ema["generator"].num_updates == 3  # 2 restored + 1


# ------------------------------------------------------------------------------ the task loads its data


def test_the_loop_loads_data_through_the_task(tmp_path):
    """Guards `Task.load_dataset`: a family with other data (e.g. CycleGAN's two unpaired domains) loads it
    itself; the loop, given no dataset, trains on what the hook returns (and the default reads --dataset)."""

    class OwnData(ToyTask):
        def load_dataset(self, args):
            self.loaded_with = args.dataset
            return ToyData(n=32)

    task = OwnData()
    trainer = Trainer(task, toy_args(tmp_path, steps=2))
    trainer.train()
    assert task.loaded_with == "toy" and len(trainer.dataset) == 32 and task.records
    from hfgen.data import DataError

    with pytest.raises(DataError, match="toy"):  # the base class's default reads --dataset as usual
        ToyTask().load_dataset(toy_args(tmp_path))


def test_warmup_is_never_dropped_and_ddpm_suggests_its_recipe(tmp_path):
    """Guards `--lr_warmup_steps` and `--max_grad_norm` as task-suggestible loop settings: diffusers' "constant"
    schedule ignores a warm-up, so constant + a warm-up resolves to constant_with_warmup (the LR ramps up);
    the ddpm task suggests its measured recipe (warm-up 100, clip 1.0; text-ddpm: warm-up 200) where the flags
    are unset, and an explicit flag wins."""
    from hfgen.training import DDPMArguments, DDPMTask, TextDDPMTask
    from hfgen.training.loop import build_lr_scheduler

    resolved = toy_args(tmp_path, steps=20, lr_warmup_steps=4).with_defaults({})
    assert (resolved.lr_scheduler, resolved.lr_warmup_steps, resolved.max_grad_norm) == ("constant_with_warmup", 4, None)
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    scheduler = build_lr_scheduler(resolved, opt, updates_per_step=1)
    rates = []
    for _ in range(6):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    assert rates == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0, 1.0])
    assert toy_args(tmp_path).with_defaults({}).lr_scheduler == "constant"  # no warm-up: diffusers' constant as asked

    ddpm = toy_args(tmp_path).with_defaults(DDPMTask(DDPMArguments()).loop_defaults(None, toy_args(tmp_path)))
    assert (ddpm.lr_scheduler, ddpm.lr_warmup_steps, ddpm.max_grad_norm, ddpm.use_ema) == ("constant_with_warmup", 100, 1.0, True)
    assert TextDDPMTask().loop_defaults(None, toy_args(tmp_path))["lr_warmup_steps"] == 200
    mine = toy_args(tmp_path, lr_warmup_steps=0, max_grad_norm=5.0, lr_scheduler="cosine").with_defaults(DDPMTask().loop_defaults(None, toy_args(tmp_path)))
    assert (mine.lr_scheduler, mine.lr_warmup_steps, mine.max_grad_norm) == ("cosine", 0, 5.0)
