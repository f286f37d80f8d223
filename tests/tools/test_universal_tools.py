"""Universal perturbations end to end: DDP, resume, sPGD tool + transform in test.py."""
import argparse
import importlib.util
import os
import pickle
import socket
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from conftest import FAST_OPTIONS, REPO

CLS = 'configs/clean/resnet18_clean_digitscenes-cls.py'
UNIVERSAL = {
    'cls': 'configs/universal/resnet18_universal_digitscenes-cls.py',
    'det': 'configs/universal/faster-rcnn_r18_universal_digitscenes.py',
    'seg': 'configs/universal/fpn_r18_universal_digitscenes.py',
}
ALPHA_PIXELS = 1.0  # alpha=1/255 of the universal configs, in 0-255 units
# One OpenMP thread per process: tiny models on a shared machine run several times
# faster without thread oversubscription.
ONE_THREAD = {'OMP_NUM_THREADS': '1'}


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def universal_state(path):
    from mmgat.utils import safe_torch_load
    checkpoint = safe_torch_load(str(path), map_location='cpu')
    saved = checkpoint['mmgat_adversarial']
    assert saved['attack'] == 'UniversalPerturbation'
    return saved['state']


def small_training(iters, interval, extra=()):
    return ['--cfg-options', *FAST_OPTIONS, f'train_cfg.max_iters={iters}',
            f'train_cfg.val_interval={iters}', 'train_dataloader.batch_size=8',
            f'default_hooks.checkpoint.interval={interval}',
            'default_hooks.checkpoint.max_keep_ckpts=-1', *extra]


def load_tool(name):
    spec = importlib.util.spec_from_file_location(name, REPO / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_compute_universal_helpers():
    tool = load_tool('compute_universal')
    assert tool.budget('8/255') == pytest.approx(8 / 255)
    assert tool.budget('0.5') == 0.5
    with pytest.raises(argparse.ArgumentTypeError, match='8/255'):
        tool.budget('eight')
    train = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
             dict(type='Resize'), dict(type='PackDetInputs')]
    test = [dict(type='LoadImageFromFile'), dict(type='mmdet.Resize'),
            dict(type='LoadAnnotations'), dict(type='PackDetInputs')]
    from mmgat.victims import loads_boxes_after_resize
    assert not loads_boxes_after_resize(train)
    assert loads_boxes_after_resize(test)
    assert not loads_boxes_after_resize(None)


# ---------------------------------------------------------------- configs
@pytest.mark.slow
@pytest.mark.parametrize('task', ['cls', 'det', 'seg'])
def test_universal_configs_train(task, run_tool, tmp_path):
    result = run_tool('train.py', UNIVERSAL[task], '--work-dir', tmp_path, '--cfg-options',
                      *FAST_OPTIONS, 'train_cfg.max_iters=2', 'train_cfg.val_interval=100',
                      'train_dataloader.batch_size=2', env=ONE_THREAD)
    assert 'UniversalPerturbation' in result.stdout + result.stderr
    state = universal_state(tmp_path / 'iter_2.pth')
    assert state['num_updates'] == 2
    delta = state['delta']
    assert delta.dim() == 4 and delta.shape[:2] == (1, 3)
    assert 0 < float(delta.abs().max()) <= 2 * ALPHA_PIXELS + 1e-5


# ---------------------------------------------------------------- DDP
def _ddp_worker(rank, world_size, init_file, out_dir):
    sys.path.insert(0, str(REPO / 'tests' / 'attacks'))
    from test_universal import cls_batch, cls_model

    from mmgat.attacks import UniversalPerturbation
    from mmgat.victims import build_victim
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank,
                            world_size=world_size)
    try:
        victim = build_victim(cls_model())  # same weights on every rank (seeded)
        synced = UniversalPerturbation(eps=8 / 255, alpha=1 / 255)
        for it in range(3):
            # Different data on every rank; rank 1 starts with a smaller batch, so
            # the ranks must agree on the perturbation's size.
            size = 24 if (rank == 1 and it == 0) else 32
            batch = cls_batch(num=2 + rank, seed=100 * rank + it, size=size)
            pixels, samples, _ = victim.to_pixels(batch)
            synced(victim, pixels, samples, iteration=it)
        gathered = [torch.empty_like(synced.delta) for _ in range(world_size)]
        dist.all_gather(gathered, synced.delta)
    finally:
        dist.destroy_process_group()
    # The same updates without synchronisation: what each rank would have alone.
    alone = UniversalPerturbation(eps=8 / 255, alpha=1 / 255, size=(32, 32))
    for it in range(3):
        size = 24 if (rank == 1 and it == 0) else 32
        pixels, samples, _ = victim.to_pixels(
            cls_batch(num=2 + rank, seed=100 * rank + it, size=size))
        alone(victim, pixels, samples, iteration=it)
    torch.save(dict(gathered=gathered, own=synced.delta, alone=alone.delta,
                    updates=synced.num_updates), os.path.join(out_dir, f'rank{rank}.pth'))


@pytest.mark.slow
def test_ddp_updates_are_bit_identical_on_all_ranks(tmp_path):
    mp.spawn(_ddp_worker, args=(2, str(tmp_path / 'store'), str(tmp_path)), nprocs=2,
             join=True)
    results = [torch.load(tmp_path / f'rank{r}.pth') for r in range(2)]
    own = [r['own'] for r in results]
    assert own[0].shape == (1, 3, 32, 32)
    assert torch.equal(own[0], own[1])  # bit for bit
    for r in results:
        assert r['updates'] == 3
        assert all(torch.equal(g, own[0]) for g in r['gathered'])
    # The ranks saw different data: unsynchronised, their perturbations would differ.
    assert not torch.equal(results[0]['alone'], results[1]['alone'])
    assert float(own[0].abs().max()) <= 3 * ALPHA_PIXELS + 1e-5


@pytest.mark.slow
def test_dist_train_saves_the_perturbation(run_tool, tmp_path):
    run_tool('dist_train.sh', UNIVERSAL['cls'], 2, '--work-dir', tmp_path,
             *small_training(3, 3), env={**ONE_THREAD, 'PORT': str(free_port())})
    state = universal_state(tmp_path / 'iter_3.pth')
    assert state['num_updates'] == 3
    assert state['delta'].shape == (1, 3, 32, 32)
    assert 0 < float(state['delta'].abs().max()) <= 3 * ALPHA_PIXELS + 1e-5
    logs = sorted(tmp_path.glob('*/*.log'))
    assert 'gloo' in logs[-1].read_text()


# ---------------------------------------------------------------- resume
@pytest.mark.slow
def test_resume_restores_the_perturbation(run_tool, tmp_path):
    straight, resumed = tmp_path / 'straight', tmp_path / 'resumed'
    run_tool('train.py', UNIVERSAL['cls'], '--work-dir', straight,
             *small_training(3, 1), env=ONE_THREAD)
    states = {i: universal_state(straight / f'iter_{i}.pth') for i in (1, 2, 3)}
    assert [states[i]['num_updates'] for i in (1, 2, 3)] == [1, 2, 3]
    step = (states[3]['delta'] - states[2]['delta']).abs()
    assert 0 < float(step.max()) <= ALPHA_PIXELS + 1e-5  # one update of alpha

    result = run_tool('train.py', UNIVERSAL['cls'], '--work-dir', resumed, '--resume',
                      straight / 'iter_2.pth', *small_training(3, 1), env=ONE_THREAD)
    assert 'restored the UniversalPerturbation state' in result.stdout + result.stderr
    assert not (resumed / 'iter_1.pth').exists()
    state = universal_state(resumed / 'iter_3.pth')
    # The resumed run went on from iter_2's perturbation: one more update, exactly as
    # the uninterrupted run (same weights, data and perturbation).
    assert state['num_updates'] == 3
    assert torch.equal(state['delta'], states[3]['delta'])
    assert float((state['delta'] - states[2]['delta']).abs().max()) <= ALPHA_PIXELS + 1e-5
    # A fresh start would be one step from zero: different.
    assert not torch.equal(state['delta'], states[1]['delta'])


# ---------------------------------------------------------------- sPGD tool
def perturbed_test_config(tmp_path, perturbation, strength, dump):
    """The clean config, tested on the TRAIN images (those sPGD maximised the loss on)
    with the perturbation added in the pipeline and the predictions dumped."""
    path = tmp_path / f'universal_test_{strength}.py'
    path.write_text(f"""
_base_ = [{str(REPO / CLS)!r}]
test_dataloader = dict(
    num_workers=0,
    dataset=dict(
        ann_file='cls/train.json',
        data_prefix=dict(img_path='cls/images/train', mask_path='cls/masks/train'),
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='mmgat.ApplyUniversalPerturbation', path={str(perturbation)!r},
                 strength={strength}),
            dict(type='mmgat.LoadForegroundMask'),
            dict(type='mmgat.PackClsInputs'),
        ]))
test_evaluator = [
    dict(type='mmgat.Accuracy', topk=(1, )),
    dict(type='DumpResults', out_file_path={str(dump)!r}),
]
""")
    return path


def true_class_nll(dump):
    """Mean negative log-likelihood of the true class, and all scores, of a dump."""
    with open(dump, 'rb') as f:
        results = pickle.load(f)
    scores = torch.stack([r['pred_score'] for r in results])
    labels = torch.tensor([int(r['gt_label']) for r in results])
    nll = -scores[torch.arange(len(labels)), labels].clamp_min(1e-12).log()
    return nll.mean().item(), scores


@pytest.mark.slow
def test_compute_universal_and_apply_it_in_test(run_tool, tmp_path):
    from mmgat.utils import safe_torch_load
    run_tool('train.py', CLS, '--work-dir', tmp_path / 'train',
             *small_training(12, 12, ['param_scheduler.0.end=3']), env=ONE_THREAD)
    checkpoint = tmp_path / 'train' / 'iter_12.pth'
    out = tmp_path / 'universal.pth'
    result = run_tool('compute_universal.py', CLS, checkpoint, '--out', out, '--eps',
                      '8/255', '--alpha', '2/255', '--epochs', '2', '--batch-size', '16',
                      '--cfg-options', 'train_dataloader.num_workers=0', env=ONE_THREAD)
    assert 'written to' in result.stdout
    record = safe_torch_load(str(out))
    pert = record['perturbation']
    assert pert.shape == (1, 3, 32, 32) and pert.dtype == torch.float32
    assert record['channel_order'] == 'rgb'  # the classifier's bgr_to_rgb=True
    assert record['iters'] == 6 and record['norm'] == 'linf'  # 2 epochs x 48/16
    assert record['eps'] == pytest.approx(8 / 255) and record['split'] == 'train'
    assert record['config'] == CLS and record['checkpoint'] == str(checkpoint)
    assert float(pert.abs().max()) == pytest.approx(8, abs=1e-4)  # 6 x 2 > 8
    assert len(record['losses']) == 6

    # tools/test.py with the transform in the test pipeline.
    nll = {}
    for strength in (0.0, 1.0):
        dump = tmp_path / f'preds_{strength}.pkl'
        config = perturbed_test_config(tmp_path, out, strength, dump)
        result = run_tool('test.py', config, checkpoint, '--work-dir', tmp_path / 'test',
                          '--out', tmp_path / f'metrics_{strength}.json', env=ONE_THREAD)
        assert 'accuracy/top1' in result.stdout
        nll[strength] = true_class_nll(dump)
    assert not torch.equal(nll[0.0][1], nll[1.0][1])  # the transform was applied
    # The perturbation raises the loss on the images it was computed on.
    assert nll[1.0][0] > nll[0.0][0], (nll[0.0][0], nll[1.0][0])


@pytest.mark.slow
def test_compute_universal_user_errors(run_tool, tmp_path):
    result = run_tool('compute_universal.py', CLS, tmp_path / 'none.pth', '--out',
                      tmp_path / 'u.pth', check=False, env=ONE_THREAD)
    assert result.returncode == 2 and 'none.pth' in result.stderr
    assert 'Traceback' not in result.stderr
    Path(tmp_path / 'fake.pth').write_bytes(b'')
    result = run_tool('compute_universal.py', CLS, tmp_path / 'fake.pth', '--out',
                      tmp_path / 'u.pth', '--split', 'val_ood', '--iters', '0',
                      check=False, env=ONE_THREAD)
    assert result.returncode == 2 and '--iters' in result.stderr
