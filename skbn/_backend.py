"""The backend seam: what skbn does with an X depends on its kind, decided here.

Every public method asks :func:`backend_for` once which backend handles its
X, and then speaks to that backend only: it validates X and its weights,
computes the statistics of a batch, applies the fitted maps and publishes the
fitted attributes. :class:`NumpyBackend` (numpy arrays, lists, DataFrames,
sparse; the blocked kernels of :mod:`skbn._numpy_stats` and
:mod:`skbn._affine`), :class:`skbn._array_api.ArrayAPIBackend` (torch,
CuPy, ... on their device) and :class:`skbn._dask.DaskBackend` (numpy's
kernels chunk by chunk). Statistics come back as float64 numpy values on the
host, so that merging and deriving (:mod:`skbn._stats`,
:mod:`skbn._whitening`) know no backend.
"""

import numpy as np
from scipy import sparse

from . import _affine, _numpy_stats
from ._validation import check_weights, refuse_non_finite, validate_batch


class NumpyBackend:
    """numpy arrays, and everything numpy reads: lists, DataFrames, sparse.

    Every backend has these methods; :class:`skbn._array_api.ArrayAPIBackend`
    and :class:`skbn._dask.DaskBackend` implement them for their arrays.
    """

    #: Where the fitted arrays are: None for host memory, else
    #: ``(namespace name, device)``.
    where = None

    #: X as a 2-D float array (see skbn._validation.validate_batch).
    validate = staticmethod(validate_batch)

    def weights(self, sample_weight, X):
        """Validated frequency weights for the rows of X, or None."""
        return check_weights(sample_weight, X.shape[0])

    def total(self, weights):
        """The sum of the weights, as a Python float."""
        return float(weights.sum())

    def count_positive(self, weights):
        """How many weights are positive."""
        return int(np.count_nonzero(weights > 0))

    def moments(self, X, sample_weight=None, origin=None):
        """:class:`skbn._stats.Moments` of X, measured from ``origin``
        (None, or NaN entries: from a point near the data)."""
        return _numpy_stats.moments(X, sample_weight, origin)

    def columns(self, X, indices):
        """The columns of X at ``indices`` (a numpy array of ints)."""
        return X[:, indices]

    def extrema(self, X, sample_weight=None):
        """:class:`skbn._stats.Extrema` of X."""
        return _numpy_stats.extrema(X, sample_weight)

    def quantile_sketch(self, X, sample_weight, capacity, probabilities):
        """:class:`skbn._quantiles.QuantileSketch` of X, with its exact
        quantiles at ``probabilities`` (None: without)."""
        return _numpy_stats.quantile_sketch(X, sample_weight, capacity, probabilities)

    def scatter(self, X, sample_weight=None, origin=None):
        """:class:`skbn._stats.Scatter` of X, measured from ``origin``."""
        return _numpy_stats.scatter(X, sample_weight, origin)

    def factor(self, X, sample_weight=None, origin=None):
        """:class:`skbn._stats.Factor` of X, measured from ``origin``."""
        return _numpy_stats.factor(X, sample_weight, origin)

    def refuse_non_finite(self, estimator, X):
        """Raise the error for what made a statistic of X non-finite."""
        refuse_non_finite(estimator, X)

    def output(self, X, validated, *, copy, n_columns=None):
        """The array a map of ``validated`` (read from X) writes into:
        ``validated`` itself, unless it is the caller's X and ``copy`` is
        true (then a new array, so that X is read once, not copied first);
        for a linear map onto ``n_columns``, X only in place, else a new
        C-ordered array."""
        if sparse.issparse(validated):
            return validated
        if n_columns is not None:
            in_place = not copy and validated is X and X.flags.writeable
            if in_place and X.shape[1] == n_columns:
                return X
            return np.empty((validated.shape[0], n_columns), dtype=validated.dtype)
        return np.empty_like(validated) if copy and validated is X else validated

    #: ``(X - shift) * factor + offset`` into ``out``, or its inverse, and
    #: ``(X - before) @ matrix + after`` (see skbn._affine).
    affine = staticmethod(_affine.affine)
    linear = staticmethod(_affine.linear)

    def largest_absolute(self, z):
        """``max_j abs(z_j)`` of each row over its observed values (0 for
        none), as float64; ``z`` is overwritten."""
        np.abs(z, out=z)
        return np.fmax.reduce(z, axis=1, initial=0.0, dtype=np.float64)

    def labels(self, decision):
        """-1 where ``decision`` is negative, +1 elsewhere."""
        return np.where(decision < 0, -1, 1)

    def publish(self, values):
        """Fitted host values (a dict) as this backend keeps them: as they are."""
        return values

    def rows(self, estimator, method, X, *, n_inputs, n_outputs, **kwargs):
        """``method(estimator, self, X, **kwargs)``, a map of X's rows, run
        here (Dask's, lazily by chunks of ``n_inputs`` -> ``n_outputs``)."""
        return method(estimator, self, X, **kwargs)


NUMPY = NumpyBackend()


def backend_for(X, fitted=None, call=None):
    """The backend for X, in one public call (named ``call``).

    ``fitted``: the estimator, where it was fitted before and X must be
    where its fitted arrays are: X of another namespace or device than the
    fit's is refused, as scikit-learn refuses it (``fit`` starts afresh and
    passes no ``fitted``).
    """
    if type(X) is np.ndarray:  # the common case, on every call: at once
        backend = NUMPY
    else:
        from ._dask import DASK, is_dask_array

        if is_dask_array(X):
            return DASK
        from ._array_api import namespace_backend

        backend = namespace_backend(X) or NUMPY
    if fitted is not None:
        held = getattr(fitted, "_fitted_on", None)
        if held != backend.where:
            raise ValueError(
                f"{type(fitted).__name__}.{call}() must use the same namespace "
                f"and device as the fit: it was fitted on {_name(held)} arrays, "
                f"and X is {_name(backend.where)}. Move X, or use "
                "skbn.estimator_to_numpy(estimator) for numpy arrays."
            )
    return backend


def _name(where):
    return "numpy" if where is None else f"{where[0]} (device {where[1]})"


def backend_of(fitted):
    """The backend whose arrays a fitted array is: what publishes values
    derived later beside it."""
    if isinstance(fitted, np.ndarray):
        return NUMPY
    from array_api_compat import array_namespace

    from ._array_api import ArrayAPIBackend, device_of

    return ArrayAPIBackend(array_namespace(fitted), device_of(fitted))
