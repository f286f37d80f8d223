"""Evaluate a trained model.

    python tools/test.py CONFIG CHECKPOINT                      # metric on val
    python tools/test.py CONFIG CHECKPOINT --split val_ood      # out-of-domain split
    python tools/test.py CONFIG CHECKPOINT --show-dir vis       # also draw predictions
    python tools/test.py CONFIG CHECKPOINT --attack configs/_base_/attacks/pgd-linf_eps8.py
    python tools/test.py CONFIG CHECKPOINT --robustness configs/robustness/unseen_digitscenes.py
    python tools/test.py CONFIG CHECKPOINT --granularity --generator-config GCFG \\
        --generator-checkpoint GCKPT
    bash tools/dist_test.sh CONFIG CHECKPOINT 2
    bash tools/dist_test.sh CONFIG CHECKPOINT 2 --robustness SUITE   # the suite on 2 ranks

The metrics are printed and written to ``WORK_DIR/metrics_<split>.json`` (or ``--out``).
"""
import argparse
import copy
import json
import os
import os.path as osp
import sys
from typing import Optional

from mmengine.config import DictAction
from mmengine.dist import is_main_process
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import mmgat  # noqa: F401  (registers mmgat, installs the safe checkpoint loader)
from mmgat.attacks import load_attack_file
from mmgat.evaluation.splits import use_split_for_testing
from mmgat.registry import HOOKS
from mmgat.utils.checkpoint_files import check_checkpoint_file
from mmgat.utils.cli import exit_on_user_error
from mmgat.utils.errors import ConfigError
from mmgat.utils.ranks import sync
from mmgat.utils.runner_setup import (adapt_distributed, load_config,
                                      set_local_rank_env, set_work_dir,
                                      without_training_attacks)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model with mmgat')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs and metrics')
    parser.add_argument(
        '--split', default='val', choices=['val', 'val_ood'],
        help="which split to evaluate: the config's test_dataloader (val) or its "
        'ood_test_dataloader (val_ood)')
    parser.add_argument(
        '--attack', help='evaluate under this attack: a config file defining `attack` '
        '(and optionally `victim` options), e.g. configs/_base_/attacks/pgd-linf_eps8.py')
    parser.add_argument('--out', help='write the metrics to this JSON file')
    parser.add_argument(
        '--robustness', metavar='SUITE',
        help='evaluate on every entry of a robustness suite, e.g. configs/robustness/'
        'unseen_digitscenes.py: writes WORK_DIR/robustness.json, .md and PNG plots '
        '(a rerun skips completed entries). Exit status 3: the suite ran to the end '
        'but some entries failed (reasons in the JSON)')
    parser.add_argument(
        '--granularity', action='store_true',
        help='evaluate under one LayerActivationAttack per generator decoder layer: '
        'WORK_DIR/granularity.json and granularity.png')
    parser.add_argument('--generator-config',
                        help='--granularity: generator config (default: per task, as '
                        'in configs/robustness/unseen_digitscenes.py)')
    parser.add_argument('--generator-checkpoint',
                        help='--granularity: generator checkpoint (default: '
                        'work_dirs/<generator config name>/generator.pth)')
    parser.add_argument('--num-images', type=int,
                        help='--robustness / --granularity: evaluate every entry on this '
                        'many evenly spaced images (default: as the suite says / all)')
    parser.add_argument(
        '--amp', nargs='?', const='bf16', choices=['bf16', 'fp16'],
        help='--attack / --robustness: run the attacks\' forward passes under this '
        'autocast (default bf16; gradients, budgets and clipping stay float32)')
    parser.add_argument('--show-dir', help='draw predictions into WORK_DIR/TIMESTAMP/'
                        'SHOW_DIR (detection and segmentation)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config entries (each key must exist or be an argument of the '
        'component it belongs to)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser.parse_args(argv)


def add_attack(cfg, attack_file: str, amp: Optional[str] = None) -> dict:
    """Append an AdversarialHook that attacks every test batch; returns the attack."""
    try:
        attack, victim = load_attack_file(attack_file)
    except ConfigError as e:
        raise ConfigError(f'--attack: {e}') from None
    victim = dict(victim or {})
    if amp:
        victim['autocast'] = amp
    hook = dict(type='mmgat.AdversarialHook', phase='test', attack=attack,
                test_victim=victim)
    # Build it now, so that a bad attack config fails before the model is loaded.
    HOOKS.build(copy.deepcopy(hook))
    cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [hook]
    return hook['attack']


def enable_visualization(cfg, show_dir: str) -> None:
    vis_hook = cfg.get('default_hooks', {}).get('visualization')
    if vis_hook is None:
        raise ConfigError('--show-dir: this config has no visualization hook '
                          '(default_hooks.visualization); it is available for detection '
                          'and segmentation configs')
    vis_hook['draw'] = True
    if 'SegVisualizationHook' in str(vis_hook.get('type')):
        # mmseg's hook has no test_out_dir: its visualizer saves to save_dir (as in
        # mmseg's own tools/test.py); it draws every `interval`-th batch (50 by
        # default), every one here like mmdet's hook in testing.
        cfg.visualizer['save_dir'] = show_dir
        vis_hook['interval'] = 1
    else:
        vis_hook['test_out_dir'] = show_dir


@exit_on_user_error
def main(argv=None):
    args = parse_args(argv)
    set_local_rank_env(args.local_rank)
    if not osp.isfile(args.checkpoint):
        raise ConfigError(f"checkpoint '{args.checkpoint}' does not exist")
    check_checkpoint_file(args.checkpoint)  # before building model and data

    cfg = load_config(args.config, args.cfg_options)
    cfg.launcher = args.launcher
    set_work_dir(cfg, args.work_dir, args.config)
    cfg.load_from = args.checkpoint
    if args.robustness or args.granularity or args.generator_config or \
            args.generator_checkpoint or args.num_images is not None:
        from mmgat.evaluation.cli import EXIT_ENTRIES_FAILED, run_robustness
        record = run_robustness(cfg, args)
        failed = record.get('failed') or []
        if failed and is_main_process():
            # Everything else ran and was written; the exit status tells scripts.
            print(f'error: {len(failed)} suite {"entry" if len(failed) == 1 else "entries"}'
                  f' failed ({", ".join(failed)}); the reasons are in '
                  f'{osp.join(cfg.work_dir, record.get("name", "robustness"))}.json',
                  file=sys.stderr)
        # torchrun stops every rank when one exits non-zero: none leaves before rank 0
        # has written and said everything.
        sync()
        if failed:
            sys.exit(EXIT_ENTRIES_FAILED)
        return record
    use_split_for_testing(cfg, args.split)
    if args.show_dir:
        enable_visualization(cfg, args.show_dir)
    if args.amp and not args.attack:
        raise ConfigError('--amp applies to the attacks: use it with --attack or '
                          '--robustness')
    attack = add_attack(cfg, args.attack, args.amp) if args.attack else None

    adapt_distributed(cfg, args.launcher)
    run_cfg = without_training_attacks(cfg)  # e.g. no generator needed to test GAT
    runner = (Runner.from_cfg(run_cfg) if 'runner_type' not in run_cfg
              else RUNNERS.build(run_cfg))
    metrics = runner.test()

    if is_main_process():
        name = args.split
        if args.attack:
            name += '_' + osp.splitext(osp.basename(args.attack))[0]
        out = args.out or osp.join(cfg.work_dir, f'metrics_{name}.json')
        os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
        record = dict(config=args.config, checkpoint=args.checkpoint, split=args.split,
                      attack=attack, metrics={k: float(v) for k, v in metrics.items()})
        with open(out, 'w') as f:
            json.dump(record, f, indent=2)
        print(f'metrics ({name}) written to {out}: {json.dumps(record["metrics"])}')
    return metrics


if __name__ == '__main__':
    main()
