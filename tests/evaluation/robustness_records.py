"""Fabricated robustness records for the aggregation / writer / report tests."""
from mmgat.transforms.corruptions import BENCHMARK_CORRUPTIONS


def unit(score, seconds=1.0, status='done', key='accuracy/top1'):
    """A unit record: done with ``score`` or failed."""
    out = dict(status=status, seconds=seconds, hash='h')
    if status == 'done':
        out.update(score=score, metrics={key: score}, num_images=10)
    else:
        out['error'] = 'boom'
    return out


def fabricated_record():
    """A classification run: clean 0.75, pgd seen, recolor 0.5, one failed attack,
    a granularity entry (0.3 / 0.5), corruptions at severities 1 (0.6) and 2 (0.4)
    on images whose clean score is 0.8, and spatter/1 0.7 (holdout)."""
    corr_units = {'clean': unit(0.8)}
    for c in BENCHMARK_CORRUPTIONS:
        for s in (1, 2):
            corr_units[f'{c}/{s}'] = unit(0.6 if s == 1 else 0.4, seconds=0.5)
    corr_units['spatter/1'] = unit(0.7)
    return dict(
        task='classification', trained_on=['pgd'], config_name='resnet18_pgd',
        metric='accuracy/top1', metric_name='top-1', training_attacks=['PGD'],
        entries={
            'clean': dict(kind='clean', **unit(0.75, seconds=2)),
            'val_ood': dict(kind='split', split='val_ood', **unit(0.7)),
            'pgd': dict(kind='attack', **unit(0.2)),
            'recolor': dict(kind='attack', **unit(0.5)),
            'broken': dict(kind='attack', **unit(None, status='failed')),
            'granularity': dict(kind='granularity', units={
                'layer0': unit(0.3), 'layer1': unit(0.5)}),
            'corruptions': dict(kind='corruption', units=corr_units),
        })
