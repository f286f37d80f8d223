"""Config values as plain Python: for JSON and hashing (:func:`plain`) or for builders
that need tuples (:func:`to_builtin`)."""
import copy
import numbers
from typing import Any

from mmengine.config import ConfigDict


def plain(obj: Any) -> Any:
    """ConfigDicts / tuples -> plain dicts / lists (JSON-ready, for hashing and output)."""
    if isinstance(obj, (ConfigDict, dict)):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        return float(obj)
    return repr(obj)


def to_builtin(obj: Any) -> Any:
    """ConfigDicts -> dicts, recursively, keeping tuples (builders such as mmcv's
    ``Resize(scale=(128, 128))`` need them)."""
    if isinstance(obj, (ConfigDict, dict)):
        return {k: to_builtin(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [to_builtin(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(to_builtin(v) for v in obj)
    return copy.deepcopy(obj)


def merge(base: dict, override: dict) -> dict:
    """``override`` merged into a copy of ``base`` recursively (``_delete_=True`` in a
    dict replaces instead of merging, as in mmengine configs)."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) \
                and not value.get('_delete_', False):
            out[key] = merge(out[key], value)
        else:
            if isinstance(value, dict):
                value = {k: v for k, v in value.items() if k != '_delete_'}
            out[key] = copy.deepcopy(value)
    return out


__all__ = ['plain', 'to_builtin', 'merge']
