"""The text-gan task: GAN-INT-CLS (Reed et al. 2016) on captioned images.

G(z, e(t)) and D(x, e(t)) are DCGANs with `condition_dim` = the text encoder's pooled width: the
embedding is concatenated to z in G and projected in D (projection discriminator, Miyato & Koyama
2018). e is a frozen `CLIPTextModel` (`frozen_models`): the text tower of a `hfgen train clip` export
with `--text_encoder FOLDER`; on `--dataset shapes` by default the one shipped with hfgen (pre-trained
contrastively on the 42 training combinations: the main reason the default recipe gets every attribute
right, see the README); otherwise, or with `--text_encoder random`, a tiny randomly initialised one over
a word tokenizer built from the captions (a random but fixed projection of the words: weaker).

- GAN-CLS (`--matching_aware`): D also sees real images with MISMATCHED captions as fake; the
  mismatched caption comes from another image of the batch whose label (attribute combination)
  differs, so it differs in content, not just in wording. D's loss averages the adversarial loss on
  (real/matching vs fake/matching) and (real/matching vs real/mismatched).
- GAN-INT (`--interpolate_text`): G is also trained on 0.5-interpolations of two captions' embeddings
  (no real image exists for them, so only G's loss uses them).
Any adversarial loss of the registry (`--loss`; hinge with spectral norm by default).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import ClassVar, Optional

import torch

from .args import ConfigurationError
from .gan import GANArguments, GANTask
from .task import StepContext, require_captioned_images

#: the frozen text encoder of `--dataset shapes` by default (a CLIPTextModel folder with its tokenizer)
SHAPES_TEXT_ENCODER_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "metrics", "weights", "shapes_text_encoder")

# The grid's default prompts on --dataset shapes: (colour, shape, position) of four training combinations and two
# held-out ones (hfgen.data.shapes.HELD_OUT), in the first caption template.
SHAPES_GRID = ((1, 0, 2), (2, 1, 0), (3, 2, 3), (0, 1, 3), (0, 0, 0), (2, 2, 2))


@dataclass
class TextGANArguments(GANArguments):
    """Text-to-image GAN settings (on top of the GAN flags; `--preset hinge` by default)."""

    preset: str = field(default="hinge", metadata={"help": "A GAN preset (hinge: hinge loss + spectral norm, the default)."})
    text_encoder: Optional[str] = field(
        default=None,
        metadata={"help": "Folder of a text encoder (e.g. exported by `hfgen train clip`), used frozen, or 'random'. Default: on "
                          "--dataset shapes the CLIP text tower shipped with hfgen (trained on the 42 training combinations); "
                          "elsewhere (or with 'random') a tiny random frozen CLIPTextModel over a word tokenizer built from "
                          "the captions (weaker)."},
    )
    matching_aware: bool = field(default=True, metadata={"help": "GAN-CLS: real images with mismatched captions count as fake for D."})
    interpolate_text: bool = field(default=True, metadata={"help": "GAN-INT: G also trained on 0.5-interpolated caption embeddings."})
    diversity_weight: float = field(
        default=0.0,
        metadata={"help": "Mode-seeking term (Mao et al. 2019, MSGAN): G's loss adds this weight / (mean |G(z1,t) - G(z2,t)| / "
                          "mean |z1 - z2|), so that two noises of one caption give different images (0: off)."},
    )
    text_hidden_size: int = field(default=64, metadata={"help": "Width of the default (random) text encoder."})
    max_length: int = field(default=16, metadata={"help": "Tokens per caption of the default tokenizer, [BOS]/[EOS] included."})
    sample_prompts: Optional[str] = field(default=None, metadata={"help": "'|'-separated prompts of the sample grid (default: shapes prompts)."})


def sample_mismatched(labels: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """For each row i, the index j of another row whose label differs (uniformly among them); -1 where none does.

    GAN-CLS's "wrong" caption must describe other content: a row of the same combination would only
    reword the right caption.
    """
    labels = labels.reshape(-1)
    differs = labels[None, :] != labels[:, None]
    scores = torch.rand(differs.shape, generator=generator, device=generator.device if generator is not None else labels.device)
    scores = scores.to(labels.device).masked_fill(~differs, -1.0)
    picked = scores.argmax(dim=1)
    return torch.where(differs.any(dim=1), picked, torch.full_like(picked, -1))


class TextGANTask(GANTask):
    """Trains a text-conditioned DCGAN (GAN-INT-CLS) against a frozen text encoder."""

    frozen_models: ClassVar[tuple[str, ...]] = ("text_encoder",)
    component_names: ClassVar[dict[str, str]] = {"generator": "gan_generator"}

    @classmethod
    def from_arguments(cls, training_args, task_args: TextGANArguments) -> "TextGANTask":
        """The task of `hfgen train text-gan` / `scripts/train_text_gan.py`."""
        return cls(task_args, learning_rate=training_args.learning_rate, batch_size=training_args.train_batch_size)

    def __init__(self, args: TextGANArguments = None, learning_rate=None, batch_size: int = 64):
        args = args or TextGANArguments()
        if args.class_conditional:
            raise ConfigurationError("--class_conditional does not apply to text-gan: the captions are the condition; drop the flag.")
        if args.architecture not in ("auto", "dcgan"):
            raise ConfigurationError(f"--architecture {args.architecture} does not apply to text-gan (images only): use dcgan.")
        super().__init__(args, learning_rate=learning_rate, batch_size=batch_size)
        self.name = "text-gan"
        if self.settings["gp_weight"] > 0:
            raise ConfigurationError("--gp_weight is not supported by text-gan (the penalty ignores the text condition): "
                                     "use --preset hinge (spectral norm) or --clip_value.")
        if args.diversity_weight < 0:
            raise ConfigurationError(f"--diversity_weight {args.diversity_weight} must be >= 0 (0 turns the mode-seeking term off).")
        if args.max_length < 3:
            raise ConfigurationError(f"--max_length {args.max_length} leaves no room for a word beside [BOS] and [EOS]: use >= 3.")

    def setup(self, dataset) -> None:
        """The text encoder (loaded or built from the captions), then G and D with condition_dim = its width."""
        from transformers import CLIPTextModel

        from hfgen.text import build_word_tokenizer, load_text_encoder, tiny_text_encoder_config

        a = self.gan_args
        require_captioned_images(dataset, "hfgen train text-gan")
        sample = [c for t in dataset.texts[:64] for c in (t if isinstance(t, (list, tuple)) else [t]) if c]
        source, label = a.text_encoder, a.text_encoder
        if source is None and dataset.name == "shapes":
            # scripts/train_shapes_clip.py --what text_encoder: contrastively pre-trained, it tells the attributes apart
            # far better than a random encoder (README, text to image), and has seen no held-out combination.
            source, label = SHAPES_TEXT_ENCODER_DIR, "hfgen/shapes_text_encoder (CLIP text tower trained on the 42 training combinations)"
        if source and source != "random":
            self.tokenizer, text_encoder = load_text_encoder(source, sample_captions=sample)
            self.text_encoder_source = label
        else:
            self.tokenizer = build_word_tokenizer(dataset.texts, max_length=a.max_length)
            config = tiny_text_encoder_config(0, hidden_size=a.text_hidden_size, layers=1, heads=2, tokenizer=self.tokenizer)
            # The random encoder is part of the model: the same in every process (seed 0), drawn from a forked RNG
            # so that --seed still decides G and D's initialisation.
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(0)
                text_encoder = CLIPTextModel(config)
            self.text_encoder_source = "random (frozen, built from the captions)"
        text_encoder.eval().requires_grad_(False)
        self.text_dim = int(text_encoder.config.hidden_size)  # CLIPTextModel's pooler_output width
        super().setup(dataset)  # G and D, with condition_dim = text_dim (see _config)
        self.models["text_encoder"] = text_encoder
        self.prompts, self.prompt_labels = _grid_prompts(dataset, a.sample_prompts)
        self._dataset = dataset

    def _config(self, dataset):
        """The GAN task's DCGAN config with the text condition: condition_dim = the text encoder's pooled width."""
        config = super()._config(dataset)
        config.condition_dim = self.text_dim
        return config

    def _announce(self, dataset) -> None:
        from accelerate.state import PartialState

        if PartialState().is_main_process:
            import sys

            print(f"{dataset.describe()}\ntext-gan: loss {self.settings['loss']}, text encoder {self.text_encoder_source}, "
                  f"GAN-CLS {'on' if self.gan_args.matching_aware else 'off'}, GAN-INT {'on' if self.gan_args.interpolate_text else 'off'}.",
                  file=sys.stderr, flush=True)

    # -- losses ---------------------------------------------------------------------------------

    def _embed(self, texts, ctx: StepContext) -> torch.Tensor:
        with torch.no_grad():
            inputs = self.tokenizer(list(texts), padding="max_length", truncation=True, max_length=self.tokenizer.model_max_length,
                                    return_tensors="pt")
            out = ctx.models["text_encoder"](input_ids=inputs["input_ids"].to(ctx.device),
                                             attention_mask=inputs["attention_mask"].to(ctx.device))
        return out.pooler_output.detach()

    @staticmethod
    def _content_ids(batch: dict) -> torch.Tensor:
        """What tells the content of two rows apart: their labels (shapes: the attribute combination), else their
        caption text (data without labels: a mismatched caption then differs at least in wording)."""
        if "labels" in batch:
            return batch["labels"]
        ids = {text: i for i, text in enumerate(dict.fromkeys(batch["text"]))}
        return torch.tensor([ids[t] for t in batch["text"]])

    def mismatched_texts(self, texts, labels, generator) -> list[str]:
        """A caption of another combination for each row (`sample_mismatched`; a row whose whole batch shares its
        label takes a caption of another label from the dataset)."""
        picked = sample_mismatched(labels, generator).tolist()
        out = []
        for i, j in enumerate(picked):
            if j >= 0:
                out.append(texts[j])
                continue
            if "labels" in self._dataset.storage:
                others = (torch.as_tensor(self._dataset.storage["labels"]).reshape(-1) != int(labels[i])).nonzero().flatten()
            else:  # no labels: any row whose captions do not include this one
                others = torch.tensor([r for r, t in enumerate(self._dataset.texts)
                                       if texts[i] not in (t if isinstance(t, (list, tuple)) else [t])], dtype=torch.long)
            if len(others) == 0:
                raise ConfigurationError("--matching_aware true needs images of at least two different labels (combinations).")
            row = int(others[torch.randint(len(others), (1,)).item()])
            caption = self._dataset.texts[row]
            out.append(caption[0] if isinstance(caption, (list, tuple)) else caption)
        return out

    def discriminator_step(self, batch: dict, ctx: StepContext) -> dict:
        """GAN-CLS: D(real, t) -> real; D(G(z, t), t) -> fake; D(real, t_mismatched) -> fake."""
        G, D = ctx.models["generator"], ctx.models["discriminator"]
        real, texts = batch[self.data_key], batch["text"]
        e = self._embed(texts, ctx)
        with torch.no_grad():
            fake = G(self._noise(real.shape[0], ctx), condition_embeds=e)
        real_logits = D(real, condition_embeds=e)
        fake_logits = D(fake, condition_embeds=e)
        loss = self.adversarial.discriminator_loss(real_logits, fake_logits, real_label=self.real_label)
        losses = {"fake_term": loss.detach()}
        if self.gan_args.matching_aware:
            wrong = self._embed(self.mismatched_texts(texts, self._content_ids(batch), ctx.generator), ctx)
            wrong_loss = self.adversarial.discriminator_loss(real_logits, D(real, condition_embeds=wrong), real_label=self.real_label)
            # Reed et al.: real + (fake + wrong) / 2; each registry loss holds the real term, hence the average.
            loss = 0.5 * (loss + wrong_loss)
            losses["mismatch_term"] = wrong_loss.detach()
        losses["loss"] = loss
        return losses

    def generator_step(self, batch: dict, ctx: StepContext) -> dict:
        """G's adversarial loss on its captions, plus (GAN-INT) on 0.5-interpolated caption embeddings."""
        G, D = ctx.models["generator"], ctx.models["discriminator"]
        e = self._embed(batch["text"], ctx)
        n = e.shape[0]
        z = self._noise(n, ctx)
        fake = G(z, condition_embeds=e)
        loss = self.adversarial.generator_loss(D(fake, condition_embeds=e))
        losses = {"matching_term": loss.detach()}
        if self.gan_args.diversity_weight > 0:
            # MSGAN: the ratio of image distance to noise distance for two noises of the same captions; G maximises it
            # (minimises its inverse), which discourages mapping every z of a caption to one image.
            z2 = self._noise(n, ctx)
            ratio = (fake - G(z2, condition_embeds=e)).abs().mean() / (z - z2).abs().mean()
            diversity = self.gan_args.diversity_weight / (ratio + 1e-5)
            losses["diversity_term"] = diversity.detach()
        else:
            diversity = None
        if self.gan_args.interpolate_text and n > 1:
            perm = torch.randperm(n, generator=ctx.generator, device=ctx.generator.device).to(e.device)
            mixed = 0.5 * (e + e[perm])
            int_loss = self.adversarial.generator_loss(D(G(self._noise(n, ctx), condition_embeds=mixed), condition_embeds=mixed))
            loss = 0.5 * (loss + int_loss)
            losses["interpolation_term"] = int_loss.detach()
        if diversity is not None:
            loss = loss + diversity
        losses["loss"] = loss
        return losses

    # -- outputs --------------------------------------------------------------------------------

    def build_pipeline(self, models):
        """TextToImageGANPipeline over G, the frozen text encoder and its tokenizer."""
        from hfgen.pipelines import TextToImageGANPipeline

        return TextToImageGANPipeline(gan_generator=models["generator"], text_encoder=models["text_encoder"], tokenizer=self.tokenizer)

    def sample_for_checks(self, pipeline, batch_size: int, generator: torch.Generator):
        """The loop's output check on images of the grid's prompts (about `batch_size` in all)."""
        per_prompt = max(1, batch_size // len(self.prompts))
        return pipeline(self.prompts, num_images_per_prompt=per_prompt, generator=generator, output_type="np").images

    def save_samples(self, pipeline, path: str, num_samples: int, seed: int) -> str:
        """A grid: one row per prompt of the fixed list (`--sample_prompts`), the prompts written in the log."""
        from .visualize import save_image_grid

        per_prompt = max(1, num_samples // len(self.prompts))
        generator = torch.Generator(device=pipeline.device).manual_seed(seed)
        images = pipeline(self.prompts, num_images_per_prompt=per_prompt, generator=generator, output_type="np").images
        # The prompts of the rows, beside the grid (samples.png -> samples_prompts.txt).
        with open(os.path.splitext(path)[0] + "_prompts.txt", "w", encoding="utf-8") as f:
            f.write("\n".join(self.prompt_labels) + "\n")
        save_image_grid(images, path, nrow=per_prompt, scale=max(1, min(4, 128 // images.shape[1])))
        _write_row_labels(path, self.prompt_labels)
        return path

    def build_evaluator(self, dataset, metrics: str, num_samples: int, seed: int):
        """The text-to-image evaluation of `hfgen evaluate` (hfgen.evaluation.text): attribute accuracy on the 48 shapes
        prompts (all, training and held-out combinations), shapes-FID, CLIP score, R-precision and diversity."""
        from hfgen.evaluation.text import TextToImageEvaluator

        return TextToImageEvaluator(num_samples=num_samples, seed=seed, dataset_name=dataset.name)

    def describe(self) -> dict:
        """Settings for logs and model cards."""
        out = super().describe()
        out.update(task=self.name, text_gan=asdict(self.gan_args), text_encoder=getattr(self, "text_encoder_source", None),
                   sample_prompts=getattr(self, "prompt_labels", None))
        return out


def _grid_prompts(dataset, sample_prompts: Optional[str]) -> tuple[list[str], list[str]]:
    """The sample grid's prompts and their row labels: `--sample_prompts` ('|'-separated), else shapes prompts of
    training and held-out combinations (labelled so), else the data's first six distinct captions."""
    if sample_prompts:
        prompts = [p.strip() for p in sample_prompts.split("|") if p.strip()]
        if not prompts:
            raise ConfigurationError("--sample_prompts holds no prompt: pass prompts separated by '|', e.g. 'a red circle|a blue square'.")
        return prompts, prompts
    if dataset.name == "shapes":
        from hfgen.data.shapes import HELD_OUT, caption_for

        prompts = [caption_for(*combo) for combo in SHAPES_GRID]
        return prompts, [p + (" (held out)" if combo in HELD_OUT else "") for p, combo in zip(prompts, SHAPES_GRID)]
    captions = [c for t in dataset.texts for c in (t if isinstance(t, (list, tuple)) else [t]) if c]
    prompts = list(dict.fromkeys(captions))[:6]
    return prompts, prompts


def _write_row_labels(path: str, labels) -> None:
    """Writes each row's label (its prompt) to the right of the grid at `path`, in place."""
    from PIL import Image, ImageDraw

    grid = Image.open(path).convert("RGB")
    row_height = grid.height / len(labels)
    width = 8 + 6 * max(len(label) for label in labels)  # PIL's default bitmap font: ~6 px per character
    out = Image.new("RGB", (grid.width + width, grid.height), "white")
    out.paste(grid, (0, 0))
    draw = ImageDraw.Draw(out)
    for i, label in enumerate(labels):
        draw.text((grid.width + 4, int((i + 0.5) * row_height) - 5), label, fill="black")
    out.save(path)
