"""Row blocks and threads: the results must not depend on how many cores run them."""

import math
import multiprocessing
import re

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.preprocessing import RobustScaler

import skbn._blocks
import skbn._numpy_stats
from skbn import (
    BatchStandardizer,
    MinMaxNormalizer,
    RobustStandardizer,
    SVDWhitener,
    ZScoreOutlierDetector,
)
from skbn._affine import affine, linear
from skbn._backend import NUMPY
from skbn._blocks import (
    WIDE,
    WIDE_MIN_ROWS,
    block_rows,
    fold,
    map_row_blocks,
    row_blocks,
    wide_view,
)


def several_groups(rng, n_features=3, dtype=np.float64):
    """Enough rows for three groups of blocks, the last block short."""
    rows = 9 * block_rows(np.empty((1, n_features))) + 37
    X = rng.normal(loc=1e3, scale=2.0, size=(rows, n_features)).astype(dtype)
    X[rng.random(rows) < 0.01, 1] = np.nan
    return X


@pytest.fixture(params=[1, 2, 3], ids=lambda n: f"{n}-threads")
def threads(request, monkeypatch):
    monkeypatch.setattr(skbn._blocks, "_n_threads", lambda: request.param)
    return request.param


def test_row_blocks_cover_the_rows_in_order():
    assert row_blocks(10, 4) == [slice(0, 4), slice(4, 8), slice(8, 10)]
    assert row_blocks(0, 4) == []


def test_map_row_blocks_returns_groups_in_row_order(threads):
    groups = map_row_blocks(lambda blocks: [b.start for b in blocks], 100, 7)
    assert [start for group in groups for start in group] == list(range(0, 100, 7))
    assert all(len(group) <= 4 for group in groups)


def test_wide_view_folds_back_to_column_sums(rng):
    rows = WIDE_MIN_ROWS + WIDE
    block = rng.normal(size=(rows, 5))
    wide = wide_view(block)
    assert wide.shape == (rows // WIDE, 5 * WIDE)
    exact = [math.fsum(column) for column in block.T]
    # Sums in another order: within rounding of the sum of absolute values.
    bound = 1e-13 * np.abs(block).sum(axis=0)
    assert np.all(np.abs(fold(wide.sum(axis=0), 5) - exact) <= bound)
    assert wide_view(block[:-1]) is None  # rows not a multiple of WIDE
    assert wide_view(np.asfortranarray(block)) is None
    assert wide_view(block[: WIDE_MIN_ROWS - WIDE]) is None  # too small to pay


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_moments_do_not_depend_on_the_number_of_threads(rng, dtype, monkeypatch):
    X = several_groups(rng, dtype=dtype)
    results = []
    for n in (1, 2, 3):
        monkeypatch.setattr(skbn._blocks, "_n_threads", lambda n=n: n)
        results.append(NUMPY.moments(X))
    for other in results[1:]:
        assert_array_equal(other.mean, results[0].mean)
        assert_array_equal(other.m2, results[0].m2)
    for j in range(X.shape[1]):
        x = X[~np.isnan(X[:, j]), j].astype(np.float64)
        mean = math.fsum(x) / x.size
        assert_allclose(results[0].weight[j], x.size)
        assert_allclose(results[0].observed_mean[j], mean, rtol=1e-15)
        var = math.fsum((x - mean) ** 2) / x.size
        assert_allclose(results[0].var[j], var, rtol=1e-13)


@pytest.fixture
def small_scatter_blocks(monkeypatch):
    """Scatter blocks of ordinary size, so that a few MB of data take
    several groups of them."""
    monkeypatch.setattr(skbn._numpy_stats, "_BLOCKS_PER_SCATTER_BLOCK", 1)
    monkeypatch.setattr(skbn._numpy_stats, "_MIN_SCATTER_ROWS", 1)


def complete_groups(rng, dtype=np.float64):
    X = several_groups(rng, dtype=dtype)
    return np.nan_to_num(X, nan=1e3)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_scatter_does_not_depend_on_the_number_of_threads(
    rng, dtype, monkeypatch, small_scatter_blocks
):
    X = complete_groups(rng, dtype=dtype)
    # A drift in the last blocks: far from the origin, they are centred on
    # their own means.
    X[-20_000:] += 50.0
    results = []
    for n in (1, 2, 3):
        monkeypatch.setattr(skbn._blocks, "_n_threads", lambda n=n: n)
        results.append(NUMPY.scatter(X))
    for other in results[1:]:
        assert_array_equal(other.mean, results[0].mean)
        assert_array_equal(other.matrix, results[0].matrix)
    Y = X.astype(np.float64)
    mean = np.array([math.fsum(column) / Y.shape[0] for column in Y.T])
    centred = Y - mean
    covariance = np.array(
        [[math.fsum(a * b) / Y.shape[0] for b in centred.T] for a in centred.T]
    )
    assert_allclose(results[0].full_mean, mean, rtol=1e-15)
    assert_allclose(results[0].covariance, covariance, rtol=1e-12)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (np.inf, "Input X contains infinity"),
        (np.nan, "(?s)Input X contains NaN.*impute"),
        (1e200, "too large for their squares"),
    ],
)
def test_whitener_refuses_what_its_large_fit_meets(
    rng, threads, small_scatter_blocks, value, message
):
    # The whitener's fit skips the finiteness pass of validation: its
    # scatter, non-finite, makes it look.
    X = complete_groups(rng)
    X[-1000, 2] = value
    with pytest.raises(ValueError, match=message):
        SVDWhitener().fit(X)
    fitted = SVDWhitener().fit(X[:100])
    before = {k: np.copy(v) for k, v in vars(fitted).items() if k.endswith("_")}
    with pytest.raises(ValueError, match=message):
        fitted.partial_fit(X)
    for name, value in before.items():
        assert_array_equal(getattr(fitted, name), value)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("in_place", [False, True])
def test_linear_maps_over_threads_match_the_formula(rng, threads, dtype, in_place):
    X = complete_groups(rng, dtype=dtype)
    shift = X[:10].mean(axis=0, dtype=np.float64)
    matrix = rng.normal(size=(3, 3))
    expected = (X.astype(np.float64) - shift) @ matrix
    out = X.copy() if in_place else np.empty_like(X)
    source = out if in_place else X
    result = linear(source, before=shift, matrix=matrix, after=0.0, out=out)
    assert result is out
    rtol = 1e-6 if dtype == np.float32 else 1e-13
    assert_allclose(out, expected.astype(dtype), rtol=rtol, atol=rtol * 10)
    back = linear(
        out,
        before=0.0,
        matrix=np.linalg.inv(matrix),
        after=shift,
        out=np.empty_like(out),
    )
    assert_allclose(back, X, rtol=1e-5 if dtype == np.float32 else 1e-12)


def test_extrema_over_threads_are_exact(rng, threads):
    X = several_groups(rng)
    extrema = NUMPY.extrema(X)
    assert_array_equal(extrema.min, np.nanmin(X, axis=0))
    assert_array_equal(extrema.max, np.nanmax(X, axis=0))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_affine_maps_over_threads_match_the_formula(rng, threads, dtype):
    X = several_groups(rng, dtype=dtype)
    shift, factor, offset = np.array([1e3, 999.0, 1001.0]), np.array([0.5, 2, 3]), 1.0
    expected = ((X.astype(np.float64) - shift) * factor + offset).astype(dtype)
    out = np.empty_like(X)
    result = affine(X, shift=shift, factor=factor, offset=offset, out=out)
    assert result is out
    assert_array_equal(out, expected)
    back = affine(out, shift=shift, factor=factor, offset=offset, inverse=True)
    assert back is out
    assert_allclose(back, X, rtol=1e-6 if dtype == np.float32 else 1e-13)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "estimator",
    [
        BatchStandardizer(),
        MinMaxNormalizer(),
        RobustStandardizer(),
        ZScoreOutlierDetector(),
    ],
    ids=lambda e: type(e).__name__,
)
def test_infinity_deep_in_a_large_fit_gets_scikit_learns_error(rng, dtype, estimator):
    # Fits skip the finiteness pass of validation: the statistics refuse it.
    X = several_groups(rng, dtype=dtype)
    X[-1000, 2] = -np.inf
    message = re.escape(
        f"Input X contains infinity or a value too large for {np.dtype(dtype)!r}."
    )
    with pytest.raises(ValueError, match=message):
        clone(estimator).fit(X)
    fitted = clone(estimator).fit(X[:100])
    before = {k: np.copy(v) for k, v in vars(fitted).items() if k.endswith("_")}
    with pytest.raises(ValueError, match=message):
        fitted.partial_fit(X)
    for name, value in before.items():
        assert_array_equal(getattr(fitted, name), value)


@pytest.mark.parametrize("copy", [True, False])
@pytest.mark.parametrize("size", ["small", "large"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    "estimator",
    [BatchStandardizer(), MinMaxNormalizer(), RobustStandardizer()],
    ids=lambda e: type(e).__name__,
)
def test_transform_refuses_infinity_and_leaves_x_alone(
    rng, estimator, dtype, size, copy
):
    # Copying, the map's own pass finds infinity; in place, validation does,
    # before X is touched.
    X = several_groups(rng, dtype=dtype)
    if size == "small":
        X = X[:50]
    fitted = clone(estimator).fit(X)
    X[len(X) // 2, 0] = np.inf
    before = X.copy()
    message = re.escape(
        f"Input X contains infinity or a value too large for {np.dtype(dtype)!r}."
    )
    with pytest.raises(ValueError, match=message):
        fitted.transform(X, copy=copy)
    assert_array_equal(X, before)
    X[len(X) // 2, 0] = np.nan  # NaN passes, and stays NaN
    assert np.isnan(fitted.transform(X, copy=copy)[len(X) // 2, 0])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_robust_fit_and_transform_over_threads_match_robustscaler(rng, threads, dtype):
    # Far more rows than a stream is exact for: fit on an array in memory is
    # exact anyway, RobustScaler's (NaN ignored per feature, as its
    # nanpercentile does); the map is applied by blocks over the threads.
    X = several_groups(rng, dtype=dtype)
    est = RobustStandardizer(quantile_range=(10.0, 90.0)).fit(X)
    reference = RobustScaler(quantile_range=(10.0, 90.0)).fit(X.astype(np.float64))
    assert_allclose(est.center_, reference.center_, rtol=1e-15)
    assert_allclose(est.scale_, reference.scale_, rtol=1e-12)
    assert_array_equal(est.rank_error_, 0.0)
    Z = est.transform(X)
    assert Z.dtype == dtype
    expected = reference.transform(X.astype(np.float64))
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    assert_allclose(Z, expected, rtol=rtol, atol=rtol)
    assert_array_equal(np.isnan(Z), np.isnan(X))


def _fit_in_child(queue):
    X = np.random.default_rng(0).normal(size=(9 * block_rows(np.empty((1, 3))), 3))
    queue.put(float(NUMPY.moments(X).var[0]))


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="needs fork"
)
# Python 3.12+ warns that forking a threaded process may deadlock: the point.
@pytest.mark.filterwarnings(
    "ignore:This process .* is multi-threaded:DeprecationWarning"
)
def test_a_forked_child_gets_threads_of_its_own(rng):
    # The parent's pool has threads; a forked child must not wait on them.
    NUMPY.moments(several_groups(rng))
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_fit_in_child, args=(queue,))
    child.start()
    child.join(timeout=60)
    if child.is_alive():
        child.kill()
        pytest.fail("the forked child hung on the parent's threads")
    assert abs(queue.get(timeout=5) - 1.0) < 0.01
