"""Sharing on the Hub: model cards and `push_folder`, over real HTTP against the local fake Hub.

One tiny class-conditional WGAN-GP is trained once per module; each test works on its own copy.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

huggingface_hub = pytest.importorskip("huggingface_hub")
from huggingface_hub import ModelCard, snapshot_download  # noqa: E402

from hfgen.hub import (  # noqa: E402
    PushError,
    layout_problems,
    available_templates,
    cli_card,
    cli_push,
    push_folder,
    render_model_card,
    retry_command,
    write_model_card,
)
from hfgen.hub.testing import LocalHubServer, patch_huggingface_hub  # noqa: E402

REPO = "test-user/tiny-wgan-gp"
CLASS_LABELS = [0, 3, 5, 9]
SEED = 123
EVAL = {
    "metrics": {"fid": 12.3456789, "kid_mean": 0.0123, "kid_std": 0.0011, "precision": 0.71, "recall": 0.42,
                "classes_covered": 10},
    "protocol": {
        "dataset": "digits", "n_real": 360, "n_generated": 500, "extractor": "hfgen/digits_classifier",
        "extractor_sha256": "ab" * 32, "feature_dim": 64, "resize": 8, "seed": 0,
        "metric_settings": {"kid": {"subsets": 10, "subset_size": 100}},
        "versions": {"hfgen": "0.1.0", "torch": "2.13.0", "diffusers": "0.42.1", "transformers": "5.24.0",
                     "numpy": "2.0.0", "python": "3.11.9"},
    },
}


def _hashes(root: Path) -> dict[str, str]:
    """sha256 of every file under root (the set of paths included)."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A tiny class-conditional WGAN-GP on digits, exported with checkpoints/ (trained once)."""
    from hfgen.training import GANArguments, GANTask, Trainer, TrainingArguments

    out = tmp_path_factory.mktemp("trained") / "export"
    args = TrainingArguments(dataset="digits", output_dir=str(out), max_train_steps=4, train_batch_size=16,
                             checkpointing_steps=2, sample_steps=0, num_sample_images=20, logging_steps=1,
                             report_to="none", num_threads=1, final_eval_samples=0)
    gan = GANArguments(preset="wgan-gp", n_critic=2, class_conditional=True, generator_channels=8,
                       discriminator_channels=8, latent_dim=8)
    Trainer(GANTask(gan, learning_rate=args.learning_rate, batch_size=args.train_batch_size), args).train()
    assert (out / "checkpoints").is_dir() and (out / "README.md").exists()  # training writes a first card
    return out


@pytest.fixture
def folder(trained, tmp_path) -> Path:
    """This test's own copy of the exported folder."""
    copy = tmp_path / "export"
    shutil.copytree(trained, copy)
    return copy


@pytest.fixture
def hub(monkeypatch, tmp_path):
    """A running LocalHubServer that huggingface_hub (endpoint, token, cache) points at."""
    with LocalHubServer() as server:
        patch_huggingface_hub(monkeypatch, server, tmp_path / "hf_home")
        yield server


def _images(folder: Path) -> np.ndarray:
    from hfgen import GANPipeline

    pipe = GANPipeline.from_pretrained(folder)
    return pipe(batch_size=len(CLASS_LABELS), class_labels=CLASS_LABELS,
                generator=torch.Generator("cpu").manual_seed(SEED), output_type="np").images


def test_push_download_and_load_without_hfgen(folder, hub, tmp_path, run_without_hfgen):
    (folder / "eval_results.json").write_text(json.dumps(EVAL))
    expected = _images(folder)

    url = push_folder(folder, REPO)  # token from HF_TOKEN (patched to the fake Hub's)
    sha = url.rsplit("/", 1)[-1]
    assert hub.commits(REPO)[0] == sha and "/commit/" in url

    stored = hub.files(REPO)
    assert {"model_index.json", "pipeline_gan.py", "hfgen_pipeline_utils.py", "README.md", "eval_results.json", "samples.png", "loss_curves.png",
            "gan_generator/model.safetensors", "gan_generator/modeling_dcgan.py", "modeling_dcgan.py",
            "discriminator/model.safetensors",
            "logs/training_args.json", "logs/history.json"} <= set(stored)
    assert not any(p.startswith("checkpoints/") for p in stored)
    assert stored["README.md"] == (folder / "README.md").read_bytes()  # the card is also written locally

    path = Path(snapshot_download(REPO, cache_dir=tmp_path / "download_cache"))
    assert path.name == sha and not (path / "checkpoints").exists()
    out = tmp_path / "images.npy"
    run_without_hfgen(
        f"""
        import numpy as np, torch
        from diffusers import DiffusionPipeline
        pipe = DiffusionPipeline.from_pretrained({str(path)!r}, trust_remote_code=True)
        images = pipe(batch_size={len(CLASS_LABELS)}, class_labels={CLASS_LABELS!r},
                      generator=torch.Generator("cpu").manual_seed({SEED}), output_type="np").images
        np.save({str(out)!r}, images)
        """
    )
    np.testing.assert_allclose(np.load(out), expected, atol=1e-6)

    # The card: valid for the Hub, model-index round trip, honest metadata.
    card = ModelCard.load(path / "README.md")
    card.validate()
    assert ("POST", "/api/validate-yaml", 200) in hub.requests
    data = card.data
    assert data.library_name == "diffusers" and data.pipeline_tag == "unconditional-image-generation"
    assert data.license == "apache-2.0"
    assert {"hfgen", "gan", "wgan-gp", "dcgan", "class-conditional", "diffusers"} <= set(data.tags)
    assert data.datasets is None  # "digits" is embedded, not a Hub dataset id
    by_type = {r.metric_type: r for r in data.eval_results}
    expected_values = {"fid": "fid", "kid": "kid_mean", "precision": "precision", "recall": "recall",
                       "classes_covered": "classes_covered"}
    assert set(by_type) == set(expected_values)
    for metric_type, key in expected_values.items():
        result = by_type[metric_type]
        assert result.metric_value == EVAL["metrics"][key]
        assert result.task_type == "unconditional-image-generation" and result.dataset_type == "digits"
        assert result.metric_args["extractor_sha256"] == EVAL["protocol"]["extractor_sha256"]
        assert result.metric_args["n_generated"] == 500 and result.metric_args["seed"] == 0
        assert result.metric_args["versions"] == EVAL["protocol"]["versions"]
    assert by_type["kid"].metric_args["std"] == EVAL["metrics"]["kid_std"]
    assert by_type["fid"].metric_name == "FID (hfgen/digits_classifier features)"

    text = card.text
    from hfgen.models import DCGANDiscriminator

    from hfgen import GANPipeline

    g_params = sum(p.numel() for p in GANPipeline.from_pretrained(folder).gan_generator.parameters())
    d_params = sum(p.numel() for p in DCGANDiscriminator.from_pretrained(folder / "discriminator").parameters())
    assert f"{g_params:,} parameters" in text and f"{d_params:,} parameters" in text
    for snippet in (f'GANPipeline.from_pretrained("{REPO}")', "DiffusionPipeline.from_pretrained(",
                    "trust_remote_code=True", 'revision="<pinned commit sha>"', "![Loss curves](loss_curves.png)",
                    "](samples.png)", "| FID | 12.35 | lower |", "| KID | 0.0123 ± 0.0011 | lower |",
                    "arxiv.org/abs/1704.00028", "arxiv.org/abs/1802.05637", "arxiv.org/abs/1406.2661",
                    "`ab" + "ab" * 31 + "`", "not** the Inception network"):
        assert snippet in text, snippet
    assert "arxiv.org/abs/1802.05957" not in text and "1611.04076" not in text  # no SN, no LSGAN here
    assert str(folder) not in text  # no local paths in the card

    # The token is nowhere: not in the uploaded files, not in the local folder.
    token = hub.token.encode()
    assert not any(token in content for content in hub.files(REPO).values())
    assert not any(token in p.read_bytes() for p in folder.rglob("*") if p.is_file())


def test_failures_leave_the_folder_untouched_and_a_retry_succeeds(folder, hub):
    before = _hashes(folder)
    retry = retry_command(folder, REPO)
    assert retry == f"hfgen push {folder} {REPO}"

    hub.stop()  # unreachable
    with pytest.raises(PushError) as exc:
        push_folder(folder, REPO)
    message = str(exc.value)
    assert "unreachable" in message and hub.url in message and retry in message
    assert exc.value.status_code is None
    assert _hashes(folder) == before
    hub.start()

    with pytest.raises(PushError) as exc:  # a wrong token
        push_folder(folder, REPO, token="hf_wrong_token_123")
    message = str(exc.value)
    assert "401" in message and "HF_TOKEN" in message and "huggingface-cli login" in message and retry in message
    assert "hf_wrong_token_123" not in message and hub.token not in message
    assert exc.value.status_code == 401
    assert _hashes(folder) == before and REPO not in hub.repos

    hub.fail_next_commits = 1  # the Hub fails in the middle: repo created, commit refused
    with pytest.raises(PushError) as exc:
        push_folder(folder, REPO)
    message = str(exc.value)
    assert "500" in message and retry in message and exc.value.stage.startswith("uploading")
    assert _hashes(folder) == before  # the card written for the push was taken back
    assert set(hub.files(REPO)) == {".gitattributes"}  # nothing half-committed

    url = push_folder(folder, REPO)  # the retry
    stored = hub.files(REPO)
    assert url.endswith(hub.commits(REPO)[0]) and "model_index.json" in stored and "README.md" in stored
    local = {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert {k: v for k, v in local.items() if not k.startswith("checkpoints/")} == {
        k: v for k, v in stored.items() if k != ".gitattributes"}


def test_cli_push_branch_private_and_kept_card(folder, hub, capsys):
    (folder / "README.md").write_text("---\nlicense: mit\n---\n\n# Hand-written card\n")
    code = cli_push([str(folder), REPO, "--private", "--revision", "dev", "--commit_message", "first try", "--no_card"])
    assert code == 0
    url = capsys.readouterr().out.strip()
    assert hub.repo(REPO).private
    assert url.endswith(hub.branches(REPO)["dev"])
    assert hub.files(REPO, "dev")["README.md"] == b"---\nlicense: mit\n---\n\n# Hand-written card\n"
    assert set(hub.files(REPO, "main")) == {".gitattributes"}
    assert hub.commit(REPO, "dev").title == "first try"

    hub.stop()
    assert cli_push([str(folder), REPO, "--revision", "dev"]) == 1
    err = capsys.readouterr().err
    assert "unreachable" in err and f"hfgen push {folder} {REPO} --revision dev" in err


def test_card_without_evaluation_and_cli_card_rerenders(folder, capsys):
    path = write_model_card(folder)
    card = ModelCard.load(path)
    metadata = card.content.split("\n---\n", 1)[0]
    assert card.data.eval_results is None and "model-index" not in metadata and "model_name" not in metadata
    assert "Not evaluated" in card.text
    assert 'GANPipeline.from_pretrained("<repo_id>")' in card.text

    (folder / "eval_results.json").write_text(json.dumps(EVAL))
    assert cli_card([str(folder), "--repo_id", "someone/digits-gan"]) == 0
    assert capsys.readouterr().out.strip() == str((folder / "README.md").resolve())
    card = ModelCard.load(folder / "README.md")
    assert "Not evaluated" not in card.text and "| Precision | 0.71 | higher |" in card.text
    assert card.data.model_name == "digits-gan"
    assert {r.metric_type: r.metric_value for r in card.data.eval_results}["fid"] == EVAL["metrics"]["fid"]
    assert 'DiffusionPipeline.from_pretrained(\n    "someone/digits-gan"' in card.text


def _fake_folder(root: Path, resolved: dict, conditional: bool = False) -> Path:
    """A saved MLP pipeline with a hand-written logs/training_args.json (no training)."""
    from hfgen import GANPipeline, MLPGANConfig, MLPGenerator

    config = MLPGANConfig(latent_dim=4, generator_hidden_dim=16, discriminator_hidden_dim=16,
                          spectral_norm=resolved.get("spectral_norm", False), num_classes=3 if conditional else 0)
    GANPipeline(gan_generator=MLPGenerator(config).eval()).save_pretrained(root)
    (root / "logs").mkdir()
    settings = {"gp_weight": 0.0, "clip_value": 0.0, "spectral_norm": False, "optimizer": "adam", "adam_beta1": 0.5,
                "adam_beta2": 0.999, "n_critic": 1, **resolved}
    (root / "logs" / "training_args.json").write_text(json.dumps({
        "training": {"dataset": "ring8", "max_train_steps": 10, "train_batch_size": 32, "seed": 0,
                     "output_dir": "/home/someone/private/run"},
        "task": "gan", "gan": {"preset": "custom", "class_conditional": conditional},
        "gan_resolved": settings, "learning_rate": 2e-4,
    }))
    return root


@pytest.mark.parametrize(
    "resolved, tags, papers, absent",
    [
        ({"loss": "hinge", "spectral_norm": True}, {"hinge-loss", "spectral-norm", "mlp"}, ["1802.05957"], ["1704.00028", "1511.06434"]),
        ({"loss": "wgan", "clip_value": 0.01, "optimizer": "rmsprop"}, {"wgan"}, ["1701.07875"], ["1704.00028"]),
        ({"loss": "lsgan"}, {"lsgan"}, ["1611.04076"], ["1701.07875"]),
        ({"loss": "kl"}, {"f-gan"}, ["1606.00709"], ["1611.04076"]),
    ],
    ids=["sngan", "wgan-clip", "lsgan", "f-gan"],
)
def test_card_follows_the_settings(tmp_path, resolved, tags, papers, absent):
    card = render_model_card(_fake_folder(tmp_path / "run", resolved), repo_id="me/points", extra_tags=["toy"])
    assert tags | {"hfgen", "gan", "toy", "unconditional"} <= set(card.data.tags)
    assert card.data.pipeline_tag is None  # 2-D points are not images
    assert "arxiv.org/abs/1406.2661" in card.text
    for arxiv in papers:
        assert f"arxiv.org/abs/{arxiv}" in card.text
    for arxiv in absent:
        assert arxiv not in card.text
    assert "/home/someone" not in str(card) and "ring of 8 Gaussians" in card.text
    assert "Not evaluated" in card.text


def test_unknown_family_and_bad_folder(tmp_path):
    assert "gan" in available_templates()
    root = _fake_folder(tmp_path / "run", {"loss": "vanilla"})
    args = json.loads((root / "logs" / "training_args.json").read_text())
    (root / "logs" / "training_args.json").write_text(json.dumps({**args, "task": "vae"}))
    with pytest.raises(ValueError, match="vae.md.jinja"):
        render_model_card(root)
    with pytest.raises(ValueError, match="model_index.json"):
        push_folder(tmp_path, REPO)


@pytest.mark.parametrize("dataset, hub_ids", [("ylecun/mnist", ["ylecun/mnist"]), ("/home/someone/data/faces", None),
                                             ("mnist5k", None)])
def test_datasets_metadata_only_lists_hub_ids(tmp_path, dataset, hub_ids):
    root = _fake_folder(tmp_path / "run", {"loss": "vanilla"})
    args = json.loads((root / "logs" / "training_args.json").read_text())
    args["training"]["dataset"] = dataset
    (root / "logs" / "training_args.json").write_text(json.dumps(args))
    card = render_model_card(root)
    assert card.data.datasets == hub_ids
    assert "/home/someone" not in str(card)
    if dataset == "mnist5k":
        assert "5,000-image subset of MNIST" in card.text


def test_training_with_push_to_hub(hub, tmp_path):
    """`--push_to_hub` at the end of training: evaluation, card and weights arrive on the Hub."""
    from huggingface_hub import ModelCard

    from hfgen.training import main

    out = tmp_path / "pushed"
    summary = main("gan", ["--dataset", "ring8", "--output_dir", str(out), "--max_train_steps", "3", "--train_batch_size", "16",
                           "--hidden_dim", "16", "--report_to", "none", "--checkpointing_steps", "2", "--sample_steps", "0",
                           "--final_eval_samples", "500", "--push_to_hub", "true", "--hub_model_id", "test-user/ring8-gan"])
    assert summary["hub_commit"].rsplit("/", 1)[-1] == hub.commits("test-user/ring8-gan")[0]
    stored = hub.files("test-user/ring8-gan")
    assert {"README.md", "eval_results.json", "gan_generator/model.safetensors", "pipeline_gan.py"} <= set(stored)
    assert not any(p.startswith("checkpoints/") for p in stored)
    card = ModelCard(stored["README.md"].decode())
    modes = [r for r in card.data.eval_results if r.metric_type == "modes"][0]
    assert modes.metric_value == json.loads(stored["eval_results.json"])["metrics"]["modes"]
    assert "hf_test_token" not in stored["README.md"].decode()
    # No local absolute path is shared (logs/summary.json and logs/training_args.json are relative to the folder).
    assert not [p for p, data in stored.items() if str(tmp_path).encode() in data]


def test_pushed_repo_loads_from_its_id_without_hfgen(folder, hub, tmp_path, run_without_hfgen):
    """A user's walk: `hfgen push`, then plain diffusers/transformers load the REPO ID (no snapshot first).

    Guards the Hub layout: diffusers downloads only `{component}/{module}.py` of a custom component
    (not the files it imports), and transformers' `AutoModel.from_pretrained(repo, subfolder=...)`
    fetches remote code from the repo root. Each modeling file must therefore be self-contained and
    also sit at the repo root. Both families load in ONE process (diffusers caches dynamic modules
    by file name), and G then D of one repo (AutoModel maps one config class to one model class).
    """
    from hfgen import GANPipeline
    from hfgen.models import DCGANDiscriminator

    folders = {"dcgan": folder, "mlp": _fake_folder(tmp_path / "mlp-run", {"loss": "vanilla"})}
    cases = []
    for family in ("dcgan", "mlp"):
        pipe = GANPipeline.from_pretrained(folders[family])
        labels = CLASS_LABELS if pipe.gan_generator.config.num_classes > 0 else None
        expected = pipe(batch_size=len(CLASS_LABELS), class_labels=labels,
                        generator=torch.Generator("cpu").manual_seed(SEED), output_type="np").images
        repo = f"test-user/tiny-{family}"
        assert cli_push([str(folders[family]), repo]) == 0  # exactly `hfgen push DIR REPO`
        with_hfgen = GANPipeline.from_pretrained(repo)(batch_size=len(CLASS_LABELS), class_labels=labels,
                                                       generator=torch.Generator("cpu").manual_seed(SEED), output_type="np")
        np.testing.assert_allclose(with_hfgen.images, expected, atol=1e-6)  # door 1 with hfgen, by repo id
        cases.append((family, repo, labels, (folders[family] / "discriminator").is_dir(), expected))

    # The subprocess inherits the `hub` fixture's environment: HF_ENDPOINT is the local server, HF_HOME is fresh.
    out = tmp_path / "from_repo_id.npz"
    stdout = run_without_hfgen(
        f"""
        import numpy as np, torch
        from diffusers import DiffusionPipeline
        from transformers import AutoModel
        results = {{}}
        for family, repo, labels, has_discriminator in {[c[:4] for c in cases]!r}:
            pipe = DiffusionPipeline.from_pretrained(repo, trust_remote_code=True)
            a = pipe(batch_size={len(CLASS_LABELS)}, class_labels=labels,
                     generator=torch.Generator("cpu").manual_seed({SEED}), output_type="np").images
            g = AutoModel.from_pretrained(repo, subfolder="gan_generator", trust_remote_code=True).eval()
            z = torch.randn({len(CLASS_LABELS)}, g.config.latent_dim, generator=torch.Generator("cpu").manual_seed({SEED}))
            y = None if labels is None else torch.tensor(labels)
            with torch.no_grad():
                x = g(z, class_labels=y)
            results[family + "/pipeline"] = a
            results[family + "/model"] = x.numpy() if x.dim() == 2 else (x / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 1).numpy()
            if has_discriminator:  # a training component: same root file, loaded after G in this process
                d = AutoModel.from_pretrained(repo, subfolder="discriminator", trust_remote_code=True).eval()
                with torch.no_grad():
                    results[family + "/logits"] = d(x, class_labels=y).numpy()
            print("MODULES", type(pipe).__module__, type(pipe.gan_generator).__module__, type(g).__module__)
        np.savez({str(out)!r}, **results)
        """
    )
    for line in stdout.split("MODULES")[1:]:
        modules = line.split()
        assert modules[0].startswith("diffusers_modules") and modules[2].startswith("transformers_modules")
    result = np.load(out)
    for family, _, labels, has_discriminator, expected in cases:
        np.testing.assert_allclose(result[family + "/pipeline"], expected, atol=1e-6)
        np.testing.assert_allclose(result[family + "/model"], expected, atol=1e-6)
        if has_discriminator:
            d = DCGANDiscriminator.from_pretrained(folders[family] / "discriminator").eval()
            x = torch.from_numpy(expected).permute(0, 3, 1, 2) * 2 - 1
            with torch.no_grad():
                logits = d(x, class_labels=torch.tensor(labels)).numpy()
            np.testing.assert_allclose(result[family + "/logits"], logits, atol=1e-4)
    assert any(case[3] for case in cases)  # the discriminator path ran


def test_push_refuses_the_pre_hub_layout_and_upgrade_layout_rewrites_it(folder, hub, capsys):
    """Guards `hfgen push` against a folder exported before the Hub layout (modeling files importing a
    separate `configuration_dcgan.py`, nothing at the root): it loads locally but not from its repo id,
    so the push is refused with the fix named; `--upgrade_layout` rewrites it in place and pushes."""
    from safetensors.torch import load_file

    expected = _images(folder)
    d_weights = load_file(folder / "discriminator" / "model.safetensors")
    (folder / "modeling_dcgan.py").unlink()
    (folder / "hfgen_pipeline_utils.py").unlink()
    for sub in ("gan_generator", "discriminator"):  # the old split: config class in its own file
        config = json.loads((folder / sub / "config.json").read_text())
        config["auto_map"]["AutoConfig"] = "configuration_dcgan.DCGANConfig"
        (folder / sub / "config.json").write_text(json.dumps(config))
        (folder / sub / "configuration_dcgan.py").write_text("from .modeling_dcgan import DCGANConfig\n")
    np.testing.assert_allclose(_images(folder), expected, atol=1e-6)  # still loads locally
    before = _hashes(folder)

    assert cli_push([str(folder), REPO]) == 1
    err = capsys.readouterr().err
    assert "older export layout" in err and "configuration_dcgan.py, which is not at the root" in err
    assert "hfgen_pipeline_utils.py, not at the root" in err
    assert f"hfgen push {folder} {REPO} --upgrade_layout" in err
    assert REPO not in hub.repos and _hashes(folder) == before  # nothing pushed, nothing changed

    assert cli_push([str(folder), REPO, "--upgrade_layout"]) == 0
    assert layout_problems(folder) == []
    stored = hub.files(REPO)
    assert {"modeling_dcgan.py", "hfgen_pipeline_utils.py", "discriminator/model.safetensors", "logs/history.json"} <= set(stored)
    assert json.loads(stored["discriminator/config.json"])["auto_map"]["AutoConfig"] == "modeling_dcgan.DCGANDiscriminatorConfig"
    for key, value in load_file(folder / "discriminator" / "model.safetensors").items():  # D kept, rewritten
        torch.testing.assert_close(value, d_weights[key])
    from hfgen import GANPipeline

    again = GANPipeline.from_pretrained(REPO)(batch_size=len(CLASS_LABELS), class_labels=CLASS_LABELS,
                                             generator=torch.Generator("cpu").manual_seed(SEED), output_type="np").images
    np.testing.assert_allclose(again, expected, atol=1e-6)


def test_every_pipeline_class_maps_to_a_card_template(tmp_path):
    """A folder exported without logs/training_args.json is typed by its pipeline class: each of hfgen's pipeline
    classes (and diffusers' DDPMPipeline, which hfgen exports stock) must name a card template that exists
    (`texttoimagegan` did not)."""
    from hfgen.hub.cards import PIPELINE_FAMILIES, detect_family
    from hfgen.pipelines import PIPELINES

    assert set(PIPELINES) <= set(PIPELINE_FAMILIES)
    for class_name, family in PIPELINE_FAMILIES.items():
        folder = tmp_path / class_name
        folder.mkdir()
        entry = class_name if class_name == "DDPMPipeline" else ["pipeline_x", class_name]
        (folder / "model_index.json").write_text(json.dumps({"_class_name": entry}))
        assert detect_family(folder) == family
        assert family in available_templates(), family
