"""Tests for hfgen.metrics.inception with random weights (nothing is downloaded): state-dict layout
compatible with pytorch-fid's pt_inception-2015-12-05-6726825d.pth, forward shapes, and the weight
loader's lookup / hash checks."""

from __future__ import annotations

import hashlib

import pytest
import torch

from hfgen.metrics.inception import (
    FID_INCEPTION_SHA256,
    FID_WEIGHTS_FILENAME,
    FID_WEIGHTS_URL,
    FIDInceptionV3,
    load_fid_inception,
)


@pytest.fixture(scope="module")
def model() -> FIDInceptionV3:
    torch.manual_seed(0)
    return FIDInceptionV3().eval()


def test_state_dict_layout(model):
    sd = model.state_dict()
    # 94 BasicConv2d x (conv.weight + 4 BN tensors + num_batches_tracked) + fc.weight + fc.bias
    assert len(sd) == 94 * 6 + 2
    assert len([k for k in sd if not k.endswith("num_batches_tracked")]) == 472
    # torchvision's inception_v3 has 27,161,264 parameters with aux logits and 1000 classes;
    # minus AuxLogits (3,326,696) plus 8 more classes in fc (8 * 2049) = 23,850,960
    assert sum(p.numel() for p in model.parameters()) == 23_850_960
    expected_shapes = {
        "Conv2d_1a_3x3.conv.weight": (32, 3, 3, 3),
        "Conv2d_1a_3x3.bn.running_mean": (32,),
        "Conv2d_4a_3x3.conv.weight": (192, 80, 3, 3),
        "Mixed_5b.branch1x1.conv.weight": (64, 192, 1, 1),
        "Mixed_5b.branch_pool.conv.weight": (32, 192, 1, 1),
        "Mixed_6a.branch3x3.conv.weight": (384, 288, 3, 3),
        "Mixed_6e.branch7x7dbl_5.conv.weight": (192, 192, 1, 7),
        "Mixed_7a.branch7x7x3_4.conv.weight": (192, 192, 3, 3),
        "Mixed_7b.branch3x3_2a.conv.weight": (384, 384, 1, 3),
        "Mixed_7c.branch3x3dbl_3b.bn.weight": (384,),
        "Mixed_7c.branch_pool.conv.weight": (192, 2048, 1, 1),
        "fc.weight": (1008, 2048),
        "fc.bias": (1008,),
    }
    for key, shape in expected_shapes.items():
        assert tuple(sd[key].shape) == shape, key
    assert "AuxLogits.fc.weight" not in sd
    assert model.Conv2d_1a_3x3.bn.eps == pytest.approx(0.001)


def test_forward_shapes(model):
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        out = model(x)
    assert out["pool"].shape == (2, 2048)
    assert out["logits"].shape == (2, 1008)
    assert torch.allclose(out["logits"], out["logits_unbiased"] + model.fc.bias)
    assert torch.allclose(out["probs"].sum(1), torch.ones(2))
    assert torch.isfinite(out["pool"]).all()


@pytest.fixture
def no_default_weights(monkeypatch, tmp_path):
    monkeypatch.delenv("HFGEN_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))  # empty hub cache


def test_missing_weights_mentions_download_url(no_default_weights, tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        load_fid_inception(tmp_path / "nope.pth")
    msg = str(info.value)
    assert FID_WEIGHTS_URL in msg and "HFGEN_INCEPTION_WEIGHTS" in msg
    assert FID_WEIGHTS_URL.endswith(FID_WEIGHTS_FILENAME)
    with pytest.raises(FileNotFoundError, match="pytorch-fid/releases"):
        load_fid_inception()  # nothing in env, nothing in the (temporary) hub cache


def test_wrong_hash_raises_value_error(no_default_weights, tmp_path):
    path = tmp_path / FID_WEIGHTS_FILENAME
    path.write_bytes(b"not the inception weights")
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(ValueError) as info:
        load_fid_inception(path)
    assert FID_INCEPTION_SHA256 in str(info.value) and actual in str(info.value)
    with pytest.raises(ValueError, match="0" * 64):
        load_fid_inception(path, sha256="0" * 64)


def test_load_safetensors_with_full_hash(model, monkeypatch, tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "inception.safetensors"
    sd = {k: v.contiguous() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    save_file(sd, str(path))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    monkeypatch.setenv("HFGEN_INCEPTION_WEIGHTS", str(path))  # found through the env variable
    loaded = load_fid_inception(sha256=digest.upper())
    assert not loaded.training
    for key, value in sd.items():
        assert torch.equal(loaded.state_dict()[key], value), key
