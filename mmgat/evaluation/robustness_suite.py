"""Run a robustness suite on one model: every entry, resumable, one model for all.

    python tools/test.py CONFIG CKPT --robustness configs/robustness/unseen_digitscenes.py \\
        --work-dir DIR

:class:`RobustnessSuite` evaluates a model (built and loaded ONCE) on every entry of a
suite (:mod:`mmgat.evaluation.entries`): per entry it swaps the dataset's pipeline
(corruptions, a universal perturbation), the evaluator and the attack (an
:class:`~mmgat.hooks.AdversarialHook` in test phase), and runs its own test loop over a
fixed subset of the split.

An entry is made of *units* (one for most kinds; one per (corruption, severity) and one
per decoder layer for the corruption and granularity kinds). After each unit,
``DIR/robustness.json`` is rewritten atomically. A run started again with the same
``DIR`` skips every unit whose configuration hash (:func:`~mmgat.evaluation.entries.
config_hash` of its effective settings: attack config, subset, batch size, generator
checkpoint stamp, ...) matches a completed one; changed and failed units run again.
A unit that raises is recorded with ``status='failed'`` and its error, and the suite
goes on (``KeyboardInterrupt`` stops it; what was done stays).
"""
import contextlib
import copy
import io
import logging
import os.path as osp
import time
import traceback
from functools import partial
from types import SimpleNamespace
from typing import Callable, List, Optional

import torch
from mmengine.dataset import Compose
from mmengine.evaluator import Evaluator
from mmengine.logging import MMLogger, print_log
from mmengine.registry import DATASETS, FUNCTIONS, DefaultScope

from mmgat.transforms.corruptions import check_corruption
from mmgat.utils.errors import ConfigError, MmgatError
from mmgat.victims import build_victim
from .aggregation import (UNSEEN_KINDS, entry_status, resolve_metric,
                          score_from_metrics, summarize, unit_records)
from .entries import (Suite, config_hash, entry_family, file_signature,
                      iter_corruption_units, load_suite, resolve_attack, subset_indices,
                      to_builtin, trained_on)
from .universal import (SPLITS, loads_boxes_after_resize, perturbation_record, run_spgd,
                        sampling_dataloader, save_perturbation, universal_victim)
from .writers import read_json, robustness_markdown, write_json_atomic, write_text_atomic

FORMAT = 'mmgat.robustness/1'
#: suite split -> (dataloader key, evaluator key, fallback evaluator key)
EVAL_LOADERS = {
    'val': ('test_dataloader', 'test_evaluator', 'val_evaluator'),
    'val_ood': ('ood_test_dataloader', 'ood_test_evaluator', 'test_evaluator'),
}
MAX_ERROR = 600


def infer_task(model) -> str:
    """'detection', 'segmentation' or 'classification', from the model's victim class."""
    name = type(build_victim(model)).__name__
    return {'DetectorVictim': 'detection', 'SegmentorVictim': 'segmentation',
            'ClassifierVictim': 'classification'}[name]


def generator_layers(generator: dict) -> List[str]:
    """The decoder layers (coarse -> fine) of a trained generator.

    Raises:
        ConfigError: mmgat has no generator (``mmgat.generators.load_generator``), or
            the checkpoint is missing (from ``load_generator``).
    """
    try:
        from mmgat.generators import load_generator
    except ImportError as e:
        raise ConfigError(f'granularity needs mmgat.generators.load_generator, which '
                          f'this mmgat does not have ({e})') from None
    gen = load_generator(generator['config'], generator['checkpoint'])
    return list(gen.decoder_layers)


def insert_after_loading(pipeline: list, transform: dict) -> list:
    """A copy of ``pipeline`` with ``transform`` right after the image is loaded."""
    out = copy.deepcopy(list(pipeline))
    for i, t in enumerate(out):
        if 'LoadImage' in str(t.get('type', '')).split('.')[-1]:
            out.insert(i + 1, transform)
            return out
    raise ConfigError('the test pipeline has no LoadImageFromFile step to put '
                      f'{transform.get("type")} after')


def insert_before_packing(pipeline: list, transform: dict) -> list:
    """A copy of ``pipeline`` with ``transform`` before the packing step (the end when
    there is none)."""
    out = copy.deepcopy(list(pipeline))
    for i in range(len(out) - 1, -1, -1):
        if str(out[i].get('type', '')).split('.')[-1].startswith('Pack'):
            out.insert(i, transform)
            return out
    out.append(transform)
    return out


def _error_text(error: BaseException) -> str:
    text = str(error).strip()
    if 'Original Traceback' in text:  # re-raised from a dataloader worker
        text = text.splitlines()[-1]
    if not isinstance(error, MmgatError):
        text = f'{type(error).__name__}: {text}'
    return text[:MAX_ERROR]


class _Bars:
    """Progress bars: entries (outer) and batches (inner); tqdm when installed."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.tqdm = None
        if enabled:
            try:
                from tqdm import tqdm
                self.tqdm = tqdm
            except ImportError:  # pragma: no cover
                self.tqdm = None
        self.outer = None
        if self.tqdm is not None:
            self.outer = self.tqdm(total=total, desc='robustness', unit='entry',
                                   position=0, dynamic_ncols=True)

    def entry(self, text: str) -> None:
        if self.outer is not None:
            self.outer.set_description(text)

    def done(self) -> None:
        if self.outer is not None:
            self.outer.update(1)

    def inner(self, total: int, desc: str):
        if self.tqdm is None:
            return None
        return self.tqdm(total=total, desc=desc, unit='batch', position=1, leave=False,
                         dynamic_ncols=True)

    def close(self) -> None:
        if self.outer is not None:
            self.outer.close()


@contextlib.contextmanager
def _quiet():
    """Silence pycocotools' prints and the metrics' INFO logs during evaluation."""
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        logger.setLevel(level)


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
                 progress: bool = True, plot_files: Optional[dict] = None) -> None:
        self.suite = suite if isinstance(suite, Suite) else load_suite(suite)
        self.model = model
        self.cfg = cfg
        self.work_dir = work_dir
        self.name = name
        self.config_path = config_path
        self.checkpoint = checkpoint
        self.progress = progress
        self.plot_files = dict(attacks=f'{name}_attacks.png',
                               severity=f'{name}_severity.png',
                               granularity=f'{name}_granularity.png') \
            if plot_files is None else dict(plot_files)
        self.json_path = osp.join(work_dir, f'{name}.json')
        self.md_path = osp.join(work_dir, f'{name}.md')
        self.scope = cfg.get('default_scope') if cfg is not None else None
        self._datasets = {}
        self._bars: Optional[_Bars] = None
        self.entries = {}
        self.task = None
        self.metric = None
        self.generator = None
        self.seen, self.training_attacks = [], []
        self._wall_start = time.perf_counter()
        self._previous_entries, self._finished = {}, set()

    # ------------------------------------------------------------------ public
    def run(self) -> dict:
        """Run every entry (skipping completed units) and return the record."""
        with DefaultScope.overwrite_default_scope(self.scope):
            return self._run()

    # ------------------------------------------------------------------ the loop
    def _run(self) -> dict:
        start = time.perf_counter()
        self.model.eval()
        self.task = infer_task(self.model)
        self.metric = resolve_metric(self.task, self.suite.metric)
        self.generator = self.suite.generator_for(self.task)
        self.seen, self.training_attacks = trained_on(self.suite, self.cfg, self.task)
        previous = self._previous()
        self._previous_entries = previous
        self._finished = set()
        # every entry in suite order; placeholders until it runs
        self.entries = {e['name']: dict(kind=e['kind'], split=e['split'], status='pending')
                        for e in self.suite.entries}
        entries = self.suite.entries
        self._log(f'robustness suite: {len(entries)} entries on a {self.task} model '
                  f"({self.metric['name']}); results in {self.json_path}"
                  + (f"; trained on {', '.join(self.seen)}" if self.seen else ''))
        self._bars = _Bars(len(entries), self.progress)
        self._wall_start = start
        try:
            for index, entry in enumerate(entries):
                self._bars.entry(entry['name'])
                self._run_entry(index, entry, previous.get(entry['name']))
                self._finished.add(entry['name'])
                self._bars.done()
        finally:
            self._bars.close()
        record = self._save(final=True)
        self._log(f"robustness: clean {self._fmt(record['clean'])}, unseen mean "
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
            units = self._units(entry, rec)
        except Exception as e:  # noqa: BLE001  (recorded; the suite goes on)
            rec.update(status='failed', error=_error_text(e), units={})
            self._log(f'[{index + 1}/{len(self.suite)}] {name} ({kind}): FAILED: '
                      f'{rec["error"]}', logging.WARNING)
            self._debug(e)
            self._save()
            return
        old_units = unit_records(previous) if previous else {}
        multi = not (len(units) == 1 and units[0][0] is None)
        if multi:
            rec['units'] = {}
        reused = 0
        for key, spec, fn in units:
            digest = config_hash(spec)
            old = old_units.get(key)
            if old is not None and old.get('status') == 'done' \
                    and old.get('hash') == digest and self._rescore(old):
                self._store(rec, key, multi, old)
                reused += 1
                continue
            unit = self._run_unit(entry, key, digest, fn, log_failure=multi)
            self._store(rec, key, multi, unit)
            self._save()
        if reused == len(units):
            self._save()
        self._log_entry(index, entry, rec, reused, len(units))

    def _store(self, rec: dict, key, multi: bool, unit: dict) -> None:
        if multi:
            rec['units'][key] = unit
        else:
            for field in ('status', 'score', 'metrics', 'num_images', 'seconds', 'hash',
                          'error', 'note', 'info'):
                rec.pop(field, None)
            rec.update(unit)

    def _run_unit(self, entry: dict, key, digest: str, fn: Callable,
                  log_failure: bool = True) -> dict:
        desc = entry['name'] + (f' {key}' if key else '')
        start = time.perf_counter()
        info = {}
        try:
            metrics, count = fn(desc, info, digest)
            note = None
            if not metrics and self.task == 'detection':
                # CocoMetric returns nothing when no image has a detection left.
                metrics, note = {self.metric['key']: 0.0}, 'no detections'
            score = score_from_metrics(metrics, self.metric)
            unit = dict(status='done', score=score, metrics=metrics, num_images=count)
            if note:
                unit['note'] = note
        except KeyboardInterrupt:
            raise
        except Exception as e:  # noqa: BLE001  (recorded; the suite goes on)
            unit = dict(status='failed', error=_error_text(e))
            if log_failure:
                self._log(f'  {desc}: FAILED: {unit["error"]}', logging.WARNING)
            self._debug(e)
        unit['seconds'] = round(time.perf_counter() - start, 3)
        unit['hash'] = digest
        if info:
            unit['info'] = info
        return unit

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

    # ------------------------------------------------------------------ units
    def _batch_size(self, entry: dict, split: str) -> int:
        if entry.get('batch_size'):
            return entry['batch_size']
        if self.suite.batch_size:
            return self.suite.batch_size
        loader_key = EVAL_LOADERS[split][0]
        return int((self.cfg.get(loader_key) or {}).get('batch_size', 1))

    def _base_spec(self, entry: dict) -> dict:
        split = entry['split']
        return dict(kind=entry['kind'], split=split, num_images=entry['num_images'],
                    subset=entry['subset'], batch_size=self._batch_size(entry, split))

    def _units(self, entry: dict, rec: dict) -> list:
        """``[(unit key or None, hashed spec, fn(desc, info, hash) -> (metrics, n))]``."""
        kind = entry['kind']
        base = self._base_spec(entry)
        run = partial(self._evaluate, entry)
        if kind in ('clean', 'split'):
            return [(None, base, lambda desc, info, digest: run(desc))]
        if kind == 'attack':
            return [(None, *self._attack_unit(entry, base, rec))]
        if kind == 'universal':
            spec = dict(base, **{k: entry[k] for k in (
                'eps', 'alpha', 'norm', 'iters', 'train_split', 'train_batch_size',
                'size', 'fit', 'seed', 'victim')})
            return [(None, spec, partial(self._universal, entry))]
        if kind == 'granularity':
            return self._granularity_units(entry, base, rec)
        if kind == 'corruption':
            rec.update(corruptions=list(entry['corruptions']),
                       severities=list(entry['severities']))
            units = []
            for corruption, severity in iter_corruption_units(entry):
                if severity == 0:
                    units.append(('clean', dict(base, kind='clean'),
                                  lambda desc, info, digest: run(desc)))
                    continue
                spec = dict(base, corruption=corruption, severity=severity,
                            seed=entry['seed'])
                units.append((f'{corruption}/{severity}', spec,
                              partial(self._corruption, entry, corruption, severity)))
            return units
        raise ConfigError(f'unknown entry kind {kind!r}')  # load_suite checked it

    def _victim_options(self, entry: dict, options: Optional[dict]) -> dict:
        """Victim options; detection test pipelines that load the boxes after Resize
        get ``gt_frame='original'`` (unless the options say otherwise)."""
        options = dict(options or {})
        if self.task == 'detection' and 'gt_frame' not in options:
            loader = self.cfg.get(EVAL_LOADERS[entry['split']][0]) or {}
            if loads_boxes_after_resize(loader.get('dataset', {}).get('pipeline')):
                options['gt_frame'] = 'original'
        return options

    def _attack_unit(self, entry: dict, base: dict, rec: dict):
        try:
            attack, victim = resolve_attack(entry, self.generator)
        except Exception as e:  # noqa: BLE001  (the unit fails with this reason)
            error = e

            def fail(desc, info, digest):
                raise error

            return dict(base, attack=entry['attack'], error=str(e)), fail
        victim = self._victim_options(entry, victim)
        rec['attack'] = attack
        if victim:
            rec['victim'] = victim
        spec = dict(base, attack=attack, victim=victim)
        return spec, partial(self._attacked, entry, attack, victim)

    def _granularity_units(self, entry: dict, base: dict, rec: dict) -> list:
        generator = entry.get('generator') or self.generator
        if generator is None:
            raise ConfigError('granularity needs a generator: set generator=dict('
                              'config=..., checkpoint=...) in the entry or the suite')
        rec['generator'] = generator
        layers = generator_layers(generator)
        if entry.get('layers'):
            unknown = [layer for layer in entry['layers'] if layer not in layers]
            if unknown:
                raise ConfigError(f'layers {unknown} are not decoder layers of the '
                                  f'generator; it has {layers}')
            layers = [layer for layer in layers if layer in entry['layers']]
        rec['layers'] = layers
        victim = self._victim_options(entry, entry.get('victim'))
        units = []
        for layer in layers:
            attack = dict(entry['attack'], generator=copy.deepcopy(generator),
                          layer=layer)
            spec = dict(base, attack=attack, victim=victim)
            units.append((layer, spec, partial(self._attacked, entry, attack, victim)))
        return units

    # ------------------------------------------------------------------ unit bodies
    def _attacked(self, entry: dict, attack: dict, victim: dict, desc: str, info: dict,
                  digest: str):
        from mmgat.hooks import AdversarialHook
        hook = AdversarialHook(attack=attack, phase='test', test_victim=victim)
        runner = SimpleNamespace(model=self.model)

        def before(batch_idx, data_batch):
            hook.before_test_iter(runner, batch_idx, data_batch)

        def after(batch_idx, data_batch):
            hook.after_test_iter(runner, batch_idx, data_batch)

        return self._evaluate(entry, desc, before_batch=before, after_batch=after)

    def _corruption(self, entry: dict, corruption: str, severity: int, desc: str,
                    info: dict, digest: str):
        check_corruption(corruption, severity)  # an unknown name fails here, clearly
        transform = dict(type='mmgat.Corrupt', corruption=corruption, severity=severity,
                         seed=entry['seed'])
        return self._evaluate(entry, desc,
                              edit=lambda p: insert_after_loading(p, transform))

    def _universal(self, entry: dict, desc: str, info: dict, digest: str):
        """sPGD on the train split (or the perturbation a previous run of this very
        unit saved), then the split with the perturbation added to every image."""
        path = osp.join(self.work_dir, f'{entry["name"]}_perturbation.pth')
        record = self._saved_perturbation(path, digest)
        if record is None:
            record = self._spgd(entry, desc, digest)
            save_perturbation(record, path)
        else:
            self._log(f'  {desc}: reusing the perturbation in {path}')
        losses = record['losses']
        info.update(perturbation=path, spgd_updates=record['iters'],
                    spgd_loss_first=losses[0] if losses else None,
                    spgd_loss_last=losses[-1] if losses else None,
                    linf=float(record['perturbation'].abs().max()) / 255)
        transform = dict(type='mmgat.ApplyUniversalPerturbation', path=path,
                         fit=entry['fit'])
        return self._evaluate(entry, desc,
                              edit=lambda p: insert_before_packing(p, transform))

    @staticmethod
    def _saved_perturbation(path: str, digest: str) -> Optional[dict]:
        if not osp.isfile(path):
            return None
        try:
            from mmgat.utils import safe_torch_load
            record = safe_torch_load(path, map_location='cpu')
        except Exception:  # noqa: BLE001  (recomputed)
            return None
        if not isinstance(record, dict) or record.get('suite_hash') != digest:
            return None
        return record

    def _spgd(self, entry: dict, desc: str, digest: str) -> dict:
        from mmgat.attacks import UniversalPerturbation
        split = entry['train_split']
        attack = UniversalPerturbation(eps=entry['eps'], alpha=entry['alpha'],
                                       norm=entry['norm'], size=entry['size'],
                                       seed=entry['seed'])
        loader = sampling_dataloader(self.cfg, split, entry['train_batch_size'],
                                     entry['seed'], num_workers=self.suite.num_workers)
        pipeline = self.cfg[SPLITS[split]].dataset.get('pipeline')
        victim = universal_victim(self.model, pipeline, entry['victim'],
                                  announce=self._log)
        bar = self._bars.inner(entry['iters'], f'{desc} sPGD') if self._bars else None
        try:
            losses, epochs = run_spgd(
                victim, loader, attack, entry['iters'],
                on_update=(lambda loss: bar.update(1)) if bar is not None else None)
        finally:
            if bar is not None:
                bar.close()
        return perturbation_record(attack, victim, losses, epochs, split=split,
                                   seed=entry['seed'], config=self.config_path,
                                   checkpoint=self.checkpoint, suite_hash=digest)

    # ------------------------------------------------------------------ evaluation
    def _dataset(self, split: str):
        """The split's dataset (built once) and its dataloader config."""
        if split not in self._datasets:
            loader_key = EVAL_LOADERS[split][0]
            loader_cfg = self.cfg.get(loader_key)
            if loader_cfg is None:
                raise ConfigError(f"split '{split}': the config has no '{loader_key}'")
            dataset = DATASETS.build(copy.deepcopy(loader_cfg['dataset']))
            if hasattr(dataset, 'full_init'):
                dataset.full_init()
            self._datasets[split] = (dataset, loader_cfg)
        return self._datasets[split]

    def _evaluator_cfg(self, split: str):
        _, key, fallback = EVAL_LOADERS[split]
        cfg = self.cfg.get(key) or self.cfg.get(fallback)
        if cfg is None:
            raise ConfigError(f"split '{split}': the config has no '{key}'")
        return to_builtin(cfg)

    def _collate(self, loader_cfg):
        collate = to_builtin(loader_cfg.get('collate_fn', dict(type='pseudo_collate')))
        kind = collate.pop('type')
        fn = FUNCTIONS.get(kind) if isinstance(kind, str) else kind
        if fn is None:
            raise ConfigError(f'unknown collate_fn {kind!r}')
        return partial(fn, **collate)

    def _evaluate(self, entry: dict, desc: str, edit: Optional[Callable] = None,
                  before_batch: Optional[Callable] = None,
                  after_batch: Optional[Callable] = None):
        """Test the model on the entry's subset of its split; returns ``(metrics, n)``.

        Args:
            edit: ``pipeline list -> pipeline list`` for this evaluation (the dataset's
                pipeline is swapped and restored afterwards).
            before_batch: ``fn(batch_idx, data_batch)`` called on every batch before
                the model sees it (an attack hook).
            after_batch: ``fn(batch_idx, data_batch)`` called after every batch's test
                step, also when it raised (removes a feature attack's hook).
        """
        split = entry['split']
        dataset, loader_cfg = self._dataset(split)
        indices = subset_indices(len(dataset), entry['num_images'], entry['subset'])
        original = dataset.pipeline
        if edit is not None:
            dataset.pipeline = Compose(edit(to_builtin(loader_cfg['dataset']['pipeline'])))
        bar = None
        try:
            loader = torch.utils.data.DataLoader(
                torch.utils.data.Subset(dataset, indices),
                batch_size=self._batch_size(entry, split), shuffle=False,
                num_workers=self.suite.num_workers, collate_fn=self._collate(loader_cfg))
            with _quiet():
                evaluator = Evaluator(self._evaluator_cfg(split))
            evaluator.dataset_meta = dataset.metainfo
            if len(indices) < len(dataset):
                self._restrict_to(evaluator, dataset, indices)
            bar = self._bars.inner(len(loader), desc) if self._bars else None
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
            with _quiet():
                metrics = evaluator.evaluate(len(indices))
        finally:
            dataset.pipeline = original
            if bar is not None:
                bar.close()
        return {k: float(v) for k, v in metrics.items()}, len(indices)

    @staticmethod
    def _restrict_to(evaluator, dataset, indices) -> None:
        """Make COCO-style metrics score only the evaluated images (else every other
        image of the annotation file would count as missed)."""
        for metric in evaluator.metrics:
            if hasattr(metric, 'img_ids') and hasattr(metric, '_coco_api'):
                metric.img_ids = [dataset.get_data_info(i)['img_id'] for i in indices]

    # ------------------------------------------------------------------ results
    def _model_id(self) -> dict:
        return dict(config=osp.abspath(self.config_path) if self.config_path else None,
                    checkpoint=osp.abspath(self.checkpoint) if self.checkpoint else None,
                    checkpoint_signature=file_signature(self.checkpoint)
                    if self.checkpoint else None)

    def _previous(self) -> dict:
        """Entries of an earlier run in this work_dir (same model), else {}."""
        old = read_json(self.json_path)
        if not old:
            return {}
        if old.get('format') != FORMAT or old.get('model_id') != self._model_id():
            self._log(f'{self.json_path} holds results of another model or format; '
                      'starting afresh', logging.WARNING)
            return {}
        # An interrupted run keeps the earlier results of the entries it had not reached
        # yet under 'carried'; its own results (in 'entries') are newer.
        entries = {}
        for source in (old.get('carried') or {}, old.get('entries') or {}):
            for name, entry in source.items():
                if not isinstance(entry, dict):
                    continue
                base = entries.get(name)
                if base is None:
                    entries[name] = entry
                elif 'units' in entry and 'units' in base:
                    units = dict(base['units'])
                    units.update({k: u for k, u in entry['units'].items()
                                  if u.get('status') in ('done', 'failed')})
                    entries[name] = dict(entry, units=units)
                elif entry.get('status') in ('done', 'failed'):
                    entries[name] = entry
        done = sum(1 for e in entries.values() for u in unit_records(e).values()
                   if u.get('status') == 'done')
        if done:
            self._log(f'resuming: {done} completed unit(s) in {self.json_path}')
        return entries

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
            unseen_kinds=list(UNSEEN_KINDS))
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
                self._log(f'could not draw {filename}: {_error_text(e)}',
                          logging.WARNING)

    # ------------------------------------------------------------------ logging
    @staticmethod
    def _fmt(value) -> str:
        return '-' if value is None else f'{value:.3f}'

    def _log(self, message: str, level=logging.INFO) -> None:
        print_log(message, logger='current', level=level)

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
            self._log(f'{head}: FAILED ({seconds:.1f} s): {"; ".join(sorted(errors))}',
                      logging.WARNING)
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
        self._log(text, logging.INFO if status == 'done' else logging.WARNING)


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


__all__ = ['RobustnessSuite', 'run_suite', 'granularity_suite', 'infer_task',
           'generator_layers', 'insert_after_loading', 'insert_before_packing']
