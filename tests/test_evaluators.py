"""Tests for the shipped evaluator classifiers (hfgen.metrics.evaluators)."""

from __future__ import annotations

import json
import shutil
from importlib import resources

import numpy as np
import pytest
import torch

from hfgen.metrics.evaluators import (
    EVALUATORS,
    DigitClassifier,
    evaluate_images,
    evaluator_split,
    load_evaluator,
)

NAMES = ["mnist5k", "digits"]


def _meta(name: str) -> dict:
    fname = EVALUATORS[name]["file"].replace(".safetensors", ".json")
    return json.loads(resources.files("hfgen.metrics").joinpath("weights", fname).read_text())


@pytest.mark.parametrize("name", NAMES)
def test_metadata_consistent(name):
    meta = _meta(name)
    info = EVALUATORS[name]
    assert meta["name"] == name
    assert meta["image_size"] == info["image_size"]
    assert meta["feature_dim"] == info["feature_dim"]
    assert meta["num_classes"] == 10
    assert meta["sha256"] == info["sha256"]
    assert meta["test_accuracy"] == pytest.approx(info["test_accuracy"])
    blob = resources.files("hfgen.metrics").joinpath("weights", info["file"]).read_bytes()
    assert len(blob) < 2_000_000


@pytest.mark.parametrize("name", NAMES)
def test_heldout_accuracy_matches_recorded(name):
    torch.set_num_threads(1)
    model = load_evaluator(name)  # sha256 checked
    assert not model.training
    meta = _meta(name)
    x_tr, y_tr, x_te, y_te = evaluator_split(name)
    assert (len(x_tr), len(x_te)) == (meta["n_train"], meta["n_test"])
    assert x_te.dtype == torch.float32 and x_te.min() >= -1 and x_te.max() <= 1
    with torch.no_grad():
        acc = (model(x_te).argmax(1) == y_te).float().mean().item()
    assert abs(acc - meta["test_accuracy"]) <= 0.005
    assert acc >= 0.97
    # evaluate_images gives the same predictions
    out = evaluate_images(x_te, name, batch_size=300)
    assert out["probs"].shape == (len(x_te), 10)
    np.testing.assert_allclose(out["probs"].sum(1), 1.0, atol=1e-9)
    assert (out["probs"].argmax(1) == y_te.numpy()).mean() == pytest.approx(acc)


def test_split_is_deterministic_and_stratified():
    a = evaluator_split("digits")
    b = evaluator_split("digits")
    for u, v in zip(a, b):
        assert torch.equal(u, v)
    assert np.bincount(a[3].numpy()).min() >= 38  # ~39-40 test images per class


def test_tampered_weights_rejected(tmp_path):
    src = resources.files("hfgen.metrics").joinpath("weights", EVALUATORS["digits"]["file"])
    bad = tmp_path / "digits_classifier.safetensors"
    with resources.as_file(src) as p:
        shutil.copy(p, bad)
    data = bytearray(bad.read_bytes())
    data[-10] ^= 0xFF  # flip bytes inside the tensor payload
    data[-3] ^= 0x01
    bad.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="sha256"):
        load_evaluator("digits", weights_path=bad)
    # an untampered copy loads fine through the same override
    good = tmp_path / "good.safetensors"
    with resources.as_file(src) as p:
        shutil.copy(p, good)
    assert isinstance(load_evaluator("digits", weights_path=good), DigitClassifier)


@pytest.mark.parametrize("name,size,dim", [("mnist5k", 28, 128), ("digits", 8, 64)])
def test_features_shape(name, size, dim):
    model = load_evaluator(name)
    x = torch.rand(5, 1, size, size) * 2 - 1
    with torch.no_grad():
        f = model.features(x)
        logits = model(x)
    assert f.shape == (5, dim) and logits.shape == (5, 10)
    assert (f >= 0).all()  # post-ReLU
    out = evaluate_images(x, name)
    assert out["features"].shape == (5, dim) and out["probs"].shape == (5, 10)
    np.testing.assert_allclose(out["features"], f.double().numpy(), rtol=1e-5, atol=1e-6)


def test_resize_other_sizes():
    # 28x28 MNIST test digits downsampled to 8x8 go through the digits evaluator, [N,H,W] accepted
    x = evaluator_split("mnist5k")[2][:7, 0]
    out = evaluate_images(x, "digits")
    assert out["features"].shape == (7, 64) and out["probs"].shape == (7, 10)
    out = evaluate_images(torch.zeros(3, 3, 16, 16), "mnist5k")
    assert out["features"].shape == (3, 128)


def test_unknown_name():
    with pytest.raises(ValueError, match="mnist5k") as exc:
        load_evaluator("cifar10")
    assert "digits" in str(exc.value)
    with pytest.raises(ValueError):
        evaluate_images(torch.zeros(1, 1, 8, 8), "nope")
    with pytest.raises(ValueError):
        evaluator_split("nope")


def test_bad_image_size():
    with pytest.raises(ValueError):
        DigitClassifier(image_size=32)
