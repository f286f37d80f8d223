"""``kind='attack'``: ``val`` under an attack of :data:`mmgat.registry.ATTACKS`.

``attack`` is a config dict or an attack config file defining ``attack = dict(...)``
(and optionally ``victim = dict(...)``); ``attack_options`` overrides its fields (e.g.
fewer ``steps``), ``victim`` the victim options. Every test batch is attacked by
:func:`mmgat.attacks.attack_batch` (seeded by the batch index) before the model sees it.

Example:
    >>> dict(name='pgd-linf_eps8', kind='attack', num_images=48,
    ...      attack='configs/_base_/attacks/pgd-linf_eps8.py',
    ...      attack_options=dict(steps=5))
"""
import copy
from functools import partial
from typing import Optional, Tuple

import torch

from mmgat.attacks import attack_batch, attack_class, build_attack, load_attack_file
from mmgat.registry import ENTRY_KINDS
from mmgat.utils.errors import ConfigError
from mmgat.utils.plain_config import merge, to_builtin
from mmgat.victims import build_victim
from .base_kind import EntryKind, Unit, entry_dict, fail, resolve_path


def short_type(attack_cfg: dict) -> str:
    """``'mmgat.PGD'`` -> ``'PGD'``; a class object -> its name."""
    kind = attack_cfg.get('type', '') if isinstance(attack_cfg, dict) else ''
    if not isinstance(kind, str):
        kind = getattr(kind, '__name__', str(kind))
    return kind.split('.')[-1]


def attack_family(attack_cfg: dict) -> Tuple[Tuple[str, ...], Optional[str]]:
    """``(families, mask)`` of an attack config: the families its class states
    (:meth:`mmgat.attacks.BaseAttack.attack_families`); a type nobody registered is
    its own family (its lower-case name)."""
    cls = attack_class(attack_cfg.get('type', ''))
    if cls is not None and hasattr(cls, 'attack_families'):
        families = cls.attack_families()
    else:
        families = (short_type(attack_cfg).lower(), )
    return tuple(families), attack_cfg.get('mask')


def resolve_attack(entry: dict, generator: Optional[dict] = None
                   ) -> Tuple[dict, Optional[dict]]:
    """The effective ``(attack config, victim options)`` of an 'attack' entry.

    The file (if ``attack`` names one) is read, ``attack_options`` merged over it, the
    entry's ``victim`` over the file's, and a suite ``generator`` filled into the
    config of an attack that needs one (``needs_generator``) and names none.
    """
    attack = entry['attack']
    victim = None
    if isinstance(attack, str):
        attack, victim = load_attack_file(attack)
    attack = merge(to_builtin(attack), entry.get('attack_options') or {})
    if entry.get('victim') is not None:
        victim = merge(victim or {}, entry['victim'])
    cls = attack_class(attack.get('type', ''))
    if getattr(cls, 'needs_generator', False) and 'generator' not in attack:
        if generator is None:
            raise ConfigError(f'{attack.get("type")} needs a generator: set '
                              'generator=dict(config=..., checkpoint=...) in the attack '
                              'or in the suite')
        attack['generator'] = copy.deepcopy(generator)
    return attack, victim


def evaluate_under_attack(ctx, entry: dict, attack_cfg: dict, victim_options: dict,
                          desc: str, info: dict, digest: str):
    """The entry's subset with every batch attacked (a feature attack's hook is removed
    after each batch's test step, also when the step raises)."""
    attack = build_attack(attack_cfg)
    victim = build_victim(ctx.model, **victim_options)
    attached = []

    def before(batch_idx, data_batch):
        with torch.enable_grad():  # the test loop runs under no_grad
            handle = attack_batch(attack, victim, data_batch, iteration=batch_idx)
        if handle is not None:
            attached.append(handle)

    def after(batch_idx, data_batch):
        while attached:
            attached.pop().remove()

    return ctx.evaluate(entry, desc, before_batch=before, after_batch=after)


@ENTRY_KINDS.register_module(name='attack')
class AttackKind(EntryKind):
    """One unit: the split under the attack."""

    keys = ('attack', 'attack_options', 'victim')
    is_attack = True

    def check(self, entry: dict, out: dict, where: str, suite_dir) -> None:
        attack = entry.get('attack')
        if isinstance(attack, str):
            if not attack.endswith('.py'):
                fail(where, f'attack must be a config dict or a .py attack config file, '
                     f'got {attack!r}')
            out['attack'] = resolve_path(attack, suite_dir)
        elif isinstance(attack, dict):
            if 'type' not in attack:
                fail(where, 'the attack dict has no "type"')
        else:
            fail(where, 'attack must be a config dict (type=...) or a .py attack config '
                 f'file, got {attack!r}')
        out['attack_options'] = entry_dict(where, 'attack_options',
                                           entry.get('attack_options')) or {}
        out['victim'] = entry_dict(where, 'victim', entry.get('victim'))

    def family(self, entry: dict, generator: Optional[dict]):
        try:
            attack, _ = resolve_attack(entry, generator)
        except Exception:  # noqa: BLE001  (the entry itself reports the problem)
            return (), None
        families, mask = attack_family(attack)
        return families[:1], mask

    def units(self, entry: dict, rec: dict, ctx) -> list:
        base = ctx.base_spec(entry)
        try:
            attack, victim = resolve_attack(entry, ctx.generator)
        except Exception as e:  # noqa: BLE001  (the unit fails with this reason)
            error = e

            def failed(desc, info, digest):
                raise error

            return [Unit(None, dict(base, attack=entry['attack'], error=str(e)), failed)]
        victim = ctx.victim_options(entry, victim)
        rec['attack'] = attack
        if victim:
            rec['victim'] = victim
        return [Unit(None, dict(base, attack=attack, victim=victim),
                     partial(evaluate_under_attack, ctx, entry, attack, victim))]


__all__ = ['AttackKind', 'attack_family', 'resolve_attack', 'short_type',
           'evaluate_under_attack']
