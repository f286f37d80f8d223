"""Robustness evaluation: suites of attacks, splits and corruptions, their scores
(mPC / rPC, mean over unseen attacks) and reports.

``tools/test.py CONFIG CKPT --robustness SUITE`` runs :class:`RobustnessSuite`;
``tools/report.py`` merges runs (:mod:`mmgat.evaluation.report`).
"""
from .aggregation import (TASK_METRICS, UNSEEN_KINDS, mean_performance,
                          relative_performance, resolve_metric, summarize, unseen_mean)
from .entries import KINDS, Suite, config_hash, load_suite, subset_indices, trained_on
from .robustness_suite import (RobustnessSuite, granularity_suite, infer_task,
                               run_suite)

__all__ = ['RobustnessSuite', 'run_suite', 'granularity_suite', 'infer_task', 'Suite',
           'load_suite', 'KINDS', 'config_hash', 'subset_indices', 'trained_on',
           'TASK_METRICS', 'UNSEEN_KINDS', 'mean_performance', 'relative_performance',
           'unseen_mean', 'resolve_metric', 'summarize']
