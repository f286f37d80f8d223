"""Writing a robustness run: ``robustness.json`` (atomically) and ``robustness.md``."""
import json
from typing import Optional

from mmgat.transforms.corruptions import (BENCHMARK_CORRUPTIONS, HOLDOUT_CORRUPTIONS,
                                          SEVERITIES)
from mmgat.utils.atomic_write import write_json_atomic as _write_json
from mmgat.utils.atomic_write import write_text_atomic
from mmgat.utils.plain_config import plain
from .aggregation import unit_records


def write_json_atomic(path: str, data: dict) -> None:
    """Write JSON so that a reader (or an interrupted run) never sees half a file."""
    _write_json(path, data, to_json=plain)


def read_json(path: str) -> Optional[dict]:
    """The JSON at ``path``, or None when missing or unreadable."""
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def fmt(value, digits: int = 3) -> str:
    """A score for a table: ``0.512``, or ``-`` when missing."""
    if value is None:
        return '-'
    return f'{value:.{digits}f}'


def fmt_interval(interval, digits: int = 3) -> str:
    """A bootstrap interval for a table: ``[0.471, 0.552]``, or ``-``."""
    if not interval or interval[0] is None:
        return '-'
    return f'[{interval[0]:.{digits}f}, {interval[1]:.{digits}f}]'


def _cell(text: str) -> str:
    return str(text).replace('|', '\\|').replace('\n', ' ')


def markdown_table(header, rows) -> str:
    lines = ['| ' + ' | '.join(_cell(h) for h in header) + ' |',
             '|' + '|'.join('---' for _ in header) + '|']
    lines += ['| ' + ' | '.join(_cell(c) for c in row) + ' |' for row in rows]
    return '\n'.join(lines)


def _num_images(entry: dict) -> str:
    counts = {u.get('num_images') for u in unit_records(entry).values()
              if u.get('num_images') is not None}
    return ', '.join(str(c) for c in sorted(counts)) or '-'


def robustness_markdown(record: dict) -> str:
    """The Markdown report of one run (what ``robustness.md`` holds)."""
    metric = record.get('metric_name') or record.get('metric')
    name = record.get('config_name') or 'model'
    clean = record.get('clean')
    seen = set(record.get('trained_on') or [])
    intervals = record.get('intervals') or {}
    out = [f'# Robustness of {name}', '']
    out.append(f"- task: {record.get('task')}; score: {metric} "
               f"(`{record.get('metric')}`, 0-1 scale)")
    for key in ('config', 'checkpoint', 'suite'):
        if record.get(key):
            out.append(f'- {key}: `{record[key]}`')
    trained = ', '.join(record.get('training_attacks') or []) or 'none (clean)'
    out.append(f'- trained with: {trained}; seen suite entries: '
               f'{", ".join(sorted(seen)) or "none"}')
    unseen = record.get('unseen_entries') or []

    def with_ci(label, field, extra=''):
        text = f'{label} {fmt(record.get(field))}{extra}'
        if intervals.get(field):
            text += f' {fmt_interval(intervals[field])}'
        return text

    summary = [with_ci('clean', 'clean'), with_ci('val_ood', 'val_ood'),
               with_ci('unseen mean', 'unseen_mean', f' ({len(unseen)} attacks)'),
               with_ci('mPC', 'mPC'), with_ci('rPC', 'rPC'),
               with_ci('holdout mPC', 'mPC_holdout'),
               with_ci('holdout rPC', 'rPC_holdout')]
    out.append('- ' + ' · '.join(summary))
    if intervals:
        level = round(100 * intervals.get('level', 0.95))
        line = (f"- [brackets]: {level}% percentile bootstrap intervals over images "
                f"({intervals.get('replicates')} replicates, seed {intervals.get('seed')})")
        missing = intervals.get('missing') or {}
        if missing:
            line += (f'; **no interval** for what uses the {len(missing)} unit(s) '
                     f"without per-image outcomes ({', '.join(sorted(missing)[:4])}"
                     + (', ...' if len(missing) > 4 else '') + ')')
        out.append(line)
    else:
        out.append('- no intervals: the run kept no per-image outcomes (an older '
                   'version, or bootstrap replicates=0), or it has not finished yet '
                   '(they are computed at the end)')
    total = record.get('total_seconds')
    if total is not None:
        cost = ''
        if record.get('outcome_seconds') is not None and intervals.get('seconds') is not None:
            cost = (f"; of it {record['outcome_seconds']:.1f} s keeping per-image outcomes, "
                    f"then {intervals['seconds']:.1f} s for the intervals")
        out.append(f'- time: {total:.0f} s (sum over entries){cost}'
                   + ('' if record.get('complete') else '; **incomplete**'))
    out.append('')

    rows = []
    for entry_name, entry in record.get('entries', {}).items():
        score = record.get('scores', {}).get(entry_name)
        delta = '' if score is None or clean is None or entry.get('kind') == 'clean' \
            else f'{score - clean:+.3f}'
        label = entry_name + (' (seen)' if entry_name in seen else '')
        status = record.get('status', {}).get(entry_name, entry.get('status', ''))
        ci = (intervals.get('scores') or {}).get(entry_name)
        rows.append([label, entry.get('kind', ''), fmt(score), fmt_interval(ci), delta,
                     _num_images(entry),
                     f"{record.get('seconds', {}).get(entry_name, 0):.1f}", status])
    out.append(markdown_table(['entry', 'kind', metric, 'interval', 'vs clean', 'images',
                               'seconds', 'status'], rows))
    out.append('')
    out.append('Scores of corruption and granularity entries are means over their '
               'corruptions x severities / layers; "(seen)": an attack family the model '
               'trained on (left out of the unseen mean).')

    corruption = record.get('corruption')
    if corruption and corruption.get('scores'):
        out += ['', '## Corruptions', '']
        header = ['corruption', '0 (clean)'] + [str(s) for s in SEVERITIES] + ['mean']
        rows = []
        table = corruption['scores']
        names = [c for c in BENCHMARK_CORRUPTIONS + HOLDOUT_CORRUPTIONS if c in table]
        names += sorted(set(table) - set(names))
        for corr in names:
            values = table[corr]
            rows.append([corr + (' (holdout)' if corr in HOLDOUT_CORRUPTIONS else ''),
                         fmt(corruption.get('P'))]
                        + [fmt(values.get(str(s))) for s in SEVERITIES]
                        + [fmt(corruption['corruption_mean'].get(corr))])
        rows.append(['**benchmark mean**', fmt(corruption.get('P'))]
                    + [fmt(corruption['severity_mean'].get(str(s))) for s in SEVERITIES]
                    + [fmt(corruption.get('mPC'))])
        out.append(markdown_table(header, rows))
        out.append('')
        out.append(f"mPC {fmt(corruption.get('mPC'))} over "
                   f"{corruption.get('mPC_count')}/{corruption.get('mPC_expected')} "
                   f"benchmark (corruption, severity) pairs; P {fmt(corruption.get('P'))} "
                   f"({corruption.get('P_source')}); rPC {fmt(corruption.get('rPC'))}; "
                   f"holdout mPC {fmt(corruption.get('mPC_holdout'))} "
                   f"({corruption.get('mPC_holdout_count')} pairs), rPC "
                   f"{fmt(corruption.get('rPC_holdout'))}.")

    strength = record.get('strength') or {}
    if strength:
        out += ['', '## Attack strength check', '',
                'Each iterative attack entry again on the same subset with its steps '
                'and with more steps (and one restart more where the attack restarts). '
                'A score that still drops by more than the threshold means the attack '
                'has not converged: that entry over-states robustness.', '']
        rows = []
        for name, gap in strength.items():
            steps = gap.get('steps') or ['?', '?']
            rows.append([gap.get('of') or name, f'{steps[0]} -> {steps[1]}',
                         fmt(gap['base']), fmt(gap['strong']), f"{gap['gap']:+.3f}",
                         'yes' if gap['converged'] else
                         f"**NO** (drop > {gap['threshold']:.3f})"])
        out.append(markdown_table(['entry', 'steps', metric, 'more steps', 'drop',
                                   'converged'], rows))
        flagged = [g.get('of') or n for n, g in strength.items() if not g['converged']]
        if flagged:
            out += ['', f"**Not converged**: {', '.join(flagged)}: raise their steps."]

    for entry_name, entry in record.get('entries', {}).items():
        if entry.get('kind') != 'granularity' or not entry.get('units'):
            continue
        out += ['', f'## Granularity profile: {entry_name}', '',
                'One LayerActivationAttack per generator decoder layer, coarse (first) '
                'to fine (last).', '']
        rows = [[layer, fmt(unit.get('score')), fmt_interval(unit.get('ci')),
                 unit.get('status', '')] for layer, unit in entry['units'].items()]
        out.append(markdown_table(['decoder layer', metric, 'interval', 'status'], rows))

    failures = []
    for entry_name, entry in record.get('entries', {}).items():
        if entry.get('error'):
            failures.append(f'- {entry_name}: {entry["error"]}')
        by_error = {}  # units failing for the same reason on one line
        for key, unit in (entry.get('units') or {}).items():
            if unit.get('status') == 'failed':
                by_error.setdefault(unit.get('error'), []).append(key)
        for error, keys in by_error.items():
            failures.append(f'- {entry_name} / {", ".join(keys)}: {error}')
    if failures:
        out += ['', '## Failed', ''] + failures
    return '\n'.join(out) + '\n'


__all__ = ['write_json_atomic', 'write_text_atomic', 'read_json', 'robustness_markdown',
           'markdown_table', 'fmt', 'fmt_interval']
