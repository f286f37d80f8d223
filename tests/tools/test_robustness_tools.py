"""tools/test.py --robustness / --granularity and tools/report.py."""
import importlib.util
import json

import pytest
import torch

from conftest import FAST_OPTIONS, REPO

CLS = 'configs/clean/resnet18_clean_digitscenes-cls.py'
ONE_THREAD = {'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1'}


def load_tool(name):
    spec = importlib.util.spec_from_file_location(f'{name}_tool',
                                                  REPO / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_record(task, metric_name, config_name, scores, trained_on=(), corruption=None,
               clean_subset=None):
    """A robustness.json as tools/test.py writes it (the fields report.py reads)."""
    entries = {}
    for name, (kind, score) in scores.items():
        entries[name] = dict(kind=kind, status='done', score=score, seconds=1.0,
                             metrics={}, num_images=10, hash='h')
        if kind == 'split':
            entries[name]['split'] = 'val_ood'
    if corruption is not None:
        units = {'clean': dict(status='done', score=clean_subset, seconds=1.0)}
        units.update({f'{c}/{s}': dict(status='done', score=v, seconds=1.0)
                      for (c, s), v in corruption.items()})
        entries['corruptions'] = dict(kind='corruption', units=units)
    return dict(format='mmgat.robustness/1', task=task, metric_name=metric_name,
                config_name=config_name, config=f'configs/x/{config_name}.py',
                checkpoint='x.pth', trained_on=list(trained_on), entries=entries)


def write_run(path, record):
    path.mkdir(parents=True)
    (path / 'robustness.json').write_text(json.dumps(record))
    return path


@pytest.fixture
def three_runs(tmp_path):
    det = dict(clean=('clean', 0.75), val_ood=('split', 0.70), pgd=('attack', 0.10),
               recolor=('attack', 0.40))
    noise = {('gaussian_noise', s): v for s, v in ((1, 0.6), (2, 0.4))}
    a = write_run(tmp_path / 'a', run_record('detection', 'bbox mAP50', 'frcnn_clean', det,
                                             corruption=noise, clean_subset=0.8))
    det_pgd = dict(det, clean=('clean', 0.72), pgd=('attack', 0.50),
                   recolor=('attack', 0.30))
    b = write_run(tmp_path / 'b', run_record('detection', 'bbox mAP50', 'frcnn_pgd',
                                             det_pgd, trained_on=['pgd']))
    c = write_run(tmp_path / 'c', run_record(
        'classification', 'top-1', 'resnet18_gat',
        dict(clean=('clean', 0.97), pgd=('attack', 0.2))))
    return a, b, c


def test_report_merges_runs_per_task(three_runs, tmp_path, capsys):
    a, b, c = three_runs
    out = tmp_path / 'out' / 'report.md'
    load_tool('report').main([str(a), str(b / 'robustness.json'), str(c), '--out',
                              str(out)])
    text = out.read_text()
    assert text == capsys.readouterr().out.split('report written to')[0].rstrip('\n') + '\n'
    det = text.split('## Detection (bbox mAP50)')[1].split('## Classification')[0]
    lines = [line for line in det.splitlines() if line.startswith('|')]
    assert lines[0] == ('| method | clean | val_ood | pgd | recolor | unseen mean | '
                        'unseen by all | mPC | rPC |')
    # best per column in bold; the PGD-trained run's pgd column marked seen; its unseen
    # mean is recolor alone (0.30), the clean run's (0.10 + 0.40) / 2; unseen by both:
    # recolor alone
    assert lines[2] == ('| frcnn_clean | **0.750** | **0.700** | 0.100 | **0.400** | '
                        '0.250 | **0.400** | 0.500 | 0.625 |')
    assert lines[3] == ('| frcnn_pgd | 0.720 | **0.700** | **0.500** † | 0.300 | '
                        '**0.300** | 0.300 | - | - |')
    cls = text.split('## Classification (top-1)')[1]
    assert '| resnet18_gat | 0.970 | 0.200 | 0.200 | 0.200 | - | - |' in cls  # alone: no bold
    png = out.with_suffix('.png')
    assert png.read_bytes()[:4] == b'\x89PNG'

    load_tool('report').main([str(a), str(b), '--names', 'clean', 'PGD', '--out',
                              str(out)])
    assert '| PGD | 0.720 |' in out.read_text()


def test_report_names_runs_of_one_config_apart(three_runs, tmp_path):
    a, _, _ = three_runs
    copy = write_run(tmp_path / 'again', json.loads((a / 'robustness.json').read_text()))
    out = tmp_path / 'r.md'
    load_tool('report').main([str(a), str(copy), '--out', str(out)])
    text = out.read_text()
    assert '| frcnn_clean (a) |' in text and '| frcnn_clean (again) |' in text


def test_report_bad_input(three_runs, tmp_path, capsys):
    a, b, _ = three_runs
    tool = load_tool('report')
    for argv, message in (
            ([str(a), str(b), '--names', 'one', '--out', str(tmp_path / 'r.md')],
             '--names gives 1 names for 2 runs'),
            ([str(tmp_path / 'nothing'), '--out', str(tmp_path / 'r.md')],
             'no robustness results'),
            ([str(a), '--out', str(tmp_path / 'r.txt')], '.md file')):
        with pytest.raises(SystemExit) as exit_info:
            tool.main(argv)
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err


def test_test_tool_rejects_bad_suites_before_building_anything(tmp_path, capsys):
    checkpoint = tmp_path / 'model.pth'
    torch.save({'state_dict': {}}, checkpoint)  # a checkpoint file; never loaded
    suite = tmp_path / 'suite.py'
    suite.write_text("entries = [dict(name='x', kind='nonsense')]\n")
    tool = load_tool('test')
    for extra, message in (
            (['--robustness', str(suite)], "unknown kind 'nonsense'"),
            (['--robustness', str(tmp_path / 'none.py')], 'does not exist'),
            (['--robustness', str(suite), '--attack', 'a.py'], 'drop --attack'),
            (['--robustness', str(suite), '--granularity'], 'exclusive'),
            (['--generator-config', 'g.py'], 'go with --robustness or --granularity'),
            (['--granularity', '--num-images', '0'], '--num-images must be >= 1')):
        argv = [CLS, str(checkpoint), '--work-dir', str(tmp_path / 'w'), *extra]
        with pytest.raises(SystemExit) as exit_info:
            tool.main(argv)
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / 'w' / 'robustness.json').exists()


@pytest.mark.slow
def test_robustness_suite_end_to_end_on_a_tiny_classifier(run_tool, tmp_path):
    """Train a classifier for a few iterations, run a small suite through tools/test.py,
    run it again (all reused), run --granularity, merge two runs with report.py."""
    run_tool('train.py', CLS, '--work-dir', tmp_path / 'train', '--cfg-options',
             *FAST_OPTIONS, 'train_cfg.max_iters=3', 'train_cfg.val_interval=3',
             'train_dataloader.batch_size=8', 'default_hooks.checkpoint.interval=3',
             env=ONE_THREAD)
    checkpoint = tmp_path / 'train' / 'iter_3.pth'
    suite = tmp_path / 'small_suite.py'
    suite.write_text(
        f"_base_ = [{str(REPO / 'configs/robustness/unseen_digitscenes.py')!r}]\n"
        "skip = ['apgd-linf_eps2', 'apgd-linf_eps4', 'apgd-l2_eps0.5', 'recolor', 'spatial',"
        " 'perceptual', 'gat-coarse', 'gat-mid', 'apgd-linf_eps8_background']\n"
        "_small = dict(num_images=8)\n"
        "entry_options = {'apgd-linf_eps8': dict(attack_options=dict(steps=2), **_small),"
        " 'universal': dict(iters=2, **_small), 'gat-fine': dict(num_images=4),"
        " 'advbn': dict(attack_options=dict(steps=1), **_small),"
        " 'granularity': dict(num_images=4),"
        " 'corruptions': dict(corruptions=['fog', 'contrast', 'spatter'],"
        " severities=[2], **_small)}\n"
        "generator = dict(classification=dict(config='configs/generators/"
        "style-ae_digitscenes-cls.py', checkpoint='missing/generator.pth'))\n")
    work = tmp_path / 'run'
    args = ['test.py', CLS, checkpoint, '--robustness', suite, '--work-dir', work]
    # the suite runs to the end, then exits 3: two entries failed (no generator)
    result = run_tool(*args, env=ONE_THREAD, check=False)
    assert result.returncode == 3, result.stderr[-3000:]
    assert '2 suite entries failed (gat-fine, granularity)' in result.stderr
    record = json.loads((work / 'robustness.json').read_text())
    assert record['task'] == 'classification' and record['metric'] == 'accuracy/top1'
    assert list(record['entries']) == ['clean', 'val_ood', 'apgd-linf_eps8', 'universal',
                                       'advbn', 'gat-fine', 'granularity', 'corruptions']
    status = record['status']
    assert status['clean'] == status['apgd-linf_eps8'] == status['corruptions'] == 'done'
    assert status['advbn'] == 'done'
    assert record['entries']['advbn']['attack']['type'] == 'mmgat.AdvBN'
    assert status['gat-fine'] == status['granularity'] == 'failed'
    assert 'missing/generator.pth' in record['entries']['granularity']['error']
    assert record['entries']['clean']['num_images'] == 16
    assert record['corruption']['mPC_count'] == 2 and record['mPC_holdout'] is not None
    assert record['unseen_entries'] == ['apgd-linf_eps8', 'universal', 'advbn']
    assert all(s > 0 for s in record['seconds'].values() if s)
    for name in ('robustness.md', 'robustness_attacks.png', 'robustness_severity.png'):
        assert (work / name).is_file()
    log = result.stdout + result.stderr
    assert '[3/8] apgd-linf_eps8 (attack): top-1' in log
    # the segmentation / detection attacks are left out for a classifier
    assert '3 entries are for other tasks than classification, left out' in log
    assert 'FAILED' in log

    # again: every completed unit is reused, the failed ones are retried (and fail)
    again = run_tool(*args, env=ONE_THREAD, check=False)
    assert again.returncode == 3
    assert 'resuming: 9 completed unit(s)' in again.stdout + again.stderr
    second = json.loads((work / 'robustness.json').read_text())
    assert second['entries']['apgd-linf_eps8'] == record['entries']['apgd-linf_eps8']

    # --granularity: a suite of one granularity entry
    gran = tmp_path / 'gran'
    result = run_tool('test.py', CLS, checkpoint, '--granularity', '--generator-config',
                      'configs/generators/style-ae_digitscenes-cls.py',
                      '--generator-checkpoint', tmp_path / 'none.pth', '--work-dir', gran,
                      '--num-images', '4', env=ONE_THREAD, check=False)
    assert result.returncode == 3 and '1 suite entry failed' in result.stderr
    gran_record = json.loads((gran / 'granularity.json').read_text())
    assert list(gran_record['entries']) == ['clean', 'granularity']
    assert gran_record['entries']['clean']['num_images'] == 4
    assert 'none.pth' in gran_record['entries']['granularity']['error']

    report = tmp_path / 'report.md'
    result = run_tool('report.py', work, work, '--names', 'first', 'second', '--out',
                      report)
    text = report.read_text()
    assert '## Classification (top-1)' in text and '| first |' in text
    assert report.with_suffix('.png').is_file()
