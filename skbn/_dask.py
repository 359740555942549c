"""The backend of Dask arrays: numpy's statistics, chunk by chunk on a cluster.

A fit computes each row chunk's statistic where the chunk lives, merges them
pairwise in a tree with the ``merge`` that ``partial_fit`` uses, and brings
the result back with one compute; a transform returns a lazy array, each
chunk mapped by the numpy backend. Nothing here imports dask until a dask
array is given.
"""

import copy

import numpy as np
from sklearn.utils import assert_all_finite

from ._backend import NUMPY
from ._blocks import sum_is_finite
from ._validation import check_shape, check_weights, squares_overflow


def is_dask_array(X):
    """Whether ``X`` is a ``dask.array.Array``, without importing dask."""
    if type(X) is np.ndarray:  # the common case, on every call: at once
        return False
    return any(
        cls.__name__ == "Array" and cls.__module__.startswith("dask.array")
        for cls in type(X).__mro__
    )


class DaskBackend:
    """Dask arrays: the methods of :class:`skbn._backend.NumpyBackend`, the
    statistics computed chunk by chunk where the chunks live and merged in a
    tree, the maps lazy, each chunk mapped by the numpy backend."""

    where = None

    def validate(self, estimator, X, *, reset, allow_nan=True, **options):
        """Shape, dtype and width are checked now (``n_features_in_`` is set
        when ``reset``); the columns are gathered into one chunk; int, bool
        and float16 become float64. Finiteness, unless the caller's
        statistics check it (``finite_checked_by_caller``), is checked chunk
        by chunk when they are computed, with scikit-learn's error."""
        name = type(estimator).__name__
        if X.dtype.kind in "biu" or X.dtype == np.float16:
            # The statistics are float64 anyway; a lazy transform of the
            # chunks keeps their dtype as the NumPy transform does.
            X = X.astype(np.float64)
        elif X.dtype not in (np.float32, np.float64):
            raise ValueError(
                f"{name} needs real numbers; X has dtype {X.dtype}, which it "
                "cannot convert to float64."
            )
        if X.ndim and any(np.isnan(size) for size in X.chunks[0]):
            raise ValueError(
                "X has row chunks of unknown size (after boolean indexing, say): "
                "call X.compute_chunk_sizes() first."
            )
        check_shape(estimator, X, reset=reset)
        if len(X.chunks[1]) > 1:
            X = X.rechunk({1: -1})
        if not options.get("finite_checked_by_caller", False):
            X = X.map_blocks(_finite_chunk, allow_nan, name, dtype=X.dtype)
        return X

    def weights(self, sample_weight, X):
        """Weights for the rows of X, chunked like them.

        numpy weights get numpy's checks; Dask weights are checked in one
        small compute, over the weights alone, with the same errors.
        """
        from dask import array as da
        from dask import compute

        if not is_dask_array(sample_weight):
            weight = check_weights(sample_weight, X.shape[0])
            return (
                None if weight is None else da.from_array(weight, chunks=X.chunks[:1])
            )
        weight = sample_weight.astype(np.float64)
        if weight.shape != X.shape[:1]:
            raise ValueError(
                f"sample_weight must have shape ({X.shape[0]},), one weight per "
                f"sample; got shape {weight.shape}."
            )
        finite, negative, positive = compute(
            da.isfinite(weight).all(), (weight < 0).any(), (weight > 0).any()
        )
        if not finite or negative or not positive:
            check_weights(
                np.array([np.nan if not finite else -1.0 if negative else 0.0]), 1
            )
        return weight.rechunk(X.chunks[:1])

    def total(self, weights):
        return float(weights.sum().compute())

    def count_positive(self, weights):
        return int((weights > 0).sum().compute())

    def moments(self, X, sample_weight, origin=None):
        return from_chunks(NUMPY.moments, X, sample_weight, origin)

    def columns(self, X, indices):
        return X[:, indices]

    def extrema(self, X, sample_weight):
        return from_chunks(NUMPY.extrema, X, sample_weight)

    def quantile_sketch(self, X, sample_weight, capacity, probabilities):
        return from_chunks(
            NUMPY.quantile_sketch, X, sample_weight, capacity, probabilities
        )

    def scatter(self, X, sample_weight, origin=None):
        return from_chunks(NUMPY.scatter, X, sample_weight, origin)

    def factor(self, X, sample_weight, origin=None):
        return from_chunks(NUMPY.factor, X, sample_weight, origin)

    def refuse_non_finite(self, estimator, X, allow_nan=False):
        """Raise scikit-learn's error for a NaN (unless allowed) or an
        infinity in X, all of whose chunks are computed and checked; if there
        is none, for squares too large."""
        name = type(estimator).__name__
        X.map_blocks(_finite_chunk, allow_nan, name, dtype=X.dtype).sum().compute()
        raise squares_overflow()

    def output(self, X, validated, *, copy, n_columns=None):
        """None: a map of a Dask array is a new lazy array."""
        return None

    def affine(self, X, *, out=None, **affine):
        """The affine map of each chunk, lazily, into a new array."""
        return X.map_blocks(_affine_of_chunk, affine, dtype=X.dtype)

    def publish(self, values):
        return values

    def rows(self, estimator, method, X, *, n_inputs, n_outputs, **kwargs):
        """``method`` of each row chunk of X, lazily, by the numpy backend.

        X must have ``n_inputs`` columns; the result has ``n_outputs``
        (0: one value per row). Each chunk is mapped with the state the
        estimator has *now*: refitting it later does not change a result not
        yet computed. A ``copy`` argument is True for the chunks, which Dask
        may share with other computations.
        """
        check_shape(estimator, X, reset=False, n_features=n_inputs)
        if len(X.chunks[1]) > 1:
            X = X.rechunk({1: -1})
        if "copy" in kwargs:
            kwargs["copy"] = True
        frozen = copy.copy(estimator)
        probe = np.asarray(
            method(frozen, NUMPY, np.zeros((1, X.shape[1]), dtype=X.dtype), **kwargs)
        )
        shape = (
            {"drop_axis": 1}
            if n_outputs == 0
            else {"chunks": (X.chunks[0], (n_outputs,))}
        )
        return X.map_blocks(
            _rows_of_chunk,
            frozen,
            method,
            kwargs,
            **shape,
            dtype=probe.dtype,
            meta=probe[:0],
            token=f"{type(estimator).__name__}.{method.__name__.strip('_')}",
        )


DASK = DaskBackend()


def _affine_of_chunk(chunk, affine):
    return NUMPY.affine(chunk, **affine, out=np.empty_like(chunk))


def _rows_of_chunk(chunk, estimator, method, kwargs):
    return method(estimator, NUMPY, chunk, **kwargs)


def from_chunks(statistic, X, sample_weight, *args):
    """``statistic`` of each row chunk, merged in a tree; one compute.

    Each chunk's statistic is computed on the worker that holds it; merges
    take neighbouring chunks pairwise, level by level, so that rounding grows
    with the logarithm of the number of chunks, as in ``merge_pairwise``.
    """
    from dask import compute, delayed

    parts = _per_chunk(statistic, X, sample_weight, args)
    while len(parts) > 1:
        pairs = zip(parts[0::2], parts[1::2], strict=False)  # odd one out: kept
        merged = [delayed(_merge)(a, b) for a, b in pairs]
        parts = merged + parts[2 * len(merged) :]
    return compute(parts[0])[0]


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


def _finite_chunk(chunk, allow_nan, estimator_name):
    if not sum_is_finite(chunk):
        assert_all_finite(
            chunk, allow_nan=allow_nan, estimator_name=estimator_name, input_name="X"
        )
    return chunk


def _merge(a, b):
    return a.merge(b)
