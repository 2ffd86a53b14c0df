"""Text side of text-to-image models: a word-level tokenizer, a small CLIP text encoder, prompt encoding.

Everything here is a standard `transformers` component (`PreTrainedTokenizerFast`, `CLIPTextModel`),
saved with `save_pretrained` and loaded with `AutoTokenizer` / `CLIPTextModel.from_pretrained`, so a
folder written by hfgen is usable without hfgen. transformers is imported inside the functions:
`import hfgen` stays light.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Iterable, Optional, Sequence

logger = logging.getLogger(__name__)

PAD_TOKEN, UNK_TOKEN, BOS_TOKEN, EOS_TOKEN = "[PAD]", "[UNK]", "[BOS]", "[EOS]"
SPECIAL_TOKENS = (PAD_TOKEN, UNK_TOKEN, BOS_TOKEN, EOS_TOKEN)  # ids 0..3, in this order


class TokenizerError(ValueError):
    """A tokenizer that cannot serve a text model (e.g. it maps captions to one token)."""


class TextEncoderError(ValueError):
    """A text encoder that cannot be loaded or used (the message names the fix)."""


def _flatten_captions(captions: Iterable) -> list[str]:
    """Captions as a flat list of strings (a row may hold several captions)."""
    out = []
    for caption in captions:
        if isinstance(caption, (list, tuple)):
            out.extend(str(c) for c in caption if c)
        elif caption:
            out.append(str(caption))
    return out


def build_word_tokenizer(captions: Iterable, max_length: int = 16, lowercase: bool = True, min_frequency: int = 1):
    """A word-level tokenizer whose vocabulary is the words of `captions`.

    A `tokenizers` WordLevel model (whitespace + punctuation pre-tokenizer, optional lowercasing
    normalizer) wrapped as a `transformers.PreTrainedTokenizerFast` with `[PAD]` (id 0), `[UNK]`,
    `[BOS]` and `[EOS]`; every encoding is `[BOS] words... [EOS]`, padded on the right to
    `max_length` (`model_max_length`, BOS/EOS included). Save it with `save_pretrained(folder)`;
    `AutoTokenizer.from_pretrained(folder)` loads it back. Words outside the vocabulary map to `[UNK]`.

    Args:
        captions: the training captions (strings, or lists of strings for rows with several).
        max_length: tokens per prompt, BOS and EOS included (>= 3).
        lowercase: lowercase before splitting ("Red" and "red" are one word).
        min_frequency: words seen fewer times become `[UNK]`.
    """
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordLevel
    from tokenizers.trainers import WordLevelTrainer
    from transformers import PreTrainedTokenizerFast

    texts = _flatten_captions(captions)
    if not texts:
        raise TokenizerError("build_word_tokenizer got no captions: the dataset has no text (pass --caption_column naming its captions).")
    if max_length < 3:
        raise TokenizerError(f"max_length={max_length} leaves no room for a word beside [BOS] and [EOS]: use >= 3.")
    tokenizer = Tokenizer(WordLevel(unk_token=UNK_TOKEN))
    steps = [normalizers.NFKC()] + ([normalizers.Lowercase()] if lowercase else [])
    tokenizer.normalizer = normalizers.Sequence(steps)
    # Whitespace() splits on \w+|[^\w\s]+: "top-left," -> "top", "-", "left", ",".
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = WordLevelTrainer(special_tokens=list(SPECIAL_TOKENS), min_frequency=min_frequency, show_progress=False)
    tokenizer.train_from_iterator(texts, trainer=trainer)
    bos, eos = tokenizer.token_to_id(BOS_TOKEN), tokenizer.token_to_id(EOS_TOKEN)
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{BOS_TOKEN} $A {EOS_TOKEN}", pair=f"{BOS_TOKEN} $A {EOS_TOKEN} $B {EOS_TOKEN}",
        special_tokens=[(BOS_TOKEN, bos), (EOS_TOKEN, eos)],
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token=PAD_TOKEN, unk_token=UNK_TOKEN, bos_token=BOS_TOKEN, eos_token=EOS_TOKEN,
        model_max_length=max_length, padding_side="right", truncation_side="right",
    )
    check_tokenizer(fast, texts[:64])
    return fast


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text)


def check_tokenizer(tokenizer, sample_captions: Sequence[str]) -> None:
    """Raises `TokenizerError` when `tokenizer` cannot tell the captions' words apart.

    Guards against the silent failure of `CLIPTokenizer.from_pretrained(hub_id)` offline or with
    missing vocabulary files: a tokenizer that maps every caption to (nearly) one token or to
    unknown tokens only, so every prompt gets the same embedding. Checked on captions of at least
    two words: most of their words must become distinct, known tokens.
    """
    samples = [c for c in _flatten_captions(sample_captions) if len(_words(c)) >= 2][:32]
    if not samples:
        return  # nothing to judge (one-word captions are valid for a tokenizer)
    special = set(getattr(tokenizer, "all_special_ids", []) or [])
    unk = getattr(tokenizer, "unk_token_id", None)
    distinct, known_share = [], []
    for caption in samples:
        ids = [i for i in tokenizer(caption, truncation=False, add_special_tokens=False)["input_ids"] if i not in special or i == unk]
        words = len(_words(caption))
        distinct.append(len(set(ids)) / words)
        known_share.append(sum(1 for i in ids if i != unk) / max(len(ids), 1))
    name = getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__
    if sum(known_share) / len(samples) < 0.5:
        raise TokenizerError(
            f"The tokenizer {name!r} maps most words of the captions to its unknown token (e.g. {samples[0]!r}): its "
            "vocabulary does not cover these captions, or its vocabulary files are missing (CLIPTokenizer loaded offline "
            "without its files gives such a tokenizer without an error). Build one from the captions (hfgen.text."
            "build_word_tokenizer) or pass a --text_encoder folder that holds its tokenizer files."
        )
    if sum(distinct) / len(samples) < 0.5:
        raise TokenizerError(
            f"The tokenizer {name!r} splits captions into (nearly) a single token (e.g. {samples[0]!r} -> "
            f"{tokenizer.tokenize(samples[0])}): every prompt would get the same embedding. Its vocabulary files are likely "
            "missing (CLIPTokenizer loaded offline without them gives such a tokenizer without an error): pass a "
            "--text_encoder folder that holds its tokenizer files, or build one from the captions (hfgen.text.build_word_tokenizer)."
        )


def tiny_text_encoder_config(
    vocab_size: int,
    hidden_size: int = 64,
    layers: int = 2,
    heads: int = 2,
    max_position_embeddings: int = 16,
    intermediate_size: Optional[int] = None,
    projection_dim: Optional[int] = None,
    pad_token_id: int = 0,
    bos_token_id: int = 2,
    eos_token_id: int = 3,
    tokenizer=None,
):
    """A small `CLIPTextConfig`; with `tokenizer`, its vocabulary size, special ids and max length.

    `eos_token_id` matters: `CLIPTextModel` pools the hidden state at the EOS position.
    """
    from transformers import CLIPTextConfig

    if tokenizer is not None:
        vocab_size = len(tokenizer)
        pad_token_id, bos_token_id, eos_token_id = tokenizer.pad_token_id, tokenizer.bos_token_id, tokenizer.eos_token_id
        max_position_embeddings = max(max_position_embeddings, int(tokenizer.model_max_length))
    if hidden_size % heads:
        raise TextEncoderError(f"hidden_size={hidden_size} must be a multiple of heads={heads}.")
    return CLIPTextConfig(
        vocab_size=vocab_size, hidden_size=hidden_size, intermediate_size=intermediate_size or 4 * hidden_size,
        projection_dim=projection_dim or hidden_size, num_hidden_layers=layers, num_attention_heads=heads,
        max_position_embeddings=max_position_embeddings, pad_token_id=pad_token_id, bos_token_id=bos_token_id,
        eos_token_id=eos_token_id,
    )


_warned: set = set()


def _warn_once(key: str, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        logger.warning(message)


def encode_prompts(tokenizer, text_encoder, prompts, device=None, max_length: Optional[int] = None):
    """Embeds `prompts` with `text_encoder`: returns `(pooled [N, D], hidden [N, L, D], attention_mask [N, L])`.

    Prompts are padded to the tokenizer's max length and truncated beyond it (a warning names the
    limit, once); a prompt made only of words outside the vocabulary is embedded as `[UNK]` (warned
    once). `pooled` is the model's `pooler_output` (the EOS token's state for CLIPTextModel).
    """
    import torch

    if isinstance(prompts, str):
        prompts = [prompts]
    prompts = list(prompts or [])
    if not prompts:
        raise TextEncoderError("encode_prompts got an empty list of prompts: pass at least one prompt.")
    if not all(isinstance(p, str) for p in prompts):
        raise TextEncoderError(f"prompts must be strings, got {sorted({type(p).__name__ for p in prompts})}.")
    limit = int(max_length or tokenizer.model_max_length)
    if limit > 10_000:  # tokenizers without a limit report a huge sentinel value
        limit = int(getattr(getattr(text_encoder, "config", None), "max_position_embeddings", 77))
    full = tokenizer(prompts, truncation=False, add_special_tokens=True)["input_ids"]
    too_long = [p for p, ids in zip(prompts, full) if len(ids) > limit]
    if too_long:
        _warn_once("truncation", f"{len(too_long)} prompt(s) are longer than the tokenizer's {limit} tokens and were truncated "
                                 f"(e.g. {too_long[0][:60]!r}); the end of such prompts is ignored.")
    unk = tokenizer.unk_token_id
    if unk is not None:
        special = set(tokenizer.all_special_ids) - {unk}
        for prompt, ids in zip(prompts, full):
            words = [i for i in ids if i not in special]
            if words and all(i == unk for i in words):
                _warn_once("unknown", f"The prompt {prompt!r} has only words outside the tokenizer's vocabulary: they are mapped "
                                      "to [UNK] and the prompt carries no information; use the words of the training captions.")
                break
    inputs = tokenizer(prompts, padding="max_length", truncation=True, max_length=limit, return_tensors="pt")
    if device is None:
        device = next(text_encoder.parameters()).device
    input_ids, attention_mask = inputs["input_ids"].to(device), inputs["attention_mask"].to(device)
    output = text_encoder(input_ids=input_ids, attention_mask=attention_mask)
    return output.pooler_output, output.last_hidden_state, attention_mask


class _quiet_transformers:
    """Raises transformers' log level to errors inside the block (restored on exit)."""

    def __enter__(self):
        from transformers.utils import logging as transformers_logging

        self.level = transformers_logging.get_verbosity()
        transformers_logging.set_verbosity_error()

    def __exit__(self, *exc):
        from transformers.utils import logging as transformers_logging

        transformers_logging.set_verbosity(self.level)


def load_text_encoder(name_or_path: str, sample_captions: Optional[Sequence[str]] = None, **kwargs):
    """Loads `(tokenizer, CLIPTextModel)` from a folder or a Hub id (e.g. "openai/clip-vit-base-patch32").

    The folder may hold a `CLIPTextModel` or a whole `CLIPModel` (its text tower is used: what
    `hfgen train clip` exports), with its tokenizer at the root or in a `tokenizer/` subfolder
    (the diffusers layout, text encoder in `text_encoder/`). The tokenizer is checked
    (`check_tokenizer`, on `sample_captions` when given) so a tokenizer without its vocabulary is an
    error, not a silent failure.
    """
    from transformers import AutoTokenizer, CLIPTextModel

    root = os.path.expanduser(name_or_path)
    is_dir = os.path.isdir(root)
    model_sub = "text_encoder" if is_dir and os.path.isfile(os.path.join(root, "text_encoder", "config.json")) else ""
    tok_sub = "tokenizer" if is_dir and os.path.isdir(os.path.join(root, "tokenizer")) else ""
    if is_dir and not os.path.isfile(os.path.join(root, model_sub, "config.json")):
        raise TextEncoderError(
            f"--text_encoder {name_or_path!r} is a folder without a config.json (nor text_encoder/config.json): save the model "
            "there with save_pretrained, or pass the folder exported by `hfgen train clip`."
        )
    try:
        tokenizer = AutoTokenizer.from_pretrained(root if is_dir else name_or_path, subfolder=tok_sub, **kwargs)
        with _quiet_transformers():
            # From a whole CLIPModel, transformers takes the text tower and reports every vision weight
            # as "unexpected": expected here, so its load report is silenced.
            model = CLIPTextModel.from_pretrained(root if is_dir else name_or_path, subfolder=model_sub, use_safetensors=True, **kwargs)
    except (OSError, ValueError) as error:
        where = "the folder" if is_dir else "the Hub (offline, or the repository does not exist / lacks safetensors weights)"
        raise TextEncoderError(
            f"Could not load the text encoder {name_or_path!r} from {where}: {error}. Pass a local folder holding a CLIPTextModel "
            "or CLIPModel (safetensors) with its tokenizer files, e.g. one exported by `hfgen train clip`; a Hub id needs the network "
            "or a cached copy."
        ) from None
    if sample_captions:
        check_tokenizer(tokenizer, sample_captions)
    else:
        try:  # generic English captions
            check_tokenizer(tokenizer, ["a photo of a red circle", "a blue square at the top left"])
        except TokenizerError:
            # A word-level tokenizer of other captions knows other words: a sentence of its own vocabulary
            # must split into them. A tokenizer without its vocabulary has no such words: the error stands.
            words = sorted(w for w in tokenizer.get_vocab() if w.isalpha() and w.islower())[:8]
            if len(words) < 2:
                raise
            check_tokenizer(tokenizer, [" ".join(words)])
    return tokenizer, model


def save_prompt_grid(pipeline, prompts: Sequence[str], images_per_prompt: int, seed: int, output: str,
                     call_kwargs: Optional[dict] = None) -> str:
    """`hfgen sample --prompt ...`: one row of `images_per_prompt` images per prompt, the prompt written right of its row.

    `call_kwargs` go to the pipeline (a diffusion pipeline's `num_inference_steps`, `guidance_scale`). Raises ValueError
    (with the flag names) when `pipeline` takes no prompts or a prompt is empty.
    """
    import inspect

    import torch

    from hfgen.training.text_gan import _write_row_labels
    from hfgen.training.visualize import save_image_grid

    if "prompt" not in inspect.signature(pipeline.__call__).parameters:
        raise ValueError(f"{type(pipeline).__name__} is not a text-to-image pipeline: drop --prompt.")
    prompts = [p.strip() for p in prompts]
    if not all(prompts):
        raise ValueError("--prompt got an empty prompt: pass a caption such as --prompt 'a red circle in the top left corner'.")
    if images_per_prompt < 1:
        raise ValueError(f"--num_images must be >= 1 (images per prompt), got {images_per_prompt}.")
    call_kwargs = dict(call_kwargs or {})
    if "guidance_scale" in call_kwargs and "guidance_scale" not in inspect.signature(pipeline.__call__).parameters:
        raise ValueError(f"--guidance_scale is for guided diffusion pipelines; {type(pipeline).__name__} has no guidance.")
    try:
        images = pipeline(prompts, num_images_per_prompt=images_per_prompt, generator=torch.manual_seed(seed), output_type="np",
                          **call_kwargs).images
    except ValueError as error:  # the pipeline names its arguments; this user typed flags
        message = str(error)
        for name, flag in (("guidance_scale=", "--guidance_scale "), ("num_inference_steps", "--num_inference_steps"),
                           ("num_images_per_prompt", "--num_images")):
            message = message.replace(name, flag)
        raise ValueError(message) from None
    save_image_grid(images, output, nrow=images_per_prompt, scale=max(1, min(4, 128 // images.shape[1])))
    _write_row_labels(output, prompts)
    return output
