"""Inception-v3 feature extractor for FID / KID / IS, in plain torch (no torchvision).

Architecture: Inception-v3 (Szegedy et al. 2016, "Rethinking the Inception Architecture for Computer
Vision") as ported to PyTorch for the TensorFlow FID graph of 2015-12-05 (Heusel et al. 2017) by
pytorch-fid (M. Seitzer) and torch-fidelity. It differs from the ImageNet torchvision model in:

* 1008 output classes (the TF graph's softmax), no auxiliary classifier;
* the "FID" Inception blocks: TF's average pooling ignores padded zeros (``count_include_pad=False``
  in ``Mixed_5*``, ``Mixed_6b..e`` and ``Mixed_7b``), and ``Mixed_7c`` pools with max instead of avg.

Parameter and buffer names match the state dict of pytorch-fid's
``pt_inception-2015-12-05-6726825d.pth`` (``Conv2d_1a_3x3.conv.weight``, ``Mixed_5b.branch1x1.bn.
running_mean``, ..., ``fc.weight``, ``fc.bias``), so that file loads with ``strict=True``.
The weights are *not* downloaded by hfgen: see :func:`load_fid_inception`.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Mapping

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "FIDInceptionV3",
    "load_fid_inception",
    "FID_INCEPTION_SHA256",
    "FID_WEIGHTS_URL",
    "FID_WEIGHTS_FILENAME",
    "INCEPTION_WEIGHTS_ENV",
]

FID_WEIGHTS_FILENAME = "pt_inception-2015-12-05-6726825d.pth"
FID_WEIGHTS_URL = (
    "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/" + FID_WEIGHTS_FILENAME
)
# torch.hub naming convention: the file name carries the first 8 hex digits of the file's sha256.
# Only that prefix is published, so by default the check is a prefix check; pass `sha256=` with the
# full 64-digit hash to load_fid_inception for a full check.
FID_INCEPTION_SHA256 = "6726825d"
INCEPTION_WEIGHTS_ENV = "HFGEN_INCEPTION_WEIGHTS"


# ----------------------------------------------------------------------------------------------------
# building blocks
# ----------------------------------------------------------------------------------------------------


class BasicConv2d(nn.Module):
    """Conv (no bias) -> BatchNorm (eps=0.001, as in the TF graph) -> ReLU."""

    def __init__(self, in_channels: int, out_channels: int, **kwargs) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply conv, batch norm and ReLU."""
        return F.relu(self.bn(self.conv(x)), inplace=True)


def _avg_pool_tf(x: torch.Tensor) -> torch.Tensor:
    # TF average pooling does not count the padded zeros (pytorch-fid's FIDInception patch)
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class FIDInceptionA(nn.Module):
    """35x35 block (Mixed_5b..d) with TF-style average pooling."""

    def __init__(self, in_channels: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch5x5_1 = BasicConv2d(in_channels, 48, kernel_size=1)
        self.branch5x5_2 = BasicConv2d(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(in_channels, pool_features, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Concatenate the four branches along channels."""
        b1 = self.branch1x1(x)
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = self.branch_pool(_avg_pool_tf(x))
        return torch.cat([b1, b5, b3, bp], 1)


class InceptionB(nn.Module):
    """Grid reduction 35x35 -> 17x17 (Mixed_6a)."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.branch3x3 = BasicConv2d(in_channels, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Concatenate the strided branches and a max pool."""
        b3 = self.branch3x3(x)
        bd = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([b3, bd, bp], 1)


class FIDInceptionC(nn.Module):
    """17x17 block with factorised 7x7 convolutions (Mixed_6b..e), TF-style average pooling."""

    def __init__(self, in_channels: int, channels_7x7: int) -> None:
        super().__init__()
        c7 = channels_7x7
        self.branch1x1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch7x7_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(in_channels, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Concatenate the four branches along channels."""
        b1 = self.branch1x1(x)
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = self.branch7x7dbl_1(x)
        for layer in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            bd = layer(bd)
        bp = self.branch_pool(_avg_pool_tf(x))
        return torch.cat([b1, b7, bd, bp], 1)


class InceptionD(nn.Module):
    """Grid reduction 17x17 -> 8x8 (Mixed_7a)."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.branch3x3_1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch3x3_2 = BasicConv2d(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, kernel_size=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Concatenate the strided branches and a max pool."""
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        bp = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([b3, b7, bp], 1)


class FIDInceptionE(nn.Module):
    """8x8 block with expanded filter banks: ``pool="avg"`` (Mixed_7b, TF-style average pooling, i.e.
    pytorch-fid's FIDInceptionE_1) or ``pool="max"`` (Mixed_7c, FIDInceptionE_2: the TF graph
    uses max pooling there)."""

    def __init__(self, in_channels: int, pool: str = "avg") -> None:
        super().__init__()
        if pool not in ("avg", "max"):
            raise ValueError(f"pool must be 'avg' or 'max', got {pool!r}")
        self.pool = pool
        self.branch1x1 = BasicConv2d(in_channels, 320, kernel_size=1)
        self.branch3x3_1 = BasicConv2d(in_channels, 384, kernel_size=1)
        self.branch3x3_2a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 448, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(in_channels, 192, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Concatenate the branches (2048 channels)."""
        b1 = self.branch1x1(x)
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)
        if self.pool == "avg":
            bp = _avg_pool_tf(x)
        else:
            bp = F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
        bp = self.branch_pool(bp)
        return torch.cat([b1, b3, bd, bp], 1)


# ----------------------------------------------------------------------------------------------------
# the network
# ----------------------------------------------------------------------------------------------------


class FIDInceptionV3(nn.Module):
    """Inception-v3 of the TF FID graph (2015-12-05), key-compatible with pytorch-fid's weights.

    ``forward(x)`` takes float images ``[N, 3, H, W]`` in ``[-1, 1]`` (or in ``[0, 1]`` when built with
    ``normalize_input=True``), resizes them bilinearly to 299x299 (``align_corners=False``, as
    pytorch-fid) and returns a dict with

    * ``"pool"``: ``[N, 2048]`` average-pooled features of ``Mixed_7c`` (the FID / KID features);
    * ``"logits"``: ``[N, 1008]`` ``fc`` outputs; ``"logits_unbiased"``: the same without ``fc.bias``
      (torch-fidelity's choice for the Inception Score);
    * ``"probs"``: ``softmax(logits)`` over the 1008 classes.

    Weights are random until loaded (:func:`load_fid_inception`); build it in ``eval()`` mode for use.
    """

    NUM_CLASSES = 1008
    FEATURE_DIM = 2048

    def __init__(self, normalize_input: bool = False, resize_input: bool = True) -> None:
        super().__init__()
        self.normalize_input = normalize_input
        self.resize_input = resize_input
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        self.Mixed_5b = FIDInceptionA(192, pool_features=32)
        self.Mixed_5c = FIDInceptionA(256, pool_features=64)
        self.Mixed_5d = FIDInceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = FIDInceptionC(768, channels_7x7=128)
        self.Mixed_6c = FIDInceptionC(768, channels_7x7=160)
        self.Mixed_6d = FIDInceptionC(768, channels_7x7=160)
        self.Mixed_6e = FIDInceptionC(768, channels_7x7=192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = FIDInceptionE(1280, pool="avg")
        self.Mixed_7c = FIDInceptionE(2048, pool="max")
        self.fc = nn.Linear(self.FEATURE_DIM, self.NUM_CLASSES)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, 2048]`` pool features of images ``x`` (same input convention as ``forward``)."""
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"expected images [N, 3, H, W], got shape {tuple(x.shape)}")
        x = x.to(self.fc.weight.dtype)
        if self.normalize_input:
            x = 2.0 * x - 1.0
        if self.resize_input and tuple(x.shape[-2:]) != (299, 299):
            x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
        x = self.Conv2d_1a_3x3(x)  # 149
        x = self.Conv2d_2a_3x3(x)  # 147
        x = self.Conv2d_2b_3x3(x)  # 147
        x = F.max_pool2d(x, kernel_size=3, stride=2)  # 73
        x = self.Conv2d_3b_1x1(x)
        x = self.Conv2d_4a_3x3(x)  # 71
        x = F.max_pool2d(x, kernel_size=3, stride=2)  # 35
        for block in (self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b,
                      self.Mixed_6c, self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b,
                      self.Mixed_7c):
            x = block(x)  # 35 -> 17 (Mixed_6a) -> 8 (Mixed_7a), 2048 channels at the end
        return torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Pool features, logits (with and without bias) and class probabilities; see the class doc."""
        pool = self.features(x)
        logits_unbiased = pool @ self.fc.weight.T
        logits = logits_unbiased + self.fc.bias
        return {
            "pool": pool,
            "logits": logits,
            "logits_unbiased": logits_unbiased,
            "probs": F.softmax(logits, dim=1),
        }


# ----------------------------------------------------------------------------------------------------
# weights
# ----------------------------------------------------------------------------------------------------


def _hub_cache_path() -> Path:
    try:
        hub_dir = Path(torch.hub.get_dir())
    except Exception:  # pragma: no cover - torch.hub unavailable
        hub_dir = Path(os.path.expanduser("~/.cache/torch/hub"))
    return hub_dir / "checkpoints" / FID_WEIGHTS_FILENAME


def _missing_weights_error(searched: list[str]) -> FileNotFoundError:
    cache = _hub_cache_path()
    return FileNotFoundError(
        "Inception-v3 FID weights not found (searched: " + ", ".join(searched) + ").\n"
        f"Download {FID_WEIGHTS_URL}\n"
        f"and either put it at {cache} (the torch hub cache, where pytorch-fid keeps it), "
        f"set the environment variable {INCEPTION_WEIGHTS_ENV}=/path/to/{FID_WEIGHTS_FILENAME}, "
        "or pass its path: `hfgen evaluate --inception_weights PATH` on the command line, "
        "`load_fid_inception(weights_path=PATH)` / `Evaluator(inception_weights=PATH)` in Python."
    )


def _resolve_weights(weights_path: str | os.PathLike | None) -> Path:
    if weights_path is not None:
        path = Path(weights_path).expanduser()
        if not path.is_file():
            raise _missing_weights_error([str(path)])
        return path
    env = os.environ.get(INCEPTION_WEIGHTS_ENV)
    if env:
        path = Path(env).expanduser()
        if not path.is_file():
            raise _missing_weights_error([f"${INCEPTION_WEIGHTS_ENV}={path}"])
        return path
    cache = _hub_cache_path()
    if cache.is_file():
        return cache
    raise _missing_weights_error([f"${INCEPTION_WEIGHTS_ENV} (unset)", str(cache)])


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _load_state_dict(path: Path) -> Mapping[str, torch.Tensor]:
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path), device="cpu")
    # .pth files are pickles: weights_only=True refuses arbitrary objects (no code execution)
    state = torch.load(str(path), map_location="cpu", weights_only=True)
    if isinstance(state, Mapping) and "state_dict" in state and isinstance(state["state_dict"], Mapping):
        state = state["state_dict"]
    if not isinstance(state, Mapping):
        raise ValueError(f"{path} does not hold a state dict (got {type(state).__name__})")
    return state


def load_fid_inception(
    weights_path: str | os.PathLike | None = None,
    *,
    sha256: str | None = None,
    device: str | torch.device = "cpu",
) -> FIDInceptionV3:
    """Build :class:`FIDInceptionV3` and load the TF-FID weights, checking their sha256 first.

    The file is looked up, in order, at ``weights_path``, at ``$HFGEN_INCEPTION_WEIGHTS``, and in the
    torch hub cache (``<torch.hub.get_dir()>/checkpoints/pt_inception-2015-12-05-6726825d.pth``, i.e.
    ``~/.cache/torch/hub/checkpoints/`` by default). Nothing is downloaded: a missing file raises
    ``FileNotFoundError`` with the download URL and where to put the file.

    Hash check: the file's sha256 must start with ``sha256`` (full 64-digit hash or a prefix); by
    default the published 8-digit prefix :data:`FID_INCEPTION_SHA256` is used. A mismatch raises
    ``ValueError`` naming the expected and actual hash. ``.pth`` files are read with
    ``torch.load(weights_only=True)``; ``.safetensors`` files are accepted too.
    Returns the model in ``eval()`` mode with gradients disabled, on ``device``.
    """
    expected = (FID_INCEPTION_SHA256 if sha256 is None else sha256).strip().lower()
    if not re.fullmatch(r"[0-9a-f]{1,64}", expected):
        raise ValueError(f"sha256 must be a hex string of at most 64 digits, got {sha256!r}")
    path = _resolve_weights(weights_path)
    actual = _file_sha256(path)
    if not actual.startswith(expected):
        kind = "sha256" if len(expected) == 64 else "sha256 prefix"
        raise ValueError(
            f"Inception weights {path} failed the hash check: expected {kind} {expected}, "
            f"got sha256 {actual}. Re-download {FID_WEIGHTS_URL}."
        )
    state = dict(_load_state_dict(path))
    model = FIDInceptionV3()
    # files saved by old torch versions lack BatchNorm's num_batches_tracked buffers (unused in eval)
    for key, value in model.state_dict().items():
        if key.endswith("num_batches_tracked") and key not in state:
            state[key] = torch.zeros_like(value)
    model.load_state_dict(state, strict=True)
    model.eval().requires_grad_(False)
    return model.to(device)
