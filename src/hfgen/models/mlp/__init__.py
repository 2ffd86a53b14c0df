"""MLP family: generator and discriminator for vector data such as 2-D mixtures."""

from .configuration_mlp_gan import MLPGANConfig
from .modeling_mlp_gan import MLPDiscriminator, MLPDiscriminatorConfig, MLPGANPreTrainedModel, MLPGenerator

__all__ = ["MLPGANConfig", "MLPDiscriminatorConfig", "MLPGenerator", "MLPDiscriminator", "MLPGANPreTrainedModel"]
