"""The evaluation package's new parts: samplers for every way of conditioning (written against
duck-typed pipelines, tested with tiny fakes since those families do not exist yet), condition
accuracy, paired scores, the number-of-steps sweep, reference sets and the package's public names."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from hfgen.data import load_train_dataset
from hfgen.evaluation import (
    EvaluationError,
    Evaluator,
    ImageToImageSampler,
    NoiseSampler,
    PromptSampler,
    ReferenceSet,
    cli_evaluate,
    format_sweep,
)

FAST = dict(kid_subsets=10)


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def digits():
    return load_train_dataset("digits")


@pytest.fixture(scope="module")
def by_class(digits):
    """Real digits grouped by class, [-1, 1]."""
    x, y = digits.tensors["pixel_values"].float(), digits.tensors["labels"].long()
    return [x[y == k] for k in range(10)]


def _draw(by_class, labels, generator):
    """One real digit of each requested class, drawn with the caller's generator, in [0, 1]."""
    out = []
    for k in labels.tolist():
        pool = by_class[k]
        out.append(pool[torch.randint(0, len(pool), (1,), generator=generator)])
    return (torch.cat(out) + 1) / 2


class ConditionalDigits:
    """A class-conditional "generator" that returns real digits of the requested classes
    (``honest=False``: of class 0 whatever was asked)."""

    def __init__(self, by_class, honest=True):
        self.by_class, self.honest = by_class, honest
        self.config = SimpleNamespace(num_classes=10)

    def __call__(self, batch_size=1, class_labels=None, generator=None, output_type="pil"):
        labels = class_labels if self.honest else torch.zeros_like(class_labels)
        return SimpleNamespace(images=_draw(self.by_class, labels, generator))


# ---------------------------------------------------------------------------------- condition accuracy


def test_condition_accuracy_of_class_conditional_generators(by_class):
    """Guards condition accuracy: a generator that obeys its labels scores ~1, one that ignores them ~0.1;
    `auto` reports it for class-conditional generators on the digit data, the floors carry the real
    accuracy, and asking for it explicitly without labels is a clear error."""
    ev = Evaluator("digits", num_samples=200, batch_size=64, **FAST)
    good = ev(ConditionalDigits(by_class))
    bad = ev(ConditionalDigits(by_class, honest=False))
    assert good["metrics"]["condition_accuracy"] > 0.95
    assert bad["metrics"]["condition_accuracy"] == pytest.approx(0.1, abs=0.02)
    assert good["details"]["condition_accuracy_per_class"][0] > 0.9
    assert "accuracy" in good["protocol"]["metrics"]
    assert ev.floors()["real_vs_real"]["metrics"]["condition_accuracy"] > 0.95
    # an unconditional pipeline: no accuracy in `auto`, an error when asked for
    unconditional = lambda batch_size=1, generator=None, output_type="pil": SimpleNamespace(  # noqa: E731
        images=torch.rand(batch_size, 1, 8, 8, generator=generator))
    assert "condition_accuracy" not in ev(unconditional)["metrics"]
    explicit = Evaluator("digits", metrics=["accuracy"], num_samples=50)
    with pytest.raises(EvaluationError, match="needs the labels"):
        explicit(unconditional)
    assert explicit(ConditionalDigits(by_class))["metrics"].keys() == {"condition_accuracy"}
    with pytest.raises(EvaluationError, match="digit classifier"):
        from hfgen.data import GenDataset

        rgb = GenDataset({"pixel_values": torch.rand(20, 3, 16, 16) * 2 - 1}, kind="image", name="rgb16")
        Evaluator(rgb, metrics=["accuracy"], num_samples=20, inception_weights="unused.pth")


# ------------------------------------------------------------------------------------ image -> image


class Inverter:
    """An image-to-image "pipeline": inverts its input and adds seeded noise of std ``noise``.

    Takes ``image`` in [0, 1] (NCHW tensors, as diffusers' image processors accept them) and an
    optional ``direction`` (CycleGAN's two ways), records both."""

    def __init__(self, noise):
        self.noise, self.seen = noise, []

    def __call__(self, image, direction="a_to_b", generator=None, output_type="pil", return_dict=True):
        self.seen.append((float(image.min()), float(image.max()), direction))
        out = 1.0 - image
        out = (out + self.noise * torch.randn(out.shape, generator=generator)).clamp(0, 1)
        return SimpleNamespace(images=out) if return_dict else (out,)


def test_image_to_image_paired_scores_and_content(digits):
    """Guards the image -> image sampler and the paired scores: inputs reach the pipeline in [0, 1] with
    the sampler's extra arguments, L1/PSNR/SSIM compare each output with its own target (the cleaner
    translation wins on all three), PSNR matches its formula, and the known labels of the inputs give
    the content check (condition accuracy of the translations)."""
    x, y = digits.tensors["pixel_values"][:300].float(), digits.tensors["labels"][:300]
    ev = Evaluator("digits", num_samples=300, batch_size=128, **FAST)
    results = {}
    for noise in (0.02, 0.2):
        pipe = Inverter(noise)
        sampler = ImageToImageSampler(-x, targets=x, labels=y, batch_size=128, call_kwargs={"direction": "b_to_a"})
        results[noise] = ev(pipe, sampler=sampler)
        assert [s[2] for s in pipe.seen] == ["b_to_a"] * 3 and min(s[0] for s in pipe.seen) >= 0
    clean, noisy = results[0.02]["metrics"], results[0.2]["metrics"]
    assert clean["l1"] < noisy["l1"] and clean["psnr"] > noisy["psnr"] and clean["ssim"] > noisy["ssim"]
    assert clean["ssim"] > 0.9 and clean["condition_accuracy"] > 0.9
    assert results[0.02]["protocol"]["sampler"] == {"direction": "b_to_a"}
    assert "paired" in results[0.02]["protocol"]["metrics"]
    # PSNR is the mean of 10 log10(1 / MSE) over the images, on [0, 1]
    again = ImageToImageSampler(-x, targets=x, batch_size=128, call_kwargs={"direction": "b_to_a"})(Inverter(0.2))
    mse = (((again.images + 1) / 2 - (x + 1) / 2).double() ** 2).flatten(1).mean(1)
    assert noisy["psnr"] == pytest.approx(float((10 * torch.log10(1 / mse)).mean()), rel=1e-9)
    with pytest.raises(EvaluationError, match="one target per input"):
        ImageToImageSampler(x, targets=x[:10])
    with pytest.raises(EvaluationError, match="paired targets"):
        Evaluator("digits", metrics=["fid", "paired"], num_samples=300)(Inverter(0.0), sampler=ImageToImageSampler(-x))


# ------------------------------------------------------------------------------------ prompt -> image


class PromptDigits:
    """A text-to-image "pipeline": draws a real digit of the class named at the end of each prompt."""

    def __init__(self, by_class):
        self.by_class, self.prompts = by_class, []

    def __call__(self, prompt, num_inference_steps=50, guidance_scale=3.0, generator=None, output_type="pil"):
        self.prompts += list(prompt)
        labels = torch.tensor([int(re.findall(r"\d", p)[-1]) for p in prompt])
        return SimpleNamespace(images=_draw(self.by_class, labels, generator))


def test_prompt_to_image_sampler(by_class):
    """Guards the prompt -> image sampler: prompts taken in turn, one label per prompt repeated with
    them (condition accuracy), extra arguments (guidance) passed and recorded, seeded draws."""
    prompts = [f"a handwritten {k}" for k in range(10)]
    ev = Evaluator("digits", num_samples=100, batch_size=32, **FAST)
    pipe = PromptDigits(by_class)
    sampler = PromptSampler(prompts, num_samples=100, batch_size=32, labels=list(range(10)), call_kwargs={"guidance_scale": 5.0})
    result = ev(pipe, sampler=sampler)
    assert pipe.prompts == [prompts[i % 10] for i in range(100)]
    assert result["metrics"]["condition_accuracy"] > 0.95 and result["metrics"]["classes_covered"] == 10
    assert result["protocol"]["sampler"] == {"guidance_scale": 5.0}
    assert torch.equal(sampler(pipe).images, sampler(pipe).images)
    with pytest.raises(EvaluationError, match="one label per prompt"):
        PromptSampler(prompts, labels=[1, 2])


# --------------------------------------------------------------------------------- steps sweep


class FakeDiffusion:
    """A diffusion-like pipeline: real digits plus noise that shrinks with ``num_inference_steps``;
    returns numpy NHWC images as diffusers' DDPMPipeline does for output_type != "pil"."""

    def __init__(self, pool):
        self.pool, self.steps = pool, []

    def __call__(self, batch_size=1, generator=None, num_inference_steps=1000, output_type="pil", return_dict=True):
        self.steps.append(num_inference_steps)
        idx = torch.randint(0, len(self.pool), (batch_size,), generator=generator)
        x = self.pool[idx] + (4.0 / num_inference_steps) * torch.randn(self.pool[idx].shape, generator=generator)
        images = ((x.clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1).numpy()
        return SimpleNamespace(images=images)


def test_steps_sweep_on_a_diffusion_like_pipeline(digits):
    """Guards the number-of-steps sweep: each step count is drawn with the same seed and evaluated, FID
    falls as the denoising gets better, seconds per sample are recorded, NHWC numpy outputs are read
    as images; a pipeline without `num_inference_steps` (a GAN) is refused with the flag's name."""
    pool = digits.tensors["pixel_values"].float()
    ev = Evaluator("digits", metrics="fid,classes", num_samples=200, batch_size=100)
    pipe = FakeDiffusion(pool)
    sweep = ev.sweep_steps(pipe, [2, 10, 100])
    assert pipe.steps == [2, 2, 10, 10, 100, 100]
    fids = [row["metrics"]["fid"] for row in sweep["steps"]]
    assert fids[0] > fids[1] > fids[2], fids
    assert all(row["seconds_per_sample"] >= 0 for row in sweep["steps"])
    assert sweep["protocol"]["num_inference_steps"] == [2, 10, 100]
    json.dumps(sweep)
    table = format_sweep(sweep).splitlines()
    assert len(table) == 5 and table[0].split()[:3] == ["steps", "s/sample", "fid"] and table[-1].split()[0] == "100"
    with pytest.raises(EvaluationError, match="--steps is for diffusion pipelines"):
        ev.sweep_steps(ConditionalDigits(None), [10])
    # a task that evaluates with few steps in training sets its sampler once: evaluator(pipe) uses it
    few = Evaluator("digits", metrics="fid", num_samples=200, batch_size=100,
                    sampler=NoiseSampler(200, 100, seed=0, call_kwargs={"num_inference_steps": 10}))
    pipe.steps.clear()
    result = few(pipe)
    assert pipe.steps == [10, 10] and result["protocol"]["sampler"] == {"num_inference_steps": 10}
    assert result["metrics"]["fid"] == pytest.approx(sweep["steps"][1]["metrics"]["fid"], rel=1e-12)
    with pytest.raises(EvaluationError, match=">= 1"):
        ev.sweep_steps(pipe, [0])


def test_cli_steps_flag_refuses_a_gan(tmp_path, capsys):
    """`hfgen evaluate --steps` on a GAN folder: exit code 2 and the reason, nothing written."""
    from hfgen import DCGANConfig, DCGANGenerator, GANPipeline

    torch.manual_seed(0)
    config = DCGANConfig(image_size=8, num_channels=1, latent_dim=4, generator_channels=4)
    GANPipeline(gan_generator=DCGANGenerator(config)).save_pretrained(tmp_path / "gan")
    rc = cli_evaluate(["--model", str(tmp_path / "gan"), "--dataset", "digits", "--num_samples", "50",
                       "--metrics", "fid", "--steps", "10,20"])
    assert rc == 2 and "--steps is for diffusion pipelines" in capsys.readouterr().err
    assert not (tmp_path / "gan" / "eval_results.json").exists()
    with pytest.raises(SystemExit):
        cli_evaluate(["--model", str(tmp_path / "gan"), "--dataset", "digits", "--steps", "ten"])


# ---------------------------------------------------------------------------------- reference sets


def test_reference_set_subset_protocol_and_floor_cache(digits):
    """Guards the reference set: a seeded subset (the same as the evaluator's), labels kept with their
    images, the protocol of how it was built, floors cached per key."""
    from hfgen.evaluation import FeatureExtractor

    extractor = FeatureExtractor("digits", torch.device("cpu"), 256)
    ref = ReferenceSet.from_dataset(digits, extractor, max_samples=300, seed=0, name="digits")
    ev = Evaluator("digits", metrics="fid", num_samples=300)
    assert np.array_equal(ref.features, ev.real_features) and ref.n == ev.n_real == 300
    pred = ref.probs.argmax(1)
    assert (pred == ref.labels).mean() > 0.95  # labels follow their images through the subset
    p = ref.protocol()
    assert p["n_real"] == 300 and "seeded random subset of 300 of 1797" in p["real_subset"]
    assert p["extractor"] == "hfgen/digits_classifier"
    calls = []

    def score(real, fake, probs, points, labels):
        calls.append(len(fake))
        return {"n": len(fake)}, {}

    first = ref.floors(score, num_noise=40, seed=0, batch_size=16, key="a")
    assert ref.floors(score, num_noise=40, seed=0, batch_size=16, key="a") is first
    assert calls == [150, 40] and first["real_vs_real"]["n_real"] == 150


# ------------------------------------------------------------------------------------------ package


def test_public_names_and_packaging():
    """Guards the split: every name importable before stays importable from hfgen.evaluation, and
    pyproject's package list names every package under src/hfgen (else the wheel would lack it)."""
    import tomllib

    import hfgen.evaluation as evaluation

    for name in ("Evaluator", "CollapseMonitor", "EvaluationError", "cli_evaluate", "format_table", "METRIC_NAMES",
                 "NoiseSampler", "ImageToImageSampler", "PromptSampler", "ReferenceSet", "FeatureExtractor"):
        assert hasattr(evaluation, name), name
    root = Path(__file__).resolve().parents[1]
    listed = set(tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {".".join(p.parent.relative_to(root / "src").parts) for p in (root / "src" / "hfgen").rglob("__init__.py")}
    assert on_disk <= listed, sorted(on_disk - listed)
    assert "hfgen.evaluation" in listed and sys.modules["hfgen.evaluation"].__file__.endswith("__init__.py")


def test_noise_sampler_reads_every_output_layout():
    """Tensors NCHW, numpy NHWC (diffusers' "np") and lists of PIL images all arrive as NCHW in [-1, 1]."""
    from PIL import Image

    base = torch.rand(3, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    quantised = torch.round(base * 255) / 255
    layouts = {
        "pt": lambda: quantised,
        "np": lambda: quantised.permute(0, 2, 3, 1).numpy(),
        "pil": lambda: [Image.fromarray((im[0].numpy() * 255).round().astype(np.uint8)) for im in quantised],
    }
    for name, make in layouts.items():
        out = NoiseSampler(3, batch_size=3)(lambda batch_size=1, generator=None, output_type="pil", m=make: SimpleNamespace(images=m()))
        assert out.images.shape == (3, 1, 8, 8), name
        assert torch.allclose(out.images, quantised * 2 - 1, atol=1e-6), name


def test_reference_set_reads_images_stored_as_bytes():
    """Guards the uint8 path: images held as bytes (0..255) are scored like the same images in [-1, 1]."""
    from hfgen.data import GenDataset

    data = load_train_dataset("mnist5k")
    x, y = data.tensors["pixel_values"][:120], data.tensors["labels"][:120]
    as_bytes = ((x + 1) * 127.5).round().to(torch.uint8)
    floats = Evaluator(GenDataset({"pixel_values": x, "labels": y}, kind="image", name="mnist5k"), metrics="fid", num_samples=100)
    stored = Evaluator(GenDataset({"pixel_values": as_bytes, "labels": y}, kind="image", name="mnist5k"), metrics="fid", num_samples=100)
    assert np.allclose(stored.real_features, floats.real_features, atol=1e-5)
