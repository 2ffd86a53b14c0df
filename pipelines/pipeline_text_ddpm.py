"""TextToImageDDPMPipeline: text-conditioned pixel-space diffusion with classifier-free guidance.

A `UNet2DConditionModel` eps_theta(x_t, t, c) denoises pixels while attending (cross-attention) to the
hidden states c of a `CLIPTextModel`, the padding tokens masked out (`encoder_attention_mask`). Sampling
uses classifier-free guidance (Ho & Salimans 2022): with c_0 the embedding of the empty (or negative)
prompt, each step predicts

    pred = pred(x_t, t, c_0) + w * (pred(x_t, t, c) - pred(x_t, t, c_0)),   w = `guidance_scale`

in one UNet call on a doubled batch (the unconditional half first, as diffusers' StableDiffusionPipeline
does). The argument names are StableDiffusionPipeline's; the model works in pixel space (no VAE).

Cross-attention alone does not know where a pixel is; a model trained with `coordinate_channels=True`
(recorded in `model_index.json`) takes two extra input channels holding each pixel's x and y in
[-1, 1] (`coordinate_grid`), which this pipeline adds at every step.

Like every hfgen pipeline file it imports only torch, numpy, diffusers, transformers and its siblings
(`hfgen_pipeline_utils.py`, `pipeline_ddpm.py`): exported repositories ship them, and

    DiffusionPipeline.from_pretrained(repo, trust_remote_code=True)

works where hfgen is not installed.
"""

import inspect
import math
import warnings
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np
import torch
from diffusers import DiffusionPipeline, ImagePipelineOutput
from diffusers.utils import logging
from diffusers.utils.torch_utils import randn_tensor

from .hfgen_pipeline_utils import HfgenPipelineMixin, check_prompt_or_embeds, prompt_list, tokenize_prompts
from .pipeline_ddpm import TRAINED_SCHEDULE_KEYS, check_num_inference_steps, schedule_mismatches

logger = logging.get_logger(__name__)

EXAMPLE_DOC_STRING = """
    Examples:
        ```py
        >>> import torch
        >>> from diffusers import DiffusionPipeline

        >>> pipe = DiffusionPipeline.from_pretrained("user/text-ddpm-shapes", trust_remote_code=True)
        >>> image = pipe("a red circle at the top left", guidance_scale=3.0, generator=torch.manual_seed(0)).images[0]
        ```
"""


def coordinate_grid(batch_size: int, height: int, width: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """Two channels [batch_size, 2, height, width]: each pixel's x (channel 0) and y (channel 1), from -1 to 1.

    Concatenated to the UNet's input by a model trained with coordinate channels (training and sampling
    use this one function), they tell the convolutions and the attention where a pixel lies.
    """
    ys = torch.linspace(-1.0, 1.0, height, device=device, dtype=dtype)
    xs = torch.linspace(-1.0, 1.0, width, device=device, dtype=dtype)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([grid_x, grid_y])[None].expand(batch_size, 2, height, width)


class TextToImageDDPMPipeline(HfgenPipelineMixin, DiffusionPipeline):
    r"""Pipeline for text-to-image generation with a pixel-space DDPM and classifier-free guidance.

    This model inherits from [`DiffusionPipeline`]; `save_pretrained` / `from_pretrained` come from
    [`HfgenPipelineMixin`] (safetensors only, loadable without hfgen).

    Parameters:
        unet ([`UNet2DConditionModel`]): the denoiser, cross-attending to the text encoder's hidden states
            (`cross_attention_dim` = the text encoder's width).
        text_encoder ([`~transformers.CLIPTextModel`]): its `last_hidden_state` is the condition.
        tokenizer ([`~transformers.PreTrainedTokenizerFast`] or [`~transformers.CLIPTokenizer`]): the
            tokenizer the text encoder was trained with.
        scheduler ([`SchedulerMixin`]): a scheduler with the noise schedule the UNet was trained with
            (hfgen exports `DDIMScheduler` with trailing spacing); any other made from its config works,
            e.g. `DPMSolverMultistepScheduler.from_config(pipe.scheduler.config)`.
        coordinate_channels (`bool`, *optional*): the UNet takes two extra input channels with each pixel's x
            and y (`coordinate_grid`); recorded in `model_index.json` by the export. Default: True exactly when
            the UNet takes two more input channels than it returns.
    """

    model_cpu_offload_seq = "text_encoder->unet"

    def __init__(self, unet, text_encoder, tokenizer, scheduler, coordinate_channels: Optional[bool] = None):
        super().__init__()
        if coordinate_channels is None:
            # Not given (e.g. `TextToImageDDPMPipeline(**pipe.components)`, which leaves settings out): the UNet's
            # two extra input channels can only be the coordinates.
            coordinate_channels = unet.config.in_channels == unet.config.out_channels + 2
        extra = 2 if coordinate_channels else 0
        if unet.config.in_channels != unet.config.out_channels + extra:
            raise ValueError(
                f"The UNet takes {unet.config.in_channels} input channels and returns {unet.config.out_channels}: with "
                f"coordinate_channels={bool(coordinate_channels)} it should take {unet.config.out_channels + extra}. Pass "
                f"coordinate_channels={not coordinate_channels} (what the model was trained with), or the matching UNet."
            )
        width = getattr(text_encoder.config, "hidden_size", None)
        if width is not None and unet.config.cross_attention_dim != width:
            raise ValueError(f"The UNet's cross_attention_dim ({unet.config.cross_attention_dim}) differs from the text "
                             f"encoder's hidden_size ({width}): pass the text encoder the UNet was trained with.")
        self.register_modules(unet=unet, text_encoder=text_encoder, tokenizer=tokenizer, scheduler=scheduler)
        self.register_to_config(coordinate_channels=bool(coordinate_channels))
        # The schedule the UNet came with: a scheduler swapped in later is checked against it.
        self._trained_schedule = {k: scheduler.config[k] for k in TRAINED_SCHEDULE_KEYS if k in scheduler.config}

    # -- text ---------------------------------------------------------------------------------------

    @torch.no_grad()
    def encode_prompt(self, prompt: Union[str, List[str]]) -> Tuple[torch.Tensor, torch.Tensor]:
        """`(prompt_embeds [N, L, D], prompt_attention_mask [N, L])` of `prompt`: the text encoder's hidden states.

        Prompts are padded to the tokenizer's max length (the mask marks the padding, which the UNet's
        cross-attention ignores) and truncated beyond it, with a warning; a prompt made only of words
        outside the vocabulary (all `[UNK]`) is embedded anyway, with a warning: it carries no information.
        """
        prompts = prompt_list(prompt, "prompt")
        inputs = tokenize_prompts(self.tokenizer, self.text_encoder, prompts, logger)
        device = self.text_encoder.device
        mask = inputs["attention_mask"].to(device)
        hidden = self.text_encoder(input_ids=inputs["input_ids"].to(device), attention_mask=mask).last_hidden_state
        return hidden, mask

    def _check_embeds(self, embeds, mask, name: str) -> Tuple[torch.Tensor, torch.Tensor]:
        width = self.unet.config.cross_attention_dim
        if not isinstance(embeds, torch.Tensor) or embeds.dim() != 3 or embeds.shape[0] == 0 or embeds.shape[2] != width:
            shape = tuple(embeds.shape) if isinstance(embeds, torch.Tensor) else type(embeds).__name__
            raise ValueError(f"{name} must be a tensor of shape [num_prompts, sequence_length, {width}] (the text encoder's "
                             f"hidden states, e.g. pipe.encode_prompt(prompts)[0]), got {shape}.")
        if not torch.isfinite(embeds).all():
            raise ValueError(f"{name} contain NaN or infinite values: pass the output of pipe.encode_prompt(prompts).")
        if mask is None:
            mask = torch.ones(embeds.shape[:2], dtype=torch.long, device=embeds.device)  # every token attended
        elif not isinstance(mask, torch.Tensor) or tuple(mask.shape) != tuple(embeds.shape[:2]):
            shape = tuple(mask.shape) if isinstance(mask, torch.Tensor) else type(mask).__name__
            raise ValueError(f"{name.replace('embeds', 'attention_mask')} must have shape {tuple(embeds.shape[:2])} (one 0/1 "
                             f"per token of {name}), got {shape}.")
        return embeds, mask

    # -- checks ---------------------------------------------------------------------------------------

    def check_num_inference_steps(self, num_inference_steps) -> int:
        """`num_inference_steps` as an int in [1, num_train_timesteps], or a ValueError that says so."""
        return check_num_inference_steps(self.scheduler, num_inference_steps,
                                         "use e.g. 50 with this folder's DDIM scheduler or DPM-Solver, up to the training timesteps with DDPM.")

    @staticmethod
    def check_guidance_scale(guidance_scale) -> float:
        """`guidance_scale` as a float; a ValueError when negative or not finite, a warning in (0, 1).

        w = 1 is the conditional model alone (no guidance, one UNet pass per step); w > 1 extrapolates away
        from the unconditional prediction (classifier-free guidance); w = 0 ignores the prompt (the
        unconditional model, or the negative prompt); 0 < w < 1 interpolates between the two, i.e. it
        weakens the prompt. A negative w would push samples AWAY from the prompt: use negative_prompt.
        """
        if isinstance(guidance_scale, (bool, np.bool_)) or not isinstance(guidance_scale, (int, float, np.integer, np.floating)) \
                or not math.isfinite(guidance_scale):
            raise ValueError(f"guidance_scale must be a finite number, got {guidance_scale!r}.")
        if guidance_scale < 0:
            raise ValueError(
                f"guidance_scale={guidance_scale} is negative, which would steer samples away from the prompt. Use a value "
                ">= 1 (1: no guidance, 3: this model's default; larger follows the prompt more closely), and negative_prompt "
                "to steer away from something."
            )
        if 0 < guidance_scale < 1:
            warnings.warn(
                f"guidance_scale={guidance_scale} < 1 weakens the prompt: the prediction is interpolated between the unconditional "
                "one (guidance_scale=0, the prompt is ignored) and the conditional one (1, no guidance). Classifier-free "
                "guidance needs guidance_scale > 1 (e.g. 3).",
                stacklevel=3,
            )
        return float(guidance_scale)

    def check_scheduler(self) -> None:
        """Warns when the current scheduler contradicts the schedule the UNet was trained with."""
        bad = schedule_mismatches(dict(self.scheduler.config), self._trained_schedule)
        if bad:
            warnings.warn(
                f"The scheduler ({type(self.scheduler).__name__}) contradicts the noise schedule this UNet was trained with: "
                f"{', '.join(bad)}. Samples will be wrong; build samplers from the trained config, e.g. "
                "DPMSolverMultistepScheduler.from_config(pipe.scheduler.config).",
                stacklevel=3,
            )

    # -- sampling -------------------------------------------------------------------------------------

    def _model_input(self, x: torch.Tensor) -> torch.Tensor:
        if not self.config.coordinate_channels:
            return x
        return torch.cat([x, coordinate_grid(x.shape[0], x.shape[2], x.shape[3], device=x.device, dtype=x.dtype)], dim=1)

    @torch.no_grad()
    def __call__(
        self,
        prompt: Optional[Union[str, List[str]]] = None,
        negative_prompt: Optional[Union[str, List[str]]] = None,
        num_inference_steps: int = 50,
        guidance_scale: float = 3.0,
        num_images_per_prompt: int = 1,
        generator: Optional[Union[torch.Generator, List[torch.Generator]]] = None,
        latents: Optional[torch.Tensor] = None,
        prompt_embeds: Optional[torch.Tensor] = None,
        negative_prompt_embeds: Optional[torch.Tensor] = None,
        prompt_attention_mask: Optional[torch.Tensor] = None,
        negative_prompt_attention_mask: Optional[torch.Tensor] = None,
        eta: float = 0.0,
        output_type: str = "pil",
        return_dict: bool = True,
    ) -> Union[ImagePipelineOutput, Tuple]:
        r"""Generates images from text by denoising pure noise, with classifier-free guidance.

        Args:
            prompt (`str` or `List[str]`): the prompt(s); give this or `prompt_embeds`, not both.
            negative_prompt (`str` or `List[str]`, *optional*): what to steer away from, in place of the empty
                prompt of the unconditional prediction; one string for all, or one per prompt.
            num_inference_steps (`int`, defaults to 50): denoising steps, in [1, num_train_timesteps].
            guidance_scale (`float`, defaults to 3.0): w of classifier-free guidance. 1: the conditional model
                alone (one UNet pass per step); > 1: follows the prompt more closely; 0: ignores the prompt;
                values in (0, 1) weaken it (warned); negative values are refused.
            num_images_per_prompt (`int`, defaults to 1): images per prompt, consecutive in the output.
            generator (`torch.Generator`, *optional*): makes sampling deterministic.
            latents (`torch.Tensor`, *optional*): the starting noise x_T,
                [num_prompts * num_images_per_prompt, C, H, W].
            prompt_embeds (`torch.Tensor`, *optional*): text hidden states [num_prompts, L, D]
                (`pipe.encode_prompt(prompts)[0]`), instead of `prompt`.
            negative_prompt_embeds (`torch.Tensor`, *optional*): the same for `negative_prompt`.
            prompt_attention_mask, negative_prompt_attention_mask (`torch.Tensor`, *optional*): [num_prompts, L]
                masks of the padding tokens (`pipe.encode_prompt(prompts)[1]`); default: every token attended.
            eta (`float`, defaults to 0.0): DDIM's eta (0: deterministic); ignored by schedulers without it.
            output_type (`str`, defaults to "pil"): "pil", "np" (NHWC in [0, 1]) or "pt" (NCHW in [0, 1]).
            return_dict (`bool`, defaults to True): return an [`ImagePipelineOutput`] or a tuple.

        Examples:

        Returns:
            [`ImagePipelineOutput`] or `tuple`: the images, in `.images` (or the tuple's first item).
        """
        self.check_output_type(output_type)
        check_prompt_or_embeds(prompt, prompt_embeds)
        if negative_prompt is not None and negative_prompt_embeds is not None:
            raise ValueError("Pass either negative_prompt or negative_prompt_embeds, not both.")
        if isinstance(num_images_per_prompt, (bool, np.bool_)) or not isinstance(num_images_per_prompt, (int, np.integer)) \
                or num_images_per_prompt < 1:
            raise ValueError(f"num_images_per_prompt must be a positive integer, got {num_images_per_prompt!r}.")
        num_inference_steps = self.check_num_inference_steps(num_inference_steps)
        guidance_scale = self.check_guidance_scale(guidance_scale)
        self.check_scheduler()

        if prompt_embeds is None:
            prompt_embeds, prompt_attention_mask = self.encode_prompt(prompt)
        cond, cond_mask = self._check_embeds(prompt_embeds, prompt_attention_mask, "prompt_embeds")
        num_prompts = cond.shape[0]
        # w = 1 needs only the conditional prediction and w = 0 only the unconditional one: one UNet pass each.
        need_uncond, need_cond = guidance_scale != 1.0, guidance_scale != 0.0
        uncond = uncond_mask = None
        if need_uncond:
            if negative_prompt_embeds is None:
                negatives = [""] * num_prompts if negative_prompt is None else prompt_list(negative_prompt, "negative_prompt")
                if len(negatives) == 1 and num_prompts > 1:
                    negatives = negatives * num_prompts
                if len(negatives) != num_prompts:
                    raise ValueError(f"negative_prompt has {len(negatives)} entries for {num_prompts} prompts: pass one string "
                                     "for all, or one negative prompt per prompt.")
                negative_prompt_embeds, negative_prompt_attention_mask = self.encode_prompt(negatives)
            uncond, uncond_mask = self._check_embeds(negative_prompt_embeds, negative_prompt_attention_mask, "negative_prompt_embeds")
            if uncond.shape != cond.shape:
                raise ValueError(f"negative_prompt_embeds has shape {tuple(uncond.shape)}; it must match prompt_embeds "
                                 f"{tuple(cond.shape)}.")
        # The unconditional half first (StableDiffusionPipeline's order), then each half repeated per image.
        parts = [(e, m) for e, m, used in ((uncond, uncond_mask, need_uncond), (cond, cond_mask, need_cond)) if used]
        n = int(num_images_per_prompt)
        embeds = torch.cat([e.repeat_interleave(n, dim=0) for e, _ in parts]).to(device=self.device, dtype=self.unet.dtype)
        masks = torch.cat([m.repeat_interleave(n, dim=0) for _, m in parts]).to(device=self.device)

        config = self.unet.config
        size = config.sample_size if isinstance(config.sample_size, (tuple, list)) else (config.sample_size, config.sample_size)
        shape = (num_prompts * n, config.out_channels, *size)
        if latents is None:
            image = randn_tensor(shape, generator=generator, device=self.device, dtype=self.unet.dtype)
        else:
            if not isinstance(latents, torch.Tensor) or tuple(latents.shape) != shape:
                got = tuple(latents.shape) if isinstance(latents, torch.Tensor) else type(latents).__name__
                raise ValueError(f"latents must have shape {shape} (num_prompts * num_images_per_prompt, channels, height, "
                                 f"width), got {got}.")
            image = latents.to(device=self.device, dtype=self.unet.dtype)

        # DDIM with clip_sample=True clips the predicted x_0 but by default steps along the UNCLIPPED
        # model output; use_clipped_model_output=True keeps the two consistent (as ClassConditionalDDPMPipeline).
        accepted = set(inspect.signature(self.scheduler.step).parameters)
        step_kwargs: Dict[str, Any] = {}
        if "generator" in accepted:
            step_kwargs["generator"] = generator
        if "eta" in accepted:
            step_kwargs["eta"] = eta
        if "use_clipped_model_output" in accepted:
            step_kwargs["use_clipped_model_output"] = True

        self.scheduler.set_timesteps(num_inference_steps, device=self.device)
        for t in self.progress_bar(self.scheduler.timesteps):
            model_input = self._model_input(self.scheduler.scale_model_input(image, t))
            model_input = model_input.repeat(len(parts), 1, 1, 1)
            output = self.unet(model_input, t, encoder_hidden_states=embeds, encoder_attention_mask=masks).sample
            if len(parts) == 2:
                out_uncond, out_cond = output.chunk(2)
                output = out_uncond + guidance_scale * (out_cond - out_uncond)
            image = self.scheduler.step(output, t, image, **step_kwargs).prev_sample

        return self.images_output(image, output_type, return_dict)


TextToImageDDPMPipeline.__call__.__doc__ = TextToImageDDPMPipeline.__call__.__doc__.replace(
    "Examples:\n", EXAMPLE_DOC_STRING.strip("\n") + "\n", 1
)
