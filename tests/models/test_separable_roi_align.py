"""SeparableRoIAlign against mmcv's RoIAlign: values and gradients, edge cases, and the
DigitScenes detector built with it gives the losses of the one built with mmcv's."""
import copy

import pytest
import torch
from mmcv.ops import roi_align
from mmengine.config import Config

from conftest import REPO
from mmgat.models import SeparableRoIAlign, separable_roi_align
from mmgat.utils.errors import ConfigError


def random_rois(num: int, images: int, generator: torch.Generator) -> torch.Tensor:
    """Boxes inside, across and outside a 13 x 17 map at stride 4, some of zero size."""
    x1 = torch.rand(num, generator=generator) * 90 - 15
    y1 = torch.rand(num, generator=generator) * 70 - 15
    w = torch.rand(num, generator=generator) * 60
    h = torch.rand(num, generator=generator) * 50
    w[:4], h[2:6] = 0, 0
    index = torch.randint(0, images, (num, ), generator=generator).float()
    return torch.stack([index, x1, y1, x1 + w, y1 + h], 1)


@pytest.mark.parametrize('sampling_ratio', [0, 1, 2])
@pytest.mark.parametrize('spatial_scale', [1.0, 0.25, 0.125])
def test_values_and_gradients_equal_mmcv(sampling_ratio, spatial_scale):
    generator = torch.Generator().manual_seed(int(spatial_scale * 8) + sampling_ratio)
    features = torch.randn(3, 5, 13, 17, generator=generator)
    rois = random_rois(50, 3, generator)  # image indices unsorted
    theirs = features.clone().requires_grad_()
    ours = features.clone().requires_grad_()
    expected = roi_align(theirs, rois, (7, 6), spatial_scale, sampling_ratio, 'avg', True)
    got = separable_roi_align(ours, rois, (7, 6), spatial_scale, sampling_ratio)
    assert got.shape == expected.shape == (50, 5, 7, 6)
    assert expected.abs().max() > 0.5  # the boxes do sample the map
    assert torch.allclose(got, expected, atol=1e-5), (got - expected).abs().max()
    upstream = torch.randn(expected.shape, generator=generator)
    (expected * upstream).sum().backward()
    (got * upstream).sum().backward()
    assert torch.allclose(ours.grad, theirs.grad, atol=1e-4), \
        (ours.grad - theirs.grad).abs().max()


def test_boxes_get_no_gradient_and_empty_input_works():
    features = torch.randn(2, 3, 8, 8, requires_grad=True)
    rois = torch.tensor([[1., 2., 2., 20., 30.]], requires_grad=True)
    out = SeparableRoIAlign(7, spatial_scale=0.25)(features, rois)
    out.sum().backward()
    assert rois.grad is None and features.grad[0].abs().sum() == 0  # image 0 has no box
    assert features.grad[1].abs().sum() > 0
    empty = SeparableRoIAlign(7, spatial_scale=0.25)(features, rois[:0].detach())
    assert empty.shape == (0, 3, 7, 7)


def test_float32_map_stays_float32_under_cpu_autocast():
    """mmdet writes each FPN level's RoI features into one float32 tensor: under the
    attacks' bf16 autocast (--amp) a float32 map must pool to float32, unchanged."""
    generator = torch.Generator().manual_seed(3)
    features = torch.randn(2, 4, 9, 11, generator=generator)
    rois = random_rois(20, 2, generator)
    plain = separable_roi_align(features, rois, (7, 7), 0.25)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        cast = separable_roi_align(features, rois, (7, 7), 0.25)
        half = separable_roi_align(features.bfloat16(), rois, (7, 7), 0.25)
    assert cast.dtype == torch.float32 and torch.equal(cast, plain)
    assert half.dtype == torch.bfloat16
    assert torch.allclose(half.float(), plain, atol=0.1)


@pytest.mark.parametrize('options, says', [
    (dict(pool_mode='max'), "pool_mode='avg' only"),
    (dict(aligned=False), 'aligned=True'),
    (dict(sampling_ratio=-1), 'sampling_ratio must be an int >= 0'),
])
def test_what_it_does_not_compute_is_refused(options, says):
    with pytest.raises(ConfigError, match=says):
        SeparableRoIAlign(7, **options)


def test_detector_losses_equal_those_with_mmcv_roi_align():
    """The DigitScenes Faster R-CNN built with SeparableRoIExtractor and with mmdet's
    SingleRoIExtractor, same weights, same batch and sampler seed: the same losses and
    the same input gradient (what an attack step uses)."""
    from mmdet.registry import MODELS
    from mmdet.structures import DetDataSample
    from mmengine.registry import init_default_scope
    from mmengine.structures import InstanceData
    init_default_scope('mmdet')
    cfg = Config.fromfile(str(REPO / 'configs/clean/faster-rcnn_r18_clean_digitscenes.py'))
    assert cfg.model.roi_head.bbox_roi_extractor.type == 'mmgat.SeparableRoIExtractor'
    stock = copy.deepcopy(cfg.model)
    stock.roi_head.bbox_roi_extractor.type = 'SingleRoIExtractor'
    torch.manual_seed(0)
    ours = MODELS.build(cfg.model)
    theirs = MODELS.build(stock)
    theirs.load_state_dict(ours.state_dict())
    assert all(isinstance(layer, SeparableRoIAlign)
               for layer in ours.roi_head.bbox_roi_extractor.roi_layers)
    assert not any(isinstance(layer, SeparableRoIAlign)
                   for layer in theirs.roi_head.bbox_roi_extractor.roi_layers)
    ours.eval(), theirs.eval()  # BN from running statistics: the two see one batch each
    generator = torch.Generator().manual_seed(0)
    pixels = torch.rand(2, 3, 128, 128, generator=generator) * 255
    samples = []
    for _ in range(2):
        sample = DetDataSample(metainfo=dict(img_shape=(128, 128), ori_shape=(128, 128),
                                             scale_factor=(1., 1.), pad_shape=(128, 128),
                                             batch_input_shape=(128, 128)))
        corner = torch.rand(3, 2, generator=generator) * 80
        sample.gt_instances = InstanceData(
            bboxes=torch.cat([corner, corner + 16 + torch.rand(3, 2, generator=generator) * 30],
                             1),
            labels=torch.randint(0, 10, (3, ), generator=generator))
        samples.append(sample)
    results = []
    for model in (ours, theirs):
        inputs = pixels.clone().requires_grad_()
        torch.manual_seed(1)  # the RPN / RoI samplers draw from it
        losses = model.loss(model.data_preprocessor(
            dict(inputs=list(inputs), data_samples=samples))['inputs'], samples)
        total, log_vars = model.parse_losses(losses)
        results.append(({k: float(v.detach()) for k, v in log_vars.items()},
                        torch.autograd.grad(total, inputs)[0]))
    (loss_a, grad_a), (loss_b, grad_b) = results
    assert loss_a['loss_cls'] > 0 and loss_a.keys() == loss_b.keys()
    for key in loss_a:
        assert loss_a[key] == pytest.approx(loss_b[key], rel=1e-5, abs=1e-6), key
    assert grad_a.abs().max() > 0
    assert torch.allclose(grad_a, grad_b, atol=1e-5 * grad_b.abs().max().item() + 1e-8)


def test_config_with_another_roi_layer_is_refused():
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    with pytest.raises(ConfigError, match="roi_layer type must be 'RoIAlign'"):
        MODELS.build(dict(type='mmgat.SeparableRoIExtractor',
                          roi_layer=dict(type='RoIPool', output_size=7),
                          out_channels=8, featmap_strides=[4]))
