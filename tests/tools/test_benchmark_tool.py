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
    for key in ('train_step_s', 'attack_step_s', 'pgd_iteration_s'):
        assert bench[key] > 0
    assert bench['attack_step_over_train_step'] == pytest.approx(
        bench['attack_step_s'] / bench['train_step_s'])
    assert bench['pgd_iteration_over_parts'] == pytest.approx(
        bench['pgd_iteration_s'] / (2 * bench['attack_step_s'] + bench['train_step_s']))
    assert bench['batch_size'] == 4 and bench['pgd_steps'] == 2
    assert 'target <= 0.9' in result.stdout
