"""Paired (Pix2Pix) and unpaired (CycleGAN) data sources, built locally with PIL and `datasets` (offline).

Each test guards a source or an error message that did not exist before the family-ready core
(issue 10): without `hfgen.data.load_paired_dataset` / `load_unpaired_datasets` they all fail.
"""

from __future__ import annotations


import numpy as np
import pytest
import torch
from PIL import Image

from hfgen.data import (
    DataError,
    InvalidArgumentError,
    MissingColumnError,
    NoImagesFoundError,
    PairError,
    UnpairedDataset,
    load_paired_dataset,
    load_train_dataset,
    load_unpaired_datasets,
)


# Never the network or the user's HF cache (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("isolated_datasets_cache")


def _grey(level: int, size=(6, 6)) -> Image.Image:
    return Image.new("L", size, level)


def _save(img: Image.Image, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


def _level(x: torch.Tensor) -> int:
    """The grey level (0..255) of a uniform decoded image."""
    return round((float(x.float().mean()) + 1) * 127.5)


# ------------------------------------------------------------------------------------ paired
def test_two_image_columns_of_a_saved_dataset_with_captions(tmp_path):
    """--image_column / --conditioning_image_column pick target and input; pairs stay aligned after
    subsampling; several captions per row are kept; the old single-image loader is reached through
    load_train_dataset(conditioning_image_column=...)."""
    import datasets

    n = 8
    ds = datasets.Dataset.from_dict(
        {
            "photo": [_grey(10 * i) for i in range(n)],
            "edges": [_grey(10 * i + 5) for i in range(n)],
            "caption": [[f"pair {i}", f"number {i}"] for i in range(n)],
            "digit": [i % 3 for i in range(n)],
        },
        features=datasets.Features(
            {"photo": datasets.Image(), "edges": datasets.Image(), "caption": datasets.Sequence(datasets.Value("string")),
             "digit": datasets.ClassLabel(names=["zero", "one", "two"])}
        ),
    )
    ds.save_to_disk(str(tmp_path / "saved"))
    data = load_train_dataset(
        str(tmp_path / "saved"), image_column="photo", conditioning_image_column="edges", text_column="caption",
        num_samples=5, seed=1,
    )
    assert data.has_conditioning and len(data) == 5 and data.captions_per_row == 2
    assert data.storage["pixel_values"].dtype == torch.uint8
    batch = data.get_batch(torch.arange(5), generator=torch.Generator().manual_seed(0))
    for target, cond, text in zip(batch["pixel_values"], batch["conditioning_pixel_values"], batch["text"]):
        i = _level(target) // 10
        assert _level(target) == 10 * i and _level(cond) == 10 * i + 5  # one row = one pair
        assert text in (f"pair {i}", f"number {i}")
    assert batch["labels"].tolist() == [_level(t) // 10 % 3 for t in batch["pixel_values"]]
    assert data.class_names == ["zero", "one", "two"]
    with pytest.raises(MissingColumnError, match=r"'kind' \(from --label_column\)"):
        load_paired_dataset(str(tmp_path / "saved"), image_column="photo", conditioning_image_column="edges", label_column="kind")
    assert "pairs of images" in data.describe() and "up to 2 each" in data.describe()


def test_column_names_detected_and_missing_column_named(tmp_path):
    """Known column pairs (conditioning_image/image) need no flags; a wrong flag names the column, the
    available ones and the CLI flag; unknown names ask for both flags; a missing caption column is named."""
    import datasets

    feats = datasets.Features({"conditioning_image": datasets.Image(), "image": datasets.Image()})
    datasets.Dataset.from_dict(
        {"conditioning_image": [_grey(1)] * 4, "image": [_grey(200)] * 4}, features=feats
    ).save_to_disk(str(tmp_path / "cn"))
    data = load_paired_dataset(str(tmp_path / "cn"))
    assert _level(data.tensors["conditioning_pixel_values"][0]) == 1 and _level(data.tensors["pixel_values"][0]) == 200
    with pytest.raises(MissingColumnError, match=r"'hint'.*--conditioning_image_column.*'conditioning_image'"):
        load_paired_dataset(str(tmp_path / "cn"), conditioning_image_column="hint")
    with pytest.raises(MissingColumnError, match=r"'prompt'.*--caption_column"):
        load_paired_dataset(str(tmp_path / "cn"), text_column="prompt")
    feats = datasets.Features({"left": datasets.Image(), "right": datasets.Image()})
    datasets.Dataset.from_dict({"left": [_grey(1)] * 2, "right": [_grey(2)] * 2}, features=feats).save_to_disk(
        str(tmp_path / "odd")
    )
    with pytest.raises(MissingColumnError, match=r"--conditioning_image_column INPUT --image_column TARGET"):
        load_paired_dataset(str(tmp_path / "odd"))


def test_a_b_folders_matched_by_file_name_and_direction(tmp_path):
    """A/x and B/x form a pair whatever the extension; BtoA swaps input and target."""
    for i in range(4):
        _save(_grey(20 + i), tmp_path / "pairs" / "A" / f"img{i}.png")
        _save(_grey(100 + i), tmp_path / "pairs" / "B" / f"img{i}.bmp")
    data = load_paired_dataset(str(tmp_path / "pairs"))
    x = data.tensors
    assert [_level(v) for v in x["conditioning_pixel_values"]] == [20, 21, 22, 23]
    assert [_level(v) for v in x["pixel_values"]] == [100, 101, 102, 103]
    swapped = load_paired_dataset(str(tmp_path / "pairs"), direction="BtoA").tensors
    assert [_level(v) for v in swapped["conditioning_pixel_values"]] == [100, 101, 102, 103]
    with pytest.raises(InvalidArgumentError, match="--direction AtoB or BtoA"):
        load_paired_dataset(str(tmp_path / "pairs"), direction="sideways")
    with pytest.raises(InvalidArgumentError, match="folder of image files.*drop them"):
        load_paired_dataset(str(tmp_path / "pairs"), image_column="image")


def test_side_by_side_ab_images_are_split_in_half(tmp_path):
    """The pix2pix datasets' format: one image, A on the left, B on the right, under <path>/<split>/."""
    for i in range(3):
        ab = np.zeros((8, 16), dtype=np.uint8)
        ab[:, :8], ab[:, 8:] = 30 + i, 150 + i
        _save(Image.fromarray(ab), tmp_path / "facades" / "train" / f"{i}.png")
    _save(Image.fromarray(np.full((8, 16), 7, np.uint8)), tmp_path / "facades" / "test" / "0.png")
    data = load_paired_dataset(str(tmp_path / "facades"), image_size=4)
    x = data.tensors
    assert x["pixel_values"].shape == (3, 1, 4, 4) == x["conditioning_pixel_values"].shape
    assert [_level(v) for v in x["conditioning_pixel_values"]] == [30, 31, 32]
    assert [_level(v) for v in x["pixel_values"]] == [150, 151, 152]
    test = load_paired_dataset(str(tmp_path / "facades"), split="test")
    assert len(test) == 1 and _level(test.tensors["pixel_values"][0]) == 7


def test_pair_errors_name_the_files(tmp_path):
    """Missing partners are listed by name, pairs of different sizes name both files, an odd AB width
    names the file, an empty side names its folder."""
    root = tmp_path / "pairs"
    for name in ("a", "b", "c"):
        _save(_grey(1), root / "A" / f"{name}.png")
    for name in ("a", "b", "d"):
        _save(_grey(2), root / "B" / f"{name}.png")
    with pytest.raises(PairError, match=r"1 image\(s\) of .*A have no partner in .*B: 'c'.*of .*B have no partner.*'d'"):
        load_paired_dataset(str(root))
    (root / "A" / "c.png").unlink()
    (root / "B" / "d.png").unlink()
    _save(_grey(2, size=(6, 7)), root / "B" / "b.png")
    with pytest.raises(PairError, match=r"A/b\.png is 6x6 but .*B/b\.png is 6x7"):
        load_paired_dataset(str(root))
    _save(Image.new("L", (9, 4)), tmp_path / "ab" / "x.png")
    with pytest.raises(PairError, match=r"x\.png is 9x4: a side-by-side AB image needs an even width"):
        load_paired_dataset(str(tmp_path / "ab"))
    (tmp_path / "half" / "A").mkdir(parents=True)
    _save(_grey(1), tmp_path / "half" / "B" / "a.png")
    with pytest.raises(NoImagesFoundError, match=r"half/A"):
        load_paired_dataset(str(tmp_path / "half"))


# ------------------------------------------------------------------------------------ unpaired
def test_unpaired_train_folders_and_held_out_test_folders(tmp_path):
    """trainA/ and trainB/ are two domains of their own sizes; testA/ and testB/ never enter training
    but load with split="test"; two dataset names work too."""
    root = tmp_path / "horse2zebra"
    for i in range(3):
        _save(Image.new("RGB", (8, 8), (200, 0, 0)), root / "trainA" / f"{i}.png")
    for i in range(5):
        _save(Image.new("RGB", (12, 12), (0, 0, 200)), root / "trainB" / f"{i}.png")
    _save(Image.new("RGB", (8, 8), (0, 255, 0)), root / "testA" / "0.png")
    _save(Image.new("RGB", (8, 8), (0, 255, 0)), root / "testB" / "0.png")
    data = load_unpaired_datasets(str(root))
    assert isinstance(data, UnpairedDataset) and list(data.domains) == ["domain_a", "domain_b"]
    assert len(data["domain_a"]) == 3 and len(data["domain_b"]) == 5 and len(data) == 5
    # domain B resized to domain A's size; no green (test) image anywhere in training
    assert data["domain_b"].tensors["pixel_values"].shape == (5, 3, 8, 8)
    for domain in data.domains.values():
        assert float(domain.tensors["pixel_values"][:, 1].max()) < 0  # green channel empty
    batch = data.get_batch({"domain_a": torch.tensor([0, 2]), "domain_b": torch.tensor([4])})
    assert batch["domain_a"]["pixel_values"].shape[0] == 2 and batch["domain_b"]["pixel_values"].shape[0] == 1
    test = load_unpaired_datasets(str(root), split="test")
    assert len(test["domain_a"]) == 1 and float(test["domain_a"].tensors["pixel_values"][:, 1].min()) > 0.9
    two = load_unpaired_datasets(str(root / "trainA"), str(root / "trainB"), image_size=4)
    assert [len(d) for d in two.domains.values()] == [3, 5] and two["domain_a"].image_size == 4
    assert "domain_a:" in data.describe() and "domain_b:" in data.describe()


def test_unpaired_errors_name_the_domain_and_folder(tmp_path):
    """An empty domain, a missing trainB/ and a file instead of a folder each get their own message."""
    root = tmp_path / "u"
    _save(_grey(3), root / "trainA" / "0.png")
    with pytest.raises(DataError, match=r"no trainB/ \(subfolders found: \['trainA/'\]\)"):
        load_unpaired_datasets(str(root))
    (root / "trainB").mkdir()
    with pytest.raises(NoImagesFoundError, match=r"Domain B is empty: No images found in folder .*trainB"):
        load_unpaired_datasets(str(root))
    with pytest.raises(DataError, match="not a folder"):
        load_unpaired_datasets(str(root / "trainA" / "0.png"))


def test_unpaired_domains_from_two_columns_of_one_dataset(tmp_path):
    """A Hub-style CycleGAN dataset (imageA/imageB columns, empty cells where one domain is shorter)
    gives two domains of their own sizes; other column names are asked for by name."""
    import datasets

    feats = datasets.Features({"imageA": datasets.Image(), "imageB": datasets.Image()})
    datasets.Dataset.from_dict(
        {"imageA": [_grey(10), _grey(11), _grey(12)], "imageB": [_grey(200), None, _grey(202)]}, features=feats
    ).save_to_disk(str(tmp_path / "h2z"))
    data = load_unpaired_datasets(str(tmp_path / "h2z"))
    assert [_level(v) for v in data["domain_a"].tensors["pixel_values"]] == [10, 11, 12]
    assert [_level(v) for v in data["domain_b"].tensors["pixel_values"]] == [200, 202]
    swapped = load_unpaired_datasets(str(tmp_path / "h2z"), columns=("imageB", "imageA"))
    assert len(swapped["domain_a"]) == 2
    with pytest.raises(MissingColumnError, match=r"'photo' \(a domain's images\) not found.*\['imageA', 'imageB'\]"):
        load_unpaired_datasets(str(tmp_path / "h2z"), columns=("photo", "imageB"))
    datasets.Dataset.from_dict({"x": [_grey(1)], "y": [None]}, features=datasets.Features({"x": datasets.Image(), "y": datasets.Image()})).save_to_disk(str(tmp_path / "xy"))
    with pytest.raises(MissingColumnError, match=r"columns=\(COLUMN_A, COLUMN_B\)"):
        load_unpaired_datasets(str(tmp_path / "xy"))
    with pytest.raises(NoImagesFoundError, match=r"Domain B is empty: column 'y'"):
        load_unpaired_datasets(str(tmp_path / "xy"), columns=("x", "y"))
