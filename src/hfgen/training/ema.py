"""Exponential moving average of the generator's weights (Polyak averaging; Yazıcı et al., 2019)."""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """Keeps `shadow`, a copy of `model` whose parameters follow theta_ema <- d theta_ema + (1 - d) theta.

    The decay warms up as min(decay, (1 + t) / (10 + t)) so early averages are not dominated by the
    random initialisation. Buffers (BatchNorm statistics) are copied, not averaged.
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
