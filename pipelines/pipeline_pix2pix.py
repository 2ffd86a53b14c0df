"""Pix2PixPipeline: paired image-to-image translation (Isola et al. 2017) with the diffusers `DiffusionPipeline` API.

y = G(x): G is Pix2Pix's U-Net generator (`UNetGenerator`), trained with an L1 loss to the target plus a
conditional PatchGAN adversarial loss. This file holds only the Pix2Pix `__call__`; saving and loading
come from `hfgen_pipeline_utils.py`, imported relatively. Like every pipeline file it imports only torch,
diffusers, numpy and PIL (never hfgen), so an exported folder loads without hfgen through

    DiffusionPipeline.from_pretrained(folder_or_repo_id, trust_remote_code=True)

Dropout at inference. The paper keeps G's decoder dropout on at test time as its only noise source and
notes that the outputs vary only a little. This pipeline is deterministic by default (`dropout=False`:
G in eval mode, the mean translation, what L1/PSNR/SSIM are measured on); `dropout=True` applies the
paper's test-time dropout with masks drawn from `generator`, so a seeded call is reproducible. BatchNorm
uses its running statistics in both cases.
"""

from typing import Any, List, Optional, Tuple, Union

import torch
from diffusers import DiffusionPipeline, ImagePipelineOutput

from .hfgen_pipeline_utils import HfgenPipelineMixin, prepare_image_input

EXAMPLE_DOC_STRING = """
    Examples:
        ```py
        >>> import torch
        >>> from PIL import Image
        >>> from hfgen import Pix2PixPipeline, UNetGenerator, UNetGeneratorConfig

        >>> config = UNetGeneratorConfig(image_size=32, in_channels=1, out_channels=1, base_channels=8)
        >>> pipe = Pix2PixPipeline(generator_unet=UNetGenerator(config).eval())
        >>> edges = Image.new("L", (32, 32))
        >>> pipe(edges).images[0].size
        (32, 32)
        >>> # the paper's test-time dropout, reproducible through the generator
        >>> a = pipe(edges, dropout=True, generator=torch.manual_seed(0), output_type="pt").images
        >>> b = pipe(edges, dropout=True, generator=torch.manual_seed(0), output_type="pt").images
        >>> bool((a == b).all())
        True

        >>> # a trained model: a local folder or a Hub repository, with or without hfgen
        >>> # from diffusers import DiffusionPipeline
        >>> # pipe = DiffusionPipeline.from_pretrained("user/pix2pix-edges2digits", trust_remote_code=True)
        ```
"""


class Pix2PixPipeline(HfgenPipelineMixin, DiffusionPipeline):
    r"""Pipeline for paired image-to-image translation with a Pix2Pix generator: output = G(input).

    This model inherits from [`DiffusionPipeline`]; `save_pretrained` and `from_pretrained` come from
    [`HfgenPipelineMixin`] (safetensors only, loadable without hfgen).

    Parameters:
        generator_unet ([`PreTrainedModel`]):
            Pix2Pix's G (hfgen's `UNetGenerator`): `forward(pixel_values)` maps [N, in_channels, S, S]
            in [-1, 1] to [N, out_channels, S, S] in [-1, 1]; its config has `image_size` (S),
            `in_channels` and `out_channels`.
    """

    model_cpu_offload_seq = "generator_unet"

    def __init__(self, generator_unet):
        super().__init__()
        self.register_modules(generator_unet=generator_unet)

    @property
    def image_size(self) -> int:
        """Side of the square images G was trained at: inputs of another size are resized to it (with a warning)."""
        return int(self.generator_unet.config.image_size)

    def _prepare(self, image: Any) -> torch.Tensor:
        """The input as [N, in_channels, S, S] in [-1, 1]: tensors that already fit pass through exactly; anything
        else goes through `prepare_image_input` (PIL / numpy / lists; resize and colour conversion, each warned)."""
        channels = int(self.generator_unet.config.in_channels)
        size = self.image_size
        if isinstance(image, torch.Tensor) and image.ndim == 4 and tuple(image.shape[1:]) == (channels, size, size) \
                and image.numel() > 0 and image.is_floating_point():
            if not torch.isfinite(image).all() or image.min() < 0 or image.max() > 1:
                raise ValueError(
                    "`image` tensor values must be finite and in [0, 1] (as in diffusers' image pipelines); pass (x + 1) / 2 "
                    "for [-1, 1] data."
                )
            return image * 2.0 - 1.0
        return prepare_image_input(image, size, channels, role="image")

    @staticmethod
    def _dropout_hooks(module: torch.nn.Module, generator: Optional[Union[torch.Generator, List[torch.Generator]]]):
        """Forward hooks that apply each `nn.Dropout` of `module` with masks drawn from `generator` (the
        paper's test-time noise); returns the handles to remove. Works in eval mode: the hook replaces the
        layer's (identity) output."""
        if isinstance(generator, list):
            raise ValueError("dropout=True takes one torch.Generator (a list of generators is not supported).")
        handles = []

        def hook(layer, inputs, output):
            x = inputs[0]
            keep = 1.0 - layer.p
            device = generator.device if generator is not None else x.device
            mask = torch.rand(x.shape, generator=generator, device=device).to(x.device) < keep
            return x * mask.to(x.dtype) / keep

        for layer in module.modules():
            if isinstance(layer, torch.nn.Dropout) and layer.p > 0:
                handles.append(layer.register_forward_hook(hook))
        return handles

    @torch.no_grad()
    def __call__(
        self,
        image: Any = None,
        generator: Optional[Union[torch.Generator, List[torch.Generator]]] = None,
        output_type: str = "pil",
        return_dict: bool = True,
        dropout: bool = False,
    ) -> Union[ImagePipelineOutput, Tuple]:
        r"""Translates input images.

        Args:
            image (`PIL.Image.Image`, `np.ndarray`, `torch.Tensor` or a list of them): the input(s). PIL
                images; numpy arrays [H, W], [H, W, C] or [N, H, W, C] (uint8 in [0, 255] or float in
                [0, 1]); torch tensors [C, H, W] or [N, C, H, W] in [0, 1]. The model works at
                `pipe.image_size` x `pipe.image_size` (its config's `image_size`): other sizes are resized
                (bicubic) and other colour modes converted (grey <-> RGB, alpha dropped), each with a
                warning; the output has the model's size.
            generator (`torch.Generator`, *optional*): draws the dropout masks when `dropout=True` (the
                output is deterministic otherwise).
            output_type (`str`, defaults to "pil"): "pil", "np" (NHWC in [0, 1]) or "pt" (NCHW in [0, 1]).
            return_dict (`bool`, defaults to True): return an [`ImagePipelineOutput`] or a tuple.
            dropout (`bool`, defaults to False): apply G's decoder dropout at inference, as the paper does
                (its noise source); the masks come from `generator`, so seeded calls are reproducible.

        Examples:

        Returns:
            [`ImagePipelineOutput`] or `tuple`: the translated images, in `.images` (or the tuple's first item).
        """
        self.check_output_type(output_type)
        if not isinstance(dropout, bool):
            raise ValueError(f"dropout must be True or False, got {dropout!r}.")
        G = self.generator_unet
        pixels = self._prepare(image).to(device=self.device, dtype=G.dtype)
        # G's own mode is left alone: eval mode for the duration of the call (running BatchNorm
        # statistics, no dropout of its own), restored afterwards.
        was_training = G.training
        G.eval()
        handles = self._dropout_hooks(G, generator) if dropout else []
        try:
            outputs = G(pixels)
        finally:
            for handle in handles:
                handle.remove()
            G.train(was_training)
        return self.images_output(outputs, output_type, return_dict)


Pix2PixPipeline.__call__.__doc__ = Pix2PixPipeline.__call__.__doc__.replace(
    "Examples:\n", EXAMPLE_DOC_STRING.strip("\n") + "\n", 1)
