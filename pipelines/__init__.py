"""The diffusers pipelines, one self-contained file per task (shipped in every exported repo)."""

from hfgen import models as _models  # noqa: F401  (registers hfgen's configs with AutoConfig)

from .pipeline_gan import GANPipeline

__all__ = ["GANPipeline"]
