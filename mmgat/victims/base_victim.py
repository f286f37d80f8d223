"""The victim: what an attack sees of a model.

A victim wraps an mmengine model (detector, segmentor or classifier) and gives attacks a
task-independent view of it: float pixels in [0, 255] instead of normalised tensors, one
differentiable scalar loss, and masks of where a perturbation may go. Nothing of the
model is patched: the victim only calls the model's own data preprocessor and its
``loss`` / ``predict`` methods.
"""
import copy
from contextlib import contextmanager
from typing import Iterator, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.model import is_model_wrapper

from mmgat.utils.errors import ConfigError
from .mixed_precision import autocast

#: Metainfo key that :meth:`BaseVictim.to_pixels` writes into its (copied) data samples:
#: the image's ``(h, w)`` inside the padded batch. Only the victim's copies carry it.
VALID_SHAPE_KEY = 'mmgat_valid_shape'


def unwrap_model(model: nn.Module) -> nn.Module:
    """Return the bare model inside a DDP / MMDistributedDataParallel / DataParallel.

    Attacks must call the bare model: going through the DDP wrapper would sync
    gradients between ranks (and count the attack's forward passes as training ones).
    """
    while is_model_wrapper(model) or isinstance(
            model, (nn.parallel.DistributedDataParallel, nn.DataParallel)):
        model = model.module
    return model


class BaseVictim:
    """Task-independent adapter between an mmengine model and attacks.

    Pixels are float ``N x C x H x W`` tensors in [0, 255], in the *model's* channel
    order (RGB when the preprocessor has ``bgr_to_rgb=True``), padded to the batch shape
    exactly as the model's data preprocessor pads them.

    Subclasses say how to find the background of an image (:meth:`background_mask`) and
    may prepare the data samples for the loss (:meth:`_prepare_samples`).

    The protocol attacks and evaluation use: :attr:`task`, :meth:`channel_order`,
    :meth:`valid_shape`, :meth:`to_pixels` / :meth:`from_pixels`, :meth:`loss`,
    :meth:`normalize`, :meth:`attack_mode`, the masks, and the capabilities
    :attr:`supports_per_sample_loss` (:meth:`per_sample_loss`),
    :attr:`supports_margin_loss` (``margin_loss``, classifiers) and
    :attr:`supports_pixel_logits` (``pixel_logits`` / ``pixel_labels``, segmentors).

    Args:
        model (nn.Module): The model; a DDP wrapper is unwrapped.
        loss_keys (Sequence[str], optional): Only these entries of the model's loss
            dict are summed into the attack loss (e.g. ``['loss_cls']``). ``None``
            (default) sums every entry whose key contains ``'loss'``.
        background_classes (Sequence[int]): Classes that count as background
            (segmentation). Defaults to ``(0, )``.
    """

    #: 'detection', 'segmentation' or 'classification'.
    task: str = ''
    #: Whether :meth:`per_sample_loss` is implemented (needed by SharedPGD's kappa).
    supports_per_sample_loss = False
    #: Whether ``margin_loss(pixels, data_samples, kappa)`` (logit margin) exists.
    supports_margin_loss = False
    #: The dtype the model's forward runs under (``torch.autocast``); None: float32.
    #: Set with ``build_victim(model, autocast='bf16')``
    #: (:mod:`mmgat.victims.mixed_precision`).
    autocast_dtype: Optional[torch.dtype] = None
    #: Whether ``pixel_logits(pixels, data_samples)`` (``N x K x H x W`` class scores
    #: in the pixel frame) and ``pixel_labels(data_samples, shape)`` exist (needed by
    #: the per-pixel attacks SegPGD / CosPGD).
    supports_pixel_logits = False

    def __init__(self,
                 model: nn.Module,
                 loss_keys: Optional[Sequence[str]] = None,
                 background_classes: Sequence[int] = (0, )) -> None:
        self.model = unwrap_model(model)
        if not hasattr(self.model, 'data_preprocessor'):
            raise ConfigError(f'{type(self.model).__name__} has no data_preprocessor; '
                              'a victim needs an mmengine BaseModel')
        if isinstance(loss_keys, str):
            loss_keys = [loss_keys]
        self.loss_keys = None if loss_keys is None else tuple(loss_keys)
        if isinstance(background_classes, int):
            background_classes = [background_classes]
        self.background_classes = tuple(int(c) for c in background_classes)

    # ------------------------------------------------------------------ preprocessing
    @property
    def preprocessor(self) -> nn.Module:
        return self.model.data_preprocessor

    def _mean_std(self, device: torch.device) -> Tuple[Optional[torch.Tensor],
                                                        Optional[torch.Tensor]]:
        """The preprocessor's mean / std as ``1 x C x 1 x 1`` tensors (None: no norm)."""
        pre = self.preprocessor
        if not getattr(pre, '_enable_normalize', False):
            return None, None
        mean = pre.mean.to(device=device, dtype=torch.float32).view(1, -1, 1, 1)
        std = pre.std.to(device=device, dtype=torch.float32).view(1, -1, 1, 1)
        return mean, std

    def flips_channels(self, channels: int) -> bool:
        """Whether the preprocessor reverses the channel order (BGR <-> RGB)."""
        pre = self.preprocessor
        # mmengine / mmdet name it ``_channel_conversion``, mmseg ``channel_conversion``;
        # both only make sense for 3-channel images.
        flag = getattr(pre, '_channel_conversion', None)
        if flag is None:
            flag = getattr(pre, 'channel_conversion', False)
        return bool(flag) and channels == 3

    def channel_order(self, channels: int) -> str:
        """``'rgb'`` or ``'bgr'``: the order of the victim's pixels. The loaders give
        BGR; a preprocessor with ``bgr_to_rgb`` makes the model's pixels RGB."""
        return 'rgb' if self.flips_channels(channels) else 'bgr'

    def _preprocess_training(self) -> bool:
        """The ``training`` flag to run the preprocessor with (pads, sets shapes)."""
        return True

    @contextmanager
    def _without_batch_augments(self) -> Iterator[None]:
        """Switch off batch augmentations (random resize, mixup...) of the preprocessor.

        They would change the geometry so that the pixels could not be written back;
        the train step applies them to the adversarial images afterwards.
        """
        pre = self.preprocessor
        augments = getattr(pre, 'batch_augments', None)
        if augments is None:
            yield
            return
        pre.batch_augments = None
        try:
            yield
        finally:
            pre.batch_augments = augments

    def normalize(self, pixels: torch.Tensor) -> torch.Tensor:
        """Pixels in [0, 255] -> the model's normalised input (differentiable)."""
        mean, std = self._mean_std(pixels.device)
        if mean is None:
            return pixels
        return (pixels - mean) / std

    def to_pixels(self, data_batch: dict) -> Tuple[torch.Tensor, list, dict]:
        """Run the model's preprocessor on a dataloader batch and undo the normalisation.

        Args:
            data_batch (dict): ``dict(inputs=list of CHW tensors (or an NCHW
                tensor), data_samples=list)`` as a dataloader gives it. It is not
                modified: the preprocessor runs on a deep copy of the data samples.

        Returns:
            tuple: ``(pixels, data_samples, info)``: float pixels ``N x C x H x W``
            in [0, 255] (model channel order, padded batch, on the model's device),
            the preprocessed copies of the data samples (what ``model.loss`` expects)
            and ``info`` for :meth:`from_pixels`.
        """
        if 'inputs' not in data_batch:
            raise ConfigError('the data batch has no "inputs"')
        inputs = data_batch['inputs']
        samples = data_batch.get('data_samples')
        if samples is None:
            raise ConfigError('an attack needs the ground truth: the data batch has no '
                              '"data_samples"')
        if isinstance(inputs, torch.Tensor):
            if inputs.dim() != 4:
                raise ConfigError('batched "inputs" must be N x C x H x W, got shape '
                                  f'{tuple(inputs.shape)}')
            sizes = [tuple(inputs.shape[-2:])] * inputs.shape[0]
            channels = inputs.shape[1]
        else:
            inputs = list(inputs)
            sizes = [tuple(img.shape[-2:]) for img in inputs]
            channels = inputs[0].shape[0]
        batch = dict(inputs=inputs, data_samples=copy.deepcopy(list(samples)))
        with torch.no_grad(), self._without_batch_augments():
            data = self.preprocessor(batch, self._preprocess_training())
        normed = data['inputs'].detach().float()
        mean, std = self._mean_std(normed.device)
        pixels = normed if mean is None else normed * std + mean
        # Clamping keeps "pixels + 0" bit-identical through the attacks' final clamp.
        pixels = pixels.clamp_(0, 255)
        data_samples = list(data['data_samples'])
        for sample, size in zip(data_samples, sizes):
            sample.set_metainfo({VALID_SHAPE_KEY: tuple(int(s) for s in size)})
        info = dict(sizes=sizes, flip=self.flips_channels(channels),
                    batched=isinstance(inputs, torch.Tensor))
        self._prepare_samples(data_samples, pixels.shape)
        return pixels, data_samples, info

    def _prepare_samples(self, data_samples: list, shape: torch.Size) -> None:
        """Adjust the preprocessed sample copies for the loss (in place); hook."""

    def from_pixels(self, pixels: torch.Tensor, info: dict) -> List[torch.Tensor]:
        """Pixels -> per-image float CHW tensors in the dataloader's format.

        The padding is cut off and the channel order restored, so that the result
        can replace ``data_batch['inputs']`` (values stay floats in [0, 255]). Only
        the first ``len(pixels)`` images of ``info`` are used, so a prefix of the
        batch may be converted.
        """
        images = []
        for i in range(pixels.shape[0]):
            h, w = info['sizes'][i]
            img = pixels[i, :, :h, :w].detach().float()
            img = img.flip(0) if info['flip'] else img.clone()
            images.append(img)
        return images

    # ------------------------------------------------------------------ model calls
    def mixed_precision(self, pixels: torch.Tensor):
        """The autocast the model's forward runs under (:attr:`autocast_dtype`); the
        pixels, their normalisation and the reduced losses stay float32."""
        return autocast(pixels.device, self.autocast_dtype)

    def loss(self, pixels: torch.Tensor, data_samples: list) -> torch.Tensor:
        """The attack loss: a scalar, differentiable w.r.t. ``pixels``."""
        inputs = self.normalize(pixels)
        with self.mixed_precision(pixels):
            losses = self.model.loss(inputs, data_samples)
        return self._reduce_losses(losses)

    def per_sample_loss(self, pixels: torch.Tensor, data_samples: list,
                        label_smoothing: float = 0.0) -> torch.Tensor:
        """Per-example losses ``[N]``; only some tasks can give them."""
        raise ConfigError(
            f'{type(self).__name__} cannot give per-example losses (the '
            f'{type(self.model).__name__} loss is computed over the batch); unset '
            'kappa / label_smoothing of the attack')

    def _reduce_losses(self, losses: dict) -> torch.Tensor:
        """Sum the entries of a loss dict whose key contains 'loss' (or ``loss_keys``)."""
        available = [k for k in losses if 'loss' in k]
        if self.loss_keys is not None:
            unknown = [k for k in self.loss_keys if k not in available]
            if unknown:
                raise ConfigError(
                    f'unknown loss key(s) {unknown} in victim loss_keys; the '
                    f'{type(self.model).__name__} gives {available}')
            keys = list(self.loss_keys)
        else:
            keys = available
        if not keys:
            raise ConfigError(f'{type(self.model).__name__}.loss returned no entry '
                              f'whose key contains "loss": {list(losses)}')
        total = 0.
        for key in keys:
            value = losses[key]
            # mmdet returns one loss per feature level as a list (like parse_losses).
            parts = value if isinstance(value, (list, tuple)) else [value]
            for part in parts:
                total = total + part.float().mean()
        return total

    def predict(self, pixels: torch.Tensor, data_samples: list) -> list:
        """The model's predictions on ``pixels`` (eval mode, no gradient)."""
        with torch.no_grad(), self.attack_mode(), self.mixed_precision(pixels):
            return self.model.predict(self.normalize(pixels), data_samples)

    @contextmanager
    def attack_mode(self) -> Iterator['BaseVictim']:
        """Eval mode and frozen parameters for the duration of an attack.

        Eval mode keeps BatchNorm running statistics (and dropout) untouched;
        ``requires_grad=False`` keeps the attack from building gradients for the
        parameters. Each module's train flag and each parameter's ``requires_grad``
        are restored exactly afterwards, also when the attack raises.
        """
        modes = [(module, module.training) for module in self.model.modules()]
        frozen = [p for p in self.model.parameters() if p.requires_grad]
        try:
            self.model.eval()
            for param in frozen:
                param.requires_grad_(False)
            yield self
        finally:
            for param in frozen:
                param.requires_grad_(True)
            for module, mode in modes:
                module.training = mode

    # ------------------------------------------------------------------ masks
    @staticmethod
    def valid_shape(sample, shape: Sequence[int]) -> Tuple[int, int]:
        """``(h, w)`` of a sample's image inside the padded ``shape`` (the whole
        ``shape`` for a sample that :meth:`to_pixels` did not prepare)."""
        if sample is None:
            return tuple(shape[-2:])
        h, w = sample.metainfo.get(VALID_SHAPE_KEY, tuple(shape[-2:]))
        return min(int(h), shape[-2]), min(int(w), shape[-1])

    def valid_mask(self, data_samples: list, shape: Sequence[int],
                   device: Optional[torch.device] = None) -> torch.Tensor:
        """``N x 1 x H x W`` float mask: 1 on image pixels, 0 on batch padding.

        Padding is dropped when the pixels are written back, so perturbing it would
        only waste the budget.
        """
        height, width = shape[-2:]
        mask = torch.zeros(len(data_samples), 1, height, width, device=device)
        for i, sample in enumerate(data_samples):
            h, w = self.valid_shape(sample, shape)
            mask[i, :, :h, :w] = 1
        return mask

    def background_mask(self, data_samples: list, shape: Sequence[int],
                        device: Optional[torch.device] = None) -> torch.Tensor:
        """``N x 1 x H x W`` float mask: 1 where the image may be perturbed."""
        raise NotImplementedError

    @staticmethod
    def _fit_label_map(label: torch.Tensor, valid: Tuple[int, int],
                       shape: Sequence[int], pad_value: int) -> torch.Tensor:
        """Bring an ``h x w`` label map into the ``H x W`` padded pixel frame.

        A map of the padded size is used as it is; one of another size (e.g. a
        ground truth kept at the original resolution at test time) is resized
        (nearest) to the valid image area; the padding gets ``pad_value``.
        """
        height, width = shape[-2:]
        if tuple(label.shape[-2:]) == (height, width):
            return label
        h, w = valid
        if tuple(label.shape[-2:]) != (h, w):
            label = nn.functional.interpolate(
                label[None, None].float(), size=(h, w), mode='nearest')[0, 0]
            label = label.to(torch.long)
        out = torch.full((height, width), pad_value, dtype=label.dtype,
                         device=label.device)
        out[:h, :w] = label[:h, :w]
        return out
