"""Evaluation of unpaired translation (CycleGAN), per direction.

For each direction (``a_to_b``: G, ``b_to_a``: F), on held-out source images:

- ``<direction>_fid``: FID of the translations against the real images of the target domain, on
  the target domain's classifier features (``hfgen.metrics.styled_digits``; lower is better);
- ``<direction>_content_accuracy``: share of translations that the target domain's classifier
  gives the source image's label (did the digit survive? higher is better);
- ``<direction>_cycle_l1``: mean |F(G(x)) - x| (or |G(F(y)) - y|) in [-1, 1] pixel units (the
  cycle loss as trained, on held-out images; lower is better).

FID and content accuracy need a classifier per domain, shipped for the embedded ``mnist5k-unpaired``
domains; other data get the cycle L1 only (the protocol says so). The small functions below
(`translate`, `content_accuracy`, `fid_on_features`) are the shared parts of image-to-image
evaluation.
"""

from __future__ import annotations

import os
from typing import Optional

import numpy as np
import torch

from ._common import EvaluationError, versions

DIRECTIONS = {"a_to_b": ("domain_a", "domain_b"), "b_to_a": ("domain_b", "domain_a")}


@torch.no_grad()
def translate(pipeline, images: torch.Tensor, direction: str, batch_size: int = 250) -> torch.Tensor:
    """`pipeline`'s translations of `images` ([N, C, H, W] in [-1, 1]) in `direction`, as [N, C', H, W] in [-1, 1] on the CPU."""
    out = []
    for start in range(0, images.shape[0], batch_size):
        chunk = (images[start : start + batch_size].float().cpu() + 1) / 2
        result = pipeline(image=chunk.clamp(0, 1), direction=direction, output_type="pt").images
        out.append(result.float().cpu() * 2 - 1)
    return torch.cat(out)


def content_accuracy(predictions: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of `predictions` equal to `labels` (the source's class kept through the translation)."""
    return float((predictions.cpu() == labels.cpu()).float().mean())


def fid_on_features(real_features, fake_features) -> float:
    """Fréchet distance between two feature sets (rows = images)."""
    from hfgen.metrics.distances import fid_from_features

    return float(fid_from_features(np.asarray(real_features, dtype=np.float64), np.asarray(fake_features, dtype=np.float64)))


def reference_domains(dataset):
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


def _split_name(dataset) -> str:
    name = getattr(dataset, "name", None)
    if name == "mnist5k-unpaired":
        return "test"
    if isinstance(name, str) and os.path.isdir(os.path.join(os.path.expanduser(name), "testA")):
        return "testA/testB"
    return "train"


class CycleGANEvaluator:
    """`evaluator(pipeline) -> {"metrics", "protocol", "details"}` for a CycleGANPipeline, both directions.

    `dataset` is the training data (an UnpairedDataset, or the name ``mnist5k-unpaired``); the
    evaluation uses its held-out images (`reference_domains`), at most `num_samples` per direction.
    """

    def __init__(self, dataset, num_samples: int = 250, seed: int = 0, batch_size: int = 250):
        if isinstance(dataset, str):
            if dataset != "mnist5k-unpaired":
                from hfgen.data import load_unpaired_datasets

                dataset = load_unpaired_datasets(dataset)
            else:
                from hfgen.data.styled_digits import load_styled_digits

                dataset = load_styled_digits("train")
        if not getattr(dataset, "domains", None):
            raise EvaluationError("CycleGAN evaluation needs two domains (unpaired data: a trainA/trainB folder or mnist5k-unpaired).")
        if num_samples < 2:
            raise EvaluationError(f"num_samples must be >= 2 per direction (FID needs two images), got {num_samples}.")
        self.dataset_name = dataset.name
        self.split = _split_name(dataset)
        self.domains = reference_domains(dataset)
        self.num_samples, self.seed, self.batch_size = num_samples, seed, batch_size
        self.with_classifiers = dataset.name == "mnist5k-unpaired"

    def _sources(self, domain: str):
        data = self.domains[domain]
        n = min(self.num_samples, len(data))
        # A fixed random subset (seed), the same for every model evaluated with this protocol.
        idx = torch.randperm(len(data), generator=torch.Generator().manual_seed(self.seed))[:n].sort().values
        batch = data.get_batch(idx)
        return batch["pixel_values"], batch.get("labels")

    @torch.no_grad()
    def __call__(self, pipeline) -> dict:
        metrics, details = {}, {}
        protocol = {
            "dataset": self.dataset_name, "split": self.split, "seed": self.seed, "versions": versions(),
            "directions": {"a_to_b": "G: A -> B (generator_a_to_b)", "b_to_a": "F: B -> A (generator_b_to_a)"},
            "cycle_l1": "mean |F(G(x)) - x| (resp. |G(F(y)) - y|) in [-1, 1] pixel units, through the pipeline (8-bit inputs)",
        }
        classifiers, shas = {}, {}
        if self.with_classifiers:
            from hfgen.metrics.styled_digits import classifier_metadata, load_styled_digit_classifier

            classifiers = {d: load_styled_digit_classifier(d) for d in ("domain_a", "domain_b")}
            shas = {d: classifier_metadata(d)["sha256"] for d in classifiers}
        for direction, (source, target) in DIRECTIONS.items():
            x, labels = self._sources(source)
            back = "b_to_a" if direction == "a_to_b" else "a_to_b"
            translated = translate(pipeline, x, direction, self.batch_size)
            reconstructed = translate(pipeline, translated, back, self.batch_size)
            metrics[f"{direction}_cycle_l1"] = float((reconstructed - x.float()).abs().mean())
            if classifiers:
                from hfgen.metrics.styled_digits import classify_domain

                fake = classify_domain(translated, target, classifiers[target])
                real_images = self.domains[target].tensors["pixel_values"]
                real = classify_domain(real_images, target, classifiers[target])
                metrics[f"{direction}_fid"] = fid_on_features(real["features"].numpy(), fake["features"].numpy())
                metrics[f"{direction}_content_accuracy"] = content_accuracy(fake["predictions"], labels)
                # What the classifier makes of the untranslated sources: the floor a "translation" that
                # ignores its input would reach is chance (0.1), this is how well the target classifier
                # reads the source style as is.
                details[f"{direction}_untranslated_accuracy"] = content_accuracy(
                    classify_domain(x.float(), target, classifiers[target])["predictions"], labels)
                protocol.setdefault("n_real_per_direction", {})[direction] = int(real_images.shape[0])
            protocol.setdefault("n_generated_per_direction", {})[direction] = int(x.shape[0])
        # Single numbers for the card's summary: the smaller of the two directions' counts.
        protocol["n_generated"] = min(protocol["n_generated_per_direction"].values())
        if "n_real_per_direction" in protocol:
            protocol["n_real"] = min(protocol["n_real_per_direction"].values())
        if classifiers:
            protocol.update(
                extractor="mnist5k-unpaired domain classifiers",
                extractor_sha256=shas, feature_dim=128, resize="none",
                content_accuracy="the TARGET domain's classifier gives the SOURCE image's label",
            )
        else:
            protocol["note"] = ("FID and content accuracy need a classifier per domain (shipped for mnist5k-unpaired only): "
                                "these data get the cycle L1.")
        return {"metrics": metrics, "protocol": protocol, "details": details}

    def floors(self) -> dict:
        """No single-FID floor (the collapse monitor has no 'fid' to watch here)."""
        return {"real_vs_real": {"metrics": {}}}


def save_translation_grid(pipeline, inputs: dict, path: str) -> str:
    """Writes a PNG of rows: A inputs, G(A), F(G(A)), then B inputs, F(B), G(F(B)) (`inputs`: {domain: [N, C, H, W] in [-1, 1]})."""
    from hfgen.training.visualize import save_image_grid

    rows = []
    for direction, (source, _) in DIRECTIONS.items():
        back = "b_to_a" if direction == "a_to_b" else "a_to_b"
        x = inputs[source].float().cpu()
        y = translate(pipeline, x, direction)
        z = translate(pipeline, y, back)
        rows += [x, y, z]
    n = rows[0].shape[0]
    rgb = [r.repeat(1, 3, 1, 1) if r.shape[1] == 1 else r for r in rows]
    images = ((torch.cat(rgb) + 1) / 2).clamp(0, 1).permute(0, 2, 3, 1).numpy()
    return save_image_grid(images, path, nrow=n, scale=max(1, min(4, 128 // images.shape[1])))


def format_directions(result: dict) -> str:
    """A table with one row per metric and one column per direction."""
    metrics = result["metrics"]
    names = sorted({k.split("_", 3)[-1] for k in metrics}, key=["fid", "content_accuracy", "cycle_l1"].index)
    lines = [f"{'metric':<18} {'A -> B':>10} {'B -> A':>10}", f"{'-' * 18} {'-' * 10} {'-' * 10}"]
    for name in names:
        cells = [metrics.get(f"{d}_{name}") for d in DIRECTIONS]
        lines.append(f"{name:<18} " + " ".join(f"{v:>10.4f}" if v is not None else f"{'-':>10}" for v in cells))
    p = result["protocol"]
    lines += ["", f"dataset:    {p['dataset']} (split {p['split']}), {p['n_generated']} source images per direction, seed {p['seed']}"]
    if p.get("extractor"):
        lines.append(f"features:   {p['extractor']} ({p['feature_dim']}-d); content = {p['content_accuracy']}")
    if p.get("note"):
        lines.append(f"note:       {p['note']}")
    return "\n".join(lines)


def cli_evaluate_translation(pipeline, args, output: str) -> int:
    """`hfgen evaluate` for a CycleGANPipeline: both directions on `--dataset`'s held-out images; prints a table, writes JSON."""
    import json
    import sys

    from hfgen.data import DataError

    try:
        evaluator = CycleGANEvaluator(args.dataset, num_samples=args.num_samples, seed=args.seed, batch_size=args.batch_size)
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


def _read_inputs(path: str):
    """PIL images of `path` (one image file, or every image of a folder, sorted by name) and their names."""
    from PIL import Image

    from hfgen.data.images import find_image_files

    if os.path.isdir(path):
        files = sorted(find_image_files(path))
        if not files:
            raise ValueError(f"--input {path} holds no image files: pass an image or a folder of images (png, jpg, ...).")
    elif os.path.isfile(path):
        files = [path]
    else:
        raise ValueError(f"--input {path} does not exist: pass an image file or a folder of images.")
    images = []
    for file in files:
        try:
            with Image.open(file) as img:
                images.append(img.convert("RGB") if img.mode not in ("RGB", "L") else img.copy())
        except OSError as error:
            raise ValueError(f"--input: cannot read {file} as an image ({error}).") from None
    return images, files


def cli_translate(pipeline, args) -> int:
    """`hfgen sample --model CYCLEGAN --input IMG|DIR --direction a_to_b|b_to_a`: writes a grid of inputs (top) and translations."""
    from hfgen.training.visualize import save_image_grid

    if not args.input:
        raise ValueError(f"{type(pipeline).__name__} translates images: pass --input IMAGE_OR_FOLDER (and --direction a_to_b or b_to_a).")
    direction = args.direction or "a_to_b"
    if direction not in DIRECTIONS:
        raise ValueError(f"--direction {direction!r} is not supported; choose a_to_b (domain A -> B) or b_to_a (domain B -> A).")
    images, _ = _read_inputs(args.input)
    out = pipeline(image=images, direction=direction, output_type="np").images
    model = pipeline.generator_a_to_b if direction == "a_to_b" else pipeline.generator_b_to_a
    size, c_in = model.config.image_size, model.config.in_channels
    shown = ((prepare_inputs_for_grid(images, size, c_in) + 1) / 2).permute(0, 2, 3, 1).numpy()
    if shown.shape[-1] != out.shape[-1]:
        shown, out = [a.repeat(3, axis=-1) if a.shape[-1] == 1 else a for a in (shown, out)]
    grid = np.concatenate([shown, out])
    save_image_grid(grid, args.output, nrow=len(images), scale=max(1, min(4, 128 // out.shape[1])))
    print(os.path.abspath(args.output))
    return 0


def prepare_inputs_for_grid(images, size: int, channels: int) -> torch.Tensor:
    """The inputs as the pipeline sees them ([N, C, size, size] in [-1, 1])."""
    from hfgen.pipelines.hfgen_pipeline_utils import prepare_image_input

    return prepare_image_input(images, size, channels)
