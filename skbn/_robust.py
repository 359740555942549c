"""RobustStandardizer: centre on the median, scale by an interquantile range."""

import numpy as np
from sklearn.base import OneToOneFeatureMixin

from ._backend import backend_of
from ._base import BatchTransformer, DerivedOnUse
from ._numerics import is_constant
from ._quantiles import QuantileSketch, capacity_for
from ._validation import check_bool, check_real

# Derived from the sketch's quantiles (on first use after partial_fit).
_DERIVED = ("center_", "scale_", "quantiles_", "_shift", "_factor")


class RobustStandardizer(OneToOneFeatureMixin, DerivedOnUse, BatchTransformer):
    """Scale features by statistics that outliers do not move: median and
    interquantile range, exact in one shot, streamed with a proved error.

    Each feature is mapped to::

        y = (x - center_) / scale_

    where ``center_`` is the feature's median and ``scale_`` the range
    between its ``quantile_range`` percentiles (the interquartile range by
    default). :meth:`fit` on an array in memory computes them exactly, as
    scikit-learn's :class:`~sklearn.preprocessing.RobustScaler` does, with
    ``sample_weight`` in addition. :meth:`partial_fit` (and a fit on a Dask
    array) keeps, for each feature, a mergeable quantile sketch whose rank
    error is proved and reported in ``rank_error_``: it is at most
    ``rank_error`` (0.005 by default) whatever the order of the data.

    Read more in the :ref:`User Guide <robust_standardizer>`.

    Parameters
    ----------
    with_centering : bool, default=True
        Subtract the median. ``False``: ``center_`` is None.

    with_scaling : bool, default=True
        Divide by the interquantile range. ``False``: ``scale_`` is None.

    quantile_range : tuple (q_min, q_max), default=(25.0, 75.0)
        Percentiles, ``0 <= q_min <= q_max <= 100``, whose difference is
        ``scale_``.

    unit_variance : bool, default=False
        Divide ``scale_`` by the same range of the standard normal
        distribution, ``norm.ppf(q_max / 100) - norm.ppf(q_min / 100)``
        (1.349 for the quartiles), so that normally distributed features end
        with a variance near 1. Needs ``0 < q_min < q_max < 100``.

    copy : bool, default=True
        If False, :meth:`transform` and :meth:`inverse_transform` work in
        place when ``X`` is a float ndarray of the working dtype; otherwise a
        copy is made silently.

    rank_error : float in (0, 1], default=0.005
        The largest rank error the quantile sketch of :meth:`partial_fit`
        may make, as a fraction of the values seen: a reported q-quantile
        lies between the exact ``(q - rank_error)`` and ``(q + rank_error)``
        quantiles. It sets the sketch's level size ``k``, the smallest even
        number for which the bound holds (8192 at the default): a stream
        stays exact until a feature has more than ``2 * k`` values, and the
        sketch then holds at most ``k`` values a level, one more level each
        time the stream doubles. The bound holds for streams of any order
        and of up to ``2**53`` values; ``rank_error_`` says what a fit
        actually guarantees, usually far less.

    Attributes
    ----------
    center_ : ndarray of shape (n_features,) or None
        The median of each feature (NaN for a feature without observed
        values), or None without ``with_centering``.

    scale_ : ndarray of shape (n_features,) or None
        The interquantile range of each feature, 1 where it is zero (a
        feature mostly constant), divided by the normal distribution's where
        ``unit_variance``; None without ``with_scaling``.

    quantiles_ : ndarray of shape (3, n_features)
        The ``q_min``-th percentile, the median and the ``q_max``-th
        percentile of each feature, that ``center_`` and ``scale_`` come
        from.

    rank_error_ : ndarray of shape (n_features,)
        A proved bound on the rank error of ``quantiles_``, as a fraction of
        the feature's observed values (their weight): 0 where they are
        exact (after :meth:`fit` on an array in memory, and while a stream
        has not outgrown the sketch), at most ``rank_error`` always.

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
    sklearn.preprocessing.RobustScaler : The same map, computed in one shot,
        without ``partial_fit`` or ``sample_weight``.
    BatchStandardizer : Scales by the mean and standard deviation, which
        outliers move.
    MinMaxNormalizer : Scales by the range, which an outlier alone sets.

    Notes
    -----
    Quantiles are numpy's default ("linear"): the q-quantile of ``n`` values
    is at position ``q * (n - 1)`` of the sorted values, interpolated
    between neighbours, and the median of an even number of values is the
    mean of the middle two. With ``sample_weight`` the position counts
    weight instead of values, so integer weights give the result of
    repeated rows, exactly; a row of weight 0 is absent. NaN values are
    ignored when fitting and kept as NaN by :meth:`transform`.

    The sketch (see :mod:`skbn._quantiles` for its proof) summarizes each
    feature by compacting sorted levels of values, each compaction adding
    at most a known amount to the rank error; sketches of batches, or of
    Dask chunks, merge by uniting their levels. The result depends on the
    order of the batches, within the bound, unlike the other skbn
    estimators, whose statistics merge exactly. A fit on an array in memory
    is exact: ``center_`` and ``scale_`` equal RobustScaler's.

    A scale within the rounding of the quantiles it is the difference of,
    ``scale <= 4 * eps * max(|q_min-th|, |q_max-th|)`` (skbn's numerical
    policy, with float64's ``eps``), is zero and becomes 1, as in
    RobustScaler, which instead takes any scale below ``10 * eps`` for zero
    whatever the data's magnitude: data measured in units of 1e-16 keeps its
    shape here.

    Statistics are float64; float32 (and float16) input stays float32
    (float16) on output. :meth:`fit` and :meth:`partial_fit` are
    all-or-nothing: a call that raises leaves every fitted attribute as it
    was. The quantiles are derived from the sketch when first read after
    :meth:`partial_fit`, not at every batch, with the parameters of that
    fitting call: a ``set_params`` in between takes effect at the next one.

    The example :ref:`sphx_glr_auto_examples_plot_robust_scaling.py` shows
    it against outliers.

    Examples
    --------
    >>> import numpy as np
    >>> from skbn import RobustStandardizer
    >>> X = np.array([[1.0, -2.0], [2.0, 0.0], [3.0, 2.0], [4.0, 1000.0]])
    >>> scaler = RobustStandardizer().fit(X)
    >>> scaler.center_, scaler.scale_
    (array([2.5, 1. ]), array([  1.5, 252. ]))
    >>> scaler.transform([[2.5, 1.0]])
    array([[0., 0.]])

    Streamed, the result is exact while the sketch holds every value:

    >>> stream = RobustStandardizer()
    >>> for batch in np.array_split(X, 2):
    ...     stream = stream.partial_fit(batch)
    >>> stream.center_, stream.rank_error_
    (array([2.5, 1. ]), array([0., 0.]))
    """

    _kept_float_dtypes = (np.float64, np.float32, np.float16)
    _derived_on_use = _DERIVED
    _statistic = QuantileSketch

    def __init__(
        self,
        *,
        with_centering=True,
        with_scaling=True,
        quantile_range=(25.0, 75.0),
        unit_variance=False,
        copy=True,
        rank_error=0.005,
    ):
        self.with_centering = with_centering
        self.with_scaling = with_scaling
        self.quantile_range = quantile_range
        self.unit_variance = unit_variance
        self.copy = copy
        self.rank_error = rank_error

    def _check_params(self):
        """Check the parameters; return what the derivation needs of them:
        ``((q_min / 100, q_max / 100), with_centering, with_scaling,
        unit_variance)``."""
        check_bool(self.with_centering, "with_centering")
        check_bool(self.with_scaling, "with_scaling")
        check_bool(self.unit_variance, "unit_variance")
        check_bool(self.copy, "copy")
        check_real(
            self.rank_error, "rank_error", low=0.0, high=1.0, low_inclusive=False
        )
        try:
            q_min, q_max = (
                check_real(q, "quantile_range", low=0.0, high=100.0)
                for q in self.quantile_range
            )
            valid = q_min <= q_max
        except (TypeError, ValueError):
            valid = False
        if not valid:
            raise ValueError(
                "quantile_range must be a pair (q_min, q_max) of percentiles with "
                f"0 <= q_min <= q_max <= 100, got {self.quantile_range!r}."
            )
        if self.unit_variance and not 0 < q_min < q_max < 100:
            raise ValueError(
                "unit_variance=True needs 0 < q_min < q_max < 100, where the "
                "normal distribution's range is finite and positive; got "
                f"{self.quantile_range!r}."
            )
        # As np.nanpercentile turns percentiles into probabilities.
        probabilities = (q_min / 100.0, q_max / 100.0)
        return probabilities, self.with_centering, self.with_scaling, self.unit_variance

    @property
    def _capacity(self):
        return capacity_for(self.rank_error)

    def _accumulate(self, backend, X, sample_weight, state, settings):
        # The exact quantiles of a batch matter only when it is the whole fit
        # so far: the first batch.
        exact_at = settings[0] if state is None else None
        batch = backend.quantile_sketch(X, sample_weight, self._capacity, exact_at)
        return batch if state is None else state.merge(batch)

    def _derive(self, sketch, settings):
        return {
            # An int until weights come: the number of rows.
            "n_samples_seen_": sketch.weight,
            "rank_error_": sketch.rank_error(settings[0]),
            "_offset": None,
            # The derivation follows the parameters of the fitting call, not
            # a set_params between it and the first read.
            "_settings": settings,
            **self._deferred(),
        }

    def _derive_on_use(self):
        """``center_``, ``scale_`` and the map, from the sketch's quantiles."""
        probabilities, with_centering, with_scaling, unit_variance = self._settings
        low, high, median = self._statistics.quantiles(probabilities)
        center = median if with_centering else None
        scale = factor = None
        if with_scaling:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                scale = high - low
                zero = is_constant(scale, np.fmax(np.abs(low), np.abs(high)))
                scale[zero] = 1.0
                factor = 1.0 / scale
                # A range beyond float64 (quantiles near -1e308 and 1e308):
                # its reciprocal from halves, exact to rounding.
                overflowed = np.isinf(scale)
                factor[overflowed] = 0.5 / (high[overflowed] / 2 - low[overflowed] / 2)
            if unit_variance:
                from scipy.stats import norm

                adjust = norm.ppf(probabilities[1]) - norm.ppf(probabilities[0])
                scale = scale / adjust
                factor = factor * adjust
        derived = {
            "center_": center,
            "scale_": scale,
            "quantiles_": np.array([low, median, high]),
            "_shift": center,
            "_factor": factor,
        }
        return backend_of(self.rank_error_).publish(derived)
