"""
==========================================
Standardization: zero mean and unit spread
==========================================

Standardization moves every feature to mean 0 and standard deviation 1, so that
features measured in different units and around different values become
comparable. This example draws the two steps of the map (centring, then
scaling) on a two-dimensional cloud whose features differ in location and
scale, checks :class:`~skbn.BatchStandardizer` against scikit-learn's
:class:`~sklearn.preprocessing.StandardScaler` and the written-out formula, and
shows how the resulting z-scores point at unusual values.
"""

# Authors: The skbn developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
# .. _plot_standardization_data_section:
#
# Data far from the origin, with very different scales
# ----------------------------------------------------
#
# Two correlated features: the first has a standard deviation of about 4 around
# 10, the second one of about 0.8 around 6. Plotted on equal axes, the cloud is
# a long flat ellipse away from the origin.
import numpy as np

rng = np.random.default_rng(0)
n_samples = 1000
true_mean = np.array([10.0, 6.0])
true_std = np.array([4.0, 0.8])
correlation = 0.6
true_cov = np.outer(true_std, true_std) * np.array(
    [[1.0, correlation], [correlation, 1.0]]
)
X = rng.multivariate_normal(true_mean, true_cov, size=n_samples)

print(f"sample mean: {X.mean(axis=0).round(3)}")
print(f"sample std:  {X.std(axis=0).round(3)}")

# %%
# .. _plot_standardization_fit_section:
#
# Standardizing with :class:`~skbn.BatchStandardizer`
# ---------------------------------------------------
#
# Each feature :math:`x` is mapped to its z-score
#
# .. math::
#
#    x_{\mathrm{std}} = \frac{x - \mu}{\sigma},
#
# where :math:`\mu` is the feature's mean and :math:`\sigma` its (population)
# standard deviation. :class:`~skbn.BatchStandardizer` stores them as
# ``mean_`` and ``scale_``; with its default parameters it is the same map as
# :class:`~sklearn.preprocessing.StandardScaler`, which the printed differences
# confirm, and the same as the formula written out with NumPy (``np.std``
# uses ``ddof=0`` by default, the population standard deviation). See
# :ref:`batch_standardizer` in the user guide for the BatchNorm options
# (``momentum``, ``eps``, ``gamma``, ``beta``).
from sklearn.preprocessing import StandardScaler

from skbn import BatchStandardizer

standardizer = BatchStandardizer().fit(X)
X_std = standardizer.transform(X)

X_sklearn = StandardScaler().fit_transform(X)
X_formula = (X - X.mean(axis=0)) / X.std(axis=0)

print(f"mean_:  {standardizer.mean_.round(3)}")
print(f"scale_: {standardizer.scale_.round(3)}")
print(
    f"max |BatchStandardizer - StandardScaler|: {np.abs(X_std - X_sklearn).max():.1e}"
)
print(
    f"max |BatchStandardizer - formula|:        {np.abs(X_std - X_formula).max():.1e}"
)
print(f"standardized mean: {X_std.mean(axis=0).round(12) + 0.0}")
print(f"standardized std:  {X_std.std(axis=0).round(12)}")

# %%
# .. _plot_standardization_panels_section:
#
# Centring, then scaling
# ----------------------
#
# The three panels share their axis limits and aspect ratio, so that distances
# can be compared across them. Subtracting the mean moves the cloud onto the
# origin without changing its shape; dividing by the standard deviation then
# shrinks each axis by its own factor, so that both features have spread 1.
import matplotlib.pyplot as plt

X_centered = X - standardizer.mean_
panels = [
    (X, "original data", r"$x$"),
    (X_centered, r"zero-centred: $x - \mu$", r"$x - \mu$"),
    (X_std, r"standardized: $(x - \mu) / \sigma$", r"$(x - \mu) / \sigma$"),
]
xlim, ylim = (-14, 26), (-10, 12)

fig, axes = plt.subplots(1, 3, figsize=(12, 3.1), layout="constrained")
for ax, (data, title, label) in zip(axes, panels, strict=True):
    ax.axhline(0, color="0.3", linewidth=0.8)
    ax.axvline(0, color="0.3", linewidth=0.8)
    ax.scatter(data[:, 0], data[:, 1], s=6, alpha=0.4, color="tab:blue")
    ax.set(
        title=title,
        xlabel=f"feature 0: {label}",
        ylabel=f"feature 1: {label}",
        xlim=xlim,
        ylim=ylim,
        aspect="equal",
    )
fig.suptitle("Standardization of a 2-D cloud, drawn on the same axes")
plt.show()

# %%
# The centred cloud (middle) has the shape of the original one; the
# standardized cloud (right) is as wide as it is tall, because both features
# now have standard deviation 1. It is still tilted: standardization rescales
# each feature on its own and keeps the correlation between them. Removing the
# correlation as well is whitening, shown in
# :ref:`sphx_glr_auto_examples_plot_whitening.py`. Batch Normalization (Ioffe &
# Szegedy 2015, arXiv:1502.03167) applies this same per-feature map to the
# activations of a network's hidden layers
# (:ref:`sphx_glr_auto_examples_plot_hidden_layer_batchnorm.py`).
#
# .. _plot_standardization_histogram_section:
#
# One standardized feature against the standard normal density
# --------------------------------------------------------------
#
# Standardization is a shift and a rescaling: it does not change the shape of
# a distribution. Here the features are Gaussian, so a standardized feature
# follows the standard normal distribution :math:`\mathcal{N}(0, 1)` closely.
from scipy import stats

grid = np.linspace(-4.5, 4.5, 300)
fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
ax.hist(
    X_std[:, 0],
    bins=30,
    density=True,
    color="tab:blue",
    alpha=0.6,
    label="feature 0, standardized",
)
ax.plot(grid, stats.norm.pdf(grid), color="black", label=r"$\mathcal{N}(0, 1)$ density")
ax.set(
    title="Standardized feature 0 against the standard normal",
    xlabel="z-score",
    ylabel="density",
)
ax.legend()
plt.show()

# %%
# The histogram is centred on 0 with unit spread and follows the
# :math:`\mathcal{N}(0, 1)` curve. For data that is not Gaussian the histogram
# would keep its own shape (skewed, heavy-tailed, ...): only its location and
# scale are fixed by standardization.
#
# .. _plot_standardization_zscore_section:
#
# Z-scores beyond 3
# -----------------
#
# After standardization a value's magnitude says how many standard deviations
# it lies from the mean. For a Gaussian feature :math:`|z| > 3` happens with
# probability :math:`2\,(1 - \Phi(3)) \approx 0.27\%`, so such values are
# rare, and a row with one of them is a candidate outlier. Below, the rows with
# :math:`|z| > 3` in some feature are marked, and the lines :math:`z = \pm 3`
# drawn.
threshold = 3.0
beyond = (np.abs(X_std) > threshold).any(axis=1)
expected_per_feature = n_samples * 2 * stats.norm.sf(threshold)
n_beyond_per_feature = (np.abs(X_std) > threshold).sum(axis=0)
print(f"values with |z| > {threshold:g} per feature: {n_beyond_per_feature}")
print(
    f"expected per Gaussian feature, n * 2 * (1 - Phi(3)): {expected_per_feature:.1f}"
)
print(f"rows with |z| > {threshold:g} in some feature: {beyond.sum()} of {n_samples}")

fig, ax = plt.subplots(figsize=(6.4, 5.6), layout="constrained")
for z in (-threshold, threshold):
    ax.axvline(z, color="tab:red", linestyle="--", linewidth=1)
    ax.axhline(z, color="tab:red", linestyle="--", linewidth=1)
ax.scatter(
    X_std[~beyond, 0],
    X_std[~beyond, 1],
    s=8,
    alpha=0.4,
    color="tab:blue",
    label=r"$|z| \leq 3$ in both features",
)
ax.scatter(
    X_std[beyond, 0],
    X_std[beyond, 1],
    s=50,
    marker="D",
    color="tab:red",
    edgecolor="black",
    label=r"$|z| > 3$ in some feature",
)
ax.set(
    title=r"Standardized data with the $|z| = 3$ lines",
    xlabel="feature 0: z-score",
    ylabel="feature 1: z-score",
    xlim=(-4.5, 4.5),
    ylim=(-4.5, 4.5),
    aspect="equal",
)
ax.legend(loc="upper left")
plt.show()

# %%
# The marked points lie outside the square :math:`|z_0| \leq 3,\ |z_1| \leq 3`.
# Here the data has no real outliers: these few points are the Gaussian tails,
# about as many as the :math:`0.27\%` per feature predicts. This thresholding of
# z-scores is what :class:`~skbn.ZScoreOutlierDetector` does; the example
# :ref:`sphx_glr_auto_examples_plot_outlier_detection.py` applies it to data
# with planted outliers and discusses the choice of threshold, and
# :ref:`zscore_outlier_detector` describes it in the user guide.

# sphinx_gallery_thumbnail_number = 1
