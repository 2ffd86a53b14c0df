"""CycleGANPipeline: unpaired image-to-image translation in both directions with the diffusers API.

This file holds only what is CycleGAN-specific (inputs and `__call__`); saving and loading come from
`hfgen_pipeline_utils.py`, imported relatively. Both import only torch, diffusers, transformers and
huggingface_hub: hfgen ships them verbatim inside every exported repository, so that

    DiffusionPipeline.from_pretrained(repo, trust_remote_code=True)

works where hfgen is not installed.
"""

from typing import List, Optional, Tuple, Union

import torch
from diffusers import DiffusionPipeline, ImagePipelineOutput

from .hfgen_pipeline_utils import HfgenPipelineMixin, prepare_image_input

DIRECTIONS = ("a_to_b", "b_to_a")

EXAMPLE_DOC_STRING = """
    Examples:
        ```py
        >>> import torch
        >>> from PIL import Image
        >>> from hfgen import ResnetGenerator, ResnetGeneratorConfig
        >>> from hfgen.pipelines import CycleGANPipeline

        >>> config = ResnetGeneratorConfig(image_size=32, base_channels=8, n_blocks=1)
        >>> pipe = CycleGANPipeline(ResnetGenerator(config).eval(), ResnetGenerator(config).eval())
        >>> photo = Image.new("RGB", (32, 32), "white")
        >>> pipe(photo, direction="a_to_b").images[0].size
        (32, 32)

        >>> # a trained model: a local folder or a Hub repository
        >>> # pipe = CycleGANPipeline.from_pretrained("user/cyclegan-mnist5k-unpaired")
        ```
"""


class CycleGANPipeline(HfgenPipelineMixin, DiffusionPipeline):
    r"""Pipeline for unpaired image-to-image translation with CycleGAN's two generators (Zhu et al. 2017).

    This model inherits from [`DiffusionPipeline`]. Check the superclass documentation for the
    generic methods implemented for all pipelines (running on a device...); `save_pretrained` and
    `from_pretrained` come from [`HfgenPipelineMixin`] (safetensors only, loadable without hfgen).
    The discriminators D_X and D_Y are not part of the pipeline: an export keeps them beside it
    (`discriminator_a/`, `discriminator_b/`) for training only.

    Parameters:
        generator_a_to_b ([`PreTrainedModel`]):
            The paper's G: X -> Y, mapping domain-A images ([N, C_A, H, W] in [-1, 1]) to domain B.
        generator_b_to_a ([`PreTrainedModel`]):
            The paper's F: Y -> X, mapping domain-B images back to domain A.
    """

    model_cpu_offload_seq = "generator_a_to_b->generator_b_to_a"

    def __init__(self, generator_a_to_b, generator_b_to_a):
        super().__init__()
        self.register_modules(generator_a_to_b=generator_a_to_b, generator_b_to_a=generator_b_to_a)

    @torch.no_grad()
    def __call__(
        self,
        image,
        direction: str = "a_to_b",
        generator: Optional[Union[torch.Generator, List[torch.Generator]]] = None,
        output_type: str = "pil",
        return_dict: bool = True,
    ) -> Union[ImagePipelineOutput, Tuple]:
        r"""Translates images from one domain to the other.

        Args:
            image (`PIL.Image.Image`, `np.ndarray`, `torch.Tensor` or a list of them): the images to
                translate: PIL images, numpy arrays [H, W(, C)] / [N, H, W, C] (uint8, or float in [0, 1]),
                or tensors [C, H, W] / [N, C, H, W] in [0, 1]. Other sizes are resized to the size the
                model was trained at, other channel counts converted (a warning says so).
            direction (`str`, defaults to "a_to_b"): "a_to_b" (G: domain A -> B) or "b_to_a" (F: B -> A).
            generator (`torch.Generator`, *optional*): accepted for the diffusers API; the translation
                is deterministic (no noise is drawn), so it changes nothing.
            output_type (`str`, defaults to "pil"): "pil", "np" (NHWC in [0, 1]) or "pt" (NCHW in [0, 1]).
            return_dict (`bool`, defaults to True): return an [`ImagePipelineOutput`] or a tuple.

        Examples:

        Returns:
            [`ImagePipelineOutput`] or `tuple`: the translations, in `.images` (or the tuple's first item).
        """
        if direction not in DIRECTIONS:
            raise ValueError(f"direction={direction!r} is not supported; choose 'a_to_b' (domain A -> B) or 'b_to_a' (domain B -> A).")
        self.check_output_type(output_type)
        model = self.generator_a_to_b if direction == "a_to_b" else self.generator_b_to_a
        config = model.config
        pixels = prepare_image_input(image, config.image_size, config.in_channels, role="image")
        pixels = pixels.to(device=self.device, dtype=model.dtype)
        return self.images_output(model(pixels), output_type, return_dict)


CycleGANPipeline.__call__.__doc__ = CycleGANPipeline.__call__.__doc__.replace("Examples:\n", EXAMPLE_DOC_STRING.strip("\n") + "\n", 1)
