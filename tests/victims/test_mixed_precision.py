"""Attacks under autocast (tools/test.py --amp, AmpOptimWrapper): the model's forward
in bf16 / fp16, the perturbation, its gradient and its bounds in float32."""
import pytest
import torch

from mmgat.attacks import APGD, PGD
from mmgat.hooks import AdversarialHook
from mmgat.structures import ClsDataSample
from mmgat.utils.errors import ConfigError
from mmgat.victims import amp_dtype_of, build_victim, check_autocast
from tiny_models import cls_model, trained_classifier

pytestmark = pytest.mark.usefixtures('one_thread')


@pytest.fixture(scope='module')
def fitted():
    gen = torch.Generator().manual_seed(0)
    images = [torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8, generator=gen)
              for _ in range(8)]
    samples = []
    for i in range(8):
        sample = ClsDataSample(metainfo=dict(img_shape=(32, 32)))
        sample.gt_label = torch.tensor([i % 4])
        samples.append(sample)
    batch = dict(inputs=images, data_samples=samples)
    return trained_classifier(batch, iters=30), batch


def test_the_forward_runs_under_bf16_and_the_gradient_stays_float32(fitted):
    model, batch = fitted
    seen = []
    handle = model.backbone.conv1.register_forward_hook(
        lambda module, inputs, output: seen.append(output.dtype))
    try:
        victim = build_victim(model, autocast='bf16')
        pixels, samples, _ = victim.to_pixels(batch)
        pixels.requires_grad_(True)
        with victim.attack_mode():
            loss = victim.loss(pixels, samples)
            grad, = torch.autograd.grad(loss, pixels)
    finally:
        handle.remove()
    assert seen == [torch.bfloat16] and loss.dtype == torch.float32
    assert grad.dtype == torch.float32 and torch.isfinite(grad).all() and grad.abs().sum() > 0
    # without autocast: float32 all through
    seen.clear()
    assert build_victim(model).autocast_dtype is None


@pytest.mark.parametrize('attack', [PGD(eps=16 / 255, alpha=4 / 255, steps=5),
                                    APGD(eps=16 / 255, steps=5)])
def test_budgets_stay_exact_and_the_loss_still_rises_under_bf16(fitted, attack):
    model, batch = fitted
    victim = build_victim(model, autocast='bf16')
    pixels, samples, _ = victim.to_pixels(batch)
    full = build_victim(model)
    with victim.attack_mode():
        adv = attack(victim, pixels, samples, iteration=0)
        reference = attack(full, pixels, samples, iteration=0)  # float32
        clean_loss = full.loss(pixels, samples)
        adv_loss, reference_loss = full.loss(adv, samples), full.loss(reference, samples)
    assert adv.dtype == torch.float32
    assert (adv - pixels).abs().max() <= 16 + 1e-4  # eps * 255: the L-inf bound
    assert adv.min() >= 0 and adv.max() <= 255
    # the attack works under bf16 about as well as in float32
    assert adv_loss > 10 * clean_loss and adv_loss > 0.5 * reference_loss, (
        clean_loss, adv_loss, reference_loss)


def test_autocast_options_and_the_amp_optimizer_wrapper():
    assert check_autocast(None) is None and check_autocast('BF16') is torch.bfloat16
    assert check_autocast('fp16') is torch.float16
    with pytest.raises(ConfigError, match="autocast must be None or one of"):
        build_victim(cls_model(), autocast='int8')
    from mmengine.optim import AmpOptimWrapper, OptimWrapper
    # AmpOptimWrapper refuses to be built without a GPU: its attributes suffice here
    amp = object.__new__(AmpOptimWrapper)
    amp.cast_dtype = None
    assert amp_dtype_of(amp) is torch.float16
    amp.cast_dtype = torch.bfloat16
    assert amp_dtype_of(amp) is torch.bfloat16
    assert amp_dtype_of(object.__new__(OptimWrapper)) is None
    assert amp_dtype_of(dict(type='AmpOptimWrapper')) is None  # a config, not built
    # the hook's training victim follows the wrapper; its test victim does not
    hook = AdversarialHook(attack=dict(type='mmgat.PGD', steps=1))
    model = cls_model()
    assert hook._victim(model, 'train', amp).autocast_dtype is torch.bfloat16
    assert hook._victim(model, 'val', amp).autocast_dtype is None
    explicit = AdversarialHook(attack=dict(type='mmgat.PGD', steps=1),
                               victim=dict(autocast=None))
    assert explicit._victim(model, 'train', amp).autocast_dtype is None


def test_test_tool_amp_reaches_the_attack_victim_and_the_suite():
    from mmengine.config import Config

    import importlib.util

    from conftest import REPO
    from mmgat.evaluation import RobustnessSuite
    spec = importlib.util.spec_from_file_location('test_tool', REPO / 'tools/test.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    cfg = Config(dict(custom_hooks=[]))
    tool.add_attack(cfg, str(REPO / 'configs/_base_/attacks/pgd-linf_eps8_background.py'),
                    'bf16')
    assert cfg.custom_hooks[-1]['test_victim'] == dict(background_classes=[0],
                                                       autocast='bf16')
    assert tool.parse_args(['c.py', 'k.pth', '--amp']).amp == 'bf16'
    assert tool.parse_args(['c.py', 'k.pth', '--amp', 'fp16']).amp == 'fp16'
    suite = RobustnessSuite(cls_model(), Config(dict(test_dataloader=dict(dataset=dict(
        pipeline=[])))), dict(entries=[dict(name='clean', kind='clean')]), '/tmp/x',
        autocast='bf16')
    suite.task = 'classification'
    assert suite.victim_options(dict(split='val'), None)['autocast'] == 'bf16'
