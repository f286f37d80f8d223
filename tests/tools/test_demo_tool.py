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


def test_seeds_train_each_method_per_seed_and_pair_with_clean(tmp_path, monkeypatch):
    """--seeds: one training per (method, seed) with randomness.seed, its own work dir,
    one suite each, and one report that groups the seeds and pairs with clean. The
    tools are stood in for: each step writes what the real one would."""
    import os
    tool = load_tool('demo')
    (tmp_path / 'data').mkdir()
    (tmp_path / 'data' / 'meta.json').write_text('{}')
    calls = []

    def fake_run(self, step, cmd, accumulate=False, ok_codes=(0, )):
        calls.append((step, cmd))
        args = cmd[1:]
        if cmd[0] == 'tools/train.py':
            work_dir = args[args.index('--work-dir') + 1]
            os.makedirs(work_dir, exist_ok=True)
            ckpt = os.path.join(work_dir, 'iter_1.pth')
            open(ckpt, 'w').close()
            with open(os.path.join(work_dir, 'last_checkpoint'), 'w') as f:
                f.write(ckpt)
        elif cmd[0] == 'tools/test.py' and '--robustness' in args:
            work_dir = args[args.index('--work-dir') + 1]
            os.makedirs(work_dir, exist_ok=True)
            with open(os.path.join(work_dir, 'robustness.json'), 'w') as f:
                json.dump(dict(clean=0.5), f)
        elif cmd[0] == 'tools/test.py':
            out = args[args.index('--out') + 1]
            os.makedirs(os.path.dirname(out), exist_ok=True)
            with open(out, 'w') as f:
                json.dump(dict(metrics={'psnr': 20.0, 'coco/bbox_mAP_50': 0.4}), f)
        elif cmd[0] == 'tools/report.py':
            with open(args[args.index('--out') + 1], 'w') as f:
                f.write('# report\n')
        return 0

    monkeypatch.setattr(tool.Demo, 'run', fake_run)
    monkeypatch.setattr(tool, 'generator_checkpoint', lambda cfg: str(tmp_path / 'g.pth'))
    (tmp_path / 'g.pth').write_text('')
    wd = tmp_path / 'demo'
    tool.main(['--work-dir', str(wd), '--data-root', str(tmp_path / 'data'),
               '--methods', 'clean', 'gat', '--seeds', '0', '1'])
    trains = [cmd for step, cmd in calls if step.startswith('train_')]
    assert [step for step, _ in calls if step.startswith('train_')] == [
        'train_clean_seed0', 'train_clean_seed1', 'train_gat_seed0', 'train_gat_seed1']
    assert trains[1][-2:] == ['--cfg-options', 'randomness.seed=1']
    assert trains[1][trains[1].index('--work-dir') + 1] == str(wd / 'clean' / 'seed1')
    report = next(cmd for step, cmd in calls if step == 'report')
    assert report[report.index('--names') + 1:report.index('--baseline')] == [
        'clean', 'clean', 'gat', 'gat']
    assert report[report.index('--baseline') + 1] == 'clean'
    assert str(wd / 'gat' / 'seed1' / 'robustness') in report
