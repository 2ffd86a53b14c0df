"""Pix2Pix through its three doors: Pix2PixPipeline (pipelines/pipeline_pix2pix.py), the pix2pix task
(hfgen.training.pix2pix), the embedded paired data (hfgen.data.paired_embedded) and the translation
evaluation (hfgen.evaluation.image2image)."""

import json
import logging
import os
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny_generator(size=16, in_channels=1, out_channels=1, seed=0):
    from hfgen import UNetGenerator, UNetGeneratorConfig

    torch.manual_seed(seed)
    g = UNetGenerator(UNetGeneratorConfig(image_size=size, in_channels=in_channels, out_channels=out_channels, base_channels=4))
    # A few steps of BatchNorm statistics so that eval mode differs from an identity normalisation.
    with torch.no_grad():
        for _ in range(3):
            g(torch.rand(4, in_channels, size, size) * 2 - 1)
    return g.eval()


@pytest.fixture(scope="module")
def pipe():
    from hfgen import Pix2PixPipeline

    return Pix2PixPipeline(generator_unet=tiny_generator())


def _inputs(n=2, size=16, channels=1, seed=0):
    return torch.rand(n, channels, size, size, generator=torch.Generator().manual_seed(seed))


# ------------------------------------------------------------------------------------ the pipeline


def test_outputs_types_shapes_and_the_translation_of_each_input(pipe):
    """Guards __call__: PIL / np NHWC / pt NCHW outputs in [0, 1], one per input, equal to G(2x - 1) mapped to [0, 1]."""
    x = _inputs(3)
    pt = pipe(x, output_type="pt").images
    expected = (pipe.generator_unet(x * 2 - 1) / 2 + 0.5).clamp(0, 1)
    torch.testing.assert_close(pt, expected)
    np_out = pipe(x, output_type="np", return_dict=False)[0]
    assert np_out.shape == (3, 16, 16, 1) and np_out.min() >= 0 and np_out.max() <= 1
    pil = pipe([Image.fromarray((x[i, 0].numpy() * 255).round().astype(np.uint8)) for i in range(3)]).images
    assert len(pil) == 3 and pil[0].size == (16, 16)
    np.testing.assert_allclose(np.asarray(pil[0], dtype=np.float32) / 255, np_out[0, ..., 0], atol=0.05)
    assert pipe.image_size == 16


def test_default_is_deterministic_and_test_time_dropout_follows_the_generator(pipe):
    """Guards the documented dropout decision: by default G runs in eval mode (same output twice, even if G was left
    in train mode, whose mode is restored); dropout=True applies the paper's test-time dropout with masks from
    `generator`: the same seed gives the same output, another seed another one, both differ from the default."""
    x = _inputs(2)
    G = pipe.generator_unet
    G.train()
    try:
        a, b = (pipe(x, output_type="pt").images for _ in range(2))
        assert G.training  # the call did not change the model's mode
    finally:
        G.eval()
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(a, pipe(x, output_type="pt").images)
    d1 = pipe(x, dropout=True, generator=torch.manual_seed(0), output_type="pt").images
    d1_again = pipe(x, dropout=True, generator=torch.manual_seed(0), output_type="pt").images
    d2 = pipe(x, dropout=True, generator=torch.manual_seed(1), output_type="pt").images
    torch.testing.assert_close(d1, d1_again)
    assert (d1 - d2).abs().max() > 1e-4 and (d1 - a).abs().max() > 1e-4


def test_inputs_of_another_size_or_mode_are_converted_with_a_warning(caplog):
    """Guards the documented input handling (bad input of the issue): an input of the wrong size is resized to the
    model's resolution and a grey input to an RGB model converted, each with a warning naming what was done."""
    from hfgen import Pix2PixPipeline

    rgb = Pix2PixPipeline(generator_unet=tiny_generator(in_channels=3, out_channels=3))
    grey_big = Image.fromarray(np.full((40, 40), 128, dtype=np.uint8))
    with caplog.at_level(logging.WARNING):
        out = rgb(grey_big, output_type="np").images
    assert out.shape == (1, 16, 16, 3)
    assert "Resized the image from 40x40 to 16x16" in caplog.text and "L -> RGB" in caplog.text


@pytest.mark.parametrize("kwargs, match", [
    ({"image": torch.full((1, 1, 16, 16), 2.0)}, r"\[0, 1\]"),
    ({"image": []}, "empty"),
    ({"image": "edges.png"}, "PIL images"),
    ({"image": torch.rand(1, 1, 16, 16), "output_type": "latent"}, "output_type"),
    ({"image": torch.rand(1, 1, 16, 16), "dropout": "yes"}, "dropout"),
])
def test_bad_inputs_raise_errors_that_name_the_fix(pipe, kwargs, match):
    """Guards the pipeline's bad-input errors: each names what to pass instead."""
    with pytest.raises((ValueError, TypeError), match=match):
        pipe(**kwargs)


def test_docstring_example_runs():
    """Guards the runnable example of Pix2PixPipeline.__call__ (it shows the seeded test-time dropout)."""
    import doctest

    from hfgen.pipelines import pipeline_pix2pix as module

    test = doctest.DocTestParser().get_doctest(module.EXAMPLE_DOC_STRING, {}, "example", None, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.summarize(verbose=False).failed == 0 and test.examples


@pytest.fixture
def hub(monkeypatch, tmp_path):
    from hfgen.hub.testing import LocalHubServer, patch_huggingface_hub

    with LocalHubServer() as server:
        patch_huggingface_hub(monkeypatch, server, tmp_path / "hf_home")
        yield server


def test_exported_folder_loads_with_hfgen_and_without_locally_and_from_the_hub(pipe, tmp_path, hub, run_without_hfgen):
    """Guards the export door: the folder (G as self-contained custom code + D as a training component) loads with
    Pix2PixPipeline.from_pretrained and load_pipeline, and, in a process where hfgen cannot be imported, with
    DiffusionPipeline.from_pretrained(trust_remote_code=True) from the local folder AND from a repo id on the local
    Hub server after `hfgen push` (no snapshot_download first): the same translations, also with seeded dropout."""
    from hfgen import PatchDiscriminator, PatchDiscriminatorConfig, Pix2PixPipeline
    from hfgen.cli import main as cli
    from hfgen.hub import export_folder
    from hfgen.pipelines import load_pipeline

    folder = tmp_path / "p2p"
    D = PatchDiscriminator(PatchDiscriminatorConfig(in_channels=2, base_channels=4, n_layers=1))
    export_folder(pipe, folder, training_components={"discriminator": D})
    index = json.loads((folder / "model_index.json").read_text())
    assert index["_class_name"] == ["pipeline_pix2pix", "Pix2PixPipeline"]
    assert index["generator_unet"] == ["modeling_image2image", "UNetGenerator"] and "discriminator" not in index
    assert (folder / "discriminator" / "model.safetensors").is_file() and (folder / "modeling_image2image.py").is_file()
    x = _inputs(2, seed=5)
    np.save(tmp_path / "x.npy", x.numpy())
    expected = pipe(x, output_type="np").images
    expected_dropout = pipe(x, dropout=True, generator=torch.manual_seed(3), output_type="np").images
    for loaded in (Pix2PixPipeline.from_pretrained(folder), load_pipeline(folder)):
        assert type(loaded) is Pix2PixPipeline
        np.testing.assert_allclose(loaded(x, output_type="np").images, expected, atol=1e-6)
    (folder / "README.md").write_text("# a tiny pix2pix\n")  # keeps `hfgen push` from rendering a card for it
    assert cli(["push", str(folder), "test-user/p2p"]) == 0
    out = tmp_path / "out.npz"
    stdout = run_without_hfgen(f"""
        import numpy as np, torch
        from diffusers import DiffusionPipeline
        x = torch.from_numpy(np.load({str(tmp_path / "x.npy")!r}))
        results = {{}}
        for source in ("test-user/p2p", {str(folder)!r}):
            pipe = DiffusionPipeline.from_pretrained(source, trust_remote_code=True)
            print("CLASS", type(pipe).__name__)
            key = source.replace("/", "_")
            results[key] = pipe(x, output_type="np").images
            results[key + "_dropout"] = pipe(x, dropout=True, generator=torch.manual_seed(3), output_type="np").images
        np.savez({str(out)!r}, **results)
    """)
    assert stdout.count("CLASS Pix2PixPipeline") == 2
    result = np.load(out)
    assert len(result.files) == 4
    for key in result.files:
        np.testing.assert_allclose(result[key], expected_dropout if key.endswith("_dropout") else expected, atol=1e-6)


# ------------------------------------------------------------------------------------ embedded pairs


def test_edges2digits_pairs_held_out_split_and_labels():
    """Guards edges2digits: 4500 train / 500 test pairs from disjoint MNIST-5k digits (the test digits never train; their
    first pairs, what small evaluations and the grid use, mix digits although MNIST-5k is sorted by digit),
    32x32 grey, each input the one-pixel outline of its own target (inside the digit's mask, not all of it), labels
    kept; BtoA swaps the sides."""
    from hfgen.data import load_train_dataset
    from hfgen.data.paired_embedded import digit_outlines, edges2digits_split, load_paired_embedded

    train_idx, test_idx = edges2digits_split()
    assert len(train_idx) == 4500 and len(test_idx) == 500 and not set(train_idx) & set(test_idx)
    assert len(set(load_paired_embedded("edges2digits", "test").storage["labels"][:20].tolist())) >= 5  # mixed, not sorted
    test = load_paired_embedded("edges2digits", "test")
    assert len(test) == 500 and len(load_train_dataset("edges2digits")) == 4500
    t = test.storage
    assert t["pixel_values"].shape == (500, 1, 32, 32) and t["labels"].shape == (500,)
    mask = t["pixel_values"] > 127
    edges = t["conditioning_pixel_values"] > 0
    assert bool((edges <= mask).all()) and edges.sum() < mask.sum()
    np.testing.assert_array_equal(digit_outlines(t["pixel_values"][:, 0].numpy()), t["conditioning_pixel_values"][:, 0].numpy())
    swapped = load_paired_embedded("edges2digits", "test", direction="BtoA").storage
    assert torch.equal(swapped["conditioning_pixel_values"], t["pixel_values"])


def test_shapes2textures_input_fixes_the_shape_not_the_stripes():
    """Guards the L1-blur data: the label map fixes where the shape is (the target differs from its background exactly
    inside the map's shape), while two targets of the same map colour may carry stripes of other orientations, so the
    input does not determine the detail. The test split is drawn apart from train."""
    from hfgen.data.paired_embedded import TEXTURE_BACKGROUND, load_paired_embedded

    train = load_paired_embedded("shapes2textures", "train", num_samples=200).storage
    test = load_paired_embedded("shapes2textures", "test").storage
    assert len(test["labels"]) == 300 and not torch.equal(test["pixel_values"][:5], train["pixel_values"][:5])
    inside = train["conditioning_pixel_values"].amax(1) > 170  # fully inside (the map colours peak at 180-230)
    background = (train["pixel_values"] == torch.tensor(TEXTURE_BACKGROUND).view(1, 3, 1, 1)).all(1)
    assert not bool((inside & background).any())
    # stripes: inside each shape both stripe colours appear
    light = (train["pixel_values"] > 200).all(1)
    assert bool(((light & inside).flatten(1).any(1)).all())


# ------------------------------------------------------------------------------------ evaluation


def test_translation_evaluator_scores_a_perfect_a_blurred_and_a_content_changing_translation():
    """Guards hfgen.evaluation.image2image on edges2digits' held-out pairs: returning the targets gives L1 0, SSIM 1,
    FID 0, sharpness 1 and the classifier's accuracy on real digits (>= 0.97); a blurred copy keeps the content but
    loses sharpness and SSIM; targets of other pairs (other digits) lose accuracy. SSIM's formula itself is checked against
    the paper's in tests/test_metrics.py::test_ssim_matches_the_papers_formula."""
    from hfgen.data.paired_embedded import load_paired_embedded
    from hfgen.evaluation.image2image import laplacian_energy, translation_evaluator_for_dataset

    ev = translation_evaluator_for_dataset("edges2digits", num_samples=200)
    targets = (load_paired_embedded("edges2digits", "test").tensors["pixel_values"][:200] + 1) / 2

    def fixed(images):
        batches = list(images.split(250))
        return lambda image, generator=None, output_type="pt": SimpleNamespace(images=batches.pop(0))

    perfect = ev(fixed(targets))["metrics"]
    assert perfect["l1"] == 0 and perfect["ssim"] == pytest.approx(1) and perfect["fid"] == pytest.approx(0, abs=1e-6)
    assert perfect["sharpness"] == pytest.approx(1) and perfect["condition_accuracy"] >= 0.97
    blurred = ev(fixed(torch.nn.functional.avg_pool2d(targets, 3, 1, 1)))["metrics"]
    assert blurred["sharpness"] < 0.7 and blurred["ssim"] < 0.95 and blurred["condition_accuracy"] >= 0.85
    other = ev(fixed(targets.roll(1, dims=0)))  # each output shows the previous test pair's digit
    assert other["metrics"]["condition_accuracy"] < 0.5
    assert other["protocol"]["translation"]["pairs"].startswith("edges2digits test split (held out")
    assert laplacian_energy(torch.zeros(2, 1, 8, 8)).tolist() == [0, 0]


def test_shapes2textures_evaluator_sees_stripes_a_flat_fill_and_the_shape():
    """Guards the texture classifier that gives shapes2textures its FID and content accuracy: it is sha256-checked,
    reads the 3 shapes of the held-out targets as recorded, and its features tell the L1-only failure (each shape
    filled with the flat average of its stripes: right shape, no texture) from real stripes: that FID is far above the
    real-vs-real one (other real targets, stripes of any orientation, at the same count), while the shape accuracy
    stays high. An output with the wrong shapes loses the accuracy."""
    from hfgen.data.paired_embedded import TEXTURE_BACKGROUND, load_paired_embedded, shapes2textures_split
    from hfgen.evaluation.image2image import translation_evaluator_for_dataset
    from hfgen.metrics.styled_digits import classifier_metadata

    meta = classifier_metadata("shapes2textures")
    ev = translation_evaluator_for_dataset("shapes2textures")
    assert ev.extractor.label == "hfgen/shapes2textures_classifier" and ev.extractor.sha256 == meta["sha256"]
    targets = (load_paired_embedded("shapes2textures", "test").tensors["pixel_values"] + 1) / 2
    _, real_other, _, _ = shapes2textures_split("train")
    real_other = real_other[:300].float() / 255

    def fixed(images):  # the evaluator calls the "pipeline" with batches of its inputs, in order
        batches = list(images.split(250))
        return lambda image, generator=None, output_type="pt": SimpleNamespace(images=batches.pop(0))

    perfect = ev(fixed(targets))["metrics"]
    assert perfect["fid"] == pytest.approx(0, abs=1e-6) and perfect["condition_accuracy"] == pytest.approx(meta["test_accuracy"], abs=0.01)
    # L1's blur: inside the shape, the mean colour of the two stripes; the background kept
    background = torch.tensor(TEXTURE_BACKGROUND, dtype=torch.float32).view(1, 3, 1, 1) / 255
    inside = ((targets - background).abs().amax(1, keepdim=True) > 0.02).float()
    flat = background + inside * ((targets * inside).sum((2, 3), keepdim=True) / inside.sum((2, 3), keepdim=True) - background)
    flat_metrics, real_metrics = ev(fixed(flat))["metrics"], ev(fixed(real_other))["metrics"]
    assert flat_metrics["sharpness"] < 0.3 and flat_metrics["condition_accuracy"] >= 0.8
    assert flat_metrics["fid"] > 5 * real_metrics["fid"], (flat_metrics["fid"], real_metrics["fid"])
    assert ev(fixed(targets.roll(1, dims=0)))["metrics"]["condition_accuracy"] < 0.6  # another pair's shape


# ------------------------------------------------------------------------------------ the task


def _train(out, *extra, dataset="edges2digits"):
    from hfgen.training import main

    return main("pix2pix", ["--dataset", dataset, "--output_dir", str(out), "--max_train_steps", "2", "--train_batch_size", "4",
                            "--generator_channels", "4", "--discriminator_channels", "4", "--discriminator_layers", "1",
                            "--report_to", "none", "--sample_steps", "0", "--checkpointing_steps", "0", "--disable_tqdm",
                            "--final_eval_samples", "0", "--max_train_samples", "32", *extra])


def test_hfgen_train_pix2pix_exports_card_evaluation_and_works_with_evaluate_and_sample(tmp_path, capsys):
    """Guards the task end to end through the CLI doors: `hfgen train pix2pix --dataset edges2digits` trains G and D
    with the paper's schedule (constant, then linear decay over the last half), evaluates periodically (best/), exports a Pix2PixPipeline with D
    beside it, an input -> output -> target grid, the evaluation on held-out pairs (L1/PSNR/SSIM/FID/accuracy) in
    eval_results.json and the card; `hfgen evaluate` prints and writes the same metrics, `hfgen sample --input` translates
    a file and a folder, and refuses a missing --input."""
    from hfgen.cli import main as cli
    from hfgen.pipelines import Pix2PixPipeline

    out = tmp_path / "p2p"
    assert cli(["train", "pix2pix", "--dataset", "edges2digits", "--output_dir", str(out), "--max_train_steps", "4",
                "--train_batch_size", "4", "--generator_channels", "4", "--discriminator_channels", "4", "--report_to", "none",
                "--sample_steps", "0", "--checkpointing_steps", "0", "--disable_tqdm", "--final_eval_samples", "40",
                "--num_grid_pairs", "3", "--max_train_samples", "64", "--eval_steps", "2", "--eval_samples", "40"]) == 0
    recorded = json.loads((out / "logs" / "training_args.json").read_text())
    assert recorded["training"]["lr_scheduler"] == "constant_then_linear" and recorded["training"]["lr_decay_steps"] == 2
    assert recorded["pix2pix"]["lambda_l1"] == 100 and recorded["grid"] == "held-out test pairs"
    history = json.loads((out / "logs" / "history.json").read_text())
    losses = [row for row in history if "generator/loss" in row]
    assert {"generator/l1", "generator/adversarial", "discriminator/loss"} <= set(losses[-1])
    periodic = [row for row in history if "eval/fid" in row]  # --eval_steps: held-out scores during training, best/ kept
    assert [row["step"] for row in periodic] == [2, 4] and "eval/condition_accuracy" in periodic[0]
    assert (out / "best" / "model_index.json").is_file()
    metrics = json.loads((out / "eval_results.json").read_text())["metrics"]
    assert {"fid", "condition_accuracy", "l1", "psnr", "ssim", "sharpness"} <= set(metrics)
    card = (out / "README.md").read_text()
    assert "Pix2Pix (L1 + cGAN) trained on" in card and "pipeline_tag: image-to-image" in card and "input -> output -> target" in card
    grid = Image.open(out / "samples.png")
    assert grid.width > grid.height  # 3 triplets: two per row, 6 columns over 2 rows
    assert (out / "discriminator" / "config.json").is_file()
    pipe = Pix2PixPipeline.from_pretrained(out)
    assert pipe.generator_unet.config.in_channels == 1 and pipe.image_size == 32
    capsys.readouterr()
    assert cli(["evaluate", "--model", str(out), "--dataset", "edges2digits", "--num_samples", "40",
                "--output", str(tmp_path / "ev.json")]) == 0
    printed = capsys.readouterr().out
    assert "condition_accuracy" in printed and "ssim" in printed and "held out" in printed
    assert json.loads((tmp_path / "ev.json").read_text())["metrics"]["l1"] == pytest.approx(metrics["l1"])
    assert cli(["evaluate", "--model", str(out), "--dataset", "edges2digits", "--floors", "--output", str(tmp_path / "x.json")]) == 2
    folder = tmp_path / "inputs"
    folder.mkdir()
    for i in range(2):
        Image.fromarray(np.full((28, 28), 60 * i, dtype=np.uint8)).save(folder / f"e{i}.png")
    assert cli(["sample", "--model", str(out), "--input", str(folder / "e0.png"), "--output", str(tmp_path / "one.png")]) == 0
    assert Image.open(tmp_path / "one.png").size == (32, 32)
    assert cli(["sample", "--model", str(out), "--input", str(folder), "--output", str(tmp_path / "grid.png")]) == 0
    assert sorted(os.listdir(tmp_path / "grid")) == ["e0.png", "e1.png"] and (tmp_path / "grid.png").is_file()
    assert cli(["sample", "--model", str(out), "--output", str(tmp_path / "none.png")]) == 1
    assert "--input IMAGE_OR_FOLDER" in capsys.readouterr().err


@pytest.fixture
def pairs16(tmp_path):
    """A folder of 8 grey 16x16 pairs (A/ inputs, B/ targets, matched by name): the cheapest data to train on."""
    names = [f"p{i}.png" for i in range(8)]
    return str(_pairs_folder(tmp_path / "pairs16", names, names))


def test_ablations_train_what_they_say(tmp_path, pairs16):
    """Guards the paper's ablations: `--adversarial false` trains G on L1 alone (no D is built, trained or exported);
    `--lambda_l1 0` trains on the cGAN loss alone (G's loss equals its adversarial term; L1 is only logged)."""
    _train(tmp_path / "l1", "--adversarial", "false", dataset=pairs16)
    assert not (tmp_path / "l1" / "discriminator").exists()
    history = json.loads((tmp_path / "l1" / "logs" / "history.json").read_text())[-1]
    assert "discriminator/loss" not in history and history["generator/loss"] == pytest.approx(100 * history["generator/l1"], rel=1e-5)
    _train(tmp_path / "gan", "--lambda_l1", "0", dataset=pairs16)
    history = json.loads((tmp_path / "gan" / "logs" / "history.json").read_text())[-1]
    assert history["generator/loss"] == pytest.approx(history["generator/adversarial"], rel=1e-6)
    assert "discriminator/loss" in history and (tmp_path / "gan" / "discriminator").is_dir()


@pytest.mark.parametrize("flags, match", [
    (["--lambda_l1", "-1"], "--lambda_l1 -1.0 is negative"),
    (["--lambda_l1", "0", "--adversarial", "false"], "no loss to train"),
    (["--direction", "AB"], "--direction AtoB or --direction BtoA"),
    (["--loss", "nope"], "--loss"),
    (["--discriminator_layers", "5"], "--discriminator_layers 5 is too deep"),
])
def test_bad_settings_fail_before_training_naming_the_flag(tmp_path, pairs16, flags, match):
    """Guards the task's settings errors (the issue's `--lambda_l1 -1` among them): one line naming the flag."""
    with pytest.raises(SystemExit, match=match):
        _train(tmp_path / "bad", *flags, dataset=pairs16)


def _pairs_folder(root, names_a, names_b, size_b=(16, 16)):
    for side, names, size in (("A", names_a, (16, 16)), ("B", names_b, size_b)):
        (root / side).mkdir(parents=True)
        for i, name in enumerate(names):
            Image.fromarray(np.full(size[::-1], 10 * i + (0 if side == "A" else 100), dtype=np.uint8)).save(root / side / name)
    return root


def test_local_pairs_train_in_both_directions_and_bad_folders_are_refused(tmp_path):
    """Guards user data through the task: A/ and B/ matched by file name train (AtoB: A is G's input; BtoA: B is),
    a save_to_disk dataset with two image columns trains; unpaired folders (names that do not match: the first few
    listed), pairs of different sizes and CycleGAN's trainA/trainB layout are refused with the fix."""
    import datasets

    from hfgen.training import TrainingArguments
    from hfgen.training.pix2pix import Pix2PixArguments, Pix2PixTask

    folder = _pairs_folder(tmp_path / "pairs", ["a.png", "b.png", "c.png", "d.png"], ["a.png", "b.png", "c.png", "d.png"])
    for direction, input_level in (("AtoB", 0), ("BtoA", 100)):
        task = Pix2PixTask(Pix2PixArguments(direction=direction))
        data = task.load_dataset(TrainingArguments(dataset=str(folder), output_dir=str(tmp_path / "o")))
        assert round((float(data.tensors["conditioning_pixel_values"][0].mean()) + 1) * 127.5) == input_level
    _train(tmp_path / "folder-run", "--direction", "BtoA", dataset=str(folder))
    assert (tmp_path / "folder-run" / "model_index.json").is_file()
    levels = list(range(0, 240, 30))
    ds = datasets.Dataset.from_dict({"imageA": [Image.new("RGB", (16, 16), (v, v, v)) for v in levels],
                                     "imageB": [Image.new("RGB", (16, 16), (255 - v, 0, v)) for v in levels]})
    ds.save_to_disk(str(tmp_path / "saved"))
    _train(tmp_path / "saved-run", dataset=str(tmp_path / "saved"))
    assert json.loads((tmp_path / "saved-run" / "generator_unet" / "config.json").read_text())["in_channels"] == 3
    unpaired = _pairs_folder(tmp_path / "unpaired", [f"x{i}.png" for i in range(7)], [f"y{i}.png" for i in range(7)])
    with pytest.raises(SystemExit, match=r"have no partner.*'x0', 'x1'.*\(and 2 more\)"):
        _train(tmp_path / "u", dataset=str(unpaired))
    sizes = _pairs_folder(tmp_path / "sizes", ["a.png"], ["a.png"], size_b=(20, 16))
    with pytest.raises(SystemExit, match="differ in size"):
        _train(tmp_path / "s", dataset=str(sizes))
    (tmp_path / "cyc" / "trainA").mkdir(parents=True)
    with pytest.raises(SystemExit, match="unpaired domains"):
        _train(tmp_path / "c", dataset=str(tmp_path / "cyc"))


def test_resume_is_exact(tmp_path, pairs16):
    """Guards exact resume of pix2pix (G, D, Adam, the constant-then-linear schedule, dropout's RNG, data order): a
    4-step run, then the same run resumed from its step-2 checkpoint (as after a crash), end with bitwise-equal weights."""
    import shutil

    from safetensors.torch import load_file

    run = tmp_path / "run"
    common = ["--max_train_steps", "4", "--checkpointing_steps", "2"]
    _train(run, *common, dataset=pairs16)
    straight = {sub: load_file(run / sub / "model.safetensors") for sub in ("generator_unet", "discriminator")}
    shutil.rmtree(run / "checkpoints" / "checkpoint-4")
    summary = _train(run, *common, "--resume_from_checkpoint", "latest", dataset=pairs16)
    assert summary["resumed_from_step"] == 2
    for sub, a in straight.items():
        b = load_file(run / sub / "model.safetensors")
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), sub
    assert not torch.equal(straight["generator_unet"]["up.0.1.weight"], _initial_weight(pairs16, tmp_path))


def _initial_weight(pairs16, tmp_path):
    """G's outermost decoder weight as initialised with --seed 0 (training must have moved it)."""
    from hfgen.data import load_paired_dataset
    from hfgen.training.pix2pix import Pix2PixArguments, Pix2PixTask

    torch.manual_seed(0)
    task = Pix2PixTask(Pix2PixArguments(generator_channels=4, discriminator_channels=4, discriminator_layers=1))
    task.setup(load_paired_dataset(pairs16))
    return task.models["generator"].up[0][1].weight.detach()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_two_real_processes_accelerate_launch(tmp_path, pairs16):
    """Guards `accelerate launch scripts/train_pix2pix.py` in two real processes (DDP over G and D, BatchNorm, dropout):
    both ranks end with the same weights, the checkpoint keeps both ranks' RNG streams, the export loads."""
    out = tmp_path / "ddp"
    env = dict(os.environ, ACCELERATE_USE_CPU="true", OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(_free_port()),
           str(ROOT / "scripts" / "train_pix2pix.py"), "--dataset", pairs16, "--output_dir", str(out),
           "--max_train_steps", "2", "--train_batch_size", "4", "--generator_channels", "4", "--discriminator_channels", "4",
           "--discriminator_layers", "1", "--checkpointing_steps", "2", "--sample_steps", "0", "--final_eval_samples", "0", "--max_train_samples", "32", "--disable_tqdm"]
    from conftest import launch_two_processes

    stdout, stderr, summary = launch_two_processes(cmd, env, out, timeout=300)
    from hfgen.training.state import load_state_tree

    state = load_state_tree(out / "checkpoints" / "checkpoint-2")
    assert state["world_size"] == 2 and len(state["rng"]) == 2
    from hfgen import Pix2PixPipeline

    assert Pix2PixPipeline.from_pretrained(out)(torch.rand(1, 1, 16, 16), output_type="np").images.shape == (1, 16, 16, 1)


def test_the_loops_output_check_runs_on_translations(tmp_path, pairs16, caplog):
    """Guards `Pix2PixTask.output_samples`: the loop's NaN/saturation check of the trained outputs translates the grid's
    inputs instead of being skipped (it was: the default calls `pipeline(batch_size=256)`, which a translation refuses)."""
    import logging

    from hfgen.training.pix2pix import Pix2PixTask

    calls = []
    original = Pix2PixTask.output_samples

    def recording(self, pipeline, generator):
        images = original(self, pipeline, generator)
        calls.append(images.shape)
        return images

    Pix2PixTask.output_samples = recording
    try:
        with caplog.at_level(logging.WARNING):
            _train(tmp_path / "run", dataset=pairs16)
    finally:
        Pix2PixTask.output_samples = original
    assert calls and calls[0][1:] == (16, 16, 1)
    assert "check of generated outputs was skipped" not in caplog.text


def test_bench_pix2pix_runs_per_variant_and_merges(tmp_path):
    """Guards scripts/bench_pix2pix.py (no timing asserted): one tiny variant per process writes its runs and summary (one
    with the alternating speed comparison), `--merge` joins them into one table with both variants, the speed and the
    seeds, and a merge of runs made with different settings is refused."""
    import subprocess

    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    def bench(*flags):
        return subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_pix2pix.py"), *flags], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)

    a, b, other, merged = (str(tmp_path / f"{n}.json") for n in ("a", "b", "other", "merged"))
    assert bench("--tiny", "--variants", "L1 only", "--output", a).returncode == 0
    assert bench("--tiny", "--variants", "cGAN only", "--skip_speed", "--output", b).returncode == 0
    done = bench("--merge", a, b, "--output", merged)
    assert done.returncode == 0, done.stderr
    report = json.loads(Path(merged).read_text())
    assert list(report["summary"]) == ["L1 only", "cGAN only"] and [r["variant"] for r in report["runs"]] == ["L1 only", "cGAN only"]
    speed = report["speed"]
    assert speed["repeats"] == 1 and speed["ratio"] == pytest.approx(speed["plain_pytorch_cpu_ms_per_step"] / speed["hfgen_cpu_ms_per_step"])
    assert "| L1 only |" in report["table"] and "| cGAN only |" in report["table"] and "tiny" in report["label"]
    # A run of another protocol (here another budget) must not be averaged into the same table.
    mismatched = json.loads(Path(b).read_text())
    mismatched["protocol"]["budget_cpu_minutes_per_run"] = 10.0
    Path(other).write_text(json.dumps(mismatched))
    refused = bench("--merge", a, other, "--output", str(tmp_path / "bad.json"))
    assert refused.returncode != 0 and "different settings" in refused.stderr
