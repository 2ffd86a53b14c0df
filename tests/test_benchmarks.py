"""Smoke tests of the benchmark scripts: tiny settings, so that they keep running (no timing asserted)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(script: str, *flags: str) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, str(ROOT / "scripts" / script), *flags], check=True, cwd=ROOT, env=env,
                   capture_output=True, text=True, timeout=300)


def test_bench_mixtures_quick_with_two_jobs(tmp_path):
    out = tmp_path / "mixtures.json"
    _run("bench_mixtures.py", "--quick", "--jobs", "2", "--seeds", "0,1", "--datasets", "ring8",
         "--configs", "vanilla,pacgan2-hinge", "--out", str(out))
    result = json.loads(out.read_text())
    assert result["jobs"] == 2 and result["quick"]
    assert [(r["preset"], r["seed"]) for r in result["runs"]] == [("vanilla", 0), ("vanilla", 1), ("pacgan2-hinge", 0), ("pacgan2-hinge", 1)]
    for row in result["runs"]:
        assert 0 <= row["modes"] <= 8 and 0.0 <= row["hq"] <= 1.0 and row["rkl"] >= 0.0 and "error" not in row
    packed = result["runs"][2]["settings"]
    assert packed["gan_resolved"]["loss"] == "hinge" and packed["gan"]["pack"] == 2
    assert {m["preset"] for m in result["means"]} == {"vanilla", "pacgan2-hinge"}


def test_bench_mixtures_rejects_unknown_configuration(tmp_path):
    with pytest.raises(subprocess.CalledProcessError) as info:
        _run("bench_mixtures.py", "--quick", "--configs", "nope", "--out", str(tmp_path / "x.json"))
    assert "unknown configuration 'nope'" in info.value.stderr


@pytest.mark.parametrize(
    "script, flags",
    [
        ("bench_train.py", ["--steps", "3", "--batch_size", "8", "--repeats", "1", "--threads", "1"]),
        ("bench_sampling.py", ["--batch_size", "8", "--iters", "2", "--repeats", "1", "--threads", "1"]),
        ("bench_fid.py", ["--n", "300", "--d", "32"]),
    ],
)
def test_other_benchmarks_write_json(tmp_path, script, flags):
    """Guards the benchmarks' outputs: the figures the README quotes are there, finite and consistent."""
    import math

    out = tmp_path / "out.json"
    _run(script, *flags, "--out", str(out))
    result = json.loads(out.read_text())
    if script == "bench_fid.py":
        # hfgen's FID agrees with scipy's sqrtm on the same features, and both timings are real.
        assert (result["n"], result["d"]) == (300, 32)
        assert result["rel_diff"] < 1e-6 and result["fid_hfgen"] == pytest.approx(result["fid_scipy"], rel=1e-6)
        assert result["hfgen_s"] > 0 and result["scipy_sqrtm_s"] > 0
        # Timings are rounded to the millisecond in the JSON: at this tiny size they are a few ms.
        low = (result["scipy_sqrtm_s"] - 5e-4) / (result["hfgen_s"] + 5e-4)
        high = (result["scipy_sqrtm_s"] + 5e-4) / max(result["hfgen_s"] - 5e-4, 1e-9)
        assert low * 0.99 <= result["speedup"] <= high * 1.01
        return
    assert [row["threads"] for row in result["results"]] == [1]
    row = result["results"][0]
    if script == "bench_train.py":
        pairs = [("hfgen_steps_per_s", "plain_steps_per_s", "ratio_vs_plain")]
    else:
        pairs = [("pipeline_pt_images_per_s", "bare_images_per_s", "ratio_pt"),
                 ("pipeline_np_images_per_s", "bare_images_per_s", "ratio_np")]
    for ours, plain, ratio in pairs:
        assert math.isfinite(row[ours]) and row[ours] > 0 and row[plain] > 0
        assert row[ratio] == pytest.approx(row[ours] / row[plain], rel=1e-6)


def test_bench_mixtures_cli_flags_reproduce_a_benchmark_run():
    # `--list` prints, for each configuration, the `hfgen train gan` command that trains it as the
    # benchmark does: the flags must parse into the same model and optimisation settings.
    import dataclasses
    import importlib.util

    from hfgen.training import GANArguments, TrainingArguments
    from hfgen.training.args import parse_args

    spec = importlib.util.spec_from_file_location("bench_mixtures", ROOT / "scripts" / "bench_mixtures.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    for name in ("pacgan4-hinge", "wgan-gp"):
        cfg = bench.resolve_config(name)
        train, gan = parse_args((TrainingArguments, GANArguments), bench.cli_flags("grid25", cfg, seed=3, output_dir="out"))
        ref_train, ref_gan = bench.build_arguments("grid25", cfg, 3, "out")
        assert gan == ref_gan
        differ = {f.name for f in dataclasses.fields(train) if getattr(train, f.name) != getattr(ref_train, f.name)}
        # Only what the benchmark switches off for speed (outputs, logging, threads) may differ.
        assert differ <= {"checkpointing_steps", "sample_steps", "logging_steps", "report_to", "export", "num_threads", "disable_tqdm"}
