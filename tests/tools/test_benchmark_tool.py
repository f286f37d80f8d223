"""tools/benchmark.py runs and reports its ratios (the speed targets themselves are not
asserted by tests: timings on a shared CI machine say nothing)."""
import json

import pytest

from conftest import FAST_OPTIONS

CLS = 'configs/clean/resnet18_clean_digitscenes-cls.py'


@pytest.mark.slow
def test_benchmark_reports_consistent_ratios(run_tool, tmp_path):
    out = tmp_path / 'bench.json'
    # a median of 3 (not 2, i.e. a mean): one step slowed by another process is dropped
    result = run_tool('benchmark.py', CLS, '--steps', 2, '--iters', 3, '--warmup', 1,
                      '--out', out, '--cfg-options', 'train_dataloader.batch_size=4',
                      *FAST_OPTIONS[:1])
    bench = json.loads(out.read_text())
    assert bench['batch_size'] == 4 and bench['pgd_steps'] == 2
    assert bench['device'].startswith('cpu') and bench['peak_memory_mb'] > 0
    # A PGD iteration is a training step plus two attack steps: it must take longer
    # than either part alone (a benchmark that skipped the attack would not).
    assert bench['pgd_iteration_s'] > bench['train_step_s'] > 0
    assert bench['pgd_iteration_s'] > bench['attack_step_s'] > 0
    # what the tool prints is what it wrote
    assert (f"attack step / train step: {bench['attack_step_over_train_step']:.2f} "
            '(target <= 0.9)') in result.stdout
    assert (f"2-step PGD iteration / (2 attack steps + train step): "
            f"{bench['pgd_iteration_over_parts']:.2f} (target <= 1.1)") in result.stdout


@pytest.mark.slow
def test_method_benchmark_times_each_method_on_the_same_batches(run_tool, tmp_path):
    out = tmp_path / 'methods.json'
    record = tmp_path / 'robustness.json'
    record.write_text(json.dumps(dict(entries={
        'clean': dict(kind='clean', status='done', num_images=100, seconds=2.0),
        'noise': dict(kind='corruption', units={
            'clean': dict(status='done', num_images=10, seconds=0.5),
            'fog/1': dict(status='done', num_images=10, seconds=1.5)})})))
    run_tool('benchmark.py', '--methods', 'clean', 'pgd', 'advbn', '--task',
             'classification',
             '--iters', 1, '--warmup', 0, '--suite-record', record, '--out', out,
             '--cfg-options', 'train_dataloader.batch_size=4', *FAST_OPTIONS[:1])
    bench = json.loads(out.read_text())
    rows = {r['method']: r for r in bench['methods']}
    assert list(rows) == ['clean', 'pgd', 'advbn', 'pgd1'] and bench['batch_size'] == 4
    assert rows['clean']['iter_over_clean'] == 1.0
    # PGD appends its adversarial images: the step sees twice the batch, and costs more
    assert rows['pgd']['images_per_step'] == 8 and rows['clean']['images_per_step'] == 4
    assert rows['pgd']['seconds_per_iter'] > rows['clean']['seconds_per_iter']
    assert bench['suite']['images_per_second'] == dict(clean=50.0, corruption=10.0)
    table = (tmp_path / 'methods.md').read_text()
    assert '| pgd |' in table and 'corruption 10.0 images/s' in table
    # AdvBN against one PGD step of the same model
    assert rows['pgd1']['seconds_per_iter'] < rows['pgd']['seconds_per_iter']
    assert bench['advbn_over_pgd1'] == pytest.approx(
        rows['advbn']['seconds_per_image'] / rows['pgd1']['seconds_per_image'])
    assert f"AdvBN / PGD-1 per image: {bench['advbn_over_pgd1']:.2f}" in table


@pytest.mark.slow
def test_ranks_benchmark_runs_the_suite_on_one_and_two_ranks(run_tool, tmp_path):
    run_tool('train.py', CLS, '--work-dir', tmp_path / 'train', '--cfg-options',
             *FAST_OPTIONS, 'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
             'default_hooks.checkpoint.interval=2', 'train_dataloader.batch_size=4')
    suite = tmp_path / 'suite.py'
    suite.write_text("entries = [dict(name='clean', kind='clean', num_images=6),\n"
                     "           dict(name='noise', kind='corruption', num_images=6,\n"
                     "                corruptions=['gaussian_noise'], severities=[2])]\n")
    out = tmp_path / 'ranks.json'
    result = run_tool('benchmark.py', CLS, '--checkpoint', tmp_path / 'train' / 'iter_2.pth',
                      '--suite', suite, '--ranks', 2, '--threads-per-rank', 1, '--out', out)
    bench = json.loads(out.read_text())
    one, two = bench['runs']
    assert (one['ranks'], two['ranks']) == (1, 2)
    assert one['threads_per_rank'] == two['threads_per_rank'] == 1
    assert one['wall_seconds'] > 0 and two['entry_seconds'] > 0
    # start-up (imports, model, gloo) lies outside the suite's own wall time
    assert 0 < two['suite_wall_seconds'] < two['wall_seconds']
    assert set(bench['entry_over_ideal']) == {'clean', 'noise'}
    assert bench['entry_over_ideal']['noise'] == pytest.approx(
        two['seconds_by_entry']['noise'] / (one['seconds_by_entry']['noise'] / 2))
    assert bench['wall_over_ideal'] == pytest.approx(
        two['wall_seconds'] / (one['wall_seconds'] / 2))
    assert bench['entries_with_other_scores'] == []  # deterministic entries agree
    assert f"{bench['wall_over_ideal']:.2f} x (1-rank time / 2) wall" in result.stdout


def test_ranks_benchmark_refuses_zero_threads(run_tool, tmp_path):
    result = run_tool('benchmark.py', CLS, '--checkpoint', tmp_path / 'none.pth', '--suite',
                      tmp_path / 'suite.py', '--ranks', 2, '--threads-per-rank', 0,
                      check=False)
    assert result.returncode == 2
    assert '--threads-per-rank must be >= 1, got 0' in result.stderr
