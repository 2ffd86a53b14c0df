"""Evaluation of image-to-image translation, paired (Pix2Pix) and unpaired both ways (CycleGAN), and the
``hfgen sample --input`` of both families.

:class:`TranslationEvaluator` translates a fixed set of inputs once (an :class:`ImageToImageSampler`) and
scores the outputs:

* against their own targets, when the data are pairs: L1, PSNR, SSIM (:mod:`hfgen.metrics.paired`, on
  images in [0, 1]);
* against a target-domain reference set (default: the targets), as distributions: FID on the features of
  a shipped classifier (the digit classifier for digit outputs, the texture classifier for
  ``shapes2textures``, the target domain's classifier for the ``mnist5k-unpaired`` domains), so that
  FIDs of models of this protocol compare, never with Inception FIDs;
* for the content: the classifier's accuracy on the outputs against the inputs' known labels (a
  translated "7" must still read as a 7, a striped circle as a circle);
* ``sharpness``: the outputs' high-frequency energy over the targets' (mean absolute Laplacian, 1 =
  as sharp as the targets). L1-only models fall below 1 where the input leaves detail open (the
  blur the adversarial loss removes); it needs no network and works on any data.

:class:`CycleGANEvaluator` is one :class:`TranslationEvaluator` per direction (``a_to_b``: the paper's G,
``b_to_a``: F; the direction is a pipeline argument), with the target domain's held-out images as the
reference and the target domain's classifier as the feature extractor, plus what only a two-way model
has: the cycle L1 of the round trip. Its metric names: ``<direction>_fid``,
``<direction>_content_accuracy``, ``<direction>_cycle_l1`` and ``fid``, the mean of the two directions'
FIDs (see :class:`CycleGANEvaluator`).

Everything a result depends on is in its protocol: the split the inputs come from, their number, the
classifier (with its weights' sha256), the seed and the pipeline arguments (e.g. CycleGAN's direction).
"""

from __future__ import annotations

import os
from typing import Any, Optional

import numpy as np
import torch
import torch.nn.functional as F

from ._common import EvaluationError, versions
from .evaluator import Evaluator
from .features import CLASSIFIERS, DOMAIN_CLASSIFIERS
from .samplers import ImageToImageSampler, Samples
from .scores import condition_accuracy

__all__ = [
    "DIRECTIONS",
    "CycleGANEvaluator",
    "TranslationEvaluator",
    "is_image_to_image",
    "laplacian_energy",
    "read_input_images",
    "sample_translations",
    "save_input_output_grid",
    "save_translation_grid",
    "translation_evaluator_for_cli",
    "translation_evaluator_for_dataset",
]

# Embedded data whose outputs a shipped classifier reads, and which classifier.
_CLASSIFIER_OF = {"edges2digits": "mnist5k", "shapes2textures": "shapes2textures"}
#: a two-way (CycleGAN) pipeline's directions: direction -> (source domain, target domain)
DIRECTIONS = {"a_to_b": ("domain_a", "domain_b"), "b_to_a": ("domain_b", "domain_a")}
#: the classifier that reads each mnist5k-unpaired domain (an extractor name of hfgen.evaluation.features)
_DOMAIN_CLASSIFIER = {domain: name for name, domain in DOMAIN_CLASSIFIERS.items()}


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
        reference: target-domain images for FID (default: ``targets``); needed for FID when unpaired. Used
            whole (not subsampled to ``N``): the FID compares the N outputs with all of it.
        classifier: a shipped classifier of :data:`~hfgen.evaluation.CLASSIFIERS` ("mnist5k", "digits",
            "mnist5k-unpaired-a" / "-b"...): FID on its features, accuracy with ``labels``; or None (no
            network: paired scores and sharpness only).
        seed, batch_size: of the translation calls (``generator`` seeded per call) and of the scoring.
        call_kwargs: extra pipeline arguments, e.g. ``{"direction": "b_to_a"}``.
        description: what the inputs are (recorded in the protocol), e.g. "edges2digits test split".
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
        if classifier is not None and classifier not in CLASSIFIERS:
            raise EvaluationError(f"classifier must be one of {list(CLASSIFIERS)} or None, got {classifier!r}.")
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
        # num_samples bounds the reference subset: at least the whole reference, so that none is dropped.
        self.evaluator = Evaluator(real, metrics=metrics, num_samples=max(n, len(reference), 4), seed=seed,
                                   batch_size=batch_size, extractor=classifier or "auto", device=device)
        self.extractor = self.evaluator.extractor if classifier is not None else None
        self.description = description or "given pairs"
        self.num_inputs = n

    def translate(self, pipeline: Any) -> Samples:
        """The pipeline's translations of the inputs (with the labels and targets they are scored against)."""
        return self.sampler(pipeline)

    def score(self, samples: Samples) -> dict:
        """``{"metrics", "protocol", "details"}`` of translations drawn by :meth:`translate`."""
        result = self.evaluator.evaluate_samples(samples.images, labels=samples.labels, targets=samples.targets,
                                                 call_kwargs=samples.call_kwargs)
        # "pairs": what the inputs are (the key predates unpaired inputs; Pix2Pix results keep their layout)
        result["protocol"]["translation"] = {"pairs": self.description, "num_inputs": self.num_inputs}
        if samples.targets is not None:
            ratio = laplacian_energy(samples.images).mean() / laplacian_energy(samples.targets).mean().clamp_min(1e-12)
            result["metrics"]["sharpness"] = float(ratio)
            result["protocol"]["translation"]["sharpness"] = (
                "mean |4-neighbour Laplacian| of the outputs / of the targets (1 = as sharp as the targets)")
        return result

    def __call__(self, pipeline: Any) -> dict:
        """Translates the inputs with ``pipeline`` and returns ``{"metrics", "protocol", "details"}``."""
        return self.score(self.translate(pipeline))

    def floors(self) -> dict:
        """No FID floor is computed during training for translations (the collapse monitor measures FID rises
        from the best FID alone)."""
        return {"real_vs_real": {"metrics": {}}}


def translation_evaluator_for_dataset(dataset: Any, *, num_samples: Optional[int] = None, seed: int = 0,
                                      batch_size: int = 250, call_kwargs: Optional[dict] = None, device: Any = None,
                                      split: str = "test", direction: str = "AtoB") -> TranslationEvaluator:
    """A :class:`TranslationEvaluator` on the pairs of ``dataset``: an embedded paired name (its held-out ``split``),
    or a :class:`~hfgen.data.GenDataset` of pairs (``conditioning_pixel_values`` -> ``pixel_values``).

    A shipped classifier scores FID and content for the AtoB outputs of the embedded data: the digit classifier
    for edges2digits (content: the digit), the texture classifier for shapes2textures (content: the shape);
    other data get the paired scores and sharpness. ``num_samples`` keeps the first N pairs (the splits are
    fixed, so the same N means the same pairs).
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
    # The classifiers read the B side: digits of edges2digits, striped shapes of shapes2textures (BtoA makes
    # outlines / label maps, which they cannot read).
    classifier = _CLASSIFIER_OF.get(data.name) if direction == "AtoB" else None
    labels = tensors["labels"][:n] if classifier is not None and "labels" in tensors else None
    return TranslationEvaluator(inputs, targets, labels, classifier=classifier, seed=seed, batch_size=batch_size,
                                call_kwargs=call_kwargs, description=f"{description}, first {n} pairs", device=device)


def is_image_to_image(pipeline: Any) -> bool:
    """Whether ``pipeline`` translates images (its ``__call__`` names an ``image`` argument): Pix2Pix, CycleGAN."""
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


# ----------------------------------------------------------------------------- unpaired, both ways (CycleGAN)


def _translate(pipeline: Any, images: torch.Tensor, direction: str, batch_size: int = 250) -> torch.Tensor:
    """``pipeline``'s translations of ``images`` (``[N, C, H, W]`` in ``[-1, 1]``) in ``direction``, in ``[-1, 1]``
    on the CPU: the same sampler call as every evaluated translation."""
    sampler = ImageToImageSampler(images, batch_size=batch_size, call_kwargs={"direction": direction})
    return sampler(pipeline).images


def _back(direction: str) -> str:
    return "b_to_a" if direction == "a_to_b" else "a_to_b"


def reference_domains(dataset: Any) -> dict:
    """Held-out images of both domains for evaluation: the test split of ``mnist5k-unpaired``, else the data's own
    ``testA/``/``testB/`` when it was a folder that has them, else the training domains themselves."""
    name = getattr(dataset, "name", None)
    if name == "mnist5k-unpaired":
        from hfgen.data.styled_digits import load_styled_digits

        return load_styled_digits("test").domains
    if isinstance(name, str) and os.path.isdir(os.path.join(os.path.expanduser(name), "testA")) and \
            os.path.isdir(os.path.join(os.path.expanduser(name), "testB")):
        from hfgen.data import load_unpaired_datasets

        a = dataset.domains["domain_a"]
        return load_unpaired_datasets(name, split="test", image_size=a.image_size, num_channels=a.num_channels).domains
    return dataset.domains


def _split_name(dataset: Any) -> str:
    name = getattr(dataset, "name", None)
    if name == "mnist5k-unpaired":
        return "test"
    if isinstance(name, str) and os.path.isdir(os.path.join(os.path.expanduser(name), "testA")):
        return "testA/testB"
    return "train"


class CycleGANEvaluator:
    """``evaluator(pipeline) -> {"metrics", "protocol", "details"}`` for a two-way pipeline (CycleGANPipeline).

    For each direction (``a_to_b``: G, ``b_to_a``: F), on at most ``num_samples`` held-out source images (a
    seeded subset, the same for every model; :func:`reference_domains`):

    - ``<direction>_fid``: FID of the translations against all held-out real images of the target domain, on the
      target domain's classifier features (lower is better);
    - ``<direction>_content_accuracy``: share of translations that the target domain's classifier gives the source
      image's label (did the digit survive? higher is better); the details hold
      ``<direction>_untranslated_accuracy``, what that classifier makes of the untranslated sources;
    - ``<direction>_cycle_l1``: mean |F(G(x)) - x| (or |G(F(y)) - y|) in [-1, 1] pixel units (the cycle loss as
      trained, on held-out images; lower is better);

    and ``fid``: the mean of the two directions' FIDs, the one number that training keeps ``best/`` by and that the
    collapse monitor watches for rises (the two FIDs are on two classifiers' features, so the mean compares
    evaluations of one protocol, e.g. the steps of one run, never with a single-domain FID).

    The first two are one :class:`TranslationEvaluator` per direction (the direction as pipeline argument, the
    target domain as reference, its classifier as extractor); they need a classifier per domain, shipped for the
    embedded ``mnist5k-unpaired`` domains. Other data get the cycle L1 only (the protocol says so).

    ``dataset`` is the training data (an UnpairedDataset, the name ``mnist5k-unpaired``, or a trainA/trainB folder).
    """

    def __init__(self, dataset: Any, num_samples: int = 250, seed: int = 0, batch_size: int = 250, device: Any = None):
        if isinstance(dataset, str):
            if dataset != "mnist5k-unpaired":
                from hfgen.data import load_unpaired_datasets

                dataset = load_unpaired_datasets(dataset)
            else:
                from hfgen.data.styled_digits import load_styled_digits

                dataset = load_styled_digits("train")
        if not getattr(dataset, "domains", None):
            raise EvaluationError("CycleGAN evaluation needs two domains (unpaired data: a trainA/trainB folder or mnist5k-unpaired).")
        if num_samples < 4:
            raise EvaluationError(f"num_samples must be >= 4 per direction (--num_samples / --eval_samples), got {num_samples}.")
        self.dataset_name = dataset.name
        self.split = _split_name(dataset)
        self.domains = reference_domains(dataset)
        self.num_samples, self.seed, self.batch_size = num_samples, seed, batch_size
        self.with_classifiers = dataset.name == "mnist5k-unpaired"
        # direction -> the sampler of its sources, and its TranslationEvaluator (None without classifiers)
        self.directions: dict[str, tuple[ImageToImageSampler, Optional[TranslationEvaluator]]] = {}
        for direction, (source, target) in DIRECTIONS.items():
            x, labels = self._sources(source)
            if self.with_classifiers:
                evaluator = TranslationEvaluator(
                    x, labels=labels, reference=self.domains[target].tensors["pixel_values"],
                    classifier=_DOMAIN_CLASSIFIER[target], seed=seed, batch_size=batch_size,
                    call_kwargs={"direction": direction}, device=device,
                    description=f"{self.dataset_name} {self.split} split: {source} -> {target}")
                self.directions[direction] = (evaluator.sampler, evaluator)
            else:
                sampler = ImageToImageSampler(x, labels=labels, batch_size=batch_size, seed=seed,
                                              call_kwargs={"direction": direction})
                self.directions[direction] = (sampler, None)

    def _sources(self, domain: str):
        data = self.domains[domain]
        n = min(self.num_samples, len(data))
        # A fixed random subset (seed), the same for every model evaluated with this protocol.
        idx = torch.randperm(len(data), generator=torch.Generator().manual_seed(self.seed))[:n].sort().values
        batch = data.get_batch(idx)
        return batch["pixel_values"], batch.get("labels")

    @torch.no_grad()
    def __call__(self, pipeline: Any) -> dict:
        metrics, details, per_direction = {}, {}, {}
        protocol = {
            "dataset": self.dataset_name, "split": self.split, "seed": self.seed, "versions": versions(),
            "directions": {"a_to_b": "G: A -> B (generator_a_to_b)", "b_to_a": "F: B -> A (generator_b_to_a)"},
            "cycle_l1": "mean |F(G(x)) - x| (resp. |G(F(y)) - y|) in [-1, 1] pixel units, through the pipeline (8-bit inputs)",
            "n_generated_per_direction": {},
        }
        for direction, (sampler, evaluator) in self.directions.items():
            samples = sampler(pipeline)
            reconstructed = _translate(pipeline, samples.images, _back(direction), self.batch_size)
            metrics[f"{direction}_cycle_l1"] = float((reconstructed - sampler.inputs).abs().mean())
            protocol["n_generated_per_direction"][direction] = len(sampler.inputs)
            if evaluator is None:
                continue
            result = evaluator.score(samples)
            metrics[f"{direction}_fid"] = result["metrics"]["fid"]
            metrics[f"{direction}_content_accuracy"] = result["metrics"]["condition_accuracy"]
            # What the classifier makes of the untranslated sources: a "translation" that ignores its input
            # reaches chance (0.1); this is how well the target classifier reads the source style as is.
            _, probs = evaluator.extractor(sampler.inputs)
            details[f"{direction}_untranslated_accuracy"] = condition_accuracy(probs, sampler.labels)[0]["condition_accuracy"]
            per_direction[direction] = {k: v for k, v in result["protocol"].items() if k != "versions"}
        # Single numbers for the card's summary: the smaller of the two directions' counts.
        protocol["n_generated"] = min(protocol["n_generated_per_direction"].values())
        if per_direction:
            metrics["fid"] = sum(metrics[f"{d}_fid"] for d in DIRECTIONS) / len(DIRECTIONS)
            protocol["n_real_per_direction"] = {d: p["n_real"] for d, p in per_direction.items()}
            protocol["n_real"] = min(protocol["n_real_per_direction"].values())
            protocol.update(
                extractor="mnist5k-unpaired domain classifiers",
                extractor_sha256={DIRECTIONS[d][1]: self.directions[d][1].extractor.sha256 for d in per_direction},
                feature_dim=per_direction["a_to_b"]["feature_dim"],
                resize=", ".join(sorted({p["resize"] for p in per_direction.values()})),
                content_accuracy="the TARGET domain's classifier gives the SOURCE image's label",
                fid="mean of a_to_b_fid and b_to_a_fid (each on its target domain's classifier features): the score "
                    "training keeps best/ by; comparable only with the same mean of this protocol",
                metric_labels={"fid": "FID, mean of A -> B and B -> A"},
                per_direction=per_direction,
            )
        else:
            protocol["note"] = ("FID and content accuracy need a classifier per domain (shipped for mnist5k-unpaired only): "
                                "these data get the cycle L1.")
        return {"metrics": metrics, "protocol": protocol, "details": details}

    def floors(self) -> dict:
        """No FID floor (the collapse monitor measures rises of the mean FID from its best alone)."""
        return {"real_vs_real": {"metrics": {}}}


def format_directions(result: dict) -> str:
    """A table with one row per metric and one column per direction (and the mean FID below it)."""
    metrics = result["metrics"]
    order = ["fid", "content_accuracy", "cycle_l1"]
    names = sorted({k[len(d) + 1:] for k in metrics for d in DIRECTIONS if k.startswith(d + "_")}, key=order.index)
    lines = [f"{'metric':<18} {'A -> B':>10} {'B -> A':>10}", f"{'-' * 18} {'-' * 10} {'-' * 10}"]
    for name in names:
        cells = [metrics.get(f"{d}_{name}") for d in DIRECTIONS]
        lines.append(f"{name:<18} " + " ".join(f"{v:>10.4f}" if v is not None else f"{'-':>10}" for v in cells))
    if "fid" in metrics:
        lines.append(f"{'fid (mean)':<18} {metrics['fid']:>10.4f}")
    p = result["protocol"]
    lines += ["", f"dataset:    {p['dataset']} (split {p['split']}), {p['n_generated']} source images per direction, seed {p['seed']}"]
    if p.get("extractor"):
        lines.append(f"features:   {p['extractor']} ({p['feature_dim']}-d); content = {p['content_accuracy']}")
    if p.get("note"):
        lines.append(f"note:       {p['note']}")
    return "\n".join(lines)


def cli_evaluate_translation(pipeline: Any, args: Any, output: str) -> int:
    """``hfgen evaluate`` for a CycleGANPipeline: both directions on ``--dataset``'s held-out images; prints a table,
    writes JSON."""
    import json
    import sys

    from hfgen.data import DataError

    try:
        evaluator = CycleGANEvaluator(args.dataset, num_samples=args.num_samples, seed=args.seed, batch_size=args.batch_size,
                                      device=getattr(args, "device", None))
        result = evaluator(pipeline)
    except (EvaluationError, DataError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    report = {"model": args.model, **result}
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    with open(output, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    print(f"Evaluation of {args.model} on {args.dataset} (both directions)\n")
    print(format_directions(result))
    print(f"\nwrote {os.path.abspath(output)}")
    return 0


# ----------------------------------------------------------------------------- grids and `hfgen sample --input`


def _save_grid(images: list, path: str, nrow: int) -> str:
    """Writes images (``[H, W, C]`` arrays in ``[0, 1]``, C 1 or 3; grey ones shown as RGB beside colour ones)."""
    from hfgen.training.visualize import save_image_grid

    images = [a[..., None] if a.ndim == 2 else a for a in images]
    if any(a.shape[-1] == 3 for a in images):
        images = [np.repeat(a, 3, axis=-1) if a.shape[-1] == 1 else a for a in images]
    size = images[0].shape[0]
    return save_image_grid(np.stack(images), path, nrow=nrow, scale=max(1, min(4, 128 // size)))


def _as_arrays(images: torch.Tensor) -> list:
    """``[N, C, H, W]`` in ``[-1, 1]`` -> a list of ``[H, W, C]`` arrays in ``[0, 1]``."""
    return list(((images.float().cpu() + 1) / 2).clamp(0, 1).permute(0, 2, 3, 1).numpy())


def save_translation_grid(pipeline: Any, inputs: dict, path: str) -> str:
    """Writes a PNG of rows: A inputs, G(A), F(G(A)), then B inputs, F(B), G(F(B)) (``inputs``: {domain: [N, C, H, W]
    in [-1, 1]}), the sample grid of a two-way (CycleGAN) model."""
    rows = []
    for direction, (source, _) in DIRECTIONS.items():
        x = inputs[source].float().cpu()
        y = _translate(pipeline, x, direction)
        rows += [x, y, _translate(pipeline, y, _back(direction))]
    return _save_grid([a for row in rows for a in _as_arrays(row)], path, nrow=rows[0].shape[0])


def read_input_images(source: str, num_images: int = 64) -> tuple[list, list]:
    """``hfgen sample --input``: the PIL images of an image file, or of the first ``num_images`` image files of a folder
    (sorted, recursively), and their paths. Errors are ValueErrors naming the flag and the fix."""
    from PIL import Image

    from hfgen.data.images import find_image_files

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
    return images, files


def save_input_output_grid(inputs: list, outputs: list, path: str) -> str:
    """Writes a grid of (input | output) pairs, up to 4 pairs a row: each input resized to its output's size (PIL
    images; grey inputs beside colour outputs are shown in colour)."""
    size = outputs[0].size
    mode = "RGB" if outputs[0].mode == "RGB" or any(i.mode not in ("L", "1") for i in inputs) else "L"
    arrays = [np.asarray(image, dtype=np.float32) / 255.0
              for source, output in zip(inputs, outputs)
              for image in (source.convert(mode).resize(size), output.convert(mode))]
    return _save_grid(arrays, path, nrow=min(8, 2 * len(inputs)))


def sample_translations(pipeline: Any, source: Optional[str], output: str, *, num_images: int = 64,
                        direction: Optional[str] = None) -> str:
    """``hfgen sample --input [--direction]`` for any image-to-image model: translates an image file (written to
    ``output``) or the first ``num_images`` images of a folder (an input|output grid at ``output``, each translation in
    ``output`` without its extension + ``/``). A two-way (CycleGAN) model translates in ``direction`` (default
    ``a_to_b``). Returns the path written. The translation is deterministic (Pix2Pix: no dropout by default).
    Errors are ValueErrors naming the flag to fix."""
    import inspect

    name = type(pipeline).__name__
    if not is_image_to_image(pipeline):
        flag = "--input" if source is not None else "--direction"
        raise ValueError(f"{name} generates images from noise; {flag} applies to image-to-image models (pix2pix, cyclegan): drop it.")
    call_kwargs = {}
    two_way = "direction" in inspect.signature(pipeline.__call__).parameters
    if two_way:
        direction = direction or "a_to_b"
        if direction not in DIRECTIONS:
            raise ValueError(f"--direction {direction!r} is not supported; choose a_to_b (domain A -> B) or b_to_a (domain B -> A).")
        call_kwargs["direction"] = direction
    elif direction is not None:
        raise ValueError(f"--direction applies to CycleGAN models (a_to_b / b_to_a), not to {name}: drop it.")
    if source is None:
        raise ValueError(f"{name} translates images: pass --input IMAGE_OR_FOLDER (an image file or a folder of images)"
                         + (" and --direction a_to_b or b_to_a." if two_way else "."))
    images, files = read_input_images(source, num_images)
    out = pipeline(images, output_type="pil", **call_kwargs).images
    if os.path.isfile(source):
        out[0].save(output)
        return os.path.abspath(output)
    folder = os.path.splitext(output)[0]
    os.makedirs(folder, exist_ok=True)
    for path, image in zip(files, out):
        image.save(os.path.join(folder, os.path.splitext(os.path.basename(path))[0] + ".png"))
    return os.path.abspath(save_input_output_grid(images, out, output))
