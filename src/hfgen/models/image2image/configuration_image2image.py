"""Configurations of the image-to-image networks (U-Net and ResNet generators, PatchGAN discriminator).

The config classes are defined in `modeling_image2image.py`, which must stay self-contained to load
from a Hub repository without hfgen (see that file's docstring); this module keeps transformers'
usual `configuration_<family>` import path working.
"""

from .modeling_image2image import NORMALIZATIONS, PatchDiscriminatorConfig, ResnetGeneratorConfig, UNetGeneratorConfig

__all__ = ["UNetGeneratorConfig", "ResnetGeneratorConfig", "PatchDiscriminatorConfig", "NORMALIZATIONS"]
