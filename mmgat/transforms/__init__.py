"""Data transforms registered in mmgat's ``TRANSFORMS`` registry."""
from .corrupt import Corrupt  # noqa: F401
from .loading import LoadForegroundMask
from .pack_cls_inputs import PackClsInputs
from .random_affine import RandomAffineWarp
from .universal import ApplyUniversalPerturbation  # noqa: F401

__all__ = ['LoadForegroundMask', 'PackClsInputs', 'RandomAffineWarp']
