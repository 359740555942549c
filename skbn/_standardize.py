"""BatchStandardizer: z-scores with BatchNorm-style running statistics."""

import math

import numpy as np
from sklearn.base import OneToOneFeatureMixin

from ._base import BatchTransformer
from ._callbacks import fit_task
from ._numerics import scale_from_variance
from ._stats import RunningMoments
from ._validation import (
    check_bool,
    check_int,
    check_per_feature,
    check_real,
)


class BatchStandardizer(OneToOneFeatureMixin, BatchTransformer):
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
    _statistic = RunningMoments

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
        backend, X_valid, state = self._partial_fit(X, sample_weight, copy=self.copy)
        mean, var, std = state.batch.summary()
        scale = scale_from_variance(var, mean, self.eps, std=std)
        self._check_params()
        shift, factor, offset = self._map(mean, scale).values()
        return backend.affine(
            X_valid,
            shift=shift,
            factor=factor,
            offset=offset,
            out=backend.output(X, X_valid, copy=self.copy),
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = not self.with_mean
        return tags

    @property
    def _transform_options(self):
        return {"accept_sparse": self._sparse_accepted()}

    def _sparse_accepted(self):
        """True, or why a sparse X cannot be standardized."""
        if self.with_mean:
            return (
                "cannot center sparse matrices (the result would be dense): pass "
                "with_mean=False"
            )
        beta = self.beta
        if (beta != 0) if type(beta) is float else np.any(np.asarray(beta) != 0):
            return "needs beta=0 for sparse input, which is only scaled"
        return True

    def _check_params(self):
        if self.momentum is not None:
            check_real(
                self.momentum, "momentum", low=0.0, high=1.0, low_inclusive=False
            )
        check_bool(self.with_mean, "with_mean")
        check_bool(self.with_std, "with_std")
        check_bool(self.copy, "copy")
        if self.batch_size is not None:
            check_int(
                self.batch_size, "batch_size", low=1 if self.momentum is None else 2
            )
        check_real(self.eps, "eps", low=0.0)

    def _fit_options(self, weighted):
        return {
            **super()._fit_options(weighted),
            "accept_sparse": self._sparse_accepted(),
        }

    def _fit_batches(self, n_samples, params):
        if self.batch_size is None or self.batch_size >= n_samples:
            return [slice(0, n_samples)]
        starts = list(range(0, n_samples, self.batch_size))
        if n_samples - starts[-1] == 1:  # one sample has no unbiased variance
            starts.pop()
        return [
            slice(a, b) for a, b in zip(starts, starts[1:] + [n_samples], strict=True)
        ]

    def _accumulate(self, backend, X, sample_weight, state, params):
        return update_running_moments(backend, X, sample_weight, state, self.momentum)

    def _derive(self, state, params):
        scale = state.scale(self.eps) if self.with_std else np.ones_like(state.var)
        return {**state.attributes(scale), **self._map(state.mean, scale)}

    def _map(self, mean, scale):
        """The affine map ``(x - mean) * gamma / scale + beta`` as the
        skeleton applies it (without the steps that would change nothing)."""
        gamma, beta = self.gamma, self.beta
        if self.with_std and type(gamma) is type(beta) is float and beta == 0.0:
            # The usual case, at every partial_fit: scalars, no checks needed
            # beyond finiteness.
            if math.isfinite(gamma):
                return {
                    "_shift": mean if self.with_mean else None,
                    "_factor": gamma / scale,
                    "_offset": None,
                }
        gamma, beta = self._per_feature(mean.shape[0])
        if self.with_std:
            factor = gamma / scale
        else:
            factor = gamma if (gamma != 1).any() else None
        return {
            "_shift": mean if self.with_mean else None,
            "_factor": factor,
            "_offset": beta if beta.any() else None,
        }

    def _per_feature(self, n_features):
        return (
            check_per_feature(self.gamma, "gamma", n_features),
            check_per_feature(self.beta, "beta", n_features),
        )

    def _backward(self, backend, X, copy):
        self._check_params()
        gamma, _ = self._per_feature(self.n_features_in_)
        if not gamma.all():
            raise ValueError(
                "inverse_transform is undefined where gamma is 0: those features "
                "were mapped to a constant."
            )
        return super()._backward(backend, X, copy)


def update_running_moments(backend, X, sample_weight, state, momentum):
    """A batch merged into running moments (``state`` None: the first).

    BatchStandardizer and ZScoreOutlierDetector keep theirs this way. The
    exact moments are kept about a point near each feature's data, set when
    the feature is first observed: a float64 mean alone would be rounded at
    every merge and the rounding squared into the variance for data far
    from zero.
    """
    if momentum is not None:
        _check_unbiased_variance_possible(backend, X.shape[0], sample_weight)
    if state is None:
        state = RunningMoments.empty(X.shape[1])
    origin = state.moments.anchor if state.n_batches else None
    batch = backend.moments(X, sample_weight, origin)
    return state.update(batch, momentum, weighted=sample_weight is not None)


def _check_unbiased_variance_possible(backend, n_samples, sample_weight):
    # The messages do not name the estimator: ZScoreOutlierDetector raises
    # them too.
    if n_samples < 2:
        raise ValueError(
            "With momentum, got a batch of 1 sample; a batch needs at least 2 "
            "samples to estimate an unbiased variance."
        )
    if sample_weight is not None and backend.total(sample_weight) <= 1:
        raise ValueError(
            "With momentum, the sample weights of a batch must sum to more than 1 "
            "to estimate an unbiased variance."
        )


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
    params = est._check_params()
    empty = RunningMoments.empty(mean.shape[0])
    state = RunningMoments(
        moments=empty.moments, mean=mean, var=var, n_batches=int(n_batches_seen)
    )
    est.n_features_in_ = mean.shape[0]
    est._statistics = state
    vars(est).update(est._derive(state, params))
    est._fitted_on = None
    return est
