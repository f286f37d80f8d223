"""Tests of ApplyUniversalPerturbation: channel order, clipping, sizes, bad files."""
import argparse

import numpy as np
import pytest
import torch
from mmengine.registry import DefaultScope

from mmgat.registry import TRANSFORMS
from mmgat.transforms.universal import ApplyUniversalPerturbation
from mmgat.utils.errors import ConfigError, DataNotFoundError, MmgatError


def save(path, pert, order='rgb', **extra):
    torch.save(dict(perturbation=pert, channel_order=order, eps=8 / 255, **extra),
               path)
    return str(path)


def channel_pert(h=4, w=5):
    """A perturbation whose channel i holds the value i + 1 (model order)."""
    pert = torch.zeros(1, 3, h, w)
    for c in range(3):
        pert[0, c] = c + 1
    return pert


def image(h=4, w=5, value=100):
    return np.full((h, w, 3), value, dtype=np.uint8)


@pytest.mark.parametrize('order, expected', [('rgb', [3, 2, 1]), ('bgr', [1, 2, 3])])
def test_channel_order(tmp_path, order, expected):
    path = save(tmp_path / 'u.pth', channel_pert(), order=order)
    out = ApplyUniversalPerturbation(path)(dict(img=image()))['img']
    assert out.dtype == np.float32 and out.shape == (4, 5, 3)
    # The pipeline's image is BGR: an RGB perturbation's R (value 1) lands on index 2.
    assert out[0, 0].tolist() == [100 + v for v in expected]


def test_clipping_strength_and_rounding(tmp_path):
    pert = torch.full((1, 3, 2, 2), 7.5)
    pert[0, :, 1] = -7.5
    path = save(tmp_path / 'u.pth', pert)
    img = np.array([[[250] * 3, [100] * 3], [[3] * 3, [100] * 3]], dtype=np.uint8)
    out = ApplyUniversalPerturbation(path)(dict(img=img.copy()))['img']
    assert out.dtype == np.float32
    assert out[0, 0, 0] == 255 and out[0, 1, 0] == 107.5  # clipped / not rounded
    assert out[1, 0, 0] == 0 and out[1, 1, 0] == 92.5
    double = ApplyUniversalPerturbation(path, strength=2.0)(dict(img=img.copy()))['img']
    assert double[0, 1, 0] == 115.0
    zero = ApplyUniversalPerturbation(path, strength=0.0)(dict(img=img.copy()))['img']
    assert np.array_equal(zero, img.astype(np.float32))
    rounded = ApplyUniversalPerturbation(path, round_to_uint8=True)(
        dict(img=img.copy()))['img']
    assert rounded.dtype == np.uint8 and rounded[0, 1, 0] == 108  # round half to even
    assert rounded[0, 0, 0] == 255 and rounded[1, 0, 0] == 0
    # Float images in, e.g. after another float transform.
    out = ApplyUniversalPerturbation(path)(dict(img=img.astype(np.float32) + 0.25))
    assert out['img'][0, 1, 0] == 107.75


def test_shape_handling(tmp_path):
    pert = torch.arange(2 * 3 * 2 * 3, dtype=torch.float32).reshape(2 * 3, 2, 3)[:3]
    path = save(tmp_path / 'u.pth', pert[None], order='bgr')  # bgr: no flip
    hwc = pert.permute(1, 2, 0).numpy()
    big = ApplyUniversalPerturbation(path)(dict(img=image(3, 4, 0)))['img']
    assert np.array_equal(big[:2, :3], hwc) and not big[2:].any() and not big[:, 3:].any()
    small = ApplyUniversalPerturbation(path)(dict(img=image(1, 2, 0)))['img']
    assert np.array_equal(small, hwc[:1, :2])
    tiled = ApplyUniversalPerturbation(path, fit='tile')(dict(img=image(3, 5, 0)))['img']
    assert np.array_equal(tiled[2, 3:5], hwc[0, 0:2])
    resized = ApplyUniversalPerturbation(path, fit='resize')(dict(img=image(5, 7, 0)))
    assert resized['img'].shape == (5, 7, 3)
    assert resized['img'].max() <= hwc.max() + 1e-4
    # A C x H x W tensor (no batch axis) is accepted too.
    path3 = save(tmp_path / 'u3.pth', pert, order='bgr')
    same = ApplyUniversalPerturbation(path3)(dict(img=image(2, 3, 0)))['img']
    assert np.array_equal(same, hwc)
    # Grayscale image with a 3-channel perturbation: a clear error.
    with pytest.raises(ConfigError, match='3 channel'):
        ApplyUniversalPerturbation(path)(dict(img=np.zeros((2, 3), np.uint8)))


def test_bad_files_name_the_file(tmp_path):
    missing = tmp_path / 'missing.pth'
    with pytest.raises(DataNotFoundError, match='missing.pth'):
        ApplyUniversalPerturbation(str(missing))
    text = tmp_path / 'notes.txt'
    text.write_text('not a tensor')
    with pytest.raises(ConfigError, match='notes.txt'):
        ApplyUniversalPerturbation(str(text))
    plain = tmp_path / 'plain.pth'
    torch.save({'state_dict': {}}, plain)
    with pytest.raises(ConfigError, match="plain.pth.*'perturbation'"):
        ApplyUniversalPerturbation(str(plain))
    wrong = tmp_path / 'wrong.pth'
    torch.save({'perturbation': torch.zeros(4, 4)}, wrong)
    with pytest.raises(ConfigError, match='wrong.pth'):
        ApplyUniversalPerturbation(str(wrong))
    order = save(tmp_path / 'order.pth', channel_pert(), order='yuv')
    with pytest.raises(ConfigError, match="order.pth.*'yuv'"):
        ApplyUniversalPerturbation(order)
    nan = save(tmp_path / 'nan.pth', torch.full((1, 3, 2, 2), float('nan')))
    with pytest.raises(ConfigError, match='nan.pth.*NaN'):
        ApplyUniversalPerturbation(nan)

    evil = tmp_path / 'evil.pth'  # a pickled object outside the allowlist
    torch.save({'perturbation': channel_pert(), 'x': argparse.Namespace(a=1)}, evil)
    with pytest.raises(MmgatError, match='evil.pth'):
        ApplyUniversalPerturbation(str(evil))
    good = save(tmp_path / 'good.pth', channel_pert())
    with pytest.raises(ConfigError, match='fit'):
        ApplyUniversalPerturbation(good, fit='stretch')
    with pytest.raises(ConfigError, match='strength'):
        ApplyUniversalPerturbation(good, strength='1')


@pytest.mark.parametrize('scope', ['mmgat', 'mmdet', 'mmseg'])
def test_built_from_any_scope(tmp_path, scope):
    path = save(tmp_path / 'u.pth', channel_pert())
    __import__(f'{scope}.registry')
    with DefaultScope.overwrite_default_scope(scope):
        from mmengine.registry import TRANSFORMS as ROOT
        transform = ROOT.build(dict(type='mmgat.ApplyUniversalPerturbation', path=path))
    assert isinstance(transform, ApplyUniversalPerturbation)
    assert TRANSFORMS.get('ApplyUniversalPerturbation') is ApplyUniversalPerturbation
    assert 'u.pth' in repr(transform)
