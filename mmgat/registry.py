"""mmgat's registries.

Each one is a child of the matching mmengine root, so that a config whose ``default_scope``
is ``mmdet`` or ``mmseg`` can still name an mmgat component as ``type='mmgat.Name'``,
and a config with ``default_scope='mmgat'`` still finds mmcv / mmengine components
(``LoadImageFromFile``, ``OptimWrapper``, ...) through the parent.
"""
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

DATASETS = Registry('dataset', parent=MMENGINE_DATASETS, scope='mmgat',
                    locations=['mmgat.datasets'])
TRANSFORMS = Registry('transform', parent=MMENGINE_TRANSFORMS, scope='mmgat',
                      locations=['mmgat.transforms', 'mmgat.datasets'])
MODELS = Registry('model', parent=MMENGINE_MODELS, scope='mmgat',
                  locations=['mmgat.models', 'mmgat.generators'])
MODEL_WRAPPERS = Registry('model_wrapper', parent=MMENGINE_MODEL_WRAPPERS,
                          scope='mmgat', locations=['mmgat.utils'])
METRICS = Registry('metric', parent=MMENGINE_METRICS, scope='mmgat',
                   locations=['mmgat.models', 'mmgat.evaluation'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, scope='mmgat',
                 locations=['mmgat.hooks', 'mmgat.utils'])
# Weight initializers named in a module's init_cfg (``type='mmgat.ResNetDefaultInit'``).
WEIGHT_INITIALIZERS = Registry('weight initializer', parent=MMENGINE_WEIGHT_INITIALIZERS,
                               scope='mmgat', locations=['mmgat.models'])
# Adversarial attacks: built from config, called as attack(victim, pixels, data_samples).
# A root of its own: an mmengine root registry takes one child per scope, and 'mmgat' is
# already the scope of MODELS' child.
ATTACKS = Registry('attack', scope='mmgat', locations=['mmgat.attacks'])
# Kinds of robustness-suite entries (clean, attack, corruption, ...): classes that check
# an entry and yield its units; a user's package registers its own the same way.
ENTRY_KINDS = Registry('robustness entry kind', scope='mmgat',
                       locations=['mmgat.evaluation.kinds'])
# Generators (GAT) are mmengine BaseModels that the Runner must find as `model=...`, so
# they live in MODELS; GENERATORS names the same registry.
GENERATORS = MODELS

__all__ = ['DATASETS', 'TRANSFORMS', 'MODELS', 'MODEL_WRAPPERS', 'METRICS', 'HOOKS',
           'WEIGHT_INITIALIZERS', 'ATTACKS', 'ENTRY_KINDS', 'GENERATORS']
