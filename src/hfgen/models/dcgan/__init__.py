"""DCGAN family: image generator and discriminator."""

from .configuration_dcgan import SUPPORTED_IMAGE_SIZES, DCGANConfig
from .modeling_dcgan import DCGANDiscriminator, DCGANDiscriminatorConfig, DCGANGenerator, DCGANPreTrainedModel

__all__ = ["DCGANConfig", "DCGANDiscriminatorConfig", "DCGANGenerator", "DCGANDiscriminator", "DCGANPreTrainedModel", "SUPPORTED_IMAGE_SIZES"]
