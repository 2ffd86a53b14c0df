"""2-D Gaussian-mixture toy datasets ("ring8", "grid25") used to study mode collapse."""

from __future__ import annotations

import numpy as np

from .errors import InvalidArgumentError, UnknownDatasetError

# name -> spec. ``radius`` is the circle radius for rings and the largest |coordinate| for grids.
MIXTURES: dict[str, dict] = {
    "ring8": {"layout": "ring", "num_modes": 8, "radius": 1.0, "std": 0.01},
    "grid25": {"layout": "grid", "num_modes": 25, "radius": 4.0, "std": 0.05},
}


def _check_name(name: str) -> dict:
    try:
        return MIXTURES[name]
    except KeyError:
        raise UnknownDatasetError(
            f"Unknown Gaussian mixture {name!r}. Fix: use one of {sorted(MIXTURES)}."
        ) from None


def _mixture_means(name: str, radius: float | None = None) -> np.ndarray:
    """Return the ``[K, 2]`` float32 mode centres of mixture ``name`` (optionally rescaled)."""
    spec = _check_name(name)
    r = float(spec["radius"] if radius is None else radius)
    if not np.isfinite(r) or r <= 0:
        raise InvalidArgumentError(f"radius must be a positive number, got {radius!r}.")
    if spec["layout"] == "ring":
        k = spec["num_modes"]
        angles = 2.0 * np.pi * np.arange(k) / k
        means = np.stack([np.cos(angles), np.sin(angles)], axis=1) * r
    else:  # grid
        side = int(round(np.sqrt(spec["num_modes"])))
        axis = np.linspace(-r, r, side)
        xx, yy = np.meshgrid(axis, axis, indexing="ij")
        means = np.stack([xx.ravel(), yy.ravel()], axis=1)
    return means.astype(np.float32)


def mixture_spec(name: str) -> tuple[np.ndarray, float]:
    """Return ``(means [K, 2] float32, std)`` of the default mixture ``name``."""
    return _mixture_means(name), float(_check_name(name)["std"])


def sample_mixture(
    name: str, n: int, seed: int = 0, radius: float | None = None, std: float | None = None
) -> np.ndarray:
    """Draw ``n`` points (``[n, 2]`` float32) uniformly over the modes of mixture ``name``.

    ``radius`` rescales the layout (ring radius / grid half-width) and ``std`` overrides the
    per-mode isotropic standard deviation. Sampling is deterministic given ``seed``.
    """
    means = _mixture_means(name, radius)
    sigma = float(_check_name(name)["std"] if std is None else std)
    if not np.isfinite(sigma) or sigma < 0:
        raise InvalidArgumentError(f"std must be a non-negative number, got {std!r}.")
    n = int(n)
    if n < 0:
        raise InvalidArgumentError(f"n must be >= 0, got {n}.")
    rng = np.random.default_rng(seed)
    modes = rng.integers(0, len(means), size=n)
    noise = rng.standard_normal((n, 2))
    return (means[modes] + sigma * noise).astype(np.float32)
