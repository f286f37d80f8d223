"""Data structures shared by mmgat's classification pipeline, models and metrics."""
from .cls_data_sample import ClsDataSample

__all__ = ['ClsDataSample']
