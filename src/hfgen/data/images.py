"""PIL/numpy image helpers: decoding, mode conversion, resize + center crop, tensor packing."""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Sequence

import numpy as np
import torch
from PIL import Image, ImageOps

from .errors import CorruptImageError, InvalidArgumentError

# Fallback when `datasets` is unavailable; normally the imagefolder builder's list is used.
_DEFAULT_EXTENSIONS = (
    ".bmp", ".gif", ".jpeg", ".jpg", ".png", ".ppm", ".pgm", ".pbm", ".tif", ".tiff", ".webp",
)
_GRAY_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}


def image_extensions() -> tuple[str, ...]:
    """Lower-case file extensions accepted as images (those of the `datasets` imagefolder builder)."""
    try:
        from datasets.packaged_modules.imagefolder.imagefolder import ImageFolder

        return tuple(sorted(ext.lower() for ext in ImageFolder.EXTENSIONS))
    except Exception:  # pragma: no cover - depends on the installed datasets version
        return _DEFAULT_EXTENSIONS


def find_image_files(folder: str) -> list[str]:
    """Recursively list image files under ``folder`` (hidden files/folders are skipped)."""
    exts = set(image_extensions())
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for f in sorted(files):
            if not f.startswith(".") and os.path.splitext(f)[1].lower() in exts:
                found.append(os.path.join(root, f))
    return found


def open_image(value, where: str) -> Image.Image:
    """Decode ``value`` (PIL image, path, bytes, ``{"bytes", "path"}`` dict or array) to a loaded PIL image.

    ``where`` describes the source for error messages; a file path is used instead when known.
    Raises :class:`CorruptImageError` naming the file when PIL cannot read it.
    """
    if isinstance(value, Image.Image):
        return value
    if isinstance(value, np.ndarray):
        return Image.fromarray(value)
    data, path = None, None
    if isinstance(value, dict):
        data, path = value.get("bytes"), value.get("path")
    elif isinstance(value, (bytes, bytearray)):
        data = value
    elif isinstance(value, (str, os.PathLike)):
        path = os.fspath(value)
    else:
        raise CorruptImageError(
            f"Cannot interpret {type(value).__name__} value at {where} as an image. "
            "Fix: pass --image_column (image_column= in Python) naming a column of images, file paths or encoded bytes."
        )
    label = path if path else where
    try:
        img = Image.open(io.BytesIO(data) if data is not None else path)
        img.load()
        img = ImageOps.exif_transpose(img) or img
    except FileNotFoundError as e:
        raise CorruptImageError(
            f"Image file not found: {label} ({e}). Fix: restore the file or remove its row "
            "(e.g. from metadata.jsonl/metadata.csv)."
        ) from e
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise CorruptImageError(
            f"Cannot read image file {label}: it is corrupt or not a supported image ({e}). "
            "Fix: delete or replace this file (e.g. re-save it as PNG/JPEG) and load again."
        ) from e
    return img


def is_grayscale(img: Image.Image) -> bool:
    """Whether a PIL image is single-channel (modes 1/L/LA/I/I;16/F)."""
    return img.mode in _GRAY_MODES


def convert_mode(img: Image.Image, num_channels: int) -> Image.Image:
    """Convert to mode ``"L"`` (1 channel) or ``"RGB"`` (3 channels); high bit-depth is rescaled."""
    if img.mode in ("I", "F") or img.mode.startswith("I;16"):
        arr = np.asarray(img, dtype=np.float64)
        hi = arr.max() if arr.size else 0.0
        if img.mode == "F" and hi <= 1.0:
            arr = arr * 255.0
        elif hi > 255.0:
            arr = arr / 257.0  # 16-bit -> 8-bit
        img = Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8), mode="L")
    target = "L" if num_channels == 1 else "RGB"
    if img.mode == target:
        return img
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        # composite transparent pixels onto white rather than black
        rgba = img.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(bg, rgba)
    return img.convert(target)


def resize_image(img: Image.Image, image_size: int, center_crop: bool = True) -> Image.Image:
    """Resize to ``image_size x image_size``.

    With ``center_crop`` the shorter side is resized to ``image_size`` (Lanczos when shrinking,
    bicubic when enlarging) and the centre square is cropped; otherwise the image is resized
    straight to a square (aspect ratio not preserved).
    """
    w, h = img.size
    s = int(image_size)
    if (w, h) == (s, s):
        return img
    if not center_crop:
        resample = Image.Resampling.LANCZOS if s < min(w, h) else Image.Resampling.BICUBIC
        return img.resize((s, s), resample)
    scale = s / min(w, h)
    nw, nh = max(s, round(w * scale)), max(s, round(h * scale))
    if (nw, nh) != (w, h):
        resample = Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BICUBIC
        img = img.resize((nw, nh), resample)
    left, top = (nw - s) // 2, (nh - s) // 2
    return img.crop((left, top, left + s, top + s))


def images_to_uint8(
    values: Iterable,
    *,
    image_size: int | None,
    num_channels: int | None,
    center_crop: bool = True,
    where: Sequence[str] | None = None,
    native: dict | None = None,
) -> np.ndarray:
    """Decode, convert and resize every image; return a ``[N, H, W, C]`` uint8 array.

    ``image_size=None`` uses the shorter side of the first image. ``num_channels=None`` gives 1
    when every image is grayscale and 3 otherwise. A ``native`` dict is filled with what the files
    held before conversion: ``min_size``/``max_size`` (shorter sides, pixels) and ``channels`` (1 when
    every image is grayscale, else 3), so that callers can record and report the conversion.
    """
    arrays: list[np.ndarray] = []
    any_color = any_native_color = False
    sizes: list[int] = []
    for i, value in enumerate(values):
        img = open_image(value, where[i] if where is not None else f"row {i}")
        sizes.append(min(img.size))
        any_native_color |= not is_grayscale(img)
        if image_size is None:
            image_size = min(img.size)
            if image_size < 1:
                raise InvalidArgumentError(f"Image at row {i} is empty. Fix: remove it.")
        channels = num_channels
        if channels is None:
            channels = 1 if is_grayscale(img) else 3
        any_color |= channels == 3
        img = resize_image(convert_mode(img, channels), image_size, center_crop)
        arr = np.asarray(img, dtype=np.uint8)
        arrays.append(arr[:, :, None] if arr.ndim == 2 else arr)
    if not arrays:
        raise InvalidArgumentError("No images to convert (the dataset has 0 rows).")
    if num_channels is None and any_color:
        arrays = [np.repeat(a, 3, axis=2) if a.shape[2] == 1 else a for a in arrays]
    if native is not None:
        native.update(min_size=min(sizes), max_size=max(sizes), channels=3 if any_native_color else 1)
    return np.stack(arrays)


def uint8_to_channels_first(images: np.ndarray) -> torch.Tensor:
    """``[N, H, W, C]`` uint8 -> uint8 ``[N, C, H, W]`` (how :class:`GenDataset` keeps images)."""
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).contiguous()


def uint8_to_tensor(images: np.ndarray) -> torch.Tensor:
    """``[N, H, W, C]`` uint8 -> float32 ``[N, C, H, W]`` in ``[-1, 1]``."""
    t = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float()
    return t.div_(127.5).sub_(1.0).contiguous()
