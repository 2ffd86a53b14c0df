#!/usr/bin/env python
"""Train the small CLIPs shipped in ``src/hfgen/metrics/weights/``: ``shapes_clip/`` (CLIP score and R-precision of
text-to-image models on the embedded ``shapes`` data, `hfgen.evaluation.text`) and, with ``--what text_encoder``,
``shapes_text_encoder/`` (the frozen text encoder `hfgen train text-gan --dataset shapes` uses by default).

It is `hfgen train clip` on ``--dataset shapes --dataset_split all`` (all 48 combinations: the metric
must judge the held-out compositions too, while the text-to-image models never see them), 32x32, the
task's default sizes (two 64-wide layers per tower), then the exported ``CLIPModel`` folder (config,
safetensors, word-level tokenizer) is copied into the package with ``shapes_clip.json``: how it was
made, its R-precision on fresh real images (true caption among itself and 99 captions of OTHER
combinations) and the weights' sha256, which `hfgen.evaluation.text.load_shapes_clip` checks.

The text encoder is the text tower (a `CLIPTextModel` with the tokenizer) of the same training on the TRAINING
split only (42 combinations): a text-to-image model conditioned on it has then seen neither images nor
captions of the held-out compositions (a fair test of composition).

Runs on CPU with one thread in a few minutes::

    python scripts/train_shapes_clip.py                      # the metric's CLIP
    python scripts/train_shapes_clip.py --what text_encoder  # text-gan's default text encoder on shapes

After a run whose hash changed, paste the printed sha256 into ``SHAPES_CLIP_SHA256`` in
``src/hfgen/evaluation/text.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "src" / "hfgen" / "metrics" / "weights" / "shapes_clip"
FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--what", choices=("metric", "text_encoder"), default="metric")
    args = parser.parse_args()
    if args.what == "text_encoder":
        return text_encoder(args)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.set_num_threads(1)
    from hfgen.data.shapes import render_shapes
    from hfgen.evaluation.text import SHAPES_CLIP_SHA256, TextToImageEvaluator
    from hfgen.training import main as train

    argv = ["--dataset", "shapes", "--dataset_split", "all", "--resolution", "32", "--max_train_steps", str(args.steps),
            "--seed", str(args.seed), "--checkpointing_steps", "0", "--sample_steps", "0", "--report_to", "none",
            "--disable_tqdm", "--num_threads", "1"]
    with tempfile.TemporaryDirectory(prefix="hfgen-shapes-clip-") as scratch:
        train("clip", argv + ["--output_dir", scratch])
        TARGET.mkdir(parents=True, exist_ok=True)
        for name in FILES:
            shutil.copyfile(os.path.join(scratch, name), TARGET / name)
    sha = hashlib.sha256((TARGET / "model.safetensors").read_bytes()).hexdigest()
    # Its quality as a metric: real images of the 48 combinations (fresh seed) with their own and shuffled captions.
    evaluator = TextToImageEvaluator(num_samples=480, seed=99, clip_model=str(TARGET), num_real=2000)
    floors = evaluator.floors()
    keep = ("clip_score", "r_precision")
    meta = {
        "name": "shapes_clip",
        "command": "hfgen train clip " + " ".join(argv),
        "train_data": "hfgen.data.shapes.load_shapes('all'): 12000 images of all 48 combinations, seed 0, 32x32",
        "test": "render_shapes(2000, 32, seed=10099): real images with their own (template 0) and shuffled captions",
        "real_own_captions": {k: floors["real_own_captions"]["metrics"][k] for k in keep},
        "real_shuffled_captions": {k: floors["real_shuffled_captions"]["metrics"][k] for k in keep},
        "sha256": sha,
    }
    (TARGET / "shapes_clip.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(json.dumps(meta, indent=2))
    if SHAPES_CLIP_SHA256 != sha:
        print(f"The weights changed: set SHAPES_CLIP_SHA256 = {sha!r} in src/hfgen/evaluation/text.py")


def text_encoder(args) -> None:
    """`hfgen train clip` on the training split; its text tower and tokenizer go to weights/shapes_text_encoder/."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    torch.set_num_threads(1)
    from hfgen.training import main as train

    target = TARGET.parent / "shapes_text_encoder"
    argv = ["--dataset", "shapes", "--resolution", "32", "--max_train_steps", str(args.steps), "--seed", str(args.seed),
            "--report_to", "none", "--disable_tqdm", "--num_threads", "1"]
    with tempfile.TemporaryDirectory(prefix="hfgen-shapes-text-encoder-") as scratch:
        summary = train("clip", argv + ["--output_dir", scratch])
        export_text_tower(scratch, target)
    meta = {"name": "shapes_text_encoder", "command": "hfgen train clip " + " ".join(argv) + " (text tower kept)",
            "train_data": "hfgen.data.shapes.load_shapes('train'): 12000 images of the 42 training combinations, seed 0, 32x32",
            "clip_metrics_on_training_data": summary.get("metrics"),
            "sha256": hashlib.sha256((target / "model.safetensors").read_bytes()).hexdigest()}
    (target / "shapes_text_encoder.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(json.dumps(meta, indent=2))


def export_text_tower(clip_folder, target) -> None:
    """Saves the `CLIPTextModel` of an exported CLIP folder, with its tokenizer, into `target` (safetensors)."""
    from hfgen.text import load_text_encoder

    tokenizer, tower = load_text_encoder(str(clip_folder))  # the CLIPTextModel of the CLIPModel, with its tokenizer
    Path(target).mkdir(parents=True, exist_ok=True)
    tower.save_pretrained(target, safe_serialization=True)
    tokenizer.save_pretrained(target)


if __name__ == "__main__":
    main()
