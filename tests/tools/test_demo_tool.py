"""tools/demo.py's step runner: exit codes and step times (the demo itself is `make demo`)."""
import json

import pytest

from mmgat.utils.training_cost import this_machine
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


def test_method_variants_name_their_config_and_unknown_ones_stop(capsys):
    """``shared-heap1`` is the shared config with heaps of one image (the control of
    claim b); a variant without a config stops before anything runs."""
    from mmengine.config import Config
    tool = load_tool('demo')
    config = tool.method_config('classification', 'shared-heap1')
    assert config == 'configs/shared/resnet18_shared-heap1_digitscenes-cls.py'
    shared = Config.fromfile(tool.method_config('classification', 'shared'))
    heap1 = Config.fromfile(config)
    assert heap1.custom_hooks[0].attack.heap_size == 1
    assert shared.custom_hooks[0].attack.heap_size == 8
    same = {k: v for k, v in shared.custom_hooks[0].attack.items() if k != 'heap_size'}
    assert same == {k: v for k, v in heap1.custom_hooks[0].attack.items()
                    if k != 'heap_size'}
    eps8 = Config.fromfile(tool.method_config('classification', 'pgd-eps8'))
    localized = Config.fromfile(tool.method_config('classification', 'localized'))
    budget = ('eps', 'alpha', 'steps', 'norm')
    assert [eps8.custom_hooks[0].attack[k] for k in budget] == \
        [localized.custom_hooks[0].attack[k] for k in budget]
    assert 'mask' not in eps8.custom_hooks[0].attack
    with pytest.raises(SystemExit) as info:
        tool.check_method_configs(['classification'], ['clean', 'shared-heap2'])
    assert info.value.code == 2
    assert 'resnet18_shared-heap2_digitscenes-cls.py' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        tool.parse_args(['--methods', 'nosuch'])


def fake_training(calls, fail=None):
    """A stand-in for Demo.run: a training writes the checkpoints the real one would keep
    (its last iteration, and the one its checkpoint interval names when the demo sets
    it); a suite, a metric and the report write what their readers need. ``fail``: the
    tool whose run (other than the clean training) stops the demo, as a killed one."""
    import os

    def fake_run(self, step, cmd, accumulate=False, ok_codes=(0, )):
        calls.append((step, cmd))
        args = cmd[1:]
        if cmd[0] == fail and not any(o.startswith('default_hooks.checkpoint.interval')
                                      for o in args):  # a method's training, not clean's
            raise SystemExit(f'demo: step {step} failed with exit status 1')
        if cmd[0] == 'tools/train.py':
            work_dir = args[args.index('--work-dir') + 1]
            os.makedirs(work_dir, exist_ok=True)
            options = dict(o.split('=', 1) for o in args if '=' in o)
            last = int(options.get('train_cfg.max_iters', 500))
            kept = {last, int(options.get('default_hooks.checkpoint.interval', last))}
            for step_ in kept:
                open(os.path.join(work_dir, f'iter_{step_}.pth'), 'w').close()
            with open(os.path.join(work_dir, 'last_checkpoint'), 'w') as f:
                f.write(os.path.join(work_dir, f'iter_{last}.pth'))
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
    return fake_run


def test_seeds_train_each_method_per_seed_and_pair_with_clean(tmp_path, monkeypatch):
    """--seeds: one training per (method, seed) with randomness.seed, its own work dir,
    one suite each, and one report that groups the seeds and pairs with clean. The
    tools are stood in for: each step writes what the real one would."""
    tool = load_tool('demo')
    (tmp_path / 'data').mkdir()
    (tmp_path / 'data' / 'meta.json').write_text('{}')
    calls = []
    monkeypatch.setattr(tool.Demo, 'run', fake_training(calls))
    monkeypatch.setattr(tool, 'generator_checkpoint', lambda cfg: str(tmp_path / 'g.pth'))
    (tmp_path / 'g.pth').write_text('')
    wd = tmp_path / 'demo'
    tool.main(['--work-dir', str(wd), '--data-root', str(tmp_path / 'data'),
               '--methods', 'clean', 'gat', '--seeds', '0', '1', '--iters', '300',
               '--finetune-last', '0'])
    trains = [cmd for step, cmd in calls if step.startswith('train_')]
    assert [step for step, _ in calls if step.startswith('train_')] == [
        'train_clean_seed0', 'train_clean_seed1', 'train_gat_seed0', 'train_gat_seed1']
    options = trains[1][trains[1].index('--cfg-options') + 1:]
    assert 'randomness.seed=1' in options and 'train_cfg.max_iters=300' in options
    assert '--resume' not in trains[1]
    assert trains[1][trains[1].index('--work-dir') + 1] == str(wd / 'clean' / 'seed1')
    report = next(cmd for step, cmd in calls if step == 'report')
    assert report[report.index('--names') + 1:report.index('--baseline')] == [
        'clean', 'clean', 'gat', 'gat']
    assert report[report.index('--baseline') + 1] == 'clean'
    assert str(wd / 'gat' / 'seed1' / 'robustness') in report
    # each run's training cost and how it started, beside its suite record (the report's
    # cost table; costs compare only between runs of one machine)
    cost = json.loads((wd / 'gat' / 'seed1' / 'robustness' / 'training.json').read_text())
    assert (cost['method'], cost['seed'], cost['start']) == (
        'gat', 1, dict(from_checkpoint=None, iterations=300))
    assert cost['machine'] == this_machine() and cost['seconds_per_iter'] is None  # no log
    # a run stopped before its 300 iterations (here: at 1) continues on the next demo
    seed0 = wd / 'clean' / 'seed0'
    open(seed0 / 'iter_1.pth', 'w').close()
    (seed0 / 'last_checkpoint').write_text(str(seed0 / 'iter_1.pth'))
    calls.clear()
    tool.main(['--work-dir', str(wd), '--data-root', str(tmp_path / 'data'),
               '--methods', 'clean', '--seeds', '0', '--iters', '300'])
    again = [cmd for step, cmd in calls if step.startswith('train_')]
    assert len(again) == 1 and again[0][-1] == '--resume'


def test_detector_methods_fine_tune_from_the_clean_run(tmp_path, monkeypatch, capsys):
    """The detector demo's default: clean trains its 500 iterations first and keeps
    iteration 350; GAT resumes from that checkpoint (so it trains only the last 150
    with GAT); a finished demo trains nothing again; a GAT run killed part-way
    continues from its own checkpoint; values that cannot be stop with exit 2."""
    import os
    tool = load_tool('demo')
    (tmp_path / 'data').mkdir()
    (tmp_path / 'data' / 'meta.json').write_text('{}')
    (tmp_path / 'g.pth').write_text('')
    calls = []
    monkeypatch.setattr(tool.Demo, 'run', fake_training(calls))
    monkeypatch.setattr(tool, 'generator_checkpoint', lambda cfg: str(tmp_path / 'g.pth'))
    wd = tmp_path / 'demo'
    base = ['--work-dir', str(wd), '--data-root', str(tmp_path / 'data')]
    tool.main(base + ['--methods', 'gat', 'clean'])
    trains = {step: cmd for step, cmd in calls if step.startswith('train_')}
    assert list(trains) == ['train_clean', 'train_gat']
    clean_options = trains['train_clean'][trains['train_clean'].index('--cfg-options') + 1:]
    assert clean_options == ['default_hooks.checkpoint.interval=350',
                             'default_hooks.checkpoint.max_keep_ckpts=-1']
    gat = trains['train_gat']
    assert gat[-2:] == ['--resume', str(wd / 'clean' / 'iter_350.pth')]
    assert '--cfg-options' not in gat  # the GAT config's own schedule, resumed at 350
    report = next(cmd for step, cmd in calls if step == 'report')
    assert report[report.index('--names') + 1:report.index('--baseline')] == ['clean', 'gat']

    calls.clear()
    tool.main(base + ['--methods', 'clean', 'gat'])
    assert not [step for step, _ in calls if step.startswith('train_')]

    # killed at iteration 400: the next demo continues the GAT run itself
    os.remove(wd / 'gat' / 'iter_500.pth')
    open(wd / 'gat' / 'iter_400.pth', 'w').close()
    (wd / 'gat' / 'last_checkpoint').write_text(str(wd / 'gat' / 'iter_400.pth'))
    calls.clear()
    tool.main(base + ['--methods', 'clean', 'gat'])
    again = [cmd for step, cmd in calls if step.startswith('train_')]
    assert len(again) == 1 and again[0][-1] == '--resume'

    # --finetune-last 0: GAT from scratch, a model of its own: trained anew, not the
    # fine-tuned one reused or continued; back to the default, it is fine-tuned again
    calls.clear()
    tool.main(base + ['--methods', 'clean', 'gat', '--finetune-last', '0'])
    trains = [cmd for step, cmd in calls if step.startswith('train_')]
    assert len(trains) == 1 and '--resume' not in trains[0] and 'gat' in trains[0][1]
    calls.clear()
    tool.main(base + ['--methods', 'clean', 'gat'])
    trains = [cmd for step, cmd in calls if step.startswith('train_')]
    assert len(trains) == 1 and trains[0][-2:] == ['--resume', str(wd / 'clean' / 'iter_350.pth')]

    # the default again, killed before GAT's first checkpoint: the from-scratch model's
    # checkpoints were set aside, so the next demo starts GAT again from the clean run
    # (not taking the from-scratch iter_500.pth for the fine-tuned one)
    tool.main(base + ['--methods', 'clean', 'gat', '--finetune-last', '0'])
    failing = fake_training(calls, fail='tools/train.py')
    monkeypatch.setattr(tool.Demo, 'run', failing)
    with pytest.raises(SystemExit):
        tool.main(base + ['--methods', 'clean', 'gat'])
    assert (wd / 'gat' / 'previous' / 'iter_500.pth').is_file()
    assert not (wd / 'gat' / 'last_checkpoint').exists()
    monkeypatch.setattr(tool.Demo, 'run', fake_training(calls))
    calls.clear()
    tool.main(base + ['--methods', 'clean', 'gat'])
    trains = [cmd for step, cmd in calls if step.startswith('train_')]
    assert len(trains) == 1 and trains[0][-2:] == ['--resume', str(wd / 'clean' / 'iter_350.pth')]

    # a finished run of another length is another model, not one killed part-way
    calls.clear()
    short = base + ['--work-dir', str(tmp_path / 'short'), '--methods', 'clean']
    tool.main(short + ['--iters', '300'])
    tool.main(short)
    trains = [cmd for step, cmd in calls if step.startswith('train_')]
    assert len(trains) == 2 and '--resume' not in trains[1]
    assert (tmp_path / 'short' / 'clean' / 'previous' / 'iter_300.pth').is_file()

    for extra, says in ((['--methods', 'clean', 'gat', '--finetune-last', '500'],
                         'must be in [0, 500)'),
                        (['--methods', 'gat', '--finetune-last', '100'],
                         'add clean to --methods')):
        with pytest.raises(SystemExit) as stop:
            tool.main(base + extra)
        assert stop.value.code == 2 and says in capsys.readouterr().err


def test_demo_schedule_scales_warm_up_and_steps_with_the_length():
    """``--iters 300`` keeps the detectors' 500-iteration schedule's shape: the options
    pass the config check and land where the runner reads them."""
    import argparse

    from mmengine.config import Config, DictAction

    from mmgat.utils.config_check import check_cfg_options
    tool = load_tool('demo')
    config = tool.method_config('detection', 'gat')
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    parsed = parser.parse_args(['--cfg-options', *tool.schedule_options(config, 300)]
                               ).cfg_options
    cfg = Config.fromfile(config)
    check_cfg_options(cfg, parsed)
    cfg.merge_from_dict(parsed)
    assert cfg.train_cfg.max_iters == 300 and cfg.train_cfg.val_interval == 300
    warm_up, steps = cfg.param_scheduler
    assert (warm_up.begin, warm_up.end) == (0, 60)
    assert (steps.end, list(steps.milestones)) == (300, [210, 270])
    # the GAT hook is untouched: only the schedule changes
    assert cfg.custom_hooks[0].attack.steps == 2
