"""Exception types raised by :mod:`hfgen.data`.

Every error derives from :class:`DataError` (a ``ValueError``); some also derive from the
built-in ``FileNotFoundError`` / ``ConnectionError`` so generic handlers keep working. Each
message names the problem *and* the fix.
"""

from __future__ import annotations


class DataError(ValueError):
    """Base class for all data-loading errors raised by hfgen."""


class InvalidArgumentError(DataError):
    """An argument of :func:`load_train_dataset` has an invalid value (e.g. ``image_size=0``)."""


class UnknownDatasetError(DataError):
    """The name is neither embedded, nor an existing path, nor a plausible Hub dataset id."""


class DataPathNotFoundError(DataError, FileNotFoundError):
    """A local path (or Hub dataset) that was asked for does not exist."""


class NoImagesFoundError(DataError, FileNotFoundError):
    """A local folder contains no image files with an accepted extension."""


class CorruptImageError(DataError):
    """An image file/bytes value could not be decoded by PIL."""


class MissingColumnError(DataError):
    """A requested (or required) column is not present in the dataset."""


class HubUnavailableError(DataError, ConnectionError):
    """The Hugging Face Hub cannot be reached (offline mode or network failure)."""


class PairError(DataError):
    """Paired data whose two sides do not fit: a file without its partner, or two images of a pair of
    different sizes (a side-by-side AB image of odd width included)."""
