"""Evaluation of text-to-image pipelines on the embedded `shapes` prompts (`hfgen evaluate`, end of training).

Every one of the 48 colour x shape x position combinations is prompted with its caption (first
template, e.g. "a red circle at the top left"), `per_prompt` images each, and scored with:

- attribute accuracy (colour, shape, position, all three) by the shipped shapes evaluator
  (`hfgen.metrics.shapes`), on all 48 prompts and separately on the 42 training and the 6 held-out
  combinations (compositions the model never saw);
- shapes-FID: Frechet distance between the evaluator's CNN features of the generated images and of
  real images of all 48 combinations;
- CLIP score and R-precision (the true caption ranked among itself and 99 captions of OTHER
  combinations, AttnGAN's protocol) with a CLIP model: the one shipped with hfgen for shapes
  (`hfgen/metrics/weights/shapes_clip`, trained by `hfgen train clip --dataset shapes`), or `clip_model`;
- diversity: per prompt, the pixel standard deviation across its images, averaged over pixels and
  prompts (in [0, 1] pixel units): 0 means every noise gives the same image.

`floors()` gives the same figures for real images with their own captions (what a perfect model
gets) and with shuffled captions (what a model that ignores the text gets).
"""

from __future__ import annotations

import hashlib
import os
from typing import Optional

import numpy as np
import torch

from ._common import EvaluationError

__all__ = ["TextToImageEvaluator", "is_text_pipeline", "load_shapes_clip", "format_text_table", "SHAPES_CLIP_DIR"]

#: the CLIP shipped for the shapes metrics (a `transformers.CLIPModel` folder with its word tokenizer)
SHAPES_CLIP_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "metrics", "weights", "shapes_clip")
#: sha256 of its model.safetensors (scripts/train_shapes_clip.py), checked at load: numbers stay comparable
SHAPES_CLIP_SHA256: Optional[str] = "f5d1201a6bd8252df6f9181c3862b6e22ae31310f054935554d4fcd3585651d7"


def is_text_pipeline(pipe) -> bool:
    """Whether `pipe` generates from prompts (a text encoder and a tokenizer among its components)."""
    components = getattr(pipe, "components", None) or {}
    return "text_encoder" in components and "tokenizer" in components


def load_shapes_clip(path: Optional[str] = None, device="cpu"):
    """(CLIPModel, tokenizer, description) of `path` (a CLIP export folder), default the shipped shapes CLIP."""
    from transformers import AutoTokenizer, CLIPModel

    from hfgen.text import _quiet_transformers

    folder = path or SHAPES_CLIP_DIR
    weights = os.path.join(folder, "model.safetensors")
    if not os.path.isfile(weights) or not os.path.isfile(os.path.join(folder, "config.json")):
        raise EvaluationError(f"--clip_model {folder!r} holds no config.json + model.safetensors: pass the folder of a CLIP "
                              "exported by `hfgen train clip` (or a transformers CLIPModel saved with safetensors).")
    with open(weights, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    if path is None and sha != SHAPES_CLIP_SHA256:
        raise EvaluationError(f"the shipped shapes CLIP ({weights}) has sha256 {sha}, not the recorded {SHAPES_CLIP_SHA256}: "
                              "the file was changed; reinstall hfgen (or re-run scripts/train_shapes_clip.py and record its hash).")
    with _quiet_transformers():
        model = CLIPModel.from_pretrained(folder, use_safetensors=True).to(device).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    name = "hfgen/shapes_clip" if path is None else os.path.abspath(folder)
    return model, tokenizer, {"clip_model": name, "clip_sha256": sha}


def _pixel_diversity(images: torch.Tensor, groups: int) -> float:
    """Mean over `groups` consecutive blocks of images of the per-pixel std across the block ([0, 1] images)."""
    per = images.reshape(groups, -1, *images.shape[1:])
    if per.shape[1] < 2:
        return float("nan")
    return float(per.std(dim=1).mean())


class TextToImageEvaluator:
    """Scores a text-to-image pipeline on the 48 shapes prompts: `evaluator(pipe) -> {"metrics", "protocol", "details"}`.

    Args:
        num_samples: generated images in all (at least 2 per prompt, so that diversity is defined).
        seed: seeds the noise, the real reference images and the R-precision negatives.
        clip_model: folder of the CLIP of the CLIP score and R-precision (default: the shipped one);
            `clip=False` skips those two metrics (periodic evaluations during training).
        num_real: real images for the FID reference and the floors (default: as many as generated, at least 500).
    """

    def __init__(self, num_samples: int = 480, seed: int = 0, clip_model: Optional[str] = None, clip: bool = True,
                 num_real: Optional[int] = None, dataset_name: str = "shapes"):
        from hfgen.data.shapes import NUM_COMBINATIONS

        if dataset_name != "shapes":
            raise EvaluationError(
                f"text-to-image evaluation scores the 48 prompts of the embedded shapes data (attribute accuracy needs known "
                f"attributes); got --dataset {dataset_name!r}: pass --dataset shapes."
            )
        self.per_prompt = max(2, int(num_samples) // NUM_COMBINATIONS)
        self.seed, self.use_clip, self.clip_path = int(seed), clip, clip_model
        self.num_real = int(num_real) if num_real is not None else max(500, self.per_prompt * NUM_COMBINATIONS)
        self._clip, self._real, self._size = None, {}, None

    # -- shared pieces ---------------------------------------------------------------------------

    def _prompts(self):
        from hfgen.data.shapes import NUM_COMBINATIONS, TRAIN_COMBINATIONS, caption_for, combination_attributes

        combos = list(range(NUM_COMBINATIONS))
        prompts = [caption_for(*combination_attributes(i)) for i in combos]
        train = set(TRAIN_COMBINATIONS)
        return combos, prompts, train

    def _clip_bundle(self):
        if self._clip is None:
            self._clip = load_shapes_clip(self.clip_path, device="cpu")
        return self._clip

    def _caption_pool(self):
        """Every caption of every combination (all templates), with the combination it describes."""
        from hfgen.data.shapes import CAPTION_TEMPLATES, NUM_COMBINATIONS, caption_for, combination_attributes

        pool = {}
        for i in range(NUM_COMBINATIONS):
            for t in range(len(CAPTION_TEMPLATES)):
                pool[caption_for(*combination_attributes(i), template=t)] = i
        return pool

    def _scores(self, images: torch.Tensor, combos: np.ndarray, captions: list[str], groups: Optional[int]) -> dict:
        """Attribute accuracy (all / train / held-out), CLIP score, R-precision and diversity of images [N, 3, H, W] in
        [0, 1] requested as `combos` (combination index per image) with `captions`."""
        from hfgen.data.shapes import TRAIN_COMBINATIONS, combination_attributes
        from hfgen.metrics.shapes import score_attributes

        attrs = np.array([combination_attributes(int(c)) for c in combos])
        train = np.isin(combos, list(TRAIN_COMBINATIONS))
        signed = images * 2 - 1
        metrics = {}
        for name, mask in (("all", np.ones(len(combos), bool)), ("train", train), ("heldout", ~train)):
            if mask.any():
                idx = torch.from_numpy(np.flatnonzero(mask))
                s = score_attributes(signed[idx], attrs[mask, 0], attrs[mask, 1], attrs[mask, 2])
                metrics.update({f"{name}_{k}": v for k, v in s.items() if k != "num_images"})
        if self.use_clip:
            from hfgen.metrics.clip import clip_score, r_precision

            model, tokenizer, _ = self._clip_bundle()
            pool = self._caption_pool()
            metrics["clip_score"] = clip_score(model, tokenizer, images, captions)
            metrics["r_precision"] = r_precision(model, tokenizer, images, captions, caption_pool=list(pool), k=1, negatives=99,
                                                 seed=self.seed, caption_groups=pool)
        if groups:
            metrics["diversity"] = _pixel_diversity(images, groups)
        return metrics

    def _real_images(self):
        """`num_real` real images of all 48 combinations (seeded) at the generated images' side (32 before any call), in
        [0, 1], with their combinations."""
        from hfgen.data.shapes import render_shapes

        size = self._size or 32
        if size not in self._real:
            sample = render_shapes(self.num_real, size, seed=10_000 + self.seed)
            self._real[size] = (sample.images.float() / 255.0, sample.combination.astype(np.int64))
        return self._real[size]

    # -- evaluation -----------------------------------------------------------------------------------

    def __call__(self, pipeline) -> dict:
        """Generates `per_prompt` images for each of the 48 prompts and scores them (see the module docstring)."""
        from hfgen.evaluation.features import FeatureExtractor
        from hfgen.metrics.distances import fid_from_features

        combos, prompts, _ = self._prompts()
        n = self.per_prompt
        generator = torch.Generator(device=pipeline.device).manual_seed(self.seed)
        images = pipeline(prompts, num_images_per_prompt=n, generator=generator, output_type="pt").images.float().cpu()
        self._size = int(images.shape[-1])
        wanted = np.repeat(np.array(combos), n)
        captions = [p for p in prompts for _ in range(n)]
        metrics = self._scores(images, wanted, captions, groups=len(prompts))
        extractor = FeatureExtractor("shapes", device=torch.device("cpu"), batch_size=500)
        real, _ = self._real_images()
        metrics["fid"] = fid_from_features(extractor(real * 2 - 1)[0], extractor(images * 2 - 1)[0])
        protocol = {
            "dataset": "shapes", "split": "all 48 combinations (42 training + 6 held out)", "prompts": len(prompts),
            "prompt_template": 0, "images_per_prompt": n, "n_generated": len(wanted), "n_real": len(real), "seed": self.seed,
            "extractor": extractor.label, "extractor_sha256": extractor.sha256, "feature_dim": extractor.feature_dim,
            "feature_metrics": ["fid"],  # the rest are not computed on the extractor's features (hfgen.hub.cards)
            "resize": "32x32 for the shapes evaluator" if self._size != 32 else "none",
            "metric_settings": {
                "attributes": "colour and position analytic, shape by the shipped CNN (hfgen.metrics.shapes)",
                "train/heldout": "the 42 training and 6 held-out combinations (hfgen.data.shapes.HELD_OUT)",
                "diversity": "mean over prompts and pixels of the std across one prompt's images ([0, 1] pixels)",
                "fid": f"shapes evaluator features of the generated images vs {len(real)} real images of the 48 combinations",
            },
        }
        if self.use_clip:
            protocol.update(self._clip_bundle()[2])
            protocol["metric_settings"]["r_precision"] = ("top-1 of the true caption among itself and 99 captions of other "
                                                          "combinations (any template), drawn at random; chance 0.01")
            protocol["metric_settings"]["clip_score"] = "100 * max(cos(image, caption), 0), averaged (Hessel et al. 2021)"
        from ._common import versions

        protocol["versions"] = versions()
        return {"metrics": metrics, "protocol": protocol, "details": {"prompts": prompts}}

    def floors(self) -> dict:
        """The same scores for real images: `real_own_captions` (ceiling), `real_shuffled_captions` (a model ignoring the
        text), and `real_vs_real` (its `fid`: two halves of the real set)."""
        from hfgen.data.shapes import caption_for, combination_attributes
        from hfgen.evaluation.features import FeatureExtractor
        from hfgen.metrics.distances import fid_from_features

        real, combos = self._real_images()
        order = np.argsort(combos, kind="stable")
        real, combos = real[torch.from_numpy(order)], combos[order]
        # Diversity of real images needs equal groups: as many per combination as the rarest one has (at most per_prompt).
        counts = np.bincount(combos, minlength=48)
        k = int(min(counts.min(), self.per_prompt))
        pick = np.concatenate([np.flatnonzero(combos == c)[:k] for c in range(48)]) if k >= 2 else None
        own = [caption_for(*combination_attributes(int(c))) for c in combos]
        rng = np.random.default_rng(self.seed)
        shuffled_combos = combos[rng.permutation(len(combos))]
        shuffled = [caption_for(*combination_attributes(int(c))) for c in shuffled_combos]
        out_own = self._scores(real, combos, own, groups=None)
        if pick is not None:
            out_own["diversity"] = _pixel_diversity(real[torch.from_numpy(pick)], 48)
        # Shuffled: the attributes asked for are those of the shuffled captions.
        out_shuffled = self._scores(real, shuffled_combos, shuffled, groups=None)
        extractor = FeatureExtractor("shapes", device=torch.device("cpu"), batch_size=500)
        feats = extractor(real[torch.from_numpy(rng.permutation(len(real)))] * 2 - 1)[0]
        half = len(feats) // 2
        fid = fid_from_features(feats[:half], feats[half:])
        out_own["fid"] = fid
        return {"real_own_captions": {"metrics": out_own, "n_real": len(real)},
                "real_shuffled_captions": {"metrics": out_shuffled, "n_real": len(real)},
                "real_vs_real": {"metrics": {"fid": fid}, "n_real": half, "n_generated": len(feats) - half}}


def format_text_table(result: dict, floors: Optional[dict] = None) -> str:
    """The evaluation as a table (model, and real images with their own / shuffled captions when `floors` is given)."""
    from .cli import _fmt

    header = ["metric", "model"] + (["real (own captions)", "real (shuffled captions)"] if floors else [])
    rows = []
    for name, value in result["metrics"].items():
        row = [name, _fmt(value)]
        if floors:
            row += [_fmt(floors["real_own_captions"]["metrics"].get(name)), _fmt(floors["real_shuffled_captions"]["metrics"].get(name))]
        rows.append(row)
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths))),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))) for row in rows]
    p = result["protocol"]
    lines += [
        "",
        f"prompts:    the {p['prompts']} shapes combinations (caption template {p['prompt_template']}), "
        f"{p['images_per_prompt']} images each, seed {p['seed']}; train_* = 42 training, heldout_* = 6 held-out combinations",
        f"attributes: {p['metric_settings']['attributes']}",
        f"fid:        {p['metric_settings']['fid']} ({p['extractor']}, sha256 {str(p.get('extractor_sha256'))[:16]}...)",
    ]
    if "clip_model" in p:
        lines.append(f"clip:       {p['clip_model']} (sha256 {p['clip_sha256'][:16]}...); r_precision: {p['metric_settings']['r_precision']}")
    lines.append(f"diversity:  {p['metric_settings']['diversity']}")
    return "\n".join(lines)


def evaluate_text_pipeline(args, pipe, output: str) -> int:
    """`hfgen evaluate` on a text-to-image pipeline (the hook of `hfgen.evaluation.cli`): prints the table, writes JSON.

    Uses `--dataset` (must be shapes), `--num_samples`, `--seed`, `--floors` and `--clip_model`.
    """
    import json
    import sys

    ignored = [flag for flag, value in (("--steps", getattr(args, "steps", None)), ("--mixture_centers", getattr(args, "mixture_centers", None)),
                                        ("--metrics", None if getattr(args, "metrics", "auto") == "auto" else args.metrics))
               if value]
    if ignored:
        print(f"error: {', '.join(ignored)} {'does' if len(ignored) == 1 else 'do'} not apply to a text-to-image model (it is "
              "scored with the fixed text-to-image protocol of hfgen.evaluation.text): drop the flag.", file=sys.stderr)
        return 2
    try:
        evaluator = TextToImageEvaluator(num_samples=args.num_samples, seed=args.seed, clip_model=getattr(args, "clip_model", None),
                                         dataset_name=args.dataset)
        result = evaluator(pipe)
        floors = evaluator.floors() if args.floors else None
    except EvaluationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    report = {"model": args.model, "metrics": result["metrics"], "protocol": result["protocol"], "details": result["details"]}
    if floors is not None:
        report["floors"] = floors
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    with open(output, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2, default=float)
        f.write("\n")
    print(f"Evaluation of {args.model} (text to image) on the {args.dataset} prompts\n")
    print(format_text_table(result, floors))
    print(f"\nwrote {os.path.abspath(output)}")
    return 0
