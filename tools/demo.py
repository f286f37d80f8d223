"""The main job: does generative adversarial training make a detector more robust?

    python tools/demo.py --work-dir work_dirs/demo          (what `make demo` runs)

1. generates DigitScenes when it is missing;
2. trains the GAT generator (configs/generators/style-ae_digitscenes.py) and measures
   its reconstruction PSNR on val / val_ood and the clean detector's mAP50 on
   reconstructed val images (do the labels stay valid?);
3. trains the Faster R-CNN R-18 detector clean and with GAT under the same schedule
   (`--methods` picks others, e.g. `clean advbn`; `--task classification` or
   `segmentation` compares the ResNet-18 classifier or the FPN segmentor instead;
   `--iters N` trains every model N iterations instead of its config's schedule, with
   warm-up and learning-rate steps scaled to it). The detector's other methods
   fine-tune: they start from the clean run's checkpoint at iteration 350 of 500
   (weights, optimizer, learning-rate schedule and data order) and train only the last
   150 iterations with their method, so every model has seen the same 500 iterations
   and the demo fits 30 minutes on a 2-core CPU (`--finetune-last N` sets the count;
   0 trains every method from scratch, what tools/compare.py does);
4. runs the robustness suite on each (`--suite`, default the demo suite: every unseen
   attack and corruption family on a subset of val);
5. merges the runs with tools/report.py into WORK_DIR/report.md and prints it: every
   score with its bootstrap interval over images and, when ``clean`` is among the
   methods, every method's paired difference to it.

``--seeds 0 1 2`` trains each method once per seed (``randomness.seed``; work dirs
``WORK_DIR/<method>/seed<S>``): the report shows the mean over seeds, the spread across
seeds against the image-level interval, and which of the two dominates.

Every step is skipped when its output exists (a killed demo continues where it
stopped; the suite resumes per entry); `--force` redoes the training steps. Each step's
wall time goes to WORK_DIR/demo_times.json (a resumed suite adds to its earlier time).
"""
import argparse
import glob
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import time

from mmgat.evaluation import load_suite
from mmgat.utils.checkpoint_files import LAST_CHECKPOINT, checkpoint_step
from mmgat.utils.runner_setup import final_checkpoint
from mmgat.utils.training_cost import record_machine, write_training_record

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
METHODS = ('clean', 'gat', 'pgd', 'shared', 'localized', 'universal', 'advbn')
#: Per task: the model of ``configs/<method>/<model>_<method>_digitscenes<suffix>.py``,
#: its metric (key of tools/test.py's output, and its name) and the GAT generator
#: (trained to ``work_dirs/<generator config name>/generator.pth``, where the GAT
#: configs and suites look for it); ``finetune_fraction``: the default of
#: --finetune-last as a fraction of the schedule (0 when left out).
TASKS = {
    'detection': dict(model='faster-rcnn_r18', suffix='', prefix='det',
                      metric='coco/bbox_mAP_50', metric_name='mAP50',
                      generator='configs/generators/style-ae_digitscenes.py',
                      finetune_fraction=0.3),
    'segmentation': dict(model='fpn_r18', suffix='', prefix='seg', metric='mIoU',
                         metric_name='mIoU',
                         generator='configs/generators/style-ae_digitscenes.py'),
    'classification': dict(model='resnet18', suffix='-cls', prefix='cls',
                           metric='accuracy/top1', metric_name='top-1',
                           generator='configs/generators/style-ae_digitscenes-cls.py'),
}
RECONSTRUCTION_ATTACK = 'configs/_base_/attacks/gat-reconstruction.py'


def method_config(task: str, method: str) -> str:
    """The DigitScenes config of ``method`` for ``task``. A variant ``<method>-<name>``
    (e.g. ``shared-heap1``) is ``configs/<method>/<model>_<method>-<name>_...``."""
    spec = TASKS[task]
    return (f'configs/{method.split("-")[0]}/{spec["model"]}_{method}_digitscenes'
            f'{spec["suffix"]}.py')


def method_name(name: str) -> str:
    """``--methods`` values: one of METHODS, or a variant ``<method>-<name>`` of one
    (its config is checked per task before anything runs)."""
    if name.split('-')[0] not in METHODS:
        raise argparse.ArgumentTypeError(
            f'{name!r}: expected one of {", ".join(METHODS)}, or a variant '
            '<method>-<name> with a config configs/<method>/<model>_<method>-<name>_...')
    return name


def check_method_configs(tasks, methods) -> None:
    """Stop (exit 2) naming the first (task, method) whose config does not exist."""
    for task in tasks:
        for method in methods:
            if not osp.isfile(osp.join(REPO, method_config(task, method))):
                print(f'error: --methods {method}: no config {method_config(task, method)} '
                      f'for {task}', file=sys.stderr)
                raise SystemExit(2)


def schedule_options(config: str, iters: int) -> list:
    """``--cfg-options`` that train ``config`` for ``iters`` iterations: its iteration
    count, its validation at the end, and its parameter schedulers' begin / end /
    milestones scaled by the same factor (so warm-up and learning-rate steps keep their
    place in the schedule)."""
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO, config))
    factor = iters / cfg.train_cfg.max_iters
    options = [f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}']
    schedulers = cfg.get('param_scheduler') or []
    for i, scheduler in enumerate(schedulers if isinstance(schedulers, list) else []):
        for key in ('begin', 'end', 'T_max'):
            if key in scheduler:
                options.append(f'param_scheduler.{i}.{key}={round(scheduler[key] * factor)}')
        if 'milestones' in scheduler:
            steps = ','.join(str(round(m * factor)) for m in scheduler['milestones'])
            options.append(f'param_scheduler.{i}.milestones=[{steps}]')
    return options


def max_iters(config: str) -> int:
    from mmengine.config import Config
    return int(Config.fromfile(osp.join(REPO, config)).train_cfg.max_iters)


def finetune_length(args, task: dict, total: int) -> int:
    """How many of the ``total`` iterations the methods other than clean train from the
    clean run's checkpoint (--finetune-last); stops (exit 2) on a value that cannot be."""
    count = args.finetune_last
    if count is None:
        fraction = task.get('finetune_fraction', 0) if 'clean' in args.methods else 0
        return round(fraction * total)
    if count and 'clean' not in args.methods:
        print(f'error: --finetune-last {count} starts the methods from the clean run: '
              'add clean to --methods (or pass --finetune-last 0)', file=sys.stderr)
        raise SystemExit(2)
    if not 0 <= count < total:
        print(f'error: --finetune-last must be in [0, {total}) (the schedule has {total} '
              f'iterations), got {count}', file=sys.stderr)
        raise SystemExit(2)
    return count


def run_dir(work_dir: str, method: str, seed) -> str:
    return osp.join(work_dir, method) if seed is None else \
        osp.join(work_dir, method, f'seed{seed}')


#: In each training's work dir: how the demo started it (the checkpoint it started from,
#: relative to the demo's work dir, or null for scratch; its length in iterations).
RUN_START = 'demo_start.json'


def run_start(work_dir: str, trained) -> dict:
    """How the run in ``work_dir`` was started; a run without the record (an older
    demo's) counts as one from scratch of the length it reached."""
    path = osp.join(work_dir, RUN_START)
    if not osp.isfile(path):
        return dict(from_checkpoint=None, iterations=trained)
    with open(path) as f:
        return json.load(f)


def set_aside(work_dir: str) -> None:
    """Move a replaced model's checkpoints to WORK_DIR/previous/ (one generation kept),
    so that neither the demo nor --resume takes them for the new run's."""
    old = glob.glob(osp.join(work_dir, '*.pth')) + \
        [p for p in [osp.join(work_dir, LAST_CHECKPOINT)] if osp.isfile(p)]
    if not old:
        return
    previous = osp.join(work_dir, 'previous')
    shutil.rmtree(previous, ignore_errors=True)
    os.makedirs(previous)
    for path in old:
        shutil.move(path, previous)
    print(f'demo: {work_dir} held a model started another way; its checkpoints are now in '
          f'{previous}', flush=True)


def training_resume(work_dir: str, origin: dict, warm_start, keep, force: bool):
    """The ``--resume`` arguments of the training in ``work_dir`` (``[]``: from scratch),
    or None when it is done. ``origin``: how the demo starts it (RUN_START's record);
    ``warm_start``: the clean checkpoint a fine-tuned run starts from; ``keep``: a
    checkpoint the finished run must also have left (the one the others start from).

    A run started another way (from scratch vs from the clean run, another length) is
    another model: its checkpoints are set aside and it is trained anew, not reused or
    continued; a run killed part-way continues. Writes the record before training.
    """
    total = origin['iterations']
    checkpoint = final_checkpoint(work_dir)
    trained = None if checkpoint is None else checkpoint_step(checkpoint)
    fresh = force or checkpoint is None or run_start(work_dir, trained) != origin
    if keep is not None and trained == total and not osp.isfile(keep):
        fresh = True  # finished without the checkpoint the others start from
    if not fresh and trained == total:
        return None
    if warm_start is not None and fresh:
        if not osp.isfile(warm_start):
            print(f'error: --finetune-last: no clean checkpoint {warm_start} to start '
                  f'{osp.basename(work_dir)} from', file=sys.stderr)
            raise SystemExit(2)
        resume = ['--resume', warm_start]
    elif not fresh and (trained is None or trained < total):
        resume = ['--resume']
    else:
        resume = []
    if fresh:
        set_aside(work_dir)
    os.makedirs(work_dir, exist_ok=True)
    with open(osp.join(work_dir, RUN_START), 'w') as f:
        json.dump(origin, f)
    return resume


def generator_checkpoint(generator_config: str) -> str:
    name = osp.splitext(osp.basename(generator_config))[0]
    return f'work_dirs/{name}/generator.pth'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--data-root', default='data/digitscenes')
    parser.add_argument('--task', default='detection', choices=sorted(TASKS),
                        help='the model family (the demo is the detector)')
    parser.add_argument('--methods', nargs='+', default=['clean', 'gat'],
                        type=method_name, help='training methods to compare: '
                        f'{", ".join(METHODS)}, or variants such as shared-heap1')
    parser.add_argument('--suite', default='configs/robustness/unseen_digitscenes_demo.py',
                        help='robustness suite run on every model')
    parser.add_argument('--seeds', nargs='+', type=int,
                        help='train every method once per seed (default: once, with '
                        "the config's seed)")
    parser.add_argument('--iters', type=int,
                        help="training iterations of every model, the schedule scaled "
                        "to them (default: the config's)")
    parser.add_argument('--finetune-last', type=int, metavar='N',
                        help='methods other than clean start from the clean run of the '
                        'same seed at iteration (iterations - N), optimizer and schedule '
                        'included, and train the last N iterations with their method; 0: '
                        'every method from scratch (default: the last 30%% of the schedule, '
                        '150 of 500 iterations, for the detector when clean is among '
                        '--methods; else 0)')
    parser.add_argument('--force', action='store_true',
                        help='retrain the generator and the models')
    return parser.parse_args(argv)


class Demo:
    """Runs the tools one step at a time and records each step's wall time in
    ``WORK_DIR/<times_name>`` (also tools/compare.py's step runner)."""

    def __init__(self, args, times_name: str = 'demo_times.json'):
        self.args = args
        self.env = dict(os.environ, MMGAT_DATA_ROOT=osp.abspath(args.data_root),
                        PYTHONUNBUFFERED='1')
        self.times_file = osp.join(args.work_dir, times_name)
        self.times = {}
        if osp.isfile(self.times_file):
            with open(self.times_file) as f:
                self.times = json.load(f)

    def run(self, step: str, cmd: list, accumulate: bool = False,
            ok_codes: tuple = (0, )) -> int:
        """Run a tool (its output, progress bars included, goes to the terminal).

        ``accumulate``: add this run's time to the step's earlier ones (a suite that
        resumes continues the same work); otherwise it replaces them. Exit codes
        outside ``ok_codes`` stop the demo.
        """
        print(f'\n==> [{step}] ' + ' '.join(cmd), flush=True)
        start = time.time()
        code = subprocess.run([sys.executable] + cmd, cwd=REPO, env=self.env).returncode
        if code not in ok_codes:
            raise SystemExit(f'demo: step {step} failed with exit status {code}; run '
                             'the demo again to continue from this step')
        spent = round(time.time() - start, 1)
        self.times[step] = round(self.times.get(step, 0) + spent, 1) if accumulate \
            else spent
        os.makedirs(self.args.work_dir, exist_ok=True)
        with open(self.times_file, 'w') as f:
            json.dump(self.times, f, indent=2)
        return code

    def metric(self, step: str, config: str, checkpoint: str, out: str, key: str,
               *extra) -> float:
        if not osp.isfile(out):
            self.run(step, ['tools/test.py', config, checkpoint, '--out', out,
                            '--work-dir', osp.dirname(out), *extra])
        with open(out) as f:
            return float(json.load(f)['metrics'][key])


def main(argv=None):
    args = parse_args(argv)
    check_method_configs([args.task], args.methods)
    demo = Demo(args)
    wd = args.work_dir
    start = time.time()
    if not osp.isfile(osp.join(args.data_root, 'meta.json')):
        demo.run('data', ['tools/make_digitscenes.py', '--out', args.data_root])

    task = TASKS[args.task]
    prefix, metric = task['prefix'], task['metric']
    iters = args.iters
    if iters is not None and iters <= 0:
        print(f'error: --iters must be positive, got {iters}', file=sys.stderr)
        raise SystemExit(2)

    # The generator, and whether it keeps the labels valid.
    # At the path the GAT configs, attack files and suites name by default.
    gen_config = task['generator']
    gen_ckpt = generator_checkpoint(gen_config)
    if args.force or not osp.isfile(osp.join(REPO, gen_ckpt)):
        demo.run('generator', ['tools/train_generator.py', gen_config,
                               '--work-dir', osp.dirname(gen_ckpt)])
    quality = {split: demo.metric(f'psnr_{split}', gen_config, gen_ckpt,
                                  osp.join(wd, 'generator', f'psnr_{split}.json'), 'psnr',
                                  '--split', split)
               for split in ('val', 'val_ood')}

    # The models: one per method, or one per method and seed. When the other methods
    # fine-tune from the clean run, clean trains first and keeps their starting point.
    seeds = args.seeds or [None]
    total = iters if iters is not None else max_iters(method_config(args.task, 'clean'))
    finetune = finetune_length(args, task, total)
    start_step = total - finetune
    methods = sorted(args.methods, key=lambda m: m != 'clean') if finetune else args.methods
    runs = {}  # (method, seed) -> (config, checkpoint, work dir)
    for method in methods:
        for seed in seeds:
            config = method_config(args.task, method)
            work_dir = run_dir(wd, method, seed)
            step = f'train_{method}' + ('' if seed is None else f'_seed{seed}')
            options = ([] if seed is None else [f'randomness.seed={seed}']) + \
                ([] if iters is None else schedule_options(config, iters))
            warm_start = None
            if finetune and method == 'clean':
                options += [f'default_hooks.checkpoint.interval={start_step}',
                            'default_hooks.checkpoint.max_keep_ckpts=-1']
            elif finetune:
                warm_start = osp.join(run_dir(wd, 'clean', seed), f'iter_{start_step}.pth')
            options = ['--cfg-options', *options] if options else []
            origin = dict(from_checkpoint=None if warm_start is None
                          else osp.relpath(warm_start, wd), iterations=total)
            keep = osp.join(work_dir, f'iter_{start_step}.pth') \
                if finetune and method == 'clean' else None
            resume = training_resume(work_dir, origin, warm_start, keep, args.force)
            if resume is not None:
                demo.run(step, ['tools/train.py', config, '--work-dir', work_dir,
                                *options, *resume], accumulate=resume == ['--resume'])
                record_machine(work_dir)
            runs[(method, seed)] = (config, final_checkpoint(work_dir), work_dir)
    clean_run = runs.get(('clean', seeds[0]))

    if clean_run is not None:
        config, checkpoint, _ = clean_run
        quality['model_reconstructed'] = demo.metric(
            f'{prefix}_reconstructed', config, checkpoint,
            osp.join(wd, 'generator', f'{prefix}_reconstructed.json'), metric, '--attack',
            RECONSTRUCTION_ATTACK)

    # The robustness suite on each model, then one report.
    suite_dirs, names = [], []
    for (method, seed), (config, checkpoint, work_dir) in runs.items():
        suite_dir = osp.join(work_dir, 'robustness')
        step = f'suite_{method}' + ('' if seed is None else f'_seed{seed}')
        code = demo.run(step, ['tools/test.py', config, checkpoint, '--robustness',
                               args.suite, '--work-dir', suite_dir], accumulate=True,
                        ok_codes=(0, 3))
        if code == 3:
            print(f'demo: some suite entries failed for {method} (see '
                  f'{suite_dir}/robustness.md); the report shows the others', flush=True)
        # The training's cost beside its record (the report's cost table).
        write_training_record(suite_dir, work_dir, method=method, seed=seed, config=config,
                              start=run_start(work_dir, None))
        suite_dirs.append(suite_dir)
        names.append(method)

    if clean_run is not None:
        # The clean model on real val: the suite's 'clean' entry when it evaluates all
        # of val (as the reconstruction check does), else an evaluation of its own.
        with open(osp.join(clean_run[2], 'robustness', 'robustness.json')) as f:
            real = json.load(f).get('clean')
        entry = {e['name']: e for e in load_suite(args.suite).entries}.get('clean', {})
        if real is None or entry.get('num_images') is not None:
            config, checkpoint, _ = clean_run
            real = demo.metric(f'{prefix}_real', config, checkpoint,
                               osp.join(wd, 'generator', f'{prefix}_real.json'), metric)
        quality['model_real'] = float(real)
    with open(osp.join(wd, 'generator', 'quality.json'), 'w') as f:
        json.dump(quality, f, indent=2)
    report = osp.join(wd, 'report.md')
    baseline = ['--baseline', 'clean'] if clean_run is not None else []
    demo.run('report', ['tools/report.py', *suite_dirs, '--names', *names, *baseline,
                        '--out', report])

    with open(report) as f:
        text = f.read()
    lines = ['', '## Generator', '',
             f"Reconstruction PSNR: val {quality['val']:.2f} dB, val_ood "
             f"{quality['val_ood']:.2f} dB."]
    if 'model_real' in quality:
        real, recon = quality['model_real'], quality['model_reconstructed']
        lines.append(f'Clean model {task["metric_name"]} on real val {real:.3f}, on '
                     f'reconstructed val {recon:.3f} '
                     f'({100 * (recon - real) / max(real, 1e-9):+.1f}%).')
    total = sum(demo.times.values()) / 60
    lines += ['', 'Step times (s): ' + ', '.join(f'{k} {v}' for k, v in demo.times.items())
              + f'; {total:.1f} min in all']
    with open(report, 'w') as f:
        f.write(text.rstrip('\n') + '\n' + '\n'.join(lines) + '\n')
    print('\n' + text.rstrip('\n') + '\n' + '\n'.join(lines))
    print(f'\nreport: {report} (this run: {(time.time() - start) / 60:.1f} min)')


if __name__ == '__main__':
    main()
