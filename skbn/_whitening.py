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
import math
import os
import warnings
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import sklearn
from scipy import linalg

from ._config import one_blas_thread
from ._numerics import EPS, factor_level, is_constant, is_rounding, null_directions
from ._stats import upper_factor


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


def whitening(
    covariance, method, n_components, eps, *, mean, n_samples=None, factor=None
):
    """The whitening map of ``method`` (a :class:`Method`) for a population
    covariance.

    ``n_components`` (None for all) keeps the leading principal directions:
    as output columns for ``pca``/``pca_cor``, as the directions a square
    (truncated) map acts on for ``zca``/``zca_cor``. ``eps`` is added to the
    eigenvalues (to the covariance's diagonal for ``cholesky``).

    ``factor``, when given, is a :class:`skbn._stats.Factor`, whose upper
    triangular ``R`` has ``R' R = covariance``: every decomposition is then
    taken from it (singular values, not eigenvalues of its square), which
    keeps twice the digits; else from the covariance, with a warning where
    it is too ill-conditioned to keep ``_FEW_DIGITS`` of them.

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
        return _whitening(
            covariance, factor, method, n_components, eps, mean, n_samples
        )


def _whitening(covariance, factor, method, n_components, eps, mean, n_samples):
    n_features = covariance.shape[0]
    k = n_features if n_components is None else n_components
    std = np.sqrt(np.maximum(np.diag(covariance), 0.0))
    constant = is_constant(std, mean)
    cause = _cause(n_samples, n_features, constant)
    scale = np.where(constant, 1.0, std)
    source = (
        _FromCovariance(covariance, scale, constant)
        if factor is None
        else _FromFactor(factor, scale, constant, mean)
    )
    if method.correlation:
        values, vectors, level = source.correlation()
        null = null_directions(values, eps, level)
        correlation = values, null
    else:
        scale = np.ones(n_features)
        values, vectors, null, correlation = _covariance_eigen(
            source, std, constant, eps
        )
    if correlation is not None and eps == 0:  # (eps > 0 bounds the map)
        source.check_digits(*correlation, k, raising=method.full_rank_only)
    if method.full_rank_only:
        matrix, inverse = _cholesky(source, eps, null, cause)
    else:
        _warn_null(null[:k], n_features, eps, cause, source)
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


# Fewer significant digits than this left in the smallest whitened
# eigenvalue of a covariance (whitened output accurate to worse than 1e-6):
# the covariance solver says so, and suggests the factor's.
_FEW_DIGITS = 6


class _FromCovariance:
    """The decompositions of a covariance matrix (``solver="covariance"``)."""

    #: Whether its eigenvalues have the data's condition number squared.
    squared = True

    def __init__(self, covariance, scale, constant):
        self.covariance, self.scale, self.constant = covariance, scale, constant

    def correlation(self):
        """Eigenvalues (decreasing) and eigenvectors of the correlation
        matrix, and the level below which they are rounding (None: the
        eigensolver's own)."""
        values, vectors = _eigh_decreasing(
            _equilibrated(self.covariance, self.scale, self.constant)
        )
        return values, vectors, None

    def direct_eigen(self):
        """The covariance's own eigenpairs where it is well-conditioned
        enough for them (the correlation matrix then has no null direction
        either: it is no worse conditioned than 1 / (4 n u)), else None."""
        if self.constant.any():
            return None
        n_features = self.covariance.shape[0]
        values, vectors = _eigh_decreasing(self.covariance)
        if values[-1] < 2.0 * values[0] * np.sqrt(n_features * EPS):
            return None
        return values, vectors

    def check_digits(self, values, null, k, raising=False):
        """Warn where the kept, non-null eigenvalues of the correlation
        matrix keep fewer than ``_FEW_DIGITS`` significant digits (unless
        null directions are about to raise: ``raising``)."""
        kept = values[:k][~null[:k]]
        if not kept.size or kept[-1] <= 0 or (raising and null.any()):
            return
        n_features = values.size
        error = n_features * EPS * values[0] / kept[-1]
        digits = -math.log10(error)
        if digits >= _FEW_DIGITS:
            return
        with_factor = -math.log10(n_features * EPS * math.sqrt(values[0] / kept[-1]))
        warnings.warn(
            "The covariance is too ill-conditioned for its digits: its "
            f"correlation matrix has a condition number of about "
            f"{values[0] / kept[-1]:.1e}, so its smallest whitened eigenvalue "
            f"keeps only about {max(digits, 0.0):.0f} significant digit(s) and "
            f"the whitened output is accurate to about {min(error, 1.0):.0e}. "
            "solver='qr' whitens from the triangular factor of the data "
            f"instead, which keeps about {with_factor:.0f} digit(s) here.",
            UserWarning,
            stacklevel=_first_frame_outside_skbn(),
        )

    def lower_equilibrated(self, eps):
        """The Cholesky factor ``L`` of the equilibrated ``covariance + eps
        I`` and the standard deviations it was equilibrated by; ``L`` is
        None where that matrix is not numerically positive definite."""
        n_features = self.covariance.shape[0]
        regularized = self.covariance + eps * np.eye(n_features)
        scale = np.sqrt(np.maximum(np.diag(regularized), 0.0))
        try:
            lower = linalg.cholesky(regularized / np.outer(scale, scale), lower=True)
        except linalg.LinAlgError:
            lower = None
        return lower, scale


class _FromFactor:
    """The decompositions of a triangular factor ``R``, ``R' R`` the
    covariance (``solver="qr"``): singular values of ``R``, which an SVD
    finds to within ``n u`` of the largest, as accurate as from the data."""

    squared = False

    def __init__(self, factor, scale, constant, mean):
        self.factor, self.scale, self.constant = factor.factor, scale, constant
        self.rounding = factor.rounding
        kept = ~constant
        self.magnitude = (np.abs(mean[kept]) + scale[kept]) / scale[kept]

    def correlation(self):
        equilibrated = self.factor / self.scale
        equilibrated[:, self.constant] = 0.0
        _, singular, right = np.linalg.svd(equilibrated)
        vectors = _with_positive_diagonal(right.T)
        level = factor_level(singular, self.magnitude, self.rounding)
        return singular**2, vectors, level

    def direct_eigen(self):
        """As the covariance's: the factor's own singular values, squared,
        where they are that well-conditioned (then an SVD finds even the
        smallest to within ``u / (n u)**(1/4)`` of itself), else None."""
        if self.constant.any():
            return None
        _, singular, right = np.linalg.svd(self.factor)
        values = singular**2
        if values[-1] < 2.0 * values[0] * np.sqrt(values.size * EPS):
            return None
        return values, _with_positive_diagonal(right.T)

    def check_digits(self, values, null, k, raising=False):
        pass  # as many digits as the data hold

    def lower_equilibrated(self, eps):
        n_features = self.factor.shape[0]
        upper = self.factor
        if eps > 0:
            # R' R + eps I = [R; sqrt(eps) I]' [R; sqrt(eps) I]
            lift = math.sqrt(eps) * np.eye(n_features)
            upper = upper_factor(np.vstack([upper, lift]))
        scale = np.sqrt(np.einsum("ij,ij->j", upper, upper))
        return (upper / scale).T if scale.min() > 0 else None, scale


def _equilibrated(covariance, scale, constant):
    """The covariance with each feature divided by ``scale``; constant
    features (rounding noise) become exact null directions."""
    equilibrated = covariance / np.outer(scale, scale)
    equilibrated[constant, :] = 0.0
    equilibrated[:, constant] = 0.0
    return equilibrated


def _covariance_eigen(source, std, constant, eps):
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

    Also the correlation matrix's eigenvalues and null directions, or None
    where the covariance's own eigenpairs were accurate enough.
    """
    n_features = std.size
    direct = source.direct_eigen()
    if direct is not None:
        return (*direct, np.zeros(n_features, dtype=bool), None)
    theta, basis, level = source.correlation()
    null_theta = null_directions(theta, level=level)
    rank = int(np.sum(~null_theta))
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
    lifted = eps > values[0] * (n_features * EPS if level is None else level)
    vectors = _with_positive_diagonal(vectors)
    return values, vectors, null & (not lifted), (theta, null_theta)


def _eigh_decreasing(symmetric):
    values, vectors = np.linalg.eigh(symmetric)
    values, vectors = values[::-1], vectors[:, ::-1]
    # Rounding leaves tiny negative eigenvalues on singular matrices.
    return np.maximum(values, 0.0), _with_positive_diagonal(vectors)


def _with_positive_diagonal(vectors):
    # Kessy et al.'s convention: eigenvector matrices with a positive diagonal.
    # A zero on the diagonal has no sign, nor has its rounding (which one
    # LAPACK leaves where another gives an exact 0); there the largest entry
    # of the column is made positive, so that the result does not depend on
    # LAPACK.
    diagonal = np.diag(vectors)
    largest = vectors[np.abs(vectors).argmax(axis=0), np.arange(vectors.shape[1])]
    signless = is_rounding(diagonal, largest, vectors.shape[0])
    signs = np.where(np.where(signless, largest, diagonal) < 0, -1.0, 1.0)
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


def _warn_null(null, n_features, eps, cause, source):
    n_null = int(np.sum(null))
    if n_null:
        remedy = "pass eps > 0" if eps == 0 else f"pass an eps larger than {eps:g}"
        resolve = ""
        if source.squared and cause.startswith("collinear"):
            resolve = (
                " None of their significant digits is left in the covariance: "
                "if the features are only nearly collinear, solver='qr' "
                "resolves them from the triangular factor of the data."
            )
        warnings.warn(
            f"The covariance has {n_null} direction(s) of numerically zero "
            f"variance among the {null.size} whitened ({n_features} features; "
            f"cause: {cause}). They are mapped to 0; {remedy} to regularize "
            f"instead.{resolve}",
            UserWarning,
            stacklevel=_first_frame_outside_skbn(),
        )


def _cholesky(source, eps, null, cause):
    """Cholesky whitening ``D^-1 L^-T`` from the factor ``L`` of the
    equilibrated covariance ``D^-1 (Sigma + eps I) D^-1``: triangular like
    the factor of ``Sigma`` itself (``D L``), and computed without units.
    The covariance is singular where it has ``null`` directions (decided on
    the correlation matrix, as for the other methods)."""
    remedy = "Pass eps > 0" if eps == 0 else f"Pass an eps larger than {eps:g}"
    lower, scale = (None, None) if null.any() else source.lower_equilibrated(eps)
    if lower is None:
        raise ValueError(
            "Cholesky whitening needs a positive definite covariance, but this one "
            f"is singular (cause: {cause}). {remedy} to regularize it, or use "
            "method='zca' or 'pca', which map null directions to 0."
        )
    n_features = lower.shape[0]
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
