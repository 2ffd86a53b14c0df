"""Tests for hfgen.data: mixtures, embedded datasets, local folders and error messages (offline)."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import torch
from PIL import Image

from hfgen.data import (
    EMBEDDED_DATASETS,
    MIXTURES,
    CorruptImageError,
    DataError,
    GenDataset,
    HubUnavailableError,
    MissingColumnError,
    NoImagesFoundError,
    UnknownDatasetError,
    load_train_dataset,
    mixture_spec,
    sample_mixture,
)


# Never the network or the user's HF cache (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("isolated_datasets_cache")


def _png(path, size=(6, 6), color=(200, 10, 10), mode="RGB"):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, color if mode == "RGB" else color[0]).save(path)
    return path


@pytest.fixture
def class_folder(tmp_path):
    root = tmp_path / "pets"
    for i in range(3):
        _png(root / "cat" / f"c{i}.png", color=(255, 0, 0))
        _png(root / "dog" / f"d{i}.png", color=(0, 0, 255))
    return root


# ------------------------------------------------------------------------------------ mixtures
def test_ring8_spec_and_samples():
    means, std = mixture_spec("ring8")
    assert means.shape == (8, 2) and means.dtype == np.float32 and std == pytest.approx(0.01)
    np.testing.assert_allclose(np.linalg.norm(means, axis=1), 1.0, atol=1e-6)
    x = sample_mixture("ring8", 8000, seed=1)
    assert x.shape == (8000, 2) and x.dtype == np.float32
    d = np.linalg.norm(x[:, None] - means[None], axis=2)
    mode = d.argmin(1)
    counts = np.bincount(mode, minlength=8)
    assert counts.min() > 800  # uniform over modes (expected 1000 each)
    resid = x - means[mode]
    assert resid.std() == pytest.approx(0.01, rel=0.1)
    np.testing.assert_array_equal(x, sample_mixture("ring8", 8000, seed=1))  # deterministic


def test_grid25_and_overrides():
    means, std = mixture_spec("grid25")
    assert means.shape == (25, 2) and std == pytest.approx(0.05)
    assert set(np.unique(means)) == {-4.0, -2.0, 0.0, 2.0, 4.0}
    x = sample_mixture("grid25", 5000, seed=0)
    d = np.linalg.norm(x[:, None] - means[None], axis=2).min(1)
    assert (d < 5 * 0.05 * np.sqrt(2)).all()  # within 5 std per coordinate of the nearest mean
    assert len(np.unique(np.linalg.norm(x[:, None] - means[None], axis=2).argmin(1))) == 25
    y = sample_mixture("ring8", 1000, radius=2.0, std=0.0)
    np.testing.assert_allclose(np.linalg.norm(y, axis=1), 2.0, atol=1e-5)
    assert set(MIXTURES) >= {"ring8", "grid25"}


def test_mixture_dataset():
    ds = load_train_dataset("ring8", num_samples=500, seed=3)
    assert ds.kind == "vector" and ds.data_dim == 2 and ds.num_classes == 0 and len(ds) == 500
    assert ds[0]["points"].shape == (2,) and ds.tensors["points"].dtype == torch.float32
    assert len(load_train_dataset("grid25")) == 10000
    assert EMBEDDED_DATASETS == ("ring8", "grid25", "digits", "mnist5k", "shapes", "edges2digits", "shapes2textures")


# ------------------------------------------------------------------------------------ embedded
def test_digits():
    ds = load_train_dataset("digits")
    px = ds.tensors["pixel_values"]
    assert isinstance(ds, GenDataset) and ds.kind == "image"
    assert px.shape == (1797, 1, 8, 8) and px.dtype == torch.float32
    assert px.min() == -1.0 and px.max() == 1.0
    assert ds.num_classes == 10 and ds.class_names == [str(i) for i in range(10)]
    assert set(ds.tensors["labels"].tolist()) == set(range(10))
    item = ds[5]
    assert item["labels"].dtype == torch.int64 and item["labels"].ndim == 0
    assert (ds.image_size, ds.num_channels) == (8, 1)


def test_digits_resize_and_subsample():
    ds = load_train_dataset("digits", image_size=16, num_channels=3, num_samples=100, seed=1)
    px = ds.tensors["pixel_values"]
    assert px.shape == (100, 3, 16, 16) and px.min() >= -1 and px.max() <= 1
    assert ds.image_size == 16 and ds.num_channels == 3


def test_mnist5k():
    ds = load_train_dataset("mnist5k")
    px = ds.tensors["pixel_values"]
    assert px.shape == (5000, 1, 28, 28)
    assert px.min() == -1.0 and px.max() == 1.0
    assert ds.num_classes == 10 and ds.tensors["labels"].shape == (5000,)


# ------------------------------------------------------------------------------------ folders
def test_image_folder_subfolder_labels(class_folder):
    ds = load_train_dataset(str(class_folder))
    assert len(ds) == 6 and ds.class_names == ["cat", "dog"] and ds.num_classes == 2
    px = ds.tensors["pixel_values"]
    assert px.shape == (6, 3, 6, 6) and ds.num_channels == 3
    labels = ds.tensors["labels"]
    red = px[:, 0].mean((1, 2)) > 0.9
    assert torch.equal(labels == 0, red)  # cats are red, dogs blue
    gray = load_train_dataset(str(class_folder), num_channels=1, image_size=4)
    assert gray.tensors["pixel_values"].shape == (6, 1, 4, 4)


def test_get_batch_matches_getitem(class_folder):
    ds = load_train_dataset(str(class_folder))
    idx = torch.tensor([4, 0, 2])
    batch = ds.get_batch(idx)
    for key in ("pixel_values", "labels"):
        assert torch.equal(batch[key], torch.stack([ds[i][key] for i in idx.tolist()]))


def test_metadata_text_and_grayscale(tmp_path):
    root = tmp_path / "captions"
    rows = []
    for i in range(3):
        _png(root / f"{i}.png", size=(5, 5), color=(40 * i, 0, 0), mode="L")
        rows.append({"file_name": f"{i}.png", "text": f"a picture {i}", "label": i % 2})
    (root / "metadata.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    ds = load_train_dataset(str(root))
    assert ds.num_channels == 1 and ds.tensors["pixel_values"].shape == (3, 1, 5, 5)
    assert sorted(ds[i]["text"] for i in range(3)) == ["a picture 0", "a picture 1", "a picture 2"]
    assert ds.num_classes == 2
    batch = ds.get_batch(torch.tensor([2, 1]))
    assert batch["text"] == [ds[2]["text"], ds[1]["text"]]
    for i in range(3):  # texts stay aligned with images
        value = (ds[i]["pixel_values"].mean().item() + 1) * 127.5
        assert f"{round(value / 40)}" == ds[i]["text"][-1]


def test_save_to_disk_folder(tmp_path):
    import datasets

    imgs = [Image.new("RGB", (4, 4), (i * 60, 0, 0)) for i in range(4)]
    feats = datasets.Features(
        {"img": datasets.Image(), "cls": datasets.ClassLabel(names=["a", "b"]), "caption": datasets.Value("string")}
    )
    src = datasets.Dataset.from_dict(
        {"img": imgs, "cls": [0, 1, 0, 1], "caption": list("wxyz")}, features=feats
    )
    src.save_to_disk(str(tmp_path / "saved"))
    ds = load_train_dataset(str(tmp_path / "saved"))
    assert ds.tensors["pixel_values"].shape == (4, 3, 4, 4)
    assert ds.class_names == ["a", "b"] and ds.tensors["labels"].tolist() == [0, 1, 0, 1]
    assert [ds[i]["text"] for i in range(4)] == list("wxyz")


def test_rgb_conversion_resize_and_crop(tmp_path):
    root = tmp_path / "wide"
    img = np.zeros((10, 30), np.uint8)
    img[:, 10:20] = 255  # white centre third, black sides
    Image.fromarray(img, mode="L").save(_png(root / "w.png"))
    ds = load_train_dataset(str(root), image_size=5, num_channels=3)
    px = ds.tensors["pixel_values"]
    assert px.shape == (1, 3, 5, 5) and ds.num_channels == 3
    assert px[0, :, :, 1:4].min() > 0.9  # the centre crop keeps the white middle
    assert torch.equal(px[0, 0], px[0, 1]) and torch.equal(px[0, 1], px[0, 2])
    squash = load_train_dataset(str(root), image_size=6, center_crop=False)
    assert squash.tensors["pixel_values"].shape == (1, 1, 6, 6)
    assert squash.tensors["pixel_values"][0, 0, :, 0].max() < -0.5  # black border kept


# ------------------------------------------------------------------------------------ errors
def test_empty_folder_error(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no images")
    with pytest.raises(NoImagesFoundError, match=r"No images found.*\.png") as exc:
        load_train_dataset(str(tmp_path / "empty"))
    assert isinstance(exc.value, (DataError, FileNotFoundError))


def test_corrupt_image_error(tmp_path, class_folder):
    (class_folder / "cat" / "broken.png").write_bytes(b"this is not a png")
    with pytest.raises(CorruptImageError) as exc:
        load_train_dataset(str(class_folder))
    assert "broken.png" in str(exc.value) and isinstance(exc.value, DataError)


def test_missing_column_error(class_folder):
    with pytest.raises(MissingColumnError) as exc:
        load_train_dataset(str(class_folder), label_column="species")
    msg = str(exc.value)
    assert "species" in msg and "'image'" in msg and "'label'" in msg
    with pytest.raises(MissingColumnError, match="caption"):
        load_train_dataset(str(class_folder), text_column="caption")


def test_hub_offline_error_is_fast():
    t0 = time.perf_counter()
    with pytest.raises(HubUnavailableError) as exc:
        load_train_dataset("someone/definitely-not-cached-dataset")
    assert time.perf_counter() - t0 < 10
    msg = str(exc.value).lower()
    assert "offline" in msg and "local image folder" in msg and "digits" in msg
    assert isinstance(exc.value, ConnectionError) and isinstance(exc.value, DataError)


def test_unknown_name_and_bad_args(tmp_path):
    with pytest.raises(UnknownDatasetError) as exc:
        load_train_dataset("not a dataset!!")
    assert all(n in str(exc.value) for n in EMBEDDED_DATASETS)
    with pytest.raises(FileNotFoundError, match="ring8"):
        load_train_dataset(str(tmp_path / "no" / "such" / "folder"))
    with pytest.raises(DataError, match="image_size"):
        load_train_dataset("digits", image_size=0)
    with pytest.raises(DataError, match="num_channels"):
        load_train_dataset("digits", num_channels=2)
