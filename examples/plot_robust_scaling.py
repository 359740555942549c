"""
=========================================================
Robust scaling: median and interquartile range, streamed
=========================================================

The mean and the standard deviation follow every value, outliers included, and
the minimum and the maximum *are* outliers when there are any. The median and
the interquartile range (IQR) are set by the bulk of the data: a few values far
out do not move them. :class:`~skbn.RobustStandardizer` maps each feature to
``(x - median) / IQR``. This example plants outliers in a feature and compares
it with :class:`~skbn.BatchStandardizer` and :class:`~skbn.MinMaxNormalizer`;
shows how large a share of outliers the median and the IQR withstand; and then
streams a million heavy-tailed values through
:meth:`~skbn.RobustStandardizer.partial_fit`, measuring the rank error of the
streamed quartiles against NumPy's exact ones, next to the bound the estimator
reports.
"""

# Authors: The skbn developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
# .. _plot_robust_scaling_outliers_section:
#
# A feature with planted outliers
# -------------------------------
#
# 2000 readings from :math:`\mathcal{N}(50, 5^2)`, and 40 more (2 % of the rows)
# recorded in the wrong unit, a hundred times too large. Each scaler is fitted
# twice, on the readings alone and with the 40 outliers, and the table prints
# what each one subtracts (its centre) and divides by (its scale), and the
# spread (standard deviation) of the 2000 good readings after scaling.
import numpy as np

from skbn import BatchStandardizer, MinMaxNormalizer, RobustStandardizer

rng = np.random.default_rng(0)
inliers = rng.normal(50.0, 5.0, size=(2000, 1))
outliers = 100 * rng.normal(50.0, 5.0, size=(40, 1))
contaminated = np.vstack([inliers, outliers])

scalers = {
    # name: (estimator, what it subtracts, what it divides by)
    "BatchStandardizer": (BatchStandardizer, "mean_", "scale_"),
    "MinMaxNormalizer": (MinMaxNormalizer, "data_min_", "data_range_"),
    "RobustStandardizer": (RobustStandardizer, "center_", "scale_"),
}
fitted = {}
print(f"{'':19s} {'fitted on':>13s} {'centre':>8s} {'scale':>8s}  readings' spread")
for name, (make_scaler, center, scale) in scalers.items():
    for data_name, data in [("readings", inliers), ("+ outliers", contaminated)]:
        scaler = make_scaler().fit(data)
        fitted[name, data_name] = scaler
        spread = scaler.transform(inliers).std()
        print(
            f"{name:19s} {data_name:>13s} {getattr(scaler, center)[0]:8.2f} "
            f"{getattr(scaler, scale)[0]:8.2f}  {spread:.4f}"
        )

# %%
# The mean moves from 50 to about 147 and the standard deviation grows from 5 to
# about 690: 2 % of the rows decide both. The range grows almost two
# hundredfold, as its top end is now an outlier. The median and the IQR barely
# move: the outliers shift the middle half of the data up by 20 of its 2040
# values, that is all.
#
# The figure shows where the 2000 good readings land, under the fit without
# (outline) and with (filled) the outliers; each panel keeps the scale of the
# clean fit, and the count axis is logarithmic, so that a spike of 2000 and a
# bell of a few dozen per bin are both visible.
import matplotlib.pyplot as plt

fig, axes = plt.subplots(1, 3, figsize=(12, 4), layout="constrained")
for ax, name in zip(axes, scalers, strict=True):
    clean = fitted[name, "readings"].transform(inliers).ravel()
    dirty = fitted[name, "+ outliers"].transform(inliers).ravel()
    outlier_at = np.median(fitted[name, "+ outliers"].transform(outliers))
    bins = np.linspace(clean.min(), clean.max(), 60)
    ax.hist(clean, bins=bins, histtype="step", linewidth=1.5, label="fitted without")
    ax.hist(dirty, bins=bins, alpha=0.6, label="fitted with the outliers")
    ax.set(
        title=f"{name}\n(the outliers land near {outlier_at:.3g})",
        xlabel="scaled value of a good reading",
        ylabel="number of readings",
        yscale="log",
    )
handles, labels = axes[0].get_legend_handles_labels()
fig.legend(handles, labels, loc="outside lower center", ncols=2)
fig.suptitle("2000 readings, and 40 outliers a hundred times too large")
plt.show()

# %%
# Standardized, the good readings are squeezed into a spike about 140 times
# narrower than a z-score's unit; min-max normalized, into the lowest percent of
# the output range. Scaled by the median and the IQR, they keep
# their shape and their place, while the outliers land hundreds of IQRs away,
# where a threshold, a clip or a model can see them for what they are. With
# ``unit_variance=True`` the IQR is divided by 1.349, the IQR of
# :math:`\mathcal{N}(0, 1)`, so that normal data get z-scores of variance near 1.
#
# .. _plot_robust_scaling_breakdown_section:
#
# How many outliers are too many
# ------------------------------
#
# The median stays within the good values while fewer than half of the values
# are outliers; the quartiles, while fewer than a quarter are (on one side). Past
# that share the IQR is measured from outliers too, and the readings are
# squeezed like the others. Below, the share of outliers grows from 0 to 40 %,
# and each curve shows the spread of the good readings after scaling, relative
# to the spread they have when the scaler is fitted on them alone.
shares = np.r_[0.0, 1 / len(inliers), np.linspace(0.01, 0.4, 40)]
kept_spread = {name: [] for name in scalers}
for share in shares:
    n_out = round(share * len(inliers) / (1 - share))
    data = np.vstack([inliers, 100 * rng.normal(50.0, 5.0, size=(n_out, 1))])
    for name, (make_scaler, _, _) in scalers.items():
        spread = make_scaler().fit(data).transform(inliers).std()
        clean = fitted[name, "readings"].transform(inliers).std()
        kept_spread[name].append(spread / clean)

fig, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
for name, spread in kept_spread.items():
    ax.plot(100 * shares, spread, marker=".", label=name)
ax.axvline(25, color="0.5", linestyle=":", label="a quarter of the rows")
ax.set(
    title="Spread of the good readings left after scaling",
    xlabel="share of the rows that are outliers (%)",
    ylabel="spread relative to a clean fit",
    yscale="log",
)
ax.legend()
plt.show()

# %%
# At 1 % of outliers (20 rows) the good readings have lost about 99 % of their
# spread under min-max normalization and standardization (a single outlier, the
# second point, already takes most of it); under robust scaling they keep most
# of their spread until a quarter of the rows are outliers. Below that share, the
# quartiles move only within the good readings (the IQR grows as the outliers
# push both quartiles up, which shrinks the readings' spread a little). The
# median would hold up to half.
#
# .. _plot_robust_scaling_stream_section:
#
# Streaming: exact at first, then a proved rank error
# ---------------------------------------------------
#
# A median cannot be merged from the medians of two batches. To stream,
# :meth:`~skbn.RobustStandardizer.partial_fit` keeps for each feature a
# *sketch*: a sorted summary that holds every value until the stream has
# 16384 of them (at the default ``rank_error=0.005``), and then halves its
# oldest levels, keeping every other sorted value with twice the weight. Each
# halving can move the rank of a quantile by a known amount; the estimator adds
# these up and reports them, as a fraction of the values seen, in
# ``rank_error_``. A reported quartile is within that fraction of the exact
# quartile's rank, whatever the order of the data, and the fraction is proved to
# stay below ``rank_error`` (0.005).
#
# The test: a million values from a heavy-tailed Student's t distribution
# (1.5 degrees of freedom, whose variance is infinite), streamed in batches of
# 2000 rows, once in random order (feature 0) and once sorted, smallest first
# (feature 1), an order that sends every new value to the top of the summary.
# After a batch, the *true* rank error of a streamed quantile is measured
# against the data seen so far: how many of those values lie between it and
# NumPy's exact quantile, as a fraction of them.
n_rows, batch_size = 1_000_000, 2000
values = rng.standard_t(df=1.5, size=n_rows)
stream = np.column_stack([values, np.sort(values)])
orders = ["random order", "sorted"]
probabilities = [0.25, 0.5, 0.75]
names = ["first quartile", "median", "third quartile"]


def true_rank_error(seen, probability, reported):
    """How far the rank of ``reported`` is from that of the exact quantile of
    ``seen``, as a fraction of the values seen."""
    exact = np.quantile(seen, probability)
    between = np.count_nonzero(seen < reported) - np.count_nonzero(seen < exact)
    return abs(between) / seen.size


# Measure after every batch early on, then at about 60 batches spread evenly on
# a log scale: each measurement goes over all the values seen.
n_batches = n_rows // batch_size
measured_at = np.unique(np.r_[1:20, np.geomspace(20, n_batches, 60).astype(int)])

scaler = RobustStandardizer()
rows_seen, reported_bound = [], []
measured_rows, measured_error = [], []
for i, batch in enumerate(np.split(stream, n_batches), start=1):
    scaler.partial_fit(batch)
    rows_seen.append(scaler.n_samples_seen_)
    reported_bound.append(scaler.rank_error_.copy())
    if i in measured_at:
        seen = stream[: scaler.n_samples_seen_]
        measured_rows.append(scaler.n_samples_seen_)
        measured_error.append(
            [
                [
                    true_rank_error(seen[:, j], p, scaler.quantiles_[k, j])
                    for k, p in enumerate(probabilities)
                ]
                for j in range(len(orders))
            ]
        )
reported_bound = np.array(reported_bound)
measured_error = np.array(measured_error)  # (measurements, orders, quantiles)

print("rows seen   order          true rank error (q25, median, q75)   rank_error_")
for row in [0, 7, 8, 9, 20, len(measured_rows) - 1]:
    for j, order in enumerate(orders):
        errors = ", ".join(f"{e:.1e}" for e in measured_error[row, j])
        bound = reported_bound[measured_rows[row] // batch_size - 1, j]
        print(f"{measured_rows[row]:9d}   {order:12s}   {errors:33s}   {bound:.1e}")

# %%
# Up to 16000 rows (8 batches) the sketch holds every value and both features'
# quartiles are exact: the true error and ``rank_error_`` are 0. The ninth
# batch brings the stream past 16384 values, the sketch halves its first level,
# and ``rank_error_`` becomes a small positive bound, which the true errors stay
# under. The figure draws the whole stream; the vertical axis is logarithmic
# above :math:`10^{-6}` (one value in a million, the smallest non-zero error
# here) and linear below, so that the exact start shows as 0.
fig, axes = plt.subplots(1, 2, figsize=(12, 4.6), sharey=True, layout="constrained")
for j, (ax, order) in enumerate(zip(axes, orders, strict=True)):
    ax.axvspan(rows_seen[0], 16384, color="tab:green", alpha=0.12, label="held whole")
    for k, (name, marker) in enumerate(zip(names, "ov^", strict=True)):
        ax.plot(
            measured_rows,
            measured_error[:, j, k],
            marker=marker,
            linestyle="none",
            markersize=4,
            label=f"true error, {name}",
        )
    ax.plot(rows_seen, reported_bound[:, j], color="black", label="rank_error_")
    ax.axhline(0.005, color="tab:red", linestyle="--", label="guaranteed: 0.005")
    ax.set(
        title=f"Student's t values, {order}",
        xlabel="rows seen",
        ylabel="rank error (fraction of the rows seen)",
        xscale="log",
    )
    ax.set_yscale("symlog", linthresh=1e-6)
    ax.set_ylim(0, 0.02)
axes[0].legend(loc="upper left", fontsize="small")
fig.suptitle("Rank error of the streamed quartiles against NumPy's exact ones")
plt.show()

# %%
# The reported bound grows slowly with the stream, by a level of the summary
# each time the stream doubles, and ends far below the guarantee: the
# guarantee covers every order and every length up to :math:`2^{53}` values,
# while ``rank_error_`` counts the halvings this stream actually needed. The
# true errors are smaller still, as the errors of successive halvings partly
# cancel. The sorted stream is not harder: the bound does not depend on the
# order, and neither, much, do the true errors.
#
# .. _plot_robust_scaling_order_section:
#
# The result depends on the order, within the bound
# -------------------------------------------------
#
# The means, variances and extrema of the other skbn estimators merge exactly,
# so any split of the data gives the one-shot fit. A streamed median does not:
# the two features hold the same million values, in two orders, and their
# streamed medians differ, both within ``rank_error_`` of the exact median's
# rank. :meth:`~skbn.RobustStandardizer.fit` on an array in memory needs no
# sketch and is exact, equal to scikit-learn's
# :class:`~sklearn.preprocessing.RobustScaler`.
from sklearn.preprocessing import RobustScaler

one_shot = RobustStandardizer().fit(stream)
print(f"exact median (np.median):     {np.median(values):.6f}")
print(f"fit, both features:           {one_shot.center_.round(6)}")
print(f"RobustScaler, both features:  {RobustScaler().fit(stream).center_.round(6)}")
for j, order in enumerate(orders):
    error = true_rank_error(stream[:, j], 0.5, scaler.center_[j])
    print(
        f"streamed, {order:12s}:       {scaler.center_[j]:.6f} "
        f"(true rank error {error:.1e}, rank_error_ {scaler.rank_error_[j]:.1e})"
    )

# %%
# ``rank_error`` sets the size of the sketch: a smaller bound keeps more values
# per level, 880, 8192 and 74000 for the three settings below, and the sketch
# holds at most that many values per level and feature, and one level's worth
# more (a level is added each time the stream doubles). The sorted stream again:
for rank_error in [0.05, 0.005, 0.0005]:
    sketched = RobustStandardizer(rank_error=rank_error)
    for batch in np.split(stream[:, 1:], n_batches):
        sketched.partial_fit(batch)
    error = true_rank_error(stream[:, 1], 0.5, sketched.center_[0])
    print(
        f"rank_error={rank_error:<6}: rank_error_ {sketched.rank_error_[0]:.1e}, "
        f"true rank error of the median {error:.1e}"
    )

# %%
# See :ref:`robust_standardizer` in the user guide for the definition of the
# quantiles, the sketch and the proof of its bound, ``sample_weight``, Dask, and
# what happens to a feature whose IQR is zero.

# sphinx_gallery_thumbnail_number = 1
