"""The suite runner on tiny in-process models: every entry kind, failures, resume."""
import copy
import json
import os

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import DATASETS, DefaultScope

from mmgat.attacks import PixelAttack
from mmgat.evaluation import RobustnessSuite, load_suite
from mmgat.evaluation.kinds import EntryKind, Unit
from mmgat.evaluation.kinds.base_kind import fail
from mmgat.evaluation.kinds import attack as attack_kind
from mmgat.evaluation.kinds import corruption as corruption_kind
from mmgat.evaluation.kinds import granularity as granularity_kind
from mmgat.evaluation.subset_loop import restrict_to
from mmgat.evaluation.pipeline_edits import insert_after_loading, insert_before_packing
from mmgat.utils.plain_config import plain
from mmgat.registry import ATTACKS, ENTRY_KINDS
from mmgat.utils.errors import ConfigError
from tiny_models import det_model, trained_classifier

from conftest import REPO

pytestmark = pytest.mark.usefixtures('one_thread')

ATTACKS_DIR = REPO / 'configs/_base_/attacks'


@ATTACKS.register_module(name='RobustnessTestLayerAttack', force=True)
class LayerStandIn(PixelAttack):
    """Stands in for LayerActivationAttack: layer 'fine' leaves the images alone,
    any other layer blacks them out."""

    def __init__(self, generator, layer, seed=0):
        super().__init__(eps=0.0, seed=seed)
        self.generator_cfg = generator
        self.layer = layer

    def perturb(self, victim, pixels, data_samples, *, generator, iteration):
        return pixels if self.layer == 'fine' else torch.zeros_like(pixels)


def dataset_cfg(name, root):
    os.environ['MMGAT_DATA_ROOT'] = str(root)
    try:
        cfg = Config.fromfile(str(REPO / f'configs/_base_/datasets/{name}.py'))
    finally:
        del os.environ['MMGAT_DATA_ROOT']
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader',
                'ood_test_dataloader'):
        cfg[key].num_workers = 0
    return cfg


@pytest.fixture(scope='module')
def cls_setup(digitscenes_root):
    cfg = dataset_cfg('digitscenes_cls', digitscenes_root)
    cfg.default_scope = 'mmgat'
    # val_ood without foreground masks: a background attack cannot run there
    cfg.ood_test_dataloader.dataset.pipeline = [
        dict(type='LoadImageFromFile'), dict(type='mmgat.PackClsInputs')]
    # Fitted to the val images the entries evaluate: an attack must visibly hurt it.
    with DefaultScope.overwrite_default_scope('mmgat'):
        dataset = DATASETS.build(copy.deepcopy(cfg.test_dataloader.dataset))
        batch = pseudo_collate([dataset[i] for i in range(len(dataset))])
    return trained_classifier(batch, iters=60), cfg


def fake_generator_layers(generator):
    """The decoder layers of a stand-in generator; a missing checkpoint fails like
    mmgat.generators.load_generator."""
    if not os.path.isfile(generator['checkpoint']) and generator['checkpoint'] != 'g.pth':
        raise ConfigError(f"generator checkpoint '{generator['checkpoint']}' does not "
                          'exist')
    return ['coarse', 'fine']


def read(work_dir, name='robustness'):
    return json.loads((work_dir / f'{name}.json').read_text())


def test_every_entry_kind_on_a_tiny_classifier(cls_setup, tmp_path, monkeypatch):
    model, cfg = cls_setup
    monkeypatch.setattr(granularity_kind, 'generator_layers', fake_generator_layers)
    missing_generator = dict(config=str(REPO / 'configs/generators/style-ae_digitscenes-cls.py'),
                             checkpoint=str(tmp_path / 'missing.pth'))
    suite = dict(batch_size=4, generator=dict(config='g.py', checkpoint='g.pth'), entries=[
        dict(name='clean', kind='clean'),
        dict(name='val_ood', kind='split', split='val_ood', num_images=8),
        dict(name='pgd', kind='attack', attack=str(ATTACKS_DIR / 'pgd-linf_eps8.py'),
             attack_options=dict(steps=10), num_images=8),
        dict(name='universal', kind='universal', iters=2, train_batch_size=8,
             num_images=8),
        dict(name='advbn', kind='attack', attack=str(ATTACKS_DIR / 'advbn.py'),
             attack_options=dict(steps=2), num_images=8),
        dict(name='granularity', kind='granularity',
             attack=dict(type='RobustnessTestLayerAttack'), num_images=8),
        dict(name='corruptions', kind='corruption',
             corruptions=['gaussian_noise', 'fgo'], severities=[1, 5], num_images=8),
        # failures, each with its reason
        dict(name='no-such-attack', kind='attack', attack=dict(type='mmgat.NoSuchAttack')),
        dict(name='missing-file', kind='attack', attack=str(ATTACKS_DIR / 'nope.py')),
        dict(name='background-without-masks', kind='attack', split='val_ood',
             attack=str(ATTACKS_DIR / 'pgd-linf_eps8_background.py'),
             attack_options=dict(steps=1), num_images=4),
        dict(name='granularity-missing-generator', kind='granularity',
             generator=missing_generator),
        dict(name='gat-missing-generator', kind='attack',
             attack=dict(type='mmgat.LatentAttack', levels='fine',
                         generator=missing_generator)),
        dict(name='advbn-unknown-layer', kind='attack', num_images=4,
             attack=dict(type='mmgat.AdvBN', layer='backbone.layer7')),
    ])
    record = RobustnessSuite(model, cfg, suite, str(tmp_path), progress=False).run()
    assert plain(record) == read(tmp_path)  # what was returned is what was written
    assert record['task'] == 'classification' and record['metric'] == 'accuracy/top1'
    entries = record['entries']
    status = record['status']
    assert [n for n, s in status.items() if s == 'done'] == [
        'clean', 'val_ood', 'pgd', 'universal', 'advbn', 'granularity']
    clean = record['clean']
    assert entries['clean']['num_images'] == 16 and clean >= 0.9  # fitted to val
    assert entries['val_ood']['num_images'] == 8
    assert entries['pgd']['attack']['steps'] == 10
    # the same 8 images clean (the corruption entry's severity 0) and under PGD 8/255
    clean_8 = entries['corruptions']['units']['clean']['score']
    assert entries['pgd']['score'] <= clean_8 - 0.25, (entries['pgd']['score'], clean_8)
    # universal: the sPGD perturbation was saved and applied
    info = entries['universal']['info']
    assert os.path.isfile(info['perturbation']) and info['spgd_updates'] == 2
    assert 0 < info['linf'] <= 8 / 255 + 1e-6
    # granularity: one unit per layer, in the generator's order; 'fine' changes nothing
    gran = entries['granularity']
    assert gran['layers'] == ['coarse', 'fine'] and list(gran['units']) == ['coarse', 'fine']
    assert gran['units']['fine']['score'] == pytest.approx(
        entries['corruptions']['units']['clean']['score'])  # the same 8 images, clean
    # corruptions: the unknown name fails its units, the known one runs
    corr = entries['corruptions']['units']
    assert list(corr) == ['clean', 'gaussian_noise/1', 'gaussian_noise/5', 'fgo/1',
                          'fgo/5']
    assert corr['gaussian_noise/5']['status'] == 'done'
    assert corr['fgo/1']['status'] == 'failed' and "Did you mean 'fog'" in corr['fgo/1'][
        'error']
    assert status['corruptions'] == 'partial'
    assert record['corruption']['scores']['gaussian_noise'].keys() == {'1', '5'}
    assert record['mPC'] == pytest.approx(np.mean(
        [corr['gaussian_noise/1']['score'], corr['gaussian_noise/5']['score']]))
    assert record['rPC'] == pytest.approx(record['mPC'] / corr['clean']['score'])
    # the failures and their reasons
    assert 'unknown attack type' in entries['no-such-attack']['error']
    assert 'does not exist' in entries['missing-file']['error']
    assert 'background mask' in entries['background-without-masks']['error']
    assert 'does not exist' in entries['granularity-missing-generator']['error']
    assert 'missing.pth' in entries['gat-missing-generator']['error']
    assert "no module 'backbone.layer7'" in entries['advbn-unknown-layer']['error']
    assert set(record['failed']) == {'corruptions', 'no-such-attack', 'missing-file',
                                     'background-without-masks',
                                     'granularity-missing-generator',
                                     'gat-missing-generator', 'advbn-unknown-layer'}
    # AdvBN changed the features of its batches only: no hook is left on the model
    assert entries['advbn']['attack']['layer'] == 'backbone.layer1'
    assert not model.backbone.layer1._forward_hooks
    # unseen mean: attack kinds that completed (the model trained on nothing)
    assert record['trained_on'] == []
    assert record['unseen_entries'] == ['pgd', 'universal', 'advbn', 'granularity']
    assert record['unseen_mean'] == pytest.approx(np.mean(
        [entries[n]['score'] for n in ('pgd', 'universal', 'advbn', 'granularity')]))
    assert all(entries[n]['seconds'] >= 0 for n in ('clean', 'pgd'))
    for name in ('robustness.md', 'robustness_attacks.png', 'robustness_severity.png',
                 'robustness_granularity.png'):
        assert (tmp_path / name).is_file(), name


def small_suite(steps=1):
    return dict(batch_size=4, entries=[
        dict(name='clean', kind='clean', num_images=8),
        dict(name='pgd', kind='attack', attack=str(ATTACKS_DIR / 'pgd-linf_eps4.py'),
             attack_options=dict(steps=steps), num_images=8),
        dict(name='noise', kind='corruption', corruptions=['gaussian_noise'],
             severities=[3], num_images=8)])


def test_interrupted_suite_resumes_and_reruns_only_what_changed(cls_setup, tmp_path,
                                                                monkeypatch):
    model, cfg = cls_setup

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(attack_kind, 'evaluate_under_attack', interrupt)
        with pytest.raises(KeyboardInterrupt):
            RobustnessSuite(model, cfg, small_suite(), str(tmp_path), progress=False).run()
    first = read(tmp_path)
    # written before the 2nd entry ran; the others are pending
    assert first['status'] == dict(clean='done', pgd='pending', noise='pending')
    assert first['pending'] == ['pgd', 'noise'] and not first['complete']

    calls = []
    original = RobustnessSuite.evaluate

    def counting(self, entry, desc, **kwargs):
        calls.append(desc)
        return original(self, entry, desc, **kwargs)

    monkeypatch.setattr(RobustnessSuite, 'evaluate', counting)
    second = RobustnessSuite(model, cfg, small_suite(), str(tmp_path), progress=False).run()
    assert calls == ['pgd', 'noise clean', 'noise gaussian_noise/3']  # clean skipped
    assert second['entries']['clean'] == first['entries']['clean']
    assert second['complete'] and second['failed'] == []

    # a third run has nothing to do; a changed entry (hash) runs again, alone
    calls.clear()
    RobustnessSuite(model, cfg, small_suite(), str(tmp_path), progress=False).run()
    assert calls == []
    third = RobustnessSuite(model, cfg, small_suite(steps=2), str(tmp_path),
                            progress=False).run()
    assert calls == ['pgd']
    assert third['entries']['pgd']['hash'] != second['entries']['pgd']['hash']
    assert third['entries']['noise'] == second['entries']['noise']

    # changed again and interrupted in that entry: the results of the entries after it
    # are carried over in the JSON and reused by the next run
    calls.clear()
    with monkeypatch.context() as patch:
        patch.setattr(attack_kind, 'evaluate_under_attack', interrupt)
        with pytest.raises(KeyboardInterrupt):
            RobustnessSuite(model, cfg, small_suite(steps=3), str(tmp_path),
                            progress=False).run()
    interrupted = read(tmp_path)
    assert interrupted['status']['noise'] == 'pending'
    assert interrupted['carried']['noise'] == third['entries']['noise']
    fourth = RobustnessSuite(model, cfg, small_suite(steps=3), str(tmp_path),
                             progress=False).run()
    assert calls == ['pgd']
    assert fourth['entries']['noise'] == third['entries']['noise']
    assert fourth['complete'] and 'carried' not in fourth


def test_failed_unit_is_retried_by_the_next_run(cls_setup, tmp_path, monkeypatch):
    model, cfg = cls_setup

    def broken(*args, **kwargs):
        raise RuntimeError('corruption machinery down')

    with monkeypatch.context() as patch:
        patch.setattr(corruption_kind, 'evaluate_corrupted', broken)
        first = RobustnessSuite(model, cfg, small_suite(), str(tmp_path),
                                progress=False).run()
    unit = first['entries']['noise']['units']['gaussian_noise/3']
    assert unit['status'] == 'failed'
    assert unit['error'] == 'RuntimeError: corruption machinery down'
    assert first['status'] == dict(clean='done', pgd='done', noise='partial')
    second = RobustnessSuite(model, cfg, small_suite(), str(tmp_path), progress=False).run()
    assert second['entries']['noise']['units']['gaussian_noise/3']['status'] == 'done'
    assert second['complete']


def test_results_of_another_checkpoint_are_not_reused(cls_setup, tmp_path, monkeypatch):
    model, cfg = cls_setup
    calls = []
    original = RobustnessSuite.evaluate
    monkeypatch.setattr(RobustnessSuite, 'evaluate', lambda self, entry, desc, **kw: (
        calls.append(desc), original(self, entry, desc, **kw))[1])
    ckpt = tmp_path / 'a.pth'
    ckpt.write_bytes(b'a')
    suite = dict(entries=[dict(name='clean', kind='clean', num_images=4)])

    def run():
        RobustnessSuite(model, cfg, suite, str(tmp_path), checkpoint=str(ckpt),
                        progress=False).run()
        return read(tmp_path)

    first = run()
    second = run()
    assert second == first | dict(  # timings aside
        wall_seconds=second['wall_seconds'],
        intervals=dict(first['intervals'], seconds=second['intervals']['seconds']))
    assert calls == ['clean']  # the same checkpoint: reused
    ckpt.write_bytes(b'bb')  # retrained: another file at the same path
    assert run()['model_id'] != first['model_id']
    assert calls == ['clean', 'clean']


def test_pipeline_insertion_points():
    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                dict(type='Resize', scale=(128, 128)), dict(type='mmdet.PackDetInputs')]
    out = insert_after_loading(pipeline, dict(type='Corrupt'))
    assert [t['type'] for t in out][:2] == ['LoadImageFromFile', 'Corrupt']
    assert out[3]['scale'] == (128, 128)  # tuples survive (Resize needs them)
    out = insert_before_packing(pipeline, dict(type='Apply'))
    assert [t['type'] for t in out][-2:] == ['Apply', 'mmdet.PackDetInputs']
    assert len(pipeline) == 4  # not modified
    with pytest.raises(ConfigError, match='LoadImageFromFile'):
        insert_after_loading([dict(type='PackDetInputs')], dict(type='Corrupt'))


@pytest.fixture(scope='module')
def det_setup(digitscenes_root):
    cfg = dataset_cfg('digitscenes_det', digitscenes_root)
    cfg.default_scope = 'mmdet'
    return det_model().eval(), cfg


def test_detector_entries_score_only_the_evaluated_images(det_setup, tmp_path):
    model, cfg = det_setup
    suite = dict(batch_size=4, entries=[
        dict(name='clean', kind='clean', num_images=4),
        dict(name='pgd', kind='attack', attack=str(ATTACKS_DIR / 'pgd-linf_eps2.py'),
             attack_options=dict(steps=1), num_images=4),
        dict(name='fog', kind='corruption', corruptions=['fog'], severities=[2],
             num_images=4)])
    record = RobustnessSuite(model, cfg, suite, str(tmp_path), progress=False).run()
    assert record['task'] == 'detection' and record['metric'] == 'coco/bbox_mAP_50'
    assert record['complete'], record['failed']
    for name in ('clean', 'pgd'):
        entry = record['entries'][name]
        assert entry['num_images'] == 4
        # the untrained detector still detects something: CocoMetric scored the 4 images
        assert 'coco/bbox_mAP_50' in entry['metrics'] and 'note' not in entry, entry
        assert entry['score'] == entry['metrics']['coco/bbox_mAP_50']
    assert record['entries']['fog']['units']['fog/2']['num_images'] == 4


def test_coco_metric_is_restricted_to_the_subset(det_setup):
    """Perfect predictions on 4 of 16 images score mAP 1 (not 4/16 recall)."""
    from mmengine.evaluator import Evaluator
    from mmengine.registry import DATASETS
    _, cfg = det_setup
    with DefaultScope.overwrite_default_scope('mmdet'):
        dataset = DATASETS.build(copy.deepcopy(cfg.test_dataloader.dataset))
        indices = [0, 5, 10, 15]

        def evaluate(restrict):
            evaluator = Evaluator(copy.deepcopy(cfg.test_evaluator.to_dict()))
            evaluator.dataset_meta = dataset.metainfo
            if restrict:
                restrict_to(evaluator, dataset, indices)
            samples = []
            for i in indices:
                info = dataset.get_data_info(i)
                boxes = torch.tensor([inst['bbox'] for inst in info['instances']])
                labels = torch.tensor([inst['bbox_label'] for inst in info['instances']])
                samples.append(dict(img_id=info['img_id'], ori_shape=(128, 128),
                                    pred_instances=dict(bboxes=boxes, labels=labels,
                                                        scores=torch.ones(len(labels)))))
            evaluator.process(samples)
            return evaluator.evaluate(len(indices))['coco/bbox_mAP_50']

        assert evaluate(restrict=True) == pytest.approx(1.0)
        assert evaluate(restrict=False) < 0.5


@ENTRY_KINDS.register_module(name='test-mirrored', force=True)
class MirroredKind(EntryKind):
    """A user's own kind, defined outside mmgat: the split with every image mirrored
    left-right (``axis`` is its own key), counted as an attack of family 'mirror'."""

    keys = ('axis', )
    is_attack = True

    def check(self, entry, out, where, suite_dir):
        out['axis'] = entry.get('axis', -1)
        if out['axis'] not in (-1, -2):
            fail(where, f"axis must be -1 or -2, got {out['axis']!r}")

    def family(self, entry, generator):
        return ('mirror', ), None

    def units(self, entry, rec, ctx):
        def mirror(batch_idx, data_batch):
            data_batch['inputs'] = [img.flip(entry['axis']) for img in data_batch['inputs']]

        return [Unit(None, dict(ctx.base_spec(entry), axis=entry['axis']),
                     lambda desc, info, digest: ctx.evaluate(entry, desc,
                                                             before_batch=mirror))]


def test_a_kind_registered_outside_mmgat_runs_in_a_suite(cls_setup, tmp_path):
    model, cfg = cls_setup
    with pytest.raises(ConfigError, match="axis must be -1 or -2, got 3"):
        load_suite(dict(entries=[dict(name='m', kind='test-mirrored', axis=3)]))
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['steps'\]"):
        load_suite(dict(entries=[dict(name='m', kind='test-mirrored', steps=3)]))
    suite = dict(batch_size=8, entries=[
        dict(name='clean', kind='clean'),
        dict(name='mirrored', kind='test-mirrored', axis=-1),
        dict(name='upside-down', kind='test-mirrored', axis=-2)])
    record = RobustnessSuite(model, cfg, suite, str(tmp_path), progress=False).run()
    entries = record['entries']
    assert record['complete'] and entries['mirrored']['family'] == ['mirror']
    # digits read upside down are other digits: the fitted model must notice
    assert entries['upside-down']['score'] < record['clean']
    assert record['unseen_entries'] == ['mirrored', 'upside-down']
    assert 'test-mirrored' in record['unseen_kinds']


def test_coco_outcomes_recompute_the_metric(det_setup):
    """The matches the recorder takes from CocoMetric's own COCOeval give back its
    mAP / mAP50 / mAP75 (mmdet rounds to 3 decimals) on predictions of mixed quality."""
    from mmengine.evaluator import Evaluator
    from mmengine.registry import DATASETS

    from mmgat.evaluation.outcomes import OutcomeRecorder, weighted_scores
    from mmgat.evaluation.subset_loop import image_ids
    _, cfg = det_setup
    gen = torch.Generator().manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmdet'):
        dataset = DATASETS.build(copy.deepcopy(cfg.test_dataloader.dataset))
        indices = list(range(0, 16, 2))
        evaluator = Evaluator(copy.deepcopy(cfg.test_evaluator.to_dict()))
        evaluator.dataset_meta = dataset.metainfo
        restrict_to(evaluator, dataset, indices)
        recorder = OutcomeRecorder('val', len(dataset), indices,
                                   img_ids=image_ids(dataset, indices))
        samples = []
        for n, i in enumerate(indices):
            info = dataset.get_data_info(i)
            boxes = torch.tensor([inst['bbox'] for inst in info['instances']]).reshape(-1, 4)
            labels = torch.tensor([inst['bbox_label'] for inst in info['instances']]).long()
            boxes = boxes + torch.randn(boxes.shape, generator=gen) * (n % 4)  # worse...
            extra = torch.rand(3, 2, generator=gen) * 100
            boxes = torch.cat([boxes, torch.cat([extra, extra + 20], 1)])
            labels = torch.cat([labels, torch.randint(0, 10, (3, ), generator=gen)])
            scores = torch.rand(len(labels), generator=gen)
            samples.append(dict(img_id=info['img_id'], ori_shape=(128, 128),
                                pred_instances=dict(bboxes=boxes, labels=labels,
                                                    scores=scores)))
        evaluator.process(samples)
        recorder.watch(evaluator)
        with recorder.scoring():
            metrics = evaluator.evaluate(len(indices))
    outcomes = recorder.outcomes()
    assert outcomes is not None, recorder.error
    assert str(outcomes['kind']) == 'coco' and list(outcomes['image_index']) == indices
    ones = np.ones((1, len(indices)))
    for key in ('coco/bbox_mAP', 'coco/bbox_mAP_50', 'coco/bbox_mAP_75'):
        ours = weighted_scores(outcomes, key, 1.0, ones)[0]
        assert abs(ours - metrics[key]) <= 5e-4 + 1e-9, (key, ours, metrics[key])
    assert 0.1 < metrics['coco/bbox_mAP_50'] < 0.95  # neither trivial 0 nor 1


def test_every_unit_keeps_outcomes_and_intervals(cls_setup, tmp_path):
    from mmgat.evaluation.outcomes import load_outcomes, weighted_scores
    model, cfg = cls_setup
    suite = small_suite(steps=2)
    suite['bootstrap'] = dict(replicates=300, seed=1)
    record = RobustnessSuite(model, cfg, suite, str(tmp_path), progress=False).run()
    assert record['complete']
    units = [record['entries']['clean'], record['entries']['pgd'],
             *record['entries']['noise']['units'].values()]
    for unit in units:
        outcomes = load_outcomes(str(tmp_path / unit['outcomes']))
        assert list(outcomes['image_index']) == [i * 16 // 8 for i in range(8)]
        # the stored outcomes give back the unit's score exactly
        again = weighted_scores(outcomes, 'accuracy/top1', 1.0, np.ones((1, 8)))[0]
        assert again == pytest.approx(unit['score'], abs=1e-12)
        low, high = unit['ci']
        assert low <= unit['score'] <= high
        if 0 < unit['score'] < 1:
            assert high - low > 0.1  # 8 images: wide
    assert any(0 < unit['score'] < 1 for unit in units)
    intervals = record['intervals']
    assert intervals['replicates'] == 300 and intervals['missing'] == {}
    for field in ('clean', 'unseen_mean', 'mPC', 'rPC'):
        low, high = intervals[field]
        assert low <= record[field] + 1e-12 and record[field] <= high + 1e-12, field
    assert intervals['scores']['pgd'] == record['entries']['pgd']['ci']
    text = (tmp_path / 'robustness.md').read_text()
    assert '95% percentile bootstrap intervals over images (300 replicates' in text
    assert f"clean {record['clean']:.3f} [{intervals['clean'][0]:.3f}, " in text

    # resumed: same outcomes reused, same intervals; a lost outcome file is said
    again = RobustnessSuite(model, cfg, suite, str(tmp_path), progress=False).run()
    assert again['intervals'] == dict(intervals, seconds=again['intervals']['seconds'])
    assert 0 < record['outcome_seconds'] < record['total_seconds']
    os.remove(tmp_path / record['entries']['pgd']['outcomes'])
    third = RobustnessSuite(model, cfg, suite, str(tmp_path), progress=False).run()
    assert 'pgd' in third['intervals']['missing']
    assert third['intervals']['unseen_mean'] is None  # pgd is in it
    assert third['intervals']['clean'] == intervals['clean']
    assert 'no interval** for what uses the 1 unit(s)' in (
        tmp_path / 'robustness.md').read_text()


def test_report_pairs_runs_on_the_same_images(cls_setup, tmp_path):
    from mmgat.evaluation.intervals import BootstrapWeights
    from mmgat.evaluation.report import load_run, merge_report
    model, cfg = cls_setup
    a, b, c = tmp_path / 'a', tmp_path / 'b', tmp_path / 'c'
    RobustnessSuite(model, cfg, small_suite(steps=2), str(a), progress=False).run()
    stronger = small_suite(steps=10)
    stronger['entries'][1]['attack'] = str(ATTACKS_DIR / 'pgd-linf_eps8.py')
    RobustnessSuite(model, cfg, stronger, str(b), progress=False).run()
    other = small_suite(steps=2)
    other['entries'][1]['num_images'] = 4  # pgd on other images
    RobustnessSuite(model, cfg, other, str(c), progress=False).run()
    weights = BootstrapWeights(200)
    records = [load_run(str(p)) for p in (a, a, b, c)]
    report = merge_report(records, ['base', 'same', 'stronger', 'fewer'], baseline='base',
                          bootstrap=weights)
    text = report['markdown']
    assert '### Differences to base' in text
    lines = text.split('### Differences to base')[1].splitlines()

    def row(name):
        return next(line for line in lines if line.startswith(f'| {name} |'))

    # a run against itself: exactly zero, interval included, never "significant"
    assert row('same').count('+0.000 [+0.000, +0.000]') == 6 and '**' not in row('same')
    assert row('stronger').count('[') == 6  # clean, pgd and the 4 summary columns
    # the stronger attack's drop on the same 8 images
    pgd_b = read(b)['entries']['pgd']['score']
    assert pgd_b < 1.0 and f'{pgd_b - 1.0:+.3f} [' in row('stronger')
    assert '- fewer: not paired (different images), no interval: pgd (4 vs 8 images)' in text
    assert row('fewer').count('[') == 1  # only clean (same images) is paired
    assert '±' in text
    with pytest.raises(ConfigError, match="--baseline 'nobody' is not among the runs"):
        merge_report(records, ['base', 'same', 'stronger', 'fewer'], baseline='nobody')
    # an older run without outcome files: still reported, without intervals, and says so
    old = read(a)
    for entry in old['entries'].values():
        for unit in [entry, *(entry.get('units') or {}).values()]:
            unit.pop('outcomes', None)
            unit.pop('ci', None)
    old.pop('intervals')
    (tmp_path / 'old').mkdir()
    (tmp_path / 'old' / 'robustness.json').write_text(json.dumps(old))
    report = merge_report([load_run(str(tmp_path / 'old')), records[2]],
                          ['old', 'stronger'], baseline='old', bootstrap=weights)
    assert '- old: no interval for what uses 4 unit(s) without per-image outcomes' in \
        report['markdown']
    assert ('- stronger: no paired interval where old lacks per-image outcomes'
            in report['markdown'])
    # seeds: runs sharing a name form one row (mean over seeds) and a seed table
    seeds = merge_report([records[0], records[2], records[0], records[2]],
                         ['clean', 'pgd', 'clean', 'pgd'], baseline='clean',
                         bootstrap=weights)['markdown']
    assert '| clean (2 seeds) |' in seeds and '### Seeds' in seeds
    seed_rows = [line for line in seeds.split('### Seeds')[1].splitlines()
                 if line.startswith('| pgd |')]
    # identical "seeds": no spread across seeds, the images dominate
    assert seed_rows and '/ 0.000 / ' in seed_rows[0] and '/ images' in seed_rows[0]
    diff = seeds.split('### Differences to clean')[1]
    assert '| pgd |' in diff and '[' in diff


def test_report_differences_use_the_attacks_neither_run_trained_on(cls_setup, tmp_path):
    """A method trained on one of two attacks: its difference to the baseline averages
    only the other attack on both sides, not each side's own unseen mean."""
    from mmgat.evaluation.intervals import BootstrapWeights
    from mmgat.evaluation.report import load_run, merge_report
    model, cfg = cls_setup

    def suite(first_eps, first_steps, second_eps, second_steps):
        return dict(batch_size=4, entries=[
            dict(name='clean', kind='clean', num_images=8),
            dict(name='pgd', kind='attack',
                 attack=str(ATTACKS_DIR / f'pgd-linf_eps{first_eps}.py'),
                 attack_options=dict(steps=first_steps), num_images=8),
            dict(name='other', kind='attack',
                 attack=str(ATTACKS_DIR / f'pgd-linf_eps{second_eps}.py'),
                 attack_options=dict(steps=second_steps), num_images=8)])

    base_dir, method_dir = tmp_path / 'base', tmp_path / 'method'
    RobustnessSuite(model, cfg, suite(4, 2, 8, 10), str(base_dir), progress=False).run()
    RobustnessSuite(model, cfg, suite(8, 10, 4, 2), str(method_dir), progress=False).run()
    base, method = load_run(str(base_dir)), load_run(str(method_dir))
    method['trained_on'] = ['pgd']
    text = merge_report([base, method], ['clean', 'pgd'], baseline='clean',
                        bootstrap=BootstrapWeights(200))['markdown']
    diff = text.split('### Differences to clean')[1].splitlines()
    header = next(line for line in diff if line.startswith('| method - clean |'))
    row = next(line for line in diff if line.startswith('| pgd |'))
    cells = dict(zip([c.strip() for c in header.split('|')[1:-1]],
                     [c.strip() for c in row.split('|')[1:-1]]))
    other = method['scores']['other'] - base['scores']['other']
    own = method['scores']['other'] - (base['scores']['pgd'] + base['scores']['other']) / 2
    assert abs(other - own) > 0.01  # the test tells the two definitions apart
    assert cells['unseen by both'].strip('*').startswith(f'{other:+.3f} [')
    assert 'unseen mean' not in cells  # the unlike-with-like difference is not shown


def test_strength_check_flags_an_attack_that_has_not_converged(cls_setup, tmp_path):
    """1-step PGD with a tiny step on a trained classifier has not converged: 2x the
    steps (and a bigger budget use) still lowers the score; the check says so."""
    model, cfg = cls_setup
    suite = dict(batch_size=4, strength_check=dict(num_images=8, factor=8), entries=[
        dict(name='clean', kind='clean', num_images=8),
        dict(name='pgd', kind='attack', attack=str(ATTACKS_DIR / 'pgd-linf_eps8.py'),
             attack_options=dict(steps=1, alpha=1 / 255), num_images=16),
        dict(name='fgsm', kind='attack', attack=str(ATTACKS_DIR / 'fgsm-linf_eps8.py'),
             num_images=8)])
    loaded = load_suite(suite)
    assert loaded.names == ['clean', 'pgd', 'fgsm', 'pgd-strength']  # FGSM has no steps
    strength = loaded.entries[-1]
    assert strength['num_images'] == 8 and strength['of'] == 'pgd'
    record = RobustnessSuite(model, cfg, suite, str(tmp_path), progress=False).run()
    assert record['complete'], record['failed']
    entry = record['entries']['pgd-strength']
    assert entry['steps'] == [1, 8]
    assert set(entry['units']) == {'base', 'strong'}
    gap = record['strength']['pgd-strength']
    assert gap['strong'] < gap['base'] - 0.02 and not gap['converged'], gap
    assert record['scores']['pgd-strength'] == gap['strong']
    assert 'pgd-strength' not in record['unseen_entries']  # not an attack of its own
    text = (tmp_path / 'robustness.md').read_text()
    assert '## Attack strength check' in text and '**Not converged**: pgd' in text
    # an entry for another task is left out (no failure, no record)
    only_seg = dict(suite, strength_check=None, entries=suite['entries'][:1] + [
        dict(name='seg-only', kind='attack', tasks=['segmentation'],
             attack=str(ATTACKS_DIR / 'pgd-linf_eps8.py'), num_images=4)])
    record = RobustnessSuite(model, cfg, only_seg, str(tmp_path / 'tasks'),
                             progress=False).run()
    assert list(record['entries']) == ['clean'] and record['complete']
    with pytest.raises(ConfigError, match="tasks must be a list of"):
        load_suite(dict(only_seg, entries=[dict(name='x', kind='clean', tasks=['video'])]))
    with pytest.raises(ConfigError, match='strength_check.factor must be an int >= 2'):
        load_suite(dict(suite, strength_check=dict(factor=1)))
    with pytest.raises(ConfigError, match=r"strength_check.entries names unknown entries \['nope'\]"):
        load_suite(dict(suite, strength_check=dict(entries=['nope'])))


def test_stronger_attack_doubles_steps_and_adds_a_restart_to_apgd():
    from mmgat.evaluation.kinds.strength import stronger_attack
    assert stronger_attack(dict(type='mmgat.APGD', steps=5), 2) == dict(
        type='mmgat.APGD', steps=10, restarts=2)
    assert stronger_attack(dict(type='mmgat.APGD', steps=5, restarts=3), 2)['restarts'] == 4
    # the class default when the config names no steps; PGD has no restarts
    assert stronger_attack(dict(type='mmgat.PGD'), 3) == dict(type='mmgat.PGD', steps=30)
    with pytest.raises(ConfigError, match='takes no steps'):
        stronger_attack(dict(type='mmgat.FGSM'), 2)


def test_a_work_dir_another_run_writes_is_refused(cls_setup, tmp_path):
    import socket
    import subprocess
    import sys

    from mmgat.evaluation.work_dir_lock import WorkDirLock
    model, cfg = cls_setup
    suite = dict(entries=[dict(name='clean', kind='clean', num_images=4)])
    sleeper = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])
    try:
        lock = tmp_path / 'robustness.lock'
        lock.write_text(json.dumps(dict(host=socket.gethostname(), pid=sleeper.pid,
                                        since='2026-12-02 10:00:00')))
        with pytest.raises(ConfigError, match=f'being written by another run: pid '
                           f'{sleeper.pid} on host {socket.gethostname()} since '
                           '2026-12-02 10:00:00'):
            RobustnessSuite(model, cfg, suite, str(tmp_path), progress=False).run()
        assert not (tmp_path / 'robustness.json').exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    # that run is gone: its lock is taken over (with a warning), and released after
    with pytest.warns(RuntimeWarning, match='is gone; taking it over'):
        RobustnessSuite(model, cfg, suite, str(tmp_path), progress=False).run()
    assert (tmp_path / 'robustness.json').exists() and not lock.exists()
    # a lock of another host cannot be checked: refused, naming the file to delete
    lock.write_text(json.dumps(dict(host='node-7', pid=1, since='x')))
    with pytest.raises(ConfigError, match='host node-7 .*delete the lock file'):
        with WorkDirLock(str(tmp_path)):
            pass
