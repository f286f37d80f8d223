"""DigitScenes synthesis: textured backgrounds with Hershey-font digits.

Pure numpy / OpenCV (no torch, no OpenMMLab imports), so that the generator runs
anywhere and in worker processes cheaply. Two kinds of samples are rendered:

* :func:`render_scene` - a ``size`` x ``size`` (or ``(height, width)``) RGB scene with
  2-5 digits, an instance map and a semantic label map (0 = background, digit ``d`` ->
  ``d + 1``). Texture and digit scales follow the shorter side, so a 256 x 512 scene
  looks like two 256 x 256 ones side by side (without the seam); square scenes are
  byte-identical to those of generator version 1.1.
* :func:`render_cls_sample` - a small image with one roughly centred digit and its
  binary foreground mask.

Every sample depends only on ``(seed, split, index)`` through :func:`sample_rng`,
so that changing the number of training images never changes the validation set.

Example:
    >>> rng = sample_rng(seed=0, split='val', index=3)
    >>> scene = render_scene(rng, size=128, split='val')
    >>> scene.image.shape, scene.label.max() <= 10
    ((128, 128, 3), True)
"""
import colorsys
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple, Union

import cv2
import numpy as np

GENERATOR_VERSION = '1.1'

SPLITS = ('train', 'val', 'val_ood')
# Part of every sample's seed: fixed numbers, never positions in a list that may grow.
SPLIT_IDS = {'train': 0, 'val': 1, 'val_ood': 2}
STREAM_IDS = {'scene': 0, 'cls': 1}

IN_DIST_BACKGROUNDS = ('gradient', 'stripes', 'checkers', 'blotches')
OOD_BACKGROUNDS = ('rings', 'waves', 'dots')
# Hue ranges in degrees, half-open [lo, hi).
HUE_RANGES = {'train': (0.0, 180.0), 'ood': (180.0, 360.0)}
# Hues are drawn this far inside their range: red (0 = 360) and cyan (180) sit on both
# families' borders, where pixel noise would flip a hue into the other family.
HUE_MARGIN = 8.0

FONT_FACES = {
    'simplex': cv2.FONT_HERSHEY_SIMPLEX,
    'duplex': cv2.FONT_HERSHEY_DUPLEX,
    'complex': cv2.FONT_HERSHEY_COMPLEX,
    'triplex': cv2.FONT_HERSHEY_TRIPLEX,
}

MAX_ROTATION = 25.0          # degrees, either way
MIN_LUMA_CONTRAST = 0.25     # |Y(digit) - Y(local background)| on a 0-1 scale
MAX_HIDDEN_FRACTION = 0.4    # a placed digit may lose at most this share of its pixels
PLACEMENT_TRIES = 8
NOISE_SIGMA = (0.005, 0.02)  # mild Gaussian pixel noise, 0-1 scale


def split_families(split: str) -> Tuple[Tuple[str, ...], str]:
    """Background families and hue family ('train' or 'ood') used by a split."""
    if split not in SPLIT_IDS:
        raise ValueError(f'unknown split {split!r}, expected one of {SPLITS}')
    if split == 'val_ood':
        return OOD_BACKGROUNDS, 'ood'
    return IN_DIST_BACKGROUNDS, 'train'


def sample_rng(seed: int, split: str, index: int, stream: str = 'scene') -> np.random.Generator:
    """The random generator of one sample; depends only on its arguments."""
    seq = np.random.SeedSequence([int(seed), SPLIT_IDS[split], int(index), STREAM_IDS[stream]])
    return np.random.default_rng(seq)


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Rec. 601 luma of RGB values in [0, 1] (last axis = channels)."""
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def _hsv(h_deg: float, s: float, v: float) -> np.ndarray:
    return np.array(colorsys.hsv_to_rgb((h_deg % 360.0) / 360.0, s, v), np.float32)


def _sample_hue(rng: np.random.Generator, hue_family: str) -> float:
    lo, hi = HUE_RANGES[hue_family]
    return float(rng.uniform(lo + HUE_MARGIN, hi - HUE_MARGIN))


# --------------------------------------------------------------------------- backgrounds

Size = Union[int, Tuple[int, int]]


def scene_shape(size: Size) -> Tuple[int, int]:
    """``(height, width)`` of a scene given as a side or as ``(height, width)``."""
    if isinstance(size, (tuple, list)):
        h, w = size
        return int(h), int(w)
    return int(size), int(size)


def _coords(size: Size) -> Tuple[np.ndarray, np.ndarray]:
    h, w = scene_shape(size)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return yy, xx


def _side(size: Size) -> int:
    """The length that texture and glyph scales follow: the shorter side."""
    return min(scene_shape(size))


def _rotated(rng, size):
    """Pixel coordinates projected on a random direction (u) and its normal (v)."""
    yy, xx = _coords(size)
    a = rng.uniform(0, np.pi)
    return xx * np.cos(a) + yy * np.sin(a), -xx * np.sin(a) + yy * np.cos(a)


def _tex_gradient(rng, size):
    u, _ = _rotated(rng, size)
    t = (u - u.min()) / max(float(u.max() - u.min()), 1e-6)
    return t ** rng.uniform(0.6, 1.6)   # uneven ramps look less synthetic


def _tex_stripes(rng, size):
    u, _ = _rotated(rng, size)
    period = rng.uniform(0.05, 0.2) * _side(size)
    duty = rng.uniform(0.3, 0.7)
    return ((u / period + rng.uniform()) % 1.0 < duty).astype(np.float32)


def _tex_checkers(rng, size):
    u, v = _rotated(rng, size)
    cell = rng.uniform(0.05, 0.2) * _side(size)
    return ((np.floor(u / cell) + np.floor(v / cell)) % 2).astype(np.float32)


def _tex_blotches(rng, size):
    h, w = scene_shape(size)
    side = _side(size)
    grid = int(rng.integers(3, 8))
    # As many cells along each side as its length asks for: blotches stay round.
    low = rng.random((round(grid * h / side), round(grid * w / side))).astype(np.float32)
    t = cv2.resize(low, (w, h), interpolation=cv2.INTER_CUBIC)
    t = cv2.GaussianBlur(t, (0, 0), side / (2.5 * grid))
    return (t - t.min()) / max(float(t.max() - t.min()), 1e-6)


def _tex_rings(rng, size):
    yy, xx = _coords(size)
    cy, cx = rng.uniform(-0.25, 1.25, 2) * np.array(scene_shape(size))
    r = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2)
    period = rng.uniform(0.06, 0.2) * _side(size)
    return 0.5 + 0.5 * np.sin(2 * np.pi * r / period + rng.uniform(0, 2 * np.pi))


def _tex_waves(rng, size):
    t = np.zeros(scene_shape(size), np.float32)
    for _ in range(int(rng.integers(2, 4))):
        u, _ = _rotated(rng, size)
        period = rng.uniform(0.08, 0.35) * _side(size)
        t += np.sin(2 * np.pi * u / period + rng.uniform(0, 2 * np.pi))
    return (t - t.min()) / max(float(t.max() - t.min()), 1e-6)


def _tex_dots(rng, size):
    h, w = scene_shape(size)
    t = np.zeros((h, w), np.float32)
    step = rng.uniform(0.08, 0.2) * _side(size)
    radius = step * rng.uniform(0.2, 0.4)
    jitter = step * 0.2
    offset = rng.uniform(0, step)
    rows = np.arange(-step, h + step, step) + offset
    cols = np.arange(-step, w + step, step) + offset
    for cy in rows:
        for cx in cols:
            dy, dx = rng.uniform(-jitter, jitter, 2)
            # Sub-pixel centres (shift=4) keep the dots round at small sizes.
            c = (int(round((cx + dx) * 16)), int(round((cy + dy) * 16)))
            cv2.circle(t, c, int(round(radius * 16)), 1.0, -1, cv2.LINE_AA, shift=4)
    return t


TEXTURES = {
    'gradient': _tex_gradient, 'stripes': _tex_stripes, 'checkers': _tex_checkers,
    'blotches': _tex_blotches, 'rings': _tex_rings, 'waves': _tex_waves, 'dots': _tex_dots,
}


def make_background(rng: np.random.Generator, size: Size, family: str,
                    hue_family: str) -> np.ndarray:
    """A float32 RGB background in [0, 1]: a texture blending two in-family colours.

    The two colours are close in hue (blending in RGB then stays inside the hue
    family) and in value (so the texture never competes with the digits).
    """
    h1 = _sample_hue(rng, hue_family)
    lo, hi = HUE_RANGES[hue_family]
    h2 = float(np.clip(h1 + rng.uniform(-45, 45), lo + HUE_MARGIN, hi - HUE_MARGIN))
    v1 = rng.uniform(0.15, 0.95)
    v2 = float(np.clip(v1 + rng.uniform(-0.3, 0.3), 0.1, 1.0))
    c1 = _hsv(h1, rng.uniform(0.35, 0.9), v1)
    c2 = _hsv(h2, rng.uniform(0.35, 0.9), v2)
    t = TEXTURES[family](rng, size).astype(np.float32)[..., None]
    return c1 * (1.0 - t) + c2 * t


# --------------------------------------------------------------------------- glyphs

def _draw_text_mask(text: str, face: int, scale: float, thickness: int) -> np.ndarray:
    """Binary (0/1) tight mask of ``text``; LINE_8 so that no pixel is partial."""
    (tw, th), base = cv2.getTextSize(text, face, scale, thickness)
    pad = 2 * thickness + 4
    canvas = np.zeros((th + base + 2 * pad, tw + 2 * pad), np.uint8)
    cv2.putText(canvas, text, (pad, pad + th), face, scale, 1, thickness, cv2.LINE_8)
    return _crop(canvas)


def _crop(mask: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(mask)
    return mask[ys.min():ys.max() + 1, xs.min():xs.max() + 1]


def _rotate_mask(mask: np.ndarray, angle: float) -> np.ndarray:
    h, w = mask.shape
    side = int(np.ceil(np.hypot(h, w))) + 2
    canvas = np.zeros((side, side), np.uint8)
    y0, x0 = (side - h) // 2, (side - w) // 2
    canvas[y0:y0 + h, x0:x0 + w] = mask
    m = cv2.getRotationMatrix2D(((side - 1) / 2.0, (side - 1) / 2.0), angle, 1.0)
    # Nearest neighbour keeps the mask binary and exactly equal to the painted pixels.
    out = cv2.warpAffine(canvas, m, (side, side), flags=cv2.INTER_NEAREST, borderValue=0)
    return _crop(out)


def thickness_range(height: float) -> Tuple[int, int]:
    """Stroke thickness bounds (inclusive) for a glyph height: 2 at 16 px up to 5-6 at 48 px.

    Strokes of 1 px would make per-pixel labels (segmentation IoU) hinge on single-pixel
    boundary errors; bold but legible strokes keep the three tasks about the digits.
    """
    t_max = int(np.clip(round(height / 8.0), 2, 6))
    return max(2, t_max - 1), t_max


def render_glyph(digit: int, height: float, face: int, thickness: int,
                 angle: float) -> np.ndarray:
    """Binary (uint8 0/1) tight mask of one digit, ``height`` px high before rotation."""
    text = str(int(digit))
    (_, th), _ = cv2.getTextSize(text, face, 1.0, thickness)
    scale = max(height - thickness, 1.0) / th
    mask = _draw_text_mask(text, face, scale, thickness)
    # The stroke adds a roughly constant margin, so a proportional fix converges in 1-2 steps.
    for _ in range(3):
        err = height - mask.shape[0]
        if abs(err) <= 0.5:
            break
        scale *= max(height - thickness, 1.0) / max(mask.shape[0] - thickness, 1.0)
        mask = _draw_text_mask(text, face, scale, thickness)
    if angle:
        mask = _rotate_mask(mask, angle)
    return mask


@dataclass
class Glyph:
    digit: int
    mask: np.ndarray        # uint8 0/1, tight, already rotated
    height: float           # target glyph height before rotation
    face: str
    thickness: int
    angle: float


def sample_glyph(rng: np.random.Generator, height_range: Tuple[float, float],
                 digit: Optional[int] = None) -> Glyph:
    """A random digit (or the given one) with random face, height, thickness and angle."""
    if digit is None:
        digit = int(rng.integers(0, 10))
    face_name = list(FONT_FACES)[int(rng.integers(len(FONT_FACES)))]
    height = float(rng.uniform(*height_range))
    t_lo, t_hi = thickness_range(height)
    thickness = int(rng.integers(t_lo, t_hi + 1))
    angle = float(rng.uniform(-MAX_ROTATION, MAX_ROTATION))
    mask = render_glyph(digit, height, FONT_FACES[face_name], thickness, angle)
    return Glyph(digit, mask, height, face_name, thickness, angle)


def pick_digit_colour(rng: np.random.Generator, local_bg: np.ndarray,
                      hue_family: str, tries: int = 30) -> np.ndarray:
    """An in-family colour whose luma differs from ``local_bg``'s by >= MIN_LUMA_CONTRAST."""
    y_bg = float(luminance(local_bg))
    dark = y_bg > 0.5   # aim for the opposite side of the background
    for _ in range(tries):
        v = rng.uniform(0.05, 0.5) if dark else rng.uniform(0.6, 1.0)
        colour = _hsv(_sample_hue(rng, hue_family), rng.uniform(0.3, 1.0), v)
        if abs(float(luminance(colour)) - y_bg) >= MIN_LUMA_CONTRAST:
            return colour
    # Saturated blues are dark even at full value: fall back to a very dark or pale tint.
    h = _sample_hue(rng, hue_family)
    return _hsv(h, 0.6, 0.1) if dark else _hsv(h, 0.15, 1.0)


def _add_noise(rng: np.random.Generator, img: np.ndarray) -> np.ndarray:
    sigma = rng.uniform(*NOISE_SIGMA)
    noisy = img + np.float32(sigma) * rng.standard_normal(img.shape, dtype=np.float32)
    return (np.clip(noisy, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


# --------------------------------------------------------------------------- scenes

@dataclass
class Scene:
    """One rendered scene.

    ``instance_map`` holds ``k + 1`` on the visible pixels of ``instances[k]`` (0 elsewhere).
    Each instance dict has ``digit``, ``bbox`` ([x, y, w, h] of the full, unoccluded glyph),
    ``area`` (visible pixels), ``full_area``, ``height``, ``face``, ``thickness``, ``angle``.
    """
    image: np.ndarray            # H x W x 3 uint8, RGB
    label: np.ndarray            # H x W uint8, 0 = background, digit d -> d + 1
    instance_map: np.ndarray     # H x W uint8
    instances: List[Dict] = field(default_factory=list)
    background: str = ''
    hue_family: str = ''


def scene_height_range(size: Size) -> Tuple[float, float]:
    hi = float(min(48, _side(size) // 2))
    return min(16.0, hi), hi


def _try_place(rng, mask, inst_map, visible, full, size):
    """A top-left corner where ``mask`` hides <= 40% of every placed digit, or None."""
    gh, gw = mask.shape
    h, w = scene_shape(size)
    if gh > h or gw > w:
        return None
    on = mask.astype(bool)
    for _ in range(PLACEMENT_TRIES):
        y = int(rng.integers(0, h - gh + 1))
        x = int(rng.integers(0, w - gw + 1))
        covered = np.bincount(inst_map[y:y + gh, x:x + gw][on], minlength=len(full) + 1)[1:]
        # Cumulative: a digit may not lose more than 40% over all later placements.
        if np.all(visible - covered >= (1.0 - MAX_HIDDEN_FRACTION) * full):
            return y, x
    return None


def render_scene(rng: np.random.Generator, size: Size = 128, split: str = 'train',
                 num_digits: Optional[int] = None) -> Scene:
    """Render a scene with 2-5 digits on a textured background of the split's families.

    ``size`` is the side of a square scene or ``(height, width)``.
    """
    families, hue_family = split_families(split)
    background = families[int(rng.integers(len(families)))]
    bg = make_background(rng, size, background, hue_family)
    canvas = bg.copy()
    inst_map = np.zeros(scene_shape(size), np.uint8)
    n = int(rng.integers(2, 6)) if num_digits is None else int(num_digits)
    height_range = scene_height_range(size)
    glyphs: List[Tuple[Glyph, int, int]] = []
    visible = np.zeros(0, np.int64)
    full = np.zeros(0, np.int64)
    for _ in range(n):
        # The first two digits are mandatory: resample glyphs until one fits.
        rounds = 50 if len(glyphs) < 2 else 1
        pos = None
        for _ in range(rounds):
            glyph = sample_glyph(rng, height_range)
            pos = _try_place(rng, glyph.mask, inst_map, visible, full, size)
            if pos is not None:
                break
        if pos is None:
            if len(glyphs) < 2:
                h, w = scene_shape(size)
                raise RuntimeError(f'cannot place two digits in a {h}x{w} scene')
            continue   # drop this digit
        y, x = pos
        gh, gw = glyph.mask.shape
        on = glyph.mask.astype(bool)
        region = inst_map[y:y + gh, x:x + gw]
        covered = np.bincount(region[on], minlength=len(full) + 1)[1:]
        visible = np.append(visible - covered, on.sum())
        full = np.append(full, on.sum())
        colour = pick_digit_colour(rng, bg[y:y + gh, x:x + gw].reshape(-1, 3).mean(0), hue_family)
        canvas[y:y + gh, x:x + gw][on] = colour
        region[on] = len(glyphs) + 1
        glyphs.append((glyph, y, x))

    lut = np.zeros(256, np.uint8)
    instances = []
    for k, (g, y, x) in enumerate(glyphs):
        lut[k + 1] = g.digit + 1
        gh, gw = g.mask.shape
        instances.append(dict(digit=g.digit, bbox=[x, y, gw, gh], area=int(visible[k]),
                              full_area=int(full[k]), height=round(g.height, 2), face=g.face,
                              thickness=g.thickness, angle=round(g.angle, 2)))
    return Scene(image=_add_noise(rng, canvas), label=lut[inst_map], instance_map=inst_map,
                 instances=instances, background=background, hue_family=hue_family)


# --------------------------------------------------------------------------- classification

def render_cls_sample(rng: np.random.Generator, size: int = 32, split: str = 'train',
                      digit: Optional[int] = None) -> Tuple[np.ndarray, np.ndarray, Dict]:
    """One roughly centred digit, 50-85% of the image high.

    Returns ``(image, mask, info)``: RGB uint8 image, uint8 mask with 255 on the digit's
    pixels and 0 elsewhere, and a dict with ``digit``, ``background``, ``hue_family``.
    """
    families, hue_family = split_families(split)
    background = families[int(rng.integers(len(families)))]
    bg = make_background(rng, size, background, hue_family)
    if digit is None:
        digit = int(rng.integers(0, 10))
    glyph = sample_glyph(rng, (0.5 * size, 0.85 * size), digit=digit)
    while max(glyph.mask.shape) > size:   # rotation can push a tall glyph out of the frame
        glyph.height *= 0.9
        glyph.mask = render_glyph(digit, glyph.height, FONT_FACES[glyph.face],
                                  glyph.thickness, glyph.angle)
    gh, gw = glyph.mask.shape
    max_off = max(1, round(0.1 * size))
    y = int(np.clip((size - gh) // 2 + rng.integers(-max_off, max_off + 1), 0, size - gh))
    x = int(np.clip((size - gw) // 2 + rng.integers(-max_off, max_off + 1), 0, size - gw))
    on = glyph.mask.astype(bool)
    colour = pick_digit_colour(rng, bg[y:y + gh, x:x + gw].reshape(-1, 3).mean(0), hue_family)
    canvas = bg.copy()
    canvas[y:y + gh, x:x + gw][on] = colour
    mask = np.zeros((size, size), np.uint8)
    mask[y:y + gh, x:x + gw][on] = 255
    info = dict(digit=int(digit), background=background, hue_family=hue_family)
    return _add_noise(rng, canvas), mask, info
