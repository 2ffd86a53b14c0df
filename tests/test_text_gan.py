"""TextToImageGANPipeline (pipelines/pipeline_text_gan.py) and the text-gan task (hfgen.training.text_gan)."""

import json
import logging

import numpy as np
import pytest
import torch

CAPTIONS = ["a red circle at the top left", "a blue square at the bottom right", "a green triangle in the center",
            "a small red square on the left", "a blue circle on the right"]


def get_dummy_components(seed: int = 0):
    """Tiny G / text encoder / word tokenizer: a 16x16 DCGAN whose condition_dim is the encoder's pooled width."""
    from transformers import CLIPTextModel

    from hfgen import DCGANConfig, DCGANGenerator
    from hfgen.text import build_word_tokenizer, tiny_text_encoder_config

    torch.manual_seed(seed)
    tokenizer = build_word_tokenizer(CAPTIONS, max_length=12)
    text_encoder = CLIPTextModel(tiny_text_encoder_config(0, hidden_size=16, layers=1, heads=2, tokenizer=tokenizer)).eval()
    config = DCGANConfig(image_size=16, num_channels=3, latent_dim=8, generator_channels=8, condition_dim=16)
    return {"gan_generator": DCGANGenerator(config).eval(), "text_encoder": text_encoder, "tokenizer": tokenizer}


@pytest.fixture(scope="module")
def pipe():
    from hfgen.pipelines import TextToImageGANPipeline

    return TextToImageGANPipeline(**get_dummy_components())


def test_outputs_have_the_requested_types_and_shapes(pipe):
    """Guards __call__: one PIL image per prompt and per num_images_per_prompt; np NHWC and pt NCHW in [0, 1]."""
    out = pipe("a red circle at the top left", generator=torch.manual_seed(0))
    assert len(out.images) == 1 and out.images[0].size == (16, 16)
    images = pipe(CAPTIONS[:2], num_images_per_prompt=3, generator=torch.manual_seed(0), output_type="np").images
    assert images.shape == (6, 16, 16, 3) and images.min() >= 0 and images.max() <= 1
    pt = pipe(CAPTIONS[:2], generator=torch.manual_seed(0), output_type="pt", return_dict=False)[0]
    assert pt.shape == (2, 3, 16, 16)


def test_seeded_calls_are_deterministic_and_prompts_matter(pipe):
    """Guards determinism with a generator, and that the text reaches G (two prompts, same z -> different images)."""
    a = pipe(CAPTIONS[:2], generator=torch.manual_seed(3), output_type="np").images
    b = pipe(CAPTIONS[:2], generator=torch.manual_seed(3), output_type="np").images
    np.testing.assert_array_equal(a, b)
    z = torch.randn(1, 8).repeat(2, 1)
    same_z = pipe(CAPTIONS[:2], latents=z, output_type="np").images
    assert np.abs(same_z[0] - same_z[1]).max() > 1e-4


def test_num_images_per_prompt_repeats_each_prompt_consecutively(pipe):
    """Guards the ordering: images of one prompt are consecutive, each with its own z."""
    z = torch.randn(4, 8)
    grouped = pipe(CAPTIONS[:2], num_images_per_prompt=2, latents=z, output_type="np").images
    single = pipe([CAPTIONS[0], CAPTIONS[0], CAPTIONS[1], CAPTIONS[1]], latents=z, output_type="np").images
    np.testing.assert_allclose(grouped, single, atol=1e-6)
    assert np.abs(grouped[0] - grouped[1]).max() > 1e-4


def test_prompt_embeds_path_equals_prompt_path(pipe):
    """Guards prompt_embeds=: pipe.encode_prompt's output gives the same images as the prompt itself."""
    embeds = pipe.encode_prompt(CAPTIONS[:3])
    assert embeds.shape == (3, 16)
    a = pipe(CAPTIONS[:3], generator=torch.manual_seed(1), output_type="np").images
    b = pipe(prompt_embeds=embeds, generator=torch.manual_seed(1), output_type="np").images
    np.testing.assert_allclose(a, b, atol=1e-6)


@pytest.mark.parametrize("kwargs, match", [
    ({"prompt": []}, "empty list"),
    ({"prompt": "a red circle", "prompt_embeds": torch.zeros(1, 16)}, "not both"),
    ({}, "Pass prompt"),
    ({"prompt_embeds": torch.zeros(2, 5)}, r"\[num_prompts, 16\]"),
    ({"prompt": "a red circle", "num_images_per_prompt": 0}, "positive integer"),
    ({"prompt": "a red circle", "latents": torch.zeros(3, 8)}, r"\[1, 8\]"),
    ({"prompt": "a red circle", "output_type": "latent"}, "output_type"),
])
def test_bad_inputs_raise_errors_that_name_the_fix(pipe, kwargs, match):
    """Guards the issue's bad-input list: each is a ValueError naming what to pass instead."""
    with pytest.raises(ValueError, match=match):
        pipe(**kwargs)


def test_unknown_words_and_long_prompts_warn(pipe, caplog):
    """Guards the named warnings: a prompt of unknown words only ([UNK]) and a prompt beyond max length."""
    with caplog.at_level(logging.WARNING):
        pipe("zebra xylophone", output_type="np")
    assert "outside the tokenizer's vocabulary" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        pipe(" ".join(["red"] * 30), output_type="np")
    assert "truncated" in caplog.text


@pytest.fixture
def hub(monkeypatch, tmp_path):
    from hfgen.hub.testing import LocalHubServer, patch_huggingface_hub

    with LocalHubServer() as server:
        patch_huggingface_hub(monkeypatch, server, tmp_path / "hf_home")
        yield server


def test_exported_folder_loads_with_hfgen_and_without(pipe, tmp_path, hub, run_without_hfgen):
    """Guards the export: export_folder writes G as custom code and the text encoder/tokenizer the standard
    way; the folder loads with TextToImageGANPipeline.from_pretrained and, in a process without hfgen,
    with DiffusionPipeline.from_pretrained(trust_remote_code=True) from the folder AND from a Hub repo id
    (local Hub server): the same images for the same seed."""
    from huggingface_hub import HfApi

    from hfgen.hub import export_folder
    from hfgen.pipelines import TextToImageGANPipeline, load_pipeline

    folder = tmp_path / "text-gan"
    export_folder(pipe, folder)
    index = json.loads((folder / "model_index.json").read_text())
    assert index["_class_name"] == ["pipeline_text_gan", "TextToImageGANPipeline"]
    assert index["text_encoder"] == ["transformers", "CLIPTextModel"]
    assert index["tokenizer"][0] == "transformers"
    expected = pipe(CAPTIONS[:2], generator=torch.manual_seed(0), output_type="np").images
    for loaded in (TextToImageGANPipeline.from_pretrained(folder), load_pipeline(folder)):
        assert type(loaded) is TextToImageGANPipeline
        np.testing.assert_allclose(loaded(CAPTIONS[:2], generator=torch.manual_seed(0), output_type="np").images, expected, atol=1e-5)
    HfApi().create_repo("test-user/text-gan")
    HfApi().upload_folder(folder_path=folder, repo_id="test-user/text-gan")
    out = tmp_path / "out.npz"
    stdout = run_without_hfgen(f"""
        import numpy as np, torch
        from diffusers import DiffusionPipeline
        results = {{}}
        for source in ("test-user/text-gan", {str(folder)!r}):
            pipe = DiffusionPipeline.from_pretrained(source, trust_remote_code=True)
            print("CLASS", type(pipe).__name__, type(pipe.tokenizer).__name__)
            results[source.replace("/", "_")] = pipe({CAPTIONS[:2]!r}, generator=torch.manual_seed(0), output_type="np").images
        np.savez({str(out)!r}, **results)
    """)
    assert stdout.count("CLASS TextToImageGANPipeline ") == 2
    result = np.load(out)
    assert len(result.files) == 2
    for key in result.files:
        np.testing.assert_allclose(result[key], expected, atol=1e-5)


# ----------------------------------------------------------------------------- the text-gan task


def test_mismatched_rows_always_have_another_combination():
    """Guards GAN-CLS's wrong captions: each row's partner has a different label (combination), the choice is random
    among them, and a row whose label fills the whole batch gets -1 (the task then draws from the dataset)."""
    from hfgen.training.text_gan import sample_mismatched

    labels = torch.tensor([0, 0, 1, 2, 2, 2, 5, 1])
    seen = set()
    for seed in range(20):
        picked = sample_mismatched(labels, torch.Generator().manual_seed(seed))
        assert (picked >= 0).all() and (labels[picked] != labels).all()
        seen.add(tuple(picked.tolist()))
    assert len(seen) > 10  # random, not one fixed pairing
    assert sample_mismatched(torch.tensor([3, 3, 3]), torch.Generator().manual_seed(0)).tolist() == [-1, -1, -1]


def test_rows_without_labels_are_told_apart_by_their_captions():
    """Guards captioned data without labels: the mismatched caption is then another caption (never the row's own)."""
    from hfgen.training.text_gan import TextGANTask, sample_mismatched

    texts = ["a red circle", "a blue square", "a red circle", "a green triangle"]
    ids = TextGANTask._content_ids({"text": texts})
    assert ids.tolist() == [0, 1, 0, 2]
    picked = sample_mismatched(ids, torch.Generator().manual_seed(0)).tolist()
    assert all(texts[j] != texts[i] for i, j in enumerate(picked))


def test_mismatched_texts_fall_back_to_other_combinations_of_the_dataset(tmp_path):
    """Guards the fallback: a batch of one combination still gets captions of other combinations (from the data)."""
    from hfgen.data.shapes import load_shapes
    from hfgen.training.text_gan import TextGANArguments, TextGANTask

    data = load_shapes(image_size=16, num_samples=64)
    task = TextGANTask(TextGANArguments(generator_channels=8, discriminator_channels=8, latent_dim=8), batch_size=4)
    task.setup(data)
    label = int(data.storage["labels"][0])
    rows = (torch.as_tensor(data.storage["labels"]) == label).nonzero().flatten()[:1].repeat(4)
    batch = data.get_batch(rows, generator=torch.Generator().manual_seed(0))
    wrong = task.mismatched_texts(batch["text"], batch["labels"], torch.Generator().manual_seed(0))
    by_caption = {c: int(l) for texts, l in zip(data.texts, data.storage["labels"]) for c in texts}
    assert len(wrong) == 4 and all(by_caption[c] != label for c in wrong)


@pytest.mark.parametrize("kwargs, match", [({"class_conditional": True}, "captions are the condition"),
                                           ({"preset": "wgan-gp"}, "--gp_weight is not supported")])
def test_text_gan_refuses_settings_that_do_not_apply(kwargs, match):
    """Guards the flags that would be silently wrong for text conditioning: each a ConfigurationError naming the flag."""
    from hfgen.training import ConfigurationError
    from hfgen.training.text_gan import TextGANArguments, TextGANTask

    with pytest.raises(ConfigurationError, match=match):
        TextGANTask(TextGANArguments(**kwargs))


def test_hfgen_train_text_gan_exports_a_pipeline_that_takes_prompts(tmp_path, caplog):
    """Guards the task end to end: `hfgen train text-gan --dataset shapes` trains G and D (GAN-CLS + GAN-INT, hinge)
    on the loop with a frozen text encoder, exports a TextToImageGANPipeline folder (text encoder and tokenizer the
    standard way, a grid with its prompts) that loads with from_pretrained and takes a prompt; the end-of-training
    evaluation (the text-to-image protocol) fills the card's model-index with attribute accuracy and R-precision and
    their protocol; the loop's output check runs on prompted samples (not skipped)."""
    from hfgen.pipelines import TextToImageGANPipeline
    from hfgen.training import main

    out = tmp_path / "tg"
    summary = main("text-gan", ["--dataset", "shapes", "--resolution", "16", "--max_train_samples", "64", "--output_dir", str(out),
                                "--max_train_steps", "3", "--train_batch_size", "16", "--report_to", "none", "--checkpointing_steps", "0",
                                "--sample_steps", "0", "--final_eval_samples", "48", "--disable_tqdm", "--generator_channels", "8",
                                "--discriminator_channels", "8", "--latent_dim", "8", "--text_encoder", "random",
                                "--text_hidden_size", "32"])
    assert summary["steps"] == 3
    index = json.loads((out / "model_index.json").read_text())
    assert index["_class_name"] == ["pipeline_text_gan", "TextToImageGANPipeline"]
    assert index["text_encoder"] == ["transformers", "CLIPTextModel"] and (out / "discriminator").is_dir()
    assert "train_all_three" in summary["metrics"] and "heldout_all_three" in summary["metrics"]
    assert "r_precision" in summary["metrics"] and "clip_score" in summary["metrics"]
    card = (out / "README.md").read_text()
    assert "text-to-image" in card and "## How it was evaluated" in card
    from huggingface_hub import ModelCard

    results = {r.metric_type: r for r in ModelCard(card).data.eval_results}
    assert results["heldout_all_three_accuracy"].metric_value == pytest.approx(summary["metrics"]["heldout_all_three"])
    assert results["r_precision"].metric_args["clip_model"] == "hfgen/shapes_clip"
    assert results["train_all_three_accuracy"].metric_args["images_per_prompt"] == 2
    assert "check of generated outputs was skipped" not in caplog.text
    assert "a red circle in the top left corner (held out)" in (out / "samples_prompts.txt").read_text().splitlines()
    from PIL import Image

    grid = np.asarray(Image.open(out / "samples.png").convert("L"))
    assert grid.shape[1] > grid.shape[0] and (grid[:, -100:] < 128).any()  # the prompts are written right of the rows
    pipe = TextToImageGANPipeline.from_pretrained(out)
    assert pipe.gan_generator.config.condition_dim == 32
    images = pipe("a blue square at the bottom right", num_images_per_prompt=2, generator=torch.manual_seed(0), output_type="np").images
    assert images.shape == (2, 16, 16, 3)


def test_text_encoder_flag_loads_a_clip_export_frozen(tmp_path):
    """Guards `--text_encoder FOLDER`: the text tower of a `hfgen train clip` export (and its tokenizer) is the task's
    frozen encoder, G and D take its width as condition_dim; on shapes the default is the shipped pre-trained text tower;
    the random encoder (`--text_encoder random`) is fixed and leaves --seed in charge of G."""
    from transformers import CLIPConfig, CLIPModel, CLIPVisionConfig

    from hfgen.data.shapes import load_shapes
    from hfgen.text import build_word_tokenizer, tiny_text_encoder_config
    from hfgen.training.clip import export_clip_folder
    from hfgen.training.text_gan import TextGANArguments, TextGANTask

    data = load_shapes(image_size=16, num_samples=32)
    tokenizer = build_word_tokenizer(data.texts, max_length=16)
    text = tiny_text_encoder_config(0, hidden_size=24, layers=1, heads=2, tokenizer=tokenizer)
    vision = CLIPVisionConfig(hidden_size=24, intermediate_size=48, num_hidden_layers=1, num_attention_heads=2, image_size=16, patch_size=4)
    clip = CLIPModel(CLIPConfig(text_config=text.to_dict(), vision_config=vision.to_dict(), projection_dim=24))
    export_clip_folder(clip, tokenizer, str(tmp_path / "clip"))

    small = dict(generator_channels=8, discriminator_channels=8, latent_dim=8)
    task = TextGANTask(TextGANArguments(text_encoder=str(tmp_path / "clip"), **small))
    task.setup(data)
    assert task.config.condition_dim == 24 and task.models["discriminator"].config.condition_dim == 24
    torch.testing.assert_close(task.models["text_encoder"].get_input_embeddings().weight, clip.text_model.get_input_embeddings().weight)
    assert task.frozen_models == ("text_encoder",)

    # On shapes the default is the shipped pre-trained text tower (scripts/train_shapes_clip.py --what text_encoder).
    shipped = TextGANTask(TextGANArguments(**small))
    shipped.setup(data)
    assert "shapes_text_encoder" in shipped.text_encoder_source and shipped.config.condition_dim == 64
    words = shipped.tokenizer.convert_ids_to_tokens(shipped.tokenizer("a red circle in the top left corner")["input_ids"])
    assert {"red", "circle", "top", "left"} <= set(words)

    inits = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        default = TextGANTask(TextGANArguments(text_encoder="random", **small))
        default.setup(data)
        inits.append((default.models["text_encoder"].get_input_embeddings().weight.clone(),
                      next(default.models["generator"].parameters()).detach().clone()))
    torch.testing.assert_close(inits[0][0], inits[1][0])  # the random encoder is fixed
    assert not torch.equal(inits[0][1], inits[1][1])  # G's initialisation still follows the seed


# ----------------------------------------------------------------------------- evaluation, sampling, card


def test_text_evaluator_floors_tell_own_captions_from_shuffled_ones():
    """Guards the text-to-image protocol's reference rows (hfgen.evaluation.text) with the shipped shapes CLIP: real
    images with their own captions get every attribute right and a high R-precision (99 negatives of OTHER
    combinations); with shuffled captions both fall to chance; real images vary across one combination."""
    from hfgen.evaluation.text import TextToImageEvaluator

    floors = TextToImageEvaluator(num_samples=96, seed=0, num_real=300).floors()
    own, shuffled = floors["real_own_captions"]["metrics"], floors["real_shuffled_captions"]["metrics"]
    assert own["all_all_three"] > 0.99 and own["heldout_all_three"] > 0.99
    assert own["r_precision"] > 0.8 and shuffled["r_precision"] < 0.2
    assert own["clip_score"] > shuffled["clip_score"] + 30
    assert shuffled["all_all_three"] < 0.2
    assert own["diversity"] > 0.003
    assert floors["real_vs_real"]["metrics"]["fid"] < 30  # 150 vs 150 images: small-sample bias (an untrained G: ~400)


def test_shipped_clip_is_hash_checked(tmp_path, monkeypatch):
    """Guards the metric's reproducibility: a changed shipped CLIP file is refused (numbers would not be comparable)."""
    import shutil

    import hfgen.evaluation.text as text
    from hfgen.evaluation import EvaluationError

    copy = tmp_path / "shapes_clip"
    shutil.copytree(text.SHAPES_CLIP_DIR, copy)
    data = bytearray((copy / "model.safetensors").read_bytes())
    data[-1] ^= 1
    (copy / "model.safetensors").write_bytes(bytes(data))
    monkeypatch.setattr(text, "SHAPES_CLIP_DIR", str(copy))
    with pytest.raises(EvaluationError, match="sha256"):
        text.load_shapes_clip()
    with pytest.raises(EvaluationError, match="--clip_model"):
        text.load_shapes_clip(str(tmp_path))


def test_hfgen_evaluate_and_sample_on_a_text_model(pipe, tmp_path, capsys):
    """Guards door 3 for text models: `hfgen evaluate` dispatches a text-to-image folder to the text protocol (attribute
    accuracy on all / training / held-out prompts, shapes-FID, CLIP score, R-precision, diversity; the floor columns),
    prints the table and writes JSON; a dataset other than shapes is refused with the fix; `hfgen sample --prompt`
    writes one labelled row per prompt and asks for --prompt when it is missing."""
    from PIL import Image

    from hfgen.cli import main as hfgen
    from hfgen.hub import export_folder

    folder = tmp_path / "tg"
    export_folder(pipe, folder)
    assert hfgen(["evaluate", "--model", str(folder), "--dataset", "shapes", "--num_samples", "96", "--floors"]) == 0
    out = capsys.readouterr().out
    assert "real (own captions)" in out and "real (shuffled captions)" in out and "heldout_all_three" in out
    report = json.loads((folder / "eval_results.json").read_text())
    metrics = report["metrics"]
    for key in ("all_all_three", "train_all_three", "heldout_all_three", "heldout_shape", "fid", "clip_score", "r_precision", "diversity"):
        assert key in metrics, key
    assert report["protocol"]["prompts"] == 48 and report["protocol"]["images_per_prompt"] == 2
    assert report["protocol"]["clip_model"] == "hfgen/shapes_clip"
    assert metrics["all_all_three"] < 0.2 and metrics["fid"] > 10 * report["floors"]["real_vs_real"]["metrics"]["fid"]  # untrained G
    assert report["floors"]["real_own_captions"]["metrics"]["all_all_three"] > 0.99

    assert hfgen(["evaluate", "--model", str(folder), "--dataset", "digits", "--num_samples", "96"]) == 2
    assert "--dataset shapes" in capsys.readouterr().err
    assert hfgen(["evaluate", "--model", str(folder), "--dataset", "shapes", "--metrics", "fid"]) == 2
    assert "--metrics does not apply to a text-to-image model" in capsys.readouterr().err

    grid = tmp_path / "grid.png"
    assert hfgen(["sample", "--model", str(folder), "--prompt", CAPTIONS[0], "--prompt", CAPTIONS[1], "--num_images", "3",
                  "--output", str(grid)]) == 0
    image = Image.open(grid)
    assert image.width > 3 * image.height // 2  # 3 images per row plus the prompt written to the right
    assert hfgen(["sample", "--model", str(folder), "--output", str(grid)]) == 1
    assert "--prompt" in capsys.readouterr().err
    assert hfgen(["sample", "--model", str(folder), "--prompt", " ", "--output", str(grid)]) == 1
    assert "empty prompt" in capsys.readouterr().err


def test_diversity_term_is_in_the_generator_loss():
    """Guards --diversity_weight (MSGAN's mode-seeking term): it enters G's loss (logged as diversity_term, larger when
    two noises give close images) and a negative weight is refused by flag name."""
    from hfgen.data.shapes import load_shapes
    from hfgen.training import ConfigurationError
    from hfgen.training.task import StepContext
    from hfgen.training.text_gan import TextGANArguments, TextGANTask

    with pytest.raises(ConfigurationError, match="--diversity_weight"):
        TextGANTask(TextGANArguments(diversity_weight=-1.0))
    data = load_shapes(image_size=16, num_samples=32)
    small = dict(generator_channels=8, discriminator_channels=8, latent_dim=8, interpolate_text=False)
    losses = {}
    for weight in (0.0, 1.0):
        torch.manual_seed(0)
        task = TextGANTask(TextGANArguments(diversity_weight=weight, **small), batch_size=8)
        task.setup(data)
        batch = data.get_batch(torch.arange(8), generator=torch.Generator().manual_seed(0))
        ctx = StepContext(models=task.models, generator=torch.Generator().manual_seed(0), device=torch.device("cpu"))
        losses[weight] = task.generator_step(batch, ctx)
    assert "diversity_term" not in losses[0.0]
    term = losses[1.0]["diversity_term"]
    assert term > 0  # same G, same first noise: the adversarial part is equal, the rest is the term
    torch.testing.assert_close(losses[1.0]["loss"].detach(), losses[0.0]["loss"].detach() + term)


def test_captions_file_with_rows_missing_text_is_refused(tmp_path):
    """Guards the issue's bad input "a captions file with rows missing `text`": `hfgen train text-gan` on an imagefolder
    whose metadata.jsonl lacks `text` on some rows stops before training with an error that counts the rows and names
    the fix (a None caption would otherwise reach the tokenizer)."""
    from PIL import Image

    from hfgen.training import main

    rows = []
    for i in range(6):
        Image.new("RGB", (16, 16), (40 * i, 0, 0)).save(tmp_path / f"{i}.png")
        rows.append({"file_name": f"{i}.png", **({"text": f"a red square {i}"} if i % 3 else {})})
    (tmp_path / "metadata.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    with pytest.raises(SystemExit, match=r"2 of 6 rows .* have no caption \(rows 0, 3,.*non-empty `text`"):
        main("text-gan", ["--dataset", str(tmp_path), "--output_dir", str(tmp_path / "out"), "--max_train_steps", "1",
                          "--train_batch_size", "2", "--report_to", "none", "--disable_tqdm"])


def test_two_real_processes_text_gan(tmp_path):
    """Guards door 1 in two real processes: `accelerate launch --multi_gpu --num_processes 2 scripts/train_text_gan.py`
    (CPU, gloo) trains with the shipped frozen text encoder on both ranks, ends with the same G and D on both, runs the
    periodic and final text-to-image evaluation on the main process, and exports a pipeline that takes prompts."""
    import os
    import socket
    import sys
    from pathlib import Path

    from hfgen.pipelines import TextToImageGANPipeline

    root = Path(__file__).resolve().parents[1]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    out = tmp_path / "ddp"
    env = dict(os.environ, ACCELERATE_USE_CPU="true", OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(port),
           str(root / "scripts" / "train_text_gan.py"),
           "--dataset", "shapes", "--resolution", "16", "--max_train_samples", "64", "--output_dir", str(out),
           "--max_train_steps", "2", "--train_batch_size", "8", "--generator_channels", "8", "--discriminator_channels", "8",
           "--latent_dim", "8", "--checkpointing_steps", "0", "--sample_steps", "0", "--disable_tqdm",
           "--eval_steps", "2", "--eval_samples", "96", "--final_eval_samples", "96"]
    from conftest import launch_two_processes

    stdout, stderr, summary = launch_two_processes(cmd, env, out, timeout=400)
    results = json.loads((out / "eval_results.json").read_text())
    assert "heldout_all_three" in results["metrics"] and "r_precision" in results["metrics"]
    pipe = TextToImageGANPipeline.from_pretrained(out)
    assert pipe.gan_generator.config.condition_dim == 64  # the shipped text encoder's width
    assert pipe("a red circle in the top left corner", output_type="np").images.shape == (1, 16, 16, 3)
