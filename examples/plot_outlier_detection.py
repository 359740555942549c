"""
==================================
Outlier detection with z-scores
==================================

After standardization a value's magnitude counts standard deviations from the
mean, and under a roughly normal distribution values beyond 3 of them are rare.
:class:`~skbn.ZScoreOutlierDetector` flags every row in which some feature lies
more than ``threshold`` standard deviations out. This example plants outliers
in Gaussian data, finds them, explains the detector's scores, compares
thresholds with the false-positive rate a Gaussian feature predicts, and shows
how the outliers distort the very statistics used to find them.
"""

# Authors: The skbn developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
# .. _plot_outlier_detection_data_section:
#
# Gaussian data with planted outliers
# -----------------------------------
#
# 2000 inliers with two independent Gaussian features on different scales, and
# 12 planted outliers: each is an ordinary value in feature 1 but lies between
# 3.5 and 8 standard deviations from the mean in feature 0, on either side.
import numpy as np

rng = np.random.default_rng(0)
n_inliers, n_planted = 2000, 12
true_mean = np.array([5.0, -1.0])
true_std = np.array([2.0, 0.5])

X_inliers = true_mean + true_std * rng.standard_normal((n_inliers, 2))
planted_distance = np.linspace(3.5, 8.0, n_planted)  # in true standard deviations
planted_sign = rng.choice([-1.0, 1.0], size=n_planted)
X_planted = true_mean + true_std * np.column_stack(
    [planted_sign * planted_distance, rng.standard_normal(n_planted)]
)
X = np.vstack([X_inliers, X_planted])
is_planted = np.r_[np.zeros(n_inliers, dtype=bool), np.ones(n_planted, dtype=bool)]

# %%
# .. _plot_outlier_detection_fit_section:
#
# Fitting the detector and reading its scores
# -------------------------------------------
#
# :class:`~skbn.ZScoreOutlierDetector` follows scikit-learn's outlier-detector
# API. :meth:`~skbn.ZScoreOutlierDetector.fit` computes each feature's mean
# ``mean_`` and standard deviation ``scale_``; the z-score of a value
# :math:`x_j` in feature :math:`j` is :math:`z_j = (x_j - \mu_j) / \sigma_j`.
# Then, for each row:
#
# - :meth:`~skbn.ZScoreOutlierDetector.score_samples` is
#   :math:`-\max_j |z_j|`: the higher, the more normal;
# - :meth:`~skbn.ZScoreOutlierDetector.decision_function` is the score minus
#   ``offset_ = -threshold``, that is :math:`t - \max_j |z_j|` for threshold
#   :math:`t`: negative for outliers;
# - :meth:`~skbn.ZScoreOutlierDetector.predict` is ``-1`` for an outlier (the
#   decision function is negative: some :math:`|z_j| > t`) and ``+1`` for an
#   inlier.
#
# The code checks these definitions against z-scores computed by hand.
from skbn import ZScoreOutlierDetector

detector = ZScoreOutlierDetector(threshold=3.0).fit(X)
labels = detector.predict(X)
scores = detector.score_samples(X)

z = (X - detector.mean_) / detector.scale_
np.testing.assert_allclose(scores, -np.abs(z).max(axis=1))
np.testing.assert_allclose(detector.decision_function(X), 3.0 - np.abs(z).max(axis=1))
np.testing.assert_array_equal(labels, np.where(np.abs(z).max(axis=1) > 3.0, -1, 1))

flagged = labels == -1
print(f"mean_: {detector.mean_.round(3)}, scale_: {detector.scale_.round(3)}")
print(f"offset_: {detector.offset_}")
print(f"flagged rows: {flagged.sum()} of {len(X)}")
print(f"planted outliers found: {flagged[is_planted].sum()} of {n_planted}")
print(f"inliers flagged (false positives): {flagged[~is_planted].sum()}")
print("planted outliers: true distance, z-score of feature 0, flagged")
for distance, z_0, found in zip(
    planted_distance * planted_sign,
    z[is_planted, 0],
    flagged[is_planted],
    strict=True,
):
    print(f"  {distance:+5.2f}  {z_0:+5.2f}  {found}")

# %%
# The z-scores of the planted outliers are smaller than their true distances:
# the fitted standard deviation of feature 0 is larger than the inliers' 2,
# because the outliers were part of the fit (see the last section).
#
# Below, left: the data with the flagged rows and the planted outliers marked;
# the dashed rectangle is where :math:`|z_0| \le 3` and :math:`|z_1| \le 3`,
# the inlier region, whose half-widths are ``3 * scale_`` around ``mean_``.
# Right: the distribution of :meth:`~skbn.ZScoreOutlierDetector.score_samples`
# with ``offset_`` marked.
import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle


def draw_inlier_box(ax, detector):
    """Outline the region where every feature has ``abs(z) <= threshold``."""
    half_width = detector.threshold * detector.scale_
    ax.add_patch(
        Rectangle(
            detector.mean_ - half_width,
            *(2 * half_width),
            fill=False,
            edgecolor="tab:red",
            linestyle="--",
            label="inlier box",
        )
    )


def scatter_labels(ax, X, flagged, is_planted):
    """Inliers in grey, flagged rows as red crosses, planted rows circled."""
    ax.scatter(*X[~flagged].T, s=5, color="0.6", label="predicted inlier (+1)")
    ax.scatter(*X[flagged].T, s=30, marker="x", color="tab:red", label="flagged (-1)")
    ax.scatter(
        *X[is_planted].T,
        s=120,
        facecolor="none",
        edgecolor="black",
        label="planted outlier",
    )


fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), layout="constrained")
scatter_labels(axes[0], X, flagged, is_planted)
draw_inlier_box(axes[0], detector)
axes[0].set(title="Rows flagged at threshold 3", xlabel="feature 0", ylabel="feature 1")
axes[0].legend(loc="lower left", fontsize="small")

bins = np.linspace(scores.min(), 0, 60)
axes[1].hist(scores[~is_planted], bins=bins, color="0.5", label="inliers")
axes[1].hist(scores[is_planted], bins=bins, color="black", label="planted outliers")
axes[1].axvline(detector.offset_, color="tab:red", linestyle="--", label="offset_")
axes[1].set(
    title="score_samples: minus the largest |z| of a row",
    xlabel="score_samples",
    ylabel="number of rows",
    yscale="log",
)
axes[1].legend()
fig.suptitle("ZScoreOutlierDetector(threshold=3)")
plt.show()

# %%
# Every planted outlier lies left of ``offset_`` and is flagged, together with
# a few inliers from the Gaussian tails. Because the score looks at each
# feature separately, the inlier region is a rectangle aligned with the axes;
# for correlated features, an ellipse fitted by
# :class:`~sklearn.covariance.EllipticEnvelope`, or whitening first
# (:ref:`sphx_glr_auto_examples_plot_whitening.py`), can fit the data better.
#
# .. _plot_outlier_detection_threshold_section:
#
# Choosing the threshold
# ----------------------
#
# The same data, with the detector refitted at four thresholds. The statistics
# do not depend on the threshold; only the box does.
thresholds = [2.0, 2.5, 3.0, 4.0]
fig, axes = plt.subplots(1, 4, figsize=(12, 4.2), sharey=True, layout="constrained")
for ax, threshold in zip(axes, thresholds, strict=True):
    detector_t = ZScoreOutlierDetector(threshold=threshold).fit(X)
    flagged_t = detector_t.predict(X) == -1
    scatter_labels(ax, X, flagged_t, is_planted)
    draw_inlier_box(ax, detector_t)
    ax.set(
        title=(
            f"threshold {threshold:g}: {flagged_t.sum()} flagged,\n"
            f"{flagged_t[is_planted].sum()} of {n_planted} planted found"
        ),
        xlabel="feature 0",
        ylabel="feature 1",
    )
handles, legend_labels = axes[0].get_legend_handles_labels()
fig.legend(handles, legend_labels, loc="outside lower center", ncols=4)
fig.suptitle("The inlier box grows with the threshold")
plt.show()

# %%
# A low threshold finds every planted outlier but flags many ordinary rows
# too; a high one flags almost only planted outliers, but misses the nearer
# ones.
#
# For a Gaussian feature, the probability that an inlier's value lies beyond
# :math:`t` standard deviations is
#
# .. math::
#
#    p(t) = P(|z| > t) = 2\,(1 - \Phi(t)),
#
# with :math:`\Phi` the standard normal distribution function: 4.6 % at
# :math:`t = 2`, 0.27 % at :math:`t = 3`. A row of :math:`d` independent
# features is flagged when any of them is beyond, with probability
# :math:`1 - (1 - p(t))^d`. The curves compare that expected false-positive
# rate with the observed fraction of inliers flagged, once by the detector
# fitted on all rows and once by one fitted on the inliers alone, and show how
# many planted outliers are found (the recall).
from scipy import stats

threshold_grid = np.round(np.arange(1.5, 6.01, 0.1), 2)
n_features = X.shape[1]
expected_rate = 1 - (1 - 2 * stats.norm.sf(threshold_grid)) ** n_features

n_flagged, recall, observed_rate, observed_rate_clean = [], [], [], []
for threshold in threshold_grid:
    flagged_t = ZScoreOutlierDetector(threshold=threshold).fit(X).predict(X) == -1
    n_flagged.append(flagged_t.sum())
    recall.append(flagged_t[is_planted].mean())
    observed_rate.append(flagged_t[~is_planted].mean())
    clean_t = ZScoreOutlierDetector(threshold=threshold).fit(X_inliers)
    observed_rate_clean.append((clean_t.predict(X_inliers) == -1).mean())

print("threshold  flagged  recall  inliers flagged  expected  (fit on inliers)")
for threshold in thresholds:
    i = np.flatnonzero(threshold_grid == threshold)[0]
    print(
        f"{threshold:9.1f}  {n_flagged[i]:7d}  {recall[i]:6.2f}  "
        f"{observed_rate[i]:15.4f}  {expected_rate[i]:8.4f}  "
        f"{observed_rate_clean[i]:.4f}"
    )


def on_log_axis(values):
    """Zeros cannot be drawn on a log axis: leave them out of the curve."""
    values = np.asarray(values, dtype=float)
    return np.where(values > 0, values, np.nan)


fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), layout="constrained")
axes[0].plot(threshold_grid, n_flagged, label="rows flagged")
axes[0].plot(
    threshold_grid,
    np.asarray(recall) * n_planted,
    label=f"planted outliers found (of {n_planted})",
)
axes[0].axhline(
    n_planted, color="0.5", linestyle=":", label=f"number planted ({n_planted})"
)
axes[0].set(
    title="Flagged rows and found outliers",
    xlabel="threshold t",
    ylabel="number of rows",
    yscale="log",
)
axes[0].legend()

axes[1].plot(
    threshold_grid,
    expected_rate,
    color="black",
    label=r"expected: $1 - (1 - 2(1 - \Phi(t)))^2$",
)
axes[1].plot(
    threshold_grid,
    on_log_axis(observed_rate),
    marker=".",
    label="observed, fitted on all rows",
)
axes[1].plot(
    threshold_grid,
    on_log_axis(observed_rate_clean),
    marker=".",
    label="observed, fitted on inliers only",
)
axes[1].axhline(
    1 / n_inliers, color="0.5", linestyle=":", label=f"one inlier in {n_inliers}"
)
axes[1].set(
    title="False-positive rate on the inliers",
    xlabel="threshold t",
    ylabel="fraction of inliers flagged",
    yscale="log",
    ylim=(1e-5, 0.5),
)
axes[1].legend()
fig.suptitle("The threshold trades false positives for recall")
plt.show()

# %%
# Fitted on the inliers alone, the observed false-positive rate follows the
# Gaussian prediction until too few inliers remain beyond the threshold to
# measure it: a rate below one inlier in 2000 (dotted line) cannot be
# observed. Fitted on all rows, it stays below the prediction: the planted
# outliers inflate the standard deviation, which shrinks every z-score. Beyond
# a threshold of about 4 almost every flagged row is a planted outlier, but the
# recall falls as the threshold passes their z-scores. A threshold of 3 is a
# common compromise when features are close to Gaussian; for heavy-tailed
# features the Gaussian rates do not apply, and more inliers are flagged than
# they predict.
#
# .. _plot_outlier_detection_masking_section:
#
# The statistics see the outliers too
# -----------------------------------
#
# The mean and the standard deviation are computed from all the rows given to
# :meth:`~skbn.ZScoreOutlierDetector.fit`, outliers included. The outliers move
# the mean towards themselves and inflate the standard deviation, and so lower
# their own z-scores: this is called *masking*.
all_rows = ZScoreOutlierDetector().fit(X)
inliers_only = ZScoreOutlierDetector().fit(X_inliers)
for name, fitted in [("all rows", all_rows), ("inliers only", inliers_only)]:
    print(
        f"fitted on {name:12s}: mean_ {fitted.mean_.round(3)}, "
        f"scale_ {fitted.scale_.round(3)}"
    )
inflation = all_rows.scale_[0] / inliers_only.scale_[0]
print(f"standard deviation of feature 0 inflated by a factor {inflation:.3f}")

# A second pass, fitted on the rows that the first pass kept.
kept = all_rows.predict(X) == 1
second_pass = ZScoreOutlierDetector().fit(X[kept])
print(
    f"refitted on the {kept.sum()} rows kept: mean_ {second_pass.mean_.round(3)}, "
    f"scale_ {second_pass.scale_.round(3)}"
)

# %%
# Twelve outliers among 2000 rows inflate the standard deviation of feature 0
# by the factor printed above, and shift its mean a little. Refitting on the
# rows the first pass kept removes the planted outliers from the statistics;
# it also removes the few inliers flagged from the tails, so its standard
# deviation comes out slightly below the inliers' own. A larger share of
# outliers does more. Below, a cluster of outliers sits 6 standard deviations
# out in feature 0, and its share of the data grows. With the inliers drawn
# from :math:`\mathcal{N}(0, 1)` and a share :math:`f` of the rows placed at
# :math:`\delta`, the fitted mean moves to :math:`f \delta` and the variance
# grows to :math:`(1 - f)(1 + f \delta^2)`, so the cluster's z-score is
#
# .. math::
#
#    z = \frac{(1 - f)\, \delta}{\sqrt{(1 - f)(1 + f \delta^2)}}
#      = \delta \sqrt{\frac{1 - f}{1 + f \delta^2}}.
n_base = 2000
delta = 6.0
base = rng.standard_normal((n_base, 2))
fractions = np.linspace(0.0, 0.25, 26)[1:]
z_cluster, found_fraction = [], []
for fraction in fractions:
    n_cluster = round(fraction * n_base / (1 - fraction))
    cluster = np.column_stack([np.full(n_cluster, delta), np.zeros(n_cluster)])
    contaminated = np.vstack([base, cluster])
    masked = ZScoreOutlierDetector(threshold=3.0).fit(contaminated)
    z_cluster.append(-masked.score_samples(cluster[:1]).item())
    found_fraction.append((masked.predict(cluster) == -1).mean())
z_clean = -ZScoreOutlierDetector().fit(base).score_samples(cluster[:1]).item()

f = fractions
z_formula = delta * np.sqrt((1 - f) / (1 + f * delta**2))

fig, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
ax.plot(100 * f, z_cluster, marker="o", label="fitted with the cluster")
ax.plot(100 * f, z_formula, color="black", linestyle=":", label="formula above")
ax.axhline(z_clean, color="tab:green", label="fitted on the inliers only")
ax.axhline(3.0, color="tab:red", linestyle="--", label="threshold 3")
ax.set(
    title=r"Masking: the z-score of a cluster $6\sigma$ out",
    xlabel="share of the rows in the cluster (%)",
    ylabel="z-score of the cluster in feature 0",
    ylim=(0, 6.5),
)
ax.legend()
plt.show()

masked_from = fractions[np.flatnonzero(np.asarray(found_fraction) == 0)[0]]
print(f"the cluster is no longer flagged from a share of {masked_from:.0%}")

# %%
# A few percent of outliers already lower their own z-score markedly, and
# from a share below 10 % (printed above) the cluster falls below the
# threshold and is no longer flagged at all, although it lies 6 standard
# deviations from the inliers. What helps:
#
# - fit on data known to be clean, and :meth:`~skbn.ZScoreOutlierDetector.predict`
#   on new data (the "fitted on the inliers only" lines above);
# - refit on the rows the first pass kept (as above), which works when the
#   first pass flags the outliers, that is, before masking sets in;
# - robust statistics: the median and the interquartile range of
#   :class:`~skbn.RobustStandardizer` (scikit-learn's
#   :class:`~sklearn.preprocessing.RobustScaler`, streamed), which withstand up
#   to a quarter of outliers
#   (:ref:`sphx_glr_auto_examples_plot_robust_scaling.py`), or a robust
#   covariance estimate (:class:`~sklearn.covariance.EllipticEnvelope`).
#
# :class:`~skbn.ZScoreOutlierDetector` computes its z-scores with
# :class:`~skbn.BatchStandardizer`, whose standardization is shown in
# :ref:`sphx_glr_auto_examples_plot_standardization.py`; with ``momentum`` it
# streams BatchNorm's running statistics through
# :meth:`~skbn.ZScoreOutlierDetector.partial_fit`. See
# :ref:`zscore_outlier_detector` in the user guide.

# sphinx_gallery_thumbnail_number = 1
