"""tools/compare.py's matrix (with stand-in tools) and tools/report.py on its results."""
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

from mmgat.utils.training_cost import this_machine
from test_robustness_tools import load_tool, run_record


def fake_tools(tmp_path, calls, seconds_per_iter, stop_at=None):
    """Each tool writes what the real one would; train logs ``time`` per iteration and
    saves its config's last iteration (``stop_at``: killed after that many)."""

    def fake_run(self, step, cmd, accumulate=False, ok_codes=(0, )):
        calls.append((step, cmd))
        args = cmd[1:]
        if cmd[0] == 'tools/train_generator.py':
            (tmp_path / 'g.pth').write_text('')
            return 0
        work_dir = args[args.index('--work-dir') + 1] if '--work-dir' in args else None
        if cmd[0] == 'tools/train.py':
            method = args[0].split('/')[1]
            length = sys.modules['demo'].max_iters(args[0])
            log = os.path.join(work_dir, '20261202_000000', 'vis_data')
            os.makedirs(log, exist_ok=True)
            with open(os.path.join(log, 'scalars.json'), 'w') as f:
                for i in (1, 2, 3):
                    f.write(json.dumps(dict(iter=i, loss=1.0,
                                            time=seconds_per_iter[method] * i / 2)) + '\n')
            ckpt = os.path.join(work_dir, f'iter_{stop_at or length}.pth')
            open(ckpt, 'w').close()
            with open(os.path.join(work_dir, 'last_checkpoint'), 'w') as f:
                f.write(ckpt)
        elif cmd[0] == 'tools/test.py':
            method = args[0].split('/')[1]
            clean = 0.9 if method == 'clean' else 0.8
            record = run_record('classification', 'top-1', f'resnet18_{method}',
                                dict(clean=('clean', clean), pgd=('attack', 1 - clean)))
            record.update(complete=True, suite=os.path.abspath(args[args.index(
                '--robustness') + 1]))
            os.makedirs(os.path.join(work_dir, 'robustness_outcomes'), exist_ok=True)
            Path(work_dir, 'robustness.json').write_text(json.dumps(record))
            open(os.path.join(work_dir, 'robustness_outcomes', 'h.npz'), 'w').close()
        elif cmd[0] == 'tools/report.py':
            load_tool('report').main(args)
        self.times[step] = 1.0
        return 0

    return fake_run


def matrix_tool(tmp_path, monkeypatch, calls, seconds_per_iter, stop_at=None):
    """tools/compare.py with stand-in tools, a data root and a generator path in
    ``tmp_path``; returns (the module, its demo module, work dir, results dir)."""
    tool = load_tool('compare')
    demo = sys.modules['demo']
    (tmp_path / 'data').mkdir()
    (tmp_path / 'data' / 'meta.json').write_text('{}')
    monkeypatch.setattr(demo.Demo, 'run',
                        fake_tools(tmp_path, calls, seconds_per_iter, stop_at))
    monkeypatch.setattr(tool, 'generator_checkpoint', lambda cfg: str(tmp_path / 'g.pth'))
    return tool, demo, tmp_path / 'wd', tmp_path / 'results'


def test_matrix_trains_evaluates_copies_and_reports(tmp_path, monkeypatch, capsys):
    calls = []
    tool, demo, wd, results = matrix_tool(tmp_path, monkeypatch, calls,
                                          dict(clean=0.1, pgd=0.3))
    argv = ['--tasks', 'classification', '--methods', 'clean', 'pgd', '--seeds', '0', '1',
            '--work-dir', str(wd), '--results', str(results),
            '--data-root', str(tmp_path / 'data')]
    tool.main(argv)
    steps = [step for step, _ in calls]
    assert steps == ['classification/generator'] + [
        f'classification/train_{m}_seed{s}' for m in ('clean', 'pgd') for s in (0, 1)] + [
        f'classification/suite_{m}_seed{s}' for m in ('clean', 'pgd') for s in (0, 1)] + [
        'classification/report']
    train = dict(calls)['classification/train_pgd_seed1']
    assert train[1] == 'configs/pgd/resnet18_pgd_digitscenes-cls.py'
    assert train[-2:] == ['--cfg-options', 'randomness.seed=1']
    # each run's record, outcomes and training cost are in the results folder
    run = results / 'classification' / 'pgd' / 'seed1'
    assert (run / 'robustness.json').is_file()
    assert (run / 'robustness_outcomes' / 'h.npz').is_file()
    cost = json.loads((run / 'training.json').read_text())
    assert cost['seconds_per_iter'] == 0.3 and cost['iterations'] == 3
    assert cost['generator_sha256'] == hashlib.sha256(b'').hexdigest()
    # the report, made from the results folder alone: seeds grouped, paired with clean,
    # the cost beside the scores
    report = (results / 'classification' / 'report.md').read_text()
    assert '| pgd | 2 | 0.300 | 3.00 |' in report and '| clean | 2 | 0.100 | 1.00 |' in report
    assert 'clean' in report and (results / 'classification' / 'report.png').is_file()
    out = capsys.readouterr().out
    assert '[10/10] classification/report' in out

    # it regenerates without training: tools/report.py on the folder gives the same text
    again = tmp_path / 'again.md'
    load_tool('report').main([str(results / 'classification'), '--baseline', 'clean',
                              '--out', str(again)])
    assert again.read_text() == report

    # a second run finds every run complete in the results folder: only the report
    calls.clear()
    tool.main(argv)
    assert [s for s, _ in calls] == ['classification/report']
    out = capsys.readouterr().out
    assert '[2/10] classification/train_clean_seed0: exists, skipped' in out
    assert '[6/10] classification/suite_clean_seed0: exists, skipped' in out

    # a fresh machine (no work dirs, no generator) with the results folder: the same
    calls.clear()
    shutil.rmtree(wd)
    (tmp_path / 'g.pth').unlink()
    tool.main(argv)
    assert [s for s, _ in calls] == ['classification/report']
    # without the results folder the kept runs' suites run again (they resume per unit)
    calls.clear()
    tool.main(argv[:argv.index('--results')] + argv[argv.index('--results') + 2:])
    assert [s for s, _ in calls if '/suite_' in s] == [
        f'classification/suite_{m}_seed{s}' for m in ('clean', 'pgd') for s in (0, 1)]

    # a later call adds a variant: only it trains, and the report keeps its clean baseline
    calls.clear()
    tool.main(argv[:3] + ['pgd-eps8', '--seeds', '0'] + argv[argv.index('--work-dir'):])
    assert [s for s, _ in calls if '/train_' in s] == ['classification/train_pgd-eps8_seed0']
    assert dict(calls)['classification/train_pgd-eps8_seed0'][1] == \
        'configs/pgd/resnet18_pgd-eps8_digitscenes-cls.py'
    report = (results / 'classification' / 'report.md').read_text()
    assert '| pgd-eps8 |' in report.split('### Differences to clean')[1]
    # costs compare only between runs of one machine: a run trained elsewhere gets none
    cost_file = results / 'classification' / 'pgd-eps8' / 'seed0' / 'training.json'
    cost = json.loads(cost_file.read_text())
    assert cost['machine'] == this_machine()
    cost['machine'] = dict(cost['machine'], boot_id='another boot')
    cost_file.write_text(json.dumps(cost))
    text = load_tool('report').main([str(results / 'classification'), '--baseline',
                                     'clean', '--out', str(again)])['markdown']
    assert '| pgd-eps8 | 1 | 0.300 | - |' in text and '| pgd | 2 | 0.300 | 3.00 |' in text
    assert '- pgd-eps8: trained on another machine than the clean runs' in text


def test_matrix_continues_a_killed_training_and_names_mixed_generators(
        tmp_path, monkeypatch, capsys):
    """A training stopped before its config's max_iters is not taken for done: it
    continues with --resume; runs evaluated with different generators are named."""
    calls = []
    tool, demo, wd, results = matrix_tool(tmp_path, monkeypatch, calls, dict(clean=0.1),
                                          stop_at=400)
    argv = ['--tasks', 'classification', '--methods', 'clean', '--seeds', '0',
            '--work-dir', str(wd), '--results', str(results),
            '--data-root', str(tmp_path / 'data')]
    tool.main(argv)  # the training stops at 400 of 1000 iterations
    calls.clear()
    monkeypatch.setattr(demo.Demo, 'run', fake_tools(tmp_path, calls, dict(clean=0.1)))
    (results / 'classification' / 'clean' / 'seed0' / 'robustness.json').unlink()
    tool.main(argv)
    train = dict(calls)['classification/train_clean_seed0']
    assert train[-1] == '--resume'  # continued, not restarted and not skipped
    assert (wd / 'classification' / 'clean' / 'seed0' / 'iter_1000.pth').is_file()
    # a second seed evaluated with a retrained (different) generator
    (tmp_path / 'g.pth').write_text('another generator')
    tool.main(argv[:argv.index('--seeds') + 1] + ['1'] + argv[argv.index('--seeds') + 2:])
    out = capsys.readouterr().out
    assert 'evaluated with different generators' in out and 'seed1' in out
