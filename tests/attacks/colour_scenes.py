"""Synthetic scenes for the ReColor / SpatialFlow / PerceptualAttack tests.

Like DigitScenes (and unlike uniform noise), they are made of a few flat colours with
sharp edges: a two-colour checkerboard with 1-3 flat rectangles ("objects", also the
ground-truth boxes / foreground masks). Many pixels share a colour, which the colour
attack's tests need, and the edges give a spatial attack something to move.

The ``assert_*`` helpers hold the checks these attack tests share.
"""
import pytest
import torch
from mmengine.structures import InstanceData

from mmgat.attacks import build_attack
from mmgat.registry import ATTACKS
from mmgat.structures import ClsDataSample
from mmgat.utils.errors import ConfigError
from mmgat.victims import build_victim
from tiny_models import trained_classifier


def scene_images(num, size, seed=0):
    """``num`` uint8 ``3 x size x size`` scenes and their boxes ``[[x1, y1, x2, y2]]``."""
    gen = torch.Generator().manual_seed(seed)
    images, boxes = [], []
    cell = max(size // 8, 2)
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing='ij')
    checker = ((yy // cell + xx // cell) % 2).bool()
    for i in range(num):
        light, dark = torch.randint(0, 256, (2, 3, 1, 1), generator=gen).to(torch.uint8)
        img = torch.where(checker, light, dark).clone()
        if i == 0:  # saturated rows: the clip to [0, 255] must hold
            img[:, :2] = 255
            img[:, 2:4] = 0
        img_boxes = []
        for _ in range(int(torch.randint(1, 4, (1, ), generator=gen))):
            h, w = (int(v) for v in torch.randint(size // 6, size // 3, (2, ),
                                                  generator=gen))
            y, x = (int(v) for v in torch.randint(4, size - size // 3, (2, ),
                                                  generator=gen))
            colour = torch.randint(0, 256, (3, 1, 1), generator=gen).to(torch.uint8)
            img[:, y:y + h, x:x + w] = colour
            img_boxes.append([x, y, x + w, y + h])
        images.append(img)
        boxes.append(img_boxes)
    return images, boxes


def cls_batch(num=8, size=32, seed=0):
    """Classification scenes; the first rectangle is the foreground mask."""
    images, boxes = scene_images(num, size, seed)
    samples = []
    for i, img_boxes in enumerate(boxes):
        sample = ClsDataSample(metainfo=dict(img_shape=(size, size)))
        sample.gt_label = (i + seed) % 10
        x1, y1, x2, y2 = img_boxes[0]
        mask = torch.zeros(size, size, dtype=torch.bool)
        mask[y1:y2, x1:x2] = True
        sample.gt_fg_mask = mask
        samples.append(sample)
    return dict(inputs=images, data_samples=samples)


def det_batch(sizes=((48, 64), (64, 40)), seed=0):
    """Detection scenes of different sizes (so that the batch is padded)."""
    from mmdet.structures import DetDataSample
    inputs, samples = [], []
    for i, (h, w) in enumerate(sizes):
        images, boxes = scene_images(1, max(h, w), seed + i)
        inputs.append(images[0][:, :h, :w].contiguous())
        sample = DetDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w),
                                             scale_factor=(1.0, 1.0)))
        bboxes = torch.tensor(boxes[0], dtype=torch.float32).reshape(-1, 4)
        bboxes[:, 0::2] = bboxes[:, 0::2].clamp(max=w)
        bboxes[:, 1::2] = bboxes[:, 1::2].clamp(max=h)
        sample.gt_instances = InstanceData(bboxes=bboxes,
                                           labels=torch.arange(len(bboxes)) % 10)
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def victim_loss(victim, pixels, samples):
    """The victim's loss, seeded (mmdet's samplers draw from the global RNG)."""
    with victim.attack_mode(), torch.no_grad():
        torch.manual_seed(0)
        return float(victim.loss(pixels, samples))


# ---------------------------------------------------------------- victims
def fitted_cls_setup(num=8):
    """``(victim, pixels, samples)``: the tiny classifier fitted to the scenes it is
    attacked on (low clean loss)."""
    victim = build_victim(trained_classifier(cls_batch(num=num)))
    pixels, samples, _ = victim.to_pixels(cls_batch(num=num))
    return victim, pixels, samples


def rpn_det_setup():
    """``(victim, pixels, samples)``: the tiny detector (4 backbone stages) on
    :func:`det_batch`, RPN losses only: their anchor samples depend on the boxes, not on
    the pixels, so that the clean and attacked losses of an untrained detector compare."""
    from tiny_models import det_model
    victim = build_victim(det_model(), loss_keys=['loss_rpn_cls', 'loss_rpn_bbox'])
    pixels, samples, _ = victim.to_pixels(det_batch())
    return victim, pixels, samples


# ---------------------------------------------------------------- shared checks
def assert_config_error(attack_type, kwargs, match):
    """``attack_type(**kwargs)`` raises a ConfigError matching ``match``, and so does
    ``build_attack`` (matching the text before the first ``.``)."""
    with pytest.raises(ConfigError, match=match):
        attack_type(**kwargs)
    with pytest.raises(ConfigError, match=match.split('.')[0]):
        build_attack(dict(type=f'mmgat.{attack_type.__name__}', **kwargs))


def build_from_registry_and_file(attack_type, config_file, **kwargs):
    """Check that the ``attack`` of ``config_file`` builds an ``attack_type``; return
    the one the registry builds from ``kwargs`` (the defaults otherwise)."""
    from mmengine.config import Config
    cfg = Config.fromfile(config_file)
    assert isinstance(build_attack(cfg.attack.to_dict()), attack_type)
    attack = ATTACKS.build(dict(type=f'mmgat.{attack_type.__name__}', **kwargs))
    assert isinstance(attack, attack_type)
    return attack


def assert_image_output(adv, pixels):
    """Adversarial pixels: the input's shape, detached, in [0, 255]."""
    assert adv.shape == pixels.shape and not adv.requires_grad
    assert float(adv.min()) >= 0 and float(adv.max()) <= 255


def assert_padding_kept(adv, pixels):
    """:func:`det_batch`'s images are 48 x 64 and 64 x 40 inside the 64 x 64 batch:
    the padding must not change."""
    assert torch.equal(adv[0, :, 48:], pixels[0, :, 48:])
    assert torch.equal(adv[1, :, :, 40:], pixels[1, :, :, 40:])


def random_signs(shape, bound, count=3, seed=0):
    """``count`` random corners of the box ``[-bound, bound]^shape``: tensors whose
    entries are ``-bound`` or ``bound``."""
    gen = torch.Generator().manual_seed(seed)
    return [(torch.randint(0, 2, shape, generator=gen).float() * 2 - 1) * bound
            for _ in range(count)]


def assert_beats_clean_and_random(victim, pixels, adv, samples, randoms):
    """The attacked loss is above 5 x the clean loss and 2 x the loss of every random
    perturbation of the same budget (``randoms``: their perturbed pixels)."""
    clean = victim_loss(victim, pixels, samples)
    attacked = victim_loss(victim, adv, samples)
    random = [victim_loss(victim, other, samples) for other in randoms]
    assert attacked > 5 * clean, (attacked, clean)
    assert attacked > 2 * max(random), (attacked, random)


def assert_seed_reproduces(attack_type, setup, vary):
    """Two calls with the same seed and iteration give the same batch bit for bit; a
    call with ``vary`` (``seed`` / ``iteration``) changed gives another."""
    victim, pixels, samples = setup

    def run(seed=3, iteration=5):
        return attack_type(steps=2, seed=seed)(victim, pixels, samples,
                                              iteration=iteration)

    first = run()
    assert torch.equal(first, run())
    assert not torch.equal(first, run(**vary))


def assert_foreground_kept(adv, pixels, samples):
    """Every image's foreground (``gt_fg_mask``) is bit-identical to the input; return
    the number of changed background values of each image."""
    changed = []
    for i, sample in enumerate(samples):
        fg = sample.gt_fg_mask.expand(3, -1, -1)
        assert torch.equal(adv[i][fg], pixels[i][fg])
        changed.append(int((adv[i][~fg] != pixels[i][~fg]).sum()))
    return changed
