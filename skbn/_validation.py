"""Input and parameter validation shared by every skbn estimator.

Parameters are checked here, in ``fit``/``partial_fit`` and never in
``__init__`` (scikit-learn's convention), with messages that name the
parameter and the value received. Data goes through scikit-learn's public
``validate_data``/``check_array``, which set and check ``n_features_in_`` and
``feature_names_in_``, except for the common case of a batch those would pass
unchanged: a 2-D float ndarray of the right width, with no feature names on
either side. Such a batch only needs the finiteness check, and skipping the
rest makes a call on a small batch several times cheaper. Anything else, and
every batch that could raise or warn, takes scikit-learn's path, so errors and
warnings are scikit-learn's own, with one addition: data that numpy would turn
into floats though it is not numbers (strings of digits, dates, durations) is
refused here, by name, where scikit-learn would convert it in silence.
"""

import math
import numbers
import warnings
from contextlib import contextmanager

import numpy as np
from scipy import sparse
from sklearn import config_context, get_config
from sklearn.utils import assert_all_finite
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from ._blocks import sum_is_finite

FLOAT_DTYPES = (np.float64, np.float32)


def kept_dtypes(estimator):
    """The float dtypes an estimator's output keeps (other input: float64).

    float64 and float32 for every estimator; the scalers keep float16 too,
    as scikit-learn's do (``_kept_float_dtypes`` on their class).
    """
    return getattr(type(estimator), "_kept_float_dtypes", FLOAT_DTYPES)


def check_bool(value, name):
    """Return ``value`` if it is a bool (numpy's included)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}.")
    return bool(value)


def check_real(value, name, *, low=None, high=None, low_inclusive=True):
    """Return ``value`` as a float after checking it is a finite real number.

    ``low``/``high`` bound it; ``high`` is inclusive, ``low`` inclusive unless
    ``low_inclusive`` is False.
    """
    # A float or an int is the usual case, checked on every call: spared
    # the slower test against the numbers ABC.
    if type(value) not in (float, int) and (
        not isinstance(value, numbers.Real) or isinstance(value, (bool, np.bool_))
    ):
        raise ValueError(f"{name} must be a real number, got {value!r}.")
    value = float(value)
    too_low = low is not None and (value < low if low_inclusive else value <= low)
    too_high = high is not None and value > high
    if not math.isfinite(value) or too_low or too_high:
        bounds = _interval(low, high, low_inclusive=low_inclusive)
        raise ValueError(f"{name} must be a finite number in {bounds}, got {value!r}.")
    return value


def _interval(low, high, *, low_inclusive):
    """``[low, high]`` in interval notation, open at an infinite end.

    An infinite end is never in the interval (the value must be finite), so
    printing it closed would show a rejected value as allowed.
    """
    low = -math.inf if low is None else low
    high = math.inf if high is None else high
    left = "(" if math.isinf(low) or not low_inclusive else "["
    right = ")" if math.isinf(high) else "]"
    return f"{left}{low}, {high}{right}"


def check_int(value, name, *, low):
    """Return ``value`` as an int after checking it is an integer >= ``low``."""
    if (
        not isinstance(value, numbers.Integral)
        or isinstance(value, (bool, np.bool_))
        or value < low
    ):
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")
    return int(value)


def check_per_feature(value, name, n_features):
    """Return a finite scalar or a finite array of shape (n_features,) as float64."""
    if type(value) is float and math.isfinite(value):
        # The usual case, checked on every call: spared numpy's overhead.
        return np.array(value)
    array = np.asarray(value)
    if array.dtype.kind not in "biuf":
        raise ValueError(
            f"{name} must be a real number or an array of real numbers, got {value!r}."
        )
    array = array.astype(np.float64)
    if array.ndim > 1 or (array.ndim == 1 and array.shape != (n_features,)):
        raise ValueError(
            f"{name} must be a scalar or an array of shape ({n_features},), one value "
            f"per feature; got shape {array.shape}."
        )
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite, got {value!r}.")
    return array


def check_interval(value, name, *, n_features=None):
    """Return the bounds ``(low, high)`` of a pair, with ``low < high``.

    Without ``n_features`` the bounds are real numbers; with it, each may also
    be an array of shape (n_features,), one bound per feature (float64).
    """
    try:
        is_pair = not isinstance(value, (str, bytes)) and len(value) == 2
    except TypeError:  # no length: a scalar, or a 0-d array
        is_pair = False
    if not is_pair:
        raise ValueError(f"{name} must be a pair (low, high), got {value!r}.")
    if n_features is None:
        low, high = (check_real(bound, name) for bound in value)
        empty = low >= high
    else:
        low, high = (check_per_feature(bound, name, n_features) for bound in value)
        empty = (low >= high).any()
    if empty:
        raise ValueError(
            f"{name} must have low < high (for every feature), got {value!r}."
        )
    return low, high


def check_weights(sample_weight, n_samples):
    """Validate frequency weights for ``n_samples`` rows: None, or float64.

    A scalar is repeated for every sample. Weights must be finite and
    non-negative, and not all zero.
    """
    if sample_weight is None:
        return None
    weight = _real_weights(sample_weight)
    if weight.ndim == 0:
        weight = np.full(n_samples, weight)
    if weight.shape != (n_samples,):
        raise ValueError(
            f"sample_weight must have shape ({n_samples},), one weight per sample; "
            f"got shape {weight.shape}."
        )
    # A sum is finite only if every term is: the common case reads the
    # weights once.
    with np.errstate(over="ignore", invalid="ignore"):
        total = float(weight.sum())
    if not math.isfinite(total) and not np.isfinite(weight).all():
        raise ValueError("sample_weight must be finite; it contains NaN or infinity.")
    if np.any(weight < 0):
        raise ValueError("sample_weight must be non-negative; got negative weights.")
    if not math.isfinite(total):
        raise ValueError(
            "The total of sample_weight overflows float64 (it exceeds about "
            "1.8e308). Divide them all by a common factor, such as their "
            "maximum: means, variances and extrema depend on the ratios of the "
            "weights only, and quantiles almost only (their positions count "
            "the total weight less one, as numpy's count n - 1 rows)."
        )
    if not np.any(weight > 0):
        raise ValueError(
            "sample_weight must not be all zero: at least one sample must count."
        )
    return weight


def _real_weights(sample_weight):
    """``sample_weight`` as float64, refusing what only converts by accident.

    numpy turns strings of digits into numbers and drops an imaginary part
    with no more than a warning; neither is a weight.
    """
    weight = np.asarray(sample_weight)
    what = _not_numbers(weight)
    if what is None and weight.dtype.kind == "c":
        what = "complex numbers"
    if what is not None:
        raise ValueError(f"sample_weight must be real numbers; got {what}.")
    try:
        return np.asarray(weight, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"sample_weight must be an array of real numbers: {exc}"
        ) from exc


def validate_batch(
    estimator,
    X,
    *,
    reset,
    accept_sparse=False,
    allow_nan=True,
    copy=None,
    finite_checked_by_caller=False,
    inverse_of=None,
):
    """Validate a batch of X for fitting or transforming.

    Returns a 2-D float64 or float32 array (int and bool become float64)
    without infinity, and without NaN unless ``allow_nan``; strings, bytes,
    dates and durations are refused by name. CSR/CSC matrices pass when
    ``accept_sparse`` is True (a string there: why they cannot).

    ``copy=None``: the result is only read. ``copy=False``: it is writeable,
    and X itself only for a writeable float ndarray; any other X (a
    DataFrame, a list, a read-only or int array) is never written to.

    ``finite_checked_by_caller``: a plain float array skips the finiteness
    pass; the caller's own pass (the statistics of a fit, the map of a
    copying transform) refuses what scikit-learn would. ``inverse_of``: X is
    transformed data of that many columns, for ``inverse_transform``: its
    feature names are the output's, so only the width is checked.
    """
    inverse = inverse_of is not None
    if inverse:
        n_features = inverse_of
    else:
        n_features = None if reset else getattr(estimator, "n_features_in_", None)
    if (inverse or not hasattr(estimator, "feature_names_in_")) and _passes_unchanged(
        estimator,
        X,
        n_features,
        copy=copy,
        allow_nan=allow_nan,
        # check_array's messages say "Input", not "Input X".
        input_name="" if inverse else "X",
        check_finite=not finite_checked_by_caller,
    ):
        if reset:
            estimator.n_features_in_ = X.shape[1]
        return X
    if accept_sparse is not True:
        _reject_sparse(X, estimator, accept_sparse)
    readable, problem = _read_numbers(X)
    # scikit-learn's own check reads X once for both NaN and infinity, and
    # its message for NaN names the estimator and suggests an imputer.
    options = {
        "dtype": _accepted_dtypes(X, estimator),
        "accept_sparse": ("csr", "csc") if accept_sparse is True else False,
        "ensure_all_finite": "allow-nan" if allow_nan else True,
        "copy": bool(copy) and readable is X,
        "force_writeable": copy is True,
    }
    if inverse:
        validated = _refuse_unless_numbers(
            problem, lambda: check_array(readable, estimator=estimator, **options)
        )
        if validated.shape[1] != inverse_of:
            raise ValueError(
                f"X has {validated.shape[1]} features, but "
                f"{type(estimator).__name__} is expecting {inverse_of} features "
                "as input."
            )
    else:
        validated = _refuse_unless_numbers(
            problem,
            lambda: validate_data(estimator, readable, reset=reset, **options),
        )
    return _writeable(X, validated) if copy is False else validated


def check_shape(estimator, X, *, reset, n_features=None):
    """The checks of X's shape, in scikit-learn's words, for arrays its
    validation does not read (Dask's, other namespaces'): 2-D, not empty,
    ``n_features`` columns (by default the fit's). Sets ``n_features_in_``
    when ``reset``; warns, as scikit-learn does, when the fit had feature
    names and X has none."""
    name = type(estimator).__name__
    if X.ndim != 2:
        raise ValueError(
            f"Expected 2D array, got {X.ndim}D array instead: reshape X to "
            "(n_samples, n_features)."
        )
    n_samples, width = X.shape
    if n_samples == 0 or width == 0:
        raise ValueError(
            f"Found array with {n_samples} sample(s) and {width} feature(s) "
            f"(shape={tuple(X.shape)}) while a minimum of 1 is required by {name}."
        )
    if reset:
        estimator.n_features_in_ = width
        vars(estimator).pop("feature_names_in_", None)
        return
    expected = estimator.n_features_in_ if n_features is None else n_features
    if width != expected:
        raise ValueError(
            f"X has {width} features, but {name} is expecting {expected} features "
            "as input."
        )
    if hasattr(estimator, "feature_names_in_"):
        warnings.warn(
            f"X does not have valid feature names, but {name} was fitted with "
            "feature names",
            UserWarning,
            stacklevel=5,
        )


def refuse_non_finite(estimator, X):
    """Raise validation's error for a NaN or an infinity in X.

    For a caller whose statistics of X came out non-finite after validation
    skipped its finiteness pass (``finite_checked_by_caller``). If every
    value is finite, their squares overflowed float64: that is said instead.
    """
    if not np.isfinite(X).all():
        # Looked for here rather than by assert_all_finite alone, which
        # checks nothing under assume_finite=True: a NaN would then be
        # reported as a value too large. Its message is still the one
        # validation gives.
        with config_context(assume_finite=False):
            assert_all_finite(
                X,
                allow_nan=False,
                estimator_name=type(estimator).__name__,
                input_name="X",
            )
    raise squares_overflow()


def squares_overflow():
    """The error for X whose values are finite but whose squares are not."""
    return ValueError(
        "X has values too large for their squares to be summed in float64 "
        "(about 1e150 or more); rescale X first."
    )


def check_fitted(estimator):
    """scikit-learn's ``check_is_fitted``, at no cost once fitted.

    Every skbn fit sets ``n_features_in_``; only without it is the full
    check (and its NotFittedError) needed.
    """
    if not hasattr(estimator, "n_features_in_"):
        check_is_fitted(estimator)


def _passes_unchanged(
    estimator, X, n_features, *, copy, allow_nan, input_name, check_finite=True
):
    """Whether scikit-learn's validation would return X itself, untouched.

    True for a 2-D ndarray (not a subclass) of an accepted float dtype, with
    rows, ``n_features`` columns (at least one if None), and writeable where
    ``copy=False`` will write into it, once its values pass scikit-learn's
    finiteness check (unless ``check_finite`` is false: the caller's own pass
    does it), which raises scikit-learn's error if they do not. False
    for anything else, which then takes scikit-learn's whole path. Feature
    names are the caller's to check.
    """
    if not (
        type(X) is np.ndarray
        and X.ndim == 2
        and X.dtype in kept_dtypes(estimator)
        and X.shape[0] > 0
        and (X.shape[1] > 0 if n_features is None else X.shape[1] == n_features)
        and (copy is not False or X.flags.writeable)
    ):
        return False
    if check_finite and not get_config()["assume_finite"]:
        # A sum is finite only if every term is: one cheap pass in the common
        # case, as in scikit-learn, whose check then runs (and warns) as ever.
        if not sum_is_finite(X):
            assert_all_finite(
                X,
                allow_nan=allow_nan,
                estimator_name=type(estimator).__name__,
                input_name=input_name,
            )
    return True


# What numpy would turn into floats though it is not numbers, by dtype kind.
_NOT_NUMBERS = {
    "U": "strings",
    "S": "bytes",
    "M": "dates or times",
    "m": "durations",
}


def _read_numbers(X):
    """X as scikit-learn's validation is to read it, and why it is not numbers.

    Returns ``(readable, problem)``: ``problem`` is None, or a phrase saying
    what in X is not real numbers (strings, bytes, dates, durations) that
    numpy would convert to floats all the same. A list or tuple is read into
    an array here, once, to see what it holds: ``readable`` is then that new
    array; otherwise it is X.
    """
    if isinstance(X, (list, tuple)):
        try:
            X = np.asarray(X)
        except (TypeError, ValueError):
            # Ragged or odd: scikit-learn's conversion says what is wrong.
            return X, None
        return X, _array_problem(X)
    if isinstance(X, np.ndarray):
        return X, _array_problem(X)
    if _library(X) == "pandas" and hasattr(X, "columns"):
        return X, _pandas_problem(X)
    if _library(X) == "polars" and hasattr(X, "schema"):
        return X, _polars_problem(X)
    dtype = getattr(X, "dtype", None)
    if isinstance(dtype, np.dtype) and dtype.kind in _NOT_NUMBERS:
        return X, f"got data of dtype {dtype} ({_NOT_NUMBERS[dtype.kind]})"
    return X, None


def _array_problem(X):
    """What in the ndarray X is not numbers, as the error is to say it."""
    what = _not_numbers(X)
    if what is None:
        return None
    if X.dtype.kind == "O":
        return f"got an array of dtype object holding {what}"
    return f"got an array of dtype {X.dtype} ({what})"


def _not_numbers(array):
    """What a numpy array holds that is not numbers, or None.

    An object array is read value by value, as its conversion would be:
    numbers in it are fine (scikit-learn's ``check_dtype_object``), and other
    objects are left to the conversion's own TypeError.
    """
    kind = array.dtype.kind
    if kind == "O":
        return _text_in(array.flat)
    return _NOT_NUMBERS.get(kind)


def _text_in(values):
    """``"strings"`` or ``"bytes"`` if some value is one, else None."""
    for value in values:
        if isinstance(value, (str, bytes)):
            return "strings" if isinstance(value, str) else "bytes"
    return None


def _pandas_problem(X):
    """The first column of a pandas frame that is not numbers, and why."""
    for position, (name, dtype) in enumerate(X.dtypes.items()):
        kind = getattr(dtype, "kind", "O")
        what = _NOT_NUMBERS.get(kind)
        if kind == "O":  # object, pandas' strings, categories, ...
            what = _text_in(X.iloc[:, position])
        if what is not None:
            return f"column {name!r} has dtype {dtype} ({what})"
    return None


def _polars_problem(X):
    """The first column of a polars frame that is not numbers, and why."""
    import polars as pl

    for name, dtype in X.schema.items():
        what = None
        if dtype == pl.Duration:
            what = "durations"
        elif dtype.is_temporal():
            what = "dates or times"
        elif any(dtype == text for text in (pl.String, pl.Categorical, pl.Enum)):
            what = "strings"
        elif dtype == pl.Binary:
            what = "bytes"
        if what is not None:
            return f"column {name!r} has dtype {dtype} ({what})"
    return None


def _refuse_unless_numbers(problem, validate):
    """``validate()``'s result, unless ``problem`` says X is not numbers.

    scikit-learn still reads such an X first: where it cannot convert it,
    its own ValueError (which names the value) stands, and its bookkeeping
    of feature names is that of any rejected batch; where it would make
    floats of strings or dates in silence, or fails with a bare TypeError,
    X is refused here, saying what it holds.
    """
    if problem is None:
        return validate()
    message = f"X must hold real numbers; {problem}. Convert it to numbers first."
    try:
        validate()
    except TypeError as exc:
        raise ValueError(message) from exc
    raise ValueError(message)


def _accepted_dtypes(X, estimator):
    """The float dtypes validation may return X in (:func:`kept_dtypes`).

    scikit-learn reads no dtype from a polars frame, and so makes even an
    all-Float32 one float64: that one is asked for as float32, as a float32
    ndarray or pandas frame stays float32. A mix of dtypes becomes float64.
    """
    if _library(X) == "polars" and hasattr(X, "schema"):
        import polars as pl

        if all(dtype == pl.Float32 for dtype in X.schema.values()):
            return np.float32
    return kept_dtypes(estimator)


def _writeable(X, validated):
    """``validated``, or a copy of it where ``copy=False`` must not write.

    Only a float ndarray of the caller's is transformed in place. The data of
    a DataFrame belongs to the frame and to every copy-on-write sibling that
    shares it: pandas hands it out read-only for that reason (scikit-learn's
    ``force_writeable`` would unmark it), polars' Arrow memory is immutable.
    Sparse matrices are scaled in place, as scikit-learn's scalers do.
    """
    if sparse.issparse(validated):
        return validated
    if validated.flags.writeable and (
        isinstance(X, np.ndarray) or not _may_view(X, validated)
    ):
        return validated
    return validated.copy(order="K")


def _may_view(X, validated):
    """Whether ``validated``, read from X (not an ndarray), may be X's memory."""
    if isinstance(X, (list, tuple)) or _library(X) == "polars":
        return False  # a new array; polars hands out its own memory read-only
    if _library(X) == "pandas" and hasattr(X, "iloc"):
        # Without copy-on-write (pandas 2) a frame's view is writeable: where
        # one of its columns lies tells whether the whole frame was viewed.
        return np.may_share_memory(validated, X.iloc[:, 0].to_numpy())
    return True


def _library(X):
    """The top-level package X's type comes from, without importing any."""
    return type(X).__module__.partition(".")[0]


class SparseInputError(TypeError, ValueError):
    """Sparse input where an estimator setting needs dense data.

    A TypeError, as scikit-learn raises for unsupported sparse input (its
    estimator checks expect one), and a ValueError, as for any other input
    an estimator cannot take.
    """


def _reject_sparse(X, estimator, why=False):
    if sparse.issparse(X):
        raise SparseInputError(
            f"{type(estimator).__name__} "
            + (why or "does not accept sparse matrices here")
            + "; convert X to a dense array (X.toarray())."
        )


@contextmanager
def rollback_on_error(estimator):
    """Restore the estimator's whole state if the block raises.

    ``validate_data`` records ``n_features_in_`` and ``feature_names_in_`` as
    it validates, so a batch rejected later (or a first batch rejected at all)
    would otherwise leave traces; snapshotting ``__dict__`` makes every
    ``fit``/``partial_fit`` all-or-nothing.
    """
    saved = dict(vars(estimator))
    try:
        yield
    except BaseException:
        vars(estimator).clear()
        vars(estimator).update(saved)
        raise
