"""Tests of PerceptualAttack: the self-bounded LPIPS distance, its bound, loss ascent."""

import pytest
import torch
import torch.nn as nn

from colour_scenes import (assert_beats_clean_and_random, assert_config_error,
                           assert_foreground_kept, assert_image_output,
                           assert_padding_kept, assert_seed_reproduces,
                           build_from_registry_and_file, fitted_cls_setup,
                           random_signs, rpn_det_setup, victim_loss)
from mmgat.attacks import PGD, PerceptualAttack
from mmgat.attacks.perceptual import unit_normalize
from mmgat.utils.errors import ConfigError
from tiny_models import StubVictim

pytestmark = pytest.mark.usefixtures('one_thread')


@pytest.fixture(scope='module')
def cls_setup():
    return fitted_cls_setup()


@pytest.fixture(scope='module')
def det_setup():
    return rpn_det_setup()


# ---------------------------------------------------------------- config
@pytest.mark.parametrize('kwargs, match', [
    (dict(bound=0), 'bound.*> 0.*0'),
    (dict(bound=-0.1), 'bound'),
    (dict(bound=float('inf')), 'bound'),
    (dict(bound='0.1'), 'bound'),
    (dict(eps=-1 / 255), 'eps'),
    (dict(alpha=0), 'alpha.*0'),
    (dict(steps=0), 'steps.*0'),
    (dict(stages='all'), 'stages.*all'),
    (dict(stages=[-1]), r'stages.*\[-1\]'),
    (dict(stages=[]), 'stages'),
    (dict(stages=[0, 1.5]), 'stages'),
    (dict(bisection_steps=0), 'bisection_steps.*0'),
    (dict(mask='foreground'), "mask mode 'foreground'"),
])
def test_invalid_config(kwargs, match):
    assert_config_error(PerceptualAttack, kwargs, match)


def test_build_defaults_and_config_file():
    attack = build_from_registry_and_file(
        PerceptualAttack, 'configs/_base_/attacks/perceptual.py', stages=2)
    assert attack.stages == (2, ) and attack.bound == 0.2
    assert attack.eps == pytest.approx(16 / 255) and attack.bisection_steps == 5


# ---------------------------------------------------------------- the distance
def test_distance_is_unweighted_lpips_on_the_backbone(det_setup):
    victim, pixels, samples = det_setup
    attack = PerceptualAttack()
    feats = torch.randn(2, 5, 3, 4)
    assert torch.allclose(unit_normalize(feats).norm(dim=1), torch.ones(2, 3, 4))
    noisy = (pixels + torch.randn_like(pixels) * 20).clamp(0, 255)
    assert torch.equal(attack.distance(victim, pixels, pixels), torch.zeros(2))
    d_all = attack.distance(victim, pixels, noisy)
    assert bool((d_all > 0).all()) and bool((d_all <= 4 * 4).all())  # 4 stages
    # By hand: sum over the 4 stages of the spatial mean of the squared distance
    # between unit channel vectors.
    with torch.no_grad(), victim.attack_mode():
        a = victim.model.backbone(victim.normalize(pixels))
        b = victim.model.backbone(victim.normalize(noisy))
    expected = sum(((unit_normalize(x) - unit_normalize(y)) ** 2).sum(1).mean((1, 2))
                   for x, y in zip(a, b))
    assert torch.allclose(d_all, expected, rtol=1e-5)
    first = PerceptualAttack(stages=[0]).distance(victim, pixels, noisy)
    expected_first = ((unit_normalize(a[0]) - unit_normalize(b[0])) ** 2).sum(1).mean(
        (1, 2))
    assert torch.allclose(first, expected_first, rtol=1e-5)


def test_stage_out_of_range_is_a_config_error_at_call_time(det_setup):
    victim, pixels, samples = det_setup
    attack = PerceptualAttack(stages=[0, 7], steps=1)  # fine until a model is seen
    with pytest.raises(ConfigError, match=r'stages \[7\] out of range.*4 feature map'):
        attack(victim, pixels, samples)


class NoBackboneVictim(StubVictim):
    """A stand-in victim whose model has no backbone."""

    def __init__(self):
        self.model = nn.Linear(3, 1)

    def loss(self, pixels, data_samples):
        return pixels.sum()


def test_model_without_backbone_is_a_config_error():
    with pytest.raises(ConfigError, match='Linear has no `backbone`'):
        PerceptualAttack(steps=1)(NoBackboneVictim(), torch.zeros(1, 3, 4, 4), [None])


# ---------------------------------------------------------------- the attack
def test_bound_holds_and_is_used(cls_setup):
    victim, pixels, samples = cls_setup
    attack = PerceptualAttack(bound=0.05, eps=16 / 255, steps=4)
    adv = attack(victim, pixels, samples)
    assert_image_output(adv, pixels)
    dist = attack.distance(victim, pixels, adv)
    assert bool((dist <= 0.05 * (1 + 1e-4) + 1e-6).all()), dist
    assert float(dist.max()) > 0.05 / 2  # the bound is used
    assert float((adv - pixels).abs().max()) <= 16 + 1e-4  # the L-inf cap


def test_without_an_active_bound_it_is_pgd(cls_setup):
    victim, pixels, samples = cls_setup
    loose = PerceptualAttack(bound=1e6, eps=8 / 255, alpha=2 / 255, steps=3)
    pgd = PGD(eps=8 / 255, alpha=2 / 255, steps=3)
    assert torch.equal(loose(victim, pixels, samples), pgd(victim, pixels, samples))


def test_raises_loss_above_clean_and_random_noise_of_the_same_bound(cls_setup):
    victim, pixels, samples = cls_setup
    attack = PerceptualAttack(bound=0.05, steps=5)
    adv = attack(victim, pixels, samples)
    # Random sign noise of the L-inf cap, shrunk into the same perceptual ball.
    noise, = random_signs(pixels.shape, 16, count=1)
    noise = ((pixels + noise).clamp(0, 255) - pixels)
    with victim.attack_mode():
        clean_feats = attack.features(victim, pixels)
        noise = attack._project(victim, pixels, noise, torch.ones_like(pixels[:, :1]),
                                clean_feats)
    assert_beats_clean_and_random(victim, pixels, adv, samples, [pixels + noise])


def test_same_seed_reproduces(cls_setup):
    assert_seed_reproduces(PerceptualAttack, cls_setup, vary=dict(seed=4))


def test_background_mask_keeps_foreground(cls_setup):
    victim, pixels, samples = cls_setup
    attack = PerceptualAttack(steps=2, mask='background')
    adv = attack(victim, pixels, samples)
    assert_foreground_kept(adv, pixels, samples)
    assert not torch.equal(adv, pixels)
    assert bool((attack.distance(victim, pixels, adv) <= 0.2 * (1 + 1e-4)).all())


def test_detector_victim_with_padding(det_setup):
    victim, pixels, samples = det_setup
    attack = PerceptualAttack(bound=0.2, steps=3)
    adv = attack(victim, pixels, samples)
    assert_image_output(adv, pixels)
    assert bool((attack.distance(victim, pixels, adv) <= 0.2 * (1 + 1e-4)).all())
    assert_padding_kept(adv, pixels)
    assert victim_loss(victim, adv, samples) > victim_loss(victim, pixels, samples)
