"""tools/train_generator.py and tools/test.py on the generator configs (tiny runs)."""
import json

import pytest
import torch

from conftest import FAST_OPTIONS
from mmgat.generators import StyleAutoEncoder, clear_generator_cache, load_generator
from mmgat.utils import safe_torch_load

CONFIGS = {
    'scenes': 'configs/generators/style-ae_digitscenes.py',
    'cls': 'configs/generators/style-ae_digitscenes-cls.py',
}
TINY = ['model.encoder_channels=[4,4,8,8]', 'model.decoder_channels=[8,8,4,4]',
        'model.latent_channels=4', 'train_dataloader.batch_size=2',
        'val_dataloader.dataset.indices=4', 'param_scheduler.0.end=1']


@pytest.mark.slow
@pytest.mark.parametrize('name', ['scenes', 'cls'])
def test_train_generator_writes_a_loadable_generator(name, run_tool, tmp_path):
    config = CONFIGS[name]
    work_dir = tmp_path / 'work'
    result = run_tool('train_generator.py', config, '--work-dir', work_dir,
                      '--cfg-options', *FAST_OPTIONS, *TINY, 'train_cfg.max_iters=3',
                      'train_cfg.val_interval=3', 'default_hooks.checkpoint.interval=3',
                      env=dict(OMP_NUM_THREADS='1'))
    path = work_dir / 'generator.pth'
    assert f'generator written to {path}' in result.stdout
    assert not list(work_dir.glob('generator.pth.tmp*'))
    saved = safe_torch_load(str(path), map_location='cpu')
    assert set(saved) == {'state_dict', 'meta'}
    assert saved['meta']['iterations'] == 3
    assert saved['meta']['config'] == config.split('/')[-1]
    assert int(saved['state_dict']['stats_updates']) == 3
    assert 'psnr' in result.stdout  # validation at the end

    # the config dumped into the work dir (with the overrides) rebuilds the model
    clear_generator_cache()
    gen = load_generator(str(work_dir / config.split('/')[-1]), str(path))
    assert isinstance(gen, StyleAutoEncoder) and gen.latent_channels == 4
    size = 32 if name == 'cls' else 64
    assert gen(torch.rand(1, 3, size, size) * 255).shape == (1, 3, size, size)
    clear_generator_cache()

    if name == 'scenes':
        # tools/test.py reports the PSNR of a generator checkpoint on val_ood
        out = tmp_path / 'psnr.json'
        run_tool('test.py', work_dir / config.split('/')[-1], path, '--split', 'val_ood',
                 '--work-dir', tmp_path / 'test', '--out', out, '--cfg-options',
                 'ood_test_dataloader.num_workers=0', 'ood_test_dataloader.batch_size=4',
                 env=dict(OMP_NUM_THREADS='1'))
        record = json.loads(out.read_text())
        assert record['split'] == 'val_ood'
        assert 0 < record['metrics']['psnr'] < 60 and record['metrics']['l1'] > 0
