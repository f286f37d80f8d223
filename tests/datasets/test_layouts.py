"""DigitScenes in the COCO / VOC / Cityscapes / ADE20K layouts, read by the upstream classes.

Each layout is built from the upstream dataset config (mmdet's / mmseg's shipped
``_base_/datasets/*.py`` with ``data_root`` replaced) and checked against scenes
re-rendered here, so that a wrong box convention, label offset or class mapping fails.
"""
import json
import os
import os.path as osp
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[2]

import mmdet  # noqa: E402
import mmgat  # noqa: F401,E402  (registers every component)
import mmseg  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.registry import DATASETS, METRICS, DefaultScope  # noqa: E402

from mmgat.datasets.digitscenes_render import render_scene, sample_rng  # noqa: E402
from mmgat.datasets.layouts import LAYOUTS, layout_shape, write_layout  # noqa: E402

COUNTS = dict(num_train=4, num_val=3, num_val_ood=2, seed=0)
SIZES = dict(coco=dict(size=64), voc=dict(size=64), cityscapes=dict(height=64, width=128),
             ade20k=dict(size=64))
UPSTREAM = dict(coco=(mmdet, '_base_/datasets/coco_detection.py'),
                voc=(mmdet, '_base_/datasets/voc0712.py'),
                cityscapes=(mmseg, '_base_/datasets/cityscapes.py'),
                ade20k=(mmseg, '_base_/datasets/ade20k.py'))
SCOPE = dict(coco='mmdet', voc='mmdet', cityscapes='mmseg', ade20k='mmseg')


@pytest.fixture(scope='module')
def roots(tmp_path_factory):
    base = tmp_path_factory.mktemp('layouts')
    return {name: Path(write_layout(name, str(base / name), **SIZES[name], **COUNTS))
            for name in LAYOUTS}


def all_files(root):
    return sorted(p.relative_to(root) for p in Path(root).rglob('*') if p.is_file())


def scene(name, split, index):
    shape = layout_shape(name, **SIZES[name])
    return render_scene(sample_rng(COUNTS['seed'], split, index, 'scene'), shape, split)


def upstream(name, root):
    """The upstream dataset config with every ``data_root`` pointing at ``root``."""
    pkg, rel = UPSTREAM[name]
    cfg = Config.fromfile(osp.join(osp.dirname(pkg.__file__), '.mim', 'configs', rel))

    def reroot(node):
        if isinstance(node, dict):
            return {k: (f'{root}/' if k == 'data_root' else reroot(v)) for k, v in node.items()}
        if isinstance(node, list):
            return [reroot(v) for v in node]
        return node
    return reroot(cfg.to_dict())


def build(name, cfg):
    with DefaultScope.overwrite_default_scope(SCOPE[name]):
        return DATASETS.build(cfg)


def small_resize(pipeline, scale):
    """The upstream pipeline with its Resize scale shrunk (everything else unchanged)."""
    out = [dict(t) for t in pipeline]
    resizes = [t for t in out if t['type'] == 'Resize']
    assert len(resizes) == 1
    resizes[0]['scale'] = scale
    return out


def expected_xyxy(sc, voc=False):
    # COCO [x, y, w, h] -> [x, y, x + w, y + h]; VOC's 1-based inclusive boxes, read
    # with mmdet's minus-one, end one pixel earlier.
    end = 1 if voc else 0
    return np.array([[x, y, x + w - end, y + h - end]
                     for x, y, w, h in (i['bbox'] for i in sc.instances)], np.float32)


def expected_seg(sc):
    # Digit d -> class d, background -> class 10 (the first class after the digits).
    return np.where(sc.label == 0, 10, sc.label.astype(np.int64) - 1)


def digits(sc):
    return np.array([i['digit'] for i in sc.instances])


# ----------------------------------------------------------------- detection

def test_coco_read_by_upstream_config(roots):
    cfg = upstream('coco', roots['coco'])
    train = build('coco', dict(cfg['train_dataloader']['dataset'], pipeline=[]))
    val_cfg = cfg['val_dataloader']['dataset']
    val = build('coco', dict(val_cfg, pipeline=small_resize(val_cfg['pipeline'], (128, 128))))
    assert (len(train), len(val)) == (4, 3)
    classes = mmdet.datasets.CocoDataset.METAINFO['classes']
    assert len(val.cat_ids) == len(classes) == 80
    assert val.cat_ids[:10] == list(range(1, 11)) and val.cat_ids[-1] == 90
    with open(roots['coco'] / 'annotations' / 'instances_val2017.json') as f:
        cats = {c['id']: c['name'] for c in json.load(f)['categories']}
    names = [cats[i] for i in val.cat_ids]
    assert names == list(classes)
    assert names[:3] == ['person', 'bicycle', 'car']
    for i in range(len(val)):
        sample = val[i]
        sc = scene('coco', 'val', i)
        assert sample['inputs'].shape == (3, 128, 128)   # 64 px scene, scale factor 2
        gt = sample['data_samples'].gt_instances
        np.testing.assert_array_equal(gt.labels.numpy(), digits(sc))
        # The upstream test pipeline loads boxes after Resize: original pixel coordinates.
        np.testing.assert_allclose(gt.bboxes.numpy(), expected_xyxy(sc))
        assert sample['data_samples'].scale_factor == (2.0, 2.0)
        assert Path(sample['data_samples'].img_path).suffix == '.jpg'


def test_coco_ground_truth_scores_map_one(roots):
    ann_file = str(roots['coco'] / 'annotations' / 'instances_val2017.json')
    ds = build('coco', dict(upstream('coco', roots['coco'])['val_dataloader']['dataset'],
                            pipeline=[]))
    with DefaultScope.overwrite_default_scope('mmdet'):
        metric = METRICS.build(dict(type='CocoMetric', ann_file=ann_file, metric='bbox'))
    metric.dataset_meta = ds.metainfo
    for i in range(len(ds)):
        sc = scene('coco', 'val', i)
        n = len(sc.instances)
        metric.process({}, [dict(
            img_id=i + 1, ori_shape=sc.label.shape,
            pred_instances=dict(bboxes=torch.from_numpy(expected_xyxy(sc)),
                                scores=torch.ones(n), labels=torch.from_numpy(digits(sc))))])
    result = metric.evaluate(len(ds))
    assert result['coco/bbox_mAP'] == pytest.approx(1.0, abs=1e-3), result


def test_voc_read_by_upstream_config(roots):
    cfg = upstream('voc', roots['voc'])
    train_cfg = cfg['train_dataloader']['dataset']   # RepeatDataset(ConcatDataset(07, 12))
    for sub in train_cfg['dataset']['datasets']:
        sub['pipeline'] = []
    train = build('voc', train_cfg)
    assert len(train) == 3 * 4
    years = [d.get_data_info(0)['img_id'] for d in train.dataset.datasets]
    assert [len(d) for d in train.dataset.datasets] == [2, 2] and years == [
        'train_000000', 'train_000001']
    val_cfg = cfg['val_dataloader']['dataset']
    val = build('voc', dict(val_cfg, pipeline=small_resize(val_cfg['pipeline'], (128, 128))))
    assert len(val) == 3
    assert val.metainfo['dataset_type'] == 'VOC2007'
    assert val.metainfo['classes'][:10] == mmdet.datasets.VOCDataset.METAINFO['classes'][:10]
    assert val.metainfo['classes'][:3] == ('aeroplane', 'bicycle', 'bird')
    for i in range(len(val)):
        sample = val[i]
        sc = scene('voc', 'val', i)
        assert sample['inputs'].shape == (3, 128, 128)
        gt = sample['data_samples'].gt_instances
        np.testing.assert_array_equal(gt.labels.numpy(), digits(sc))
        np.testing.assert_allclose(gt.bboxes.numpy(), expected_xyxy(sc, voc=True))
        assert len(sample['data_samples'].ignored_instances) == 0   # difficult = 0


def test_voc_ground_truth_scores_map_one(roots):
    val_cfg = upstream('voc', roots['voc'])['val_dataloader']['dataset']
    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations', with_bbox=True),
                dict(type='PackDetInputs')]
    ds = build('voc', dict(val_cfg, pipeline=pipeline))
    with DefaultScope.overwrite_default_scope('mmdet'):
        metric = METRICS.build(dict(type='VOCMetric', metric='mAP', eval_mode='11points'))
    metric.dataset_meta = ds.metainfo
    for i in range(len(ds)):
        sc = scene('voc', 'val', i)
        sample = ds[i]['data_samples'].to_dict()
        sample['pred_instances'] = dict(bboxes=torch.from_numpy(expected_xyxy(sc, voc=True)),
                                        scores=torch.ones(len(sc.instances)),
                                        labels=torch.from_numpy(digits(sc)))
        metric.process({}, [sample])
    assert metric.evaluate(len(ds))['pascal_voc/mAP'] == pytest.approx(1.0, abs=1e-3)


# ----------------------------------------------------------------- segmentation

@pytest.mark.parametrize('name', ['cityscapes', 'ade20k'])
def test_seg_read_by_upstream_config(roots, name):
    cfg = upstream(name, roots[name])
    train = build(name, dict(cfg['train_dataloader']['dataset'], pipeline=[]))
    h, w = layout_shape(name, **SIZES[name])
    val_cfg = cfg['val_dataloader']['dataset']
    val = build(name, dict(val_cfg, pipeline=small_resize(val_cfg['pipeline'], (2 * w, 2 * h))))
    assert (len(train), len(val)) == (4, 3)
    cls = mmseg.datasets.CityscapesDataset if name == 'cityscapes' else mmseg.datasets.ADE20KDataset
    assert val.metainfo['classes'] == cls.METAINFO['classes']
    assert list(val.metainfo['classes'][:10]) == list(LAYOUTS[name].classes)
    loader = build(name, dict(val_cfg, pipeline=[dict(type='LoadAnnotations', **(
        dict(reduce_zero_label=True) if name == 'ade20k' else {}))]))
    for i in range(len(val)):
        sc = scene(name, 'val', i)
        # The label map as the upstream loader reads it: exactly digit d -> d, background 10.
        np.testing.assert_array_equal(loader[i]['gt_seg_map'], expected_seg(sc))
        sample = val[i]
        assert sample['inputs'].shape == (3, 2 * h, 2 * w)
        values = set(np.unique(sample['data_samples'].gt_sem_seg.data.numpy()).tolist())
        assert values == set(digits(sc).tolist()) | {10}


def test_cityscapes_ground_truth_scores_miou_100(roots):
    val_cfg = upstream('cityscapes', roots['cityscapes'])['val_dataloader']['dataset']
    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                dict(type='PackSegInputs')]
    ds = build('cityscapes', dict(val_cfg, pipeline=pipeline))
    with DefaultScope.overwrite_default_scope('mmseg'):
        metric = METRICS.build(dict(type='IoUMetric', iou_metrics=['mIoU']))
    metric.dataset_meta = ds.metainfo
    for i in range(len(ds)):
        sample = ds[i]['data_samples'].to_dict()
        pred = torch.from_numpy(expected_seg(scene('cityscapes', 'val', i)))[None]
        sample['pred_sem_seg'] = dict(data=pred)
        metric.process({}, [sample])
    assert metric.evaluate(len(ds))['mIoU'] == pytest.approx(100.0)


# ----------------------------------------------------------------- writer

def test_ood_split_and_shapes(roots):
    assert len(list((roots['coco'] / 'val_ood2017').iterdir())) == 2
    assert (roots['voc'] / 'VOC2007/ImageSets/Main/test_ood.txt').read_text().split() == [
        'val_ood_000000', 'val_ood_000001']
    assert len(list((roots['cityscapes'] / 'leftImg8bit/val_ood/munster').iterdir())) == 2
    assert len(list((roots['ade20k'] / 'annotations/validation_ood').iterdir())) == 2
    assert layout_shape('cityscapes') == (256, 512) and layout_shape('coco') == (256, 256)
    assert layout_shape('cityscapes', size=64) == (64, 128)
    assert layout_shape('ade20k', size=64, width=96) == (64, 96)


@pytest.mark.parametrize('name', sorted(LAYOUTS))
def test_default_root_is_the_upstream_data_root(name):
    pkg, rel = UPSTREAM[name]
    cfg = Config.fromfile(osp.join(osp.dirname(pkg.__file__), '.mim', 'configs', rel))
    assert cfg.data_root.rstrip('/') == LAYOUTS[name].default_root


def test_same_args_same_bytes(roots, tmp_path):
    for name in LAYOUTS:   # workers=2 must not change a byte either
        again = Path(write_layout(name, str(tmp_path / name), workers=2, **SIZES[name],
                                  **COUNTS))
        files = all_files(roots[name])
        assert files == all_files(again), name
        for rel in files:
            assert (roots[name] / rel).read_bytes() == (again / rel).read_bytes(), rel
    # Fewer training scenes leave val alone; a new seed replaces the folder in place.
    fewer = Path(write_layout('coco', str(tmp_path / 'coco'), **SIZES['coco'],
                              **dict(COUNTS, num_train=2, seed=0)))
    rel = 'annotations/instances_val2017.json'
    assert (fewer / rel).read_bytes() == (roots['coco'] / rel).read_bytes()
    assert len(list((fewer / 'train2017').iterdir())) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(LAYOUTS)   # no temp folders


def run_tool(*args):
    env = dict(os.environ, PYTHONWARNINGS='ignore')   # third-party import warnings
    return subprocess.run([sys.executable, 'tools/make_digitscenes.py', *map(str, args)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def test_tool_writes_the_same_bytes(roots, tmp_path):
    out = tmp_path / 'cityscapes'
    result = run_tool('--layout', 'cityscapes', '--out', out, '--height', 64, '--width', 128,
                      '--num-train', 4, '--num-val', 3, '--num-val-ood', 2, '--no-progress')
    assert result.returncode == 0, result.stderr
    assert all_files(out) == all_files(roots['cityscapes'])
    for rel in all_files(out):
        assert (out / rel).read_bytes() == (roots['cityscapes'] / rel).read_bytes(), rel


@pytest.mark.parametrize('case', ['unknown_layout', 'foreign_folder', 'height_without_layout'])
def test_tool_bad_input_is_one_line(tmp_path, case):
    precious = tmp_path / 'precious'
    precious.mkdir()
    (precious / 'thesis.tex').write_text('keep me')
    args, fragment = dict(
        unknown_layout=(['--layout', 'kitti', '--out', tmp_path / 'k'], 'kitti'),
        foreign_folder=(['--layout', 'coco', '--out', precious, '--size', 64], str(precious)),
        height_without_layout=(['--out', tmp_path / 'd', '--height', 64], '--layout'))[case]
    result = run_tool(*args, '--num-train', 1, '--num-val', 1, '--no-progress')
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], result.stderr
    assert (precious / 'thesis.tex').read_text() == 'keep me'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['precious']
