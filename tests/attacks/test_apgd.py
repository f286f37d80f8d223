"""Tests of APGD: checkpoint schedule, step-size rule, budgets, masks, per-image losses,
NaN handling, config errors, reproducibility, and strength against PGD."""
import math

import pytest
import torch

from colour_scenes import (assert_config_error, assert_foreground_kept,
                           assert_image_output, assert_padding_kept,
                           assert_seed_reproduces, build_from_registry_and_file,
                           cls_batch, rpn_det_setup)
from mmgat.attacks import APGD, PGD, apgd_checkpoints, dlr_loss
from mmgat.utils.errors import ConfigError
from mmgat.victims import ClassifierVictim, build_victim
from tiny_models import StubVictim, trained_classifier

pytestmark = pytest.mark.usefixtures('one_thread')


# ---------------------------------------------------------------- setups
@pytest.fixture(scope='module')
def fitted():
    """``(victim, pixels, samples)``: the tiny classifier fitted to 64 scenes (clean
    accuracy 1.0 on them): enough images for accuracies to compare."""
    victim = build_victim(trained_classifier(cls_batch(num=64)))
    pixels, samples, _ = victim.to_pixels(cls_batch(num=64))
    return victim, pixels, samples


@pytest.fixture(scope='module')
def cls_setup(fitted):
    victim, pixels, samples = fitted
    return victim, pixels[:6], samples[:6]


@pytest.fixture(scope='module')
def det_setup():
    return rpn_det_setup()


def accuracy(victim, pixels, samples):
    with torch.no_grad(), victim.attack_mode():
        logits = victim.logits(pixels, samples)
    labels = victim.labels(samples, logits.device)
    return float((logits.argmax(1) == labels).float().mean())


def mean_ce(victim, pixels, samples):
    with torch.no_grad(), victim.attack_mode():
        return float(victim.per_sample_loss(pixels, samples).mean())


# ---------------------------------------------------------------- checkpoints
def test_checkpoint_schedule_of_the_paper():
    # p_j: 0, .22, .22+max(.22-0-.03, .06)=.41, .41+max(.19-.03, .06)=.57,
    # .57+max(.16-.03, .06)=.70, .70+max(.13-.03, .06)=.80, .80+max(.10-.03, .06)=.87,
    # .87+max(.07-.03, .06)=.93, .93+.06=.99, then 1.05 > 1.
    assert apgd_checkpoints(100) == [0, 22, 41, 57, 70, 80, 87, 93, 99]
    assert apgd_checkpoints(1000) == [0, 220, 410, 570, 700, 800, 870, 930, 990]
    # ceil(p * 50): 11, ceil(20.5), ceil(28.5), 35, 40, ceil(43.5), ceil(46.5), ceil(49.5)
    assert apgd_checkpoints(50) == [0, 11, 21, 29, 35, 40, 44, 47, 50]
    # ceil(p * 10): 3, 5, 6, 7, 8, 9, 10, 10 (the duplicate is dropped)
    assert apgd_checkpoints(10) == [0, 3, 5, 6, 7, 8, 9, 10]
    assert apgd_checkpoints(1) == [0, 1]
    with pytest.raises(ConfigError, match='steps must be an int >= 1, got 0'):
        apgd_checkpoints(0)


# ---------------------------------------------------------------- step-size rule
class ScriptedVictim(StubVictim):
    """Per-image losses that do not depend on the pixels, scripted by the number of
    evaluations ``e`` (``e = k + 1`` at iterate ``x_k``):

    - image 0: ``e`` (every step raises the loss);
    - image 1: 100 at ``x_0``, then ``e``: nearly every step raises the loss, but the
      best loss (100 at the start) improves only at the last step (101);
    - image 2: 0 (no step raises it).
    """

    supports_per_sample_loss = True

    def __init__(self):
        self.calls = 0

    def per_sample_loss(self, pixels, data_samples):
        self.calls += 1
        second = 100.0 if self.calls == 1 else float(self.calls)
        return torch.tensor([float(self.calls), second, 0.0])


def step_schedule(halvings, steps=100, start=16.0):
    """The step size of each step when it halves at the iterations ``halvings``."""
    sizes, eta = [], start
    for step in range(steps):
        if step in halvings:
            eta /= 2
        sizes.append(eta)
    return torch.tensor(sizes)


def test_step_size_halves_where_progress_stalls():
    pixels = torch.full((3, 3, 4, 4), 100.0)
    attack = APGD(eps=8 / 255, steps=100, random_start=False)
    attack(ScriptedVictim(), pixels, [None] * 3)
    trace = attack.trace
    assert trace.checkpoints == [0, 22, 41, 57, 70, 80, 87, 93, 99]
    sizes = trace.step_sizes[0]  # steps x images, pixel units; starts at 2 * eps
    # Image 0 raises its loss at every step: its step is never halved.
    assert torch.equal(sizes[:, 0], step_schedule([]))
    # Image 2 never does: halved at every checkpoint (condition 1).
    assert torch.equal(sizes[:, 2], step_schedule([22, 41, 57, 70, 80, 87, 93, 99]))
    # Image 1 raises it at 21 of the 22 steps to w_1 (>= 75%), but its best loss (100 at
    # x_0) does not improve before x_100: halved (condition 2) at 22, not at 41 (just
    # halved), at 57, not at 70, at 80, not at 87, at 93, not at 99.
    assert torch.equal(sizes[:, 1], step_schedule([22, 57, 80, 93]))
    assert trace.losses.shape == (1, 101, 3)
    assert trace.best_losses[0].tolist() == [101.0, 101.0, 0.0]


class QuadraticVictim(StubVictim):
    """Each image's loss is ``-||x - target||^2``: a concave quadratic whose maximum
    (the target) lies inside the eps ball."""

    supports_per_sample_loss = True

    def __init__(self, target):
        self.target = target

    def per_sample_loss(self, pixels, data_samples):
        return -((pixels - self.target) ** 2).flatten(1).sum(dim=1)

    def loss(self, pixels, data_samples):
        return self.per_sample_loss(pixels, data_samples).sum()


@pytest.mark.parametrize('norm, eps', [('linf', 8 / 255), ('l2', 0.5)])
def test_reaches_an_inner_maximum_by_halving(norm, eps):
    gen = torch.Generator().manual_seed(0)
    pixels = torch.rand(2, 3, 8, 8, generator=gen) * 200 + 20
    if norm == 'linf':  # within 6 of the 8 pixel units of the budget
        offset = (torch.rand(pixels.shape, generator=gen) * 2 - 1) * 6
    else:  # norm 80 of 127.5
        offset = torch.randn(pixels.shape, generator=gen)
        offset = offset / offset.flatten(1).norm(dim=1).view(-1, 1, 1, 1) * 80
    target = pixels + offset
    victim = QuadraticVictim(target)
    attack = APGD(eps=eps, norm=norm, steps=100)
    adv = attack(victim, pixels, [None, None])
    apgd_error = (adv - target).flatten(1).norm(dim=1)
    pgd = PGD(eps=eps, alpha=eps / 4 if norm == 'linf' else 0.1, norm=norm, steps=100)
    pgd_error = (pgd(victim, pixels, [None, None]) - target).flatten(1).norm(dim=1)
    # A fixed step oscillates around the optimum; halved eight times, APGD's does not.
    assert bool((apgd_error < 0.3).all()), apgd_error
    assert bool((pgd_error > 5).all()), pgd_error
    # Overshooting at each checkpoint, the step was halved at all eight of them.
    sizes = attack.trace.step_sizes[0]
    start = 2 * eps * 255
    assert torch.allclose(sizes[:, 0], step_schedule([22, 41, 57, 70, 80, 87, 93, 99],
                                                     start=start))
    assert torch.equal(sizes[:, 0], sizes[:, 1])


def test_step_sizes_follow_the_rule(cls_setup):
    """On a real model, every checkpoint's decision matches the two conditions as
    recomputed from the recorded losses."""
    victim, pixels, samples = cls_setup
    attack = APGD(eps=4 / 255, steps=30, restarts=2)
    attack(victim, pixels, samples)
    trace = attack.trace
    assert trace.step_sizes.shape == (2, 30, 6) and trace.losses.shape == (2, 31, 6)
    for run in range(2):
        losses, sizes = trace.losses[run], trace.step_sizes[run]
        best = losses.cummax(dim=0).values
        halved_before = torch.zeros(6, dtype=torch.bool)
        for before, check in zip(trace.checkpoints, trace.checkpoints[1:]):
            if check == 30:  # the last iterate: no step follows
                break
            window = losses[before:check + 1].clone()
            # An image restarted at ``before`` continues from its best point.
            window[0] = torch.where(halved_before, best[before], window[0])
            raised = (window[1:] > window[:-1]).sum(dim=0)
            stalled = raised < 0.75 * (check - before)
            no_gain = ~halved_before & (best[check] <= best[before])
            halve = stalled | no_gain
            expected = torch.where(halve, sizes[check - 1] / 2, sizes[check - 1])
            assert torch.equal(sizes[check], expected), (run, check)
            halved_before = halve
        assert torch.equal(trace.best_losses[run], best[-1])
    assert bool((trace.step_sizes[:, -1] < trace.step_sizes[:, 0]).any())


# ---------------------------------------------------------------- budgets
@pytest.mark.parametrize('norm, eps', [('linf', 8 / 255), ('l2', 0.5)])
def test_budget_range_and_loss_increase(cls_setup, norm, eps):
    victim, pixels, samples = cls_setup
    adv = APGD(eps=eps, norm=norm, steps=10)(victim, pixels, samples)
    assert_image_output(adv, pixels)
    delta = adv - pixels
    if norm == 'linf':
        assert float(delta.abs().max()) <= eps * 255 + 1e-4
    else:
        assert bool((delta.flatten(1).norm(dim=1) <= eps * 255 + 1e-3).all())
    assert mean_ce(victim, adv, samples) > 5 * mean_ce(victim, pixels, samples)


def test_best_point_is_returned(cls_setup):
    victim, pixels, samples = cls_setup
    attack = APGD(eps=8 / 255, steps=10, restarts=2)
    adv = attack(victim, pixels, samples)
    with torch.no_grad(), victim.attack_mode():
        final = victim.per_sample_loss(adv, samples)
    best = attack.trace.best_losses.max(dim=0).values
    assert torch.allclose(final, best, rtol=1e-4, atol=1e-4)
    # ... and it is the highest loss of every iterate of every run.
    assert torch.equal(best, attack.trace.losses.amax(dim=(0, 1)))


def test_mask_keeps_foreground_bit_identical(cls_setup):
    victim, pixels, samples = cls_setup
    adv = APGD(eps=8 / 255, steps=5, mask='background')(victim, pixels, samples)
    assert_image_output(adv, pixels)
    assert min(assert_foreground_kept(adv, pixels, samples)) > 100


def test_detector_padding_untouched_and_loss_per_image(det_setup):
    victim, pixels, samples = det_setup
    attack = APGD(eps=8 / 255, steps=3)
    adv = attack(victim, pixels, samples)
    assert_image_output(adv, pixels)
    assert_padding_kept(adv, pixels)
    assert float((adv - pixels).abs().max()) <= 8 + 1e-4
    assert attack.trace.losses.shape == (1, 4, 2)  # one loss per image and iterate


class BatchLossVictim(ClassifierVictim):
    """A classifier victim that only gives the batch loss, like a detector."""

    supports_per_sample_loss = False


def test_batch_of_one_losses_give_the_same_attack(cls_setup):
    # Without per-example losses, each image's loss is the victim loss of that image
    # alone: for a classifier, its cross-entropy again.
    victim, pixels, samples = cls_setup
    per_sample = APGD(eps=8 / 255, steps=5, random_start=False)
    one_by_one = APGD(eps=8 / 255, steps=5, random_start=False)
    first = per_sample(victim, pixels, samples)
    second = one_by_one(BatchLossVictim(victim.model), pixels, samples)
    assert torch.allclose(per_sample.trace.losses, one_by_one.trace.losses,
                          rtol=1e-4, atol=1e-5)
    assert float((first - second).abs().max()) < 1e-2


# ---------------------------------------------------------------- DLR
def test_dlr_loss_values():
    logits = torch.tensor([[3.0, 1.0, 0.0, -1.0]] * 2)
    # Correct (y=0): -(3 - 1) / (3 - 0); wrong (y=2): -(0 - 3) / (3 - 0).
    assert dlr_loss(logits, torch.tensor([0, 2])).tolist() == pytest.approx([-2 / 3, 1])
    # Invariant to shifting and scaling the logits.
    assert torch.allclose(dlr_loss(logits * 5 + 7, torch.tensor([0, 2])),
                          dlr_loss(logits, torch.tensor([0, 2])))


def test_dlr_attack_lowers_accuracy(fitted):
    victim, pixels, samples = fitted
    adv = APGD(eps=8 / 255, steps=10, loss='dlr')(victim, pixels[:16], samples[:16])
    assert accuracy(victim, adv, samples[:16]) <= 0.5


class TwoClassVictim(StubVictim):
    def logits(self, pixels, data_samples):
        return torch.stack([pixels.mean((1, 2, 3)), -pixels.mean((1, 2, 3))], dim=1)

    @staticmethod
    def labels(data_samples, device):
        return torch.zeros(len(data_samples), dtype=torch.long, device=device)


def test_dlr_config_errors(det_setup):
    with pytest.raises(ConfigError, match=r"loss='dlr' needs >= 3 classes; the "
                                          r'TwoClassVictim model has 2'):
        APGD(steps=1, loss='dlr')(TwoClassVictim(), torch.zeros(1, 3, 4, 4), [None])
    victim, pixels, samples = det_setup
    with pytest.raises(ConfigError, match=r"loss='dlr' needs class logits .* "
                                          r'DetectorVictim \(detection\) has none'):
        APGD(steps=1, loss='dlr')(victim, pixels, samples)


# ---------------------------------------------------------------- config
@pytest.mark.parametrize('kwargs, match', [
    (dict(loss='hinge'), "unknown APGD loss 'hinge'"),
    (dict(restarts=0), 'restarts must be an int >= 1, got 0'),
    (dict(restarts=1.5), 'restarts.*1.5'),
    (dict(steps=0), 'steps.*0'),
    (dict(eps=-0.1), 'eps.*-0.1'),
    (dict(norm='l1'), "norm 'l1'"),
    (dict(mask='foreground'), "mask mode 'foreground'"),
])
def test_invalid_config(kwargs, match):
    assert_config_error(APGD, kwargs, match)


def test_build_from_registry_and_files():
    attack = build_from_registry_and_file(
        APGD, 'configs/_base_/attacks/apgd-linf_eps8.py', loss='dlr', restarts=2)
    assert attack.loss == 'dlr' and attack.restarts == 2 and attack.steps == 100
    assert attack.trace is None  # no call yet
    l2 = build_from_registry_and_file(APGD, 'configs/_base_/attacks/apgd-l2_eps0.5.py',
                                      eps=0.5, norm='l2')
    assert l2.norm == 'l2' and l2.eps == 0.5
    assert APGD.attack_families() == ('pgd', )
    assert 'trace' not in repr(attack)


# ---------------------------------------------------------------- NaN
class NaNVictim(ClassifierVictim):
    """The loss of image 0 is NaN (its gradient too); the others are fine."""

    def per_sample_loss(self, pixels, data_samples, label_smoothing=0.0):
        losses = super().per_sample_loss(pixels, data_samples)
        weights = torch.ones_like(losses)
        weights[0] = math.nan
        return losses * weights


def test_nan_gradient_step_skipped_with_warning(cls_setup):
    victim, pixels, samples = cls_setup
    attack = APGD(eps=8 / 255, steps=4, random_start=False)
    with pytest.warns(RuntimeWarning, match='non-finite gradient'):
        adv = attack(NaNVictim(victim.model), pixels, samples)
    assert bool(torch.isfinite(adv).all())
    assert torch.equal(adv[0], pixels[0])  # every step skipped for image 0
    assert not torch.equal(adv[1], pixels[1])
    assert attack.trace.losses[0, :, 0].eq(-math.inf).all()  # NaN counts as -inf


# ---------------------------------------------------------------- reproducibility
def test_same_seed_and_iteration_reproduce(cls_setup):
    assert_seed_reproduces(APGD, cls_setup, dict(seed=4))
    assert_seed_reproduces(APGD, cls_setup, dict(iteration=6))


# ---------------------------------------------------------------- strength
def test_stronger_than_pgd_on_a_trained_classifier(fitted):
    victim, pixels, samples = fitted
    eps = 3 / 255
    clean = accuracy(victim, pixels, samples)
    pgd = PGD(eps=eps, alpha=eps / 4, steps=10)(victim, pixels, samples)
    apgd = APGD(eps=eps, steps=10)(victim, pixels, samples)
    scores = dict(clean=clean, pgd=accuracy(victim, pgd, samples),
                  apgd=accuracy(victim, apgd, samples))
    # Measured: clean 1.0, PGD 0.578, APGD 0.547 (64 images, 10 steps each).
    assert scores['clean'] == 1.0, scores
    assert scores['apgd'] <= scores['pgd'], scores
    assert scores['apgd'] <= 0.7, scores  # well below clean: the attack does something
    assert mean_ce(victim, apgd, samples) > mean_ce(victim, pgd, samples)
