"""SVDWhitener against independent references.

The references are the definitions of Kessy, Lewin & Strimmer (2018),
"Optimal whitening and decorrelation" (The American Statistician 72(4),
arXiv:1512.00809), built here from ``numpy.linalg.eigh``,
``numpy.linalg.cholesky`` and ``scipy.linalg.fractional_matrix_power`` on
the population covariance ``np.cov(X.T, ddof=0)``; scikit-learn's
``PCA(whiten=True)``, which whitens with the ddof=1 covariance; and the
optimality properties of the paper (ZCA is the whitening closest to the
centred input, ZCA-cor the one closest to the standardized input).

skbn works on rows, ``Z = (X - mean_) @ whitening_matrix_``, so its matrices
are the transposes of the paper's ``W``.
"""

import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose, assert_array_equal
from scipy.linalg import fractional_matrix_power
from scipy.stats import ortho_group
from sklearn.base import clone
from sklearn.datasets import load_iris, load_wine, make_low_rank_matrix
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.utils.validation import check_is_fitted

from skbn import SVDWhitener
from skbn._whitening import METHODS as REGISTRY
from tests.helpers import FITTED_ARRAYS, batch_splits, random_splits

# Every whitening method of the registry, by name.
METHODS = list(REGISTRY)

# Methods that map null directions to 0 instead of refusing them.
SPECTRAL = ["zca", "pca", "zca_cor", "pca_cor"]
RTOL = 1e-12
# Whitened values are O(1) and cross zero: an absolute tolerance.
ATOL_OUT = 1e-9
U64 = np.finfo(np.float64).eps


def make_data(rng, n_samples=200, n_features=4, scale=1.0):
    """Correlated features with different spreads, means well away from 0."""
    offsets = np.array([5.0, -3.0, 1e3, 0.5, 40.0])[:n_features]
    spreads = np.array([1.0, 10.0, 0.3, 3.0, 0.7])[:n_features]
    mixing = np.eye(n_features) + 0.6 * rng.normal(size=(n_features, n_features))
    X = rng.normal(size=(n_samples, n_features)) @ mixing
    return scale * X * spreads + offsets


def population_cov(X):
    return np.atleast_2d(np.cov(X.T, ddof=0))


def eigh_decreasing(S):
    """Eigenpairs by decreasing eigenvalue, eigenvector matrix with a positive
    diagonal (the paper's sign convention)."""
    lam, U = np.linalg.eigh(S)
    lam, U = lam[::-1], U[:, ::-1]
    return lam, U * np.sign(np.diag(U))


def correlation(S):
    std = np.sqrt(np.diag(S))
    return S / np.outer(std, std), std


def reference_matrix(S, method, n_components=None, eps=0.0):
    """Kessy et al.'s whitening matrix of ``method``, transposed for rows."""
    n_features = S.shape[0]
    if method == "cholesky":
        lower = np.linalg.cholesky(S + eps * np.eye(n_features))
        return np.linalg.inv(lower).T
    std = np.ones(n_features)
    target = S
    if method.endswith("_cor"):
        target, std = correlation(S)
    lam, U = eigh_decreasing(target)
    k = n_features if n_components is None else n_components
    kept = U[:, :k]
    matrix = kept / np.sqrt(lam[:k] + eps)
    if method.startswith("zca"):
        matrix = matrix @ kept.T
    return matrix / std[:, None]


def output_cov(Z):
    return population_cov(Z)


def cross_cov(Z, X):
    """Cross-covariance between the outputs (rows) and the inputs (columns)."""
    Zc = Z - Z.mean(axis=0)
    Xc = X - X.mean(axis=0)
    return Zc.T @ Xc / X.shape[0]


def mean_sq_distance(A, B):
    return np.mean(np.sum((A - B) ** 2, axis=1))


def matrix_atol(M, factor=1e-9):
    return factor * np.abs(M).max()


def at_least_two_first(slices):
    """Merge leading slices until the first batch has 2 rows (a covariance
    needs 2 samples to start)."""
    slices = list(slices)
    while len(slices) > 1 and slices[0].stop - slices[0].start < 2:
        slices[:2] = [slice(slices[0].start, slices[1].stop)]
    return slices


# --------------------------------------------------------------------------
# The output has the identity as covariance
# --------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    ("seed", "n_features", "scale"),
    [(0, 4, 1.0), (1, 5, 1e-3), (2, 3, 1e4), (3, 2, 1.0), (4, 5, 50.0)],
)
def test_output_covariance_is_identity(method, seed, n_features, scale):
    rng = np.random.default_rng(seed)
    X = make_data(rng, n_features=n_features, scale=scale)
    Z = SVDWhitener(method=method).fit(X).transform(X)
    assert Z.shape == X.shape
    assert_allclose(output_cov(Z), np.eye(n_features), rtol=0, atol=1e-8)
    assert_allclose(Z.mean(axis=0), 0.0, atol=1e-9)


@pytest.mark.parametrize("method", METHODS)
def test_output_covariance_is_identity_on_wine(method):
    # Feature variances from ~0.01 to ~1e5: a condition number near 1e7.
    X = load_wine().data
    Z = SVDWhitener(method=method).fit_transform(X)
    assert_allclose(output_cov(Z), np.eye(X.shape[1]), rtol=0, atol=1e-8)


def test_no_warning_on_full_rank_data(rng):
    X = make_data(rng)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for method in METHODS:
            SVDWhitener(method=method).fit(X).transform(X)
        for method in METHODS:
            SVDWhitener(method=method).fit(load_wine().data)


# --------------------------------------------------------------------------
# The matrices are Kessy et al.'s definitions
# --------------------------------------------------------------------------


def test_zca_matrix_is_inverse_square_root(rng):
    X = make_data(rng)
    S = population_cov(X)
    est = SVDWhitener(method="zca").fit(X)
    W = est.whitening_matrix_
    assert_allclose(est.covariance_, S, rtol=RTOL, atol=matrix_atol(S, 1e-13))
    assert_allclose(W, W.T, rtol=0, atol=matrix_atol(W, 1e-12))
    root = fractional_matrix_power(S, -0.5)
    assert_allclose(np.imag(root), 0.0, atol=1e-12)
    assert_allclose(W, np.real(root), rtol=1e-8, atol=matrix_atol(W))
    lam, U = np.linalg.eigh(S)
    assert_allclose(W, (U / np.sqrt(lam)) @ U.T, rtol=1e-8, atol=matrix_atol(W))
    assert_allclose(W @ S @ W, np.eye(4), atol=1e-10)


def test_pca_matrix_is_scaled_eigenvectors(rng):
    X = make_data(rng)
    S = population_cov(X)
    lam, U = eigh_decreasing(S)
    est = SVDWhitener(method="pca").fit(X)
    assert np.all(np.diag(U) > 0)
    assert_allclose(
        est.whitening_matrix_, U / np.sqrt(lam), rtol=1e-8, atol=matrix_atol(U)
    )
    assert np.all(np.diag(est.whitening_matrix_) > 0)


def test_cholesky_matrix_is_inverse_transposed_cholesky_factor(rng):
    X = make_data(rng)
    S = population_cov(X)
    W = SVDWhitener(method="cholesky").fit(X).whitening_matrix_
    # Output j depends only on inputs 0..j: upper triangular on rows.
    assert_array_equal(W, np.triu(W))
    assert np.all(np.diag(W) > 0)
    assert_allclose(W @ W.T, np.linalg.inv(S), rtol=1e-9)
    expected = np.linalg.inv(np.linalg.cholesky(S)).T
    assert_allclose(W, expected, rtol=1e-9, atol=matrix_atol(W, 1e-12))


def test_cholesky_depends_on_feature_order(rng):
    X = make_data(rng)
    order = [2, 0, 3, 1]
    Z = SVDWhitener(method="cholesky").fit_transform(X)
    Z_perm = SVDWhitener(method="cholesky").fit_transform(X[:, order])
    assert not np.allclose(Z[:, order], Z_perm, atol=1e-3)
    # The first output is the first input standardized, whatever comes next.
    Xc = X - X.mean(axis=0)
    assert_allclose(Z[:, 0], Xc[:, 0] / Xc[:, 0].std(), atol=ATOL_OUT)
    assert_allclose(Z_perm[:, 0], Xc[:, 2] / Xc[:, 2].std(), atol=ATOL_OUT)


def test_zca_cor_matrix(rng):
    X = make_data(rng)
    S = population_cov(X)
    P, std = correlation(S)
    theta, G = eigh_decreasing(P)
    W = SVDWhitener(method="zca_cor").fit(X).whitening_matrix_
    expected = (G / np.sqrt(theta)) @ G.T / std[:, None]
    assert_allclose(W, expected, rtol=1e-8, atol=matrix_atol(expected))
    by_power = np.real(fractional_matrix_power(P, -0.5)) / std[:, None]
    assert_allclose(W, by_power, rtol=1e-8, atol=matrix_atol(expected))


def test_pca_cor_matrix(rng):
    X = make_data(rng)
    S = population_cov(X)
    P, std = correlation(S)
    theta, G = eigh_decreasing(P)
    W = SVDWhitener(method="pca_cor").fit(X).whitening_matrix_
    expected = G / np.sqrt(theta) / std[:, None]
    assert_allclose(W, expected, rtol=1e-8, atol=matrix_atol(expected))


@pytest.mark.parametrize("method", METHODS)
def test_every_whitening_matrix_satisfies_w_wt_equals_inverse_covariance(method, rng):
    X = make_data(rng, n_features=5)
    S = population_cov(X)
    est = SVDWhitener(method=method).fit(X)
    W = est.whitening_matrix_
    assert_allclose(W @ W.T, np.linalg.inv(S), rtol=1e-8, atol=1e-12)
    assert_allclose(
        W, reference_matrix(S, method), rtol=1e-8, atol=matrix_atol(W, 1e-10)
    )


@pytest.mark.parametrize("method", METHODS)
def test_dewhitening_matrix_is_the_inverse(method, rng):
    X = make_data(rng, n_features=5)
    est = SVDWhitener(method=method).fit(X)
    W, D = est.whitening_matrix_, est.dewhitening_matrix_
    assert W.shape == D.shape == (5, 5)
    assert_allclose(W @ D, np.eye(5), atol=1e-10)
    assert_allclose(D @ W, np.eye(5), atol=1e-10)
    assert_allclose(D, np.linalg.inv(W), rtol=1e-8, atol=matrix_atol(D, 1e-10))


@pytest.mark.parametrize("method", METHODS)
def test_components_and_explained_variance_are_eigenpairs(method, rng):
    X = make_data(rng, n_features=5)
    S = population_cov(X)
    target = correlation(S)[0] if method.endswith("_cor") else S
    lam, U = np.linalg.eigh(target)
    lam, U = lam[::-1], U[:, ::-1]
    est = SVDWhitener(method=method).fit(X)
    assert est.components_.shape == (5, 5)
    assert_allclose(est.explained_variance_, lam, rtol=1e-10)
    assert np.all(np.diff(est.explained_variance_) < 0)
    # eigh's signs are arbitrary: compare up to sign, then check the convention.
    signs = np.sign(np.sum(est.components_ * U.T, axis=1))
    assert_allclose(est.components_, U.T * signs[:, None], atol=1e-9)
    assert np.all(np.diag(est.components_) > 0)
    assert_allclose(est.components_ @ est.components_.T, np.eye(5), atol=1e-12)
    assert_allclose(
        est.components_.T * est.explained_variance_ @ est.components_,
        target,
        rtol=1e-10,
        atol=matrix_atol(target, 1e-12),
    )


def test_attributes_after_fit(rng):
    X = make_data(rng, n_samples=57)
    est = SVDWhitener().fit(X)
    assert_allclose(est.mean_, X.mean(axis=0), rtol=RTOL)
    assert_allclose(est.covariance_, population_cov(X), rtol=1e-11, atol=1e-12)
    assert est.n_samples_seen_ == 57
    assert isinstance(est.n_samples_seen_, int)
    assert est.n_features_in_ == 4
    assert est.n_components_ == 4
    assert not hasattr(est, "feature_names_in_")


@pytest.mark.parametrize("method", METHODS)
def test_transform_is_centred_product(method, rng):
    X = make_data(rng)
    X_new = make_data(rng, n_samples=30) * 2.0
    S = population_cov(X)
    est = SVDWhitener(method=method).fit(X)
    expected = (X_new - X.mean(axis=0)) @ reference_matrix(S, method)
    assert_allclose(est.transform(X_new), expected, rtol=1e-8, atol=1e-8)


# --------------------------------------------------------------------------
# Optimality: ZCA stays closest to the input, ZCA-cor to the standardized one
# --------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_zca_output_is_closest_to_centred_input(seed):
    rng = np.random.default_rng(seed)
    X = make_data(rng, n_features=4)
    Xc = X - X.mean(axis=0)
    outputs = {m: SVDWhitener(method=m).fit_transform(X) for m in METHODS}
    best = mean_sq_distance(outputs["zca"], Xc)
    for method in METHODS:
        if method != "zca":
            assert best < mean_sq_distance(outputs[method], Xc)
    # Every whitening is the ZCA one rotated: none of them does better.
    for Q in ortho_group.rvs(4, size=30, random_state=seed):
        rotated = outputs["zca"] @ Q
        assert_allclose(output_cov(rotated), np.eye(4), atol=1e-8)
        assert best < mean_sq_distance(rotated, Xc)
    # The minimum is tr(Sigma) + d - 2 tr(Sigma^1/2) (Kessy et al., section 4).
    S = population_cov(X)
    root = np.real(fractional_matrix_power(S, 0.5))
    assert_allclose(best, np.trace(S) + 4 - 2 * np.trace(root), rtol=1e-9)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_zca_cor_output_is_closest_to_standardized_input(seed):
    rng = np.random.default_rng(seed)
    X = make_data(rng, n_features=4)
    standardized = (X - X.mean(axis=0)) / X.std(axis=0)
    outputs = {m: SVDWhitener(method=m).fit_transform(X) for m in METHODS}
    best = mean_sq_distance(outputs["zca_cor"], standardized)
    for method in METHODS:
        if method != "zca_cor":
            assert best < mean_sq_distance(outputs[method], standardized)
    for Q in ortho_group.rvs(4, size=30, random_state=seed + 10):
        assert best < mean_sq_distance(outputs["zca_cor"] @ Q, standardized)


# --------------------------------------------------------------------------
# method="pca" is scikit-learn's PCA(whiten=True), rescaled to ddof=0
# --------------------------------------------------------------------------


def align_signs(Z, ref):
    return ref * np.sign(np.sum(Z * ref, axis=0))


@pytest.mark.parametrize("n_components", [None, 2])
@pytest.mark.parametrize("seed", [0, 1])
def test_pca_matches_sklearn_pca_whiten(n_components, seed):
    rng = np.random.default_rng(seed)
    X = make_data(rng, n_samples=150, n_features=5)
    X_new = make_data(rng, n_samples=20, n_features=5)
    n = X.shape[0]
    ref = PCA(n_components=n_components, whiten=True, svd_solver="full").fit(X)
    factor = np.sqrt(n / (n - 1))
    est = SVDWhitener(method="pca", n_components=n_components).fit(X)
    Z = est.transform(X)
    expected = align_signs(Z, ref.transform(X) * factor)
    assert_allclose(Z, expected, atol=1e-9)
    signs = np.sign(np.sum(Z * ref.transform(X), axis=0))
    assert_allclose(est.transform(X_new), ref.transform(X_new) * factor * signs)
    assert_allclose(
        est.explained_variance_, ref.explained_variance_ * (n - 1) / n, rtol=1e-10
    )
    assert_allclose(est.components_, ref.components_ * signs[:, None], atol=1e-9)


def test_pca_matches_sklearn_on_iris():
    X = load_iris().data
    n = X.shape[0]
    Z = SVDWhitener(method="pca", n_components=3).fit_transform(X)
    ref = PCA(n_components=3, whiten=True).fit_transform(X) * np.sqrt(n / (n - 1))
    assert_allclose(np.abs(Z), np.abs(ref), atol=1e-9)


# --------------------------------------------------------------------------
# Signs: each output is positively correlated with its matching input
# --------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_cross_covariance_diagonal_is_positive(method, seed):
    rng = np.random.default_rng(seed)
    X = make_data(rng, n_features=5)
    Z = SVDWhitener(method=method).fit_transform(X)
    assert np.all(np.diag(cross_cov(Z, X)) > 0)


@pytest.mark.parametrize("method", ["pca", "pca_cor"])
def test_cross_covariance_diagonal_is_positive_with_fewer_components(method, rng):
    X = make_data(rng, n_features=5)
    Z = SVDWhitener(method=method, n_components=3).fit_transform(X)
    assert np.all(np.diag(cross_cov(Z, X)) > 0)


def test_cross_covariance_of_zca_is_square_root_of_covariance(rng):
    X = make_data(rng)
    Z = SVDWhitener(method="zca").fit_transform(X)
    root = np.real(fractional_matrix_power(population_cov(X), 0.5))
    assert_allclose(cross_cov(Z, X), root, rtol=1e-8, atol=matrix_atol(root))


def test_signs_are_stable_under_negating_the_data(rng):
    # -X has the same covariance: the map must follow from the covariance alone
    # (the positive-diagonal convention), not from the data's orientation.
    X = make_data(rng)
    for method in METHODS:
        a = SVDWhitener(method=method).fit(X)
        b = SVDWhitener(method=method).fit(-X)
        assert_allclose(a.whitening_matrix_, b.whitening_matrix_, atol=1e-9)


def test_zero_diagonal_entry_makes_the_largest_entry_positive(rng):
    # A correlated pair and an independent third feature of larger variance
    # (each row of the pair appears with +3 and with -3): the pair's second
    # eigenvector ends in the diagonal's last place with a 0, which no sign
    # makes positive; eigh returns it with its largest entry negative.
    pair = rng.multivariate_normal([0, 0], [[0.033, 0.067], [0.067, 0.421]], 200)
    third = np.full((200, 1), 3.0)
    X = np.vstack([np.hstack([pair, third]), np.hstack([pair, -third])])
    components = SVDWhitener(method="pca").fit(X).components_
    # (Some LAPACK builds leave rounding, ~1e-18, where others give exact 0.)
    assert_allclose(components[:, 2], [1.0, 0.0, 0.0], rtol=0, atol=1e-15)
    assert components[1, 1] > 0.9
    assert components[2, 0] > 0.9


def test_rank_warning_points_at_the_callers_line(rng):
    X = make_data(rng, n_features=3)
    X = np.c_[X, X[:, 0]]
    with pytest.warns(UserWarning, match="zero") as record:
        SVDWhitener().fit(X)
    assert record[0].filename == __file__
    streamed = SVDWhitener().partial_fit(X)
    with pytest.warns(UserWarning, match="zero") as record:
        streamed.transform(X)
    assert record[0].filename == __file__


# --------------------------------------------------------------------------
# partial_fit: exact merging of the mean and the scatter
# --------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_partial_fit_random_splits_equal_fit(method, seed):
    rng = np.random.default_rng(seed)
    X = make_data(rng, n_samples=int(rng.integers(10, 80)))
    batches = at_least_two_first(random_splits(rng, X.shape[0]))
    streamed = SVDWhitener(method=method)
    for rows in batches:
        streamed.partial_fit(X[rows])
    one_shot = SVDWhitener(method=method).fit(X)
    S = population_cov(X)
    assert_allclose(streamed.mean_, X.mean(axis=0), rtol=RTOL)
    assert_allclose(streamed.covariance_, S, rtol=RTOL, atol=matrix_atol(S, 1e-13))
    assert_allclose(streamed.mean_, one_shot.mean_, rtol=RTOL)
    assert_allclose(streamed.covariance_, one_shot.covariance_, rtol=RTOL, atol=1e-13)
    assert streamed.n_samples_seen_ == X.shape[0]
    assert isinstance(streamed.n_samples_seen_, int)
    assert_allclose(streamed.transform(X), one_shot.transform(X), atol=ATOL_OUT)
    assert_allclose(output_cov(streamed.transform(X)), np.eye(4), atol=1e-8)


def test_partial_fit_far_from_zero_keeps_covariance(rng):
    # 1e9 + N(0, 1): a naive sum of squares would lose every digit.
    offset = 1e9
    X = offset + rng.normal(size=(1000, 3)) @ [[1.0, 0.5, 0.0], [0, 1, 0.3], [0, 0, 1]]
    centred = X - offset  # exact (Sterbenz)
    est = SVDWhitener()
    for part in np.array_split(X, 7):
        est.partial_fit(part)
    S = population_cov(centred)
    assert_allclose(est.covariance_, S, rtol=1e-10, atol=1e-12)
    assert_allclose(est.mean_ - offset, centred.mean(axis=0), atol=1e-6)
    assert_allclose(output_cov(est.transform(X)), np.eye(3), atol=1e-6)


def test_one_row_batches_after_the_first(rng):
    X = make_data(rng, n_samples=12)
    est = SVDWhitener()
    # Until 5 rows are in, the 4 x 4 covariance is singular, and its map
    # says so when it is derived.
    est.partial_fit(X[:2])
    with pytest.warns(UserWarning, match="zero"):
        assert est.whitening_matrix_.shape == (4, 4)
    for i in range(2, 12):
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            est.partial_fit(X[i : i + 1])
        assert est.n_samples_seen_ == i + 1
    assert_allclose(est.mean_, X.mean(axis=0), rtol=RTOL)
    S = population_cov(X)
    assert_allclose(est.covariance_, S, rtol=1e-11, atol=matrix_atol(S, 1e-13))
    assert_allclose(output_cov(est.transform(X)), np.eye(4), atol=1e-8)


def test_first_partial_fit_needs_two_samples(rng):
    X = make_data(rng, n_samples=5)
    est = SVDWhitener()
    with pytest.raises(ValueError, match="1 sample"):
        est.partial_fit(X[:1])
    with pytest.raises(NotFittedError):
        check_is_fitted(est)
    # 2 and 3 rows span a line, then a plane: partial_fit only merges, and
    # the map derived from them says so, once.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est.partial_fit(X[:2]).partial_fit(X[2:3])
    assert est.n_samples_seen_ == 3
    with pytest.warns(UserWarning, match="fewer samples than features") as record:
        est.transform(X)
    assert len(record) == 1


def test_fit_forgets_earlier_state(rng):
    X1 = make_data(rng, n_samples=30) * 3 + 7
    X2 = make_data(rng, n_samples=20)
    est = SVDWhitener().partial_fit(X1).partial_fit(X1[:5])
    est.fit(X2)
    assert est.n_samples_seen_ == 20
    assert_allclose(est.mean_, X2.mean(axis=0), rtol=RTOL)
    S = population_cov(X2)
    assert_allclose(est.covariance_, S, rtol=1e-11, atol=matrix_atol(S, 1e-13))
    est.partial_fit(X1)
    both = np.vstack([X2, X1])
    assert_allclose(est.covariance_, population_cov(both), rtol=1e-11)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_weighted_partial_fit_random_splits_equal_weighted_formula(seed):
    rng = np.random.default_rng(seed)
    X = make_data(rng, n_samples=60)
    w = rng.uniform(0.1, 3.0, size=60)
    est = SVDWhitener(method="pca_cor")
    for rows in at_least_two_first(random_splits(rng, 60)):
        est.partial_fit(X[rows], sample_weight=w[rows])
    mean = w @ X / w.sum()
    S = ((X - mean) * w[:, None]).T @ (X - mean) / w.sum()
    assert_allclose(est.mean_, mean, rtol=RTOL)
    assert_allclose(est.covariance_, S, rtol=1e-10, atol=matrix_atol(S, 1e-13))
    assert_allclose(est.n_samples_seen_, w.sum(), rtol=RTOL)
    expected = (X - mean) @ reference_matrix(S, "pca_cor")
    assert_allclose(est.transform(X), expected, atol=1e-8)


@pytest.mark.parametrize("method", ["zca", "cholesky"])
def test_many_rows_cross_row_blocks(method, rng):
    # Tens of thousands of rows: statistics and transform go by row blocks.
    X = make_data(rng, n_samples=50_000)
    S = population_cov(X)
    est = SVDWhitener(method=method, copy=False).fit(X)
    assert_allclose(est.covariance_, S, rtol=1e-10, atol=matrix_atol(S, 1e-13))
    expected = (X - X.mean(axis=0)) @ reference_matrix(S, method)
    X_in = X.copy()
    Z = est.transform(X_in)
    assert np.shares_memory(Z, X_in)
    assert_allclose(Z, expected, atol=1e-8)
    assert_allclose(output_cov(Z), np.eye(4), atol=1e-9)


@st.composite
def streamed_data(draw):
    n_samples = draw(st.integers(2, 30))
    n_features = draw(st.integers(1, 4))
    spread = draw(st.sampled_from([1e-3, 1.0, 1e3]))
    offset = draw(st.floats(-1e6, 1e6))
    X = draw(
        hnp.arrays(
            np.float64,
            (n_samples, n_features),
            # Spreads whose squares underflow float64 are refused by the
            # whitener (its covariance holds squares), so values that small
            # are drawn as 0.
            elements=st.floats(-1, 1, allow_subnormal=False).map(
                lambda value: value if abs(value) > 1e-100 else 0.0
            ),
        )
    )
    batches = at_least_two_first(draw(batch_splits(n_samples)))
    return X * spread + offset, batches


@settings(max_examples=30, deadline=None)
@given(streamed_data())
def test_any_split_gives_the_covariance_of_all_rows(case):
    X, batches = case
    est = SVDWhitener()
    with warnings.catch_warnings():
        # Drawn data may well be rank-deficient; only the statistics count here.
        warnings.simplefilter("ignore", UserWarning)
        for rows in batches:
            est.partial_fit(X[rows])
    n = X.shape[0]
    centred = X - X.mean(axis=0)
    size = np.abs(X).max()
    spread = np.abs(centred).max()
    assert est.n_samples_seen_ == n
    assert_allclose(est.mean_, X.mean(axis=0), rtol=0, atol=4 * n * U64 * size)
    # Centring loses ~n ulps of the largest value; the covariance carries that
    # error times the spread.
    atol = 64 * n * U64 * size * (spread + U64 * size)
    assert_allclose(est.covariance_, population_cov(X), rtol=1e-10, atol=atol)
    assert_allclose(est.covariance_, est.covariance_.T, rtol=0, atol=atol)


# --------------------------------------------------------------------------
# sample_weight: frequency weights
# --------------------------------------------------------------------------

FITTED = FITTED_ARRAYS[SVDWhitener]


@pytest.mark.parametrize("method", METHODS)
def test_integer_weights_equal_repeated_rows(method, rng):
    X = make_data(rng, n_samples=40)
    weights = rng.integers(0, 4, size=40)
    weights[:3] = [0, 3, 1]
    repeated = np.repeat(X, weights, axis=0)
    weighted = SVDWhitener(method=method).fit(X, sample_weight=weights)
    ref = SVDWhitener(method=method).fit(repeated)
    for name in FITTED:
        actual, desired = getattr(weighted, name), getattr(ref, name)
        assert_allclose(actual, desired, rtol=1e-9, atol=matrix_atol(desired, 1e-11))
    assert weighted.n_samples_seen_ == weights.sum() == repeated.shape[0]
    assert weighted.n_components_ == ref.n_components_
    assert_allclose(weighted.transform(X), ref.transform(X), atol=ATOL_OUT)
    assert_allclose(
        weighted.covariance_, population_cov(repeated), rtol=1e-10, atol=1e-12
    )


def test_integer_weights_over_partial_fit_equal_repeated_rows(rng):
    X = make_data(rng, n_samples=40)
    weights = rng.integers(1, 4, size=40)
    est = SVDWhitener(method="zca_cor")
    for rows in (slice(0, 9), slice(9, 10), slice(10, 40)):
        est.partial_fit(X[rows], sample_weight=weights[rows])
    repeated = np.repeat(X, weights, axis=0)
    assert_allclose(est.mean_, repeated.mean(axis=0), rtol=RTOL)
    assert_allclose(est.covariance_, population_cov(repeated), rtol=1e-10)
    assert est.n_samples_seen_ == weights.sum()
    expected = (X - repeated.mean(axis=0)) @ reference_matrix(
        population_cov(repeated), "zca_cor"
    )
    assert_allclose(est.transform(X), expected, atol=1e-8)


def test_zero_weight_row_counts_as_absent(rng):
    X = make_data(rng, n_samples=20)
    weights = np.ones(20)
    weights[[3, 11]] = 0.0
    poisoned = X.copy()
    poisoned[3] = 1e6
    poisoned[11] = -1e6
    est = SVDWhitener().fit(poisoned, sample_weight=weights)
    kept = np.delete(X, [3, 11], axis=0)
    assert_allclose(est.mean_, kept.mean(axis=0), rtol=RTOL)
    assert_allclose(est.covariance_, population_cov(kept), rtol=1e-10)
    assert est.n_samples_seen_ == 18
    ref = reference_matrix(population_cov(kept), "zca")
    assert_allclose(est.whitening_matrix_, ref, rtol=1e-8, atol=matrix_atol(ref))


def test_float_weights_give_weighted_covariance(rng):
    X = make_data(rng, n_samples=50)
    w = rng.uniform(0.1, 3.0, size=50)
    mean = w @ X / w.sum()
    centred = X - mean
    S = (centred * w[:, None]).T @ centred / w.sum()
    est = SVDWhitener(method="pca").fit(X, sample_weight=w)
    assert_allclose(est.mean_, mean, rtol=RTOL)
    assert_allclose(est.covariance_, S, rtol=1e-10, atol=1e-12)
    assert_allclose(est.covariance_, np.cov(X.T, aweights=w, ddof=0), rtol=1e-10)
    assert_allclose(est.n_samples_seen_, w.sum(), rtol=RTOL)
    Z = est.transform(X)
    # Whitened under the same weights, the output covariance is the identity.
    Zm = w @ Z / w.sum()
    weighted_cov = ((Z - Zm) * w[:, None]).T @ (Z - Zm) / w.sum()
    assert_allclose(weighted_cov, np.eye(4), atol=1e-9)
    assert_allclose(Z, (X - mean) @ reference_matrix(S, "pca"), atol=1e-8)


def test_first_batch_needs_two_weighted_samples(rng):
    X = make_data(rng, n_samples=4)
    with pytest.raises(ValueError, match="1 sample"):
        SVDWhitener().fit(X, sample_weight=[0, 5, 0, 0])


# --------------------------------------------------------------------------
# Rank deficiency: null directions go to 0, never blown up
# --------------------------------------------------------------------------


def with_duplicated_column(rng):
    X = make_data(rng, n_samples=100, n_features=3)
    return np.column_stack([X, X[:, 0]])


@pytest.mark.parametrize("method", SPECTRAL)
def test_duplicated_column_warns_and_maps_null_direction_to_zero(method, rng):
    X = with_duplicated_column(rng)
    with pytest.warns(UserWarning, match="eps"):
        est = SVDWhitener(method=method).fit(X)
    Z = est.transform(X)
    assert np.all(np.isfinite(Z))
    assert np.abs(Z).max() < 10
    if method.startswith("pca"):
        # The null direction comes last: its column is 0.
        assert_allclose(Z[:, -1], 0.0, atol=1e-9)
        assert_allclose(output_cov(Z), np.diag([1.0, 1, 1, 0]), atol=1e-8)
    else:
        # (e0 - e3) / sqrt(2) spans the null space of both Sigma and P.
        null = np.array([1.0, 0, 0, -1]) / np.sqrt(2)
        assert_allclose(Z @ null, 0.0, atol=1e-9)
        assert_allclose(output_cov(Z), np.eye(4) - np.outer(null, null), atol=1e-8)


def test_cholesky_on_duplicated_column_asks_for_eps(rng):
    X = with_duplicated_column(rng)
    with pytest.raises(ValueError, match="eps"):
        SVDWhitener(method="cholesky").fit(X)
    est = SVDWhitener(method="cholesky", eps=1e-6).fit(X)
    S = population_cov(X)
    expected = np.linalg.inv(np.linalg.cholesky(S + 1e-6 * np.eye(4))).T
    assert_allclose(
        est.whitening_matrix_, expected, rtol=1e-6, atol=matrix_atol(expected)
    )
    assert np.all(np.isfinite(est.transform(X)))


@pytest.mark.parametrize("method", SPECTRAL)
def test_constant_feature_warns_and_is_mapped_to_zero(method, rng):
    X = make_data(rng, n_samples=60, n_features=4)
    X[:, 2] = 7.25
    with pytest.warns(UserWarning):
        est = SVDWhitener(method=method).fit(X)
    Z = est.transform(X)
    assert np.all(np.isfinite(Z))
    others = [0, 1, 3]
    Z_others = SVDWhitener(method=method).fit_transform(X[:, others])
    if method.startswith("pca"):
        assert_allclose(Z[:, -1], 0.0, atol=1e-9)
        assert_allclose(np.abs(Z[:, :3]), np.abs(Z_others), atol=1e-8)
    else:
        # ZCA leaves the other features' map unchanged by the constant one.
        assert_allclose(Z[:, 2], 0.0, atol=1e-9)
        assert_allclose(Z[:, others], Z_others, atol=1e-8)


def test_cholesky_constant_feature_raises(rng):
    X = make_data(rng, n_samples=60)
    X[:, 1] = -2.0
    with pytest.raises(ValueError, match="eps"):
        SVDWhitener(method="cholesky").fit(X)


def low_rank(seed):
    return make_low_rank_matrix(
        1000, 10, effective_rank=2, tail_strength=0, random_state=seed
    )


def n_null_directions(X):
    lam = np.linalg.eigvalsh(population_cov(X))
    return int(np.sum(lam <= lam.size * U64 * lam.max()))


@pytest.mark.parametrize("seed", [0, 1, 4, 5])
@pytest.mark.parametrize("method", SPECTRAL)
def test_low_rank_matrix_stays_bounded(method, seed):
    X = low_rank(seed)
    assert n_null_directions(X) >= 1
    with pytest.warns(UserWarning, match="zero"):
        est = SVDWhitener(method=method).fit(X)
    Z = est.transform(X)
    assert np.all(np.isfinite(Z))
    assert np.abs(Z).max() < 10
    assert np.all(np.isfinite(est.whitening_matrix_))
    assert np.all(np.isfinite(est.dewhitening_matrix_))


@pytest.mark.parametrize("seed", [1, 4, 5])
def test_low_rank_matrix_null_directions_map_to_zero(seed):
    # On these seeds scikit-learn 1.9's PCA(whiten=True) divides by singular
    # values that are rounding errors and reaches ~1e5 to ~1e6 (how far
    # depends on the release and its LAPACK, so it is not asserted here).
    X = low_rank(seed)
    with pytest.warns(UserWarning):
        Z = SVDWhitener(method="pca").fit_transform(X)
    assert np.abs(Z).max() < 10
    n_null = n_null_directions(X)
    assert_allclose(Z[:, -n_null:], 0.0, atol=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 4])
def test_low_rank_matrix_cholesky_needs_eps(seed):
    X = low_rank(seed)
    with pytest.raises(ValueError, match="eps"):
        SVDWhitener(method="cholesky").fit(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Z = SVDWhitener(method="cholesky", eps=1e-6).fit_transform(X)
    assert np.all(np.isfinite(Z))


def test_eps_silences_the_rank_warning(rng):
    X = with_duplicated_column(rng)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for method in METHODS:
            Z = SVDWhitener(method=method, eps=1e-8).fit_transform(X)
            assert np.all(np.isfinite(Z))


# --------------------------------------------------------------------------
# n_components
# --------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["pca", "pca_cor"])
@pytest.mark.parametrize("k", [1, 2, 4])
def test_pca_keeps_leading_components(method, k, rng):
    X = make_data(rng, n_features=5)
    full = SVDWhitener(method=method).fit(X)
    est = SVDWhitener(method=method, n_components=k).fit(X)
    Z = est.transform(X)
    assert Z.shape == (X.shape[0], k)
    assert est.n_components_ == k
    assert est.whitening_matrix_.shape == (5, k)
    assert est.dewhitening_matrix_.shape == (k, 5)
    assert est.components_.shape == (k, 5)
    assert est.explained_variance_.shape == (k,)
    assert_allclose(Z, full.transform(X)[:, :k], atol=ATOL_OUT)
    assert_allclose(output_cov(Z), np.eye(k), atol=1e-8)
    S = population_cov(X)
    ref = reference_matrix(S, method)[:, :k]
    assert_allclose(est.whitening_matrix_, ref, rtol=1e-8, atol=matrix_atol(ref))


@pytest.mark.parametrize("k", [1, 2, 3])
def test_truncated_zca(k, rng):
    X = make_data(rng, n_features=4)
    S = population_cov(X)
    lam, U = eigh_decreasing(S)
    Uk = U[:, :k]
    expected = (Uk / np.sqrt(lam[:k])) @ Uk.T
    est = SVDWhitener(method="zca", n_components=k).fit(X)
    W = est.whitening_matrix_
    assert W.shape == (4, 4)
    assert est.n_components_ == 4
    assert_allclose(W, expected, rtol=1e-8, atol=matrix_atol(expected))
    assert_allclose(W, W.T, atol=matrix_atol(W, 1e-12))
    Z = est.transform(X)
    assert Z.shape == X.shape
    # Whitened on the k leading directions, 0 on the others.
    assert_allclose(output_cov(Z), Uk @ Uk.T, atol=1e-8)
    assert_allclose(Z @ U[:, k:], 0.0, atol=1e-9)
    assert_allclose(est.components_, Uk.T, atol=1e-9)
    assert_allclose(est.explained_variance_, lam[:k], rtol=1e-10)


@pytest.mark.parametrize("k", [1, 3])
def test_truncated_zca_cor(k, rng):
    X = make_data(rng, n_features=4)
    P, std = correlation(population_cov(X))
    theta, G = eigh_decreasing(P)
    Gk = G[:, :k]
    expected = (Gk / np.sqrt(theta[:k])) @ Gk.T / std[:, None]
    est = SVDWhitener(method="zca_cor", n_components=k).fit(X)
    assert est.n_components_ == 4
    assert_allclose(
        est.whitening_matrix_, expected, rtol=1e-8, atol=matrix_atol(expected)
    )
    Z = est.transform(X)
    assert_allclose(output_cov(Z), Gk @ Gk.T, atol=1e-8)


def test_truncated_zca_below_the_rank_does_not_warn(rng):
    X = with_duplicated_column(rng)
    S = population_cov(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = SVDWhitener(method="zca", n_components=3).fit(X)
    ref = reference_matrix(S, "zca", n_components=3)
    assert_allclose(est.whitening_matrix_, ref, rtol=1e-8, atol=matrix_atol(ref))


def test_cholesky_n_components(rng):
    X = make_data(rng)
    est = SVDWhitener(method="cholesky", n_components=4).fit(X)
    assert est.n_components_ == 4
    full = SVDWhitener(method="cholesky").fit(X)
    assert_allclose(est.whitening_matrix_, full.whitening_matrix_, rtol=RTOL)
    for k in (1, 3):
        with pytest.raises(ValueError, match="n_components"):
            SVDWhitener(method="cholesky", n_components=k).fit(X)


@pytest.mark.parametrize("method", METHODS)
def test_n_components_above_n_features_raises(method, rng):
    X = make_data(rng)
    with pytest.raises(ValueError, match="n_components"):
        SVDWhitener(method=method, n_components=5).fit(X)
    est = SVDWhitener(method=method, n_components=4).fit(X)
    assert est.n_components_ == 4


@pytest.mark.parametrize(
    ("method", "expected"),
    [("zca", 5), ("pca", 2), ("cholesky", 5), ("zca_cor", 5), ("pca_cor", 2)],
)
def test_n_components_attribute(method, expected, rng):
    X = make_data(rng, n_features=5)
    k = None if method == "cholesky" else 2
    est = SVDWhitener(method=method, n_components=k).fit(X)
    assert est.n_components_ == expected
    assert est.transform(X).shape == (X.shape[0], expected)
    assert len(est.get_feature_names_out()) == expected


# --------------------------------------------------------------------------
# eps: regularized whitening
# --------------------------------------------------------------------------


@pytest.mark.parametrize("eps", [1e-3, 0.5, 10.0])
def test_zca_with_eps(eps, rng):
    X = make_data(rng)
    S = population_cov(X)
    lam, U = np.linalg.eigh(S)
    expected = (U / np.sqrt(lam + eps)) @ U.T
    est = SVDWhitener(method="zca", eps=eps).fit(X)
    assert_allclose(
        est.whitening_matrix_, expected, rtol=1e-8, atol=matrix_atol(expected)
    )
    assert_allclose(
        est.whitening_matrix_ @ est.dewhitening_matrix_, np.eye(4), atol=1e-10
    )
    # Regularized: each direction's variance shrinks to lam / (lam + eps).
    Z = est.transform(X)
    shrunk = np.sort(np.linalg.eigvalsh(output_cov(Z)))
    assert_allclose(shrunk, np.sort(lam / (lam + eps)), rtol=1e-8)


@pytest.mark.parametrize("method", ["pca", "zca_cor", "pca_cor"])
def test_spectral_methods_with_eps(method, rng):
    X = make_data(rng)
    S = population_cov(X)
    expected = reference_matrix(S, method, eps=0.1)
    est = SVDWhitener(method=method, eps=0.1).fit(X)
    assert_allclose(
        est.whitening_matrix_, expected, rtol=1e-8, atol=matrix_atol(expected)
    )


@pytest.mark.parametrize("eps", [1e-3, 0.5, 10.0])
def test_cholesky_with_eps(eps, rng):
    X = make_data(rng)
    S = population_cov(X)
    expected = np.linalg.inv(np.linalg.cholesky(S + eps * np.eye(4))).T
    est = SVDWhitener(method="cholesky", eps=eps).fit(X)
    assert_allclose(
        est.whitening_matrix_, expected, rtol=1e-9, atol=matrix_atol(expected)
    )
    assert_array_equal(est.whitening_matrix_, np.triu(est.whitening_matrix_))
    assert_allclose(
        est.whitening_matrix_ @ est.dewhitening_matrix_, np.eye(4), atol=1e-10
    )


# --------------------------------------------------------------------------
# inverse_transform
# --------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_inverse_transform_round_trip(method, rng):
    X = make_data(rng, n_features=5)
    X_new = make_data(rng, n_samples=25, n_features=5) * 3
    est = SVDWhitener(method=method).fit(X)
    for data in (X, X_new):
        Z = est.transform(data)
        assert_allclose(est.inverse_transform(Z), data, rtol=1e-10, atol=1e-10)
    Z = rng.normal(size=(10, 5))
    expected = Z @ np.linalg.inv(reference_matrix(population_cov(X), method))
    assert_allclose(
        est.inverse_transform(Z), expected + X.mean(axis=0), rtol=1e-8, atol=1e-8
    )


@pytest.mark.parametrize("k", [1, 2, 3])
def test_pca_inverse_transform_projects_on_leading_directions(k, rng):
    X = make_data(rng, n_features=4)
    mean = X.mean(axis=0)
    lam, U = eigh_decreasing(population_cov(X))
    Uk = U[:, :k]
    expected = (X - mean) @ Uk @ Uk.T + mean
    for method in ("pca", "zca"):
        est = SVDWhitener(method=method, n_components=k).fit(X)
        back = est.inverse_transform(est.transform(X))
        assert_allclose(back, expected, rtol=1e-10, atol=1e-9)


def test_pca_cor_inverse_transform_projects_standardized_data(rng):
    X = make_data(rng, n_features=4)
    mean, std = X.mean(axis=0), X.std(axis=0)
    theta, G = eigh_decreasing(correlation(population_cov(X))[0])
    Gk = G[:, :2]
    expected = ((X - mean) / std) @ Gk @ Gk.T * std + mean
    est = SVDWhitener(method="pca_cor", n_components=2).fit(X)
    assert_allclose(est.inverse_transform(est.transform(X)), expected, atol=1e-9)


def test_inverse_transform_checks_the_number_of_columns(rng):
    X = make_data(rng)
    est = SVDWhitener(method="pca", n_components=2).fit(X)
    with pytest.raises(ValueError, match="features"):
        est.inverse_transform(np.zeros((3, 4)))
    assert est.inverse_transform(np.zeros((3, 2))).shape == (3, 4)
    assert_allclose(est.inverse_transform(np.zeros((3, 2))), np.tile(est.mean_, (3, 1)))


# --------------------------------------------------------------------------
# Input handling, dtypes, copy, feature names, scikit-learn integration
# --------------------------------------------------------------------------


def test_nan_in_fit_raises_with_imputer_hint(rng):
    X = make_data(rng)
    X[5, 1] = np.nan
    for fit in (SVDWhitener().fit, SVDWhitener().partial_fit):
        with pytest.raises(ValueError, match="NaN") as info:
            fit(X)
        assert "mput" in str(info.value)
        with pytest.raises(ValueError, match="[Ii]mput"):
            fit(X)


def test_nan_in_transform_raises_with_imputer_hint(rng):
    X = make_data(rng)
    est = SVDWhitener().fit(X)
    X_nan = X[:10].copy()
    X_nan[2, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.transform(X_nan)
    with pytest.raises(ValueError, match="[Ii]mput"):
        est.transform(X_nan)


def test_nan_in_partial_fit_leaves_state_untouched(rng):
    X = make_data(rng)
    est = SVDWhitener().fit(X)
    before = {name: getattr(est, name).copy() for name in FITTED}
    bad = X[:5].copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.partial_fit(bad)
    for name in FITTED:
        assert_array_equal(getattr(est, name), before[name])
    assert est.n_samples_seen_ == X.shape[0]


@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_infinity_raises(value, rng):
    X = make_data(rng)
    X[3, 0] = value
    with pytest.raises(ValueError):
        SVDWhitener().fit(X)
    est = SVDWhitener().fit(make_data(rng))
    with pytest.raises(ValueError):
        est.transform(X)


def test_one_sample_raises(rng):
    X = make_data(rng, n_samples=1)
    with pytest.raises(ValueError, match="1 sample"):
        SVDWhitener().fit(X)
    with pytest.raises(ValueError, match="1 sample"):
        SVDWhitener(method="pca", n_components=3).fit(X)


@pytest.mark.parametrize("method", METHODS)
def test_float32_in_float32_out(method, rng):
    X32 = make_data(rng).astype(np.float32)
    X64 = X32.astype(np.float64)
    est = SVDWhitener(method=method).fit(X32)
    Z = est.transform(X32)
    assert Z.dtype == np.float32
    assert est.fit_transform(X32).dtype == np.float32
    ref = (X64 - X64.mean(axis=0)) @ reference_matrix(population_cov(X64), method)
    assert_allclose(Z, ref, rtol=1e-5, atol=1e-5)
    back = est.inverse_transform(Z)
    assert back.dtype == np.float32
    assert_allclose(back, X32, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("method", ["zca", "cholesky", "pca"])
def test_copy_false_writes_in_place_when_shapes_agree(method, rng):
    X = make_data(rng)
    expected = SVDWhitener(method=method).fit(X).transform(X)
    est = SVDWhitener(method=method, copy=False).fit(X)
    X_in = X.copy()
    Z = est.transform(X_in)
    assert np.shares_memory(Z, X_in)
    assert_allclose(Z, expected, atol=ATOL_OUT)
    back = est.inverse_transform(Z)
    assert np.shares_memory(back, X_in)
    assert_allclose(back, X, rtol=1e-10)


def test_copy_true_does_not_touch_the_input(rng):
    X = make_data(rng)
    X_in = X.copy()
    est = SVDWhitener().fit(X_in)
    Z = est.transform(X_in)
    assert not np.shares_memory(Z, X_in)
    assert_array_equal(X_in, X)
    Z_in = Z.copy()
    back = est.inverse_transform(Z_in)
    assert not np.shares_memory(back, Z_in)
    assert_array_equal(Z_in, Z)
    # copy=True at call time overrides copy=False.
    est.set_params(copy=False)
    assert not np.shares_memory(est.transform(X_in, copy=True), X_in)


def test_copy_false_with_fewer_outputs_leaves_input_alone(rng):
    X = make_data(rng)
    X_in = X.copy()
    est = SVDWhitener(method="pca", n_components=2, copy=False).fit(X)
    Z = est.transform(X_in)
    assert Z.shape == (X.shape[0], 2)
    assert not np.shares_memory(Z, X_in)
    assert_array_equal(X_in, X)


@pytest.mark.parametrize("method", ["zca", "cholesky", "zca_cor"])
def test_one_to_one_methods_keep_the_input_names(rng, method):
    """Output i of these methods is input i whitened, the one most correlated
    with it: it keeps input i's name, as OneToOneFeatureMixin's estimators do."""
    pd = pytest.importorskip("pandas")
    X = make_data(rng, n_features=4)
    est = SVDWhitener(method=method).fit(X)
    assert_array_equal(est.get_feature_names_out(), ["x0", "x1", "x2", "x3"])
    truncated = method != "cholesky"
    est = SVDWhitener(method=method, n_components=2 if truncated else None)
    est.set_output(transform="pandas").fit(pd.DataFrame(X, columns=COLUMNS))
    assert list(est.transform(pd.DataFrame(X, columns=COLUMNS)).columns) == COLUMNS
    Z = np.asarray(est.transform(pd.DataFrame(X, columns=COLUMNS)))
    if not truncated:
        cross = (X - X.mean(axis=0)).T @ Z / X.shape[0]
        assert np.all(np.diag(cross) > 0)


@pytest.mark.parametrize("method", ["pca", "pca_cor"])
def test_get_feature_names_out_of_components(rng, method):
    X = make_data(rng, n_features=5)
    est = SVDWhitener(method=method).fit(X)
    assert_array_equal(
        est.get_feature_names_out(), [f"svdwhitener{i}" for i in range(5)]
    )
    est = SVDWhitener(method="pca", n_components=3).fit(X)
    assert_array_equal(
        est.get_feature_names_out(), ["svdwhitener0", "svdwhitener1", "svdwhitener2"]
    )


COLUMNS = ["alpha", "beta", "gamma", "delta"]


@pytest.mark.parametrize("output", ["pandas", "polars"])
def test_set_output_dataframe(output, rng):
    pd = pytest.importorskip("pandas")
    pytest.importorskip(output)
    X = make_data(rng)
    df = pd.DataFrame(X, columns=COLUMNS)
    est = SVDWhitener(method="pca", n_components=3).set_output(transform=output)
    out = est.fit(df).transform(df)
    assert type(out).__module__.split(".")[0] == output
    assert list(out.columns) == ["svdwhitener0", "svdwhitener1", "svdwhitener2"]
    assert_array_equal(est.feature_names_in_, COLUMNS)
    expected = (X - X.mean(axis=0)) @ reference_matrix(population_cov(X), "pca")
    assert_allclose(np.asarray(out), expected[:, :3], atol=1e-8)


def test_feature_names_from_dataframe(rng):
    pd = pytest.importorskip("pandas")
    X = make_data(rng)
    df = pd.DataFrame(X, columns=COLUMNS)
    est = SVDWhitener().fit(df)
    assert_array_equal(est.feature_names_in_, COLUMNS)
    expected = (X - X.mean(axis=0)) @ reference_matrix(population_cov(X), "zca")
    assert_allclose(est.transform(df), expected, atol=1e-8)
    with pytest.raises(ValueError, match="feature names"):
        est.transform(df[COLUMNS[::-1]])


def test_wrong_number_of_features_raises(rng):
    est = SVDWhitener().fit(make_data(rng))
    with pytest.raises(ValueError, match="features"):
        est.transform(make_data(rng, n_features=3))
    with pytest.raises(ValueError, match="features"):
        est.partial_fit(make_data(rng, n_features=3))


def test_transform_before_fit_raises(rng):
    with pytest.raises(NotFittedError):
        SVDWhitener().transform(make_data(rng))


def test_pipeline_grid_search_over_methods():
    X, y = load_wine(return_X_y=True)
    pipe = make_pipeline(SVDWhitener(), LogisticRegression(max_iter=2000))
    search = GridSearchCV(
        pipe,
        {"svdwhitener__method": METHODS},
        cv=3,
        error_score="raise",
    )
    search.fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert len(scores) == len(METHODS)
    assert np.all(scores > 0.8)
    assert search.best_params_["svdwhitener__method"] in METHODS


@pytest.mark.parametrize("method", METHODS)
def test_pickle_round_trip(method, rng):
    X = make_data(rng)
    est = SVDWhitener(method=method).partial_fit(X[:20])
    restored = pickle.loads(pickle.dumps(est))
    assert_array_equal(restored.transform(X), est.transform(X))
    # The streaming state survives too.
    restored.partial_fit(X[20:])
    est.partial_fit(X[20:])
    assert_array_equal(restored.covariance_, est.covariance_)
    assert_allclose(restored.covariance_, population_cov(X), rtol=1e-11)


def test_clone_is_unfitted_with_same_params(rng):
    est = SVDWhitener(method="pca_cor", n_components=2, eps=0.1, copy=False)
    est.fit(make_data(rng))
    copy = clone(est)
    assert copy.get_params() == est.get_params()
    with pytest.raises(NotFittedError):
        check_is_fitted(copy)


@pytest.mark.parametrize(
    "params",
    [
        {"method": "bogus"},
        {"method": "ZCA"},
        {"method": None},
        {"n_components": 0},
        {"n_components": -1},
        {"n_components": 1.5},
        {"n_components": "2"},
        {"n_components": True},
        {"eps": -1},
        {"eps": np.nan},
        {"eps": np.inf},
        {"eps": "0.1"},
        {"copy": "yes"},
    ],
)
def test_invalid_params_raise_at_fit(params, rng):
    est = SVDWhitener(**params)  # no validation in __init__
    X = make_data(rng)
    with pytest.raises(ValueError):
        est.fit(X)
    with pytest.raises(ValueError):
        SVDWhitener(**params).partial_fit(X)


@pytest.mark.parametrize("method", ["zca", "pca", "zca_cor", "pca_cor"])
def test_eps_below_rounding_error_keeps_null_directions_at_zero(method, rng):
    # An eps far below the eigenvalues' rounding error regularizes nothing, so
    # the duplicated column's null direction must still map to 0, not to noise
    # divided by sqrt(1e-300).
    X = rng.normal(size=(100, 4)) @ rng.normal(size=(4, 4)) + 100
    X = np.column_stack([X, X[:, 0]])
    with pytest.warns(UserWarning, match="larger than 1e-300"):
        Z = SVDWhitener(method=method, eps=1e-300).fit_transform(X)
    assert np.all(np.isfinite(Z))
    assert np.max(np.abs(Z)) < 10


def test_cholesky_with_too_small_eps_asks_for_a_larger_one(rng):
    X = rng.normal(size=(100, 4))
    X = np.column_stack([X, X[:, 0]])
    with pytest.raises(ValueError, match="eps larger than 1e-20"):
        SVDWhitener(method="cholesky", eps=1e-20).fit(X)
