"""Tiny exported folders of every family, for the app tests (built the way each family's own tests build theirs)."""

from __future__ import annotations

from pathlib import Path

import torch

CAPTIONS = ["a red circle at the top left", "a blue square at the bottom right", "a green triangle in the center",
            "a small red square on the left", "a blue circle on the right"]
EVAL_CARD = """---
library_name: diffusers
---
# tiny

## Evaluation

| Metric | Value | Better |
|---|---|---|
| FID | 12.3457 | lower |
| Classes covered | 3 | higher |

## Usage

text after the table
"""


def _text_parts(seed: int = 0):
    from transformers import CLIPTextModel

    from hfgen.text import build_word_tokenizer, tiny_text_encoder_config

    torch.manual_seed(seed)
    tokenizer = build_word_tokenizer(CAPTIONS, max_length=12)
    encoder = CLIPTextModel(tiny_text_encoder_config(0, hidden_size=16, layers=1, heads=2, tokenizer=tokenizer)).eval()
    return encoder, tokenizer


def _tiny_unet_generator(seed: int, channels: int = 3):
    from hfgen import UNetGenerator, UNetGeneratorConfig

    torch.manual_seed(seed)
    g = UNetGenerator(UNetGeneratorConfig(image_size=16, in_channels=channels, out_channels=channels, base_channels=4))
    with torch.no_grad():  # BatchNorm statistics, so eval mode is not an identity normalisation
        for _ in range(2):
            g(torch.rand(4, channels, 16, 16) * 2 - 1)
    return g.eval()


def build(family: str, root) -> Path:
    """Exports the tiny model of `family` under root/family and returns the folder."""
    from hfgen.hub import export_folder

    folder = Path(root) / family.replace("/", "-")
    torch.manual_seed(0)
    if family == "gan":
        from hfgen import DCGANConfig, DCGANGenerator, GANPipeline

        config = DCGANConfig(image_size=16, num_channels=3, latent_dim=8, generator_channels=8, discriminator_channels=8,
                             num_classes=3, id2label={0: "cat", 1: "dog", 2: "face"})
        export_folder(GANPipeline(gan_generator=DCGANGenerator(config).eval()), folder)
        (folder / "README.md").write_text(EVAL_CARD)
    elif family == "points":
        from hfgen import GANPipeline, MLPGANConfig, MLPGenerator

        export_folder(GANPipeline(gan_generator=MLPGenerator(MLPGANConfig(latent_dim=4, generator_hidden_dim=16)).eval()), folder)
    elif family == "text-gan":
        from hfgen import DCGANConfig, DCGANGenerator
        from hfgen.pipelines import TextToImageGANPipeline

        encoder, tokenizer = _text_parts()
        g = DCGANGenerator(DCGANConfig(image_size=16, num_channels=3, latent_dim=8, generator_channels=8, condition_dim=16)).eval()
        export_folder(TextToImageGANPipeline(gan_generator=g, text_encoder=encoder, tokenizer=tokenizer), folder)
    elif family == "pix2pix":
        from hfgen import Pix2PixPipeline

        export_folder(Pix2PixPipeline(generator_unet=_tiny_unet_generator(0)), folder)
    elif family == "cyclegan":
        from hfgen import CycleGANPipeline, ResnetGenerator, ResnetGeneratorConfig

        def g(seed):
            torch.manual_seed(seed)
            return ResnetGenerator(ResnetGeneratorConfig(image_size=16, base_channels=4, n_blocks=1)).eval()

        export_folder(CycleGANPipeline(generator_a_to_b=g(1), generator_b_to_a=g(2)), folder)
    elif family in ("ddpm", "ddpm-class"):
        from diffusers import DDPMPipeline, DDPMScheduler, UNet2DModel

        unet = UNet2DModel(sample_size=8, in_channels=1, out_channels=1, block_out_channels=(8, 16), layers_per_block=1,
                           down_block_types=("DownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "UpBlock2D"),
                           norm_num_groups=4, num_class_embeds=3 if family == "ddpm-class" else None).eval()
        scheduler = DDPMScheduler(num_train_timesteps=100, beta_schedule="squaredcos_cap_v2")
        if family == "ddpm":  # a STOCK diffusers folder (no hfgen code in it)
            DDPMPipeline(unet=unet, scheduler=scheduler).save_pretrained(folder, safe_serialization=True)
        else:
            from hfgen.pipelines import ClassConditionalDDPMPipeline

            export_folder(ClassConditionalDDPMPipeline(unet=unet, scheduler=scheduler), folder)
    elif family == "text-ddpm":
        from diffusers import DDIMScheduler, UNet2DConditionModel

        from hfgen.pipelines import TextToImageDDPMPipeline

        encoder, tokenizer = _text_parts()
        unet = UNet2DConditionModel(
            sample_size=8, in_channels=5, out_channels=3, block_out_channels=(8, 16), layers_per_block=1,
            down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
            cross_attention_dim=16, attention_head_dim=2, norm_num_groups=4,
        ).eval()
        scheduler = DDIMScheduler(prediction_type="v_prediction", beta_schedule="squaredcos_cap_v2", timestep_spacing="trailing",
                                  num_train_timesteps=100)
        export_folder(TextToImageDDPMPipeline(unet=unet, text_encoder=encoder, tokenizer=tokenizer, scheduler=scheduler), folder)
    else:
        raise KeyError(family)
    return folder


def reference(family, folder, upload):
    """(app inputs, the same call made on the pipeline in Python, whether the seed changes the output)."""
    from PIL import Image

    from hfgen.pipelines import load_pipeline
    from hfgen.training.ddpm import with_sampler

    pipe = load_pipeline(folder)
    pipe.set_progress_bar_config(disable=True)
    g = torch.manual_seed
    if family == "gan":
        return {"class_label": "dog", "num_images": 3, "seed": 7}, lambda s: pipe(batch_size=3, class_labels="dog", generator=g(s)).images, True
    if family == "points":
        from hfgen.app.demo import scatter_plot

        return ({"num_points": 300, "seed": 3},
                lambda s: [scatter_plot(pipe(batch_size=300, generator=g(s), output_type="np").images)], True)
    if family == "text-gan":
        prompt = "a blue circle on the right"
        return ({"prompt": prompt, "num_images": 2, "seed": 5},
                lambda s: pipe(prompt=prompt, num_images_per_prompt=2, generator=g(s)).images, True)
    if family == "pix2pix":
        image = Image.open(upload)
        return ({"image": upload, "dropout": True, "num_images": 3, "seed": 4},
                lambda s: pipe(image=[image] * 3, dropout=True, generator=g(s)).images, True)
    if family == "cyclegan":
        image = Image.open(upload)
        return {"image": upload, "direction": "b_to_a"}, lambda s: pipe(image=image, direction="b_to_a").images, False
    if family == "ddpm":  # the sampler as `hfgen sample --scheduler ddim` builds it
        ddim = with_sampler(pipe, "ddim")
        return ({"num_images": 2, "num_inference_steps": 5, "scheduler": "ddim", "seed": 2},
                lambda s: ddim(batch_size=2, num_inference_steps=5, generator=g(s)).images, True)
    if family == "ddpm-class":
        dpm = with_sampler(pipe, "dpm++")
        return ({"class_label": "2", "num_images": 2, "num_inference_steps": 4, "scheduler": "dpm++", "seed": 9},
                lambda s: dpm(batch_size=2, class_labels=2, num_inference_steps=4, generator=g(s)).images, True)
    if family == "text-ddpm":
        kw = dict(prompt="a red circle at the top left", negative_prompt="a blue square at the bottom right",
                  guidance_scale=2.5, num_inference_steps=3, num_images_per_prompt=2)
        return ({"prompt": kw["prompt"], "negative_prompt": kw["negative_prompt"], "guidance_scale": 2.5,
                 "num_inference_steps": 3, "num_images": 2, "seed": 1},
                lambda s: pipe(generator=g(s), **kw).images, True)
    raise KeyError(family)


FAMILIES = ("gan", "points", "text-gan", "pix2pix", "cyclegan", "ddpm", "ddpm-class", "text-ddpm")
