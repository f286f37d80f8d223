"""Split names -> the config's dataloaders and evaluators: the one table.

``val`` is what ``tools/test.py`` evaluates (the config's ``test_dataloader``), as
suite entries do; the universal kind's ``train_split`` and ``tools/compute_universal.py
--split`` sample from :data:`SPLIT_DATALOADERS` (where ``val`` is the validation
loader, ``test`` the test loader).
"""
from typing import Tuple

from mmgat.utils.errors import ConfigError

#: Splits an evaluation (a suite entry, ``tools/test.py --split``) may name ->
#: (dataloader key, evaluator key, fallback evaluator key).
EVAL_SPLITS = {
    'val': ('test_dataloader', 'test_evaluator', 'val_evaluator'),
    'val_ood': ('ood_test_dataloader', 'ood_test_evaluator', 'test_evaluator'),
}
#: Splits sampled for training-time computations (sPGD) -> dataloader key.
SPLIT_DATALOADERS = {
    'train': 'train_dataloader',
    'val': 'val_dataloader',
    'test': 'test_dataloader',
    'val_ood': 'ood_test_dataloader',
}


def eval_keys(split: str) -> Tuple[str, str, str]:
    """``(dataloader, evaluator, fallback evaluator)`` keys of an evaluation split."""
    if split not in EVAL_SPLITS:
        raise ConfigError(f'unknown split {split!r}; expected one of {tuple(EVAL_SPLITS)}')
    return EVAL_SPLITS[split]


def use_split_for_testing(cfg, split: str) -> None:
    """Point ``cfg.test_dataloader`` / ``test_evaluator`` at ``split`` (in place)."""
    loader, evaluator, fallback = eval_keys(split)
    if loader == 'test_dataloader':
        return
    if loader not in cfg:
        raise ConfigError(f"--split {split}: the config has no '{loader}'")
    cfg.test_dataloader = cfg[loader]
    cfg.test_evaluator = cfg.get(evaluator, cfg.get(fallback))


__all__ = ['EVAL_SPLITS', 'SPLIT_DATALOADERS', 'eval_keys', 'use_split_for_testing']
