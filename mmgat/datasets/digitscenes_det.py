"""DigitScenes detection / instance segmentation dataset (COCO format)."""
from mmdet.datasets import CocoDataset

from mmgat.registry import DATASETS
from .checked_dataset import CheckedDatasetMixin

DIGIT_CLASSES = tuple(str(d) for d in range(10))
# One colour per digit (tab10), used by visualizers.
DIGIT_PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40),
                 (148, 103, 189), (140, 86, 75), (227, 119, 194), (127, 127, 127),
                 (188, 189, 34), (23, 190, 207)]
GENERATE_HINT = 'python tools/make_digitscenes.py --out {data_root}'


@DATASETS.register_module()
class DigitScenesDetDataset(CheckedDatasetMixin, CocoDataset):
    """Digits 0-9 on textured backgrounds, as COCO boxes and instance masks.

    Category ``id = digit + 1`` and name ``str(digit)``. Boxes are the full glyphs; masks
    (RLE) and areas are their visible pixels. Images carry the extra keys ``background``
    and ``hue_family``. Generate the data with ``tools/make_digitscenes.py``.

    Example config (``default_scope='mmdet'``)::

        train_dataloader = dict(
            batch_size=8,
            dataset=dict(
                type='mmgat.DigitScenesDetDataset',
                data_root='data/digitscenes/',
                ann_file='annotations/train.json',
                data_prefix=dict(img='images/train/'),
                filter_cfg=dict(filter_empty_gt=True, min_size=4),
                pipeline=[
                    dict(type='LoadImageFromFile'),
                    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
                    dict(type='PackDetInputs'),
                ]))
    """

    METAINFO = dict(classes=DIGIT_CLASSES, palette=DIGIT_PALETTE)
    DATA_NAME = 'DigitScenes'
    GENERATE_HINT = GENERATE_HINT
