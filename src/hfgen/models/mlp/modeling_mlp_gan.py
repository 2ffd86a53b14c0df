"""MLP GAN for vector data (e.g. 2-D mixtures): the config, the generator G and the discriminator D.

This ONE file is self-contained (torch + transformers only, no relative import) because it ships
verbatim in every exported repository, in each MLP component's subfolder and at the repository
root, and is loaded from there with `trust_remote_code=True` where hfgen is not installed:
diffusers fetches only `<component>/modeling_mlp_gan.py` from a Hub repository (not the files it
imports), and transformers fetches `auto_map` code from the repository root even with
`subfolder=`. Hence `MLPGANConfig` lives here too (`configuration_mlp_gan.py` re-exports it), and
the file name stays `modeling_mlp_gan.py`: saved `model_index.json` files record it.
"""

from typing import Optional

import torch
from torch import nn
from transformers import PretrainedConfig, PreTrainedModel

MLP_NORMALIZATIONS = ("batch", "layer", "none")
OUTPUT_ACTIVATIONS = ("none", "tanh")


class MLPGANConfig(PretrainedConfig):
    r"""Configuration of [`MLPGenerator`] and [`MLPDiscriminator`].

    Args:
        latent_dim (`int`, defaults to 16): size of the noise vector z.
        data_dim (`int`, defaults to 2): size of a data vector (2 for the 2-D mixtures).
        generator_hidden_dim / discriminator_hidden_dim (`int`, defaults to 256): layer widths.
        generator_layers / discriminator_layers (`int`, defaults to 3): hidden layers.
        generator_norm / discriminator_norm (`str`): "batch", "layer" or "none".
        spectral_norm (`bool`): spectral normalisation of every D layer (Miyato et al., 2018).
        output_activation (`str`, defaults to "none"): "tanh" bounds G's output to [-1, 1]
            (scaled data); "none" leaves it unbounded (raw coordinates such as grid25's [-4, 4]).
        num_classes, condition_dim, class_embed_dim: conditioning as in `DCGANConfig`.
        discriminator_pack (`int`, defaults to 1): PacGAN packing m (Lin et al., 2018): D judges
            m samples jointly, which penalises mode collapse. Batches must be divisible by m.
    """

    model_type = "hfgen_mlp_gan"

    def __init__(
        self,
        latent_dim: int = 16,
        data_dim: int = 2,
        generator_hidden_dim: int = 256,
        discriminator_hidden_dim: int = 256,
        generator_layers: int = 3,
        discriminator_layers: int = 3,
        generator_norm: str = "none",
        discriminator_norm: str = "none",
        spectral_norm: bool = False,
        output_activation: str = "none",
        num_classes: int = 0,
        condition_dim: int = 0,
        class_embed_dim: int = 0,
        discriminator_pack: int = 1,
        **kwargs,
    ):
        for name, value in (("generator_norm", generator_norm), ("discriminator_norm", discriminator_norm)):
            if value not in MLP_NORMALIZATIONS:
                raise ValueError(f"{name}={value!r} is not supported for MLPs; choose one of {list(MLP_NORMALIZATIONS)}.")
        if output_activation not in OUTPUT_ACTIVATIONS:
            raise ValueError(f"output_activation={output_activation!r} is not supported; choose one of {list(OUTPUT_ACTIVATIONS)}.")
        for name, value in (
            ("latent_dim", latent_dim),
            ("data_dim", data_dim),
            ("generator_hidden_dim", generator_hidden_dim),
            ("discriminator_hidden_dim", discriminator_hidden_dim),
            ("generator_layers", generator_layers),
            ("discriminator_layers", discriminator_layers),
            ("discriminator_pack", discriminator_pack),
        ):
            if int(value) < 1:
                raise ValueError(f"{name} must be >= 1, got {value}.")
        for name, value in (("num_classes", num_classes), ("condition_dim", condition_dim), ("class_embed_dim", class_embed_dim)):
            if int(value) < 0:
                raise ValueError(f"{name} must be >= 0, got {value}.")
        if discriminator_pack > 1 and (num_classes or condition_dim):
            raise ValueError("discriminator_pack > 1 (PacGAN) cannot be combined with conditioning; set discriminator_pack=1.")
        self.latent_dim = int(latent_dim)
        self.data_dim = int(data_dim)
        self.generator_hidden_dim = int(generator_hidden_dim)
        self.discriminator_hidden_dim = int(discriminator_hidden_dim)
        self.generator_layers = int(generator_layers)
        self.discriminator_layers = int(discriminator_layers)
        self.generator_norm = generator_norm
        self.discriminator_norm = discriminator_norm
        self.spectral_norm = bool(spectral_norm)
        self.output_activation = output_activation
        self.num_classes = int(num_classes)
        self.condition_dim = int(condition_dim)
        self.class_embed_dim = int(class_embed_dim)
        self.discriminator_pack = int(discriminator_pack)
        super().__init__(**kwargs)



def _norm1d(kind: str, features: int) -> nn.Module:
    """Normalisation layer for [N, F] features."""
    if kind == "batch":
        return nn.BatchNorm1d(features)
    if kind == "layer":
        return nn.LayerNorm(features)
    return nn.Identity()


# `_spectral` and `_check_condition` also stand in modeling_dcgan.py, on purpose: each modeling file ships
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


class MLPDiscriminatorConfig(MLPGANConfig):
    r"""[`MLPGANConfig`] as held by a [`MLPDiscriminator`]: the same fields, a class of its own.

    transformers' `AutoModel` maps ONE config class to ONE model class per process: loading G and
    then D of one repository with `AutoModel.from_pretrained(repo, subfolder=..., trust_remote_code=True)`
    would build D as a generator if both named the same config class in `auto_map`. A saved
    discriminator names this one. Any [`MLPGANConfig`] given to [`MLPDiscriminator`] is converted.
    """


class MLPGANPreTrainedModel(PreTrainedModel):
    """Shared initialisation: PyTorch's default (Kaiming-uniform) linear init, unit norm scales."""

    config_class = MLPGANConfig
    base_model_prefix = "mlp_gan"

    def _init_weights(self, module: nn.Module) -> None:
        """Re-applies PyTorch's default init so `from_config` and `__init__` agree."""
        if isinstance(module, (nn.Linear, nn.Embedding)):
            if nn.utils.parametrize.is_parametrized(module):
                weight = module.parametrizations.weight.original
                nn.init.kaiming_uniform_(weight, a=5**0.5) if weight.dim() > 1 else None
            else:
                module.reset_parameters()
        elif isinstance(module, (nn.BatchNorm1d, nn.LayerNorm)):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)


def _mlp(in_dim: int, hidden: int, layers: int, norm: str, activation: nn.Module, sn: bool = False) -> nn.Sequential:
    """`layers` hidden Linear -> norm -> activation blocks."""
    blocks = []
    for i in range(layers):
        blocks += [_spectral(nn.Linear(in_dim if i == 0 else hidden, hidden), sn), _norm1d(norm, hidden), activation]
    return nn.Sequential(*blocks)


class MLPGenerator(MLPGANPreTrainedModel):
    """G: maps noise z (and an optional class label / condition vector) to data vectors."""

    main_input_name = "latents"

    def __init__(self, config: MLPGANConfig):
        super().__init__(config)
        embed_dim = config.class_embed_dim or config.latent_dim
        self.class_embedding = nn.Embedding(config.num_classes, embed_dim) if config.num_classes else None
        in_dim = config.latent_dim + (embed_dim if config.num_classes else 0) + config.condition_dim
        self.body = _mlp(in_dim, config.generator_hidden_dim, config.generator_layers, config.generator_norm, nn.ReLU())
        self.out = nn.Linear(config.generator_hidden_dim, config.data_dim)
        self.post_init()

    def forward(
        self,
        latents: torch.Tensor,
        class_labels: Optional[torch.Tensor] = None,
        condition_embeds: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """Returns samples [N, data_dim] (in [-1, 1] when `output_activation="tanh"`)."""
        _check_condition(self.config, class_labels, condition_embeds, latents.shape[0], "generator")
        inputs = [latents]
        if self.class_embedding is not None:
            inputs.append(self.class_embedding(class_labels))
        if condition_embeds is not None:
            inputs.append(condition_embeds.to(latents.dtype))
        x = self.out(self.body(torch.cat(inputs, dim=1) if len(inputs) > 1 else latents))
        return torch.tanh(x) if self.config.output_activation == "tanh" else x


class MLPDiscriminator(MLPGANPreTrainedModel):
    """D (or critic): maps data vectors to raw logits (no sigmoid).

    With PacGAN packing m > 1, consecutive groups of m samples are concatenated and judged jointly:
    N inputs give N / m logits. Conditioning uses projection terms (Miyato & Koyama, 2018).
    """

    main_input_name = "points"

    config_class = MLPDiscriminatorConfig

    def __init__(self, config: MLPGANConfig):
        if not isinstance(config, MLPDiscriminatorConfig):  # G's config (or a copy): same fields, the discriminator's class
            config = MLPDiscriminatorConfig.from_dict(config.to_dict())
        super().__init__(config)
        sn = config.spectral_norm
        hidden = config.discriminator_hidden_dim
        self.body = _mlp(
            config.data_dim * config.discriminator_pack,
            hidden,
            config.discriminator_layers,
            config.discriminator_norm,
            nn.LeakyReLU(0.2),
            sn,
        )
        self.head = _spectral(nn.Linear(hidden, 1), sn)
        self.class_embedding = _spectral(nn.Embedding(config.num_classes, hidden), sn) if config.num_classes else None
        self.condition_projection = (
            _spectral(nn.Linear(config.condition_dim, hidden, bias=False), sn) if config.condition_dim else None
        )
        self.post_init()

    def forward(
        self,
        points: torch.Tensor,
        class_labels: Optional[torch.Tensor] = None,
        condition_embeds: Optional[torch.Tensor] = None,
    ) -> torch.Tensor:
        """Returns raw logits [N / discriminator_pack] for samples [N, data_dim]."""
        pack = self.config.discriminator_pack
        if points.shape[0] % pack:
            raise ValueError(f"Batch size {points.shape[0]} is not divisible by discriminator_pack={pack}.")
        _check_condition(self.config, class_labels, condition_embeds, points.shape[0], "discriminator")
        h = self.body(points.reshape(points.shape[0] // pack, -1))
        logits = self.head(h).squeeze(1)
        if self.class_embedding is not None:
            logits = logits + (self.class_embedding(class_labels) * h).sum(dim=1)
        if self.condition_projection is not None:
            logits = logits + (self.condition_projection(condition_embeds.to(h.dtype)) * h).sum(dim=1)
        return logits


__all__ = ["MLPGANConfig", "MLPDiscriminatorConfig", "MLPGenerator", "MLPDiscriminator", "MLPGANPreTrainedModel", "MLP_NORMALIZATIONS", "OUTPUT_ACTIVATIONS"]
