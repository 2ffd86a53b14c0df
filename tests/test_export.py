"""The one export path and the one loader (pipelines/hfgen_pipeline_utils.py, hfgen.hub.export_folder,
hfgen.pipelines.load_pipeline, Task.load_exported), for any family, not only the GAN.

A "toy family" is built the way a new family would be: a package holding a copy of the shared file
and a pipeline file that imports it relatively, over standard components (a tiny diffusers
UNet2DModel + DDPMScheduler, and a tiny transformers CLIPTextModel).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys

import numpy as np
import pytest
import torch

from hfgen.hub import export_folder

TOY_PIPELINE = '''
import torch
from diffusers import DiffusionPipeline, ImagePipelineOutput
from diffusers.utils.torch_utils import randn_tensor

from .hfgen_pipeline_utils import HfgenPipelineMixin


class ToyUNetPipeline(HfgenPipelineMixin, DiffusionPipeline):
    """A few denoising steps of a UNet; the text encoder only shifts the noise (to be used)."""

    _optional_components = ["text_encoder"]

    def __init__(self, unet, scheduler, text_encoder=None):
        super().__init__()
        self.register_modules(unet=unet, scheduler=scheduler, text_encoder=text_encoder)

    @torch.no_grad()
    def __call__(self, batch_size=1, generator=None, num_inference_steps=2, output_type="np"):
        size, channels = self.unet.config.sample_size, self.unet.config.in_channels
        x = randn_tensor((batch_size, channels, size, size), generator=generator)
        if self.text_encoder is not None:
            x = x + self.text_encoder(torch.tensor([[1, 2, 3]])).pooler_output.mean()
        self.scheduler.set_timesteps(num_inference_steps)
        for t in self.scheduler.timesteps:
            x = self.scheduler.step(self.unet(x, t).sample, t, x, generator=generator).prev_sample
        return ImagePipelineOutput(images=(x / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 1).numpy())
'''


def tiny_unet(**overrides):
    from diffusers import UNet2DModel

    torch.manual_seed(0)
    kwargs = dict(sample_size=8, in_channels=1, out_channels=1, layers_per_block=1, block_out_channels=(8, 8),
                  down_block_types=("DownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "UpBlock2D"),
                  norm_num_groups=4)
    kwargs.update(overrides)
    return UNet2DModel(**kwargs).eval()


def tiny_text_encoder():
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(0)
    config = CLIPTextConfig(hidden_size=8, intermediate_size=16, num_attention_heads=2, num_hidden_layers=1,
                            vocab_size=16, max_position_embeddings=8, projection_dim=8,
                            bos_token_id=0, eos_token_id=1, pad_token_id=1)
    return CLIPTextModel(config).eval()


@pytest.fixture
def toy_pipeline_class(tmp_path, monkeypatch):
    """ToyUNetPipeline from a package laid out like pipelines/: its own file + a copy of the shared file."""
    import hfgen.pipelines.hfgen_pipeline_utils as shared

    package = tmp_path / "toyfamily"
    package.mkdir()
    (package / "__init__.py").write_text("")
    shutil.copyfile(shared.__file__, package / "hfgen_pipeline_utils.py")
    (package / "pipeline_toy_unet.py").write_text(TOY_PIPELINE)
    monkeypatch.syspath_prepend(str(tmp_path))
    from toyfamily.pipeline_toy_unet import ToyUNetPipeline

    yield ToyUNetPipeline
    for name in [m for m in sys.modules if m.startswith("toyfamily")]:
        del sys.modules[name]


def toy(cls, text_encoder=True):
    from diffusers import DDPMScheduler

    return cls(unet=tiny_unet(), scheduler=DDPMScheduler(num_train_timesteps=20),
               text_encoder=tiny_text_encoder() if text_encoder else None)


def sample(pipe, **kwargs):
    return pipe(batch_size=2, generator=torch.Generator("cpu").manual_seed(0), num_inference_steps=2, output_type="np", **kwargs).images


@pytest.fixture
def hub(monkeypatch, tmp_path):
    from hfgen.hub.testing import LocalHubServer, patch_huggingface_hub

    with LocalHubServer() as server:
        patch_huggingface_hub(monkeypatch, server, tmp_path / "hf_home")
        yield server


def test_a_new_family_on_the_shared_file_loads_from_folder_and_repo_id_without_hfgen(
        toy_pipeline_class, tmp_path, hub, run_without_hfgen):
    """Guards the shared save/load file: a pipeline file that only imports it relatively gets
    standard components saved the standard way (listed by library), both files at the root, and
    loads without hfgen from the folder AND from a Hub repo id (diffusers fetches the pipeline file's
    relative imports from the repository root); the loaded pipeline saves again without hfgen."""
    from huggingface_hub import HfApi

    pipe = toy(toy_pipeline_class)
    expected = sample(pipe)
    folder = tmp_path / "toy"
    pipe.save_pretrained(folder)
    index = json.loads((folder / "model_index.json").read_text())
    assert index["_class_name"] == ["pipeline_toy_unet", "ToyUNetPipeline"]
    assert index["unet"] == ["diffusers", "UNet2DModel"] and index["scheduler"] == ["diffusers", "DDPMScheduler"]
    assert index["text_encoder"] == ["transformers", "CLIPTextModel"]
    assert {p.name for p in folder.iterdir() if p.is_file()} == {"model_index.json", "pipeline_toy_unet.py",
                                                                  "hfgen_pipeline_utils.py"}
    assert (folder / "unet" / "diffusion_pytorch_model.safetensors").is_file()
    assert (folder / "text_encoder" / "model.safetensors").is_file()
    np.testing.assert_allclose(sample(toy_pipeline_class.from_pretrained(folder)), expected, atol=1e-6)

    api = HfApi()
    api.create_repo("test-user/toy-unet")
    api.upload_folder(folder_path=folder, repo_id="test-user/toy-unet")
    out = tmp_path / "toy.npz"
    stdout = run_without_hfgen(
        f"""
        import inspect, os, numpy as np, torch
        from diffusers import DiffusionPipeline
        results = {{}}
        # The repo id first: diffusers names a dynamic module by its file name, so a second load in one
        # process reuses the first one's module.
        for source in ("test-user/toy-unet", {str(folder)!r}):
            pipe = DiffusionPipeline.from_pretrained(source, trust_remote_code=True)
            results[source.replace("/", "_")] = pipe(batch_size=2, generator=torch.Generator("cpu").manual_seed(0),
                                                     num_inference_steps=2, output_type="np").images
            print("MODULES", type(pipe).__module__, type(pipe.unet).__module__, type(pipe.text_encoder).__module__)
        pipe.save_pretrained({str(tmp_path / "resaved")!r})  # the shared file's save, without hfgen
        np.savez({str(out)!r}, **results)
        """
    )
    for line in [l for l in stdout.splitlines() if l.startswith("MODULES")]:
        pipeline_module, unet_module, text_module = line.split()[1:]
        assert pipeline_module.startswith("diffusers_modules") and pipeline_module.endswith("pipeline_toy_unet")
        assert unet_module.startswith("diffusers.models") and text_module.startswith("transformers.models")
    assert stdout.count("MODULES") == 2
    # From the repo id, diffusers fetched the shared file from the repository root (nothing else had it).
    assert ("GET", "/test-user/toy-unet/resolve/", "hfgen_pipeline_utils.py") in {
        (method, path[: path.index("/resolve/") + 9], path.rsplit("/", 1)[-1]) for method, path, _ in hub.requests if "/resolve/" in path}
    result = np.load(out)
    for key in result.files:
        np.testing.assert_allclose(result[key], expected, atol=1e-6)
    assert json.loads((tmp_path / "resaved" / "model_index.json").read_text())["unet"] == ["diffusers", "UNet2DModel"]
    assert (tmp_path / "resaved" / "hfgen_pipeline_utils.py").read_bytes() == (folder / "hfgen_pipeline_utils.py").read_bytes()


def test_stock_diffusers_pipeline_exports_a_stock_folder(tmp_path, run_without_hfgen):
    """Guards "standard components the standard way": diffusers' own DDPMPipeline written by
    export_folder is a stock diffusers folder (no code, `_class_name` a diffusers class) that loads
    with plain DiffusionPipeline/DDPMPipeline.from_pretrained and no trust_remote_code, without hfgen;
    hfgen's load_pipeline gives the same diffusers class."""
    from diffusers import DDPMPipeline, DDPMScheduler

    from hfgen.pipelines import load_pipeline

    pipe = DDPMPipeline(unet=tiny_unet(), scheduler=DDPMScheduler(num_train_timesteps=20))
    expected = pipe(batch_size=2, generator=torch.Generator("cpu").manual_seed(0), num_inference_steps=2, output_type="np").images
    folder = tmp_path / "ddpm"
    export_folder(pipe, folder)
    index = json.loads((folder / "model_index.json").read_text())
    assert index["_class_name"] == "DDPMPipeline"
    assert index["unet"] == ["diffusers", "UNet2DModel"] and index["scheduler"] == ["diffusers", "DDPMScheduler"]
    assert not list(folder.rglob("*.py"))
    loaded = load_pipeline(folder)
    assert type(loaded) is DDPMPipeline
    out = tmp_path / "ddpm.npz"
    run_without_hfgen(
        f"""
        import numpy as np, torch
        from diffusers import DDPMPipeline, DiffusionPipeline
        folder = {str(folder)!r}
        a = DiffusionPipeline.from_pretrained(folder)  # no trust_remote_code: nothing custom
        b = DDPMPipeline.from_pretrained(folder)
        assert type(a) is DDPMPipeline, type(a)
        run = lambda p: p(batch_size=2, generator=torch.Generator("cpu").manual_seed(0), num_inference_steps=2, output_type="np").images
        np.savez({str(out)!r}, a=run(a), b=run(b))
        """
    )
    result = np.load(out)
    np.testing.assert_allclose(result["a"], expected, atol=1e-6)
    np.testing.assert_allclose(result["b"], expected, atol=1e-6)
    # The safetensors-only policy holds for stock folders loaded through hfgen too.
    (folder / "unet" / "diffusion_pytorch_model.safetensors").unlink()
    torch.save(pipe.unet.state_dict(), folder / "unet" / "diffusion_pytorch_model.bin")
    with pytest.raises(ValueError, match="'unet' has weights only in pickle format"):
        load_pipeline(folder)


@pytest.mark.parametrize("component, weights, pickle_name", [("unet", "diffusion_pytorch_model", "diffusion_pytorch_model"),
                                                             ("text_encoder", "model", "pytorch_model")])
def test_pickle_weights_are_refused_for_every_component_kind(toy_pipeline_class, tmp_path, component, weights, pickle_name):
    """Guards safetensors-only loading for diffusers' ModelMixin too (its from_pretrained takes
    use_safetensors through **kwargs, which a signature check missed): a legitimate torch.save'd
    state dict, which torch's weights-only unpickler accepts, is refused by hfgen's own policy."""
    pipe = toy(toy_pipeline_class)
    folder = tmp_path / "toy"
    pipe.save_pretrained(folder)
    sub = folder / component
    (sub / f"{weights}.safetensors").unlink()
    torch.save(getattr(pipe, component).state_dict(), sub / f"{pickle_name}.bin")
    assert torch.load(sub / f"{pickle_name}.bin", weights_only=True)  # a valid, "safe" pickle: only the policy refuses it
    with pytest.raises(ValueError, match=rf"Component '{component}' has weights only in pickle format \({pickle_name}\.bin"):
        toy_pipeline_class.from_pretrained(folder)


def test_save_pretrained_keeps_diffusers_signature(toy_pipeline_class, tmp_path):
    """Guards the removed push_to_hub branch and the diffusers signature: pushing is `hfgen push`,
    training components go through export_folder, diffusers' push kwargs are accepted unused."""
    pipe = toy(toy_pipeline_class, text_encoder=False)
    with pytest.raises(ValueError, match="hfgen push DIR REPO_ID"):
        pipe.save_pretrained(tmp_path / "a", push_to_hub=True, repo_id="me/x")
    assert not (tmp_path / "a").exists()  # refused before writing anything
    with pytest.raises(ValueError, match="variant"):
        pipe.save_pretrained(tmp_path / "a", variant="fp16")
    with pytest.raises(TypeError, match="export_folder"):
        pipe.save_pretrained(tmp_path / "a", training_components={"d": tiny_unet()})
    with pytest.raises(TypeError, match="oops"):
        pipe.save_pretrained(tmp_path / "a", oops=1)
    pipe.save_pretrained(tmp_path / "a", commit_message="unused without push_to_hub", max_shard_size="1GB")
    assert json.loads((tmp_path / "a" / "model_index.json").read_text())["text_encoder"] == [None, None]
    assert toy_pipeline_class.from_pretrained(tmp_path / "a").text_encoder is None


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_written_files_follow_the_umask(toy_pipeline_class, tmp_path, umask):
    """safetensors writes weights 0600; save_pretrained (no hfgen import) and export_folder give every
    file they write the user's umask mode."""
    from hfgen import DCGANConfig, DCGANDiscriminator, DCGANGenerator, GANPipeline

    previous = os.umask(umask)
    try:
        toy(toy_pipeline_class).save_pretrained(tmp_path / "toy")
        config = DCGANConfig(image_size=8, latent_dim=4, generator_channels=4, discriminator_channels=4)
        export_folder(GANPipeline(gan_generator=DCGANGenerator(config)), tmp_path / "gan",
                      training_components={"discriminator": DCGANDiscriminator(config)})
    finally:
        os.umask(previous)
    files = [p for p in tmp_path.rglob("*") if p.is_file() and "toyfamily" not in str(p)]
    assert any(p.name.endswith(".safetensors") for p in files) and (tmp_path / "gan" / "discriminator" / "model.safetensors") in files
    assert {oct(stat.S_IMODE(p.stat().st_mode)) for p in files} == {oct(0o666 & ~umask)}


def test_load_pipeline_dispatches_on_class_name(toy_pipeline_class, tmp_path, capsys):
    """hfgen.pipelines.load_pipeline: hfgen's class for an hfgen folder (installed code, not the
    folder's), a clear refusal for foreign pipeline code unless trust_remote_code; `hfgen sample` uses it."""
    from hfgen import DCGANConfig, DCGANGenerator, GANPipeline
    from hfgen.cli import main
    from hfgen.pipelines import load_pipeline

    config = DCGANConfig(image_size=8, latent_dim=4, generator_channels=4)
    GANPipeline(gan_generator=DCGANGenerator(config).eval()).save_pretrained(tmp_path / "gan")
    assert type(load_pipeline(tmp_path / "gan")) is GANPipeline
    toy(toy_pipeline_class).save_pretrained(tmp_path / "toy")
    with pytest.raises(ValueError, match=r"names the pipeline class \['pipeline_toy_unet', 'ToyUNetPipeline'\].*trust_remote_code=True"):
        load_pipeline(tmp_path / "toy")
    trusted = load_pipeline(tmp_path / "toy", trust_remote_code=True)
    assert type(trusted).__module__.startswith("diffusers_modules")
    assert main(["sample", "--model", str(tmp_path / "toy"), "--output", str(tmp_path / "t.png")]) == 1
    assert "--trust_remote_code" in capsys.readouterr().err
    assert main(["sample", "--model", str(tmp_path / "toy"), "--num_images", "2", "--trust_remote_code",
                 "--class_label", "1", "--output", str(tmp_path / "t.png")]) == 1
    assert "ToyUNetPipeline is not class-conditional: do not pass --class_label" in capsys.readouterr().err


def test_task_load_exported_works_for_any_family(tmp_path):
    """Guards `--init_from` for every family: the base Task loads each model from its component
    subfolder (model name = component name), for a diffusers model too, and names mismatched settings."""
    from diffusers import DDPMPipeline, DDPMScheduler

    from hfgen.training import ConfigurationError
    from hfgen.training.task import Task

    trained = tiny_unet()
    with torch.no_grad():
        for p in trained.parameters():
            p.add_(0.5)
    export_folder(DDPMPipeline(unet=trained, scheduler=DDPMScheduler(num_train_timesteps=20)), tmp_path / "run")
    task = Task(name="ddpm", models={"unet": tiny_unet()})
    task.load_exported(str(tmp_path / "run"))
    for key, value in trained.state_dict().items():
        torch.testing.assert_close(task.models["unet"].state_dict()[key], value)
    other = Task(name="ddpm", models={"unet": tiny_unet(block_out_channels=(8, 16))})
    with pytest.raises(ConfigurationError, match=r"unet was saved with different settings: block_out_channels \(saved \[8, 8\], this run \[8, 16\]\)"):
        other.load_exported(str(tmp_path / "run"))
    with pytest.raises(ConfigurationError, match="has no vae/model.safetensors"):
        Task(name="x", models={"vae": tiny_unet()}).load_exported(str(tmp_path / "run"))
