"""DigitScenes: generator determinism, annotation consistency and the dataset classes."""
import json
import shutil
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest
from pycocotools.coco import COCO

REPO = Path(__file__).resolve().parents[2]
SPLITS = ('train', 'val', 'val_ood')
TINY = dict(size=96, num_train=20, num_val=6, seed=0)


import mmgat  # noqa: F401,E402  (registers every component)
from mmengine.registry import DATASETS, DefaultScope  # noqa: E402

from mmgat.datasets import digitscenes_render as render  # noqa: E402
from mmgat.datasets.digitscenes_writer import make_digitscenes  # noqa: E402
from mmgat.utils.errors import (CorruptAnnotationError, CorruptImageError,  # noqa: E402
                                DataNotFoundError)


@pytest.fixture(scope='module')
def ds_root(tmp_path_factory):
    return Path(make_digitscenes(out=str(tmp_path_factory.mktemp('ds') / 'digitscenes'),
                                 **TINY))


def read_json(path):
    with open(path) as f:
        return json.load(f)


def all_files(root):
    return sorted(p.relative_to(root) for p in Path(root).rglob('*') if p.is_file())


def lum(rgb):
    return render.luminance(rgb.astype(np.float64) / 255.0)


# ----------------------------------------------------------------- generator

def test_layout_and_meta(ds_root):
    meta = read_json(ds_root / 'meta.json')
    assert meta['seed'] == 0 and meta['size'] == 96 and meta['cls_size'] == 32
    assert meta['counts'] == dict(train=20, val=6, val_ood=6)
    for split in SPLITS:
        n = meta['counts'][split]
        stems = [f'{i:06d}.png' for i in range(n)]
        for folder in ('images', 'seg_maps', 'cls/images', 'cls/masks'):
            assert sorted(p.name for p in (ds_root / folder / split).iterdir()) == stems
        assert (ds_root / 'annotations' / f'{split}.json').is_file()
        assert (ds_root / 'cls' / f'{split}.json').is_file()
    # No temporary folders are left next to the output.
    assert [p.name for p in ds_root.parent.iterdir()] == ['digitscenes']


def test_same_seed_same_bytes_and_channel_order(ds_root, tmp_path):
    # workers=2 must not change a byte either.
    again = Path(make_digitscenes(out=str(tmp_path / 'again'), workers=2, **TINY))
    files = all_files(ds_root)
    assert files == all_files(again)
    for rel in files:
        assert (ds_root / rel).read_bytes() == (again / rel).read_bytes(), rel
    # The PNG holds BGR on disk, i.e. it reads back as the rendered RGB image.
    scene = render.render_scene(render.sample_rng(0, 'val', 2), 96, 'val')
    bgr = cv2.imread(str(ds_root / 'images' / 'val' / '000002.png'))
    np.testing.assert_array_equal(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), scene.image)


def test_other_seed_differs_and_val_ignores_num_train(ds_root, tmp_path):
    other = Path(make_digitscenes(out=str(tmp_path / 'other'), **dict(TINY, seed=1)))
    for rel in ('images/train/000000.png', 'seg_maps/val/000001.png',
                'cls/images/val_ood/000000.png', 'annotations/val.json'):
        assert (ds_root / rel).read_bytes() != (other / rel).read_bytes(), rel

    fewer = Path(make_digitscenes(out=str(tmp_path / 'fewer'), **dict(TINY, num_train=7)))
    assert len(list((fewer / 'images' / 'train').iterdir())) == 7
    for split in ('val', 'val_ood'):
        for rel in (f'annotations/{split}.json', f'cls/{split}.json'):
            assert (ds_root / rel).read_bytes() == (fewer / rel).read_bytes(), rel
        for folder in ('images', 'seg_maps', 'cls/images', 'cls/masks'):
            for p in (fewer / folder / split).iterdir():
                assert p.read_bytes() == (ds_root / folder / split / p.name).read_bytes()
    # Training images are a prefix of the longer run's.
    for i in range(7):
        rel = f'images/train/{i:06d}.png'
        assert (ds_root / rel).read_bytes() == (fewer / rel).read_bytes()


def test_overwrite_is_atomic_and_guarded(tmp_path, monkeypatch):
    from mmgat.datasets import digitscenes_writer as writer
    small = dict(size=64, num_train=3, num_val=2, seed=0)
    out = tmp_path / 'ds'
    make_digitscenes(out=str(out), **small)
    before = (out / 'annotations' / 'train.json').read_bytes()

    def killed(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(writer, '_generate', killed)
    with pytest.raises(KeyboardInterrupt):
        make_digitscenes(out=str(out), **dict(small, seed=5))
    # The old dataset is untouched and no half-written folder is left behind.
    assert (out / 'annotations' / 'train.json').read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ['ds']
    monkeypatch.undo()

    make_digitscenes(out=str(out), **dict(small, seed=5))   # replaces a DigitScenes folder
    assert read_json(out / 'meta.json')['seed'] == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == ['ds']

    precious = tmp_path / 'precious'
    precious.mkdir()
    (precious / 'thesis.tex').write_text('keep me')
    with pytest.raises(FileExistsError):
        make_digitscenes(out=str(precious), **small)
    assert (precious / 'thesis.tex').read_text() == 'keep me'


@pytest.mark.parametrize('height', [16, 23, 31, 40, 48])
@pytest.mark.parametrize('face', sorted(render.FONT_FACES))
def test_glyph_height_matches_target(height, face):
    t_lo, t_hi = render.thickness_range(height)
    for thickness in (t_lo, t_hi):
        for digit in (1, 4, 8):
            mask = render.render_glyph(digit, height, render.FONT_FACES[face], thickness, 0)
            assert set(np.unique(mask)) == {0, 1}
            assert abs(mask.shape[0] - height) <= 1.5, (digit, face, thickness, mask.shape)


def test_coco_annotations_match_label_maps(ds_root):
    for split in SPLITS:
        coco = COCO(str(ds_root / 'annotations' / f'{split}.json'))
        assert sorted(coco.getCatIds()) == list(range(1, 11))
        assert [c['name'] for c in coco.loadCats(list(range(1, 11)))] == [str(d) for d in range(10)]
        assert len(coco.getImgIds()) == read_json(ds_root / 'meta.json')['counts'][split]
        for img_id in coco.getImgIds():
            img = coco.loadImgs(img_id)[0]
            image = cv2.imread(str(ds_root / 'images' / split / img['file_name']))
            label = cv2.imread(str(ds_root / 'seg_maps' / split / img['file_name']),
                               cv2.IMREAD_UNCHANGED)
            assert image.shape == (96, 96, 3) and label.shape == (96, 96)
            assert label.dtype == np.uint8 and label.max() <= 10
            anns = coco.loadAnns(coco.getAnnIds(imgIds=img_id))
            assert 2 <= len(anns) <= 5
            union = np.zeros(label.shape, bool)
            rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
            for ann in anns:
                x, y, w, h = ann['bbox']
                assert x >= 0 and y >= 0 and x + w <= 96 and y + h <= 96
                assert ann['iscrowd'] == 0 and isinstance(ann['segmentation']['counts'], str)
                vis = coco.annToMask(ann).astype(bool)
                assert vis.sum() == ann['area'] > 0
                inside = np.zeros_like(vis)
                inside[y:y + h, x:x + w] = True
                assert not (vis & ~inside).any(), 'visible pixels outside the bbox'
                assert not (vis & union).any(), 'instances overlap in the visible masks'
                union |= vis
                assert (label[vis] == ann['category_id']).all()
                # Target height 16-48 px before a rotation of at most 25 degrees.
                assert 16 <= ann['glyph_height'] <= 48
                assert 0.85 * 16 <= h <= 1.3 * 48, ann
                # Legible: the digit's luma stands out from the background around it.
                bg = inside & (label == 0)
                if bg.sum() > 20:
                    assert abs(lum(rgb[vis]).mean() - lum(rgb[bg]).mean()) > 0.15, ann
            np.testing.assert_array_equal(union, label > 0)


def test_occlusion_keeps_most_of_each_digit():
    # COCO stores only the visible area: re-render scenes to compare with the full glyphs.
    for split in SPLITS:
        for index in range(10):
            scene = render.render_scene(render.sample_rng(3, split, index), 96, split)
            assert 2 <= len(scene.instances) <= 5
            for k, inst in enumerate(scene.instances):
                assert inst['area'] >= 0.6 * inst['full_area']
                assert inst['area'] == (scene.instance_map == k + 1).sum()


def test_backgrounds_and_hues_by_split(ds_root):
    families = {}
    for split in SPLITS:
        coco = read_json(ds_root / 'annotations' / f'{split}.json')
        cls = read_json(ds_root / 'cls' / f'{split}.json')
        fams = {im['background'] for im in coco['images']} | {
            d['background'] for d in cls['data_list']}
        hues = {im['hue_family'] for im in coco['images']} | {
            d['hue_family'] for d in cls['data_list']}
        assert hues == ({'ood'} if split == 'val_ood' else {'train'})
        families[split] = fams
        meta = read_json(ds_root / 'meta.json')['splits'][split]
        assert fams <= set(meta['backgrounds'])
    assert families['train'].isdisjoint(families['val_ood'])
    assert families['val'] <= set(render.IN_DIST_BACKGROUNDS)
    assert len(families['train']) >= 3

    # The pixels themselves: saturated hues in [0, 180) deg for train, [180, 360) for ood.
    for split, want_low in (('train', True), ('val_ood', False)):
        hue = []
        for p in sorted((ds_root / 'images' / split).iterdir()):
            hsv = cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2HSV)  # H in degrees / 2
            keep = (hsv[..., 1] > 80) & (hsv[..., 2] > 50)
            hue.append(hsv[..., 0][keep])
        low = (np.concatenate(hue) < 90).mean()
        assert (low > 0.9) if want_low else (low < 0.1), (split, low)


def test_cls_split(ds_root):
    for split in SPLITS:
        ann = read_json(ds_root / 'cls' / f'{split}.json')
        assert ann['metainfo']['classes'] == [str(d) for d in range(10)]
        labels = [d['gt_label'] for d in ann['data_list']]
        assert all(isinstance(v, int) and 0 <= v <= 9 for v in labels)
        for d in ann['data_list']:
            img = cv2.imread(str(ds_root / 'cls' / 'images' / split / d['img_path']))
            mask = cv2.imread(str(ds_root / 'cls' / 'masks' / split / d['mask_path']),
                              cv2.IMREAD_UNCHANGED)
            assert img.shape == (32, 32, 3) and mask.shape == (32, 32)
            assert set(np.unique(mask)) == {0, 255}
            ys, _ = np.nonzero(mask)
            # Glyph 50-85% of the image high before rotation.
            assert 0.4 * 32 <= ys.max() - ys.min() + 1 <= 32
            assert (mask > 0).mean() < 0.6
    counts = Counter(d['gt_label'] for d in read_json(ds_root / 'cls' / 'train.json')['data_list'])
    assert sorted(counts) == list(range(10)) and min(counts.values()) == 2


# ----------------------------------------------------------------- dataset classes

def build(cfg, scope):
    with DefaultScope.overwrite_default_scope(scope):
        return DATASETS.build(cfg)


def det_cfg(root, split='train', pipeline=()):
    return dict(type='mmgat.DigitScenesDetDataset', data_root=f'{root}/',
                ann_file=f'annotations/{split}.json', data_prefix=dict(img=f'images/{split}/'),
                filter_cfg=dict(filter_empty_gt=True, min_size=4), pipeline=list(pipeline))


def seg_cfg(root, split='train', pipeline=()):
    return dict(type='mmgat.DigitScenesSegDataset', data_root=f'{root}/',
                data_prefix=dict(img_path=f'images/{split}', seg_map_path=f'seg_maps/{split}'),
                pipeline=list(pipeline))


def cls_cfg(root, split='train', pipeline=()):
    return dict(type='mmgat.DigitScenesClsDataset', data_root=f'{root}/',
                ann_file=f'cls/{split}.json',
                data_prefix=dict(img_path=f'cls/images/{split}', mask_path=f'cls/masks/{split}'),
                pipeline=list(pipeline))


def test_det_dataset(ds_root):
    ds = build(det_cfg(ds_root, 'val'), 'mmdet')
    assert type(ds).__name__ == 'DigitScenesDetDataset'
    assert ds.metainfo['classes'] == tuple(str(d) for d in range(10))
    assert len(ds.metainfo['palette']) == 10
    assert len(ds) == 6
    coco = read_json(ds_root / 'annotations' / 'val.json')
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        anns = [a for a in coco['annotations'] if a['image_id'] == info['img_id']]
        assert [inst['bbox_label'] for inst in info['instances']] == [
            a['category_id'] - 1 for a in anns]
        assert Path(info['img_path']).is_file()


def test_seg_dataset(ds_root):
    ds = build(seg_cfg(ds_root, 'val_ood'), 'mmseg')
    assert ds.metainfo['classes'][0] == 'background' and len(ds.metainfo['classes']) == 11
    assert len(ds.metainfo['palette']) == 11
    assert len(ds) == 6
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        assert Path(info['seg_map_path']).is_file()
        assert Path(info['img_path']).name == Path(info['seg_map_path']).name


def test_cls_dataset(ds_root):
    ds = build(cls_cfg(ds_root, 'train', [dict(type='LoadImageFromFile')]), 'mmgat')
    assert ds.metainfo['classes'] == tuple(str(d) for d in range(10))
    assert len(ds) == 20
    ann = read_json(ds_root / 'cls' / 'train.json')['data_list']
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        assert Path(info['img_path']).is_absolute() and Path(info['img_path']).is_file()
        assert Path(info['mask_path']).is_absolute() and Path(info['mask_path']).is_file()
        assert info['gt_label'] == ann[i]['gt_label'] and ds.get_cat_ids(i) == [info['gt_label']]
    sample = ds[0]
    assert sample['img'].shape == (32, 32, 3)


@pytest.mark.parametrize('make_cfg, scope', [(det_cfg, 'mmdet'), (seg_cfg, 'mmseg'),
                                             (cls_cfg, 'mmgat')])
def test_missing_data_says_how_to_generate(tmp_path, make_cfg, scope):
    root = tmp_path / 'nowhere'
    with pytest.raises(DataNotFoundError) as err:
        build(make_cfg(root), scope)
    assert 'make_digitscenes' in str(err.value) and str(root) in str(err.value)


@pytest.fixture
def broken_root(ds_root, tmp_path):
    root = tmp_path / 'broken'
    shutil.copytree(ds_root, root)
    return root


def test_corrupt_image_is_named(broken_root):
    bad = broken_root / 'images' / 'train' / '000003.png'
    bad.write_bytes(b'\x89PNG garbage, not an image')
    ds = build(det_cfg(broken_root, pipeline=[dict(type='LoadImageFromFile')]), 'mmdet')
    idx = [Path(ds.get_data_info(i)['img_path']).name for i in range(len(ds))].index(bad.name)
    assert ds[idx + 1]['img'].shape == (96, 96, 3)   # other samples still load
    with pytest.raises(CorruptImageError) as err:
        ds[idx]
    assert str(bad) in str(err.value) and f'sample {idx}' in str(err.value)


def test_corrupt_seg_map_and_cls_image_are_named(broken_root):
    bad_map = broken_root / 'seg_maps' / 'val' / '000001.png'
    bad_map.write_bytes(b'')
    ds = build(seg_cfg(broken_root, 'val', [dict(type='LoadImageFromFile'),
                                            dict(type='LoadAnnotations')]), 'mmseg')
    with pytest.raises(CorruptImageError, match='000001.png'):
        ds[1]

    bad_img = broken_root / 'cls' / 'images' / 'train' / '000000.png'
    bad_img.write_bytes(bytes(range(256)) * 4)
    ds = build(cls_cfg(broken_root, pipeline=[dict(type='LoadImageFromFile')]), 'mmgat')
    with pytest.raises(CorruptImageError, match=str(bad_img)):
        ds[0]


def json_error_position(text):
    try:
        json.loads(text)
    except json.JSONDecodeError as e:
        return f'line {e.lineno}, column {e.colno}'
    raise AssertionError('valid JSON')


@pytest.mark.parametrize('make_cfg, scope, ann', [
    (cls_cfg, 'mmgat', 'cls/val.json'),
    (det_cfg, 'mmdet', 'annotations/val.json'),   # COCO, read by pycocotools
])
@pytest.mark.parametrize('indent', [None, 1])
def test_cut_annotation_file_is_named_with_position(broken_root, make_cfg, scope, ann,
                                                    indent):
    path = broken_root / ann
    text = json.dumps(read_json(path), indent=indent)
    text = text[:len(text) // 2]   # what an interrupted copy leaves
    path.write_text(text)
    with pytest.raises(CorruptAnnotationError) as err:
        build(make_cfg(broken_root, 'val'), scope)
    message = str(err.value)
    assert str(path) in message and json_error_position(text) in message
    assert '\n' not in message
    if indent:
        assert not message.split('line ')[1].startswith('1,')  # a real line number


def test_unrelated_errors_pass_unchanged(ds_root):
    class Boom(RuntimeError):
        pass

    def explode(results):
        raise Boom('pipeline bug')

    ds = build(cls_cfg(ds_root, pipeline=[dict(type='LoadImageFromFile'), explode]), 'mmgat')
    with pytest.raises(Boom, match='pipeline bug'):
        ds[0]
