"""hfgen: classic generative models (GAN, WGAN, conditional GAN, Pix2Pix, CycleGAN, DDPM) as
Hugging Face citizens.

`import hfgen` is cheap: it imports nothing heavy (no torch, no network, no GPU). Public names are
resolved lazily on first access.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY = {
    "MLPGANConfig": "hfgen.models",
    "MLPGenerator": "hfgen.models",
    "MLPDiscriminator": "hfgen.models",
    "DCGANConfig": "hfgen.models",
    "DCGANGenerator": "hfgen.models",
    "DCGANDiscriminator": "hfgen.models",
    "UNetGeneratorConfig": "hfgen.models",
    "UNetGenerator": "hfgen.models",
    "ResnetGeneratorConfig": "hfgen.models",
    "ResnetGenerator": "hfgen.models",
    "PatchDiscriminatorConfig": "hfgen.models",
    "PatchDiscriminator": "hfgen.models",
    "GANPipeline": "hfgen.pipelines",
    "Pix2PixPipeline": "hfgen.pipelines",
    "CycleGANPipeline": "hfgen.pipelines",
    "TextToImageGANPipeline": "hfgen.pipelines",
    "ClassConditionalDDPMPipeline": "hfgen.pipelines",
    "TextToImageDDPMPipeline": "hfgen.pipelines",
    "load_pipeline": "hfgen.pipelines",
    "get_loss": "hfgen.losses",
    "LOSSES": "hfgen.losses",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hfgen' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # pragma: no cover
    from .losses import LOSSES, get_loss
    from .models import (
        DCGANConfig,
        DCGANDiscriminator,
        DCGANGenerator,
        MLPDiscriminator,
        MLPGANConfig,
        MLPGenerator,
        PatchDiscriminator,
        PatchDiscriminatorConfig,
        ResnetGenerator,
        ResnetGeneratorConfig,
        UNetGenerator,
        UNetGeneratorConfig,
    )
    from .pipelines import (
        ClassConditionalDDPMPipeline,
        CycleGANPipeline,
        GANPipeline,
        Pix2PixPipeline,
        TextToImageDDPMPipeline,
        TextToImageGANPipeline,
        load_pipeline,
    )
