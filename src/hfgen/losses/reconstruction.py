"""Reconstruction losses for image-to-image GANs (Pix2Pix L1 term, CycleGAN cycle/identity)."""

from __future__ import annotations

import torch

__all__ = ["l1_loss", "cycle_consistency_loss", "identity_loss"]


def l1_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error ``E|pred - target|``; shapes must match (no silent broadcasting)."""
    if pred.shape != target.shape:
        raise ValueError(f"shape mismatch: {tuple(pred.shape)} vs {tuple(target.shape)}")
    return (pred - target).abs().mean()


def cycle_consistency_loss(reconstructed: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """CycleGAN cycle loss ``E|F(G(x)) - x|`` (L1); multiply by lambda_cyc outside."""
    return l1_loss(reconstructed, original)


def identity_loss(same: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """CycleGAN identity loss ``E|G(y) - y|`` (L1); multiply by lambda_id outside."""
    return l1_loss(same, original)
