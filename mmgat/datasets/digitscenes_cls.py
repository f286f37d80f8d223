"""DigitScenes classification dataset: one digit per image, with a foreground mask."""
import os.path as osp
from typing import List

from mmengine.dataset import BaseDataset

from mmgat.registry import DATASETS
from .checked_dataset import CheckedDatasetMixin
from .digitscenes_det import DIGIT_CLASSES, GENERATE_HINT


@DATASETS.register_module()
class DigitScenesClsDataset(CheckedDatasetMixin, BaseDataset):
    """10-class digit images in mmengine's annotation format (``metainfo`` + ``data_list``).

    Each sample has an absolute ``img_path`` and ``mask_path`` (uint8 PNG, 255 = digit,
    0 = background) and an int ``gt_label``, plus the strings ``background`` and
    ``hue_family``. ``data_prefix`` should name both folders.

    Example config (``default_scope='mmgat'``)::

        train_dataloader = dict(
            batch_size=64,
            dataset=dict(
                type='mmgat.DigitScenesClsDataset',
                data_root='data/digitscenes/',
                ann_file='cls/train.json',
                data_prefix=dict(img_path='cls/images/train', mask_path='cls/masks/train'),
                pipeline=[
                    dict(type='LoadImageFromFile'),
                    dict(type='LoadForegroundMask'),
                    dict(type='PackClsInputs'),
                ]))
    """

    METAINFO = dict(classes=DIGIT_CLASSES)
    DATA_NAME = 'DigitScenes'
    GENERATE_HINT = GENERATE_HINT

    def __init__(self, ann_file: str = '', data_root=None,
                 data_prefix: dict = dict(img_path='', mask_path=''), **kwargs) -> None:
        super().__init__(ann_file=ann_file, data_root=data_root, data_prefix=data_prefix,
                         **kwargs)

    def parse_data_info(self, raw_data_info: dict) -> dict:
        info = dict(raw_data_info)
        for key, prefix in self.data_prefix.items():
            if info.get(key) is not None:
                info[key] = osp.abspath(osp.join(prefix, info[key]))
        info['gt_label'] = int(info['gt_label'])
        return info

    def get_cat_ids(self, idx: int) -> List[int]:
        """The sample's class, for class-aware samplers / ClassBalancedDataset."""
        return [int(self.get_data_info(idx)['gt_label'])]
