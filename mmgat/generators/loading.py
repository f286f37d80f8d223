"""Build a trained generator from its config and checkpoint (cached)."""
import copy
import os.path as osp
from typing import Optional, Union

import torch
from mmengine.config import Config
from mmengine.runner.checkpoint import load_checkpoint

from mmgat.registry import MODELS
from mmgat.utils.errors import ConfigError

_CACHE = {}


def _config_key(config):
    if isinstance(config, str):
        path = osp.abspath(config)
        return ('file', path, osp.getmtime(path) if osp.isfile(path) else None)
    return ('dict', repr(sorted(dict(config).items(), key=lambda kv: kv[0])))


def _model_cfg(config):
    if isinstance(config, str):
        if not osp.isfile(config):
            raise ConfigError(f"generator config '{config}' does not exist")
        cfg = Config.fromfile(config)
    else:
        cfg = Config(copy.deepcopy(dict(config)))
    if 'model' in cfg:
        model = cfg.model
    elif 'type' in cfg:  # the model dict itself
        model = cfg
    else:
        raise ConfigError("generator config has no 'model' field")
    model = copy.deepcopy(dict(model))
    return model


def load_generator(config: Union[str, dict], checkpoint: str,
                   device: Optional[Union[str, torch.device]] = None):
    """The generator of ``config`` (file or dict with a ``model`` field) with the weights
    and statistics of ``checkpoint``, in eval mode with ``requires_grad=False``.

    The checkpoint is loaded with mmengine's ``load_checkpoint``, i.e. through mmgat's
    safe loader (``weights_only=True``). Results are cached per (config, checkpoint
    path and modification time, device), so building many attacks is cheap; callers
    must not modify the returned model.

    Example:
        >>> gen = load_generator('configs/generators/style-ae_digitscenes.py',
        ...                      'work_dirs/style-ae_digitscenes/generator.pth')
    """
    if not isinstance(checkpoint, str) or not osp.isfile(checkpoint):
        what = config if isinstance(config, str) else 'CONFIG'
        raise ConfigError(f"generator checkpoint '{checkpoint}' does not exist; train it "
                          f'with: python tools/train_generator.py {what}')
    device = torch.device(device) if device is not None else torch.device('cpu')
    ckpt = osp.abspath(checkpoint)
    key = (_config_key(config), ckpt, osp.getmtime(ckpt), str(device))
    if key in _CACHE:
        return _CACHE[key]
    import mmgat  # noqa: F401  (registers the model, installs the safe loader)
    model = MODELS.build(_model_cfg(config))
    try:
        load_checkpoint(model, ckpt, map_location='cpu', strict=True, logger='silent')
    except RuntimeError as e:  # e.g. weights of another architecture or version
        what = config if isinstance(config, str) else 'CONFIG'
        first = str(e).strip().splitlines()[0]
        raise ConfigError(f"generator checkpoint '{checkpoint}' does not fit the "
                          f'generator config ({first}); retrain it with: python '
                          f'tools/train_generator.py {what}') from None
    model.to(device)
    model.eval()
    model.requires_grad_(False)
    _CACHE[key] = model
    return model


def clear_generator_cache() -> None:
    """Forget every generator :func:`load_generator` has built."""
    _CACHE.clear()
