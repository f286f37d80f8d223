"""Merge robustness runs into one comparison (``tools/report.py``).

Each run is the ``robustness.json`` of ``tools/test.py --robustness``. Runs are grouped by
task (detection mAP, segmentation mIoU, classification top-1, each its own table);
rows are training methods, columns the suite's entries (corruption entries are
summarised by the mPC / rPC columns), then the mean over unseen attacks, mPC and rPC.
The best value of each column is bold; an attack a method trained on is marked ``†``
(it is left out of that method's unseen mean).

Every value carries ``±`` half the width of its bootstrap interval over images
(:mod:`mmgat.evaluation.intervals`, recomputed here from the runs' outcome files with
one setting for all runs). With ``baseline`` a second table per task gives each
method's difference to the baseline run with its *paired* bootstrap interval (the same
resampled images for both), bold where the interval excludes 0. Runs given the same
name are seeds of one method: their row shows the mean over seeds, and a seed table
compares the spread across seeds with the image-level interval.
"""
import os.path as osp
from statistics import fmean, stdev
from typing import Dict, List, Optional, Sequence

import numpy as np

from mmgat.utils.errors import ConfigError
from .aggregation import summarize
from .bootstrap import excludes_zero, percentile_interval
from .intervals import BootstrapWeights, RunReplicates, unpaired_units
from .kinds import attack_kinds
from .writers import fmt, markdown_table, read_json

TASK_ORDER = ('detection', 'segmentation', 'classification')
SUMMARY_COLUMNS = (('unseen_mean', 'unseen mean'), ('common_unseen_mean', 'unseen by all'),
                   ('mPC', 'mPC'), ('rPC', 'rPC'))


def load_run(path: str) -> dict:
    """A run's record from a work dir (its ``robustness.json``) or a JSON file.

    The summary fields are recomputed from the entries (:func:`summarize`).

    Raises:
        ConfigError: no readable robustness record at ``path``.
    """
    file = osp.join(path, 'robustness.json') if osp.isdir(path) else path
    record = read_json(file)
    if record is None:
        raise ConfigError(f"no robustness results at '{path}' (expected a work dir of "
                          "tools/test.py --robustness or its robustness.json)")
    if not isinstance(record.get('entries'), dict) or not record.get('task'):
        raise ConfigError(f"'{file}' is not a robustness record (no task / entries)")
    record = dict(record)
    record.update(summarize(record))
    record['source'] = file
    return record


def method_names(records: Sequence[dict], names: Optional[Sequence[str]] = None
                 ) -> List[str]:
    """Row names: ``names`` if given, else each run's config name (made unique with its
    folder name when two runs share one)."""
    if names:
        if len(names) != len(records):
            raise ConfigError(f'--names gives {len(names)} names for {len(records)} runs')
        return list(names)
    names = [r.get('config_name') or osp.basename(osp.dirname(r['source']))
             for r in records]
    return [f"{name} ({osp.basename(osp.dirname(record['source']))})"
            if names.count(name) > 1 else name for name, record in zip(names, records)]


def task_columns(records: Sequence[dict]) -> List[str]:
    """Entry columns of a task table: every non-corruption entry, in suite order."""
    columns = []
    for record in records:
        for name, entry in record['entries'].items():
            if entry.get('kind') != 'corruption' and name not in columns:
                columns.append(name)
    return columns


def common_unseen(records: Sequence[dict]) -> List[str]:
    """Attack entries that no run of ``records`` trained on and every run scored, in
    column order.

    Each method's own unseen mean leaves out what *it* trained on, so two methods'
    means can cover different attacks (a clean model's includes the GAT attacks, a GAT
    model's does not); the mean over these common entries compares like with like.
    """
    common = None
    for record in records:
        attacks = set(record.get('unseen_kinds') or attack_kinds())
        seen = set(record.get('trained_on') or [])
        mine = {name for name, entry in record['entries'].items()
                if entry.get('kind') in attacks and name not in seen
                and record['scores'].get(name) is not None}
        common = mine if common is None else common & mine
    return [c for c in task_columns(records) if c in (common or set())]


def add_common_unseen_mean(records: Sequence[dict]) -> None:
    """Set ``common_unseen_mean`` of each record (in place): its mean score over
    :func:`common_unseen` (None when there is none)."""
    names = common_unseen(records)
    for record in records:
        scores = [record['scores'][n] for n in names]
        record['common_unseen_mean'] = sum(scores) / len(scores) if names else None
        record['common_unseen'] = names


def _bold_best(values: List[Optional[float]]) -> List[str]:
    present = [v for v in values if v is not None]
    best = max(present) if present else None
    cells = []
    for v in values:
        text = fmt(v)
        if v is not None and len(present) > 1 and abs(v - best) < 1e-12:
            text = f'**{text}**'
        cells.append(text)
    return cells


def _field(kind: str, key: str) -> str:
    """The replicate field of a table column."""
    return f'score:{key}' if kind == 'entry' else key


def _half_width(interval) -> Optional[float]:
    return None if interval is None else (interval[1] - interval[0]) / 2


def add_replicates(records: Sequence[dict], weights: Optional[BootstrapWeights]) -> None:
    """Attach each record's :class:`RunReplicates` (``'replicates'``, in place) and
    the replicates of its common unseen mean (call after
    :func:`add_common_unseen_mean`)."""
    for record in records:
        if weights is None or weights.replicates <= 0:
            record['replicates'] = None
            continue
        reps = RunReplicates(record, osp.dirname(record['source']), weights)
        names = record.get('common_unseen') or []
        if names:
            reps.fields['common_unseen_mean'] = np.mean(
                [reps.fields[f'score:{n}'] for n in names], axis=0)
        record['replicates'] = reps


def _interval(record: dict, kind: str, key: str):
    reps = record.get('replicates')
    return None if reps is None else reps.interval(_field(kind, key))


def task_table(records: Sequence[dict], names: Sequence[str]) -> str:
    """The Markdown table of one task's runs (one row per method: the mean over its
    seeds when several runs share a name)."""
    columns = task_columns(records)
    add_common_unseen_mean(records)
    keys = [('entry', c) for c in columns] + [('summary', k) for k, _ in SUMMARY_COLUMNS]
    header = ['method'] + columns + [label for _, label in SUMMARY_COLUMNS]
    groups = _seed_groups(names)
    grid, widths = [], []
    for name, members in groups.items():
        row, spread = [], []
        for kind, key in keys:
            values = [_value(records[i], kind, key) for i in members]
            row.append(fmean(values) if values and None not in values else None)
            halves = [_half_width(_interval(records[i], kind, key)) for i in members]
            spread.append(fmean(halves) if halves and None not in halves else None)
        grid.append(row)
        widths.append(spread)
    cells_by_column = [_bold_best([row[j] for row in grid]) for j in range(len(keys))]
    rows = []
    for i, (name, members) in enumerate(groups.items()):
        seen = set()
        for m in members:
            seen |= set(records[m].get('trained_on') or [])
        label = name if len(members) == 1 else f'{name} ({len(members)} seeds)'
        row = [label]
        for j, (kind, key) in enumerate(keys):
            cell = cells_by_column[j][i]
            if grid[i][j] is not None and widths[i][j] is not None:
                cell += f' ±{widths[i][j]:.3f}'
            if kind == 'entry' and key in seen and grid[i][j] is not None:
                cell += ' †'
            row.append(cell)
        rows.append(row)
    return markdown_table(header, rows)


def _value(record: dict, kind: str, key) -> Optional[float]:
    """A cell's value: an entry's score, a summary field, or (``kind='names'``) the
    mean score over the entries ``key`` (None when it is empty)."""
    if kind == 'names':
        return fmean(record['scores'][n] for n in key) if key else None
    return record['scores'].get(key) if kind == 'entry' else record.get(key)


def _seed_groups(names: Sequence[str]) -> Dict[str, List[int]]:
    """name -> indices of the runs with that name, in first-appearance order."""
    groups: Dict[str, List[int]] = {}
    for i, name in enumerate(names):
        groups.setdefault(name, []).append(i)
    return groups


def _seed_mean(records: Sequence[dict], group: List[int], field) -> np.ndarray:
    """``[R]``: per replicate, the mean of ``field`` over the runs (seeds) of ``group``
    (a tuple of entry names: their mean score)."""
    values = []
    for i in group:
        reps = records[i]['replicates']
        missing = np.full(reps.weights.replicates, np.nan)
        if isinstance(field, tuple):  # the mean over these entries
            values.append(np.mean([reps.fields.get(f'score:{n}', missing)
                                   for n in field], axis=0))
        else:
            values.append(reps.fields.get(field, missing))
    return np.mean(values, axis=0)


def difference_table(records: Sequence[dict], names: Sequence[str], baseline: str
                     ) -> List[str]:
    """Lines of the table of differences to the ``baseline`` method of a task.

    A cell is ``A - baseline`` with its paired-bootstrap interval; bold where the
    interval excludes 0. Its "unseen by both" column is the mean over the attack
    entries neither side trained on (the same entries on both sides; each side's own
    unseen mean can cover different ones). With seeds (several runs of one name) both
    sides are means over their seeds, per replicate, so the interval is that of the
    difference of the means over the same resampled images (seed-to-seed spread: see
    the seed table). A
    pair of runs that share no per-image outcomes, or that scored an entry on
    different images, gets no interval there (the lines after the table say which and
    why).
    """
    groups = _seed_groups(names)
    base_members = groups[baseline]
    columns = task_columns(records)
    # Each side's own unseen mean may cover other attacks than the other's; the
    # difference is taken over the attacks neither side trained on instead.
    summaries = [(('pair', 'unseen_by_both'), 'unseen by both')] + [
        (('summary', k), label) for k, label in SUMMARY_COLUMNS if k != 'unseen_mean']
    keys = [('entry', c) for c in columns] + [key for key, _ in summaries]
    header = [f'method - {baseline}'] + columns + [label for _, label in summaries]
    rows, notes = [], []
    for name, members in groups.items():
        if name == baseline:
            continue
        reps = [records[i].get('replicates') for i in members + base_members]
        unpaired = {}
        if None not in reps:
            for i in members:
                for j in base_members:
                    unpaired.update(unpaired_units(records[i]['replicates'],
                                                   records[j]['replicates'], columns))
        bad_entries = {label.split(' / ')[0] for label in unpaired}
        paired_runs = None not in reps
        if not paired_runs:
            notes.append(f'- {name}: no paired intervals: no bootstrap replicates')
        elif any(r.missing for r in reps):
            lacking = [n for n, group in ((name, members), (baseline, base_members))
                       if any(records[i]['replicates'].missing for i in group)]
            notes.append(f'- {name}: no paired interval where {" or ".join(lacking)} '
                         'lacks per-image outcomes (a run of an older version)')
        if unpaired:
            notes.append(f'- {name}: not paired (different images), no interval: '
                         + ', '.join(f'{k} ({v})' for k, v in sorted(unpaired.items())))
        both = common_unseen([records[i] for i in members + base_members])
        row = [name]
        for kind, key in keys:
            if kind == 'pair':
                kind, key = 'names', tuple(both)
            va = [_value(records[i], kind, key) for i in members]
            vb = [_value(records[i], kind, key) for i in base_members]
            if None in va or None in vb:
                row.append('-')
                continue
            text = f'{fmean(va) - fmean(vb):+.3f}'
            paired = paired_runs and not ((kind == 'entry' and key in bad_entries) or
                                          (kind != 'entry' and unpaired))
            if paired:
                field = key if kind == 'names' else _field(kind, key)
                interval = percentile_interval(
                    _seed_mean(records, members, field)
                    - _seed_mean(records, base_members, field), reps[0].weights.level)
                if interval is not None:
                    text += f' [{interval[0]:+.3f}, {interval[1]:+.3f}]'
                    if excludes_zero(interval):
                        text = f'**{text}**'
            row.append(text)
        rows.append(row)
    return [markdown_table(header, rows)] + ([''] + notes if notes else [])


def seed_table(records: Sequence[dict], names: Sequence[str]) -> List[str]:
    """Lines comparing, per method with several seeds, the spread across seeds (sd
    of the seeds' values) with the image-level interval (mean half-width / 1.96,
    the standard error it implies), for clean, unseen mean and mPC."""
    groups = {n: m for n, m in _seed_groups(names).items() if len(m) > 1}
    if not groups:
        return []
    fields = (('clean', 'clean'), ('unseen_mean', 'unseen mean'), ('mPC', 'mPC'))
    header = ['method', 'seeds'] + [f'{label}: mean / seed sd / image se / dominates'
                                    for _, label in fields]
    rows = []
    for name, members in groups.items():
        row = [name, str(len(members))]
        for field, _ in fields:
            values = [records[m].get(field) for m in members]
            if None in values:
                row.append('-')
                continue
            sd = stdev(values)
            halves = [_half_width(_interval(records[m], 'summary', field))
                      for m in members]
            se = fmean(halves) / 1.96 if None not in halves else None
            which = '-' if se is None else ('seeds' if sd > se else 'images')
            row.append(f'{fmean(values):.3f} / {sd:.3f} / '
                       f"{'-' if se is None else f'{se:.3f}'} / {which}")
        rows.append(row)
    return ['Seeds: the mean over seeds, the standard deviation across seeds, the '
            'standard error over images (mean over seeds of the interval half-width / '
            '1.96) and which of the two is larger (dominates the uncertainty of the '
            'mean of one run).', '', markdown_table(header, rows)]


def merge_report(records: Sequence[dict], names: Optional[Sequence[str]] = None,
                 baseline: Optional[str] = None,
                 bootstrap: Optional[BootstrapWeights] = None) -> dict:
    """``dict(markdown=..., rows=[...])``: the merged report and one summary row per
    run (task, method, clean, val_ood, unseen mean, mPC, rPC) for the figure.

    Args:
        baseline (str, optional): The name of the run every other run of its task is
            compared with (paired differences).
        bootstrap (BootstrapWeights, optional): The interval setting; None: the
            default (1,000 replicates, seed 0, 95%); ``replicates=0``: no intervals.

    Raises:
        ConfigError: no runs, or a baseline that is none of the runs' names.
    """
    if not records:
        raise ConfigError('no runs to report')
    labels = method_names(records, names)
    if baseline is not None and baseline not in labels:
        raise ConfigError(f'--baseline {baseline!r} is not among the runs: '
                          f'{sorted(set(labels))}')
    bootstrap = BootstrapWeights() if bootstrap is None else bootstrap
    tasks = [t for t in TASK_ORDER if any(r['task'] == t for r in records)]
    tasks += sorted({r['task'] for r in records} - set(tasks))
    out = ['# Robustness report', '',
           f'{len(records)} run(s). Scores on the 0-1 scale; **bold**: best in its '
           'column; †: an attack family the method trained on (not in its unseen mean). '
           'unseen mean: mean over the attack entries (attack, universal, granularity) '
           'the method did not train on; unseen by all: mean over the attack entries no '
           'method of the table trained on (compares like with like); mPC: mean over the '
           '15 benchmark corruptions x '
           '5 severities; rPC = mPC / clean score on the same images.'
           + (f' ±: half the width of the {round(100 * bootstrap.level)}% percentile '
              f'bootstrap interval over images ({bootstrap.replicates} replicates, seed '
              f'{bootstrap.seed}).' if bootstrap.replicates > 0 else ''), '']
    rows = []
    for task in tasks:
        idx = [i for i, r in enumerate(records) if r['task'] == task]
        task_records = [records[i] for i in idx]
        task_names = [labels[i] for i in idx]
        metrics = sorted({r.get('metric_name') or r.get('metric') for r in task_records})
        add_common_unseen_mean(task_records)
        add_replicates(task_records, bootstrap)
        table = task_table(task_records, task_names)
        out += [f'## {task.capitalize()} ({", ".join(metrics)})', '', table, '']
        for record, name in zip(task_records, task_names):
            reps = record.get('replicates')
            if reps is not None and reps.missing:
                out.append(f'- {name}: no interval for what uses '
                           f'{len(reps.missing)} unit(s) without per-image outcomes '
                           f"(e.g. {sorted(reps.missing)[0]}: "
                           f"{reps.missing[sorted(reps.missing)[0]]})")
        if baseline is not None and baseline in task_names:
            out += ['', f'### Differences to {baseline}', '',
                    'Paired bootstrap: both runs scored on the same resampled images; '
                    '**bold**: the interval excludes 0. unseen by both: mean over the '
                    f'attack entries neither the method nor {baseline} trained on.', '']
            out += difference_table(task_records, task_names, baseline) + ['']
        seeds = seed_table(task_records, task_names)
        if seeds:
            out += ['', '### Seeds', ''] + seeds + ['']
        for record, name in zip(task_records, task_names):
            rows.append(dict(task=task, method=name, metric_name=metrics[0],
                             clean=record.get('clean'), val_ood=record.get('val_ood'),
                             unseen_mean=record.get('unseen_mean'),
                             common_unseen_mean=record.get('common_unseen_mean'),
                             mPC=record.get('mPC'), rPC=record.get('rPC')))
            missing = [n for n, s in record.get('status', {}).items() if s != 'done']
            if missing:
                out.append(f'- {name}: not completed: {", ".join(missing)}')
        if out[-1] != '':
            out.append('')
    out += ['## Runs', '']
    out += [f'- {name}: `{r["source"]}` (config `{r.get("config")}`, checkpoint '
            f'`{r.get("checkpoint")}`, {r.get("total_seconds", 0):.0f} s)'
            for name, r in zip(labels, records)]
    return dict(markdown='\n'.join(out) + '\n', rows=rows)


def summary_rows(records: Sequence[dict], names: Optional[Sequence[str]] = None
                 ) -> List[Dict]:
    """The per-run summary rows of :func:`merge_report`."""
    return merge_report(records, names)['rows']


__all__ = ['load_run', 'merge_report', 'method_names', 'task_table', 'summary_rows',
           'common_unseen', 'add_common_unseen_mean', 'add_replicates',
           'difference_table', 'seed_table']
