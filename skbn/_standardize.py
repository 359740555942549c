"""BatchStandardizer: z-scores with BatchNorm-style running statistics."""

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin

from ._affine import affine_forward, affine_inverse
from ._array_api import follows_namespace, total
from ._callbacks import CallbackSupportMixin, batch_task, fit_task, n_rows
from ._dask import (
    each_chunk,
    is_dask_array,
    map_rows,
    maps_dask_chunks,
    rechunk_rows,
)
from ._numerics import check_representable_variance, scale_from_variance
from ._stats import Moments, exponential_moving_update
from ._validation import (
    check_bool,
    check_fitted,
    check_int,
    check_per_feature,
    check_real,
    check_sample_weight,
    output_for,
    reject_sparse_centering,
    rollback_on_error,
    validate_batch,
    validate_inverse_input,
)


class BatchStandardizer(
    CallbackSupportMixin, OneToOneFeatureMixin, TransformerMixin, BaseEstimator
):
    """Standardize features to z-scores, with BatchNorm-style running statistics.

    Each feature is mapped to::

        y = gamma * (x - mean_) / scale_ + beta,    scale_ = sqrt(var_ + eps)

    With the defaults this is scikit-learn's
    :class:`~sklearn.preprocessing.StandardScaler`: exact population
    statistics, streamed through :meth:`partial_fit` with any split of the data
    giving the result of one :meth:`fit`. With ``momentum`` set it keeps
    running statistics as PyTorch's ``BatchNorm1d`` does, and
    :meth:`partial_fit_transform` is BatchNorm's training-mode forward pass
    while :meth:`transform` is its inference-mode pass.

    Read more in the :ref:`User Guide <batch_standardizer>`.

    Parameters
    ----------
    momentum : float in (0, 1] or None, default=None
        ``None``: exact cumulative statistics. A float: running statistics.
        The first batch sets ``mean_`` and ``var_`` exactly (``var_`` to its
        unbiased variance); every later batch updates them as PyTorch's
        ``BatchNorm1d`` does::

            mean_ = (1 - momentum) * mean_ + momentum * batch_mean
            var_  = (1 - momentum) * var_  + momentum * batch_var_unbiased

        PyTorch's default is ``momentum=0.1``. Keras' ``momentum`` weights the
        old value instead: Keras ``momentum=0.99`` is ``momentum=0.01`` here.
        In this mode every batch needs at least 2 samples.

    eps : float >= 0, default=0.0
        Added to ``var_`` under the square root. ``eps=1e-5`` reproduces
        BatchNorm. With ``eps=0`` a constant feature gets ``scale_ = 1``, as
        in StandardScaler: one whose standard deviation is within the
        rounding of its mean, ``std <= 4 * 2.2e-16 * abs(mean_)``, whatever
        the number of samples (such as a column of ``0.3`` and
        ``0.1 + 0.2``). With ``eps > 0`` there is no such test.

    with_mean : bool, default=True
        Subtract the mean. ``False`` allows scipy.sparse CSR/CSC input, which
        is then only scaled.

    with_std : bool, default=True
        Divide by ``scale_``.

    gamma : float or array-like of shape (n_features,), default=1.0
        BatchNorm's scale, multiplied into the standardized output.

    beta : float or array-like of shape (n_features,), default=0.0
        BatchNorm's shift, added to the output. Must be 0 for sparse input.

    batch_size : int or None, default=None
        With ``momentum``, :meth:`fit` feeds ``X`` as consecutive batches of
        this many rows (BatchNorm's training pass over a data set); a single
        leftover row joins the last batch, since one sample has no unbiased
        variance. ``None``: ``X`` is one batch. Without ``momentum`` the
        batches give the same statistics as one batch.

    copy : bool, default=True
        If False, :meth:`transform`, :meth:`inverse_transform` and
        :meth:`partial_fit_transform` work in place when ``X`` is a float
        ndarray of the working dtype; otherwise a copy is made silently.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
        Per-feature mean: the exact weighted mean of the data seen, or the
        running mean with ``momentum``. NaN for a feature that has had no
        observed value. Computed even when ``with_mean=False``.

    var_ : ndarray of shape (n_features,)
        Per-feature variance: the population variance (ddof=0) of the data
        seen, or, with ``momentum``, the running average of unbiased batch
        variances. Computed even when ``with_std=False``. With
        ``momentum=None``, ``inf`` (or 0) for a feature whose variance is
        beyond float64's range (a standard deviation above about 1e154, or
        below about 1e-154); ``scale_`` is exact there.

    scale_ : ndarray of shape (n_features,)
        What :meth:`transform` divides by: ``sqrt(var_ + eps)`` (with
        ``eps=0``, the exact standard deviation, also where ``var_`` is
        ``inf`` or 0), or 1 for a constant feature when ``eps=0``. All ones
        when ``with_std=False``.

    n_samples_seen_ : int, float or ndarray of shape (n_features,)
        Number of samples processed (the sum of the weights when
        ``sample_weight`` was given). One number when no value was missing;
        where values were missing (NaN), an array of per-feature counts,
        unless they are all equal (as in StandardScaler). Reset by
        :meth:`fit`, increased by :meth:`partial_fit`.

    n_batches_seen_ : int
        Number of batches processed.

    n_features_in_ : int
        Number of features seen during :meth:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :meth:`fit`. Defined only when `X`
        has feature names that are all strings.

    See Also
    --------
    sklearn.preprocessing.StandardScaler : The same map without running
        statistics, ``gamma``, ``beta`` or ``eps``.

    Notes
    -----
    Statistics are accumulated in float64 for float32 input too, block by
    block, each block by the corrected two-pass algorithm and the blocks and
    batches merged pairwise (Chan, Golub & LeVeque 1983). The moments of
    each feature are kept about an origin near its data, set by the first
    values that observe it (rows in which it is NaN or of weight 0 do not
    count), in streams and in Dask chunks alike, so that no digits are lost
    far from zero: on ``1e9 + N(0, 1)``, streamed in 1000-row batches,
    fitted as a dask array, or first observed in a later batch, ``var_``
    agrees with the exact value to about 1e-12 relative. Output keeps the
    input's float dtype, float16 included, as in StandardScaler.

    A feature is constant when its standard deviation is within four units
    in the last place of its mean (``std <= 4 * 2.2e-16 * abs(mean_)``):
    values that differ by so little are what rounding makes of one number.
    The test does not grow with the number of samples, unlike
    StandardScaler's, which calls ``1e9 + N(0, 1)`` constant after about
    4.5e6 rows (or 1000 rows with weights of 1e4).

    Squares overflow float64 above about 1e154 and underflow below about
    1e-154. With ``momentum=None``, a feature whose squared deviations
    leave that range is summed again divided by a power of two (which is
    exact), so that ``mean_``, ``scale_`` and the output are as accurate as
    for data of ordinary size (for data such as ``N(0, 1) * 1e200`` or
    ``* 1e-200``, values up to 1.7e308, weights up to 1e300), while
    ``var_`` is ``inf`` (or 0) where the variance is beyond float64's range.
    With ``momentum``, whose ``var_`` must hold the variance, such a batch
    raises a ValueError naming the features. Sample weights whose total
    overflows float64 raise a ValueError.

    NaN values are ignored when fitting, per feature, and kept as NaN by
    :meth:`transform`. With ``momentum``, a batch in which a feature has fewer
    than 2 observed values leaves that feature's running statistics unchanged.

    ``sample_weight`` are frequency weights: an integer weight is the same as
    repeating the row, and a row of weight 0 is absent.

    :meth:`fit` and :meth:`partial_fit` are all-or-nothing: a call that raises
    leaves every fitted attribute as it was.

    A dask array X is fitted chunk by chunk on the workers, its statistics
    merged as ``partial_fit`` merges batches (see :ref:`scaling`), and
    :meth:`transform` returns a lazy dask array. With ``momentum`` the
    result depends on the order of the batches: a dask array given to
    :meth:`partial_fit` is one batch, as a numpy array is, and :meth:`fit`
    with ``batch_size`` takes its batches in row order, so both give what
    they give on the same numpy array.

    The examples :ref:`sphx_glr_auto_examples_plot_standardization.py`,
    :ref:`sphx_glr_auto_examples_plot_learning_rate.py`,
    :ref:`sphx_glr_auto_examples_plot_running_statistics.py`,
    :ref:`sphx_glr_auto_examples_plot_hidden_layer_batchnorm.py` and
    :ref:`sphx_glr_auto_examples_plot_streaming.py` show it at work.

    References
    ----------
    .. [1] S. Ioffe and C. Szegedy, "Batch Normalization: Accelerating Deep
       Network Training by Reducing Internal Covariate Shift", ICML 2015,
       arXiv:1502.03167.
    .. [2] T. F. Chan, G. H. Golub and R. J. LeVeque, "Algorithms for
       computing the sample variance: analysis and recommendations", The
       American Statistician 37(3), 1983.

    Examples
    --------
    >>> import numpy as np
    >>> from skbn import BatchStandardizer
    >>> X = np.array([[0.0, 10.0], [2.0, 10.0], [4.0, 10.0], [6.0, 10.0]])
    >>> scaler = BatchStandardizer().fit(X)
    >>> scaler.mean_, scaler.var_, scaler.scale_
    (array([ 3., 10.]), array([5., 0.]), array([2.23606798, 1.        ]))
    >>> scaler.transform([[3.0, 12.0]])
    array([[0., 2.]])

    Streaming the same rows in two batches gives the same statistics:

    >>> stream = BatchStandardizer()
    >>> stream = stream.partial_fit(X[:1]).partial_fit(X[1:])
    >>> stream.mean_, stream.var_
    (array([ 3., 10.]), array([5., 0.]))

    With ``momentum`` the statistics follow BatchNorm's running average:

    >>> bn = BatchStandardizer(momentum=0.1, eps=1e-5)
    >>> bn = bn.partial_fit(X).partial_fit(X + 10)
    >>> bn.mean_
    array([ 4., 11.])
    >>> bn.partial_fit_transform(X).round(3)  # training mode: batch statistics
    array([[-1.342,  0.   ],
           [-0.447,  0.   ],
           [ 0.447,  0.   ],
           [ 1.342,  0.   ]])
    """

    # Statistics are float64 whatever X's dtype; the output keeps X's float
    # dtype, float16 included, as scikit-learn's scalers do.
    _kept_float_dtypes = (np.float64, np.float32, np.float16)

    def __init__(
        self,
        *,
        momentum=None,
        eps=0.0,
        with_mean=True,
        with_std=True,
        gamma=1.0,
        beta=0.0,
        batch_size=None,
        copy=True,
    ):
        self.momentum = momentum
        self.eps = eps
        self.with_mean = with_mean
        self.with_std = with_std
        self.gamma = gamma
        self.beta = beta
        self.batch_size = batch_size
        self.copy = copy

    @follows_namespace
    @fit_task(subtasks=lambda self, X: self._n_batch_subtasks(X))
    def fit(self, X, y=None, sample_weight=None):
        """Compute the statistics of X, forgetting any earlier ones.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The data. Sparse CSR/CSC input needs ``with_mean=False``.

        y : None
            Ignored.

        sample_weight : array-like of shape (n_samples,), default=None
            Frequency weights of the samples.

        Returns
        -------
        self : object
            Fitted scaler.
        """
        self._check_params()
        with rollback_on_error(self):
            self._reset()
            X = self._validate_fit_input(
                X, reset=True, weighted=sample_weight is not None
            )
            sample_weight = check_sample_weight(sample_weight, X)
            batches = self._fit_batches(X.shape[0])
            precomputed = [None] * len(batches)
            if is_dask_array(X) and len(batches) > 1:
                # Every batch's moments in one compute, a chunk each, then
                # the running update over them in row order.
                X, sample_weight = rechunk_rows(
                    X, sample_weight, [rows.stop - rows.start for rows in batches]
                )
                precomputed = each_chunk(_batch_moments, X, sample_weight, None)
            for rows, batch in zip(batches, precomputed, strict=True):
                weight = None if sample_weight is None else sample_weight[rows]
                with batch_task(self, X[rows, ...], weight):
                    self._update(X[rows, ...], weight, precomputed=batch)
        return self

    @follows_namespace
    @fit_task()
    def partial_fit(self, X, y=None, sample_weight=None):
        """Update the statistics with one batch of samples.

        The first call starts the statistics; later calls merge each batch
        into them exactly (``momentum=None``) or by the running-average rule.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A batch of data. Sparse CSR/CSC input needs ``with_mean=False``.

        y : None
            Ignored.

        sample_weight : array-like of shape (n_samples,), default=None
            Frequency weights of the samples.

        Returns
        -------
        self : object
            Fitted scaler.
        """
        self._check_params()
        with rollback_on_error(self):
            X = self._validate_fit_input(
                X, reset=not self._is_started(), weighted=sample_weight is not None
            )
            self._update(X, check_sample_weight(sample_weight, X))
        return self

    @follows_namespace
    @fit_task()
    def partial_fit_transform(self, X, y=None, sample_weight=None):
        """BatchNorm's training-mode forward pass over one batch.

        Updates the statistics with ``X`` as :meth:`partial_fit` does, then
        standardizes ``X`` by its *own* batch statistics: the batch mean and
        the biased batch variance plus ``eps`` (Ioffe & Szegedy, Algorithm
        1), followed by ``gamma`` and ``beta``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A batch of data.

        y : None
            Ignored.

        sample_weight : array-like of shape (n_samples,), default=None
            Frequency weights of the samples, used for the update and for the
            batch statistics.

        Returns
        -------
        X_tr : {ndarray, sparse matrix} of shape (n_samples, n_features)
            ``X`` standardized by its batch statistics. Like scikit-learn's
            ``set_output``, which configures :meth:`transform` and
            :meth:`fit_transform` only, this always returns an array.
        """
        self._check_params()
        with rollback_on_error(self):
            X_valid = self._validate_fit_input(
                X,
                reset=not self._is_started(),
                copy=self.copy,
                weighted=sample_weight is not None,
            )
            batch = self._update(X_valid, check_sample_weight(sample_weight, X_valid))
        mean, var, std = batch.summary()
        scale = scale_from_variance(var, mean, self.eps, std=std)
        affine = self._affine(mean, scale)
        if is_dask_array(X_valid):
            return map_rows(_forward_copy, X_valid, affine)
        return affine_forward(
            X_valid, **affine, out=output_for(X, X_valid, copy=self.copy)
        )

    @maps_dask_chunks()
    @follows_namespace
    def transform(self, X, copy=None):
        """Standardize X with the fitted statistics (inference mode).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The data to standardize. NaN stays NaN.

        copy : bool, default=None
            Copy X (the default ``None`` follows the ``copy`` parameter).

        Returns
        -------
        X_tr : {ndarray, sparse matrix} of shape (n_samples, n_features)
            Transformed data.
        """
        check_fitted(self)
        copy = self.copy if copy is None else copy
        # Copying, the map's own pass looks for infinity (see affine_forward);
        # in place, validation must, before X is touched.
        X_valid = validate_batch(
            self,
            X,
            reset=False,
            accept_sparse=not self.with_mean,
            copy=copy,
            finite_checked_by_caller=copy,
        )
        return self._standardize(
            X_valid, out=output_for(X, X_valid, copy=copy), refuse_infinity=copy
        )

    @maps_dask_chunks()
    @follows_namespace
    def inverse_transform(self, X, copy=None):
        """Map standardized data back to the original scale.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Standardized data.

        copy : bool, default=None
            Copy X (the default ``None`` follows the ``copy`` parameter).

        Returns
        -------
        X_original : {ndarray, sparse matrix} of shape (n_samples, n_features)
            Data on the original scale.
        """
        check_fitted(self)
        copy = self.copy if copy is None else copy
        X_valid = validate_inverse_input(
            self, X, copy=copy, accept_sparse=not self.with_mean
        )
        affine = self._affine(self.mean_, self.scale_)
        if affine["factor"] is not None and (affine["factor"] == 0).any():
            raise ValueError(
                "inverse_transform is undefined where gamma is 0: those features "
                "were mapped to a constant."
            )
        return affine_inverse(X_valid, **affine, out=output_for(X, X_valid, copy=copy))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.array_api_support = True
        tags.input_tags.allow_nan = True
        tags.input_tags.sparse = not self.with_mean
        tags.transformer_tags.preserves_dtype = ["float64", "float32", "float16"]
        return tags

    # The steps below are shared by fit, partial_fit and partial_fit_transform.

    def _check_params(self):
        if self.momentum is not None:
            check_real(
                self.momentum, "momentum", low=0.0, high=1.0, low_inclusive=False
            )
        check_real(self.eps, "eps", low=0.0)
        check_bool(self.with_mean, "with_mean")
        check_bool(self.with_std, "with_std")
        check_bool(self.copy, "copy")
        if self.batch_size is not None:
            check_int(
                self.batch_size, "batch_size", low=1 if self.momentum is None else 2
            )

    def _is_started(self):
        return hasattr(self, "n_samples_seen_")

    def _reset(self):
        fitted = ("mean_", "var_", "scale_", "n_samples_seen_", "n_batches_seen_")
        for name in fitted + ("_moments",):
            if hasattr(self, name):
                delattr(self, name)

    def _validate_fit_input(self, X, *, reset, copy=None, weighted=False):
        # Unweighted, the moments' own pass refuses infinity (with weights, a
        # row of weight 0 would hide it from them).
        X = validate_batch(
            self,
            X,
            reset=reset,
            accept_sparse=True,
            copy=copy,
            finite_checked_by_caller=not weighted,
        )
        if self.with_mean:
            reject_sparse_centering(X, type(self).__name__)
        _, beta = self._gamma_beta(X.shape[1])
        if sparse.issparse(X) and np.any(beta != 0):
            raise ValueError("beta must be 0 for sparse input, which is only scaled.")
        return X

    def _gamma_beta(self, n_features):
        return (
            check_per_feature(self.gamma, "gamma", n_features),
            check_per_feature(self.beta, "beta", n_features),
        )

    def _n_batch_subtasks(self, X):
        """How many batches fit reports to the callbacks: 0 for one batch."""
        self._check_params()
        n_batches = len(self._fit_batches(n_rows(X)))
        return n_batches if n_batches > 1 else 0

    def _fit_batches(self, n_samples):
        if self.batch_size is None or self.batch_size >= n_samples:
            return [slice(0, n_samples)]
        starts = list(range(0, n_samples, self.batch_size))
        if n_samples - starts[-1] == 1:
            starts.pop()
        return [
            slice(a, b) for a, b in zip(starts, starts[1:] + [n_samples], strict=True)
        ]

    def _update(self, X, sample_weight, precomputed=None):
        """Merge one validated batch into the statistics; return its moments.

        ``precomputed``: what :func:`_batch_moments` gives for the batch,
        already computed (by :meth:`fit`, for a dask array).
        """
        started = self._is_started()
        # The exact moments are kept about a point near each feature's data,
        # set when the feature is first observed: a float64 mean_ alone would
        # be rounded at every merge and the rounding squared into var_ for
        # data far from zero.
        state = Moments(**self._moments) if started else None
        batch, weight = precomputed or _batch_moments(
            X, sample_weight, state.anchor if started else None
        )
        if self.momentum is not None:
            _check_unbiased_variance_possible(X.shape[0], weight)
        moments = state.merge(batch) if started else batch
        if not np.isfinite(moments.weight).all():
            raise ValueError(
                "The total sample weight overflows float64 (above 1.8e308); only "
                "the ratios of the weights matter to mean_ and var_: divide them "
                "by a common factor."
            )
        if self.momentum is None:
            mean, var, std = moments.summary()
        else:
            check_representable_variance(batch, "With momentum, var_")
            mean, var = exponential_moving_update(
                self.mean_ if started else np.full(X.shape[1], np.nan),
                self.var_ if started else np.full(X.shape[1], np.nan),
                batch,
                self.momentum,
            )
            std = None
        integer_counts = sample_weight is None and (
            not started or np.asarray(self.n_samples_seen_).dtype.kind == "i"
        )
        # Plain arrays and numbers, so that persisting the estimator (skops)
        # asks to trust nothing but its own class.
        self._moments = dict(vars(moments))
        self.mean_ = mean
        self.var_ = var
        self.scale_ = self._scale(var, mean, std)
        self.n_samples_seen_ = _compact_counts(
            moments.weight, integer_counts, moments.complete
        )
        self.n_batches_seen_ = (self.n_batches_seen_ if started else 0) + 1
        return batch

    def _scale(self, var, mean, std=None):
        """``scale_`` from the statistics: ones when ``with_std=False``."""
        if not self.with_std:
            return np.ones_like(var)
        return scale_from_variance(var, mean, self.eps, std=std)

    def _standardize(self, X, *, out, refuse_infinity=False):
        """The inference-mode map of a validated X, written into ``out``."""
        return affine_forward(
            X,
            **self._affine(self.mean_, self.scale_),
            out=out,
            refuse_infinity=refuse_infinity,
        )

    def _affine(self, mean, scale):
        """The forward map's parameters from a mean and a scale."""
        gamma, beta = self._gamma_beta(mean.shape[0])
        factor = gamma / scale if self.with_std else gamma
        return {
            "shift": mean if self.with_mean else None,
            "factor": None if (factor == 1).all() else factor,
            "offset": None if (beta == 0).all() else beta,
        }


def _forward_copy(X, affine):
    return affine_forward(X, **affine, out=np.empty_like(X))


def _batch_moments(X, sample_weight, origin):
    """The moments of a batch, measured from ``origin`` (None or NaN: a point
    near the data), and the batch's total weight (None without weights)."""
    weight = None if sample_weight is None else total(sample_weight)
    return Moments.from_batch(X, sample_weight, origin), weight


def _check_unbiased_variance_possible(n_samples, weight):
    # The messages do not name the estimator: ZScoreOutlierDetector raises
    # them too, through the BatchStandardizer it owns.
    if n_samples < 2:
        raise ValueError(
            "With momentum, got a batch of 1 sample; a batch needs at least 2 "
            "samples to estimate an unbiased variance."
        )
    if weight is not None and weight <= 1:
        raise ValueError(
            "With momentum, the sample weights of a batch must sum to more than 1 "
            "to estimate an unbiased variance."
        )


def _compact_counts(counts, integer, complete):
    """Per-feature counts as StandardScaler reports them: one number when no
    value was missing (every feature then has the same count, exactly, not
    sums that differ in their last bits) or when the counts are equal
    anyway; an array otherwise."""
    counts = counts.astype(np.int64) if integer else counts
    return counts[0] if complete or (counts == counts[0]).all() else counts


def from_running_statistics(*, mean, var, n_batches_seen, momentum, eps, gamma, beta):
    """A fitted BatchStandardizer holding given running statistics.

    What a BatchNorm layer stores (``running_mean``, ``running_var``,
    ``num_batches_tracked``, ``eps``, ``momentum``, the affine ``weight`` and
    ``bias``) is the state of a BatchStandardizer in momentum mode, less the
    number of samples behind it, which it does not record:
    ``n_samples_seen_`` starts at 0 and counts the samples fitted from then
    on. Later batches (``partial_fit``) update the running statistics as the
    layer's training steps would.
    """
    mean = np.array(mean, dtype=np.float64)
    var = np.array(var, dtype=np.float64)
    est = BatchStandardizer(momentum=momentum, eps=eps, gamma=gamma, beta=beta)
    est._check_params()
    n_features = mean.shape[0]
    est._gamma_beta(n_features)  # the same checks as a fit's
    est.n_features_in_ = n_features
    empty = np.zeros(n_features)
    est._moments = dict(vars(Moments(weight=empty, mean=empty, m2=empty)))
    est.mean_ = mean
    est.var_ = var
    est.scale_ = est._scale(var, mean)
    est.n_samples_seen_ = 0
    est.n_batches_seen_ = int(n_batches_seen)
    return est
