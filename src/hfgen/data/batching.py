"""Deterministic batch order for the training loop: one stream per dataset, one per domain of
unpaired data. A position in the stream is two integers (epoch, position), so a checkpoint holds it
exactly and a resumed run draws the very batches the uninterrupted run would have drawn."""

from __future__ import annotations

from typing import Optional, Union

import torch

from .errors import DataError


class EpochBatcher:
    """Deterministic data order: a fresh permutation per epoch, sharded across processes.

    The order depends only on (seed, stream, epoch), so the state to checkpoint is just (epoch,
    position). Each global batch takes `batch_size * world_size` examples; process `rank` gets its
    slice. `stream` tells apart several batchers built from one seed (the domains of unpaired data):
    stream 0 is the historical single-dataset order.
    """

    def __init__(
        self, num_examples: int, batch_size: int, seed: int, rank: int = 0, world_size: int = 1,
        *, stream: int = 0, name: Optional[str] = None,
    ):
        if num_examples < batch_size * world_size:
            what = f"Domain {name!r} has" if name else "The dataset has"
            raise DataError(
                f"{what} {num_examples} examples, fewer than one global batch "
                f"({batch_size} x {world_size} processes): lower --train_batch_size."
            )
        self.num_examples, self.batch_size, self.seed = num_examples, batch_size, seed
        self.rank, self.world_size, self.stream = rank, world_size, stream
        self.epoch, self.position = 0, 0
        self._perm: Optional[torch.Tensor] = None
        self._perm_epoch = -1

    def _permutation(self) -> torch.Tensor:
        if self._perm_epoch != self.epoch:
            # stream 0 keeps the seed formula of the single-dataset batcher (same GAN batches as before);
            # other streams are offset by a large odd constant so that two domains never share an order.
            seed = self.seed * 1_000_003 + self.epoch + self.stream * 0x9E3779B1
            g = torch.Generator().manual_seed(seed)
            self._perm, self._perm_epoch = torch.randperm(self.num_examples, generator=g), self.epoch
        return self._perm

    def next_indices(self) -> torch.Tensor:
        """Indices of this process's next batch (drops an epoch's incomplete last batch)."""
        step = self.batch_size * self.world_size
        if self.position + step > self.num_examples:
            self.epoch, self.position = self.epoch + 1, 0
        start = self.position + self.rank * self.batch_size
        self.position += step
        return self._permutation()[start : start + self.batch_size]

    def state_dict(self) -> dict:
        """Epoch and position within it."""
        return {"epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict) -> None:
        """Restores `state_dict()`'s output."""
        self.epoch, self.position = int(state["epoch"]), int(state["position"])


class MultiDomainBatcher:
    """One independent :class:`EpochBatcher` per domain of unpaired data (e.g. CycleGAN's A and B).

    Each domain runs through its own epochs at its own pace (the domains may differ in size), so the
    pairs (a, b) met in a batch change from epoch to epoch, as unpaired training wants.
    `next_indices()` returns ``{domain: indices}``; the state holds each domain's position.
    """

    def __init__(self, sizes: dict[str, int], batch_size: int, seed: int, rank: int = 0, world_size: int = 1):
        if not sizes:
            raise DataError("Unpaired data needs at least one domain; got none.")
        self.batchers = {
            name: EpochBatcher(n, batch_size, seed, rank, world_size, stream=i, name=name)
            for i, (name, n) in enumerate(sizes.items())
        }

    def next_indices(self) -> dict[str, torch.Tensor]:
        """This process's next batch of indices in every domain."""
        return {name: b.next_indices() for name, b in self.batchers.items()}

    def state_dict(self) -> dict:
        """``{domain: {"epoch", "position"}}``."""
        return {name: b.state_dict() for name, b in self.batchers.items()}

    def load_state_dict(self, state: dict) -> None:
        """Restores `state_dict()`'s output (every domain must be present)."""
        missing = sorted(set(self.batchers) - set(state))
        if missing:
            raise DataError(
                f"The checkpoint's data position lacks domain(s) {missing} (it holds {sorted(state)}): it was "
                "written for other data. Fix: resume with the dataset the checkpoint was trained on."
            )
        for name, b in self.batchers.items():
            b.load_state_dict(state[name])


Batcher = Union[EpochBatcher, MultiDomainBatcher]


def build_batcher(dataset, batch_size: int, seed: int, rank: int = 0, world_size: int = 1) -> Batcher:
    """The batcher a dataset needs: a :class:`MultiDomainBatcher` for data with ``domains`` (unpaired),
    else an :class:`EpochBatcher` over its rows."""
    domains = getattr(dataset, "domains", None)
    if domains:
        return MultiDomainBatcher({k: len(v) for k, v in domains.items()}, batch_size, seed, rank, world_size)
    return EpochBatcher(len(dataset), batch_size, seed, rank, world_size)


def move_batch(batch, device: torch.device):
    """Moves every tensor of a (possibly nested, per-domain) batch dict to ``device``; other values stay."""
    if isinstance(batch, dict):
        return {k: move_batch(v, device) for k, v in batch.items()}
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    return batch
