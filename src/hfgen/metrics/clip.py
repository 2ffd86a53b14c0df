"""Text-image agreement measured with a CLIP model: CLIP score and R-precision.

- CLIP score (Hessel et al. 2021, as torchmetrics computes it): ``100 * max(cos(E_I(x), E_T(t)), 0)``
  averaged over image-caption pairs.
- R-precision (Xu et al. 2018, AttnGAN): for each image, its true caption is ranked among itself
  and ``negatives`` captions drawn at random from a pool; the score is the share of images whose
  true caption is in the top ``k`` (chance: ``k / (negatives + 1)``).

The model is any `transformers.CLIPModel` with its tokenizer. Images are tensors ``[N, C, H, W]``
(float in [0, 1], or uint8) or numpy ``[N, H, W, C]`` (a pipeline's ``output_type="np"``); they
are normalised with ``image_mean``/``image_std`` (default 0.5/0.5: the [-1, 1] inputs of a CLIP
trained by `hfgen train clip`; pass OpenAI's means for OpenAI CLIPs) and resized to the model's
``image_size`` when they differ.
"""

from __future__ import annotations

from typing import Hashable, Mapping, Optional, Sequence

import numpy as np
import torch


def _model_device(model) -> torch.device:
    return next(model.parameters()).device


def _prepare_images(model, images, image_mean=None, image_std=None) -> torch.Tensor:
    """Images as the vision tower's normalised float input on the model's device."""
    if isinstance(images, np.ndarray):
        images = torch.from_numpy(images)
        if images.dim() == 4 and images.shape[-1] in (1, 3) and images.shape[1] not in (1, 3):
            images = images.permute(0, 3, 1, 2)
    if not isinstance(images, torch.Tensor) or images.dim() != 4:
        raise ValueError("images must be a [N, C, H, W] tensor (or a [N, H, W, C] numpy array, as pipelines return with output_type='np').")
    images = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
    config = model.config.vision_config
    channels = config.num_channels
    if images.shape[1] != channels:
        if images.shape[1] == 1 and channels == 3:
            images = images.expand(-1, 3, -1, -1)
        else:
            raise ValueError(f"images have {images.shape[1]} channels; the CLIP model expects {channels}.")
    if images.shape[-1] != config.image_size or images.shape[-2] != config.image_size:
        images = torch.nn.functional.interpolate(images, size=(config.image_size, config.image_size), mode="bilinear",
                                                 antialias=True, align_corners=False)
    mean = torch.tensor(image_mean if image_mean is not None else [0.5] * channels).view(1, -1, 1, 1)
    std = torch.tensor(image_std if image_std is not None else [0.5] * channels).view(1, -1, 1, 1)
    return ((images - mean) / std).to(_model_device(model))


@torch.no_grad()
def _image_features(model, images, batch_size: int, image_mean=None, image_std=None) -> torch.Tensor:
    pixels = _prepare_images(model, images, image_mean, image_std)
    chunks = [model.get_image_features(pixel_values=pixels[i : i + batch_size]) for i in range(0, len(pixels), batch_size)]
    features = torch.cat([getattr(c, "pooler_output", c) for c in chunks])
    return torch.nn.functional.normalize(features.float(), dim=-1)


@torch.no_grad()
def _text_features(model, tokenizer, captions: Sequence[str], batch_size: int) -> torch.Tensor:
    captions = list(captions)
    max_length = min(int(tokenizer.model_max_length), int(model.config.text_config.max_position_embeddings))
    out = []
    for i in range(0, len(captions), batch_size):
        inputs = tokenizer(captions[i : i + batch_size], padding="max_length", truncation=True, max_length=max_length, return_tensors="pt")
        feats = model.get_text_features(input_ids=inputs["input_ids"].to(_model_device(model)),
                                        attention_mask=inputs["attention_mask"].to(_model_device(model)))
        out.append(getattr(feats, "pooler_output", feats))
    return torch.nn.functional.normalize(torch.cat(out).float(), dim=-1)


def _check_pairs(images, captions) -> None:
    if len(captions) == 0:
        raise ValueError("No captions given: CLIP metrics need one caption per image.")
    if len(images) != len(captions):
        raise ValueError(f"{len(images)} images but {len(captions)} captions: pass one caption per image.")


def clip_score(model, tokenizer, images, captions: Sequence[str], batch_size: int = 256, image_mean=None, image_std=None) -> float:
    """CLIP score: ``100 * mean(max(cos(image, caption), 0))`` over the pairs (torchmetrics' definition)."""
    _check_pairs(images, captions)
    model.eval()
    image = _image_features(model, images, batch_size, image_mean, image_std)
    text = _text_features(model, tokenizer, captions, batch_size)
    return float(100.0 * (image * text).sum(-1).clamp(min=0).mean())


def r_precision(
    model,
    tokenizer,
    images,
    true_captions: Sequence[str],
    caption_pool: Optional[Sequence[str]] = None,
    k: int = 1,
    negatives: int = 99,
    seed: int = 0,
    batch_size: int = 256,
    image_mean=None,
    image_std=None,
    caption_groups: Optional[Mapping[str, Hashable]] = None,
) -> float:
    """R-precision (AttnGAN protocol): share of images whose true caption ranks in the top `k` among
    itself and `negatives` captions drawn at random (seeded) from `caption_pool`.

    Negatives are drawn without replacement from the pool's captions that differ from the true one
    (a caption identical in wording would be a tie, not a wrong answer). `caption_pool` defaults to
    the true captions. `caption_groups` maps captions to what they describe (e.g. the attribute
    combination): a pool caption of the same group as the true caption (another wording of it) is
    never drawn as a negative. Chance level: ``k / (negatives + 1)``.
    """
    _check_pairs(images, true_captions)
    pool = sorted(set(caption_pool if caption_pool is not None else true_captions))
    if not 1 <= k <= negatives + 1:
        raise ValueError(f"k={k} must lie in [1, negatives + 1 = {negatives + 1}].")

    def same(a: str, b: str) -> bool:
        return a == b or (caption_groups is not None and a in caption_groups and caption_groups.get(b) == caption_groups[a])

    largest_negatives = min(sum(not same(c, t) for c in pool) for t in set(true_captions))
    if negatives < 1 or negatives > largest_negatives:
        raise ValueError(
            f"negatives={negatives} needs that many distinct other captions; the caption pool has {len(pool)} distinct captions: "
            "pass a larger caption_pool or fewer negatives."
        )
    model.eval()
    image = _image_features(model, images, batch_size, image_mean, image_std)
    pool_features = _text_features(model, tokenizer, pool, batch_size)
    true_features = _text_features(model, tokenizer, list(true_captions), batch_size)
    rng = np.random.default_rng(seed)
    hits, allowed = 0, {}
    for n, caption in enumerate(true_captions):
        if caption not in allowed:
            allowed[caption] = np.array([i for i, c in enumerate(pool) if not same(caption, c)])
        candidates = allowed[caption]
        chosen = torch.as_tensor(rng.choice(candidates, size=negatives, replace=False))
        scores = image[n] @ torch.cat([true_features[n : n + 1], pool_features[chosen]]).T
        # Rank of the true caption (position 0); ties count against it, so a constant model scores 0.
        rank = int((scores[1:] >= scores[0]).sum())
        hits += rank < k
    return hits / len(true_captions)
