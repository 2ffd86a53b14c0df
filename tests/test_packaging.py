"""Packaging: a built wheel carries the pipelines, model-card templates and evaluator weights;
`import hfgen` stays cheap."""

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_carries_pipelines_templates_and_weights(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    wheel = next(tmp_path.glob("hfgen-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "hfgen/pipelines/pipeline_gan.py" in names
    assert any(n.startswith("hfgen/model_cards/") and n.endswith(".jinja") for n in names)
    assert "hfgen/metrics/weights/mnist5k_classifier.safetensors" in names
    # pix2pix's shapes2textures evaluator: weights and the record its sha256 is checked against
    assert {f"hfgen/metrics/weights/shapes2textures_classifier.{ext}" for ext in ("safetensors", "json")} <= names
    for folder in ("shapes_clip", "shapes_text_encoder"):  # text to image: the metric's CLIP and text-gan's default encoder
        assert {f"hfgen/metrics/weights/{folder}/{f}" for f in ("model.safetensors", "config.json", "tokenizer.json")} <= names
    assert "hfgen/models/dcgan/modeling_dcgan.py" in names
    # One source of truth: the packaged pipeline is the top-level file, byte for byte.
    packaged = zipfile.ZipFile(wheel).read("hfgen/pipelines/pipeline_gan.py")
    assert packaged == (ROOT / "pipelines" / "pipeline_gan.py").read_bytes()
    # The shared save/load file every pipeline imports relatively (and every export copies).
    assert zipfile.ZipFile(wheel).read("hfgen/pipelines/hfgen_pipeline_utils.py") == (
        ROOT / "pipelines" / "hfgen_pipeline_utils.py").read_bytes()
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "hfgen = hfgen.cli:main" in entry_points


def test_import_hfgen_is_cheap():
    code = (
        "import sys, hfgen; heavy = [m for m in ('torch', 'diffusers', 'transformers', 'accelerate', 'datasets') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"import hfgen imported {out.stdout.strip()}"


def test_every_pipeline_is_a_top_level_name_resolved_lazily():
    """`from hfgen import <Pipeline>` works for every pipeline of the registry (and load_pipeline), resolved on
    first access: the names are listed without importing torch (test_import_hfgen_is_cheap checks the import itself)."""
    import hfgen
    from hfgen.pipelines import PIPELINES

    assert set(PIPELINES) | {"load_pipeline"} <= set(hfgen.__all__)
    for name in PIPELINES:
        assert getattr(hfgen, name) is PIPELINES[name]
