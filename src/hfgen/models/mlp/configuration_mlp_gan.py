"""Configuration of the MLP generator and discriminator for vector data (e.g. 2-D mixtures)."""

from transformers import PretrainedConfig

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


__all__ = ["MLPGANConfig", "MLP_NORMALIZATIONS", "OUTPUT_ACTIVATIONS"]
