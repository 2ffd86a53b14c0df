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


def is_image_to_image(pipeline: Any) -> bool:
    """Whether ``pipeline`` translates images (its ``__call__`` names an ``image`` argument), e.g. Pix2PixPipeline."""
    import inspect

    try:
        return "image" in inspect.signature(pipeline.__call__).parameters
    except (TypeError, ValueError):
        return False


def translation_evaluator_for_cli(dataset: str, pipeline: Any, *, num_samples: Optional[int], seed: int, batch_size: int,
                                  device: Any = None, num_channels: Optional[int] = None) -> TranslationEvaluator:
    """The evaluator of ``hfgen evaluate --model TRANSLATION_MODEL --dataset D``: an embedded paired name is scored on
    its held-out test split; a folder / save_to_disk / Hub dataset of pairs on its ``test`` split when it has one
    (A/test, B/test or a test/ folder), else on its pairs as they are; images at the model's size."""
    from hfgen.data import load_paired_dataset
    from hfgen.data.paired_embedded import PAIRED_EMBEDDED_DATASETS

    if dataset in PAIRED_EMBEDDED_DATASETS:
        return translation_evaluator_for_dataset(dataset, num_samples=num_samples, seed=seed, batch_size=batch_size, device=device)
    config = next((getattr(c, "config", None) for c in (getattr(pipeline, "components", None) or {}).values()
                   if getattr(getattr(c, "config", None), "image_size", None)), None)
    size = getattr(config, "image_size", None)
    data = load_paired_dataset(dataset, image_size=size, num_channels=num_channels, split="test", num_samples=num_samples, seed=seed)
    return translation_evaluator_for_dataset(data, num_samples=num_samples, seed=seed, batch_size=batch_size, device=device)


def sample_translations(pipeline: Any, source: Optional[str], output: str, *, num_images: int = 64) -> str:
    """``hfgen sample --input``: translates an image file (written to ``output``) or the first ``num_images`` images
    of a folder (an input|output grid at ``output``, each translation in ``output`` without its extension + ``/``).
    Returns the path written. The translation is deterministic (the pipeline's default: no dropout).
    Errors are ValueErrors naming the flag to fix."""
    import os

    import numpy as np
    from PIL import Image

    from hfgen.data.images import find_image_files
    from hfgen.training.visualize import save_image_grid

    name = type(pipeline).__name__
    if not is_image_to_image(pipeline):
        raise ValueError(f"{name} generates images from noise; --input applies to image-to-image models (pix2pix): drop it.")
    if source is None:
        raise ValueError(f"{name} translates images: pass --input IMAGE_OR_FOLDER (an image file or a folder of images).")
    if os.path.isdir(source):
        files = find_image_files(source)[: max(1, num_images)]
        if not files:
            raise ValueError(f"--input {source} holds no image files: pass an image or a folder of images (png, jpg, ...).")
    elif os.path.isfile(source):
        files = [source]
    else:
        raise ValueError(f"--input {source} does not exist: pass an image file or a folder of images.")
    images = []
    for path in files:
        try:
            with Image.open(path) as img:
                images.append(img.copy())
        except (OSError, SyntaxError) as error:
            raise ValueError(f"--input: cannot read {path} as an image ({error}); remove or replace it.") from None
    out = pipeline(images, output_type="pil").images
    if os.path.isfile(source):
        out[0].save(output)
        return os.path.abspath(output)
    folder = os.path.splitext(output)[0]
    os.makedirs(folder, exist_ok=True)
    for path, image in zip(files, out):
        image.save(os.path.join(folder, os.path.splitext(os.path.basename(path))[0] + ".png"))
    size = out[0].size[0]
    mode = "RGB" if out[0].mode == "RGB" or any(i.mode not in ("L", "1") for i in images) else "L"
    pairs = []
    for source_image, translated in zip(images, out):
        for image in (source_image.convert(mode).resize((size, size)), translated.convert(mode)):
            array = np.asarray(image, dtype=np.float32) / 255.0
            pairs.append(array[..., None] if array.ndim == 2 else array)
    save_image_grid(np.stack(pairs), output, nrow=min(8, 2 * len(files)), scale=max(1, min(4, 128 // size)))
    return os.path.abspath(output)
