"""SVDWhitener: decorrelate and scale to unit variance, five ways."""

import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin, OneToOneFeatureMixin

from ._backend import backend_of
from ._base import BatchTransformer, DerivedOnUse
from ._numerics import check_spread_in_range
from ._stats import Factor, SecondMoments
from ._validation import check_bool, check_int, check_real
from ._whitening import METHODS, whitening

_SOLVERS = ("covariance", "qr")
# The attributes derived from the statistics (lazily after partial_fit).
_DERIVED = (
    "whitening_matrix_",
    "dewhitening_matrix_",
    "components_",
    "explained_variance_",
)


class SVDWhitener(ClassNamePrefixFeaturesOutMixin, DerivedOnUse, BatchTransformer):
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

    solver : {"covariance", "qr"}, default="covariance"
        What the fit keeps and derives the map from:

        - ``"covariance"``: the covariance matrix (equilibrated), the fastest.
          Its eigenvalues have the squared condition number of the centred
          data, so it keeps about ``16 - 2 log10(cond(X))`` significant
          digits, and warns when fewer than 6 are left.
        - ``"qr"``: the triangular factor ``R`` of the centred data
          (``R' R`` the covariance), from which every method is derived by
          singular values, never through the covariance: about ``16 -
          log10(cond(X))`` digits, as many as an SVD of the data keeps, also
          streamed (batches merge by a small QR), on Dask and on other array
          namespaces. It costs a fit of the covariance on well-conditioned
          data and a few times that on ill-conditioned data (see Notes).

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

    With ``solver="qr"`` the statistics are the mean and the upper
    triangular factor ``R`` of the centred rows, each scaled by the square
    root of its weight (normalized by the total weight, so ``R' R`` is the
    covariance). A batch's ``R`` is computed at the speed of matrix
    products: the Cholesky factor of the batch's covariance where every
    eigenvalue of its correlation matrix is within a factor 64 of the
    largest (then within a few bits of a Householder QR); otherwise a second
    pass over the batch reads the directions of the smaller eigenvalues
    from the centred rows projected on them, where nothing cancels (a
    Rayleigh-Ritz step), and the Cholesky factor of the Gram matrix so
    completed, rotated back, is made triangular (singular rows too: their
    null directions come out at the rounding level). Batches, Dask chunks and
    devices merge by a QR of the two factors stacked on the step between
    the means (Chan, Golub & LeVeque's update, as a row). The five maps
    come from the singular value decomposition of ``R`` with its columns
    scaled to unit norm (the correlation matrix's factor) and from ``R``
    itself (Cholesky), and a direction is null when its singular value is
    within the rounding of the factorization (``n * 2.2e-16`` of the
    largest) and of the data
    themselves (their dtype's unit roundoff times each feature's magnitude
    over its spread): the rank is then that of the data, not of their
    squares. ``covariance_`` is ``R' R``, for reading only.

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

    Two nearly collinear features (condition number about 1e9): the
    triangular factor whitens them as accurately as an SVD of the data,
    where the covariance has lost its digits:

    >>> a, b = rng.normal(size=(2, 2000))
    >>> X_near = np.column_stack([a, a + 1e-9 * b])
    >>> Z = SVDWhitener(solver="qr").fit_transform(X_near)
    >>> bool(np.abs(np.cov(Z, rowvar=False, ddof=0) - np.eye(2)).max() < 1e-5)
    True
    """

    _statistic = SecondMoments

    def __init__(
        self,
        *,
        method="zca",
        n_components=None,
        eps=0.0,
        solver="covariance",
        copy=True,
    ):
        self.method = method
        self.n_components = n_components
        self.eps = eps
        self.solver = solver
        self.copy = copy

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
        if self._method().one_to_one:
            return OneToOneFeatureMixin.get_feature_names_out(self, input_features)
        return ClassNamePrefixFeaturesOutMixin.get_feature_names_out(
            self, input_features
        )

    @property
    def _n_features_out(self):
        """Number of output features, for ``get_feature_names_out``."""
        return self.n_components_

    @property
    def _n_outputs(self):
        return self.n_components_

    def _method(self):
        if not isinstance(self.method, str) or self.method not in METHODS:
            raise ValueError(
                f"method must be one of {', '.join(map(repr, METHODS))}; "
                f"got {self.method!r}."
            )
        return METHODS[self.method]

    def _check_params(self):
        method = self._method()
        if self.n_components is not None:
            check_int(self.n_components, "n_components", low=1)
        check_real(self.eps, "eps", low=0.0)
        if not isinstance(self.solver, str) or self.solver not in _SOLVERS:
            raise ValueError(
                f"solver must be one of {', '.join(map(repr, _SOLVERS))}; "
                f"got {self.solver!r}."
            )
        check_bool(self.copy, "copy")
        return method

    def _check_n_components(self, n_features, method):
        if self.n_components is None:
            return n_features
        if self.n_components > n_features:
            raise ValueError(
                f"n_components={self.n_components} must be at most the number of "
                f"features, {n_features}."
            )
        if method.full_rank_only and self.n_components != n_features:
            raise ValueError(
                f"{method.title} whitening keeps every component: n_components "
                f"must be None or n_features ({n_features}); got "
                f"{self.n_components}."
            )
        return self.n_components if method.reduces_output else n_features

    def _fit_options(self, weighted):
        # The scatter's own pass finds NaN and infinity (see _accumulate).
        return {"allow_nan": False, "finite_checked_by_caller": True}

    def _accumulate(self, backend, X, sample_weight, state, method):
        if state is None:
            # The sample count comes before n_components, so that fitting one
            # sample always says so.
            observed = (
                X.shape[0]
                if sample_weight is None
                else backend.count_positive(sample_weight)
            )
            if observed < 2:
                raise ValueError(
                    f"{type(self).__name__} needs at least 2 samples to estimate a "
                    f"covariance; got {observed} sample"
                    f"{'' if observed == 1 else 's'} (1 sample has no spread)."
                )
        self._check_n_components(X.shape[1], method)
        # As in BatchStandardizer: statistics kept about a fixed point near
        # the data keep every digit of their means across merges.
        qr = self.solver == "qr"
        if state is not None and isinstance(state, Factor) != qr:
            kept = "qr" if isinstance(state, Factor) else "covariance"
            raise ValueError(
                f"partial_fit continues a fit made with solver={kept!r}, whose "
                f"statistics solver={self.solver!r} cannot merge; call fit to "
                "start afresh."
            )
        statistic = backend.factor if qr else backend.scatter
        batch = statistic(X, sample_weight, None if state is None else state.origin)
        if not np.isfinite(batch.variance).all():
            # A NaN or infinity in X makes the scatter non-finite: X is read
            # once for both.
            backend.refuse_non_finite(self, X)
        check_spread_in_range(
            batch.variance,
            lambda columns: backend.extrema(backend.columns(X, columns), sample_weight),
            type(self).__name__,
        )
        return batch if state is None else state.merge(batch)

    _derived_on_use = _DERIVED

    def _derive(self, statistics, method):
        n_features = statistics.mean.shape[0]
        return {
            "mean_": statistics.full_mean,
            "covariance_": statistics.covariance,
            "n_components_": self._check_n_components(n_features, method),
            # An int until weights come: the number of rows.
            "n_samples_seen_": statistics.weight,
            **self._deferred(),
        }

    def _derive_on_use(self):
        """The maps, as arrays of the namespace and device of the fit."""
        statistics = self._statistics
        n_samples = self.n_samples_seen_
        maps = whitening(
            statistics.covariance,
            self._check_params(),
            self.n_components,
            self.eps,
            mean=statistics.full_mean,
            n_samples=n_samples if isinstance(n_samples, int) else None,
            factor=statistics if isinstance(statistics, Factor) else None,
        )
        derived = (maps.matrix, maps.inverse, maps.components, maps.explained_variance)
        return backend_of(self.mean_).publish(dict(zip(_DERIVED, derived, strict=True)))

    def _forward(self, backend, X, copy):
        # Read only: the map writes into a new array, or in place into X
        # itself (see the backend's output), never into a copy of X.
        X_valid = backend.validate(self, X, reset=False, allow_nan=False)
        return backend.linear(
            X_valid,
            before=self.mean_,
            matrix=self.whitening_matrix_,
            after=0.0,
            out=backend.output(X, X_valid, copy=copy, n_columns=self.n_components_),
        )

    def _backward(self, backend, X, copy):
        X_valid = backend.validate(
            self, X, reset=False, inverse_of=self.n_components_, allow_nan=False
        )
        return backend.linear(
            X_valid,
            before=0.0,
            matrix=self.dewhitening_matrix_,
            after=self.mean_,
            out=backend.output(X, X_valid, copy=copy, n_columns=self.n_features_in_),
        )
