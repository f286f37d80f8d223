"""Scores of a robustness run: metric per task, mPC / rPC, mean over unseen attacks.

Definitions (also written into ``robustness.json``):

* **score**: the task metric on the 0-1 scale: detection ``coco/bbox_mAP_50``,
  segmentation ``mIoU`` (mmseg reports percent: divided by 100), classification
  ``accuracy/top1`` (:data:`TASK_METRICS`; a suite may set another ``metric``).
* **mPC** (MMDetection corruption benchmark, Michaelis et al. 2019): the mean score over
  the 15 benchmark corruptions x severities 1-5 (75 values); **rPC** = mPC / P, with P
  the clean score *on the same images* (severity 0 of the corruption entry; the clean
  entry when no corruption entry ran it). The 4 holdout corruptions give
  ``mPC_holdout`` / ``rPC_holdout`` the same way. With some (corruption, severity)
  results missing the mean is over those present and ``mPC_count`` says how many.
* **unseen mean**: the mean score over the entries of the attack kinds (those whose
  kind class sets ``is_attack``: ``attack``, ``universal`` and ``granularity``, one
  value each: a granularity entry's mean over layers) that completed and that the
  model did not train on (``trained_on``). Clean, other splits and corruptions are not
  attacks and are left out.
"""
from statistics import fmean
from typing import Dict, Iterable, List, Mapping, Optional, Tuple

from mmgat.transforms.corruptions import (BENCHMARK_CORRUPTIONS, HOLDOUT_CORRUPTIONS,
                                          SEVERITIES)
from mmgat.utils.errors import ConfigError
from .kinds import attack_kinds, get_kind, strength_gaps

#: task -> metric key, display name and the factor to the 0-1 scale.
TASK_METRICS = {
    'detection': dict(key='coco/bbox_mAP_50', name='bbox mAP50', scale=1.0),
    'segmentation': dict(key='mIoU', name='mIoU', scale=0.01),
    'classification': dict(key='accuracy/top1', name='top-1', scale=1.0),
}
#: Metric keys whose values are percentages (divided by 100 into scores).
PERCENT_KEYS = ('mIoU', 'mAcc', 'aAcc', 'mDice', 'mFscore')
#: The 15 + 4 corruptions by family (Hendrycks & Dietterich), for plots and tables.
CORRUPTION_FAMILIES = {
    'noise': ('gaussian_noise', 'shot_noise', 'impulse_noise'),
    'blur': ('defocus_blur', 'glass_blur', 'motion_blur', 'zoom_blur'),
    'weather': ('snow', 'frost', 'fog', 'brightness'),
    'digital': ('contrast', 'elastic_transform', 'pixelate', 'jpeg_compression'),
    'holdout': HOLDOUT_CORRUPTIONS,
}


def resolve_metric(task: str, override=None) -> dict:
    """``dict(key, name, scale)`` of the score for ``task``.

    ``override``: a metric key (scale 1/100 for mmseg's percentages, else 1), a dict
    per task, or a ``dict(key=..., name=..., scale=...)``.
    """
    if isinstance(override, dict) and task in override:
        override = override[task]
    elif isinstance(override, dict) and 'key' not in override:
        override = None  # a per-task dict without this task
    if override is None:
        if task not in TASK_METRICS:
            raise ConfigError(f'unknown task {task!r}; set the suite\'s metric')
        return dict(TASK_METRICS[task])
    if isinstance(override, str):
        scale = 0.01 if override.split('/')[-1] in PERCENT_KEYS else 1.0
        return dict(key=override, name=override.split('/')[-1], scale=scale)
    if isinstance(override, dict) and isinstance(override.get('key'), str):
        return dict(key=override['key'], name=override.get('name', override['key']),
                    scale=float(override.get('scale', 1.0)))
    raise ConfigError(f'metric must be a metric key or dict(key=..., name=..., '
                      f'scale=...), got {override!r}')


def score_from_metrics(metrics: Mapping[str, float], metric: dict) -> float:
    """The score (0-1 scale) in an evaluator's output.

    Raises:
        KeyError: the metric is not among the outputs (the message lists them).
    """
    if metric['key'] not in metrics:
        raise KeyError(f"the evaluator gave no {metric['key']!r}; it gave "
                       f'{sorted(metrics)} (set the suite\'s metric)')
    return float(metrics[metric['key']]) * metric['scale']


def _mean(values: Iterable[Optional[float]]) -> Optional[float]:
    values = [v for v in values if v is not None]
    return fmean(values) if values else None


def mean_performance(scores: Mapping[Tuple[str, int], float],
                     corruptions: Iterable[str] = BENCHMARK_CORRUPTIONS,
                     severities: Iterable[int] = SEVERITIES
                     ) -> Tuple[Optional[float], int]:
    """mPC: the mean of ``scores[(corruption, severity)]`` over the given grid.

    Returns ``(mPC, count)``; missing pairs are left out (``count`` < the grid size),
    ``(None, 0)`` when none is present.
    """
    values = [scores[(c, s)] for c in corruptions for s in severities
              if scores.get((c, s)) is not None]
    return (fmean(values) if values else None), len(values)


def relative_performance(mpc: Optional[float], clean: Optional[float]
                         ) -> Optional[float]:
    """rPC = mPC / P (None when either is missing or P is 0)."""
    if mpc is None or not clean:
        return None
    return mpc / clean


def unseen_mean(scores: Mapping[str, Optional[float]], kinds: Mapping[str, str],
                seen: Iterable[str], attacks: Optional[Iterable[str]] = None
                ) -> Tuple[Optional[float], List[str], List[str]]:
    """Mean over the attack entries the model did not train on.

    Args:
        scores: entry name -> score (None: not completed).
        kinds: entry name -> kind; only attack kinds count.
        seen: names of the entries the model trained on.
        attacks: the attack kinds; defaults to the registered ones
            (:func:`mmgat.evaluation.kinds.attack_kinds`).

    Returns:
        ``(mean or None, names averaged, unseen attack names without a score)``.
    """
    seen = set(seen)
    attacks = set(attack_kinds() if attacks is None else attacks)
    used, missing = [], []
    for name, kind in kinds.items():
        if kind not in attacks or name in seen:
            continue
        (used if scores.get(name) is not None else missing).append(name)
    return _mean(scores[n] for n in used), used, missing


# --------------------------------------------------------------- records of a run
def unit_records(entry: dict) -> Dict[Optional[str], dict]:
    """unit key -> unit record of an entry record (key None: a single-unit entry)."""
    if 'units' in entry:
        return dict(entry['units'])
    return {None: entry}


def entry_score(entry: dict) -> Optional[float]:
    """One score per entry: its unit's; a corruption entry's mean over its corrupted
    units, a granularity entry's mean over its layers, a kind's ``score_unit``'s
    (strength: the stronger attack's); None when nothing completed."""
    if 'units' not in entry:
        return entry.get('score') if entry.get('status') == 'done' else None
    kind = get_kind(entry.get('kind'))
    if kind is not None and kind.score_unit is not None:
        unit = entry['units'].get(kind.score_unit) or {}
        return unit.get('score') if unit.get('status') == 'done' else None
    return _mean(u.get('score') for k, u in entry['units'].items()
                 if k != 'clean' and u.get('status') == 'done')


def entry_status(entry: dict) -> str:
    """'done' (every unit), 'failed' (failures, nothing completed), 'partial' (some
    units failed, some completed) or 'pending' (not run, or interrupted)."""
    units = list(unit_records(entry).values())
    if not units:  # e.g. the generator of a granularity entry could not be loaded
        return entry.get('status', 'pending')
    states = [u.get('status', 'pending') for u in units]
    if all(s == 'done' for s in states):
        return 'done'
    if 'failed' in states:
        return 'partial' if 'done' in states else 'failed'
    return 'pending'


def corruption_scores(entries: Mapping[str, dict]
                      ) -> Tuple[Dict[Tuple[str, int], float], List[float]]:
    """``((corruption, severity) -> score, clean scores of those images)`` over all
    corruption entries (the first entry giving a pair wins)."""
    scores, cleans = {}, []
    for entry in entries.values():
        if entry.get('kind') != 'corruption':
            continue
        for key, unit in entry.get('units', {}).items():
            if unit.get('status') != 'done':
                continue
            if key == 'clean':
                cleans.append(unit['score'])
                continue
            name, severity = key.rsplit('/', 1)
            scores.setdefault((name, int(severity)), unit['score'])
    return scores, cleans


def summarize(record: dict) -> dict:
    """The summary fields of a ``robustness.json`` record (recomputed, never stored
    state): clean, val_ood, per-entry scores / status / seconds, unseen mean, mPC,
    rPC and their holdout versions, per-severity and per-corruption means."""
    entries = record.get('entries', {})
    kinds = {name: e.get('kind') for name, e in entries.items()}
    scores = {name: entry_score(e) for name, e in entries.items()}
    status = {name: entry_status(e) for name, e in entries.items()}
    seconds = {name: round(sum(float(u.get('seconds') or 0)
                               for u in unit_records(e).values()), 3)
               for name, e in entries.items()}
    clean = next((scores[n] for n, k in kinds.items() if k == 'clean'
                  and scores[n] is not None), None)
    val_ood = next((scores[n] for n, e in entries.items() if e.get('kind') == 'split'
                    and e.get('split') == 'val_ood' and scores[n] is not None), None)
    mean, used, missing = unseen_mean(scores, kinds, record.get('trained_on', []))

    pairs, cleans = corruption_scores(entries)
    p = _mean(cleans) if cleans else clean
    mpc, count = mean_performance(pairs, BENCHMARK_CORRUPTIONS)
    mpc_h, count_h = mean_performance(pairs, HOLDOUT_CORRUPTIONS)
    by_corruption = {}
    for (name, severity), value in sorted(pairs.items()):
        by_corruption.setdefault(name, {})[str(severity)] = value
    severity_mean = {}
    for severity in SEVERITIES:
        value, _ = mean_performance(pairs, BENCHMARK_CORRUPTIONS, (severity, ))
        if value is not None:
            severity_mean[str(severity)] = value
    corruption = dict(
        P=p, P_source='corruption entry (severity 0)' if cleans else 'clean entry',
        mPC=mpc, mPC_count=count, mPC_expected=len(BENCHMARK_CORRUPTIONS) * len(
            SEVERITIES), rPC=relative_performance(mpc, p),
        mPC_holdout=mpc_h, mPC_holdout_count=count_h,
        rPC_holdout=relative_performance(mpc_h, p),
        severity_mean=severity_mean,
        corruption_mean={c: fmean(v.values()) for c, v in by_corruption.items()},
        scores=by_corruption) if pairs or cleans else None
    return dict(
        clean=clean, val_ood=val_ood, scores=scores, status=status,
        unseen_mean=mean, unseen_entries=used, unseen_missing=missing,
        mPC=corruption['mPC'] if corruption else None,
        rPC=corruption['rPC'] if corruption else None,
        mPC_holdout=corruption['mPC_holdout'] if corruption else None,
        rPC_holdout=corruption['rPC_holdout'] if corruption else None,
        corruption=corruption, seconds=seconds,
        total_seconds=round(sum(seconds.values()), 3),
        strength=strength_gaps(entries),
        failed=[n for n, s in status.items() if s in ('failed', 'partial')],
        complete=all(s == 'done' for s in status.values()))


__all__ = ['TASK_METRICS', 'CORRUPTION_FAMILIES', 'resolve_metric',
           'score_from_metrics', 'mean_performance', 'relative_performance',
           'unseen_mean', 'entry_score', 'entry_status', 'corruption_scores',
           'summarize', 'unit_records']
