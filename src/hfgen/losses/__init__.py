"""GAN losses: adversarial losses on raw logits (registry), WGAN penalties, reconstruction."""

from .adversarial import (
    ALIASES,
    LOSSES,
    AdversarialLoss,
    FDivergenceLoss,
    HingeLoss,
    JensenShannonLoss,
    KLDivergenceLoss,
    LeastSquaresLoss,
    MinimaxGANLoss,
    PearsonChiSquaredLoss,
    ReverseKLDivergenceLoss,
    SquaredHellingerLoss,
    VanillaGANLoss,
    WassersteinLoss,
    get_loss,
    list_losses,
    register_loss,
)
from .penalties import clip_weights, gradient_penalty
from .reconstruction import cycle_consistency_loss, identity_loss, l1_loss

__all__ = [
    "ALIASES",
    "LOSSES",
    "AdversarialLoss",
    "FDivergenceLoss",
    "HingeLoss",
    "JensenShannonLoss",
    "KLDivergenceLoss",
    "LeastSquaresLoss",
    "MinimaxGANLoss",
    "PearsonChiSquaredLoss",
    "ReverseKLDivergenceLoss",
    "SquaredHellingerLoss",
    "VanillaGANLoss",
    "WassersteinLoss",
    "clip_weights",
    "cycle_consistency_loss",
    "get_loss",
    "gradient_penalty",
    "identity_loss",
    "l1_loss",
    "list_losses",
    "register_loss",
]
