"""Evaluation metrics for generative models.

* :mod:`.distances` -- FID (Heusel et al. 2017) and KID (Binkowski et al. 2018) on feature sets;
* :mod:`.classification` -- Inception Score (Salimans et al. 2016) and class-histogram diversity;
* :mod:`.manifold` -- precision / recall (Kynkäänniemi et al. 2019), density / coverage (Naeem et al. 2020);
* :mod:`.mixtures` -- mode coverage on Gaussian mixtures (VEEGAN / PacGAN protocol);
* :mod:`.paired` -- L1, PSNR and SSIM (Wang et al. 2004) between outputs and their paired targets;
* :mod:`.inception` -- the TF-FID Inception-v3 in plain torch and its weight loader;
* :mod:`.evaluators` -- small digit classifiers shipped for the embedded data ("classifier-FID");
* :mod:`.shapes` -- the attribute evaluator of the embedded shapes data (colour, shape, position; "shapes-FID").

Names are resolved lazily, so ``import hfgen.metrics`` does not import torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_LAZY = {
    "feature_stats": ".distances",
    "fid_from_stats": ".distances",
    "fid_from_features": ".distances",
    "kid_from_features": ".distances",
    "inception_score": ".classification",
    "class_diversity": ".classification",
    "precision_recall": ".manifold",
    "density_coverage": ".manifold",
    "score_mixture": ".mixtures",
    "l1_distance": ".paired",
    "psnr": ".paired",
    "ssim": ".paired",
    "FIDInceptionV3": ".inception",
    "load_fid_inception": ".inception",
    "FID_INCEPTION_SHA256": ".inception",
    "FID_WEIGHTS_URL": ".inception",
    "EVALUATORS": ".evaluators",
    "load_evaluator": ".evaluators",
    "evaluate_images": ".evaluators",
    "DigitClassifier": ".evaluators",
    "ShapesNet": ".shapes",
    "load_shapes_evaluator": ".shapes",
    "score_attributes": ".shapes",
    "predict_attributes": ".shapes",
    "evaluate_shapes": ".shapes",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hfgen.metrics' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(__all__) | set(globals()))


if TYPE_CHECKING:  # pragma: no cover
    from .classification import class_diversity, inception_score
    from .evaluators import EVALUATORS, DigitClassifier, evaluate_images, load_evaluator
    from .distances import feature_stats, fid_from_features, fid_from_stats, kid_from_features
    from .inception import FID_INCEPTION_SHA256, FID_WEIGHTS_URL, FIDInceptionV3, load_fid_inception
    from .manifold import density_coverage, precision_recall
    from .mixtures import score_mixture
    from .paired import l1_distance, psnr, ssim
    from .shapes import ShapesNet, evaluate_shapes, load_shapes_evaluator, predict_attributes, score_attributes
