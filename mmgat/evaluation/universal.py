"""Stochastic PGD (sPGD): the universal perturbation of a trained model over a dataset.

Shared by ``tools/compute_universal.py`` and the ``'universal'`` entries of the
robustness suite (:mod:`mmgat.evaluation.kinds.universal`).

sPGD (Mummadi et al., ICCV 2019): ONE perturbation for the whole dataset, moved by a
signed-gradient step on each mini-batch's loss and projected to the eps ball
(:class:`mmgat.attacks.UniversalPerturbation` does one such update per call); the model
stays in eval mode.
"""
from typing import Callable, Optional

from mmengine.runner import Runner

from mmgat.utils.atomic_write import torch_save_atomic
from mmgat.utils.errors import ConfigError
from mmgat.utils.ranks import RankFailure, agree_on_failure, checking_peers, gather
from mmgat.victims import build_victim, model_task, victim_options_for_pipeline
from .splits import SPLIT_DATALOADERS


def sampling_dataloader(cfg, split: str, batch_size: Optional[int], seed: int,
                        num_workers: Optional[int] = None):
    """The split's dataloader, made finite and reshuffled every epoch.

    Training dataloaders use an infinite sampler; sPGD needs epochs, so the sampler
    becomes a shuffling ``DefaultSampler`` (a batch sampler such as mmdet's
    ``AspectRatioBatchSampler`` is kept).
    """
    key = SPLIT_DATALOADERS[split]
    if cfg.get(key) is None:
        raise ConfigError(f"split '{split}': the config has no '{key}'")
    loader_cfg = cfg[key].copy()
    loader_cfg['sampler'] = dict(type='DefaultSampler', shuffle=True)
    loader_cfg['persistent_workers'] = False
    if batch_size is not None:
        loader_cfg['batch_size'] = batch_size
    if num_workers is not None:
        loader_cfg['num_workers'] = num_workers
    return Runner.build_dataloader(loader_cfg, seed=seed)


def universal_victim(model, pipeline, victim_options: Optional[dict] = None,
                     announce: Callable[[str], None] = print):
    """The victim for sPGD on a dataset with ``pipeline``.

    A detection pipeline that loads the boxes after ``Resize`` gets
    ``gt_frame='original'`` unless the options set ``gt_frame``.
    """
    given = dict(victim_options or {})
    options = victim_options_for_pipeline(model_task(model), pipeline, given)
    if options != given:
        announce('note: this pipeline loads the boxes after Resize; using '
                 'gt_frame=original')
    return build_victim(model, **options)


def run_spgd(victim, dataloader, attack, iters: int,
             on_update: Optional[Callable[[float], None]] = None):
    """Update a :class:`~mmgat.attacks.UniversalPerturbation` ``iters`` times.

    Cycles over ``dataloader`` (a new order every epoch when its sampler has
    ``set_epoch``) and calls ``attack`` on each batch: one signed-gradient update each.
    Under DDP every rank takes its part of each batch (the dataloader's sampler splits
    them), the update all-reduces the gradient, and the ranks agree after loading each
    batch and before each all-reduce, so a rank that fails stops all of them
    (:mod:`mmgat.utils.ranks`).

    Returns:
        tuple: ``(losses, epochs)``: the loss at each perturbed batch (this rank's) and
        the number of (started) passes over the dataset.
    """
    if len(dataloader) == 0:
        raise ConfigError('sPGD: the dataset is empty')
    losses = []
    epoch = 0
    with checking_peers():
        while len(losses) < iters:
            sampler = getattr(dataloader, 'sampler', None)
            if hasattr(sampler, 'set_epoch'):
                sampler.set_epoch(epoch)  # a new order every epoch
            batches, start = iter(dataloader), len(losses)
            while len(losses) < iters:
                pixels = samples = error = None
                try:
                    pixels, samples, _ = victim.to_pixels(next(batches))
                    ended = False
                except StopIteration:
                    ended = True
                except Exception as e:  # noqa: BLE001  (every rank is told, then raised)
                    ended, error = False, e
                agree_on_failure(error, 'sPGD (loading a batch)')
                if any(gather(ended)):  # ranks may hold different numbers of batches
                    if len(losses) == start:
                        raise ConfigError('sPGD: a rank has no training batch')
                    break
                try:
                    attack(victim, pixels, samples, iteration=len(losses))
                except RankFailure:
                    raise
                except Exception as e:  # noqa: BLE001
                    # where the other ranks check before their all-reduce
                    agree_on_failure(e, 'sPGD (an update)')
                losses.append(attack.last_loss)
                if on_update is not None:
                    on_update(attack.last_loss)
            epoch += 1
    return losses, epoch


def perturbation_record(attack, victim, losses, epochs: int, **fields) -> dict:
    """What a universal perturbation file holds (see ``tools/compute_universal.py``).

    ``perturbation`` (float32 ``1 x C x H x W``, 0-255 units, the model's channel
    order), ``channel_order``, ``eps``, ``alpha``, ``norm``, ``iters``, ``epochs``,
    ``size``, ``losses`` and the extra ``fields`` (split, seed, config, ...).
    """
    delta = attack.delta.detach().cpu().contiguous()
    record = dict(
        perturbation=delta,
        channel_order=victim.channel_order(delta.shape[1]),
        eps=float(attack.eps), alpha=float(attack.alpha), norm=attack.norm,
        iters=attack.num_updates, epochs=epochs,
        size=[int(s) for s in delta.shape[-2:]],
        losses=[float(v) for v in losses])
    record.update(fields)
    return record


def save_perturbation(record: dict, path: str) -> None:
    """``torch.save`` the record (loadable with ``weights_only=True``), atomically."""
    torch_save_atomic(record, path)
