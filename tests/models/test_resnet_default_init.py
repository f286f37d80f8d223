"""mmgat.ResNetDefaultInit: the weights of mmdet's ResNet with init_cfg=None, bit for bit."""
import copy
from pathlib import Path

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope

import mmgat  # noqa: F401  (registers mmgat.ResNetDefaultInit)

REPO = Path(__file__).resolve().parents[2]
DET = REPO / 'configs/clean/faster-rcnn_r18_clean_digitscenes.py'
DEFAULT = dict(type='mmgat.ResNetDefaultInit')

pytestmark = pytest.mark.usefixtures('one_thread')


def initialised(model_cfg, seed=0):
    """The state dict after building and ``init_weights`` (what Runner.train does)."""
    init_default_scope('mmdet')
    torch.manual_seed(seed)  # building draws random numbers too (torch's own init)
    model = MODELS.build(copy.deepcopy(model_cfg))
    model.init_weights()
    return model.state_dict()


def differing(a, b):
    assert a.keys() == b.keys()
    return [k for k in a if not torch.equal(a[k], b[k])]


def with_backbone_init(model_cfg, init_cfg):
    cfg = copy.deepcopy(model_cfg)
    cfg.backbone.init_cfg = init_cfg
    return cfg


def test_detector_config_initialises_exactly_as_init_cfg_none():
    model_cfg = Config.fromfile(str(DET)).model
    assert model_cfg.backbone.init_cfg == DEFAULT
    ours = initialised(model_cfg)
    stock = initialised(with_backbone_init(model_cfg, None))
    assert differing(ours, stock) == []  # every tensor of the detector, not just the backbone

    # The init is real: another seed, or no ResNet init at all (init_cfg={}), differs.
    assert differing(ours, initialised(model_cfg, seed=1))
    assert differing(ours, initialised(with_backbone_init(model_cfg, {})))
    assert not ours['backbone.layer1.0.bn2.weight'].any()  # zero_init_residual


def test_what_mmdet_test_robustness_does_to_the_config_works():
    cfg = Config.fromfile(str(DET))
    cfg.model.backbone.init_cfg.type = None  # tools/analysis_tools/test_robustness.py
    init_default_scope('mmdet')
    MODELS.build(cfg.model)  # builds; it then only loads a checkpoint, never initialises


@pytest.mark.parametrize('depth,zero_init_residual', [(18, False), (50, True), (50, False)])
def test_resnet_variants_initialise_as_init_cfg_none(depth, zero_init_residual):
    backbone = dict(type='ResNet', depth=depth, base_channels=8, num_stages=2,
                    strides=(1, 2), dilations=(1, 1), out_indices=(0, 1),
                    zero_init_residual=zero_init_residual)
    ours = initialised(dict(backbone, init_cfg=DEFAULT))
    stock = initialised(dict(backbone, init_cfg=None))
    assert differing(ours, stock) == []
    last_norm = 'layer1.0.bn3.weight' if depth == 50 else 'layer1.0.bn2.weight'
    assert ours[last_norm].any() != zero_init_residual


def test_refuses_a_module_that_is_no_mmdet_resnet():
    from mmengine.model import initialize
    with pytest.raises(TypeError, match='mmdet ResNet'):
        initialize(torch.nn.Conv2d(3, 3, 1), DEFAULT)
