"""The CLIP task: a small `transformers.CLIPModel` trained contrastively on image-caption pairs.

Radford et al. 2021: an image encoder E_I and a text encoder E_T project to one space; over a batch
of N pairs, the symmetric InfoNCE loss (cross-entropy of the N x N cosine-similarity logits,
scaled by the learned temperature, along rows and columns) pulls matching pairs together.
`CLIPModel(..., return_loss=True)` computes exactly that. The tokenizer is a word-level one built
from the training captions at setup (`hfgen.text.build_word_tokenizer`). The trained text tower is
what text-to-image tasks load (frozen) with `--text_encoder <export folder>`, and the whole model
scores generated images (`hfgen.metrics.clip`).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field

import torch

from .args import ConfigurationError
from .task import Phase, StepContext, Task, require_captioned_images

# What the vision tower expects: hfgen's training images in [-1, 1] = (x - 0.5) / 0.5 for x in [0, 1].
IMAGE_MEAN, IMAGE_STD = 0.5, 0.5


@dataclass
class CLIPArguments:
    """Sizes of the CLIP towers and of the tokenizer (a small model for small data by default)."""

    hidden_size: int = field(default=64, metadata={"help": "Width of both transformer towers."})
    num_layers: int = field(default=2, metadata={"help": "Transformer layers of each tower."})
    num_heads: int = field(default=2, metadata={"help": "Attention heads of each tower (must divide --hidden_size)."})
    projection_dim: int = field(default=64, metadata={"help": "Size of the shared image-text embedding."})
    patch_size: int = field(default=4, metadata={"help": "Vision patch side (must divide the image resolution)."})
    max_length: int = field(default=16, metadata={"help": "Tokens per caption, [BOS] and [EOS] included (longer captions are truncated)."})
    lowercase: bool = field(default=True, metadata={"help": "Lowercase captions before splitting them into words."})
    weight_decay: float = field(default=0.0, metadata={"help": "AdamW weight decay."})


class CLIPBundle:
    """What the loop handles as this task's "pipeline": the CLIP model and its tokenizer.

    CLIP generates nothing: calling it raises TypeError (the loop then skips its output checks).
    """

    def __init__(self, model, tokenizer):
        self.model, self.tokenizer = model, tokenizer

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def __call__(self, *args, **kwargs):
        raise TypeError("A CLIP model generates no images: score images with hfgen.metrics.clip (clip_score, r_precision).")


class CLIPEvaluator:
    """Scores a CLIP on `num_samples` image-caption pairs of `dataset` (seeded): `evaluator(bundle) -> {"metrics": ...}`.

    Metrics: `r_precision` (top-1 among the true caption and up to 99 other distinct captions of the
    data), `clip_score` with the true captions and `clip_score_shuffled` with captions of other rows
    (the floor a CLIP that ignores the text gets).
    """

    def __init__(self, dataset, num_samples: int = 1000, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        idx = torch.randperm(len(dataset), generator=g)[: max(1, min(num_samples, len(dataset)))]
        batch = dataset.get_batch(idx, generator=g)
        self.images = (batch[dataset.primary_key] + 1) / 2  # [0, 1], as hfgen.metrics.clip takes them
        self.captions = list(batch["text"])
        self.shuffled = [self.captions[i] for i in torch.randperm(len(self.captions), generator=g).tolist()]
        self.pool = sorted({c for texts in dataset.texts for c in (texts if isinstance(texts, (list, tuple)) else [texts]) if c})
        self.seed = seed

    def __call__(self, bundle) -> dict:
        from hfgen.metrics.clip import clip_score, r_precision

        model, tokenizer = bundle.model, bundle.tokenizer
        metrics = {"clip_score": clip_score(model, tokenizer, self.images, self.captions),
                   "clip_score_shuffled": clip_score(model, tokenizer, self.images, self.shuffled)}
        negatives = min(99, len(self.pool) - 1)
        if negatives >= 1:
            metrics["r_precision"] = r_precision(model, tokenizer, self.images, self.captions, self.pool, k=1, negatives=negatives,
                                                 seed=self.seed)
        protocol = {"pairs": len(self.captions), "r_precision_negatives": negatives, "seed": self.seed,
                    "chance": 1 / (negatives + 1) if negatives >= 1 else None}
        return {"metrics": metrics, "protocol": protocol}

    def floors(self) -> dict:
        """No FID floor: CLIP is not a generator."""
        return {"real_vs_real": {"metrics": {}}}


class CLIPTask(Task):
    """Contrastive image-text pre-training of a small CLIPModel on a captioned image dataset."""

    @classmethod
    def from_arguments(cls, training_args, task_args: CLIPArguments) -> "CLIPTask":
        """The CLIP task of `hfgen train clip` / `scripts/train_clip.py`."""
        return cls(task_args, learning_rate=training_args.learning_rate)

    def __init__(self, clip_args: CLIPArguments = None, learning_rate=None):
        super().__init__(name="clip")
        self.clip_args = a = clip_args or CLIPArguments()
        self.learning_rate = 5e-4 if learning_rate is None else learning_rate
        if self.learning_rate <= 0:
            raise ConfigurationError("--learning_rate must be > 0.")
        if min(a.hidden_size, a.num_layers, a.num_heads, a.projection_dim, a.patch_size) < 1:
            raise ConfigurationError("--hidden_size, --num_layers, --num_heads, --projection_dim and --patch_size must be >= 1.")
        if a.hidden_size % a.num_heads:
            raise ConfigurationError(f"--num_heads {a.num_heads} must divide --hidden_size {a.hidden_size}.")
        if a.max_length < 3:
            raise ConfigurationError(f"--max_length {a.max_length} leaves no room for a word beside [BOS] and [EOS]: use >= 3.")

    def loop_defaults(self, dataset, args) -> dict:
        """Contrastive learning wants many negatives per batch; a cosine schedule as in CLIP."""
        return {"train_batch_size": min(128, len(dataset)), "lr_scheduler": "cosine"}

    def setup(self, dataset) -> None:
        """Builds the tokenizer from the captions and a CLIPModel sized for the images."""
        from transformers import CLIPConfig, CLIPModel, CLIPVisionConfig

        from hfgen.text import build_word_tokenizer, tiny_text_encoder_config

        a = self.clip_args
        require_captioned_images(dataset, "hfgen train clip")
        if dataset.image_size % a.patch_size:
            raise ConfigurationError(f"--patch_size {a.patch_size} must divide the image resolution {dataset.image_size} (see --resolution).")
        self.tokenizer = build_word_tokenizer(dataset.texts, max_length=a.max_length, lowercase=a.lowercase)
        text_config = tiny_text_encoder_config(0, hidden_size=a.hidden_size, layers=a.num_layers, heads=a.num_heads,
                                               max_position_embeddings=a.max_length, projection_dim=a.projection_dim,
                                               tokenizer=self.tokenizer)
        vision_config = CLIPVisionConfig(
            hidden_size=a.hidden_size, intermediate_size=4 * a.hidden_size, projection_dim=a.projection_dim,
            num_hidden_layers=a.num_layers, num_attention_heads=a.num_heads, num_channels=dataset.num_channels,
            image_size=dataset.image_size, patch_size=a.patch_size,
        )
        config = CLIPConfig(text_config=text_config.to_dict(), vision_config=vision_config.to_dict(), projection_dim=a.projection_dim)
        self.models = {"clip": CLIPModel(config)}
        self.data_key = dataset.primary_key
        self._dataset = dataset  # rows for the similarity-matrix samples
        from .gan import _data_record

        self.data_record = _data_record(dataset)

    def create_optimizers(self) -> dict:
        """AdamW (CLIP's optimizer; betas 0.9/0.98 as in the paper)."""
        return {"clip": torch.optim.AdamW(self.models["clip"].parameters(), lr=self.learning_rate, betas=(0.9, 0.98),
                                          weight_decay=self.clip_args.weight_decay)}

    def tokenize(self, captions, device) -> dict:
        """Input ids and attention mask of `captions`, padded to the tokenizer's max length."""
        inputs = self.tokenizer(list(captions), padding="max_length", truncation=True, max_length=self.clip_args.max_length,
                                return_tensors="pt")
        return {"input_ids": inputs["input_ids"].to(device), "attention_mask": inputs["attention_mask"].to(device)}

    def clip_step(self, batch: dict, ctx: StepContext) -> dict:
        """Symmetric InfoNCE over the batch (CLIPModel's own loss), plus the batch's retrieval accuracy."""
        out = ctx.models["clip"](pixel_values=batch[self.data_key], return_loss=True, **self.tokenize(batch["text"], ctx.device))
        with torch.no_grad():
            # Image->text top-1 within the batch; captions repeated in the batch count as right.
            texts = batch["text"]
            picked = out.logits_per_image.argmax(dim=1).tolist()
            accuracy = sum(texts[j] == texts[i] for i, j in enumerate(picked)) / len(texts)
        return {"loss": out.loss, "batch_accuracy": torch.tensor(accuracy, device=ctx.device)}

    def phases(self) -> list[Phase]:
        """One contrastive update per step."""
        return [Phase("clip", optimizer="clip", trainable=("clip",), step=self.clip_step)]

    # -- outputs --------------------------------------------------------------------------------

    def load_exported(self, folder: str) -> None:
        """`--init_from`: starts from an exported CLIP folder (weights and its tokenizer, whose vocabulary the
        embeddings were trained with); the model sizes must match this run's flags."""
        from transformers import AutoTokenizer, CLIPModel

        from hfgen.text import _quiet_transformers, check_tokenizer

        if not os.path.isfile(os.path.join(folder, "config.json")) or not os.path.isfile(os.path.join(folder, "model.safetensors")):
            raise ConfigurationError(f"--init_from {folder!r} holds no config.json + model.safetensors of a CLIP export (`hfgen train clip`).")
        with _quiet_transformers():
            loaded = CLIPModel.from_pretrained(folder, use_safetensors=True)
        ours = self.models["clip"]
        mismatched = [f"{tower}.{key} (saved {getattr(getattr(loaded.config, tower), key)!r}, this run {getattr(getattr(ours.config, tower), key)!r})"
                      for tower in ("text_config", "vision_config")
                      for key in ("hidden_size", "num_hidden_layers", "num_attention_heads", "image_size", "patch_size", "num_channels")
                      if hasattr(getattr(ours.config, tower), key)
                      and getattr(getattr(loaded.config, tower), key) != getattr(getattr(ours.config, tower), key)]
        if loaded.config.projection_dim != ours.config.projection_dim:
            mismatched.append(f"projection_dim (saved {loaded.config.projection_dim}, this run {ours.config.projection_dim})")
        if mismatched:
            raise ConfigurationError(f"--init_from {folder!r} was saved with other sizes: {'; '.join(mismatched)}; pass matching flags.")
        tokenizer = AutoTokenizer.from_pretrained(folder)
        check_tokenizer(tokenizer, self._dataset.texts[:32])
        # The saved vocabulary replaces the one built from this run's captions (the embeddings index it).
        self.tokenizer = _tokenizer_from_string(tokenizer.backend_tokenizer.to_str(), self.clip_args.max_length)
        ours.text_model.embeddings.token_embedding = loaded.text_model.embeddings.token_embedding  # its vocabulary's size
        for config in {id(c): c for c in (ours.config.text_config, ours.text_model.config)}.values():
            config.vocab_size = loaded.config.text_config.vocab_size
        ours.load_state_dict(loaded.state_dict())

    def build_pipeline(self, models):
        """The model and its tokenizer (see CLIPBundle)."""
        return CLIPBundle(models["clip"], self.tokenizer)

    def save_samples(self, pipeline, path: str, num_samples: int, seed: int) -> str:
        """A similarity matrix image: rows are images, columns their captions (a bright diagonal = matching)."""
        from PIL import Image

        rows = self._sample_rows(min(num_samples, 16), seed)
        with torch.no_grad():
            model = pipeline.model
            pixels = rows["pixels"].to(pipeline.device)
            logits = model(pixel_values=pixels, **self.tokenize(rows["text"], pipeline.device)).logits_per_image
            probs = logits.softmax(dim=1).cpu().numpy()
        scale = 16
        image = Image.fromarray((probs * 255).round().astype("uint8")).resize((probs.shape[1] * scale, probs.shape[0] * scale), Image.NEAREST)
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        image.save(path)
        return path

    def _sample_rows(self, n: int, seed: int) -> dict:
        data = self._dataset
        g = torch.Generator().manual_seed(seed)
        idx = torch.randperm(len(data), generator=g)[:n]
        batch = data.get_batch(idx, generator=g)
        return {"pixels": batch[self.data_key], "text": batch["text"]}

    def build_evaluator(self, dataset, metrics: str, num_samples: int, seed: int):
        """Retrieval on the data's own image-caption pairs: R-precision and CLIP score (see CLIPEvaluator)."""
        return CLIPEvaluator(dataset, num_samples=num_samples, seed=seed)

    def export(self, models, folder: str) -> str:
        """Writes the standard transformers CLIP folder of `models["clip"]` (see `export_clip_folder`)."""
        return export_clip_folder(models["clip"], self.tokenizer, folder, data=(getattr(self, "data_record", None) or {}).get("description", ""))

    def state_dict(self) -> dict:
        """The tokenizer and the model's config: a checkpoint alone can be exported (`export_checkpoint`), and a
        resumed run keeps the vocabulary its embeddings were trained with."""
        return {"tokenizer": self.tokenizer.backend_tokenizer.to_str(), "clip_config": self.models["clip"].config.to_json_string()}

    def load_state_dict(self, state: dict) -> None:
        """Restores the checkpoint's tokenizer (the one built from today's captions may differ)."""
        if state.get("tokenizer"):
            self.tokenizer = _tokenizer_from_string(state["tokenizer"], self.clip_args.max_length)

    def describe(self) -> dict:
        """Settings for logs."""
        return {"task": self.name, "clip": asdict(self.clip_args), "learning_rate": self.learning_rate,
                "data": getattr(self, "data_record", None)}


def _tokenizer_from_string(serialized: str, max_length: int):
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    from hfgen.text import BOS_TOKEN, EOS_TOKEN, PAD_TOKEN, UNK_TOKEN

    return PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_str(serialized), pad_token=PAD_TOKEN, unk_token=UNK_TOKEN, bos_token=BOS_TOKEN,
        eos_token=EOS_TOKEN, model_max_length=max_length, padding_side="right", truncation_side="right",
    )


def export_clip_folder(model, tokenizer, folder: str, data: str = "") -> str:
    """Writes the standard transformers CLIP folder: `CLIPModel` (safetensors) + tokenizer + image processor + card.

    `CLIPModel.from_pretrained(folder)`, `AutoTokenizer.from_pretrained(folder)` and
    `CLIPProcessor.from_pretrained(folder)` load it without hfgen; `hfgen.text.load_text_encoder(folder)`
    takes its text tower. `data` describes the training data in the card.
    """
    from hfgen.pipelines.hfgen_pipeline_utils import quiet_transformers_progress_bars
    from hfgen.text import _quiet_transformers

    os.makedirs(folder, exist_ok=True)
    with quiet_transformers_progress_bars():
        model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    c = model.config.vision_config.num_channels
    size = model.config.vision_config.image_size
    # Inputs as the model was trained on them: resized to its resolution, [0, 255] -> [-1, 1]. (Quiet: without
    # torchvision transformers notes that it falls back to its PIL backend, which is fine for this config file.)
    with _quiet_transformers():
        from transformers import CLIPImageProcessor

        processor = CLIPImageProcessor(
            do_resize=True, size={"height": size, "width": size}, do_center_crop=False, do_rescale=True, rescale_factor=1 / 255,
            do_normalize=True, image_mean=[IMAGE_MEAN] * c, image_std=[IMAGE_STD] * c, do_convert_rgb=c == 3,
        )
    processor.save_pretrained(folder)
    with open(os.path.join(folder, "README.md"), "w", encoding="utf-8") as f:
        f.write(_card(model, tokenizer, data))
    return folder


def export_checkpoint(checkpoint: str, folder: str) -> str:
    """Writes the CLIP folder of a `hfgen train clip` checkpoint (`<output_dir>/checkpoints/checkpoint-N`) to `folder`."""
    from transformers import CLIPConfig, CLIPModel

    from .state import load_checkpoint_tree

    tree = load_checkpoint_tree(checkpoint)
    states = tree["task"] if isinstance(tree["task"], list) else [tree["task"]]
    if not states or "clip_config" not in (states[0] or {}) or "clip" not in tree["models"]:
        raise ConfigurationError(f"{checkpoint} is not a checkpoint of `hfgen train clip` (no CLIP model, config and tokenizer in it).")
    import json

    model = CLIPModel(CLIPConfig.from_dict(json.loads(states[0]["clip_config"])))
    model.load_state_dict(tree["models"]["clip"])
    max_length = int(model.config.text_config.max_position_embeddings)
    return export_clip_folder(model.eval(), _tokenizer_from_string(states[0]["tokenizer"], max_length), folder)


def _card(model, tokenizer, data: str) -> str:
    n_params = sum(p.numel() for p in model.parameters())
    v, t = model.config.vision_config, model.config.text_config
    return f"""---
library_name: transformers
tags: [hfgen, clip, zero-shot-image-classification]
pipeline_tag: zero-shot-image-classification
---

# Small CLIP trained with hfgen

A `CLIPModel` ({n_params:,} parameters; {t.num_hidden_layers}-layer text and {v.num_hidden_layers}-layer vision transformers,
width {t.hidden_size}, projection {model.config.projection_dim}, {v.image_size}x{v.image_size} images in patches of
{v.patch_size}) trained contrastively (symmetric InfoNCE) with `hfgen train clip`, with a word-level tokenizer built from
the training captions ({len(tokenizer)} tokens, at most {tokenizer.model_max_length} per caption, [BOS] and [EOS] included).

Training data: {data or "see logs/training_args.json"}

Images are normalised to [-1, 1] (mean 0.5, std 0.5), as the saved image processor does.

```python
from transformers import CLIPModel, CLIPProcessor
model = CLIPModel.from_pretrained("<folder or repo id>")
processor = CLIPProcessor.from_pretrained("<folder or repo id>")
```

Its text tower serves hfgen's text-to-image models (`--text_encoder <folder or repo id>`); score images with
`hfgen.metrics.clip.clip_score` and `r_precision`.
"""
