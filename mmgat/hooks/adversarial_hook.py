"""Adversarial training and evaluation under attack, as a Runner hook."""
import logging
from typing import Optional, Sequence, Union

import torch
from mmengine.hooks import Hook
from mmengine.logging import print_log

from mmgat.attacks import MODES, attack_batch, build_attack
from mmgat.registry import HOOKS
from mmgat.utils.checks import check_int, is_real
from mmgat.utils.errors import ConfigError
from mmgat.victims import amp_dtype_of, build_victim, model_task, unwrap_model

DATA_BATCH = Optional[Union[dict, tuple, list]]
PHASES = {
    'train': ('train', ),
    'val': ('val', ),
    'test': ('test', ),
    'both': ('train', 'test'),
    'all': ('train', 'val', 'test'),
}


def parse_phase(phase: Union[str, Sequence[str]]) -> frozenset:
    """The loops (``'train'``, ``'val'``, ``'test'``) a ``phase`` option names."""
    names = [phase] if isinstance(phase, str) else list(phase)
    if not names:
        raise ConfigError('phase must name at least one of train / val / test')
    out = set()
    for name in names:
        if name not in PHASES:
            raise ConfigError(f'unknown phase {name!r}; expected one of '
                              f'{sorted(PHASES)} or a list of train / val / test')
        out.update(PHASES[name])
    return frozenset(out)


@HOOKS.register_module()
class AdversarialHook(Hook):
    """Replace or extend each batch with adversarial examples before the model sees it.

    Before a training iteration the hook turns ``data_batch['inputs']`` into pixels
    through the model's own data preprocessor (see :mod:`mmgat.victims`), runs the
    attack on them and writes the adversarial images back into the batch; the train
    step then runs unchanged (nothing of mmdet / mmseg is patched). Before a test (or
    val) iteration it does the same inside ``torch.enable_grad()``, always replacing
    the whole batch, so that ``tools/test.py`` evaluates the model under attack.

    The attack runs on the bare model (a DDP wrapper is unwrapped: no gradient sync;
    each rank attacks its own batch) in eval mode with frozen parameters: BatchNorm
    statistics and parameter gradients are untouched. Random starts are seeded by
    ``(attack seed, rank, runner.iter)`` in training and ``(seed, rank, batch_idx)``
    in val / test, so a run is reproducible.

    A feature attack (:class:`mmgat.attacks.FeatureAttack`, i.e. AdvBN) changes no
    pixel: its perturbation of a backbone layer's output is applied through
    a forward hook during this iteration's train / test step only (to the appended
    copies in ``'append'`` mode, to the first ``round(ratio * N)`` images in
    ``'replace'`` mode) and removed after it.

    Args:
        attack (dict): Config of an attack in ``mmgat.registry.ATTACKS``, e.g.
            ``dict(type='mmgat.PGD', eps=8 / 255, alpha=2 / 255, steps=3)``.
        mode (str): In training, ``'replace'`` the first ``round(ratio * N)`` images
            of the batch by their adversarial versions, or ``'append'`` adversarial
            copies of them (with deep-copied data samples) so the train step sees
            clean and adversarial images together (1:1 for ``ratio=1``).
            Defaults to ``'replace'``.
        ratio (float): Fraction of the batch that is attacked, in (0, 1].
            Defaults to 1.
        begin_iter (int): First training iteration that is attacked. Defaults to 0.
        interval (int): Attack every ``interval`` iterations from ``begin_iter``.
            Defaults to 1.
        phase (str | list[str]): ``'train'``, ``'val'``, ``'test'``, ``'both'``
            (train and test) or ``'all'``, or a list of train / val / test.
            Defaults to ``'train'``.
        victim (dict, optional): Options of the victim adapter
            (:func:`mmgat.victims.build_victim`): ``loss_keys``,
            ``background_classes``, ``gt_frame`` (detection), ``ignore_index``
            (segmentation). A background-only attack (``mask='background'``) on a
            segmentor needs ``background_classes`` (the dataset's background
            classes): without them the hook stops at ``before_run`` with a
            :class:`ConfigError` naming the field.
        test_victim (dict, optional): Victim options for val / test; defaults to
            ``victim``. mmdet's default test pipelines load the boxes after
            ``Resize``, i.e. in the original image frame: use
            ``test_victim=dict(gt_frame='original')`` with them.

    Examples:
        >>> # PGD adversarial training, half of every batch adversarial
        >>> custom_hooks = [
        ...     dict(type='mmgat.AdversarialHook',
        ...          attack=dict(type='mmgat.PGD', eps=8 / 255, alpha=2 / 255,
        ...                      steps=3),
        ...          mode='replace', ratio=0.5)
        ... ]
        >>> # localized (background-only) training of a segmentor, clean + adv
        >>> custom_hooks = [
        ...     dict(type='mmgat.AdversarialHook',
        ...          attack=dict(type='mmgat.PGD', eps=8 / 255, steps=3,
        ...                      mask='background'),
        ...          mode='append', victim=dict(background_classes=[0]))
        ... ]
        >>> # AdvBN: clean + adversarial feature statistics after layer1, 1:1
        >>> custom_hooks = [
        ...     dict(type='mmgat.AdversarialHook',
        ...          attack=dict(type='mmgat.AdvBN', layer='backbone.layer1'),
        ...          mode='append')
        ... ]
        >>> # evaluation under attack with tools/test.py
        >>> custom_hooks = [
        ...     dict(type='mmgat.AdversarialHook', phase='test',
        ...          attack=dict(type='mmgat.PGD', eps=4 / 255, steps=10))
        ... ]
    """

    priority = 'NORMAL'

    def __init__(self,
                 attack: dict,
                 mode: str = 'replace',
                 ratio: float = 1.0,
                 begin_iter: int = 0,
                 interval: int = 1,
                 phase: Union[str, Sequence[str]] = 'train',
                 victim: Optional[dict] = None,
                 test_victim: Optional[dict] = None) -> None:
        if mode not in MODES:
            raise ConfigError(f'unknown mode {mode!r}; expected one of {MODES}')
        if not is_real(ratio) or not 0 < ratio <= 1:
            raise ConfigError(f'ratio must be in (0, 1], got {ratio!r}')
        begin_iter = check_int('begin_iter', begin_iter, low=0)
        interval = check_int('interval', interval, low=1)
        for name, value in (('victim', victim), ('test_victim', test_victim)):
            if value is not None and not isinstance(value, dict):
                raise ConfigError(f'{name} must be a dict of victim options, got '
                                  f'{type(value).__name__}')
        self.attack = build_attack(attack)
        self.mode = mode
        self.ratio = float(ratio)
        self.begin_iter = int(begin_iter)
        self.interval = int(interval)
        self.phases = parse_phase(phase)
        self.victim_cfg = dict(victim or {})
        self._test_victim = test_victim
        self.test_victim_cfg = dict(self.victim_cfg if test_victim is None
                                    else test_victim)
        self._victims = {}
        self._announced = set()
        self._armed = None  # handle of an attached feature perturbation

    # ------------------------------------------------------------------ runner hooks
    def before_run(self, runner) -> None:
        """Check the victim options against the model before anything runs."""
        self._check_victim_options(unwrap_model(runner.model))

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch: DATA_BATCH = None) -> None:
        """Attack the training batch (in place) if this iteration is selected."""
        if 'train' not in self.phases or data_batch is None:
            return
        it = runner.iter
        if it < self.begin_iter or (it - self.begin_iter) % self.interval:
            return
        self._attack_batch(runner, data_batch, phase='train', mode=self.mode,
                           ratio=self.ratio, iteration=it)

    def before_val_iter(self, runner, batch_idx: int,
                        data_batch: DATA_BATCH = None) -> None:
        """Replace the validation batch by adversarial images (phase 'val'/'all')."""
        if 'val' in self.phases and data_batch is not None:
            with torch.enable_grad():
                self._attack_batch(runner, data_batch, phase='val', mode='replace',
                                   ratio=1.0, iteration=batch_idx)

    def before_test_iter(self, runner, batch_idx: int,
                         data_batch: DATA_BATCH = None) -> None:
        """Replace the test batch by adversarial images (phase 'test'/'both'/'all')."""
        if 'test' in self.phases and data_batch is not None:
            # The test loop runs under no_grad; the attack needs gradients.
            with torch.enable_grad():
                self._attack_batch(runner, data_batch, phase='test', mode='replace',
                                   ratio=1.0, iteration=batch_idx)

    # A feature attack (AdvBN) is applied inside the step's forward pass: remove it
    # once the step is done (and before any other forward pass of the model).
    def after_train_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None,
                         outputs=None) -> None:
        self._remove_feature_perturbation()

    def after_val_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None,
                       outputs=None) -> None:
        self._remove_feature_perturbation()

    def after_test_iter(self, runner, batch_idx: int, data_batch: DATA_BATCH = None,
                        outputs=None) -> None:
        self._remove_feature_perturbation()

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Store a stateful attack's state (e.g. a universal perturbation).

        Saved as ``checkpoint['mmgat_adversarial'] = dict(attack=<class name>,
        state=<attack.state_dict()>)``: plain tensors and Python numbers, so the
        checkpoint still loads with ``weights_only=True``.
        """
        state_dict = getattr(self.attack, 'state_dict', None)
        if callable(state_dict):
            checkpoint['mmgat_adversarial'] = dict(attack=type(self.attack).__name__,
                                                   state=state_dict())

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Restore the attack's state saved by :meth:`before_save_checkpoint`.

        Runs on ``--resume`` and on ``load_from`` alike; a checkpoint without the
        entry (a clean one) or from another attack class leaves the attack as it is.
        """
        saved = checkpoint.get('mmgat_adversarial')
        load_state_dict = getattr(self.attack, 'load_state_dict', None)
        if not isinstance(saved, dict) or not callable(load_state_dict):
            return
        name = type(self.attack).__name__
        if saved.get('attack') != name:
            print_log(f'AdversarialHook: the checkpoint holds the state of '
                      f'{saved.get("attack")!r}, not of {name!r}; not restored',
                      logger='current', level=logging.WARNING)
            return
        load_state_dict(saved['state'])
        print_log(f'AdversarialHook: restored the {name} state from the checkpoint',
                  logger='current')

    # ------------------------------------------------------------------ helpers
    def _check_victim_options(self, model) -> None:
        """A segmentor's background is a set of classes that depends on the dataset
        (road, sky... on Cityscapes; class 0 on DigitScenes): a background-only attack
        must be told them, a default would silently perturb the wrong pixels."""
        if getattr(self.attack, 'mask', None) != 'background':
            return
        if model_task(model) != 'segmentation':
            return
        test_key = 'victim' if self._test_victim is None else 'test_victim'
        for phases, cfg, key in (({'train'}, self.victim_cfg, 'victim'),
                                 ({'val', 'test'}, self.test_victim_cfg, test_key)):
            if self.phases & phases and 'background_classes' not in cfg:
                raise ConfigError(
                    f"AdversarialHook: {type(self.attack).__name__} with mask='background' "
                    f'on a segmentor needs the background classes of its dataset: set '
                    f'{key}=dict(background_classes=[...]) in the hook (e.g. the '
                    f'real_background_classes of configs/_base_/datasets/real/*.py, '
                    f'[0] for DigitScenes)')

    def _victim(self, model, phase: str, optim_wrapper=None):
        """The (cached) victim adapter of the bare model for a phase. In training
        with an ``AmpOptimWrapper`` the attack's forward passes run under the same
        autocast as the training step (unless the victim options set ``autocast``)."""
        cfg = dict(self.victim_cfg if phase == 'train' else self.test_victim_cfg)
        if phase == 'train' and 'autocast' not in cfg:
            cfg['autocast'] = amp_dtype_of(optim_wrapper)
        key = (id(model), phase == 'train')
        cached = self._victims.get(key)
        if cached is None or cached.model is not model:
            self._check_victim_options(model)
            cached = build_victim(model, **cfg)
            self._victims[key] = cached
        return cached

    def _attack_batch(self, runner, data_batch: dict, phase: str, mode: str,
                      ratio: float, iteration: int) -> None:
        model = unwrap_model(runner.model)
        victim = self._victim(model, phase, getattr(runner, 'optim_wrapper', None))
        if phase not in self._announced and isinstance(data_batch, dict):
            num = len(data_batch['inputs'])
            self._announced.add(phase)
            print_log(f'AdversarialHook ({phase}): {self.attack} on '
                      f'{int(round(ratio * num))} of {num} images per batch, '
                      f'mode={mode}', logger='current')
        self._remove_feature_perturbation()
        self._armed = attack_batch(self.attack, victim, data_batch, mode=mode,
                                   ratio=ratio, iteration=iteration)

    def _remove_feature_perturbation(self) -> None:
        if self._armed is not None:
            self._armed.remove()
            self._armed = None
