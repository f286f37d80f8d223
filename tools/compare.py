"""The method matrix: every (task, method, seed) trained and evaluated the same way.

    python tools/compare.py --tasks classification --methods clean pgd shared universal \\
        localized gat advbn --seeds 0 1 2 --work-dir work_dirs/compare \\
        --results results/digitscenes                          (what `make compare` runs)
    python tools/compare.py --tasks detection --methods clean gat --seeds 0  # one more task

For each task: trains its GAT generator when missing (the suites' GAT and granularity
entries use it), trains every method's DigitScenes config once per seed (the method
configs inherit their clean config's schedule; ``randomness.seed=S``), runs the
robustness suite on each (``--suite``; resumable per unit), keeps each run's
training cost (``training.json``: median seconds per iteration from its log), and
writes one report per task with ``tools/report.py --baseline clean`` (intervals,
paired differences, seeds grouped) plus its figure.

With ``--results DIR`` every run's suite record and its per-image outcome files are
copied to ``DIR/<task>/<method>/seed<S>/``, its ``training.json`` written there, and the
report is made
from there (``DIR/<task>/report.md``), so that ``python tools/report.py DIR/<task>
--baseline clean --out report.md`` regenerates it without training anything.

Every step is skipped when its output exists, so the matrix is built over several runs
(a later run with more ``--seeds`` adds them); each step's wall time goes to
``WORK_DIR/compare_times.json`` and is printed with the progress. A training counts as
done only at its config's ``max_iters`` (a killed one continues with ``--resume``); with
``--results``, a run whose complete suite record of the same suite is already there is
not trained or evaluated again, so the matrix also grows across machines (a fresh
machine trains only what ``DIR`` lacks). Each run's ``training.json`` keeps the sha256 of
the generator its suite's GAT entries used: runs of different generators are named when
the report is made.
"""
import argparse
import glob
import hashlib
import json
import os
import os.path as osp
import shutil
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from demo import (METHODS, TASKS, Demo, check_method_configs,  # noqa: E402
                  generator_checkpoint, max_iters, method_config, method_name,
                  training_resume)

from mmgat.utils.runner_setup import final_checkpoint  # noqa: E402
from mmgat.utils.training_cost import (TRAINING_FILE, record_machine,  # noqa: E402
                                       write_training_record)

DEFAULT_SUITE = 'configs/robustness/unseen_digitscenes_demo.py'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--tasks', nargs='+', default=['classification'],
                        choices=sorted(TASKS))
    parser.add_argument('--methods', nargs='+', default=list(METHODS), type=method_name,
                        help=f'{", ".join(METHODS)}, or variants <method>-<name> with a '
                        'config configs/<method>/<model>_<method>-<name>_digitscenes*.py '
                        '(e.g. shared-heap1)')
    parser.add_argument('--seeds', nargs='+', type=int, default=[0])
    parser.add_argument('--suite', default=DEFAULT_SUITE,
                        help='robustness suite run on every model (default: the demo '
                        'suite)')
    parser.add_argument('--work-dir', default='work_dirs/compare')
    parser.add_argument('--results',
                        help='copy the suite records, outcomes and training costs here '
                        '(DIR/<task>/<method>/seed<S>/) and report from there')
    parser.add_argument('--data-root', default='data/digitscenes')
    return parser.parse_args(argv)


def copy_run(suite_dir: str, dest: str) -> None:
    """The suite's record, table and outcome files, to ``dest``."""
    os.makedirs(dest, exist_ok=True)
    shutil.copy2(osp.join(suite_dir, 'robustness.json'), dest)
    if osp.isfile(osp.join(suite_dir, 'robustness.md')):
        shutil.copy2(osp.join(suite_dir, 'robustness.md'), dest)
    outcomes = osp.join(suite_dir, 'robustness_outcomes')
    if osp.isdir(outcomes):
        shutil.copytree(outcomes, osp.join(dest, 'robustness_outcomes'),
                        dirs_exist_ok=True)


def kept_run(dest: str, suite: str) -> bool:
    """Whether ``dest`` (a run's folder of ``--results``) holds its training cost and a
    complete suite record of ``suite`` (by file name: the record keeps an absolute path)."""
    record_file = osp.join(dest, 'robustness.json')
    if not (osp.isfile(record_file) and osp.isfile(osp.join(dest, TRAINING_FILE))):
        return False
    with open(record_file) as f:
        record = json.load(f)
    return record.get('complete') is True and \
        osp.basename(str(record.get('suite'))) == osp.basename(suite)


def file_sha256(path: str):
    if not osp.isfile(path):
        return None
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def warn_mixed_generators(dirs: list) -> None:
    """Name the runs whose suites used another generator than the first run's."""
    seen = {}
    for d in dirs:
        path = osp.join(d, TRAINING_FILE)
        if osp.isfile(path):
            with open(path) as f:
                sha = json.load(f).get('generator_sha256')
            if sha is not None:
                seen.setdefault(sha, []).append(d)
    if len(seen) > 1:
        groups = '; '.join(f'{sha[:12]}: {", ".join(ds)}' for sha, ds in seen.items())
        print('compare: warning: the runs were evaluated with different generators (their '
              f'GAT and granularity entries are not comparable across groups): {groups}',
              flush=True)


class Matrix:
    """The steps of the matrix, with progress."""

    def __init__(self, args):
        self.args = args
        self.runner = Demo(args, times_name='compare_times.json')
        per_task = 2 + 2 * len(args.methods) * len(args.seeds)
        self.total = per_task * len(args.tasks)
        self.done = 0
        self.start = time.time()

    def step(self, name: str, skipped: bool = False) -> None:
        self.done += 1
        state = 'exists, skipped' if skipped else \
            f"{self.runner.times.get(name, 0):.0f} s"
        print(f'[{self.done}/{self.total}] {name}: {state} '
              f'({(time.time() - self.start) / 60:.1f} min so far)', flush=True)

    def task(self, task: str) -> str:
        args, run = self.args, self.runner.run
        wd = osp.join(args.work_dir, task)
        spec = TASKS[task]
        generator = generator_checkpoint(spec['generator'])
        runs = []  # (method, seed, work dir, results folder or None, kept there)
        for method in args.methods:
            for seed in args.seeds:
                dest = osp.join(args.results, task, method, f'seed{seed}') \
                    if args.results else None
                kept = dest is not None and kept_run(dest, args.suite)
                runs.append((method, seed, osp.join(wd, method, f'seed{seed}'), dest, kept))
        # The suites' GAT entries need the generator; nothing to evaluate, no generator.
        exists = osp.isfile(generator) or all(kept for *_, kept in runs)
        if not exists:
            run(f'{task}/generator', ['tools/train_generator.py', spec['generator'],
                                      '--work-dir', osp.dirname(generator)])
        self.step(f'{task}/generator', exists)
        generator_sha256 = file_sha256(generator)  # what every new suite record used
        for method, seed, work_dir, _, kept in runs:
            name = f'{task}/train_{method}_seed{seed}'
            config = method_config(task, method)
            resume = None if kept else training_resume(
                work_dir, dict(from_checkpoint=None, iterations=max_iters(config)), None,
                None, False)
            if resume is not None:
                run(name, ['tools/train.py', config, '--work-dir', work_dir, '--cfg-options',
                           f'randomness.seed={seed}', *resume], accumulate=bool(resume))
                record_machine(work_dir)
            self.step(name, resume is None)
        dirs, names = [], []
        for method, seed, work_dir, dest, kept in runs:
            suite_dir = osp.join(work_dir, 'robustness')
            name = f'{task}/suite_{method}_seed{seed}'
            names.append(method)
            if kept:
                self.step(name, skipped=True)
                dirs.append(dest)
                continue
            code = run(name, ['tools/test.py', method_config(task, method),
                              final_checkpoint(work_dir), '--robustness', args.suite,
                              '--work-dir', suite_dir], accumulate=True,
                       ok_codes=(0, 3))
            if code == 3:
                print(f'compare: some suite entries failed for {method} seed {seed} '
                      f'(see {suite_dir}/robustness.md)', flush=True)
            self.step(name)
            if dest is not None:
                copy_run(suite_dir, dest)
            folder = suite_dir if dest is None else dest
            write_training_record(
                folder, work_dir, method=method, seed=seed, config=method_config(task, method),
                train_wall_seconds=self.runner.times.get(f'{task}/train_{method}_seed{seed}'),
                generator_sha256=generator_sha256)
            dirs.append(folder)
        root = osp.join(args.results, task) if args.results else wd
        # Every run the report will hold (the results folder's earlier ones included).
        warn_mixed_generators(sorted(glob.glob(osp.join(root, '*', 'seed*')))
                              if args.results else dirs)
        report = osp.join(root, 'report.md')
        # The results dir may hold the clean runs of an earlier call (adding methods).
        has_clean = 'clean' in args.methods or (
            args.results is not None and osp.isdir(osp.join(root, 'clean')))
        baseline = ['--baseline', 'clean'] if has_clean else []
        source = [root] if args.results else dirs
        name_args = [] if args.results else ['--names', *names]
        run(f'{task}/report', ['tools/report.py', *source, *name_args, *baseline,
                               '--out', report])
        self.step(f'{task}/report')
        return report


def main(argv=None):
    args = parse_args(argv)
    check_method_configs(args.tasks, args.methods)
    if not osp.isfile(osp.join(args.data_root, 'meta.json')):
        Demo(args, times_name='compare_times.json').run(
            'data', ['tools/make_digitscenes.py', '--out', args.data_root])
    matrix = Matrix(args)
    reports = [matrix.task(task) for task in args.tasks]
    print(f'\ncompare: {len(reports)} report(s): {", ".join(reports)}; '
          f'{(time.time() - matrix.start) / 60:.1f} min this run', flush=True)
    return reports


if __name__ == '__main__':
    main()
