"""Data transforms registered in mmgat's ``TRANSFORMS`` registry."""
from .loading import LoadForegroundMask
from .pack_cls_inputs import PackClsInputs

__all__ = ['LoadForegroundMask', 'PackClsInputs']
