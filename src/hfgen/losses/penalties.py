"""Lipschitz constraints for Wasserstein critics: WGAN-GP gradient penalty and weight clipping."""

from __future__ import annotations

import math
from typing import Any, Callable

import torch
from torch import nn

__all__ = ["gradient_penalty", "clip_weights"]


def _logits_of(output: Any) -> torch.Tensor:
    """Accept a Tensor or a model output carrying ``.logits`` (e.g. a HF ``ModelOutput``)."""
    if isinstance(output, torch.Tensor):
        return output
    logits = getattr(output, "logits", None)
    if isinstance(logits, torch.Tensor):
        return logits
    raise TypeError(
        "critic must return a Tensor or an object with a Tensor `.logits` attribute, "
        f"got {type(output).__name__}"
    )


def gradient_penalty(
    critic: Callable[..., Any],
    real: torch.Tensor,
    fake: torch.Tensor,
    *critic_args: Any,
    target_norm: float = 1.0,
    generator: torch.Generator | None = None,
    group_size: int = 1,
    **critic_kwargs: Any,
) -> torch.Tensor:
    """WGAN-GP penalty (Gulrajani et al. 2017), WITHOUT the lambda factor.

    ``x_hat = eps * real + (1 - eps) * fake`` with ``eps ~ U[0, 1]`` drawn once per sample
    (from ``generator`` if given) and broadcast over the remaining dims, so ``[N, D]`` vectors
    and ``[N, C, H, W]`` images both work. Returns ``mean_i (||grad_x D(x_hat_i)||_2 -
    target_norm)^2``, built with ``create_graph=True`` so it back-propagates into the critic's
    parameters. ``fake`` (and ``real``) are detached: no gradient reaches G.

    ``critic_args`` / ``critic_kwargs`` are passed through, ``critic(x_hat, *critic_args,
    **critic_kwargs)``, e.g. class labels of a conditional critic (keep them aligned with
    ``real``/``fake``). The per-sample gradient comes from differentiating the sum of the
    critic's outputs, which is exact when samples do not interact (no batch norm in the critic,
    as the paper recommends).

    ``group_size`` = m for a PacGAN critic that judges m consecutive samples jointly (Lin et al.
    2018): the critic's input is then the packed vector of m samples, so one ``eps`` is drawn per
    group (``x_hat`` lies on the segment between the packed real and the packed fake) and the norm
    is that of the gradient with respect to the whole packed input.
    """
    if not isinstance(real, torch.Tensor) or not isinstance(fake, torch.Tensor):
        raise TypeError("real and fake must be tensors")
    if real.shape != fake.shape:
        raise ValueError(f"real and fake must have the same shape, got {tuple(real.shape)} "
                         f"and {tuple(fake.shape)}")
    if real.dim() < 1 or real.shape[0] == 0:
        raise ValueError("real/fake must have a non-empty batch dimension")
    if not real.is_floating_point():
        raise TypeError(f"real/fake must be floating point, got {real.dtype}")
    if int(group_size) != group_size or group_size < 1 or real.shape[0] % int(group_size):
        raise ValueError(f"group_size={group_size} must be a positive integer dividing the batch size {real.shape[0]}")
    group_size = int(group_size)

    real = real.detach()
    fake = fake.detach().to(dtype=real.dtype, device=real.device)

    eps_shape = (real.shape[0] // group_size,) + (1,) * (real.dim() - 1)
    if generator is not None:
        eps = torch.rand(eps_shape, generator=generator, device=generator.device, dtype=real.dtype)
        eps = eps.to(real.device)
    else:
        eps = torch.rand(eps_shape, device=real.device, dtype=real.dtype)
    if group_size > 1:
        eps = eps.repeat_interleave(group_size, dim=0)

    x_hat = (eps * real + (1.0 - eps) * fake).requires_grad_(True)
    out = _logits_of(critic(x_hat, *critic_args, **critic_kwargs))
    (grad,) = torch.autograd.grad(
        outputs=out.sum(), inputs=x_hat, create_graph=True, retain_graph=True
    )
    grad_norm = torch.linalg.vector_norm(grad.reshape(grad.shape[0] // group_size, -1), ord=2, dim=1)
    return ((grad_norm - target_norm) ** 2).mean()


@torch.no_grad()
def clip_weights(module: nn.Module, clip_value: float) -> None:
    """WGAN weight clipping (Arjovsky et al. 2017): clamp every parameter of ``module`` in
    place to ``[-clip_value, clip_value]``. ``clip_value`` must be a positive finite number."""
    c = float(clip_value)
    if not math.isfinite(c) or c <= 0.0:
        raise ValueError(f"clip_value must be a positive finite number, got {clip_value}")
    for p in module.parameters():
        p.clamp_(-c, c)
