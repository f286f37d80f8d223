"""Safe checkpoint loading for mmengine under torch>=2.6.

torch>=2.6 loads checkpoints with ``weights_only=True``, which refuses every pickled
global it does not know. mmengine checkpoints hold a few harmless ones (the message hub's
``HistoryBuffer`` with its numpy arrays), so stock mmengine cannot even load its own
checkpoints for ``tools/test.py`` or ``--resume``.

Importing this module replaces mmengine's loader for local files with one that keeps
``weights_only=True`` and allows exactly the globals listed in :data:`SAFE_GLOBALS`.
A checkpoint holding anything else is refused with :class:`UnsafeCheckpointError` naming
the offending objects; ``weights_only=False`` is never used. A file that is no PyTorch
checkpoint at all (a text file, random bytes), or one that is truncated (an interrupted
save), is refused with :class:`UnreadableCheckpointError` saying so instead.

What mmgat saves is kept inside that allowlist by
:class:`mmgat.hooks.SafeCheckpointHook`. Stock mmengine (and so stock mmdet / mmseg)
also pickles the message hub's statistics methods: pickle protocol 2 writes
``HistoryBuffer.mean`` as the call ``builtins.getattr(HistoryBuffer, 'mean')``. The real
``getattr`` can reach anything and is *not* allowlisted; in its place the loader
resolves that name to :func:`history_buffer_getattr`, which returns only those methods
(``min``, ``max``, ``current``, ``mean`` of a HistoryBuffer class) and refuses every
other call, so checkpoints written by stock mmengine's CheckpointHook load (``load_from``
of a model trained elsewhere, ``--resume``, ``tools/test.py``). A checkpoint holding
``getattr`` itself, not called, is still refused by name.
"""
import os
import os.path as osp
import pickle

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

from .checkpoint_files import checkpoint_problem
from .errors import UnreadableCheckpointError, UnsafeCheckpointError
from .safe_history_buffer import SafeHistoryBuffer


def _numpy_globals():
    """Numpy callables needed to rebuild plain arrays, dtypes and scalars.

    They only construct data (no attribute lookup, no imports), which is why torch's own
    documentation suggests allowlisting them for numpy content.
    """
    # numpy 2 moved numpy.core to numpy._core; pickles name whichever wrote them.
    if int(np.__version__.split('.')[0]) >= 2:
        from numpy._core import multiarray
    else:
        from numpy.core import multiarray
    items = [multiarray._reconstruct, multiarray.scalar, np.ndarray, np.dtype]
    # numpy>=1.25 pickles dtypes by their class (numpy.dtypes.Float64DType, ...).
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        items += [getattr(dtypes, name) for name in dir(dtypes)
                  if name.endswith('DType') and isinstance(getattr(dtypes, name), type)]
    return items


#: Everything a checkpoint may contain besides tensors, containers and Python scalars.
SAFE_GLOBALS = [HistoryBuffer, SafeHistoryBuffer] + _numpy_globals()

#: The HistoryBuffer methods stock mmengine pickles as ``getattr(HistoryBuffer, name)``
#: (its default statistics, ``HistoryBuffer._set_default_statistics``).
HISTORY_BUFFER_METHODS = ('min', 'max', 'current', 'mean')


def history_buffer_getattr(obj, name):
    """What ``builtins.getattr`` means while a checkpoint is unpickled: only
    ``getattr(<HistoryBuffer class>, <statistics method name>)``.

    Raises:
        UnsafeCheckpointError: any other object or attribute.
    """
    if isinstance(obj, type) and issubclass(obj, HistoryBuffer) \
            and name in HISTORY_BUFFER_METHODS:
        return getattr(obj, name)
    what = getattr(obj, '__qualname__', type(obj).__name__)
    raise UnsafeCheckpointError(
        f'it calls builtins.getattr({what}, {name!r}); only the statistics methods '
        f'{HISTORY_BUFFER_METHODS} of mmengine.logging.HistoryBuffer may be looked up '
        'that way')


#: What torch's weights-only unpickler is allowed to rebuild, with ``builtins.getattr``
#: resolved to :func:`history_buffer_getattr`.
_LOAD_GLOBALS = SAFE_GLOBALS + [(history_buffer_getattr, 'builtins.getattr')]


def _holds_bare_getattr(obj, depth=0) -> bool:
    """Whether the loaded ``obj`` holds the getattr stand-in itself (not its result)."""
    if obj is history_buffer_getattr:
        return True
    if depth > 12 or isinstance(obj, (torch.Tensor, np.ndarray, str, bytes, int, float)):
        return False
    if isinstance(obj, dict):
        return any(_holds_bare_getattr(v, depth + 1) for v in obj.values())
    if isinstance(obj, (list, tuple, set, frozenset)):
        return any(_holds_bare_getattr(v, depth + 1) for v in obj)
    if isinstance(obj, HistoryBuffer):
        return _holds_bare_getattr(vars(obj), depth + 1)
    return False


def _global_name(obj):
    return f'{obj.__module__}.{obj.__qualname__}'


_SAFE_NAMES = {_global_name(g) for g in SAFE_GLOBALS}


def _unsafe_globals(source):
    try:
        names = torch.serialization.get_unsafe_globals_in_checkpoint(source)
    except Exception:  # not a zip checkpoint: fall back to torch's own message
        return []
    return sorted(n for n in names if n not in _SAFE_NAMES)


# What pickle says about bytes that are no (complete) pickle.
_DAMAGED = ('invalid load key', 'truncated', 'stack underflow', 'ran out of input')


def safe_torch_load(filename, map_location=None):
    """``torch.load(filename, weights_only=True)`` with mmgat's allowlist.

    Raises:
        UnsafeCheckpointError: the file pickles an object outside :data:`SAFE_GLOBALS`.
        UnreadableCheckpointError: the file is no PyTorch checkpoint, or it is truncated
            or corrupt.
    """
    is_path = isinstance(filename, (str, os.PathLike))
    if is_path and osp.isfile(filename):  # a missing file stays torch's FileNotFoundError
        problem = checkpoint_problem(filename)  # first bytes and zip directory only
        if problem is not None:
            raise UnreadableCheckpointError(problem)
    try:
        with torch.serialization.safe_globals(_LOAD_GLOBALS):
            loaded = torch.load(filename, map_location=map_location, weights_only=True)
    except UnsafeCheckpointError as e:  # history_buffer_getattr refused a call
        raise UnsafeCheckpointError(
            f"refusing to load checkpoint '{filename}': {e}") from None
    except RuntimeError as e:
        # torch's zip reader: a damaged archive (e.g. a record cut short).
        if not is_path or 'PytorchStreamReader' not in str(e):
            raise
        reason = str(e).strip().splitlines()[0].split('. ')[0]  # not miniz's advice
        raise UnreadableCheckpointError(
            f'cannot read checkpoint {filename}: it is truncated or corrupt '
            f'({reason})') from None
    except pickle.UnpicklingError as e:
        offending = _unsafe_globals(filename)
        if is_path and not offending and any(m in str(e).lower() for m in _DAMAGED):
            # No disallowed object: the pickle itself is damaged.
            reason = str(e).strip().splitlines()[-1]
            raise UnreadableCheckpointError(
                f'cannot read checkpoint {filename}: it is corrupt ({reason})') from None
        what = ', '.join(offending) if offending else str(e).strip().splitlines()[-1]
        raise UnsafeCheckpointError(
            f"refusing to load checkpoint '{filename}': it contains pickled objects "
            f'outside the allowlist of mmgat.utils.compat.SAFE_GLOBALS: {what}. '
            'Loading them could run arbitrary code. If you trust the file, re-save its '
            "tensors only (e.g. torch.save({'state_dict': ...})) and load that.") from None
    if _holds_bare_getattr(loaded):
        raise UnsafeCheckpointError(
            f"refusing to load checkpoint '{filename}': it contains builtins.getattr "
            'itself (not one of the HistoryBuffer lookups stock mmengine pickles), which '
            'could call anything.')
    return loaded


def _load_from_local(filename, map_location=None):
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return safe_torch_load(filename, map_location=map_location)


def install_safe_checkpoint_loader():
    """Make mmengine load local checkpoints through :func:`safe_torch_load`."""
    CheckpointLoader.register_scheme(prefixes='', loader=_load_from_local, force=True)


install_safe_checkpoint_loader()
