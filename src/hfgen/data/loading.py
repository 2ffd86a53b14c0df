"""`load_train_dataset`: one entry point for embedded datasets, local folders and Hub datasets."""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import tempfile

import numpy as np
import torch

from .dataset import GenDataset
from .embedded import EMBEDDED_DATASETS, load_embedded, subsample_indices
from .errors import (
    DataError,
    DataPathNotFoundError,
    HubUnavailableError,
    InvalidArgumentError,
    MissingColumnError,
    NoImagesFoundError,
    UnknownDatasetError,
)
from .images import find_image_files, image_extensions, images_to_uint8, uint8_to_channels_first
from .points import POINT_FILE_SUFFIXES, column_points, read_points

_IMAGE_NAMES = ("image", "img", "images", "pixel_values")
_LABEL_NAMES = ("label", "labels")
_TEXT_NAMES = ("text", "caption", "prompt")
_VECTOR_NAMES = ("points", "point", "vector", "vectors", "features", "x")
_ID_NAMES = ("id", "idx", "index", "__index_level_0__")
# Python argument of load_train_dataset -> the flag a CLI user passes (both are named in messages)
_FLAGS = {"image_column": "--image_column", "conditioning_image_column": "--conditioning_image_column", "label_column": "--label_column", "text_column": "--caption_column",
          "split": "--dataset_split"}
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}(/[A-Za-z0-9][A-Za-z0-9._-]{0,95})?$")
_TRUE = {"1", "ON", "YES", "TRUE"}


def _embedded_hint(name: str) -> str:
    close = difflib.get_close_matches(name, EMBEDDED_DATASETS, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"one of the embedded datasets {list(EMBEDDED_DATASETS)}{hint}"


def _looks_like_path(name: str) -> bool:
    return (
        name.startswith(("/", "./", "../", "~", "."))
        or "\\" in name
        or name.count("/") > 1
        or name.endswith("/")
        or bool(re.match(r"^[A-Za-z]:", name))
    )


def is_plausible_hub_id(name: str) -> bool:
    """Whether ``name`` is syntactically a Hub dataset id (``"name"`` or ``"owner/name"``)."""
    return bool(_HUB_ID.match(name)) and "--" not in name and ".." not in name


# ----------------------------------------------------------------------------- offline handling
def hub_offline() -> bool:
    """Whether offline mode is requested (``HF_HUB_OFFLINE``/``HF_DATASETS_OFFLINE`` now or at import)."""
    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        if os.environ.get(var, "").strip().upper() in _TRUE:
            return True
    try:
        from huggingface_hub import constants

        return bool(constants.HF_HUB_OFFLINE)
    except Exception:  # pragma: no cover
        return False


@contextlib.contextmanager
def _forced_offline(enabled: bool):
    """Make `datasets`/`huggingface_hub` honour an offline env var that was set after their import."""
    if not enabled:
        yield
        return
    import datasets.config as dcfg
    from huggingface_hub import constants

    saved = (constants.HF_HUB_OFFLINE, dcfg.HF_HUB_OFFLINE, getattr(dcfg, "HF_DATASETS_OFFLINE", None))
    constants.HF_HUB_OFFLINE = dcfg.HF_HUB_OFFLINE = True
    if saved[2] is not None:
        dcfg.HF_DATASETS_OFFLINE = True
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE, dcfg.HF_HUB_OFFLINE = saved[0], saved[1]
        if saved[2] is not None:
            dcfg.HF_DATASETS_OFFLINE = saved[2]


def _is_connection_error(exc: BaseException) -> bool:
    names = {c.__name__ for c in type(exc).__mro__}
    return isinstance(exc, (ConnectionError, TimeoutError)) or any(
        k in n for n in names for k in ("Connect", "Timeout", "Offline", "NetworkError")
    )


def _hub_unavailable(name: str, offline: bool, exc: BaseException | None) -> HubUnavailableError:
    why = (
        "offline mode is enabled (HF_HUB_OFFLINE/HF_DATASETS_OFFLINE) and it is not in the local cache"
        if offline
        else f"the Hugging Face Hub cannot be reached ({type(exc).__name__}: {exc})"
    )
    return HubUnavailableError(
        f"Cannot load Hub dataset {name!r}: {why}. Fix: pass a local image folder "
        f"(--dataset path/to/images), a folder saved with Dataset.save_to_disk, a .npy/.csv file of points, "
        f"or {_embedded_hint(name)}; or "
        + ("unset HF_HUB_OFFLINE/HF_DATASETS_OFFLINE" if offline else "check your network connection")
        + " to reach the Hub and retry."
    )


# ----------------------------------------------------------------------------- sources
@contextlib.contextmanager
def _quiet_progress_bars():
    """Silence `datasets` progress bars (restored afterwards) while indexing a local folder."""
    import datasets

    try:
        was_disabled = datasets.are_progress_bars_disabled()
        datasets.disable_progress_bars()
    except AttributeError:  # pragma: no cover - very old datasets
        yield
        return
    try:
        yield
    finally:
        if not was_disabled:
            datasets.enable_progress_bars()


def _is_saved_dataset(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "dataset_dict.json")) or (
        os.path.isfile(os.path.join(path, "state.json"))
        and os.path.isfile(os.path.join(path, "dataset_info.json"))
    )


def _pick_split(dsets, split: str, source: str):
    """Select ``split`` from a DatasetDict (a lone split is used for the default ``"train"``)."""
    import datasets

    if not isinstance(dsets, datasets.DatasetDict):
        return dsets
    if split in dsets:
        return dsets[split]
    if split == "train" and len(dsets) == 1:
        return next(iter(dsets.values()))
    raise DataError(
        f"Split {split!r} not found in {source}. Available splits: {list(dsets)}. "
        f"Fix: pass --dataset_split (split= in Python) one of these."
    )


def _load_local(path: str, split: str, cache_dir: str | None, stack: contextlib.ExitStack):
    """Load a local folder as a `datasets.Dataset` (save_to_disk folder or image folder).

    Temporary resources (the throw-away arrow cache) are registered on ``stack``.
    """
    import datasets

    if not os.path.isdir(path):
        raise DataError(
            f"{path!r} is a file, not a folder. Fix: pass the folder that contains your images "
            "(optionally one subfolder per class, plus metadata.jsonl/metadata.csv), or points as a "
            f"{' or '.join(POINT_FILE_SUFFIXES)} file."
        )
    if _is_saved_dataset(path):
        try:
            return _pick_split(datasets.load_from_disk(path), split, path)
        except DataError:
            raise
        except Exception as e:
            raise DataError(
                f"Cannot load the saved dataset at {path!r} ({type(e).__name__}: {e}). "
                "Fix: re-create it with Dataset.save_to_disk."
            ) from e
    if not find_image_files(path):
        raise NoImagesFoundError(
            f"No images found in folder {path!r} (searched recursively for files ending in "
            f"{', '.join(image_extensions())}). Fix: put image files in the folder (optionally one "
            f"subfolder per class, with metadata.jsonl/metadata.csv for extra columns), pass points as a "
            f"{' or '.join(POINT_FILE_SUFFIXES)} file, or use {_embedded_hint('')}."
        )
    # The arrow cache only holds file paths/metadata: build it in a throw-away dir by default so
    # edits to the folder are always picked up and nothing accumulates in the HF cache.
    cdir = cache_dir or stack.enter_context(
        tempfile.TemporaryDirectory(prefix="hfgen-imgs-", ignore_cleanup_errors=True)
    )
    stack.enter_context(_quiet_progress_bars())
    try:
        if "[" in split:
            return datasets.load_dataset("imagefolder", data_dir=path, split=split, cache_dir=cdir)
        return _pick_split(
            datasets.load_dataset("imagefolder", data_dir=path, cache_dir=cdir), split, path
        )
    except DataError:
        raise
    except Exception as e:
        raise DataError(
            f"Cannot read the image folder {path!r} ({type(e).__name__}: {e}). Fix: check that "
            "metadata.jsonl/metadata.csv has a 'file_name' column naming existing images."
        ) from e


def _load_hub(name: str, split: str, cache_dir: str | None):
    """Load a Hub dataset split, converting connectivity failures into HubUnavailableError."""
    import datasets

    offline = hub_offline()
    cache_dir = cache_dir or os.environ.get("HF_DATASETS_CACHE") or None
    with _forced_offline(offline):
        try:
            ds = datasets.load_dataset(name, split=split, cache_dir=cache_dir)
        except Exception as e:
            if offline or _is_connection_error(e):
                raise _hub_unavailable(name, offline, e) from e
            if isinstance(e, FileNotFoundError):
                raise DataPathNotFoundError(
                    f"Dataset {name!r} is not a local path and was not found on the Hugging Face Hub "
                    f"({e}). Fix: check the spelling / your access token, pass a local image folder, "
                    f"or use {_embedded_hint(name)}."
                ) from e
            raise DataError(
                f"Cannot load Hub dataset {name!r} split {split!r} ({type(e).__name__}: {e}). "
                "Fix: check the dataset id and split name."
            ) from e
    if not isinstance(ds, datasets.Dataset):
        raise DataError(
            f"Hub dataset {name!r} returned {type(ds).__name__}, not a map-style Dataset. "
            "Fix: pass a concrete split, e.g. --dataset_split train."
        )
    return ds


# ----------------------------------------------------------------------------- conversion
def _require_column(ds, column: str, arg: str, source: str) -> None:
    if column not in ds.column_names:
        raise MissingColumnError(
            f"Column {column!r} (from {_FLAGS[arg]}) not found in {source}. Available columns: "
            f"{ds.column_names}. Fix: pass {_FLAGS[arg]} ({arg}= in Python) one of these."
        )


def _is_number_feature(feature) -> bool:
    import datasets

    return isinstance(feature, datasets.Value) and (
        feature.dtype.startswith(("int", "uint", "float")) or feature.dtype in ("double", "halffloat")
    )


def _is_vector_feature(feature) -> bool:
    """A list-of-numbers column (`Sequence`/`List`/`LargeList` of numbers, or a 1-D array)."""
    import datasets

    inner = getattr(feature, "feature", None)
    if isinstance(feature, tuple(t for t in (getattr(datasets, "List", None), getattr(datasets, "LargeList", None),
                                             datasets.Sequence) if t is not None)):
        return _is_number_feature(inner)
    return isinstance(feature, list) and len(feature) == 1 and _is_number_feature(feature[0])


def _vector_columns(ds, label_column, text_column) -> tuple[str | None, list[str]]:
    """``(list column, [])`` or ``(None, numeric columns)`` holding the points of a table."""
    feats = ds.features
    skip = {label_column, text_column}
    lists = [c for c in ds.column_names if c not in skip and _is_vector_feature(feats[c])]
    if len(lists) > 1:
        named = [c for c in _VECTOR_NAMES if c in lists]
        if not named:
            raise MissingColumnError(
                f"Several list columns could hold the points: {lists}. Fix: keep one (e.g. "
                "ds.remove_columns([...]).save_to_disk(...)), or name it 'points'."
            )
        return named[0], []
    if lists:
        return lists[0], []
    numeric = [
        c for c in ds.column_names
        if c not in skip and c.lower() not in _ID_NAMES and _is_number_feature(feats[c])
    ]
    return None, numeric


def _detect_columns(ds, image_column, label_column, text_column, source: str):
    import datasets

    feats = ds.features
    cols = list(ds.column_names)
    for col, arg in ((image_column, "image_column"), (label_column, "label_column"), (text_column, "text_column")):
        if col is not None:
            _require_column(ds, col, arg, source)
    if image_column is None:
        image_column = next((c for c in cols if isinstance(feats[c], datasets.Image)), None)
        image_column = image_column or next((c for c in _IMAGE_NAMES if c in cols), None)
    if label_column is None:
        label_column = next(
            (c for c in cols if c != image_column and isinstance(feats[c], datasets.ClassLabel)), None
        ) or next((c for c in _LABEL_NAMES if c in cols), None)
    if text_column is None:
        text_column = next((c for c in _TEXT_NAMES if c in cols), None)
    return image_column, label_column, text_column


def _encode_labels(ds, column: str, source: str) -> tuple[torch.Tensor, int, list[str]]:
    import datasets

    feat = ds.features[column]
    values = list(ds[column])
    if isinstance(feat, datasets.ClassLabel):
        names = list(feat.names)
        ids = np.asarray(values, dtype=np.int64)
    elif values and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        ids = np.asarray(values, dtype=np.int64)
        names = [str(i) for i in range(int(ids.max()) + 1)] if ids.size else []
    elif values and all(isinstance(v, str) for v in values):
        names = sorted(set(values))
        lookup = {n: i for i, n in enumerate(names)}
        ids = np.asarray([lookup[v] for v in values], dtype=np.int64)
    else:
        raise DataError(
            f"Label column {column!r} of {source} must hold integers or strings (got e.g. "
            f"{values[:3]!r}). Fix: pass --label_column (label_column= in Python) a class column, or remove the column."
        )
    if ids.size and ids.min() < 0:
        bad = int(np.argmax(ids < 0))
        raise DataError(
            f"Label column {column!r} of {source} has missing/negative labels (first at row {bad}). "
            "Fix: drop unlabelled rows or label every image."
        )
    return torch.from_numpy(ids), len(names), names


def _label_names_from_strings(values: list) -> tuple[torch.Tensor, int, list[str]]:
    """Integer ids for string labels (sorted names; all-integer strings keep their value)."""
    if values and all(v.isdigit() for v in values):  # non-negative integers keep their value
        ids = np.asarray([int(v) for v in values], dtype=np.int64)
        names = [str(i) for i in range(int(ids.max()) + 1)] if ids.size else []
    else:
        names = sorted(set(values))
        lookup = {n: i for i, n in enumerate(names)}
        ids = np.asarray([lookup[v] for v in values], dtype=np.int64)
    return torch.from_numpy(ids), len(names), names


def _points_to_gen(points: np.ndarray, *, source: str, labels=None, texts=None, name=None) -> GenDataset:
    """A ``kind="vector"`` GenDataset of float32 points ``[N, D]`` (labels: tensor, count, names)."""
    tensors = {"points": torch.from_numpy(np.ascontiguousarray(points, dtype=np.float32))}
    num_classes, class_names = 0, None
    if labels is not None:
        tensors["labels"], num_classes, class_names = labels
    return GenDataset(
        tensors, kind="vector", num_classes=num_classes, class_names=class_names,
        data_dim=int(points.shape[1]), texts=texts, name=name or source,
    )


def _load_point_file(path: str, source: str, *, label_column, num_samples, seed, image_size, num_channels) -> GenDataset:
    """A ``.npy``/``.csv`` file of points (one per row) as vector data."""
    for value, flag in ((image_size, "--resolution"), (num_channels, "--num_channels")):
        if value is not None:
            raise InvalidArgumentError(f"{source} holds points, not images: {flag} does not apply. Fix: drop {flag}.")
    points, labels = read_points(path, label_column=label_column)
    encoded = _label_names_from_strings(labels) if labels is not None else None
    keep = subsample_indices(len(points), num_samples, seed)
    if keep is not None:
        points = points[keep]
        if encoded is not None:
            encoded = (encoded[0][torch.from_numpy(keep)], encoded[1], encoded[2])
    return _points_to_gen(points, source=source, labels=encoded)


def _labels_from_subfolders(values: list, folder: str):
    """Class labels from one level of subfolders (``folder/<class>/<image>``), or None.

    `datasets`' image folder infers them only when there is no metadata file: with a metadata.jsonl
    (e.g. for captions) the classes would be lost silently. Same rule as `datasets`: every image one
    level down, and more than one subfolder.
    """
    root = os.path.abspath(folder)
    names = []
    for value in values:
        path = value.get("path") if isinstance(value, dict) else None
        if not path:
            return None
        parts = os.path.relpath(os.path.abspath(path), root).split(os.sep)
        if len(parts) != 2 or parts[0] in (os.curdir, os.pardir):
            return None
        names.append(parts[0])
    if len(set(names)) < 2:
        return None
    classes = sorted(set(names))
    lookup = {n: i for i, n in enumerate(classes)}
    return torch.tensor([lookup[n] for n in names], dtype=torch.long), len(classes), classes


def _dataset_to_gen(
    ds, *, source, image_size, num_channels, image_column, label_column, text_column,
    num_samples, seed, center_crop, folder=None,
) -> GenDataset:
    import datasets

    image_column, label_column, text_column = _detect_columns(
        ds, image_column, label_column, text_column, source
    )
    keep = subsample_indices(len(ds), num_samples, seed)
    if keep is not None:
        ds = ds.select(keep.tolist())
    if len(ds) == 0:
        raise DataError(f"{source} has 0 rows. Fix: check the split / folder contents.")
    if image_column is None:
        return _table_to_points(ds, source=source, label_column=label_column, text_column=text_column,
                                image_size=image_size, num_channels=num_channels)
    if isinstance(ds.features[image_column], datasets.Image):
        ds = ds.cast_column(image_column, datasets.Image(decode=False))
    values = list(ds[image_column])
    where = [f"row {i} of column {image_column!r} in {source}" for i in range(len(values))]
    native: dict = {}
    # uint8 in memory, decoded to [-1, 1] floats per batch (GenDataset's PixelDecoder)
    pixels = uint8_to_channels_first(
        images_to_uint8(
            values, image_size=image_size, num_channels=num_channels,
            center_crop=center_crop, where=where, native=native,
        )
    )
    tensors = {"pixel_values": pixels}
    num_classes, class_names = 0, None
    if label_column is not None:
        tensors["labels"], num_classes, class_names = _encode_labels(ds, label_column, source)
    elif folder is not None:
        found = _labels_from_subfolders(values, folder)
        if found is not None:
            tensors["labels"], num_classes, class_names = found
    texts = _captions(ds, text_column) if text_column is not None else None
    data = GenDataset(
        tensors,
        kind="image",
        num_classes=num_classes,
        class_names=class_names,
        image_size=int(pixels.shape[-1]),
        num_channels=int(pixels.shape[1]),
        texts=texts,
        name=source,
    )
    data.native = native
    return data


def _captions(ds, column: str) -> list:
    """A caption column as ``list[str]``, or ``list[list[str]]`` where rows hold several captions
    (a list per row, e.g. ``"text": ["a red circle", "red circle, top left"]`` in metadata.jsonl)."""
    return [None if t is None else (list(t) if isinstance(t, (list, tuple)) else str(t)) for t in ds[column]]


def _table_to_points(ds, *, source, label_column, text_column, image_size, num_channels) -> GenDataset:
    """Rows of a table without images as vector data: one list column, or the numeric columns."""
    vector_column, numeric = _vector_columns(ds, label_column, text_column)
    if vector_column is None and not numeric:
        described = {c: str(getattr(ds.features[c], "dtype", type(ds.features[c]).__name__)) for c in ds.column_names}
        raise MissingColumnError(
            f"No image column and no numeric data found in {source}. Columns: {described}. Fix: for images pass "
            "--image_column (image_column= in Python) naming the column that holds them; for points store one "
            "list column of numbers per row (e.g. 'points') or numeric columns (e.g. 'x', 'y')."
        )
    for value, flag in ((image_size, "--resolution"), (num_channels, "--num_channels")):
        if value is not None:
            raise InvalidArgumentError(f"{source} holds points, not images: {flag} does not apply. Fix: drop {flag}.")
    if vector_column is not None:
        points = column_points(list(ds[vector_column]), vector_column, source)
    else:
        columns = [np.asarray(ds[c], dtype=np.float32) for c in numeric]
        points = np.stack(columns, axis=1)
        bad = ~np.isfinite(points).all(axis=1)
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(
                f"{source}: row {i} holds NaN, inf or a missing value in columns {numeric} "
                f"({points[i].tolist()}). Fix: drop or repair such rows."
            )
    labels = _encode_labels(ds, label_column, source) if label_column is not None else None
    texts = _captions(ds, text_column) if text_column is not None else None
    return _points_to_gen(points, source=source, labels=labels, texts=texts)


def _validate_common(name_or_path, image_size, num_channels, num_samples) -> int | None:
    """Checks the arguments every loader shares; returns ``image_size`` as an int (or None)."""
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise InvalidArgumentError(
            f"name_or_path must be a string or path, got {type(name_or_path).__name__}. "
            f"Fix: pass a folder path, a Hub dataset id or {_embedded_hint('')}."
        )
    if image_size is not None and (
        isinstance(image_size, bool) or not isinstance(image_size, (int, np.integer)) or image_size < 1
    ):
        raise InvalidArgumentError(
            f"image_size must be a positive integer, got {image_size!r}. Fix: e.g. image_size=32, "
            "or None to keep the native size."
        )
    if num_channels is not None and num_channels not in (1, 3):
        raise InvalidArgumentError(
            f"num_channels must be 1 (grayscale 'L') or 3 ('RGB'), got {num_channels!r}. "
            "Fix: pass 1, 3 or None (auto)."
        )
    if num_samples is not None and (
        isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) or num_samples < 1
    ):
        raise InvalidArgumentError(
            f"num_samples must be a positive integer, got {num_samples!r}. Fix: pass e.g. 1000, "
            "or None for all rows."
        )
    image_size = None if image_size is None else int(image_size)
    return image_size


# ----------------------------------------------------------------------------- public entry
def load_train_dataset(
    name_or_path: str,
    *,
    image_size: int | None = None,
    num_channels: int | None = None,
    split: str = "train",
    image_column: str | None = None,
    label_column: str | None = None,
    text_column: str | None = None,
    num_samples: int | None = None,
    seed: int = 0,
    center_crop: bool = True,
    cache_dir: str | None = None,
    conditioning_image_column: str | None = None,
) -> GenDataset:
    """Load a training set fully into memory as a :class:`GenDataset`.

    ``name_or_path`` is resolved in order: an embedded name (:data:`EMBEDDED_DATASETS`), a
    ``.npy``/``.csv`` file of points (one a row; a CSV header and a ``label`` column are optional),
    an existing local folder (image folder — labels from subfolders, extra columns from
    ``metadata.jsonl``/``metadata.csv`` — or a ``Dataset.save_to_disk`` folder), else a Hugging
    Face Hub dataset id. A table without an image column is read as points (``kind="vector"``):
    from its one list-of-numbers column, else from its numeric columns (e.g. ``x``, ``y``). Images are resized (shorter side to ``image_size``, then centre-cropped
    when ``center_crop``), converted to ``num_channels`` (1="L", 3="RGB"; default: 1 for
    all-grayscale sources, else 3) and scaled to ``[-1, 1]``. ``num_samples`` keeps a random
    subset chosen with ``seed`` (for "ring8"/"grid25" it is the number of points, default 10000).
    Images are kept as uint8 in memory and decoded to float per batch (:class:`GenDataset`).
    With ``conditioning_image_column`` the data are pairs (input, target): see
    :func:`~hfgen.data.load_paired_dataset`, which this then returns. Raises :class:`DataError` subclasses with actionable messages.
    """
    if conditioning_image_column is not None:
        from .paired import load_paired_dataset

        return load_paired_dataset(
            name_or_path, image_size=image_size, num_channels=num_channels, split=split,
            image_column=image_column, conditioning_image_column=conditioning_image_column,
            text_column=text_column, label_column=label_column, num_samples=num_samples, seed=seed, center_crop=center_crop,
            cache_dir=cache_dir,
        )
    image_size = _validate_common(name_or_path, image_size, num_channels, num_samples)
    name = os.fspath(name_or_path)

    if name in EMBEDDED_DATASETS:
        return load_embedded(
            name, image_size=image_size, num_channels=num_channels, num_samples=num_samples, seed=seed, split=split
        )

    path = os.path.expanduser(name)
    if os.path.isfile(path) and path.lower().endswith(POINT_FILE_SUFFIXES):
        return _load_point_file(
            path, name, label_column=label_column, num_samples=num_samples, seed=seed,
            image_size=image_size, num_channels=num_channels,
        )
    with contextlib.ExitStack() as stack:
        folder = None
        if os.path.exists(path):
            ds = _load_local(path, split, cache_dir, stack)
            # an image folder (not a save_to_disk one): its class subfolders may still have to be read
            folder = None if _is_saved_dataset(path) else path
        elif _looks_like_path(name):
            raise DataPathNotFoundError(
                f"Local path {name!r} does not exist. Fix: check the path, or pass a Hub dataset "
                f"id ('owner/name') or {_embedded_hint(os.path.basename(name.rstrip('/')))}."
            )
        elif is_plausible_hub_id(name):
            ds = _load_hub(name, split, cache_dir)
        else:
            raise UnknownDatasetError(
                f"{name!r} is not an embedded dataset, an existing local path, or a valid Hub "
                f"dataset id. Fix: use {_embedded_hint(name)}, a folder of images, or a Hub id "
                "like 'owner/name'."
            )
        return _dataset_to_gen(
            ds, source=name, image_size=image_size, num_channels=num_channels,
            image_column=image_column, label_column=label_column, text_column=text_column,
            num_samples=num_samples, seed=seed, center_crop=center_crop, folder=folder,
        )
