"""Attack config files: ``attack = dict(...)`` (and optionally ``victim = dict(...)``).

``tools/test.py --attack FILE`` and the suite's ``kind='attack'`` entries read them
here, e.g. ``configs/_base_/attacks/pgd-linf_eps8.py``.
"""
import os.path as osp
from typing import Optional, Tuple

from mmengine.config import Config

from mmgat.utils.errors import ConfigError
from mmgat.utils.plain_config import to_builtin


def load_attack_file(path: str) -> Tuple[dict, Optional[dict]]:
    """``(attack config, victim options or None)`` from an attack config file.

    Raises:
        ConfigError: the file is missing or defines no ``attack``.
    """
    if not osp.isfile(path):
        raise ConfigError(f"attack config file '{path}' does not exist")
    cfg = Config.fromfile(path)
    if 'attack' not in cfg:
        raise ConfigError(f"attack config file '{path}' defines no `attack = dict(...)`")
    victim = cfg.get('victim')
    return to_builtin(cfg.attack), (to_builtin(victim) if victim is not None else None)


__all__ = ['load_attack_file']
