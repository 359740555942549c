"""MinMaxNormalizer: each feature mapped linearly onto a chosen range."""

import numpy as np
from sklearn.base import OneToOneFeatureMixin

from ._base import BatchTransformer
from ._numerics import EPS, is_constant
from ._stats import Extrema
from ._validation import check_bool, check_interval


class MinMaxNormalizer(OneToOneFeatureMixin, BatchTransformer):
    """Scale each feature linearly so that its range becomes ``feature_range``.

    Each feature is mapped to::

        y = (x - data_min_) / data_range_ * (hi - lo) + lo

    computed as ``x * scale_ + min_``, exactly as scikit-learn's
    :class:`~sklearn.preprocessing.MinMaxScaler` computes it. The input range
    is learned from the data (streamed through :meth:`partial_fit`, any split
    giving the result of one :meth:`fit`), or given beforehand with
    ``data_range``, as for 8-bit pixels whose range is ``(0, 255)`` whatever
    a batch happens to contain.

    Read more in the :ref:`User Guide <minmax_normalizer>`.

    Parameters
    ----------
    feature_range : tuple (lo, hi), default=(0, 1)
        The output range, ``lo < hi``. ``(-1, 1)`` is the other common choice.

    data_range : tuple (lo, hi) or None, default=None
        ``None``: learn each feature's minimum and maximum from the data. A
        pair of numbers, or of arrays of shape (n_features,), with
        ``lo < hi``: the known input range, which is mapped onto
        ``feature_range``; fitting then learns only the number of features
        (and their names), and values outside the range are accepted and
        mapped outside ``feature_range`` unless ``clip`` is set.

    clip : bool, default=False
        Clip the output of :meth:`transform` into ``feature_range``, for data
        outside the fitted range.

    copy : bool, default=True
        If False, :meth:`transform` and :meth:`inverse_transform` work in
        place when ``X`` is a float ndarray of the working dtype; otherwise a
        copy is made silently.

    Attributes
    ----------
    data_min_ : ndarray of shape (n_features,)
        Per-feature minimum seen in the data, or the low end of
        ``data_range``. NaN for a feature that has had no observed value.

    data_max_ : ndarray of shape (n_features,)
        Per-feature maximum seen in the data, or the high end of
        ``data_range``.

    data_range_ : ndarray of shape (n_features,)
        ``data_max_ - data_min_``, the true range rounded to float64: ``inf``
        where it is beyond float64's largest value (data spanning
        ``[-1e308, 1e308]``), which ``scale_`` does not suffer from.

    scale_ : ndarray of shape (n_features,)
        ``(hi - lo) / data_range_``; ``hi - lo`` for a constant feature, which
        therefore maps to ``lo`` (see Notes).

    min_ : ndarray of shape (n_features,)
        ``lo - data_min_ * scale_``.

    n_samples_seen_ : int or float
        Number of rows processed, missing values included (the sum of the
        weights when ``sample_weight`` was given). Reset by :meth:`fit`,
        increased by :meth:`partial_fit`.

    n_features_in_ : int
        Number of features seen during :meth:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :meth:`fit`. Defined only when `X`
        has feature names that are all strings.

    See Also
    --------
    sklearn.preprocessing.MinMaxScaler : The same map, without
        ``data_range`` or ``sample_weight``.
    BatchStandardizer : Scales to zero mean and unit variance instead, which
        leaves the output unbounded.

    Notes
    -----
    Minima and maxima are exact, so streaming loses nothing: any split of the
    data into :meth:`partial_fit` batches gives the attributes of one
    :meth:`fit`, bit for bit. They are stored as float64; float32 (and
    float16) input stays float32 (float16) on output, as in MinMaxScaler.

    NaN values are ignored when fitting and kept as NaN by :meth:`transform`;
    a feature missing from a whole batch takes its range from the other
    batches.

    A constant feature maps to ``lo``. A learned feature is constant when its
    range is within a few ulps of its largest ``|value|``,
    ``range <= 4 * eps * max(|data_min_|, |data_max_|)`` (skbn's numerical
    policy, with float64's ``eps``): such a range is rounding noise (``0.3``
    against ``0.1 + 0.2``), and is divided by 1, as MinMaxScaler divides its
    constant features, so that ``scale_`` is ``hi - lo`` and the noise maps
    to ``lo``. ``data_range_`` keeps the true range. Where dividing by 1
    would leave the noise far from ``lo`` (noise wider than ``10 * eps``,
    such as 1e284 between values near 1e300, or values whose product with
    ``hi - lo`` overflows) the divisor is larger, so that the noise spreads
    over at most ``10 * eps * (hi - lo)``, MinMaxScaler's own bound. Unlike
    MinMaxScaler, which treats every range below ``10 * eps`` (about 2.2e-15)
    as zero whatever the values, a tiny range far above the rounding of its
    values is scaled like any other: data measured in units of 1e-16 keeps
    its shape. A range given as ``data_range`` is known, never noise. A range
    so small that ``(hi - lo) / range`` overflows (a subnormal one) is
    divided by 1 too.

    A range beyond float64 (data spanning ``[-1e308, 1e308]``) is scaled
    correctly: ``scale_`` is computed from halves of the extrema, which is
    exact, while ``data_range_``, the true range rounded to float64, is
    ``inf``.

    ``sample_weight`` only decides which rows count: a row of weight 0 is
    absent, and any positive weight is the same as 1 for the extrema (the
    weights are summed in ``n_samples_seen_``).

    :meth:`fit` and :meth:`partial_fit` are all-or-nothing: a call that raises
    leaves every fitted attribute as it was.

    Because the map is computed as ``x * scale_ + min_``, data far from zero
    relative to its range (such as ``1e9 + U(0, 1)``) loses digits to
    cancellation, as in MinMaxScaler; center such data first.

    The example :ref:`sphx_glr_auto_examples_plot_minmax_normalization.py`
    shows it at work.

    Examples
    --------
    8-bit pixel values with their known range, so that every batch is mapped
    the same way whatever it contains:

    >>> import numpy as np
    >>> from skbn import MinMaxNormalizer
    >>> pixels = np.array([[0, 51], [102, 255]], dtype=np.uint8)
    >>> MinMaxNormalizer(data_range=(0, 255)).fit_transform(pixels)
    array([[0. , 0.2],
           [0.4, 1. ]])

    Learned ranges, streamed, onto ``(-1, 1)``:

    >>> X = np.array([[1.0, -2.0], [3.0, 0.0], [5.0, 2.0]])
    >>> scaler = MinMaxNormalizer(feature_range=(-1, 1))
    >>> scaler = scaler.partial_fit(X[:1]).partial_fit(X[1:])
    >>> scaler.data_min_, scaler.data_max_
    (array([ 1., -2.]), array([5., 2.]))
    >>> scaler.transform([[2.0, 1.0], [9.0, 0.0]])
    array([[-0.5,  0.5],
           [ 3. ,  0. ]])
    >>> scaler.set_params(clip=True).transform([[9.0, 0.0]])
    array([[1., 0.]])
    """

    # Statistics are float64 whatever X's dtype; the output keeps X's float
    # dtype, float16 included, as scikit-learn's scalers do.
    _kept_float_dtypes = (np.float64, np.float32, np.float16)
    _statistic = Extrema

    def __init__(self, feature_range=(0, 1), *, data_range=None, clip=False, copy=True):
        self.feature_range = feature_range
        self.data_range = data_range
        self.clip = clip
        self.copy = copy

    def _check_params(self):
        """Check the parameters; return ``feature_range`` as numbers."""
        feature_range = check_interval(self.feature_range, "feature_range")
        check_bool(self.clip, "clip")
        check_bool(self.copy, "copy")
        return feature_range

    def _accumulate(self, backend, X, sample_weight, state, feature_range):
        # The extrema of X are read even for a known range: that one pass
        # also refuses infinity (unless a row of weight 0 hides it, which
        # validation then looks for), in Dask chunks too.
        batch = backend.extrema(X, sample_weight)
        if self.data_range is not None:
            known = check_interval(self.data_range, "data_range", n_features=X.shape[1])
            low, high = np.broadcast_arrays(*known, np.empty(X.shape[1]))[:2]
            batch = Extrema(min=low.copy(), max=high.copy(), weight=batch.weight)
        return batch if state is None else state.merge(batch)

    def _derive(self, extrema, feature_range):
        lo, hi = feature_range
        scale, data_range = _scale_of(
            extrema.min, extrema.max, lo, hi, learned=self.data_range is None
        )
        offset = lo - extrema.min * scale
        return {
            "data_min_": extrema.min,
            "data_max_": extrema.max,
            "data_range_": data_range,
            "scale_": scale,
            "min_": offset,
            # An int until weights come: the number of rows.
            "n_samples_seen_": extrema.weight,
            "_shift": None,
            "_factor": scale,
            "_offset": offset,
        }

    @property
    def _clip(self):
        return (
            check_interval(self.feature_range, "feature_range") if self.clip else None
        )


# MinMaxScaler's threshold for a constant range, hence the widest spread of
# its constant features, divided by 1 (see _scale_of).
_NOISE_SPREAD = 10 * EPS


def _scale_of(data_min, data_max, lo, hi, *, learned):
    """``scale_`` and ``data_range_`` of the map onto ``(lo, hi)``, per feature.

    ``data_range_`` is ``data_max - data_min`` rounded to float64: infinity
    where the true range is beyond float64's largest value. The scale is
    computed from halves there,
    ``((hi - lo) / 2) / (data_max / 2 - data_min / 2)``, the same quotient
    without the overflow (halving a normal number is exact, and extrema whose
    difference overflows are normal).

    A ``learned`` range that is constant by the numerical policy (within a few
    ulps of the feature's largest ``|value|``, see
    :func:`skbn._numerics.is_constant`) is rounding noise. As in MinMaxScaler,
    which divides its constant features by 1, the feature maps to ``lo``:
    ``scale_`` is ``hi - lo``, except where dividing by 1 would not map it to
    ``lo``. Noise wider than MinMaxScaler's threshold ``10 * eps`` (values
    near 1e300 differ by 1e284) is divided by ``range / (10 * eps)``, so that
    it spreads over ``10 * eps * (hi - lo)`` above ``lo`` at most, the bound
    MinMaxScaler's constant features obey; and a feature so large that
    ``x * (hi - lo)`` overflows is divided by its magnitude. A range given by
    the user (``learned=False``) is never noise. Any range so small that
    ``(hi - lo) / range`` overflows (a subnormal one, whose scale float64
    cannot hold) is divided by 1 too.

    Everything here is per feature: n_features values, whatever the rows.
    """
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        data_range = data_max - data_min
        scale = (hi - lo) / data_range
        magnitude = np.fmax(np.abs(data_min), np.abs(data_max)) if learned else None
        noise = learned and is_constant(data_range, magnitude)
        # scale * data_range is hi - lo, unless the range (or its reciprocal)
        # left float64's range or a feature is unobserved.
        usual = np.isfinite(scale * data_range).all() and not np.any(noise)
    if usual:
        return scale, data_range  # on every partial_fit
    overflowed = np.isinf(data_range)
    if overflowed.any():
        scale[overflowed] = ((hi - lo) / 2) / (
            data_max[overflowed] / 2 - data_min[overflowed] / 2
        )
    if learned:
        if noise.any():
            magnitude = magnitude[noise]
            divisor = np.maximum(1.0, data_range[noise] / _NOISE_SPREAD)
            with np.errstate(over="ignore"):
                huge = np.isinf(magnitude * (hi - lo))
            divisor[huge] = np.maximum(divisor[huge], magnitude[huge])
            scale[noise] = (hi - lo) / divisor
    scale[np.isinf(scale)] = hi - lo
    return scale, data_range
