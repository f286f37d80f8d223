"""Validators of config values: one place for "an int >= 1", "a finite number > 0".

Each returns the value as a Python ``int`` / ``float`` or raises
:class:`~mmgat.utils.errors.ConfigError` with ``'<name> must be ..., got <value>'``
(``prefix`` goes in front, e.g. ``'robustness suite: entry 'pgd': '``).
"""
import numbers
from typing import Optional

from .errors import ConfigError


def is_int(value) -> bool:
    """An integral number that is not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real(value) -> bool:
    """A real number that is not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_int(name: str, value, low: Optional[int] = None, allow_none: bool = False,
              prefix: str = '') -> Optional[int]:
    """``value`` as an int, if it is one and ``>= low``."""
    if value is None and allow_none:
        return None
    if not is_int(value) or (low is not None and value < low):
        bound = f' >= {low}' if low is not None else ''
        none = ' or None' if allow_none else ''
        raise ConfigError(f'{prefix}{name} must be an int{bound}{none}, got {value!r}')
    return int(value)


def check_number(name: str, value, low: float = 0.0, inclusive: bool = True,
                 allow_none: bool = False, prefix: str = '') -> Optional[float]:
    """``value`` as a float, if it is a finite number ``>= low`` (``> low`` unless
    ``inclusive``)."""
    if value is None and allow_none:
        return None
    ok = is_real(value) and (value >= low if inclusive else value > low) \
        and value < float('inf')
    if not ok:
        bound = f'>= {low:g}' if inclusive else f'> {low:g}'
        raise ConfigError(f'{prefix}{name} must be a finite number {bound}, got '
                          f'{value!r}')
    return float(value)


def check_positive(name: str, value, prefix: str = '') -> float:
    """A finite number > 0."""
    return check_number(name, value, 0.0, inclusive=False, prefix=prefix)


def check_seed(value) -> int:
    """A seed: any int."""
    if not is_int(value):
        raise ConfigError(f'seed must be an int, got {value!r}')
    return int(value)


def check_steps(value) -> int:
    """A number of steps: an int >= 1."""
    return check_int('steps', value, low=1)


__all__ = ['is_int', 'is_real', 'check_int', 'check_number', 'check_positive',
           'check_seed', 'check_steps']
