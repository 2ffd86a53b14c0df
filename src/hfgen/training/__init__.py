"""Training: one Accelerate loop (`Trainer`) and the tasks that plug into it."""

from __future__ import annotations

from dataclasses import dataclass

from .args import ConfigurationError, TrainingArguments, parse_args
from .clip import CLIPArguments, CLIPTask
from .ddpm import DDPMArguments, DDPMTask
from .gan import PRESETS, GANArguments, GANTask
from .text_gan import TextGANArguments, TextGANTask
from .pix2pix import Pix2PixArguments, Pix2PixTask
from .cyclegan import CycleGANArguments, CycleGANTask
from .text_ddpm import TextDDPMArguments, TextDDPMTask
from .lock import OutputDirLockedError
from .loop import EpochBatcher, Trainer, TrainingDivergedError
from .state import CorruptCheckpointError, StorageError
from .task import Phase, StepContext, Task


@dataclass(frozen=True)
class TaskSpec:
    """A registered task: its class (with `from_arguments`) and the dataclass of its own flags."""

    task_class: type
    arguments_class: type
    description: str = ""


# The registry behind `hfgen train TASK` and `scripts/train_TASK.py` (one thin script per entry).
TASKS: dict[str, TaskSpec] = {
    "gan": TaskSpec(GANTask, GANArguments, "GAN, WGAN (clip / GP), f-GAN, hinge + SN, LSGAN, class-conditional"),
    "clip": TaskSpec(CLIPTask, CLIPArguments, "a small CLIPModel trained contrastively on image-caption pairs (text encoder + metrics)"),
    "ddpm": TaskSpec(DDPMTask, DDPMArguments, "denoising diffusion (DDPM): UNet2DModel + DDPMScheduler; stock DDPMPipeline export"),
    "text-gan": TaskSpec(TextGANTask, TextGANArguments, "text-to-image GAN-INT-CLS (DCGAN G and projection D on a frozen text encoder)"),
    "pix2pix": TaskSpec(Pix2PixTask, Pix2PixArguments, "paired image-to-image translation (U-Net G, PatchGAN D, L1 + cGAN)"),
    "cyclegan": TaskSpec(CycleGANTask, CycleGANArguments, "CycleGAN: unpaired image-to-image translation both ways (ResNet G/F, PatchGAN D_X/D_Y)"),
    "text-ddpm": TaskSpec(TextDDPMTask, TextDDPMArguments, "text-to-image pixel DDPM: UNet2DConditionModel + CLIP text encoder, classifier-free guidance"),
}


def _unknown(name: str) -> str:
    return f"Unknown task {name!r}; registered tasks: {', '.join(sorted(TASKS))} (hfgen train TASK, scripts/train_TASK.py)."


def build_task(name: str, training_args: TrainingArguments, task_args) -> Task:
    """Instantiates the registered task `name` from its parsed arguments."""
    if name not in TASKS:
        raise ConfigurationError(_unknown(name))
    return TASKS[name].task_class.from_arguments(training_args, task_args)


def main(task: str = "gan", argv=None, prog: str | None = None) -> dict:
    """Entry point of `scripts/train_<task>.py` and `hfgen train <task>`: parse, validate, train.

    `prog` names the command in `--help` and usage errors (default: the script's name).
    """
    if task not in TASKS:
        raise SystemExit(_unknown(task))
    training_args, task_args = parse_args((TrainingArguments, TASKS[task].arguments_class), argv, prog=prog)
    from hfgen.data import DataError
    from hfgen.hub import PushError

    try:
        training_args.validate()
        return Trainer(build_task(task, training_args, task_args), training_args).train()
    except (ConfigurationError, DataError, PushError, StorageError, TrainingDivergedError) as error:  # a message, not a traceback
        raise SystemExit(f"error: {error}") from None


__all__ = [
    "TrainingArguments",
    "GANArguments",
    "GANTask",
    "DDPMArguments",
    "DDPMTask",
    "PRESETS",
    "Trainer",
    "TrainingDivergedError",
    "ConfigurationError",
    "CorruptCheckpointError",
    "OutputDirLockedError",
    "StorageError",
    "EpochBatcher",
    "Phase",
    "StepContext",
    "Task",
    "TASKS",
    "TaskSpec",
    "build_task",
    "main",
    "parse_args",
]
