"""Digit classifiers of the two ``mnist5k-unpaired`` domains (CycleGAN's evaluators), and the texture
classifier of ``shapes2textures`` (a Pix2Pix evaluator), which share their small CNN.

One small CNN per domain (``domain_a``: plain digits, ``domain_b``: inked digits; see
:mod:`hfgen.data.styled_digits`), trained by ``scripts/train_styled_digit_classifiers.py`` on the
domain's 2250 training images and measured on its 250 held-out ones. They tell whether a
translation kept the digit: an A -> B translation is classified by the domain-B classifier and
compared with the source image's label (and the other way round). Their penultimate features
(128-d) are the feature space of the per-direction FID.

The ``shapes2textures`` classifier (key ``"shapes2textures"``) reads the striped targets of that paired
data set: 12 classes, shape x stripe orientation (class = 4 * shape + orientation), so its features
tell stripes from the flat fill that an L1-only Pix2Pix draws where the input leaves the stripes open.
It reports the probabilities of the 3 shapes (summed over the orientations): the content the input
fixes, as the digit is for edges2digits.

The weights live in ``weights/<name>.safetensors`` (:data:`CLASSIFIER_FILES`) beside a JSON file with the
held-out accuracy and the weights' sha256, which :func:`load_styled_digit_classifier` checks before
loading (safetensors only).
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["StyledDigitClassifier", "load_styled_digit_classifier", "classify_domain", "DOMAINS", "CLASSIFIER_FILES"]

DOMAINS = ("domain_a", "domain_b")
#: every shipped classifier of this architecture: key -> file name (without extension) in ``weights/``
CLASSIFIER_FILES = {**{d: f"mnist5k_unpaired_{d}_classifier" for d in DOMAINS}, "shapes2textures": "shapes2textures_classifier"}


class StyledDigitClassifier(nn.Module):
    """conv3x3[32, 64, 128] + BN + ReLU + maxpool2 each (32 -> 4), fc 2048 -> 128 (features), dropout 0.3, fc 128 -> classes.

    Input: float [N, 3, 32, 32] in [-1, 1]. ``content_groups`` > 1: the classes are ``content * groups + style``
    and :func:`classify_domain` reports the content's probabilities (summed over the styles).
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 10, feature_dim: int = 128, content_groups: int = 1):
        super().__init__()
        layers, c = [], in_channels
        for width in (32, 64, 128):
            layers += [nn.Conv2d(c, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True), nn.MaxPool2d(2)]
            c = width
        self.body = nn.Sequential(*layers)
        self.fc = nn.Linear(128 * 4 * 4, feature_dim)
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(feature_dim, num_classes)
        self.feature_dim, self.num_classes, self.content_groups = feature_dim, num_classes, content_groups

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate features [N, feature_dim] (after ReLU): the FID feature space."""
        if x.ndim != 4 or x.shape[1:] != (3, 32, 32):
            raise ValueError(f"StyledDigitClassifier takes [N, 3, 32, 32] images in [-1, 1], got {tuple(x.shape)}.")
        return F.relu(self.fc(self.body(x).flatten(1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits [N, num_classes]."""
        return self.head(self.dropout(self.features(x)))


def _weights_name(domain: str) -> str:
    if domain not in CLASSIFIER_FILES:
        raise ValueError(f"domain must be one of {list(CLASSIFIER_FILES)}, got {domain!r}.")
    return CLASSIFIER_FILES[domain]


def classifier_metadata(domain: str) -> dict:
    """The JSON record of a shipped classifier: held-out accuracy, split, training, sha256."""
    path = resources.files("hfgen.metrics").joinpath("weights", _weights_name(domain) + ".json")
    return json.loads(path.read_text(encoding="utf-8"))


def load_styled_digit_classifier(domain: str, device="cpu") -> StyledDigitClassifier:
    """The shipped classifier of `domain` in eval mode; refuses weights whose sha256 differs from the JSON record."""
    from safetensors.torch import load as load_safetensors

    data = resources.files("hfgen.metrics").joinpath("weights", _weights_name(domain) + ".safetensors").read_bytes()
    meta = classifier_metadata(domain)
    digest = hashlib.sha256(data).hexdigest()
    if digest != meta["sha256"]:
        raise ValueError(f"The {domain} classifier's weights have sha256 {digest}, not the recorded {meta['sha256']}: "
                         "re-run scripts/train_styled_digit_classifiers.py.")
    model = StyledDigitClassifier(num_classes=meta["num_classes"], feature_dim=meta["feature_dim"],
                                  content_groups=meta.get("content_groups", 1))
    model.load_state_dict(load_safetensors(data))
    return model.to(device).eval()


@torch.no_grad()
def classify_domain(images: torch.Tensor, domain: str, model: StyledDigitClassifier | None = None, batch_size: int = 500) -> dict:
    """Features [N, 128] (float64), class probabilities [N, K] (float64) and predicted classes [N] of images
    [N, 3, 32, 32] in [-1, 1] by `domain`'s classifier (K = 10 digits; 3 shapes for ``shapes2textures``, whose
    12 shape x orientation probabilities are summed per shape)."""
    model = model or load_styled_digit_classifier(domain, device=images.device)
    device = next(model.parameters()).device
    feats, probs, preds = [], [], []
    for start in range(0, images.shape[0], batch_size):
        f = model.features(images[start : start + batch_size].float().to(device))
        p = torch.softmax(model.head(f).double(), dim=1)
        if model.content_groups > 1:  # class = content * groups + style: keep the content
            p = p.view(len(p), -1, model.content_groups).sum(-1)
        feats.append(f.double().cpu())
        probs.append(p.cpu())
        preds.append(p.argmax(1).cpu())
    return {"features": torch.cat(feats), "probs": torch.cat(probs), "predictions": torch.cat(preds)}
