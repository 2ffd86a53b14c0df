"""GANPipeline tests (diffusers' style: tiny dummy components, seeded outputs, save/load).

The "without hfgen" tests run a fresh Python process in which `import hfgen` fails, and compare
its images with this process's images for the same seed.
"""

import json
import os
import pickle
import shutil

import numpy as np
import pytest
import torch

from hfgen import DCGANConfig, DCGANDiscriminator, DCGANGenerator, GANPipeline, MLPGANConfig, MLPGenerator
from hfgen.hub import export_folder


def get_dummy_components(**config_overrides):
    """A tiny DCGAN generator, in eval mode (BatchNorm uses its running statistics)."""
    torch.manual_seed(0)
    kwargs = dict(image_size=16, num_channels=3, latent_dim=8, generator_channels=8, discriminator_channels=8)
    kwargs.update(config_overrides)
    return {"gan_generator": DCGANGenerator(DCGANConfig(**kwargs)).eval()}


def get_dummy_inputs(seed=0):
    return {"batch_size": 2, "generator": torch.Generator("cpu").manual_seed(seed), "output_type": "np"}


def test_gan_pipeline_output_types_and_determinism():
    pipe = GANPipeline(**get_dummy_components())
    images = pipe(**get_dummy_inputs()).images
    assert images.shape == (2, 16, 16, 3) and images.dtype == np.float32
    assert 0 <= images.min() and images.max() <= 1
    np.testing.assert_array_equal(images, pipe(**get_dummy_inputs()).images)
    assert not np.array_equal(images, pipe(**get_dummy_inputs(seed=1)).images)
    pt = pipe(batch_size=2, generator=torch.manual_seed(0), output_type="pt").images
    assert pt.shape == (2, 3, 16, 16)
    np.testing.assert_allclose(pt.permute(0, 2, 3, 1).numpy(), images, atol=1e-6)
    pil = pipe(batch_size=2, generator=torch.manual_seed(0)).images
    assert len(pil) == 2 and pil[0].size == (16, 16)
    as_tuple = pipe(**get_dummy_inputs(), return_dict=False)
    assert isinstance(as_tuple, tuple)
    np.testing.assert_array_equal(as_tuple[0], images)
    with pytest.raises(ValueError, match="output_type"):
        pipe(output_type="latent")


def test_gan_pipeline_expected_slice():
    pipe = GANPipeline(**get_dummy_components())
    image_slice = pipe(**get_dummy_inputs()).images[0, -3:, -3:, -1].flatten()
    # The generator applied to the same latents directly: the pipeline adds nothing but scaling.
    z = torch.randn(2, 8, generator=torch.Generator("cpu").manual_seed(0))
    with torch.no_grad():
        direct = (pipe.gan_generator(z) / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(image_slice, direct[0, -3:, -3:, -1].flatten(), atol=1e-6)


def test_latents_and_class_labels():
    pipe = GANPipeline(**get_dummy_components(num_classes=4))
    latents = torch.randn(3, 8)
    a = pipe(latents=latents, class_labels=[0, 1, 2], output_type="np").images
    b = pipe(latents=latents, class_labels=torch.tensor([0, 1, 2]), output_type="np").images
    np.testing.assert_array_equal(a, b)
    c = pipe(latents=latents, class_labels=3, output_type="np").images
    assert not np.allclose(a, c)
    seeded = [pipe(batch_size=3, generator=torch.manual_seed(5), output_type="np").images for _ in range(2)]
    np.testing.assert_array_equal(*seeded)  # labels drawn from the same generator
    with pytest.raises(ValueError, match="class_labels"):
        pipe(latents=latents, class_labels=[0, 1])
    with pytest.raises(ValueError, match=r"\[0, 3\]"):
        pipe(latents=latents, class_labels=[0, 1, 7])
    with pytest.raises(ValueError, match="latents"):
        pipe(latents=torch.randn(3, 5))


def test_vector_generator_outputs_points():
    torch.manual_seed(0)
    pipe = GANPipeline(gan_generator=MLPGenerator(MLPGANConfig(latent_dim=4, generator_hidden_dim=16)).eval())
    points = pipe(batch_size=5, generator=torch.manual_seed(0), output_type="np").images
    assert points.shape == (5, 2)
    assert pipe(batch_size=5, output_type="pt").images.shape == (5, 2)
    with pytest.raises(ValueError, match="vectors"):
        pipe(batch_size=2)


def test_docstring_example_runs():
    import doctest

    import hfgen.pipelines.pipeline_gan as module

    parser = doctest.DocTestParser()
    test = parser.get_doctest(module.EXAMPLE_DOC_STRING, {}, "example", None, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.failures == 0 and runner.tries >= 4


@pytest.fixture
def saved_pipeline(tmp_path):
    components = get_dummy_components()
    pipe = GANPipeline(**components)
    discriminator = DCGANDiscriminator(components["gan_generator"].config)
    folder = tmp_path / "saved"
    export_folder(pipe, folder, training_components={"discriminator": discriminator})
    return pipe, discriminator, folder


def test_saved_folder_layout(saved_pipeline):
    """The layout that loads from a Hub repo id without hfgen (see test_hub's push tests): one
    self-contained modeling file per custom component, in its subfolder AND at the root."""
    _, _, folder = saved_pipeline
    index = json.loads((folder / "model_index.json").read_text())
    assert index["_class_name"] == ["pipeline_gan", "GANPipeline"]
    assert index["gan_generator"] == ["modeling_dcgan", "DCGANGenerator"]
    assert "discriminator" not in index  # training-only component
    root = {p.name for p in folder.iterdir() if p.is_file()}
    assert root == {"model_index.json", "pipeline_gan.py", "hfgen_pipeline_utils.py", "modeling_dcgan.py"}
    source = (folder / "modeling_dcgan.py").read_bytes()
    for sub in ("gan_generator", "discriminator"):
        files = set(os.listdir(folder / sub))
        assert files == {"config.json", "model.safetensors", "modeling_dcgan.py"}
        assert (folder / sub / "modeling_dcgan.py").read_bytes() == source
    # Both auto classes in the ONE file transformers fetches from the repo root; G and D name distinct
    # config classes, since AutoModel maps one config class to one model class per process.
    auto_maps = {sub: json.loads((folder / sub / "config.json").read_text())["auto_map"] for sub in ("gan_generator", "discriminator")}
    assert auto_maps == {
        "gan_generator": {"AutoConfig": "modeling_dcgan.DCGANConfig", "AutoModel": "modeling_dcgan.DCGANGenerator"},
        "discriminator": {"AutoConfig": "modeling_dcgan.DCGANDiscriminatorConfig", "AutoModel": "modeling_dcgan.DCGANDiscriminator"},
    }


def test_custom_component_that_is_not_self_contained_warns(tmp_path, caplog):
    """A modeling file whose config class lives elsewhere saves, with a warning that it will not
    load from a Hub repo id (diffusers fetches only that one file)."""
    config = DCGANConfig(image_size=8, latent_dim=4, generator_channels=4)
    with caplog.at_level("WARNING"):
        GANPipeline(gan_generator=_SplitGenerator(config).eval()).save_pretrained(tmp_path / "split")
    assert "_SplitGenerator" in caplog.text and "DCGANConfig is defined in another file" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING"):
        GANPipeline(**get_dummy_components()).save_pretrained(tmp_path / "own")
    assert "defined in another file" not in caplog.text


class _SplitGenerator(DCGANGenerator):
    """A generator defined here while its config class is defined in modeling_dcgan.py."""


def test_from_pretrained_with_hfgen(saved_pipeline):
    pipe, discriminator, folder = saved_pipeline
    loaded = GANPipeline.from_pretrained(folder)
    assert type(loaded.gan_generator) is DCGANGenerator  # hfgen's installed class, not the folder's copy
    np.testing.assert_array_equal(loaded(**get_dummy_inputs()).images, pipe(**get_dummy_inputs()).images)
    d = DCGANDiscriminator.from_pretrained(folder / "discriminator")
    x = torch.randn(2, 3, 16, 16)
    torch.testing.assert_close(d.eval()(x), discriminator.eval()(x))


def test_loads_without_hfgen_installed(saved_pipeline, run_without_hfgen, tmp_path):
    pipe, _, folder = saved_pipeline
    expected = pipe(**get_dummy_inputs()).images
    out = tmp_path / "images.npz"
    stdout = run_without_hfgen(
        f"""
        import numpy as np, torch
        from diffusers import DiffusionPipeline
        from transformers import AutoModel
        folder = {str(folder)!r}
        # Without the flag, both libraries refuse with their own error: nothing is turned on silently.
        for load in (lambda: DiffusionPipeline.from_pretrained(folder),
                     lambda: AutoModel.from_pretrained(folder + "/gan_generator")):
            try:
                load()
            except ValueError as error:
                assert "trust_remote_code" in str(error), error
            else:
                raise SystemExit("loaded custom code without trust_remote_code=True")
        pipe = DiffusionPipeline.from_pretrained(folder, trust_remote_code=True)
        a = pipe(batch_size=2, generator=torch.Generator("cpu").manual_seed(0), output_type="np").images
        g = AutoModel.from_pretrained(folder + "/gan_generator", trust_remote_code=True).eval()
        z = torch.randn(2, 8, generator=torch.Generator("cpu").manual_seed(0))
        with torch.no_grad():
            b = (g(z) / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 1).numpy()
        np.savez({str(out)!r}, pipeline=a, model=b)
        print("MODULES", type(pipe).__module__, type(g.config).__module__, type(g).__module__)
        """
    )
    modules = stdout.rsplit("MODULES", 1)[1].split()
    # dynamic modules built from the folder's own files
    assert modules[0].startswith("diffusers_modules") and all(m.startswith("transformers_modules") for m in modules[1:])
    result = np.load(out)
    np.testing.assert_allclose(result["pipeline"], expected, atol=1e-6)
    np.testing.assert_allclose(result["model"], expected, atol=1e-6)


def test_mlp_pipeline_loads_without_hfgen(tmp_path, run_without_hfgen):
    torch.manual_seed(0)
    pipe = GANPipeline(gan_generator=MLPGenerator(MLPGANConfig(latent_dim=4, generator_hidden_dim=16)).eval())
    pipe.save_pretrained(tmp_path / "mlp")
    expected = pipe(batch_size=4, generator=torch.manual_seed(1), output_type="np").images
    out = tmp_path / "points.npy"
    run_without_hfgen(
        f"""
        import numpy as np, torch
        from diffusers import DiffusionPipeline
        pipe = DiffusionPipeline.from_pretrained({str(tmp_path / 'mlp')!r}, trust_remote_code=True)
        np.save({str(out)!r}, pipe(batch_size=4, generator=torch.manual_seed(1), output_type="np").images)
        """
    )
    np.testing.assert_allclose(np.load(out), expected, atol=1e-6)


# -- bad input ---------------------------------------------------------------------------------


def test_truncated_safetensors_gives_clear_error(saved_pipeline):
    _, _, folder = saved_pipeline
    weights = folder / "gan_generator" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:200])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        GANPipeline.from_pretrained(folder)


class _Tripwire:
    """Unpickling this object creates a marker file: proof that a pickle was executed."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickle_only_folder_is_refused_not_unpickled(saved_pipeline, tmp_path):
    _, _, folder = saved_pipeline
    sub = folder / "gan_generator"
    (sub / "model.safetensors").unlink()
    marker = tmp_path / "unpickled.marker"
    with open(sub / "pytorch_model.bin", "wb") as f:
        pickle.dump({"weights": _Tripwire(str(marker))}, f)
    with pytest.raises(ValueError, match="safetensors"):
        GANPipeline.from_pretrained(folder)
    assert not marker.exists()


def test_config_with_unknown_field_value(saved_pipeline):
    _, _, folder = saved_pipeline
    config_path = folder / "gan_generator" / "config.json"
    config = json.loads(config_path.read_text())
    config["generator_norm"] = "magic"
    config_path.write_text(json.dumps(config))
    with pytest.raises(ValueError, match="generator_norm='magic'"):
        GANPipeline.from_pretrained(folder)


def test_missing_folder_pieces(saved_pipeline, tmp_path):
    _, _, folder = saved_pipeline
    with pytest.raises(ValueError, match="model_index.json"):
        GANPipeline.from_pretrained(folder / "gan_generator")
    shutil.rmtree(folder / "gan_generator")
    with pytest.raises(ValueError, match="does not exist"):
        GANPipeline.from_pretrained(folder)


def test_without_hfgen_classes_trust_remote_code_is_required(saved_pipeline, monkeypatch):
    """If no installed package provides the model type, GANPipeline asks for the flag too."""
    from transformers.models.auto import configuration_auto

    _, _, folder = saved_pipeline
    monkeypatch.delitem(configuration_auto.CONFIG_MAPPING._extra_content, "hfgen_dcgan")
    with pytest.raises(ValueError, match="trust_remote_code=True"):
        GANPipeline.from_pretrained(folder)
    pipe = GANPipeline.from_pretrained(folder, trust_remote_code=True)
    assert type(pipe.gan_generator).__module__.startswith("transformers_modules")


def test_pickle_serialization_is_refused(tmp_path):
    with pytest.raises(ValueError, match="safetensors"):
        GANPipeline(**get_dummy_components()).save_pretrained(tmp_path, safe_serialization=False)


# -- inputs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(batch_size=2.5), r"batch_size must be a positive integer, got 2\.5"),
        (dict(batch_size=True), "batch_size must be a positive integer"),
        (dict(batch_size=0), "batch_size must be >= 1"),
        (dict(batch_size=1, class_labels=2.7), r"integer class ids or class names, got 2\.7"),
        (dict(batch_size=1, class_labels=torch.tensor([1.5])), r"integer class ids, got torch\.float32"),
        (dict(batch_size=2, class_labels=[1, 2.5]), r"got 2\.5 \(float\)"),
        (dict(batch_size=3, latents=torch.randn(2, 8)), "batch_size=3 contradicts latents with 2 rows"),
        (dict(latents=torch.tensor([[float("nan")] * 8])), "NaN or infinite"),
        (dict(latents=torch.full((1, 8), float("inf"))), "NaN or infinite"),
        (dict(latents=[[0.0] * 8]), r"latents must be a torch\.Tensor \(or numpy array\)"),
        (dict(latents=np.array([["a"] * 8])), "latents must hold numbers"),
    ],
    ids=["float-batch", "bool-batch", "zero-batch", "float-label", "float-tensor-label", "float-in-list",
         "batch-vs-latents", "nan-latents", "inf-latents", "list-latents", "string-latents"],
)
def test_bad_inputs_raise_value_errors_that_say_what_is_expected(kwargs, match):
    """Each of these crashed deep in torch or was silently rounded / ignored before (issue 9, item 6)."""
    pipe = GANPipeline(**get_dummy_components(num_classes=4))
    with pytest.raises(ValueError, match=match):
        pipe(output_type="np", **kwargs)


def test_numpy_latents_are_converted():
    """numpy latents (any float dtype) give the same images as the equivalent torch tensor."""
    pipe = GANPipeline(**get_dummy_components())
    z = np.random.default_rng(0).standard_normal((3, 8))  # float64
    expected = pipe(latents=torch.from_numpy(z).float(), output_type="np").images
    np.testing.assert_array_equal(pipe(latents=z, output_type="np").images, expected)
    np.testing.assert_array_equal(pipe(latents=z, batch_size=3, output_type="np").images, expected)  # agreeing


def test_class_labels_by_name(tmp_path):
    """`class_labels` accepts the config's class names (id2label, e.g. from the data's subfolders)."""
    components = get_dummy_components(num_classes=3, id2label={0: "cat", 1: "dog", 2: "face"})
    GANPipeline(**components).save_pretrained(tmp_path / "named")
    pipe = GANPipeline.from_pretrained(tmp_path / "named")  # the names survive the round trip
    latents = torch.randn(3, 8, generator=torch.manual_seed(0))
    by_id = pipe(latents=latents, class_labels=[0, 1, 2], output_type="np").images
    np.testing.assert_array_equal(pipe(latents=latents, class_labels=["cat", "dog", "face"], output_type="np").images, by_id)
    np.testing.assert_array_equal(pipe(latents=latents, class_labels=["cat", 1, "face"], output_type="np").images, by_id)
    np.testing.assert_array_equal(pipe(latents=latents, class_labels=np.array(["cat", "dog", "face"]), output_type="np").images, by_id)
    all_faces = pipe(latents=latents, class_labels="face", output_type="np").images
    np.testing.assert_array_equal(all_faces, pipe(latents=latents, class_labels=2, output_type="np").images)
    with pytest.raises(ValueError, match=r"Unknown class name 'horse'; this generator knows: 'cat', 'dog', 'face'"):
        pipe(batch_size=1, class_labels="horse")
    unnamed = GANPipeline(**get_dummy_components(num_classes=3))  # transformers' LABEL_i placeholders only
    with pytest.raises(ValueError, match="has no class names"):
        unnamed(batch_size=1, class_labels="LABEL_1")


# -- model_index.json, CLI, progress bars ------------------------------------------------------


@pytest.mark.parametrize(
    "content, match",
    [
        ('{"gan_generator": ["modeling_dcgan", "DCGANGen', "is not valid JSON"),
        ("\x89PNG\x00\xff", "is not valid JSON"),
        ('["modeling_dcgan", "DCGANGenerator"]', "holds a JSON list; expected a JSON object"),
        ('{"gan_generator": "modeling_dcgan"}', r"entry 'gan_generator' is \"modeling_dcgan\"; expected \[library"),
        ('{"gan_generator": ["modeling_dcgan"]}', r"entry 'gan_generator' is \[\"modeling_dcgan\"\]"),
        ('{"_class_name": ["pipeline_gan", "GANPipeline"]}', "has no entry for component 'gan_generator'"),
    ],
    ids=["truncated", "binary", "list", "string-entry", "short-entry", "missing-entry"],
)
def test_broken_model_index_names_the_file(saved_pipeline, content, match):
    """A damaged model_index.json gives a ValueError naming the file and the expected shape, not a
    JSONDecodeError / AttributeError traceback (issue 9, item 6)."""
    _, _, folder = saved_pipeline
    (folder / "model_index.json").write_bytes(content.encode("latin-1"))
    with pytest.raises(ValueError, match=match) as info:
        GANPipeline.from_pretrained(folder)
    assert str(folder / "model_index.json") in str(info.value)


def test_cli_sample_prints_errors_not_tracebacks(saved_pipeline, tmp_path, capsys):
    """`hfgen sample` reports load and input errors in one line (exit 1); good calls still work."""
    from hfgen.cli import main

    _, _, folder = saved_pipeline
    out = tmp_path / "grid.png"
    assert main(["sample", "--model", str(folder), "--num_images", "4", "--output", str(out)]) == 0
    assert out.is_file() and capsys.readouterr().out.strip() == str(out)

    assert main(["sample", "--model", str(folder), "--class_label", "3", "--output", str(out)]) == 1
    assert capsys.readouterr().err.startswith("error: This generator is unconditional: do not pass --class_label.")
    assert main(["sample", "--model", str(tmp_path / "no-such-run"), "--output", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "is not a folder" in err and "Traceback" not in err
    (folder / "model_index.json").write_text("{oops")
    assert main(["sample", "--model", str(folder), "--output", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "model_index.json is not valid JSON" in err and "Traceback" not in err


def test_cli_sample_class_label_by_name(tmp_path, capsys):
    from hfgen.cli import main

    GANPipeline(**get_dummy_components(num_classes=2, id2label={0: "cat", 1: "dog"})).save_pretrained(tmp_path / "m")
    assert main(["sample", "--model", str(tmp_path / "m"), "--class_label", "dog", "--output", str(tmp_path / "d.png")]) == 0
    assert main(["sample", "--model", str(tmp_path / "m"), "--class_label", "cow", "--output", str(tmp_path / "c.png")]) == 1
    assert "error: Unknown class name 'cow'; this generator knows: 'cat', 'dog'" in capsys.readouterr().err
    # Names that look like numbers are names first ("20" is class 1 here); other numbers are ids.
    GANPipeline(**get_dummy_components(num_classes=2, id2label={0: "10", 1: "20"})).save_pretrained(tmp_path / "n")
    for flag in ("20", "1"):
        assert main(["sample", "--model", str(tmp_path / "n"), "--class_label", flag, "--output", str(tmp_path / f"{flag}.png")]) == 0
    assert (tmp_path / "20.png").read_bytes() == (tmp_path / "1.png").read_bytes()
    assert main(["sample", "--model", str(tmp_path / "n"), "--class_label", "10", "--output", str(tmp_path / "x.png")]) == 0
    assert (tmp_path / "x.png").read_bytes() != (tmp_path / "1.png").read_bytes()


def test_internal_saves_and_loads_print_no_transformers_progress_bars(tmp_path, capfd, monkeypatch):
    """transformers prints "Writing model shards" / "Loading weights" on every save/load; hfgen's own
    component saves and loads hide them, and leave the user's setting (bars on) as it was."""
    from transformers.utils import logging as transformers_logging

    monkeypatch.setattr(transformers_logging, "_tqdm_active", True)  # a user's default (the tests turn bars off)
    pipe = GANPipeline(**get_dummy_components())
    export_folder(pipe, tmp_path / "quiet", training_components={"discriminator": DCGANDiscriminator(pipe.gan_generator.config)})
    GANPipeline.from_pretrained(tmp_path / "quiet")
    err = capfd.readouterr().err
    assert "Writing model shards" not in err and "Loading weights" not in err
    assert transformers_logging.is_progress_bar_enabled()
    DCGANDiscriminator.from_pretrained(tmp_path / "quiet" / "discriminator")  # the user's own call: bar as usual
    assert "Loading weights" in capfd.readouterr().err


def test_missing_folder_that_looks_like_a_repo_id(tmp_path, monkeypatch):
    """`outputs/dmeo` (a typo) is neither a folder nor a reachable repo: the error says both were tried."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OSError, match="no local folder of that name, and fetching it as a Hub repository failed"):
        GANPipeline.from_pretrained("outputs/dmeo")  # offline in the tests


def test_pipeline_files_relative_imports_are_exported(tmp_path, monkeypatch):
    """A pipeline file that imports a shared file relatively ships both at the root (diffusers fetches
    a remote pipeline's relative imports from the repository root)."""
    package = tmp_path / "mypipes"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "shared_io.py").write_text("GREETING = 'hi'\n")
    (package / "pipeline_greeting.py").write_text(
        "from hfgen import GANPipeline\nfrom .shared_io import GREETING\n\n\nclass GreetingPipeline(GANPipeline):\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    from mypipes.pipeline_greeting import GreetingPipeline

    GreetingPipeline(**get_dummy_components()).save_pretrained(tmp_path / "saved")
    assert {"pipeline_greeting.py", "shared_io.py", "modeling_dcgan.py"} <= set(os.listdir(tmp_path / "saved"))
    assert json.loads((tmp_path / "saved" / "model_index.json").read_text())["_class_name"] == [
        "pipeline_greeting", "GreetingPipeline"]


def test_prepare_image_input_accepts_the_diffusers_input_kinds(caplog):
    """Image-to-image pipelines (Pix2Pix, CycleGAN) share one input conversion: PIL, lists, numpy (uint8 or
    [0, 1] floats), torch [0, 1]; other sizes are resized and other modes converted, each said once."""
    import logging

    import numpy as np
    from PIL import Image

    from hfgen.pipelines.hfgen_pipeline_utils import prepare_image_input

    rgb = np.zeros((8, 8, 3), dtype=np.uint8)
    rgb[:4] = 255
    pil = Image.fromarray(rgb)
    expected = torch.from_numpy(rgb.astype(np.float32) / 127.5 - 1).permute(2, 0, 1)[None]
    torch.testing.assert_close(prepare_image_input(pil, 8, 3), expected)
    torch.testing.assert_close(prepare_image_input([pil, pil], 8, 3), expected.repeat(2, 1, 1, 1))
    torch.testing.assert_close(prepare_image_input(rgb.astype(np.float32) / 255, 8, 3), expected)
    torch.testing.assert_close(prepare_image_input(torch.from_numpy(rgb).permute(2, 0, 1)[None] / 255.0, 8, 3), expected)
    with caplog.at_level(logging.WARNING):
        gray = prepare_image_input(Image.fromarray(rgb[..., 0]).resize((16, 16)), 8, 3)
    assert gray.shape == (1, 3, 8, 8)
    assert "L -> RGB" in caplog.text and "Resized the image from 16x16 to 8x8" in caplog.text
    with pytest.raises(ValueError, match="expected in \\[0, 1\\]"):
        prepare_image_input(torch.full((3, 8, 8), -1.0), 8, 3)
    with pytest.raises(ValueError, match="is empty"):
        prepare_image_input([], 8, 3)
    with pytest.raises(TypeError, match="str"):
        prepare_image_input("a.png", 8, 3)
