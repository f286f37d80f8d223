"""Per-image outcomes of an evaluation: what any score can be recomputed from.

For every unit the suite keeps, next to ``robustness.json``, a compact ``.npz`` of
per-image results, so that its score can be recomputed on any multiset of its images
(a bootstrap replicate, a subset):

* ``accuracy`` (mmgat's ``Accuracy``): ``correct_top<k> [N]`` bool per image;
* ``iou`` (mmseg's ``IoUMetric``): ``intersect``, ``union``, ``pred_area``,
  ``label_area`` ``[N, C]`` pixel counts per image and class;
* ``coco`` (mmdet's ``CocoMetric``): the per-image matches of
  :mod:`mmgat.evaluation.coco_matches`;

plus ``image_index [N]`` (the images' indices in their split, in evaluation order),
``split``, ``split_size``. :class:`OutcomeRecorder` takes them from the evaluator
while it scores (the metrics' per-image ``results`` before they are reduced; the
matches of the ``COCOeval`` the metric runs); :func:`weighted_scores` recomputes a
score for weighted images.
"""
import os
import os.path as osp
import tempfile
from typing import Dict, List, Optional, Sequence

import numpy as np

from .coco_matches import ap_setting, average_precision, recording_coco_eval

#: The kinds of outcomes, by the metric that produced them.
KINDS = ('accuracy', 'iou', 'coco')


def _metric_kind(metric) -> Optional[str]:
    names = {cls.__name__ for cls in type(metric).__mro__}
    if 'CocoMetric' in names:
        return 'coco'
    if 'IoUMetric' in names:
        return 'iou'
    if type(metric).__module__.startswith('mmgat') and 'Accuracy' in names:
        return 'accuracy'
    return None


class OutcomeRecorder:
    """Keeps the per-image outcomes of one evaluation.

    Use as: ``recorder.watch(evaluator)`` before ``evaluator.evaluate`` and
    ``with recorder.scoring(): evaluator.evaluate(n)``; then :meth:`outcomes`.

    Args:
        split (str): The split evaluated.
        split_size (int): Its number of images.
        image_index (Sequence[int]): The evaluated images' indices in the split, in
            the order the evaluator saw them.
        img_ids (Sequence[int], optional): Their COCO image ids (detection).
    """

    def __init__(self, split: str, split_size: int, image_index: Sequence[int],
                 img_ids: Optional[Sequence[int]] = None) -> None:
        self.split = split
        self.split_size = int(split_size)
        self.image_index = np.asarray(image_index, dtype=np.int64)
        self.img_ids = None if img_ids is None else list(img_ids)
        self._results: Dict[str, list] = {}
        self._coco: List[tuple] = []  # (matches, seconds) per COCOeval run
        self.error: Optional[str] = None

    def watch(self, evaluator) -> None:
        """Copy the per-image results each supported metric scores (the list its
        ``compute_metrics`` gets: under DDP, every rank's, gathered on rank 0)."""
        for metric in evaluator.metrics:
            kind = _metric_kind(metric)
            if kind not in ('accuracy', 'iou'):
                continue
            compute = metric.compute_metrics

            def recording(results, _compute=compute, _kind=kind):
                self._results.setdefault(_kind, list(results))
                return _compute(results)

            metric.compute_metrics = recording

    def scoring(self):
        """Context for ``evaluator.evaluate``: records the COCO matches."""
        return recording_coco_eval(self._coco)

    @property
    def seconds(self) -> float:
        """Time spent taking the COCO matches out of COCOeval."""
        return float(sum(seconds for _, seconds in self._coco))

    def outcomes(self) -> Optional[dict]:
        """The outcome arrays (see the module docstring), or None (``error`` says why)."""
        base = dict(split=np.asarray(self.split), split_size=np.asarray(self.split_size),
                    image_index=self.image_index)
        try:
            if self._coco:
                return dict(base, kind=np.asarray('coco'), **self._coco_arrays())
            if 'iou' in self._results:
                return dict(base, kind=np.asarray('iou'), **self._iou_arrays())
            if 'accuracy' in self._results:
                return dict(base, kind=np.asarray('accuracy'), **self._accuracy_arrays())
        except (ValueError, KeyError, TypeError, IndexError) as e:
            self.error = f'per-image outcomes not kept: {e}'
            return None
        self.error = 'per-image outcomes not kept: no supported metric (mmgat Accuracy, ' \
            'mmseg IoUMetric, mmdet CocoMetric) in the evaluator'
        return None

    def _check_count(self, count: int, what: str) -> None:
        if count != len(self.image_index):
            raise ValueError(f'{what} has {count} images, {len(self.image_index)} were '
                             'evaluated')

    def _accuracy_arrays(self) -> dict:
        results = self._results['accuracy']
        self._check_count(len(results), 'the accuracy metric')
        ks = sorted(results[0]) if results else [1]
        return {f'correct_top{k}': np.asarray([bool(r[k]) for r in results])
                for k in ks}

    def _iou_arrays(self) -> dict:
        results = self._results['iou']
        self._check_count(len(results), 'the IoU metric')
        fields = ('intersect', 'union', 'pred_area', 'label_area')
        out = {}
        for j, field in enumerate(fields):
            out[field] = np.stack([np.asarray(_numpy(r[j]), dtype=np.float64)
                                   for r in results])
        return out

    def _coco_arrays(self) -> dict:
        runs = [matches for matches, _ in self._coco]
        matches = next((m for m in runs if str(m['iou_type']) == 'bbox'), runs[0])
        if self.img_ids is None:
            raise ValueError('the COCO image ids of the evaluated images are unknown')
        position = {img_id: i for i, img_id in enumerate(self.img_ids)}
        missing = [i for i in matches['img_ids'].tolist() if i not in position]
        if missing or len(matches['img_ids']) != len(self.img_ids):
            raise ValueError(f'COCOeval scored images {missing[:5]} that were not '
                             'evaluated' if missing else
                             f"COCOeval scored {len(matches['img_ids'])} images, "
                             f'{len(self.img_ids)} were evaluated')
        # Reorder per-image arrays from COCOeval's (sorted ids) to evaluation order.
        to_eval = np.asarray([position[i] for i in matches['img_ids'].tolist()],
                             dtype=np.int64)
        out = dict(matches)
        out['det_image'] = to_eval[matches['det_image']] if len(to_eval) else \
            matches['det_image']
        gt = np.zeros_like(matches['gt_count'])
        gt[to_eval] = matches['gt_count']
        out['gt_count'] = gt
        out['img_ids'] = np.asarray(self.img_ids, dtype=np.int64)
        # The detections stay in COCOeval's order (category, image by id, rank):
        # average_precision's stable sort breaks score ties in that order, as
        # pycocotools does.
        return out


def _numpy(value):
    return value.detach().cpu().numpy() if hasattr(value, 'detach') else value


# ------------------------------------------------------------------ files
def save_outcomes(path: str, outcomes: dict) -> None:
    """Write an outcome ``.npz`` atomically (a killed run leaves no half file)."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix='.npz.tmp')
    os.close(fd)
    try:
        with open(tmp, 'wb') as f:
            np.savez_compressed(f, **outcomes)
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


def load_outcomes(path: str) -> Optional[dict]:
    """The arrays of an outcome file, or None when it is missing or unreadable."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except (OSError, ValueError, KeyError, EOFError):
        return None


# ------------------------------------------------------------------ scores
def weighted_scores(outcomes: dict, metric_key: str, scale: float,
                    weights: np.ndarray) -> np.ndarray:
    """The unit's score (0-1 scale, like ``robustness.json``) for each row of
    ``weights`` (``[R, N]`` multiplicities of the unit's images, in ``image_index``
    order); NaN where it is undefined (no image drawn).

    Raises:
        ValueError: the metric cannot be recomputed from these outcomes.
    """
    if 'constant' in outcomes:  # e.g. no detection left: the score is that everywhere
        return np.full(len(weights), float(outcomes['constant']))
    kind = str(outcomes['kind'])
    weights = np.asarray(weights, dtype=np.float64)
    name = metric_key.split('/')[-1]
    with np.errstate(invalid='ignore', divide='ignore'):
        if kind == 'accuracy':
            field = f'correct_{name}'
            if field not in outcomes:
                raise ValueError(f'no per-image {name} in the accuracy outcomes')
            total = weights.sum(axis=1)
            return (weights @ outcomes[field].astype(np.float64)) / np.where(
                total > 0, total, np.nan)
        if kind == 'iou':
            inter = weights @ outcomes['intersect']
            if name == 'mIoU':
                per_class = inter / (weights @ outcomes['union'])
            elif name == 'mAcc':
                per_class = inter / (weights @ outcomes['label_area'])
            elif name == 'aAcc':
                return (inter.sum(1) / (weights @ outcomes['label_area']).sum(1)
                        * 100 * scale)
            else:
                raise ValueError(f'{metric_key} cannot be recomputed from IoU counts '
                                 '(mIoU, mAcc, aAcc can)')
            defined = np.isfinite(per_class)
            count = defined.sum(1)
            total = np.where(defined, per_class, 0).sum(1)
            # mmseg reports percent; the suite's scale brings it to 0-1.
            return np.where(count > 0, total / np.maximum(count, 1), np.nan) * 100 * scale
        if kind == 'coco':
            setting = ap_setting(metric_key, outcomes['max_dets'])
            if setting is None:
                raise ValueError(f'{metric_key} cannot be recomputed from per-image '
                                 'matches (mAP, mAP_50, mAP_75 can)')
            iou, max_det = setting
            return average_precision(outcomes, weights, iou=iou, max_det=max_det) * scale
    raise ValueError(f'unknown outcome kind {kind!r}')


__all__ = ['OutcomeRecorder', 'save_outcomes', 'load_outcomes', 'weighted_scores',
           'KINDS']
