"""Tests of ReColor: colour-function structure, bounds, channel order, loss ascent."""
import copy

import pytest
import torch
from mmengine.model import ImgDataPreprocessor

from colour_scenes import (assert_beats_clean_and_random, assert_config_error,
                           assert_foreground_kept, assert_image_output,
                           assert_padding_kept, assert_seed_reproduces,
                           build_from_registry_and_file, cls_batch, fitted_cls_setup,
                           random_signs, rpn_det_setup, victim_loss)
from mmgat.attacks import ReColor
from mmgat.utils.errors import ConfigError
from mmgat.victims import build_victim

pytestmark = pytest.mark.usefixtures('one_thread')


@pytest.fixture(scope='module')
def cls_setup():
    return fitted_cls_setup()


# ---------------------------------------------------------------- config
@pytest.mark.parametrize('kwargs, match', [
    (dict(eps=-0.1), 'eps.*-0.1'),
    (dict(alpha=0), 'alpha.*0'),
    (dict(steps=0), 'steps.*0'),
    (dict(grid_size=1), 'grid_size.*>= 2.*1'),
    (dict(grid_size=4.5), 'grid_size.*4.5'),
    (dict(smoothness=-1), 'smoothness.*>= 0'),
    (dict(smoothness=float('nan')), 'smoothness'),
    (dict(mask='foreground'), "mask mode 'foreground'"),
])
def test_invalid_config(kwargs, match):
    assert_config_error(ReColor, kwargs, match)


def test_build_defaults_and_config_file():
    attack = build_from_registry_and_file(ReColor, 'configs/_base_/attacks/recolor.py')
    assert attack.eps == 0.06 and attack.alpha == pytest.approx(0.015)
    assert attack.grid_size == 8 and attack.steps == 10


def test_gray_images_are_a_config_error(cls_setup):
    victim, pixels, samples = cls_setup
    with pytest.raises(ConfigError, match='3-channel'):
        ReColor(steps=1)(victim, pixels[:, :1], samples)


# ---------------------------------------------------------------- the colour map
def test_interpolation_hits_the_lattice_and_axis_order():
    attack = ReColor(grid_size=3)
    lattice = torch.randn(1, 3, 3, 3, 3) * 0.01
    # Lattice axes are (B, G, R); corners of the RGB cube fall on lattice points.
    colours = torch.tensor([[0., 0., 0.], [255., 0., 0.], [0., 255., 0.], [0., 0., 255.],
                            [255., 127.5, 0.]])  # the last one: R=1, G=1/2 (mid), B=0
    rgb = colours.t().reshape(1, 3, 1, -1)
    out = attack.colour_offsets(rgb, lattice)[0, :, 0].t()
    expected = torch.stack([lattice[0, :, 0, 0, 0], lattice[0, :, 0, 0, 2],
                            lattice[0, :, 0, 2, 0], lattice[0, :, 2, 0, 0],
                            lattice[0, :, 0, 1, 2]])
    assert torch.allclose(out, expected, atol=1e-6)
    # Half-way between two lattice points: the mean of both (trilinear).
    mid = attack.colour_offsets(torch.tensor([63.75, 0., 0.]).view(1, 3, 1, 1), lattice)
    assert torch.allclose(mid.flatten(), lattice[0, :, 0, 0, :2].mean(dim=1), atol=1e-6)
    # A zero lattice is the identity.
    zero = attack.recolour(rgb, torch.zeros_like(lattice))
    assert torch.equal(zero, rgb)


def test_bounds_and_output_range(cls_setup):
    victim, pixels, samples = cls_setup
    attack = ReColor(eps=0.06, steps=4)
    adv = attack(victim, pixels, samples)
    assert_image_output(adv, pixels)
    lattice = attack._last_lattice
    assert lattice.shape == (8, 3, 8, 8, 8)
    assert float(lattice.abs().max()) <= 0.06 + 1e-7
    change = (adv - pixels).abs()
    assert float(change.max()) <= 0.06 * 255 + 1e-3
    assert float(change.max()) > 0.06 * 255 / 2  # the budget is used


def test_output_is_a_function_of_colour(cls_setup):
    victim, pixels, samples = cls_setup
    adv = ReColor(steps=3)(victim, pixels, samples)
    groups = 0
    for i in range(pixels.shape[0]):
        colours = pixels[i].flatten(1).t()
        outputs = adv[i].flatten(1).t()
        unique, inverse = colours.unique(dim=0, return_inverse=True)
        for k in range(len(unique)):
            members = outputs[inverse == k]
            if len(members) > 1:
                groups += 1
                spread = (members - members[0]).abs().max()
                assert float(spread) <= 1e-4, (i, unique[k], spread)
    assert groups >= 3 * pixels.shape[0]  # checker colours + objects, every image
    # Each image has its own colour function: the same colour in two images maps
    # differently (the lattices differ).
    assert not torch.allclose(adv[1], ReColor(steps=3, seed=1)(victim, pixels,
                                                              samples)[1])


# ---------------------------------------------------------------- the attack
def test_raises_loss_above_clean_and_random_recolouring(cls_setup):
    victim, pixels, samples = cls_setup
    attack = ReColor(eps=0.06, steps=5)
    adv = attack(victim, pixels, samples)
    # Random colour maps of the full budget.
    randoms = [attack.recolour(pixels, lattice).clamp(0, 255)
               for lattice in random_signs((8, 3, 8, 8, 8), 0.06)]
    assert_beats_clean_and_random(victim, pixels, adv, samples, randoms)


def test_same_seed_reproduces(cls_setup):
    assert_seed_reproduces(ReColor, cls_setup, vary=dict(seed=4))


def test_background_mask_keeps_foreground(cls_setup):
    victim, pixels, samples = cls_setup
    adv = ReColor(steps=2, mask='background')(victim, pixels, samples)
    changed = assert_foreground_kept(adv, pixels, samples)
    assert all(changed), changed  # every image's background is recoloured


def bgr_twin(model):
    """The same classifier reading BGR: no channel conversion, first conv flipped."""
    twin = copy.deepcopy(model)
    twin.data_preprocessor = ImgDataPreprocessor(mean=[127.5] * 3, std=[127.5] * 3,
                                                 bgr_to_rgb=False)
    with torch.no_grad():
        twin.backbone.conv1.weight.copy_(twin.backbone.conv1.weight.flip(1))
    return twin


def test_bgr_model_gets_the_same_recolouring(cls_setup):
    victim, pixels, samples = cls_setup
    twin = build_victim(bgr_twin(victim.model))
    assert victim.channel_order(3) == 'rgb' and twin.channel_order(3) == 'bgr'
    batch = cls_batch(num=8)
    bgr_pixels, bgr_samples, _ = twin.to_pixels(batch)
    assert torch.equal(bgr_pixels.flip(1), pixels)
    assert victim_loss(twin, bgr_pixels, bgr_samples) == pytest.approx(
        victim_loss(victim, pixels, samples), rel=1e-5)
    attack = ReColor(steps=3, seed=2)
    adv_rgb = attack(victim, pixels, samples)
    adv_bgr = attack(twin, bgr_pixels, bgr_samples)
    assert float((adv_bgr.flip(1) - adv_rgb).abs().max()) < 1e-2
    assert not torch.allclose(adv_rgb, pixels, atol=1)


def test_detector_victim_with_padding():
    victim, pixels, samples = rpn_det_setup()
    adv = ReColor(steps=3)(victim, pixels, samples)
    assert_image_output(adv, pixels)
    assert float((adv - pixels).abs().max()) <= 0.06 * 255 + 1e-3
    assert_padding_kept(adv, pixels)
    assert victim_loss(victim, adv, samples) > victim_loss(victim, pixels, samples)
