"""Quantiles: exact for one batch, and a mergeable sketch with a proved rank error.

A :class:`QuantileSketch` keeps, for each feature, a weighted summary of the
values it has seen, small enough to stream and to merge across workers,
whose rank error is bounded by a certificate it carries. The quantiles of a
single batch are exact; so are those of any stream the sketch still holds
whole.

The sketch (a deterministic compactor hierarchy, Manku, Rajagopalan &
Lindsay 1998; Agarwal et al., "Mergeable summaries", 2012)
    A feature's summary is a set of weighted items in levels 0, 1, 2, ...
    New values enter level 0 with their weights. A level holding at least
    ``capacity`` items (``k``) may be *compacted*: its items are sorted, an
    even number ``c >= k`` of them (all but the largest, if their number is
    odd) with total weight ``B`` are replaced by ``m = c / 2`` items of
    weight ``s = B / m``, the values found at cumulative weights
    ``(j + 1/2) * s``, ``j = 0 .. m - 1``, which move to the next level.
    With unit weights this keeps every other item, and doubles its weight.
    Compaction is lazy: only while the summary holds more than
    ``k * (levels + 1)`` items, the lowest full level first, so that a
    stream of up to ``2 * k`` values is held whole, and exactly.

Why the rank error is bounded
    Let ``R(x)`` be the weight of the values ``<= x`` (or ``< x``) and
    ``R'(x)`` that of the summary's items. Over the compacted items,
    ``R(x) = F``; afterwards their ``m`` replacements weigh
    ``s * #{j : (j + 1/2) s <= F} = s * floor(F / s + 1/2)``, within
    ``s / 2`` of ``F``. (The items are taken at the first cumulative weight
    ``>=`` the target, or ``>`` it, alternately, so that the errors of
    equal-weight compactions do not all lean one way; both obey the bound.)
    So each compaction moves ``R'`` by at most ``s / 2 = B / c <= B / k``,
    and the sketch adds these up in ``error``: ``|R'(x) - R(x)| <= error``
    for every ``x``, whatever the order of the data, the batches or the
    merges. Merging two summaries unites their levels, and their errors add.
    A bound that does not depend on the data: the weight compacted at one
    level is at most the total weight ``W``, since compaction moves it up,
    so each level adds at most ``W / k``. A level receives at most half the
    items of the level below, and compacts only ``k`` or more at once, so
    levels ``h`` with ``N / 2**h < k`` never compact (``N`` the number of
    values): at most ``floor(log2(N / k)) + 1`` levels add error, and the
    relative rank error ``error / W`` is at most
    ``(floor(log2(N / k)) + 1) / k``. With ``k = 8192`` that is below 0.005
    for every ``N < 2**53`` (float64's exact counts): 40 levels, 0.00488.
    Sums of weights are rounded as float64 sums are (relative ``1e-16``).

Quantiles
    The q-quantile of ``n`` values is numpy's default ("linear"): position
    ``h = q * (n - 1)`` in the sorted values, interpolated between the
    values at ``floor(h)`` and ``floor(h) + 1``; the median of an even
    number of values is the mean of the middle two, as ``np.median`` has
    it. With weights, the value at position ``t`` is the first whose
    cumulative weight exceeds ``t`` and ``n`` is the total weight, so that
    integer weights give the quantiles of repeated rows, exactly. On the
    summary, the same rule over its items: a reported quantile's rank then
    lies within ``error`` of the rank of the exact one (up to one value's
    weight, the step between neighbouring order statistics).
"""

import math
from dataclasses import dataclass

import numpy as np

from ._stats import Statistic

#: Counts of values up to which float64 counts exactly: the guarantee's range.
_LARGEST_COUNT = 2**53


def capacity_for(rank_error):
    """The smallest even level capacity ``k`` whose worst-case relative rank
    error, for any number of values below 2**53, is at most ``rank_error``."""
    # k = 2 * m: the bound falls as k grows, to 0 at k = 2**52, which holds
    # every stream of fewer than 2**53 values whole.
    low, high = 1, 2**51
    while low < high:
        middle = (low + high) // 2
        if worst_rank_error(2 * middle) <= rank_error:
            high = middle
        else:
            low = middle + 1
    return 2 * low


def worst_rank_error(capacity, n_values=_LARGEST_COUNT - 1):
    """The relative rank error no stream of ``n_values`` values can exceed
    in a sketch of level capacity ``capacity`` (see the module docstring)."""
    if n_values < 2 * capacity:
        return 0.0
    levels = (n_values // capacity).bit_length()  # floor(log2(n / k)) + 1
    return levels / capacity


def quantiles_of_sorted(values, probabilities, cumulative=None):
    """``np.quantile`` ("linear") of sorted, observed ``values`` at
    ``probabilities``.

    ``cumulative``: the cumulative weights of the values (None: each weighs
    1). NaN for no values, or no weight.
    """
    a, b, gamma = _neighbours(values, probabilities, cumulative)
    return np.array(
        [_between(*abg, median=False) for abg in zip(a, b, gamma, strict=True)]
    )


def median_of_sorted(values, cumulative=None):
    """``np.median`` of sorted, observed ``values`` (``cumulative`` as for
    :func:`quantiles_of_sorted`): half-way, the mean of the middle two."""
    a, b, gamma = _neighbours(values, (0.5,), cumulative)
    return _between(a[0], b[0], gamma[0], median=True)


def _neighbours(values, probabilities, cumulative):
    """The values at ``floor(h)`` and ``floor(h) + 1`` of numpy's position
    ``h = p * (n - 1)`` for each probability, and ``h - floor(h)``."""
    nothing = np.full(len(probabilities), np.nan)
    if values.shape[0] == 0:
        return nothing, nothing, np.zeros(len(probabilities))
    total = values.shape[0] if cumulative is None else float(cumulative[-1])
    if total <= 0:
        return nothing, nothing, np.zeros(len(probabilities))
    # numpy's virtual index, computed as np.quantile computes it.
    position = np.maximum((total - 1) * np.asarray(probabilities, dtype=np.float64), 0)
    low = np.floor(position)
    last = max(total - 1, 0)
    a, b = (
        _value_at(values, cumulative, np.minimum(where, last))
        for where in (low, low + 1)
    )
    return a, b, position - low


def _value_at(values, cumulative, positions):
    """The value at each position: the first whose cumulative weight
    exceeds it."""
    if cumulative is None:
        index = positions.astype(np.intp)
    else:
        index = np.searchsorted(cumulative, positions, side="right")
    return values[np.minimum(index, values.shape[0] - 1)]


def _between(a, b, gamma, *, median):
    """numpy's interpolation from ``a`` to ``b`` by ``gamma``: the mean of
    the two for a median half-way (``np.median``), else ``np.quantile``'s
    ``_lerp``, computed from halves where the difference overflows."""
    if gamma == 0 or a == b or np.isnan(a):
        return a
    if median and gamma == 0.5:
        return a / 2 + b / 2  # (a + b) / 2 rounded once, and no overflow
    diff = b - a
    if not math.isfinite(diff):
        return a + (b / 2 - a / 2) * gamma * 2
    return b - diff * (1 - gamma) if gamma >= 0.5 else a + diff * gamma


# --------------------------------------------------------------------------
# One feature's summary
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Summary:
    """One feature's compactor levels; never mutated.

    ``levels[h]`` is a tuple of blocks ``(values, weight)``: a 1-D float64
    array of observed values and their weight, a float for all of them or an
    array, one each; ``sizes[h]`` counts level h's values. ``error`` bounds
    the rank error (in weight), ``weight`` is the total weight, ``flips[h]``
    counts level h's compactions (their parity alternates the side the
    items are taken from).
    """

    levels: tuple
    sizes: tuple
    error: float
    weight: float
    flips: tuple

    @classmethod
    def of(cls, values, weights):
        """The exact summary of observed values (weights: a float, or one
        each)."""
        weight = (
            float(np.sum(weights))
            if isinstance(weights, np.ndarray)
            else weights * values.shape[0]
        )
        level = ((values, weights),) if values.shape[0] else ()
        return cls((level,), (values.shape[0],), 0.0, weight, (0,))

    def merge(self, other):
        depth = max(len(self.levels), len(other.levels))
        return _Summary(
            tuple(
                _at(self.levels, h, ()) + _at(other.levels, h, ()) for h in range(depth)
            ),
            tuple(_at(self.sizes, h, 0) + _at(other.sizes, h, 0) for h in range(depth)),
            self.error + other.error,
            self.weight + other.weight,
            tuple(_at(self.flips, h, 0) + _at(other.flips, h, 0) for h in range(depth)),
        )

    def compacted(self, capacity):
        """The summary within its budget, ``capacity * (levels + 1)`` items,
        compacting the lowest full level first."""
        summary = self
        while sum(summary.sizes) > capacity * (len(summary.sizes) + 1):
            h = next(h for h, size in enumerate(summary.sizes) if size >= capacity)
            summary = summary._compact(h)
        return summary

    def _compact(self, h):
        values, weights = _sorted_items(self.levels[h])
        n = values.shape[0]
        keep = n - n % 2
        side = self.flips[h] % 2
        if not isinstance(weights, np.ndarray):
            # Copies: a view would keep the whole level alive.
            promoted = (values[side:keep:2].copy(), 2.0 * weights)
            step = 2.0 * weights
            left = ((values[keep:].copy(), weights),) if keep < n else ()
        else:
            cumulative = np.cumsum(weights[:keep])
            step = float(cumulative[-1]) / (keep // 2)
            targets = (np.arange(keep // 2) + 0.5) * step
            index = np.searchsorted(
                cumulative, targets, side="right" if side else "left"
            )
            promoted = (values[np.minimum(index, keep - 1)], step)
            left = ((values[keep:].copy(), weights[keep:].copy()),) if keep < n else ()
        grow = h + 1 == len(self.levels)
        levels, sizes, flips = (
            list(part) + ([empty] if grow else [])
            for part, empty in ((self.levels, ()), (self.sizes, 0), (self.flips, 0))
        )
        levels[h], sizes[h] = left, n - keep
        levels[h + 1] += (promoted,)
        sizes[h + 1] += keep // 2
        flips[h] += 1
        return _Summary(
            tuple(levels),
            tuple(sizes),
            self.error + step / 2,
            self.weight,
            tuple(flips),
        )

    def quantiles(self, probabilities):
        """The quantiles at ``probabilities`` and, last, the median."""
        items = [block for level in self.levels for block in level]
        if not items:
            return np.full(len(probabilities) + 1, np.nan)
        values, weights = _sorted_items(items)
        cumulative = None
        if isinstance(weights, np.ndarray) or weights != 1.0:
            cumulative = np.cumsum(np.broadcast_to(weights, values.shape))
        return _with_median(values, probabilities, cumulative)


def _with_median(values, probabilities, cumulative):
    return np.append(
        quantiles_of_sorted(values, probabilities, cumulative),
        median_of_sorted(values, cumulative),
    )


def _at(parts, h, empty):
    return parts[h] if h < len(parts) else empty


def _sorted_items(blocks):
    """The values of blocks, sorted, with their weights: a float where every
    block has the same one, else an array."""
    values = (
        blocks[0][0] if len(blocks) == 1 else np.concatenate([b[0] for b in blocks])
    )
    arrays = any(isinstance(b[1], np.ndarray) for b in blocks)
    if not arrays and len({b[1] for b in blocks}) == 1:
        weight = blocks[0][1]
        if values.shape[0] > 1 and not (values[1:] >= values[:-1]).all():
            values = np.sort(values)
        return values, weight
    weights = np.concatenate(
        [
            np.broadcast_to(np.asarray(b[1], dtype=np.float64), b[0].shape)
            for b in blocks
        ]
    )
    order = np.argsort(values, kind="stable")
    return values[order], weights[order]


# --------------------------------------------------------------------------
# The statistic
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class QuantileSketch(Statistic):
    """Per-feature mergeable quantile summaries, and a batch's exact quantiles.

    Attributes
    ----------
    summaries : tuple of _Summary
        One per feature (see the module docstring).
    capacity : int
        The level capacity ``k``.
    weight : int or float
        The rows' weight (their number without weights), missing values
        included.
    exact : ndarray of shape (len(probabilities) + 1, n_features) or None
        The exact quantiles at ``probabilities`` and, last, the medians of
        the one batch the sketch was made from; None once batches are merged
        (the summaries then answer, exactly as long as they hold every
        value).
    probabilities : tuple of float
        The probabilities ``exact`` is for.
    """

    summaries: tuple
    capacity: int
    weight: float
    exact: np.ndarray | None = None
    probabilities: tuple = ()

    @classmethod
    def of_sorted_columns(cls, columns, capacity, weight, probabilities=None):
        """The sketch of one batch from its columns' observed values, sorted,
        each a ``(values, weights)`` pair (weights: None for 1 each, or the
        values' weights, sorted with them); with its exact quantiles at
        ``probabilities`` and medians unless ``probabilities`` is None."""
        summaries = tuple(
            _Summary.of(values, 1.0 if weights is None else weights).compacted(capacity)
            for values, weights in columns
        )
        if probabilities is None:
            return cls(summaries, capacity, weight)
        exact = [
            _with_median(
                values, probabilities, None if weights is None else np.cumsum(weights)
            )
            for values, weights in columns
        ]
        return cls(
            summaries,
            capacity,
            weight,
            np.array(exact, dtype=np.float64).T.reshape(len(probabilities) + 1, -1),
            tuple(probabilities),
        )

    def merge(self, other):
        """The sketch of the union of two batches."""
        if other.capacity != self.capacity:
            raise ValueError(
                "cannot merge quantile sketches of different capacities "
                f"({self.capacity} and {other.capacity}): refit with one rank_error."
            )
        return QuantileSketch(
            tuple(
                a.merge(b).compacted(self.capacity)
                for a, b in zip(self.summaries, other.summaries, strict=True)
            ),
            self.capacity,
            self.weight + other.weight,
        )

    def _knows_exactly(self, probabilities):
        return self.exact is not None and tuple(probabilities) == self.probabilities

    def quantiles(self, probabilities):
        """The quantiles at ``probabilities`` and, last, the median, shape
        (len(probabilities) + 1, n_features): exact where known, else the
        summaries'."""
        if self._knows_exactly(probabilities):
            return self.exact
        return np.array(
            [s.quantiles(probabilities) for s in self.summaries], dtype=np.float64
        ).T.reshape(len(probabilities) + 1, -1)

    def rank_error(self, probabilities):
        """Per feature, a bound on the rank error of :meth:`quantiles` at
        ``probabilities``, as a fraction of the feature's weight: 0 where
        they are exact."""
        if self._knows_exactly(probabilities):
            return np.zeros(len(self.summaries))
        return np.array(
            [s.error / s.weight if s.weight > 0 else 0.0 for s in self.summaries]
        )

    # Persistence: plain arrays and numbers (skops trusts nothing else).
    # Each (feature, level) is one sorted block: its size (-1 past the
    # feature's last level) and its weight, or NaN there and one weight per
    # value in ``weights``.
    def as_dict(self):
        depth = max(len(s.levels) for s in self.summaries)
        shape = (len(self.summaries), depth)
        sizes = np.full(shape, -1, dtype=np.int64)
        level_weights = np.full(shape, np.nan)
        flips = np.zeros(shape, dtype=np.int64)
        values, weights = [np.empty(0)], [np.empty(0)]
        for f, summary in enumerate(self.summaries):
            flips[f, : len(summary.flips)] = summary.flips
            for h, level in enumerate(summary.levels):
                v, w = _sorted_items(level) if level else (np.empty(0), 1.0)
                sizes[f, h] = v.shape[0]
                values.append(v)
                if isinstance(w, np.ndarray):
                    weights.append(w)
                else:
                    level_weights[f, h] = w
        return {
            "values": np.concatenate(values),
            "weights": np.concatenate(weights),
            "sizes": sizes,
            "level_weights": level_weights,
            "flips": flips,
            "errors": np.array([s.error for s in self.summaries]),
            "summary_weights": np.array([s.weight for s in self.summaries]),
            "capacity": self.capacity,
            "weight": self.weight,
            "exact": self.exact,
            "probabilities": np.array(self.probabilities, dtype=np.float64),
        }

    @classmethod
    def from_dict(cls, state):
        values, weights = state["values"], state["weights"]
        start = weights_start = 0
        summaries = []
        for f, sizes in enumerate(state["sizes"]):
            levels = []
            for h, size in enumerate(sizes[sizes >= 0]):
                stop = start + int(size)
                w = float(state["level_weights"][f, h])
                if np.isnan(w):
                    w = weights[weights_start : weights_start + int(size)]
                    weights_start += int(size)
                levels.append(((values[start:stop], w),) if size else ())
                start = stop
            summaries.append(
                _Summary(
                    tuple(levels),
                    tuple(int(size) for size in sizes[sizes >= 0]),
                    float(state["errors"][f]),
                    float(state["summary_weights"][f]),
                    tuple(int(n) for n in state["flips"][f][: len(levels)]),
                )
            )
        return cls(
            tuple(summaries),
            int(state["capacity"]),
            state["weight"],
            state["exact"],
            tuple(float(p) for p in state["probabilities"]),
        )
