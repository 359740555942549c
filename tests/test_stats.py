"""Unit tests of the statistics core, skbn._stats, against numpy references."""

import dataclasses
import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import sparse

from skbn._stats import (
    _BLOCK_VALUES,
    Extrema,
    Moments,
    exponential_moving_update,
    merge_pairwise,
    reference_point,
    safe_scale,
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
    assert_allclose(moments.mean[seen], mean[seen], rtol=rtol)
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
    moments = Moments.from_batch(X)
    assert_array_equal(moments.weight, np.full(4, 60.0))
    assert_allclose(moments.mean, np.average(X, axis=0), rtol=1e-13)
    assert_allclose(moments.observed_mean, X.mean(axis=0), rtol=1e-13)
    assert_allclose(moments.m2, 60 * np.var(X, axis=0), rtol=1e-12)
    assert_allclose(moments.m2, np.sum((X - X.mean(axis=0)) ** 2, axis=0), rtol=1e-12)
    assert_allclose(moments.var, np.var(X, axis=0), rtol=1e-12)


def test_from_batch_weighted_matches_np_average(rng):
    X = make_data(rng)
    w = rng.uniform(0.1, 3.0, size=X.shape[0])
    moments = Moments.from_batch(X, w)
    mean = np.average(X, axis=0, weights=w)
    assert_allclose(moments.weight, np.full(4, w.sum()), rtol=1e-14)
    assert_allclose(moments.mean, mean, rtol=1e-13)
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
    moments = Moments.from_batch(X, w.astype(np.float64))
    assert_allclose(moments.weight, np.sum(~np.isnan(repeated), axis=0), rtol=0)
    assert_allclose(moments.mean, np.nanmean(repeated, axis=0), rtol=1e-13)
    assert_allclose(moments.var, np.nanvar(repeated, axis=0), rtol=1e-12)


def test_from_batch_zero_weight_rows_count_as_absent(rng):
    """Rows of weight 0 (here with wild values and NaN) change nothing."""
    X = make_data(rng)
    w = rng.uniform(0.5, 2.0, size=X.shape[0])
    absent = rng.random(X.shape[0]) < 0.3
    w[absent] = 0.0
    X[absent] = 1e8
    X[np.flatnonzero(absent)[:2], 1] = np.nan
    moments = Moments.from_batch(X, w)
    kept, wk = X[~absent], w[~absent]
    mean = np.average(kept, axis=0, weights=wk)
    assert_allclose(moments.weight, np.full(4, wk.sum()), rtol=1e-14)
    assert_allclose(moments.mean, mean, rtol=1e-13)
    assert_allclose(
        moments.var, np.average((kept - mean) ** 2, axis=0, weights=wk), rtol=1e-12
    )


def test_from_batch_nan_matches_nanmean_nanvar_and_counts(rng):
    X = with_nans(rng, make_data(rng))
    moments = Moments.from_batch(X)
    assert_array_equal(moments.weight, np.sum(~np.isnan(X), axis=0))
    assert_allclose(moments.mean, np.nanmean(X, axis=0), rtol=1e-13)
    assert_allclose(moments.var, np.nanvar(X, axis=0), rtol=1e-12)
    assert_allclose(
        moments.m2, np.nanvar(X, axis=0) * np.sum(~np.isnan(X), axis=0), rtol=1e-12
    )


def test_from_batch_nan_with_weights_matches_np_average_per_feature(rng):
    X = with_nans(rng, make_data(rng))
    w = rng.uniform(0.0, 3.0, size=X.shape[0])
    moments = Moments.from_batch(X, w)
    for j in range(X.shape[1]):
        seen = ~np.isnan(X[:, j])
        x, wx = X[seen, j], w[seen]
        mean = np.average(x, weights=wx)
        assert_allclose(moments.weight[j], wx.sum(), rtol=1e-14)
        assert_allclose(moments.mean[j], mean, rtol=1e-13)
        assert_allclose(
            moments.var[j], np.average((x - mean) ** 2, weights=wx), rtol=1e-12
        )


@pytest.mark.parametrize("weights", [None, "float"])
def test_from_batch_float32_accumulates_in_float64(rng, weights):
    """float32 input: float64 statistics of the float32 values, to float64 accuracy."""
    X = (1e3 + rng.normal(size=(5000, 3))).astype(np.float32)
    w = make_weights(rng, weights, X.shape[0])
    moments = Moments.from_batch(X, w)
    weight, mean, m2 = reference_moments(X.astype(np.float64), w)
    for value in (moments.weight, moments.mean, moments.m2, moments.var):
        assert value.dtype == np.float64
    assert_moments_match(moments, weight, mean, m2, rtol=1e-12)


def test_from_batch_unobserved_feature_has_zero_weight_and_nan_stats(rng):
    X = make_data(rng, n_samples=20, n_features=3)
    X[:, 1] = np.nan
    moments = Moments.from_batch(X)
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
    moments = Moments.from_batch(X, w)
    assert_array_equal(moments.weight, [0.0, 6.0])
    assert np.isnan(moments.observed_mean[0])
    assert np.isnan(moments.var[0])
    assert_allclose(moments.var[1], np.var(X[4:, 1]), rtol=1e-12)


@pytest.mark.parametrize("weights", [None, "float"])
@pytest.mark.parametrize("missing", [False, True])
def test_from_batch_larger_than_one_block_is_exact(weights, missing):
    """200_000 x 3 spans several 65536-value blocks; reference summed by fsum."""
    rng = np.random.default_rng(0)
    X = rng.normal(loc=[0.0, 5.0, -100.0], scale=[1.0, 0.1, 10.0], size=(200_000, 3))
    if missing:
        X = with_nans(rng, X, fraction=0.1)
    w = make_weights(rng, weights, X.shape[0])
    moments = Moments.from_batch(X, w)
    for j in range(3):
        seen = ~np.isnan(X[:, j])
        x = X[seen, j]
        wx = np.ones(x.size) if w is None else w[seen]
        weight = math.fsum(wx)
        mean = math.fsum(wx * x) / weight
        var = math.fsum(wx * (x - mean) ** 2) / weight
        assert_allclose(moments.weight[j], weight, rtol=1e-14)
        assert_allclose(moments.mean[j], mean, rtol=1e-12)
        assert_allclose(moments.var[j], var, rtol=1e-12)


def test_from_batch_large_offset_across_blocks_keeps_variance(rng):
    """1e9 + N(0, 1) over several blocks: var to 1e-9, mean to a few ulps.

    Means of 1e9-sized data are only representable to ~6e-8, so merging blocks
    loses ~1e-10 of the variance unavoidably; a block mean that is not refined
    by its residual sum (naive row-order summation) costs far more.
    """
    X = 1e9 + rng.normal(size=(200_000, 3))
    moments = Moments.from_batch(X)
    mean, var = fsum_mean_var(X)
    assert_allclose(moments.mean, mean, rtol=1e-15)
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
    moments = Moments.from_batch(S, w)
    weight, mean, m2 = reference_moments(S.toarray(), w)
    assert weight[5] == 0
    assert_moments_match(moments, weight, mean, m2)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_from_batch_sparse_counts_nan_only_where_stored(rng, fmt):
    """Implicit zeros are observed values; stored NaNs are not."""
    D = make_sparse_dense(rng)
    S = sparse.csr_matrix(D).asformat(fmt)
    moments = Moments.from_batch(S)
    assert_array_equal(moments.weight, np.sum(~np.isnan(D), axis=0))
    assert_allclose(moments.mean, np.nanmean(D, axis=0), rtol=1e-13, atol=1e-300)
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
    moments = Moments.from_batch(S, w)
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
    moments = Moments.from_batch(S)
    assert_array_equal(moments.weight, np.sum(~np.isnan(D), axis=0))
    assert_array_equal(moments.mean, [0.0, 0.0])
    assert_array_equal(moments.var, [0.0, 0.0])


def test_from_batch_sparse_unobserved_feature_with_float_weights_has_zero_weight():
    """As on dense data: exactly 0, not the rounding residue of two weight sums."""
    w = np.array([0.2, 0.7, 0.7, 0.2, 0.2, 0.1, 0.3, 0.3])
    D = np.c_[np.full(8, np.nan), np.arange(8.0)]
    moments = Moments.from_batch(sparse.csr_matrix(D), w)
    assert moments.weight[0] == 0.0
    assert np.isnan(moments.observed_mean[0])
    assert np.isnan(moments.var[0])
    assert_allclose(moments.weight[1], w.sum(), rtol=1e-15)


def test_from_batch_sparse_single_value_with_float_weights_has_no_spread():
    """One observed value of weight 1: weight exactly 1, no phantom zeros."""
    w = np.array([1.0, 0.7, 0.2, 0.2, 0.7, 0.2, 0.2, 0.3, 0.3])
    D = np.c_[np.r_[5.0, np.full(8, np.nan)], np.arange(9.0)]
    moments = Moments.from_batch(sparse.csr_matrix(D), w)
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
    moments = Moments.from_batch(sparse.csr_matrix(X).asformat(fmt))
    assert_allclose(moments.mean, mean, rtol=1e-15)
    assert_allclose(moments.var, var, rtol=1e-12)


def test_merged_sparse_chunks_at_large_offset_keep_variance(rng):
    """100 sequential merges of 1000-row CSR chunks of 1e9 + N(0, 1): var to 1e-9."""
    X = 1e9 + rng.normal(size=(100_000, 3))
    _, var = fsum_mean_var(X)
    for convert in (np.asarray, sparse.csr_matrix):
        total = Moments.from_batch(convert(X[:1000]))
        for start in range(1000, X.shape[0], 1000):
            total = total.merge(Moments.from_batch(convert(X[start : start + 1000])))
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
    merged = Moments.from_batch(X[:split], None if w is None else w[:split]).merge(
        Moments.from_batch(X[split:], None if w is None else w[split:])
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
    merged = Moments.from_batch(left).merge(Moments.from_batch(right))
    weight, mean, m2 = reference_moments(np.concatenate([left, right]))
    assert_moments_match(merged, weight, mean, m2)
    observed = right if empty_side == "left" else left
    assert_allclose(merged.var[1], np.var(observed[:, 1]), rtol=1e-12)
    assert merged.weight[1] == observed.shape[0]


def test_merge_of_two_unobserved_features_stays_unobserved(rng):
    X = make_data(rng, n_samples=10, n_features=2)
    X[:, 0] = np.nan
    merged = Moments.from_batch(X[:4]).merge(Moments.from_batch(X[4:]))
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
            Moments.from_batch(X[a:b], None if w is None else w[a:b])
            for a, b in zip(bounds[:-1], bounds[1:], strict=True)
        ]
        assert_moments_match(merge_pairwise(parts), weight, mean, m2)


def test_merge_pairwise_of_single_part_is_that_part(rng):
    X = make_data(rng)
    merged = merge_pairwise([Moments.from_batch(X)])
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
    Moments.from_batch(X, w)
    Moments.from_batch(X)
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
    assert_moments_match(Moments.from_batch(X, w), weight, mean, m2, rtol=1e-11)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_from_batch_does_not_modify_sparse_input(rng, fmt):
    S = uncanonical(duplicated_coo(rng), fmt)
    w = rng.uniform(0.0, 2.0, size=S.shape[0])
    data, indices, indptr = S.data.copy(), S.indices.copy(), S.indptr.copy()
    w_before = w.copy()
    for array in (S.data, S.indices, S.indptr, w):
        array.setflags(write=False)
    Moments.from_batch(S, w)
    assert_array_equal(S.data, data)
    assert_array_equal(S.indices, indices)
    assert_array_equal(S.indptr, indptr)
    assert_array_equal(w, w_before)
    assert not S.has_canonical_format


def test_merge_does_not_modify_operands(rng):
    X = with_nans(rng, make_data(rng))
    X[:20, 2] = np.nan
    a = Moments.from_batch(X[:20])
    b = Moments.from_batch(X[20:], rng.uniform(0.0, 2.0, size=X.shape[0] - 20))
    before = [(m.weight.copy(), m.mean.copy(), m.m2.copy()) for m in (a, b)]
    for m in (a, b):
        for array in (m.weight, m.mean, m.m2):
            array.setflags(write=False)
    a.merge(b)
    b.merge(a)
    merge_pairwise([a, b, a])
    for m, (weight, mean, m2) in zip((a, b), before, strict=True):
        assert_array_equal(m.weight, weight)
        assert_array_equal(m.mean, mean)
        assert_array_equal(m.m2, m2)


def test_moments_is_frozen(rng):
    moments = Moments.from_batch(make_data(rng))
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
    moments = Moments.from_batch(X, origin=origin)
    assert_allclose(moments.weight, weight, rtol=0)
    assert_allclose(moments.mean, mean - origin, rtol=1e-12, atol=1e-12)
    assert_allclose(moments.m2, m2, rtol=1e-12)
    assert_allclose(moments.measured_from(-origin).mean, mean, rtol=1e-13)


def test_moments_about_a_common_origin_merge_exactly_at_large_offset(rng):
    """Chunks of 1e9 + N(0, 1) about the first chunk's origin: var to 1e-13."""
    X = 1e9 + rng.normal(size=(100_000, 2))
    _, ref_var = fsum_mean_var(X)
    origin = reference_point(X[:1000])
    state = Moments.from_batch(X[:1000], origin=origin)
    for start in range(1000, X.shape[0], 1000):
        state = state.merge(Moments.from_batch(X[start : start + 1000], origin=origin))
    assert_allclose(state.var, ref_var, rtol=1e-13)


def test_reference_point_is_the_mean_of_the_first_block(rng):
    X = with_nans(rng, make_data(rng, n_samples=40_000))
    rows = 65536 // X.shape[1]
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
    unbiased = Moments.from_batch(X, w).unbiased_var
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
    unbiased = Moments.from_batch(X, w).unbiased_var
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
    new_mean, new_var = exponential_moving_update(
        mean, var, Moments.from_batch(X), momentum
    )
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
        mean, var, Moments.from_batch(X, w), momentum
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
    new_mean, new_var = exponential_moving_update(mean, var, Moments.from_batch(X), 0.1)
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
    new_mean, new_var = exponential_moving_update(mean, var, Moments.from_batch(X), 0.3)
    assert_allclose(new_mean[0], 0.7 * 0.5 + 0.3 * X[:, 0].mean(), rtol=1e-14)
    assert_allclose(new_var[0], 0.7 * 1.5 + 0.3 * np.var(X[:, 0], ddof=1), rtol=1e-13)
    assert_array_equal(new_mean[1:], [-3.0, 7.0, np.nan])
    assert_array_equal(new_var[1:], [4.0, 0.25, np.nan])


def test_exponential_moving_update_keeps_features_with_weight_at_most_one(rng):
    X = make_data(rng, n_samples=6, n_features=2)
    X[3:, 1] = np.nan
    w = np.array([0.5, 0.25, 0.25, 1.0, 1.0, 1.0])  # feature 1 has weight 1.0
    mean, var = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    new_mean, new_var = exponential_moving_update(
        mean, var, Moments.from_batch(X, w), 0.5
    )
    batch_mean = np.average(X[:, 0], weights=w)
    batch_var = np.sum(w * (X[:, 0] - batch_mean) ** 2) / (w.sum() - 1)
    assert_allclose(new_mean, [0.5 + 0.5 * batch_mean, 2.0], rtol=1e-14)
    assert_allclose(new_var, [1.5 + 0.5 * batch_var, 4.0], rtol=1e-13)


def test_exponential_moving_update_does_not_modify_inputs(rng):
    X = with_nans(rng, make_data(rng, n_samples=20))
    batch = Moments.from_batch(X)
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
# safe_scale


@pytest.mark.parametrize("eps", [1e-5, 1e-3, 1.0])
def test_safe_scale_with_eps_is_sqrt_var_plus_eps(rng, eps):
    var = np.r_[0.0, 1e-30, rng.uniform(0.0, 10.0, size=5)]
    mean = rng.normal(size=7) * 1e3
    weight = np.full(7, 100.0)
    assert_allclose(safe_scale(var, mean, weight, eps), np.sqrt(var + eps), rtol=1e-15)


def test_safe_scale_exact_zero_variance_is_one():
    var = np.array([0.0, 4.0, 0.0, 2.25])
    mean = np.array([3.0, 1.0, 1e9, -7.0])
    weight = np.array([10.0, 10.0, 5.0, 3.0])
    assert_array_equal(safe_scale(var, mean, weight, 0.0), [1.0, 2.0, 1.0, 1.5])


@pytest.mark.parametrize("value", [14.62, 0.1, -3.3e-5, 1e9 + 0.3, 123456.789])
def test_safe_scale_constant_feature_is_one(value):
    """scikit-learn #17794: a constant column's computed variance may be tiny, not 0."""
    X = np.full((1000, 1), value)
    moments = Moments.from_batch(X)
    assert_array_equal(
        safe_scale(moments.var, moments.mean, moments.weight, 0.0), [1.0]
    )
    # numpy's own variance of the column, with its rounding residue, too
    var = np.array([np.var(X[:, 0])])
    mean = np.array([np.mean(X[:, 0])])
    assert_array_equal(safe_scale(var, mean, np.array([1000.0]), 0.0), [1.0])


def test_numpy_variance_of_14_62_column_is_not_exactly_zero():
    """The premise of the previous test: rounding leaves a nonzero variance."""
    assert np.var(np.full(1000, 14.62)) > 0


def test_safe_scale_tiny_but_real_variance_is_not_constant(rng):
    """scikit-learn #19726: data at 1e-13 scale has a real spread; keep its std."""
    X = 1e-13 * rng.normal(size=(1000, 1))
    moments = Moments.from_batch(X)
    scale = safe_scale(moments.var, moments.mean, moments.weight, 0.0)
    assert_allclose(scale, X.std(axis=0), rtol=1e-12)
    assert scale[0] < 1e-12


def test_safe_scale_small_variance_at_large_offset_is_not_constant(rng):
    """1e6 + N(0, 1e-4): relative spread 1e-10 is far above rounding level."""
    X = 1e6 + 1e-4 * rng.normal(size=(1000, 1))
    moments = Moments.from_batch(X)
    scale = safe_scale(moments.var, moments.mean, moments.weight, 0.0)
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
    extrema = Extrema.from_batch(X)
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
    extrema = Extrema.from_batch(X)
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
    extrema = Extrema.from_batch(X)
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
    extrema = Extrema.from_batch(X, w)
    kept = np.delete(X, absent, axis=0)
    assert_extrema_equal(extrema, np.nanmin(kept, axis=0), np.nanmax(kept, axis=0))


def test_extrema_positive_weights_do_not_matter(rng):
    X = with_nans(rng, make_data(rng))
    w = rng.uniform(1e-3, 1e3, size=X.shape[0])
    unweighted = Extrema.from_batch(X)
    assert_extrema_equal(Extrema.from_batch(X, w), unweighted.min, unweighted.max)
    assert_extrema_equal(unweighted, *reference_extrema(X))


def test_extrema_feature_observed_only_in_zero_weight_rows_is_nan(rng):
    X = make_data(rng, n_samples=10, n_features=2)
    w = np.r_[np.zeros(4), np.ones(6)]
    X[4:, 0] = np.nan
    extrema = Extrema.from_batch(X, w)
    assert_array_equal(extrema.min, [np.nan, X[4:, 1].min()])
    assert_array_equal(extrema.max, [np.nan, X[4:, 1].max()])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
def test_extrema_over_several_blocks_is_exact(rng, dtype, weighted):
    n_features = 20
    block = _BLOCK_VALUES // n_features
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
    extrema = Extrema.from_batch(X, w)
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
        merged = Extrema.from_batch(X[:cut]).merge(Extrema.from_batch(X[cut:]))
        assert_extrema_equal(merged, low, high)
        reversed_order = Extrema.from_batch(X[cut:]).merge(Extrema.from_batch(X[:cut]))
        assert_extrema_equal(reversed_order, low, high)
    cuts = np.sort(rng.choice(np.arange(1, X.shape[0]), size=30, replace=False))
    bounds = np.r_[0, cuts, X.shape[0]]
    parts = [
        Extrema.from_batch(X[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    assert_extrema_equal(merge_pairwise(parts), low, high)
    running = parts[0]
    for part in parts[1:]:
        running = running.merge(part)
    assert_extrema_equal(running, low, high)


def test_extrema_merge_with_weights_equals_from_batch_of_concatenation(rng):
    X = with_nans(rng, make_data(rng, n_samples=60))
    w = rng.integers(0, 3, size=60).astype(np.float64)
    merged = Extrema.from_batch(X[:25], w[:25]).merge(
        Extrema.from_batch(X[25:], w[25:])
    )
    assert_extrema_equal(merged, *reference_extrema(X, w))


def test_extrema_merge_does_not_modify_operands(rng):
    X = with_nans(rng, make_data(rng))
    X[:20, 2] = np.nan
    a = Extrema.from_batch(X[:20])
    b = Extrema.from_batch(X[20:])
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
    assert_extrema_equal(Extrema.from_batch(X, w), *reference_extrema(X_before, w))
    assert_extrema_equal(Extrema.from_batch(X), *reference_extrema(X_before))
    assert_array_equal(X, X_before)
    assert_array_equal(w, w_before)


def test_extrema_is_frozen(rng):
    extrema = Extrema.from_batch(make_data(rng))
    with pytest.raises(dataclasses.FrozenInstanceError):
        extrema.min = np.zeros(4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        extrema.max = np.zeros(4)


@pytest.mark.parametrize(
    "weights", [None, np.zeros(4)], ids=["no rows", "all weights zero"]
)
def test_extrema_of_an_empty_batch_observe_nothing(weights):
    X = np.ones((4, 3)) if weights is not None else np.empty((0, 3))
    empty = Extrema.from_batch(X, weights)
    assert np.isnan(empty.min).all() and np.isnan(empty.max).all()
    # merging an empty batch leaves the other batch's extrema as they were
    other = Extrema(min=np.array([-1.0, 0.0, 2.0]), max=np.array([1.0, 5.0, 2.0]))
    for merged in (empty.merge(other), other.merge(empty)):
        assert_array_equal(merged.min, other.min)
        assert_array_equal(merged.max, other.max)
