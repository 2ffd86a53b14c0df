"""The GAN task: GAN, f-GAN, WGAN (clipping / gradient penalty), hinge + SN, LSGAN, class-conditional.

Code names map to the papers: G = generator, D = discriminator (the critic for WGAN), z = noise,
T = D's output passed through the f-GAN activation g_f (inside the loss).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from typing import ClassVar, Optional

import torch

from .args import ConfigurationError
from .task import Phase, StepContext, Task

_ADAM_GAN = dict(optimizer="adam", learning_rate=2e-4, adam_beta1=0.5, adam_beta2=0.999, n_critic=1, image_discriminator_norm="batch")
# Each preset fills the settings left unset; every part is also a flag of its own.
PRESETS: dict[str, dict] = {
    "vanilla": dict(_ADAM_GAN, loss="vanilla"),  # Goodfellow et al. 2014, non-saturating G loss
    "minimax": dict(_ADAM_GAN, loss="minimax"),
    **{name: dict(_ADAM_GAN, loss=name) for name in ("kl", "reverse_kl", "js", "pearson", "hellinger")},  # f-GAN
    "wgan-clip": dict(  # Arjovsky et al. 2017: clip 0.01, RMSprop 5e-5, n_critic 5
        loss="wgan", clip_value=0.01, optimizer="rmsprop", learning_rate=5e-5, n_critic=5, image_discriminator_norm="batch"
    ),
    "wgan-gp": dict(  # Gulrajani et al. 2017: lambda 10, Adam(1e-4, 0, 0.9), n_critic 5, no BatchNorm in the critic
        loss="wgan", gp_weight=10.0, optimizer="adam", learning_rate=1e-4, adam_beta1=0.0, adam_beta2=0.9, n_critic=5,
        image_discriminator_norm="layer",
    ),
    "hinge": dict(  # Miyato et al. 2018 (SNGAN): hinge loss + spectral norm
        loss="hinge", spectral_norm=True, optimizer="adam", learning_rate=2e-4, adam_beta1=0.0, adam_beta2=0.9, n_critic=1,
        image_discriminator_norm="none",
    ),
    "lsgan": dict(_ADAM_GAN, loss="lsgan"),  # Mao et al. 2017
    # PacGAN (Lin et al. 2018) packing 4 with a hinge loss, no spectral norm, 5 D steps at a high LR: the
    # tuned configuration of scripts/bench_mixtures.py (8/8 modes, 96.5% high quality on ring8 at 16k
    # steps). The vanilla preset stays at 0-1 of 8 modes on ring8 at 6k steps: see AUTO_PRESETS.
    "pacgan4-hinge": dict(
        loss="hinge", spectral_norm=False, optimizer="adam", learning_rate=1e-3, adam_beta1=0.5, adam_beta2=0.999, n_critic=5,
        image_discriminator_norm="none",
    ),
}
# GANArguments fields a preset fills for MLPs (vector data) when they are left at their defaults: the
# benchmark's sizes (PacGAN's MLPs narrowed to 200 units) and z of size 2 (25 vs 20 modes on grid25).
PRESET_MLP_FIELDS: dict[str, dict] = {
    "pacgan4-hinge": dict(
        pack=4, latent_dim=2, generator_hidden_dim=200, generator_layers=4, discriminator_hidden_dim=200, discriminator_layers=3
    ),
}
# Loop settings a preset suggests for vector data where the flags are left unset: the benchmark's
# (scripts/bench_mixtures.py). On ring8 at 6000 steps (seeds 0/1) they raise pacgan4-hinge's
# high-quality share from 70.9%/65.1% (batch 64, constant LR, no EMA) to 91.1%/92.0%, 8/8 modes.
PRESET_LOOP_DEFAULTS: dict[str, dict] = {
    "pacgan4-hinge": dict(train_batch_size=256, lr_scheduler="linear", use_ema=True, ema_decay=0.99),
}
# What `--preset auto` (the default) means for each kind of data.
AUTO_PRESETS = {"image": "vanilla", "vector": "pacgan4-hinge"}


def _first_set(value, default):
    """`value` unless it is None (0 stays 0, so the config can reject it by name)."""
    return default if value is None else value


@dataclass
class GANArguments:
    """GAN-specific settings. Unset values come from `--preset`."""

    preset: str = field(
        default="auto",
        metadata={
            "help": f"One of {sorted(PRESETS)}, or auto (default): {AUTO_PRESETS['image']} for images, "
            f"{AUTO_PRESETS['vector']} for vector data (with its MLP sizes, z of size 2 and --pack 4 "
            "where those flags keep their defaults)."
        },
    )
    loss: Optional[str] = field(default=None, metadata={"help": "Adversarial loss (see hfgen.losses.list_losses())."})
    n_critic: Optional[int] = field(default=None, metadata={"help": "Critic updates per generator update."})
    gp_weight: Optional[float] = field(default=None, metadata={"help": "WGAN-GP lambda (0: no penalty)."})
    clip_value: Optional[float] = field(default=None, metadata={"help": "WGAN weight clipping c (0: none)."})
    spectral_norm: Optional[bool] = field(default=None, metadata={"help": "Spectral normalisation in D."})
    label_smoothing: float = field(default=0.0, metadata={"help": "One-sided label smoothing: real target 1 - s (e.g. 0.1)."})
    optimizer: Optional[str] = field(default=None, metadata={"help": "adam or rmsprop."})
    adam_beta1: Optional[float] = field(default=None, metadata={"help": "Adam beta1."})
    adam_beta2: Optional[float] = field(default=None, metadata={"help": "Adam beta2."})
    discriminator_learning_rate: Optional[float] = field(default=None, metadata={"help": "D's learning rate (default: G's)."})
    class_conditional: bool = field(default=False, metadata={"help": "Condition G and D on the data's labels."})
    architecture: str = field(default="auto", metadata={"help": "dcgan, mlp, or auto (mlp for vectors, dcgan for images)."})
    latent_dim: Optional[int] = field(default=None, metadata={"help": "Size of z (default: 64 for images, 16 for vectors)."})
    generator_channels: int = field(default=64, metadata={"help": "DCGAN G width (ngf)."})
    discriminator_channels: int = field(default=64, metadata={"help": "DCGAN D width (ndf)."})
    hidden_dim: int = field(default=256, metadata={"help": "MLP hidden width of G and D (see the generator_/discriminator_ flags)."})
    num_layers: int = field(default=3, metadata={"help": "MLP hidden layers of G and D (see the generator_/discriminator_ flags)."})
    generator_hidden_dim: Optional[int] = field(default=None, metadata={"help": "MLP G width (default: hidden_dim)."})
    generator_layers: Optional[int] = field(default=None, metadata={"help": "MLP G hidden layers (default: num_layers)."})
    discriminator_hidden_dim: Optional[int] = field(default=None, metadata={"help": "MLP D width (default: hidden_dim)."})
    discriminator_layers: Optional[int] = field(default=None, metadata={"help": "MLP D hidden layers (default: num_layers)."})
    generator_norm: Optional[str] = field(default=None, metadata={"help": "G normalisation (default: batch for DCGAN, none for MLP)."})
    discriminator_norm: Optional[str] = field(default=None, metadata={"help": "D normalisation (default: the preset's)."})
    pack: int = field(default=1, metadata={"help": "PacGAN packing m for MLP discriminators."})

    def preset_name(self, kind: Optional[str] = None) -> str:
        """The preset in effect: `preset`, or for `auto`/None the one of the data's kind (images when unknown)."""
        if self.preset in (None, "auto"):
            return AUTO_PRESETS.get(kind or "image", AUTO_PRESETS["image"])
        if self.preset not in PRESETS:
            raise ConfigurationError(f"--preset {self.preset!r} is unknown; choose one of {sorted(PRESETS)} or auto.")
        return self.preset

    def resolved(self, kind: Optional[str] = None) -> dict:
        """The effective settings for data of `kind` ("image"/"vector"): explicit flags over the preset.

        The result names the preset used under ``"preset"``.
        """
        name = self.preset_name(kind)
        values = dict(PRESETS[name], preset=name)
        for key in ("loss", "n_critic", "gp_weight", "clip_value", "spectral_norm", "optimizer", "adam_beta1", "adam_beta2"):
            if getattr(self, key) is not None:
                values[key] = getattr(self, key)
        values.setdefault("gp_weight", 0.0)
        values.setdefault("clip_value", 0.0)
        values.setdefault("spectral_norm", False)
        values.setdefault("adam_beta1", 0.5)
        values.setdefault("adam_beta2", 0.999)
        return values


def _data_record(dataset) -> dict:
    """What the model card needs to know about the training data (recorded in training_args.json).

    ``source`` is decided here, where the data were found: a path that exists on this machine is
    "local" and is never described (or linked) as a Hub dataset, whatever its spelling.
    """
    import os

    from hfgen.data import EMBEDDED_DATASETS

    name = dataset.name or ""
    if name in EMBEDDED_DATASETS:
        source = "embedded"
    elif name and os.path.exists(os.path.expanduser(name)):
        source = "local"
    else:
        source = "hub"
    return {
        "source": source,
        "kind": dataset.kind,
        "examples": len(dataset),
        "class_names": list(dataset.class_names) if dataset.num_classes and dataset.class_names else None,
        "has_captions": dataset.has_text,
        "description": dataset.describe(name=os.path.basename(os.path.normpath(name)) if source == "local" else None),
    }


class GANTask(Task):
    """Trains G against D with any registered adversarial loss and Lipschitz constraint."""

    ema_models = ("generator",)

    @classmethod
    def from_arguments(cls, training_args, task_args: GANArguments) -> "GANTask":
        """The GAN task of `hfgen train gan` / `scripts/train_gan.py`."""
        return cls(task_args, learning_rate=training_args.learning_rate, batch_size=training_args.train_batch_size)

    def __init__(self, gan_args: GANArguments, learning_rate: Optional[float] = None, batch_size: int = 64):
        super().__init__(name="gan")
        from hfgen.losses import get_loss

        self.gan_args = gan_args
        self._explicit_learning_rate, self._batch_size = learning_rate, batch_size  # preset `auto` resolves in setup()
        self.settings = s = gan_args.resolved()
        self.learning_rate = learning_rate if learning_rate is not None else s["learning_rate"]
        self.d_learning_rate = gan_args.discriminator_learning_rate or self.learning_rate
        if self.learning_rate <= 0 or self.d_learning_rate <= 0:
            raise ConfigurationError("learning rates must be > 0.")
        if s["n_critic"] < 1:
            raise ConfigurationError(f"n_critic must be >= 1, got {s['n_critic']}.")
        if s["gp_weight"] < 0 or s["clip_value"] < 0:
            raise ConfigurationError("gp_weight and clip_value must be >= 0.")
        if s["optimizer"] not in ("adam", "rmsprop"):
            raise ConfigurationError(f"optimizer={s['optimizer']!r} is unknown; choose adam or rmsprop.")
        if not 0.0 <= gan_args.label_smoothing < 1.0:
            raise ConfigurationError("label_smoothing must lie in [0, 1).")
        if gan_args.architecture not in ("auto", "dcgan", "mlp"):
            raise ConfigurationError(f"architecture={gan_args.architecture!r} is unknown; choose auto, dcgan or mlp.")
        if gan_args.pack < 1 or (batch_size is not None and batch_size % gan_args.pack):
            raise ConfigurationError(f"pack={gan_args.pack} must be >= 1 and divide train_batch_size={batch_size}.")
        try:
            self.adversarial = get_loss(s["loss"])
        except ValueError as error:
            raise ConfigurationError(str(error)) from error
        self.real_label = 1.0 - gan_args.label_smoothing
        if self.real_label != 1.0 and not self.adversarial.supports_label_smoothing:
            # Let the loss object produce its own message naming the losses that support it.
            try:
                self.adversarial.discriminator_loss(torch.zeros(1), torch.zeros(1), real_label=self.real_label)
            except ValueError as error:
                raise ConfigurationError(str(error)) from error

    # -- models ---------------------------------------------------------------------------------

    def _resolve_for_data(self, dataset) -> None:
        """Resolves the preset for the data's kind (`--preset auto`), before the models are built.

        For vector data `auto` means the tuned mixture recipe: its loss/optimizer settings (explicit flags
        still win), its learning rate unless --learning_rate was given, and its MLP sizes, z size and
        packing for the flags left at their defaults.
        """
        a = self.gan_args
        self.settings = a.resolved(dataset.kind)
        name = self.settings["preset"]
        if a.preset in (None, "auto") and self._explicit_learning_rate is None:
            self.learning_rate = self.settings["learning_rate"]
            self.d_learning_rate = a.discriminator_learning_rate or self.learning_rate
        if self.adversarial.name != self.settings["loss"]:
            from hfgen.losses import get_loss

            self.adversarial = get_loss(self.settings["loss"])
            if self.real_label != 1.0 and not self.adversarial.supports_label_smoothing:
                raise ConfigurationError(
                    f"--label_smoothing does not apply to the {self.settings['loss']} loss of preset {name}: drop it or pick a "
                    "--preset/--loss that supports it."
                )
        defaults = {f.name: f.default for f in fields(a)}
        # The loop's resolved batch size (it may come from loop_defaults), or the one given to __init__.
        batch_size = self.training_args.train_batch_size if self.training_args is not None else self._batch_size
        fills = {}
        if dataset.kind == "vector" and a.architecture in ("auto", "mlp"):
            sizes_at_default = a.hidden_dim == defaults["hidden_dim"] and a.num_layers == defaults["num_layers"]
            for key, value in PRESET_MLP_FIELDS.get(name, {}).items():
                if getattr(a, key) == defaults[key] and (sizes_at_default or not key.endswith(("_hidden_dim", "_layers"))):
                    fills[key] = value
            if fills.get("pack", 1) > 1 and batch_size % fills["pack"]:
                raise ConfigurationError(
                    f"preset {name} packs {fills['pack']} samples per discriminator input (PacGAN): pass a --train_batch_size "
                    f"that is a multiple of {fills['pack']} (got {batch_size}), or --pack 2 / --preset vanilla."
                )
            self.gan_args = replace(a, **fills)
        if batch_size is not None and batch_size % self.gan_args.pack:
            raise ConfigurationError(f"pack={self.gan_args.pack} must divide train_batch_size={batch_size}: pass a --train_batch_size "
                                     f"that is a multiple of {self.gan_args.pack}.")
        self.preset_fills = fills

    def loop_defaults(self, dataset, args) -> dict:
        """The preset's loop settings for vector data (PRESET_LOOP_DEFAULTS); none for images."""
        if dataset.kind != "vector":
            return {}
        suggested = dict(PRESET_LOOP_DEFAULTS.get(self.gan_args.preset_name(dataset.kind), {}))
        if suggested.get("train_batch_size", 0) > len(dataset):  # a small point set: the loop's default batch
            suggested.pop("train_batch_size")
        return suggested

    def _config(self, dataset):
        from hfgen.models import DCGANConfig, MLPGANConfig

        a, s = self.gan_args, self.settings
        num_classes = 0
        label_names = {}
        if a.class_conditional:
            if not dataset.num_classes:
                raise ConfigurationError(
                    "class_conditional=True needs a labelled dataset (no labels found): pass --label_column, or train unconditionally."
                )
            num_classes = dataset.num_classes
            names = list(dataset.class_names or [])
            if len(names) == num_classes:
                # transformers' standard fields: the folder / label names travel with the model, so that
                # pipelines and model cards can name the classes (not LABEL_0, LABEL_1, ...).
                label_names = dict(id2label={i: str(n) for i, n in enumerate(names)}, label2id={str(n): i for i, n in enumerate(names)})
        architecture = a.architecture
        if architecture == "auto":
            architecture = "mlp" if dataset.kind == "vector" else "dcgan"
        if (architecture == "mlp") != (dataset.kind == "vector"):
            raise ConfigurationError(f"architecture={architecture} does not fit {dataset.kind} data; use --architecture auto.")
        if architecture == "dcgan":
            mlp_only = [k for k in ("generator_hidden_dim", "generator_layers", "discriminator_hidden_dim", "discriminator_layers")
                        if getattr(a, k) is not None] + (["pack"] if a.pack > 1 else [])
            if mlp_only:
                raise ConfigurationError(
                    f"{', '.join(mlp_only)} {'applies' if len(mlp_only) == 1 else 'apply'} only to the MLP (vector data); for DCGAN images use "
                    "--generator_channels / --discriminator_channels."
                )
        try:
            if architecture == "mlp":
                d_norm = a.discriminator_norm or "none"
                config = MLPGANConfig(
                    latent_dim=_first_set(a.latent_dim, 16),
                    data_dim=dataset.data_dim,
                    generator_hidden_dim=_first_set(a.generator_hidden_dim, a.hidden_dim),
                    discriminator_hidden_dim=_first_set(a.discriminator_hidden_dim, a.hidden_dim),
                    generator_layers=_first_set(a.generator_layers, a.num_layers),
                    discriminator_layers=_first_set(a.discriminator_layers, a.num_layers),
                    generator_norm=a.generator_norm or "none",
                    discriminator_norm=d_norm,
                    spectral_norm=s["spectral_norm"],
                    num_classes=num_classes,
                    discriminator_pack=a.pack,
                    **label_names,
                )
            else:
                d_norm = a.discriminator_norm or s["image_discriminator_norm"]
                config = DCGANConfig(
                    latent_dim=_first_set(a.latent_dim, 64),
                    image_size=dataset.image_size,
                    num_channels=dataset.num_channels,
                    generator_channels=a.generator_channels,
                    discriminator_channels=a.discriminator_channels,
                    generator_norm=a.generator_norm or "batch",
                    discriminator_norm=d_norm,
                    spectral_norm=s["spectral_norm"],
                    num_classes=num_classes,
                    **label_names,
                )
        except ValueError as error:
            raise ConfigurationError(str(error)) from error
        if s["gp_weight"] > 0 and d_norm == "batch":
            raise ConfigurationError(
                "A gradient penalty is computed per sample, which BatchNorm in the critic breaks (Gulrajani et al. 2017): "
                "use --discriminator_norm layer (or none, instance)."
            )
        return config

    def setup(self, dataset) -> None:
        """Builds G and D for the dataset's kind, size and labels."""
        from hfgen.models import FAMILIES

        self._resolve_for_data(dataset)
        self._announce(dataset)
        self.data_record = _data_record(dataset)
        self.dataset_kind = dataset.kind
        self.data_key = dataset.primary_key
        self.num_classes = dataset.num_classes if self.gan_args.class_conditional else 0
        config = self._config(dataset)
        generator_cls, discriminator_cls = FAMILIES[type(config)]
        self.models = {"generator": generator_cls(config), "discriminator": discriminator_cls(config.__class__(**config.to_diff_dict()))}
        self.config = config
        if dataset.kind == "vector" and dataset.name in ("ring8", "grid25"):
            from hfgen.data import mixture_spec

            self.reference_points = mixture_spec(dataset.name)[0]
        else:
            self.reference_points = None

    def _announce(self, dataset) -> None:
        """Says once (main process) what data was found and which recipe trains on it."""
        from accelerate.state import PartialState

        if not PartialState().is_main_process:
            return
        import sys

        lines = [dataset.describe()]
        if dataset.has_text:
            lines.append(
                "Note: the GAN task does not use the captions (text conditioning arrives with its own task); "
                + ("it conditions on the class labels only." if self.gan_args.class_conditional else "it trains unconditionally.")
            )
        if dataset.num_classes and not self.gan_args.class_conditional:
            lines.append("Note: the labels are not used; pass --class_conditional true to condition G and D on them.")
        s, a = self.settings, self.gan_args
        if a.preset in (None, "auto"):
            recipe = f"Preset: auto -> {s['preset']} for {dataset.kind} data (loss {s['loss']}, n_critic {s['n_critic']}, " \
                     f"{s['optimizer']} lr {self.learning_rate:g}"
            if self.preset_fills:
                recipe += ", " + ", ".join(f"{k} {v}" for k, v in self.preset_fills.items())
            recipe += "); --preset vanilla (or another) chooses a preset explicitly."
            lines.append(recipe)
        print("\n".join(lines), file=sys.stderr, flush=True)

    def create_optimizers(self) -> dict:
        """Adam (with the preset's betas) or RMSprop, one per network."""
        s = self.settings
        out = {}
        for name, lr in (("generator", self.learning_rate), ("discriminator", self.d_learning_rate)):
            params = self.models[name].parameters()
            if s["optimizer"] == "rmsprop":
                out[name] = torch.optim.RMSprop(params, lr=lr)
            else:
                out[name] = torch.optim.Adam(params, lr=lr, betas=(s["adam_beta1"], s["adam_beta2"]))
        return out

    # -- losses ---------------------------------------------------------------------------------

    def _noise(self, batch_size: int, ctx: StepContext) -> torch.Tensor:
        return torch.randn(batch_size, self.config.latent_dim, generator=ctx.generator, device=ctx.device)

    def discriminator_step(self, batch: dict, ctx: StepContext) -> dict:
        """D's loss on a real batch and G(z) (detached), plus the gradient penalty when set."""
        G, D = ctx.models["generator"], ctx.models["discriminator"]
        real = batch[self.data_key]
        labels = batch.get("labels") if self.num_classes else None
        with torch.no_grad():
            fake = G(self._noise(real.shape[0], ctx), labels)
        real_logits, fake_logits = D(real, labels), D(fake, labels)
        adv = self.adversarial.discriminator_loss(real_logits, fake_logits, real_label=self.real_label)
        losses = {"loss": adv}
        if self.settings["loss"] == "wgan":
            # Critic's estimate of the Wasserstein-1 distance (up to the Lipschitz constant).
            losses["wasserstein"] = (real_logits.mean() - fake_logits.mean()).detach()
        if self.settings["gp_weight"] > 0:
            from hfgen.losses import gradient_penalty

            # With PacGAN packing D sees groups of m samples: penalise the packed input's gradient.
            pack = getattr(self.config, "discriminator_pack", 1)
            gp = gradient_penalty(D, real, fake, labels, generator=ctx.generator, group_size=pack)
            losses["loss"] = adv + self.settings["gp_weight"] * gp
            losses["d_adv"], losses["gp"] = adv.detach(), gp.detach()
        return losses

    def generator_step(self, batch: dict, ctx: StepContext) -> dict:
        """G's loss on D(G(z)); labels are those of the last real batch (same class mix)."""
        G, D = ctx.models["generator"], ctx.models["discriminator"]
        labels = batch.get("labels") if self.num_classes else None
        n = batch[self.data_key].shape[0]
        fake_logits = D(G(self._noise(n, ctx), labels), labels)
        return {"loss": self.adversarial.generator_loss(fake_logits)}

    def _clip(self) -> None:
        from hfgen.losses import clip_weights

        clip_weights(self.models["discriminator"], self.settings["clip_value"])

    def phases(self) -> list[Phase]:
        """Critic x n_critic (fresh real batch each), then one generator update."""
        return [
            Phase(
                "discriminator",
                optimizer="discriminator",
                trainable=("discriminator",),
                step=self.discriminator_step,
                repeats=self.settings["n_critic"],
                after_step=self._clip if self.settings["clip_value"] > 0 else None,
            ),
            Phase("generator", optimizer="generator", trainable=("generator",), step=self.generator_step, new_batch=False),
        ]

    # -- outputs --------------------------------------------------------------------------------

    component_names: ClassVar[dict[str, str]] = {"generator": "gan_generator"}  # for Task.load_exported

    def build_pipeline(self, models):
        """GANPipeline over G."""
        from hfgen.pipelines import GANPipeline

        return GANPipeline(gan_generator=models["generator"])

    def training_components(self, models) -> dict:
        """D, exported beside the pipeline so training can resume from the folder."""
        return {"discriminator": models["discriminator"]}

    def save_samples(self, pipeline, path: str, num_samples: int, seed: int) -> str:
        """An image grid (rows = classes when conditional) or a 2-D scatter plot."""
        from .visualize import save_image_grid, save_points_plot

        generator = torch.Generator(device=pipeline.device).manual_seed(seed)
        if self.dataset_kind == "vector":
            points = pipeline(batch_size=max(num_samples, 2500), generator=generator, output_type="np").images
            return save_points_plot(points, path, self.reference_points)
        labels, nrow = None, None
        if self.num_classes:
            nrow = num_samples // self.num_classes or 1
            labels = torch.arange(num_samples) * self.num_classes // num_samples
        images = pipeline(batch_size=num_samples, class_labels=labels, generator=generator, output_type="np").images
        scale = max(1, 128 // images.shape[1])
        return save_image_grid(images, path, nrow=nrow, scale=min(scale, 4))

    def describe(self) -> dict:
        """Effective GAN settings (preset resolved) for logs and model cards."""
        return {"task": self.name, "gan": asdict(self.gan_args), "gan_resolved": self.settings, "learning_rate": self.learning_rate,
                "preset_fills": getattr(self, "preset_fills", {}), "data": getattr(self, "data_record", None)}
