"""Tests for hfgen.evaluation: Evaluator (metrics, protocol, floors), CollapseMonitor, cli_evaluate."""

from __future__ import annotations

import json
import logging
import math
import os
import time
from importlib import resources
from types import SimpleNamespace

import pytest
import torch

from hfgen.data import GenDataset, load_train_dataset
from hfgen.evaluation import CollapseMonitor, EvaluationError, Evaluator, cli_evaluate

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


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """One torch thread: the machine's cores are shared."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


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
