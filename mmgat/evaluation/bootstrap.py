"""Bootstrap over images: resampling weights and percentile intervals.

A replicate resamples the ``N`` images of a split with replacement; it is stored as
the *multiplicity* of every image (``weights[r, i]``: how often image ``i`` was drawn),
so that a score on a subset of the split is recomputed by weighting each image's
outcome (:mod:`mmgat.evaluation.outcomes`) instead of copying images.

One weight matrix per split (seeded by the seed and the split's name) serves every
unit of a run: a unit on a subset of the split uses the columns of its images. Scores
of different units in one replicate therefore see the same resampled images (the mean
over units and rPC are bootstrapped jointly), and two runs of the same split with the
same seed get identical weights: the *paired* bootstrap of a difference comes for
free. On a strict subset the restricted weights are a Poisson-like bootstrap of that
subset (its resampled size varies around its size); on the whole split it is the
classic multinomial bootstrap.
"""
import zlib
from typing import Optional, Sequence, Tuple

import numpy as np

#: Defaults of a suite's ``bootstrap`` setting.
DEFAULT_REPLICATES = 1000
DEFAULT_SEED = 0
DEFAULT_LEVEL = 0.95
#: An interval is reported only when at most this fraction of replicates is undefined
#: (e.g. a 12-image subset drawn zero times); beyond it the score has no interval.
MAX_UNDEFINED = 0.05


def bootstrap_weights(num_images: int, replicates: int, seed: int = DEFAULT_SEED,
                      split: str = 'val') -> np.ndarray:
    """``replicates x num_images`` int32 multiplicities; each row sums to ``num_images``.

    Deterministic in ``(num_images, replicates, seed, split)``.
    """
    if num_images <= 0 or replicates <= 0:
        return np.zeros((max(replicates, 0), max(num_images, 0)), dtype=np.int32)
    rng = np.random.default_rng([int(seed), zlib.crc32(split.encode())])
    draws = rng.integers(0, num_images, size=(replicates, num_images))
    rows = np.arange(replicates, dtype=np.int64)[:, None] * num_images
    counts = np.bincount((draws + rows).ravel(), minlength=replicates * num_images)
    return counts.reshape(replicates, num_images).astype(np.int32)


def percentile_interval(values: Sequence[float], level: float = DEFAULT_LEVEL
                        ) -> Optional[Tuple[float, float]]:
    """The ``(lower, upper)`` percentile interval of bootstrap replicates.

    Undefined replicates (NaN) are left out; with more than :data:`MAX_UNDEFINED` of
    them (or none defined) the result is None.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return None
    defined = values[np.isfinite(values)]
    if defined.size == 0 or defined.size < (1 - MAX_UNDEFINED) * values.size:
        return None
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(defined, [tail, 100 - tail])
    return float(low), float(high)


def excludes_zero(interval: Optional[Tuple[float, float]]) -> bool:
    """Whether an interval of a difference lies entirely on one side of 0."""
    return interval is not None and (interval[0] > 0 or interval[1] < 0)


__all__ = ['bootstrap_weights', 'percentile_interval', 'excludes_zero',
           'DEFAULT_REPLICATES', 'DEFAULT_SEED', 'DEFAULT_LEVEL', 'MAX_UNDEFINED']
