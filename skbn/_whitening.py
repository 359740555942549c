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
from scipy import linalg

from ._blocks import one_blas_thread

METHODS = ("zca", "pca", "cholesky", "zca_cor", "pca_cor")
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


def whitening(covariance, method, n_components, eps):
    """The whitening map of ``method`` for a population covariance.

    ``n_components`` (None for all) keeps the leading principal directions:
    as output columns for ``pca``/``pca_cor``, as the directions a square
    (truncated) map acts on for ``zca``/``zca_cor``. ``eps`` is added to the
    eigenvalues (to the covariance's diagonal for ``cholesky``). Directions
    whose variance plus ``eps`` is zero up to rounding are mapped to 0, with a
    warning, instead of being divided by a rounding error.
    """
    n_features = covariance.shape[0]
    with (
        one_blas_thread()
        if n_features < _THREADED_DECOMPOSITION_FEATURES
        else nullcontext()
    ):
        return _whitening(covariance, method, n_components, eps)


def _whitening(covariance, method, n_components, eps):
    n_features = covariance.shape[0]
    k = n_features if n_components is None else n_components
    std = None
    target = covariance
    if method.endswith("_cor"):
        # A constant feature has no correlation to speak of: dividing it by 1
        # leaves a zero row in P, a null direction like any other.
        variance = np.diag(covariance)
        std = np.where(variance > 0, np.sqrt(np.maximum(variance, 0.0)), 1.0)
        target = covariance / np.outer(std, std)
    values, vectors = _eigh_decreasing(target)
    null = _null_directions(values, eps)
    if method == "cholesky":
        matrix, inverse = _cholesky(covariance, eps, null)
    else:
        _warn_null(null[:k], n_features, eps)
        shifted = values[:k] + eps
        with np.errstate(divide="ignore"):
            inv_sqrt = np.where(null[:k], 0.0, 1.0 / np.sqrt(shifted))
        root = np.where(null[:k], 0.0, np.sqrt(shifted))
        kept = vectors[:, :k]
        matrix = kept * inv_sqrt
        inverse = (kept * root).T
        if method.startswith("zca"):
            matrix = matrix @ kept.T
            inverse = kept @ inverse
        if std is not None:
            matrix = matrix / std[:, None]
            inverse = inverse * std
    return Whitening(
        matrix=matrix,
        inverse=inverse,
        components=vectors[:, :k].T.copy(),
        explained_variance=values[:k],
    )


def _eigh_decreasing(symmetric):
    values, vectors = np.linalg.eigh(symmetric)
    values, vectors = values[::-1], vectors[:, ::-1]
    # Kessy et al.'s convention: eigenvector matrices with a positive diagonal.
    # A zero on the diagonal has no sign; there the largest entry of the
    # column is made positive, so that the result does not depend on LAPACK.
    diagonal = np.diag(vectors)
    largest = vectors[np.abs(vectors).argmax(axis=0), np.arange(vectors.shape[1])]
    signs = np.where(np.where(diagonal == 0, largest, diagonal) < 0, -1.0, 1.0)
    # Rounding leaves tiny negative eigenvalues on singular matrices.
    return np.maximum(values, 0.0), vectors * signs


def _null_directions(values, eps):
    """Directions whose (regularized) variance is indistinguishable from 0.

    The eigenvalues of a symmetric matrix are computed to within about
    ``n * u * lambda_max`` (u the float64 unit roundoff); a direction whose
    variance plus ``eps`` is below that is noise, and dividing by its square
    root would blow the noise up. A useful ``eps`` lifts every direction
    above it.
    """
    if values.size == 0:
        return np.zeros(0, dtype=bool)
    tolerance = values.size * np.finfo(np.float64).eps * values[0]
    return values + eps <= tolerance


def _warn_null(null, n_features, eps):
    n_null = int(np.sum(null))
    if n_null:
        remedy = "pass eps > 0" if eps == 0 else f"pass an eps larger than {eps:g}"
        warnings.warn(
            f"The covariance has {n_null} direction(s) of numerically zero "
            f"variance among the {null.size} whitened ({n_features} features: the "
            "data are rank-deficient, e.g. a duplicated or constant feature). They "
            f"are mapped to 0; {remedy} to regularize instead.",
            UserWarning,
            stacklevel=_first_frame_outside_skbn(),
        )


def _cholesky(covariance, eps, null):
    remedy = "Pass eps > 0" if eps == 0 else f"Pass an eps larger than {eps:g}"
    if np.any(null):
        raise ValueError(
            "Cholesky whitening needs a positive definite covariance, but this one "
            f"is singular ({int(np.sum(null))} direction(s) of numerically zero "
            f"variance, e.g. a duplicated or constant feature). {remedy} to "
            "regularize it, or use method='zca' or 'pca', which map such "
            "directions to 0."
        )
    regularized = covariance + eps * np.eye(covariance.shape[0])
    try:
        lower = linalg.cholesky(regularized, lower=True)
    except linalg.LinAlgError as exc:
        raise ValueError(
            "Cholesky whitening failed: the covariance is not numerically positive "
            f"definite. {remedy} to regularize it."
        ) from exc
    inverse_lower = linalg.solve_triangular(lower, np.eye(lower.shape[0]), lower=True)
    return inverse_lower.T, lower.T


def _first_frame_outside_skbn():
    """The ``stacklevel`` that points a warning at the line that called skbn."""
    package = os.path.dirname(os.path.abspath(__file__))
    frame, level = inspect.currentframe().f_back, 1
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    return level
