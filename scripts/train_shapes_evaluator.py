#!/usr/bin/env python
"""Train the shapes attribute evaluator's CNN shipped in ``src/hfgen/metrics/weights/``.

Trains :class:`hfgen.metrics.shapes.ShapesNet` on freshly rendered ``shapes`` images of all 48
combinations at 16, 32 and 64 px (seeds 1000+; the held-out combinations are included: the evaluator
must score them too), resized to 32 px, with augmentation so that generated images are judged fairly:
mild Gaussian blur (sigma <= 0.8 px) and pixel noise keep their label, while heavily blurred shapes
(sigma 1.8-3.5 px) and pure noise are labelled "unclear" (a blurry blob is no circle). Then measures the
attribute accuracy (analytic colour and position, CNN shape) on fresh clean images (seed 99) at each
resolution and writes ``shapes_evaluator.safetensors`` (float16) plus ``shapes_evaluator.json``.

Runs on CPU with one thread in a few minutes::

    python scripts/train_shapes_evaluator.py

After a run whose hash changed, paste the printed sha256 into ``SHAPES_EVALUATOR`` in
``src/hfgen/metrics/shapes.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from hfgen.data.shapes import render_shapes
from hfgen.metrics.shapes import SHAPES_EVALUATOR, UNCLEAR, ShapesNet, score_attributes, to_shapes_input

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS_DIR = ROOT / "src" / "hfgen" / "metrics" / "weights"
RESOLUTIONS = (16, 32, 64)


def gaussian_blur(x: torch.Tensor, sigma: torch.Tensor, radius: int = 7) -> torch.Tensor:
    """Blur each image of ``x`` ``[N, C, H, W]`` with its own Gaussian ``sigma[n]`` (px; 0 = unchanged)."""
    n, c, h, w = x.shape
    t = torch.arange(-radius, radius + 1, dtype=x.dtype)
    s = sigma.clamp(min=1e-3).to(x.dtype)[:, None]
    k = torch.exp(-0.5 * (t[None] / s) ** 2)
    k = (k / k.sum(1, keepdim=True)).repeat_interleave(c, 0)  # [N*C, K]
    y = F.pad(x.reshape(1, n * c, h, w), (radius,) * 4, mode="replicate")
    y = F.conv2d(y, k[:, None, None, :], groups=n * c)
    y = F.conv2d(y, k[:, None, :, None], groups=n * c)
    return y.reshape(n, c, h, w)


def render_set(per_resolution: int, seed: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Images of every combination at each resolution, resized to 32 px, and their attribute labels."""
    xs, labels = [], {"shape": [], "colour": [], "position": []}
    for i, res in enumerate(RESOLUTIONS):
        s = render_shapes(per_resolution, res, seed=seed + i)
        xs.append(to_shapes_input(s.images.float() / 127.5 - 1.0))
        for k in labels:
            labels[k].append(torch.from_numpy(getattr(s, k)))
    return torch.cat(xs), {k: torch.cat(v) for k, v in labels.items()}


def augment(x: torch.Tensor, y_shape: torch.Tensor, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Colour jitter, mild blur/noise (label kept); ~15% heavily blurred and ~3% pure noise ("unclear")."""
    n = len(x)
    # a generator's colours and background are never exact: scale each channel's distance from the
    # black background by U(0.75, 1.15) and lift the background by up to 0.1 (in [0, 1] units)
    gain = 0.75 + 0.4 * torch.rand(n, 3, 1, 1, generator=g)
    lift = 0.2 * torch.rand(n, 1, 1, 1, generator=g) * (torch.rand(n, 1, 1, 1, generator=g) < 0.3)
    x = ((x + 1.0) * gain + lift - 1.0).clamp(-1.0, 1.0)
    u = torch.rand(n, generator=g)
    heavy = u < 0.15
    noise_only = (u >= 0.15) & (u < 0.18)
    sigma = torch.where(torch.rand(n, generator=g) < 0.5, torch.rand(n, generator=g) * 0.8, torch.zeros(n))
    sigma = torch.where(heavy, 1.8 + torch.rand(n, generator=g) * 1.7, sigma)
    x = gaussian_blur(x, sigma)
    x = torch.where(noise_only[:, None, None, None], -1.0 + 0.6 * torch.rand(x.shape, generator=g), x)
    noise_std = torch.where(torch.rand(n, generator=g) < 0.5, torch.rand(n, generator=g) * 0.1, torch.zeros(n))
    x = (x + noise_std[:, None, None, None] * torch.randn(x.shape, generator=g)).clamp(-1.0, 1.0)
    y = torch.where(heavy | noise_only, torch.full_like(y_shape, UNCLEAR), y_shape)
    return x, y


def main(argv: list[str] | None = None) -> None:
    """CLI entry point: train, measure and write the weights + JSON."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--per_resolution", type=int, default=8000, help="training images per resolution")
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--batch_size", type=int, default=128)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--test_per_resolution", type=int, default=2000)
    p.add_argument("--output_dir", default=str(WEIGHTS_DIR), help="where to write the weights + JSON (default: the package's)")
    args = p.parse_args(argv)
    from safetensors.torch import save_file

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    t0 = time.perf_counter()
    x_tr, y_tr = render_set(args.per_resolution, seed=1000)
    print(f"rendered {len(x_tr)} training images in {time.perf_counter() - t0:.1f}s", flush=True)
    model = ShapesNet(SHAPES_EVALUATOR["feature_dim"])
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=1e-4)
    steps = (len(x_tr) + args.batch_size - 1) // args.batch_size
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, epochs=args.epochs, steps_per_epoch=steps)
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(x_tr), generator=g)
        total = 0.0
        for s in range(0, len(x_tr), args.batch_size):
            idx = perm[s : s + args.batch_size]
            xb, ys = augment(x_tr[idx], y_tr["shape"][idx], g)
            out = model(xb)
            # colour and position heads only shape the features (the scores use the analytic ones)
            loss = (F.cross_entropy(out["shape"], ys) + 0.5 * F.cross_entropy(out["colour"], y_tr["colour"][idx])
                    + 0.5 * F.cross_entropy(out["position"], y_tr["position"][idx]))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        print(f"epoch {epoch + 1}/{args.epochs} loss {total / len(x_tr):.4f} ({time.perf_counter() - t0:.0f}s)", flush=True)
    model.eval()

    results = {}
    for i, res in enumerate(RESOLUTIONS):
        s = render_shapes(args.test_per_resolution, res, seed=99 + i)
        results[str(res)] = {k: round(v, 5) if isinstance(v, float) else v for k, v in score_attributes(
            s.images.float() / 127.5 - 1.0, s.colour, s.shape, s.position, model=model).items()}
        print(f"fresh {res}px: {results[str(res)]}", flush=True)
    # heavily blurred real shapes: how often the CNN still names a shape
    s = render_shapes(1000, 32, seed=123)
    blurred = gaussian_blur(s.images.float() / 127.5 - 1.0, torch.full((1000,), 2.5))
    with torch.no_grad():
        named = (model(blurred)["shape"].argmax(1) != UNCLEAR).float().mean().item()
    print(f"blurred (sigma 2.5 px at 32): named a shape on {named:.3f}", flush=True)

    out_dir = Path(args.output_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    wpath = out_dir / SHAPES_EVALUATOR["file"]
    state = {k: (v.half() if v.is_floating_point() else v).detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(state, str(wpath), metadata={"name": "shapes", "format": "pt"})
    wpath.chmod(0o644)
    sha = hashlib.sha256(wpath.read_bytes()).hexdigest()
    meta = {
        "name": "shapes",
        "image_size": SHAPES_EVALUATOR["image_size"],
        "feature_dim": model.feature_dim,
        "shape_classes": ["circle", "square", "triangle", "unclear"],
        "n_train": len(x_tr),
        "train_data": f"render_shapes({args.per_resolution}, res, seed=1000+i) for res in {list(RESOLUTIONS)}, all 48 combinations, resized to 32",
        "augmentation": "per-channel gain U(0.75,1.15), p=0.3 background lift U(0,0.1); p=0.5 blur sigma U(0,0.8) px, p=0.5 noise std U(0,0.1); 15% blur sigma U(1.8,3.5) and 3% noise labelled unclear",
        "training": f"Adam(wd=1e-4) OneCycle max_lr={args.lr}, {args.epochs} epochs, batch {args.batch_size}; "
                    "loss CE(shape) + 0.5 CE(colour) + 0.5 CE(position)",
        "test": f"render_shapes({args.test_per_resolution}, res, seed=99+i), clean; colour/position analytic, shape CNN",
        "test_accuracy": results,
        "blurred_named_a_shape": round(named, 4),
        "storage": "float16",
        "sha256": sha,
        "params": sum(p.numel() for p in model.parameters()),
    }
    (out_dir / "shapes_evaluator.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"wrote {wpath.name} ({wpath.stat().st_size / 1e3:.1f} kB) sha256 {sha}; {time.perf_counter() - t0:.0f}s")
    if SHAPES_EVALUATOR.get("sha256") not in (None, sha):
        print("NOTE: sha256 differs from SHAPES_EVALUATOR -> update src/hfgen/metrics/shapes.py")


if __name__ == "__main__":
    main()
