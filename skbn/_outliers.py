"""ZScoreOutlierDetector: rows with a feature too many standard deviations out."""

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin

from ._affine import affine_forward
from ._array_api import follows_namespace, foreign_namespace, labels, largest_absolute
from ._callbacks import CallbackSupportMixin, fit_task
from ._dask import maps_dask_chunks
from ._standardize import BatchStandardizer
from ._validation import (
    check_fitted,
    check_real,
    check_sample_weight,
    output_for,
    rollback_on_error,
    validate_batch,
)

# The state of the BatchStandardizer whose z-scores the detector uses: its
# fitted attributes and its exact moments.
_STATISTICS = (
    "mean_",
    "var_",
    "scale_",
    "n_samples_seen_",
    "n_batches_seen_",
    "_moments",
)


class ZScoreOutlierDetector(CallbackSupportMixin, OutlierMixin, BaseEstimator):
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

    def __init__(self, threshold=3.0, *, momentum=None):
        self.threshold = threshold
        self.momentum = momentum

    @follows_namespace
    @fit_task()
    def fit(self, X, y=None, sample_weight=None):
        """Compute the statistics of X, forgetting any earlier ones.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.

        y : None
            Ignored.

        sample_weight : array-like of shape (n_samples,), default=None
            Frequency weights of the samples.

        Returns
        -------
        self : object
            Fitted detector.
        """
        return self._update(X, sample_weight, reset=True)

    @follows_namespace
    @fit_task()
    def partial_fit(self, X, y=None, sample_weight=None):
        """Update the statistics with one batch of samples.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            A batch of training data.

        y : None
            Ignored.

        sample_weight : array-like of shape (n_samples,), default=None
            Frequency weights of the samples.

        Returns
        -------
        self : object
            Fitted detector.
        """
        return self._update(X, sample_weight, reset=not hasattr(self, "offset_"))

    @maps_dask_chunks(n_outputs=lambda detector: 0)
    @follows_namespace
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
        check_fitted(self)
        X_valid = validate_batch(self, X, reset=False, copy=True)
        z = affine_forward(
            X_valid,
            shift=self.mean_,
            factor=1.0 / self.scale_,
            out=output_for(X, X_valid, copy=True),
        )
        xp = foreign_namespace(z)
        if xp is not None:
            return -largest_absolute(z, xp)
        np.abs(z, out=z)
        return -np.fmax.reduce(z, axis=1, initial=0.0, dtype=np.float64)

    @follows_namespace
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
        return self.score_samples(X) - self.offset_

    @follows_namespace
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
        decision = self.decision_function(X)
        xp = foreign_namespace(decision)
        if xp is not None:
            return labels(decision, xp)
        return np.where(decision < 0, -1, 1)

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
        return _rows(X, inlier), None if y is None else _rows(y, inlier)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.array_api_support = True
        tags.input_tags.allow_nan = True
        return tags

    def _update(self, X, sample_weight, *, reset):
        threshold = check_real(
            self.threshold, "threshold", low=0.0, low_inclusive=False
        )
        with rollback_on_error(self):
            # The moments refuse infinity themselves, as in BatchStandardizer.
            X = validate_batch(
                self, X, reset=reset, finite_checked_by_caller=sample_weight is None
            )
            sample_weight = check_sample_weight(sample_weight, X)
            # The batch, validated once here, goes straight into the
            # statistics update of a BatchStandardizer that holds this
            # detector's statistics (arrays that are replaced, never written
            # to), published only once the batch went in. The detector keeps
            # the statistics themselves, plain arrays, not the standardizer.
            standardizer = BatchStandardizer(momentum=self.momentum)
            standardizer._check_params()
            if not reset:
                for name in _STATISTICS:
                    setattr(standardizer, name, getattr(self, name))
            standardizer._update(X, sample_weight)
            for name in _STATISTICS:
                setattr(self, name, getattr(standardizer, name))
            self.offset_ = -threshold
        return self


def _rows(data, keep):
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
