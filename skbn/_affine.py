"""Applying a fitted affine map to numpy arrays, forward and backward.

Every skbn scaler transforms ``x -> (x - shift) * factor + offset`` feature by
feature, and back (:func:`affine`); the whitener maps
rows through a full matrix, ``x -> (x - before) @ matrix + after``
(:func:`linear`). These are the numpy backend's maps (:mod:`skbn._backend`).

The shift is subtracted *before* multiplying: folding it into the offset
(``x * factor + (offset - shift * factor)``) would cancel catastrophically for
data far from zero, such as 1e9 + N(0, 1).

The diagonal maps write into ``out``: ``X`` itself (which the caller owns: a
validated copy, or the user's array when ``copy=False``), or a fresh array,
which spares copying X first. They run block of rows by block of rows, every
step over a block while it is in cache, so X is read once and ``out`` written
once. The parameters are float64 arrays or scalars, or None for "skip this
step"; numpy computes each step in float64 and stores it back in the output's
dtype, so float32 stays float32.
"""

import math

import numpy as np
from scipy import sparse

from ._blocks import (
    WIDE,
    WIDE_MIN_ROWS,
    block_rows,
    column_sums,
    map_row_blocks,
    scratch,
    wide_view,
)
from ._numpy_stats import refuse_infinity as refuse_infinity_in


def affine(
    X,
    *,
    shift=None,
    factor=None,
    offset=None,
    out=None,
    inverse=False,
    clip=None,
    refuse_infinity=False,
):
    """``out = (X - shift) * factor + offset``, clipped to ``clip = (low,
    high)`` if given; with ``inverse``, ``out = (X - offset) / factor +
    shift``. In place (``out`` is X) by default.

    A separate ``out`` (dense, X's shape) spares the caller a copy of X. With
    ``refuse_infinity`` (for a separate ``out`` only: X must stay untouched if
    it raises), infinity in X raises scikit-learn's error, found by the map's
    own pass instead of a pass of validation.
    """
    if sparse.issparse(X):
        _check_sparse_compatible(shift, offset)
        if factor is not None:
            _scale_stored_entries(X, factor, np.divide if inverse else np.multiply)
        return X
    if inverse:
        steps = [(np.subtract, offset), (np.divide, factor), (np.add, shift)]
    else:
        steps = [(np.subtract, shift), (np.multiply, factor), (np.add, offset)]
    if clip is not None:  # maximum and minimum keep NaN, as np.clip does
        steps += [(np.maximum, clip[0]), (np.minimum, clip[1])]
    return _apply_by_blocks(
        X, steps, X if out is None else out, refuse_infinity=refuse_infinity
    )


def _apply_by_blocks(X, steps, out, *, refuse_infinity=False):
    # Each block of rows goes through every step while it is in cache, so
    # that X is read, and out written, once.
    steps = [(operation, value) for operation, value in steps if value is not None]
    # Over wide views (see skbn._blocks.wide_view) the per-feature values are
    # repeated to the width of a wide row: numpy's loops then run over long
    # rows instead of n_features values at a time.
    wide_steps = (
        [
            (operation, np.tile(value, WIDE) if np.ndim(value) else value)
            for operation, value in steps
        ]
        if X.shape[0] >= WIDE_MIN_ROWS
        else None
    )

    def apply(blocks):
        for rows in blocks:
            source, target = X[rows], out[rows]
            wide_source, wide_target = wide_view(source), wide_view(target)
            if wide_steps and wide_source is not None and wide_target is not None:
                source, target, block_steps = wide_source, wide_target, wide_steps
            else:
                block_steps = steps
            for operation, value in block_steps:
                operation(source, value, out=target, casting="same_kind")
                source = target
            if source is not target:
                np.copyto(target, source)
            # The output of a finite block is finite (barring an overflow):
            # only a block whose output is not gets searched for infinity.
            if refuse_infinity and not math.isfinite(column_sums(out[rows]).sum()):
                refuse_infinity_in(X[rows])

    map_row_blocks(apply, X.shape[0], block_rows(X))
    return out


def _check_sparse_compatible(shift, offset):
    if shift is not None or offset is not None:
        raise ValueError(
            "A shift or an offset (with_mean=True, or beta != 0) would make sparse "
            "input dense; only scaling is applied to sparse matrices."
        )


def _scale_stored_entries(X, factor, operation):
    # Scaling keeps zeros at zero, so only the stored entries change.
    factor = np.broadcast_to(np.asarray(factor, dtype=np.float64), (X.shape[1],))
    if X.format == "csr":
        per_entry = factor[X.indices]
    else:
        per_entry = np.repeat(factor, np.diff(X.indptr))
    operation(X.data, per_entry, out=X.data, casting="same_kind")


def linear(source, *, before, matrix, after, out):
    """``out = (source - before) @ matrix + after``, by blocks of rows shared
    among threads.

    ``out`` may be ``source`` itself when the matrix is square (an in-place
    transform): each block is copied into a work array before its rows are
    overwritten. In float64: the product goes straight into ``out`` when it
    is float64.
    """
    n_rows, n_features = source.shape
    direct = out.dtype == np.float64 and out.flags.c_contiguous

    def apply(blocks):
        for rows in blocks:
            work = scratch(rows.stop - rows.start, n_features)
            deviation = np.subtract(source[rows], before, out=work, dtype=np.float64)
            if direct:
                product = np.matmul(deviation, matrix, out=out[rows])
                product += after
            else:
                out[rows] = deviation @ matrix + after

    map_row_blocks(apply, n_rows, block_rows(source), calls_blas=True)
    return out
