"""Metrics on classifier outputs: Inception Score and class-histogram diversity.

* Inception Score -- Salimans et al. 2016, "Improved Techniques for Training GANs":
  ``IS = exp(E_x KL(p(y|x) || p(y)))`` with ``p(y)`` the marginal over the split, reported as mean and
  std over ``splits`` disjoint splits (as in the original implementation).
* Class diversity -- histogram of predicted classes, its entropy and KL divergence to the uniform
  distribution (the mode-coverage measure of e.g. Metz et al. 2017 / Srivastava et al. 2017 on
  stacked/plain MNIST: number of classes covered and KL(p_class || uniform)).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["inception_score", "class_diversity"]


def _as_array(x: Any) -> np.ndarray:
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _xlogx_ratio(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Elementwise ``p * log(p / q)`` with the convention ``0 * log(0 / q) = 0``."""
    out = np.zeros_like(p)
    pos = p > 0
    out[pos] = p[pos] * (np.log(p[pos]) - np.log(np.broadcast_to(q, p.shape)[pos]))
    return out


def inception_score(probs: Any, splits: int = 10) -> tuple[float, float]:
    """Inception Score (Salimans et al. 2016) of class probabilities ``probs [N, C]``.

    Returns ``(mean, std)`` of ``exp(mean_x KL(p(y|x) || p_split(y)))`` over ``splits`` contiguous splits
    (numpy.array_split). Rows must be probabilities (non-negative, summing to 1), not logits.
    """
    p = _as_array(probs).astype(np.float64)
    if p.ndim != 2 or p.shape[0] < 1 or p.shape[1] < 1:
        raise ValueError(f"probs must be a non-empty 2-D array [N, num_classes], got shape {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError("probs must be finite and non-negative (pass softmax probabilities, not logits)")
    if not np.allclose(p.sum(axis=1), 1.0, atol=1e-3):
        raise ValueError("each row of probs must sum to 1 (pass softmax probabilities, not logits)")
    if not 1 <= splits <= p.shape[0]:
        raise ValueError(f"splits must be in [1, N={p.shape[0]}], got {splits}")
    scores = []
    for part in np.array_split(p, splits, axis=0):
        py = part.mean(axis=0, keepdims=True)
        kl = _xlogx_ratio(part, py).sum(axis=1).mean()
        scores.append(math.exp(kl))
    scores_arr = np.asarray(scores)
    return float(scores_arr.mean()), float(scores_arr.std())


def class_diversity(probs_or_labels: Any, num_classes: int | None = None) -> dict:
    """Histogram of predicted classes and its spread.

    ``probs_or_labels`` is either class probabilities/logits ``[N, C]`` (the argmax is taken) or integer
    labels ``[N]``. ``num_classes`` defaults to ``C`` for 2-D input and ``max(label) + 1`` for labels.
    Returns ``{"histogram": list[int], "entropy": H (nats), "kl_to_uniform": log(K) - H,
    "classes_covered": #classes with >= 1 sample, "num_classes": K}``.
    """
    x = _as_array(probs_or_labels)
    if x.ndim == 2:
        if x.shape[1] < 1:
            raise ValueError("probs must have at least one class column")
        labels = np.argmax(x, axis=1)
        inferred = x.shape[1]
    elif x.ndim == 1:
        if x.size and not np.all(np.equal(np.mod(x, 1), 0)):
            raise ValueError("1-D input must hold integer class labels")
        labels = x.astype(np.int64)
        inferred = int(labels.max()) + 1 if labels.size else 0
    else:
        raise ValueError(f"expected probs [N, C] or labels [N], got shape {x.shape}")
    if labels.size == 0:
        raise ValueError("class_diversity needs at least one sample")
    k = inferred if num_classes is None else int(num_classes)
    if k < 1:
        raise ValueError(f"num_classes must be >= 1, got {k}")
    if labels.min() < 0 or labels.max() >= k:
        raise ValueError(f"labels must lie in [0, {k}), got range [{labels.min()}, {labels.max()}]")
    hist = np.bincount(labels, minlength=k)
    p = hist / hist.sum()
    nz = p[p > 0]
    entropy = float(-(nz * np.log(nz)).sum())
    return {
        "histogram": [int(c) for c in hist],
        "entropy": entropy,
        "kl_to_uniform": float(max(math.log(k) - entropy, 0.0)),
        "classes_covered": int((hist > 0).sum()),
        "num_classes": int(k),
    }
