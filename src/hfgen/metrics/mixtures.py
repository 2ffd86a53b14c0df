"""Mode-collapse scoring on synthetic Gaussian mixtures (2-D ring / grid benchmarks).

Protocol of VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al. 2018): a generated sample is
*high quality* if it lies within ``threshold * std`` (Euclidean; threshold 3 in both papers) of its
nearest mixture mean; a mode is *captured* if at least one high-quality sample is assigned to it.
PacGAN additionally reports the reverse KL divergence ``KL(q || p)`` between the distribution ``q``
of the generated samples over the modes and the true, uniform mode distribution ``p = 1/K``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["score_mixture"]


def score_mixture(samples: Any, means: Any, std: float, threshold: float = 3.0) -> dict:
    """Score samples of a K-mode Gaussian mixture with isotropic ``std`` (VEEGAN / PacGAN protocol).

    Returns ``{"modes": #captured modes, "num_modes": K, "high_quality_fraction": HQ / N,
    "reverse_kl": KL(q_hq || uniform)}`` where ``q_hq`` is the histogram of the high-quality samples
    over the K modes, normalised to sum 1, and ``KL = sum_{q_k > 0} q_k log(q_k K)`` (nats).
    Convention: with no high-quality sample at all ``reverse_kl = log(K)``, the value reached when
    every sample falls on a single mode (the worst finite case), so the result stays JSON friendly.
    A sample exactly at ``threshold * std`` counts as high quality.
    """
    x = np.asarray(samples, dtype=np.float64)
    mu = np.asarray(means, dtype=np.float64)
    if x.ndim == 1 and mu.ndim == 1:  # 1-D mixtures
        x, mu = x[:, None], mu[:, None]
    if x.ndim != 2 or mu.ndim != 2:
        raise ValueError(f"samples [N, D] and means [K, D] must be 2-D, got {x.shape} and {mu.shape}")
    if x.shape[1] != mu.shape[1]:
        raise ValueError(f"samples and means must share the dimension, got {x.shape[1]} and {mu.shape[1]}")
    if x.shape[0] < 1 or mu.shape[0] < 1:
        raise ValueError("need at least one sample and one mode")
    if not (std > 0 and math.isfinite(std)) or not threshold > 0:
        raise ValueError(f"std and threshold must be positive, got std={std}, threshold={threshold}")
    k = mu.shape[0]
    d2 = ((x[:, None, :] - mu[None, :, :]) ** 2).sum(axis=2)  # [N, K]
    nearest = d2.argmin(axis=1)
    dist = np.sqrt(d2[np.arange(x.shape[0]), nearest])
    hq = dist <= threshold * std
    counts = np.bincount(nearest[hq], minlength=k)
    n_hq = int(hq.sum())
    if n_hq == 0:
        reverse_kl = math.log(k)
    else:
        q = counts[counts > 0] / n_hq
        reverse_kl = float(max((q * np.log(q * k)).sum(), 0.0))
    return {
        "modes": int((counts > 0).sum()),
        "num_modes": int(k),
        "high_quality_fraction": n_hq / x.shape[0],
        "reverse_kl": float(reverse_kl),
    }
