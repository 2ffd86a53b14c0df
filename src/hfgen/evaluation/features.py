"""Feature extractors: which network turns samples into features (and class probabilities) for which data.

The raw metric math lives in :mod:`hfgen.metrics`; this module only decides *what* is measured:

* ``"mnist5k"`` / ``"digits"``: the shipped digit classifiers (28x28 / 8x8 grey images): penultimate
  features ("classifier-FID") and class probabilities (Inception Score, class coverage, condition
  accuracy);
* ``"shapes"``: the shipped attribute evaluator of the embedded shapes data (RGB, any side, seen at
  32x32): its CNN's penultimate features ("shapes-FID") and the probabilities of the 48
  colour x shape x position combinations, the data's class labels (:mod:`hfgen.metrics.shapes`);
* ``"mnist5k-unpaired-a"`` / ``"mnist5k-unpaired-b"``: the shipped digit classifiers of the two
  ``mnist5k-unpaired`` domains (RGB 32x32; :mod:`hfgen.metrics.styled_digits`), CycleGAN's evaluators:
  a translation into domain B is read by domain B's classifier;
* ``"shapes2textures"``: the shipped texture classifier of that paired data set (same CNN; trained on
  shape x stripe orientation, reports the 3 shapes), Pix2Pix's evaluator there: its features tell
  stripes from a flat fill;
* ``"inception"``: the TF-FID Inception-v3 (weights from a local file or cache, see
  :func:`hfgen.metrics.load_fid_inception`);
* ``"identity"``: raw points (vector data);
* ``"none"``: nothing to extract (only mode metrics were asked for).

FID values from different extractors are on different scales and must never be compared.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ._common import EvaluationError

__all__ = ["CLASSIFIERS", "DOMAIN_CLASSIFIERS", "EXTRACTORS", "FeatureExtractor", "auto_extractor"]

#: the shipped classifiers of :mod:`hfgen.metrics.styled_digits` (one CNN, RGB 32x32): extractor name -> its key
#: there (the two mnist5k-unpaired domains, and the shapes2textures targets)
DOMAIN_CLASSIFIERS = {"mnist5k-unpaired-a": "domain_a", "mnist5k-unpaired-b": "domain_b", "shapes2textures": "shapes2textures"}
#: the shipped classifier evaluators (name = the embedded dataset, or domain, they were trained on)
CLASSIFIERS = ("mnist5k", "digits", "shapes", *DOMAIN_CLASSIFIERS)
#: accepted values of ``--extractor``
EXTRACTORS = ("auto", "mnist5k", "digits", "shapes", *DOMAIN_CLASSIFIERS, "inception", "identity")
DOMAIN_CLASSIFIER_SIZE = 32
INCEPTION_LABEL = "inception-v3-tf-2015-12-05"
INCEPTION_SIZE = 299


def auto_extractor(data: Any) -> str:
    """The extractor that fits a :class:`~hfgen.data.GenDataset`: ``"identity"`` for points, a digit
    classifier for 28x28 / 8x8 grey images (or the mnist5k/digits data at another size), the shapes
    evaluator for the embedded shapes data, else Inception."""
    if data.kind == "vector":
        return "identity"
    if data.name == "shapes":
        return "shapes"
    channels, size = data.tensors["pixel_values"].shape[1], data.tensors["pixel_values"].shape[-1]
    if channels == 1 and size == 28:
        return "mnist5k"
    if channels == 1 and size == 8:
        return "digits"
    if data.name in CLASSIFIERS:
        return data.name
    return "inception"


class FeatureExtractor:
    """Maps samples (images ``[N, C, H, W]`` in ``[-1, 1]`` or points ``[N, D]``) to features and,
    for classifiers, class probabilities.

    Attributes recorded in every protocol: ``label`` (what the network is), ``sha256`` (of its
    weights), ``feature_dim``, ``input_size`` (side the images are resized to), ``num_classes``.
    """

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
        if kind == "shapes":
            from hfgen.data.shapes import NUM_COMBINATIONS
            from hfgen.metrics.shapes import SHAPES_EVALUATOR, load_shapes_evaluator

            self.model = load_shapes_evaluator(device=device)  # sha256-checked
            self.label = "hfgen/shapes_evaluator"
            self.sha256 = SHAPES_EVALUATOR["sha256"]
            self.feature_dim = int(self.model.feature_dim)
            self.input_size = int(SHAPES_EVALUATOR["image_size"])
            self.num_classes = NUM_COMBINATIONS
        elif kind in DOMAIN_CLASSIFIERS:
            from hfgen.metrics.styled_digits import CLASSIFIER_FILES, classifier_metadata, load_styled_digit_classifier

            domain = DOMAIN_CLASSIFIERS[kind]
            self.model = load_styled_digit_classifier(domain, device=device)  # sha256-checked
            self.label = f"hfgen/{CLASSIFIER_FILES[domain]}"
            self.sha256 = classifier_metadata(domain)["sha256"]
            self.feature_dim = int(self.model.feature_dim)
            self.input_size = DOMAIN_CLASSIFIER_SIZE
            # the classes it reports (shapes2textures: 3 shapes, its 12 shape x orientation classes summed)
            self.num_classes = int(self.model.num_classes) // int(self.model.content_groups)
        elif kind in CLASSIFIERS:
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
            self.label = INCEPTION_LABEL
            self.sha256 = _file_sha256(path)
            self.feature_dim = 2048
            self.input_size = INCEPTION_SIZE
            self.num_classes = 1008
        elif kind == "identity":
            self.label = "identity (raw points)"
            self.sha256 = None
            self.feature_dim = None
        elif kind == "none":  # no feature metric requested
            self.label = "none"
            self.sha256 = None
            self.feature_dim = None
        else:
            raise EvaluationError(f"--extractor {kind!r} is unknown; choose one of {list(EXTRACTORS)}")

    @property
    def is_classifier(self) -> bool:
        """Whether the extractor gives class probabilities of classes that describe the data."""
        return self.kind in CLASSIFIERS

    def channels_note(self, num_channels: int | None) -> str:
        """How channels are adapted to the extractor's input."""
        if self.kind == "shapes":
            return "RGB as is" if num_channels == 3 else "grey not supported: the shapes evaluator needs RGB"
        if self.kind in DOMAIN_CLASSIFIERS:
            return "grey repeated to 3 channels" if num_channels == 1 else "as is"
        if self.kind in CLASSIFIERS and num_channels == 3:
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
        if self.kind == "shapes":
            from hfgen.metrics.shapes import evaluate_shapes

            if samples.dim() != 4 or samples.shape[1] != 3:
                raise EvaluationError(
                    f"--extractor shapes needs RGB images [N, 3, H, W], got shape {tuple(samples.shape)}; "
                    "use --extractor inception for other data"
                )
            out = evaluate_shapes(samples, batch_size=self.batch_size, device=self.device, model=self.model)
            return out["features"], out["probs"]
        if self.kind in DOMAIN_CLASSIFIERS:
            from hfgen.metrics.styled_digits import classify_domain

            x = samples.detach().float()
            if x.dim() != 4 or x.shape[1] not in (1, 3):
                raise EvaluationError(f"--extractor {self.kind} needs images [N, 1 or 3, H, W], got shape {tuple(x.shape)}")
            x = x.repeat(1, 3, 1, 1) if x.shape[1] == 1 else x
            if x.shape[-2:] != (self.input_size, self.input_size):  # as resize_note records it
                x = torch.nn.functional.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False)
            out = classify_domain(x, DOMAIN_CLASSIFIERS[self.kind], self.model, batch_size=self.batch_size)
            return out["features"].numpy(), out["probs"].numpy()
        if self.kind in CLASSIFIERS:
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
