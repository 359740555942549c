"""The estimator skeleton: a new estimator is its statistic and its derivation.

``MeanCenterer`` below is written here, on skbn's private base, with nothing but
its parameters, its statistic (the moments of :mod:`skbn._stats`, merged) and
its derivation (the mean, and the map ``x - mean``). Everything else, which
the four estimators share (validation, partial_fit's rollback, Dask, other
array namespaces, scikit-learn's checks), must come from the base. The
references are numpy's mean, written out.
"""

import copy

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.base import OneToOneFeatureMixin
from sklearn.utils.estimator_checks import parametrize_with_checks

from skbn._base import BatchTransformer
from skbn._stats import Moments
from tests.helpers import NO_ARRAY_API


class MeanCenterer(OneToOneFeatureMixin, BatchTransformer):
    """Subtract each feature's mean (NaN ignored), streamed."""

    _statistic = Moments

    def __init__(self, copy=True):
        self.copy = copy

    def _check_params(self):
        return None

    def _accumulate(self, backend, X, sample_weight, state, params):
        origin = None if state is None else state.anchor
        batch = backend.moments(X, sample_weight, origin)
        return batch if state is None else state.merge(batch)

    def _derive(self, moments, params):
        mean = moments.observed_mean
        return {
            "mean_": mean,
            "_shift": np.where(np.isnan(mean), 0.0, mean),
            "_factor": None,
            "_offset": None,
        }


def data(seed=0, n_samples=300, n_features=4):
    rng = np.random.default_rng(seed)
    offsets = np.array([1e9, -3.0, 0.0, 1e-6])[:n_features]
    return rng.normal(size=(n_samples, n_features)) + offsets


@parametrize_with_checks(
    [MeanCenterer()], expected_failed_checks=lambda estimator: NO_ARRAY_API
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_fit_partial_fit_and_transform_follow_the_formula():
    X = data()
    mean = X.mean(axis=0)
    fitted = MeanCenterer().fit(X)
    assert_allclose(fitted.mean_, mean, rtol=1e-15)
    streamed = MeanCenterer()
    for rows in np.array_split(np.arange(X.shape[0]), 7):
        streamed.partial_fit(X[rows])
    assert_allclose(streamed.mean_, mean, rtol=1e-15)
    X_new = data(seed=1, n_samples=20)
    assert_allclose(streamed.transform(X_new), X_new - mean, atol=1e-6)
    assert_allclose(streamed.inverse_transform(X_new - mean), X_new, rtol=1e-15)


@pytest.mark.parametrize(
    "bad",
    [
        lambda X: np.where(np.arange(X.size).reshape(X.shape) == 5, np.inf, X),
        lambda X: X[:, :2],
        lambda X: X.astype(str),
    ],
    ids=["infinity", "width", "strings"],
)
def test_a_failed_partial_fit_changes_nothing(bad):
    X = data()
    est = MeanCenterer().partial_fit(X[:100])
    before = copy.deepcopy(vars(est))
    with pytest.raises(ValueError):
        est.partial_fit(bad(X[100:200]))
    assert vars(est).keys() == before.keys()
    assert_allclose(est.mean_, before["mean_"], rtol=0)
    est.partial_fit(X[100:])
    assert_allclose(est.mean_, X.mean(axis=0), rtol=1e-15)


def test_negative_weights_change_nothing():
    X = data()
    est = MeanCenterer().partial_fit(X[:100])
    mean = est.mean_
    with pytest.raises(ValueError, match="non-negative"):
        est.partial_fit(X[100:110], sample_weight=-np.ones(10))
    assert est.mean_ is mean


def test_dask_fit_and_lazy_transform():
    da = pytest.importorskip("dask.array")
    X = data(n_samples=1000)
    dX = da.from_array(X, chunks=(130, 4))
    est = MeanCenterer().fit(dX)
    assert_allclose(est.mean_, X.mean(axis=0), rtol=1e-15)
    out = est.transform(dX)
    assert isinstance(out, da.Array)
    assert_allclose(out.compute(), X - X.mean(axis=0), atol=1e-6)


def test_array_api_namespace():
    xp = pytest.importorskip("array_api_strict")
    pytest.importorskip("array_api_compat")
    sklearn = pytest.importorskip("sklearn")
    X = data()
    try:
        with sklearn.config_context(array_api_dispatch=True):
            est = MeanCenterer().fit(xp.asarray(X))
            out = est.transform(xp.asarray(X))
    except (ImportError, RuntimeError) as exc:
        pytest.skip(f"scikit-learn's array API dispatch is not available: {exc}")
    assert type(est.mean_) is type(xp.asarray(X))
    assert_allclose(np.asarray(est.mean_), X.mean(axis=0), rtol=1e-15)
    assert_allclose(np.asarray(out), X - X.mean(axis=0), atol=1e-6)


def test_transform_leaves_the_estimator_as_it_was():
    X = data()
    est = MeanCenterer().fit(X)
    before = dict(vars(est))
    est.transform(X)
    est.inverse_transform(X)
    assert vars(est) == before
