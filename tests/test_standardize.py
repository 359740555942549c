"""BatchStandardizer against independent references.

The references are scikit-learn's StandardScaler, numpy formulas written out
here, exact rational arithmetic (``fractions.Fraction``) and the BatchNorm
equations (Ioffe & Szegedy 2015, Algorithm 1; PyTorch's running statistics).
"""

import pickle
from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from skbn import BatchStandardizer
from tests.helpers import (
    batch_splits,
    random_splits,
    running_stats_reference,
    training_forward_reference,
)

RTOL = 1e-12
# Transformed values are O(1); where they cross zero only an absolute
# tolerance makes sense.
ATOL_OUT = 1e-12
EPS_BN = 1e-5


def make_data(rng, n_samples=40, n_features=4):
    """Features with different offsets and spreads, means well away from 0."""
    offsets = np.array([5.0, -3.0, 1e3, 0.5])[:n_features]
    spreads = np.array([1.0, 10.0, 100.0, 0.01])[:n_features]
    return rng.normal(size=(n_samples, n_features)) * spreads + offsets


def assert_stats_match_sklearn(est, ref):
    assert_allclose(est.mean_, ref.mean_, rtol=RTOL)
    assert_allclose(est.var_, ref.var_, rtol=RTOL)
    assert_allclose(est.scale_, ref.scale_, rtol=RTOL)
    assert_allclose(est.n_samples_seen_, ref.n_samples_seen_, rtol=RTOL)


def assert_outputs_match_sklearn(est, ref, X):
    assert_allclose(est.transform(X), ref.transform(X), rtol=RTOL, atol=ATOL_OUT)
    Z = ref.transform(X)
    assert_allclose(
        est.inverse_transform(Z), ref.inverse_transform(Z), rtol=RTOL, atol=ATOL_OUT
    )


# --------------------------------------------------------------------------
# Equality with StandardScaler
# --------------------------------------------------------------------------


def test_fit_matches_standard_scaler(rng):
    X = make_data(rng)
    est = BatchStandardizer().fit(X)
    ref = StandardScaler().fit(X)
    assert_stats_match_sklearn(est, ref)
    assert est.n_samples_seen_ == X.shape[0]
    assert_outputs_match_sklearn(est, ref, X)


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_partial_fit_random_splits_match_standard_scaler_fit(seed):
    rng = np.random.default_rng(seed)
    X = make_data(rng, n_samples=int(rng.integers(10, 60)))
    est = BatchStandardizer()
    batches = random_splits(rng, X.shape[0])
    for rows in batches:
        est.partial_fit(X[rows])
    ref = StandardScaler().fit(X)
    assert_stats_match_sklearn(est, ref)
    assert est.n_batches_seen_ == len(batches)
    assert_outputs_match_sklearn(est, ref, X)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_float_sample_weight_matches_standard_scaler(seed):
    rng = np.random.default_rng(seed)
    X = make_data(rng)
    weights = rng.uniform(0.1, 3.0, size=X.shape[0])
    est = BatchStandardizer().fit(X, sample_weight=weights)
    ref = StandardScaler().fit(X, sample_weight=weights)
    assert_stats_match_sklearn(est, ref)
    assert_allclose(est.n_samples_seen_, weights.sum(), rtol=RTOL)
    assert_outputs_match_sklearn(est, ref, X)


def test_float_sample_weight_over_partial_fit_matches_standard_scaler(rng):
    X = make_data(rng)
    weights = rng.uniform(0.1, 3.0, size=X.shape[0])
    est = BatchStandardizer()
    for rows in (slice(0, 7), slice(7, 8), slice(8, 30), slice(30, 40)):
        est.partial_fit(X[rows], sample_weight=weights[rows])
    ref = StandardScaler().fit(X, sample_weight=weights)
    assert_stats_match_sklearn(est, ref)


def test_integer_sample_weight_equals_repeated_rows(rng):
    X = make_data(rng, n_samples=25)
    weights = rng.integers(0, 4, size=X.shape[0])
    weights[0] = 0
    weights[1] = 3
    repeated = np.repeat(X, weights, axis=0)
    est = BatchStandardizer().fit(X, sample_weight=weights)
    ref_weighted = StandardScaler().fit(X, sample_weight=weights.astype(float))
    ref_repeated = StandardScaler().fit(repeated)
    assert_stats_match_sklearn(est, ref_weighted)
    assert_allclose(est.mean_, ref_repeated.mean_, rtol=RTOL)
    assert_allclose(est.var_, ref_repeated.var_, rtol=RTOL)
    assert_allclose(est.scale_, ref_repeated.scale_, rtol=RTOL)
    assert est.n_samples_seen_ == weights.sum() == repeated.shape[0]
    assert_allclose(
        est.transform(X), ref_repeated.transform(X), rtol=RTOL, atol=ATOL_OUT
    )


def test_zero_weight_row_counts_as_absent(rng):
    X = make_data(rng, n_samples=10)
    weights = np.ones(X.shape[0])
    weights[3] = 0.0
    X_poisoned = X.copy()
    X_poisoned[3] = 1e6
    est = BatchStandardizer().fit(X_poisoned, sample_weight=weights)
    ref = StandardScaler().fit(np.delete(X, 3, axis=0))
    assert_allclose(est.mean_, ref.mean_, rtol=RTOL)
    assert_allclose(est.var_, ref.var_, rtol=RTOL)


def make_data_with_nan(rng, n_samples=40):
    X = make_data(rng, n_samples=n_samples)
    X[rng.random(X.shape) < 0.2] = np.nan
    X[:3, 1] = np.nan
    return X


def test_nan_is_ignored_in_fit_like_standard_scaler(rng):
    X = make_data_with_nan(rng)
    est = BatchStandardizer().fit(X)
    ref = StandardScaler().fit(X)
    assert_stats_match_sklearn(est, ref)
    counts = est.n_samples_seen_
    assert isinstance(counts, np.ndarray)
    assert counts.shape == (X.shape[1],)
    assert counts.dtype.kind == "i"
    assert_array_equal(counts, ref.n_samples_seen_)
    assert_array_equal(counts, (~np.isnan(X)).sum(axis=0))


def test_nan_is_ignored_in_partial_fit_like_standard_scaler(rng):
    X = make_data_with_nan(rng)
    est = BatchStandardizer()
    for rows in (slice(0, 2), slice(2, 17), slice(17, 40)):
        est.partial_fit(X[rows])
    ref = StandardScaler().fit(X)
    assert_stats_match_sklearn(est, ref)
    assert est.n_samples_seen_.dtype.kind == "i"
    assert_array_equal(est.n_samples_seen_, (~np.isnan(X)).sum(axis=0))


def test_transform_keeps_nan_in_place(rng):
    X = make_data_with_nan(rng)
    est = BatchStandardizer().fit(X)
    ref = StandardScaler().fit(X)
    out = est.transform(X)
    assert_array_equal(np.isnan(out), np.isnan(X))
    assert_allclose(out, ref.transform(X), rtol=RTOL, atol=ATOL_OUT)
    back = est.inverse_transform(out)
    assert_array_equal(np.isnan(back), np.isnan(X))
    assert_allclose(back, X, rtol=RTOL)


def test_nan_with_sample_weight_matches_standard_scaler(rng):
    X = make_data_with_nan(rng)
    weights = rng.uniform(0.5, 2.0, size=X.shape[0])
    est = BatchStandardizer().fit(X, sample_weight=weights)
    ref = StandardScaler().fit(X, sample_weight=weights)
    assert_stats_match_sklearn(est, ref)
    assert_allclose(est.n_samples_seen_, weights @ ~np.isnan(X), rtol=RTOL)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_with_mean_false_matches_standard_scaler(fmt):
    X = sp.random(50, 6, density=0.3, format=fmt, random_state=0)
    X.data = X.data * 10 + 1
    est = BatchStandardizer(with_mean=False).fit(X)
    ref = StandardScaler(with_mean=False).fit(X)
    assert_stats_match_sklearn(est, ref)
    out = est.transform(X)
    assert sp.issparse(out)
    assert out.format == fmt
    assert_allclose(out.toarray(), ref.transform(X).toarray(), rtol=RTOL)
    assert_allclose(out.toarray(), X.toarray() / np.std(X.toarray(), axis=0))
    back = est.inverse_transform(out)
    assert sp.issparse(back)
    assert back.format == fmt
    assert_allclose(back.toarray(), X.toarray(), rtol=RTOL)


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_partial_fit_with_weights_matches_standard_scaler(fmt, rng):
    X = sp.random(40, 5, density=0.4, format=fmt, random_state=1)
    weights = rng.uniform(0.5, 2.0, size=X.shape[0])
    est = BatchStandardizer(with_mean=False)
    for rows in (slice(0, 13), slice(13, 40)):
        est.partial_fit(X[rows], sample_weight=weights[rows])
    ref = StandardScaler(with_mean=False).fit(X, sample_weight=weights)
    assert_stats_match_sklearn(est, ref)


def test_sparse_matches_dense(rng):
    dense = make_data(rng, n_samples=30)
    dense[rng.random(dense.shape) < 0.5] = 0.0
    est_sparse = BatchStandardizer(with_mean=False).fit(sp.csr_matrix(dense))
    ref = StandardScaler(with_mean=False).fit(dense)
    assert_stats_match_sklearn(est_sparse, ref)


def test_with_std_false_only_subtracts_the_mean(rng):
    X = make_data(rng)
    est = BatchStandardizer(with_std=False).fit(X)
    ref = StandardScaler(with_std=False).fit(X)
    assert_allclose(est.mean_, ref.mean_, rtol=RTOL)
    out = est.transform(X)
    assert_allclose(out, ref.transform(X), rtol=RTOL, atol=ATOL_OUT)
    assert_allclose(out, X - X.mean(axis=0), rtol=RTOL, atol=1e-10)
    assert_allclose(est.inverse_transform(out), X, rtol=RTOL)


def test_with_mean_false_on_dense_only_scales(rng):
    X = make_data(rng)
    est = BatchStandardizer(with_mean=False).fit(X)
    ref = StandardScaler(with_mean=False).fit(X)
    assert_stats_match_sklearn(est, ref)
    out = est.transform(X)
    assert_allclose(out, ref.transform(X), rtol=RTOL)
    assert_allclose(out, X / X.std(axis=0), rtol=RTOL)
    assert_allclose(est.inverse_transform(out), X, rtol=RTOL)


def test_constant_feature_gets_unit_scale_and_is_centred(rng):
    X = make_data(rng, n_samples=20, n_features=2)
    X[:, 0] = 7.25
    est = BatchStandardizer().fit(X)
    ref = StandardScaler().fit(X)
    assert est.var_[0] == 0.0
    assert est.scale_[0] == 1.0
    assert_array_equal(est.transform(X)[:, 0], np.zeros(X.shape[0]))
    assert_stats_match_sklearn(est, ref)


@pytest.mark.parametrize("n_samples", [3, 10, 100, 1000, 10_000])
def test_near_constant_feature_gets_unit_scale(n_samples):
    # scikit-learn #17794: 14.62 repeated has a tiny nonzero computed variance.
    X = np.full((n_samples, 1), 14.62)
    est = BatchStandardizer().fit(X)
    assert_array_equal(est.scale_, [1.0])
    assert_allclose(est.mean_, [14.62], rtol=1e-15)
    assert_allclose(est.transform(X), 0.0, atol=1e-13)
    assert_array_equal(StandardScaler().fit(X).scale_, [1.0])


def test_near_constant_feature_over_partial_fit_gets_unit_scale():
    X = np.full((101, 1), 14.62)
    est = BatchStandardizer()
    for rows in (slice(0, 1), slice(1, 34), slice(34, 101)):
        est.partial_fit(X[rows])
    assert_array_equal(est.scale_, [1.0])
    assert_allclose(est.transform(X), 0.0, atol=1e-13)


@pytest.mark.parametrize("value", [14.62, 1 / 3, 7.7, 1e6 + 0.1])
def test_near_constant_feature_with_weights_and_splits_gets_unit_scale(value, rng):
    # Float weights leave a variance of ~1e-45 instead of exactly 0.
    X = np.full((1001, 2), value)
    X[:, 1] = rng.normal(size=1001)
    weights = rng.uniform(0.1, 3.0, size=1001)
    est = BatchStandardizer()
    for rows in np.array_split(np.arange(1001), 3):
        est.partial_fit(X[rows], sample_weight=weights[rows])
    with np.errstate(invalid="ignore"):  # sklearn's var_ can come out < 0 here
        ref = StandardScaler().fit(X, sample_weight=weights)
    assert est.scale_[0] == ref.scale_[0] == 1.0
    assert est.var_[0] >= 0.0
    assert_allclose(est.transform(X)[:, 0], 0.0, atol=4 * np.spacing(value))


@pytest.mark.parametrize("value", [14.62, 1 / 3, 7.7])
def test_near_constant_feature_in_momentum_mode_gets_unit_scale(value, rng):
    X = np.full((30, 1), value)
    weights = rng.uniform(0.1, 3.0, size=30)
    est = BatchStandardizer(momentum=0.1)
    for rows in (slice(0, 10), slice(10, 30)):
        est.partial_fit(X[rows], sample_weight=weights[rows])
    assert_array_equal(est.scale_, [1.0])
    assert_allclose(est.transform(X), 0.0, atol=4 * np.spacing(value))


def test_partial_fit_far_from_zero_matches_exact_statistics(rng):
    # The contract: any split gives the one-fit mean_/var_ to ~1e-12 relative.
    # 1e9 + N(0, 1) is the data skbn._affine names; X - 1e9 is exact here
    # (Sterbenz), so the reference needs no extra precision.
    offset = 1e9
    X = offset + rng.normal(size=(1000, 2))
    centred = X - offset
    est = BatchStandardizer()
    for part in np.array_split(X, 7):
        est.partial_fit(part)
    assert_allclose(est.mean_ - offset, centred.mean(axis=0), rtol=0, atol=1e-6)
    assert_allclose(est.var_, centred.var(axis=0), rtol=RTOL)


# --------------------------------------------------------------------------
# Momentum mode: BatchNorm's rules written out in numpy
# --------------------------------------------------------------------------

B1 = np.array([[1.0, 2.0], [3.0, 5.0], [4.0, 4.0], [8.0, 1.0]])
B2 = np.array([[2.0, 0.0], [6.0, 3.0], [7.0, 9.0]])
B3 = np.array([[0.0, 1.0], [5.0, 5.0], [9.0, 2.0], [3.0, 3.0], [1.0, 8.0]])
GAMMA = np.array([2.0, 0.5])
BETA = np.array([-1.0, 3.0])


@pytest.mark.parametrize("momentum", [0.1, 1.0])
def test_momentum_running_statistics_follow_batchnorm(momentum):
    est = BatchStandardizer(momentum=momentum, eps=EPS_BN)
    history = running_stats_reference([B1, B2, B3], momentum)

    est.partial_fit(B1)
    assert_array_equal(est.mean_, B1.mean(axis=0))
    assert_array_equal(est.var_, np.var(B1, axis=0, ddof=1))
    assert_allclose(est.scale_, np.sqrt(np.var(B1, axis=0, ddof=1) + EPS_BN))

    for batch, (mean, var) in zip([B2, B3], history[1:], strict=True):
        est.partial_fit(batch)
        assert_allclose(est.mean_, mean, rtol=RTOL)
        assert_allclose(est.var_, var, rtol=RTOL)
        assert_allclose(est.scale_, np.sqrt(var + EPS_BN), rtol=RTOL)

    assert est.n_batches_seen_ == 3
    assert est.n_samples_seen_ == len(B1) + len(B2) + len(B3)


def test_momentum_one_keeps_only_the_last_batch():
    est = BatchStandardizer(momentum=1.0)
    for batch in (B1, B2, B3):
        est.partial_fit(batch)
    assert_allclose(est.mean_, B3.mean(axis=0), rtol=RTOL)
    assert_allclose(est.var_, B3.var(axis=0, ddof=1), rtol=RTOL)


@pytest.mark.parametrize("momentum", [0.1, 1.0])
def test_partial_fit_transform_is_batchnorm_training_pass(momentum):
    est = BatchStandardizer(momentum=momentum, eps=EPS_BN, gamma=GAMMA, beta=BETA)
    history = running_stats_reference([B1, B2, B3], momentum)
    for batch, (mean, var) in zip([B1, B2, B3], history, strict=True):
        out = est.partial_fit_transform(batch)
        expected = training_forward_reference(batch, GAMMA, BETA, EPS_BN)
        assert_allclose(out, expected, rtol=RTOL, atol=ATOL_OUT)
        assert_allclose(est.mean_, mean, rtol=RTOL)
        assert_allclose(est.var_, var, rtol=RTOL)


@pytest.mark.parametrize("momentum", [0.1, 1.0])
def test_transform_is_batchnorm_inference_pass(momentum):
    est = BatchStandardizer(momentum=momentum, eps=EPS_BN, gamma=GAMMA, beta=BETA)
    for batch in (B1, B2, B3):
        est.partial_fit(batch)
    running_mean, running_var = running_stats_reference([B1, B2, B3], momentum)[-1]
    x = np.array([[0.5, -2.0], [10.0, 4.0], [4.0, 4.0]])
    expected = GAMMA * (x - running_mean) / np.sqrt(running_var + EPS_BN) + BETA
    assert_allclose(est.transform(x), expected, rtol=RTOL, atol=ATOL_OUT)
    assert_allclose(est.inverse_transform(expected), x, rtol=RTOL, atol=ATOL_OUT)


def test_momentum_matches_torch_batchnorm1d():
    torch = pytest.importorskip("torch")
    momentum = 0.1
    est = BatchStandardizer(momentum=momentum, eps=EPS_BN).partial_fit(B1)
    bn = torch.nn.BatchNorm1d(2, eps=EPS_BN, momentum=momentum, dtype=torch.float64)
    # torch's running statistics start at 0 and 1; start them where skbn's
    # first batch put its own, so that only the update rule is compared.
    with torch.no_grad():
        bn.running_mean.copy_(torch.from_numpy(est.mean_))
        bn.running_var.copy_(torch.from_numpy(est.var_))
    bn.train()
    for batch in (B2, B3):
        with torch.no_grad():
            expected = bn(torch.from_numpy(batch.copy())).numpy()
        out = est.partial_fit_transform(batch)
        assert_allclose(out, expected, rtol=1e-10, atol=1e-10)
        assert_allclose(est.mean_, bn.running_mean.numpy(), rtol=1e-12)
        assert_allclose(est.var_, bn.running_var.numpy(), rtol=1e-12)
    bn.eval()
    x = np.array([[0.5, -2.0], [10.0, 4.0]])
    with torch.no_grad():
        expected = bn(torch.from_numpy(x.copy())).numpy()
    assert_allclose(est.transform(x), expected, rtol=1e-10, atol=1e-10)


def weighted_unbiased_var(batch, weights):
    mean = weights @ batch / weights.sum()
    return weights @ (batch - mean) ** 2 / (weights.sum() - 1)


def test_weighted_momentum_uses_frequency_weighted_unbiased_variance():
    m = 0.1
    w1 = np.array([1, 2, 0, 3])
    w2 = np.array([2, 1, 1])
    est = BatchStandardizer(momentum=m)
    est.partial_fit(B1, sample_weight=w1)
    r1 = np.repeat(B1, w1, axis=0)
    assert_allclose(est.mean_, r1.mean(axis=0), rtol=RTOL)
    assert_allclose(est.var_, np.var(r1, axis=0, ddof=1), rtol=RTOL)
    est.partial_fit(B2, sample_weight=w2)
    r2 = np.repeat(B2, w2, axis=0)
    expected_mean = (1 - m) * r1.mean(axis=0) + m * r2.mean(axis=0)
    expected_var = (1 - m) * np.var(r1, axis=0, ddof=1) + m * np.var(r2, axis=0, ddof=1)
    assert_allclose(est.mean_, expected_mean, rtol=RTOL)
    assert_allclose(est.var_, expected_var, rtol=RTOL)
    assert est.n_samples_seen_ == w1.sum() + w2.sum()


def test_weighted_momentum_with_float_weights():
    m = 0.3
    w1 = np.array([0.5, 1.5, 0.25, 2.0])
    w3 = np.array([1.0, 0.1, 0.7, 3.0, 0.2])
    est = BatchStandardizer(momentum=m)
    est.partial_fit(B1, sample_weight=w1)
    assert_allclose(est.var_, weighted_unbiased_var(B1, w1), rtol=RTOL)
    est.partial_fit(B3, sample_weight=w3)
    mean1 = w1 @ B1 / w1.sum()
    mean3 = w3 @ B3 / w3.sum()
    assert_allclose(est.mean_, (1 - m) * mean1 + m * mean3, rtol=RTOL)
    expected_var = (1 - m) * weighted_unbiased_var(B1, w1) + m * weighted_unbiased_var(
        B3, w3
    )
    assert_allclose(est.var_, expected_var, rtol=RTOL)


# --------------------------------------------------------------------------
# batch_size, n_batches_seen_, fit resets
# --------------------------------------------------------------------------


def test_batch_size_with_momentum_is_consecutive_batches(rng):
    m = 0.2
    X = make_data(rng, n_samples=35)
    est = BatchStandardizer(momentum=m, batch_size=10).fit(X)
    batches = [X[0:10], X[10:20], X[20:30], X[30:35]]
    mean, var = running_stats_reference(batches, m)[-1]
    assert est.n_batches_seen_ == 4
    assert est.n_samples_seen_ == 35
    assert_allclose(est.mean_, mean, rtol=RTOL)
    assert_allclose(est.var_, var, rtol=RTOL)

    manual = BatchStandardizer(momentum=m)
    for batch in batches:
        manual.partial_fit(batch)
    assert_allclose(est.mean_, manual.mean_, rtol=RTOL)
    assert_allclose(est.var_, manual.var_, rtol=RTOL)


def test_batch_size_leftover_single_row_joins_last_batch(rng):
    m = 0.1
    X = make_data(rng, n_samples=21)
    est = BatchStandardizer(momentum=m, batch_size=10).fit(X)
    mean, var = running_stats_reference([X[0:10], X[10:21]], m)[-1]
    assert est.n_batches_seen_ == 2
    assert est.n_samples_seen_ == 21
    assert_allclose(est.mean_, mean, rtol=RTOL)
    assert_allclose(est.var_, var, rtol=RTOL)

    manual = BatchStandardizer(momentum=m)
    manual.partial_fit(X[0:10]).partial_fit(X[10:21])
    assert_allclose(est.mean_, manual.mean_, rtol=RTOL)
    assert_allclose(est.var_, manual.var_, rtol=RTOL)


def test_batch_size_with_momentum_and_sample_weight(rng):
    m = 0.1
    X = make_data(rng, n_samples=20)
    w = rng.integers(1, 4, size=20)
    est = BatchStandardizer(momentum=m, batch_size=10).fit(X, sample_weight=w)
    batches = [np.repeat(X[:10], w[:10], axis=0), np.repeat(X[10:], w[10:], axis=0)]
    mean, var = running_stats_reference(batches, m)[-1]
    assert_allclose(est.mean_, mean, rtol=RTOL)
    assert_allclose(est.var_, var, rtol=RTOL)


@pytest.mark.parametrize("batch_size", [1, 3, 7, 40, 100])
def test_batch_size_without_momentum_gives_one_fit_statistics(batch_size, rng):
    X = make_data(rng)
    est = BatchStandardizer(batch_size=batch_size).fit(X)
    ref = StandardScaler().fit(X)
    assert_stats_match_sklearn(est, ref)


def test_n_batches_seen_counts_partial_fit_calls(rng):
    X = make_data(rng, n_samples=12)
    est = BatchStandardizer()
    for k, rows in enumerate((slice(0, 3), slice(3, 4), slice(4, 12)), start=1):
        est.partial_fit(X[rows])
        assert est.n_batches_seen_ == k
    assert est.n_samples_seen_ == 12


@pytest.mark.parametrize("params", [{}, {"momentum": 0.1, "eps": EPS_BN}])
def test_fit_forgets_earlier_state(params, rng):
    X1 = make_data(rng, n_samples=30) * 3 + 7
    X2 = make_data(rng, n_samples=20)
    est = BatchStandardizer(**params)
    est.partial_fit(X1).partial_fit(X1[:5])
    est.fit(X2)
    assert est.n_batches_seen_ == 1
    assert est.n_samples_seen_ == 20
    assert_allclose(est.mean_, X2.mean(axis=0), rtol=RTOL)
    ddof = 1 if params else 0
    assert_allclose(est.var_, X2.var(axis=0, ddof=ddof), rtol=RTOL)
    est.fit(X2[:10])
    assert est.n_samples_seen_ == 10
    assert_allclose(est.mean_, X2[:10].mean(axis=0), rtol=RTOL)


# --------------------------------------------------------------------------
# hypothesis: any split gives the exact statistics of all the rows
# --------------------------------------------------------------------------

FINITE = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
WEIGHTS = st.one_of(st.just(0.0), st.floats(1e-3, 1e3))


def exact_moments(column, weights):
    """Mean, population variance and weight sum, in exact rational arithmetic."""
    pairs = [
        (Fraction(float(x)), Fraction(float(w)))
        for x, w in zip(column, weights, strict=True)
        if not np.isnan(x)
    ]
    total = sum(w for _, w in pairs)
    if total == 0:
        return np.nan, np.nan, 0.0
    mean = sum(w * x for x, w in pairs) / total
    var = sum(w * (x - mean) ** 2 for x, w in pairs) / total
    return float(mean), float(var), float(total)


def assert_close_elementwise(actual, desired, atol):
    """assert_allclose with rtol=RTOL and a per-element atol; NaN equals NaN."""
    actual, desired, atol = np.broadcast_arrays(actual, desired, atol)
    both_nan = np.isnan(actual) & np.isnan(desired)
    with np.errstate(invalid="ignore"):
        close = np.abs(actual - desired) <= atol + RTOL * np.abs(desired)
    assert np.all(both_nan | close), (actual, desired, atol)


@st.composite
def split_data(draw, allow_nan=False, weighted=False):
    n_samples = draw(st.integers(1, 20))
    n_features = draw(st.integers(1, 3))
    elements = st.one_of(FINITE, st.just(np.nan)) if allow_nan else FINITE
    X = draw(hnp.arrays(np.float64, (n_samples, n_features), elements=elements))
    batches = draw(batch_splits(n_samples))
    weights = None
    if weighted:
        weights = draw(hnp.arrays(np.float64, n_samples, elements=WEIGHTS))
        # A batch whose weights are all zero is rejected by design.
        assume(all(np.any(weights[rows] > 0) for rows in batches))
    return X, batches, weights


def check_split_matches_exact(X, batches, weights):
    est = BatchStandardizer()
    for rows in batches:
        est.partial_fit(
            X[rows], sample_weight=None if weights is None else weights[rows]
        )
    w = np.ones(X.shape[0]) if weights is None else weights
    ref = np.array([exact_moments(X[:, j], w) for j in range(X.shape[1])])
    mean, var, count = ref.T
    finite = X[~np.isnan(X)]
    scale = np.abs(finite).max() if finite.size else 0.0
    n = X.shape[0]
    # Rounding of a stored float64 mean: a few units of n * u * max|x| on the
    # mean, and its cross term with the spread on the variance; 1e-300 for
    # squares and products that underflow to subnormals.
    err_mean = 1e-14 * n * scale + 1e-300
    assert_close_elementwise(est.mean_, mean, atol=err_mean)
    assert_close_elementwise(
        est.var_, var, atol=2 * err_mean * np.sqrt(var) + err_mean**2 + 1e-300
    )
    seen = np.broadcast_to(est.n_samples_seen_, (X.shape[1],))
    assert_allclose(seen, count, rtol=RTOL)
    if weights is None:
        assert np.asarray(est.n_samples_seen_).dtype.kind == "i"
    assert est.n_batches_seen_ == len(batches)


@settings(max_examples=50, deadline=None)
@given(split_data())
def test_any_split_gives_exact_statistics(case):
    check_split_matches_exact(*case)


@settings(max_examples=50, deadline=None)
@given(split_data(allow_nan=True))
def test_any_split_with_nan_gives_exact_statistics(case):
    check_split_matches_exact(*case)


@settings(max_examples=50, deadline=None)
@given(split_data(weighted=True))
def test_any_split_with_weights_gives_exact_statistics(case):
    check_split_matches_exact(*case)


# --------------------------------------------------------------------------
# dtypes and copy
# --------------------------------------------------------------------------


@pytest.mark.parametrize("params", [{}, {"momentum": 0.1, "eps": EPS_BN}])
def test_float32_in_float32_out(params, rng):
    X = make_data(rng).astype(np.float32)
    est = BatchStandardizer(**params)
    assert est.fit_transform(X).dtype == np.float32
    Z = est.transform(X)
    assert Z.dtype == np.float32
    assert est.inverse_transform(Z).dtype == np.float32
    assert est.partial_fit_transform(X).dtype == np.float32
    assert est.mean_.dtype == np.float64
    assert est.var_.dtype == np.float64


def test_float32_statistics_are_accumulated_in_float64(rng):
    X = make_data(rng, n_samples=5000).astype(np.float32)
    X64 = X.astype(np.float64)
    est = BatchStandardizer().fit(X)
    ref = StandardScaler().fit(X64)
    assert_allclose(est.mean_, ref.mean_, rtol=RTOL)
    assert_allclose(est.var_, ref.var_, rtol=RTOL)
    assert_allclose(est.transform(X), ref.transform(X64), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "X",
    [
        np.array([[1, 2], [3, 5], [4, 4], [8, 1]], dtype=np.int64),
        np.array([[1, 2], [3, 5], [4, 4], [8, 1]], dtype=np.int32),
        np.array([[True, False], [False, False], [True, True], [True, False]]),
    ],
    ids=["int64", "int32", "bool"],
)
def test_int_and_bool_become_float64(X):
    est = BatchStandardizer()
    out = est.fit_transform(X)
    assert out.dtype == np.float64
    assert est.transform(X).dtype == np.float64
    assert est.inverse_transform(X).dtype == np.float64
    X64 = X.astype(np.float64)
    assert_allclose(out, StandardScaler().fit_transform(X64), rtol=RTOL, atol=ATOL_OUT)
    est_bn = BatchStandardizer(momentum=0.1)
    assert est_bn.partial_fit_transform(X).dtype == np.float64


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_copy_false_transforms_in_place(dtype, rng):
    X = make_data(rng).astype(dtype)
    expected = (X - X.astype(np.float64).mean(axis=0)) / X.astype(np.float64).std(
        axis=0
    )
    est = BatchStandardizer(copy=False).fit(X)
    out = est.transform(X)
    assert out is X
    tol = 1e-12 if dtype == np.float64 else 1e-5
    assert_allclose(X, expected, rtol=tol, atol=tol)


def test_copy_false_inverse_transform_in_place(rng):
    X = make_data(rng)
    est = BatchStandardizer(copy=False).fit(X)
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    out = est.inverse_transform(Z)
    assert out is Z
    assert_allclose(Z, X, rtol=RTOL)


def test_copy_false_partial_fit_transform_in_place():
    batch = B2.copy()
    est = BatchStandardizer(momentum=0.1, eps=EPS_BN, copy=False)
    out = est.partial_fit_transform(batch)
    assert out is batch
    assert_allclose(batch, training_forward_reference(B2, 1.0, 0.0, EPS_BN))


def test_copy_false_copies_a_list_silently():
    X = [[1.0, 2.0], [3.0, 5.0], [4.0, 4.0], [8.0, 1.0]]
    original = [row[:] for row in X]
    est = BatchStandardizer(copy=False).fit(X)
    out = est.transform(X)
    assert isinstance(out, np.ndarray)
    assert X == original
    A = np.array(original)
    assert_allclose(out, (A - A.mean(axis=0)) / A.std(axis=0), rtol=RTOL)


def test_copy_false_copies_an_int_array_silently():
    X = np.array([[1, 2], [3, 5], [4, 4], [8, 1]])
    original = X.copy()
    est = BatchStandardizer(copy=False).fit(X)
    out = est.transform(X)
    assert out is not X
    assert out.dtype == np.float64
    assert_array_equal(X, original)
    A = original.astype(np.float64)
    assert_allclose(out, (A - A.mean(axis=0)) / A.std(axis=0), rtol=RTOL)


def test_transform_copy_true_overrides_copy_false(rng):
    X = make_data(rng)
    original = X.copy()
    est = BatchStandardizer(copy=False).fit(X)
    out = est.transform(X, copy=True)
    assert out is not X
    assert_array_equal(X, original)
    back = est.inverse_transform(out, copy=True)
    assert back is not out
    assert_allclose(back, original, rtol=RTOL)


def test_copy_true_default_leaves_input_alone(rng):
    X = make_data(rng)
    original = X.copy()
    est = BatchStandardizer().fit(X)
    est.transform(X)
    est.inverse_transform(X)
    BatchStandardizer(momentum=0.1).partial_fit_transform(X)
    assert_array_equal(X, original)


# --------------------------------------------------------------------------
# DataFrames and set_output
# --------------------------------------------------------------------------

COLUMNS = ["alpha", "beta", "gamma", "delta"]


@pytest.mark.parametrize("output", ["pandas", "polars"])
def test_set_output_returns_dataframe_with_input_names(output, rng):
    pd = pytest.importorskip("pandas")
    pytest.importorskip(output)
    X = make_data(rng)
    df = pd.DataFrame(X, columns=COLUMNS)
    est = BatchStandardizer().set_output(transform=output).fit(df)
    assert_array_equal(est.feature_names_in_, COLUMNS)
    assert_array_equal(est.get_feature_names_out(), COLUMNS)
    for out in (est.transform(df), est.fit_transform(df)):
        assert type(out).__module__.split(".")[0] == output
        assert list(out.columns) == COLUMNS
        assert list(out.columns) == list(est.get_feature_names_out())
        assert_allclose(
            np.asarray(out), StandardScaler().fit_transform(X), rtol=RTOL, atol=ATOL_OUT
        )


def test_fit_on_polars_sets_feature_names_in(rng):
    pl = pytest.importorskip("polars")
    X = make_data(rng)
    df = pl.DataFrame({name: X[:, j] for j, name in enumerate(COLUMNS)})
    est = BatchStandardizer().fit(df)
    assert_array_equal(est.feature_names_in_, COLUMNS)
    assert_allclose(est.mean_, X.mean(axis=0), rtol=RTOL)


def test_get_feature_names_out_without_names(rng):
    est = BatchStandardizer().fit(make_data(rng))
    assert_array_equal(est.get_feature_names_out(), ["x0", "x1", "x2", "x3"])


# --------------------------------------------------------------------------
# inverse_transform
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {},
        {
            "gamma": np.array([2.0, -0.5, 3.0, 1.5]),
            "beta": np.array([1.0, 0.0, -2.0, 5]),
        },
        {"gamma": 0.25, "beta": -4.0, "eps": 1e-3},
        {"momentum": 0.1, "eps": EPS_BN, "gamma": np.array([1.0, 2.0, 3.0, 4.0])},
        {"with_mean": False, "beta": np.array([1.0, 2.0, 3.0, 4.0])},
        {"with_std": False, "gamma": np.array([1.0, 2.0, 3.0, 4.0])},
    ],
)
def test_inverse_transform_round_trip(params, rng):
    X = make_data(rng)
    est = BatchStandardizer(**params).fit(X)
    Z = est.transform(X)
    assert_allclose(est.inverse_transform(Z), X, rtol=RTOL)


def test_transform_applies_gamma_and_beta_per_feature(rng):
    X = make_data(rng)
    gamma = np.array([2.0, -0.5, 3.0, 1.5])
    beta = np.array([1.0, 0.0, -2.0, 5.0])
    est = BatchStandardizer(gamma=gamma, beta=beta, eps=1e-3).fit(X)
    expected = gamma * (X - X.mean(axis=0)) / np.sqrt(X.var(axis=0) + 1e-3) + beta
    assert_allclose(est.transform(X), expected, rtol=RTOL, atol=ATOL_OUT)


def test_inverse_transform_with_zero_gamma_raises(rng):
    X = make_data(rng)
    est = BatchStandardizer(gamma=np.array([1.0, 0.0, 2.0, 3.0])).fit(X)
    Z = est.transform(X)
    assert_allclose(Z[:, 1], 0.0, atol=0)
    with pytest.raises(ValueError, match="gamma"):
        est.inverse_transform(Z)


# --------------------------------------------------------------------------
# scikit-learn integration
# --------------------------------------------------------------------------


def test_pipeline_in_grid_search():
    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(BatchStandardizer(), LogisticRegression(max_iter=1000))
    search = GridSearchCV(pipe, {"batchstandardizer__with_std": [True, False]}, cv=3)
    search.fit(X, y)
    assert search.best_score_ > 0.9
    assert search.best_params_["batchstandardizer__with_std"] in (True, False)
    assert set(search.cv_results_["param_batchstandardizer__with_std"]) == {
        True,
        False,
    }


@pytest.mark.parametrize(
    "params", [{}, {"momentum": 0.1, "eps": EPS_BN, "gamma": 2.0, "beta": 1.0}]
)
def test_pickle_round_trip(params, rng):
    X = make_data(rng)
    est = BatchStandardizer(**params).fit(X)
    restored = pickle.loads(pickle.dumps(est))
    assert_array_equal(restored.transform(X), est.transform(X))
    assert_allclose(restored.mean_, X.mean(axis=0), rtol=RTOL)
    assert restored.get_params() == est.get_params()


def test_clone_of_fitted_estimator_is_unfitted(rng):
    est = BatchStandardizer(momentum=0.2, eps=1e-4, gamma=2.0, batch_size=5)
    est.fit(make_data(rng))
    cloned = clone(est)
    with pytest.raises(NotFittedError):
        check_is_fitted(cloned)
    assert cloned.get_params() == est.get_params()
    assert not any(key.endswith("_") for key in vars(cloned))


def test_transform_before_fit_raises_not_fitted(rng):
    with pytest.raises(NotFittedError):
        BatchStandardizer().transform(make_data(rng))


def test_sparse_input_with_centering_is_a_type_and_value_error():
    """scikit-learn raises TypeError for unsupported sparse input; skbn's
    contract says ValueError for bad input: the error is both."""
    X = sp.csr_matrix(np.eye(3))
    with pytest.raises(TypeError, match="with_mean=False"):
        BatchStandardizer().fit(X)
    with pytest.raises(ValueError, match="sparse"):
        BatchStandardizer().partial_fit(X)
