"""Run a robustness suite on one model: every entry, resumable, one model for all.

    python tools/test.py CONFIG CKPT --robustness configs/robustness/unseen_digitscenes.py \\
        --work-dir DIR

:class:`RobustnessSuite` orchestrates: it evaluates a model (built and loaded ONCE) on
every entry of a suite (:mod:`mmgat.evaluation.suite_config`). Each entry's kind
(:mod:`mmgat.evaluation.kinds`) turns it into *units* (one for most kinds; one per
(corruption, severity) and one per decoder layer for the corruption and granularity
kinds), which run through :class:`~mmgat.evaluation.subset_loop.SubsetTester`.

After each unit, ``DIR/robustness.json`` is rewritten atomically. A run started again
with the same ``DIR`` skips every unit whose configuration hash
(:func:`~mmgat.evaluation.unit_hash.config_hash` of its effective settings: attack
config, subset, batch size, generator checkpoint stamp, ...) matches a completed one;
changed and failed units run again. A unit that raises is recorded with
``status='failed'`` and its error, and the suite goes on (``KeyboardInterrupt`` stops
it; what was done stays).

Under DDP (``tools/test.py --launcher``, ``tools/dist_test.sh``) every rank runs the
same units in the same order: the images of each unit are split over the ranks, rank
0 scores them, writes the files and logs, and decides from the JSON what to skip;
a unit that fails on one rank fails on every rank (:mod:`mmgat.utils.ranks`).
"""
import logging
import os.path as osp
import time
import traceback
from typing import Callable, Optional

import numpy as np

from mmengine.logging import print_log
from mmengine.registry import DefaultScope

from mmgat.utils.atomic_write import write_text_atomic
from mmgat.utils.errors import ConfigError, MmgatError
from mmgat.utils.ranks import from_main, is_main, sync
from mmgat.victims import model_task, victim_options_for_pipeline
from .aggregation import (entry_status, resolve_metric, score_from_metrics, summarize,
                          unit_records)
from .bootstrap import percentile_interval
from .intervals import BootstrapWeights, RunReplicates, unit_outcomes
from .kinds import attack_kinds, get_kind
from .outcomes import save_outcomes
from .progress import SuiteProgress
from .results import FORMAT, previous_entries, store_unit
from .seen_in_training import entry_family, trained_on
from .splits import eval_keys
from .subset_loop import SubsetTester, subset_indices
from .suite_config import Suite, load_suite
from .unit_hash import config_hash, file_signature
from .work_dir_lock import WorkDirLock
from .writers import robustness_markdown, write_json_atomic

MAX_ERROR = 600


def _error_text(error: BaseException) -> str:
    text = str(error).strip()
    if 'Original Traceback' in text:  # re-raised from a dataloader worker
        text = text.splitlines()[-1]
    if not isinstance(error, MmgatError):
        text = f'{type(error).__name__}: {text}'
    return text[:MAX_ERROR]


class RobustnessSuite:
    """Evaluate one model on every entry of a suite.

    Args:
        model (nn.Module): The trained model (mmdet / mmseg / mmgat), loaded; it is
            put in eval mode. Built once by the caller and reused for every entry.
        cfg (Config): The model's config: ``test_dataloader`` / ``test_evaluator``
            (val), ``ood_test_dataloader`` / ``ood_test_evaluator`` (val_ood),
            ``train_dataloader`` (universal entries) and ``custom_hooks`` (what the
            model trained on).
        suite (Suite | str | dict): The suite (see :func:`load_suite`).
        work_dir (str): Where ``{name}.json``, ``{name}.md``, the PNG plots and
            universal perturbation files go.
        name (str): Base name of the outputs. Defaults to ``'robustness'``.
        config_path (str, optional), checkpoint (str, optional): Recorded in the
            JSON; the checkpoint's stamp (size, mtime) also keys the resume: results
            of another checkpoint in the same ``work_dir`` are not reused.
        progress (bool): Show progress bars. Defaults to True.
        plot_files (dict, optional): plot kind (``'attacks'``, ``'severity'``,
            ``'granularity'``) -> file name in ``work_dir``; a kind left out is not
            drawn. Defaults to ``{name}_attacks.png`` etc.
        autocast (str, optional): ``'bf16'`` / ``'fp16'``: the attacks' forward
            passes under this autocast (``tools/test.py --amp``); part of every
            attack unit's hash, so float32 results are not reused.

    What the kinds use of it (the run context): :attr:`model`, :attr:`cfg`,
    :attr:`suite`, :attr:`task`, :attr:`generator`, :attr:`work_dir`,
    :attr:`config_path`, :attr:`checkpoint`, :meth:`base_spec`, :meth:`evaluate`,
    :meth:`victim_options`, :meth:`progress_bar` and :meth:`log`.

    Example:
        >>> runner = Runner.from_cfg(cfg)
        >>> runner.load_checkpoint('work_dirs/demo/faster-rcnn_r18/iter_500.pth')
        >>> record = RobustnessSuite(runner.model, cfg,
        ...                          'configs/robustness/unseen_digitscenes.py',
        ...                          'work_dirs/robustness/clean').run()
        >>> record['unseen_mean'], record['mPC'], record['rPC']
    """

    def __init__(self, model, cfg, suite, work_dir: str, name: str = 'robustness',
                 config_path: Optional[str] = None, checkpoint: Optional[str] = None,
                 progress: bool = True, plot_files: Optional[dict] = None,
                 autocast: Optional[str] = None) -> None:
        self.suite = suite if isinstance(suite, Suite) else load_suite(suite)
        self.autocast = autocast
        self.model = model
        self.cfg = cfg
        self.work_dir = work_dir
        self.name = name
        self.config_path = config_path
        self.checkpoint = checkpoint
        self.show_progress = progress
        self.plot_files = dict(attacks=f'{name}_attacks.png',
                               severity=f'{name}_severity.png',
                               granularity=f'{name}_granularity.png') \
            if plot_files is None else dict(plot_files)
        self.json_path = osp.join(work_dir, f'{name}.json')
        self.md_path = osp.join(work_dir, f'{name}.md')
        self.scope = cfg.get('default_scope') if cfg is not None else None
        self.tester = SubsetTester(model, cfg, num_workers=self.suite.num_workers)
        self._progress: Optional[SuiteProgress] = None
        self.entries = {}
        self.task = None
        self.metric = None
        self.generator = None
        self.seen, self.training_attacks = [], []
        self._wall_start = time.perf_counter()
        self._previous_entries, self._finished = {}, set()
        self.bootstrap = BootstrapWeights(**self.suite.bootstrap)
        self.outcome_dir = f'{name}_outcomes'
        self._replicates = {}  # (entry, unit key) -> [R] replicate scores
        self._unit_outcomes = None
        self._outcome_seconds = 0.0

    # ------------------------------------------------------------------ public
    def run(self) -> dict:
        """Run every entry (skipping completed units) and return the record.

        Under DDP every rank calls it (see the module docstring); rank 0 holds the
        work dir's lock and writes, and every rank returns the record (the intervals
        are computed on rank 0 only).
        """
        lock = WorkDirLock(self.work_dir, self.name) if is_main() else None
        refused = None
        if lock is not None:
            try:
                lock.__enter__()
            except ConfigError as e:
                refused = str(e)
        refused = from_main(refused)  # every rank stops with rank 0's reason
        if refused:
            raise ConfigError(refused)
        try:
            with DefaultScope.overwrite_default_scope(self.scope):
                record = self._run()
        finally:
            if lock is not None:
                lock.__exit__(None, None, None)
        sync()  # the files are complete before any rank goes on (or exits)
        return record

    # ------------------------------------------------------------------ the run context
    def base_spec(self, entry: dict) -> dict:
        """The hashed settings every unit of ``entry`` shares."""
        split = entry['split']
        return dict(kind=entry['kind'], split=split, num_images=entry['num_images'],
                    subset=entry['subset'], batch_size=self.batch_size(entry))

    def batch_size(self, entry: dict) -> int:
        """Entry > suite > the config's dataloader of the entry's split."""
        return entry.get('batch_size') or self.suite.batch_size or \
            self.tester.default_batch_size(entry['split'])

    def evaluate(self, entry: dict, desc: str, edit: Optional[Callable] = None,
                 before_batch: Optional[Callable] = None,
                 after_batch: Optional[Callable] = None):
        """The model on the entry's subset of its split; ``(metrics, num_images)``
        (see :meth:`SubsetTester.run` for the callbacks)."""
        split = entry['split']
        dataset, _ = self.tester.dataset(split)
        indices = subset_indices(len(dataset), entry['num_images'], entry['subset'])
        out = self.tester.run(split, indices, self.batch_size(entry), edit=edit,
                              before_batch=before_batch, after_batch=after_batch,
                              progress=lambda total: self.progress_bar(total, desc))
        # A unit's outcomes are those of its last evaluation.
        self._unit_outcomes = (self.tester.last_outcomes, self.tester.last_outcome_error,
                               (split, len(dataset), indices))
        self._outcome_seconds += self.tester.last_outcome_seconds
        return out

    def victim_options(self, entry: dict, options: Optional[dict]) -> dict:
        """Victim options for the entry's split (``gt_frame`` from its pipeline)."""
        loader = self.cfg.get(eval_keys(entry['split'])[0]) or {}
        options = victim_options_for_pipeline(
            self.task, loader.get('dataset', {}).get('pipeline'), options)
        if self.autocast and 'autocast' not in options:
            options = dict(options, autocast=self.autocast)
        return options

    def progress_bar(self, total: int, desc: str):
        """An inner progress bar (``.update(n)``, ``.close()``), or None."""
        return self._progress.inner(total, desc) if self._progress else None

    def log(self, message: str, level=logging.INFO, warning: bool = False) -> None:
        if not is_main():  # the ranks run the same units: rank 0 speaks for all
            return
        print_log(message, logger='current',
                  level=logging.WARNING if warning else level)

    # ------------------------------------------------------------------ the loop
    def _run(self) -> dict:
        start = time.perf_counter()
        self.model.eval()
        self.task = model_task(self.model)
        kept = self.suite.for_task(self.task)
        other = [n for n in self.suite.names if n not in kept.names]
        if other:
            self.log(f'{len(other)} entries are for other tasks than {self.task}, left '
                     f"out: {', '.join(other)}")
            self.suite = kept
        self.metric = resolve_metric(self.task, self.suite.metric)
        self.generator = self.suite.generator_for(self.task)
        self.seen, self.training_attacks = trained_on(self.suite, self.cfg, self.task)
        # What rank 0 finds is what every rank skips.
        previous = from_main(previous_entries(self.json_path, self._model_id(), self.log)
                             if is_main() else None)
        self._previous_entries = previous
        self._finished = set()
        # every entry in suite order; placeholders until it runs
        self.entries = {e['name']: dict(kind=e['kind'], split=e['split'], status='pending')
                        for e in self.suite.entries}
        entries = self.suite.entries
        self.log(f'robustness suite: {len(entries)} entries on a {self.task} model '
                 f"({self.metric['name']}); results in {self.json_path}"
                 + (f"; trained on {', '.join(self.seen)}" if self.seen else ''))
        self._progress = SuiteProgress(len(entries), self.show_progress and is_main())
        self._wall_start = start
        try:
            for index, entry in enumerate(entries):
                self._progress.entry(entry['name'])
                self._run_entry(index, entry, previous.get(entry['name']))
                self._finished.add(entry['name'])
                self._progress.done()
        finally:
            self._progress.close()
        record = self._save(final=True)
        self.log(f"robustness: clean {self._fmt(record['clean'])}, unseen mean "
                 f"{self._fmt(record['unseen_mean'])}, mPC {self._fmt(record['mPC'])}, "
                 f"rPC {self._fmt(record['rPC'])}; {record['total_seconds']:.0f} s of "
                 f'entries, {time.perf_counter() - start:.0f} s this run; '
                 f'{len(record["failed"])} failed -> {self.json_path}')
        return record

    def _run_entry(self, index: int, entry: dict, previous: Optional[dict]) -> None:
        name, kind = entry['name'], entry['kind']
        families, mask = entry_family(entry, self.generator)
        rec = dict(kind=kind, split=entry['split'], family=list(families),
                   seen=name in self.seen)
        if mask:
            rec['mask'] = mask
        self.entries[name] = rec
        try:
            units = get_kind(kind).units(entry, rec, self)
        except Exception as e:  # noqa: BLE001  (recorded; the suite goes on)
            rec.update(status='failed', error=_error_text(e), units={})
            self.log(f'[{index + 1}/{len(self.suite)}] {name} ({kind}): FAILED: '
                     f'{rec["error"]}', warning=True)
            self._debug(e)
            self._save()
            return
        old_units = unit_records(previous) if previous else {}
        multi = not (len(units) == 1 and units[0].key is None)
        if multi:
            rec['units'] = {}
        reused = 0
        for unit in units:
            digest = config_hash(unit.spec)
            old = old_units.get(unit.key)
            if old is not None and old.get('status') == 'done' \
                    and old.get('hash') == digest and self._rescore(old):
                self._reuse_outcomes(entry['name'], unit.key, old)
                store_unit(rec, unit.key, multi, old)
                reused += 1
                continue
            result = self._run_unit(entry, unit, digest, log_failure=multi)
            store_unit(rec, unit.key, multi, result)
            self._save()
        if reused == len(units):
            self._save()
        self._log_entry(index, entry, rec, reused, len(units))

    def _run_unit(self, entry: dict, unit, digest: str, log_failure: bool = True) -> dict:
        desc = entry['name'] + (f' {unit.key}' if unit.key else '')
        start = time.perf_counter()
        info = {}
        self._unit_outcomes = None
        self._outcome_seconds = 0.0
        try:
            metrics, count = unit.run(desc, info, digest)
            note = None
            if not metrics and self.task == 'detection':
                # CocoMetric returns nothing when no image has a detection left.
                metrics, note = {self.metric['key']: 0.0}, 'no detections'
            score = score_from_metrics(metrics, self.metric)
            result = dict(status='done', score=score, metrics=metrics, num_images=count)
            if note:
                result['note'] = note
            start_outcomes = time.perf_counter()
            self._keep_outcomes(entry['name'], unit.key, digest, result,
                                constant=score if note else None)
            # what keeping outcomes and intervals cost (inside 'seconds')
            result['outcome_seconds'] = round(
                self._outcome_seconds + time.perf_counter() - start_outcomes, 4)
        except KeyboardInterrupt:
            raise
        except Exception as e:  # noqa: BLE001  (recorded; the suite goes on)
            result = dict(status='failed', error=_error_text(e))
            if log_failure:
                self.log(f'  {desc}: FAILED: {result["error"]}', warning=True)
            self._debug(e)
        result['seconds'] = round(time.perf_counter() - start, 3)
        result['hash'] = digest
        if info:
            result['info'] = info
        return result

    # ------------------------------------------------------------------ outcomes
    def _keep_outcomes(self, name: str, key, digest: str, result: dict,
                       constant: Optional[float] = None) -> None:
        """Write the unit's per-image outcomes next to the JSON and its interval."""
        if not is_main():  # the outcomes were gathered and are written on rank 0
            return
        outcomes, error, images = self._unit_outcomes or (None, None, None)
        if outcomes is None and constant is not None and images is not None:
            split, size, indices = images  # the same score on every resample
            outcomes = dict(kind='constant', constant=constant, split=split,
                            split_size=size, image_index=indices)
            outcomes = {k: np.asarray(v) for k, v in outcomes.items()}
        if outcomes is None:
            result['outcomes_missing'] = error or 'the unit ran no evaluation'
            return
        rel = osp.join(self.outcome_dir, f'{digest}.npz')
        save_outcomes(osp.join(self.work_dir, rel), outcomes)
        result['outcomes'] = rel
        self._unit_interval(name, key, outcomes, result)

    def _reuse_outcomes(self, name: str, key, unit: dict) -> None:
        """The interval of a unit reused from an earlier run, from its file."""
        if not is_main():
            return
        outcomes, why = unit_outcomes(self.work_dir, unit)
        if outcomes is None:
            unit.pop('ci', None)
            unit['outcomes_missing'] = why
            return
        self._unit_interval(name, key, outcomes, unit)

    def _unit_interval(self, name: str, key, outcomes: dict, result: dict) -> None:
        if self.bootstrap.replicates <= 0:
            return
        try:
            reps = self.bootstrap.unit_scores(outcomes, self.metric)
        except ValueError as e:
            result['outcomes_missing'] = str(e)
            return
        self._replicates[(name, key)] = reps
        interval = percentile_interval(reps, self.bootstrap.level)
        result['ci'] = None if interval is None else list(interval)

    def _rescore(self, unit: dict) -> bool:
        """Recompute a reused unit's score with the current metric (False: it lacks
        the metric, so it runs again)."""
        try:
            metrics = unit.get('metrics') or {}
            if not metrics and self.task == 'detection':
                metrics = {self.metric['key']: 0.0}
            unit['score'] = score_from_metrics(metrics, self.metric)
        except KeyError:
            return False
        return True

    # ------------------------------------------------------------------ results
    def _model_id(self) -> dict:
        return dict(config=osp.abspath(self.config_path) if self.config_path else None,
                    checkpoint=osp.abspath(self.checkpoint) if self.checkpoint else None,
                    checkpoint_signature=file_signature(self.checkpoint)
                    if self.checkpoint else None)

    def record(self) -> dict:
        """The current results as written to ``{name}.json``."""
        record = dict(
            format=FORMAT, name=self.name,
            config=self.config_path,
            config_name=osp.splitext(osp.basename(self.config_path))[0]
            if self.config_path else None,
            checkpoint=self.checkpoint, suite=self.suite.path,
            model_id=self._model_id(), task=self.task, metric=self.metric['key'],
            metric_name=self.metric['name'], metric_scale=self.metric['scale'],
            trained_on=list(self.seen), training_attacks=list(self.training_attacks),
            unseen_kinds=attack_kinds())
        body = dict(record, entries=self.entries)
        summary = summarize(body)
        record.update(summary)
        record['pending'] = [n for n, state in summary['status'].items()
                             if state == 'pending']
        record['wall_seconds'] = round(time.perf_counter() - self._wall_start, 3)
        for name, entry in self.entries.items():
            entry['status'] = entry_status(entry)
            entry['score'] = summary['scores'].get(name) if 'units' in entry \
                else entry.get('score')
        record['entries'] = self.entries
        carried = {n: self._previous_entries[n] for n in self.suite.names
                   if n in self._previous_entries and n not in self._finished}
        if carried:  # interrupted: earlier results of what this run has not redone
            record['carried'] = carried
        return record

    def _save(self, final: bool = False) -> dict:
        record = self.record()
        if not is_main():
            return record
        if final and self.bootstrap.replicates > 0:
            # Intervals of the derived numbers: once, at the end (R summaries).
            start = time.perf_counter()
            record['intervals'] = RunReplicates(record, self.work_dir, self.bootstrap,
                                                cache=self._replicates).intervals()
            record['intervals']['seconds'] = round(time.perf_counter() - start, 3)
            record['outcome_seconds'] = round(sum(
                float(u.get('outcome_seconds') or 0) for e in self.entries.values()
                for u in unit_records(e).values()), 3)
        write_json_atomic(self.json_path, record)
        write_text_atomic(self.md_path, robustness_markdown(record))
        if final:
            self._plot(record)
        return record

    def _plot(self, record: dict) -> None:
        from . import plots
        drawers = dict(attacks=plots.plot_attacks, severity=plots.plot_severities,
                       granularity=plots.plot_granularity)
        for kind, filename in self.plot_files.items():
            try:
                drawers[kind](record, osp.join(self.work_dir, filename))
            except Exception as e:  # noqa: BLE001  (a plot must not lose the results)
                self.log(f'could not draw {filename}: {_error_text(e)}', warning=True)

    # ------------------------------------------------------------------ logging
    @staticmethod
    def _fmt(value) -> str:
        return '-' if value is None else f'{value:.3f}'

    def _debug(self, error: BaseException) -> None:
        print_log(''.join(traceback.format_exception(type(error), error,
                                                     error.__traceback__)),
                  logger='current', level=logging.DEBUG)

    def _log_entry(self, index: int, entry: dict, rec: dict, reused: int,
                   total: int) -> None:
        status = entry_status(rec)
        seconds = sum(float(u.get('seconds') or 0) for u in unit_records(rec).values())
        score = summarize(dict(entries={entry['name']: rec}))['scores'][entry['name']]
        head = f"[{index + 1}/{len(self.suite)}] {entry['name']} ({entry['kind']}"
        head += ', seen)' if rec.get('seen') else ')'
        if status == 'failed':
            errors = {u.get('error') for u in unit_records(rec).values() if u.get('error')}
            self.log(f'{head}: FAILED ({seconds:.1f} s): {"; ".join(sorted(errors))}',
                     warning=True)
            return
        images = sorted({u.get('num_images') for u in unit_records(rec).values()
                         if u.get('num_images')})
        text = f"{head}: {self.metric['name']} {self._fmt(score)}, {seconds:.1f} s"
        if images:
            text += f", {'/'.join(map(str, images))} images"
        if total > 1:
            text += f', {total} units'
        if reused:
            text += f' ({reused} reused from the previous run)'
        if status != 'done':
            failed = sum(1 for u in unit_records(rec).values()
                         if u.get('status') == 'failed')
            text += f'; {failed} unit(s) FAILED'
        self.log(text, warning=status != 'done')


def run_suite(model, cfg, suite, work_dir: str, **kwargs) -> dict:
    """Shortcut: ``RobustnessSuite(model, cfg, suite, work_dir, **kwargs).run()``."""
    return RobustnessSuite(model, cfg, suite, work_dir, **kwargs).run()


def granularity_suite(generator: Optional[dict] = None, num_images: Optional[int] = None,
                      attack: Optional[dict] = None, batch_size: Optional[int] = None
                      ) -> Suite:
    """The suite of ``tools/test.py --granularity``: one granularity entry, plus the
    clean score on the same images (the reference line of the profile)."""
    entry = dict(name='granularity', kind='granularity', num_images=num_images)
    if attack:
        entry['attack'] = attack
    clean = dict(name='clean', kind='clean', num_images=num_images)
    data = dict(entries=[clean, entry], batch_size=batch_size)
    if generator is not None:
        data['generator'] = generator
    return load_suite(data)


__all__ = ['RobustnessSuite', 'run_suite', 'granularity_suite']
