"""Tests of mmgat's corruptions and the Corrupt transform.

* the 15 corruptions imagecorruptions 1.1.2 still computes: bit-equal to it for the same
  NumPy global seed;
* glass_blur / gaussian_blur: bit-equal to imagecorruptions' own code with the removed
  ``skimage.filters.gaussian(multichannel=True)`` monkeypatched to ``channel_axis=-1``;
  fog: bit-equal to imagecorruptions' fog (NumPy 1.26 still has ``np.float_``; on NumPy 2
  it is monkeypatched back); impulse_noise: bit-equal once skimage's ``random_noise`` gets
  the same ``rng`` mmgat gives it (imagecorruptions' own call is unseeded);
* all severities keep shape and dtype and change the image more as severity grows;
* the transform: BGR handling, per-image determinism, grey / float images, errors.
"""
import numpy as np
import pytest

from mmgat.transforms.corruptions import (BENCHMARK_CORRUPTIONS, CORRUPTIONS,
                                          HOLDOUT_CORRUPTIONS, MMGAT_IMPLEMENTATIONS,
                                          corrupt)
from mmgat.utils.errors import ConfigError

SEVERITIES = (1, 2, 3, 4, 5)
DELEGATED = [name for name in CORRUPTIONS if name not in MMGAT_IMPLEMENTATIONS]


@pytest.fixture(scope='module')
def ic():
    """imagecorruptions (optional dependency, requirements/optional.txt)."""
    pytest.importorskip('skimage')
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        module = pytest.importorskip('imagecorruptions')
        import imagecorruptions.corruptions  # noqa: F401
    return module


def make_image(h=64, w=64):
    """Smooth colour gradients with two flat rectangles: edges, colours, flat areas."""
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([x * 255 // (w - 1), y * 255 // (h - 1),
                    (x + y) * 255 // (h + w - 2)], -1).astype(np.uint8)
    img[h // 4:h // 2, w // 4:3 * w // 4] = (220, 40, 40)
    img[h // 2:7 * h // 8, w // 8:w // 3] = (30, 30, 200)
    return img


def reference(ic, image, name, severity, seed):
    """imagecorruptions' output under ``np.random.seed(seed)``."""
    np.random.seed(seed)
    return ic.corrupt(image, severity=severity, corruption_name=name)


def test_names_match_imagecorruptions(ic):
    assert len(BENCHMARK_CORRUPTIONS) == 15 and len(HOLDOUT_CORRUPTIONS) == 4
    assert list(BENCHMARK_CORRUPTIONS) == ic.get_corruption_names('common')
    assert list(HOLDOUT_CORRUPTIONS) == ic.get_corruption_names('validation')
    assert set(MMGAT_IMPLEMENTATIONS) == {'glass_blur', 'gaussian_blur', 'fog',
                                          'impulse_noise'}


@pytest.mark.parametrize('name', DELEGATED)
def test_equal_to_imagecorruptions(ic, name):
    img = make_image()
    for severity in SEVERITIES:
        for seed in (0, 1):
            expected = reference(ic, img, name, severity, seed)
            assert np.array_equal(corrupt(img, name, severity, rng_seed=seed), expected)
            # rng_seed=None uses the global RNG exactly as imagecorruptions does.
            np.random.seed(seed)
            assert np.array_equal(corrupt(img, name, severity), expected)


@pytest.fixture
def modern_gaussian(ic, monkeypatch):
    """Make imagecorruptions' glass_blur / gaussian_blur run: multichannel -> channel_axis."""
    from skimage.filters import gaussian

    def patched(image, sigma=1, multichannel=None, **kwargs):
        return gaussian(image, sigma=sigma, channel_axis=-1 if multichannel else None,
                        **kwargs)

    monkeypatch.setattr(ic.corruptions, 'gaussian', patched)


@pytest.mark.parametrize('name', ['glass_blur', 'gaussian_blur'])
@pytest.mark.parametrize('shape', [(64, 64), (37, 53), (32, 32)])
def test_blurs_equal_patched_imagecorruptions(ic, modern_gaussian, name, shape):
    img = make_image(*shape)
    for severity in SEVERITIES:
        for seed in (0, 1):
            expected = reference(ic, img, name, severity, seed)
            assert np.array_equal(corrupt(img, name, severity, rng_seed=seed), expected)


@pytest.mark.parametrize('shape', [(64, 64), (37, 53)])
def test_fog_equals_imagecorruptions(ic, monkeypatch, shape):
    # NumPy 2 removed np.float_, the only thing that breaks imagecorruptions' fog.
    monkeypatch.setattr(np, 'float_', np.float64, raising=False)
    img = make_image(*shape)
    for severity in SEVERITIES:
        for seed in (0, 1):
            expected = reference(ic, img, 'fog', severity, seed)
            assert np.array_equal(corrupt(img, 'fog', severity, rng_seed=seed), expected)


def test_impulse_noise_is_seeded_and_equals_imagecorruptions(ic, monkeypatch):
    import skimage.util
    img = make_image()
    original = skimage.util.random_noise

    def seeded(*args, **kwargs):  # what mmgat passes: a seed drawn from the global RNG
        return original(*args, rng=int(np.random.randint(2**32, dtype=np.int64)), **kwargs)

    for severity in SEVERITIES:
        monkeypatch.setattr(skimage.util, 'random_noise', seeded)
        expected = reference(ic, img, 'impulse_noise', severity, 3)
        monkeypatch.setattr(skimage.util, 'random_noise', original)
        out = corrupt(img, 'impulse_noise', severity, rng_seed=3)
        assert np.array_equal(out, expected)
        assert np.array_equal(corrupt(img, 'impulse_noise', severity, rng_seed=3), out)


@pytest.mark.parametrize('name', sorted(MMGAT_IMPLEMENTATIONS))
def test_mmgat_implementations_grow_with_severity(ic, name):
    img = make_image()
    change = []
    for severity in SEVERITIES:
        outs = [corrupt(img, name, severity, rng_seed=seed) for seed in range(3)]
        for out in outs:
            assert out.shape == img.shape and out.dtype == np.uint8
        change.append(np.mean([np.abs(o.astype(float) - img).mean() for o in outs]))
    assert min(change) > 0
    if name == 'glass_blur':
        # Its (sigma, max_delta, iterations) table is not monotone: severity 2 shuffles
        # once where 1 shuffles twice, 4 has fewer passes than 3. Ends still ordered.
        assert change[0] < change[2] and change[0] < change[4]
    else:
        assert all(a < b for a, b in zip(change, change[1:])), change


def test_glass_blur_on_large_image_is_fast(ic):
    import time
    img = np.random.RandomState(0).randint(0, 256, (400, 600, 3)).astype(np.uint8)
    start = time.perf_counter()
    out = corrupt(img, 'glass_blur', 5, rng_seed=0)
    # imagecorruptions' per-pixel Python loop takes ~6 s here; the row-wise one < 1 s.
    assert time.perf_counter() - start < 5
    assert out.shape == img.shape


def test_rng_seed_leaves_global_state_alone(ic):
    img = make_image()
    np.random.seed(42)
    expected_next = np.random.rand()
    np.random.seed(42)
    a = corrupt(img, 'gaussian_noise', 3, rng_seed=7)
    assert np.random.rand() == expected_next
    assert np.array_equal(a, corrupt(img, 'gaussian_noise', 3, rng_seed=7))
    assert not np.array_equal(a, corrupt(img, 'gaussian_noise', 3, rng_seed=8))


def test_grey_input_comes_back_as_three_channels(ic):
    grey = make_image()[..., 1]
    for shape in [grey.shape, grey.shape + (1,)]:
        out = corrupt(grey.reshape(shape), 'fog', 2, rng_seed=0)
        assert out.shape == (64, 64, 3)
        assert np.array_equal(out, corrupt(np.stack([grey] * 3, -1), 'fog', 2, rng_seed=0))


@pytest.mark.parametrize('name, match', [('fogg', "Did you mean 'fog'"),
                                         ('Gaussian_Blur', "Did you mean 'gaussian_blur'"),
                                         ('rain', 'Valid corruptions'),
                                         (None, 'saturate')])
def test_unknown_corruption(name, match):
    with pytest.raises(ConfigError, match=match):
        corrupt(make_image(), name, 1)


@pytest.mark.parametrize('severity', [0, 6, -1, 2.5, '3', True, None])
def test_bad_severity(severity):
    with pytest.raises(ConfigError, match='severity must be an integer from 1 to 5'):
        corrupt(make_image(), 'fog', severity)


@pytest.mark.parametrize('image, error, match', [
    (np.zeros((64, 64, 3), np.float32), TypeError, 'uint8'),
    ([[0]], TypeError, 'numpy array'),
    (np.zeros((64, 64, 4), np.uint8), ValueError, 'shape'),
    (np.zeros((31, 64, 3), np.uint8), ValueError, 'at least 32'),
])
def test_bad_images(image, error, match):
    with pytest.raises(error, match=match):
        corrupt(image, 'contrast', 1)


# ----------------------------------------------------------------------------------------
# The Corrupt transform
# ----------------------------------------------------------------------------------------
def write_image(folder, name='a.png', img=None):
    import cv2
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    rgb = make_image() if img is None else img
    cv2.imwrite(str(path), np.ascontiguousarray(rgb[..., ::-1]))  # files hold BGR
    return str(path)


def pipeline(scope, **corrupt_kwargs):
    from mmcv.transforms import Compose
    from mmengine.registry import DefaultScope
    __import__(f'{scope}.registry')
    load = dict(type='LoadImageFromFile')
    load.update(corrupt_kwargs.pop('load', {}))
    with DefaultScope.overwrite_default_scope(scope):
        return Compose([load, dict(type='mmgat.Corrupt', **corrupt_kwargs)])


@pytest.mark.parametrize('scope', ['mmgat', 'mmdet', 'mmseg'])
def test_transform_in_pipeline_bgr(ic, tmp_path, scope):
    from mmgat.transforms.corrupt import image_seed
    path = write_image(tmp_path)
    out = pipeline(scope, corruption='frost', severity=3, seed=0)(dict(img_path=path))
    rgb = make_image()
    expected_rgb = corrupt(rgb, 'frost', 3, rng_seed=image_seed(0, 'a.png'))
    assert out['img'].dtype == np.uint8 and out['img'].shape == rgb.shape
    assert np.array_equal(out['img'], expected_rgb[..., ::-1])  # back to BGR
    # Corrupting the BGR array as if it were RGB would give another (wrong) image.
    wrong = corrupt(rgb[..., ::-1].copy(), 'frost', 3, rng_seed=image_seed(0, 'a.png'))
    assert not np.array_equal(out['img'], wrong)


def test_transform_is_deterministic_per_image(ic, tmp_path):
    a = write_image(tmp_path / 'one', 'a.png')
    a_elsewhere = write_image(tmp_path / 'two', 'a.png')
    b = write_image(tmp_path / 'one', 'b.png')
    run = pipeline('mmdet', corruption='glass_blur', severity=2, seed=5)
    np.random.seed(0)
    next_global = np.random.rand()
    np.random.seed(0)
    first = run(dict(img_path=a))['img']
    assert np.random.rand() == next_global  # the global RNG is not consumed
    assert np.array_equal(first, run(dict(img_path=a))['img'])
    assert np.array_equal(first, run(dict(img_path=a_elsewhere))['img'])  # same file name
    assert not np.array_equal(first, run(dict(img_path=b))['img'])
    other_seed = pipeline('mmdet', corruption='glass_blur', severity=2, seed=6)
    assert not np.array_equal(first, other_seed(dict(img_path=a))['img'])


def test_transform_without_seed_follows_global_rng(ic, tmp_path):
    path = write_image(tmp_path)
    run = pipeline('mmgat', corruption='shot_noise', severity=4)
    np.random.seed(1)
    first = run(dict(img_path=path))['img']
    np.random.seed(1)
    assert np.array_equal(first, run(dict(img_path=path))['img'])
    np.random.seed(1)
    assert np.array_equal(first[..., ::-1], corrupt(make_image(), 'shot_noise', 4))


def test_transform_keys_without_path(ic):
    from mmgat.transforms.corrupt import Corrupt
    t = Corrupt('gaussian_blur', 5, seed=0)
    bgr = make_image()[..., ::-1].copy()
    a = t(dict(img=bgr.copy(), sample_idx=0))['img']
    assert np.array_equal(a, t(dict(img=bgr.copy(), sample_idx=0))['img'])
    assert t(dict(img=bgr.copy()))['img'].shape == bgr.shape


def test_transform_grey_and_float_images(ic, tmp_path):
    path = write_image(tmp_path)
    grey = pipeline('mmdet', corruption='snow', severity=2, seed=0,
                    load=dict(color_type='grayscale'))(dict(img_path=path))['img']
    assert grey.shape == (64, 64) and grey.dtype == np.uint8
    as_float = pipeline('mmdet', corruption='snow', severity=2, seed=0,
                        load=dict(to_float32=True))(dict(img_path=path))['img']
    as_uint8 = pipeline('mmdet', corruption='snow', severity=2, seed=0)(
        dict(img_path=path))['img']
    assert as_float.dtype == np.float32 and np.array_equal(as_float, as_uint8)


@pytest.mark.parametrize('kwargs, match', [
    (dict(corruption='fogg', severity=1), "Did you mean 'fog'"),
    (dict(corruption='fog', severity=0), 'from 1 to 5'),
    (dict(corruption='fog', severity=1, seed=-1), 'seed'),
    (dict(corruption='fog', severity=1, seed=1.5), 'seed'),
])
def test_transform_config_errors(kwargs, match):
    from mmengine.registry import DefaultScope

    from mmgat.registry import TRANSFORMS
    with DefaultScope.overwrite_default_scope('mmgat'):
        with pytest.raises(ConfigError, match=match):
            TRANSFORMS.build(dict(type='mmgat.Corrupt', **kwargs))


def test_transform_repr():
    from mmgat.transforms import Corrupt
    assert repr(Corrupt('fog', 3, seed=0)) == "Corrupt(corruption='fog', severity=3, seed=0)"
