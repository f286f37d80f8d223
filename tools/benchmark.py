"""Cost of adversarial training relative to clean training, on the same batches.

    python tools/benchmark.py configs/clean/faster-rcnn_r18_clean_digitscenes.py
    python tools/benchmark.py CONFIG --steps 3 --iters 10 --out bench.json

Measures, on batches held in memory (data loading excluded), the median time of
- a training step (forward, backward, optimizer update),
- one attack step (forward + gradient w.r.t. the pixels only, parameters frozen),
- a K-step PGD training iteration (the attack AdversarialHook runs, K steps, + the
  training step),
and reports attack_step / train_step (target <= 0.9) and
pgd_iteration / (K * attack_step + train_step) (target <= 1.1: the hook's own overhead),
plus peak memory. The numbers in the README come from this command.

    python tools/benchmark.py --methods clean pgd shared universal localized gat advbn \\
        [--task detection] [--suite-record results/default_suite_clean/robustness.json] \\
        --out results/benchmark_methods_detection.json

times one training iteration of each method's DigitScenes config of a task (the
method's AdversarialHook, then the training step) on the same in-memory batches, in
one process: seconds per iteration and per image the step sees (``mode='append'``
doubles the batch), the ratio to clean, and the RSS after each method (CPU; on a GPU
``max_memory_allocated`` per method). ``--suite-record`` adds the suite's throughput
(images per second per entry kind) from a robustness.json. Writes JSON and a Markdown
table next to it (the README's table).

With ``advbn`` among the methods, a ``pgd1`` row (the PGD config with 1 step) is
added and ``advbn_over_pgd1`` reported (target <= 1.5).

    python tools/benchmark.py CONFIG --checkpoint CKPT --suite SUITE --ranks 2 \
        [--num-images N] --out results/benchmark_ddp_suite.json

runs the suite through ``tools/test.py`` in 1 process (all cores) and through
``tools/dist_test.sh`` on N ranks (cores / N threads each), one after the other in
fresh work dirs, and reports both wall times, the suites' own entry seconds, the ratio
to perfect scaling ``t_N / (t_1 / N)`` (target <= 1.15) and the entries whose scores
differ between the two runs. Each run also keeps the suite's own wall time
(``suite_wall_seconds``: without the processes' start-up and without the bootstrap
intervals rank 0 computes at the end, ``intervals_seconds``) and its seconds per entry;
``entry_over_ideal`` is each entry's ratio to perfect scaling (entries with no time on
either run are left out). ``--threads-per-rank T`` gives every process of both runs
T threads instead, so that the one rank has what each of the N has (as one GPU per
rank does): the scaling of the suite itself, apart from how well one process uses
several cores.

    python tools/benchmark.py --bootstrap [--bootstrap-images 5000 --replicates 1000]

times instead the bootstrap of COCO AP (AP50 and the mean over IoU thresholds) from
synthetic per-image matches of COCO val's size (5,000 images, 80 categories, 100
detections per image; target: 1,000 replicates of mAP within 2 minutes).
"""
import argparse
import copy
import json
import platform
import resource
import statistics
import time

import torch
from mmengine.config import DictAction
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

import mmgat  # noqa: F401
from mmgat.attacks import attack_batch, build_attack
from mmgat.utils.cli import exit_on_user_error
from mmgat.utils.errors import ConfigError
from mmgat.utils.runner_setup import load_config
from mmgat.victims import build_victim


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', nargs='?')
    parser.add_argument('--methods', nargs='+',
                        help='time these methods\' configs of --task (no CONFIG)')
    parser.add_argument('--task', default='detection',
                        choices=['detection', 'segmentation', 'classification'])
    parser.add_argument('--suite-record',
                        help='--methods: a robustness.json for the suite throughput')
    parser.add_argument('--bootstrap', action='store_true',
                        help='time the bootstrap of COCO AP instead (no config)')
    parser.add_argument('--bootstrap-images', type=int, default=5000)
    parser.add_argument('--replicates', type=int, default=1000)
    parser.add_argument('--checkpoint', help='--ranks: the model\'s checkpoint')
    parser.add_argument('--suite', help='--ranks: the robustness suite to run')
    parser.add_argument('--ranks', type=int,
                        help='time the suite on 1 process and on this many ranks')
    parser.add_argument('--threads-per-rank', type=int,
                        help='--ranks: threads of every process, the 1-rank run included '
                        '(default: cores / ranks, i.e. the 1-rank run takes all cores)')
    parser.add_argument('--num-images', type=int,
                        help='--ranks: passed to tools/test.py (every entry this many)')
    parser.add_argument('--steps', type=int, default=3, help='K, PGD steps')
    parser.add_argument('--iters', type=int, default=8, help='timed repetitions')
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--out', help='write the results to this JSON file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def median_seconds(fn, iters, warmup):
    times = []
    for i in range(warmup + iters):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn(i)
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_memory_mb():
    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def synthetic_matches(num_images: int, num_cats: int = 80, per_image: int = 100,
                      seed: int = 0) -> dict:
    """Per-image COCO matches (see mmgat.evaluation.coco_matches) of a detector with
    ``per_image`` detections per image over ``num_cats`` categories and about 7 ground
    truths per image (COCO val's density)."""
    import numpy as np
    rng = np.random.default_rng(seed)
    num = num_images * per_image
    image = np.repeat(np.arange(num_images), per_image)
    cat = rng.integers(0, num_cats, num)
    order = np.lexsort((image, cat))
    thresholds = np.linspace(0.5, 0.95, 10)
    score = rng.random(num)
    # high-scoring detections match more often, and less so at strict IoU
    match = rng.random((num, 10)) < score[:, None] * np.linspace(0.15, 0.02, 10)
    return dict(img_ids=np.arange(num_images), cat_ids=np.arange(num_cats),
                det_image=image[order], det_cat=cat[order], det_score=score[order],
                det_rank=np.zeros(num, dtype=np.int64), det_match=match[order],
                det_ignore=rng.random((num, 10)) < 0.002,
                gt_count=rng.poisson(7 / num_cats, (num_images, num_cats)),
                iou_thresholds=thresholds, rec_thresholds=np.linspace(0, 1, 101),
                max_dets=np.array([100, 300, 1000]))


def bootstrap_benchmark(args) -> dict:
    from mmgat.evaluation.bootstrap import bootstrap_weights
    from mmgat.evaluation.coco_matches import average_precision
    matches = synthetic_matches(args.bootstrap_images)
    weights = bootstrap_weights(args.bootstrap_images, args.replicates)
    result = dict(mode='bootstrap', images=args.bootstrap_images,
                  detections=int(len(matches['det_cat'])), replicates=args.replicates,
                  device=device_name())
    for name, iou in (('AP50', 0.5), ('mAP', None)):
        start = time.perf_counter()
        average_precision(matches, weights, iou=iou, max_det=100)
        result[f'{name}_seconds'] = time.perf_counter() - start
    result['peak_memory_mb'] = peak_memory_mb()
    return result


def current_rss_mb() -> float:
    """The process's resident memory now (Linux), MiB."""
    try:
        with open('/proc/self/statm') as f:
            return int(f.read().split()[1]) * resource.getpagesize() / 2**20
    except OSError:
        return float('nan')


def method_benchmark(args) -> dict:
    """Seconds per training iteration of each method config of a task (see above)."""
    import os.path as osp
    import sys
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    from demo import METHODS, method_config
    unknown = sorted(set(args.methods) - set(METHODS))
    if unknown:
        raise ConfigError(f'--methods: unknown {unknown}; expected some of {METHODS}')
    methods = ['clean'] + [m for m in args.methods if m != 'clean']
    if 'advbn' in methods:
        methods.append('pgd1')  # AdvBN's reference: a 1-step PGD iteration
    batches, rows = None, []
    for method in methods:
        config = method_config(args.task, 'pgd' if method == 'pgd1' else method)
        cfg = load_config(config, args.cfg_options)
        if method == 'pgd1':
            for hook in cfg.custom_hooks:
                if 'AdversarialHook' in str(hook.get('type')):
                    hook.attack.steps = 1
        cfg.work_dir = '/tmp/mmgat_benchmark'
        cfg.train_dataloader.num_workers = 0
        cfg.train_dataloader.persistent_workers = False
        init_default_scope(cfg.get('default_scope', 'mmgat'))
        runner = Runner.from_cfg(cfg)
        model, hooks = runner.model, [h for h in runner._hooks
                                      if type(h).__name__ == 'AdversarialHook']
        optim_wrapper = runner.build_optim_wrapper(cfg.optim_wrapper)
        if batches is None:  # the clean config's batches serve every method
            loader = runner.build_dataloader(cfg.train_dataloader)
            batches = []
            for batch in loader:
                batches.append(batch)
                if len(batches) == 4:
                    break
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        model.train()
        seen = []

        def iteration(i):
            data = copy.deepcopy(batches[i % len(batches)])
            for hook in hooks:
                hook.before_train_iter(runner, i, data)
            seen.append(len(data['inputs']))
            model.train_step(data, optim_wrapper)
            for hook in hooks:
                hook.after_train_iter(runner, i, data)

        seconds = median_seconds(iteration, args.iters, args.warmup)
        images = statistics.median(seen)
        rows.append(dict(method=method, config=config, seconds_per_iter=seconds,
                         images_per_step=images, seconds_per_image=seconds / images,
                         memory_mb=peak_memory_mb() if torch.cuda.is_available()
                         else current_rss_mb()))
        print(f'{method}: {seconds:.3f} s / iteration, {images} images per step',
              flush=True)
    clean = rows[0]
    for row in rows:
        row['iter_over_clean'] = row['seconds_per_iter'] / clean['seconds_per_iter']
        row['per_image_over_clean'] = row['seconds_per_image'] / clean['seconds_per_image']
    result = dict(mode='methods', task=args.task, iters=args.iters, warmup=args.warmup,
                  batch_size=len(batches[0]['inputs']), device=device_name(),
                  torch=torch.__version__, methods=rows,
                  peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    by_name = {row['method']: row for row in rows}
    if 'pgd1' in by_name:
        result['advbn_over_pgd1'] = (by_name['advbn']['seconds_per_image']
                                     / by_name['pgd1']['seconds_per_image'])
    if args.suite_record:
        result['suite'] = suite_throughput(args.suite_record)
    return result


def ranks_benchmark(args) -> dict:
    """The suite on 1 process, then on ``args.ranks`` (see the module docstring)."""
    import os
    import os.path as osp
    import shutil
    import socket
    import subprocess
    import sys
    import tempfile
    if not (args.config and args.checkpoint and args.suite) or args.ranks < 2:
        raise ConfigError('--ranks N (N >= 2) needs CONFIG, --checkpoint and --suite')
    if args.threads_per_rank is not None and args.threads_per_rank < 1:
        raise ConfigError(f'--threads-per-rank must be >= 1, got {args.threads_per_rank}')
    tools = osp.dirname(osp.abspath(__file__))
    cores = os.cpu_count() or 1
    work = tempfile.mkdtemp(prefix='mmgat_ranks_')
    extra = ['--num-images', str(args.num_images)] if args.num_images else []
    runs = {}
    try:
        for ranks in (1, args.ranks):
            threads = str(args.threads_per_rank or max(1, cores // ranks))
            env = dict(os.environ, OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads,
                       PYTHON=sys.executable)
            out = osp.join(work, f'ranks{ranks}')
            if ranks == 1:
                cmd = [sys.executable, osp.join(tools, 'test.py')]
            else:
                with socket.socket() as sock:
                    sock.bind(('127.0.0.1', 0))
                    env['PORT'] = str(sock.getsockname()[1])
                cmd = ['bash', osp.join(tools, 'dist_test.sh')]
            cmd += [args.config, args.checkpoint] + ([str(ranks)] if ranks > 1 else [])
            cmd += ['--robustness', args.suite, '--work-dir', out, *extra]
            print(f'{ranks} rank(s), {threads} thread(s) each: {" ".join(cmd)}', flush=True)
            start = time.perf_counter()
            done = subprocess.run(cmd, env=env, capture_output=True, text=True)
            wall = time.perf_counter() - start
            if done.returncode not in (0, 3):
                raise ConfigError(f'{ranks} rank(s): exit {done.returncode}: '
                                  f'{done.stderr.strip().splitlines()[-1:]}')
            with open(osp.join(out, 'robustness.json')) as f:
                record = json.load(f)
            # The suite's own wall time leaves out the processes' start-up (imports,
            # model, checkpoint, gloo) and the final intervals (rank 0 alone); its
            # per-entry seconds show what scales worst.
            runs[ranks] = dict(ranks=ranks, threads_per_rank=int(threads),
                               wall_seconds=wall,
                               suite_wall_seconds=record.get('wall_seconds'),
                               intervals_seconds=(record.get('intervals') or {}).get(
                                   'seconds'),
                               entry_seconds=record.get('total_seconds'),
                               seconds_by_entry=record.get('seconds') or {},
                               record=record)
            print(f'  {wall:.1f} s wall', flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    one, many = runs[1], runs[args.ranks]
    scores = [{name: e.get('score') for name, e in r['record']['entries'].items()}
              for r in (one, many)]
    differ = sorted(n for n in scores[0] if scores[0][n] != scores[1].get(n))
    for run in (one, many):
        run.pop('record')
    return dict(mode='ranks', config=args.config, suite=args.suite,
                num_images=args.num_images, cores=cores, device=device_name(),
                torch=torch.__version__, runs=[one, many],
                wall_over_ideal=many['wall_seconds'] / (one['wall_seconds'] / args.ranks),
                entries_over_ideal=(many['entry_seconds'] or 0)
                / ((one['entry_seconds'] or 1) / args.ranks),
                entries_with_other_scores=differ,
                entry_over_ideal={
                    name: many['seconds_by_entry'][name] / (seconds / args.ranks)
                    for name, seconds in one['seconds_by_entry'].items()
                    if seconds and many['seconds_by_entry'].get(name)})


def suite_throughput(path: str) -> dict:
    """Images per second per entry kind of a robustness.json (units' images / seconds)."""
    from mmgat.evaluation.aggregation import unit_records
    with open(path) as f:
        record = json.load(f)
    per_kind = {}
    for entry in record.get('entries', {}).values():
        for unit in unit_records(entry).values():
            if unit.get('status') == 'done' and unit.get('seconds'):
                images, seconds = per_kind.get(entry['kind'], (0, 0.0))
                per_kind[entry['kind']] = (images + unit.get('num_images', 0),
                                           seconds + unit['seconds'])
    return dict(source=path, images_per_second={
        kind: images / seconds for kind, (images, seconds) in per_kind.items()})


def device_name() -> str:
    if torch.cuda.is_available():
        return f'cuda: {torch.cuda.get_device_name()} (CUDA {torch.version.cuda})'
    return f'cpu ({torch.get_num_threads()} threads, {platform.processor() or "?"})'


def methods_markdown(result: dict) -> str:
    lines = [f"Training iteration per method ({result['task']}, batch "
             f"{result['batch_size']}, median of {result['iters']}, {result['device']}, "
             f"torch {result['torch']}):", '',
             '| method | s / iteration | images per step | s / image | x clean (iteration) '
             '| x clean (per image) | memory (MiB) |', '|---|---|---|---|---|---|---|']
    for row in result['methods']:
        lines.append(f"| {row['method']} | {row['seconds_per_iter']:.3f} | "
                     f"{row['images_per_step']:g} | {row['seconds_per_image']:.4f} | "
                     f"{row['iter_over_clean']:.2f} | {row['per_image_over_clean']:.2f} | "
                     f"{row['memory_mb']:.0f} |")
    if 'advbn_over_pgd1' in result:
        lines += ['', f"AdvBN / PGD-1 per image: {result['advbn_over_pgd1']:.2f} "
                  '(target <= 1.5)']
    suite = result.get('suite')
    if suite:
        lines += ['', f"Suite throughput ({suite['source']}): " + ', '.join(
            f'{kind} {rate:.1f} images/s'
            for kind, rate in suite['images_per_second'].items())]
    return '\n'.join(lines) + '\n'


@exit_on_user_error
def main():
    args = parse_args()
    if args.ranks:
        result = ranks_benchmark(args)
        print(json.dumps(result, indent=2))
        print(f"{args.ranks} ranks: {result['wall_over_ideal']:.2f} x (1-rank time / "
              f"{args.ranks}) wall, {result['entries_over_ideal']:.2f} x in the suite's "
              'entries (target <= 1.15)')
        if args.out:
            with open(args.out, 'w') as f:
                json.dump(result, f, indent=2)
        return
    if args.methods:
        result = method_benchmark(args)
        text = methods_markdown(result)
        print(json.dumps(result, indent=2))
        print(text)
        if args.out:
            with open(args.out, 'w') as f:
                json.dump(result, f, indent=2)
            with open(args.out.rsplit('.', 1)[0] + '.md', 'w') as f:
                f.write(text)
        return
    if args.bootstrap:
        result = bootstrap_benchmark(args)
        print(json.dumps(result, indent=2))
        print(f"bootstrap of COCO mAP, {args.replicates} replicates on "
              f"{args.bootstrap_images} images: {result['mAP_seconds']:.1f} s "
              '(target <= 120 s)')
        if args.out:
            with open(args.out, 'w') as f:
                json.dump(result, f, indent=2)
        return
    if not args.config:
        raise ConfigError('benchmark.py needs a CONFIG (or --methods / --bootstrap)')
    cfg = load_config(args.config, args.cfg_options)
    cfg.work_dir = '/tmp/mmgat_benchmark'
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = False
    init_default_scope(cfg.get('default_scope', 'mmgat'))
    runner = Runner.from_cfg(cfg)
    model = runner.model
    optim_wrapper = runner.build_optim_wrapper(cfg.optim_wrapper)
    loader = runner.build_dataloader(cfg.train_dataloader)
    batches = []
    for batch in loader:  # held in memory: loading is not what is measured
        batches.append(batch)
        if len(batches) == 4:
            break

    def batch(i):
        return copy.deepcopy(batches[i % len(batches)])

    model.train()

    def train_step(i):
        model.train_step(batch(i), optim_wrapper)

    victim = build_victim(model)
    prepared = [victim.to_pixels(b) for b in batches]

    def attack_step(i):
        pixels, samples, _ = prepared[i % len(prepared)]
        with victim.attack_mode():
            pixels = pixels.clone().requires_grad_(True)
            loss = victim.loss(pixels, samples)
            torch.autograd.grad(loss, pixels)

    attack = build_attack(
        dict(type='mmgat.PGD', eps=4 / 255, alpha=1 / 255, steps=args.steps))

    def pgd_iteration(i):  # what AdversarialHook does before a train step, then the step
        data = batch(i)
        attack_batch(attack, victim, data, mode='replace', iteration=i)
        model.train_step(data, optim_wrapper)

    t_train = median_seconds(train_step, args.iters, args.warmup)
    t_attack = median_seconds(attack_step, args.iters, args.warmup)
    t_pgd = median_seconds(pgd_iteration, args.iters, args.warmup)
    result = dict(
        config=args.config,
        device=device_name(),
        batch_size=len(batches[0]['inputs']),
        pgd_steps=args.steps,
        train_step_s=t_train,
        attack_step_s=t_attack,
        pgd_iteration_s=t_pgd,
        attack_step_over_train_step=t_attack / t_train,
        pgd_iteration_over_parts=t_pgd / (args.steps * t_attack + t_train),
        peak_memory_mb=peak_memory_mb(),
    )
    print(json.dumps(result, indent=2))
    print(f"attack step / train step: {result['attack_step_over_train_step']:.2f} "
          f"(target <= 0.9); {args.steps}-step PGD iteration / ({args.steps} attack steps "
          f"+ train step): {result['pgd_iteration_over_parts']:.2f} (target <= 1.1)")
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=2)


if __name__ == '__main__':
    main()
