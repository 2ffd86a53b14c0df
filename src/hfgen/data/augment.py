"""Random training-time transforms of a batch: random crop and horizontal flip.

They act on a batch already on the device and draw every random number from a generator the caller
passes (the training loop's, which checkpoints hold), so that a resumed run applies the very crops
and flips the uninterrupted run would have. For paired data the input (``conditioning_pixel_values``)
and the target (``pixel_values``) of one row get the same crop and the same flip: the pair stays aligned.
Unpaired batches (``{"domain_a": {...}, "domain_b": {...}}``) are transformed per domain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch

from .dataset import IMAGE_KEYS
from .errors import InvalidArgumentError


def _images(batch: dict, keys: tuple[str, ...]) -> list[str]:
    return [k for k in keys if isinstance(batch.get(k), torch.Tensor) and batch[k].dim() == 4]


def random_flip(batch: dict, generator: torch.Generator, *, p: float = 0.5, keys: tuple[str, ...] = IMAGE_KEYS) -> dict:
    """Mirrors each row left-right with probability ``p`` (all image ``keys`` of a row alike).

    Returns a new dict; one uniform number is drawn per row, whether it flips or not.
    """
    names = _images(batch, keys)
    if not names:
        return batch
    n = batch[names[0]].shape[0]
    flip = torch.rand(n, generator=generator, device=generator.device) < p
    out = dict(batch)
    for k in names:
        x = batch[k]
        mask = flip.to(x.device).view(-1, 1, 1, 1)
        out[k] = torch.where(mask, x.flip(-1), x)
    return out


def random_crop(batch: dict, size: int, generator: torch.Generator, *, keys: tuple[str, ...] = IMAGE_KEYS) -> dict:
    """Crops a random ``size x size`` window from each row (all image ``keys`` of a row alike).

    Load the data larger than ``size`` (e.g. ``--resolution 286`` for 256 px crops, as the pix2pix
    and CycleGAN reference code does); a row already of ``size`` is left as is. Two integers are
    drawn per row.
    """
    names = _images(batch, keys)
    if not names:
        return batch
    h, w = batch[names[0]].shape[-2:]
    for k in names[1:]:
        if tuple(batch[k].shape[-2:]) != (h, w):
            raise InvalidArgumentError(
                f"random_crop needs {names} of one size; got {tuple(batch[names[0]].shape[-2:])} and "
                f"{tuple(batch[k].shape[-2:])}. Fix: load both images of a pair at one --resolution."
            )
    if size > min(h, w):
        raise InvalidArgumentError(
            f"Cannot crop {size}x{size} from images of {h}x{w}. Fix: load them at least at {size} "
            f"(--resolution) or crop smaller."
        )
    n = batch[names[0]].shape[0]
    top = torch.randint(0, h - size + 1, (n,), generator=generator, device=generator.device).tolist()
    left = torch.randint(0, w - size + 1, (n,), generator=generator, device=generator.device).tolist()
    out = dict(batch)
    for k in names:
        x = batch[k]
        out[k] = torch.stack([x[i, :, t : t + size, l : l + size] for i, (t, l) in enumerate(zip(top, left))])
    return out


@dataclass(frozen=True)
class Augmentation:
    """A task's augmentation: ``crop_size`` (random crop, None: none) then ``random_flip``.

    Call it from :meth:`hfgen.training.Task.augment`::

        def augment(self, batch, generator):
            return self.augmentation(batch, generator)

    It recurses into the domains of an unpaired batch (domains transformed independently).
    """

    random_flip: bool = False
    crop_size: Optional[int] = None
    keys: tuple[str, ...] = IMAGE_KEYS

    def __post_init__(self):
        if self.crop_size is not None and self.crop_size < 1:
            raise InvalidArgumentError(f"crop_size must be a positive integer or None, got {self.crop_size!r}.")

    @property
    def enabled(self) -> bool:
        """Whether any transform is on (when not, no random number is drawn)."""
        return self.random_flip or self.crop_size is not None

    def __call__(self, batch: dict, generator: torch.Generator) -> dict:
        """The transformed batch (a new dict; the input is not modified)."""
        if not self.enabled:
            return batch
        if not _images(batch, self.keys) and all(isinstance(v, dict) for v in batch.values()):
            return {name: self(domain, generator) for name, domain in batch.items()}
        if self.crop_size is not None:
            batch = random_crop(batch, self.crop_size, generator, keys=self.keys)
        if self.random_flip:
            batch = random_flip(batch, generator, keys=self.keys)
        return batch
