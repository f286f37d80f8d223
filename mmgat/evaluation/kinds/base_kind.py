"""What an entry kind is, and the value checks the kinds share.

A kind is a class registered in :data:`mmgat.registry.ENTRY_KINDS` under the name a
suite entry gives as ``kind``. It declares its own keys (:attr:`EntryKind.keys`),
checks an entry (:meth:`EntryKind.check`), says which attack family its entries belong
to (:meth:`EntryKind.family`, for the seen / unseen logic) and whether they are
attacks (:attr:`EntryKind.is_attack`: they enter the unseen mean), and yields the
entry's units (:meth:`EntryKind.units`). The runner
(:class:`~mmgat.evaluation.RobustnessSuite`) does the rest: hashing, resume, saving.

A unit is ``Unit(key, spec, run)``: ``key`` is None for a single-unit entry (else the
unit's name inside the entry, e.g. ``'fog/3'``), ``spec`` the dict whose hash decides
whether an earlier result can be reused, and ``run(desc, info, digest) -> (metrics,
num_images)`` evaluates it (``info``: a dict the unit may fill for the record).
"""
import os.path as osp
from typing import Any, Callable, List, NamedTuple, NoReturn, Optional, Tuple

from mmgat.registry import ENTRY_KINDS
from mmgat.utils.checks import check_int, check_number
from mmgat.utils.errors import ConfigError
from mmgat.utils.plain_config import to_builtin

#: Task names a per-task setting (e.g. a suite's ``generator``) may be keyed by.
TASKS = ('detection', 'segmentation', 'classification')


class Unit(NamedTuple):
    key: Optional[str]
    spec: dict
    run: Callable[[str, dict, str], Tuple[dict, int]]


# --------------------------------------------------------------------------- checks
def fail(where: str, message: str) -> NoReturn:
    """Raise the :class:`ConfigError` of a malformed suite."""
    raise ConfigError(f'robustness suite: {where}: {message}')


def entry_int(where: str, key: str, value, low: int = 1,
              allow_none: bool = True) -> Optional[int]:
    return check_int(key, value, low=low, allow_none=allow_none,
                     prefix=f'robustness suite: {where}: ')


def entry_number(where: str, key: str, value, positive: bool = False) -> float:
    return check_number(key, value, 0.0, inclusive=not positive,
                        prefix=f'robustness suite: {where}: ')


def entry_dict(where: str, key: str, value, allow_none: bool = True) -> Optional[dict]:
    if value is None and allow_none:
        return None
    if not isinstance(value, dict):
        fail(where, f'{key} must be a dict, got {type(value).__name__}')
    return to_builtin(value)


def setting_with_defaults(name: str, value, defaults: dict) -> dict:
    """A suite-level setting given as a dict: its keys checked against ``defaults``
    and the missing ones filled (values are checked by the caller)."""
    if not isinstance(value, dict):
        keys = ', '.join(f'{k}=...' for k in defaults)
        raise ConfigError(f'robustness suite: {name} must be dict({keys}), got '
                          f'{type(value).__name__}')
    value = to_builtin(value)
    unknown = sorted(set(value) - set(defaults))
    if unknown:
        raise ConfigError(f'robustness suite: {name}: unknown key(s) {unknown}; it '
                          f'takes {sorted(defaults)}')
    return dict(defaults, **value)


def check_generator(where: str, value) -> Optional[dict]:
    """``dict(config=..., checkpoint=...)``, or such dicts keyed by task."""
    if value is None:
        return None
    if not isinstance(value, dict):
        fail(where, f'generator must be dict(config=..., checkpoint=...) or such dicts '
             f'per task, got {type(value).__name__}')
    value = to_builtin(value)
    if set(value) & set(TASKS):
        unknown = sorted(set(value) - set(TASKS))
        if unknown:
            fail(where, f'generator: unknown task(s) {unknown}; expected {TASKS}')
        return {task: check_generator(f'{where}: generator.{task}', gen)
                for task, gen in value.items()}
    missing = [k for k in ('config', 'checkpoint') if not isinstance(value.get(k), str)]
    if missing:
        fail(where, f'generator needs config and checkpoint file names, missing '
             f'{missing}')
    return value


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


# --------------------------------------------------------------------------- kinds
class EntryKind:
    """Base of the entry kinds (see the module docstring).

    Subclasses are registered with ``@ENTRY_KINDS.register_module(name='<kind>')``.
    """

    #: The keys an entry of this kind may set besides the common ones.
    keys: Tuple[str, ...] = ()
    #: Whether its entries are attacks (they enter the mean over unseen attacks).
    is_attack: bool = False
    #: The unit whose score is the entry's; None: the mean over its units (but
    #: ``'clean'``).
    score_unit: Optional[str] = None

    def check_split(self, entry: dict, split: str, where: str) -> None:
        """Refuse a split this kind cannot evaluate (before the generic split check)."""

    def check(self, entry: dict, out: dict, where: str, suite_dir: Optional[str]) -> None:
        """Validate the kind's own keys of ``entry`` into ``out`` (defaults filled)."""

    def family(self, entry: dict, generator: Optional[dict]
               ) -> Tuple[Tuple[str, ...], Optional[str]]:
        """``(families, mask)`` of the entry: ``((), None)`` when it is no attack."""
        return (), None

    def units(self, entry: dict, rec: dict, ctx) -> List[Unit]:
        """The entry's units. ``rec`` is the entry's record (fields may be added);
        ``ctx`` is the running :class:`~mmgat.evaluation.RobustnessSuite`."""
        raise NotImplementedError


def kind_names() -> Tuple[str, ...]:
    """The registered kinds, in registration order."""
    return tuple(ENTRY_KINDS.module_dict)


def get_kind(name: Any) -> Optional[EntryKind]:
    """An instance of the kind registered as ``name``, or None."""
    cls = ENTRY_KINDS.get(name) if isinstance(name, str) else None
    return cls() if cls is not None else None


def attack_kinds() -> List[str]:
    """The kinds whose entries are attacks (they enter the unseen mean)."""
    return [name for name, cls in ENTRY_KINDS.module_dict.items() if cls.is_attack]


__all__ = ['EntryKind', 'Unit', 'TASKS', 'fail', 'entry_int', 'entry_number',
           'entry_dict', 'check_generator', 'setting_with_defaults', 'resolve_path',
           'kind_names', 'get_kind', 'attack_kinds']
