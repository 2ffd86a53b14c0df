"""A new user's own data end to end (issue 9, items 5, 8 and 9): points from .npy/.csv/datasets,
class names from subfolders, the data description, flag names in messages, `hfgen evaluate` on a
user's mixture and on converted images, the sample minimum, the vector default recipe, the
collapse monitor's "stays low" alarm, the CLI help and the temporary folders of tests/benchmarks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from hfgen.data import DataError, GenDataset, MissingColumnError, load_train_dataset
from hfgen.evaluation import CollapseMonitor, EvaluationError, Evaluator, cli_evaluate

ROOT = Path(__file__).resolve().parents[1]
TINY_MLP = ["--hidden_dim", "16", "--num_layers", "2"]
QUIET = ["--report_to", "none", "--checkpointing_steps", "0", "--sample_steps", "0", "--disable_tqdm", "true"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


def _mixture(n=400, seed=0):
    """Points of a 4-mode mixture (std 0.05) around (+-1, +-1), and its centres."""
    centers = np.array([[1, 1], [1, -1], [-1, 1], [-1, -1]], dtype=np.float32)
    rng = np.random.default_rng(seed)
    return (centers[rng.integers(0, 4, n)] + 0.05 * rng.standard_normal((n, 2))).astype(np.float32), centers


def _image_folder(root: Path, size=8, mode="L", classes=("cat", "dog"), per_class=6, captions=False) -> Path:
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in classes:
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            shape = (size, size) if mode == "L" else (size, size, 3)
            Image.fromarray(rng.integers(0, 255, shape, dtype=np.uint8), mode=mode).save(root / name / f"{i}.png")
    if captions:
        with open(root / "metadata.jsonl", "w") as f:
            for name in classes:
                for i in range(per_class):
                    f.write(json.dumps({"file_name": f"{name}/{i}.png", "text": f"a {name}"}) + "\n")
    return root


# -- item 8: points from the user's files -------------------------------------------------------


def test_points_from_npy_csv_and_saved_datasets_are_vector_data(tmp_path):
    """Guards: .npy, .csv (with or without header) and save_to_disk tables (a list column, or x/y columns)
    load as vector data; on main they were all refused with "No image column found"."""
    import datasets

    points, _ = _mixture(50)
    np.save(tmp_path / "p.npy", points)
    (tmp_path / "p.csv").write_text("\n".join(f"{x},{y}" for x, y in points) + "\n")
    (tmp_path / "h.csv").write_text("x,y,label\n" + "\n".join(f"{x},{y},{'ab'[i % 2]}" for i, (x, y) in enumerate(points)))
    datasets.Dataset.from_dict({"points": points.tolist()}).save_to_disk(str(tmp_path / "listcol"))
    datasets.Dataset.from_dict({"x": points[:, 0].tolist(), "y": points[:, 1].tolist()}).save_to_disk(str(tmp_path / "xy"))
    for name in ("p.npy", "p.csv", "h.csv", "listcol", "xy"):
        data = load_train_dataset(str(tmp_path / name))
        assert (data.kind, data.data_dim, len(data)) == ("vector", 2, 50), name
        torch.testing.assert_close(data.tensors["points"], torch.from_numpy(points), rtol=0, atol=1e-6)
    labelled = load_train_dataset(str(tmp_path / "h.csv"))
    assert labelled.class_names == ["a", "b"] and labelled.tensors["labels"][:4].tolist() == [0, 1, 0, 1]


@pytest.mark.parametrize(
    "name, content, where",
    [
        ("ragged.csv", "1,2\n3,4\n5\n", "line 3 has 1 values"),
        ("words.csv", "x,y\n1,2\n3,abc\n", "line 3 (column 'y') holds 'abc'"),
        ("nan.csv", "1,2\nnan,4\n", "line 2 holds NaN"),
        ("nan.npy", np.array([[0.0, 1.0], [2.0, np.inf]]), "row 1 holds NaN or infinite"),
        ("ragged.npy", np.array([[1.0, 2.0], [3.0]], dtype=object), "cannot read it as a numeric array"),
    ],
)
def test_bad_point_files_name_the_file_and_the_row(tmp_path, name, content, where):
    """Guards: non-numeric, ragged and NaN rows are refused with the file and the row (not a traceback)."""
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content)
    else:
        np.save(path, content, allow_pickle=True)
    with pytest.raises(DataError) as info:
        load_train_dataset(str(path))
    assert str(path) in str(info.value) and where in str(info.value)


def test_messages_name_the_cli_flags():
    """Guards: messages name the flags a CLI user passes, not only Python arguments (was `text_column=`,
    `load_fid_inception(weights_path=...)`)."""
    import datasets

    from hfgen.metrics.inception import _resolve_weights

    table = datasets.Dataset.from_dict({"points": [[0.0, 1.0]] * 4})
    from hfgen.data.loading import _dataset_to_gen

    for arg, flag in (("text_column", "--caption_column"), ("label_column", "--label_column"), ("image_column", "--image_column")):
        with pytest.raises(MissingColumnError, match=flag):
            _dataset_to_gen(table, source="t", image_size=None, num_channels=None, num_samples=None, seed=0, center_crop=True,
                            **{"image_column": None, "label_column": None, "text_column": None, arg: "nope"})
    with pytest.raises(FileNotFoundError, match="--inception_weights"):
        _resolve_weights("/nonexistent/inception.pth")


def test_class_names_reach_the_config_and_the_data_is_described(tmp_path, capsys):
    """Guards: subfolder names become id2label/label2id (were LABEL_0, LABEL_1), and setup prints once
    what it found, saying that captions are not used by the GAN task."""
    from hfgen.training import GANArguments, GANTask

    tiny = dict(generator_channels=8, discriminator_channels=8, latent_dim=8)
    task = GANTask(GANArguments(class_conditional=True, **tiny), batch_size=4)
    task.setup(load_train_dataset(str(_image_folder(tmp_path / "pets"))))
    for model in task.models.values():
        assert model.config.id2label == {0: "cat", 1: "dog"} and model.config.label2id == {"cat": 0, "dog": 1}
    err = capsys.readouterr().err
    assert "12 examples" in err and "8x8 pixels" in err and "2 classes (cat, dog)" in err and "no captions" in err
    GANTask(GANArguments(**tiny), batch_size=4).setup(load_train_dataset(str(_image_folder(tmp_path / "captioned", captions=True))))
    err = capsys.readouterr().err
    assert "captions on 12 of 12" in err and "does not use the captions" in err
    # with a metadata.jsonl `datasets` drops the subfolder classes: hfgen keeps them
    assert "2 classes (cat, dog)" in err


# -- item 8: training on points, the card, evaluating a user's mixture -------------------------------


def test_train_on_npy_card_and_evaluate_own_mixture(tmp_path, capsys):
    """Guards: `hfgen train gan --dataset points.npy` trains the MLP GAN; its card shows no FID/KID as if
    meaningful, no "small classifier", no Hub dataset link for the local file, and the real install
    command; `hfgen evaluate --mixture_centers/--mixture_std` scores it with the PacGAN protocol."""
    from hfgen.training import main

    points, centers = _mixture()
    np.save(tmp_path / "points.npy", points)
    np.savetxt(tmp_path / "centers.csv", centers, delimiter=",")
    out = tmp_path / "run"
    main("gan", ["--dataset", str(tmp_path / "points.npy"), "--output_dir", str(out), "--max_train_steps", "3",
                 "--train_batch_size", "16", "--final_eval_samples", "50", *TINY_MLP, *QUIET])
    assert "2-D points" in capsys.readouterr().err
    record = json.loads((out / "logs" / "training_args.json").read_text())["data"]
    assert record["source"] == "local" and record["kind"] == "vector" and "points.npy" in record["description"]
    assert str(tmp_path) not in record["description"]
    assert set(json.loads((out / "eval_results.json").read_text())["metrics"]) == {"precision", "recall", "density", "coverage"}
    card = (out / "README.md").read_text()
    assert "huggingface.co/datasets" not in card and "datasets:" not in card.split("---")[1]
    assert "small classifier" not in card and "FID" not in card
    assert "a local set of points (`points.npy`)" in card
    assert "pip install hfgen`" not in card and "pip install -e ." in card

    report = tmp_path / "mix.json"
    rc = cli_evaluate(["--model", str(out), "--dataset", str(tmp_path / "points.npy"), "--num_samples", "200",
                       "--mixture_centers", str(tmp_path / "centers.csv"), "--mixture_std", "0.05", "--output", str(report)])
    assert rc == 0
    result = json.loads(report.read_text())
    assert set(result["metrics"]) == {"modes", "num_modes", "high_quality_fraction", "reverse_kl"}
    assert result["metrics"]["num_modes"] == 4
    assert result["protocol"]["metric_settings"]["mixture_std"] == 0.05
    # the same scorer as ring8/grid25, on the same samples
    from hfgen import GANPipeline
    from hfgen.metrics import score_mixture

    pipe = GANPipeline.from_pretrained(str(out))
    evaluator = Evaluator(str(tmp_path / "points.npy"), num_samples=200, mixture_centers=centers, mixture_std=0.05)
    samples = evaluator.generate(pipe).numpy()
    assert score_mixture(samples, centers, 0.05) == result["metrics"]


def test_mixture_flags_are_checked():
    """Guards: one of the two mixture flags alone, or centres of another dimension, are refused by name."""
    points, centers = _mixture(40)
    data = GenDataset({"points": torch.from_numpy(points)}, kind="vector", data_dim=2, name="mine")
    with pytest.raises(EvaluationError, match="--mixture_std"):
        Evaluator(data, mixture_centers=centers, num_samples=40)
    with pytest.raises(EvaluationError, match="3-D centres"):
        Evaluator(data, mixture_centers=np.zeros((4, 3)), mixture_std=0.1, num_samples=40)
    with pytest.raises(EvaluationError, match="--mixture_centers"):
        Evaluator(data, metrics="modes", num_samples=40)


# -- item 5: evaluate on converted images; one sample minimum -----------------------------------------


def _gray8_model(folder: Path) -> Path:
    from hfgen import GANPipeline
    from hfgen.models import DCGANConfig, DCGANGenerator

    torch.manual_seed(0)
    config = DCGANConfig(image_size=8, num_channels=1, latent_dim=8, generator_channels=8, discriminator_channels=8)
    GANPipeline(gan_generator=DCGANGenerator(config)).save_pretrained(str(folder))
    return folder


def test_evaluate_refuses_other_channels_and_records_conversions(tmp_path, capsys):
    """Guards: an 8x8 grey model against 32x32 RGB images was scored after a silent conversion with
    "resize: none; channels: as is" in the protocol. Now: refused unless --num_channels asks for it;
    the resize and the conversion are warned about and recorded."""
    model = _gray8_model(tmp_path / "model")
    images = _image_folder(tmp_path / "rgb", size=32, mode="RGB", per_class=10)
    common = ["--model", str(model), "--dataset", str(images), "--num_samples", "20", "--metrics", "fid,classes"]
    assert cli_evaluate(common + ["--output", str(tmp_path / "a.json")]) == 2
    err = capsys.readouterr().err
    assert "grey (1 channel)" in err and "RGB (3 channels)" in err and "--num_channels 1" in err
    assert cli_evaluate(common + ["--num_channels", "1", "--output", str(tmp_path / "b.json")]) == 0
    captured = capsys.readouterr()
    assert "resized from 32 px" in captured.err and "converted RGB to grey" in captured.err
    protocol = json.loads((tmp_path / "b.json").read_text())["protocol"]
    assert protocol["real_data_conversion"] == "resized from 32 px (shorter side) to 8x8; converted RGB to grey"
    assert "real data:  resized from 32 px" in captured.out


def test_one_sample_minimum_checked_up_front():
    """Guards: --num_samples 4 passed the first check, then k-NN with k=5 failed; now the minimum
    (k + 1 for the k-NN metrics) is checked once, naming the flag, and that many samples work."""
    points, _ = _mixture(200)
    data = GenDataset({"points": torch.from_numpy(points)}, kind="vector", data_dim=2, name="mine")
    assert Evaluator.min_samples(["pr", "coverage"]) == 6 and Evaluator.min_samples(["modes"]) == 4
    with pytest.raises(EvaluationError, match=r"--num_samples 4 .* at least 6"):
        Evaluator(data, num_samples=4)
    evaluator = Evaluator(data, num_samples=6)
    assert evaluator.metrics == ["pr", "coverage"]  # vector data: no FID/KID by default
    assert set(evaluator.evaluate_samples(torch.from_numpy(points[:6]))["metrics"]) == {"precision", "recall", "density", "coverage"}
    with pytest.raises(EvaluationError, match=r"--floors .* --num_samples 12 or more"):
        evaluator.floors()
    assert Evaluator(data, num_samples=12).floors()["real_vs_real"]["n_real"] == 6


# -- item 9: the vector default recipe; coverage that stays low ---------------------------------------


def test_preset_auto_is_the_mixture_recipe_for_vectors_only():
    """Guards: the default (vanilla) ended ring8 at 0/8 modes; `auto` now trains vectors with the
    benchmark's pacgan4-hinge recipe, keeps vanilla for images, and explicit flags/presets still win."""
    from hfgen.training import GANArguments, GANTask

    ring = load_train_dataset("ring8", num_samples=64)
    task = GANTask(GANArguments(), batch_size=16)
    task.setup(ring)
    config = task.models["discriminator"].config
    assert task.settings["preset"] == "pacgan4-hinge" and task.settings["loss"] == "hinge" and task.settings["n_critic"] == 5
    assert (config.discriminator_pack, config.latent_dim, config.generator_layers, config.generator_hidden_dim) == (4, 2, 4, 200)
    assert task.learning_rate == 1e-3 and task.describe()["preset_fills"]["pack"] == 4

    explicit = GANTask(GANArguments(preset="vanilla"), batch_size=16)
    explicit.setup(ring)
    assert explicit.settings["loss"] == "vanilla" and explicit.models["generator"].config.discriminator_pack == 1
    mine = GANTask(GANArguments(latent_dim=5, n_critic=2), learning_rate=3e-4, batch_size=16)
    mine.setup(ring)
    assert (mine.models["generator"].config.latent_dim, mine.settings["n_critic"], mine.learning_rate) == (5, 2, 3e-4)
    images = GANTask(GANArguments(generator_channels=8, discriminator_channels=8, latent_dim=8), batch_size=16)
    images.setup(load_train_dataset("digits", num_samples=32))
    assert images.settings["preset"] == "vanilla"
    with pytest.raises(Exception, match="multiple of 4"):
        GANTask(GANArguments(), batch_size=10).setup(ring)


def test_collapse_monitor_warns_when_coverage_stays_low(caplog):
    """Guards: a run that never covered half the modes (0-1 of 8) stayed silent, having nothing to
    "fall" from. Now one alarm after a third of training (or after 3 evaluations without total_steps)."""
    never = [(1000, 1), (2000, 0), (3000, 1), (4000, 0), (5000, 1), (6000, 0)]
    monitor = CollapseMonitor(total_steps=6000)
    alarms = {step: monitor.update(step, {"modes": m, "num_modes": 8}) for step, m in never}
    assert [s for s, a in alarms.items() if a] == [2000]
    assert "stayed low" in alarms[2000][0] and "1 of 8 modes" in alarms[2000][0]
    blind = CollapseMonitor()
    assert [s for s, m in never if blind.update(s, {"modes": m, "num_modes": 8})] == [3000]
    restored = CollapseMonitor()
    restored.load_state_dict(json.loads(json.dumps(monitor.state_dict())))
    assert restored.update(7000, {"modes": 0, "num_modes": 8}) == []  # warned once, also after a resume

    good = CollapseMonitor(total_steps=6000)
    assert not any(good.update(s, {"modes": m, "num_modes": 8}) for s, m in [(1000, 6), (2000, 8), (3000, 8)])
    classes = CollapseMonitor(total_steps=300)
    assert [s for s, c in [(100, 3), (200, 4), (300, 4)] if classes.update(s, {"classes_covered": c})] == [100]


# -- CLI help, temporary folders -------------------------------------------------------------------


def test_train_help_names_the_command_and_no_export_reads_right(capsys):
    """Guards: `hfgen train gan --help` began `usage: hfgen [-h]`, and --no_export's help said "Export"."""
    from hfgen.cli import main

    with pytest.raises(SystemExit) as info:
        main(["train", "gan", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: hfgen train gan [-h]")
    no_export = out.split("--no_export, --no-export")[1].split("\n  --")[0]
    assert "skips the export" in " ".join(no_export.split())


def test_test_runs_and_bench_train_leave_no_temporary_folders(tmp_path):
    """Guards: every test run left an `hfgen-tests-hf-home-*` folder, every bench_train run an
    `hfgen-bench-train-<pid>` folder, in the temporary directory."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "conftest.py").write_text((ROOT / "tests" / "conftest.py").read_text())
    (suite / "test_nothing.py").write_text("def test_nothing():\n    pass\n")
    env = {**os.environ, "TMPDIR": str(scratch), "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(suite)], check=True, env=env,
                   cwd=suite, capture_output=True, text=True, timeout=120)
    subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_train.py"), "--steps", "2", "--batch_size", "8", "--repeats", "1",
                    "--threads", "1", "--out", str(tmp_path / "train.json")],
                   check=True, env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert sorted(p.name for p in scratch.iterdir()) == []


def test_card_never_links_local_data_as_a_hub_dataset(tmp_path, monkeypatch):
    """Guards: a card linked `huggingface.co/datasets/<local folder>`. The source recorded at training
    time decides; without a record, a relative path that exists or a points file is local too."""
    from hfgen.hub.cards import _dataset_info

    monkeypatch.chdir(tmp_path)
    (tmp_path / "data" / "pets").mkdir(parents=True)
    recorded = _dataset_info({"training": {"dataset": "elsewhere/pets"}, "data": {"source": "local", "kind": "image"}})
    assert (recorded["kind"], recorded["hub_id"], recorded["name"]) == ("local", None, "pets")
    for name in ("data/pets", "me/points.npy", "me/points.csv"):
        info = _dataset_info({"training": {"dataset": name}})
        assert info["kind"] == "local" and info["hub_id"] is None and "huggingface.co" not in info["description"], name
    assert "points" in _dataset_info({"training": {"dataset": "me/points.npy"}})["description"]
    assert _dataset_info({"training": {"dataset": "owner/name"}, "data": {"source": "hub"}})["hub_id"] == "owner/name"
