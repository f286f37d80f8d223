"""Edits of a test pipeline for one evaluation (a corruption, a universal perturbation)."""
import copy

from mmgat.utils.errors import ConfigError


def insert_after_loading(pipeline: list, transform: dict) -> list:
    """A copy of ``pipeline`` with ``transform`` right after the image is loaded."""
    out = copy.deepcopy(list(pipeline))
    for i, t in enumerate(out):
        if 'LoadImage' in str(t.get('type', '')).split('.')[-1]:
            out.insert(i + 1, transform)
            return out
    raise ConfigError('the test pipeline has no LoadImageFromFile step to put '
                      f'{transform.get("type")} after')


def insert_before_packing(pipeline: list, transform: dict) -> list:
    """A copy of ``pipeline`` with ``transform`` before the packing step (the end when
    there is none)."""
    out = copy.deepcopy(list(pipeline))
    for i in range(len(out) - 1, -1, -1):
        if str(out[i].get('type', '')).split('.')[-1].startswith('Pack'):
            out.insert(i, transform)
            return out
    out.append(transform)
    return out


__all__ = ['insert_after_loading', 'insert_before_packing']
