"""DigitScenes in the Cityscapes fine-annotation layout (read by mmseg's ``CityscapesDataset``).

Layout under ``--out`` (= the config's ``data_root``, upstream ``data/cityscapes/``)::

    leftImg8bit/train/aachen/aachen_000000_<index:06d>_leftImg8bit.png
    gtFine/train/aachen/aachen_000000_<index:06d>_gtFine_labelTrainIds.png  (what mmseg reads)
    gtFine/train/aachen/aachen_000000_<index:06d>_gtFine_labelIds.png       (official ids)
    leftImg8bit/val/frankfurt/...        gtFine/val/frankfurt/...
    leftImg8bit/val_ood/munster/...      gtFine/val_ood/munster/...   (extra split; absent if 0)
    meta.json                            DigitScenes marker (mmseg ignores it)

Labels (``labelTrainIds``, the 19 train ids): digit ``d`` -> train id ``d`` (0 road,
1 sidewalk, 2 building, 3 wall, 4 fence, 5 pole, 6 traffic light, 7 traffic sign,
8 vegetation, 9 terrain); every other pixel is train id 10 (sky), a real class rather
than 255 (ignore), so that a segmentor learns a background and mIoU counts it. The
``labelIds`` file holds the same map in Cityscapes' official label ids (road 7 ...
sky 23) for cityscapesscripts-based evaluation. Images are PNG, default 256 x 512
(H x W, Cityscapes' 1:2 aspect at a quarter of its 1024 x 2048 height).

Config example (the upstream ``cityscapes.py`` reads it unchanged)::

    # python tools/make_digitscenes.py --layout cityscapes --out data/cityscapes
    _base_ = 'mmseg::_base_/datasets/cityscapes.py'   # reads data/cityscapes/
"""
import os.path as osp

import numpy as np

from .base import LayoutWriter, makedirs, write_image

CITYSCAPES_CLASSES = ('road', 'sidewalk', 'building', 'wall', 'fence', 'pole', 'traffic light',
                      'traffic sign', 'vegetation', 'terrain')
BACKGROUND_TRAIN_ID = 10   # sky
# Official label ids of train ids 0..10 (road .. sky).
_LABEL_IDS = (7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23)
CITIES = dict(train='aachen', val='frankfurt', val_ood='munster')

# DigitScenes label (0 = background, digit d -> d + 1) -> train id / label id.
_TO_TRAIN_ID = np.full(256, 255, np.uint8)
_TO_TRAIN_ID[0] = BACKGROUND_TRAIN_ID
_TO_TRAIN_ID[1:11] = np.arange(10)
_TO_LABEL_ID = np.zeros(256, np.uint8)
_TO_LABEL_ID[0] = _LABEL_IDS[BACKGROUND_TRAIN_ID]
_TO_LABEL_ID[1:11] = _LABEL_IDS[:10]


def stem(split: str, index: int) -> str:
    return f'{CITIES[split]}_000000_{index:06d}'


class CityscapesLayout(LayoutWriter):
    """Cityscapes gtFine layout; see the module docstring."""
    name = 'cityscapes'
    dataset = 'Cityscapes'
    default_shape = (256, 512)
    default_root = 'data/cityscapes'
    classes = CITYSCAPES_CLASSES

    def prepare(self, root, counts):
        for split, n in counts.items():
            if n:
                makedirs(root, 'leftImg8bit', split, CITIES[split])
                makedirs(root, 'gtFine', split, CITIES[split])

    def write_scene(self, root, split, index, scene) -> None:
        name = stem(split, index)
        write_image(osp.join(root, 'leftImg8bit', split, CITIES[split],
                             f'{name}_leftImg8bit.png'), scene.image)
        gt = osp.join(root, 'gtFine', split, CITIES[split], name)
        write_image(f'{gt}_gtFine_labelTrainIds.png', _TO_TRAIN_ID[scene.label])
        write_image(f'{gt}_gtFine_labelIds.png', _TO_LABEL_ID[scene.label])

    def describe(self, counts):
        return dict(files={s: dict(img_path=f'leftImg8bit/{s}', seg_map_path=f'gtFine/{s}')
                           for s, n in counts.items() if n},
                    seg_labels='labelTrainIds: digit d -> train id d, background -> 10 (sky)')
