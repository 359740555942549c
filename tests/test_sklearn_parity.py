"""Where skbn behaves as scikit-learn's scalers do: float16 output, the type of
``n_samples_seen_``, and the fit callbacks of scikit-learn 1.9.

References: StandardScaler, MinMaxScaler and RobustScaler on the same calls,
and float64 formulas (numpy's mean, std, extrema, median and percentiles)
rounded to float16.
"""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import sparse
from sklearn.base import clone
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

from skbn import (
    BatchStandardizer,
    MinMaxNormalizer,
    RobustStandardizer,
    SVDWhitener,
    ZScoreOutlierDetector,
)

# ---------------------------------------------------------------------------
# float16


def half_data():
    rng = np.random.default_rng(0)
    return (rng.normal(size=(200, 3)) * [1.0, 30.0, 0.01] + [5.0, -100.0, 0.5]).astype(
        np.float16
    )


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (BatchStandardizer(), StandardScaler()),
        (MinMaxNormalizer(), MinMaxScaler()),
        (RobustStandardizer(), RobustScaler()),
    ],
    ids=["BatchStandardizer", "MinMaxNormalizer", "RobustStandardizer"],
)
def test_float16_stays_float16_as_in_scikit_learn(ours, theirs):
    X = half_data()
    Z = ours.fit_transform(X)
    assert Z.dtype == theirs.fit_transform(X).dtype == np.float16
    assert ours.transform(X).dtype == np.float16
    assert ours.inverse_transform(Z).dtype == np.float16
    # Statistics in float64; each step of the map is stored in float16, so
    # the output is within a few float16 ulps of the float64 map, and no
    # further from it than scikit-learn's.
    X64 = X.astype(np.float64)
    if isinstance(ours, BatchStandardizer):
        assert ours.mean_.dtype == np.float64
        expected = (X64 - X64.mean(axis=0)) / X64.std(axis=0)
    elif isinstance(ours, RobustStandardizer):
        assert ours.center_.dtype == ours.scale_.dtype == np.float64
        low, high = np.percentile(X64, [25.0, 75.0], axis=0)
        expected = (X64 - np.median(X64, axis=0)) / (high - low)
    else:
        low, high = X64.min(axis=0), X64.max(axis=0)
        expected = (X64 - low) / (high - low)
    error = np.abs(Z.astype(np.float64) - expected).max()
    assert error < 8 * np.finfo(np.float16).eps
    assert error <= np.abs(theirs.transform(X).astype(np.float64) - expected).max()


# The robust sketch holds 200 rows whole: streamed, it is exact.
STREAMED = [(BatchStandardizer, "mean_"), (RobustStandardizer, "center_")]


@pytest.mark.parametrize(
    ("cls", "statistic"), STREAMED, ids=[cls.__name__ for cls, _ in STREAMED]
)
def test_float16_through_partial_fit_and_copy_false(cls, statistic):
    X = half_data()
    scaler = cls(copy=False)
    for part in np.array_split(X, 4):
        scaler.partial_fit(part)
    X_in = X.copy()
    Z = scaler.transform(X_in)
    assert Z is X_in and Z.dtype == np.float16  # in place, in float16
    assert_array_equal(Z, cls().fit(X).transform(X))


@pytest.mark.parametrize(
    ("cls", "statistic"), STREAMED, ids=[cls.__name__ for cls, _ in STREAMED]
)
def test_float16_dask_arrays_are_fitted_and_transformed_as_numpy_ones(cls, statistic):
    da = pytest.importorskip("dask.array")
    X = half_data()
    lazy = da.from_array(X, chunks=(50, 3))
    scaler = cls().fit(lazy)
    reference = cls().fit(X)
    assert_allclose(
        getattr(scaler, statistic), getattr(reference, statistic), rtol=1e-12
    )
    Z = scaler.transform(lazy).compute()
    assert Z.dtype == np.float16
    assert_array_equal(Z, reference.transform(X))


def test_whitener_and_detector_give_float64_for_float16():
    """As PCA does: a whitened column mixes every feature, float16 would
    round it once more; the detector's scores are float64 for every input."""
    X = half_data()
    assert SVDWhitener().fit_transform(X).dtype == np.float64
    assert ZScoreOutlierDetector().fit(X).score_samples(X).dtype == np.float64


# ---------------------------------------------------------------------------
# n_samples_seen_: one number without missing values, an array with them


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_weighted_counts_are_one_number_without_missing_values(fmt):
    rng = np.random.default_rng(1)
    for seed in range(200):
        X = sparse.random(30, 5, density=0.4, format=fmt, random_state=seed)
        weight = rng.uniform(0.1, 3.0, size=30)
        fitted = BatchStandardizer(with_mean=False).fit(X, sample_weight=weight)
        streamed = BatchStandardizer(with_mean=False)
        streamed.partial_fit(X[:10], sample_weight=weight[:10])
        streamed.partial_fit(X[10:], sample_weight=weight[10:])
        for est in (fitted, streamed):
            assert np.ndim(est.n_samples_seen_) == 0
            assert_allclose(float(est.n_samples_seen_), weight.sum(), rtol=1e-13)
        reference = StandardScaler(with_mean=False).fit(X, sample_weight=weight)
        assert np.ndim(reference.n_samples_seen_) == 0


@pytest.mark.parametrize("weighted", [False, True])
def test_counts_with_missing_values_are_those_of_standardscaler(weighted):
    """An array where the counts differ; one number where they happen to be
    equal, as StandardScaler gives."""
    X = np.random.default_rng(2).normal(size=(20, 3))
    X[[0, 1, 2], [0, 1, 2]] = np.nan  # one NaN per feature: equal counts
    X[5, 0] = np.nan
    weight = np.full(20, 2.0) if weighted else None
    for data in (X, X[1:]):  # feature 0 misses 2 values in X, 1 in X[1:]
        w = None if weight is None else weight[: data.shape[0]]
        ours = BatchStandardizer().fit(data, sample_weight=w)
        theirs = StandardScaler().fit(data, sample_weight=w)
        assert np.ndim(ours.n_samples_seen_) == np.ndim(theirs.n_samples_seen_)
        assert_array_equal(ours.n_samples_seen_, theirs.n_samples_seen_)
        # Counts of rows are integers, as the contract has them (scikit-learn
        # 1.9 reports them as floats).
        kind = np.asarray(ours.n_samples_seen_).dtype.kind
        assert kind == ("f" if weighted else "i")


def test_dense_counts_are_one_number_of_the_right_type():
    X = np.random.default_rng(3).normal(size=(20, 3))
    for weight, kind in ((None, "i"), (np.full(20, 0.5), "f")):
        ours = BatchStandardizer().fit(X, sample_weight=weight)
        theirs = StandardScaler().fit(X, sample_weight=weight)
        assert np.ndim(ours.n_samples_seen_) == np.ndim(theirs.n_samples_seen_) == 0
        assert np.asarray(ours.n_samples_seen_).dtype.kind == kind
        assert ours.n_samples_seen_ == theirs.n_samples_seen_


# ---------------------------------------------------------------------------
# Callbacks (scikit-learn 1.9 and later)


class Recorder:
    """A fit callback that writes down what it is told."""

    def __init__(self):
        self.log = []

    def setup(self, estimator, context):
        self.log.append(("setup",))

    def teardown(self, estimator, context):
        self.log.append(("teardown",))

    def on_fit_task_begin(
        self,
        estimator,
        context,
        *,
        X=None,
        y=None,
        metadata=None,
        fitted_estimator=None,
    ):
        self.log.append(
            ("begin", context.task_name, context.task_id, context.max_subtasks)
        )

    def on_fit_task_end(
        self,
        estimator,
        context,
        *,
        X=None,
        y=None,
        metadata=None,
        fitted_estimator=None,
    ):
        fitted = fitted_estimator is not None and hasattr(
            fitted_estimator, "n_features_in_"
        )
        self.log.append(("end", context.task_name, context.task_id, fitted))


def recorded(estimator, call, X):
    pytest.importorskip("sklearn.callback")
    recorder = Recorder()
    estimator.set_callbacks(recorder)
    call(estimator, X)
    return recorder.log


ESTIMATORS = [
    BatchStandardizer(),
    BatchStandardizer(momentum=0.1, eps=1e-5),
    MinMaxNormalizer(),
    RobustStandardizer(),
    SVDWhitener(method="cholesky"),
    ZScoreOutlierDetector(),
]


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=repr)
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_callbacks_hear_what_standardscaler_tells_them(estimator, method):
    X = np.random.default_rng(4).normal(size=(50, 3))

    def call(est, X):
        getattr(est, method)(X)
        getattr(est, method)(X)

    expected = recorded(StandardScaler(), call, X)
    assert expected[:2] == [("setup",), ("begin", "fit", 0, 0)]
    est = clone(estimator)
    assert recorded(est, call, X) == expected
    # Nothing of the callbacks' bookkeeping is left on the estimator.
    assert sorted(name for name in vars(est) if "callback" in name) == [
        "_skl_callbacks"
    ]


def test_a_fit_over_batches_reports_one_subtask_per_batch():
    X = np.random.default_rng(5).normal(size=(100, 3))
    est = BatchStandardizer(momentum=0.1, batch_size=30)
    log = recorded(est, lambda est, X: est.fit(X), X)
    # 100 rows in batches of 30: 30, 30, 30 and 10.
    batches = [("begin", "batch", i, 0) for i in range(4)]
    assert log[:2] == [("setup",), ("begin", "fit", 0, 4)]
    assert [entry for entry in log if entry[0] == "begin"][1:] == batches
    assert log[-2:] == [("end", "fit", 0, True), ("teardown",)]
    assert_allclose(
        est.mean_, BatchStandardizer(momentum=0.1, batch_size=30).fit(X).mean_
    )


def test_callbacks_are_torn_down_when_a_fit_fails():
    X = np.random.default_rng(6).normal(size=(50, 3))
    est = BatchStandardizer().fit(X)
    bad = X.copy()
    bad[3, 1] = np.inf

    def call(est, X):
        with pytest.raises(ValueError, match="infinity"):
            est.partial_fit(X)

    log = recorded(est, call, bad)
    assert log[0] == ("setup",) and log[-1] == ("teardown",)
    assert ("end", "fit", 0, True) not in log
    assert_array_equal(est.mean_, BatchStandardizer().fit(X).mean_)


def test_progress_bar_follows_a_long_fit_over_batches():
    callback = pytest.importorskip("sklearn.callback")
    pytest.importorskip("rich")
    X = np.random.default_rng(7).normal(size=(1000, 4))
    est = BatchStandardizer(momentum=0.1, batch_size=100)
    est.set_callbacks(callback.ProgressBar()).fit(X)
    assert est.n_batches_seen_ == 10
