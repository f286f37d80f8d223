"""AdvBN: the feature-statistics operation, the attack, and the hook that applies it."""
import copy

import pytest
import torch
from mmengine.optim import OptimWrapper

from mmgat.attacks import AdvBN, FeatureStatsPerturbation, build_attack, perturb_feature_stats
from mmgat.hooks import AdversarialHook
from mmgat.utils.errors import ConfigError
from mmgat.victims import build_victim
from colour_scenes import cls_batch, det_batch
from tiny_models import cls_model, det_model

pytestmark = pytest.mark.usefixtures('one_thread')

LAYER = 'backbone.layer1'


class FakeRunner:
    def __init__(self, model, iter=0):
        self.model = model
        self.iter = iter


@pytest.fixture(scope='module')
def model():
    """The tiny classifier fitted to the test batch: an untrained one predicts about
    uniformly whatever its features, so no attack could raise its loss."""
    model = cls_model()
    optim = OptimWrapper(torch.optim.Adam(model.parameters(), lr=3e-3))
    for _ in range(40):
        model.train_step(cls_batch(8), optim)
    model.zero_grad(set_to_none=True)
    return model


def layer_hooks(model):
    return len(model.get_submodule(LAYER)._forward_hooks)


# ---------------------------------------------------------------- the operation
def test_statistics_become_alpha_mean_and_beta_std():
    gen = torch.Generator().manual_seed(0)
    feats = torch.randn(4, 3, 5, 6, generator=gen) * 2 + torch.tensor([1., -3., 0.5]).view(
        1, 3, 1, 1)
    alpha, beta = torch.tensor([0.5, 2.0, -0.1]), torch.tensor([1.5, 0.2, 2.1])
    out = perturb_feature_stats(feats, alpha, beta)
    mean, std = feats.mean((0, 2, 3)), feats.std((0, 2, 3))
    torch.testing.assert_close(out.mean((0, 2, 3)), alpha * mean, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(out.std((0, 2, 3)), beta * std, rtol=1e-5, atol=1e-5)
    # ones: the identity; the operation is differentiable in alpha and beta
    torch.testing.assert_close(perturb_feature_stats(feats, torch.ones(3), torch.ones(3)),
                               feats)
    alpha.requires_grad_(True)
    perturb_feature_stats(feats, alpha, beta).sum().backward()
    assert alpha.grad is not None and bool(alpha.grad.abs().sum() > 0)
    with pytest.raises(ValueError, match='N x C x H x W'):
        perturb_feature_stats(feats.flatten(2), alpha, beta)


def test_perturbation_only_touches_chosen_rows_and_is_removed(model):
    pert = FeatureStatsPerturbation(LAYER, torch.full((8, ), 2.0), torch.full((8, ), 0.5))
    seen = []
    grab = model.get_submodule(LAYER).register_forward_hook(
        lambda m, a, out: seen.append(out.detach().clone()))
    x = torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    model.eval()
    try:
        with torch.no_grad():
            model.backbone(x)
            with pert.applied(model, rows=slice(2, 4)):
                assert layer_hooks(model) == 2
                model.backbone(x)
            model.backbone(x)
    finally:
        grab.remove()
    clean, _, again = seen  # the grab hook ran before the perturbation's
    assert torch.equal(clean, again) and layer_hooks(model) == 0
    # what the next layer saw: rows 0-1 clean, rows 2-3 perturbed with their own stats
    with torch.no_grad(), pert.applied(model, rows=slice(2, 4)):
        captured = []
        h = model.backbone.layer2.register_forward_pre_hook(
            lambda m, args: captured.append(args[0].clone()))
        try:
            model.backbone(x)
        finally:
            h.remove()
    feats = captured[0]
    assert torch.equal(feats[:2], clean[:2])
    torch.testing.assert_close(feats[2:], perturb_feature_stats(
        clean[2:], pert.alpha, pert.beta))
    # removed also when the forward raises
    with pytest.raises(RuntimeError):
        with pert.applied(model):
            model.backbone(torch.randn(1, 5, 32, 32))  # wrong channel count
    assert layer_hooks(model) == 0


def test_unknown_or_unsuitable_layers_are_clear_errors(model):
    victim = build_victim(model)
    batch = cls_batch(2)
    pixels, samples, _ = victim.to_pixels(batch)
    with pytest.raises(ConfigError, match=r"no module 'backbone.layer9'.*backbone.layer1"):
        AdvBN(layer='backbone.layer9')(victim, pixels, samples)
    # the backbone returns a tuple of stages: not a feature map
    with pytest.raises(ConfigError, match="'backbone' gives tuple"):
        AdvBN(layer='backbone')(victim, pixels, samples)
    assert layer_hooks(model) == 0 and len(model.backbone._forward_hooks) == 0
    for kwargs, match in ((dict(steps=0), 'steps'), (dict(tau=0), 'tau'),
                          (dict(step_size=-0.1), 'step_size'), (dict(layer=''), 'layer'),
                          (dict(seed=1.5), 'seed')):
        with pytest.raises(ConfigError, match=match):
            build_attack(dict(type='mmgat.AdvBN', **kwargs))


# ---------------------------------------------------------------- the attack
def test_search_raises_the_loss_inside_the_bounds(model):
    model.train()
    victim = build_victim(model)
    pixels, samples, _ = victim.to_pixels(cls_batch(8))
    buffers = {k: v.clone() for k, v in model.state_dict().items()}
    attack = AdvBN(layer=LAYER, steps=6, step_size=0.2, tau=1.1)
    pert = attack(victim, pixels, samples)
    assert isinstance(pert, FeatureStatsPerturbation) and pert.layer == LAYER
    assert pert.alpha.shape == pert.beta.shape == (8, )  # layer1 of the tiny ResNet
    for factors in (pert.alpha, pert.beta):
        assert not factors.requires_grad
        assert float(factors.min()) >= 1 - 1.1 - 1e-6 and float(factors.max()) <= 2.1 + 1e-6
    assert not torch.equal(pert.alpha, torch.ones(8))
    # the model is as it was: train mode, trainable, no gradients, no hooks, same stats
    assert model.training and layer_hooks(model) == 0
    assert all(p.requires_grad and p.grad is None for p in model.parameters())
    for key, value in model.state_dict().items():
        assert torch.equal(value, buffers[key]), key
    with torch.no_grad(), victim.attack_mode():
        clean = float(victim.loss(pixels, samples))
        with pert.applied(model):
            attacked = float(victim.loss(pixels, samples))
        weak = AdvBN(layer=LAYER, steps=1, step_size=0.01)(victim, pixels, samples)
        with weak.applied(model):
            slightly = float(victim.loss(pixels, samples))
    assert attacked > clean + 0.1, (clean, attacked)
    assert clean < slightly < attacked
    # deterministic: the same batch gives the same factors
    again = attack(victim, pixels, samples)
    assert torch.equal(again.alpha, pert.alpha) and torch.equal(again.beta, pert.beta)


def test_detector_search_with_padding():
    """A padded detector batch: the detector's loss reaches the factors of every layer1
    channel (its box samplers are random, so the loss itself is checked on the
    classifier)."""
    det = det_model()
    victim = build_victim(det)
    pixels, samples, _ = victim.to_pixels(det_batch())
    assert pixels.shape[-2:] == (64, 64)  # 48x64 and 64x40 padded
    pert = AdvBN(layer=LAYER, steps=3)(victim, pixels, samples, iteration=3)
    assert pert.alpha.shape == (8, )
    assert bool((pert.alpha != 1).all()) and bool((pert.beta != 1).all())
    again = AdvBN(layer=LAYER, steps=3)(victim, pixels, samples, iteration=3)
    assert torch.equal(again.alpha, pert.alpha)  # the samplers' RNG is seeded
    assert len(det.backbone.layer1._forward_hooks) == 0


# ---------------------------------------------------------------- the hook
def test_append_trains_on_clean_and_adversarial_features(model):
    model.eval()  # batch norm with running stats: the 2N loss splits into the halves
    clean_batch = cls_batch(4)
    batch = copy.deepcopy(clean_batch)
    hook = AdversarialHook(dict(type='mmgat.AdvBN', layer=LAYER, steps=2), mode='append')
    runner = FakeRunner(model)
    hook.before_train_iter(runner, 0, batch)
    assert len(batch['inputs']) == len(batch['data_samples']) == 8
    for i in range(4):  # no pixel changes: clean copies, same labels
        assert torch.equal(batch['inputs'][i], clean_batch['inputs'][i])
        assert torch.equal(batch['inputs'][4 + i], clean_batch['inputs'][i])
        assert int(batch['data_samples'][4 + i].gt_label) == i
    assert layer_hooks(model) == 1  # armed for this step
    data = model.data_preprocessor(copy.deepcopy(batch), True)
    with torch.no_grad():
        both = float(model.loss(**data)['loss_cls'])
    hook.after_train_iter(runner, 0, batch)
    assert layer_hooks(model) == 0
    pert = hook.attack(build_victim(model), *build_victim(model).to_pixels(clean_batch)[:2])
    half = model.data_preprocessor(copy.deepcopy(clean_batch), True)
    with torch.no_grad():
        clean = float(model.loss(**half)['loss_cls'])
        with pert.applied(model):
            adversarial = float(model.loss(**half)['loss_cls'])
    assert adversarial > clean
    assert both == pytest.approx((clean + adversarial) / 2, rel=1e-4)


def test_replace_ratio_and_train_step(model):
    model.train()
    batch = cls_batch(4)
    hook = AdversarialHook(dict(type='mmgat.AdvBN', layer=LAYER, steps=1), ratio=0.5)
    runner = FakeRunner(model)
    hook.before_train_iter(runner, 0, batch)
    assert len(batch['inputs']) == 4 and layer_hooks(model) == 1
    seen = []
    probe = model.backbone.layer2.register_forward_pre_hook(
        lambda m, args: seen.append(args[0].detach()))
    try:
        losses = model.train_step(batch, OptimWrapper(torch.optim.SGD(
            model.parameters(), lr=0.0)))
    finally:
        probe.remove()
    hook.after_train_iter(runner, 0, batch)
    assert torch.isfinite(losses['loss_cls']) and layer_hooks(model) == 0
    model.zero_grad(set_to_none=True)
    # rows 0-1 perturbed with their own statistics, rows 2-3 as computed
    with torch.no_grad():
        data = model.data_preprocessor(copy.deepcopy(cls_batch(4)), True)
        clean = model.backbone.layer1(model.backbone.maxpool(model.backbone.relu(
            model.backbone.norm1(model.backbone.conv1(data['inputs'])))))
    feats = seen[0]
    torch.testing.assert_close(feats[2:], clean[2:])
    assert not torch.allclose(feats[:2], clean[:2])


def test_test_phase_changes_predictions_for_that_batch_only(model):
    model.eval()
    batch = cls_batch(4)
    hook = AdversarialHook(dict(type='mmgat.AdvBN', layer=LAYER, steps=3, tau=1.1),
                           phase='test')
    runner = FakeRunner(model)

    def scores():
        with torch.no_grad():
            return torch.stack([s.pred_score for s in model.test_step(
                copy.deepcopy(batch))])

    clean = scores()
    with torch.no_grad():  # as in the test loop
        hook.before_test_iter(runner, 0, batch)
    attacked = scores()
    hook.after_test_iter(runner, 0, batch)
    assert not torch.allclose(attacked, clean)
    assert torch.equal(scores(), clean) and layer_hooks(model) == 0
    # the images themselves are untouched
    assert torch.equal(batch['inputs'][0], cls_batch(4)['inputs'][0])


def test_advbn_config_trains_and_hook_is_reported_as_advbn():
    from mmengine.config import Config

    from conftest import REPO
    from mmgat.attacks import AdvBN
    from mmgat.evaluation.seen_in_training import training_attacks
    for name in ('faster-rcnn_r18', 'fpn_r18', 'resnet18'):
        suffix = '-cls' if name == 'resnet18' else ''
        cfg = Config.fromfile(str(REPO / f'configs/advbn/{name}_advbn_digitscenes{suffix}.py'))
        attacks = training_attacks(cfg)
        assert [a['type'] for a in attacks] == ['mmgat.AdvBN']
        assert attacks[0]['layer'] == LAYER
    assert AdvBN.attack_families() == ('advbn', )
