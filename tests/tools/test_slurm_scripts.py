"""tools/slurm_train.sh and slurm_test.sh with a stand-in ``srun`` on PATH: the srun
options come from GPUS / GPUS_PER_NODE / CPUS_PER_TASK / SRUN_ARGS, and train.py /
test.py get the config, the paths, ``--launcher=slurm`` and the extra arguments."""
import json
import os
import stat
import subprocess
import sys

import pytest

from conftest import REPO

# srun: record its options, then run the command it was given (what a node would do).
SRUN = '''#!{python}
import json, os, subprocess, sys
args = sys.argv[1:]
start = args.index(os.environ['PYTHON'])
with open(os.environ['RECORD'] + '/srun.json', 'w') as f:
    json.dump(dict(options=args[:start], pythonpath=os.environ.get('PYTHONPATH', '')), f)
sys.exit(subprocess.call(args[start:]))
'''
# python: record the script and arguments that would run on every task.
PYTHON = '''#!{python}
import json, os, sys
with open(os.environ['RECORD'] + '/python.json', 'w') as f:
    json.dump(sys.argv[1:], f)
'''


def _executable(path, text):
    path.write_text(text.replace('{python}', sys.executable))
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


@pytest.fixture
def stand_ins(tmp_path):
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    _executable(bin_dir / 'srun', SRUN)
    python = _executable(bin_dir / 'python-stub', PYTHON)
    record = tmp_path / 'record'
    record.mkdir()

    def run(script, *args, **env):
        full = dict(os.environ, PATH=f'{bin_dir}{os.pathsep}{os.environ["PATH"]}',
                    PYTHON=str(python), RECORD=str(record))
        for key in ('GPUS', 'GPUS_PER_NODE', 'CPUS_PER_TASK', 'SRUN_ARGS'):
            full.pop(key, None)
        full.update(env)
        result = subprocess.run(['bash', str(REPO / 'tools' / script), *args], env=full,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        srun = json.loads((record / 'srun.json').read_text())
        argv = json.loads((record / 'python.json').read_text())
        return srun, argv

    return run


def test_slurm_train_passes_resources_and_arguments(stand_ins):
    srun, argv = stand_ins('slurm_train.sh', 'gpu-part', 'gat-det',
                           'configs/gat/faster-rcnn_r18_gat_digitscenes.py', 'work_dirs/x',
                           '--resume', '--cfg-options', 'train_cfg.max_iters=10',
                           GPUS='16', GPUS_PER_NODE='4', CPUS_PER_TASK='3',
                           SRUN_ARGS='--mem=40G --qos=high')
    assert srun['options'] == [
        '-p', 'gpu-part', '--job-name=gat-det', '--gres=gpu:4', '--ntasks=16',
        '--ntasks-per-node=4', '--cpus-per-task=3', '--kill-on-bad-exit=1',
        '--mem=40G', '--qos=high']
    assert srun['pythonpath'].split(os.pathsep)[0].endswith('tools/..')
    assert argv[0] == '-u' and argv[1].endswith('tools/train.py')
    assert argv[2:] == ['configs/gat/faster-rcnn_r18_gat_digitscenes.py',
                        '--work-dir=work_dirs/x', '--launcher=slurm', '--resume',
                        '--cfg-options', 'train_cfg.max_iters=10']


def test_slurm_test_defaults_and_robustness_arguments(stand_ins):
    srun, argv = stand_ins('slurm_test.sh', 'p', 'suite', 'configs/clean/x.py',
                           'work_dirs/x/iter_500.pth', '--robustness',
                           'configs/robustness/unseen_digitscenes.py', '--work-dir', 'out')
    # the defaults: 8 GPUs on one node, 5 CPUs each, no extra srun options
    assert srun['options'] == [
        '-p', 'p', '--job-name=suite', '--gres=gpu:8', '--ntasks=8',
        '--ntasks-per-node=8', '--cpus-per-task=5', '--kill-on-bad-exit=1']
    assert argv[1].endswith('tools/test.py')
    assert argv[2:] == ['configs/clean/x.py', 'work_dirs/x/iter_500.pth',
                        '--launcher=slurm', '--robustness',
                        'configs/robustness/unseen_digitscenes.py', '--work-dir', 'out']
