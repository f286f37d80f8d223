"""The test loop of a suite: one model on a fixed subset of a split, with hooks per batch.

:class:`SubsetTester` builds each split's dataset once, and per call swaps the
pipeline (a corruption, a universal perturbation), builds a fresh evaluator, runs the
model's ``test_step`` on every batch of the subset (with ``before_batch`` /
``after_batch`` callbacks: an attack) and returns the evaluator's metrics.
"""
import contextlib
import copy
import io
import logging
import time
from functools import partial
from typing import Callable, Dict, List, Optional, Tuple

import torch
from mmengine.dataset import Compose
from mmengine.dist import get_dist_info
from mmengine.evaluator import Evaluator
from mmengine.logging import MMLogger
from mmengine.registry import DATASETS, FUNCTIONS

from mmgat.utils.errors import ConfigError
from mmgat.utils.plain_config import to_builtin
from mmgat.utils.ranks import RankFailure, agree_on_failure, rank_shard
from .outcomes import OutcomeRecorder
from .splits import eval_keys

#: How an entry picks its images.
SUBSETS = ('even', 'first')


def subset_indices(total: int, num_images: Optional[int], subset: str = 'even') -> List[int]:
    """The fixed, deterministic subset an entry evaluates.

    ``num_images=None`` or ``>= total``: all images. ``'even'``: ``num_images`` evenly
    spaced images, ``floor(i * total / num_images)`` for ``i < num_images`` (the first
    image always included). ``'first'``: the first ``num_images``.
    """
    if num_images is None or num_images >= total:
        return list(range(total))
    if subset == 'first':
        return list(range(num_images))
    return [i * total // num_images for i in range(num_images)]


@contextlib.contextmanager
def quiet():
    """Silence pycocotools' prints and the metrics' INFO logs during evaluation."""
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        logger.setLevel(level)


def image_ids(dataset, indices) -> Optional[List[int]]:
    """The COCO image ids of ``indices`` (None for datasets without ``img_id``)."""
    if not hasattr(dataset, 'get_data_info'):
        return None
    ids = [dataset.get_data_info(i).get('img_id') for i in indices]
    return None if any(i is None for i in ids) else ids


def restrict_to(evaluator, dataset, indices, ids: Optional[List[int]] = None) -> None:
    """Make COCO-style metrics score only the evaluated images (else every other
    image of the annotation file would count as missed). ``ids``: their
    :func:`image_ids`, when already known."""
    for metric in evaluator.metrics:
        if hasattr(metric, 'img_ids') and hasattr(metric, '_coco_api'):
            metric.img_ids = list(ids) if ids is not None else [
                dataset.get_data_info(i)['img_id'] for i in indices]


#: The key a metric's scoring failure comes back under (see :func:`guard_scoring`).
SCORING_FAILED = 'mmgat_scoring_failed'


def guard_scoring(evaluator) -> list:
    """Make each metric's ``compute_metrics`` return its error instead of raising.

    Rank 0 scores alone and then broadcasts the metrics: raising there would leave the
    other ranks waiting in that broadcast. The error text travels in the metrics
    (:data:`SCORING_FAILED`); the exceptions themselves are appended to the returned
    list (on rank 0) for :func:`raise_scoring_failure`.
    """
    failures = []
    for metric in evaluator.metrics:
        compute = metric.compute_metrics

        def guarded(results, _compute=compute):
            try:
                return _compute(results)
            except Exception as e:  # noqa: BLE001  (re-raised on every rank)
                failures.append(e)
                return {SCORING_FAILED: f'{type(e).__name__}: {e}'}

        metric.compute_metrics = guarded
    return failures


def raise_scoring_failure(metrics: dict, failures: list) -> None:
    """Raise the scoring error (rank 0's own exception; its text elsewhere)."""
    texts = [v for k, v in metrics.items() if k.split('/')[-1] == SCORING_FAILED]
    if failures:
        raise failures[0]
    if texts:
        raise RankFailure(f'scoring failed on rank 0: {texts[0]}')


class SubsetTester:
    """Evaluate ``model`` on subsets of the splits of ``cfg``.

    Args:
        model (nn.Module): The model (eval mode), used as it is.
        cfg (Config): The model's config (dataloaders and evaluators of the splits).
        num_workers (int, optional): Dataloader workers; None: those of each split's
            dataloader in ``cfg``.
    """

    def __init__(self, model, cfg, num_workers: Optional[int] = None) -> None:
        self.model = model
        self.cfg = cfg
        self.num_workers = num_workers
        self._datasets: Dict[str, tuple] = {}
        #: The per-image outcomes of the last :meth:`run` (None: not kept, see
        #: :attr:`last_outcome_error`).
        self.last_outcomes: Optional[dict] = None
        self.last_outcome_error: Optional[str] = None
        self.last_outcome_seconds = 0.0

    def dataset(self, split: str):
        """The split's dataset (built once) and its dataloader config."""
        if split not in self._datasets:
            loader_key = eval_keys(split)[0]
            loader_cfg = self.cfg.get(loader_key)
            if loader_cfg is None:
                raise ConfigError(f"split '{split}': the config has no '{loader_key}'")
            dataset = DATASETS.build(copy.deepcopy(loader_cfg['dataset']))
            if hasattr(dataset, 'full_init'):
                dataset.full_init()
            self._datasets[split] = (dataset, loader_cfg)
        return self._datasets[split]

    def workers_for(self, split: str) -> int:
        """The dataloader workers of an evaluation of ``split``."""
        if self.num_workers is not None:
            return self.num_workers
        return int((self.cfg.get(eval_keys(split)[0]) or {}).get('num_workers', 0))

    def default_batch_size(self, split: str) -> int:
        """The batch size of the split's dataloader in the config."""
        return int((self.cfg.get(eval_keys(split)[0]) or {}).get('batch_size', 1))

    def evaluator_cfg(self, split: str):
        _, key, fallback = eval_keys(split)
        cfg = self.cfg.get(key) or self.cfg.get(fallback)
        if cfg is None:
            raise ConfigError(f"split '{split}': the config has no '{key}'")
        return to_builtin(cfg)

    @staticmethod
    def collate(loader_cfg):
        collate = to_builtin(loader_cfg.get('collate_fn', dict(type='pseudo_collate')))
        kind = collate.pop('type')
        fn = FUNCTIONS.get(kind) if isinstance(kind, str) else kind
        if fn is None:
            raise ConfigError(f'unknown collate_fn {kind!r}')
        return partial(fn, **collate)

    def run(self, split: str, indices: Optional[List[int]], batch_size: int,
            edit: Optional[Callable] = None, before_batch: Optional[Callable] = None,
            after_batch: Optional[Callable] = None,
            progress: Optional[Callable[[int], object]] = None
            ) -> Tuple[Dict[str, float], int]:
        """Test the model on ``indices`` of ``split``; returns ``(metrics, n)``.

        The per-image outcomes of the evaluation are left in :attr:`last_outcomes`
        (:mod:`mmgat.evaluation.outcomes`; on rank 0 only). Under DDP each rank runs
        its share of ``indices`` (:func:`mmgat.utils.ranks.rank_shard`, batches of
        ``batch_size`` per rank) and every rank gets the metrics of all of them.

        Args:
            indices: Image indices (None: all).
            edit: ``pipeline list -> pipeline list`` for this evaluation (the dataset's
                pipeline is swapped and restored afterwards).
            before_batch: ``fn(batch_idx, data_batch)`` called on every batch before
                the model sees it (an attack).
            after_batch: ``fn(batch_idx, data_batch)`` called after every batch's test
                step, also when it raised (removes a feature attack's hook).
            progress: ``fn(num_batches) -> bar`` (``.update(1)``, ``.close()``) or None.
        """
        dataset, loader_cfg = self.dataset(split)
        if indices is None:
            indices = list(range(len(dataset)))
        rank, world_size = get_dist_info()
        original = dataset.pipeline
        if edit is not None:
            dataset.pipeline = Compose(edit(to_builtin(loader_cfg['dataset']['pipeline'])))
        bar = None
        self.last_outcomes, self.last_outcome_error = None, None
        self.last_outcome_seconds = 0.0
        try:
            # This rank's images; the evaluator gathers every rank's results in order.
            loader = torch.utils.data.DataLoader(
                torch.utils.data.Subset(dataset, rank_shard(indices, rank, world_size)),
                batch_size=batch_size, shuffle=False, num_workers=self.workers_for(split),
                collate_fn=self.collate(loader_cfg))
            with quiet():
                evaluator = Evaluator(self.evaluator_cfg(split))
            evaluator.dataset_meta = dataset.metainfo
            ids = image_ids(dataset, indices)
            if len(indices) < len(dataset):
                restrict_to(evaluator, dataset, indices, ids)
            recorder = OutcomeRecorder(split, len(dataset), indices, img_ids=ids)
            bar = progress(len(loader)) if progress is not None else None
            error = None
            try:
                for batch_idx, data_batch in enumerate(loader):
                    try:
                        if before_batch is not None:
                            before_batch(batch_idx, data_batch)
                        with torch.no_grad():
                            outputs = self.model.test_step(data_batch)
                    finally:
                        if after_batch is not None:
                            after_batch(batch_idx, data_batch)
                    evaluator.process(data_samples=outputs, data_batch=data_batch)
                    if bar is not None:
                        bar.update(1)
            except Exception as e:  # noqa: BLE001  (raised below, on every rank)
                error = e
            # Before the evaluator's collective: a rank that failed fails the unit
            # everywhere, instead of leaving the others waiting for its results.
            agree_on_failure(error, 'the evaluation')
            recorder.watch(evaluator)
            failures = guard_scoring(evaluator)
            with quiet(), recorder.scoring():
                metrics = evaluator.evaluate(len(indices))
            raise_scoring_failure(metrics, failures)
            start = time.perf_counter()
            if rank == 0:  # the gathered results are scored (and kept) there
                self.last_outcomes = recorder.outcomes()
                self.last_outcome_error = recorder.error
            self.last_outcome_seconds = recorder.seconds + time.perf_counter() - start
        finally:
            dataset.pipeline = original
            if bar is not None:
                bar.close()
        return {k: float(v) for k, v in metrics.items()}, len(indices)


__all__ = ['SubsetTester', 'subset_indices', 'SUBSETS', 'quiet', 'restrict_to']
