"""Vector data ("points") from user files: ``.npy`` arrays, ``.csv`` tables and `datasets` columns.

Every reader returns float32 ``[N, D]`` arrays and refuses, naming the file and the row, what the
MLP GAN cannot train on: non-numeric cells, rows of different lengths, NaN or infinite values.
"""

from __future__ import annotations

import csv
import os

import numpy as np

from .errors import DataError

#: file suffixes read as points by :func:`load_train_dataset` (and ``hfgen evaluate --mixture_centers``)
POINT_FILE_SUFFIXES = (".npy", ".csv")
_LABEL_NAMES = ("label", "labels")


def _check_finite(values: np.ndarray, source: str) -> None:
    """Raise naming the first row (counted from 0) holding NaN or inf."""
    bad = ~np.isfinite(values).all(axis=1)
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(
            f"{source}: row {i} holds NaN or infinite values ({values[i].tolist()}). "
            "Fix: drop or repair such rows; every coordinate of a point must be a finite number."
        )


def _read_npy(path: str) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False)
    except ValueError as error:
        # allow_pickle=False refuses object arrays: what np.save writes for ragged lists / mixed types
        raise DataError(
            f"{path}: cannot read it as a numeric array ({error}). Rows of different lengths or non-numeric "
            "values make an object array; fix: save one float array of shape [N, D] (np.save(path, "
            "np.asarray(points, dtype=np.float32)))."
        ) from error
    except OSError as error:
        raise DataError(f"{path}: not a readable .npy file ({error}). Fix: write it with np.save.") from error
    if not isinstance(array, np.ndarray):  # an .npz archive renamed to .npy
        raise DataError(f"{path} is an .npz archive, not an .npy array. Fix: save one array with np.save.")
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise DataError(
            f"{path}: holds {array.dtype} values, not numbers. Fix: save a float array of shape [N, D]."
        )
    if array.ndim == 1:
        array = array[:, None]  # N scalars: 1-D points
    if array.ndim != 2:
        raise DataError(
            f"{path}: has shape {tuple(array.shape)}; points must be [N, D] (one row per point). "
            "Images go in a folder of image files instead (pass the folder to --dataset)."
        )
    values = array.astype(np.float32)
    _check_finite(values, path)
    return values


def _parse_cell(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _read_csv(path: str, label_column: str | None = None) -> tuple[np.ndarray, list | None, list[str] | None]:
    """``(points, labels or None, header or None)``. Lines are numbered from 1, as editors do."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = [(i + 1, row) for i, row in enumerate(csv.reader(f)) if any(cell.strip() for cell in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"{path}: not a readable CSV text file ({error}).") from error
    if not rows:
        raise DataError(f"{path} is empty. Fix: write one point per line, coordinates separated by commas.")
    header = None
    first = [cell.strip() for cell in rows[0][1]]
    if all(_parse_cell(cell) is None for cell in first):  # a header: no cell is a number
        header, rows = first, rows[1:]
        if not rows:
            raise DataError(f"{path} has a header ({header}) but no data rows.")
    label_index = None
    if header is not None:
        wanted = [label_column] if label_column else list(_LABEL_NAMES)
        label_index = next((header.index(name) for name in wanted if name in header), None)
        if label_column and label_index is None:
            raise DataError(
                f"{path}: --label_column {label_column!r} is not in its header {header}. Fix: pass one of these."
            )
    width = len(rows[0][1])
    values, labels = [], [] if label_index is not None else None
    for line, row in rows:
        if len(row) != width:
            raise DataError(
                f"{path}: line {line} has {len(row)} values, the first data line has {width}. Fix: give every "
                "point the same number of coordinates (a CSV of points is rectangular)."
            )
        point = []
        for j, cell in enumerate(row):
            if j == label_index:
                labels.append(cell.strip())
                continue
            number = _parse_cell(cell.strip())
            if number is None:
                name = f" (column {header[j]!r})" if header else f" (column {j + 1})"
                raise DataError(
                    f"{path}: line {line}{name} holds {cell!r}, not a number. Fix: keep only numeric "
                    "coordinates (an optional first header line and a 'label' column are allowed)."
                )
            point.append(number)
        values.append(point)
    array = np.asarray(values, dtype=np.float32)
    if array.shape[1] == 0:
        raise DataError(f"{path}: no coordinate columns (only a label column). Fix: add the points' coordinates.")
    # map array row i back to its line number for the NaN message
    bad = ~np.isfinite(array).all(axis=1)
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(
            f"{path}: line {rows[i][0]} holds NaN or infinite values ({array[i].tolist()}). "
            "Fix: drop or repair such rows; every coordinate of a point must be a finite number."
        )
    return array, labels, header


def read_points(path: str | os.PathLike, label_column: str | None = None) -> tuple[np.ndarray, list | None]:
    """Read a ``.npy`` ([N, D] or [N]) or ``.csv`` (one point a line, optional header) file.

    Returns ``(points float32 [N, D], labels or None)``; labels come from a CSV column named
    ``label``/``labels`` (or ``label_column``). Raises :class:`DataError` naming the file and the row
    of any non-numeric, ragged, NaN or infinite entry.
    """
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".npy":
        if label_column:
            raise DataError(f"{path}: an .npy array has no columns; --label_column applies to CSV files and datasets.")
        points, labels = _read_npy(path), None
    elif suffix == ".csv":
        points, labels, _ = _read_csv(path, label_column)
    else:
        raise DataError(f"{path}: unknown file type {suffix!r}; points are read from {' or '.join(POINT_FILE_SUFFIXES)} files.")
    if len(points) == 0:
        raise DataError(f"{path} holds no points. Fix: write at least one row.")
    return points, labels


def column_points(values: list, column: str, source: str) -> np.ndarray:
    """Stack a `datasets` list column (one vector per row) into float32 ``[N, D]``, naming bad rows."""
    width = None
    out = []
    for i, value in enumerate(values):
        if value is None:
            raise DataError(f"{source}: row {i} of column {column!r} is empty (None). Fix: drop such rows.")
        try:
            row = np.asarray(value, dtype=np.float32).reshape(-1)
        except (TypeError, ValueError) as error:
            raise DataError(
                f"{source}: row {i} of column {column!r} holds {value!r}, not a list of numbers ({error})."
            ) from error
        if width is None:
            width = len(row)
        elif len(row) != width:
            raise DataError(
                f"{source}: row {i} of column {column!r} has {len(row)} values, row 0 has {width}. "
                "Fix: give every point the same number of coordinates."
            )
        out.append(row)
    array = np.stack(out) if out else np.zeros((0, 0), np.float32)
    if array.size:
        _check_finite(array, f"{source} (column {column!r})")
    return array
