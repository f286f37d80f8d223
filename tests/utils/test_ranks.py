"""mmgat.utils.ranks in one process, and the sharding against mmengine's sampler."""
import pytest
import torch
from mmengine.evaluator import BaseMetric, Evaluator

from mmgat.evaluation.subset_loop import (SCORING_FAILED, guard_scoring,
                                          raise_scoring_failure)
from mmgat.utils.ranks import agree_on_failure, from_main, gather, rank_shard


@pytest.mark.parametrize('world', [1, 2, 3, 4])
@pytest.mark.parametrize('count', [1, 2, 5, 7, 16])
def test_shards_are_mmengine_samplers_and_gather_back_in_order(world, count,
                                                               monkeypatch):
    import mmengine.dataset.sampler as sampler_module
    indices = [3 * i + 1 for i in range(count)]  # a subset of a split
    shards = []
    for rank in range(world):
        monkeypatch.setattr(sampler_module, 'get_dist_info', lambda r=rank: (r, world))
        sampler = sampler_module.DefaultSampler(list(range(count)), shuffle=False)
        shard = rank_shard(indices, rank, world)
        assert shard == [indices[i] for i in sampler]  # what mmengine would give it
        shards.append(shard)
    assert len({len(s) for s in shards}) == 1  # same number of batches everywhere
    # mmengine's collect_results (cpu): zip the parts, then drop the padding
    gathered = [x for part in zip(*shards) for x in part][:count]
    assert gathered == indices


def test_single_process_agreement_is_the_identity():
    assert from_main({'a': 1}) == {'a': 1}
    assert gather(3) == [3]
    agree_on_failure(None, 'x')
    error = KeyError('mine')
    with pytest.raises(KeyError, match='mine'):
        agree_on_failure(error, 'x')


class Broken(BaseMetric):
    default_prefix = 'broken'

    def process(self, data_batch, data_samples):
        self.results.extend(data_samples)

    def compute_metrics(self, results):
        raise ZeroDivisionError(f'{len(results)} results')


def test_a_scoring_error_comes_back_with_the_metrics_then_is_raised():
    evaluator = Evaluator(Broken())
    evaluator.process(data_samples=[torch.zeros(1)] * 3)
    failures = guard_scoring(evaluator)
    metrics = evaluator.evaluate(3)  # does not raise: rank 0 must broadcast
    assert metrics == {f'broken/{SCORING_FAILED}': 'ZeroDivisionError: 3 results'}
    with pytest.raises(ZeroDivisionError, match='3 results'):
        raise_scoring_failure(metrics, failures)
    # another rank has only the text
    from mmgat.utils.ranks import RankFailure
    with pytest.raises(RankFailure, match='scoring failed on rank 0: ZeroDivision'):
        raise_scoring_failure(metrics, [])
