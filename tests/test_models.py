"""Model tests: shapes, conditioning, options, config validation, save/load round trips."""

import pytest
import torch

from hfgen import DCGANConfig, DCGANDiscriminator, DCGANGenerator, MLPDiscriminator, MLPGANConfig, MLPGenerator
from hfgen.models import SUPPORTED_IMAGE_SIZES


def tiny_dcgan_config(**overrides):
    """A DCGAN config small enough for CPU tests."""
    kwargs = dict(image_size=16, num_channels=1, latent_dim=8, generator_channels=8, discriminator_channels=8)
    kwargs.update(overrides)
    return DCGANConfig(**kwargs)


@pytest.mark.parametrize("image_size", [8, 16, 28, 32, 64])
@pytest.mark.parametrize("num_channels", [1, 3])
def test_dcgan_shapes_and_ranges(image_size, num_channels):
    config = tiny_dcgan_config(image_size=image_size, num_channels=num_channels)
    g, d = DCGANGenerator(config).eval(), DCGANDiscriminator(config).eval()
    x = g(torch.randn(3, 8))
    assert x.shape == (3, num_channels, image_size, image_size)
    assert x.min() >= -1 and x.max() <= 1
    logits = d(x)
    assert logits.shape == (3,)


def test_discriminator_returns_raw_logits():
    config = tiny_dcgan_config(discriminator_norm="none")
    d = DCGANDiscriminator(config)
    with torch.no_grad():
        d.head.bias.fill_(5.0)  # a sigmoid would squash this into (0, 1)
    assert (d(torch.zeros(2, 1, 16, 16)) > 1).all()


@pytest.mark.parametrize("norm", ["batch", "instance", "layer", "none"])
def test_dcgan_normalizations(norm):
    config = tiny_dcgan_config(generator_norm=norm, discriminator_norm=norm)
    x = DCGANGenerator(config)(torch.randn(4, 8))
    assert torch.isfinite(DCGANDiscriminator(config)(x)).all()


def test_class_and_condition_inputs_are_used():
    config = tiny_dcgan_config(num_classes=10, condition_dim=5)
    g, d = DCGANGenerator(config).eval(), DCGANDiscriminator(config).eval()
    z, e = torch.randn(2, 8), torch.randn(2, 5)
    x0 = g(z, torch.tensor([0, 0]), e)
    x1 = g(z, torch.tensor([1, 1]), e)
    x2 = g(z, torch.tensor([0, 0]), torch.randn(2, 5))
    assert not torch.allclose(x0, x1) and not torch.allclose(x0, x2)
    assert not torch.allclose(d(x0, torch.tensor([0, 0]), e), d(x0, torch.tensor([3, 3]), e))
    with pytest.raises(ValueError, match="class_labels"):
        g(z, condition_embeds=e)
    with pytest.raises(ValueError, match="condition_embeds"):
        g(z, torch.tensor([0, 0]))
    with pytest.raises(ValueError, match="unconditional"):
        DCGANGenerator(tiny_dcgan_config())(z, torch.tensor([0, 0]))


def test_spectral_norm_bounds_layers_and_round_trips(tmp_path):
    config = tiny_dcgan_config(spectral_norm=True, num_classes=3)
    d = DCGANDiscriminator(config)
    d.train()
    for _ in range(20):  # power iterations converge while training
        d(torch.randn(4, 1, 16, 16), torch.tensor([0, 1, 2, 0]))
    d.eval()
    sigma = torch.linalg.matrix_norm(d.head.weight.detach(), ord=2)
    assert sigma == pytest.approx(1.0, abs=0.05)
    d.save_pretrained(tmp_path)
    loaded = DCGANDiscriminator.from_pretrained(tmp_path)
    x, y = torch.randn(2, 1, 16, 16), torch.tensor([1, 2])
    torch.testing.assert_close(loaded(x, y), d(x, y), rtol=0, atol=0)


def test_dcgan_init_follows_the_paper():
    g = DCGANGenerator(tiny_dcgan_config(generator_channels=32))
    w = g.blocks[0].weight
    assert abs(w.std().item() - 0.02) < 0.003 and abs(w.mean().item()) < 0.002


@pytest.mark.parametrize("size", [7, 30, 48, 512])
def test_unsupported_image_size_lists_supported(size):
    with pytest.raises(ValueError, match="not supported") as info:
        DCGANConfig(image_size=size)
    assert str(list(SUPPORTED_IMAGE_SIZES)) in str(info.value)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(num_channels=2), "num_channels"),
        (dict(generator_norm="group"), "generator_norm"),
        (dict(discriminator_norm="spectral"), "discriminator_norm"),
        (dict(latent_dim=0), "latent_dim"),
        (dict(num_classes=-1), "num_classes"),
    ],
)
def test_config_rejects_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tiny_dcgan_config(**kwargs)


def test_mlp_shapes_pack_and_tanh():
    config = MLPGANConfig(latent_dim=4, generator_hidden_dim=16, discriminator_hidden_dim=16, discriminator_pack=4)
    g, d = MLPGenerator(config), MLPDiscriminator(config)
    x = g(torch.randn(8, 4))
    assert x.shape == (8, 2)
    assert d(x).shape == (2,)  # 8 samples packed by 4
    with pytest.raises(ValueError, match="divisible"):
        d(x[:6])
    bounded = MLPGenerator(MLPGANConfig(latent_dim=4, output_activation="tanh"))
    assert bounded(torch.randn(64, 4) * 100).abs().max() <= 1
    with pytest.raises(ValueError, match="conditioning"):
        MLPGANConfig(discriminator_pack=2, num_classes=3)
    with pytest.raises(ValueError, match="instance"):
        MLPGANConfig(generator_norm="instance")


def test_mlp_conditional():
    config = MLPGANConfig(latent_dim=4, num_classes=3, condition_dim=2, generator_norm="batch", discriminator_norm="layer")
    g, d = MLPGenerator(config), MLPDiscriminator(config)
    y, e = torch.tensor([0, 1, 2, 1]), torch.randn(4, 2)
    assert d(g(torch.randn(4, 4), y, e), y, e).shape == (4,)


def test_save_load_round_trip_and_auto_model(tmp_path):
    from transformers import AutoConfig

    import hfgen.models  # noqa: F401  (registration)

    config = tiny_dcgan_config()
    g = DCGANGenerator(config).eval()
    g.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").exists()
    assert isinstance(AutoConfig.from_pretrained(tmp_path), DCGANConfig)
    loaded = DCGANGenerator.from_pretrained(tmp_path)
    z = torch.randn(2, 8)
    torch.testing.assert_close(loaded(z), g(z), rtol=0, atol=0)


@pytest.mark.parametrize("family", ["dcgan", "mlp"])
def test_modeling_files_are_self_contained(family):
    """Each modeling file ships alone in exported repos (diffusers fetches only `<component>/<module>.py`
    from a Hub repo id): config class inside, no relative import; `configuration_*` re-exports it."""
    import importlib

    from diffusers.utils.dynamic_modules_utils import get_relative_imports
    from transformers import AutoConfig

    stem = {"dcgan": "dcgan.modeling_dcgan", "mlp": "mlp.modeling_mlp_gan"}[family]
    modeling = importlib.import_module(f"hfgen.models.{stem}")
    configuration = importlib.import_module(f"hfgen.models.{stem.replace('modeling_', 'configuration_')}")
    assert get_relative_imports(modeling.__file__) == []
    config_class = {"dcgan": DCGANConfig, "mlp": MLPGANConfig}[family]
    assert config_class.__module__ == modeling.__name__ and configuration.__dict__[config_class.__name__] is config_class
    assert type(AutoConfig.for_model(config_class.model_type)) is config_class  # registered by hfgen.models


@pytest.mark.parametrize("family", ["dcgan", "mlp"])
def test_discriminator_holds_its_own_config_class(family):
    """D converts G's config to `<D>Config` (same fields): AutoModel, which maps one config class to
    one model class per process, can then load G and D of one Hub repo in one process (test_hub)."""
    from hfgen.models.dcgan import modeling_dcgan
    from hfgen.models.mlp import modeling_mlp_gan

    if family == "dcgan":
        config, d_cls, d_config_cls = tiny_dcgan_config(num_classes=2), DCGANDiscriminator, modeling_dcgan.DCGANDiscriminatorConfig
    else:
        config, d_cls, d_config_cls = MLPGANConfig(latent_dim=4, num_classes=2), MLPDiscriminator, modeling_mlp_gan.MLPDiscriminatorConfig
    d = d_cls(config)
    assert type(d.config) is d_config_cls and d_cls.config_class is d_config_cls
    assert d.config.to_diff_dict() == config.to_diff_dict() and d.config.model_type == config.model_type
    assert d_cls(d.config).config is d.config  # no second conversion
