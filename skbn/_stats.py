"""Mergeable sufficient statistics, the numerical core of skbn.

Every skbn normalizer is an affine map derived from statistics that can be
computed on one batch and merged with those of another batch. A statistic here
is an immutable value: a backend (:mod:`skbn._backend`) computes one from a
batch, ``merge`` combines two into a new one, and neither touches its inputs.
``fit`` is a merge over row blocks, ``partial_fit`` a merge with the running
state, and a distributed fit a merge across workers, so all three give the same
numbers. Nothing here knows what kind of array the batches were: the values
are float64 numpy arrays, on the host.

An estimator keeps its statistic as a plain dict (``as_dict``), so that
persisting it (skops) asks to trust nothing but the estimator's class.
"""

import math
from dataclasses import dataclass, replace

import numpy as np

from ._numerics import check_representable_variance, scale_from_variance


class Statistic:
    """An immutable statistic, kept by an estimator as a plain dict."""

    @classmethod
    def from_dict(cls, state):
        return cls(**state)

    def as_dict(self):
        return dict(vars(self))


# The unit of moments that needed no rescaling: one object, so that a
# check for it is an identity test.
_UNIT = 1.0


@dataclass(frozen=True)
class Moments(Statistic):
    """Per-feature weighted moments of the observed (non-NaN) values.

    The moments are kept about an ``origin`` near the data, set for each
    feature from the first value that observes it, and in a power-of-two
    ``unit`` (1 unless the values' squares would leave float64's range, see
    :mod:`skbn._numerics`): a merge then subtracts means that keep every
    digit, at any distance from zero and at any magnitude.

    Attributes
    ----------
    weight : ndarray of shape (n_features,)
        Sum of the weights of the observed values of each feature; with unit
        weights, the number of observed values.
    mean : ndarray of shape (n_features,)
        Weighted mean of the observed values, measured from ``origin``, in
        ``unit``; carries no information where ``weight`` is 0.
    m2 : ndarray of shape (n_features,)
        Centred sum of squares ``sum(w * (x - mean) ** 2)``, in ``unit ** 2``.
    origin : ndarray of shape (n_features,) or float
        The point the mean is measured from.
    unit : ndarray of shape (n_features,) or float
        Powers of two the mean and ``sqrt(m2)`` are expressed in.
    complete : bool
        Whether every value was observed (no NaN): then every feature has
        the same weight, exactly.
    """

    weight: np.ndarray
    mean: np.ndarray
    m2: np.ndarray
    origin: np.ndarray | float = 0.0
    unit: np.ndarray | float = _UNIT
    complete: bool = True  # no value was missing (NaN)

    def about(self, origin, unit=None):
        """The same moments measured from ``origin``, in ``unit``."""
        unit = self.unit if unit is None else unit
        ratio = self.unit / unit
        with np.errstate(over="ignore", invalid="ignore"):
            mean = (self.origin - origin) / unit + self.mean * ratio
        return Moments(
            weight=self.weight,
            mean=np.where(self.weight > 0, mean, 0.0),
            m2=self.m2 * ratio * ratio,
            origin=origin,
            unit=unit,
            complete=self.complete,
        )

    def merge(self, other):
        """Moments of the union of two batches (Chan, Golub & LeVeque 1983)."""
        a, b = _in_common_frame(self, other)
        weight = a.weight + b.weight
        share = safe_divide(b.weight, weight)
        delta = b.mean - a.mean
        return Moments(
            weight=weight,
            mean=a.mean + delta * share,
            m2=a.m2 + b.m2 + delta * delta * a.weight * share,
            origin=a.origin,
            unit=a.unit,
            complete=a.complete and b.complete,
        )

    @property
    def anchor(self):
        """The origin of each observed feature, NaN for the others: what the
        next batch is measured from (its own data decides the NaN ones)."""
        if np.ndim(self.origin) and self.weight.min() > 0:
            return self.origin  # the same array: merges then skip re-measuring
        return np.where(self.weight > 0, self.origin, np.nan)

    @property
    def observed_mean(self):
        """The mean, NaN for features without observed values."""
        return np.where(self.weight > 0, self.origin + self.mean * self.unit, np.nan)

    def summary(self):
        """``(observed_mean, var, std)``, in fewer steps where every feature
        was observed in unit 1 (the usual case, on every partial_fit)."""
        if self.unit is _UNIT and self.weight.min() > 0:
            var = self.m2 / self.weight
            return self.origin + self.mean, var, np.sqrt(var)
        return self.observed_mean, self.var, self.std

    @property
    def var(self):
        """Population variance (ddof=0), NaN for unobserved features.

        inf (or 0) where the variance itself is beyond float64's range;
        :attr:`std` is exact there.
        """
        with np.errstate(over="ignore", under="ignore"):
            var = safe_divide(self.m2, self.weight, where=self.weight > 0, fill=np.nan)
            return var * self.unit * self.unit

    @property
    def std(self):
        """Population standard deviation, NaN for unobserved features."""
        var = safe_divide(self.m2, self.weight, where=self.weight > 0, fill=np.nan)
        return np.sqrt(var) * self.unit

    @property
    def unbiased_var(self):
        """Frequency-weighted unbiased variance, ``m2 / (weight - 1)``.

        NaN where the weight is 1 or less: one sample has no spread to measure.
        """
        with np.errstate(over="ignore", under="ignore"):
            var = safe_divide(
                self.m2, self.weight - 1.0, where=self.weight > 1, fill=np.nan
            )
            return var * self.unit * self.unit


def _same(a, b):
    return a is b or (np.ndim(a) == 0 and np.ndim(b) == 0 and a == b)


def _in_common_frame(a, b):
    """Two moments measured from one origin in one unit, per feature.

    A feature keeps the origin of the first moments that observed it (so
    that its means stay small), and takes the larger unit (so that nothing
    overflows).
    """
    if _same(a.origin, b.origin) and _same(a.unit, b.unit):
        return a, b
    seen_a, seen_b = a.weight > 0, b.weight > 0
    origin = np.where(seen_a, a.origin, b.origin)
    unit = np.where(
        seen_a, np.where(seen_b, np.maximum(a.unit, b.unit), a.unit), b.unit
    )
    return a.about(origin, unit), b.about(origin, unit)


@dataclass(frozen=True)
class Extrema(Statistic):
    """Per-feature minimum and maximum of the observed (non-NaN) values.

    Rows of weight 0 are absent; positive weights do not matter. A feature
    with no observed value has NaN for both. Minima and maxima are exact, so
    any split of the data into batches merges to the same values.

    Attributes
    ----------
    min, max : ndarray of shape (n_features,)
        Smallest and largest observed value of each feature, as float64.
    weight : int or float
        Sum of the weights of the rows; without weights, their number.
    """

    min: np.ndarray
    max: np.ndarray
    weight: float = 0

    def merge(self, other):
        """Extrema of the union of two batches."""
        return Extrema(
            min=np.fmin(self.min, other.min),
            max=np.fmax(self.max, other.max),
            weight=self.weight + other.weight,
        )


class SecondMoments(Statistic):
    """Weighted mean and centred second moments of complete rows: as a
    covariance (:class:`Scatter`) or as its triangular factor
    (:class:`Factor`). Both keep their mean about an ``origin`` near the
    data, as :class:`Moments` does, and only ratios of weights."""

    @classmethod
    def from_dict(cls, state):
        return (Factor if "factor" in state else Scatter)(**state)

    def about(self, origin):
        """The same statistic with the mean measured from ``origin``."""
        return replace(self, mean=self.mean + (self.origin - origin), origin=origin)

    @property
    def full_mean(self):
        """The mean itself, origin included."""
        return self.origin + self.mean

    @property
    def matrix(self):
        """Centred scatter matrix ``sum(w * outer(x - mean, x - mean))``."""
        return self.covariance * self.weight

    def _merged(self, other):
        """What merging ``other`` in makes of the weight and the mean
        (Chan, Golub & LeVeque 1983): ``(weight, share, delta, mean)``, with
        ``share`` the other's part of the weight and ``delta`` the step
        between the means; both about this origin."""
        if not _same(self.origin, other.origin):
            other = other.about(self.origin)
        weight = self.weight + other.weight
        share = other.weight / weight
        delta = other.mean - self.mean
        return other, weight, share, delta, self.mean + delta * share


@dataclass(frozen=True)
class Scatter(SecondMoments):
    """Weighted mean and covariance of complete rows.

    The covariance is kept normalized by the total weight, so that only
    ratios of weights enter it (huge or tiny weights cannot overflow it),
    and the mean about an ``origin`` near the data, as for :class:`Moments`.

    Attributes
    ----------
    weight : float
        Sum of the weights of the rows; with unit weights, their number.
    mean : ndarray of shape (n_features,)
        Weighted mean of the rows, measured from ``origin``.
    covariance : ndarray of shape (n_features, n_features)
        Population covariance ``sum(w * outer(x - mean, x - mean)) / weight``.
    origin : ndarray of shape (n_features,) or float
        The point the mean is measured from.
    """

    weight: float
    mean: np.ndarray
    covariance: np.ndarray
    origin: np.ndarray | float = 0.0

    def merge(self, other):
        """Scatter of the union of two batches."""
        if other.weight == 0:
            return self
        if self.weight == 0:
            return other
        other, weight, share, delta, mean = self._merged(other)
        # outer(delta, delta) is exactly symmetric; scaling one factor
        # before the product would round the two triangles differently.
        return Scatter(
            weight=weight,
            mean=mean,
            covariance=(1.0 - share) * self.covariance
            + share * other.covariance
            + np.outer(delta, delta) * ((1.0 - share) * share),
            origin=self.origin,
        )

    @property
    def variance(self):
        """The diagonal of the covariance."""
        return np.diagonal(self.covariance)


@dataclass(frozen=True)
class Factor(SecondMoments):
    """Weighted mean and the triangular factor of the centred rows.

    ``factor`` is the R of a QR decomposition of the centred rows, each
    scaled by the square root of its weight, divided by the square root of
    the total weight: ``factor.T @ factor`` is the covariance, which is
    never formed to derive anything from it. An SVD of the factor loses
    about half the digits an eigendecomposition of the covariance loses
    (whose condition number is the factor's squared).

    Attributes
    ----------
    weight : float
        Sum of the weights of the rows; with unit weights, their number.
    mean : ndarray of shape (n_features,)
        Weighted mean of the rows, measured from ``origin``.
    factor : ndarray of shape (n_features, n_features)
        Upper triangular, with a diagonal >= 0 (the Cholesky factor of the
        covariance, where that is positive definite).
    origin : ndarray of shape (n_features,) or float
        The point the mean is measured from.
    rounding : float
        The unit roundoff of the coarsest dtype the rows came in (float32's
        for float32 data): what the data themselves can resolve.
    """

    weight: float
    mean: np.ndarray
    factor: np.ndarray
    origin: np.ndarray | float = 0.0
    rounding: float = float(np.finfo(np.float64).eps)

    def merge(self, other):
        """Factor of the union of two batches: the R of the two factors
        stacked on the step between their means, each row weighted as in
        :meth:`Scatter.merge`."""
        if other.weight == 0:
            return self
        if self.weight == 0:
            return other
        other, weight, share, delta, mean = self._merged(other)
        stacked = np.vstack(
            [
                math.sqrt(1.0 - share) * self.factor,
                math.sqrt(share) * other.factor,
                math.sqrt((1.0 - share) * share) * delta[None, :],
            ]
        )
        rounding = max(self.rounding, other.rounding)
        return Factor(weight, mean, upper_factor(stacked), self.origin, rounding)

    @property
    def covariance(self):
        """``factor.T @ factor``, for users (nothing is derived from it)."""
        return self.factor.T @ self.factor

    @property
    def variance(self):
        """The diagonal of the covariance: the squared column norms."""
        return np.einsum("ij,ij->j", self.factor, self.factor)


def upper_factor(rows):
    """The R of a QR decomposition of ``rows`` (Householder's, backward
    stable), as a square upper triangular matrix with a diagonal >= 0: for
    a matrix of full column rank, the Cholesky factor of ``rows.T @ rows``."""
    n_features = rows.shape[1]
    found = np.linalg.qr(rows, mode="r")
    upper = np.zeros((n_features, n_features))
    upper[: found.shape[0]] = found
    signs = np.where(np.diagonal(upper) < 0, -1.0, 1.0)
    return upper * signs[:, None]


def merge_pairwise(parts):
    """Merge a non-empty sequence of statistics as a balanced binary tree.

    For moments, pairwise merging keeps the rounding error growing with the
    logarithm of the number of parts instead of linearly. The parts are
    consumed one by one (a generator is fine): like a binary counter, the
    stack holds one partial merge per level, so that only about log2 of
    their number are alive at once, which matters for scatter matrices.
    """
    stack = []  # (level, statistic), levels decreasing from the bottom
    for part in parts:
        level = 0
        while stack and stack[-1][0] == level:
            part = stack.pop()[1].merge(part)
            level += 1
        stack.append((level, part))
    if not stack:
        raise ValueError("merge_pairwise needs at least one statistic to merge.")
    merged = stack.pop()[1]
    while stack:
        merged = stack.pop()[1].merge(merged)
    return merged


def exponential_moving_update(mean, var, batch, momentum):
    """BatchNorm's running-statistics update (PyTorch's convention).

    ``new = (1 - momentum) * old + momentum * batch_value`` for the mean and
    for the *unbiased* batch variance. A feature whose running variance is NaN
    has no statistics yet: the batch sets them exactly. A feature with a batch
    weight of 1 or less (all but one value missing) keeps its running values.

    Returns the new ``(mean, var)``; the inputs are not modified.
    """
    batch_mean, batch_var = batch.observed_mean, batch.unbiased_var
    fresh = np.isnan(var)
    informative = batch.weight > 1
    new_mean = (1.0 - momentum) * mean + momentum * batch_mean
    new_var = (1.0 - momentum) * var + momentum * batch_var
    if informative.all() and not fresh.any():  # the usual case, in fewer steps
        return new_mean, new_var
    new_mean = np.where(fresh, batch_mean, new_mean)
    new_var = np.where(fresh, batch_var, new_var)
    return np.where(informative, new_mean, mean), np.where(informative, new_var, var)


def safe_divide(numerator, denominator, where=None, fill=0.0):
    if where is None:
        where = denominator > 0
    if where.all():  # the usual case, in one step
        return np.divide(numerator, denominator, dtype=np.float64)
    out = np.full(np.shape(numerator), fill, dtype=np.float64)
    return np.divide(numerator, denominator, out=out, where=where)


@dataclass(frozen=True)
class RunningMoments(Statistic):
    """What a z-score needs: exact moments, and the mean and variance used.

    Without momentum the ``mean`` and ``var`` are those of the exact
    ``moments`` of every value seen (``std`` too, exact also where ``var``
    left float64's range); with it, BatchNorm's running averages of the
    batches' (:func:`exponential_moving_update`, ``std`` None). Also:
    ``n_batches``, whether some batch was ``weighted``, and the last
    ``batch``'s moments (what BatchNorm's training pass standardizes by; not
    persisted). BatchStandardizer and ZScoreOutlierDetector both keep one.
    """

    moments: Moments
    mean: np.ndarray
    var: np.ndarray
    std: np.ndarray | None = None
    n_batches: int = 0
    weighted: bool = False
    batch: Moments | None = None

    @classmethod
    def from_dict(cls, state):
        return cls(**{**state, "moments": Moments(**state["moments"])})

    def as_dict(self):
        state = {**vars(self), "moments": self.moments.as_dict()}
        del state["batch"]
        return state

    @classmethod
    def empty(cls, n_features):
        """Nothing seen yet: the first batch's moments will set everything."""
        zeros, nothing = np.zeros(n_features), np.full(n_features, np.nan)
        return cls(Moments(zeros, zeros, zeros), mean=nothing, var=nothing)

    def update(self, batch, momentum, *, weighted):
        """These statistics with one more batch's moments merged in."""
        # (A first batch is taken as it is: merged into nothing, its moments
        # would be re-measured in a frame of their own at every later merge.)
        moments = batch if self.n_batches == 0 else self.moments.merge(batch)
        if not np.isfinite(moments.weight).all():
            raise ValueError(
                "The total sample weight overflows float64 (above 1.8e308); only "
                "the ratios of the weights matter to mean_ and var_: divide them "
                "by a common factor."
            )
        if momentum is None:
            mean, var, std = moments.summary()
        else:
            check_representable_variance(batch, "With momentum, var_")
            mean, var = exponential_moving_update(self.mean, self.var, batch, momentum)
            std = None
        return RunningMoments(
            moments=moments,
            mean=mean,
            var=var,
            std=std,
            n_batches=self.n_batches + 1,
            weighted=self.weighted or weighted,
            batch=batch,
        )

    def attributes(self, scale):
        """The fitted attributes of an estimator that keeps these moments,
        dividing by ``scale``."""
        return {
            "mean_": self.mean,
            "var_": self.var,
            "scale_": scale,
            "n_samples_seen_": self.n_samples_seen,
            "n_batches_seen_": self.n_batches,
        }

    def scale(self, eps):
        """``sqrt(var + eps)``, 1 for a constant feature (see skbn._numerics)."""
        return scale_from_variance(self.var, self.mean, eps, std=self.std)

    @property
    def n_samples_seen(self):
        """As StandardScaler counts: one number when no value was missing
        (every feature then has the same count, exactly) or when the counts
        are equal anyway, an array otherwise; integers without weights."""
        counts = self.moments.weight
        if not self.weighted:
            counts = counts.astype(np.int64)
        equal = self.moments.complete or (counts == counts[0]).all()
        return counts[0] if equal else counts
