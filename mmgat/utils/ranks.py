"""How the ranks of a distributed run (the robustness suite) share work and agree.

A suite under ``--launcher`` runs the same entries in the same order on every rank:
each unit's images are split over the ranks (:func:`rank_shard`, as mmengine's
``DefaultSampler`` splits them), the evaluator gathers the per-image results on rank
0, which scores them, writes the files and broadcasts the metrics. Everything that
decides *what* runs (the previous results, a saved perturbation, a lock) is read on
rank 0 and broadcast (:func:`from_main`), so the ranks cannot disagree when their views
of a shared file system differ. A rank that fails a unit tells the others before the
next collective (:func:`agree_on_failure`), so the unit fails everywhere instead of
leaving the others waiting. Every function is the identity in a single process.
"""
import contextlib
import math
from typing import Any, Iterator, List, Optional, Sequence

from mmengine.dist import (all_gather_object, barrier, broadcast_object_list,
                           get_dist_info, is_main_process)

from mmgat.utils.errors import MmgatError


class RankFailure(MmgatError):
    """Another rank failed the unit this rank was running."""


def world() -> int:
    return get_dist_info()[1]


def is_main() -> bool:
    return is_main_process()


def rank_shard(indices: Sequence[int], rank: int, world_size: int) -> List[int]:
    """This rank's part of ``indices``: padded to a multiple of ``world_size`` by
    repeating from the start, then every ``world_size``-th from ``rank`` (mmengine's
    ``DefaultSampler`` without shuffling, whose order ``collect_results`` undoes; the
    padding is dropped there)."""
    indices = list(indices)
    if world_size <= 1 or not indices:
        return indices
    total = math.ceil(len(indices) / world_size) * world_size
    padded = (indices * math.ceil(total / len(indices)))[:total]
    return padded[rank:total:world_size]


def from_main(value: Any) -> Any:
    """Rank 0's ``value`` on every rank (a picklable object)."""
    if world() <= 1:
        return value
    box = [value]
    broadcast_object_list(box, src=0)
    return box[0]


def gather(value: Any) -> List[Any]:
    """Every rank's ``value``, in rank order (a picklable object)."""
    if world() <= 1:
        return [value]
    return all_gather_object(value)


def agree_on_failure(error: Optional[BaseException], what: str) -> None:
    """Raise on every rank if any rank failed ``what``.

    The failing rank re-raises its own error; the others raise :class:`RankFailure`
    naming the rank and its error. Call it at the same point on every rank.
    """
    if world() <= 1:
        if error is not None:
            raise error
        return
    text = None
    if error is not None:
        text = str(error).strip().splitlines()[-1:] or ['']
        text = f'{type(error).__name__}: {text[0]}'
    texts = gather(text)
    if error is not None:
        raise error
    failed = [(rank, t) for rank, t in enumerate(texts) if t is not None]
    if failed:
        rank, text = failed[0]
        raise RankFailure(f'{what} failed on rank {rank}: {text}')


_checking_peers = [False]


@contextlib.contextmanager
def checking_peers() -> Iterator[None]:
    """While active, :func:`check_peers` agrees with the other ranks (the suite turns
    it on around sPGD, whose updates all-reduce: a rank that fails a forward pass
    calls :func:`agree_on_failure` with its error where the others call
    :func:`check_peers`, so every rank stops instead of waiting in the all-reduce)."""
    previous = _checking_peers[0]
    _checking_peers[0] = True
    try:
        yield
    finally:
        _checking_peers[0] = previous


def check_peers(what: str) -> None:
    """Before a collective: raise if another rank failed (only under
    :func:`checking_peers`; training does not catch failures, so it never needs it)."""
    if _checking_peers[0]:
        agree_on_failure(None, what)


def sync() -> None:
    """Wait until every rank is here (a file rank 0 wrote is there for everyone)."""
    if world() > 1:
        barrier()


__all__ = ['rank_shard', 'from_main', 'gather', 'agree_on_failure', 'checking_peers',
           'check_peers', 'sync', 'world', 'is_main', 'RankFailure']
