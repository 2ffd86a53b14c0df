"""Exponential moving average of a model's weights (Polyak averaging; Yazıcı et al., 2019)."""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """Keeps `shadow`, a copy of `model` whose parameters follow theta_ema <- d theta_ema + (1 - d) theta.

    The decay warms up as min(decay, (1 + t) / (10 + t)) so early averages are not dominated by the
    random initialisation.

    Buffers (BatchNorm running statistics, `num_batches_tracked`, spectral norm's power-iteration
    vectors) are COPIED from the live model at each update, not averaged. Design choice:
    BatchNorm's running mean/var are already an exponential average (momentum 0.1) of the live
    model's activations; averaging them a second time only adds lag, and neither copy nor average
    gives the exact statistics of the averaged weights (BigGAN recomputes "standing statistics"
    for that, at the cost of extra forward passes). Integer buffers (`num_batches_tracked`) cannot
    be averaged at all. Copying keeps the shadow's buffers equal to the trained model's, which is
    what tests/test_loop_core.py checks for the export.
    """

    def __init__(self, model: nn.Module, decay: float = 0.999):
        self.decay = decay
        self.num_updates = 0
        self.shadow = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """One averaging step towards `model`'s current weights."""
        self.num_updates += 1
        decay = min(self.decay, (1 + self.num_updates) / (10 + self.num_updates))
        ema_params = [p for p in self.shadow.parameters()]
        params = [p.detach().to(ema_params[0].dtype) for p in model.parameters()]
        torch._foreach_lerp_(ema_params, params, 1.0 - decay)
        for ema_buffer, buffer in zip(self.shadow.buffers(), model.buffers()):
            ema_buffer.copy_(buffer)

    def state_dict(self) -> dict:
        """Weights and update count, for checkpoints."""
        return {"shadow": self.shadow.state_dict(), "num_updates": self.num_updates}

    def load_state_dict(self, state: dict) -> None:
        """Restores `state_dict()`'s output."""
        self.shadow.load_state_dict(state["shadow"])
        self.num_updates = int(state["num_updates"])
