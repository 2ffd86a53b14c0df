#!/usr/bin/env python
"""Pix2Pix benchmark: the paper's ablation table on edges2digits, and the loop's speed against plain PyTorch.

1. Quality (Isola et al. 2017, Table 1's kind): L1+cGAN (lambda_L1 100) vs L1 only (`--adversarial false`) vs
   cGAN only (`--lambda_l1 0`), each seed trained for the same CPU budget (process CPU time, one torch
   thread), then scored on the 500 held-out test pairs: L1, PSNR, SSIM (to the targets), FID on the
   MNIST-5k classifier's features (outputs vs targets), the classifier's accuracy of the outputs against
   the digits' true labels, and sharpness (the outputs' mean |Laplacian| over the targets'). A variant's
   step count is its budget divided by its own CPU time per step, measured in a calibration run first
   (L1-only has no D, so it makes more steps in the same budget); the LR schedule is the paper's (constant,
   then linear decay over the last half).
2. Speed: CPU seconds per training step of the hfgen loop (`Trainer` + the pix2pix task) and of a plain
   PyTorch loop with the same U-Net/PatchGAN, batch, Adam and losses, structured like the reference
   implementation (G forward once, D update, G update). Both are timed inside the loop (process CPU time
   from the start of the 3rd step to the start of the last), so set-up and export do not count;
   ratio = plain s/step / hfgen s/step (>= 0.95 is the bar).

    python scripts/bench_pix2pix.py                         # the full protocol: 3 variants x 3 seeds x 10 CPU-min
    python scripts/bench_pix2pix.py --seeds 0 --budget_minutes 2 --label reduced   # what fits a short session
    python scripts/bench_pix2pix.py --tiny                   # end-to-end check in ~1 CPU-minute (not a result)
    python scripts/bench_pix2pix.py --variants "L1 only" --skip_speed --output a.json   # one variant per process, then
    python scripts/bench_pix2pix.py --merge a.json b.json c.json                          # one report

Writes bench_results/pix2pix.json (every run, the means, the protocol, the speed) and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time

import torch

VARIANTS = {
    "L1+cGAN": [],
    "L1 only": ["--adversarial", "false"],
    "cGAN only": ["--lambda_l1", "0"],
}
METRICS = ("l1", "psnr", "ssim", "fid", "condition_accuracy", "sharpness")


def _flags(args, out, steps, seed, extra):
    return ["--dataset", args.dataset, "--output_dir", out, "--max_train_steps", str(steps), "--seed", str(seed),
            "--train_batch_size", str(args.batch_size), "--generator_channels", str(args.channels),
            "--discriminator_channels", str(args.channels), "--discriminator_layers", str(args.discriminator_layers),
            "--num_threads", "1", "--report_to", "none", "--disable_tqdm", "--checkpointing_steps", "0",
            "--sample_steps", "0", "--logging_steps", "50", *extra]


def _timed_task_class():
    """The pix2pix task, recording the process CPU time when each training step starts (its G phase's first call)."""
    from hfgen.training.pix2pix import Pix2PixTask

    class TimedPix2PixTask(Pix2PixTask):
        def generator_step(self, batch, ctx):
            self.step_started.setdefault(ctx.step, time.process_time())
            return super().generator_step(batch, ctx)

    return TimedPix2PixTask


def _train(args, out, steps, seed, extra, export=True):
    """Trains in this process (the `hfgen train pix2pix` code path); returns (CPU seconds of the whole run, CPU
    seconds per training step measured inside the loop from its 3rd step to its last, summary)."""
    from hfgen.training import Trainer, TrainingArguments, parse_args
    from hfgen.training.pix2pix import Pix2PixArguments

    flags = _flags(args, out, steps, seed, extra)
    flags += ["--final_eval_samples", "0"] + ([] if export else ["--export", "false"])
    training_args, task_args = parse_args((TrainingArguments, Pix2PixArguments), flags)
    task = _timed_task_class().from_arguments(training_args, task_args)
    task.step_started = {}
    start = time.process_time()
    summary = Trainer(task, training_args).train()
    total = time.process_time() - start
    first, last = 2, steps - 1  # whole steps 2 .. steps-2 (the first ones warm the allocator up)
    per_step = (task.step_started[last] - task.step_started[first]) / (last - first) if last > first else None
    return total, per_step, summary


def seconds_per_step(args, extra, steps, seed=0):
    """CPU seconds per hfgen training step, timed inside the loop (set-up and export excluded)."""
    work = tempfile.mkdtemp(prefix="bench-p2p-")
    try:
        _, per_step, _ = _train(args, work, steps, seed, extra, export=False)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return per_step


def plain_seconds_per_step(args, steps, seed=0):
    """CPU seconds per step of a plain PyTorch pix2pix loop (the reference's structure) with the same models and data."""
    from hfgen.data.paired_embedded import load_paired_embedded
    from hfgen.losses import get_loss
    from hfgen.models import PatchDiscriminator, PatchDiscriminatorConfig, UNetGenerator, UNetGeneratorConfig

    data = load_paired_embedded(args.dataset, "train")
    x0 = data.get_batch(torch.tensor([0]))
    cin, cout, size = x0["conditioning_pixel_values"].shape[1], x0["pixel_values"].shape[1], x0["pixel_values"].shape[-1]

    def run(n):
        torch.manual_seed(seed)
        G = UNetGenerator(UNetGeneratorConfig(image_size=size, in_channels=cin, out_channels=cout, base_channels=args.channels))
        D = PatchDiscriminator(PatchDiscriminatorConfig(in_channels=cin + cout, base_channels=args.channels,
                                                        n_layers=args.discriminator_layers))
        opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
        opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
        loss = get_loss("vanilla")
        generator = torch.Generator().manual_seed(seed)
        times = []
        for _ in range(n):
            times.append(time.process_time())
            idx = torch.randint(len(data), (args.batch_size,), generator=generator)
            batch = data.get_batch(idx)
            x, y = batch["conditioning_pixel_values"], batch["pixel_values"]
            fake = G(x)
            for p in D.parameters():
                p.requires_grad_(True)
            d_loss = 0.5 * loss.discriminator_loss(D(torch.cat([x, y], 1)), D(torch.cat([x, fake.detach()], 1)))
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
            for p in D.parameters():
                p.requires_grad_(False)
            g_loss = loss.generator_loss(D(torch.cat([x, fake], 1))) + 100.0 * (fake - y).abs().mean()
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()
        times.append(time.process_time())
        return (times[-1] - times[2]) / (n - 2)  # whole steps from the 3rd on, as for hfgen

    return run(steps)


def evaluate(args, folder, seed):
    from hfgen.evaluation.image2image import translation_evaluator_for_dataset
    from hfgen.pipelines import Pix2PixPipeline

    pipe = Pix2PixPipeline.from_pretrained(folder)
    evaluator = translation_evaluator_for_dataset(args.dataset, num_samples=args.eval_pairs, seed=seed)
    return evaluator(pipe)


def _mean_std(values):
    t = torch.tensor(values, dtype=torch.float64)
    return float(t.mean()), float(t.std()) if len(values) > 1 else 0.0


def markdown(result) -> str:
    rows = ["| Objective | steps | L1 ↓ | PSNR ↑ | SSIM ↑ | FID ↓ | accuracy ↑ | sharpness (1 = real) |",
            "|---|---|---|---|---|---|---|---|"]
    for name, agg in result["summary"].items():
        def cell(key, digits=3):
            if key not in agg:  # e.g. FID and accuracy: only where a classifier reads the outputs (digits)
                return "-"
            mean, std = agg[key]
            return f"{mean:.{digits}f} ± {std:.{digits}f}" if agg["runs"] > 1 else f"{mean:.{digits}f}"
        rows.append(f"| {name} | {agg['steps']} | {cell('l1')} | {cell('psnr', 2)} | {cell('ssim')} | {cell('fid', 2)} | "
                    f"{cell('condition_accuracy')} | {cell('sharpness', 2)} |")
    return "\n".join(rows)


def merge(paths, output) -> int:
    """Writes one report from several made in parallel processes (one protocol): every run, every variant's summary,
    the first speed part found."""
    reports = [json.load(open(p)) for p in paths]
    keys = ("dataset", "budget_cpu_minutes_per_run", "batch_size", "ngf_ndf", "discriminator_layers")
    settings = {json.dumps({k: r["protocol"][k] for k in keys}, sort_keys=True) for r in reports}
    if len(settings) > 1:
        raise SystemExit(f"--merge: the reports used different settings ({sorted(settings)}); merge only runs of one protocol.")
    merged = dict(reports[0])
    merged["runs"] = [run for r in reports for run in r["runs"]]
    merged["summary"] = {name: agg for r in reports for name, agg in r["summary"].items()}
    merged["speed"] = next((r["speed"] for r in reports if r.get("speed")), None)
    merged["protocol"] = {**reports[0]["protocol"], "seeds": sorted({run["seed"] for run in merged["runs"]})}
    labels = {r["label"] for r in reports}
    merged["label"] = labels.pop() if len(labels) == 1 else " + ".join(sorted(labels))
    merged["table"] = markdown(merged)
    with open(output, "w") as f:
        json.dump(merged, f, indent=2)
    print(merged["table"])
    print(f"wrote {os.path.abspath(output)}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="edges2digits")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"Comma-separated among {list(VARIANTS)}.")
    parser.add_argument("--budget_minutes", type=float, default=10.0, help="CPU minutes of training per run.")
    parser.add_argument("--batch_size", type=int, default=16)
    parser.add_argument("--channels", type=int, default=32, help="ngf = ndf.")
    parser.add_argument("--discriminator_layers", type=int, default=2, help="PatchGAN depth (2: 34x34 patches, a 6x6 logit grid at 32 px).")
    parser.add_argument("--eval_pairs", type=int, default=500)
    parser.add_argument("--calibration_steps", type=int, default=20)
    parser.add_argument("--speed_steps", type=int, default=40)
    parser.add_argument("--speed_repeats", type=int, default=3, help="Alternating plain/hfgen timings averaged for the speed ratio.")
    parser.add_argument("--skip_speed", action="store_true")
    parser.add_argument("--merge", nargs="+", default=None, metavar="JSON",
                        help="Combine the JSONs of runs made in parallel processes (e.g. one variant each) into --output.")
    parser.add_argument("--label", default="full", help="'full' for the issue's protocol; anything else marks a reduced run.")
    parser.add_argument("--output", default="bench_results/pix2pix.json")
    parser.add_argument("--keep_models", default=None, help="Folder to keep each run's export in (default: temporary).")
    parser.add_argument("--tiny", action="store_true", help="End-to-end check of this script at toy scale (not a result).")
    args = parser.parse_args(argv)
    if args.merge:
        return merge(args.merge, args.output)
    if args.tiny:
        args.seeds, args.budget_minutes, args.calibration_steps, args.speed_steps, args.speed_repeats = "0", 0.05, 6, 6, 1
        args.channels, args.eval_pairs, args.label = 8, 50, "tiny (script check, not a result)"
    torch.set_num_threads(1)
    seeds = [int(s) for s in args.seeds.split(",")]
    variants = [v.strip() for v in args.variants.split(",")]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        parser.error(f"--variants: unknown {unknown}; choose among {list(VARIANTS)}")
    budget = args.budget_minutes * 60.0
    runs, summary, extractors = [], {}, set()
    # Warm-up: the first run in a process pays imports and the data's decoding.
    seconds_per_step(args, [], 4)
    speed = None
    if not args.skip_speed:
        # plain, hfgen, plain, hfgen, ...: alternating, so that a change of the machine's load hits both alike.
        plains, ours = [], []
        for _ in range(args.speed_repeats):
            plains.append(plain_seconds_per_step(args, args.speed_steps))
            ours.append(seconds_per_step(args, [], args.speed_steps))
        ratio = sum(plains) / sum(ours)
        speed = {"hfgen_cpu_ms_per_step": 1000 * sum(ours) / len(ours), "plain_pytorch_cpu_ms_per_step": 1000 * sum(plains) / len(plains),
                 "ratio": ratio, "steps_timed": args.speed_steps, "repeats": args.speed_repeats,
                 "per_repeat_cpu_ms_per_step": {"hfgen": [1000 * t for t in ours], "plain": [1000 * t for t in plains]},
                 "variant": "L1+cGAN"}
        print(f"speed: hfgen {speed['hfgen_cpu_ms_per_step']:.1f} vs plain {speed['plain_pytorch_cpu_ms_per_step']:.1f} "
              f"CPU-ms/step: ratio {ratio:.3f}", file=sys.stderr, flush=True)
    for name in variants:
        per_step = seconds_per_step(args, VARIANTS[name], args.calibration_steps)
        steps = max(2, int(budget / per_step))
        print(f"{name}: {per_step * 1000:.1f} CPU-ms/step -> {steps} steps in {args.budget_minutes:g} CPU-min", file=sys.stderr, flush=True)
        results = []
        for seed in seeds:
            folder = os.path.join(args.keep_models, f"{name.replace(' ', '_').replace('+', '_')}-seed{seed}") if args.keep_models \
                else tempfile.mkdtemp(prefix="bench-p2p-run-")
            try:
                cpu, run_per_step, _ = _train(args, folder, steps, seed, VARIANTS[name])
                evaluation = evaluate(args, folder, seed)
            finally:
                if not args.keep_models:
                    shutil.rmtree(folder, ignore_errors=True)
            metrics = {k: float(evaluation["metrics"][k]) for k in METRICS if k in evaluation["metrics"]}
            if "fid" in metrics:
                extractors.add(evaluation["protocol"]["extractor"])
            run = {"variant": name, "seed": seed, "steps": steps, "cpu_seconds": cpu,
                   "training_cpu_seconds": run_per_step * steps if run_per_step else None, "metrics": metrics}
            print(json.dumps(run), file=sys.stderr, flush=True)
            runs.append(run)
            results.append(metrics)
        summary[name] = {"runs": len(results), "steps": steps, "cpu_ms_per_step": per_step * 1000,
                         **{k: _mean_std([r[k] for r in results]) for k in METRICS if all(k in r for r in results)}}
    result = {
        "label": args.label,
        "protocol": {
            "dataset": args.dataset, "evaluation": f"first {args.eval_pairs} held-out test pairs", "seeds": seeds,
            "budget_cpu_minutes_per_run": args.budget_minutes, "batch_size": args.batch_size, "ngf_ndf": args.channels,
            "discriminator_layers": args.discriminator_layers, "torch_threads": 1, "optimizer": "Adam(2e-4, 0.5, 0.999)",
            "schedule": "constant, then linear decay to 0 over the last half of the steps",
            "steps": "budget / the variant's CPU time per step measured in a calibration run",
            "fid_features": (f"{', '.join(sorted(extractors))} (not Inception: not comparable with published FIDs)" if extractors
                             else "none (no shipped classifier reads this data set's outputs)"),
            "machine": platform.platform(), "torch": torch.__version__,
        },
        "runs": runs,
        "summary": summary,
        "speed": speed,
        "table": None,
    }
    result["table"] = markdown(result)
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "w") as f:
        json.dump(result, f, indent=2)
    print(result["table"])
    if speed:
        print(f"\nLoop speed (L1+cGAN, CPU-ms/step, 1 thread): hfgen {speed['hfgen_cpu_ms_per_step']:.1f}, plain PyTorch "
              f"{speed['plain_pytorch_cpu_ms_per_step']:.1f}, ratio {speed['ratio']:.3f}")
    print(f"wrote {os.path.abspath(args.output)} ({args.label})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
