"""The numpy backend's statistics kernels: blocked, threaded, float64.

Moments, extrema and scatter (:mod:`skbn._stats`) of a batch, each from
blocks of rows small enough to stay in cache for every pass a block needs,
shared among threads (:mod:`skbn._blocks`) and merged pairwise; a Dask fit
runs them on each chunk. All accumulation is in float64, whatever the input
dtype: float32 sums lose digits long before the data does.
"""

import functools
import math
from dataclasses import replace

import numpy as np
from scipy import linalg, sparse
from sklearn.utils import assert_all_finite

from ._blocks import (
    BLOCKS_PER_TASK,
    REDUCE_WIDTH,
    block_rows,
    column_sums,
    fold,
    map_row_blocks,
    scratch,
    wide_view,
)
from ._numerics import EPS, SAFE_SMALL, null_directions, power_of_two
from ._quantiles import QuantileSketch
from ._stats import (
    Extrema,
    Factor,
    Moments,
    Scatter,
    merge_pairwise,
    safe_divide,
    upper_factor,
)

# Scatter blocks are taller: a block costs rows * n_features**2 in a matrix
# product, which BLAS runs fast only on tall blocks, and a merge n_features**2.
# Four ordinary blocks (about 8 MiB) measured fastest on large batches; a
# batch of fewer than _TALL_SCATTER_BATCH such blocks keeps ordinary ones
# (see scatter_blocking).
_BLOCKS_PER_SCATTER_BLOCK = 4
_TALL_SCATTER_BATCH = 4
_MIN_SCATTER_ROWS = 2048
# Eigenvalues of an equilibrated covariance at least this far below the
# largest have lost more to the covariance's rounding than a QR of the data
# would (by more than this square root): their directions are read again.
_WELL_DETERMINED = 64.0


def moments(X, sample_weight=None, origin=None):
    """Moments of a 2-D batch; NaN entries count as absent.

    ``X`` is a dense array or a scipy.sparse matrix (implicit zeros are
    observed zeros); ``sample_weight`` is ``None`` or a 1-D float array.
    The moments are measured from ``origin`` (one value per feature);
    where it is None or NaN, from a point near the batch's own data
    (:func:`reference_point`).
    """
    if sparse.issparse(X):
        found = _rescued(X, sample_weight, _sparse_moments(X, sample_weight))
        if origin is None:
            return found
        return found.about(np.where(np.isnan(origin), found.origin, origin))
    n_rows = block_rows(X)
    if origin is None and X.shape[0] <= n_rows:
        # One block: its first-pass mean serves as the origin, so that
        # small batches are read once.
        return _rescued(X, sample_weight, _dense_moments(X, sample_weight))
    origin = complete_origin(X, sample_weight, origin)
    if X.shape[0] <= n_rows:  # one block: spare small batches the machinery
        with _overflow_quiet():
            found = _block_moments(X, sample_weight, origin, np.empty(X.shape))
        return _rescued(X, sample_weight, found)

    def moments_of(blocks):
        with _overflow_quiet():  # error states are each thread's own
            return merge_pairwise(
                _block_moments(
                    X[rows],
                    None if sample_weight is None else sample_weight[rows],
                    origin,
                    scratch(rows.stop - rows.start, X.shape[1]),
                )
                for rows in blocks
            )

    found = merge_pairwise(map_row_blocks(moments_of, X.shape[0], n_rows))
    return _rescued(X, sample_weight, found)


def extrema(X, sample_weight=None):
    """Extrema of a dense 2-D batch; NaN entries count as absent.

    A batch without rows (or whose weights are all 0) observes nothing:
    its extrema are NaN, which merging ignores.
    """
    weight = X.shape[0] if sample_weight is None else float(sample_weight.sum())
    if sample_weight is not None:
        X = X[sample_weight > 0]
    if X.shape[0] == 0:
        nothing = np.full(X.shape[1], np.nan)
        return Extrema(min=nothing, max=nothing.copy(), weight=weight)
    if X.shape[0] <= block_rows(X):  # one block: spare small batches the machinery
        return _block_extrema(X, weight)
    found = merge_pairwise(
        map_row_blocks(
            lambda blocks: merge_pairwise(_block_extrema(X[rows]) for rows in blocks),
            X.shape[0],
            block_rows(X),
        )
    )
    return Extrema(found.min, found.max, weight)


# Columns are sorted a few at a time, transposed into rows first: sorting a
# strided column is several times slower, and a copy of all of X is not
# needed at once.
_SORTED_COLUMNS = 8


def quantile_sketch(X, sample_weight, capacity, probabilities):
    """:class:`skbn._quantiles.QuantileSketch` of a dense 2-D batch, with its
    exact quantiles at ``probabilities`` (None: without); NaN entries and
    rows of weight 0 count as absent.

    Unweighted, the sorted columns show infinity at their ends: this pass
    refuses it, in place of validation's (weights could hide it there)."""
    columns = []
    for start in range(0, X.shape[1], _SORTED_COLUMNS):
        rows = np.array(X[:, start : start + _SORTED_COLUMNS].T, dtype=np.float64)
        if sample_weight is None:
            rows.sort(axis=1)  # NaN last
            for values in rows:
                observed = np.searchsorted(values, np.nan)  # where NaN begin
                if observed and np.isinf(values[[0, observed - 1]]).any():
                    refuse_infinity(X)
                columns.append((values[:observed], None))
            continue
        order = np.argsort(rows, axis=1, kind="stable")
        for values, weights in zip(
            np.take_along_axis(rows, order, axis=1), sample_weight[order], strict=True
        ):
            observed = ~np.isnan(values) & (weights > 0)
            columns.append((values[observed], weights[observed]))
    weight = X.shape[0] if sample_weight is None else float(sample_weight.sum())
    return QuantileSketch.of_sorted_columns(columns, capacity, weight, probabilities)


def scatter(X, sample_weight=None, origin=None):
    """Scatter of a dense 2-D batch without missing values.

    Rows are taken in blocks, shared among threads, whose scatter is
    formed about a point near the data (never ``E[x x'] - E[x] E[x]'``
    about 0, which cancels catastrophically), and the blocks are merged
    pairwise. The mean is measured from ``origin``, or without one from
    the mean of the first rows, as in :func:`moments`. Weights enter
    through their ratios only: they are divided by a power of two near
    the largest first, exactly.
    """
    unit, weight = _in_weight_unit(sample_weight)
    found = _scatter_about(X, weight, complete_origin(X, weight, origin))
    return found if unit is None else replace(found, weight=found.weight * unit)


def _in_weight_unit(sample_weight):
    """``(unit, weights / unit)``, ``unit`` the power of two at or below the
    largest weight, so that the weights' sums cannot overflow (the division
    is exact); ``(None, sample_weight)`` without weights, whose total then
    stays the number of rows, an int."""
    if sample_weight is None or not sample_weight.size:
        return None, sample_weight
    unit = power_of_two(sample_weight.max())
    return unit, sample_weight / unit


def _scatter_about(X, sample_weight, origin):
    """:func:`scatter` of a dense batch, about a complete origin."""
    n_rows, blocks_per_task = scatter_blocking(X)
    if X.shape[0] <= n_rows:
        return _block_scatter(X, sample_weight, origin)

    def scatter_of(blocks):
        with np.errstate(over="ignore", invalid="ignore"):  # as below
            return merge_pairwise(
                _block_scatter(
                    X[rows],
                    None if sample_weight is None else sample_weight[rows],
                    origin,
                )
                for rows in blocks
            )

    # Error states are the thread's own. NaN, infinity or overflow make
    # the scatter non-finite, which callers check once, instead of every
    # step warning about it.
    with np.errstate(over="ignore", invalid="ignore"):
        return merge_pairwise(
            map_row_blocks(
                scatter_of,
                X.shape[0],
                n_rows,
                calls_blas=True,
                blocks_per_task=blocks_per_task,
            )
        )


def factor(X, sample_weight=None, origin=None):
    """:class:`skbn._stats.Factor` of a dense 2-D batch without missing values.

    From :func:`scatter`'s pass, which runs at the speed of a matrix
    product, and one more pass over X only for the directions the
    covariance cannot resolve: a covariance keeps the squared condition
    number, so its eigenvalues (of the equilibrated covariance) below
    ``1 / _WELL_DETERMINED`` of the largest have lost more digits than a QR
    would. Their part of the Gram matrix, in the covariance's eigenbasis, is
    read again from the centred rows projected on them, where nothing
    cancels (a Rayleigh-Ritz step); the rest comes from the covariance. The
    Cholesky factor of that Gram matrix, rotated back and made triangular,
    is then as accurate as a Householder QR of X (about ``u`` times the
    condition number in the smallest singular value), singular rows
    included (:func:`_semidefinite_cholesky`); Householder QR by blocks
    remains for a Gram matrix that even that refuses. Everything is decided
    on the equilibrated covariance, so units do not change it.
    """
    n_features = X.shape[1]
    rounding = float(np.finfo(X.dtype).eps)
    unit, weight = _in_weight_unit(sample_weight)
    origin = complete_origin(X, weight, origin)
    found = _scatter_about(X, weight, origin)
    total = found.weight if unit is None else found.weight * unit
    if not np.isfinite(found.covariance).all():  # the caller refuses the batch
        upper = np.full((n_features, n_features), np.nan)
        return Factor(total, found.mean, upper, origin, rounding)
    upper = np.zeros((n_features, n_features))
    if found.weight > 0:
        upper = _resolved(X, weight, found)
        if upper is None:
            upper = _householder_factor(X, weight, found.full_mean)
    return Factor(total, found.mean, upper, origin, rounding)


def _resolved(X, sample_weight, found):
    """The factor of X from its scatter ``found`` and a pass over the
    directions it cannot resolve; None where the Gram matrix of the rows
    is singular. (The rows' mean along those directions, removed from
    their Gram matrix, is within rounding of ``found``'s, which stays.)"""
    n_features = X.shape[1]
    std = np.sqrt(np.diagonal(found.covariance))
    active = std > 0  # exactly constant features have a zero column in R
    upper = np.zeros((n_features, n_features))
    if not active.any():
        return upper
    scale = std[active]
    equilibrated = found.covariance[np.ix_(active, active)] / np.outer(scale, scale)
    values, vectors = np.linalg.eigh(equilibrated)
    # Largest first: the rows of the Cholesky factor then decrease, and so
    # do those it is rotated into, which Householder QR then triangularizes
    # without losing the small ones' digits (a row-sorted QR is row-wise
    # backward stable).
    values, vectors = values[::-1], vectors[:, ::-1]
    loose = values < values[0] / _WELL_DETERMINED
    if not loose.any():
        upper[np.ix_(active, active)] = linalg.cholesky(equilibrated) * scale
        return upper
    # The covariance's part of the Gram matrix (its eigenbasis' cross terms)
    # is accurate enough beside directions it can tell from zero; beside
    # one it cannot, the whole Gram matrix is read from the rows.
    read = loose if not null_directions(values).any() else np.ones_like(loose)
    gram = vectors.T @ equilibrated @ vectors
    basis = np.zeros((n_features, int(read.sum())))
    basis[active] = vectors[:, read] / scale[:, None]
    sums, read_gram = _gram_through(X, sample_weight, found.full_mean, basis)
    sums, read_gram = sums / found.weight, read_gram / found.weight
    gram[np.ix_(read, read)] = read_gram - np.outer(sums, sums)
    lower = _semidefinite_cholesky(gram)
    if lower is None:
        return None
    rotated = lower.T @ vectors.T
    upper[np.ix_(active, active)] = upper_factor(rotated) * scale
    return upper


def _semidefinite_cholesky(gram):
    """Lower ``L`` with ``L L' = gram``, from the matrix equilibrated by its
    diagonal; None if it is not (numerically) positive semidefinite.

    A null direction of the rows leaves the equilibrated matrix singular to
    within its rounding, where Cholesky may meet a pivot rounded below 0:
    the diagonal is then raised by that rounding (``n u``), which gives the
    direction a singular value at the rounding level of the data, where
    :func:`skbn._numerics.factor_level` calls it null. A zero diagonal
    entry (rows exactly null along it) gives a zero row."""
    n = gram.shape[0]
    spread = np.sqrt(np.maximum(np.diagonal(gram), 0.0))
    null = spread == 0
    safe = np.where(null, 1.0, spread)
    equilibrated = gram / np.outer(safe, safe)
    equilibrated[null, :] = equilibrated[:, null] = 0.0
    equilibrated[null, null] = 1.0
    for lift in (0.0, n * EPS):
        try:
            lower = linalg.cholesky(equilibrated + lift * np.eye(n), lower=True)
        except linalg.LinAlgError:
            continue
        return lower * spread[:, None]
    return None


def _gram_through(X, sample_weight, center, basis):
    """Column sums and Gram matrix of ``(X - center) @ basis``, each row
    weighted, by blocks of rows shared among threads."""
    n_rows, blocks_per_task = scatter_blocking(X)

    def gram_of(blocks):
        sums, gram = 0.0, 0.0
        for rows in blocks:
            block = X[rows]
            deviation = np.subtract(
                block, center, out=scratch(*block.shape), dtype=np.float64
            )
            projected = deviation @ basis
            if sample_weight is None:
                sums = sums + column_sums(projected)
                gram = gram + projected.T @ projected
            else:
                weight = sample_weight[rows]
                sums = sums + weight @ projected
                gram = gram + (projected.T * weight) @ projected
        return sums, gram

    parts = map_row_blocks(
        gram_of, X.shape[0], n_rows, calls_blas=True, blocks_per_task=blocks_per_task
    )
    return sum(part[0] for part in parts), sum(part[1] for part in parts)


def _householder_factor(X, sample_weight, center):
    """The factor of the rows about ``center``, by Householder QR of blocks
    of rows (each scaled by the square root of its weight), merged pairwise."""
    n_rows, blocks_per_task = scatter_blocking(X)

    def factor_of(blocks):
        return merge_pairwise(
            _block_factor(
                X[rows], None if sample_weight is None else sample_weight[rows], center
            )
            for rows in blocks
        )

    parts = map_row_blocks(
        factor_of, X.shape[0], n_rows, calls_blas=True, blocks_per_task=blocks_per_task
    )
    return merge_pairwise(parts).factor


def _block_factor(block, sample_weight, center):
    """A block's factor about ``center`` (its mean, as far as merging
    blocks about one center goes: 0)."""
    n_features = block.shape[1]
    deviation = np.subtract(block, center, dtype=np.float64)
    weight = block.shape[0] if sample_weight is None else float(sample_weight.sum())
    if weight == 0:
        return Factor(0.0, np.zeros(n_features), np.zeros((n_features, n_features)))
    if sample_weight is not None:
        deviation *= np.sqrt(sample_weight)[:, None]
    upper = upper_factor(deviation / math.sqrt(weight))
    return Factor(weight, np.zeros(n_features), upper)


def scatter_blocking(X):
    """Rows per block of :func:`scatter` (2048 or more), blocks per task.

    Four ordinary blocks' worth of rows, four blocks a task, for a batch of
    16 ordinary blocks or more; else ordinary blocks, one a task, so that
    the threads share even a batch of two. (Merges of wide scatter
    matrices are costly: the fewer of them on the calling thread, the better.)
    """
    tall = _BLOCKS_PER_SCATTER_BLOCK * block_rows(X)
    if X.shape[0] >= _TALL_SCATTER_BATCH * tall:
        return max(tall, _MIN_SCATTER_ROWS), BLOCKS_PER_TASK
    return max(block_rows(X), _MIN_SCATTER_ROWS), 1


def reference_point(X, sample_weight=None):
    """A per-feature origin near the data, for :func:`moments`.

    The mean of the first block of rows; for a feature that no row of that
    block observes (NaN, or weight 0), its first observed value; 0 for a
    feature never observed, and for sparse data, whose values cluster
    around their implicit zeros.
    """
    if sparse.issparse(X):
        return np.zeros(X.shape[1])
    rows = slice(0, min(block_rows(X), X.shape[0]))
    weight = None if sample_weight is None else sample_weight[rows]
    point = _dense_moments(X[rows], weight).observed_mean
    unseen = np.flatnonzero(np.isnan(point))
    if unseen.size:
        point[unseen] = _first_observed(X, sample_weight, unseen)
    return point


def _first_observed(X, sample_weight, columns):
    """The first observed value of each of ``columns`` of X (0 if none)."""
    if not X.shape[0]:
        return np.zeros(columns.size)
    values = np.asarray(X[:, columns], dtype=np.float64)
    observed = ~np.isnan(values)
    if sample_weight is not None:
        observed &= (sample_weight > 0)[:, None]
    first = observed.argmax(axis=0)
    return np.where(observed.any(axis=0), values[first, np.arange(columns.size)], 0.0)


def complete_origin(X, sample_weight, origin):
    """``origin`` as a float64 array, its None or NaN entries chosen near the data."""
    if origin is None:
        return reference_point(X, sample_weight)
    origin = np.asarray(origin, dtype=np.float64)
    if math.isnan(origin.sum()):  # some entries are unknown
        origin = np.where(np.isnan(origin), reference_point(X, sample_weight), origin)
    return origin


def _rescued(X, sample_weight, moments):
    """The moments, recomputed in a power-of-two unit where they left float64's range.

    Squared deviations overflow beyond about 1e154 and underflow below about
    1e-154; such features (rare: a non-finite or a vanishing ``m2``) are
    read again, divided by a power of two near their largest deviation,
    which is exact. Their weights are divided likewise, so that huge weights
    cannot overflow the sums either. float32 data never needs it.
    """
    if X.dtype != np.float64:
        return moments
    m2 = moments.m2
    # An overflow makes m2 infinite or NaN, whatever it did to the mean; NaN
    # fails every comparison. Without weights, no feature weighs more than
    # the number of rows.
    heaviest = X.shape[0] if sample_weight is None else moments.weight.max()
    if m2.min() >= SAFE_SMALL * heaviest and m2.max() < math.inf:
        return moments  # the usual case
    with np.errstate(invalid="ignore"):
        suspect = ~(np.isfinite(moments.m2) & np.isfinite(moments.mean)) | (
            (moments.weight > 0) & (moments.m2 < moments.weight * SAFE_SMALL)
        )
    if not suspect.any():
        return moments
    n_features = X.shape[1]
    origin = np.broadcast_to(moments.origin, (n_features,)).astype(np.float64)
    unit = np.broadcast_to(moments.unit, (n_features,)).astype(np.float64)
    mean, m2 = moments.mean.copy(), moments.m2.copy()
    for j in np.flatnonzero(suspect):
        column = X[:, [j]].toarray()[:, 0] if sparse.issparse(X) else X[:, j]
        values = np.asarray(column, dtype=np.float64)
        observed = ~np.isnan(values)
        if sample_weight is not None:
            observed &= sample_weight > 0
        values = values[observed]
        weight = None if sample_weight is None else sample_weight[observed]
        with np.errstate(over="ignore", invalid="ignore"):
            deviation = values - origin[j]
            largest = np.max(np.abs(deviation))
        if largest == 0:
            continue  # exactly constant: nothing was lost
        rebase = not (np.isfinite(largest) and np.isfinite(origin[j]))
        if rebase:  # the origin is too far from the values to subtract them
            origin[j], deviation = 0.0, values
            largest = np.max(np.abs(values))
        scale = power_of_two(largest)
        weight_scale = 1.0 if weight is None else power_of_two(weight.max())
        part = _dense_moments(
            (deviation / scale)[:, None],
            None if weight is None else weight / weight_scale,
            origin=np.zeros(1),
        )
        # m2 counts the weights divided by 2**k: up to half of k goes into
        # the unit (as far as the unit stays finite), the rest stays in m2.
        k = np.frexp(weight_scale)[1] - 1
        h = min(-(-k // 2), np.frexp(np.finfo(np.float64).max)[1] - np.frexp(scale)[1])
        unit[j] = np.ldexp(scale, h)
        mean[j] = np.ldexp(part.mean[0], -h)
        m2[j] = np.ldexp(part.m2[0], k - 2 * h)
        if rebase:  # to the (rounded) mean, near the data for later batches
            origin[j], mean[j] = part.mean[0] * scale, 0.0
    return replace(moments, mean=mean, m2=m2, origin=origin, unit=unit)


def _overflow_quiet():
    """numpy's error state for the moments kernels: an overflow makes their
    moments non-finite, which :func:`_rescued` looks for and repairs,
    exactly, so numpy need not warn about it."""
    return np.errstate(over="ignore", invalid="ignore")


def _overflow_checked(kernel):
    """Run a moments kernel in :func:`_overflow_quiet`."""

    @functools.wraps(kernel)
    def quiet(*args, **kwargs):
        with _overflow_quiet():
            return kernel(*args, **kwargs)

    return quiet


def _block_moments(block, sample_weight, origin, work):
    """Moments of one block of rows, measured from ``origin``.

    The common case, unweighted float data without NaN, runs in three passes
    over the block while it is in cache: its deviations from the origin
    written into ``work``, their sums (also the NaN check) and their squares,
    from which the block's own mean is removed afterwards. As in
    ``_block_scatter``, a block whose mean lies further from the origin than
    its spread is centred on that mean first (three passes more), so that no
    block loses more than a bit or two to cancellation.
    """
    if sample_weight is not None:
        return _dense_moments(block, sample_weight, origin)
    n_rows, n_features = block.shape
    wide = wide_view(block, REDUCE_WIDTH) if block.dtype == np.float64 else None
    wide_work = wide_view(work, REDUCE_WIDTH)
    if wide is None or wide_work is None:
        np.subtract(block, origin, out=work, dtype=np.float64)
    else:
        np.subtract(wide, np.tile(origin, REDUCE_WIDTH), out=wide_work)
    sums, squares = _sums_and_squares(work)
    # NaN or infinity in the block make its squares non-finite, and so do
    # squares at float64's limit; 4 n bounds what the steps below multiply
    # them by.
    if not math.isfinite(squares.sum() * (4.0 * n_rows)):
        if not math.isfinite(sums.sum()):  # missing values, or infinity
            return _dense_moments(block, None, origin)
        # _rescued recomputes these moments in a power-of-two unit.
        return Moments(
            weight=np.full(n_features, float(n_rows)),
            mean=np.zeros(n_features),
            m2=np.full(n_features, np.inf),
            origin=origin,
        )
    shift = 0.0
    if np.any(2.0 * sums * sums > n_rows * squares):
        # Deviations from the block mean, taken from the block itself: those
        # from the origin were rounded to the precision of their distance.
        center = origin + sums / n_rows
        if wide is None or wide_work is None:
            np.subtract(block, center, out=work, dtype=np.float64)
        else:
            np.subtract(wide, np.tile(center, REDUCE_WIDTH), out=wide_work)
        shift = center - origin
        sums, squares = _sums_and_squares(work)
    m2 = squares - sums * sums / n_rows
    return Moments(
        weight=np.full(n_features, float(n_rows)),
        mean=shift + sums / n_rows,
        m2=np.maximum(m2, 0.0),
        origin=origin,
    )


def _sums_and_squares(deviation):
    """Column sums and sums of squares of a float64 C-contiguous block."""
    wide = wide_view(deviation, REDUCE_WIDTH)
    if wide is None:
        return column_sums(deviation), np.einsum("ij,ij->j", deviation, deviation)
    return column_sums(deviation), fold(
        np.einsum("ij,ij->j", wide, wide), deviation.shape[1]
    )


def _block_extrema(block, weight=0):
    # fmin/fmax skip NaN (and give NaN only for an all-NaN column). Over a
    # wide view, each row holds several rows of the block: extrema are exact,
    # so folding them is too.
    wide = wide_view(block, REDUCE_WIDTH)
    if wide is not None:
        n_features = block.shape[1]
        low = np.fmin.reduce(np.fmin.reduce(wide, axis=0).reshape(-1, n_features))
        high = np.fmax.reduce(np.fmax.reduce(wide, axis=0).reshape(-1, n_features))
    else:
        low, high = np.fmin.reduce(block, axis=0), np.fmax.reduce(block, axis=0)
    if np.isinf(low).any() or np.isinf(high).any():
        refuse_infinity(block)
    return Extrema(
        min=low.astype(np.float64, copy=False),
        max=high.astype(np.float64, copy=False),
        weight=weight,
    )


def refuse_infinity(X):
    """Raise scikit-learn's error for infinity in ``X`` (NaN is allowed).

    The statistics call this on a block whose sums are not finite: fits whose
    input skipped the finiteness pass of validation get the error that pass
    would have raised, worded by scikit-learn.
    """
    assert_all_finite(X, allow_nan=True, input_name="X")


@_overflow_checked
def _dense_moments(X, sample_weight, origin=None):
    # Corrected two-pass algorithm on one block: the mean, then the centred
    # sum of squares minus the (ideally zero) squared residual sum, which
    # cancels the first-order error of the computed mean; the residual also
    # refines the mean itself, which later merges subtract from other means.
    raw = X
    if origin is None:
        X = np.asarray(X, dtype=np.float64)
    else:
        X = np.subtract(X, origin, dtype=np.float64)
    n_samples, n_features = X.shape
    missing = np.isnan(X)
    has_missing = missing.any()
    if has_missing:
        X = np.where(missing, 0.0, X)
        present = ~missing
        weight = (
            present.sum(axis=0, dtype=np.float64)
            if sample_weight is None
            else sample_weight @ present
        )
    else:
        total = n_samples if sample_weight is None else sample_weight.sum()
        weight = np.full(n_features, total, dtype=np.float64)
    column_sum = X.sum(axis=0) if sample_weight is None else sample_weight @ X
    if not np.isfinite(column_sum).all():
        refuse_infinity(raw)
    mean = safe_divide(column_sum, weight)
    deviation = X - mean
    if has_missing:
        deviation[missing] = 0.0
    weighted = (
        deviation if sample_weight is None else deviation * sample_weight[:, None]
    )
    residual = weighted.sum(axis=0)
    m2 = np.einsum("ij,ij->j", weighted, deviation)
    m2 -= safe_divide(residual * residual, weight)
    refinement = safe_divide(residual, weight)
    m2 = np.maximum(m2, 0.0)
    complete = not has_missing
    if origin is None:
        # The first-pass mean is the origin and the refinement the mean from
        # it: the digits the refinement adds would be rounded away in a sum.
        return Moments(weight, refinement, m2, origin=mean, complete=complete)
    return Moments(weight, mean + refinement, m2, origin=origin, complete=complete)


@_overflow_checked
def _sparse_moments(X, sample_weight):
    # Works on the stored entries only; the implicit zeros of a column enter
    # through their total weight, so the matrix is never densified.
    X = sparse.coo_matrix(X, copy=True)
    X.sum_duplicates()
    n_samples, n_features = X.shape
    row_weight = (
        np.ones(n_samples) if sample_weight is None else np.asarray(sample_weight)
    )

    def column_sums(cols, weights):
        sums = np.bincount(cols, weights=weights, minlength=n_features)
        return sums.astype(np.float64, copy=False)

    stored_weight = column_sums(X.col, row_weight[X.row])
    implicit_count = n_samples - np.bincount(X.col, minlength=n_features)
    # Subtracting sums taken in different orders leaves rounding residue;
    # a column with every row stored has exactly no implicit zeros.
    zeros_weight = np.where(
        implicit_count > 0, np.maximum(row_weight.sum() - stored_weight, 0.0), 0.0
    )
    present = ~np.isnan(X.data)
    complete = bool(present.all())
    cols, values = X.col[present], X.data[present].astype(np.float64)
    entry_weight = row_weight[X.row[present]]
    weight = zeros_weight + column_sums(cols, entry_weight)
    if complete:
        # Every column holds every row: the total weight, the same number
        # for each, not sums taken in different orders.
        weight = np.full(n_features, row_weight.sum())
    mean = safe_divide(column_sums(cols, entry_weight * values), weight)
    deviation = values - mean[cols]
    weighted = entry_weight * deviation
    residual = column_sums(cols, weighted) - zeros_weight * mean
    m2 = column_sums(cols, weighted * deviation) + zeros_weight * mean * mean
    m2 -= safe_divide(residual * residual, weight)
    mean += safe_divide(residual, weight)
    return Moments(weight, mean, np.maximum(m2, 0.0), complete=complete)


def _block_scatter(X, sample_weight, origin):
    # Deviations from the common origin go into this thread's work array (no
    # block-sized allocation per block), and one matrix product gives the
    # scatter about the origin; removing the block mean afterwards costs a
    # relative accuracy of about (spread + offset**2) / spread, where offset
    # is the distance from the origin to the block mean. Where that offset
    # exceeds the spread, the block is centred on its own mean first and
    # its residual sums correct the result (the corrected two-pass algorithm
    # of _dense_moments), so no block ever loses more than a bit or two.
    with np.errstate(over="ignore", invalid="ignore"):  # see _scatter_about
        deviation = np.subtract(X, origin, out=scratch(*X.shape), dtype=np.float64)
        weight = X.shape[0] if sample_weight is None else float(sample_weight.sum())
        if weight == 0:
            n_features = X.shape[1]
            return Scatter(
                0.0, np.zeros(n_features), np.zeros((n_features, n_features)), origin
            )
        shift = 0.0
        column_sum, product = _sum_and_product(deviation, sample_weight)
        if np.any(2.0 * column_sum * column_sum > weight * np.diagonal(product)):
            # As in _block_moments: from the block itself, not from the
            # deviations rounded to the precision of the origin's distance.
            center = origin + column_sum / weight
            np.subtract(X, center, out=deviation, dtype=np.float64)
            shift = center - origin
            column_sum, product = _sum_and_product(deviation, sample_weight)
        # BLAS need not round the two triangles of X' X alike; the average and
        # outer(sum, sum) are exactly symmetric.
        matrix = (product + product.T) / 2.0
        matrix -= np.outer(column_sum, column_sum) / weight
        return Scatter(
            weight=weight,
            mean=shift + column_sum / weight,
            covariance=matrix / weight,
            origin=origin,
        )


def _sum_and_product(deviation, sample_weight):
    """Column sums and ``D' diag(w) D`` of a block of deviations ``D``."""
    if sample_weight is None:
        return column_sums(deviation), deviation.T @ deviation
    return sample_weight @ deviation, (deviation.T * sample_weight) @ deviation
