"""Robustness suites: the config format, its loading and validation.

A suite is a config file with a list ``entries``; every entry is a dict with a unique
``name`` and a ``kind`` (one of the registered kinds, :mod:`mmgat.evaluation.kinds`:
clean, split, attack, universal, granularity, corruption, or one of your own).

Keys every entry may set: ``num_images`` (evaluate a fixed subset of the split:
``num_images`` evenly spaced images, indices ``floor(i * N / num_images)``, or with
``subset='first'`` the first ones; ``None``: all), ``batch_size`` (default: the suite's
``batch_size``), ``split`` (``'val'`` or ``'val_ood'``; ``'val'`` by default),
``family`` (see :mod:`mmgat.evaluation.seen_in_training`) and ``tasks`` (the tasks the
entry applies to, e.g. ``['segmentation']`` for SegPGD; the suite leaves it out for a
model of another task; default: all). Each kind adds its own keys.

Suite-level keys: ``batch_size`` (``None``: the config's), ``num_workers`` (``None``,
the default: each split's dataloader's in the config, since corruptions are CPU work a
GPU would otherwise wait for; 0 loads in the main process),
``metric`` (the metric key, default per task: see
:data:`mmgat.evaluation.aggregation.TASK_METRICS`), ``generator`` (``dict(config=...,
checkpoint=...)`` or such dicts per task: filled into the configs of attacks that need
a generator and into granularity entries that name none), ``bootstrap``
(``dict(replicates=1000, seed=0, level=0.95)``: the intervals of every score, see
:mod:`mmgat.evaluation.intervals`; ``replicates=0`` keeps the per-image outcomes but
computes no interval), ``strength_check`` (None, the default: off;
``dict(num_images=16, factor=2, threshold=0.02, entries=None)``: adds a ``strength``
entry per iterative attack entry, see :mod:`mmgat.evaluation.kinds.strength`).

Inheritance: mmengine replaces lists from ``_base_``, so a suite that builds on another
uses ``skip = [names]`` (drop entries), ``entry_options = {name: dict(...)}`` (override
keys of an entry, merged recursively) and ``extra_entries = [dict(...)]`` (add entries)::

    _base_ = ['./unseen_digitscenes.py']
    skip = ['granularity']
    entry_options = {'pgd-linf_eps8': dict(num_images=300, attack_options=dict(steps=20))}
    extra_entries = [dict(name='fgsm', kind='attack',
                          attack='configs/_base_/attacks/fgsm-linf_eps8.py')]

A malformed suite (unknown kind or key, missing or repeated name, bad value) raises
:class:`~mmgat.utils.errors.ConfigError` when it is loaded, before anything runs. What
only fails when an entry runs (a missing attack file or generator checkpoint, an attack
type nobody registered, an unknown corruption name, an attack the task cannot run) marks
that entry failed, with the reason, and the suite goes on.
"""
import os.path as osp
from dataclasses import dataclass
from typing import Any, List, Optional

from mmengine.config import Config

from mmgat.utils.checks import check_number
from mmgat.utils.errors import ConfigError
from mmgat.utils.plain_config import merge, to_builtin
from .bootstrap import DEFAULT_LEVEL, DEFAULT_REPLICATES, DEFAULT_SEED
from .kinds import (TASKS, check_generator, check_strength, get_kind, kind_names,
                    strength_entries)
from .kinds.base_kind import entry_int, fail, setting_with_defaults
from .splits import EVAL_SPLITS
from .subset_loop import SUBSETS

COMMON_KEYS = ('name', 'kind', 'num_images', 'subset', 'batch_size', 'split', 'family',
               'tasks')
SUITE_KEYS = ('entries', 'skip', 'entry_options', 'extra_entries', 'batch_size',
              'num_workers', 'metric', 'generator', 'bootstrap', 'strength_check')
#: Keys of a suite's ``bootstrap`` setting and their defaults.
BOOTSTRAP_DEFAULTS = dict(replicates=DEFAULT_REPLICATES, seed=DEFAULT_SEED,
                          level=DEFAULT_LEVEL)


def check_entry(entry: Any, index: int, suite_dir: Optional[str] = None) -> dict:
    """Validate one suite entry; return it as a plain dict with its defaults filled."""
    where = f'entry {index}'
    if not isinstance(entry, dict):
        fail(where, f'an entry must be a dict(name=..., kind=...), got '
             f'{type(entry).__name__}')
    entry = to_builtin(entry)
    name = entry.get('name')
    if not isinstance(name, str) or not name.strip() or '/' in name:
        fail(where, f'name must be a non-empty string without "/", got {name!r}')
    where = f'entry {name!r}'
    kind_name = entry.get('kind')
    kind = get_kind(kind_name)
    if kind is None:
        fail(where, f'unknown kind {kind_name!r}; expected one of {kind_names()}')
    allowed = COMMON_KEYS + tuple(kind.keys)
    unknown = sorted(set(entry) - set(allowed))
    if unknown:
        fail(where, f'unknown key(s) {unknown} for kind {kind_name!r}; it takes '
             f'{sorted(allowed)}')
    out = dict(entry)
    out['num_images'] = entry_int(where, 'num_images', entry.get('num_images'))
    out['batch_size'] = entry_int(where, 'batch_size', entry.get('batch_size'))
    out['subset'] = entry.get('subset', 'even')
    if out['subset'] not in SUBSETS:
        fail(where, f'subset must be one of {SUBSETS}, got {out["subset"]!r}')
    family = entry.get('family')
    if family is not None and not isinstance(family, str):
        fail(where, f'family must be a string, got {family!r}')
    tasks = entry.get('tasks')
    if isinstance(tasks, str):
        tasks = [tasks]
    if tasks is not None and (not isinstance(tasks, (list, tuple)) or not tasks
                              or set(tasks) - set(TASKS)):
        fail(where, f'tasks must be a list of {list(TASKS)}, got {entry.get("tasks")!r}')
    out['tasks'] = None if tasks is None else list(tasks)
    split = entry.get('split', 'val')
    kind.check_split(entry, split, where)
    if split not in EVAL_SPLITS:
        fail(where, f'split must be one of {tuple(EVAL_SPLITS)}, got {split!r}')
    out['split'] = split
    kind.check(entry, out, where, suite_dir)
    return out


@dataclass
class Suite:
    """A validated robustness suite (see the module docstring).

    Attributes:
        entries (list[dict]): The validated entries, in order.
        path (str | None): The suite file.
        batch_size (int | None), num_workers (int | None), metric (str | dict | None),
        generator (dict | None), bootstrap (dict): Suite-level settings.
    """

    entries: List[dict]
    path: Optional[str] = None
    batch_size: Optional[int] = None
    num_workers: Optional[int] = None
    metric: Any = None
    generator: Optional[dict] = None
    bootstrap: dict = None
    strength_check: Optional[dict] = None

    def __post_init__(self) -> None:
        if self.bootstrap is None:
            self.bootstrap = dict(BOOTSTRAP_DEFAULTS)

    @property
    def names(self) -> List[str]:
        return [e['name'] for e in self.entries]

    def for_task(self, task: Optional[str]) -> 'Suite':
        """The suite without the entries whose ``tasks`` leave out ``task``."""
        kept = [e for e in self.entries if not e.get('tasks') or task in e['tasks']]
        return Suite(kept, path=self.path, batch_size=self.batch_size,
                     num_workers=self.num_workers, metric=self.metric,
                     generator=self.generator, bootstrap=self.bootstrap,
                     strength_check=self.strength_check)

    def __len__(self) -> int:
        return len(self.entries)

    def generator_for(self, task: Optional[str]) -> Optional[dict]:
        """The suite's generator for ``task`` (per-task dicts are looked up)."""
        gen = self.generator
        if gen is None or not (set(gen) & set(TASKS)):
            return gen
        return gen.get(task)


def _read(source):
    """``(data dict, path)`` of a suite given as a file name, a Config or a dict."""
    if isinstance(source, str):
        if not osp.isfile(source):
            raise ConfigError(f"robustness suite '{source}' does not exist")
        try:
            cfg = Config.fromfile(source)
        except ConfigError:
            raise
        except Exception as e:  # syntax errors, bad _base_ ...
            raise ConfigError(f"cannot read robustness suite '{source}': "
                              f'{type(e).__name__}: {e}') from None
        return cfg.to_dict(), osp.abspath(source)
    if isinstance(source, Config):
        return source.to_dict(), source.filename
    if isinstance(source, dict):
        return to_builtin(source), None
    raise ConfigError(f'a robustness suite must be a file name or a dict, got '
                      f'{type(source).__name__}')


def load_suite(source, batch_size: Optional[int] = None) -> Suite:
    """Read and validate a suite: a config file name, a Config or a dict.

    Args:
        source: ``configs/robustness/unseen_digitscenes.py``, a ``Config`` or a dict
            with ``entries`` (and the optional suite-level keys).
        batch_size (int, optional): Overrides the suite's ``batch_size``.

    Raises:
        ConfigError: the suite is malformed (the message says what is expected).
    """
    data, path = _read(source)
    suite_dir = osp.dirname(path) if path else None
    keys = {k for k in data if not k.startswith('_')}
    unknown = sorted(keys - set(SUITE_KEYS))
    if unknown:
        raise ConfigError(f'robustness suite: unknown key(s) {unknown}; a suite sets '
                          f'{list(SUITE_KEYS)}')
    entries = data.get('entries')
    if not isinstance(entries, list):
        raise ConfigError('robustness suite: `entries` must be a list of dict(name=..., '
                          f'kind=...), got {type(entries).__name__}')
    extra = data.get('extra_entries') or []
    if not isinstance(extra, list):
        raise ConfigError('robustness suite: `extra_entries` must be a list of entries')
    entries = list(entries) + list(extra)
    names = [e.get('name') if isinstance(e, dict) else None for e in entries]

    skip = data.get('skip') or []
    if isinstance(skip, str):
        skip = [skip]
    if not isinstance(skip, list):
        raise ConfigError('robustness suite: `skip` must be a list of entry names')
    missing = sorted(set(skip) - set(names))
    if missing:
        raise ConfigError(f'robustness suite: skip names unknown entries {missing}; '
                          f'entries: {names}')
    options = data.get('entry_options') or {}
    if not isinstance(options, dict):
        raise ConfigError('robustness suite: `entry_options` must be a dict '
                          '{entry name: dict(key=value)}')
    missing = sorted(set(options) - set(names))
    if missing:
        raise ConfigError(f'robustness suite: entry_options names unknown entries '
                          f'{missing}; entries: {names}')

    checked, seen = [], set()
    for index, entry in enumerate(entries):
        name = names[index]
        if name in skip:
            continue
        if isinstance(entry, dict) and name in options:
            if not isinstance(options[name], dict):
                raise ConfigError(f'robustness suite: entry_options[{name!r}] must be a '
                                  'dict')
            entry = merge(to_builtin(entry), to_builtin(options[name]))
        entry = check_entry(entry, index, suite_dir)
        if entry['name'] in seen:
            raise ConfigError(f'robustness suite: two entries are named '
                              f'{entry["name"]!r}; names must be unique')
        seen.add(entry['name'])
        checked.append(entry)
    if not checked:
        raise ConfigError('robustness suite: no entries to run')
    strength = check_strength(data.get('strength_check'))
    for entry in strength_entries(checked, strength):
        if entry['name'] in seen:
            raise ConfigError(f'robustness suite: strength_check adds '
                              f"{entry['name']!r}, which an entry already is")
        checked.append(check_entry(entry, len(checked), suite_dir))

    suite_batch = data.get('batch_size') if batch_size is None else batch_size
    suite_batch = entry_int('suite', 'batch_size', suite_batch)
    workers = entry_int('suite', 'num_workers', data.get('num_workers'), low=0)
    metric = data.get('metric')
    if metric is not None and not isinstance(metric, (str, dict)):
        raise ConfigError('robustness suite: metric must be a metric key (str), a dict '
                          'per task, or None for the task default')
    generator = check_generator('suite', data.get('generator'))
    return Suite(checked, path=path, batch_size=suite_batch, num_workers=workers,
                 metric=metric, generator=generator,
                 bootstrap=check_bootstrap(data.get('bootstrap')),
                 strength_check=strength)


def check_bootstrap(value) -> dict:
    """A suite's ``bootstrap`` setting with its defaults filled."""
    if value is None:
        return dict(BOOTSTRAP_DEFAULTS)
    out = setting_with_defaults('bootstrap', value, BOOTSTRAP_DEFAULTS)
    out['replicates'] = entry_int('suite', 'bootstrap.replicates', out['replicates'],
                                  low=0, allow_none=False)
    out['seed'] = entry_int('suite', 'bootstrap.seed', out['seed'], low=0,
                            allow_none=False)
    level = check_number('bootstrap.level', out['level'], 0.0, inclusive=False,
                         prefix='robustness suite: suite: ')
    if level >= 1:
        raise ConfigError(f'robustness suite: suite: bootstrap.level must be in (0, 1), '
                          f'got {level}')
    out['level'] = level
    return out


__all__ = ['Suite', 'load_suite', 'check_entry', 'check_bootstrap', 'COMMON_KEYS',
           'SUITE_KEYS', 'BOOTSTRAP_DEFAULTS']
