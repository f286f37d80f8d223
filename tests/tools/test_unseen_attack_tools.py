"""tools/test.py --attack with the unseen-attack configs: ReColor, SpatialFlow, perceptual.

A smoke test: the classifier is trained for a few iterations only, so the accuracies
are low; what is checked is that every attack config runs through the tool.
"""
import json

import pytest

from conftest import FAST_OPTIONS

CLS = 'configs/clean/resnet18_clean_digitscenes-cls.py'
ATTACKS = {
    'recolor': 'mmgat.ReColor',
    'spatial-flow': 'mmgat.SpatialFlow',
    'perceptual': 'mmgat.PerceptualAttack',
}


@pytest.mark.slow
def test_unseen_attack_configs_run_through_test_tool(run_tool, tmp_path):
    iters = 30
    run_tool('train.py', CLS, '--work-dir', tmp_path, '--cfg-options', *FAST_OPTIONS,
             f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters + 1}',
             f'default_hooks.checkpoint.interval={iters}',
             'train_dataloader.batch_size=16')
    checkpoint = tmp_path / f'iter_{iters}.pth'

    def evaluate(name, *extra):
        out = tmp_path / f'{name}.json'
        result = run_tool('test.py', CLS, checkpoint, '--work-dir', tmp_path / 'test',
                          '--out', out, '--cfg-options', 'test_dataloader.num_workers=0',
                          *extra)
        return json.loads(out.read_text()), result.stdout + result.stderr

    clean, _ = evaluate('clean')
    clean_acc = clean['metrics']['accuracy/top1']
    for name, kind in ATTACKS.items():
        record, log = evaluate(name, '--attack', f'configs/_base_/attacks/{name}.py')
        assert record['attack']['type'] == kind
        assert 'AdversarialHook (test)' in log  # the attack really ran
        accuracy = record['metrics']['accuracy/top1']
        assert 0.0 <= accuracy <= clean_acc + 1e-6, (name, accuracy, clean_acc)
