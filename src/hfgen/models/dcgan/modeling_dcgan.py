"""DCGAN generator G and discriminator D (Radford et al., 2016) as transformers models.

This file is self-contained (torch + transformers + its configuration file) because it is copied
verbatim into every exported repository, where it is loaded with `trust_remote_code=True`.
"""

from typing import Optional

import torch
from torch import nn
from transformers import PreTrainedModel

from .configuration_dcgan import DCGANConfig


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
# alone in exported repositories (transformers copies a model's file and its same-folder imports
# only), so the families cannot share a helper module.
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

    def __init__(self, config: DCGANConfig):
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


__all__ = ["DCGANGenerator", "DCGANDiscriminator", "DCGANPreTrainedModel"]
