"""hfgen.text: the word-level tokenizer, its sanity check, the tiny CLIP text encoder, prompt encoding, loading."""

import logging

import pytest
import torch

CAPTIONS = [
    "a red circle at the top left",
    "a blue square at the bottom right",
    "top left: green triangle",
    "A yellow circle in the bottom left corner",
]


@pytest.fixture(scope="module")
def tokenizer():
    from hfgen.text import build_word_tokenizer

    return build_word_tokenizer(CAPTIONS, max_length=8)


@pytest.fixture(scope="module")
def text_encoder(tokenizer):
    from transformers import CLIPTextModel

    from hfgen.text import tiny_text_encoder_config

    torch.manual_seed(0)
    return CLIPTextModel(tiny_text_encoder_config(0, hidden_size=32, layers=1, heads=2, tokenizer=tokenizer)).eval()


def test_word_tokenizer_round_trip(tokenizer, tmp_path):
    """A tokenizer built from captions splits words, adds BOS/EOS, pads right and reloads with AutoTokenizer."""
    from transformers import AutoTokenizer

    ids = tokenizer("a red circle")["input_ids"]
    assert len(ids) == 5 and ids[0] == tokenizer.bos_token_id and ids[-1] == tokenizer.eos_token_id
    assert len(set(ids[1:-1])) == 3 and tokenizer.unk_token_id not in ids
    assert tokenizer("A RED Circle")["input_ids"] == ids  # lowercased
    assert tokenizer("a purple circle")["input_ids"][2] == tokenizer.unk_token_id
    tokenizer.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    assert loaded("a red circle")["input_ids"] == ids
    assert loaded.model_max_length == 8 and loaded.padding_side == "right" and loaded.pad_token == "[PAD]"
    padded = loaded(["a red circle"], padding="max_length", truncation=True, max_length=8)["input_ids"][0]
    assert padded == ids + [loaded.pad_token_id] * 3


def test_build_word_tokenizer_bad_input():
    """No captions, or no room for a word, is a clear error naming the fix."""
    from hfgen.text import TokenizerError, build_word_tokenizer

    with pytest.raises(TokenizerError, match="--caption_column"):
        build_word_tokenizer([None, ""])
    with pytest.raises(TokenizerError, match="max_length"):
        build_word_tokenizer(CAPTIONS, max_length=2)


def test_check_tokenizer_rejects_broken_tokenizers(tokenizer):
    """The offline CLIPTokenizer failure mode (captions -> one token / only UNK) raises; a good one passes."""
    from tokenizers import Tokenizer, pre_tokenizers
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast

    from hfgen.text import TokenizerError, check_tokenizer

    check_tokenizer(tokenizer, CAPTIONS)
    # Only the special tokens: every word is [UNK].
    unk_only = Tokenizer(WordLevel({"[PAD]": 0, "[UNK]": 1}, unk_token="[UNK]"))
    unk_only.pre_tokenizer = pre_tokenizers.Whitespace()
    broken = PreTrainedTokenizerFast(tokenizer_object=unk_only, unk_token="[UNK]", pad_token="[PAD]")
    with pytest.raises(TokenizerError, match="unknown token"):
        check_tokenizer(broken, CAPTIONS)
    # No pre-tokenizer and a vocabulary of whole sentences: a caption is one token.
    whole = Tokenizer(WordLevel({"[UNK]": 0, **{c: i + 1 for i, c in enumerate(CAPTIONS)}}, unk_token="[UNK]"))
    one_token = PreTrainedTokenizerFast(tokenizer_object=whole, unk_token="[UNK]")
    with pytest.raises(TokenizerError, match="single token"):
        check_tokenizer(one_token, CAPTIONS)


def test_encode_prompts_shapes_and_warnings(tokenizer, text_encoder, caplog):
    """Pooled/hidden/mask shapes; distinct prompts differ; truncation and unknown-only prompts warn; empty list errors."""
    from hfgen import text
    from hfgen.text import TextEncoderError, encode_prompts

    text._warned.clear()
    with torch.no_grad():
        pooled, hidden, mask = encode_prompts(tokenizer, text_encoder, ["a red circle", "a blue square"], torch.device("cpu"))
    assert pooled.shape == (2, 32) and hidden.shape == (2, 8, 32) and mask.shape == (2, 8)
    assert mask[0].tolist() == [1] * 5 + [0] * 3
    assert not torch.allclose(pooled[0], pooled[1])
    with caplog.at_level(logging.WARNING, logger="hfgen.text"), torch.no_grad():
        long = " ".join(["red circle"] * 10)
        pooled, _, mask = encode_prompts(tokenizer, text_encoder, [long, long])
        encode_prompts(tokenizer, text_encoder, [long])
        encode_prompts(tokenizer, text_encoder, "purple hexagon")
    assert mask.shape == (2, 8) and mask.all()
    messages = [r.getMessage() for r in caplog.records]
    assert sum("truncated" in m for m in messages) == 1  # once
    assert any("[UNK]" in m for m in messages)
    with pytest.raises(TextEncoderError, match="empty list"):
        encode_prompts(tokenizer, text_encoder, [])


def test_load_text_encoder_from_folders(tokenizer, text_encoder, tmp_path):
    """A CLIPTextModel folder, and a diffusers-style text_encoder/ + tokenizer/ layout, load and encode the same."""
    from hfgen.text import encode_prompts, load_text_encoder

    flat, nested = tmp_path / "flat", tmp_path / "nested"
    text_encoder.save_pretrained(flat)
    tokenizer.save_pretrained(flat)
    text_encoder.save_pretrained(nested / "text_encoder")
    tokenizer.save_pretrained(nested / "tokenizer")
    with torch.no_grad():
        expected = encode_prompts(tokenizer, text_encoder, ["a red circle"])[0]
        for folder in (flat, nested):
            tok, model = load_text_encoder(str(folder), sample_captions=CAPTIONS)
            assert torch.allclose(encode_prompts(tok, model.eval(), ["a red circle"])[0], expected, atol=1e-6)


def test_load_text_encoder_default_check_accepts_other_vocabularies(text_encoder, tmp_path):
    """Without sample captions, a word-level tokenizer of unrelated captions (digits) still loads: the check
    falls back to words of its own vocabulary, so only a tokenizer that cannot split words is refused."""
    from hfgen.text import build_word_tokenizer, load_text_encoder, tiny_text_encoder_config
    from transformers import CLIPTextModel

    digits = build_word_tokenizer(["the digit seven", "a handwritten zero", "number nine, thin"], max_length=8)
    CLIPTextModel(tiny_text_encoder_config(0, hidden_size=32, layers=1, heads=2, tokenizer=digits)).save_pretrained(tmp_path)
    digits.save_pretrained(tmp_path)
    tok, _ = load_text_encoder(str(tmp_path))
    assert tok("the digit seven")["input_ids"] == digits("the digit seven")["input_ids"]


def test_load_text_encoder_errors(tokenizer, text_encoder, tmp_path):
    """A Hub id offline and a folder with a broken tokenizer are clear errors, never a silently useless tokenizer."""
    from hfgen.text import TextEncoderError, TokenizerError, load_text_encoder

    with pytest.raises(TextEncoderError, match="local folder"):
        load_text_encoder("openai/clip-vit-base-patch32")  # tests run with HF_HUB_OFFLINE=1
    with pytest.raises(TextEncoderError, match="config.json"):
        load_text_encoder(str(tmp_path))
    from tokenizers import Tokenizer, pre_tokenizers
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast

    broken = Tokenizer(WordLevel({"[PAD]": 0, "[UNK]": 1, "[BOS]": 2, "[EOS]": 3}, unk_token="[UNK]"))
    broken.pre_tokenizer = pre_tokenizers.Whitespace()
    folder = tmp_path / "broken"
    text_encoder.save_pretrained(folder)
    PreTrainedTokenizerFast(tokenizer_object=broken, unk_token="[UNK]", pad_token="[PAD]").save_pretrained(folder)
    with pytest.raises(TokenizerError, match="unknown token"):
        load_text_encoder(str(folder), sample_captions=CAPTIONS)
    with pytest.raises(TokenizerError, match="unknown token"):
        load_text_encoder(str(folder))  # no captions given: a vocabulary without words is refused all the same
