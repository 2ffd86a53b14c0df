"""Repairs of the training loop (issue 9): resume with changed flags, damaged checkpoints, the run
lock, divergence warnings, the staged export, disk-full errors, file modes, summary paths."""

import errno
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hfgen.training import (
    ConfigurationError,
    GANArguments,
    GANTask,
    OutputDirLockedError,
    StorageError,
    Trainer,
    TrainingArguments,
    main,
)
from hfgen.training.lock import LOCK_NAME
from hfgen.training.state import list_checkpoints

ROOT = Path(__file__).resolve().parents[1]
TINY_DCGAN = dict(generator_channels=8, discriminator_channels=8, latent_dim=8)


def ring_flags(out, steps, *extra):
    """CLI flags of a tiny, fast ring8 run (MLP 2 x 16)."""
    return ["--dataset", "ring8", "--output_dir", str(out), "--max_train_steps", str(steps), "--train_batch_size", "16",
            "--hidden_dim", "16", "--num_layers", "2", "--report_to", "none", "--checkpointing_steps", "2",
            "--sample_steps", "0", "--final_eval_samples", "0", "--logging_steps", "1", "--disable_tqdm",
            "--num_sample_images", "16", "--preset", "vanilla", *extra]


def ring_trainer(out, steps, gan=None, **training):
    kwargs = dict(dataset="ring8", output_dir=str(out), max_train_steps=steps, train_batch_size=16, checkpointing_steps=2,
                  sample_steps=0, final_eval_samples=0, logging_steps=1, report_to="none", disable_tqdm=True,
                  num_sample_images=16)
    kwargs.update(training)
    args = TrainingArguments(**kwargs)
    gan = gan or GANArguments(hidden_dim=16, num_layers=2)
    return Trainer(GANTask(gan, learning_rate=args.learning_rate, batch_size=args.train_batch_size), args)


def snapshot(folder):
    """Bytes of every file of an output folder except checkpoints/ (what an export may touch)."""
    folder = Path(folder)
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*")
            if p.is_file() and p.relative_to(folder).parts[0] != "checkpoints"}


# -------------------------------------------------------------------------------------- resume


def test_resume_applies_the_new_learning_rate_and_says_so(tmp_path):
    """Guards the resume policy: a new --learning_rate applies from the resumed step on (it was
    silently ignored: the checkpoint's optimizer kept the old one while the card stated the new)."""
    main("gan", ring_flags(tmp_path, 2, "--learning_rate", "1e-3"))
    main("gan", ring_flags(tmp_path, 4, "--learning_rate", "1e-4", "--n_critic", "2", "--resume_from_checkpoint", "latest"))
    history = json.loads((tmp_path / "logs" / "history.json").read_text())
    assert [(row["step"], row["lr"]) for row in history] == [(1, 1e-3), (2, 1e-3), (3, 1e-4), (4, 1e-4)]
    from hfgen.training.state import load_state_tree

    tree = load_state_tree(tmp_path / "checkpoints" / "checkpoint-4")
    for name in ("generator", "discriminator"):
        groups = tree["optimizers"][name]["param_groups"]
        assert all(g["lr"] == pytest.approx(1e-4) and g["initial_lr"] == pytest.approx(1e-4) for g in groups)
        assert tree["schedulers"][name]["base_lrs"] == [pytest.approx(1e-4)]
    summary = json.loads((tmp_path / "logs" / "summary.json").read_text())
    assert any("Learning rate changed on resume at step 2" in w and "0.001 -> 0.0001" in w for w in summary["warnings"])
    assert any("Resumed from step 2 with changed settings: gan_resolved.n_critic 1 -> 2" in w for w in summary["warnings"])
    card = (tmp_path / "README.md").read_text()
    assert "[!WARNING]" in card and "Learning rate changed on resume at step 2" in card
    assert json.loads((tmp_path / "logs" / "training_args.json").read_text())["training"]["learning_rate"] == 1e-4


def test_resume_with_other_model_size_names_the_flags(tmp_path):
    """Guards the shape check: a different size gave a raw `size mismatch` traceback."""
    main("gan", ring_flags(tmp_path, 2))
    with pytest.raises(SystemExit, match=r"generator\.generator_hidden_dim \(--generator_hidden_dim\): checkpoint 16, now 32"):
        main("gan", ring_flags(tmp_path, 4, "--generator_hidden_dim", "32", "--resume_from_checkpoint", "latest"))
    with pytest.raises(SystemExit, match=r"latent_dim \(--latent_dim\): checkpoint 16, now 4"):
        main("gan", ring_flags(tmp_path, 4, "--latent_dim", "4", "--resume_from_checkpoint", "latest"))
    with pytest.raises(SystemExit, match="another optimizer.*--optimizer adam"):
        main("gan", ring_flags(tmp_path, 4, "--optimizer", "rmsprop", "--resume_from_checkpoint", "latest"))
    assert not (tmp_path / LOCK_NAME).exists()  # released on failure too
    # A checkpoint written before settings were recorded: the load's size mismatch becomes a message.
    state = tmp_path / "checkpoints" / "checkpoint-2" / "state.json"
    tree = json.loads(state.read_text())
    tree["__dict__"] = [[k, v] for k, v in tree["__dict__"] if k != "settings"]
    state.write_text(json.dumps(tree))
    with pytest.raises(SystemExit, match=r"its generator does not fit this run's \(.*size mismatch.*\)\. Pass the flags"):
        main("gan", ring_flags(tmp_path, 4, "--generator_hidden_dim", "32", "--resume_from_checkpoint", "latest"))


def test_resume_without_steps_left_is_refused_and_keeps_the_export(tmp_path):
    """Guards against a resume at/below the checkpoint's step exiting 0 and overwriting the export."""
    main("gan", ring_flags(tmp_path, 4))
    before = snapshot(tmp_path)
    for steps in (4, 3):
        with pytest.raises(SystemExit, match=r"checkpoint-4 is at step 4 and --max_train_steps is %d.*above 4" % steps):
            main("gan", ring_flags(tmp_path, steps, "--resume_from_checkpoint", "latest"))
    assert snapshot(tmp_path) == before


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _break_rng(path):
    tree = json.loads(path.read_text())
    for key, value in tree["__dict__"]:
        if key == "rng":  # the Python RNG state of process 0: a bad mt19937 vector
            for rng_key, rng_value in value[0]["__dict__"]:
                if rng_key == "python":
                    rng_value["__tuple__"][1]["__tuple__"] = rng_value["__tuple__"][1]["__tuple__"][:5]
    path.write_text(json.dumps(tree))


@pytest.mark.parametrize(
    "damage, file",
    [(_truncate, "state.safetensors"), (_truncate, "state.json"), (_break_rng, "state.json")],
    ids=["truncated-safetensors", "truncated-json", "bad-rng-state"],
)
def test_damaged_newest_checkpoint(tmp_path, caplog, damage, file):
    """Guards against raw SafetensorError / JSONDecodeError / "Invalid mt19937 state": `latest` falls
    back to the newest intact checkpoint with a warning naming both; an explicit path is refused,
    naming the damaged file and the intact checkpoint to pass instead."""
    ring_trainer(tmp_path, 4).train()
    damaged = tmp_path / "checkpoints" / "checkpoint-4"
    damage(damaged / file)
    with pytest.raises(ConfigurationError, match=rf"checkpoint-4/{file}.*newest intact checkpoint is .*checkpoint-2: pass "
                                                 r"--resume_from_checkpoint"):
        ring_trainer(tmp_path, 6, resume_from_checkpoint=str(damaged)).train()
    with caplog.at_level(logging.WARNING, logger="hfgen.training"):
        summary = ring_trainer(tmp_path, 6, resume_from_checkpoint="latest").train()
    assert summary["resumed_from_step"] == 2
    assert any(f"checkpoint-4/{file}" in r.message and r.message.rstrip(".").endswith("checkpoint-2") for r in caplog.records)


def test_checkpoint_without_weights_file_is_warned_about(tmp_path, caplog):
    """Guards against a checkpoint folder missing state.safetensors being skipped silently."""
    ring_trainer(tmp_path, 4).train()
    (tmp_path / "checkpoints" / "checkpoint-4" / "state.safetensors").unlink()
    with caplog.at_level(logging.WARNING, logger="hfgen.training"):
        summary = ring_trainer(tmp_path, 6, resume_from_checkpoint="latest").train()
    assert summary["resumed_from_step"] == 2
    assert any("checkpoint-4" in r.message and "lacks state.json or state.safetensors" in r.message for r in caplog.records)


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temporary_folders_are_removed_at_start(tmp_path):
    """Guards against tmp-checkpoint-* (and staged exports) of killed runs piling up forever; a
    folder whose writer is still alive is kept."""
    dead, alive = _dead_pid(), os.getppid()
    stale = [tmp_path / "checkpoints" / f"tmp-checkpoint-7-{dead}", tmp_path / "checkpoints" / f"checkpoint-4.old-{dead}",
             tmp_path / f".export-{dead}.tmp"]
    live = tmp_path / "checkpoints" / f"tmp-checkpoint-9-{alive}"
    for folder in [*stale, live]:
        folder.mkdir(parents=True)
        (folder / "state.json").write_text("{")
    ring_trainer(tmp_path, 2).train()
    assert not any(p.exists() for p in stale)
    assert live.exists()


# ---------------------------------------------------------------------------------------- lock


def test_lock_refuses_a_live_holder_and_takes_over_a_dead_one(tmp_path, caplog):
    """Guards the one-run-per-folder lock (two runs in one folder mixed checkpoints and exports)."""
    tmp_path.mkdir(exist_ok=True)
    holder = {"pid": os.getppid(), "host": socket.gethostname(), "started": time.time()}
    (tmp_path / LOCK_NAME).write_text(json.dumps(holder))
    with pytest.raises(OutputDirLockedError, match=rf"in use by another training run: PID {os.getppid()} on host"):
        ring_trainer(tmp_path, 2).train()
    assert not (tmp_path / "checkpoints").exists() and json.loads((tmp_path / LOCK_NAME).read_text()) == holder
    (tmp_path / LOCK_NAME).write_text(json.dumps({**holder, "pid": _dead_pid()}))
    with caplog.at_level(logging.WARNING, logger="hfgen.training"):
        ring_trainer(tmp_path, 2).train()
    assert any("Taking over the stale lock" in r.message for r in caplog.records)
    assert not (tmp_path / LOCK_NAME).exists()  # released at the end


def test_second_real_process_on_the_same_folder_fails_at_once(tmp_path):
    """Two real trainings on one --output_dir: the second fails at once naming the first's PID (both
    exited 0 before, interleaving checkpoints and mixing the export)."""
    out = tmp_path / "run"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    script = str(ROOT / "scripts" / "train_gan.py")
    first = subprocess.Popen([sys.executable, script, *ring_flags(out, 10**6, "--checkpointing_steps", "0")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not (out / LOCK_NAME).is_file():
            time.sleep(0.05)
        assert (out / LOCK_NAME).is_file(), "the first run took no lock"
        assert first.poll() is None
        start = time.time()
        second = subprocess.run([sys.executable, script, *ring_flags(out, 10)], capture_output=True, text=True, env=env,
                                timeout=120)
        assert second.returncode != 0
        assert f"in use by another training run: PID {first.pid}" in second.stderr
        assert "Traceback" not in second.stderr
        assert time.time() - start < 60
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
    # The killed run's lock is stale now: the next run takes it over (see the in-process test).
    holder = json.loads((out / LOCK_NAME).read_text())
    assert holder["pid"] == first.pid and holder["host"] == socket.gethostname()


# ----------------------------------------------------------------------------- silent results


@pytest.mark.parametrize("dataset, value", [("ring8", 0), ("digits", 0), ("digits", -3)])
def test_latent_dim_zero_or_negative_is_rejected(tmp_path, dataset, value):
    """Guards against --latent_dim 0 silently becoming the default (64 for images, 16 for vectors)."""
    flags = ["--dataset", dataset, "--output_dir", str(tmp_path), "--max_train_steps", "1", "--train_batch_size", "16",
             "--latent_dim", str(value), "--report_to", "none"]
    with pytest.raises(SystemExit, match=rf"latent_dim must be >= 1, got {value}"):
        main("gan", flags)


def test_divergence_is_warned_in_log_summary_and_card(tmp_path, caplog):
    """Guards against lr 1e6 "finishing" as a normal model: exploding losses and saturated images
    are loud warnings in the log, logs/summary.json and the model card."""
    args = TrainingArguments(dataset="digits", output_dir=str(tmp_path), max_train_steps=4, train_batch_size=16, learning_rate=1e6,
                             checkpointing_steps=0, sample_steps=0, final_eval_samples=0, logging_steps=2, report_to="none",
                             num_sample_images=4, disable_tqdm=True)
    with caplog.at_level(logging.WARNING, logger="hfgen.training"):
        Trainer(GANTask(GANArguments(**TINY_DCGAN), learning_rate=1e6, batch_size=16), args).train()
    warnings = json.loads((tmp_path / "logs" / "summary.json").read_text())["warnings"]
    assert any(w.startswith("Training diverged: generator/loss reached") for w in warnings)
    assert any("outputs are saturated" in w for w in warnings)
    assert sum("Training diverged" in r.message for r in caplog.records) >= 1
    card = (tmp_path / "README.md").read_text()
    assert "[!WARNING]" in card and "outputs are saturated" in card


def test_healthy_run_has_no_warnings(tmp_path):
    """The divergence checks stay quiet on a normal run (no false alarm on the card)."""
    ring_trainer(tmp_path, 2).train()
    assert json.loads((tmp_path / "logs" / "summary.json").read_text())["warnings"] == []
    assert "[!WARNING]" not in (tmp_path / "README.md").read_text()


def test_failed_export_leaves_the_previous_export_untouched(tmp_path, monkeypatch):
    """Guards the staged export: a disk-full failure midway (after the weights were written) left the
    failed run's samples.png, loss_curves.png and logs/ beside the previous run's model and card."""
    import hfgen.hub

    main("gan", ring_flags(tmp_path, 2))
    before = snapshot(tmp_path)

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(hfgen.hub, "write_model_card", disk_full)
    with pytest.raises(SystemExit, match=r"No space left on device.*previous export, card and logs in .* are untouched"):
        main("gan", ring_flags(tmp_path, 3, "--seed", "1", "--hidden_dim", "8"))
    after = snapshot(tmp_path)
    assert {k: v for k, v in after.items() if not k.startswith("samples/")} == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")] and not (tmp_path / LOCK_NAME).exists()
    # A successful export replaces the previous one as a whole: no stale eval_results.json stays.
    (tmp_path / "eval_results.json").write_text("{}")
    monkeypatch.undo()
    main("gan", ring_flags(tmp_path, 3, "--seed", "1", "--hidden_dim", "8"))
    assert not (tmp_path / "eval_results.json").exists()
    assert json.loads((tmp_path / "gan_generator" / "config.json").read_text())["generator_hidden_dim"] == 8


# ------------------------------------------------------------------------------------ messages


def test_output_dir_that_is_a_file_is_named(tmp_path):
    """Guards against a raw traceback for --output_dir pointing at an existing file."""
    path = tmp_path / "not-a-folder"
    path.write_text("x")
    with pytest.raises(SystemExit, match=rf"--output_dir {path} is an existing file"):
        main("gan", ring_flags(path, 1))


def test_disk_full_while_checkpointing_names_folder_and_intact_checkpoint(tmp_path, monkeypatch):
    """Guards the disk-full message: which folder, and that the previous checkpoint is intact (the
    partial tmp folder removed)."""
    import hfgen.training.loop as loop

    real, calls = loop.save_state_tree, []

    def fill_disk(tree, folder):
        calls.append(folder)
        if len(calls) == 2:
            (Path(folder) / "state.safetensors").write_bytes(b"partial")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(tree, folder)

    monkeypatch.setattr(loop, "save_state_tree", fill_disk)
    checkpoints = tmp_path / "checkpoints"
    with pytest.raises(StorageError, match=rf"checkpoint-4 in {checkpoints}: No space left on device.*"
                                           rf"previous checkpoint {checkpoints}/checkpoint-2 is intact"):
        ring_trainer(tmp_path, 6).train()
    assert sorted(p.name for p in checkpoints.iterdir()) == ["checkpoint-2"]
    assert not (tmp_path / LOCK_NAME).exists()


# ---------------------------------------------------------------------------------- file modes


def test_weights_and_states_follow_the_umask(tmp_path):
    """Guards against weights and checkpoint states written 0600 (safetensors renames a temporary
    file in place) while every other file follows the umask."""
    previous = os.umask(0o022)
    try:
        ring_trainer(tmp_path, 2).train()
    finally:
        os.umask(previous)
    files = [tmp_path / "checkpoints" / "checkpoint-2" / "state.safetensors", tmp_path / "checkpoints" / "checkpoint-2" / "state.json",
             tmp_path / "gan_generator" / "model.safetensors", tmp_path / "discriminator" / "model.safetensors",
             tmp_path / "model_index.json", tmp_path / "README.md"]
    assert {str(f.relative_to(tmp_path)): oct(f.stat().st_mode & 0o777) for f in files} == {
        str(f.relative_to(tmp_path)): "0o644" for f in files
    }


# ------------------------------------------------------------------------------------- summary


def test_summary_paths_are_relative_to_the_run_folder(tmp_path, monkeypatch):
    """Guards against logs/summary.json mixing paths relative to the run folder and to the current
    directory (it travels with the folder to the Hub)."""
    monkeypatch.chdir(tmp_path)
    summary = main("gan", ring_flags("runs/a", 2))
    run = tmp_path / "runs" / "a"
    written = json.loads((run / "logs" / "summary.json").read_text())
    paths = {k: written[k] for k in ("output_dir", "pipeline", "samples", "loss_curves", "model_card")}
    assert paths == {"output_dir": ".", "pipeline": ".", "samples": "samples.png", "loss_curves": "loss_curves.png",
                     "model_card": "README.md"}
    assert all((run / p).exists() for p in paths.values())
    assert Path(summary["samples"]).resolve() == run / "samples.png"  # the returned summary: usable paths
