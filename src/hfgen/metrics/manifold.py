"""k-NN manifold metrics on feature sets.

* Improved precision / recall -- Kynkäänniemi et al. 2019, "Improved Precision and Recall Metric for
  Assessing Generative Models": each sample's manifold ball has the radius of its k-th nearest
  neighbour within its own set; precision = fraction of fake samples inside some real ball, recall =
  fraction of real samples inside some fake ball (inclusive ``<=``, as in their reference code).
* Density / coverage -- Naeem et al. 2020, "Reliable Fidelity and Diversity Metrics for Generative
  Models": density = ``1/(k M) sum_j sum_i 1[Y_j in B(X_i, NND_k(X_i))]``, coverage = fraction of real
  samples whose ball contains at least one fake sample (strict ``<``, as in their ``prdc`` code).

Distances are Euclidean, computed in float64 in row chunks so memory stays ``O(chunk * n)``.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .distances import _check_pair

__all__ = ["precision_recall", "density_coverage"]

_CHUNK = 1024


def _sq_dists(a: np.ndarray, b: np.ndarray, b_sq: np.ndarray) -> np.ndarray:
    d = (a * a).sum(axis=1)[:, None] + b_sq[None, :] - 2.0 * (a @ b.T)
    np.maximum(d, 0.0, out=d)
    return d


def _kth_nn_sq_radii(x: np.ndarray, k: int) -> np.ndarray:
    """Squared distance of every row of ``x`` to its k-th nearest other row."""
    n = x.shape[0]
    x_sq = (x * x).sum(axis=1)
    radii = np.empty(n, dtype=np.float64)
    for start in range(0, n, _CHUNK):
        stop = min(start + _CHUNK, n)
        d = _sq_dists(x[start:stop], x, x_sq)
        d[np.arange(stop - start), np.arange(start, stop)] = 0.0  # self sits at rank 0
        radii[start:stop] = np.partition(d, k, axis=1)[:, k]
    return radii


def _reduce_balls(
    query: np.ndarray, centres: np.ndarray, sq_radii: np.ndarray, op: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """Apply ``op`` to the [chunk, n_centres] matrix of squared distances for each query chunk."""
    c_sq = (centres * centres).sum(axis=1)
    out = []
    for start in range(0, query.shape[0], _CHUNK):
        out.append(op(_sq_dists(query[start : start + _CHUNK], centres, c_sq)))
    return np.concatenate(out)


def _check_k(k: int, *sizes: int) -> None:
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if k >= min(sizes):
        raise ValueError(f"k={k} must be smaller than the number of samples in each set ({min(sizes)})")


def precision_recall(real: Any, fake: Any, k: int = 3) -> dict:
    """Improved precision and recall (Kynkäänniemi et al. 2019) with k-NN manifolds.

    Returns ``{"precision": float, "recall": float}``.
    """
    r, f = _check_pair(real, fake, min_rows=2)
    _check_k(k, r.shape[0], f.shape[0])
    r_rad = _kth_nn_sq_radii(r, k)
    f_rad = _kth_nn_sq_radii(f, k)
    in_real = _reduce_balls(f, r, r_rad, lambda d: (d <= r_rad[None, :]).any(axis=1))
    in_fake = _reduce_balls(r, f, f_rad, lambda d: (d <= f_rad[None, :]).any(axis=1))
    return {"precision": float(in_real.mean()), "recall": float(in_fake.mean())}


def density_coverage(real: Any, fake: Any, k: int = 5) -> dict:
    """Density and coverage (Naeem et al. 2020) with k-NN balls around the real samples.

    Returns ``{"density": float, "coverage": float}``; density can exceed 1.
    """
    r, f = _check_pair(real, fake, min_rows=2)
    _check_k(k, r.shape[0])
    if f.shape[0] < 1:
        raise ValueError("fake needs at least one sample")
    r_rad = _kth_nn_sq_radii(r, k)
    # for every fake sample: number of real balls containing it
    counts = _reduce_balls(f, r, r_rad, lambda d: (d < r_rad[None, :]).sum(axis=1))
    # for every real sample: squared distance to its nearest fake sample
    nearest_fake = _reduce_balls(r, f, np.empty(0), lambda d: d.min(axis=1))
    density = counts.sum() / (k * f.shape[0])
    coverage = (nearest_fake < r_rad).mean()
    return {"density": float(density), "coverage": float(coverage)}
