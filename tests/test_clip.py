"""The `clip` task on the one loop, its transformers export, and the CLIP metrics (CLIP score, R-precision)."""

import os

import numpy as np
import pytest
import torch

from hfgen.data import GenDataset

COLOURS = {"red": (1.0, 0.0, 0.0), "green": (0.0, 1.0, 0.0), "blue": (0.0, 0.0, 1.0)}
POSITIONS = {"left": 0, "right": 4}


def squares(copies: int = 8, size: int = 8):
    """Tiny captioned data: a 4x4 coloured square on the left or right of a black 8x8 image."""
    images, texts = [], []
    for colour, rgb in COLOURS.items():
        for where, x in POSITIONS.items():
            image = torch.zeros(3, size, size)
            image[:, 2:6, x : x + 4] = torch.tensor(rgb).view(3, 1, 1)
            for _ in range(copies):
                images.append(image)
                texts.append(f"a {colour} square on the {where}")
    pixels = torch.stack(images) * 2 - 1  # [-1, 1], as hfgen's loaders give
    return GenDataset({"pixel_values": pixels}, kind="image", image_size=size, num_channels=3, texts=texts, name="squares")


def make_trainer(tmp, steps, resume=None, dataset=None, **training):
    from hfgen.training import Trainer, TrainingArguments
    from hfgen.training.clip import CLIPArguments, CLIPTask

    settings = dict(
        dataset="squares", output_dir=str(tmp), max_train_steps=steps, train_batch_size=24, checkpointing_steps=5,
        sample_steps=0, num_sample_images=6, logging_steps=1, report_to="none", resume_from_checkpoint=resume,
        final_eval_samples=0, export=False, learning_rate=1e-3, lr_scheduler="constant", disable_tqdm=True,
    )
    args = TrainingArguments(**{**settings, **training})
    task = CLIPTask(CLIPArguments(hidden_size=32, num_layers=1, num_heads=2, projection_dim=32, max_length=10),
                    learning_rate=args.learning_rate)
    return Trainer(task, args, dataset=dataset if dataset is not None else squares())


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A CLIP trained 150 steps on the squares (shared by the tests below; learnt by ~100 steps)."""
    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp("clip")
    trainer = make_trainer(tmp / "run", 150)
    summary = trainer.train()
    return trainer, summary, tmp


def test_clip_task_trains_and_loss_decreases(trained):
    """`clip` on the loop: the symmetric InfoNCE loss falls and in-batch retrieval becomes right."""
    trainer, _, _ = trained
    rows = [r for r in trainer.history if "clip/loss" in r]
    first = np.mean([r["clip/loss"] for r in rows[:5]])
    last = np.mean([r["clip/loss"] for r in rows[-5:]])
    # Each caption appears ~4 times in a batch of 24, so the loss cannot go below ~log(4) = 1.39.
    assert last < first - 0.7 and last < 1.6, (first, last)
    assert np.mean([r["clip/batch_accuracy"] for r in rows[-5:]]) > 0.9


def test_clip_export_loads_with_transformers(trained):
    """The export is a standard transformers CLIP folder (safetensors only) that loads without hfgen's classes."""
    from transformers import AutoTokenizer, CLIPModel, CLIPProcessor

    from hfgen.text import load_text_encoder

    trainer, _, tmp = trained
    folder = trainer.task.export(trainer.export_models(), str(tmp / "export"))
    files = os.listdir(folder)
    assert "model.safetensors" in files and not any(f.endswith((".bin", ".pt", ".pth")) for f in files)
    assert "README.md" in files
    model = CLIPModel.from_pretrained(folder, use_safetensors=True).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    assert tokenizer("a red square")["input_ids"] == trainer.task.tokenizer("a red square")["input_ids"]
    for key, value in trainer.export_models()["clip"].state_dict().items():
        assert torch.equal(model.state_dict()[key], value), key
    # The saved processor maps [0, 255] images to the [-1, 1] inputs the model was trained on.
    data = squares(copies=1)
    uint8 = ((data.tensors["pixel_values"] + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    pixels = CLIPProcessor.from_pretrained(folder)(images=list(uint8), return_tensors="pt")["pixel_values"]
    assert torch.allclose(pixels, data.tensors["pixel_values"], atol=1e-5)
    # The last checkpoint alone gives the same folder (e.g. from a run stopped before its export).
    from hfgen.training.clip import export_checkpoint

    again = export_checkpoint(str(tmp / "run" / "checkpoints" / "checkpoint-150"), str(tmp / "from_checkpoint"))
    reloaded = CLIPModel.from_pretrained(again, use_safetensors=True)
    for key, value in model.state_dict().items():
        assert torch.equal(reloaded.state_dict()[key], value), key
    assert AutoTokenizer.from_pretrained(again)("a red square")["input_ids"] == tokenizer("a red square")["input_ids"]
    # Its text tower is what text-to-image tasks load.
    tok, text_encoder = load_text_encoder(folder, sample_captions=data.texts)
    for key, value in model.text_model.state_dict().items():
        assert torch.equal(text_encoder.state_dict()[key], value), key


def test_clip_periodic_evaluation(tmp_path):
    """--eval_steps with the clip task logs R-precision and CLIP score (the GAN evaluator would fail on a CLIP)."""
    trainer = make_trainer(tmp_path / "eval", 4, eval_steps=2, eval_samples=12)
    trainer.train()
    rows = [r for r in trainer.history if "eval/r_precision" in r]
    assert [r["step"] for r in rows] == [2, 4]
    assert all(0 <= r["eval/r_precision"] <= 1 and 0 <= r["eval/clip_score"] <= 100 for r in rows)


def test_clip_init_from_an_export(trained, tmp_path):
    """--init_from a CLIP export: its weights AND its tokenizer replace the fresh ones, even when this run's captions
    give another vocabulary (here fewer words); other model sizes are refused by name."""
    from hfgen.training import ConfigurationError
    from hfgen.training.clip import CLIPArguments, CLIPTask

    trainer, _, _ = trained
    folder = trainer.task.export(trainer.export_models(), str(tmp_path / "export"))
    data = squares(copies=1)
    reds = GenDataset({"pixel_values": data.tensors["pixel_values"][:2]}, kind="image", image_size=8, num_channels=3,
                      texts=data.texts[:2])
    task = CLIPTask(CLIPArguments(hidden_size=32, num_layers=1, num_heads=2, projection_dim=32, max_length=10))
    task.setup(reds)
    assert len(task.tokenizer) < len(trainer.task.tokenizer)
    task.load_exported(folder)
    assert task.tokenizer("a blue square")["input_ids"] == trainer.task.tokenizer("a blue square")["input_ids"]
    for key, value in trainer.export_models()["clip"].state_dict().items():
        assert torch.equal(task.models["clip"].state_dict()[key], value), key
    # Through the loop: the optimizer covers the replaced embedding, and training goes on.
    finetuned = make_trainer(tmp_path / "finetune", 2, dataset=reds, init_from=folder, checkpointing_steps=0, train_batch_size=2)
    finetuned.train()
    assert finetuned.export_models()["clip"].text_model.embeddings.token_embedding.weight.shape[0] == len(trainer.task.tokenizer)
    other = CLIPTask(CLIPArguments(hidden_size=16, num_layers=1, num_heads=2, projection_dim=32, max_length=10))
    other.setup(reds)
    with pytest.raises(ConfigurationError, match="hidden_size"):
        other.load_exported(folder)


def test_clip_resume_is_exact(trained, tmp_path):
    """Interrupted at step 5 and resumed to 10 equals 10 straight steps (tokenizer rebuilt identically at setup)."""
    straight = make_trainer(tmp_path / "straight", 10)
    straight.train()
    make_trainer(tmp_path / "resumed", 5).train()
    resumed = make_trainer(tmp_path / "resumed", 10, resume="latest")
    assert resumed.train()["resumed_from_step"] == 5
    a, b = straight.export_models()["clip"].state_dict(), resumed.export_models()["clip"].state_dict()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_clip_task_bad_input(tmp_path):
    """Data without captions, a patch size that does not divide the image, and --export on today's loop: named errors."""
    from hfgen.training import ConfigurationError, TrainingArguments
    from hfgen.training.clip import CLIPArguments, CLIPTask

    data = squares(copies=1)
    uncaptioned = GenDataset({"pixel_values": data.tensors["pixel_values"]}, kind="image", image_size=8, num_channels=3)
    with pytest.raises(ConfigurationError, match="--caption_column"):
        make_trainer(tmp_path / "a", 2, dataset=uncaptioned).train()
    with pytest.raises(ConfigurationError, match="--patch_size"):
        CLIPTask(CLIPArguments(patch_size=3)).setup(data)
    with pytest.raises(ConfigurationError, match="--num_heads"):
        CLIPTask(CLIPArguments(hidden_size=30, num_heads=4))
    assert isinstance(CLIPTask.from_arguments(TrainingArguments(output_dir=str(tmp_path), export=False), CLIPArguments()), CLIPTask)


# -- metrics --------------------------------------------------------------------------------------


def test_clip_metrics_on_trained_clip(trained):
    """A CLIP that learnt the squares: true captions rank first (R-precision 1 vs chance 1/6), CLIP score higher
    with the true captions than with shuffled ones; an untrained CLIP is near chance."""
    from hfgen.metrics.clip import clip_score, r_precision

    trainer, _, _ = trained
    model, tokenizer = trainer.export_models()["clip"].eval(), trainer.task.tokenizer
    data = squares(copies=2)
    images = (data.tensors["pixel_values"] + 1) / 2  # [0, 1]
    captions = list(data.texts)
    assert r_precision(model, tokenizer, images, captions, k=1, negatives=5, seed=0) == 1.0
    as_numpy = images.permute(0, 2, 3, 1).numpy()  # a pipeline's output_type="np"
    assert r_precision(model, tokenizer, as_numpy, captions, k=1, negatives=5, seed=0) == 1.0
    shuffled = captions[1:] + captions[:1]
    true_score, wrong_score = clip_score(model, tokenizer, images, captions), clip_score(model, tokenizer, images, shuffled)
    assert 0 <= wrong_score < true_score <= 100
    from hfgen.training.clip import CLIPBundle, CLIPEvaluator

    result = CLIPEvaluator(data, num_samples=12, seed=0)(CLIPBundle(model, tokenizer))
    assert result["metrics"]["r_precision"] == 1.0 and result["protocol"]["chance"] == pytest.approx(1 / 6)
    assert result["metrics"]["clip_score"] > result["metrics"]["clip_score_shuffled"]
    # Untrained: ranks by chance (1/6 expected; 12 images, so a generous bound).
    from transformers import CLIPModel

    torch.manual_seed(1)
    random_model = CLIPModel(model.config).eval()
    rates = [r_precision(random_model, tokenizer, images, captions, negatives=5, seed=s) for s in range(5)]
    assert np.mean(rates) < 0.5


def test_r_precision_protocol_with_an_identity_model():
    """R-precision on a model whose image and text features are exact one-hots: 1 true + 99 negatives drawn from the pool,
    perfect when matched, 0 when every image gets a wrong caption; k widens the hit; bad arguments are named."""
    from hfgen.metrics.clip import clip_score, r_precision

    pool = [f"caption {i}" for i in range(120)]

    class Tokenizer:
        model_max_length = 4

        def __call__(self, captions, **kwargs):
            ids = torch.tensor([[int(c.split()[1])] for c in captions])
            return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}

    class Identity(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.zeros(1))
            vision = type("V", (), {"num_channels": 1, "image_size": 1})()
            text = type("T", (), {"max_position_embeddings": 4})()
            self.config = type("C", (), {"vision_config": vision, "text_config": text})()

        def get_image_features(self, pixel_values):
            # The image "shows" caption number round(pixel * 10 + 10) (pixels normalised with mean/std 0.5).
            index = (pixel_values.flatten(1)[:, 0] * 0.5 + 0.5).mul(200).round().long()
            return torch.nn.functional.one_hot(index, 200).float()

        def get_text_features(self, input_ids, attention_mask):
            return torch.nn.functional.one_hot(input_ids[:, 0], 200).float()

    model = Identity()
    shown = torch.arange(20)
    images = (shown.float() / 200).view(-1, 1, 1, 1)
    true = [f"caption {i}" for i in shown.tolist()]
    assert r_precision(model, Tokenizer(), images, true, pool, negatives=99) == 1.0
    wrong = [f"caption {i + 50}" for i in shown.tolist()]
    assert r_precision(model, Tokenizer(), images, wrong, pool, negatives=99) == 0.0
    assert r_precision(model, Tokenizer(), images, wrong, pool, k=100, negatives=99) == 1.0
    assert clip_score(model, Tokenizer(), images, true) == pytest.approx(100.0)
    assert clip_score(model, Tokenizer(), images, wrong) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="caption_pool"):
        r_precision(model, Tokenizer(), images, true, pool[:50], negatives=99)

    # Paraphrases: "caption 105" says what "caption 5" says (same features). Drawn as a negative it ties with the true
    # caption and counts as a miss; `caption_groups` keeps other wordings of the true caption out of the negatives.
    class Paraphrasing(Tokenizer):
        def __call__(self, captions, **kwargs):
            ids = torch.tensor([[int(c.split()[1]) % 100] for c in captions])
            return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}

    wide_pool = [f"caption {i}" for i in range(200)]
    groups = {c: int(c.split()[1]) % 100 for c in wide_pool}
    assert r_precision(model, Paraphrasing(), images, true, wide_pool, negatives=99) < 0.9
    assert r_precision(model, Paraphrasing(), images, true, wide_pool, negatives=99, caption_groups=groups) == 1.0
    with pytest.raises(ValueError, match="caption_pool"):  # 200 captions, 2 wordings of each: 198 negatives at most
        r_precision(model, Paraphrasing(), images, true, wide_pool, negatives=199, caption_groups=groups)
    with pytest.raises(ValueError, match="one caption per image"):
        clip_score(model, Tokenizer(), images, true[:3])
    with pytest.raises(ValueError, match="No captions"):
        clip_score(model, Tokenizer(), images[:0], [])


def test_hfgen_train_clip_exports_a_transformers_folder(tmp_path):
    """Guards the CLI door end to end: `hfgen train clip --dataset shapes` trains on the loop and its export is
    the task's own transformers CLIP folder (safetensors, tokenizer, card) that plain transformers loads, with
    the evaluation beside it (the loop's pipeline export and pipeline card do not apply to it)."""
    from transformers import AutoTokenizer, CLIPModel

    from hfgen.training import main

    out = tmp_path / "clip"
    summary = main("clip", ["--dataset", "shapes", "--resolution", "16", "--max_train_samples", "64", "--output_dir", str(out),
                            "--max_train_steps", "3", "--train_batch_size", "16", "--report_to", "none", "--checkpointing_steps", "0",
                            "--sample_steps", "0", "--final_eval_samples", "32", "--disable_tqdm"])
    assert summary["steps"] == 3
    files = set(os.listdir(out))
    assert {"model.safetensors", "config.json", "README.md", "tokenizer.json"} <= files and "model_index.json" not in files
    model = CLIPModel.from_pretrained(out, use_safetensors=True)
    tokenizer = AutoTokenizer.from_pretrained(out)
    assert len(tokenizer("a red circle in the top left corner")["input_ids"]) > 4  # words, not one token
    assert model.config.vision_config.image_size == 16
    assert summary["model_card"] == str(out / "README.md")
