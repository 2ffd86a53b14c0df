#!/usr/bin/env python
"""Train the small CNN classifiers shipped in ``src/hfgen/metrics/weights/`` (:mod:`hfgen.metrics.styled_digits`).

* ``domain_a`` / ``domain_b``: the digit classifiers of the two ``mnist5k-unpaired`` domains (plain digits,
  inked digits; :mod:`hfgen.data.styled_digits`), trained on the domain's 2250 training images, measured on
  its 250 held-out ones (CycleGAN's evaluators);
* ``shapes2textures``: the texture classifier of that paired data set (Pix2Pix's evaluator there), trained on
  the 3000 striped targets of the train split, 12 classes = shape x stripe orientation, measured on the 300
  test targets.

Each: random shifts of +-2 px (edge pixels repeated, so B's paper stays paper), Adam with a one-cycle
schedule. Writes ``<name>.safetensors`` and a JSON with the accuracy, the split, the recipe and the sha256.
CPU, one thread, a few minutes::

    python scripts/train_styled_digit_classifiers.py              # all three
    python scripts/train_styled_digit_classifiers.py shapes2textures
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from hfgen.data.styled_digits import DOMAIN_STYLES, NAME, TEST_PER_DOMAIN, load_styled_digits_domain
from hfgen.metrics.styled_digits import CLASSIFIER_FILES, StyledDigitClassifier

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "src" / "hfgen" / "metrics" / "weights"
EPOCHS, BATCH, LR, SHIFT = 12, 64, 3e-3, 2


def random_shift(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Shifts each image by random integers in [-SHIFT, SHIFT] (y and x), repeating the edge pixels."""
    n, c, h, w = x.shape
    padded = F.pad(x, (SHIFT,) * 4, mode="replicate")
    dy = torch.randint(0, 2 * SHIFT + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * SHIFT + 1, (n,), generator=generator)
    rows = dy[:, None] + torch.arange(h)[None]
    cols = dx[:, None] + torch.arange(w)[None]
    return padded[torch.arange(n)[:, None, None, None], torch.arange(c)[None, :, None, None], rows[:, None, :, None], cols[:, None, None, :]]


@torch.no_grad()
def accuracy(model, x, y) -> float:
    """Top-1 accuracy in eval mode."""
    model.eval()
    return float((model(x).argmax(1) == y).float().mean())


ORIENTATIONS = 4  # stripe orientations of shapes2textures (hfgen.data.paired_embedded.render_shapes2textures)


def training_data(domain: str) -> tuple:
    """(x_train, y_train, x_test, y_test, JSON fields) of a classifier: images float [N, 3, 32, 32] in [-1, 1]."""
    if domain == "shapes2textures":
        from hfgen.data.paired_embedded import shapes2textures_split

        def split(name):
            _, textures, shape, orientation = shapes2textures_split(name)
            return textures.float() / 127.5 - 1.0, shape * ORIENTATIONS + orientation

        x_tr, y_tr = split("train")
        x_te, y_te = split("test")
        return x_tr, y_tr, x_te, y_te, {
            "name": "shapes2textures/targets", "content_groups": ORIENTATIONS,
            "classes": "4 * shape (0 circle, 1 square, 2 triangle) + stripe orientation (0 vertical, 1 horizontal, 2-3 diagonal); "
                       "classify_domain reports the 3 shapes' probabilities",
            "split": "shapes2textures train split (3000 targets); held out: its test split (300)"}
    train, test = load_styled_digits_domain(domain, "train"), load_styled_digits_domain(domain, "test")
    return train.tensors["pixel_values"], train.tensors["labels"], test.tensors["pixel_values"], test.tensors["labels"], {
        "name": f"{NAME}/{domain}", "domain_style": DOMAIN_STYLES[domain],
        "split": f"mnist5k split in two halves of 2500 (numpy default_rng(0) permutation); the first {TEST_PER_DOMAIN} of "
                 "each half held out (split='test')"}


def train_one(domain: str) -> dict:
    """Trains, measures and writes one classifier; returns its JSON record."""
    from safetensors.torch import save_file

    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    x_tr, y_tr, x_te, y_te, fields = training_data(domain)
    num_classes = int(y_tr.max()) + 1
    model = StyledDigitClassifier(num_classes=num_classes)
    opt = torch.optim.Adam(model.parameters(), lr=LR, weight_decay=1e-4)
    steps = (len(x_tr) + BATCH - 1) // BATCH
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, epochs=EPOCHS, steps_per_epoch=steps)
    t0 = time.process_time()
    for epoch in range(EPOCHS):
        model.train()
        perm = torch.randperm(len(x_tr), generator=gen)
        for s in range(0, len(x_tr), BATCH):
            idx = perm[s : s + BATCH]
            loss = F.cross_entropy(model(random_shift(x_tr[idx], gen)), y_tr[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        print(f"[{domain}] epoch {epoch + 1}/{EPOCHS} loss {loss.item():.3f} held-out acc {accuracy(model, x_te, y_te):.4f}", flush=True)
    acc = accuracy(model, x_te, y_te)
    path = WEIGHTS_DIR / f"{CLASSIFIER_FILES[domain]}.safetensors"
    save_file({k: v.detach().contiguous() for k, v in model.state_dict().items()}, str(path), metadata={"format": "pt"})
    path.chmod(0o644)
    meta = {
        **{k: v for k, v in fields.items() if k != "split"},
        "image_size": 32,
        "num_channels": 3,
        "num_classes": num_classes,
        "feature_dim": model.feature_dim,
        "test_accuracy": round(acc, 6),
        "n_train": len(x_tr),
        "n_test": len(x_te),
        "split": fields["split"],
        "augmentation": f"random integer shifts of +-{SHIFT} px (edge pixels repeated)",
        "training": f"Adam(wd=1e-4) OneCycle max_lr={LR}, {EPOCHS} epochs, batch {BATCH}, seed 0, 1 CPU thread",
        "training_cpu_seconds": round(time.process_time() - t0, 1),
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "arch": StyledDigitClassifier.__doc__.splitlines()[0],
    }
    (WEIGHTS_DIR / f"{CLASSIFIER_FILES[domain]}.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"[{domain}] held-out accuracy {acc:.4f}; sha256 {meta['sha256']}", flush=True)
    return meta


def main(argv=None) -> None:
    """Trains the requested classifiers (default: all)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("domains", nargs="*", help=f"{', '.join(CLASSIFIER_FILES)} (default: all)")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    unknown = sorted(set(args.domains) - set(CLASSIFIER_FILES))
    if unknown:
        parser.error(f"unknown classifier(s) {unknown}; choose from {list(CLASSIFIER_FILES)}")
    torch.set_num_threads(args.threads)
    for domain in args.domains or CLASSIFIER_FILES:
        train_one(domain)


if __name__ == "__main__":
    main()
