"""Bootstrap intervals of every score of a run, and paired differences of two runs.

Each unit's score is recomputed per replicate from its outcome file
(:func:`~mmgat.evaluation.outcomes.weighted_scores` with the split's weights of
:func:`~mmgat.evaluation.bootstrap.bootstrap_weights`); every derived number (an
entry's mean over units, the unseen mean, mPC, rPC) is recomputed per replicate by
the same :func:`~mmgat.evaluation.aggregation.summarize` that makes the point values,
so the intervals follow the definitions exactly. A unit without outcomes (an older
run, a metric that cannot be recomputed) makes every number it enters undefined in
all replicates: those get no interval, and :attr:`RunReplicates.missing` names it.
"""
import os.path as osp
from typing import Dict, List, Optional, Tuple

import numpy as np

from .aggregation import summarize, unit_records
from .bootstrap import (DEFAULT_LEVEL, DEFAULT_REPLICATES, DEFAULT_SEED,
                        bootstrap_weights, percentile_interval)
from .outcomes import load_outcomes, weighted_scores

#: The summary fields that get an interval (besides every entry's score).
SUMMARY_FIELDS = ('clean', 'val_ood', 'unseen_mean', 'mPC', 'rPC', 'mPC_holdout',
                  'rPC_holdout')
UnitKey = Tuple[str, Optional[str]]


class BootstrapWeights:
    """The weight matrices of one bootstrap setting, made once per split."""

    def __init__(self, replicates: int = DEFAULT_REPLICATES, seed: int = DEFAULT_SEED,
                 level: float = DEFAULT_LEVEL) -> None:
        self.replicates = int(replicates)
        self.seed = int(seed)
        self.level = float(level)
        self._weights: Dict[Tuple[str, int], np.ndarray] = {}

    def settings(self) -> dict:
        return dict(replicates=self.replicates, seed=self.seed, level=self.level)

    def of(self, outcomes: dict) -> np.ndarray:
        """``[R, N]`` weights of the images of a unit's outcomes."""
        split, size = str(outcomes['split']), int(outcomes['split_size'])
        if (split, size) not in self._weights:
            self._weights[(split, size)] = bootstrap_weights(size, self.replicates,
                                                             self.seed, split)
        return self._weights[(split, size)][:, outcomes['image_index']]

    def unit_scores(self, outcomes: dict, metric: dict) -> np.ndarray:
        """``[R]`` replicate scores of one unit."""
        return weighted_scores(outcomes, metric['key'], metric['scale'], self.of(outcomes))


def outcome_path(work_dir: str, unit: dict) -> Optional[str]:
    """The absolute path of a unit's outcome file (None when it names none)."""
    rel = unit.get('outcomes')
    if not isinstance(rel, str):
        return None
    return rel if osp.isabs(rel) else osp.join(work_dir, rel)


def unit_outcomes(work_dir: str, unit: dict) -> Tuple[Optional[dict], Optional[str]]:
    """``(outcome arrays, None)`` of a completed unit, or ``(None, why there are
    none)``."""
    path = outcome_path(work_dir, unit)
    outcomes = load_outcomes(path) if path else None
    if outcomes is not None:
        return outcomes, None
    return None, unit.get('outcomes_missing') or (
        'no per-image outcomes (written by an older version)' if path is None
        else f'outcome file {path} is missing or unreadable')


class RunReplicates:
    """Replicate values of every score of one run.

    Args:
        record (dict): The run's ``robustness.json`` record.
        work_dir (str): Where its outcome files are (relative paths of the units).
        weights (BootstrapWeights): The bootstrap setting.
        cache (dict, optional): ``(entry, unit key) -> [R]`` replicates already
            computed (the running suite's); others are loaded from the files.
    """

    def __init__(self, record: dict, work_dir: str, weights: BootstrapWeights,
                 cache: Optional[Dict[UnitKey, np.ndarray]] = None) -> None:
        self.record = record
        self.weights = weights
        self.metric = dict(key=record.get('metric'), scale=record.get('metric_scale', 1.0))
        self.units: Dict[UnitKey, np.ndarray] = {}
        #: unit -> its images (split, split size, image indices), for pairing.
        self.images: Dict[UnitKey, tuple] = {}
        #: 'entry' or 'entry / unit': completed units without outcomes, and why.
        self.missing: Dict[str, str] = {}
        cache = cache or {}
        for name, entry in (record.get('entries') or {}).items():
            for key, unit in unit_records(entry).items():
                if unit.get('status') != 'done':
                    continue
                label = name if key is None else f'{name} / {key}'
                cached = cache.get((name, key))
                outcomes = None
                if cached is None:
                    outcomes, why = unit_outcomes(work_dir, unit)
                    if outcomes is None:
                        self.missing[label] = why
                        continue
                    try:
                        cached = weights.unit_scores(outcomes, self.metric)
                    except ValueError as e:
                        self.missing[label] = str(e)
                        continue
                self.units[(name, key)] = cached
                if outcomes is not None:
                    self.images[(name, key)] = (str(outcomes['split']),
                                                int(outcomes['split_size']),
                                                tuple(outcomes['image_index'].tolist()))
        self.fields = self._summaries()

    def _summaries(self) -> Dict[str, np.ndarray]:
        """field -> ``[R]``: the summary fields and ``score:<entry>`` per replicate."""
        entries = self.record.get('entries') or {}
        names = list(entries)
        count = self.weights.replicates
        fields = {f: np.full(count, np.nan) for f in SUMMARY_FIELDS}
        fields.update({f'score:{n}': np.full(count, np.nan) for n in names})
        base = dict(trained_on=self.record.get('trained_on') or [])
        for r in range(count):
            replica = {}
            for name, entry in entries.items():
                if 'units' in entry:
                    units = {k: self._unit_at(name, k, u, r)
                             for k, u in entry['units'].items()}
                    replica[name] = dict(entry, units=units)
                else:
                    replica[name] = self._unit_at(name, None, entry, r)
            summary = summarize(dict(base, entries=replica))
            for field in SUMMARY_FIELDS:
                value = summary.get(field)
                if value is not None:
                    fields[field][r] = value
            for name in names:
                value = summary['scores'].get(name)
                if value is not None:
                    fields[f'score:{name}'][r] = value
        return fields

    def _unit_at(self, name: str, key, unit: dict, r: int) -> dict:
        if unit.get('status') != 'done':
            return unit
        reps = self.units.get((name, key))
        return dict(unit, score=float(reps[r]) if reps is not None else float('nan'))

    def interval(self, field: str) -> Optional[Tuple[float, float]]:
        values = self.fields.get(field)
        if values is None:
            return None
        return percentile_interval(values, self.weights.level)

    def unit_interval(self, name: str, key=None) -> Optional[Tuple[float, float]]:
        reps = self.units.get((name, key))
        return None if reps is None else percentile_interval(reps, self.weights.level)

    def intervals(self) -> dict:
        """The ``intervals`` section of ``robustness.json``."""
        out = dict(self.weights.settings(), method='percentile bootstrap over images')
        out.update({f: _pair(self.interval(f)) for f in SUMMARY_FIELDS})
        out['scores'] = {n: _pair(self.interval(f'score:{n}'))
                         for n in (self.record.get('entries') or {})}
        out['missing'] = dict(self.missing)
        return out


def _pair(interval):
    return None if interval is None else [interval[0], interval[1]]


def unpaired_units(a: RunReplicates, b: RunReplicates, entries: List[str]
                   ) -> Dict[str, str]:
    """Units of ``entries`` both runs scored but on different images: label -> why."""
    out = {}
    for (name, key), images in a.images.items():
        if name not in entries or (name, key) not in b.images:
            continue
        other = b.images[(name, key)]
        if images != other:
            label = name if key is None else f'{name} / {key}'
            out[label] = (f'{len(images[2])} vs {len(other[2])} images'
                          if len(images[2]) != len(other[2]) else
                          f'different images of {images[0]}'
                          if images[:2] == other[:2] else
                          f'split {images[0]} ({images[1]}) vs {other[0]} ({other[1]})')
    return out


__all__ = ['BootstrapWeights', 'RunReplicates', 'unpaired_units', 'outcome_path',
           'unit_outcomes', 'SUMMARY_FIELDS']
