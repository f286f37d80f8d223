"""Top-k accuracy of image classification."""
from typing import Any, List, Optional, Sequence, Union

import torch
from mmengine.evaluator import BaseMetric

from mmgat.registry import METRICS


def _field(sample: Any, key: str) -> Any:
    # The evaluator hands dicts (``ClsDataSample.to_dict()``); a direct call may
    # hand ClsDataSample objects. Both support ``get``.
    return sample.get(key, None)


@METRICS.register_module()
class Accuracy(BaseMetric):
    """Top-k classification accuracy, as a fraction in [0, 1].

    A prediction is correct at ``k`` when the ground-truth class is among the
    ``k`` classes of highest ``pred_score``. With ``topk=(1, 5)`` the results
    are ``{'top1': ..., 'top5': ...}``, logged as ``accuracy/top1`` and
    ``accuracy/top5``. Top-1 falls back to ``pred_label`` for samples
    without ``pred_score``; top-k with ``k > 1`` needs ``pred_score``.

    Args:
        topk (int or Sequence[int]): The k values. Each must be > 0 and at most
            the number of classes (checked on the first scores seen).
            Defaults to ``(1, )``.
        collect_device (str): Device used to gather results across ranks,
            'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): Prefix of the metric names. Defaults to
            ``'accuracy'``.

    Example:
        >>> val_evaluator = dict(type='Accuracy', topk=(1, 5))
    """

    default_prefix: Optional[str] = 'accuracy'

    def __init__(self,
                 topk: Union[int, Sequence[int]] = (1, ),
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        ks = tuple(topk) if isinstance(topk, (tuple, list)) else (topk, )
        if not ks:
            raise ValueError('Accuracy: topk must name at least one k')
        for k in ks:
            if isinstance(k, bool) or not isinstance(k, int) or k <= 0:
                raise ValueError(f'Accuracy: every topk must be a positive int, got {topk!r}')
        self.topk = tuple(sorted(set(ks)))

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Store, per sample, whether its label is within each top-k."""
        for sample in data_samples:
            gt = _field(sample, 'gt_label')
            if gt is None:
                raise ValueError('Accuracy: a data sample has no gt_label')
            gt = int(torch.as_tensor(gt).reshape(-1)[0])
            score = _field(sample, 'pred_score')
            result = {}
            if score is not None:
                score = torch.as_tensor(score).detach().reshape(-1).float().cpu()
                num_classes = score.numel()
                if self.topk[-1] > num_classes:
                    raise ValueError(
                        f'Accuracy: topk={self.topk} but pred_score has only '
                        f'{num_classes} classes; every k must be <= {num_classes}')
                top = score.topk(self.topk[-1]).indices
                for k in self.topk:
                    result[k] = bool((top[:k] == gt).any())
            else:
                pred = _field(sample, 'pred_label')
                if pred is None:
                    raise ValueError('Accuracy: a data sample has neither pred_score '
                                     'nor pred_label')
                if self.topk != (1, ):
                    raise ValueError(f'Accuracy: topk={self.topk} needs pred_score; '
                                     'the data samples only hold pred_label')
                result[1] = int(torch.as_tensor(pred).reshape(-1)[0]) == gt
            self.results.append(result)

    def compute_metrics(self, results: List[dict]) -> dict:
        if not results:
            raise ValueError('Accuracy: no samples were evaluated')
        return {f'top{k}': sum(r[k] for r in results) / len(results)
                for k in self.topk}
