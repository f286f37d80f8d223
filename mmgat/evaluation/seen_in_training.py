"""Which suite entries a model has seen in training (they leave the unseen mean).

A model trained with an attack has seen the attack *families* its class states
(:meth:`mmgat.attacks.BaseAttack.attack_families`: a PGD-trained model has seen
``'pgd'``, a SharedPGD-trained one ``'pgd'`` and ``'universal'``); an entry's family is
its ``family`` key, else what its kind says (:meth:`~mmgat.evaluation.kinds.EntryKind.
family`). Masks matter: full-image training covers background-only entries, not the
other way round (:func:`covers`).
"""
from typing import List, Optional, Tuple

from mmgat.hooks import parse_phase
from mmgat.utils.errors import ConfigError
from mmgat.utils.plain_config import to_builtin
from .kinds import attack_family, get_kind, short_type

Family = Tuple[Tuple[str, ...], Optional[str]]


def entry_family(entry: dict, generator: Optional[dict] = None) -> Family:
    """``(families, mask)`` of a suite entry; ``((), None)`` when it is no attack.

    An entry's explicit ``family`` wins; otherwise its kind decides (an attack whose
    config cannot be read has no family: it is never counted as seen).
    """
    if entry.get('family'):
        return (entry['family'], ), None
    kind = get_kind(entry['kind'])
    return kind.family(entry, generator) if kind is not None else ((), None)


def training_attacks(model_cfg) -> List[dict]:
    """The attack configs the model's config trains with: the ``attack`` of every
    ``custom_hooks`` entry whose ``phase`` includes training (``'train'`` (the
    default), ``'both'``, ``'all'`` or a list with ``'train'``)."""
    out = []
    for hook in (model_cfg.get('custom_hooks') or []) if model_cfg is not None else []:
        if not isinstance(hook, dict):
            continue
        hook = to_builtin(hook)
        try:
            trains = 'train' in parse_phase(hook.get('phase', 'train'))
        except ConfigError:  # building the hook reports it
            trains = False
        if isinstance(hook.get('attack'), dict) and trains:
            out.append(hook['attack'])
    return out


def covers(trained: Family, entry: Family) -> bool:
    """Whether a training attack's family covers a suite entry's.

    Same family, and the training attack perturbs the whole image (mask ``None``) or
    the same region as the entry: a model trained with full-image PGD has seen
    background-only PGD, one trained with background PGD has not seen full-image PGD.
    """
    train_families, train_mask = trained
    entry_families, entry_mask = entry
    if not set(train_families) & set(entry_families):
        return False
    return train_mask is None or train_mask == entry_mask


def trained_on(suite, model_cfg, task: Optional[str] = None
               ) -> Tuple[List[str], List[str]]:
    """``(seen entry names, training attack types)`` of a model on a suite."""
    attacks = training_attacks(model_cfg)
    families = [attack_family(a) for a in attacks]
    generator = suite.generator_for(task)
    seen = []
    for entry in suite.entries:
        fam = entry_family(entry, generator)
        if fam[0] and any(covers(t, fam) for t in families):
            seen.append(entry['name'])
    return seen, [short_type(a) for a in attacks]


__all__ = ['entry_family', 'training_attacks', 'covers', 'trained_on']
