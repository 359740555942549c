"""The estimators on arrays of other array API namespaces, against numpy.

With scikit-learn's array API dispatch on, every estimator takes arrays of any
array API namespace (here array-api-strict and torch on the CPU), computes
with that namespace on the array's device and returns arrays of it. The
reference is the same estimator fitted on the same data as numpy arrays,
which the other test files check against independent references.
"""

import numbers
from dataclasses import dataclass

import numpy as np
import pytest
import sklearn
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone

import skbn
from skbn import (
    BatchStandardizer,
    MinMaxNormalizer,
    RobustStandardizer,
    SVDWhitener,
    ZScoreOutlierDetector,
)
from tests.helpers import COMPLIANCE_ESTIMATORS, FITTED_ARRAYS, FITTED_NUMBERS

array_api_compat = pytest.importorskip("array_api_compat")

try:
    with sklearn.config_context():
        sklearn.set_config(array_api_dispatch=True)
except (ImportError, RuntimeError) as exc:  # scipy < 1.14, or SCIPY_ARRAY_API unset
    pytest.skip(
        f"scikit-learn's array API dispatch cannot be enabled: {exc}",
        allow_module_level=True,
    )

# Fitted attributes are float64 statistics, whatever the namespace.
ATTR_RTOL = 1e-12
# Outputs, in the input's dtype. In float32 the rounding error of a value
# grows with the size of the values it is computed from (a whitened column
# sums products of every feature), so atol is relative to the largest output.
OUT_TOL = {
    "float64": {"rtol": 1e-12, "atol": 1e-10},
    "float32": {"rtol": 1e-5, "atol": 1e-5},
}


ESTIMATORS = COMPLIANCE_ESTIMATORS
# Estimators whose partial_fit over any split gives the result of one fit
# (RobustStandardizer's sketch only while it holds every row: 1760 or more,
# far above the 300 rows here).
EXACT_STREAMING = [est for est in ESTIMATORS if getattr(est, "momentum", None) is None]
# Estimators that ignore NaN when fitting.
NAN_TOLERANT = [est for est in ESTIMATORS if not isinstance(est, SVDWhitener)]
DEFAULTS = [
    BatchStandardizer(),
    MinMaxNormalizer(),
    RobustStandardizer(),
    SVDWhitener(),
    ZScoreOutlierDetector(),
]

ARRAY_ATTRIBUTES = FITTED_ARRAYS
SCALAR_ATTRIBUTES = FITTED_NUMBERS

BATCHES = (slice(0, 100), slice(100, 217), slice(217, 300))

OFFSETS = np.array([5.0, -3.0, 100.0, 0.5])
MIXING = np.array(
    [
        [1.0, 0.5, 0.0, 0.2],
        [0.0, 2.0, -1.0, 0.0],
        [0.0, 0.0, 3.0, 0.5],
        [0.0, 0.0, 0.0, 0.05],
    ]
)
OUTLIERS = (0, 1, 2)


def estimator_id(estimator):
    return repr(estimator).replace(" ", "").replace("\n", "")


def make_data(seed=0, n_samples=300):
    """Correlated features with different offsets and spreads."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n_samples, 4)) @ MIXING + OFFSETS


def make_new_data():
    """Data to transform: a fresh sample, with rows far outside the fitted range."""
    X = make_data(seed=1, n_samples=60)
    X[OUTLIERS[0], 0] += 20.0
    X[OUTLIERS[1], 1] -= 40.0
    X[OUTLIERS[2], 2] += 60.0
    return X


def make_transformed_data(n_columns):
    """Input for inverse_transform."""
    return np.random.default_rng(2).normal(size=(40, n_columns))


def with_nan(X, seed=3):
    X = X.copy()
    X[np.random.default_rng(seed).random(X.shape) < 0.1] = np.nan
    X[:3, 1] = np.nan
    return X


# --------------------------------------------------------------------------
# Namespaces
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Namespace:
    """An array API namespace, its default device and the data's dtype."""

    xp: object  # as array_api_compat.array_namespace gives it
    device: object
    dtype_name: str

    @property
    def dtype(self):
        return getattr(self.xp, self.dtype_name)

    def tol(self, expected):
        """Tolerances for an output, ``expected`` the numpy reference's."""
        tol = dict(OUT_TOL[self.dtype_name])
        if self.dtype_name == "float32":
            tol["atol"] *= max(1.0, float(np.nanmax(np.abs(expected), initial=0.0)))
        return tol

    def asarray(self, array, dtype=None):
        """A copy of a numpy array (or list) in this namespace, on its device."""
        return self.xp.asarray(
            array,
            dtype=self.dtype if dtype is None else dtype,
            device=self.device,
            copy=True,
        )

    def numpy_input(self, array):
        """The numpy array the reference gets for what :meth:`asarray` gives."""
        return np.asarray(array, dtype=self.dtype_name)


NAMESPACES = {
    "array_api_strict": ("array_api_strict", "float64"),
    "torch-float64": ("torch", "float64"),
    "torch-float32": ("torch", "float32"),
}


@pytest.fixture(params=list(NAMESPACES))
def ns(request):
    module_name, dtype_name = NAMESPACES[request.param]
    module = pytest.importorskip(module_name)
    sample = module.asarray([0.0])
    return Namespace(
        xp=array_api_compat.array_namespace(sample),
        device=array_api_compat.device(sample),
        dtype_name=dtype_name,
    )


@pytest.fixture(autouse=True)
def array_api_dispatch():
    with sklearn.config_context(array_api_dispatch=True):
        yield


def to_numpy(array):
    if array_api_compat.is_torch_array(array):
        return array.detach().cpu().numpy()
    return np.from_dlpack(array)


def assert_in_namespace(array, ns, dtype=None, what="result"):
    assert array_api_compat.is_array_api_obj(array), f"{what} is {type(array)}"
    assert array_api_compat.array_namespace(array) is ns.xp, (
        f"{what} is in {array_api_compat.array_namespace(array).__name__}, "
        f"not {ns.xp.__name__}"
    )
    assert array_api_compat.device(array) == ns.device, what
    if dtype is not None:
        assert array.dtype == dtype, f"{what} has dtype {array.dtype}, not {dtype}"


def absent_like(value, expected, name):
    """Whether an attribute is None (some settings leave one unset, as
    RobustStandardizer's ``center_`` without ``with_centering``): then it
    must be None in both."""
    if expected is None or value is None:
        assert value is None and expected is None, f"{name}: {value!r} / {expected!r}"
        return True
    return False


def assert_fitted_match(est, ref, ns):
    """The fitted attributes of ``est`` (namespace) equal those of ``ref`` (numpy)."""
    for name in ARRAY_ATTRIBUTES[type(est)]:
        value, expected = getattr(est, name), getattr(ref, name)
        if absent_like(value, expected, name):
            continue
        assert_in_namespace(value, ns, ns.xp.float64, what=name)
        assert value.shape == expected.shape, name
        size = np.nanmax(np.abs(expected), initial=0.0)
        assert_allclose(
            to_numpy(value),
            expected,
            rtol=ATTR_RTOL,
            atol=ATTR_RTOL * size,
            err_msg=name,
        )
    for name in SCALAR_ATTRIBUTES[type(est)]:
        value, expected = getattr(est, name), getattr(ref, name)
        if isinstance(expected, np.ndarray):
            assert_in_namespace(value, ns, what=name)
            assert_allclose(to_numpy(value), expected, rtol=ATTR_RTOL, err_msg=name)
        else:
            assert isinstance(value, numbers.Real), f"{name} is {type(value)}"
            assert value == pytest.approx(expected, rel=ATTR_RTOL), name
    assert type(est.n_features_in_) is int
    assert est.n_features_in_ == ref.n_features_in_


def assert_output_match(result, expected, ns, name):
    """A method's result (namespace) equals the numpy reference's."""
    if name in ("predict", "fit_predict"):
        assert_in_namespace(result, ns, what=name)
        assert ns.xp.isdtype(result.dtype, "integral"), f"{name}: {result.dtype}"
        assert_array_equal(to_numpy(result), expected, err_msg=name)
        return
    if name in ("score_samples", "decision_function"):
        assert_in_namespace(result, ns, what=name)
        assert ns.xp.isdtype(result.dtype, "real floating"), f"{name}: {result.dtype}"
    else:  # transforms keep the input's float dtype
        assert_in_namespace(result, ns, ns.dtype, what=name)
    assert result.shape == expected.shape, name
    assert_allclose(to_numpy(result), expected, **ns.tol(expected), err_msg=name)


def call_methods(estimator, convert):
    """Fit a clone on the data and call every method on converted inputs.

    Returns the fitted clone and ``{method name: result}``.
    """
    X = make_data()
    X_in, X_new_in = convert(X), convert(make_new_data())
    est = clone(estimator).fit(X_in)
    out = {}
    if isinstance(est, ZScoreOutlierDetector):
        out["score_samples"] = est.score_samples(X_new_in)
        out["decision_function"] = est.decision_function(X_new_in)
        out["predict"] = est.predict(X_new_in)
        out["fit_predict"] = clone(estimator).fit_predict(X_in)
    else:
        width = getattr(est, "n_components_", est.n_features_in_)
        out["transform"] = est.transform(X_new_in)
        out["inverse_transform"] = est.inverse_transform(
            convert(make_transformed_data(width))
        )
        out["fit_transform"] = clone(estimator).fit_transform(X_in)
    if isinstance(est, BatchStandardizer):
        started = clone(estimator).partial_fit(convert(X[:100]))
        out["partial_fit_transform"] = started.partial_fit_transform(convert(X[100:]))
        out["partial_fit_transform first"] = clone(estimator).partial_fit_transform(
            X_in
        )
    return est, out


# --------------------------------------------------------------------------
# Fit and methods against numpy
# --------------------------------------------------------------------------


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=estimator_id)
def test_fit_and_methods_match_numpy(ns, estimator):
    est, outputs = call_methods(estimator, ns.asarray)
    ref, expected = call_methods(estimator, ns.numpy_input)
    assert_fitted_match(est, ref, ns)
    assert outputs.keys() == expected.keys()
    for name, result in outputs.items():
        assert_output_match(result, expected[name], ns, name)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=estimator_id)
def test_methods_leave_input_unchanged(ns, estimator):
    X, X_new = make_data(), make_new_data()
    X_in, X_new_in = ns.asarray(X), ns.asarray(X_new)
    est = clone(estimator).fit(X_in)
    if isinstance(est, ZScoreOutlierDetector):
        est.predict(X_new_in)
    else:
        est.inverse_transform(est.transform(X_new_in))
    if isinstance(est, BatchStandardizer):
        est.partial_fit_transform(X_new_in)
    assert_array_equal(to_numpy(X_in), ns.numpy_input(X))
    assert_array_equal(to_numpy(X_new_in), ns.numpy_input(X_new))


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=estimator_id)
def test_partial_fit_matches_numpy(ns, estimator):
    X, X_new = make_data(), make_new_data()
    est, ref = clone(estimator), clone(estimator)
    for rows in BATCHES:
        est.partial_fit(ns.asarray(X[rows]))
        ref.partial_fit(ns.numpy_input(X[rows]))
    assert_fitted_match(est, ref, ns)
    if isinstance(est, ZScoreOutlierDetector):
        name, method = "score_samples", "score_samples"
    else:
        name, method = "transform", "transform"
    result = getattr(est, method)(ns.asarray(X_new))
    expected = getattr(ref, method)(ns.numpy_input(X_new))
    assert_output_match(result, expected, ns, name)


@pytest.mark.parametrize("estimator", EXACT_STREAMING, ids=estimator_id)
def test_streaming_equals_one_fit(ns, estimator):
    X = make_data()
    streamed = clone(estimator)
    for rows in BATCHES:
        streamed.partial_fit(ns.asarray(X[rows]))
    whole = clone(estimator).fit(ns.asarray(X))
    for name in ARRAY_ATTRIBUTES[type(whole)]:
        value, expected = getattr(streamed, name), getattr(whole, name)
        if absent_like(value, expected, name):
            continue
        expected = to_numpy(expected)
        assert_in_namespace(value, ns, ns.xp.float64, what=name)
        size = np.abs(expected).max()
        assert_allclose(
            to_numpy(value),
            expected,
            rtol=ATTR_RTOL,
            atol=ATTR_RTOL * size,
            err_msg=name,
        )
    assert streamed.n_samples_seen_ == whole.n_samples_seen_ == X.shape[0]


# --------------------------------------------------------------------------
# A partial_fit that raises changes nothing
# --------------------------------------------------------------------------


def fitted_state(est):
    """The public fitted attributes, arrays as numpy copies."""
    return {
        name: value
        if value is None or isinstance(value, numbers.Number)
        else to_numpy(value).copy()
        for name, value in vars(est).items()
        if name.endswith("_") and not name.startswith("_")
    }


def assert_state_equal(est, state, ns):
    assert fitted_state(est).keys() == state.keys()
    for name, before in state.items():
        value = getattr(est, name)
        if isinstance(before, np.ndarray):
            assert_in_namespace(value, ns, what=name)
            assert_array_equal(to_numpy(value), before, err_msg=name)
        elif before is None:
            assert value is None, name
        else:
            assert value == before, name


def bad_batch(kind, X, ns):
    """A batch (and its weights) that partial_fit must refuse, and the message."""
    if kind == "inf":
        X = X.copy()
        X[5, 2] = np.inf
        return ns.asarray(X), None, "infinity"
    if kind == "-inf":
        X = X.copy()
        X[0, 0] = -np.inf
        return ns.asarray(X), None, "infinity"
    if kind == "width":
        return ns.asarray(X[:, :3]), None, "features"
    if kind == "negative weight":
        weights = np.ones(X.shape[0])
        weights[4] = -1.0
        return ns.asarray(X), ns.asarray(weights), "negative"
    if kind == "nan":
        X = X.copy()
        X[7, 1] = np.nan
        return ns.asarray(X), None, "NaN"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["inf", "-inf", "width", "negative weight"])
@pytest.mark.parametrize("estimator", ESTIMATORS, ids=estimator_id)
def test_failed_partial_fit_changes_nothing(ns, estimator, kind):
    X = make_data()
    first, second = X[:150], X[150:]
    est = clone(estimator).partial_fit(ns.asarray(first))
    state = fitted_state(est)
    bad, weights, message = bad_batch(kind, X[:50], ns)
    with pytest.raises(ValueError, match=message):
        est.partial_fit(bad, sample_weight=weights)
    assert_state_equal(est, state, ns)
    # The statistics behind the attributes are untouched too: the stream
    # goes on as if the bad batch had never come.
    est.partial_fit(ns.asarray(second))
    ref = clone(estimator).partial_fit(ns.numpy_input(first))
    ref.partial_fit(ns.numpy_input(second))
    assert_fitted_match(est, ref, ns)


@pytest.mark.parametrize("kind", ["inf", "negative weight"])
@pytest.mark.parametrize("estimator", DEFAULTS, ids=estimator_id)
def test_failed_first_partial_fit_leaves_estimator_unfitted(ns, estimator, kind):
    est = clone(estimator)
    bad, weights, message = bad_batch(kind, make_data()[:50], ns)
    with pytest.raises(ValueError, match=message):
        est.partial_fit(bad, sample_weight=weights)
    assert fitted_state(est) == {}


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=estimator_id)
def test_infinity_is_refused_by_fit(ns, estimator):
    X = make_data()
    X[10, 3] = np.inf
    with pytest.raises(ValueError, match="Input X contains infinity"):
        clone(estimator).fit(ns.asarray(X))


# --------------------------------------------------------------------------
# Missing values
# --------------------------------------------------------------------------


@pytest.mark.parametrize("estimator", NAN_TOLERANT, ids=estimator_id)
def test_nan_is_ignored_like_numpy(ns, estimator):
    X, X_new = with_nan(make_data()), with_nan(make_new_data(), seed=4)
    est = clone(estimator).fit(ns.asarray(X))
    ref = clone(estimator).fit(ns.numpy_input(X))
    assert_fitted_match(est, ref, ns)
    if isinstance(est, ZScoreOutlierDetector):
        name = "score_samples"
    else:
        name = "transform"
    result = getattr(est, name)(ns.asarray(X_new))
    expected = getattr(ref, name)(ns.numpy_input(X_new))
    assert_output_match(result, expected, ns, name)
    if name == "transform":
        assert_array_equal(np.isnan(to_numpy(result)), np.isnan(X_new))


@pytest.mark.parametrize("estimator", NAN_TOLERANT, ids=estimator_id)
def test_nan_is_ignored_in_partial_fit_like_numpy(ns, estimator):
    X = with_nan(make_data())
    est, ref = clone(estimator), clone(estimator)
    for rows in BATCHES:
        est.partial_fit(ns.asarray(X[rows]))
        ref.partial_fit(ns.numpy_input(X[rows]))
    assert_fitted_match(est, ref, ns)


@pytest.mark.parametrize("estimator", [BatchStandardizer(), ZScoreOutlierDetector()])
def test_per_feature_counts_are_arrays_of_the_namespace(ns, estimator):
    X = with_nan(make_data())
    est = clone(estimator).fit(ns.asarray(X))
    assert_in_namespace(est.n_samples_seen_, ns, what="n_samples_seen_")
    assert_array_equal(to_numpy(est.n_samples_seen_), (~np.isnan(X)).sum(axis=0))


@pytest.mark.parametrize(
    "estimator",
    [est for est in ESTIMATORS if isinstance(est, SVDWhitener)],
    ids=estimator_id,
)
def test_whitener_refuses_nan(ns, estimator):
    X = make_data()
    bad, _, message = bad_batch("nan", X, ns)
    with pytest.raises(ValueError, match=message):
        clone(estimator).fit(bad)
    est = clone(estimator).partial_fit(ns.asarray(X[:150]))
    state = fitted_state(est)
    bad, _, message = bad_batch("nan", X[150:], ns)
    with pytest.raises(ValueError, match=message):
        est.partial_fit(bad)
    assert_state_equal(est, state, ns)


# --------------------------------------------------------------------------
# Sample weights
# --------------------------------------------------------------------------


@pytest.mark.parametrize("weight_kind", ["namespace", "numpy", "list"])
@pytest.mark.parametrize("estimator", ESTIMATORS, ids=estimator_id)
def test_sample_weight_matches_numpy(ns, estimator, weight_kind):
    X, X_new = make_data(), make_new_data()
    # Small integers, zeros included: exact in float32 too.
    weights = np.random.default_rng(5).integers(0, 4, size=X.shape[0]).astype(float)
    convert = {
        "namespace": ns.asarray,
        "numpy": lambda w: w.copy(),
        "list": lambda w: w.tolist(),
    }[weight_kind]

    est = clone(estimator).fit(ns.asarray(X), sample_weight=convert(weights))
    ref = clone(estimator).fit(ns.numpy_input(X), sample_weight=weights)
    assert_fitted_match(est, ref, ns)

    streamed, streamed_ref = clone(estimator), clone(estimator)
    for rows in BATCHES:
        streamed.partial_fit(ns.asarray(X[rows]), sample_weight=convert(weights[rows]))
        streamed_ref.partial_fit(ns.numpy_input(X[rows]), sample_weight=weights[rows])
    assert_fitted_match(streamed, streamed_ref, ns)

    name = "score_samples" if isinstance(est, ZScoreOutlierDetector) else "transform"
    result = getattr(est, name)(ns.asarray(X_new))
    expected = getattr(ref, name)(ns.numpy_input(X_new))
    assert_output_match(result, expected, ns, name)


# --------------------------------------------------------------------------
# The detector's labels
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "estimator",
    [est for est in ESTIMATORS if isinstance(est, ZScoreOutlierDetector)],
    ids=estimator_id,
)
def test_detector_labels_are_plus_minus_one_in_the_namespace(ns, estimator):
    X, X_new = make_data(), make_new_data()
    detector = clone(estimator).fit(ns.asarray(X))
    labels = detector.predict(ns.asarray(X_new))
    assert_in_namespace(labels, ns, what="predict")
    assert ns.xp.isdtype(labels.dtype, "integral")
    labels = to_numpy(labels)
    assert set(np.unique(labels)) <= {-1, 1}
    assert_array_equal(labels[list(OUTLIERS)], -1)
    decision = to_numpy(detector.decision_function(ns.asarray(X_new)))
    assert_array_equal(labels, np.where(decision < 0, -1, 1))


# --------------------------------------------------------------------------
# estimator_to_numpy
# --------------------------------------------------------------------------


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=estimator_id)
def test_estimator_to_numpy(ns, estimator):
    X, X_new = make_data(), make_new_data()
    est = clone(estimator).fit(ns.asarray(X))
    state = fitted_state(est)

    converted = skbn.estimator_to_numpy(est)

    assert converted is not est
    assert type(converted) is type(est)
    assert converted.get_params() == est.get_params()
    # The original is unchanged, its attributes still in the namespace.
    assert_state_equal(est, state, ns)
    for name in ARRAY_ATTRIBUTES[type(est)]:
        value = getattr(converted, name)
        if absent_like(value, state[name], name):
            continue
        assert type(value) is np.ndarray, f"{name} is {type(value)}"
        assert value.dtype == np.float64, name
        assert_array_equal(value, state[name], err_msg=name)
    for name in SCALAR_ATTRIBUTES[type(est)]:
        value = getattr(converted, name)
        if isinstance(state[name], np.ndarray):
            assert type(value) is np.ndarray, f"{name} is {type(value)}"
            assert_array_equal(value, state[name], err_msg=name)
        else:
            assert value == state[name], name
    assert converted.n_features_in_ == est.n_features_in_

    ref = clone(estimator).fit(ns.numpy_input(X))
    method = "score_samples" if isinstance(est, ZScoreOutlierDetector) else "transform"
    with sklearn.config_context(array_api_dispatch=False):
        result = getattr(converted, method)(ns.numpy_input(X_new))
        expected = getattr(ref, method)(ns.numpy_input(X_new))
    assert type(result) is np.ndarray
    assert result.dtype == expected.dtype
    assert_allclose(result, expected, **ns.tol(expected))


@pytest.mark.parametrize("estimator", EXACT_STREAMING, ids=estimator_id)
def test_estimator_to_numpy_goes_on_streaming(ns, estimator):
    X = make_data()
    first, second = X[:150], X[150:]
    est = clone(estimator).partial_fit(ns.asarray(first))
    converted = skbn.estimator_to_numpy(est)
    converted.partial_fit(ns.numpy_input(second))
    ref = clone(estimator).partial_fit(ns.numpy_input(first))
    ref.partial_fit(ns.numpy_input(second))
    for name in ARRAY_ATTRIBUTES[type(est)]:
        value, expected = getattr(converted, name), getattr(ref, name)
        if absent_like(value, expected, name):
            continue
        assert type(value) is np.ndarray, f"{name} is {type(value)}"
        size = np.abs(expected).max()
        assert_allclose(
            value, expected, rtol=ATTR_RTOL, atol=ATTR_RTOL * size, err_msg=name
        )
    assert converted.n_samples_seen_ == ref.n_samples_seen_ == X.shape[0]


def test_estimator_to_numpy_of_a_numpy_fit_is_an_equal_copy():
    X = make_data()
    for estimator in DEFAULTS:
        est = clone(estimator).fit(X)
        converted = skbn.estimator_to_numpy(est)
        assert converted is not est
        for name in ARRAY_ATTRIBUTES[type(est)]:
            if absent_like(getattr(converted, name), getattr(est, name), name):
                continue
            assert type(getattr(converted, name)) is np.ndarray
            assert_array_equal(getattr(converted, name), getattr(est, name))


# --------------------------------------------------------------------------
# numpy in, numpy out
# --------------------------------------------------------------------------


def assert_numpy_results(est, outputs, ref, expected):
    for name in ARRAY_ATTRIBUTES[type(est)]:
        value = getattr(est, name)
        if absent_like(value, getattr(ref, name), name):
            continue
        assert type(value) is np.ndarray, f"{name} is {type(value)}"
        assert_allclose(value, getattr(ref, name), rtol=ATTR_RTOL, err_msg=name)
    assert outputs.keys() == expected.keys()
    for name, result in outputs.items():
        assert type(result) is np.ndarray, f"{name} is {type(result)}"
        assert result.dtype == expected[name].dtype, name
        assert_allclose(result, expected[name], **OUT_TOL["float64"], err_msg=name)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=estimator_id)
def test_numpy_input_with_dispatch_gives_numpy(estimator):
    est, outputs = call_methods(estimator, np.array)
    with sklearn.config_context(array_api_dispatch=False):
        ref, expected = call_methods(estimator, np.array)
    assert_numpy_results(est, outputs, ref, expected)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=estimator_id)
def test_torch_without_dispatch_gives_numpy(estimator):
    torch = pytest.importorskip("torch")
    with sklearn.config_context(array_api_dispatch=False):
        est, outputs = call_methods(
            estimator, lambda a: torch.asarray(a, dtype=torch.float64, copy=True)
        )
        ref, expected = call_methods(estimator, np.array)
    assert_numpy_results(est, outputs, ref, expected)


@pytest.mark.parametrize("method", ["zca", "cholesky", "pca_cor"])
def test_whitening_map_derived_by_transform_stays_in_the_namespace(ns, method):
    """After partial_fit, the map is derived on first use; derived by a
    transform of namespace arrays, it is kept there, like the statistics."""
    X = ns.asarray(make_data())
    whitener = SVDWhitener(method=method).partial_fit(X)
    Z = whitener.transform(X)
    X = to_numpy(X)  # the values the whitener saw, float32 ones included
    reference = SVDWhitener(method=method).fit(X)
    for name in ("whitening_matrix_", "dewhitening_matrix_", "components_"):
        value = getattr(whitener, name)
        assert_in_namespace(value, ns, ns.xp.float64, what=name)
        assert_allclose(to_numpy(value), getattr(reference, name), atol=1e-10)
    expected = reference.transform(X)
    assert_allclose(to_numpy(Z), expected, **ns.tol(expected))
