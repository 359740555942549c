"""RobustStandardizer against independent references.

The references: scikit-learn's RobustScaler (the same map, computed in one
shot from ``np.nanmedian`` and ``np.nanpercentile``), numpy's quantiles of
the data (``np.repeat`` of the rows for integer weights), and, for streams
that outgrow the sketch, the rank of every reported quantile in the full
data computed with numpy: a reported q-quantile ``v`` must satisfy

    fraction of values < v  <= q + rank_error_ + 1/n
    fraction of values <= v >= q - rank_error_ - 1/n

with ``rank_error_`` at most ``rank_error`` and at most the proved bound
``(floor(log2(n / k)) + 1) / k`` written out by hand (``k`` the level
capacity: 8192 by default, 880 for ``rank_error=0.05``).
"""

import pickle
import threading
import time
import warnings

import numpy as np
import pytest
import sklearn
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import RobustScaler

from skbn import RobustStandardizer
from skbn._quantiles import worst_rank_error

# The level capacities of the default rank_error (0.005) and of 0.05: the
# smallest even k whose bound (floor(log2((2**53 - 1) / k)) + 1) / k is
# within it, 40/8192 = 0.00488 and 44/880 = 0.05 (tests/test_quantiles.py
# checks capacity_for against the formula).
CAPACITY = {0.005: 8192, 0.05: 880}

# Transforms: skbn multiplies by 1 / scale_, RobustScaler divides by
# scale_; both round (x - center_) once more, so they agree to an ulp or two.
RTOL = 1e-12


def robust_scaler(X, **params):
    """RobustScaler fitted on X; quiet about all-NaN columns (numpy warns)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return RobustScaler(**params).fit(X)


def probabilities_of(quantile_range):
    q_min, q_max = quantile_range
    return q_min / 100, 0.5, q_max / 100


def assert_close_to(found, expected, magnitude):
    """``|found - expected| <= RTOL * magnitude`` elementwise, NaN where
    expected is NaN."""
    assert found.shape == expected.shape
    assert_array_equal(np.isnan(found), np.isnan(expected))
    ok = ~np.isnan(expected)
    assert (np.abs(found - expected)[ok] <= RTOL * magnitude[ok]).all(), np.max(
        np.abs(found - expected)[ok] / magnitude[ok]
    )


def assert_equals_robust_scaler(est, X, **params):
    """center_ and scale_ equal RobustScaler's to the last bit (None where it
    has None), quantiles_ equal numpy's, transforms to an ulp or two."""
    ref = robust_scaler(X, **params)
    for name in ("center_", "scale_"):
        expected = getattr(ref, name)
        if expected is None:
            assert getattr(est, name) is None, name
        else:
            assert_array_equal(getattr(est, name), expected, err_msg=name)
    quantile_range = params.get("quantile_range", (25.0, 75.0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        expected_quantiles = [
            np.nanmedian(X, axis=0) if q == 50 else np.nanpercentile(X, q, axis=0)
            for q in (quantile_range[0], 50, quantile_range[1])
        ]
        Z = ref.transform(X)
    assert_array_equal(est.quantiles_, np.array(expected_quantiles))
    assert_array_equal(est.rank_error_, np.zeros(X.shape[1]))
    found = est.transform(X)
    assert_close_to(found, Z, np.abs(Z))
    # Back: within rounding of the values and of the centre they were
    # moved by.
    magnitude = np.abs(X) + (0 if ref.center_ is None else np.abs(ref.center_))
    assert_close_to(est.inverse_transform(found), X, magnitude + 1e-300)


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------


def make_data(name, rng):
    """Data sets on which fit must equal RobustScaler bit for bit."""
    if name == "cauchy":
        return rng.standard_cauchy((101, 3))
    if name == "nan":  # different NaN counts per feature, one all NaN
        X = rng.normal(size=(60, 4))
        X[rng.random(60) < 0.1, 1] = np.nan
        X[rng.random(60) < 0.5, 2] = np.nan
        X[:, 3] = np.nan
        return X
    if name == "far_from_zero":
        return 1e9 + rng.normal(size=(80, 2))
    if name == "units_1e8_apart":
        return rng.normal(size=(90, 3)) * np.array([1e-8, 1.0, 1e8])
    if name == "constant":
        return np.tile([0.0, 5.0, -3e7], (31, 1))
    if name == "mostly_constant":  # interquartile range 0: scale 1
        X = np.tile([7.0, 0.0], (40, 1))
        X[rng.choice(40, 8, replace=False), 0] = rng.normal(size=8) * 100
        X[rng.choice(40, 5, replace=False), 1] = 1e6
        return X
    if name == "even_rows":
        return rng.standard_cauchy((100, 2))
    if name == "odd_rows":
        return rng.standard_cauchy((99, 2))
    if name.endswith("_rows"):  # one_rows, two_rows, three_rows
        n = {"one": 1, "two": 2, "three": 3}[name.split("_")[0]]
        return rng.normal(size=(n, 3))
    if name == "ties":
        return rng.integers(0, 6, (50, 3)).astype(np.float64)
    raise ValueError(name)


DATA = [
    "cauchy",
    "nan",
    "far_from_zero",
    "units_1e8_apart",
    "constant",
    "mostly_constant",
    "even_rows",
    "odd_rows",
    "one_rows",
    "two_rows",
    "three_rows",
    "ties",
]


def mixed_data(rng):
    """Every difficulty at once: heavy tails, far from zero, units 1e8
    apart, NaN in different numbers, an all-NaN feature, a constant one."""
    X = np.column_stack(
        [
            rng.standard_cauchy(64),
            1e9 + rng.normal(size=64),
            rng.normal(size=64) * 1e8,
            rng.normal(size=64) * 1e-8,
            np.full(64, np.nan),
            np.full(64, 3.0),
        ]
    )
    X[rng.random(64) < 0.2, 0] = np.nan
    X[rng.random(64) < 0.4, 2] = np.nan
    return X


# --------------------------------------------------------------------------
# 1. fit equals RobustScaler
# --------------------------------------------------------------------------

QUANTILE_SETTINGS = [
    ((25.0, 75.0), False),
    ((25.0, 75.0), True),
    ((0.0, 100.0), False),
    ((10.0, 90.0), False),
    ((10.0, 90.0), True),
    ((33.3, 66.6), False),
    ((33.3, 66.6), True),
    ((40.0, 40.0), False),  # equal ends: scale 0, so 1
]


@pytest.mark.parametrize("with_centering", [True, False])
@pytest.mark.parametrize("with_scaling", [True, False])
@pytest.mark.parametrize("quantile_range, unit_variance", QUANTILE_SETTINGS)
def test_fit_equals_robust_scaler_for_every_parameter(
    rng, with_centering, with_scaling, quantile_range, unit_variance
):
    params = {
        "with_centering": with_centering,
        "with_scaling": with_scaling,
        "quantile_range": quantile_range,
        "unit_variance": unit_variance,
    }
    X = mixed_data(rng)
    est = RobustStandardizer(**params).fit(X)
    assert_equals_robust_scaler(est, X, **params)
    assert est.n_samples_seen_ == X.shape[0]
    assert isinstance(est.n_samples_seen_, int)


@pytest.mark.parametrize("name", DATA)
@pytest.mark.parametrize(
    "params",
    [{}, {"quantile_range": (10.0, 90.0), "unit_variance": True}],
    ids=["default", "deciles-unit-variance"],
)
def test_fit_equals_robust_scaler_on_hard_data(rng, name, params):
    X = make_data(name, rng)
    est = RobustStandardizer(**params).fit(X)
    assert_equals_robust_scaler(est, X, **params)


def test_zero_interquantile_range_scales_by_one(rng):
    X = make_data("mostly_constant", rng)
    est = RobustStandardizer().fit(X)
    # np.percentile's quartiles coincide: the scale is 1, not 0.
    assert (np.percentile(X, 75, axis=0) == np.percentile(X, 25, axis=0)).all()
    assert_array_equal(est.scale_, [1.0, 1.0])
    assert_array_equal(est.transform(X), X - np.median(X, axis=0))


def test_tiny_units_keep_their_scale(rng):
    # Documented difference: RobustScaler takes any scale below 10 eps for
    # zero; here only a scale within the rounding of the quantiles is.
    X = rng.normal(size=(50, 2)) * 1e-17
    est = RobustStandardizer().fit(X)
    iqr = np.percentile(X, 75, axis=0) - np.percentile(X, 25, axis=0)
    assert_array_equal(est.scale_, iqr)
    assert_array_equal(robust_scaler(X).scale_, [1.0, 1.0])


def test_a_few_ulps_of_spread_is_constant():
    # Quartiles one ulp apart at 1e9: rounding, not spread, so scale 1.
    ulp = np.spacing(1e9)
    X = np.array([[1e9], [1e9], [1e9 + ulp], [1e9 + ulp]])
    assert np.percentile(X, 75) - np.percentile(X, 25) > 0
    assert_array_equal(RobustStandardizer().fit(X).scale_, [1.0])


@pytest.mark.parametrize("quantile_range", [(25.0, 50.0), (50.0, 75.0)])
def test_quantile_range_ending_at_the_median_is_bit_exact(rng, quantile_range):
    for _ in range(100):
        X = rng.standard_cauchy((10, 3))
        est = RobustStandardizer(quantile_range=quantile_range).fit(X)
        ref = robust_scaler(X, quantile_range=quantile_range)
        assert_array_equal(est.scale_, ref.scale_)


@pytest.mark.parametrize("quantile_range", [(25.0, 50.0), (50.0, 75.0)])
def test_quantile_range_ending_at_the_median_is_close(rng, quantile_range):
    # Within an ulp of RobustScaler's, whatever the formula at 50.
    for _ in range(100):
        X = rng.standard_cauchy((10, 3))
        est = RobustStandardizer(quantile_range=quantile_range).fit(X)
        ref = robust_scaler(X, quantile_range=quantile_range)
        assert_array_equal(est.center_, ref.center_)
        assert_allclose(est.scale_, ref.scale_, rtol=1e-15)


# --------------------------------------------------------------------------
# 2. sample_weight: integer weights repeat rows
# --------------------------------------------------------------------------


@pytest.mark.parametrize("quantile_range", [(25.0, 75.0), (10.0, 90.0), (0.0, 100.0)])
def test_integer_weights_repeat_rows_in_fit(rng, quantile_range):
    X = mixed_data(rng)
    weights = rng.integers(0, 4, X.shape[0])
    est = RobustStandardizer(quantile_range=quantile_range)
    est.fit(X, sample_weight=weights)
    repeated = np.repeat(X, weights, axis=0)
    ref = robust_scaler(repeated, quantile_range=quantile_range)
    assert_array_equal(est.center_, ref.center_)
    assert_array_equal(est.scale_, ref.scale_)
    assert est.n_samples_seen_ == weights.sum()
    assert_array_equal(est.rank_error_, np.zeros(X.shape[1]))
    assert_close_to(est.transform(X), ref.transform(X), np.abs(ref.transform(X)))


@settings(max_examples=50, deadline=None)
@given(
    st.integers(1, 25),
    st.integers(0, 2**32 - 1),
    st.sampled_from([(25.0, 75.0), (10.0, 90.0), (33.3, 66.6)]),
)
def test_integer_weights_repeat_rows_property(n, seed, quantile_range):
    rng = np.random.default_rng(seed)
    X = rng.integers(-3, 4, (n, 2)).astype(np.float64)  # ties
    X[:, 1] = rng.standard_cauchy(n)
    weights = rng.integers(0, 4, n)
    weights[rng.integers(n)] += 1  # not all zero
    est = RobustStandardizer(quantile_range=quantile_range)
    est.fit(X, sample_weight=weights)
    ref = robust_scaler(np.repeat(X, weights, axis=0), quantile_range=quantile_range)
    assert_array_equal(est.center_, ref.center_)
    assert_array_equal(est.scale_, ref.scale_)


def test_integer_weights_repeat_rows_in_partial_fit(rng):
    # About 3000 rows, 4500 repeated: the stream is held whole, so exact.
    X = np.concatenate([mixed_data(rng) for _ in range(47)])
    weights = rng.integers(0, 4, X.shape[0])
    batches = np.array_split(np.arange(X.shape[0]), 7)
    weights[batches[0]] = 1  # the first batch comes without weights
    est = RobustStandardizer().partial_fit(X[batches[0]])
    for rows in batches[1:]:
        est.partial_fit(X[rows], sample_weight=weights[rows])
    repeated = np.repeat(X, weights, axis=0)
    assert repeated.shape[0] <= 2 * CAPACITY[0.005]
    ref = robust_scaler(repeated)
    assert_array_equal(est.center_, ref.center_)
    assert_array_equal(est.scale_, ref.scale_)
    assert_array_equal(est.rank_error_, np.zeros(X.shape[1]))
    assert est.n_samples_seen_ == weights.sum()


@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_rows_of_weight_zero_are_absent(rng, method):
    X = rng.standard_cauchy((200, 2))
    weights = (rng.random(200) < 0.7).astype(np.float64)
    X[weights == 0] = 1e12  # absent rows that would move every quantile
    est = getattr(RobustStandardizer(), method)(X, sample_weight=weights)
    kept = X[weights > 0]
    ref = robust_scaler(kept)
    assert_array_equal(est.center_, ref.center_)
    assert_array_equal(est.scale_, ref.scale_)
    assert est.n_samples_seen_ == kept.shape[0]


@pytest.mark.parametrize(
    "weights, match",
    [
        (np.zeros(10), "all zero"),
        (np.r_[-1.0, np.ones(9)], "non-negative"),
        (-np.ones(10), "non-negative"),
    ],
    ids=["all-zero", "one-negative", "all-negative"],
)
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_bad_weights_raise(rng, weights, match, method):
    X = rng.normal(size=(10, 2))
    with pytest.raises(ValueError, match=match):
        getattr(RobustStandardizer(), method)(X, sample_weight=weights)


# --------------------------------------------------------------------------
# 3. Streams
# --------------------------------------------------------------------------


def random_batches(rng, n, n_cuts):
    """Row slices of random sizes, with 1-row batches among them."""
    cuts = np.sort(rng.choice(np.arange(1, n - 3), size=n_cuts, replace=False))
    cuts = np.unique(np.concatenate([[1, 2], cuts, [n - 1]]))
    return [slice(a, b) for a, b in zip([0, *cuts], [*cuts, n], strict=True)]


def stream(est, X, batches, weights=None):
    for rows in batches:
        est.partial_fit(
            X[rows], sample_weight=None if weights is None else weights[rows]
        )
    return est


def test_stream_held_whole_equals_robust_scaler(rng):
    # 2 * 8192 rows: the sketch still holds every value, so the quantiles
    # are exact; a feature with NaN holds fewer values, still exact.
    n = 2 * CAPACITY[0.005]
    X = rng.standard_cauchy((n, 3))
    X[rng.random(n) < 0.3, 1] = np.nan
    X[: n // 2, 2] = np.nan
    est = stream(RobustStandardizer(), X, random_batches(rng, n, 30))
    assert_equals_robust_scaler(est, X)
    assert est.n_samples_seen_ == n
    # One more row and the complete feature is summarized: it says so.
    est.partial_fit(rng.standard_cauchy((1, 3)))
    assert est.rank_error_[0] > 0
    assert est.rank_error_[2] == 0  # 8193 values: still whole


@pytest.mark.parametrize("quantile_range", [(25.0, 75.0), (10.0, 90.0), (0.0, 100.0)])
def test_small_stream_with_parameters_equals_robust_scaler(rng, quantile_range):
    X = mixed_data(rng)
    params = {"quantile_range": quantile_range}
    est = stream(RobustStandardizer(**params), X, random_batches(rng, X.shape[0], 9))
    assert_equals_robust_scaler(est, X, **params)


def test_single_partial_fit_equals_fit(rng):
    # One batch is exact whatever its size: it is sorted whole.
    X = rng.standard_cauchy((50_000, 2))
    X[rng.random(50_000) < 0.1, 0] = np.nan
    est = RobustStandardizer().partial_fit(X)
    assert_equals_robust_scaler(est, X)
    fitted = RobustStandardizer().fit(X)
    assert_array_equal(est.center_, fitted.center_)
    assert_array_equal(est.scale_, fitted.scale_)


def rank_bound_by_hand(capacity, n):
    """(floor(log2(n / k)) + 1) / k past 2 k values, else 0; in integers:
    the levels h with k * 2**h <= n."""
    if n < 2 * capacity:
        return 0.0
    levels = 1
    while capacity * 2**levels <= n:
        levels += 1
    return levels / capacity


def assert_within_rank_bound(est, X, weights=None):
    """Every reported quantile's true rank in the full data (by numpy) is
    within rank_error_ (and one value) of its probability; rank_error_ is
    within rank_error and the proved bound."""
    capacity = CAPACITY[est.rank_error]
    probabilities = probabilities_of(est.quantile_range)
    for j in range(X.shape[1]):
        observed = ~np.isnan(X[:, j])
        if weights is not None:
            observed &= weights > 0
        values = X[observed, j]
        w = np.ones(values.shape[0]) if weights is None else weights[observed]
        order = np.argsort(values, kind="stable")
        values, cumulative = values[order], np.concatenate([[0], np.cumsum(w[order])])
        total = cumulative[-1]
        error = est.rank_error_[j]
        assert 0 <= error <= est.rank_error
        assert error <= rank_bound_by_hand(capacity, values.shape[0])
        assert error <= worst_rank_error(capacity, values.shape[0])
        if values.shape[0] > 2 * capacity:
            assert error > 0  # the stream did outgrow the sketch
        # One value's share: numpy's step from one position to the next;
        # with fractional weights positions count weight, and the step is
        # at most 2 plus one value's weight (see skbn._quantiles).
        step = (1 if weights is None else 2 + w.max()) / total
        for p, v in zip(probabilities, est.quantiles_[:, j], strict=True):
            below = cumulative[np.searchsorted(values, v, side="left")] / total
            at_or_below = cumulative[np.searchsorted(values, v, side="right")] / total
            assert below <= p + error + step, (j, p, below, error)
            assert at_or_below >= p - error - step, (j, p, at_or_below, error)
    # The map is the one of the reported quantiles (a zero range scales by 1).
    spread = est.quantiles_[2] - est.quantiles_[0]
    assert_array_equal(est.center_, est.quantiles_[1])
    assert_array_equal(est.scale_, np.where(spread == 0, 1.0, spread))


N_STREAM = 300_000  # rows; 2 features: 600k values


def stream_scenario(name, rng):
    """(X, batches) of a stream that outgrows the sketch."""
    n = N_STREAM
    even = [slice(i, i + 10_000) for i in range(0, n, 10_000)]
    if name == "cauchy_random_batches":
        return rng.standard_cauchy((n, 2)), random_batches(rng, n, 25)
    if name == "pareto":
        return rng.pareto(0.5, (n, 2)), even
    if name == "sorted_ascending":
        X = np.sort(rng.normal(size=(n, 2)), axis=0)
        return X, [slice(i, i + 3000) for i in range(0, n, 3000)]
    if name == "sorted_descending":
        X = np.sort(rng.normal(size=(n, 2)), axis=0)[::-1].copy()
        return X, [slice(i, i + 3000) for i in range(0, n, 3000)]
    if name == "one_value_range_per_batch":
        # Batch b holds values in [r_b, r_b + 1): extremes alternate for
        # the first feature, a random order for the second.
        n_batches, size = 300, n // 300
        alternating = np.array(
            [
                (b // 2) if b % 2 == 0 else n_batches - 1 - b // 2
                for b in range(n_batches)
            ]
        )
        ranges = np.column_stack([alternating, rng.permutation(n_batches)])
        X = np.repeat(ranges, size, axis=0) + rng.random((n, 2))
        return X, [slice(i, i + size) for i in range(0, n, size)]
    if name == "duplicates":
        return rng.integers(0, 6, (n, 2)).astype(np.float64), even
    if name == "feature_missing_at_first":
        X = rng.standard_cauchy((n, 2))
        X[: n // 2, 1] = np.nan
        return X, even
    if name == "one_row_and_narrow_batches":
        X = rng.standard_cauchy((100_000, 2))
        sizes = [20_000] + [1] * 150 + [3] * 150 + [30_000] + [2] * 150
        sizes += [X.shape[0] - sum(sizes)]
        stops = np.cumsum(sizes)
        return X, [slice(a, b) for a, b in zip([0, *stops[:-1]], stops, strict=True)]
    raise ValueError(name)


STREAMS = [
    "cauchy_random_batches",
    "pareto",
    "sorted_ascending",
    "sorted_descending",
    "one_value_range_per_batch",
    "duplicates",
    "feature_missing_at_first",
    "one_row_and_narrow_batches",
]


@pytest.mark.parametrize("rank_error", [0.005, 0.05])
@pytest.mark.parametrize("name", STREAMS)
def test_stream_quantiles_within_rank_bound(rng, name, rank_error):
    X, batches = stream_scenario(name, rng)
    est = stream(RobustStandardizer(rank_error=rank_error), X, batches)
    assert est.n_samples_seen_ == X.shape[0]
    assert_within_rank_bound(est, X)


def test_coarser_sketch_has_larger_but_valid_bound(rng):
    X, batches = stream_scenario("cauchy_random_batches", rng)
    fine = stream(RobustStandardizer(), X, batches)
    coarse = stream(RobustStandardizer(rank_error=0.05), X, batches)
    assert (coarse.rank_error_ > fine.rank_error_).all()
    assert (coarse.rank_error_ <= rank_bound_by_hand(CAPACITY[0.05], X.shape[0])).all()
    assert_within_rank_bound(coarse, X)


@pytest.mark.parametrize("quantile_range", [(10.0, 90.0), (0.0, 100.0), (40.0, 40.0)])
def test_stream_other_quantile_ranges_within_rank_bound(rng, quantile_range):
    X, batches = stream_scenario("cauchy_random_batches", rng)
    est = stream(RobustStandardizer(quantile_range=quantile_range), X, batches)
    if quantile_range == (40.0, 40.0):
        assert_array_equal(est.scale_, [1.0, 1.0])
    assert_within_rank_bound(est, X)


def test_weighted_stream_within_rank_bound(rng):
    # Fractional weights, zeros among them: ranks count weight.
    n = 200_000
    X = rng.standard_cauchy((n, 2))
    weights = rng.uniform(0, 3, n)
    weights[rng.random(n) < 0.1] = 0
    est = stream(RobustStandardizer(), X, random_batches(rng, n, 20), weights)
    assert est.n_samples_seen_ == pytest.approx(weights.sum(), rel=1e-12)
    assert_within_rank_bound(est, X, weights)


def test_set_params_between_partial_fit_and_first_read_changes_nothing(rng):
    # The attributes are derived lazily, but from the parameters of the
    # fitting call, as scikit-learn's fitted attributes are: a set_params
    # before the first read must not give quantiles of another range (from
    # the compacted sketch, while rank_error_ says the exact ones).
    X = rng.normal(size=(100_000, 1))
    est = RobustStandardizer().partial_fit(X)
    est.set_params(quantile_range=(10.0, 90.0), with_centering=False)
    assert_equals_robust_scaler(est, X)
    assert_array_equal(est.rank_error_, [0.0])
    # The next fitting call takes the new parameters.
    est.set_params(with_centering=True).partial_fit(X[:10])
    assert_within_rank_bound(est, np.concatenate([X, X[:10]]))


# --------------------------------------------------------------------------
# 4. Dask
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "chunks", [(1000, -1), (333, -1), (50, 2), (7, 1)], ids=lambda c: f"{c}"
)
def test_dask_fit_small_equals_robust_scaler(rng, chunks):
    da = pytest.importorskip("dask.array")
    X = np.concatenate([mixed_data(rng) for _ in range(16)])[:1000]
    est = RobustStandardizer().fit(da.from_array(X, chunks=chunks))
    assert_equals_robust_scaler(est, X)
    assert est.n_samples_seen_ == X.shape[0]


def test_dask_fit_with_integer_weights_repeats_rows(rng):
    da = pytest.importorskip("dask.array")
    X = rng.standard_cauchy((500, 3))
    weights = rng.integers(0, 4, 500).astype(np.float64)
    est = RobustStandardizer().fit(
        da.from_array(X, chunks=(77, -1)),
        sample_weight=da.from_array(weights, chunks=77),
    )
    ref = robust_scaler(np.repeat(X, weights.astype(int), axis=0))
    assert_array_equal(est.center_, ref.center_)
    assert_array_equal(est.scale_, ref.scale_)


def test_dask_fit_large_within_rank_bound(rng):
    da = pytest.importorskip("dask.array")
    X = rng.standard_cauchy((N_STREAM, 2))
    X[: N_STREAM // 3, 1] = np.nan
    est = RobustStandardizer().fit(da.from_array(X, chunks=(20_000, 1)))
    assert_within_rank_bound(est, X)


def test_dask_transform_is_lazy_and_equals_numpy(rng):
    da = pytest.importorskip("dask.array")
    X = mixed_data(rng)
    est = RobustStandardizer().fit(X)
    dX = da.from_array(X, chunks=(10, -1))
    out = est.transform(dX)
    assert isinstance(out, da.Array)
    assert_array_equal(out.compute(), est.transform(X))
    back = est.inverse_transform(out)
    assert isinstance(back, da.Array)
    assert_array_equal(back.compute(), est.inverse_transform(est.transform(X)))


# --------------------------------------------------------------------------
# 5. Transactional partial_fit
# --------------------------------------------------------------------------


def assert_same_state(a, b, path="state"):
    """Deep equality of two estimator states (dicts of arrays and
    builtins)."""
    assert type(a) is type(b), path
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            assert_same_state(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same_state(x, y, f"{path}[{i}]")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype, path
        assert_array_equal(a, b, err_msg=path)
    else:
        assert a == b or (a != a and b != b), path


def bad_batch(name, rng):
    """(X, sample_weight, message) of a batch that must be refused."""
    X = rng.normal(size=(5, 3))
    if name == "inf":
        X[2, 1] = np.inf
        return X, None, "infinity"
    if name == "-inf":
        X[4, 0] = -np.inf
        return X, None, "infinity"
    if name == "inf_in_row_of_weight_0":
        X[2, 1] = np.inf
        return X, np.array([1.0, 1, 0, 1, 1]), "infinity"
    if name == "wrong_width":
        return X[:, :2], None, "2 features"
    if name == "negative_weight":
        return X, np.array([1.0, 1, -1, 1, 1]), "non-negative"
    if name == "wrong_length_weights":
        return X, np.ones(4), "shape"
    if name == "strings":
        return np.array([["a", "b", "c"]]), None, "string"
    if name == "1-D":
        return X[0], None, "2D"
    if name == "no_rows":
        return X[:0], None, "0 sample"
    if name == "nan_weight":
        return X, np.array([1.0, np.nan, 1, 1, 1]), "finite"
    raise ValueError(name)


BAD_BATCHES = [
    "inf",
    "-inf",
    "inf_in_row_of_weight_0",
    "wrong_width",
    "negative_weight",
    "wrong_length_weights",
    "strings",
    "1-D",
    "no_rows",
    "nan_weight",
]

PUBLIC = ("center_", "scale_", "quantiles_", "rank_error_", "n_samples_seen_")


def public_attributes(est):
    return {name: getattr(est, name) for name in (*PUBLIC, "n_features_in_")}


@pytest.mark.parametrize("read_before", [False, True], ids=["unread", "read"])
@pytest.mark.parametrize("name", BAD_BATCHES)
def test_bad_batch_changes_nothing(rng, name, read_before):
    X = rng.standard_cauchy((40_000, 3))
    first, rest = [slice(0, 15_000), slice(15_000, 25_000)], [slice(25_000, 40_000)]
    uninterrupted = stream(RobustStandardizer(), X, first + rest)
    est = stream(RobustStandardizer(), X, first)
    if read_before:
        est.center_  # noqa: B018 (derived now)
    before = est.__getstate__()
    attributes = public_attributes(est) if read_before else None
    batch, weights, message = bad_batch(name, rng)
    with pytest.raises(ValueError, match=message):
        est.partial_fit(batch, sample_weight=weights)
    assert_same_state(est.__getstate__(), before)
    if read_before:
        assert_same_state(public_attributes(est), attributes)
    stream(est, X, rest)
    assert_same_state(public_attributes(est), public_attributes(uninterrupted))


def test_changing_rank_error_mid_stream_raises_and_changes_nothing(rng):
    X = rng.standard_cauchy((30_000, 2))
    uninterrupted = stream(
        RobustStandardizer(), X, [slice(0, 20_000), slice(20_000, None)]
    )
    est = RobustStandardizer().partial_fit(X[:20_000])
    attributes = public_attributes(est)
    est.set_params(rank_error=0.05)  # a different capacity (880)
    with pytest.raises(ValueError, match="rank_error"):
        est.partial_fit(X[20_000:])
    est.set_params(rank_error=0.005)
    assert_same_state(public_attributes(est), attributes)
    est.partial_fit(X[20_000:])
    assert_same_state(public_attributes(est), public_attributes(uninterrupted))


# --------------------------------------------------------------------------
# 6. Persistence
# --------------------------------------------------------------------------


def round_trip(est, how):
    if how == "pickle":
        return pickle.loads(pickle.dumps(est))
    sio = pytest.importorskip("skops.io")
    data = sio.dumps(est)
    untrusted = sio.get_untrusted_types(data=data)
    assert untrusted == ["skbn._robust.RobustStandardizer"]
    return sio.loads(data, trusted=untrusted)


def assert_plain_state(value, path="state"):
    """Only numpy arrays (of numbers) and builtins."""
    if isinstance(value, dict):
        for key, item in value.items():
            assert isinstance(key, str), path
            assert_plain_state(item, f"{path}.{key}")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            assert_plain_state(item, f"{path}[{i}]")
    elif isinstance(value, np.ndarray):
        assert value.dtype.kind in "biuf", path
    else:
        assert value is None or type(value) in (bool, int, float, str), (path, value)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("read_before", [False, True], ids=["unread", "read"])
@pytest.mark.parametrize("how", ["pickle", "skops"])
def test_round_trip_mid_stream_continues_identically(rng, how, read_before, weighted):
    n = 60_000
    X = rng.standard_cauchy((n, 2))
    X[: n // 3, 1] = np.nan  # a feature that starts missing
    weights = rng.uniform(0, 2, n) if weighted else None
    batches = [slice(i, i + 6_000) for i in range(0, n, 6_000)]
    uninterrupted = stream(RobustStandardizer(), X, batches, weights)
    est = stream(RobustStandardizer(), X, batches[:5], weights)
    if read_before:
        expected = public_attributes(est)
    assert_plain_state(est.__getstate__())
    restored = round_trip(est, how)
    assert_plain_state(restored.__getstate__())
    if read_before:
        assert_same_state(public_attributes(restored), expected)
    else:
        assert_same_state(public_attributes(restored), public_attributes(est))
    stream(restored, X, batches[5:], weights)
    assert_same_state(public_attributes(restored), public_attributes(uninterrupted))
    assert_within_rank_bound(restored, X, weights)


# --------------------------------------------------------------------------
# 7. Parameter validation
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, match",
    [
        ({"quantile_range": (75.0, 25.0)}, "quantile_range"),
        ({"quantile_range": (-1.0, 50.0)}, "quantile_range"),
        ({"quantile_range": (0.0, 101.0)}, "quantile_range"),
        ({"quantile_range": (25.0,)}, "quantile_range"),
        ({"quantile_range": 25.0}, "quantile_range"),
        ({"quantile_range": (1.0, 2.0, 3.0)}, "quantile_range"),
        ({"quantile_range": ("a", 3.0)}, "quantile_range"),
        ({"quantile_range": (np.nan, 75.0)}, "quantile_range"),
        ({"unit_variance": True, "quantile_range": (0.0, 75.0)}, "unit_variance"),
        ({"unit_variance": True, "quantile_range": (25.0, 100.0)}, "unit_variance"),
        ({"unit_variance": True, "quantile_range": (40.0, 40.0)}, "unit_variance"),
        ({"rank_error": 0.0}, "rank_error"),
        ({"rank_error": -0.1}, "rank_error"),
        ({"rank_error": 1.5}, "rank_error"),
        ({"rank_error": np.nan}, "rank_error"),
        ({"rank_error": "0.1"}, "rank_error"),
        ({"with_centering": 1}, "with_centering"),
        ({"with_scaling": "yes"}, "with_scaling"),
        ({"unit_variance": None}, "unit_variance"),
        ({"copy": 0}, "copy"),
    ],
)
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_invalid_parameters_name_themselves(rng, params, match, method):
    X = rng.normal(size=(10, 2))
    est = RobustStandardizer(**params)  # __init__ only stores them
    with pytest.raises(ValueError, match=match):
        getattr(est, method)(X)
    assert not hasattr(est, "n_features_in_")


# --------------------------------------------------------------------------
# 8. dtypes, pipelines, output containers
# --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype, rtol", [(np.float32, 1e-6), (np.float16, 2e-3)])
def test_low_precision_floats_stay(rng, dtype, rtol):
    X = (rng.normal(size=(200, 3)) * [1, 10, 100]).astype(dtype)
    est = RobustStandardizer().fit(X)
    # Statistics in float64, of the float values themselves.
    X64 = X.astype(np.float64)
    assert_array_equal(est.center_, np.median(X64, axis=0))
    Z = est.transform(X)
    assert Z.dtype == dtype
    assert_allclose(Z, robust_scaler(X64).transform(X64), rtol=rtol, atol=rtol)
    back = est.inverse_transform(Z)
    assert back.dtype == dtype
    assert_allclose(back, X64, rtol=rtol, atol=rtol * 100)


def test_integers_become_float64(rng):
    X = rng.integers(0, 100, (50, 2))
    est = RobustStandardizer().fit(X)
    Z = est.transform(X)
    assert Z.dtype == np.float64
    assert_close_to(Z, robust_scaler(X.astype(float)).transform(X), np.abs(Z))


def test_in_a_pipeline(rng):
    X = rng.standard_cauchy((300, 4))
    y = X[:, 0] - 2 * X[:, 2] + rng.normal(size=300)
    ours = make_pipeline(RobustStandardizer(), Ridge()).fit(X, y)
    theirs = make_pipeline(RobustScaler(), Ridge()).fit(X, y)
    assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-10)


def test_pandas_output_keeps_column_names(rng):
    pd = pytest.importorskip("pandas")
    names = ["height", "weight", "age"]
    df = pd.DataFrame(rng.standard_cauchy((40, 3)), columns=names)
    est = RobustStandardizer().set_output(transform="pandas").fit(df)
    assert_array_equal(est.feature_names_in_, names)
    out = est.transform(df)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == names
    ref = robust_scaler(df.to_numpy())
    assert_close_to(
        out.to_numpy(), ref.transform(df.to_numpy()), np.abs(out.to_numpy())
    )
    assert_array_equal(est.get_feature_names_out(), names)


def test_feature_names_out_without_names(rng):
    X = rng.normal(size=(10, 3))
    est = RobustStandardizer().fit(X)
    assert_array_equal(
        est.get_feature_names_out(), robust_scaler(X).get_feature_names_out()
    )


# --------------------------------------------------------------------------
# 9. Threads
# --------------------------------------------------------------------------


@pytest.mark.parametrize("round_", range(3))
def test_concurrent_transforms_derive_once(rng, monkeypatch, round_):
    X = rng.standard_cauchy((3000, 4))
    est = stream(RobustStandardizer(), X, [slice(0, 1000), slice(1000, 3000)])
    # partial_fit leaves the map to be derived on first use: now, by
    # whichever of the threads comes first, once.
    assert "center_" not in vars(est)
    derive = RobustStandardizer._derive_on_use
    calls = []

    def slow_derive(self):
        calls.append(1)
        time.sleep(0.01)  # widens the window a second derivation would use
        return derive(self)

    monkeypatch.setattr(RobustStandardizer, "_derive_on_use", slow_derive)
    barrier = threading.Barrier(8)
    results = [None] * 8

    def work(i):
        barrier.wait()
        results[i] = est.transform(X)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    for result in results:
        assert_array_equal(result, results[0])
    ref = robust_scaler(X)
    assert_close_to(results[0], ref.transform(X), np.abs(results[0]))


# --------------------------------------------------------------------------
# 10. Array API (torch on the CPU)
# --------------------------------------------------------------------------


def test_torch_tensors_in_torch_out(rng, dispatch):
    torch = pytest.importorskip("torch")
    X = mixed_data(rng)[:, :4]  # finite or NaN features, no constant
    with sklearn.config_context(array_api_dispatch=False):
        reference = RobustStandardizer().fit(X)
    tensor = torch.asarray(X, dtype=torch.float64)
    est = RobustStandardizer().fit(tensor)
    Z = est.transform(tensor)
    back = est.inverse_transform(Z)
    streamed = RobustStandardizer().partial_fit(tensor[:30]).partial_fit(tensor[30:])
    streamed_center = streamed.center_
    for value in (est.center_, est.scale_, Z, back, streamed_center):
        assert isinstance(value, torch.Tensor)
    ref = robust_scaler(X)
    assert_array_equal(est.center_.numpy(), ref.center_)
    assert_array_equal(est.scale_.numpy(), ref.scale_)
    assert_array_equal(streamed_center.numpy(), ref.center_)
    assert_array_equal(Z.numpy(), reference.transform(X))
    assert_array_equal(
        back.numpy(), reference.inverse_transform(reference.transform(X))
    )


def test_torch_float32_stays_float32(rng, dispatch):
    torch = pytest.importorskip("torch")
    X = rng.standard_cauchy((101, 3)).astype(np.float32)
    est = RobustStandardizer().fit(torch.asarray(X))
    Z = est.transform(torch.asarray(X))
    assert isinstance(Z, torch.Tensor) and Z.dtype == torch.float32
    X64 = X.astype(np.float64)
    assert_array_equal(est.center_.numpy(), np.median(X64, axis=0))
    assert_allclose(Z.numpy(), robust_scaler(X64).transform(X64), rtol=1e-6, atol=1e-6)
