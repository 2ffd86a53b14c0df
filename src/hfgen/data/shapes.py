"""The embedded ``shapes`` data: one coloured shape on a dark background, with captions.

4 colours x 3 shapes x 4 positions = 48 combinations, each image drawn with a random size and a small
jitter of its centre, anti-aliased (the shape's mask is drawn at 4x the resolution with PIL and
box-filtered down, so edge pixels blend shape and background). Everything is deterministic from a
seed. Six combinations (:data:`HELD_OUT`) never appear in the training split, so that a text-to-image
model can be tested on compositions it never saw; every colour, shape, position and every pair of
them still appears in training.

A combination's index is ``colour * 12 + shape * 4 + position`` (:func:`combination_index`): it is the
class label of the data, so a class-conditional GAN over the 48 combinations is the non-text baseline.

>>> sample = render_shapes(4, resolution=32, seed=0)
>>> sample.images.shape, sample.images.dtype
(torch.Size([4, 3, 32, 32]), torch.uint8)
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

__all__ = [
    "BACKGROUND",
    "CAPTION_TEMPLATES",
    "COLOURS",
    "COLOUR_RGB",
    "HELD_OUT",
    "NUM_COMBINATIONS",
    "POSITIONS",
    "SHAPES",
    "SHAPES_SPLITS",
    "TRAIN_COMBINATIONS",
    "ShapesSample",
    "caption_for",
    "combination_attributes",
    "combination_index",
    "combination_name",
    "load_shapes",
    "render_shapes",
]

#: colour names, in label order
COLOURS: tuple[str, ...] = ("red", "green", "blue", "yellow")
#: RGB (0..255) of each colour of :data:`COLOURS`; far apart in hue so the mean colour decides
COLOUR_RGB: tuple[tuple[int, int, int], ...] = ((220, 40, 40), (40, 180, 70), (50, 90, 230), (230, 210, 40))
#: shape names, in label order
SHAPES: tuple[str, ...] = ("circle", "square", "triangle")
#: position names (quadrant of the image the shape's centre lies in), in label order
POSITIONS: tuple[str, ...] = ("top left", "top right", "bottom left", "bottom right")
#: background colour (RGB 0..255)
BACKGROUND: tuple[int, int, int] = (0, 0, 0)
NUM_COMBINATIONS = len(COLOURS) * len(SHAPES) * len(POSITIONS)

#: (colour, shape, position) index triples never used for training. Chosen so that no colour-shape,
#: colour-position or shape-position pair is held out in all its combinations: each attribute and
#: each pair of attributes still appears in training.
HELD_OUT: tuple[tuple[int, int, int], ...] = (
    (0, 0, 0),  # red circle, top left
    (1, 1, 1),  # green square, top right
    (2, 2, 2),  # blue triangle, bottom left
    (3, 0, 3),  # yellow circle, bottom right
    (0, 2, 1),  # red triangle, top right
    (3, 1, 2),  # yellow square, bottom left
)

#: caption templates: several wordings of the same three attributes
CAPTION_TEMPLATES: tuple[str, ...] = (
    "a {colour} {shape} in the {position} corner",
    "{position}: {colour} {shape}",
    "a {colour} {shape} at the {position}",
    "{colour} {shape}, {position}",
    "there is a {colour} {shape} in the {position} of the image",
)

#: splits of :func:`load_shapes`
SHAPES_SPLITS: tuple[str, ...] = ("train", "heldout", "test", "all")
DEFAULT_TRAIN_SAMPLES = 12_000
DEFAULT_HELDOUT_SAMPLES = 1_200
DEFAULT_RESOLUTION = 32
_SUPERSAMPLE = 4
# Size = radius of the circle as a fraction of the image side; squares and triangles are scaled from
# it (see _draw_mask). Quadrant centres are at 1/4 and 3/4 of the side, jittered by up to _JITTER.
_SIZE_RANGE = (0.14, 0.20)
_JITTER = 0.03


def combination_index(colour: int, shape: int, position: int) -> int:
    """Index (0..47) of a (colour, shape, position) triple: ``colour * 12 + shape * 4 + position``."""
    return (int(colour) * len(SHAPES) + int(shape)) * len(POSITIONS) + int(position)


def combination_attributes(index: int) -> tuple[int, int, int]:
    """The (colour, shape, position) triple of a combination index (inverse of :func:`combination_index`)."""
    index = int(index)
    if not 0 <= index < NUM_COMBINATIONS:
        raise ValueError(f"combination index must be in 0..{NUM_COMBINATIONS - 1}, got {index}.")
    colour, rest = divmod(index, len(SHAPES) * len(POSITIONS))
    shape, position = divmod(rest, len(POSITIONS))
    return colour, shape, position


def combination_name(index: int) -> str:
    """Short name of a combination, e.g. ``"red circle, top left"`` (the class names of the data)."""
    c, s, p = combination_attributes(index)
    return f"{COLOURS[c]} {SHAPES[s]}, {POSITIONS[p]}"


_HELD_OUT_INDICES = frozenset(combination_index(*t) for t in HELD_OUT)
#: combination indices of the training split (the 42 not in :data:`HELD_OUT`)
TRAIN_COMBINATIONS: tuple[int, ...] = tuple(i for i in range(NUM_COMBINATIONS) if i not in _HELD_OUT_INDICES)


def caption_for(colour: int | str, shape: int | str, position: int | str, template: int = 0) -> str:
    """The caption of one combination in one of :data:`CAPTION_TEMPLATES` (attributes by index or name).

    >>> caption_for("red", "circle", "top left", template=1)
    'top left: red circle'
    """

    def _name(value, names, what):
        if isinstance(value, str):
            if value not in names:
                raise ValueError(f"unknown {what} {value!r}; choose one of {list(names)}.")
            return value
        return names[int(value)]

    return CAPTION_TEMPLATES[template].format(
        colour=_name(colour, COLOURS, "colour"), shape=_name(shape, SHAPES, "shape"),
        position=_name(position, POSITIONS, "position"),
    )


@dataclass
class ShapesSample:
    """What :func:`render_shapes` returns.

    ``images``: uint8 ``[N, 3, R, R]``; ``captions``: one list of captions (every template) per image;
    ``colour``, ``shape``, ``position``: int64 arrays ``[N]`` of attribute indices.
    """

    images: torch.Tensor
    captions: list[list[str]]
    colour: np.ndarray
    shape: np.ndarray
    position: np.ndarray

    @property
    def combination(self) -> np.ndarray:
        """Combination index of each image (:func:`combination_index`)."""
        return (self.colour * len(SHAPES) + self.shape) * len(POSITIONS) + self.position


def _draw_mask(shape: int, cx: float, cy: float, radius: float, side: int):
    """Anti-aliased coverage mask (float32 ``[side, side]`` in [0, 1]) of one shape.

    The shape is drawn at ``_SUPERSAMPLE`` times the size and box-filtered down: each pixel gets the
    fraction of it the shape covers. Square and triangle are scaled so their areas come close to the
    circle's (a square of side sqrt(pi) r has its area exactly), so size does not give the shape away.
    """
    from PIL import Image, ImageDraw

    big = side * _SUPERSAMPLE
    img = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(img)
    x, y, r = cx * big, cy * big, radius * big
    if shape == 0:
        draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    elif shape == 1:
        h = 0.886 * r
        draw.rectangle((x - h, y - h, x + h, y + h), fill=255)
    else:
        # equilateral, pointing up, circumradius 1.35 r, centred on its centroid
        R = 1.35 * r
        draw.polygon([(x, y - R), (x + 0.866 * R, y + 0.5 * R), (x - 0.866 * R, y + 0.5 * R)], fill=255)
    small = img.resize((side, side), Image.BOX)
    return np.asarray(small, dtype=np.float32) / 255.0


def render_shapes(
    num: int,
    resolution: int = DEFAULT_RESOLUTION,
    seed: int = 0,
    combinations: Sequence[int] | None = None,
) -> ShapesSample:
    """Draw ``num`` images of one coloured shape each, deterministically from ``seed``.

    ``combinations`` (indices, see :func:`combination_index`) restricts what is drawn (default: all
    48); the images cycle through them in a shuffled order, so every combination gets ``num / len``
    images up to one. Sizes and the jitter of the centre are random. ``resolution`` is the side in
    pixels (16, 32 and 64 are the supported ones; anything from 8 up renders).
    """
    num, resolution = int(num), int(resolution)
    if num < 0:
        raise ValueError(f"num must be >= 0, got {num}.")
    if resolution < 8:
        raise ValueError(f"resolution must be at least 8 pixels (16, 32 or 64), got {resolution}. Fix: pass --resolution 32.")
    combos = np.arange(NUM_COMBINATIONS) if combinations is None else np.asarray(list(combinations), dtype=np.int64)
    if combos.size == 0 or combos.min() < 0 or combos.max() >= NUM_COMBINATIONS:
        raise ValueError(f"combinations must be non-empty indices in 0..{NUM_COMBINATIONS - 1}, got {combos.tolist()}.")
    rng = np.random.default_rng(seed)
    # balanced: whole shuffled rounds of the combinations, then a shuffle of the images
    reps = -(-num // len(combos)) if num else 0
    chosen = rng.permutation(np.tile(combos, reps))[:num] if num else np.zeros(0, dtype=np.int64)
    colour, rest = np.divmod(chosen, len(SHAPES) * len(POSITIONS))
    shape, position = np.divmod(rest, len(POSITIONS))
    radius = rng.uniform(*_SIZE_RANGE, size=num)
    jitter = rng.uniform(-_JITTER, _JITTER, size=(num, 2))
    cx = np.where(position % 2 == 0, 0.25, 0.75) + jitter[:, 0]
    cy = np.where(position < 2, 0.25, 0.75) + jitter[:, 1]

    alpha = np.empty((num, resolution, resolution), dtype=np.float32)
    for i in range(num):
        alpha[i] = _draw_mask(int(shape[i]), float(cx[i]), float(cy[i]), float(radius[i]), resolution)
    fg = np.asarray(COLOUR_RGB, dtype=np.float32)[colour]  # [N, 3]
    bg = np.asarray(BACKGROUND, dtype=np.float32)
    # alpha-composite the colour over the background: edge pixels get intermediate values
    pixels = bg[None, :, None, None] + alpha[:, None] * (fg - bg)[:, :, None, None]
    images = torch.from_numpy(np.rint(pixels).clip(0, 255).astype(np.uint8))
    captions = [
        [caption_for(c, s, p, t) for t in range(len(CAPTION_TEMPLATES))]
        for c, s, p in zip(colour.tolist(), shape.tolist(), position.tolist())
    ]
    return ShapesSample(images, captions, colour.astype(np.int64), shape.astype(np.int64), position.astype(np.int64))


def _split_seed(seed: int, split: str) -> int:
    # each split draws its own images (a held-out image is never a re-coloured training one)
    return (int(seed) * 1_000_003 + zlib.crc32(split.encode())) % (2**32)


def load_shapes(
    split: str = "train",
    *,
    image_size: int | None = None,
    num_channels: int | None = None,
    num_samples: int | None = None,
    seed: int = 0,
):
    """The ``shapes`` data as a :class:`~hfgen.data.GenDataset` (what ``--dataset shapes`` loads).

    ``split``: ``"train"`` (12000 images of the 42 training combinations), ``"heldout"`` / ``"test"``
    (1200 images of the 6 :data:`HELD_OUT` ones), ``"all"`` (12000 of all 48). ``num_samples`` sets
    the number of images instead (``--max_train_samples``). Rows carry every caption template
    (a batch draws one per row), and ``labels`` = the combination index (48 classes).
    """
    from .dataset import GenDataset
    from .errors import InvalidArgumentError

    if split not in SHAPES_SPLITS:
        raise InvalidArgumentError(
            f"the shapes data has no split {split!r}. Fix: pass --dataset_split one of {list(SHAPES_SPLITS)}."
        )
    if num_channels not in (None, 3):
        raise InvalidArgumentError(
            f"the shapes data is coloured: num_channels={num_channels} would drop the colour the captions "
            "name. Fix: pass --num_channels 3 or leave it out."
        )
    resolution = DEFAULT_RESOLUTION if image_size is None else int(image_size)
    if resolution < 8:
        raise InvalidArgumentError(f"--resolution {resolution} is too small for shapes. Fix: pass 16, 32 or 64.")
    if split == "train":
        combos, default = TRAIN_COMBINATIONS, DEFAULT_TRAIN_SAMPLES
    elif split == "all":
        combos, default = tuple(range(NUM_COMBINATIONS)), DEFAULT_TRAIN_SAMPLES
    else:
        combos, default = tuple(sorted(_HELD_OUT_INDICES)), DEFAULT_HELDOUT_SAMPLES
    n = default if num_samples is None else int(num_samples)
    sample = render_shapes(n, resolution, seed=_split_seed(seed, "test" if split == "heldout" else split), combinations=combos)
    return GenDataset(
        {"pixel_values": sample.images, "labels": torch.from_numpy(sample.combination)},
        kind="image",
        num_classes=NUM_COMBINATIONS,
        class_names=[combination_name(i) for i in range(NUM_COMBINATIONS)],
        image_size=resolution,
        num_channels=3,
        texts=sample.captions,
        name="shapes",
    )
