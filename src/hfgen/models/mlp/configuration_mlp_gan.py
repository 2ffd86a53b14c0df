"""Configuration of the MLP generator and discriminator for vector data (e.g. 2-D mixtures).

`MLPGANConfig` is defined in `modeling_mlp_gan.py`, which must stay self-contained to load from a
Hub repository without hfgen (see that file's docstring); this module keeps transformers' usual
`configuration_<family>` import path working.
"""

from .modeling_mlp_gan import MLP_NORMALIZATIONS, OUTPUT_ACTIVATIONS, MLPGANConfig

__all__ = ["MLPGANConfig", "MLP_NORMALIZATIONS", "OUTPUT_ACTIVATIONS"]
