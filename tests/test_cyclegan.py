"""CycleGAN through its three doors: the embedded unpaired domains and their classifiers, the image pool,
the cyclegan task (exact resume, two processes), the pipeline (with and without hfgen, from a folder and a
Hub repo id), `hfgen evaluate` / `hfgen sample` / the card, and the bad inputs of issue 13."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from hfgen.training import ConfigurationError, TrainingArguments, Trainer
from hfgen.training.cyclegan import CycleGANArguments, CycleGANTask
from hfgen.training.image_pool import ImagePool

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--generator_channels", "4", "--discriminator_channels", "4", "--n_blocks", "1"]
pytestmark = pytest.mark.usefixtures("one_torch_thread")


# ----------------------------------------------------------------------------- data and classifiers


def test_embedded_domains_are_disjoint_styled_and_their_classifiers_read_them():
    """Guards the embedded data: the two domains come from disjoint halves of mnist5k (no image in both), B is
    restyled (bright background, blue ink), both are 32x32 RGB with held-out test images, and each shipped
    classifier reproduces its recorded held-out accuracy on its own domain (and is checked by sha256)."""
    from hfgen.data.styled_digits import _halves, load_styled_digits
    from hfgen.metrics.styled_digits import classifier_metadata, classify_domain

    _, _, perm = _halves()
    assert len(set(perm[:2500]) & set(perm[2500:])) == 0 and len(set(perm)) == 5000
    train, test = load_styled_digits("train"), load_styled_digits("test")
    a, b = train["domain_a"].tensors["pixel_values"], train["domain_b"].tensors["pixel_values"]
    assert a.shape[1:] == b.shape[1:] == (3, 32, 32) and len(test["domain_a"]) == len(test["domain_b"]) == 250
    corner_a, corner_b = a[:, :, 0, 0].mean(0), b[:, :, 0, 0].mean(0)
    assert (corner_a < -0.99).all() and corner_b[0] > 0.5 and corner_b[2] < corner_b[0]  # black vs yellow paper
    for domain in ("domain_a", "domain_b"):
        data = test[domain].tensors
        predicted = classify_domain(data["pixel_values"], domain)["predictions"]
        accuracy = float((predicted == data["labels"]).float().mean())
        assert accuracy == pytest.approx(classifier_metadata(domain)["test_accuracy"], abs=1e-6) and accuracy > 0.95
    # The classifiers are domain-specific: A's classifier reads plain digits, far worse B's style.
    wrong_style = classify_domain(test["domain_b"].tensors["pixel_values"], "domain_a")["predictions"]
    assert float((wrong_style == test["domain_b"].tensors["labels"]).float().mean()) < 0.9


def test_domain_classifiers_are_feature_extractors_of_the_evaluation_package():
    """Guards the extractors `mnist5k-unpaired-a` / `-b` (hfgen.evaluation.features), through which CycleGAN's FID and
    content accuracy run: each names its own domain's classifier (sha256 recorded), its class probabilities read
    that domain's held-out digits as the classifier does, and images of another size or grey ones are adapted as
    the protocol's resize / channels notes say instead of failing."""
    import torch.nn.functional as F

    from hfgen.data.styled_digits import load_styled_digits
    from hfgen.evaluation import EXTRACTORS, FeatureExtractor
    from hfgen.metrics.styled_digits import classifier_metadata

    test = load_styled_digits("test").domains
    for name, domain in (("mnist5k-unpaired-a", "domain_a"), ("mnist5k-unpaired-b", "domain_b")):
        assert name in EXTRACTORS
        extractor = FeatureExtractor(name, torch.device("cpu"), 100)
        assert extractor.sha256 == classifier_metadata(domain)["sha256"] and domain in extractor.label
        data = test[domain].tensors
        features, probs = extractor(data["pixel_values"])
        assert features.shape == (250, 128) and probs.shape == (250, 10) and np.allclose(probs.sum(1), 1)
        accuracy = float((probs.argmax(1) == data["labels"].numpy()).mean())
        assert accuracy == pytest.approx(classifier_metadata(domain)["test_accuracy"], abs=1e-6)
    small = F.interpolate(test["domain_b"].tensors["pixel_values"][:8], size=(16, 16), mode="bilinear")
    assert extractor(small)[0].shape == (8, 128) and extractor.resize_note(16) == "bilinear to 32x32"
    assert extractor(small.mean(1, keepdim=True))[0].shape == (8, 128) and extractor.channels_note(1) == "grey repeated to 3 channels"


# ----------------------------------------------------------------------------- image pool


def test_image_pool_fills_then_swaps_half_of_the_time_and_round_trips():
    """Guards the pool: off (0) returns its input; while filling it returns the new fakes and stores them; once full
    about half the rows are stored fakes (swapped with the new ones); state_dict/load_state_dict restore it exactly."""
    off = ImagePool(0)
    x = torch.randn(3, 1, 2, 2)
    assert torch.equal(off.query(x), x) and len(off) == 0
    pool = ImagePool(4)
    g = torch.Generator().manual_seed(0)
    first = torch.arange(4.0).reshape(4, 1, 1, 1)
    assert torch.equal(pool.query(first, g), first) and len(pool) == 4
    new = 100.0 + torch.arange(200.0).reshape(200, 1, 1, 1)
    out = pool.query(new, g)
    from_pool = (out != new).flatten()
    assert 60 < int(from_pool.sum()) < 140  # p = 1/2 of being swapped
    copy = ImagePool(4)
    copy.load_state_dict(pool.state_dict())
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    batch = torch.randn(10, 1, 1, 1)
    assert torch.equal(pool.query(batch, g1), copy.query(batch, g2))
    with pytest.raises(ValueError, match="--pool_size 4"):
        ImagePool(8).load_state_dict(pool.state_dict())


# ----------------------------------------------------------------------------- training


def _trainer(out, steps, resume=None, **extra):
    args = TrainingArguments(dataset="mnist5k-unpaired", output_dir=str(out), max_train_steps=steps, train_batch_size=2,
                             max_train_samples=12, checkpointing_steps=2, sample_steps=0, logging_steps=1, report_to="none",
                             final_eval_samples=0, export=False, resume_from_checkpoint=resume, disable_tqdm=True,
                             lr_scheduler="constant", **extra)
    task = CycleGANTask(CycleGANArguments(generator_channels=4, discriminator_channels=4, n_blocks=1, pool_size=3))
    return Trainer(task, args)


def test_resume_is_bitwise_exact_for_all_four_models_and_both_pools(tmp_path, caplog):
    """Guards resume: 4 steps straight == 2 steps + resume + 2 steps, bitwise on CPU, for G, F, D_X, D_Y, both
    optimizers' states and both image pools (pool size 3 < the 8 fakes drawn, so the pools were swapping).
    Also: the loop's NaN/saturation check of the outputs runs on translations (Task.output_samples), not skipped."""
    from hfgen.training.state import load_state_tree

    straight = _trainer(tmp_path / "straight", 4)
    straight.train()
    _trainer(tmp_path / "resumed", 2).train()
    resumed = _trainer(tmp_path / "resumed", 4, resume="latest")
    assert resumed.train()["resumed_from_step"] == 2
    for name in ("generator_a_to_b", "generator_b_to_a", "discriminator_a", "discriminator_b"):
        a, b = straight.task.models[name].state_dict(), resumed.task.models[name].state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a), name
    for key in ("a", "b"):
        pa, pb = straight.task.pools[key], resumed.task.pools[key]
        assert len(pa) == 3 and torch.equal(pa.images, pb.images), key
    sa, sb = (load_state_tree(p / "checkpoints" / "checkpoint-4") for p in (tmp_path / "straight", tmp_path / "resumed"))
    assert torch.equal(sa["task"][0]["pool_b"]["images"], sb["task"][0]["pool_b"]["images"])
    flat_a = {k: v for k, v in sa["optimizers"]["discriminators"]["state"].items()}
    flat_b = sb["optimizers"]["discriminators"]["state"]
    assert all(torch.equal(flat_a[k]["exp_avg"], flat_b[k]["exp_avg"]) for k in flat_a)
    assert "check of generated outputs was skipped" not in caplog.text
    outputs = straight.task.output_samples(straight.task.build_pipeline(straight.task.models), None)
    assert outputs.shape == (2 * 128, 32, 32, 3) and 0 <= outputs.min() and outputs.max() <= 1


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny `hfgen train cyclegan` run on the embedded default (no --dataset), exported with card and evaluation."""
    from hfgen.cli import main

    out = tmp_path_factory.mktemp("cyclegan") / "run"
    code = main(["train", "cyclegan", "--output_dir", str(out), "--max_train_steps", "2", "--max_train_samples", "16",
                 "--report_to", "none", "--checkpointing_steps", "0", "--sample_steps", "0", "--final_eval_samples", "20",
                 "--disable_tqdm", "--num_sample_images", "4", "--logging_steps", "1", *TINY])
    assert code == 0
    return out


@pytest.mark.filterwarnings("ignore:FID with n <= d")
def test_hfgen_train_cyclegan_exports_pipeline_card_grid_and_evaluation(trained):
    """Guards door 2 and the card: the default data are mnist5k-unpaired (recorded so), the folder holds the
    pipeline (G and F), D_X and D_Y as training components, the 6-row input/translated/reconstructed grid, both
    directions' metrics and their mean FID in eval_results.json and in the card's table and model-index."""
    from huggingface_hub import ModelCard
    from PIL import Image

    index = json.loads((trained / "model_index.json").read_text())
    assert index["_class_name"] == ["pipeline_cyclegan", "CycleGANPipeline"]
    assert index["generator_a_to_b"] == ["modeling_image2image", "ResnetGenerator"] and "discriminator_a" not in index
    assert (trained / "discriminator_a" / "model.safetensors").is_file() and (trained / "discriminator_b" / "config.json").is_file()
    recorded = json.loads((trained / "logs" / "training_args.json").read_text())
    assert recorded["training"]["dataset"] == "mnist5k-unpaired" and recorded["training"]["train_batch_size"] == 1
    # The reference code's schedule by default: constant for the first half of the steps, then linear decay.
    assert recorded["training"]["lr_scheduler"] == "constant_then_linear" and recorded["training"]["lr_decay_steps"] == 1
    history = json.loads((trained / "logs" / "history.json").read_text())
    assert [row["lr"] for row in history] == [pytest.approx(1e-4), pytest.approx(0.0)]
    grid = Image.open(trained / "samples.png")
    assert grid.height > grid.width / 4 * 6 * 0.9  # 6 rows of 4 images (with padding)
    results = json.loads((trained / "eval_results.json").read_text())
    for direction in ("a_to_b", "b_to_a"):
        for metric in ("fid", "content_accuracy", "cycle_l1"):
            assert f"{direction}_{metric}" in results["metrics"]
    card = ModelCard.load(trained / "README.md")
    values = {r.metric_type: r.metric_value for r in card.data.eval_results}
    assert values["b_to_a_content_accuracy"] == pytest.approx(results["metrics"]["b_to_a_content_accuracy"])
    text = (trained / "README.md").read_text()
    assert "Content kept (target classifier gives the source label) (B -> A)" in text and "F(G(a))" in text
    # The mean FID (the score of best/) is named as such in the table, the model-index and the card's prose.
    assert values["fid"] == pytest.approx((results["metrics"]["a_to_b_fid"] + results["metrics"]["b_to_a_fid"]) / 2)
    assert "| FID, mean of A -> B and B -> A |" in text and "keeps its best model in `best/`" in text
    assert any(r.metric_type == "fid" and r.metric_name.startswith("FID, mean of A -> B and B -> A") for r in card.data.eval_results)
    assert card.data.pipeline_tag == "image-to-image"


@pytest.mark.filterwarnings("ignore:FID with n <= d")
def test_hfgen_evaluate_prints_both_directions_and_sample_translates_an_input(trained, tmp_path, capsys):
    """Guards door 3's commands: `hfgen evaluate` on a CycleGAN folder prints and writes both directions and their
    mean FID; `hfgen sample --input FILE --direction b_to_a` writes F's translation (not G's), `--input FOLDER` an
    input|output grid and each translation (the reader and grid writer Pix2Pix uses); bad flags are refused by name."""
    from PIL import Image

    from hfgen.cli import main
    from hfgen.pipelines import CycleGANPipeline

    out = tmp_path / "eval.json"
    assert main(["evaluate", "--model", str(trained), "--dataset", "mnist5k-unpaired", "--num_samples", "10", "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "A -> B" in printed and "B -> A" in printed and "content_accuracy" in printed and "fid (mean)" in printed
    report = json.loads(out.read_text())
    assert report["protocol"]["n_generated"] == 10 and "a_to_b_fid" in report["metrics"]
    folder = tmp_path / "inputs"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(folder / f"d{i}.png")
    one = tmp_path / "one.png"
    assert main(["sample", "--model", str(trained), "--input", str(folder / "d0.png"), "--direction", "b_to_a", "--output", str(one)]) == 0
    pipe = CycleGANPipeline.from_pretrained(trained)
    with Image.open(folder / "d0.png") as source:
        expected = {d: np.asarray(pipe(source, direction=d).images[0]) for d in ("a_to_b", "b_to_a")}
    written = np.asarray(Image.open(one))
    assert written.shape == (32, 32, 3) and np.array_equal(written, expected["b_to_a"])
    assert not np.array_equal(expected["a_to_b"], expected["b_to_a"])  # the check above can tell the directions apart
    grid = tmp_path / "grid.png"
    assert main(["sample", "--model", str(trained), "--input", str(folder), "--output", str(grid)]) == 0  # a_to_b by default
    assert sorted(os.listdir(tmp_path / "grid")) == ["d0.png", "d1.png", "d2.png"]
    assert Image.open(grid).width > 5 * Image.open(grid).height  # one row of 3 (input | output) pairs
    assert np.array_equal(np.asarray(Image.open(tmp_path / "grid" / "d0.png")), expected["a_to_b"])
    capsys.readouterr()
    assert main(["sample", "--model", str(trained), "--input", str(folder), "--direction", "sideways"]) == 1
    assert "--direction 'sideways'" in capsys.readouterr().err
    assert main(["sample", "--model", str(trained), "--direction", "b_to_a"]) == 1
    err = capsys.readouterr().err
    assert "--input IMAGE_OR_FOLDER" in err and "--direction a_to_b or b_to_a" in err


@pytest.mark.filterwarnings("ignore:FID with n <= d")
def test_cyclegan_evaluator_is_a_translation_evaluator_per_direction_with_the_old_numbers(trained):
    """Guards the unified evaluation (hfgen.evaluation.image2image): each direction's FID and content accuracy equal
    the direct computation of issue 13's protocol (the target domain's classifier on the translations, FID against
    ALL held-out images of the target domain, not a subset), the metric names stay, and `fid` is the mean of the two
    directions' FIDs, named so in the card."""
    from hfgen.data.styled_digits import load_styled_digits
    from hfgen.evaluation.image2image import CycleGANEvaluator, TranslationEvaluator
    from hfgen.hub.cards import _evaluation
    from hfgen.metrics.distances import fid_from_features
    from hfgen.metrics.styled_digits import classify_domain
    from hfgen.pipelines import CycleGANPipeline

    pipe = CycleGANPipeline.from_pretrained(trained)
    evaluator = CycleGANEvaluator("mnist5k-unpaired", num_samples=12, seed=3)
    result = evaluator(pipe)
    assert set(result["metrics"]) == {f"{d}_{m}" for d in ("a_to_b", "b_to_a") for m in ("fid", "content_accuracy", "cycle_l1")} | {"fid"}
    assert set(result["details"]) == {"a_to_b_untranslated_accuracy", "b_to_a_untranslated_accuracy"}
    test = load_styled_digits("test").domains
    for direction, (source, target) in (("a_to_b", ("domain_a", "domain_b")), ("b_to_a", ("domain_b", "domain_a"))):
        sampler, scorer = evaluator.directions[direction]
        assert isinstance(scorer, TranslationEvaluator) and scorer.sampler.call_kwargs == {"direction": direction}
        x, labels = sampler.inputs, sampler.labels
        assert len(x) == 12
        translated = (pipe(image=(x + 1) / 2, direction=direction, output_type="pt").images * 2 - 1).float()
        fake = classify_domain(translated, target)
        real = classify_domain(test[target].tensors["pixel_values"], target)
        assert len(real["features"]) == len(test[target]) > 12  # the whole held-out target domain
        fid = fid_from_features(real["features"].numpy(), fake["features"].numpy())
        assert result["metrics"][f"{direction}_fid"] == pytest.approx(fid, rel=1e-9)
        accuracy = float((fake["predictions"] == labels).float().mean())
        assert result["metrics"][f"{direction}_content_accuracy"] == pytest.approx(accuracy, abs=1e-6)
        back = "b_to_a" if direction == "a_to_b" else "a_to_b"
        cycle = pipe(image=(translated + 1) / 2, direction=back, output_type="pt").images * 2 - 1
        assert result["metrics"][f"{direction}_cycle_l1"] == pytest.approx(float((cycle - x).abs().mean()), rel=1e-5)
    assert result["metrics"]["fid"] == pytest.approx((result["metrics"]["a_to_b_fid"] + result["metrics"]["b_to_a_fid"]) / 2)
    assert result["protocol"]["n_real"] == 250 and result["protocol"]["n_generated"] == 12
    rows = {row["key"]: row["label"] for row in _evaluation(result, trained / "eval_results.json")["rows"]}
    assert rows["fid"] == "FID, mean of A -> B and B -> A" and rows["a_to_b_fid"] == "FID vs the target domain (A -> B)"


@pytest.mark.filterwarnings("ignore:FID with n <= d")
def test_eval_steps_keep_a_loadable_best_at_the_step_of_the_best_mean_fid(tmp_path):
    """Guards `best/` for CycleGAN (issue 13): with --eval_steps the generic loop keeps the model of the lowest mean
    FID (`fid`, the only score the collapse monitor ranks CycleGAN by): best/ loads as a CycleGANPipeline and its
    recorded step and metrics are those of the history row with the lowest eval/fid."""
    from hfgen.cli import main
    from hfgen.pipelines import CycleGANPipeline

    out = tmp_path / "run"
    assert main(["train", "cyclegan", "--output_dir", str(out), "--max_train_steps", "6", "--max_train_samples", "16",
                 "--report_to", "none", "--checkpointing_steps", "0", "--sample_steps", "0", "--final_eval_samples", "0",
                 "--eval_steps", "2", "--eval_samples", "8", "--disable_tqdm", "--learning_rate", "0.01", *TINY]) == 0
    rows = [r for r in json.loads((out / "logs" / "history.json").read_text()) if "eval/fid" in r]
    assert [r["step"] for r in rows] == [2, 4, 6]
    best_row = min(rows, key=lambda r: r["eval/fid"])
    recorded = json.loads((out / "best" / "eval_results.json").read_text())
    assert recorded["step"] == best_row["step"] and recorded["metrics"]["fid"] == pytest.approx(best_row["eval/fid"])
    # The three evaluations differ and the best is not the last: keeping the latest model would fail here.
    assert len({r["eval/fid"] for r in rows}) == 3 and best_row["step"] != rows[-1]["step"]
    pipe = CycleGANPipeline.from_pretrained(out / "best")
    assert pipe(torch.rand(1, 3, 32, 32), direction="b_to_a", output_type="pt").images.shape == (1, 3, 32, 32)


@pytest.fixture
def hub(monkeypatch, tmp_path):
    from hfgen.hub.testing import LocalHubServer, patch_huggingface_hub

    with LocalHubServer() as server:
        patch_huggingface_hub(monkeypatch, server, tmp_path / "hf_home")
        yield server


def test_pipeline_loads_with_hfgen_and_without_from_folder_and_pushed_repo_id(trained, tmp_path, hub, run_without_hfgen):
    """Guards door 1: CycleGANPipeline.from_pretrained and load_pipeline read the export; after `hfgen push`, a process
    without hfgen loads the REPO ID (and the folder) with DiffusionPipeline.from_pretrained(trust_remote_code=True) and
    translates both ways exactly as hfgen does; the discriminators load by repo id with AutoModel."""
    from hfgen.hub import cli_push
    from hfgen.pipelines import CycleGANPipeline, load_pipeline

    pipe = CycleGANPipeline.from_pretrained(trained)
    assert type(load_pipeline(trained)) is CycleGANPipeline
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    expected = {d: pipe(x, direction=d, output_type="np").images for d in ("a_to_b", "b_to_a")}
    assert not np.allclose(expected["a_to_b"], expected["b_to_a"])  # two different generators
    torch.save(x, tmp_path / "x.pt")
    assert cli_push([str(trained), "test-user/cyclegan"]) == 0
    out = tmp_path / "no_hfgen.npz"
    stdout = run_without_hfgen(f"""
        import numpy as np, torch
        from diffusers import DiffusionPipeline
        from transformers import AutoModel
        x = torch.load({str(tmp_path / "x.pt")!r})
        results = {{}}
        for source in ("test-user/cyclegan", {str(trained)!r}):
            pipe = DiffusionPipeline.from_pretrained(source, trust_remote_code=True)
            print("CLASS", type(pipe).__name__)
            for d in ("a_to_b", "b_to_a"):
                results[source.replace("/", "_") + d] = pipe(x, direction=d, output_type="np").images
        d = AutoModel.from_pretrained("test-user/cyclegan", subfolder="discriminator_b", trust_remote_code=True)
        print("D", type(d).__name__, tuple(d(x * 2 - 1).shape))
        np.savez({str(out)!r}, **results)
    """)
    assert stdout.count("CLASS CycleGANPipeline") == 2 and "D PatchDiscriminator (2, 1, 6, 6)" in stdout
    result = np.load(out)
    for key in result.files:
        np.testing.assert_allclose(result[key], expected[key[-6:]], atol=1e-5)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_two_real_processes_train_cyclegan(tmp_path):
    """Guards distributed training: `accelerate launch --multi_gpu --num_processes 2 scripts/train_cyclegan.py` on a
    trainA/trainB folder ends with equal weights on both ranks and a checkpoint holding each rank's own pools; the final
    evaluation uses the folder's testA/testB."""
    from PIL import Image

    from hfgen.training.state import load_state_tree

    data = tmp_path / "data"
    rng = np.random.default_rng(0)
    for side in ("trainA", "trainB", "testA", "testB"):
        (data / side).mkdir(parents=True)
        for i in range(8 if side.startswith("train") else 3):
            Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(data / side / f"{i}.png")
    out = tmp_path / "ddp"
    env = dict(os.environ, ACCELERATE_USE_CPU="true", OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(_free_port()),
           str(ROOT / "scripts" / "train_cyclegan.py"), "--dataset", str(data), "--output_dir", str(out), "--max_train_steps", "2",
           "--train_batch_size", "2", "--checkpointing_steps", "2", "--sample_steps", "0", "--final_eval_samples", "4",
           "--disable_tqdm", "--discriminator_layers", "1", *TINY]
    from conftest import launch_two_processes

    stdout, stderr, summary = launch_two_processes(cmd, env, out, timeout=400)
    state = load_state_tree(out / "checkpoints" / "checkpoint-2")
    pools = [s["pool_a"]["images"] for s in state["task"]]
    assert len(pools) == 2 and pools[0].shape == (4, 3, 16, 16) and not torch.equal(pools[0], pools[1])
    evaluation = json.loads((out / "eval_results.json").read_text())
    assert "b_to_a_cycle_l1" in evaluation["metrics"] and "fid" not in " ".join(evaluation["metrics"])  # no classifier: no FID
    assert evaluation["protocol"]["split"] == "testA/testB" and evaluation["protocol"]["n_generated"] == 3  # held out, not trained on


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(pool_size=-1), "--pool_size must be an integer >= 0"),
        (dict(lambda_cycle=-1.0), "--lambda_cycle must be >= 0"),
        (dict(lambda_identity=-0.5), "--lambda_identity must be >= 0"),
        (dict(lambda_cycle=0.0), "--lambda_identity is relative to --lambda_cycle"),
        (dict(loss="nope"), "--loss"),
    ],
)
def test_bad_settings_are_refused_naming_the_flag(kwargs, match):
    """Guards the settings checks: each bad value gets an error naming the CLI flag and the fix."""
    with pytest.raises(ConfigurationError, match=match):
        CycleGANTask(CycleGANArguments(**kwargs))


def test_bad_direction_is_refused(trained):
    """Guards `direction`: anything but a_to_b / b_to_a is an error naming both."""
    from hfgen.pipelines import CycleGANPipeline

    with pytest.raises(ValueError, match="'a_to_b' .* or 'b_to_a'"):
        CycleGANPipeline.from_pretrained(trained)(torch.rand(3, 32, 32), direction="sideways")


def _folder(root, channels=(3, 3), counts=(4, 4)):
    from PIL import Image

    for side, c, n in zip(("trainA", "trainB"), channels, counts):
        (root / side).mkdir(parents=True)
        for i in range(n):
            mode = "RGB" if c == 3 else "L"
            Image.new(mode, (16, 16), "white" if mode == "L" else "red").save(root / side / f"{i}.png")
    return root


def test_one_empty_domain_is_an_error_naming_it(tmp_path):
    """Guards an empty domain: the error says which domain is empty and how to fix it."""
    from hfgen.training import main

    data = _folder(tmp_path / "d", counts=(4, 0))
    with pytest.raises(SystemExit, match="Domain B is empty"):
        main("cyclegan", ["--dataset", str(data), "--output_dir", str(tmp_path / "o"), "--max_train_steps", "1", *TINY])


def test_domains_of_different_channel_counts_are_converted_to_rgb_and_said(tmp_path, capsys):
    """Guards mixed channels: a grey domain A and an RGB domain B are both loaded as RGB, with a note naming
    --num_channels; with --num_channels 1 and the identity loss the run trains in grey."""
    data = _folder(tmp_path / "d", channels=(1, 3))
    args = TrainingArguments(dataset=str(data), output_dir=str(tmp_path / "o"), max_train_steps=1)
    task = CycleGANTask(CycleGANArguments())
    loaded = task.load_dataset(args)
    assert {d.num_channels for d in loaded.domains.values()} == {3}
    assert "converting both to RGB" in capsys.readouterr().err
    grey = TrainingArguments(dataset=str(data), output_dir=str(tmp_path / "o"), max_train_steps=1, num_channels=1)
    assert {d.num_channels for d in task.load_dataset(grey).domains.values()} == {1}


def test_bench_cyclegan_runs_end_to_end_at_tiny_scale(tmp_path):
    """Guards scripts/bench_cyclegan.py (no timing asserted): one tiny run writes the speed comparison, a run row with
    both directions' metrics, a per-variant summary, and labels itself as reduced, not as the issue's protocol."""
    out = tmp_path / "bench.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_cyclegan.py"), "--tiny", "--variants", "no_cycle", "--output", str(out)],
                   check=True, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    report = json.loads(out.read_text())
    assert report["speed"]["ratio_hfgen_over_plain"] > 0 and report["protocol"]["full_protocol"] is False
    assert "REDUCED" in report["protocol"]["label"] and report["protocol"]["variants"] == {"no_cycle": {"lambda_cycle": 0.0, "lambda_identity": 0.0}}
    (row,) = report["runs"]
    assert row["steps"] >= 2 and {"a_to_b_content_accuracy", "b_to_a_fid", "b_to_a_cycle_l1"} <= set(row["metrics"])
    assert report["summary"]["no_cycle"]["goal_content_90_both_directions"] in (True, False)


def test_save_to_disk_dataset_with_two_image_columns_trains(tmp_path, isolated_datasets_cache):
    """Guards the one-dataset source: a `save_to_disk` folder with an image column per domain (named with
    --domain_columns; rows are not pairs, empty cells skipped) trains and exports a pipeline of its size."""
    import datasets
    from PIL import Image

    from hfgen.training import main

    red, blue = Image.new("RGB", (16, 16), "red"), Image.new("RGB", (16, 16), "blue")
    ds = datasets.Dataset.from_dict({"horses": [red] * 4, "zebras": [blue] * 3 + [None]},
                                    features=datasets.Features({"horses": datasets.Image(), "zebras": datasets.Image()}))
    ds.save_to_disk(str(tmp_path / "saved"))
    out = tmp_path / "o"
    summary = main("cyclegan", ["--dataset", str(tmp_path / "saved"), "--domain_columns", "horses,zebras", "--output_dir", str(out),
                                "--max_train_steps", "1", "--train_batch_size", "2", "--checkpointing_steps", "0", "--report_to", "none",
                                "--final_eval_samples", "0", "--disable_tqdm", "--discriminator_layers", "1", *TINY])
    assert summary["steps"] == 1
    from hfgen.pipelines import CycleGANPipeline

    pipe = CycleGANPipeline.from_pretrained(out)
    assert pipe(red, direction="a_to_b", output_type="np").images.shape == (1, 16, 16, 3)
    with pytest.raises(SystemExit, match="--domain_columns takes two column names"):
        main("cyclegan", ["--dataset", str(tmp_path / "saved"), "--domain_columns", "horses", "--output_dir", str(out)])


def test_domain_splits_of_one_saved_dataset_are_the_two_domains(tmp_path, isolated_datasets_cache):
    """Guards --domain_splits: a DatasetDict (as Hub CycleGAN datasets ship, trainA/trainB splits) gives one domain per
    split, B at A's size; a wrong value names the flag."""
    import datasets
    from PIL import Image

    features = datasets.Features({"image": datasets.Image()})
    datasets.DatasetDict({
        "trainA": datasets.Dataset.from_dict({"image": [Image.new("RGB", (16, 16), "red")] * 3}, features=features),
        "trainB": datasets.Dataset.from_dict({"image": [Image.new("RGB", (24, 24), "blue")] * 5}, features=features),
    }).save_to_disk(str(tmp_path / "dict"))
    args = TrainingArguments(dataset=str(tmp_path / "dict"), output_dir=str(tmp_path / "o"))
    data = CycleGANTask(CycleGANArguments(domain_splits="trainA,trainB")).load_dataset(args)
    assert {k: (len(d), d.image_size) for k, d in data.domains.items()} == {"domain_a": (3, 16), "domain_b": (5, 16)}
    assert data["domain_b"].tensors["pixel_values"][0, 2].mean() > 0.9  # blue
    with pytest.raises(ConfigurationError, match="--domain_splits takes two split names"):
        CycleGANTask(CycleGANArguments(domain_splits="trainA")).load_dataset(args)
