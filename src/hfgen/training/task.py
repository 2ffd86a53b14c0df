"""The contract between the one training loop and a model family ("task").

A task builds its models, optimizers and pipeline and computes losses. The loop owns everything
that touches the `Accelerator`: preparing, backward, optimizer/scheduler steps, gradient
accumulation, mixed precision, `requires_grad` toggling, EMA, checkpoints, logging.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, ClassVar, Optional

import torch
from torch import nn


@dataclass
class StepContext:
    """What a phase's step function receives besides the batch.

    `models` holds the phase's trainable models as prepared by accelerate (DDP-wrapped when
    distributed) and the other models unwrapped, so that only the trained model synchronises.
    """

    models: dict[str, nn.Module]
    generator: torch.Generator
    device: torch.device
    step: int


@dataclass
class Phase:
    """One alternating update: `repeats` optimizer steps of the models in `trainable`.

    `step(batch, ctx)` returns a dict of scalar tensors holding at least "loss" (what is
    minimised); the other entries are logged. `after_step` runs after each optimizer step (e.g.
    WGAN weight clipping). With `new_batch=False` the phase reuses the last batch drawn.
    """

    name: str
    optimizer: str
    trainable: tuple[str, ...]
    step: Callable[[dict, StepContext], dict[str, torch.Tensor]]
    repeats: int = 1
    new_batch: bool = True
    after_step: Optional[Callable[[], None]] = None


@dataclass
class Task:
    """Base class of the families' tasks. Subclasses fill the hooks below."""

    name: str = "task"
    models: dict[str, nn.Module] = field(default_factory=dict)

    def setup(self, dataset) -> None:
        """Builds `self.models` for `dataset` (called after seeding)."""
        raise NotImplementedError

    def create_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Optimizers by name (over `self.models`' parameters)."""
        raise NotImplementedError

    def phases(self) -> list[Phase]:
        """The alternating updates of one training step, in order."""
        raise NotImplementedError

    # Name of the model to average with EMA and to export. A ClassVar, not a dataclass field: a
    # field would be reset to None by Task.__init__ and hide the subclass's value.
    ema_model: ClassVar[Optional[str]] = None

    def build_pipeline(self, models: dict[str, nn.Module]):
        """A diffusers pipeline over (unwrapped) `models` for sampling and export."""
        raise NotImplementedError

    def training_components(self, models: dict[str, nn.Module]) -> dict[str, nn.Module]:
        """Models exported beside the pipeline (e.g. the discriminator) so training can resume."""
        return {}

    def save_samples(self, pipeline, path: str, num_samples: int, seed: int) -> str:
        """Writes a PNG of samples from `pipeline`; returns its path."""
        raise NotImplementedError

    def load_exported(self, folder: str) -> None:
        """Loads `self.models`' weights from a folder written by `build_pipeline(...).save_pretrained`."""
        raise NotImplementedError(f"Task {self.name!r} cannot start from an exported folder.")

    def augment(self, batch: dict, generator: torch.Generator) -> dict:
        """Randomly transforms a training batch (already on the device); the default changes nothing.

        Draw only from `generator` (the loop's checkpointed one) so that a resumed run sees the same
        crops and flips: e.g. `return hfgen.data.Augmentation(random_flip=True)(batch, generator)`.
        """
        return batch

    def state_dict(self) -> dict:
        """Extra task state to checkpoint (e.g. an image pool)."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restores `state_dict()`'s output."""

    def describe(self) -> dict:
        """Plain-JSON summary of the task's settings (for logs and model cards)."""
        return {"task": self.name}
