"""The embedded ``shapes`` data (hfgen.data.shapes) and its attribute evaluator (hfgen.metrics.shapes).

Each test guards a promise of issue 11's "Data: embedded shapes" section; none of this existed before.
"""

from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from hfgen.data import InvalidArgumentError, load_train_dataset
from hfgen.data.shapes import (
    CAPTION_TEMPLATES,
    COLOURS,
    HELD_OUT,
    NUM_COMBINATIONS,
    POSITIONS,
    SHAPES,
    TRAIN_COMBINATIONS,
    caption_for,
    combination_attributes,
    combination_index,
    render_shapes,
)
from hfgen.metrics.shapes import load_shapes_evaluator, score_attributes

HELD_OUT_INDICES = {combination_index(*t) for t in HELD_OUT}


def _floats(images: torch.Tensor) -> torch.Tensor:
    return images.float() / 127.5 - 1.0


@pytest.fixture(scope="module")
def shapes_net():
    return load_shapes_evaluator()


def test_rendering_is_deterministic_from_the_seed():
    """Same seed -> bitwise the same images, captions and attributes; another seed -> other images."""
    a, b, c = render_shapes(40, 32, seed=5), render_shapes(40, 32, seed=5), render_shapes(40, 32, seed=6)
    assert a.images.shape == (40, 3, 32, 32) and a.images.dtype == torch.uint8
    assert torch.equal(a.images, b.images) and a.captions == b.captions
    assert np.array_equal(a.combination, b.combination)
    assert not torch.equal(a.images, c.images)
    # balanced over the requested combinations
    counts = np.bincount(render_shapes(96, 16, seed=0).combination, minlength=NUM_COMBINATIONS)
    assert counts.min() == counts.max() == 2


def test_held_out_combinations_never_reach_training():
    """The training split holds exactly the 42 training combinations; every colour, shape, position
    and every pair of them still appears there; the heldout/test split holds only the 6 held-out ones."""
    assert len(HELD_OUT) == 6 and len(HELD_OUT_INDICES) == 6 and len(TRAIN_COMBINATIONS) == 42
    train = load_train_dataset("shapes", num_samples=2000)
    seen = set(train.tensors["labels"].tolist())
    assert seen == set(TRAIN_COMBINATIONS) and not seen & HELD_OUT_INDICES
    triples = [combination_attributes(i) for i in seen]
    for a, b in itertools.combinations(range(3), 2):
        sizes = (len(COLOURS), len(SHAPES), len(POSITIONS))
        assert {(t[a], t[b]) for t in triples} == set(itertools.product(range(sizes[a]), range(sizes[b])))
    for split in ("heldout", "test"):
        held = load_train_dataset("shapes", split=split, num_samples=120)
        assert set(held.tensors["labels"].tolist()) == HELD_OUT_INDICES
    # held-out images are drawn with their own seed, not re-used training draws
    assert not torch.equal(held.storage["pixel_values"][:10], train.storage["pixel_values"][:10])


@pytest.mark.parametrize("resolution", [16, 32, 64])
def test_edges_are_anti_aliased(resolution):
    """Edge pixels blend shape and background: values strictly between them exist in every image."""
    s = render_shapes(24, resolution, seed=1)
    x = s.images.float()
    strength = x.amax(dim=1)  # background is black: the strongest channel is the shape's coverage
    for img, c in zip(strength, s.colour):
        peak = img.max()
        partial = (img > 0.05 * peak) & (img < 0.95 * peak)
        assert partial.sum() >= 3, "no partially covered pixels: the edges are aliased"


def test_captions_name_the_drawn_attributes():
    """Every caption of an image names its colour, shape and position; several wordings per image."""
    s = render_shapes(48, 32, seed=2)
    for caps, c, sh, p in zip(s.captions, s.colour, s.shape, s.position):
        assert len(set(caps)) == len(CAPTION_TEMPLATES) >= 3
        for cap in caps:
            assert COLOURS[c] in cap and SHAPES[sh] in cap and POSITIONS[p] in cap
            others = [n for n in COLOURS if n != COLOURS[c]] + [n for n in SHAPES if n != SHAPES[sh]]
            assert not any(f" {n}" in f" {cap}" for n in others)
    assert caption_for("red", "circle", "top left") == "a red circle in the top left corner"
    assert caption_for(0, 0, 0, template=1) == "top left: red circle"
    with pytest.raises(ValueError, match="unknown colour 'purple'"):
        caption_for("purple", "circle", "top left")


def test_load_train_dataset_shapes_has_captions_and_labels():
    """`--dataset shapes`: uint8 RGB rows at --resolution, several captions per row (a batch draws one
    with the loop's generator), labels = combination index; bad --num_channels / split named."""
    data = load_train_dataset("shapes", image_size=16, num_samples=64, seed=3)
    assert len(data) == 64 and data.storage["pixel_values"].shape == (64, 3, 16, 16)
    assert data.storage["pixel_values"].dtype == torch.uint8 and data.num_classes == 48
    assert data.has_text and data.captions_per_row == len(CAPTION_TEMPLATES)
    batch = data.get_batch(torch.arange(8), torch.Generator().manual_seed(0))
    for text, label in zip(batch["text"], batch["labels"].tolist()):
        c, s, p = combination_attributes(label)
        assert COLOURS[c] in text and SHAPES[s] in text and POSITIONS[p] in text
    assert batch["pixel_values"].min() >= -1 and batch["pixel_values"].max() <= 1
    assert len(load_train_dataset("shapes")) == 12_000  # the default size, at the default 32 px
    with pytest.raises(InvalidArgumentError, match="--num_channels 3"):
        load_train_dataset("shapes", num_channels=1)
    with pytest.raises(InvalidArgumentError, match="--dataset_split"):
        load_train_dataset("shapes", split="validation")


@pytest.mark.parametrize("resolution", [16, 32, 64])
def test_evaluator_scores_fresh_real_images_right(resolution, shapes_net):
    """>= 99% per attribute and all three on fresh real images (held-out combinations included), and
    a wrong request is scored wrong (the score reads the images, not the request)."""
    s = render_shapes(240, resolution, seed=4242 + resolution)
    x = _floats(s.images)
    right = score_attributes(x, s.colour, s.shape, s.position, model=shapes_net)
    assert min(right["colour"], right["shape"], right["position"], right["all_three"]) >= 0.99, right
    wrong = score_attributes(x, (s.colour + 1) % 4, (s.shape + 1) % 3, s.position, model=shapes_net)
    assert wrong["colour"] == 0.0 and wrong["shape"] <= 0.01 and wrong["all_three"] == 0.0
    assert wrong["position"] == right["position"]


def test_evaluator_tolerates_generator_like_colour_and_noise(shapes_net):
    """A generator's colours, background and pixels are never exact: off colours, a lifted background
    and pixel noise still score >= 99% (analytic colour by direction, not value; CNN trained jittered)."""
    s = render_shapes(240, 32, seed=31)
    g = torch.Generator().manual_seed(0)
    x = (_floats(s.images) + 1) * (0.8 + 0.3 * torch.rand(240, 3, 1, 1, generator=g)) + 0.08 - 1
    x = (x + 0.08 * torch.randn(x.shape, generator=g)).clamp(-1, 1)
    scored = score_attributes(x, s.colour, s.shape, s.position, model=shapes_net)
    assert scored["all_three"] >= 0.99, scored


def test_blurry_blobs_are_not_scored_as_shapes(shapes_net):
    """Heavily blurred shapes (what an undertrained GAN draws) get no shape: not circles by default."""
    s = render_shapes(200, 32, seed=7)
    x = _floats(s.images)
    for _ in range(3):
        x = F.avg_pool2d(x, 5, stride=1, padding=2, count_include_pad=False)
    scored = score_attributes(x, s.colour, s.shape, s.position, model=shapes_net)
    assert scored["shape"] < 0.3, scored
    assert scored["colour"] >= 0.99 and scored["position"] >= 0.99  # colour and position survive blur
    empty = score_attributes(torch.full((4, 3, 32, 32), -1.0), [0] * 4, [0] * 4, [0] * 4, model=shapes_net)
    assert empty["all_three"] == 0.0


def test_shapes_fid_small_for_real_large_for_noise():
    """The shapes-FID (the evaluator's features), chosen automatically for `--dataset shapes`: two
    real draws are close, real vs noise and real vs blobs far apart; 48-combination accuracy works."""
    from hfgen.evaluation import Evaluator, auto_extractor

    data = load_train_dataset("shapes", split="all", num_samples=600, seed=11)
    assert auto_extractor(data) == "shapes"
    ev = Evaluator(data, metrics=["fid", "accuracy"], num_samples=600, batch_size=300, seed=0, device="cpu")
    assert ev.extractor.kind == "shapes" and ev.extractor.num_classes == 48
    other = render_shapes(600, 32, seed=12)
    real = ev.evaluate_samples(_floats(other.images), labels=torch.from_numpy(other.combination))
    noise = ev.evaluate_samples(torch.rand(600, 3, 32, 32) * 2 - 1, labels=torch.from_numpy(other.combination))
    fid_real, fid_noise = real["metrics"]["fid"], noise["metrics"]["fid"]
    assert fid_real * 20 < fid_noise, (fid_real, fid_noise)
    accuracy = [v for k, v in real["metrics"].items() if "accuracy" in k]
    assert accuracy and min(accuracy) >= 0.99, real["metrics"]


def test_tampered_weights_are_refused(tmp_path):
    """The shipped weights are sha256-checked like the digit evaluators'."""
    from importlib import resources

    src = resources.files("hfgen.metrics").joinpath("weights/shapes_evaluator.safetensors").read_bytes()
    bad = tmp_path / "w.safetensors"
    bad.write_bytes(src[:-1] + bytes([src[-1] ^ 1]))
    with pytest.raises(ValueError, match="sha256 mismatch"):
        load_shapes_evaluator(weights_path=bad)
    assert len(src) < 120_000  # small enough to ship


def test_import_hfgen_renders_nothing():
    """`import hfgen` and `import hfgen.data` stay light: the shapes module is imported on demand."""
    code = "import sys, hfgen, hfgen.data; assert 'hfgen.data.shapes' not in sys.modules; assert 'PIL.ImageDraw' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
