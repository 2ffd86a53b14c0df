"""Scores: which metrics exist, how a request is resolved, and how each is computed from features.

Metric groups (names of ``--metrics``; flat result keys in brackets):

* distribution metrics against a :class:`~hfgen.evaluation.ReferenceSet`: ``fid``, ``kid``
  [kid_mean, kid_std], ``is`` [inception_score_mean, inception_score_std], ``pr`` [precision, recall],
  ``coverage`` [density, coverage], ``classes`` [classes_covered, class_entropy, class_kl_to_uniform],
  ``modes`` [modes, num_modes, high_quality_fraction, reverse_kl] (Gaussian mixtures);
* metrics that need what the sampler requested: ``accuracy`` [condition_accuracy] -- the classifier's
  accuracy on the generated samples against the labels they were generated for (class-conditional
  generators; also the content check of a translation whose source label is known), and ``paired``
  [l1, psnr, ssim] -- each output against its own target (paired image-to-image), on ``[0, 1]`` images.

The metric math itself lives in :mod:`hfgen.metrics`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ._common import EvaluationError, as_float_dict
from .features import CLASSIFIERS

__all__ = [
    "METRIC_NAMES",
    "auto_sampler_metrics",
    "condition_accuracy",
    "distribution_scores",
    "min_samples",
    "paired_scores",
    "resolve_metrics",
]

#: metric groups accepted by :class:`~hfgen.evaluation.Evaluator` (``"auto"`` picks a set that fits the data)
METRIC_NAMES = ("fid", "kid", "is", "pr", "coverage", "classes", "modes", "accuracy", "paired")
FEATURE_METRICS = ("fid", "kid", "pr", "coverage")
PROB_METRICS = ("is", "classes", "accuracy")
_AUTO_CLASSIFIER = ("fid", "kid", "is", "pr", "coverage", "classes")
_AUTO_GENERIC = ("fid", "kid", "pr", "coverage")
# Raw points have no feature network: FID/KID of two Gaussians fitted to 2-D points say little about
# mode coverage (a model with 4% high-quality samples scored FID 0.0016). Only when asked for.
_AUTO_VECTOR = ("pr", "coverage")


def resolve_metrics(requested: Sequence[str], extractor: str, mixture: str | None, kind: str = "image") -> list[str]:
    """The metric groups of a request (in :data:`METRIC_NAMES` order), checked against the data.

    ``"auto"``: ``modes`` for a Gaussian mixture, pr/coverage for other points, all classifier metrics
    with a digit classifier, fid/kid/pr/coverage otherwise. The sampler metrics that ``"auto"`` also
    computes when the samples allow it are :func:`auto_sampler_metrics`.
    """
    out: list[str] = []
    for name in list(requested) or ["auto"]:
        name = name.strip().lower()
        if name == "auto":
            if mixture:
                group: tuple = ("modes",)
            elif extractor == "identity":
                group = _AUTO_VECTOR
            elif extractor in CLASSIFIERS:
                group = _AUTO_CLASSIFIER
            else:
                group = _AUTO_GENERIC
        elif name in METRIC_NAMES:
            group = (name,)
        else:
            raise EvaluationError(f"--metrics: unknown metric {name!r}; choose from {list(METRIC_NAMES)} or 'auto'")
        out += [g for g in group if g not in out]
    for name in out:
        if name == "modes" and not mixture:
            raise EvaluationError(
                "metric 'modes' needs a Gaussian mixture: the embedded ring8/grid25, or your own with "
                "--mixture_centers FILE --mixture_std S"
            )
        if name in PROB_METRICS and extractor == "identity":
            raise EvaluationError(f"metric {name!r} needs a classifier; vector data has none")
        if name in ("classes", "accuracy") and extractor == "inception":
            raise EvaluationError(
                f"metric {name!r} needs a digit classifier (extractor mnist5k or digits); Inception's 1008 "
                "ImageNet classes do not describe this data"
            )
        if name == "paired" and kind != "image":
            raise EvaluationError("metric 'paired' (L1/PSNR/SSIM) compares images; this dataset holds points")
    return [m for m in METRIC_NAMES if m in out]


def auto_sampler_metrics(requested: Sequence[str], extractor: str, kind: str, labels_are_classes: bool) -> list[str]:
    """The sampler metrics ``"auto"`` adds, computed only when the samples carry what they need.

    ``paired`` for images (when a sampler gives targets), ``accuracy`` with a digit classifier whose
    classes are the data's labels (when a sampler gives the labels it asked for: a class-conditional
    generator). They stay out of :attr:`Evaluator.metrics`, so that an unconditional, unpaired
    evaluation reports exactly the metrics it did before these existed.
    """
    if "auto" not in [m.strip().lower() for m in requested] and list(requested):
        return []
    out = []
    if extractor in CLASSIFIERS and labels_are_classes:
        out.append("accuracy")
    if kind == "image":
        out.append("paired")
    return out


def min_samples(metrics: Sequence[str], settings: dict | None = None) -> int:
    """The fewest samples (generated, and real) ``metrics`` accept: 4, or k + 1 for the k-NN metrics."""
    settings = settings or {"pr_k": 3, "coverage_k": 5}
    ks = [int(settings[k]) for m, k in (("pr", "pr_k"), ("coverage", "coverage_k")) if m in metrics]
    return max([4] + [k + 1 for k in ks])


def distribution_scores(
    metrics: Sequence[str],
    settings: dict,
    seed: int,
    real_feats: np.ndarray | None,
    fake_feats: np.ndarray | None,
    fake_probs: np.ndarray | None,
    fake_points: np.ndarray | None,
    num_classes: int = 0,
    mixture_means: np.ndarray | None = None,
    mixture_std: float | None = None,
) -> tuple[dict, dict]:
    """``(flat metrics, details)`` of generated features against real ones, for the distribution groups."""
    from hfgen import metrics as M

    s = settings
    out: dict[str, Any] = {}
    details: dict[str, Any] = {}
    if "fid" in metrics:
        out["fid"] = M.fid_from_features(real_feats, fake_feats)
    if "kid" in metrics:
        size = min(s["kid_subset_size"], len(real_feats), len(fake_feats))
        out["kid_mean"], out["kid_std"] = M.kid_from_features(
            real_feats, fake_feats, subsets=s["kid_subsets"], subset_size=size, seed=seed
        )
    if "is" in metrics:
        # seeded shuffle first: IS splits must not depend on the sample order (e.g. sorted labels)
        order = np.random.default_rng(seed).permutation(len(fake_probs))
        out["inception_score_mean"], out["inception_score_std"] = M.inception_score(
            fake_probs[order], splits=min(s["is_splits"], len(fake_probs))
        )
    if "pr" in metrics:
        out.update(M.precision_recall(real_feats, fake_feats, k=s["pr_k"]))
    if "coverage" in metrics:
        out.update(M.density_coverage(real_feats, fake_feats, k=s["coverage_k"]))
    if "classes" in metrics:
        div = M.class_diversity(fake_probs, num_classes=num_classes)
        out["classes_covered"] = div["classes_covered"]
        out["class_entropy"] = div["entropy"]
        out["class_kl_to_uniform"] = div["kl_to_uniform"]
        details["class_histogram"] = div["histogram"]
    if "modes" in metrics:
        out.update(M.score_mixture(fake_points, mixture_means, mixture_std, threshold=s["mixture_threshold"]))
    return as_float_dict(out), details


def condition_accuracy(probs: Any, labels: Any) -> tuple[dict, dict]:
    """Accuracy of a classifier's predictions (``argmax`` of ``probs [N, K]``) against the requested labels.

    Returns ``({"condition_accuracy": a}, {"condition_accuracy_per_class": [a_0, ..., a_{K-1}]})``
    (``None`` for a class that was never requested).
    """
    p = np.asarray(probs)
    y = torch.as_tensor(labels).long().flatten().cpu().numpy()
    if p.ndim != 2 or len(p) != len(y):
        raise EvaluationError(f"condition accuracy needs one label per sample: got {len(y)} labels for {len(p)} samples")
    if len(y) and (y.min() < 0 or y.max() >= p.shape[1]):
        raise EvaluationError(
            f"labels must lie in [0, {p.shape[1] - 1}] (the classifier's classes), got {int(y.min())}..{int(y.max())}"
        )
    hit = p.argmax(1) == y
    per_class = [float(hit[y == k].mean()) if (y == k).any() else None for k in range(p.shape[1])]
    return as_float_dict({"condition_accuracy": float(hit.mean())}), {"condition_accuracy_per_class": per_class}


def paired_scores(outputs: torch.Tensor, targets: torch.Tensor) -> tuple[dict, dict]:
    """Mean L1, PSNR (dB) and SSIM of each output against its own target (images in ``[-1, 1]``).

    Scored on ``[0, 1]`` images (``data_range=1``), as image-to-image papers report them. PSNR is the
    mean of the per-image values (``inf`` only when some output equals its target exactly).
    """
    from hfgen.metrics.paired import l1_distance, psnr, ssim

    x = (torch.as_tensor(outputs).double() + 1.0) / 2.0
    y = (torch.as_tensor(targets).double() + 1.0) / 2.0
    if x.shape != y.shape:
        raise EvaluationError(
            f"paired metrics compare each output with its target: got outputs {tuple(x.shape)} and targets {tuple(y.shape)}. "
            "Evaluate at the targets' resolution."
        )
    values = {"l1": float(l1_distance(x, y).mean()), "psnr": float(psnr(x, y).mean()), "ssim": float(ssim(x, y).mean())}
    return as_float_dict(values), {}
