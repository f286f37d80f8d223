import copy

import pytest
from mmengine.config import Config

import mmgat  # noqa: F401
from mmgat.utils.config_check import accepted_arguments, check_cfg_options
from mmgat.utils.errors import ConfigError

DET = 'configs/clean/faster-rcnn_r18_clean_digitscenes.py'


@pytest.fixture(scope='module')
def det_cfg():
    return Config.fromfile(DET)


@pytest.mark.parametrize('key', [
    'train_cfg.max_iters',                    # exists
    'model.backbone.depth',                   # exists, nested
    'model.backbone.dcn',                     # ResNet argument not set in the config
    'train_dataloader.dataset.indices',       # BaseDataset argument behind **kwargs
    'param_scheduler.0.end',                  # list index
    'model_wrapper_cfg',                      # top-level key the runner reads
])
def test_known_keys_pass(det_cfg, key):
    check_cfg_options(det_cfg, {key: 1})  # raises for an unknown key
    # and the key is one mmengine's merge really writes where the check said
    cfg = copy.deepcopy(det_cfg)
    cfg.merge_from_dict({key: 1})
    node = cfg
    for part in key.split('.'):
        node = node[int(part)] if isinstance(node, list) else node[part]
    assert node == 1


@pytest.mark.parametrize('key, expected', [
    ('model.backbone.detph', "did you mean 'depth'"),
    ('trian_cfg.max_iters', "did you mean 'train_cfg'"),
    ('train_cfg.max_itres', "'max_iters'"),
    ('param_scheduler.7.end', 'is no index'),
    ('model.backbone.depth.x', 'not a dict'),
    # the clean config has no custom_hooks: mmengine would write {'0': ...} there
    ('custom_hooks.0.ratio', "sets no 'custom_hooks'"),
])
def test_unknown_keys_fail_with_their_name(det_cfg, key, expected):
    with pytest.raises(ConfigError) as info:
        check_cfg_options(det_cfg, {key: 1})
    assert key.split('.')[0] in str(info.value)
    assert expected in str(info.value)


def test_accepted_arguments_follow_kwargs_up_the_mro():
    from mmdet.datasets import CocoDataset
    names = accepted_arguments(CocoDataset)
    assert {'ann_file', 'indices', 'backend_args', 'pipeline'} <= names
    assert 'no_such_argument' not in names
