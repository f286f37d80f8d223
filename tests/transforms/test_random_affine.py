import numpy as np
import pytest

from mmgat.transforms import RandomAffineWarp
from mmgat.utils.errors import ConfigError


def square_sample():
    img = np.zeros((32, 32, 3), np.uint8)
    img[10:20, 12:22] = 255
    return dict(img=img.copy(), gt_fg_mask=img[..., 0] > 0)


def test_mask_follows_the_image():
    np.random.seed(0)
    warp = RandomAffineWarp(max_rotate=15, max_translate=0.15, scale=(0.8, 1.2))
    moved = 0
    for _ in range(20):
        sample = square_sample()
        out = warp.transform(sample)
        bright = out['img'][..., 0] > 127
        mask = out['gt_fg_mask']
        assert mask.dtype == bool and mask.shape == (32, 32)
        # Nearest vs bilinear differ only on the square's border pixels.
        assert (bright != mask).sum() <= 0.35 * mask.sum()
        moved += not np.array_equal(mask, square_sample()['gt_fg_mask'])
    assert moved >= 15


def test_identity_settings_change_nothing():
    warp = RandomAffineWarp(max_rotate=0, max_translate=0, scale=(1, 1))
    sample = square_sample()
    out = warp.transform(square_sample())
    assert np.array_equal(out['img'], sample['img'])
    assert np.array_equal(out['gt_fg_mask'], sample['gt_fg_mask'])


def test_same_numpy_seed_same_warp():
    warp = RandomAffineWarp()
    np.random.seed(3)
    a = warp.transform(square_sample())['img']
    np.random.seed(3)
    b = warp.transform(square_sample())['img']
    assert np.array_equal(a, b)


@pytest.mark.parametrize('kwargs', [
    dict(max_rotate=-1), dict(max_translate=0.6), dict(scale=(1.2, 1.0)),
    dict(prob=2.0), dict(border_mode='constant')])
def test_bad_settings_are_refused(kwargs):
    with pytest.raises(ConfigError):
        RandomAffineWarp(**kwargs)
