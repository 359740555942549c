"""SVDWhitener: decorrelate and scale to unit variance, five ways."""

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    OneToOneFeatureMixin,
    TransformerMixin,
)

from ._affine import linear_forward, linear_inverse
from ._array_api import (
    as_host,
    count_positive,
    follows_namespace,
    foreign_namespace,
    like,
)
from ._callbacks import CallbackSupportMixin, fit_task
from ._dask import maps_dask_chunks
from ._numerics import check_spread_in_range
from ._stats import Scatter
from ._validation import (
    check_bool,
    check_fitted,
    check_int,
    check_real,
    check_sample_weight,
    refuse_non_finite,
    rollback_on_error,
    validate_batch,
    validate_inverse_input,
)
from ._whitening import METHODS, ONE_TO_ONE_METHODS, whitening

# The attributes derived from the statistics, lazily after partial_fit.
_DERIVED = (
    "whitening_matrix_",
    "dewhitening_matrix_",
    "components_",
    "explained_variance_",
)


class SVDWhitener(
    CallbackSupportMixin,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    BaseEstimator,
):
    r"""Whiten data: decorrelate the features and scale them to unit variance.

    Rows are mapped to

    .. math::

        z = (x - \mu) W, \qquad W W^\top = \Sigma^{-1},

    so that the output has the identity as covariance on the training data.
    Whitening is unique only up to a rotation; ``method`` picks one of the
    five optimal ones of Kessy, Lewin & Strimmer (2018) [1]_. With the
    eigendecompositions of the covariance, :math:`\Sigma = U \Lambda
    U^\top`, and of the correlation matrix, :math:`P = V^{-1/2} \Sigma
    V^{-1/2} = G \Theta G^\top` (:math:`V` the diagonal of variances), the
    ``whitening_matrix_`` :math:`W` is

    .. math::

        W_{\mathrm{ZCA}} &= U \Lambda^{-1/2} U^\top = \Sigma^{-1/2} \\
        W_{\mathrm{PCA}} &= U \Lambda^{-1/2} \\
        W_{\mathrm{Chol}} &= L^{-\top}, \quad \Sigma = L L^\top \\
        W_{\mathrm{ZCA\text{-}cor}} &= V^{-1/2} G \Theta^{-1/2} G^\top \\
        W_{\mathrm{PCA\text{-}cor}} &= V^{-1/2} G \Theta^{-1/2}

    (the transposes of the paper's matrices, which act on columns).

    Read more in the :ref:`User Guide <svd_whitener>`.

    Parameters
    ----------
    method : {"zca", "pca", "cholesky", "zca_cor", "pca_cor"}, default="zca"
        - ``"zca"`` (Mahalanobis whitening): the output closest to the
          centred input, in mean squared distance.
        - ``"pca"``: the principal components, scaled to unit variance; the
          first components compress the most variance.
        - ``"cholesky"``: triangular, so output ``j`` depends only on inputs
          ``1..j``; depends on the order of the features.
        - ``"zca_cor"``: the output closest to the standardized input (most
          correlated with it), recommended by Kessy et al. for whitened
          variables that stay like the original ones.
        - ``"pca_cor"``: principal components of the correlation matrix,
          recommended by Kessy et al. to compress standardized variables.

    n_components : int or None, default=None
        ``None``: all. For ``"pca"``/``"pca_cor"``, the output keeps the
        ``n_components`` leading components. For ``"zca"``/``"zca_cor"``, the
        map acts on the ``n_components`` leading principal directions only
        and maps the others to 0, keeping ``n_features`` output columns
        (truncated ZCA, which drops noise directions of image patches). For
        ``"cholesky"``, only ``None`` or ``n_features``.

    eps : float >= 0, default=0.0
        Added to the eigenvalues (to the covariance's diagonal for
        ``"cholesky"``): regularized whitening, which damps directions of
        small variance. With ``eps=0``, null directions are mapped to 0, with
        a warning that names the cause, instead of being divided by a
        rounding error; ``"cholesky"`` raises a ValueError instead. A
        direction is null when its eigenvalue of the correlation matrix is
        at most ``n_features * 2.2e-16`` times the largest one, so that the
        units of the features never decide it: rank-deficient data (fewer
        samples than features, constant or collinear features). An
        ``eps > 0`` regularizes null directions, unless it is itself below
        the rounding level of the largest eigenvalue (``n_features *
        2.2e-16`` times it), which keeps the guard and the warning.

    copy : bool, default=True
        If False, :meth:`transform` and :meth:`inverse_transform` write their
        result into ``X`` when ``X`` is a float ndarray of the working dtype
        and the output has the same shape; otherwise a copy is made silently.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
        Per-feature mean :math:`\mu`.

    covariance_ : ndarray of shape (n_features, n_features)
        Population covariance (ddof=0) :math:`\Sigma`.

    whitening_matrix_ : ndarray of shape (n_features, `n_components_`)
        :math:`W`: ``transform(X) = (X - mean_) @ whitening_matrix_``.

    dewhitening_matrix_ : ndarray of shape (`n_components_`, n_features)
        ``inverse_transform(Z) = Z @ dewhitening_matrix_ + mean_``; the
        inverse of :math:`W` when all components are kept.

    components_ : ndarray of shape (n_directions, n_features)
        Eigenvectors, as rows, of the covariance (of the correlation matrix
        for the ``_cor`` methods), by decreasing eigenvalue, each with a
        positive entry on the diagonal (where that entry is 0, a positive
        largest entry); the retained ones when
        ``n_components`` is set.

    explained_variance_ : ndarray of shape (n_directions,)
        The matching eigenvalues (population, ddof=0; of the correlation
        matrix for the ``_cor`` methods).

    n_components_ : int
        Number of output columns: the kept components for ``"pca"`` and
        ``"pca_cor"``, ``n_features`` for the other methods.

    n_samples_seen_ : int or float
        Number of samples processed (the sum of the weights when
        ``sample_weight`` was given).

    n_features_in_ : int
        Number of features seen during :meth:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :meth:`fit`. Defined only when `X`
        has feature names that are all strings.

    See Also
    --------
    sklearn.decomposition.PCA : ``PCA(whiten=True)`` is ``method="pca"``
        times ``sqrt((n - 1) / n)`` (it whitens with the ddof=1 covariance),
        up to column signs.
    BatchStandardizer : Unit variance per feature, without decorrelating.

    Notes
    -----
    The mean and the centred scatter matrix are accumulated in float64, by
    row blocks measured about an origin near the data and merged pairwise
    (Dask chunks too, each about its own data), so :meth:`partial_fit` over
    any split of the data gives the covariance of one :meth:`fit`, also far
    from zero. Only the ratios of the sample weights enter it.

    :meth:`fit` derives the whitening map at once; :meth:`partial_fit` only
    merges the statistics, and the map (``whitening_matrix_``,
    ``dewhitening_matrix_``, ``components_``, ``explained_variance_``) is
    derived when next needed: by :meth:`transform`,
    :meth:`inverse_transform` or reading one of those attributes, once per
    state. Batches narrower than the data can therefore be streamed with
    every method; a warning about null directions comes once per
    derivation, and a Cholesky map derived while the covariance is still
    singular raises its ValueError then.

    Every decision is taken on the equilibrated covariance (each feature
    divided by its standard deviation: the correlation matrix): which
    features are constant (a standard deviation within
    ``4 * 2.2e-16 * abs(mean_)``), which directions are null, and whether
    the covariance is singular for ``"cholesky"``. Features whose units are
    1e8 apart are thus whitened by every method without a warning. The
    ``_cor`` methods decompose the correlation matrix
    (``numpy.linalg.eigh``); ``"zca"`` and ``"pca"`` decompose the
    covariance, through the singular value decomposition of
    ``D G theta^(1/2)`` (``D`` the standard deviations, ``G theta G'`` the
    correlation matrix) when it is ill-conditioned, so that its small
    eigenvalues stay accurate in any units; ``"cholesky"`` is
    ``D^-1 L^-T`` with ``L`` the Cholesky factor of the correlation matrix.
    ``"zca_cor"``, ``"pca_cor"`` and ``"cholesky"`` give the same output in
    any units; ``"zca"`` and ``"pca"`` depend on the units by definition.

    X whose squares overflow float64 when summed (values of about 1e150 and
    more) raises a ValueError asking to rescale it, and so does a feature
    whose spread is so small (below about 1e-145) that its square
    underflows, unless it is rounding noise (a constant feature).

    Signs are deterministic: as in Kessy et al., the eigenvector matrices
    have a positive diagonal, so the cross-covariance between each output
    and its matching input is positive (for PCA and PCA-cor; it is so by
    construction for the other methods). Where a diagonal entry is exactly
    0, as for uncorrelated features not in decreasing order of variance, the
    eigenvector's largest entry is made positive instead.

    Output keeps float32 input's dtype; float16 input gives float64 output,
    as in PCA: each whitened column mixes every feature, which float16 would
    round once more.

    Missing values (NaN) are refused: a covariance needs complete rows.
    ``fit`` needs at least 2 samples; :meth:`partial_fit` accepts batches of
    one row once it has seen 2.

    ``sample_weight`` are frequency weights: an integer weight is the same
    as repeating the row, and a row of weight 0 is absent.

    The example :ref:`sphx_glr_auto_examples_plot_whitening.py` shows it at
    work, and :ref:`conventions` helps to choose a ``method``.

    References
    ----------
    .. [1] A. Kessy, A. Lewin and K. Strimmer, "Optimal whitening and
       decorrelation", The American Statistician 72(4), 309-314, 2018,
       arXiv:1512.00809.

    Examples
    --------
    >>> import numpy as np
    >>> from skbn import SVDWhitener
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 2)) @ [[2.0, 1.0], [0.0, 0.5]] + [10.0, -3.0]
    >>> whitener = SVDWhitener(method="zca").fit(X)
    >>> Z = whitener.transform(X)
    >>> np.cov(Z, rowvar=False, ddof=0).round(12) + 0.0
    array([[1., 0.],
           [0., 1.]])
    >>> np.allclose(whitener.inverse_transform(Z), X)
    True
    >>> whitener.get_feature_names_out()
    array(['x0', 'x1'], dtype=object)

    PCA whitening keeps the leading components:

    >>> SVDWhitener(method="pca", n_components=1).fit_transform(X).shape
    (500, 1)
    """

    def __init__(self, *, method="zca", n_components=None, eps=0.0, copy=True):
        self.method = method
        self.n_components = n_components
        self.eps = eps
        self.copy = copy

    @follows_namespace
    @fit_task()
    def fit(self, X, y=None, sample_weight=None):
        """Compute the mean, covariance and whitening map of X.

        Earlier statistics are forgotten.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The data, at least 2 samples, without missing values.

        y : None
            Ignored.

        sample_weight : array-like of shape (n_samples,), default=None
            Frequency weights of the samples.

        Returns
        -------
        self : object
            Fitted whitener.
        """
        self._check_params()
        with rollback_on_error(self):
            self._update(X, sample_weight, reset=True)
            self._derive()
        return self

    @follows_namespace
    @fit_task()
    def partial_fit(self, X, y=None, sample_weight=None):
        """Merge a batch into the mean and covariance.

        The whitening map is derived from them when it is next needed (by
        :meth:`transform`, or by reading an attribute such as
        ``whitening_matrix_``), so that batches with fewer rows than
        features can be streamed, and a warning about null directions
        comes once, not with every batch.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            A batch of data without missing values. The first batch needs
            at least 2 samples.

        y : None
            Ignored.

        sample_weight : array-like of shape (n_samples,), default=None
            Frequency weights of the samples.

        Returns
        -------
        self : object
            Fitted whitener.
        """
        self._check_params()
        with rollback_on_error(self):
            self._update(X, sample_weight, reset=not hasattr(self, "_scatter"))
        return self

    @maps_dask_chunks(n_outputs=lambda whitener: whitener.whitening_matrix_.shape[1])
    @follows_namespace
    def transform(self, X, copy=None):
        """Whiten X: ``(X - mean_) @ whitening_matrix_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The data to whiten.

        copy : bool, default=None
            Copy X (the default ``None`` follows the ``copy`` parameter).

        Returns
        -------
        Z : ndarray of shape (n_samples, `n_components_`)
            Whitened data.
        """
        check_fitted(self)
        X_valid = validate_batch(self, X, reset=False, allow_nan=False)
        out = self._output(X, X_valid, self.n_components_, copy)
        return linear_forward(
            X_valid, shift=self.mean_, matrix=self.whitening_matrix_, out=out
        )

    @maps_dask_chunks(n_inputs=lambda whitener: whitener.dewhitening_matrix_.shape[0])
    @follows_namespace
    def inverse_transform(self, X, copy=None):
        """Map whitened data back: ``X @ dewhitening_matrix_ + mean_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, `n_components_`)
            Whitened data.

        copy : bool, default=None
            Copy X (the default ``None`` follows the ``copy`` parameter).

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features)
            Data in the original space; exactly the input of
            :meth:`transform` when every direction was kept.
        """
        check_fitted(self)
        X_valid = validate_inverse_input(
            self, X, copy=None, n_features=self.n_components_, allow_nan=False
        )
        out = self._output(X, X_valid, self.n_features_in_, copy)
        return linear_inverse(
            X_valid, shift=self.mean_, matrix=self.dewhitening_matrix_, out=out
        )

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns.

        ``"zca"``, ``"zca_cor"`` and ``"cholesky"`` map the i-th input to the
        i-th output (its whitened version, most correlated with it), so the
        outputs keep the input names; ``"pca"`` and ``"pca_cor"`` output
        principal components, named ``svdwhitener0``, ``svdwhitener1``, ...

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Input feature names; by default ``feature_names_in_``, or
            ``x0``, ``x1``, ... when fitted without names.

        Returns
        -------
        feature_names_out : ndarray of str objects
            The output names.
        """
        if self.method in ONE_TO_ONE_METHODS:
            return OneToOneFeatureMixin.get_feature_names_out(self, input_features)
        return ClassNamePrefixFeaturesOutMixin.get_feature_names_out(
            self, input_features
        )

    @property
    def _n_features_out(self):
        """Number of output features, for ``get_feature_names_out``."""
        return self.n_components_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.array_api_support = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def _check_params(self):
        if self.method not in METHODS:
            raise ValueError(
                f"method must be one of {', '.join(map(repr, METHODS))}; "
                f"got {self.method!r}."
            )
        if self.n_components is not None:
            check_int(self.n_components, "n_components", low=1)
        check_real(self.eps, "eps", low=0.0)
        check_bool(self.copy, "copy")

    def _check_n_components(self, n_features):
        if self.n_components is None:
            return None
        if self.n_components > n_features:
            raise ValueError(
                f"n_components={self.n_components} must be at most the number of "
                f"features, {n_features}."
            )
        if self.method == "cholesky" and self.n_components != n_features:
            raise ValueError(
                "Cholesky whitening keeps every component: n_components must be "
                f"None or n_features ({n_features}); got {self.n_components}."
            )
        return self.n_components

    def _update(self, X, sample_weight, *, reset):
        """Merge one batch (into a fresh state if ``reset``) and publish."""
        X = validate_batch(
            self, X, reset=reset, allow_nan=False, finite_checked_by_caller=True
        )
        sample_weight = check_sample_weight(sample_weight, X)
        # The sample count comes before n_components, so that fitting one
        # sample always says so.
        observed = (
            X.shape[0] if sample_weight is None else count_positive(sample_weight)
        )
        if reset and observed < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 samples to estimate a "
                f"covariance; got {observed} sample{'' if observed == 1 else 's'}"
                " (1 sample has no spread)."
            )
        n_components = self._check_n_components(X.shape[1])
        # As in BatchStandardizer: statistics kept about a fixed point near
        # the data keep every digit of their means across merges.
        state = None if reset else Scatter(**self._scatter)
        batch = Scatter.from_batch(X, sample_weight, None if reset else state.origin)
        if not np.isfinite(batch.covariance).all():
            # A NaN or infinity in X makes the scatter non-finite: X is read
            # once for both.
            refuse_non_finite(self, X)
        check_spread_in_range(
            X, np.diag(batch.covariance), sample_weight, type(self).__name__
        )
        scatter = batch if reset else state.merge(batch)
        for name in _DERIVED:  # the map of the earlier state, if derived
            self.__dict__.pop(name, None)
        # Plain arrays and numbers, so that persisting the estimator (skops)
        # asks to trust nothing but its own class.
        self._scatter = dict(vars(scatter))
        self.mean_ = scatter.full_mean
        self.covariance_ = scatter.covariance
        self.n_components_ = (
            n_components
            if n_components is not None and self.method.startswith("pca")
            else X.shape[1]
        )
        weight = scatter.weight
        self.n_samples_seen_ = (
            int(weight)
            if sample_weight is None
            and (reset or isinstance(self.n_samples_seen_, int))
            else weight
        )

    def _derive(self):
        """Derive the whitening map from the statistics, and publish it."""
        n_samples = self.n_samples_seen_
        maps = whitening(
            as_host(self.covariance_),
            self.method,
            self.n_components,
            self.eps,
            mean=as_host(self.mean_),
            n_samples=n_samples if isinstance(n_samples, int) else None,
        )
        derived = (maps.matrix, maps.inverse, maps.components, maps.explained_variance)
        for name, value in zip(_DERIVED, derived, strict=True):
            setattr(self, name, like(value, self.covariance_))

    def __getattr__(self, name):
        # Only for attributes not set: after partial_fit, the map is derived
        # on first use.
        if name in _DERIVED and "_scatter" in self.__dict__:
            self._derive()
            return self.__dict__[name]
        raise AttributeError(name)

    def _output(self, X, validated, n_columns, copy):
        """Where to write the result of the map of ``validated`` (from X):
        into X itself when allowed, X being the caller's own float ndarray
        (never a view of a DataFrame's data), shaped like the result.

        None for an array of another namespace: its maps make new arrays.
        """
        if foreign_namespace(validated) is not None:
            return None
        copy = self.copy if copy is None else copy
        in_place = (
            not copy
            and validated is X
            and X.shape[1] == n_columns
            and X.flags.writeable
            and X.dtype in (np.float64, np.float32)
        )
        if in_place:
            return X
        return np.empty((validated.shape[0], n_columns), dtype=validated.dtype)
