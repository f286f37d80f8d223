"""tools/compare.py's matrix (with stand-in tools) and tools/report.py on its results."""
import json
import os
import sys
from pathlib import Path

from test_robustness_tools import load_tool, run_record


def fake_tools(tmp_path, calls, seconds_per_iter):
    """Each tool writes what the real one would; train logs ``time`` per iteration."""

    def fake_run(self, step, cmd, accumulate=False, ok_codes=(0, )):
        calls.append((step, cmd))
        args = cmd[1:]
        if cmd[0] == 'tools/train_generator.py':
            (tmp_path / 'g.pth').write_text('')
            return 0
        work_dir = args[args.index('--work-dir') + 1] if '--work-dir' in args else None
        if cmd[0] == 'tools/train.py':
            method = args[0].split('/')[1]
            log = os.path.join(work_dir, '20261202_000000', 'vis_data')
            os.makedirs(log, exist_ok=True)
            with open(os.path.join(log, 'scalars.json'), 'w') as f:
                for i in (1, 2, 3):
                    f.write(json.dumps(dict(iter=i, loss=1.0,
                                            time=seconds_per_iter[method] * i / 2)) + '\n')
            ckpt = os.path.join(work_dir, 'iter_3.pth')
            open(ckpt, 'w').close()
            with open(os.path.join(work_dir, 'last_checkpoint'), 'w') as f:
                f.write(ckpt)
        elif cmd[0] == 'tools/test.py':
            method = args[0].split('/')[1]
            clean = 0.9 if method == 'clean' else 0.8
            record = run_record('classification', 'top-1', f'resnet18_{method}',
                                dict(clean=('clean', clean), pgd=('attack', 1 - clean)))
            os.makedirs(os.path.join(work_dir, 'robustness_outcomes'), exist_ok=True)
            Path(work_dir, 'robustness.json').write_text(json.dumps(record))
            open(os.path.join(work_dir, 'robustness_outcomes', 'h.npz'), 'w').close()
        elif cmd[0] == 'tools/report.py':
            load_tool('report').main(args)
        self.times[step] = 1.0
        return 0

    return fake_run


def test_matrix_trains_evaluates_copies_and_reports(tmp_path, monkeypatch, capsys):
    tool = load_tool('compare')
    demo = sys.modules['demo']
    (tmp_path / 'data').mkdir()
    (tmp_path / 'data' / 'meta.json').write_text('{}')
    calls = []
    monkeypatch.setattr(demo.Demo, 'run',
                        fake_tools(tmp_path, calls, dict(clean=0.1, pgd=0.3)))
    monkeypatch.setattr(tool, 'generator_checkpoint', lambda cfg: str(tmp_path / 'g.pth'))
    wd, results = tmp_path / 'wd', tmp_path / 'results'
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

    # a second run skips what exists and only re-runs suites (which resume) and report
    calls.clear()
    tool.main(argv)
    assert not [s for s, _ in calls if '/train_' in s or s.endswith('generator')]
    assert '[2/10] classification/train_clean_seed0: exists, skipped' in \
        capsys.readouterr().out

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
    assert cost['machine'] == tool.this_machine()
    cost['machine'] = dict(cost['machine'], boot_id='another boot')
    cost_file.write_text(json.dumps(cost))
    text = load_tool('report').main([str(results / 'classification'), '--baseline',
                                     'clean', '--out', str(again)])['markdown']
    assert '| pgd-eps8 | 1 | 0.300 | - |' in text and '| pgd | 2 | 0.300 | 3.00 |' in text
    assert '- pgd-eps8: trained on another machine than the clean runs' in text
