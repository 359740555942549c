"""fit and partial_fit are transactional: a rejected batch leaves no trace.

A batch that raises leaves every fitted attribute exactly as it was, private
state included; a rejected first batch leaves no fitted attribute at all (not
even ``n_features_in_`` or ``feature_names_in_``); the next good batch
continues as if the bad one never came. Every estimator is held to this, in
each of the settings below, and checked against an independent reference.
"""

import copy
import dataclasses
import re
from typing import NamedTuple

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

from skbn import (
    BatchStandardizer,
    MinMaxNormalizer,
    RobustStandardizer,
    SVDWhitener,
    ZScoreOutlierDetector,
)
from skbn._whitening import METHODS
from tests import helpers

N_FEATURES = 5
COLUMNS = ["a", "b", "c", "d", "e"]


class Setting(helpers.Setting):
    """A setting, with what the bad-batch tests ask of it."""

    @property
    def momentum(self):
        return self.params.get("momentum")

    @property
    def methods(self):
        return FIT_METHODS[self.cls]

    @property
    def whitener(self):
        return self.cls is SVDWhitener

    @property
    def cholesky_without_eps(self):
        return (
            self.whitener
            and self.params.get("method") == "cholesky"
            and self.params.get("eps", 0.0) == 0.0
        )


FIT_METHODS = {
    BatchStandardizer: ["partial_fit", "partial_fit_transform"],
    MinMaxNormalizer: ["partial_fit"],
    RobustStandardizer: ["partial_fit"],
    ZScoreOutlierDetector: ["partial_fit"],
    SVDWhitener: ["partial_fit"],
}

SETTINGS = [
    Setting(BatchStandardizer, "default"),
    Setting(BatchStandardizer, "momentum", {"momentum": 0.1, "eps": 1e-5}),
    Setting(BatchStandardizer, "with_mean_false", {"with_mean": False}),
    Setting(MinMaxNormalizer, "default"),
    Setting(
        MinMaxNormalizer, "feature_range_clip", {"feature_range": (-1, 1), "clip": True}
    ),
    Setting(MinMaxNormalizer, "data_range", {"data_range": (0, 255)}),
    Setting(RobustStandardizer, "default"),
    Setting(
        RobustStandardizer,
        "unit_variance_no_centering",
        {"with_centering": False, "unit_variance": True},
    ),
    Setting(
        RobustStandardizer,
        "deciles_no_scaling",
        {"quantile_range": (10.0, 90.0), "with_scaling": False},
    ),
    Setting(RobustStandardizer, "rank_error", {"rank_error": 0.05}),
    Setting(ZScoreOutlierDetector, "default"),
    Setting(ZScoreOutlierDetector, "threshold", {"threshold": 2.0}),
    Setting(ZScoreOutlierDetector, "momentum", {"threshold": 2.0, "momentum": 0.2}),
    *(Setting(SVDWhitener, method, {"method": method}) for method in METHODS),
    Setting(SVDWhitener, "pca_2", {"method": "pca", "n_components": 2}),
    Setting(SVDWhitener, "zca_2", {"method": "zca", "n_components": 2}),
    Setting(SVDWhitener, "eps", {"eps": 1e-3}),
]


def setting_params(settings=SETTINGS):
    return [pytest.param(setting, id=setting.id) for setting in settings]


def good_batches():
    rng = np.random.default_rng(42)
    offsets = np.array([5.0, -3.0, 100.0, 0.5, 0.0])
    spreads = np.array([1.0, 10.0, 3.0, 0.1, 2.0])
    return [rng.normal(size=(n, N_FEATURES)) * spreads + offsets for n in (6, 4, 9)]


def good_x(n_samples=6):
    return good_batches()[0][:n_samples].copy()


# ---------------------------------------------------------------------------
# The catalogue of bad batches
# ---------------------------------------------------------------------------


class Case(NamedTuple):
    id: str
    X: object
    sample_weight: object
    match: str
    error: type = ValueError
    # A singular covariance is refused where its map is derived: by fit,
    # not by partial_fit, which only merges the statistics.
    refused_by: tuple = ("fit", "partial_fit")

    def raises(self):
        return pytest.raises(self.error, match=self.match)


def with_value(value, row=2, col=1):
    X = good_x()
    X[row, col] = value
    return X


def strings():
    X = good_x().astype(object)
    X[3, 2] = "a"
    return X


def bad_x_cases():
    """Bad data that is bad for every estimator, fitted or not."""
    return [
        Case("+inf", with_value(np.inf), None, "infinity"),
        Case("-inf", with_value(-np.inf), None, "infinity"),
        Case("string", strings(), None, "string"),
        Case("unicode", np.full((6, N_FEATURES), "a"), None, "string"),
        Case("complex", good_x() + 1j, None, "[Cc]omplex"),
        Case("1-D", good_x()[0], None, "2D array"),
        Case("3-D", good_x()[None], None, "dim 3"),
        Case("0 rows", np.empty((0, N_FEATURES)), None, "0 sample"),
    ]


def bad_weight_cases():
    negative = np.ones(6)
    negative[4] = -1.0
    nan_weight = np.ones(6)
    nan_weight[1] = np.nan
    inf_weight = np.ones(6)
    inf_weight[0] = np.inf
    return [
        Case("negative weight", good_x(), negative, "sample_weight.*negative"),
        Case("short weights", good_x(), np.ones(4), r"sample_weight.*shape \(6,\)"),
        Case("long weights", good_x(), np.ones(7), r"sample_weight.*shape \(6,\)"),
        Case("2-D weights", good_x(), np.ones((6, 1)), r"sample_weight.*shape"),
        Case("all-zero weights", good_x(), np.zeros(6), "sample_weight.*all zero"),
        Case("NaN weight", good_x(), nan_weight, "sample_weight.*(NaN|finite)"),
        Case("inf weight", good_x(), inf_weight, "sample_weight.*(inf|finite)"),
    ]


def sparse_cases(setting):
    if setting.cls is BatchStandardizer:
        if not setting.params.get("with_mean", True):
            return []
        # Centering would densify: BatchStandardizer's own error, a ValueError.
        error = ValueError
    else:
        # Dense-only estimators reject sparse input as scikit-learn does.
        error = TypeError
    return [
        Case("sparse", sp.csr_matrix(good_x()), None, "[Ss]parse", error),
        Case("sparse csc", sp.csc_matrix(good_x()), None, "[Ss]parse", error),
    ]


def momentum_cases(setting):
    # BatchNorm's unbiased variance needs more than one sample's worth of
    # weight in every batch.
    if setting.momentum is None:
        return []
    one_row_counts = np.zeros(6)
    one_row_counts[2] = 1.0
    return [
        Case("1 row", good_x(1), None, "1 sample"),
        Case("1 row, weight 5", good_x(1), np.array([5.0]), "1 sample"),
        Case("weights sum to 1", good_x(), np.full(6, 1 / 6), "sum to more than 1"),
        Case("one weight of 1", good_x(), one_row_counts, "sum to more than 1"),
        Case("weights sum < 1", good_x(), np.full(6, 0.1), "sum to more than 1"),
    ]


def nan_cases(setting):
    # A covariance needs complete rows: NaN, which the others take as missing,
    # is bad data for the whitener, even in a row that does not count.
    if not setting.whitener:
        return []
    weights = np.ones(6)
    weights[2] = 0.0
    X = good_x()
    X[:, 4] = np.nan
    return [
        Case("NaN", with_value(np.nan), None, "NaN"),
        Case("NaN in a zero-weight row", with_value(np.nan), weights, "NaN"),
        Case("all-NaN column", X, None, "NaN"),
        Case("all NaN", np.full((6, N_FEATURES), np.nan), None, "NaN"),
    ]


def first_batch_cases(setting):
    """Batches bad only as the first one, before a covariance exists."""
    if not setting.whitener:
        return []
    one_positive = np.zeros(6)
    one_positive[3] = 5.0
    cases = [
        Case("1 row", good_x(1), None, "1 sample"),
        Case("1 row, weight 5", good_x(1), np.array([5.0]), "1 sample"),
        Case("one positive weight", good_x(), one_positive, "1 sample"),
    ]
    if setting.cholesky_without_eps:
        duplicated = good_x()
        duplicated[:, 3] = duplicated[:, 1]
        cases += [
            Case(
                "duplicated column",
                duplicated,
                None,
                "positive definite",
                refused_by=("fit",),
            ),
            Case(
                "2 rows, rank 1",
                good_x(2),
                None,
                "positive definite",
                refused_by=("fit",),
            ),
        ]
    return cases


def cases_for(setting, *, fitted):
    cases = (
        bad_x_cases()
        + bad_weight_cases()
        + sparse_cases(setting)
        + momentum_cases(setting)
        + nan_cases(setting)
    )
    if not fitted:
        cases += first_batch_cases(setting)
    else:
        name = setting.cls.__name__
        message = f"X has 3 features, but {name} is expecting 5 features as input"
        cases.append(Case("3 features", good_x()[:, :3], None, re.escape(message)))
        cases.append(
            Case(
                "7 features", np.hstack([good_x(), good_x()[:, :2]]), None, "7 features"
            )
        )
    return cases


def case_params(*, fitted, settings=SETTINGS):
    return [
        pytest.param(setting, case, id=f"{setting.id}-{case.id}")
        for setting in settings
        for case in cases_for(setting, fitted=fitted)
    ]


def case_method_params(*, fitted):
    return [
        pytest.param(setting, case, method, id=f"{setting.id}-{case.id}-{method}")
        for setting in SETTINGS
        for case in cases_for(setting, fitted=fitted)
        for method in setting.methods
        if method in case.refused_by or method not in ("fit", "partial_fit")
    ]


# ---------------------------------------------------------------------------
# Helpers: state snapshot
# ---------------------------------------------------------------------------


def snapshot(est):
    return {key: copy.deepcopy(value) for key, value in vars(est).items()}


def assert_same_value(old, new, where):
    """Exact equality, recursing into arrays, containers and plain objects."""
    if isinstance(old, np.ndarray) or isinstance(new, np.ndarray):
        assert isinstance(old, np.ndarray), where
        assert isinstance(new, np.ndarray), where
        assert old.dtype == new.dtype, where
        assert old.shape == new.shape, where
        assert np.array_equal(old, new, equal_nan=old.dtype.kind in "fc"), where
        return
    assert type(old) is type(new), where
    if dataclasses.is_dataclass(old):
        for field in dataclasses.fields(old):
            assert_same_value(getattr(old, field.name), getattr(new, field.name), where)
    elif isinstance(old, dict):
        assert old.keys() == new.keys(), where
        for key in old:
            assert_same_value(old[key], new[key], f"{where}.{key}")
    elif isinstance(old, (list, tuple)):
        assert len(old) == len(new), where
        for a, b in zip(old, new, strict=True):
            assert_same_value(a, b, where)
    elif hasattr(old, "__dict__") and not isinstance(old, type):
        assert_same_value(vars(old), vars(new), where)
    else:
        assert old == new or (old != old and new != new), where


def assert_state_equal(before, est):
    after = vars(est)
    assert before.keys() == after.keys()
    for key, old in before.items():
        assert_same_value(old, after[key], key)


def fitted_attributes(est):
    return sorted(key for key in vars(est) if key.endswith("_"))


def assert_unfitted(est, setting):
    assert fitted_attributes(est) == []
    # Private state (such as the detector's standardizer) must not appear
    # either: the estimator is exactly a freshly built one.
    assert vars(est) == vars(setting.make())


def feed(est, batches, method="partial_fit"):
    for batch in batches:
        getattr(est, method)(batch)
    return est


def output(est, X):
    if isinstance(est, ZScoreOutlierDetector):
        return est.score_samples(X)
    return est.transform(X)


# ---------------------------------------------------------------------------
# Independent references
# ---------------------------------------------------------------------------


def expected_stats(params, batches):
    """StandardScaler, or BatchNorm's update written out."""
    momentum = params.get("momentum")
    if momentum is None:
        ref = StandardScaler(with_mean=params.get("with_mean", True))
        ref.fit(np.vstack(batches))
        return ref.mean_, ref.var_
    return helpers.running_stats_reference(batches, momentum)[-1]


def probe(batches):
    """The data, and rows reaching beyond its range on both sides of every feature."""
    X = np.vstack(batches)
    middle = (X.max(axis=0) + X.min(axis=0)) / 2
    return np.vstack([X, middle + 2 * (X - middle)])


def named_like(est, X):
    """X with the column names the estimator was fitted with, if any."""
    if not hasattr(est, "feature_names_in_"):
        return X
    pd = pytest.importorskip("pandas")
    return pd.DataFrame(X, columns=est.feature_names_in_)


def check_standardizer(est, setting, batches):
    mean, var = expected_stats(setting.params, batches)
    assert_allclose(est.mean_, mean, rtol=1e-12)
    assert_allclose(est.var_, var, rtol=1e-12)


def check_minmax(est, setting, batches):
    X = np.vstack(batches)
    lo, hi = setting.params.get("feature_range", (0, 1))
    clip = setting.params.get("clip", False)
    data_range = setting.params.get("data_range")
    if data_range is None:
        ref = MinMaxScaler(feature_range=(lo, hi), clip=clip).fit(X)
        expected = {
            name: getattr(ref, name)
            for name in ("data_min_", "data_max_", "data_range_", "scale_", "min_")
        }
        expected_output = ref.transform(probe(batches))
    else:
        low, high = data_range
        scale = (hi - lo) / (high - low)
        expected = {
            "data_min_": np.full(N_FEATURES, low),
            "data_max_": np.full(N_FEATURES, high),
            "data_range_": np.full(N_FEATURES, high - low),
            "scale_": np.full(N_FEATURES, scale),
            "min_": np.full(N_FEATURES, lo - low * scale),
        }
        expected_output = (probe(batches) - low) / (high - low) * (hi - lo) + lo
        if clip:
            expected_output = np.clip(expected_output, lo, hi)
    for name, value in expected.items():
        assert_allclose(getattr(est, name), value, rtol=1e-12, err_msg=name)
    assert est.n_samples_seen_ == len(X)
    assert est.n_features_in_ == N_FEATURES
    assert_allclose(
        est.transform(named_like(est, probe(batches))), expected_output, atol=1e-12
    )


def check_detector(est, setting, batches):
    if setting.momentum is None:
        X = np.vstack(batches)
        mean, var = X.mean(axis=0), X.var(axis=0)
    else:
        mean, var = helpers.running_stats_reference(batches, setting.momentum)[-1]
    threshold = setting.params.get("threshold", 3.0)
    assert_allclose(est.mean_, mean, rtol=1e-12)
    assert_allclose(est.var_, var, rtol=1e-12)
    assert_allclose(est.scale_, np.sqrt(var), rtol=1e-12)
    assert est.n_batches_seen_ == len(batches)
    assert est.n_samples_seen_ == sum(len(batch) for batch in batches)
    assert est.offset_ == -threshold
    P = probe(batches)
    largest_z = np.max(np.abs(P - mean) / np.sqrt(var), axis=1)
    assert_allclose(est.score_samples(named_like(est, P)), -largest_z, rtol=1e-12)
    assert_array_equal(
        est.predict(named_like(est, P)), np.where(largest_z > threshold, -1, 1)
    )


def check_robust(est, setting, batches):
    """RobustScaler on all the rows, and numpy's percentiles: the streams
    here (19 rows) are far below the sketch's capacity, so exact."""
    X = np.vstack(batches)
    params = {k: v for k, v in setting.params.items() if k != "rank_error"}
    ref = RobustScaler(**params).fit(X)
    for name in ("center_", "scale_"):
        expected = getattr(ref, name)
        if expected is None:
            assert getattr(est, name) is None, name
        else:
            assert_allclose(getattr(est, name), expected, rtol=1e-12, err_msg=name)
    q_min, q_max = setting.params.get("quantile_range", (25.0, 75.0))
    assert_allclose(
        est.quantiles_, np.percentile(X, [q_min, 50.0, q_max], axis=0), rtol=1e-12
    )
    assert_array_equal(est.rank_error_, np.zeros(N_FEATURES))
    assert est.n_samples_seen_ == len(X)
    assert est.n_features_in_ == N_FEATURES
    P = probe(batches)
    assert_allclose(
        est.transform(named_like(est, P)), ref.transform(P), rtol=1e-12, atol=1e-12
    )


def expected_output_covariance(params, covariance):
    """Covariance of the whitened training data, from Kessy et al.'s maps."""
    method = params.get("method", "zca")
    n_components = params.get("n_components")
    eps = params.get("eps", 0.0)
    n_features = covariance.shape[0]
    if n_components is None:
        if eps == 0:
            return np.eye(n_features)
        # W = U (lam + eps)^-1/2 U': W' Sigma W = Sigma inv(Sigma + eps I)
        assert method == "zca"
        return covariance @ np.linalg.inv(covariance + eps * np.eye(n_features))
    if method.startswith("pca"):
        return np.eye(n_components)
    # Truncated ZCA whitens the leading directions and maps the rest to 0.
    assert method == "zca"
    values, vectors = np.linalg.eigh(covariance)
    leading = vectors[:, np.argsort(values)[::-1][:n_components]]
    return leading @ leading.T


def check_whitener(est, setting, batches):
    X = np.vstack(batches)
    params = setting.params
    mean = np.mean(X, axis=0)
    covariance = np.cov(X.T, ddof=0)
    scale = np.abs(covariance).max()
    assert_allclose(est.mean_, mean, rtol=1e-12, atol=1e-12 * np.abs(X).max())
    assert_allclose(est.covariance_, covariance, rtol=1e-12, atol=1e-12 * scale)
    assert est.n_samples_seen_ == len(X)
    assert est.n_features_in_ == N_FEATURES
    n_components = params.get("n_components")
    method = params.get("method", "zca")
    k = N_FEATURES if n_components is None else n_components
    if method.endswith("_cor"):
        std = np.sqrt(np.diag(covariance))
        target = covariance / np.outer(std, std)
    else:
        target = covariance
    eigenvalues = np.sort(np.linalg.eigvalsh(target))[::-1][:k]
    assert_allclose(
        est.explained_variance_, eigenvalues, rtol=1e-9, atol=1e-12 * eigenvalues[0]
    )
    Z = est.transform(named_like(est, X))
    expected = expected_output_covariance(params, covariance)
    assert Z.shape == (len(X), expected.shape[0])
    assert_allclose(np.mean(Z, axis=0), 0.0, atol=1e-8)
    assert_allclose(np.cov(Z.T, ddof=0), expected, atol=1e-8)
    if n_components is None and params.get("eps", 0.0) == 0:
        # Every whitening of Kessy et al.: W W' = inv(Sigma).
        W = est.whitening_matrix_
        precision = np.linalg.inv(covariance)
        assert_allclose(W @ W.T, precision, atol=1e-8 * np.abs(precision).max())
        assert_allclose(est.inverse_transform(Z), X, atol=1e-9 * np.abs(X).max())


REFERENCES = {
    BatchStandardizer: check_standardizer,
    MinMaxNormalizer: check_minmax,
    RobustStandardizer: check_robust,
    ZScoreOutlierDetector: check_detector,
    SVDWhitener: check_whitener,
}


def assert_matches_reference(est, setting, batches):
    REFERENCES[setting.cls](est, setting, batches)


def assert_continues_like_good_batches_only(est, setting, good, method):
    fresh = feed(setting.make(), good, method)
    assert fitted_attributes(est) == fitted_attributes(fresh)
    assert_state_equal(snapshot(fresh), est)
    assert_matches_reference(est, setting, good)
    if hasattr(est, "n_batches_seen_"):
        assert est.n_batches_seen_ == len(good)
    assert est.n_samples_seen_ == sum(len(batch) for batch in good)
    X = np.vstack(good)
    assert np.array_equal(output(est, X), output(fresh, X))


# ---------------------------------------------------------------------------
# A bad batch after good ones
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(("setting", "case", "method"), case_method_params(fitted=True))
def test_bad_batch_leaves_state_unchanged(setting, case, method):
    good = good_batches()
    est = feed(setting.make(), good[:1], method)
    before = snapshot(est)
    with case.raises():
        getattr(est, method)(case.X, sample_weight=case.sample_weight)
    assert_state_equal(before, est)
    feed(est, good[1:], method)
    assert_continues_like_good_batches_only(est, setting, good, method)


@pytest.mark.parametrize(("setting", "case"), case_params(fitted=True))
def test_several_bad_batches_in_a_row(setting, case):
    good = good_batches()
    est = setting.make()
    est.partial_fit(good[0])
    for _ in range(2):
        with case.raises():
            est.partial_fit(case.X, sample_weight=case.sample_weight)
    est.partial_fit(good[1])
    with case.raises():
        est.partial_fit(case.X, sample_weight=case.sample_weight)
    est.partial_fit(good[2])
    assert_continues_like_good_batches_only(est, setting, good, "partial_fit")


@pytest.mark.parametrize("setting", setting_params())
def test_whole_catalogue_in_a_row(setting):
    good = good_batches()
    est = feed(setting.make(), good[:2])
    before = snapshot(est)
    for case in cases_for(setting, fitted=True):
        with case.raises():
            est.partial_fit(case.X, sample_weight=case.sample_weight)
    assert_state_equal(before, est)
    est.partial_fit(good[2])
    assert_continues_like_good_batches_only(est, setting, good, "partial_fit")


# ---------------------------------------------------------------------------
# A bad first batch
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "case", "method"), case_method_params(fitted=False)
)
def test_rejected_first_batch_leaves_no_fitted_attribute(setting, case, method):
    est = setting.make()
    with case.raises():
        getattr(est, method)(case.X, sample_weight=case.sample_weight)
    assert_unfitted(est, setting)
    good = good_batches()
    feed(est, good, method)
    assert_continues_like_good_batches_only(est, setting, good, method)


@pytest.mark.parametrize("setting", setting_params())
def test_rejected_first_dataframe_leaves_no_feature_names(setting):
    pd = pytest.importorskip("pandas")
    X_bad = with_value(np.inf)
    est = setting.make()
    with pytest.raises(ValueError, match="infinity"):
        est.partial_fit(pd.DataFrame(X_bad, columns=COLUMNS))
    assert not hasattr(est, "feature_names_in_")
    assert not hasattr(est, "n_features_in_")
    assert_unfitted(est, setting)
    good = good_batches()
    other = ["v", "w", "x", "y", "z"]
    for batch in good:
        est.partial_fit(pd.DataFrame(batch, columns=other))
    assert list(est.feature_names_in_) == other
    assert_matches_reference(est, setting, good)


# ---------------------------------------------------------------------------
# DataFrame column names
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "columns",
    [["f", "g", "h", "i", "j"], ["a", "b", "c", "e", "d"]],
    ids=["other names", "other order"],
)
@pytest.mark.parametrize("setting", setting_params())
def test_dataframe_with_wrong_column_names_is_rejected(setting, columns):
    pd = pytest.importorskip("pandas")
    good = good_batches()
    est = setting.make()
    est.partial_fit(pd.DataFrame(good[0], columns=COLUMNS))
    before = snapshot(est)
    with pytest.raises(ValueError, match="feature names"):
        est.partial_fit(pd.DataFrame(good_x(), columns=columns))
    assert_state_equal(before, est)
    assert list(est.feature_names_in_) == COLUMNS
    for batch in good[1:]:
        est.partial_fit(pd.DataFrame(batch, columns=COLUMNS))
    fresh = setting.make()
    for batch in good:
        fresh.partial_fit(pd.DataFrame(batch, columns=COLUMNS))
    assert_state_equal(snapshot(fresh), est)
    assert_matches_reference(est, setting, good)


@pytest.mark.parametrize("setting", setting_params())
def test_failed_fit_keeps_the_feature_names(setting):
    # fit starts over, so the names are dropped while validating a new X: a
    # rejected X must bring them back.
    pd = pytest.importorskip("pandas")
    good = good_batches()
    est = setting.make().fit(pd.DataFrame(good[0], columns=COLUMNS))
    before = snapshot(est)
    with pytest.raises(ValueError, match="infinity"):
        est.fit(with_value(np.inf))
    assert_state_equal(before, est)
    with pytest.raises(ValueError, match="infinity"):
        est.fit(pd.DataFrame(with_value(np.inf), columns=["v", "w", "x", "y", "z"]))
    assert_state_equal(before, est)
    assert list(est.feature_names_in_) == COLUMNS


# ---------------------------------------------------------------------------
# A failed fit leaves a fitted estimator unchanged
# ---------------------------------------------------------------------------


# fit forgets the old state, so a new number of features is not an error.
@pytest.mark.parametrize(("setting", "case"), case_params(fitted=False))
def test_failed_fit_leaves_fitted_estimator_unchanged(setting, case):
    good = good_batches()
    est = feed(setting.make(), good[:2])
    before = snapshot(est)
    with case.raises():
        est.fit(case.X, sample_weight=case.sample_weight)
    assert_state_equal(before, est)
    est.partial_fit(good[2])
    assert_continues_like_good_batches_only(est, setting, good, "partial_fit")


@pytest.mark.parametrize(("setting", "case"), case_params(fitted=False))
def test_failed_fit_on_unfitted_estimator_leaves_nothing(setting, case):
    est = setting.make()
    with case.raises():
        est.fit(case.X, sample_weight=case.sample_weight)
    assert_unfitted(est, setting)
    good = good_batches()
    est.fit(good[0])
    assert_matches_reference(est, setting, good[:1])


@pytest.mark.parametrize("fitted", [False, True])
def test_fit_failing_in_a_later_batch_of_its_training_pass(fitted):
    # batch_size=5 feeds rows [0:5], [5:10], [10:15], [15:19]; the weights of
    # the second batch sum to 1, which momentum mode rejects after the first
    # batch was already merged: the whole fit must fail without a trace.
    setting = Setting(
        BatchStandardizer, "batch_size", {"momentum": 0.1, "batch_size": 5}
    )
    good = good_batches()
    est = setting.make()
    if fitted:
        est.partial_fit(good[0])
    before = snapshot(est)
    X = np.vstack(good)
    w = np.ones(len(X))
    w[5:10] = 0.0
    w[6] = 1.0
    with pytest.raises(ValueError, match="sum to more than 1"):
        est.fit(X, sample_weight=w)
    assert_state_equal(before, est)
    if fitted:
        feed(est, good[1:])
        assert_continues_like_good_batches_only(est, setting, good, "partial_fit")
    else:
        assert fitted_attributes(est) == []


# ---------------------------------------------------------------------------
# Invalid parameters: ValueError from fit, naming the parameter
# ---------------------------------------------------------------------------

INVALID_PARAMS = {
    BatchStandardizer: [
        ({"momentum": 0}, "momentum"),
        ({"momentum": 0.0}, "momentum"),
        ({"momentum": -0.1}, "momentum"),
        ({"momentum": 1.5}, "momentum"),
        ({"momentum": True}, "momentum"),
        ({"momentum": np.nan}, "momentum"),
        ({"momentum": "0.1"}, "momentum"),
        ({"eps": -1}, "eps"),
        ({"eps": np.nan}, "eps"),
        ({"eps": np.inf}, "eps"),
        ({"eps": None}, "eps"),
        ({"with_mean": "yes"}, "with_mean"),
        ({"with_std": "no"}, "with_std"),
        ({"copy": "no"}, "copy"),
        ({"gamma": np.ones(3)}, "gamma"),
        ({"gamma": np.ones((5, 1))}, "gamma"),
        ({"gamma": np.inf}, "gamma"),
        ({"gamma": np.array([1.0, 1.0, np.nan, 1.0, 1.0])}, "gamma"),
        ({"gamma": "big"}, "gamma"),
        ({"beta": np.zeros(6)}, "beta"),
        ({"beta": -np.inf}, "beta"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": -5}, "batch_size"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"batch_size": 1, "momentum": 0.1}, "batch_size"),
    ],
    MinMaxNormalizer: [
        ({"feature_range": (1, 0)}, "feature_range"),
        ({"feature_range": (0, 0)}, "feature_range"),
        ({"feature_range": (0, np.inf)}, "feature_range"),
        ({"feature_range": (np.nan, 1)}, "feature_range"),
        ({"feature_range": (0, 1, 2)}, "feature_range"),
        ({"feature_range": 1}, "feature_range"),
        ({"feature_range": "01"}, "feature_range"),
        ({"feature_range": (np.zeros(5), np.ones(5))}, "feature_range"),
        ({"data_range": (np.zeros(3), np.ones(3))}, "data_range"),
        ({"data_range": (0, np.full(6, 255.0))}, "data_range"),
        ({"data_range": (np.zeros((5, 1)), 255)}, "data_range"),
        ({"data_range": (1, 1)}, "data_range"),
        ({"data_range": (255, 0)}, "data_range"),
        (
            {"data_range": (np.zeros(5), np.array([1.0, 1.0, 0.0, 1.0, 1.0]))},
            "data_range",
        ),
        ({"data_range": (0, np.inf)}, "data_range"),
        ({"data_range": (np.nan, 255)}, "data_range"),
        ({"data_range": ("a", "b")}, "data_range"),
        ({"data_range": 255}, "data_range"),
        ({"data_range": (0, 128, 255)}, "data_range"),
        ({"clip": "yes"}, "clip"),
        ({"copy": "no"}, "copy"),
    ],
    RobustStandardizer: [
        ({"with_centering": "yes"}, "with_centering"),
        ({"with_scaling": None}, "with_scaling"),
        ({"unit_variance": 1}, "unit_variance"),
        ({"copy": "no"}, "copy"),
        ({"quantile_range": (75.0, 25.0)}, "quantile_range"),
        ({"quantile_range": (-1.0, 50.0)}, "quantile_range"),
        ({"quantile_range": (0.0, 101.0)}, "quantile_range"),
        ({"quantile_range": (np.nan, 75.0)}, "quantile_range"),
        ({"quantile_range": (25.0, np.inf)}, "quantile_range"),
        ({"quantile_range": (True, 75.0)}, "quantile_range"),
        ({"quantile_range": (25.0,)}, "quantile_range"),
        ({"quantile_range": (10.0, 50.0, 90.0)}, "quantile_range"),
        ({"quantile_range": 25.0}, "quantile_range"),
        ({"quantile_range": "ab"}, "quantile_range"),
        ({"quantile_range": None}, "quantile_range"),
        # The normal distribution's range is infinite, or zero.
        ({"quantile_range": (0.0, 75.0), "unit_variance": True}, "unit_variance"),
        ({"quantile_range": (25.0, 100.0), "unit_variance": True}, "unit_variance"),
        ({"quantile_range": (50.0, 50.0), "unit_variance": True}, "unit_variance"),
        ({"rank_error": 0.0}, "rank_error"),
        ({"rank_error": -0.01}, "rank_error"),
        ({"rank_error": 1.5}, "rank_error"),
        ({"rank_error": np.nan}, "rank_error"),
        ({"rank_error": True}, "rank_error"),
        ({"rank_error": "0.01"}, "rank_error"),
        ({"rank_error": None}, "rank_error"),
    ],
    ZScoreOutlierDetector: [
        ({"threshold": 0}, "threshold"),
        ({"threshold": 0.0}, "threshold"),
        ({"threshold": -1.0}, "threshold"),
        ({"threshold": np.nan}, "threshold"),
        ({"threshold": np.inf}, "threshold"),
        ({"threshold": True}, "threshold"),
        ({"threshold": "3"}, "threshold"),
        ({"threshold": None}, "threshold"),
        ({"threshold": np.full(5, 3.0)}, "threshold"),
        ({"momentum": 0.0}, "momentum"),
        ({"momentum": -0.1}, "momentum"),
        ({"momentum": 1.5}, "momentum"),
        ({"momentum": True}, "momentum"),
        ({"momentum": np.nan}, "momentum"),
        ({"momentum": "0.2"}, "momentum"),
    ],
    SVDWhitener: [
        ({"method": "svd"}, "method"),
        ({"method": "ZCA"}, "method"),
        ({"method": None}, "method"),
        ({"method": ["zca"]}, "method"),
        ({"n_components": 0}, "n_components"),
        ({"n_components": -1}, "n_components"),
        ({"n_components": 2.0}, "n_components"),
        ({"n_components": True}, "n_components"),
        ({"n_components": "2"}, "n_components"),
        # Bounded by the number of features, so known only once X is seen.
        ({"n_components": 6}, "n_components"),
        ({"method": "cholesky", "n_components": 2}, "n_components"),
        ({"eps": -1e-3}, "eps"),
        ({"eps": np.nan}, "eps"),
        ({"eps": np.inf}, "eps"),
        ({"eps": None}, "eps"),
        ({"eps": "0"}, "eps"),
        ({"copy": "no"}, "copy"),
    ],
}


def params_id(params):
    return ",".join(f"{key}={value!r}" for key, value in params.items())


def invalid_param_cases():
    return [
        pytest.param(
            cls, params, name, method, id=f"{cls.__name__}-{params_id(params)}-{method}"
        )
        for cls, cases in INVALID_PARAMS.items()
        for params, name in cases
        for method in ["fit", *FIT_METHODS[cls]]
    ]


def invalid_param_after_fitting_cases():
    return [
        pytest.param(setting, params, name, id=f"{setting.id}-{params_id(params)}")
        for setting in SETTINGS
        for params, name in INVALID_PARAMS[setting.cls]
    ]


@pytest.mark.parametrize(("cls", "params", "name", "method"), invalid_param_cases())
def test_invalid_parameter_raises_from_fit(cls, params, name, method):
    est = cls(**params)  # __init__ only stores
    assert est.get_params()[next(iter(params))] is next(iter(params.values()))
    with pytest.raises(ValueError, match=name):
        getattr(est, method)(good_x())
    assert fitted_attributes(est) == []
    assert vars(est).keys() == vars(cls()).keys()


@pytest.mark.parametrize(
    ("setting", "params", "name"), invalid_param_after_fitting_cases()
)
def test_invalid_parameter_set_after_fitting_leaves_state_unchanged(
    setting, params, name
):
    good = good_batches()
    est = feed(setting.make(), good[:1])
    valid = {key: est.get_params()[key] for key in params}
    est.set_params(**params)
    before = snapshot(est)
    with pytest.raises(ValueError, match=name):
        est.partial_fit(good[1])
    assert_state_equal(before, est)
    est.set_params(**valid)
    feed(est, good[1:])
    assert_continues_like_good_batches_only(est, setting, good, "partial_fit")


@pytest.mark.parametrize(
    "setting",
    setting_params(
        [
            setting
            for setting in SETTINGS
            if setting.momentum is None and not setting.whitener
        ]
    ),
)
def test_one_row_batches_are_fine_without_momentum(setting):
    X = np.vstack(good_batches())
    rows = [row[None, :] for row in X]
    est = feed(setting.make(), rows)
    assert_matches_reference(est, setting, rows)


# ---------------------------------------------------------------------------
# SVDWhitener: bad only as a first batch, and failed fits that reset names
# ---------------------------------------------------------------------------

WHITENER_SETTINGS = [setting for setting in SETTINGS if setting.whitener]


@pytest.mark.parametrize("setting", setting_params(WHITENER_SETTINGS))
def test_whitener_takes_one_row_batches_after_the_first(setting):
    good = good_batches()
    batches = [good[0]] + [row[None, :] for row in np.vstack(good[1:])]
    est = feed(setting.make(), batches)
    assert_matches_reference(est, setting, batches)


@pytest.mark.parametrize("setting", setting_params(WHITENER_SETTINGS))
def test_whitener_weighted_one_row_batch_after_the_first(setting):
    good = good_batches()
    est = feed(setting.make(), good[:1])
    est.partial_fit(good[1][:1], sample_weight=[3.0])
    feed(est, good[1:])
    # a row of weight 3 is the row three times
    repeated = [good[0], np.repeat(good[1][:1], 3, axis=0), *good[1:]]
    assert_matches_reference(est, setting, repeated)


@pytest.mark.parametrize(
    "setting",
    setting_params([setting for setting in SETTINGS if setting.cholesky_without_eps]),
)
@pytest.mark.parametrize("batch", ["duplicated column", "2 rows, rank 1"])
def test_cholesky_takes_a_singular_batch_once_the_covariance_is_not(setting, batch):
    good = good_batches()
    X = {case.id: case.X for case in first_batch_cases(setting)}[batch]
    est = feed(setting.make(), good[:1])
    est.partial_fit(X)
    feed(est, good[1:])
    assert_matches_reference(est, setting, [good[0], X, *good[1:]])


def whitener_bad_fits(setting):
    """Bad X found only after validation reset the names: NaN, 1 sample, and
    for Cholesky without eps a singular covariance."""
    return [
        pytest.param(setting, case, id=f"{setting.id}-{case.id}")
        for case in nan_cases(setting) + first_batch_cases(setting)
        if case.sample_weight is None
    ]


@pytest.mark.parametrize(
    ("setting", "case"),
    [param for setting in WHITENER_SETTINGS for param in whitener_bad_fits(setting)],
)
def test_whitener_failed_fit_keeps_the_feature_names(setting, case):
    pd = pytest.importorskip("pandas")
    good = good_batches()
    est = setting.make().fit(pd.DataFrame(good[0], columns=COLUMNS))
    before = snapshot(est)
    other = ["v", "w", "x", "y", "z"]
    for X in (case.X, pd.DataFrame(case.X, columns=other)):
        with case.raises():
            est.fit(X)
        assert_state_equal(before, est)
    assert list(est.feature_names_in_) == COLUMNS
    for batch in good[1:]:
        est.partial_fit(pd.DataFrame(batch, columns=COLUMNS))
    assert_matches_reference(est, setting, good)


@pytest.mark.parametrize(
    ("setting", "params", "name"),
    [
        pytest.param(setting, params, name, id=f"{setting.id}-{params_id(params)}")
        for setting in WHITENER_SETTINGS
        for params, name in INVALID_PARAMS[SVDWhitener]
    ],
)
def test_whitener_invalid_parameter_set_after_fitting_fails_fit_too(
    setting, params, name
):
    good = good_batches()
    est = feed(setting.make(), good[:1])
    valid = {key: est.get_params()[key] for key in params}
    est.set_params(**params)
    before = snapshot(est)
    with pytest.raises(ValueError, match=name):
        est.fit(np.vstack(good))
    assert_state_equal(before, est)
    est.set_params(**valid)
    est.fit(np.vstack(good[:2]))
    est.partial_fit(good[2])
    assert_matches_reference(est, setting, good)


# ---------------------------------------------------------------------------
# RobustStandardizer: a bad batch once the sketch has compacted
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "n_samples"),
    [({"rank_error": 0.05}, 6_000), ({}, 20_000)],
    ids=["rank_error_0.05-6000_rows", "default-20000_rows"],
)
def test_robust_bad_batch_after_compaction_leaves_no_trace(params, n_samples):
    # Past twice the level capacity (1760 rows at rank_error=0.05, 16384 at
    # the default) the sketch summarizes: a rejected batch must leave its
    # levels, weights and error exactly as they were.
    rng = np.random.default_rng(7)
    X = rng.standard_t(3, size=(n_samples, N_FEATURES)) * [1.0, 10.0, 3.0, 0.1, 2.0]
    batches = np.array_split(X, 7)
    est = feed(RobustStandardizer(**params), batches[:4])
    before = snapshot(est)
    for case in cases_for(Setting(RobustStandardizer, "big", params), fitted=True):
        with case.raises():
            est.partial_fit(case.X, sample_weight=case.sample_weight)
    assert_state_equal(before, est)
    feed(est, batches[4:])
    fresh = feed(RobustStandardizer(**params), batches)
    assert_state_equal(snapshot(fresh), est)
    # The sketch's promise, against numpy: each reported quantile lies
    # between the exact (q - rank_error_) and (q + rank_error_) quantiles, up
    # to one value (skbn._quantiles: a summary's quantile interpolates between
    # its items, not between the data's neighbouring order statistics).
    bound = params.get("rank_error", 0.005)
    assert np.all(est.rank_error_ > 0)
    assert np.all(est.rank_error_ <= bound)
    for row, q in enumerate((0.25, 0.5, 0.75)):
        for j in range(N_FEATURES):
            slack = est.rank_error_[j] + 1 / n_samples
            low, high = np.quantile(X[:, j], np.clip([q - slack, q + slack], 0, 1))
            assert low <= est.quantiles_[row, j] <= high, (q, j)
    assert est.n_samples_seen_ == n_samples
