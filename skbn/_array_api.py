"""The backend of other array-API libraries: torch, CuPy, array-api-strict, ...

With scikit-learn's array API dispatch on, the passes over X (sums, squared
deviations, extrema, X'X, the maps) run with X's namespace on its device;
what they produce is small and is merged and derived on the host in float64
by numpy's code, and the fitted attributes are published on the device,
where transforms use them. array-api-compat (the ``array-api`` extra) gives
the namespaces; skbn never imports torch or CuPy.
"""

import math

import numpy as np
from sklearn import get_config
from sklearn.utils import assert_all_finite

from ._dask import is_dask_array
from ._stats import Extrema, Factor, Moments, Scatter, upper_factor
from ._validation import check_shape, check_weights


def namespace_backend(X):
    """The backend of X's array-API namespace, if dispatch is on and X is
    not numpy's (nor a list, nor a Dask array); else None."""
    if not get_config()["array_api_dispatch"]:
        return None
    if isinstance(X, (np.ndarray, np.generic, list, tuple)):
        return None
    from array_api_compat import array_namespace, is_array_api_obj, is_numpy_array

    if not is_array_api_obj(X) or is_numpy_array(X):
        return None
    xp, device = array_namespace(X), device_of(X)
    key = (xp.__name__, str(device))
    if key not in _BACKENDS:  # (finding the accumulation dtype allocates)
        _BACKENDS[key] = ArrayAPIBackend(xp, device)
    return _BACKENDS[key]


_BACKENDS = {}


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
    state = {name: _on_host(value) for name, value in estimator.__getstate__().items()}
    converted = object.__new__(type(estimator))
    converted.__setstate__({**state, "_fitted_on": None})
    return converted


def _on_host(value):
    if isinstance(value, dict):  # fitted maps derived later, say
        return {name: _on_host(item) for name, item in value.items()}
    return to_numpy(value) if _is_foreign_array(value) else value


def _is_foreign_array(value):
    if isinstance(value, (np.ndarray, np.generic, int, float, str, type(None))):
        return False
    try:
        from array_api_compat import is_array_api_obj
    except ImportError:  # then nothing was fitted on another namespace
        return False
    return is_array_api_obj(value) and not is_dask_array(value)


class ArrayAPIBackend:
    """The backend of one array-API namespace ``xp`` on one device.

    The methods of :class:`skbn._backend.NumpyBackend`, each computed with
    ``xp`` on the device of X.
    """

    def __init__(self, xp, device):
        self.xp, self.device = xp, device
        self.where = (xp.__name__, str(device))
        #: float64 where the device has it, else float32.
        self.dtype = accumulation_dtype(xp, device)

    def validate(self, estimator, X, *, reset, allow_nan=True, inverse_of=None, **_):
        """X as a real floating array of its namespace (int and bool become
        the accumulation dtype); sets ``n_features_in_`` when ``reset``;
        ``inverse_of`` columns for an inverse map's input."""
        xp = self.xp
        name = type(estimator).__name__
        if not xp.isdtype(X.dtype, ("real floating", "integral", "bool")):
            raise ValueError(f"{name} needs real numbers; X has dtype {X.dtype}.")
        if X.dtype not in (xp.float32, xp.float64):  # int, bool, float16
            X = xp.astype(X, self.dtype)
        check_shape(estimator, X, reset=reset, n_features=inverse_of)
        # A sum is finite only if every term is: one reduction in the common
        # case, scikit-learn's search (and its error) only when it is not.
        if not math.isfinite(float(xp.sum(X))):
            assert_all_finite(
                X, allow_nan=allow_nan, estimator_name=name, input_name="X"
            )
        return X

    def weights(self, sample_weight, X):
        """Weights for the rows of X, checked on the host (one small vector)
        and put on X's device."""
        if sample_weight is None:
            return None
        host = _on_host(sample_weight)
        return self.parameter(check_weights(host, X.shape[0]))

    def total(self, weights):
        return float(self.xp.sum(weights))

    def count_positive(self, weights):
        xp = self.xp
        return int(xp.sum(xp.astype(weights > 0, xp.int64)))

    def publish(self, values):
        """Fitted host values (a dict) as arrays of the namespace, on the
        device (numbers and None as they are)."""
        return {
            name: on_device(value, self.xp, self.device)
            if isinstance(value, np.ndarray) and value.dtype.kind in "fiub"
            else value
            for name, value in values.items()
        }

    def parameter(self, value, dtype=None):
        """A fitted value on the device (already there: as it is), in
        ``dtype`` if given."""
        if value is None:
            return None
        if isinstance(value, (np.ndarray, np.generic, float, int)):
            return on_device(value, self.xp, self.device, dtype)
        return value if dtype is None else self.xp.astype(value, dtype)

    def rows(self, estimator, method, X, *, n_inputs, n_outputs, **kwargs):
        return method(estimator, self, X, **kwargs)

    def output(self, X, validated, *, copy, n_columns=None):
        """None: the maps of other namespaces make new arrays."""
        return None

    def refuse_non_finite(self, estimator, X):
        from ._validation import refuse_non_finite

        refuse_non_finite(estimator, to_numpy(X))

    def quantile_sketch(self, X, sample_weight, capacity, probabilities):
        """The numpy kernel's sketch of X copied to the host: the array API
        has no quantile, and its sort leaves the place of NaN unspecified."""
        from ._backend import NUMPY

        weights = None if sample_weight is None else to_numpy(sample_weight)
        return NUMPY.quantile_sketch(to_numpy(X), weights, capacity, probabilities)

    def moments(self, X, sample_weight, origin=None):
        """The moments of X's observed values, on the device; float64 on the
        host. The corrected two-pass algorithm, in the accumulation dtype."""
        xp = self.xp
        origin = self._complete_origin(X, sample_weight, origin)
        # float32 minus float64 is float64: one pass, no float64 copy of X.
        deviation = X - self.parameter(origin, self.dtype)
        if sample_weight is None:
            sums = to_numpy(xp.sum(deviation, axis=0))
            if np.isfinite(sums).all():  # no NaN: validation refused infinity
                return self._complete_moments(deviation, sums, origin)
        missing = xp.isnan(deviation)
        deviation = xp.where(missing, xp.zeros_like(deviation), deviation)
        present = xp.astype(xp.logical_not(missing), self.dtype)
        weights = present if sample_weight is None else present * sample_weight[:, None]
        weight = xp.sum(weights, axis=0)
        safe = xp.where(weight > 0, weight, xp.ones_like(weight))
        center = xp.sum(weights * deviation, axis=0) / safe
        centred = xp.where(missing, xp.zeros_like(deviation), deviation - center)
        residual = xp.sum(weights * centred, axis=0)
        m2 = xp.sum(weights * centred * centred, axis=0) - residual * residual / safe
        weight = to_numpy(weight)
        complete = not bool(xp.any(missing))
        if complete:  # every feature weighs the same: the very same number
            weight = np.full(weight.shape, weight[0])
        return Moments(
            weight,
            to_numpy(center + residual / safe),
            np.maximum(to_numpy(m2), 0.0),
            origin=origin,
            complete=complete,
        )

    def _complete_moments(self, deviation, sums, origin):
        # Unweighted, without NaN: the sums and squares of the deviations
        # from the origin, the batch mean removed afterwards (as numpy's
        # kernel does); a batch whose mean lies further from the origin
        # than its spread is centred on that mean first.
        xp = self.xp
        n_samples = deviation.shape[0]
        sum_squares = to_numpy(xp.sum(deviation * deviation, axis=0))
        shift = np.zeros(deviation.shape[1])
        if np.any(2.0 * sums * sums > n_samples * sum_squares):
            shift = sums / n_samples
            deviation = deviation - self.parameter(shift, deviation.dtype)
            sums = to_numpy(xp.sum(deviation, axis=0))
            sum_squares = to_numpy(xp.sum(deviation * deviation, axis=0))
        m2 = np.maximum(sum_squares - sums * sums / n_samples, 0.0)
        weight = np.full(deviation.shape[1], float(n_samples))
        return Moments(weight, shift + sums / n_samples, m2, origin=origin)

    def _complete_origin(self, X, sample_weight, origin):
        """``origin`` with its None or NaN entries the mean of X's first
        rows (0 where they observe nothing), as float64 on the host."""
        if origin is not None and not math.isnan(np.sum(origin)):
            return np.asarray(origin, dtype=np.float64)
        rows = slice(0, min(X.shape[0], _FIRST_ROWS))
        first = self.moments(
            X[rows, ...],
            None if sample_weight is None else sample_weight[rows],
            np.zeros(X.shape[1]),
        )
        point = np.where(first.weight > 0, first.mean, 0.0)
        return point if origin is None else np.where(np.isnan(origin), point, origin)

    def columns(self, X, indices):
        """The columns of X at ``indices`` (numpy ints): indexed by an
        array of the namespace, as the standard asks."""
        xp = self.xp
        return xp.take(X, xp.asarray(indices, device=self.device), axis=1)

    def extrema(self, X, sample_weight):
        """Per-feature min and max of the observed values of rows of weight > 0."""
        xp = self.xp
        absent = xp.isnan(X)
        if sample_weight is not None:
            absent = xp.logical_or(absent, (sample_weight <= 0)[:, None])
        infinity = xp.asarray(math.inf, dtype=X.dtype, device=self.device)
        low = to_numpy(xp.min(xp.where(absent, infinity, X), axis=0))
        high = to_numpy(xp.max(xp.where(absent, -infinity, X), axis=0))
        observed = to_numpy(xp.logical_not(xp.all(absent, axis=0)))
        return Extrema(
            min=np.where(observed, low, np.nan).astype(np.float64),
            max=np.where(observed, high, np.nan).astype(np.float64),
            weight=X.shape[0] if sample_weight is None else self.total(sample_weight),
        )

    def scatter(self, X, sample_weight, origin=None):
        """Weight, mean (from ``origin``) and covariance, on the host.

        One matrix product about the origin, the batch mean removed
        afterwards; a batch whose mean lies further from the origin than its
        spread is centred on its own mean first (as numpy's kernel does).
        """
        origin = self._complete_origin(X, sample_weight, origin)
        weight = X.shape[0] if sample_weight is None else self.total(sample_weight)
        center = origin
        column_sum, product = self._sum_and_product(X, center, sample_weight)
        if np.any(2.0 * column_sum * column_sum > weight * np.diagonal(product)):
            center = center + column_sum / weight
            column_sum, product = self._sum_and_product(X, center, sample_weight)
        matrix = (product + product.T) / 2.0 - np.outer(column_sum, column_sum) / weight
        mean = (center - origin) + column_sum / weight
        return Scatter(weight, mean, matrix / weight, origin)

    def factor(self, X, sample_weight, origin=None):
        """Weight, mean (from ``origin``) and triangular factor, on the host.

        The R of the namespace's ``linalg.qr`` (Householder's) of the rows
        centred on their mean (the corrected two-pass mean), each times the
        square root of its weight, on the device.
        """
        xp = self.xp
        n_features = X.shape[1]
        origin = self._complete_origin(X, sample_weight, origin)
        weight = X.shape[0] if sample_weight is None else self.total(sample_weight)
        rounding = float(xp.finfo(X.dtype).eps)
        if weight == 0:
            zeros = np.zeros(n_features)
            upper = np.zeros((n_features, n_features))
            return Factor(0.0, zeros, upper, origin, rounding)
        weights = None if sample_weight is None else sample_weight[:, None]

        def mean_of(rows):
            return xp.sum(rows if weights is None else weights * rows, axis=0) / weight

        deviation = X - self.parameter(origin, self.dtype)
        center = mean_of(deviation)
        centred = deviation - center
        residual = mean_of(centred)
        centred = centred - residual
        if weights is not None:
            centred = centred * xp.sqrt(weights)
        upper = to_numpy(xp.linalg.qr(centred)[1]).astype(np.float64)
        return Factor(
            weight,
            to_numpy(center + residual).astype(np.float64),
            upper_factor(upper / math.sqrt(weight)),
            origin,
            rounding,
        )

    def _sum_and_product(self, X, center, sample_weight):
        # In the accumulation dtype: float32 minus float64 is float64.
        xp = self.xp
        deviation = X - self.parameter(center, self.dtype)
        weighted = (
            deviation if sample_weight is None else deviation * sample_weight[:, None]
        )
        product = xp.matmul(xp.matrix_transpose(weighted), deviation)
        return (
            to_numpy(xp.sum(weighted, axis=0)).astype(np.float64),
            to_numpy(product).astype(np.float64),
        )

    def affine(self, X, *, shift, factor, offset, out, inverse=False, clip=None, **_):
        """``(X - shift) * factor + offset``, or its inverse; X's dtype and
        device. Always a new array: other namespaces' arrays are not written
        into."""
        xp = self.xp
        steps = [
            (operation, self.parameter(value, X.dtype))
            for operation, value in (
                [(xp.subtract, offset), (xp.divide, factor), (xp.add, shift)]
                if inverse
                else [(xp.subtract, shift), (xp.multiply, factor), (xp.add, offset)]
            )
            if value is not None
        ]
        result = X if steps else xp.asarray(X, copy=True)
        for operation, value in steps:  # the first makes the new array
            result = operation(result, value)
        return result if clip is None else xp.clip(result, min=clip[0], max=clip[1])

    def linear(self, X, *, before, matrix, after, out):
        """``(X - before) @ matrix + after``, in X's dtype on its device."""
        result = self.xp.matmul(
            X - self.parameter(before, X.dtype), self.parameter(matrix, X.dtype)
        )
        return result + self.parameter(after, X.dtype)

    def largest_absolute(self, z):
        """``max_j abs(z_j)`` of each row over its observed values (0 for
        none), in the accumulation dtype as numpy's scores are float64."""
        xp = self.xp
        magnitude = xp.abs(z)
        observed = xp.where(xp.isnan(magnitude), xp.zeros_like(magnitude), magnitude)
        return xp.astype(xp.max(observed, axis=1), self.dtype)

    def labels(self, decision):
        """-1 where ``decision`` is negative, +1 elsewhere, as int64."""
        xp = self.xp
        minus = xp.asarray(-1, dtype=xp.int64, device=self.device)
        plus = xp.asarray(1, dtype=xp.int64, device=self.device)
        return xp.where(decision < 0, minus, plus)


# The rows whose mean is the origin of a batch's statistics: as numpy's
# first block of a narrow X.
_FIRST_ROWS = 1 << 14
