"""Tests of AdversarialHook on synthetic batches with a tiny classifier / detector."""
import copy

import pytest
import torch
import torch.distributed as dist
from mmengine.dist import get_rank
from mmengine.logging import MMLogger
from mmengine.optim import OptimWrapper
from mmengine.registry import HOOKS as ROOT_HOOKS
from mmengine.structures import InstanceData

from mmgat.hooks import AdversarialHook
from mmgat.structures import ClsDataSample
from mmgat.utils.errors import ConfigError
from tiny_models import cls_model, det_model

pytestmark = pytest.mark.usefixtures('one_thread')

ATTACK = dict(type='mmgat.PGD', eps=8 / 255, alpha=2 / 255, steps=2)


class FakeRunner:
    """The attributes of mmengine's Runner that the hook reads."""

    def __init__(self, model, iter=0):
        self.model = model
        self.iter = iter
        self.rank = get_rank()
        self.logger = MMLogger.get_current_instance()


def cls_batch(num=4, seed=0):
    gen = torch.Generator().manual_seed(seed)
    samples = []
    for i in range(num):
        sample = ClsDataSample(metainfo=dict(img_shape=(32, 32)))
        sample.gt_label = i % 10
        samples.append(sample)
    inputs = [torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8, generator=gen)
              for _ in range(num)]
    return dict(inputs=inputs, data_samples=samples)


def det_batch():
    from mmdet.structures import DetDataSample
    gen = torch.Generator().manual_seed(0)
    inputs, samples = [], []
    for (h, w), boxes in (((48, 64), [[4., 6., 30., 40.]]), ((64, 40), [])):
        inputs.append(torch.randint(0, 256, (3, h, w), dtype=torch.uint8, generator=gen))
        sample = DetDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w),
                                             scale_factor=(1.0, 1.0)))
        bboxes = torch.tensor(boxes).reshape(-1, 4)
        sample.gt_instances = InstanceData(bboxes=bboxes,
                                           labels=torch.zeros(len(bboxes)).long())
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


@pytest.fixture(scope='module')
def model():
    return cls_model()


def _changed(batch, clean):
    return [not torch.equal(a.float(), b.float())
            for a, b in zip(batch['inputs'], clean['inputs'])]


# ---------------------------------------------------------------- config
def test_built_from_config_and_invalid_options():
    hook = ROOT_HOOKS.build(dict(type='mmgat.AdversarialHook', attack=ATTACK,
                                 mode='append', phase='both',
                                 victim=dict(loss_keys=None, background_classes=[0])))
    assert isinstance(hook, AdversarialHook)
    assert hook.phases == {'train', 'test'} and hook.attack.steps == 2
    for kwargs, match in ((dict(mode='swap'), "mode 'swap'"),
                          (dict(ratio=0), 'ratio'), (dict(ratio=1.5), 'ratio'),
                          (dict(interval=0), 'interval'), (dict(begin_iter=-1), 'begin_iter'),
                          (dict(phase='eval'), "phase 'eval'"),
                          (dict(victim=['loss_cls']), 'victim'),
                          (dict(attack=dict(ATTACK, norm='l1')), "norm 'l1'")):
        cfg = dict(dict(attack=ATTACK), **kwargs)
        with pytest.raises(ConfigError, match=match):
            AdversarialHook(**cfg)


# ---------------------------------------------------------------- train phase
def test_replace_whole_batch(model):
    clean = cls_batch()
    batch = copy.deepcopy(clean)
    AdversarialHook(ATTACK).before_train_iter(FakeRunner(model), 0, batch)
    assert len(batch['inputs']) == 4 and len(batch['data_samples']) == 4
    assert all(_changed(batch, clean))
    for img, orig in zip(batch['inputs'], clean['inputs']):
        assert img.dtype == torch.float32 and img.shape == orig.shape
        assert float((img - orig.float()).abs().max()) <= 8 + 1e-3
        assert float(img.min()) >= 0 and float(img.max()) <= 255
    assert [int(s.gt_label) for s in batch['data_samples']] == [0, 1, 2, 3]


def test_replace_ratio(model):
    clean = cls_batch()
    batch = copy.deepcopy(clean)
    AdversarialHook(ATTACK, ratio=0.5).before_train_iter(FakeRunner(model), 0, batch)
    assert _changed(batch, clean) == [True, True, False, False]
    assert batch['inputs'][2].dtype == torch.uint8  # untouched images stay as they were


def test_append_doubles_batch(model):
    clean = cls_batch()
    batch = copy.deepcopy(clean)
    AdversarialHook(ATTACK, mode='append').before_train_iter(FakeRunner(model), 0, batch)
    assert len(batch['inputs']) == 8 and len(batch['data_samples']) == 8
    for i in range(4):
        assert torch.equal(batch['inputs'][i], clean['inputs'][i])  # clean half
        adv = batch['inputs'][4 + i]
        assert not torch.equal(adv, clean['inputs'][i].float())
        assert float((adv - clean['inputs'][i].float()).abs().max()) <= 8 + 1e-3
        copied = batch['data_samples'][4 + i]
        assert copied is not batch['data_samples'][i]
        assert int(copied.gt_label) == int(batch['data_samples'][i].gt_label)


@pytest.mark.parametrize('mode', ['replace', 'append'])
def test_stacked_tensor_batch(model, mode):
    clean = cls_batch()
    clean['inputs'] = torch.stack(clean['inputs'])
    batch = copy.deepcopy(clean)
    AdversarialHook(ATTACK, mode=mode, ratio=0.5).before_train_iter(
        FakeRunner(model), 0, batch)
    inputs = batch['inputs']
    assert isinstance(inputs, torch.Tensor) and inputs.dtype == torch.float32
    assert inputs.shape[0] == (4 if mode == 'replace' else 6)
    assert torch.equal(inputs[2:4], clean['inputs'][2:4].float())
    adv = inputs[:2] if mode == 'replace' else inputs[4:]
    assert not torch.equal(adv, clean['inputs'][:2].float())
    assert float((adv - clean['inputs'][:2].float()).abs().max()) <= 8 + 1e-3
    if mode == 'append':
        assert torch.equal(inputs[:4], clean['inputs'].float())


def test_begin_iter_and_interval(model):
    hook = AdversarialHook(ATTACK, begin_iter=2, interval=2)
    attacked = []
    for it in range(7):
        clean = cls_batch(num=2)
        batch = copy.deepcopy(clean)
        hook.before_train_iter(FakeRunner(model, iter=it), it, batch)
        attacked.append(any(_changed(batch, clean)))
    assert attacked == [False, False, True, False, True, False, True]


def test_reproducible_per_seed_and_iteration(model):
    def run(seed, it):
        batch = cls_batch(num=2)
        attack = dict(ATTACK, seed=seed, steps=1, alpha=1e-6)  # ~ the random start
        AdversarialHook(attack).before_train_iter(FakeRunner(model, iter=it), 0, batch)
        return torch.stack(batch['inputs'])

    assert torch.equal(run(0, 5), run(0, 5))
    assert float((run(0, 5) - run(0, 6)).abs().max()) > 1
    assert not torch.equal(run(0, 5), run(1, 5))


def test_model_state_untouched_and_train_step_runs(model):
    model.train()
    buffers = {k: v.clone() for k, v in model.state_dict().items() if 'running' in k}
    batch = cls_batch()
    AdversarialHook(ATTACK, mode='append').before_train_iter(FakeRunner(model), 0, batch)
    assert model.training
    assert all(p.grad is None and p.requires_grad for p in model.parameters())
    for key, value in model.state_dict().items():
        if key in buffers:
            assert torch.equal(value, buffers[key]), key
    # The unchanged train step accepts the mixed uint8 / float batch of 8.
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.0))
    losses = model.train_step(batch, optim)
    assert torch.isfinite(losses['loss_cls'])
    model.zero_grad(set_to_none=True)


def test_detector_append_and_train_step():
    det = det_model()
    clean = det_batch()
    batch = copy.deepcopy(clean)
    hook = AdversarialHook(dict(ATTACK, mask='background'), mode='append')
    hook.before_train_iter(FakeRunner(det), 0, batch)
    assert len(batch['inputs']) == 4 and len(batch['data_samples']) == 4
    adv = batch['inputs'][2]
    assert adv.shape == clean['inputs'][0].shape
    # Background-only: the box content is untouched.
    assert torch.equal(adv[:, 6:40, 4:30], clean['inputs'][0][:, 6:40, 4:30].float())
    assert not torch.equal(adv, clean['inputs'][0].float())
    optim = OptimWrapper(torch.optim.SGD(det.parameters(), lr=0.0))
    losses = det.train_step(batch, optim)
    assert all(torch.isfinite(torch.as_tensor(v).float()).all() for v in losses.values())


# ---------------------------------------------------------------- test phase
def test_before_test_iter_under_no_grad(model):
    model.eval()
    clean = cls_batch()
    batch = copy.deepcopy(clean)
    hook = AdversarialHook(ATTACK, phase='test', mode='append', ratio=0.5)
    runner = FakeRunner(model)
    hook.before_train_iter(runner, 0, batch)  # phase 'test': training untouched
    assert not any(_changed(batch, clean))
    with torch.no_grad():
        hook.before_test_iter(runner, 3, batch)
    # Always replace, whole batch.
    assert len(batch['inputs']) == 4 and all(_changed(batch, clean))
    assert not model.training
    # phase 'train' leaves tests alone.
    batch = copy.deepcopy(clean)
    with torch.no_grad():
        AdversarialHook(ATTACK).before_test_iter(runner, 0, batch)
    assert not any(_changed(batch, clean))


def test_val_phase(model):
    clean = cls_batch(num=2)
    batch = copy.deepcopy(clean)
    with torch.no_grad():
        AdversarialHook(ATTACK, phase='all').before_val_iter(FakeRunner(model), 0, batch)
    assert all(_changed(batch, clean))


# ---------------------------------------------------------------- DDP
def test_ddp_model_is_unwrapped(tmp_path):
    from mmengine.model import MMDistributedDataParallel
    assert not dist.is_initialized()
    dist.init_process_group('gloo', init_method=f'file://{tmp_path}/store', rank=0,
                            world_size=1)
    try:
        model = cls_model()
        ddp = MMDistributedDataParallel(module=model)
        hook = AdversarialHook(ATTACK, mode='append')
        clean = cls_batch(num=2)
        batch = copy.deepcopy(clean)
        hook.before_train_iter(FakeRunner(ddp), 0, batch)
        assert len(batch['inputs']) == 4
        victim = next(iter(hook._victims.values()))
        assert victim.model is model
        assert all(p.grad is None for p in model.parameters())
        optim = OptimWrapper(torch.optim.SGD(ddp.parameters(), lr=0.0))
        losses = ddp.train_step(batch, optim)
        assert torch.isfinite(losses['loss_cls'])
    finally:
        dist.destroy_process_group()
