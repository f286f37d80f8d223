"""Tests of SpatialFlow: the warp, the flow bound and smoothness, loss ascent."""
import pytest
import torch
import torch.nn.functional as F

from colour_scenes import (assert_beats_clean_and_random, assert_config_error,
                           assert_foreground_kept, assert_image_output,
                           assert_padding_kept, assert_seed_reproduces,
                           build_from_registry_and_file, det_batch, fitted_cls_setup,
                           random_signs, victim_loss)
from mmgat.attacks import SpatialFlow
from mmgat.attacks.spatial_flow import flow_warp
from mmgat.victims import build_victim
from tiny_models import det_model

pytestmark = pytest.mark.usefixtures('one_thread')


@pytest.fixture(scope='module')
def cls_setup():
    return fitted_cls_setup()


def random_image(*shape, seed=0):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed)) * 255


# ---------------------------------------------------------------- config
@pytest.mark.parametrize('kwargs, match', [
    (dict(eps=-1.0), 'eps.*pixels.*-1.0'),
    (dict(eps=float('inf')), 'eps'),
    (dict(alpha=0), 'alpha.*0'),
    (dict(steps=0), 'steps.*0'),
    (dict(stride=0), 'stride.*>= 1.*0'),
    (dict(stride=2.5), 'stride.*2.5'),
    (dict(tau=-0.1), 'tau.*-0.1'),
    (dict(mask='foreground'), "mask mode 'foreground'"),
])
def test_invalid_config(kwargs, match):
    assert_config_error(SpatialFlow, kwargs, match)


def test_build_defaults_and_config_file():
    attack = build_from_registry_and_file(SpatialFlow,
                                          'configs/_base_/attacks/spatial-flow.py')
    assert (attack.eps, attack.alpha, attack.stride, attack.tau) == (1.0, 0.25, 4, 0.05)
    assert attack.eps_pixels == 1.0  # eps is a displacement in pixels


# ---------------------------------------------------------------- the warp
def test_zero_flow_is_the_identity_bit_for_bit():
    pixels = random_image(2, 3, 20, 24)
    assert torch.equal(flow_warp(pixels, torch.zeros(2, 2, 20, 24)), pixels)


def test_constant_integer_flow_shifts_the_image():
    pixels = random_image(1, 3, 20, 24)
    flow = torch.zeros(1, 2, 20, 24)
    flow[:, 0], flow[:, 1] = 2, -1  # read from 2 px to the right, 1 px up
    out = flow_warp(pixels, flow)
    assert torch.equal(out[..., 1:, :-2], pixels[..., :-1, 2:])
    # Border padding: positions outside the image read the nearest border pixel.
    assert torch.equal(out[..., 0, :-2], pixels[..., 0, 2:])
    assert torch.equal(out[..., 1:, -1], pixels[..., :-1, -1])


def test_fractional_flow_matches_grid_sample_border_align_corners():
    pixels = random_image(2, 3, 16, 20)
    flow = (random_image(2, 2, 16, 20, seed=1) / 255 * 2 - 1) * 3
    ys, xs = torch.meshgrid(torch.arange(16.), torch.arange(20.), indexing='ij')
    grid = torch.stack([(xs + flow[:, 0]) * 2 / 19 - 1, (ys + flow[:, 1]) * 2 / 15 - 1],
                       dim=-1)
    expected = F.grid_sample(pixels, grid, mode='bilinear', padding_mode='border',
                             align_corners=True)
    assert torch.allclose(flow_warp(pixels, flow), expected, atol=1e-2)
    # Differentiable w.r.t. the flow.
    flow.requires_grad_(True)
    flow_warp(pixels, flow).sum().backward()
    assert flow.grad is not None and float(flow.grad.abs().sum()) > 0


def test_sampling_stays_inside_each_valid_image():
    pixels = random_image(1, 3, 10, 12)
    pixels[..., 6:, :] = float('nan')  # the batch padding below a 6 x 8 image
    pixels[..., :, 8:] = float('nan')
    flow = torch.full((1, 2, 10, 12), 3.0)
    out = flow_warp(pixels, flow, sizes=torch.tensor([[6, 8]]))
    assert bool(torch.isfinite(out[..., :6, :8]).all())


# ---------------------------------------------------------------- the attack
def test_flow_bound_smoothness_and_range(cls_setup):
    victim, pixels, samples = cls_setup
    attack = SpatialFlow(eps=1.0, steps=4, stride=4)
    adv = attack(victim, pixels, samples)
    assert_image_output(adv, pixels)
    flow = attack._last_flow
    assert flow.shape == (8, 2, 32, 32)
    assert float(flow.abs().max()) <= 1.0 + 1e-6
    assert float(flow.abs().max()) > 0.5  # the budget is used
    assert attack.lattice_shape(32, 32) == (9, 9)
    assert attack.lattice_shape(128, 128) == (33, 33)
    # A displacement of <= 1 px per axis: every output pixel lies between the
    # minimum and the maximum of its input 3 x 3 neighbourhood.
    high = F.max_pool2d(F.pad(pixels, (1, 1, 1, 1), mode='replicate'), 3, stride=1)
    low = -F.max_pool2d(F.pad(-pixels, (1, 1, 1, 1), mode='replicate'), 3, stride=1)
    assert bool((adv <= high + 1e-3).all()) and bool((adv >= low - 1e-3).all())
    # Smooth: upsampled (bilinear, corners aligned) from 9 x 9 control points, 31/8 px
    # apart on 32 px, so neighbouring pixels differ by at most 2 eps * 8 / 31.
    assert float(flow.diff(dim=-1).abs().max()) <= 2 * 1.0 * 8 / 31 + 1e-5
    assert float(flow.diff(dim=-2).abs().max()) <= 2 * 1.0 * 8 / 31 + 1e-5


def test_per_pixel_flow_and_tv_penalty(cls_setup):
    victim, pixels, samples = cls_setup
    free = SpatialFlow(stride=1, tau=0, steps=3)
    free(victim, pixels, samples)
    smooth = SpatialFlow(stride=1, tau=50.0, steps=3)
    smooth(victim, pixels, samples)
    assert free._last_flow.shape == (8, 2, 32, 32)
    tv_free = float(SpatialFlow.flow_loss(free._last_flow).mean())
    tv_smooth = float(SpatialFlow.flow_loss(smooth._last_flow).mean())
    assert tv_smooth < 0.7 * tv_free, (tv_smooth, tv_free)


def test_zero_budget_returns_the_input(cls_setup):
    victim, pixels, samples = cls_setup
    assert torch.equal(SpatialFlow(eps=0, steps=2)(victim, pixels, samples), pixels)


def test_raises_loss_above_clean_and_random_flow(cls_setup):
    victim, pixels, samples = cls_setup
    attack = SpatialFlow(eps=1.0, steps=5)
    adv = attack(victim, pixels, samples)
    # Random smooth flows of the full budget.
    randoms = [flow_warp(pixels, attack.upsample(control, (32, 32)))
               for control in random_signs((8, 2, 9, 9), 1.0)]
    assert_beats_clean_and_random(victim, pixels, adv, samples, randoms)


def test_same_seed_reproduces(cls_setup):
    assert_seed_reproduces(SpatialFlow, cls_setup, vary=dict(iteration=6))


def test_background_mask_keeps_foreground(cls_setup):
    victim, pixels, samples = cls_setup
    adv = SpatialFlow(steps=2, mask='background')(victim, pixels, samples)
    assert sum(assert_foreground_kept(adv, pixels, samples)) > 0


def test_detector_victim_with_padding():
    victim = build_victim(det_model())
    pixels, samples, _ = victim.to_pixels(det_batch())
    adv = SpatialFlow(steps=3)(victim, pixels, samples)
    assert_image_output(adv, pixels)
    # The padding is untouched and never sampled (it is 0 after the preprocessor's
    # padding).
    assert_padding_kept(adv, pixels)
    assert not torch.equal(adv[0, :, :48], pixels[0, :, :48])
    # (The untrained detector's loss barely reacts to a 1 px warp, so it is not
    # compared here; the trained classifier's is, above.)
    assert torch.isfinite(torch.tensor(victim_loss(victim, adv, samples)))
