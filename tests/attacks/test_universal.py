"""Tests of UniversalPerturbation: budget, loss ascent, state, masks, checkpoints."""
import math

import pytest
import torch
from mmengine.logging import MMLogger

from mmgat.attacks import UniversalPerturbation, build_attack
from mmgat.attacks.universal import fit_perturbation
from mmgat.hooks import AdversarialHook, SafeCheckpointHook
from mmgat.structures import ClsDataSample
from mmgat.utils import safe_torch_load
from mmgat.utils.errors import ConfigError
from mmgat.victims import build_victim
from tiny_models import StubVictim, cls_model

pytestmark = pytest.mark.usefixtures('one_thread')


def cls_batch(num=4, seed=0, size=32):
    gen = torch.Generator().manual_seed(seed)
    samples, inputs = [], []
    for i in range(num):
        sample = ClsDataSample(metainfo=dict(img_shape=(size, size)))
        sample.gt_label = (i + seed) % 10
        mask = torch.zeros(size, size, dtype=torch.bool)
        mask[8:24, 6 + i:20 + i] = True
        sample.gt_fg_mask = mask
        samples.append(sample)
        img = torch.randint(0, 256, (3, size, size), dtype=torch.uint8, generator=gen)
        img[:, :3] = 255  # saturated rows: the output clip must hold
        inputs.append(img)
    return dict(inputs=inputs, data_samples=samples)


@pytest.fixture(scope='module')
def victim():
    return build_victim(cls_model())


def pixels_of(victim, seed=0, num=4, size=32):
    pixels, samples, _ = victim.to_pixels(cls_batch(num=num, seed=seed, size=size))
    return pixels, samples


# ---------------------------------------------------------------- config
@pytest.mark.parametrize('kwargs, match', [
    (dict(eps=-1.0), 'eps'),
    (dict(alpha=0), 'alpha'),
    (dict(norm='l1'), "norm 'l1'"),
    (dict(mask='fg'), "mask mode 'fg'"),
    (dict(size=(0, 4)), 'size'),
    (dict(size=(4, 4, 4)), 'size'),
    (dict(fit='stretch'), "fit 'stretch'"),
])
def test_invalid_config(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        UniversalPerturbation(**kwargs)


def test_build_and_repr_hide_the_state(victim):
    attack = build_attack(dict(type='mmgat.UniversalPerturbation', eps=4 / 255))
    assert isinstance(attack, UniversalPerturbation) and attack.alpha == 1 / 255
    assert attack.delta is None and attack.num_updates == 0
    attack(victim, *pixels_of(victim))
    assert 'tensor' not in repr(attack)  # the hook logs the attack, not its state


# ---------------------------------------------------------------- budget and ascent
@pytest.mark.parametrize('norm, eps, alpha', [('linf', 8 / 255, 3 / 255),
                                              ('l2', 0.5, 0.2)])
def test_budget_holds_after_many_updates(victim, norm, eps, alpha):
    attack = UniversalPerturbation(eps=eps, alpha=alpha, norm=norm)
    bound = eps * 255
    for it in range(12):
        pixels, samples = pixels_of(victim, seed=it % 3)
        adv = attack(victim, pixels, samples, iteration=it)
        assert adv.shape == pixels.shape and not adv.requires_grad
        assert adv.min() >= 0 and adv.max() <= 255
        delta = attack.delta
        assert delta.shape == (1, 3, 32, 32) and delta.dtype == torch.float32
        if norm == 'linf':
            assert float(delta.abs().max()) <= bound * (1 + 1e-6)
            assert float((adv - pixels).abs().max()) <= bound * (1 + 1e-6)
        else:
            assert float(delta.norm()) <= bound * (1 + 1e-5)
    assert attack.num_updates == 12
    # With steps of 3/255 the L-inf perturbation has reached the boundary of its ball.
    if norm == 'linf':
        assert float(delta.abs().max()) == pytest.approx(bound, rel=1e-6)
    else:
        assert float(delta.norm()) == pytest.approx(bound, rel=1e-4)


def test_output_uses_current_delta_then_updates(victim):
    pixels, samples = pixels_of(victim)
    attack = UniversalPerturbation(eps=8 / 255, alpha=2 / 255)
    first = attack(victim, pixels, samples)
    assert torch.equal(first, pixels)  # zero start: the first batch is clean
    delta = attack.delta.clone()
    assert float(delta.abs().max()) == pytest.approx(2.0, rel=1e-6)  # one step
    second = attack(victim, pixels, samples, iteration=1)
    assert torch.equal(second, (pixels + delta).clamp(0, 255))


def test_loss_rises_over_iterations():
    # A freshly initialised net predicts ~uniformly (loss ~log 10 everywhere); fit
    # it to the batch first so that there is a loss to raise.
    model = cls_model()
    victim = build_victim(model)
    pixels, samples = pixels_of(victim, num=8)
    optim = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(15):
        optim.zero_grad()
        victim.loss(pixels, samples).backward()
        optim.step()
    attack = UniversalPerturbation(eps=16 / 255, alpha=2 / 255)
    losses = []
    for it in range(9):
        attack(victim, pixels, samples, iteration=it)
        losses.append(attack.last_loss)
    assert all(math.isfinite(v) for v in losses)
    assert sum(b > a for a, b in zip(losses, losses[1:])) >= 6, losses
    assert losses[-1] > 1.5 * losses[0], losses
    # Far more than a random perturbation of the same size does.
    noise = (torch.randint(0, 2, attack.delta.shape, generator=torch.Generator()
                           .manual_seed(0)) * 2 - 1) * 16.0
    with victim.attack_mode(), torch.no_grad():
        noisy = float(victim.loss((pixels + noise).clamp(0, 255), samples))
        adv = float(victim.loss((pixels + attack.delta).clamp(0, 255), samples))
    assert adv > noisy + 0.5 * (adv - losses[0]), (losses[0], noisy, adv)


def test_model_is_left_untouched(victim):
    model = victim.model
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    UniversalPerturbation()(victim, *pixels_of(victim))
    assert model.training
    assert all(p.grad is None and p.requires_grad for p in model.parameters())
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_background_mask_keeps_foreground_bit_identical(victim):
    pixels, samples = pixels_of(victim)
    fg = torch.stack([s.gt_fg_mask for s in samples])[:, None].expand_as(pixels)
    attack = UniversalPerturbation(eps=8 / 255, alpha=2 / 255, mask='background')
    for it in range(4):
        adv = attack(victim, pixels, samples, iteration=it)
    assert torch.equal(adv[fg], pixels[fg])
    assert not torch.equal(adv[~fg], pixels[~fg])


def test_non_finite_gradient_skips_the_update():
    class NanVictim(StubVictim):
        def loss(self, pixels, samples):
            return (pixels * float('nan')).sum()

    attack = UniversalPerturbation(alpha=2 / 255)
    pixels = torch.full((2, 3, 8, 8), 100.)
    with pytest.warns(RuntimeWarning, match='non-finite'):
        attack(NanVictim(), pixels, [None, None])
    assert attack.num_updates == 1 and torch.equal(attack.delta, torch.zeros(1, 3, 8, 8))


# ---------------------------------------------------------------- sizes
def test_other_batch_sizes_are_cropped_or_padded(victim):
    attack = UniversalPerturbation(eps=8 / 255, alpha=2 / 255, size=(32, 32))
    attack(victim, *pixels_of(victim, size=32))
    delta = attack.delta.clone()
    small, samples = pixels_of(victim, size=24, seed=1)
    adv = attack(victim, small, samples)
    assert attack.delta.shape == (1, 3, 32, 32)
    assert torch.equal(adv, (small + delta[..., :24, :24]).clamp(0, 255))
    # Only the part of delta that met the batch received a step.
    assert torch.equal(attack.delta[..., 24:, :], delta[..., 24:, :])
    big, samples = pixels_of(victim, size=40, seed=2)
    delta = attack.delta.clone()
    adv = attack(victim, big, samples)
    assert torch.equal(adv[..., 32:, :], big[..., 32:, :])  # zero-padded: clean
    assert torch.equal(adv[..., :32, :32], (big[..., :32, :32] + delta).clamp(0, 255))


def test_fit_resize_keeps_linf_budget():
    delta = (torch.rand(1, 3, 8, 8) * 2 - 1) * 8
    out = fit_perturbation(delta, 13, 21, fit='resize')
    assert out.shape == (1, 3, 13, 21) and float(out.abs().max()) <= 8
    crop = fit_perturbation(delta, 5, 12, fit='crop')
    assert torch.equal(crop[..., :5, :8], delta[..., :5, :]) and not crop[..., 8:].any()


# ---------------------------------------------------------------- state
def test_state_dict_round_trip(victim):
    attack = UniversalPerturbation(eps=8 / 255, alpha=2 / 255, random_start=True)
    for it in range(3):
        attack(victim, *pixels_of(victim, seed=it), iteration=it)
    state = attack.state_dict()
    assert set(state) == {'delta', 'num_updates', 'eps', 'norm'}
    assert state['delta'].device.type == 'cpu' and state['num_updates'] == 3
    assert isinstance(state['eps'], float) and isinstance(state['norm'], str)
    # A copy: later updates do not change what was saved.
    saved = state['delta'].clone()
    other = UniversalPerturbation(eps=8 / 255, alpha=2 / 255)
    other.load_state_dict(state)
    assert torch.equal(other.delta, attack.delta) and other.num_updates == 3
    pixels, samples = pixels_of(victim, seed=5)
    assert torch.equal(attack(victim, pixels, samples, iteration=3),
                       other(victim, pixels, samples, iteration=3))
    assert torch.equal(attack.delta, other.delta)
    assert torch.equal(state['delta'], saved)
    # A smaller budget projects the loaded perturbation.
    small = UniversalPerturbation(eps=2 / 255)
    small.load_state_dict(state)
    assert float(small.delta.abs().max()) <= 2.0 + 1e-6
    # The empty state (before the first call) round-trips too.
    fresh = UniversalPerturbation()
    fresh.load_state_dict(UniversalPerturbation().state_dict())
    assert fresh.delta is None and fresh.num_updates == 0


def test_load_state_dict_errors():
    with pytest.raises(ConfigError, match='delta'):
        UniversalPerturbation().load_state_dict({'x': 1})
    with pytest.raises(ConfigError, match='1 x C x H x W'):
        UniversalPerturbation().load_state_dict({'delta': torch.zeros(3, 4, 4)})
    with pytest.raises(ConfigError, match='size'):
        UniversalPerturbation(size=(8, 8)).load_state_dict(
            {'delta': torch.zeros(1, 3, 4, 4)})


def test_random_start_is_rank_independent_and_seeded(victim):
    starts = []
    for seed in (0, 0, 1):
        attack = UniversalPerturbation(eps=8 / 255, alpha=1 / 255, random_start=True,
                                       seed=seed)
        attack._current_delta(pixels_of(victim)[0])
        starts.append(attack.delta.clone())
    assert torch.equal(starts[0], starts[1]) and not torch.equal(starts[0], starts[2])
    assert float(starts[0].abs().max()) <= 8.0


# ---------------------------------------------------------------- checkpoints
class FakeRunner:

    def __init__(self, model, iter=0):
        self.model = model
        self.iter = iter
        self.rank = 0
        self.logger = MMLogger.get_current_instance()


ATTACK = dict(type='mmgat.UniversalPerturbation', eps=8 / 255, alpha=2 / 255)


def test_checkpoint_save_and_restore(victim, tmp_path):
    runner = FakeRunner(victim.model)
    hook = AdversarialHook(ATTACK, mode='append')
    for it in range(3):
        runner.iter = it
        hook.before_train_iter(runner, it, cls_batch(seed=it))
    checkpoint = dict(meta=dict(iter=3), state_dict=victim.model.state_dict())
    hook.before_save_checkpoint(runner, checkpoint)
    SafeCheckpointHook().before_save_checkpoint(runner, checkpoint)
    assert checkpoint['mmgat_adversarial']['attack'] == 'UniversalPerturbation'
    torch.save(checkpoint, tmp_path / 'iter_3.pth')
    loaded = safe_torch_load(str(tmp_path / 'iter_3.pth'), map_location='cpu')

    resumed = AdversarialHook(ATTACK, mode='append')
    resumed.after_load_checkpoint(runner, loaded)
    assert torch.equal(resumed.attack.delta, hook.attack.delta)
    assert resumed.attack.num_updates == 3
    # Both go on identically.
    batch_a, batch_b = cls_batch(seed=7), cls_batch(seed=7)
    runner.iter = 3
    hook.before_train_iter(runner, 3, batch_a)
    resumed.before_train_iter(runner, 3, batch_b)
    assert all(torch.equal(a, b) for a, b in zip(batch_a['inputs'], batch_b['inputs']))
    assert torch.equal(resumed.attack.delta, hook.attack.delta)


def test_checkpoint_without_state_or_of_another_attack(victim):
    runner = FakeRunner(victim.model)
    stateless = AdversarialHook(dict(type='mmgat.PGD', steps=1))
    checkpoint = {}
    stateless.before_save_checkpoint(runner, checkpoint)
    assert 'mmgat_adversarial' not in checkpoint
    hook = AdversarialHook(ATTACK)
    hook.after_load_checkpoint(runner, {'meta': {}})  # a clean checkpoint
    assert hook.attack.delta is None
    foreign = {'mmgat_adversarial': dict(attack='OtherAttack',
                                         state={'delta': torch.ones(1, 3, 4, 4)})}
    hook.after_load_checkpoint(runner, foreign)
    assert hook.attack.delta is None
