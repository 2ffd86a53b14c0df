"""Training data for hfgen: toy Gaussian mixtures, embedded digit sets, local image folders, files
of points (.npy/.csv) and Hugging Face Hub datasets, all loaded into an in-memory :class:`GenDataset`."""

from .dataset import GenDataset
from .embedded import EMBEDDED_DATASETS, load_embedded
from .errors import (
    CorruptImageError,
    DataError,
    DataPathNotFoundError,
    HubUnavailableError,
    InvalidArgumentError,
    MissingColumnError,
    NoImagesFoundError,
    UnknownDatasetError,
)
from .loading import load_train_dataset
from .mixtures import MIXTURES, mixture_spec, sample_mixture
from .points import POINT_FILE_SUFFIXES, read_points

__all__ = [
    "MIXTURES",
    "EMBEDDED_DATASETS",
    "GenDataset",
    "mixture_spec",
    "sample_mixture",
    "load_train_dataset",
    "load_embedded",
    "read_points",
    "POINT_FILE_SUFFIXES",
    "DataError",
    "InvalidArgumentError",
    "UnknownDatasetError",
    "DataPathNotFoundError",
    "NoImagesFoundError",
    "CorruptImageError",
    "MissingColumnError",
    "HubUnavailableError",
]
