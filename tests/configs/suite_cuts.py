"""The real-scale suites at test size: every entry of the suite kept, each iterative one
cut to a single step (what the tests check is that each entry runs on the real-scale
model and data, not the attacks' strength: tests/attacks/ does that)."""

ONE_STEP = dict(attack_options=dict(steps=1))
PIXEL_PREFIXES = ('apgd', 'tog', 'segpgd', 'cospgd')


def one_step_entry_options(names) -> dict:
    """``entry_options`` of a derived suite: one step for every attack among ``names``,
    one sPGD update of two images, corruptions at severities 1 and 5 only."""
    cut = {name: ONE_STEP for name in names if name.startswith(PIXEL_PREFIXES)}
    cut.update({name: ONE_STEP for name in ('recolor', 'spatial', 'perceptual', 'advbn')
                if name in names})
    cut.update({name: dict(attack=dict(steps=1))
                for name in ('gat-coarse', 'gat-mid', 'gat-fine', 'granularity')
                if name in names})
    if 'universal' in names:
        cut['universal'] = dict(iters=1, train_batch_size=2)
    if 'corruptions' in names:
        cut['corruptions'] = dict(severities=[1, 5])
    return cut
