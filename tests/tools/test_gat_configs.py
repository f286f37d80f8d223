"""GAT configs: each task trains 2 iterations through tools/train.py with a generator,
a missing generator checkpoint stops the run with the command that makes it, and the
granularity profile of a GAT model has one entry per decoder layer of a real generator."""
import json

import pytest
import torch
from mmengine.config import Config

from conftest import FAST_OPTIONS, REPO, read_scalars
from mmgat.registry import MODELS

GAT_CONFIGS = {
    'configs/gat/faster-rcnn_r18_gat_digitscenes.py':
    'configs/generators/style-ae_digitscenes.py',
    'configs/gat/fpn_r18_gat_digitscenes.py': 'configs/generators/style-ae_digitscenes.py',
    'configs/gat/resnet18_gat_digitscenes-cls.py':
    'configs/generators/style-ae_digitscenes-cls.py',
}
CHECKPOINT_KEY = 'custom_hooks.0.attack.generator.checkpoint'


def test_gat_config_per_task_names_its_generator():
    # (the detector's variants, <model>_gat-<name>_..., are checked in
    # tests/configs/test_method_fragments.py)
    assert sorted(p.name for p in (REPO / 'configs' / 'gat').glob('*digitscenes*.py')
                  if '_gat_' in p.name) == sorted(c.split('/')[-1] for c in GAT_CONFIGS)
    for config, generator in GAT_CONFIGS.items():
        cfg = Config.fromfile(str(REPO / config))
        hook = cfg.custom_hooks[0]
        assert hook.type == 'mmgat.AdversarialHook'
        assert hook.attack.type == 'mmgat.LatentAttack'
        assert hook.attack.generator.config == generator
        assert hook.attack.generator.checkpoint.endswith('/generator.pth')


@pytest.fixture(scope='module')
def generator_checkpoints(tmp_path_factory):
    """Untrained generators of the real configs (training is not what is tested)."""
    out = {}
    for generator in set(GAT_CONFIGS.values()):
        torch.manual_seed(0)
        model = MODELS.build(Config.fromfile(str(REPO / generator)).model)
        path = tmp_path_factory.mktemp('gen') / 'generator.pth'
        torch.save(dict(state_dict=model.state_dict()), path)
        out[generator] = path
    return out


@pytest.mark.slow
@pytest.mark.parametrize('config', sorted(GAT_CONFIGS))
def test_gat_config_trains_two_iterations(config, generator_checkpoints, run_tool,
                                          tmp_path):
    checkpoint = generator_checkpoints[GAT_CONFIGS[config]]
    run_tool('train.py', config, '--work-dir', tmp_path, '--cfg-options', *FAST_OPTIONS,
             'train_cfg.max_iters=2', 'train_cfg.val_interval=100',
             'default_hooks.checkpoint.interval=2', f'{CHECKPOINT_KEY}={checkpoint}')
    losses = [s['loss'] for s in read_scalars(tmp_path) if 'loss' in s]
    assert len(losses) == 2 and all(loss == loss for loss in losses)
    log = next(tmp_path.glob('*/*.log')).read_text()
    assert 'AdversarialHook (train)' in log and 'LatentAttack' in log
    assert (tmp_path / 'iter_2.pth').is_file()


@pytest.mark.slow
def test_missing_generator_says_how_to_make_it(run_tool, tmp_path):
    result = run_tool('train.py', 'configs/gat/resnet18_gat_digitscenes-cls.py',
                      '--work-dir', tmp_path, '--cfg-options', *FAST_OPTIONS,
                      f'{CHECKPOINT_KEY}={tmp_path}/missing.pth', check=False)
    assert result.returncode == 2, result.stderr[-2000:]
    assert ('python tools/train_generator.py configs/generators/'
            'style-ae_digitscenes-cls.py') in result.stderr


@pytest.mark.slow
def test_granularity_profile_of_a_gat_model_has_every_decoder_layer(
        generator_checkpoints, run_tool, tmp_path):
    from mmgat.generators import clear_generator_cache, load_generator
    config = 'configs/gat/resnet18_gat_digitscenes-cls.py'
    generator = GAT_CONFIGS[config]
    checkpoint = generator_checkpoints[generator]
    train_dir = tmp_path / 'train'
    run_tool('train.py', config, '--work-dir', train_dir, '--cfg-options', *FAST_OPTIONS,
             'train_cfg.max_iters=2', 'train_cfg.val_interval=100',
             'default_hooks.checkpoint.interval=2', f'{CHECKPOINT_KEY}={checkpoint}')
    gran = tmp_path / 'gran'
    run_tool('test.py', config, train_dir / 'iter_2.pth', '--granularity',
             '--generator-config', generator, '--generator-checkpoint', checkpoint,
             '--work-dir', gran, '--num-images', '4', '--cfg-options',
             'test_dataloader.num_workers=0',
             # testing never runs the training attack: its generator need not exist
             f'{CHECKPOINT_KEY}={tmp_path}/absent.pth', env=dict(OMP_NUM_THREADS='1'))
    record = json.loads((gran / 'granularity.json').read_text())
    layers = load_generator(generator, str(checkpoint)).decoder_layers
    clear_generator_cache()
    entry = record['entries']['granularity']
    assert entry['status'] == 'done', entry
    assert entry['layers'] == list(layers) and list(entry['units']) == list(layers)
    assert all(0 <= unit['score'] <= 1 for unit in entry['units'].values())
    assert (gran / 'granularity.png').is_file()
    assert record['training_attacks'] == ['LatentAttack']  # read from the config's hook
