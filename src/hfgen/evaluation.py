"""Evaluation of trained generators: a fixed, recorded protocol for FID / KID / IS / precision-recall /
density-coverage / class and mode coverage, reference floors, a mode-collapse monitor and the
``hfgen evaluate`` command.

* :class:`Evaluator` -- real features are extracted once (from up to ``num_samples`` real examples, a
  seeded random subset); calling it on a pipeline draws ``num_samples`` samples with a seeded
  ``torch.Generator`` (balanced class labels for class-conditional generators), extracts their
  features with the same network and returns ``{"metrics": {...}, "protocol": {...}}``. The protocol
  records everything needed to compare two numbers: data, sample counts, extractor and its sha256,
  resizing, seed, metric settings and library versions.
* :meth:`Evaluator.floors` -- the same metrics for real-vs-real (two disjoint halves of the real set)
  and noise-vs-real: the best and a bad value on this exact protocol, to judge a number against.
* :class:`CollapseMonitor` -- alarms when class / mode coverage, recall or FID degrade from their
  best during training, or when coverage stays below half after a third of training, and keeps
  track of the best step (for a ``best/`` export).
* :func:`cli_evaluate` -- ``hfgen evaluate --model DIR_OR_REPO --dataset NAME_OR_FOLDER ...``; a
  user's own Gaussian mixture is scored like ring8/grid25 with ``--mixture_centers FILE --mixture_std S``.

Feature extractors: the shipped digit classifiers (``"mnist5k"`` for 28x28, ``"digits"`` for 8x8
grey images, "classifier-FID"), the TF-FID Inception-v3 (``"inception"``, weights must be present
locally, see :func:`hfgen.metrics.load_fid_inception`) and ``"identity"`` (raw points, vector data).
FID values from different extractors are on different scales and must never be compared.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

__all__ = [
    "METRIC_NAMES",
    "EvaluationError",
    "Evaluator",
    "CollapseMonitor",
    "cli_evaluate",
    "format_table",
]

logger = logging.getLogger("hfgen.training")

#: metric groups accepted by :class:`Evaluator` (``"auto"`` picks a set that fits the data)
METRIC_NAMES = ("fid", "kid", "is", "pr", "coverage", "classes", "modes")
_FEATURE_METRICS = ("fid", "kid", "pr", "coverage")
_PROB_METRICS = ("is", "classes")
_AUTO_CLASSIFIER = ("fid", "kid", "is", "pr", "coverage", "classes")
_AUTO_GENERIC = ("fid", "kid", "pr", "coverage")
# Raw points have no feature network: FID/KID of two Gaussians fitted to 2-D points say little about
# mode coverage (a model with 4% high-quality samples scored FID 0.0016). Only when asked for.
_AUTO_VECTOR = ("pr", "coverage")
_CLASSIFIERS = ("mnist5k", "digits")
_EXTRACTORS = ("auto", "mnist5k", "digits", "inception", "identity")
_INCEPTION_LABEL = "inception-v3-tf-2015-12-05"
_INCEPTION_SIZE = 299


class EvaluationError(ValueError):
    """An evaluation setting that cannot work (unknown metric, metric that does not fit the data...)."""


# ----------------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------------


def _versions() -> dict[str, str | None]:
    from importlib import metadata

    import hfgen

    out: dict[str, str | None] = {"hfgen": hfgen.__version__}
    for package in ("torch", "diffusers", "transformers", "numpy"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:  # pragma: no cover - all are dependencies
            out[package] = None
    out["python"] = platform.python_version()
    return out


def _pipeline_num_classes(pipeline: Any) -> int:
    """Number of classes of a class-conditional generator (0 when unconditional or unknown)."""
    for owner in (getattr(pipeline, "gan_generator", None), pipeline):
        config = getattr(owner, "config", None)
        value = getattr(config, "num_classes", None) if config is not None else None
        if value is None and owner is pipeline:
            value = getattr(pipeline, "num_classes", None)
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            return int(value)
    return 0


def _pipeline_device(pipeline: Any) -> torch.device:
    device = getattr(pipeline, "device", None)
    try:
        return torch.device(device) if device is not None else torch.device("cpu")
    except (TypeError, RuntimeError):
        return torch.device("cpu")


def _as_float_dict(values: dict) -> dict:
    """JSON-friendly copy: numpy scalars to Python numbers."""
    out = {}
    for key, value in values.items():
        if isinstance(value, (np.integer,)):
            value = int(value)
        elif isinstance(value, (float, np.floating)):
            value = float(value) + 0.0  # also turns -0.0 into 0.0
        out[key] = value
    return out


class _Extractor:
    """Maps samples (images ``[N, C, H, W]`` in ``[-1, 1]`` or points ``[N, D]``) to features and,
    for classifiers, class probabilities."""

    def __init__(
        self,
        kind: str,
        device: torch.device,
        batch_size: int,
        inception_weights: str | None = None,
        inception_sha256: str | None = None,
    ) -> None:
        self.kind = kind
        self.device = device
        self.batch_size = int(batch_size)
        self.model = None
        self.input_size: int | None = None
        self.num_classes = 0
        if kind in _CLASSIFIERS:
            from hfgen.metrics.evaluators import EVALUATORS, load_evaluator

            info = EVALUATORS[kind]
            self.model = load_evaluator(kind, device=device)  # sha256-checked
            self.label = f"hfgen/{kind}_classifier"
            self.sha256 = info["sha256"]
            self.feature_dim = int(self.model.feature_dim)
            self.input_size = int(info["image_size"])
            self.num_classes = int(self.model.num_classes)
        elif kind == "inception":
            from hfgen.metrics.inception import _file_sha256, _resolve_weights, load_fid_inception

            path = _resolve_weights(inception_weights)  # FileNotFoundError with the download hint
            self.model = load_fid_inception(path, sha256=inception_sha256, device=device)
            self.label = _INCEPTION_LABEL
            self.sha256 = _file_sha256(path)
            self.feature_dim = 2048
            self.input_size = _INCEPTION_SIZE
            self.num_classes = 1008
        elif kind == "identity":
            self.label = "identity (raw points)"
            self.sha256 = None
            self.feature_dim = None
        else:  # "none": no feature metric requested
            self.label = "none"
            self.sha256 = None
            self.feature_dim = None

    def channels_note(self, num_channels: int | None) -> str:
        """How channels are adapted to the extractor's input."""
        if self.kind in _CLASSIFIERS and num_channels == 3:
            return "RGB averaged to grey"
        if self.kind == "inception" and num_channels == 1:
            return "grey repeated to 3 channels"
        return "as is"

    def resize_note(self, *sizes: int | None) -> str:
        """``"none"`` or ``"bilinear to SxS"`` for images of the given sides."""
        if self.input_size is None:
            return "none"
        if all(s == self.input_size for s in sizes if s is not None):
            return "none"
        return f"bilinear to {self.input_size}x{self.input_size}"

    @torch.no_grad()
    def __call__(self, samples: torch.Tensor) -> tuple[np.ndarray | None, np.ndarray | None]:
        """``(features float64 [N, d], probs float64 [N, K] or None)``."""
        if self.kind == "none":
            return None, None
        if self.kind == "identity":
            return samples.detach().double().cpu().reshape(len(samples), -1).numpy(), None
        if self.kind in _CLASSIFIERS:
            from hfgen.metrics.evaluators import evaluate_images

            out = evaluate_images(samples, self.kind, batch_size=self.batch_size, device=self.device, model=self.model)
            return out["features"], out["probs"]
        # Inception: 299x299 activations are large; keep the chunks small on CPU
        chunk = self.batch_size if self.device.type == "cuda" else min(self.batch_size, 50)
        feats, probs = [], []
        for start in range(0, len(samples), chunk):
            x = samples[start : start + chunk].to(self.device, torch.float32)
            if x.shape[1] == 1:
                x = x.repeat(1, 3, 1, 1)
            elif x.shape[1] != 3:
                raise EvaluationError(f"Inception features need 1 or 3 channels, got {x.shape[1]}")
            out = self.model(x)
            feats.append(out["pool"].double().cpu())
            probs.append(out["probs"].double().cpu())
        return torch.cat(feats).numpy(), torch.cat(probs).numpy()


# ----------------------------------------------------------------------------------------------------
# Evaluator
# ----------------------------------------------------------------------------------------------------


class Evaluator:
    """Evaluates generators against a real dataset with a fixed, recorded protocol.

    Args:
        dataset: an embedded name (``"digits"``, ``"mnist5k"``, ``"ring8"``, ``"grid25"``), a local
            image folder / Hub id (loaded with :func:`hfgen.data.load_train_dataset`), or a
            :class:`~hfgen.data.GenDataset`.
        metrics: any of :data:`METRIC_NAMES` or ``"auto"``: ``["modes"]`` for ring8/grid25, all
            but ``"modes"`` with a digit classifier, fid/kid/pr/coverage otherwise.
        num_samples: generated samples per evaluation, and the maximum number of real examples
            (a random subset chosen with ``seed`` when the dataset is larger).
        seed: seeds the real subset, the sampling ``torch.Generator``, KID subsets and floors.
        batch_size: generation and feature-extraction batch size.
        extractor: ``"auto"`` (``"mnist5k"`` for 28x28 grey images, ``"digits"`` for 8x8, the
            classifier of that name for the mnist5k/digits datasets at other sizes, ``"identity"``
            for vectors, ``"inception"`` otherwise), or one of those names explicitly.
        inception_weights: path of the TF-FID Inception weights (else ``$HFGEN_INCEPTION_WEIGHTS``
            or the torch hub cache); a missing file raises ``FileNotFoundError``.
        inception_sha256: expected sha256 (or prefix) of those weights (default: the published one).
        dataset_kwargs: extra arguments of ``load_train_dataset`` when ``dataset`` is a string.
        device: where extractors run (default: CUDA when available).
        kid_subsets, kid_subset_size, pr_k, coverage_k, is_splits, mixture_threshold: metric
            settings, recorded in the protocol.
    """

    def __init__(
        self,
        dataset: Any,
        metrics: Sequence[str] = ("auto",),
        num_samples: int = 2000,
        seed: int = 0,
        batch_size: int = 500,
        extractor: str = "auto",
        inception_weights: str | None = None,
        *,
        inception_sha256: str | None = None,
        dataset_kwargs: dict | None = None,
        device: str | torch.device | None = None,
        kid_subsets: int = 100,
        kid_subset_size: int = 1000,
        pr_k: int = 3,
        coverage_k: int = 5,
        is_splits: int = 10,
        mixture_threshold: float = 3.0,
        mixture_centers: Any = None,
        mixture_std: float | None = None,
    ) -> None:
        from hfgen.data import GenDataset, load_train_dataset
        from hfgen.data.mixtures import MIXTURES, mixture_spec

        if isinstance(metrics, str):
            metrics = [m.strip() for m in metrics.split(",") if m.strip()]
        if int(batch_size) < 1:
            raise EvaluationError(f"--batch_size must be >= 1, got {batch_size}")
        if extractor not in _EXTRACTORS:
            raise EvaluationError(f"--extractor {extractor!r} is unknown; choose one of {list(_EXTRACTORS)}")
        self.num_samples = int(num_samples)
        self.seed = int(seed)
        self.batch_size = int(batch_size)
        self.device = torch.device(device) if device is not None else torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.settings = {
            "kid_subsets": int(kid_subsets),
            "kid_subset_size": int(kid_subset_size),
            "pr_k": int(pr_k),
            "coverage_k": int(coverage_k),
            "is_splits": int(is_splits),
            "mixture_threshold": float(mixture_threshold),
        }

        # -- data -----------------------------------------------------------------------------
        if isinstance(dataset, GenDataset):
            data = dataset
            self.dataset_name = dataset.name or "GenDataset"
        elif isinstance(dataset, (str, os.PathLike)):
            kwargs = dict(dataset_kwargs or {})
            name = os.fspath(dataset)
            if name in MIXTURES:
                kwargs.setdefault("num_samples", self.num_samples)
                kwargs.setdefault("seed", self.seed)
            data = load_train_dataset(name, **kwargs)
            self.dataset_name = name
        else:
            raise EvaluationError(f"dataset must be a name, a path or a GenDataset, got {type(dataset).__name__}")
        self.kind = data.kind
        self.data_conversion = data.conversion_note() if hasattr(data, "conversion_note") else None
        self.mixture = data.name if data.kind == "vector" and data.name in MIXTURES else None
        self.mixture_means, self.mixture_std = mixture_spec(self.mixture) if self.mixture else (None, None)
        if (mixture_centers is None) != (mixture_std is None):
            raise EvaluationError("the mixture protocol needs both --mixture_centers FILE and --mixture_std S (mixture_centers=, mixture_std=)")
        if mixture_centers is not None:
            self._set_mixture(data, mixture_centers, mixture_std)
        real = data.tensors[data.primary_key]
        if len(real) > self.num_samples:
            rng = np.random.default_rng(self.seed)
            keep = np.sort(rng.choice(len(real), size=self.num_samples, replace=False))
            real = real[torch.from_numpy(keep).to(real.device)]
        real = real.detach().float().cpu()
        self.n_real = int(len(real))
        self.sample_shape = tuple(real.shape[1:])
        self.real_image_size = int(real.shape[-1]) if self.kind == "image" else None
        self.real_channels = int(real.shape[1]) if self.kind == "image" else None

        # -- extractor and metrics --------------------------------------------------------------
        if extractor == "auto":
            extractor = self._auto_extractor(data)
        if self.kind == "vector" and extractor != "identity":
            raise EvaluationError(f"--extractor {extractor!r} needs images; vector data uses 'identity' (or leave --extractor auto)")
        if self.kind == "image" and extractor == "identity":
            raise EvaluationError("--extractor identity is for vector data; use mnist5k, digits or inception (or leave --extractor auto)")
        self.metrics = self._resolve_metrics(metrics, extractor)
        # One minimum for every metric, checked here, before any feature is extracted.
        need = self.min_samples(self.metrics, self.settings)
        if self.num_samples < need:
            raise EvaluationError(
                f"--num_samples {self.num_samples} is too small for metrics {self.metrics}: at least {need} are needed"
                + (" (k-NN metrics need more than k samples)" if need > 4 else "")
                + " (in training: --eval_samples / --final_eval_samples)."
            )
        if self.n_real < need:
            raise EvaluationError(f"the dataset has {self.n_real} examples; metrics {self.metrics} need at least {need}.")
        needs_features = any(m in _FEATURE_METRICS or m in _PROB_METRICS for m in self.metrics)
        self.extractor = _Extractor(
            extractor if needs_features else "none",
            self.device,
            self.batch_size,
            inception_weights=inception_weights,
            inception_sha256=inception_sha256,
        )
        self.real_features, self.real_probs = self.extractor(real)
        self.real_points = real.double().numpy() if self.kind == "vector" else None
        self._floors: dict | None = None

    # -- setup --------------------------------------------------------------------------------

    @staticmethod
    def min_samples(metrics: Sequence[str], settings: dict | None = None) -> int:
        """The fewest samples (generated, and real) ``metrics`` accept: 4, or k + 1 for the k-NN metrics."""
        settings = settings or {"pr_k": 3, "coverage_k": 5}
        ks = [int(settings[k]) for m, k in (("pr", "pr_k"), ("coverage", "coverage_k")) if m in metrics]
        return max([4] + [k + 1 for k in ks])

    def _set_mixture(self, data: Any, centers: Any, std: Any) -> None:
        """A user's own mixture: centres (array, or a .npy/.csv file) and the isotropic std of its modes."""
        from hfgen.data import DataError
        from hfgen.data.points import read_points

        source = "mixture centres"
        if isinstance(centers, (str, os.PathLike)):
            source = os.fspath(centers)
            if not os.path.isfile(source):
                raise EvaluationError(f"--mixture_centers {source!r} does not exist; pass a .npy or .csv file of K centres (one a row).")
            try:
                centers, _ = read_points(source)
            except DataError as error:
                raise EvaluationError(f"--mixture_centers: {error}") from error
        means = np.asarray(centers, dtype=np.float64)
        if means.ndim != 2 or len(means) < 1 or not np.isfinite(means).all():
            raise EvaluationError(f"{source}: the mixture centres must be finite numbers of shape [K, D], got {means.shape}.")
        try:
            std = float(std)
        except (TypeError, ValueError):
            raise EvaluationError(f"--mixture_std must be a number, got {std!r}.") from None
        if not (std > 0 and math.isfinite(std)):
            raise EvaluationError(f"--mixture_std must be a positive number, got {std}.")
        if data.kind != "vector":
            raise EvaluationError("--mixture_centers scores points; this dataset holds images.")
        if means.shape[1] != data.data_dim:
            raise EvaluationError(
                f"{source} holds {means.shape[1]}-D centres but the data are {data.data_dim}-D points: pass centres of the same dimension."
            )
        self.mixture = f"custom ({len(means)} modes from {os.path.basename(source)})"
        self.mixture_means, self.mixture_std = means, std

    @staticmethod
    def _auto_extractor(data: Any) -> str:
        if data.kind == "vector":
            return "identity"
        channels, size = data.tensors["pixel_values"].shape[1], data.tensors["pixel_values"].shape[-1]
        if channels == 1 and size == 28:
            return "mnist5k"
        if channels == 1 and size == 8:
            return "digits"
        if data.name in _CLASSIFIERS:
            return data.name
        return "inception"

    def _resolve_metrics(self, metrics: Sequence[str], extractor: str) -> list[str]:
        requested = list(metrics) or ["auto"]
        out: list[str] = []
        for name in requested:
            name = name.strip().lower()
            if name == "auto":
                if self.mixture:
                    group = ("modes",)
                elif extractor == "identity":
                    group = _AUTO_VECTOR
                elif extractor in _CLASSIFIERS:
                    group = _AUTO_CLASSIFIER
                else:
                    group = _AUTO_GENERIC
            elif name in METRIC_NAMES:
                group = (name,)
            else:
                raise EvaluationError(f"--metrics: unknown metric {name!r}; choose from {list(METRIC_NAMES)} or 'auto'")
            out += [g for g in group if g not in out]
        for name in out:
            if name == "modes" and not self.mixture:
                raise EvaluationError(
                    "metric 'modes' needs a Gaussian mixture: the embedded ring8/grid25, or your own with "
                    "--mixture_centers FILE --mixture_std S"
                )
            if name in _PROB_METRICS and extractor == "identity":
                raise EvaluationError(f"metric {name!r} needs a classifier; vector data has none")
            if name == "classes" and extractor == "inception":
                raise EvaluationError(
                    "metric 'classes' needs a digit classifier (extractor mnist5k or digits); Inception's 1008 "
                    "ImageNet classes do not describe this data"
                )
        return [m for m in METRIC_NAMES if m in out]

    # -- protocol -----------------------------------------------------------------------------

    def protocol(self, n_generated: int | None = None, generated_size: int | None = None,
                 generated_channels: int | None = None) -> dict:
        """The evaluation protocol: data, counts, extractor (+ sha256), resizing, seed, settings, versions."""
        settings: dict[str, Any] = {}
        if "kid" in self.metrics:
            settings["kid_subsets"] = self.settings["kid_subsets"]
            n_gen = self.num_samples if n_generated is None else int(n_generated)
            settings["kid_subset_size"] = min(self.settings["kid_subset_size"], self.n_real, n_gen)
        if "pr" in self.metrics:
            settings["pr_k"] = self.settings["pr_k"]
        if "coverage" in self.metrics:
            settings["coverage_k"] = self.settings["coverage_k"]
        if "is" in self.metrics:
            settings["is_splits"] = self.settings["is_splits"]
            settings["is_split_order"] = "seeded shuffle"
        if "modes" in self.metrics:
            settings["mixture_threshold"] = self.settings["mixture_threshold"]
            settings["mixture_std"] = self.mixture_std
            settings["mixture_num_modes"] = int(len(self.mixture_means))
            settings["mixture"] = self.mixture
        channels = {self.real_channels, generated_channels} - {None}
        return {
            "dataset": self.dataset_name,
            "n_real": self.n_real,
            "n_generated": int(self.num_samples if n_generated is None else n_generated),
            "metrics": list(self.metrics),
            "extractor": self.extractor.label,
            "extractor_sha256": self.extractor.sha256,
            "feature_dim": self.extractor.feature_dim,
            "resize": self.extractor.resize_note(self.real_image_size, generated_size),
            "channels": ", ".join(sorted({self.extractor.channels_note(c) for c in channels})) or "as is",
            "real_data_conversion": self.data_conversion or "none",
            "seed": self.seed,
            "metric_settings": settings,
            "versions": _versions(),
        }

    # -- sampling -------------------------------------------------------------------------------

    @torch.no_grad()
    def generate(self, pipeline: Any, class_labels: Any = None) -> torch.Tensor:
        """Draw ``num_samples`` samples from ``pipeline`` in batches with a seeded ``torch.Generator``.

        ``pipeline(batch_size=..., generator=..., output_type="pt"[, class_labels=...])`` must return
        an object with ``.images`` (or a tuple): NCHW images in ``[0, 1]`` (returned here in ``[-1, 1]``)
        or points ``[N, D]``. For a class-conditional generator the labels default to the balanced
        ``arange(num_samples) % num_classes``; pass ``class_labels`` (int or ``num_samples`` labels)
        to choose them.
        """
        n = self.num_samples
        num_classes = _pipeline_num_classes(pipeline)
        labels = None
        if num_classes:
            if class_labels is None:
                labels = torch.arange(n) % num_classes
            elif isinstance(class_labels, (int, np.integer)):
                labels = torch.full((n,), int(class_labels), dtype=torch.long)
            else:
                labels = torch.as_tensor(class_labels, dtype=torch.long).flatten()
                if len(labels) != n:
                    raise EvaluationError(f"got {len(labels)} class_labels for num_samples={n}")
        elif class_labels is not None:
            raise EvaluationError("this generator is unconditional: do not pass class_labels")
        generator = torch.Generator(device=_pipeline_device(pipeline)).manual_seed(self.seed)
        chunks = []
        for start in range(0, n, self.batch_size):
            b = min(self.batch_size, n - start)
            kwargs: dict[str, Any] = {"batch_size": b, "generator": generator, "output_type": "pt"}
            if labels is not None:
                kwargs["class_labels"] = labels[start : start + b]
            out = pipeline(**kwargs)
            x = out.images if hasattr(out, "images") else out[0]
            x = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
            x = x.detach().float().cpu()
            if x.dim() == 4:
                x = x * 2.0 - 1.0
            chunks.append(x)
        return torch.cat(chunks)

    # -- metrics --------------------------------------------------------------------------------

    def _compute(
        self,
        real_feats: np.ndarray | None,
        fake_feats: np.ndarray | None,
        fake_probs: np.ndarray | None,
        fake_points: np.ndarray | None,
    ) -> tuple[dict, dict]:
        from hfgen import metrics as M

        s = self.settings
        out: dict[str, Any] = {}
        details: dict[str, Any] = {}
        if "fid" in self.metrics:
            out["fid"] = M.fid_from_features(real_feats, fake_feats)
        if "kid" in self.metrics:
            size = min(s["kid_subset_size"], len(real_feats), len(fake_feats))
            out["kid_mean"], out["kid_std"] = M.kid_from_features(
                real_feats, fake_feats, subsets=s["kid_subsets"], subset_size=size, seed=self.seed
            )
        if "is" in self.metrics:
            # seeded shuffle first: IS splits must not depend on the sample order (e.g. sorted labels)
            order = np.random.default_rng(self.seed).permutation(len(fake_probs))
            out["inception_score_mean"], out["inception_score_std"] = M.inception_score(
                fake_probs[order], splits=min(s["is_splits"], len(fake_probs))
            )
        if "pr" in self.metrics:
            out.update(M.precision_recall(real_feats, fake_feats, k=s["pr_k"]))
        if "coverage" in self.metrics:
            out.update(M.density_coverage(real_feats, fake_feats, k=s["coverage_k"]))
        if "classes" in self.metrics:
            div = M.class_diversity(fake_probs, num_classes=self.extractor.num_classes)
            out["classes_covered"] = div["classes_covered"]
            out["class_entropy"] = div["entropy"]
            out["class_kl_to_uniform"] = div["kl_to_uniform"]
            details["class_histogram"] = div["histogram"]
        if "modes" in self.metrics:
            res = M.score_mixture(fake_points, self.mixture_means, self.mixture_std, threshold=s["mixture_threshold"])
            out.update(res)
        return _as_float_dict(out), details

    def _check_samples(self, samples: torch.Tensor) -> torch.Tensor:
        x = samples if isinstance(samples, torch.Tensor) else torch.as_tensor(np.asarray(samples))
        x = x.detach().float().cpu()
        if self.kind == "image" and x.dim() != 4:
            raise EvaluationError(f"the dataset holds images; expected samples [N, C, H, W], got {tuple(x.shape)}")
        if self.kind == "vector" and (x.dim() != 2 or tuple(x.shape[1:]) != self.sample_shape):
            raise EvaluationError(f"the dataset holds points {self.sample_shape}; got samples {tuple(x.shape)}")
        if len(x) < 4:
            raise EvaluationError(f"need at least 4 samples, got {len(x)}")
        if not torch.isfinite(x).all():
            raise EvaluationError("the generated samples contain NaN or inf")
        return x

    def evaluate_samples(self, samples: Any) -> dict:
        """Metrics of given samples (images ``[N, C, H, W]`` in ``[-1, 1]``, or points ``[N, D]``).

        Returns ``{"metrics": {flat name: number}, "protocol": {...}, "details": {...}}``.
        """
        x = self._check_samples(samples)
        feats, probs = self.extractor(x)
        points = x.double().numpy() if self.kind == "vector" else None
        values, details = self._compute(self.real_features, feats, probs, points)
        size = int(x.shape[-1]) if x.dim() == 4 else None
        channels = int(x.shape[1]) if x.dim() == 4 else None
        return {"metrics": values, "protocol": self.protocol(len(x), size, channels), "details": details}

    def __call__(self, pipeline: Any, class_labels: Any = None) -> dict:
        """Generate ``num_samples`` samples from ``pipeline`` (see :meth:`generate`) and evaluate them.

        Returns ``{"metrics": {flat name: float | int}, "protocol": {...}, "details": {...}}``;
        flat names: fid, kid_mean, kid_std, inception_score_mean, inception_score_std, precision,
        recall, density, coverage, classes_covered, class_entropy, class_kl_to_uniform, modes,
        num_modes, high_quality_fraction, reverse_kl (those of the selected metrics).
        """
        return self.evaluate_samples(self.generate(pipeline, class_labels))

    def floors(self) -> dict:
        """Reference values on this protocol (computed once, then cached).

        * ``"real_vs_real"``: metrics of one half of the real set against the other, disjoint half
          (a seeded split) -- about the best a generator can reach. FID is biased upward at small n,
          so at ``n_real / 2`` samples this floor is somewhat pessimistic; KID subsets are clipped to
          the half size (then every subset is the whole half and ``kid_std`` is 0);
        * ``"noise_vs_real"``: ``num_samples`` uniform-noise images in ``[-1, 1]`` (Gaussian points
          with the real data's per-coordinate mean and std for vector data) against the real set.

        Returns ``{"real_vs_real": {"metrics", "n_real", "n_generated"}, "noise_vs_real": {...},
        "protocol": {...}}``.
        """
        if self._floors is not None:
            return self._floors
        rng = np.random.default_rng(self.seed + 1)
        perm = rng.permutation(self.n_real)
        half = self.n_real // 2
        need = self.min_samples(self.metrics, self.settings)
        if half < need:
            raise EvaluationError(
                f"--floors splits the {self.n_real} real examples into two halves of {half}; metrics {self.metrics} need "
                f"at least {need} in each: pass --num_samples {2 * need} or more (with as many real examples)."
            )
        a, b = perm[:half], perm[half : 2 * half]

        def _take(arr, idx):
            return None if arr is None else arr[idx]

        rr, rr_details = self._compute(
            _take(self.real_features, a), _take(self.real_features, b), _take(self.real_probs, b), _take(self.real_points, b)
        )
        gen = torch.Generator().manual_seed(self.seed + 2)
        n = self.num_samples
        if self.kind == "image":
            feats, probs = [], []
            for start in range(0, n, self.batch_size):
                m = min(self.batch_size, n - start)
                noise = torch.rand((m, *self.sample_shape), generator=gen) * 2.0 - 1.0
                f, p = self.extractor(noise)
                feats.append(f)
                probs.append(p)
            noise_feats = None if feats[0] is None else np.concatenate(feats)
            noise_probs = None if probs[0] is None else np.concatenate(probs)
            noise_points = None
        else:
            mean = torch.from_numpy(self.real_points.mean(axis=0))
            std = torch.from_numpy(self.real_points.std(axis=0))
            noise = mean + std * torch.randn((n, *self.sample_shape), generator=gen, dtype=torch.float64)
            noise_feats, noise_probs = self.extractor(noise)
            noise_points = noise.numpy()
        nr, nr_details = self._compute(self.real_features, noise_feats, noise_probs, noise_points)
        self._floors = {
            "real_vs_real": {
                "metrics": rr,
                "n_real": int(len(a)),
                "n_generated": int(len(b)),
                "kid_subset_size": min(self.settings["kid_subset_size"], half),
                "details": rr_details,
            },
            "noise_vs_real": {"metrics": nr, "n_real": self.n_real, "n_generated": n, "details": nr_details},
            "protocol": self.protocol(n, self.real_image_size, self.real_channels),
        }
        return self._floors


# ----------------------------------------------------------------------------------------------------
# CollapseMonitor
# ----------------------------------------------------------------------------------------------------

# signal (metric key) -> (direction: +1 when higher is better, human name)
_SIGNALS = {
    "classes_covered": (+1, "class coverage"),
    "modes": (+1, "mode coverage"),
    "recall": (+1, "recall"),
    "fid": (-1, "FID"),
}


def _flat_metrics(metrics: dict) -> dict:
    if isinstance(metrics, dict) and isinstance(metrics.get("metrics"), dict):
        return metrics["metrics"]
    return metrics


def _finite(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


class CollapseMonitor:
    """Raises alarms when evaluation metrics show mode collapse or degradation during training.

    Each :meth:`update` compares the metrics with their best values so far and alarms when

    * class coverage (``classes_covered``; ``modes`` for the 2-D mixtures) fell by ``>= coverage_drop``;
    * ``recall`` fell by ``>= recall_drop`` (absolute);
    * ``fid`` rose more than ``fid_rise`` (a fraction: 0.5 = +50%) above its best -- or above
      ``fid_floor`` when that is larger (a non-finite FID always counts as a rise);

    for ``patience`` consecutive updates; and once per signal when coverage *stays* low: the best
    ``modes`` (of ``num_modes``) or ``classes_covered`` (of ``num_classes``) so far is below
    ``low_coverage`` (a fraction: half) after ``low_after`` of training (a third of ``total_steps``;
    without ``total_steps``, from the ``min_evaluations``-th update on). A run that never covered
    anything has nothing to "fall" from: the drop alarm alone would stay silent. Alarms are returned and logged as warnings on the
    ``hfgen.training`` logger. The monitor also tracks ``best_fid`` and ``best_step`` (see
    :meth:`is_best`), and its state is a plain JSON-able dict (:meth:`state_dict`).

    Near the real-vs-real floor FID is mostly sampling noise: for digits at 2000 samples, real
    images drawn again score anywhere between 0.3 and 1.0, a "rise" of 240%. Pass
    ``fid_floor=evaluator.floors()["real_vs_real"]["metrics"]["fid"]`` so that rises are measured
    from ``max(best_fid, fid_floor)`` and such noise does not raise alarms.
    """

    def __init__(
        self,
        fid_rise: float = 0.5,
        coverage_drop: int = 2,
        recall_drop: float = 0.25,
        patience: int = 1,
        fid_floor: float | None = None,
        total_steps: int | None = None,
        low_coverage: float = 0.5,
        low_after: float = 1.0 / 3.0,
        min_evaluations: int = 3,
        num_classes: int = 10,
    ):
        if not fid_rise > 0:
            raise ValueError(f"fid_rise must be > 0, got {fid_rise}")
        if int(coverage_drop) < 1:
            raise ValueError(f"coverage_drop must be >= 1, got {coverage_drop}")
        if not 0 < recall_drop <= 1:
            raise ValueError(f"recall_drop must lie in (0, 1], got {recall_drop}")
        if int(patience) < 1:
            raise ValueError(f"patience must be >= 1, got {patience}")
        self.fid_rise = float(fid_rise)
        self.coverage_drop = int(coverage_drop)
        self.recall_drop = float(recall_drop)
        self.patience = int(patience)
        if fid_floor is not None and not (math.isfinite(float(fid_floor)) and float(fid_floor) >= 0):
            raise ValueError(f"fid_floor must be a finite number >= 0, got {fid_floor}")
        self.fid_floor = None if fid_floor is None else float(fid_floor)
        if not 0 < low_coverage <= 1 or not 0 <= low_after <= 1:
            raise ValueError(f"low_coverage must lie in (0, 1] and low_after in [0, 1], got {low_coverage}, {low_after}")
        if total_steps is not None and int(total_steps) < 1:
            raise ValueError(f"total_steps must be >= 1, got {total_steps}")
        self.total_steps = None if total_steps is None else int(total_steps)
        self.low_coverage = float(low_coverage)
        self.low_after = float(low_after)
        self.min_evaluations = int(min_evaluations)
        # The shipped digit classifiers (the only source of `classes_covered`) have 10 classes.
        self.num_classes = int(num_classes)
        self.evaluations = 0
        self.low_warned: list[str] = []
        self.best: dict[str, dict[str, float | int]] = {}  # signal -> {"value", "step"}
        self.strikes: dict[str, int] = {}
        self.best_fid: float | None = None
        self.best_step: int | None = None
        self._best_score: list | None = None  # [kind, values...]
        self.alarms: list[dict] = []

    # -- scoring ------------------------------------------------------------------------------

    @staticmethod
    def _score(metrics: dict) -> list | None:
        m = _flat_metrics(metrics)
        fid = _finite(m.get("fid"))
        if fid is not None:
            return ["fid", -fid]
        modes, hq = _finite(m.get("modes")), _finite(m.get("high_quality_fraction"))
        if modes is not None:
            return ["modes", modes, hq if hq is not None else 0.0]
        if hq is not None:
            return ["hq", hq]
        return None

    def is_best(self, metrics: dict) -> bool:
        """Whether ``metrics`` are (at least tied with) the best so far: lowest FID, or without FID
        most modes then highest high-quality fraction. Works before or after :meth:`update`."""
        score = self._score(metrics)
        if score is None:
            return False
        if self._best_score is None or self._best_score[0] != score[0]:
            return True
        return score[1:] >= self._best_score[1:]

    def _degraded(self, signal: str, value: float | None) -> tuple[bool, str]:
        best = self.best.get(signal)
        if value is None:
            if signal == "fid" and best is not None:
                return True, f"FID is not finite (best {best['value']:.4g} at step {best['step']})"
            return False, ""
        if best is None:
            return False, ""
        b = float(best["value"])
        if signal in ("classes_covered", "modes"):
            what = "classes" if signal == "classes_covered" else "modes"
            if b - value >= self.coverage_drop:
                return True, (
                    f"{_SIGNALS[signal][1]} fell to {value:g} {what} from its best of {b:g} (step {best['step']}; "
                    f"threshold: a drop of {self.coverage_drop})"
                )
        elif signal == "recall":
            if b - value >= self.recall_drop:
                return True, (
                    f"recall fell to {value:.3f} from its best of {b:.3f} (step {best['step']}; "
                    f"threshold: a drop of {self.recall_drop:g})"
                )
        elif signal == "fid":
            ref = max(b, self.fid_floor or 0.0)
            if value > ref * (1.0 + self.fid_rise):
                rise = f"{100.0 * (value / b - 1.0):.0f}%" if b > 0 else "infinitely"
                floor = f" of max(best, fid_floor={self.fid_floor:.4g})" if self.fid_floor is not None else ""
                return True, (
                    f"FID rose to {value:.4g}, {rise} above its best of {b:.4g} (step {best['step']}; "
                    f"threshold: +{100.0 * self.fid_rise:.0f}%{floor})"
                )
        return False, ""

    def update(self, step: int, metrics: dict) -> list[str]:
        """Record the metrics of ``step`` (a flat dict or an :class:`Evaluator` result); return alarms.

        Each alarm message names the signal (class coverage, mode coverage, recall or FID), the
        current and best values and the threshold; it is also logged with ``logger.warning``.
        """
        m = _flat_metrics(metrics)
        step = int(step)
        messages = []
        for signal, (direction, _) in _SIGNALS.items():
            if signal not in m:
                continue
            value = _finite(m[signal])
            bad, why = self._degraded(signal, value)
            self.strikes[signal] = self.strikes.get(signal, 0) + 1 if bad else 0
            if bad and self.strikes[signal] >= self.patience:
                msg = f"mode-collapse alarm at step {step}: {why}"
                if self.patience > 1:
                    msg += f" for {self.strikes[signal]} evaluations in a row"
                messages.append(msg)
                self.alarms.append({"step": step, "signal": signal, "message": msg})
            if value is not None:
                best = self.best.get(signal)
                if best is None or direction * (value - float(best["value"])) > 0:
                    self.best[signal] = {"value": value, "step": step}
        self.evaluations += 1
        for signal, why in self._stayed_low(step, m):
            msg = f"mode-collapse alarm at step {step}: {why}"
            messages.append(msg)
            self.alarms.append({"step": step, "signal": f"{signal}_low", "message": msg})
        if "fid" in self.best:
            self.best_fid = float(self.best["fid"]["value"])
        score = self._score(m)
        if score is not None and (
            self._best_score is None or self._best_score[0] != score[0] or score[1:] > self._best_score[1:]
        ):
            self._best_score = score
            self.best_step = step
        for msg in messages:
            logger.warning(msg)
        return messages

    def _stayed_low(self, step: int, m: dict) -> list[tuple[str, str]]:
        """(signal, reason) for coverage whose best so far is still below `low_coverage` of the total."""
        if self.total_steps is not None:
            late = step >= self.low_after * self.total_steps
            when = f"after {100 * self.low_after:.0f}% of training (step {step} of {self.total_steps})"
        else:
            late = self.evaluations >= self.min_evaluations
            when = f"after {self.evaluations} evaluations"
        out = []
        for signal, total, what in (("modes", _finite(m.get("num_modes")), "modes"),
                                    ("classes_covered", float(self.num_classes), "classes")):
            best = self.best.get(signal)
            if not late or best is None or not total or signal in self.low_warned:
                continue
            if float(best["value"]) < self.low_coverage * total:
                self.low_warned.append(signal)
                out.append((signal, (
                    f"{_SIGNALS[signal][1]} stayed low: at best {float(best['value']):g} of {total:g} {what} "
                    f"(step {best['step']}), fewer than {100 * self.low_coverage:.0f}%, {when}. The model never covered "
                    "the data: try another recipe (for vector data the default --preset auto) or more training"
                )))
        return out

    # -- state ----------------------------------------------------------------------------------

    def state_dict(self) -> dict:
        """Plain JSON-able state (settings, bests, strike counters, alarm history)."""
        return {
            "fid_rise": self.fid_rise,
            "coverage_drop": self.coverage_drop,
            "recall_drop": self.recall_drop,
            "patience": self.patience,
            "fid_floor": self.fid_floor,
            "best": {k: dict(v) for k, v in self.best.items()},
            "strikes": dict(self.strikes),
            "best_fid": self.best_fid,
            "best_step": self.best_step,
            "best_score": None if self._best_score is None else list(self._best_score),
            "alarms": [dict(a) for a in self.alarms],
            "total_steps": self.total_steps,
            "low_coverage": self.low_coverage,
            "low_after": self.low_after,
            "min_evaluations": self.min_evaluations,
            "num_classes": self.num_classes,
            "evaluations": self.evaluations,
            "low_warned": list(self.low_warned),
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore a :meth:`state_dict` (e.g. after resuming from a checkpoint)."""
        self.fid_rise = float(state.get("fid_rise", self.fid_rise))
        self.coverage_drop = int(state.get("coverage_drop", self.coverage_drop))
        self.recall_drop = float(state.get("recall_drop", self.recall_drop))
        self.patience = int(state.get("patience", self.patience))
        self.fid_floor = state.get("fid_floor", self.fid_floor)
        self.best = {k: dict(v) for k, v in state.get("best", {}).items()}
        self.strikes = {k: int(v) for k, v in state.get("strikes", {}).items()}
        self.best_fid = state.get("best_fid")
        self.best_step = state.get("best_step")
        score = state.get("best_score")
        self._best_score = None if score is None else list(score)
        self.alarms = [dict(a) for a in state.get("alarms", [])]
        self.total_steps = state.get("total_steps", self.total_steps)
        self.low_coverage = float(state.get("low_coverage", self.low_coverage))
        self.low_after = float(state.get("low_after", self.low_after))
        self.min_evaluations = int(state.get("min_evaluations", self.min_evaluations))
        self.num_classes = int(state.get("num_classes", self.num_classes))
        self.evaluations = int(state.get("evaluations", 0))
        self.low_warned = list(state.get("low_warned", []))


# ----------------------------------------------------------------------------------------------------
# CLI
# ----------------------------------------------------------------------------------------------------


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return str(int(value))
    v = float(value)
    if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
        return f"{v:.4e}"
    return f"{v:.4f}"


def format_table(result: dict, floors: dict | None = None) -> str:
    """Readable table of ``result["metrics"]`` (with floor columns when given) plus a protocol summary."""
    metrics = result["metrics"]
    header = ["metric", "value"]
    if floors is not None:
        header += ["real-vs-real", "noise-vs-real"]
    rows = []
    for name, value in metrics.items():
        row = [name, _fmt(value)]
        if floors is not None:
            row += [_fmt(floors["real_vs_real"]["metrics"].get(name)), _fmt(floors["noise_vs_real"]["metrics"].get(name))]
        rows.append(row)
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths)))]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
    p = result["protocol"]
    sha = p.get("extractor_sha256")
    lines += [
        "",
        f"dataset:    {p['dataset']}  (n_real={p['n_real']}, n_generated={p['n_generated']}, seed={p['seed']})",
        f"extractor:  {p['extractor']}" + (f"  sha256={sha[:16]}..." if sha else "")
        + (f"  feature_dim={p['feature_dim']}" if p.get("feature_dim") else ""),
        f"resize:     {p['resize']}; channels: {p.get('channels', 'as is')}",
        f"real data:  {p.get('real_data_conversion', 'none')} (before feature extraction)",
        f"settings:   {json.dumps(p['metric_settings'], sort_keys=True)}",
        "versions:   " + ", ".join(f"{k} {v}" for k, v in p["versions"].items()),
    ]
    if floors is not None:
        lines.append(
            f"floors:     real-vs-real = two disjoint halves of the real set "
            f"({floors['real_vs_real']['n_real']} vs {floors['real_vs_real']['n_generated']}); "
            f"noise-vs-real = {floors['noise_vs_real']['n_generated']} noise samples vs the real set"
        )
    return "\n".join(lines)


def _load_real_images(args: argparse.Namespace, image_size: int, channels: int):
    """The real images of ``hfgen evaluate``, at the model's size, with any conversion said aloud.

    Resizing to the model's size is what comparing the two needs: it is done, recorded in the protocol
    (``real_data_conversion``) and warned about. Converting channels changes what the data are (RGB
    photographs scored as grey ones), so it is refused unless ``--num_channels`` asks for it.
    """
    from hfgen.data import load_train_dataset

    names = {1: "grey (1 channel)", 3: "RGB (3 channels)"}
    data = load_train_dataset(args.dataset, image_size=image_size, num_channels=args.num_channels,
                              num_samples=args.num_samples, seed=args.seed)
    if data.num_channels != channels:
        raise EvaluationError(
            f"the model makes {names[channels]} images but {args.dataset} holds {names.get(data.num_channels)} images. "
            f"Evaluate against data like the model's, or pass --num_channels {channels} to convert the real images "
            "(the conversion is recorded in the protocol)."
        )
    note = data.conversion_note()
    if note:
        print(f"warning: the real images of {args.dataset} were {note} to match the model "
              "(recorded in the protocol as real_data_conversion).", file=sys.stderr)
    return data


def cli_evaluate(argv: list[str]) -> int:
    """``hfgen evaluate``: evaluate an exported pipeline against a dataset, print a table, write JSON.

    Returns the process exit code (0 on success, 2 on a usage / data / missing-weights error).
    """
    parser = argparse.ArgumentParser(
        prog="hfgen evaluate",
        description="Evaluate a saved GAN pipeline (FID/KID/IS/precision-recall/coverage/classes/modes) with a recorded protocol.",
    )
    parser.add_argument("--model", required=True, help="Exported pipeline folder or Hub repository.")
    parser.add_argument(
        "--dataset", required=True,
        help="Embedded name (digits, mnist5k, ring8, grid25), image folder, .npy/.csv file of points, saved dataset or Hub dataset.",
    )
    parser.add_argument("--metrics", default="auto", help=f"Comma-separated from {','.join(METRIC_NAMES)} or auto (default).")
    parser.add_argument("--num_samples", type=int, default=2000, help="Generated samples (and max real examples): at least 4, and k + 1 with the k-NN metrics (6 with coverage). Default 2000.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch_size", type=int, default=500)
    parser.add_argument("--extractor", default="auto", choices=list(_EXTRACTORS))
    parser.add_argument("--output", default=None, help="JSON path (default: <model>/eval_results.json for a local folder, else ./eval_results.json).")
    parser.add_argument("--floors", action="store_true", help="Also compute real-vs-real and noise-vs-real reference values.")
    parser.add_argument("--trust_remote_code", action="store_true", help="Only needed where hfgen does not provide the model classes.")
    parser.add_argument("--inception_weights", default=None, help="Path of pt_inception-2015-12-05-6726825d.pth.")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available).")
    parser.add_argument("--mixture_centers", default=None,
                        help="A .npy/.csv file of the K centres of your own Gaussian mixture: scores points with the PacGAN "
                             "protocol (modes covered, high-quality fraction within 3 std, reverse KL), as for ring8/grid25.")
    parser.add_argument("--mixture_std", type=float, default=None, help="The std of each mode of that mixture (with --mixture_centers).")
    parser.add_argument("--num_channels", type=int, default=None, choices=(1, 3),
                        help="Convert the real images to 1 (grey) or 3 (RGB) channels. Without it, real images whose channels "
                             "differ from the model's are refused rather than converted silently.")
    args = parser.parse_args(argv)

    from hfgen import GANPipeline
    from hfgen.data import DataError
    from hfgen.data.embedded import EMBEDDED_DATASETS

    output = args.output
    if output is None:
        output = os.path.join(args.model, "eval_results.json") if os.path.isdir(args.model) else "eval_results.json"
    try:
        pipe = GANPipeline.from_pretrained(args.model, trust_remote_code=args.trust_remote_code)
        device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
        pipe.to(device)
        config = pipe.gan_generator.config
        dataset = args.dataset
        if args.dataset not in EMBEDDED_DATASETS and getattr(config, "image_size", None):
            dataset = _load_real_images(args, int(config.image_size), int(config.num_channels))
        evaluator = Evaluator(
            dataset,
            metrics=args.metrics,
            num_samples=args.num_samples,
            seed=args.seed,
            batch_size=args.batch_size,
            extractor=args.extractor,
            inception_weights=args.inception_weights,
            device=device,
            mixture_centers=args.mixture_centers,
            mixture_std=args.mixture_std,
        )
        result = evaluator(pipe)
        floors = evaluator.floors() if args.floors else None
    except (EvaluationError, DataError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    num_classes = _pipeline_num_classes(pipe)
    report = {
        "model": args.model,
        "metrics": result["metrics"],
        "protocol": result["protocol"],
        "details": result["details"],
        "class_labels": "balanced: arange(num_samples) % num_classes" if num_classes else None,
    }
    if floors is not None:
        report["floors"] = floors
    folder = os.path.dirname(os.path.abspath(output))
    os.makedirs(folder, exist_ok=True)
    with open(output, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    print(f"Evaluation of {args.model} on {args.dataset}\n")
    print(format_table(result, floors))
    print(f"\nwrote {os.path.abspath(output)}")
    return 0
