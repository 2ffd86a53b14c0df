"""Training data for hfgen: toy Gaussian mixtures, embedded digit sets, local image folders, files
of points (.npy/.csv) and Hugging Face Hub datasets, all loaded into an in-memory :class:`GenDataset`
(images kept as uint8, decoded per batch); pairs for image-to-image tasks (:func:`load_paired_dataset`),
two unpaired domains (:func:`load_unpaired_datasets`, :class:`UnpairedDataset`); the deterministic
batch order (:class:`EpochBatcher`, :class:`MultiDomainBatcher`) and batch augmentation (:class:`Augmentation`)."""

from .augment import Augmentation, random_crop, random_flip
from .batching import EpochBatcher, MultiDomainBatcher, build_batcher, move_batch
from .dataset import GenDataset, PixelDecoder, UnpairedDataset
from .embedded import EMBEDDED_DATASETS, load_embedded
from .errors import (
    CorruptImageError,
    DataError,
    DataPathNotFoundError,
    HubUnavailableError,
    InvalidArgumentError,
    MissingColumnError,
    NoImagesFoundError,
    PairError,
    UnknownDatasetError,
)
from .loading import load_train_dataset
from .paired import load_paired_dataset, load_unpaired_datasets
from .mixtures import MIXTURES, mixture_spec, sample_mixture
from .points import POINT_FILE_SUFFIXES, read_points

__all__ = [
    "Augmentation",
    "random_crop",
    "random_flip",
    "EpochBatcher",
    "MultiDomainBatcher",
    "build_batcher",
    "move_batch",
    "PixelDecoder",
    "UnpairedDataset",
    "load_paired_dataset",
    "load_unpaired_datasets",
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
    "PairError",
]
