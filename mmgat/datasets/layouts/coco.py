"""DigitScenes in the COCO 2017 detection layout (read by mmdet's ``CocoDataset``).

Layout under ``--out`` (= the config's ``data_root``, upstream ``data/coco/``)::

    annotations/instances_train2017.json    train scenes
    annotations/instances_val2017.json      val scenes
    annotations/instances_val_ood2017.json  val_ood scenes (extra split; absent if 0)
    train2017/000000000001.jpg              file name = 12-digit image id, as COCO
    val2017/...   val_ood2017/...
    meta.json                               DigitScenes marker (mmdet ignores it)

The json files carry all 80 COCO categories with their real ids and names (so that an
80-class model's labels map to category ids exactly as on COCO); digit ``d`` is the
``d``-th of them: 0 person (id 1), 1 bicycle (2), 2 car (3), ... 9 traffic light (10).
Each digit is one annotation: ``bbox`` = [x, y, w, h] of the full glyph, ``area`` and
RLE ``segmentation`` of its visible pixels, ``iscrowd`` 0. Image ids start at 1 in
each split. Images are JPEG (quality 95).

Config example (the upstream ``coco_detection.py`` reads it unchanged; note that a
child config's ``data_root = ...`` does not reach the base's dataset dicts, so move
the folder or override ``*_dataloader.dataset.data_root`` and the evaluator's
``ann_file``)::

    # python tools/make_digitscenes.py --layout coco --out data/coco
    _base_ = 'mmdet::_base_/datasets/coco_detection.py'   # reads data/coco/
"""
import os.path as osp
from typing import Dict, List, Tuple

import numpy as np
from pycocotools import mask as mask_utils

from .base import LayoutWriter, dump_json, makedirs, write_image

# The 80 COCO categories: (id, name, supercategory), in the order of mmdet's classes.
_SUPER = [(1, 'person'), (2, 'vehicle'), (10, 'outdoor'), (16, 'animal'), (27, 'accessory'),
          (34, 'sports'), (44, 'kitchen'), (52, 'food'), (62, 'furniture'), (72, 'electronic'),
          (78, 'appliance'), (84, 'indoor')]
_NAMES = (
    'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat',
    'traffic light', 'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat',
    'dog', 'horse', 'sheep', 'cow', 'elephant', 'bear', 'zebra', 'giraffe', 'backpack',
    'umbrella', 'handbag', 'tie', 'suitcase', 'frisbee', 'skis', 'snowboard', 'sports ball',
    'kite', 'baseball bat', 'baseball glove', 'skateboard', 'surfboard', 'tennis racket',
    'bottle', 'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple',
    'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair',
    'couch', 'potted plant', 'bed', 'dining table', 'toilet', 'tv', 'laptop', 'mouse',
    'remote', 'keyboard', 'cell phone', 'microwave', 'oven', 'toaster', 'sink',
    'refrigerator', 'book', 'clock', 'vase', 'scissors', 'teddy bear', 'hair drier',
    'toothbrush')
# COCO skips ten ids of its 2014 paper list.
_IDS = [i for i in range(1, 91) if i not in (12, 26, 29, 30, 45, 66, 68, 69, 71, 83)]


def _supercategory(cat_id: int) -> str:
    return [name for start, name in _SUPER if cat_id >= start][-1]


CATEGORIES = [dict(id=i, name=n, supercategory=_supercategory(i)) for i, n in zip(_IDS, _NAMES)]
SPLIT_DIRS = dict(train='train2017', val='val2017', val_ood='val_ood2017')


class CocoLayout(LayoutWriter):
    """COCO 2017 layout; see the module docstring."""
    name = 'coco'
    dataset = 'COCO'
    default_shape = (256, 256)
    default_root = 'data/coco'
    classes = _NAMES[:10]

    def prepare(self, root, counts):
        makedirs(root, 'annotations')
        for split, n in counts.items():
            if n:
                makedirs(root, SPLIT_DIRS[split])

    def write_scene(self, root, split, index, scene) -> Tuple[Dict, List[Dict]]:
        img_id = index + 1
        file_name = f'{img_id:012d}.jpg'
        write_image(osp.join(root, SPLIT_DIRS[split], file_name), scene.image)
        h, w = scene.label.shape
        image = dict(id=img_id, file_name=file_name, height=h, width=w, license=1,
                     background=scene.background, hue_family=scene.hue_family)
        anns = []
        for k, inst in enumerate(scene.instances):
            visible = np.asfortranarray((scene.instance_map == k + 1).astype(np.uint8))
            rle = mask_utils.encode(visible)
            rle['counts'] = rle['counts'].decode('ascii')   # bytes are not JSON
            anns.append(dict(image_id=img_id, category_id=_IDS[inst['digit']],
                             bbox=[int(v) for v in inst['bbox']], area=int(inst['area']),
                             iscrowd=0, segmentation=rle))
        return image, anns

    def finish(self, root, records, shape):
        for split, recs in records.items():
            if not recs:
                continue
            images, annotations = [], []
            for image, anns in recs:
                images.append(image)
                for ann in anns:
                    annotations.append(dict(id=len(annotations) + 1, **ann))
            # Fixed info (no date): the output must be byte-identical for the same arguments.
            info = dict(description=f'DigitScenes in the COCO layout ({split})',
                        version='1.0', year=2017, contributor='mmgat', url='', date_created='')
            licenses = [dict(id=1, name='synthetic', url='')]
            dump_json(dict(info=info, licenses=licenses, images=images,
                           annotations=annotations, categories=CATEGORIES),
                      osp.join(root, 'annotations', f'instances_{SPLIT_DIRS[split]}.json'))

    def describe(self, counts):
        return dict(files={s: dict(ann_file=f'annotations/instances_{SPLIT_DIRS[s]}.json',
                                   img=f'{SPLIT_DIRS[s]}/')
                           for s, n in counts.items() if n},
                    category_ids={str(d): _IDS[d] for d in range(10)})
