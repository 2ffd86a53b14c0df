"""In-memory training dataset shared by every hfgen trainer."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from .errors import InvalidArgumentError

_PRIMARY = {"image": "pixel_values", "vector": "points"}


class GenDataset(Dataset):
    """In-memory dataset of training examples. Items are dicts.

    Items hold ``"pixel_values"`` (float32 ``[C, H, W]`` in ``[-1, 1]``) for ``kind="image"`` or
    ``"points"`` (float32 ``[D]``) for ``kind="vector"``, plus ``"labels"`` (int64 scalar) when
    labelled and ``"text"`` (str) when a text column exists. All tensors live in ``tensors``;
    :meth:`get_batch` gathers a whole batch with one indexing op per tensor.
    """

    def __init__(
        self,
        tensors: dict[str, torch.Tensor],
        *,
        kind: str,
        num_classes: int = 0,
        class_names: Sequence[str] | None = None,
        image_size: int | None = None,
        num_channels: int | None = None,
        data_dim: int | None = None,
        texts: Sequence[str] | None = None,
        name: str | None = None,
    ) -> None:
        if kind not in _PRIMARY:
            raise InvalidArgumentError(f"kind must be 'image' or 'vector', got {kind!r}.")
        key = _PRIMARY[kind]
        if key not in tensors:
            raise InvalidArgumentError(f"a {kind!r} GenDataset needs a {key!r} tensor.")
        n = len(tensors[key])
        for k, v in tensors.items():
            if len(v) != n:
                raise InvalidArgumentError(f"tensor {k!r} has {len(v)} rows, expected {n}.")
        if texts is not None and len(texts) != n:
            raise InvalidArgumentError(f"texts has {len(texts)} entries, expected {n}.")
        self.tensors: dict[str, torch.Tensor] = dict(tensors)
        self.kind = kind
        self.num_classes = int(num_classes)
        self.class_names = list(class_names) if class_names is not None else None
        self.image_size = image_size
        self.num_channels = num_channels
        self.data_dim = data_dim
        self.texts: list[str] | None = list(texts) if texts is not None else None
        self.name = name
        # What image files held before conversion ({"min_size", "max_size", "channels"}), when known.
        self.native: dict | None = None

    def conversion_note(self) -> str | None:
        """How the loaded images differ from the files (resized / channels converted), or None."""
        if self.kind != "image" or not self.native:
            return None
        notes = []
        lo, hi = self.native["min_size"], self.native["max_size"]
        if (lo, hi) != (self.image_size, self.image_size):
            native = f"{lo}" if lo == hi else f"{lo}-{hi}"
            notes.append(f"resized from {native} px (shorter side) to {self.image_size}x{self.image_size}")
        names = {1: "grey", 3: "RGB"}
        if self.native["channels"] != self.num_channels:
            notes.append(f"converted {names[self.native['channels']]} to {names.get(self.num_channels, self.num_channels)}")
        return "; ".join(notes) or None

    @property
    def primary_key(self) -> str:
        """Name of the main tensor: ``"pixel_values"`` or ``"points"``."""
        return _PRIMARY[self.kind]

    @property
    def has_labels(self) -> bool:
        """Whether items carry integer ``"labels"``."""
        return "labels" in self.tensors

    @property
    def has_text(self) -> bool:
        """Whether items carry a ``"text"`` string."""
        return self.texts is not None

    def __len__(self) -> int:
        """Number of examples."""
        return len(self.tensors[self.primary_key])

    def __getitem__(self, idx: int) -> dict:
        """Return example ``idx`` as a dict of tensors (and ``"text"`` when available)."""
        if isinstance(idx, torch.Tensor):
            idx = int(idx)
        idx = int(idx)
        n = len(self)
        if not -n <= idx < n:
            raise IndexError(f"index {idx} out of range for dataset of length {n}")
        item = {k: v[idx] for k, v in self.tensors.items()}
        if self.texts is not None:
            item["text"] = self.texts[idx]
        return item

    def get_batch(self, indices: torch.Tensor) -> dict:
        """Gather a batch: dict of stacked tensors (``"text"`` as a list of str).

        Equivalent to stacking ``self[i]`` for ``i in indices`` but much faster.
        """
        idx = torch.as_tensor(
            np.asarray(indices) if not isinstance(indices, torch.Tensor) else indices,
            dtype=torch.long,
        ).reshape(-1)
        batch = {k: v.index_select(0, idx.to(v.device)) for k, v in self.tensors.items()}
        if self.texts is not None:
            batch["text"] = [self.texts[i] for i in idx.tolist()]
        return batch

    def to(self, device: torch.device | str) -> GenDataset:
        """Move all tensors to ``device`` in place (e.g. onto the GPU) and return ``self``."""
        self.tensors = {k: v.to(device) for k, v in self.tensors.items()}
        return self

    def describe(self, max_names: int = 20, name: str | None = None) -> str:
        """One human-readable line on what was found: examples, size, channels, classes, captions.

        Printed once when training starts, so that a user sees at once whether their folder was read
        as they meant (e.g. class subfolders found, captions picked up). ``name`` replaces the dataset's
        name in the text (e.g. a folder's base name where a local path must not be recorded).
        """
        data = self.tensors[self.primary_key]
        parts = [f"{len(self):,} examples"]
        if self.kind == "image":
            channels = {1: "grey-scale", 3: "RGB"}.get(self.num_channels, f"{self.num_channels} channels")
            parts.append(f"images of {data.shape[-2]}x{data.shape[-1]} pixels, {self.num_channels} channel"
                         f"{'s' if self.num_channels != 1 else ''} ({channels})")
        else:
            parts.append(f"{data.shape[1]}-D points")
        if self.conversion_note():
            parts.append(f"files {self.conversion_note()}")
        if self.num_classes:
            names = self.class_names or []
            shown = ", ".join(names[:max_names]) + (f", ... ({len(names) - max_names} more)" if len(names) > max_names else "")
            parts.append(f"{self.num_classes} classes ({shown})" if names else f"{self.num_classes} classes")
        else:
            parts.append("no class labels")
        if self.texts is not None:
            with_text = sum(1 for t in self.texts if t)
            parts.append(f"captions on {with_text:,} of {len(self):,} examples")
        else:
            parts.append("no captions")
        return f"Data {name or self.name!r}: " + "; ".join(parts) + "."

    def __repr__(self) -> str:
        shape = tuple(self.tensors[self.primary_key].shape)
        extra = f", num_classes={self.num_classes}" if self.num_classes else ""
        extra += ", text=True" if self.texts is not None else ""
        return f"GenDataset(name={self.name!r}, kind={self.kind!r}, {self.primary_key}={shape}{extra})"
