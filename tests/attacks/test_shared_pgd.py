"""Tests of SharedPGD: heap_size=1 is PGD, shared perturbations, truncation, errors."""
import pytest
import torch

from mmgat.attacks import PGD, SharedPGD, build_attack
from mmgat.structures import ClsDataSample
from mmgat.utils.errors import ConfigError
from mmgat.victims import ClassifierVictim, build_victim
from tiny_models import cls_model

pytestmark = pytest.mark.usefixtures('one_thread')


def cls_batch(num=4, low=0, high=256, seed=0):
    gen = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for i in range(num):
        inputs.append(torch.randint(low, high, (3, 32, 32), dtype=torch.uint8,
                                    generator=gen))
        sample = ClsDataSample(metainfo=dict(img_shape=(32, 32)))
        sample.gt_label = (3 * i) % 10
        mask = torch.zeros(32, 32, dtype=torch.bool)
        mask[4 + i:20 + i, 8:24] = True
        sample.gt_fg_mask = mask
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


@pytest.fixture(scope='module')
def victim():
    return build_victim(cls_model())


@pytest.mark.parametrize('kwargs', [
    dict(norm='linf'),
    dict(norm='l2', eps=0.5, alpha=0.1),
    dict(norm='linf', mask='background'),
    dict(norm='linf', random_start=False, steps=2),
])
def test_heap_size_one_is_pgd_bit_for_bit(victim, kwargs):
    pixels, samples, _ = victim.to_pixels(cls_batch())
    cfg = dict(dict(eps=8 / 255, alpha=2 / 255, steps=3, seed=5), **kwargs)
    expected = PGD(**cfg)(victim, pixels, samples, iteration=11)
    shared = SharedPGD(heap_size=1, **cfg)(victim, pixels, samples, iteration=11)
    assert torch.equal(shared, expected)
    assert not torch.equal(shared, pixels)


@pytest.mark.parametrize('norm, eps, alpha', [('linf', 8 / 255, 2 / 255),
                                              ('l2', 0.5, 0.2)])
def test_one_perturbation_per_heap(victim, norm, eps, alpha):
    # Mid-range pixels: no member saturates, so every member sees the same delta.
    pixels, samples, _ = victim.to_pixels(cls_batch(num=4, low=60, high=190))
    attack = SharedPGD(heap_size=2, eps=eps, alpha=alpha, steps=3, norm=norm)
    adv = attack(victim, pixels, samples)
    delta = adv - pixels
    assert torch.allclose(delta[0], delta[1], atol=1e-4)
    assert torch.allclose(delta[2], delta[3], atol=1e-4)
    assert float((delta[0] - delta[2]).abs().max()) > 1
    if norm == 'linf':
        assert float(delta.abs().max()) <= eps * 255 + 1e-4
    else:
        assert bool((delta.flatten(1).norm(dim=1) <= eps * 255 + 1e-3).all())
    with victim.attack_mode(), torch.no_grad():
        assert float(victim.loss(adv, samples)) > float(victim.loss(pixels, samples))


def test_whole_batch_heap_and_clipping(victim):
    pixels, samples, _ = victim.to_pixels(cls_batch(num=4))  # includes 0 / 255 pixels
    adv = SharedPGD(heap_size=4, steps=2)(victim, pixels, samples)
    assert float(adv.min()) >= 0 and float(adv.max()) <= 255
    assert float((adv - pixels).abs().max()) <= 8 + 1e-4


def test_background_mask_per_member(victim):
    pixels, samples, _ = victim.to_pixels(cls_batch(num=4))
    adv = SharedPGD(heap_size=2, steps=2, mask='background')(victim, pixels, samples)
    for i, sample in enumerate(samples):
        fg = sample.gt_fg_mask.expand(3, -1, -1)
        assert torch.equal(adv[i][fg], pixels[i][fg])
        assert bool((adv[i][~fg] != pixels[i][~fg]).any())


def test_heap_size_must_divide_batch(victim):
    pixels, samples, _ = victim.to_pixels(cls_batch(num=4))
    with pytest.raises(ConfigError, match=r'heap_size=3 .*batch size 4'):
        SharedPGD(heap_size=3, steps=1)(victim, pixels, samples)
    with pytest.raises(ConfigError, match=r'heap_size=3 .*batch size 8'):
        SharedPGD(heap_size=3, batch_size=8)
    SharedPGD(heap_size=4, batch_size=8)
    for bad in (0, -2, 1.5):
        with pytest.raises(ConfigError, match='heap_size'):
            SharedPGD(heap_size=bad)
    with pytest.raises(ConfigError, match='kappa'):
        SharedPGD(heap_size=2, kappa=-1.0)
    with pytest.raises(ConfigError, match='label_smoothing'):
        SharedPGD(heap_size=2, label_smoothing=1.0)
    with pytest.raises(ConfigError, match='eps'):
        build_attack(dict(type='mmgat.SharedPGD', heap_size=2, eps=-1))


def test_kappa_truncates_each_example(victim):
    pixels, samples, _ = victim.to_pixels(cls_batch(num=4))
    with victim.attack_mode(), torch.no_grad():
        losses = victim.per_sample_loss(pixels, samples)
    kappa = float(losses.median())
    above = losses > kappa  # these are already at the cap: no gradient, no change
    assert bool(above.any()) and bool((~above).any())
    attack = SharedPGD(heap_size=1, steps=2, random_start=False, kappa=kappa)
    adv = attack(victim, pixels, samples)
    for i in range(4):
        assert torch.equal(adv[i], pixels[i]) == bool(above[i]), i
    # A cap below every loss stops the whole attack.
    tiny = SharedPGD(heap_size=2, steps=2, random_start=False, kappa=1e-6)
    assert torch.equal(tiny(victim, pixels, samples), pixels)


def test_label_smoothing_runs_and_stays_in_budget(victim):
    pixels, samples, _ = victim.to_pixels(cls_batch(num=4))
    attack = SharedPGD(heap_size=2, steps=2, kappa=10.0, label_smoothing=0.1)
    adv = attack(victim, pixels, samples)
    assert float((adv - pixels).abs().max()) <= 8 + 1e-4
    assert not torch.equal(adv, pixels)


class BatchLossOnly(ClassifierVictim):
    """A victim that, like detection / segmentation, has no per-example loss."""
    supports_per_sample_loss = False


def test_kappa_needs_per_example_losses(victim):
    pixels, samples, _ = victim.to_pixels(cls_batch(num=4))
    other = BatchLossOnly(victim.model)
    with pytest.raises(ConfigError, match='per-example losses.*BatchLossOnly'):
        SharedPGD(heap_size=2, kappa=1.6)(other, pixels, samples)
    # Without kappa / label smoothing the batch loss is enough.
    SharedPGD(heap_size=2, steps=1)(other, pixels, samples)
