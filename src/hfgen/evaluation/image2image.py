"""Evaluation of image-to-image translation (Pix2Pix; written so that CycleGAN reuses it).

:class:`TranslationEvaluator` translates a fixed set of inputs once and scores the outputs:

* against their own targets, when the data are pairs: L1, PSNR, SSIM (:mod:`hfgen.metrics.paired`, on
  images in [0, 1]);
* against a target-domain reference set (default: the targets), as distributions: FID on the features of
  a shipped classifier (the digit classifier for digit outputs), so that FIDs of models of this
  protocol compare, never with Inception FIDs;
* for the content: the classifier's accuracy on the outputs against the inputs' known labels (a
  translated "7" must still read as a 7);
* ``sharpness``: the outputs' high-frequency energy over the targets' (mean absolute Laplacian, 1 =
  as sharp as the real images). L1-only models fall below 1 where the input leaves detail open (the
  blur the adversarial loss removes); it needs no network and works on any data.

Everything a result depends on is in its protocol: the split the pairs come from, their number, the
classifier (with its weights' sha256), the seed and the pipeline arguments (e.g. CycleGAN's direction).
"""

from __future__ import annotations

from typing import Any, Optional

import torch
import torch.nn.functional as F

from ._common import EvaluationError
from .evaluator import Evaluator
from .samplers import ImageToImageSampler

__all__ = ["TranslationEvaluator", "laplacian_energy", "translation_evaluator_for_dataset"]

# Embedded data whose outputs a shipped classifier reads, and which classifier.
_CLASSIFIER_OF = {"edges2digits": "mnist5k"}


def laplacian_energy(images: torch.Tensor) -> torch.Tensor:
    """Mean absolute response of the 4-neighbour Laplacian per image, ``[N]`` (images ``[N, C, H, W]``, any range).

    A measure of high-frequency content: blurring lowers it, noise and sharp texture raise it.
    """
    x = torch.as_tensor(images).detach().double()
    if x.dim() != 4:
        raise EvaluationError(f"laplacian_energy needs images [N, C, H, W], got shape {tuple(x.shape)}")
    kernel = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]], dtype=x.dtype)
    kernel = kernel.view(1, 1, 3, 3).repeat(x.shape[1], 1, 1, 1)
    return F.conv2d(x, kernel, groups=x.shape[1]).abs().flatten(1).mean(1)


class TranslationEvaluator:
    """Scores an image-to-image pipeline on fixed inputs (see the module docstring).

    Args:
        inputs: input images ``[N, C, H, W]`` in ``[-1, 1]`` (the pipeline gets them in ``[0, 1]``).
        targets: the paired target of each input (``[-1, 1]``) for L1/PSNR/SSIM and sharpness; None when
            unpaired (CycleGAN).
        labels: each input's known class (content check with the classifier), or None.
        reference: target-domain images for FID (default: ``targets``); needed for FID when unpaired.
        classifier: "mnist5k" or "digits" (FID on its features; accuracy with ``labels``), or None (no
            network: paired scores and sharpness only).
        seed, batch_size: of the translation calls (``generator`` seeded per call) and of the scoring.
        call_kwargs: extra pipeline arguments, e.g. ``{"direction": "b_to_a"}``.
        description: what the pairs are (recorded in the protocol), e.g. "edges2digits test split".
    """

    def __init__(self, inputs: Any, targets: Any = None, labels: Any = None, reference: Any = None, *,
                 classifier: Optional[str] = None, seed: int = 0, batch_size: int = 250, call_kwargs: Optional[dict] = None,
                 description: str = "", device: Any = None) -> None:
        from hfgen.data import GenDataset

        self.sampler = ImageToImageSampler(inputs, targets=targets, labels=labels, batch_size=batch_size, seed=seed,
                                           call_kwargs=call_kwargs)
        n = len(self.sampler.inputs)
        reference = self.sampler.targets if reference is None else torch.as_tensor(reference).detach().float().cpu()
        if classifier is not None and reference is None:
            raise EvaluationError("FID needs target-domain images: pass targets (paired) or reference= (unpaired).")
        if classifier is not None and classifier not in ("mnist5k", "digits"):
            raise EvaluationError(f"classifier must be 'mnist5k', 'digits' or None, got {classifier!r}.")
        metrics = []
        if classifier is not None:
            metrics.append("fid")
            if labels is not None:
                metrics.append("accuracy")
        if self.sampler.targets is not None:
            metrics.append("paired")
        if not metrics:
            raise EvaluationError("nothing to score: pass paired targets, or a classifier with reference images.")
        if reference is None:  # paired-only scores never look at the reference set: any images of the right shape
            reference = self.sampler.inputs
        real = GenDataset({"pixel_values": reference}, kind="image", image_size=int(reference.shape[-1]),
                          num_channels=int(reference.shape[1]), name=description or "reference")
        self.evaluator = Evaluator(real, metrics=metrics, num_samples=max(n, 4), seed=seed, batch_size=batch_size,
                                   extractor=classifier or "auto", device=device)
        self.extractor = self.evaluator.extractor if classifier is not None else None
        self.description = description or "given pairs"
        self.num_inputs = n

    def __call__(self, pipeline: Any) -> dict:
        """Translates the inputs with ``pipeline`` and returns ``{"metrics", "protocol", "details"}``."""
        samples = self.sampler(pipeline)
        result = self.evaluator.evaluate_samples(samples.images, labels=samples.labels, targets=samples.targets,
                                                 call_kwargs=samples.call_kwargs)
        if samples.targets is not None:
            ratio = laplacian_energy(samples.images).mean() / laplacian_energy(samples.targets).mean().clamp_min(1e-12)
            result["metrics"]["sharpness"] = float(ratio)
        result["protocol"]["translation"] = {
            "pairs": self.description,
            "num_inputs": self.num_inputs,
            "sharpness": "mean |4-neighbour Laplacian| of the outputs / of the targets (1 = as sharp as the targets)",
        }
        return result

    def floors(self) -> dict:
        """No FID floor is computed during training for translations (the collapse monitor then watches no FID)."""
        return {"real_vs_real": {"metrics": {}}}


def translation_evaluator_for_dataset(dataset: Any, *, num_samples: Optional[int] = None, seed: int = 0,
                                      batch_size: int = 250, call_kwargs: Optional[dict] = None, device: Any = None,
                                      split: str = "test", direction: str = "AtoB") -> TranslationEvaluator:
    """A :class:`TranslationEvaluator` on the pairs of ``dataset``: an embedded paired name (its held-out ``split``),
    or a :class:`~hfgen.data.GenDataset` of pairs (``conditioning_pixel_values`` -> ``pixel_values``).

    The digit classifier scores FID and content for edges2digits outputs (digits); other data get the
    paired scores and sharpness. ``num_samples`` keeps the first N pairs (the splits are fixed, so the
    same N means the same pairs).
    """
    from hfgen.data import GenDataset
    from hfgen.data.paired_embedded import PAIRED_EMBEDDED_DATASETS, load_paired_embedded

    if isinstance(dataset, str):
        if dataset not in PAIRED_EMBEDDED_DATASETS:
            raise EvaluationError(
                f"{dataset!r} is not an embedded paired dataset ({list(PAIRED_EMBEDDED_DATASETS)}): load your pairs with "
                "hfgen.data.load_paired_dataset and pass the GenDataset."
            )
        data = load_paired_embedded(dataset, split, direction=direction)
        description = f"{dataset} {split} split" + (" (held out from training)" if split == "test" else "") \
            + (f", direction {direction}" if direction != "AtoB" else "")
    elif isinstance(dataset, GenDataset):
        data, description = dataset, f"{dataset.name or 'pairs'}"
    else:
        raise EvaluationError(f"dataset must be an embedded paired name or a GenDataset, got {type(dataset).__name__}")
    if not data.has_conditioning:
        raise EvaluationError(f"{data.name} holds no pairs (no input images): a translation is scored on (input, target) pairs.")
    tensors = data.tensors
    n = len(data) if num_samples is None else min(int(num_samples), len(data))
    if n < 4:
        raise EvaluationError(f"need at least 4 pairs to evaluate, got {n} (--num_samples / --eval_samples).")
    inputs, targets = tensors["conditioning_pixel_values"][:n], tensors["pixel_values"][:n]
    # The classifier reads digits: outputs of edges2digits AtoB (BtoA makes outlines, which it cannot read).
    classifier = _CLASSIFIER_OF.get(data.name) if direction == "AtoB" and targets.shape[1] == 1 else None
    labels = tensors["labels"][:n] if classifier is not None and "labels" in tensors else None
    return TranslationEvaluator(inputs, targets, labels, classifier=classifier, seed=seed, batch_size=batch_size,
                                call_kwargs=call_kwargs, description=f"{description}, first {n} pairs", device=device)
