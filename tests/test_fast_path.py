"""Validation's fast path answers as scikit-learn does; transforms spare X a copy.

A plain float ndarray skips most of scikit-learn's ``validate_data``: these
tests hold that path to scikit-learn's own answer on every kind of input (the
same array back, the same error and message, the same warnings, the same
``n_features_in_`` and ``feature_names_in_``), and check what transforms do
with the caller's X: ``copy=True`` never changes it, ``copy=False`` writes
into it when it is a writeable float ndarray and returns it.
"""

import importlib
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import config_context
from sklearn.utils.validation import check_array, validate_data

from skbn import (
    BatchStandardizer,
    MinMaxNormalizer,
    RobustStandardizer,
    SVDWhitener,
    ZScoreOutlierDetector,
)
from skbn._validation import kept_dtypes, validate_batch

N_FEATURES = 3
NAMES = ["a", "b", "c"]


def data(n_samples=8, n_features=N_FEATURES, seed=0):
    """Features on different scales, away from 0."""
    spreads, offsets = np.array([1.0, 10.0, 0.1]), np.array([5.0, -3.0, 0.5])
    X = np.random.default_rng(seed).normal(size=(n_samples, n_features))
    return X * spreads[:n_features] + offsets[:n_features]


# ---------------------------------------------------------------------------
# Validation: the fast path against scikit-learn
# ---------------------------------------------------------------------------


def with_value(value, dtype=np.float64):
    X = data().astype(dtype)
    X[2, 1] = value
    return X


def read_only(X):
    X.flags.writeable = False
    return X


def inputs():
    """Every kind of X, good and bad, by name; built anew for each test."""
    X = data()
    strings = X.astype(object)
    strings[1, 1] = "a"
    huge = np.full((4, N_FEATURES), 1e308)
    nan_and_inf = with_value(np.inf)
    nan_and_inf[0, 0] = np.nan
    both_infinities = with_value(np.inf)
    both_infinities[0, 0] = -np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        matrix = np.asmatrix(X)
    cases = {
        "float64": X,
        "float64 F": np.asfortranarray(X),
        "float32": X.astype(np.float32),
        "float32 F": np.asfortranarray(X.astype(np.float32)),
        "every other column": np.repeat(X, 2, axis=1)[:, ::2],
        "1 row": X[:1].copy(),
        "read-only": read_only(X.copy()),
        "NaN": with_value(np.nan),
        "NaN float32": with_value(np.nan, np.float32),
        "all NaN": np.full((4, N_FEATURES), np.nan),
        "+inf": with_value(np.inf),
        "-inf float32": with_value(-np.inf, np.float32),
        "NaN and inf": nan_and_inf,
        "inf and -inf": both_infinities,
        "finite, sum overflows": huge,
        "finite, float32 sum overflows": np.full((4, N_FEATURES), 3e38, np.float32),
        "int": (X * 10).astype(np.int64),
        "bool": X > 0,
        "float16": X.astype(np.float16),
        "big-endian": X.astype(">f8"),
        "complex": X + 1j,
        "object numbers": X.astype(object),
        "object with a string": strings,
        "strings": np.full((4, N_FEATURES), "a"),
        "list": X.tolist(),
        "1-D": X[0].copy(),
        "3-D": X[None].copy(),
        "0-D": np.array(1.0),
        "0 rows": np.empty((0, N_FEATURES)),
        "0 columns": np.empty((4, 0)),
        "wrong width": data(n_features=2),
        "matrix": matrix,
    }
    pd = _optional("pandas")
    if pd is not None:
        cases["DataFrame"] = pd.DataFrame(X, columns=NAMES)
        cases["DataFrame, other names"] = pd.DataFrame(X, columns=["x", "y", "z"])
        cases["DataFrame, int names"] = pd.DataFrame(X)
        cases["DataFrame with inf"] = pd.DataFrame(with_value(np.inf), columns=NAMES)
    pl = _optional("polars")
    if pl is not None:
        cases["polars"] = pl.DataFrame(X, schema=NAMES)
    return cases


def _optional(module):
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


INPUTS = list(inputs())


def estimator(state):
    """An estimator in one of the states validation meets, and its ``reset``."""
    est = BatchStandardizer()
    if state == "unfitted":
        return est, True
    if state == "fitted":
        est.fit(data())
        return est, False
    pd = pytest.importorskip("pandas")
    est.fit(pd.DataFrame(data(), columns=NAMES))
    # "refit": fit starts over, dropping the names of the former fit.
    return est, state == "refit"


STATES = ["unfitted", "fitted", "fitted with names", "refit"]


def outcome(call):
    """A call's result or exception, and its warnings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = call()
        except Exception as exc:
            result = exc
    return result, [(w.category, str(w.message)) for w in caught]


def assert_same_outcome(ours, reference, X, *, copy):
    (result, warned), (expected, expected_warned) = ours, reference
    assert warned == expected_warned
    if isinstance(expected, Exception):
        assert type(result) is type(expected)
        assert str(result) == str(expected)
        return
    assert not isinstance(result, Exception), result
    assert type(result) is type(expected)
    assert result.dtype == expected.dtype
    assert result.shape == expected.shape
    assert_array_equal(result, expected)
    if copy:
        # scikit-learn copies here; the fast path leaves that to output_for,
        # which gives X a fresh output.
        assert result is X or not np.may_share_memory(result, np.asarray(X))
    else:
        assert (result is X) == (expected is X)
        assert result.flags.writeable == expected.flags.writeable


def assert_same_state(est, reference):
    assert vars(est).keys() == vars(reference).keys()
    assert getattr(est, "n_features_in_", None) == getattr(
        reference, "n_features_in_", None
    )
    names = getattr(est, "feature_names_in_", None)
    expected_names = getattr(reference, "feature_names_in_", None)
    assert (names is None) == (expected_names is None)
    if names is not None:
        assert_array_equal(names, expected_names)


def scikit_learn_batch(est, X, *, reset, allow_nan, copy):
    return validate_data(
        est,
        X,
        reset=reset,
        dtype=kept_dtypes(est),  # float16 too: a BatchStandardizer keeps it
        ensure_all_finite="allow-nan" if allow_nan else True,
        copy=bool(copy),
        force_writeable=copy is not None,
    )


def assert_validate_batch_answers_as_scikit_learn(X, state, allow_nan, copy):
    est, reset = estimator(state)
    reference_est, _ = estimator(state)
    ours = outcome(
        lambda: validate_batch(est, X, reset=reset, allow_nan=allow_nan, copy=copy)
    )
    reference = outcome(
        lambda: scikit_learn_batch(
            reference_est, X, reset=reset, allow_nan=allow_nan, copy=copy
        )
    )
    assert_same_outcome(ours, reference, X, copy=copy)
    assert_same_state(est, reference_est)


@pytest.mark.parametrize("copy", [None, False, True])
@pytest.mark.parametrize("allow_nan", [True, False])
@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("name", INPUTS)
def test_validate_batch_answers_as_scikit_learn(name, state, allow_nan, copy):
    assert_validate_batch_answers_as_scikit_learn(
        inputs()[name], state, allow_nan, copy
    )


def scikit_learn_inverse(est, X, *, allow_nan, copy):
    X = check_array(
        X,
        dtype=kept_dtypes(est),
        ensure_all_finite="allow-nan" if allow_nan else True,
        estimator=est,
        copy=bool(copy),
        force_writeable=copy is not None,
    )
    if X.shape[1] != est.n_features_in_:
        raise ValueError(
            f"X has {X.shape[1]} features, but {type(est).__name__} is "
            f"expecting {est.n_features_in_} features as input."
        )
    return X


@pytest.mark.parametrize("copy", [None, False, True])
@pytest.mark.parametrize("allow_nan", [True, False])
@pytest.mark.parametrize("name", INPUTS)
def test_validate_inverse_input_answers_as_scikit_learn(name, allow_nan, copy):
    X = inputs()[name]
    est, _ = estimator("fitted with names")
    ours = outcome(
        lambda: validate_batch(
            est,
            X,
            reset=False,
            copy=copy,
            allow_nan=allow_nan,
            inverse_of=est.n_features_in_,
        )
    )
    reference = outcome(
        lambda: scikit_learn_inverse(est, X, allow_nan=allow_nan, copy=copy)
    )
    assert_same_outcome(ours, reference, X, copy=copy)


@pytest.mark.parametrize("state", ["unfitted", "fitted"])
@pytest.mark.parametrize(
    "name", ["+inf", "-inf float32", "NaN", "NaN and inf", "inf and -inf", "all NaN"]
)
def test_assume_finite_skips_the_finiteness_check_as_in_scikit_learn(name, state):
    X = inputs()[name]
    est, reset = estimator(state)
    reference_est, _ = estimator(state)
    with config_context(assume_finite=True):
        ours = outcome(lambda: validate_batch(est, X, reset=reset, allow_nan=False))
        reference = outcome(
            lambda: scikit_learn_batch(
                reference_est, X, reset=reset, allow_nan=False, copy=None
            )
        )
    assert ours[0] is X
    assert_same_outcome(ours, reference, X, copy=None)


DTYPES = st.sampled_from(
    [np.float64, np.float32, np.float16, np.int64, np.bool_, np.dtype(">f8")]
)


@st.composite
def arrays(draw):
    dtype = np.dtype(draw(DTYPES))
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4))
    elements = hnp.from_dtype(dtype)
    if dtype.kind == "f":
        # Non-finite values, and finite ones whose sum overflows.
        largest = np.finfo(dtype).max
        special = [np.nan, np.inf, -np.inf, largest, -largest]
        elements = st.one_of(elements, st.sampled_from(special))
    X = draw(hnp.arrays(dtype, shape, elements=elements))
    if draw(st.booleans()):
        X = np.asfortranarray(X)
    X.flags.writeable = draw(st.booleans())
    return X


@settings(max_examples=300, deadline=None)
@given(
    X=arrays(),
    state=st.sampled_from(["unfitted", "fitted"]),
    allow_nan=st.booleans(),
    copy=st.sampled_from([None, False, True]),
)
def test_validate_batch_answers_as_scikit_learn_on_any_array(X, state, allow_nan, copy):
    assert_validate_batch_answers_as_scikit_learn(X, state, allow_nan, copy)


# ---------------------------------------------------------------------------
# Transforms and the caller's X
# ---------------------------------------------------------------------------

ESTIMATORS = {
    "standardizer": lambda: BatchStandardizer(),
    "standardizer, momentum, gamma, beta": lambda: BatchStandardizer(
        momentum=0.1, gamma=2.0, beta=np.array([-1.0, 0.0, 1.0])
    ),
    "standardizer, no mean": lambda: BatchStandardizer(with_mean=False),
    "minmax": lambda: MinMaxNormalizer(),
    "minmax, clip": lambda: MinMaxNormalizer(feature_range=(-1, 1), clip=True),
    "robust": lambda: RobustStandardizer(),
    "robust, no centering, unit variance": lambda: RobustStandardizer(
        with_centering=False, unit_variance=True
    ),
    "robust, deciles, no scaling": lambda: RobustStandardizer(
        quantile_range=(10.0, 90.0), with_scaling=False
    ),
    "detector": lambda: ZScoreOutlierDetector(threshold=1.0),
    "whitener": lambda: SVDWhitener(),
    "whitener, pca 2": lambda: SVDWhitener(method="pca", n_components=2),
}

TRANSFORMS = {
    BatchStandardizer: ["transform", "inverse_transform"],
    MinMaxNormalizer: ["transform", "inverse_transform"],
    RobustStandardizer: ["transform", "inverse_transform"],
    ZScoreOutlierDetector: ["score_samples", "decision_function", "predict"],
    SVDWhitener: ["transform", "inverse_transform"],
}


def fitted(name):
    return ESTIMATORS[name]().fit(data(40, seed=1))


def methods(*, with_copy=False):
    """(estimator, method) pairs; only those with a ``copy`` if ``with_copy``."""
    return [
        pytest.param(name, method, id=f"{name}-{method}")
        for name, make in ESTIMATORS.items()
        for method in TRANSFORMS[type(make())]
        if not with_copy or "copy" in make().get_params()
    ]


def layouts():
    return [
        pytest.param(dtype, order, id=f"{np.dtype(dtype).name}-{order}")
        for dtype in (np.float64, np.float32)
        for order in "CF"
    ]


def input_for(est, method, dtype=np.float64, order="C"):
    """X of the shape ``method`` takes, with values on its scale."""
    X = data(seed=2)
    if method == "inverse_transform":
        X = est.transform(X)
    return np.array(X, dtype=dtype, order=order)


def expected(est, method, X):
    """The method's answer on a list, which validation converts to a new array."""
    result = getattr(est, method)(X.tolist())
    return result.astype(X.dtype) if result.dtype.kind == "f" else result


def assert_matches(result, reference, dtype):
    tolerance = 1e-5 if dtype == np.float32 else 1e-12
    assert_allclose(result, reference, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize(("dtype", "order"), layouts())
@pytest.mark.parametrize(("name", "method"), methods())
def test_copy_true_leaves_x_unchanged(name, method, dtype, order):
    est = fitted(name)
    X = input_for(est, method, dtype, order)
    original = X.copy()
    result = getattr(est, method)(X)
    assert_array_equal(X, original)
    assert not np.may_share_memory(result, X)
    assert result.flags.writeable
    if method in ("transform", "inverse_transform"):
        assert result.dtype == dtype
    assert_matches(result, expected(est, method, X), dtype)
    if method == "transform" and result.shape == X.shape:
        # The output keeps the layout of X, as a copy of X would.
        assert result.flags.f_contiguous == (
            order == "F" and not isinstance(est, SVDWhitener)
        )


@pytest.mark.parametrize(("dtype", "order"), layouts())
@pytest.mark.parametrize(("name", "method"), methods(with_copy=True))
def test_copy_false_works_in_x_and_returns_it(name, method, dtype, order):
    est = fitted(name)
    X = input_for(est, method, dtype, order)
    reference = getattr(est, method)(X, copy=True)
    result = getattr(est, method)(X, copy=False)
    same_shape = result.shape == X.shape
    assert (result is X) == same_shape
    if same_shape:
        assert_array_equal(X, reference)
    assert_array_equal(result, reference)
    # The parameter decides when the call does not.
    Y = input_for(est, method, dtype, order)
    est.set_params(copy=False)
    assert (getattr(est, method)(Y) is Y) == same_shape
    Z = input_for(est, method, dtype, order)
    original = Z.copy()
    getattr(est, method)(Z, copy=True)
    assert_array_equal(Z, original)


@pytest.mark.parametrize("copy", [True, False])
@pytest.mark.parametrize(("name", "method"), methods())
def test_int_input_becomes_a_new_float64_array(name, method, copy):
    est = fitted(name)
    X = np.rint(input_for(est, method) * 10).astype(np.int64)
    original = X.copy()
    kwargs = {"copy": copy} if "copy" in est.get_params() else {}
    result = getattr(est, method)(X, **kwargs)
    assert_array_equal(X, original)
    if method in ("transform", "inverse_transform"):
        assert result.dtype == np.float64
    assert_matches(result, expected(est, method, X.astype(np.float64)), np.float64)


@pytest.mark.parametrize("copy", [True, False])
@pytest.mark.parametrize(("name", "method"), methods())
def test_read_only_input_gets_a_new_writeable_output(name, method, copy):
    est = fitted(name)
    X = read_only(input_for(est, method))
    original = X.copy()
    kwargs = {"copy": copy} if "copy" in est.get_params() else {}
    result = getattr(est, method)(X, **kwargs)
    assert result is not X
    assert result.flags.writeable
    assert_array_equal(X, original)
    assert_matches(result, expected(est, method, X), np.float64)


@pytest.mark.parametrize("copy", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_partial_fit_transform_follows_copy(dtype, copy):
    X = data(seed=3).astype(dtype)
    original = X.copy()
    reference = BatchStandardizer(momentum=0.1).partial_fit_transform(X.tolist())
    est = BatchStandardizer(momentum=0.1, copy=copy)
    result = est.partial_fit_transform(X)
    assert result.dtype == dtype
    assert_matches(result, reference, dtype)
    if copy:
        assert_array_equal(X, original)
        assert not np.may_share_memory(result, X)
    else:
        assert result is X


@pytest.mark.parametrize(("name", "method"), methods())
def test_rejected_x_is_left_as_it_was(name, method):
    est = fitted(name)
    X = input_for(est, method)
    X[1, 0] = np.inf
    original = X.copy()
    kwargs = {"copy": False} if "copy" in est.get_params() else {}
    with pytest.raises(ValueError, match="infinity"):
        getattr(est, method)(X, **kwargs)
    assert_array_equal(X, original)


@pytest.mark.parametrize("name", ["standardizer", "minmax", "robust", "detector"])
def test_nan_passes_the_fast_path_and_stays_nan(name):
    est = fitted(name)
    X = data(seed=4)
    X[2, 1] = np.nan
    method = "score_samples" if name == "detector" else "transform"
    result = getattr(est, method)(X)
    reference = expected(est, method, X)
    assert_array_equal(np.isnan(result), np.isnan(reference))
    assert_allclose(result, reference, rtol=1e-12, atol=1e-12)
    if method == "transform":
        assert np.isnan(result[2, 1])


@pytest.mark.parametrize(
    "name", ["standardizer", "minmax", "robust", "detector", "whitener"]
)
def test_fitting_leaves_x_unchanged(name):
    X = read_only(data(seed=5))
    est = ESTIMATORS[name]().fit(X)
    est.partial_fit(X)
    Y = np.asfortranarray(data(seed=6).astype(np.float32))
    original = Y.copy()
    est.partial_fit(Y)
    assert_array_equal(Y, original)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize(("dtype", "order"), layouts())
@pytest.mark.parametrize(
    "name", ["standardizer", "minmax", "robust", "detector", "whitener"]
)
def test_fitting_leaves_a_writeable_x_unchanged(name, dtype, order, weighted):
    # A read-only X would refuse a write; a writeable one must not take it
    # silently either (the robust sketch sorts each feature's values, the
    # fast path hands over X without a copy), even with copy=False.
    X = np.array(data(40, seed=7), dtype=dtype, order=order)
    if name != "whitener":
        X[3, 1] = np.nan
    original = X.copy()
    weights = np.arange(40) % 3 * 1.0 if weighted else None
    est = ESTIMATORS[name]()
    if "copy" in est.get_params():
        est.set_params(copy=False)
    est.fit(X, sample_weight=weights)
    est.partial_fit(X, sample_weight=weights)
    assert_array_equal(X, original)
