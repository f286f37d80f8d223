"""The tools turn user mistakes into one clear line and exit status 2."""
import shutil

import pytest
import torch

from conftest import FAST_OPTIONS

CLS = 'configs/clean/resnet18_clean_digitscenes-cls.py'


def assert_user_error(result, *fragments):
    assert result.returncode == 2, result.stderr[-3000:]
    assert 'Traceback' not in result.stderr, result.stderr[-3000:]
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr[-3000:]


@pytest.mark.slow
def test_unknown_nested_config_key_is_named(run_tool, tmp_path):
    result = run_tool('train.py', CLS, '--work-dir', tmp_path, '--cfg-options',
                      'model.backbone.detph=34', check=False)
    assert_user_error(result, 'model.backbone.detph', "'depth'")


@pytest.mark.slow
def test_unknown_top_level_key_is_named(run_tool, tmp_path):
    result = run_tool('train.py', CLS, '--work-dir', tmp_path, '--cfg-options',
                      'trian_cfg.max_iters=3', check=False)
    assert_user_error(result, 'trian_cfg', "'train_cfg'")


@pytest.mark.slow
def test_missing_data_says_how_to_generate_it(run_tool, tmp_path):
    result = run_tool('train.py', CLS, '--work-dir', tmp_path, '--cfg-options',
                      *FAST_OPTIONS, data_root=tmp_path / 'nowhere', check=False)
    assert_user_error(result, 'make_digitscenes', str(tmp_path / 'nowhere'))


@pytest.mark.slow
def test_corrupt_image_is_named(run_tool, digitscenes_root, tmp_path):
    root = tmp_path / 'digitscenes'
    shutil.copytree(digitscenes_root, root)
    broken = root / 'cls' / 'images' / 'train' / '000000.png'
    broken.write_bytes(b'this is not a png')
    result = run_tool('train.py', CLS, '--work-dir', tmp_path / 'work', '--cfg-options',
                      *FAST_OPTIONS, 'train_dataloader.dataset.indices=1',
                      'train_dataloader.batch_size=1', 'train_cfg.max_iters=1',
                      data_root=root, check=False)
    assert_user_error(result, '000000.png')


@pytest.mark.slow
def test_unsafe_checkpoint_is_refused_by_test_tool(run_tool, tmp_path):
    evil = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'payload': shutil.rmtree}, evil)
    result = run_tool('test.py', CLS, evil, '--work-dir', tmp_path, check=False)
    assert_user_error(result, 'shutil.rmtree', 'refusing to load')


@pytest.mark.slow
def test_missing_checkpoint_is_reported(run_tool, tmp_path):
    result = run_tool('test.py', CLS, tmp_path / 'nope.pth', check=False)
    assert_user_error(result, 'nope.pth')
