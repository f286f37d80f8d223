"""``kind='corruption'``: :class:`mmgat.transforms.Corrupt` in the test pipeline right
after loading, for every name of ``corruptions`` (``'all'``, ``'benchmark'``,
``'holdout'`` or a list) and severity of ``severities`` (default 1-5), plus the same
images uncorrupted (unit ``'clean'``: the ``P`` of rPC).

Example:
    >>> dict(name='corruptions', kind='corruption', corruptions='all',
    ...      severities=[1, 2, 3, 4, 5], seed=0, num_images=32)
"""
from functools import partial
from typing import Iterable, Optional, Tuple

from mmgat.registry import ENTRY_KINDS
from mmgat.transforms.corruptions import (BENCHMARK_CORRUPTIONS, CORRUPTIONS,
                                          HOLDOUT_CORRUPTIONS, SEVERITIES,
                                          check_corruption)
from mmgat.utils.checks import is_int
from ..pipeline_edits import insert_after_loading
from .base_kind import EntryKind, Unit, entry_int, fail

CORRUPTION_SETS = {'all': CORRUPTIONS, 'benchmark': BENCHMARK_CORRUPTIONS,
                   'holdout': HOLDOUT_CORRUPTIONS}


def iter_corruption_units(entry: dict) -> Iterable[Tuple[str, Optional[int]]]:
    """``(corruption, severity)`` of a corruption entry; ``('clean', 0)`` first."""
    yield 'clean', 0
    for name in entry['corruptions']:
        for severity in entry['severities']:
            yield name, severity


def evaluate_corrupted(ctx, entry: dict, corruption: str, severity: int, desc: str,
                       info: dict, digest: str):
    check_corruption(corruption, severity)  # an unknown name fails here, clearly
    transform = dict(type='mmgat.Corrupt', corruption=corruption, severity=severity,
                     seed=entry['seed'])
    return ctx.evaluate(entry, desc, edit=lambda p: insert_after_loading(p, transform))


@ENTRY_KINDS.register_module(name='corruption')
class CorruptionKind(EntryKind):
    """One unit per (corruption, severity) (key ``'fog/3'``) plus ``'clean'``."""

    keys = ('corruptions', 'severities', 'seed')

    def check(self, entry: dict, out: dict, where: str, suite_dir) -> None:
        names = entry.get('corruptions', 'all')
        if isinstance(names, str):
            if names not in CORRUPTION_SETS:
                names = [names]  # one name; an unknown one fails when it runs
            else:
                names = list(CORRUPTION_SETS[names])
        if not isinstance(names, list) or not names or not all(
                isinstance(v, str) for v in names):
            fail(where, "corruptions must be 'all', 'benchmark', 'holdout' or a list of "
                 f'names, got {entry.get("corruptions")!r}')
        if len(set(names)) != len(names):
            fail(where, f'corruptions lists a name twice: {names}')
        out['corruptions'] = names
        severities = entry.get('severities', list(SEVERITIES))
        if is_int(severities):
            severities = [severities]
        if (not isinstance(severities, list) or not severities
                or len(set(severities)) != len(severities) or not all(
                    is_int(s) and SEVERITIES[0] <= s <= SEVERITIES[-1]
                    for s in severities)):
            fail(where, f'severities must be distinct ints from 1 to 5, got '
                 f'{entry.get("severities")!r}')
        out['severities'] = [int(s) for s in severities]
        out['seed'] = entry_int(where, 'seed', entry.get('seed', 0), low=0,
                                allow_none=False)

    def units(self, entry: dict, rec: dict, ctx) -> list:
        rec.update(corruptions=list(entry['corruptions']),
                   severities=list(entry['severities']))
        base = ctx.base_spec(entry)
        units = []
        for corruption, severity in iter_corruption_units(entry):
            if severity == 0:
                units.append(Unit('clean', dict(base, kind='clean'),
                                  lambda desc, info, digest: ctx.evaluate(entry, desc)))
                continue
            spec = dict(base, corruption=corruption, severity=severity,
                        seed=entry['seed'])
            units.append(Unit(f'{corruption}/{severity}', spec,
                              partial(evaluate_corrupted, ctx, entry, corruption,
                                      severity)))
        return units


__all__ = ['CorruptionKind', 'CORRUPTION_SETS', 'iter_corruption_units']
