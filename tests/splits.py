"""Ways to cut a data set into partial_fit batches, shared by the test files."""

import numpy as np
from hypothesis import strategies as st


def random_splits(rng, n_samples, max_batches=6):
    """Consecutive row slices covering ``range(n_samples)``, cut at random."""
    n_cuts = rng.integers(0, max_batches)
    cuts = np.unique(rng.integers(1, n_samples, size=n_cuts))
    return _slices([0, *cuts.tolist(), n_samples])


@st.composite
def batch_splits(draw, n_samples, max_cuts=6):
    """Hypothesis strategy: consecutive non-empty row slices of ``n_samples``."""
    cuts = draw(st.lists(st.integers(0, n_samples), max_size=max_cuts))
    return _slices(sorted({0, n_samples, *cuts}))


def _slices(bounds):
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
