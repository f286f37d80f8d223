"""``tools/test.py --robustness SUITE`` and ``--granularity``: one model, built once."""
import os.path as osp
from typing import Optional

from mmengine.config import Config
from mmengine.model import is_model_wrapper
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from mmgat.utils.errors import ConfigError
from mmgat.utils.runner_setup import adapt_distributed, without_training_attacks
from .robustness_suite import RobustnessSuite, granularity_suite
from .suite_config import load_suite

#: The config files that name each task's trained DigitScenes generator (``generator =
#: dict(config=..., checkpoint=...)``, paths relative to the working directory): the GAT
#: configs and attack files inherit the same files.
GENERATOR_FILES = dict(
    detection='configs/_base_/generators/style-ae_digitscenes.py',
    segmentation='configs/_base_/generators/style-ae_digitscenes.py',
    classification='configs/_base_/generators/style-ae_digitscenes-cls.py')


def default_generators() -> dict:
    """The generators of ``--granularity`` without ``--generator-config``, per task."""
    out = {}
    for task, path in GENERATOR_FILES.items():
        if not osp.isfile(path):
            raise ConfigError(f"--granularity: '{path}' (the default {task} generator) "
                              'is not here; run from the mmgat folder or pass '
                              '--generator-config')
        out[task] = Config.fromfile(path).generator.to_dict()
    return out


def generator_from_args(config: Optional[str], checkpoint: Optional[str]) -> dict:
    """``dict(config, checkpoint)`` from ``--generator-config`` / ``--generator-checkpoint``
    (the checkpoint defaults to ``work_dirs/<config name>/generator.pth``, where
    ``tools/train_generator.py`` writes it), or the per-task defaults."""
    if config is None and checkpoint is None:
        return default_generators()
    if config is None:
        raise ConfigError('--generator-checkpoint needs --generator-config')
    if checkpoint is None:
        name = osp.splitext(osp.basename(config))[0]
        checkpoint = osp.join('work_dirs', name, 'generator.pth')
    return dict(config=config, checkpoint=checkpoint)


#: Exit status of ``tools/test.py --robustness / --granularity`` when the suite ran to
#: the end but some entries failed (2 is a user error that stopped the run).
EXIT_ENTRIES_FAILED = 3


def check_robustness_args(args) -> None:
    """Options that do not combine with a suite run."""
    if not (args.robustness or args.granularity):
        raise ConfigError('--generator-config, --generator-checkpoint and --num-images go '
                          'with --robustness or --granularity')
    if args.robustness and args.granularity:
        raise ConfigError('--robustness and --granularity are exclusive (add a '
                          "kind='granularity' entry to the suite instead)")
    if not args.granularity and (args.generator_config or args.generator_checkpoint):
        raise ConfigError('--generator-config / --generator-checkpoint go with '
                          '--granularity (a suite sets its own `generator`)')
    if args.num_images is not None and args.num_images < 1:
        raise ConfigError(f'--num-images must be >= 1, got {args.num_images}')
    mode = '--robustness' if args.robustness else '--granularity'
    clashes = [flag for flag, value in (('--attack', args.attack),
                                        ('--show-dir', args.show_dir),
                                        ('--out', args.out),
                                        ('--split', args.split != 'val'))
               if value]
    if clashes:
        raise ConfigError(f'{mode} evaluates its own entries (splits, attacks); drop '
                          f'{", ".join(clashes)}')


def run_robustness(cfg, args) -> dict:
    """Build the Runner (and the model) once, load the checkpoint, run the suite.

    The suite is read and checked first, so a malformed one fails before any model
    is built. Results go to ``cfg.work_dir``. With ``--launcher`` every rank runs
    the suite on its share of each unit's images (see
    :class:`~mmgat.evaluation.RobustnessSuite`).
    """
    check_robustness_args(args)
    if args.granularity:
        suite = granularity_suite(
            generator=generator_from_args(args.generator_config,
                                          args.generator_checkpoint),
            num_images=args.num_images)
        name, plot_files = 'granularity', dict(granularity='granularity.png')
    else:
        suite = load_suite(args.robustness)
        if args.num_images is not None:
            for entry in suite.entries:
                entry['num_images'] = args.num_images
        name, plot_files = 'robustness', None
    # The training attacks are not run (nor built: GAT's generator may be absent); the
    # suite still reads them from ``cfg`` to know what the model trained on.
    run_cfg = without_training_attacks(cfg)
    adapt_distributed(run_cfg, args.launcher)
    runner = (Runner.from_cfg(run_cfg) if 'runner_type' not in run_cfg
              else RUNNERS.build(run_cfg))
    runner.load_checkpoint(args.checkpoint, map_location='cpu')
    # Each rank attacks its own images: no gradient of the parameters is shared, so
    # the suite uses the module itself, not its DDP wrapper.
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    return RobustnessSuite(model, cfg, suite, cfg.work_dir, name=name,
                           config_path=args.config, checkpoint=args.checkpoint,
                           plot_files=plot_files,
                           autocast=getattr(args, 'amp', None)).run()


__all__ = ['run_robustness', 'check_robustness_args', 'generator_from_args',
           'default_generators', 'GENERATOR_FILES', 'EXIT_ENTRIES_FAILED']
