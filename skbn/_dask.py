"""Dask arrays: the same statistics, computed chunk by chunk on a cluster.

A fit is a merge of statistics, so a fit of a dask array is the statistics of
each row chunk, computed where the chunk lives, merged pairwise in a tree by
the same ``merge`` that ``partial_fit`` uses, and brought back with one
compute. Transforms are maps of rows: of a dask array they return a lazy dask
array, each chunk mapped by the numpy method when it is computed.

Dask is optional: nothing here imports it until a dask array is given (and
then it is installed), and :func:`is_dask_array` recognises one by its type's
name alone.
"""

import copy
import functools
import inspect
import warnings

import numpy as np
from sklearn.utils import assert_all_finite

from ._blocks import sum_is_finite


def is_dask_array(X):
    """Whether ``X`` is a ``dask.array.Array``, without importing dask."""
    if type(X) is np.ndarray:  # the common case, on every call: at once
        return False
    return any(
        cls.__name__ == "Array" and cls.__module__.startswith("dask.array")
        for cls in type(X).__mro__
    )


def validate_dask_batch(estimator, X, *, reset, allow_nan, check_finite):
    """What ``validate_batch`` does, for a dask array, as far as it can lazily.

    Shape, dtype and width are checked now (n_features_in_ is set when
    ``reset``); the columns are gathered into one chunk; int and bool become
    float64. Finiteness, where ``check_finite``, is checked chunk by chunk when
    they are computed, with scikit-learn's error.
    """
    name = type(estimator).__name__
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2D dask array, got {X.ndim}D array instead: reshape X "
            "to (n_samples, n_features)."
        )
    if X.dtype.kind in "biu" or X.dtype == np.float16:
        # The statistics are float64 anyway; a lazy transform of the chunks
        # keeps their dtype as the NumPy transform does.
        X = X.astype(np.float64)
    elif X.dtype not in (np.float32, np.float64):
        raise ValueError(
            f"{name} needs real numbers; X has dtype {X.dtype}, which it cannot "
            "convert to float64."
        )
    if any(np.isnan(size) for size in X.chunks[0]):
        raise ValueError(
            "X has row chunks of unknown size (after boolean indexing, say): "
            "call X.compute_chunk_sizes() first."
        )
    n_samples, n_features = X.shape
    if n_samples == 0 or n_features == 0:
        raise ValueError(
            f"Found array with {n_samples} sample(s) and {n_features} feature(s) "
            f"(shape={X.shape}) while a minimum of 1 is required by {name}."
        )
    if reset:
        estimator.n_features_in_ = n_features
        if hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
    else:
        _check_width(estimator, n_features, estimator.n_features_in_)
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})
    if check_finite:
        X = X.map_blocks(_finite_chunk, allow_nan, name, dtype=X.dtype)
    return X


def dask_sample_weight(sample_weight, X, check):
    """Weights for the rows of a dask ``X``, chunked like them.

    ``check`` is ``check_sample_weight``, which numpy weights go through
    first. Dask weights are checked in one small compute, over the weights
    alone, so that bad weights get the same errors as numpy ones.
    """
    from dask import array as da
    from dask import compute

    if not is_dask_array(sample_weight):
        weight = check(sample_weight, X.shape[0])
        return None if weight is None else da.from_array(weight, chunks=X.chunks[:1])
    weight = sample_weight.astype(np.float64)
    if weight.shape != X.shape[:1]:
        raise ValueError(
            f"sample_weight must have shape ({X.shape[0]},), one weight per sample; "
            f"got shape {weight.shape}."
        )
    finite, negative, positive = compute(
        da.isfinite(weight).all(), (weight < 0).any(), (weight > 0).any()
    )
    if not finite or negative or not positive:
        check(np.array([np.nan if not finite else -1.0 if negative else 0.0]), 1)
    return weight.rechunk(X.chunks[:1])


def from_chunks(from_batch, X, sample_weight, *args):
    """``from_batch`` of each row chunk, merged in a tree; one compute.

    Each chunk's statistic is computed on the worker that holds it; merges
    take neighbouring chunks pairwise, level by level, so that rounding grows
    with the logarithm of the number of chunks, as in ``merge_pairwise``.
    """
    from dask import compute, delayed

    parts = _per_chunk(from_batch, X, sample_weight, args)
    while len(parts) > 1:
        pairs = zip(parts[0::2], parts[1::2], strict=False)  # odd one out: kept
        merged = [delayed(_merge)(a, b) for a, b in pairs]
        parts = merged + parts[2 * len(merged) :]
    return compute(parts[0])[0]


def each_chunk(function, X, sample_weight, *args):
    """``[function(chunk, weights, *args) for each row chunk]``; one compute."""
    from dask import compute

    return list(compute(*_per_chunk(function, X, sample_weight, args)))


def rechunk_rows(X, sample_weight, sizes):
    """X and its weights cut into row chunks of the given sizes."""
    sizes = tuple(sizes)
    X = X.rechunk({0: sizes})
    return X, None if sample_weight is None else sample_weight.rechunk((sizes,))


def _per_chunk(function, X, sample_weight, args):
    from dask import delayed

    chunks = X.to_delayed().ravel()
    weights = (
        [None] * len(chunks)
        if sample_weight is None
        else sample_weight.to_delayed().ravel()
    )
    return [
        delayed(function)(chunk, weight, *args)
        for chunk, weight in zip(chunks, weights, strict=True)
    ]


def refuse_non_finite_chunks(X, estimator_name, allow_nan=False):
    """Raise scikit-learn's error for a NaN (unless allowed) or infinity in X.

    A dask X: all its chunks are computed, and checked.
    """
    checked = X.map_blocks(_finite_chunk, allow_nan, estimator_name, dtype=X.dtype)
    checked.sum().compute()


def map_rows(function, X, *args, n_columns=None, token=None):
    """``function(chunk, *args)`` of each row chunk of a dask X, lazily.

    The result has X's row chunks and ``n_columns`` columns (X's number by
    default; 0 for one value per row). Its dtype is that of ``function`` on
    one row of zeros. ``token`` names its tasks (the function's name by
    default).
    """
    n_columns = X.shape[1] if n_columns is None else n_columns
    probe = np.asarray(function(np.zeros((1, X.shape[1]), dtype=X.dtype), *args))
    shape = (
        {"drop_axis": 1} if n_columns == 0 else {"chunks": (X.chunks[0], (n_columns,))}
    )
    return X.map_blocks(
        function, *args, **shape, dtype=probe.dtype, meta=probe[:0], token=token
    )


def maps_dask_chunks(n_inputs=None, n_outputs=None):
    """Decorate a method of X so that a dask X is mapped over lazily.

    ``n_inputs`` and ``n_outputs`` give, from the fitted estimator, the width
    X must have and the width of the result (both ``n_features_in_`` by
    default; an ``n_outputs`` of 0 means one value per row). The method maps
    each chunk with the state the estimator has *now*: refitting it later
    does not change a result not yet computed. A ``copy`` parameter is set to
    True for the chunks, which dask may share with other computations.
    """

    def decorate(method):
        copies = "copy" in inspect.signature(method).parameters

        @functools.wraps(method)
        def wrapper(self, X, *args, **kwargs):
            if not is_dask_array(X):
                return method(self, X, *args, **kwargs)
            if not hasattr(self, "n_features_in_"):
                return method(self, X, *args, **kwargs)  # the NotFittedError
            if X.ndim != 2:
                raise ValueError(
                    f"Expected a 2D dask array, got {X.ndim}D array instead."
                )
            width = self.n_features_in_ if n_inputs is None else n_inputs(self)
            n_columns = self.n_features_in_ if n_outputs is None else n_outputs(self)
            _check_width(self, X.shape[1], width)
            if len(X.chunks[1]) > 1:
                X = X.rechunk({1: -1})
            if copies:
                kwargs["copy"] = True
            return map_rows(
                _call,
                X,
                copy.copy(self),
                method.__name__,
                args,
                kwargs,
                n_columns=n_columns,
                token=f"{type(self).__name__}.{method.__name__}",
            )

        return wrapper

    return decorate


def _call(chunk, estimator, method_name, args, kwargs):
    return getattr(estimator, method_name)(chunk, *args, **kwargs)


def _check_width(estimator, n_features, expected):
    if n_features != expected:
        raise ValueError(
            f"X has {n_features} features, but {type(estimator).__name__} is "
            f"expecting {expected} features as input."
        )
    if hasattr(estimator, "feature_names_in_"):
        warnings.warn(
            f"X does not have valid feature names, but {type(estimator).__name__} "
            "was fitted with feature names",
            UserWarning,
            stacklevel=4,
        )


def _finite_chunk(chunk, allow_nan, estimator_name):
    if not sum_is_finite(chunk):
        assert_all_finite(
            chunk, allow_nan=allow_nan, estimator_name=estimator_name, input_name="X"
        )
    return chunk


def _merge(a, b):
    return a.merge(b)
