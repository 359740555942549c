"""Whitening matrices from a covariance: the five methods of Kessy et al.

Kessy, Lewin & Strimmer (2018) write whitening as ``z = W x`` for column
vectors, with ``W' W = inv(Sigma)``. skbn works on rows, ``z = x @ M`` with
``M = W'``, so every matrix here is the transpose of the paper's ``W``.

With ``Sigma = U diag(lam) U'`` and, for the ``_cor`` methods, the
correlation ``P = V^-1/2 Sigma V^-1/2 = G diag(theta) G'`` (``V`` the
variances):

=========  ======================================  ==========================
method     W (paper)                               M = W' (here)
=========  ======================================  ==========================
zca        U lam^-1/2 U'                           the same (symmetric)
pca        lam^-1/2 U'                             U lam^-1/2
cholesky   inv(L), Sigma = L L'                    inv(L)'
zca_cor    G theta^-1/2 G' V^-1/2                  V^-1/2 G theta^-1/2 G'
pca_cor    theta^-1/2 G' V^-1/2                    V^-1/2 G theta^-1/2
=========  ======================================  ==========================

Eigenvector matrices have a positive diagonal, the paper's sign convention:
the cross-covariance between each output and its matching input is then
positive. Where a diagonal entry is exactly zero, the column's largest entry
is made positive instead.
"""

import inspect
import os
import warnings
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import sklearn
from scipy import linalg

from ._config import one_blas_thread
from ._numerics import EPS, is_constant, null_directions


@dataclass(frozen=True)
class Method:
    """What distinguishes one whitening method from another.

    Everything that depends on the method reads these, code and tests
    alike; adding a method is adding a record.
    """

    name: str
    title: str  # for messages
    correlation: bool  # decompose the correlation matrix, not the covariance
    rotates_back: bool  # the map ends in the input's coordinates (U ... U')
    reduces_output: bool  # n_components keeps that many output columns
    full_rank_only: bool  # a triangular factor: no null direction, no truncation

    @property
    def one_to_one(self):
        """Whether output i is the whitened input i (its name is kept)."""
        return self.rotates_back or self.full_rank_only


METHODS = {
    method.name: method
    for method in (
        Method("zca", "ZCA", False, True, False, False),
        Method("pca", "PCA", False, False, True, False),
        Method("cholesky", "Cholesky", False, False, False, True),
        Method("zca_cor", "ZCA-cor", True, True, False, False),
        Method("pca_cor", "PCA-cor", True, False, True, False),
    )
}
# Below this many features, LAPACK's decompositions gain nothing from BLAS
# threads, which then stay awake, spinning, and slow down whatever runs next:
# a 500,000 x 50 fit after another took 1.5 times as long. (At 1000 features
# one thread takes 1.6 times as long over the eigendecomposition.)
_THREADED_DECOMPOSITION_FEATURES = 512


@dataclass(frozen=True)
class Whitening:
    """A whitening map and what it was derived from."""

    matrix: np.ndarray  # (n_features, n_outputs): z = (x - mean) @ matrix
    inverse: np.ndarray  # (n_outputs, n_features): x = z @ inverse + mean
    components: np.ndarray  # eigenvectors as rows, positive diagonal
    explained_variance: np.ndarray  # their eigenvalues, decreasing


def whitening(covariance, method, n_components, eps, *, mean, n_samples=None):
    """The whitening map of ``method`` (a :class:`Method`) for a population
    covariance.

    ``n_components`` (None for all) keeps the leading principal directions:
    as output columns for ``pca``/``pca_cor``, as the directions a square
    (truncated) map acts on for ``zca``/``zca_cor``. ``eps`` is added to the
    eigenvalues (to the covariance's diagonal for ``cholesky``).

    Every decision is taken on the equilibrated problem, each feature
    divided by its standard deviation, so that units never change it: which
    features are constant (``mean`` gives their magnitude, see
    :mod:`skbn._numerics`), which directions are null (mapped to 0, with a
    warning, instead of being divided by a rounding error), and, for
    ``cholesky``, whether the covariance is singular. ``n_samples`` (the
    number of samples seen, when known) lets the messages name the cause.
    """
    n_features = covariance.shape[0]
    with (
        one_blas_thread()
        if n_features < _THREADED_DECOMPOSITION_FEATURES
        else nullcontext()
    ):
        return _whitening(covariance, method, n_components, eps, mean, n_samples)


def _whitening(covariance, method, n_components, eps, mean, n_samples):
    n_features = covariance.shape[0]
    k = n_features if n_components is None else n_components
    std = np.sqrt(np.maximum(np.diag(covariance), 0.0))
    constant = is_constant(std, mean)
    cause = _cause(n_samples, n_features, constant)
    if method.correlation:
        scale = np.where(constant, 1.0, std)
        values, vectors = _eigh_decreasing(_equilibrated(covariance, scale, constant))
        null = null_directions(values, eps)
    else:
        scale = np.ones(n_features)
        values, vectors, null = _covariance_eigen(covariance, std, constant, eps)
    if method.full_rank_only:
        matrix, inverse = _cholesky(covariance, eps, null, cause)
    else:
        _warn_null(null[:k], n_features, eps, cause)
        shifted = values[:k] + eps
        with np.errstate(divide="ignore"):
            inv_sqrt = np.where(null[:k], 0.0, 1.0 / np.sqrt(shifted))
        root = np.where(null[:k], 0.0, np.sqrt(shifted))
        kept = vectors[:, :k]
        matrix = kept * inv_sqrt
        inverse = (kept * root).T
        if method.rotates_back:
            matrix = matrix @ kept.T
            inverse = kept @ inverse
        matrix = matrix / scale[:, None]
        inverse = inverse * scale
    return Whitening(
        matrix=matrix,
        inverse=inverse,
        components=vectors[:, :k].T.copy(),
        explained_variance=values[:k],
    )


def _equilibrated(covariance, scale, constant):
    """The covariance with each feature divided by ``scale``; constant
    features (rounding noise) become exact null directions."""
    equilibrated = covariance / np.outer(scale, scale)
    equilibrated[constant, :] = 0.0
    equilibrated[:, constant] = 0.0
    return equilibrated


def _covariance_eigen(covariance, std, constant, eps):
    """Eigenvalues (decreasing) and eigenvectors of a covariance, accurate
    for features of any units, and which directions are null.

    A symmetric eigensolver finds each eigenvalue to within about ``n * u *
    lambda_max``: enough when the covariance is well-conditioned. Otherwise
    the rank comes from the correlation matrix, ``P = G diag(theta) G'``,
    and the eigenpairs of the covariance, ``D P D = (D G theta^1/2)(...)'``
    (``D`` the standard deviations), from the singular value decomposition
    of that factor with its rows in decreasing order of ``D``, which keeps
    the small eigenvalues' relative accuracy when features are in units
    far apart.
    """
    n_features = covariance.shape[0]
    values, vectors = _eigh_decreasing(covariance)
    if not constant.any() and values[-1] >= 2.0 * values[0] * np.sqrt(n_features * EPS):
        # Then the correlation matrix is no worse conditioned than 1 /
        # (4 n u): it has no null direction either.
        return values, vectors, np.zeros(n_features, dtype=bool)
    scale = np.where(constant, 1.0, std)
    theta, basis = _eigh_decreasing(_equilibrated(covariance, scale, constant))
    rank = int(np.sum(~null_directions(theta)))
    factor = std[:, None] * (basis[:, :rank] * np.sqrt(theta[:rank]))
    order = np.argsort(-std, kind="stable")
    if rank:
        left, singular, _ = np.linalg.svd(factor[order], full_matrices=True)
    else:
        left, singular = np.eye(n_features), np.zeros(0)
    vectors = np.empty_like(left)
    vectors[order] = left
    values = np.zeros(n_features)
    values[:rank] = singular**2
    null = np.arange(n_features) >= rank
    return (
        values,
        _with_positive_diagonal(vectors),
        null & (eps <= values[0] * n_features * EPS),
    )


def _eigh_decreasing(symmetric):
    values, vectors = np.linalg.eigh(symmetric)
    values, vectors = values[::-1], vectors[:, ::-1]
    # Rounding leaves tiny negative eigenvalues on singular matrices.
    return np.maximum(values, 0.0), _with_positive_diagonal(vectors)


def _with_positive_diagonal(vectors):
    # Kessy et al.'s convention: eigenvector matrices with a positive diagonal.
    # A zero on the diagonal has no sign; there the largest entry of the
    # column is made positive, so that the result does not depend on LAPACK.
    diagonal = np.diag(vectors)
    largest = vectors[np.abs(vectors).argmax(axis=0), np.arange(vectors.shape[1])]
    signs = np.where(np.where(diagonal == 0, largest, diagonal) < 0, -1.0, 1.0)
    return vectors * signs


def _cause(n_samples, n_features, constant):
    """What makes a covariance singular, in words, for the messages."""
    if n_samples is not None and n_samples <= n_features:
        return (
            f"fewer samples than features so far: {n_samples:g} samples span at "
            f"most {max(n_samples - 1, 0):g} of the {n_features} dimensions"
        )
    if constant.any():
        return f"constant feature(s) {np.flatnonzero(constant).tolist()}"
    return "collinear features, e.g. a duplicated feature"


def _warn_null(null, n_features, eps, cause):
    n_null = int(np.sum(null))
    if n_null:
        remedy = "pass eps > 0" if eps == 0 else f"pass an eps larger than {eps:g}"
        warnings.warn(
            f"The covariance has {n_null} direction(s) of numerically zero "
            f"variance among the {null.size} whitened ({n_features} features; "
            f"cause: {cause}). They are mapped to 0; {remedy} to regularize "
            "instead.",
            UserWarning,
            stacklevel=_first_frame_outside_skbn(),
        )


def _cholesky(covariance, eps, null, cause):
    """Cholesky whitening ``D^-1 L^-T`` from the factor ``L`` of the
    equilibrated covariance ``D^-1 (Sigma + eps I) D^-1``: triangular like
    the factor of ``Sigma`` itself (``D L``), and computed without units.
    The covariance is singular where it has ``null`` directions (decided on
    the correlation matrix, as for the other methods)."""
    remedy = "Pass eps > 0" if eps == 0 else f"Pass an eps larger than {eps:g}"
    n_features = covariance.shape[0]
    regularized = covariance + eps * np.eye(n_features)
    scale = np.sqrt(np.maximum(np.diag(regularized), 0.0))
    lower = None
    if not null.any():
        try:
            lower = linalg.cholesky(regularized / np.outer(scale, scale), lower=True)
        except linalg.LinAlgError:
            pass
    if lower is None:
        raise ValueError(
            "Cholesky whitening needs a positive definite covariance, but this one "
            f"is singular (cause: {cause}). {remedy} to regularize it, or use "
            "method='zca' or 'pca', which map null directions to 0."
        )
    inverse_lower = linalg.solve_triangular(lower, np.eye(n_features), lower=True)
    return inverse_lower.T / scale[:, None], lower.T * scale


def _first_frame_outside_skbn():
    """The ``stacklevel`` that points a warning at the line that called skbn.

    scikit-learn's frames are passed over too: its ``set_output`` wraps
    ``transform``, which may derive a map (and warn) on first use.
    """
    packages = tuple(
        os.path.dirname(os.path.abspath(path)) for path in (__file__, sklearn.__file__)
    )
    frame, level = inspect.currentframe().f_back, 1
    while frame is not None and frame.f_code.co_filename.startswith(packages):
        frame, level = frame.f_back, level + 1
    return level
