"""Truncated checkpoints, non-checkpoint files and cut annotation files, through the
tools: ``--resume`` falls back to the newest readable checkpoint, everything else is one
line naming the file and exit status 2."""
import json
import random
import shutil
from pathlib import Path

import pytest
import torch

from conftest import FAST_OPTIONS, read_scalars

CLS = 'configs/clean/resnet18_clean_digitscenes-cls.py'
DET = 'configs/clean/faster-rcnn_r18_clean_digitscenes.py'


def assert_user_error(result, *fragments):
    """Exit status 2 and one line ``error: ...`` holding every fragment, no traceback."""
    assert result.returncode == 2, result.stderr[-3000:]
    assert 'Traceback' not in result.stderr, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith('error:')]
    assert len(errors) == 1, result.stderr[-3000:]
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


def truncate(path):
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[:len(data) // 3])


def train_options(max_iters):
    return ['--cfg-options', *FAST_OPTIONS, 'default_hooks.checkpoint.interval=2',
            'train_dataloader.batch_size=8', f'train_cfg.max_iters={max_iters}',
            'train_cfg.val_interval=100']


@pytest.mark.slow
def test_resume_skips_a_truncated_latest_checkpoint(run_tool, tmp_path):
    work = tmp_path / 'work'
    run_tool('train.py', CLS, '--work-dir', work, *train_options(4))
    iter_2, iter_4 = work / 'iter_2.pth', work / 'iter_4.pth'
    assert (work / 'last_checkpoint').read_text() == str(iter_4)
    assert not list(work.glob('*.tmp'))  # written atomically, nothing left over
    truncate(iter_4)  # what a crash during a plain torch.save leaves

    # An explicit path to it: one line naming it.
    result = run_tool('train.py', CLS, '--work-dir', work, '--resume', iter_4,
                      *train_options(6), check=False)
    assert_user_error(result, str(iter_4), 'truncated')

    # --resume alone: from iter_2, with a warning naming both.
    result = run_tool('train.py', CLS, '--work-dir', work, '--resume', *train_options(6))
    output = result.stdout + result.stderr
    warning = next(line for line in output.splitlines() if 'resuming from' in line)
    assert str(iter_4) in warning and str(iter_2) in warning
    assert [s['iter'] for s in read_scalars(work) if 'loss' in s] == [3, 4, 5, 6]
    assert (work / 'last_checkpoint').read_text() == str(work / 'iter_6.pth')
    # iter_4 was written again, whole; iter_2 went after iter_6 was complete.
    assert sorted(p.name for p in work.glob('*.pth')) == ['iter_4.pth', 'iter_6.pth']
    from mmgat.utils import safe_torch_load
    assert safe_torch_load(str(iter_4), map_location='cpu')['meta']['iter'] == 4

    # No readable checkpoint at all: one line naming the latest, exit status 2.
    truncate(iter_4)
    truncate(work / 'iter_6.pth')
    result = run_tool('train.py', CLS, '--work-dir', work, '--resume', *train_options(8),
                      check=False)
    assert_user_error(result, str(work / 'iter_6.pth'), 'truncated')


@pytest.mark.slow
@pytest.mark.parametrize('content', [b'weights are on the shared drive\n',
                                     random.Random(0).randbytes(2048)],
                         ids=['text', 'random'])
def test_test_tool_says_not_a_checkpoint(run_tool, tmp_path, content):
    path = tmp_path / 'model.pth'
    path.write_bytes(content)
    result = run_tool('test.py', CLS, path, '--work-dir', tmp_path, check=False)
    assert_user_error(result, f'not a PyTorch checkpoint: {path}')
    assert 'allowlist' not in result.stderr and 'arbitrary code' not in result.stderr


@pytest.mark.slow
def test_test_tool_names_a_truncated_checkpoint(run_tool, tmp_path):
    path = tmp_path / 'iter_4.pth'
    torch.save({'state_dict': {'w': torch.zeros(1000)}}, path)
    truncate(path)
    result = run_tool('test.py', CLS, path, '--work-dir', tmp_path, check=False)
    assert_user_error(result, str(path), 'truncated')


@pytest.mark.slow
@pytest.mark.parametrize('config, ann', [(CLS, 'cls/val.json'),
                                         (DET, 'annotations/train.json')],
                         ids=['cls-val', 'coco-train'])
def test_cut_annotation_file_is_named_with_position(run_tool, digitscenes_root, tmp_path,
                                                    config, ann):
    root = tmp_path / 'digitscenes'
    shutil.copytree(digitscenes_root, root)
    path = root / ann
    text = json.dumps(json.loads(path.read_text()), indent=1)
    path.write_text(text[:len(text) // 2])
    try:
        json.loads(path.read_text())
    except json.JSONDecodeError as e:
        position = f'line {e.lineno}, column {e.colno}'
    result = run_tool('train.py', config, '--work-dir', tmp_path / 'work',
                      '--cfg-options', *FAST_OPTIONS, 'train_cfg.max_iters=1',
                      data_root=root, check=False)
    assert_user_error(result, str(path), position)
