#!/usr/bin/env python
"""Benchmark: GAN-INT-CLS on the embedded `shapes` data and its ablations (issue 11).

Variants (each a `hfgen train` run on `--dataset shapes` at 32x32, one torch thread):

- `full`: `hfgen train text-gan` with its defaults (GAN-CLS and GAN-INT on);
- `no_mismatch`: the same without the mismatched-caption pairs (`--no_matching_aware`);
- `no_interp`: the same without the interpolated captions (`--no_interpolate_text`);
- `class_cond`: the non-text baseline, `hfgen train gan --preset hinge --class_conditional` over the 48
  combination labels (the 6 held-out labels have no training image: it cannot generalise to them);
- `random_text_encoder` (extra): `full` with `--text_encoder random` (a frozen random CLIPTextModel instead of
  the shipped pre-trained text tower), to measure what the pre-training brings;
- `random_no_mismatch` (extra): `random_text_encoder` without the mismatched-caption pairs: the GAN-CLS
  ablation where the text embedding carries no attribute structure of its own (Reed et al.'s setting).

Each run trains for `--steps` steps and is scored every `--eval_every` steps on the 48 shapes prompts
(or labels): attribute accuracy (colour, shape, position, all three) on the 42 training combinations
and on the 6 held-out ones, with the shipped shapes evaluator (`hfgen.metrics.shapes`). CPU time is
the process's own (`time.process_time()`, training only: evaluations are subtracted), so that a
loaded machine does not inflate it. Runs can be split across invocations (`--variants`, `--seeds`):
each writes its runs into the same JSON (`--out`), replacing earlier runs of the same variant, seed
and steps, and the summary (mean/std over seeds per variant) is recomputed from all runs.

    nice -n 10 python scripts/bench_text_gan.py --variants full --seeds 0,1,2
    nice -n 10 python scripts/bench_text_gan.py --variants no_mismatch,no_interp,class_cond --seeds 0
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time

import torch

VARIANTS = ("full", "no_mismatch", "no_interp", "class_cond", "random_text_encoder", "random_no_mismatch")


class _TimedShapesScore:
    """Scores a pipeline on the 48 shapes combinations and records the run's training CPU time so far.

    `prompts=True`: a text pipeline given the combinations' captions; otherwise a class-conditional
    GANPipeline given their labels. The evaluation's own CPU time is excluded from `cpu_s`.
    """

    def __init__(self, prompts: bool, per_prompt: int, seed: int, clock: dict):
        self.prompts, self.per_prompt, self.seed, self.clock = prompts, per_prompt, seed, clock
        self.trajectory: list[dict] = []

    def __call__(self, pipeline) -> dict:
        from hfgen.data.shapes import NUM_COMBINATIONS, TRAIN_COMBINATIONS, caption_for, combination_attributes
        from hfgen.metrics.shapes import score_attributes

        start = time.process_time()
        combos = list(range(NUM_COMBINATIONS))
        n = self.per_prompt
        generator = torch.Generator(device=pipeline.device).manual_seed(self.seed)
        if self.prompts:
            prompts = [caption_for(*combination_attributes(i)) for i in combos]
            images = pipeline(prompts, num_images_per_prompt=n, generator=generator, output_type="pt").images
        else:
            labels = torch.tensor(combos).repeat_interleave(n)
            images = pipeline(batch_size=len(labels), class_labels=labels, generator=generator, output_type="pt").images
        images = images.cpu() * 2 - 1
        attrs = torch.tensor([combination_attributes(i) for i in combos]).repeat_interleave(n, dim=0)
        train = torch.tensor([i in set(TRAIN_COMBINATIONS) for i in combos]).repeat_interleave(n)
        metrics = {}
        for name, mask in (("train", train), ("heldout", ~train)):
            scores = score_attributes(images[mask], attrs[mask, 0], attrs[mask, 1], attrs[mask, 2])
            metrics.update({f"{name}_{k}": v for k, v in scores.items() if k != "num_images"})
        # Per-prompt diversity: mean over prompts of the pixel std across that prompt's samples.
        per = images.view(NUM_COMBINATIONS, n, *images.shape[1:])
        metrics["diversity"] = float(per.std(dim=1).mean()) / 2 if n > 1 else float("nan")  # in [0, 1] pixel units
        self.clock["eval"] += time.process_time() - start
        metrics["cpu_s"] = time.process_time() - self.clock["start"] - self.clock["eval"]
        self.trajectory.append(dict(metrics))
        print(f"  eval {len(self.trajectory)}: cpu {metrics['cpu_s']:.0f}s train_all_three {metrics['train_all_three']:.3f} "
              f"heldout_all_three {metrics['heldout_all_three']:.3f} diversity {metrics['diversity']:.4f}", file=sys.stderr, flush=True)
        return {"metrics": metrics, "protocol": {"images_per_prompt": n, "seed": self.seed}}

    def floors(self) -> dict:
        return {"real_vs_real": {"metrics": {}}}


def run(variant: str, seed: int, steps: int, eval_every: int, per_prompt: int, scratch: str, extra: dict) -> dict:
    """Trains one variant with one seed; returns its record (final scores, trajectory, CPU seconds)."""
    from hfgen.data import load_train_dataset
    from hfgen.training import GANArguments, GANTask, Trainer, TrainingArguments
    from hfgen.training.text_gan import TextGANArguments, TextGANTask

    torch.set_num_threads(1)
    dataset = load_train_dataset("shapes", image_size=32, seed=seed)
    clock = {"start": time.process_time(), "eval": 0.0}
    score = _TimedShapesScore(prompts=variant != "class_cond", per_prompt=per_prompt, seed=seed, clock=clock)
    if variant == "class_cond":
        task = GANTask(GANArguments(preset="hinge", class_conditional=True))
    else:
        options = dict(extra)
        if variant in ("no_mismatch", "random_no_mismatch"):
            options["matching_aware"] = False
        if variant == "no_interp":
            options["interpolate_text"] = False
        if variant in ("random_text_encoder", "random_no_mismatch"):
            options["text_encoder"] = "random"
        task = TextGANTask(TextGANArguments(**options))
    task.build_evaluator = lambda *args, **kwargs: score
    args = TrainingArguments(dataset="shapes", output_dir=os.path.join(scratch, f"{variant}-{seed}"), max_train_steps=steps,
                             seed=seed, resolution=32, checkpointing_steps=0, sample_steps=0, report_to="none", export=False,
                             eval_steps=eval_every, eval_samples=48 * per_prompt, final_eval_samples=0, disable_tqdm=True,
                             num_threads=1, logging_steps=max(1, eval_every))
    Trainer(task, args, dataset=dataset).train()
    if not score.trajectory or score.trajectory[-1]["cpu_s"] is None or (steps % eval_every):
        raise RuntimeError("--steps must be a multiple of --eval_every (the last evaluation is the result).")
    final = score.trajectory[-1]
    trajectory = [dict(step=eval_every * (i + 1), **m) for i, m in enumerate(score.trajectory)]
    return {"variant": variant, "seed": seed, "steps": steps, "train_cpu_s": final["cpu_s"], "final": final,
            "trajectory": trajectory, "options": extra if variant != "class_cond" else {"preset": "hinge", "class_conditional": True}}


def summarise(runs: list[dict]) -> dict:
    """Mean and std over seeds of each variant's final scores (and of its CPU seconds)."""
    out = {}
    for variant in VARIANTS:
        rows = [r for r in runs if r["variant"] == variant]
        if not rows:
            continue
        entry = {"seeds": sorted(r["seed"] for r in rows), "steps": sorted({r["steps"] for r in rows})}
        for key in ("train_all_three", "heldout_all_three", "train_colour", "train_shape", "train_position", "heldout_shape",
                    "diversity"):
            values = [r["final"][key] for r in rows]
            entry[key] = {"mean": statistics.fmean(values), "std": statistics.pstdev(values) if len(values) > 1 else 0.0}
        cpu = [r["train_cpu_s"] for r in rows]
        entry["train_cpu_minutes"] = {"mean": statistics.fmean(cpu) / 60, "max": max(cpu) / 60}
        out[variant] = entry
    return out


def main() -> None:
    """Runs the requested variants and seeds; merges them into the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", default=",".join(VARIANTS[:4]), help=f"Comma-separated from {','.join(VARIANTS)}.")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--steps", type=int, default=3000, help="Training steps per run (the same for every variant).")
    parser.add_argument("--eval_every", type=int, default=1000, help="Steps between evaluations (must divide --steps).")
    parser.add_argument("--per_prompt", type=int, default=10, help="Images per combination in each evaluation.")
    parser.add_argument("--text_gan_args", default="{}", help="JSON of extra TextGANArguments for the text variants.")
    parser.add_argument("--note", default=None, help="A note stored in the JSON (e.g. why fewer seeds ran for the ablations).")
    parser.add_argument("--out", default="bench_results/text_gan.json")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown variant(s) {unknown}: choose from {list(VARIANTS)}")
    if args.steps % args.eval_every:
        parser.error("--eval_every must divide --steps (the last evaluation is the result)")
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    extra = json.loads(args.text_gan_args)
    report = {"runs": []}
    if os.path.isfile(args.out):
        with open(args.out) as f:
            report = json.load(f)
    with tempfile.TemporaryDirectory(prefix="hfgen-bench-text-gan-", ignore_cleanup_errors=True) as scratch:
        for seed in seeds:
            for variant in variants:
                record = run(variant, seed, args.steps, args.eval_every, args.per_prompt, scratch, extra)
                print(json.dumps({k: record[k] for k in ("variant", "seed", "steps", "train_cpu_s", "final")}), flush=True)
                report["runs"] = [r for r in report.get("runs", [])
                                  if (r["variant"], r["seed"], r["steps"]) != (variant, seed, args.steps)] + [record]
                report.update(
                    benchmark="GAN-INT-CLS on shapes 32x32: all-three attribute accuracy on the 42 training and 6 held-out "
                              "combinations (hfgen.metrics.shapes evaluator); one torch thread; CPU seconds of training only",
                    protocol={"resolution": 32, "images_per_combination": args.per_prompt, "prompt_template": 0,
                              "evaluator": "hfgen.metrics.shapes (analytic colour/position, CNN shape)"},
                    summary=summarise(report["runs"]), torch=torch.__version__, platform=platform.platform(),
                    python=sys.version.split()[0],
                )
                if args.note:
                    report["note"] = args.note
                os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
                with open(args.out + ".tmp", "w") as f:
                    json.dump(report, f, indent=2)
                os.replace(args.out + ".tmp", args.out)
    print(json.dumps(report["summary"], indent=2))


if __name__ == "__main__":
    main()
