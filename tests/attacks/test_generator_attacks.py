"""Tests of the attacks through a generator: GAT's LatentAttack and the generator-layer
(granularity) LayerActivationAttack: budgets, level sampling, residual composition,
colour order, gradients, determinism and config errors."""
import pytest
import torch

from mmgat.attacks import LatentAttack, LayerActivationAttack, build_attack
from mmgat.generators import StyleAutoEncoder, clear_generator_cache
from mmgat.utils.errors import ConfigError
from mmgat.victims import build_victim
from tiny_models import cls_model, det_model

pytestmark = pytest.mark.usefixtures('one_thread')

TINY = dict(type='mmgat.StyleAutoEncoder', encoder_channels=(8, 8, 8, 8),
            decoder_channels=(8, 8, 8, 8), latent_channels=4)


@pytest.fixture(scope='module')
def generator_cfg(tmp_path_factory):
    """A tiny generator whose running statistics saw a few random batches."""
    torch.manual_seed(0)
    gen = StyleAutoEncoder(**{k: v for k, v in TINY.items() if k != 'type'})
    gen.train()
    with torch.no_grad():
        for _ in range(3):
            gen(torch.rand(4, 3, 32, 32) * 255, mode='loss')
    path = tmp_path_factory.mktemp('gen') / 'generator.pth'
    torch.save(dict(state_dict=gen.state_dict()), path)
    clear_generator_cache()
    return dict(config=dict(model=TINY), checkpoint=str(path))


@pytest.fixture(scope='module')
def cls_setup():
    victim = build_victim(cls_model())
    gen = torch.Generator().manual_seed(3)
    samples = []
    from mmgat.structures import ClsDataSample
    for i in range(4):
        sample = ClsDataSample(metainfo=dict(img_shape=(32, 32)))
        sample.gt_label = i
        samples.append(sample)
    images = [torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8, generator=gen)
              for _ in range(4)]
    pixels, samples, _ = victim.to_pixels(dict(inputs=images, data_samples=samples))
    return victim, pixels, samples


def _record_decode(attack, monkeypatch):
    """Record the latents / layer offsets every decode call of the attack receives."""
    calls = []
    gen = attack.generator
    original = gen.decode

    def decode(latents, layer_offsets=None):
        calls.append(({lvl: {k: v.detach().clone() for k, v in grp.items()}
                       for lvl, grp in latents.items()},
                      None if layer_offsets is None else
                      {k: v.detach().clone() for k, v in layer_offsets.items()}))
        return original(latents, layer_offsets)

    monkeypatch.setattr(gen, 'decode', decode)
    return calls


# ---------------------------------------------------------------- config errors
def test_missing_generator_checkpoint_names_the_command(tmp_path):
    with pytest.raises(ConfigError, match='train_generator.py'):
        LatentAttack(generator=dict(config='configs/generators/style-ae_digitscenes.py',
                                    checkpoint=str(tmp_path / 'nope.pth')))


@pytest.mark.parametrize('kwargs, match', [
    (dict(levels=('coarse', 'texture')), 'levels'),
    (dict(levels=()), 'levels'),
    (dict(level_sampling='sometimes'), 'level_sampling'),
    (dict(eps=-1.0), r"eps\['coarse'\]"),
    (dict(eps=dict(shape=1.0)), 'unknown level'),
    (dict(steps=0), 'steps'),
    (dict(alpha='big'), 'alpha'),
])
def test_latent_attack_config_errors(generator_cfg, kwargs, match):
    with pytest.raises(ConfigError, match=match):
        build_attack(dict(type='mmgat.LatentAttack', generator=generator_cfg, **kwargs))


def test_generator_field_is_checked():
    with pytest.raises(ConfigError, match='generator must be dict'):
        LatentAttack(generator='work_dirs/x.pth')


def test_layer_attack_config_errors(generator_cfg):
    with pytest.raises(ConfigError, match="unknown generator layer 'conv9'.*dec"):
        LayerActivationAttack(generator=generator_cfg, layer='conv9')
    layer = build_attack(dict(type='mmgat.LatentAttack',
                              generator=generator_cfg)).generator.decoder_layers[0]
    for kwargs, match in ((dict(radius=0), 'radius'), (dict(lr=-1.0), 'lr'),
                          (dict(loss='hinge'), 'loss')):
        with pytest.raises(ConfigError, match=match):
            LayerActivationAttack(generator=generator_cfg, layer=layer, **kwargs)


# ---------------------------------------------------------------- LatentAttack
@pytest.mark.parametrize('level', ['coarse', 'mid', 'fine'])
def test_latent_budget_holds_and_only_the_level_moves(generator_cfg, cls_setup,
                                                      monkeypatch, level):
    victim, pixels, samples = cls_setup
    eps = dict(coarse=0.3, mid=0.6, fine=0.9)
    attack = LatentAttack(generator=generator_cfg, levels=level, eps=eps, steps=3,
                          random_start=True)
    gen = attack.generator
    calls = _record_decode(attack, monkeypatch)
    adv = attack(victim, pixels, samples)
    assert adv.shape == pixels.shape and adv.min() >= 0 and adv.max() <= 255
    original = gen.encode(pixels)
    last_latents = calls[-1][0]
    moved = 0
    for lvl, group in original.items():
        for name, z in group.items():
            change = (last_latents[lvl][name] - z).abs()
            if lvl == level:
                bound = eps[level] * gen.latent_std(name).expand_as(z)
                assert bool((change <= bound + 1e-5).all()), name
                moved += int((change > 1e-6).sum())
            else:
                assert float(change.max()) < 1e-5, f'{name} of {lvl} moved'
    assert moved > 0
    assert attack.last_level == level


def test_latent_attack_raises_the_loss(generator_cfg, cls_setup):
    """Gradients reach the latents: the attack beats the unperturbed reconstruction."""
    victim, pixels, samples = cls_setup
    clean = LatentAttack(generator=generator_cfg, levels='fine', eps=0.0, alpha=0.1)
    adv = LatentAttack(generator=generator_cfg, levels=('coarse', 'mid', 'fine'),
                       level_sampling='all', eps=1.0, steps=3)
    clean_pixels, adv_pixels = clean(victim, pixels, samples), adv(victim, pixels, samples)
    with torch.no_grad(), victim.attack_mode():  # the loss the attack saw (eval mode)
        base = float(victim.loss(clean_pixels, samples))
        attacked = float(victim.loss(adv_pixels, samples))
    assert attacked > base + 1e-3


def test_residual_keeps_the_input_and_pure_resynthesis_does_not(generator_cfg,
                                                                cls_setup):
    victim, pixels, samples = cls_setup
    keep = LatentAttack(generator=generator_cfg, eps=0.0, alpha=0.1, residual=True)
    assert torch.allclose(keep(victim, pixels, samples), pixels, atol=1e-3)
    pure = LatentAttack(generator=generator_cfg, eps=0.0, alpha=0.1, residual=False)
    recon = pure.generator.decode(pure.generator.encode(pixels)).clamp(0, 255)
    assert torch.allclose(pure(victim, pixels, samples), recon, atol=1e-3)


def test_level_sampling(generator_cfg, cls_setup):
    victim, pixels, samples = cls_setup
    rand = LatentAttack(generator=generator_cfg, level_sampling='random', steps=1)
    drawn = []
    for it in range(12):
        rand(victim, pixels[:1], samples[:1], iteration=it)
        drawn.append(rand.last_level)
    assert set(drawn) == {'coarse', 'mid', 'fine'}
    again = []
    for it in range(12):
        rand(victim, pixels[:1], samples[:1], iteration=it)
        again.append(rand.last_level)
    assert drawn == again  # seeded by (seed, rank, iteration)
    cycle = LatentAttack(generator=generator_cfg, level_sampling='cycle',
                         levels=('fine', 'coarse'), steps=1)
    order = []
    for it in range(4):
        cycle(victim, pixels[:1], samples[:1], iteration=it)
        order.append(cycle.last_level)
    assert order == ['fine', 'coarse', 'fine', 'coarse']
    every = LatentAttack(generator=generator_cfg, level_sampling='all', steps=1)
    every(victim, pixels[:1], samples[:1])
    assert every.last_level == 'coarse+mid+fine'


def test_latent_attack_is_deterministic(generator_cfg, cls_setup):
    victim, pixels, samples = cls_setup
    attack = LatentAttack(generator=generator_cfg, random_start=True, steps=2)
    a = attack(victim, pixels, samples, iteration=5)
    b = attack(victim, pixels, samples, iteration=5)
    c = attack(victim, pixels, samples, iteration=6)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_bgr_victim_gets_the_same_change_flipped(generator_cfg, cls_setup):
    """A model without bgr_to_rgb hands BGR pixels; the generator must still see RGB."""
    victim, pixels, samples = cls_setup
    attack = LatentAttack(generator=generator_cfg, eps=0.0, alpha=0.1, residual=False)
    rgb_out = attack(victim, pixels, samples)
    monkey = type('BGRVictim', (), {})()
    monkey.channel_order = lambda channels: 'bgr'
    monkey.loss = lambda adv, smp: victim.loss(adv.flip(1), smp)
    monkey.attack_mode = victim.attack_mode
    bgr_out = attack(monkey, pixels.flip(1), samples)
    assert torch.allclose(bgr_out.flip(1), rgb_out, atol=1e-3)


def test_odd_sizes_are_padded_and_cropped(generator_cfg, cls_setup):
    victim, pixels, samples = cls_setup
    attack = LatentAttack(generator=generator_cfg, steps=1)
    odd = pixels[..., :30, :27]
    x, fmt = attack.to_generator(victim, odd)
    assert x.shape[-2:] == (32, 32)
    assert torch.equal(attack.from_generator(x, fmt), odd)


def test_detector_victim(generator_cfg):
    from test_pgd import det_batch
    victim = build_victim(det_model())
    pixels, samples, _ = victim.to_pixels(det_batch())
    attack = LatentAttack(generator=generator_cfg, levels='mid', steps=2)
    adv = attack(victim, pixels, samples)
    assert adv.shape == pixels.shape and not torch.equal(adv, pixels)
    valid = victim.valid_mask(samples, pixels.shape)
    # Nothing but the re-synthesis changes: still finite, still in range.
    assert torch.isfinite(adv).all() and float((adv * valid).max()) <= 255


# ---------------------------------------------------------------- LayerActivationAttack
def test_layer_attack_radius_and_single_layer(generator_cfg, cls_setup, monkeypatch):
    victim, pixels, samples = cls_setup
    layers = LatentAttack(generator=generator_cfg).generator.decoder_layers
    layer = layers[len(layers) // 2]
    attack = LayerActivationAttack(generator=generator_cfg, layer=layer, radius=0.4,
                                   steps=4)
    calls = _record_decode(attack, monkeypatch)
    adv = attack(victim, pixels, samples)
    assert adv.shape == pixels.shape
    offsets = calls[-1][1]
    assert list(offsets) == [layer]
    std = attack.generator.activation_std(layer).view(1, -1, 1, 1)
    u = offsets[layer] / std
    rms = u.flatten(1).norm(dim=1) / u[0].numel() ** 0.5
    assert float(rms.max()) <= 0.4 + 1e-4 and float(rms.max()) > 0.1


def test_layer_attack_lowers_the_margin(generator_cfg, cls_setup):
    victim, pixels, samples = cls_setup
    layer = LatentAttack(generator=generator_cfg).generator.decoder_layers[0]
    attack = LayerActivationAttack(generator=generator_cfg, layer=layer, radius=2.0,
                                   steps=5, kappa=100.0)
    adv_pixels = attack(victim, pixels, samples)
    with torch.no_grad(), victim.attack_mode():
        clean = float(victim.margin_loss(pixels, samples, kappa=100.0))
        adv = float(victim.margin_loss(adv_pixels, samples, kappa=100.0))
    assert adv > clean + 1e-3


def test_layer_attack_every_layer_runs_on_a_detector(generator_cfg):
    from test_pgd import det_batch
    victim = build_victim(det_model())
    pixels, samples, _ = victim.to_pixels(det_batch())
    layers = LatentAttack(generator=generator_cfg).generator.decoder_layers
    outs = []
    for layer in layers:
        attack = LayerActivationAttack(generator=generator_cfg, layer=layer, steps=1)
        outs.append(attack(victim, pixels, samples))
        assert outs[-1].shape == pixels.shape and torch.isfinite(outs[-1]).all()
    assert not torch.equal(outs[0], outs[-1])
