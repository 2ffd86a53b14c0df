"""Sample grids and loss-curve plots written during training."""

from __future__ import annotations

import math
import os
from typing import Sequence

import numpy as np
from PIL import Image


def image_grid(images: np.ndarray, nrow: int | None = None, padding: int = 2) -> Image.Image:
    """Tiles NHWC images in [0, 1] into one PIL image (nrow images per row)."""
    n, h, w, c = images.shape
    nrow = nrow or int(math.ceil(math.sqrt(n)))
    ncol = int(math.ceil(n / nrow))
    grid = np.ones((ncol * (h + padding) + padding, nrow * (w + padding) + padding, c), dtype=np.float32)
    for i, image in enumerate(images):
        r, col = divmod(i, nrow)
        top, left = padding + r * (h + padding), padding + col * (w + padding)
        grid[top : top + h, left : left + w] = image
    array = (grid * 255).round().clip(0, 255).astype(np.uint8)
    return Image.fromarray(array[..., 0] if c == 1 else array)


def save_image_grid(images: np.ndarray, path: str, nrow: int | None = None, scale: int = 1) -> str:
    """Writes `image_grid(images)` as PNG (upscaled `scale` times with nearest neighbour)."""
    grid = image_grid(images, nrow)
    if scale > 1:
        grid = grid.resize((grid.width * scale, grid.height * scale), Image.NEAREST)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    grid.save(path)
    return path


def save_points_plot(points: np.ndarray, path: str, reference: np.ndarray | None = None, title: str = "") -> str:
    """Scatter plot of generated 2-D points (and the true modes, when given) as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
    ax.scatter(points[:, 0], points[:, 1], s=2, alpha=0.5, label="generated")
    if reference is not None:
        ax.scatter(reference[:, 0], reference[:, 1], s=30, marker="x", color="red", label="modes")
    ax.set_aspect("equal")
    ax.set_title(title)
    # Below the axes: inside, it would hide the corner modes of the grid.
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=2, fontsize=7, frameon=False)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path


def save_loss_curves(history: Sequence[dict], path: str) -> str | None:
    """Plots every logged loss against the step (one panel per quantity) as PNG."""
    if not history:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = sorted({k for row in history for k in row if k not in ("step", "lr")})
    fig, axes = plt.subplots(len(keys), 1, figsize=(6, 1.8 * len(keys)), dpi=100, sharex=True, squeeze=False)
    for ax, key in zip(axes[:, 0], keys):
        steps = [row["step"] for row in history if key in row]
        ax.plot(steps, [row[key] for row in history if key in row], linewidth=1)
        ax.set_ylabel(key, fontsize=8)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("generator step")
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
