"""What skbn calls zero, constant and out of range: its numerical policy, in one place.

Every estimator asks this module, and only this module, whether a spread is
real or rounding noise, whether a direction of a covariance is null, and how
to bring extreme magnitudes into range. The definitions, and why they hold:

Constant
    A feature is constant when its spread is within the rounding of its
    magnitude: ``spread <= CONSTANT_ULPS * u * magnitude``, with ``u`` the
    float64 machine epsilon (2.2e-16), the spread a standard deviation (or a
    range, for extrema) and the magnitude the largest absolute value the
    statistic knows of (``|mean|`` for moments, ``max(|min|, |max|)`` for
    extrema). Values that differ by a few units in the last place are what
    rounding makes of one number (``0.1 + 0.2`` and ``0.3``); they carry no
    information to scale up. The test does not depend on the number of
    rows: skbn keeps its moments about a point near the data (see
    :mod:`skbn._stats`), so the error of a computed standard deviation is a
    few ulps of the spread itself, not ``n * u * |mean|`` as for sums about
    zero. scikit-learn's bound ``var <= n * u * var + (n * mean * u) ** 2``
    was written for the latter and, over a long stream of ``1e9 + N(0, 1)``,
    calls a unit-variance feature constant. numpy's own ``np.var`` of a
    constant column is within about 2 ulps, hence 4.

Null direction
    A whitening map is decided on the equilibrated covariance (the
    correlation matrix, each feature divided by its standard deviation), so
    that units never change an outcome. Its eigenvalues are computed to
    within about ``n * u * lambda_max`` (``lambda_max >= 1`` there); a
    direction below that is indistinguishable from zero. Taken from the
    triangular factor of the data instead (``solver="qr"``), they are the
    squares of singular values known to within ``n * u`` of the largest and
    the data's own rounding (:func:`factor_level`): half the digits are no
    longer lost, and what is null is what the data cannot resolve.

Extreme magnitudes
    Squares of values beyond about 1e154 overflow float64 and squares of
    spreads below about 1e-154 underflow. Dividing a column by a power of two
    is exact, so moments are computed on rescaled values where needed and
    carried with their power-of-two ``unit`` (:func:`power_of_two`);
    standard deviations then stay exact even where a variance is beyond
    float64's range. A covariance matrix has no such unit: the whitener
    refuses spreads whose squares leave the range, naming the feature
    (:func:`check_spread_in_range`), rather than lose them in silence.
"""

import numpy as np

EPS = np.finfo(np.float64).eps
CONSTANT_ULPS = 4.0
# Variances below this (about 1e-290) lose digits to gradual underflow when
# their squared deviations are summed: a wide margin to float64's limit.
SAFE_SMALL = 2.0**-964


def is_constant(spread, magnitude):
    """Whether a spread is rounding noise of its magnitude (elementwise)."""
    return is_rounding(spread, magnitude, CONSTANT_ULPS)


def is_rounding(values, magnitude, n_terms):
    """Whether ``values`` are within the rounding of a computation of
    ``n_terms`` terms of size ``magnitude`` (elementwise): not even their
    signs are known."""
    return np.abs(values) <= n_terms * EPS * np.abs(magnitude)


def scale_from_variance(var, mean, eps, std=None):
    """The standard deviation to divide by: ``sqrt(var + eps)``.

    With ``eps == 0`` a constant feature (see :func:`is_constant`) gets 1, so
    that it is centred but not blown up. ``std``, when given, is the exact
    standard deviation, which stays finite where ``var`` overflows (or
    underflows): it is what is divided by then.
    """
    if std is None:
        std = np.sqrt(var)
    if eps > 0:
        with np.errstate(over="ignore"):
            scale = np.sqrt(var + eps)
        # Where var overflowed, eps is far below its rounding anyway.
        return np.where(np.isinf(scale), std, scale)
    return np.where(is_constant(std, mean), 1.0, std)


def null_directions(values, eps=0.0, level=None):
    """Directions whose eigenvalue (plus ``eps``) is zero up to rounding.

    ``values`` are the decreasing eigenvalues of an equilibrated matrix,
    known to within ``level * values[0]``: by default ``n * u``, what an
    eigensolver gives from the matrix itself; :func:`factor_level` where
    they are the squared singular values of its triangular factor. An
    ``eps`` above that lifts every direction out of the null space.
    """
    if values.size == 0:
        return np.zeros(0, dtype=bool)
    if level is None:
        level = values.size * EPS
    return values + eps <= level * values[0]


def factor_level(singular, relative_magnitude, rounding=EPS):
    """The ``level`` of :func:`null_directions` for eigenvalues that are the
    squares of ``singular``, the decreasing singular values of the
    equilibrated triangular factor of the data (columns of unit norm).

    Two roundings bound what such a singular value can tell: the
    factorization's (backward stable, about ``n * u * singular[0]``) and
    the data's own, each value rounded to within ``rounding`` (the unit
    roundoff of its dtype) times its magnitude: in equilibrated units a
    matrix of norm at most ``rounding * norm(relative_magnitude)``, the
    non-constant features' ``(|mean| + std) / std``, taken
    ``CONSTANT_ULPS`` times as for a constant feature. A direction below
    their sum is rounding noise: far from zero, or in float32, that is well
    above ``n * u``.
    """
    if singular.size == 0 or singular[0] == 0:
        return singular.size * EPS
    bound = EPS * singular.size * singular[0] + CONSTANT_ULPS * rounding * float(
        np.linalg.norm(relative_magnitude)
    )
    return (bound / singular[0]) ** 2


def power_of_two(values):
    """The power of two at or below each of ``values`` (> 0), as float64.

    Dividing by it brings a value into ``[1, 2)`` exactly; it is finite even
    for the largest float.
    """
    return np.ldexp(0.5, np.frexp(np.asarray(values, dtype=np.float64))[1])


def check_representable_variance(moments, holder):
    """Raise a ValueError where a batch's variance is beyond float64's range.

    For statistics that must store a variance (``holder`` names it, e.g.
    BatchNorm's running ``var_``), rather than the exact moments, whose
    standard deviation stays exact at any magnitude.
    """
    std, var = moments.std, moments.unbiased_var
    with np.errstate(invalid="ignore"):
        lost = (moments.weight > 1) & ~is_constant(std, moments.observed_mean)
        lost &= np.isinf(var) | ((var < np.finfo(np.float64).tiny) & (std > 0))
    if lost.any():
        features = np.flatnonzero(lost)
        raise ValueError(
            f"{holder} stores variances in float64, but feature(s) "
            f"{features.tolist()} have a standard deviation of about "
            f"{std[features[0]]:.1e}, whose square is beyond float64's range "
            "(squares overflow above about 1e154 and underflow below about "
            "1e-154). Rescale X by a power of ten first, or use momentum=None, "
            "whose exact statistics hold at any magnitude."
        )


def check_spread_in_range(variance, extrema_of, name):
    """Raise a ValueError where a feature's variance underflowed float64.

    For a covariance, which is kept as squares: a feature whose spread lies
    below about 1e-145 while its values differ by more than rounding noise
    would be taken for a constant (or lose its digits) in silence. Only the
    features whose computed ``variance`` is that small are read again:
    ``extrema_of(features)`` gives their extrema.
    """
    tiny = np.flatnonzero(variance < SAFE_SMALL)
    if not tiny.size:
        return
    found = extrema_of(tiny)
    spread = found.max - found.min
    magnitude = np.fmax(np.abs(found.min), np.abs(found.max))
    lost = (spread > 0) & ~is_constant(spread, magnitude)
    if lost.any():
        features = tiny[lost]
        raise ValueError(
            f"{name} keeps a covariance of squared deviations, but feature(s) "
            f"{features.tolist()} spread over only about "
            f"{spread[lost][0]:.1e}, whose square underflows float64 (below "
            "about 1e-145 a spread loses its digits). Multiply X by a power of "
            "ten first."
        )
