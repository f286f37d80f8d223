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
"""
import argparse
import os.path as osp
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


@exit_on_user_error
def main(argv=None):
    args = parse_args(argv)
    if not args.out.endswith('.md'):
        raise ConfigError(f'--out must name a .md file, got {args.out!r}')
    if args.replicates < 0 or not 0 < args.level < 1:
        raise ConfigError('--replicates must be >= 0 and --level in (0, 1), got '
                          f'{args.replicates} and {args.level}')
    records = [load_run(path) for path in args.runs]
    report = merge_report(records, args.names, baseline=args.baseline,
                          bootstrap=BootstrapWeights(args.replicates, args.seed,
                                                     args.level))
    write_text_atomic(args.out, report['markdown'])
    figure = osp.splitext(args.out)[0] + '.png'
    plot_summary(report['rows'], figure)
    print(report['markdown'])
    print(f'report written to {args.out} and {figure}')
    return report


if __name__ == '__main__':
    main()
