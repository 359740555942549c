"""ZScoreOutlierDetector against independent references.

The references are numpy formulas written out here: z-scores from the
population mean and standard deviation (``X.mean(axis=0)``,
``X.std(axis=0)``, ``np.nanmean``/``np.nanstd`` with missing values), the
threshold rule ``any(|z| > threshold)``, and PyTorch BatchNorm1d's running
statistics (the first batch taken exactly, the unbiased batch variance in the
update) for ``momentum``.
"""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline

from skbn import MinMaxNormalizer, ZScoreOutlierDetector
from tests.helpers import batch_splits, random_splits, running_stats_reference

RTOL = 1e-12
# Scores cross zero for rows at the mean; there only an absolute tolerance
# makes sense.
ATOL = 1e-12


def make_data(rng, n_samples=200, n_features=3):
    """Normal features with different offsets and spreads."""
    offsets = np.array([5.0, -300.0, 0.25, 1e3])[:n_features]
    spreads = np.array([1.0, 20.0, 0.01, 50.0])[:n_features]
    return rng.normal(size=(n_samples, n_features)) * spreads + offsets


def reference_z(X_fit, X):
    """z-scores of X from the population statistics of X_fit; NaN ignored."""
    mean = np.nanmean(X_fit, axis=0)
    std = np.nanstd(X_fit, axis=0)
    scale = np.where(std == 0, 1.0, std)
    return (X - mean) / scale


def reference_score(z):
    """-max_j |z_j| over the observed features, 0 for a row with none."""
    return -np.where(np.isnan(z), 0.0, np.abs(z)).max(axis=1, initial=0.0)


def reference_labels(z, threshold):
    return np.where(np.any(np.abs(z) > threshold, axis=1), -1, 1)


def assert_scores_match_reference(det, X_fit, X):
    z = reference_z(X_fit, X)
    score = reference_score(z)
    assert_allclose(det.score_samples(X), score, rtol=RTOL, atol=ATOL)
    assert_allclose(
        det.decision_function(X), score + det.threshold, rtol=RTOL, atol=ATOL
    )


# --------------------------------------------------------------------------
# The threshold rule
# --------------------------------------------------------------------------


@pytest.mark.parametrize("threshold", [0.5, 1.0, 2.0, 3.0, 4.5])
def test_threshold_rule_matches_numpy(threshold, rng):
    X = make_data(rng)
    X_new = make_data(rng, n_samples=100) * 1.5
    det = ZScoreOutlierDetector(threshold=threshold).fit(X)
    assert det.offset_ == -threshold
    for data in (X, X_new):
        z = reference_z(X, data)
        max_abs_z = np.abs(z).max(axis=1)
        assert_allclose(det.score_samples(data), -max_abs_z, rtol=RTOL)
        assert_allclose(
            det.decision_function(data), threshold - max_abs_z, rtol=RTOL, atol=ATOL
        )
        assert_array_equal(det.predict(data), reference_labels(z, threshold))


@pytest.mark.parametrize("threshold", [0.5, 2.0, 3.0])
def test_fit_predict_equals_fit_then_predict(threshold, rng):
    X = make_data(rng)
    labels = ZScoreOutlierDetector(threshold=threshold).fit_predict(X)
    assert_array_equal(labels, reference_labels(reference_z(X, X), threshold))
    det = ZScoreOutlierDetector(threshold=threshold).fit(X)
    assert_array_equal(labels, det.predict(X))


def test_fit_predict_passes_sample_weight(rng):
    X = make_data(rng, n_samples=30)
    weights = rng.integers(0, 4, size=X.shape[0])
    weights[0] = 5
    labels = ZScoreOutlierDetector(threshold=1.5).fit_predict(X, sample_weight=weights)
    z = reference_z(np.repeat(X, weights, axis=0), X)
    assert_array_equal(labels, reference_labels(z, 1.5))


def test_planted_outliers_are_flagged_and_only_they(rng):
    # A bounded bulk, so that the planted values are the only ones beyond the
    # threshold whatever the seed.
    offsets = np.array([10.0, -2.0, 1e4])
    spreads = np.array([1.0, 0.1, 300.0])
    X = rng.uniform(-1, 1, size=(300, 3)) * spreads + offsets
    planted = np.array([7, 50, 51, 123, 299])
    X[7, 0] += 20 * spreads[0]
    X[50, 1] -= 25 * spreads[1]
    X[51] += 15 * spreads
    X[123, 2] -= 30 * spreads[2]
    X[299, 0] -= 18 * spreads[0]
    expected = np.ones(X.shape[0], dtype=int)
    expected[planted] = -1
    assert_array_equal(reference_labels(reference_z(X, X), 3.0), expected)

    det = ZScoreOutlierDetector().fit(X)
    assert_array_equal(det.predict(X), expected)
    assert_array_equal(np.flatnonzero(det.fit_predict(X) == -1), planted)
    assert_array_equal(np.flatnonzero(det.decision_function(X) < 0), planted)


def test_score_is_the_largest_deviation_over_features():
    # Feature 0 has mean 0 and std 1, feature 1 mean 10 and std 2.
    X = np.array([[-1.0, 8.0], [1.0, 12.0], [-1.0, 12.0], [1.0, 8.0]])
    det = ZScoreOutlierDetector(threshold=2.5).fit(X)
    assert_array_equal(det.mean_, [0.0, 10.0])
    assert_array_equal(det.scale_, [1.0, 2.0])
    queries = np.array([[0.5, 10.0], [-3.0, 11.0], [0.0, 16.0], [2.0, 5.0]])
    assert_array_equal(det.score_samples(queries), [-0.5, -3.0, -3.0, -2.5])
    assert_array_equal(det.decision_function(queries), [2.0, -0.5, -0.5, 0.0])
    assert_array_equal(det.predict(queries), [1, -1, -1, 1])


# --------------------------------------------------------------------------
# The boundary: |z| equal to the threshold is an inlier
# --------------------------------------------------------------------------


def test_row_exactly_at_the_threshold_is_an_inlier():
    # Mean 0 and std 1 exactly: z is the query value itself, with no rounding.
    X = np.array([[-1.0], [1.0]])
    det = ZScoreOutlierDetector(threshold=2.0).fit(X)
    assert det.mean_[0] == 0.0
    assert det.scale_[0] == 1.0
    queries = np.array([[2.0], [-2.0], [2.0000001], [-2.0000001], [np.nextafter(2, 3)]])
    assert_array_equal(det.decision_function(queries[:2]), [0.0, 0.0])
    assert_array_equal(det.predict(queries), [1, 1, -1, -1, -1])


def test_boundary_with_several_features_and_default_threshold():
    # Feature 0 takes 1 and 3 (mean 2, std 1); feature 1 takes 0 and 8
    # (mean 4, std 4): z = 3 exactly at 5 and at 16.
    X = np.array([[1.0, 0.0], [3.0, 8.0], [1.0, 8.0], [3.0, 0.0]])
    det = ZScoreOutlierDetector().fit(X)
    queries = np.array(
        [
            [5.0, 4.0],
            [2.0, 16.0],
            [-1.0, -8.0],
            [5.0, 16.0],
            [np.nextafter(5, 6), 4.0],
            [2.0, np.nextafter(16, 17)],
        ]
    )
    assert_array_equal(det.score_samples(queries[:4]), [-3.0, -3.0, -3.0, -3.0])
    assert_array_equal(det.predict(queries), [1, 1, 1, 1, -1, -1])


def test_boundary_in_momentum_mode():
    # Mean 0, unbiased variance 4 / 4 = 1 exactly.
    batch = np.array([[-1.0], [1.0], [-1.0], [1.0], [0.0]])
    det = ZScoreOutlierDetector(threshold=2.0, momentum=0.3).partial_fit(batch)
    assert det.var_[0] == 1.0
    assert_array_equal(det.predict([[2.0], [-2.0], [np.nextafter(2, 3)]]), [1, 1, -1])


# --------------------------------------------------------------------------
# Streaming: any split of partial_fit batches equals one fit
# --------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_partial_fit_random_splits_match_fit(seed):
    rng = np.random.default_rng(seed)
    X = make_data(rng, n_samples=int(rng.integers(10, 80)), n_features=4)
    X_new = make_data(rng, n_samples=50, n_features=4) * 2
    batches = random_splits(rng, X.shape[0])
    streamed = ZScoreOutlierDetector(threshold=2.0)
    for rows in batches:
        streamed.partial_fit(X[rows])
    assert streamed.n_batches_seen_ == len(batches)
    assert streamed.n_samples_seen_ == X.shape[0]
    assert_allclose(streamed.mean_, X.mean(axis=0), rtol=RTOL)
    assert_allclose(streamed.var_, X.var(axis=0), rtol=RTOL)
    assert_allclose(streamed.scale_, X.std(axis=0), rtol=RTOL)
    fitted = ZScoreOutlierDetector(threshold=2.0).fit(X)
    for data in (X, X_new):
        assert_scores_match_reference(streamed, X, data)
        assert_allclose(
            streamed.score_samples(data), fitted.score_samples(data), rtol=RTOL
        )
        assert_array_equal(
            streamed.predict(data), reference_labels(reference_z(X, data), 2.0)
        )


def test_fit_forgets_earlier_batches(rng):
    X = make_data(rng)
    det = ZScoreOutlierDetector().partial_fit(X * 10 + 3).partial_fit(X[:5])
    det.fit(X)
    assert det.n_batches_seen_ == 1
    assert det.n_samples_seen_ == X.shape[0]
    assert_scores_match_reference(det, X, X)


# Integer-valued data: numpy's statistics are then accurate to a few ulps,
# and a feature is either exactly constant or has std >= 0.2, far from the
# constant-feature cutoff.
VALUES = st.integers(-100, 100).map(float)


@st.composite
def split_data(draw):
    n_samples = draw(st.integers(1, 25))
    n_features = draw(st.integers(1, 3))
    elements = st.one_of(VALUES, VALUES, VALUES, st.just(np.nan))
    X = draw(hnp.arrays(np.float64, (n_samples, n_features), elements=elements))
    # A feature with no observed value has no statistics to score it by.
    assume(np.all(np.any(~np.isnan(X), axis=0)))
    batches = draw(batch_splits(n_samples))
    queries = draw(
        hnp.arrays(
            np.float64,
            (5, n_features),
            elements=st.one_of(st.integers(-400, 400).map(float), st.just(np.nan)),
        )
    )
    threshold = draw(st.floats(0.1, 10.0))
    return X, batches, queries, threshold


@settings(max_examples=50, deadline=None)
@given(split_data())
def test_any_split_scores_match_numpy(case):
    X, batches, queries, threshold = case
    det = ZScoreOutlierDetector(threshold=threshold)
    for rows in batches:
        det.partial_fit(X[rows])
    assert det.n_batches_seen_ == len(batches)
    assert_allclose(det.mean_, np.nanmean(X, axis=0), rtol=RTOL, atol=1e-12)
    assert_allclose(det.var_, np.nanvar(X, axis=0), rtol=RTOL, atol=1e-12)
    for data in (X, queries):
        z = reference_z(X, data)
        score = reference_score(z)
        assert_allclose(det.score_samples(data), score, rtol=RTOL, atol=ATOL)
        assert_allclose(
            det.decision_function(data), score + threshold, rtol=RTOL, atol=ATOL
        )
        # Rows within rounding of the threshold may go either way.
        clear = np.abs(-score - threshold) > 1e-9
        assert_array_equal(
            det.predict(data)[clear], reference_labels(z, threshold)[clear]
        )


# --------------------------------------------------------------------------
# Momentum: running statistics that follow a drifting stream
# --------------------------------------------------------------------------


def drifting_stream(rng, n_stationary=200, n_drifting=40, drift=0.2, n_rows=64):
    """Batches of N(0, 1), then batches whose mean rises by ``drift`` each."""
    means = [0.0] * n_stationary + [drift * (k + 1) for k in range(n_drifting)]
    return [rng.normal(loc=mean, size=(n_rows, 1)) for mean in means]


def test_momentum_running_mean_follows_batchnorm_recursion(rng):
    batches = drifting_stream(rng, n_stationary=5, n_drifting=40, drift=0.5)
    history = running_stats_reference(batches, momentum=0.2)
    det = ZScoreOutlierDetector(momentum=0.2)
    for batch, (mean, var) in zip(batches, history, strict=True):
        det.partial_fit(batch)
        assert_allclose(det.mean_, mean, rtol=RTOL, atol=ATOL)
        assert_allclose(det.var_, var, rtol=RTOL, atol=ATOL)
        assert_allclose(det.scale_, np.sqrt(var), rtol=RTOL)
    assert det.n_batches_seen_ == len(batches)
    assert det.n_samples_seen_ == sum(len(batch) for batch in batches)
    last = batches[-1]
    assert_allclose(
        det.score_samples(last),
        -np.abs(last[:, 0] - history[-1][0][0]) / np.sqrt(history[-1][1][0]),
        rtol=RTOL,
        atol=ATOL,
    )


def test_momentum_first_batch_sets_unbiased_statistics(rng):
    X = make_data(rng, n_samples=20)
    det = ZScoreOutlierDetector(momentum=0.1).fit(X)
    assert_allclose(det.mean_, X.mean(axis=0), rtol=RTOL)
    assert_allclose(det.var_, X.var(axis=0, ddof=1), rtol=RTOL)
    z = (X - X.mean(axis=0)) / X.std(axis=0, ddof=1)
    assert_allclose(det.score_samples(X), -np.abs(z).max(axis=1), rtol=RTOL)


def test_momentum_one_scores_by_the_last_batch_alone(rng):
    batches = [make_data(rng, n_samples=30) + shift for shift in (0.0, 50.0, -7.0)]
    det = ZScoreOutlierDetector(momentum=1.0)
    for batch in batches:
        det.partial_fit(batch)
    last = batches[-1]
    z = (last - last.mean(axis=0)) / last.std(axis=0, ddof=1)
    assert_allclose(det.score_samples(last), -np.abs(z).max(axis=1), rtol=RTOL)


def test_momentum_keeps_false_alarms_rare_under_drift(rng):
    # Under a steady drift d per batch the running mean settles
    # d * (1 - momentum) / momentum = 0.8 std behind the stream, and the running
    # variance averages within-batch variances (1), so about 1 % of a batch is
    # beyond 3. The cumulative statistics of a stream that drifts after a
    # long stationary stretch stay near the old level, with a spread of ~2:
    # the drifted batches fall outside them. (On a stream that drifts from
    # the start, the drift widens the cumulative spread instead, and the
    # cumulative detector flags nothing at all.)
    batches = drifting_stream(rng)
    running = ZScoreOutlierDetector(momentum=0.2)
    cumulative = ZScoreOutlierDetector()
    flagged_running, flagged_cumulative = [], []
    for batch in batches:
        running.partial_fit(batch)
        cumulative.partial_fit(batch)
        flagged_running.append(np.mean(running.predict(batch) == -1))
        flagged_cumulative.append(np.mean(cumulative.predict(batch) == -1))
    stream = np.concatenate(batches)
    # Both detectors are first held to their references, so that the
    # comparison below is about the statistics.
    assert_allclose(cumulative.mean_, stream.mean(axis=0), rtol=RTOL)
    assert_allclose(cumulative.scale_, stream.std(axis=0), rtol=RTOL)
    mean, var = running_stats_reference(batches, momentum=0.2)[-1]
    assert_allclose(running.mean_, mean, rtol=RTOL)
    assert_allclose(running.var_, var, rtol=RTOL)

    late = slice(-10, None)
    assert np.mean(flagged_running[late]) < 0.05
    assert flagged_running[-1] < 0.05
    assert np.mean(flagged_cumulative[late]) > 0.5
    assert flagged_cumulative[-1] > 0.75


def test_momentum_flags_fresh_outliers_in_a_late_batch(rng):
    batches = drifting_stream(rng)
    running = ZScoreOutlierDetector(momentum=0.2)
    cumulative = ZScoreOutlierDetector()
    for batch in batches[:-1]:
        running.partial_fit(batch)
        cumulative.partial_fit(batch)
    late = batches[-1].copy()
    center = late.mean()
    planted = np.array([3, 17, 40])
    # Far below the current level, but back where the stream used to be.
    late[planted, 0] = center - np.array([8.0, 8.5, 9.0])
    running.partial_fit(late)
    cumulative.partial_fit(late)

    mean, var = running_stats_reference([*batches[:-1], late], momentum=0.2)[-1]
    z = (late - mean) / np.sqrt(var)
    assert np.all(np.abs(z[planted]) > 4)
    labels = running.predict(late)
    assert_array_equal(labels, reference_labels(z, 3.0))
    assert np.all(labels[planted] == -1)
    # The cumulative statistics still describe the old level: they miss them.
    assert np.all(cumulative.predict(late)[planted] == 1)


def test_momentum_with_nan_updates_each_feature_on_its_observed_values(rng):
    batches = [make_data(rng, n_samples=12, n_features=2) for _ in range(4)]
    batches[1][[0, 4, 5], 0] = np.nan
    batches[2][:11, 1] = np.nan  # one observed value: feature 1 is left as is
    det = ZScoreOutlierDetector(momentum=0.25)
    mean = np.nanmean(batches[0], axis=0)
    var = np.nanvar(batches[0], axis=0, ddof=1)
    for k, batch in enumerate(batches):
        det.partial_fit(batch)
        if k > 0:
            informative = np.sum(~np.isnan(batch), axis=0) > 1
            new_mean = 0.75 * mean + 0.25 * np.nanmean(batch, axis=0)
            with warnings.catch_warnings():
                # A feature with one observed value has no unbiased variance.
                warnings.simplefilter("ignore", RuntimeWarning)
                new_var = 0.75 * var + 0.25 * np.nanvar(batch, axis=0, ddof=1)
            mean = np.where(informative, new_mean, mean)
            var = np.where(informative, new_var, var)
        assert_allclose(det.mean_, mean, rtol=RTOL)
        assert_allclose(det.var_, var, rtol=RTOL)


# --------------------------------------------------------------------------
# Missing values
# --------------------------------------------------------------------------


def make_data_with_nan(rng, n_samples=60):
    X = make_data(rng, n_samples=n_samples)
    X[rng.random(X.shape) < 0.2] = np.nan
    X[:3, 1] = np.nan
    return X


def test_fit_ignores_nan(rng):
    X = make_data_with_nan(rng)
    det = ZScoreOutlierDetector().fit(X)
    assert_allclose(det.mean_, np.nanmean(X, axis=0), rtol=RTOL)
    assert_allclose(det.var_, np.nanvar(X, axis=0), rtol=RTOL)
    assert_allclose(det.scale_, np.nanstd(X, axis=0), rtol=RTOL)
    assert_array_equal(det.n_samples_seen_, np.sum(~np.isnan(X), axis=0))
    assert_scores_match_reference(det, X, X)


def test_partial_fit_with_nan_matches_fit(rng):
    X = make_data_with_nan(rng)
    det = ZScoreOutlierDetector()
    for rows in (slice(0, 2), slice(2, 25), slice(25, 26), slice(26, 60)):
        det.partial_fit(X[rows])
    assert_allclose(det.mean_, np.nanmean(X, axis=0), rtol=RTOL)
    assert_allclose(det.scale_, np.nanstd(X, axis=0), rtol=RTOL)
    assert_scores_match_reference(det, X, X)


def test_missing_value_is_scored_over_the_observed_features(rng):
    X = make_data(rng)
    det = ZScoreOutlierDetector().fit(X)
    mean, std = X.mean(axis=0), X.std(axis=0)
    # Feature 2 would be far out; feature 0 alone is within the threshold.
    row = mean + np.array([2.0, 0.5, 10.0]) * std
    z = (row - mean) / std
    assert det.predict([row])[0] == -1
    for j in range(3):
        observed = np.delete(np.arange(3), j)
        query = row.copy()
        query[j] = np.nan
        expected = -np.abs(z[observed]).max()
        assert_allclose(det.score_samples([query]), [expected], rtol=RTOL)
        assert det.predict([query])[0] == (1 if j == 2 else -1)


def test_all_nan_row_scores_zero_and_is_an_inlier(rng):
    X = make_data(rng)
    det = ZScoreOutlierDetector(threshold=0.5).fit(X)
    queries = np.array([[np.nan, np.nan, np.nan], X.mean(axis=0) + 100])
    assert det.score_samples(queries)[0] == 0.0
    assert det.decision_function(queries)[0] == 0.5
    assert_array_equal(det.predict(queries), [1, -1])


# --------------------------------------------------------------------------
# Sample weights
# --------------------------------------------------------------------------


@pytest.mark.parametrize("momentum", [None, 0.3])
def test_integer_sample_weight_equals_repeated_rows(momentum, rng):
    X = make_data(rng, n_samples=25)
    weights = rng.integers(0, 4, size=X.shape[0])
    weights[0] = 0
    weights[1] = 3
    X_new = make_data(rng, n_samples=40) * 1.2
    weighted = ZScoreOutlierDetector(threshold=1.5, momentum=momentum)
    repeated = ZScoreOutlierDetector(threshold=1.5, momentum=momentum)
    for rows in (slice(0, 12), slice(12, 25)):
        weighted.partial_fit(X[rows], sample_weight=weights[rows])
        repeated.partial_fit(np.repeat(X[rows], weights[rows], axis=0))
    batches = [
        np.repeat(X[r], weights[r], axis=0) for r in (slice(0, 12), slice(12, 25))
    ]
    if momentum is None:
        mean = np.concatenate(batches).mean(axis=0)
        var = np.concatenate(batches).var(axis=0)
    else:
        mean, var = running_stats_reference(batches, momentum)[-1]
    assert_allclose(weighted.mean_, mean, rtol=RTOL)
    assert_allclose(weighted.var_, var, rtol=RTOL)
    z = (X_new - mean) / np.sqrt(var)
    assert_allclose(weighted.score_samples(X_new), -np.abs(z).max(axis=1), rtol=RTOL)
    assert_allclose(
        weighted.score_samples(X_new), repeated.score_samples(X_new), rtol=RTOL
    )
    assert_array_equal(weighted.predict(X_new), reference_labels(z, 1.5))


def test_zero_weight_row_is_absent(rng):
    X = make_data(rng, n_samples=30)
    weights = np.ones(X.shape[0])
    weights[4] = 0.0
    X_poisoned = X.copy()
    X_poisoned[4] = 1e6
    det = ZScoreOutlierDetector().fit(X_poisoned, sample_weight=weights)
    kept = np.delete(X, 4, axis=0)
    assert_scores_match_reference(det, kept, X_poisoned)
    assert det.predict(X_poisoned)[4] == -1
    assert det.n_samples_seen_ == X.shape[0] - 1


@pytest.mark.parametrize(
    "weights",
    [
        pytest.param(-np.ones(10), id="negative"),
        pytest.param(np.ones(9), id="wrong-length"),
        pytest.param(np.zeros(10), id="all-zero"),
    ],
)
def test_invalid_sample_weight_raises(weights, rng):
    X = make_data(rng, n_samples=10)
    with pytest.raises(ValueError, match="sample_weight"):
        ZScoreOutlierDetector().fit(X, sample_weight=weights)
    det = ZScoreOutlierDetector().fit(X)
    before = det.score_samples(X)
    with pytest.raises(ValueError, match="sample_weight"):
        det.partial_fit(X, sample_weight=weights)
    assert det.n_samples_seen_ == X.shape[0]
    assert_array_equal(det.score_samples(X), before)


# --------------------------------------------------------------------------
# Constant features
# --------------------------------------------------------------------------


def test_constant_feature_scores_raw_deviation(rng):
    X = make_data(rng, n_samples=50, n_features=2)
    X[:, 1] = 7.5
    det = ZScoreOutlierDetector(threshold=2.0).fit(X)
    assert det.var_[1] == 0.0
    assert det.scale_[1] == 1.0
    mean0, std0 = X[:, 0].mean(), X[:, 0].std()
    queries = np.array([[mean0, 7.5], [mean0, 9.0], [mean0, 4.0], [mean0, 9.5]])
    expected = -np.abs(queries[:, 1] - 7.5)
    assert_allclose(det.score_samples(queries), expected, rtol=RTOL, atol=ATOL)
    assert_array_equal(det.predict(queries), [1, 1, -1, 1])
    assert_allclose(det.score_samples(X), -np.abs((X[:, 0] - mean0) / std0), rtol=RTOL)


def test_constant_feature_in_momentum_mode():
    batches = [np.full((4, 1), 5.0), np.full((6, 1), 7.0)]
    det = ZScoreOutlierDetector(momentum=0.5)
    for batch in batches:
        det.partial_fit(batch)
    assert det.mean_[0] == 6.0
    assert det.var_[0] == 0.0
    assert det.scale_[0] == 1.0
    assert_array_equal(det.score_samples([[6.0], [8.5], [2.5]]), [0.0, -2.5, -3.5])
    assert_array_equal(det.predict([[8.5], [2.5]]), [1, -1])


# --------------------------------------------------------------------------
# API
# --------------------------------------------------------------------------


def test_predict_and_score_dtypes(rng):
    X = make_data(rng)
    det = ZScoreOutlierDetector(threshold=1.0).fit(X)
    labels = det.predict(X)
    assert labels.dtype.kind == "i"
    assert set(np.unique(labels)) == {-1, 1}
    assert det.score_samples(X).dtype == np.float64
    assert det.decision_function(X).dtype == np.float64
    assert isinstance(det.offset_, float)


def test_float32_input(rng):
    X = make_data(rng).astype(np.float32)
    X64 = X.astype(np.float64)
    det = ZScoreOutlierDetector(threshold=1.5).fit(X)
    assert det.mean_.dtype == np.float64
    assert_allclose(det.mean_, X64.mean(axis=0), rtol=RTOL)
    assert_allclose(det.var_, X64.var(axis=0), rtol=1e-10)
    scores = det.score_samples(X)
    assert scores.dtype == np.float64
    assert det.decision_function(X).dtype == np.float64
    z = reference_z(X64, X64)
    # The float32 input carries 7 significant digits.
    assert_allclose(scores, reference_score(z), rtol=1e-5, atol=1e-5)
    clear = np.abs(np.abs(z).max(axis=1) - 1.5) > 1e-4
    assert_array_equal(det.predict(X)[clear], reference_labels(z, 1.5)[clear])


def test_wrong_number_of_features_raises(rng):
    X = make_data(rng)
    det = ZScoreOutlierDetector().fit(X)
    for method in (det.predict, det.score_samples, det.decision_function):
        with pytest.raises(ValueError, match="features"):
            method(X[:, :2])
    before = det.score_samples(X)
    with pytest.raises(ValueError, match="features"):
        det.partial_fit(make_data(rng, n_features=4))
    assert det.n_features_in_ == 3
    assert det.n_batches_seen_ == 1
    assert_array_equal(det.score_samples(X), before)


def test_feature_names_from_dataframe(rng):
    X = make_data(rng)
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    det = ZScoreOutlierDetector().fit(df)
    assert_array_equal(det.feature_names_in_, ["a", "b", "c"])
    expected = reference_score(reference_z(X, X))
    assert_allclose(det.score_samples(df), expected, rtol=RTOL)
    with pytest.raises(ValueError, match="feature names"):
        det.predict(df[["b", "a", "c"]])
    with pytest.raises(ValueError, match="feature names"):
        det.partial_fit(df.rename(columns={"c": "d"}))
    assert det.n_batches_seen_ == 1


def test_feature_names_from_polars(rng):
    pl = pytest.importorskip("polars")
    X = make_data(rng)
    df = pl.DataFrame(X, schema=["a", "b", "c"])
    det = ZScoreOutlierDetector().fit(df)
    assert_array_equal(det.feature_names_in_, ["a", "b", "c"])
    expected = reference_score(reference_z(X, X))
    assert_allclose(det.score_samples(df), expected, rtol=RTOL)
    with pytest.raises(ValueError, match="feature names"):
        det.predict(df.select(["c", "b", "a"]))


@pytest.mark.parametrize("method", ["predict", "score_samples", "decision_function"])
def test_not_fitted_raises(method, rng):
    with pytest.raises(NotFittedError):
        getattr(ZScoreOutlierDetector(), method)(make_data(rng))


def test_pickle_round_trip(rng):
    X = make_data(rng)
    det = ZScoreOutlierDetector(threshold=2.0, momentum=0.4).fit(X)
    det.partial_fit(X[:20] + 1)
    restored = pickle.loads(pickle.dumps(det))
    assert_array_equal(restored.score_samples(X), det.score_samples(X))
    assert_array_equal(restored.predict(X), det.predict(X))
    # The restored detector keeps streaming where the original left off.
    det.partial_fit(X[20:40])
    restored.partial_fit(X[20:40])
    assert_array_equal(restored.mean_, det.mean_)
    assert_array_equal(restored.score_samples(X), det.score_samples(X))


def test_clone_is_unfitted_with_the_same_parameters(rng):
    det = ZScoreOutlierDetector(threshold=2.5, momentum=0.1).fit(make_data(rng))
    copy = clone(det)
    assert copy.get_params() == {"threshold": 2.5, "momentum": 0.1}
    assert not hasattr(copy, "offset_")
    assert not hasattr(copy, "mean_")


def test_in_pipeline_after_min_max_normalizer(rng):
    # z-scores are invariant under a per-feature positive affine map, so
    # rescaling first changes no score.
    X = make_data(rng)
    X_new = make_data(rng, n_samples=50) * 1.3
    pipe = make_pipeline(MinMaxNormalizer(), ZScoreOutlierDetector(threshold=2.0))
    labels = pipe.fit_predict(X)
    assert_array_equal(labels, reference_labels(reference_z(X, X), 2.0))
    expected = reference_score(reference_z(X, X_new))
    assert_allclose(pipe.score_samples(X_new), expected, rtol=1e-9)
    assert_array_equal(
        pipe.predict(X_new), reference_labels(reference_z(X, X_new), 2.0)
    )


# --------------------------------------------------------------------------
# Parameter validation and all-or-nothing batches
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "threshold", [0, 0.0, -1, -1.0, np.nan, np.inf, "3", None, True]
)
def test_invalid_threshold_raises_at_fit(threshold, rng):
    X = make_data(rng)
    det = ZScoreOutlierDetector(threshold=threshold)  # accepted until fit
    with pytest.raises(ValueError, match="threshold"):
        det.fit(X)
    with pytest.raises(ValueError, match="threshold"):
        det.partial_fit(X)
    assert not hasattr(det, "offset_")


def test_invalid_threshold_after_fit_changes_nothing(rng):
    X = make_data(rng)
    det = ZScoreOutlierDetector(threshold=2.0).fit(X)
    before = det.score_samples(X)
    det.set_params(threshold=-2.0)
    with pytest.raises(ValueError, match="threshold"):
        det.partial_fit(X[:10])
    assert det.offset_ == -2.0
    assert det.n_batches_seen_ == 1
    assert det.n_samples_seen_ == X.shape[0]
    assert_array_equal(det.score_samples(X), before)


@pytest.mark.parametrize("threshold", [1, np.float32(2.5), 1e-3])
def test_valid_threshold_types(threshold, rng):
    det = ZScoreOutlierDetector(threshold=threshold).fit(make_data(rng))
    assert det.offset_ == -float(threshold)


@pytest.mark.parametrize("momentum", [0, 0.0, -0.1, 1.5, np.nan, "0.1"])
def test_invalid_momentum_raises(momentum, rng):
    X = make_data(rng)
    with pytest.raises(ValueError, match="momentum"):
        ZScoreOutlierDetector(momentum=momentum).fit(X)
    with pytest.raises(ValueError, match="momentum"):
        ZScoreOutlierDetector(momentum=momentum).partial_fit(X)


def test_one_sample_batch_with_momentum_raises_and_changes_nothing(rng):
    X = make_data(rng)
    with pytest.raises(ValueError, match="1 sample"):
        ZScoreOutlierDetector(momentum=0.2).fit(X[:1])
    fresh = ZScoreOutlierDetector(momentum=0.2)
    with pytest.raises(ValueError, match="1 sample"):
        fresh.partial_fit(X[:1])
    assert not hasattr(fresh, "n_features_in_")
    assert not hasattr(fresh, "offset_")

    det = ZScoreOutlierDetector(momentum=0.2).partial_fit(X[:30])
    state = {k: np.copy(v) for k, v in vars(det).items() if k.endswith("_")}
    before = det.score_samples(X)
    with pytest.raises(ValueError, match="1 sample"):
        det.partial_fit(X[30:31])
    for name, value in state.items():
        assert_array_equal(getattr(det, name), value)
    assert_array_equal(det.score_samples(X), before)
    # The stream goes on as if the rejected batch had never come.
    det.partial_fit(X[31:60])
    mean, var = running_stats_reference([X[:30], X[31:60]], momentum=0.2)[-1]
    assert_allclose(det.mean_, mean, rtol=RTOL)
    assert_allclose(det.var_, var, rtol=RTOL)


def test_one_sample_batch_without_momentum_is_accepted(rng):
    X = make_data(rng)
    det = ZScoreOutlierDetector()
    for i in range(X.shape[0]):
        det.partial_fit(X[i : i + 1])
    assert det.n_batches_seen_ == X.shape[0]
    assert_scores_match_reference(det, X, X)
