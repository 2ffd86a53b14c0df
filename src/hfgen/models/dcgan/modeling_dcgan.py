"""DCGAN (Radford et al., 2016): the config, the generator G and the discriminator D as transformers models.

This ONE file is self-contained (torch + transformers only, no relative import) because it ships
verbatim in every exported repository, in each DCGAN component's subfolder and at the repository
root, and is loaded from there with `trust_remote_code=True` where hfgen is not installed:
diffusers fetches only `<component>/modeling_dcgan.py` from a Hub repository (not the files it
imports), and transformers fetches `auto_map` code from the repository root even with
`subfolder=`. Hence `DCGANConfig` lives here too (`configuration_dcgan.py` re-exports it), and
the file name stays `modeling_dcgan.py`: saved `model_index.json` files record it.
"""

from typing import Optional

import torch
from torch import nn
from transformers import PretrainedConfig, PreTrainedModel

NORMALIZATIONS = ("batch", "instance", "layer", "none")


def _supported_image_sizes(limit: int = 256) -> list[int]:
    """Sizes reachable by stride-2 upsampling from a 4x4 or 7x7 seed (at least one step)."""
    sizes = set()
    for seed in (4, 7):
        size = seed * 2
        while size <= limit:
            sizes.add(size)
            size *= 2
    return sorted(sizes)


SUPPORTED_IMAGE_SIZES = tuple(_supported_image_sizes())


class DCGANConfig(PretrainedConfig):
    r"""Configuration of [`DCGANGenerator`] and [`DCGANDiscriminator`].

    One config describes both networks of a DCGAN so that G and D always agree on image size,
    channels and conditioning; each network reads the fields it needs.

    Args:
        latent_dim (`int`, defaults to 100): size of the noise vector z fed to G.
        image_size (`int`, defaults to 32): side of the square images; one of
            `SUPPORTED_IMAGE_SIZES` (8, 14, 16, 28, 32, 56, 64, 112, 128, 224, 256).
        num_channels (`int`, defaults to 3): 1 (grayscale) or 3 (RGB).
        generator_channels (`int`, defaults to 64): width of G's last hidden layer; each earlier
            layer doubles it (DCGAN's "ngf").
        discriminator_channels (`int`, defaults to 64): width of D's first layer; each later
            layer doubles it ("ndf").
        generator_norm / discriminator_norm (`str`): "batch", "instance", "layer" or "none".
            A critic trained with a gradient penalty must not use "batch" (Gulrajani et al., 2017).
        spectral_norm (`bool`, defaults to False): spectral normalisation of every D layer
            (Miyato et al., 2018).
        num_classes (`int`, defaults to 0): > 0 makes both networks class-conditional: a label
            embedding concatenated to z in G, a projection term in D (Miyato & Koyama, 2018).
        condition_dim (`int`, defaults to 0): > 0 adds a condition-vector input (for example a
            text embedding) handled like the class label: concatenated in G, projected in D.
        class_embed_dim (`int`, defaults to 0): size of G's label embedding (0: `latent_dim`).
    """

    model_type = "hfgen_dcgan"

    def __init__(
        self,
        latent_dim: int = 100,
        image_size: int = 32,
        num_channels: int = 3,
        generator_channels: int = 64,
        discriminator_channels: int = 64,
        generator_norm: str = "batch",
        discriminator_norm: str = "batch",
        spectral_norm: bool = False,
        num_classes: int = 0,
        condition_dim: int = 0,
        class_embed_dim: int = 0,
        **kwargs,
    ):
        if image_size not in SUPPORTED_IMAGE_SIZES:
            raise ValueError(
                f"image_size={image_size} is not supported by DCGAN; choose one of "
                f"{list(SUPPORTED_IMAGE_SIZES)} (or resize your data with --resolution)."
            )
        if num_channels not in (1, 3):
            raise ValueError(f"num_channels must be 1 (grayscale) or 3 (RGB), got {num_channels}.")
        for name, value in (("generator_norm", generator_norm), ("discriminator_norm", discriminator_norm)):
            if value not in NORMALIZATIONS:
                raise ValueError(f"{name}={value!r} is not supported; choose one of {list(NORMALIZATIONS)}.")
        for name, value in (
            ("latent_dim", latent_dim),
            ("generator_channels", generator_channels),
            ("discriminator_channels", discriminator_channels),
        ):
            if int(value) < 1:
                raise ValueError(f"{name} must be >= 1, got {value}.")
        for name, value in (("num_classes", num_classes), ("condition_dim", condition_dim), ("class_embed_dim", class_embed_dim)):
            if int(value) < 0:
                raise ValueError(f"{name} must be >= 0, got {value}.")
        self.latent_dim = int(latent_dim)
        self.image_size = int(image_size)
        self.num_channels = int(num_channels)
        self.generator_channels = int(generator_channels)
        self.discriminator_channels = int(discriminator_channels)
        self.generator_norm = generator_norm
        self.discriminator_norm = discriminator_norm
        self.spectral_norm = bool(spectral_norm)
        self.num_classes = int(num_classes)
        self.condition_dim = int(condition_dim)
        self.class_embed_dim = int(class_embed_dim)
        super().__init__(**kwargs)

    @property
    def seed_size(self) -> int:
        """Spatial side of G's first feature map (4 or 7)."""
        return 7 if self.image_size % 7 == 0 else 4

    @property
    def num_upsamplings(self) -> int:
        """Number of stride-2 layers between the seed map and the image."""
        return (self.image_size // self.seed_size).bit_length() - 1


def _norm2d(kind: str, channels: int) -> nn.Module:
    """Normalisation layer for [N, C, H, W] features."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "layer":
        # LayerNorm over (C, H, W) of each sample, without fixing H and W.
        return nn.GroupNorm(1, channels)
    return nn.Identity()


# `_spectral` and `_check_condition` also stand in modeling_mlp_gan.py, on purpose: each modeling file ships
# alone in exported repositories (see the module docstring), so the families cannot share a helper module.
def _spectral(module: nn.Module, enabled: bool) -> nn.Module:
    """Wraps a layer with spectral normalisation (Miyato et al., 2018) when enabled."""
    return nn.utils.parametrizations.spectral_norm(module) if enabled else module


def _check_condition(config, class_labels, condition_embeds, batch_size: int, role: str):
    """Validates the optional conditioning inputs against the config."""
    if config.num_classes > 0:
        if class_labels is None:
            raise ValueError(f"This {role} is class-conditional (num_classes={config.num_classes}): pass class_labels.")
        if class_labels.shape != (batch_size,):
            raise ValueError(f"class_labels must have shape ({batch_size},), got {tuple(class_labels.shape)}.")
    elif class_labels is not None:
        raise ValueError(f"This {role} is unconditional (num_classes=0): do not pass class_labels.")
    if config.condition_dim > 0:
        if condition_embeds is None:
            raise ValueError(f"This {role} expects condition_embeds of size {config.condition_dim}.")
        if condition_embeds.shape != (batch_size, config.condition_dim):
            raise ValueError(
                f"condition_embeds must have shape ({batch_size}, {config.condition_dim}), got {tuple(condition_embeds.shape)}."
            )
    elif condition_embeds is not None:
        raise ValueError(f"This {role} takes no condition vector (condition_dim=0): do not pass condition_embeds.")


class DCGANDiscriminatorConfig(DCGANConfig):
    r"""[`DCGANConfig`] as held by a [`DCGANDiscriminator`]: the same fields, a class of its own.

    transformers' `AutoModel` maps ONE config class to ONE model class per process: loading G and
    then D of one repository with `AutoModel.from_pretrained(repo, subfolder=..., trust_remote_code=True)`
    would build D as a generator if both named the same config class in `auto_map`. A saved
    discriminator names this one. Any [`DCGANConfig`] given to [`DCGANDiscriminator`] is converted.
    """


class DCGANPreTrainedModel(PreTrainedModel):
    """Shared weight initialisation of the DCGAN paper: N(0, 0.02) weights, N(1, 0.02) norm scales."""

    config_class = DCGANConfig
    base_model_prefix = "dcgan"

    def _init_weights(self, module: nn.Module) -> None:
        """DCGAN initialisation, also for spectrally normalised layers (their original weight)."""
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)):
            weight = module.parametrizations.weight.original if nn.utils.parametrize.is_parametrized(module) else module.weight
            nn.init.normal_(weight, 0.0, 0.02)
            if getattr(module, "bias", None) is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, (nn.BatchNorm2d, nn.InstanceNorm2d, nn.GroupNorm)) and module.weight is not None:
            nn.init.normal_(module.weight, 1.0, 0.02)
            nn.init.zeros_(module.bias)


class DCGANGenerator(DCGANPreTrainedModel):
    """G: maps noise z (and an optional class label / condition vector) to images in [-1, 1].

    A linear layer projects z to a `seed_size` x `seed_size` map, then stride-2 transposed
    convolutions double the side until `image_size`; the output goes through tanh.
    """

    main_input_name = "latents"

    def __init__(self, config: DCGANConfig):
        super().__init__(config)
        n_up, seed = config.num_upsamplings, config.seed_size
        channels = config.generator_channels * 2 ** (n_up - 1)
        bias = config.generator_norm == "none"  # a bias before a norm layer is redundant
        embed_dim = config.class_embed_dim or config.latent_dim
        self.class_embedding = nn.Embedding(config.num_classes, embed_dim) if config.num_classes else None
        in_dim = config.latent_dim + (embed_dim if config.num_classes else 0) + config.condition_dim
        self.project = nn.Linear(in_dim, channels * seed * seed, bias=bias)
        self.project_norm = _norm2d(config.generator_norm, channels)
        layers = []
        for _ in range(n_up - 1):
            layers += [
                nn.ConvTranspose2d(channels, channels // 2, 4, 2, 1, bias=bias),
                _norm2d(config.generator_norm, channels // 2),
                nn.ReLU(inplace=True),
            ]
            channels //= 2
        layers += [nn.ConvTranspose2d(channels, config.num_channels, 4, 2, 1), nn.Tanh()]
        self.blocks = nn.Sequential(*layers)
        self._seed_shape = (channels * 2 ** (n_up - 1), seed, seed)
        self.post_init()

    def forward(
        self,
        latents: torch.Tensor,
        class_labels: Optional[torch.Tensor] = None,
        condition_embeds: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """Returns images [N, num_channels, image_size, image_size] in [-1, 1].

        Args:
            latents: z, shape [N, latent_dim] (or DCGAN's [N, latent_dim, 1, 1]).
            class_labels: int64 [N], required iff `num_classes > 0`.
            condition_embeds: float [N, condition_dim], required iff `condition_dim > 0`.
        """
        z = latents.flatten(1)
        _check_condition(self.config, class_labels, condition_embeds, z.shape[0], "generator")
        inputs = [z]
        if self.class_embedding is not None:
            inputs.append(self.class_embedding(class_labels))
        if condition_embeds is not None:
            inputs.append(condition_embeds.to(z.dtype))
        h = self.project(torch.cat(inputs, dim=1) if len(inputs) > 1 else z)
        h = torch.relu(self.project_norm(h.view(z.shape[0], *self._seed_shape)))
        return self.blocks(h)


class DCGANDiscriminator(DCGANPreTrainedModel):
    """D (or critic): maps images to one raw logit per image (no sigmoid: every loss works on logits).

    Stride-2 convolutions with LeakyReLU(0.2) halve the side down to `seed_size`; a linear head
    gives the unconditional logit psi(phi(x)). Conditioning adds projection terms
    <embed(y), phi(x)> (Miyato & Koyama, 2018) for class labels and condition vectors.
    """

    main_input_name = "pixel_values"

    config_class = DCGANDiscriminatorConfig

    def __init__(self, config: DCGANConfig):
        if not isinstance(config, DCGANDiscriminatorConfig):  # G's config (or a copy): same fields, the discriminator's class
            config = DCGANDiscriminatorConfig.from_dict(config.to_dict())
        super().__init__(config)
        sn = config.spectral_norm
        bias = config.discriminator_norm == "none"
        channels = config.discriminator_channels
        # No normalisation on the first layer, as in DCGAN.
        layers = [_spectral(nn.Conv2d(config.num_channels, channels, 4, 2, 1), sn), nn.LeakyReLU(0.2, inplace=True)]
        for _ in range(config.num_upsamplings - 1):
            layers += [
                _spectral(nn.Conv2d(channels, channels * 2, 4, 2, 1, bias=bias), sn),
                _norm2d(config.discriminator_norm, channels * 2),
                nn.LeakyReLU(0.2, inplace=True),
            ]
            channels *= 2
        self.blocks = nn.Sequential(*layers)
        feature_dim = channels * config.seed_size**2
        self.head = _spectral(nn.Linear(feature_dim, 1), sn)
        self.class_embedding = _spectral(nn.Embedding(config.num_classes, feature_dim), sn) if config.num_classes else None
        self.condition_projection = (
            _spectral(nn.Linear(config.condition_dim, feature_dim, bias=False), sn) if config.condition_dim else None
        )
        self.post_init()

    def forward(
        self,
        pixel_values: torch.Tensor,
        class_labels: Optional[torch.Tensor] = None,
        condition_embeds: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """Returns raw logits of shape [N] for images [N, C, H, W] in [-1, 1]."""
        _check_condition(self.config, class_labels, condition_embeds, pixel_values.shape[0], "discriminator")
        h = self.blocks(pixel_values).flatten(1)  # phi(x)
        logits = self.head(h).squeeze(1)  # psi(phi(x))
        if self.class_embedding is not None:
            logits = logits + (self.class_embedding(class_labels) * h).sum(dim=1)
        if self.condition_projection is not None:
            logits = logits + (self.condition_projection(condition_embeds.to(h.dtype)) * h).sum(dim=1)
        return logits


__all__ = ["DCGANConfig", "DCGANDiscriminatorConfig", "DCGANGenerator", "DCGANDiscriminator", "DCGANPreTrainedModel", "SUPPORTED_IMAGE_SIZES", "NORMALIZATIONS"]
