"""tools/benchmark.py runs and reports its ratios (the speed targets themselves are not
asserted by tests: timings on a shared CI machine say nothing)."""
import json

import pytest

from conftest import FAST_OPTIONS

CLS = 'configs/clean/resnet18_clean_digitscenes-cls.py'


@pytest.mark.slow
def test_benchmark_reports_consistent_ratios(run_tool, tmp_path):
    out = tmp_path / 'bench.json'
    result = run_tool('benchmark.py', CLS, '--steps', 2, '--iters', 2, '--warmup', 1,
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
    run_tool('benchmark.py', '--methods', 'clean', 'pgd', '--task', 'classification',
             '--iters', 1, '--warmup', 0, '--suite-record', record, '--out', out,
             '--cfg-options', 'train_dataloader.batch_size=4', *FAST_OPTIONS[:1])
    bench = json.loads(out.read_text())
    rows = {r['method']: r for r in bench['methods']}
    assert list(rows) == ['clean', 'pgd'] and bench['batch_size'] == 4
    assert rows['clean']['iter_over_clean'] == 1.0
    # PGD appends its adversarial images: the step sees twice the batch, and costs more
    assert rows['pgd']['images_per_step'] == 8 and rows['clean']['images_per_step'] == 4
    assert rows['pgd']['seconds_per_iter'] > rows['clean']['seconds_per_iter']
    assert bench['suite']['images_per_second'] == dict(clean=50.0, corruption=10.0)
    table = (tmp_path / 'methods.md').read_text()
    assert '| pgd |' in table and 'corruption 10.0 images/s' in table
