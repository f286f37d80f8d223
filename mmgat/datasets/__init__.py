"""Datasets: DigitScenes (synthetic digits for detection, segmentation, classification).

The scenes can also be written in the COCO / VOC / Cityscapes / ADE20K layouts
(:mod:`mmgat.datasets.layouts`), read by the upstream dataset classes unchanged.
"""
from .checked_dataset import CheckedDatasetMixin
from .digitscenes_cls import DigitScenesClsDataset
from .digitscenes_det import DigitScenesDetDataset
from .digitscenes_seg import DigitScenesSegDataset
from .digitscenes_writer import make_digitscenes
from .layouts import write_layout

__all__ = ['CheckedDatasetMixin', 'DigitScenesDetDataset', 'DigitScenesSegDataset',
           'DigitScenesClsDataset', 'make_digitscenes', 'write_layout']
