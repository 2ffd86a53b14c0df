"""ClassConditionalDDPMPipeline: iterative denoising (Ho et al. 2020) with a class-conditional `UNet2DModel`.

An unconditional DDPM needs no code of ours: hfgen exports it as a stock diffusers `DDPMPipeline`
folder. A class-conditional UNet (`num_class_embeds`) needs `class_labels` at every denoising step,
which `DDPMPipeline` does not pass: this pipeline adds that (labels as in `GANPipeline`: ids, one
for all, or drawn uniformly) and nothing else. Its components are the standard
`unet` and `scheduler`, so any diffusers scheduler swaps in with `X.from_config(pipe.scheduler.config)`.

Like every hfgen pipeline file it imports only torch, numpy, diffusers and its sibling
`hfgen_pipeline_utils.py`: exported repositories ship both, and

    DiffusionPipeline.from_pretrained(repo, trust_remote_code=True)

works where hfgen is not installed.
"""

import inspect
import warnings
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np
import torch
from diffusers import DiffusionPipeline, ImagePipelineOutput
from diffusers.utils.torch_utils import randn_tensor

from .hfgen_pipeline_utils import HfgenPipelineMixin

EXAMPLE_DOC_STRING = """
    Examples:
        ```py
        >>> import torch
        >>> from diffusers import DDIMScheduler, DDPMScheduler, UNet2DModel
        >>> from hfgen.pipelines import ClassConditionalDDPMPipeline

        >>> unet = UNet2DModel(sample_size=16, in_channels=1, out_channels=1, block_out_channels=(8, 16),
        ...                    down_block_types=("DownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "UpBlock2D"),
        ...                    layers_per_block=1, norm_num_groups=8, add_attention=False, num_class_embeds=10)
        >>> pipe = ClassConditionalDDPMPipeline(unet=unet, scheduler=DDPMScheduler(prediction_type="v_prediction"))
        >>> pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config, timestep_spacing="trailing")
        >>> pipe(batch_size=2, class_labels=[3, 7], num_inference_steps=10, generator=torch.manual_seed(0)).images[0].size
        (16, 16)
        ```
"""

# Scheduler settings that must be those the UNet was trained with: a sampler built with others
# (e.g. `DDIMScheduler()` instead of `DDIMScheduler.from_config(pipe.scheduler.config)`) silently
# reads the network's output as something else and makes noise.
TRAINED_SCHEDULE_KEYS = ("num_train_timesteps", "beta_schedule", "beta_start", "beta_end", "prediction_type", "trained_betas")


def schedule_mismatches(config: Dict[str, Any], trained: Dict[str, Any]) -> List[str]:
    """The entries of a scheduler `config` that contradict the `trained` noise schedule, as readable text.

    Only the settings that define what the UNet learned are compared (TRAINED_SCHEDULE_KEYS, and
    `beta_start`/`beta_end` only for the linear schedules that use them); sampler choices (steps,
    spacing, eta) may differ freely.
    """
    out = []
    for key in TRAINED_SCHEDULE_KEYS:
        if key not in trained or key not in config:
            continue
        if key in ("beta_start", "beta_end") and trained.get("beta_schedule") == "squaredcos_cap_v2":
            continue  # the cosine schedule ignores them
        a, b = config[key], trained[key]
        same = abs(a - b) <= 1e-12 * max(1.0, abs(b)) if isinstance(a, float) and isinstance(b, float) else a == b
        if not same:
            out.append(f"{key}={a!r} (trained with {b!r})")
    return out


class ClassConditionalDDPMPipeline(HfgenPipelineMixin, DiffusionPipeline):
    r"""Pipeline for class-conditional image generation with a denoising diffusion model.

    This model inherits from [`DiffusionPipeline`]; `save_pretrained` / `from_pretrained` come from
    [`HfgenPipelineMixin`] (safetensors only, loadable without hfgen).

    Parameters:
        unet ([`UNet2DModel`]): the denoiser, with `num_class_embeds` classes (a class embedding is
            added to the timestep embedding; `num_class_embeds=None` makes it unconditional).
        scheduler ([`SchedulerMixin`]): the noise schedule the UNet was trained with ([`DDPMScheduler`]),
            or any scheduler made from its config ([`DDIMScheduler`], [`DPMSolverMultistepScheduler`]).
    """

    model_cpu_offload_seq = "unet"

    def __init__(self, unet, scheduler):
        super().__init__()
        self.register_modules(unet=unet, scheduler=scheduler)
        # The schedule the UNet came with: a scheduler swapped in later is checked against it.
        self._trained_schedule = {k: scheduler.config[k] for k in TRAINED_SCHEDULE_KEYS if k in scheduler.config}

    @property
    def num_classes(self) -> int:
        """Number of classes the UNet is conditioned on (0: unconditional)."""
        return int(getattr(self.unet.config, "num_class_embeds", None) or 0)

    def _label_id(self, label: Any) -> int:
        if isinstance(label, (bool, np.bool_)) or not isinstance(label, (int, np.integer)):
            raise ValueError(
                f"class_labels must be integer class ids, got {label!r} ({type(label).__name__}); the UNet config records "
                "no class names (hfgen's training logs/training_args.json lists them in order)."
            )
        return int(label)

    def _prepare_class_labels(self, class_labels, batch_size: int, generator) -> Optional[torch.Tensor]:
        """Class labels as an int64 tensor [batch_size] on the device, drawn uniformly when not given."""
        num_classes = self.num_classes
        if num_classes == 0:
            if class_labels is not None:
                raise ValueError("This UNet is unconditional (no num_class_embeds): do not pass class_labels.")
            return None
        if class_labels is None:
            gen = generator[0] if isinstance(generator, list) else generator
            device = gen.device if gen is not None else torch.device("cpu")
            labels = torch.randint(0, num_classes, (batch_size,), generator=gen, device=device)
        elif isinstance(class_labels, torch.Tensor) or (isinstance(class_labels, np.ndarray) and class_labels.dtype.kind not in "USO"):
            tensor = torch.as_tensor(class_labels)
            if tensor.is_floating_point() or tensor.is_complex() or tensor.dtype == torch.bool:
                raise ValueError(f"class_labels must hold integer class ids, got {tensor.dtype} values.")
            labels = tensor.flatten().long()
            if tensor.dim() == 0:
                labels = labels.repeat(batch_size)
        else:
            if isinstance(class_labels, np.ndarray):
                class_labels = class_labels.tolist()
            if isinstance(class_labels, (list, tuple)):
                labels = torch.tensor([self._label_id(label) for label in class_labels], dtype=torch.long)
            else:
                labels = torch.full((batch_size,), self._label_id(class_labels), dtype=torch.long)
        if labels.shape[0] != batch_size:
            raise ValueError(f"Got {labels.shape[0]} class_labels for batch_size={batch_size}: pass one label per sample, or one for all.")
        outside = labels[(labels < 0) | (labels >= num_classes)]
        if outside.numel():
            raise ValueError(f"class_labels must lie in [0, {num_classes - 1}], got {outside.unique()[:8].tolist()}.")
        return labels.to(self.device)

    def check_num_inference_steps(self, num_inference_steps) -> int:
        """`num_inference_steps` as an int in [1, num_train_timesteps], or a ValueError that says so."""
        return check_num_inference_steps(self.scheduler, num_inference_steps,
                                         "use e.g. 50 with a DDIM or DPM-Solver scheduler, or up to the number of training timesteps with DDPM.")

    def check_scheduler(self) -> None:
        """Warns when the current scheduler contradicts the schedule the UNet was trained with."""
        bad = schedule_mismatches(dict(self.scheduler.config), self._trained_schedule)
        if bad:
            warnings.warn(
                f"The scheduler ({type(self.scheduler).__name__}) contradicts the noise schedule this UNet was trained with: "
                f"{', '.join(bad)}. Samples will be wrong; build samplers from the trained config, e.g. "
                "DDIMScheduler.from_config(pipe.scheduler.config, timestep_spacing='trailing').",
                stacklevel=3,
            )

    @torch.no_grad()
    def __call__(
        self,
        batch_size: int = 1,
        class_labels: Optional[Union[int, List[int], torch.Tensor]] = None,
        generator: Optional[Union[torch.Generator, List[torch.Generator]]] = None,
        num_inference_steps: int = 1000,
        eta: float = 0.0,
        latents: Optional[torch.Tensor] = None,
        output_type: str = "pil",
        return_dict: bool = True,
    ) -> Union[ImagePipelineOutput, Tuple]:
        r"""Generates images by denoising pure noise step by step.

        Args:
            batch_size (`int`, defaults to 1): number of images.
            class_labels (`int`, `List[int]` or `torch.Tensor`, *optional*): the class id of each
                image; one id labels the whole batch; drawn uniformly when omitted.
            generator (`torch.Generator`, *optional*): makes sampling deterministic.
            num_inference_steps (`int`, defaults to 1000): denoising steps, in [1, num_train_timesteps].
                1000 is ancestral DDPM; with a DDIM or DPM-Solver++ scheduler 25-50 steps suffice.
            eta (`float`, defaults to 0.0): DDIM's eta (0: deterministic); ignored by schedulers without it.
            latents (`torch.Tensor`, *optional*): the starting noise x_T, [batch_size, C, H, W].
            output_type (`str`, defaults to "pil"): "pil", "np" (NHWC in [0, 1]) or "pt" (NCHW in [0, 1]).
            return_dict (`bool`, defaults to True): return an [`ImagePipelineOutput`] or a tuple.

        Examples:

        Returns:
            [`ImagePipelineOutput`] or `tuple`: the images, in `.images` (or the tuple's first item).
        """
        self.check_output_type(output_type)
        if isinstance(batch_size, (bool, np.bool_)) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
        num_inference_steps = self.check_num_inference_steps(num_inference_steps)
        self.check_scheduler()
        config = self.unet.config
        size = config.sample_size if isinstance(config.sample_size, (tuple, list)) else (config.sample_size, config.sample_size)
        shape = (int(batch_size), config.in_channels, *size)
        if latents is None:
            image = randn_tensor(shape, generator=generator, device=self.device, dtype=self.unet.dtype)
        else:
            if tuple(latents.shape) != shape:
                raise ValueError(f"latents must have shape {shape}, got {tuple(latents.shape)}.")
            image = latents.to(device=self.device, dtype=self.unet.dtype)
        labels = self._prepare_class_labels(class_labels, int(batch_size), generator)

        # What this scheduler's step takes. DDIM with clip_sample=True clips the predicted x_0 but by
        # default keeps the UNCLIPPED model output for the direction to x_t: the two disagree, and
        # samples drift out of range (badly so with guidance). Re-deriving the output from the
        # clipped x_0 (use_clipped_model_output=True, GLIDE's choice) keeps them consistent.
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
            model_input = self.scheduler.scale_model_input(image, t)
            model_output = self.unet(model_input, t, class_labels=labels).sample
            image = self.scheduler.step(model_output, t, image, **step_kwargs).prev_sample

        return self.images_output(image, output_type, return_dict)


ClassConditionalDDPMPipeline.__call__.__doc__ = ClassConditionalDDPMPipeline.__call__.__doc__.replace(
    "Examples:\n", EXAMPLE_DOC_STRING.strip("\n") + "\n", 1
)


def check_num_inference_steps(scheduler, num_inference_steps, hint: str) -> int:
    """`num_inference_steps` as an int in [1, the scheduler's num_train_timesteps], or a ValueError ending in `hint`."""
    trained = int(scheduler.config.num_train_timesteps)
    if isinstance(num_inference_steps, (bool, np.bool_)) or not isinstance(num_inference_steps, (int, np.integer)):
        raise ValueError(f"num_inference_steps must be an integer, got {num_inference_steps!r}.")
    if not 1 <= num_inference_steps <= trained:
        raise ValueError(
            f"num_inference_steps must lie in [1, {trained}] (the scheduler's num_train_timesteps), got {num_inference_steps}: {hint}"
        )
    return int(num_inference_steps)

def check_folder_schedule(folder: str, scheduler) -> List[str]:
    """Warns (and returns the problems) when `scheduler` contradicts the training record of an hfgen folder.

    hfgen's DDPM training writes its noise schedule to `logs/training_args.json` (`ddpm.noise_schedule`);
    a folder whose `scheduler/scheduler_config.json` was edited or replaced afterwards (another
    prediction type, schedule or number of timesteps) samples wrongly, whatever the sampler.
    Folders without that record are not checked.
    """
    import json
    import os

    path = os.path.join(folder, "logs", "training_args.json")
    if scheduler is None or not os.path.isfile(path):
        return []
    try:
        with open(path, encoding="utf-8") as f:
            trained = ((json.load(f).get("ddpm") or {}).get("noise_schedule")) or {}
    except (OSError, ValueError, AttributeError):
        return []
    bad = schedule_mismatches(dict(scheduler.config), trained)
    if bad:
        warnings.warn(
            f"{os.path.join(folder, 'scheduler')} contradicts the noise schedule the UNet was trained with "
            f"({path}): {', '.join(bad)}. Samples will be wrong: restore the trained values in scheduler_config.json.",
            stacklevel=2,
        )
    return bad
