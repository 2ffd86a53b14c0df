"""Image-to-image family, shared by Pix2Pix and CycleGAN: U-Net and ResNet generators, PatchGAN discriminator."""

from .configuration_image2image import PatchDiscriminatorConfig, ResnetGeneratorConfig, UNetGeneratorConfig
from .modeling_image2image import PatchDiscriminator, ResnetBlock, ResnetGenerator, UNetGenerator

__all__ = [
    "UNetGeneratorConfig",
    "ResnetGeneratorConfig",
    "PatchDiscriminatorConfig",
    "UNetGenerator",
    "ResnetGenerator",
    "ResnetBlock",
    "PatchDiscriminator",
]
