"""tools/test.py --attack with the unseen-attack configs: ReColor, SpatialFlow, perceptual.

The classifier is fitted to the 16 val images it is tested on (a few iterations on val
instead of train), so its clean accuracy is high and every attack config must visibly
lower it through the tool.
"""
import json

import pytest

from conftest import FAST_OPTIONS, REPO

CLS = 'configs/clean/resnet18_clean_digitscenes-cls.py'
FIT_TO_VAL = ['train_dataloader.dataset.ann_file=cls/val.json',
              'train_dataloader.dataset.data_prefix.img_path=cls/images/val',
              'train_dataloader.dataset.data_prefix.mask_path=cls/masks/val']
ATTACKS = {
    'recolor': 'mmgat.ReColor',
    'spatial-flow': 'mmgat.SpatialFlow',
    'perceptual': 'mmgat.PerceptualAttack',
}
# The shipped budgets leave a classifier fitted to its test images untouched (large
# margins); these variants of the shipped files (inheriting them) must hurt it.
STRONGER = {
    'recolor': dict(eps=0.25, steps=10),
    'spatial-flow': dict(eps=4.0, tau=0.0, steps=10),
    'perceptual': dict(bound=2.0, eps=32 / 255, alpha=4 / 255, steps=10),
}


@pytest.mark.slow
def test_unseen_attack_configs_run_through_test_tool(run_tool, tmp_path):
    iters = 60
    run_tool('train.py', CLS, '--work-dir', tmp_path, '--cfg-options', *FAST_OPTIONS,
             f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters + 1}',
             f'default_hooks.checkpoint.interval={iters}',
             'train_dataloader.batch_size=16', *FIT_TO_VAL)
    checkpoint = tmp_path / f'iter_{iters}.pth'

    def evaluate(name, *extra):
        out = tmp_path / f'{name}.json'
        result = run_tool('test.py', CLS, checkpoint, '--work-dir', tmp_path / 'test',
                          '--out', out, '--cfg-options', 'test_dataloader.num_workers=0',
                          *extra)
        return json.loads(out.read_text()), result.stdout + result.stderr

    clean, _ = evaluate('clean')
    clean_acc = clean['metrics']['accuracy/top1']
    assert clean_acc >= 0.75, clean_acc  # fitted to these images
    for name, kind in ATTACKS.items():
        stronger = tmp_path / f'{name}_stronger.py'
        stronger.write_text(f"_base_ = ['{REPO}/configs/_base_/attacks/{name}.py']\n"
                            f'attack = dict({_kwargs(STRONGER[name])})\n')
        record, log = evaluate(name, '--attack', stronger)
        assert record['attack']['type'] == kind
        assert 'AdversarialHook (test)' in log  # the attack ran through the hook
        accuracy = record['metrics']['accuracy/top1']
        assert accuracy <= clean_acc - 0.1, (name, accuracy, clean_acc)


def _kwargs(options: dict) -> str:
    return ', '.join(f'{k}={v!r}' for k, v in options.items())
