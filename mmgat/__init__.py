"""mmgat: adversarial and generative adversarial training for OpenMMLab.

Importing mmgat registers all its components in the mmgat registries and makes
mmengine checkpoints load safely (``weights_only=True`` with an explicit allowlist)
under torch>=2.6.
"""
from .version import __version__
from .utils import compat as _compat  # noqa: F401  (installs the safe checkpoint loader)
from . import (attacks, datasets, evaluation, generators, hooks, models,  # noqa: F401,E402
               structures, transforms, utils, victims)

__all__ = ['__version__']
