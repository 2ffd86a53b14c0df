"""GANPipeline: sampling from a GAN generator G with the diffusers `DiffusionPipeline` API.

This file holds only what is GAN-specific (inputs and `__call__`); saving and loading come from
`hfgen_pipeline_utils.py`, imported relatively. Both import only torch, diffusers, transformers and
huggingface_hub: hfgen ships them verbatim inside every exported repository, so that

    DiffusionPipeline.from_pretrained(repo, trust_remote_code=True)

works where hfgen is not installed.
"""

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
        >>> from hfgen import DCGANConfig, DCGANGenerator, GANPipeline

        >>> config = DCGANConfig(image_size=32, num_channels=3, latent_dim=64, generator_channels=16)
        >>> pipe = GANPipeline(gan_generator=DCGANGenerator(config).eval())
        >>> image = pipe(batch_size=4, generator=torch.manual_seed(0)).images[0]
        >>> image.size
        (32, 32)

        >>> # a trained model: a local folder or a Hub repository
        >>> # pipe = GANPipeline.from_pretrained("user/wgan-gp-mnist")
        ```
"""

class GANPipeline(HfgenPipelineMixin, DiffusionPipeline):
    r"""Pipeline for sampling from a GAN generator G: x = G(z), z ~ N(0, I).

    This model inherits from [`DiffusionPipeline`]. Check the superclass documentation for the
    generic methods implemented for all pipelines (running on a device...); `save_pretrained` and
    `from_pretrained` come from [`HfgenPipelineMixin`] (safetensors only, loadable without hfgen).

    Parameters:
        gan_generator ([`PreTrainedModel`]):
            The generator G: `forward(latents, class_labels=None, condition_embeds=None)` returning
            images in [-1, 1] ([N, C, H, W]) or vectors ([N, D]); its config has `latent_dim`.
    """

    model_cpu_offload_seq = "gan_generator"

    def __init__(self, gan_generator):
        super().__init__()
        self.register_modules(gan_generator=gan_generator)

    def _class_names(self) -> Dict[str, int]:
        """Class name -> id from the generator config's `label2id` / `id2label`; empty when they hold
        only transformers' placeholders (`LABEL_0`, `LABEL_1`, ...), i.e. the classes have no names."""
        config = self.gan_generator.config
        # transformers 5 leaves label2id None when a config is built from id2label alone: invert it.
        names = {str(name): int(i) for i, name in (getattr(config, "id2label", None) or {}).items()}
        names.update({str(name): int(i) for name, i in (getattr(config, "label2id", None) or {}).items()})
        if all(name == f"LABEL_{i}" for name, i in names.items()):
            return {}
        return names

    def _label_id(self, label: Any, names: Dict[str, int]) -> int:
        """One class label (an int or a class name) as an int."""
        if isinstance(label, (str, np.str_)):
            if label in names:
                return names[label]
            if not names:
                raise ValueError(
                    f"class_labels={label!r} is a class name, but this generator's config has no class names "
                    "(its id2label holds only placeholders): pass integer class ids instead."
                )
            known = ", ".join(repr(n) for n, _ in sorted(names.items(), key=lambda item: item[1]))
            raise ValueError(f"Unknown class name {label!r}; this generator knows: {known} (or pass integer class ids).")
        if isinstance(label, (bool, np.bool_)) or not isinstance(label, (int, np.integer)):
            raise ValueError(
                f"class_labels must be integer class ids or class names, got {label!r} ({type(label).__name__})."
            )
        return int(label)

    def _prepare_class_labels(self, class_labels, batch_size: int, generator) -> Optional[torch.Tensor]:
        """Class labels as an int64 tensor [batch_size], drawn uniformly when not given."""
        num_classes = getattr(self.gan_generator.config, "num_classes", 0)
        if num_classes == 0:
            if class_labels is not None:
                raise ValueError("This generator is unconditional: do not pass class_labels.")
            return None
        if class_labels is None:
            # Sample y ~ U{0..K-1} from the same torch.Generator, so seeded calls stay deterministic.
            gen = generator[0] if isinstance(generator, list) else generator
            device = gen.device if gen is not None else torch.device("cpu")
            labels = torch.randint(0, num_classes, (batch_size,), generator=gen, device=device)
        elif isinstance(class_labels, torch.Tensor) or (
            isinstance(class_labels, np.ndarray) and class_labels.dtype.kind not in "USO"  # not names
        ):
            tensor = torch.as_tensor(class_labels)
            if tensor.is_floating_point() or tensor.is_complex() or tensor.dtype == torch.bool:
                raise ValueError(
                    f"class_labels must hold integer class ids, got {tensor.dtype} values "
                    f"{tensor.flatten()[:4].tolist()}: pass an integer tensor (e.g. torch.tensor([1, 3]))."
                )
            labels = tensor.flatten().long()
            if tensor.dim() == 0:  # one label for the whole batch, like an int
                labels = labels.repeat(batch_size)
        else:
            names = self._class_names()
            if isinstance(class_labels, np.ndarray):
                class_labels = class_labels.tolist()
            if isinstance(class_labels, (list, tuple)):
                labels = torch.tensor([self._label_id(label, names) for label in class_labels], dtype=torch.long)
            else:  # one int or name labels the whole batch
                labels = torch.full((batch_size,), self._label_id(class_labels, names), dtype=torch.long)
        if labels.shape[0] != batch_size:
            raise ValueError(f"Got {labels.shape[0]} class_labels for batch_size={batch_size}: pass one label per sample, or one for all.")
        outside = labels[(labels < 0) | (labels >= num_classes)]
        if outside.numel():
            raise ValueError(f"class_labels must lie in [0, {num_classes - 1}], got {outside.unique()[:8].tolist()}.")
        return labels.to(self.device)

    def _prepare_latents(self, latents, batch_size: Optional[int], generator) -> Tuple[torch.Tensor, int]:
        """Validated latents on the pipeline's device and dtype, drawn from N(0, I) when not given."""
        config = self.gan_generator.config
        if batch_size is not None:
            if isinstance(batch_size, (bool, np.bool_)) or not isinstance(batch_size, (int, np.integer)):
                raise ValueError(f"batch_size must be a positive integer, got {batch_size!r} ({type(batch_size).__name__}).")
            if batch_size < 1:
                raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
            batch_size = int(batch_size)
        if latents is None:
            batch_size = 1 if batch_size is None else batch_size
            shape = (batch_size, config.latent_dim)
            return randn_tensor(shape, generator=generator, device=self.device, dtype=self.gan_generator.dtype), batch_size
        # numpy latents are converted (the "np" outputs and most user code are numpy); other types are refused.
        if isinstance(latents, np.ndarray):
            if latents.dtype.kind not in "fiu":
                raise ValueError(f"latents must hold numbers, got a numpy array of dtype {latents.dtype}.")
            latents = torch.from_numpy(np.ascontiguousarray(latents))
        elif not isinstance(latents, torch.Tensor):
            raise ValueError(
                f"latents must be a torch.Tensor (or numpy array) of shape [batch_size, {config.latent_dim}], "
                f"got {type(latents).__name__}."
            )
        if latents.dim() < 2 or latents.shape[0] == 0 or latents[0].numel() != config.latent_dim:
            raise ValueError(f"latents must have shape [batch_size, {config.latent_dim}], got {tuple(latents.shape)}.")
        if batch_size is not None and batch_size != latents.shape[0]:
            raise ValueError(
                f"batch_size={batch_size} contradicts latents with {latents.shape[0]} rows: pass only latents "
                "(the batch size is their number of rows), or a matching batch_size."
            )
        latents = latents.to(device=self.device, dtype=self.gan_generator.dtype)
        if not torch.isfinite(latents).all():
            raise ValueError("latents contain NaN or infinite values: pass finite noise (e.g. from torch.randn).")
        return latents, latents.shape[0]

    @torch.no_grad()
    def __call__(
        self,
        batch_size: Optional[int] = None,
        class_labels: Optional[Union[int, str, List[Union[int, str]], torch.Tensor]] = None,
        condition_embeds: Optional[torch.Tensor] = None,
        generator: Optional[Union[torch.Generator, List[torch.Generator]]] = None,
        latents: Optional[Union[torch.Tensor, np.ndarray]] = None,
        output_type: str = "pil",
        return_dict: bool = True,
    ) -> Union[ImagePipelineOutput, Tuple]:
        r"""Generates samples.

        Args:
            batch_size (`int`, *optional*): number of samples; defaults to 1, or to the number of
                rows of `latents` (a different value is an error).
            class_labels (`int`, `str`, `List[int | str]` or `torch.Tensor`, *optional*): labels
                for a class-conditional G, as integer ids or class names (the config's `label2id`,
                e.g. "cat"); one int or name labels the whole batch; drawn uniformly when omitted.
            condition_embeds (`torch.Tensor`, *optional*): [batch_size, condition_dim] condition
                vectors (e.g. text embeddings) for a G with `condition_dim > 0`.
            generator (`torch.Generator`, *optional*): makes sampling deterministic.
            latents (`torch.Tensor` or `np.ndarray`, *optional*): pre-drawn noise z of shape
                [batch_size, latent_dim], finite; numpy arrays are converted to tensors.
            output_type (`str`, defaults to "pil"): "pil", "np" (NHWC in [0, 1]) or "pt" (NCHW in
                [0, 1]); for vector generators "np" or "pt" (the raw points).
            return_dict (`bool`, defaults to True): return an [`ImagePipelineOutput`] or a tuple.

        Examples:

        Returns:
            [`ImagePipelineOutput`] or `tuple`: the samples, in `.images` (or the tuple's first item).
        """
        self.check_output_type(output_type)
        latents, batch_size = self._prepare_latents(latents, batch_size, generator)
        labels = self._prepare_class_labels(class_labels, batch_size, generator)
        if condition_embeds is not None:
            condition_embeds = condition_embeds.to(device=self.device, dtype=self.gan_generator.dtype)

        samples = self.gan_generator(latents, class_labels=labels, condition_embeds=condition_embeds)

        if samples.dim() != 2:
            return self.images_output(samples, output_type, return_dict)
        # Vector data (points): no image conversion.
        if output_type == "pil":
            raise ValueError("This generator produces vectors, not images: use output_type='np' or 'pt'.")
        out = samples.float().cpu().numpy() if output_type == "np" else samples
        self.maybe_free_model_hooks()
        return ImagePipelineOutput(images=out) if return_dict else (out,)


GANPipeline.__call__.__doc__ = GANPipeline.__call__.__doc__.replace("Examples:\n", EXAMPLE_DOC_STRING.strip("\n") + "\n", 1)
