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
    parser.add_argument('--bootstrap', action='store_true',
                        help='time the bootstrap of COCO AP instead (no config)')
    parser.add_argument('--bootstrap-images', type=int, default=5000)
    parser.add_argument('--replicates', type=int, default=1000)
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
                  device=f'cpu ({platform.processor() or "?"})')
    for name, iou in (('AP50', 0.5), ('mAP', None)):
        start = time.perf_counter()
        average_precision(matches, weights, iou=iou, max_det=100)
        result[f'{name}_seconds'] = time.perf_counter() - start
    result['peak_memory_mb'] = peak_memory_mb()
    return result


@exit_on_user_error
def main():
    args = parse_args()
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
        raise ConfigError('benchmark.py needs a CONFIG (or --bootstrap)')
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
        device='cuda:' + torch.cuda.get_device_name() if torch.cuda.is_available()
        else f'cpu ({torch.get_num_threads()} threads, {platform.processor() or "?"})',
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
