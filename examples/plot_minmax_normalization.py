"""
====================================
Min-max normalization onto a range
====================================

Min-max normalization maps each feature linearly so that its smallest value
becomes the low end of a chosen range and its largest value the high end,
usually :math:`(0, 1)` or :math:`(-1, 1)`. This example shows the map on a
two-dimensional cloud and compares :class:`~skbn.MinMaxNormalizer` with
scikit-learn's :class:`~sklearn.preprocessing.MinMaxScaler`; normalizes 8-bit
images with their known range :math:`(0, 255)`; shows what a single outlier does
to a learned range, compared with standardization; and ends with ``clip`` for
data outside the fitted range.
"""

# Authors: The skbn developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
# .. _plot_minmax_normalization_data_section:
#
# Scaling a 2-D cloud into a box
# ------------------------------
#
# Each feature :math:`x` is mapped to
#
# .. math::
#
#    x_{\mathrm{norm}} = \frac{x - x_{\min}}{x_{\max} - x_{\min}},
#
# which sends :math:`x_{\min}` to 0 and :math:`x_{\max}` to 1. For a target range
# :math:`(a, b)` the result is then stretched to :math:`a + (b - a)\,
# x_{\mathrm{norm}}`; :class:`~skbn.MinMaxNormalizer` takes that range as
# ``feature_range``. The data are two correlated features with very different
# locations and scales, as in
# :ref:`sphx_glr_auto_examples_plot_standardization.py`.
import numpy as np
from sklearn.preprocessing import MinMaxScaler

from skbn import MinMaxNormalizer

rng = np.random.default_rng(0)
true_std = np.array([4.0, 0.8])
true_cov = np.outer(true_std, true_std) * np.array([[1.0, 0.6], [0.6, 1.0]])
X = rng.multivariate_normal([10.0, 6.0], true_cov, size=1000)

unit = MinMaxNormalizer().fit(X)
symmetric = MinMaxNormalizer(feature_range=(-1, 1)).fit(X)
X_unit = unit.transform(X)
X_symmetric = symmetric.transform(X)

X_formula = (X - X.min(axis=0)) / (X.max(axis=0) - X.min(axis=0))
diff_sklearn = np.abs(X_unit - MinMaxScaler().fit_transform(X)).max()
diff_sklearn_symmetric = np.abs(
    X_symmetric - MinMaxScaler(feature_range=(-1, 1)).fit_transform(X)
).max()
diff_formula = np.abs(X_unit - X_formula).max()

print(f"data_min_: {unit.data_min_.round(3)}, data_max_: {unit.data_max_.round(3)}")
print(f"max |MinMaxNormalizer - MinMaxScaler|, (0, 1):  {diff_sklearn:.1e}")
print(f"max |MinMaxNormalizer - MinMaxScaler|, (-1, 1): {diff_sklearn_symmetric:.1e}")
print(f"max |MinMaxNormalizer - formula|, (0, 1):       {diff_formula:.1e}")
for name, output in [("(0, 1)", X_unit), ("(-1, 1)", X_symmetric)]:
    print(f"{name} output, per feature: {output.min(axis=0)} to {output.max(axis=0)}")

# %%
# The output equals :class:`~sklearn.preprocessing.MinMaxScaler`'s, which
# computes the map the same way (as ``x * scale_ + min_``), and the formula
# written out. Each feature now spans exactly the target range.
import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle


def draw_box(ax, low, high, label):
    """Outline the rectangle from corner ``low`` to corner ``high``."""
    ax.add_patch(
        Rectangle(
            low,
            *(np.asarray(high) - np.asarray(low)),
            fill=False,
            edgecolor="tab:red",
            linestyle="--",
            linewidth=1.5,
            label=label,
        )
    )


fig, axes = plt.subplots(
    1, 3, figsize=(12, 4), width_ratios=[1.8, 1, 1], layout="constrained"
)
axes[0].scatter(X[:, 0], X[:, 1], s=5, alpha=0.4)
draw_box(axes[0], unit.data_min_, unit.data_max_, "data range")
axes[0].set(
    title="original data",
    xlabel="feature 0",
    ylabel="feature 1",
    xlim=(-4, 28),
    ylim=(0, 12),
    aspect="equal",
)
for ax, data, scaler, title in [
    (axes[1], X_unit, unit, "scaled into (0, 1)"),
    (axes[2], X_symmetric, symmetric, "scaled into (-1, 1)"),
]:
    low, high = scaler.feature_range
    ax.axhline(0, color="0.3", linewidth=0.8)
    ax.axvline(0, color="0.3", linewidth=0.8)
    ax.scatter(data[:, 0], data[:, 1], s=5, alpha=0.4)
    draw_box(ax, (low, low), (high, high), f"target box ({low}, {high})")
    ax.set(
        title=title,
        xlabel="feature 0, normalized",
        ylabel="feature 1, normalized",
        xlim=(-1.3, 1.3),
        ylim=(-1.3, 1.3),
        aspect="equal",
    )
for ax in axes:
    ax.legend(loc="upper left", fontsize="small")
fig.suptitle("Min-max normalization: the data's bounding box becomes the target box")
plt.show()

# %%
# The bounding box of the data (left) is mapped onto the target box: the
# extreme points touch its sides. Unlike standardization, the result has
# known bounds, but its mean and spread are not fixed: they depend on where the
# data sit inside their range.
#
# .. _plot_minmax_normalization_images_section:
#
# 8-bit images: a known range instead of a learned one
# ----------------------------------------------------
#
# Pixels of an 8-bit image take values in :math:`\{0, \dots, 255\}` whatever
# the image shows. We rescale scikit-learn's handwritten digits (values 0 to
# 16) to that range, and treat every pixel position as a feature by reshaping
# the images to ``(n_images, n_pixels)``. A second batch is a dimmed copy of the
# first, whose brightest pixels reach only about 40 % of full scale.
#
# With ``data_range=(0, 255)``, :class:`~skbn.MinMaxNormalizer` does not learn
# the range from the data: every batch is divided by 255. With a learned range
# (the default), each pixel position is stretched to the minimum and maximum
# it happens to reach in the batch.
from sklearn.datasets import load_digits

images = np.round(load_digits().images[:100] * 255 / 16).astype(np.uint8)
image_shape = images.shape[1:]
batches = {
    "full contrast": images.reshape(len(images), -1),
    "dimmed": np.round(images * 0.4).astype(np.uint8).reshape(len(images), -1),
}

n_pixels = images.shape[1] * images.shape[2]
black_and_white = np.array([np.zeros(n_pixels), np.full(n_pixels, 255.0)])
known_outputs, learned_outputs = {}, {}
for name, batch in batches.items():
    known = MinMaxNormalizer(data_range=(0, 255)).fit(batch)
    learned = MinMaxNormalizer().fit(batch)
    known_outputs[name] = known.transform(batch)
    learned_outputs[name] = learned.transform(batch)
    black, white = known.transform(black_and_white)
    print(f"{name} batch: pixel values {batch.min()} to {batch.max()}")
    print(
        f"  known range (0, 255) maps 0 -> {np.unique(black)}, "
        f"255 -> {np.unique(white)} in every pixel position"
    )
    print(
        f"  largest output, known range: {known_outputs[name].max():.2f}, "
        f"learned range: {learned_outputs[name].max():.2f}"
    )
    print(
        f"  pixel positions whose learned maximum is 255: "
        f"{(learned.data_max_ == 255).sum()} of {batch.shape[1]}"
    )

# %%
# The known range maps 0 to 0 and 255 to 1 in every batch, so the dimmed
# batch stays dim. The learned ranges differ from batch to batch: in the dimmed
# batch no pixel reaches 255, and even in the full-contrast batch only some
# pixel positions do, so the learned map stretches each position by its own
# factor. The figure shows the first image of each batch; all normalized panels
# share the colour scale 0 to 1.
fig, axes = plt.subplots(2, 3, figsize=(11, 6.5), layout="constrained")
for row, name in zip(axes, batches, strict=True):
    panels = [
        (batches[name][0], 255, "8-bit input", "pixel value"),
        (known_outputs[name][0], 1, "known range (0, 255)", "normalized value"),
        (learned_outputs[name][0], 1, "learned range", "normalized value"),
    ]
    for ax, (pixels, vmax, title, label) in zip(row, panels, strict=True):
        shown = ax.imshow(pixels.reshape(image_shape), cmap="gray", vmin=0, vmax=vmax)
        fig.colorbar(shown, ax=ax, label=label)
        ax.set(
            title=title,
            xlabel="pixel column",
            ylabel=f"{name} batch\npixel row",
            xticks=[],
            yticks=[],
        )
fig.suptitle("One digit normalized with the known 8-bit range and a learned range")
plt.show()

# %%
# With the known range (middle column) the dimmed digit stays dim and the
# full-contrast one keeps its grey levels, as the 8-bit inputs (left) show
# them. With learned ranges (right) the dimmed digit is stretched to full
# brightness, and in both batches a pixel position whose batch maximum is below
# 255 is brightened more than its neighbours: the picture of a normalized image
# then depends on which other images were in its batch. For data whose range is
# known beforehand, give it as ``data_range``.
#
# .. _plot_minmax_normalization_outlier_section:
#
# What one outlier does
# ---------------------
#
# A learned range is set by two values only: the smallest and the largest. A
# single extreme value therefore decides the map for everything else. Here 1000
# values from :math:`\mathcal{N}(50, 5^2)` get one extra value, 200. We fit
# :class:`~skbn.MinMaxNormalizer` and :class:`~skbn.BatchStandardizer` with and
# without it, and look at where the 1000 inliers land.
from skbn import BatchStandardizer

inliers = rng.normal(50.0, 5.0, size=(1000, 1))
with_outlier = np.vstack([inliers, [[200.0]]])

results = {}
for scaler_name, make_scaler in [
    ("min-max", MinMaxNormalizer),
    ("standardized", BatchStandardizer),
]:
    clean = make_scaler().fit(inliers)
    dirty = make_scaler().fit(with_outlier)
    results[scaler_name] = {
        "clean": clean.transform(inliers).ravel(),
        "dirty": dirty.transform(inliers).ravel(),
        "outlier": dirty.transform([[200.0]]).item(),
    }
    spread_clean = np.ptp(results[scaler_name]["clean"])
    spread_dirty = np.ptp(results[scaler_name]["dirty"])
    print(f"{scaler_name}: inliers' spread (max - min)")
    print(f"  fitted without the outlier: {spread_clean:.3f}")
    print(
        f"  fitted with the outlier:    {spread_dirty:.3f} "
        f"({spread_dirty / spread_clean:.0%} of it), "
        f"inliers' mean {results[scaler_name]['dirty'].mean():+.3f}, "
        f"outlier at {results[scaler_name]['outlier']:.2f}"
    )

# %%
# The histograms below show the inliers under each fit. The outlier itself is
# not drawn on the standardized axis (its z-score is printed above).
fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
for ax, (scaler_name, result) in zip(axes, results.items(), strict=True):
    values = np.concatenate([result["clean"], result["dirty"]])
    bins = np.linspace(values.min(), values.max(), 50)
    ax.hist(result["clean"], bins=bins, alpha=0.6, label="fitted without the outlier")
    ax.hist(result["dirty"], bins=bins, alpha=0.6, label="fitted with the outlier")
    ax.set(
        title=f"{scaler_name}: the 1000 inliers",
        xlabel=f"{scaler_name} value",
        ylabel="number of inliers",
    )
    ax.legend()
fig.suptitle("One value of 200 among 1000 values around 50")
plt.show()

# %%
# Min-max normalization gives the outlier the value 1 and squeezes the 1000
# inliers into a narrow interval near 0: they keep a small fraction of their
# spread (printed above). Standardization keeps most of their spread, shifts
# them slightly, and leaves them in the familiar range of z-scores. The outlier
# inflates the standard deviation as well, but a value at distance :math:`d`
# from the mean of :math:`n` values adds only about :math:`d^2 / n` to the
# variance, whereas it alone sets the maximum of the range. Clipping or
# removing outliers first (see
# :ref:`sphx_glr_auto_examples_plot_outlier_detection.py`) protects min-max
# normalization; with a known ``data_range`` the question does not arise.
#
# .. _plot_minmax_normalization_clip_section:
#
# Data outside the fitted range, and ``clip``
# -------------------------------------------
#
# New data can fall outside the range seen in :meth:`~skbn.MinMaxNormalizer.fit`,
# and is then mapped outside ``feature_range``; the map is linear and has no
# bounds of its own. With ``clip=True`` the output of
# :meth:`~skbn.MinMaxNormalizer.transform` is clipped into ``feature_range``.
# Clipped values cannot be told apart afterwards: the inverse transform returns
# them at the ends of the fitted range.
scaler = MinMaxNormalizer().fit(inliers)
unseen = np.array([[20.0], [50.0], [90.0]])
print(f"fitted range: {scaler.data_min_.item():.2f} to {scaler.data_max_.item():.2f}")
print(f"unseen values:           {unseen.ravel()}")
print(f"transform, clip=False:   {scaler.transform(unseen).ravel().round(3)}")
scaler.set_params(clip=True)
clipped = scaler.transform(unseen)
print(f"transform, clip=True:    {clipped.ravel().round(3)}")
print(f"inverse of clipped:      {scaler.inverse_transform(clipped).ravel().round(2)}")

# %%
# The same happens to the images: the range learned on the dimmed batch maps
# the full-contrast batch well beyond 1.
dim_range = MinMaxNormalizer().fit(batches["dimmed"])
print(
    "full-contrast batch through the range learned on the dimmed one: "
    f"up to {dim_range.transform(batches['full contrast']).max():.2f}"
)
print(
    "the same with clip=True: up to "
    f"{dim_range.set_params(clip=True).transform(batches['full contrast']).max():.2f}"
)

# %%
# See :ref:`minmax_normalizer` in the user guide for the parameters, streaming
# with :meth:`~skbn.MinMaxNormalizer.partial_fit`, and missing values.

# sphinx_gallery_thumbnail_number = 2
