from .compat import SAFE_GLOBALS, install_safe_checkpoint_loader, safe_torch_load
from .errors import (ConfigError, CorruptAnnotationError, CorruptImageError,
                     DataNotFoundError, MmgatError, UnreadableCheckpointError,
                     UnsafeCheckpointError)

__all__ = ['SAFE_GLOBALS', 'install_safe_checkpoint_loader', 'safe_torch_load',
           'MmgatError', 'ConfigError', 'CorruptAnnotationError', 'CorruptImageError',
           'DataNotFoundError', 'UnreadableCheckpointError', 'UnsafeCheckpointError']
