"""mPC / rPC / unseen-mean arithmetic and the summary of a run, against hand values."""
import pytest
from mmengine.config import Config

from mmgat.evaluation.aggregation import (entry_score, entry_status, mean_performance,
                                          relative_performance, resolve_metric,
                                          score_from_metrics, summarize, unseen_mean)
from mmgat.evaluation import load_suite, trained_on
from mmgat.transforms.corruptions import BENCHMARK_CORRUPTIONS, HOLDOUT_CORRUPTIONS
from mmgat.utils.errors import ConfigError
from robustness_records import fabricated_record, unit

SUITE = 'configs/robustness/unseen_digitscenes.py'


def test_mean_performance_small_grid_by_hand():
    scores = {('a', 1): 0.8, ('a', 2): 0.6, ('b', 1): 0.4, ('b', 2): 0.2}
    assert mean_performance(scores, ('a', 'b'), (1, 2)) == (pytest.approx(0.5), 4)
    # a missing pair is left out and counted
    del scores[('b', 2)]
    assert mean_performance(scores, ('a', 'b'), (1, 2)) == (pytest.approx(0.6), 3)
    assert mean_performance({}, ('a', ), (1, )) == (None, 0)


def test_mpc_rpc_over_the_benchmark_grid_and_holdout():
    # every benchmark corruption 0.5 except gaussian_noise at 1.0; holdout all 0.2
    scores = {(c, s): (1.0 if c == 'gaussian_noise' else 0.5)
              for c in BENCHMARK_CORRUPTIONS for s in range(1, 6)}
    scores.update({(c, s): 0.2 for c in HOLDOUT_CORRUPTIONS for s in range(1, 6)})
    mpc, count = mean_performance(scores)
    assert count == 75
    assert mpc == pytest.approx((70 * 0.5 + 5 * 1.0) / 75)  # 0.5333...
    assert relative_performance(mpc, 0.8) == pytest.approx(0.5333333 / 0.8, rel=1e-6)
    holdout, count = mean_performance(scores, HOLDOUT_CORRUPTIONS)
    assert (holdout, count) == (pytest.approx(0.2), 20)
    # the reference numbers of PAPERS.md: 18.2 / 36.3 = 50.1%
    assert relative_performance(18.2, 36.3) == pytest.approx(0.5014, abs=1e-4)
    assert relative_performance(None, 0.5) is None
    assert relative_performance(0.3, 0.0) is None


def test_unseen_mean_counts_only_unseen_attack_kinds():
    kinds = dict(clean='clean', ood='split', pgd='attack', recolor='attack',
                 uni='universal', gran='granularity', corr='corruption', broken='attack')
    scores = dict(clean=0.9, ood=0.8, pgd=0.1, recolor=0.3, uni=0.6, gran=0.45,
                  corr=0.5, broken=None)
    mean, used, missing = unseen_mean(scores, kinds, seen=['pgd'])
    assert used == ['recolor', 'uni', 'gran']
    assert missing == ['broken']
    assert mean == pytest.approx((0.3 + 0.6 + 0.45) / 3)
    assert unseen_mean(scores, kinds, seen=['pgd', 'recolor', 'uni', 'gran'])[0] is None


def test_summarize_fabricated_run():
    summary = summarize(fabricated_record())
    assert summary['clean'] == 0.75 and summary['val_ood'] == 0.7
    assert summary['scores']['granularity'] == pytest.approx(0.4)  # mean over layers
    # unseen: recolor 0.5 and granularity 0.4 (pgd seen, broken failed)
    assert summary['unseen_entries'] == ['recolor', 'granularity']
    assert summary['unseen_missing'] == ['broken']
    assert summary['unseen_mean'] == pytest.approx(0.45)
    # mPC over the 30 benchmark pairs present: (0.6 + 0.4) / 2
    corruption = summary['corruption']
    assert summary['mPC'] == pytest.approx(0.5) and corruption['mPC_count'] == 30
    # P is the corruption entry's own clean score (0.8), not the clean entry's (0.75)
    assert corruption['P'] == 0.8
    assert summary['rPC'] == pytest.approx(0.5 / 0.8)
    assert summary['mPC_holdout'] == pytest.approx(0.7)
    assert corruption['mPC_holdout_count'] == 1
    assert corruption['severity_mean'] == {'1': pytest.approx(0.6), '2': pytest.approx(0.4)}
    assert summary['status']['broken'] == 'failed'
    assert summary['failed'] == ['broken'] and not summary['complete']
    assert summary['seconds']['clean'] == 2 and summary['seconds']['corruptions'] == 17
    assert summary['total_seconds'] == pytest.approx(2 + 1 + 1 + 1 + 1 + 2 + 17)


def test_entry_status_and_score():
    assert entry_status(dict(units={'a': unit(0.1), 'b': unit(0.2)})) == 'done'
    partial = dict(units={'a': unit(0.1), 'b': unit(None, status='failed')})
    assert entry_status(partial) == 'partial'
    assert entry_score(partial) == 0.1
    assert entry_status(dict(units={'a': unit(0.1), 'b': dict(status='pending')})) \
        == 'pending'
    assert entry_status(dict(status='failed', error='x', units={})) == 'failed'
    assert entry_status(dict(status='failed', error='x')) == 'failed'
    assert entry_score(dict(status='failed', error='x')) is None


def test_metrics_per_task_and_overrides():
    assert resolve_metric('detection')['key'] == 'coco/bbox_mAP_50'
    seg = resolve_metric('segmentation')
    assert (seg['key'], seg['scale']) == ('mIoU', 0.01)  # mmseg's percent -> 0-1
    assert score_from_metrics({'mIoU': 55.9}, seg) == pytest.approx(0.559)
    assert resolve_metric('classification')['key'] == 'accuracy/top1'
    assert resolve_metric('detection', 'coco/bbox_mAP')['scale'] == 1.0
    assert resolve_metric('segmentation', dict(segmentation='mDice'))['scale'] == 0.01
    assert resolve_metric('detection', dict(segmentation='mDice'))['key'] == \
        'coco/bbox_mAP_50'
    with pytest.raises(KeyError, match='coco/bbox_mAP_50'):
        score_from_metrics({'coco/bbox_mAP': 0.3}, resolve_metric('detection'))
    with pytest.raises(ConfigError):
        resolve_metric('detection', 3)


_LP = ['apgd-linf_eps2', 'apgd-linf_eps4', 'apgd-linf_eps8', 'apgd-l2_eps0.5',
       'segpgd-linf_eps8', 'cospgd-linf_eps8', 'tog-vanishing_linf_eps8']


# APGD, SegPGD, CosPGD and TOG share PGD's threat model (an L-p ball of the pixels)
@pytest.mark.parametrize('config, expected', [
    ('configs/clean/faster-rcnn_r18_clean_digitscenes.py', []),
    ('configs/pgd/faster-rcnn_r18_pgd_digitscenes.py',
     _LP + ['apgd-linf_eps8_background']),
    # background-only training has not seen full-image PGD
    ('configs/localized/faster-rcnn_r18_localized_digitscenes.py',
     ['apgd-linf_eps8_background']),
    ('configs/universal/faster-rcnn_r18_universal_digitscenes.py', ['universal']),
    ('configs/shared/faster-rcnn_r18_shared_digitscenes.py',
     _LP + ['universal', 'apgd-linf_eps8_background']),
    ('configs/advbn/faster-rcnn_r18_advbn_digitscenes.py', ['advbn']),
])
def test_trained_on_maps_training_attacks_to_suite_entries(config, expected):
    suite = load_suite(SUITE)
    seen, types = trained_on(suite, Config.fromfile(config), 'detection')
    assert seen == expected
    assert bool(types) == bool(expected)


def test_trained_on_gat_model_has_seen_the_latent_attacks():
    cfg = Config(dict(custom_hooks=[
        dict(type='mmgat.SafeCheckpointHook'),
        dict(type='mmgat.AdversarialHook', phase='train',
             attack=dict(type='mmgat.LatentAttack', generator=dict(config='g', checkpoint='c'),
                         levels=('coarse', 'mid', 'fine'))),
        # a test-phase hook is not training
        dict(type='mmgat.AdversarialHook', phase='test', attack=dict(type='mmgat.ReColor'))]))
    seen, types = trained_on(load_suite(SUITE), cfg, 'detection')
    assert seen == ['gat-coarse', 'gat-mid', 'gat-fine']
    assert types == ['LatentAttack']


def test_common_unseen_mean_compares_like_with_like():
    """A clean run's unseen mean covers the GAT attacks, a GAT run's does not: the
    report's 'unseen by all' column averages only what neither trained on."""
    import copy

    from mmgat.evaluation.aggregation import summarize
    from mmgat.evaluation.report import common_unseen, merge_report
    from robustness_records import fabricated_record, unit
    clean = fabricated_record()
    clean['trained_on'] = []
    clean['entries']['gat'] = dict(kind='attack', **unit(0.1))
    gat = copy.deepcopy(clean)
    gat['trained_on'] = ['gat']
    gat['entries']['recolor'] = dict(kind='attack', **unit(0.7))
    records = []
    for record in (clean, gat):
        record = dict(record, source='x/robustness.json')
        record.update(summarize(record))
        records.append(record)
    # pgd 0.2, recolor 0.5 / 0.7, granularity mean 0.4 ('broken' failed for both)
    assert common_unseen(records) == ['pgd', 'recolor', 'granularity']
    report = merge_report(records, names=['clean', 'gat'])
    rows = {r['method']: r for r in report['rows']}
    assert rows['clean']['common_unseen_mean'] == pytest.approx((0.2 + 0.5 + 0.4) / 3)
    assert rows['gat']['common_unseen_mean'] == pytest.approx((0.2 + 0.7 + 0.4) / 3)
    assert rows['clean']['unseen_mean'] == pytest.approx((0.2 + 0.5 + 0.4 + 0.1) / 4)
    assert '| unseen by all |' in report['markdown']
