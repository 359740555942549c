"""
===============================================
Torch tensors in, torch tensors out: array API
===============================================

With scikit-learn's array API dispatch switched on, skbn's estimators take arrays
of other array libraries, such as PyTorch tensors, CuPy arrays or array-api-strict
arrays: the passes over ``X`` run with that library, on the device where ``X``
lives, and the results are arrays of the same library on the same device. This
example fits :class:`~skbn.BatchStandardizer` and :class:`~skbn.SVDWhitener` on a
torch tensor, shows that the fitted attributes and the outputs are tensors,
compares them with a NumPy fit of the same data, streams the tensor batch by batch,
and brings a fitted estimator back to NumPy with :func:`skbn.estimator_to_numpy`.
It runs on the CPU, so that it runs anywhere; on a machine with a CUDA GPU, only
the ``device`` changes. See :ref:`array_api` for what runs where.
"""

# Authors: The skbn developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
# .. _plot_array_api_dispatch_section:
#
# Switching the dispatch on
# -------------------------
#
# scikit-learn's array API support relies on SciPy's, which must be switched on by
# the environment variable ``SCIPY_ARRAY_API=1`` before SciPy is first imported:
# here, before importing scikit-learn (or skbn, which imports both). In a shell,
# ``export SCIPY_ARRAY_API=1`` does the same for every script. Then
# ``sklearn.set_config(array_api_dispatch=True)`` switches the dispatch on, for
# scikit-learn's estimators and skbn's alike; ``sklearn.config_context`` does it
# for a block of code only. It needs the ``array-api-compat`` package
# (``pip install "skbn[array-api]"``); skbn itself never imports torch.
import os

os.environ.setdefault("SCIPY_ARRAY_API", "1")

import matplotlib.pyplot as plt
import numpy as np
import sklearn
import torch

from skbn import BatchStandardizer, SVDWhitener, estimator_to_numpy

sklearn.set_config(array_api_dispatch=True)

# %%
# .. _plot_array_api_data_section:
#
# A tensor of correlated features
# -------------------------------
#
# 200,000 rows of 6 features, mixtures of independent normal draws with their own
# offsets, in float64, made by torch on the CPU. With a GPU, ``device = "cuda"``
# is the only change: the tensor, the passes over it and the outputs then live on
# the GPU.
device = "cpu"
n_samples, n_features = 200_000, 6
generator = torch.Generator(device=device).manual_seed(0)
mixing = torch.randn(n_features, n_features, generator=generator, dtype=torch.float64)
mixing *= torch.linspace(0.5, 5.0, n_features, dtype=torch.float64)
offsets = torch.linspace(-20.0, 20.0, n_features, dtype=torch.float64)
noise = torch.randn(
    n_samples, n_features, generator=generator, dtype=torch.float64, device=device
)
X = noise @ mixing.to(device) + offsets.to(device)
print(f"X: {type(X).__module__}.{type(X).__name__}, {X.dtype}, on {X.device}")

# %%
# .. _plot_array_api_fit_section:
#
# Fitting: attributes on the device
# ---------------------------------
#
# ``fit`` reads the tensor with torch: the sums and squared deviations of
# :class:`~skbn.BatchStandardizer`, the scatter matrix :math:`X^\top X` of
# :class:`~skbn.SVDWhitener`. What these passes produce is small (a few numbers per
# feature, or one 6 x 6 matrix): it is merged and derived on the host in float64, by
# the same code as for a NumPy array, and the fitted attributes are published as
# tensors on ``X``'s device, in float64.
scaler = BatchStandardizer().fit(X)
whitener = SVDWhitener(method="zca").fit(X)
for name, value in [
    ("scaler.mean_", scaler.mean_),
    ("scaler.scale_", scaler.scale_),
    ("whitener.whitening_matrix_", whitener.whitening_matrix_),
]:
    print(
        f"{name}: {type(value).__name__} {tuple(value.shape)}, {value.dtype}, "
        f"on {value.device}"
    )

# %%
# ``transform`` maps the tensor on its device and returns a tensor of the same
# dtype; nothing goes through NumPy.
Z = scaler.transform(X)
W = whitener.transform(X)
print(f"transform returns a {type(Z).__name__} of {Z.dtype} on {Z.device}")
print("standardized means:", Z.mean(dim=0).abs().max().item())
print("standardized standard deviations:", Z.std(dim=0, correction=0))

# %%
# .. _plot_array_api_numpy_section:
#
# The same fit as NumPy's
# -----------------------
#
# The statistics are those of a NumPy fit of the same values, up to the order in
# which the sums are taken (about :math:`10^{-15}` relative), and so are the outputs.
X_numpy = X.cpu().numpy()
scaler_numpy = BatchStandardizer().fit(X_numpy)
whitener_numpy = SVDWhitener(method="zca").fit(X_numpy)


def max_rel_diff(a, b):
    """Largest difference between a tensor and an array, relative to the array."""
    a = a.cpu().numpy().astype(np.float64)
    return np.max(np.abs(a - b)) / np.max(np.abs(b))


print(f"mean_: {max_rel_diff(scaler.mean_, scaler_numpy.mean_):.1e}")
print(f"var_: {max_rel_diff(scaler.var_, scaler_numpy.var_):.1e}")
print(
    "whitening_matrix_: "
    f"{max_rel_diff(whitener.whitening_matrix_, whitener_numpy.whitening_matrix_):.1e}"
)
print(f"whitened X: {max_rel_diff(W, whitener_numpy.transform(X_numpy)):.1e}")

# %%
# .. _plot_array_api_float32_section:
#
# float32 stays float32
# ---------------------
#
# A float32 tensor gives a float32 output, mapped in float32 on the device; its
# statistics are still accumulated in float64 (where the device has float64; on
# one that does not, in float32). The map in float32 rounds the shift and the scale
# to float32, so the output agrees with the float64 computation to float32
# precision.
X32 = X.to(torch.float32)
scaler32 = BatchStandardizer().fit(X32)
Z32 = scaler32.transform(X32)
print(f"output: {Z32.dtype}; mean_: {scaler32.mean_.dtype}")

# The float64 computation on the same (float32) values, with NumPy.
X32_numpy = X32.cpu().numpy().astype(np.float64)
reference = BatchStandardizer().fit(X32_numpy).transform(X32_numpy)
print(f"float32 output vs float64: {max_rel_diff(Z32, reference):.1e}")
errors = {
    "float64 tensor": np.abs(Z.cpu().numpy() - scaler_numpy.transform(X_numpy)),
    "float32 tensor": np.abs(Z32.cpu().numpy() - reference),
}

# %%
# .. _plot_array_api_streaming_section:
#
# Streaming tensors
# -----------------
#
# ``partial_fit`` takes tensors too, batch by batch, and merges their statistics
# exactly: over any split of ``X``, the fit equals the one-shot fit.
streamed = SVDWhitener(method="zca")
for batch in torch.split(X, 25_000):
    streamed.partial_fit(batch)
print(
    "streamed vs one-shot covariance_: "
    f"{max_rel_diff(streamed.covariance_, whitener_numpy.covariance_):.1e}"
)

# %%
# .. _plot_array_api_figure_section:
#
# What whitening did, computed on the device
# ------------------------------------------
#
# The correlation matrix of the raw tensor and the covariance of the whitened one,
# both computed by torch where the tensors live; and, per feature, the largest
# difference between the standardized tensors and the float64 NumPy result.
correlation = torch.corrcoef(X.T).numpy()
covariance_whitened = torch.cov(W.T, correction=0).numpy()
print(
    "whitened covariance, max |difference from the identity|: "
    f"{np.abs(covariance_whitened - np.eye(n_features)).max():.1e}"
)

fig, axes = plt.subplots(1, 3, figsize=(14, 4.4), layout="constrained")
for ax, matrix, title in [
    (axes[0], correlation, "Raw tensor: correlation matrix"),
    (axes[1], covariance_whitened, "ZCA-whitened tensor: covariance"),
]:
    image = ax.imshow(matrix, cmap="RdBu_r", vmin=-1.0, vmax=1.0)
    ax.set(title=title, xlabel="feature", ylabel="feature")
fig.colorbar(image, ax=axes[:2], shrink=0.85, label="correlation, covariance")
features = np.arange(n_features)
floor = 1e-17  # where the two results are equal, the bar is drawn down to here
for offset, (label, error) in zip((-0.2, 0.2), errors.items(), strict=True):
    largest = np.maximum(error.max(axis=0), floor)
    axes[2].bar(features + offset, largest, width=0.4, label=label)
axes[2].set(
    title="Standardized: max |tensor - NumPy float64|",
    xlabel="feature",
    ylabel="largest absolute difference",
    yscale="log",
    ylim=(floor, 1e-2),
)
axes[2].legend(loc="upper left", ncols=2)
fig.suptitle("BatchStandardizer and SVDWhitener fitted on torch tensors")
plt.show()

# %%
# The raw features are strongly correlated (left); whitened by
# :class:`~skbn.SVDWhitener`, the tensor has the identity as covariance (middle).
# On the right, a float64 tensor gives the NumPy result to rounding error (the
# missing bars are features where the two are equal), and a float32 one agrees with
# the float64 computation to float32 precision: about :math:`10^{-7}` relative.
#
# .. _plot_array_api_numpy_copy_section:
#
# Back to NumPy
# -------------
#
# A fitted estimator holds its attributes on the device it was fitted on.
# :func:`~skbn.estimator_to_numpy` returns a copy whose array attributes are NumPy
# arrays, to be pickled, inspected, or used on NumPy data on a machine without the
# GPU; the estimator itself is left as it was.
host = estimator_to_numpy(whitener)
print(f"whitening_matrix_: {type(host.whitening_matrix_).__name__}")
print(f"original still has a {type(whitener.whitening_matrix_).__name__}")
np.testing.assert_allclose(host.transform(X_numpy[:5]), W[:5].cpu().numpy())

# %%
# Without the dispatch, scikit-learn and skbn take NumPy arrays as before. The
# dispatch is a global setting of scikit-learn: switch it off once done, or use
# ``with sklearn.config_context(array_api_dispatch=True):`` around the code that
# needs it.
sklearn.set_config(array_api_dispatch=False)
print(BatchStandardizer().fit(X_numpy).mean_.round(2))
