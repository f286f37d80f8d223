"""The results of a run as ``robustness.json`` holds them, and an earlier run's merged.

An entry record holds its unit's fields (single-unit entries) or ``units: {key:
unit}``; a unit is ``dict(status='done' | 'failed', score, metrics, num_images,
seconds, hash, error, note, info, ci, outcomes, outcomes_missing)`` (``ci``: the
score's bootstrap interval; ``outcomes``: its per-image outcome file, relative to the
work dir; ``outcomes_missing``: why it has none). An interrupted run keeps the earlier results of
the entries it had not reached yet under ``carried``.
"""
from typing import Optional

from .aggregation import unit_records
from .writers import read_json

#: Version tag of the ``robustness.json`` format.
FORMAT = 'mmgat.robustness/1'
#: The fields of a unit record kept in a single-unit entry's record.
UNIT_FIELDS = ('status', 'score', 'metrics', 'num_images', 'seconds', 'hash', 'error',
               'note', 'info', 'ci', 'outcomes', 'outcomes_missing', 'outcome_seconds')


def store_unit(rec: dict, key: Optional[str], multi: bool, unit: dict) -> None:
    """Put a unit's record into its entry's record (in place)."""
    if multi:
        rec['units'][key] = unit
    else:
        for field in UNIT_FIELDS:
            rec.pop(field, None)
        rec.update(unit)


def merge_runs(old: dict) -> dict:
    """entry name -> entry record of a ``robustness.json``: its ``entries``, and for
    what an interrupted run had not redone yet, its ``carried`` ones (per unit: the
    newer completed or failed result wins)."""
    entries = {}
    for source in (old.get('carried') or {}, old.get('entries') or {}):
        for name, entry in source.items():
            if not isinstance(entry, dict):
                continue
            base = entries.get(name)
            if base is None:
                entries[name] = entry
            elif 'units' in entry and 'units' in base:
                units = dict(base['units'])
                units.update({k: u for k, u in entry['units'].items()
                              if u.get('status') in ('done', 'failed')})
                entries[name] = dict(entry, units=units)
            elif entry.get('status') in ('done', 'failed'):
                entries[name] = entry
    return entries


def previous_entries(json_path: str, model_id: dict, log) -> dict:
    """The entries of an earlier run of the same model in ``json_path``, else {}."""
    old = read_json(json_path)
    if not old:
        return {}
    if old.get('format') != FORMAT or old.get('model_id') != model_id:
        log(f'{json_path} holds results of another model or format; starting afresh',
            warning=True)
        return {}
    entries = merge_runs(old)
    done = sum(1 for e in entries.values() for u in unit_records(e).values()
               if u.get('status') == 'done')
    if done:
        log(f'resuming: {done} completed unit(s) in {json_path}')
    return entries


__all__ = ['FORMAT', 'UNIT_FIELDS', 'store_unit', 'merge_runs', 'previous_entries']
