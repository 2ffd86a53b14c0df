"""Pinned numbers: the Evaluator's output for a fixed, briefly trained GAN must not change.

Recorded with the single-module ``hfgen/evaluation.py`` (before it became a package) and kept, like
the expected slices of diffusers' pipeline tests: a refactor of the evaluation package, of the metric
math, of the digit data or of ``GANPipeline``'s sampling that changes any reported number fails here.
The demo's classifier-FID (18.8) is computed by exactly this path at 2000 samples; this test uses 500.

The generator is trained by a plain-PyTorch loop (100 hinge steps), not by hfgen's Trainer, so that the
numbers do not depend on the training loop's own choices (seeding, EMA, schedulers).
"""

from __future__ import annotations

import pytest
import torch

from hfgen.data import load_train_dataset
from hfgen.evaluation import Evaluator


@pytest.fixture(scope="module")
def trained_pipeline():
    """A class-conditional DCGAN trained 100 steps on the 8x8 digits, one thread, fixed seeds."""
    from hfgen import DCGANConfig, DCGANDiscriminator, DCGANGenerator, GANPipeline

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    config = DCGANConfig(image_size=8, num_channels=1, latent_dim=8, generator_channels=8, discriminator_channels=8,
                         num_classes=10)
    g, d = DCGANGenerator(config), DCGANDiscriminator(config)
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-3, betas=(0.5, 0.999))
    data = load_train_dataset("digits")
    x_all, y_all = data.tensors["pixel_values"].float(), data.tensors["labels"].long()
    gen = torch.Generator().manual_seed(1)
    for _ in range(100):
        idx = torch.randint(0, len(x_all), (64,), generator=gen)
        x, y = x_all[idx], y_all[idx]
        z = torch.randn(64, config.latent_dim, generator=gen)
        fake = g(z, class_labels=y)
        fake = fake.sample if hasattr(fake, "sample") else (fake[0] if isinstance(fake, tuple) else fake)
        loss_d = torch.relu(1 - _logits(d(x, class_labels=y))).mean() + torch.relu(1 + _logits(d(fake.detach(), class_labels=y))).mean()
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = -_logits(d(fake, class_labels=y)).mean()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
    yield GANPipeline(gan_generator=g.eval())
    torch.set_num_threads(threads)


def _logits(out):
    if isinstance(out, torch.Tensor):
        return out
    return out.logits if hasattr(out, "logits") else out[0]


# Recorded before the split (hfgen/evaluation.py at commit d76a33b), 1 torch thread; the split code
# reproduces every one of them bit for bit (checked with rel=0, abs=0 when it was made).
EXPECTED = {'fid': 270.579007919328, 'kid_mean': 186.63467314730352, 'kid_std': 2.842170943040401e-14, 'inception_score_mean': 2.4752578331139112, 'inception_score_std': 0.12307381786670497, 'precision': 0.284, 'recall': 0.016, 'density': 0.1796, 'coverage': 0.086, 'classes_covered': 7, 'class_entropy': 1.2787840454679955, 'class_kl_to_uniform': 1.0238010475260504}
EXPECTED_FLOORS = {'real_vs_real': {'fid': 9.47201961490623, 'kid_mean': -2.959781887534632, 'kid_std': 7.190186943645084e-14, 'inception_score_mean': 8.1380273378205, 'inception_score_std': 0.9754448213699473, 'precision': 0.892, 'recall': 0.948, 'density': 1.0176, 'coverage': 0.98, 'classes_covered': 10, 'class_entropy': 2.2841129925845793, 'class_kl_to_uniform': 0.018472100409466563}, 'noise_vs_real': {'fid': 554.6644964410436, 'kid_mean': 2663.0231108356725, 'kid_std': 4.31411216618705e-13, 'inception_score_mean': 1.237462853625444, 'inception_score_std': 0.08934448209280445, 'precision': 0.162, 'recall': 0.02, 'density': 0.0584, 'coverage': 0.034, 'classes_covered': 3, 'class_entropy': 0.21868284093170615, 'class_kl_to_uniform': 2.0839022520623396}}
EXPECTED_HISTOGRAM = [160, 95, 2, 1, 0, 0, 3, 0, 209, 30]


def test_evaluator_numbers_are_pinned(trained_pipeline):
    ev = Evaluator("digits", num_samples=500, seed=0, batch_size=128, kid_subsets=10)
    result = ev(trained_pipeline)
    floors = ev.floors()
    got = result["metrics"]
    got_floors = {k: floors[k]["metrics"] for k in ("real_vs_real", "noise_vs_real")}
    # The split added one metric (condition accuracy of a class-conditional generator); every number
    # that existed before is unchanged.
    assert set(got) == set(EXPECTED) | {"condition_accuracy"}
    # New with the package (recorded after the split): the digit classifier's accuracy on the samples
    # against the labels they were generated for; on real digits 0.992 and on noise chance (0.1).
    assert got["condition_accuracy"] == pytest.approx(0.304, abs=1e-12)
    assert result["details"]["condition_accuracy_per_class"] == pytest.approx([1.0, 0.52, 0.02, 0.02, 0.0, 0.0, 0.06, 0.0, 0.9, 0.52])
    assert got_floors["real_vs_real"]["condition_accuracy"] == pytest.approx(0.992)
    assert got_floors["noise_vs_real"]["condition_accuracy"] == pytest.approx(0.1)
    for name, value in EXPECTED.items():
        assert got[name] == pytest.approx(value, rel=1e-9, abs=1e-9), name
    for which, values in EXPECTED_FLOORS.items():
        for name, value in values.items():
            assert got_floors[which][name] == pytest.approx(value, rel=1e-9, abs=1e-9), (which, name)
    assert result["details"]["class_histogram"] == EXPECTED_HISTOGRAM
