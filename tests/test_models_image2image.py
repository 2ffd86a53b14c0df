"""The image-to-image networks (U-Net G, ResNet G, PatchGAN D) shared by Pix2Pix and CycleGAN."""

import importlib

import pytest
import torch

from hfgen.models import (
    PatchDiscriminator,
    PatchDiscriminatorConfig,
    ResnetGenerator,
    ResnetGeneratorConfig,
    UNetGenerator,
    UNetGeneratorConfig,
)


def tiny_unet(**kwargs) -> UNetGenerator:
    return UNetGenerator(UNetGeneratorConfig(**{"image_size": 32, "base_channels": 8, **kwargs}))


@pytest.mark.parametrize("image_size,num_downs", [(16, 4), (32, 5), (64, 6), (256, 8)])
def test_unet_depth_follows_the_resolution(image_size, num_downs):
    """num_downs defaults to log2(size) (the reference's unet_32 ... unet_256: a 1x1 bottleneck); dropout sits in
    max(num_downs - 5, 1) decoder layers (3 at 256 px as in the paper, at least one so small models keep noise)."""
    config = UNetGeneratorConfig(image_size=image_size, base_channels=4)
    assert config.num_downs == num_downs
    g = UNetGenerator(config)
    assert sum(isinstance(m, torch.nn.Dropout) for m in g.modules()) == max(num_downs - 5, 1)
    if image_size <= 64:
        x = torch.rand(2, 3, image_size, image_size) * 2 - 1
        y = g(x)
        assert y.shape == x.shape and y.abs().max() <= 1


def test_unet_skip_connections_carry_the_input():
    """Each decoder layer sees the mirrored encoder layer: cutting the bottleneck to zeros must not erase the
    output's dependence on the input (it would without skips)."""
    g = tiny_unet(use_dropout=False).eval()
    g.down[-1].register_forward_hook(lambda module, args, out: torch.zeros_like(out))
    x1, x2 = torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32)
    assert not torch.allclose(g(x1), g(x2))


def test_unet_dropout_is_the_noise_source():
    """In train mode two calls on one input differ (dropout); in eval mode they are identical."""
    g = tiny_unet().train()
    x = torch.rand(2, 3, 32, 32)
    assert not torch.equal(g(x), g(x))
    g.eval()
    assert torch.equal(g(x), g(x))


def test_patch_discriminator_receptive_field_and_logit_grid():
    """n_layers=3 is the paper's 70x70 PatchGAN; D returns a raw logit map [N, 1, h, w] (no sigmoid)."""
    assert [PatchDiscriminatorConfig(n_layers=n).receptive_field for n in (1, 2, 3, 4)] == [16, 34, 70, 142]
    d = PatchDiscriminator(PatchDiscriminatorConfig(in_channels=6, base_channels=8))
    assert d.config.output_size(256) == 30
    out = d(torch.randn(2, 6, 256, 256))
    assert out.shape == (2, 1, 30, 30)
    assert (out.min() < 0) or (out.max() > 1)  # logits, not probabilities
    # The receptive field is measured, not only computed: a change at one pixel moves only the logits that see it.
    d.eval()
    x = torch.randn(1, 6, 128, 128)
    delta = d(x + torch.nn.functional.pad(torch.ones(1, 6, 1, 1), (0, 127, 0, 127))) - d(x)
    moved = (delta.abs() > 0).nonzero()
    assert moved.numel() and moved[:, 2].max() < 70 // 8 + 1


def test_patch_discriminator_rejects_too_small_images_with_the_fix():
    d = PatchDiscriminator(PatchDiscriminatorConfig(in_channels=3, base_channels=4, n_layers=3))
    with pytest.raises(ValueError, match="needs at least 24 px.*fewer layers"):
        d(torch.randn(1, 3, 16, 16))
    assert PatchDiscriminator(PatchDiscriminatorConfig(in_channels=3, base_channels=4, n_layers=2))(torch.randn(1, 3, 16, 16)).shape == (1, 1, 2, 2)


def test_resnet_generator_shapes_blocks_and_reflection_padding():
    """CycleGAN's G: c7s1, two stride-2 downsamplings, n_blocks residual blocks, reflection padding, instance norm."""
    config = ResnetGeneratorConfig(image_size=32, base_channels=8, n_blocks=2)
    g = ResnetGenerator(config)
    assert sum(type(m).__name__ == "ResnetBlock" for m in g.modules()) == 2
    assert any(isinstance(m, torch.nn.ReflectionPad2d) for m in g.modules())
    assert any(isinstance(m, torch.nn.InstanceNorm2d) for m in g.modules())
    x = torch.rand(3, 3, 32, 32) * 2 - 1
    y = g(x)
    assert y.shape == x.shape and y.abs().max() <= 1
    with pytest.raises(ValueError, match="divisible by 4.*resize"):
        g(torch.rand(1, 3, 30, 30))


@pytest.mark.parametrize(
    "cls,kwargs,match",
    [
        (UNetGeneratorConfig, {"image_size": 28}, "not a power of two.*num_downs=2"),
        (UNetGeneratorConfig, {"image_size": 32, "num_downs": 6}, "not divisible by 2\\*\\*num_downs"),
        (UNetGeneratorConfig, {"norm": "group"}, "norm='group' is not supported"),
        (ResnetGeneratorConfig, {"image_size": 30}, "not divisible by 2\\*\\*num_downsamplings"),
        (ResnetGeneratorConfig, {"padding_type": "circular"}, "padding_type"),
        (PatchDiscriminatorConfig, {"n_layers": 0}, "n_layers must be at least 1"),
    ],
)
def test_configs_reject_bad_values(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)


def test_unet_with_a_non_power_of_two_size_and_explicit_depth():
    """28x28 MNIST works with num_downs=2 (28 = 4 * 7)."""
    g = UNetGenerator(UNetGeneratorConfig(image_size=28, num_downs=2, base_channels=4, in_channels=1, out_channels=1))
    assert g(torch.rand(2, 1, 28, 28)).shape == (2, 1, 28, 28)


@pytest.mark.parametrize(
    "model",
    [
        lambda: tiny_unet(),
        lambda: ResnetGenerator(ResnetGeneratorConfig(image_size=32, base_channels=4, n_blocks=1)),
        lambda: PatchDiscriminator(PatchDiscriminatorConfig(in_channels=6, base_channels=4, n_layers=2, spectral_norm=True)),
    ],
)
def test_save_load_round_trip_and_auto_classes(tmp_path, model):
    """safetensors round trip; each network has its OWN registered config class (AutoModel maps one config class to
    one model class per process, so G and D of one repo can be loaded side by side)."""
    from transformers import AutoConfig

    m = model().eval()
    m.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").exists()
    assert type(AutoConfig.from_pretrained(tmp_path)) is m.config_class
    loaded = type(m).from_pretrained(tmp_path).eval()
    x = torch.rand(1, m.config.in_channels, 32, 32)
    # Same tensors; the spectral-norm division may round differently in the last bit.
    torch.testing.assert_close(loaded(x), m(x), rtol=1e-5, atol=1e-5)


def test_modeling_file_is_self_contained():
    """The file ships alone in exported repos: config classes inside, no relative import."""
    from diffusers.utils.dynamic_modules_utils import get_relative_imports

    modeling = importlib.import_module("hfgen.models.image2image.modeling_image2image")
    configuration = importlib.import_module("hfgen.models.image2image.configuration_image2image")
    assert get_relative_imports(modeling.__file__) == []
    for config_class in (UNetGeneratorConfig, ResnetGeneratorConfig, PatchDiscriminatorConfig):
        assert config_class.__module__ == modeling.__name__ and getattr(configuration, config_class.__name__) is config_class
    assert len({UNetGeneratorConfig.model_type, ResnetGeneratorConfig.model_type, PatchDiscriminatorConfig.model_type}) == 3
