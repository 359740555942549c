"""SVDWhitener(solver="qr") against independent references.

The qr solver keeps the triangular factor ``R`` of the centred data
(``R' R`` the population covariance) and derives every method from the
singular values of ``R``, so that near-collinear data keep about twice the
digits the covariance keeps. The references are written out in numpy here:
``numpy.linalg.svd`` and ``numpy.linalg.qr`` of the centred data (divided by
``sqrt(n)``, so that they factor the ddof=0 covariance), ``np.cov(...,
ddof=0)``, ``np.repeat`` for integer weights; and the definition of
whitening itself, an output whose population covariance is the identity.

skbn works on rows, ``Z = (X - mean_) @ whitening_matrix_``.
"""

import copy
import functools
import pickle
import re
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from numpy.testing import assert_allclose, assert_array_equal

from skbn import SVDWhitener, _numpy_stats
from skbn._stats import Factor
from skbn._whitening import METHODS as REGISTRY
from tests.helpers import FITTED_ARRAYS, batch_splits

METHODS = list(REGISTRY)
# Methods that map null directions to 0 instead of refusing them.
SPECTRAL = ["zca", "pca", "zca_cor", "pca_cor"]
FITTED = FITTED_ARRAYS[SVDWhitener]
# On near-collinear data (cond(X) up to 1e10) the qr solver's output has a
# covariance within this of the identity: about u * cond(X), with a margin.
COLLINEAR_BAR = 5e-6
# Maps of one state computed two ways (another split, another solver on
# well-conditioned data): relative agreement.
RTOL = 1e-9


# --------------------------------------------------------------------------
# Data and references
# --------------------------------------------------------------------------


def population_cov(X):
    return np.atleast_2d(np.cov(np.asarray(X, dtype=np.float64), rowvar=False, ddof=0))


def whitening_error(Z):
    """max |cov(Z) - I|: how far the output is from white."""
    C = population_cov(Z)
    return float(np.abs(C - np.eye(C.shape[0])).max())


def condition_number(X):
    """cond of the centred data (the covariance's is its square)."""
    singular = np.linalg.svd(X - X.mean(axis=0), compute_uv=False)
    return singular[0] / singular[-1]


def _collinear_columns(delta, n_samples, seed):
    rng = np.random.default_rng(seed)
    a, b, c, d = rng.normal(size=(4, n_samples))
    return np.column_stack([a, a + delta * b, c, 3.0 * c + d])


@functools.cache
def _near_collinear(condition, n_samples, seed):
    # cond(X) is proportional to 1/delta once delta is small: measure it at
    # one delta and rescale to hit the requested condition number.
    trial = 1e-6
    measured = condition_number(_collinear_columns(trial, n_samples, seed))
    X = _collinear_columns(trial * measured / condition, n_samples, seed)
    X.setflags(write=False)
    return X


def near_collinear(condition, n_samples=4000, seed=0):
    """Columns a, a + delta b, c, 3c + d (a, b, c, d standard normal, means
    near 0), delta chosen so that the centred data have about
    ``condition`` as condition number (checked)."""
    X = _near_collinear(condition, n_samples, seed)
    assert condition / 2 <= condition_number(X) <= 2 * condition
    return X.copy()


def ordinary_data(rng, n_samples=500, n_features=5, offset=1e3):
    """Correlated features with different spreads, means far from zero."""
    spreads = np.array([1.0, 10.0, 0.3, 3.0, 0.7, 2.0, 5.0, 0.5, 1.5, 4.0])
    mixing = np.eye(n_features) + 0.6 * rng.normal(size=(n_features, n_features))
    X = rng.normal(size=(n_samples, n_features)) @ mixing
    return X * spreads[:n_features] + offset + np.arange(n_features)


def mixed_units(rng, n_samples=2000):
    """Means of 1e8, standard deviations from 1e-3 to 1e5, correlated."""
    mixing = np.eye(5) + 0.5 * rng.normal(size=(5, 5))
    spreads = np.array([1e-3, 1e-1, 1e1, 1e3, 1e5])
    return rng.normal(size=(n_samples, 5)) @ mixing * spreads + 1e8


def positive_diagonal_rows(R):
    """R with each row's sign flipped so that its diagonal is >= 0."""
    return R * np.where(np.diag(R) < 0, -1.0, 1.0)[:, None]


def positive_diagonal_columns(V):
    """Kessy et al.'s sign convention: eigenvectors (columns) with a
    positive diagonal entry."""
    return V * np.sign(np.diag(V))


def svd_reference(X, method):
    """Kessy et al.'s whitening matrix of ``method`` (transposed, for rows),
    from the SVD of the centred data: never from the covariance."""
    n = X.shape[0]
    Xc = X - X.mean(axis=0)
    if method == "cholesky":
        R = positive_diagonal_rows(np.linalg.qr(Xc / np.sqrt(n), mode="r"))
        return np.linalg.inv(R)
    std = np.ones(X.shape[1])
    if method.endswith("_cor"):
        std = np.sqrt(np.mean(Xc**2, axis=0))
    _, S, Vt = np.linalg.svd(Xc / std, full_matrices=False)
    V = positive_diagonal_columns(Vt.T)
    matrix = V * (np.sqrt(n) / S)
    if method.startswith("zca"):
        matrix = matrix @ V.T
    return matrix / std[:, None]


def assert_covariance_close(covariance, X, tol):
    """``covariance`` is X's population covariance, each entry to ``tol``
    of the product of its two standard deviations (entries near 0 are known
    to the rounding of the larger ones)."""
    expected = population_cov(X)
    std = np.sqrt(np.diag(expected))
    error = np.abs(covariance - expected) / np.outer(std, std)
    assert error.max() <= tol, error.max()


def assert_matches_svd_reference(est, X, method):
    """``est``'s whitening matrix is :func:`svd_reference`'s of X."""
    expected = svd_reference(X, method)
    assert_allclose(
        est.whitening_matrix_,
        expected,
        rtol=RTOL,
        atol=RTOL * np.abs(expected).max(),
    )


def assert_same_maps(est, ref, names=FITTED, rtol=RTOL):
    """The fitted arrays of two whiteners agree to ``rtol`` (relative to
    each array's largest entry where entries cross zero)."""
    for name in names:
        expected = np.asarray(getattr(ref, name))
        assert_allclose(
            getattr(est, name),
            expected,
            rtol=rtol,
            atol=rtol * np.abs(expected).max(),
            err_msg=name,
        )


def at_least_two_first(slices):
    """Merge leading slices until the first has 2 rows (a covariance needs
    2 samples to start)."""
    slices = list(slices)
    while len(slices) > 1 and slices[0].stop - slices[0].start < 2:
        slices[:2] = [slice(slices[0].start, slices[1].stop)]
    return slices


def streamed(method, batches, solver="qr", **params):
    est = SVDWhitener(method=method, solver=solver, **params)
    for batch in batches:
        est.partial_fit(batch)
    return est


def fit_by(how, est, X, n_batches):
    """``est`` fitted on X by ``how`` ("fit", "partial_fit" over
    ``n_batches`` batches, or "dask"), and its transform of X."""
    if how == "fit":
        return est, est.fit(X).transform(X)
    if how == "partial_fit":
        for batch in np.array_split(X, n_batches):
            est.partial_fit(batch)
        return est, est.transform(X)
    return dask_fit(est, X)


def dask_fit(est, X, n_chunks=10):
    """``est`` fitted on X as a Dask array of ``n_chunks`` row chunks (on
    the synchronous scheduler), and its lazy transform of X, computed."""
    da = pytest.importorskip("dask.array")
    import dask

    rows = -(-X.shape[0] // n_chunks)
    X_dask = da.from_array(X, chunks=(rows, X.shape[1]))
    assert X_dask.numblocks[0] == n_chunks
    with dask.config.set(scheduler="synchronous"):
        est.fit(X_dask)
        return est, est.transform(X_dask).compute()


def warning_messages(caught):
    return [str(warning.message) for warning in caught]


# --------------------------------------------------------------------------
# Near-collinear data: qr keeps the digits the covariance loses
# --------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["fit", "partial_fit", "dask"])
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("condition", [1e7, 1e9, 1e10])
def test_qr_whitens_near_collinear_data(condition, method, how):
    # cond(X) = 1e10 makes the covariance's 1e20: beyond float64, whose
    # eigensolver sees a null direction there. The factor's singular values
    # keep about 16 - 10 digits: the output is white to about 1e-6.
    X = near_collinear(condition)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est, Z = fit_by(how, SVDWhitener(method=method, solver="qr"), X, 20)
    assert est.n_samples_seen_ == X.shape[0]
    assert whitening_error(Z) <= COLLINEAR_BAR


@pytest.mark.parametrize("method", SPECTRAL)
def test_covariance_solver_fails_where_qr_whitens(method):
    # The same data at cond 1e10: the covariance solver finds a null
    # direction (with a warning) and its output is far from white.
    X = near_collinear(1e10)
    with pytest.warns(UserWarning, match="solver='qr'"):
        Z = SVDWhitener(method=method, solver="covariance").fit_transform(X)
    assert whitening_error(Z) > 1e-3
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Z = SVDWhitener(method=method, solver="qr").fit_transform(X)
    assert whitening_error(Z) <= COLLINEAR_BAR


def test_covariance_solver_cholesky_refuses_what_qr_factors():
    X = near_collinear(1e10)
    with pytest.raises(ValueError, match="positive definite"):
        SVDWhitener(method="cholesky", solver="covariance").fit(X)
    est = SVDWhitener(method="cholesky", solver="qr").fit(X)
    # The qr solver's inverse map is the data's own R (numpy's QR): its
    # entries to within a QR's forward error, u * cond(X) of the largest
    # (about 2e-6); its diagonal, the distance of each column from the
    # span of those before it (4.6e-10 for the second), far better.
    R = np.linalg.inv(svd_reference(X, "cholesky"))
    assert_allclose(est.dewhitening_matrix_, R, rtol=0, atol=1e-5 * np.abs(R).max())
    assert_allclose(np.diag(est.dewhitening_matrix_), np.diag(R), rtol=1e-5)
    assert whitening_error(est.transform(X)) <= COLLINEAR_BAR


@pytest.mark.parametrize("method", METHODS)
def test_covariance_solver_at_cond_1e7_loses_digits_with_a_warning(method):
    X = near_collinear(1e7)
    with pytest.warns(UserWarning, match="digits"):
        Z = SVDWhitener(method=method, solver="covariance").fit_transform(X)
    qr = SVDWhitener(method=method, solver="qr").fit_transform(X)
    # Several orders of magnitude between them.
    assert whitening_error(Z) > 1e-5
    assert whitening_error(qr) < whitening_error(Z) / 100


# --------------------------------------------------------------------------
# Ordinary data: the maps of the SVD and QR of the centred data
# --------------------------------------------------------------------------


def test_pca_is_the_svd_of_the_centred_data(rng):
    X = ordinary_data(rng)
    n = X.shape[0]
    est = SVDWhitener(method="pca", solver="qr").fit(X)
    _, S, Vt = np.linalg.svd(X - X.mean(axis=0), full_matrices=False)
    expected = Vt.T / S * np.sqrt(n)
    W = est.whitening_matrix_
    signs = np.sign(np.sum(W * expected, axis=0))
    assert_allclose(W * signs, expected, rtol=RTOL, atol=RTOL * np.abs(expected).max())
    assert_allclose(est.explained_variance_, S**2 / n, rtol=RTOL)
    # Without the sign fudge: eigenvectors with a positive diagonal.
    assert_allclose(
        est.components_, positive_diagonal_columns(Vt.T).T, rtol=RTOL, atol=RTOL
    )
    assert_allclose(est.mean_, X.mean(axis=0), rtol=1e-14)
    assert_covariance_close(est.covariance_, X, 1e-12)
    assert est.n_samples_seen_ == n


def test_zca_is_the_inverse_square_root_from_the_svd(rng):
    X = ordinary_data(rng)
    n = X.shape[0]
    _, S, Vt = np.linalg.svd(X - X.mean(axis=0), full_matrices=False)
    expected = Vt.T @ np.diag(np.sqrt(n) / S) @ Vt
    W = SVDWhitener(method="zca", solver="qr").fit(X).whitening_matrix_
    assert_allclose(W, expected, rtol=RTOL, atol=RTOL * np.abs(expected).max())
    assert_allclose(W, W.T, rtol=0, atol=1e-12 * np.abs(W).max())


def test_cholesky_is_the_inverse_of_the_qr_factor(rng):
    X = ordinary_data(rng)
    n = X.shape[0]
    R = np.linalg.qr((X - X.mean(axis=0)) / np.sqrt(n), mode="r")
    R = positive_diagonal_rows(R)
    est = SVDWhitener(method="cholesky", solver="qr").fit(X)
    expected = np.linalg.inv(R)
    assert_allclose(
        est.whitening_matrix_,
        expected,
        rtol=RTOL,
        atol=RTOL * np.abs(expected).max(),
    )
    assert_allclose(est.dewhitening_matrix_, R, rtol=RTOL, atol=RTOL * np.abs(R).max())
    assert_array_equal(np.tril(est.whitening_matrix_, -1), 0.0)


@pytest.mark.parametrize("method", METHODS)
def test_every_method_matches_the_svd_reference(method, rng):
    X = ordinary_data(rng)
    est = SVDWhitener(method=method, solver="qr").fit(X)
    assert_matches_svd_reference(est, X, method)
    assert whitening_error(est.transform(X)) < 1e-12
    assert_allclose(est.inverse_transform(est.transform(X)), X, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("method", METHODS)
def test_qr_agrees_with_the_covariance_solver_on_ordinary_data(method, rng):
    X = ordinary_data(rng)
    qr = SVDWhitener(method=method, solver="qr").fit(X)
    cov = SVDWhitener(method=method, solver="covariance").fit(X)
    assert_same_maps(qr, cov)
    assert_allclose(qr.transform(X), cov.transform(X), rtol=RTOL, atol=RTOL)


# --------------------------------------------------------------------------
# Frequency weights
# --------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_integer_weights_equal_repeated_rows(method, rng):
    X = ordinary_data(rng, n_samples=80, n_features=4)
    weight = rng.integers(0, 4, size=X.shape[0])
    est = SVDWhitener(method=method, solver="qr").fit(X, sample_weight=weight)
    repeated = np.repeat(X, weight, axis=0)
    ref = SVDWhitener(method=method, solver="qr").fit(repeated)
    assert est.n_samples_seen_ == weight.sum() == repeated.shape[0]
    assert_same_maps(est, ref)
    # And the weighted covariance is the repeated rows' own.
    assert_covariance_close(est.covariance_, repeated, 1e-12)
    assert_matches_svd_reference(est, repeated, method)


@pytest.mark.parametrize("method", METHODS)
def test_zero_weight_rows_are_absent(method, rng):
    X = ordinary_data(rng, n_samples=80, n_features=4)
    weight = np.ones(X.shape[0])
    absent = [3, 17, 40, 79]
    weight[absent] = 0.0
    # Rows that would change everything if they counted.
    X[absent] += np.array([1e4, -1e4, 3e3, 5e2])
    est = SVDWhitener(method=method, solver="qr").fit(X, sample_weight=weight)
    kept = np.delete(X, absent, axis=0)
    ref = SVDWhitener(method=method, solver="qr").fit(kept)
    assert est.n_samples_seen_ == kept.shape[0]
    assert_same_maps(est, ref)
    assert_covariance_close(est.covariance_, kept, 1e-12)


@pytest.mark.parametrize("method", METHODS)
def test_weighted_partial_fit_equals_weighted_fit(method, rng):
    X = ordinary_data(rng, n_samples=200, n_features=4)
    weight = rng.uniform(0.1, 3.0, size=X.shape[0])
    est = SVDWhitener(method=method, solver="qr")
    for rows in np.array_split(np.arange(X.shape[0]), 5):
        est.partial_fit(X[rows], sample_weight=weight[rows])
    ref = SVDWhitener(method=method, solver="qr").fit(X, sample_weight=weight)
    assert est.n_samples_seen_ == pytest.approx(weight.sum(), rel=1e-14)
    assert_same_maps(est, ref)
    # The weighted covariance, written out.
    mean = weight @ X / weight.sum()
    centred = X - mean
    expected = (centred * weight[:, None]).T @ centred / weight.sum()
    assert_allclose(est.mean_, mean, rtol=1e-13)
    std = np.sqrt(np.diag(expected))
    assert_allclose(
        est.covariance_ / np.outer(std, std),
        expected / np.outer(std, std),
        rtol=0,
        atol=1e-12,
    )


# --------------------------------------------------------------------------
# partial_fit is all or nothing; solvers do not mix
# --------------------------------------------------------------------------


def state_of(est):
    """A deep copy of everything the estimator holds."""
    return copy.deepcopy(vars(est))


def assert_same_value(a, b, path):
    if hasattr(a, "as_dict"):  # a statistic
        assert type(a) is type(b), path
        assert_same_value(a.as_dict(), b.as_dict(), path)
    elif hasattr(a, "derived"):  # the lazily derived map
        assert_same_value(a.derived, b.derived, path)
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            assert_same_value(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, np.ndarray):
        assert_array_equal(a, b, err_msg=path)
    else:
        assert a == b, path


def assert_same_state(before, est):
    assert_same_value(before, dict(vars(est)), "est")


def bad_batches(X):
    nan, inf, neg_inf = X[:6].copy(), X[:6].copy(), X[:6].copy()
    nan[2, 1] = np.nan
    inf[0, 3] = np.inf
    neg_inf[5, 0] = -np.inf
    strings = X[:6].astype(str)
    strings[1, 2] = "a"
    return {
        "nan": nan,
        "inf": inf,
        "-inf": neg_inf,
        "narrow": X[:6, :3],
        "wide": np.column_stack([X[:6], X[:6, 0]]),
        "strings": strings,
        "all strings": np.full((6, X.shape[1]), "x"),
    }


@pytest.mark.parametrize("derived", [False, True], ids=["lazy", "derived"])
@pytest.mark.parametrize("bad", list(bad_batches(np.zeros((6, 4)))))
@pytest.mark.parametrize("method", ["zca", "cholesky", "pca_cor"])
def test_rejected_batch_leaves_every_attribute_unchanged(method, bad, derived, rng):
    X = ordinary_data(rng, n_samples=90, n_features=4)
    est = SVDWhitener(method=method, solver="qr")
    est.partial_fit(X[:30]).partial_fit(X[30:60])
    if derived:
        est.transform(X[:2])
    else:
        assert "whitening_matrix_" not in vars(est)
    before = state_of(est)
    with pytest.raises(ValueError):
        est.partial_fit(bad_batches(X)[bad])
    assert_same_state(before, est)
    # The stream goes on as if the batch had never come.
    est.partial_fit(X[60:])
    assert_same_maps(est, SVDWhitener(method=method, solver="qr").fit(X))


@pytest.mark.parametrize(
    ("first", "then"), [("covariance", "qr"), ("qr", "covariance")]
)
def test_mixing_solvers_in_one_stream_raises(first, then, rng):
    X = ordinary_data(rng, n_samples=60, n_features=3)
    est = SVDWhitener(solver=first).partial_fit(X[:30])
    before = state_of(est)
    est.set_params(solver=then)
    with pytest.raises(ValueError, match=f"solver={first!r}") as raised:
        est.partial_fit(X[30:])
    assert f"solver={then!r}" in str(raised.value)
    est.set_params(solver=first)
    assert_same_state(before, est)
    # fit starts afresh with the new solver.
    est.set_params(solver=then).fit(X)
    assert_same_maps(est, SVDWhitener(solver=first).fit(X))


@pytest.mark.parametrize("solver", ["QR", "svd", "", None, 0, ["qr"], "Covariance"])
@pytest.mark.parametrize("call", ["fit", "partial_fit"])
def test_invalid_solver_raises(solver, call, rng):
    X = ordinary_data(rng, n_samples=20, n_features=3)
    est = SVDWhitener(solver=solver)
    message = re.escape(f"solver must be one of 'covariance', 'qr'; got {solver!r}")
    with pytest.raises(ValueError, match=message):
        getattr(est, call)(X)
    assert not hasattr(est, "n_features_in_")


def test_invalid_solver_mid_stream_leaves_the_state(rng):
    X = ordinary_data(rng, n_samples=60, n_features=3)
    est = SVDWhitener(solver="qr").partial_fit(X[:30])
    before = state_of(est)
    est.set_params(solver="householder")
    with pytest.raises(ValueError, match="solver must be one of"):
        est.partial_fit(X[30:])
    est.set_params(solver="qr")
    assert_same_state(before, est)


# --------------------------------------------------------------------------
# Streaming: any split gives the maps of one fit
# --------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_one_row_batches_after_the_first(method, rng):
    X = ordinary_data(rng, n_samples=120, n_features=4)
    batches = [X[:2], *(X[i : i + 1] for i in range(2, X.shape[0]))]
    est = streamed(method, batches)
    assert est.n_samples_seen_ == X.shape[0]
    assert_same_maps(est, SVDWhitener(method=method, solver="qr").fit(X))
    assert_covariance_close(est.covariance_, X, 1e-12)


@pytest.mark.parametrize("method", METHODS)
def test_batches_narrower_than_the_features(method, rng):
    # 3 rows of 10 features: every batch's factor is of rank 2 at most, and
    # the stream is singular until its 11th row.
    X = ordinary_data(rng, n_samples=90, n_features=10)
    est = streamed(method, np.array_split(X, 30))
    assert_same_maps(est, SVDWhitener(method=method, solver="qr").fit(X))
    assert_matches_svd_reference(est, X, method)


@pytest.mark.parametrize("how", ["fit", "partial_fit"])
def test_unweighted_sample_count_is_an_int(how, rng):
    # As with the covariance solver (and StandardScaler): the number of
    # rows, until weights come.
    X = ordinary_data(rng, n_samples=60, n_features=3)
    est, _ = fit_by(how, SVDWhitener(solver="qr"), X, 4)
    assert type(est.n_samples_seen_) is int
    assert est.n_samples_seen_ == X.shape[0]


@pytest.mark.parametrize("method", METHODS)
def test_stream_far_from_zero(method, rng):
    # The first batch sets the origin the state is kept about: 1e6 away
    # from zero, where sums about 0 would cancel six digits.
    X = ordinary_data(rng, n_samples=400, n_features=4, offset=1e6)
    bounds = [0, 7, 50, 51, 200, 333, 400]
    batches = [X[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    est = streamed(method, batches)
    assert_same_maps(est, SVDWhitener(method=method, solver="qr").fit(X))
    assert_covariance_close(est.covariance_, X, 1e-9)
    assert whitening_error(est.transform(X)) < 1e-9


@settings(max_examples=25, deadline=None, derandomize=True)
@given(splits=batch_splits(n_samples=60, max_cuts=8))
def test_any_split_of_near_collinear_data_whitens(splits):
    # cond 1e9 over any cut of the rows: the merges of the factors keep the
    # digits of one fit.
    X = near_collinear(1e9, n_samples=60, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = streamed("zca", [X[rows] for rows in at_least_two_first(splits)])
        assert whitening_error(est.transform(X)) <= COLLINEAR_BAR
    assert_covariance_close(est.covariance_, X, 1e-12)


# --------------------------------------------------------------------------
# Far from zero, in units 1e8 apart
# --------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["fit", "partial_fit", "dask"])
@pytest.mark.parametrize("method", METHODS)
def test_mixed_units_far_from_zero(method, how, rng):
    # Means of 1e8 with standard deviations from 1e-3 to 1e5: the data keep
    # about 5 digits of the smallest feature (ulp(1e8) is 1.5e-8), which
    # the output, a function of the same stored numbers, keeps too.
    X = mixed_units(rng)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est, Z = fit_by(how, SVDWhitener(method=method, solver="qr"), X, 5)
    assert whitening_error(Z) <= 1e-8
    # (np.cov's own rounding here is about 3e-9 of the spreads.)
    assert_covariance_close(est.covariance_, X, 1e-8)


# --------------------------------------------------------------------------
# Array API namespaces: the factor on the device
# --------------------------------------------------------------------------


@pytest.fixture(params=["torch", "array_api_strict"])
def xp(request, dispatch):
    import array_api_compat

    module = pytest.importorskip(request.param)
    return array_api_compat.array_namespace(module.asarray([0.0]))


def to_numpy(array):
    import array_api_compat

    if array_api_compat.is_torch_array(array):
        return array.detach().cpu().numpy()
    return np.from_dlpack(array)


def assert_in_namespace(array, xp, device, what):
    import array_api_compat

    assert array_api_compat.is_array_api_obj(array), f"{what} is {type(array)}"
    assert array_api_compat.array_namespace(array) is xp, what
    assert array_api_compat.device(array) == device, what
    assert array.dtype == xp.float64, f"{what} has dtype {array.dtype}"


@pytest.mark.parametrize("method", METHODS)
def test_device_fit_matches_numpy(xp, method, rng):
    import array_api_compat

    X = ordinary_data(rng, n_samples=300, n_features=4)
    X_device = xp.asarray(X, dtype=xp.float64)
    device = array_api_compat.device(X_device)
    est = SVDWhitener(method=method, solver="qr").fit(X_device)
    ref = SVDWhitener(method=method, solver="qr").fit(X)
    for name in FITTED:
        value = getattr(est, name)
        assert_in_namespace(value, xp, device, name)
        expected = getattr(ref, name)
        assert_allclose(
            to_numpy(value),
            expected,
            rtol=1e-10,
            atol=1e-10 * np.abs(expected).max(),
            err_msg=name,
        )
    Z = est.transform(X_device)
    assert_in_namespace(Z, xp, device, "transform")
    assert_allclose(to_numpy(Z), ref.transform(X), rtol=1e-10, atol=1e-10)
    back = est.inverse_transform(Z)
    assert_in_namespace(back, xp, device, "inverse_transform")
    assert_allclose(to_numpy(back), X, rtol=1e-12)


def assert_device_stream_equals_one_shot(xp, method, X, bounds):
    est = SVDWhitener(method=method, solver="qr")
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        est.partial_fit(xp.asarray(X[a:b], dtype=xp.float64))
    whole = SVDWhitener(method=method, solver="qr").fit(xp.asarray(X))
    assert est.n_samples_seen_ == X.shape[0]
    for name in FITTED:
        expected = to_numpy(getattr(whole, name))
        assert_allclose(
            to_numpy(getattr(est, name)),
            expected,
            rtol=1e-10,
            atol=1e-10 * np.abs(expected).max(),
            err_msg=name,
        )


@pytest.mark.parametrize("method", METHODS)
def test_device_partial_fit_equals_one_shot(xp, method, rng):
    X = ordinary_data(rng, n_samples=300, n_features=4)
    assert_device_stream_equals_one_shot(xp, method, X, [0, 100, 217, 300])


@pytest.mark.parametrize("method", ["zca", "pca_cor"])
def test_device_partial_fit_of_one_row_batches(xp, method, rng):
    # A batch of one row has no spread: its factor is 0.
    X = ordinary_data(rng, n_samples=300, n_features=4)
    assert_device_stream_equals_one_shot(xp, method, X, [0, 100, 101, 102, 300])


@pytest.mark.parametrize("method", ["zca", "pca_cor"])
def test_device_fit_with_a_constant_feature(xp, method, rng):
    X = ordinary_data(rng, n_samples=300, n_features=4)
    X[:, 2] = 7.0
    with pytest.warns(UserWarning, match="constant"):
        est = SVDWhitener(method=method, solver="qr").fit(xp.asarray(X))
    Z = to_numpy(est.transform(xp.asarray(X)))
    assert_allclose(Z[:, 2] if method == "zca" else Z[:, -1], 0.0, atol=1e-12)
    assert_allclose(
        np.linalg.eigvalsh(population_cov(Z)), [0.0, 1.0, 1.0, 1.0], atol=1e-9
    )


@pytest.mark.parametrize("method", METHODS)
def test_device_fit_whitens_near_collinear_data(xp, method):
    X = near_collinear(1e9, n_samples=2000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = SVDWhitener(method=method, solver="qr").fit(xp.asarray(X))
        Z = to_numpy(est.transform(xp.asarray(X)))
    assert whitening_error(Z) <= COLLINEAR_BAR


# --------------------------------------------------------------------------
# Factor.merge
# --------------------------------------------------------------------------


def reference_factor(X, origin):
    """A Factor written out: the weight, the mean from ``origin`` and the R
    of numpy's QR of the centred rows over sqrt(n), diagonal made >= 0."""
    n = X.shape[0]
    mean = X.mean(axis=0)
    R = positive_diagonal_rows(np.linalg.qr((X - mean) / np.sqrt(n), mode="r"))
    return Factor(weight=float(n), mean=mean - origin, factor=R, origin=origin)


@pytest.mark.parametrize("weighted", [False, True])
def test_householder_fallback_is_the_qr_of_the_weighted_rows(weighted, rng):
    # The kernel's last resort, for rows whose Gram matrix even the lifted
    # Cholesky refuses: Householder QR of row blocks, merged pairwise across
    # threads. Rows enough for several blocks and tasks; one exact duplicate.
    X = ordinary_data(rng, n_samples=40_000, n_features=6)
    X[:, 5] = X[:, 0]
    weight = rng.integers(0, 4, size=X.shape[0]).astype(float) if weighted else None
    center = X.mean(axis=0)
    found = _numpy_stats._householder_factor(X, weight, center)
    rows = X - center
    total = X.shape[0]
    if weighted:
        rows, total = rows * np.sqrt(weight)[:, None], weight.sum()
    expected = np.linalg.qr(rows / np.sqrt(total), mode="r")
    expected *= np.where(np.diagonal(expected) < 0, -1.0, 1.0)[:, None]
    assert np.all(np.diagonal(found) >= 0)
    assert_allclose(np.tril(found, -1), 0.0, atol=0)
    assert_allclose(found, expected, rtol=0, atol=1e-12 * np.abs(expected).max())


@pytest.mark.parametrize("cut", [150, 40, 299])
def test_merged_factor_is_the_factor_of_the_union(cut, rng):
    X = ordinary_data(rng, n_samples=300, n_features=4)
    # Each half about its own origin: the merge must move one to the other.
    a = reference_factor(X[:cut], origin=X[0].copy())
    b = reference_factor(X[cut:], origin=np.round(X[-1]))
    merged = a.merge(b)
    n = X.shape[0]
    assert merged.weight == n
    assert_allclose(merged.full_mean, X.mean(axis=0), rtol=1e-14)
    R = merged.factor
    assert R.shape == (4, 4)
    assert_array_equal(np.tril(R, -1), 0.0)
    assert (np.diag(R) >= 0).all()
    assert_covariance_close(R.T @ R, X, 1e-13)
    expected = np.linalg.qr((X - X.mean(axis=0)) / np.sqrt(n), mode="r")
    assert_allclose(
        R, positive_diagonal_rows(expected), rtol=1e-12, atol=1e-12 * np.abs(R).max()
    )
    # Either order gives the same union.
    other = b.merge(a)
    assert_allclose(other.full_mean, merged.full_mean, rtol=1e-14)
    assert_allclose(other.factor, R, rtol=1e-12, atol=1e-12 * np.abs(R).max())


def test_merged_factor_of_near_collinear_halves_keeps_the_small_singular_value():
    X = near_collinear(1e10, n_samples=400, seed=5)
    a = reference_factor(X[:200], origin=0.0)
    b = reference_factor(X[200:], origin=0.0)
    merged = a.merge(b)
    Xc = X - X.mean(axis=0)
    expected = np.linalg.svd(Xc / np.sqrt(X.shape[0]), compute_uv=False)
    # Every singular value to relative accuracy, the smallest 1e10 below
    # the largest: what a covariance (squared) cannot hold.
    found = np.linalg.svd(merged.factor, compute_uv=False)
    assert_allclose(found, expected, rtol=1e-5)


def test_merging_an_empty_factor_returns_the_other(rng):
    X = ordinary_data(rng, n_samples=50, n_features=3)
    full = reference_factor(X, origin=X[0].copy())
    empty = Factor(0.0, np.zeros(3), np.zeros((3, 3)), origin=0.0)
    for merged in (full.merge(empty), empty.merge(full)):
        assert merged.weight == full.weight
        assert_array_equal(merged.full_mean, full.full_mean)
        assert_array_equal(merged.factor, full.factor)


# --------------------------------------------------------------------------
# The covariance solver's warnings suggest qr; qr's own null directions
# --------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("condition", [1e6, 1e7])
def test_covariance_solver_warns_about_its_digits(condition, method):
    X = near_collinear(condition, n_samples=1000, seed=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        SVDWhitener(method=method, solver="covariance").fit(X)
    messages = warning_messages(caught)
    assert len(messages) == 1, messages
    (message,) = messages
    assert "digits" in message and "solver='qr'" in message
    assert "zero variance" not in message  # not a null direction
    digits = int(re.search(r"keeps only about (\d+) significant", message)[1])
    assert digits < 6
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Z = SVDWhitener(method=method, solver="qr").fit_transform(X)
    assert whitening_error(Z) <= COLLINEAR_BAR


def with_duplicated_column(rng):
    X = ordinary_data(rng, n_samples=100, n_features=3)
    return np.column_stack([X, X[:, 0]])


@pytest.mark.parametrize("method", SPECTRAL)
def test_covariance_solver_null_direction_warning_suggests_qr(method, rng):
    X = with_duplicated_column(rng)
    with pytest.warns(UserWarning, match="zero variance") as caught:
        SVDWhitener(method=method, solver="covariance").fit(X)
    assert any("solver='qr'" in message for message in warning_messages(caught))


@pytest.mark.parametrize("method", SPECTRAL)
def test_qr_duplicated_column_is_a_null_direction(method, rng):
    X = with_duplicated_column(rng)
    with pytest.warns(UserWarning, match="zero variance") as caught:
        est = SVDWhitener(method=method, solver="qr").fit(X)
    # Already the factor's solver: nothing to suggest.
    assert not any("solver='qr'" in m for m in warning_messages(caught))
    Z = est.transform(X)
    assert np.isfinite(Z).all()
    # Three white directions and one mapped to 0.
    assert_allclose(
        np.linalg.eigvalsh(population_cov(Z)), [0.0, 1.0, 1.0, 1.0], atol=1e-9
    )
    # (e0 - e3) spans the null space: mapped to 0.
    assert_allclose(
        est.transform(X[:1] + [[1.0, 0.0, 0.0, -1.0]]), est.transform(X[:1]), atol=1e-9
    )


def test_qr_cholesky_on_duplicated_column_asks_for_eps(rng):
    X = with_duplicated_column(rng)
    with pytest.raises(ValueError, match="eps"):
        SVDWhitener(method="cholesky", solver="qr").fit(X)
    est = SVDWhitener(method="cholesky", solver="qr", eps=1e-6).fit(X)
    # R' R + eps I, Cholesky-factored: the regularized map.
    S = population_cov(X) + 1e-6 * np.eye(4)
    expected = np.linalg.inv(np.linalg.cholesky(S)).T
    assert_allclose(
        est.whitening_matrix_, expected, rtol=1e-6, atol=1e-6 * np.abs(expected).max()
    )


# --------------------------------------------------------------------------
# float32 data: their own rounding decides what is null
# --------------------------------------------------------------------------


def float32_columns(rng, noise):
    a, b, c, e = rng.normal(size=(4, 1000))
    # a + b computed in float64, then the whole stored in float32: the third
    # column is the sum of the first two to float32's rounding only.
    return np.column_stack([a, b, a + b + noise * e, c]).astype(np.float32)


@pytest.mark.parametrize("method", SPECTRAL)
def test_float32_redundant_feature_is_a_null_direction(method, rng):
    X = float32_columns(rng, noise=0.0)
    # float32's rounding leaves the factor far above float64's: the
    # direction is null only because the data are float32.
    smallest = np.linalg.svd(
        (X - X.mean(axis=0, dtype=np.float64)) / X.std(axis=0, dtype=np.float64),
        compute_uv=False,
    )[-1] / np.sqrt(X.shape[0])
    assert smallest > 1e-10
    with pytest.warns(UserWarning, match="zero"):
        est = SVDWhitener(method=method, solver="qr").fit(X)
    Z = est.transform(X)
    assert Z.dtype == np.float32
    assert_allclose(
        np.linalg.eigvalsh(population_cov(Z)), [0.0, 1.0, 1.0, 1.0], atol=1e-5
    )


def test_float32_redundant_feature_cholesky_raises(rng):
    X = float32_columns(rng, noise=0.0)
    with pytest.raises(ValueError, match="eps"):
        SVDWhitener(method="cholesky", solver="qr").fit(X)


@pytest.mark.parametrize("method", METHODS)
def test_float32_data_in_float64_are_resolved(method, rng):
    # The same numbers as float64 values are exact: the small direction
    # is data there, and qr whitens it.
    X = float32_columns(rng, noise=0.0).astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Z = SVDWhitener(method=method, solver="qr").fit_transform(X)
    assert whitening_error(Z) <= COLLINEAR_BAR


@pytest.mark.parametrize("method", METHODS)
def test_float32_nearly_redundant_feature_is_kept(method, rng):
    X = float32_columns(rng, noise=1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = SVDWhitener(method=method, solver="qr").fit(X)
    Z = est.transform(X)
    assert Z.dtype == np.float32
    assert whitening_error(Z) < 1e-3


# --------------------------------------------------------------------------
# Persistence
# --------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_pickle_keeps_a_factor_not_yet_derived(method, rng):
    X = ordinary_data(rng, n_samples=120, n_features=4)
    est = streamed(method, [X[:40], X[40:80]])
    assert "whitening_matrix_" not in vars(est)
    loaded = pickle.loads(pickle.dumps(est))
    assert_array_equal(loaded.transform(X), est.transform(X))
    assert_allclose(
        loaded.transform(X),
        SVDWhitener(method=method, solver="qr").fit(X[:80]).transform(X),
        rtol=RTOL,
        atol=RTOL,
    )
    # The stream goes on, still a factor's.
    loaded.partial_fit(X[80:])
    est.partial_fit(X[80:])
    assert_array_equal(loaded.whitening_matrix_, est.whitening_matrix_)
    assert_same_maps(loaded, SVDWhitener(method=method, solver="qr").fit(X))
    with pytest.raises(ValueError, match="solver='qr'"):
        loaded.set_params(solver="covariance").partial_fit(X[:5])


@pytest.mark.parametrize("how", ["fit", "partial_fit"])
def test_skops_asks_to_trust_only_the_class(how, rng):
    sio = pytest.importorskip("skops.io")
    X = ordinary_data(rng, n_samples=120, n_features=4)
    est = SVDWhitener(method="cholesky", solver="qr")
    if how == "fit":
        est.fit(X)
    else:
        est.partial_fit(X[:60]).partial_fit(X[60:])
        assert "whitening_matrix_" not in vars(est)
    data = sio.dumps(est)
    own = "skbn._whitener.SVDWhitener"
    assert sio.get_untrusted_types(data=data) == [own]
    loaded = sio.loads(data, trusted=[own])
    assert_array_equal(loaded.transform(X), est.transform(X))
    loaded.partial_fit(X[:30])
    est.partial_fit(X[:30])
    assert_array_equal(loaded.transform(X), est.transform(X))
