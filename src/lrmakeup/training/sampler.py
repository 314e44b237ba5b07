"""A seeded, resumable data order: the same permutation per epoch, continued mid-epoch after a resume."""

from __future__ import annotations

from collections.abc import Iterator, Sized

from torch.utils.data import DistributedSampler


class ResumableSampler(DistributedSampler):
    """``DistributedSampler`` (shuffled with ``seed + epoch``) that can start part-way through an epoch.

    Works without a process group (pass ``num_replicas=1, rank=0``). ``set_position(epoch, start)`` selects the
    epoch's permutation and skips the first ``start`` indices of this replica's share, so a run resumed after
    ``k`` batches of batch size ``b`` continues with exactly the samples the uninterrupted run would have seen.
    """

    def __init__(self, dataset: Sized, num_replicas: int, rank: int, seed: int):
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed, drop_last=False)
        self.start = 0

    def set_position(self, epoch: int, start: int) -> None:
        self.set_epoch(epoch)
        self.start = start

    def __iter__(self) -> Iterator[int]:
        indices = list(super().__iter__())
        return iter(indices[self.start:])

    def __len__(self) -> int:
        return max(self.num_samples - self.start, 0)
