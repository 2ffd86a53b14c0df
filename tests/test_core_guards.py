"""Guards that fail when the training core computes the wrong thing (not only when it crashes).

Each test says what it guards. They complement tests/test_training.py, whose older tests mostly
count steps or check flags.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from hfgen.training import PRESETS, GANArguments, GANTask, StepContext, Trainer, TrainingArguments

TINY_DCGAN = dict(generator_channels=8, discriminator_channels=8, latent_dim=8)


def _training_args(tmp_path, **overrides) -> TrainingArguments:
    kwargs = dict(dataset="digits", output_dir=str(tmp_path), max_train_steps=4, train_batch_size=16, checkpointing_steps=0,
                  sample_steps=0, num_sample_images=10, logging_steps=1, report_to="none", final_eval_samples=0)
    kwargs.update(overrides)
    return TrainingArguments(**kwargs)


def test_exported_generator_is_the_ema_shadow(tmp_path):
    """Guards `--use_ema`: the exported G must be the EMA average, not the raw G (nor a flag that is merely set)."""
    args = _training_args(tmp_path, use_ema=True, ema_decay=0.9)
    trainer = Trainer(GANTask(GANArguments(preset="hinge", **TINY_DCGAN), batch_size=16), args)
    trainer.train()
    exported = load_file(os.path.join(tmp_path, "gan_generator", "model.safetensors"))
    shadow = trainer.ema["generator"].shadow.state_dict()
    raw = trainer.unwrapped["generator"].state_dict()
    assert exported.keys() == {k for k in shadow if k in exported}
    for key, value in exported.items():
        assert torch.equal(value, shadow[key].to(value.dtype)), f"{key} is not the EMA shadow's"
    # The average really differs from the last raw weights (4 updates with decay 0.9 warm-up).
    differs = [k for k, v in exported.items() if v.is_floating_point() and not torch.equal(v, raw[k])]
    assert differs, "the exported G equals the raw G: EMA was not applied"


def _fixed_task(preset: str, dataset):
    """A ring8 MLP GAN for `preset`, built on `dataset`, with its optimizers (no Accelerator needed)."""
    torch.manual_seed(0)
    task = GANTask(GANArguments(preset=preset, hidden_dim=32, num_layers=2), learning_rate=1e-3, batch_size=64)
    task.setup(dataset)
    return task, task.create_optimizers()


def _margin(task, dataset, generator) -> float:
    """mean D(real) - mean D(G(z)) on a fixed batch: how well D tells them apart (raw logits)."""
    G, D = task.models["generator"], task.models["discriminator"]
    real = dataset.get_batch(torch.arange(256))[task.data_key]
    with torch.no_grad():
        fake = G(torch.randn(256, task.config.latent_dim, generator=generator))
        return float(D(real).mean() - D(fake).mean())


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_each_preset_moves_d_and_g_the_right_way(preset):
    """Guards the sign of every loss: D steps must separate real from fake, G steps must close the gap.

    A flipped sign in a discriminator or generator loss (or an f-GAN activation applied the wrong way)
    trains without error, which the older step-counting test cannot see.
    """
    from hfgen.data import load_train_dataset

    dataset = load_train_dataset("ring8", num_samples=512, seed=0)
    task, optimizers = _fixed_task(preset, dataset)
    d_phase, g_phase = task.phases()
    ctx = StepContext(models=task.models, generator=torch.Generator().manual_seed(1), device=torch.device("cpu"), step=0)
    task.models["generator"].requires_grad_(False)
    if d_phase.after_step:  # WGAN clipping: measure from inside the clipped box, not from the initial weights
        d_phase.after_step()
    before = _margin(task, dataset, torch.Generator().manual_seed(2))
    for i in range(60):  # WGAN-GP: the penalty dominates the first ~30 steps
        batch = dataset.get_batch(torch.arange(64 * (i % 8), 64 * (i % 8) + 64))
        loss = d_phase.step(batch, ctx)["loss"]
        optimizers["discriminator"].zero_grad()
        loss.backward()
        optimizers["discriminator"].step()
        if d_phase.after_step:
            d_phase.after_step()
    after_d = _margin(task, dataset, torch.Generator().manual_seed(2))
    assert after_d > before, f"{preset}: D steps did not raise D(real) - D(fake) ({before:.4g} -> {after_d:.4g})"

    task.models["generator"].requires_grad_(True)
    task.models["discriminator"].requires_grad_(False)
    for _ in range(15):
        loss = g_phase.step(batch, ctx)["loss"]
        optimizers["generator"].zero_grad()
        loss.backward()
        optimizers["generator"].step()
    after_g = _margin(task, dataset, torch.Generator().manual_seed(2))
    assert after_g < after_d, f"{preset}: G steps did not lower D(real) - D(G(z)) ({after_d:.4g} -> {after_g:.4g})"


class _GradientRecorder(GANTask):
    """A GAN task with plain SGD optimizers that record the gradient of each step.

    SGD, because Adam's first step is scale-invariant (m / sqrt(v)) and would hide a wrong scale.
    """

    recorded: list

    def create_optimizers(self):
        recorded = self.recorded = []

        class Recording(torch.optim.SGD):
            def step(self, closure=None):
                recorded.append([p.grad.detach().clone() for g in self.param_groups for p in g["params"]])
                return super().step(closure)

        return {name: Recording(self.models[name].parameters(), lr=0.05) for name in ("generator", "discriminator")}


def test_accumulated_gradients_equal_the_large_batch_gradient(tmp_path):
    """Guards gradient accumulation: 2 micro-batches of 8 must give the gradient of one batch of 16.

    A missing division by the number of micro-batches, a zero_grad between them, or a batch drawn
    twice would change the gradient while still training without error.
    """
    # No BatchNorm and no spectral norm: both make a batch of 16 differ from two of 8 by design
    # (batch statistics; one power iteration per forward).
    gan = dict(preset="hinge", spectral_norm=False, hidden_dim=16, num_layers=2, generator_norm="none",
               discriminator_norm="none")
    grads = {}
    for accum, batch in ((1, 16), (2, 8)):
        task = _GradientRecorder(GANArguments(**gan), batch_size=batch)
        args = _training_args(tmp_path / f"accum{accum}", dataset="ring8", max_train_steps=2, train_batch_size=batch,
                              gradient_accumulation_steps=accum, export=False, max_train_samples=256)
        Trainer(task, args).train()
        grads[accum] = task.recorded
    assert len(grads[1]) == len(grads[2]) == 4  # (D, G) x 2 steps
    for step, (large, accumulated) in enumerate(zip(grads[1], grads[2])):
        for a, b in zip(large, accumulated):
            torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-6, msg=f"optimizer step {step}: gradients differ")


def test_gan_pipeline_pinned_slice():
    """Guards the sampling path against silent numeric changes (diffusers' expected-slice convention).

    The numbers were produced by this code with torch 2.13 on CPU; a change in noise drawing, label
    handling or output scaling changes them.
    """
    from hfgen import DCGANConfig, DCGANGenerator, GANPipeline

    torch.manual_seed(0)
    config = DCGANConfig(image_size=8, num_channels=3, latent_dim=8, generator_channels=4, num_classes=3)
    generator = DCGANGenerator(config).eval()
    with torch.no_grad():  # DCGAN's N(0, 0.02) init keeps every pixel near 0.5: widen it so the slice says something
        g = torch.Generator().manual_seed(0)
        for p in generator.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.3)
    pipe = GANPipeline(gan_generator=generator)
    images = pipe(batch_size=2, class_labels=[0, 2], generator=torch.Generator("cpu").manual_seed(0), output_type="np").images
    assert images.shape == (2, 8, 8, 3)
    image_slice = images[1, -3:, -3:, -1].flatten()
    expected_slice = np.array(EXPECTED_SLICE)
    np.testing.assert_allclose(image_slice, expected_slice, atol=1e-4)


EXPECTED_SLICE = [0.15853, 0.74428, 0.48126, 0.59901, 0.43501, 0.64284, 0.50142, 0.43994, 0.47348]
