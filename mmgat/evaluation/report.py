"""Merge robustness runs into one comparison (``tools/report.py``).

Each run is the ``robustness.json`` of ``tools/test.py --robustness``. Runs are grouped by
task (detection mAP, segmentation mIoU, classification top-1, each its own table);
rows are training methods, columns the suite's entries (corruption entries are
summarised by the mPC / rPC columns), then the mean over unseen attacks, mPC and rPC.
The best value of each column is bold; an attack a method trained on is marked ``†``
(it is left out of that method's unseen mean).
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence

from mmgat.utils.errors import ConfigError
from .aggregation import summarize
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


def task_table(records: Sequence[dict], names: Sequence[str]) -> str:
    """The Markdown table of one task's runs."""
    columns = task_columns(records)
    add_common_unseen_mean(records)
    keys = [('entry', c) for c in columns] + [('summary', k) for k, _ in SUMMARY_COLUMNS]
    header = ['method'] + columns + [label for _, label in SUMMARY_COLUMNS]
    grid = []
    for record in records:
        row = []
        for kind, key in keys:
            row.append(record['scores'].get(key) if kind == 'entry' else record.get(key))
        grid.append(row)
    cells_by_column = [_bold_best([row[j] for row in grid]) for j in range(len(keys))]
    rows = []
    for i, (record, name) in enumerate(zip(records, names)):
        seen = set(record.get('trained_on') or [])
        row = [name]
        for j, (kind, key) in enumerate(keys):
            cell = cells_by_column[j][i]
            if kind == 'entry' and key in seen and grid[i][j] is not None:
                cell += ' †'
            row.append(cell)
        rows.append(row)
    return markdown_table(header, rows)


def merge_report(records: Sequence[dict], names: Optional[Sequence[str]] = None
                 ) -> dict:
    """``dict(markdown=..., rows=[...])``: the merged report and one summary row per
    run (task, method, clean, val_ood, unseen mean, mPC, rPC) for the figure."""
    if not records:
        raise ConfigError('no runs to report')
    labels = method_names(records, names)
    tasks = [t for t in TASK_ORDER if any(r['task'] == t for r in records)]
    tasks += sorted({r['task'] for r in records} - set(tasks))
    out = ['# Robustness report', '',
           f'{len(records)} run(s). Scores on the 0-1 scale; **bold**: best in its '
           'column; †: an attack family the method trained on (not in its unseen mean). '
           'unseen mean: mean over the attack entries (attack, universal, granularity) '
           'the method did not train on; unseen by all: mean over the attack entries no '
           'method of the table trained on (compares like with like); mPC: mean over the '
           '15 benchmark corruptions x '
           '5 severities; rPC = mPC / clean score on the same images.', '']
    rows = []
    for task in tasks:
        idx = [i for i, r in enumerate(records) if r['task'] == task]
        task_records = [records[i] for i in idx]
        task_names = [labels[i] for i in idx]
        metrics = sorted({r.get('metric_name') or r.get('metric') for r in task_records})
        out += [f'## {task.capitalize()} ({", ".join(metrics)})', '',
                task_table(task_records, task_names), '']
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
           'common_unseen', 'add_common_unseen_mean']
