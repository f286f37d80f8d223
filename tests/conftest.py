"""Shared fixtures: a tiny DigitScenes dataset and a runner for the command-line tools."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Settings that make a config train in seconds inside a test: no worker processes, a log
# line per iteration, and a short warm-up.
FAST_OPTIONS = [
    'train_dataloader.num_workers=0',
    'val_dataloader.num_workers=0',
    'test_dataloader.num_workers=0',
    'default_hooks.logger.interval=1',
]


@pytest.fixture(scope='session')
def digitscenes_root(tmp_path_factory):
    """A small DigitScenes (48 train / 16 val / 16 val_ood scenes), made once per session."""
    out = tmp_path_factory.mktemp('data') / 'digitscenes'
    subprocess.run(
        [sys.executable, 'tools/make_digitscenes.py', '--out', str(out), '--num-train', '48',
         '--num-val', '16', '--seed', '0'],
        cwd=REPO, check=True, capture_output=True, text=True)
    return out


@pytest.fixture
def run_tool(digitscenes_root):
    """Run ``tools/<script>`` in a subprocess on the tiny dataset; returns CompletedProcess."""

    def run(script, *args, check=True, timeout=900, env=None, data_root=None):
        full_env = dict(os.environ)
        full_env['MMGAT_DATA_ROOT'] = str(data_root or digitscenes_root)
        full_env['PYTHONPATH'] = str(REPO) + os.pathsep + full_env.get('PYTHONPATH', '')
        full_env['PYTHON'] = sys.executable
        full_env.update(env or {})
        if script.endswith('.sh'):
            cmd = ['bash', str(REPO / 'tools' / script), *map(str, args)]
        else:
            cmd = [sys.executable, str(REPO / 'tools' / script), *map(str, args)]
        result = subprocess.run(cmd, cwd=REPO, env=full_env, capture_output=True,
                                text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(
                f'{" ".join(cmd)} exited {result.returncode}\n--- stdout\n'
                f'{result.stdout[-6000:]}\n--- stderr\n{result.stderr[-6000:]}')
        return result

    return run


def read_scalars(work_dir):
    """The training log lines (mmengine's vis_data/scalars.json) of the latest run."""
    logs = sorted(Path(work_dir).glob('*/vis_data/scalars.json'))
    assert logs, f'no scalars.json under {work_dir}'
    with open(logs[-1]) as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.fixture(scope='module')
def one_thread():
    """One torch thread for a module of tiny in-process models.

    OpenMP threads only add synchronisation cost to millisecond-sized convolutions
    (100x on a busy 2-core machine); the setting is restored for other modules.
    Use it with ``pytestmark = pytest.mark.usefixtures('one_thread')``.
    """
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def message_hub_state():
    """The state of an mmengine MessageHub holding numpy scalars, as stock mmengine
    puts it into a checkpoint."""
    import numpy as np
    from mmengine.logging import MessageHub
    hub = MessageHub.get_instance('test_safe_checkpoint')
    hub.update_scalar('train/loss', 1.5)
    hub.update_scalar('train/loss', np.float64(0.5))
    hub.update_info('metric', np.float32(0.25))
    hub.update_info('iter', 3)
    return hub.state_dict()
