"""Image-to-image networks shared by Pix2Pix and CycleGAN, as transformers models.

- [`UNetGenerator`]: Pix2Pix's G (Isola et al., 2017): an encoder-decoder with skip connections
  between mirrored layers, dropout in the decoder as the noise source.
- [`ResnetGenerator`]: CycleGAN's G and F (Zhu et al., 2017; Johnson et al., 2016): two stride-2
  downsamplings, residual blocks, two upsamplings, reflection padding, instance norm.
- [`PatchDiscriminator`]: PatchGAN's D (both papers): a fully convolutional net that returns a
  grid of raw logits [N, 1, h, w], one per overlapping patch (70x70 receptive field with
  `n_layers=3`); losses reduce it by the mean.

This ONE file is self-contained (torch + transformers only, no relative import) because it ships
verbatim in every exported repository, in each component's subfolder and at the repository root,
and is loaded from there with `trust_remote_code=True` where hfgen is not installed (see
`modeling_dcgan.py` for why). Each network has its own config class: transformers' `AutoModel`
maps one config class to one model class per process. The file name is recorded in saved
`model_index.json` files: keep it.
"""

import math
from typing import Optional

import torch
from torch import nn
from transformers import PretrainedConfig, PreTrainedModel

NORMALIZATIONS = ("batch", "instance", "none")


def _check_common(norm: str, in_channels: int, out_channels: Optional[int], base_channels: int) -> None:
    if norm not in NORMALIZATIONS:
        raise ValueError(f"norm={norm!r} is not supported; choose one of {NORMALIZATIONS}.")
    for name, value in (("in_channels", in_channels), ("out_channels", out_channels), ("base_channels", base_channels)):
        if value is not None and (not isinstance(value, int) or value < 1):
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")


class UNetGeneratorConfig(PretrainedConfig):
    r"""Configuration of [`UNetGenerator`] (Pix2Pix's G).

    Args:
        image_size (`int`, defaults to 256): side of the square images G takes and returns.
        in_channels (`int`, defaults to 3): channels of the input (condition) image.
        out_channels (`int`, defaults to 3): channels of the output image.
        base_channels (`int`, defaults to 64): width of the first encoder layer ("ngf"); each deeper
            layer doubles it, capped at 8x.
        num_downs (`int`, optional): number of stride-2 downsamplings. Defaults to log2(image_size),
            which takes the bottleneck to 1x1 as the reference's unet_32 ... unet_256 do;
            `image_size` must be divisible by 2**num_downs.
        norm (`str`, defaults to "batch"): "batch", "instance" or "none".
        use_dropout (`bool`, defaults to True): dropout(0.5) in the deepest decoder layers, the
            paper's only noise source (z is dropped: G learned to ignore it).
        num_dropout_layers (`int`, optional): how many decoder layers (from the deepest non-innermost
            one outwards) get dropout. Defaults to max(num_downs - 5, 1): the reference's 3 at 256 px,
            2 at 128, 1 at 64, and 1 (instead of none) at 32 and 16 px so that small models keep a
            noise source (0 when num_downs is 2: there is no layer between the outermost and the
            innermost).
    """

    model_type = "hfgen_unet_generator"

    def __init__(
        self,
        image_size: int = 256,
        in_channels: int = 3,
        out_channels: int = 3,
        base_channels: int = 64,
        num_downs: Optional[int] = None,
        norm: str = "batch",
        use_dropout: bool = True,
        num_dropout_layers: Optional[int] = None,
        **kwargs,
    ):
        _check_common(norm, in_channels, out_channels, base_channels)
        if num_downs is None:
            num_downs = int(round(math.log2(image_size))) if image_size > 0 else 0
            if 2**num_downs != image_size:
                raise ValueError(
                    f"image_size={image_size} is not a power of two: set num_downs so that image_size is divisible "
                    f"by 2**num_downs (for example num_downs={max((image_size & -image_size).bit_length() - 1, 1)}), "
                    "or resize the data (--resolution 32, 64, 128 or 256)."
                )
        if num_downs < 2:
            raise ValueError(f"num_downs must be at least 2, got {num_downs}.")
        if image_size % 2**num_downs:
            raise ValueError(
                f"image_size={image_size} is not divisible by 2**num_downs={2**num_downs}: choose a smaller num_downs "
                "or resize the data."
            )
        if num_dropout_layers is None:
            num_dropout_layers = min(max(num_downs - 5, 1), num_downs - 2)
        if not 0 <= num_dropout_layers <= num_downs - 2:
            raise ValueError(f"num_dropout_layers must be in [0, {num_downs - 2}] for num_downs={num_downs}, got {num_dropout_layers}.")
        self.image_size = image_size
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.base_channels = base_channels
        self.num_downs = num_downs
        self.norm = norm
        self.use_dropout = use_dropout
        self.num_dropout_layers = num_dropout_layers
        super().__init__(**kwargs)


class ResnetGeneratorConfig(PretrainedConfig):
    r"""Configuration of [`ResnetGenerator`] (CycleGAN's G: X -> Y and F: Y -> X).

    Args:
        image_size (`int`, defaults to 256): side of the square images (must be divisible by
            2**num_downsamplings).
        in_channels / out_channels (`int`, default to 3): channels of the input and output images.
        base_channels (`int`, defaults to 64): width after the first 7x7 convolution ("ngf").
        num_downsamplings (`int`, defaults to 2): stride-2 convolutions before the residual blocks.
        n_blocks (`int`, defaults to 9): residual blocks (the paper: 6 at 128 px, 9 at 256 px; fewer
            for tiny images).
        norm (`str`, defaults to "instance"): "instance", "batch" or "none".
        use_dropout (`bool`, defaults to False): dropout(0.5) inside the residual blocks.
        padding_type (`str`, defaults to "reflect"): "reflect", "replicate" or "zeros" (reflection
            padding reduces border artifacts, the paper's choice).
    """

    model_type = "hfgen_resnet_generator"

    def __init__(
        self,
        image_size: int = 256,
        in_channels: int = 3,
        out_channels: int = 3,
        base_channels: int = 64,
        num_downsamplings: int = 2,
        n_blocks: int = 9,
        norm: str = "instance",
        use_dropout: bool = False,
        padding_type: str = "reflect",
        **kwargs,
    ):
        _check_common(norm, in_channels, out_channels, base_channels)
        if padding_type not in ("reflect", "replicate", "zeros"):
            raise ValueError(f"padding_type={padding_type!r} is not supported; choose 'reflect', 'replicate' or 'zeros'.")
        if num_downsamplings < 0 or n_blocks < 0:
            raise ValueError(f"num_downsamplings and n_blocks must be >= 0, got {num_downsamplings} and {n_blocks}.")
        if image_size % 2**num_downsamplings:
            raise ValueError(
                f"image_size={image_size} is not divisible by 2**num_downsamplings={2**num_downsamplings}: resize the "
                "data or lower num_downsamplings."
            )
        self.image_size = image_size
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.base_channels = base_channels
        self.num_downsamplings = num_downsamplings
        self.n_blocks = n_blocks
        self.norm = norm
        self.use_dropout = use_dropout
        self.padding_type = padding_type
        super().__init__(**kwargs)


class PatchDiscriminatorConfig(PretrainedConfig):
    r"""Configuration of [`PatchDiscriminator`] (PatchGAN's D).

    Args:
        in_channels (`int`, defaults to 6): channels D sees. Pix2Pix's D sees the input and the
            output concatenated (3 + 3); CycleGAN's D_X / D_Y see one image (3).
        base_channels (`int`, defaults to 64): width of the first layer ("ndf"), doubled per layer
            and capped at 8x.
        n_layers (`int`, defaults to 3): stride-2 layers. The receptive field of one output logit
            is 16, 34, 70, 142 px for n_layers 1, 2, 3, 4 (`receptive_field`).
        norm (`str`, defaults to "batch"): "batch", "instance" or "none" (no norm on the first layer).
        spectral_norm (`bool`, defaults to False): spectral normalisation of every convolution.
    """

    model_type = "hfgen_patch_discriminator"

    def __init__(
        self,
        in_channels: int = 6,
        base_channels: int = 64,
        n_layers: int = 3,
        norm: str = "batch",
        spectral_norm: bool = False,
        **kwargs,
    ):
        _check_common(norm, in_channels, None, base_channels)
        if n_layers < 1:
            raise ValueError(f"n_layers must be at least 1, got {n_layers}.")
        self.in_channels = in_channels
        self.base_channels = base_channels
        self.n_layers = n_layers
        self.norm = norm
        self.spectral_norm = spectral_norm
        super().__init__(**kwargs)

    @property
    def receptive_field(self) -> int:
        """Side in pixels of the input patch that one output logit sees."""
        # Walk back from one output pixel: the last two convs are 4x4 stride 1, the others 4x4 stride 2.
        field = 1
        for stride in [1, 1] + [2] * self.n_layers:
            field = (field - 1) * stride + 4
        return field

    def output_size(self, image_size: int) -> int:
        """Side of the logit grid D returns for `image_size` x `image_size` inputs (0: too small)."""
        size = image_size
        for _ in range(self.n_layers):
            size = (size + 2 - 4) // 2 + 1
        for _ in range(2):
            size = size + 2 - 4 + 1
        return max(size, 0)


def _norm2d(kind: str, channels: int) -> nn.Module:
    """Normalisation layer; instance norm without affine parameters, as in the reference code."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    return nn.Identity()


def _init_image2image_weights(module: nn.Module) -> None:
    """The papers' initialisation: N(0, 0.02) conv weights, N(1, 0.02) norm scales, zero biases."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        weight = module.parametrizations.weight.original if nn.utils.parametrize.is_parametrized(module) else module.weight
        nn.init.normal_(weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def _check_image(config, pixel_values: torch.Tensor, channels: int, role: str, multiple: int) -> None:
    if pixel_values.ndim != 4 or pixel_values.shape[1] != channels:
        raise ValueError(f"{role} expects images [N, {channels}, H, W], got shape {tuple(pixel_values.shape)}.")
    if pixel_values.shape[-1] % multiple or pixel_values.shape[-2] % multiple:
        raise ValueError(
            f"{role} needs height and width divisible by {multiple}, got {tuple(pixel_values.shape[-2:])}: resize the "
            f"input to {config.image_size}x{config.image_size}."
        )


class UNetGenerator(PreTrainedModel):
    """Pix2Pix's G: maps an input image to an output image in [-1, 1] through a U-Net.

    Encoder layer i halves the side (4x4 stride-2 conv, LeakyReLU(0.2) before it, norm after it,
    none on the first and the innermost); decoder layer i mirrors it (ReLU, 4x4 stride-2
    transposed conv, norm, optional dropout) and its output is concatenated with encoder
    layer i-1's output (the skip connection that carries low-level detail past the bottleneck).
    """

    config_class = UNetGeneratorConfig
    base_model_prefix = "unet_generator"
    main_input_name = "pixel_values"

    def __init__(self, config: UNetGeneratorConfig):
        super().__init__(config)
        n = config.num_downs
        use_bias = config.norm != "batch"  # BatchNorm's shift makes a conv bias redundant
        channels = [config.base_channels * min(2**i, 8) for i in range(n)]
        dropout_depths = set(range(n - 2, n - 2 - config.num_dropout_layers, -1)) if config.use_dropout else set()
        self.down = nn.ModuleList()
        self.up = nn.ModuleList()
        for i in range(n):
            c_in = config.in_channels if i == 0 else channels[i - 1]
            down = [nn.Conv2d(c_in, channels[i], 4, 2, 1, bias=use_bias if 0 < i < n - 1 else True)]
            if i > 0:
                down.insert(0, nn.LeakyReLU(0.2, inplace=False))
            if 0 < i < n - 1:
                down.append(_norm2d(config.norm, channels[i]))
            self.down.append(nn.Sequential(*down))
            # Decoder layer i: from the innermost features (i == n-1) or [skip, previous up] (2x channels).
            up_in = channels[i] if i == n - 1 else 2 * channels[i]
            if i == 0:
                up = [nn.ReLU(), nn.ConvTranspose2d(up_in, config.out_channels, 4, 2, 1), nn.Tanh()]
            else:
                up = [nn.ReLU(), nn.ConvTranspose2d(up_in, channels[i - 1], 4, 2, 1, bias=use_bias), _norm2d(config.norm, channels[i - 1])]
                if i in dropout_depths:
                    up.append(nn.Dropout(0.5))
            self.up.append(nn.Sequential(*up))
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        """N(0, 0.02) initialisation of the reference code."""
        _init_image2image_weights(module)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """Returns G(x): [N, out_channels, H, W] in [-1, 1] for inputs [N, in_channels, H, W] in [-1, 1]."""
        _check_image(self.config, pixel_values, self.config.in_channels, "UNetGenerator", 2**self.config.num_downs)
        skips = []
        h = pixel_values
        for layer in self.down:
            h = layer(h)
            skips.append(h)
        h = self.up[-1](skips[-1])
        for i in range(len(self.up) - 2, -1, -1):
            h = self.up[i](torch.cat([skips[i], h], dim=1))
        return h


def _pad(kind: str, amount: int) -> tuple[list[nn.Module], int]:
    """Padding layers and the conv `padding` argument that go with them."""
    if kind == "reflect":
        return [nn.ReflectionPad2d(amount)], 0
    if kind == "replicate":
        return [nn.ReplicationPad2d(amount)], 0
    return [], amount


class ResnetBlock(nn.Module):
    """x + conv-norm-relu-conv-norm(x): the residual block of CycleGAN's generator."""

    def __init__(self, channels: int, norm: str, padding_type: str, use_dropout: bool, use_bias: bool):
        super().__init__()
        layers: list[nn.Module] = []
        for second in (False, True):
            pad, padding = _pad(padding_type, 1)
            layers += pad + [nn.Conv2d(channels, channels, 3, padding=padding, bias=use_bias), _norm2d(norm, channels)]
            if not second:
                layers.append(nn.ReLU(True))
                if use_dropout:
                    layers.append(nn.Dropout(0.5))
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Adds the block's residual to its input."""
        return x + self.block(x)


class ResnetGenerator(PreTrainedModel):
    """CycleGAN's generators G: X -> Y and F: Y -> X (c7s1-64, d128, d256, R256 x n, u128, u64, c7s1-3)."""

    config_class = ResnetGeneratorConfig
    base_model_prefix = "resnet_generator"
    main_input_name = "pixel_values"

    def __init__(self, config: ResnetGeneratorConfig):
        super().__init__(config)
        use_bias = config.norm != "batch"
        ngf, pad_kind = config.base_channels, config.padding_type
        pad, padding = _pad(pad_kind, 3)
        layers: list[nn.Module] = pad + [
            nn.Conv2d(config.in_channels, ngf, 7, padding=padding, bias=use_bias),
            _norm2d(config.norm, ngf),
            nn.ReLU(True),
        ]
        for i in range(config.num_downsamplings):
            c = ngf * 2**i
            layers += [nn.Conv2d(c, 2 * c, 3, stride=2, padding=1, bias=use_bias), _norm2d(config.norm, 2 * c), nn.ReLU(True)]
        c = ngf * 2**config.num_downsamplings
        layers += [ResnetBlock(c, config.norm, pad_kind, config.use_dropout, use_bias) for _ in range(config.n_blocks)]
        for _ in range(config.num_downsamplings):
            layers += [
                nn.ConvTranspose2d(c, c // 2, 3, stride=2, padding=1, output_padding=1, bias=use_bias),
                _norm2d(config.norm, c // 2),
                nn.ReLU(True),
            ]
            c //= 2
        pad, padding = _pad(pad_kind, 3)
        layers += pad + [nn.Conv2d(c, config.out_channels, 7, padding=padding), nn.Tanh()]
        self.model = nn.Sequential(*layers)
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        """N(0, 0.02) initialisation of the reference code."""
        _init_image2image_weights(module)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """Returns the translated images [N, out_channels, H, W] in [-1, 1]."""
        _check_image(self.config, pixel_values, self.config.in_channels, "ResnetGenerator", 2**self.config.num_downsamplings)
        return self.model(pixel_values)


class PatchDiscriminator(PreTrainedModel):
    """PatchGAN D: one raw logit per overlapping patch, shape [N, 1, h, w] (no sigmoid).

    Judging patches instead of whole images models only high-frequency structure (L1 or the
    cycle loss handles the low frequencies), with fewer parameters, on any image size.
    """

    config_class = PatchDiscriminatorConfig
    base_model_prefix = "patch_discriminator"
    main_input_name = "pixel_values"

    def __init__(self, config: PatchDiscriminatorConfig):
        super().__init__(config)
        use_bias = config.norm != "batch"
        sn = nn.utils.parametrizations.spectral_norm if config.spectral_norm else (lambda m: m)
        ndf = config.base_channels
        layers: list[nn.Module] = [sn(nn.Conv2d(config.in_channels, ndf, 4, 2, 1)), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, config.n_layers + 1):
            prev, mult = mult, min(2**n, 8)
            stride = 2 if n < config.n_layers else 1  # the last of these keeps the size (the "C512" layer)
            layers += [
                sn(nn.Conv2d(ndf * prev, ndf * mult, 4, stride, 1, bias=use_bias)),
                _norm2d(config.norm, ndf * mult),
                nn.LeakyReLU(0.2, True),
            ]
        layers.append(sn(nn.Conv2d(ndf * mult, 1, 4, 1, 1)))
        self.model = nn.Sequential(*layers)
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        """N(0, 0.02) initialisation of the reference code."""
        _init_image2image_weights(module)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """Returns logits [N, 1, h, w] for images [N, in_channels, H, W] in [-1, 1].

        For Pix2Pix, pass the input and the (real or generated) output concatenated on channels.
        """
        if pixel_values.ndim != 4 or pixel_values.shape[1] != self.config.in_channels:
            raise ValueError(
                f"PatchDiscriminator expects [N, {self.config.in_channels}, H, W], got {tuple(pixel_values.shape)}."
            )
        if self.config.output_size(min(pixel_values.shape[-2:])) < 1:
            smallest = next(size for size in range(1, 4096) if self.config.output_size(size) >= 1)
            raise ValueError(
                f"Images of {tuple(pixel_values.shape[-2:])} px are too small for a PatchDiscriminator with "
                f"n_layers={self.config.n_layers} (it needs at least {smallest} px): use fewer layers or larger images."
            )
        return self.model(pixel_values)


__all__ = [
    "UNetGeneratorConfig",
    "ResnetGeneratorConfig",
    "PatchDiscriminatorConfig",
    "UNetGenerator",
    "ResnetGenerator",
    "ResnetBlock",
    "PatchDiscriminator",
    "NORMALIZATIONS",
]
