"""DigitScenes semantic segmentation dataset (mmseg folder layout)."""
from mmseg.datasets import BaseSegDataset

from mmgat.registry import DATASETS
from .checked_dataset import CheckedDatasetMixin
from .digitscenes_det import DIGIT_CLASSES, DIGIT_PALETTE, GENERATE_HINT


@DATASETS.register_module()
class DigitScenesSegDataset(CheckedDatasetMixin, BaseSegDataset):
    """Per-pixel digit labels: 0 = background, digit ``d`` -> ``d + 1`` (11 classes).

    Label maps are single-channel uint8 PNGs with the same stems as the images; where
    digits overlap, the one drawn last (on top) owns the pixel.

    Example config (``default_scope='mmseg'``)::

        train_dataloader = dict(
            batch_size=8,
            dataset=dict(
                type='mmgat.DigitScenesSegDataset',
                data_root='data/digitscenes/',
                data_prefix=dict(img_path='images/train', seg_map_path='seg_maps/train'),
                pipeline=[
                    dict(type='LoadImageFromFile'),
                    dict(type='LoadAnnotations'),
                    dict(type='PackSegInputs'),
                ]))
    """

    METAINFO = dict(classes=('background', ) + DIGIT_CLASSES,
                    palette=[(0, 0, 0)] + DIGIT_PALETTE)
    DATA_NAME = 'DigitScenes'
    GENERATE_HINT = GENERATE_HINT

    def __init__(self, img_suffix: str = '.png', seg_map_suffix: str = '.png',
                 reduce_zero_label: bool = False, **kwargs) -> None:
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix,
                         reduce_zero_label=reduce_zero_label, **kwargs)
