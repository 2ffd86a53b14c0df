"""Tests for hfgen.evaluation: Evaluator (metrics, protocol, floors), CollapseMonitor, cli_evaluate, and the
package's parts (samplers, reference sets, condition accuracy, paired scores, steps sweep)."""

from __future__ import annotations

import json
import logging
import math
import os
import re
import sys
import time
from importlib import resources
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from hfgen.data import GenDataset, load_train_dataset
from hfgen.evaluation import (
    CollapseMonitor,
    EvaluationError,
    Evaluator,
    ImageToImageSampler,
    NoiseSampler,
    PromptSampler,
    ReferenceSet,
    cli_evaluate,
    format_sweep,
)

FAST = dict(kid_subsets=10)  # KID's 100 subsets of 1000 cost ~5 s on one core; 10 are enough here


class ImagePool:
    """Pipeline-like sampler: returns images drawn (with the caller's generator) from a fixed pool.

    ``pool`` holds images in [-1, 1]; output follows GANPipeline's ``output_type="pt"`` convention
    (NCHW in [0, 1], in ``.images``). ``offset`` shifts the drawn indices (another "training step").
    """

    def __init__(self, pool: torch.Tensor, offset: int = 0):
        self.pool = pool
        self.offset = offset
        self.calls = []

    def __call__(self, batch_size=1, generator=None, output_type="pil", class_labels=None):
        assert output_type == "pt" and class_labels is None
        self.calls.append(batch_size)
        idx = (torch.randint(0, len(self.pool), (batch_size,), generator=generator) + self.offset) % len(self.pool)
        return SimpleNamespace(images=(self.pool[idx] + 1) / 2)


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def digits():
    """The embedded 8x8 digits (all 1797)."""
    return load_train_dataset("digits")


@pytest.fixture(scope="module")
def digits_eval():
    """Auto metrics on digits, shared by the module (real features are extracted once)."""
    return Evaluator("digits", num_samples=2000, **FAST)


@pytest.fixture(scope="module")
def real_result(digits, digits_eval):
    """Evaluation of a "generator" that draws real digits."""
    return digits_eval(ImagePool(digits.tensors["pixel_values"]))


# ------------------------------------------------------------------------------------------- Evaluator


def test_real_data_scores_near_real_floor(digits_eval, real_result):
    floors = digits_eval.floors()
    m, rr, noise = real_result["metrics"], floors["real_vs_real"]["metrics"], floors["noise_vs_real"]["metrics"]
    print("\ndigits floors (2000 samples): real-vs-real", rr, "\nnoise-vs-real", noise, "\nreal pipeline", m)
    assert set(m) == {
        "fid", "kid_mean", "kid_std", "inception_score_mean", "inception_score_std", "precision", "recall",
        "density", "coverage", "classes_covered", "class_entropy", "class_kl_to_uniform",
    }
    assert m["fid"] <= 2 * rr["fid"] and m["fid"] < 0.02 * noise["fid"]
    assert abs(m["kid_mean"]) < 0.01 * noise["kid_mean"]
    assert m["classes_covered"] == 10 and m["class_kl_to_uniform"] < 0.05
    assert m["inception_score_mean"] > 5 and noise["inception_score_mean"] < 3
    assert m["precision"] > 0.8 and m["recall"] > 0.8 and m["coverage"] > 0.8
    assert noise["precision"] < 0.2 and noise["recall"] < 0.2
    assert rr["classes_covered"] == 10 and rr["inception_score_mean"] > 5
    assert sum(real_result["details"]["class_histogram"]) == 2000
    assert digits_eval.floors() is floors  # cached


def test_protocol_fields(digits_eval, real_result):
    p = real_result["protocol"]
    meta = json.loads(resources.files("hfgen.metrics").joinpath("weights", "digits_classifier.json").read_text())
    assert p["extractor_sha256"] == meta["sha256"]
    assert p["extractor"] == "hfgen/digits_classifier" and p["feature_dim"] == 64
    assert p["dataset"] == "digits" and p["n_real"] == 1797 and p["n_generated"] == 2000  # all 1797 real digits
    assert p["resize"] == "none" and p["seed"] == 0
    assert p["metric_settings"] == {
        "kid_subsets": 10, "kid_subset_size": 1000, "pr_k": 3, "coverage_k": 5, "is_splits": 10,
        "is_split_order": "seeded shuffle",
    }
    assert set(p["versions"]) == {"hfgen", "torch", "diffusers", "transformers", "numpy", "python"}
    assert all(p["versions"].values())
    json.dumps(real_result)  # JSON-able as is
    assert digits_eval.floors()["protocol"]["extractor_sha256"] == meta["sha256"]


def test_sampling_is_seeded_and_batched(digits):
    pool = ImagePool(digits.tensors["pixel_values"])
    ev = Evaluator("digits", metrics=["fid"], num_samples=130, batch_size=50, seed=3)
    a, b = ev.generate(pool), ev.generate(pool)
    assert pool.calls == [50, 50, 30, 50, 50, 30]
    assert a.shape == (130, 1, 8, 8) and torch.equal(a, b) and a.min() >= -1 and a.max() <= 1
    assert ev.n_real == 130  # random subset of the real data
    mnist_sized = ev.evaluate_samples(torch.nn.functional.interpolate(a, size=(28, 28), mode="bilinear"))
    assert mnist_sized["protocol"]["resize"] == "bilinear to 8x8"


def test_class_conditional_labels_are_balanced():
    seen = []

    class Conditional(ImagePool):
        """A class-conditional sampler recording the labels it is given."""

        config = SimpleNamespace(num_classes=10)

        def __call__(self, batch_size=1, generator=None, output_type="pil", class_labels=None):
            seen.append(class_labels.clone())
            return SimpleNamespace(images=torch.rand(batch_size, 1, 8, 8, generator=generator))

    ev = Evaluator("digits", metrics=["classes"], num_samples=200, batch_size=64)
    ev(Conditional(None))
    labels = torch.cat(seen)
    assert labels.tolist() == [i % 10 for i in range(200)]
    with pytest.raises(EvaluationError, match="unconditional"):
        ev(ImagePool(torch.zeros(3, 1, 8, 8)), class_labels=3)


def test_ring8_modes_with_untrained_mlp():
    from hfgen import GANPipeline, MLPGANConfig, MLPGenerator

    torch.manual_seed(0)
    pipe = GANPipeline(gan_generator=MLPGenerator(MLPGANConfig(latent_dim=4, generator_hidden_dim=16)).eval())
    ev = Evaluator("ring8", num_samples=1000)
    assert ev.metrics == ["modes"] and ev.extractor.label == "none"
    res = ev(pipe)
    m = res["metrics"]
    assert set(m) == {"modes", "num_modes", "high_quality_fraction", "reverse_kl"}
    assert m["num_modes"] == 8 and 0 <= m["modes"] <= 8
    assert 0.0 <= m["high_quality_fraction"] <= 1.0 and 0.0 <= m["reverse_kl"] <= math.log(8) + 1e-9
    assert res["protocol"]["metric_settings"]["mixture_threshold"] == 3.0
    floors = ev.floors()
    assert floors["real_vs_real"]["metrics"]["modes"] == 8
    assert floors["real_vs_real"]["metrics"]["high_quality_fraction"] > 0.97
    assert floors["noise_vs_real"]["metrics"]["high_quality_fraction"] < 0.1
    # feature metrics on raw points
    ev2 = Evaluator("ring8", metrics="fid,pr", num_samples=300)
    m2 = ev2(pipe)["metrics"]
    assert ev2.extractor.label == "identity (raw points)" and set(m2) == {"fid", "precision", "recall"}


def test_metric_validation(digits):
    with pytest.raises(EvaluationError, match="unknown metric"):
        Evaluator("digits", metrics=["fidd"], num_samples=50)
    with pytest.raises(EvaluationError, match="ring8"):
        Evaluator("digits", metrics=["modes"], num_samples=50)
    with pytest.raises(EvaluationError, match="classifier"):
        Evaluator("ring8", metrics=["is"], num_samples=50)
    ev = Evaluator(digits, metrics=["fid", "is"], num_samples=200)
    x, y = digits.tensors["pixel_values"][:200], digits.tensors["labels"][:200]
    sorted_by_class = ev.evaluate_samples(x[torch.argsort(y)])["metrics"]["inception_score_mean"]
    assert sorted_by_class == pytest.approx(ev.evaluate_samples(x)["metrics"]["inception_score_mean"], rel=0.1)
    assert sorted_by_class > 5  # splits are shuffled: one class per split would give IS ~ 1
    with pytest.raises(EvaluationError, match="images"):
        ev.evaluate_samples(torch.zeros(10, 2))


def test_inception_extractor_missing_weights(monkeypatch, tmp_path):
    monkeypatch.delenv("HFGEN_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))  # empty hub cache
    rgb = GenDataset({"pixel_values": torch.rand(20, 3, 16, 16) * 2 - 1}, kind="image", name="rgb16")
    with pytest.raises(FileNotFoundError, match="pytorch-fid/releases"):
        Evaluator(rgb, num_samples=20)
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        Evaluator(rgb, num_samples=20, inception_weights=str(tmp_path / "nope.pth"))


@pytest.mark.filterwarnings("ignore:FID with n <= d")
def test_inception_extractor_protocol(tmp_path):
    """Random Inception weights (nothing is downloaded): wiring and protocol of the Inception path."""
    import hashlib

    from safetensors.torch import save_file

    from hfgen.metrics.inception import FIDInceptionV3

    torch.manual_seed(0)
    state = {k: v.contiguous() for k, v in FIDInceptionV3().state_dict().items() if not k.endswith("num_batches_tracked")}
    path = tmp_path / "inception.safetensors"
    save_file(state, str(path))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    rgb = GenDataset({"pixel_values": torch.rand(6, 3, 16, 16) * 2 - 1}, kind="image", name="rgb16")
    ev = Evaluator(rgb, num_samples=4, inception_weights=str(path), inception_sha256=digest, pr_k=2, coverage_k=2)
    assert ev.metrics == ["fid", "kid", "pr", "coverage"] and ev.real_features.shape == (4, 2048)
    res = ev.evaluate_samples(torch.rand(4, 1, 16, 16) * 2 - 1)
    assert set(res["metrics"]) == {"fid", "kid_mean", "kid_std", "precision", "recall", "density", "coverage"}
    p = res["protocol"]
    assert p["extractor"] == "inception-v3-tf-2015-12-05" and p["extractor_sha256"] == digest
    assert p["feature_dim"] == 2048 and p["resize"] == "bilinear to 299x299"
    assert "grey repeated to 3 channels" in p["channels"]
    with pytest.raises(EvaluationError, match="digit classifier"):
        Evaluator(rgb, metrics=["classes"], num_samples=4, inception_weights=str(path), inception_sha256=digest)


# ------------------------------------------------------------------------------------- CollapseMonitor


def _class3_pool(digits, count):
    x, y = digits.tensors["pixel_values"], digits.tensors["labels"]
    return x[y == 3][:count]


@pytest.mark.parametrize("count", [1, 4], ids=["one-image", "four-images"])
def test_collapse_alarm_for_single_class_generator(digits, digits_eval, real_result, count, caplog):
    monitor = CollapseMonitor()
    assert monitor.update(100, real_result) == []
    assert monitor.is_best(real_result) and monitor.best_step == 100
    collapsed = digits_eval(ImagePool(_class3_pool(digits, count)))
    assert collapsed["metrics"]["classes_covered"] == 1
    with caplog.at_level(logging.WARNING, logger="hfgen.training"):
        alarms = monitor.update(200, collapsed)
    text = "\n".join(alarms)
    assert len(alarms) == 3, text
    assert "class coverage fell to 1 classes from its best of 10" in text
    assert "recall fell" in text and "FID rose" in text and "step 200" in text
    assert [r.getMessage() for r in caplog.records if r.name == "hfgen.training"] == alarms
    assert not monitor.is_best(collapsed)
    floored = CollapseMonitor(fid_floor=digits_eval.floors()["real_vs_real"]["metrics"]["fid"])
    floored.update(100, real_result)
    assert len(floored.update(200, collapsed)) == 3
    assert monitor.best_step == 100 and monitor.best_fid == pytest.approx(real_result["metrics"]["fid"])


def test_monitor_silent_on_real_data(digits, digits_eval, real_result):
    monitor = CollapseMonitor()
    for step in range(4):  # the same real-data result again and again
        assert monitor.update(step, real_result) == []
    # Fresh draws of real data: FID near the floor is mostly noise (here 0.29 .. 1.01), so measure
    # rises from the real-vs-real floor; offset 388 gives the lowest FID first.
    floor = digits_eval.floors()["real_vs_real"]["metrics"]["fid"]
    monitor = CollapseMonitor(fid_floor=floor)
    pool = digits.tensors["pixel_values"]
    for step, offset in enumerate((388, 0, 776, 291)):
        res = digits_eval(ImagePool(pool, offset=offset))
        assert monitor.update(step, res) == [], res["metrics"]
    assert max(a["metrics"]["fid"] for a in (res, real_result)) > 1.5 * monitor.best_fid  # would alarm without the floor


def test_monitor_patience_state_and_modes():
    healthy = {"modes": 8, "high_quality_fraction": 0.9, "reverse_kl": 0.01, "recall": 0.9}
    bad = {"modes": 5, "high_quality_fraction": 0.95, "reverse_kl": 0.3, "recall": 0.8}
    monitor = CollapseMonitor(patience=2)
    assert monitor.update(1, healthy) == [] and monitor.is_best(healthy)
    assert monitor.update(2, bad) == []  # first strike only
    state = json.loads(json.dumps(monitor.state_dict()))  # plain JSON
    restored = CollapseMonitor()
    restored.load_state_dict(state)
    assert restored.state_dict() == monitor.state_dict()
    alarms = restored.update(3, bad)
    assert len(alarms) == 1 and "mode coverage fell to 5 modes from its best of 8" in alarms[0]
    assert restored.best_step == 1 and restored.best_fid is None and not restored.is_best(bad)
    better = dict(healthy, high_quality_fraction=0.99)
    assert restored.is_best(better) and restored.update(4, better) == [] and restored.best_step == 4
    # FID: +50% by default; NaN counts as a rise
    m = CollapseMonitor()
    m.update(1, {"fid": 10.0})
    assert m.update(2, {"fid": 14.9}) == [] and m.best_fid == 10.0
    assert "FID rose to 15.1" in m.update(3, {"fid": 15.1})[0]
    assert "not finite" in m.update(4, {"fid": float("nan")})[0]
    assert m.is_best({"fid": 9.0}) and not m.is_best({"fid": 11.0})
    with pytest.raises(ValueError):
        CollapseMonitor(patience=0)


# ------------------------------------------------------------------------------------------------- CLI


def test_cli_evaluate_trained_model(tmp_path, capsys):
    from hfgen.training import GANArguments, GANTask, Trainer, TrainingArguments

    out = tmp_path / "model"
    gan = GANArguments(preset="hinge", class_conditional=True, generator_channels=8, discriminator_channels=8, latent_dim=8)
    args = TrainingArguments(
        dataset="digits", output_dir=str(out), max_train_steps=5, train_batch_size=16, checkpointing_steps=0,
        sample_steps=0, num_sample_images=10, report_to="none", export=True, final_eval_samples=0,
    )
    Trainer(GANTask(gan, learning_rate=args.learning_rate, batch_size=args.train_batch_size), args).train()
    capsys.readouterr()
    rc = cli_evaluate(["--model", str(out), "--dataset", "digits", "--num_samples", "200", "--floors"])
    assert rc == 0
    printed = capsys.readouterr().out
    report = json.loads((out / "eval_results.json").read_text())
    assert report["class_labels"].startswith("balanced")
    assert report["protocol"]["n_generated"] == 200 and report["protocol"]["n_real"] == 200
    assert report["protocol"]["extractor"] == "hfgen/digits_classifier"
    assert set(report["floors"]) == {"real_vs_real", "noise_vs_real", "protocol"}
    for name in ("fid", "kid_mean", "inception_score_mean", "precision", "coverage", "classes_covered"):
        assert name in report["metrics"]
        assert any(line.startswith(name) for line in printed.splitlines()), printed
    assert "real-vs-real" in printed and "digits_classifier" in printed and "eval_results.json" in printed
    # explicit output, chosen metrics; a bad metric name is a usage error (exit code 2)
    target = tmp_path / "sub" / "res.json"
    assert cli_evaluate(["--model", str(out), "--dataset", "digits", "--num_samples", "100", "--metrics", "fid,classes",
                         "--output", str(target)]) == 0
    assert set(json.loads(target.read_text())["metrics"]) == {"fid", "classes_covered", "class_entropy", "class_kl_to_uniform"}
    assert cli_evaluate(["--model", str(out), "--dataset", "digits", "--metrics", "nope"]) == 2
    assert "unknown metric" in capsys.readouterr().err


@pytest.mark.skipif(not os.environ.get("HFGEN_EVAL_TIMING"), reason="timing run: set HFGEN_EVAL_TIMING=1")
def test_time_auto_metrics_mnist_sized_dcgan():
    """Times the full auto metrics on 2000 samples of a 28x28 DCGAN (printed, not asserted)."""
    from hfgen import DCGANConfig, DCGANGenerator, GANPipeline

    torch.manual_seed(0)
    config = DCGANConfig(image_size=28, num_channels=1, latent_dim=64, generator_channels=32, num_classes=10)
    pipe = GANPipeline(gan_generator=DCGANGenerator(config).eval())
    start = time.perf_counter()
    ev = Evaluator("mnist5k", num_samples=2000)
    built = time.perf_counter()
    result = ev(pipe)
    done = time.perf_counter()
    print(f"\nmnist5k auto metrics, 2000 samples, {torch.get_num_threads()} thread(s): "
          f"setup {built - start:.1f} s + evaluation {done - built:.1f} s = {done - start:.1f} s")
    floors = ev.floors()
    print(f"floors {time.perf_counter() - done:.1f} s:", json.dumps(floors["real_vs_real"]["metrics"]),
          json.dumps(floors["noise_vs_real"]["metrics"]))
    assert set(result["metrics"]) >= {"fid", "kid_mean", "inception_score_mean", "classes_covered"}

# ---------------------------------------------------------------------------------------------------
# The package's parts: samplers for every way of conditioning (written against duck-typed pipelines,
# tested with tiny fakes since those families do not exist yet), condition accuracy, paired scores,
# the number-of-steps sweep, reference sets and the package's public names.
# ---------------------------------------------------------------------------------------------------


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
    data = load_train_dataset("mnist5k")
    x, y = data.tensors["pixel_values"][:120], data.tensors["labels"][:120]
    as_bytes = ((x + 1) * 127.5).round().to(torch.uint8)
    floats = Evaluator(GenDataset({"pixel_values": x, "labels": y}, kind="image", name="mnist5k"), metrics="fid", num_samples=100)
    stored = Evaluator(GenDataset({"pixel_values": as_bytes, "labels": y}, kind="image", name="mnist5k"), metrics="fid", num_samples=100)
    assert np.allclose(stored.real_features, floats.real_features, atol=1e-5)


def test_steps_sweep_on_diffusers_ddpm_pipeline():
    """The duck-typed samplers work with diffusers' own DDPMPipeline (numpy NHWC output for any
    output_type but "pil", `num_inference_steps`, a torch generator): a sweep over a tiny untrained
    UNet runs, and the same seed gives the same numbers again."""
    from diffusers import DDPMPipeline, DDPMScheduler, UNet2DModel

    torch.manual_seed(0)
    unet = UNet2DModel(sample_size=8, in_channels=1, out_channels=1, block_out_channels=(8, 16), layers_per_block=1,
                       norm_num_groups=8, down_block_types=("DownBlock2D", "DownBlock2D"),
                       up_block_types=("UpBlock2D", "UpBlock2D"))
    pipe = DDPMPipeline(unet=unet, scheduler=DDPMScheduler(num_train_timesteps=100))
    pipe.set_progress_bar_config(disable=True)
    ev = Evaluator("digits", metrics="classes", num_samples=32, batch_size=16)
    first, again = ev.sweep_steps(pipe, [2, 5]), ev.sweep_steps(pipe, [2, 5])
    assert [row["num_inference_steps"] for row in first["steps"]] == [2, 5]
    assert all(row["seconds_per_sample"] > 0 for row in first["steps"])
    assert [r["metrics"] for r in first["steps"]] == [r["metrics"] for r in again["steps"]]
    few = Evaluator("digits", metrics="classes", num_samples=32, batch_size=16,
                    sampler=NoiseSampler(32, 16, seed=0, call_kwargs={"num_inference_steps": 5}))
    assert few(pipe)["metrics"] == first["steps"][1]["metrics"]


def test_cli_steps_sweep_through_load_pipeline(monkeypatch, tmp_path, capsys, digits):
    """`hfgen evaluate --steps` loads the folder through hfgen.pipelines.load_pipeline where it exists (the
    dispatch on model_index.json), sweeps, prints the table and writes every step count to the report."""
    import hfgen.pipelines

    pipe = FakeDiffusion(digits.tensors["pixel_values"].float())
    pipe.to = lambda device: pipe
    loaded = []
    monkeypatch.setattr(hfgen.pipelines, "load_pipeline", lambda path: loaded.append(path) or pipe, raising=False)
    output = tmp_path / "eval.json"
    rc = cli_evaluate(["--model", str(tmp_path), "--dataset", "digits", "--num_samples", "100", "--metrics", "fid",
                       "--steps", "2,50", "--output", str(output)])
    assert rc == 0 and loaded == [str(tmp_path)]
    report = json.loads(output.read_text())
    assert [row["num_inference_steps"] for row in report["steps"]] == [2, 50]
    assert report["metrics"] == report["steps"][-1]["metrics"] and report["protocol"]["sampler"] == {"num_inference_steps": 50}
    assert "s/sample" in capsys.readouterr().out
