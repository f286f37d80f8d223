"""Robustness suites: the config format, its validation, and what each entry means.

A suite is a config file with a list ``entries``; every entry is a dict with a unique
``name`` and a ``kind``:

==============  ==========================================================================
kind            what is evaluated
==============  ==========================================================================
``clean``       the model on ``val`` (the config's ``test_dataloader``)
``split``       another split: ``split='val_ood'`` (the config's ``ood_test_dataloader``)
``attack``      ``val`` under an attack of ``mmgat.registry.ATTACKS``, applied to every
                test batch by an :class:`mmgat.hooks.AdversarialHook` (phase ``test``).
                ``attack`` is a config dict or an attack config file defining
                ``attack = dict(...)`` (and optionally ``victim = dict(...)``);
                ``attack_options`` overrides its fields (e.g. fewer ``steps``).
``universal``   a universal perturbation computed with sPGD on ``train`` (``eps``,
                ``alpha``, ``norm``, ``iters`` updates of ``train_batch_size`` images),
                then added to ``val`` by :class:`mmgat.transforms.ApplyUniversalPerturbation`
``granularity`` one ``mmgat.LayerActivationAttack`` per decoder layer of the generator
                (``layers`` picks some; ``attack`` holds the attack's options)
``corruption``  ``mmgat.Corrupt`` in the test pipeline right after loading, for every
                name of ``corruptions`` (``'all'``, ``'benchmark'``, ``'holdout'`` or a
                list) and severity of ``severities`` (default 1-5), plus the same images
                uncorrupted (severity 0: the ``P`` of rPC)
==============  ==========================================================================

Keys every entry may set: ``num_images`` (evaluate a fixed subset of the split:
``num_images`` evenly spaced images, indices ``floor(i * N / num_images)``, or with
``subset='first'`` the first ones; ``None``: all), ``batch_size`` (default: the suite's
``batch_size``), ``split`` (``'val'`` or ``'val_ood'``; ``'val'`` by default) and
``family`` (see :func:`attack_family`).

Suite-level keys: ``batch_size`` (``None``: the config's), ``num_workers`` (default 0),
``metric`` (the metric key, default per task: see
:data:`mmgat.evaluation.aggregation.TASK_METRICS`), ``generator`` (``dict(config=...,
checkpoint=...)`` or such dicts per task: filled into LatentAttack /
LayerActivationAttack configs and granularity entries that name no generator).

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
import copy
import hashlib
import json
import numbers
import os
import os.path as osp
from typing import Any, Iterable, List, Optional, Tuple

from mmengine.config import Config, ConfigDict

from mmgat.transforms.corruptions import (BENCHMARK_CORRUPTIONS, CORRUPTIONS,
                                          HOLDOUT_CORRUPTIONS, SEVERITIES)
from mmgat.utils.errors import ConfigError

KINDS = ('clean', 'split', 'attack', 'universal', 'granularity', 'corruption')
#: Evaluation splits an entry may name (the config's dataloader key in brackets):
#: val (test_dataloader), val_ood (ood_test_dataloader).
EVAL_SPLITS = ('val', 'val_ood')
SUBSETS = ('even', 'first')
COMMON_KEYS = ('name', 'kind', 'num_images', 'subset', 'batch_size', 'split', 'family')
KIND_KEYS = {
    'clean': (),
    'split': (),
    'attack': ('attack', 'attack_options', 'victim'),
    'universal': ('eps', 'alpha', 'norm', 'iters', 'train_split', 'train_batch_size',
                  'size', 'fit', 'seed', 'victim'),
    'granularity': ('attack', 'generator', 'layers', 'victim'),
    'corruption': ('corruptions', 'severities', 'seed'),
}
SUITE_KEYS = ('entries', 'skip', 'entry_options', 'extra_entries', 'batch_size',
              'num_workers', 'metric', 'generator')
#: Defaults of the 'universal' kind (budgets on the 0-1 scale, as in the attacks).
UNIVERSAL_DEFAULTS = dict(eps=8 / 255, alpha=1 / 255, norm='linf', iters=40,
                          train_split='train', train_batch_size=None, size=None,
                          fit='crop', seed=0, victim=None)
CORRUPTION_SETS = {'all': CORRUPTIONS, 'benchmark': BENCHMARK_CORRUPTIONS,
                   'holdout': HOLDOUT_CORRUPTIONS}
#: Attack types that need a generator (``generator=dict(config, checkpoint)``).
GENERATOR_ATTACKS = ('LatentAttack', 'LayerActivationAttack')
LAYER_ATTACK = 'mmgat.LayerActivationAttack'
TASKS = ('detection', 'segmentation', 'classification')

#: Attack type -> the families of attacks a model trained with it has seen. A
#: suite entry is "seen" when its family is among them (see :func:`covers`).
TYPE_FAMILIES = {
    'PGD': ('pgd', ),
    'FGSM': ('pgd', ),
    # Heap-shared perturbations (Mummadi et al.) lie in the same L-inf ball as PGD's
    # and become universal ones as the heap grows: both count as seen.
    'SharedPGD': ('pgd', 'universal'),
    'UniversalPerturbation': ('universal', ),
    'LatentAttack': ('gat', ),
    'LayerActivationAttack': ('granularity', ),
    'ReColor': ('recolor', ),
    'SpatialFlow': ('spatial', ),
    'PerceptualAttack': ('perceptual', ),
    'AdvBN': ('advbn', ),
}


# --------------------------------------------------------------------------- helpers
def plain(obj: Any) -> Any:
    """ConfigDicts / tuples -> plain dicts / lists (JSON-ready, for hashing and output)."""
    if isinstance(obj, (ConfigDict, dict)):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        return float(obj)
    return repr(obj)


def to_builtin(obj: Any) -> Any:
    """ConfigDicts -> dicts, recursively, keeping tuples (builders such as mmcv's
    ``Resize(scale=(128, 128))`` need them)."""
    if isinstance(obj, (ConfigDict, dict)):
        return {k: to_builtin(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [to_builtin(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(to_builtin(v) for v in obj)
    return copy.deepcopy(obj)


def file_signature(path: str) -> Optional[List[int]]:
    """``[size, mtime_ns]`` of a file (None when missing): a cheap content stamp."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return [int(stat.st_size), int(stat.st_mtime_ns)]


def _checkpoint_signatures(obj: Any) -> Any:
    """A copy of ``obj`` where every ``checkpoint='path'`` gains its file signature.

    So that a retrained generator (same path, new file) makes the entries using it
    run again.
    """
    if isinstance(obj, dict):
        out = {k: _checkpoint_signatures(v) for k, v in obj.items()}
        ckpt = obj.get('checkpoint')
        if isinstance(ckpt, str):
            out['checkpoint_signature'] = file_signature(ckpt)
        return out
    if isinstance(obj, list):
        return [_checkpoint_signatures(v) for v in obj]
    return obj


def config_hash(spec: Any) -> str:
    """A short, stable hash of a unit's effective configuration."""
    text = json.dumps(_checkpoint_signatures(plain(spec)), sort_keys=True)
    return hashlib.sha1(text.encode('utf-8')).hexdigest()[:16]


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


def short_type(attack_cfg: dict) -> str:
    """``'mmgat.PGD'`` -> ``'PGD'``; a class object -> its name."""
    kind = attack_cfg.get('type', '') if isinstance(attack_cfg, dict) else ''
    if not isinstance(kind, str):
        kind = getattr(kind, '__name__', str(kind))
    return kind.split('.')[-1]


# --------------------------------------------------------------------------- checks
def _fail(where: str, message: str):
    raise ConfigError(f'robustness suite: {where}: {message}')


def _check_int(where, key, value, low=1, allow_none=True):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        _fail(where, f'{key} must be an int >= {low}{" or None" if allow_none else ""}, '
              f'got {value!r}')
    return int(value)


def _check_number(where, key, value, positive=False):
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    ok = ok and (value > 0 if positive else value >= 0) and value < float('inf')
    if not ok:
        _fail(where, f'{key} must be a finite number {"> 0" if positive else ">= 0"}, '
              f'got {value!r}')
    return float(value)


def _check_dict(where, key, value, allow_none=True):
    if value is None and allow_none:
        return None
    if not isinstance(value, dict):
        _fail(where, f'{key} must be a dict, got {type(value).__name__}')
    return to_builtin(value)


def _check_generator(where, value):
    """``dict(config=..., checkpoint=...)``, or such dicts keyed by task."""
    if value is None:
        return None
    if not isinstance(value, dict):
        _fail(where, f'generator must be dict(config=..., checkpoint=...) or such dicts '
              f'per task, got {type(value).__name__}')
    value = to_builtin(value)
    if set(value) & set(TASKS):
        unknown = sorted(set(value) - set(TASKS))
        if unknown:
            _fail(where, f'generator: unknown task(s) {unknown}; expected {TASKS}')
        for task, gen in value.items():
            _check_generator(f'{where}: generator.{task}', gen)
        return value
    missing = [k for k in ('config', 'checkpoint') if not isinstance(value.get(k), str)]
    if missing:
        _fail(where, f'generator needs config and checkpoint file names, missing '
              f'{missing}')
    return value


def check_entry(entry: Any, index: int, suite_dir: Optional[str] = None) -> dict:
    """Validate one suite entry; return it as a plain dict with its defaults filled."""
    where = f'entry {index}'
    if not isinstance(entry, dict):
        _fail(where, f'an entry must be a dict(name=..., kind=...), got '
              f'{type(entry).__name__}')
    entry = to_builtin(entry)
    name = entry.get('name')
    if not isinstance(name, str) or not name.strip() or '/' in name:
        _fail(where, f'name must be a non-empty string without "/", got {name!r}')
    where = f'entry {name!r}'
    kind = entry.get('kind')
    if kind not in KINDS:
        _fail(where, f'unknown kind {kind!r}; expected one of {KINDS}')
    allowed = COMMON_KEYS + KIND_KEYS[kind]
    unknown = sorted(set(entry) - set(allowed))
    if unknown:
        _fail(where, f'unknown key(s) {unknown} for kind {kind!r}; it takes '
              f'{sorted(allowed)}')
    out = dict(entry)
    out['num_images'] = _check_int(where, 'num_images', entry.get('num_images'))
    out['batch_size'] = _check_int(where, 'batch_size', entry.get('batch_size'))
    out['subset'] = entry.get('subset', 'even')
    if out['subset'] not in SUBSETS:
        _fail(where, f'subset must be one of {SUBSETS}, got {out["subset"]!r}')
    family = entry.get('family')
    if family is not None and not isinstance(family, str):
        _fail(where, f'family must be a string, got {family!r}')
    split = entry.get('split', 'val')
    if kind == 'split' and 'split' not in entry:
        _fail(where, "kind 'split' needs split='val_ood' (or 'val')")
    if kind == 'clean' and split != 'val':
        _fail(where, "kind 'clean' evaluates 'val'; use kind 'split' for another split")
    if split not in EVAL_SPLITS:
        _fail(where, f'split must be one of {EVAL_SPLITS}, got {split!r}')
    out['split'] = split

    if kind == 'attack':
        attack = entry.get('attack')
        if isinstance(attack, str):
            if not attack.endswith('.py'):
                _fail(where, f'attack must be a config dict or a .py attack config file, '
                      f'got {attack!r}')
            out['attack'] = resolve_path(attack, suite_dir)
        elif isinstance(attack, dict):
            if 'type' not in attack:
                _fail(where, 'the attack dict has no "type"')
        else:
            _fail(where, 'attack must be a config dict (type=...) or a .py attack config '
                  f'file, got {attack!r}')
        out['attack_options'] = _check_dict(where, 'attack_options',
                                            entry.get('attack_options')) or {}
        out['victim'] = _check_dict(where, 'victim', entry.get('victim'))
    elif kind == 'universal':
        for key, default in UNIVERSAL_DEFAULTS.items():
            out[key] = entry.get(key, default)
        out['eps'] = _check_number(where, 'eps', out['eps'])
        out['alpha'] = _check_number(where, 'alpha', out['alpha'], positive=True)
        if out['norm'] not in ('linf', 'l2'):
            _fail(where, f"norm must be 'linf' or 'l2', got {out['norm']!r}")
        out['iters'] = _check_int(where, 'iters', out['iters'], allow_none=False)
        out['train_batch_size'] = _check_int(where, 'train_batch_size',
                                             out['train_batch_size'])
        if out['train_split'] not in ('train', 'val', 'val_ood'):
            _fail(where, f"train_split must be 'train', 'val' or 'val_ood', got "
                  f"{out['train_split']!r}")
        if out['fit'] not in ('crop', 'resize', 'tile'):
            _fail(where, f"fit must be 'crop', 'resize' or 'tile', got {out['fit']!r}")
        out['seed'] = _check_int(where, 'seed', out['seed'], low=0, allow_none=False)
        out['victim'] = _check_dict(where, 'victim', out['victim'])
    elif kind == 'granularity':
        attack = _check_dict(where, 'attack', entry.get('attack')) or {}
        attack.setdefault('type', LAYER_ATTACK)
        for key in ('layer', 'generator'):
            if key in attack:
                _fail(where, f'attack.{key} is set per layer by the suite; use the '
                      f'entry\'s {"layers" if key == "layer" else key}')
        out['attack'] = attack
        out['generator'] = _check_generator(where, entry.get('generator'))
        layers = entry.get('layers')
        if layers is not None and (not isinstance(layers, list) or not layers or not all(
                isinstance(v, str) for v in layers)):
            _fail(where, f'layers must be None (all) or a list of layer names, got '
                  f'{layers!r}')
        out['layers'] = layers
        out['victim'] = _check_dict(where, 'victim', entry.get('victim'))
    elif kind == 'corruption':
        names = entry.get('corruptions', 'all')
        if isinstance(names, str):
            if names not in CORRUPTION_SETS:
                names = [names]  # one name; an unknown one fails when it runs
            else:
                names = list(CORRUPTION_SETS[names])
        if not isinstance(names, list) or not names or not all(
                isinstance(v, str) for v in names):
            _fail(where, "corruptions must be 'all', 'benchmark', 'holdout' or a list of "
                  f'names, got {entry.get("corruptions")!r}')
        if len(set(names)) != len(names):
            _fail(where, f'corruptions lists a name twice: {names}')
        out['corruptions'] = names
        severities = entry.get('severities', list(SEVERITIES))
        if isinstance(severities, numbers.Integral) and not isinstance(severities, bool):
            severities = [severities]
        if (not isinstance(severities, list) or not severities
                or len(set(severities)) != len(severities) or not all(
                    isinstance(s, numbers.Integral) and not isinstance(s, bool)
                    and SEVERITIES[0] <= s <= SEVERITIES[-1] for s in severities)):
            _fail(where, f'severities must be distinct ints from 1 to 5, got '
                  f'{entry.get("severities")!r}')
        out['severities'] = [int(s) for s in severities]
        out['seed'] = _check_int(where, 'seed', entry.get('seed', 0), low=0,
                                 allow_none=False)
    return out


def resolve_path(path: str, suite_dir: Optional[str]) -> str:
    """An absolute path: as given, else relative to the working directory if the file
    is there, else relative to the suite file's folder (missing files stay missing:
    the entry fails when it runs)."""
    if osp.isabs(path):
        return osp.normpath(path)
    if osp.exists(path) or suite_dir is None:
        return osp.abspath(path)
    beside = osp.join(suite_dir, path)
    return osp.abspath(beside if osp.exists(beside) else path)


def _merge(base: dict, override: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) \
                and not value.get('_delete_', False):
            out[key] = _merge(out[key], value)
        else:
            if isinstance(value, dict):
                value = {k: v for k, v in value.items() if k != '_delete_'}
            out[key] = copy.deepcopy(value)
    return out


class Suite:
    """A validated robustness suite (see the module docstring).

    Attributes:
        entries (list[dict]): The validated entries, in order.
        path (str | None): The suite file.
        batch_size (int | None), num_workers (int), metric (str | dict | None),
        generator (dict | None): Suite-level settings.
    """

    def __init__(self, entries: List[dict], path: Optional[str] = None,
                 batch_size: Optional[int] = None, num_workers: int = 0,
                 metric=None, generator: Optional[dict] = None) -> None:
        self.entries = entries
        self.path = path
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.metric = metric
        self.generator = generator

    @property
    def names(self) -> List[str]:
        return [e['name'] for e in self.entries]

    def __len__(self) -> int:
        return len(self.entries)

    def generator_for(self, task: Optional[str]) -> Optional[dict]:
        """The suite's generator for ``task`` (per-task dicts are looked up)."""
        gen = self.generator
        if gen is None or not (set(gen) & set(TASKS)):
            return gen
        return gen.get(task)


def load_suite(source, batch_size: Optional[int] = None) -> Suite:
    """Read and validate a suite: a config file name, a Config or a dict.

    Args:
        source: ``configs/robustness/unseen_digitscenes.py``, a ``Config`` or a dict
            with ``entries`` (and the optional suite-level keys).
        batch_size (int, optional): Overrides the suite's ``batch_size``.

    Raises:
        ConfigError: the suite is malformed (the message says what is expected).
    """
    path = None
    if isinstance(source, str):
        if not osp.isfile(source):
            raise ConfigError(f"robustness suite '{source}' does not exist")
        path = osp.abspath(source)
        try:
            cfg = Config.fromfile(source)
        except ConfigError:
            raise
        except Exception as e:  # syntax errors, bad _base_ ...
            raise ConfigError(f"cannot read robustness suite '{source}': "
                              f'{type(e).__name__}: {e}') from None
        data = cfg.to_dict()
    elif isinstance(source, Config):
        data = source.to_dict()
        path = source.filename
    elif isinstance(source, dict):
        data = to_builtin(source)
    else:
        raise ConfigError(f'a robustness suite must be a file name or a dict, got '
                          f'{type(source).__name__}')
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
            entry = _merge(to_builtin(entry), to_builtin(options[name]))
        entry = check_entry(entry, index, suite_dir)
        if entry['name'] in seen:
            raise ConfigError(f'robustness suite: two entries are named '
                              f'{entry["name"]!r}; names must be unique')
        seen.add(entry['name'])
        checked.append(entry)
    if not checked:
        raise ConfigError('robustness suite: no entries to run')

    suite_batch = data.get('batch_size') if batch_size is None else batch_size
    suite_batch = _check_int('suite', 'batch_size', suite_batch)
    workers = _check_int('suite', 'num_workers', data.get('num_workers', 0), low=0,
                         allow_none=False)
    metric = data.get('metric')
    if metric is not None and not isinstance(metric, (str, dict)):
        raise ConfigError('robustness suite: metric must be a metric key (str), a dict '
                          'per task, or None for the task default')
    generator = _check_generator('suite', data.get('generator'))
    return Suite(checked, path=path, batch_size=suite_batch, num_workers=workers,
                 metric=metric, generator=generator)


# --------------------------------------------------------------------------- attacks
def load_attack_file(path: str) -> Tuple[dict, Optional[dict]]:
    """``(attack, victim)`` from an attack config file.

    Raises:
        ConfigError: the file is missing or defines no ``attack``.
    """
    if not osp.isfile(path):
        raise ConfigError(f"attack config file '{path}' does not exist")
    cfg = Config.fromfile(path)
    if 'attack' not in cfg:
        raise ConfigError(f"attack config file '{path}' defines no `attack = dict(...)`")
    victim = cfg.get('victim')
    return to_builtin(cfg.attack), (to_builtin(victim) if victim is not None else None)


def resolve_attack(entry: dict, generator: Optional[dict] = None
                   ) -> Tuple[dict, Optional[dict]]:
    """The effective ``(attack config, victim options)`` of an 'attack' entry.

    The file (if ``attack`` names one) is read, ``attack_options`` merged over it, the
    entry's ``victim`` over the file's, and a suite ``generator`` filled into a
    generator attack that names none.
    """
    attack = entry['attack']
    victim = None
    if isinstance(attack, str):
        attack, victim = load_attack_file(attack)
    attack = _merge(to_builtin(attack), entry.get('attack_options') or {})
    if entry.get('victim') is not None:
        victim = _merge(victim or {}, entry['victim'])
    if short_type(attack) in GENERATOR_ATTACKS and 'generator' not in attack:
        if generator is None:
            raise ConfigError(f'{attack.get("type")} needs a generator: set '
                              'generator=dict(config=..., checkpoint=...) in the attack '
                              'or in the suite')
        attack['generator'] = copy.deepcopy(generator)
    return attack, victim


def attack_family(attack_cfg: dict) -> Tuple[Tuple[str, ...], Optional[str]]:
    """``(families, mask)`` of an attack config: see :data:`TYPE_FAMILIES`.

    An unknown type is its own family (its lower-case name).
    """
    kind = short_type(attack_cfg)
    families = TYPE_FAMILIES.get(kind, (kind.lower(), ))
    return tuple(families), attack_cfg.get('mask')


def entry_family(entry: dict, generator: Optional[dict] = None
                 ) -> Tuple[Tuple[str, ...], Optional[str]]:
    """The attack family of a suite entry, ``((), None)`` for non-attack kinds.

    An entry's explicit ``family`` wins; 'universal' entries are ``universal``,
    'granularity' ones ``granularity``; an attack whose config cannot be read has no
    family (it is never counted as seen).
    """
    kind = entry['kind']
    if entry.get('family'):
        return (entry['family'], ), None
    if kind == 'universal':
        return ('universal', ), None
    if kind == 'granularity':
        return ('granularity', ), None
    if kind != 'attack':
        return (), None
    try:
        attack, _ = resolve_attack(entry, generator)
    except Exception:  # noqa: BLE001  (the entry itself reports the problem)
        return (), None
    families, mask = attack_family(attack)
    return families[:1], mask


def training_attacks(model_cfg) -> List[dict]:
    """The attack configs the model's config trains with.

    Every entry of ``custom_hooks`` with an ``attack`` whose ``phase`` includes
    training (``'train'`` (the default), ``'both'``, ``'all'`` or a list with
    ``'train'``). A hook without ``attack`` whose type names AdvBN counts as an
    attack of type ``AdvBN`` (feature statistics).
    """
    out = []
    for hook in (model_cfg.get('custom_hooks') or []) if model_cfg is not None else []:
        if not isinstance(hook, dict):
            continue
        hook = to_builtin(hook)
        phase = hook.get('phase', 'train')
        phases = [phase] if isinstance(phase, str) else list(phase or [])
        trains = any(p in ('train', 'both', 'all') for p in phases)
        if isinstance(hook.get('attack'), dict) and trains:
            out.append(hook['attack'])
        elif 'advbn' in str(hook.get('type', '')).lower():
            out.append(dict(type='AdvBN'))
    return out


def covers(trained: Tuple[Tuple[str, ...], Optional[str]],
           entry: Tuple[Tuple[str, ...], Optional[str]]) -> bool:
    """Whether a training attack's family covers a suite entry's.

    Same family, and the training attack perturbs the whole image (mask ``None``) or
    the same region as the entry: a model trained with full-image PGD has seen
    background-only PGD, one trained with background PGD has not seen full-image PGD.
    """
    train_families, train_mask = trained
    entry_families, entry_mask = entry
    if not set(train_families) & set(entry_families):
        return False
    return train_mask is None or train_mask == entry_mask


def trained_on(suite: Suite, model_cfg, task: Optional[str] = None
               ) -> Tuple[List[str], List[str]]:
    """``(seen entry names, training attack types)`` of a model on a suite."""
    attacks = training_attacks(model_cfg)
    families = [attack_family(a) for a in attacks]
    generator = suite.generator_for(task)
    seen = []
    for entry in suite.entries:
        fam = entry_family(entry, generator)
        if fam[0] and any(covers(t, fam) for t in families):
            seen.append(entry['name'])
    return seen, [short_type(a) for a in attacks]


def iter_corruption_units(entry: dict) -> Iterable[Tuple[str, Optional[int]]]:
    """``(corruption, severity)`` of a corruption entry; ``('clean', 0)`` first."""
    yield 'clean', 0
    for name in entry['corruptions']:
        for severity in entry['severities']:
            yield name, severity


__all__ = ['KINDS', 'Suite', 'load_suite', 'check_entry', 'config_hash', 'plain',
           'to_builtin',
           'subset_indices', 'resolve_attack', 'load_attack_file', 'attack_family',
           'entry_family', 'training_attacks', 'trained_on', 'covers', 'TYPE_FAMILIES',
           'file_signature', 'short_type', 'iter_corruption_units']
