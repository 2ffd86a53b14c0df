"""The DDPM task: a denoising diffusion model (Ho et al. 2020) trained on the one loop with diffusers' parts.

Code names map to the paper: x_0 = a training image (`pixel_values`), eps ~ N(0, I) = `noise`,
t ~ U{0..T-1} = `timesteps` (T = `--num_train_timesteps`), alpha_bar_t = `alphas_cumprod[t]`, the
forward process x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps (`DDPMScheduler.add_noise`),
and the network eps_theta(x_t, t) (`UNet2DModel`) trained with a plain MSE on its target: eps
(`epsilon`), v = sqrt(alpha_bar_t) eps - sqrt(1 - alpha_bar_t) x_0 (`v_prediction`, Salimans & Ho
2022) or x_0 (`sample`), optionally weighted per timestep by min-SNR-gamma (Hang et al. 2023).

Nothing of diffusion is re-implemented: `UNet2DModel`, `DDPMScheduler` (training and ancestral
sampling) and `DDIMScheduler` / `DPMSolverMultistepScheduler` (few-step sampling) are diffusers'.
The loop adds the rest (accelerate, checkpoints and exact resume, EMA, NaN guard, evaluation, card,
push). An unconditional model is exported as a stock diffusers `DDPMPipeline` folder; a
class-conditional one as hfgen's `ClassConditionalDDPMPipeline`.

For subclasses (e.g. a text-conditioned DDPM on `UNet2DConditionModel`): the training step is
`conditioning` -> `add_noise` -> `predict` -> `target` -> `loss`, each a small method; the models are
built by `build_unet` / `build_noise_scheduler`, the pipeline by `build_pipeline`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import ClassVar, Optional

import torch
import torch.nn.functional as F

from .args import ConfigurationError
from .task import Phase, StepContext, Task

PREDICTION_TYPES = ("epsilon", "v_prediction", "sample")
BETA_SCHEDULES = ("linear", "scaled_linear", "squaredcos_cap_v2")
# Samplers by name: how `--eval_scheduler`, `hfgen evaluate --scheduler` and the demo build them from
# the trained scheduler's config. "trailing" spacing starts few-step sampling at t = T-1 (pure noise,
# where training's last timestep is); diffusers' default "leading" starts below it (Lin et al. 2023).
SAMPLERS = ("ddpm", "ddim", "dpm++")


def make_scheduler(name: str, config, passes_clipped_output: bool = True):
    """A diffusers scheduler `name` (one of SAMPLERS) built from a trained scheduler's `config`.

    The trained noise schedule (timesteps, betas, prediction type, clipping) carries over through
    `from_config`; only the sampler's own choices are set here. `passes_clipped_output=False` is for
    pipelines that call DDIM's `step` without `use_clipped_model_output=True` (diffusers' `DDPMPipeline`):
    DDIM then clips x_0 but steps along the unclipped output, and the two disagree. On the toy model of
    tests/test_ddpm.py that cut DDIM-50's share of on-mode samples from 0.92-0.94 to 0.53; without
    clipping (`clip_sample=False`) the stock pipeline gets 0.94 again, so that is what DDIM gets there.
    """
    from diffusers import DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler

    if name == "ddpm":
        return DDPMScheduler.from_config(config)
    if name == "ddim":
        extra = {} if passes_clipped_output else {"clip_sample": False}
        return DDIMScheduler.from_config(config, timestep_spacing="trailing", **extra)
    if name == "dpm++":
        return DPMSolverMultistepScheduler.from_config(config, algorithm_type="dpmsolver++", solver_order=2,
                                                       timestep_spacing="trailing")
    raise ConfigurationError(f"Unknown sampler {name!r}; choose one of {', '.join(SAMPLERS)}.")


def with_sampler(pipeline, name: Optional[str]):
    """A pipeline over the same UNet with the sampler `name` (None: the pipeline as it is), progress bar off."""
    if name is not None:
        components = dict(pipeline.components)
        # hfgen's pipeline passes use_clipped_model_output=True to DDIM; diffusers' DDPMPipeline does not.
        consistent = type(pipeline).__name__ in ("ClassConditionalDDPMPipeline", "TextToImageDDPMPipeline")
        components["scheduler"] = make_scheduler(name, pipeline.scheduler.config, passes_clipped_output=consistent)
        pipeline = type(pipeline)(**components)
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


def check_inference_steps(steps, num_train_timesteps: int, flag: str = "--num_inference_steps") -> None:
    """Raises ConfigurationError unless every step count lies in [1, num_train_timesteps]."""
    for s in [steps] if isinstance(steps, int) else steps:
        if not 1 <= int(s) <= num_train_timesteps:
            raise ConfigurationError(
                f"{flag} {s} is outside [1, {num_train_timesteps}]: a sampler takes at least one step and at most the "
                f"{num_train_timesteps} timesteps the model was trained with (e.g. 50 with ddim / dpm++, {num_train_timesteps} with ddpm)."
            )


def _int_list(value, flag: str) -> list[int]:
    if isinstance(value, (list, tuple)):
        items = list(value)
    else:
        items = [v for v in str(value).replace(" ", "").split(",") if v != ""]
    try:
        return [int(v) for v in items]
    except ValueError:
        raise ConfigurationError(f"{flag} takes comma-separated integers (e.g. 32,64,64), got {value!r}.") from None


@dataclass
class DDPMArguments:
    """DDPM-specific settings: the UNet's size, the noise schedule, the loss, the optimizer and the sampler of
    periodic evaluation. Defaults: the recipe measured on MNIST-5k (issue 14: cosine schedule, v-prediction)."""

    block_out_channels: str = field(default="16,32,64", metadata={"help": "UNet widths, one per resolution level (comma-separated)."})
    layers_per_block: int = field(default=1, metadata={"help": "ResNet blocks per UNet level."})
    attention_levels: str = field(
        default="", metadata={"help": "Comma-separated 0-based levels with self-attention (e.g. 2 for the lowest of 3), and a "
                                      "mid-block attention when any; empty: none (fastest on CPU)."}
    )
    attention_head_dim: int = field(default=8, metadata={"help": "Channels per attention head."})
    norm_num_groups: Optional[int] = field(default=None, metadata={"help": "GroupNorm groups (default: the largest of 32, 16, 8, 4, 2, 1 dividing every width)."})
    dropout: float = field(default=0.0, metadata={"help": "Dropout in the UNet's ResNet blocks."})
    num_train_timesteps: int = field(default=1000, metadata={"help": "T, the number of diffusion steps."})
    beta_schedule: str = field(default="squaredcos_cap_v2", metadata={"help": "linear, scaled_linear or squaredcos_cap_v2 (cosine, Nichol & Dhariwal 2021)."})
    beta_start: float = field(default=1e-4, metadata={"help": "beta_1 of the linear schedules."})
    beta_end: float = field(default=0.02, metadata={"help": "beta_T of the linear schedules."})
    prediction_type: str = field(default="v_prediction", metadata={"help": "What the UNet predicts: epsilon, v_prediction or sample."})
    clip_sample: bool = field(default=True, metadata={"help": "Clip the predicted x_0 to [-1, 1] when sampling (saved in the scheduler config)."})
    snr_gamma: Optional[float] = field(default=None, metadata={"help": "Min-SNR-gamma loss weighting (Hang et al. 2023; 5.0 is usual). Default: plain MSE."})
    class_conditional: bool = field(default=False, metadata={"help": "Condition the UNet on the data's labels (num_class_embeds)."})
    adam_beta1: float = field(default=0.95, metadata={"help": "AdamW beta1 (diffusers' train_unconditional default)."})
    adam_beta2: float = field(default=0.999, metadata={"help": "AdamW beta2."})
    adam_weight_decay: float = field(default=1e-6, metadata={"help": "AdamW weight decay."})
    adam_epsilon: float = field(default=1e-8, metadata={"help": "AdamW epsilon."})
    eval_scheduler: str = field(default="ddim", metadata={"help": f"Sampler of sample grids and evaluations during training: {', '.join(SAMPLERS)}."})
    eval_inference_steps: int = field(default=50, metadata={"help": "Sampling steps of sample grids and evaluations during training."})

    def unet_widths(self) -> list[int]:
        """`--block_out_channels` as a list of ints, validated."""
        widths = _int_list(self.block_out_channels, "--block_out_channels")
        if not widths or min(widths) < 1:
            raise ConfigurationError(f"--block_out_channels needs at least one positive width, got {self.block_out_channels!r}.")
        return widths

    def validate(self) -> None:
        """Raises ConfigurationError for settings that cannot work, naming the flag and the fix."""
        widths = self.unet_widths()
        levels = _int_list(self.attention_levels, "--attention_levels")
        bad = [lv for lv in levels if not 0 <= lv < len(widths)]
        if bad:
            raise ConfigurationError(f"--attention_levels {bad} outside the UNet's levels 0..{len(widths) - 1} (one per --block_out_channels entry).")
        if self.num_train_timesteps < 1:
            raise ConfigurationError(f"--num_train_timesteps must be >= 1 (1000 is usual), got {self.num_train_timesteps}.")
        if self.prediction_type not in PREDICTION_TYPES:
            raise ConfigurationError(f"--prediction_type {self.prediction_type!r} is unknown; choose one of {', '.join(PREDICTION_TYPES)}.")
        if self.beta_schedule not in BETA_SCHEDULES:
            raise ConfigurationError(f"--beta_schedule {self.beta_schedule!r} is unknown; choose one of {', '.join(BETA_SCHEDULES)}.")
        if not 0 < self.beta_start < self.beta_end < 1:
            raise ConfigurationError(f"--beta_start and --beta_end must satisfy 0 < start < end < 1, got {self.beta_start}, {self.beta_end}.")
        if self.layers_per_block < 1:
            raise ConfigurationError(f"--layers_per_block must be >= 1, got {self.layers_per_block}.")
        if self.attention_head_dim < 1:
            raise ConfigurationError(f"--attention_head_dim must be >= 1, got {self.attention_head_dim}.")
        if self.snr_gamma is not None and not self.snr_gamma > 0:
            raise ConfigurationError(f"--snr_gamma must be > 0 (e.g. 5.0), got {self.snr_gamma}; leave it unset for plain MSE.")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigurationError(f"--dropout must lie in [0, 1), got {self.dropout}.")
        if self.eval_scheduler not in SAMPLERS:
            raise ConfigurationError(f"--eval_scheduler {self.eval_scheduler!r} is unknown; choose one of {', '.join(SAMPLERS)}.")
        check_inference_steps(self.eval_inference_steps, self.num_train_timesteps, "--eval_inference_steps")
        groups = self.norm_num_groups
        if groups is not None and (groups < 1 or any(w % groups for w in widths)):
            raise ConfigurationError(f"--norm_num_groups {groups} must divide every --block_out_channels width {widths}.")


class DDPMEvaluator:
    """The training evaluator of a diffusion pipeline: hfgen's `Evaluator`, sampling with a few-step sampler.

    Periodic evaluation runs on the main process while the others wait: with `--eval_inference_steps`
    DDIM steps (50 by default) instead of 1000 ancestral ones it costs ~20x less.
    """

    def __init__(self, evaluator, scheduler: Optional[str], steps: int):
        from hfgen.evaluation import NoiseSampler

        self.evaluator, self.scheduler, self.steps = evaluator, scheduler, steps
        self.extractor = evaluator.extractor
        self.sampler = NoiseSampler(evaluator.num_samples, evaluator.batch_size, evaluator.seed,
                                    call_kwargs={"num_inference_steps": steps})

    def __call__(self, pipeline) -> dict:
        result = self.evaluator(with_sampler(pipeline, self.scheduler), sampler=self.sampler)
        if self.scheduler is not None:
            result["protocol"].setdefault("sampler", {})["scheduler"] = f"{self.scheduler} (trailing spacing)" if self.scheduler != "ddpm" else "ddpm"
        return result

    def floors(self) -> dict:
        return self.evaluator.floors()


class DDPMTask(Task):
    """Trains a `UNet2DModel` to denoise: MSE on eps / v / x_0 at uniformly drawn timesteps."""

    ema_models = ("unet",)
    # The default learning rate (the measured recipe of issue 14: AdamW 1e-3 with grad clip 1 on a 0.6M UNet).
    default_learning_rate: ClassVar[float] = 1e-3
    # Loop settings of that recipe (warm-up in training steps), suggested where the flags are left unset.
    suggested_loop_settings: ClassVar[dict] = {"use_ema": True, "ema_decay": 0.999, "lr_scheduler": "constant", "lr_warmup_steps": 100,
                                               "max_grad_norm": 1.0}

    @classmethod
    def from_arguments(cls, training_args, task_args: DDPMArguments) -> "DDPMTask":
        """The DDPM task of `hfgen train ddpm` / `scripts/train_ddpm.py`."""
        return cls(task_args, learning_rate=training_args.learning_rate)

    def __init__(self, ddpm_args: Optional[DDPMArguments] = None, learning_rate: Optional[float] = None):
        super().__init__(name="ddpm")
        self.ddpm_args = ddpm_args or DDPMArguments()
        self.ddpm_args.validate()
        self.learning_rate = learning_rate if learning_rate is not None else self.default_learning_rate

    # -- models ---------------------------------------------------------------------------------

    def loop_defaults(self, dataset, args) -> dict:
        """The measured recipe: EMA on (its weights are the exported ones), constant LR after a warm-up, gradient norm clipped to 1."""
        return dict(self.suggested_loop_settings)

    def check_dataset(self, dataset) -> None:
        """Raises ConfigurationError unless `dataset` is images this task can train on."""
        if dataset.kind != "image":
            raise ConfigurationError(f"hfgen train ddpm needs images; {dataset.describe()} holds points: pass an image dataset (--dataset mnist5k, a folder).")
        if self.ddpm_args.class_conditional and not dataset.num_classes:
            raise ConfigurationError(
                "--class_conditional true needs a labelled dataset (no labels found): pass --label_column, a folder with one "
                "subfolder per class, or train unconditionally."
            )
        levels = len(self.ddpm_args.unet_widths())
        factor = 2 ** (levels - 1)
        if dataset.image_size % factor:
            fits = [s for s in range(dataset.image_size - factor + 1, dataset.image_size + factor) if s > 0 and s % factor == 0]
            raise ConfigurationError(
                f"A UNet of {levels} levels (--block_out_channels {self.ddpm_args.block_out_channels}) halves the image {levels - 1} "
                f"times, so the image side must be divisible by 2^{levels - 1} = {factor}; {dataset.image_size} is not. Pass "
                f"--resolution {' or '.join(str(s) for s in fits)}, or fewer --block_out_channels."
            )

    def build_unet(self, dataset):
        """The denoiser eps_theta: a `UNet2DModel` sized by the flags, class-conditional on request."""
        from diffusers import UNet2DModel

        a = self.ddpm_args
        widths = a.unet_widths()
        attention = set(_int_list(a.attention_levels, "--attention_levels"))
        groups = a.norm_num_groups or next(g for g in (32, 16, 8, 4, 2, 1) if all(w % g == 0 for w in widths))
        down = tuple("AttnDownBlock2D" if i in attention else "DownBlock2D" for i in range(len(widths)))
        up = tuple("AttnUpBlock2D" if i in attention else "UpBlock2D" for i in reversed(range(len(widths))))
        return UNet2DModel(
            sample_size=dataset.image_size,
            in_channels=dataset.num_channels,
            out_channels=dataset.num_channels,
            block_out_channels=tuple(widths),
            layers_per_block=a.layers_per_block,
            down_block_types=down,
            up_block_types=up,
            add_attention=bool(attention),
            attention_head_dim=a.attention_head_dim,
            norm_num_groups=groups,
            dropout=a.dropout,
            num_class_embeds=dataset.num_classes if a.class_conditional else None,
        )

    def build_noise_scheduler(self):
        """The forward process and ancestral sampler: diffusers' `DDPMScheduler` with the trained schedule."""
        from diffusers import DDPMScheduler

        a = self.ddpm_args
        return DDPMScheduler(num_train_timesteps=a.num_train_timesteps, beta_schedule=a.beta_schedule, beta_start=a.beta_start,
                             beta_end=a.beta_end, prediction_type=a.prediction_type, clip_sample=a.clip_sample)

    def setup(self, dataset) -> None:
        """Builds the UNet and the noise scheduler for the data's size, channels and labels."""
        from .gan import _data_record

        self.check_dataset(dataset)
        self.data_record = _data_record(dataset)
        self.class_names = list(dataset.class_names) if self.ddpm_args.class_conditional and dataset.class_names else None
        self.num_classes = dataset.num_classes if self.ddpm_args.class_conditional else 0
        self.noise_scheduler = self.build_noise_scheduler()
        self.models = {"unet": self.build_unet(dataset)}
        self._alphas_cumprod = None

    def create_optimizers(self) -> dict:
        """AdamW over the UNet (diffusers' train_unconditional settings by default)."""
        a = self.ddpm_args
        return {"unet": torch.optim.AdamW(self.models["unet"].parameters(), lr=self.learning_rate, betas=(a.adam_beta1, a.adam_beta2),
                                          weight_decay=a.adam_weight_decay, eps=a.adam_epsilon)}

    # -- the training step, in small overridable pieces -------------------------------------------

    def alphas_cumprod(self, device) -> torch.Tensor:
        """alpha_bar_t for every t, on `device` (cached)."""
        if self._alphas_cumprod is None or self._alphas_cumprod.device != torch.device(device):
            self._alphas_cumprod = self.noise_scheduler.alphas_cumprod.to(device)
        return self._alphas_cumprod

    def draw_timesteps(self, n: int, ctx: StepContext) -> torch.Tensor:
        """t ~ U{0..T-1}, one per example, from the loop's checkpointed generator."""
        return torch.randint(0, self.noise_scheduler.config.num_train_timesteps, (n,), generator=ctx.generator, device=ctx.device)

    def conditioning(self, batch: dict, ctx: StepContext) -> dict:
        """Extra keyword arguments of the UNet call: `class_labels` for a class-conditional model.

        A text-conditioned subclass returns `encoder_hidden_states` here (and drops captions for
        classifier-free guidance)."""
        return {"class_labels": batch["labels"]} if self.num_classes else {}

    def add_noise(self, x0: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        """x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps (the forward process, closed form)."""
        return self.noise_scheduler.add_noise(x0, noise, timesteps)

    def target(self, x0: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        """What the UNet learns to output: eps, v or x_0 (`--prediction_type`)."""
        kind = self.noise_scheduler.config.prediction_type
        if kind == "epsilon":
            return noise
        if kind == "v_prediction":
            return self.noise_scheduler.get_velocity(x0, noise, timesteps)
        return x0

    def predict(self, unet, noisy: torch.Tensor, timesteps: torch.Tensor, conditioning: dict) -> torch.Tensor:
        """The UNet's output for x_t at t."""
        return unet(noisy, timesteps, **conditioning).sample

    def loss(self, prediction: torch.Tensor, target: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        """MSE, or min-SNR-gamma weighted MSE (per-example weight min(SNR_t, gamma) / SNR_t for eps, / (SNR_t + 1) for v, 1 for x_0...).

        SNR_t = alpha_bar_t / (1 - alpha_bar_t). The weights turn each target's loss into the same
        x_0-space loss clipped at gamma (Hang et al. 2023, as diffusers' training examples compute it).
        """
        gamma = self.ddpm_args.snr_gamma
        if gamma is None:
            return F.mse_loss(prediction.float(), target.float())
        alpha_bar = self.alphas_cumprod(prediction.device)[timesteps].float()
        snr = alpha_bar / (1.0 - alpha_bar)
        clipped = torch.clamp(snr, max=gamma)
        kind = self.noise_scheduler.config.prediction_type
        weights = clipped / snr if kind == "epsilon" else clipped / (snr + 1.0) if kind == "v_prediction" else clipped
        per_example = F.mse_loss(prediction.float(), target.float(), reduction="none").mean(dim=tuple(range(1, prediction.dim())))
        return (per_example * weights).mean()

    def training_step(self, batch: dict, ctx: StepContext) -> dict:
        """One denoising-score-matching step: noise a batch at random timesteps, predict, MSE."""
        x0 = batch["pixel_values"]
        noise = torch.randn(x0.shape, generator=ctx.generator, device=ctx.device, dtype=x0.dtype)
        timesteps = self.draw_timesteps(x0.shape[0], ctx)
        noisy = self.add_noise(x0, noise, timesteps)
        prediction = self.predict(ctx.models["unet"], noisy, timesteps, self.conditioning(batch, ctx))
        return {"loss": self.loss(prediction, self.target(x0, noise, timesteps), timesteps)}

    def phases(self) -> list[Phase]:
        """One phase: the UNet's update (its gradient norm clipped by the loop: --max_grad_norm, suggested 1.0 as in diffusers' examples)."""
        return [Phase("diffusion", optimizer="unet", trainable=("unet",), step=self.training_step)]

    # -- outputs --------------------------------------------------------------------------------

    def build_pipeline(self, models):
        """A stock `DDPMPipeline` (unconditional) or hfgen's `ClassConditionalDDPMPipeline`, with the trained schedule."""
        scheduler = self.build_noise_scheduler() if not hasattr(self, "noise_scheduler") else \
            type(self.noise_scheduler).from_config(self.noise_scheduler.config)
        unet = models["unet"]
        if getattr(unet.config, "num_class_embeds", None):
            from hfgen.pipelines import ClassConditionalDDPMPipeline

            return ClassConditionalDDPMPipeline(unet=unet, scheduler=scheduler)
        from diffusers import DDPMPipeline

        return DDPMPipeline(unet=unet, scheduler=scheduler)

    def sampling_pipeline(self, pipeline):
        """`pipeline` with the sampler of training-time samples and evaluations (`--eval_scheduler`)."""
        return with_sampler(pipeline, self.ddpm_args.eval_scheduler)

    def output_samples(self, pipeline, generator):
        """The loop's check of generated outputs, with the few-step sampler (1000 steps x 256 would take minutes)."""
        pipe = self.sampling_pipeline(pipeline)
        labels = {"class_labels": torch.arange(64) % self.num_classes} if self.num_classes else {}
        return pipe(batch_size=64, generator=generator, num_inference_steps=self.ddpm_args.eval_inference_steps,
                    output_type="np", **labels).images

    def save_samples(self, pipeline, path: str, num_samples: int, seed: int) -> str:
        """An image grid (rows = classes when conditional), sampled with `--eval_scheduler` in `--eval_inference_steps`."""
        from .visualize import save_image_grid

        pipe = self.sampling_pipeline(pipeline)
        generator = torch.Generator(device=pipe.device).manual_seed(seed)
        kwargs, nrow = {}, None
        if self.num_classes:
            nrow = num_samples // self.num_classes or 1
            kwargs["class_labels"] = torch.arange(num_samples) * self.num_classes // num_samples
        images = pipe(batch_size=num_samples, generator=generator, num_inference_steps=self.ddpm_args.eval_inference_steps,
                      output_type="np", **kwargs).images
        return save_image_grid(images, path, nrow=nrow, scale=min(4, max(1, 128 // images.shape[1])))

    def build_evaluator(self, dataset, metrics: str, num_samples: int, seed: int):
        """hfgen's `Evaluator` sampling with `--eval_scheduler` in `--eval_inference_steps` steps."""
        from hfgen.evaluation import Evaluator

        evaluator = Evaluator(dataset, metrics=metrics, num_samples=num_samples, seed=seed)
        return DDPMEvaluator(evaluator, self.ddpm_args.eval_scheduler, self.ddpm_args.eval_inference_steps)

    def noise_schedule(self) -> dict:
        """The trained noise schedule (recorded in logs/training_args.json; samplers are checked against it)."""
        config = self.build_noise_scheduler().config if not hasattr(self, "noise_scheduler") else self.noise_scheduler.config
        keys = ("num_train_timesteps", "beta_schedule", "beta_start", "beta_end", "prediction_type", "clip_sample", "clip_sample_range")
        return {k: config[k] for k in keys}

    def describe(self) -> dict:
        """The DDPM settings, the trained noise schedule and the sampler of evaluations, for logs and cards."""
        ddpm = asdict(self.ddpm_args)
        ddpm["noise_schedule"] = self.noise_schedule()
        ddpm["class_names"] = getattr(self, "class_names", None)
        unet = self.models.get("unet")
        if unet is not None:
            ddpm["num_parameters"] = sum(p.numel() for p in unet.parameters())
        return {"task": self.name, "ddpm": ddpm, "learning_rate": self.learning_rate, "data": getattr(self, "data_record", None)}

