"""Errors mmgat raises for problems with the user's input.

The tools catch :class:`MmgatError` at the top level and print its message without a
traceback. Every class takes a single message argument, because mmengine's
``build_from_cfg`` and PyTorch's dataloader workers re-create exceptions as
``type(e)(message)``.
"""


class MmgatError(Exception):
    """Base class: a problem with the user's input that the message explains."""


class DataNotFoundError(MmgatError, FileNotFoundError):
    """A dataset folder or annotation file is missing."""


class CorruptImageError(MmgatError, ValueError):
    """An image (or label map) file exists but cannot be decoded."""


class ConfigError(MmgatError, ValueError):
    """A config value or key is invalid."""


class CorruptAnnotationError(MmgatError, ValueError):
    """An annotation file exists but cannot be parsed (e.g. JSON cut in the middle)."""


class UnsafeCheckpointError(MmgatError):
    """A checkpoint holds a pickled object outside mmgat's allowlist."""


class UnreadableCheckpointError(MmgatError):
    """A file given as a checkpoint is not one, or is truncated or corrupt."""
