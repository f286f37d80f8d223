"""DigitScenes in the PASCAL VOC layout (read by mmdet's ``VOCDataset``).

mmdet's ``_base_/datasets/voc0712.py`` trains on VOC2007 trainval + VOC2012 trainval
and tests on VOC2007 test, so both years are written. Layout under ``--out`` (= the
config's ``data_root``, upstream ``data/VOCdevkit/``)::

    VOC2007/JPEGImages/<id>.jpg         train scenes of even index, all val, all val_ood
    VOC2007/Annotations/<id>.xml
    VOC2007/ImageSets/Main/train.txt    train scenes with index % 4 == 0
    VOC2007/ImageSets/Main/val.txt      train scenes with index % 4 == 2
    VOC2007/ImageSets/Main/trainval.txt train.txt + val.txt
    VOC2007/ImageSets/Main/test.txt     the DigitScenes val scenes
    VOC2007/ImageSets/Main/test_ood.txt the val_ood scenes (extra split; absent if 0)
    VOC2012/{JPEGImages,Annotations}    train scenes of odd index
    VOC2012/ImageSets/Main/{train,val,trainval}.txt   index % 4 == 1 / 3 / both
    meta.json                           DigitScenes marker (mmdet ignores it)

Every train scene is in exactly one trainval list, and a scene keeps its year and list
when ``--num-train`` changes. Image ids are ``<split>_<index:06d>`` (e.g. ``val_000003``).
Digit ``d`` is the ``d``-th VOC class: 0 aeroplane, 1 bicycle, 2 bird, ... 9 cow. Boxes
are VOC's 1-based inclusive pixel coordinates (``xmin = x + 1``, ``xmax = x + w``), all
objects have ``difficult`` 0 and ``truncated`` 0.

Note: the upstream train sets use ``filter_cfg=dict(bbox_min_size=32)``, which flags
every box narrower or lower than 32 px as ignored for training. Digits are 16-48 px high
and about half as wide at any scene size, so most of them are ignored by that filter:
to train on this stand-in, lower ``bbox_min_size`` (e.g. to 4) in the training datasets.

Config example (the upstream ``voc0712.py`` reads it unchanged)::

    # python tools/make_digitscenes.py --layout voc --out data/VOCdevkit
    _base_ = 'mmdet::_base_/datasets/voc0712.py'   # reads data/VOCdevkit/
"""
import os.path as osp
from typing import Dict, List

from .base import LayoutWriter, makedirs, write_image

VOC_CLASSES = ('aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair',
               'cow')

_XML = """<annotation>
\t<folder>{year}</folder>
\t<filename>{img_id}.jpg</filename>
\t<source>
\t\t<database>DigitScenes</database>
\t\t<annotation>mmgat</annotation>
\t</source>
\t<size>
\t\t<width>{width}</width>
\t\t<height>{height}</height>
\t\t<depth>3</depth>
\t</size>
\t<segmented>0</segmented>
{objects}</annotation>
"""
_OBJECT = """\t<object>
\t\t<name>{name}</name>
\t\t<pose>Unspecified</pose>
\t\t<truncated>0</truncated>
\t\t<difficult>0</difficult>
\t\t<bndbox>
\t\t\t<xmin>{xmin}</xmin>
\t\t\t<ymin>{ymin}</ymin>
\t\t\t<xmax>{xmax}</xmax>
\t\t\t<ymax>{ymax}</ymax>
\t\t</bndbox>
\t</object>
"""


def place(split: str, index: int):
    """``(year folder, image set)`` of scene ``index`` of ``split``."""
    if split == 'val':
        return 'VOC2007', 'test'
    if split == 'val_ood':
        return 'VOC2007', 'test_ood'
    year = 'VOC2007' if index % 2 == 0 else 'VOC2012'
    return year, 'train' if index % 4 < 2 else 'val'


def image_id(split: str, index: int) -> str:
    return f'{split}_{index:06d}'


class VocLayout(LayoutWriter):
    """VOC2007 + VOC2012 layout; see the module docstring."""
    name = 'voc'
    dataset = 'PASCAL VOC'
    default_shape = (256, 256)
    default_root = 'data/VOCdevkit'
    classes = VOC_CLASSES

    def prepare(self, root, counts):
        for year in ('VOC2007', 'VOC2012'):
            for sub in ('JPEGImages', 'Annotations', 'ImageSets/Main'):
                makedirs(root, year, sub)

    def write_scene(self, root, split, index, scene) -> str:
        year, _ = place(split, index)
        img_id = image_id(split, index)
        write_image(osp.join(root, year, 'JPEGImages', f'{img_id}.jpg'), scene.image)
        objects = ''.join(
            _OBJECT.format(name=VOC_CLASSES[inst['digit']], xmin=x + 1, ymin=y + 1,
                           xmax=x + w, ymax=y + h)
            for inst in scene.instances for x, y, w, h in [inst['bbox']])
        height, width = scene.label.shape
        with open(osp.join(root, year, 'Annotations', f'{img_id}.xml'), 'w') as f:
            f.write(_XML.format(year=year, img_id=img_id, width=width, height=height,
                                objects=objects))
        return img_id

    def finish(self, root, records, shape):
        sets: Dict[str, Dict[str, List[str]]] = {
            'VOC2007': dict(train=[], val=[], trainval=[], test=[]),
            'VOC2012': dict(train=[], val=[], trainval=[])}
        if records['val_ood']:
            sets['VOC2007']['test_ood'] = []
        for split, ids in records.items():
            for index, img_id in enumerate(ids):
                year, image_set = place(split, index)
                sets[year][image_set].append(img_id)
                if image_set in ('train', 'val'):
                    sets[year]['trainval'].append(img_id)
        for year, lists in sets.items():
            for image_set, ids in lists.items():
                with open(osp.join(root, year, 'ImageSets', 'Main', f'{image_set}.txt'),
                          'w') as f:
                    f.write(''.join(f'{i}\n' for i in ids))

    def describe(self, counts):
        files = dict(train=['VOC2007/ImageSets/Main/trainval.txt',
                            'VOC2012/ImageSets/Main/trainval.txt'],
                     val=['VOC2007/ImageSets/Main/test.txt'])
        if counts['val_ood']:
            files['val_ood'] = ['VOC2007/ImageSets/Main/test_ood.txt']
        return dict(files=files, boxes='VOC 1-based inclusive: xmin = x + 1, xmax = x + w')
