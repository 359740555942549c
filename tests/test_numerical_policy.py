"""The numerical policy as a demanding user meets it: units far apart, features
missing from the first batch, long streams, Dask chunks far from zero, values
near float64's limits and rounding noise.

References are written out: exact sums by math.fsum, values divided by powers
of two (exact) before numpy squares them, and the whitening property
``cov(Z) = I`` itself.
"""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from skbn import BatchStandardizer, SVDWhitener, ZScoreOutlierDetector
from skbn._whitening import METHODS as REGISTRY
from tests.helpers import batch_splits

# Every whitening method of the registry, by name.
METHODS = list(REGISTRY)


def fsum_mean(column):
    column = np.asarray(column, dtype=np.float64)
    column = column[~np.isnan(column)]
    return math.fsum(column) / column.size


def fsum_var(column):
    """The population variance of the non-NaN values, to a few ulps.

    Deviations from the rounded mean are exact (Sterbenz); their own mean,
    summed exactly, removes the rounding of the mean, which far from zero
    (1e12 + N(0, 1)) would otherwise count as spread.
    """
    column = np.asarray(column, dtype=np.float64)
    column = column[~np.isnan(column)]
    deviation = column - math.fsum(column) / column.size
    residual = math.fsum(deviation)
    return (math.fsum(deviation**2) - residual * residual / column.size) / column.size


def scaled_std(column):
    """The population std of values of any magnitude: divided by a power of
    two first, exactly, so that numpy's squares stay in range."""
    unit = 2.0 ** np.frexp(np.max(np.abs(column - column[0])))[1]
    return np.std((column - column[0]) / unit) * unit


def output_cov_error(Z):
    return np.abs(np.cov(Z, rowvar=False, ddof=0) - np.eye(Z.shape[1])).max()


# ---------------------------------------------------------------------------
# 1. Whitening does not depend on units


@pytest.mark.parametrize("method", METHODS)
def test_features_1e8_apart_are_whitened_without_a_warning(method):
    X = np.random.default_rng(0).normal(size=(5000, 2)) * [1e6, 1e-2]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Z = SVDWhitener(method=method).fit_transform(X)
    assert output_cov_error(Z) <= 1e-6


@pytest.mark.parametrize("method", METHODS)
def test_correlated_features_in_units_1e9_apart_are_whitened(method):
    rng = np.random.default_rng(1)
    mixing = rng.normal(size=(6, 6))
    X = rng.normal(size=(5000, 6)) @ mixing * [1e-3, 1e6, 1.0, 1e3, 1e-2, 10.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        whitener = SVDWhitener(method=method).fit(X)
    assert output_cov_error(whitener.transform(X)) <= 1e-6
    assert_allclose(whitener.inverse_transform(whitener.transform(X)), X, rtol=1e-6)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(exponents=st.lists(st.integers(-8, 8), min_size=4, max_size=4))
def test_unit_free_methods_give_the_same_output_in_any_units(exponents):
    """Cholesky, ZCA-cor and PCA-cor whitening are unchanged by units, and
    ZCA and PCA still whiten; column signs are fixed by the convention."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(400, 4)) @ rng.normal(size=(4, 4)) + [3.0, -1.0, 0.0, 7.0]
    units = 10.0 ** np.array(exponents)
    for method in ("cholesky", "zca_cor", "pca_cor"):
        expected = SVDWhitener(method=method).fit_transform(X)
        actual = SVDWhitener(method=method).fit_transform(X * units)
        assert_allclose(actual, expected, atol=1e-6)
    for method in ("zca", "pca"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            Z = SVDWhitener(method=method).fit_transform(X * units)
        assert output_cov_error(Z) <= 1e-6


# ---------------------------------------------------------------------------
# 2. A feature missing from the first batch keeps every digit


@pytest.mark.parametrize("estimator", [BatchStandardizer, ZScoreOutlierDetector])
def test_feature_first_seen_in_a_later_batch_keeps_its_digits(estimator):
    X = 1e9 + np.random.default_rng(3).normal(size=(100_000, 1))
    est = estimator().partial_fit(np.array([[np.nan], [np.nan]]))
    for start in range(0, X.shape[0], 1000):
        est.partial_fit(X[start : start + 1000])
    assert abs(est.var_[0] / fsum_var(X) - 1) < 1e-12


def test_a_value_of_weight_zero_does_not_set_the_origin():
    """The first batch shows feature 1 only in a row of weight 0: absent."""
    X = 1e9 + np.random.default_rng(3).normal(size=(100_000, 2))
    scaler = BatchStandardizer().partial_fit(
        np.array([[1.0, 5.0], [2.0, np.nan]]), sample_weight=[0.0, 1.0]
    )
    for start in range(0, X.shape[0], 1000):
        scaler.partial_fit(X[start : start + 1000])
    assert abs(scaler.var_[1] / fsum_var(X[:, 1]) - 1) < 1e-12


def test_fit_whose_first_rows_miss_a_feature_keeps_its_digits():
    X = 1e9 + np.random.default_rng(4).normal(size=(200_000, 2))
    X[:150_000, 1] = np.nan
    scaler = BatchStandardizer().fit(X)
    assert abs(scaler.var_[1] / fsum_var(X[:, 1]) - 1) < 1e-12


# ---------------------------------------------------------------------------
# 3. Dask chunks far from zero


@pytest.fixture(scope="module")
def offset_data():
    return 1e9 + np.random.default_rng(5).normal(size=(20_000, 2))


@pytest.mark.parametrize("estimator", [BatchStandardizer, ZScoreOutlierDetector])
def test_dask_fit_of_offset_data_keeps_every_digit(offset_data, estimator):
    da = pytest.importorskip("dask.array")
    X = da.from_array(offset_data, chunks=(1000, 2))
    est = estimator().fit(X)
    for j in range(2):
        assert abs(est.var_[j] / fsum_var(offset_data[:, j]) - 1) < 1e-12


def test_dask_whitener_covariance_of_offset_data_keeps_every_digit(offset_data):
    da = pytest.importorskip("dask.array")
    whitener = SVDWhitener().fit(da.from_array(offset_data, chunks=(1000, 2)))
    centred = offset_data - np.array([math.fsum(c) / c.size for c in offset_data.T])
    expected = centred.T @ centred / offset_data.shape[0]
    assert_allclose(whitener.covariance_, expected, rtol=1e-12)


# ---------------------------------------------------------------------------
# 4. Long streams: constant means rounding noise, at any number of rows


def test_ten_thousand_batches_far_from_zero_are_standardized():
    rng = np.random.default_rng(6)
    scaler = BatchStandardizer()
    for _ in range(10_000):
        scaler.partial_fit(1e9 + rng.normal(size=(1000, 1)))
    assert 0.9 < scaler.var_[0] < 1.1
    assert_allclose(scaler.scale_, np.sqrt(scaler.var_), rtol=1e-15)


def test_large_weights_far_from_zero_are_standardized():
    X = 1e9 + np.random.default_rng(7).normal(size=(1000, 1))
    scaler = BatchStandardizer().fit(X, sample_weight=np.full(1000, 1e4))
    assert_allclose(scaler.scale_, np.sqrt(fsum_var(X)), rtol=1e-9)


def test_momentum_far_from_zero_is_standardized():
    rng = np.random.default_rng(8)
    bn = BatchStandardizer(momentum=0.1)
    for _ in range(50):
        bn.partial_fit(1e9 + rng.normal(size=(1000, 1)))
    assert_allclose(bn.scale_, np.sqrt(bn.var_), rtol=1e-15)


@pytest.mark.parametrize("estimator", [BatchStandardizer, ZScoreOutlierDetector])
def test_rounding_noise_is_a_constant_feature(estimator):
    X = np.array([[0.3, 1.0], [0.1 + 0.2, 2.0], [0.3, 3.0], [0.1 + 0.2, 4.0]])
    est = estimator().fit(X)
    assert est.scale_[0] == 1.0
    assert est.var_[0] > 0  # the noise is measured, and called what it is


# ---------------------------------------------------------------------------
# 5. Near float64's limits


@pytest.mark.parametrize("magnitude", [1e155, 1e200, 1e-200, 1e300])
def test_extreme_magnitudes_give_exact_z_scores(magnitude):
    rng = np.random.default_rng(9)
    X = rng.normal(size=(2000, 2)) * magnitude + [0.0, 3.0 * magnitude]
    scaler = BatchStandardizer().fit(X)
    for j in range(2):
        assert_allclose(scaler.scale_[j], scaled_std(X[:, j]), rtol=1e-12)
    Z = scaler.transform(X)
    assert np.isfinite(Z).all()
    assert_allclose(Z.mean(axis=0), 0.0, atol=1e-12)
    assert_allclose(Z.std(axis=0), 1.0, rtol=1e-12)
    streamed = BatchStandardizer()
    for part in np.array_split(X, 7):
        streamed.partial_fit(part)
    assert_allclose(streamed.scale_, scaler.scale_, rtol=1e-12)
    assert_allclose(streamed.mean_, scaler.mean_, rtol=1e-12, atol=1e-12 * magnitude)


@pytest.mark.parametrize("magnitude", [1e155, 1e200])
def test_detector_flags_only_far_points_at_extreme_magnitudes(magnitude):
    X = np.random.default_rng(10).normal(size=(2000, 3)) * magnitude
    X[5] = [10 * magnitude, 0.0, 0.0]
    labels = ZScoreOutlierDetector(threshold=4.0).fit(X).predict(X)
    assert labels[5] == -1
    assert np.mean(labels == -1) < 0.01


def test_values_near_the_largest_float_give_exact_statistics():
    rng = np.random.default_rng(11)
    X = rng.uniform(-1.0, 1.0, size=(1000, 1)) * 1.7e308
    scaler = BatchStandardizer().fit(X)
    small = X[:, 0] / 2.0**1000  # exact, and far from overflow when squared
    assert_allclose(scaler.mean_[0] / 2.0**1000, np.mean(small), rtol=1e-12)
    assert_allclose(scaler.scale_[0] / 2.0**1000, np.std(small), rtol=1e-12)
    assert np.isfinite(scaler.transform(X)).all()


def test_huge_weights_give_the_weighted_mean():
    X = np.random.default_rng(12).normal(size=(100, 2)) + 5.0
    scaler = BatchStandardizer().fit(X, sample_weight=np.full(100, 1e300))
    assert_allclose(scaler.mean_, X.mean(axis=0), rtol=1e-13)
    assert_allclose(scaler.var_, X.var(axis=0), rtol=1e-12)
    whitener = SVDWhitener().fit(X, sample_weight=np.full(100, 1e300))
    assert_allclose(whitener.covariance_, np.cov(X, rowvar=False, ddof=0), rtol=1e-12)


def test_momentum_refuses_a_variance_beyond_float64():
    X = np.random.default_rng(13).normal(size=(100, 2)) * [1.0, 1e155]
    bn = BatchStandardizer(momentum=0.1).partial_fit(X[:50] * [1.0, 1e-160])
    before = bn.var_.copy()
    with pytest.raises(ValueError, match=r"feature\(s\) \[1\].*float64"):
        bn.partial_fit(X[50:])
    assert_allclose(bn.var_, before, rtol=0)


# ---------------------------------------------------------------------------
# 6. Whitening streamed in batches narrower than the data


@pytest.mark.parametrize("method", METHODS)
def test_narrow_batches_stream_to_the_one_shot_fit(method):
    rng = np.random.default_rng(14)
    X = rng.normal(size=(31 * 32, 50)) @ rng.normal(size=(50, 50)) + 100.0
    streamed = SVDWhitener(method=method)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for part in np.array_split(X, 31):
            streamed.partial_fit(part)
        one_shot = SVDWhitener(method=method).fit(X)
        Z = streamed.transform(X)
    assert_allclose(
        streamed.whitening_matrix_, one_shot.whitening_matrix_, rtol=1e-6, atol=1e-9
    )
    assert output_cov_error(Z) <= 1e-6


def test_a_map_derived_too_early_names_the_cause_once():
    rng = np.random.default_rng(15)
    X = rng.normal(size=(32, 50))
    cholesky = SVDWhitener(method="cholesky").partial_fit(X)
    with pytest.raises(ValueError, match="fewer samples than features"):
        cholesky.transform(X)
    zca = SVDWhitener().partial_fit(X[:20]).partial_fit(X[20:])
    with pytest.warns(UserWarning, match="fewer samples than features") as record:
        zca.transform(X)
        zca.transform(X)
    assert len(record) == 1


# ---------------------------------------------------------------------------
# 7. Rounding noise in the correlation methods


@pytest.mark.parametrize("method", ["zca_cor", "pca_cor"])
def test_rounding_noise_is_a_null_direction_of_the_cor_methods(method):
    rng = np.random.default_rng(16)
    X = np.c_[rng.normal(size=(200, 2)), np.tile([0.3, 0.1 + 0.2], 100)]
    with pytest.warns(UserWarning, match=r"constant feature\(s\) \[2\]"):
        whitener = SVDWhitener(method=method).fit(X)
    Z = whitener.transform(X)
    assert np.abs(Z).max() < 10
    assert_allclose(np.cov(Z[:, :2], rowvar=False, ddof=0), np.eye(2), atol=1e-10)
    if method == "zca_cor":
        assert_allclose(Z[:, 2], 0.0, atol=1e-12)


@pytest.mark.parametrize("magnitude", [1e200, 1e-200, 1e-160])
def test_sparse_data_at_extreme_magnitudes_is_scaled_exactly(magnitude):
    sparse = pytest.importorskip("scipy.sparse")
    X = sparse.random(500, 3, density=0.3, format="csr", random_state=0) * magnitude
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scaler = BatchStandardizer(with_mean=False).fit(X)
        Z = scaler.transform(X)
    dense = X.toarray()
    assert_allclose(
        scaler.scale_, np.std(dense / magnitude, axis=0) * magnitude, rtol=1e-12
    )
    assert_allclose(Z.toarray().std(axis=0), 1.0, rtol=1e-12)


def test_whitener_refuses_a_spread_whose_square_underflows():
    rng = np.random.default_rng(17)
    X = rng.normal(size=(100, 2)) * [1.0, 1e-160]
    with pytest.raises(ValueError, match=r"feature\(s\) \[1\].*underflows"):
        SVDWhitener().fit(X)
    whitener = SVDWhitener().partial_fit(X * [1.0, 1e150])
    before = whitener.covariance_.copy()
    with pytest.raises(ValueError, match="underflows"):
        whitener.partial_fit(X)
    assert_allclose(whitener.covariance_, before, rtol=0)
    # Rounding noise that small is a constant, as at any magnitude.
    noise = np.c_[X[:, :1], np.tile([1e-160, 1e-160 * (1 + 2.2e-16)], 50)]
    with pytest.warns(UserWarning, match=r"constant feature\(s\) \[1\]"):
        SVDWhitener().fit(noise)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(
    splits=batch_splits(3000),
    missing=st.integers(0, 2990),  # at least 10 values to spread
    offset=st.sampled_from([0.0, 1e6, 1e9, -1e12]),
)
def test_any_split_with_a_late_feature_gives_the_one_shot_statistics(
    splits, missing, offset
):
    """Feature 1 is NaN in the first ``missing`` rows, so that the first
    batches of many splits miss it: any split still gives the exact var_."""
    X = offset + np.random.default_rng(18).normal(size=(3000, 2))
    X[:missing, 1] = np.nan
    streamed = BatchStandardizer()
    for rows in splits:
        streamed.partial_fit(X[rows])
    for j in range(2):
        assert abs(streamed.var_[j] / fsum_var(X[:, j]) - 1) < 1e-12
    expected = [fsum_mean(X[:, j]) for j in range(2)]
    assert_allclose(streamed.mean_, expected, rtol=1e-15, atol=1e-15)
