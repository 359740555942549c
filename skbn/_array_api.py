"""Arrays of other array-API libraries: torch, CuPy, array-api-strict, ...

With scikit-learn's array API dispatch on, an estimator given such an array
makes its passes over X (the sums and squared deviations, the extrema, the
scatter matrix X'X, the maps) with that array's namespace, on its device. What
those passes produce is small (a few numbers per feature, or a matrix of
n_features squared): it is brought to the host and merged and derived in
float64 by the same code as numpy's, and the fitted attributes are published
back on the device, in float64 where the device has it.

array-api-compat (the ``array-api`` extra) gives the namespaces; skbn itself
never imports torch or CuPy. A numpy array takes the numpy path, dispatch or
not, at the cost of a type check.
"""

import copy
import functools
import math

import numpy as np
from sklearn import get_config

from ._dask import is_dask_array


def foreign_namespace(X):
    """X's array-API namespace, if dispatch is on and X is not numpy's; else None."""
    if type(X) is np.ndarray or not get_config()["array_api_dispatch"]:
        return None
    if isinstance(X, (np.ndarray, np.generic, list, tuple)) or is_dask_array(X):
        return None
    from array_api_compat import array_namespace, is_array_api_obj, is_numpy_array

    if not is_array_api_obj(X) or is_numpy_array(X):
        return None
    return array_namespace(X)


def device_of(X):
    from array_api_compat import device

    return device(X)


def to_numpy(array):
    """A numpy copy of an array of any namespace, wherever it lives."""
    from array_api_compat import is_cupy_array, is_torch_array

    if is_torch_array(array):
        # (numpy() of a CPU tensor shares its memory: hence the copy.)
        return np.array(array.detach().cpu().numpy())
    if is_cupy_array(array):
        return array.get()
    return np.array(np.from_dlpack(array) if hasattr(array, "__dlpack__") else array)


def accumulation_dtype(xp, device):
    """float64 where the device has it, else float32."""
    try:
        xp.zeros(1, dtype=xp.float64, device=device)
    except (TypeError, RuntimeError, ValueError):
        return xp.float32
    return xp.float64


def on_device(values, xp, device, dtype=None):
    """A numpy array (or scalar) as an array of ``xp`` on ``device``."""
    values = np.asarray(values)
    if dtype is None:
        dtype = (
            accumulation_dtype(xp, device)
            if values.dtype.kind == "f"
            else xp.int64
            if values.dtype.kind in "iu"
            else None
        )
    return xp.asarray(values, dtype=dtype, device=device)


# The methods that change the fitted state; the others leave it as it was.
_FITTING = ("fit", "partial_fit", "partial_fit_transform")


def follows_namespace(method):
    """Let a method of X take arrays of any namespace, on any device.

    With an X of another namespace (see :func:`foreign_namespace`), or on an
    estimator fitted on one, the method runs with the fitted arrays as numpy
    arrays. A fitting method then publishes its arrays in X's namespace on
    X's device; any other leaves them as they were. With dispatch on, an X
    in another namespace or on another device than the fit's is refused, as
    scikit-learn refuses it, except by ``fit``, which starts afresh.
    """
    fitting = method.__name__ in _FITTING

    @functools.wraps(method)
    def wrapper(self, X, *args, **kwargs):
        xp = foreign_namespace(X)
        held = self.__dict__.get("_array_namespace")
        if xp is None and held is None:
            if type(X) is np.ndarray or not hasattr(self, "n_features_in_"):
                return method(self, X, *args, **kwargs)
        where = None if xp is None else (xp.__name__, str(device_of(X)))
        if (
            where != held
            and method.__name__ != "fit"
            and hasattr(self, "n_features_in_")
            and get_config()["array_api_dispatch"]
            and not is_dask_array(X)
        ):
            raise ValueError(
                f"{type(self).__name__}.{method.__name__}() must use the same "
                f"namespace and device as the fit: it was fitted on {_name(held)} "
                f"arrays, and X is {_name(where)}. Move X, or use "
                "skbn.estimator_to_numpy(estimator) for numpy arrays."
            )
        if xp is None and held is None:
            return method(self, X, *args, **kwargs)
        before = set(vars(self))
        originals = {
            name: value
            for name, value in vars(self).items()
            if _is_foreign_array(value)
        }
        for name, value in originals.items():
            setattr(self, name, to_numpy(value))
        try:
            result = method(self, X, *args, **kwargs)
        except BaseException:
            vars(self).update(originals)
            raise
        if not fitting:
            # What the method derived and kept (a map derived on first use)
            # goes where the rest of the state is.
            for name, value in list(vars(self).items()):
                if (
                    name not in originals
                    and name not in before
                    and (isinstance(value, np.ndarray))
                ):
                    setattr(self, name, on_device(value, xp, device_of(X)))
            vars(self).update(originals)
        elif xp is None:  # fitted on numpy arrays, dispatch or not
            self._array_namespace = None
        else:
            _publish(self, xp, device_of(X))
        return result

    return wrapper


def _name(where):
    return "numpy" if where is None else f"{where[0]} (device {where[1]})"


def estimator_to_numpy(estimator):
    """A copy of a fitted skbn estimator whose array attributes are numpy arrays.

    An estimator fitted on, say, torch tensors on a GPU holds its fitted
    attributes there; the copy holds them in host memory as numpy arrays,
    and transforms numpy arrays as if it had been fitted on them. The
    estimator itself is left as it was.

    Parameters
    ----------
    estimator : estimator
        A fitted skbn estimator.

    Returns
    -------
    estimator : estimator
        The copy.

    Examples
    --------
    >>> import numpy as np
    >>> from skbn import BatchStandardizer, estimator_to_numpy
    >>> scaler = estimator_to_numpy(BatchStandardizer().fit(np.eye(3)))
    >>> type(scaler.mean_).__name__
    'ndarray'
    """
    converted = copy.copy(estimator)
    for name, value in vars(estimator).items():
        if _is_foreign_array(value):
            setattr(converted, name, to_numpy(value))
    converted._array_namespace = None
    return converted


def as_host(value):
    """A fitted array of any namespace as a numpy array (numpy's as it is)."""
    return to_numpy(value) if _is_foreign_array(value) else value


def like(values, reference):
    """numpy ``values`` in the namespace and on the device of ``reference``."""
    if not _is_foreign_array(reference):
        return values
    from array_api_compat import array_namespace

    return on_device(values, array_namespace(reference), device_of(reference))


def _is_foreign_array(value):
    if isinstance(value, (np.ndarray, np.generic, int, float, str, type(None))):
        return False
    try:
        from array_api_compat import is_array_api_obj
    except ImportError:  # then nothing was fitted on another namespace
        return False
    return is_array_api_obj(value) and not is_dask_array(value)


def _publish(estimator, xp, device):
    # Every numeric array, private ones included: scikit-learn's checks want
    # the whole state on the device.
    for name, value in list(vars(estimator).items()):
        if isinstance(value, np.ndarray) and value.dtype.kind in "fiu":
            setattr(estimator, name, on_device(value, xp, device))
    estimator._array_namespace = (xp.__name__, str(device))


# --------------------------------------------------------------- validation


def validate_foreign(estimator, X, xp, *, reset, allow_nan, n_features=None):
    """What ``validate_batch`` checks, for an array of another namespace.

    Returns X as a real floating array of its namespace (int and bool become
    the accumulation dtype); sets ``n_features_in_`` when ``reset``.
    """
    name = type(estimator).__name__
    if X.ndim != 2:
        raise ValueError(
            f"Expected 2D array, got {X.ndim}D array instead: reshape X to "
            "(n_samples, n_features)."
        )
    if not xp.isdtype(X.dtype, ("real floating", "integral", "bool")):
        raise ValueError(f"{name} needs real numbers; X has dtype {X.dtype}.")
    if X.dtype not in (xp.float32, xp.float64):  # int, bool, float16
        X = xp.astype(X, accumulation_dtype(xp, device_of(X)))
    n_samples, width = X.shape
    if n_samples == 0 or width == 0:
        raise ValueError(
            f"Found array with {n_samples} sample(s) and {width} feature(s) "
            f"(shape={tuple(X.shape)}) while a minimum of 1 is required by {name}."
        )
    expected = None if reset else estimator.n_features_in_
    if n_features is not None:
        expected = n_features
    if expected is not None and width != expected:
        raise ValueError(
            f"X has {width} features, but {name} is expecting {expected} features "
            "as input."
        )
    # A sum is finite only if every term is: one reduction in the common
    # case, the exact searches only when it is not.
    if math.isfinite(float(xp.sum(X))):
        pass
    elif bool(xp.any(xp.isinf(X))):
        raise ValueError(
            f"Input X contains infinity or a value too large for {X.dtype}."
        )
    elif not allow_nan and bool(xp.any(xp.isnan(X))):
        raise ValueError(
            f"Input X contains NaN. {name} does not accept missing values encoded "
            "as NaN: impute them first (see sklearn.impute)."
        )
    if reset:
        estimator.n_features_in_ = width
        if hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
    return X


def foreign_sample_weight(sample_weight, X, xp, check):
    """Weights for the rows of X, in its namespace on its device.

    They are checked on the host by ``check`` (``check_sample_weight``'s
    numpy checks), as one small vector.
    """
    if sample_weight is None:
        return None
    host = (
        to_numpy(sample_weight) if _is_foreign_array(sample_weight) else sample_weight
    )
    weight = check(host, X.shape[0])
    return on_device(weight, xp, device_of(X))


# ------------------------------------------------------------ statistics


def foreign_moments(X, sample_weight, origin, xp):
    """Weight, mean (from ``origin``), m2 of X's observed values, and whether
    none was missing, on the host.

    The corrected two-pass algorithm, in the accumulation dtype on X's device.
    """
    device = device_of(X)
    dtype = accumulation_dtype(xp, device)
    # float32 minus float64 is float64: one pass, no float64 copy of X first.
    deviation = X - on_device(origin, xp, device, dtype)
    if sample_weight is None:
        sums = to_numpy(xp.sum(deviation, axis=0))
        if np.isfinite(sums).all():  # no NaN: validation refused infinity
            return *_complete_moments(deviation, sums, xp, device), True
    missing = xp.isnan(deviation)
    deviation = xp.where(missing, xp.zeros_like(deviation), deviation)
    present = xp.astype(xp.logical_not(missing), dtype)
    weights = present if sample_weight is None else present * sample_weight[:, None]
    weight = xp.sum(weights, axis=0)
    safe = xp.where(weight > 0, weight, xp.ones_like(weight))
    center = xp.sum(weights * deviation, axis=0) / safe
    centred = xp.where(missing, xp.zeros_like(deviation), deviation - center)
    residual = xp.sum(weights * centred, axis=0)
    m2 = xp.sum(weights * centred * centred, axis=0) - residual * residual / safe
    mean = center + residual / safe
    weight = to_numpy(weight)
    complete = not bool(xp.any(missing))
    if complete:  # every feature weighs the same: the very same number
        weight = np.full(weight.shape, weight[0])
    return weight, to_numpy(mean), np.maximum(to_numpy(m2), 0.0), complete


def _complete_moments(deviation, sums, xp, device):
    # Unweighted, without NaN: the sums and squares of the deviations from
    # the origin, the batch mean removed afterwards (as in
    # skbn._stats._block_moments); a batch whose mean lies further from the
    # origin than its spread is centred on that mean first.
    n_samples = deviation.shape[0]
    sum_squares = to_numpy(xp.sum(deviation * deviation, axis=0))
    shift = np.zeros(deviation.shape[1])
    if np.any(2.0 * sums * sums > n_samples * sum_squares):
        shift = sums / n_samples
        deviation = deviation - on_device(shift, xp, device, deviation.dtype)
        sums = to_numpy(xp.sum(deviation, axis=0))
        sum_squares = to_numpy(xp.sum(deviation * deviation, axis=0))
    m2 = np.maximum(sum_squares - sums * sums / n_samples, 0.0)
    return np.full(deviation.shape[1], float(n_samples)), shift + sums / n_samples, m2


def foreign_extrema(X, sample_weight, xp):
    """Per-feature min and max of the observed values of rows of weight > 0."""
    device = device_of(X)
    absent = xp.isnan(X)
    if sample_weight is not None:
        absent = xp.logical_or(absent, (sample_weight <= 0)[:, None])
    infinity = xp.asarray(math.inf, dtype=X.dtype, device=device)
    low = xp.min(xp.where(absent, infinity, X), axis=0)
    high = xp.max(xp.where(absent, -infinity, X), axis=0)
    observed = xp.logical_not(xp.all(absent, axis=0))
    low, high, observed = to_numpy(low), to_numpy(high), to_numpy(observed)
    return (
        np.where(observed, low, np.nan).astype(np.float64),
        np.where(observed, high, np.nan).astype(np.float64),
    )


def foreign_scatter(X, sample_weight, origin, xp):
    """Weight, mean (from ``origin``) and centred scatter matrix, on the host.

    One matrix product about the origin, the batch mean removed afterwards;
    a batch whose mean lies further from the origin than its spread is
    centred on its own mean first (as ``skbn._stats._block_scatter`` does).
    """
    device = device_of(X)
    dtype = accumulation_dtype(xp, device)
    weight = float(X.shape[0] if sample_weight is None else xp.sum(sample_weight))
    center = np.asarray(origin, dtype=np.float64)
    column_sum, product = _sum_and_product(X, center, sample_weight, xp, dtype)
    if weight > 0 and np.any(
        2.0 * column_sum * column_sum > weight * np.diagonal(product)
    ):
        center = center + column_sum / weight
        column_sum, product = _sum_and_product(X, center, sample_weight, xp, dtype)
    matrix = (product + product.T) / 2.0
    if weight > 0:
        matrix -= np.outer(column_sum, column_sum) / weight
    mean = (center - origin) + (column_sum / weight if weight > 0 else 0.0)
    return weight, mean, matrix


def _sum_and_product(X, center, sample_weight, xp, dtype):
    # In the accumulation dtype: float32 minus float64 is float64.
    deviation = X - on_device(center, xp, device_of(X), dtype)
    weighted = (
        deviation if sample_weight is None else deviation * sample_weight[:, None]
    )
    return (
        to_numpy(xp.sum(weighted, axis=0)).astype(np.float64),
        to_numpy(xp.matmul(xp.matrix_transpose(weighted), deviation)).astype(
            np.float64
        ),
    )


# --------------------------------------------------------------------- maps


def foreign_affine(X, xp, *, shift=None, factor=None, offset=None, inverse=False):
    """``(X - shift) * factor + offset``, or its inverse; X's dtype and device.

    Always a new array: the arrays of other namespaces are not written into.
    """
    device = device_of(X)
    steps = [
        (operation, on_device(value, xp, device, X.dtype))
        for operation, value in (
            [(xp.subtract, offset), (xp.divide, factor), (xp.add, shift)]
            if inverse
            else [(xp.subtract, shift), (xp.multiply, factor), (xp.add, offset)]
        )
        if value is not None
    ]
    if not steps:
        return xp.asarray(X, copy=True)
    result = X
    for operation, value in steps:  # the first makes the new array
        result = operation(result, value)
    return result


def foreign_linear(X, xp, *, before, matrix, after):
    """``(X - before) @ matrix + after``, in X's dtype on its device."""
    device = device_of(X)
    result = xp.matmul(
        X - on_device(before, xp, device, X.dtype),
        on_device(matrix, xp, device, X.dtype),
    )
    return result + on_device(after, xp, device, X.dtype)


def total(values):
    """The sum of a 1-D array of any namespace, as a Python float."""
    if isinstance(values, np.ndarray) or is_dask_array(values):
        return float(values.sum())
    from array_api_compat import array_namespace

    return float(array_namespace(values).sum(values))


def count_positive(values):
    """How many entries of a 1-D array of any namespace are positive."""
    if isinstance(values, np.ndarray) or is_dask_array(values):
        return int((values > 0).sum())
    from array_api_compat import array_namespace

    xp = array_namespace(values)
    return int(xp.sum(xp.astype(values > 0, xp.int64)))


def largest_absolute(z, xp):
    """``max_j abs(z_j)`` of each row over its observed values (0 for none).

    In the accumulation dtype, as numpy's scores are float64 whatever X's.
    """
    magnitude = xp.abs(z)
    observed = xp.where(xp.isnan(magnitude), xp.zeros_like(magnitude), magnitude)
    return xp.astype(xp.max(observed, axis=1), accumulation_dtype(xp, device_of(z)))


def labels(decision, xp):
    """-1 where ``decision`` is negative, +1 elsewhere, as int64."""
    device = device_of(decision)
    minus = xp.asarray(-1, dtype=xp.int64, device=device)
    plus = xp.asarray(1, dtype=xp.int64, device=device)
    return xp.where(decision < 0, minus, plus)
