"""``kind='universal'``: a universal perturbation computed with sPGD on ``train``, then
added to every image of the split.

sPGD (``eps``, ``alpha``, ``norm``, ``iters`` updates of ``train_batch_size`` images
of ``train_split``; :mod:`mmgat.evaluation.universal`) runs once per unit; the
perturbation is saved next to the results (``<name>_perturbation.pth``, reused by a
rerun of the same unit) and put in the test pipeline by
:class:`mmgat.transforms.ApplyUniversalPerturbation`.

Example:
    >>> dict(name='universal', kind='universal', eps=8 / 255, alpha=1 / 255,
    ...      norm='linf', iters=40, train_batch_size=8)
"""
import os.path as osp
from functools import partial
from typing import Optional

from mmgat.registry import ENTRY_KINDS
from mmgat.utils import safe_torch_load
from mmgat.utils.ranks import from_main, is_main, sync, world
from ..pipeline_edits import insert_before_packing
from ..splits import SPLIT_DATALOADERS
from ..universal import (perturbation_record, run_spgd, sampling_dataloader,
                         save_perturbation, universal_victim)
from .base_kind import EntryKind, Unit, entry_dict, entry_int, entry_number, fail

#: Defaults of the kind (budgets on the 0-1 scale, as in the attacks).
UNIVERSAL_DEFAULTS = dict(eps=8 / 255, alpha=1 / 255, norm='linf', iters=40,
                          train_split='train', train_batch_size=None, size=None,
                          fit='crop', seed=0, victim=None)


def saved_perturbation(path: str, digest: str) -> Optional[dict]:
    """The perturbation a previous run of this very unit (same hash) saved, or None."""
    if not osp.isfile(path):
        return None
    try:
        record = safe_torch_load(path, map_location='cpu')
    except Exception:  # noqa: BLE001  (recomputed)
        return None
    if not isinstance(record, dict) or record.get('suite_hash') != digest:
        return None
    return record


def rank_batch_size(ctx, entry: dict) -> Optional[int]:
    """Each rank's part of an sPGD batch: the entry's ``train_batch_size`` (or the
    split's dataloader's) is the batch of one update, split over the ranks, so N ranks
    update on the same images as one process; when N does not divide it, every rank
    takes the whole size (N times the images per update), with a warning."""
    size = world()
    batch = entry['train_batch_size']
    if size <= 1:
        return batch
    if batch is None:
        batch = int(ctx.cfg[SPLIT_DATALOADERS[entry['train_split']]].get('batch_size', 1))
    if batch % size:
        ctx.log(f"  {entry['name']}: sPGD batch {batch} does not split over {size} ranks;"
                f' each rank takes {batch} images per update', warning=True)
        return batch
    return batch // size


def compute_perturbation(ctx, entry: dict, desc: str, digest: str) -> dict:
    """sPGD on the entry's training split, with a progress bar over the updates."""
    from mmgat.attacks import UniversalPerturbation
    split = entry['train_split']
    attack = UniversalPerturbation(eps=entry['eps'], alpha=entry['alpha'],
                                   norm=entry['norm'], size=entry['size'],
                                   seed=entry['seed'])
    batch_size = rank_batch_size(ctx, entry)
    loader = sampling_dataloader(ctx.cfg, split, batch_size, entry['seed'],
                                 num_workers=ctx.suite.num_workers)
    pipeline = ctx.cfg[SPLIT_DATALOADERS[split]].dataset.get('pipeline')
    options = dict(entry['victim'] or {})
    if getattr(ctx, 'autocast', None) and 'autocast' not in options:
        options['autocast'] = ctx.autocast  # tools/test.py --amp
    victim = universal_victim(ctx.model, pipeline, options, announce=ctx.log)
    bar = ctx.progress_bar(entry['iters'], f'{desc} sPGD')
    try:
        losses, epochs = run_spgd(
            victim, loader, attack, entry['iters'],
            on_update=(lambda loss: bar.update(1)) if bar is not None else None)
    finally:
        if bar is not None:
            bar.close()
    return perturbation_record(attack, victim, losses, epochs, split=split,
                               seed=entry['seed'], config=ctx.config_path,
                               checkpoint=ctx.checkpoint, suite_hash=digest)


def evaluate_with_perturbation(ctx, entry: dict, desc: str, info: dict, digest: str):
    """sPGD (or the perturbation saved by a previous run of this unit), then the split
    with the perturbation added to every image."""
    path = osp.join(ctx.work_dir, f'{entry["name"]}_perturbation.pth')
    # Rank 0 decides (and its file is what every rank then reads).
    record = from_main(saved_perturbation(path, digest) if is_main() else None)
    if record is None:
        record = compute_perturbation(ctx, entry, desc, digest)
        if is_main():
            save_perturbation(record, path)
        sync()  # the evaluation's pipeline reads the file on every rank
    else:
        ctx.log(f'  {desc}: reusing the perturbation in {path}')
    losses = record['losses']
    info.update(perturbation=path, spgd_updates=record['iters'],
                spgd_loss_first=losses[0] if losses else None,
                spgd_loss_last=losses[-1] if losses else None,
                linf=float(record['perturbation'].abs().max()) / 255)
    transform = dict(type='mmgat.ApplyUniversalPerturbation', path=path,
                     fit=entry['fit'])
    return ctx.evaluate(entry, desc, edit=lambda p: insert_before_packing(p, transform))


@ENTRY_KINDS.register_module(name='universal')
class UniversalKind(EntryKind):
    """One unit: sPGD, then the split with the perturbation."""

    keys = tuple(UNIVERSAL_DEFAULTS)
    is_attack = True

    def check(self, entry: dict, out: dict, where: str, suite_dir) -> None:
        for key, default in UNIVERSAL_DEFAULTS.items():
            out[key] = entry.get(key, default)
        out['eps'] = entry_number(where, 'eps', out['eps'])
        out['alpha'] = entry_number(where, 'alpha', out['alpha'], positive=True)
        if out['norm'] not in ('linf', 'l2'):
            fail(where, f"norm must be 'linf' or 'l2', got {out['norm']!r}")
        out['iters'] = entry_int(where, 'iters', out['iters'], allow_none=False)
        out['train_batch_size'] = entry_int(where, 'train_batch_size',
                                            out['train_batch_size'])
        if out['train_split'] not in ('train', 'val', 'val_ood'):
            fail(where, f"train_split must be 'train', 'val' or 'val_ood', got "
                 f"{out['train_split']!r}")
        if out['fit'] not in ('crop', 'resize', 'tile'):
            fail(where, f"fit must be 'crop', 'resize' or 'tile', got {out['fit']!r}")
        out['seed'] = entry_int(where, 'seed', out['seed'], low=0, allow_none=False)
        out['victim'] = entry_dict(where, 'victim', out['victim'])

    def family(self, entry: dict, generator: Optional[dict]):
        return ('universal', ), None

    def units(self, entry: dict, rec: dict, ctx) -> list:
        spec = dict(ctx.base_spec(entry), **{k: entry[k] for k in UNIVERSAL_DEFAULTS})
        if getattr(ctx, 'autocast', None):
            spec['autocast'] = ctx.autocast
        return [Unit(None, spec, partial(evaluate_with_perturbation, ctx, entry))]


__all__ = ['UniversalKind', 'UNIVERSAL_DEFAULTS']
