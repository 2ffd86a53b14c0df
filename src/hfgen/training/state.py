"""Checkpoint files: nested training state split into safetensors (tensors) and JSON (the rest).

Optimizer, scheduler and RNG states are nested dicts/lists/tuples of tensors and plain values.
They are stored without pickle, so loading a checkpoint never executes arbitrary code: every
tensor goes to one `.safetensors` file and the structure to a `.json` file that refers to it.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import random
import re
import shutil
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from .args import ConfigurationError

logger = logging.getLogger("hfgen.training")

CHECKPOINT_PATTERN = re.compile(r"^checkpoint-(\d+)$")
# Leftovers of an interrupted save: `tmp-checkpoint-<step>-<pid>` and `checkpoint-<step>.old-<pid>`.
STALE_PATTERN = re.compile(r"^(?:tmp-checkpoint-\d+|checkpoint-\d+\.old)-(\d+)$")
REQUIRED_KEYS = ("step", "models", "optimizers", "schedulers", "rng", "data", "task", "history")


class CorruptCheckpointError(ConfigurationError):
    """A checkpoint file cannot be read (truncated, not JSON, missing entries); `path` names the file."""

    def __init__(self, message: str, path: str):
        super().__init__(message)
        self.path = path


class StorageError(RuntimeError):
    """Writing to disk failed (e.g. no space left); the message names the folder and what is intact."""


def apply_umask_mode(path) -> None:
    """Gives `path` (a file, or every file below a folder) the umask's mode.

    The one implementation is the shared pipeline file's (exported folders need it without hfgen).
    """
    from hfgen.pipelines.hfgen_pipeline_utils import apply_umask_mode as apply

    apply(path)


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
    weights = os.path.join(folder, f"{name}.safetensors")
    save_file(tensors, weights)
    apply_umask_mode(weights)
    with open(os.path.join(folder, f"{name}.json"), "w", encoding="utf-8") as f:
        json.dump(skeleton, f)


def load_state_tree(folder: str, name: str = "state") -> Any:
    """Reads what `save_state_tree` wrote (safetensors + JSON; nothing is unpickled).

    Raises `CorruptCheckpointError` naming the file when either file is missing, truncated or
    does not fit the other (a tensor the JSON refers to is absent).
    """
    weights, skeleton_path = os.path.join(folder, f"{name}.safetensors"), os.path.join(folder, f"{name}.json")
    try:
        tensors = load_file(weights)
    except Exception as error:  # SafetensorError, OSError: the file is cut short or unreadable
        raise CorruptCheckpointError(f"{weights} cannot be read ({type(error).__name__}: {error})", weights) from error
    try:
        with open(skeleton_path, encoding="utf-8") as f:
            skeleton = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CorruptCheckpointError(f"{skeleton_path} cannot be read ({type(error).__name__}: {error})", skeleton_path) from error
    try:
        return _decode(skeleton, tensors)
    except KeyError as error:
        raise CorruptCheckpointError(
            f"{skeleton_path} refers to tensor {error} that {weights} does not hold (files from different saves?)", skeleton_path
        ) from error


def load_checkpoint_tree(folder: str) -> dict:
    """`load_state_tree(folder)` checked to hold every entry the loop restores (else CorruptCheckpointError)."""
    tree = load_state_tree(folder)
    path = os.path.join(folder, "state.json")
    if not isinstance(tree, dict):
        raise CorruptCheckpointError(f"{path} does not hold a training state (not a mapping)", path)
    missing = [k for k in REQUIRED_KEYS if k not in tree]
    if missing:
        raise CorruptCheckpointError(f"{path} lacks {missing}", path)
    return tree


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
    final = os.path.join(checkpoints_dir, f"checkpoint-{step}")
    tmp = os.path.join(checkpoints_dir, f"tmp-checkpoint-{step}-{os.getpid()}")
    try:
        os.makedirs(checkpoints_dir, exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        write(tmp)
        _fsync_tree(tmp)
    except OSError as error:
        # Disk full, quota, permissions: the half-written folder goes, the previous checkpoint stays.
        shutil.rmtree(tmp, ignore_errors=True)
        previous = list_checkpoints(checkpoints_dir)
        intact = f"the previous checkpoint {previous[-1][1]} is intact" if previous else "no earlier checkpoint exists"
        reason = "No space left on device" if error.errno == errno.ENOSPC else (error.strerror or str(error))
        raise StorageError(
            f"Could not write checkpoint-{step} in {checkpoints_dir}: {reason}. The partial folder was removed and "
            f"{intact}. Free space (or pass --checkpoints_total_limit, or another --output_dir), then resume with "
            "--resume_from_checkpoint latest."
        ) from error
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


def incomplete_checkpoints(checkpoints_dir: str) -> list[str]:
    """`checkpoint-<step>` folders lacking `state.json` or `state.safetensors` (which resuming skips)."""
    if not os.path.isdir(checkpoints_dir):
        return []
    complete = {path for _, path in list_checkpoints(checkpoints_dir)}
    return sorted(
        os.path.join(checkpoints_dir, name)
        for name in os.listdir(checkpoints_dir)
        if CHECKPOINT_PATTERN.match(name) and os.path.join(checkpoints_dir, name) not in complete
    )


def pid_is_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def remove_stale_temporaries(checkpoints_dir: str) -> list[str]:
    """Deletes the leftovers of saves interrupted by a kill or a full disk; returns what was removed.

    The writer's PID is in each name: a folder of a process still alive is kept (with the run lock
    no other live run writes here, so such a folder can only be a reused PID: harmless to keep).
    """
    removed = []
    if not os.path.isdir(checkpoints_dir):
        return removed
    for name in os.listdir(checkpoints_dir):
        match = STALE_PATTERN.match(name)
        if match and (int(match.group(1)) == os.getpid() or not pid_is_alive(int(match.group(1)))):
            shutil.rmtree(os.path.join(checkpoints_dir, name), ignore_errors=True)
            removed.append(name)
    return sorted(removed)


def prune_checkpoints(checkpoints_dir: str, limit: int | None) -> None:
    """Deletes the oldest checkpoints so that at most `limit` remain."""
    if not limit:
        return
    for _, path in list_checkpoints(checkpoints_dir)[:-limit]:
        shutil.rmtree(path, ignore_errors=True)
