"""Former home of CycleGAN's evaluation, now part of :mod:`hfgen.evaluation.image2image` (one module for the
image-to-image evaluation of Pix2Pix and CycleGAN); these names stay importable from here."""

from .image2image import (  # noqa: F401
    DIRECTIONS,
    CycleGANEvaluator,
    cli_evaluate_translation,
    format_directions,
    reference_domains,
    save_translation_grid,
)

__all__ = ["DIRECTIONS", "CycleGANEvaluator", "cli_evaluate_translation", "format_directions", "reference_domains",
           "save_translation_grid"]
