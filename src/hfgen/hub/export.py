"""Writing an exported folder: the pipeline plus the models training needs to resume.

The save/load code itself is `hfgen.pipelines.hfgen_pipeline_utils` (the one copy that also ships in
every exported folder, so that the folder loads without hfgen); this module is hfgen's door to it.
"""

from __future__ import annotations

import json
import os
from typing import Any, Optional

__all__ = ["export_folder", "find_training_components", "upgrade_folder"]


def export_folder(pipeline, folder, training_components: Optional[dict[str, Any]] = None, max_shard_size=None) -> str:
    """Writes `pipeline` (an hfgen or a diffusers pipeline) and `training_components` to `folder`.

    `training_components` (e.g. `{"discriminator": D}`) go to their own subfolders, beside the
    pipeline's components but not in `model_index.json`: they are what `--init_from` and a
    resumed training read back, and what `DiffusionPipeline.from_pretrained` never loads. Files are
    safetensors + configs (+ the self-contained code of custom components and the pipeline's code),
    with the user's umask. Files already in `folder` (logs, card, samples) are kept. Returns `folder`.
    """
    from hfgen.pipelines.hfgen_pipeline_utils import save_pipeline_folder

    save_pipeline_folder(pipeline, folder, training_components=training_components, max_shard_size=max_shard_size)
    return os.fspath(folder)


def find_training_components(folder) -> list[str]:
    """Subfolders of an exported folder that hold a model but are not in `model_index.json`."""
    with open(os.path.join(folder, "model_index.json"), encoding="utf-8") as f:
        index = json.load(f)
    return sorted(
        name for name in os.listdir(folder)
        if name not in index and not name.startswith((".", "_")) and name not in ("checkpoints", "best", "logs", "samples")
        and os.path.isfile(os.path.join(folder, name, "config.json"))
    )


def upgrade_folder(folder) -> str:
    """Rewrites an exported folder in place in the current layout (what `hfgen push --upgrade_layout` does).

    Older hfgen versions wrote custom components whose code imported a separate configuration file
    and had no copy at the folder's root: such a folder loads locally but not from a Hub repository
    id. The pipeline is loaded with hfgen's installed classes (never the folder's code) and written
    again with its training components; logs, card and samples stay.
    """
    from hfgen.pipelines import load_pipeline
    from hfgen.pipelines.hfgen_pipeline_utils import installed_class, load_component

    pipeline = load_pipeline(os.fspath(folder))
    training = {}
    for name in find_training_components(folder):
        with open(os.path.join(folder, name, "config.json"), encoding="utf-8") as f:
            class_path = (json.load(f).get("auto_map") or {}).get("AutoModel", "")
        module, _, class_name = class_path.rpartition(".")
        if not module or installed_class(os.path.join(folder, name), module, class_name) is None:
            raise ValueError(f"{folder}/{name} is not a model this hfgen provides ({class_path or 'no auto_map'}): cannot rewrite it.")
        training[name] = load_component(folder, name, module, class_name)
    return export_folder(pipeline, folder, training_components=training)
