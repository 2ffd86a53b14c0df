"""Training settings as typed dataclasses, parsed by `transformers.HfArgumentParser`.

Names follow diffusers' example scripts where they exist (`--output_dir`, `--max_train_steps`,
`--train_batch_size`, `--learning_rate`, `--resume_from_checkpoint`, ...). Model hyperparameters
live in the models' `PretrainedConfig`s; these classes hold only how to train.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from dataclasses import dataclass, field
from typing import Optional


# The Pix2Pix/CycleGAN schedule: constant, then linear decay to 0 (not one of diffusers' schedules).
CONSTANT_THEN_LINEAR = "constant_then_linear"


class ConfigurationError(ValueError):
    """An invalid training setting; the message names the setting and the fix."""


@dataclass
class TrainingArguments:
    """Settings of the one training loop, shared by every task."""

    dataset: str = field(
        default="digits",
        metadata={"help": "Hub dataset name, local image folder, save_to_disk folder, points (.npy/.csv), or embedded name: "
                          "ring8, grid25, digits, mnist5k."},
    )
    output_dir: str = field(default="outputs/gan", metadata={"help": "Where the exported pipeline, checkpoints/, samples/ and logs/ go."})
    max_train_steps: int = field(default=2000, metadata={"help": "Number of generator updates (each after n_critic critic updates)."})
    # The settings that default to None (the keys of LOOP_DEFAULTS) mean "the task's suggestion for the
    # data, else the loop's default". The resolved values are what logs/training_args.json records.
    train_batch_size: Optional[int] = field(
        default=None, metadata={"help": "Batch size per process (default: the task's for the data, else 64)."}
    )
    gradient_accumulation_steps: int = field(default=1, metadata={"help": "Micro-batches accumulated before each optimizer step."})
    learning_rate: Optional[float] = field(default=None, metadata={"help": "Generator learning rate (default: the preset's)."})
    lr_scheduler: Optional[str] = field(
        default=None,
        metadata={"help": "diffusers scheduler name (constant, linear, cosine, ...) or constant_then_linear (constant, then "
                          "linear decay to 0 over the last --lr_decay_steps steps: the Pix2Pix/CycleGAN schedule). "
                          "Steps of every schedule are training steps; constant with --lr_warmup_steps > 0 is "
                          "constant_with_warmup. Default: the task's for the data, else constant."},
    )
    lr_warmup_steps: Optional[int] = field(
        default=None, metadata={"help": "Warm-up steps of the LR scheduler (training steps; default: the task's, e.g. 100 for ddpm, else 0)."}
    )
    lr_decay_steps: Optional[int] = field(
        default=None, metadata={"help": "With --lr_scheduler constant_then_linear: the last N training steps decay the LR linearly to 0."}
    )
    max_grad_norm: Optional[float] = field(
        default=None, metadata={"help": "Clip each optimizer step's gradient norm to this value (default: the task's, e.g. 1.0 for "
                                        "ddpm and text-ddpm, else no clipping)."}
    )
    seed: int = field(default=0, metadata={"help": "Seed of models, noise, data order."})
    mixed_precision: str = field(default="no", metadata={"help": "no, bf16 or fp16 (fp16 is a no-op on CPU: a warning says so)."})
    resolution: Optional[int] = field(default=None, metadata={"help": "Image side to resize to (default: the data's own)."})
    num_channels: Optional[int] = field(default=None, metadata={"help": "1 or 3 (default: the data's own)."})
    image_column: Optional[str] = field(default=None, metadata={"help": "Image column of a Hub/folder dataset."})
    label_column: Optional[str] = field(default=None, metadata={"help": "Label column (for class-conditional training)."})
    caption_column: Optional[str] = field(default=None, metadata={"help": "Text column."})
    conditioning_image_column: Optional[str] = field(
        default=None,
        metadata={"help": "Input-image column of paired data (a Hub/save_to_disk dataset with two image columns; "
                          "--image_column names the target), as in diffusers' ControlNet examples."},
    )
    dataset_split: str = field(default="train", metadata={"help": "Split of a Hub dataset."})
    max_train_samples: Optional[int] = field(default=None, metadata={"help": "Use a random subset of this size."})
    checkpointing_steps: int = field(default=500, metadata={"help": "Save a checkpoint every N steps (0: never)."})
    checkpoints_total_limit: Optional[int] = field(default=None, metadata={"help": "Keep at most N checkpoints."})
    resume_from_checkpoint: Optional[str] = field(default=None, metadata={"help": "'latest' or a checkpoint folder."})
    init_from: Optional[str] = field(
        default=None, metadata={"help": "An exported folder (pipeline + discriminator/) whose weights start training at step 0."}
    )
    sample_steps: int = field(default=250, metadata={"help": "Write a sample grid every N steps (0: only at the end)."})
    num_sample_images: int = field(default=64, metadata={"help": "Images in each sample grid (points for 2-D data: 2500)."})
    logging_steps: int = field(default=10, metadata={"help": "Log losses every N steps."})
    disable_tqdm: bool = field(default=False, metadata={"help": "Hide the progress bar (logs and trackers are unaffected)."})
    report_to: str = field(default="auto", metadata={"help": "Accelerate tracker: tensorboard, none, or auto (tensorboard when installed)."})
    use_ema: Optional[bool] = field(
        default=None,
        # nargs/const: a bare --use_ema still means true (HfArgumentParser adds them only for a non-None default).
        metadata={"help": "Keep an exponential moving average of the task's EMA models (G) and export it (default: the task's "
                          "for the data, else no).", "nargs": "?", "const": True},
    )
    ema_decay: Optional[float] = field(default=None, metadata={"help": "EMA decay (default: the task's for the data, else 0.999)."})
    num_threads: Optional[int] = field(default=None, metadata={"help": "torch threads per process (default: torch's choice)."})
    export: bool = field(
        default=True,
        # One text serves --export and the --no_export that HfArgumentParser adds for a True bool: it must read right for both.
        metadata={"help": "Whether to export the pipeline to output_dir at the end (default: yes). --no_export (or --export false) skips the export."},
    )
    eval_steps: int = field(default=0, metadata={"help": "Evaluate every N steps (logged; keeps best/; collapse alarm). 0: never."})
    eval_samples: int = field(default=1000, metadata={"help": "Generated samples per periodic evaluation."})
    eval_metrics: str = field(default="auto", metadata={"help": "Comma-separated metrics (fid,kid,is,pr,coverage,classes,modes) or auto."})
    stop_on_collapse: bool = field(default=False, metadata={"help": "Stop training when the collapse alarm fires."})
    final_eval_samples: int = field(
        default=2000, metadata={"help": "Samples of the evaluation that ends training and fills the model card (0 skips it)."}
    )
    push_to_hub: bool = field(default=False, metadata={"help": "Push the exported folder (with its card) to the Hub at the end."})
    hub_model_id: Optional[str] = field(default=None, metadata={"help": "Repository id for --push_to_hub (token: HF_TOKEN or login)."})
    hub_private: bool = field(default=False, metadata={"help": "Create the Hub repository as private."})

    def validate(self) -> None:
        """Raises ConfigurationError for settings that cannot work, before any training."""
        checks = [
            (self.max_train_steps >= 1, "max_train_steps must be >= 1"),
            (self.train_batch_size is None or self.train_batch_size >= 1, "train_batch_size must be >= 1"),
            (self.gradient_accumulation_steps >= 1, "gradient_accumulation_steps must be >= 1"),
            (self.learning_rate is None or self.learning_rate > 0, f"learning_rate must be > 0, got {self.learning_rate}"),
            (self.lr_warmup_steps is None or self.lr_warmup_steps >= 0, "lr_warmup_steps must be >= 0"),
            (self.max_grad_norm is None or self.max_grad_norm > 0, f"max_grad_norm must be > 0, got {self.max_grad_norm}"),
            (self.checkpointing_steps >= 0, "checkpointing_steps must be >= 0 (0 disables checkpoints)"),
            (self.checkpoints_total_limit is None or self.checkpoints_total_limit >= 1, "checkpoints_total_limit must be >= 1"),
            (self.sample_steps >= 0, "sample_steps must be >= 0"),
            (self.logging_steps >= 1, "logging_steps must be >= 1"),
            (self.ema_decay is None or 0.0 < self.ema_decay < 1.0, "ema_decay must lie in (0, 1)"),
            (self.mixed_precision in ("no", "bf16", "fp16"), f"mixed_precision must be no, bf16 or fp16, got {self.mixed_precision!r}"),
            (self.num_channels in (None, 1, 3), "num_channels must be 1 or 3"),
            (self.num_threads is None or self.num_threads >= 1, "num_threads must be >= 1"),
            (self.report_to in ("auto", "none", "tensorboard", "all"), "report_to must be auto, none, tensorboard or all"),
            (self.eval_steps >= 0, "eval_steps must be >= 0 (0 disables periodic evaluation)"),
            (self.eval_samples >= 4 or self.eval_steps == 0, "eval_samples must be >= 4"),
            (self.final_eval_samples == 0 or self.final_eval_samples >= 4, "final_eval_samples must be 0 (skip) or >= 4"),
            (not self.push_to_hub or bool(self.hub_model_id), "push_to_hub needs --hub_model_id (e.g. your-name/wgan-gp-mnist)"),
            (not self.push_to_hub or self.export, "push_to_hub needs the export (do not pass --export false)"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigurationError(message + ".")
        if os.path.exists(self.output_dir) and not os.path.isdir(self.output_dir):
            raise ConfigurationError(
                f"--output_dir {self.output_dir} is an existing file, not a folder: pass a folder path (it is created if missing)."
            )
        from diffusers.optimization import SchedulerType

        names = [s.value for s in SchedulerType] + [CONSTANT_THEN_LINEAR]
        if self.lr_scheduler is None:  # the task's default, checked again once resolved (with_defaults)
            return
        if self.lr_scheduler not in names:
            raise ConfigurationError(f"--lr_scheduler {self.lr_scheduler!r} is unknown; choose one of {names}.")
        if self.lr_scheduler == CONSTANT_THEN_LINEAR:
            if self.lr_decay_steps is None:
                raise ConfigurationError(
                    f"--lr_scheduler {CONSTANT_THEN_LINEAR} needs --lr_decay_steps N (the last N of the --max_train_steps "
                    "decay linearly to 0; e.g. half of them, as Pix2Pix and CycleGAN do)."
                )
            if not 1 <= self.lr_decay_steps <= self.max_train_steps:
                raise ConfigurationError(
                    f"--lr_decay_steps must lie in [1, --max_train_steps={self.max_train_steps}], got {self.lr_decay_steps}."
                )
            if (self.lr_warmup_steps or 0) + self.lr_decay_steps > self.max_train_steps:
                raise ConfigurationError(
                    f"--lr_warmup_steps {self.lr_warmup_steps} + --lr_decay_steps {self.lr_decay_steps} exceed --max_train_steps "
                    f"{self.max_train_steps}: lower one of them."
                )
        elif self.lr_decay_steps is not None:
            raise ConfigurationError(
                f"--lr_decay_steps applies only to --lr_scheduler {CONSTANT_THEN_LINEAR} (got --lr_scheduler {self.lr_scheduler}): "
                "drop it or pass --lr_scheduler constant_then_linear."
            )


    def with_defaults(self, suggested: dict) -> "TrainingArguments":
        """These settings with every unset (None) entry of LOOP_DEFAULTS filled: the task's suggestion
        (`Task.loop_defaults`) where it has one, else the loop's default; validated."""
        unknown = sorted(set(suggested) - set(LOOP_DEFAULTS))
        if unknown:
            raise ValueError(f"A task may suggest only {sorted(LOOP_DEFAULTS)}, not {unknown}.")
        fills = {k: suggested.get(k, default) for k, default in LOOP_DEFAULTS.items() if getattr(self, k) is None}
        resolved = dataclasses.replace(self, **fills)
        if resolved.lr_scheduler == "constant" and resolved.lr_warmup_steps:
            # diffusers' "constant" ignores num_warmup_steps; a warm-up asked for (or suggested) must not vanish silently.
            resolved.lr_scheduler = "constant_with_warmup"
        resolved.validate()
        return resolved


# What the loop uses for a setting left unset when the task suggests nothing for it.
# A task that suggests constant_then_linear must suggest its decay length (lr_decay_steps) too.
LOOP_DEFAULTS = {"train_batch_size": 64, "lr_scheduler": "constant", "lr_warmup_steps": 0, "use_ema": False, "ema_decay": 0.999,
                 "lr_decay_steps": None, "max_grad_norm": None}


def parse_args(dataclass_types, argv=None, prog: str | None = None):
    """Parses flags, or a single YAML/JSON file, into the given dataclasses (HfArgumentParser).

    `prog` is the command shown by `--help` and usage errors (argparse's default: sys.argv[0]).
    """
    from transformers import HfArgumentParser

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = HfArgumentParser(dataclass_types, prog=prog)
    if len(argv) == 1 and argv[0].endswith((".yaml", ".yml")):
        return parser.parse_yaml_file(argv[0])
    if len(argv) == 1 and argv[0].endswith(".json"):
        return parser.parse_json_file(argv[0])
    return parser.parse_args_into_dataclasses(args=argv)
