"""Robustness evaluation: suites of attacks, splits and corruptions, their scores
(mPC / rPC, mean over unseen attacks) and reports.

``tools/test.py CONFIG CKPT --robustness SUITE`` runs :class:`RobustnessSuite`;
``tools/report.py`` merges runs (:mod:`mmgat.evaluation.report`). Where things live:

- :mod:`.suite_config` reads and checks a suite file; :mod:`.kinds` holds one file per
  entry kind (registered in ``mmgat.registry.ENTRY_KINDS``);
- :mod:`.robustness_suite` orchestrates a run (resume, saving); :mod:`.subset_loop` is
  the test loop over a subset; :mod:`.results` the records and their merging;
  :mod:`.seen_in_training` which entries a model trained on;
- :mod:`.aggregation` computes the scores, :mod:`.writers` / :mod:`.plots` /
  :mod:`.report` write them.
"""
from . import kinds  # noqa: F401  (registers the entry kinds)
from .aggregation import (TASK_METRICS, mean_performance, relative_performance,
                          resolve_metric, summarize, unseen_mean)
from .kinds import attack_kinds, kind_names
from .robustness_suite import RobustnessSuite, granularity_suite, run_suite
from .seen_in_training import trained_on
from .subset_loop import subset_indices
from .suite_config import Suite, load_suite
from .unit_hash import config_hash

__all__ = ['RobustnessSuite', 'run_suite', 'granularity_suite', 'Suite', 'load_suite',
           'kind_names', 'attack_kinds', 'config_hash', 'subset_indices', 'trained_on',
           'TASK_METRICS', 'mean_performance', 'relative_performance', 'unseen_mean',
           'resolve_metric', 'summarize']
