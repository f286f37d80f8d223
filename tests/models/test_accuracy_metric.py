"""Tests of the classification Accuracy metric against hand-computed values."""
import copy

import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.registry import METRICS as ROOT_METRICS
from mmengine.registry import DefaultScope, init_default_scope

from mmgat.models import Accuracy
from mmgat.structures import ClsDataSample


def make_sample(gt, score=None, pred=None):
    sample = ClsDataSample()
    sample.gt_label = gt
    if score is not None:
        sample.pred_score = torch.tensor(score)
    if pred is not None:
        sample.pred_label = pred
    return sample


# 4 samples, 4 classes. Ranking of classes by score per sample:
#   s0: gt 0, ranks [0, 1, 2, 3]        -> top1 yes, top2 yes, top3 yes
#   s1: gt 2, ranks [1, 2, 0, 3]        -> top1 no,  top2 yes, top3 yes
#   s2: gt 3, ranks [0, 1, 2, 3]        -> top1 no,  top2 no,  top3 no
#   s3: gt 1, ranks [3, 2, 1, 0]        -> top1 no,  top2 no,  top3 yes
SAMPLES = [
    (0, [0.70, 0.20, 0.06, 0.04]),
    (2, [0.30, 0.40, 0.35, 0.00]),
    (3, [0.40, 0.30, 0.20, 0.10]),
    (1, [0.05, 0.15, 0.30, 0.50]),
]


def run(metric, samples, as_dict=True):
    metric.process({}, [s.to_dict() if as_dict else s for s in samples])
    return metric.compute_metrics(metric.results)


@pytest.mark.parametrize('as_dict', [True, False])
def test_topk_hand_computed(as_dict):
    samples = [make_sample(gt, score) for gt, score in SAMPLES]
    result = run(Accuracy(topk=(1, 2, 3)), samples, as_dict)
    assert result == pytest.approx({'top1': 0.25, 'top2': 0.5, 'top3': 0.75})
    result = run(Accuracy(topk=4), samples, as_dict)
    assert result == {'top4': 1.0}


def test_int_topk_and_default():
    samples = [make_sample(gt, score) for gt, score in SAMPLES]
    assert run(Accuracy(), samples) == {'top1': 0.25}
    assert run(Accuracy(topk=2), samples) == {'top2': 0.5}


def test_results_accumulate_over_batches():
    metric = Accuracy(topk=(1, 2))
    samples = [make_sample(gt, score) for gt, score in SAMPLES]
    metric.process({}, [s.to_dict() for s in samples[:1]])
    metric.process({}, [s.to_dict() for s in samples[1:]])
    assert metric.compute_metrics(metric.results) == pytest.approx(
        {'top1': 0.25, 'top2': 0.5})


def test_all_right_and_all_wrong():
    right = [make_sample(i, torch.eye(3)[i].tolist()) for i in range(3)]
    wrong = [make_sample(i, torch.eye(3)[(i + 1) % 3].tolist()) for i in range(3)]
    assert run(Accuracy(), right) == {'top1': 1.0}
    assert run(Accuracy(), wrong) == {'top1': 0.0}


def test_label_formats_in_dicts():
    # gt_label as a 0-d tensor, an int or a [1] tensor; scores as a list.
    samples = [dict(gt_label=torch.tensor(1), pred_score=torch.tensor([0.1, 0.9])),
               dict(gt_label=0, pred_score=[0.8, 0.2]),
               dict(gt_label=torch.tensor([1]), pred_score=torch.tensor([0.6, 0.4]))]
    metric = Accuracy()
    metric.process({}, samples)
    assert metric.compute_metrics(metric.results)['top1'] == pytest.approx(2 / 3)


def test_pred_label_only_supports_top1():
    samples = [make_sample(0, pred=0), make_sample(1, pred=0), make_sample(2, pred=2),
               make_sample(3, pred=3)]
    assert run(Accuracy(), samples) == {'top1': 0.75}
    with pytest.raises(ValueError, match='pred_score'):
        run(Accuracy(topk=(1, 2)), samples)


@pytest.mark.parametrize('topk', [0, -1, (1, 0), (), 1.5, (True, )])
def test_invalid_topk(topk):
    with pytest.raises(ValueError, match='topk'):
        Accuracy(topk=topk)


def test_topk_larger_than_num_classes():
    with pytest.raises(ValueError, match='4 classes'):
        run(Accuracy(topk=(1, 5)), [make_sample(gt, score) for gt, score in SAMPLES])


def test_missing_fields_and_no_samples():
    with pytest.raises(ValueError, match='gt_label'):
        Accuracy().process({}, [dict(pred_score=torch.tensor([0.5, 0.5]))])
    with pytest.raises(ValueError, match='pred_label'):
        Accuracy().process({}, [dict(gt_label=0)])
    with pytest.raises(ValueError, match='no samples'):
        Accuracy().compute_metrics([])


def test_through_evaluator_with_prefix():
    # The path the ValLoop uses: Evaluator.process turns samples into dicts.
    evaluator = Evaluator([Accuracy(topk=(1, 3))])
    evaluator.process([make_sample(gt, score) for gt, score in SAMPLES])
    metrics = evaluator.evaluate(len(SAMPLES))
    assert metrics == pytest.approx({'accuracy/top1': 0.25, 'accuracy/top3': 0.75})

    evaluator = Evaluator([Accuracy(prefix='clean')])
    evaluator.process([make_sample(gt, score) for gt, score in SAMPLES])
    assert evaluator.evaluate(len(SAMPLES)) == {'clean/top1': 0.25}


def test_build_from_registry_with_default_scope():
    saved = copy.copy(DefaultScope._instance_dict)
    try:
        init_default_scope('mmgat')
        metric = ROOT_METRICS.build(dict(type='Accuracy', topk=(1, 2)))
    finally:
        DefaultScope._instance_dict = saved
    assert isinstance(metric, Accuracy)
    assert metric.topk == (1, 2)
