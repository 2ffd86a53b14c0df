"""The :class:`Evaluator`: a fixed, recorded protocol that scores a pipeline against a reference set.

Real features are extracted once (a :class:`~hfgen.evaluation.ReferenceSet` of up to
``num_samples`` real examples, a seeded random subset); calling the evaluator on a pipeline draws
samples with a sampler (noise -> image by default: ``num_samples`` samples, a seeded
``torch.Generator``, balanced class labels for class-conditional generators), extracts their
features with the same network and returns ``{"metrics": {...}, "protocol": {...}, "details": {...}}``.
The protocol records everything needed to compare two numbers: data, sample counts, extractor and its
sha256, resizing, seed, metric settings and library versions.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from ._common import EvaluationError, versions
from .features import CLASSIFIERS, EXTRACTORS, FeatureExtractor, auto_extractor
from .reference import ReferenceSet, select_subset
from .samplers import NoiseSampler, Sampler, Samples, accepts_argument
from .scores import (
    FEATURE_METRICS,
    PROB_METRICS,
    auto_sampler_metrics,
    condition_accuracy,
    distribution_scores,
    min_samples,
    paired_scores,
    resolve_metrics,
)

__all__ = ["Evaluator"]


class Evaluator:
    """Evaluates generators against a real dataset with a fixed, recorded protocol.

    Args:
        dataset: an embedded name (``"digits"``, ``"mnist5k"``, ``"ring8"``, ``"grid25"``), a local
            image folder / Hub id (loaded with :func:`hfgen.data.load_train_dataset`), or a
            :class:`~hfgen.data.GenDataset`.
        metrics: any of :data:`~hfgen.evaluation.METRIC_NAMES` or ``"auto"``: ``["modes"]`` for
            ring8/grid25, all classifier metrics with a digit classifier, fid/kid/pr/coverage
            otherwise; ``"auto"`` also reports ``condition_accuracy`` for a class-conditional generator
            on the digit data and L1/PSNR/SSIM when a sampler gives paired targets.
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
        mixture_centers, mixture_std: a user's own Gaussian mixture (centres as an array or a
            .npy/.csv file, and the std of its modes), scored like ring8/grid25.
        sampler: how ``evaluator(pipeline)`` draws samples when no sampler is passed to the call
            (default: :meth:`default_sampler`, noise -> image). A task whose pipeline is not noise ->
            image, or that samples with fewer steps during training, sets it once here, e.g.
            ``NoiseSampler(n, batch, seed, call_kwargs={"num_inference_steps": 50})`` or an
            :class:`~hfgen.evaluation.ImageToImageSampler` over held-out pairs.
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
        sampler: Sampler | None = None,
    ) -> None:
        from hfgen.data import GenDataset, load_train_dataset
        from hfgen.data.mixtures import MIXTURES, mixture_spec

        if isinstance(metrics, str):
            metrics = [m.strip() for m in metrics.split(",") if m.strip()]
        if int(batch_size) < 1:
            raise EvaluationError(f"--batch_size must be >= 1, got {batch_size}")
        if extractor not in EXTRACTORS:
            raise EvaluationError(f"--extractor {extractor!r} is unknown; choose one of {list(EXTRACTORS)}")
        if sampler is not None and not callable(sampler):
            raise EvaluationError(f"sampler must be a Sampler (called with the pipeline), got {type(sampler).__name__}")
        self.sampler = sampler
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
        keep = select_subset(len(real), self.num_samples, self.seed)
        n_real = len(real) if keep is None else len(keep)

        # -- extractor and metrics --------------------------------------------------------------
        if extractor == "auto":
            extractor = auto_extractor(data)
        if self.kind == "vector" and extractor != "identity":
            raise EvaluationError(f"--extractor {extractor!r} needs images; vector data uses 'identity' (or leave --extractor auto)")
        if self.kind == "image" and extractor == "identity":
            raise EvaluationError("--extractor identity is for vector data; use mnist5k, digits, shapes or inception (or leave --extractor auto)")
        self.metrics = resolve_metrics(metrics, extractor, self.mixture, self.kind)
        # The digit classifiers' classes are the labels of the embedded digit data (digit d = label d);
        # a user's folder may number its classes otherwise, so only there is accuracy automatic.
        labels_are_classes = data.name in CLASSIFIERS and "labels" in data.tensors
        self.on_demand = [m for m in auto_sampler_metrics(metrics, extractor, self.kind, labels_are_classes)
                          if m not in self.metrics]
        # One minimum for every metric, checked here, before any feature is extracted.
        need = self.min_samples(self.metrics, self.settings)
        if self.num_samples < need:
            raise EvaluationError(
                f"--num_samples {self.num_samples} is too small for metrics {self.metrics}: at least {need} are needed"
                + (" (k-NN metrics need more than k samples)" if need > 4 else "")
                + " (in training: --eval_samples / --final_eval_samples)."
            )
        if n_real < need:
            raise EvaluationError(f"the dataset has {n_real} examples; metrics {self.metrics} need at least {need}.")
        needs_features = any(m in FEATURE_METRICS or m in PROB_METRICS for m in self.metrics + self.on_demand)
        self.extractor = FeatureExtractor(
            extractor if needs_features else "none",
            self.device,
            self.batch_size,
            inception_weights=inception_weights,
            inception_sha256=inception_sha256,
        )
        self.reference = ReferenceSet.from_dataset(data, self.extractor, self.num_samples, self.seed,
                                                   name=self.dataset_name, conversion=self.data_conversion)

    # -- the reference set, under the names the single-module evaluator had ----------------------

    @property
    def n_real(self) -> int:
        """Number of real examples compared with (at most ``num_samples``)."""
        return self.reference.n

    @property
    def sample_shape(self) -> tuple:
        return self.reference.sample_shape

    @property
    def real_image_size(self) -> int | None:
        return self.reference.image_size

    @property
    def real_channels(self) -> int | None:
        return self.reference.channels

    @property
    def real_features(self) -> np.ndarray | None:
        return self.reference.features

    @property
    def real_probs(self) -> np.ndarray | None:
        return self.reference.probs

    @property
    def real_points(self) -> np.ndarray | None:
        return self.reference.points

    # -- setup --------------------------------------------------------------------------------

    @staticmethod
    def min_samples(metrics: Sequence[str], settings: dict | None = None) -> int:
        """The fewest samples (generated, and real) ``metrics`` accept: 4, or k + 1 for the k-NN metrics."""
        return min_samples(metrics, settings)

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

    # -- protocol -----------------------------------------------------------------------------

    def protocol(self, n_generated: int | None = None, generated_size: int | None = None,
                 generated_channels: int | None = None, computed: Sequence[str] | None = None,
                 call_kwargs: dict | None = None) -> dict:
        """The evaluation protocol: data, counts, extractor (+ sha256), resizing, seed, settings, versions.

        ``computed``: the metric groups actually computed (default :attr:`metrics`); ``call_kwargs``:
        extra arguments the pipeline was called with (e.g. ``num_inference_steps``), recorded as ``sampler``.
        """
        metrics = list(self.metrics if computed is None else computed)
        settings: dict[str, Any] = {}
        if "kid" in metrics:
            settings["kid_subsets"] = self.settings["kid_subsets"]
            n_gen = self.num_samples if n_generated is None else int(n_generated)
            settings["kid_subset_size"] = min(self.settings["kid_subset_size"], self.n_real, n_gen)
        if "pr" in metrics:
            settings["pr_k"] = self.settings["pr_k"]
        if "coverage" in metrics:
            settings["coverage_k"] = self.settings["coverage_k"]
        if "is" in metrics:
            settings["is_splits"] = self.settings["is_splits"]
            settings["is_split_order"] = "seeded shuffle"
        if "modes" in metrics:
            settings["mixture_threshold"] = self.settings["mixture_threshold"]
            settings["mixture_std"] = self.mixture_std
            settings["mixture_num_modes"] = int(len(self.mixture_means))
            settings["mixture"] = self.mixture
        if "paired" in metrics:
            settings["paired"] = "on [0, 1] images; SSIM: Gaussian window 11 (sigma 1.5), K1 0.01, K2 0.03"
        channels = {self.real_channels, generated_channels} - {None}
        protocol = {
            "dataset": self.dataset_name,
            "n_real": self.n_real,
            "real_subset": self.reference.subset,
            "n_generated": int(self.num_samples if n_generated is None else n_generated),
            "metrics": metrics,
            "extractor": self.extractor.label,
            "extractor_sha256": self.extractor.sha256,
            "feature_dim": self.extractor.feature_dim,
            "resize": self.extractor.resize_note(self.real_image_size, generated_size),
            "channels": ", ".join(sorted({self.extractor.channels_note(c) for c in channels})) or "as is",
            "real_data_conversion": self.data_conversion or "none",
            "seed": self.seed,
            "metric_settings": settings,
            "versions": versions(),
        }
        if call_kwargs:
            protocol["sampler"] = {k: v if isinstance(v, (int, float, str, bool)) or v is None else repr(v)
                                   for k, v in call_kwargs.items()}
        return protocol

    # -- sampling -------------------------------------------------------------------------------

    def default_sampler(self, class_labels: Any = None) -> NoiseSampler:
        """noise -> image: ``num_samples`` samples in batches of ``batch_size``, seeded with ``seed``."""
        return NoiseSampler(self.num_samples, self.batch_size, self.seed, class_labels=class_labels)

    @torch.no_grad()
    def generate(self, pipeline: Any, class_labels: Any = None) -> torch.Tensor:
        """Draw ``num_samples`` samples from ``pipeline`` in batches with a seeded ``torch.Generator``.

        ``pipeline(batch_size=..., generator=..., output_type="pt"[, class_labels=...])`` must return
        an object with ``.images`` (or a tuple): NCHW images in ``[0, 1]`` (returned here in ``[-1, 1]``)
        or points ``[N, D]``. For a class-conditional generator the labels default to the balanced
        ``arange(num_samples) % num_classes``; pass ``class_labels`` (int or ``num_samples`` labels)
        to choose them. See :class:`~hfgen.evaluation.NoiseSampler`.
        """
        return self.default_sampler(class_labels)(pipeline).images

    # -- metrics --------------------------------------------------------------------------------

    def _score(self, metrics: Sequence[str], real_feats, fake_feats, fake_probs, fake_points, labels=None,
               fake_images=None, targets=None) -> tuple[dict, dict]:
        values, details = distribution_scores(
            metrics, self.settings, self.seed, real_feats, fake_feats, fake_probs, fake_points,
            num_classes=self.extractor.num_classes, mixture_means=self.mixture_means, mixture_std=self.mixture_std,
        )
        if "accuracy" in metrics and labels is not None and fake_probs is not None:
            acc, acc_details = condition_accuracy(fake_probs, labels)
            values.update(acc)
            details.update(acc_details)
        if "paired" in metrics and targets is not None:
            paired, _ = paired_scores(fake_images, targets)
            values.update(paired)
        return values, details

    def _check_samples(self, samples: Any) -> torch.Tensor:
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

    def _computed(self, labels: Any, targets: Any) -> list[str]:
        """The metric groups this call computes: the requested ones, plus the automatic sampler ones
        whose inputs the samples carry. A requested sampler metric without its input is an error."""
        if "accuracy" in self.metrics and labels is None:
            raise EvaluationError(
                "metric 'accuracy' needs the labels the samples were generated for: a class-conditional generator, "
                "or labels= given with the samples"
            )
        if "paired" in self.metrics and targets is None:
            raise EvaluationError("metric 'paired' (L1/PSNR/SSIM) needs paired targets: evaluate with an ImageToImageSampler given targets")
        available = {"accuracy": labels is not None and self.extractor.is_classifier, "paired": targets is not None}
        return self.metrics + [m for m in self.on_demand if available[m]]

    def evaluate_samples(self, samples: Any, labels: Any = None, targets: Any = None,
                         call_kwargs: dict | None = None) -> dict:
        """Metrics of given samples (images ``[N, C, H, W]`` in ``[-1, 1]``, or points ``[N, D]``).

        ``labels``: the class each sample was generated for (condition accuracy); ``targets``: the
        paired target of each sample, ``[-1, 1]`` (L1/PSNR/SSIM). Returns ``{"metrics": {flat name:
        number}, "protocol": {...}, "details": {...}}``.
        """
        x = self._check_samples(samples)
        if labels is not None and len(torch.as_tensor(labels).flatten()) != len(x):
            raise EvaluationError(f"got {len(torch.as_tensor(labels).flatten())} labels for {len(x)} samples")
        if targets is not None:
            targets = torch.as_tensor(targets).detach().float().cpu()
        computed = self._computed(labels, targets)
        feats, probs = self.extractor(x)
        points = x.double().numpy() if self.kind == "vector" else None
        values, details = self._score(computed, self.real_features, feats, probs, points, labels, x, targets)
        size = int(x.shape[-1]) if x.dim() == 4 else None
        channels = int(x.shape[1]) if x.dim() == 4 else None
        return {"metrics": values, "protocol": self.protocol(len(x), size, channels, computed, call_kwargs),
                "details": details}

    def evaluate(self, samples: Samples) -> dict:
        """Metrics of what a sampler drew (:class:`~hfgen.evaluation.Samples`); adds ``seconds_per_sample``
        to the details."""
        result = self.evaluate_samples(samples.images, labels=samples.labels, targets=samples.targets,
                                       call_kwargs=samples.call_kwargs)
        result["details"]["seconds_per_sample"] = samples.seconds / max(len(samples.images), 1)
        return result

    def __call__(self, pipeline: Any, class_labels: Any = None, sampler: Sampler | None = None) -> dict:
        """Draw samples from ``pipeline`` (noise -> image by default, see :meth:`generate`; or any
        :mod:`sampler <hfgen.evaluation.samplers>`) and evaluate them.

        Returns ``{"metrics": {flat name: float | int}, "protocol": {...}, "details": {...}}``;
        flat names: fid, kid_mean, kid_std, inception_score_mean, inception_score_std, precision,
        recall, density, coverage, classes_covered, class_entropy, class_kl_to_uniform, modes,
        num_modes, high_quality_fraction, reverse_kl, condition_accuracy, l1, psnr, ssim (those of the
        selected metrics).
        """
        sampler = sampler or (self.sampler if class_labels is None else None)
        if sampler is not None and class_labels is not None:
            raise EvaluationError("pass class_labels to the sampler, not beside it")
        samples = (sampler or self.default_sampler(class_labels))(pipeline)
        # no timing in the result: eval_results.json stays the same for the same model and seed
        return self.evaluate_samples(samples.images, labels=samples.labels, targets=samples.targets,
                                     call_kwargs=samples.call_kwargs)

    def sweep_steps(self, pipeline: Any, steps: Sequence[int], sampler: Sampler | None = None) -> dict:
        """Evaluate a diffusion pipeline at several ``num_inference_steps`` (the same seed at each).

        Returns ``{"steps": [{"num_inference_steps": s, "seconds_per_sample": t, "metrics": {...}}, ...],
        "protocol": {...}}``: FID vs steps and the time each costs.
        """
        steps = [int(s) for s in steps]
        if not steps or min(steps) < 1:
            raise EvaluationError(f"--steps needs step counts >= 1, got {steps}")
        if not accepts_argument(pipeline, "num_inference_steps"):
            raise EvaluationError(
                f"{type(pipeline).__name__} takes no num_inference_steps: --steps is for diffusion pipelines"
            )
        sampler = sampler or self.sampler or self.default_sampler()
        rows, protocol = [], None
        for s in steps:
            result = self.evaluate(sampler.with_call_kwargs(num_inference_steps=s)(pipeline))
            rows.append({"num_inference_steps": s, "seconds_per_sample": result["details"]["seconds_per_sample"],
                         "metrics": result["metrics"]})
            protocol = result["protocol"]
        others = {k: v for k, v in protocol.pop("sampler", {}).items() if k != "num_inference_steps"}
        if others:  # e.g. guidance_scale: the same at every step count
            protocol["sampler"] = others
        protocol["num_inference_steps"] = steps
        return {"steps": rows, "protocol": protocol}

    def floors(self) -> dict:
        """Reference values on this protocol (computed once, then cached).

        * ``"real_vs_real"``: metrics of one half of the real set against the other, disjoint half
          (a seeded split) -- about the best a generator can reach. FID is biased upward at small n,
          so at ``n_real / 2`` samples this floor is somewhat pessimistic; KID subsets are clipped to
          the half size (then every subset is the whole half and ``kid_std`` is 0);
        * ``"noise_vs_real"``: ``num_samples`` uniform-noise images in ``[-1, 1]`` (Gaussian points
          with the real data's per-coordinate mean and std for vector data) against the real set.

        Condition accuracy, where the evaluation reports it, is the classifier's accuracy on real
        examples with their labels (and on noise: chance). Paired scores have no floor here.
        Returns ``{"real_vs_real": {"metrics", "n_real", "n_generated"}, "noise_vs_real": {...},
        "protocol": {...}}``.
        """
        half = self.n_real // 2
        need = self.min_samples(self.metrics, self.settings)
        if half < need:
            raise EvaluationError(
                f"--floors splits the {self.n_real} real examples into two halves of {half}; metrics {self.metrics} need "
                f"at least {need} in each: pass --num_samples {2 * need} or more (with as many real examples)."
            )
        with_labels = self.reference.labels is not None and self.extractor.is_classifier
        computed = [m for m in self.metrics + self.on_demand if m != "paired" and (m != "accuracy" or with_labels)]
        if "accuracy" in self.metrics and not with_labels:
            raise EvaluationError("--floors with metric 'accuracy' needs real data with labels")

        def score(real_feats, fake_feats, fake_probs, fake_points, labels):
            return self._score(computed, real_feats, fake_feats, fake_probs, fake_points, labels)

        floors = self.reference.floors(score, self.num_samples, self.seed, self.batch_size, key=tuple(computed))
        if "protocol" not in floors:  # first time: complete the cached dict once
            floors["real_vs_real"]["kid_subset_size"] = min(self.settings["kid_subset_size"], half)
            floors["protocol"] = self.protocol(self.num_samples, self.real_image_size, self.real_channels, computed)
        return floors
