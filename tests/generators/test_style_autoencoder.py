"""StyleAutoEncoder: latents by level, decoding, gradients, statistics, overfitting."""
import pytest
import torch
import torch.nn.functional as F

from mmgat.generators import LEVELS, StyleAutoEncoder
from mmgat.registry import GENERATORS, MODELS
from mmgat.utils.errors import ConfigError

pytestmark = pytest.mark.usefixtures('one_thread')

TINY = dict(encoder_channels=(4, 8, 8, 8), decoder_channels=(8, 8, 8, 4), latent_channels=4)


def tiny(**kwargs):
    torch.manual_seed(0)
    return StyleAutoEncoder(**{**TINY, **kwargs})


def smooth_images(n, h, w, seed=0):
    """Coloured blobs on gradients: structure at several scales, in [0, 255]."""
    gen = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing='ij')
    images = []
    for _ in range(n):
        c = torch.rand(3, 2, generator=gen)
        img = c[:, :1, None] * xx + c[:, 1:, None] * (1 - yy)
        cy, cx = torch.rand(2, generator=gen)
        blob = ((yy - cy) ** 2 + (xx - cx) ** 2 < 0.05).float()
        img = img * (1 - blob) + blob * torch.rand(3, 1, 1, generator=gen)
        images.append(img * 255)
    return torch.stack(images)


def test_registered_in_models_and_generators():
    assert GENERATORS is MODELS
    model = MODELS.build(dict(type='mmgat.StyleAutoEncoder', **TINY))
    assert isinstance(model, StyleAutoEncoder)
    assert model.size_divisor == 8


def test_encode_decode_shapes_levels_and_layer_order():
    model = tiny().eval()
    x = smooth_images(2, 32, 48)
    latents = model.encode(x)
    assert tuple(latents) == LEVELS
    names = [n for level in LEVELS for n in latents[level]]
    assert len(names) == len(set(names))
    assert latents['coarse']['spatial'].shape == (2, 4, 4, 6)
    assert set(latents['coarse']) == {'spatial', 'style_dec8_0', 'noise_dec8_0',
                                      'style_dec8_1', 'noise_dec8_1'}
    assert set(latents['fine']) == {'style_dec1_0', 'noise_dec1_0', 'style_dec1_1',
                                    'noise_dec1_1', 'style_rgb'}
    assert latents['fine']['noise_dec1_0'].shape == (2, 1, 32, 48)
    assert latents['mid']['noise_dec2_1'].shape == (2, 1, 16, 24)
    for level in LEVELS:
        for name, z in latents[level].items():
            assert z.shape[0] == 2
            assert model.latent_level(name) == level
            # latent_std broadcasts to the latent
            assert (z * model.latent_std(name)).shape == z.shape

    assert model.decoder_layers == ['dec8_0', 'dec8_1', 'dec4_0', 'dec4_1', 'dec2_0',
                                    'dec2_1', 'dec1_0', 'dec1_1']
    out = model.decode(latents)
    assert out.shape == x.shape and out.dtype == torch.float32
    shapes = model.activation_shapes(latents)
    assert list(shapes) == model.decoder_layers
    assert shapes['dec8_0'] == (2, 8, 4, 6) and shapes['dec1_1'] == (2, 4, 32, 48)
    for layer, shape in shapes.items():
        assert model.activation_std(layer).shape == (shape[1], )
    # zero offsets of exactly those shapes change nothing; a non-zero one changes the image
    zeros = {layer: torch.zeros(shape) for layer, shape in shapes.items()}
    torch.testing.assert_close(model.decode(latents, zeros), out)
    moved = model.decode(latents, {'dec4_1': torch.ones(shapes['dec4_1'])})
    assert (moved - out).abs().max() > 1e-3
    # the image is a pyramid: partial sums of the toRGB outputs at 1/8 ... 1/1
    recon, pyramid = model.reconstruct(x, return_pyramid=True)
    assert {r: tuple(p.shape[-2:]) for r, p in pyramid.items()} == {
        8: (4, 6), 4: (8, 12), 2: (16, 24), 1: (32, 48)}
    torch.testing.assert_close((pyramid[1] + 1) * 127.5, recon)
    torch.testing.assert_close(recon, out)
    # a flat dict of latents decodes as well
    flat = {n: z for level in latents.values() for n, z in level.items()}
    torch.testing.assert_close(model.decode(flat), out)


def test_bad_inputs_and_names_are_explained():
    model = tiny().eval()
    with pytest.raises(ValueError, match='multiples of 8'):
        model.encode(torch.zeros(1, 3, 30, 32))
    latents = model.encode(torch.zeros(1, 3, 16, 16))
    with pytest.raises(ConfigError, match="unknown decoder layers \\['conv1'\\]"):
        model.decode(latents, {'conv1': torch.zeros(1)})
    with pytest.raises(ConfigError, match="unknown latent 'style_x'"):
        model.latent_std('style_x')
    with pytest.raises(ConfigError, match='unknown decoder layer'):
        model.activation_std('dec16_0')
    del latents['mid']['style_dec4_0']
    with pytest.raises(ValueError, match='missing latents'):
        model.decode(latents)


@pytest.mark.parametrize('kwargs, match', [
    (dict(encoder_channels=(4, 8, 8)), 'encoder_channels must be 4 positive ints'),
    (dict(decoder_channels=(8, 8, 0, 4)), 'decoder_channels must be 4 positive ints'),
    (dict(latent_channels=0), 'latent_channels must be a positive int'),
    (dict(stats_momentum=0.0), 'stats_momentum must be in'),
    (dict(train_crop=20), 'train_crop must be None or a multiple of 8 of at least 16'),
    (dict(train_crop=8), 'train_crop must be None or a multiple of 8 of at least 16'),
    (dict(loss_weights=dict(ssim=1.0)), "unknown key 'ssim'"),
])
def test_config_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        StyleAutoEncoder(**{**TINY, **kwargs})


def test_gradients_reach_every_latent_and_layer_offset():
    model = tiny().eval()
    model.requires_grad_(False)
    latents = model.encode(smooth_images(2, 16, 24))
    latents = {level: {n: z.detach().requires_grad_() for n, z in group.items()}
               for level, group in latents.items()}
    offsets = {layer: torch.zeros(shape, requires_grad=True)
               for layer, shape in model.activation_shapes(latents).items()}
    out = model.decode(latents, offsets)
    (out * torch.randn_like(out)).sum().backward()
    for group in latents.values():
        for name, z in group.items():
            assert z.grad is not None and z.grad.abs().sum() > 0, name
    for layer, offset in offsets.items():
        assert offset.grad is not None and offset.grad.abs().sum() > 0, layer


def test_running_statistics_update_in_train_mode_only_and_are_saved():
    model = tiny(stats_momentum=0.5)
    x = smooth_images(4, 16, 16)
    state = model.state_dict()
    names = [f'latent_var_{n}' for n in model.latent_names]
    names += [f'act_var_{layer}' for layer in model.decoder_layers]
    assert set(names) <= set(state) and 'stats_updates' in state
    before = {k: v.clone() for k, v in state.items() if k in names}

    model.eval()
    model(x, mode='tensor')
    with torch.no_grad():
        model(x, mode='loss')
    assert int(model.stats_updates) == 0
    for k in names:
        torch.testing.assert_close(model.state_dict()[k], before[k])

    model.train()
    model(x, mode='loss')  # first update: the statistics of this batch
    assert int(model.stats_updates) == 1
    with torch.no_grad():
        latents = model.encode(x)
    spatial = latents['coarse']['spatial']
    expected = spatial.transpose(0, 1).flatten(1).std(dim=1, unbiased=False)
    torch.testing.assert_close(model.latent_std('spatial').flatten(), expected,
                               rtol=1e-4, atol=1e-6)
    style = latents['mid']['style_dec4_0']
    torch.testing.assert_close(model.latent_std('style_dec4_0'),
                               style.std(dim=0, unbiased=False), rtol=1e-4, atol=1e-6)
    for k in names:
        assert not torch.equal(model.state_dict()[k], before[k]), k
    # the next batch moves them by the momentum
    first = model.latent_std('spatial').clone() ** 2
    model(smooth_images(4, 16, 16, seed=1) * 0.5, mode='tensor')
    with torch.no_grad():
        z = model.encode(smooth_images(4, 16, 16, seed=1) * 0.5)['coarse']['spatial']
    var = z.transpose(0, 1).flatten(1).var(dim=1, unbiased=False).view(-1, 1, 1)
    torch.testing.assert_close(model.latent_std('spatial') ** 2, 0.5 * first + 0.5 * var,
                               rtol=1e-4, atol=1e-6)

    # a fresh model loading the state dict has the same statistics
    other = tiny()
    other.load_state_dict(model.state_dict())
    torch.testing.assert_close(other.activation_std('dec1_0'), model.activation_std('dec1_0'))


def test_loss_predict_and_tensor_modes():
    from mmengine.structures import BaseDataElement
    model = tiny(train_crop=16, train_color_aug=True).train()
    x = smooth_images(2, 16, 24)
    losses = model(x, mode='loss')
    assert set(losses) == {'loss_l1', 'loss_grad', 'loss_ms'}
    assert all(torch.isfinite(v) and v > 0 for v in losses.values())
    sum(losses.values()).backward()
    model.eval()
    samples = model(list(x), [BaseDataElement(), BaseDataElement()], mode='predict')
    assert samples[0].pred_pixels.shape == (3, 16, 24)
    assert samples[1].pred_pixels.min() >= 0 and samples[1].pred_pixels.max() <= 255
    torch.testing.assert_close(samples[1].gt_pixels, x[1])
    torch.testing.assert_close(model(x, mode='tensor').clamp(0, 255)[1],
                               samples[1].pred_pixels)
    with pytest.raises(ValueError, match='mode must be'):
        model(x, mode='features')


def psnr(a, b):
    return float(10 * torch.log10(255 ** 2 / F.mse_loss(a.clamp(0, 255), b)))


def test_short_overfit_reconstructs_the_images():
    """decode(encode(x)) approximates x after 80 steps on 4 images."""
    model = tiny(encoder_channels=(8, 8, 16, 16), decoder_channels=(16, 16, 8, 8))
    x = smooth_images(4, 32, 32)
    with torch.no_grad():
        start = psnr(model.eval()(x), x)
    model.train()
    optim = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(80):
        loss = sum(model(x, mode='loss').values())
        optim.zero_grad()
        loss.backward()
        optim.step()
    model.eval()
    with torch.no_grad():
        recon = model.decode(model.encode(x))
    end = psnr(recon, x)
    # ~10 dB before, ~22 dB after (the tiny model needs longer for more)
    assert end > 20 and end > start + 8, (start, end)
