"""load_generator: safe loading, eval mode, frozen weights, cache, missing checkpoints."""
import os

import pytest
import torch

from mmgat.generators import StyleAutoEncoder, clear_generator_cache, load_generator
from mmgat.utils.errors import ConfigError, UnsafeCheckpointError

TINY = dict(type='mmgat.StyleAutoEncoder', encoder_channels=(4, 4, 8, 8),
            decoder_channels=(8, 8, 4, 4), latent_channels=4)
CONFIG = 'configs/generators/style-ae_digitscenes.py'


@pytest.fixture
def checkpoint(tmp_path):
    torch.manual_seed(0)
    model = StyleAutoEncoder(**{k: v for k, v in TINY.items() if k != 'type'}).train()
    model(torch.rand(2, 3, 16, 16) * 255, mode='tensor')  # statistics move
    path = tmp_path / 'generator.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict(iterations=1)), path)
    clear_generator_cache()
    yield str(path), model
    clear_generator_cache()


def test_missing_checkpoint_names_the_train_command(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_generator(CONFIG, str(tmp_path / 'nope.pth'))
    assert str(info.value) == (
        f"generator checkpoint '{tmp_path / 'nope.pth'}' does not exist; train it with: "
        f'python tools/train_generator.py {CONFIG}')


def test_loads_weights_and_statistics_frozen_in_eval_mode(checkpoint):
    path, trained = checkpoint
    gen = load_generator(dict(model=TINY), path)
    assert isinstance(gen, StyleAutoEncoder) and not gen.training
    assert not any(p.requires_grad for p in gen.parameters())
    assert int(gen.stats_updates) == 1
    torch.testing.assert_close(gen.latent_std('spatial'), trained.latent_std('spatial'))
    x = torch.rand(1, 3, 16, 16) * 255
    torch.testing.assert_close(gen(x), trained.eval()(x))


def test_cache_per_config_and_checkpoint_version(checkpoint, tmp_path):
    path, _ = checkpoint
    config = tmp_path / 'gen_config.py'
    config.write_text(f'model = {TINY!r}\n')
    first = load_generator(str(config), path)
    assert load_generator(str(config), path) is first
    assert load_generator(dict(model=TINY), path) is not first
    stat = os.stat(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10 ** 9))  # "retrained"
    assert load_generator(str(config), path) is not first


def test_unsafe_checkpoint_is_refused(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save(dict(state_dict={}, meta=dict(fn=os.getcwd)), path)
    with pytest.raises(UnsafeCheckpointError):
        load_generator(dict(model=TINY), str(path))


def test_config_without_model_is_explained(checkpoint):
    path, _ = checkpoint
    with pytest.raises(ConfigError, match="no 'model' field"):
        load_generator(dict(optimizer=dict(lr=1)), path)


def test_checkpoint_of_another_architecture_is_explained(checkpoint):
    path, _ = checkpoint
    other = dict(TINY, decoder_channels=(8, 8, 8, 8))
    with pytest.raises(ConfigError, match=r'does not fit the generator config.*'
                       r'tools/train_generator.py'):
        load_generator(dict(model=other), path)
