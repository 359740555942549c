"""MinMaxNormalizer against independent references.

The references are scikit-learn's MinMaxScaler (the same map,
``x * scale_ + min_``), and numpy formulas written out here:
``(x - nanmin) / (nanmax - nanmin) * (hi - lo) + lo``, with the known input
range in place of the observed one for ``data_range``.
"""

import numbers
import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_digits, load_iris
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils.validation import check_is_fitted

from skbn import MinMaxNormalizer
from tests.helpers import batch_splits, random_splits

RTOL = 1e-12
# Transformed values are O(1) and cross zero; there only an absolute
# tolerance makes sense.
ATOL_OUT = 1e-12
FEATURE_RANGES = [(0, 1), (-1, 1)]
ATTRIBUTES = ["data_min_", "data_max_", "data_range_", "scale_", "min_"]


def make_data(rng, n_samples=40, n_features=4):
    """Features with different offsets and spreads, away from 0."""
    offsets = np.array([5.0, -3.0, 1e3, 0.5])[:n_features]
    spreads = np.array([1.0, 10.0, 100.0, 0.01])[:n_features]
    return rng.normal(size=(n_samples, n_features)) * spreads + offsets


def with_nans(rng, X, fraction=0.2):
    X_nan = X.copy()
    X_nan[rng.random(X.shape) < fraction] = np.nan
    # Two complete rows keep a real range in every feature, where MinMaxScaler
    # would warn about an all-NaN column.
    X_nan[:2] = X[:2]
    return X_nan


def float32_tolerance(X, est):
    """Absolute error of float32 output: x * scale_ is stored in float32."""
    eps32 = np.finfo(np.float32).eps
    return 4 * eps32 * (1.0 + np.nanmax(np.abs(X.astype(np.float64) * est.scale_)))


def outside_data(X):
    """Rows below and above the range of X, then X itself."""
    low, high = np.nanmin(X, axis=0), np.nanmax(X, axis=0)
    width = high - low
    return np.vstack([low - width, high + 0.5 * width, low - 3.0, X])


def minmax_reference(X, feature_range=(0, 1), data_min=None, data_max=None):
    """The min-max map written out; NaN in X stays NaN."""
    X = np.asarray(X, dtype=np.float64)
    lo, hi = feature_range
    if data_min is None:
        data_min = np.nanmin(X, axis=0)
    if data_max is None:
        data_max = np.nanmax(X, axis=0)
    return (X - data_min) / (data_max - data_min) * (hi - lo) + lo


def assert_attributes_match_sklearn(est, ref):
    for name in ATTRIBUTES:
        assert_allclose(getattr(est, name), getattr(ref, name), rtol=RTOL)
    assert est.n_samples_seen_ == ref.n_samples_seen_
    assert est.n_features_in_ == ref.n_features_in_


def assert_outputs_match_sklearn(est, ref, X):
    assert_allclose(est.transform(X), ref.transform(X), rtol=RTOL, atol=ATOL_OUT)
    Z = ref.transform(X)
    assert_allclose(
        est.inverse_transform(Z), ref.inverse_transform(Z), rtol=RTOL, atol=ATOL_OUT
    )


# --------------------------------------------------------------------------
# Equality with MinMaxScaler
# --------------------------------------------------------------------------


@pytest.mark.parametrize("feature_range", FEATURE_RANGES)
def test_fit_matches_minmax_scaler(rng, feature_range):
    X = make_data(rng)
    est = MinMaxNormalizer(feature_range=feature_range).fit(X)
    ref = MinMaxScaler(feature_range=feature_range).fit(X)
    assert_attributes_match_sklearn(est, ref)
    assert_outputs_match_sklearn(est, ref, X)
    assert_outputs_match_sklearn(est, ref, outside_data(X))


@pytest.mark.parametrize("feature_range", FEATURE_RANGES)
def test_fit_matches_written_out_formula(rng, feature_range):
    X = make_data(rng)
    lo, hi = feature_range
    est = MinMaxNormalizer(feature_range=feature_range).fit(X)
    data_min, data_max = X.min(axis=0), X.max(axis=0)
    assert_array_equal(est.data_min_, data_min)
    assert_array_equal(est.data_max_, data_max)
    assert_array_equal(est.data_range_, data_max - data_min)
    assert_allclose(est.scale_, (hi - lo) / (data_max - data_min), rtol=RTOL)
    assert_allclose(
        est.min_, lo - data_min * (hi - lo) / (data_max - data_min), rtol=RTOL
    )
    out = est.transform(X)
    assert_allclose(out, minmax_reference(X, feature_range), rtol=RTOL, atol=ATOL_OUT)
    assert_allclose(out.min(axis=0), lo, atol=ATOL_OUT)
    assert_allclose(out.max(axis=0), hi, atol=ATOL_OUT)
    assert_allclose(est.inverse_transform(out), X, rtol=RTOL, atol=ATOL_OUT)


@pytest.mark.parametrize("feature_range", FEATURE_RANGES)
def test_fit_transform_equals_fit_then_transform(rng, feature_range):
    X = make_data(rng)
    out = MinMaxNormalizer(feature_range=feature_range).fit_transform(X)
    ref = MinMaxScaler(feature_range=feature_range).fit_transform(X)
    assert_allclose(out, ref, rtol=RTOL, atol=ATOL_OUT)


def test_float64_outputs_equal_minmax_scaler_bit_for_bit(rng):
    # The same formula in the same order gives the same rounding.
    X = make_data(rng)
    X_test = outside_data(X)
    for feature_range in [(0, 1), (-1, 1), (-3.5, 2.25)]:
        est = MinMaxNormalizer(feature_range=feature_range).fit(X)
        ref = MinMaxScaler(feature_range=feature_range).fit(X)
        for name in ATTRIBUTES:
            assert_array_equal(getattr(est, name), getattr(ref, name))
        assert_array_equal(est.transform(X_test), ref.transform(X_test))
        Z = ref.transform(X_test)
        assert_array_equal(est.inverse_transform(Z), ref.inverse_transform(Z))


@pytest.mark.parametrize("feature_range", FEATURE_RANGES)
@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_partial_fit_random_splits_match_minmax_scaler_fit(seed, feature_range):
    rng = np.random.default_rng(seed)
    X = make_data(rng, n_samples=int(rng.integers(10, 60)))
    est = MinMaxNormalizer(feature_range=feature_range)
    for rows in random_splits(rng, X.shape[0]):
        est.partial_fit(X[rows])
    ref = MinMaxScaler(feature_range=feature_range).fit(X)
    assert_attributes_match_sklearn(est, ref)
    assert_outputs_match_sklearn(est, ref, outside_data(X))


@pytest.mark.parametrize("feature_range", FEATURE_RANGES)
@pytest.mark.parametrize("clip", [False, True])
def test_clip_matches_minmax_scaler(rng, feature_range, clip):
    X = make_data(rng)
    X_test = outside_data(X)
    est = MinMaxNormalizer(feature_range=feature_range, clip=clip).fit(X)
    ref = MinMaxScaler(feature_range=feature_range, clip=clip).fit(X)
    assert_attributes_match_sklearn(est, ref)
    out = est.transform(X_test)
    assert_allclose(out, ref.transform(X_test), rtol=RTOL, atol=ATOL_OUT)
    lo, hi = feature_range
    expected = minmax_reference(X_test, feature_range, X.min(axis=0), X.max(axis=0))
    if clip:
        expected = np.clip(expected, lo, hi)
        assert out.min() == lo and out.max() == hi
    else:
        assert out.min() < lo and out.max() > hi
    assert_allclose(out, expected, rtol=RTOL, atol=ATOL_OUT)


@pytest.mark.parametrize("feature_range", FEATURE_RANGES)
def test_inverse_transform_does_not_clip(rng, feature_range):
    X = make_data(rng)
    X_test = outside_data(X)
    est = MinMaxNormalizer(feature_range=feature_range, clip=True).fit(X)
    lo, hi = feature_range
    Z = minmax_reference(X_test, feature_range, X.min(axis=0), X.max(axis=0))
    assert Z.min() < lo and Z.max() > hi
    assert_allclose(est.inverse_transform(Z), X_test, rtol=RTOL, atol=1e-9)
    # Clipped values come back as the ends of the fitted range.
    back = est.inverse_transform(est.transform(X_test))
    assert_allclose(back[:2], [X.min(axis=0), X.max(axis=0)], rtol=RTOL, atol=ATOL_OUT)


@pytest.mark.parametrize("feature_range", FEATURE_RANGES)
def test_nan_is_ignored_in_fit_like_minmax_scaler(rng, feature_range):
    X = with_nans(rng, make_data(rng))
    assert np.isnan(X).any()
    est = MinMaxNormalizer(feature_range=feature_range).fit(X)
    ref = MinMaxScaler(feature_range=feature_range).fit(X)
    assert_attributes_match_sklearn(est, ref)
    assert_array_equal(est.data_min_, np.nanmin(X, axis=0))
    assert_array_equal(est.data_max_, np.nanmax(X, axis=0))
    # Rows with NaN are counted, as MinMaxScaler counts them.
    assert est.n_samples_seen_ == X.shape[0]
    assert_outputs_match_sklearn(est, ref, X)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nan_is_ignored_in_partial_fit_like_minmax_scaler_fit(seed):
    rng = np.random.default_rng(seed)
    X = with_nans(rng, make_data(rng, n_samples=50))
    est = MinMaxNormalizer(feature_range=(-1, 1))
    for rows in random_splits(rng, X.shape[0]):
        est.partial_fit(X[rows])
    ref = MinMaxScaler(feature_range=(-1, 1)).fit(X)
    assert_attributes_match_sklearn(est, ref)
    assert_outputs_match_sklearn(est, ref, X)


def test_n_samples_seen_is_an_int_row_count(rng):
    X = with_nans(rng, make_data(rng, n_samples=30))
    est = MinMaxNormalizer()
    for k, rows in enumerate((slice(0, 3), slice(3, 4), slice(4, 30))):
        est.partial_fit(X[rows])
        assert est.n_samples_seen_ == [3, 4, 30][k]
    assert isinstance(est.n_samples_seen_, numbers.Integral)


def test_fit_forgets_earlier_state(rng):
    X1 = make_data(rng, n_samples=30) * 3 + 7
    X2 = make_data(rng, n_samples=20)
    est = MinMaxNormalizer()
    est.partial_fit(X1).partial_fit(X1[:5])
    est.fit(X2)
    ref = MinMaxScaler().fit(X2)
    assert_attributes_match_sklearn(est, ref)
    assert est.n_samples_seen_ == 20


# --------------------------------------------------------------------------
# data_range: a known input range
# --------------------------------------------------------------------------


def digits_pixels():
    """sklearn's digits, 0..16, rescaled to 8-bit pixels 0..255."""
    digits = load_digits().data
    pixels = np.rint(digits * 255 / 16).astype(np.uint8)
    assert pixels.min() == 0 and pixels.max() == 255
    return pixels


@pytest.mark.parametrize("feature_range", FEATURE_RANGES)
def test_data_range_ignores_the_fitted_data(rng, feature_range):
    X1 = rng.integers(0, 256, size=(30, 5)).astype(np.float64)
    X2 = rng.integers(100, 120, size=(7, 5)).astype(np.float64)
    params = {"feature_range": feature_range, "data_range": (0, 255)}
    est1 = MinMaxNormalizer(**params).fit(X1)
    est2 = MinMaxNormalizer(**params).fit(X2)
    for name in ATTRIBUTES:
        assert_array_equal(getattr(est1, name), getattr(est2, name))
    assert_array_equal(est1.data_min_, np.zeros(5))
    assert_array_equal(est1.data_max_, np.full(5, 255.0))
    assert_array_equal(est1.data_range_, np.full(5, 255.0))
    assert est1.n_features_in_ == est2.n_features_in_ == 5
    assert (est1.n_samples_seen_, est2.n_samples_seen_) == (30, 7)
    X_test = rng.uniform(-20, 300, size=(10, 5))
    assert_array_equal(est1.transform(X_test), est2.transform(X_test))
    assert_allclose(
        est2.transform(X_test),
        minmax_reference(X_test, feature_range, 0.0, 255.0),
        rtol=RTOL,
        atol=ATOL_OUT,
    )


@pytest.mark.parametrize("feature_range", FEATURE_RANGES)
def test_data_range_maps_pixels_0_to_lo_and_255_to_hi(feature_range):
    pixels = digits_pixels()
    lo, hi = feature_range
    est = MinMaxNormalizer(feature_range=feature_range, data_range=(0, 255))
    out = est.fit_transform(pixels)
    assert out.dtype == np.float64
    assert_array_equal(out[pixels == 0], lo)
    assert_allclose(out[pixels == 255], hi, rtol=0, atol=1e-15)
    expected = pixels / 255.0 * (hi - lo) + lo
    assert_allclose(out, expected, rtol=RTOL, atol=ATOL_OUT)
    # The first column of digits is always blank: a learned range would call
    # it constant, the known one still maps it from 0..255.
    assert np.all(pixels[:, 0] == 0)
    assert_array_equal(est.data_range_, np.full(pixels.shape[1], 255.0))


@pytest.mark.parametrize("feature_range", FEATURE_RANGES)
def test_data_range_over_partial_fit_maps_every_batch_the_same(feature_range):
    pixels = digits_pixels()
    est = MinMaxNormalizer(feature_range=feature_range, data_range=(0, 255))
    lo, hi = feature_range
    for batch in np.array_split(pixels[:500], 4):
        est.partial_fit(batch)
        assert_array_equal(est.data_min_, np.zeros(64))
        assert_array_equal(est.data_max_, np.full(64, 255.0))
    assert est.n_samples_seen_ == 500
    X_test = pixels[500:]
    assert_allclose(
        est.transform(X_test),
        X_test / 255.0 * (hi - lo) + lo,
        rtol=RTOL,
        atol=ATOL_OUT,
    )


@pytest.mark.parametrize("feature_range", FEATURE_RANGES)
def test_data_range_equals_minmax_scaler_fitted_on_the_range_ends(rng, feature_range):
    data_lo, data_hi = -2.5, 7.0
    X = rng.uniform(0, 1, size=(20, 3))
    est = MinMaxNormalizer(feature_range=feature_range, data_range=(data_lo, data_hi))
    est.fit(X)
    ends = np.array([[data_lo] * 3, [data_hi] * 3])
    ref = MinMaxScaler(feature_range=feature_range).fit(np.vstack([ends, X]))
    for name in ATTRIBUTES:
        assert_allclose(getattr(est, name), getattr(ref, name), rtol=RTOL)
    X_test = rng.uniform(-10, 10, size=(15, 3))
    assert_outputs_match_sklearn(est, ref, X_test)


@pytest.mark.parametrize("feature_range", FEATURE_RANGES)
def test_data_range_per_feature_arrays(rng, feature_range):
    lows = np.array([0.0, -1.0, 100.0, -1e3])
    highs = np.array([255.0, 1.0, 100.5, 3e3])
    X = rng.uniform(lows, highs, size=(25, 4))
    est = MinMaxNormalizer(feature_range=feature_range, data_range=(lows, highs))
    out = est.fit_transform(X)
    assert_array_equal(est.data_min_, lows)
    assert_array_equal(est.data_max_, highs)
    assert_array_equal(est.data_range_, highs - lows)
    lo, hi = feature_range
    for j in range(4):
        expected = (X[:, j] - lows[j]) / (highs[j] - lows[j]) * (hi - lo) + lo
        assert_allclose(out[:, j], expected, rtol=RTOL, atol=ATOL_OUT)
    ends = np.vstack([lows, highs])
    assert_allclose(est.transform(ends), [[lo] * 4, [hi] * 4], rtol=0, atol=1e-15)
    ref = MinMaxScaler(feature_range=feature_range).fit(ends)
    assert_outputs_match_sklearn(est, ref, X)


def test_data_range_per_feature_lists(rng):
    X = rng.uniform(0, 1, size=(10, 2))
    est = MinMaxNormalizer(data_range=([0, -4], [2, 4])).fit(X)
    assert_array_equal(est.data_min_, [0.0, -4.0])
    assert_array_equal(est.data_max_, [2.0, 4.0])
    assert_allclose(
        est.transform(X),
        minmax_reference(X, (0, 1), np.array([0.0, -4.0]), np.array([2.0, 4.0])),
        rtol=RTOL,
    )


@pytest.mark.parametrize("feature_range", FEATURE_RANGES)
def test_data_range_values_outside_map_outside_unless_clipped(feature_range):
    lo, hi = feature_range
    X = np.array([[-10.0], [0.0], [127.5], [255.0], [300.0]])
    est = MinMaxNormalizer(feature_range=feature_range, data_range=(0, 255))
    out = est.fit_transform(X)
    expected = X / 255.0 * (hi - lo) + lo
    assert_allclose(out, expected, rtol=RTOL, atol=ATOL_OUT)
    assert out[0, 0] < lo and out[-1, 0] > hi
    # Fitting on the outside values does not widen the range.
    assert_array_equal(est.data_min_, [0.0])
    assert_array_equal(est.data_max_, [255.0])
    clipped = est.set_params(clip=True).transform(X)
    assert_allclose(clipped, np.clip(expected, lo, hi), rtol=RTOL, atol=ATOL_OUT)
    assert clipped[0, 0] == lo and clipped[-1, 0] == hi
    assert_allclose(
        est.inverse_transform(clipped),
        [[0.0], [0.0], [127.5], [255.0], [255.0]],
        rtol=RTOL,
        atol=1e-12,
    )


def test_data_range_with_float32_and_nan(rng):
    X = rng.uniform(0, 255, size=(20, 3)).astype(np.float32)
    X[3, 1] = np.nan
    X[:, 2] = np.nan
    est = MinMaxNormalizer(data_range=(0, 255)).fit(X)
    assert_array_equal(est.data_min_, np.zeros(3))
    assert_array_equal(est.data_max_, np.full(3, 255.0))
    out = est.transform(X)
    assert out.dtype == np.float32
    assert_array_equal(np.isnan(out), np.isnan(X))
    assert_allclose(out, X.astype(np.float64) / 255.0, rtol=1e-6, atol=1e-6)


BAD_DATA_RANGES = [
    pytest.param((0,), id="one value"),
    pytest.param((0, 1, 2), id="three values"),
    pytest.param(5, id="scalar"),
    pytest.param("ab", id="string"),
    pytest.param((255, 0), id="reversed"),
    pytest.param((1, 1), id="empty"),
    pytest.param((0, np.nan), id="nan"),
    pytest.param((np.nan, 1), id="nan low"),
    pytest.param((0, np.inf), id="inf"),
    pytest.param(("a", "b"), id="strings"),
    pytest.param((np.zeros(2), np.ones(2)), id="arrays of 2 for 4 features"),
    pytest.param((np.zeros(5), np.ones(5)), id="arrays of 5 for 4 features"),
    pytest.param((np.zeros((3, 1)), np.ones((3, 1))), id="2-D arrays"),
    pytest.param((np.zeros(4), np.array([1.0, 1.0, 0.0, 1.0])), id="one reversed"),
    pytest.param(
        (np.zeros(4), np.array([1.0, np.nan, 2.0, 1.0])), id="one nan in array"
    ),
]


@pytest.mark.parametrize("data_range", BAD_DATA_RANGES)
@pytest.mark.parametrize("method", ["fit", "partial_fit", "fit_transform"])
def test_invalid_data_range_raises_at_fit(rng, data_range, method):
    X = make_data(rng)
    est = MinMaxNormalizer(data_range=data_range)  # construction accepts anything
    with pytest.raises(ValueError, match="data_range"):
        getattr(est, method)(X)
    # The rejected fit leaves the estimator unfitted.
    with pytest.raises(NotFittedError):
        check_is_fitted(est)


# --------------------------------------------------------------------------
# Constant features, dtypes, copy, NaN
# --------------------------------------------------------------------------


@pytest.mark.parametrize("value", [7.25, 0.1, -3.3e-5, 1e9 + 0.3, 0.0])
def test_constant_feature_maps_to_zero_with_default_range(rng, value):
    X = make_data(rng, n_samples=20, n_features=2)
    X[:, 0] = value
    est = MinMaxNormalizer().fit(X)
    ref = MinMaxScaler().fit(X)
    assert est.data_range_[0] == 0.0
    assert est.scale_[0] == 1.0
    # With scale 1 and offset -value the map is exact: value - value == 0.
    assert_array_equal(est.transform(X)[:, 0], np.zeros(20))
    assert_attributes_match_sklearn(est, ref)


@pytest.mark.parametrize("feature_range", [(-1, 1), (-3.5, 2.0), (2, 10)])
@pytest.mark.parametrize("value", [7.25, 0.1, -3.3e-5, 123456.789])
def test_constant_feature_maps_to_lo(rng, feature_range, value):
    lo, hi = feature_range
    X = make_data(rng, n_samples=20, n_features=2)
    X[:, 1] = value
    est = MinMaxNormalizer(feature_range=feature_range).fit(X)
    ref = MinMaxScaler(feature_range=feature_range).fit(X)
    assert est.data_range_[1] == 0.0
    assert est.scale_[1] == hi - lo
    out = est.transform(X)[:, 1]
    # x * scale_ + min_ with min_ = lo - x * scale_ is lo up to the rounding of
    # x * scale_, as in MinMaxScaler.
    atol = 2 * np.spacing(abs(value * (hi - lo)) + abs(lo))
    assert_allclose(out, lo, rtol=0, atol=atol)
    assert_allclose(out, ref.transform(X)[:, 1], rtol=0, atol=atol)
    assert_attributes_match_sklearn(est, ref)


def test_constant_feature_over_partial_fit_maps_to_lo(rng):
    X = make_data(rng, n_samples=30, n_features=3)
    X[:, 2] = 14.62
    est = MinMaxNormalizer()
    for rows in (slice(0, 1), slice(1, 12), slice(12, 30)):
        est.partial_fit(X[rows])
    assert est.data_range_[2] == 0.0
    assert est.scale_[2] == 1.0
    assert_array_equal(est.transform(X)[:, 2], np.zeros(30))


@pytest.mark.parametrize("feature_range", FEATURE_RANGES)
def test_float32_in_float32_out(rng, feature_range):
    X = make_data(rng).astype(np.float32)
    X64 = X.astype(np.float64)
    est = MinMaxNormalizer(feature_range=feature_range)
    out = est.fit_transform(X)
    assert out.dtype == np.float32
    assert est.transform(X).dtype == np.float32
    assert est.inverse_transform(out).dtype == np.float32
    for name in ATTRIBUTES:
        assert getattr(est, name).dtype == np.float64
    # Extrema of float32 values are exact in float64.
    assert_array_equal(est.data_min_, X64.min(axis=0))
    assert_array_equal(est.data_max_, X64.max(axis=0))
    ref = MinMaxScaler(feature_range=feature_range).fit(X64)
    tol = float32_tolerance(X, est)
    assert_allclose(out, ref.transform(X64), rtol=0, atol=tol)
    # inverse_transform divides by scale_, which magnifies the output's error.
    assert_allclose(
        est.inverse_transform(out), X64, rtol=1e-6, atol=tol / est.scale_.min()
    )


@pytest.mark.parametrize("feature_range", FEATURE_RANGES)
def test_clip_keeps_float32(rng, feature_range):
    lo, hi = feature_range
    X = make_data(rng).astype(np.float32)
    X_test = outside_data(X)
    assert X_test.dtype == np.float32
    est = MinMaxNormalizer(feature_range=feature_range, clip=True).fit(X)
    out = est.transform(X_test)
    assert out.dtype == np.float32
    X64 = X.astype(np.float64)
    expected = minmax_reference(X_test, feature_range, X64.min(axis=0), X64.max(axis=0))
    assert expected.min() < lo and expected.max() > hi
    assert_allclose(
        out, np.clip(expected, lo, hi), rtol=0, atol=float32_tolerance(X_test, est)
    )
    assert out.min() == lo and out.max() == hi


@pytest.mark.parametrize(
    "X",
    [
        np.array([[1, 2], [3, 5], [4, 4], [8, 1]], dtype=np.int64),
        np.array([[1, 2], [3, 5], [4, 4], [8, 1]], dtype=np.int32),
        np.array([[1, 2], [3, 5], [4, 4], [8, 1]], dtype=np.uint8),
        np.array([[True, False], [False, False], [True, True], [True, False]]),
    ],
    ids=["int64", "int32", "uint8", "bool"],
)
def test_int_and_bool_become_float64(X):
    est = MinMaxNormalizer()
    out = est.fit_transform(X)
    assert out.dtype == np.float64
    assert est.transform(X).dtype == np.float64
    assert est.inverse_transform(X).dtype == np.float64
    X64 = X.astype(np.float64)
    assert_allclose(out, MinMaxScaler().fit_transform(X64), rtol=RTOL, atol=ATOL_OUT)
    assert_allclose(out, minmax_reference(X64), rtol=RTOL, atol=ATOL_OUT)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_copy_false_transforms_in_place(rng, dtype):
    X = make_data(rng).astype(dtype)
    expected = minmax_reference(X, (-1, 1))
    est = MinMaxNormalizer(feature_range=(-1, 1), copy=False).fit(X)
    atol = ATOL_OUT if dtype == np.float64 else float32_tolerance(X, est)
    out = est.transform(X)
    assert out is X
    assert_allclose(X, expected, rtol=RTOL, atol=atol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_copy_false_inverse_transform_in_place(rng, dtype):
    X = make_data(rng).astype(dtype)
    X_original = X.astype(np.float64)
    est = MinMaxNormalizer(copy=False).fit(X)
    Z = minmax_reference(X).astype(dtype)
    out = est.inverse_transform(Z)
    assert out is Z
    # Values near zero lose digits to x = (z - min_) / scale_ cancellation.
    tol = 1e-12 if dtype == np.float64 else 1e-4
    assert_allclose(Z, X_original, rtol=tol, atol=tol)


def test_copy_true_leaves_input_alone(rng):
    X = make_data(rng)
    original = X.copy()
    est = MinMaxNormalizer().fit(X)
    out = est.transform(X)
    assert not np.shares_memory(out, X)
    back = est.inverse_transform(out)
    assert not np.shares_memory(back, out)
    assert_array_equal(X, original)
    assert_allclose(out, minmax_reference(X), rtol=RTOL, atol=ATOL_OUT)


def test_transform_copy_argument_overrides_the_parameter(rng):
    X = make_data(rng)
    original = X.copy()
    est = MinMaxNormalizer(copy=False).fit(X)
    out = est.transform(X, copy=True)
    assert not np.shares_memory(out, X)
    assert_array_equal(X, original)
    back = est.inverse_transform(out, copy=True)
    assert not np.shares_memory(back, out)
    est.set_params(copy=True)
    in_place = est.transform(X, copy=False)
    assert in_place is X
    assert_allclose(X, minmax_reference(original), rtol=RTOL, atol=ATOL_OUT)
    restored = est.inverse_transform(X, copy=False)
    assert restored is X
    assert_allclose(X, original, rtol=RTOL, atol=ATOL_OUT)


def test_copy_false_copies_an_int_array_silently():
    X = np.array([[1, 2], [3, 5], [4, 4], [8, 1]])
    original = X.copy()
    est = MinMaxNormalizer(copy=False).fit(X)
    out = est.transform(X)
    assert out.dtype == np.float64
    assert not np.shares_memory(out, X)
    assert_array_equal(X, original)
    assert_allclose(out, minmax_reference(original), rtol=RTOL)


@pytest.mark.parametrize("clip", [False, True])
def test_transform_keeps_nan_in_place(rng, clip):
    X = with_nans(rng, make_data(rng))
    est = MinMaxNormalizer(feature_range=(-1, 1), clip=clip).fit(X)
    X_test = with_nans(rng, outside_data(X))
    out = est.transform(X_test)
    assert_array_equal(np.isnan(out), np.isnan(X_test))
    expected = minmax_reference(
        X_test, (-1, 1), np.nanmin(X, axis=0), np.nanmax(X, axis=0)
    )
    if clip:
        expected = np.clip(expected, -1, 1)
    assert_allclose(out, expected, rtol=RTOL, atol=ATOL_OUT)
    back = est.inverse_transform(out)
    assert_array_equal(np.isnan(back), np.isnan(X_test))


@pytest.mark.filterwarnings("ignore:All-NaN slice:RuntimeWarning")
def test_all_nan_feature(rng):
    X = make_data(rng, n_samples=20, n_features=3)
    X[:, 1] = np.nan
    est = MinMaxNormalizer().fit(X)
    assert np.isnan(est.data_min_[1]) and np.isnan(est.data_max_[1])
    assert_array_equal(est.data_min_[[0, 2]], X[:, [0, 2]].min(axis=0))
    assert_array_equal(est.data_max_[[0, 2]], X[:, [0, 2]].max(axis=0))
    assert est.n_samples_seen_ == 20
    out = est.transform(X)
    assert np.all(np.isnan(out[:, 1]))
    assert_allclose(
        out[:, [0, 2]], minmax_reference(X[:, [0, 2]]), rtol=RTOL, atol=ATOL_OUT
    )
    ref = MinMaxScaler().fit(X)
    assert_allclose(out, ref.transform(X), rtol=RTOL, atol=ATOL_OUT)


def test_feature_unobserved_in_first_batch_takes_later_values(rng):
    X = make_data(rng, n_samples=20, n_features=2)
    X[:8, 0] = np.nan
    est = MinMaxNormalizer()
    est.partial_fit(X[:8])
    assert np.isnan(est.data_min_[0]) and np.isnan(est.data_max_[0])
    est.partial_fit(X[8:])
    assert_array_equal(est.data_min_, np.nanmin(X, axis=0))
    assert_array_equal(est.data_max_, np.nanmax(X, axis=0))
    assert_allclose(est.transform(X), minmax_reference(X), rtol=RTOL, atol=ATOL_OUT)


def test_subnormal_range_whose_reciprocal_overflows_is_constant():
    # 1 / 1e-310 overflows to inf: the feature is treated as constant, scale
    # hi - lo, instead of producing inf and NaN.
    X = np.array([[0.0, 1.0, 0.0], [1e-310, 3.0, 1e-300], [5e-311, 2.0, 5e-301]])
    for lo, hi in [(0, 1), (-1, 1)]:
        est = MinMaxNormalizer(feature_range=(lo, hi)).fit(X)
        assert est.data_range_[0] == 1e-310
        assert est.scale_[0] == hi - lo
        assert np.all(np.isfinite(est.min_))
        out = est.transform(X)
        assert np.all(np.isfinite(out))
        assert_allclose(out[:, 0], lo, rtol=0, atol=1e-300)
        # A tiny range whose reciprocal is finite is a real range and is
        # scaled (MinMaxScaler calls any range below 10 eps constant).
        assert_allclose(est.scale_[2], (hi - lo) / 1e-300, rtol=RTOL)
        assert_allclose(out[:, 2], [lo, hi, (lo + hi) / 2], rtol=RTOL, atol=1e-15)
        assert_allclose(out[:, 1], [lo, hi, (lo + hi) / 2], rtol=RTOL, atol=1e-15)


# --------------------------------------------------------------------------
# Rounding noise and float64's limits (the numerical policy)
# --------------------------------------------------------------------------
# A learned range within a few ulps of the feature's largest |value| is
# rounding noise: the feature maps to lo, as MinMaxScaler maps its constant
# features. A range beyond float64 (data spanning [-1e308, 1e308]) is scaled
# correctly. References: MinMaxScaler where it calls the feature constant
# too, and the map written out (from halves of the extrema where the range
# overflows).

EPS = np.finfo(np.float64).eps


def noise_tolerance(feature_range):
    """How far from lo a noise feature may land, from the data alone.

    MinMaxScaler's bound for its constant features (a range below 10 eps,
    divided by 1): 10 eps (hi - lo); plus the rounding of ``x * scale_ +
    min_`` where ``x * scale_`` is a few tens of (hi - lo) at most.
    """
    lo, hi = feature_range
    return 64 * EPS * (hi - lo) + 4 * np.spacing(abs(lo))


def halves_reference(X, feature_range, data_min, data_max):
    """The min-max map written out from halves, which never overflow."""
    X = np.asarray(X, dtype=np.float64)
    lo, hi = feature_range
    return (X / 2 - data_min / 2) / (data_max / 2 - data_min / 2) * (hi - lo) + lo


def with_real_column(rng, column):
    """``column`` (1-D) next to an ordinary feature, which must be unaffected."""
    column = np.asarray(column, dtype=np.float64)
    return np.column_stack([column, rng.normal(size=column.size) * 3.0 + 1.0])


NOISE_COLUMNS = {
    "0.3 vs 0.1+0.2": [0.3, 0.1 + 0.2, 0.3, 0.1 + 0.2],
    **{
        f"x, x(1+eps) at {x:g}": [x, x * (1 + EPS), x, x * (1 + EPS)]
        for x in [1e-300, 1e-290, 1.0, -7.0]
    },
    "x(1-eps), x, x(1+eps) at 3": [3.0 * (1 - EPS), 3.0, 3.0 * (1 + EPS)],
}


@pytest.mark.parametrize("feature_range", FEATURE_RANGES)
@pytest.mark.parametrize("column", NOISE_COLUMNS.values(), ids=NOISE_COLUMNS.keys())
def test_rounding_noise_maps_to_lo_as_in_minmax_scaler(rng, column, feature_range):
    lo, hi = feature_range
    X = with_real_column(rng, column)
    data_range = X[:, 0].max() - X[:, 0].min()
    assert data_range > 0
    est = MinMaxNormalizer(feature_range=feature_range).fit(X)
    ref = MinMaxScaler(feature_range=feature_range).fit(X)
    # MinMaxScaler calls these ranges (< 10 eps) constant and divides them by
    # 1; so does the normalizer, bit for bit, keeping the true range.
    assert est.data_range_[0] == data_range
    assert est.scale_[0] == hi - lo
    for name in ATTRIBUTES:
        assert_array_equal(getattr(est, name), getattr(ref, name))
    out = est.transform(X)
    assert_array_equal(out, ref.transform(X))
    assert_allclose(out[:, 0], lo, rtol=0, atol=noise_tolerance(feature_range))
    assert_allclose(out[:, 1], minmax_reference(X, feature_range)[:, 1], atol=ATOL_OUT)


@pytest.mark.parametrize("feature_range", [*FEATURE_RANGES, (-3.5, 1e10)])
@pytest.mark.parametrize(
    "column",
    [
        [1e300, 1e300 * (1 + EPS), 1e300 * (1 + 2 * EPS)],
        [-4.5e15, -4.5e15 + 1.0, -4.5e15 + 2.0],
        [8.0, np.nextafter(8.0, 9.0), np.nextafter(np.nextafter(8.0, 9.0), 9.0)],
        [1e308, 1e308 * (1 + EPS), 1e308],
        [1.5e308, 1.5e308, 1.5e308],
    ],
    ids=["1e300", "-4.5e15", "8", "1e308", "exact 1.5e308"],
)
def test_rounding_noise_of_large_values_maps_to_lo(rng, column, feature_range):
    # MinMaxScaler's threshold, 10 eps, is absolute: it scales noise among
    # values near 1e300 (a range of 1e284), or two ulps of 8 (3.6e-15), onto
    # the whole feature_range, and divided by 1 such noise would land 1e284
    # above lo; x * (hi - lo) may overflow near 1e308 (MinMaxScaler's output
    # is NaN there). Written out, a constant feature is lo.
    lo, hi = feature_range
    X = with_real_column(rng, column)
    est = MinMaxNormalizer(feature_range=feature_range).fit(X)
    assert est.data_range_[0] == X[:, 0].max() - X[:, 0].min()
    assert np.all(np.isfinite(est.scale_)) and np.all(est.scale_ > 0)
    assert np.all(np.isfinite(est.min_))
    out = est.transform(X)
    assert np.all(np.isfinite(out))
    assert_allclose(out[:, 0], lo, rtol=0, atol=noise_tolerance(feature_range))
    assert_allclose(
        out[:, 1],
        minmax_reference(X[:, 1:], feature_range)[:, 0],
        rtol=RTOL,
        atol=1e-12 * hi,
    )
    # The map stays invertible: the data come back to within their noise.
    back = est.inverse_transform(out)
    assert_allclose(back[:, 0], X[:, 0], rtol=8 * EPS, atol=0)
    assert_allclose(back[:, 1], X[:, 1], rtol=RTOL, atol=1e-12)


@pytest.mark.parametrize("feature_range", FEATURE_RANGES)
def test_rounding_noise_split_over_batches_maps_to_lo(rng, feature_range):
    # Every batch alone is an exact constant; together they are noise.
    lo, hi = feature_range
    X = with_real_column(rng, [0.3, 0.3, 0.1 + 0.2, 0.3, 0.1 + 0.2, 0.1 + 0.2])
    est = MinMaxNormalizer(feature_range=feature_range)
    ref = MinMaxScaler(feature_range=feature_range)
    for rows in (slice(0, 2), slice(2, 3), slice(3, 4), slice(4, 6)):
        est.partial_fit(X[rows])
        ref.partial_fit(X[rows])
    one_shot = MinMaxNormalizer(feature_range=feature_range).fit(X)
    for name in ATTRIBUTES:
        assert_array_equal(getattr(est, name), getattr(one_shot, name))
        assert_array_equal(getattr(est, name), getattr(ref, name))
    assert est.data_range_[0] == (0.1 + 0.2) - 0.3
    assert est.scale_[0] == hi - lo
    out = est.transform(X)
    assert_allclose(out[:, 0], lo, rtol=0, atol=noise_tolerance(feature_range))
    assert_array_equal(out, ref.transform(X))


@pytest.mark.parametrize("feature_range", FEATURE_RANGES)
def test_stream_from_a_noise_first_batch_to_a_real_range(rng, feature_range):
    # While the stream has seen only noise the feature maps to lo; once later
    # batches bring a real range it is scaled as one fit on all the rows.
    lo, hi = feature_range
    first = with_real_column(rng, [1.0, 1.0 + EPS, 1.0 - EPS / 2])
    later = with_real_column(rng, rng.uniform(-2.0, 4.0, size=12))
    est = MinMaxNormalizer(feature_range=feature_range).partial_fit(first)
    assert est.scale_[0] == hi - lo
    assert_allclose(
        est.transform(first)[:, 0],
        lo,
        rtol=0,
        atol=noise_tolerance(feature_range),
    )
    for rows in (slice(0, 5), slice(5, 12)):
        est.partial_fit(later[rows])
    X = np.vstack([first, later])
    ref = MinMaxScaler(feature_range=feature_range).fit(X)
    for name in ATTRIBUTES:
        assert_array_equal(getattr(est, name), getattr(ref, name))
    assert_allclose(est.transform(X), minmax_reference(X, feature_range), atol=ATOL_OUT)


@pytest.mark.parametrize("feature_range", FEATURE_RANGES)
@pytest.mark.parametrize("unit", [1e-16, 1e-300])
def test_tiny_real_range_keeps_its_shape(rng, unit, feature_range):
    # A range far above the rounding of its values is real however small:
    # values in units of 1e-16 near 0 are scaled, where MinMaxScaler's
    # absolute threshold calls them constant.
    column = unit * np.array([1.0, 5.0, 3.0, 2.0, 4.0])
    X = with_real_column(rng, column)
    est = MinMaxNormalizer(feature_range=feature_range)
    for rows in (slice(0, 1), slice(1, 3), slice(3, 5)):
        est.partial_fit(X[rows])
    expected = minmax_reference(X, feature_range)
    assert_allclose(est.scale_[0], (feature_range[1] - feature_range[0]) / (4 * unit))
    assert_allclose(est.transform(X), expected, rtol=RTOL, atol=ATOL_OUT)
    assert_allclose(est.inverse_transform(expected)[:, 0], column, rtol=1e-12)
    if unit == 1e-16:
        scaler_out = MinMaxScaler(feature_range=feature_range).fit_transform(X)
        assert np.ptp(scaler_out[:, 0]) < 1e-14


@pytest.mark.parametrize("clip", [False, True])
@pytest.mark.parametrize("feature_range", FEATURE_RANGES)
def test_range_beyond_float64_is_scaled(feature_range, clip):
    lo, hi = feature_range
    big = np.finfo(np.float64).max
    X = np.array(
        [
            [-1e308, 0.0],
            [1e308, 1.7e308],
            [0.0, -1.7e308],
            [5e307, 1.0],
            [-1.5e307, -1e300],
        ]
    )
    est = MinMaxNormalizer(feature_range=feature_range, clip=clip)
    for rows in (slice(0, 1), slice(1, 3), slice(3, 5)):
        est.partial_fit(X[rows])
    data_min, data_max = X.min(axis=0), X.max(axis=0)
    with np.errstate(over="ignore"):
        assert_array_equal(est.data_range_, data_max - data_min)
    assert np.all(np.isinf(est.data_range_))
    assert_allclose(
        est.scale_, ((hi - lo) / 2) / (data_max / 2 - data_min / 2), rtol=RTOL
    )
    assert np.all(np.isfinite(est.min_))
    expected = halves_reference(X, feature_range, data_min, data_max)
    out = est.transform(X)
    assert_allclose(out, expected, rtol=0, atol=ATOL_OUT)
    assert_allclose(out.min(axis=0), lo, atol=ATOL_OUT)
    assert_allclose(out.max(axis=0), hi, atol=ATOL_OUT)
    back = est.inverse_transform(expected)
    assert np.all(np.isfinite(back))
    assert_allclose(back, X, rtol=RTOL, atol=1e-12 * big)
    # Beyond the fitted range: outside feature_range, unless clipped.
    X_out = np.array([[1.5e308, -big], [-big, big]])
    est_wide = MinMaxNormalizer(feature_range=feature_range, clip=clip).fit(X[:2])
    expected_out = halves_reference(X_out, feature_range, X[:2].min(0), X[:2].max(0))
    if clip:
        expected_out = np.clip(expected_out, lo, hi)
    assert_allclose(est_wide.transform(X_out), expected_out, rtol=0, atol=ATOL_OUT)


@pytest.mark.parametrize("feature_range", FEATURE_RANGES)
def test_data_range_beyond_float64_is_scaled(rng, feature_range):
    lo, hi = feature_range
    data_lo, data_hi = np.array([-1e308, 0.0]), np.array([1e308, 255.0])
    X = np.column_stack([rng.uniform(-1, 1, 6) * 1e308, rng.uniform(0, 255, 6)])
    est = MinMaxNormalizer(feature_range=feature_range, data_range=(data_lo, data_hi))
    est.fit(X)
    assert est.data_range_[0] == np.inf and est.data_range_[1] == 255.0
    assert np.all(np.isfinite(est.min_))
    expected = halves_reference(X, feature_range, data_lo, data_hi)
    out = est.transform(X)
    assert_allclose(out, expected, rtol=0, atol=ATOL_OUT)
    assert_allclose(est.inverse_transform(out), X, rtol=1e-12, atol=1e-12 * 1e308)
    ends = est.transform(np.array([data_lo, data_hi]))
    assert_allclose(ends, [[lo, lo], [hi, hi]], rtol=0, atol=ATOL_OUT)


def test_data_range_of_rounding_size_is_not_noise():
    # A known range is never noise: only lo < hi is asked of it.
    low, high = 0.3, 0.1 + 0.2
    X = np.array([[low], [high], [low]])
    est = MinMaxNormalizer(data_range=(low, high)).fit(X)
    assert est.scale_[0] == 1.0 / (high - low)
    assert_array_equal(est.transform(X)[:, 0], [0.0, 1.0, 0.0])


@pytest.mark.parametrize("feature_range", FEATURE_RANGES)
def test_float32_through_noise_and_float64_limits(rng, feature_range):
    lo, hi = feature_range
    # Fitted on float64 rounding noise, a float32 batch maps to lo.
    X = with_real_column(rng, [0.3, 0.1 + 0.2, 0.3])
    est = MinMaxNormalizer(feature_range=feature_range).fit(X)
    X32 = X.astype(np.float32)
    out = est.transform(X32)
    assert out.dtype == np.float32
    ref = MinMaxScaler(feature_range=feature_range).fit(X)
    tol = float32_tolerance(X32, est)
    assert_allclose(out, ref.transform(X32.astype(np.float64)), rtol=0, atol=tol)
    assert_allclose(out[:, 0], lo, rtol=0, atol=tol)
    # Through a range beyond float64, float32 values (all within 3.4e38 of 0)
    # map to the middle of feature_range.
    wide = MinMaxNormalizer(feature_range=feature_range).fit([[-1e308], [1e308]])
    values = np.array([[-3e38], [0.0], [1.0], [3e38]], dtype=np.float32)
    out = wide.transform(values)
    assert out.dtype == np.float32
    expected = halves_reference(values, feature_range, -1e308, 1e308)
    assert_allclose(out, expected, rtol=0, atol=float32_tolerance(values, wide))


@pytest.mark.parametrize("feature_range", FEATURE_RANGES)
def test_clip_on_noise_keeps_lo_and_clips_later_values(rng, feature_range):
    lo, hi = feature_range
    X = with_real_column(rng, [1.0, 1.0 + EPS, 1.0])
    est = MinMaxNormalizer(feature_range=feature_range, clip=True).fit(X)
    # A later value of the noise feature maps to lo + (x - data_min_) (hi - lo),
    # as in MinMaxScaler, then clipped.
    X_test = np.array([[1.0, 0.0], [1.0 + EPS, 0.0], [1.25, 0.0], [0.0, 0.0]])
    out = est.transform(X_test)
    expected = np.clip(lo + (X_test[:, 0] - 1.0) * (hi - lo), lo, hi)
    assert_allclose(out[:, 0], expected, rtol=0, atol=noise_tolerance(feature_range))
    ref = MinMaxScaler(feature_range=feature_range, clip=True).fit(X)
    assert_allclose(out, ref.transform(X_test), rtol=0, atol=ATOL_OUT)
    assert out[3, 0] == lo


# --------------------------------------------------------------------------
# sample_weight
# --------------------------------------------------------------------------


def test_zero_weight_rows_are_absent(rng):
    X = make_data(rng, n_samples=30)
    weights = rng.uniform(0.5, 2.0, size=30)
    absent = np.array([2, 7, 8, 20])
    weights[absent] = 0.0
    X_poisoned = X.copy()
    X_poisoned[absent[:2]] = 1e6
    X_poisoned[absent[2:]] = -1e6
    est = MinMaxNormalizer(feature_range=(-1, 1)).fit(X_poisoned, sample_weight=weights)
    kept = np.delete(X, absent, axis=0)
    ref = MinMaxScaler(feature_range=(-1, 1)).fit(kept)
    for name in ATTRIBUTES:
        assert_allclose(getattr(est, name), getattr(ref, name), rtol=RTOL)
    assert_allclose(est.n_samples_seen_, weights.sum(), rtol=1e-15)
    assert_outputs_match_sklearn(est, ref, X)


def test_zero_weight_rows_are_absent_over_partial_fit(rng):
    X = make_data(rng, n_samples=30)
    weights = rng.integers(0, 3, size=30).astype(np.float64)
    weights[[0, 10, 20]] = 1.0  # every batch below has a row that counts
    X_poisoned = np.where((weights == 0)[:, None], 1e6, X)
    est = MinMaxNormalizer()
    for rows in (slice(0, 10), slice(10, 20), slice(20, 30)):
        est.partial_fit(X_poisoned[rows], sample_weight=weights[rows])
    kept = X[weights > 0]
    assert_array_equal(est.data_min_, kept.min(axis=0))
    assert_array_equal(est.data_max_, kept.max(axis=0))
    assert_allclose(est.n_samples_seen_, weights.sum(), rtol=1e-15)


def test_positive_weights_do_not_change_the_extrema(rng):
    X = with_nans(rng, make_data(rng))
    weights = rng.uniform(1e-3, 1e3, size=X.shape[0])
    est = MinMaxNormalizer(feature_range=(-1, 1)).fit(X, sample_weight=weights)
    ref = MinMaxScaler(feature_range=(-1, 1)).fit(X)
    for name in ATTRIBUTES:
        assert_allclose(getattr(est, name), getattr(ref, name), rtol=RTOL)
    assert_outputs_match_sklearn(est, ref, X)
    assert isinstance(est.n_samples_seen_, float)
    assert_allclose(est.n_samples_seen_, weights.sum(), rtol=1e-14)


def test_integer_weights_equal_repeated_rows(rng):
    X = make_data(rng, n_samples=25)
    weights = rng.integers(0, 4, size=25)
    weights[[0, 1]] = [0, 3]
    repeated = np.repeat(X, weights, axis=0)
    est = MinMaxNormalizer(feature_range=(-1, 1)).fit(X, sample_weight=weights)
    ref = MinMaxScaler(feature_range=(-1, 1)).fit(repeated)
    for name in ATTRIBUTES:
        assert_allclose(getattr(est, name), getattr(ref, name), rtol=RTOL)
    assert est.n_samples_seen_ == weights.sum() == repeated.shape[0]
    assert_allclose(est.transform(X), ref.transform(X), rtol=RTOL, atol=ATOL_OUT)


def test_n_samples_seen_sums_weights_over_partial_fit(rng):
    X = make_data(rng, n_samples=20)
    weights = rng.uniform(0.1, 2.0, size=20)
    est = MinMaxNormalizer()
    est.partial_fit(X[:8], sample_weight=weights[:8])
    est.partial_fit(X[8:], sample_weight=weights[8:])
    assert_allclose(est.n_samples_seen_, weights.sum(), rtol=1e-14)
    assert_array_equal(est.data_min_, X.min(axis=0))


def test_data_range_with_sample_weight_counts_the_weights(rng):
    X = rng.uniform(0, 255, size=(10, 2))
    weights = np.r_[np.zeros(3), np.full(7, 0.5)]
    est = MinMaxNormalizer(data_range=(0, 255)).fit(X, sample_weight=weights)
    assert_array_equal(est.data_min_, [0.0, 0.0])
    assert_array_equal(est.data_max_, [255.0, 255.0])
    assert_allclose(est.n_samples_seen_, 3.5, rtol=1e-15)


def bad_weights():
    negative = np.ones(6)
    negative[4] = -1.0
    nan_weight = np.ones(6)
    nan_weight[1] = np.nan
    inf_weight = np.ones(6)
    inf_weight[0] = np.inf
    return [
        pytest.param(negative, id="negative"),
        pytest.param(np.ones(4), id="short"),
        pytest.param(np.ones(7), id="long"),
        pytest.param(np.ones((6, 1)), id="2-D"),
        pytest.param(np.zeros(6), id="all zero"),
        pytest.param(nan_weight, id="NaN"),
        pytest.param(inf_weight, id="inf"),
    ]


@pytest.mark.parametrize("weights", bad_weights())
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_bad_sample_weight_raises(rng, weights, method):
    X = make_data(rng, n_samples=6)
    est = MinMaxNormalizer()
    with pytest.raises(ValueError, match="sample_weight"):
        getattr(est, method)(X, sample_weight=weights)
    with pytest.raises(NotFittedError):
        check_is_fitted(est)


def test_rejected_batch_leaves_the_running_range_unchanged(rng):
    X = make_data(rng, n_samples=20)
    est = MinMaxNormalizer().partial_fit(X[:10])
    before = {name: getattr(est, name).copy() for name in ATTRIBUTES}
    poisoned = X[10:] * 100
    with pytest.raises(ValueError, match="sample_weight"):
        est.partial_fit(poisoned, sample_weight=-np.ones(10))
    with pytest.raises(ValueError):
        est.partial_fit(poisoned[:, :3])
    for name in ATTRIBUTES:
        assert_array_equal(getattr(est, name), before[name])
    assert est.n_samples_seen_ == 10
    est.partial_fit(X[10:])
    assert_attributes_match_sklearn(est, MinMaxScaler().fit(X))


# --------------------------------------------------------------------------
# hypothesis: any split gives the one-shot fit, bit for bit
# --------------------------------------------------------------------------

FINITE = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
WEIGHTS = st.one_of(st.just(0.0), st.floats(1e-3, 1e3))


@st.composite
def split_data(draw, weighted=False):
    n_samples = draw(st.integers(1, 20))
    n_features = draw(st.integers(1, 3))
    elements = st.one_of(FINITE, st.just(np.nan))
    X = draw(hnp.arrays(np.float64, (n_samples, n_features), elements=elements))
    batches = draw(batch_splits(n_samples))
    weights = None
    if weighted:
        weights = draw(hnp.arrays(np.float64, n_samples, elements=WEIGHTS))
        # A batch whose weights are all zero is rejected.
        assume(all(np.any(weights[rows] > 0) for rows in batches))
    feature_range = draw(st.sampled_from([(0, 1), (-1, 1), (-2.5, 7.0)]))
    return X, batches, weights, feature_range


def check_split_equals_one_shot_fit(X, batches, weights, feature_range):
    streamed = MinMaxNormalizer(feature_range=feature_range)
    for rows in batches:
        streamed.partial_fit(
            X[rows], sample_weight=None if weights is None else weights[rows]
        )
    one_shot = MinMaxNormalizer(feature_range=feature_range).fit(
        X, sample_weight=weights
    )
    for name in ATTRIBUTES:
        assert_array_equal(getattr(streamed, name), getattr(one_shot, name))
    assert streamed.n_features_in_ == one_shot.n_features_in_ == X.shape[1]
    kept = X if weights is None else X[weights > 0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
        assert_array_equal(streamed.data_min_, np.nanmin(kept, axis=0))
        assert_array_equal(streamed.data_max_, np.nanmax(kept, axis=0))
    if weights is None:
        assert streamed.n_samples_seen_ == X.shape[0]
    else:
        assert_allclose(streamed.n_samples_seen_, weights.sum(), rtol=1e-13)
    with np.errstate(all="ignore"):  # inf * 0 where a huge scale meets x == 0
        assert_array_equal(streamed.transform(X), one_shot.transform(X))


@settings(max_examples=50, deadline=None)
@given(split_data())
def test_any_split_equals_one_shot_fit(case):
    check_split_equals_one_shot_fit(*case)


@settings(max_examples=50, deadline=None)
@given(split_data(weighted=True))
def test_any_weighted_split_equals_one_shot_fit(case):
    check_split_equals_one_shot_fit(*case)


# --------------------------------------------------------------------------
# DataFrames, set_output, input checks
# --------------------------------------------------------------------------

COLUMNS = ["alpha", "beta", "gamma", "delta"]


@pytest.mark.parametrize("output", ["pandas", "polars"])
def test_set_output_returns_dataframe_with_input_names(output, rng):
    pd = pytest.importorskip("pandas")
    pytest.importorskip(output)
    X = make_data(rng)
    df = pd.DataFrame(X, columns=COLUMNS)
    est = MinMaxNormalizer(feature_range=(-1, 1)).set_output(transform=output)
    est.fit(df)
    assert_array_equal(est.feature_names_in_, COLUMNS)
    assert_array_equal(est.get_feature_names_out(), COLUMNS)
    expected = MinMaxScaler(feature_range=(-1, 1)).fit_transform(X)
    for out in (est.transform(df), est.fit_transform(df)):
        assert type(out).__module__.split(".")[0] == output
        assert list(out.columns) == COLUMNS
        assert list(out.columns) == list(est.get_feature_names_out())
        assert_allclose(np.asarray(out), expected, rtol=RTOL, atol=ATOL_OUT)


def test_fit_on_polars_sets_feature_names_in(rng):
    pl = pytest.importorskip("polars")
    X = make_data(rng)
    df = pl.DataFrame({name: X[:, j] for j, name in enumerate(COLUMNS)})
    est = MinMaxNormalizer().fit(df)
    assert_array_equal(est.feature_names_in_, COLUMNS)
    assert_array_equal(est.data_min_, X.min(axis=0))


def test_get_feature_names_out_without_names(rng):
    est = MinMaxNormalizer().fit(make_data(rng))
    assert_array_equal(est.get_feature_names_out(), ["x0", "x1", "x2", "x3"])
    assert not hasattr(est, "feature_names_in_")


def test_transform_with_wrong_feature_names_raises(rng):
    pd = pytest.importorskip("pandas")
    X = make_data(rng)
    est = MinMaxNormalizer().fit(pd.DataFrame(X, columns=COLUMNS))
    renamed = pd.DataFrame(X, columns=["alpha", "beta", "gamma", "epsilon"])
    with pytest.raises(ValueError, match="feature names"):
        est.transform(renamed)
    reordered = pd.DataFrame(X[:, ::-1], columns=COLUMNS[::-1])
    with pytest.raises(ValueError, match="feature names"):
        est.transform(reordered)


def test_wrong_number_of_features_raises(rng):
    X = make_data(rng)
    est = MinMaxNormalizer().fit(X)
    with pytest.raises(ValueError, match="4 features"):
        est.transform(X[:, :3])
    with pytest.raises(ValueError, match="4 features"):
        est.inverse_transform(X[:, :3])
    with pytest.raises(ValueError, match="4 features"):
        est.partial_fit(np.hstack([X, X[:, :1]]))


@pytest.mark.parametrize("method", ["transform", "inverse_transform"])
def test_not_fitted_raises(rng, method):
    with pytest.raises(NotFittedError):
        getattr(MinMaxNormalizer(), method)(make_data(rng))


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_sparse_input_is_rejected_like_minmax_scaler(fmt, method):
    X = sp.random(10, 3, density=0.5, format=fmt, random_state=0)
    with pytest.raises(TypeError):
        getattr(MinMaxScaler(), method)(X)
    est = MinMaxNormalizer()
    with pytest.raises((TypeError, ValueError)):
        getattr(est, method)(X)
    with pytest.raises(NotFittedError):
        check_is_fitted(est)
    est.fit(X.toarray())
    with pytest.raises((TypeError, ValueError)):
        est.transform(X)


# --------------------------------------------------------------------------
# scikit-learn integration
# --------------------------------------------------------------------------


def test_pipeline_in_grid_search_over_feature_range():
    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(MinMaxNormalizer(), LogisticRegression(max_iter=1000))
    grid = {"minmaxnormalizer__feature_range": [(0, 1), (-1, 1)]}
    search = GridSearchCV(pipe, grid, cv=3).fit(X, y)
    assert search.best_score_ > 0.9
    tried = list(search.cv_results_["param_minmaxnormalizer__feature_range"])
    assert sorted(tried) == [(-1, 1), (0, 1)]
    best = search.best_params_["minmaxnormalizer__feature_range"]
    scaler = search.best_estimator_.named_steps["minmaxnormalizer"]
    ref = MinMaxScaler(feature_range=best).fit(X)
    assert_attributes_match_sklearn(scaler, ref)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"feature_range": (-1, 1), "clip": True},
        {"data_range": (np.zeros(4), np.full(4, 2e3)), "copy": False},
    ],
)
def test_pickle_round_trip(params, rng):
    X = make_data(rng)
    est = MinMaxNormalizer(**params).fit(X)
    restored = pickle.loads(pickle.dumps(est))
    X_test = outside_data(X)
    assert_array_equal(restored.transform(X_test.copy()), est.transform(X_test.copy()))
    for name in ATTRIBUTES:
        assert_array_equal(getattr(restored, name), getattr(est, name))
    assert restored.n_samples_seen_ == est.n_samples_seen_ == 40
    if "data_range" not in params:
        assert_array_equal(restored.data_min_, X.min(axis=0))


def test_clone_of_fitted_estimator_is_unfitted(rng):
    est = MinMaxNormalizer(
        feature_range=(-1, 1), data_range=(0.0, 2e3), clip=True, copy=False
    )
    est.fit(make_data(rng))
    cloned = clone(est)
    with pytest.raises(NotFittedError):
        check_is_fitted(cloned)
    assert cloned.get_params() == est.get_params()
    assert not any(key.endswith("_") for key in vars(cloned))


def test_get_params_round_trip():
    params = {
        "feature_range": (-1, 1),
        "data_range": (0, 255),
        "clip": True,
        "copy": False,
    }
    assert MinMaxNormalizer(**params).get_params() == params
    assert MinMaxNormalizer().get_params() == {
        "feature_range": (0, 1),
        "data_range": None,
        "clip": False,
        "copy": True,
    }


# --------------------------------------------------------------------------
# Parameter validation, at fit
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "feature_range",
    [(1, 0), (0, 0), (0,), "ab", (0, np.nan), (0, np.inf), 1, (0, 1, 2), ("a", "b")],
    ids=repr,
)
@pytest.mark.parametrize("method", ["fit", "partial_fit", "fit_transform"])
def test_invalid_feature_range_raises_at_fit(rng, feature_range, method):
    est = MinMaxNormalizer(feature_range=feature_range)
    with pytest.raises(ValueError, match="feature_range"):
        getattr(est, method)(make_data(rng))
    with pytest.raises(NotFittedError):
        check_is_fitted(est)


@pytest.mark.parametrize("clip", ["yes", None, 1])
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_non_bool_clip_raises_at_fit(rng, clip, method):
    est = MinMaxNormalizer(clip=clip)
    with pytest.raises(ValueError, match="clip"):
        getattr(est, method)(make_data(rng))


def test_feature_range_accepts_numpy_scalars(rng):
    X = make_data(rng)
    est = MinMaxNormalizer(feature_range=(np.float64(-1), np.int64(1))).fit(X)
    assert_allclose(
        est.transform(X), minmax_reference(X, (-1, 1)), rtol=RTOL, atol=ATOL_OUT
    )
