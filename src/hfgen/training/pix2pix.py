"""The pix2pix task: paired image-to-image translation (Isola et al. 2017, "Image-to-Image Translation with
Conditional Adversarial Networks").

Code names map to the paper's: x = the input image (A; the data's ``conditioning_pixel_values``), y = its
target (B; ``pixel_values``), G = the U-Net generator, D = the conditional PatchGAN discriminator, which
sees x and an output concatenated on channels and returns a grid of logits (one per patch; every loss of
the registry reduces it by the mean). The objective is

    G* = arg min_G max_D  L_cGAN(G, D) + lambda_L1 * E|y - G(x)|_1

with G's noise coming only from dropout in its decoder. ``--lambda_l1 0`` (GAN only) and
``--adversarial false`` (L1 only, no D at all) are the paper's ablations. Adam(2e-4, 0.5, 0.999); the
learning rate is constant, then decays linearly to 0 over the last half of the steps (the loop's
``constant_then_linear``), unless the flags say otherwise.

One training step = G's update, then D's on the same batch with G's outputs (detached): each G forward
is used by both phases (handed over through the step's ``carry``), as the reference implementation
computes ``fake_B`` once per iteration. The reference updates D first; here D learns from the outputs G
made before its update, which is one G forward cheaper than recomputing them.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import ClassVar, Optional

import torch

from .args import CONSTANT_THEN_LINEAR, ConfigurationError
from .task import Phase, StepContext, Task


@dataclass
class Pix2PixArguments:
    """Pix2Pix settings (the model's sizes and the objective); loop settings are the TrainingArguments."""

    direction: str = field(default="AtoB", metadata={"help": "AtoB (A is the input, B the target) or BtoA (swapped)."})
    lambda_l1: float = field(default=100.0, metadata={"help": "Weight of the L1 loss |y - G(x)| (the paper: 100; 0 = GAN only)."})
    adversarial: bool = field(default=True, metadata={"help": "Train with the conditional GAN loss (false = L1 only, no discriminator)."})
    loss: str = field(default="vanilla", metadata={"help": "Adversarial loss of the registry (vanilla as the paper; lsgan, hinge, ...)."})
    generator_channels: int = field(default=64, metadata={"help": "U-Net width of the first layer (ngf)."})
    discriminator_channels: int = field(default=64, metadata={"help": "PatchGAN width of the first layer (ndf)."})
    discriminator_layers: Optional[int] = field(
        default=None,
        metadata={"help": "PatchGAN stride-2 layers: receptive field 16/34/70/142 px for 1/2/3/4. Default: 3 (the paper's 70x70) "
                          "where the images are at least 70 px, else the deepest whose patch fits in the image (2 at 64 px, 1 at 32)."},
    )
    num_downs: Optional[int] = field(default=None, metadata={"help": "U-Net downsamplings (default: log2 of the resolution, a 1x1 bottleneck)."})
    norm: str = field(default="batch", metadata={"help": "Normalisation of G and D: batch (the paper), instance or none."})
    use_dropout: bool = field(default=True, metadata={"help": "Dropout(0.5) in G's decoder (the paper's noise source)."})
    adam_beta1: float = field(default=0.5, metadata={"help": "Adam beta1 (the paper: 0.5)."})
    adam_beta2: float = field(default=0.999, metadata={"help": "Adam beta2."})
    discriminator_learning_rate: Optional[float] = field(default=None, metadata={"help": "D's learning rate (default: G's)."})
    num_grid_pairs: int = field(default=8, metadata={"help": "Input -> output -> target triplets in each sample grid."})


class Pix2PixTask(Task):
    """Trains Pix2Pix's G (U-Net) and D (conditional PatchGAN) on pairs (input x, target y)."""

    ema_models: ClassVar[tuple[str, ...]] = ("generator",)
    component_names: ClassVar[dict[str, str]] = {"generator": "generator_unet"}

    @classmethod
    def from_arguments(cls, training_args, task_args: Pix2PixArguments) -> "Pix2PixTask":
        """The task of `hfgen train pix2pix` / `scripts/train_pix2pix.py`."""
        return cls(task_args, learning_rate=training_args.learning_rate)

    def __init__(self, args: Optional[Pix2PixArguments] = None, learning_rate: Optional[float] = None):
        super().__init__(name="pix2pix")
        from hfgen.losses import get_loss

        self.args = a = args or Pix2PixArguments()
        if a.direction not in ("AtoB", "BtoA"):
            raise ConfigurationError(f"--direction {a.direction!r} is unknown: pass --direction AtoB or --direction BtoA.")
        if not a.lambda_l1 >= 0:  # also refuses NaN
            raise ConfigurationError(
                f"--lambda_l1 {a.lambda_l1} is negative: the L1 weight must be >= 0 (100 as in the paper; 0 trains with the "
                "GAN loss only)."
            )
        if a.lambda_l1 == 0 and not a.adversarial:
            raise ConfigurationError("--lambda_l1 0 with --adversarial false leaves no loss to train: keep one of them.")
        if a.num_grid_pairs < 1:
            raise ConfigurationError(f"--num_grid_pairs must be >= 1, got {a.num_grid_pairs}.")
        self.learning_rate = 2e-4 if learning_rate is None else float(learning_rate)
        self.d_learning_rate = a.discriminator_learning_rate or self.learning_rate
        if self.learning_rate <= 0 or self.d_learning_rate <= 0:
            raise ConfigurationError("learning rates must be > 0 (--learning_rate, --discriminator_learning_rate).")
        try:
            self.adversarial = get_loss(a.loss)
        except ValueError as error:
            raise ConfigurationError(f"--loss: {error}") from error
        if self.adversarial.name == "wgan":
            raise ConfigurationError("--loss wgan needs a Lipschitz constraint pix2pix does not apply: use vanilla, lsgan or hinge.")

    # -- data -----------------------------------------------------------------------------------

    def load_dataset(self, args):
        """Pairs for `--dataset`: an embedded paired set (edges2digits, shapes2textures), a folder with A/ and B/
        (matched by file name) or of side-by-side AB images, or a Hub/save_to_disk dataset with two image columns
        (`--conditioning_image_column` input, `--image_column` target); `--direction` picks the input side."""
        from hfgen.data import load_paired_dataset
        from hfgen.data.paired_embedded import PAIRED_EMBEDDED_DATASETS, load_paired_embedded

        a = self.args
        name = os.fspath(args.dataset)
        if name in PAIRED_EMBEDDED_DATASETS:
            return load_paired_embedded(name, args.dataset_split, image_size=args.resolution, num_channels=args.num_channels,
                                        num_samples=args.max_train_samples, seed=args.seed, direction=a.direction)
        path = os.path.expanduser(name)
        if os.path.isdir(os.path.join(path, "trainA")) or os.path.isdir(os.path.join(path, "trainB")):
            raise ConfigurationError(
                f"{name} holds trainA/ and trainB/: unpaired domains (CycleGAN's layout). Pix2Pix needs pairs: put the inputs in "
                "A/ and their targets in B/ under the same file names (or side-by-side AB images), or train an unpaired task."
            )
        return load_paired_dataset(
            name, image_size=args.resolution, num_channels=args.num_channels, split=args.dataset_split,
            image_column=args.image_column, conditioning_image_column=args.conditioning_image_column,
            label_column=args.label_column, direction=a.direction, num_samples=args.max_train_samples, seed=args.seed,
        )

    def loop_defaults(self, dataset, args) -> dict:
        """Batch 16 (the paper uses 1-10 at 256 px; small images train faster on larger batches) and, where
        --lr_scheduler is unset, the paper's schedule: constant, then linear decay to 0 over the last half of the
        steps (`--lr_scheduler constant_then_linear --lr_decay_steps N` chooses N)."""
        out = {"train_batch_size": min(16, len(dataset))}
        if args.lr_scheduler is None:
            out["lr_scheduler"] = CONSTANT_THEN_LINEAR
            out["lr_decay_steps"] = max(1, (args.max_train_steps - (args.lr_warmup_steps or 0)) // 2)
        return out

    # -- models ---------------------------------------------------------------------------------

    def setup(self, dataset) -> None:
        """G (U-Net, in -> out channels of the pairs) and, when adversarial, D (PatchGAN on in + out channels)."""
        from hfgen.models import PatchDiscriminator, PatchDiscriminatorConfig, UNetGenerator, UNetGeneratorConfig

        if dataset.kind != "image" or not dataset.has_conditioning:
            raise ConfigurationError(
                f"pix2pix trains on pairs (input image, target image); {dataset.describe()} has no input images: pass paired "
                "data (--dataset edges2digits, a folder with A/ and B/, side-by-side AB images, or --conditioning_image_column)."
            )
        a = self.args
        first = dataset.get_batch(torch.tensor([0]))
        x, y = first["conditioning_pixel_values"], first["pixel_values"]
        self.in_channels, self.out_channels, self.image_size = int(x.shape[1]), int(y.shape[1]), int(y.shape[-1])
        try:
            g_config = UNetGeneratorConfig(
                image_size=self.image_size, in_channels=self.in_channels, out_channels=self.out_channels,
                base_channels=a.generator_channels, num_downs=a.num_downs, norm=a.norm, use_dropout=a.use_dropout,
            )
            d_config = PatchDiscriminatorConfig(
                in_channels=self.in_channels + self.out_channels, base_channels=a.discriminator_channels,
                n_layers=self.discriminator_layers(self.image_size), norm=a.norm,
            )
        except ValueError as error:
            message = str(error).replace("num_downs", "--num_downs").replace("n_layers", "--discriminator_layers")
            raise ConfigurationError(message) from None
        if a.adversarial and d_config.output_size(self.image_size) < 1:
            raise ConfigurationError(
                f"--discriminator_layers {d_config.n_layers} is too deep for {self.image_size}x{self.image_size} images "
                "(D's logit grid would be empty): lower it or raise --resolution."
            )
        self.models = {"generator": UNetGenerator(g_config)}
        if a.adversarial:
            self.models["discriminator"] = PatchDiscriminator(d_config)
        from .gan import _data_record

        self.data_record = _data_record(dataset)
        self.dataset_name = dataset.name
        self._grid_pairs = self._pick_grid_pairs(dataset)
        self._announce(dataset, d_config)

    def discriminator_layers(self, image_size: int) -> int:
        """`--discriminator_layers`, else 3 (70x70 patches, the paper's) capped so that one patch fits in the image."""
        if self.args.discriminator_layers is not None:
            return self.args.discriminator_layers
        from hfgen.models import PatchDiscriminatorConfig

        fitting = [n for n in (1, 2, 3) if PatchDiscriminatorConfig(n_layers=n).receptive_field <= image_size]
        return max(fitting, default=1)

    def _announce(self, dataset, d_config) -> None:
        from accelerate.state import PartialState

        if PartialState().is_main_process:
            import sys

            a = self.args
            objective = (f"{a.loss} cGAN" if a.adversarial else "") + (" + " if a.adversarial and a.lambda_l1 else "") \
                + (f"{a.lambda_l1:g} * L1" if a.lambda_l1 else "")
            patch = f", PatchGAN {d_config.receptive_field}x{d_config.receptive_field} patches, " \
                    f"{d_config.output_size(self.image_size)}x{d_config.output_size(self.image_size)} logits" if a.adversarial else ""
            t = self.training_args
            schedule = "" if t is None else f"; LR {t.lr_scheduler}" + (
                f" (linear decay over the last {t.lr_decay_steps} of {t.max_train_steps} steps)" if t.lr_decay_steps else "")
            print(f"{dataset.describe()}\npix2pix {a.direction}: {objective}{patch}{schedule}.", file=sys.stderr, flush=True)

    def _pick_grid_pairs(self, dataset) -> dict:
        """The fixed pairs of the sample grid: held-out test pairs of embedded data, else the first training pairs."""
        n = self.args.num_grid_pairs
        from hfgen.data.paired_embedded import PAIRED_EMBEDDED_DATASETS, load_paired_embedded

        source = dataset
        if dataset.name in PAIRED_EMBEDDED_DATASETS:
            size = self.image_size
            source = load_paired_embedded(dataset.name, "test", image_size=size, num_channels=dataset.num_channels,
                                          direction=self.args.direction)
        batch = source.get_batch(torch.arange(min(n, len(source))))
        return {"inputs": batch["conditioning_pixel_values"], "targets": batch["pixel_values"],
                "held_out": source is not dataset}

    def create_optimizers(self) -> dict:
        """Adam(lr, (beta1, beta2)) for G and for D (the paper: 2e-4, 0.5, 0.999)."""
        betas = (self.args.adam_beta1, self.args.adam_beta2)
        out = {"generator": torch.optim.Adam(self.models["generator"].parameters(), lr=self.learning_rate, betas=betas)}
        if "discriminator" in self.models:
            out["discriminator"] = torch.optim.Adam(self.models["discriminator"].parameters(), lr=self.d_learning_rate, betas=betas)
        return out

    # -- losses ---------------------------------------------------------------------------------

    def generator_step(self, batch: dict, ctx: StepContext) -> dict:
        """G's loss: the cGAN term -log D(x, G(x)) (any registry loss) + lambda_L1 |y - G(x)|; hands G(x) to D."""
        G = ctx.models["generator"]
        x, y = batch["conditioning_pixel_values"], batch["pixel_values"]
        fake = G(x)
        ctx.carry[("fake", id(batch))] = fake.detach()  # D's phase learns from these outputs (same step, same batch)
        losses = {}
        loss = fake.new_zeros(())
        if self.args.adversarial:
            adv = self.adversarial.generator_loss(ctx.models["discriminator"](torch.cat([x, fake], dim=1)))
            loss = loss + adv
            losses["adversarial"] = adv.detach()
        l1 = (fake - y).abs().mean()
        losses["l1"] = l1.detach()
        if self.args.lambda_l1:
            loss = loss + self.args.lambda_l1 * l1
        losses["loss"] = loss
        return losses

    def discriminator_step(self, batch: dict, ctx: StepContext) -> dict:
        """D's loss on (x, y) as real and (x, G(x)) as fake, halved as in the paper (D learns slower than G)."""
        D = ctx.models["discriminator"]
        x, y = batch["conditioning_pixel_values"], batch["pixel_values"]
        fake = ctx.carry.get(("fake", id(batch)))
        if fake is None:  # not handed over (e.g. a phase order changed): compute it
            with torch.no_grad():
                fake = ctx.models["generator"](x)
        real_logits = D(torch.cat([x, y], dim=1))
        fake_logits = D(torch.cat([x, fake], dim=1))
        loss = 0.5 * self.adversarial.discriminator_loss(real_logits, fake_logits)
        return {"loss": loss, "real_logit": real_logits.mean().detach(), "fake_logit": fake_logits.mean().detach()}

    def phases(self) -> list[Phase]:
        """G's update, then (when adversarial) D's on the same batch and G's outputs."""
        phases = [Phase("generator", optimizer="generator", trainable=("generator",), step=self.generator_step)]
        if self.args.adversarial:
            phases.append(Phase("discriminator", optimizer="discriminator", trainable=("discriminator",),
                                step=self.discriminator_step, new_batch=False))
        return phases

    # -- outputs --------------------------------------------------------------------------------

    def build_pipeline(self, models):
        """Pix2PixPipeline over G."""
        from hfgen.pipelines import Pix2PixPipeline

        return Pix2PixPipeline(generator_unet=models["generator"])

    def training_components(self, models) -> dict:
        """D, exported beside the pipeline so that training can resume from the folder (`--init_from`)."""
        return {"discriminator": models["discriminator"]} if "discriminator" in models else {}

    def output_samples(self, pipeline, generator):
        """Translations of the grid's inputs (held-out pairs for embedded data), which the loop checks for NaN and
        saturation before the export (the default's `pipeline(batch_size=256)` does not apply to a translation)."""
        return pipeline((self._grid_pairs["inputs"] + 1) / 2, output_type="np").images

    def save_samples(self, pipeline, path: str, num_samples: int, seed: int) -> str:
        """A grid of input -> output -> target triplets (held-out pairs for embedded data), two triplets a row."""
        from .visualize import save_image_grid

        inputs, targets = self._grid_pairs["inputs"], self._grid_pairs["targets"]
        outputs = pipeline((inputs + 1) / 2, output_type="pt").images.cpu()
        columns = [(inputs + 1) / 2, outputs, (targets + 1) / 2]
        channels = max(c.shape[1] for c in columns)
        columns = [c.repeat(1, channels // c.shape[1], 1, 1) if c.shape[1] != channels else c for c in columns]
        triplets = torch.stack(columns, dim=1).flatten(0, 1)  # in, out, target, in, out, target, ...
        per_row = 2 if len(inputs) > 1 else 1
        images = triplets.permute(0, 2, 3, 1).clamp(0, 1).numpy()
        return save_image_grid(images, path, nrow=3 * per_row, scale=max(1, min(4, 128 // images.shape[1])))

    def build_evaluator(self, dataset, metrics: str, num_samples: int, seed: int):
        """L1/PSNR/SSIM/sharpness on held-out pairs (embedded data: the test split), plus FID and content accuracy
        (the digit, the shape) on a shipped classifier for edges2digits and shapes2textures
        (`hfgen.evaluation.image2image`); other data: the first training pairs (said so)."""
        from hfgen.data.paired_embedded import PAIRED_EMBEDDED_DATASETS
        from hfgen.evaluation.image2image import translation_evaluator_for_dataset

        if dataset.name in PAIRED_EMBEDDED_DATASETS:
            return translation_evaluator_for_dataset(dataset.name, num_samples=num_samples, seed=seed, direction=self.args.direction)
        evaluator = translation_evaluator_for_dataset(dataset, num_samples=num_samples, seed=seed)
        evaluator.description = f"{evaluator.description} (training pairs: this data has no held-out split)"
        return evaluator

    def describe(self) -> dict:
        """Settings for logs and model cards."""
        return {"task": self.name, "pix2pix": asdict(self.args), "learning_rate": self.learning_rate,
                "discriminator_learning_rate": self.d_learning_rate, "data": getattr(self, "data_record", None),
                "grid": "held-out test pairs" if getattr(self, "_grid_pairs", {}).get("held_out") else "training pairs"}
