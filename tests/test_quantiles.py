"""The quantile statistic alone (skbn._quantiles), against written-out math.

References: the bound of the module docstring written out by hand
(``(floor(log2(n / k)) + 1) / k`` past ``2 k`` values, 0 below), numpy's
``np.quantile`` / ``np.median`` (and ``np.repeat`` for integer weights), and
the weighted ranks of the data computed with numpy. The sketch's promise is
checked on its items directly: for every ``x``, the weight of its items
``<= x`` (and ``< x``) is within ``error`` of the data's, whatever the
weights, batches and merge order.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_array_equal

from skbn._quantiles import (
    QuantileSketch,
    capacity_for,
    median_of_sorted,
    quantiles_of_sorted,
    worst_rank_error,
)

PROBABILITIES = (0.25, 0.5, 0.75)


# --------------------------------------------------------------------------
# The bound, by hand
# --------------------------------------------------------------------------


def levels_by_hand(n, k):
    """The levels that may compact, ``floor(log2(n / k)) + 1``, in integers
    (the largest ``h`` with ``k * 2**h <= n``, plus one); none while the
    ``2 k`` values a fresh summary holds are not exceeded."""
    if n < 2 * k:
        return 0
    h = 0
    while k * 2 ** (h + 1) <= n:
        h += 1
    return h + 1


@pytest.mark.parametrize("k", [2, 8, 16, 450, 880, 1024, 4100, 8192, 38000, 2**20])
def test_worst_rank_error_is_the_formula(k):
    # Around every power of two times k, where the level count steps.
    ns = {1, k - 1, k, 2 * k - 1, 2**53 - 1}
    for h in range(1, 54):
        ns |= {k * 2**h - 1, k * 2**h, k * 2**h + 1}
    for n in sorted(n for n in ns if 0 < n < 2**53):
        assert worst_rank_error(k, n) == levels_by_hand(n, k) / k, n


def test_worst_rank_error_at_the_default_capacity():
    # The docstring's numbers: 40 levels of 8192, just below 0.005.
    assert worst_rank_error(8192) == 40 / 8192
    assert worst_rank_error(8192, 2**53 - 1) == 40 / 8192 < 0.005
    assert worst_rank_error(8192, 16384 - 1) == 0.0  # held whole
    assert worst_rank_error(8192, 16384) == 2 / 8192
    assert worst_rank_error(8192, 10**6) == 7 / 8192  # 2**6 <= 1e6/8192 < 2**7


def capacity_by_hand(rank_error):
    """The smallest even ``k`` whose formula bound at 2**53 - 1 values is
    within ``rank_error`` (no k below 1 / rank_error can be: a level
    counts)."""
    k = 2 * math.ceil(1 / rank_error / 2)
    while levels_by_hand(2**53 - 1, k) / k > rank_error:
        k += 2
    return k


@pytest.mark.parametrize(
    "rank_error, expected",
    [
        (0.005, 8192),  # 40 levels: 40 / 8192 = 0.00488; 8190 needs 41
        (0.01, 4100),  # 41 levels: 41 / 4100 = 0.01
        (0.05, 880),  # 44 levels
        (0.1, 450),  # 45 levels
        (0.001, 38000),  # 38 levels
    ],
)
def test_capacity_for(rank_error, expected):
    assert capacity_for(rank_error) == expected == capacity_by_hand(rank_error)
    # The smallest even one: the one below would not do.
    assert levels_by_hand(2**53 - 1, expected - 2) / (expected - 2) > rank_error


# --------------------------------------------------------------------------
# Exact quantiles
# --------------------------------------------------------------------------


def assert_numpy_quantiles(found, data, probabilities):
    """Equal to numpy's, to the last bit: np.quantile ("linear") at each
    probability, then, where ``found`` has one more value, np.median (the
    mean of the middle two)."""
    quantiles = found[: len(probabilities)]
    for value, p in zip(quantiles, probabilities, strict=True):
        expected = np.quantile(data, p)
        assert value == expected, (p, value, expected)
    if len(found) > len(probabilities):
        assert found[-1] == np.median(data), (found[-1], np.median(data))


PROBABILITY_GRID = (0.0, 0.1, 0.25, 0.333, 0.5, 0.666, 0.75, 0.9, 1.0)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 10, 101, 1000])
def test_quantiles_of_sorted_unit_weights(rng, n):
    values = np.sort(rng.standard_cauchy(n))
    found = quantiles_of_sorted(values, PROBABILITY_GRID)
    found = np.append(found, median_of_sorted(values))
    assert_numpy_quantiles(found, values, PROBABILITY_GRID)


def test_median_and_half_quantile_follow_their_own_numpy_rules():
    # np.median averages the middle two, np.quantile(0.5) interpolates from
    # the lower one; for these two values they round differently, and each
    # function keeps its own rule (RobustScaler's center_ is a median, a
    # quantile_range end at 50 a percentile).
    values = np.array([-1508.190422543305, 1062.6688114386523])
    assert np.median(values) != np.quantile(values, 0.5)
    assert median_of_sorted(values) == np.median(values)
    assert quantiles_of_sorted(values, (0.5,))[0] == np.quantile(values, 0.5)


def test_quantiles_of_sorted_with_ties(rng):
    values = np.sort(rng.integers(0, 4, 57).astype(np.float64))
    found = quantiles_of_sorted(values, PROBABILITY_GRID)
    assert_numpy_quantiles(found, values, PROBABILITY_GRID)


def test_quantiles_of_sorted_empty_is_nan():
    assert np.isnan(quantiles_of_sorted(np.empty(0), PROBABILITIES)).all()
    assert np.isnan(
        quantiles_of_sorted(np.array([1.0]), PROBABILITIES, np.array([0.0]))
    ).all()


@pytest.mark.parametrize("n", [1, 2, 5, 40])
def test_quantiles_of_sorted_integer_weights_repeat(rng, n):
    values = np.sort(rng.normal(size=n))
    weights = rng.integers(0, 5, n)
    weights[rng.integers(n)] += 1  # some weight
    found = quantiles_of_sorted(values, PROBABILITY_GRID, np.cumsum(weights))
    assert_numpy_quantiles(found, np.repeat(values, weights), PROBABILITY_GRID)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False),
            st.integers(0, 4),
        ),
        min_size=1,
        max_size=30,
    ).filter(lambda items: sum(w for _, w in items) > 0),
    st.lists(st.floats(0.0, 1.0), min_size=1, max_size=5),
)
def test_quantiles_of_sorted_is_numpy_of_repeated_rows(items, probabilities):
    items = sorted(items)
    values = np.array([v for v, _ in items])
    weights = np.array([w for _, w in items])
    probabilities = (*probabilities, 0.5)
    cumulative = np.cumsum(weights)
    found = quantiles_of_sorted(values, probabilities, cumulative)
    found = np.append(found, median_of_sorted(values, cumulative))
    assert_numpy_quantiles(found, np.repeat(values, weights), probabilities)


# --------------------------------------------------------------------------
# The sketch's rank error
# --------------------------------------------------------------------------


def items_of(summary):
    """All items of a summary: values and weights, flat."""
    values, weights = [np.empty(0)], [np.empty(0)]
    for level in summary.levels:
        for block_values, block_weight in level:
            values.append(np.asarray(block_values, dtype=np.float64))
            weights.append(
                np.broadcast_to(
                    np.asarray(block_weight, dtype=np.float64), block_values.shape
                )
            )
    return np.concatenate(values), np.concatenate(weights)


def levels_of(summary):
    """Each level's items as sorted (value, weight) pairs: the content of a
    summary, whatever its blocks."""
    result = []
    for level in summary.levels:
        pairs = []
        for block_values, block_weight in level:
            block_weights = np.broadcast_to(
                np.asarray(block_weight, dtype=np.float64), block_values.shape
            )
            pairs += zip(block_values.tolist(), block_weights.tolist(), strict=True)
        result.append(sorted(pairs))
    return result


def weight_at_or_below(values, weights, points, strict=False):
    """Total weight of values <= (or <) each point, by numpy."""
    order = np.argsort(values, kind="stable")
    cumulative = np.concatenate([[0.0], np.cumsum(weights[order])])
    index = np.searchsorted(values[order], points, side="left" if strict else "right")
    return cumulative[index]


def sketch_of(values, weights, capacity):
    """One batch's one-feature sketch (``weights`` None: 1 each)."""
    order = np.argsort(values, kind="stable")
    column = (values[order], None if weights is None else weights[order])
    total = values.shape[0] if weights is None else float(np.sum(weights))
    return QuantileSketch.of_sorted_columns([column], capacity, total, PROBABILITIES)


def assert_rank_bound(summary, values, weights, capacity):
    """The module docstring's promise, checked at every item and data value,
    between them and beyond them."""
    total = float(np.sum(weights))
    assert math.isclose(summary.weight, total, rel_tol=1e-12)
    items, item_weights = items_of(summary)
    assert math.isclose(float(item_weights.sum()), total, rel_tol=1e-9)
    points = np.unique(np.concatenate([items, values]))
    points = np.concatenate(
        [points, (points[1:] + points[:-1]) / 2, [points[0] - 1, points[-1] + 1]]
    )
    slack = 1e-9 * total
    for strict in (False, True):
        sketched = weight_at_or_below(items, item_weights, points, strict)
        true = weight_at_or_below(values, weights, points, strict)
        excess = np.abs(sketched - true) - summary.error
        assert excess.max() <= slack, (strict, excess.max(), summary.error)
    # The data-independent bound, by the number of values.
    assert summary.error <= worst_rank_error(capacity, values.shape[0]) * total + slack
    # The summary keeps within its budget of items.
    assert items.shape[0] <= capacity * (len(summary.levels) + 1)
    # Its quantiles: rank within error of the exact position, up to numpy's
    # step from one position to the next (2 in weight, see the docstring).
    reported = summary.quantiles(PROBABILITIES)  # and the median, last
    for p, v in zip((*PROBABILITIES, 0.5), reported, strict=True):
        below = weight_at_or_below(values, weights, [v], strict=True)[0]
        at_or_below = weight_at_or_below(values, weights, [v])[0]
        assert below <= p * total + summary.error + 2 + slack
        assert at_or_below >= p * total - summary.error - 2 - slack


@st.composite
def batches(draw):
    """Batches of values with weights: unit, integer or fractional; values
    from a few levels (ties) or spread out."""
    n_batches = draw(st.integers(1, 12))
    tied = draw(st.booleans())
    result = []
    for _ in range(n_batches):
        n = draw(st.integers(1, 60))
        seed = draw(st.integers(0, 2**32 - 1))
        rng = np.random.default_rng(seed)
        values = (
            rng.integers(0, 5, n).astype(np.float64) if tied else rng.standard_cauchy(n)
        )
        kind = draw(st.sampled_from(["unit", "integer", "fractional"]))
        weights = {
            "unit": None,
            "integer": rng.integers(1, 6, n).astype(np.float64),
            "fractional": rng.uniform(0.01, 3.0, n),
        }[kind]
        result.append((values, weights))
    return result


def merge_in_order(sketches, data):
    """Merge sketches in an order hypothesis draws: a left fold over a
    permutation, or random pairings (a tree, as Dask merges chunks)."""
    order = data.draw(st.permutations(range(len(sketches))))
    pending = [sketches[i] for i in order]
    if data.draw(st.booleans()):
        merged = pending[0]
        for sketch in pending[1:]:
            merged = merged.merge(sketch)
        return merged
    while len(pending) > 1:
        i = data.draw(st.integers(0, len(pending) - 2))
        a, b = pending[i], pending[i + 1]
        pending[i : i + 2] = [a.merge(b) if data.draw(st.booleans()) else b.merge(a)]
    return pending[0]


@settings(max_examples=80, deadline=None)
@given(batches(), st.sampled_from([8, 16]), st.data())
def test_sketch_rank_error_within_its_bound(parts, capacity, data):
    sketches = [sketch_of(v, w, capacity) for v, w in parts]
    for (values, weights), sketch in zip(parts, sketches, strict=True):
        unit = np.ones_like(values) if weights is None else weights
        assert_rank_bound(sketch.summaries[0], values, unit, capacity)
    merged = merge_in_order(sketches, data)
    values = np.concatenate([v for v, _ in parts])
    weights = np.concatenate([np.ones_like(v) if w is None else w for v, w in parts])
    summary = merged.summaries[0]
    assert_rank_bound(summary, values, weights, capacity)
    # rank_error is that error relative to the weight; 0 for one batch,
    # whose exact quantiles the sketch keeps.
    expected = 0.0 if len(parts) == 1 else summary.error / summary.weight
    assert merged.rank_error(PROBABILITIES)[0] == pytest.approx(expected)


def test_many_compactions_stay_within_bound(rng):
    # Sorted, then reversed, then one batch per value range: orders that
    # make a naive sampler lean one way; many levels at capacity 8.
    capacity = 8
    parts = [np.sort(rng.normal(size=300)), np.sort(rng.normal(size=300))[::-1]]
    parts += [rng.uniform(i, i + 1, 50) for i in rng.permutation(40)]
    merged = None
    for values in parts:
        sketch = sketch_of(values, None, capacity)
        merged = sketch if merged is None else merged.merge(sketch)
    values = np.concatenate(parts)
    summary = merged.summaries[0]
    assert len(summary.levels) >= 6  # many compactions happened
    assert summary.error > 0
    assert_rank_bound(summary, values, np.ones_like(values), capacity)


def test_exact_while_held_whole(rng):
    # Up to 2 k values no compaction happens: error 0, numpy's quantiles.
    capacity = 16
    parts = [rng.normal(size=n) for n in (5, 11, 16)]  # 32 = 2 k
    merged = None
    for values in parts:
        sketch = sketch_of(values, None, capacity)
        merged = sketch if merged is None else merged.merge(sketch)
    assert merged.exact is None  # merged: the summaries answer
    assert merged.summaries[0].error == 0.0
    assert merged.rank_error(PROBABILITIES)[0] == 0.0
    values = np.concatenate(parts)
    assert_numpy_quantiles(merged.quantiles(PROBABILITIES)[:, 0], values, PROBABILITIES)
    # One more value and it summarizes, and says so.
    merged = merged.merge(sketch_of(np.array([0.0]), None, capacity))
    assert merged.summaries[0].error > 0


def test_one_batch_is_exact_whatever_its_size(rng):
    # A single batch knows its exact quantiles even when its summary is
    # compacted.
    values = rng.standard_cauchy(1000)
    sketch = sketch_of(values, None, 8)
    assert sketch.summaries[0].error > 0
    assert sketch.rank_error(PROBABILITIES)[0] == 0.0
    assert_numpy_quantiles(sketch.quantiles(PROBABILITIES)[:, 0], values, PROBABILITIES)


def test_errors_and_weights_add_on_merge(rng):
    a = sketch_of(rng.normal(size=200), None, 8).summaries[0]
    b = sketch_of(rng.normal(size=300), rng.uniform(0.5, 2, 300), 8).summaries[0]
    assert a.error > 0 and b.error > 0
    united = a.merge(b)
    assert united.error == a.error + b.error
    assert united.weight == a.weight + b.weight
    # Compacting it to budget only adds error.
    assert united.compacted(8).error >= united.error


def test_merging_different_capacities_raises(rng):
    a = sketch_of(rng.normal(size=10), None, 8)
    b = sketch_of(rng.normal(size=10), None, 16)
    with pytest.raises(ValueError, match="capacities"):
        a.merge(b)


# --------------------------------------------------------------------------
# Persistence of the statistic
# --------------------------------------------------------------------------


def stream(rng, capacity, n_batches, n_features=2):
    """A sketch of several features from mixed batches: unit and fractional
    weights, a feature that starts missing."""
    merged = None
    for i in range(n_batches):
        n = int(rng.integers(1, 80))
        weights = None if i % 3 else rng.uniform(0.1, 4.0, n)
        columns = []
        for f in range(n_features):
            values = rng.standard_cauchy(n) if (f == 0 or i >= 2) else np.empty(0)
            w = None if weights is None else weights[: values.shape[0]]
            order = np.argsort(values, kind="stable")
            columns.append((values[order], None if w is None else w[order]))
        total = n if weights is None else float(weights.sum())
        sketch = QuantileSketch.of_sorted_columns(
            columns, capacity, total, PROBABILITIES
        )
        merged = sketch if merged is None else merged.merge(sketch)
    return merged


def assert_same_sketch(a, b):
    assert a.capacity == b.capacity and a.weight == b.weight
    assert len(a.summaries) == len(b.summaries)
    for s, t in zip(a.summaries, b.summaries, strict=True):
        assert levels_of(s) == levels_of(t)
        assert s.error == t.error and s.weight == t.weight and s.flips == t.flips
    assert_array_equal(a.quantiles(PROBABILITIES), b.quantiles(PROBABILITIES))
    assert_array_equal(a.rank_error(PROBABILITIES), b.rank_error(PROBABILITIES))


@pytest.mark.parametrize("n_batches", [1, 3, 40])
def test_as_dict_round_trip_is_exact(n_batches):
    rng = np.random.default_rng(n_batches)
    sketch = stream(rng, 8, n_batches)
    state = sketch.as_dict()
    # Plain numpy arrays and numbers only (skops trusts nothing else).
    for value in state.values():
        assert value is None or isinstance(value, (np.ndarray, int, float))
    restored = QuantileSketch.from_dict(state)
    assert_same_sketch(sketch, restored)
    if n_batches == 1:
        assert_array_equal(restored.exact, sketch.exact)
    # Continuing after the round trip: the very same sketch.
    more = stream(np.random.default_rng(99), 8, 30)
    assert_same_sketch(sketch.merge(more), restored.merge(more))
    assert_same_sketch(more.merge(sketch), more.merge(restored))
