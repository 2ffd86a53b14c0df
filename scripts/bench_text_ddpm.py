#!/usr/bin/env python
"""Benchmark: the text-conditioned DDPM (`hfgen train text-ddpm`) on the embedded shapes data, against a CPU budget.

Protocol (issue 15; the defaults): 16x16 shapes, 3 seeds, the task's default model (the measured settings of the
issue), batch 64, AdamW 1e-3 after 200 warm-up steps, EMA 0.999, 2 torch threads. Each run trains in segments that end
at given budgets of *CPU-minutes of the training process* (`time.process_time()`, all its threads: the machine is
shared, so wall time says little; 20 minutes on both cores of the 2-core machine = 40 CPU-minutes). After each segment
(a checkpoint, then `--resume_from_checkpoint latest`) the exported EMA pipeline is evaluated on all 48 shapes prompts,
`--per_prompt` images each, sampled with DDIM-50 (trailing spacing, the exported scheduler) at guidance 3 (and, at the
last budget, at every `--guidance` value):

- attribute accuracy (colour / shape / position / all three) by the shipped shapes evaluator, separately for the 42
  training combinations and the 6 held-out ones (compositions never seen in training);
- shapes-FID: Frechet distance between the shapes evaluator's CNN features of the generated images and of real images
  of all 48 combinations;
- R-precision (AttnGAN's protocol: the true caption ranked among 99 captions of other combinations) and CLIP score with
  hfgen's shipped shapes CLIP (or `--clip_model FOLDER`), and diversity: `hfgen.evaluation.text`, as `hfgen evaluate`;
- sampling CPU-seconds and wall seconds per image.

`--compare_gan` trains the text-conditional GAN of part 1 (`hfgen train text-gan`) with the same data, budgets and
threads, evaluated the same way (no guidance). `--resolutions 16,32` adds 32x32. `--quick` is a smoke run (tiny model,
seconds). Writes JSON (default bench_results/text_ddpm.json) and, with matplotlib, a plot of accuracy and FID against
the guidance scale next to it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import sys
import time

import numpy as np
import torch

QUICK_MODEL = ["--block_out_channels", "8,16", "--attention_head_dim", "2", "--text_hidden_size", "16", "--text_layers", "1"]
QUICK_GAN = ["--generator_channels", "8", "--discriminator_channels", "8", "--latent_dim", "8", "--text_hidden_size", "16"]


def _floats(text: str) -> list[float]:
    return [float(v) for v in text.split(",") if v.strip()]


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


# ------------------------------------------------------------------------------------------ evaluation


class _TimedCalls:
    """A pipeline whose calls get `defaults` and are timed (CPU and wall seconds, images made)."""

    def __init__(self, pipeline, defaults: dict):
        self._pipeline, self._defaults = pipeline, defaults
        self.cpu = self.wall = 0.0
        self.images = 0

    def __call__(self, *args, **kwargs):
        cpu0, wall0 = time.process_time(), time.perf_counter()
        out = self._pipeline(*args, **{**self._defaults, **kwargs})
        self.cpu += time.process_time() - cpu0
        self.wall += time.perf_counter() - wall0
        self.images += len(out.images)
        return out

    def __getattr__(self, name):
        return getattr(self._pipeline, name)


class ShapesPromptBench:
    """hfgen's text-to-image evaluation (`hfgen.evaluation.text.TextToImageEvaluator`: attribute accuracy all / training /
    held-out combinations, shapes-FID, CLIP score and R-precision with the shipped shapes CLIP or `--clip_model`,
    diversity) of a pipeline called with given settings, plus its sampling time per image."""

    def __init__(self, per_prompt: int, seed: int, clip_model: str | None):
        from hfgen.evaluation.text import TextToImageEvaluator

        self.evaluator = TextToImageEvaluator(num_samples=48 * per_prompt, seed=seed, clip_model=clip_model)

    def __call__(self, pipe, call_kwargs: dict) -> dict:
        pipe.set_progress_bar_config(disable=True)
        timed = _TimedCalls(pipe, call_kwargs)
        result = self.evaluator(timed)
        out = {k: (float(v) if isinstance(v, (int, float)) else v) for k, v in result["metrics"].items()}
        out.update(num_images=timed.images, sampling_cpu_s_per_image=timed.cpu / timed.images,
                   sampling_wall_s_per_image=timed.wall / timed.images)
        self.protocol = {k: v for k, v in result["protocol"].items() if k != "versions"}
        return out


# -------------------------------------------------------------------------------------------- training


def train_with_budgets(task: str, flags: list[str], out: str, budgets_min: list[float], calibration_steps: int, evaluate,
                       on_row=None, max_segments: int = 6) -> list[dict]:
    """Trains `task` in segments until each CPU-minute budget is reached (within 3%; the steps of each segment are
    extrapolated from the rate measured so far, which setup and export overheads make uneven, hence several segments),
    evaluating the export at each budget; returns one row per budget (`on_row(rows)` after each, e.g. to save results)."""
    from hfgen.training import main

    rows, steps, cpu = [], 0, 0.0

    def segment(target: int) -> None:
        nonlocal steps, cpu
        argv = flags + ["--output_dir", out, "--max_train_steps", str(target), "--checkpointing_steps", str(target),
                        "--checkpoints_total_limit", "1"] + (["--resume_from_checkpoint", "latest"] if steps else [])
        cpu0 = time.process_time()
        summary = main(task, argv)
        cpu += time.process_time() - cpu0
        steps = int(summary["steps"])

    segment(calibration_steps)
    for mark in budgets_min:
        wall0 = time.perf_counter()
        for _ in range(max_segments):
            if cpu >= 0.97 * mark * 60.0:
                break
            rate = steps / max(cpu, 1e-9)  # steps per CPU-second so far
            segment(steps + max(1, int(round((mark * 60.0 - cpu) * rate))))
        row = {"budget_cpu_minutes": mark, "steps": steps, "train_cpu_minutes": cpu / 60.0,
               "train_wall_minutes_to_this_budget": (time.perf_counter() - wall0) / 60.0}
        row.update(evaluate(out, mark == budgets_min[-1]))
        rows.append(row)
        if on_row is not None:
            on_row(rows)
        print(json.dumps({"task": task, **{k: v for k, v in row.items() if not isinstance(v, dict)}}), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resolutions", default="16", help="Comma-separated image sides (16; 16,32 adds the 32x32 runs).")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--budgets", default="10,20,30,40", help="CPU-minutes of training at which to evaluate (comma-separated).")
    parser.add_argument("--guidance", default="1,3,5", help="Guidance scales of the sweep at the last budget.")
    parser.add_argument("--guidance_during", type=float, default=3.0, help="Guidance scale at the earlier budgets.")
    parser.add_argument("--inference_steps", type=int, default=50, help="DDIM steps of the evaluation samples.")
    parser.add_argument("--per_prompt", type=int, default=5, help="Images per prompt (48 prompts; at least 2, for diversity).")
    parser.add_argument("--threads", type=int, default=2, help="torch threads of training and sampling (2 = both cores here).")
    parser.add_argument("--calibration_steps", type=int, default=20, help="First segment, which measures the steps per CPU-second.")
    parser.add_argument("--clip_model", default=None, help="CLIP folder for R-precision / CLIP score (default: hfgen's shapes CLIP).")
    parser.add_argument("--compare_gan", action="store_true", help="Also train and evaluate the text-GAN of part 1 with the same budgets.")
    parser.add_argument("--extra", default="", help="Extra text-ddpm flags, space-separated (e.g. '--attention_levels 1,2').")
    parser.add_argument("--quick", action="store_true", help="Smoke run: tiny model, tiny budgets, 1 image per prompt, 2 steps.")
    parser.add_argument("--label", default=None, help="A note stored in the JSON (e.g. 'one seed, 10 CPU-minutes: partial protocol').")
    parser.add_argument("--work_dir", default=None, help="Where runs are written (default: a temporary folder, removed).")
    parser.add_argument("--out", default="bench_results/text_ddpm.json")
    args = parser.parse_args()
    if args.quick:
        args.budgets, args.per_prompt, args.inference_steps, args.calibration_steps = "0.05,0.1", 2, 2, 2
    torch.set_num_threads(args.threads)
    budgets, guidance, seeds = _floats(args.budgets), _floats(args.guidance), _ints(args.seeds)
    import tempfile

    work = args.work_dir or tempfile.mkdtemp(prefix="bench-text-ddpm-")
    from hfgen.pipelines import load_pipeline

    result = {
        "benchmark": "text_ddpm", "label": args.label, "quick": args.quick,
        "protocol": {"dataset": "shapes", "prompts": 48, "per_prompt": args.per_prompt, "sampler": f"DDIM-{args.inference_steps} (trailing)",
                     "guidance_sweep": guidance, "guidance_during": args.guidance_during, "budgets_cpu_minutes": budgets,
                     "threads": args.threads, "time_measure": "time.process_time() of the training process (all threads), export included",
                     "extra_flags": args.extra},
        "environment": {"python": platform.python_version(), "torch": torch.__version__, "cpu_count": os.cpu_count(),
                        "machine": platform.machine()},
        "runs": [],
    }
    def save(partial: bool) -> None:
        result["partial"] = partial
        result["summary"] = summarize(result["runs"])
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out + ".tmp", "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2, default=lambda v: None if isinstance(v, float) and not math.isfinite(v) else v)
            f.write("\n")
        os.replace(args.out + ".tmp", args.out)

    def saving(entry):
        """Records `entry` (a run) in the results and saves them after each of its rows: a killed benchmark keeps its rows."""
        result["runs"].append(entry)

        def on_row(rows):
            entry["rows"] = list(rows)
            save(partial=True)
        return on_row

    try:
        for resolution in _ints(args.resolutions):
            for seed in seeds:
                bench = ShapesPromptBench(args.per_prompt, seed, args.clip_model)
                common = ["--dataset", "shapes", "--resolution", str(resolution), "--seed", str(seed), "--train_batch_size", "64",
                          "--learning_rate", "1e-3", "--num_threads", str(args.threads), "--sample_steps", "0", "--eval_steps", "0",
                          "--final_eval_samples", "0", "--num_sample_images", "12", "--report_to", "none", "--disable_tqdm", "true",
                          "--use_ema", "true", "--ema_decay", "0.999"]
                if args.quick:
                    common += ["--max_train_samples", "256", "--train_batch_size", "8"]
                ddpm_flags = common + ["--lr_warmup_steps", "200", "--eval_inference_steps", "10"] + args.extra.split() \
                    + (QUICK_MODEL if args.quick else [])

                def evaluate_ddpm(out, last, bench=bench):
                    pipe = load_pipeline(out)
                    pipe.set_progress_bar_config(disable=True)
                    scales = guidance if last else [args.guidance_during]
                    scores = {str(g): bench(pipe, {"num_inference_steps": args.inference_steps, "guidance_scale": g}) for g in scales}
                    result["evaluation_protocol"] = bench.protocol
                    return {"by_guidance": scores}

                folder = os.path.join(work, f"text-ddpm-r{resolution}-s{seed}")
                on_row = saving({"model": "text-ddpm", "resolution": resolution, "seed": seed, "rows": []})
                train_with_budgets("text-ddpm", ddpm_flags, folder, budgets, args.calibration_steps, evaluate_ddpm, on_row)
                if args.compare_gan:
                    def evaluate_gan(out, last, bench=bench):
                        return {"by_guidance": {"none": bench(load_pipeline(out), {})}}

                    gan_flags = common + (QUICK_GAN if args.quick else [])
                    folder = os.path.join(work, f"text-gan-r{resolution}-s{seed}")
                    on_row = saving({"model": "text-gan", "resolution": resolution, "seed": seed, "rows": []})
                    train_with_budgets("text-gan", gan_flags, folder, budgets, args.calibration_steps, evaluate_gan, on_row)
    finally:
        if args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    save(partial=False)
    plot_guidance(result, os.path.splitext(args.out)[0] + "_guidance.png")
    print(os.path.abspath(args.out))


def summarize(runs: list[dict]) -> list[dict]:
    """Mean (and min/max) over seeds of each model/resolution/budget/guidance: all-three accuracy, FID, R-precision."""
    groups: dict = {}
    for run in runs:
        for row in run["rows"]:
            for g, scores in row["by_guidance"].items():
                key = (run["model"], run["resolution"], row["budget_cpu_minutes"], g)
                groups.setdefault(key, []).append({**scores, "train_cpu_minutes": row["train_cpu_minutes"], "steps": row["steps"]})
    out = []
    for (model, resolution, budget, g), items in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2], str(kv[0][3]))):
        entry = {"model": model, "resolution": resolution, "budget_cpu_minutes": budget, "guidance": g, "seeds": len(items)}
        for key in ("train_all_three", "heldout_all_three", "fid", "r_precision", "clip_score", "diversity", "steps", "train_cpu_minutes",
                    "sampling_cpu_s_per_image"):
            values = [i[key] for i in items if i.get(key) is not None]
            if values:
                entry[key] = float(np.mean(values))
                if len(values) > 1 and key in ("train_all_three", "heldout_all_three", "fid", "r_precision"):
                    entry[key + "_min"], entry[key + "_max"] = float(np.min(values)), float(np.max(values))
        out.append(entry)
    return out


def plot_guidance(result: dict, path: str) -> None:
    """Accuracy and shapes-FID against the guidance scale at the last budget (skipped without matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no guidance plot", file=sys.stderr)
        return
    last = max(result["protocol"]["budgets_cpu_minutes"])
    rows = [r for r in result["summary"] if r["model"] == "text-ddpm" and r["budget_cpu_minutes"] == last]
    if not rows:
        return
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8, 3.2))
    for resolution in sorted({r["resolution"] for r in rows}):
        sel = sorted((r for r in rows if r["resolution"] == resolution), key=lambda r: float(r["guidance"]))
        g = [float(r["guidance"]) for r in sel]
        ax1.plot(g, [r["train_all_three"] for r in sel], "o-", label=f"{resolution}px training combos")
        ax1.plot(g, [r["heldout_all_three"] for r in sel], "s--", label=f"{resolution}px held-out combos")
        ax2.plot(g, [r["fid"] for r in sel], "o-", label=f"{resolution}px")
    ax1.set(xlabel="guidance scale", ylabel="all-three accuracy", ylim=(0, 1.02), title=f"after {last:g} CPU-min")
    ax2.set(xlabel="guidance scale", ylabel="shapes-FID (lower is better)")
    ax1.legend(fontsize=7)
    ax2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(os.path.abspath(path))


if __name__ == "__main__":
    main()
