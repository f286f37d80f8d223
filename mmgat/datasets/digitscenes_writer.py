"""Write a complete DigitScenes dataset folder (images, label maps, COCO and cls json).

Layout (fixed, the dataset classes and configs depend on it)::

    <out>/meta.json
    <out>/images/{train,val,val_ood}/000000.png        RGB scenes
    <out>/seg_maps/{train,val,val_ood}/000000.png      uint8, 0 = background, digit d -> d + 1
    <out>/annotations/{train,val,val_ood}.json         COCO (bbox of the full glyph,
                                                       RLE + area of its visible pixels)
    <out>/cls/images/{train,val,val_ood}/000000.png    one digit per image
    <out>/cls/masks/{train,val,val_ood}/000000.png     uint8, 255 = digit, 0 = background
    <out>/cls/{train,val,val_ood}.json                 mmengine BaseDataset format

The output is byte-identical for the same arguments (``workers`` included or not):
each sample depends only on ``(seed, split, index)``. The folder is built in a hidden
temporary sibling and renamed into place at the end, ``meta.json`` written last, so
that a killed run never leaves a folder that looks complete.

Example:
    >>> from mmgat.datasets.digitscenes_writer import make_digitscenes
    >>> root = make_digitscenes('data/digitscenes', size=96, num_train=12, num_val=6)
"""
import json
import multiprocessing
import os
import os.path as osp
import shutil
import tempfile
from contextlib import contextmanager
from typing import Dict, Iterator, List, Optional, Tuple

import cv2
import numpy as np
from pycocotools import mask as mask_utils

from .digitscenes_render import (GENERATOR_VERSION, HUE_RANGES, SPLIT_IDS, SPLITS,
                                 render_cls_sample, render_scene, sample_rng,
                                 split_families)

CLASSES = tuple(str(d) for d in range(10))
DATASET_NAME = 'DigitScenes'


def _write_png(path: str, img: np.ndarray) -> None:
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)   # cv2 writes BGR
    if not cv2.imwrite(path, img):
        raise OSError(f'cannot write {path!r}')


def _scene_job(root: str, seed: int, size: int, split: str, index: int) -> Tuple[Dict, List[Dict]]:
    scene = render_scene(sample_rng(seed, split, index, 'scene'), size, split)
    stem = f'{index:06d}.png'
    _write_png(osp.join(root, 'images', split, stem), scene.image)
    _write_png(osp.join(root, 'seg_maps', split, stem), scene.label)
    image = dict(id=index + 1, file_name=stem, width=size, height=size,
                 background=scene.background, hue_family=scene.hue_family)
    anns = []
    for k, inst in enumerate(scene.instances):
        visible = np.asfortranarray((scene.instance_map == k + 1).astype(np.uint8))
        rle = mask_utils.encode(visible)
        rle['counts'] = rle['counts'].decode('ascii')   # bytes are not JSON
        anns.append(dict(image_id=index + 1, category_id=inst['digit'] + 1,
                         bbox=[int(v) for v in inst['bbox']], area=inst['area'], iscrowd=0,
                         segmentation=rle, glyph_height=inst['height']))
    return image, anns


def _cls_label(seed: int, split: str, index: int) -> int:
    """Balanced label of a classification sample, a function of (seed, split, index) only.

    Each block of 10 consecutive indices holds every class once, in a seeded order, so
    that every class appears once there are >= 10 samples and counts stay within one.
    """
    block = np.random.SeedSequence([int(seed), SPLIT_IDS[split], index // 10, 7])
    return int(np.random.default_rng(block).permutation(10)[index % 10])


def _cls_job(root: str, seed: int, size: int, split: str, index: int, label: int) -> Dict:
    img, mask, info = render_cls_sample(sample_rng(seed, split, index, 'cls'), size, split, label)
    stem = f'{index:06d}.png'
    _write_png(osp.join(root, 'cls', 'images', split, stem), img)
    _write_png(osp.join(root, 'cls', 'masks', split, stem), mask)
    return dict(img_path=stem, gt_label=int(label), mask_path=stem,
                background=info['background'], hue_family=info['hue_family'])


def _run_job(job):
    kind, args = job
    return kind, args[3], args[4], (_scene_job(*args) if kind == 'scene' else _cls_job(*args))


def _init_worker():
    cv2.setNumThreads(1)   # the images are tiny; threads only add contention


def _check_overwritable(out: str) -> None:
    """Refuse to replace anything but an (empty folder or) earlier DigitScenes output."""
    if not osp.lexists(out):
        return
    if not osp.isdir(out) or osp.islink(out):
        raise FileExistsError(f"'{out}' exists and is not a folder; refusing to overwrite it")
    if not os.listdir(out):
        return
    try:
        with open(osp.join(out, 'meta.json')) as f:
            if json.load(f).get('name') == DATASET_NAME:
                return
    except (OSError, ValueError, AttributeError):
        pass
    raise FileExistsError(f"'{out}' exists and is not a DigitScenes folder (no meta.json "
                          'written by make_digitscenes); refusing to overwrite it')


@contextmanager
def atomic_output(out: str) -> Iterator[str]:
    """Yield a hidden temporary sibling of ``out``; on success it replaces ``out``.

    ``out`` may be absent, an empty folder or an earlier DigitScenes output (any layout,
    recognised by its ``meta.json``); anything else raises ``FileExistsError`` before a
    byte is written. On any error (Ctrl-C included) the temporary folder is removed and
    ``out`` is left as it was. The caller writes ``meta.json`` last, inside the block.
    """
    out = osp.abspath(out)
    _check_overwritable(out)
    parent = osp.dirname(out)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f'.{osp.basename(out)}.tmp-', dir=parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)   # mkdtemp makes it private
        yield tmp
        if osp.lexists(out):
            old = tempfile.mkdtemp(prefix=f'.{osp.basename(out)}.old-', dir=parent)
            os.rename(out, osp.join(old, 'data'))
            os.rename(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _category_list() -> List[Dict]:
    return [dict(id=d + 1, name=str(d)) for d in range(10)]


def _dump_json(obj, path: str) -> None:
    with open(path, 'w') as f:
        json.dump(obj, f, separators=(',', ':'))


def make_digitscenes(out: str = 'data/digitscenes', size: int = 128, num_train: int = 2000,
                     num_val: int = 300, num_val_ood: Optional[int] = None, cls_size: int = 32,
                     seed: int = 0, workers: int = 1, progress: bool = False) -> str:
    """Generate a DigitScenes folder and return its absolute path.

    Args mirror ``tools/make_digitscenes.py``. ``num_val_ood`` defaults to ``num_val``;
    the classification split uses the same counts as the scenes. ``workers > 1`` renders
    in a process pool (same bytes as ``workers=1``). ``progress`` shows a tqdm bar.
    """
    num_val_ood = num_val if num_val_ood is None else num_val_ood
    counts = dict(train=int(num_train), val=int(num_val), val_ood=int(num_val_ood))
    if seed < 0 or min(counts.values()) < 0:
        raise ValueError('seed and the image counts must be >= 0')
    if size < 32 or cls_size < 8:
        raise ValueError('size must be >= 32 and cls_size >= 8')

    out = osp.abspath(out)
    with atomic_output(out) as tmp:
        for split in SPLITS:
            for sub in ('images', 'seg_maps', 'cls/images', 'cls/masks'):
                os.makedirs(osp.join(tmp, sub, split))
        os.makedirs(osp.join(tmp, 'annotations'))
        _generate(tmp, counts, size, cls_size, seed, workers, progress)
        meta = dict(
            name=DATASET_NAME, generator_version=GENERATOR_VERSION, seed=int(seed),
            size=int(size), cls_size=int(cls_size), counts=counts, classes=list(CLASSES),
            seg_labels='0 = background, digit d -> d + 1', cls_mask_values='0 / 255',
            splits={s: dict(backgrounds=list(split_families(s)[0]),
                            hue_family=split_families(s)[1],
                            hue_range_deg=list(HUE_RANGES[split_families(s)[1]]))
                    for s in SPLITS})
        with open(osp.join(tmp, 'meta.json'), 'w') as f:   # last: marks the folder complete
            json.dump(meta, f, indent=2)
    return out


def _generate(root: str, counts: Dict[str, int], size: int, cls_size: int, seed: int,
              workers: int, progress: bool) -> None:
    jobs = []
    for split in SPLITS:
        jobs += [('scene', (root, seed, size, split, i)) for i in range(counts[split])]
        jobs += [('cls', (root, seed, cls_size, split, i,
                          _cls_label(seed, split, i)))
                 for i in range(counts[split])]
    scenes = {s: [None] * counts[s] for s in SPLITS}
    cls = {s: [None] * counts[s] for s in SPLITS}

    bar = None
    if progress:
        try:
            from tqdm import tqdm
            bar = tqdm(total=len(jobs), unit='img', desc='DigitScenes')
        except ImportError:
            pass
    pool = None
    if workers > 1 and len(jobs) > 1:
        methods = multiprocessing.get_all_start_methods()
        ctx = multiprocessing.get_context('fork' if 'fork' in methods else None)
        pool = ctx.Pool(workers, initializer=_init_worker)
        results = pool.imap_unordered(_run_job, jobs, chunksize=32)
    else:
        results = map(_run_job, jobs)
    try:
        for kind, split, index, res in results:
            (scenes if kind == 'scene' else cls)[split][index] = res
            if bar is not None:
                bar.update()
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
        if bar is not None:
            bar.close()

    for split in SPLITS:
        images, annotations = [], []
        for image, anns in scenes[split]:
            images.append(image)
            for ann in anns:
                annotations.append(dict(id=len(annotations) + 1, **ann))
        _dump_json(dict(images=images, annotations=annotations, categories=_category_list()),
                   osp.join(root, 'annotations', f'{split}.json'))
        _dump_json(dict(metainfo=dict(classes=list(CLASSES), dataset=DATASET_NAME),
                        data_list=cls[split]),
                   osp.join(root, 'cls', f'{split}.json'))
