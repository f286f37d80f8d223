"""A dataset mixin that turns missing or undecodable data into clear mmgat errors.

Without it, a dataset whose folder was never generated fails deep inside pycocotools or
mmengine's file listing, and a corrupt PNG fails with ``AssertionError: failed to load
image`` (or a ``NoneType`` error in a later transform) without naming the sample.

Usage: put the mixin first in the bases so that its ``full_init`` / ``prepare_data``
wrap the dataset's own::

    @DATASETS.register_module()
    class MyDataset(CheckedDatasetMixin, CocoDataset):
        DATA_NAME = 'MyData'
        GENERATE_HINT = 'python tools/make_mydata.py --out {data_root}'
"""
import json
import os.path as osp
from typing import Any, Iterable, Optional, Tuple

import cv2
import numpy as np

from mmgat.utils.errors import (CorruptAnnotationError, CorruptImageError,
                                DataNotFoundError, MmgatError)

# Keys of a data_info dict that name a file the pipeline decodes.
SAMPLE_FILE_KEYS = ('img_path', 'seg_map_path', 'mask_path')


def _is_local(path: str) -> bool:
    return '://' not in path   # s3://, http://, petrel:// ... are not checked


def unreadable_image(path: str) -> Optional[str]:
    """``'missing'`` or ``'corrupt'`` if ``path`` cannot be read as an image, else None."""
    if not osp.isfile(path):
        return 'missing'
    try:
        buf = np.fromfile(path, dtype=np.uint8)
    except OSError:
        return 'missing'
    if buf.size == 0 or cv2.imdecode(buf, cv2.IMREAD_UNCHANGED) is None:
        return 'corrupt'
    return None


class CheckedDatasetMixin:
    """Mixin for :class:`mmengine.dataset.BaseDataset` subclasses.

    * ``full_init`` raises :class:`DataNotFoundError` if ``ann_file`` or a
      ``data_prefix`` folder does not exist, with a hint how to create the data, and
      :class:`CorruptAnnotationError` naming the file and the line and column if the
      annotation file is not valid JSON (e.g. cut in the middle).
    * ``prepare_data`` re-raises an exception of the pipeline as
      :class:`CorruptImageError` (or :class:`DataNotFoundError`) naming the file when one
      of the sample's files (``img_path``, ``seg_map_path``, ``mask_path``) is undecodable
      (or missing). Other exceptions propagate unchanged.
    """

    DATA_NAME = 'Dataset'
    #: Command that creates the data; ``{data_root}`` is filled in. None: no hint.
    GENERATE_HINT: Optional[str] = None

    # ------------------------------------------------------------------ missing data
    def _required_paths(self) -> Iterable[str]:
        ann_file = getattr(self, 'ann_file', '')
        if ann_file:
            yield ann_file
        for prefix in (getattr(self, 'data_prefix', None) or {}).values():
            if isinstance(prefix, str) and prefix:
                yield prefix

    def _not_found_message(self, path: str) -> str:
        msg = f"{self.DATA_NAME} not found: '{path}' does not exist."
        if self.GENERATE_HINT:
            root = (getattr(self, 'data_root', None) or 'data/digitscenes').rstrip('/')
            msg += ' Generate it with: ' + self.GENERATE_HINT.format(data_root=root)
        return msg

    def check_data_exists(self) -> None:
        """Raise :class:`DataNotFoundError` for the first missing annotation file / folder."""
        backend = (getattr(self, 'backend_args', None) or {}).get('backend', 'local')
        if backend != 'local':
            return
        for path in self._required_paths():
            if _is_local(path) and not osp.exists(path):
                raise DataNotFoundError(self._not_found_message(path))

    def full_init(self) -> None:
        if getattr(self, '_fully_initialized', False):
            return super().full_init()
        self.check_data_exists()   # before pycocotools / file listing fail obscurely
        try:
            super().full_init()
        except json.JSONDecodeError as err:   # mmengine's load() and pycocotools
            raise CorruptAnnotationError(
                f"cannot read annotation file '{self.ann_file}': invalid JSON at line "
                f'{err.lineno}, column {err.colno} ({err.msg})') from None
        except UnicodeDecodeError as err:
            raise CorruptAnnotationError(
                f"cannot read annotation file '{self.ann_file}': not UTF-8 text "
                f'(byte {err.object[err.start:err.start + 1]!r} at offset {err.start})'
            ) from None

    # ------------------------------------------------------------------ corrupt samples
    def _bad_sample_file(self, idx: int) -> Optional[Tuple[str, str]]:
        try:
            info = self.get_data_info(idx)
        except Exception:
            return None
        for key in SAMPLE_FILE_KEYS:
            path = info.get(key)
            if isinstance(path, str) and _is_local(path):
                problem = unreadable_image(path)
                if problem is not None:
                    return path, problem
        return None

    def prepare_data(self, idx: int) -> Any:
        try:
            return super().prepare_data(idx)
        except MmgatError:
            raise
        except Exception as err:
            bad = self._bad_sample_file(idx)
            if bad is None:
                raise   # not a data problem: keep the original error and traceback
            path, problem = bad
            detail = str(err) or type(err).__name__
            if problem == 'missing':
                raise DataNotFoundError(
                    f"cannot read '{path}' (sample {idx}): file does not exist ({detail})"
                ) from err
            raise CorruptImageError(f"cannot read '{path}' (sample {idx}): {detail}") from err
