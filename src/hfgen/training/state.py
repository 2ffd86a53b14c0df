"""Checkpoint files: nested training state split into safetensors (tensors) and JSON (the rest).

Optimizer, scheduler and RNG states are nested dicts/lists/tuples of tensors and plain values.
They are stored without pickle, so loading a checkpoint never executes arbitrary code: every
tensor goes to one `.safetensors` file and the structure to a `.json` file that refers to it.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

CHECKPOINT_PATTERN = re.compile(r"^checkpoint-(\d+)$")


def _encode(value: Any, tensors: dict, path: str) -> Any:
    """Replaces tensors by references; keeps tuples and non-string dict keys recoverable."""
    if isinstance(value, torch.Tensor):
        key = path or "tensor"
        tensors[key] = value.detach().cpu().contiguous().clone()
        return {"__tensor__": key}
    if isinstance(value, np.ndarray):
        return {"__ndarray__": value.tolist(), "dtype": str(value.dtype)}
    if isinstance(value, dict):
        return {"__dict__": [[k, _encode(v, tensors, f"{path}.{k}" if path else str(k))] for k, v in value.items()]}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, tensors, f"{path}.{i}") for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_encode(v, tensors, f"{path}.{i}") for i, v in enumerate(value)]
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"Cannot store a {type(value).__name__} at '{path}' in a checkpoint (tensors and plain values only).")


def _decode(value: Any, tensors: dict) -> Any:
    if isinstance(value, dict):
        if "__tensor__" in value:
            return tensors[value["__tensor__"]]
        if "__ndarray__" in value:
            return np.asarray(value["__ndarray__"], dtype=value["dtype"])
        if "__dict__" in value:
            return {k: _decode(v, tensors) for k, v in value["__dict__"]}
        if "__tuple__" in value:
            return tuple(_decode(v, tensors) for v in value["__tuple__"])
        return {k: _decode(v, tensors) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v, tensors) for v in value]
    return value


def save_state_tree(tree: Any, folder: str, name: str = "state") -> None:
    """Writes `tree` as `<name>.safetensors` + `<name>.json` in `folder`."""
    tensors: dict[str, torch.Tensor] = {}
    skeleton = _encode(tree, tensors, "")
    save_file(tensors, os.path.join(folder, f"{name}.safetensors"))
    with open(os.path.join(folder, f"{name}.json"), "w", encoding="utf-8") as f:
        json.dump(skeleton, f)


def load_state_tree(folder: str, name: str = "state") -> Any:
    """Reads what `save_state_tree` wrote (safetensors + JSON; nothing is unpickled)."""
    tensors = load_file(os.path.join(folder, f"{name}.safetensors"))
    with open(os.path.join(folder, f"{name}.json"), encoding="utf-8") as f:
        return _decode(json.load(f), tensors)


def rng_state(generators: dict[str, torch.Generator]) -> dict:
    """Python, numpy, torch (CPU and CUDA) and the loop's own generators."""
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "generators": {name: g.get_state() for name, g in generators.items()},
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict, generators: dict[str, torch.Generator]) -> None:
    """Restores what `rng_state` captured."""
    python = state["python"]
    random.setstate((python[0], tuple(python[1]), python[2]))
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    for name, g in generators.items():
        g.set_state(state["generators"][name])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def write_checkpoint_atomically(checkpoints_dir: str, step: int, write) -> str:
    """Calls `write(tmp_folder)`, then renames the folder to `checkpoint-<step>` in one step.

    A crash (even SIGKILL) before the rename leaves only a `tmp-` folder, which resuming ignores,
    so the previous checkpoint stays the latest good one.
    """
    os.makedirs(checkpoints_dir, exist_ok=True)
    final = os.path.join(checkpoints_dir, f"checkpoint-{step}")
    tmp = os.path.join(checkpoints_dir, f"tmp-checkpoint-{step}-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    write(tmp)
    _fsync_tree(tmp)
    if os.path.exists(final):  # same step written again (e.g. rerun): swap it out
        old = final + f".old-{os.getpid()}"
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, final)
    return final


def _fsync_tree(folder: str) -> None:
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            with open(path, "rb") as f:
                os.fsync(f.fileno())


def list_checkpoints(checkpoints_dir: str) -> list[tuple[int, str]]:
    """Complete checkpoints as (step, path), oldest first; temporary folders are skipped."""
    if not os.path.isdir(checkpoints_dir):
        return []
    found = []
    for name in os.listdir(checkpoints_dir):
        match = CHECKPOINT_PATTERN.match(name)
        path = os.path.join(checkpoints_dir, name)
        if match and os.path.isfile(os.path.join(path, "state.json")) and os.path.isfile(os.path.join(path, "state.safetensors")):
            found.append((int(match.group(1)), path))
    return sorted(found)


def prune_checkpoints(checkpoints_dir: str, limit: int | None) -> None:
    """Deletes the oldest checkpoints so that at most `limit` remain."""
    if not limit:
        return
    for _, path in list_checkpoints(checkpoints_dir)[:-limit]:
        shutil.rmtree(path, ignore_errors=True)
