"""The DDPM task (hfgen.training.ddpm), its exports (stock DDPMPipeline / ClassConditionalDDPMPipeline),
samplers, evaluation and bad input.

Two tiny models are trained once per module: an unconditional one on a two-mode toy set (8x8, where
sample quality is measurable in a few seconds) and a class-conditional one on the digits.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from hfgen.training import ConfigurationError, DDPMArguments, DDPMTask, Trainer, TrainingArguments

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(block_out_channels="8,16", eval_inference_steps=10)


def _toy(n: int = 256, seed: int = 0):
    """Two 8x8 modes (top half bright / left half bright) with a little noise: quality = distance to the nearest mode."""
    from hfgen.data import GenDataset

    g = torch.Generator().manual_seed(seed)
    modes = torch.full((2, 1, 8, 8), -1.0)
    modes[0, :, :4, :] = 1.0
    modes[1, :, :, :4] = 1.0
    labels = torch.arange(n) % 2
    x = (modes[labels] + 0.05 * torch.randn(n, 1, 8, 8, generator=g)).clamp(-1, 1)
    data = GenDataset({"pixel_values": x, "labels": labels}, kind="image", num_classes=2, image_size=8, num_channels=1, name="toy")
    return data, modes


def _quality(images, modes) -> tuple[float, list[int]]:
    """(share of samples within MSE 0.05 of a mode, samples per mode)."""
    x = torch.as_tensor(np.asarray(images)).permute(0, 3, 1, 2) * 2 - 1
    d = ((x[:, None] - modes[None]) ** 2).mean(dim=(2, 3, 4))
    best, which = d.min(1)
    return float((best < 0.05).float().mean()), torch.bincount(which, minlength=2).tolist()


def _args(out, steps, **kwargs) -> TrainingArguments:
    base = dict(dataset="digits", output_dir=str(out), max_train_steps=steps, train_batch_size=32, checkpointing_steps=0,
                sample_steps=0, num_sample_images=4, report_to="none", disable_tqdm=True, final_eval_samples=0, num_threads=1)
    return TrainingArguments(**{**base, **kwargs})


@pytest.fixture(scope="module")
def toy_model(tmp_path_factory, one_torch_thread):
    """An unconditional DDPM trained 250 steps on the toy modes through the loop, exported (EMA weights). The
    task's suggested 100-step warm-up is sized for real runs: this short one trains at full rate from the start."""
    data, modes = _toy()
    out = tmp_path_factory.mktemp("toy") / "export"
    trainer = Trainer(DDPMTask(DDPMArguments(**TINY)), _args(out, 250, dataset="toy", lr_warmup_steps=0), dataset=data)
    trainer.train()
    return out, trainer, modes


@pytest.fixture(scope="module")
def conditional_model(tmp_path_factory, one_torch_thread):
    """A class-conditional DDPM trained 6 steps on the digits (8x8), exported through `hfgen train ddpm`."""
    from hfgen.cli import main

    out = tmp_path_factory.mktemp("conditional") / "export"
    assert main(["train", "ddpm", "--dataset", "digits", "--output_dir", str(out), "--max_train_steps", "6",
                 "--train_batch_size", "16", "--block_out_channels", "8,16", "--class_conditional", "true",
                 "--eval_inference_steps", "4", "--sample_steps", "0", "--num_sample_images", "10", "--checkpointing_steps", "0",
                 "--final_eval_samples", "0", "--report_to", "none", "--disable_tqdm", "true", "--num_threads", "1"]) == 0
    return out


def _sample(pipe, n=4, steps=5, **kwargs):
    return pipe(batch_size=n, num_inference_steps=steps, generator=torch.manual_seed(0), output_type="np", **kwargs).images


# ------------------------------------------------------------------------------------- export


def test_unconditional_export_is_a_stock_folder_with_the_ema_weights(toy_model, run_without_hfgen):
    """Guards the export: model_index names diffusers' DDPMPipeline, no Python file ships, weights are
    safetensors and are the EMA average (not the raw UNet); plain DDPMPipeline / DiffusionPipeline load it
    in a process without hfgen and WITHOUT trust_remote_code, giving the same images."""
    from diffusers import DDPMPipeline
    from safetensors.torch import load_file

    out, trainer, _ = toy_model
    index = json.loads((out / "model_index.json").read_text())
    assert index["_class_name"] == "DDPMPipeline" and index["unet"] == ["diffusers", "UNet2DModel"]
    assert index["scheduler"] == ["diffusers", "DDPMScheduler"]
    assert not list(out.glob("*.py")) and not list(out.rglob("*.bin"))
    saved = load_file(out / "unet" / "diffusion_pytorch_model.safetensors")
    ema = trainer.ema["unet"].shadow.state_dict()
    raw = trainer.unwrapped["unet"].state_dict()
    assert all(torch.equal(saved[k], ema[k]) for k in saved)
    assert any(not torch.equal(saved[k], raw[k]) for k in saved)
    scheduler = json.loads((out / "scheduler" / "scheduler_config.json").read_text())
    assert scheduler["prediction_type"] == "v_prediction" and scheduler["beta_schedule"] == "squaredcos_cap_v2"

    pipe = DDPMPipeline.from_pretrained(out)
    pipe.set_progress_bar_config(disable=True)
    expected = _sample(pipe)
    npy = out.parent / "no_hfgen.npz"
    run_without_hfgen(f"""
        import numpy as np, torch, warnings
        from diffusers import DDPMPipeline, DiffusionPipeline
        out = {{}}
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no trust_remote_code warning, nothing custom
            for name, cls in (("ddpm", DDPMPipeline), ("any", DiffusionPipeline)):
                pipe = cls.from_pretrained({str(out)!r})
                assert type(pipe).__name__ == "DDPMPipeline", type(pipe)
                pipe.set_progress_bar_config(disable=True)
                out[name] = pipe(batch_size=4, num_inference_steps=5, generator=torch.manual_seed(0), output_type="np").images
        np.savez({str(npy)!r}, **out)
    """)
    loaded = np.load(npy)
    np.testing.assert_allclose(loaded["ddpm"], expected, atol=1e-6)
    np.testing.assert_allclose(loaded["any"], expected, atol=1e-6)


def test_class_conditional_pipeline_loads_with_and_without_hfgen(conditional_model, run_without_hfgen):
    """Guards the class-conditional export: hfgen's pipeline file ships, class_labels reach the UNet, and
    the folder loads with hfgen and, in a process without it, with trust_remote_code=True to the same images."""
    from hfgen.pipelines import ClassConditionalDDPMPipeline, load_pipeline

    index = json.loads((conditional_model / "model_index.json").read_text())
    assert index["_class_name"] == ["pipeline_ddpm", "ClassConditionalDDPMPipeline"]
    assert (conditional_model / "pipeline_ddpm.py").is_file() and (conditional_model / "hfgen_pipeline_utils.py").is_file()
    pipe = load_pipeline(conditional_model)
    assert isinstance(pipe, ClassConditionalDDPMPipeline) and pipe.num_classes == 10
    pipe.set_progress_bar_config(disable=True)
    expected = _sample(pipe, class_labels=[0, 3, 5, 9])
    other = _sample(pipe, class_labels=[1, 1, 1, 1])
    assert np.abs(expected - other).max() > 1e-4  # the labels change the images
    with pytest.raises(ValueError, match=r"class_labels must lie in \[0, 9\]"):
        _sample(pipe, class_labels=[10, 0, 0, 0])
    npy = conditional_model.parent / "cond.npy"
    run_without_hfgen(f"""
        import numpy as np, torch
        from diffusers import DiffusionPipeline
        pipe = DiffusionPipeline.from_pretrained({str(conditional_model)!r}, trust_remote_code=True)
        pipe.set_progress_bar_config(disable=True)
        np.save({str(npy)!r}, pipe(batch_size=4, class_labels=[0, 3, 5, 9], num_inference_steps=5,
                                   generator=torch.manual_seed(0), output_type="np").images)
    """)
    np.testing.assert_allclose(np.load(npy), expected, atol=1e-6)


@pytest.fixture
def hub(monkeypatch, tmp_path):
    from hfgen.hub.testing import LocalHubServer, patch_huggingface_hub

    with LocalHubServer() as server:
        patch_huggingface_hub(monkeypatch, server, tmp_path / "hf_home")
        yield server


def test_pushed_folders_load_by_repo_id_without_hfgen(toy_model, conditional_model, hub, tmp_path, run_without_hfgen):
    """Guards the Hub door: after `hfgen push`, the stock folder loads by repo id with plain DDPMPipeline (no
    trust_remote_code), the class-conditional one with DiffusionPipeline(trust_remote_code=True); the cards
    tag only the custom one `custom_code`."""
    from huggingface_hub import ModelCard

    from hfgen.hub import cli_push
    from hfgen.pipelines import load_pipeline

    expected = {}
    for name, folder in (("stock", toy_model[0]), ("cond", conditional_model)):
        copy = tmp_path / name
        shutil.copytree(folder, copy)
        assert cli_push([str(copy), f"test-user/ddpm-{name}"]) == 0
        pipe = load_pipeline(copy)
        pipe.set_progress_bar_config(disable=True)
        expected[name] = _sample(pipe, **({"class_labels": 2} if name == "cond" else {}))
        tags = ModelCard.load(copy / "README.md").data.tags
        assert ("custom_code" in tags) == (name == "cond") and "ddpm" in tags
    npz = tmp_path / "by_id.npz"
    run_without_hfgen(f"""
        import numpy as np, torch
        from diffusers import DDPMPipeline, DiffusionPipeline
        stock = DDPMPipeline.from_pretrained("test-user/ddpm-stock")
        cond = DiffusionPipeline.from_pretrained("test-user/ddpm-cond", trust_remote_code=True)
        out = {{}}
        for name, pipe, kw in (("stock", stock, {{}}), ("cond", cond, {{"class_labels": 2}})):
            pipe.set_progress_bar_config(disable=True)
            out[name] = pipe(batch_size=4, num_inference_steps=5, generator=torch.manual_seed(0), output_type="np", **kw).images
        np.savez({str(npz)!r}, **out)
    """)
    loaded = np.load(npz)
    for name in expected:
        np.testing.assert_allclose(loaded[name], expected[name], atol=1e-6)


# ----------------------------------------------------------------------------------- training


def test_resume_is_exact_including_ema(tmp_path, one_torch_thread):
    """Guards exact resume: 4 steps straight == 2 steps + resume + 2, bitwise on CPU for the UNet, the EMA
    and the optimizer state (noise and timesteps come from the loop's checkpointed generator)."""
    def run(out, steps, resume=None):
        trainer = Trainer(DDPMTask(DDPMArguments(block_out_channels="8,16", dropout=0.1, snr_gamma=5.0)),
                          _args(out, steps, train_batch_size=8, checkpointing_steps=2, export=False, resume_from_checkpoint=resume))
        trainer.train()
        return trainer

    straight = run(tmp_path / "straight", 4)
    run(tmp_path / "resumed", 2)
    resumed = run(tmp_path / "resumed", 4, "latest")
    for a, b in ((straight.unwrapped["unet"], resumed.unwrapped["unet"]), (straight.ema["unet"].shadow, resumed.ema["unet"].shadow)):
        for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
            assert torch.equal(x, y), name
    assert resumed.ema["unet"].num_updates == 4
    sa = straight.optimizers["unet"].state_dict()["state"]
    sb = resumed.optimizers["unet"].state_dict()["state"]
    assert all(torch.equal(sa[k]["exp_avg"], sb[k]["exp_avg"]) for k in sa)


def test_the_loops_output_check_samples_through_the_task(tmp_path, one_torch_thread):
    """Guards the generic `Task.output_samples` hook: the loop's final check of generated outputs asks the
    task for its samples (DDPM: 64 with the few-step sampler, not 256 x 1000 ancestral steps)."""
    calls = []

    class Recording(DDPMTask):
        def output_samples(self, pipeline, generator):
            images = super().output_samples(pipeline, generator)
            calls.append((type(pipeline).__name__, images.shape))
            return images

    Trainer(Recording(DDPMArguments(block_out_channels="8,16", eval_inference_steps=2)),
            _args(tmp_path, 1, train_batch_size=8, export=False)).train()
    assert calls == [("DDPMPipeline", (64, 8, 8, 1))]


@pytest.mark.parametrize("kind", ["epsilon", "v_prediction", "sample"])
def test_the_loss_regresses_the_right_target(kind):
    """Guards target() and the min-SNR weights: a UNet stand-in that outputs exactly the target has zero loss
    (plain and min-SNR), and the weights follow min(SNR, gamma)/SNR, /(SNR+1) or min(SNR, gamma) per type."""
    from hfgen.training.task import StepContext

    task = DDPMTask(DDPMArguments(block_out_channels="8", prediction_type=kind, snr_gamma=5.0))
    task.num_classes = 0
    task.noise_scheduler = task.build_noise_scheduler()
    task._alphas_cumprod = None
    x0 = torch.rand(6, 1, 4, 4) * 2 - 1
    noise, t = torch.randn(6, 1, 4, 4), torch.tensor([0, 10, 100, 500, 900, 999])
    target = task.target(x0, noise, t)
    alpha = task.noise_scheduler.alphas_cumprod[t].view(-1, 1, 1, 1)
    expected = {"epsilon": noise, "v_prediction": alpha.sqrt() * noise - (1 - alpha).sqrt() * x0, "sample": x0}[kind]
    torch.testing.assert_close(target, expected)
    assert task.loss(target, target, t) == 0
    ctx = StepContext(models={}, generator=torch.Generator().manual_seed(0), device=torch.device("cpu"))
    assert task.draw_timesteps(1000, ctx).max() <= 999
    off = target + 1.0  # unit error everywhere: the loss is the mean weight
    snr = alpha.flatten() / (1 - alpha.flatten())
    weight = {"epsilon": snr.clamp(max=5) / snr, "v_prediction": snr.clamp(max=5) / (snr + 1), "sample": snr.clamp(max=5)}[kind]
    torch.testing.assert_close(task.loss(off, target, t), weight.mean())


def test_ddim50_and_ddpm1000_agree_in_quality(toy_model):
    """Guards that sampling matches training (prediction type, clipping, trailing spacing carried by
    from_config): DDIM-50 and DDPM-1000 samples of the same toy model both land on the two modes, in
    balance. The check can fail: a default DDIMScheduler() (epsilon, linear) on the same UNet lands nowhere."""
    from diffusers import DDIMScheduler, DDPMPipeline

    from hfgen.pipelines import load_pipeline
    from hfgen.training.ddpm import with_sampler

    out, _, modes = toy_model
    pipe = load_pipeline(out)
    ddim = _quality(_sample(with_sampler(pipe, "ddim"), n=32, steps=50), modes)
    ddpm = _quality(_sample(with_sampler(pipe, "ddpm"), n=32, steps=1000), modes)
    assert ddim[0] >= 0.8 and ddpm[0] >= 0.8, (ddim, ddpm)
    assert abs(ddim[0] - ddpm[0]) <= 0.15 and min(ddim[1]) >= 8 and min(ddpm[1]) >= 8, (ddim, ddpm)
    wrong = DDPMPipeline(unet=pipe.unet, scheduler=DDIMScheduler())
    wrong.set_progress_bar_config(disable=True)
    assert _quality(_sample(wrong, n=32, steps=50), modes)[0] <= 0.2


# ----------------------------------------------------------------------------------- samplers


def test_schedulers_swap_in_from_the_config(conditional_model):
    """Guards `X.from_config(pipe.scheduler.config)`: DDIM (trailing) and DPM-Solver++ keep the trained
    prediction type and schedule, sample in few steps, and the pipeline warns when a swapped-in scheduler
    contradicts the training (a default DDIMScheduler() reads v-prediction output as epsilon)."""
    from diffusers import DDIMScheduler, DPMSolverMultistepScheduler

    from hfgen.pipelines import load_pipeline

    pipe = load_pipeline(conditional_model)
    pipe.set_progress_bar_config(disable=True)
    for scheduler in (DDIMScheduler.from_config(pipe.scheduler.config, timestep_spacing="trailing"),
                      DPMSolverMultistepScheduler.from_config(pipe.scheduler.config, algorithm_type="dpmsolver++",
                                                              timestep_spacing="trailing")):
        pipe.scheduler = scheduler
        assert scheduler.config.prediction_type == "v_prediction" and scheduler.config.beta_schedule == "squaredcos_cap_v2"
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            images = _sample(pipe, steps=10, class_labels=1)
        assert np.isfinite(images).all() and images.shape == (4, 8, 8, 1)
    assert pipe.scheduler.timesteps[0] == 999  # trailing: starts from pure noise
    pipe.scheduler = DDIMScheduler()
    with pytest.warns(UserWarning, match=r"prediction_type='epsilon' \(trained with 'v_prediction'\)"):
        _sample(pipe, steps=5, class_labels=1)


def test_ddim_clip_sample_pitfall():
    """Guards the DDIM pitfall and hfgen's answer to it. With clip_sample=True, DDIMScheduler.step clips
    x_0 but keeps the UNCLIPPED model output unless use_clipped_model_output=True. The exact denoiser of a
    two-point mixture (+-0.8), guided towards +0.8 with classifier-free guidance (w = 5), predicts x_0 far
    outside [-1, 1] at high noise: with the raw output every sample ends saturated at the clip bound 1.0;
    with the clipped one they land on +0.8, the data. Without guidance (w = 1) both agree.
    ClassConditionalDDPMPipeline passes use_clipped_model_output=True."""
    from diffusers import DDIMScheduler, UNet2DModel

    from hfgen.pipelines import ClassConditionalDDPMPipeline

    def run(use_clipped: bool, w: float) -> torch.Tensor:
        scheduler = DDIMScheduler(clip_sample=True, timestep_spacing="trailing")
        scheduler.set_timesteps(50)
        x = torch.randn(500, generator=torch.Generator().manual_seed(0))
        for t in scheduler.timesteps:
            a = scheduler.alphas_cumprod[t]
            x0_uncond = 0.8 * torch.tanh(0.8 * a.sqrt() * x / (1 - a))  # posterior mean under the +-0.8 mixture
            x0 = x0_uncond + w * (0.8 - x0_uncond)  # guided towards the +0.8 class
            eps = (x - a.sqrt() * x0) / (1 - a).sqrt()
            x = scheduler.step(eps, t, x, use_clipped_model_output=use_clipped).prev_sample
        return x

    for use_clipped in (False, True):
        torch.testing.assert_close(run(use_clipped, 1.0), torch.full((500,), 0.8), atol=1e-4, rtol=0)
    assert run(False, 5.0).min() > 0.99  # wrecked: saturated at the clip bound, not the data
    torch.testing.assert_close(run(True, 5.0), torch.full((500,), 0.8), atol=1e-4, rtol=0)

    # hfgen's pipeline takes the consistent path: its DDIM samples equal a manual loop with use_clipped_model_output=True.
    torch.manual_seed(0)
    unet = UNet2DModel(sample_size=8, in_channels=1, out_channels=1, block_out_channels=(8,), down_block_types=("DownBlock2D",),
                       up_block_types=("UpBlock2D",), layers_per_block=1, norm_num_groups=8, add_attention=False).eval()
    with torch.no_grad():
        for p in unet.conv_out.parameters():
            p.add_(torch.randn_like(p) * 3)  # large outputs: x_0 predictions get clipped
    scheduler = DDIMScheduler(clip_sample=True, timestep_spacing="trailing")
    pipe = ClassConditionalDDPMPipeline(unet=unet, scheduler=scheduler)
    pipe.set_progress_bar_config(disable=True)
    latents = torch.randn(2, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    got = pipe(batch_size=2, latents=latents, num_inference_steps=10, output_type="pt").images
    manual = {}
    for use_clipped in (True, False):
        scheduler.set_timesteps(10)
        x = latents.clone()
        with torch.no_grad():
            for t in scheduler.timesteps:
                x = scheduler.step(unet(x, t).sample, t, x, use_clipped_model_output=use_clipped).prev_sample
        manual[use_clipped] = (x / 2 + 0.5).clamp(0, 1)
    torch.testing.assert_close(got, manual[True])
    assert (got - manual[False]).abs().max() > 1e-3  # the two paths differ on this model


# --------------------------------------------------------------------------------- evaluation


def test_evaluate_sweeps_steps_and_the_card_shows_the_table(toy_model, tmp_path, capsys):
    """Guards `hfgen evaluate` on a diffusion folder: a sampler chosen by --scheduler, a --steps sweep with
    FID and seconds per image at each step count, written to eval_results.json; `hfgen card` then renders
    the FID-vs-steps table; step counts above the training's are refused."""
    from hfgen.cli import main

    folder = tmp_path / "model"
    shutil.copytree(toy_model[0], folder)
    assert main(["evaluate", "--model", str(folder), "--dataset", "digits", "--num_samples", "80", "--scheduler", "ddim",
                 "--steps", "2,5", "--metrics", "fid,classes", "--extractor", "digits"]) == 0
    report = json.loads((folder / "eval_results.json").read_text())
    assert [r["num_inference_steps"] for r in report["steps"]] == [2, 5]
    assert all(r["seconds_per_sample"] > 0 and "fid" in r["metrics"] for r in report["steps"])
    assert report["protocol"]["sampler"]["scheduler"].startswith("ddim")
    assert main(["card", str(folder)]) == 0
    card = (folder / "README.md").read_text()
    assert "### FID vs sampling steps" in card and "| 5 |" in card and "DDPMPipeline.from_pretrained" in card
    capsys.readouterr()
    assert main(["evaluate", "--model", str(folder), "--dataset", "digits", "--num_samples", "40", "--steps", "0,2000"]) == 2
    assert "outside [1, 1000]" in capsys.readouterr().err


# ---------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("flags, message", [
    (["--num_train_timesteps", "0"], "--num_train_timesteps must be >= 1"),
    (["--prediction_type", "noise"], "--prediction_type 'noise' is unknown; choose one of epsilon, v_prediction, sample"),
    (["--beta_schedule", "cosine"], "--beta_schedule 'cosine' is unknown"),
    (["--block_out_channels", "8,16,32", "--resolution", "10"], "must be divisible by 2^2 = 4; 10 is not. Pass --resolution 8 or 12"),
    (["--eval_inference_steps", "0"], "--eval_inference_steps 0 is outside [1, 1000]"),
    (["--dataset", "ring8"], "needs images"),
    (["--attention_levels", "3"], "--attention_levels [3] outside the UNet's levels 0..1"),
])
def test_bad_training_flags_name_the_fix(tmp_path, flags, message):
    """Guards the bad-input errors of `hfgen train ddpm`: each names the flag and what to pass instead."""
    from hfgen.training import main

    argv = ["--dataset", "digits", "--output_dir", str(tmp_path), "--max_train_steps", "1", "--block_out_channels", "8,16",
            "--report_to", "none"] + flags
    with pytest.raises(SystemExit) as error:
        main("ddpm", argv)
    assert message in str(error.value)


def test_edited_scheduler_folder_warns_and_bad_step_counts_are_refused(conditional_model, tmp_path):
    """Guards the sampler-folder checks: a scheduler_config.json that contradicts the training record
    (another prediction type) warns on loading; num_inference_steps 0 or above T raises a clear error."""
    from hfgen.pipelines import load_pipeline

    folder = tmp_path / "edited"
    shutil.copytree(conditional_model, folder)
    path = folder / "scheduler" / "scheduler_config.json"
    config = json.loads(path.read_text())
    path.write_text(json.dumps({**config, "prediction_type": "epsilon"}))
    with pytest.warns(UserWarning, match=r"contradicts the noise schedule .*prediction_type='epsilon' \(trained with 'v_prediction'\)"):
        pipe = load_pipeline(folder)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        load_pipeline(conditional_model)  # the untouched folder loads silently
    for steps in (0, 1001):
        with pytest.raises(ValueError, match=r"num_inference_steps must lie in \[1, 1000\]"):
            pipe(batch_size=1, num_inference_steps=steps)


# ---------------------------------------------------------------------------- two processes


def test_two_real_processes_train_ddpm(tmp_path):
    """Guards DDP for the DDPM task: `accelerate launch --multi_gpu --num_processes 2` on CPU runs two real
    processes through scripts/train_ddpm.py, with a periodic evaluation on the main process only; both end
    with the same UNet and EMA weights, and the export is a stock DDPMPipeline folder."""
    out = tmp_path / "ddp"
    env = dict(os.environ, ACCELERATE_USE_CPU="true", OMP_NUM_THREADS="1")
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(port),
           str(ROOT / "scripts" / "train_ddpm.py"), "--dataset", "digits", "--output_dir", str(out), "--max_train_steps", "4",
           "--train_batch_size", "8", "--block_out_channels", "8,16", "--checkpointing_steps", "2", "--sample_steps", "0",
           "--eval_steps", "2", "--eval_samples", "20", "--eval_inference_steps", "2", "--final_eval_samples", "20",
           "--num_sample_images", "4", "--disable_tqdm", "true"]
    from conftest import launch_two_processes

    stdout, stderr, summary = launch_two_processes(cmd, env, out, timeout=400)
    assert json.loads((out / "model_index.json").read_text())["_class_name"] == "DDPMPipeline"
    history = json.loads((out / "logs" / "history.json").read_text())
    assert [row["step"] for row in history if "eval/fid" in row] == [2, 4]


def test_fsdp_launch_on_two_cpu_processes_is_refused_not_silently_ddp(tmp_path):
    """Guards the FSDP door as a user walks through it: `accelerate launch --use_fsdp --num_processes 2` on CPU with
    scripts/train_ddpm.py. Accelerate 1.15 cannot shard on CPU: with --fsdp_sync_module_states false (needed to get
    past its "no available devices" error) it quietly ran both processes as DDP and the run "succeeded" (measured
    before the guard). Now the processes stop with hfgen's error naming FSDP and the DDP command, and nothing is
    written: no checkpoint, no export."""
    import signal
    import socket
    import subprocess

    out = tmp_path / "fsdp"
    env = dict(os.environ, ACCELERATE_USE_CPU="true", OMP_NUM_THREADS="1")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--use_fsdp", "--fsdp_version", "2", "--fsdp_sync_module_states",
           "false", "--fsdp_state_dict_type", "FULL_STATE_DICT", "--num_processes", "2", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(port),
           str(ROOT / "scripts" / "train_ddpm.py"), "--dataset", "digits", "--output_dir", str(out), "--max_train_steps", "4",
           "--train_batch_size", "8", "--block_out_channels", "8,16", "--checkpointing_steps", "2", "--sample_steps", "0",
           "--final_eval_samples", "0", "--num_sample_images", "4", "--eval_inference_steps", "2", "--report_to", "none",
           "--disable_tqdm", "true"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        from conftest import kill_launched_workers

        os.killpg(proc.pid, signal.SIGKILL)
        kill_launched_workers(str(out))
        proc.communicate()
        raise
    assert proc.returncode != 0, "the FSDP launch ran (on CPU Accelerate turns it into DDP): " + stderr[-2000:]
    # hfgen's message (the first process to stop may make the launcher end the other before it prints its own)
    assert "error: FSDP was requested" in stderr, stderr[-4000:]
    assert "hfgen's training loop does not support FSDP" in stderr and "accelerate launch --multi_gpu" in stderr
    assert not (out / "model_index.json").exists() and not (out / "checkpoints").exists()


# ------------------------------------------------------------------------------ demo and sample


def test_demo_family_ddpm_and_sample_command(tmp_path, capsys, one_torch_thread):
    """Guards `hfgen demo --family ddpm` (offline, on the embedded MNIST-5k; shrunk here by extra flags):
    it trains the DDPM task, exports a stock DDPMPipeline folder with a card, and prints how to load it
    without hfgen; then `hfgen sample --scheduler ddim --num_inference_steps` writes a grid from it, and an
    out-of-range step count is refused naming the flag."""
    from hfgen.cli import main

    out = tmp_path / "demo"
    assert main(["demo", "--family", "ddpm", "--output_dir", str(out), "--max_train_steps", "2", "--block_out_channels", "8,16",
                 "--train_batch_size", "8", "--sample_steps", "0", "--num_sample_images", "4", "--eval_inference_steps", "2",
                 "--final_eval_samples", "0", "--checkpointing_steps", "0", "--report_to", "none", "--disable_tqdm", "true"]) == 0
    printed = capsys.readouterr().out
    assert "DDPMPipeline.from_pretrained" in printed and "stock diffusers DDPMPipeline" in printed
    index = json.loads((out / "model_index.json").read_text())
    assert index["_class_name"] == "DDPMPipeline" and (out / "README.md").is_file()
    training = json.loads((out / "logs" / "training_args.json").read_text())
    assert training["task"] == "ddpm" and training["training"]["dataset"] == "mnist5k" and training["training"]["lr_warmup_steps"] == 100
    grid = tmp_path / "grid.png"
    assert main(["sample", "--model", str(out), "--output", str(grid), "--num_images", "4", "--scheduler", "ddim",
                 "--num_inference_steps", "3"]) == 0 and grid.is_file()
    assert main(["sample", "--model", str(out), "--output", str(grid), "--num_inference_steps", "0"]) == 1
    assert "--num_inference_steps 0 is outside [1, 1000]" in capsys.readouterr().err


# ------------------------------------------------------------------------------ benchmark script


def test_bench_ddpm_parts_in_two_processes_merge_into_one_report(tmp_path):
    """Guards scripts/bench_ddpm.py at toy scale (no quality or timing asserted): two parts run as separate
    processes (seed 0 with the sampling-overhead part, seed 1 alone) each write a report; `--merge` joins their
    runs in seed order, keeps the part that ran, lists the parts no process ran, recomputes the summary; a part
    of another protocol (another budget) is refused."""
    import subprocess

    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    tiny = ["--budget_minutes", "0.01", "--num_samples", "40", "--calibration_steps", "10", "--compare_samples", "0",
            "--overhead_steps", "0", "--repeats", "1", "--gan_seeds", "none"]

    def bench(*flags):
        return subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_ddpm.py"), *flags], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=600)

    a, b, other, merged = (str(tmp_path / f"{n}.json") for n in ("a", "b", "other", "merged"))
    for seed, out, extra in (("1", b, ["--sampling_batch", "0"]), ("0", a, ["--sampling_batch", "2"])):
        done = bench(*tiny, *extra, "--seeds", seed, "--out", out)
        assert done.returncode == 0, done.stderr[-3000:]
    done = bench("--merge", b, a, "--out", merged)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(Path(merged).read_text())
    parts = [json.loads(Path(p).read_text()) for p in (a, b)]
    assert [r["seed"] for r in report["runs"]] == [0, 1]
    assert report["sampling_overhead"] == parts[0]["sampling_overhead"] and "loop_overhead" not in report
    assert sorted(report["not_run"]) == ["DDIM-50 vs DDPM-1000", "loop overhead"]
    assert report["summary"]["ddpm_fid_per_seed"] == [parts[0]["runs"][0]["fid"], parts[1]["runs"][0]["fid"]]
    assert report["total_cpu_minutes"] == pytest.approx(parts[0]["total_cpu_minutes"] + parts[1]["total_cpu_minutes"])
    mismatched = dict(parts[1], protocol={**parts[1]["protocol"], "budget_cpu_minutes": 20.0})
    Path(other).write_text(json.dumps(mismatched))
    refused = bench("--merge", a, other, "--out", str(tmp_path / "bad.json"))
    assert refused.returncode != 0 and "different protocols" in refused.stderr
