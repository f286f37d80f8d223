"""Per-image detection matches (pycocotools' ``evalImgs``) and COCO AP recomputed from them.

COCO AP is not a mean over images, but it is a function of each image's *matches*:
for every (image, category), the scores of its detections, whether each matched a
ground truth at each IoU threshold, which are ignored, and how many ground truths
count. :func:`matches_from_coco_eval` keeps exactly that (area range ``all``), and
:func:`average_precision` recomputes ``COCOeval.accumulate`` + ``summarize`` from it
for any multiset of images given as per-image weights (a bootstrap replicate): equal
to pycocotools on the full set (weights 1) up to float rounding.

The matches come from the very ``COCOeval`` that mmdet's ``CocoMetric`` runs:
:func:`recording_coco_eval` swaps the class it instantiates for a subclass that hands
its per-image results over after ``evaluate()``; nothing else of the metric changes.
"""
import contextlib
import time
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

#: Metric name suffix (``coco/bbox_mAP_50`` -> ``mAP_50``) -> (IoU threshold or None
#: for the mean over thresholds, max detections; -1: the largest maxDets), as
#: ``COCOeval.summarize`` has them: AP at 100 detections, AP50 / AP75 at the largest
#: maxDets (mmdet sets maxDets to its proposal_nums, 100 / 300 / 1000).
AP_KEYS = {'mAP': (None, 100), 'mAP_50': (0.5, -1), 'mAP_75': (0.75, -1)}
#: Elements of one replicate chunk (replicates x detections x thresholds).
CHUNK_ELEMENTS = 4_000_000


@contextlib.contextmanager
def recording_coco_eval(store: List[Tuple[dict, float]]
                        ) -> Iterator[List[Tuple[dict, float]]]:
    """While active, every ``COCOeval`` of mmdet's ``CocoMetric`` appends
    ``(matches_from_coco_eval(itself), seconds it took)`` to ``store`` after
    ``evaluate()``."""
    try:
        import mmdet.evaluation.metrics.coco_metric as coco_metric
    except ImportError:  # no mmdet: nothing to record
        yield store
        return
    base = coco_metric.COCOeval

    class RecordingCOCOeval(base):

        def evaluate(self, *args, **kwargs):
            out = super().evaluate(*args, **kwargs)
            start = time.perf_counter()
            matches = matches_from_coco_eval(self)
            store.append((matches, time.perf_counter() - start))
            return out

    coco_metric.COCOeval = RecordingCOCOeval
    try:
        yield store
    finally:
        coco_metric.COCOeval = base


def matches_from_coco_eval(coco_eval) -> Dict[str, np.ndarray]:
    """The per-image matches of an evaluated ``COCOeval`` (area range ``all``).

    Returns arrays: ``img_ids [I]`` (the evaluation's images, sorted as pycocotools
    keeps them), ``cat_ids [K]``; per detection ``det_image`` (index into img_ids),
    ``det_cat`` (index into cat_ids), ``det_score``, ``det_rank`` (its rank by score
    in its image and category), ``det_match [D, T]`` and ``det_ignore [D, T]`` (bool);
    ``gt_count [I, K]`` (ground truths not ignored); ``iou_thresholds [T]``,
    ``rec_thresholds``, ``max_dets``, and ``iou_type``.
    """
    params = coco_eval.params
    img_ids = list(params.imgIds)
    cat_ids = list(params.catIds) if params.useCats else [-1]
    num_img, num_area = len(img_ids), len(params.areaRng)
    area = list(params.areaRngLbl).index('all')
    num_thr = len(params.iouThrs)
    gt_count = np.zeros((num_img, len(cat_ids)), dtype=np.int64)
    images, cats, scores, ranks, matched, ignored = [], [], [], [], [], []
    for k in range(len(cat_ids)):
        for i in range(num_img):
            e = coco_eval.evalImgs[k * num_area * num_img + area * num_img + i]
            if e is None:
                continue
            gt_count[i, k] = int(np.count_nonzero(np.asarray(e['gtIgnore']) == 0))
            n = len(e['dtScores'])
            if not n:
                continue
            images.append(np.full(n, i, dtype=np.int64))
            cats.append(np.full(n, k, dtype=np.int64))
            scores.append(np.asarray(e['dtScores'], dtype=np.float64))
            ranks.append(np.arange(n, dtype=np.int64))
            matched.append(np.asarray(e['dtMatches']).reshape(num_thr, n).T != 0)
            ignored.append(np.asarray(e['dtIgnore']).reshape(num_thr, n).T.astype(bool))

    def cat(parts, dtype, width=None):
        if parts:
            return np.concatenate(parts)
        return np.zeros((0, width) if width else 0, dtype=dtype)

    return dict(
        iou_type=np.asarray(str(params.iouType)),
        img_ids=np.asarray(img_ids, dtype=np.int64),
        cat_ids=np.asarray(cat_ids, dtype=np.int64),
        det_image=cat(images, np.int64), det_cat=cat(cats, np.int64),
        det_score=cat(scores, np.float64), det_rank=cat(ranks, np.int64),
        det_match=cat(matched, bool, num_thr), det_ignore=cat(ignored, bool, num_thr),
        gt_count=gt_count,
        iou_thresholds=np.asarray(params.iouThrs, dtype=np.float64),
        rec_thresholds=np.asarray(params.recThrs, dtype=np.float64),
        max_dets=np.asarray(params.maxDets, dtype=np.int64))


def ap_setting(name: str, max_dets: Sequence[int]):
    """``(iou threshold or None, max detections)`` of an AP metric name such as
    ``'coco/bbox_mAP_50'``; None for names it cannot recompute (area ranges, AR)."""
    suffix = name.split('/')[-1]
    for prefix in ('bbox_', 'segm_'):
        if suffix.startswith(prefix):
            suffix = suffix[len(prefix):]
    if suffix not in AP_KEYS:
        return None
    iou, max_det = AP_KEYS[suffix]
    max_dets = list(max_dets)
    if max_det == -1:
        max_det = max_dets[-1]
    elif max_det not in max_dets:
        return None
    return iou, int(max_det)


def average_precision(matches: Dict[str, np.ndarray], weights: np.ndarray,
                      iou: Optional[float] = None, max_det: int = 100) -> np.ndarray:
    """COCO AP on weighted images, one value per row of ``weights``.

    Args:
        matches: :func:`matches_from_coco_eval`.
        weights: ``[R, I]`` (or ``[I]``) non-negative integer multiplicities of the
            images (``img_ids`` order): how often each image counts.
        iou: One IoU threshold (0.5: AP50), or None for the mean over all thresholds.
        max_det: Detections per image and category kept (by score).

    Returns:
        ``[R]`` float64 (``[]`` -> a scalar); NaN where no category has a ground
        truth (pycocotools' -1).
    """
    weights = np.asarray(weights, dtype=np.float64)
    single = weights.ndim == 1
    weights = np.atleast_2d(weights)
    thresholds = matches['iou_thresholds']
    if iou is None:
        t_index = np.arange(len(thresholds))
    else:
        t_index = np.flatnonzero(np.isclose(thresholds, iou))
        if not t_index.size:
            raise ValueError(f'IoU threshold {iou} was not evaluated ({thresholds})')
    num_cat = len(matches['cat_ids'])
    keep = matches['det_rank'] < max_det
    det_cat, det_image = matches['det_cat'][keep], matches['det_image'][keep]
    score = matches['det_score'][keep]
    # pycocotools sorts a category's detections (in image order) by score with a
    # stable sort: ties keep image order.
    order = np.lexsort((-score, det_cat))
    det_cat, det_image = det_cat[order], det_image[order]
    match = matches['det_match'][keep][order][:, t_index]
    ignore = matches['det_ignore'][keep][order][:, t_index]
    starts = np.searchsorted(det_cat, np.arange(num_cat), side='left')
    npig = weights @ matches['gt_count'].astype(np.float64)  # [R, K]
    rec = matches['rec_thresholds']
    # Only true positives matter: precision peaks at them, and the recall thresholds
    # are first reached at them. Per IoU threshold: their positions, and the ignored
    # detections' (which count neither as true nor as false positives).
    tp_pos = [np.flatnonzero(match[:, t] & ~ignore[:, t]) for t in range(len(t_index))]
    ig_pos = [np.flatnonzero(ignore[:, t]) for t in range(len(t_index))]
    per_replicate = len(det_cat) + sum(map(len, tp_pos)) + num_cat * len(rec)
    chunk = max(1, CHUNK_ELEMENTS // max(1, per_replicate))
    out = np.empty(len(weights), dtype=np.float64)
    for begin in range(0, len(weights), chunk):
        rows = slice(begin, begin + chunk)
        det_weight = weights[rows][:, det_image]
        # cumulative weight within each category: a cumsum minus its value before
        # the category's first detection
        seen = _segment_cumsum(det_weight, det_cat, starts)
        ap = np.zeros((det_weight.shape[0], len(t_index), num_cat))
        for t in range(len(t_index)):
            ap[:, t] = _threshold_ap(det_weight, seen, det_cat, starts, tp_pos[t],
                                     ig_pos[t], npig[rows], rec)
        counted = np.broadcast_to((npig[rows] > 0)[:, None, :], ap.shape)
        total = np.where(counted, ap, 0.0).sum(axis=(1, 2))
        count = counted.sum(axis=(1, 2))
        out[rows] = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return out[0] if single else out


def _segment_cumsum(values: np.ndarray, segment: np.ndarray, starts: np.ndarray
                    ) -> np.ndarray:
    """Cumulative sums along axis 1 restarted at each segment (``segment`` sorted)."""
    total = np.cumsum(values, axis=1)
    if not total.shape[1]:
        return total
    before = np.concatenate([np.zeros((len(total), 1)), total], axis=1)
    return total - before[:, starts[segment]]


def _threshold_ap(det_weight, seen, det_cat, starts, tp_pos, ig_pos, npig, rec
                  ) -> np.ndarray:
    """``[R, K]`` AP per category at one IoU threshold (pycocotools' accumulate)."""
    num_rep, num_cat = npig.shape
    if not len(tp_pos):
        return np.zeros((num_rep, num_cat))
    cat = det_cat[tp_pos]
    tp = _segment_cumsum(det_weight[:, tp_pos], cat, np.searchsorted(cat, np.arange(
        num_cat)))
    counted = seen[:, tp_pos]  # detections so far, minus the ignored ones
    if len(ig_pos):
        ig_cum = _segment_cumsum(det_weight[:, ig_pos], det_cat[ig_pos], np.searchsorted(
            det_cat[ig_pos], np.arange(num_cat)))
        # the ignored detections of the same category up to each true positive
        upto = np.searchsorted(ig_pos, tp_pos, side='right') - 1
        same = (upto >= 0) & (det_cat[ig_pos][np.maximum(upto, 0)] == cat)
        counted = counted - np.where(same, ig_cum[:, np.maximum(upto, 0)], 0.0)
    precision = tp / (counted + np.spacing(1))  # = tp / (tp + fp + eps)
    # Non-increasing precision (max over higher recalls) within a category: a reverse
    # running max, restarted per category by an offset above every later category.
    offset = (2.0 * (num_cat - cat))[None]
    interp = np.maximum.accumulate((precision + offset)[:, ::-1], axis=1)[:, ::-1] - offset
    # The first true positive whose recall tp / npig reaches each recall threshold,
    # found on integers (exact): the least count m with float(m / npig) >= threshold.
    npig_safe = np.where(npig > 0, npig, 1.0)[:, :, None]  # [R, K, 1]
    need = np.ceil(rec[None, None] * npig_safe)
    need = np.where((need - 1) / npig_safe >= rec, need - 1, need)
    need = np.where(need / npig_safe < rec, need + 1, need)  # [R, K, Q]
    big = float(max(need.max(initial=0), tp.max(initial=0)) + 2)
    group = np.arange(num_rep)[:, None] * num_cat  # keys (replicate, category) x tp
    keys = np.rint(tp) + (group + cat[None]) * big
    queries = need + (group + np.arange(num_cat)[None])[..., None] * big
    flat = np.searchsorted(keys.ravel(), queries.ravel(), side='left')
    row_start = (np.arange(num_rep) * len(tp_pos))[:, None, None]
    pos = flat.reshape(queries.shape) - row_start
    cat_end = np.searchsorted(cat, np.arange(num_cat), side='right')
    valid = pos < cat_end[None, :, None]
    rows = np.broadcast_to(np.arange(num_rep)[:, None, None], pos.shape)
    picked = np.where(valid, interp[rows, np.clip(pos, 0, len(tp_pos) - 1)], 0.0)
    return picked.mean(axis=2)


__all__ = ['recording_coco_eval', 'matches_from_coco_eval', 'average_precision',
           'ap_setting', 'AP_KEYS']
