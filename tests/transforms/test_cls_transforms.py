"""Tests of ClsDataSample, LoadForegroundMask and PackClsInputs."""
import copy

import cv2
import numpy as np
import pytest
import torch
from mmengine.dataset import Compose
from mmengine.registry import DefaultScope, init_default_scope

from mmgat.registry import TRANSFORMS
from mmgat.structures import ClsDataSample
from mmgat.transforms import LoadForegroundMask, PackClsInputs


@pytest.fixture
def mmgat_scope():
    # init_default_scope changes process-wide state: restore it for other tests.
    saved = copy.copy(DefaultScope._instance_dict)
    init_default_scope('mmgat')
    yield
    DefaultScope._instance_dict = saved


# ----------------------------------------------------------------- ClsDataSample
@pytest.mark.parametrize('value', [3, np.int64(3), torch.tensor(3), torch.tensor([3]),
                                   np.array([3], dtype=np.uint8)])
def test_label_is_long_tensor_of_shape_1(value):
    sample = ClsDataSample()
    sample.gt_label = value
    sample.pred_label = value
    for label in (sample.gt_label, sample.pred_label):
        assert isinstance(label, torch.Tensor)
        assert label.dtype == torch.long
        assert label.shape == (1, )
        assert label.item() == 3


@pytest.mark.parametrize('bad, error', [(2.7, TypeError), (torch.tensor([2.0]), TypeError),
                                        (True, TypeError), (torch.tensor([1, 2]), ValueError),
                                        ('3', TypeError)])
def test_label_rejects_non_index(bad, error):
    with pytest.raises(error):
        ClsDataSample().gt_label = bad


def test_score_and_mask_fields():
    sample = ClsDataSample(metainfo=dict(img_shape=(2, 3)))
    sample.pred_score = np.array([0.25, 0.75], dtype=np.float64)
    assert isinstance(sample.pred_score, torch.Tensor)
    assert sample.pred_score.dtype == torch.float64
    sample.pred_score = torch.tensor([1, 0])  # integer scores become float
    assert sample.pred_score.dtype == torch.float32
    with pytest.raises(ValueError):
        sample.pred_score = torch.zeros(1, 10)

    sample.gt_fg_mask = np.array([[0, 255, 1], [0, 0, 7]], dtype=np.uint8)
    assert sample.gt_fg_mask.dtype == torch.bool
    assert sample.gt_fg_mask.tolist() == [[False, True, True], [False, False, True]]
    with pytest.raises(ValueError):
        sample.gt_fg_mask = np.zeros((1, 2, 3), dtype=bool)

    sample.gt_label = 1
    # to_dict (what mmengine's Evaluator hands the metrics) uses the public names.
    as_dict = sample.to_dict()
    assert set(as_dict) == {'img_shape', 'gt_label', 'pred_score', 'gt_fg_mask'}
    assert as_dict['gt_label'].tolist() == [1]
    # .to() / .cpu() rebuild the sample through the setters: types survive.
    moved = sample.cpu()
    assert isinstance(moved, ClsDataSample)
    assert moved.gt_fg_mask.dtype == torch.bool and moved.gt_label.shape == (1, )

    del sample.gt_label
    assert 'gt_label' not in sample
    assert 'gt_label' not in sample.to_dict()


# ------------------------------------------------------------- LoadForegroundMask
def test_load_foreground_mask_from_png(tmp_path):
    raw = np.zeros((5, 7), dtype=np.uint8)
    raw[1:3, 2:6] = 255
    raw[4, 6] = 1  # any non-zero value is foreground
    path = tmp_path / 'mask.png'
    assert cv2.imwrite(str(path), raw)

    results = LoadForegroundMask()(dict(mask_path=str(path), gt_label=4))
    mask = results['gt_fg_mask']
    assert isinstance(mask, np.ndarray)
    assert mask.dtype == np.bool_
    assert mask.shape == (5, 7)
    np.testing.assert_array_equal(mask, raw > 0)
    assert results['gt_label'] == 4  # other keys untouched


def test_load_foreground_mask_color_png_is_read_as_gray(tmp_path):
    raw = np.zeros((4, 4, 3), dtype=np.uint8)
    raw[0, 0] = (255, 255, 255)
    path = tmp_path / 'mask_rgb.png'
    cv2.imwrite(str(path), raw)
    mask = LoadForegroundMask()(dict(mask_path=str(path)))['gt_fg_mask']
    assert mask.shape == (4, 4)
    assert mask.sum() == 1 and mask[0, 0]


@pytest.mark.parametrize('content', [b'definitely not a png', b''])
def test_load_foreground_mask_corrupt_file_names_the_file(tmp_path, content):
    path = tmp_path / 'broken_mask.png'
    path.write_bytes(content)
    with pytest.raises(ValueError, match='broken_mask.png'):
        LoadForegroundMask()(dict(mask_path=str(path)))


def test_load_foreground_mask_missing_file_names_the_file(tmp_path):
    path = tmp_path / 'absent_mask.png'
    with pytest.raises(FileNotFoundError, match='absent_mask.png'):
        LoadForegroundMask()(dict(mask_path=str(path)))
    with pytest.raises(KeyError, match='mask_path'):
        LoadForegroundMask()(dict(img_path='x.png'))


# ------------------------------------------------------------------ PackClsInputs
def test_pack_cls_inputs_layout_and_sample():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, size=(6, 5, 3), dtype=np.uint8)
    mask = rng.random((6, 5)) > 0.5
    results = dict(img=img, gt_label=7, gt_fg_mask=mask, img_path='/data/a.png',
                   ori_shape=(6, 5), img_shape=(6, 5), extra='not packed')
    packed = PackClsInputs()(results)

    inputs = packed['inputs']
    assert isinstance(inputs, torch.Tensor)
    assert inputs.dtype == torch.uint8
    assert inputs.shape == (3, 6, 5)
    assert inputs.is_contiguous()
    # Channel order is kept (BGR in, BGR out): the data preprocessor swaps it.
    for c in range(3):
        np.testing.assert_array_equal(inputs[c].numpy(), img[..., c])

    sample = packed['data_samples']
    assert isinstance(sample, ClsDataSample)
    assert sample.gt_label.tolist() == [7]
    assert sample.gt_fg_mask.dtype == torch.bool
    np.testing.assert_array_equal(sample.gt_fg_mask.numpy(), mask)
    # Only default meta keys that are present; no data key leaks into metainfo.
    assert set(sample.metainfo_keys()) == {'img_path', 'ori_shape', 'img_shape'}
    assert sample.img_path == '/data/a.png'


def test_pack_cls_inputs_grayscale_noncontiguous_and_meta_keys():
    img = np.arange(12, dtype=np.uint8).reshape(3, 4)
    flipped = img[:, ::-1]  # a negative-stride view
    packed = PackClsInputs(meta_keys=('img_shape', ))(dict(img=flipped, img_shape=(3, 4),
                                                           img_path='p.png'))
    assert packed['inputs'].shape == (1, 3, 4)
    assert packed['inputs'].is_contiguous()
    np.testing.assert_array_equal(packed['inputs'][0].numpy(), flipped)
    sample = packed['data_samples']
    assert sample.metainfo_keys() == ['img_shape']
    assert 'gt_label' not in sample and 'gt_fg_mask' not in sample


def test_pack_cls_inputs_errors():
    with pytest.raises(KeyError, match='img'):
        PackClsInputs()(dict(gt_label=1))
    with pytest.raises(ValueError, match='m.png'):
        PackClsInputs()(dict(img=np.zeros((4, 4, 3), np.uint8),
                             gt_fg_mask=np.zeros((3, 4), bool), mask_path='m.png'))


def test_pipeline_from_config(tmp_path, mmgat_scope):
    img = np.zeros((32, 32, 3), dtype=np.uint8)
    img[..., 0] = 10  # B
    img[..., 2] = 200  # R
    mask = np.zeros((32, 32), dtype=np.uint8)
    mask[8:24, 12:20] = 255
    cv2.imwrite(str(tmp_path / 'img.png'), img)
    cv2.imwrite(str(tmp_path / 'mask.png'), mask)

    # LoadImageFromFile comes from mmcv through the registry parent.
    pipeline = Compose([TRANSFORMS.build(cfg) for cfg in [
        dict(type='LoadImageFromFile'),
        dict(type='LoadForegroundMask'),
        dict(type='PackClsInputs'),
    ]])
    packed = pipeline(dict(img_path=str(tmp_path / 'img.png'),
                           mask_path=str(tmp_path / 'mask.png'), gt_label=2))
    assert packed['inputs'].shape == (3, 32, 32)
    assert packed['inputs'][0, 0, 0] == 10 and packed['inputs'][2, 0, 0] == 200
    sample = packed['data_samples']
    assert sample.gt_label.tolist() == [2]
    assert int(sample.gt_fg_mask.sum()) == 16 * 8
    assert sample.img_shape == (32, 32) and sample.ori_shape == (32, 32)
    assert repr(TRANSFORMS.build(dict(type='LoadForegroundMask'))).startswith(
        'LoadForegroundMask(')
