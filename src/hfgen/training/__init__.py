"""Training: one Accelerate loop (`Trainer`) and the tasks that plug into it."""

from .args import ConfigurationError, TrainingArguments, parse_args
from .gan import PRESETS, GANArguments, GANTask
from .lock import OutputDirLockedError
from .loop import EpochBatcher, Trainer, TrainingDivergedError
from .state import CorruptCheckpointError, StorageError
from .task import Phase, StepContext, Task

TASKS = {"gan": (GANArguments, GANTask)}


def build_task(name: str, training_args: TrainingArguments, task_args):
    """Instantiates the task `name` from its parsed arguments."""
    if name == "gan":
        return GANTask(task_args, learning_rate=training_args.learning_rate, batch_size=training_args.train_batch_size)
    raise ConfigurationError(f"Unknown task {name!r}; choose one of {sorted(TASKS)}.")


def main(task: str = "gan", argv=None) -> dict:
    """Entry point of `scripts/train_<task>.py` and `hfgen train <task>`: parse, validate, train."""
    if task not in TASKS:
        raise SystemExit(f"Unknown task {task!r}; choose one of {sorted(TASKS)}.")
    training_args, task_args = parse_args((TrainingArguments, TASKS[task][0]), argv)
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
    "build_task",
    "main",
    "parse_args",
]
