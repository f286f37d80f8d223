"""Train a detector, segmentor or classifier (clean or adversarial) from a config.

    python tools/train.py configs/clean/faster-rcnn_r18_clean_digitscenes.py
    python tools/train.py CONFIG --work-dir DIR --cfg-options train_cfg.max_iters=100
    python tools/train.py CONFIG --resume            # continue from DIR/last_checkpoint
    python tools/train.py CONFIG --resume DIR/iter_400.pth
    bash tools/dist_train.sh CONFIG 2                # DDP (NCCL on GPUs, gloo on CPU)

Checkpoints are written atomically (mmgat.AtomicCheckpointHook replaces mmengine's
CheckpointHook). When the checkpoint DIR/last_checkpoint names cannot be read (e.g.
truncated by a crash of an older run), ``--resume`` continues from the newest readable
checkpoint in DIR with a warning naming both; it stops with exit status 2 if none is.
"""
import argparse
import os.path as osp

from mmengine.config import DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import mmgat  # noqa: F401  (registers mmgat, installs the safe checkpoint loader)
from mmgat.utils.checkpoint_files import (check_checkpoint_file, find_resume_checkpoint,
                                          use_atomic_checkpoint_hook)
from mmgat.utils.cli import exit_on_user_error
from mmgat.utils.runner_setup import (adapt_distributed, ensure_safe_checkpoint_hook,
                                      load_config, set_local_rank_env, set_work_dir)


def parse_args(argv=None, description='Train a model with mmgat'):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--amp', action='store_true',
                        help='enable automatic-mixed-precision training')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate with the total batch size')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from this checkpoint; without a value, from the latest checkpoint '
        'in the work dir')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config entries, e.g. train_cfg.max_iters=100 (each key must exist '
        'or be an argument of the component it belongs to)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser.parse_args(argv)


def build_runner(args) -> Runner:
    """The Runner of parsed ``args`` (also used by tools/train_generator.py)."""
    set_local_rank_env(args.local_rank)

    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    set_work_dir(cfg, args.work_dir, args.config)
    ensure_safe_checkpoint_hook(cfg)
    use_atomic_checkpoint_hook(cfg)

    if args.amp:
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper != 'AmpOptimWrapper':
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise mmgat.utils.ConfigError(
                "--auto-scale-lr needs 'auto_scale_lr = dict(enable=..., "
                "base_batch_size=...)' in the config")
        cfg.auto_scale_lr.enable = True

    resume_warning = None
    if args.resume == 'auto':
        cfg.resume = True
        # None: mmengine resumes from what WORK_DIR/last_checkpoint names (or starts
        # afresh without it); a path: that one cannot be read, this is the newest that can.
        cfg.load_from, resume_warning = find_resume_checkpoint(cfg.work_dir)
    elif args.resume is not None:
        if not osp.isfile(args.resume):
            raise mmgat.utils.ConfigError(f"--resume: no checkpoint at '{args.resume}'")
        check_checkpoint_file(args.resume, deep=True, prefix='--resume: ')
        cfg.resume = True
        cfg.load_from = args.resume

    adapt_distributed(cfg, args.launcher)
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    if resume_warning:
        runner.logger.warning(resume_warning)
    return runner


@exit_on_user_error
def main(argv=None):
    build_runner(parse_args(argv)).train()


if __name__ == '__main__':
    main()
