"""The input contract common to every estimator (DESIGN.md).

- ``copy=False`` works in place only on a writeable float ndarray of the
  working dtype; a pandas frame (and every copy-on-write sibling sharing its
  memory), a polars frame, a list, a read-only or an int array is copied.
- float32 stays float32 for polars frames, as for ndarrays and pandas frames.
- Strings, bytes, dates and durations are refused with a ValueError that says
  so, even where numpy would make floats of them.
- ``sample_weight`` must be real numbers whose total fits in float64.
- Parameter messages print the interval a value must lie in, open at an
  infinite end.
- A NaN or an infinity is reported as such even under ``assume_finite``.

Results are checked against numpy formulas written here.
"""

import math
import re
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import config_context

from skbn import (
    BatchStandardizer,
    MinMaxNormalizer,
    RobustStandardizer,
    SVDWhitener,
    ZScoreOutlierDetector,
)
from skbn._validation import check_real, refuse_non_finite

pd = pytest.importorskip("pandas")
pl = pytest.importorskip("polars")

NAMES = ["a", "b", "c"]
N_SAMPLES = 30


def data(n_samples=N_SAMPLES, seed=0):
    """Three correlated features on different scales, away from 0."""
    rng = np.random.default_rng(seed)
    mixing = np.array([[1.0, 0.3, 0.0], [0.0, 1.0, 0.5], [0.2, 0.0, 1.0]])
    return rng.normal(size=(n_samples, 3)) @ mixing * [1.0, 10.0, 0.1] + [
        5.0,
        -3.0,
        0.5,
    ]


# ---------------------------------------------------------------------------
# Reference maps, from the formulas (population statistics, ddof=0)
# ---------------------------------------------------------------------------


def standardized(A, X):
    return (X - A.mean(axis=0)) / A.std(axis=0)


def destandardized(A, Z):
    return Z * A.std(axis=0) + A.mean(axis=0)


def min_maxed(A, X):
    low, high = A.min(axis=0), A.max(axis=0)
    return (X - low) / (high - low)


def un_min_maxed(A, Z):
    low, high = A.min(axis=0), A.max(axis=0)
    return Z * (high - low) + low


def _median_and_iqr(A):
    """RobustScaler's statistics: the median and the interquartile range."""
    low, high = np.percentile(A, [25.0, 75.0], axis=0)
    return np.median(A, axis=0), high - low


def robust_scaled(A, X):
    center, scale = _median_and_iqr(A)
    return (X - center) / scale


def robust_unscaled(A, Z):
    center, scale = _median_and_iqr(A)
    return Z * scale + center


def _zca(A, power):
    centred = A - A.mean(axis=0)
    values, vectors = np.linalg.eigh(centred.T @ centred / len(A))
    return vectors @ np.diag(values**power) @ vectors.T


def whitened(A, X):
    """ZCA: the symmetric inverse square root of the covariance."""
    return (X - A.mean(axis=0)) @ _zca(A, -0.5)


def unwhitened(A, Z):
    return Z @ _zca(A, 0.5) + A.mean(axis=0)


def scores(A, X):
    return -np.abs(standardized(A, X)).max(axis=1)


TRANSFORMERS = {
    "BatchStandardizer": (BatchStandardizer, standardized, destandardized),
    "MinMaxNormalizer": (MinMaxNormalizer, min_maxed, un_min_maxed),
    "RobustStandardizer": (RobustStandardizer, robust_scaled, robust_unscaled),
    "SVDWhitener": (SVDWhitener, whitened, unwhitened),
}

REFERENCE = {
    ("BatchStandardizer", "transform"): standardized,
    ("BatchStandardizer", "inverse_transform"): destandardized,
    ("MinMaxNormalizer", "transform"): min_maxed,
    ("MinMaxNormalizer", "inverse_transform"): un_min_maxed,
    ("RobustStandardizer", "transform"): robust_scaled,
    ("RobustStandardizer", "inverse_transform"): robust_unscaled,
    ("SVDWhitener", "transform"): whitened,
    ("SVDWhitener", "inverse_transform"): unwhitened,
}

METHODS = [
    pytest.param(name, method, id=f"{name}-{method}") for name, method in REFERENCE
]


def method_input(name, method, A):
    """Values of the scale ``method`` takes: data, or transformed data."""
    _, forward, _ = TRANSFORMERS[name]
    return A if method == "transform" else forward(A, A)


# ---------------------------------------------------------------------------
# 1. copy=False writes only into a writeable float ndarray
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "method"), METHODS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_copy_false_leaves_a_pandas_frame_and_its_siblings_unchanged(
    name, method, dtype
):
    A = data()
    est = TRANSFORMERS[name][0](copy=False).fit(pd.DataFrame(A, columns=NAMES))
    values = method_input(name, method, A).astype(dtype)
    frame = pd.DataFrame(values.copy(), columns=NAMES)
    sibling = frame.copy(deep=False)  # shares the frame's memory
    result = getattr(est, method)(frame)
    assert_array_equal(frame.to_numpy(), values)
    assert_array_equal(sibling.to_numpy(), values)
    assert result.dtype == dtype
    tolerance = 1e-5 if dtype == np.float32 else 1e-10
    assert_allclose(
        result,
        REFERENCE[name, method](A, values.astype(np.float64)),
        rtol=tolerance,
        atol=tolerance,
    )


@pytest.mark.parametrize(("name", "method"), METHODS)
def test_copy_false_leaves_a_mixed_dtype_pandas_frame_unchanged(name, method):
    A = data()
    est = TRANSFORMERS[name][0](copy=False).fit(A)
    values = np.round(method_input(name, method, A))
    frame = pd.DataFrame(
        {"a": values[:, 0], "b": values[:, 1].astype(np.int64), "c": values[:, 2]}
    )
    sibling = frame.copy(deep=False)
    result = getattr(est, method)(frame.set_axis(range(3), axis=1))
    assert_array_equal(frame.to_numpy(), values)
    assert_array_equal(sibling.to_numpy(), values)
    assert_allclose(result, REFERENCE[name, method](A, values), rtol=1e-10, atol=1e-10)


def test_copy_false_partial_fit_transform_leaves_a_pandas_frame_unchanged():
    A = data()
    frame = pd.DataFrame(A.copy(), columns=NAMES)
    sibling = frame.copy(deep=False)
    result = BatchStandardizer(copy=False).partial_fit_transform(frame)
    assert_array_equal(frame.to_numpy(), A)
    assert_array_equal(sibling.to_numpy(), A)
    assert_allclose(result, standardized(A, A), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("method", ["score_samples", "predict", "decision_function"])
def test_detector_leaves_a_pandas_frame_unchanged(method):
    A = data()
    est = ZScoreOutlierDetector(threshold=1.5).fit(pd.DataFrame(A, columns=NAMES))
    frame = pd.DataFrame(A.copy(), columns=NAMES)
    sibling = frame.copy(deep=False)
    result = getattr(est, method)(frame)
    assert_array_equal(frame.to_numpy(), A)
    assert_array_equal(sibling.to_numpy(), A)
    expected = {
        "score_samples": scores(A, A),
        "decision_function": scores(A, A) + 1.5,
        "predict": np.where(scores(A, A) < -1.5, -1, 1),
    }[method]
    assert_allclose(result, expected, rtol=1e-12)


def read_only(X):
    X.flags.writeable = False
    return X


def copied_inputs(values):
    """Inputs that ``copy=False`` must not write into, by name."""
    return {
        "polars": pl.DataFrame(values, schema=NAMES),
        "polars float32": pl.DataFrame(values.astype(np.float32), schema=NAMES),
        "list": values.tolist(),
        "read-only ndarray": read_only(values.copy()),
        "int ndarray": np.round(values).astype(np.int64),
    }


def as_float(X):
    if isinstance(X, pl.DataFrame):
        return X.to_numpy().astype(np.float64)
    return np.asarray(X, dtype=np.float64)


@pytest.mark.parametrize(("name", "method"), METHODS)
@pytest.mark.parametrize("kind", list(copied_inputs(data())))
def test_copy_false_copies_anything_but_a_writeable_float_ndarray(name, method, kind):
    A = data()
    est = TRANSFORMERS[name][0](copy=False).fit(A)
    X = copied_inputs(method_input(name, method, A))[kind]
    before = as_float(X).copy()
    with warnings.catch_warnings():
        # A polars frame carries names the ndarray fit did not.
        warnings.filterwarnings("ignore", "X has feature names", UserWarning)
        result = getattr(est, method)(X)
    assert_array_equal(as_float(X), before)
    assert result.flags.writeable
    tolerance = 1e-5 if result.dtype == np.float32 else 1e-10
    assert_allclose(
        result, REFERENCE[name, method](A, before), rtol=tolerance, atol=tolerance
    )


@pytest.mark.parametrize(("name", "method"), METHODS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_copy_false_still_works_in_a_writeable_float_ndarray(name, method, dtype):
    A = data()
    est = TRANSFORMERS[name][0](copy=False).fit(A)
    X = method_input(name, method, A).astype(dtype)
    values = X.astype(np.float64)
    result = getattr(est, method)(X)
    assert result is X
    tolerance = 1e-5 if dtype == np.float32 else 1e-10
    assert_allclose(
        result, REFERENCE[name, method](A, values), rtol=tolerance, atol=tolerance
    )


# ---------------------------------------------------------------------------
# 2. float32 stays float32 for polars frames
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "method"), METHODS)
def test_float32_polars_frame_gives_float32(name, method):
    A = data()
    values = method_input(name, method, A).astype(np.float32)
    est = TRANSFORMERS[name][0]().fit(pl.DataFrame(A, schema=NAMES))
    result = getattr(est, method)(pl.DataFrame(values, schema=NAMES))
    assert result.dtype == np.float32
    assert_allclose(
        result,
        REFERENCE[name, method](A, values.astype(np.float64)),
        rtol=1e-5,
        atol=1e-5,
    )


@pytest.mark.parametrize("name", list(TRANSFORMERS))
def test_float32_polars_frame_fits_and_outputs_float32_polars(name):
    A = data().astype(np.float32)
    frame = pl.DataFrame(A, schema=NAMES)
    est = TRANSFORMERS[name][0]().set_output(transform="polars")
    result = est.fit_transform(frame)
    assert isinstance(result, pl.DataFrame)
    assert all(dtype == pl.Float32 for dtype in result.schema.values())
    reference = TRANSFORMERS[name][1](A.astype(np.float64), A.astype(np.float64))
    assert_allclose(result.to_numpy(), reference, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(("name", "method"), METHODS)
def test_mixed_float_polars_frame_gives_float64(name, method):
    A = data()
    values = method_input(name, method, A)
    est = TRANSFORMERS[name][0]().fit(A)
    frame = pl.DataFrame(
        {
            "a": pl.Series(values[:, 0], dtype=pl.Float32),
            "b": pl.Series(values[:, 1], dtype=pl.Float64),
            "c": pl.Series(values[:, 2], dtype=pl.Float32),
        }
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "X has feature names", UserWarning)
        result = getattr(est, method)(frame)
    assert result.dtype == np.float64
    expected = REFERENCE[name, method](A, frame.to_numpy().astype(np.float64))
    assert_allclose(result, expected, rtol=1e-10, atol=1e-10)


def test_float32_pandas_frame_still_gives_float32():
    A = data().astype(np.float32)
    frame = pd.DataFrame(A, columns=NAMES)
    result = BatchStandardizer().fit(frame).transform(frame)
    assert result.dtype == np.float32
    assert_allclose(
        result, standardized(A.astype(np.float64), A.astype(np.float64)), rtol=1e-5
    )


# ---------------------------------------------------------------------------
# 3. Strings, bytes, dates and durations are refused
# ---------------------------------------------------------------------------


def _numeric_strings(A):
    return np.char.mod("%.6f", A)


def _object_with(value):
    def make(A):
        X = A.astype(object)
        X[1, 1] = value
        return X

    return make


def _dates(A):
    start = np.datetime64("2020-01-01T00:00:00")
    return start + np.round(A * 1000).astype("timedelta64[s]")


def _pandas_with(column):
    def make(A):
        frame = pd.DataFrame(A, columns=NAMES)
        frame["b"] = column(A[:, 1])
        return frame

    return make


def _polars_with(column):
    def make(A):
        frame = pl.DataFrame(A, schema=NAMES)
        return frame.with_columns(column(frame["b"]).alias("b"))

    return make


# name: (container, what X is made of, the phrase the message must contain)
NOT_NUMBERS = {
    "numpy strings": ("numpy", _numeric_strings, r"dtype <U\d+ \(strings\)"),
    "numpy bytes": ("numpy", lambda A: _numeric_strings(A).astype("S"), "bytes"),
    "datetime64": ("numpy", _dates, r"dtype datetime64\[s\] \(dates or times\)"),
    "timedelta64": (
        "numpy",
        lambda A: np.round(A).astype("timedelta64[s]"),
        r"timedelta64\[s\] \(durations\)",
    ),
    "list of strings": ("numpy", lambda A: _numeric_strings(A).tolist(), "strings"),
    "object array, a string": ("numpy", _object_with("2.5"), "object.*strings"),
    "object array, bytes": ("numpy", _object_with(b"2.5"), "object.*bytes"),
    "pandas string column": (
        "pandas",
        _pandas_with(lambda b: b.astype(str)),
        "column 'b'.*strings",
    ),
    "pandas object column of strings": (
        "pandas",
        _pandas_with(lambda b: pd.Series(b.astype(str), dtype=object)),
        "column 'b'.*strings",
    ),
    "pandas datetime column": (
        "pandas",
        _pandas_with(lambda b: pd.to_datetime(np.round(b * 1e3), unit="s")),
        "column 'b'.*dates or times",
    ),
    "pandas timedelta column": (
        "pandas",
        _pandas_with(lambda b: pd.to_timedelta(np.round(b * 1e3), unit="s")),
        "column 'b'.*durations",
    ),
    "pandas categories of strings": (
        "pandas",
        _pandas_with(lambda b: pd.Categorical(np.round(b).astype(int).astype(str))),
        "column 'b'.*strings",
    ),
    "polars string column": (
        "polars",
        _polars_with(lambda b: b.cast(pl.String)),
        "column 'b'.*String.*strings",
    ),
    "polars datetime column": (
        "polars",
        _polars_with(lambda b: (b * 1e3).round().cast(pl.Int64).cast(pl.Datetime)),
        "column 'b'.*Datetime.*dates or times",
    ),
    "polars date column": (
        "polars",
        _polars_with(lambda b: b.round().cast(pl.Int32).cast(pl.Date)),
        "column 'b'.*Date.*dates or times",
    ),
    "polars duration column": (
        "polars",
        _polars_with(lambda b: (b * 1e3).round().cast(pl.Int64).cast(pl.Duration)),
        "column 'b'.*Duration.*durations",
    ),
    "polars categorical column": (
        "polars",
        _polars_with(
            lambda b: b.round().cast(pl.Int64).cast(pl.String).cast(pl.Categorical)
        ),
        "column 'b'.*Categorical.*strings",
    ),
}

ESTIMATORS = {
    "BatchStandardizer": BatchStandardizer,
    "MinMaxNormalizer": MinMaxNormalizer,
    "RobustStandardizer": RobustStandardizer,
    "SVDWhitener": SVDWhitener,
    "ZScoreOutlierDetector": ZScoreOutlierDetector,
}

READERS = {
    BatchStandardizer: ["transform", "inverse_transform"],
    MinMaxNormalizer: ["transform", "inverse_transform"],
    RobustStandardizer: ["transform", "inverse_transform"],
    SVDWhitener: ["transform", "inverse_transform"],
    ZScoreOutlierDetector: ["score_samples", "predict"],
}


def container(kind, A):
    """Numbers in the container a case uses, with the same column names."""
    if kind == "pandas":
        return pd.DataFrame(A, columns=NAMES)
    if kind == "polars":
        return pl.DataFrame(A, schema=NAMES)
    return A


def fitted_state(est):
    return {
        key: np.copy(value) if isinstance(value, np.ndarray) else value
        for key, value in vars(est).items()
    }


def assert_same_state(est, before):
    assert vars(est).keys() == before.keys()
    for key, value in before.items():
        if isinstance(value, np.ndarray):
            assert_array_equal(getattr(est, key), value)


def refused(what):
    return pytest.raises(ValueError, match=f"X must hold real numbers; .*{what}")


@pytest.mark.parametrize("name", list(ESTIMATORS))
@pytest.mark.parametrize("case", list(NOT_NUMBERS))
def test_fit_refuses_what_is_not_numbers(case, name):
    _, make, what = NOT_NUMBERS[case]
    est = ESTIMATORS[name]()
    with refused(what):
        est.fit(make(data()))
    assert not hasattr(est, "n_features_in_")


@pytest.mark.parametrize("name", list(ESTIMATORS))
@pytest.mark.parametrize("case", list(NOT_NUMBERS))
def test_partial_fit_refuses_what_is_not_numbers_and_keeps_its_state(case, name):
    kind, make, what = NOT_NUMBERS[case]
    est = ESTIMATORS[name]().partial_fit(container(kind, data(seed=1)))
    before = fitted_state(est)
    with refused(what):
        est.partial_fit(make(data()))
    assert_same_state(est, before)


def reader_cases():
    return [
        pytest.param(name, method, case, id=f"{name}-{method}-{case}")
        for name, cls in ESTIMATORS.items()
        for method in READERS[cls]
        for case in NOT_NUMBERS
    ]


@pytest.mark.parametrize(("name", "method", "case"), reader_cases())
def test_transforms_refuse_what_is_not_numbers(name, method, case):
    kind, make, what = NOT_NUMBERS[case]
    est = ESTIMATORS[name]().fit(container(kind, data(seed=1)))
    with refused(what):
        getattr(est, method)(make(data()))


@pytest.mark.parametrize(("name", "method"), METHODS)
def test_object_array_of_numbers_is_still_accepted(name, method):
    # scikit-learn's check_dtype_object: numbers held as objects are numbers.
    A = data()
    values = method_input(name, method, A)
    est = TRANSFORMERS[name][0]().fit(A.astype(object))
    result = getattr(est, method)(values.astype(object))
    assert result.dtype == np.float64
    assert_allclose(result, REFERENCE[name, method](A, values), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_object_array_holding_a_dict_raises_scikit_learns_type_error(name):
    X = data().astype(object)
    X[0, 0] = {"foo": "bar"}
    with pytest.raises(TypeError, match="argument must be .* string.* number"):
        ESTIMATORS[name]().fit(X)


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_strings_that_are_no_numbers_still_raise_a_value_error(name):
    X = np.full((4, 3), "a")
    with pytest.raises(ValueError, match="could not convert string to float"):
        ESTIMATORS[name]().fit(X)


def test_int_and_bool_frame_columns_are_still_numbers():
    A = data()
    frame = pd.DataFrame(
        {"a": A[:, 0], "b": np.round(A[:, 1]).astype(np.int64), "c": A[:, 2] > 0.5}
    )
    values = frame.to_numpy().astype(np.float64)
    result = BatchStandardizer().fit(frame).transform(frame)
    assert result.dtype == np.float64
    assert_allclose(result, standardized(values, values), rtol=1e-12)


# ---------------------------------------------------------------------------
# 4. sample_weight: real numbers, with a total float64 can hold
# ---------------------------------------------------------------------------


def bad_weights():
    ones = np.ones(N_SAMPLES)
    with_string = ones.astype(object)
    with_string[3] = "2"
    return {
        "complex": (ones + 1j, "got complex"),
        "complex, no imaginary part": (ones.astype(complex), "got complex"),
        "strings of digits": (["1"] * N_SAMPLES, "got strings"),
        "object array with a string": (with_string, "got strings"),
        "bytes": (np.full(N_SAMPLES, b"1"), "got bytes"),
    }


@pytest.mark.parametrize("name", list(ESTIMATORS))
@pytest.mark.parametrize("case", list(bad_weights()))
@pytest.mark.parametrize("method", ["fit", "partial_fit"])
def test_sample_weight_must_be_real_numbers(method, case, name):
    weight, phrase = bad_weights()[case]
    est = ESTIMATORS[name]()
    with warnings.catch_warnings():
        # Not numpy's ComplexWarning, and then real parts: an error.
        warnings.simplefilter("error")
        with pytest.raises(
            ValueError, match=f"sample_weight must be real numbers; {phrase}"
        ):
            getattr(est, method)(data(), sample_weight=weight)
    assert not hasattr(est, "n_features_in_")


OVERFLOW = (
    r"(?s)total of sample_weight overflows float64.*common factor.*ratios of "
    r"the\s+weights"
)


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_weights_whose_total_overflows_are_refused_by_name(name):
    A = data(1000)
    weight = np.full(1000, 1e308)
    est = ESTIMATORS[name]()
    with pytest.raises(ValueError, match=OVERFLOW):
        est.fit(A, sample_weight=weight)
    assert not hasattr(est, "n_features_in_")
    est.partial_fit(data(seed=1))
    before = fitted_state(est)
    with pytest.raises(ValueError, match=OVERFLOW):
        est.partial_fit(A, sample_weight=weight)
    assert_same_state(est, before)


def test_weights_divided_by_a_common_factor_give_the_plain_statistics():
    # What the overflow message advises.
    A = data(1000)
    est = BatchStandardizer().fit(A, sample_weight=np.full(1000, 1e308) / 1e308)
    assert_allclose(est.mean_, A.mean(axis=0), rtol=1e-12)
    assert_allclose(est.var_, A.var(axis=0), rtol=1e-12)


def test_large_weights_whose_total_fits_are_accepted():
    A = data(1000)
    est = BatchStandardizer().fit(A, sample_weight=np.full(1000, 1e300))
    assert_allclose(est.mean_, A.mean(axis=0), rtol=1e-12)


# ---------------------------------------------------------------------------
# 5. Intervals in parameter messages
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "interval"),
    [
        (
            lambda: BatchStandardizer(eps=math.inf),
            "eps must be a finite number in [0.0, inf), got inf",
        ),
        (
            lambda: BatchStandardizer(eps=-1.0),
            "eps must be a finite number in [0.0, inf), got -1.0",
        ),
        (
            lambda: SVDWhitener(eps=math.inf),
            "eps must be a finite number in [0.0, inf), got inf",
        ),
        (lambda: BatchStandardizer(momentum=math.inf), "in (0.0, 1.0], got inf"),
        (lambda: ZScoreOutlierDetector(threshold=math.inf), "in (0.0, inf), got inf"),
        (lambda: ZScoreOutlierDetector(threshold=0.0), "in (0.0, inf), got 0.0"),
        (
            lambda: MinMaxNormalizer(feature_range=(0.0, math.inf)),
            "feature_range must be a finite number in (-inf, inf), got inf",
        ),
    ],
)
def test_parameter_message_prints_an_interval_open_at_infinity(make, interval):
    with pytest.raises(ValueError, match=re.escape(interval)):
        make().fit(data())


@pytest.mark.parametrize(
    ("bounds", "interval"),
    [
        ({}, "(-inf, inf)"),
        ({"high": 1.0}, "(-inf, 1.0]"),
        ({"low": -2.0}, "[-2.0, inf)"),
        ({"low": -2.0, "low_inclusive": False}, "(-2.0, inf)"),
        ({"low": -math.inf, "high": math.inf}, "(-inf, inf)"),
    ],
)
@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_check_real_never_shows_a_rejected_infinity_inside_the_interval(
    bounds, interval, value
):
    with pytest.raises(ValueError, match=re.escape(f"in {interval}, got")):
        check_real(value, "x", **bounds)


# ---------------------------------------------------------------------------
# 6. NaN and infinity named as such, whatever assume_finite says
# ---------------------------------------------------------------------------


def with_value(value):
    X = data()
    X[4, 1] = value
    return X


NON_FINITE = [
    pytest.param(math.nan, "(?s)Input X contains NaN.*impute", id="NaN"),
    pytest.param(math.inf, "Input X contains infinity", id="+inf"),
    pytest.param(-math.inf, "Input X contains infinity", id="-inf"),
]


@pytest.mark.parametrize("assume_finite", [True, False])
@pytest.mark.parametrize(("value", "message"), NON_FINITE)
def test_whitener_names_nan_and_infinity_under_assume_finite(
    value, message, assume_finite
):
    fitted = SVDWhitener().fit(data(seed=1))
    before = fitted_state(fitted)
    with config_context(assume_finite=assume_finite):
        with pytest.raises(ValueError, match=message) as fit_error:
            SVDWhitener().fit(with_value(value))
        with pytest.raises(ValueError, match=message) as update_error:
            fitted.partial_fit(with_value(value))
    for error in (fit_error, update_error):
        assert "squares" not in str(error.value)
    assert_same_state(fitted, before)


@pytest.mark.parametrize("assume_finite", [True, False])
def test_whitener_says_too_large_only_for_finite_values(assume_finite):
    with config_context(assume_finite=assume_finite):
        with pytest.raises(ValueError, match="too large for their squares"):
            SVDWhitener().fit(with_value(1e200))


@pytest.mark.parametrize(("value", "message"), NON_FINITE)
def test_refuse_non_finite_names_the_value_under_assume_finite(value, message):
    with config_context(assume_finite=True):
        with pytest.raises(ValueError, match=message):
            refuse_non_finite(SVDWhitener(), with_value(value))
        with pytest.raises(ValueError, match="too large for their squares"):
            refuse_non_finite(SVDWhitener(), with_value(1e200))
