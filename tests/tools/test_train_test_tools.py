"""tools/train.py and tools/test.py on the three clean baselines (tiny runs)."""
import json
import socket
from statistics import mean

import pytest
import torch

from conftest import FAST_OPTIONS, read_scalars

DET = 'configs/clean/faster-rcnn_r18_clean_digitscenes.py'
SEG = 'configs/clean/fpn_r18_clean_digitscenes.py'
CLS = 'configs/clean/resnet18_clean_digitscenes-cls.py'

# config, metric key, upper bound of the metric
BASELINES = {
    'det': (DET, 'coco/bbox_mAP_50', 1.0),
    'seg': (SEG, 'mIoU', 100.0),
    'cls': (CLS, 'accuracy/top1', 1.0),
}


def short_training(iters, extra=()):
    """Overfit a fixed set of 8 images: the loss must fall within a few iterations."""
    return ['--cfg-options', *FAST_OPTIONS, f'train_cfg.max_iters={iters}',
            f'train_cfg.val_interval={iters}', 'train_dataloader.dataset.indices=8',
            'train_dataloader.batch_size=4', 'param_scheduler.0.end=3',
            f'default_hooks.checkpoint.interval={iters}', *extra]


@pytest.mark.slow
@pytest.mark.parametrize('task', ['det', 'seg', 'cls'])
def test_baseline_trains_with_falling_loss_and_tests(task, run_tool, tmp_path):
    config, metric, upper = BASELINES[task]
    iters = 20
    run_tool('train.py', config, '--work-dir', tmp_path, *short_training(iters))

    losses = [s['loss'] for s in read_scalars(tmp_path) if 'loss' in s]
    assert len(losses) == iters
    assert all(torch.isfinite(torch.tensor(losses)))
    assert mean(losses[-5:]) < 0.8 * mean(losses[:5]), losses

    checkpoint = tmp_path / f'iter_{iters}.pth'
    assert checkpoint.is_file()
    out = tmp_path / 'metrics.json'
    result = run_tool('test.py', config, checkpoint, '--work-dir', tmp_path / 'test',
                      '--out', out, '--cfg-options', 'test_dataloader.num_workers=0')
    metrics = json.loads(out.read_text())['metrics']
    assert 0.0 <= metrics[metric] <= upper
    assert metric in result.stdout

    # The out-of-domain split is evaluated by the same command.
    out_ood = tmp_path / 'metrics_ood.json'
    run_tool('test.py', config, checkpoint, '--work-dir', tmp_path / 'test', '--split',
             'val_ood', '--out', out_ood, '--cfg-options', 'test_dataloader.num_workers=0')
    record = json.loads(out_ood.read_text())
    assert record['split'] == 'val_ood' and metric in record['metrics']


@pytest.mark.slow
def test_resume_continues_from_saved_iteration(run_tool, tmp_path):
    from mmgat.utils import safe_torch_load
    from mmgat.utils.safe_history_buffer import SafeHistoryBuffer

    options = ['--cfg-options', *FAST_OPTIONS, 'default_hooks.checkpoint.interval=2',
               'train_dataloader.batch_size=8']
    run_tool('train.py', CLS, '--work-dir', tmp_path, *options, 'train_cfg.max_iters=4',
             'train_cfg.val_interval=100')
    first = safe_torch_load(str(tmp_path / 'iter_4.pth'), map_location='cpu')
    assert first['meta']['iter'] == 4
    # What was saved is inside the allowlist: history buffers without builtins.getattr.
    buffers = first['message_hub']['log_scalars'].values()
    assert buffers and all(isinstance(b, SafeHistoryBuffer) for b in buffers)

    result = run_tool('train.py', CLS, '--work-dir', tmp_path, '--resume', *options,
                      'train_cfg.max_iters=6', 'train_cfg.val_interval=100')
    assert 'resumed' in (result.stdout + result.stderr).lower()
    iters = [s['iter'] for s in read_scalars(tmp_path) if 'loss' in s]
    assert iters == [5, 6]
    second = safe_torch_load(str(tmp_path / 'iter_6.pth'), map_location='cpu')
    assert second['meta']['iter'] == 6
    # The optimizer state went on from the first run instead of starting afresh.
    step = next(iter(second['optimizer']['state'].values()))['step']
    assert int(step) == 6


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_process_cpu_ddp_training_finishes(run_tool, tmp_path):
    run_tool('dist_train.sh', CLS, 2, '--work-dir', tmp_path, '--cfg-options', *FAST_OPTIONS,
             'train_cfg.max_iters=3', 'train_cfg.val_interval=3',
             'default_hooks.checkpoint.interval=3', env={'PORT': str(free_port())})
    assert (tmp_path / 'iter_3.pth').is_file()
    text = sorted(tmp_path.glob('*/*.log'))[-1].read_text()
    assert 'Distributed training: True' in text
    assert 'GPU number: 2' in text  # mmengine's name for the world size
    assert "'backend': 'gloo'" in text
