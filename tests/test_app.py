"""`hfgen app` (src/hfgen/app): the page's predict function against the pipelines, bad input, broken folders,
the optional extra, and `hfgen space` / `hfgen push --space` against the local Hub server.

The browser tests (a real Chromium) are in tests/test_app_browser.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import app_models

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("app_models")
    return {family: app_models.build(family, root) for family in app_models.FAMILIES}


def _png(path, size=(20, 20), mode="RGB", seed=0):
    array = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(array).convert(mode).save(path)
    return str(path)


def _pixels(images):
    return np.stack([np.asarray(image) for image in images])


@pytest.mark.parametrize("family", app_models.FAMILIES)
def test_predict_shows_the_pipelines_images_for_the_seed(family, folders, tmp_path):
    """Guards determinism per family: the app's predict (what the Generate button runs) returns exactly the images
    of the pipeline called in Python with that seed and those settings (class, prompt, negative prompt, guidance,
    steps, sampler, upload, direction, dropout), and a different seed gives different images where noise is drawn."""
    from hfgen.app import load_model

    model = load_model(str(folders[family]))
    assert model.load_error is None and model.device == "cpu"
    inputs, call, seeded = app_models.reference(family, folders[family], _png(tmp_path / "input.png"))
    shown = model.predict(**inputs)
    expected = call(inputs.get("seed", 0))
    assert len(shown) == len(expected)
    np.testing.assert_array_equal(_pixels([image for image, _ in shown]), _pixels(expected))
    if seeded:
        other = model.predict(**{**inputs, "seed": inputs["seed"] + 1})
        assert not np.array_equal(_pixels([image for image, _ in other]), _pixels(expected))


def test_controls_are_read_from_the_folder(folders):
    """Guards the per-family controls: class picker with the config's class names (ids when unnamed) only for
    class-conditional models, prompts for text models, upload (+ direction) for image-to-image, steps/sampler for
    diffusion, guidance default from the pipeline's __call__ signature."""
    from hfgen.app import load_model
    from hfgen.app.demo import CONTROLS

    models = {family: load_model(str(folder)) for family, folder in folders.items()}
    assert models["gan"].class_choices == {"cat": 0, "dog": 1, "face": 2}
    assert models["ddpm-class"].class_choices == {"0": 0, "1": 1, "2": 2}
    assert models["points"].family_key == "GANPipeline/points" and models["ddpm"].family_key == "DDPMPipeline"
    assert "class_label" not in models["text-gan"].family.controls and models["ddpm"].class_choices == {}
    assert {"prompt", "negative_prompt", "guidance_scale", "num_inference_steps", "scheduler"} <= set(models["text-ddpm"].family.controls)
    assert models["cyclegan"].family.controls == ("image", "direction")
    assert CONTROLS["guidance_scale"].default(models["text-ddpm"]) == 3.0  # TextToImageDDPMPipeline.__call__'s default
    assert models["gan"].evaluation.startswith("### Evaluation") and "| FID | 12.3457 | lower |" in models["gan"].evaluation
    assert "text after the table" not in models["gan"].evaluation and models["points"].evaluation == ""


def test_the_apps_samplers_are_the_ones_hfgen_sample_builds(folders):
    """Guards the copy in the self-contained demo module: each sampler's config equals hfgen.training.ddpm's."""
    from hfgen.app.demo import SAMPLERS, make_sampler
    from hfgen.pipelines import load_pipeline
    from hfgen.training.ddpm import make_scheduler

    for family, stock in (("ddpm", True), ("text-ddpm", False)):
        scheduler = load_pipeline(folders[family]).scheduler
        for name in SAMPLERS:
            ours, theirs = make_sampler(name, scheduler, stock), make_scheduler(name, scheduler.config, passes_clipped_output=not stock)
            assert type(ours) is type(theirs) and dict(ours.config) == dict(theirs.config)


@pytest.mark.parametrize(
    "family, inputs, match",
    [
        ("text-gan", {"prompt": "   "}, "Prompt is empty: type what to draw"),
        ("text-ddpm", {"prompt": ""}, "Prompt is empty"),
        ("gan", {"num_images": 17}, r"Number of images must lie in \[1, 16\]"),
        ("gan", {"num_images": 2.5}, "whole number"),
        ("gan", {"seed": -1}, r"Seed must lie in \[0, 4294967295\]"),
        ("gan", {"class_label": "horse"}, "Unknown class 'horse': pick one of cat, dog, face"),
        ("points", {"num_points": 5001}, r"at most 5000"),
        ("ddpm", {"num_inference_steps": 101}, r"Sampler steps must lie in \[1, 100\]"),
        ("ddpm", {"scheduler": "euler"}, "Unknown sampler 'euler'"),
        ("text-ddpm", {"prompt": "a red circle", "guidance_scale": 99}, r"Guidance scale must lie in \[0, 30\]"),
        ("cyclegan", {"image": None}, "No image uploaded"),
        ("cyclegan", {"image": "gone.png"}, "The uploaded file 'gone.png' is not on the server"),
        ("cyclegan", {"image": Image.new("RGB", (16, 16)), "direction": "sideways"}, "Direction must be 'a_to_b'"),
    ],
)
def test_bad_input_is_refused_with_a_message_that_names_the_fix(family, inputs, match, folders):
    """Guards the issue's bad input (empty prompt, too many images) and the other controls' ranges."""
    from hfgen.app import DemoError, load_model

    with pytest.raises(DemoError, match=match):
        load_model(str(folders[family])).predict(**inputs)


def test_uploads_that_are_not_images_or_too_big_are_refused(folders, tmp_path):
    """Guards uploads: a text file (even named .png), a file above 10 MB and an image above 4096x4096 pixels are
    refused naming the limit; a 20x20 RGBA image is accepted (resized and converted by the pipeline)."""
    from hfgen.app import DemoError, load_model

    model = load_model(str(folders["pix2pix"]))
    fake = tmp_path / "notes.png"
    fake.write_text("this is not an image")
    with pytest.raises(DemoError, match="notes.png is not an image PIL can read: upload a PNG, JPEG"):
        model.predict(image=str(fake))
    big = tmp_path / "big.png"
    big.write_bytes(b"\x89PNG" + os.urandom(11 * 1024 * 1024))
    with pytest.raises(DemoError, match=r"The upload is 11\.0 MB: the limit is 10 MB"):
        model.predict(image=str(big))
    huge = tmp_path / "huge.png"
    Image.new("L", (4100, 4100)).save(huge)
    with pytest.raises(DemoError, match=r"4100x4100 pixels: the limit is 16777216 pixels \(4096x4096\)"):
        model.predict(image=str(huge))
    assert len(model.predict(image=_png(tmp_path / "rgba.png", mode="RGBA"))) == 1


def test_the_pipelines_warnings_reach_the_page(folders, tmp_path):
    """Guards the notes shown beside the images: an upload of another size is resized (said), prompt words outside
    the vocabulary are reported; a clean call has no notes."""
    from hfgen.app import load_model

    _, notes = load_model(str(folders["pix2pix"])).predict_with_notes(image=_png(tmp_path / "in.png", size=(20, 20)))
    assert any("Resized the image from 20x20 to 16x16" in note for note in notes)
    text = load_model(str(folders["text-gan"]))
    _, notes = text.predict_with_notes(prompt="zebra giraffe", num_images=1)
    assert any("outside the tokenizer's vocabulary" in note for note in notes)
    assert text.predict_with_notes(prompt="a red circle at the top left", num_images=1)[1] == []


def test_missing_or_corrupt_model_folders_start_a_page_that_says_what_is_wrong(folders, tmp_path):
    """Guards broken models: a missing folder, a corrupt model_index.json and truncated weights do not raise;
    the page builds (gradio), says what is wrong and how to fix it, and Generate repeats the message."""
    pytest.importorskip("gradio")
    from hfgen.app import DemoError, build_demo, load_model

    corrupt = tmp_path / "corrupt"
    shutil.copytree(folders["gan"], corrupt)
    (corrupt / "model_index.json").write_text("{not json")
    truncated = tmp_path / "truncated"
    shutil.copytree(folders["pix2pix"], truncated)
    weights = next(truncated.glob("generator_unet/*.safetensors"))
    weights.write_bytes(weights.read_bytes()[:100])
    for path, what in ((tmp_path / "nowhere", "nowhere"), (corrupt, "model_index.json"), (truncated, "")):
        model = load_model(str(path))
        assert model.pipe is None and f"Could not load the model `{path}`" in model.load_error
        assert what in model.load_error and "Fix: pass a folder exported by `hfgen train`" in model.load_error
        demo = build_demo(model)
        assert json.dumps(model.load_error)[1:-1] in json.dumps(demo.config)  # the error is on the page
        with pytest.raises(DemoError, match="Could not load the model"):
            model.predict()


def test_import_hfgen_does_not_import_gradio():
    """Guards the optional extra: importing hfgen, hfgen.app and the CLI imports no gradio."""
    code = "import sys, hfgen, hfgen.app, hfgen.cli, hfgen.app.space; assert 'gradio' not in sys.modules, 'gradio imported'"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_hfgen_app_without_gradio_says_how_to_install_it(folders, monkeypatch, capsys):
    """Guards the message of `hfgen app` when the extra is missing (exit 1, the pip command)."""
    from hfgen.cli import main

    monkeypatch.setitem(sys.modules, "gradio", None)
    assert main(["app", str(folders["gan"])]) == 1
    assert "pip install 'hfgen[app]'" in capsys.readouterr().err


def test_default_device_is_the_gpu_when_there_is_one(monkeypatch):
    """Guards the device choice: CPU by default, CUDA when torch sees a GPU."""
    from hfgen.app.demo import default_device

    assert default_device() == ("cuda" if torch.cuda.is_available() else "cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert default_device() == "cuda"


@pytest.fixture
def hub(monkeypatch, tmp_path):
    from hfgen.hub.testing import LocalHubServer, patch_huggingface_hub

    with LocalHubServer() as server:
        patch_huggingface_hub(monkeypatch, server, tmp_path / "hf_home")
        yield server


def test_push_with_space_creates_a_gradio_space_that_serves_the_repo_without_hfgen(folders, hub, tmp_path, run_without_hfgen):
    """Guards `hfgen push DIR REPO --space SPACE` and `hfgen space`: a Space repo with sdk: gradio front matter,
    app.py loading the MODEL repo by id (trust_remote_code written only for custom pipeline code),
    requirements pinned to the installed versions; its app, run where hfgen cannot be imported, loads the
    repo from the Hub by id and shows the pipeline's images for the seed."""
    import yaml
    from importlib.metadata import version

    from hfgen.app import load_model
    from hfgen.cli import main

    folder = tmp_path / "text-gan"
    shutil.copytree(folders["text-gan"], folder)
    # --no_card keeps this hand-written card: its license and evaluation table are what the Space must carry.
    (folder / "README.md").write_text(app_models.EVAL_CARD.replace("library_name: diffusers", "library_name: diffusers\nlicense: mit"))
    assert main(["push", str(folder), "test-user/tiny-text-gan", "--no_card", "--space", "test-user/tiny-text-gan-demo"]) == 0
    files = hub.files("test-user/tiny-text-gan-demo", repo_type="space")
    assert {"README.md", "app.py", "hfgen_demo.py", "requirements.txt"} <= set(files)
    meta = yaml.safe_load(files["README.md"].decode().split("---")[1])
    assert meta["sdk"] == "gradio" and meta["app_file"] == "app.py" and meta["models"] == ["test-user/tiny-text-gan"]
    assert meta["sdk_version"] == version("gradio")
    requirements = files["requirements.txt"].decode().split()
    assert f"torch=={version('torch').split('+')[0]}" in requirements and f"gradio=={version('gradio')}" in requirements
    assert f"transformers=={version('transformers')}" in requirements and f"diffusers=={version('diffusers')}" in requirements
    app_py = files["app.py"].decode()
    assert 'MODEL_REPO = "test-user/tiny-text-gan"' in app_py and "TRUST_REMOTE_CODE = True" in app_py
    assert files["hfgen_demo.py"] == (Path(__file__).parents[1] / "src/hfgen/app/demo.py").read_bytes()

    space = tmp_path / "space"
    space.mkdir()
    for name, data in files.items():
        (space / name).write_bytes(data)
    npy = tmp_path / "space.npy"
    run_without_hfgen(f"""
        import sys, numpy as np
        sys.path.insert(0, {str(space)!r})
        import app
        assert app.model.load_error is None, app.model.load_error
        assert type(app.demo).__name__ == "Blocks"
        shown = app.model.predict(prompt="a green triangle in the center", num_images=3, seed=11)
        np.save({str(npy)!r}, np.stack([np.asarray(image) for image, _ in shown]))
    """)
    local = load_model(str(folder)).predict(prompt="a green triangle in the center", num_images=3, seed=11)
    np.testing.assert_array_equal(np.load(npy), _pixels([image for image, _ in local]))
    by_id = load_model("test-user/tiny-text-gan")  # `hfgen app REPO_ID`: the same page from the Hub, card included
    assert by_id.load_error is None and "| FID | 12.3457 | lower |" in by_id.evaluation
    shown = by_id.predict(prompt="a green triangle in the center", num_images=3, seed=11)
    np.testing.assert_array_equal(_pixels([image for image, _ in shown]), _pixels([image for image, _ in local]))
    assert "license: mit" in files["README.md"].decode()  # the model card's license carries over

    # a stock diffusers folder: `hfgen space` alone, no trust_remote_code, no transformers needed
    stock = tmp_path / "ddpm"
    shutil.copytree(folders["ddpm"], stock)
    assert main(["push", str(stock), "test-user/tiny-ddpm"]) == 0
    assert main(["space", str(stock), "test-user/tiny-ddpm-demo", "--model_repo", "test-user/tiny-ddpm"]) == 0
    files = hub.files("test-user/tiny-ddpm-demo", repo_type="space")
    assert "TRUST_REMOTE_CODE = False" in files["app.py"].decode()
    assert not any(line.startswith("transformers") for line in files["requirements.txt"].decode().split())


def test_space_errors_name_the_fix(tmp_path, capsys, monkeypatch):
    """Guards `hfgen space` on a folder that is not an export, and offline mode (nothing is created)."""
    from hfgen.cli import main

    assert main(["space", str(tmp_path), "u/demo", "--model_repo", "u/model"]) == 1
    assert "has no model_index.json: pass a folder exported by `hfgen train`" in capsys.readouterr().err
