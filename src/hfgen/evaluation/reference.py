"""Reference sets: the real side of every comparison, extracted once, with its floors.

A :class:`ReferenceSet` holds the features (and class probabilities, labels, raw points) of one set
of real samples -- one per domain or target: the training data of a GAN, the targets of held-out
pairs for Pix2Pix, each domain of a CycleGAN -- together with the protocol of how it was built and its
*floors*: the same metrics for real-vs-real (two disjoint halves) and noise-vs-real, the best and a
bad value on exactly this protocol, to judge a number against.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

from ._common import EvaluationError
from .features import FeatureExtractor

__all__ = ["ReferenceSet", "select_subset"]

# score(real_feats, fake_feats, fake_probs, fake_points, labels) -> (flat metrics, details)
ScoreFn = Callable[[Any, Any, Any, Any, Any], "tuple[dict, dict]"]


def select_subset(num_examples: int, max_samples: int, seed: int) -> np.ndarray | None:
    """Sorted indices of a seeded random subset of ``max_samples`` examples (``None``: keep all)."""
    if num_examples <= max_samples:
        return None
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(num_examples, size=max_samples, replace=False))


class ReferenceSet:
    """Real features of one set, its floors and how it was built.

    Args:
        samples: real images ``[N, C, H, W]`` in ``[-1, 1]`` or points ``[N, D]``.
        extractor: the :class:`~hfgen.evaluation.FeatureExtractor` applied to them (and to every
            generated sample compared with them).
        name: what the set is (a dataset name, ``"edges2digits/test targets"``, ``"domain_b"``...).
        kind: ``"image"`` or ``"vector"``.
        labels: the class of each sample, if known (floor of condition accuracy).
        conversion: how the real data were converted before extraction (recorded), or ``None``.
        subset: how the samples were chosen (recorded), e.g. ``"seeded random subset of 2000 of 5000"``.
    """

    def __init__(self, samples: torch.Tensor, extractor: FeatureExtractor, *, name: str, kind: str = "image",
                 labels: Any = None, conversion: str | None = None, subset: str = "all") -> None:
        real = samples.detach().float().cpu()
        if kind == "image" and real.dim() != 4:
            raise EvaluationError(f"a reference set of images needs [N, C, H, W], got {tuple(real.shape)}")
        self.name = name
        self.kind = kind
        self.extractor = extractor
        self.conversion = conversion
        self.subset = subset
        self.n = int(len(real))
        self.sample_shape = tuple(real.shape[1:])
        self.image_size = int(real.shape[-1]) if kind == "image" else None
        self.channels = int(real.shape[1]) if kind == "image" else None
        self.labels = None if labels is None else torch.as_tensor(labels).long().flatten().cpu().numpy()
        if self.labels is not None and len(self.labels) != self.n:
            raise EvaluationError(f"got {len(self.labels)} labels for {self.n} reference samples")
        self.features, self.probs = extractor(real)
        self.points = real.double().numpy() if kind == "vector" else None
        self._floors: dict[Any, dict] = {}

    @classmethod
    def from_dataset(cls, data: Any, extractor: FeatureExtractor, max_samples: int, seed: int, name: str | None = None,
                     conversion: str | None = None) -> ReferenceSet:
        """The reference set of a :class:`~hfgen.data.GenDataset`: a seeded subset of ``max_samples`` at most."""
        real = data.tensors[data.primary_key]
        labels = data.tensors.get("labels")
        keep = select_subset(len(real), max_samples, seed)
        if real.dtype == torch.uint8:  # images stored as bytes (0..255): the models' [-1, 1] range
            real = real.float() / 127.5 - 1.0
        subset = "all"
        if keep is not None:
            subset = f"seeded random subset of {max_samples} of {len(real)} (numpy default_rng({seed}))"
            index = torch.from_numpy(keep)
            real = real[index.to(real.device)]
            labels = None if labels is None else labels[index.to(labels.device)]
        return cls(real, extractor, name=name or data.name or "GenDataset", kind=data.kind, labels=labels,
                   conversion=conversion, subset=subset)

    def protocol(self) -> dict:
        """How the set was built: name, size, subset, conversion, extractor (+ sha256)."""
        return {
            "dataset": self.name,
            "n_real": self.n,
            "real_subset": self.subset,
            "real_data_conversion": self.conversion or "none",
            "extractor": self.extractor.label,
            "extractor_sha256": self.extractor.sha256,
            "feature_dim": self.extractor.feature_dim,
        }

    def floors(self, score: ScoreFn, num_noise: int, seed: int, batch_size: int, key: Any = None) -> dict:
        """Reference values of ``score`` on this set (computed once per ``key``, then cached).

        * ``"real_vs_real"``: one half of the set against the other, disjoint half (a permutation seeded
          with ``seed + 1``) -- about the best a generator can reach. FID is biased upward at small n,
          so at ``n / 2`` samples this floor is somewhat pessimistic. Condition accuracy here is the
          classifier's accuracy on the real half with its true labels.
        * ``"noise_vs_real"``: ``num_noise`` uniform-noise images in ``[-1, 1]`` (Gaussian points with
          the real data's per-coordinate mean and std for vector data; seeded with ``seed + 2``) against
          the whole set, with balanced labels ``arange(n) % K`` where labels matter (chance accuracy).

        ``score(real_feats, fake_feats, fake_probs, fake_points, labels)`` returns ``(metrics, details)``.
        Returns ``{"real_vs_real": {"metrics", "n_real", "n_generated", "details"}, "noise_vs_real": {...}}``.
        """
        if key in self._floors:
            return self._floors[key]
        rng = np.random.default_rng(seed + 1)
        perm = rng.permutation(self.n)
        half = self.n // 2
        a, b = perm[:half], perm[half : 2 * half]

        def _take(arr, idx):
            return None if arr is None else arr[idx]

        rr, rr_details = score(_take(self.features, a), _take(self.features, b), _take(self.probs, b),
                               _take(self.points, b), _take(self.labels, b))
        gen = torch.Generator().manual_seed(seed + 2)
        n = int(num_noise)
        if self.kind == "image":
            feats, probs = [], []
            for start in range(0, n, batch_size):
                m = min(batch_size, n - start)
                noise = torch.rand((m, *self.sample_shape), generator=gen) * 2.0 - 1.0
                f, p = self.extractor(noise)
                feats.append(f)
                probs.append(p)
            noise_feats = None if feats[0] is None else np.concatenate(feats)
            noise_probs = None if probs[0] is None else np.concatenate(probs)
            noise_points = None
        else:
            mean = torch.from_numpy(self.points.mean(axis=0))
            std = torch.from_numpy(self.points.std(axis=0))
            noise = mean + std * torch.randn((n, *self.sample_shape), generator=gen, dtype=torch.float64)
            noise_feats, noise_probs = self.extractor(noise)
            noise_points = noise.numpy()
        # balanced labels over the classes the real set holds: noise scores chance accuracy
        noise_labels = None if self.labels is None or not self.n else np.arange(n) % (int(self.labels.max()) + 1)
        nr, nr_details = score(self.features, noise_feats, noise_probs, noise_points, noise_labels)
        self._floors[key] = {
            "real_vs_real": {"metrics": rr, "n_real": int(len(a)), "n_generated": int(len(b)), "details": rr_details},
            "noise_vs_real": {"metrics": nr, "n_real": self.n, "n_generated": n, "details": nr_details},
        }
        return self._floors[key]
