"""Distribution distances between feature sets: Fréchet distance (FID) and kernel distance (KID).

* FID -- Heusel et al. 2017, "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash
  Equilibrium": the Fréchet (2-Wasserstein) distance between Gaussians fitted to the two feature sets,
  ``||mu1 - mu2||^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^{1/2})``.
* KID -- Binkowski et al. 2018, "Demystifying MMD GANs": the unbiased estimator of the squared MMD
  with the cubic polynomial kernel ``k(x, y) = (x.y / d + 1)^3``, averaged over random subsets.

The matrix square root is never formed. ``tr((S1 S2)^{1/2})`` is the sum of the square roots of the
eigenvalues of ``S1 S2``, and these are the eigenvalues of the symmetric PSD matrix
``F1^T S2 F1`` for any factor ``S1 = F1 F1^T`` (``XY`` and ``YX`` share their spectrum). Two exact
routes are used, whichever is cheaper for the shapes at hand (all in float64):

* covariance route (``n > d``): Cholesky factor of ``S1`` (eigendecomposition if ``S1`` is singular),
  one symmetric eigenvalue problem of size ``d``;
* Gram route (``n < d``): with ``A = X1c / sqrt(n1 - 1)`` and ``B = X2c / sqrt(n2 - 1)`` the centred
  data, ``S1 = A^T A``, ``S2 = B^T B`` and ``tr((S1 S2)^{1/2}) = ||A B^T||_*`` (nuclear norm of an
  ``n1 x n2`` matrix), so no ``d x d`` matrix is ever built.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

__all__ = ["feature_stats", "fid_from_stats", "fid_from_features", "kid_from_features"]


# ----------------------------------------------------------------------------------------------------
# input handling
# ----------------------------------------------------------------------------------------------------


def _as_float64(x: Any) -> np.ndarray:
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # torch tensor, without importing torch
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def _check_features(x: Any, name: str, min_rows: int = 2) -> np.ndarray:
    arr = _as_float64(x)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array [num_samples, feature_dim], got shape {arr.shape}")
    if arr.shape[0] < min_rows:
        raise ValueError(f"{name} needs at least {min_rows} samples, got {arr.shape[0]}")
    if arr.shape[1] < 1:
        raise ValueError(f"{name} has feature dimension 0")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    return arr


def _check_pair(real: Any, fake: Any, min_rows: int = 2) -> tuple[np.ndarray, np.ndarray]:
    r = _check_features(real, "real", min_rows)
    f = _check_features(fake, "fake", min_rows)
    if r.shape[1] != f.shape[1]:
        raise ValueError(
            f"real and fake features must have the same dimension, got {r.shape[1]} and {f.shape[1]}"
        )
    return r, f


# ----------------------------------------------------------------------------------------------------
# FID
# ----------------------------------------------------------------------------------------------------


def feature_stats(features: Any) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``[d]`` and unbiased covariance ``[d, d]`` (float64) of ``features [n, d]``."""
    return _stats(_check_features(features, "features"))


def _stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mu = x.mean(axis=0)
    xc = x - mu
    # `xc.T @ xc` is recognised by numpy as a symmetric rank-k update (syrk): half the flops of gemm.
    sigma = xc.T @ xc
    sigma /= x.shape[0] - 1
    return mu, sigma


def _psd_factor(torch: Any, s: Any) -> Any:
    """A factor ``F`` with ``s = F F^T``: Cholesky when ``s`` is positive definite, else from eigh."""
    chol, info = torch.linalg.cholesky_ex(s)
    if int(info) == 0:
        return chol
    w, v = torch.linalg.eigh(s)
    return v * w.clamp_min(0).sqrt()


def _trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """``tr((S1 S2)^{1/2})`` for symmetric PSD ``S1, S2`` via one symmetric eigenvalue problem."""
    import torch  # lazy: `import hfgen.metrics` stays cheap; torch's LAPACK (MKL) is fast here

    s1 = torch.from_numpy(np.ascontiguousarray(sigma1))
    s2 = torch.from_numpy(np.ascontiguousarray(sigma2))
    f1 = _psd_factor(torch, s1)
    m = f1.T @ (s2 @ f1)  # similar to S1 S2 up to the zero eigenvalues, symmetric PSD
    m = 0.5 * (m + m.T)
    ev = torch.linalg.eigvalsh(m).clamp_min(0)
    return float(ev.sqrt().sum())


def fid_from_stats(mu1: Any, sigma1: Any, mu2: Any, sigma2: Any) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2) (Heusel et al. 2017).

    ``||mu1 - mu2||^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^{1/2})``, computed exactly in float64 without a
    matrix square root. Tiny negative values from rounding are clipped to 0.
    """
    m1, m2 = _as_float64(mu1), _as_float64(mu2)
    s1, s2 = _as_float64(sigma1), _as_float64(sigma2)
    if m1.ndim != 1 or m2.ndim != 1 or m1.shape != m2.shape:
        raise ValueError(f"mu1 and mu2 must be 1-D of equal length, got {m1.shape} and {m2.shape}")
    d = m1.shape[0]
    for name, s in (("sigma1", s1), ("sigma2", s2)):
        if s.shape != (d, d):
            raise ValueError(f"{name} must have shape ({d}, {d}), got {s.shape}")
        if not np.all(np.isfinite(s)):
            raise ValueError(f"{name} contains NaN or inf")
    diff = m1 - m2
    tr_sqrt = _trace_sqrt_product(s1, s2)
    fid = float(diff @ diff) + float(np.trace(s1)) + float(np.trace(s2)) - 2.0 * tr_sqrt
    return max(fid, 0.0)


def _fid_gram(real: np.ndarray, fake: np.ndarray) -> float:
    """Gram route (cheap when n < d): ``tr((S1 S2)^{1/2}) = ||A B^T||_*`` with scaled centred data."""
    import torch

    mu1, mu2 = real.mean(axis=0), fake.mean(axis=0)
    a = (real - mu1) / np.sqrt(real.shape[0] - 1)
    b = (fake - mu2) / np.sqrt(fake.shape[0] - 1)
    cross = torch.from_numpy(a) @ torch.from_numpy(b).T  # [n1, n2]
    tr_sqrt = float(torch.linalg.svdvals(cross).sum())
    diff = mu1 - mu2
    fid = float(diff @ diff) + float(np.einsum("ij,ij->", a, a)) + float(np.einsum("ij,ij->", b, b))
    return max(fid - 2.0 * tr_sqrt, 0.0)


def fid_from_features(real: Any, fake: Any) -> float:
    """FID between two feature sets ``[n1, d]`` and ``[n2, d]`` (Heusel et al. 2017), exact, float64.

    Picks the cheaper exact route by shape: covariance + one ``d x d`` symmetric eigenproblem when the
    sets are large, or the nuclear norm of the ``n1 x n2`` cross-Gram matrix when ``n < d``.
    Warns (UserWarning) when a set has ``n <= d`` samples: its covariance is then singular and FID is
    strongly biased (use many more samples than feature dimensions).
    """
    r, f = _check_pair(real, fake)
    (n1, d), n2 = r.shape, f.shape[0]
    if min(n1, n2) <= d:
        warnings.warn(
            f"FID with n <= d (n_real={n1}, n_fake={n2}, d={d}): the covariance estimate is singular "
            "and the FID value is strongly biased; use more samples than feature dimensions.",
            UserWarning,
            stacklevel=2,
        )
    # rough flop counts of the two exact routes (the eigen/SVD solvers weighted as ~10 n^3)
    cost_cov = (n1 + n2) * d * d + 12 * d**3
    cost_gram = 2 * n1 * n2 * d + 10 * n1 * n2 * min(n1, n2)
    if cost_gram < cost_cov:
        return _fid_gram(r, f)
    mu1, s1 = _stats(r)
    mu2, s2 = _stats(f)
    return fid_from_stats(mu1, s1, mu2, s2)


# ----------------------------------------------------------------------------------------------------
# KID
# ----------------------------------------------------------------------------------------------------


def _poly_mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 with k(x, y) = (x.y/d + 1)^3 (Binkowski et al. 2018, eq. 3 / their code)."""
    m, d = x.shape
    kxx = (x @ x.T / d + 1.0) ** 3
    kyy = (y @ y.T / d + 1.0) ** 3
    kxy = (x @ y.T / d + 1.0) ** 3
    sum_xx = kxx.sum() - np.trace(kxx)  # off-diagonal terms only: the U-statistic
    sum_yy = kyy.sum() - np.trace(kyy)
    return float((sum_xx + sum_yy) / (m * (m - 1)) - 2.0 * kxy.sum() / (m * m))


def kid_from_features(
    real: Any, fake: Any, subsets: int = 100, subset_size: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """Kernel Inception Distance (Binkowski et al. 2018): mean and std of the unbiased polynomial-kernel
    MMD^2 over ``subsets`` random subsets of ``subset_size`` samples drawn without replacement from
    each set. ``subset_size`` is clipped (with a UserWarning) to ``min(n_real, n_fake)``.
    """
    r, f = _check_pair(real, fake)
    if subsets < 1:
        raise ValueError(f"subsets must be >= 1, got {subsets}")
    if subset_size < 2:
        raise ValueError(f"subset_size must be >= 2, got {subset_size}")
    m = min(subset_size, r.shape[0], f.shape[0])
    if m < subset_size:
        warnings.warn(
            f"KID subset_size={subset_size} exceeds the number of samples "
            f"(n_real={r.shape[0]}, n_fake={f.shape[0]}); using subset_size={m}",
            UserWarning,
            stacklevel=2,
        )
    rng = np.random.default_rng(seed)
    values = np.empty(subsets, dtype=np.float64)
    for i in range(subsets):
        xi = r[rng.choice(r.shape[0], m, replace=False)]
        yi = f[rng.choice(f.shape[0], m, replace=False)]
        values[i] = _poly_mmd2_unbiased(xi, yi)
    return float(values.mean()), float(values.std())
