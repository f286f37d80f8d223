"""The CUDA paths: attacks, hooks and the tools on a GPU (skipped where there is none).

CI has no GPU; these run wherever ``torch.cuda.is_available()``, e.g. on a lent GPU
machine with ``python -m pytest tests/test_cuda.py``.
"""
import copy
import sys
from pathlib import Path

import pytest
import torch
from mmengine.optim import OptimWrapper

from conftest import FAST_OPTIONS, read_scalars

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')

PIXEL_ATTACKS = [
    dict(type='mmgat.PGD', eps=8 / 255, alpha=2 / 255, steps=2),
    dict(type='mmgat.PGD', eps=8 / 255, alpha=2 / 255, steps=2, mask='background'),
    dict(type='mmgat.SharedPGD', eps=8 / 255, alpha=2 / 255, steps=2, heap_size=2),
    dict(type='mmgat.ReColor', steps=2),
    dict(type='mmgat.SpatialFlow', steps=2),
    dict(type='mmgat.PerceptualAttack', steps=2),
    dict(type='mmgat.APGD', eps=8 / 255, steps=3),
    dict(type='mmgat.TOGVanishing', eps=8 / 255, steps=2),
]


def _models():
    from tiny_models import cls_model, det_model
    return {'cls': cls_model().cuda(), 'det': det_model().cuda()}


@pytest.fixture(scope='module')
def models():
    return _models()


def _batch(task):
    # Scenes with boxes and masks (tests/attacks/colour_scenes.py), 4 classification
    # images or 2 padded detection ones.
    sys.path.insert(0, str(Path(__file__).parent / 'attacks'))
    from colour_scenes import cls_batch, det_batch
    return cls_batch(4) if task == 'cls' else det_batch()


@pytest.mark.parametrize('task', ['cls', 'det'])
@pytest.mark.parametrize('attack', PIXEL_ATTACKS, ids=lambda a: a['type'] + (
    '-bg' if a.get('mask') else ''))
def test_pixel_attacks_on_cuda(models, task, attack):
    from mmgat.attacks import build_attack
    from mmgat.victims import build_victim
    if attack['type'] == 'mmgat.TOGVanishing' and task != 'det':
        pytest.skip('a detection attack')
    victim = build_victim(models[task])
    pixels, samples, _ = victim.to_pixels(_batch(task))
    assert pixels.is_cuda
    adv = build_attack(attack)(victim, pixels, samples, iteration=1)
    assert adv.is_cuda and adv.shape == pixels.shape
    assert float(adv.min()) >= 0 and float(adv.max()) <= 255
    assert not torch.equal(adv, pixels)
    again = build_attack(attack)(victim, pixels, samples, iteration=1)
    torch.testing.assert_close(again, adv, atol=1e-3, rtol=0)


@pytest.mark.parametrize('dtype', ['bf16', 'fp16'])
@pytest.mark.parametrize('task', ['cls', 'det'])
def test_attacks_under_autocast_on_cuda(models, task, dtype):
    """tools/test.py --amp / AmpOptimWrapper: the forward under autocast, the bounds
    exact, the loss still rising."""
    from mmgat.attacks import build_attack
    from mmgat.victims import build_victim
    victim = build_victim(models[task], autocast=dtype)
    full = build_victim(models[task])
    pixels, samples, _ = victim.to_pixels(_batch(task))
    attack = build_attack(dict(type='mmgat.PGD', eps=8 / 255, alpha=2 / 255, steps=3))
    with victim.attack_mode():
        adv = attack(victim, pixels, samples, iteration=1)
        clean, attacked = full.loss(pixels, samples), full.loss(adv, samples)
    assert adv.dtype == torch.float32
    assert float((adv - pixels).abs().max()) <= 8 + 1e-3
    assert float(adv.min()) >= 0 and float(adv.max()) <= 255
    assert float(attacked) > float(clean)


@pytest.mark.parametrize('mode', ['append', 'replace'])
@pytest.mark.parametrize('attack', [
    dict(type='mmgat.PGD', eps=4 / 255, alpha=2 / 255, steps=2),
    dict(type='mmgat.AdvBN', layer='backbone.layer1', steps=2),
])
def test_hook_train_step_on_cuda(models, mode, attack):
    from mmgat.hooks import AdversarialHook

    class Runner:
        iter = 0

    det = models['det'].train()
    runner = Runner()
    runner.model = det
    batch = _batch('det')
    hook = AdversarialHook(attack, mode=mode)
    hook.before_train_iter(runner, 0, batch)
    losses = det.train_step(copy.copy(batch), OptimWrapper(torch.optim.SGD(
        det.parameters(), lr=0.0)))
    hook.after_train_iter(runner, 0, batch)
    assert all(torch.isfinite(torch.as_tensor(v).float()).all() for v in losses.values())
    assert not det.backbone.layer1._forward_hooks
    det.zero_grad(set_to_none=True)


def test_latent_attack_moves_the_generator_to_the_gpu(models, tmp_path):
    from mmgat.attacks import LatentAttack
    from mmgat.generators import StyleAutoEncoder
    from mmgat.generators.loading import clear_generator_cache
    from mmgat.victims import build_victim
    tiny = dict(encoder_channels=(8, 8, 8, 8), decoder_channels=(8, 8, 8, 8),
                latent_channels=4)
    torch.manual_seed(0)
    gen = StyleAutoEncoder(**tiny)
    path = tmp_path / 'generator.pth'
    torch.save(dict(state_dict=gen.state_dict()), path)
    clear_generator_cache()
    attack = LatentAttack(generator=dict(config=dict(model=dict(
        type='mmgat.StyleAutoEncoder', **tiny)), checkpoint=str(path)), steps=2)
    victim = build_victim(models['cls'])
    pixels, samples, _ = victim.to_pixels(_batch('cls'))
    adv = attack(victim, pixels, samples)
    assert adv.is_cuda and adv.shape == pixels.shape and not torch.equal(adv, pixels)


@pytest.mark.slow
@pytest.mark.parametrize('config', [
    'configs/pgd/faster-rcnn_r18_pgd_digitscenes.py',
    'configs/advbn/fpn_r18_advbn_digitscenes.py',
    'configs/advbn/resnet18_advbn_digitscenes-cls.py',
])
def test_tools_train_and_test_on_the_gpu(config, run_tool, tmp_path):
    run_tool('train.py', config, '--work-dir', tmp_path, '--cfg-options', *FAST_OPTIONS,
             'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
             'default_hooks.checkpoint.interval=2')
    assert len([s for s in read_scalars(tmp_path) if 'loss' in s]) == 2
    log = next(tmp_path.glob('*/*.log')).read_text()
    assert 'AdversarialHook (train)' in log and 'cuda' in log.lower()
    run_tool('test.py', config, tmp_path / 'iter_2.pth', '--work-dir', tmp_path / 'test',
             '--attack', 'configs/_base_/attacks/advbn.py', '--out', tmp_path / 'adv.json')
