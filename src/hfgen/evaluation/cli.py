"""``hfgen evaluate``: score a saved pipeline against a dataset, print a table, write ``eval_results.json``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

import numpy as np
import torch

from ._common import EvaluationError, pipeline_num_classes
from .evaluator import Evaluator
from .features import EXTRACTORS
from .scores import METRIC_NAMES

__all__ = ["cli_evaluate", "format_table"]

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


def format_sweep(sweep: dict) -> str:
    """Table of a number-of-steps sweep: one row per ``num_inference_steps``, its metrics and seconds per sample."""
    rows = sweep["steps"]
    names = list(rows[0]["metrics"]) if rows else []
    header = ["steps", "s/sample"] + names
    body = [[str(r["num_inference_steps"]), f"{r['seconds_per_sample']:.4f}"] + [_fmt(r["metrics"].get(n)) for n in names]
            for r in rows]
    widths = [max(len(row[i]) for row in body + [header]) for i in range(len(header))]
    lines = ["  ".join(h.rjust(w) for h, w in zip(header, widths)), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in body]
    return "\n".join(lines)


def _last_step(sweep: dict) -> dict:
    """The sweep's last (largest requested) step count as the main result of the report."""
    last = sweep["steps"][-1]
    protocol = dict(sweep["protocol"], sampler={"num_inference_steps": last["num_inference_steps"]})
    return {"metrics": last["metrics"], "protocol": protocol, "details": {}}


def _load_pipeline(path: str, trust_remote_code: bool) -> Any:
    """Any hfgen folder: through ``hfgen.pipelines.load_pipeline`` (dispatch on model_index.json's
    ``_class_name``) where this hfgen has it, else as a ``GANPipeline``."""
    import hfgen.pipelines as pipelines

    load = getattr(pipelines, "load_pipeline", None)
    if load is not None:
        from .samplers import accepts_argument

        return load(path, trust_remote_code=trust_remote_code) if accepts_argument(load, "trust_remote_code") else load(path)
    return pipelines.GANPipeline.from_pretrained(path, trust_remote_code=trust_remote_code)


def _image_spec(pipe: Any) -> tuple[int | None, int | None]:
    """(image side, channels) of what ``pipe`` generates, from the first component whose config says
    (``image_size``/``sample_size`` and ``num_channels``/``out_channels``); (None, None) for point generators."""
    components = [getattr(pipe, "gan_generator", None)] + list((getattr(pipe, "components", None) or {}).values())
    for component in components:
        config = getattr(component, "config", None)
        if config is None:
            continue
        size = getattr(config, "image_size", None) or getattr(config, "sample_size", None)
        channels = getattr(config, "num_channels", None) or getattr(config, "out_channels", None)
        if isinstance(size, (tuple, list)):
            size = size[0]
        if size and channels:
            return int(size), int(channels)
    return None, None


def _diffusion_sampler(pipe: Any, scheduler: str | None, steps: list[int] | None) -> Any:
    """A diffusion pipeline with the sampler `scheduler` (None: its own), after checking `steps` against
    the number of timesteps it was trained with."""
    from hfgen.training.args import ConfigurationError
    from hfgen.training.ddpm import check_inference_steps, with_sampler

    trained = getattr(pipe.scheduler.config, "num_train_timesteps", None)
    try:
        if steps and trained:
            check_inference_steps(steps, int(trained), "--steps")
        return with_sampler(pipe, scheduler)
    except ConfigurationError as error:
        raise EvaluationError(str(error)) from None


def cli_evaluate(argv: list[str]) -> int:
    """``hfgen evaluate``: evaluate an exported pipeline against a dataset, print a table, write JSON.

    Returns the process exit code (0 on success, 2 on a usage / data / missing-weights error).
    """
    parser = argparse.ArgumentParser(
        prog="hfgen evaluate",
        description="Evaluate a saved pipeline (FID/KID/IS/precision-recall/coverage/classes/modes/condition accuracy) with a recorded protocol.",
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
    parser.add_argument("--extractor", default="auto", choices=list(EXTRACTORS))
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
    parser.add_argument("--steps", default=None,
                        help="Diffusion pipelines: comma-separated num_inference_steps to sweep (e.g. 10,25,50,100,1000): "
                             "the metrics and seconds per sample at each, with the same seed.")
    parser.add_argument("--scheduler", default=None, choices=("ddpm", "ddim", "dpm++"),
                        help="Diffusion pipelines: the sampler, built from the folder's scheduler config (ddim and dpm++ with "
                             "trailing timestep spacing). Default: the folder's own scheduler.")
    parser.add_argument("--guidance_scale", type=float, default=None,
                        help="Guided text-to-image diffusion: classifier-free guidance scale (default: the pipeline's, 3).")
    parser.add_argument("--clip_model", default=None,
                        help="Text-to-image models: folder of the CLIP of the CLIP score and R-precision (default: hfgen's shapes CLIP).")
    args = parser.parse_args(argv)
    steps = None
    if args.steps:
        try:
            steps = [int(s) for s in args.steps.split(",") if s.strip()]
        except ValueError:
            parser.error(f"--steps takes comma-separated integers such as 10,25,50, got {args.steps!r}")

    from hfgen.data import DataError
    from hfgen.data.embedded import EMBEDDED_DATASETS

    output = args.output
    if output is None:
        output = os.path.join(args.model, "eval_results.json") if os.path.isdir(args.model) else "eval_results.json"
    try:
        pipe = _load_pipeline(args.model, args.trust_remote_code)
        device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
        pipe.to(device)
        if type(pipe).__name__ == "CycleGANPipeline":  # unpaired translation: both directions
            from .image2image import cli_evaluate_translation

            return cli_evaluate_translation(pipe, args, output)
        if getattr(pipe, "scheduler", None) is not None:  # a diffusion pipeline: sampler and step counts
            pipe = _diffusion_sampler(pipe, args.scheduler, steps)
            if hasattr(pipe, "check_guidance_scale"):  # prompts + classifier-free guidance (text-ddpm)
                from hfgen.training.text_ddpm import evaluate_guided_pipeline

                return evaluate_guided_pipeline(args, pipe, output, steps)
        elif args.scheduler:
            raise EvaluationError(f"--scheduler is for diffusion pipelines; {type(pipe).__name__} has no scheduler.")
        if args.guidance_scale is not None:
            raise EvaluationError(f"--guidance_scale is for guided text-to-image diffusion; {type(pipe).__name__} has no guidance.")
        from .text import evaluate_text_pipeline, is_text_pipeline

        if is_text_pipeline(pipe):  # prompts in, not noise: the text-to-image protocol (hfgen.evaluation.text)
            return evaluate_text_pipeline(args, pipe, output)
        from .image2image import is_image_to_image, translation_evaluator_for_cli

        if is_image_to_image(pipe):  # a translation (Pix2Pix): scored on held-out pairs of --dataset
            if args.floors or steps:
                raise EvaluationError("--floors and --steps do not apply to an image-to-image model: drop them.")
            evaluator = translation_evaluator_for_cli(args.dataset, pipe, num_samples=args.num_samples, seed=args.seed,
                                                      batch_size=args.batch_size, device=device, num_channels=args.num_channels)
        else:
            evaluator = None
        size, channels = _image_spec(pipe)
        dataset = args.dataset
        if evaluator is None and args.dataset not in EMBEDDED_DATASETS and size:
            dataset = _load_real_images(args, size, channels)
        evaluator = evaluator or Evaluator(
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
        sweep = evaluator.sweep_steps(pipe, steps) if steps else None
        result = evaluator(pipe) if sweep is None else _last_step(sweep)
        floors = evaluator.floors() if args.floors else None
    except (EvaluationError, DataError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.scheduler:
        result["protocol"].setdefault("sampler", {})["scheduler"] = args.scheduler + (" (trailing spacing)" if args.scheduler != "ddpm" else "")
        if sweep is not None:
            sweep["protocol"]["sampler"] = {**sweep["protocol"].get("sampler", {}), "scheduler": result["protocol"]["sampler"]["scheduler"]}
    num_classes = pipeline_num_classes(pipe)
    report = {
        "model": args.model,
        "metrics": result["metrics"],
        "protocol": result["protocol"],
        "details": result["details"],
        "class_labels": "balanced: arange(num_samples) % num_classes" if num_classes else None,
    }
    if floors is not None:
        report["floors"] = floors
    if sweep is not None:
        report["steps"] = sweep["steps"]
    folder = os.path.dirname(os.path.abspath(output))
    os.makedirs(folder, exist_ok=True)
    with open(output, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    print(f"Evaluation of {args.model} on {args.dataset}\n")
    print(format_table(result, floors))
    if sweep is not None:
        print("\n" + format_sweep(sweep))
    print(f"\nwrote {os.path.abspath(output)}")
    return 0
