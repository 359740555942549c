"""partial_fit is transactional: a rejected batch leaves no trace.

DESIGN: a batch that raises leaves every fitted attribute exactly as it was;
a rejected first batch leaves no fitted attribute at all (not even
``n_features_in_`` or ``feature_names_in_``); the next good batch continues
as if the bad one never came.
"""

import copy
import dataclasses
import re

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose
from sklearn.preprocessing import StandardScaler

from skbn import BatchStandardizer

N_FEATURES = 5
COLUMNS = ["a", "b", "c", "d", "e"]

SETTINGS = [
    pytest.param({}, id="default"),
    pytest.param({"momentum": 0.1, "eps": 1e-5}, id="momentum"),
    pytest.param({"with_mean": False}, id="with_mean_false"),
]

METHODS = ["partial_fit", "partial_fit_transform"]


def good_batches():
    rng = np.random.default_rng(42)
    offsets = np.array([5.0, -3.0, 100.0, 0.5, 0.0])
    spreads = np.array([1.0, 10.0, 3.0, 0.1, 2.0])
    return [rng.normal(size=(n, N_FEATURES)) * spreads + offsets for n in (6, 4, 9)]


def good_x(n_samples=6):
    return good_batches()[0][:n_samples].copy()


# ---------------------------------------------------------------------------
# The catalogue of bad batches: (id, X, sample_weight, match)
# ---------------------------------------------------------------------------


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
        ("+inf", with_value(np.inf), None, "infinity"),
        ("-inf", with_value(-np.inf), None, "infinity"),
        ("string", strings(), None, "string"),
        ("unicode", np.full((6, N_FEATURES), "a"), None, "string"),
        ("complex", good_x() + 1j, None, "[Cc]omplex"),
        ("1-D", good_x()[0], None, "2D array"),
        ("3-D", good_x()[None], None, "dim 3"),
        ("0 rows", np.empty((0, N_FEATURES)), None, "0 sample"),
    ]


def bad_weight_cases():
    negative = np.ones(6)
    negative[4] = -1.0
    nan_weight = np.ones(6)
    nan_weight[1] = np.nan
    inf_weight = np.ones(6)
    inf_weight[0] = np.inf
    return [
        ("negative weight", good_x(), negative, "sample_weight.*negative"),
        ("short weights", good_x(), np.ones(4), r"sample_weight.*shape \(6,\)"),
        ("long weights", good_x(), np.ones(7), r"sample_weight.*shape \(6,\)"),
        ("2-D weights", good_x(), np.ones((6, 1)), r"sample_weight.*shape"),
        ("all-zero weights", good_x(), np.zeros(6), "sample_weight.*all zero"),
        ("NaN weight", good_x(), nan_weight, "sample_weight.*(NaN|finite)"),
        ("inf weight", good_x(), inf_weight, "sample_weight.*(inf|finite)"),
    ]


def setting_specific_cases(params):
    cases = []
    if params.get("with_mean", True):
        cases.append(
            ("sparse", sp.csr_matrix(good_x()), None, "sparse"),
        )
        cases.append(
            ("sparse csc", sp.csc_matrix(good_x()), None, "sparse"),
        )
    if params.get("momentum") is not None:
        cases.append(("1 row", good_x(1), None, "1 sample"))
        cases.append(
            ("1 row, weight 5", good_x(1), np.array([5.0]), "1 sample"),
        )
        cases.append(
            ("weights sum to 1", good_x(), np.full(6, 1 / 6), "sum to more than 1")
        )
        one_row_counts = np.zeros(6)
        one_row_counts[2] = 1.0
        cases.append(
            ("one weight of 1", good_x(), one_row_counts, "sum to more than 1")
        )
        cases.append(
            ("weights sum < 1", good_x(), np.full(6, 0.1), "sum to more than 1")
        )
    return cases


def cases_for(params, *, fitted):
    cases = bad_x_cases() + bad_weight_cases() + setting_specific_cases(params)
    if fitted:
        message = (
            "X has 3 features, but BatchStandardizer is expecting 5 features as input"
        )
        cases.append(
            ("3 features", good_x()[:, :3], None, re.escape(message)),
        )
        cases.append(
            ("7 features", np.hstack([good_x(), good_x()[:, :2]]), None, "7 features"),
        )
    return cases


def all_case_params(*, fitted):
    return [
        pytest.param(params.values[0], case, id=f"{params.id}-{case[0]}")
        for params in SETTINGS
        for case in cases_for(params.values[0], fitted=fitted)
    ]


# ---------------------------------------------------------------------------
# Helpers: state snapshot and independent expectations
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
            assert_same_value(old[key], new[key], where)
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


def feed(est, batches, method="partial_fit"):
    for batch in batches:
        getattr(est, method)(batch)
    return est


def expected_stats(params, batches):
    """Independent reference: StandardScaler, or BatchNorm's update written out."""
    momentum = params.get("momentum")
    if momentum is None:
        ref = StandardScaler(with_mean=params.get("with_mean", True))
        ref.fit(np.vstack(batches))
        return ref.mean_, ref.var_
    mean = batches[0].mean(axis=0)
    var = batches[0].var(axis=0, ddof=1)
    for batch in batches[1:]:
        mean = (1 - momentum) * mean + momentum * batch.mean(axis=0)
        var = (1 - momentum) * var + momentum * batch.var(axis=0, ddof=1)
    return mean, var


def assert_continues_like_good_batches_only(est, params, good, method):
    fresh = feed(BatchStandardizer(**params), good, method)
    assert fitted_attributes(est) == fitted_attributes(fresh)
    assert_state_equal(snapshot(fresh), est)
    mean, var = expected_stats(params, good)
    assert_allclose(est.mean_, mean, rtol=1e-12)
    assert_allclose(est.var_, var, rtol=1e-12)
    assert est.n_batches_seen_ == len(good)
    assert est.n_samples_seen_ == sum(len(batch) for batch in good)
    X = np.vstack(good)
    assert np.array_equal(est.transform(X), fresh.transform(X))


# ---------------------------------------------------------------------------
# A bad batch after good ones
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("params", "case"), all_case_params(fitted=True))
def test_bad_batch_leaves_state_unchanged(params, case, method):
    _, X_bad, weight_bad, match = case
    good = good_batches()
    est = feed(BatchStandardizer(**params), good[:1], method)
    before = snapshot(est)
    with pytest.raises(ValueError, match=match):
        getattr(est, method)(X_bad, sample_weight=weight_bad)
    assert_state_equal(before, est)
    feed(est, good[1:], method)
    assert_continues_like_good_batches_only(est, params, good, method)


@pytest.mark.parametrize(("params", "case"), all_case_params(fitted=True))
def test_several_bad_batches_in_a_row(params, case):
    _, X_bad, weight_bad, match = case
    good = good_batches()
    est = BatchStandardizer(**params)
    est.partial_fit(good[0])
    for _ in range(2):
        with pytest.raises(ValueError, match=match):
            est.partial_fit(X_bad, sample_weight=weight_bad)
    est.partial_fit(good[1])
    with pytest.raises(ValueError, match=match):
        est.partial_fit(X_bad, sample_weight=weight_bad)
    est.partial_fit(good[2])
    assert_continues_like_good_batches_only(est, params, good, "partial_fit")


# ---------------------------------------------------------------------------
# A bad first batch
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("params", "case"), all_case_params(fitted=False))
def test_rejected_first_batch_leaves_no_fitted_attribute(params, case, method):
    _, X_bad, weight_bad, match = case
    est = BatchStandardizer(**params)
    with pytest.raises(ValueError, match=match):
        getattr(est, method)(X_bad, sample_weight=weight_bad)
    assert fitted_attributes(est) == []
    assert vars(est) == vars(BatchStandardizer(**params))
    good = good_batches()
    feed(est, good, method)
    assert_continues_like_good_batches_only(est, params, good, method)


@pytest.mark.parametrize("params", SETTINGS)
def test_rejected_first_dataframe_leaves_no_feature_names(params):
    pd = pytest.importorskip("pandas")
    X_bad = with_value(np.inf)
    est = BatchStandardizer(**params)
    with pytest.raises(ValueError, match="infinity"):
        est.partial_fit(pd.DataFrame(X_bad, columns=COLUMNS))
    assert not hasattr(est, "feature_names_in_")
    assert not hasattr(est, "n_features_in_")
    assert fitted_attributes(est) == []
    good = good_batches()
    other = ["v", "w", "x", "y", "z"]
    for batch in good:
        est.partial_fit(pd.DataFrame(batch, columns=other))
    assert list(est.feature_names_in_) == other
    mean, var = expected_stats(params, good)
    assert_allclose(est.mean_, mean, rtol=1e-12)
    assert_allclose(est.var_, var, rtol=1e-12)


# ---------------------------------------------------------------------------
# DataFrame column names
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "columns",
    [["f", "g", "h", "i", "j"], ["a", "b", "c", "e", "d"]],
    ids=["other names", "other order"],
)
@pytest.mark.parametrize("params", SETTINGS)
def test_dataframe_with_wrong_column_names_is_rejected(params, columns):
    pd = pytest.importorskip("pandas")
    good = good_batches()
    est = BatchStandardizer(**params)
    est.partial_fit(pd.DataFrame(good[0], columns=COLUMNS))
    before = snapshot(est)
    with pytest.raises(ValueError, match="feature names"):
        est.partial_fit(pd.DataFrame(good_x(), columns=columns))
    assert_state_equal(before, est)
    assert list(est.feature_names_in_) == COLUMNS
    for batch in good[1:]:
        est.partial_fit(pd.DataFrame(batch, columns=COLUMNS))
    fresh = BatchStandardizer(**params)
    for batch in good:
        fresh.partial_fit(pd.DataFrame(batch, columns=COLUMNS))
    assert_state_equal(snapshot(fresh), est)
    mean, var = expected_stats(params, good)
    assert_allclose(est.mean_, mean, rtol=1e-12)
    assert_allclose(est.var_, var, rtol=1e-12)


# ---------------------------------------------------------------------------
# A failed fit leaves a fitted estimator unchanged
# ---------------------------------------------------------------------------


def fit_failure_params():
    # fit forgets the old state, so a new number of features is not an error.
    return [
        pytest.param(params.values[0], case, id=f"{params.id}-{case[0]}")
        for params in SETTINGS
        for case in cases_for(params.values[0], fitted=False)
    ]


@pytest.mark.parametrize(("params", "case"), fit_failure_params())
def test_failed_fit_leaves_fitted_estimator_unchanged(params, case):
    _, X_bad, weight_bad, match = case
    good = good_batches()
    est = feed(BatchStandardizer(**params), good[:2])
    before = snapshot(est)
    with pytest.raises(ValueError, match=match):
        est.fit(X_bad, sample_weight=weight_bad)
    assert_state_equal(before, est)
    est.partial_fit(good[2])
    assert_continues_like_good_batches_only(est, params, good, "partial_fit")


@pytest.mark.parametrize("params", SETTINGS)
def test_failed_fit_on_unfitted_estimator_leaves_nothing(params):
    est = BatchStandardizer(**params)
    with pytest.raises(ValueError, match="infinity"):
        est.fit(with_value(np.inf))
    assert fitted_attributes(est) == []


@pytest.mark.parametrize("fitted", [False, True])
def test_fit_failing_in_a_later_batch_of_its_training_pass(fitted):
    # batch_size=5 feeds rows [0:5], [5:10], [10:15], [15:19]; the weights of
    # the second batch sum to 1, which momentum mode rejects after the first
    # batch was already merged: the whole fit must fail without a trace.
    good = good_batches()
    est = BatchStandardizer(momentum=0.1, batch_size=5)
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
        assert_continues_like_good_batches_only(
            est, {"momentum": 0.1, "batch_size": 5}, good, "partial_fit"
        )
    else:
        assert fitted_attributes(est) == []


# ---------------------------------------------------------------------------
# Invalid parameters: ValueError from fit, naming the parameter
# ---------------------------------------------------------------------------

INVALID_PARAMS = [
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
]


def invalid_param_cases():
    return [
        pytest.param(params, name, id=",".join(f"{k}={v!r}" for k, v in params.items()))
        for params, name in INVALID_PARAMS
    ]


@pytest.mark.parametrize("method", ["fit", "partial_fit", "partial_fit_transform"])
@pytest.mark.parametrize(("params", "name"), invalid_param_cases())
def test_invalid_parameter_raises_from_fit(params, name, method):
    est = BatchStandardizer(**params)  # __init__ only stores
    assert est.get_params()[next(iter(params))] is next(iter(params.values()))
    with pytest.raises(ValueError, match=name):
        getattr(est, method)(good_x())
    assert fitted_attributes(est) == []


@pytest.mark.parametrize(("params", "name"), invalid_param_cases())
def test_invalid_parameter_set_after_fitting_leaves_state_unchanged(params, name):
    good = good_batches()
    est = BatchStandardizer().fit(good[0])
    est.set_params(**params)
    before = snapshot(est)
    with pytest.raises(ValueError, match=name):
        est.partial_fit(good[1])
    assert_state_equal(before, est)


@pytest.mark.parametrize("params", [{}, {"with_mean": False}])
def test_one_row_batches_are_fine_without_momentum(params):
    good = good_batches()
    X = np.vstack(good)
    est = BatchStandardizer(**params)
    for row in X:
        est.partial_fit(row[None, :])
    mean, var = expected_stats(params, [X])
    assert_allclose(est.mean_, mean, rtol=1e-12)
    assert_allclose(est.var_, var, rtol=1e-12)
