"""Small shared pieces of the evaluation package: the error type and pipeline/JSON helpers."""

from __future__ import annotations

import platform
from typing import Any

import numpy as np
import torch


class EvaluationError(ValueError):
    """An evaluation setting that cannot work (unknown metric, metric that does not fit the data...)."""


def versions() -> dict[str, str | None]:
    """Versions of the libraries that produce the numbers (recorded in every protocol)."""
    from importlib import metadata

    import hfgen

    out: dict[str, str | None] = {"hfgen": hfgen.__version__}
    for package in ("torch", "diffusers", "transformers", "numpy"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:  # pragma: no cover - all are dependencies
            out[package] = None
    out["python"] = platform.python_version()
    return out


def pipeline_num_classes(pipeline: Any) -> int:
    """Number of classes of a class-conditional generator (0 when unconditional or unknown)."""
    for owner in (getattr(pipeline, "gan_generator", None), pipeline):
        config = getattr(owner, "config", None)
        value = getattr(config, "num_classes", None) if config is not None else None
        if value is None and owner is pipeline:
            value = getattr(pipeline, "num_classes", None)
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            return int(value)
    return 0


def pipeline_device(pipeline: Any) -> torch.device:
    """The device a pipeline draws its noise on (CPU when it does not say)."""
    device = getattr(pipeline, "device", None)
    try:
        return torch.device(device) if device is not None else torch.device("cpu")
    except (TypeError, RuntimeError):
        return torch.device("cpu")


def as_float_dict(values: dict) -> dict:
    """JSON-friendly copy: numpy scalars to Python numbers."""
    out = {}
    for key, value in values.items():
        if isinstance(value, (np.integer,)):
            value = int(value)
        elif isinstance(value, (float, np.floating)):
            value = float(value) + 0.0  # also turns -0.0 into 0.0
        out[key] = value
    return out


def images_from_output(out: Any) -> torch.Tensor:
    """The samples of a pipeline call as a float CPU tensor, images NCHW in ``[-1, 1]``, points as given.

    ``out`` is what a pipeline returns (an object with ``.images`` or a tuple whose first item holds
    them). Accepted layouts: a tensor (NCHW in ``[0, 1]``, diffusers' ``output_type="pt"``), a 4-D
    numpy array (NHWC in ``[0, 1]``, diffusers' ``"np"``: what e.g. ``DDPMPipeline`` returns for any
    output type but ``"pil"``), a list of PIL images, or 2-D points ``[N, D]`` (vector generators).
    """
    x = out.images if hasattr(out, "images") else out[0]
    if isinstance(x, (list, tuple)) and x and hasattr(x[0], "mode") and hasattr(x[0], "size"):  # PIL images
        x = np.stack([np.asarray(im, dtype=np.float32) / 255.0 for im in x])
        if x.ndim == 3:  # grey PIL images: HW
            x = x[..., None]
    if not isinstance(x, torch.Tensor):
        array = np.asarray(x)
        x = torch.as_tensor(array)
        if array.ndim == 4:  # numpy images follow diffusers' NHWC convention
            x = x.permute(0, 3, 1, 2)
    x = x.detach().float().cpu()
    if x.dim() == 4:
        x = x * 2.0 - 1.0
    return x
