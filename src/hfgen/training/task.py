"""The contract between the one training loop and a model family ("task").

A task builds its models, optimizers and pipeline and computes losses. The loop owns everything
that touches the `Accelerator`: preparing, backward, optimizer/scheduler steps, gradient
accumulation, gradient clipping, mixed precision, `requires_grad` toggling, EMA, checkpoints,
logging.
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
    distributed), the other trained models unwrapped (so that only the trained model
    synchronises) and the task's frozen models (on the device, in eval mode). `generator` is the
    loop's per-process noise stream (checkpointed). `step` is the 0-based training step.
    `carry` is a dict shared by all phases of ONE training step and emptied before the next: a
    phase hands tensors on through it (e.g. CycleGAN's fakes from the generator phase to the
    discriminator phases).
    """

    models: dict[str, nn.Module]
    generator: torch.Generator
    device: torch.device
    step: int = 0
    carry: dict = field(default_factory=dict)


@dataclass
class Phase:
    """One alternating update: `repeats` optimizer steps of the models in `trainable`.

    `step(batch, ctx)` returns a dict of scalar tensors holding at least "loss" (what is
    minimised); every entry is logged as "<name>/<key>", averaged over the phase's repeats and
    micro-batches. `after_step` runs after each optimizer step (e.g. WGAN weight clipping). With
    `new_batch=False` the phase reuses the last batch drawn. `max_grad_norm` clips the gradient
    norm of the trainable models' parameters before each optimizer step (None: no clipping, or
    `--max_grad_norm` when given).
    """

    name: str
    optimizer: str
    trainable: tuple[str, ...]
    step: Callable[[dict, StepContext], dict[str, torch.Tensor]]
    repeats: int = 1
    new_batch: bool = True
    after_step: Optional[Callable[[], None]] = None
    max_grad_norm: Optional[float] = None


@dataclass
class Task:
    """Base class of the families' tasks. Subclasses fill the hooks below.

    Class attributes (an instance may also set them in `setup`), ClassVars rather than dataclass
    fields so that `Task.__init__` does not reset a subclass's value:

    - `ema_models`: names of the models averaged with EMA (one EMA each, with `--use_ema`); the
      averages replace the raw models in the export, samples and evaluations.
    - `frozen_models`: names of models in `self.models` that are used but never trained (e.g. a
      pretrained text encoder): moved to the device in eval mode with `requires_grad=False`, not
      prepared for DDP, not checkpointed, given to phases and to `build_pipeline`.
    """

    name: str = "task"
    models: dict[str, nn.Module] = field(default_factory=dict)

    ema_models: ClassVar[tuple[str, ...]] = ()
    frozen_models: ClassVar[tuple[str, ...]] = ()
    # The loop's TrainingArguments with the task's defaults resolved: set by the loop before setup().
    training_args: ClassVar[Optional[object]] = None

    @classmethod
    def from_arguments(cls, training_args, task_args) -> "Task":
        """Builds the task from the parsed `TrainingArguments` and the task's own argument dataclass."""
        raise NotImplementedError(f"{cls.__name__} does not implement from_arguments(training_args, task_args).")

    def loop_defaults(self, dataset, args) -> dict:
        """Loop settings this task suggests for `dataset`, used where the user left them unset.

        `args` are the user's TrainingArguments before resolution (unset settings are None), for suggestions that
        depend on the run (e.g. a decay over the last half of --max_train_steps) or on what the user did choose.

        Keys among those of `LOOP_DEFAULTS` (`train_batch_size`, `lr_scheduler`, `lr_warmup_steps`, `use_ema`,
        `ema_decay`, `lr_decay_steps`, `max_grad_norm`: the fields of TrainingArguments that default to None); the
        loop's own defaults fill the rest.
        """
        return {}

    def load_dataset(self, args):
        """The training data for `args` (TrainingArguments): `--dataset` and its column/size flags.

        The default reads one dataset of rows (images, points; labels, captions, condition images)
        with `hfgen.data.load_train_dataset`; a family trained on unpaired domains returns
        `hfgen.data.load_unpaired_datasets(...)` instead (the loop then draws one stream per domain).
        """
        from hfgen.data import load_train_dataset

        return load_train_dataset(
            args.dataset,
            image_size=args.resolution,
            num_channels=args.num_channels,
            split=args.dataset_split,
            image_column=args.image_column,
            conditioning_image_column=args.conditioning_image_column,
            label_column=args.label_column,
            text_column=args.caption_column,
            num_samples=args.max_train_samples,
            seed=args.seed,
        )

    def setup(self, dataset) -> None:
        """Builds `self.models` for `dataset` (called after seeding)."""
        raise NotImplementedError

    def create_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Optimizers by name (over the trained models' parameters)."""
        raise NotImplementedError

    def phases(self) -> list[Phase]:
        """The alternating updates of one training step, in order."""
        raise NotImplementedError

    def build_pipeline(self, models: dict[str, nn.Module]):
        """A diffusers pipeline over (unwrapped) `models` for sampling and export."""
        raise NotImplementedError

    def export(self, models: dict[str, nn.Module], folder: str) -> str:
        """Writes the trained `models` to `folder`: the loop's final export and `best/`.

        The default is the family's pipeline plus its training components through
        `hfgen.hub.export_folder` (the loop then renders the model card from `model_index.json`);
        a family whose result is not a diffusers pipeline (e.g. a CLIP model: a transformers folder)
        writes its own folder, and card, here. Returns `folder`.
        """
        from hfgen.hub import export_folder

        return export_folder(self.build_pipeline(models), folder, training_components=self.training_components(models))

    def output_samples(self, pipeline, generator: torch.Generator):
        """Outputs of the trained `pipeline` (numpy, images NHWC in [0, 1]) that the loop checks for NaN and saturation
        before the export. The default draws 256 samples from noise; a family with other inputs (an image to
        translate, prompts) or a slow default call (1000 denoising steps) returns its own outputs. A TypeError or
        ValueError skips the check with a warning."""
        return pipeline(batch_size=256, generator=generator, output_type="np").images

    def training_components(self, models: dict[str, nn.Module]) -> dict[str, nn.Module]:
        """Models exported beside the pipeline (e.g. the discriminator) so training can resume."""
        return {}

    def save_samples(self, pipeline, path: str, num_samples: int, seed: int) -> str:
        """Writes a PNG of samples from `pipeline`; returns its path."""
        raise NotImplementedError

    # Task model name -> component subfolder of an exported folder, where they differ (GAN: the
    # task's "generator" is the pipeline's `gan_generator`, since `generator` is a torch.Generator).
    component_names: ClassVar[dict[str, str]] = {}

    def build_evaluator(self, dataset, metrics: str, num_samples: int, seed: int):
        """The evaluator of periodic and final evaluations: a callable `evaluator(pipeline) -> dict`
        with `"metrics"`, and `floors()` for the collapse monitor.

        The default is hfgen's noise-to-sample `Evaluator` over `dataset`; a family with other
        inputs (prompts, condition images) returns its own.
        """
        from hfgen.evaluation import Evaluator

        return Evaluator(dataset, metrics=metrics, num_samples=num_samples, seed=seed)

    def load_exported(self, folder: str) -> None:
        """Loads `self.models`' weights from an exported folder (`hfgen.hub.export_folder`): `--init_from`.

        Each model reads the safetensors of its component subfolder (`component_names`, else its own
        name), after checking that the saved config matches the one this run built (a mismatch names
        the settings); pickle weights are refused.
        """
        import json
        import os

        from hfgen.pipelines.hfgen_pipeline_utils import refuse_pickle_weights

        from .args import ConfigurationError

        for name, model in self.models.items():
            sub = self.component_names.get(name, name)
            path = os.path.join(folder, sub)
            weights = [f for f in sorted(os.listdir(path)) if f.endswith(".safetensors")] if os.path.isdir(path) else []
            if len(weights) != 1 or not os.path.isfile(os.path.join(path, "config.json")):
                try:
                    if os.path.isdir(path):
                        refuse_pickle_weights(path, sub)
                except ValueError as error:
                    raise ConfigurationError(f"init_from={folder!r}: {error}") from None
                raise ConfigurationError(
                    f"init_from={folder!r} has no {sub}/model.safetensors (or diffusion_pytorch_model.safetensors) with its "
                    "config.json (an exported hfgen folder "
                    f"has one subfolder per model: {', '.join(self.component_names.get(n, n) for n in self.models)})."
                )
            with open(os.path.join(path, "config.json"), encoding="utf-8") as f:
                saved = json.load(f)
            config = model.config
            ours = json.loads(json.dumps(config.to_dict() if hasattr(config, "to_dict") else dict(config), default=str))
            # Bookkeeping and class names do not shape the weights: a folder saved before class
            # names were recorded still starts training.
            ignored = ("auto_map", "architectures", "transformers_version", "dtype", "torch_dtype", "id2label", "label2id")
            mismatched = [f"{k} (saved {v!r}, this run {ours[k]!r})" for k, v in saved.items()
                          if k in ours and k not in ignored and not k.startswith("_") and ours[k] != v]
            if mismatched:
                raise ConfigurationError(
                    f"init_from={folder!r}: {sub} was saved with different settings: {'; '.join(mismatched)}; "
                    "pass matching flags."
                )
            from safetensors.torch import load_file

            model.load_state_dict(load_file(os.path.join(path, weights[0])))

    def augment(self, batch: dict, generator: torch.Generator) -> dict:
        """Randomly transforms a training batch (already on the device); the default changes nothing.

        Draw only from `generator` (the loop's checkpointed one) so that a resumed run sees the same
        crops and flips: e.g. `return hfgen.data.Augmentation(random_flip=True)(batch, generator)`.
        """
        return batch

    def state_dict(self) -> dict:
        """Extra state of THIS process to checkpoint (e.g. its image pool); one is kept per process."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restores `state_dict()`'s output (this process's own)."""

    def describe(self) -> dict:
        """Plain-JSON summary of the task's settings (for logs and model cards)."""
        return {"task": self.name}


def require_captioned_images(dataset, command: str) -> None:
    """Raises ConfigurationError unless `dataset` holds images with captions (text-conditioned tasks)."""
    from .args import ConfigurationError

    if dataset.kind != "image" or not dataset.has_text:
        missing = "no images" if dataset.kind != "image" else "no captions"
        raise ConfigurationError(
            f"{command} needs images with captions; {dataset.describe()} has {missing}: pass a captioned image dataset "
            "(--dataset shapes, --caption_column, or an imagefolder with metadata.jsonl holding file_name and text)."
        )
    empty = [i for i, t in enumerate(dataset.texts)
             if not (any(isinstance(c, str) and c.strip() for c in t) if isinstance(t, (list, tuple)) else isinstance(t, str) and t.strip())]
    if empty:
        shown = ", ".join(str(i) for i in empty[:5]) + (", ..." if len(empty) > 5 else "")
        raise ConfigurationError(
            f"{command}: {len(empty)} of {len(dataset)} rows of {dataset.name!r} have no caption (rows {shown}, in the data's "
            "order): give every row a non-empty `text` (in metadata.jsonl, or the --caption_column), or remove those rows."
        )
