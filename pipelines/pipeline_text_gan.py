"""TextToImageGANPipeline: text-conditioned GAN sampling (GAN-INT-CLS) with the diffusers `DiffusionPipeline` API.

G is a DCGAN generator whose `condition_dim` is the text encoder's pooled width: x = G(z, e(t)) with
e(t) the `pooler_output` of a `CLIPTextModel` (the EOS token's state). Saving and loading come from
`hfgen_pipeline_utils.py`, imported relatively; like every pipeline file, this one imports only torch,
diffusers, transformers and numpy (never hfgen), so an exported folder loads without hfgen through

    DiffusionPipeline.from_pretrained(folder_or_repo_id, trust_remote_code=True)
"""

from typing import List, Optional, Tuple, Union

import numpy as np
import torch
from diffusers import DiffusionPipeline, ImagePipelineOutput
from diffusers.utils import logging
from diffusers.utils.torch_utils import randn_tensor

from .hfgen_pipeline_utils import HfgenPipelineMixin, check_prompt_or_embeds, prompt_list, tokenize_prompts

logger = logging.get_logger(__name__)

EXAMPLE_DOC_STRING = """
    Examples:
        ```py
        >>> import torch
        >>> from diffusers import DiffusionPipeline

        >>> pipe = DiffusionPipeline.from_pretrained("user/text-gan-shapes", trust_remote_code=True)
        >>> image = pipe("a red circle at the top left", generator=torch.manual_seed(0)).images[0]
        ```
"""


class TextToImageGANPipeline(HfgenPipelineMixin, DiffusionPipeline):
    r"""Pipeline for text-to-image generation with a text-conditioned GAN: x = G(z, e(prompt)), z ~ N(0, I).

    This model inherits from [`DiffusionPipeline`]; `save_pretrained` and `from_pretrained` come from
    [`HfgenPipelineMixin`] (safetensors only, loadable without hfgen).

    Parameters:
        gan_generator ([`PreTrainedModel`]):
            The generator G: `forward(latents, condition_embeds=...)` returning images in [-1, 1]; its
            config has `latent_dim` and `condition_dim` (the text encoder's pooled width).
        text_encoder ([`~transformers.CLIPTextModel`]):
            Frozen text encoder; its `pooler_output` is the condition vector.
        tokenizer ([`~transformers.PreTrainedTokenizerFast`] or [`~transformers.CLIPTokenizer`]):
            The tokenizer the text encoder was trained with.
    """

    model_cpu_offload_seq = "text_encoder->gan_generator"

    def __init__(self, gan_generator, text_encoder, tokenizer):
        super().__init__()
        self.register_modules(gan_generator=gan_generator, text_encoder=text_encoder, tokenizer=tokenizer)

    @torch.no_grad()
    def encode_prompt(self, prompt: Union[str, List[str]]) -> torch.Tensor:
        """Pooled text embeddings [N, D] of `prompt` (padded/truncated to the tokenizer's max length).

        A prompt longer than the limit is truncated with a warning; a prompt made only of words
        outside the vocabulary (all `[UNK]`) is embedded anyway, with a warning: it carries no information.
        """
        prompts = prompt_list(prompt, "prompt")
        inputs = tokenize_prompts(self.tokenizer, self.text_encoder, prompts, logger)
        device = self.text_encoder.device
        output = self.text_encoder(input_ids=inputs["input_ids"].to(device), attention_mask=inputs["attention_mask"].to(device))
        return output.pooler_output

    def _check_prompt_embeds(self, prompt_embeds) -> torch.Tensor:
        width = self.gan_generator.config.condition_dim
        if not isinstance(prompt_embeds, torch.Tensor) or prompt_embeds.dim() != 2 or prompt_embeds.shape[0] == 0 \
                or prompt_embeds.shape[1] != width:
            shape = tuple(prompt_embeds.shape) if isinstance(prompt_embeds, torch.Tensor) else type(prompt_embeds).__name__
            raise ValueError(
                f"prompt_embeds must be a tensor of shape [num_prompts, {width}] (the text encoder's pooled output, e.g. "
                f"pipe.encode_prompt(prompts)), got {shape}."
            )
        if not torch.isfinite(prompt_embeds).all():
            raise ValueError("prompt_embeds contain NaN or infinite values: pass the output of pipe.encode_prompt(prompts).")
        return prompt_embeds

    @torch.no_grad()
    def __call__(
        self,
        prompt: Optional[Union[str, List[str]]] = None,
        num_images_per_prompt: int = 1,
        generator: Optional[Union[torch.Generator, List[torch.Generator]]] = None,
        latents: Optional[torch.Tensor] = None,
        prompt_embeds: Optional[torch.Tensor] = None,
        output_type: str = "pil",
        return_dict: bool = True,
    ) -> Union[ImagePipelineOutput, Tuple]:
        r"""Generates images from text.

        Args:
            prompt (`str` or `List[str]`): the prompt(s); give this or `prompt_embeds`, not both.
            num_images_per_prompt (`int`, defaults to 1): images per prompt; images of one prompt are
                consecutive in the output.
            generator (`torch.Generator`, *optional*): makes sampling deterministic.
            latents (`torch.Tensor`, *optional*): pre-drawn noise of shape
                [num_prompts * num_images_per_prompt, latent_dim].
            prompt_embeds (`torch.Tensor`, *optional*): pre-computed pooled text embeddings
                [num_prompts, condition_dim] (from `encode_prompt`), instead of `prompt`.
            output_type (`str`, defaults to "pil"): "pil", "np" (NHWC in [0, 1]) or "pt" (NCHW in [0, 1]).
            return_dict (`bool`, defaults to True): return an [`ImagePipelineOutput`] or a tuple.

        Examples:

        Returns:
            [`ImagePipelineOutput`] or `tuple`: the images, in `.images` (or the tuple's first item).
        """
        self.check_output_type(output_type)
        check_prompt_or_embeds(prompt, prompt_embeds)
        if isinstance(num_images_per_prompt, bool) or not isinstance(num_images_per_prompt, (int, np.integer)) \
                or num_images_per_prompt < 1:
            raise ValueError(f"num_images_per_prompt must be a positive integer, got {num_images_per_prompt!r}.")
        config = self.gan_generator.config
        if prompt_embeds is None:
            prompt_embeds = self.encode_prompt(prompt)
        embeds = self._check_prompt_embeds(prompt_embeds)
        embeds = embeds.to(device=self.device, dtype=self.gan_generator.dtype).repeat_interleave(int(num_images_per_prompt), dim=0)
        batch_size = embeds.shape[0]
        if latents is None:
            latents = randn_tensor((batch_size, config.latent_dim), generator=generator, device=self.device,
                                   dtype=self.gan_generator.dtype)
        else:
            if not isinstance(latents, torch.Tensor) or tuple(latents.shape) != (batch_size, config.latent_dim):
                shape = tuple(latents.shape) if isinstance(latents, torch.Tensor) else type(latents).__name__
                raise ValueError(f"latents must be a tensor of shape [{batch_size}, {config.latent_dim}] "
                                 f"(num_prompts * num_images_per_prompt, latent_dim), got {shape}.")
            latents = latents.to(device=self.device, dtype=self.gan_generator.dtype)

        samples = self.gan_generator(latents, condition_embeds=embeds)
        return self.images_output(samples, output_type, return_dict)


TextToImageGANPipeline.__call__.__doc__ = TextToImageGANPipeline.__call__.__doc__.replace(
    "Examples:\n", EXAMPLE_DOC_STRING.strip("\n") + "\n", 1)
