#!/usr/bin/env python
"""Train the evaluator classifiers shipped in ``src/hfgen/metrics/weights/``.

Trains :class:`hfgen.metrics.evaluators.DigitClassifier` on the fixed splits of
:func:`hfgen.metrics.evaluators.evaluator_split` (``mnist5k``: 4000/1000, ``digits``: 1400/397, seed 0)
with random-shift augmentation (+-2 px for 28x28, +-1 px for 8x8, background filled with -1) and Adam
with a one-cycle learning-rate schedule, measures the held-out accuracy and writes
``<name>_classifier.safetensors`` plus ``<name>_classifier.json`` (accuracy, split, sha256, arch).

Runs on CPU with one thread in a few minutes::

    python scripts/train_evaluators.py            # both
    python scripts/train_evaluators.py digits     # one

After a run whose hashes changed, paste the printed ``sha256``/``test_accuracy`` values into
``EVALUATORS`` in ``src/hfgen/metrics/evaluators.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from hfgen.metrics.evaluators import EVALUATORS, DigitClassifier, evaluator_split

ROOT = Path(__file__).resolve().parents[1]

WEIGHTS_DIR = ROOT / "src" / "hfgen" / "metrics" / "weights"

# name -> (max shift in px, epochs, batch size, peak lr)
CONFIG = {
    "mnist5k": dict(shift=2, epochs=24, batch_size=64, lr=3e-3),
    "digits": dict(shift=1, epochs=40, batch_size=64, lr=3e-3),
}


def random_shift(x: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Shift each image by an independent random integer offset in ``[-max_shift, max_shift]`` (y and x).

    Uncovered pixels are filled with the background value ``-1``. Pure torch (pad + gather).
    """
    if max_shift == 0:
        return x
    n, c, h, w = x.shape
    padded = F.pad(x, (max_shift,) * 4, value=-1.0)
    dy = torch.randint(0, 2 * max_shift + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * max_shift + 1, (n,), generator=generator)
    rows = (dy[:, None] + torch.arange(h)[None, :])  # [n, h]
    cols = (dx[:, None] + torch.arange(w)[None, :])  # [n, w]
    idx_n = torch.arange(n)[:, None, None, None]
    idx_c = torch.arange(c)[None, :, None, None]
    return padded[idx_n, idx_c, rows[:, None, :, None], cols[:, None, None, :]]


@torch.no_grad()
def accuracy(model: DigitClassifier, x: torch.Tensor, y: torch.Tensor, batch_size: int = 500) -> float:
    """Top-1 accuracy of ``model`` (eval mode) on ``(x, y)``."""
    model.eval()
    correct = 0
    for s in range(0, len(x), batch_size):
        correct += (model(x[s : s + batch_size]).argmax(1) == y[s : s + batch_size]).sum().item()
    return correct / len(x)


def train_one(name: str) -> dict:
    """Train evaluator ``name``, write its safetensors + JSON, and return the JSON metadata."""
    from safetensors.torch import save_file

    cfg = CONFIG[name]
    info = EVALUATORS[name]
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    x_tr, y_tr, x_te, y_te = evaluator_split(name)
    model = DigitClassifier(info["image_size"], info["num_classes"], info["feature_dim"])
    opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"], weight_decay=1e-4)
    steps_per_epoch = (len(x_tr) + cfg["batch_size"] - 1) // cfg["batch_size"]
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=cfg["lr"], epochs=cfg["epochs"], steps_per_epoch=steps_per_epoch
    )
    t0 = time.perf_counter()
    for epoch in range(cfg["epochs"]):
        model.train()
        perm = torch.randperm(len(x_tr), generator=gen)
        total = 0.0
        for s in range(0, len(x_tr), cfg["batch_size"]):
            idx = perm[s : s + cfg["batch_size"]]
            xb = random_shift(x_tr[idx], cfg["shift"], gen)
            loss = F.cross_entropy(model(xb), y_tr[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        if (epoch + 1) % 4 == 0 or epoch == cfg["epochs"] - 1:
            print(
                f"[{name}] epoch {epoch + 1:3d}/{cfg['epochs']} loss {total / len(x_tr):.4f} "
                f"test acc {accuracy(model, x_te, y_te):.4f} ({time.perf_counter() - t0:.0f}s)",
                flush=True,
            )
    model.eval()
    test_acc = accuracy(model, x_te, y_te)

    WEIGHTS_DIR.mkdir(parents=True, exist_ok=True)
    wpath = WEIGHTS_DIR / info["file"]
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(state, str(wpath), metadata={"name": name, "format": "pt"})
    wpath.chmod(0o644)  # safetensors creates the file owner-only; ship it world-readable
    sha = hashlib.sha256(wpath.read_bytes()).hexdigest()
    meta = {
        "name": name,
        "image_size": info["image_size"],
        "num_classes": info["num_classes"],
        "feature_dim": model.feature_dim,
        "test_accuracy": round(test_acc, 6),
        "n_train": len(x_tr),
        "n_test": len(x_te),
        "split_seed": 0,
        "split": info["split"],
        "augmentation": f"random integer shifts of +-{cfg['shift']} px (background -1)",
        "training": f"Adam(wd=1e-4) OneCycle max_lr={cfg['lr']}, {cfg['epochs']} epochs, batch {cfg['batch_size']}",
        "sha256": sha,
        "arch": model.arch(),
    }
    (WEIGHTS_DIR / info["file"].replace(".safetensors", ".json")).write_text(json.dumps(meta, indent=2) + "\n")
    print(
        f"[{name}] held-out accuracy {test_acc:.4f}; wrote {wpath.name} ({wpath.stat().st_size / 1e6:.2f} MB), "
        f"sha256 {sha}; {time.perf_counter() - t0:.0f}s",
        flush=True,
    )
    if info.get("sha256") not in (None, sha):
        print(f"[{name}] NOTE: sha256 differs from EVALUATORS[{name!r}] -> update evaluators.py", flush=True)
    return meta


def main(argv: list[str] | None = None) -> None:
    """CLI entry point: train the requested evaluators (default: all)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("names", nargs="*", help=f"evaluators to train (default: all of {list(EVALUATORS)})")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    unknown = [n for n in args.names if n not in EVALUATORS]
    if unknown:
        p.error(f"unknown evaluator(s) {unknown}; known: {list(EVALUATORS)}")
    args.names = args.names or list(EVALUATORS)
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    metas = [train_one(n) for n in args.names]
    print(f"total {time.perf_counter() - t0:.0f}s\nEVALUATORS values:")
    for m in metas:
        print(f'  {m["name"]!r}: test_accuracy={m["test_accuracy"]}, sha256="{m["sha256"]}"')


if __name__ == "__main__":
    main()
