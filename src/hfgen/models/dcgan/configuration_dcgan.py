"""Configuration of the DCGAN generator and discriminator (Radford et al., 2016)."""

from transformers import PretrainedConfig

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


__all__ = ["DCGANConfig", "SUPPORTED_IMAGE_SIZES", "NORMALIZATIONS"]
