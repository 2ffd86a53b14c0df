#!/usr/bin/env python
"""Benchmark: training steps/s of the hfgen loop against a plain hand-written PyTorch loop.

Same models (built from the same config and seed), same data (embedded MNIST-5k, in memory),
same batch size, loss (hinge + spectral norm, class-conditional: the demo's settings) and thread
count. Runs are interleaved (plain, hfgen, plain, hfgen, ...) and the best of `--repeats` is
kept, so machine noise hits both alike. Only the training steps are timed (the hfgen Trainer's
own `seconds`, which excludes its setup). Writes JSON.
"""

import argparse
import json
import os
import platform
import tempfile
import time

import torch

from hfgen.data import load_train_dataset
from hfgen.models import DCGANConfig, DCGANDiscriminator, DCGANGenerator
from hfgen.training import GANArguments, GANTask, Trainer, TrainingArguments

GAN = dict(preset="hinge", class_conditional=True, generator_channels=32, discriminator_channels=32, latent_dim=64)


def plain_loop(dataset, steps: int, batch_size: int, seed: int = 0, toggle_requires_grad: bool = False) -> float:
    """A hand-written PyTorch GAN loop with the same settings; returns seconds for `steps`.

    With `toggle_requires_grad`, D's parameters are frozen during the G step (as hfgen does), so
    the comparison isolates the framework's own overhead.
    """
    torch.manual_seed(seed)
    config = DCGANConfig(image_size=28, num_channels=1, latent_dim=64, generator_channels=32, discriminator_channels=32,
                         discriminator_norm="none", spectral_norm=True, num_classes=10)
    G, D = DCGANGenerator(config), DCGANDiscriminator(config)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.0, 0.9))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.0, 0.9))
    images, labels = dataset.tensors["pixel_values"], dataset.tensors["labels"]
    n = images.shape[0]
    perm, pos = torch.randperm(n), 0
    start = time.perf_counter()
    for _ in range(steps):
        if pos + batch_size > n:
            perm, pos = torch.randperm(n), 0
        idx = perm[pos : pos + batch_size]
        pos += batch_size
        real, y = images[idx], labels[idx]
        # D step (hinge loss)
        z = torch.randn(batch_size, 64)
        with torch.no_grad():
            fake = G(z, y)
        d_loss = torch.relu(1 - D(real, y)).mean() + torch.relu(1 + D(fake, y)).mean()
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        # G step
        if toggle_requires_grad:
            D.requires_grad_(False)
        z = torch.randn(batch_size, 64)
        g_loss = -D(G(z, y), y).mean()
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        if toggle_requires_grad:
            D.requires_grad_(True)
        if not (torch.isfinite(d_loss) and torch.isfinite(g_loss)):
            raise RuntimeError("diverged")
    return time.perf_counter() - start


def hfgen_loop(dataset, steps: int, batch_size: int, out: str) -> float:
    """The hfgen Trainer on the same data and settings; returns seconds for `steps`."""
    args = TrainingArguments(dataset="mnist5k", output_dir=out, max_train_steps=steps, train_batch_size=batch_size,
                             checkpointing_steps=0, sample_steps=0, report_to="none", export=False, logging_steps=10)
    trainer = Trainer(GANTask(GANArguments(**GAN), batch_size=batch_size), args, dataset=dataset)
    return trainer.train()["seconds"]


def main() -> None:
    """Interleaved runs for each thread count; writes the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--out", default="bench_results/train.json")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    dataset = load_train_dataset("mnist5k")
    results = []
    # The Trainer needs an output folder (for logs/): a private temporary one, removed even on failure.
    scratch = tempfile.TemporaryDirectory(prefix="hfgen-bench-train-", ignore_cleanup_errors=True)
    try:
        for threads in (int(t) for t in args.threads.split(",")):
            torch.set_num_threads(threads)
            plain_s = toggled_s = hfgen_s = float("inf")
            for _ in range(args.repeats):
                plain_s = min(plain_s, plain_loop(dataset, args.steps, args.batch_size))
                toggled_s = min(toggled_s, plain_loop(dataset, args.steps, args.batch_size, toggle_requires_grad=True))
                hfgen_s = min(hfgen_s, hfgen_loop(dataset, args.steps, args.batch_size, os.path.join(scratch.name, f"threads-{threads}")))
            results.append({
                "threads": threads,
                "plain_steps_per_s": args.steps / plain_s,
                "plain_frozen_d_steps_per_s": args.steps / toggled_s,
                "hfgen_steps_per_s": args.steps / hfgen_s,
                "ratio_vs_plain": plain_s / hfgen_s,
                "ratio_vs_plain_frozen_d": toggled_s / hfgen_s,
            })
            print(json.dumps(results[-1]))
    finally:
        scratch.cleanup()
    report = {
        "benchmark": "hfgen Trainer vs plain PyTorch loop (hinge+SN conditional DCGAN, MNIST-5k 28x28)",
        "steps": args.steps,
        "batch_size": args.batch_size,
        "repeats": args.repeats,
        "torch": torch.__version__,
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "results": results,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=2)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
