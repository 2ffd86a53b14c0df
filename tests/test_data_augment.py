"""Batch augmentation (random crop, horizontal flip) drawn from the loop's generator, through the
`Task.augment` hook (issue 10): pairs transformed alike, and resume bitwise exact with it on."""

from __future__ import annotations

import os

import pytest
import torch
from safetensors.torch import load_file

from hfgen.data import Augmentation, InvalidArgumentError, PixelDecoder, load_train_dataset, random_crop, random_flip
from hfgen.training import GANArguments, GANTask, Task, Trainer, TrainingArguments


def _pair_batch(n=6, size=5):
    x = torch.arange(n * size * size, dtype=torch.float32).reshape(n, 1, size, size)
    return {"pixel_values": x, "conditioning_pixel_values": -x, "labels": torch.arange(n), "text": ["t"] * n}


def test_flip_and_crop_treat_both_images_of_a_pair_alike_and_are_reproducible():
    """Input and target of a row get the same crop window and the same flip; the same generator
    state gives the same result; other fields pass through."""
    batch = _pair_batch()
    aug = Augmentation(random_flip=True, crop_size=3)
    out = aug(batch, torch.Generator().manual_seed(0))
    assert out["pixel_values"].shape == (6, 1, 3, 3)
    assert torch.equal(out["conditioning_pixel_values"], -out["pixel_values"])
    assert out["labels"] is batch["labels"] and out["text"] is batch["text"]
    again = aug(batch, torch.Generator().manual_seed(0))
    assert torch.equal(again["pixel_values"], out["pixel_values"])
    flipped = random_flip(batch, torch.Generator().manual_seed(1), p=1.0)
    assert torch.equal(flipped["pixel_values"], batch["pixel_values"].flip(-1))
    kept = random_flip(batch, torch.Generator().manual_seed(1), p=0.0)
    assert torch.equal(kept["pixel_values"], batch["pixel_values"])
    # every crop is a window of the original row
    crops = random_crop(batch, 3, torch.Generator().manual_seed(2))["pixel_values"]
    for row, crop in zip(batch["pixel_values"], crops):
        windows = row.unfold(1, 3, 1).unfold(2, 3, 1).reshape(1, -1, 3, 3)[0]
        assert any(torch.equal(w, crop[0]) for w in windows)
    # unpaired batches: each domain transformed
    nested = aug({"domain_a": _pair_batch(), "domain_b": _pair_batch(2)}, torch.Generator().manual_seed(0))
    assert nested["domain_b"]["pixel_values"].shape == (2, 1, 3, 3)
    assert Augmentation()(batch, torch.Generator()) is batch  # off: nothing drawn, nothing changed
    assert Task().augment(batch, torch.Generator()) is batch  # the hook's default is a no-op


def test_augmentation_errors_name_the_fix():
    with pytest.raises(InvalidArgumentError, match=r"Cannot crop 6x6 from images of 5x5.*--resolution"):
        random_crop(_pair_batch(), 6, torch.Generator())
    bad = {"pixel_values": torch.zeros(2, 1, 5, 5), "conditioning_pixel_values": torch.zeros(2, 1, 4, 4)}
    with pytest.raises(InvalidArgumentError, match="one --resolution"):
        random_crop(bad, 3, torch.Generator())
    with pytest.raises(InvalidArgumentError, match="crop_size"):
        Augmentation(crop_size=0)


class _AugmentedGAN(GANTask):
    """A GAN on 10x10 digits cropped at random to 8x8 and flipped: the model sees only augmented batches."""

    augmentation = Augmentation(random_flip=True, crop_size=8)

    def augment(self, batch, generator):
        return self.augmentation(batch, generator)


def _digits_10px():
    data = load_train_dataset("digits")
    # stored 8x8 grey levels, decoded at 10x10: the GAN is built for 8x8 and only the crop fits it
    data.decoders["pixel_values"] = PixelDecoder(16.0, size=10)
    return data


def _train(folder, steps, resume=None):
    args = TrainingArguments(
        dataset="digits", output_dir=str(folder), max_train_steps=steps, train_batch_size=16, checkpointing_steps=3,
        sample_steps=0, num_sample_images=4, logging_steps=1, report_to="none", resume_from_checkpoint=resume,
        final_eval_samples=0,
    )
    gan = GANArguments(preset="vanilla", generator_channels=8, discriminator_channels=8, latent_dim=8)
    return Trainer(_AugmentedGAN(gan, batch_size=16), args, dataset=_digits_10px()).train()


def test_resume_is_bitwise_exact_with_augmentation_on(tmp_path):
    """Crops and flips come from the loop's checkpointed generator: 6 straight steps == 3 + resume + 3
    (weights and the whole checkpoint, generator state included). Without the loop calling
    Task.augment the 10x10 batches would not fit the 8x8 GAN."""
    _train(tmp_path / "straight", 6)
    _train(tmp_path / "resumed", 3)
    assert _train(tmp_path / "resumed", 6, resume="latest")["resumed_from_step"] == 3
    for sub in ("gan_generator", "discriminator"):
        a = load_file(os.path.join(tmp_path / "straight", sub, "model.safetensors"))
        b = load_file(os.path.join(tmp_path / "resumed", sub, "model.safetensors"))
        assert all(torch.equal(a[k], b[k]) for k in a), sub
    sa = load_file(tmp_path / "straight" / "checkpoints" / "checkpoint-6" / "state.safetensors")
    sb = load_file(tmp_path / "resumed" / "checkpoints" / "checkpoint-6" / "state.safetensors")
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
