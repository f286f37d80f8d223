"""What tools/train.py and tools/test.py do to a config before building the Runner."""
import copy
import os
import os.path as osp
from datetime import timedelta

import torch
import torch.distributed as torch_dist
from mmengine.config import Config, ConfigDict

from .config_check import check_cfg_options
from .dataset_check import check_datasets_present

SAFE_CHECKPOINT_HOOK = 'mmgat.SafeCheckpointHook'


def load_config(path: str, cfg_options: dict = None) -> Config:
    """Read a config, check ``--cfg-options`` keys against it, then merge them.

    A real dataset (COCO, VOC, Cityscapes, ADE20K) the config names but that is absent
    stops here with one line saying how to write a stand-in
    (:mod:`mmgat.utils.dataset_check`).
    """
    if not osp.isfile(path):
        from .errors import ConfigError
        raise ConfigError(f"config file '{path}' does not exist")
    cfg = Config.fromfile(path)
    if cfg_options:
        check_cfg_options(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    check_datasets_present(cfg)
    return cfg


def set_work_dir(cfg: Config, work_dir: str, config_path: str) -> None:
    """CLI > config > ./work_dirs/<config name>, as in mmdet's tools."""
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])


def _is_safe_checkpoint_hook(hook) -> bool:
    kind = hook.get('type') if isinstance(hook, dict) else type(hook).__name__
    return kind in (SAFE_CHECKPOINT_HOOK, 'SafeCheckpointHook')


def ensure_safe_checkpoint_hook(cfg: Config) -> None:
    """Register :class:`mmgat.hooks.SafeCheckpointHook` exactly once.

    configs/_base_/default_runtime.py has it as ``default_hooks.safe_checkpoint``; a
    config with it in ``custom_hooks`` instead (an older or outside config) keeps it
    there. One in ``default_hooks`` drops further copies from ``custom_hooks``; a config
    with none (or ``default_hooks.safe_checkpoint=None``, which mmengine's Runner would
    reject for a key it does not define) gets ``default_hooks.safe_checkpoint``.
    """
    default_hooks = cfg.get('default_hooks')
    default_hooks = ConfigDict() if default_hooks is None else default_hooks
    custom_hooks = list(cfg.get('custom_hooks') or [])
    in_default = any(hook is not None and _is_safe_checkpoint_hook(hook)
                     for hook in default_hooks.values())
    if in_default:
        kept = [hook for hook in custom_hooks if not _is_safe_checkpoint_hook(hook)]
        if len(kept) < len(custom_hooks):
            cfg.custom_hooks = kept
    elif not any(_is_safe_checkpoint_hook(hook) for hook in custom_hooks):
        default_hooks['safe_checkpoint'] = ConfigDict(type=SAFE_CHECKPOINT_HOOK)
        cfg.default_hooks = default_hooks


def adapt_distributed(cfg: Config, launcher: str) -> None:
    """Make ``--launcher pytorch`` work on machines without CUDA.

    NCCL needs GPUs, so CPU runs use gloo; mmengine's default DDP wrapper pins
    ``device_ids=[LOCAL_RANK]``, which DDP rejects for a CPU module, and its
    ``init_dist`` calls ``torch.cuda.set_device``, which a CPU build of torch lacks.
    """
    if launcher == 'none' or torch.cuda.is_available():
        return
    env_cfg = cfg.setdefault('env_cfg', ConfigDict())
    dist_cfg = env_cfg.setdefault('dist_cfg', ConfigDict())
    dist_cfg['backend'] = 'gloo'
    wrapper = cfg.get('model_wrapper_cfg') or ConfigDict(
        type='MMDistributedDataParallel', broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    if launcher == 'pytorch' and not torch_dist.is_initialized():
        timeout = dist_cfg.get('timeout', 1800)
        torch_dist.init_process_group(backend='gloo', timeout=timedelta(seconds=timeout))


def set_local_rank_env(local_rank: int) -> None:
    """``torch.distributed.launch`` passes ``--local-rank``; torchrun sets the variable."""
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(local_rank)


def final_checkpoint(work_dir: str):
    """The checkpoint a finished run left in ``work_dir`` (``last_checkpoint`` names it),
    or None."""
    from .checkpoint_files import LAST_CHECKPOINT
    pointer = osp.join(work_dir, LAST_CHECKPOINT)
    if not osp.isfile(pointer):
        return None
    with open(pointer) as f:
        path = f.read().strip()
    return path if osp.isfile(path) else None


def without_training_attacks(cfg: Config) -> Config:
    """A copy of ``cfg`` without the AdversarialHooks that only act in training.

    Testing a model trained with an attack never runs that attack, but building the
    hook would still load what the attack needs (GAT's generator checkpoint), which
    whoever tests the model may not have. Hooks with a val / test phase stay.
    """
    from mmgat.hooks import parse_phase
    out = copy.deepcopy(cfg)
    kept = []
    for hook in out.get('custom_hooks') or []:
        kind = hook.get('type') if isinstance(hook, dict) else None
        if kind in ('mmgat.AdversarialHook', 'AdversarialHook') and not (
                {'val', 'test'} & parse_phase(hook.get('phase', 'train'))):
            continue
        kept.append(hook)
    out.custom_hooks = kept
    return out
