"""Stop a real-scale config whose dataset is absent with one line, before anything runs.

mmdet's ``CocoDataset`` / ``VOCDataset`` and mmseg's ``CityscapesDataset`` /
``ADE20KDataset`` fail deep inside pycocotools, mmengine's file listing or the first
dataloader worker when their data was never downloaded. :func:`check_datasets_present`
(called by :func:`mmgat.utils.runner_setup.load_config`, i.e. by every mmgat tool)
looks at the datasets of a config's dataloaders instead and raises
:class:`~mmgat.utils.errors.ConfigError`::

    COCO dataset not found: data/coco/annotations/instances_train2017.json does not
    exist; write a DigitScenes stand-in with: python tools/make_digitscenes.py --layout
    coco --out data/coco (or set MMGAT_DATA_ROOT)

(one line). A dataset counts as absent when *none* of the files the config names under
its ``data_root`` exists (annotation files, or the first ``data_prefix`` folder of a
dataset without one): a machine with only the validation split (enough for
``tools/test.py``) passes, and what a partial download lacks is left to the dataset's
own error. Wrappers (``ConcatDataset``, ``RepeatDataset``, ``ClassBalancedDataset``,
...: any dict with ``dataset`` / ``datasets``) are looked into; other dataset types
(DigitScenes checks itself, :mod:`mmgat.datasets.checked_dataset`) and remote paths
(``s3://``...) are not checked.

Example:
    >>> cfg = Config.fromfile('configs/clean/faster-rcnn_r50_fpn_clean_1x_coco.py')
    >>> check_datasets_present(cfg)   # ConfigError when data/coco holds none of it
"""
import os.path as osp
from typing import Iterator, List, Optional, Tuple

from .errors import ConfigError

#: Dataset type (without registry scope) -> (name in the message, --layout of
#: tools/make_digitscenes.py).
REAL_DATASETS = {
    'CocoDataset': ('COCO', 'coco'),
    'VOCDataset': ('Pascal VOC', 'voc'),
    'CityscapesDataset': ('Cityscapes', 'cityscapes'),
    'ADE20KDataset': ('ADE20K', 'ade20k'),
}
#: Config keys whose ``dataset`` is checked, in the order their files are named.
DATALOADER_KEYS = ('train_dataloader', 'val_dataloader', 'test_dataloader',
                   'ood_test_dataloader')


def _type_name(dataset: dict) -> str:
    kind = dataset.get('type', '')
    return kind.split('.')[-1] if isinstance(kind, str) else getattr(kind, '__name__', '')


def _leaf_datasets(dataset) -> Iterator[dict]:
    """The dataset dicts inside ``dataset`` (itself, or those its wrappers hold)."""
    if not isinstance(dataset, dict):
        return
    inner = dataset.get('datasets')
    if isinstance(inner, (list, tuple)):
        for item in inner:
            yield from _leaf_datasets(item)
        return
    if isinstance(dataset.get('dataset'), dict):
        yield from _leaf_datasets(dataset['dataset'])
        return
    yield dataset


def _join(root: str, path: str) -> str:
    return path if not root or osp.isabs(path) else osp.join(root, path)


def _named_files(dataset: dict) -> List[str]:
    """The files / folders a dataset dict names (annotation file, else image folder)."""
    root = dataset.get('data_root') or ''
    ann_file = dataset.get('ann_file') or ''
    if ann_file:
        return [_join(root, ann_file)]
    prefix = dataset.get('data_prefix') or {}
    for value in prefix.values():
        if isinstance(value, str) and value:
            return [_join(root, value)]
    return [root] if root else []


def _message(name: str, layout: str, root: str, missing: str) -> str:
    out = root.rstrip('/') or '.'
    return (f'{name} dataset not found: {missing} does not exist; write a DigitScenes '
            f'stand-in with: python tools/make_digitscenes.py --layout {layout} '
            f'--out {out} (or set MMGAT_DATA_ROOT)')


def absent_dataset(cfg) -> Optional[Tuple[str, str, str, str]]:
    """``(name, layout, data_root, first missing path)`` of the first real dataset of
    ``cfg`` with none of its files present, or None."""
    groups = {}  # (type, data_root) -> files, in dataloader order
    for key in DATALOADER_KEYS:
        loader = cfg.get(key)
        if not isinstance(loader, dict):
            continue
        for dataset in _leaf_datasets(loader.get('dataset')):
            kind = _type_name(dataset)
            if kind not in REAL_DATASETS:
                continue
            root = dataset.get('data_root') or ''
            files = [f for f in _named_files(dataset) if '://' not in f]
            groups.setdefault((kind, root), []).extend(files)
    for (kind, root), files in groups.items():
        if files and not any(osp.exists(f) for f in files):
            name, layout = REAL_DATASETS[kind]
            return name, layout, root, files[0]
    return None


def check_datasets_present(cfg) -> None:
    """Raise :class:`ConfigError` (one line: dataset, path, the command that writes a
    stand-in) if a real dataset of ``cfg`` is absent; see the module docstring."""
    found = absent_dataset(cfg)
    if found is not None:
        name, layout, root, missing = found
        raise ConfigError(_message(name, layout, root, missing))


__all__ = ['REAL_DATASETS', 'absent_dataset', 'check_datasets_present']
