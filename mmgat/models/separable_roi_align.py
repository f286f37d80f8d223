"""mmcv's RoIAlign (``aligned=True``, average pooling) as two matrix products per image.

Bilinear sampling is separable: the value of one RoI bin is ``Ay @ F @ Ax.T``, where
``Ay`` (output rows x feature rows) holds the vertical interpolation weights of the bin's
sample points, averaged, and ``Ax`` the horizontal ones. Written so, the forward and
backward passes are dense matrix products that torch runs on every core, where mmcv's CPU
kernel loops over the samples in one thread (on the DigitScenes detector its backward
alone was 30% of an attack step). The cost grows with the feature map's area per RoI, so
this is for small feature maps (DigitScenes' 128 px scenes); on CUDA it calls mmcv's
kernel.
"""
from typing import Tuple, Union

import torch
from torch import nn

from mmgat.utils.errors import ConfigError


def _axis_weights(start: torch.Tensor, end: torch.Tensor, spatial_scale: float,
                  pooled: int, size: int, sampling_ratio: int) -> torch.Tensor:
    """Interpolation weights of one axis: ``[num_rois, pooled, size]``, each output bin's
    average over its sample points, in mmcv's arithmetic (float32, same order)."""
    start = start * spatial_scale - 0.5  # aligned=True: pixel centres at +0.5
    length = end * spatial_scale - 0.5 - start
    bin_size = length / pooled
    if sampling_ratio > 0:
        grid = torch.full_like(length, float(sampling_ratio))
    else:  # mmcv's adaptive count: ceil(RoI length / bins) samples per bin
        grid = torch.ceil(length / pooled)
    weights = start.new_zeros(len(start), pooled, size)
    count = int(grid.max().clamp(min=0)) if len(grid) else 0
    if count == 0:
        return weights
    bins = torch.arange(pooled, device=start.device, dtype=start.dtype)[None, :, None]
    steps = torch.arange(count, device=start.device, dtype=start.dtype)[None, None, :]
    grid_ = grid[:, None, None]
    sampled = steps < grid_
    coord = (start[:, None, None] + bins * bin_size[:, None, None]) + \
        (steps + 0.5) * bin_size[:, None, None] / grid_.clamp(min=1)
    coord = torch.where(sampled, coord, torch.zeros_like(coord))
    # mmcv: a sample outside [-1, size] contributes 0; inside, it is clamped to the map
    inside = sampled & (coord >= -1) & (coord <= size)
    coord = coord.clamp(min=0)
    low = coord.floor()
    at_edge = low >= size - 1
    low = torch.where(at_edge, torch.full_like(low, size - 1), low)
    coord = torch.where(at_edge, low, coord)
    high = torch.where(at_edge, low, low + 1)
    frac = coord - low
    share = inside.to(start.dtype) / grid_.clamp(min=1)
    weights.scatter_add_(2, low.long(), (1 - frac) * share)
    weights.scatter_add_(2, high.long(), frac * share)
    return weights


def separable_roi_align(features: torch.Tensor, rois: torch.Tensor,
                        output_size: Tuple[int, int], spatial_scale: float = 1.0,
                        sampling_ratio: int = 0) -> torch.Tensor:
    """RoIAlign of ``rois`` (``[N, 5]``: image index, x1, y1, x2, y2 in input pixels) on
    ``features`` (``[B, C, H, W]``): ``[N, C, *output_size]``, equal to
    ``mmcv.ops.roi_align(..., aligned=True)`` up to float rounding. Gradients flow to
    ``features`` only (as in mmcv: boxes get none). A box of negative size pools to 0
    (mmcv's kernel asserts; mmdet's proposals never have one)."""
    out_h, out_w = output_size
    height, width = features.shape[2:]
    # weights in float32 (mmcv's arithmetic), products in the features' dtype: under
    # CPU autocast a float32 map stays float32, as it does through mmcv's kernel
    rois = rois.detach().float()
    rows = _axis_weights(rois[:, 2], rois[:, 4], spatial_scale, out_h, height,
                         sampling_ratio).to(features.dtype)
    cols = _axis_weights(rois[:, 1], rois[:, 3], spatial_scale, out_w, width,
                         sampling_ratio).to(features.dtype)
    with torch.autocast('cpu', enabled=False):
        return _pool(features, rois[:, 0].long(), rows, cols)


def _pool(features: torch.Tensor, images: torch.Tensor, rows: torch.Tensor,
          cols: torch.Tensor) -> torch.Tensor:
    """``rows[r] @ features[images[r]] @ cols[r].T`` for every RoI r, per image."""
    channels, height, width = features.shape[1:]
    out_h, out_w = rows.shape[1], cols.shape[1]
    order = torch.argsort(images, stable=True)  # mmdet's RoIs come sorted: a no-op there
    counts = torch.bincount(images, minlength=len(features)).tolist()
    pieces = []
    for image, index in enumerate(order.split(counts)):
        if not len(index):
            continue
        # every RoI's rows at once: [n*out_h, H] @ [H, C*W], one matrix product
        by_rows = rows[index].reshape(-1, height) @ \
            features[image].transpose(0, 1).reshape(height, channels * width)
        # then each RoI's columns: [n, out_h*C, W] @ [n, W, out_w]
        pieces.append(by_rows.reshape(len(index), out_h * channels, width) @
                      cols[index].transpose(1, 2))
    if not pieces:
        return features.new_zeros(0, channels, out_h, out_w)
    out = torch.cat(pieces).reshape(len(images), out_h, channels, out_w).transpose(1, 2)
    if not bool((order == torch.arange(len(order), device=order.device)).all()):
        out = out.index_select(0, torch.argsort(order))
    return out.contiguous()


class SeparableRoIAlign(nn.Module):
    """Drop-in for ``mmcv.ops.RoIAlign`` (same arguments; ``aligned=True`` and
    ``pool_mode='avg'`` only) that runs :func:`separable_roi_align` on CPU and mmcv's
    kernel on CUDA. Built by :class:`mmgat.models.SeparableRoIExtractor`."""

    def __init__(self, output_size: Union[int, Tuple[int, int]],
                 spatial_scale: float = 1.0, sampling_ratio: int = 0,
                 pool_mode: str = 'avg', aligned: bool = True,
                 use_torchvision: bool = False) -> None:
        super().__init__()
        if pool_mode != 'avg' or not aligned or use_torchvision:
            raise ConfigError('SeparableRoIAlign computes RoIAlign with aligned=True, '
                              f"pool_mode='avg' only; got pool_mode={pool_mode!r}, "
                              f'aligned={aligned}, use_torchvision={use_torchvision}')
        if not isinstance(sampling_ratio, int) or sampling_ratio < 0:
            raise ConfigError(f'sampling_ratio must be an int >= 0, got {sampling_ratio!r}')
        size = (output_size, output_size) if isinstance(output_size, int) else output_size
        self.output_size = tuple(int(s) for s in size)
        self.spatial_scale = float(spatial_scale)
        self.sampling_ratio = sampling_ratio

    def forward(self, features: torch.Tensor, rois: torch.Tensor) -> torch.Tensor:
        if features.is_cuda:
            from mmcv.ops import roi_align
            return roi_align(features, rois, self.output_size, self.spatial_scale,
                             self.sampling_ratio, 'avg', True)
        return separable_roi_align(features, rois, self.output_size, self.spatial_scale,
                                   self.sampling_ratio)

    def extra_repr(self) -> str:
        return (f'output_size={self.output_size}, spatial_scale={self.spatial_scale}, '
                f'sampling_ratio={self.sampling_ratio}')
