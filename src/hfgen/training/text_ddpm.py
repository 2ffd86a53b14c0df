"""The text-ddpm task: a text-conditioned pixel-space DDPM with classifier-free guidance.

The DDPM task (`hfgen.training.ddpm`, Ho et al. 2020) with the condition c = e(caption) of a text
encoder e: the denoiser eps_theta(x_t, t, c) is a diffusers `UNet2DConditionModel` whose cross-attention
reads the hidden states of a `CLIPTextModel` (padding tokens masked out in both: the tokenizer's
`attention_mask` goes to the text encoder and, as `encoder_attention_mask`, to the UNet).

- The text encoder is trained jointly with the UNet (default: a small CLIPTextModel over a word
  tokenizer built from the captions), or loaded and frozen (`--text_encoder`: the folder exported by
  `hfgen train clip`, any folder holding a CLIPTextModel/CLIPModel and its tokenizer, or a Hub CLIP id
  such as openai/clip-vit-base-patch32, downloaded only when asked).
- Classifier-free guidance (Ho & Salimans 2022): each caption is replaced by the empty prompt with
  probability `--condition_dropout` (0.1), so the one network also learns the unconditional
  eps_theta(x_t, t, e("")) that guidance extrapolates away from at sampling time.
- Options measured to matter on small budgets (issue 15, 16x16 shapes): v-prediction with the cosine
  (squaredcos_cap_v2) schedule (the DDPM defaults), and `--coordinate_channels`: two input channels with
  each pixel's x and y (cross-attention is position-blind, so "top left" vs "bottom right" was barely
  learned without them). The pipeline records the option in `model_index.json` and adds them itself.

The export is a `TextToImageDDPMPipeline` (unet/, text_encoder/, tokenizer/, scheduler/: all standard
components) with the sampler of `--eval_scheduler` (DDIM, trailing spacing, by default) as its scheduler,
so the pipeline's default call (50 steps, guidance 3) is the protocol its card reports.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field, replace
from typing import ClassVar, Optional

import torch

from .args import ConfigurationError
from .ddpm import DDPMArguments, DDPMTask, _int_list, make_scheduler
from .task import Phase, StepContext, require_captioned_images

logger = logging.getLogger(__name__)


@dataclass
class TextDDPMArguments(DDPMArguments):
    """Text-to-image DDPM settings, on top of the DDPM flags. Defaults: the settings measured in issue 15 on 16x16
    shapes (UNet widths 32,64,64 with cross-attention at every level, 4 heads, a 2-layer x 64 CLIP text encoder
    trained jointly, v-prediction, cosine schedule, coordinate channels, caption dropout 0.1)."""

    block_out_channels: str = field(default="32,64,64", metadata={"help": "UNet widths, one per resolution level (comma-separated; "
                                                                          "multiples of 32 for the default group norm)."})
    attention_levels: str = field(
        default="all", metadata={"help": "Comma-separated 0-based levels whose blocks cross-attend to the text, or all (the default); "
                                         "the mid block always does; empty: the mid block only."}
    )
    attention_head_dim: int = field(
        default=4, metadata={"help": "Attention heads per cross-attention block (diffusers' UNet2DConditionModel calls the number of "
                                     "heads attention_head_dim); must divide every width."}
    )
    text_encoder: Optional[str] = field(
        default=None,
        metadata={"help": "A text encoder to start from: the folder of `hfgen train clip`, a folder with a CLIPTextModel/CLIPModel and "
                          "its tokenizer, or a Hub CLIP id (e.g. openai/clip-vit-base-patch32). Frozen unless --train_text_encoder "
                          "true. Default: a small CLIPTextModel over a word tokenizer of the captions, trained jointly."},
    )
    train_text_encoder: Optional[bool] = field(
        default=None, metadata={"help": "Train the text encoder with the UNet (default: true for the built-in encoder, false with "
                                        "--text_encoder)."}
    )
    text_hidden_size: int = field(default=64, metadata={"help": "Width of the built-in text encoder (the UNet's cross_attention_dim)."})
    text_layers: int = field(default=2, metadata={"help": "Transformer layers of the built-in text encoder."})
    text_heads: int = field(default=2, metadata={"help": "Attention heads of the built-in text encoder."})
    max_length: int = field(default=16, metadata={"help": "Tokens per caption of the built-in tokenizer, [BOS]/[EOS] included."})
    condition_dropout: float = field(
        default=0.1, metadata={"help": "Probability of training on the empty prompt instead of the caption (classifier-free guidance "
                                       "needs the unconditional model); 0 disables guidance."}
    )
    coordinate_channels: bool = field(
        default=True, metadata={"help": "Give the UNet two extra input channels with each pixel's x and y (the pipeline adds them): "
                                        "positions in prompts are learned much faster."}
    )
    guidance_scale: float = field(default=3.0, metadata={"help": "Classifier-free guidance of sample grids and evaluations."})
    sample_prompts: Optional[str] = field(default=None, metadata={"help": "'|'-separated prompts of the sample grid (default: shapes "
                                                                          "prompts, else the data's first captions)."})

    def cross_attention_levels(self) -> list[int]:
        """The 0-based UNet levels with cross-attention blocks (`--attention_levels`, "all" for every level)."""
        if str(self.attention_levels).strip().lower() == "all":
            return list(range(len(self.unet_widths())))
        return _int_list(self.attention_levels, "--attention_levels")

    def validate(self) -> None:
        """The DDPM checks, plus the text ones; raises ConfigurationError naming the flag and the fix."""
        # "all" is this task's word for every level; the DDPM checks see the explicit list.
        DDPMArguments.validate(replace(self, attention_levels=",".join(map(str, self.cross_attention_levels()))))
        if self.class_conditional:
            raise ConfigurationError("--class_conditional does not apply to text-ddpm: the captions are the condition; drop the flag.")
        if not 0.0 <= self.condition_dropout < 1.0:
            raise ConfigurationError(f"--condition_dropout must lie in [0, 1) (0.1 is usual), got {self.condition_dropout}.")
        if not self.guidance_scale >= 0:
            raise ConfigurationError(f"--guidance_scale must be >= 0 (1: no guidance, 3: the default), got {self.guidance_scale}.")
        if self.max_length < 3:
            raise ConfigurationError(f"--max_length {self.max_length} leaves no room for a word beside [BOS] and [EOS]: use >= 3.")
        if self.text_hidden_size < 1 or self.text_layers < 1 or self.text_heads < 1 or self.text_hidden_size % self.text_heads:
            raise ConfigurationError(f"--text_hidden_size {self.text_hidden_size} must be a positive multiple of --text_heads "
                                     f"{self.text_heads}, and --text_layers >= 1.")
        widths = self.unet_widths()
        bad = [w for w in widths if w % self.attention_head_dim]
        if bad:
            raise ConfigurationError(f"--attention_head_dim {self.attention_head_dim} (the number of heads) must divide every "
                                     f"--block_out_channels width; {bad} are not multiples of it.")


def _flat_captions(texts) -> list[str]:
    return [c for t in texts for c in (t if isinstance(t, (list, tuple)) else [t]) if c]


class TextDDPMTask(DDPMTask):
    """Trains a `UNet2DConditionModel` (and, by default, its text encoder) to denoise images given their captions."""

    # The measured recipe of issue 15 warms the LR up over 200 steps (a jointly trained text encoder starts random).
    suggested_loop_settings: ClassVar[dict] = {**DDPMTask.suggested_loop_settings, "lr_warmup_steps": 200}

    @classmethod
    def from_arguments(cls, training_args, task_args: TextDDPMArguments) -> "TextDDPMTask":
        """The task of `hfgen train text-ddpm` / `scripts/train_text_ddpm.py`."""
        return cls(task_args, learning_rate=training_args.learning_rate)

    def __init__(self, args: Optional[TextDDPMArguments] = None, learning_rate: Optional[float] = None):
        super().__init__(args or TextDDPMArguments(), learning_rate=learning_rate)
        self.name = "text-ddpm"
        a = self.ddpm_args
        self.train_text_encoder = a.train_text_encoder if a.train_text_encoder is not None else a.text_encoder is None

    # -- models ---------------------------------------------------------------------------------

    def build_text_encoder(self, dataset):
        """`(tokenizer, CLIPTextModel, description)`: loaded from `--text_encoder`, else built for the captions."""
        from transformers import CLIPTextModel

        from hfgen.text import (TextEncoderError, TokenizerError, build_word_tokenizer, check_tokenizer, load_text_encoder,
                                tiny_text_encoder_config)

        a = self.ddpm_args
        if a.text_encoder:
            try:
                tokenizer, encoder = load_text_encoder(a.text_encoder, sample_captions=_flat_captions(dataset.texts[:64]))
            except (TextEncoderError, TokenizerError) as error:
                raise ConfigurationError(str(error)) from None
            return tokenizer, encoder, a.text_encoder
        init_from = getattr(self.training_args, "init_from", None)
        if init_from and os.path.isfile(os.path.join(init_from, "tokenizer", "tokenizer_config.json")):
            # --init_from: the text encoder's rows are those of the folder's vocabulary, whatever words these data hold.
            from transformers import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(init_from, subfolder="tokenizer")
            try:
                check_tokenizer(tokenizer, _flat_captions(dataset.texts[:64]))
            except TokenizerError as error:
                raise ConfigurationError(f"--init_from {init_from}: its tokenizer does not fit these captions: {error}") from None
        else:
            tokenizer = build_word_tokenizer(dataset.texts, max_length=a.max_length)
        config = tiny_text_encoder_config(0, hidden_size=a.text_hidden_size, layers=a.text_layers, heads=a.text_heads, tokenizer=tokenizer)
        if not self.train_text_encoder:
            logger.warning("--train_text_encoder false with the built-in encoder: the captions are embedded by a RANDOM frozen "
                           "CLIPTextModel (weak). Train it (the default) or pass --text_encoder (e.g. a `hfgen train clip` folder).")
        return tokenizer, CLIPTextModel(config), "built-in CLIPTextModel over a word tokenizer of the captions"

    def build_unet(self, dataset):
        """eps_theta(x_t, t, c): a `UNet2DConditionModel` with cross-attention at `--attention_levels` (+ the mid block)."""
        from diffusers import UNet2DConditionModel

        a = self.ddpm_args
        widths = a.unet_widths()
        attention = set(a.cross_attention_levels())
        groups = a.norm_num_groups or next(g for g in (32, 16, 8, 4, 2, 1) if all(w % g == 0 for w in widths))
        down = tuple("CrossAttnDownBlock2D" if i in attention else "DownBlock2D" for i in range(len(widths)))
        up = tuple("CrossAttnUpBlock2D" if i in attention else "UpBlock2D" for i in reversed(range(len(widths))))
        return UNet2DConditionModel(
            sample_size=dataset.image_size,
            in_channels=dataset.num_channels + (2 if a.coordinate_channels else 0),
            out_channels=dataset.num_channels,
            block_out_channels=tuple(widths),
            layers_per_block=a.layers_per_block,
            down_block_types=down,
            up_block_types=up,
            cross_attention_dim=self.text_dim,
            attention_head_dim=a.attention_head_dim,  # the number of heads, in UNet2DConditionModel
            norm_num_groups=groups,
            dropout=a.dropout,
        )

    def setup(self, dataset) -> None:
        """The text encoder and tokenizer, then the UNet (cross_attention_dim = the encoder's width) and the noise schedule."""
        from .text_gan import _grid_prompts

        require_captioned_images(dataset, "hfgen train text-ddpm")
        self.tokenizer, text_encoder, self.text_encoder_source = self.build_text_encoder(dataset)
        self.text_dim = int(text_encoder.config.hidden_size)
        super().setup(dataset)  # unet (build_unet) + noise scheduler, dataset checks
        self.models["text_encoder"] = text_encoder
        # Which models train and which are averaged: decided per run (ClassVars of Task, set on the instance).
        if self.train_text_encoder:
            self.frozen_models, self.ema_models = (), ("unet", "text_encoder")
        else:
            text_encoder.eval().requires_grad_(False)
            self.frozen_models, self.ema_models = ("text_encoder",), ("unet",)
        self.prompts, self.prompt_labels = _grid_prompts(dataset, self.ddpm_args.sample_prompts)
        self._tokens: dict = {}

    def create_optimizers(self) -> dict:
        """One AdamW over the UNet and, when trained jointly, the text encoder (one update of both per step)."""
        a = self.ddpm_args
        params = list(self.models["unet"].parameters())
        if self.train_text_encoder:
            params += list(self.models["text_encoder"].parameters())
        return {"denoiser": torch.optim.AdamW(params, lr=self.learning_rate, betas=(a.adam_beta1, a.adam_beta2),
                                              weight_decay=a.adam_weight_decay, eps=a.adam_epsilon)}

    def phases(self) -> list[Phase]:
        """One phase: the UNet (and the jointly trained text encoder); the loop clips the gradient norm (--max_grad_norm, suggested 1.0)."""
        trainable = ("unet", "text_encoder") if self.train_text_encoder else ("unet",)
        return [Phase("diffusion", optimizer="denoiser", trainable=trainable, step=self.training_step)]

    # -- the training step ------------------------------------------------------------------------

    def _tokenize(self, texts: list[str], device) -> tuple[torch.Tensor, torch.Tensor]:
        """input_ids and attention_mask [N, L] (padded to the tokenizer's max length), cached per caption."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._tokens]
        if missing:
            limit = int(self.tokenizer.model_max_length)
            if limit > 10_000:  # a tokenizer without a limit: the text encoder's positions
                limit = int(self.models["text_encoder"].config.max_position_embeddings)
            enc = self.tokenizer(missing, padding="max_length", truncation=True, max_length=limit, return_tensors="pt")
            for i, text in enumerate(missing):
                self._tokens[text] = (enc["input_ids"][i], enc["attention_mask"][i])
        ids = torch.stack([self._tokens[t][0] for t in texts]).to(device)
        mask = torch.stack([self._tokens[t][1] for t in texts]).to(device)
        return ids, mask

    def conditioning(self, batch: dict, ctx: StepContext) -> dict:
        """c = e(caption) for the UNet's cross-attention, the caption replaced by "" with probability --condition_dropout."""
        texts = list(batch["text"])
        p = self.ddpm_args.condition_dropout
        if p > 0:
            # Drawn from the loop's checkpointed generator: a resumed run drops the same captions.
            dropped = torch.rand(len(texts), generator=ctx.generator, device=ctx.generator.device) < p
            texts = ["" if d else t for t, d in zip(texts, dropped.tolist())]
        ids, mask = self._tokenize(texts, ctx.device)
        encoder = ctx.models["text_encoder"]
        with torch.set_grad_enabled(self.train_text_encoder and torch.is_grad_enabled()):
            hidden = encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        return {"encoder_hidden_states": hidden, "encoder_attention_mask": mask}

    def predict(self, unet, noisy: torch.Tensor, timesteps: torch.Tensor, conditioning: dict) -> torch.Tensor:
        """eps_theta(x_t, t, c), the coordinate channels appended to x_t when the model takes them."""
        if self.ddpm_args.coordinate_channels:
            from hfgen.pipelines.pipeline_text_ddpm import coordinate_grid

            b, _, h, w = noisy.shape
            noisy = torch.cat([noisy, coordinate_grid(b, h, w, device=noisy.device, dtype=noisy.dtype)], dim=1)
        return unet(noisy, timesteps, **conditioning).sample

    # -- outputs --------------------------------------------------------------------------------

    def build_pipeline(self, models):
        """A TextToImageDDPMPipeline whose scheduler is the sampler of --eval_scheduler built from the trained schedule."""
        from hfgen.pipelines import TextToImageDDPMPipeline

        trained = self.noise_scheduler.config if hasattr(self, "noise_scheduler") else self.build_noise_scheduler().config
        scheduler = make_scheduler(self.ddpm_args.eval_scheduler, trained, passes_clipped_output=True)
        return TextToImageDDPMPipeline(unet=models["unet"], text_encoder=models["text_encoder"], tokenizer=self.tokenizer,
                                       scheduler=scheduler, coordinate_channels=self.ddpm_args.coordinate_channels)

    def sampling_pipeline(self, pipeline):
        """The exported pipeline already samples with --eval_scheduler; only the progress bar is turned off."""
        pipeline.set_progress_bar_config(disable=True)
        return pipeline

    def _call_kwargs(self) -> dict:
        return {"num_inference_steps": self.ddpm_args.eval_inference_steps, "guidance_scale": self.ddpm_args.guidance_scale}

    def output_samples(self, pipeline, generator):
        """64 images of the grid's prompts for the loop's check of generated outputs (NaN, saturation)."""
        pipe = self.sampling_pipeline(pipeline)
        prompts = (self.prompts * (64 // len(self.prompts) + 1))[:64]
        return pipe(prompts, generator=generator, output_type="np", **self._call_kwargs()).images

    def save_samples(self, pipeline, path: str, num_samples: int, seed: int) -> str:
        """A grid with one row per prompt (`--sample_prompts`), each row's prompt written right of it and in *_prompts.txt."""
        import os

        from .text_gan import _write_row_labels
        from .visualize import save_image_grid

        pipe = self.sampling_pipeline(pipeline)
        per_prompt = max(1, num_samples // len(self.prompts))
        generator = torch.Generator(device=pipe.device).manual_seed(seed)
        images = pipe(self.prompts, num_images_per_prompt=per_prompt, generator=generator, output_type="np", **self._call_kwargs()).images
        with open(os.path.splitext(path)[0] + "_prompts.txt", "w", encoding="utf-8") as f:
            f.write("\n".join(self.prompt_labels) + "\n")
        save_image_grid(images, path, nrow=per_prompt, scale=max(1, min(4, 128 // images.shape[1])))
        _write_row_labels(path, self.prompt_labels)
        return path

    def build_evaluator(self, dataset, metrics: str, num_samples: int, seed: int):
        """hfgen's text-to-image evaluation (hfgen.evaluation.text: attribute accuracy on the 48 shapes prompts, all /
        training / held-out combinations, shapes-FID, CLIP score, R-precision, diversity), sampled as the grid is
        (sampler, steps, guidance scale: recorded in the protocol)."""
        from hfgen.evaluation.text import TextToImageEvaluator

        return GuidedEvaluator(TextToImageEvaluator(num_samples=num_samples, seed=seed, dataset_name=dataset.name), self._call_kwargs(),
                               self.ddpm_args.eval_scheduler)

    def describe(self) -> dict:
        """The DDPM description plus the text side: encoder source, whether it was trained, the grid's prompts."""
        out = super().describe()
        out.update(task=self.name, text_encoder=getattr(self, "text_encoder_source", None), train_text_encoder=self.train_text_encoder,
                   sample_prompts=getattr(self, "prompt_labels", None))
        encoder = self.models.get("text_encoder")
        if encoder is not None:
            out["ddpm"]["text_encoder_parameters"] = sum(p.numel() for p in encoder.parameters())
        return out


class _WithDefaults:
    """A pipeline whose calls get `defaults` (e.g. guidance_scale) unless given; everything else is the pipeline's."""

    def __init__(self, pipeline, defaults: dict):
        self._pipeline, self._defaults = pipeline, defaults

    def __call__(self, *args, **kwargs):
        return self._pipeline(*args, **{**self._defaults, **kwargs})

    def __getattr__(self, name):
        return getattr(self._pipeline, name)


class GuidedEvaluator:
    """Runs a prompt evaluator (`evaluator(pipeline) -> {"metrics", "protocol"}`) with the sampling settings of a guided
    diffusion model (steps, guidance scale) and records them, with the sampler, in the protocol."""

    def __init__(self, evaluator, call_kwargs: dict, scheduler: Optional[str]):
        self.evaluator, self.call_kwargs, self.scheduler = evaluator, dict(call_kwargs), scheduler

    def __call__(self, pipeline) -> dict:
        pipeline.set_progress_bar_config(disable=True)
        result = self.evaluator(_WithDefaults(pipeline, self.call_kwargs))
        sampler = {"scheduler": type(pipeline.scheduler).__name__, **self.call_kwargs}
        if self.scheduler is not None:
            sampler["name"] = self.scheduler + (" (trailing spacing)" if self.scheduler != "ddpm" else "")
        result.setdefault("protocol", {})["sampler"] = sampler
        return result

    def floors(self) -> dict:
        return self.evaluator.floors()


# -- `hfgen evaluate` for guided text-to-image pipelines -----------------------------------


def evaluate_guided_pipeline(args, pipe, output: str, steps: Optional[list[int]] = None) -> int:
    """`hfgen evaluate` on a guided text-to-image diffusion pipeline: hfgen's text-to-image evaluation of the shapes
    prompts (`hfgen.evaluation.text`), sampled with the folder's (or `--scheduler`'s) sampler at `--guidance_scale`
    (default: the pipeline's) and each `--steps` count (default: the pipeline's), the sampling settings recorded in the
    protocol; prints the table, writes the JSON report. Returns the exit code (2 on a usage or data error)."""
    import json
    import os
    import sys
    import time

    from hfgen.evaluation import EvaluationError
    from hfgen.evaluation.text import TextToImageEvaluator, format_text_table

    call = {} if getattr(args, "guidance_scale", None) is None else {"guidance_scale": float(args.guidance_scale)}
    try:
        if "guidance_scale" in call:
            pipe.check_guidance_scale(call["guidance_scale"])
        evaluator = TextToImageEvaluator(num_samples=args.num_samples, seed=args.seed, clip_model=getattr(args, "clip_model", None),
                                         dataset_name=args.dataset)
        sweep = []
        for count in steps or [None]:
            kwargs = {**call, **({"num_inference_steps": int(count)} if count else {})}
            start = time.perf_counter()
            result = GuidedEvaluator(evaluator, kwargs, getattr(args, "scheduler", None))(pipe)
            sweep.append({"num_inference_steps": count or 50, "metrics": result["metrics"],
                          "seconds_per_sample": (time.perf_counter() - start) / max(1, int(result["protocol"].get("n_generated") or 1))})
        floors = evaluator.floors() if getattr(args, "floors", False) else None
    except (EvaluationError, ValueError) as error:
        print(f"error: {str(error).replace('guidance_scale=', '--guidance_scale ')}", file=sys.stderr)
        return 2
    report = {"model": args.model, "metrics": result["metrics"], "protocol": result["protocol"], "details": result.get("details", {})}
    if floors is not None:
        report["floors"] = floors
    if steps and len(steps) > 1:
        report["steps"] = sweep
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    with open(output, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2, default=float)
        f.write("\n")
    print(f"Evaluation of {args.model} (text to image) on the {args.dataset} prompts, sampler {json.dumps(result['protocol']['sampler'])}\n")
    print(format_text_table(result, floors))
    for row in sweep if len(sweep) > 1 else []:
        print(f"steps {row['num_inference_steps']}: " + ", ".join(f"{k} {v:.4g}" for k, v in row["metrics"].items()
                                                              if isinstance(v, (int, float))))
    print(f"\nwrote {os.path.abspath(output)}")
    return 0
