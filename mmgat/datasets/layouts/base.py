"""What the four layout writers share: scene jobs, the atomic output, ``meta.json``.

A layout writer turns the DigitScenes scenes of :func:`render_scene` into the folder
layout of a real dataset. Subclasses of :class:`LayoutWriter` say where each split goes
(:meth:`LayoutWriter.prepare`), how one scene is stored (:meth:`LayoutWriter.write_scene`,
run in worker processes, returns a small picklable record) and which index files close
the dataset (:meth:`LayoutWriter.finish`). This module renders, parallelises, writes
``meta.json`` and swaps the folder into place.

Scene ``index`` of ``split`` is drawn from ``sample_rng(seed, split, index, 'scene')``,
the same stream as the default DigitScenes writer, so a layout at the default writer's
size holds exactly its scenes (re-encoded), and ``--num-train`` never changes val.

Example:
    >>> from mmgat.datasets.layouts import write_layout
    >>> write_layout('coco', 'data/coco', size=256, num_train=200, num_val=50)
"""
import json
import multiprocessing
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Tuple

import cv2
import numpy as np

from ..digitscenes_render import (GENERATOR_VERSION, HUE_RANGES, SPLITS, Scene, render_scene,
                                  sample_rng, split_families)
from ..digitscenes_writer import DATASET_NAME, atomic_output

JPEG_QUALITY = 95   # fixed: the bytes must not depend on OpenCV's default
MIN_SIDE = 32       # smaller scenes cannot hold two digits (and COCO/VOC drop < 32 px images)


def write_image(path: str, rgb: np.ndarray) -> None:
    """Write an RGB uint8 image as .jpg (quality 95) or .png, by the suffix of ``path``."""
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR) if rgb.ndim == 3 else rgb   # cv2 writes BGR
    params = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY] if path.endswith('.jpg') else []
    if not cv2.imwrite(path, bgr, params):
        raise OSError(f'cannot write {path!r}')


def dump_json(obj: Any, path: str) -> None:
    with open(path, 'w') as f:
        json.dump(obj, f, separators=(',', ':'))


class LayoutWriter:
    """Base class of a layout; subclasses set the class attributes and the three hooks.

    Attributes:
        name: the ``--layout`` value, e.g. ``'coco'``.
        dataset: the upstream dataset, e.g. ``'COCO'`` (for messages and meta.json).
        default_shape: ``(height, width)`` used when no size is given.
        default_root: the upstream config's ``data_root``, the default output folder.
        classes: the dataset's class names that digits ``0..9`` become, in order.
    """
    name = ''
    dataset = ''
    default_shape: Tuple[int, int] = (256, 256)
    default_root = ''
    classes: Tuple[str, ...] = ()

    def prepare(self, root: str, counts: Dict[str, int]) -> None:
        """Create the folders of the splits with a non-zero count."""
        raise NotImplementedError

    def write_scene(self, root: str, split: str, index: int, scene: Scene) -> Any:
        """Store scene ``index`` of ``split`` under ``root``; return a picklable record."""
        raise NotImplementedError

    def finish(self, root: str, records: Dict[str, List[Any]],
               shape: Tuple[int, int]) -> None:
        """Write the index / annotation files from the records, in index order."""

    def describe(self, counts: Dict[str, int]) -> Dict[str, Any]:
        """Extra meta.json entries (where each split went, label conventions)."""
        return {}

    # ----------------------------------------------------------------- driver

    def write(self, out: str, shape: Tuple[int, int], counts: Dict[str, int], seed: int = 0,
              workers: int = 1, progress: bool = False) -> str:
        """Render all scenes into ``out`` (atomically); return its absolute path."""
        out = osp.abspath(out)
        with atomic_output(out) as tmp:
            self.prepare(tmp, counts)
            records = _render_all(self, tmp, shape, counts, seed, workers, progress)
            self.finish(tmp, records, shape)
            meta = dict(
                name=DATASET_NAME, generator_version=GENERATOR_VERSION, layout=self.name,
                dataset=self.dataset, seed=int(seed), height=int(shape[0]),
                width=int(shape[1]), counts=counts,
                classes={str(d): c for d, c in enumerate(self.classes)},
                splits={s: dict(backgrounds=list(split_families(s)[0]),
                                hue_family=split_families(s)[1],
                                hue_range_deg=list(HUE_RANGES[split_families(s)[1]]))
                        for s in SPLITS if counts[s]},
                **self.describe(counts))
            with open(osp.join(tmp, 'meta.json'), 'w') as f:   # last: marks it complete
                json.dump(meta, f, indent=2)
        return out


def _scene_job(job):
    writer, root, seed, shape, split, index = job
    scene = render_scene(sample_rng(seed, split, index, 'scene'), shape, split)
    return split, index, writer.write_scene(root, split, index, scene)


def _init_worker():
    cv2.setNumThreads(1)   # the images are small; threads only add contention


def _render_all(writer: LayoutWriter, root: str, shape: Tuple[int, int],
                counts: Dict[str, int], seed: int, workers: int,
                progress: bool) -> Dict[str, List[Any]]:
    jobs = [(writer, root, seed, shape, split, i)
            for split in SPLITS for i in range(counts[split])]
    records: Dict[str, List[Optional[Any]]] = {s: [None] * counts[s] for s in SPLITS}
    bar = None
    if progress:
        try:
            from tqdm import tqdm
            bar = tqdm(total=len(jobs), unit='img', desc=f'DigitScenes ({writer.name})')
        except ImportError:
            pass
    pool = None
    if workers > 1 and len(jobs) > 1:
        methods = multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context('fork' if 'fork' in methods else None)
        pool = ctx.Pool(workers, initializer=_init_worker)
        results = pool.imap_unordered(_scene_job, jobs, chunksize=8)
    else:
        results = map(_scene_job, jobs)
    try:
        for split, index, record in results:
            records[split][index] = record   # placed by index: the order never depends on workers
            if bar is not None:
                bar.update()
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
        if bar is not None:
            bar.close()
    return records


def check_counts(num_train: int, num_val: int, num_val_ood: Optional[int],
                 seed: int) -> Dict[str, int]:
    """The per-split counts (``num_val_ood`` defaults to ``num_val``), validated."""
    num_val_ood = num_val if num_val_ood is None else num_val_ood
    counts = dict(train=int(num_train), val=int(num_val), val_ood=int(num_val_ood))
    if seed < 0 or min(counts.values()) < 0:
        raise ValueError('seed and the image counts must be >= 0')
    return counts


def makedirs(*parts: str) -> str:
    path = osp.join(*parts)
    os.makedirs(path, exist_ok=True)
    return path
