"""Tests of ImageClassifier: shapes, loss, gradients, predictions and building."""
import copy

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.evaluator import Evaluator
from mmengine.model import ImgDataPreprocessor
from mmengine.registry import MODELS as ROOT_MODELS
from mmengine.registry import DefaultScope, init_default_scope

from mmgat.models import ImageClassifier
from mmgat.structures import ClsDataSample
from mmgat.transforms import PackClsInputs

NUM_CLASSES = 10


def backbone_cfg(**kwargs):
    cfg = dict(type='mmdet.ResNet', depth=18, base_channels=8, num_stages=4,
               out_indices=(3, ), norm_cfg=dict(type='BN'), norm_eval=False,
               style='pytorch')
    cfg.update(kwargs)
    return cfg


def model_cfg(**kwargs):
    cfg = dict(type='ImageClassifier', backbone=backbone_cfg(), num_classes=NUM_CLASSES,
               in_channels=64,  # 8 * base_channels for ResNet-18
               data_preprocessor=dict(type='ImgDataPreprocessor', mean=[127.5] * 3,
                                      std=[127.5] * 3, bgr_to_rgb=True))
    cfg.update(kwargs)
    return cfg


def make_model(**kwargs):
    cfg = model_cfg(**kwargs)
    cfg.pop('type')
    torch.manual_seed(0)
    model = ImageClassifier(**cfg)
    model.init_weights()
    return model


def make_samples(labels):
    samples = []
    for label in labels:
        sample = ClsDataSample(metainfo=dict(img_shape=(32, 32)))
        sample.gt_label = int(label)
        samples.append(sample)
    return samples


@pytest.fixture
def mmgat_scope():
    # init_default_scope changes process-wide state: restore it for other tests.
    saved = copy.copy(DefaultScope._instance_dict)
    init_default_scope('mmgat')
    yield
    DefaultScope._instance_dict = saved


def test_build_from_config_with_default_scope(mmgat_scope):
    from mmdet.models.backbones import ResNet
    model = ROOT_MODELS.build(model_cfg(label_smoothing=0.1, dropout=0.2))
    assert isinstance(model, ImageClassifier)
    assert isinstance(model.backbone, ResNet)
    assert isinstance(model.data_preprocessor, ImgDataPreprocessor)
    assert model.fc.in_features == 64 and model.fc.out_features == NUM_CLASSES
    assert isinstance(model.dropout, torch.nn.Dropout) and model.dropout.p == 0.2
    model.init_weights()
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, NUM_CLASSES)


def test_tensor_mode_and_feature_shapes():
    model = make_model().eval()
    x = torch.randn(3, 3, 32, 32)
    assert model.extract_feat(x).shape == (3, 64, 1, 1)
    logits = model(x)  # mode='tensor' is the default
    assert logits.shape == (3, NUM_CLASSES)
    assert torch.isfinite(logits).all()
    # Larger inputs work too: the head pools globally.
    assert model(torch.randn(1, 3, 64, 48), mode='tensor').shape == (1, NUM_CLASSES)


def test_loss_finite_and_decreases_when_overfitting():
    model = make_model().train()
    torch.manual_seed(1)
    x = torch.randn(8, 3, 32, 32)
    samples = make_samples(torch.randint(0, NUM_CLASSES, (8, )))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(20):
        out = model(x, samples, mode='loss')
        assert set(out) == {'loss_cls', 'accuracy'}
        assert not out['accuracy'].requires_grad
        assert 0.0 <= out['accuracy'].item() <= 1.0
        loss = out['loss_cls']
        assert loss.ndim == 0 and torch.isfinite(loss)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[0] > 1.5  # about log(10) at initialization
    assert losses[-1] < 0.5 * losses[0], losses
    model.eval()
    out = model(x, samples, mode='loss')
    assert out['accuracy'].item() == 1.0


def test_label_smoothing_matches_manual_cross_entropy():
    x = torch.randn(4, 3, 32, 32)
    samples = make_samples([0, 3, 5, 9])
    labels = torch.tensor([0, 3, 5, 9])
    for smoothing in (0.0, 0.2):
        model = make_model(label_smoothing=smoothing).eval()
        expected = torch.nn.functional.cross_entropy(model(x), labels,
                                                     label_smoothing=smoothing)
        loss = model.loss(x, samples)['loss_cls']
        assert loss.item() == pytest.approx(expected.item(), rel=1e-5)


@pytest.mark.parametrize('train', [True, False])
def test_gradients_reach_inputs(train):
    model = make_model(dropout=0.3).train(train)
    x = torch.randn(4, 3, 32, 32, requires_grad=True)
    loss = model(x, make_samples([1, 2, 3, 4]), mode='loss')['loss_cls']
    (grad, ) = torch.autograd.grad(loss, x)
    assert grad.shape == x.shape
    assert torch.isfinite(grad).all()
    assert grad.abs().sum() > 0
    # Each sample's gradient is non-zero (no sample is cut from the graph).
    assert (grad.flatten(1).abs().sum(1) > 0).all()


def test_predict_fields_and_consistency():
    model = make_model().eval()
    x = torch.randn(5, 3, 32, 32)
    samples = make_samples([0, 1, 2, 3, 4])
    for sample in samples:
        sample.gt_fg_mask = torch.zeros(32, 32, dtype=torch.bool)
    with torch.no_grad():
        logits = model(x)
        preds = model(x, samples, mode='predict')
    assert len(preds) == 5
    for i, pred in enumerate(preds):
        assert isinstance(pred, ClsDataSample)
        assert pred.pred_score.shape == (NUM_CLASSES, )
        assert pred.pred_score.dtype == torch.float32
        assert pred.pred_score.sum().item() == pytest.approx(1.0, abs=1e-5)
        assert (pred.pred_score >= 0).all()
        assert pred.pred_label.shape == (1, ) and pred.pred_label.dtype == torch.long
        assert pred.pred_label.item() == logits[i].argmax().item()
        torch.testing.assert_close(pred.pred_score, logits[i].softmax(0))
        # Ground truth and meta information are kept.
        assert pred.gt_label.item() == i
        assert pred.gt_fg_mask.shape == (32, 32)
        assert pred.img_shape == (32, 32)
    # The given samples are not modified.
    assert all('pred_score' not in s and 'pred_label' not in s for s in samples)
    # Without data samples, new ones are made.
    with torch.no_grad():
        bare = model.predict(x)
    assert [p.pred_label.item() for p in bare] == [p.pred_label.item() for p in preds]


def test_eval_mode_is_deterministic_and_batch_independent():
    model = make_model(dropout=0.5)
    x = torch.randn(6, 3, 32, 32)
    model.train()
    model(x, make_samples(range(6)), mode='loss')  # updates BN running stats
    model.eval()
    with torch.no_grad():
        first = model(x)
        second = model(x)
        alone = model(x[:2])
    torch.testing.assert_close(first, second, rtol=0, atol=0)
    # BN uses running statistics in eval mode: other batch members don't matter.
    torch.testing.assert_close(alone, first[:2])


def test_steps_through_data_preprocessor_and_metric():
    # PackClsInputs -> collate -> val_step / train_step -> Accuracy: the Runner's path.
    model = make_model()
    rng = np.random.default_rng(0)
    pack = PackClsInputs()
    batch = pseudo_collate([
        pack(dict(img=rng.integers(0, 256, (32, 32, 3), dtype=np.uint8), gt_label=i,
                  gt_fg_mask=rng.random((32, 32)) > 0.5, img_shape=(32, 32)))
        for i in range(4)
    ])
    from mmengine.optim import OptimWrapper
    optim_wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
    log_vars = model.train_step(batch, optim_wrapper)
    assert {'loss', 'loss_cls', 'accuracy'} <= set(log_vars)
    assert torch.isfinite(log_vars['loss'])

    model.eval()
    outputs = model.val_step(batch)
    assert len(outputs) == 4 and all('pred_score' in o for o in outputs)
    from mmgat.models import Accuracy
    evaluator = Evaluator([Accuracy(topk=(1, 10))])
    evaluator.process(outputs, batch)
    metrics = evaluator.evaluate(4)
    assert 0.0 <= metrics['accuracy/top1'] <= 1.0
    assert metrics['accuracy/top10'] == 1.0


def test_errors_are_clear():
    model = make_model().eval()
    x = torch.randn(2, 3, 32, 32)
    with pytest.raises(RuntimeError, match='Invalid mode'):
        model(x, mode='logits')
    with pytest.raises(ValueError, match='out of range'):
        model(x, make_samples([0, NUM_CLASSES]), mode='loss')
    with pytest.raises(ValueError, match='gt_label'):
        model(x, [ClsDataSample(), ClsDataSample()], mode='loss')
    wrong = make_model(in_channels=512)
    with pytest.raises(ValueError, match='in_channels'):
        wrong(x)
    with pytest.raises(ValueError, match='num_classes'):
        make_model(num_classes=0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_loss_gradients_and_predict():
    model = make_model().cuda().train()
    x = torch.randn(4, 3, 32, 32, device='cuda', requires_grad=True)
    samples = [s.to('cuda') for s in make_samples([1, 2, 3, 4])]
    loss = model(x, samples, mode='loss')['loss_cls']
    loss.backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    model.eval()
    with torch.no_grad():
        preds = model(x, samples, mode='predict')
    assert preds[0].pred_score.device.type == 'cuda'
    assert preds[0].pred_score.sum().item() == pytest.approx(1.0, abs=1e-5)
