"""Model families as transformers `PreTrainedModel`s.

Importing this package registers every config with `AutoConfig`, so that folders saved by hfgen
load with hfgen's installed classes (no `trust_remote_code` needed where hfgen is installed).
"""

from transformers import AutoConfig

from .dcgan import SUPPORTED_IMAGE_SIZES, DCGANConfig, DCGANDiscriminator, DCGANGenerator
from .image2image import (
    PatchDiscriminator,
    PatchDiscriminatorConfig,
    ResnetGenerator,
    ResnetGeneratorConfig,
    UNetGenerator,
    UNetGeneratorConfig,
)
from .mlp import MLPDiscriminator, MLPGANConfig, MLPGenerator

for _config in (DCGANConfig, MLPGANConfig, UNetGeneratorConfig, ResnetGeneratorConfig, PatchDiscriminatorConfig):
    AutoConfig.register(_config.model_type, _config, exist_ok=True)

# (generator, discriminator) classes of each family, by config class.
FAMILIES = {
    DCGANConfig: (DCGANGenerator, DCGANDiscriminator),
    MLPGANConfig: (MLPGenerator, MLPDiscriminator),
}

__all__ = [
    "DCGANConfig",
    "DCGANGenerator",
    "DCGANDiscriminator",
    "MLPGANConfig",
    "MLPGenerator",
    "MLPDiscriminator",
    "UNetGeneratorConfig",
    "UNetGenerator",
    "ResnetGeneratorConfig",
    "ResnetGenerator",
    "PatchDiscriminatorConfig",
    "PatchDiscriminator",
    "SUPPORTED_IMAGE_SIZES",
    "FAMILIES",
]
