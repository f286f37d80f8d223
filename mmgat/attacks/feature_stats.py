"""Perturbing the per-channel mean and std of a feature map (the AdvBN operation).

``f' = beta * (f - mu) + alpha * mu`` with ``mu`` the per-channel mean of ``f`` over
batch and space: the new mean is ``alpha * mu`` and the new std ``beta * sigma``, so
``alpha = beta = 1`` leaves ``f`` unchanged. :class:`FeatureStatsPerturbation` holds
one ``(alpha, beta)`` pair for a named layer of a model and applies it to that layer's
output through a forward hook, optionally to some rows of the batch only.
"""
from contextlib import contextmanager
from typing import Iterator, Optional

import torch
import torch.nn as nn
from torch.utils.hooks import RemovableHandle

from mmgat.utils.errors import ConfigError


def perturb_feature_stats(features: torch.Tensor, alpha: torch.Tensor,
                          beta: torch.Tensor) -> torch.Tensor:
    """Scale the per-channel mean of ``features`` by ``alpha`` and its std by ``beta``.

    Differentiable w.r.t. all three inputs. The statistics are taken over batch and
    space (``N, H, W``), as batch norm takes them.

    Args:
        features (Tensor): ``N x C x H x W``.
        alpha (Tensor): ``C`` (or broadcastable to ``1 x C x 1 x 1``) mean factors.
        beta (Tensor): ``C`` std factors.
    """
    if features.dim() != 4:
        raise ValueError(f'feature statistics need N x C x H x W features, got shape '
                         f'{tuple(features.shape)}')
    channels = features.shape[1]
    alpha = alpha.reshape(1, channels, 1, 1).to(features.dtype)
    beta = beta.reshape(1, channels, 1, 1).to(features.dtype)
    mean = features.mean(dim=(0, 2, 3), keepdim=True)
    return beta * (features - mean) + alpha * mean


def find_layer(model: nn.Module, layer: str) -> nn.Module:
    """The submodule ``layer`` (a dotted name such as ``'backbone.layer1'``).

    Raises:
        ConfigError: no such module; the message lists the model's candidates.
    """
    try:
        return model.get_submodule(layer)
    except AttributeError:
        names = [name for name, _ in model.named_modules() if name and name.count('.') < 2]
        raise ConfigError(
            f'{type(model).__name__} has no module {layer!r}; modules at depth <= 2: '
            f'{names[:40]}{" ..." if len(names) > 40 else ""}') from None


def check_feature_map(output, layer: str) -> torch.Tensor:
    """``output`` of ``layer`` if it is an ``N x C x H x W`` tensor, else a ConfigError."""
    if not isinstance(output, torch.Tensor) or output.dim() != 4:
        shape = f' of shape {tuple(output.shape)}' if isinstance(output, torch.Tensor) else ''
        raise ConfigError(f'AdvBN needs a layer whose output is an N x C x H x W tensor; '
                          f'{layer!r} gives {type(output).__name__}{shape}')
    return output


class FeatureStatsPerturbation:
    """One ``(alpha, beta)`` pair for the output of one layer.

    Args:
        layer (str): Dotted module name, e.g. ``'backbone.layer1'``.
        alpha (Tensor): ``C`` mean factors.
        beta (Tensor): ``C`` std factors.

    Examples:
        >>> pert = FeatureStatsPerturbation('backbone.layer1', alpha, beta)
        >>> with pert.applied(model, rows=slice(8, 16)):   # the appended copies
        ...     losses = model.loss(inputs, data_samples)
    """

    def __init__(self, layer: str, alpha: torch.Tensor, beta: torch.Tensor) -> None:
        if alpha.shape != beta.shape or alpha.dim() != 1:
            raise ValueError('alpha and beta must be vectors of one length, got '
                             f'{tuple(alpha.shape)} and {tuple(beta.shape)}')
        self.layer = layer
        self.alpha = alpha
        self.beta = beta

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(layer={self.layer!r}, channels='
                f'{self.alpha.numel()}, alpha=[{float(self.alpha.min()):.2f}, '
                f'{float(self.alpha.max()):.2f}], beta=[{float(self.beta.min()):.2f}, '
                f'{float(self.beta.max()):.2f}])')

    def attach(self, model: nn.Module, rows: Optional[slice] = None) -> RemovableHandle:
        """Apply the perturbation to every output of the layer until the handle is removed.

        Args:
            model (nn.Module): The bare model (DDP unwrapped).
            rows (slice, optional): Only these rows of the layer's output batch are
                perturbed (with the statistics of those rows); ``None``: all.
        """
        module = find_layer(model, self.layer)
        alpha, beta = self.alpha, self.beta

        def forward_hook(_module, _args, output):
            check_feature_map(output, self.layer)
            if output.shape[1] != alpha.numel():
                raise ConfigError(f'the perturbation has {alpha.numel()} channels, the '
                                  f'output of {self.layer!r} {output.shape[1]}')
            a, b = alpha.to(output.device), beta.to(output.device)
            if rows is None:
                return perturb_feature_stats(output, a, b)
            start, stop, _ = rows.indices(output.shape[0])
            if stop - start < 1:
                raise ConfigError(f'rows {rows} select no sample of a batch of '
                                  f'{output.shape[0]} at {self.layer!r}')
            return torch.cat([output[:start],
                              perturb_feature_stats(output[start:stop], a, b),
                              output[stop:]])

        return module.register_forward_hook(forward_hook)

    @contextmanager
    def applied(self, model: nn.Module, rows: Optional[slice] = None) -> Iterator[None]:
        """:meth:`attach` for the duration of a block (removed also on errors)."""
        handle = self.attach(model, rows)
        try:
            yield
        finally:
            handle.remove()
