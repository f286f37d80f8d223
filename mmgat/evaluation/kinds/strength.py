"""``kind='strength'``: has an iterative attack entry converged?

An evaluation attack that has not converged over-states robustness. A strength entry
re-runs an attack entry (``of``) on a subset with its configured steps (unit
``base``) and with ``factor`` times the steps, plus one random restart for attacks
that take ``restarts`` (APGD) (unit ``strong``), on the same images; the entry's score
is the strong one and ``gap = base - strong``. ``robustness.md`` flags entries whose
score still drops by more than ``threshold`` (default 0.02, i.e. 2 points): their
attack has not converged and their score is an upper bound.

A suite does not list these entries itself: its ``strength_check`` setting adds one per
iterative attack entry (:func:`strength_entries`). Not an attack kind: strength entries
stay out of the unseen mean.

Example:
    >>> strength_check = dict(num_images=16)  # in a suite: every iterative attack
"""
import inspect
from functools import partial
from typing import List, Optional

from mmgat.attacks import attack_class, load_attack_file
from mmgat.registry import ENTRY_KINDS
from mmgat.utils.checks import check_int, check_number
from mmgat.utils.errors import ConfigError
from .attack import AttackKind, evaluate_under_attack, resolve_attack
from .base_kind import Unit, setting_with_defaults

#: Defaults of a suite's ``strength_check`` setting.
STRENGTH_DEFAULTS = dict(num_images=16, factor=2, threshold=0.02, entries=None)
SUFFIX = '-strength'


def _init_default(cls, name: str):
    parameter = inspect.signature(cls.__init__).parameters.get(name)
    if parameter is None or parameter.default is inspect.Parameter.empty:
        return None
    return parameter.default


def stronger_attack(attack: dict, factor: int) -> dict:
    """``attack`` with ``factor`` x its steps and, if it restarts, one restart more.

    Raises:
        ConfigError: the attack takes no ``steps`` (nothing to make stronger).
    """
    cls = attack_class(attack.get('type', ''))
    steps = attack.get('steps', _init_default(cls, 'steps') if cls else None)
    if not isinstance(steps, int):
        raise ConfigError(f"{attack.get('type')} takes no steps: its strength cannot be "
                          'checked')
    out = dict(attack, steps=steps * factor)
    if cls is not None and 'restarts' in inspect.signature(cls.__init__).parameters:
        out['restarts'] = int(attack.get('restarts', _init_default(cls, 'restarts') or 1)) + 1
    return out


def is_iterative(entry: dict) -> bool:
    """Whether an attack entry's attack takes ``steps`` (read from its file)."""
    attack = entry.get('attack')
    try:
        if isinstance(attack, str):
            attack, _ = load_attack_file(attack)
        cls = attack_class(attack.get('type', ''))
    except Exception:  # noqa: BLE001  (the entry itself reports a bad attack)
        return False
    return cls is not None and 'steps' in inspect.signature(cls.__init__).parameters


def check_strength(value) -> Optional[dict]:
    """A suite's ``strength_check`` with its defaults filled (None: off)."""
    if value is None or value is False:
        return None
    out = setting_with_defaults('strength_check', {} if value is True else value,
                                STRENGTH_DEFAULTS)
    prefix = 'robustness suite: strength_check.'
    out['num_images'] = check_int('num_images', out['num_images'], low=1,
                                  allow_none=True, prefix=prefix)
    out['factor'] = check_int('factor', out['factor'], low=2, prefix=prefix)
    out['threshold'] = check_number('threshold', out['threshold'], prefix=prefix)
    if out['entries'] is not None and not isinstance(out['entries'], list):
        raise ConfigError(f'{prefix}entries must be a list of entry names or None')
    return out


def strength_entries(entries: List[dict], setting: Optional[dict]) -> List[dict]:
    """One strength entry per (chosen) iterative attack entry of a checked suite."""
    if not setting:
        return []
    names = [e['name'] for e in entries]
    chosen = setting['entries']
    if chosen is not None:
        missing = sorted(set(chosen) - set(names))
        if missing:
            raise ConfigError(f'robustness suite: strength_check.entries names unknown '
                              f'entries {missing}')
    out = []
    for entry in entries:
        if entry['kind'] != 'attack' or (chosen is not None and entry['name'] not in
                                         chosen):
            continue
        if not is_iterative(entry):
            continue
        num = setting['num_images']
        if entry.get('num_images') is not None:
            num = entry['num_images'] if num is None else min(num, entry['num_images'])
        out.append(dict(
            name=entry['name'] + SUFFIX, kind='strength', of=entry['name'],
            attack=entry['attack'], attack_options=entry.get('attack_options') or {},
            victim=entry.get('victim'), num_images=num, subset=entry['subset'],
            split=entry['split'], batch_size=entry.get('batch_size'),
            tasks=entry.get('tasks'), factor=setting['factor'],
            threshold=setting['threshold']))
    return out


@ENTRY_KINDS.register_module(name='strength')
class StrengthKind(AttackKind):
    """Two units on the same images: ``base`` (the attack as configured) and
    ``strong`` (``factor`` x steps, +1 restart); the entry scores ``strong``."""

    keys = ('attack', 'attack_options', 'victim', 'of', 'factor', 'threshold')
    is_attack = False
    score_unit = 'strong'

    def check(self, entry: dict, out: dict, where: str, suite_dir) -> None:
        super().check(entry, out, where, suite_dir)
        out['of'] = entry.get('of')
        out['factor'] = check_int('factor', entry.get('factor', 2), low=2,
                                  prefix=f'robustness suite: {where}: ')
        out['threshold'] = check_number('threshold', entry.get('threshold', 0.02),
                                        prefix=f'robustness suite: {where}: ')

    def family(self, entry: dict, generator):
        return (), None

    def units(self, entry: dict, rec: dict, ctx) -> list:
        base = ctx.base_spec(entry)
        attack, victim = resolve_attack(entry, ctx.generator)
        strong = stronger_attack(attack, entry['factor'])
        victim = ctx.victim_options(entry, victim)
        rec.update(of=entry.get('of'), threshold=entry['threshold'],
                   steps=[attack.get('steps'), strong['steps']])
        units = []
        for key, cfg in (('base', attack), ('strong', strong)):
            units.append(Unit(key, dict(base, attack=cfg, victim=victim),
                              partial(evaluate_under_attack, ctx, entry, cfg, victim)))
        return units


def strength_gaps(entries: dict) -> dict:
    """entry name -> ``dict(of, base, strong, gap, threshold, converged)`` of the
    strength entries whose two units completed."""
    out = {}
    for name, entry in entries.items():
        if entry.get('kind') != 'strength':
            continue
        units = entry.get('units') or {}
        base, strong = units.get('base', {}), units.get('strong', {})
        if base.get('status') != 'done' or strong.get('status') != 'done':
            continue
        gap = base['score'] - strong['score']
        threshold = entry.get('threshold', STRENGTH_DEFAULTS['threshold'])
        out[name] = dict(of=entry.get('of'), base=base['score'], strong=strong['score'],
                         gap=gap, threshold=threshold, steps=entry.get('steps'),
                         converged=gap <= threshold)
    return out


__all__ = ['StrengthKind', 'check_strength', 'strength_entries', 'stronger_attack',
           'strength_gaps', 'STRENGTH_DEFAULTS', 'is_iterative']
