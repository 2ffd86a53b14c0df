"""`hfgen space DIR SPACE_ID` / `hfgen push DIR REPO --space SPACE_ID`: a Gradio Space that serves the pushed model.

The Space holds `README.md` (front matter `sdk: gradio`), `app.py`, `hfgen_demo.py` (a verbatim copy of
hfgen/app/demo.py: the same page as `hfgen app`, without hfgen) and `requirements.txt` pinned to the versions
installed here that the model needs. `app.py` loads the MODEL repository by id with
`DiffusionPipeline.from_pretrained`; `trust_remote_code=True` is written there, visibly, only when the model's
pipeline code ships in its repository (hfgen's own pipelines do; a stock diffusers DDPM folder does not).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Optional, Sequence

DEMO_MODULE = "hfgen_demo.py"


def _version(package: str) -> str:
    return metadata.version(package).split("+")[0]  # "2.13.0+cpu" -> "2.13.0"


def _read_index(folder: Path) -> dict:
    path = folder / "model_index.json"
    if not path.is_file():
        raise ValueError(f"{folder} has no model_index.json: pass a folder exported by `hfgen train` (or hfgen.hub.export_folder).")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON ({error}): re-export the folder.") from None


def space_requirements(folder) -> list[str]:
    """`requirements.txt` lines: the installed versions (==) of what loading and serving this model needs."""
    folder = Path(folder)
    index = _read_index(folder)
    custom = isinstance(index.get("_class_name"), list)
    needed = ["torch", "diffusers", "huggingface_hub", "safetensors", "numpy", "pillow", "gradio"]
    libraries = {entry[0] for entry in index.values() if isinstance(entry, list) and entry and entry[0]}
    if custom or "transformers" in libraries:  # PreTrainedModel components, CLIP text encoders, tokenizers
        needed += ["transformers", "tokenizers"]
    generator_config = folder / "gan_generator" / "config.json"
    if generator_config.is_file() and "image_size" not in json.loads(generator_config.read_text(encoding="utf-8")):
        needed.append("matplotlib")  # 2-D point models are shown as a scatter plot
    return [f"{name}=={_version(name)}" for name in needed]


def _card_license(folder: Path) -> str | None:
    """The `license:` of the model card's front matter (the Space shows the same model), or None."""
    card = folder / "README.md"
    if not card.is_file():
        return None
    import yaml

    text = card.read_text(encoding="utf-8")
    if not text.startswith("---"):
        return None
    try:
        meta = yaml.safe_load(text.split("---", 2)[1]) or {}
    except yaml.YAMLError:
        return None
    license = meta.get("license") if isinstance(meta, dict) else None
    return license if isinstance(license, str) else None


def _front_matter(model_repo: str, title: str, family: str, license: str | None = None) -> str:
    lines = [
        "---",
        f"title: {json.dumps(title[:60])}",
        "emoji: 🎨",
        "colorFrom: indigo",
        "colorTo: pink",
        "sdk: gradio",
        f"sdk_version: {_version('gradio')}",
        f"python_version: \"{sys.version_info.major}.{sys.version_info.minor}\"",
        "app_file: app.py",
        "pinned: false",
        *([f"license: {license}"] if license else []),
        "models:",
        f"  - {model_repo}",
        "tags:",
        "  - hfgen",
        f"  - {family}",
        "---",
    ]
    return "\n".join(lines) + "\n"


APP_TEMPLATE = '''"""Gradio demo of the model {model_repo}, written by `hfgen space` (hfgen {hfgen_version}).

The page (controls per model family, seeded gallery, the model card's evaluation) is in hfgen_demo.py.
Run it locally with `python app.py`.
"""

from hfgen_demo import MAX_UPLOAD_MB, DemoModel, build_demo, load_with_diffusers

MODEL_REPO = "{model_repo}"
{trust_comment}
TRUST_REMOTE_CODE = {trust}

model = DemoModel(MODEL_REPO, load_with_diffusers(trust_remote_code=TRUST_REMOTE_CODE), title={title!r})
demo = build_demo(model)

if __name__ == "__main__":
    demo.queue(max_size=16).launch(max_file_size=f"{{MAX_UPLOAD_MB}}mb")
'''


def write_space(folder, out_dir, model_repo: str, title: Optional[str] = None) -> Path:
    """Writes the Space files for the model repo `model_repo` (exported from `folder`) into `out_dir`."""
    from hfgen import __version__

    folder, out = Path(folder), Path(out_dir)
    index = _read_index(folder)
    class_name = index.get("_class_name")
    custom = isinstance(class_name, list)
    name = class_name[-1] if custom else str(class_name)
    title = title or model_repo.split("/")[-1]
    out.mkdir(parents=True, exist_ok=True)
    family = name.replace("Pipeline", "").lower() or "diffusers"
    (out / "README.md").write_text(
        _front_matter(model_repo, title, family, _card_license(folder))
        + f"\n# {title}\n\nA demo of [{model_repo}](https://huggingface.co/{model_repo}) ({name}), made with `hfgen space`.\n",
        encoding="utf-8",
    )
    if custom:
        trust_comment = (f"# The model's pipeline code ({class_name[0]}.py) ships in its repository and runs here: it is hfgen's\n"
                         "# code, pushed with the model. Read it before pointing MODEL_REPO at someone else's repository.")
    else:
        trust_comment = f"# {name} is a diffusers pipeline: no code from the model repository runs."
    (out / "app.py").write_text(APP_TEMPLATE.format(model_repo=model_repo, hfgen_version=__version__, trust=custom,
                                                    trust_comment=trust_comment, title=title), encoding="utf-8")
    shutil.copyfile(Path(__file__).with_name("demo.py"), out / DEMO_MODULE)
    (out / "requirements.txt").write_text("\n".join(space_requirements(folder)) + "\n", encoding="utf-8")
    return out


def push_space(folder, space_id: str, model_repo: str, *, title: Optional[str] = None, private: Optional[bool] = None,
               token: Optional[str] = None) -> str:
    """Creates (or updates) the Gradio Space `space_id` serving `model_repo`; returns the commit URL.

    Raises PushError (from hfgen.hub) when the Hub is unreachable or refuses, ValueError for a bad folder."""
    from huggingface_hub import HfApi, constants

    from hfgen.hub.push import _secrets, _to_push_error

    retry = f"hfgen space {os.fspath(folder)} {space_id} --model_repo {model_repo}"
    api = HfApi(token=token)
    with tempfile.TemporaryDirectory() as tmp:
        write_space(folder, tmp, model_repo, title=title)  # local errors before any request
        stage = "creating the Space"
        try:
            if constants.HF_HUB_OFFLINE:
                from huggingface_hub.errors import OfflineModeIsEnabled

                raise OfflineModeIsEnabled("offline mode is on")
            api.create_repo(space_id, repo_type="space", space_sdk="gradio", private=private, exist_ok=True)
            stage = "uploading the Space's files (commit)"
            info = api.upload_folder(folder_path=tmp, repo_id=space_id, repo_type="space",
                                     commit_message=f"Gradio demo of {model_repo} (hfgen space)")
        except Exception as error:
            endpoint = api.endpoint or constants.ENDPOINT
            raise _to_push_error(error, stage=stage, endpoint=endpoint, repo_id=space_id, retry=retry,
                                 secrets=_secrets(token)) from None
    return str(info.commit_url)


def cli_space(argv: Optional[Sequence[str]] = None) -> int:
    """``hfgen space DIR SPACE_ID --model_repo REPO [--title T] [--private]``."""
    from hfgen.hub import PushError

    parser = argparse.ArgumentParser(
        prog="hfgen space",
        description="Create or update a Gradio Space (app.py, requirements.txt, README with sdk: gradio) that serves "
                    "a model repository already pushed with `hfgen push` (or do both: hfgen push DIR REPO --space SPACE_ID).",
    )
    parser.add_argument("folder", help="The exported folder that was pushed (its model_index.json decides the page).")
    parser.add_argument("space_id", help="namespace/name of the Space (created if missing).")
    parser.add_argument("--model_repo", required=True, help="The model repository id the Space loads.")
    parser.add_argument("--title", default=None, help="The Space's title (default: the model repo's name).")
    parser.add_argument("--private", action="store_const", const=True, default=None, help="Create the Space private.")
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        url = push_space(args.folder, args.space_id, args.model_repo, title=args.title, private=args.private)
    except (PushError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(url)
    return 0
