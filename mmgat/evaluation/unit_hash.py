"""The hash of a unit's effective settings: equal hashes mean a result can be reused."""
import hashlib
import json
import os
from typing import Any, List, Optional

from mmgat.utils.plain_config import plain


def file_signature(path: str) -> Optional[List[int]]:
    """``[size, mtime_ns]`` of a file (None when missing): a cheap content stamp."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return [int(stat.st_size), int(stat.st_mtime_ns)]


def _checkpoint_signatures(obj: Any) -> Any:
    """A copy of ``obj`` where every ``checkpoint='path'`` gains its file signature.

    So that a retrained generator (same path, new file) makes the entries using it
    run again.
    """
    if isinstance(obj, dict):
        out = {k: _checkpoint_signatures(v) for k, v in obj.items()}
        ckpt = obj.get('checkpoint')
        if isinstance(ckpt, str):
            out['checkpoint_signature'] = file_signature(ckpt)
        return out
    if isinstance(obj, list):
        return [_checkpoint_signatures(v) for v in obj]
    return obj


def config_hash(spec: Any) -> str:
    """A short, stable hash of a unit's effective configuration."""
    text = json.dumps(_checkpoint_signatures(plain(spec)), sort_keys=True)
    return hashlib.sha1(text.encode('utf-8')).hexdigest()[:16]


__all__ = ['config_hash', 'file_signature']
