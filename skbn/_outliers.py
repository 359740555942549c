"""ZScoreOutlierDetector: rows with a feature too many standard deviations out."""

import numpy as np
from sklearn.base import OutlierMixin

from ._base import BatchEstimator
from ._standardize import update_running_moments
from ._stats import RunningMoments
from ._validation import check_real


class ZScoreOutlierDetector(OutlierMixin, BatchEstimator):
    """Flag rows in which some feature lies more than ``threshold`` std out.

    Standardized data has no bounds, but under a roughly normal distribution
    values beyond 3 standard deviations are rare (0.27 %), so a row with such
    a value can be called an outlier. The z-scores are those of
    :class:`BatchStandardizer`, fitted in one shot or streamed, exactly or
    with BatchNorm's running statistics (``momentum``), which follow a
    drifting stream.

    Read more in the :ref:`User Guide <zscore_outlier_detector>`.

    Parameters
    ----------
    threshold : float > 0, default=3.0
        A row is an outlier when some feature has ``abs(z) > threshold``.

    momentum : float in (0, 1] or None, default=None
        ``None``: z-scores from the exact mean and population variance of all
        the data seen. A float: from BatchNorm's running mean and variance,
        updated by each :meth:`partial_fit` batch as in
        :class:`BatchStandardizer`; every batch then needs 2 samples or more.

    Attributes
    ----------
    offset_ : float
        ``-threshold``: :meth:`decision_function` is
        ``score_samples(X) - offset_``.

    mean_ : ndarray of shape (n_features,)
        Per-feature mean the z-scores are measured from.

    var_ : ndarray of shape (n_features,)
        Per-feature variance (population, or BatchNorm's running one).

    scale_ : ndarray of shape (n_features,)
        What the deviations are divided by: the standard deviation
        ``sqrt(var_)`` (exact also where ``var_`` is ``inf`` or 0, beyond
        float64's range), or 1 for a constant feature.

    n_samples_seen_ : int, float or ndarray of shape (n_features,)
        Number of samples processed, as in :class:`BatchStandardizer`.

    n_batches_seen_ : int
        Number of batches processed.

    n_features_in_ : int
        Number of features seen during :meth:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :meth:`fit`. Defined only when `X`
        has feature names that are all strings.

    See Also
    --------
    BatchStandardizer : The standardization whose z-scores are thresholded.
    sklearn.covariance.EllipticEnvelope : Outliers by Mahalanobis distance,
        which accounts for correlated features.

    Notes
    -----
    The z-score of ``x`` in feature ``j`` is ``(x - mean_[j]) / scale_[j]``.
    :meth:`score_samples` is ``-max_j abs(z_j)`` (higher is more normal), and
    a row is an inlier when that is at least ``-threshold``: a row exactly at
    the threshold is an inlier.

    NaN values are ignored when fitting, and a missing value does not make a
    row an outlier: the score is taken over the observed features (0 for a
    row with none).

    A constant feature, whose standard deviation is within the rounding of
    its mean (``std <= 4 * 2.2e-16 * abs(mean_)``, whatever the number of
    samples; a column of ``0.3`` and ``0.1 + 0.2`` is constant), has
    ``scale_ = 1``, so a value that differs from the constant counts its raw
    distance as the z-score.

    With ``momentum=None`` the z-scores are exact at any magnitude: for data
    whose variance is beyond float64's range (a standard deviation above
    about 1e154 or below about 1e-154), ``var_`` is ``inf`` or 0 but
    ``scale_`` is the exact standard deviation. With ``momentum``, such a
    batch raises a ValueError naming the features, as in
    :class:`BatchStandardizer`.

    The examples :ref:`sphx_glr_auto_examples_plot_outlier_detection.py` and
    :ref:`sphx_glr_auto_examples_plot_standardization.py` show it at work.

    Examples
    --------
    >>> import numpy as np
    >>> from skbn import ZScoreOutlierDetector
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(1000, 3))
    >>> X[[10, 20]] = [[0.0, 9.0, 0.0], [-8.0, 0.0, 0.0]]
    >>> detector = ZScoreOutlierDetector(threshold=4.0).fit(X)
    >>> np.flatnonzero(detector.predict(X) == -1)
    array([10, 20])
    >>> detector.score_samples(X[[10, 20, 0]]).round(2)
    array([-8.91, -7.73, -0.66])
    """

    _statistic = RunningMoments

    def __init__(self, threshold=3.0, *, momentum=None):
        self.threshold = threshold
        self.momentum = momentum

    def score_samples(self, X):
        """Minus the largest absolute z-score of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The samples to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            ``-max_j abs(z_j)`` over the observed features; the lower, the
            more abnormal.
        """
        return self._rows("score_samples", type(self)._scores, X, 0)

    def decision_function(self, X):
        """``score_samples(X) - offset_``: negative for outliers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The samples to score.

        Returns
        -------
        decision : ndarray of shape (n_samples,)
            ``threshold - max_j abs(z_j)``.
        """
        return self._rows("decision_function", type(self)._decision, X, 0)

    def predict(self, X):
        """Label each row: +1 for an inlier, -1 for an outlier.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The samples to label.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            -1 where some feature has ``abs(z) > threshold``, +1 elsewhere.
        """
        return self._rows("predict", type(self)._labels, X, 0)

    def _scores(self, backend, X):
        X_valid = backend.validate(self, X, reset=False, copy=True)
        z = backend.affine(
            X_valid,
            shift=self.mean_,
            factor=self._factor,
            offset=None,
            out=backend.output(X, X_valid, copy=True),
        )
        return -backend.largest_absolute(z)

    def _decision(self, backend, X):
        return self._scores(backend, X) - self.offset_

    def _labels(self, backend, X):
        return backend.labels(self._decision(backend, X))

    def fit_resample(self, X, y):
        """Fit on X, then keep its inlier rows and the matching ``y``.

        What the notes behind skbn do with z-scores: drop the rows outside
        the range. With this method the detector is a sampler in
        imbalanced-learn's ``Pipeline``, which drops the rows while fitting
        only; ``predict`` of the pipeline sees every row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.

        y : array-like of shape (n_samples,) or None
            Targets, kept for the same rows.

        Returns
        -------
        X_resampled : array-like of shape (n_inliers, n_features)
            The inlier rows of X, of X's type (ndarray, DataFrame, ...).

        y_resampled : array-like of shape (n_inliers,) or None
            The matching targets.

        Examples
        --------
        >>> import numpy as np
        >>> from skbn import ZScoreOutlierDetector
        >>> X = np.r_[np.random.default_rng(0).normal(size=(99, 2)), [[9.0, 0.0]]]
        >>> y = np.arange(100)
        >>> X_in, y_in = ZScoreOutlierDetector(threshold=4.0).fit_resample(X, y)
        >>> X_in.shape, bool(99 in y_in)
        ((99, 2), False)
        """
        inlier = self.fit(X).predict(X) == 1
        return _kept_rows(X, inlier), None if y is None else _kept_rows(y, inlier)

    def _check_params(self):
        if self.momentum is not None:
            check_real(
                self.momentum, "momentum", low=0.0, high=1.0, low_inclusive=False
            )
        return check_real(self.threshold, "threshold", low=0.0, low_inclusive=False)

    def _accumulate(self, backend, X, sample_weight, state, threshold):
        return update_running_moments(backend, X, sample_weight, state, self.momentum)

    def _derive(self, state, threshold):
        scale = state.scale(0.0)
        return {
            **state.attributes(scale),
            "offset_": -threshold,
            "_factor": 1.0 / scale,
        }


def _kept_rows(data, keep):
    """The rows of ``data`` where ``keep`` is true, in ``data``'s own type."""
    if hasattr(data, "iloc"):  # pandas
        return data.iloc[np.asarray(keep)]
    if type(data).__module__.split(".")[0] == "polars":
        import polars

        return data.filter(polars.Series(np.asarray(keep)))
    if isinstance(data, (list, tuple)):
        data = np.asarray(data)
    if isinstance(data, np.ndarray):
        return data[np.asarray(keep)]
    return data[keep]  # an array of another library, masked by its own kind
