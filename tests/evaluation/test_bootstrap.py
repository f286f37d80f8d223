"""Bootstrap intervals and scores recomputed from per-image outcomes.

COCO AP from stored matches is checked against pycocotools itself (full set and a set
with a duplicated image), mIoU against mmseg's IoUMetric, and the percentile interval's
coverage on a problem whose answer is known.
"""
import copy

import numpy as np
import pytest

from mmgat.evaluation.bootstrap import (bootstrap_weights, excludes_zero,
                                        percentile_interval)
from mmgat.evaluation.coco_matches import (ap_setting, average_precision,
                                           matches_from_coco_eval)
from mmgat.evaluation.outcomes import weighted_scores


def test_weights_are_multinomial_and_deterministic():
    w = bootstrap_weights(37, 200, seed=3, split='val')
    assert w.shape == (200, 37) and (w.sum(axis=1) == 37).all() and (w >= 0).all()
    assert (w == bootstrap_weights(37, 200, seed=3, split='val')).all()
    assert not (w == bootstrap_weights(37, 200, seed=4, split='val')).all()
    assert not (w == bootstrap_weights(37, 200, seed=3, split='val_ood')).all()
    # every image is drawn about once per replicate on average
    assert abs(w.mean() - 1) < 1e-12 and 0.5 < w.var() < 1.5


def test_interval_covers_a_known_accuracy_at_about_the_nominal_rate():
    """A coin-flip predictor right with probability 0.7 on 100 images: over 300
    independent test sets the 95% interval must contain 0.7 about 95% of the time."""
    rng = np.random.default_rng(0)
    true, n, trials, covered = 0.7, 100, 300, 0
    for trial in range(trials):
        outcomes = dict(kind=np.asarray('accuracy'), split=np.asarray('val'),
                        split_size=np.asarray(n), image_index=np.arange(n),
                        correct_top1=rng.random(n) < true)
        reps = weighted_scores(outcomes, 'accuracy/top1', 1.0,
                               bootstrap_weights(n, 1000, seed=trial))
        low, high = percentile_interval(reps)
        covered += low <= true <= high
    rate = covered / trials
    # the binomial sd of the rate is 1.3 points; the percentile bootstrap runs a
    # little below nominal at n=100
    assert 0.89 <= rate <= 0.99, rate


def test_interval_width_matches_the_binomial_standard_error():
    n = 400
    correct = np.arange(n) % 2 == 0  # p = 0.5
    outcomes = dict(kind=np.asarray('accuracy'), split=np.asarray('val'),
                    split_size=np.asarray(n), image_index=np.arange(n),
                    correct_top1=correct)
    low, high = percentile_interval(weighted_scores(
        outcomes, 'accuracy/top1', 1.0, bootstrap_weights(n, 2000)))
    se = np.sqrt(0.25 / n)
    assert (high - low) / 2 == pytest.approx(1.96 * se, rel=0.1)


def test_undefined_replicates_and_zero_exclusion():
    assert percentile_interval([np.nan] * 10) is None
    assert percentile_interval([1.0] * 90 + [np.nan] * 10) is None  # > 5% undefined
    assert percentile_interval([1.0] * 99 + [np.nan]) == (1.0, 1.0)
    assert excludes_zero((0.01, 0.2)) and excludes_zero((-0.3, -0.1))
    assert not excludes_zero((-0.01, 0.2)) and not excludes_zero(None)


# ------------------------------------------------------------------ COCO
def coco_problem(seed=0, num_images=30, num_cats=4, ties=True):
    """Ground truth and detections with crowd boxes, an empty category, images
    without detections and (optionally) tied scores."""
    rng = np.random.default_rng(seed)
    images = [dict(id=i + 1, width=200, height=200) for i in range(num_images)]
    cats = [dict(id=c + 1, name=f'c{c}') for c in range(num_cats + 1)]  # last: no gt
    anns, dets, ann_id = [], [], 1
    for img in images:
        for _ in range(rng.integers(0, 5)):
            x, y = rng.uniform(0, 150, 2)
            w, h = rng.uniform(8, 50, 2)
            cat = int(rng.integers(1, num_cats + 1))
            anns.append(dict(id=ann_id, image_id=img['id'], category_id=cat,
                             bbox=[x, y, w, h], area=w * h,
                             iscrowd=int(rng.random() < 0.1)))
            ann_id += 1
            if rng.random() < 0.8:  # a detection near it
                jitter = rng.normal(0, 6, 4)
                dets.append(dict(image_id=img['id'], category_id=cat,
                                 bbox=[x + jitter[0], y + jitter[1], max(2, w + jitter[2]),
                                       max(2, h + jitter[3])],
                                 score=float(rng.random())))
        if img['id'] % 7 == 0:
            continue
        for _ in range(rng.integers(0, 4)):  # false positives
            x, y = rng.uniform(0, 150, 2)
            dets.append(dict(image_id=img['id'], category_id=int(rng.integers(1, num_cats + 2)),
                             bbox=[x, y, 20.0, 20.0], score=float(rng.random())))
    if ties:
        for det in dets[::5]:
            det['score'] = 0.5
    return dict(images=images, categories=cats, annotations=anns), dets


def run_cocoeval(gt_data, dets, max_dets=(100, 300, 1000)):
    import contextlib
    import io
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = copy.deepcopy(gt_data)
        gt.createIndex()
        dt = gt.loadRes(copy.deepcopy(dets))
        ev = COCOeval(gt, dt, 'bbox')
        ev.params.maxDets = list(max_dets)  # as mmdet's CocoMetric sets them
        ev.evaluate()
        matches = matches_from_coco_eval(ev)
        ev.accumulate()
        ev.summarize()
    return ev.stats, matches


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_ap_from_matches_equals_pycocotools_on_the_full_set(seed):
    stats, matches = run_cocoeval(*coco_problem(seed))
    ones = np.ones(len(matches['img_ids']))
    for name, index in (('coco/bbox_mAP', 0), ('coco/bbox_mAP_50', 1),
                        ('coco/bbox_mAP_75', 2)):
        iou, max_det = ap_setting(name, matches['max_dets'])
        ours = average_precision(matches, ones, iou=iou, max_det=max_det)
        assert abs(ours - stats[index]) < 1e-9, (name, ours, stats[index])
    assert ap_setting('coco/bbox_mAP_s', matches['max_dets']) is None


def test_ap_at_few_detections_per_image():
    gt_data, dets = coco_problem(4)
    stats, matches = run_cocoeval(gt_data, dets, max_dets=(1, 2, 3))
    ours = average_precision(matches, np.ones(len(matches['img_ids'])), iou=0.5,
                             max_det=3)
    assert abs(ours - stats[1]) < 1e-9


def test_weights_equal_duplicated_images():
    """Weight 2 on an image scores like a data set holding that image twice, weight 0
    like one without it (untied scores: pycocotools breaks ties by image order)."""
    gt_data, dets = coco_problem(5, ties=False)
    _, matches = run_cocoeval(gt_data, dets)
    weights = np.ones(len(matches['img_ids']))
    weights[3], weights[10], weights[11] = 2, 0, 3
    ours = average_precision(matches, weights, iou=0.5, max_det=1000)

    dup_gt, dup_dets = copy.deepcopy(gt_data), []
    by_image = {img['id']: img for img in gt_data['images']}
    next_img, next_ann = 10_000, 10_000
    keep = {int(i): int(w) for i, w in zip(matches['img_ids'], weights)}
    dup_gt['images'] = [img for img in gt_data['images'] if keep[img['id']] > 0]
    dup_gt['annotations'] = [a for a in gt_data['annotations'] if keep[a['image_id']] > 0]
    dup_dets = [d for d in dets if keep[d['image_id']] > 0]
    for img_id, count in keep.items():
        for _ in range(count - 1):
            dup_gt['images'].append(dict(by_image[img_id], id=next_img))
            for ann in gt_data['annotations']:
                if ann['image_id'] == img_id:
                    dup_gt['annotations'].append(dict(ann, id=next_ann, image_id=next_img))
                    next_ann += 1
            dup_dets += [dict(d, image_id=next_img) for d in dets if d['image_id'] == img_id]
            next_img += 1
    stats, _ = run_cocoeval(dup_gt, dup_dets)
    assert abs(ours - stats[1]) < 1e-9


def test_ap_replicates_vectorised_equal_one_at_a_time():
    _, matches = run_cocoeval(*coco_problem(6))
    weights = bootstrap_weights(len(matches['img_ids']), 25, seed=1)
    together = average_precision(matches, weights, iou=None, max_det=100)
    alone = [average_precision(matches, w, iou=None, max_det=100) for w in weights]
    assert np.allclose(together, alone, atol=1e-12)
    assert len(set(np.round(together, 6))) > 5  # the replicates differ


def test_ap_without_ground_truth_is_undefined():
    gt_data, dets = coco_problem(7)
    _, matches = run_cocoeval(gt_data, dets)
    assert np.isnan(average_precision(matches, np.zeros(len(matches['img_ids'])),
                                      iou=0.5, max_det=1000))


# ------------------------------------------------------------------ segmentation
def test_miou_from_counts_equals_mmseg():
    import torch
    from mmseg.evaluation.metrics import IoUMetric
    rng = np.random.default_rng(0)
    metric = IoUMetric(iou_metrics=['mIoU'])
    metric.dataset_meta = dict(classes=[f'c{i}' for i in range(5)])
    num = 12
    for i in range(num):
        label = torch.from_numpy(rng.integers(0, 4, (16, 16)))  # class 4 never in gt
        label[0, :3] = 255  # ignored
        pred = torch.where(torch.from_numpy(rng.random((16, 16)) < 0.6), label,
                           torch.from_numpy(rng.integers(0, 5, (16, 16))))
        pred[pred == 255] = 0
        metric.results.append(metric.intersect_and_union(pred, label, 5, 255))
    counts = list(zip(*[[r[j].numpy() for j in range(4)] for r in metric.results]))
    outcomes = dict(kind=np.asarray('iou'), split=np.asarray('val'),
                    split_size=np.asarray(num), image_index=np.arange(num),
                    intersect=np.stack(counts[0]), union=np.stack(counts[1]),
                    pred_area=np.stack(counts[2]), label_area=np.stack(counts[3]))
    results = list(metric.results)
    expected = metric.compute_metrics(results)
    for key in ('mIoU', 'aAcc'):
        ours = weighted_scores(outcomes, key, 1.0, np.ones((1, num)))[0]
        assert ours == pytest.approx(expected[key], abs=0.005 + 1e-9)  # mmseg rounds
    # a resample: image 2 twice, image 5 left out
    weights = np.ones(num)
    weights[2], weights[5] = 2, 0
    resampled = [results[i] for i in range(num) for _ in range(int(weights[i]))]
    expected = metric.compute_metrics(resampled)
    ours = weighted_scores(outcomes, 'mIoU', 0.01, weights[None])[0]
    assert ours == pytest.approx(expected['mIoU'] / 100, abs=5e-5)


def test_outcomes_refuse_a_metric_they_cannot_recompute():
    outcomes = dict(kind=np.asarray('iou'), split=np.asarray('val'),
                    split_size=np.asarray(2), image_index=np.arange(2),
                    intersect=np.ones((2, 3)), union=np.ones((2, 3)),
                    pred_area=np.ones((2, 3)), label_area=np.ones((2, 3)))
    with pytest.raises(ValueError, match='mFscore cannot be recomputed'):
        weighted_scores(outcomes, 'mFscore', 0.01, np.ones((1, 2)))
