"""Compute a universal adversarial perturbation of a trained model (stochastic PGD).

    python tools/compute_universal.py CONFIG CKPT --out work_dirs/universal.pth
    python tools/compute_universal.py CONFIG CKPT --out u.pth --eps 8/255 --alpha 1/255 \\
        --epochs 5 --batch-size 16 --split train --norm linf

sPGD (Mummadi et al., ICCV 2019): ONE perturbation for the whole dataset, moved by a
signed-gradient step on each mini-batch's loss and projected to the eps ball; the model
stays in eval mode. It runs on the config's ``train_dataloader`` dataset with its own
pipeline (``--split`` picks another), reshuffled every epoch, in one process on one
device (``--device``).

The output (``torch.save``, loadable with ``weights_only=True``) is a dict::

    perturbation   float32 tensor 1 x C x H x W, 0-255 pixel units, in the MODEL's
                   channel order (the order after its data preprocessor)
    channel_order  'rgb' (the preprocessor swaps the pipeline's BGR) or 'bgr'
    eps, alpha, norm, iters (updates made), epochs, split, seed, size, config,
    checkpoint, losses (the loss at each perturbed batch)

Evaluate with the pipeline transform ``mmgat.ApplyUniversalPerturbation(path=...)``
in the test pipeline of ``tools/test.py``.
"""
import argparse
import os
import os.path as osp
import sys
from fractions import Fraction

import torch
from mmengine.config import DictAction
from mmengine.registry import MODELS, init_default_scope
from mmengine.runner import load_checkpoint, set_random_seed
from mmengine.utils import ProgressBar, import_modules_from_strings

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import mmgat  # noqa: E402,F401  (registers mmgat, installs the safe checkpoint loader)
from mmgat.attacks import UniversalPerturbation  # noqa: E402
from mmgat.evaluation.splits import SPLIT_DATALOADERS  # noqa: E402
from mmgat.evaluation.universal import (perturbation_record, run_spgd,  # noqa: E402
                                        sampling_dataloader, save_perturbation,
                                        universal_victim)
from mmgat.utils.cli import exit_on_user_error  # noqa: E402
from mmgat.utils.errors import ConfigError  # noqa: E402
from mmgat.utils.runner_setup import load_config  # noqa: E402


def budget(text: str) -> float:
    """A budget on the 0-1 scale: ``0.0314`` or a fraction such as ``8/255``."""
    try:
        return float(Fraction(text.replace(' ', '')))
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(
            f'expected a number such as 0.03 or 8/255, got {text!r}') from None


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Compute a universal perturbation (sPGD) of a trained model')
    parser.add_argument('config', help='config file of the model')
    parser.add_argument('checkpoint', help='checkpoint of the model')
    parser.add_argument('--out', required=True, help='perturbation file to write')
    parser.add_argument('--split', default='train', choices=sorted(SPLIT_DATALOADERS),
                        help='dataset to compute it on (default: train_dataloader)')
    parser.add_argument('--eps', type=budget, default=8 / 255,
                        help='budget on the 0-1 scale (default 8/255)')
    parser.add_argument('--alpha', type=budget, default=1 / 255,
                        help='step per mini-batch on the 0-1 scale (default 1/255)')
    parser.add_argument('--norm', choices=['linf', 'l2'], default='linf')
    length = parser.add_mutually_exclusive_group()
    length.add_argument('--epochs', type=int, default=None,
                        help='passes over the dataset (default 1)')
    length.add_argument('--iters', type=int, default=None,
                        help='number of mini-batch updates (cycles the dataset)')
    parser.add_argument('--batch-size', type=int, default=None,
                        help="mini-batch size (default: the dataloader's)")
    parser.add_argument('--size', type=int, nargs=2, metavar=('H', 'W'), default=None,
                        help="perturbation size (default: the first batch's padded size)")
    parser.add_argument('--device', default=None,
                        help='cuda or cpu (default: cuda when available)')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the data order and of the attack')
    parser.add_argument(
        '--victim-options', nargs='+', action=DictAction, default={},
        help='victim adapter options, e.g. loss_keys=[loss_cls] gt_frame=original')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config entries, e.g. train_dataloader.num_workers=0')
    return parser.parse_args(argv)


def check_args(args) -> None:
    for name in ('epochs', 'iters', 'batch_size'):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ConfigError(f'--{name.replace("_", "-")} must be >= 1, got {value}')
    if not osp.isfile(args.checkpoint):
        raise ConfigError(f"checkpoint '{args.checkpoint}' does not exist")
    out_dir = osp.dirname(osp.abspath(args.out))
    if osp.exists(out_dir) and not osp.isdir(out_dir):
        raise ConfigError(f"--out: '{out_dir}' is not a folder")


def build_model(cfg, checkpoint: str, device: str) -> torch.nn.Module:
    model = MODELS.build(cfg.model)
    try:
        # strict: a checkpoint of another model must not pass silently.
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True,
                        logger='current')
    except (RuntimeError, KeyError) as e:
        message = ' '.join(str(e).strip(' \'"').split())
        raise ConfigError(f"checkpoint '{checkpoint}' does not fit the config's model: "
                          f'{message[:300]}') from None
    return model.to(device).eval()


@exit_on_user_error
def main(argv=None):
    args = parse_args(argv)
    check_args(args)
    cfg = load_config(args.config, args.cfg_options)
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    init_default_scope(cfg.get('default_scope', 'mmgat'))
    set_random_seed(args.seed)
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')

    model = build_model(cfg, args.checkpoint, device)
    dataloader = sampling_dataloader(cfg, args.split, args.batch_size, args.seed)
    if len(dataloader) == 0:
        raise ConfigError(f'--split {args.split}: the dataset is empty')
    victim = universal_victim(model, cfg[SPLIT_DATALOADERS[args.split]].dataset.get('pipeline'),
                              args.victim_options,
                              announce=lambda text: print(text, flush=True))

    attack = UniversalPerturbation(eps=args.eps, alpha=args.alpha, norm=args.norm,
                                   size=args.size, seed=args.seed)
    iters = args.iters or (args.epochs or 1) * len(dataloader)
    print(f'sPGD: {attack} on {args.split}, {iters} updates '
          f'({len(dataloader)} batches per epoch) on {device}', flush=True)

    progress = ProgressBar(iters)
    losses, epochs = run_spgd(victim, dataloader, attack, iters,
                              on_update=lambda loss: progress.update())
    sys.stdout.write('\n')

    record = perturbation_record(
        attack, victim, losses, epochs, split=args.split, seed=args.seed,
        config=str(args.config), checkpoint=str(args.checkpoint))
    delta = record['perturbation']
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    save_perturbation(record, args.out)
    linf = float(delta.abs().max()) / 255
    print(f'universal perturbation {tuple(delta.shape)} ({record["channel_order"]}, '
          f'L-inf {linf:.4f}, loss {losses[0]:.4f} -> {losses[-1]:.4f}) written to '
          f'{args.out}', flush=True)
    return record


if __name__ == '__main__':
    main()
