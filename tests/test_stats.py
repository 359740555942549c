"""Unit tests of the statistics core, skbn._stats, against numpy references."""

import dataclasses
import math
from fractions import Fraction

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import sparse

import skbn._numpy_stats
from skbn._backend import NUMPY
from skbn._blocks import block_rows
from skbn._numerics import scale_from_variance
from skbn._numpy_stats import _MIN_SCATTER_ROWS, reference_point, scatter_blocking
from skbn._stats import (
    Extrema,
    exponential_moving_update,
    merge_pairwise,
)

# ---------------------------------------------------------------------------
# Independent references, written out with numpy and math.fsum.


def reference_moments(X, sample_weight=None):
    """Per-feature (weight, mean, m2) of the non-NaN values, by np.average."""
    X = np.asarray(X, dtype=np.float64)
    w = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight)
    weight, mean, m2 = [], [], []
    for column in X.T:
        seen = ~np.isnan(column)
        x, wx = column[seen], w[seen]
        weight.append(wx.sum())
        if wx.sum() > 0:
            average = np.average(x, weights=wx)
            mean.append(average)
            m2.append(np.sum(wx * (x - average) ** 2))
        else:
            mean.append(np.nan)
            m2.append(np.nan)
    return np.array(weight), np.array(mean), np.array(m2)


def fsum_mean_var(X):
    """Per-feature mean and population variance, summed exactly by math.fsum."""
    X = np.asarray(X, dtype=np.float64)
    mean = np.array([math.fsum(column) / column.size for column in X.T])
    var = np.array(
        [
            math.fsum((column - m) ** 2) / column.size
            for column, m in zip(X.T, mean, strict=True)
        ]
    )
    return mean, var


def assert_moments_match(moments, weight, mean, m2, rtol=1e-12):
    """Compare to a reference; NaN mean/m2 in it mark features with no weight."""
    seen = weight > 0
    assert_allclose(moments.weight, weight, rtol=rtol)
    assert_allclose(moments.observed_mean, mean, rtol=rtol, atol=1e-300)
    assert_allclose(moments.about(0.0).mean[seen], mean[seen], rtol=rtol)
    assert_allclose(moments.m2[seen], m2[seen], rtol=rtol, atol=1e-14)
    expected_var = np.full(weight.shape, np.nan)
    expected_var[seen] = m2[seen] / weight[seen]
    assert_allclose(moments.var, expected_var, rtol=rtol, atol=1e-14)


def make_data(rng, n_samples=60, n_features=4):
    """Features of different location and scale."""
    loc = np.array([2.0, 5.0, -300.0, 1e3])[:n_features]
    scale = np.array([1.0, 0.1, 20.0, 5.0])[:n_features]
    return rng.normal(loc=loc, scale=scale, size=(n_samples, n_features))


def with_nans(rng, X, fraction=0.2):
    X = X.copy()
    X[rng.random(X.shape) < fraction] = np.nan
    return X


def make_weights(rng, kind, n_samples):
    if kind is None:
        return None
    if kind == "float":
        return rng.uniform(0.0, 3.0, size=n_samples)
    return rng.integers(0, 4, size=n_samples).astype(np.float64)


# ---------------------------------------------------------------------------
# Moments.from_batch on dense data


def test_from_batch_dense_matches_numpy_mean_var_and_count(rng):
    X = make_data(rng)
    moments = NUMPY.moments(X)
    assert_array_equal(moments.weight, np.full(4, 60.0))
    assert_allclose(moments.about(0.0).mean, np.average(X, axis=0), rtol=1e-13)
    assert_allclose(moments.observed_mean, X.mean(axis=0), rtol=1e-13)
    assert_allclose(moments.m2, 60 * np.var(X, axis=0), rtol=1e-12)
    assert_allclose(moments.m2, np.sum((X - X.mean(axis=0)) ** 2, axis=0), rtol=1e-12)
    assert_allclose(moments.var, np.var(X, axis=0), rtol=1e-12)


def test_from_batch_weighted_matches_np_average(rng):
    X = make_data(rng)
    w = rng.uniform(0.1, 3.0, size=X.shape[0])
    moments = NUMPY.moments(X, w)
    mean = np.average(X, axis=0, weights=w)
    assert_allclose(moments.weight, np.full(4, w.sum()), rtol=1e-14)
    assert_allclose(moments.observed_mean, mean, rtol=1e-13)
    assert_allclose(
        moments.var, np.average((X - mean) ** 2, axis=0, weights=w), rtol=1e-12
    )
    assert_allclose(
        moments.m2, np.sum(w[:, None] * (X - mean) ** 2, axis=0), rtol=1e-12
    )


@pytest.mark.parametrize("missing", [False, True])
def test_from_batch_integer_weights_equal_repeated_rows(rng, missing):
    X = make_data(rng)
    if missing:
        X = with_nans(rng, X)
    w = rng.integers(0, 5, size=X.shape[0])
    repeated = np.repeat(X, w, axis=0)
    moments = NUMPY.moments(X, w.astype(np.float64))
    assert_allclose(moments.weight, np.sum(~np.isnan(repeated), axis=0), rtol=0)
    assert_allclose(moments.observed_mean, np.nanmean(repeated, axis=0), rtol=1e-13)
    assert_allclose(moments.var, np.nanvar(repeated, axis=0), rtol=1e-12)


def test_from_batch_zero_weight_rows_count_as_absent(rng):
    """Rows of weight 0 (here with wild values and NaN) change nothing."""
    X = make_data(rng)
    w = rng.uniform(0.5, 2.0, size=X.shape[0])
    absent = rng.random(X.shape[0]) < 0.3
    w[absent] = 0.0
    X[absent] = 1e8
    X[np.flatnonzero(absent)[:2], 1] = np.nan
    moments = NUMPY.moments(X, w)
    kept, wk = X[~absent], w[~absent]
    mean = np.average(kept, axis=0, weights=wk)
    assert_allclose(moments.weight, np.full(4, wk.sum()), rtol=1e-14)
    assert_allclose(moments.observed_mean, mean, rtol=1e-13)
    assert_allclose(
        moments.var, np.average((kept - mean) ** 2, axis=0, weights=wk), rtol=1e-12
    )


def test_from_batch_nan_matches_nanmean_nanvar_and_counts(rng):
    X = with_nans(rng, make_data(rng))
    moments = NUMPY.moments(X)
    assert_array_equal(moments.weight, np.sum(~np.isnan(X), axis=0))
    assert_allclose(moments.observed_mean, np.nanmean(X, axis=0), rtol=1e-13)
    assert_allclose(moments.var, np.nanvar(X, axis=0), rtol=1e-12)
    assert_allclose(
        moments.m2, np.nanvar(X, axis=0) * np.sum(~np.isnan(X), axis=0), rtol=1e-12
    )


def test_from_batch_nan_with_weights_matches_np_average_per_feature(rng):
    X = with_nans(rng, make_data(rng))
    w = rng.uniform(0.0, 3.0, size=X.shape[0])
    moments = NUMPY.moments(X, w)
    for j in range(X.shape[1]):
        seen = ~np.isnan(X[:, j])
        x, wx = X[seen, j], w[seen]
        mean = np.average(x, weights=wx)
        assert_allclose(moments.weight[j], wx.sum(), rtol=1e-14)
        assert_allclose(moments.observed_mean[j], mean, rtol=1e-13)
        assert_allclose(
            moments.var[j], np.average((x - mean) ** 2, weights=wx), rtol=1e-12
        )


@pytest.mark.parametrize("weights", [None, "float"])
def test_from_batch_float32_accumulates_in_float64(rng, weights):
    """float32 input: float64 statistics of the float32 values, to float64 accuracy."""
    X = (1e3 + rng.normal(size=(5000, 3))).astype(np.float32)
    w = make_weights(rng, weights, X.shape[0])
    moments = NUMPY.moments(X, w)
    weight, mean, m2 = reference_moments(X.astype(np.float64), w)
    for value in (moments.weight, moments.mean, moments.m2, moments.var):
        assert value.dtype == np.float64
    assert_moments_match(moments, weight, mean, m2, rtol=1e-12)


def test_from_batch_unobserved_feature_has_zero_weight_and_nan_stats(rng):
    X = make_data(rng, n_samples=20, n_features=3)
    X[:, 1] = np.nan
    moments = NUMPY.moments(X)
    assert_array_equal(moments.weight, [20.0, 0.0, 20.0])
    assert np.isnan(moments.observed_mean[1])
    assert np.isnan(moments.var[1])
    assert np.isnan(moments.unbiased_var[1])
    assert_allclose(
        moments.observed_mean[[0, 2]], X[:, [0, 2]].mean(axis=0), rtol=1e-13
    )
    assert_allclose(moments.var[[0, 2]], X[:, [0, 2]].var(axis=0), rtol=1e-12)


def test_from_batch_feature_observed_only_in_zero_weight_rows_has_zero_weight(rng):
    X = make_data(rng, n_samples=10, n_features=2)
    w = np.r_[np.zeros(4), np.ones(6)]
    X[4:, 0] = np.nan
    moments = NUMPY.moments(X, w)
    assert_array_equal(moments.weight, [0.0, 6.0])
    assert np.isnan(moments.observed_mean[0])
    assert np.isnan(moments.var[0])
    assert_allclose(moments.var[1], np.var(X[4:, 1]), rtol=1e-12)


@pytest.mark.parametrize("weights", [None, "float"])
@pytest.mark.parametrize("missing", [False, True])
def test_from_batch_larger_than_one_block_is_exact(weights, missing):
    """200_000 x 3 spans several blocks; reference summed by fsum."""
    rng = np.random.default_rng(0)
    X = rng.normal(loc=[0.0, 5.0, -100.0], scale=[1.0, 0.1, 10.0], size=(200_000, 3))
    if missing:
        X = with_nans(rng, X, fraction=0.1)
    w = make_weights(rng, weights, X.shape[0])
    moments = NUMPY.moments(X, w)
    for j in range(3):
        seen = ~np.isnan(X[:, j])
        x = X[seen, j]
        wx = np.ones(x.size) if w is None else w[seen]
        weight = math.fsum(wx)
        mean = math.fsum(wx * x) / weight
        var = math.fsum(wx * (x - mean) ** 2) / weight
        assert_allclose(moments.weight[j], weight, rtol=1e-14)
        assert_allclose(moments.observed_mean[j], mean, rtol=1e-12)
        assert_allclose(moments.var[j], var, rtol=1e-12)


def test_from_batch_large_offset_across_blocks_keeps_variance(rng):
    """1e9 + N(0, 1) over several blocks: var to 1e-9, mean to a few ulps.

    Means of 1e9-sized data are only representable to ~6e-8, so merging blocks
    loses ~1e-10 of the variance unavoidably; a block mean that is not refined
    by its residual sum (naive row-order summation) costs far more.
    """
    X = 1e9 + rng.normal(size=(200_000, 3))
    moments = NUMPY.moments(X)
    mean, var = fsum_mean_var(X)
    assert_allclose(moments.observed_mean, mean, rtol=1e-15)
    assert_allclose(moments.var, var, rtol=1e-9)


# ---------------------------------------------------------------------------
# Moments.from_batch on scipy.sparse


def make_sparse_dense(rng, n_samples=40, n_features=6):
    """Dense array with many zeros, NaNs, an all-zero and an all-NaN column."""
    D = rng.normal(loc=2.0, scale=3.0, size=(n_samples, n_features))
    D[rng.random(D.shape) < 0.6] = 0.0
    D[rng.random(D.shape) < 0.1] = np.nan
    D[:, 4] = 0.0
    D[:, 5] = np.where(rng.random(n_samples) < 0.5, np.nan, 0.0)
    D[:, 5][0] = np.nan
    return D


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("weights", [None, "float", "integer"])
def test_from_batch_sparse_matches_dense_reference(rng, fmt, weights):
    D = make_sparse_dense(rng)
    D[:, 5] = np.nan  # a feature without any observed value
    S = sparse.csr_matrix(D).asformat(fmt)
    assert np.isnan(S.data).any()
    S.data[np.flatnonzero(S.data == S.data)[:3]] = 0.0  # explicit stored zeros
    w = make_weights(rng, weights, D.shape[0])
    moments = NUMPY.moments(S, w)
    weight, mean, m2 = reference_moments(S.toarray(), w)
    assert weight[5] == 0
    assert_moments_match(moments, weight, mean, m2)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_from_batch_sparse_counts_nan_only_where_stored(rng, fmt):
    """Implicit zeros are observed values; stored NaNs are not."""
    D = make_sparse_dense(rng)
    S = sparse.csr_matrix(D).asformat(fmt)
    moments = NUMPY.moments(S)
    assert_array_equal(moments.weight, np.sum(~np.isnan(D), axis=0))
    assert_allclose(
        moments.observed_mean, np.nanmean(D, axis=0), rtol=1e-13, atol=1e-300
    )
    assert_allclose(moments.var, np.nanvar(D, axis=0), rtol=1e-12, atol=1e-300)


def duplicated_coo(rng):
    """A COO matrix with repeated coordinates, incl. a NaN and a cancelling pair."""
    n_samples, n_features = 12, 4
    rows = rng.choice([0, 1, 2, 4, 6, 8, 9, 10, 11], size=30)  # not 3, 5, 7
    cols = rng.integers(0, n_features, size=30)
    data = rng.normal(loc=1.0, scale=2.0, size=30)
    rows = np.r_[rows, 3, 3, 5, 5, 7, 7]
    cols = np.r_[cols, 0, 0, 1, 1, 2, 2]
    data = np.r_[data, 2.5, -2.5, np.nan, 1.0, 4.0, 4.0]
    return sparse.coo_matrix((data, (rows, cols)), shape=(n_samples, n_features))


def uncanonical(coo, fmt):
    """CSR/CSC that keeps the duplicates (tocsr() would sum them)."""
    major, minor = (coo.row, coo.col) if fmt == "csr" else (coo.col, coo.row)
    order = np.argsort(major, kind="stable")
    n_major = coo.shape[0] if fmt == "csr" else coo.shape[1]
    indptr = np.r_[0, np.cumsum(np.bincount(major, minlength=n_major))]
    cls = sparse.csr_matrix if fmt == "csr" else sparse.csc_matrix
    matrix = cls((coo.data[order], minor[order], indptr), shape=coo.shape)
    assert not matrix.has_canonical_format
    return matrix


@pytest.mark.parametrize("fmt", ["coo", "csr", "csc"])
@pytest.mark.parametrize("weights", [None, "float"])
def test_from_batch_sparse_duplicate_entries_are_summed(rng, fmt, weights):
    coo = duplicated_coo(rng)
    S = coo if fmt == "coo" else uncanonical(coo, fmt)
    D = coo.toarray()
    assert np.isnan(D[5, 1]) and D[3, 0] == 0.0 and D[7, 2] >= 8.0
    w = make_weights(rng, weights, D.shape[0])
    moments = NUMPY.moments(S, w)
    weight, mean, m2 = reference_moments(D, w)
    assert_moments_match(moments, weight, mean, m2)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
@pytest.mark.parametrize("content", ["all_zero", "only_nan_stored"])
def test_from_batch_sparse_without_observed_stored_entries(fmt, content):
    """No stored non-NaN entry: every observed value is an implicit zero."""
    D = np.zeros((5, 2))
    if content == "only_nan_stored":
        D[[0, 3], 0] = np.nan
    S = sparse.csr_matrix(D).asformat(fmt)
    moments = NUMPY.moments(S)
    assert_array_equal(moments.weight, np.sum(~np.isnan(D), axis=0))
    assert_array_equal(moments.about(0.0).mean, [0.0, 0.0])
    assert_array_equal(moments.var, [0.0, 0.0])


def test_from_batch_sparse_unobserved_feature_with_float_weights_has_zero_weight():
    """As on dense data: exactly 0, not the rounding residue of two weight sums."""
    w = np.array([0.2, 0.7, 0.7, 0.2, 0.2, 0.1, 0.3, 0.3])
    D = np.c_[np.full(8, np.nan), np.arange(8.0)]
    moments = NUMPY.moments(sparse.csr_matrix(D), w)
    assert moments.weight[0] == 0.0
    assert np.isnan(moments.observed_mean[0])
    assert np.isnan(moments.var[0])
    assert_allclose(moments.weight[1], w.sum(), rtol=1e-15)


def test_from_batch_sparse_single_value_with_float_weights_has_no_spread():
    """One observed value of weight 1: weight exactly 1, no phantom zeros."""
    w = np.array([1.0, 0.7, 0.2, 0.2, 0.7, 0.2, 0.2, 0.3, 0.3])
    D = np.c_[np.r_[5.0, np.full(8, np.nan)], np.arange(9.0)]
    moments = NUMPY.moments(sparse.csr_matrix(D), w)
    assert_allclose(moments.weight[0], 1.0, rtol=1e-15)
    assert_allclose(moments.observed_mean[0], 5.0, rtol=1e-15)
    assert moments.var[0] == 0.0
    assert np.isnan(moments.unbiased_var[0])


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_from_batch_sparse_large_offset_mean_as_accurate_as_dense(rng, fmt):
    """1e9 + N(0, 1) stored densely in a sparse matrix: mean to a few ulps.

    Merges square differences of means, so a mean off by many ulps (no
    refinement by the residual sum) spoils streamed variances, see below.
    """
    X = 1e9 + rng.normal(size=(200_000, 2))
    mean, var = fsum_mean_var(X)
    moments = NUMPY.moments(sparse.csr_matrix(X).asformat(fmt))
    assert_allclose(moments.observed_mean, mean, rtol=1e-15)
    assert_allclose(moments.var, var, rtol=1e-12)


def test_merged_sparse_chunks_at_large_offset_keep_variance(rng):
    """100 sequential merges of 1000-row CSR chunks of 1e9 + N(0, 1): var to 1e-9."""
    X = 1e9 + rng.normal(size=(100_000, 3))
    _, var = fsum_mean_var(X)
    for convert in (np.asarray, sparse.csr_matrix):
        total = NUMPY.moments(convert(X[:1000]))
        for start in range(1000, X.shape[0], 1000):
            total = total.merge(NUMPY.moments(convert(X[start : start + 1000])))
        assert_allclose(total.var, var, rtol=1e-9)


# ---------------------------------------------------------------------------
# merge and merge_pairwise


@pytest.mark.parametrize("weights", [None, "float"])
@pytest.mark.parametrize("missing", [False, True])
def test_merge_of_two_halves_equals_moments_of_concatenation(rng, weights, missing):
    X = make_data(rng, n_samples=80)
    if missing:
        X = with_nans(rng, X)
    w = make_weights(rng, weights, X.shape[0])
    split = 31
    merged = NUMPY.moments(X[:split], None if w is None else w[:split]).merge(
        NUMPY.moments(X[split:], None if w is None else w[split:])
    )
    weight, mean, m2 = reference_moments(X, w)
    assert_moments_match(merged, weight, mean, m2)
    if w is None and not missing:
        assert_allclose(
            merged.var,
            np.var(np.concatenate([X[:split], X[split:]]), axis=0),
            rtol=1e-12,
        )


@pytest.mark.parametrize("empty_side", ["left", "right"])
def test_merge_with_feature_unobserved_on_one_side(rng, empty_side):
    X = make_data(rng, n_samples=30, n_features=3)
    left, right = X[:12].copy(), X[12:].copy()
    (left if empty_side == "left" else right)[:, 1] = np.nan
    merged = NUMPY.moments(left).merge(NUMPY.moments(right))
    weight, mean, m2 = reference_moments(np.concatenate([left, right]))
    assert_moments_match(merged, weight, mean, m2)
    observed = right if empty_side == "left" else left
    assert_allclose(merged.var[1], np.var(observed[:, 1]), rtol=1e-12)
    assert merged.weight[1] == observed.shape[0]


def test_merge_of_two_unobserved_features_stays_unobserved(rng):
    X = make_data(rng, n_samples=10, n_features=2)
    X[:, 0] = np.nan
    merged = NUMPY.moments(X[:4]).merge(NUMPY.moments(X[4:]))
    assert merged.weight[0] == 0
    assert np.isnan(merged.observed_mean[0]) and np.isnan(merged.var[0])
    assert_allclose(merged.var[1], np.var(X[:, 1]), rtol=1e-12)


@pytest.mark.parametrize("weights", [None, "float"])
@pytest.mark.parametrize("missing", [False, True])
def test_merge_pairwise_over_random_splits_equals_one_shot(rng, weights, missing):
    X = make_data(rng, n_samples=500)
    if missing:
        X = with_nans(rng, X, fraction=0.3)
    w = make_weights(rng, weights, X.shape[0])
    weight, mean, m2 = reference_moments(X, w)
    for _ in range(20):
        n_cuts = rng.integers(1, 60)
        cuts = np.sort(rng.choice(np.arange(1, X.shape[0]), size=n_cuts, replace=False))
        bounds = np.r_[0, cuts, X.shape[0]]
        parts = [
            NUMPY.moments(X[a:b], None if w is None else w[a:b])
            for a, b in zip(bounds[:-1], bounds[1:], strict=True)
        ]
        assert_moments_match(merge_pairwise(parts), weight, mean, m2)


def test_merge_pairwise_of_single_part_is_that_part(rng):
    X = make_data(rng)
    merged = merge_pairwise([NUMPY.moments(X)])
    assert_allclose(merged.var, np.var(X, axis=0), rtol=1e-12)


# ---------------------------------------------------------------------------
# Purity: inputs are never modified


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("missing", [False, True])
def test_from_batch_does_not_modify_dense_inputs(rng, dtype, missing):
    X = make_data(rng).astype(dtype)
    if missing:
        X = with_nans(rng, X)
    w = rng.uniform(0.0, 2.0, size=X.shape[0])
    X_before, w_before = X.copy(), w.copy()
    NUMPY.moments(X, w)
    NUMPY.moments(X)
    assert_array_equal(X, X_before)
    assert_array_equal(w, w_before)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("missing", [False, True])
def test_from_batch_accepts_read_only_arrays(rng, dtype, missing):
    X = make_data(rng, n_samples=30_000).astype(dtype)
    if missing:
        X = with_nans(rng, X)
    w = rng.uniform(0.0, 2.0, size=X.shape[0])
    X.setflags(write=False)
    w.setflags(write=False)
    weight, mean, m2 = reference_moments(X, w)
    assert_moments_match(NUMPY.moments(X, w), weight, mean, m2, rtol=1e-11)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_from_batch_does_not_modify_sparse_input(rng, fmt):
    S = uncanonical(duplicated_coo(rng), fmt)
    w = rng.uniform(0.0, 2.0, size=S.shape[0])
    data, indices, indptr = S.data.copy(), S.indices.copy(), S.indptr.copy()
    w_before = w.copy()
    for array in (S.data, S.indices, S.indptr, w):
        array.setflags(write=False)
    NUMPY.moments(S, w)
    assert_array_equal(S.data, data)
    assert_array_equal(S.indices, indices)
    assert_array_equal(S.indptr, indptr)
    assert_array_equal(w, w_before)
    assert not S.has_canonical_format


def test_merge_does_not_modify_operands(rng):
    X = with_nans(rng, make_data(rng))
    X[:20, 2] = np.nan
    a = NUMPY.moments(X[:20])
    b = NUMPY.moments(X[20:], rng.uniform(0.0, 2.0, size=X.shape[0] - 20))
    fields = ("weight", "mean", "m2", "origin")
    before = [[np.copy(getattr(m, name)) for name in fields] for m in (a, b)]
    for m in (a, b):
        for name in fields:
            if isinstance(getattr(m, name), np.ndarray):
                getattr(m, name).setflags(write=False)
    a.merge(b)
    b.merge(a)
    merge_pairwise([a, b, a])
    a.about(np.ones(4))
    for m, saved in zip((a, b), before, strict=True):
        for name, value in zip(fields, saved, strict=True):
            assert_array_equal(getattr(m, name), value)


def test_moments_is_frozen(rng):
    moments = NUMPY.moments(make_data(rng))
    with pytest.raises(dataclasses.FrozenInstanceError):
        moments.mean = np.zeros(4)


# ---------------------------------------------------------------------------
# Moments about an origin, and reference_point


@pytest.mark.parametrize("missing", [False, True])
def test_from_batch_about_origin_measures_the_mean_from_it(rng, missing):
    X = make_data(rng, n_samples=50)
    if missing:
        X = with_nans(rng, X)
    origin = np.array([1.5, 5.0, -310.0, 999.0])
    weight, mean, m2 = reference_moments(X)
    moments = NUMPY.moments(X, origin=origin)
    assert_allclose(moments.weight, weight, rtol=0)
    assert_array_equal(moments.origin, origin)
    assert_allclose(moments.mean, mean - origin, rtol=1e-12, atol=1e-12)
    assert_allclose(moments.m2, m2, rtol=1e-12)
    assert_allclose(moments.about(0.0).mean, mean, rtol=1e-13)


def test_moments_about_a_common_origin_merge_exactly_at_large_offset(rng):
    """Chunks of 1e9 + N(0, 1) about the first chunk's origin: var to 1e-13."""
    X = 1e9 + rng.normal(size=(100_000, 2))
    _, ref_var = fsum_mean_var(X)
    origin = reference_point(X[:1000])
    state = NUMPY.moments(X[:1000], origin=origin)
    for start in range(1000, X.shape[0], 1000):
        state = state.merge(NUMPY.moments(X[start : start + 1000], origin=origin))
    assert_array_equal(state.origin, origin)
    assert_allclose(state.var, ref_var, rtol=1e-13)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("offset_in_sd", [0.0, 0.7, 1.5, 1e6])
def test_moments_of_blocks_off_the_origin_keep_the_variance(rng, offset_in_sd, dtype):
    """Blocks whose mean lies within a standard deviation of the origin are
    summed about it, their mean removed afterwards; blocks further out are
    centred on their own means first. Either way the variance holds to
    ~1e-13 over several blocks (the float32 data is exact in float64)."""
    n_samples = 3 * block_rows(np.empty((1, 2))) + 5
    X = (3.0 + 1e-3 * rng.normal(size=(n_samples, 2))).astype(dtype)
    ref_mean, ref_var = fsum_mean_var(X.astype(np.float64))
    origin = ref_mean - offset_in_sd * np.sqrt(ref_var)
    moments = NUMPY.moments(X, origin=origin)
    assert_array_equal(moments.origin, origin)
    # A mean measured from a far origin keeps the absolute precision of the
    # distance between them, no more.
    ulps = 4 * np.finfo(np.float64).eps * (np.abs(ref_mean - origin) + ref_mean)
    assert_allclose(moments.mean + origin, ref_mean, rtol=0, atol=ulps.max())
    assert_allclose(moments.var, ref_var, rtol=1e-13)


def test_reference_point_is_the_mean_of_the_first_block(rng):
    X = with_nans(rng, make_data(rng, n_samples=40_000))
    rows = block_rows(X)
    expected = np.nanmean(X[:rows], axis=0)
    assert_allclose(reference_point(X), expected, rtol=1e-13)


def test_reference_point_of_sparse_data_is_zero(rng):
    X = sparse.random(30, 4, density=0.3, format="csr", random_state=0)
    assert_array_equal(reference_point(X), np.zeros(4))


def test_reference_point_of_unobserved_feature_is_zero():
    X = np.array([[np.nan, 1.0], [np.nan, 3.0]])
    assert_array_equal(reference_point(X), [0.0, 2.0])


# ---------------------------------------------------------------------------
# unbiased_var


@pytest.mark.parametrize("weights", [None, "float", "integer"])
def test_unbiased_var_is_weighted_sum_of_squares_over_weight_minus_one(rng, weights):
    X = make_data(rng)
    w = make_weights(rng, weights, X.shape[0])
    wr = np.ones(X.shape[0]) if w is None else w
    mean = np.sum(wr[:, None] * X, axis=0) / wr.sum()
    expected = np.sum(wr[:, None] * (X - mean) ** 2, axis=0) / (wr.sum() - 1)
    unbiased = NUMPY.moments(X, w).unbiased_var
    assert_allclose(unbiased, expected, rtol=1e-12)
    if weights is None:
        assert_allclose(unbiased, np.var(X, axis=0, ddof=1), rtol=1e-12)
    if weights == "integer":
        repeated = np.repeat(X, w.astype(int), axis=0)
        assert_allclose(unbiased, np.var(repeated, axis=0, ddof=1), rtol=1e-12)


def test_unbiased_var_is_nan_where_weight_at_most_one():
    X = np.array(
        [
            [1.0, 1.0, np.nan, 1.0, np.nan],
            [2.0, np.nan, np.nan, 3.0, 7.0],
            [4.0, np.nan, np.nan, np.nan, 9.0],
        ]
    )
    w = np.array([1.0, 0.6, 0.3])
    unbiased = NUMPY.moments(X, w).unbiased_var
    # weights: 1.9, 1.0, 0.0, 1.6, 0.9
    mean0 = (1.0 + 0.6 * 2.0 + 0.3 * 4.0) / 1.9
    var0 = (
        (1.0 - mean0) ** 2 + 0.6 * (2.0 - mean0) ** 2 + 0.3 * (4.0 - mean0) ** 2
    ) / 0.9
    mean3 = (1.0 + 0.6 * 3.0) / 1.6
    var3 = ((1.0 - mean3) ** 2 + 0.6 * (3.0 - mean3) ** 2) / 0.6
    assert_allclose(unbiased, [var0, np.nan, np.nan, var3, np.nan], rtol=1e-13)


# ---------------------------------------------------------------------------
# exponential_moving_update (PyTorch BatchNorm rule)


@pytest.mark.parametrize("momentum", [0.1, 0.5, 1.0])
def test_exponential_moving_update_follows_pytorch_rule(rng, momentum):
    X = make_data(rng, n_samples=32)
    mean = rng.normal(size=4)
    var = rng.uniform(0.5, 2.0, size=4)
    new_mean, new_var = exponential_moving_update(mean, var, NUMPY.moments(X), momentum)
    expected_mean = (1 - momentum) * mean + momentum * X.mean(axis=0)
    expected_var = (1 - momentum) * var + momentum * np.var(X, axis=0, ddof=1)
    assert_allclose(new_mean, expected_mean, rtol=1e-13)
    assert_allclose(new_var, expected_var, rtol=1e-12)


@pytest.mark.parametrize("weights", ["float", "integer"])
def test_exponential_moving_update_uses_weighted_unbiased_variance(rng, weights):
    X = make_data(rng, n_samples=32)
    w = make_weights(rng, weights, X.shape[0])
    mean, var, momentum = rng.normal(size=4), rng.uniform(0.5, 2.0, size=4), 0.2
    new_mean, new_var = exponential_moving_update(
        mean, var, NUMPY.moments(X, w), momentum
    )
    batch_mean = np.average(X, axis=0, weights=w)
    batch_var = np.sum(w[:, None] * (X - batch_mean) ** 2, axis=0) / (w.sum() - 1)
    if weights == "integer":
        repeated = np.repeat(X, w.astype(int), axis=0)
        assert_allclose(batch_var, np.var(repeated, axis=0, ddof=1), rtol=1e-12)
    assert_allclose(new_mean, (1 - momentum) * mean + momentum * batch_mean, rtol=1e-13)
    assert_allclose(new_var, (1 - momentum) * var + momentum * batch_var, rtol=1e-12)


def test_exponential_moving_update_nan_running_var_is_set_by_batch(rng):
    """NaN running statistics mean "not started": the batch values are taken."""
    X = make_data(rng, n_samples=16, n_features=3)
    mean = np.array([np.nan, 1.0, np.nan])
    var = np.array([np.nan, 2.0, np.nan])
    new_mean, new_var = exponential_moving_update(mean, var, NUMPY.moments(X), 0.1)
    expected_mean = np.r_[
        X[:, 0].mean(), 0.9 * 1.0 + 0.1 * X[:, 1].mean(), X[:, 2].mean()
    ]
    unbiased = np.var(X, axis=0, ddof=1)
    expected_var = np.r_[unbiased[0], 0.9 * 2.0 + 0.1 * unbiased[1], unbiased[2]]
    assert_allclose(new_mean, expected_mean, rtol=1e-14)
    assert_allclose(new_var, expected_var, rtol=1e-13)


def test_exponential_moving_update_keeps_features_with_at_most_one_value(rng):
    X = make_data(rng, n_samples=10, n_features=4)
    X[1:, 1] = np.nan  # one observed value
    X[:, 2] = np.nan  # none
    X[1:, 3] = np.nan  # one observed value, and no running statistics yet
    mean = np.array([0.5, -3.0, 7.0, np.nan])
    var = np.array([1.5, 4.0, 0.25, np.nan])
    new_mean, new_var = exponential_moving_update(mean, var, NUMPY.moments(X), 0.3)
    assert_allclose(new_mean[0], 0.7 * 0.5 + 0.3 * X[:, 0].mean(), rtol=1e-14)
    assert_allclose(new_var[0], 0.7 * 1.5 + 0.3 * np.var(X[:, 0], ddof=1), rtol=1e-13)
    assert_array_equal(new_mean[1:], [-3.0, 7.0, np.nan])
    assert_array_equal(new_var[1:], [4.0, 0.25, np.nan])


def test_exponential_moving_update_keeps_features_with_weight_at_most_one(rng):
    X = make_data(rng, n_samples=6, n_features=2)
    X[3:, 1] = np.nan
    w = np.array([0.5, 0.25, 0.25, 1.0, 1.0, 1.0])  # feature 1 has weight 1.0
    mean, var = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    new_mean, new_var = exponential_moving_update(mean, var, NUMPY.moments(X, w), 0.5)
    batch_mean = np.average(X[:, 0], weights=w)
    batch_var = np.sum(w * (X[:, 0] - batch_mean) ** 2) / (w.sum() - 1)
    assert_allclose(new_mean, [0.5 + 0.5 * batch_mean, 2.0], rtol=1e-14)
    assert_allclose(new_var, [1.5 + 0.5 * batch_var, 4.0], rtol=1e-13)


def test_exponential_moving_update_does_not_modify_inputs(rng):
    X = with_nans(rng, make_data(rng, n_samples=20))
    batch = NUMPY.moments(X)
    mean = np.array([np.nan, 1.0, 2.0, 3.0])
    var = np.array([np.nan, 1.0, 0.5, 2.0])
    saved = [a.copy() for a in (mean, var, batch.weight, batch.mean, batch.m2)]
    for array in (mean, var, batch.weight, batch.mean, batch.m2):
        array.setflags(write=False)
    exponential_moving_update(mean, var, batch, 0.1)
    for array, before in zip(
        (mean, var, batch.weight, batch.mean, batch.m2), saved, strict=True
    ):
        assert_array_equal(array, before)


# ---------------------------------------------------------------------------
# scale_from_variance


@pytest.mark.parametrize("eps", [1e-5, 1e-3, 1.0])
def test_scale_from_variance_with_eps_is_sqrt_var_plus_eps(rng, eps):
    var = np.r_[0.0, 1e-30, rng.uniform(0.0, 10.0, size=5)]
    mean = rng.normal(size=7) * 1e3
    assert_allclose(scale_from_variance(var, mean, eps), np.sqrt(var + eps), rtol=1e-15)


def test_scale_from_variance_exact_zero_variance_is_one():
    var = np.array([0.0, 4.0, 0.0, 2.25])
    mean = np.array([3.0, 1.0, 1e9, -7.0])
    assert_array_equal(scale_from_variance(var, mean, 0.0), [1.0, 2.0, 1.0, 1.5])


@pytest.mark.parametrize("value", [14.62, 0.1, -3.3e-5, 1e9 + 0.3, 123456.789])
def test_scale_from_variance_constant_feature_is_one(value):
    """scikit-learn #17794: a constant column's computed variance may be tiny, not 0."""
    X = np.full((1000, 1), value)
    moments = NUMPY.moments(X)
    assert_array_equal(
        scale_from_variance(moments.var, moments.observed_mean, 0.0, std=moments.std),
        [1.0],
    )
    # numpy's own variance of the column, with its rounding residue, too
    var = np.array([np.var(X[:, 0])])
    mean = np.array([np.mean(X[:, 0])])
    assert_array_equal(scale_from_variance(var, mean, 0.0), [1.0])


def test_numpy_variance_of_14_62_column_is_not_exactly_zero():
    """The premise of the previous test: rounding leaves a nonzero variance."""
    assert np.var(np.full(1000, 14.62)) > 0


def test_scale_from_variance_tiny_but_real_variance_is_not_constant(rng):
    """scikit-learn #19726: data at 1e-13 scale has a real spread; keep its std."""
    X = 1e-13 * rng.normal(size=(1000, 1))
    moments = NUMPY.moments(X)
    scale = scale_from_variance(
        moments.var, moments.observed_mean, 0.0, std=moments.std
    )
    assert_allclose(scale, X.std(axis=0), rtol=1e-12)
    assert scale[0] < 1e-12


def test_scale_from_variance_small_variance_at_large_offset_is_not_constant(rng):
    """1e6 + N(0, 1e-4): relative spread 1e-10 is far above rounding level."""
    X = 1e6 + 1e-4 * rng.normal(size=(1000, 1))
    moments = NUMPY.moments(X)
    scale = scale_from_variance(
        moments.var, moments.observed_mean, 0.0, std=moments.std
    )
    _, var = fsum_mean_var(X)
    assert_allclose(scale, np.sqrt(var), rtol=1e-6)


# ---------------------------------------------------------------------------
# Extrema


def reference_extrema(X, sample_weight=None):
    """Per-feature min and max of the non-NaN values in rows of positive weight."""
    X = np.asarray(X, dtype=np.float64)
    if sample_weight is not None:
        X = X[np.asarray(sample_weight) > 0]
    lows, highs = [], []
    for column in X.T:
        seen = column[~np.isnan(column)]
        lows.append(seen.min() if seen.size else np.nan)
        highs.append(seen.max() if seen.size else np.nan)
    return np.array(lows), np.array(highs)


def assert_extrema_equal(extrema, low, high):
    assert extrema.min.dtype == np.float64
    assert extrema.max.dtype == np.float64
    assert_array_equal(extrema.min, low)
    assert_array_equal(extrema.max, high)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_extrema_from_batch_matches_numpy_min_max(rng, dtype):
    X = make_data(rng).astype(dtype)
    extrema = NUMPY.extrema(X)
    # float32 extrema are exact in float64: no rounding anywhere.
    assert_extrema_equal(
        extrema,
        X.min(axis=0).astype(np.float64),
        X.max(axis=0).astype(np.float64),
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_extrema_from_batch_with_nan_matches_nanmin_nanmax(rng, dtype):
    X = with_nans(rng, make_data(rng), fraction=0.4).astype(dtype)
    assert np.isnan(X).any()
    extrema = NUMPY.extrema(X)
    assert_extrema_equal(
        extrema,
        np.nanmin(X, axis=0).astype(np.float64),
        np.nanmax(X, axis=0).astype(np.float64),
    )
    assert_extrema_equal(extrema, *reference_extrema(X))


def test_extrema_of_all_nan_feature_is_nan(rng):
    X = make_data(rng, n_samples=10, n_features=3)
    X[:, 0] = np.nan
    X[1:, 2] = np.nan  # a single observed value is both the min and the max
    extrema = NUMPY.extrema(X)
    assert_array_equal(extrema.min, [np.nan, X[:, 1].min(), X[0, 2]])
    assert_array_equal(extrema.max, [np.nan, X[:, 1].max(), X[0, 2]])


def test_extrema_zero_weight_rows_are_absent(rng):
    X = make_data(rng, n_samples=30)
    w = rng.uniform(0.5, 2.0, size=30)
    absent = np.array([0, 4, 5, 29])
    w[absent] = 0.0
    X[absent[:2]] = 1e8
    X[absent[2:]] = -1e8
    X[np.flatnonzero(w > 0)[:3], 1] = np.nan
    extrema = NUMPY.extrema(X, w)
    kept = np.delete(X, absent, axis=0)
    assert_extrema_equal(extrema, np.nanmin(kept, axis=0), np.nanmax(kept, axis=0))


def test_extrema_positive_weights_do_not_matter(rng):
    X = with_nans(rng, make_data(rng))
    w = rng.uniform(1e-3, 1e3, size=X.shape[0])
    unweighted = NUMPY.extrema(X)
    assert_extrema_equal(NUMPY.extrema(X, w), unweighted.min, unweighted.max)
    assert_extrema_equal(unweighted, *reference_extrema(X))


def test_extrema_feature_observed_only_in_zero_weight_rows_is_nan(rng):
    X = make_data(rng, n_samples=10, n_features=2)
    w = np.r_[np.zeros(4), np.ones(6)]
    X[4:, 0] = np.nan
    extrema = NUMPY.extrema(X, w)
    assert_array_equal(extrema.min, [np.nan, X[4:, 1].min()])
    assert_array_equal(extrema.max, [np.nan, X[4:, 1].max()])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
def test_extrema_over_several_blocks_is_exact(rng, dtype, weighted):
    n_features = 20
    block = block_rows(np.empty((1, n_features)))
    n_samples = 6 * block + 17  # seven blocks, the last one short
    X = rng.uniform(-1.0, 1.0, size=(n_samples, n_features))
    X[rng.random(X.shape) < 0.1] = np.nan
    # Each feature's extremes sit in a different block, several of them on
    # the rows either side of a block boundary.
    for j in range(n_features):
        corner = [block - 1, block, 3 * block, n_samples - 1][j % 4]
        low_row = (corner + j // 4) % n_samples
        high_row = (low_row + (j % 7 + 1) * block) % n_samples
        X[low_row, j] = -10.0 - j
        X[high_row, j] = 10.0 + j
    X[: 6 * block, -3] = np.nan  # observed in the short last block only
    X[block:, -2] = np.nan  # observed in the first block only
    X[:, -1] = np.nan
    X = X.astype(dtype)
    w = None
    if weighted:
        w = rng.uniform(0.5, 2.0, size=n_samples)
        w[rng.random(n_samples) < 0.2] = 0.0
    extrema = NUMPY.extrema(X, w)
    low, high = reference_extrema(X, w)
    assert np.isnan(low[-1]) and not np.isnan(low[:-1]).any()
    assert_extrema_equal(extrema, low, high)
    if not weighted:
        for j in range(n_features - 3):
            assert extrema.min[j] == np.float64(dtype(-10.0 - j))
            assert extrema.max[j] == np.float64(dtype(10.0 + j))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_extrema_merge_equals_from_batch_of_concatenation(seed):
    rng = np.random.default_rng(seed)
    X = with_nans(rng, make_data(rng, n_samples=200), fraction=0.3)
    X[:50, 1] = np.nan  # unobserved on one side of some splits
    X[:, 3] = np.nan
    low, high = reference_extrema(X)
    for _ in range(10):
        cut = int(rng.integers(1, X.shape[0]))
        merged = NUMPY.extrema(X[:cut]).merge(NUMPY.extrema(X[cut:]))
        assert_extrema_equal(merged, low, high)
        reversed_order = NUMPY.extrema(X[cut:]).merge(NUMPY.extrema(X[:cut]))
        assert_extrema_equal(reversed_order, low, high)
    cuts = np.sort(rng.choice(np.arange(1, X.shape[0]), size=30, replace=False))
    bounds = np.r_[0, cuts, X.shape[0]]
    parts = [
        NUMPY.extrema(X[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    assert_extrema_equal(merge_pairwise(parts), low, high)
    running = parts[0]
    for part in parts[1:]:
        running = running.merge(part)
    assert_extrema_equal(running, low, high)


def test_extrema_merge_with_weights_equals_from_batch_of_concatenation(rng):
    X = with_nans(rng, make_data(rng, n_samples=60))
    w = rng.integers(0, 3, size=60).astype(np.float64)
    merged = NUMPY.extrema(X[:25], w[:25]).merge(NUMPY.extrema(X[25:], w[25:]))
    assert_extrema_equal(merged, *reference_extrema(X, w))


def test_extrema_merge_does_not_modify_operands(rng):
    X = with_nans(rng, make_data(rng))
    X[:20, 2] = np.nan
    a = NUMPY.extrema(X[:20])
    b = NUMPY.extrema(X[20:])
    before = [(e.min.copy(), e.max.copy()) for e in (a, b)]
    for e in (a, b):
        e.min.setflags(write=False)
        e.max.setflags(write=False)
    a.merge(b)
    b.merge(a)
    merge_pairwise([a, b, a])
    for e, (low, high) in zip((a, b), before, strict=True):
        assert_array_equal(e.min, low)
        assert_array_equal(e.max, high)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_extrema_from_batch_does_not_modify_read_only_input(rng, dtype):
    X = with_nans(rng, make_data(rng, n_samples=20_000)).astype(dtype)
    w = rng.uniform(0.0, 2.0, size=X.shape[0])
    X_before, w_before = X.copy(), w.copy()
    X.setflags(write=False)
    w.setflags(write=False)
    assert_extrema_equal(NUMPY.extrema(X, w), *reference_extrema(X_before, w))
    assert_extrema_equal(NUMPY.extrema(X), *reference_extrema(X_before))
    assert_array_equal(X, X_before)
    assert_array_equal(w, w_before)


def test_extrema_is_frozen(rng):
    extrema = NUMPY.extrema(make_data(rng))
    with pytest.raises(dataclasses.FrozenInstanceError):
        extrema.min = np.zeros(4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        extrema.max = np.zeros(4)


@pytest.mark.parametrize(
    "weights", [None, np.zeros(4)], ids=["no rows", "all weights zero"]
)
def test_extrema_of_an_empty_batch_observe_nothing(weights):
    X = np.ones((4, 3)) if weights is not None else np.empty((0, 3))
    empty = NUMPY.extrema(X, weights)
    assert np.isnan(empty.min).all() and np.isnan(empty.max).all()
    # merging an empty batch leaves the other batch's extrema as they were
    other = Extrema(min=np.array([-1.0, 0.0, 2.0]), max=np.array([1.0, 5.0, 2.0]))
    for merged in (empty.merge(other), other.merge(empty)):
        assert_array_equal(merged.min, other.min)
        assert_array_equal(merged.max, other.max)


# ---------------------------------------------------------------------------
# Scatter: weighted mean and centred scatter matrix of complete rows


def reference_scatter(X, sample_weight=None):
    """(weight, mean, matrix) of the rows, by np.average and np.cov."""
    X = np.asarray(X, dtype=np.float64)
    w = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight)
    weight = w.sum()
    mean = np.average(X, axis=0, weights=w)
    covariance = np.cov(X.T, ddof=0, aweights=w).reshape(X.shape[1], X.shape[1])
    return weight, mean, covariance * weight


def assert_scatter_match(scatter, weight, mean, matrix, rtol=1e-12):
    """Compare to a reference; entries are judged against the largest one,
    since off-diagonal entries near 0 have no relative accuracy to speak of."""
    scale = np.abs(matrix).max()
    # A Python number: the number of rows (an int) without weights.
    assert isinstance(scatter.weight, (int, float))
    assert scatter.mean.dtype == np.float64
    assert scatter.matrix.dtype == np.float64
    assert scatter.matrix.shape == matrix.shape
    assert_allclose(scatter.weight, weight, rtol=1e-14)
    absolute = scatter.about(0.0).mean
    assert_allclose(absolute, mean, rtol=rtol, atol=rtol * np.abs(mean).max())
    assert_allclose(scatter.matrix, matrix, rtol=rtol, atol=rtol * scale)
    assert_allclose(
        scatter.covariance, matrix / weight, rtol=rtol, atol=rtol * scale / weight
    )


def correlated_data(rng, n_samples=80, n_features=4, offset=None):
    """Rows with correlated features of different location and scale."""
    mixing = rng.normal(size=(n_features, n_features)) + 2.0 * np.eye(n_features)
    if offset is None:
        offset = rng.normal(scale=100.0, size=n_features)
    return rng.normal(size=(n_samples, n_features)) @ mixing + offset


def scatter_splits(X, sample_weight, bounds):
    return [
        NUMPY.scatter(X[a:b], None if sample_weight is None else sample_weight[a:b])
        for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    ]


def random_bounds(rng, n_samples, n_cuts):
    cuts = np.sort(rng.choice(np.arange(1, n_samples), size=n_cuts, replace=False))
    return np.r_[0, cuts, n_samples]


def sequential_merge(parts):
    running = parts[0]
    for part in parts[1:]:
        running = running.merge(part)
    return running


def fsum_covariance(Y):
    """Mean and population covariance, summed exactly by math.fsum."""
    n_samples, n_features = Y.shape
    mean = np.array([math.fsum(column) / n_samples for column in Y.T])
    centred = Y - mean
    return mean, np.array(
        [
            [
                math.fsum(centred[:, i] * centred[:, j]) / n_samples
                for j in range(n_features)
            ]
            for i in range(n_features)
        ]
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weights", [None, "float", "integer"])
def test_scatter_from_batch_matches_numpy_mean_and_covariance(rng, dtype, weights):
    X = correlated_data(rng).astype(dtype)
    w = make_weights(rng, weights, X.shape[0])
    scatter = NUMPY.scatter(X, w)
    # float32 input: float64 statistics of the float32 values.
    X64 = X.astype(np.float64)
    assert_scatter_match(scatter, *reference_scatter(X64, w))
    wr = np.ones(X.shape[0]) if w is None else w
    mean = np.sum(wr[:, None] * X64, axis=0) / wr.sum()
    centred = X64 - mean
    explicit = sum(wi * np.outer(row, row) for wi, row in zip(wr, centred, strict=True))
    assert_allclose(scatter.matrix, explicit, rtol=1e-12, atol=1e-12 * explicit.max())
    assert_allclose(
        scatter.covariance,
        np.cov(X64.T, ddof=0, aweights=wr),
        rtol=1e-12,
        atol=1e-12 * explicit.max() / wr.sum(),
    )


def test_scatter_integer_weights_equal_repeated_rows(rng):
    X = correlated_data(rng, n_samples=40)
    w = rng.integers(0, 4, size=X.shape[0])
    repeated = np.repeat(X, w, axis=0)
    scatter = NUMPY.scatter(X, w.astype(np.float64))
    assert scatter.weight == w.sum()
    assert_allclose(scatter.full_mean, repeated.mean(axis=0), rtol=1e-13)
    assert_allclose(
        scatter.covariance,
        np.cov(repeated.T, ddof=0),
        rtol=1e-12,
        atol=1e-12 * np.abs(scatter.covariance).max(),
    )


def test_scatter_zero_weight_rows_count_as_absent(rng):
    X = correlated_data(rng)
    w = rng.uniform(0.5, 2.0, size=X.shape[0])
    absent = rng.random(X.shape[0]) < 0.3
    w[absent] = 0.0
    X[absent] = 1e8
    scatter = NUMPY.scatter(X, w)
    assert_scatter_match(scatter, *reference_scatter(X[~absent], w[~absent]))


@pytest.mark.parametrize("weights", [None, "float"])
def test_scatter_about_origin_measures_the_mean_from_it(rng, weights):
    X = correlated_data(rng, offset=np.array([1.0, -50.0, 300.0, 7.0]))
    w = make_weights(rng, weights, X.shape[0])
    origin = np.array([1.5, -49.0, 310.0, 0.0])
    weight, mean, matrix = reference_scatter(X, w)
    scatter = NUMPY.scatter(X, w, origin=origin)
    assert_scatter_match(scatter, weight, mean, matrix)
    assert_array_equal(scatter.origin, origin)
    assert_allclose(scatter.mean, mean - origin, rtol=1e-13)
    # Measuring from another origin moves the mean only.
    moved = scatter.about(origin + [1.0, 2.0, 3.0, 4.0])
    assert_allclose(moved.mean, mean - origin - [1.0, 2.0, 3.0, 4.0], rtol=1e-13)
    assert moved.weight == scatter.weight
    assert_array_equal(moved.matrix, scatter.matrix)


def test_scatter_matrix_is_symmetric_positive_semidefinite(rng):
    # one block: its scatter is symmetrized explicitly
    X = correlated_data(rng, n_samples=200, n_features=6)
    scatter = NUMPY.scatter(X, rng.uniform(0.0, 2.0, size=200))
    assert_array_equal(scatter.matrix, scatter.matrix.T)
    assert np.linalg.eigvalsh(scatter.matrix).min() > 0


@pytest.mark.parametrize("source", ["several blocks", "merge", "merge_pairwise"])
def test_scatter_matrix_stays_exactly_symmetric(rng, source):
    """A scatter matrix is symmetric by definition, and a single block is kept
    exactly so; combining blocks should not bring back rounding asymmetry."""
    n_features = 600
    rows = scatter_blocking(np.empty((1, n_features)))[0]
    X = correlated_data(rng, n_samples=3 * rows + 11, n_features=n_features)
    if source == "several blocks":
        scatter = NUMPY.scatter(X)
    elif source == "merge":
        scatter = NUMPY.scatter(X[:50]).merge(NUMPY.scatter(X[50:120]))
    else:
        scatter = merge_pairwise(scatter_splits(X, None, [0, 30, 70, 100, 160]))
    assert_array_equal(scatter.matrix, scatter.matrix.T)


def test_scatter_far_from_zero_keeps_covariance(rng):
    """1e6 + correlated N(0, 1): covariance to ~1e-12 relative, over several blocks.

    x - 1e6 is exact here (Sterbenz), so the reference is summed exactly on
    data near 0; E[x x'] - E[x] E[x]' would lose about 12 digits.
    """
    offset = 1e6
    mixing = np.array([[1.0, 0.6, -0.3], [0.0, 0.8, 0.5], [0.0, 0.0, 0.4]])
    n_samples = 3 * block_rows(np.empty((1, 3))) + 123
    X = offset + rng.normal(size=(n_samples, 3)) @ mixing
    Y = X - offset
    assert_array_equal(Y + offset, X)
    scatter = NUMPY.scatter(X)
    ref_mean, ref_cov = fsum_covariance(Y)
    assert_allclose(ref_cov, mixing.T @ mixing, rtol=0.05, atol=0.02)
    assert scatter.weight == n_samples
    assert_allclose(scatter.full_mean, offset + ref_mean, rtol=1e-15)
    assert_allclose(scatter.covariance, ref_cov, rtol=1e-12, atol=1e-12 * ref_cov.max())
    # The same data streamed in chunks about a common origin.
    origin = reference_point(X[:1000])
    chunks = (
        NUMPY.scatter(X[start : start + 1000], origin=origin)
        for start in range(0, n_samples, 1000)
    )
    streamed = merge_pairwise(chunks)
    assert_array_equal(streamed.origin, origin)
    assert_allclose(streamed.mean + origin, offset + ref_mean, rtol=1e-15)
    assert_allclose(
        streamed.covariance, ref_cov, rtol=1e-12, atol=1e-12 * ref_cov.max()
    )


@pytest.mark.parametrize(
    ("offset", "n_samples", "rtol"),
    [(1e12, 20_000, 1e-13), (1e9, 200_000, 1e-9)],
    ids=["one block", "several blocks"],
)
def test_scatter_about_a_far_origin_keeps_covariance(rng, offset, n_samples, rtol):
    """An origin far from the data, as when a stream drifts away from where it
    started: each block's own centring, its residual correction and the
    refined block means keep the covariance.

    Within one block the computed mean is off by many ulps of the offset and
    only the residual correction removes the square of that error; across
    blocks, means of 1e9-sized data are representable to ~6e-8 only, so
    merging loses ~1e-10 of the covariance unavoidably (see the Moments test).
    """
    mixing = np.array([[1.0, 0.6, -0.3], [0.0, 0.8, 0.5], [0.0, 0.0, 0.4]])
    X = offset + rng.normal(size=(n_samples, 3)) @ mixing
    assert (n_samples > block_rows(X)) == (n_samples == 200_000)
    mean, covariance = fsum_covariance(X - offset)
    scatter = NUMPY.scatter(X, origin=np.zeros(3))
    assert_array_equal(scatter.origin, np.zeros(3))
    assert scatter.weight == n_samples
    assert_allclose(scatter.mean, offset + mean, rtol=1e-15)
    assert_allclose(
        scatter.covariance, covariance, rtol=rtol, atol=rtol * covariance.max()
    )


@pytest.mark.parametrize("offset_in_sd", [0.7, 1.5, 1e6])
def test_scatter_of_blocks_off_the_origin_keeps_covariance(rng, offset_in_sd):
    """A block whose mean lies within a standard deviation of the origin is
    summed about the origin, its mean removed afterwards; one further out is
    centred on its own mean first. Both keep the covariance to ~1e-13.

    The data is 3 + N(0, 1) / 1000, so x - 3 is exact (Sterbenz) and the
    reference sums exactly on data near 0.
    """
    sd = 1e-3
    n_samples = 2 * scatter_blocking(np.empty((1, 2)))[0] + 77
    mixing = np.array([[1.0, 0.5], [0.0, 0.8]]) * sd
    X = 3.0 + rng.normal(size=(n_samples, 2)) @ mixing
    Y = X - 3.0
    assert_array_equal(Y + 3.0, X)
    mean, covariance = fsum_covariance(Y)
    origin = 3.0 + mean - offset_in_sd * np.sqrt(np.diag(covariance))
    scatter = NUMPY.scatter(X, origin=origin)
    assert_array_equal(scatter.origin, origin)
    # A mean measured from a far origin keeps the absolute precision of the
    # distance between them, no more.
    ulps = 4 * np.finfo(np.float64).eps * (np.abs(3.0 + mean - origin) + 3.0)
    assert_allclose(scatter.mean + origin, 3.0 + mean, rtol=0, atol=ulps.max())
    assert_allclose(
        scatter.covariance, covariance, rtol=1e-13, atol=1e-13 * covariance.max()
    )


def blockwise_data(rng, n_features, n_blocks):
    """Several blocks of rows, each of its own location, scale and correlation,
    the last one short, so that merging the blocks has real work to do."""
    rows = scatter_blocking(np.empty((1, n_features)))[0]
    sizes = [rows] * (n_blocks - 1) + [rows // 3 + 1]
    blocks = [
        correlated_data(
            rng,
            n_samples=size,
            n_features=n_features,
            offset=rng.normal(scale=10.0 * (k + 1), size=n_features),
        )
        * rng.uniform(0.5, 4.0)
        for k, size in enumerate(sizes)
    ]
    return np.vstack(blocks), rows


@pytest.mark.parametrize(
    "n_features", [8, 600], ids=["tall blocks", "minimum block rows"]
)
@pytest.mark.parametrize("weights", [None, "float", "zero blocks"])
def test_scatter_over_several_blocks_matches_numpy(rng, n_features, weights):
    X, rows = blockwise_data(rng, n_features, n_blocks=4)
    assert X.shape[0] > 3 * rows and X.shape[0] % rows != 0
    w = None
    if weights is not None:
        w = rng.uniform(0.0, 3.0, size=X.shape[0])
        if weights == "zero blocks":
            # a first block without weight gives no reference point to start from
            w[:rows] = 0.0
            w[2 * rows : 3 * rows] = 0.0
    scatter = NUMPY.scatter(X, w)
    assert_scatter_match(scatter, *reference_scatter(X, w))


def test_scatter_blocks_are_taller_in_large_batches():
    # 8 features: ordinary blocks of 32768 rows; 600: of 384, too short.
    assert scatter_blocking(np.empty((16 * 32768 - 1, 8))) == (32768, 1)
    assert scatter_blocking(np.empty((16 * 32768, 8))) == (4 * 32768, 4)
    assert scatter_blocking(np.empty((10, 600))) == (_MIN_SCATTER_ROWS, 1)
    assert scatter_blocking(np.empty((10**6, 600))) == (_MIN_SCATTER_ROWS, 4)


def test_scatter_from_batch_cuts_rows_into_blocks(rng, monkeypatch):
    """Blocks of scatter_blocking's rows, the last one short: the tests over
    several blocks above do exercise the merges. (Threads may take the
    blocks in any order.)"""
    sizes = []
    cut = skbn._numpy_stats._block_scatter

    def recording(X, *args):
        sizes.append(X.shape[0])
        return cut(X, *args)

    monkeypatch.setattr(skbn._numpy_stats, "_block_scatter", recording)
    for n_features, rows in [(8, 32768), (600, _MIN_SCATTER_ROWS)]:
        assert rows == scatter_blocking(np.empty((1, n_features)))[0]
        X = correlated_data(rng, n_samples=3 * rows + 5, n_features=n_features)
        sizes.clear()
        NUMPY.scatter(X)
        assert sorted(sizes) == [5, rows, rows, rows]
        sizes.clear()
        NUMPY.scatter(X[:rows], origin=X[0])
        assert sizes == [rows]
    sizes.clear()
    NUMPY.scatter(np.empty((0, 3)))
    assert sizes == [0]


def test_scatter_of_wide_data_over_several_blocks():
    """262144 // 1000 = 262 rows would make merges as costly as the blocks; the
    result must not depend on how the rows are cut anyway."""
    rng = np.random.default_rng(3)
    X = correlated_data(rng, n_samples=2 * _MIN_SCATTER_ROWS + 5, n_features=1000)
    assert_scatter_match(NUMPY.scatter(X), *reference_scatter(X))


def test_scatter_of_single_rows_merged_one_by_one(rng):
    """One row has no spread; merged row by row, as partial_fit does with
    one-row batches, the rows give the covariance of the whole."""
    X = correlated_data(rng, n_samples=30, n_features=3)
    single = NUMPY.scatter(X[:1])
    assert single.weight == 1.0
    assert_allclose(single.full_mean, X[0], rtol=1e-15)
    assert_array_equal(single.matrix, np.zeros((3, 3)))
    origin = X[0]
    running = NUMPY.scatter(X[:1], origin=origin)
    for row in X[1:]:
        running = running.merge(NUMPY.scatter(row[None, :], origin=origin))
    weight, mean, matrix = reference_scatter(X)
    assert_scatter_match(running.about(0.0), weight, mean, matrix)


def test_block_rows_is_about_256k_values_in_multiples_of_128():
    assert block_rows(np.empty((10, 1))) == 262144
    assert block_rows(np.empty((10, 5))) == 52352
    assert block_rows(np.empty((10, 2000))) == 128
    assert block_rows(np.empty((10, 3000))) == 87
    assert block_rows(np.empty((10, 40000))) == 6
    assert block_rows(np.empty((10, 262144))) == 1
    assert block_rows(np.empty((10, 300_000))) == 1
    assert block_rows(np.empty((0, 0))) == 262144


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("weights", [None, "float"])
def test_scatter_merge_equals_from_batch_of_concatenation(seed, weights):
    rng = np.random.default_rng(seed)
    X = correlated_data(rng, n_samples=120, n_features=5)
    w = make_weights(rng, weights, X.shape[0])
    reference = reference_scatter(X, w)
    whole = NUMPY.scatter(X, w)
    for _ in range(10):
        cut = int(rng.integers(1, X.shape[0]))
        left, right = scatter_splits(X, w, [0, cut, X.shape[0]])
        for merged in (left.merge(right), right.merge(left)):
            assert_scatter_match(merged, *reference)
            assert_allclose(
                merged.matrix,
                whole.matrix,
                rtol=1e-12,
                atol=1e-12 * np.abs(whole.matrix).max(),
            )


def test_scatter_merge_of_batches_far_apart(rng):
    """Two batches whose means differ by far more than their spread."""
    a = correlated_data(rng, n_samples=30, n_features=3, offset=np.zeros(3))
    b = correlated_data(rng, n_samples=50, n_features=3, offset=np.full(3, 1e4))
    merged = NUMPY.scatter(a).merge(NUMPY.scatter(b))
    assert_scatter_match(merged, *reference_scatter(np.vstack([a, b])))


@pytest.mark.parametrize(
    "weights", [None, np.zeros(4)], ids=["no rows", "all weights zero"]
)
@pytest.mark.parametrize("origin", [None, np.array([1.0, -2.0, 3.0])])
def test_scatter_of_an_empty_batch_is_zero(weights, origin):
    X = np.empty((0, 3)) if weights is None else np.full((4, 3), 5.0)
    empty = NUMPY.scatter(X, weights, origin=origin)
    assert empty.weight == 0.0
    assert_array_equal(empty.mean, np.zeros(3))
    assert_array_equal(empty.matrix, np.zeros((3, 3)))


@pytest.mark.parametrize("origin", [None, np.array([1.0, -2.0, 3.0])])
def test_scatter_merge_with_empty_is_the_identity(rng, origin):
    X = correlated_data(rng, n_samples=25, n_features=3)
    scatter = NUMPY.scatter(X, origin=origin)
    for empty in (
        NUMPY.scatter(np.empty((0, 3)), origin=origin),
        NUMPY.scatter(X[:5], np.zeros(5), origin=origin),
    ):
        for merged in (empty.merge(scatter), scatter.merge(empty)):
            assert merged.weight == scatter.weight
            assert_array_equal(merged.mean, scatter.mean)
            assert_array_equal(merged.matrix, scatter.matrix)
    both = NUMPY.scatter(np.empty((0, 3))).merge(NUMPY.scatter(np.empty((0, 3))))
    assert both.weight == 0.0
    assert_array_equal(both.mean, np.zeros(3))
    assert_array_equal(both.matrix, np.zeros((3, 3)))


def test_scatter_merge_does_not_modify_operands(rng):
    X = correlated_data(rng, n_samples=60)
    a = NUMPY.scatter(X[:20])
    b = NUMPY.scatter(X[20:], rng.uniform(0.0, 2.0, size=40))
    before = [
        (s.weight, s.mean.copy(), s.covariance.copy(), s.origin.copy()) for s in (a, b)
    ]
    for s in (a, b):
        for array in (s.mean, s.covariance, s.origin):
            array.setflags(write=False)
    a.merge(b)
    b.merge(a)
    merge_pairwise([a, b, a])
    merge_pairwise(iter([b, a, b, a]))
    a.about(np.ones(4))
    for s, (weight, mean, covariance, origin) in zip((a, b), before, strict=True):
        assert s.weight == weight
        assert_array_equal(s.mean, mean)
        assert_array_equal(s.covariance, covariance)
        assert_array_equal(s.origin, origin)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_scatter_from_batch_does_not_modify_read_only_input(rng, dtype):
    X = correlated_data(rng, n_samples=3 * _MIN_SCATTER_ROWS, n_features=300)
    X = X.astype(dtype)
    w = rng.uniform(0.0, 2.0, size=X.shape[0])
    X_before, w_before = X.copy(), w.copy()
    X.setflags(write=False)
    w.setflags(write=False)
    origin = X_before[0].astype(np.float64)
    reference = reference_scatter(X_before, w_before)
    assert_scatter_match(NUMPY.scatter(X, w), *reference, rtol=1e-11)
    NUMPY.scatter(X, origin=origin)
    assert_array_equal(X, X_before)
    assert_array_equal(w, w_before)


def test_scatter_is_frozen(rng):
    scatter = NUMPY.scatter(correlated_data(rng))
    fields = [
        ("weight", 1.0),
        ("mean", np.zeros(4)),
        ("covariance", np.zeros((4, 4))),
        ("origin", np.zeros(4)),
    ]
    for name, value in fields:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(scatter, name, value)


# Exact rational arithmetic on small integer data.


def fraction_scatter(rows, weights):
    """(weight, mean, matrix) as Fractions, from integer rows and weights."""
    n_features = len(rows[0])
    weight = sum(weights, Fraction(0))
    mean = [
        sum((w * row[j] for row, w in zip(rows, weights, strict=True)), Fraction(0))
        / weight
        for j in range(n_features)
    ]
    matrix = [
        [
            sum(
                (
                    w * (row[i] - mean[i]) * (row[j] - mean[j])
                    for row, w in zip(rows, weights, strict=True)
                ),
                Fraction(0),
            )
            for j in range(n_features)
        ]
        for i in range(n_features)
    ]
    return weight, mean, matrix


def as_floats(values):
    return np.array(values, dtype=object).astype(np.float64)


@pytest.mark.parametrize("weighted", [False, True])
def test_scatter_is_exact_on_dyadic_data(weighted):
    """8 rows of small integers, dyadic weights summing to a power of 2: every
    intermediate value is representable, so the float result must be exact."""
    rng = np.random.default_rng(7)
    X = rng.integers(-6, 7, size=(8, 3)).astype(np.float64)
    if weighted:
        w = np.array([0.5, 1.5, 1.0, 1.0, 0.25, 0.75, 2.0, 1.0])
        fractions = [Fraction(x) for x in w]
    else:
        w, fractions = None, [Fraction(1)] * 8
    rows = [[Fraction(int(x)) for x in row] for row in X]
    weight, mean, matrix = fraction_scatter(rows, fractions)
    assert all(m.denominator & (m.denominator - 1) == 0 for m in mean)
    expected = (float(weight), as_floats(mean), as_floats(matrix))
    halves = (
        NUMPY.scatter(X[:4], None if w is None else w[:4]),
        NUMPY.scatter(X[4:], None if w is None else w[4:]),
    )
    if weighted:
        assert halves[0].weight == halves[1].weight
    for scatter in (NUMPY.scatter(X, w), halves[0].merge(halves[1])):
        assert scatter.weight == expected[0]
        assert_array_equal(scatter.full_mean, expected[1])
        assert_array_equal(scatter.matrix, expected[2])


@pytest.mark.parametrize("weighted", [False, True])
def test_scatter_matches_exact_rational_arithmetic(weighted):
    """Means that are not representable: correct to rounding, for one batch
    and for merges of uneven parts."""
    rng = np.random.default_rng(11)
    X = rng.integers(-20, 21, size=(37, 4)).astype(np.float64)
    X[:, 3] = 3 * X[:, 0] - X[:, 1] + 1  # an exact linear dependence
    w_int = rng.integers(1, 6, size=37) if weighted else np.ones(37, dtype=int)
    rows = [[Fraction(int(x)) for x in row] for row in X]
    weight, mean, matrix = fraction_scatter(rows, [Fraction(int(v)) for v in w_int])
    mean, matrix = as_floats(mean), as_floats(matrix)
    w = w_int.astype(np.float64) if weighted else None
    scale = np.abs(matrix).max()
    for scatter in (
        NUMPY.scatter(X, w),
        sequential_merge(scatter_splits(X, w, [0, 3, 4, 20, 37])),
        merge_pairwise(scatter_splits(X, w, [0, 1, 2, 9, 30, 37])),
    ):
        assert scatter.weight == float(weight)
        assert_allclose(scatter.full_mean, mean, rtol=4e-16, atol=4e-16 * 20)
        assert_allclose(scatter.matrix, matrix, rtol=1e-15, atol=1e-15 * scale)


# ---------------------------------------------------------------------------
# merge_pairwise on an iterable


@pytest.mark.parametrize("n_parts", range(1, 18))
def test_merge_pairwise_equals_sequential_merge(rng, n_parts):
    X = correlated_data(rng, n_samples=200, n_features=4)
    w = rng.uniform(0.0, 2.0, size=X.shape[0])
    bounds = random_bounds(rng, X.shape[0], n_parts - 1)
    parts = scatter_splits(X, w, bounds)
    assert len(parts) == n_parts
    from_list = merge_pairwise(parts)
    from_generator = merge_pairwise(part for part in parts)
    assert from_generator.weight == from_list.weight
    assert_array_equal(from_generator.mean, from_list.mean)
    assert_array_equal(from_generator.matrix, from_list.matrix)
    sequential = sequential_merge(parts)
    assert_allclose(from_list.weight, sequential.weight, rtol=1e-14)
    assert_allclose(from_list.mean, sequential.mean, rtol=1e-13)
    assert_allclose(
        from_list.matrix,
        sequential.matrix,
        rtol=1e-12,
        atol=1e-12 * np.abs(sequential.matrix).max(),
    )
    assert_scatter_match(from_list, *reference_scatter(X, w))


def test_merge_pairwise_of_moments_from_a_generator(rng):
    X = with_nans(rng, make_data(rng, n_samples=300))
    bounds = random_bounds(rng, X.shape[0], 12)
    merged = merge_pairwise(
        NUMPY.moments(X[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    )
    assert_moments_match(merged, *reference_moments(X))


@pytest.mark.parametrize(
    "parts", [[], (), iter([]), (x for x in [])], ids=["list", "tuple", "iter", "gen"]
)
def test_merge_pairwise_of_nothing_raises(parts):
    with pytest.raises(ValueError, match="at least one"):
        merge_pairwise(parts)


class Tracked:
    """A statistic recording what it holds, in order, and its merge depth."""

    alive = 0

    def __init__(self, items, depth=0):
        self.items = items
        self.depth = depth
        Tracked.alive += 1

    def __del__(self):
        Tracked.alive -= 1

    def merge(self, other):
        return Tracked(self.items + other.items, max(self.depth, other.depth) + 1)


@pytest.mark.parametrize("n_parts", [1, 2, 3, 5, 7, 8, 9, 16, 17, 100])
def test_merge_pairwise_keeps_order_and_a_balanced_tree(n_parts):
    merged = merge_pairwise(Tracked((k,)) for k in range(n_parts))
    assert merged.items == tuple(range(n_parts))
    assert merged.depth == math.ceil(math.log2(n_parts))


def test_merge_pairwise_consumes_a_generator_lazily():
    """Parts are pulled one at a time, and only about log2(pulled) partial
    merges are alive at each pull: a stream of scatter matrices never has to
    be held at once."""
    Tracked.alive = 0
    alive_at_pull = []

    def parts(n):
        for k in range(n):
            alive_at_pull.append(Tracked.alive)
            yield Tracked((k,))

    n_parts = 100
    merged = merge_pairwise(parts(n_parts))
    assert merged.items == tuple(range(n_parts))
    assert len(alive_at_pull) == n_parts
    for pulled, alive in enumerate(alive_at_pull):
        # the partial merges of `pulled` parts: one per set bit of their count
        assert alive <= max(1, pulled.bit_length()), (pulled, alive)
        assert alive == bin(pulled).count("1"), (pulled, alive)
    del merged
    assert Tracked.alive == 0


# ---------------------------------------------------------------------------
# Origins near the data: features missing at first, chunks with origins of
# their own, and magnitudes whose squares leave float64's range.


def fsum_weighted_var(x, w):
    """Weighted population variance of one column, summed exactly by math.fsum."""
    weight = math.fsum(w)
    mean = math.fsum(w * x) / weight
    return math.fsum(w * (x - mean) ** 2) / weight


@pytest.mark.parametrize("start", ["all NaN", "zero weights"])
def test_feature_missing_from_the_first_batch_streams_about_its_own_data(rng, start):
    """A feature that the first batch does not observe (NaN, or only in rows
    of weight 0, here at a wild value) takes its origin from the first batch
    that does; later chunks of 1e9 + N(0, 1) are measured from it."""
    X = np.c_[1e9 + rng.normal(size=100_000), 5.0 + rng.normal(size=100_000)]
    if start == "all NaN":
        first = NUMPY.moments(np.array([[np.nan, 5.5], [np.nan, 4.5]]))
        head = np.array([5.5, 4.5])
    else:
        block = np.c_[np.full(1000, -1e15), 5.0 + rng.normal(size=1000)]
        w = np.ones(1000)
        w[:500] = 0.0
        block[500:, 0] = np.nan
        first = NUMPY.moments(block, w)
        head = block[500:, 1]
    assert first.weight[0] == 0
    state = first
    for start_row in range(0, X.shape[0], 1000):
        chunk = X[start_row : start_row + 1000]
        state = state.merge(NUMPY.moments(chunk, origin=state.anchor))
    var = fsum_weighted_var(X[:, 0], np.ones(X.shape[0]))
    assert state.weight[0] == X.shape[0]
    assert abs(state.var[0] - var) < 1e-12 * var
    assert_allclose(state.observed_mean[0], math.fsum(X[:, 0]) / X.shape[0], rtol=1e-15)
    second = np.r_[head, X[:, 1]]
    assert_allclose(
        state.var[1], fsum_weighted_var(second, np.ones(second.size)), rtol=1e-12
    )


@pytest.mark.parametrize("weighted", [False, True])
def test_feature_missing_from_the_first_block_is_measured_from_its_data(rng, weighted):
    """Within one batch: a feature that the first block does not observe is
    measured from its first observed value, not from 0."""
    rows = block_rows(np.empty((1, 2)))
    n_samples = 3 * rows + 17
    X = np.c_[1e9 + rng.normal(size=n_samples), rng.normal(size=n_samples)]
    X[:rows, 0] = np.nan
    w = rng.uniform(0.5, 2.0, size=n_samples) if weighted else None
    moments = NUMPY.moments(X, w)
    seen = ~np.isnan(X[:, 0])
    wr = np.ones(n_samples) if w is None else w
    var = fsum_weighted_var(X[seen, 0], wr[seen])
    assert abs(moments.var[0] - var) < 1e-12 * var
    assert_allclose(moments.var[1], fsum_weighted_var(X[:, 1], wr), rtol=1e-12)


def test_moments_of_chunks_with_origins_of_their_own_merge_exactly(rng):
    """Each chunk measured from its own origin, as Dask workers do: the merges
    align the origins without losing the digits of the means."""
    X = 1e9 + rng.normal(size=(100_000, 2))
    _, var = fsum_mean_var(X)
    parts = [NUMPY.moments(X[a : a + 1000]) for a in range(0, X.shape[0], 1000)]
    assert len({float(part.origin[0]) for part in parts}) > 1
    merged = merge_pairwise(parts)
    assert_allclose(merged.var, var, rtol=1e-12)
    sequential = parts[0]
    for part in parts[1:]:
        sequential = sequential.merge(part)
    assert_allclose(sequential.var, var, rtol=1e-12)


def test_scatter_of_chunks_with_origins_of_their_own_merge_exactly(rng):
    """As above for the covariance; x - 1e9 is exact (Sterbenz), so the
    reference sums exactly on centred data."""
    offset = 1e9
    mixing = np.array([[1.0, 0.6, -0.3], [0.0, 0.8, 0.5], [0.0, 0.0, 0.4]])
    X = offset + rng.normal(size=(100_000, 3)) @ mixing
    Y = X - offset
    assert_array_equal(Y + offset, X)
    ref_mean, ref_cov = fsum_covariance(Y)
    assert_allclose(np.cov(Y.T, ddof=0), ref_cov, rtol=1e-12, atol=1e-12)
    parts = [NUMPY.scatter(X[a : a + 1000]) for a in range(0, X.shape[0], 1000)]
    assert len({float(part.origin[0]) for part in parts}) > 1
    for merged in (merge_pairwise(parts), sequential_merge(parts)):
        assert merged.weight == X.shape[0]
        assert_allclose(merged.full_mean, offset + ref_mean, rtol=1e-15)
        assert_allclose(
            merged.covariance, ref_cov, rtol=1e-12, atol=1e-12 * ref_cov.max()
        )


def extreme_columns(rng, n_samples):
    """Columns whose squares (or squared spreads) leave float64's range."""
    near_max = 1.7e308 + 1e305 * rng.normal(size=n_samples)
    signs = rng.choice([-1.0, 1.0], size=n_samples)
    return {
        "1e155": 1e155 * rng.normal(size=n_samples),
        "1e200": 1e200 * rng.normal(size=n_samples),
        "1e-200": 1e-200 * rng.normal(size=n_samples),
        "+1.7e308": near_max,
        "-1.7e308": -near_max[::-1],
        "+-1.7e308": signs * (1.7e308 + 1e305 * rng.normal(size=n_samples)),
    }


def scaled_reference(x):
    """np.mean and np.std of x, computed on x / 2**k and scaled back (exact)."""
    k = np.frexp(np.max(np.abs(x)))[1]
    scaled = np.ldexp(x, -k)
    return np.ldexp(np.mean(scaled), k), np.ldexp(np.std(scaled), k)


@pytest.mark.parametrize("how", ["one batch", "streamed"])
@pytest.mark.parametrize("weights", [None, 1e300])
@pytest.mark.parametrize(
    "column", ["1e155", "1e200", "1e-200", "+1.7e308", "-1.7e308", "+-1.7e308"]
)
def test_moments_at_extreme_magnitudes_keep_std_and_mean(column, weights, how):
    rng = np.random.default_rng(5)
    n_samples = 10_000
    x = extreme_columns(rng, n_samples)[column]
    assert np.isfinite(x).all()
    X = np.c_[x, rng.normal(size=n_samples)]
    w = None if weights is None else np.full(n_samples, weights)
    if how == "one batch":
        moments = NUMPY.moments(X, w)
    else:
        bounds = np.linspace(0, n_samples, 11).astype(int)
        moments = None
        for a, b in zip(bounds[:-1], bounds[1:], strict=True):
            part_w = None if w is None else w[a:b]
            if moments is None:
                moments = NUMPY.moments(X[a:b], part_w)
            else:
                part = NUMPY.moments(X[a:b], part_w, origin=moments.anchor)
                moments = moments.merge(part)
    mean, std = scaled_reference(x)
    assert_allclose(moments.weight[0], n_samples * (weights or 1.0), rtol=1e-14)
    assert_allclose(moments.std[0], std, rtol=1e-12)
    assert_allclose(moments.observed_mean[0], mean, rtol=1e-12)
    assert_allclose(moments.std[1], np.std(X[:, 1]), rtol=1e-12)
    assert_allclose(moments.observed_mean[1], np.mean(X[:, 1]), rtol=1e-12)


@pytest.mark.parametrize("scale", [1.0, 1e10])
def test_scatter_with_huge_weights_equals_the_unweighted_covariance(rng, scale):
    """Only ratios of weights matter: weights of 1e300 (whose products with
    squared deviations overflow) give the unweighted mean and covariance."""
    X = correlated_data(rng, n_samples=500) * scale
    w = np.full(X.shape[0], 1e300)
    reference = np.cov(X.T, ddof=0)
    scale_cov = np.abs(reference).max()
    for scatter in (
        NUMPY.scatter(X, w),
        merge_pairwise(scatter_splits(X, w, [0, 100, 250, 500])),
    ):
        assert_allclose(scatter.weight, 500 * 1e300, rtol=1e-14)
        assert_allclose(scatter.full_mean, X.mean(axis=0), rtol=1e-12)
        assert_allclose(
            scatter.covariance, reference, rtol=1e-12, atol=1e-12 * scale_cov
        )
