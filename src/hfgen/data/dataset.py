"""In-memory training dataset shared by every hfgen trainer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from .errors import InvalidArgumentError

_PRIMARY = {"image": "pixel_values", "vector": "points"}
# Batch keys that hold images ([N, C, H, W]); uint8 ones are kept as such in memory and decoded per batch.
IMAGE_KEYS = ("pixel_values", "conditioning_pixel_values")


class PixelDecoder:
    """Turns uint8 pixels kept in memory into float32 ``[-1, 1]`` batches, one batch at a time.

    Images are held as uint8 (a quarter of float32's memory) and decoded when a batch is drawn, with
    the very float32 operations the loaders once applied to whole datasets: ``x / 127.5 - 1`` for
    image files (``max_value=None``), ``x * (2 / max_value) - 1`` for embedded grey levels (sklearn's
    digits go to 16). Each is one correctly rounded operation per value, so a decoded batch is
    bitwise what the float32 dataset held. Embedded data may also be resized (bicubic, antialiased,
    as before) and grey repeated to RGB per batch: both act on each image alone, so decoding a
    batch equals slicing the decoded dataset (tests/test_data_batching.py checks both).
    """

    def __init__(self, max_value: Optional[float] = None, *, size: Optional[int] = None, channels: Optional[int] = None):
        self.max_value, self.size, self.channels = max_value, size, channels

    def __call__(self, pixels: torch.Tensor) -> torch.Tensor:
        """``[N, C, H, W]`` uint8 -> float32 ``[N, C', S, S]`` in ``[-1, 1]``."""
        if self.max_value is None:
            x = pixels.float().div_(127.5).sub_(1.0)
        else:
            x = pixels.float() * (2.0 / float(self.max_value)) - 1.0
        if self.size is not None and self.size != x.shape[-1]:
            x = F.interpolate(x, size=(self.size, self.size), mode="bicubic", align_corners=False, antialias=True).clamp_(-1.0, 1.0)
        if self.channels == 3 and x.shape[1] == 1:
            x = x.repeat(1, 3, 1, 1)
        return x.contiguous()

    def __repr__(self) -> str:
        return f"PixelDecoder(max_value={self.max_value}, size={self.size}, channels={self.channels})"


def _count_texts(texts) -> tuple[list, int]:
    """Normalises captions to ``list[str]`` (one a row) or ``list[list[str]]`` (several a row)."""
    several = any(isinstance(t, (list, tuple)) for t in texts)
    if not several:
        return ["" if t is None else str(t) for t in texts], 1
    rows = [[str(c) for c in t if c is not None] if isinstance(t, (list, tuple)) else ([] if t is None else [str(t)])
            for t in texts]
    return rows, max(len(r) for r in rows)


class GenDataset(Dataset):
    """In-memory dataset of training examples. Items are dicts of named fields.

    Fields: ``"pixel_values"`` (float32 ``[C, H, W]`` in ``[-1, 1]``) for ``kind="image"`` or
    ``"points"`` (float32 ``[D]``) for ``kind="vector"``; ``"labels"`` (int64 scalar) when labelled;
    ``"conditioning_pixel_values"`` (the input image of paired data, as diffusers' ControlNet
    examples name it); ``"text"`` (str) when captions exist. A row may hold several captions
    (``texts`` a list of lists): a batch then picks one per row with the caller's generator.

    Images may be given (and are kept) as uint8 ``[N, C, H, W]``: they are decoded to float per
    batch by a :class:`PixelDecoder` (``decoders`` maps a key to one; uint8 images without one get
    the standard ``x / 127.5 - 1``). :meth:`get_batch` gathers a whole batch with one indexing op per
    field; :attr:`tensors` decodes the whole dataset (for evaluation), :attr:`storage` is what memory holds.
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
        texts: Sequence | None = None,
        name: str | None = None,
        decoders: dict[str, PixelDecoder] | None = None,
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
        self.storage: dict[str, torch.Tensor] = dict(tensors)
        self.decoders: dict[str, PixelDecoder] = dict(decoders or {})
        for k in IMAGE_KEYS:
            if k in self.storage and self.storage[k].dtype == torch.uint8 and k not in self.decoders:
                self.decoders[k] = PixelDecoder()
        self.kind = kind
        self.num_classes = int(num_classes)
        self.class_names = list(class_names) if class_names is not None else None
        self.image_size = image_size
        self.num_channels = num_channels
        self.data_dim = data_dim
        self.texts, self.captions_per_row = _count_texts(texts) if texts is not None else (None, 0)
        self.name = name
        # What image files held before conversion ({"min_size", "max_size", "channels"}), when known.
        self.native: dict | None = None

    @property
    def tensors(self) -> dict[str, torch.Tensor]:
        """Every field of every row, images decoded to float (a fresh tensor on each access; other
        fields as held). For evaluation and tests: training draws batches with :meth:`get_batch`,
        which decodes only the rows it needs.
        """
        return {k: self.decoders[k](v) if k in self.decoders else v for k, v in self.storage.items()}

    @property
    def nbytes(self) -> int:
        """Bytes the dataset's tensors hold in memory (uint8 images count one byte a value)."""
        return sum(v.element_size() * v.nelement() for v in self.storage.values())

    @property
    def has_conditioning(self) -> bool:
        """Whether rows are pairs: a ``"conditioning_pixel_values"`` input besides the target image."""
        return "conditioning_pixel_values" in self.storage

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
        return len(self.storage[self.primary_key])

    def __getitem__(self, idx: int) -> dict:
        """Return example ``idx`` as a dict of tensors (and ``"text"`` when available: the first
        caption of a row with several)."""
        if isinstance(idx, torch.Tensor):
            idx = int(idx)
        idx = int(idx)
        n = len(self)
        if not -n <= idx < n:
            raise IndexError(f"index {idx} out of range for dataset of length {n}")
        batch = self.get_batch(torch.tensor([idx % n]))
        return {k: v[0] for k, v in batch.items()}

    def get_batch(self, indices: torch.Tensor, generator: torch.Generator | None = None) -> dict:
        """Gather a batch: dict of stacked tensors, images decoded to float (``"text"``: a list of str).

        Equivalent to stacking ``self[i]`` for ``i in indices`` but much faster. Where rows hold
        several captions, one per row is drawn with ``generator`` (the training loop's, so that a
        resumed run draws the same ones); without a generator the first caption is taken. Nothing is
        drawn from ``generator`` when every row has at most one caption.
        """
        idx = torch.as_tensor(
            np.asarray(indices) if not isinstance(indices, torch.Tensor) else indices,
            dtype=torch.long,
        ).reshape(-1)
        batch = {}
        for k, v in self.storage.items():
            rows = v.index_select(0, idx.to(v.device))
            batch[k] = self.decoders[k](rows) if k in self.decoders else rows
        if self.texts is not None:
            rows = idx.tolist()
            if self.captions_per_row > 1:
                batch["text"] = self._pick_captions(rows, generator)
            else:
                batch["text"] = [self.texts[i] for i in rows]
        return batch

    def _pick_captions(self, rows: list[int], generator: torch.Generator | None) -> list[str]:
        """One caption per row, uniformly among the row's captions (one draw per row, always)."""
        captions = [self.texts[i] for i in rows]
        if generator is None:
            return [c[0] if c else "" for c in captions]
        # One uniform draw per row whatever its caption count, so the stream advances the same way
        # for every batch; floor(u * count) picks uniformly among the row's captions.
        u = torch.rand(len(rows), generator=generator, device=generator.device, dtype=torch.float64).cpu().tolist()
        return [c[min(int(x * len(c)), len(c) - 1)] if c else "" for x, c in zip(u, captions)]

    def to(self, device: torch.device | str) -> GenDataset:
        """Move all tensors to ``device`` in place (e.g. onto the GPU) and return ``self``."""
        self.storage = {k: v.to(device) for k, v in self.storage.items()}
        return self

    def _shape(self, key: str) -> tuple[int, ...]:
        """Decoded shape of one row of ``key`` (decodes a single row, not the dataset)."""
        v = self.storage[key]
        return tuple((self.decoders[key](v[:1]) if key in self.decoders else v[:1]).shape[1:])

    def describe(self, max_names: int = 20, name: str | None = None) -> str:
        """One human-readable line on what was found: examples, size, channels, classes, captions.

        Printed once when training starts, so that a user sees at once whether their folder was read
        as they meant (e.g. class subfolders found, captions picked up). ``name`` replaces the dataset's
        name in the text (e.g. a folder's base name where a local path must not be recorded).
        """
        shape = self._shape(self.primary_key)
        parts = [f"{len(self):,} examples"]
        if self.kind == "image":
            channels = {1: "grey-scale", 3: "RGB"}.get(self.num_channels, f"{self.num_channels} channels")
            what = "pairs of images" if self.has_conditioning else "images"
            parts.append(f"{what} of {shape[-2]}x{shape[-1]} pixels, {self.num_channels} channel"
                         f"{'s' if self.num_channels != 1 else ''} ({channels})")
        else:
            parts.append(f"{shape[0]}-D points")
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
            several = f" (up to {self.captions_per_row} each)" if self.captions_per_row > 1 else ""
            parts.append(f"captions on {with_text:,} of {len(self):,} examples{several}")
        else:
            parts.append("no captions")
        return f"Data {name or self.name!r}: " + "; ".join(parts) + "."

    def __repr__(self) -> str:
        shape = (len(self), *self._shape(self.primary_key))
        extra = f", num_classes={self.num_classes}" if self.num_classes else ""
        extra += ", text=True" if self.texts is not None else ""
        return f"GenDataset(name={self.name!r}, kind={self.kind!r}, {self.primary_key}={shape}{extra})"


class UnpairedDataset:
    """Unpaired data: one :class:`GenDataset` per domain (``domain_a``, ``domain_b``), drawn apart.

    Nothing ties row i of one domain to row i of the other: the training loop draws each domain with
    its own deterministic stream (:class:`~hfgen.data.batching.MultiDomainBatcher`), and a batch is
    ``{"domain_a": {...}, "domain_b": {...}}``, each an ordinary :meth:`GenDataset.get_batch` dict.
    ``len()`` is the larger domain's size (an epoch of the reference CycleGAN code).
    """

    kind = "image"

    def __init__(self, domains: dict[str, GenDataset], name: str | None = None) -> None:
        if len(domains) < 2:
            raise InvalidArgumentError(f"Unpaired data needs two domains, got {list(domains)}.")
        for key, data in domains.items():
            if len(data) == 0:
                raise InvalidArgumentError(f"Domain {key!r} ({data.name}) is empty. Fix: put images in it.")
        self.domains: dict[str, GenDataset] = dict(domains)
        self.name = name or " + ".join(str(d.name) for d in self.domains.values())

    def __getitem__(self, domain: str) -> GenDataset:
        """The dataset of ``domain`` (e.g. ``"domain_a"``)."""
        return self.domains[domain]

    def __len__(self) -> int:
        return max(len(d) for d in self.domains.values())

    @property
    def nbytes(self) -> int:
        """Bytes held in memory by every domain."""
        return sum(d.nbytes for d in self.domains.values())

    def get_batch(self, indices: dict[str, torch.Tensor], generator: torch.Generator | None = None) -> dict:
        """``{domain: batch}`` for ``{domain: indices}`` (domains drawn in a fixed order)."""
        return {k: self.domains[k].get_batch(indices[k], generator) for k in self.domains}

    def to(self, device: torch.device | str) -> UnpairedDataset:
        """Moves every domain's tensors to ``device``; returns ``self``."""
        for data in self.domains.values():
            data.to(device)
        return self

    def describe(self, max_names: int = 20, name: str | None = None) -> str:
        """One line per domain (see :meth:`GenDataset.describe`)."""
        return "\n".join(f"{key}: {d.describe(max_names)}" for key, d in self.domains.items())

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.domains.items())
        return f"UnpairedDataset({inner})"
