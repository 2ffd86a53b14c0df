"""Paired image scores: L1, PSNR and SSIM between each output and its own target.

For paired translation (Pix2Pix: each input has one known target) and reconstructions (CycleGAN's
cycle). Images are float ``[N, C, H, W]`` (or ``[C, H, W]``) in ``[0, data_range]``; every function
returns one value per image (float64, shape ``[N]``) so that callers choose how to aggregate.

* L1: mean absolute difference.
* PSNR: ``10 log10(data_range^2 / MSE)`` per image; identical images give ``inf``.
* SSIM: Wang, Bovik, Sheikh & Simoncelli 2004, "Image Quality Assessment: From Error Visibility to
  Structural Similarity", with the paper's settings: an 11x11 Gaussian window (sigma 1.5), K1 = 0.01,
  K2 = 0.03, local statistics weighted by the window (population, not sample, covariances), the SSIM
  map averaged over the positions where the window fits inside the image ("valid" filtering) and over
  channels. This is what ``skimage.metrics.structural_similarity(..., gaussian_weights=True,
  sigma=1.5, use_sample_covariance=False, data_range=1)`` computes. Images smaller than the window
  (the 8x8 digits) use the largest odd window that fits, with the same sigma.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

__all__ = ["l1_distance", "psnr", "ssim"]


def _pair(outputs: Any, targets: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Both as float64 ``[N, C, H, W]`` on the same device, with matching shapes."""
    x = torch.as_tensor(outputs).detach()
    y = torch.as_tensor(targets).detach().to(x.device)
    if x.dim() == 3:
        x, y = x.unsqueeze(0), y.unsqueeze(0)
    if x.dim() != 4 or x.shape != y.shape:
        raise ValueError(
            f"paired scores need outputs and targets of the same shape [N, C, H, W], got {tuple(x.shape)} and {tuple(y.shape)}"
        )
    if len(x) == 0:
        raise ValueError("paired scores need at least one image")
    x, y = x.double(), y.double()
    if not (torch.isfinite(x).all() and torch.isfinite(y).all()):
        raise ValueError("paired scores: the images contain NaN or inf")
    return x, y


def l1_distance(outputs: Any, targets: Any) -> torch.Tensor:
    """Mean absolute difference per image, ``[N]``."""
    x, y = _pair(outputs, targets)
    return (x - y).abs().flatten(1).mean(1)


def psnr(outputs: Any, targets: Any, data_range: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB per image, ``[N]`` (``inf`` where an output equals its target)."""
    x, y = _pair(outputs, targets)
    mse = (x - y).pow(2).flatten(1).mean(1)
    return 10.0 * torch.log10(float(data_range) ** 2 / mse)


def _gaussian_window(size: int, sigma: float, like: torch.Tensor) -> torch.Tensor:
    r = torch.arange(size, dtype=like.dtype, device=like.device) - (size - 1) / 2.0
    g = torch.exp(-(r**2) / (2.0 * sigma**2))
    return g / g.sum()


def ssim(
    outputs: Any,
    targets: Any,
    data_range: float = 1.0,
    win_size: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
) -> torch.Tensor:
    """Structural similarity per image, ``[N]`` (1 for identical images; see the module docstring)."""
    x, y = _pair(outputs, targets)
    if win_size < 3 or win_size % 2 == 0:
        raise ValueError(f"win_size must be an odd number >= 3, got {win_size}")
    side = min(x.shape[-2:])
    win = min(win_size, side if side % 2 else side - 1)
    if win < 3:
        raise ValueError(f"SSIM needs images of at least 3x3 pixels, got {tuple(x.shape[-2:])}")
    channels = x.shape[1]
    g = _gaussian_window(win, sigma, x)
    # Separable Gaussian filter, one channel at a time (groups=C), no padding ("valid").
    kernel_h = g.view(1, 1, win, 1).repeat(channels, 1, 1, 1)
    kernel_w = g.view(1, 1, 1, win).repeat(channels, 1, 1, 1)

    def filt(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.conv2d(t, kernel_h, groups=channels), kernel_w, groups=channels)

    mu_x, mu_y = filt(x), filt(y)
    var_x = filt(x * x) - mu_x**2
    var_y = filt(y * y) - mu_y**2
    cov = filt(x * y) - mu_x * mu_y
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return ssim_map.flatten(1).mean(1)
