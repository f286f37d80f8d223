"""Early checks of config overrides, so a typo fails at start with the key's name.

mmengine merges ``--cfg-options`` blindly: ``model.backbone.detph=34`` silently adds a
key that only fails much later, deep inside a constructor, or - for a top-level key such
as ``trian_cfg`` - is ignored altogether. :func:`check_cfg_options` refuses a key unless
it already exists or the component it belongs to accepts it as a constructor argument.
"""
import difflib
import importlib
import inspect
from typing import Iterable, Optional

import mmengine.registry as mmengine_registry
from mmengine.config import Config
from mmengine.runner import Runner

from .errors import ConfigError

# Top-level keys the mmengine Runner (or mmgat's tools) read besides Runner's arguments.
_EXTRA_TOP_LEVEL_KEYS = {
    'runner_type', 'default_scope', 'custom_imports', 'model_wrapper_cfg',
    'find_unused_parameters', 'auto_scale_lr', 'resume', 'load_from', 'work_dir',
    'ood_test_dataloader', 'ood_test_evaluator', 'tta_model', 'tta_pipeline',
}

_ROOT_REGISTRIES = [
    getattr(mmengine_registry, name) for name in dir(mmengine_registry)
    if isinstance(getattr(mmengine_registry, name), mmengine_registry.Registry)
]


def _resolve_types(type_name, scope: Optional[str]):
    """All classes or functions that ``type_name`` may name, over every registry."""
    if not isinstance(type_name, str):
        return [type_name]
    if scope:
        try:  # builds the scope's registry tree, as mmengine does on first use
            importlib.import_module(f'{scope}.registry')
        except ImportError:
            pass
    found = []
    for root in _ROOT_REGISTRIES:
        # The registry of the config's default scope (mmdet, mmseg, mmgat) in this tree;
        # Registry.get then also searches its parents and 'scope.Name' prefixes.
        registry = root._search_child(scope) if scope else None
        if registry is None:  # (a Registry with no entries yet is falsy: no `or`)
            registry = root
        try:
            obj = registry.get(type_name)
        except Exception:  # an unrelated registry failing to import is not our concern
            obj = None
        if obj is not None and obj not in found:
            found.append(obj)
    return found


def accepted_arguments(obj) -> Optional[set]:
    """Names ``obj``'s constructor accepts, or None when it takes any keyword.

    ``**kwargs`` forwarded to a base class are followed up the MRO, as mmdet's datasets
    forward theirs to mmengine's BaseDataset.
    """
    if inspect.isclass(obj):
        # Only classes that define their own __init__ (mixins often do not).
        targets = [c.__dict__['__init__'] for c in inspect.getmro(obj)
                   if '__init__' in c.__dict__ and c is not object]
    else:
        targets = [obj]
    names = set()
    for target in targets:
        try:
            params = inspect.signature(target).parameters.values()
        except (TypeError, ValueError):
            return None
        names.update(p.name for p in params if p.name != 'self'
                     and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL))
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            return names
    return None if not inspect.isclass(obj) else names


def _type_accepts(node: dict, key: str, scope: Optional[str]) -> bool:
    candidates = _resolve_types(node['type'], scope)
    if not candidates:
        return True  # unknown type: its own build will report it
    for obj in candidates:
        names = accepted_arguments(obj)
        if names is None or key in names:
            return True
    return False


def _top_level_keys() -> set:
    params = inspect.signature(Runner.__init__).parameters
    return set(params) - {'self'} | _EXTRA_TOP_LEVEL_KEYS


def _unknown(path: str, key: str, choices: Iterable[str], hint: str = '') -> ConfigError:
    choices = sorted(str(c) for c in choices)
    close = difflib.get_close_matches(key, choices, n=3)
    msg = f"unknown config key '{path}'"
    if close:
        msg += f"; did you mean {' or '.join(repr(c) for c in close)}?"
    elif choices:
        msg += f"; existing keys there: {', '.join(choices[:20])}"
    return ConfigError(msg + hint)


def check_cfg_option_key(cfg: Config, key: str) -> None:
    """Raise :class:`ConfigError` if ``key`` (dotted path) names nothing ``cfg`` knows."""
    scope = cfg.get('default_scope')
    node = cfg._cfg_dict if isinstance(cfg, Config) else cfg
    parts = key.split('.')
    for depth, part in enumerate(parts):
        path = '.'.join(parts[:depth + 1])
        if isinstance(node, (list, tuple)):
            if not part.lstrip('-').isdigit() or not -len(node) <= int(part) < len(node):
                raise ConfigError(f"config key '{path}': '{'.'.join(parts[:depth])}' is "
                                  f'a list of {len(node)} items, {part!r} is no index in it')
            node = node[int(part)]
            continue
        if not isinstance(node, dict):
            # Overriding inside a scalar: mmengine would replace it by a dict.
            raise ConfigError(f"config key '{path}': "
                              f"'{'.'.join(parts[:depth])}' is {node!r}, not a dict")
        if part in node:
            node = node[part]
            continue
        if depth == 0:
            if part in _top_level_keys():
                if len(parts) > 1 and parts[1].lstrip('-').isdigit():
                    # mmengine would make a dict {'0': ...} where the runner wants a list
                    raise ConfigError(f"config key '{key}': the config sets no '{part}', "
                                      f"so {parts[1]!r} is no index in it (give the "
                                      f"whole list: {part}=[...])")
                return
            raise _unknown(path, part, list(node.keys()),
                           hint=' (the runner ignores unknown top-level keys)')
        if 'type' in node:
            if _type_accepts(node, part, scope):
                return
            raise _unknown(path, part, [k for k in node.keys() if k != 'type'],
                           hint=f" ({node['type']} takes no argument {part!r})")
        raise _unknown(path, part, list(node.keys()))


def check_cfg_options(cfg: Config, options: Optional[dict]) -> None:
    """Check every key of ``--cfg-options`` against ``cfg`` before merging them."""
    for key in options or {}:
        check_cfg_option_key(cfg, key)
