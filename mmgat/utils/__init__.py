from .compat import SAFE_GLOBALS, install_safe_checkpoint_loader, safe_torch_load
from .errors import (ConfigError, CorruptImageError, DataNotFoundError, MmgatError,
                     UnsafeCheckpointError)

__all__ = ['SAFE_GLOBALS', 'install_safe_checkpoint_loader', 'safe_torch_load',
           'MmgatError', 'ConfigError', 'CorruptImageError', 'DataNotFoundError',
           'UnsafeCheckpointError']
