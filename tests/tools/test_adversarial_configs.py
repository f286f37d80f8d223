"""Adversarial training configs train, and tools/test.py --attack hurts clean models."""
import json
from pathlib import Path

import pytest

from conftest import FAST_OPTIONS, REPO, read_scalars

METHOD_CONFIGS = sorted(
    str(p.relative_to(REPO)) for method in ('pgd', 'shared', 'localized', 'advbn')
    for p in (REPO / 'configs' / method).glob('*digitscenes*.py'))


def test_every_method_has_a_config_per_task():
    # variants (<method>-<name>, the controls of the evidence matrix) come on top
    variants = [c for c in METHOD_CONFIGS if '-' in Path(c).stem.split('_')[-2]]
    assert sorted(Path(c).stem for c in variants) == [
        'faster-rcnn_r18_advbn-tau025_digitscenes', 'faster-rcnn_r18_pgd-eps8_digitscenes',
        'fpn_r18_pgd-eps8_digitscenes',
        'fpn_r18_shared-heap1_digitscenes', 'resnet18_pgd-eps8_digitscenes-cls',
        'resnet18_shared-heap1_digitscenes-cls']
    assert len(METHOD_CONFIGS) - len(variants) == 12
    for method in ('pgd', 'shared', 'localized', 'advbn'):
        for model in ('faster-rcnn_r18', 'fpn_r18', 'resnet18'):
            assert any(f'/{method}/{model}_{method}_' in c for c in METHOD_CONFIGS)


@pytest.mark.slow
@pytest.mark.parametrize('config', METHOD_CONFIGS)
def test_method_config_trains_two_iterations(config, run_tool, tmp_path):
    run_tool('train.py', config, '--work-dir', tmp_path, '--cfg-options', *FAST_OPTIONS,
             'train_cfg.max_iters=2', 'train_cfg.val_interval=100',
             'default_hooks.checkpoint.interval=2')
    losses = [s['loss'] for s in read_scalars(tmp_path) if 'loss' in s]
    assert len(losses) == 2
    log = next(tmp_path.glob('*/*.log')).read_text()
    assert 'AdversarialHook (train)' in log  # the attack really ran
    assert (tmp_path / 'iter_2.pth').is_file()
    # SafeCheckpointHook (a default hook) once, and after the AdversarialHook, which
    # adds its entry to the checkpoint in the same stage.
    assert hooks_of_stage(log, 'before_save_checkpoint') == [
        'AdversarialHook', 'SafeCheckpointHook']


def hooks_of_stage(log, stage):
    """The hooks mmengine's Runner lists for ``stage`` in its log, in calling order."""
    block = log.split(f'\n{stage}:\n', 1)[1].split(' -------------------- ', 1)[0]
    return [line.split(')', 1)[1].split()[0] for line in block.strip().splitlines()]


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """Clean classifier and detector trained briefly on a 400-scene DigitScenes."""
    import os
    import subprocess
    import sys
    root = tmp_path_factory.mktemp('attack_data') / 'digitscenes'
    subprocess.run([sys.executable, 'tools/make_digitscenes.py', '--out', str(root),
                    '--num-train', '400', '--num-val', '40', '--seed', '1'],
                   cwd=REPO, check=True, capture_output=True)
    env = dict(os.environ, MMGAT_DATA_ROOT=str(root), PYTHONPATH=str(REPO))
    runs = {}
    for task, config, iters in (
            ('cls', 'configs/clean/resnet18_clean_digitscenes-cls.py', 300),
            ('det', 'configs/clean/faster-rcnn_r18_clean_digitscenes.py', 250)):
        work_dir = tmp_path_factory.mktemp(task)
        subprocess.run(
            [sys.executable, 'tools/train.py', config, '--work-dir', str(work_dir),
             '--cfg-options', *FAST_OPTIONS, f'train_cfg.max_iters={iters}',
             f'train_cfg.val_interval={iters + 1}', f'default_hooks.checkpoint.interval={iters}',
             'param_scheduler.0.end=30', f'param_scheduler.1.end={iters}'] +
            (['param_scheduler.1.milestones=[200]'] if task == 'det' else []),
            cwd=REPO, env=env, check=True, capture_output=True)
        runs[task] = (config, work_dir / f'iter_{iters}.pth')
    return root, runs


def evaluate(run_tool, root, config, checkpoint, out, *extra):
    run_tool('test.py', config, checkpoint, '--out', out, '--work-dir', out.parent,
             '--cfg-options', 'test_dataloader.num_workers=0', *extra, data_root=root)
    return json.loads(Path(out).read_text())


ATTACK = 'configs/_base_/attacks/pgd-linf_eps8.py'


@pytest.mark.slow
def test_pgd_attack_breaks_the_clean_classifier(trained, run_tool, tmp_path):
    root, runs = trained
    config, checkpoint = runs['cls']
    clean = evaluate(run_tool, root, config, checkpoint, tmp_path / 'clean.json')
    attacked = evaluate(run_tool, root, config, checkpoint, tmp_path / 'pgd.json',
                        '--attack', ATTACK)
    assert clean['metrics']['accuracy/top1'] >= 0.5, clean
    assert attacked['metrics']['accuracy/top1'] < 0.10, attacked
    assert attacked['attack']['type'] == 'mmgat.PGD'


@pytest.mark.slow
def test_pgd_attack_at_least_halves_detector_map50(trained, run_tool, tmp_path):
    root, runs = trained
    config, checkpoint = runs['det']
    clean = evaluate(run_tool, root, config, checkpoint, tmp_path / 'clean.json')
    attacked = evaluate(run_tool, root, config, checkpoint, tmp_path / 'pgd.json',
                        '--attack', ATTACK)
    clean_map = clean['metrics']['coco/bbox_mAP_50']
    assert clean_map >= 0.2, clean
    assert attacked['metrics']['coco/bbox_mAP_50'] <= clean_map / 2, (clean, attacked)


@pytest.mark.slow
def test_background_attack_and_bad_attack_file(trained, run_tool, tmp_path):
    root, runs = trained
    config, checkpoint = runs['cls']
    result = evaluate(run_tool, root, config, checkpoint, tmp_path / 'bg.json', '--attack',
                      'configs/_base_/attacks/pgd-linf_eps8_background.py')
    assert result['attack']['mask'] == 'background'
    bad = tmp_path / 'bad_attack.py'
    bad.write_text("attack = dict(type='mmgat.PGD', eps=-1.0)\n")
    failed = run_tool('test.py', config, checkpoint, '--attack', bad, check=False,
                      data_root=root)
    assert failed.returncode == 2 and 'eps' in failed.stderr, failed.stderr[-2000:]
