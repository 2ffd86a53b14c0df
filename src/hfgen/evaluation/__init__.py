"""Evaluation of trained generators: a fixed, recorded protocol for FID / KID / IS / precision-recall /
density-coverage / class and mode coverage / condition accuracy / paired L1-PSNR-SSIM, reference floors,
a mode-collapse monitor and the ``hfgen evaluate`` command.

The parts, one small module each:

* :mod:`.features` -- :class:`FeatureExtractor`: which network maps which data to features (digit
  classifiers, TF-FID Inception-v3, raw points); the metric math itself is :mod:`hfgen.metrics`;
* :mod:`.reference` -- :class:`ReferenceSet`: the real features of one set (one per domain / target),
  its floors (real-vs-real, noise-vs-real) and the protocol of how it was built;
* :mod:`.scores` -- the metric groups (:data:`METRIC_NAMES`), how ``"auto"`` resolves, and the scores:
  distribution metrics, :func:`condition_accuracy`, :func:`paired_scores` (L1/PSNR/SSIM);
* :mod:`.samplers` -- how samples are drawn from a duck-typed pipeline: :class:`NoiseSampler` (noise
  -> image), :class:`ImageToImageSampler` (``image=``), :class:`PromptSampler` (``prompt=``), and the
  number-of-steps sweep of diffusion pipelines (:meth:`Evaluator.sweep_steps`);
* :mod:`.evaluator` -- :class:`Evaluator`, which ties them together: ``Evaluator(dataset, metrics=...,
  num_samples=..., seed=...)``, ``evaluator(pipeline)``, ``evaluator.floors()``;
* :mod:`.image2image` -- image-to-image translation: :class:`~.image2image.TranslationEvaluator` (paired
  L1/PSNR/SSIM, FID and content accuracy on a shipped classifier; Pix2Pix) and, one per direction plus the
  cycle L1, :class:`~.image2image.CycleGANEvaluator`; the ``--input`` reader and input|output grid of
  ``hfgen sample`` for both families;
* :mod:`.monitor` -- :class:`CollapseMonitor`: alarms when class / mode coverage, recall or FID degrade
  from their best during training, or when coverage stays below half after a third of training;
* :mod:`.cli` -- :func:`cli_evaluate`: ``hfgen evaluate --model DIR_OR_REPO --dataset NAME_OR_FOLDER
  ...``; a user's own Gaussian mixture is scored like ring8/grid25 with ``--mixture_centers FILE
  --mixture_std S``; ``--steps 10,25,50`` sweeps a diffusion pipeline's step count.

FID values from different extractors are on different scales and must never be compared.
"""

from ._common import EvaluationError
from .cli import cli_evaluate, format_sweep, format_table
from .evaluator import Evaluator
from .features import CLASSIFIERS, EXTRACTORS, FeatureExtractor, auto_extractor
from .monitor import CollapseMonitor
from .reference import ReferenceSet
from .samplers import ImageToImageSampler, NoiseSampler, PromptSampler, Sampler, Samples
from .scores import METRIC_NAMES, condition_accuracy, paired_scores

__all__ = [
    "CLASSIFIERS",
    "EXTRACTORS",
    "METRIC_NAMES",
    "CollapseMonitor",
    "EvaluationError",
    "Evaluator",
    "FeatureExtractor",
    "ImageToImageSampler",
    "NoiseSampler",
    "PromptSampler",
    "ReferenceSet",
    "Sampler",
    "Samples",
    "auto_extractor",
    "cli_evaluate",
    "condition_accuracy",
    "format_sweep",
    "format_table",
    "paired_scores",
]
