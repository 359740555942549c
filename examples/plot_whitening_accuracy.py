r"""
==========================================================
Whitening accuracy: the covariance and the QR solver
==========================================================

A whitener built on the covariance matrix squares the condition number of the data:
:math:`\operatorname{cond}(X^\top X) = \operatorname{cond}(X)^2`, so it loses twice
the digits that a singular value decomposition (SVD) of the data loses. This holds
for every whitener that forms the covariance: :class:`~skbn.SVDWhitener` with its
default ``solver="covariance"``, and scikit-learn's
``PCA(whiten=True, svd_solver="covariance_eigh")``, which ``svd_solver="auto"`` picks
for data with fewer than 1000 features and ten times as many rows.
``SVDWhitener(solver="qr")`` keeps the triangular factor :math:`R` of the centred data
instead (:math:`R^\top R` is the covariance) and takes every whitening from the
singular values of :math:`R`: it is as accurate as an SVD of the data, and it still
streams with ``partial_fit``. This example whitens near-collinear data whose condition
number goes from :math:`10^2` to :math:`10^{12}` and measures how white the output is.
"""

# Authors: The skbn developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
# .. _plot_whitening_accuracy_data_section:
#
# Near-collinear data
# -------------------
#
# Four features from four independent standard normal columns :math:`a, b, c, d`:
# :math:`a`, :math:`a + \delta b`, :math:`c` and :math:`3c + d`. The second feature
# differs from the first only by :math:`\delta b`, so the smaller :math:`\delta`, the
# closer the two are to collinear and the larger the condition number of the centred
# data, about :math:`4.6 / \delta`. The same 4000 rows are used for every
# :math:`\delta`, from :math:`10^{-1.5}` to :math:`10^{-11.5}`.
#
# How white an output :math:`Z` is, is measured by the largest entry of
# :math:`|\operatorname{Cov}(Z) - I|` on the training data (population covariance,
# ``ddof=0``, as :class:`~skbn.SVDWhitener` uses): about :math:`10^{-16}` would be
# perfect, 1 means that a direction is lost.
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.decomposition import PCA, IncrementalPCA

from skbn import SVDWhitener

rng = np.random.default_rng(0)
n_samples = 4000
a, b, c, d = rng.normal(size=(4, n_samples))
deltas = np.logspace(-1.5, -11.5, 21)


def near_collinear(delta):
    """The four features, the second within delta * b of the first."""
    return np.column_stack([a, a + delta * b, c, 3 * c + d])


def whiteness_error(Z):
    """max |Cov(Z) - I|, with the population covariance (ddof=0)."""
    return np.abs(np.cov(Z, rowvar=False, ddof=0) - np.eye(Z.shape[1])).max()


conditions = np.array(
    [np.linalg.cond(X - X.mean(axis=0)) for X in map(near_collinear, deltas)]
)
print(f"condition numbers from {conditions[0]:.1e} to {conditions[-1]:.1e}")

# %%
# .. _plot_whitening_accuracy_fits_section:
#
# Five methods, two solvers, two scikit-learn PCAs and a reference
# ----------------------------------------------------------------
#
# For each :math:`\delta` we fit the five methods of :class:`~skbn.SVDWhitener` with
# each solver, and apply the fitted map to the training data with ``transform``. Beside
# them:
#
# - scikit-learn's ``PCA(whiten=True)`` with ``svd_solver="covariance_eigh"`` (the
#   eigendecomposition of the covariance) and with ``svd_solver="full"`` (an SVD of
#   the centred data). scikit-learn whitens with the ``ddof=1`` covariance, so its
#   output is rescaled by :math:`\sqrt{n / (n - 1)}`. Both fitted maps are applied
#   with ``transform`` too (``fit_transform`` of ``"full"`` returns the singular
#   vectors themselves, which are white by construction whatever the map's
#   accuracy);
# - the reference: PCA whitening from the SVD of the centred data,
#   :math:`X_c = U S V^\top` and :math:`Z = X_c V S^{-1} \sqrt{n}`, as accurate as
#   float64 allows;
# - ``solver="qr"`` streamed: ZCA whitening fitted by ``partial_fit`` on 20 batches
#   of 200 rows, whose triangular factors are merged by a small QR decomposition;
# - scikit-learn's ``IncrementalPCA(whiten=True)`` on the same 20 batches, which
#   updates an SVD batch by batch (rescaled as ``PCA``).
#
# The covariance solver warns where fewer than 6 significant digits are left, and
# where a direction has none left at all (it then maps that direction to 0): such
# warnings are the point of this example, so they are recorded here rather than shown
# each time. Cholesky whitening raises a ``ValueError`` instead where the covariance
# is numerically singular; it is left out of the plot there.
methods = ["zca", "pca", "cholesky", "zca_cor", "pca_cor"]


def skbn_error(X, method, solver):
    """The whiteness of SVDWhitener's output, and the warnings of its fit.

    NaN where the fit raised (Cholesky whitening of a singular covariance).
    """
    with warnings.catch_warnings(record=True) as caught:
        # The covariance solver's warnings on ill-conditioned data are expected.
        warnings.simplefilter("always")
        try:
            whitener = SVDWhitener(method=method, solver=solver).fit(X)
        except ValueError:
            return np.nan, caught
        return whiteness_error(whitener.transform(X)), caught


def sklearn_error(X, svd_solver):
    """The whiteness of PCA(whiten=True)'s output, rescaled to ddof=0."""
    with warnings.catch_warnings():
        # Dividing by the square root of a rounding error (or of 0) is what
        # covariance_eigh does on nearly singular data; numpy may say so.
        warnings.simplefilter("ignore", RuntimeWarning)
        pca = PCA(whiten=True, svd_solver=svd_solver).fit(X)
        Z = pca.transform(X) * np.sqrt(n_samples / (n_samples - 1))
        return whiteness_error(Z)


def reference_error(X):
    """PCA whitening from the SVD of the centred data."""
    Xc = X - X.mean(axis=0)
    _, singular, vt = np.linalg.svd(Xc, full_matrices=False)
    return whiteness_error(Xc @ vt.T / singular * np.sqrt(n_samples))


def streamed_error(X, n_batches=20):
    """ZCA whitening with solver='qr', fitted batch by batch."""
    whitener = SVDWhitener(method="zca", solver="qr")
    for batch in np.array_split(X, n_batches):
        whitener.partial_fit(batch)
    return whiteness_error(whitener.transform(X))


def incremental_error(X, n_batches=20):
    """IncrementalPCA(whiten=True) fitted batch by batch, rescaled to ddof=0."""
    pca = IncrementalPCA(whiten=True)
    for batch in np.array_split(X, n_batches):
        pca.partial_fit(batch)
    return whiteness_error(pca.transform(X) * np.sqrt(n_samples / (n_samples - 1)))


errors = {
    (solver, method): np.empty(deltas.size)
    for solver in ("covariance", "qr")
    for method in methods
}
baselines = {
    name: np.empty(deltas.size)
    for name in ("covariance_eigh", "full", "reference", "streamed", "incremental")
}
first_warning = {}
for i, delta in enumerate(deltas):
    X = near_collinear(delta)
    for solver, method in errors:
        errors[solver, method][i], caught = skbn_error(X, method, solver)
        for warning in caught:
            first_warning.setdefault(str(warning.message)[:40], str(warning.message))
    baselines["covariance_eigh"][i] = sklearn_error(X, "covariance_eigh")
    baselines["full"][i] = sklearn_error(X, "full")
    baselines["reference"][i] = reference_error(X)
    baselines["streamed"][i] = streamed_error(X)
    baselines["incremental"][i] = incremental_error(X)

# %%
# The covariance solver warned in two ways, each first seen as:
for message in first_warning.values():
    print(message, end="\n\n")

# %%
# For three of the condition numbers, every method with each solver:
shown = [5, 9, 13]  # delta = 1e-4, 1e-6 and 1e-8
print(f"{'cond(X)':>24}" + "".join(f"{conditions[i]:>10.1e}" for i in shown))
for (solver, method), values in errors.items():
    print(
        f"{solver + ' ' + method:>24}" + "".join(f"{values[i]:>10.1e}" for i in shown)
    )
for name, values in baselines.items():
    print(f"{name:>24}" + "".join(f"{values[i]:>10.1e}" for i in shown))

# %%
# .. _plot_whitening_accuracy_plot_section:
#
# Error against condition number
# ------------------------------
#
# The left panel shows the five methods of each solver; the right panel the worst of
# the five methods of each solver beside scikit-learn's two PCAs, the streamed QR
# fit and the SVD reference. The dotted lines are :math:`u \operatorname{cond}(X)` and
# :math:`u \operatorname{cond}(X)^2`, with :math:`u = 2.2 \times 10^{-16}` float64's
# machine epsilon.
u = np.finfo(np.float64).eps
floor = 1e-17  # the smallest error shown: exact zeros are drawn there


def shown_values(values):
    return np.maximum(values, floor)


fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5), layout="constrained")
for ax in (left, right):
    ax.loglog(conditions, u * conditions, ":", color="grey", label="u cond(X)")
    ax.loglog(conditions, u * conditions**2, ":", color="black", label="u cond(X)²")
colors = dict(zip(methods, plt.cm.tab10.colors, strict=False))
for (solver, method), values in errors.items():
    left.loglog(
        conditions,
        shown_values(values),
        "--" if solver == "covariance" else "-",
        marker="o" if solver == "covariance" else ".",
        markersize=3,
        color=colors[method],
        label=f"{method}, {solver}",
    )
left.set(
    title="SVDWhitener: the five methods, two solvers",
    xlabel="condition number of the centred data",
    ylabel="max |Cov(Z) - I|",
    ylim=(floor / 2, 1e12),
)
left.set_yticks(10.0 ** np.arange(-16, 13, 4))
left.legend(fontsize="x-small", ncols=2, loc="upper left")

worst = {
    solver: np.nanmax([errors[solver, method] for method in methods], axis=0)
    for solver in ("covariance", "qr")
}
curves = [
    (worst["covariance"], "SVDWhitener covariance (worst method)", "tab:red", "--"),
    (worst["qr"], "SVDWhitener qr (worst method)", "tab:blue", "-"),
    (baselines["streamed"], "SVDWhitener qr, zca, 20 batches", "tab:cyan", "-."),
    (baselines["incremental"], "IncrementalPCA, 20 batches", "tab:olive", "-."),
    (baselines["covariance_eigh"], "PCA covariance_eigh", "tab:orange", "--"),
    (baselines["full"], "PCA full", "tab:green", "-"),
    (baselines["reference"], "SVD of the data (reference)", "black", "-"),
]
for values, label, color, style in curves:
    right.loglog(
        conditions,
        shown_values(values),
        style,
        marker=".",
        color=color,
        label=label,
        linewidth=2.5 if color == "black" else 1.5,
        alpha=0.6 if color == "black" else 1.0,
    )
right.set(
    title="Against scikit-learn's PCA(whiten=True) and the SVD",
    xlabel="condition number of the centred data",
    ylabel="max |Cov(Z) - I|",
    ylim=(floor / 2, 1e20),
)
right.set_yticks(10.0 ** np.arange(-16, 21, 4))
right.legend(fontsize="x-small", loc="upper left")
fig.suptitle("How white the output stays on near-collinear data (4000 x 4, float64)")
plt.show()
# sphinx_gallery_thumbnail_number = 1

# %%
# .. _plot_whitening_accuracy_reading_section:
#
# Reading the plot
# ----------------
#
# - **The covariance route follows** :math:`u \operatorname{cond}(X)^2`: every method
#   of ``solver="covariance"`` and ``PCA(svd_solver="covariance_eigh")``. About
#   :math:`16 - 2 \log_{10} \operatorname{cond}(X)` digits are left: 6 at a condition
#   number of :math:`10^5`, where skbn starts to warn, none at about
#   :math:`10^8 = u^{-1/2}`. Beyond that, skbn's covariance solver finds the
#   near-collinear direction indistinguishable from a null one and maps it to 0 (with
#   the warning printed above; Cholesky whitening raises), so the error is 0.5 to 1:
#   one direction is lost, but the output stays bounded. scikit-learn's
#   ``covariance_eigh`` loses that direction too, or divides by the square root of a
#   rounding error, and its output blows up.
# - **The QR route follows** :math:`u \operatorname{cond}(X)`: the five methods of
#   ``solver="qr"`` stay within a small factor of the SVD of the data, as does
#   ``PCA(svd_solver="full")``, which is one. About
#   :math:`16 - \log_{10} \operatorname{cond}(X)` digits are left, 4 at a condition
#   number of :math:`10^{12}`.
# - **Streaming keeps them**: the QR factors of 20 batches, merged by
#   ``partial_fit``, whiten as accurately as one ``fit``, for every method.
#   ``IncrementalPCA`` updates an SVD batch by batch, so it keeps these digits too,
#   but it offers PCA whitening only.
#
# On well-conditioned data both solvers keep nearly all of float64's digits, and the
# covariance solver does not warn: it is the default because it is the cheapest.
# ``solver="qr"`` costs a single pass, as the covariance does, where the features are
# nearly uncorrelated, and a second pass over the directions the covariance cannot
# resolve on ill-conditioned data (timings on :ref:`performance`). See
# :ref:`svd_whitener_solver` in the user guide for what each solver guarantees.
