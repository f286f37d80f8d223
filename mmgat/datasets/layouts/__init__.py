"""DigitScenes written in the folder layouts of real datasets (COCO, VOC, Cityscapes, ADE20K).

The upstream dataset classes (mmdet's ``CocoDataset`` / ``VOCDataset``, mmseg's
``CityscapesDataset`` / ``ADE20KDataset``) and the upstream dataset configs read the
output unchanged: point the config's ``data_root`` at ``out``. Digits 0-9 become the
first ten classes of the dataset; each layout module documents its files and labels.
The scenes are those of the default DigitScenes writer (same renderer and seeds), and
``out`` is replaced atomically like there (a folder that is not DigitScenes is refused).

Splits: ``train`` and ``val`` go where the upstream configs train and test; ``val_ood``
(out-of-distribution backgrounds and hues) is written as an extra split in the
dataset's own naming style (e.g. COCO ``val_ood2017``), or not at all when its count is 0.

Example:
    >>> from mmgat.datasets.layouts import write_layout
    >>> write_layout('cityscapes', 'data/cityscapes', num_train=100, num_val=20)   # 256 x 512
    >>> write_layout('coco', '/tmp/coco', size=64, num_train=4, num_val=3, num_val_ood=0)
"""
from typing import Dict, Optional, Tuple, Type

from .ade20k import Ade20kLayout
from .base import MIN_SIDE, LayoutWriter, check_counts
from .cityscapes import CityscapesLayout
from .coco import CocoLayout
from .voc import VocLayout

LAYOUTS: Dict[str, Type[LayoutWriter]] = {
    cls.name: cls for cls in (CocoLayout, VocLayout, CityscapesLayout, Ade20kLayout)}


def layout_shape(layout: str, size: Optional[int] = None, height: Optional[int] = None,
                 width: Optional[int] = None) -> Tuple[int, int]:
    """``(height, width)`` of the scenes of ``layout``.

    ``height`` / ``width`` win; otherwise ``size`` gives a square (for Cityscapes,
    ``size`` x ``2 * size``, its aspect); otherwise the layout's default (256 x 256,
    Cityscapes 256 x 512).
    """
    writer = _writer_class(layout)
    if size is not None:
        base = (size, 2 * size) if writer.default_shape[1] == 2 * writer.default_shape[0] \
            else (size, size)
    else:
        base = writer.default_shape
    shape = (int(height if height is not None else base[0]),
             int(width if width is not None else base[1]))
    if min(shape) < MIN_SIDE:
        raise ValueError(f'scene height and width must be >= {MIN_SIDE}, got '
                         f'{shape[0]} x {shape[1]}')
    return shape


def _writer_class(layout: str) -> Type[LayoutWriter]:
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; expected one of {', '.join(LAYOUTS)}")
    return LAYOUTS[layout]


def write_layout(layout: str, out: str, size: Optional[int] = None,
                 height: Optional[int] = None, width: Optional[int] = None,
                 num_train: int = 2000, num_val: int = 300, num_val_ood: Optional[int] = None,
                 seed: int = 0, workers: int = 1, progress: bool = False) -> str:
    """Write DigitScenes in ``layout`` ('coco', 'voc', 'cityscapes', 'ade20k') to ``out``.

    Returns the absolute output path. Sizes as :func:`layout_shape`; ``num_val_ood``
    defaults to ``num_val``. Raises ``ValueError`` on bad arguments and
    ``FileExistsError`` when ``out`` holds something that is not DigitScenes. The bytes
    depend only on the arguments (not on ``workers``).
    """
    writer = _writer_class(layout)()
    shape = layout_shape(layout, size, height, width)
    counts = check_counts(num_train, num_val, num_val_ood, seed)
    return writer.write(out, shape, counts, seed=seed, workers=workers, progress=progress)


__all__ = ['LAYOUTS', 'LayoutWriter', 'layout_shape', 'write_layout', 'CocoLayout',
           'VocLayout', 'CityscapesLayout', 'Ade20kLayout']
