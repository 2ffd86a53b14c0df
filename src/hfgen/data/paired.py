"""Paired data (Pix2Pix: an input image and its target) and unpaired data (CycleGAN: two domains).

Paired sources, for :func:`load_paired_dataset`:

* a Hub dataset or a ``save_to_disk`` folder with two image columns, named with ``--image_column``
  (the target) and ``--conditioning_image_column`` (the input), as diffusers' ControlNet and
  InstructPix2Pix examples name them;
* a folder with ``A/`` and ``B/`` subfolders whose files are matched by name (``A/x.png`` with
  ``B/x.jpg``); ``A/<split>/`` and ``B/<split>/`` when present (the reference code's layout);
* side-by-side ``AB`` images (the pix2pix datasets' format: A left, B right), in ``<path>/<split>/``
  when that folder exists, else in ``<path>``.

Unpaired sources, for :func:`load_unpaired_datasets`: a folder with ``trainA/`` and ``trainB/``
(``testA/``/``testB/`` with ``split="test"``, never used for training), or two dataset names.
"""

from __future__ import annotations

import contextlib
import io
import os
from typing import Literal, Optional

import torch
from PIL import Image

from .dataset import GenDataset, UnpairedDataset
from .embedded import subsample_indices
from .errors import CorruptImageError, DataError, InvalidArgumentError, MissingColumnError, NoImagesFoundError, PairError
from .images import find_image_files, image_extensions, images_to_uint8, open_image, uint8_to_channels_first

Direction = Literal["AtoB", "BtoA"]
# Auto-detected (input, target) column pairs when --conditioning_image_column is not given.
_COLUMN_PAIRS = (
    ("conditioning_image", "image"),
    ("condition_image", "image"),
    ("input_image", "edited_image"),  # InstructPix2Pix
    ("original_image", "edited_image"),
    ("imageA", "imageB"),  # pix2pix datasets converted to the Hub (facades, maps, ...)
    ("A", "B"),
)
_TEXT_NAMES = ("text", "caption", "prompt", "edit_prompt")


def _check_direction(direction: str) -> None:
    if direction not in ("AtoB", "BtoA"):
        raise InvalidArgumentError(f"direction must be 'AtoB' or 'BtoA', got {direction!r}. Fix: pass --direction AtoB or BtoA.")


def _native_size(value, where: str) -> tuple[int, int]:
    """(width, height) of an image without decoding its pixels (PIL reads the header only)."""
    if isinstance(value, Image.Image):
        return value.size
    data, path = (value.get("bytes"), value.get("path")) if isinstance(value, dict) else (None, None)
    if isinstance(value, (str, os.PathLike)):
        path = os.fspath(value)
    elif isinstance(value, (bytes, bytearray)):
        data = value
    if data is None and path is None:
        return open_image(value, where).size
    try:
        with Image.open(io.BytesIO(data) if data is not None else path) as img:
            return img.size
    except (OSError, SyntaxError, ValueError) as e:
        raise CorruptImageError(f"Cannot read image file {path or where}: {e}. Fix: delete or replace this file.") from e


def _check_pair_sizes(values_a, values_b, where_a, where_b) -> None:
    for va, vb, wa, wb in zip(values_a, values_b, where_a, where_b):
        sa, sb = _native_size(va, wa), _native_size(vb, wb)
        if sa != sb:
            raise PairError(
                f"The two images of a pair differ in size: {wa} is {sa[0]}x{sa[1]} but {wb} is {sb[0]}x{sb[1]}. "
                "Fix: resize one of them to the other's size (a pair must show the same scene pixel for pixel)."
            )


def _pack(values, where, *, image_size, num_channels, center_crop, native: Optional[dict] = None) -> torch.Tensor:
    return uint8_to_channels_first(
        images_to_uint8(values, image_size=image_size, num_channels=num_channels, center_crop=center_crop,
                        where=where, native=native)
    )


def _paired_gen(cond, target, *, source, direction, image_size, num_channels, center_crop, texts=None, labels=None,
                where_cond, where_target, check_sizes=True) -> GenDataset:
    """Checks pair sizes, decodes both sides to uint8 and builds the GenDataset (A = ``cond`` for AtoB)."""
    if check_sizes:
        _check_pair_sizes(cond, target, where_cond, where_target)
    if direction == "BtoA":
        cond, target, where_cond, where_target = target, cond, where_target, where_cond
    native: dict = {}
    target_px = _pack(target, where_target, image_size=image_size, num_channels=num_channels,
                      center_crop=center_crop, native=native)
    # the input at the target's size (pairs share their size, so one resize fits both)
    cond_px = _pack(cond, where_cond, image_size=int(target_px.shape[-1]), num_channels=num_channels,
                    center_crop=center_crop)
    tensors = {"pixel_values": target_px, "conditioning_pixel_values": cond_px}
    num_classes, class_names = 0, None
    if labels is not None:  # (ids, count, names), e.g. the digit shown, to check that content survives
        tensors["labels"], num_classes, class_names = labels
    data = GenDataset(
        tensors, kind="image", image_size=int(target_px.shape[-1]), num_channels=int(target_px.shape[1]),
        num_classes=num_classes, class_names=class_names, texts=texts, name=source,
    )
    data.native = native
    return data


def _stem_index(folder: str, side: str) -> dict[str, str]:
    """``relative path without extension -> file`` for the images under ``folder``."""
    index: dict[str, str] = {}
    for path in find_image_files(folder):
        key = os.path.splitext(os.path.relpath(path, folder))[0]
        if key in index:
            raise DataError(
                f"Two images in {side}/ share the name {key!r}: {index[key]} and {path}. Fix: keep one "
                "(files of A/ and B/ are matched by name without extension)."
            )
        index[key] = path
    return index


def _unmatched(names: list[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:5])
    return shown + (f" (and {len(names) - 5} more)" if len(names) > 5 else "")


def _load_ab_folders(path: str, split: str, num_samples, seed, **kw) -> GenDataset:
    folders = []
    for side in ("A", "B"):
        folder = os.path.join(path, side)
        if os.path.isdir(os.path.join(folder, split)):
            folder = os.path.join(folder, split)
        folders.append(folder)
    index_a, index_b = (_stem_index(f, s) for f, s in zip(folders, ("A", "B")))
    for index, folder in zip((index_a, index_b), folders):
        if not index:
            raise NoImagesFoundError(
                f"No images found in {folder!r}. Fix: put the pairs' images in A/ (inputs) and B/ (targets), "
                f"with the same file names, as files ending in {', '.join(image_extensions())}."
            )
    only_a, only_b = sorted(set(index_a) - set(index_b)), sorted(set(index_b) - set(index_a))
    if only_a or only_b:
        missing = []
        if only_a:
            missing.append(f"{len(only_a)} image(s) of {folders[0]} have no partner in {folders[1]}: {_unmatched(only_a)}")
        if only_b:
            missing.append(f"{len(only_b)} image(s) of {folders[1]} have no partner in {folders[0]}: {_unmatched(only_b)}")
        raise PairError(
            "Paired folders must hold the same file names: " + "; ".join(missing) + ". Fix: add the missing "
            "partners or remove those files (for unpaired data, use trainA/ and trainB/ with an unpaired task)."
        )
    keys = sorted(index_a)
    keep = subsample_indices(len(keys), num_samples, seed)
    if keep is not None:
        keys = [keys[i] for i in keep]
    files_a, files_b = [index_a[k] for k in keys], [index_b[k] for k in keys]
    return _paired_gen(files_a, files_b, where_cond=files_a, where_target=files_b, **kw)


def _split_ab(files: list[str]):
    """Left (A) and right (B) halves of side-by-side images, decoded lazily, one file at a time."""

    def halves(side: int):
        for f in files:
            img = open_image(f, f)
            w, h = img.size
            yield img.crop((0, 0, w // 2, h)) if side == 0 else img.crop((w // 2, 0, w, h))

    return halves(0), halves(1)


def _load_side_by_side(folder: str, num_samples, seed, **kw) -> GenDataset:
    files = find_image_files(folder)
    if not files:
        raise NoImagesFoundError(
            f"No images found in {folder!r}. Fix: pass a folder of side-by-side AB images (A left, B right), "
            "a folder with A/ and B/ subfolders matched by file name, or a dataset with two image columns "
            "(--image_column and --conditioning_image_column)."
        )
    keep = subsample_indices(len(files), num_samples, seed)
    if keep is not None:
        files = [files[i] for i in keep]
    for f in files:
        w, h = _native_size(f, f)
        if w % 2:
            raise PairError(
                f"{f} is {w}x{h}: a side-by-side AB image needs an even width (two halves of {w / 2:g} pixels). "
                "Fix: pad or crop it to an even width, or give A/ and B/ folders instead."
            )
    left, right = _split_ab(files)
    # the halves of one image have one size by construction: no pair check
    return _paired_gen(
        left, right, where_cond=[f"{f} (left half, A)" for f in files],
        where_target=[f"{f} (right half, B)" for f in files], check_sizes=False, **kw,
    )


def _pair_columns(ds, image_column, conditioning_image_column, source):
    """(input column, target column) of a two-image-column dataset."""
    import datasets

    from .loading import _require_column

    for col, arg in ((image_column, "image_column"), (conditioning_image_column, "conditioning_image_column")):
        if col is not None:
            _require_column(ds, col, arg, source)
    if image_column is not None and conditioning_image_column is not None:
        return conditioning_image_column, image_column
    cols = ds.column_names
    for cond, target in _COLUMN_PAIRS:
        if cond in cols and target in cols and image_column in (None, target) and conditioning_image_column in (None, cond):
            return cond, target
    images = [c for c in cols if isinstance(ds.features[c], datasets.Image)]
    raise MissingColumnError(
        f"Cannot tell which columns of {source} hold the input and the target images (image columns: {images}; "
        f"all columns: {cols}). Fix: pass --conditioning_image_column INPUT --image_column TARGET "
        "(conditioning_image_column= and image_column= in Python)."
    )


def _load_columns(ds, *, source, image_column, conditioning_image_column, text_column, label_column, num_samples, seed,
                  **kw) -> GenDataset:
    import datasets

    from .loading import _encode_labels, _require_column

    cond_col, target_col = _pair_columns(ds, image_column, conditioning_image_column, source)
    if text_column is not None:
        _require_column(ds, text_column, "text_column", source)
    else:
        text_column = next((c for c in _TEXT_NAMES if c in ds.column_names), None)
    if label_column is not None:
        _require_column(ds, label_column, "label_column", source)
    else:
        label_column = next((c for c in ds.column_names if isinstance(ds.features[c], datasets.ClassLabel)), None)
    keep = subsample_indices(len(ds), num_samples, seed)
    if keep is not None:
        ds = ds.select(keep.tolist())
    if len(ds) == 0:
        raise DataError(f"{source} has 0 rows. Fix: check the split / folder contents.")
    for col in (cond_col, target_col):
        if isinstance(ds.features[col], datasets.Image):
            ds = ds.cast_column(col, datasets.Image(decode=False))
    texts = None
    if text_column is not None:
        from .loading import _captions

        texts = _captions(ds, text_column)
    labels = _encode_labels(ds, label_column, source) if label_column is not None else None
    values_c, values_t = list(ds[cond_col]), list(ds[target_col])
    where_c = [f"row {i} of column {cond_col!r} in {source}" for i in range(len(ds))]
    where_t = [f"row {i} of column {target_col!r} in {source}" for i in range(len(ds))]
    return _paired_gen(values_c, values_t, where_cond=where_c, where_target=where_t, texts=texts, labels=labels,
                       source=source, **kw)


def load_paired_dataset(
    name_or_path: str,
    *,
    image_size: Optional[int] = None,
    num_channels: Optional[int] = None,
    split: str = "train",
    image_column: Optional[str] = None,
    conditioning_image_column: Optional[str] = None,
    text_column: Optional[str] = None,
    label_column: Optional[str] = None,
    direction: Direction = "AtoB",
    num_samples: Optional[int] = None,
    seed: int = 0,
    center_crop: bool = True,
    cache_dir: Optional[str] = None,
) -> GenDataset:
    """Loads pairs (input image, target image) into memory, e.g. for Pix2Pix.

    Rows hold ``"conditioning_pixel_values"`` (the input) and ``"pixel_values"`` (the target), and
    ``"text"`` when a caption column exists, ``"labels"`` from ``label_column`` (default: a ClassLabel
    column) of a dataset. Sources (see the module docstring): a Hub/``save_to_disk``
    dataset with two image columns (``image_column`` = target, ``conditioning_image_column`` = input;
    auto-detected for common names such as ``conditioning_image``/``image`` or ``imageA``/``imageB``), a
    folder with ``A/`` and ``B/`` matched by file name, or a folder of side-by-side ``AB`` images.
    A is the input and B the target; ``direction="BtoA"`` swaps them. Both images of a pair must have
    the same size; both are resized (shorter side to ``image_size``, centre crop when ``center_crop``)
    and converted to ``num_channels`` alike (default: each side's own, 1 for all-grey images, else 3).
    """
    from .loading import _load_hub, _load_local, _is_saved_dataset, _looks_like_path, _validate_common

    _check_direction(direction)
    image_size = _validate_common(name_or_path, image_size, num_channels, num_samples)
    name = os.fspath(name_or_path)
    kw = dict(source=name, direction=direction, image_size=image_size, num_channels=num_channels, center_crop=center_crop)
    path = os.path.expanduser(name)
    if os.path.isdir(path) and not _is_saved_dataset(path):
        if image_column is not None or conditioning_image_column is not None:
            raise InvalidArgumentError(
                f"{name!r} is a folder of image files, which has no columns: --image_column and "
                "--conditioning_image_column apply to a Hub or save_to_disk dataset. Fix: drop them (A/ and B/ "
                "subfolders, or side-by-side AB images, tell input from target)."
            )
        if os.path.isdir(os.path.join(path, "A")) and os.path.isdir(os.path.join(path, "B")):
            return _load_ab_folders(path, split, num_samples, seed, **kw)
        folder = os.path.join(path, split) if os.path.isdir(os.path.join(path, split)) else path
        return _load_side_by_side(folder, num_samples, seed, **kw)
    with contextlib.ExitStack() as stack:
        if os.path.exists(path):
            ds = _load_local(path, split, cache_dir, stack)
        elif _looks_like_path(name):
            from .errors import DataPathNotFoundError

            raise DataPathNotFoundError(f"Local path {name!r} does not exist. Fix: check the path, or pass a Hub dataset id.")
        else:
            ds = _load_hub(name, split, cache_dir)
        return _load_columns(
            ds, image_column=image_column, conditioning_image_column=conditioning_image_column,
            text_column=text_column, label_column=label_column, num_samples=num_samples, seed=seed, **kw,
        )


def load_unpaired_datasets(
    domain_a: str,
    domain_b: Optional[str] = None,
    *,
    split: str = "train",
    image_size: Optional[int] = None,
    num_channels: Optional[int] = None,
    image_column: Optional[str] = None,
    columns: Optional[tuple[str, str]] = None,
    num_samples: Optional[int] = None,
    seed: int = 0,
    center_crop: bool = True,
    cache_dir: Optional[str] = None,
) -> UnpairedDataset:
    """Loads two unpaired image domains (``domain_a``, ``domain_b``), e.g. for CycleGAN.

    With one argument, ``domain_a`` is a folder holding ``trainA/`` and ``trainB/`` (``testA/`` and
    ``testB/`` with ``split="test"``: held out, for evaluation only). With two, each is any source
    :func:`~hfgen.data.load_train_dataset` reads (folder, ``save_to_disk`` folder, Hub id, embedded
    name). One Hub id or ``save_to_disk`` folder alone holds both domains as two image ``columns``
    (default: ``imageA``/``imageB`` or ``A``/``B``, as the CycleGAN datasets on the Hub name them; empty
    cells are skipped, so the domains may differ in size). The domains may differ in size; training draws each with its own stream. Both are resized
    to one size; ``num_channels=None`` gives each domain its own (1 for grey images, else 3).
    """
    from .loading import _is_saved_dataset, load_train_dataset

    if domain_b is None:
        root = os.path.expanduser(os.fspath(domain_a))
        if not os.path.exists(root) or (os.path.isdir(root) and _is_saved_dataset(root)):
            return _unpaired_columns(
                os.fspath(domain_a), columns, split=split, image_size=image_size, num_channels=num_channels,
                num_samples=num_samples, seed=seed, center_crop=center_crop, cache_dir=cache_dir,
            )
        if not os.path.isdir(root):
            raise DataError(
                f"{domain_a!r} is not a folder. Fix: pass a folder holding {split}A/ and {split}B/, "
                "or two datasets (domain_a and domain_b)."
            )
        sources = [os.path.join(root, f"{split}{side}") for side in ("A", "B")]
        missing = [os.path.basename(s) + "/" for s in sources if not os.path.isdir(s)]
        if missing:
            found = sorted(d + "/" for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
            raise DataError(
                f"{domain_a!r} has no {' and no '.join(missing)} (subfolders found: {found or 'none'}). Fix: put "
                f"domain A's images in {split}A/ and domain B's in {split}B/, or pass two datasets."
            )
        split_each = "train"  # the folders are the split
    else:
        sources, split_each = [os.fspath(domain_a), os.fspath(domain_b)], split
    domains = {}
    for key, source in zip(("domain_a", "domain_b"), sources):
        try:
            data = load_train_dataset(
                source, image_size=image_size, num_channels=num_channels, split=split_each,
                image_column=image_column, num_samples=num_samples, seed=seed, center_crop=center_crop,
                cache_dir=cache_dir,
            )
        except NoImagesFoundError as e:
            raise NoImagesFoundError(f"Domain {key[-1].upper()} is empty: {e}") from e
        if data.kind != "image":
            raise DataError(f"Domain {key[-1].upper()} ({source}) holds points, not images. Fix: pass an image dataset.")
        if image_size is None:
            image_size = data.image_size  # domain B at domain A's size
        domains[key] = data
    return UnpairedDataset(domains)


def _unpaired_columns(name, columns, *, split, image_size, num_channels, num_samples, seed, center_crop, cache_dir) -> UnpairedDataset:
    """Two domains from two image columns of one Hub/``save_to_disk`` dataset (rows are not pairs)."""
    import datasets

    from .loading import _dataset_to_gen, _is_saved_dataset, _load_hub, _load_local, _looks_like_path

    path = os.path.expanduser(name)
    with contextlib.ExitStack() as stack:
        if os.path.isdir(path) and _is_saved_dataset(path):
            ds = _load_local(path, split, cache_dir, stack)
        elif _looks_like_path(name):
            from .errors import DataPathNotFoundError

            raise DataPathNotFoundError(
                f"Local path {name!r} does not exist. Fix: pass a folder holding trainA/ and trainB/, two datasets, "
                "or a dataset with one image column per domain."
            )
        else:
            ds = _load_hub(name, split, cache_dir)
        if columns is None:
            columns = next(((a, b) for a, b in (("imageA", "imageB"), ("A", "B")) if a in ds.column_names and b in ds.column_names), None)
            if columns is None:
                raise MissingColumnError(
                    f"Cannot tell which columns of {name} hold domain A and domain B (columns: {ds.column_names}). "
                    "Fix: pass columns=(COLUMN_A, COLUMN_B) (two image columns), or two datasets."
                )
        for col in columns:
            if col not in ds.column_names:
                raise MissingColumnError(
                    f"Column {col!r} (a domain's images) not found in {name}. Available columns: {ds.column_names}. "
                    "Fix: pass columns= naming two of them."
                )
        domains = {}
        for key, col in zip(("domain_a", "domain_b"), columns):
            one = ds.select_columns([col])
            if isinstance(one.features[col], datasets.Image):
                one = one.cast_column(col, datasets.Image(decode=False))
            present = [i for i, v in enumerate(one[col]) if v is not None]
            if not present:
                raise NoImagesFoundError(f"Domain {key[-1].upper()} is empty: column {col!r} of {name} holds no image. Fix: fill it.")
            one = one.select(present)
            domains[key] = _dataset_to_gen(
                one, source=f"{name}[{col}]", image_size=image_size, num_channels=num_channels, image_column=col,
                label_column=None, text_column=None, num_samples=num_samples, seed=seed, center_crop=center_crop,
            )
            image_size = image_size or domains[key].image_size
        return UnpairedDataset(domains, name=name)
