"""A plain image classifier built on an OpenMMLab backbone."""
import logging
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import print_log
from mmengine.model import BaseModel

from mmgat.registry import MODELS
from mmgat.structures import ClsDataSample

ForwardResults = Union[torch.Tensor, Dict[str, torch.Tensor], List[ClsDataSample]]


@MODELS.register_module()
class ImageClassifier(BaseModel):
    """Backbone + global average pooling + (dropout) + linear classifier.

    It follows the mmengine / mmdet model protocol, so it trains and evaluates
    with the same Runner, loops and hooks as the detectors and segmentors:
    ``forward(inputs, data_samples, mode)`` with ``mode`` one of

    - ``'tensor'``: logits of shape ``[N, num_classes]``;
    - ``'loss'``: ``dict(loss_cls=..., accuracy=...)`` where ``accuracy`` is a
      detached top-1 accuracy in [0, 1] (only logged);
    - ``'predict'``: a list of :class:`ClsDataSample` with ``pred_score``
      (softmax, ``[num_classes]``) and ``pred_label`` (``[1]``) set. They are
      shallow copies of the given samples (ground truth and meta information
      kept); the given samples are not modified.

    ``inputs`` is the normalized float batch made by the data preprocessor;
    nothing in ``'tensor'`` or ``'loss'`` mode detaches it, so attacks can
    differentiate the loss with respect to it.

    Args:
        backbone (dict): Config of the backbone, built with mmgat's ``MODELS``
            (an mmdet backbone is named ``'mmdet.ResNet'``). A backbone that
            returns a tuple of feature maps is fine: the last one is used.
        num_classes (int): Number of classes.
        in_channels (int): Channels of the last backbone feature map.
        data_preprocessor (dict or nn.Module, optional): Config of the data
            preprocessor, e.g. ``dict(type='ImgDataPreprocessor', ...)``.
        label_smoothing (float): Label smoothing of the cross-entropy loss.
            Defaults to 0.
        dropout (float): Dropout probability before the linear layer.
            Defaults to 0.
        init_cfg (dict or list[dict], optional): Initialization config.

    Example:
        >>> model = dict(
        ...     type='ImageClassifier',
        ...     backbone=dict(
        ...         type='mmdet.ResNet', depth=18, base_channels=32,
        ...         num_stages=4, out_indices=(3, ), norm_cfg=dict(type='BN'),
        ...         norm_eval=False, style='pytorch'),
        ...     num_classes=10,
        ...     in_channels=256,  # ResNet-18 last stage: 8 * base_channels
        ...     data_preprocessor=dict(
        ...         type='ImgDataPreprocessor', mean=[127.5] * 3,
        ...         std=[127.5] * 3, bgr_to_rgb=True))
    """

    def __init__(self,
                 backbone: dict,
                 num_classes: int,
                 in_channels: int,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 label_smoothing: float = 0.0,
                 dropout: float = 0.0,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f'num_classes must be a positive int, got {num_classes!r}')
        if not isinstance(in_channels, int) or in_channels < 1:
            raise ValueError(f'in_channels must be a positive int, got {in_channels!r}')
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f'label_smoothing must be in [0, 1), got {label_smoothing}')
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f'dropout must be in [0, 1), got {dropout}')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.label_smoothing = label_smoothing

        self.backbone = MODELS.build(backbone)
        if getattr(self.backbone, 'norm_eval', False):
            # mmdet's ResNet defaults to norm_eval=True (meant for fine-tuning
            # ImageNet weights); from scratch, BN would never normalize.
            print_log(
                'ImageClassifier: the backbone has norm_eval=True, so its norm '
                'layers stay in eval mode while training; set norm_eval=False in '
                'the backbone config to train them.',
                logger='current', level=logging.WARNING)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc = nn.Linear(in_channels, num_classes)

    def extract_feat(self, inputs: torch.Tensor) -> torch.Tensor:
        """Return the last backbone feature map, shape ``[N, in_channels, h, w]``."""
        feats = self.backbone(inputs)
        if isinstance(feats, (tuple, list)):
            feats = feats[-1]
        if feats.ndim != 4 or feats.shape[1] != self.in_channels:
            raise ValueError(
                f'ImageClassifier: the backbone gives features of shape '
                f'{tuple(feats.shape)}, but in_channels={self.in_channels}; '
                'set in_channels to the channels of its last feature map')
        return feats

    def _logits(self, inputs: torch.Tensor) -> torch.Tensor:
        feat = self.pool(self.extract_feat(inputs)).flatten(1)
        return self.fc(self.dropout(feat))

    def _gt_labels(self, data_samples: Optional[Sequence[ClsDataSample]],
                   device: torch.device) -> torch.Tensor:
        if not data_samples:
            raise ValueError('ImageClassifier.loss needs data_samples with gt_label')
        try:
            labels = torch.cat([s.gt_label.reshape(1) for s in data_samples])
        except AttributeError as e:
            raise ValueError('ImageClassifier.loss: a data sample has no gt_label') from e
        labels = labels.to(device=device, dtype=torch.long)
        # An out-of-range label is a device-side assert on CUDA: fail clearly instead.
        if labels.numel() and (int(labels.min()) < 0
                               or int(labels.max()) >= self.num_classes):
            raise ValueError(
                f'gt_label out of range [0, {self.num_classes}): '
                f'{labels.tolist()}')
        return labels

    def loss(self, inputs: torch.Tensor,
             data_samples: Sequence[ClsDataSample]) -> Dict[str, torch.Tensor]:
        """Cross-entropy loss (differentiable w.r.t. ``inputs``) and logged accuracy."""
        logits = self._logits(inputs)
        labels = self._gt_labels(data_samples, logits.device)
        if labels.numel() != logits.shape[0]:
            raise ValueError(f'{logits.shape[0]} inputs but {labels.numel()} labels')
        loss = F.cross_entropy(logits, labels, label_smoothing=self.label_smoothing)
        with torch.no_grad():
            accuracy = (logits.argmax(dim=1) == labels).float().mean()
        return dict(loss_cls=loss, accuracy=accuracy)

    def predict(self,
                inputs: torch.Tensor,
                data_samples: Optional[Sequence[ClsDataSample]] = None
                ) -> List[ClsDataSample]:
        """Predict classes; returns new data samples with ``pred_score`` / ``pred_label``."""
        logits = self._logits(inputs)
        scores = F.softmax(logits.detach().float(), dim=1)
        labels = scores.argmax(dim=1, keepdim=True)
        if data_samples is None:
            data_samples = [ClsDataSample() for _ in range(scores.shape[0])]
        elif len(data_samples) != scores.shape[0]:
            raise ValueError(f'{scores.shape[0]} inputs but {len(data_samples)} '
                             'data samples')
        results = []
        for sample, score, label in zip(data_samples, scores, labels):
            # new() copies fields by reference: cheap, and the caller's
            # sample (e.g. clean predictions before an attack) stays intact.
            result = sample.new()
            result.pred_score = score
            result.pred_label = label
            results.append(result)
        return results

    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[Sequence[ClsDataSample]] = None,
                mode: str = 'tensor') -> ForwardResults:
        if mode == 'tensor':
            return self._logits(inputs)
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}". '
                           'Only supports loss, predict and tensor mode')
