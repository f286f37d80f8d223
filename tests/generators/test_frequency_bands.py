"""What each level of a (briefly trained) generator changes in the image.

GAT's premise: perturbing early, low-resolution layers changes the layout (low spatial
frequencies); perturbing late layers changes fine detail and colour. Each level's latents
are moved by the same relative amount (``k * latent_std``, random directions) and the
change of the decoded image is split into spatial-frequency bands (radial FFT) and into
its luminance / chroma parts.
"""
import pytest
import torch

from mmgat.generators import LEVELS, StyleAutoEncoder

pytestmark = pytest.mark.usefixtures('one_thread')


def scenes(n, size, seed):
    """Digit-scene-like images: textured background, a few flat-coloured shapes, grain."""
    gen = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(size).float(), torch.arange(size).float(),
                            indexing='ij')
    images = []
    for _ in range(n):
        base = torch.rand(3, 1, 1, generator=gen) * 200
        freq = 0.1 + 0.3 * torch.rand(1, generator=gen)
        texture = 25 * torch.sin(freq * xx + 2 * freq * yy)
        img = base + texture.expand(3, -1, -1)
        for _ in range(3):
            cy, cx = torch.rand(2, generator=gen) * size
            r = size * (0.08 + 0.12 * torch.rand(1, generator=gen))
            ring = ((yy - cy) ** 2 + (xx - cx) ** 2).sqrt()
            stroke = ((ring - r).abs() < 2.5).float()
            img = img * (1 - stroke) + stroke * torch.rand(3, 1, 1, generator=gen) * 255
        img = img + 3 * torch.randn(3, size, size, generator=gen)
        images.append(img.clamp(0, 255))
    return torch.stack(images)


def band_energies(change):
    """Energy of ``change`` (N x 3 x H x W) at low / high spatial frequency, and chroma."""
    power = torch.fft.fft2(change).abs() ** 2
    h, w = change.shape[-2:]
    radius = (torch.fft.fftfreq(h)[:, None] ** 2 + torch.fft.fftfreq(w)[None] ** 2).sqrt()
    low = float(power[..., radius <= 1 / 16].sum())   # below the 1/8 grid's Nyquist
    high = float(power[..., radius > 1 / 4].sum())    # above the 1/2 grid's Nyquist
    chroma = float(((change - change.mean(dim=1, keepdim=True)) ** 2).sum())
    return dict(low=low, high=high, ratio=low / high, chroma=chroma)


@pytest.fixture(scope='module')
def generator():
    """A tiny generator trained for 150 steps (about 5 s) on 32 px crops."""
    torch.manual_seed(0)
    model = StyleAutoEncoder(encoder_channels=(8, 8, 16, 16), decoder_channels=(16, 16, 8, 8),
                             latent_channels=4, train_crop=32, train_color_aug=True,
                             stats_momentum=0.1)
    data = scenes(32, 64, seed=0)
    optim = torch.optim.Adam(model.parameters(), lr=5e-3)
    model.train()
    for step in range(150):
        batch = data[torch.randint(0, len(data), (8, ))]
        loss = sum(model(batch, mode='loss').values())
        optim.zero_grad()
        loss.backward()
        optim.step()
    return model.eval()


def level_changes(model, x, k=1.0, seed=0):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        latents = model.encode(x)
        base = model.decode(latents)
        result = {}
        for level in LEVELS:
            moved = {name: dict(group) for name, group in latents.items()}
            for name, z in latents[level].items():
                step = torch.randn(z.shape, generator=gen) * model.latent_std(name)
                moved[level][name] = z + k * step
            result[level] = band_energies(model.decode(moved) - base)
    return result


def test_coarse_moves_low_frequencies_fine_moves_high_frequencies_and_colour(generator):
    x = scenes(8, 64, seed=1)
    bands = level_changes(generator, x)
    coarse, mid, fine = (bands[level] for level in LEVELS)
    # low / high band ratio: largest for coarse, smallest for fine
    assert coarse['ratio'] > mid['ratio'] > fine['ratio'], bands
    assert coarse['ratio'] > 10 * fine['ratio'], bands
    # fine moves the high frequencies most, and more colour (chroma) than coarse; the mid
    # styles re-colour whole regions, so mid and fine move about as much chroma
    assert fine['high'] > 3 * max(coarse['high'], mid['high']), bands
    assert fine['chroma'] > 3 * coarse['chroma'], bands
    assert fine['chroma'] > 0.5 * mid['chroma'], bands
    # every level changes the image visibly: the pyramid loss keeps the decoder from
    # routing everything through the full-resolution noise images (without it the
    # coarse change was 1e-5 of the fine one)
    total = {level: b['low'] + b['high'] for level, b in bands.items()}
    assert min(total['coarse'], total['mid']) > 0.02 * total['fine'], bands


def test_the_statistics_set_the_scale_of_each_level(generator):
    """Twice the relative perturbation, about twice the change (the latents are used)."""
    x = scenes(4, 64, seed=2)
    one = level_changes(generator, x, k=0.05)
    two = level_changes(generator, x, k=0.1)
    for level in LEVELS:
        energy = one[level]['low'] + one[level]['high']
        ratio = (two[level]['low'] + two[level]['high']) / energy
        assert energy > 0 and 2.5 < ratio < 6, (level, ratio)  # ~4 = 2 ** 2 (energy)
