"""Configuration of the DCGAN generator and discriminator (Radford et al., 2016).

`DCGANConfig` is defined in `modeling_dcgan.py`, which must stay self-contained to load from a Hub
repository without hfgen (see that file's docstring); this module keeps transformers' usual
`configuration_<family>` import path working.
"""

from .modeling_dcgan import NORMALIZATIONS, SUPPORTED_IMAGE_SIZES, DCGANConfig

__all__ = ["DCGANConfig", "SUPPORTED_IMAGE_SIZES", "NORMALIZATIONS"]
