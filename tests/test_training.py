"""Training-loop tests: exact resume, crash safety, divergence guard, validation, processes."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from hfgen.training import ConfigurationError, GANArguments, GANTask, PRESETS, Trainer, TrainingArguments, TrainingDivergedError, main
from hfgen.training.state import list_checkpoints

ROOT = Path(__file__).resolve().parents[1]
TINY_DCGAN = dict(generator_channels=8, discriminator_channels=8, latent_dim=8)


def make_trainer(tmp, steps, resume=None, gan=None, **training):
    gan = gan or GANArguments(preset="wgan-gp", n_critic=2, class_conditional=True, **TINY_DCGAN)
    kwargs = dict(
        dataset="digits",
        output_dir=str(tmp),
        max_train_steps=steps,
        train_batch_size=16,
        checkpointing_steps=3,
        sample_steps=0,
        num_sample_images=20,
        logging_steps=1,
        report_to="none",
        use_ema=True,
        resume_from_checkpoint=resume,
        final_eval_samples=0,
    )
    kwargs.update(training)
    args = TrainingArguments(**kwargs)
    return Trainer(GANTask(gan, learning_rate=args.learning_rate, batch_size=args.train_batch_size), args)


def _weights(folder):
    return {sub: load_file(os.path.join(folder, sub, "model.safetensors")) for sub in ("gan_generator", "discriminator")}


@pytest.mark.parametrize(
    "gan",
    [
        GANArguments(preset="wgan-gp", n_critic=2, class_conditional=True, **TINY_DCGAN),
        GANArguments(preset="wgan-clip", n_critic=2, **TINY_DCGAN),
    ],
    ids=["wgan-gp-conditional-ema", "wgan-clip-rmsprop"],
)
def test_resume_is_bitwise_exact(tmp_path, gan):
    straight = make_trainer(tmp_path / "straight", 6, gan=gan)
    straight.train()
    assert straight.ema["generator"].num_updates == 6  # use_ema really averages G
    interrupted = make_trainer(tmp_path / "resumed", 3, gan=gan)
    interrupted.train()
    resumed = make_trainer(tmp_path / "resumed", 6, resume="latest", gan=gan)
    summary = resumed.train()
    assert summary["resumed_from_step"] == 3
    a, b = _weights(tmp_path / "straight"), _weights(tmp_path / "resumed")
    for sub in a:
        assert a[sub].keys() == b[sub].keys()
        for key in a[sub]:
            assert torch.equal(a[sub][key], b[sub][key]), f"{sub}/{key} differs after resume"
    # Also the full checkpoints (optimizers, EMA, RNG, data position) agree at step 6.
    sa = load_file(tmp_path / "straight" / "checkpoints" / "checkpoint-6" / "state.safetensors")
    sb = load_file(tmp_path / "resumed" / "checkpoints" / "checkpoint-6" / "state.safetensors")
    assert sa.keys() == sb.keys()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert json.loads((tmp_path / "straight" / "logs" / "history.json").read_text()) == json.loads(
        (tmp_path / "resumed" / "logs" / "history.json").read_text()
    )


# Tiny on purpose (speed): the evaluator rightly warns that so few samples bias the FID.
@pytest.mark.filterwarnings("ignore:FID with n <= d")
def test_outputs_evaluation_card_and_export(tmp_path):
    from huggingface_hub import ModelCard

    from hfgen import GANPipeline

    summary = make_trainer(tmp_path, 4, sample_steps=2, checkpoints_total_limit=1, eval_steps=2, eval_samples=100,
                           final_eval_samples=200).train()
    assert summary["world_size"] == 1
    for name in ("loss_curves.png", "samples.png", "model_index.json", "samples/step-000002.png", "logs/history.json",
                 "eval_results.json", "README.md", "best/model_index.json", "best/eval_results.json"):
        assert (tmp_path / name).is_file(), name
    results = json.loads((tmp_path / "eval_results.json").read_text())
    assert results["protocol"]["n_generated"] == 200 and "fid" in results["metrics"]
    assert summary["metrics"]["fid"] == results["metrics"]["fid"]
    history = json.loads((tmp_path / "logs" / "history.json").read_text())
    assert [row["step"] for row in history if "eval/fid" in row] == [2, 4]
    card = ModelCard.load(tmp_path / "README.md")
    fid = [r for r in card.data.eval_results if r.metric_type == "fid"][0]
    assert fid.metric_value == pytest.approx(results["metrics"]["fid"])
    assert [step for step, _ in list_checkpoints(tmp_path / "checkpoints")] == [3]  # total limit 1
    pipe = GANPipeline.from_pretrained(tmp_path)
    assert pipe.gan_generator.config.num_classes == 10
    assert pipe(batch_size=2, class_labels=[3, 4], output_type="np").images.shape == (2, 8, 8, 1)


class _DivergingTask(GANTask):
    """A GAN task whose critic loss becomes NaN from step 4 on."""

    def discriminator_step(self, batch, ctx):
        losses = super().discriminator_step(batch, ctx)
        if ctx.step >= 4:
            losses["loss"] = losses["loss"] * float("nan")
        return losses


def test_nan_loss_stops_with_message_and_keeps_last_checkpoint(tmp_path):
    args = TrainingArguments(dataset="ring8", output_dir=str(tmp_path), max_train_steps=10, train_batch_size=32,
                             checkpointing_steps=3, sample_steps=0, report_to="none")
    task = _DivergingTask(GANArguments(preset="vanilla", hidden_dim=16), batch_size=32)
    with pytest.raises(TrainingDivergedError, match=r"step 4 in the discriminator phase.*checkpoint-3"):
        Trainer(task, args).train()
    assert [s for s, _ in list_checkpoints(tmp_path / "checkpoints")] == [3]
    assert not (tmp_path / "model_index.json").exists()  # nothing exported from a diverged run


@pytest.mark.parametrize(
    "gan_kwargs, training_kwargs, match",
    [
        (dict(loss="wasserstein-ish"), {}, "Unknown loss|known"),
        ({}, dict(learning_rate=0.0), "learning_rate"),
        (dict(n_critic=0), {}, "n_critic"),
        ({}, dict(resolution=30), "image_size=30 is not supported"),
        (dict(preset="wgan-gp", discriminator_norm="batch"), {}, "BatchNorm"),
        (dict(preset="wgan-gp", label_smoothing=0.1), {}, "label"),
        (dict(preset="nope"), {}, "preset"),
        (dict(class_conditional=True), dict(dataset="ring8"), "labelled"),
        (dict(pack=3), dict(dataset="ring8"), "pack"),
        (dict(discriminator_layers=0), dict(dataset="ring8"), "discriminator_layers must be >= 1"),
        (dict(generator_hidden_dim=64), {}, "generator_hidden_dim applies only to the MLP"),
        (dict(pack=2), {}, "pack applies only to the MLP"),
        ({}, dict(mixed_precision="fp8"), "mixed_precision"),
        ({}, dict(lr_scheduler="sometimes"), "lr_scheduler"),
    ],
)
def test_invalid_settings_fail_before_training(tmp_path, gan_kwargs, training_kwargs, match):
    flags = ["--output_dir", str(tmp_path), "--max_train_steps", "1", "--train_batch_size", "16", "--report_to", "none"]
    for key, value in {**dict(dataset="digits"), **training_kwargs, **TINY_DCGAN, **gan_kwargs}.items():
        flags += [f"--{key}", str(value)]
    with pytest.raises(SystemExit, match=match):
        main("gan", flags)
    assert not (tmp_path / "checkpoints").exists()


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_trains_a_few_steps(tmp_path, preset):
    args = TrainingArguments(dataset="ring8", output_dir=str(tmp_path), max_train_steps=2, train_batch_size=16,
                             checkpointing_steps=0, sample_steps=0, report_to="none", export=False, max_train_samples=64)
    summary = Trainer(GANTask(GANArguments(preset=preset, hidden_dim=16, num_layers=2), batch_size=16), args).train()
    assert summary["steps"] == 2


def test_generator_and_discriminator_sized_separately_from_flags(tmp_path, capsys):
    # PacGAN's MLPs differ (G 4 x 400, D 3 x 200): each side has its own width/depth flags, which
    # fall back to --hidden_dim / --num_layers. A packed WGAN-GP critic trains too (group-wise GP).
    flags = ["--dataset", "ring8", "--output_dir", str(tmp_path), "--max_train_steps", "2", "--train_batch_size", "16",
             "--report_to", "none", "--checkpointing_steps", "0", "--sample_steps", "0", "--final_eval_samples", "0",
             "--disable_tqdm", "--preset", "wgan-gp", "--pack", "4", "--hidden_dim", "12", "--num_layers", "2",
             "--generator_hidden_dim", "20", "--generator_layers", "3", "--discriminator_layers", "1"]
    main("gan", flags)
    g = json.loads((tmp_path / "gan_generator" / "config.json").read_text())
    d = json.loads((tmp_path / "discriminator" / "config.json").read_text())
    for config in (g, d):
        assert (config["generator_hidden_dim"], config["generator_layers"]) == (20, 3)
        assert (config["discriminator_hidden_dim"], config["discriminator_layers"], config["discriminator_pack"]) == (12, 1, 4)
    weights = _weights(tmp_path)
    g_linear = [k for k, v in weights["gan_generator"].items() if k.endswith("weight") and v.dim() == 2]
    d_linear = [k for k, v in weights["discriminator"].items() if k.endswith("weight") and v.dim() == 2]
    assert len(g_linear) == 4 and len(d_linear) == 2  # hidden layers + output layer
    assert weights["gan_generator"][g_linear[0]].shape[0] == 20
    assert weights["discriminator"][d_linear[0]].shape == (12, 2 * 4)  # packed input: 4 points of 2-D
    assert "gan steps" not in capsys.readouterr().err  # --disable_tqdm hides the bar


def test_yaml_config_bf16_and_accumulation(tmp_path):
    config = tmp_path / "train.yaml"
    config.write_text(
        "\n".join(
            [
                "dataset: ring8",
                f"output_dir: {tmp_path / 'out'}",
                "max_train_steps: 3",
                "train_batch_size: 16",
                "gradient_accumulation_steps: 2",
                "mixed_precision: bf16",
                "preset: hinge",
                "hidden_dim: 16",
                "report_to: none",
                "checkpointing_steps: 0",
                "sample_steps: 0",
            ]
        )
    )
    summary = main("gan", [str(config)])
    assert summary["steps"] == 3 and (tmp_path / "out" / "model_index.json").exists()
    with pytest.warns(UserWarning, match="fp16"):
        main("gan", ["--dataset", "ring8", "--output_dir", str(tmp_path / "fp16"), "--max_train_steps", "1",
                     "--train_batch_size", "16", "--hidden_dim", "8", "--mixed_precision", "fp16", "--report_to", "none", "--export", "false"])


def test_sigkill_mid_run_then_resume_completes(tmp_path):
    out = tmp_path / "run"
    flags = ["--dataset", "ring8", "--output_dir", str(out), "--train_batch_size", "32", "--hidden_dim", "32",
             "--checkpointing_steps", "20", "--sample_steps", "0", "--report_to", "none", "--logging_steps", "5"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "train_gan.py"), *flags, "--max_train_steps", "100000"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.time() + 120
    while time.time() < deadline and len(list_checkpoints(out / "checkpoints")) < 2:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)  # may land in the middle of writing a checkpoint
    proc.wait()
    found = list_checkpoints(out / "checkpoints")
    assert len(found) >= 2, "training did not reach two checkpoints in time"
    # A half-written checkpoint (as a kill during a save leaves it) is ignored.
    (out / "checkpoints" / "tmp-checkpoint-999999-1").mkdir()
    (out / "checkpoints" / "tmp-checkpoint-999999-1" / "state.json").write_text("{")
    last = found[-1][0]
    resumed = subprocess.run([sys.executable, str(ROOT / "scripts" / "train_gan.py"), *flags,
                              "--max_train_steps", str(last + 10), "--resume_from_checkpoint", "latest"],
                             capture_output=True, text=True, env=env, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    summary = json.loads((out / "logs" / "summary.json").read_text())
    assert summary["resumed_from_step"] == last and summary["steps"] == last + 10
    assert (out / "model_index.json").is_file()


def _free_port() -> int:
    """A port no one listens on now: a fixed one collides with other runs of this test on the machine."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_two_real_processes(tmp_path):
    out = tmp_path / "ddp"
    env = dict(os.environ, ACCELERATE_USE_CPU="true", OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(_free_port()),
           str(ROOT / "scripts" / "train_gan.py"),
           "--dataset", "digits", "--output_dir", str(out), "--max_train_steps", "4", "--train_batch_size", "8",
           "--preset", "wgan-gp", "--n_critic", "2", "--generator_channels", "8", "--discriminator_channels", "8",
           "--latent_dim", "8", "--checkpointing_steps", "2", "--sample_steps", "0",
           "--eval_steps", "2", "--eval_samples", "100", "--final_eval_samples", "100"]
    # Trackers stay on (the default --report_to auto: tensorboard is installed with the dev extra):
    # end_training destroys the process group, so nothing collective may follow it.
    # Its own session: on a timeout the workers are killed too (an orphaned worker would hold the port).
    from conftest import launch_two_processes

    stdout, stderr, summary = launch_two_processes(cmd, env, out, timeout=400)
    from hfgen.training.state import load_state_tree

    state = load_state_tree(out / "checkpoints" / "checkpoint-4")
    assert state["world_size"] == 2 and len(state["rng"]) == 2  # both processes' RNG streams
    assert not any(p.name.startswith("tmp-") for p in (out / "checkpoints").iterdir())
    assert (out / "eval_results.json").is_file() and (out / "best" / "model_index.json").is_file()
    from hfgen import GANPipeline

    assert GANPipeline.from_pretrained(out)(batch_size=2, output_type="np").images.shape == (2, 8, 8, 1)


def test_init_from_exported_folder(tmp_path):
    first = make_trainer(tmp_path / "first", 3)
    first.train()
    second = make_trainer(tmp_path / "second", 1, init_from=str(tmp_path / "first"), use_ema=False)
    second.train()
    # Training went on from the exported weights, not from a fresh initialisation.
    fresh = make_trainer(tmp_path / "fresh", 1, use_ema=False)
    fresh.train()
    a, b = _weights(tmp_path / "second"), _weights(tmp_path / "fresh")
    c = _weights(tmp_path / "first")
    assert not torch.equal(a["discriminator"]["head.weight"], b["discriminator"]["head.weight"])
    # one step from the first run's weights stays close to them (Adam moves each weight by <= ~lr)
    assert (a["discriminator"]["head.weight"] - c["discriminator"]["head.weight"]).abs().max() < 1e-3
    with pytest.raises(ConfigurationError, match="different settings"):
        make_trainer(tmp_path / "bad", 1, init_from=str(tmp_path / "first"),
                     gan=GANArguments(preset="wgan-gp", n_critic=2, class_conditional=True, generator_channels=16,
                                      discriminator_channels=8, latent_dim=8)).train()
    with pytest.raises(ConfigurationError, match="model.safetensors"):
        make_trainer(tmp_path / "bad2", 1, init_from=str(tmp_path)).train()


def test_tensorboard_tracker_logs_losses(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    args = TrainingArguments(dataset="ring8", output_dir=str(tmp_path), max_train_steps=4, train_batch_size=16, logging_steps=2,
                             checkpointing_steps=0, sample_steps=0, report_to="tensorboard", export=False)
    Trainer(GANTask(GANArguments(preset="wgan-gp", n_critic=1, hidden_dim=16), batch_size=16), args).train()
    events = list((tmp_path / "logs").rglob("events.out.tfevents.*"))
    assert events, "no tensorboard event file written"
    accumulator = EventAccumulator(str(events[0].parent))
    accumulator.Reload()
    assert {"discriminator/loss", "generator/loss", "discriminator/gp", "discriminator/wasserstein"} <= set(accumulator.Tags()["scalars"])
    assert [e.step for e in accumulator.Scalars("generator/loss")] == [2, 4]
