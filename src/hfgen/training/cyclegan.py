"""The cyclegan task: unpaired image-to-image translation (Zhu et al. 2017, "Unpaired Image-to-Image
Translation using Cycle-Consistent Adversarial Networks", arXiv:1703.10593).

Code names map to the paper's (X = domain A, Y = domain B):

- ``generator_a_to_b``  = G: X -> Y          ``generator_b_to_a``  = F: Y -> X
- ``discriminator_b``   = D_Y (real B vs G(x))  ``discriminator_a``   = D_X (real A vs F(y))
- ``lambda_cycle``      = lambda in L_cyc(G, F) = E||F(G(x)) - x||_1 + E||G(F(y)) - y||_1
- ``lambda_identity``   = the identity weight, relative to lambda as in the reference code:
  L_identity = lambda * lambda_identity * (E||G(y) - y||_1 + E||F(x) - x||_1)

One training step is the reference code's: ONE update of G and F together (adversarial + cycle +
identity), then ONE update of D_X and D_Y together, each D on real images and on fakes drawn from
its image pool (`hfgen.training.image_pool`), detached. LSGAN by default (the paper's choice); any
loss of the registry works on the PatchGAN logit maps. The registry's LSGAN generator term is
1/2 E[(D(G(x)) - 1)^2] (Mao et al.'s 1/2), half the reference code's MSE: with lambda_cycle 10 the
cycle term weighs twice as much relative to the adversarial one as in the reference code.
"""

from __future__ import annotations

import os
import sys
from dataclasses import asdict, dataclass, field
from typing import ClassVar, Optional

import numpy as np
import torch

from .args import ConfigurationError
from .image_pool import ImagePool
from .task import Phase, StepContext, Task

DEFAULT_DATASET = "mnist5k-unpaired"
# What `--dataset` holds when the user leaves it unset (TrainingArguments' default, a single-domain set).
_LOOP_DEFAULT_DATASET = "digits"
MODELS = ("generator_a_to_b", "generator_b_to_a", "discriminator_a", "discriminator_b")


@dataclass
class CycleGANArguments:
    """CycleGAN settings (`hfgen train cyclegan --help`)."""

    dataset_b: Optional[str] = field(
        default=None,
        metadata={"help": "Domain B's data when --dataset holds domain A only (any source --dataset takes). Without it, "
                          "--dataset is a folder with trainA/ and trainB/, a Hub/save_to_disk dataset with one image column "
                          f"per domain (--domain_columns), or the embedded default {DEFAULT_DATASET}."},
    )
    domain_columns: Optional[str] = field(
        default=None, metadata={"help": "'COLUMN_A,COLUMN_B': the two image columns of a one-dataset source (default: imageA,imageB or A,B)."}
    )
    domain_splits: Optional[str] = field(
        default=None, metadata={"help": "'SPLIT_A,SPLIT_B': the two splits of a one-dataset source that hold the domains "
                                        "(e.g. trainA,trainB of a Hub CycleGAN dataset)."}
    )
    loss: str = field(default="lsgan", metadata={"help": "Adversarial loss of the registry (the paper: lsgan)."})
    lambda_cycle: float = field(default=10.0, metadata={"help": "Weight of the cycle-consistency L1 loss (the paper's lambda)."})
    lambda_identity: float = field(
        default=0.5, metadata={"help": "Identity-loss weight, relative to --lambda_cycle as in the reference code (0: off)."}
    )
    pool_size: int = field(default=50, metadata={"help": "Past fakes kept per discriminator (0: no image pool)."})
    adam_beta1: float = field(default=0.5, metadata={"help": "Adam beta1."})
    adam_beta2: float = field(default=0.999, metadata={"help": "Adam beta2."})
    generator_channels: int = field(default=64, metadata={"help": "Width of G and F after the first 7x7 conv (ngf)."})
    n_blocks: Optional[int] = field(
        default=None, metadata={"help": "Residual blocks of G and F (default: 9 from 256 px, 6 from 128 px, 3 below)."}
    )
    discriminator_channels: int = field(default=64, metadata={"help": "Width of D_X and D_Y's first layer (ndf)."})
    discriminator_layers: Optional[int] = field(
        default=None, metadata={"help": "Stride-2 layers of the PatchGAN discriminators (default: 3, the 70x70 PatchGAN; 2 below 64 px)."}
    )
    norm: str = field(default="instance", metadata={"help": "Normalisation of all four networks: instance (the paper), batch or none."})


def auto_n_blocks(image_size: int) -> int:
    """The paper's residual blocks for the image size: 9 at 256 px and above, 6 at 128, 3 for tiny images."""
    return 9 if image_size >= 256 else 6 if image_size >= 128 else 3


def _data_record(dataset) -> dict:
    """What the model card needs about the two domains (recorded in training_args.json); no local path is recorded."""
    name = dataset.name or ""
    if name == DEFAULT_DATASET:
        source = "embedded"
    elif name and os.path.exists(os.path.expanduser(name.split(" + ")[0])):
        source = "local"
    else:
        source = "hub"
    return {
        "source": source,
        "kind": "image",
        "examples": len(dataset),
        "class_names": None,
        "has_captions": False,
        "domains": {k: {"examples": len(d), "image_size": d.image_size, "num_channels": d.num_channels} for k, d in dataset.domains.items()},
        "description": dataset.describe() if source != "local" else None,
    }


class CycleGANTask(Task):
    """Trains G: A -> B and F: B -> A with D_X, D_Y on unpaired domains (see the module docstring)."""

    ema_models: ClassVar[tuple[str, ...]] = ("generator_a_to_b", "generator_b_to_a")

    @classmethod
    def from_arguments(cls, training_args, task_args: CycleGANArguments) -> "CycleGANTask":
        """The task of `hfgen train cyclegan` / `scripts/train_cyclegan.py`."""
        if task_args.dataset_b is None and training_args.dataset == _LOOP_DEFAULT_DATASET:
            # --dataset left unset: the embedded unpaired domains. Recorded as such (logs, card), not as "digits".
            cls._say(f"cyclegan: --dataset left at its default: training on the embedded unpaired domains {DEFAULT_DATASET} "
                     "(A: plain MNIST digits, B: the other half in blue ink on striped paper; 32x32 RGB).")
            training_args.dataset = DEFAULT_DATASET
        return cls(task_args, learning_rate=training_args.learning_rate)

    def __init__(self, args: CycleGANArguments = None, learning_rate: Optional[float] = None):
        super().__init__(name="cyclegan")
        from hfgen.losses import get_loss

        self.args = a = args or CycleGANArguments()
        self.learning_rate = 2e-4 if learning_rate is None else learning_rate
        for flag in ("lambda_cycle", "lambda_identity"):
            value = getattr(a, flag)
            if not value >= 0:  # also refuses NaN
                raise ConfigurationError(f"--{flag} must be >= 0 (0 turns the term off), got {value}.")
        if a.lambda_identity > 0 and a.lambda_cycle == 0:
            raise ConfigurationError("--lambda_identity is relative to --lambda_cycle, which is 0: the identity loss would be 0 too. "
                                     "Pass --lambda_cycle > 0, or --lambda_identity 0.")
        if isinstance(a.pool_size, bool) or not isinstance(a.pool_size, int) or a.pool_size < 0:
            raise ConfigurationError(f"--pool_size must be an integer >= 0 (0 turns the image pool off), got {a.pool_size}.")
        if a.norm not in ("instance", "batch", "none"):
            raise ConfigurationError(f"--norm {a.norm!r} is unknown; choose instance, batch or none.")
        if a.n_blocks is not None and a.n_blocks < 0:
            raise ConfigurationError(f"--n_blocks must be >= 0, got {a.n_blocks}.")
        if a.discriminator_layers is not None and a.discriminator_layers < 1:
            raise ConfigurationError(f"--discriminator_layers must be >= 1, got {a.discriminator_layers}.")
        if a.generator_channels < 1 or a.discriminator_channels < 1:
            raise ConfigurationError("--generator_channels and --discriminator_channels must be >= 1.")
        if self.learning_rate <= 0:
            raise ConfigurationError("--learning_rate must be > 0.")
        try:
            self.adversarial = get_loss(a.loss)
        except ValueError as error:
            raise ConfigurationError(f"--loss: {error}") from error
        self.pools = {"a": ImagePool(a.pool_size), "b": ImagePool(a.pool_size)}

    # -- data -----------------------------------------------------------------------------------

    def load_dataset(self, args):
        """Two unpaired domains: `--dataset` (+ `--dataset_b`), a trainA/trainB folder, a two-column dataset, or the embedded default.

        Domains of different channel counts are both converted to RGB unless `--num_channels` says otherwise (said aloud).
        """
        from hfgen.data import load_unpaired_datasets

        a = self.args
        name = args.dataset
        if a.dataset_b is None and name in (_LOOP_DEFAULT_DATASET, DEFAULT_DATASET):
            from hfgen.data.styled_digits import load_styled_digits

            return load_styled_digits(image_size=args.resolution, num_channels=args.num_channels, num_samples=args.max_train_samples,
                                      seed=args.seed)
        columns = None
        if a.domain_columns:
            columns = tuple(c.strip() for c in a.domain_columns.split(","))
            if len(columns) != 2 or not all(columns):
                raise ConfigurationError(f"--domain_columns takes two column names 'COLUMN_A,COLUMN_B', got {a.domain_columns!r}.")
        if a.dataset_b is not None and (columns or a.domain_splits):
            raise ConfigurationError("--domain_columns / --domain_splits apply to one dataset holding both domains; with --dataset_b, "
                                     "drop them.")
        splits = None
        if a.domain_splits:
            splits = tuple(s.strip() for s in a.domain_splits.split(","))
            if len(splits) != 2 or not all(splits) or columns:
                raise ConfigurationError(f"--domain_splits takes two split names 'SPLIT_A,SPLIT_B' (and no --domain_columns), got "
                                         f"{a.domain_splits!r}.")

        def load(num_channels):
            if splits:  # one dataset, one split per domain
                from hfgen.data import NoImagesFoundError, load_train_dataset
                from hfgen.data.dataset import UnpairedDataset

                domains, size = {}, args.resolution
                for key, split in zip(("domain_a", "domain_b"), splits):
                    try:
                        domains[key] = load_train_dataset(name, image_size=size, num_channels=num_channels, split=split,
                                                          image_column=args.image_column, num_samples=args.max_train_samples,
                                                          seed=args.seed)
                    except NoImagesFoundError as error:
                        raise NoImagesFoundError(f"Domain {key[-1].upper()} (split {split!r}) is empty: {error}") from error
                    size = size or domains[key].image_size
                return UnpairedDataset(domains, name=name)
            return load_unpaired_datasets(
                name, a.dataset_b, split=args.dataset_split, image_size=args.resolution, num_channels=num_channels,
                image_column=args.image_column, columns=columns, num_samples=args.max_train_samples, seed=args.seed,
            )

        data = load(args.num_channels)
        if a.dataset_b is None and os.path.isdir(os.path.expanduser(name)):
            data.name = name  # the folder: its testA/ and testB/, when present, are the evaluation's held-out images
        channels = {k: d.num_channels for k, d in data.domains.items()}
        if len(set(channels.values())) > 1:
            self._say(f"cyclegan: the domains differ in channels ({', '.join(f'{k}: {c}' for k, c in channels.items())}); "
                      "converting both to RGB (3 channels). Pass --num_channels 1 to train in grey instead.")
            data = load(3)
            if a.dataset_b is None and os.path.isdir(os.path.expanduser(name)):
                data.name = name
        return data

    @staticmethod
    def _say(message: str) -> None:
        from accelerate.state import PartialState

        if PartialState().is_main_process:
            print(message, file=sys.stderr, flush=True)

    def loop_defaults(self, dataset, args) -> dict:
        """The reference code's loop settings: batch size 1, constant LR for the first half of the steps, then linear decay to 0."""
        out = {"train_batch_size": 1}
        if args.lr_scheduler is None and args.lr_decay_steps is None:
            out.update(lr_scheduler="constant_then_linear", lr_decay_steps=max(1, args.max_train_steps // 2))
        return out

    # -- models ---------------------------------------------------------------------------------

    def setup(self, dataset) -> None:
        """G, F (ResNet generators) and D_X, D_Y (PatchGAN) for the domains' size and channels."""
        from hfgen.models import PatchDiscriminator, PatchDiscriminatorConfig, ResnetGenerator, ResnetGeneratorConfig

        domains = getattr(dataset, "domains", None)
        if not domains or set(domains) != {"domain_a", "domain_b"}:
            raise ConfigurationError("cyclegan trains on two unpaired domains: pass a folder with trainA/ and trainB/, --dataset A "
                                     "--dataset_b B, or a dataset with two image columns (--domain_columns).")
        a = self.args
        size = domains["domain_a"].image_size
        ca, cb = domains["domain_a"].num_channels, domains["domain_b"].num_channels
        if domains["domain_b"].image_size != size:
            raise ConfigurationError(f"The domains differ in size ({size} vs {domains['domain_b'].image_size} px): pass --resolution N.")
        n_blocks = auto_n_blocks(size) if a.n_blocks is None else a.n_blocks
        d_layers = a.discriminator_layers or (3 if size >= 64 else 2)
        try:
            g_config = dict(image_size=size, base_channels=a.generator_channels, n_blocks=n_blocks, norm=a.norm)
            config_ab = ResnetGeneratorConfig(in_channels=ca, out_channels=cb, **g_config)
            config_ba = ResnetGeneratorConfig(in_channels=cb, out_channels=ca, **g_config)
            d_config = dict(base_channels=a.discriminator_channels, n_layers=d_layers, norm=a.norm)
            config_da, config_db = PatchDiscriminatorConfig(in_channels=ca, **d_config), PatchDiscriminatorConfig(in_channels=cb, **d_config)
        except ValueError as error:
            raise ConfigurationError(f"{error} (flags: --resolution, --n_blocks, --generator_channels, --norm)") from error
        if config_da.output_size(size) < 1:
            raise ConfigurationError(f"{size} px images are too small for a PatchGAN with {d_layers} layers: pass --discriminator_layers "
                                     f"{max(1, d_layers - 1)} or a larger --resolution.")
        self.models = {
            "generator_a_to_b": ResnetGenerator(config_ab),  # G: X -> Y
            "generator_b_to_a": ResnetGenerator(config_ba),  # F: Y -> X
            "discriminator_a": PatchDiscriminator(config_da),  # D_X
            "discriminator_b": PatchDiscriminator(config_db),  # D_Y
        }
        self.identity = a.lambda_identity > 0
        if self.identity and ca != cb:
            raise ConfigurationError(f"The identity loss compares G(y) with y, which needs domains of one channel count (A: {ca}, B: {cb}): "
                                     "pass --num_channels 3 (or 1), or --lambda_identity 0.")
        self.image_size, self.channels = size, (ca, cb)
        self._dataset = dataset
        self.data_record = _data_record(dataset)
        self._say(f"{dataset.describe()}\ncyclegan: loss {a.loss}, lambda_cycle {a.lambda_cycle:g}, lambda_identity {a.lambda_identity:g}, "
                  f"pool {a.pool_size}, G/F {n_blocks} residual blocks, D_X/D_Y {d_layers}-layer PatchGAN.")

    def create_optimizers(self) -> dict:
        """Adam(lr, (beta1, beta2)) over G and F together, and over D_X and D_Y together (the reference code's two optimizers)."""
        betas = (self.args.adam_beta1, self.args.adam_beta2)
        m = self.models
        return {
            "generators": torch.optim.Adam([*m["generator_a_to_b"].parameters(), *m["generator_b_to_a"].parameters()], lr=self.learning_rate, betas=betas),
            "discriminators": torch.optim.Adam([*m["discriminator_a"].parameters(), *m["discriminator_b"].parameters()], lr=self.learning_rate, betas=betas),
        }

    # -- losses ---------------------------------------------------------------------------------

    def generator_step(self, batch: dict, ctx: StepContext) -> dict:
        """L_GAN(G, D_Y) + L_GAN(F, D_X) + lambda L_cyc + lambda lambda_idt L_identity; hands the fakes to the D phase."""
        from hfgen.losses import cycle_consistency_loss, identity_loss

        G, F = ctx.models["generator_a_to_b"], ctx.models["generator_b_to_a"]
        D_X, D_Y = ctx.models["discriminator_a"], ctx.models["discriminator_b"]
        x, y = batch["domain_a"]["pixel_values"], batch["domain_b"]["pixel_values"]
        fake_y = G(x)  # G(x)
        fake_x = F(y)  # F(y)
        gan_g = self.adversarial.generator_loss(D_Y(fake_y))
        gan_f = self.adversarial.generator_loss(D_X(fake_x))
        losses = {"gan_a_to_b": gan_g.detach(), "gan_b_to_a": gan_f.detach()}
        loss = gan_g + gan_f
        lam = self.args.lambda_cycle
        if lam > 0:
            cycle_x = cycle_consistency_loss(F(fake_y), x)  # ||F(G(x)) - x||_1
            cycle_y = cycle_consistency_loss(G(fake_x), y)  # ||G(F(y)) - y||_1
            loss = loss + lam * (cycle_x + cycle_y)
            losses.update(cycle_a=cycle_x.detach(), cycle_b=cycle_y.detach())
        if self.identity:
            idt_y = identity_loss(G(y), y)  # G should leave a Y image unchanged
            idt_x = identity_loss(F(x), x)
            loss = loss + lam * self.args.lambda_identity * (idt_x + idt_y)
            losses.update(identity_a=idt_x.detach(), identity_b=idt_y.detach())
        # Keyed by the batch: with gradient accumulation the D phase replays the same micro-batches.
        ctx.carry.setdefault("fakes", {})[id(batch)] = (fake_x.detach(), fake_y.detach())
        losses["loss"] = loss
        return losses

    def discriminator_step(self, batch: dict, ctx: StepContext) -> dict:
        """D_X on real A vs pooled F(y), D_Y on real B vs pooled G(x) (fakes detached); the two losses summed."""
        D_X, D_Y = ctx.models["discriminator_a"], ctx.models["discriminator_b"]
        x, y = batch["domain_a"]["pixel_values"], batch["domain_b"]["pixel_values"]
        fakes = ctx.carry.get("fakes", {}).get(id(batch))
        if fakes is None:  # pragma: no cover - the generator phase always runs first
            raise RuntimeError("cyclegan's discriminator phase ran before its generator phase in this step.")
        fake_x = self.pools["a"].query(fakes[0], ctx.generator)
        fake_y = self.pools["b"].query(fakes[1], ctx.generator)
        loss_x = self.adversarial.discriminator_loss(D_X(x), D_X(fake_x))
        loss_y = self.adversarial.discriminator_loss(D_Y(y), D_Y(fake_y))
        return {"loss": loss_x + loss_y, "d_a": loss_x.detach(), "d_b": loss_y.detach()}

    def phases(self) -> list[Phase]:
        """G and F together, then D_X and D_Y together on the same batch (the reference code's order)."""
        return [
            Phase("generators", optimizer="generators", trainable=("generator_a_to_b", "generator_b_to_a"), step=self.generator_step),
            Phase("discriminators", optimizer="discriminators", trainable=("discriminator_a", "discriminator_b"),
                  step=self.discriminator_step, new_batch=False),
        ]

    def state_dict(self) -> dict:
        """Both image pools (this process's own)."""
        return {"pool_a": self.pools["a"].state_dict(), "pool_b": self.pools["b"].state_dict()}

    def load_state_dict(self, state: dict) -> None:
        """Restores both pools; a checkpoint of another --pool_size is refused with the flag to pass."""
        for key in ("a", "b"):
            try:
                self.pools[key].load_state_dict(state[f"pool_{key}"])
            except ValueError as error:
                raise ConfigurationError(str(error)) from None

    # -- outputs --------------------------------------------------------------------------------

    def build_pipeline(self, models):
        """CycleGANPipeline over G and F."""
        from hfgen.pipelines import CycleGANPipeline

        return CycleGANPipeline(generator_a_to_b=models["generator_a_to_b"], generator_b_to_a=models["generator_b_to_a"])

    def training_components(self, models) -> dict:
        """D_X and D_Y, exported beside the pipeline so that training can resume from the folder (--init_from)."""
        return {"discriminator_a": models["discriminator_a"], "discriminator_b": models["discriminator_b"]}

    def _grid_inputs(self, num: int) -> dict:
        """Fixed held-out (else training) images of each domain for the sample grid."""
        from hfgen.evaluation.image2image import reference_domains

        test = reference_domains(self._dataset)
        n = min(num, *(len(d) for d in test.values()))  # one column per pair: the same count in both domains
        return {k: d.get_batch(torch.arange(n))["pixel_values"] for k, d in test.items()}

    def output_samples(self, pipeline, generator):
        """Translations of up to 128 images per domain, both directions (the loop checks them for NaN and saturation)."""
        inputs = self._grid_inputs(128)
        return np.concatenate([pipeline(image=(inputs[source] + 1) / 2, direction=direction, output_type="np").images
                               for direction, source in (("a_to_b", "domain_a"), ("b_to_a", "domain_b"))])

    def save_samples(self, pipeline, path: str, num_samples: int, seed: int) -> str:
        """Input -> translated -> reconstructed, both directions (see `save_translation_grid`)."""
        from hfgen.evaluation.image2image import save_translation_grid

        return save_translation_grid(pipeline, self._grid_inputs(min(8, max(1, num_samples))), path)

    def build_evaluator(self, dataset, metrics: str, num_samples: int, seed: int):
        """Per-direction FID, content preservation and cycle L1 (`hfgen.evaluation.image2image.CycleGANEvaluator`),
        and their mean FID `fid`, by which the loop keeps `best/`."""
        from hfgen.evaluation.image2image import CycleGANEvaluator

        return CycleGANEvaluator(dataset, num_samples=num_samples, seed=seed)

    def describe(self) -> dict:
        """Settings for logs and model cards."""
        return {"task": self.name, "cyclegan": asdict(self.args), "learning_rate": self.learning_rate,
                "data": getattr(self, "data_record", None)}
