"""
=====================================
Fitting on a Dask array, in parallel
=====================================

When a data set is larger than memory, or already lives in a Dask array, skbn fits
it where it lies: each chunk of rows is reduced to its statistics on a Dask worker,
and the statistics of the chunks are merged exactly, by the merge that
``partial_fit`` uses. This example starts a local cluster of two worker processes,
fits :class:`~skbn.BatchStandardizer`, :class:`~skbn.MinMaxNormalizer` and
:class:`~skbn.SVDWhitener` on a Dask array of 400,000 rows in 8 chunks, checks the
fitted statistics against a NumPy fit of the same data, and transforms the array
lazily, chunk by chunk. See :ref:`scaling` for how it works and how to chunk.
"""

# Authors: The skbn developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
# .. _plot_dask_scaling_data_section:
#
# A Dask array of correlated features
# -----------------------------------
#
# The array has 400,000 rows and 8 features, in chunks of 50,000 rows that hold
# all the features. Its features are mixtures of independent normal draws, so
# they are correlated, with their own offsets and scales, plus a slow drift along
# the rows, so that the chunks differ from one another. Nothing is computed yet:
# ``X`` is a recipe for 8 chunks, which the workers will generate when asked.
#
# Dask starts each worker in a new Python process, which first imports this
# script (Python's ``spawn`` start method), so everything but the imports and the
# definitions stays under ``if __name__ == "__main__":`` and runs once, in the
# main process. In a notebook, or in IPython, the guard is not needed.
import dask
import dask.array as da
import matplotlib.pyplot as plt
import numpy as np
from dask.distributed import Client, LocalCluster

from skbn import BatchStandardizer, MinMaxNormalizer, SVDWhitener


def max_rel_diff(a, b):
    """Largest relative difference between two arrays."""
    return np.max(np.abs(a - b) / np.abs(b))


def chunk_means(A):
    """The mean of each row chunk of the Dask array A, one row per chunk."""
    return da.stack([A.blocks[i].mean(axis=0) for i in range(A.numblocks[0])])


if __name__ == "__main__":
    n_samples, n_features, chunk_rows = 400_000, 8, 50_000
    rng = np.random.default_rng(0)
    scales = rng.uniform(0.5, 5.0, n_features)
    mixing = rng.normal(size=(n_features, n_features)) * scales
    offsets = rng.uniform(-20.0, 20.0, n_features)
    drift = rng.uniform(-2.0, 2.0, n_features)

    noise = da.random.default_rng(1).standard_normal(
        (n_samples, n_features), chunks=(chunk_rows, n_features)
    )
    position = da.linspace(-1.0, 1.0, n_samples, chunks=chunk_rows)[:, None]
    X = noise @ mixing + offsets + position * drift
    print(X)
    print("row chunks:", X.chunks[0])

# %%
# .. _plot_dask_scaling_cluster_section:
#
# A local cluster of two worker processes
# ---------------------------------------
#
# A :class:`~dask.distributed.LocalCluster` runs the workers on this machine, each
# in its own process with one thread; on a real cluster only these lines change
# (``client = Client("scheduler-address:8786")``). ``dashboard_address=":0"`` puts
# the cluster's web server on a free port, so that the example runs beside
# another cluster.
if __name__ == "__main__":
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    client = Client(cluster)
    print(f"{len(client.scheduler_info()['workers'])} workers")

# %%
# .. _plot_dask_scaling_fit_section:
#
# Fitting: statistics per chunk, merged exactly
# ---------------------------------------------
#
# ``fit`` computes once: the workers reduce each chunk to its statistics (the
# moments for :class:`~skbn.BatchStandardizer`, the range for
# :class:`~skbn.MinMaxNormalizer`, the mean and scatter matrix for
# :class:`~skbn.SVDWhitener`), the statistics are merged pairwise in a tree, and
# the fitted attributes come back as NumPy arrays. To check them, we compute ``X``
# into memory (25.6 MB, small enough here) and fit the same estimators on it: the
# moments and the covariance agree to rounding error, and the ranges exactly.
if __name__ == "__main__":
    scaler = BatchStandardizer().fit(X)
    minmax = MinMaxNormalizer().fit(X)
    whitener = SVDWhitener(method="zca").fit(X)
    print(
        f"mean_ is a {type(scaler.mean_).__name__}; rows seen: {scaler.n_samples_seen_}"
    )

    X_numpy = X.compute()
    scaler_numpy = BatchStandardizer().fit(X_numpy)
    minmax_numpy = MinMaxNormalizer().fit(X_numpy)
    whitener_numpy = SVDWhitener(method="zca").fit(X_numpy)
    W_dask, W_numpy = whitener.whitening_matrix_, whitener_numpy.whitening_matrix_
    print(
        "BatchStandardizer, Dask vs NumPy: max rel. diff of mean_ "
        f"{max_rel_diff(scaler.mean_, scaler_numpy.mean_):.1e}, "
        f"of var_ {max_rel_diff(scaler.var_, scaler_numpy.var_):.1e}"
    )
    print(
        "SVDWhitener, Dask vs NumPy: max rel. diff of covariance_ "
        f"{max_rel_diff(whitener.covariance_, whitener_numpy.covariance_):.1e}, "
        "of whitening_matrix_ "
        f"{max_rel_diff(W_dask, W_numpy):.1e}"
    )
    print(
        "MinMaxNormalizer, Dask vs NumPy: identical data_min_ and data_max_:",
        np.array_equal(minmax.data_min_, minmax_numpy.data_min_)
        and np.array_equal(minmax.data_max_, minmax_numpy.data_max_),
    )

# %%
# .. _plot_dask_scaling_transform_section:
#
# Transforming: lazy, chunk by chunk
# ----------------------------------
#
# Given a Dask array, ``transform`` returns a Dask array with the same row chunks,
# one task per chunk, and computes nothing. Computing a slice of it runs only the
# tasks of the chunks it needs, here the first one; writing the whole result out
# (for instance with ``to_zarr``) would compute every chunk on the workers, never
# holding the whole array in one place.
if __name__ == "__main__":
    Z = scaler.transform(X)
    W = whitener.transform(X)
    print(f"transform returns a {type(Z).__module__}.{type(Z).__name__}")
    print("same row chunks as X:", Z.chunks[0] == X.chunks[0])
    with np.printoptions(precision=3, suppress=True):
        print("first 3 standardized rows:", Z[:3].compute(), sep="\n")
    np.testing.assert_allclose(Z[:3].compute(), scaler_numpy.transform(X_numpy[:3]))

# %%
# Standardization uses the statistics of all the rows, not those of each chunk:
# because of the drift, the standardized chunks keep different means, which
# average to zero. Whitening makes the covariance of the whole array the
# identity. Both are computed by Dask, chunk by chunk, from the lazy results.
if __name__ == "__main__":
    means_before, means_after, cov_whitened = dask.compute(
        chunk_means(X), chunk_means(Z), da.cov(W, rowvar=False, bias=True)
    )
    std = np.sqrt(np.diag(whitener.covariance_))
    corr_before = whitener.covariance_ / np.outer(std, std)
    print(
        f"mean of the standardized chunk means: {np.abs(means_after.mean(0)).max():.1e}"
    )
    print(
        "whitened covariance, max |difference from the identity|: "
        f"{np.abs(cov_whitened - np.eye(n_features)).max():.1e}"
    )

    fig, axes = plt.subplots(2, 2, figsize=(10, 8.5), layout="constrained")
    chunk_index = np.arange(1, X.numblocks[0] + 1)
    for ax, means, title in [
        (axes[0, 0], means_before, "Raw X: mean of each chunk"),
        (axes[0, 1], means_after, "Standardized X: mean of each chunk"),
    ]:
        ax.plot(chunk_index, means, marker="o", ms=4, label=range(n_features))
        ax.set(title=title, xlabel="row chunk", ylabel="chunk mean, per feature")
    axes[0, 0].legend(title="feature", ncols=4, fontsize="small", loc="center")
    axes[0, 1].axhline(0.0, color="black", lw=1, ls=":")
    for ax, matrix, title in [
        (axes[1, 0], corr_before, "Raw X: correlation matrix"),
        (axes[1, 1], cov_whitened, "ZCA-whitened X: covariance matrix"),
    ]:
        image = ax.imshow(matrix, cmap="RdBu_r", vmin=-1.0, vmax=1.0)
        ax.set(title=title, xlabel="feature", ylabel="feature")
    fig.colorbar(image, ax=axes[1, :], shrink=0.8, label="correlation, covariance")
    fig.suptitle("Fitted on a Dask array of 8 chunks, transformed chunk by chunk")
    plt.show()

# %%
# The raw chunk means (top left) sit at each feature's offset and move with the
# drift. Standardized (top right), every feature is centred on the mean of *all*
# the rows, so the drift remains visible as chunk means on either side of zero;
# scaling each chunk by its own statistics would have hidden it, and would have
# mapped equal values in different chunks to different outputs. Below, the
# strong correlations of the raw features are gone after whitening: the
# covariance of the whitened array is the identity.
#
# .. _plot_dask_scaling_close_section:
#
# Closing the cluster
# -------------------
#
# The fitted estimators are ordinary ones, with NumPy attributes: they can be
# pickled, or used on NumPy data, once the cluster is gone.
if __name__ == "__main__":
    client.close()
    cluster.close()
    print(f"scale_ after closing the cluster: {scaler.scale_.round(2)}")
    with np.printoptions(precision=3, suppress=True):
        print("2 NumPy rows, standardized:", scaler.transform(X_numpy[:2]), sep="\n")
