"""PNG plots of robustness runs (matplotlib with the Agg backend: no display needed)."""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

from mmgat.transforms.corruptions import SEVERITIES
from .aggregation import CORRUPTION_FAMILIES


def _pyplot():
    import matplotlib
    matplotlib.use('Agg', force=True)
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path: str) -> str:
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)
    return path


def plot_attacks(record: dict, path: str) -> Optional[str]:
    """Bar chart: the score of every entry but the corruptions (seen attacks hatched)."""
    entries = [(name, e) for name, e in record.get('entries', {}).items()
               if e.get('kind') != 'corruption']
    if not entries:
        return None
    plt = _pyplot()
    names = [n for n, _ in entries]
    scores = [record.get('scores', {}).get(n) for n in names]
    seen = set(record.get('trained_on') or [])
    colours = {'clean': '#4c72b0', 'split': '#55a868', 'attack': '#c44e52',
               'universal': '#8172b2', 'granularity': '#ccb974'}
    fig, ax = plt.subplots(figsize=(max(6, 0.45 * len(names) + 2), 4))
    for i, (name, entry) in enumerate(entries):
        value = scores[i]
        ax.bar(i, 0 if value is None else value,
               color=colours.get(entry.get('kind'), '#777777'),
               hatch='//' if name in seen else None, edgecolor='black', linewidth=0.5)
        if value is None:
            ax.text(i, 0.01, 'failed' if record.get('status', {}).get(name) in (
                'failed', 'partial') else 'n/a', rotation=90, ha='center', va='bottom',
                fontsize=7)
    if record.get('unseen_mean') is not None:
        ax.axhline(record['unseen_mean'], color='black', linestyle='--', linewidth=1,
                   label=f"unseen mean {record['unseen_mean']:.3f}")
        ax.legend(loc='upper right', fontsize=8)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=60, ha='right', fontsize=8)
    ax.set_ylabel(record.get('metric_name') or 'score')
    ax.set_ylim(0, 1.05)
    ax.set_title(f"{record.get('config_name', '')}: score per attack "
                 '(hatched: trained on)', fontsize=10)
    return _save(fig, path)


def plot_severities(record: dict, path: str) -> Optional[str]:
    """Line plot: mean score per severity (0 = clean images) for each corruption family
    and over the 15 benchmark corruptions."""
    corruption = record.get('corruption') or {}
    table = corruption.get('scores') or {}
    if not table:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    xs = [0] + list(SEVERITIES)
    p = corruption.get('P')
    for family, names in CORRUPTION_FAMILIES.items():
        ys = []
        for severity in SEVERITIES:
            values = [table[c][str(severity)] for c in names
                      if c in table and str(severity) in table[c]]
            ys.append(sum(values) / len(values) if values else None)
        if all(y is None for y in ys):
            continue
        points = [(x, y) for x, y in zip(xs, [p] + ys) if y is not None]
        ax.plot([x for x, _ in points], [y for _, y in points], marker='o',
                linestyle='--' if family == 'holdout' else '-', label=family)
    means = corruption.get('severity_mean') or {}
    points = [(0, p)] + [(s, means.get(str(s))) for s in SEVERITIES]
    points = [(x, y) for x, y in points if y is not None]
    if len(points) > 1:
        ax.plot([x for x, _ in points], [y for _, y in points], color='black',
                linewidth=2.5, marker='s', label='benchmark mean')
    ax.set_xticks(xs)
    ax.set_xlabel('severity (0 = clean)')
    ax.set_ylabel(record.get('metric_name') or 'score')
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8)
    mpc, rpc = corruption.get('mPC'), corruption.get('rPC')
    title = f"{record.get('config_name', '')}: corruptions"
    if mpc is not None:
        title += f' (mPC {mpc:.3f}' + (f', rPC {rpc:.3f})' if rpc is not None else ')')
    ax.set_title(title, fontsize=10)
    return _save(fig, path)


def granularity_profiles(record: dict) -> Dict[str, List[tuple]]:
    """entry name -> ``[(layer, score or None), ...]`` of the granularity entries."""
    out = {}
    for name, entry in record.get('entries', {}).items():
        if entry.get('kind') == 'granularity' and entry.get('units'):
            out[name] = [(layer, unit.get('score') if unit.get('status') == 'done'
                          else None) for layer, unit in entry['units'].items()]
    return out


def plot_granularity(record: dict, path: str) -> Optional[str]:
    """Score per decoder layer (coarse -> fine), one line per granularity entry, with
    the clean score for reference."""
    profiles = granularity_profiles(record)
    if not profiles:
        return None
    plt = _pyplot()
    layers: Sequence[str] = next(iter(profiles.values()))
    fig, ax = plt.subplots(figsize=(max(5, 0.6 * len(layers) + 2), 4))
    for name, profile in profiles.items():
        xs = [i for i, (_, y) in enumerate(profile) if y is not None]
        ys = [y for _, y in profile if y is not None]
        ax.plot(xs, ys, marker='o', label=name)
    if record.get('clean') is not None:
        ax.axhline(record['clean'], color='grey', linestyle=':', label='clean')
    ax.set_xticks(range(len(layers)))
    ax.set_xticklabels([layer for layer, _ in layers], rotation=45, ha='right',
                       fontsize=8)
    ax.set_xlabel('generator decoder layer (coarse -> fine)')
    ax.set_ylabel(record.get('metric_name') or 'score')
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8)
    ax.set_title(f"{record.get('config_name', '')}: granularity profile", fontsize=10)
    return _save(fig, path)


def plot_summary(rows: List[dict], path: str, metrics=('clean', 'unseen_mean', 'mPC')
                 ) -> Optional[str]:
    """Grouped bars of clean / unseen mean / mPC per method, one panel per task.

    Args:
        rows: ``dict(task=..., method=..., metric_name=..., clean=..., unseen_mean=...,
            mPC=...)`` per run.
    """
    if not rows:
        return None
    plt = _pyplot()
    tasks = []
    for row in rows:
        if row['task'] not in tasks:
            tasks.append(row['task'])
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.5 * len(tasks) + 1, 4),
                             squeeze=False)
    labels = {'clean': 'clean', 'unseen_mean': 'unseen mean', 'mPC': 'mPC',
              'val_ood': 'val_ood', 'rPC': 'rPC'}
    width = 0.8 / len(metrics)
    for ax, task in zip(axes[0], tasks):
        task_rows = [r for r in rows if r['task'] == task]
        for j, key in enumerate(metrics):
            xs = [i + (j - (len(metrics) - 1) / 2) * width for i in range(len(task_rows))]
            ys = [r.get(key) or 0 for r in task_rows]
            ax.bar(xs, ys, width=width, label=labels.get(key, key))
        ax.set_xticks(range(len(task_rows)))
        ax.set_xticklabels([r['method'] for r in task_rows], rotation=30, ha='right',
                           fontsize=8)
        ax.set_ylim(0, 1.05)
        ax.set_title(f"{task} ({task_rows[0].get('metric_name', 'score')})", fontsize=10)
        ax.legend(fontsize=7)
    return _save(fig, path)


__all__ = ['plot_attacks', 'plot_severities', 'plot_granularity', 'plot_summary',
           'granularity_profiles']
