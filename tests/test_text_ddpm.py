"""TextToImageDDPMPipeline (pipelines/pipeline_text_ddpm.py) and the text-ddpm task (hfgen.training.text_ddpm).

Pipeline tests use tiny dummy components (an 8x8 UNet2DConditionModel, a 1-layer CLIPTextModel over a word
tokenizer); task tests train a few steps of a tiny model on the embedded shapes data (16x16).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
CAPTIONS = ["a red circle at the top left", "a blue square at the bottom right", "a green triangle in the center",
            "a small red square on the left", "a blue circle on the right"]
TINY_TASK = dict(block_out_channels="8,16", attention_head_dim=2, text_hidden_size=16, text_layers=1, text_heads=2,
                 eval_inference_steps=2)


def get_dummy_components(seed: int = 0, coordinates: bool = True):
    """An 8x8 UNet2DConditionModel (cross_attention_dim 16, +2 coordinate channels), a 1-layer CLIPTextModel (width 16),
    its word tokenizer and a DDIM scheduler (v-prediction, cosine schedule, trailing spacing)."""
    from diffusers import DDIMScheduler, UNet2DConditionModel
    from transformers import CLIPTextModel

    from hfgen.text import build_word_tokenizer, tiny_text_encoder_config

    torch.manual_seed(seed)
    tokenizer = build_word_tokenizer(CAPTIONS, max_length=12)
    text_encoder = CLIPTextModel(tiny_text_encoder_config(0, hidden_size=16, layers=1, heads=2, tokenizer=tokenizer)).eval()
    unet = UNet2DConditionModel(
        sample_size=8, in_channels=3 + (2 if coordinates else 0), out_channels=3, block_out_channels=(8, 16), layers_per_block=1,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=16, attention_head_dim=2, norm_num_groups=4,
    ).eval()
    scheduler = DDIMScheduler(prediction_type="v_prediction", beta_schedule="squaredcos_cap_v2", timestep_spacing="trailing")
    return {"unet": unet, "text_encoder": text_encoder, "tokenizer": tokenizer, "scheduler": scheduler}


@pytest.fixture(scope="module")
def pipe():
    from hfgen.pipelines import TextToImageDDPMPipeline

    pipe = TextToImageDDPMPipeline(**get_dummy_components())
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _np(pipe, prompt=CAPTIONS[:2], seed=0, steps=3, **kwargs):
    return pipe(prompt, num_inference_steps=steps, generator=torch.manual_seed(seed), output_type="np", **kwargs).images


def test_outputs_have_the_requested_types_and_shapes(pipe):
    """Guards __call__'s outputs: PIL by default, np NHWC and pt NCHW in [0, 1], num_images_per_prompt images per prompt."""
    out = pipe("a red circle at the top left", num_inference_steps=2, generator=torch.manual_seed(0))
    assert len(out.images) == 1 and out.images[0].size == (8, 8)
    images = _np(pipe, num_images_per_prompt=3)
    assert images.shape == (6, 8, 8, 3) and images.min() >= 0 and images.max() <= 1
    pt = pipe(CAPTIONS[:2], num_inference_steps=2, output_type="pt", return_dict=False)[0]
    assert pt.shape == (2, 3, 8, 8)


def test_seeded_calls_are_deterministic_and_prompts_matter(pipe):
    """Guards determinism with a generator and that the text reaches the UNet (same noise, two prompts -> two images)."""
    np.testing.assert_array_equal(_np(pipe, seed=3), _np(pipe, seed=3))
    latents = torch.randn(1, 3, 8, 8).repeat(2, 1, 1, 1)
    same_noise = pipe(CAPTIONS[:2], latents=latents, num_inference_steps=3, output_type="np").images
    assert np.abs(same_noise[0] - same_noise[1]).max() > 1e-4


def test_guidance_combines_the_conditional_and_unconditional_predictions(pipe):
    """Guards classifier-free guidance and its batch doubling: w=0 is the unconditional model (the same images as the
    empty prompt at w=1, or as the negative prompt at w=1 when one is given), w=1 the conditional one, and w=3 differs
    from both; images of one prompt stay consecutive under num_images_per_prompt."""
    latents = torch.randn(2, 3, 8, 8)
    run = lambda prompt, w, **kw: pipe(prompt, latents=latents, guidance_scale=w, num_inference_steps=3, output_type="np", **kw).images
    prompts = [CAPTIONS[0], CAPTIONS[1]]
    np.testing.assert_allclose(run(prompts, 0.0), run(["", ""], 1.0), atol=1e-5)
    np.testing.assert_allclose(run(prompts, 0.0, negative_prompt="a blue circle on the right"),
                               run(["a blue circle on the right"] * 2, 1.0), atol=1e-5)
    guided, conditional = run(prompts, 3.0), run(prompts, 1.0)
    assert np.abs(guided - conditional).max() > 1e-4 and np.abs(guided - run(prompts, 0.0)).max() > 1e-4
    grouped = pipe([CAPTIONS[0]], num_images_per_prompt=2, latents=latents, num_inference_steps=3, output_type="np").images
    np.testing.assert_allclose(grouped, run([CAPTIONS[0]] * 2, 3.0), atol=1e-5)


def test_prompt_embeds_and_masks_equal_the_prompt_path(pipe):
    """Guards prompt_embeds= / negative_prompt_embeds= with their attention masks: pipe.encode_prompt's outputs give the
    same images as the prompts themselves, and the mask reaches the UNet as encoder_attention_mask (padding = 0)."""
    embeds, mask = pipe.encode_prompt(CAPTIONS[:2])
    assert embeds.shape == (2, 12, 16) and mask.shape == (2, 12) and (mask.sum(1) < 12).all()
    negative, negative_mask = pipe.encode_prompt(["a green triangle in the center"] * 2)
    a = _np(pipe, negative_prompt="a green triangle in the center")
    b = pipe(prompt_embeds=embeds, prompt_attention_mask=mask, negative_prompt_embeds=negative,
             negative_prompt_attention_mask=negative_mask, num_inference_steps=3, generator=torch.manual_seed(0), output_type="np").images
    np.testing.assert_allclose(a, b, atol=1e-5)
    seen = []
    hook = pipe.unet.register_forward_pre_hook(lambda module, args, kwargs: seen.append(kwargs), with_kwargs=True)
    try:
        _np(pipe, steps=1)
    finally:
        hook.remove()
    sent = seen[0]["encoder_attention_mask"]
    assert sent.shape == (4, 12) and (sent == 0).any() and seen[0]["encoder_hidden_states"].shape == (4, 12, 16)


def test_coordinate_channels_are_added_by_the_pipeline(pipe):
    """Guards the coordinate option: the UNet gets x_t plus two channels holding each pixel's x and y (the task's
    coordinate_grid), the setting is inferred from the UNet when not given, and a contradicting setting is refused."""
    from hfgen.pipelines import TextToImageDDPMPipeline
    from hfgen.pipelines.pipeline_text_ddpm import coordinate_grid

    inputs = []
    hook = pipe.unet.register_forward_pre_hook(lambda module, args: inputs.append(args[0]))
    try:
        _np(pipe, steps=1)
    finally:
        hook.remove()
    x = inputs[0]
    assert pipe.config.coordinate_channels is True and x.shape == (4, 5, 8, 8)
    torch.testing.assert_close(x[:, 3:], coordinate_grid(4, 8, 8))
    assert x[0, 3, 0, 0] == -1 and x[0, 3, 0, -1] == 1 and x[0, 4, -1, 0] == 1  # x grows to the right, y downwards
    plain = TextToImageDDPMPipeline(**get_dummy_components(coordinates=False))
    assert plain.config.coordinate_channels is False
    with pytest.raises(ValueError, match="coordinate_channels=False"):
        TextToImageDDPMPipeline(**get_dummy_components(), coordinate_channels=False)


def test_any_scheduler_swaps_in_from_the_config(pipe):
    """Guards 'any scheduler via from_config': DPM-Solver++ and DDPM built from the saved config sample without a warning;
    a scheduler built WITHOUT the config (epsilon, linear) is warned about, naming the contradicting settings."""
    from diffusers import DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler

    from hfgen.pipelines import TextToImageDDPMPipeline

    components = dict(pipe.components)
    for cls in (DPMSolverMultistepScheduler, DDPMScheduler):
        swapped = TextToImageDDPMPipeline(**{**components, "scheduler": cls.from_config(pipe.scheduler.config)})
        swapped.set_progress_bar_config(disable=True)
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)  # our warning; numpy's DeprecationWarning in diffusers is not
            assert _np(swapped, steps=4).shape == (2, 8, 8, 3)
    pipe_default = TextToImageDDPMPipeline(**components)
    pipe_default.set_progress_bar_config(disable=True)
    pipe_default.scheduler = DDIMScheduler()
    with pytest.warns(UserWarning, match="prediction_type='epsilon'"):
        _np(pipe_default, steps=2)


@pytest.mark.parametrize("kwargs, match", [
    ({"prompt": []}, "empty list"),
    ({"prompt": ["a red circle", 3]}, "list of strings"),
    ({"prompt": "a red circle", "prompt_embeds": torch.zeros(1, 12, 16)}, "not both"),
    ({}, "Pass prompt"),
    ({"prompt_embeds": torch.zeros(2, 12, 5)}, r"\[num_prompts, sequence_length, 16\]"),
    ({"prompt_embeds": torch.zeros(2, 12, 16), "prompt_attention_mask": torch.ones(2, 5)}, r"prompt_attention_mask must have shape \(2, 12\)"),
    ({"prompt": "a red circle", "num_images_per_prompt": 0}, "positive integer"),
    ({"prompt": "a red circle", "latents": torch.zeros(3, 3, 8, 8)}, r"latents must have shape \(1, 3, 8, 8\)"),
    ({"prompt": "a red circle", "output_type": "latent"}, "output_type"),
    ({"prompt": "a red circle", "num_inference_steps": 0}, r"num_inference_steps must lie in \[1, 1000\]"),
    ({"prompt": "a red circle", "num_inference_steps": 1001}, r"\[1, 1000\]"),
    ({"prompt": "a red circle", "guidance_scale": -1.0}, "negative.*negative_prompt"),
    ({"prompt": "a red circle", "guidance_scale": float("nan")}, "finite number"),
    ({"prompt": ["a red circle", "a blue square"], "negative_prompt": ["a", "b", "c"]}, "3 entries for 2 prompts"),
    ({"prompt": "a red circle", "negative_prompt": "x", "negative_prompt_embeds": torch.zeros(1, 12, 16)}, "not both"),
])
def test_bad_inputs_raise_errors_that_name_the_fix(pipe, kwargs, match):
    """Guards the issue's bad-input list (part 1's prompt cases, guidance_scale < 0, a negative_prompt list of another
    length, num_inference_steps 0): each a ValueError naming what to pass instead, raised before any denoising."""
    with pytest.raises(ValueError, match=match):
        pipe(**kwargs)


def test_guidance_below_one_warns_what_it_means_and_bad_words_warn(pipe, caplog):
    """Guards the documented meaning of 0 < guidance_scale < 1 (a warning saying it weakens the prompt), and part 1's
    prompt warnings: a prompt of unknown words only ([UNK]) and a prompt beyond the tokenizer's max length."""
    with pytest.warns(UserWarning, match="weakens the prompt"):
        _np(pipe, steps=1, guidance_scale=0.5)
    with caplog.at_level(logging.WARNING):
        _np(pipe, "zebra xylophone", steps=1)
    assert "outside the tokenizer's vocabulary" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        _np(pipe, " ".join(["red"] * 30), steps=1)
    assert "truncated" in caplog.text


# ----------------------------------------------------------------------------------------- the task


@pytest.fixture
def hub(monkeypatch, tmp_path):
    from hfgen.hub.testing import LocalHubServer, patch_huggingface_hub

    with LocalHubServer() as server:
        patch_huggingface_hub(monkeypatch, server, tmp_path / "hf_home")
        yield server


def _train_args(out, steps, **kwargs):
    from hfgen.training import TrainingArguments

    base = dict(dataset="shapes", resolution=16, max_train_samples=64, output_dir=str(out), max_train_steps=steps, train_batch_size=8,
                checkpointing_steps=0, sample_steps=0, num_sample_images=6, report_to="none", disable_tqdm=True, final_eval_samples=0,
                num_threads=1)
    return TrainingArguments(**{**base, **kwargs})


def test_condition_dropout_replaces_captions_by_the_empty_prompt(one_torch_thread):
    """Guards classifier-free-guidance training: with --condition_dropout p each caption becomes "" with probability p
    (drawn from the loop's generator), and the UNet gets the text encoder's hidden states with the padding mask."""
    from hfgen.data.shapes import load_shapes
    from hfgen.training import StepContext
    from hfgen.training.text_ddpm import TextDDPMArguments, TextDDPMTask

    data = load_shapes(image_size=16, num_samples=32)
    task = TextDDPMTask(TextDDPMArguments(condition_dropout=0.5, **TINY_TASK))
    task.setup(data)
    encoder = task.models["text_encoder"].eval()
    texts = [CAPTIONS[0]] * 200
    ctx = StepContext(models={"text_encoder": encoder}, generator=torch.Generator().manual_seed(0), device=torch.device("cpu"))
    with torch.no_grad():
        cond = task.conditioning({"text": texts}, ctx)
        ids, mask = task._tokenize(["", CAPTIONS[0]], "cpu")
        empty, full = encoder(input_ids=ids, attention_mask=mask).last_hidden_state
    hidden = cond["encoder_hidden_states"]
    is_empty = torch.isclose(hidden, empty, atol=1e-5).flatten(1).all(1)
    is_full = torch.isclose(hidden, full, atol=1e-5).flatten(1).all(1)
    assert (is_empty ^ is_full).all() and 70 < int(is_empty.sum()) < 130
    torch.testing.assert_close(cond["encoder_attention_mask"][is_empty][0], mask[0])  # "" = [BOS] [EOS] + padding
    assert int(mask[0].sum()) == 2


def test_text_encoder_trains_jointly_or_stays_frozen(tmp_path, hub, one_torch_thread):
    """Guards the text-encoder modes: the built-in encoder is trained with the UNet (one optimizer, EMA on both), and
    --text_encoder FOLDER (a tiny CLIPTextModel saved with its tokenizer, as a Hub CLIP would be) is loaded frozen (weights
    unchanged after training, not in the optimizer) with cross_attention_dim = its width; the same encoder by Hub id
    (local Hub server) loads too, with --train_text_encoder true making it trainable."""
    from transformers import CLIPTextModel

    from hfgen.data.shapes import load_shapes
    from hfgen.text import build_word_tokenizer, tiny_text_encoder_config
    from hfgen.training import Trainer
    from hfgen.training.text_ddpm import TextDDPMArguments, TextDDPMTask

    data = load_shapes(image_size=16, num_samples=64)
    joint = TextDDPMTask(TextDDPMArguments(**TINY_TASK))
    trainer = Trainer(joint, _train_args(tmp_path / "joint", 2, export=False), dataset=data)
    torch.manual_seed(0)
    trainer.train()
    assert joint.ema_models == ("unet", "text_encoder") and joint.frozen_models == ()
    assert joint.phases()[0].trainable == ("unet", "text_encoder")
    assert "text_encoder" in trainer.ema

    tokenizer = build_word_tokenizer(data.texts, max_length=16)
    pretrained = CLIPTextModel(tiny_text_encoder_config(0, hidden_size=24, layers=1, heads=2, tokenizer=tokenizer))
    pretrained.save_pretrained(tmp_path / "clip-text")
    tokenizer.save_pretrained(tmp_path / "clip-text")
    frozen = TextDDPMTask(TextDDPMArguments(text_encoder=str(tmp_path / "clip-text"), **TINY_TASK))
    Trainer(frozen, _train_args(tmp_path / "frozen", 2, export=False), dataset=data).train()
    assert frozen.frozen_models == ("text_encoder",) and frozen.ema_models == ("unet",)
    assert frozen.models["unet"].config.cross_attention_dim == 24
    after = frozen.models["text_encoder"].state_dict()
    assert all(torch.equal(after[k], v) for k, v in pretrained.state_dict().items())
    optimized = {id(p) for group in frozen.create_optimizers()["denoiser"].param_groups for p in group["params"]}
    assert not optimized & {id(p) for p in frozen.models["text_encoder"].parameters()}

    from huggingface_hub import HfApi

    HfApi().create_repo("test-user/tiny-clip-text")
    HfApi().upload_folder(folder_path=tmp_path / "clip-text", repo_id="test-user/tiny-clip-text")
    by_id = TextDDPMTask(TextDDPMArguments(text_encoder="test-user/tiny-clip-text", train_text_encoder=True, **TINY_TASK))
    by_id.setup(data)
    assert by_id.frozen_models == () and by_id.phases()[0].trainable == ("unet", "text_encoder")
    torch.testing.assert_close(by_id.models["text_encoder"].get_input_embeddings().weight, pretrained.get_input_embeddings().weight)


def test_hfgen_train_text_ddpm_exports_pushes_and_loads_without_hfgen(tmp_path, hub, run_without_hfgen, one_torch_thread, capsys):
    """Guards the three doors end to end: `hfgen train text-ddpm --dataset shapes` exports a TextToImageDDPMPipeline
    folder (standard unet/text_encoder/tokenizer/scheduler, coordinate_channels recorded, a card with the grid's prompts,
    guidance and sampler, attribute accuracy in its model-index); it loads with hfgen, and after `hfgen push`, in a process
    without hfgen, with DiffusionPipeline.from_pretrained(trust_remote_code=True) from the folder AND by repo id: the same
    images for the same seed. Then `hfgen evaluate` scores the folder at --guidance_scale with another --scheduler and
    --steps (recorded in the report), and `hfgen sample --prompt` writes one row per prompt; bad flags exit naming them."""
    from huggingface_hub import ModelCard

    from hfgen.cli import main
    from hfgen.hub import cli_push
    from hfgen.pipelines import TextToImageDDPMPipeline, load_pipeline

    out = tmp_path / "td"
    assert main(["train", "text-ddpm", "--dataset", "shapes", "--resolution", "16", "--max_train_samples", "64", "--output_dir", str(out),
                 "--max_train_steps", "2", "--train_batch_size", "8", "--block_out_channels", "8,16", "--attention_head_dim", "2",
                 "--text_hidden_size", "16", "--text_layers", "1", "--eval_inference_steps", "2", "--guidance_scale", "2.5",
                 "--sample_steps", "0", "--num_sample_images", "6", "--checkpointing_steps", "0", "--final_eval_samples", "48",
                 "--report_to", "none", "--disable_tqdm", "true", "--num_threads", "1"]) == 0
    index = json.loads((out / "model_index.json").read_text())
    assert index["_class_name"] == ["pipeline_text_ddpm", "TextToImageDDPMPipeline"] and index["coordinate_channels"] is True
    assert index["unet"] == ["diffusers", "UNet2DConditionModel"] and index["text_encoder"] == ["transformers", "CLIPTextModel"]
    assert index["scheduler"] == ["diffusers", "DDIMScheduler"]
    scheduler = json.loads((out / "scheduler" / "scheduler_config.json").read_text())
    assert scheduler["prediction_type"] == "v_prediction" and scheduler["timestep_spacing"] == "trailing"
    results = json.loads((out / "eval_results.json").read_text())
    assert {"train_all_three", "heldout_all_three"} <= set(results["metrics"])
    assert results["protocol"]["sampler"]["guidance_scale"] == 2.5 and results["protocol"]["sampler"]["num_inference_steps"] == 2
    card = ModelCard.load(out / "README.md")
    assert card.data.pipeline_tag == "text-to-image" and "classifier-free-guidance" in card.data.tags
    index_results = {r.metric_type: r for r in card.data.eval_results}
    assert {"heldout_all_three_accuracy", "train_all_three_accuracy", "r_precision", "clip_score"} <= set(index_results)
    assert index_results["r_precision"].metric_args["sampler"]["guidance_scale"] == 2.5
    assert "guidance scale **2.5**" in card.text and "a red circle in the top left corner (held out)" in card.text
    assert "embedded captioned shapes" in card.text and card.data.eval_results[0].dataset_name == "hfgen shapes"
    assert "a red circle in the top left corner (held out)" in (out / "samples_prompts.txt").read_text()

    pipe = load_pipeline(out)
    assert type(pipe) is TextToImageDDPMPipeline and pipe.config.coordinate_channels
    pipe.set_progress_bar_config(disable=True)
    expected = pipe(CAPTIONS[:2], num_inference_steps=3, generator=torch.manual_seed(0), output_type="np").images
    assert cli_push([str(out), "test-user/text-ddpm"]) == 0
    npz = tmp_path / "no_hfgen.npz"
    run_without_hfgen(f"""
        import numpy as np, torch
        from diffusers import DiffusionPipeline
        results = {{}}
        for source in ("test-user/text-ddpm", {str(out)!r}):
            pipe = DiffusionPipeline.from_pretrained(source, trust_remote_code=True)
            assert type(pipe).__name__ == "TextToImageDDPMPipeline" and pipe.config.coordinate_channels, type(pipe)
            pipe.set_progress_bar_config(disable=True)
            results[source.replace("/", "_")] = pipe({CAPTIONS[:2]!r}, num_inference_steps=3, generator=torch.manual_seed(0),
                                                     output_type="np").images
        np.savez({str(npz)!r}, **results)
    """)
    loaded = np.load(npz)
    assert len(loaded.files) == 2
    for key in loaded.files:
        np.testing.assert_allclose(loaded[key], expected, atol=1e-5)

    # `hfgen evaluate` (shapes prompts at --guidance_scale with --scheduler / --steps) and `hfgen sample --prompt`.
    report = tmp_path / "eval.json"
    assert main(["evaluate", "--model", str(out), "--dataset", "shapes", "--num_samples", "48", "--scheduler", "dpm++", "--steps", "2",
                 "--guidance_scale", "4", "--output", str(report)]) == 0
    evaluated = json.loads(report.read_text())
    assert "heldout_all_three" in evaluated["metrics"]
    sampler = evaluated["protocol"]["sampler"]
    assert sampler["guidance_scale"] == 4.0 and sampler["num_inference_steps"] == 2 and sampler["scheduler"] == "DPMSolverMultistepScheduler"
    assert main(["evaluate", "--model", str(out), "--dataset", "shapes", "--guidance_scale", "-1", "--output", str(report)]) == 2
    assert "--guidance_scale -1.0 is negative" in capsys.readouterr().err
    grid = tmp_path / "grid.png"
    assert main(["sample", "--model", str(out), "--prompt", "a red circle in the top left corner", "--prompt", "a blue square",
                 "--num_images", "3", "--num_inference_steps", "2", "--guidance_scale", "5", "--output", str(grid)]) == 0
    from PIL import Image

    image = Image.open(grid)
    assert image.height == 152 and image.width > 224  # two rows of three 16x16 images (x4, padded), the prompts written beside
    capsys.readouterr()
    assert main(["sample", "--model", str(out), "--num_images", "2", "--output", str(grid)]) == 1
    assert "pass --prompt" in capsys.readouterr().err
    assert main(["sample", "--model", str(out), "--prompt", "a red circle", "--guidance_scale", "-2", "--output", str(grid)]) == 1
    assert "--guidance_scale -2.0 is negative" in capsys.readouterr().err


@pytest.mark.parametrize("flags, message", [
    (["--class_conditional", "true"], "captions are the condition"),
    (["--condition_dropout", "1.0"], "--condition_dropout must lie in"),
    (["--attention_head_dim", "5"], "--attention_head_dim 5"),
    (["--attention_levels", "3"], "--attention_levels"),
    (["--dataset", "digits"], "needs images with captions"),
    (["--text_encoder", "/nonexistent/clip"], "Could not load the text encoder"),
])
def test_bad_training_flags_name_the_fix(tmp_path, capsys, flags, message):
    """Guards the task's flag checks: each bad setting exits with one line naming the flag (no traceback)."""
    from hfgen.training import main

    argv = ["--dataset", "shapes", "--resolution", "16", "--max_train_samples", "16", "--output_dir", str(tmp_path / "x"),
            "--max_train_steps", "1", "--report_to", "none", "--block_out_channels", "8,16", "--attention_head_dim", "2"]
    with pytest.raises(SystemExit, match=message):
        main("text-ddpm", argv + flags)


def test_resume_is_exact_for_unet_text_encoder_and_their_ema(tmp_path, one_torch_thread):
    """Guards exact resume of joint training: 4 steps straight == 2 steps + resume + 2, bitwise on CPU for the UNet, the
    jointly trained text encoder, both EMAs and the optimizer (caption dropout, noise and timesteps come from the loop's
    checkpointed generator, so the resumed run drops the same captions)."""
    from hfgen.data.shapes import load_shapes
    from hfgen.training import Trainer
    from hfgen.training.text_ddpm import TextDDPMArguments, TextDDPMTask

    data = load_shapes(image_size=16, num_samples=32)

    def run(out, steps, resume=None):
        task = TextDDPMTask(TextDDPMArguments(condition_dropout=0.5, **TINY_TASK))
        trainer = Trainer(task, _train_args(out, steps, checkpointing_steps=2, export=False, resume_from_checkpoint=resume), dataset=data)
        trainer.train()
        return trainer

    straight = run(tmp_path / "straight", 4)
    run(tmp_path / "resumed", 2)
    resumed = run(tmp_path / "resumed", 4, "latest")
    for name in ("unet", "text_encoder"):
        for a, b in ((straight.unwrapped[name], resumed.unwrapped[name]), (straight.ema[name].shadow, resumed.ema[name].shadow)):
            for (key, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
                assert torch.equal(x, y), f"{name}.{key}"
    sa = straight.optimizers["denoiser"].state_dict()["state"]
    sb = resumed.optimizers["denoiser"].state_dict()["state"]
    assert len(sa) == len(sb) > 0 and all(torch.equal(sa[k]["exp_avg"], sb[k]["exp_avg"]) for k in sa)


def test_init_from_reuses_the_folders_tokenizer(tmp_path, one_torch_thread):
    """Guards --init_from with the built-in encoder: the tokenizer is the exported folder's (its text encoder's rows
    follow that vocabulary), not one rebuilt from the new data, whose captions may hold fewer words."""
    from hfgen.data.shapes import load_shapes
    from hfgen.text import build_word_tokenizer
    from hfgen.training import Trainer
    from hfgen.training.text_ddpm import TextDDPMArguments, TextDDPMTask

    first = tmp_path / "first"
    Trainer(TextDDPMTask(TextDDPMArguments(**TINY_TASK)), _train_args(first, 1), dataset=load_shapes(image_size=16, num_samples=64)).train()
    few = load_shapes(image_size=16, num_samples=2)
    assert len(build_word_tokenizer(few.texts)) < len(build_word_tokenizer(load_shapes(image_size=16, num_samples=64).texts))
    task = TextDDPMTask(TextDDPMArguments(**TINY_TASK))
    trainer = Trainer(task, _train_args(tmp_path / "second", 1, init_from=str(first), export=False, train_batch_size=2), dataset=few)
    trainer.train()
    saved = json.loads((first / "tokenizer" / "tokenizer.json").read_text())["model"]["vocab"]
    assert task.tokenizer.get_vocab() == saved


def test_two_real_processes_train_text_ddpm(tmp_path):
    """Guards DDP for joint UNet + text-encoder training: `accelerate launch --multi_gpu --num_processes 2` on CPU runs two
    real processes through scripts/train_text_ddpm.py; both end with the same weights (UNet, text encoder, EMAs) and the
    main process exports a TextToImageDDPMPipeline folder."""
    import socket

    out = tmp_path / "ddp"
    env = dict(os.environ, ACCELERATE_USE_CPU="true", OMP_NUM_THREADS="1")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(port),
           str(ROOT / "scripts" / "train_text_ddpm.py"), "--dataset", "shapes", "--resolution", "16", "--max_train_samples", "32",
           "--output_dir", str(out), "--max_train_steps", "2", "--train_batch_size", "4", "--block_out_channels", "8,16",
           "--attention_head_dim", "2", "--text_hidden_size", "16", "--text_layers", "1", "--eval_inference_steps", "2",
           "--checkpointing_steps", "0", "--sample_steps", "0", "--final_eval_samples", "0", "--num_sample_images", "6",
           "--disable_tqdm", "true"]
    from conftest import launch_two_processes

    stdout, stderr, summary = launch_two_processes(cmd, env, out, timeout=400)
    assert json.loads((out / "model_index.json").read_text())["_class_name"] == ["pipeline_text_ddpm", "TextToImageDDPMPipeline"]


def test_bench_text_ddpm_quick_writes_the_protocol_figures(tmp_path):
    """Guards scripts/bench_text_ddpm.py (smoke size): per budget a row with steps and training CPU-minutes (growing),
    accuracy on training and held-out combinations, shapes-FID and R-precision at guidance 3, the whole guidance sweep at
    the last budget, sampling time per image, and a summary over seeds."""
    out = tmp_path / "text_ddpm.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_text_ddpm.py"), "--quick", "--seeds", "0", "--threads", "1",
                    "--guidance", "1,5", "--out", str(out)], check=True, cwd=ROOT, env=env, capture_output=True, text=True, timeout=400)
    result = json.loads(out.read_text())
    (run,) = result["runs"]
    first, last = run["rows"]
    assert run["model"] == "text-ddpm" and first["steps"] < last["steps"] and first["train_cpu_minutes"] < last["train_cpu_minutes"]
    assert list(first["by_guidance"]) == ["3.0"] and list(last["by_guidance"]) == ["1.0", "5.0"]
    scores = last["by_guidance"]["5.0"]
    assert 0 <= scores["train_all_three"] <= 1 and 0 <= scores["heldout_all_three"] <= 1 and scores["fid"] > 0
    assert 0 <= scores["r_precision"] <= 1 and scores["num_images"] == 96 and scores["sampling_cpu_s_per_image"] > 0
    assert {(r["budget_cpu_minutes"], r["guidance"]) for r in result["summary"]} == {(0.05, "3.0"), (0.1, "1.0"), (0.1, "5.0")}
    assert result["partial"] is False and result["evaluation_protocol"]["images_per_prompt"] == 2
