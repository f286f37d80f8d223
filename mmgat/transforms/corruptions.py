"""The 19 image corruptions of the MMDetection corruption benchmark, all of them working.

Michaelis et al. 2019 ("Benchmarking Robustness in Object Detection") corrupt test images
with the ImageNet-C corruptions as packaged by ``imagecorruptions`` (15 benchmark ones and
4 held-out ones, severities 1-5). mmdet's ``Corrupt`` transform calls
``imagecorruptions`` 1.1.2, which no longer runs everything with today's libraries:

* ``gaussian_blur`` and ``glass_blur`` call ``skimage.filters.gaussian(...,
  multichannel=True)``; scikit-image deprecated ``multichannel`` in 0.19 and removed it
  in 0.20 (``TypeError: gaussian() got an unexpected keyword argument 'multichannel'``).
  The equivalent is ``channel_axis=-1`` (sigma 0 along the channel axis).
* ``fog`` builds its plasma fractal with ``np.empty(..., dtype=np.float_)``; NumPy 2.0
  removed ``np.float_`` (``AttributeError``). With NumPy 1.26 (mmgat's pin) it still
  runs, so mmgat's own ``fog`` is checked bit-for-bit against it in the tests.
* ``impulse_noise`` does not crash but is not reproducible: scikit-image >= 0.19's
  ``random_noise`` draws from a fresh ``np.random.default_rng()`` instead of NumPy's
  global RNG, so ``np.random.seed`` no longer fixes it.

:func:`corrupt` therefore calls ``imagecorruptions``' own functions for the 15 that work
(identical output for the same NumPy global seed) and mmgat's implementations of the same
algorithms for those four. ``imagecorruptions`` (and scikit-image) are optional
dependencies, listed in ``requirements/optional.txt``; they are imported on first use.

Example:
    >>> import numpy as np
    >>> from mmgat.transforms.corruptions import corrupt
    >>> img = np.zeros((64, 64, 3), np.uint8)   # H x W x 3, uint8, RGB
    >>> foggy = corrupt(img, 'fog', severity=3, rng_seed=0)
    >>> foggy.shape, foggy.dtype
    ((64, 64, 3), dtype('uint8'))

In a test pipeline, use the :class:`mmgat.transforms.corrupt.Corrupt` transform instead.
"""
import difflib
import warnings
from typing import Callable, Dict, Optional

import numpy as np

from mmgat.utils.checks import is_int
from mmgat.utils.errors import ConfigError

#: The 15 corruptions of the benchmark, in imagecorruptions' order.
BENCHMARK_CORRUPTIONS = (
    'gaussian_noise', 'shot_noise', 'impulse_noise',                    # noise
    'defocus_blur', 'glass_blur', 'motion_blur', 'zoom_blur',          # blur
    'snow', 'frost', 'fog', 'brightness',                              # weather
    'contrast', 'elastic_transform', 'pixelate', 'jpeg_compression')   # digital
#: The 4 held-out ("validation") corruptions.
HOLDOUT_CORRUPTIONS = ('speckle_noise', 'gaussian_blur', 'spatter', 'saturate')
#: All 19, benchmark ones first (imagecorruptions' ``corruption_tuple`` order).
CORRUPTIONS = BENCHMARK_CORRUPTIONS + HOLDOUT_CORRUPTIONS
SEVERITIES = (1, 2, 3, 4, 5)

#: imagecorruptions (and mmdet) need images at least this many pixels high and wide.
MIN_SIDE = 32


# --------------------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------------------
def check_corruption(corruption_name, severity) -> None:
    """Raise :class:`ConfigError` unless ``corruption_name`` and ``severity`` are valid."""
    if not isinstance(corruption_name, str) or corruption_name not in CORRUPTIONS:
        close = difflib.get_close_matches(str(corruption_name), CORRUPTIONS, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ''
        raise ConfigError(
            f'unknown corruption {corruption_name!r}.{hint} Valid corruptions: '
            f'benchmark {", ".join(BENCHMARK_CORRUPTIONS)}; '
            f'holdout {", ".join(HOLDOUT_CORRUPTIONS)}')
    if not is_int(severity) or not SEVERITIES[0] <= severity <= SEVERITIES[-1]:
        raise ConfigError(f'corruption severity must be an integer from 1 to 5, got '
                          f'{severity!r}')


def _as_rgb_uint8(image) -> np.ndarray:
    """Validate like ``imagecorruptions.corrupt`` and return an H x W x 3 uint8 array."""
    if not isinstance(image, np.ndarray):
        raise TypeError(f'corrupt() expects a numpy array, got {type(image).__name__}')
    if image.dtype != np.uint8:
        raise TypeError(f'corrupt() expects a uint8 image, got dtype {image.dtype}')
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim == 2:  # grey: corrupted as three equal channels, as imagecorruptions does
        image = np.stack((image,) * 3, axis=-1)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f'corrupt() expects an H x W, H x W x 1 or H x W x 3 image, got '
                         f'shape {image.shape}')
    if min(image.shape[:2]) < MIN_SIDE:
        raise ValueError(f'corrupt() needs images at least {MIN_SIDE} x {MIN_SIDE} pixels '
                         f'(as imagecorruptions does), got {image.shape[:2]}')
    return np.ascontiguousarray(image)


def _imagecorruptions():
    """Import ``imagecorruptions`` on first use, with an install hint if it is missing."""
    try:
        with warnings.catch_warnings():
            # 1.1.2 imports pkg_resources and scipy.ndimage.interpolation, both deprecated.
            warnings.simplefilter('ignore', DeprecationWarning)
            warnings.simplefilter('ignore', UserWarning)
            import imagecorruptions
    except ImportError as err:
        if getattr(err, 'name', None) == 'pkg_resources':
            raise ImportError(
                'imagecorruptions 1.1.2 imports pkg_resources, which this setuptools no '
                'longer ships: pip install setuptools==80.9.0') from err
        raise ImportError(
            f'image corruptions need the optional dependencies in requirements/'
            f'optional.txt (imagecorruptions, scikit-image): pip install -r '
            f'requirements/optional.txt ({err})') from err
    return imagecorruptions


def _skimage_gaussian(image: np.ndarray, sigma: float) -> np.ndarray:
    """``skimage.filters.gaussian(image, sigma, multichannel=True)`` in today's API.

    ``channel_axis=-1`` is what ``multichannel=True`` meant: blur H and W, not across
    channels. Every other argument keeps its default, as in imagecorruptions.
    """
    from skimage.filters import gaussian
    return gaussian(image, sigma=sigma, channel_axis=-1)


# --------------------------------------------------------------------------------------
# The four corruptions mmgat implements (same algorithm and RNG use as imagecorruptions)
# --------------------------------------------------------------------------------------
def gaussian_blur(image: np.ndarray, severity: int) -> np.ndarray:
    """Gaussian blur (holdout). Returns float values in [0, 255], like imagecorruptions.

    Replaces ``gaussian(x / 255., sigma=c, multichannel=True)`` (removed API).
    """
    sigma = (1, 2, 3, 4, 6)[severity - 1]
    blurred = _skimage_gaussian(np.asarray(image) / 255., sigma)
    return np.clip(blurred, 0, 1) * 255


def _shuffle_pixels(img: np.ndarray, max_delta: int) -> None:
    """One pass of glass blur's local pixel "swaps", in place, vectorised per row.

    imagecorruptions visits pixels (h, w) from the bottom-right corner (h = H - d ... d + 1,
    w = W - d ... d + 1) and for each draws ``dx, dy = np.random.randint(-d, d, size=2)``,
    then runs ``x[h, w], x[h', w'] = x[h', w'], x[h, w]``. On a NumPy array both sides
    are views, so this is not a swap: ``x[h, w]`` receives ``x[h', w']`` as it is at that
    moment and ``x[h', w']`` keeps its value (the well-known ImageNet-C quirk, kept here
    because it is what every published number used). Its Python loop over every pixel is
    slow on full-size images, so this does the same with one loop per row:

    * all random numbers are drawn at once; ``randint`` with ``size=(n, 2)`` yields the
      same stream as ``n`` calls with ``size=(2,)``;
    * a source in another row is read from ``img`` as it is when the row is processed:
      rows below are already final, rows above still untouched, exactly as in the loop;
    * a source in the same row, to the right (``dy == 0, dx > 0``) and inside the visited
      range, was already overwritten; those chains are followed to their end (pointer
      jumping), every other source still holds its value from before the row.
    """
    height, width = img.shape[:2]
    rows = np.arange(height - max_delta, max_delta, -1)
    cols = np.arange(width - max_delta, max_delta, -1)
    if len(rows) == 0 or len(cols) == 0:
        return  # the loop body never runs, so no random numbers are drawn either
    deltas = np.random.randint(-max_delta, max_delta, size=(len(rows), len(cols), 2))
    col_index = np.arange(len(cols))
    for i, row in enumerate(rows):
        dx, dy = deltas[i, :, 0], deltas[i, :, 1]
        src_rows, src_cols = row + dy, cols + dx
        # cols[j - dx] == cols[j] + dx: the same-row source visited earlier in this row.
        chained = (dy == 0) & (dx > 0) & (src_cols <= cols[0])
        pointer = np.where(chained, col_index - dx, col_index)
        while True:
            jumped = pointer[pointer]
            if np.array_equal(jumped, pointer):
                break
            pointer = jumped
        values = img[src_rows, src_cols]  # read before this row is written
        img[row, cols] = values[pointer]


def glass_blur(image: np.ndarray, severity: int) -> np.ndarray:
    """Glass blur: blur, shuffle pixels locally, blur again (benchmark).

    Replaces both ``gaussian(..., multichannel=True)`` calls (removed API) and runs the
    pixel shuffle vectorised (:func:`_shuffle_pixels`) with the same random numbers.
    """
    sigma, max_delta, iterations = ((0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2),
                                    (1.5, 4, 2))[severity - 1]
    img = np.uint8(_skimage_gaussian(np.asarray(image) / 255., sigma) * 255)
    for _ in range(iterations):
        _shuffle_pixels(img, max_delta)
    return np.clip(_skimage_gaussian(img / 255., sigma), 0, 1) * 255


def plasma_fractal(mapsize: int = 256, wibbledecay: float = 3) -> np.ndarray:
    """A ``mapsize`` x ``mapsize`` diamond-square height map scaled to [0, 1].

    The algorithm of imagecorruptions' ``plasma_fractal`` (itself after FLHerne/mapgen),
    with the same float operations and the same order of ``np.random.uniform`` draws
    (squares, then the two diamond sets, per level), and ``np.float64`` where the
    original asks for ``np.float_``, which NumPy 2.0 removed. ``mapsize`` must be a
    power of two.
    """
    if mapsize < 1 or mapsize & (mapsize - 1):
        raise ValueError(f'plasma_fractal: mapsize must be a power of two, got {mapsize}')
    heights = np.empty((mapsize, mapsize), dtype=np.float64)
    heights[0, 0] = 0
    step, wibble = mapsize, 100.0

    def noisy_mean(total):
        # The original multiplies by wibble twice (scale of the draw and factor); kept.
        return total / 4 + wibble * np.random.uniform(-wibble, wibble, total.shape)

    while step >= 2:
        half = step // 2
        corners = heights[0::step, 0::step]
        # Squares: each centre gets the mean of its 4 corners (wrapping around).
        total = corners + np.roll(corners, shift=-1, axis=0)
        total += np.roll(total, shift=-1, axis=1)
        heights[half::step, half::step] = noisy_mean(total)
        # Diamonds: each edge midpoint gets the mean of 2 centres and 2 corners.
        centres = heights[half::step, half::step]
        corners = heights[0::step, 0::step]
        total = (centres + np.roll(centres, 1, axis=0)) + \
            (corners + np.roll(corners, -1, axis=1))
        heights[0::step, half::step] = noisy_mean(total)
        total = (centres + np.roll(centres, 1, axis=1)) + \
            (corners + np.roll(corners, -1, axis=0))
        heights[half::step, 0::step] = noisy_mean(total)
        step = half
        wibble /= wibbledecay

    heights -= heights.min()
    return heights / heights.max()


def fog(image: np.ndarray, severity: int) -> np.ndarray:
    """Fog: add a plasma fractal and rescale (benchmark). Float output in [0, 255].

    Same as imagecorruptions' ``fog`` with mmgat's :func:`plasma_fractal` (no
    ``np.float_``). The fractal is the next power of two >= the longest side (the
    channel count included, as in the original) and is cropped to the image.
    """
    strength, decay = ((1.5, 2), (2., 2), (2.5, 1.7), (2.5, 1.5), (3., 1.4))[severity - 1]
    img = np.asarray(image) / 255.
    height, width = img.shape[:2]
    longest = int(max(img.shape))
    map_size = 1 if longest == 0 else 2 ** (longest - 1).bit_length()
    max_val = img.max()
    img += strength * plasma_fractal(map_size, decay)[:height, :width][..., np.newaxis]
    return np.clip(img * max_val / (max_val + strength), 0, 1) * 255


def impulse_noise(image: np.ndarray, severity: int) -> np.ndarray:
    """Salt-and-pepper noise (benchmark), seeded from NumPy's global RNG.

    imagecorruptions calls ``skimage.util.random_noise(x / 255., mode='s&p', amount=c)``;
    since scikit-image 0.19 that draws from an unseeded ``np.random.default_rng()``, so
    the result changes on every call whatever ``np.random.seed`` says. mmgat passes
    ``rng=`` an integer drawn from the global RNG (``np.random.randint(2**32)``), which
    makes it follow the global seed like the other 18 corruptions.
    """
    from skimage.util import random_noise
    amount = (.03, .06, .09, 0.17, 0.27)[severity - 1]
    seed = int(np.random.randint(2**32, dtype=np.int64))
    noisy = random_noise(np.asarray(image) / 255., mode='s&p', amount=amount, rng=seed)
    return np.clip(noisy, 0, 1) * 255


#: Corruptions mmgat computes itself; the others are imagecorruptions' own functions.
MMGAT_IMPLEMENTATIONS: Dict[str, Callable[[np.ndarray, int], np.ndarray]] = {
    'gaussian_blur': gaussian_blur,
    'glass_blur': glass_blur,
    'fog': fog,
    'impulse_noise': impulse_noise,
}


# --------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------
def _corrupt_rgb(image: np.ndarray, corruption_name: str, severity: int) -> np.ndarray:
    if corruption_name in MMGAT_IMPLEMENTATIONS:
        # np.uint8() truncates, as imagecorruptions.corrupt does.
        out = np.uint8(MMGAT_IMPLEMENTATIONS[corruption_name](image, severity))
    else:
        out = _imagecorruptions().corrupt(image, severity=severity,
                                          corruption_name=corruption_name)
    height, width = image.shape[:2]
    if out.shape[0] < height or out.shape[1] < width:
        raise RuntimeError(f'{corruption_name} returned {out.shape} for an image of '
                           f'{image.shape}')
    # Corruptions that resize internally crop to the top-left H x W, as zoom_blur and
    # snow do in imagecorruptions; for today's functions this is a no-op.
    return np.ascontiguousarray(out[:height, :width])


def corrupt(image: np.ndarray, corruption_name: str, severity: int,
            rng_seed: Optional[int] = None) -> np.ndarray:
    """Corrupt an RGB image with one of the 19 corruptions at severity 1-5.

    Args:
        image: ``H x W x 3`` (or ``H x W`` / ``H x W x 1`` grey) uint8 array, RGB,
            at least 32 x 32 pixels.
        corruption_name: one of :data:`CORRUPTIONS`.
        severity: 1 (mild) to 5 (strong).
        rng_seed: ``None`` draws from NumPy's global RNG, exactly like
            ``imagecorruptions.corrupt``. An integer in ``[0, 2**32)`` seeds the global
            RNG for this call only (its previous state is restored afterwards, so other
            code's random streams are unaffected): the result equals
            ``np.random.seed(rng_seed); imagecorruptions.corrupt(...)``.

    Returns:
        ``H x W x 3`` uint8 RGB array (grey input comes back as three channels, as in
        imagecorruptions).

    Raises:
        ConfigError: unknown ``corruption_name`` (the message lists the valid ones and
            suggests the closest) or ``severity`` outside 1-5.
        TypeError / ValueError: not a uint8 image of a supported shape and size.
    """
    check_corruption(corruption_name, severity)
    image = _as_rgb_uint8(image)
    severity = int(severity)
    if rng_seed is None:
        return _corrupt_rgb(image, corruption_name, severity)
    state = np.random.get_state()
    np.random.seed(rng_seed)
    try:
        return _corrupt_rgb(image, corruption_name, severity)
    finally:
        np.random.set_state(state)


__all__ = ['corrupt', 'check_corruption', 'CORRUPTIONS', 'BENCHMARK_CORRUPTIONS',
           'HOLDOUT_CORRUPTIONS', 'SEVERITIES', 'MMGAT_IMPLEMENTATIONS', 'plasma_fractal',
           'gaussian_blur', 'glass_blur', 'fog', 'impulse_noise']
