"""Keep what mmengine saves loadable with ``weights_only=True``."""
from collections import OrderedDict

import numpy as np
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer

from mmgat.registry import HOOKS
from mmgat.utils.safe_history_buffer import SafeHistoryBuffer


def to_plain_python(obj):
    """Return ``obj`` with numpy scalars turned into Python numbers, recursively.

    Containers are rebuilt (the runner's live objects are not modified); tensors, arrays
    and everything else are returned as they are.
    """
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, HistoryBuffer) and not isinstance(obj, SafeHistoryBuffer):
        return SafeHistoryBuffer.from_buffer(obj)
    if isinstance(obj, OrderedDict):
        return OrderedDict((k, to_plain_python(v)) for k, v in obj.items())
    if isinstance(obj, dict):
        return {k: to_plain_python(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [to_plain_python(v) for v in obj]
    if isinstance(obj, tuple) and not hasattr(obj, '_fields'):
        return tuple(to_plain_python(v) for v in obj)
    return obj


@HOOKS.register_module()
class SafeCheckpointHook(Hook):
    """Rewrite each checkpoint so that it loads under ``weights_only=True``.

    Numpy scalars (metrics, runtime info) become Python numbers and the message hub's
    history buffers become :class:`SafeHistoryBuffer`, whose pickle holds no
    ``builtins.getattr``. Everything then lies inside
    :data:`mmgat.utils.compat.SAFE_GLOBALS`, and ``--resume`` works on torch>=2.6 without
    ``weights_only=False``.

    mmgat's runtime config has it in ``default_hooks`` (so lists from ``_base_`` never
    need to repeat it), and ``tools/train.py`` adds it when a config lacks it. With
    another train script and config, add it the same way:

    Example:
        >>> default_hooks = dict(safe_checkpoint=dict(type='mmgat.SafeCheckpointHook'))
    """

    # Run after every other hook that may still add entries to the checkpoint.
    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        for key in list(checkpoint):
            if key not in ('state_dict', 'optimizer'):  # tensors only: nothing to do
                checkpoint[key] = to_plain_python(checkpoint[key])
