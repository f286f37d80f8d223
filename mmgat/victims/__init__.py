"""Victims: one adapter per task between an OpenMMLab model and the attacks.

Use :func:`build_victim` to get the right adapter for a model.
"""
import inspect

import torch.nn as nn

from mmgat.utils.errors import ConfigError
from .base_victim import VALID_SHAPE_KEY, BaseVictim, unwrap_model
from .classifier_victim import ClassifierVictim
from .detector_victim import DetectorVictim
from .mixed_precision import amp_dtype_of, check_autocast
from .pipeline_frame import loads_boxes_after_resize, victim_options_for_pipeline
from .segmentor_victim import SegmentorVictim


def victim_class(model: nn.Module) -> type:
    """The victim adapter class of a model's task (ConfigError if there is none)."""
    bare = unwrap_model(model)
    if _is_instance(bare, 'mmgat.models', 'ImageClassifier'):
        return ClassifierVictim
    if _is_instance(bare, 'mmdet.models.detectors', 'BaseDetector'):
        return DetectorVictim
    if _is_instance(bare, 'mmseg.models.segmentors', 'BaseSegmentor'):
        return SegmentorVictim
    raise ConfigError(
        f'no victim adapter for {type(bare).__name__}: expected an mmdet '
        'BaseDetector, an mmseg BaseSegmentor or an mmgat ImageClassifier')


def model_task(model: nn.Module) -> str:
    """'detection', 'segmentation' or 'classification' (the victim class's task)."""
    return victim_class(model).task


def _is_instance(model: nn.Module, module: str, name: str) -> bool:
    """``isinstance(model, module.name)``, False when ``module`` is not installed."""
    try:
        cls = getattr(__import__(module, fromlist=[name]), name)
    except ImportError:
        return False
    return isinstance(model, cls)


def build_victim(model: nn.Module, **cfg) -> BaseVictim:
    """Wrap a model in the victim adapter of its task.

    mmdet / mmseg are imported only when needed, so a classification-only setup
    does not require them.

    Args:
        model (nn.Module): An mmdet ``BaseDetector``, an mmseg ``BaseSegmentor`` or
            an :class:`mmgat.models.ImageClassifier`, possibly DDP-wrapped.
        **cfg: Keyword arguments of the adapter, e.g. ``loss_keys``,
            ``background_classes``, ``gt_frame`` (detection), ``ignore_index``
            (segmentation), and ``autocast`` (``'bf16'`` / ``'fp16'``: the model's
            forward under that autocast, see :mod:`mmgat.victims.mixed_precision`).

    Example:
        >>> victim = build_victim(runner.model, loss_keys=None, background_classes=[0])
    """
    cfg = dict(cfg)
    dtype = check_autocast(cfg.pop('autocast', None))
    bare = unwrap_model(model)
    cls = victim_class(bare)
    allowed = [name for name in inspect.signature(cls.__init__).parameters
               if name not in ('self', 'model')]
    unknown = sorted(set(cfg) - set(allowed))
    if unknown:
        raise ConfigError(f'unknown victim option(s) {unknown} for {cls.__name__}; '
                          f'it takes {allowed}')
    victim = cls(bare, **cfg)
    victim.autocast_dtype = dtype
    return victim


__all__ = ['BaseVictim', 'DetectorVictim', 'SegmentorVictim', 'ClassifierVictim',
           'build_victim', 'victim_class', 'model_task', 'unwrap_model',
           'VALID_SHAPE_KEY', 'loads_boxes_after_resize', 'victim_options_for_pipeline',
           'check_autocast', 'amp_dtype_of']
