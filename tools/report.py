"""Merge robustness runs into one table (and one figure).

    python tools/report.py work_dirs/robustness/clean work_dirs/robustness/gat \\
        --out work_dirs/report.md
    python tools/report.py DIR1 DIR2 --names clean GAT --out report.md
    python tools/report.py DIR1 DIR2 DIR3 --names clean GAT GAT --baseline clean \\
        --out report.md     # two seeds of GAT; differences to clean, paired

Each DIR is the work dir of ``tools/test.py CONFIG CKPT --robustness SUITE --work-dir DIR``
(or its robustness.json). Writes FILE.md (a section per task: detection mAP,
segmentation mIoU, classification top-1; methods as rows, attacks as columns, best per
column in bold, mean over unseen attacks, mPC and rPC, each with ± half its 95%
bootstrap interval over images) and FILE.png (clean / unseen mean / mPC per method and
task), and prints the Markdown. ``--baseline NAME`` adds per task the difference of
every method to NAME with its paired-bootstrap interval; runs given the same name are
seeds of one method (mean over seeds, and their spread against the image-level one).

A DIR without a robustness.json of its own is a matrix folder (what tools/compare.py
``--results`` writes): every ``<method>/.../robustness.json`` under it is a run named
after its first folder, e.g. ``python tools/report.py results/digitscenes/classification
--baseline clean --out report.md``. Runs with a ``training.json`` beside their record
(tools/compare.py writes it) add a table of training seconds per iteration.
"""
import argparse
import json
import os
import os.path as osp
import statistics
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmgat.evaluation.intervals import BootstrapWeights  # noqa: E402
from mmgat.evaluation.plots import plot_summary  # noqa: E402
from mmgat.evaluation.report import load_run, merge_report  # noqa: E402
from mmgat.evaluation.writers import write_text_atomic  # noqa: E402
from mmgat.utils.cli import exit_on_user_error  # noqa: E402
from mmgat.utils.errors import ConfigError  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Merge robustness runs into one report')
    parser.add_argument('runs', nargs='+', metavar='DIR',
                        help='work dirs of tools/test.py --robustness (or their '
                        'robustness.json)')
    parser.add_argument('--out', required=True,
                        help='Markdown file to write; the figure goes next to it (.png)')
    parser.add_argument('--names', nargs='+',
                        help='row names, one per DIR (default: the config names); runs '
                        'with the same name are seeds of one method')
    parser.add_argument('--baseline', metavar='NAME',
                        help='add the paired difference of every method to this run')
    parser.add_argument('--replicates', type=int, default=1000,
                        help='bootstrap replicates (0: no intervals; default 1000)')
    parser.add_argument('--seed', type=int, default=0, help='bootstrap seed (default 0)')
    parser.add_argument('--level', type=float, default=0.95,
                        help='interval level (default 0.95)')
    return parser.parse_args(argv)


def expand_runs(paths, names=None):
    """``(record paths, names)``: a matrix folder becomes its runs (sorted), each named
    after its first folder under it, unless ``names`` are given."""
    found, implied = [], []
    for path in paths:
        if osp.isdir(path) and not osp.isfile(osp.join(path, 'robustness.json')):
            inner = sorted(osp.join(d, 'robustness.json') for d, _, files in os.walk(path)
                           if 'robustness.json' in files)
            if not inner:
                raise ConfigError(f"no robustness results at '{path}' (no "
                                  'robustness.json in it or under it)')
            found += inner
            implied += [osp.relpath(f, path).split(os.sep)[0] for f in inner]
        else:
            found.append(path)
            implied.append(None)
    if names is None and any(n is not None for n in implied):
        names = [n if n is not None else osp.basename(osp.normpath(p))
                 for n, p in zip(implied, found)]
    return found, names


def cost_markdown(records, names, baseline=None) -> str:
    """Training seconds per iteration per method (mean over its seeds) from the
    ``training.json`` files beside the records, and the ratio to the reference method
    (``baseline``, else the first) over the runs trained on the same machine as a
    reference run; '' when there are none."""
    runs = {}  # name -> [(seconds, machine)]
    for record, name in zip(records, names or [None] * len(records)):
        file = osp.join(osp.dirname(record['source']), 'training.json')
        if not osp.isfile(file):
            continue
        with open(file) as f:
            cost = json.load(f)
        if cost.get('seconds_per_iter'):
            machine = json.dumps(cost.get('machine'), sort_keys=True)
            runs.setdefault(name or record.get('config_name'), []).append(
                (cost['seconds_per_iter'], machine))
    if not runs:
        return ''
    reference = baseline if baseline in runs else next(iter(runs))
    ref = {}
    for seconds, machine in runs[reference]:
        ref.setdefault(machine, []).append(seconds)
    lines = ['', '## Training cost', '',
             f'| method | runs | s / iteration | x {reference} |', '|---|---|---|---|']
    elsewhere = []
    for name, values in runs.items():
        mean = statistics.mean(s for s, _ in values)
        if all(m in ref for _, m in values):
            ratio = f'{statistics.mean(s / statistics.mean(ref[m]) for s, m in values):.2f}'
        else:
            ratio = '-'
            elsewhere.append(name)
        lines.append(f'| {name} | {len(values)} | {mean:.3f} | {ratio} |')
    if elsewhere:
        lines += ['', f'- {", ".join(elsewhere)}: trained on another machine than the '
                  f'{reference} runs (`machine` in training.json), so no ratio: times '
                  'from different machines do not compare.']
    return '\n'.join(lines) + '\n'


@exit_on_user_error
def main(argv=None):
    args = parse_args(argv)
    if not args.out.endswith('.md'):
        raise ConfigError(f'--out must name a .md file, got {args.out!r}')
    if args.replicates < 0 or not 0 < args.level < 1:
        raise ConfigError('--replicates must be >= 0 and --level in (0, 1), got '
                          f'{args.replicates} and {args.level}')
    paths, names = expand_runs(args.runs, args.names)
    records = [load_run(path) for path in paths]
    report = merge_report(records, names, baseline=args.baseline,
                          bootstrap=BootstrapWeights(args.replicates, args.seed,
                                                     args.level))
    report['markdown'] = report['markdown'].rstrip('\n') + '\n' + cost_markdown(
        records, names, args.baseline)
    write_text_atomic(args.out, report['markdown'])
    figure = osp.splitext(args.out)[0] + '.png'
    plot_summary(report['rows'], figure)
    print(report['markdown'])
    print(f'report written to {args.out} and {figure}')
    return report


if __name__ == '__main__':
    main()
