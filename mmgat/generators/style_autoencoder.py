"""A style-based autoencoder: the generator of Generative Adversarial Training (GAT).

GAT (Yang et al., ICCV 2021) perturbs the *style* vectors and *noise* images of a
StyleGAN-like generator. For detection and segmentation the generator must re-synthesise
the given image (boxes and masks must still fit), so mmgat pairs the style decoder with
an encoder that produces those latents from an image:

- **encoder**: strided convolutions 1/1 -> 1/2 -> 1/4 -> 1/8. It outputs a *spatial
  latent* at 1/8 resolution (layout and shape), one *style vector* per decoder layer (a
  linear map of the globally pooled mean / std of the encoder features at that layer's
  resolution) and one single-channel *noise image* per decoder layer (a convolution of
  the encoder features at that layer's resolution);
- **decoder**: starts from the spatial latent; two AdaIN layers per resolution (1/8,
  1/4, 1/2, 1/1): convolution, plus the layer's noise image scaled by learned
  per-channel weights, bias, leaky ReLU, instance normalisation, then scale and shift by
  the layer's style; bilinear upsampling between resolutions. A 1x1 ``toRGB``
  convolution per resolution (the one at 1/1 modulated by the ``style_rgb`` latent)
  paints that resolution's band: the image is the sum of the upsampled RGB outputs
  (StyleGAN2's skip generator), output ``(rgb + 1) * 127.5``. Training also matches
  the partial sums at 1/8, 1/4, 1/2 to the average-pooled input (a Laplacian pyramid),
  so the coarse latents set the low-resolution image and the noise images at 1/1 only
  add detail.

Latents are grouped in three levels (GAT: early layers give high-level changes, late
layers low-level ones):

- ``coarse``: ``spatial`` and the styles / noises of ``dec8_0``, ``dec8_1``;
- ``mid``: styles / noises of ``dec4_*`` and ``dec2_*``;
- ``fine``: styles / noises of ``dec1_*`` and ``style_rgb`` (toRGB modulation).

Latent names: ``spatial``, ``style_<layer>``, ``noise_<layer>``, ``style_rgb``.

Running statistics (buffers, updated with momentum in training-mode ``forward`` like
BatchNorm, so every checkpoint holds them): the std of every latent (style vectors per
element, spatial latent and noise images per channel) and the per-channel std of every
decoder layer's output activation. Attacks scale their budgets with them.
"""
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel

from mmgat.registry import MODELS
from mmgat.utils.errors import ConfigError

LEVELS = ('coarse', 'mid', 'fine')
RESOLUTIONS = (8, 4, 2, 1)  # decoder stages, as fractions 1/r of the input size
_LEVEL_OF_RES = {8: 'coarse', 4: 'mid', 2: 'mid', 1: 'fine'}


def _lrelu(x):
    return F.leaky_relu(x, 0.2)


class _AdaINLayer(nn.Module):
    """conv3x3 -> + noise * weight -> + bias -> lrelu -> instance norm -> style."""

    def __init__(self, in_channels: int, out_channels: int, noise_init: float):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False)
        self.noise_weight = nn.Parameter(torch.full((out_channels, ), noise_init))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.out_channels = out_channels

    def forward(self, x, style, noise):
        c = self.out_channels
        x = self.conv(x)
        x = x + self.noise_weight.view(1, -1, 1, 1) * noise
        x = _lrelu(x + self.bias.view(1, -1, 1, 1))
        x = F.instance_norm(x, eps=1e-5)
        scale, shift = style[:, :c], style[:, c:]
        return x * (1 + scale[:, :, None, None]) + shift[:, :, None, None]


def _conv_block(in_channels, out_channels, stride):
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1), nn.LeakyReLU(0.2),
        nn.Conv2d(out_channels, out_channels, 3, padding=1), nn.LeakyReLU(0.2))


@MODELS.register_module()
class StyleAutoEncoder(BaseModel):
    """Style-based autoencoder with coarse / mid / fine latents (GAT's generator).

    ``forward(inputs, data_samples, mode)``:

    - ``'loss'``: ``dict(loss_l1=..., loss_grad=..., loss_ms=...)``: L1 on pixels, L1 on
      horizontal / vertical differences (keeps edges sharp) and, multi-scale, L1 between
      the partial images at 1/8, 1/4, 1/2 (the sum of the toRGB outputs up to that
      resolution) and the average-pooled input. The last term makes the decoder a
      Laplacian pyramid: the coarse layers must paint the low-resolution image, finer
      layers only add the detail of their band, so that the coarse latents really do
      control layout and large-scale colour;
    - ``'predict'``: the data samples with ``pred_pixels`` (reconstruction, RGB float
      3 x H x W in [0, 255], clipped) and ``gt_pixels`` (the input) set, for
      :class:`mmgat.ReconstructionPSNR`;
    - ``'tensor'``: the reconstruction, N x 3 x H x W in about [0, 255].

    ``inputs`` are RGB float pixels in [0, 255] (``ImgDataPreprocessor`` with
    ``bgr_to_rgb=True`` and no mean / std); the model normalises them itself.

    Args:
        encoder_channels (sequence[int]): Encoder widths at 1/1, 1/2, 1/4, 1/8.
        decoder_channels (sequence[int]): Decoder widths at 1/8, 1/4, 1/2, 1/1.
        latent_channels (int): Channels of the 1/8 spatial latent.
        noise_init (float): Initial per-channel weight of the noise images (StyleGAN
            uses 0; a non-zero value lets gradients reach the noise encoder at once).
        stats_momentum (float): Momentum of the running statistics.
        loss_weights (dict): Weights of ``l1``, ``grad``, ``ms`` (multi-scale) and
            ``mse``. Defaults to ``dict(l1=1.0, grad=1.0, ms=0.5, mse=0.0)``.
        train_crop (int, optional): In ``'loss'`` mode, train on one random
            ``train_crop`` x ``train_crop`` window of the batch (a multiple of 8): the
            model is convolutional apart from the pooled styles, so this is several
            times cheaper at little cost in quality. Defaults to None (whole images).
        train_color_aug (bool): In ``'loss'`` mode, permute the RGB channels of each
            image at random (6 orders) and invert the image with probability 0.5
            (``255 - x``), so that colours never seen in training (e.g. the
            out-of-domain hues) are reconstructed as well. Defaults to False.
        data_preprocessor (dict, optional): Defaults to an ``ImgDataPreprocessor``
            with ``bgr_to_rgb=True`` and ``pad_size_divisor=8``.

    Example:
        >>> model = dict(
        ...     type='mmgat.StyleAutoEncoder',
        ...     encoder_channels=(16, 32, 64, 64), decoder_channels=(64, 64, 32, 16),
        ...     latent_channels=16,
        ...     data_preprocessor=dict(type='ImgDataPreprocessor', bgr_to_rgb=True,
        ...                            pad_size_divisor=8))
        >>> gen = MODELS.build(model)
        >>> latents = gen.encode(pixels)          # {'coarse': {...}, 'mid': ..., 'fine': ...}
        >>> recon = gen.decode(latents)           # N x 3 x H x W, RGB, ~[0, 255]
    """

    size_divisor = 8

    def __init__(self,
                 encoder_channels: Sequence[int] = (16, 32, 64, 64),
                 decoder_channels: Sequence[int] = (64, 64, 32, 16),
                 latent_channels: int = 16,
                 noise_init: float = 0.1,
                 stats_momentum: float = 0.05,
                 loss_weights: Optional[dict] = None,
                 train_crop: Optional[int] = None,
                 train_color_aug: bool = False,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = None,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='ImgDataPreprocessor', bgr_to_rgb=True,
                                     pad_size_divisor=self.size_divisor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        encoder_channels = tuple(encoder_channels)
        decoder_channels = tuple(decoder_channels)
        for name, value in (('encoder_channels', encoder_channels),
                            ('decoder_channels', decoder_channels)):
            if len(value) != 4 or not all(isinstance(c, int) and c > 0 for c in value):
                raise ConfigError(f'{name} must be 4 positive ints (one per resolution), '
                                  f'got {value!r}')
        if not isinstance(latent_channels, int) or latent_channels < 1:
            raise ConfigError(f'latent_channels must be a positive int, got '
                              f'{latent_channels!r}')
        if not 0.0 < stats_momentum <= 1.0:
            raise ConfigError(f'stats_momentum must be in (0, 1], got {stats_momentum}')
        weights = dict(l1=1.0, grad=1.0, ms=0.5, mse=0.0)
        for key, value in (loss_weights or {}).items():
            if key not in weights:
                raise ConfigError(f"loss_weights: unknown key '{key}', expected some of "
                                  f'{sorted(weights)}')
            weights[key] = float(value)
        self.loss_weights = weights
        if train_crop is not None and (not isinstance(train_crop, int) or train_crop < 16
                                       or train_crop % self.size_divisor):
            raise ConfigError(f'train_crop must be None or a multiple of '
                              f'{self.size_divisor} of at least 16, got {train_crop!r}')
        self.train_crop = train_crop
        self.train_color_aug = bool(train_color_aug)
        self.stats_momentum = float(stats_momentum)
        self.latent_channels = latent_channels

        # encoder: features at 1/1, 1/2, 1/4, 1/8
        e1, e2, e4, e8 = encoder_channels
        self.enc = nn.ModuleDict({
            '1': _conv_block(3, e1, 1),
            '2': _conv_block(e1, e2, 2),
            '4': _conv_block(e2, e4, 2),
            '8': _conv_block(e4, e8, 2),
        })
        enc_ch = {1: e1, 2: e2, 4: e4, 8: e8}
        dec_ch = dict(zip(RESOLUTIONS, decoder_channels))
        self.to_spatial = nn.Conv2d(e8, latent_channels, 3, padding=1)

        self.decoder_layers: List[str] = []
        self._layer_res: Dict[str, int] = {}
        self.to_style = nn.ModuleDict()
        self.to_noise = nn.ModuleDict()
        self.dec = nn.ModuleDict()
        in_ch = latent_channels
        for r in RESOLUTIONS:
            for i in range(2):
                name = f'dec{r}_{i}'
                self.decoder_layers.append(name)
                self._layer_res[name] = r
                self.dec[name] = _AdaINLayer(in_ch, dec_ch[r], noise_init)
                self.to_style[name] = nn.Linear(2 * enc_ch[r], 2 * dec_ch[r])
                self.to_noise[name] = nn.Conv2d(enc_ch[r], 1, 3, padding=1)
                in_ch = dec_ch[r]
        self.to_style_rgb = nn.Linear(2 * e1, in_ch)
        # one toRGB per resolution (StyleGAN2's skip generator): the image is the sum of
        # the upsampled RGB outputs, so each resolution adds the detail of its band
        self.to_rgb = nn.ModuleDict(
            {str(r): nn.Conv2d(dec_ch[r], 3, 1) for r in RESOLUTIONS})
        for conv in self.to_rgb.values():
            nn.init.normal_(conv.weight, std=0.1 / conv.in_channels ** 0.5)
            nn.init.zeros_(conv.bias)
        for lin in list(self.to_style.values()) + [self.to_style_rgb]:
            nn.init.normal_(lin.weight, std=0.01)
            nn.init.zeros_(lin.bias)

        # which level each latent belongs to, in coarse -> fine order
        self._latent_level: Dict[str, str] = {'spatial': 'coarse'}
        self._latent_channels: Dict[str, tuple] = {'spatial': (latent_channels, 1, 1)}
        for name in self.decoder_layers:
            level = _LEVEL_OF_RES[self._layer_res[name]]
            self._latent_level[f'style_{name}'] = level
            self._latent_channels[f'style_{name}'] = (2 * dec_ch[self._layer_res[name]], )
            self._latent_level[f'noise_{name}'] = level
            self._latent_channels[f'noise_{name}'] = (1, 1, 1)
        self._latent_level['style_rgb'] = 'fine'
        self._latent_channels['style_rgb'] = (in_ch, )

        # running statistics: variances (std = sqrt), plus an update counter
        self.register_buffer('stats_updates', torch.zeros((), dtype=torch.long))
        for name, shape in self._latent_channels.items():
            self.register_buffer(f'latent_var_{name}', torch.ones(shape))
        for name in self.decoder_layers:
            self.register_buffer(f'act_var_{name}',
                                 torch.ones(dec_ch[self._layer_res[name]]))
        self._dec_ch = {name: dec_ch[self._layer_res[name]] for name in self.decoder_layers}

    # ------------------------------------------------------------------ public API
    @property
    def latent_names(self) -> List[str]:
        """All latent names, coarse -> fine."""
        return list(self._latent_level)

    def latent_level(self, name: str) -> str:
        """The level (``'coarse'``, ``'mid'`` or ``'fine'``) of latent ``name``."""
        self._check_latent(name)
        return self._latent_level[name]

    def encode(self, pixels: torch.Tensor) -> Dict[str, Dict[str, torch.Tensor]]:
        """Latents of RGB pixels (N x 3 x H x W, [0, 255], H and W multiples of 8).

        Returns:
            dict: ``{'coarse': {...}, 'mid': {...}, 'fine': {...}}``, latent name ->
            tensor with the batch dimension first.
        """
        self._check_pixels(pixels)
        x = pixels / 127.5 - 1.0
        feats = {}
        for r in (1, 2, 4, 8):
            x = self.enc[str(r)](x)
            feats[r] = x
        flat = {'spatial': self.to_spatial(feats[8])}
        pooled = {r: torch.cat([f.mean(dim=(2, 3)), f.std(dim=(2, 3))], dim=1)
                  for r, f in feats.items()}
        for name in self.decoder_layers:
            r = self._layer_res[name]
            flat[f'style_{name}'] = self.to_style[name](pooled[r])
            flat[f'noise_{name}'] = self.to_noise[name](feats[r])
        flat['style_rgb'] = self.to_style_rgb(pooled[1])
        latents = {level: {} for level in LEVELS}
        for name, value in flat.items():
            latents[self._latent_level[name]][name] = value
        return latents

    def decode(self,
               latents: Dict[str, Dict[str, torch.Tensor]],
               layer_offsets: Optional[Dict[str, torch.Tensor]] = None) -> torch.Tensor:
        """Pixels (N x 3 x H x W RGB float, about [0, 255]) from :meth:`encode`'s latents.

        ``layer_offsets[name]`` (``name`` in :attr:`decoder_layers`) is added to that
        layer's output activation. Differentiable w.r.t. every latent and offset.
        """
        return self._decode(latents, layer_offsets)[0]

    def latent_std(self, name: str) -> torch.Tensor:
        """Running std of latent ``name`` over training data, broadcastable to it."""
        self._check_latent(name)
        return getattr(self, f'latent_var_{name}').clamp_min(0).sqrt()

    def activation_std(self, layer: str) -> torch.Tensor:
        """Running per-channel std (shape ``(C,)``) of decoder layer ``layer``'s output."""
        if layer not in self._layer_res:
            raise ConfigError(f"unknown decoder layer '{layer}', expected one of "
                              f'{self.decoder_layers}')
        return getattr(self, f'act_var_{layer}').clamp_min(0).sqrt()

    def activation_shapes(self, latents) -> Dict[str, torch.Size]:
        """Output shape of every decoder layer for these latents (N x C x h x w)."""
        spatial = self._flatten(latents)['spatial']
        n, _, h, w = spatial.shape
        return {name: torch.Size((n, self._dec_ch[name], h * 8 // self._layer_res[name],
                                  w * 8 // self._layer_res[name]))
                for name in self.decoder_layers}

    # ------------------------------------------------------------------ internals
    def _check_latent(self, name):
        if name not in self._latent_level:
            raise ConfigError(f"unknown latent '{name}', expected one of "
                              f'{list(self._latent_level)}')

    def _check_pixels(self, pixels):
        if pixels.dim() != 4 or pixels.shape[1] != 3:
            raise ValueError(f'expected N x 3 x H x W pixels, got {tuple(pixels.shape)}')
        h, w = pixels.shape[-2:]
        if h % self.size_divisor or w % self.size_divisor:
            raise ValueError(f'height and width must be multiples of {self.size_divisor} '
                             f'(pad the batch), got {h} x {w}')

    def _flatten(self, latents) -> Dict[str, torch.Tensor]:
        if set(latents) <= set(LEVELS) and all(isinstance(v, dict) for v in latents.values()):
            flat = {}
            for level in latents.values():
                flat.update(level)
        else:
            flat = dict(latents)
        missing = [n for n in self._latent_level if n not in flat]
        if missing:
            raise ValueError(f'decode: missing latents {missing}')
        return flat

    def _decode(self, latents, layer_offsets=None):
        flat = self._flatten(latents)
        offsets = dict(layer_offsets or {})
        unknown = [k for k in offsets if k not in self._layer_res]
        if unknown:
            raise ConfigError(f'layer_offsets: unknown decoder layers {unknown}, expected '
                              f'some of {self.decoder_layers}')
        x = flat['spatial']
        activations, pyramid = {}, {}
        image = None
        for r in RESOLUTIONS:
            if r != 8:
                x = F.interpolate(x, scale_factor=2, mode='bilinear', align_corners=False)
            for i in range(2):
                name = f'dec{r}_{i}'
                x = self.dec[name](x, flat[f'style_{name}'], flat[f'noise_{name}'])
                activations[name] = x
                if name in offsets:
                    x = x + offsets[name]
            features = x * (1 + flat['style_rgb'][:, :, None, None]) if r == 1 else x
            rgb = self.to_rgb[str(r)](features)
            if image is not None:
                image = F.interpolate(image, scale_factor=2, mode='bilinear',
                                      align_corners=False)
                rgb = rgb + image
            image = rgb
            pyramid[r] = image
        return (image + 1.0) * 127.5, activations, pyramid

    @torch.no_grad()
    def _update_stats(self, flat: Dict[str, torch.Tensor],
                      activations: Dict[str, torch.Tensor]) -> None:
        first = int(self.stats_updates) == 0
        m = 1.0 if first else self.stats_momentum
        for name, value in flat.items():
            value = value.detach().float()
            if value.dim() == 2:  # style vector: per element over the batch
                var = value.var(dim=0, unbiased=False) if value.shape[0] > 1 else None
            else:  # per channel over batch and space
                var = value.transpose(0, 1).flatten(1).var(dim=1, unbiased=False)
                var = var.view(-1, 1, 1)
            if var is None:
                continue
            buf = getattr(self, f'latent_var_{name}')
            buf.mul_(1 - m).add_(m * var)
        for name, value in activations.items():
            var = value.detach().float().transpose(0, 1).flatten(1).var(dim=1,
                                                                         unbiased=False)
            buf = getattr(self, f'act_var_{name}')
            buf.mul_(1 - m).add_(m * var)
        self.stats_updates += 1

    def reconstruct(self, pixels: torch.Tensor, return_pyramid: bool = False):
        """``decode(encode(pixels))``; in training mode it updates the statistics.

        With ``return_pyramid`` also the partial images (dict resolution -> image on the
        [-1, 1] scale at 1/r of the size, the sum of the toRGB outputs up to 1/r).
        """
        latents = self.encode(pixels)
        flat = self._flatten(latents)
        recon, activations, pyramid = self._decode(flat)
        if self.training:
            self._update_stats(flat, activations)
        return (recon, pyramid) if return_pyramid else recon

    def _stack(self, inputs):
        if isinstance(inputs, (list, tuple)):
            inputs = torch.stack(list(inputs))
        return inputs.float()

    def loss_terms(self, recon: torch.Tensor, target: torch.Tensor,
                   pyramid: Optional[Dict[int, torch.Tensor]] = None
                   ) -> Dict[str, torch.Tensor]:
        """Reconstruction losses on the [-1, 1] scale (see the class docstring)."""
        w = self.loss_weights
        pred = recon / 127.5 - 1.0
        tgt = target / 127.5 - 1.0
        losses = {'loss_l1': w['l1'] * (pred - tgt).abs().mean()}
        if w['grad']:
            dx = (pred[..., :, 1:] - pred[..., :, :-1]) - (tgt[..., :, 1:] - tgt[..., :, :-1])
            dy = (pred[..., 1:, :] - pred[..., :-1, :]) - (tgt[..., 1:, :] - tgt[..., :-1, :])
            losses['loss_grad'] = w['grad'] * 0.5 * (dx.abs().mean() + dy.abs().mean())
        if w['ms']:
            if pyramid is None:  # the final image, average pooled
                pyramid = {r: F.avg_pool2d(pred, r) for r in RESOLUTIONS[:-1]}
            ms = sum((pyramid[r] - F.avg_pool2d(tgt, r)).abs().mean()
                     for r in RESOLUTIONS[:-1])
            losses['loss_ms'] = w['ms'] * ms / (len(RESOLUTIONS) - 1)
        if w['mse']:
            losses['loss_mse'] = w['mse'] * F.mse_loss(pred, tgt)
        return losses

    def _random_crop(self, pixels):
        size = self.train_crop
        h, w = pixels.shape[-2:]
        if size is None or (h <= size and w <= size):
            return pixels
        top = int(torch.randint(0, max(h - size, 0) // 8 + 1, ()).item()) * 8
        left = int(torch.randint(0, max(w - size, 0) // 8 + 1, ()).item()) * 8
        return pixels[..., top:top + size, left:left + size]

    def _random_colors(self, pixels):
        n = pixels.shape[0]
        order = torch.argsort(torch.rand(n, 3), dim=1).to(pixels.device)
        pixels = torch.gather(pixels, 1, order[:, :, None, None].expand_as(pixels))
        invert = (torch.rand(n) < 0.5).to(pixels.device)[:, None, None, None]
        return torch.where(invert, 255.0 - pixels, pixels)

    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        pixels = self._stack(inputs)
        if mode == 'loss' and self.training:
            pixels = self._random_crop(pixels)
            if self.train_color_aug:
                pixels = self._random_colors(pixels)
        recon, pyramid = self.reconstruct(pixels, return_pyramid=True)
        if mode == 'tensor':
            return recon
        if mode == 'loss':
            return self.loss_terms(recon, pixels, pyramid)
        if mode == 'predict':
            if data_samples is None:
                raise ValueError("mode='predict' needs data_samples")
            out = []
            for sample, pred, gt in zip(data_samples, recon.detach(), pixels.detach()):
                sample.set_field(pred.clamp(0, 255), 'pred_pixels', field_type='data')
                sample.set_field(gt, 'gt_pixels', field_type='data')
                out.append(sample)
            return out
        raise ValueError(f"mode must be 'loss', 'predict' or 'tensor', got {mode!r}")
