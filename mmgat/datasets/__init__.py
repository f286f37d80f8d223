"""Datasets: DigitScenes (synthetic digits for detection, segmentation, classification)."""
from .checked_dataset import CheckedDatasetMixin
from .digitscenes_cls import DigitScenesClsDataset
from .digitscenes_det import DigitScenesDetDataset
from .digitscenes_seg import DigitScenesSegDataset
from .digitscenes_writer import make_digitscenes

__all__ = ['CheckedDatasetMixin', 'DigitScenesDetDataset', 'DigitScenesSegDataset',
           'DigitScenesClsDataset', 'make_digitscenes']
