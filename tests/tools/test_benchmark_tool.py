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
