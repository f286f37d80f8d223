"""tools/demo.py's step runner: exit codes and step times (the demo itself is `make demo`)."""
import json

import pytest

from test_robustness_tools import load_tool


@pytest.fixture
def demo(tmp_path):
    tool = load_tool('demo')
    return tool.Demo(tool.parse_args(['--work-dir', str(tmp_path)]))


def exiting(code):
    return ['-c', f'import sys, time; time.sleep(0.05); sys.exit({code})']


def test_step_times_replace_or_accumulate(demo, tmp_path):
    assert demo.run('train', exiting(0)) == 0
    first = demo.times['train']
    demo.run('train', exiting(0))
    assert 0.05 <= demo.times['train'] < first + 5  # replaced, not added
    demo.run('suite', exiting(0), accumulate=True)
    once = demo.times['suite']
    demo.run('suite', exiting(0), accumulate=True)  # a resumed suite adds its time
    assert demo.times['suite'] >= once + 0.05
    saved = json.loads((tmp_path / 'demo_times.json').read_text())
    assert saved == demo.times


def test_exit_codes(demo):
    # 3: the suite ran but some entries failed; allowed where the caller says so
    assert demo.run('suite', exiting(3), ok_codes=(0, 3)) == 3
    with pytest.raises(SystemExit, match='step suite failed with exit status 3'):
        demo.run('suite', exiting(3))
    with pytest.raises(SystemExit, match='exit status 1'):
        demo.run('train', exiting(1))


def test_every_task_and_method_has_a_config_and_a_generator_config():
    from conftest import REPO
    tool = load_tool('demo')
    for task, spec in tool.TASKS.items():
        assert (REPO / spec['generator']).is_file()
        for method in tool.METHODS:
            assert (REPO / tool.method_config(task, method)).is_file(), (task, method)
    assert tool.method_config('classification', 'advbn') == \
        'configs/advbn/resnet18_advbn_digitscenes-cls.py'
    assert tool.generator_checkpoint('configs/generators/style-ae_digitscenes-cls.py') == \
        'work_dirs/style-ae_digitscenes-cls/generator.pth'
