#!/usr/bin/env python
"""Benchmark: images/s of GANPipeline against the bare generator forward, in one run.

A ~1M-parameter 32x32 RGB DCGAN generator at batch 256. Both paths draw their noise the same
way (randn) and run under no_grad in eval mode; the pipeline adds label handling, scaling to
[0, 1] and the output conversion. Measurements are interleaved (bare, pipeline, bare, ...) so
machine noise hits both alike; the best of `--repeats` rounds is reported. Writes JSON.
"""

import argparse
import json
import os
import platform
import time

import torch

from hfgen import DCGANConfig, DCGANGenerator, GANPipeline


def _time(fn, iters: int) -> float:
    start = time.perf_counter()
    for _ in range(iters):
        fn()
    return time.perf_counter() - start


def run(batch_size: int, iters: int, repeats: int, threads: int) -> dict:
    """Images/s of both paths with `threads` torch threads."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    config = DCGANConfig(image_size=32, num_channels=3, latent_dim=100, generator_channels=64)
    generator_model = DCGANGenerator(config).eval()
    pipe = GANPipeline(gan_generator=generator_model)
    pipe.set_progress_bar_config(disable=True)
    params = sum(p.numel() for p in generator_model.parameters())
    rng = torch.Generator().manual_seed(0)

    @torch.no_grad()
    def bare():
        z = torch.randn(batch_size, config.latent_dim, generator=rng)
        return generator_model(z)

    def pipeline_pt():
        return pipe(batch_size=batch_size, generator=rng, output_type="pt").images

    def pipeline_np():
        return pipe(batch_size=batch_size, generator=rng, output_type="np").images

    for fn in (bare, pipeline_pt, pipeline_np):  # warm-up
        fn()
    best = {"bare": float("inf"), "pipeline_pt": float("inf"), "pipeline_np": float("inf")}
    for _ in range(repeats):
        for name, fn in (("bare", bare), ("pipeline_pt", pipeline_pt), ("pipeline_np", pipeline_np)):
            best[name] = min(best[name], _time(fn, iters))
    rate = {k: batch_size * iters / v for k, v in best.items()}
    return {
        "threads": threads,
        "generator_parameters": params,
        "bare_images_per_s": rate["bare"],
        "pipeline_pt_images_per_s": rate["pipeline_pt"],
        "pipeline_np_images_per_s": rate["pipeline_np"],
        "ratio_pt": rate["pipeline_pt"] / rate["bare"],
        "ratio_np": rate["pipeline_np"] / rate["bare"],
    }


def main() -> None:
    """Runs the benchmark for 1 and 2 threads and writes the JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch_size", type=int, default=256)
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--out", default="bench_results/sampling.json")
    args = parser.parse_args()
    results = [run(args.batch_size, args.iters, args.repeats, int(t)) for t in args.threads.split(",")]
    report = {
        "benchmark": "GANPipeline vs bare generator forward",
        "batch_size": args.batch_size,
        "iters": args.iters,
        "repeats": args.repeats,
        "torch": torch.__version__,
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "results": results,
        "best_pipeline_images_per_s": max(r["pipeline_pt_images_per_s"] for r in results),
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=2)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
