"""The attribute evaluator of the embedded ``shapes`` data: colour, shape and position of one image.

* colour: analytic, the mean colour of the foreground pixels (those far from the background),
  matched to the nearest of :data:`~hfgen.data.shapes.COLOURS` by direction in RGB (so a darker,
  anti-aliased rim does not change it);
* position: analytic, the quadrant of the foreground's centroid;
* shape: a small CNN (:class:`ShapesNet`, weights shipped in ``weights/shapes_evaluator.safetensors``,
  trained by ``scripts/train_shapes_evaluator.py``). Besides circle, square and triangle it has a
  fourth class, "unclear", trained on heavily blurred shapes and noise, so that a blurry blob is not
  confidently scored as a circle. Its penultimate features (it also learns colour and position, so
  they describe all three attributes) give the "shapes-FID".

:func:`score_attributes` scores images against the attributes they were asked for (each attribute and
"all three right"); :func:`evaluate_shapes` gives the features and the probabilities of the 48
combinations (the data's class labels) for :class:`hfgen.evaluation.FeatureExtractor`.

Input convention: float ``[N, 3, H, W]`` in ``[-1, 1]`` (any side; the CNN sees them resized to 32).
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "SHAPES_EVALUATOR",
    "UNCLEAR",
    "ShapesNet",
    "analytic_colour_position",
    "evaluate_shapes",
    "load_shapes_evaluator",
    "predict_attributes",
    "score_attributes",
    "to_shapes_input",
]

#: recorded metadata of the shipped weights (kept in sync with weights/shapes_evaluator.json by
#: scripts/train_shapes_evaluator.py); the sha256 here is checked besides the JSON's.
SHAPES_EVALUATOR: dict[str, Any] = {
    "file": "shapes_evaluator.safetensors",
    "image_size": 32,
    "feature_dim": 64,
    "sha256": "0f81e723ae33696b06683ba5368dca57c8af44f98cb003ec0c118085fc443f5f",
}
#: index of the CNN's "unclear" shape class (after circle, square, triangle)
UNCLEAR = 3
# A pixel is foreground when one channel differs from the background by more than this (in [0, 1]
# units) and by at least half the image's largest difference: robust to faint noise in generated images.
_FG_ABS, _FG_REL = 0.2, 0.5


class ShapesNet(nn.Module):
    """Small CNN over RGB ``[N, 3, 32, 32]`` in ``[-1, 1]``: shape logits (circle, square, triangle,
    unclear) plus auxiliary colour and position logits; :meth:`features` are the shared penultimate
    activations (``feature_dim``) used for the shapes-FID."""

    def __init__(self, feature_dim: int = 64):
        super().__init__()
        self.feature_dim = feature_dim
        # 32 -> 16 -> 8 -> 4 -> 2 with stride-2 convs: small (tens of KB) and keeps coarse position
        self.body = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(inplace=True),
            nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.BatchNorm2d(32), nn.ReLU(inplace=True),
            nn.Conv2d(32, 32, 3, stride=2, padding=1), nn.BatchNorm2d(32), nn.ReLU(inplace=True),
            nn.Conv2d(32, 32, 3, stride=2, padding=1), nn.BatchNorm2d(32), nn.ReLU(inplace=True),
            nn.Conv2d(32, 32, 3, stride=2, padding=1), nn.BatchNorm2d(32), nn.ReLU(inplace=True),
        )
        self.fc = nn.Linear(32 * 2 * 2, feature_dim)
        self.shape_head = nn.Linear(feature_dim, 4)
        self.colour_head = nn.Linear(feature_dim, 4)
        self.position_head = nn.Linear(feature_dim, 4)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate features ``[N, feature_dim]`` (after ReLU)."""
        return F.relu(self.fc(self.body(x).flatten(1)))

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{"shape": [N, 4], "colour": [N, 4], "position": [N, 4]}`` logits."""
        f = self.features(x)
        return {"shape": self.shape_head(f), "colour": self.colour_head(f), "position": self.position_head(f)}


def _weights_dir():
    return resources.files("hfgen.metrics").joinpath("weights")


def load_shapes_evaluator(device: str | torch.device = "cpu", weights_path: str | Path | None = None) -> ShapesNet:
    """The shipped shape CNN in eval mode; its weights must have the sha256 recorded in
    ``weights/shapes_evaluator.json`` (and in :data:`SHAPES_EVALUATOR`), else ``ValueError``."""
    from safetensors.torch import load as st_load

    meta = json.loads(_weights_dir().joinpath("shapes_evaluator.json").read_text(encoding="utf-8"))
    if weights_path is None:
        data, source = _weights_dir().joinpath(SHAPES_EVALUATOR["file"]).read_bytes(), f"packaged {SHAPES_EVALUATOR['file']}"
    else:
        data, source = Path(weights_path).read_bytes(), str(weights_path)
    digest = hashlib.sha256(data).hexdigest()
    if digest != meta.get("sha256"):
        raise ValueError(f"sha256 mismatch for the shapes evaluator weights ({source}): got {digest}, recorded {meta.get('sha256')}")
    if SHAPES_EVALUATOR["sha256"] is not None and SHAPES_EVALUATOR["sha256"] != meta["sha256"]:
        raise ValueError(
            f"sha256 recorded in shapes_evaluator.json ({meta['sha256']}) differs from SHAPES_EVALUATOR "
            f"({SHAPES_EVALUATOR['sha256']}); re-run scripts/train_shapes_evaluator.py and update SHAPES_EVALUATOR"
        )
    model = ShapesNet(meta["feature_dim"])
    # stored in float16 to keep the file small; computed in float32
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in st_load(data).items()})
    return model.to(device).eval()


def _check_images(images: torch.Tensor) -> torch.Tensor:
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(
            f"the shapes evaluator needs RGB images [N, 3, H, W] in [-1, 1], got shape {tuple(images.shape)}."
        )
    return images.float()


def to_shapes_input(images: torch.Tensor, size: int = 32) -> torch.Tensor:
    """RGB ``[N, 3, H, W]`` in ``[-1, 1]`` -> ``[N, 3, size, size]`` (bilinear, antialiased when shrinking)."""
    x = _check_images(images)
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=x.shape[-1] > size)
        x = x.clamp(-1.0, 1.0)
    return x


def analytic_colour_position(images: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """``(colour, position)`` int64 ``[N]`` from the foreground pixels (-1 where no foreground is found).

    Colour: the mean foreground colour's nearest :data:`~hfgen.data.shapes.COLOUR_RGB` by cosine of the
    colour minus the background (brightness-free). Position: the quadrant of the foreground's
    coverage-weighted centroid.
    """
    from hfgen.data.shapes import BACKGROUND, COLOUR_RGB

    x = (_check_images(images).cpu().double() + 1.0) / 2.0  # [0, 1]
    bg = torch.tensor(BACKGROUND, dtype=torch.float64).view(1, 3, 1, 1) / 255.0
    diff = x - bg
    strength = diff.abs().amax(dim=1)  # [N, H, W]
    peak = strength.flatten(1).amax(dim=1).view(-1, 1, 1)
    fg = (strength > _FG_ABS) & (strength >= _FG_REL * peak)
    count = fg.flatten(1).sum(1)
    found = count > 0
    mean = (diff * fg[:, None]).flatten(2).sum(2) / count.clamp(min=1)[:, None]  # [N, 3]
    ref = torch.tensor(COLOUR_RGB, dtype=torch.float64) / 255.0 - bg.view(1, 3)
    cos = F.normalize(mean, dim=1) @ F.normalize(ref, dim=1).T
    colour = torch.where(found, cos.argmax(1), torch.full_like(count, -1))
    h, w = strength.shape[-2:]
    weight = strength * fg
    total = weight.flatten(1).sum(1).clamp(min=1e-12)
    ys = (torch.arange(h, dtype=torch.float64) + 0.5) / h
    xs = (torch.arange(w, dtype=torch.float64) + 0.5) / w
    cy = (weight.sum(2) * ys).sum(1) / total
    cx = (weight.sum(1) * xs).sum(1) / total
    position = (cy >= 0.5).long() * 2 + (cx >= 0.5).long()
    position = torch.where(found, position, torch.full_like(position, -1))
    return colour.numpy().astype(np.int64), position.numpy().astype(np.int64)


@torch.no_grad()
def _run_cnn(images: torch.Tensor, model: ShapesNet, batch_size: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    x = to_shapes_input(images, SHAPES_EVALUATOR["image_size"])
    feats, probs = [], []
    for s in range(0, len(x), batch_size):
        f = model.features(x[s : s + batch_size].to(device))
        feats.append(f.double().cpu())
        probs.append(torch.softmax(model.shape_head(f).double(), dim=1).cpu())
    if not feats:
        return torch.zeros(0, model.feature_dim, dtype=torch.float64), torch.zeros(0, 4, dtype=torch.float64)
    return torch.cat(feats), torch.cat(probs)


def predict_attributes(
    images: torch.Tensor, model: ShapesNet | None = None, batch_size: int = 500, device: str | torch.device | None = None
) -> dict[str, np.ndarray]:
    """Predicted ``colour``, ``shape`` and ``position`` (int64 ``[N]``; -1 = none found / unclear) and
    the CNN's ``shape_probs`` ``[N, 4]`` (circle, square, triangle, unclear)."""
    device = images.device if device is None else torch.device(device)
    model = load_shapes_evaluator(device) if model is None else model
    _, probs = _run_cnn(images, model, batch_size, device)
    shape = probs.argmax(1).numpy().astype(np.int64)
    shape[shape == UNCLEAR] = -1
    colour, position = analytic_colour_position(images)
    return {"colour": colour, "shape": shape, "position": position, "shape_probs": probs.numpy()}


def score_attributes(
    images: torch.Tensor,
    colour: Any,
    shape: Any,
    position: Any,
    model: ShapesNet | None = None,
    batch_size: int = 500,
) -> dict[str, float]:
    """Accuracy of ``images`` against the requested attributes (indices into COLOURS/SHAPES/POSITIONS).

    Returns ``{"colour", "shape", "position", "all_three", "num_images"}``: the fraction of images
    whose attribute is right, and whose three attributes are all right.
    """
    n = len(images)
    wanted = {k: np.asarray(v, dtype=np.int64).reshape(-1) for k, v in (("colour", colour), ("shape", shape), ("position", position))}
    for k, v in wanted.items():
        if len(v) != n:
            raise ValueError(f"{k} has {len(v)} entries for {n} images; pass one requested {k} per image.")
    if n == 0:
        raise ValueError("no images to score; pass at least one image.")
    pred = predict_attributes(images, model=model, batch_size=batch_size)
    right = {k: pred[k] == wanted[k] for k in wanted}
    out = {k: float(v.mean()) for k, v in right.items()}
    out["all_three"] = float((right["colour"] & right["shape"] & right["position"]).mean())
    out["num_images"] = n
    return out


@torch.no_grad()
def evaluate_shapes(
    images: torch.Tensor, batch_size: int = 500, device: str | torch.device | None = None, model: ShapesNet | None = None
) -> dict[str, np.ndarray]:
    """Features and combination probabilities of ``images`` (what the evaluation extractor needs).

    ``{"features": float64 [N, feature_dim], "probs": float64 [N, 48]}``: the probability of
    combination (c, s, p) is the CNN's P(shape s) among the three real shapes, on the analytic colour
    and position (one-hot; uniform where no foreground is found), so its argmax is the predicted
    combination and its index is the data's class label.
    """
    from hfgen.data.shapes import COLOURS, POSITIONS, SHAPES

    device = images.device if device is None else torch.device(device)
    model = load_shapes_evaluator(device) if model is None else model
    feats, shape_probs = _run_cnn(images, model, batch_size, device)
    colour, position = analytic_colour_position(images)
    n = len(images)
    p_shape = shape_probs[:, :3]
    p_shape = p_shape / p_shape.sum(1, keepdim=True).clamp(min=1e-12)
    p_colour = torch.full((n, len(COLOURS)), 1.0 / len(COLOURS), dtype=torch.float64)
    p_position = torch.full((n, len(POSITIONS)), 1.0 / len(POSITIONS), dtype=torch.float64)
    found = torch.from_numpy(colour >= 0)
    if found.any():
        p_colour[found] = F.one_hot(torch.from_numpy(colour[found.numpy()]), len(COLOURS)).double()
        p_position[found] = F.one_hot(torch.from_numpy(position[found.numpy()]), len(POSITIONS)).double()
    probs = p_colour[:, :, None, None] * p_shape[:, None, :, None] * p_position[:, None, None, :]
    return {"features": feats.numpy(), "probs": probs.reshape(n, len(COLOURS) * len(SHAPES) * len(POSITIONS)).numpy()}
