"""DigitScenes in the ADEChallengeData2016 layout (read by mmseg's ``ADE20KDataset``).

Layout under ``--out`` (= the config's ``data_root``, upstream
``data/ade/ADEChallengeData2016``)::

    images/training/ADE_train_<index + 1:08d>.jpg
    annotations/training/ADE_train_<index + 1:08d>.png
    images/validation/ADE_val_<index + 1:08d>.jpg             annotations/validation/...
    images/validation_ood/ADE_val_ood_<index + 1:08d>.jpg     annotations/validation_ood/...
                                                  (extra split for val_ood; absent if 0)
    meta.json                                     DigitScenes marker (mmseg ignores it)

Labels follow ADE20K's png convention: 0 = "other" (ignored, mmseg's
``reduce_zero_label=True`` turns it into 255) and ``k`` = class ``k - 1`` of the 150.
Digit ``d`` is stored as ``d + 1``, i.e. class ``d`` (0 wall, 1 building, 2 sky, 3 floor,
4 tree, 5 ceiling, 6 road, 7 bed, 8 windowpane, 9 grass); every other pixel is stored as
11, class 10 (cabinet), a real class rather than 0, so that a segmentor learns a
background and mIoU counts it. (Cityscapes uses the same rule: background = the first
class after the ten digit classes.) Images are JPEG (quality 95), default 256 x 256.

Config example (the upstream ``ade20k.py`` reads it unchanged)::

    # python tools/make_digitscenes.py --layout ade20k --out data/ade/ADEChallengeData2016
    _base_ = 'mmseg::_base_/datasets/ade20k.py'   # reads data/ade/ADEChallengeData2016
"""
import os.path as osp

import numpy as np

from .base import LayoutWriter, makedirs, write_image

# As mmseg spells them (its 'bed ' has a trailing space).
ADE20K_CLASSES = ('wall', 'building', 'sky', 'floor', 'tree', 'ceiling', 'road', 'bed ',
                  'windowpane', 'grass')
BACKGROUND_CLASS = 10   # cabinet; stored as 11 in the png
SPLIT_DIRS = dict(train='training', val='validation', val_ood='validation_ood')
PREFIXES = dict(train='ADE_train', val='ADE_val', val_ood='ADE_val_ood')

# DigitScenes label (0 = background, digit d -> d + 1) -> ADE png value (class + 1).
_TO_PNG = np.zeros(256, np.uint8)
_TO_PNG[0] = BACKGROUND_CLASS + 1
_TO_PNG[1:11] = np.arange(1, 11)


class Ade20kLayout(LayoutWriter):
    """ADEChallengeData2016 layout; see the module docstring."""
    name = 'ade20k'
    dataset = 'ADE20K'
    default_shape = (256, 256)
    default_root = 'data/ade/ADEChallengeData2016'
    classes = ADE20K_CLASSES

    def prepare(self, root, counts):
        for split, n in counts.items():
            if n:
                makedirs(root, 'images', SPLIT_DIRS[split])
                makedirs(root, 'annotations', SPLIT_DIRS[split])

    def write_scene(self, root, split, index, scene) -> None:
        name = f'{PREFIXES[split]}_{index + 1:08d}'
        write_image(osp.join(root, 'images', SPLIT_DIRS[split], f'{name}.jpg'), scene.image)
        write_image(osp.join(root, 'annotations', SPLIT_DIRS[split], f'{name}.png'),
                    _TO_PNG[scene.label])

    def describe(self, counts):
        return dict(files={s: dict(img_path=f'images/{SPLIT_DIRS[s]}',
                                   seg_map_path=f'annotations/{SPLIT_DIRS[s]}')
                           for s, n in counts.items() if n},
                    seg_labels='png: 0 = ignore, digit d -> d + 1 (class d), '
                               'background -> 11 (class 10, cabinet)')
