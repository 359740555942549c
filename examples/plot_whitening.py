r"""
=====================================================
Whitening: decorrelate, then scale to unit variance
=====================================================

Whitening maps data to zero mean and identity covariance: the features come out
uncorrelated and with unit variance, the multivariate analogue of standardization.
This example takes whitening apart step by step on a correlated 2-D cloud, compares the
five methods of :class:`~skbn.SVDWhitener` (ZCA, PCA, Cholesky, ZCA-cor, PCA-cor) and
measures on a real data set what each of them is best at, following Kessy, Lewin &
Strimmer (2018), "Optimal whitening and decorrelation", The American Statistician
72(4). It then shows that ZCA whitening of digit images keeps them images while
sharpening the contrast between neighbouring pixels, the role of the regularization
``eps``, the exact inverse, and the link with scikit-learn's ``PCA(whiten=True)``.
"""

# Authors: The skbn developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
# .. _plot_whitening_definition_section:
#
# What whitening is
# -----------------
#
# A random vector :math:`x` with mean :math:`\mu` and covariance :math:`\Sigma` is
# whitened by a matrix :math:`W` if :math:`z = W (x - \mu)` has the identity as
# covariance, that is if
#
# .. math::
#
#     W \Sigma W^\top = I \iff W^\top W = \Sigma^{-1}.
#
# This constraint fixes :math:`W` only up to a rotation: if :math:`W` whitens, so does
# :math:`Q W` for every orthogonal :math:`Q`. The ``method`` of
# :class:`~skbn.SVDWhitener` picks one rotation. skbn works on rows, as scikit-learn
# does: ``transform(X)`` returns ``(X - mean_) @ whitening_matrix_``, so
# ``whitening_matrix_`` is the transpose of the :math:`W` above. The covariance is the
# population one (divisor :math:`n`, ``ddof=0``), so the output has exactly unit
# variance with that divisor; see :ref:`conventions` and the user guide,
# :ref:`svd_whitener`.
#
# .. _plot_whitening_three_steps_section:
#
# Step by step: original, decorrelated, whitened
# ----------------------------------------------
#
# We draw 500 points from a 2-D Gaussian that is off-centre, elongated and tilted.
# With the eigendecomposition :math:`\Sigma = U \Lambda U^\top`, PCA whitening
# happens in two steps: centring and rotating onto the principal axes,
# :math:`U^\top (x - \mu)`, decorrelates the features; dividing each new axis by its
# standard deviation :math:`\sqrt{\lambda_i}` then makes the cloud round. The fitted
# ``components_`` of :class:`~skbn.SVDWhitener` hold :math:`U^\top` (the
# eigenvectors as rows) and ``explained_variance_`` holds :math:`\Lambda`.
import matplotlib.pyplot as plt
import numpy as np

from skbn import SVDWhitener

rng = np.random.default_rng(0)
true_mean = np.array([6.0, 3.0])
true_std = np.array([3.0, 1.8])
true_corr = 0.8
true_cov = np.outer(true_std, true_std) * np.array([[1.0, true_corr], [true_corr, 1.0]])
X = rng.multivariate_normal(true_mean, true_cov, size=500)

pca_whitener = SVDWhitener(method="pca").fit(X)
U = pca_whitener.components_.T  # eigenvectors as columns
decorrelated = (X - pca_whitener.mean_) @ U
whitened = pca_whitener.transform(X)

# The whitened data are the decorrelated data divided by the standard deviations.
np.testing.assert_allclose(
    whitened, decorrelated / np.sqrt(pca_whitener.explained_variance_)
)


def population_cov(data):
    """Covariance with divisor n (ddof=0), the convention of SVDWhitener."""
    return np.cov(data, rowvar=False, ddof=0)


steps = {"original": X, "decorrelated": decorrelated, "whitened": whitened}
for name, data in steps.items():
    print(f"covariance of the {name} data:\n{population_cov(data).round(3) + 0.0}")

# %%
# The covariance of the decorrelated data is diagonal, with the eigenvalues
# :math:`\lambda_1 > \lambda_2` on the diagonal; that of the whitened data is the
# identity. In the figure, the ellipse is the 2-sigma contour of each panel's
# covariance (the points :math:`v` with
# :math:`(v - \bar v)^\top C^{-1} (v - \bar v) = 4`), and the arrows are the principal
# axes, of length two standard deviations, followed through both steps.


def covariance_ellipse(data, n_std=2.0, n_points=200):
    """Points of the n_std contour of the data's covariance ellipse."""
    values, vectors = np.linalg.eigh(population_cov(data))
    angle = np.linspace(0.0, 2.0 * np.pi, n_points)
    circle = np.stack([np.cos(angle), np.sin(angle)])
    return data.mean(axis=0) + (n_std * (vectors * np.sqrt(values)) @ circle).T


# Principal axes (2 standard deviations long) in each space, as columns.
axes_original = U * 2.0 * np.sqrt(pca_whitener.explained_variance_)
arrows = {
    "original": axes_original,
    "decorrelated": U.T @ axes_original,
    "whitened": np.diag(1.0 / np.sqrt(pca_whitener.explained_variance_))
    @ U.T
    @ axes_original,
}
titles = {
    "original": "original: off-centre, tilted",
    "decorrelated": r"decorrelated: $U^\top (x - \mu)$",
    "whitened": r"whitened: $\Lambda^{-1/2} U^\top (x - \mu)$",
}
labels = {
    "original": ("$x_1$", "$x_2$"),
    "decorrelated": ("principal axis 1", "principal axis 2"),
    "whitened": ("whitened axis 1", "whitened axis 2"),
}

fig, axes = plt.subplots(1, 3, figsize=(12, 4.5), layout="constrained")
for ax, (name, data) in zip(axes, steps.items(), strict=True):
    ax.scatter(*data.T, s=6, alpha=0.4, color="tab:blue", label="samples")
    ax.plot(*covariance_ellipse(data).T, color="black", label="2-sigma ellipse")
    centre = data.mean(axis=0)
    for i, color in enumerate(["tab:red", "tab:orange"]):
        ax.quiver(
            *centre,
            *arrows[name][:, i],
            angles="xy",
            scale_units="xy",
            scale=1,
            color=color,
            width=0.008,
            headwidth=3.5,
            headlength=4,
            headaxislength=3.5,
            label=f"principal axis {i + 1}",
        )
    # The same scale in the first two panels: the rotation keeps distances.
    half_width = 4.0 if name == "whitened" else 11.0
    ax.set(
        title=titles[name],
        xlabel=labels[name][0],
        ylabel=labels[name][1],
        xlim=centre[0] + np.array([-half_width, half_width]),
        ylim=centre[1] + np.array([-half_width, half_width]),
        aspect="equal",
    )
axes[0].legend(loc="upper left", fontsize="small")
fig.suptitle("Whitening in two steps: rotate onto the principal axes, then rescale")
plt.show()
# sphinx_gallery_thumbnail_number = 1

# %%
# The first step is a rotation (plus a shift): the cloud keeps its shape and size and
# its ellipse becomes axis-aligned. The second step divides each axis by its standard
# deviation: the ellipse becomes a circle of radius 2, and the two arrows have equal
# lengths. Dividing the *original* features by their standard deviations, as
# :class:`~skbn.BatchStandardizer` does, would not make the cloud round: it rescales
# along the coordinate axes and leaves the correlation (see
# :ref:`sphx_glr_auto_examples_plot_standardization.py`).
#
# .. _plot_whitening_five_methods_section:
#
# Five whitening methods
# ----------------------
#
# Any rotation of the round cloud is still white. Kessy et al. single out five
# choices of :math:`W`, which :class:`~skbn.SVDWhitener` offers as ``method``. With
# :math:`V` the diagonal matrix of variances and
# :math:`P = V^{-1/2} \Sigma V^{-1/2} = G \Theta G^\top` the correlation matrix, in the
# paper's column notation:
#
# .. math::
#
#     W_{\mathrm{ZCA}} = U \Lambda^{-1/2} U^\top = \Sigma^{-1/2}, \quad
#     W_{\mathrm{PCA}} = \Lambda^{-1/2} U^\top, \quad
#     W_{\mathrm{Chol}} = L^{-1} \ (\Sigma = L L^\top),
#
# .. math::
#
#     W_{\mathrm{ZCA\text{-}cor}} = P^{-1/2} V^{-1/2}, \quad
#     W_{\mathrm{PCA\text{-}cor}} = \Theta^{-1/2} G^\top V^{-1/2}.
#
# We apply all five to the same data and colour every point by its angle around the
# mean in the *original* data, a fixed property, so that the colours show how each
# method rotates the cloud. (The angle is taken after dividing each feature by its
# standard deviation, so that the colours spread evenly over the elongated cloud.)
# The black arrow is the long principal axis of the original data, two standard
# deviations long, and its image under each whitening.
methods = ["zca", "pca", "cholesky", "zca_cor", "pca_cor"]
method_names = {
    "zca": "ZCA",
    "pca": "PCA",
    "cholesky": "Cholesky",
    "zca_cor": "ZCA-cor",
    "pca_cor": "PCA-cor",
}
whiteners = {method: SVDWhitener(method=method).fit(X) for method in methods}
outputs = {method: whiteners[method].transform(X) for method in methods}

standardized = (X - X.mean(axis=0)) / X.std(axis=0)
angle = np.degrees(np.arctan2(standardized[:, 1], standardized[:, 0]))

mosaic = [
    ["original", *methods],
    ["text", *(f"cov {method}" for method in methods)],
]
fig, axd = plt.subplot_mosaic(
    mosaic,
    figsize=(12, 5),
    layout="constrained",
    height_ratios=[1.0, 0.8],
    empty_sentinel="text",
)
scatter_kwargs = {"c": angle, "cmap": "hsv", "vmin": -180, "vmax": 180, "s": 5}


def direction(vector):
    """Angle of a 2-D vector with the first axis, in degrees."""
    return np.round(np.degrees(np.arctan2(vector[1], vector[0])), 1) + 0.0


# The long principal axis of the original data (2 standard deviations), and where
# each method sends it: the displacement v becomes v @ whitening_matrix_.
long_axis = axes_original[:, 0]
arrow_kwargs = {
    "angles": "xy",
    "scale_units": "xy",
    "scale": 1,
    "color": "black",
    "width": 0.02,
    "headwidth": 3,
    "headlength": 3.5,
    "headaxislength": 3,
}
points = axd["original"].scatter(*X.T, **scatter_kwargs)
axd["original"].quiver(*X.mean(axis=0), *long_axis, **arrow_kwargs)
axd["original"].set(
    title="original data",
    xlabel="$x_1$",
    ylabel="$x_2$",
    xlim=X[:, 0].mean() + np.array([-10.0, 10.0]),
    ylim=X[:, 1].mean() + np.array([-10.0, 10.0]),
    aspect="equal",
)
for method in methods:
    ax = axd[method]
    ax.scatter(*outputs[method].T, **scatter_kwargs)
    ax.quiver(
        0.0, 0.0, *(long_axis @ whiteners[method].whitening_matrix_), **arrow_kwargs
    )
    ax.set(
        title=method_names[method],
        xlabel="$z_1$",
        ylabel="$z_2$",
        xlim=(-4, 4),
        ylim=(-4, 4),
        aspect="equal",
    )
    ax = axd[f"cov {method}"]
    cov = population_cov(outputs[method])
    image = ax.imshow(cov, cmap="RdBu_r", vmin=-1.0, vmax=1.0)
    for (i, j), value in np.ndenumerate(cov):
        color = "white" if abs(value) > 0.5 else "black"
        ax.text(
            j,
            i,
            f"{np.round(value, 2) + 0.0:.2f}",
            ha="center",
            va="center",
            color=color,
        )
    ax.set(
        title=f"cov(Z), {method_names[method]}",
        xlabel="feature",
        ylabel="feature",
        xticks=[0, 1],
        yticks=[0, 1],
    )
fig.colorbar(
    points,
    ax=[axd["original"], *(axd[method] for method in methods)],
    label="angle in the original data (degrees)",
    shrink=0.8,
)
fig.colorbar(
    image,
    ax=[axd[f"cov {method}"] for method in methods],
    label="covariance",
    shrink=0.8,
)
fig.suptitle("The same data whitened by the five methods of SVDWhitener")
plt.show()

print(
    f"direction of the long axis in the original data: {direction(long_axis):5.1f} deg"
)
for method in methods:
    cov = population_cov(outputs[method])
    print(
        f"{method_names[method]:>8}: max |cov(Z) - I| = "
        f"{np.abs(cov - np.eye(2)).max():.1e}, long axis sent to "
        f"{direction(long_axis @ whiteners[method].whitening_matrix_):5.1f} deg"
    )

# %%
# All five outputs have the identity as covariance (up to rounding) and differ only by
# a rotation: the colour wheel turns, and the arrow, two standard deviations long in
# the original data, has length 2 in every whitened space. ZCA is the only method
# that leaves the long axis where it was: :math:`\Sigma^{-1/2}` shrinks the data along
# the principal axes without turning them, and its output stays the closest to the
# input. ZCA-cor stays closest to the *standardized* data instead, so in the original
# units the arrow turns a little. PCA turns the long axis onto the first output, so
# that :math:`z_1` is the first principal component; PCA-cor does the same with the
# long axis of the standardized data. Cholesky whitening is triangular: its first
# output depends only on the first feature, :math:`z_1 = (x_1 - \mu_1) / \sigma_1`,
# so the whitening matrix has a zero below its diagonal (skbn's
# ``whitening_matrix_`` is the transpose of the paper's lower-triangular :math:`W`):
print("Cholesky whitening_matrix_:\n", whiteners["cholesky"].whitening_matrix_.round(4))
print("1 / standard deviation of x_1:", (1.0 / X[:, 0].std()).round(4))

# %%
# .. _plot_whitening_which_method_section:
#
# Which method to pick
# --------------------
#
# Kessy et al. characterize each method as the optimum of a criterion on the
# cross-covariance :math:`\Phi = \operatorname{cov}(z, x) = W \Sigma` and the
# cross-correlation :math:`\Psi = \operatorname{cor}(z, x) = \Phi V^{-1/2}` between
# whitened and original variables:
#
# - **ZCA** maximizes :math:`\operatorname{tr}(\Phi)`, the average cross-covariance
#   :math:`\operatorname{cov}(z_i, x_i)` between each whitened variable and its
#   original: the output stays closest to the centred input (in mean squared
#   distance).
# - **ZCA-cor** maximizes :math:`\operatorname{tr}(\Psi)`, the average correlation
#   between each whitened variable and its original. It is scale-invariant, and it is
#   the method Kessy et al. recommend for sphered variables that are most similar to
#   the original ones.
# - **PCA** gives maximal compression: for every :math:`k`, its first :math:`k`
#   components carry the largest share of the original total variance, measured by the
#   squared cross-covariances :math:`\sum_{i \le k} \sum_j \phi_{ij}^2` (for PCA this
#   is :math:`\lambda_1 + \dots + \lambda_k`). Whatever the method, the sum over all
#   components is :math:`\operatorname{tr}(\Sigma)`.
# - **PCA-cor** does the same for the squared cross-correlations, that is for the
#   variance of the standardized variables (total :math:`\operatorname{tr}(P) = d`).
#   Kessy et al. recommend it to compress standardized variables.
# - **Cholesky** gives a triangular :math:`W`, and its result depends on the order of
#   the variables.
#
# skbn's default is ``method="zca"``; when the features are on different scales
# ``"zca_cor"`` is the scale-invariant choice. We make this quantitative on the wine
# data set, whose 13 features have standard deviations from about 0.1 to about 300.
from sklearn.datasets import load_wine

X_wine = load_wine().data
n_samples, n_features = X_wine.shape
std_wine = X_wine.std(axis=0)
print(
    f"wine: {n_samples} samples, feature std from {std_wine.min():.2f} "
    f"to {std_wine.max():.1f}"
)
proline_share = std_wine[-1] ** 2 / np.sum(std_wine**2)
print(f"share of proline (last feature) in the total variance: {proline_share:.4f}")

k = 2
columns = [
    "max |cov(Z) - I|",
    "mean cov(z_i, x_i)",
    "mean cor(z_i, x_i)",
    f"var. in first {k}",
    f"std. var. in first {k}",
]
results = {}
for method in methods:
    whitener = SVDWhitener(method=method).fit(X_wine)
    Z = whitener.transform(X_wine)
    Zc, Xc = Z - Z.mean(axis=0), X_wine - X_wine.mean(axis=0)
    phi = Zc.T @ Xc / n_samples  # phi[i, j] = cov(z_i, x_j)
    psi = phi / std_wine  # psi[i, j] = cor(z_i, x_j), as z_i has unit variance
    values = [
        np.abs(population_cov(Z) - np.eye(n_features)).max(),
        np.diag(phi).mean(),
        np.diag(psi).mean(),
        (phi[:k] ** 2).sum() / np.trace(population_cov(X_wine)),
        (psi[:k] ** 2).sum() / n_features,
    ]
    results[method] = dict(zip(columns, values, strict=True))
print(f"{'method':>8}" + "".join(f"{column:>22}" for column in columns))
for method in methods:
    row = [results[method][column] for column in columns]
    print(
        f"{method_names[method]:>8}{row[0]:>22.1e}"
        + "".join(f"{value:>22.4f}" for value in row[1:])
    )

# For PCA, the squared cross-covariances add up to the leading eigenvalues.
pca_wine = SVDWhitener(method="pca").fit(X_wine)
print(
    "PCA, first eigenvalues / total variance:",
    round(pca_wine.explained_variance_[:k].sum() / np.trace(pca_wine.covariance_), 4),
)

# %%
# The whitened covariances are the identity up to rounding. ZCA and PCA lose a few
# more digits than the other methods: they take the eigendecomposition of the wine
# covariance, whose condition number is about :math:`10^7`, while the ``_cor`` methods
# decompose the far better conditioned correlation matrix.
print(f"condition number of the covariance: {np.linalg.cond(pca_wine.covariance_):.1e}")
print(
    "condition number of the correlation matrix: "
    f"{np.linalg.cond(np.corrcoef(X_wine, rowvar=False)):.1f}"
)

# %%
# The figure shows the last three columns of the table.

fig, axes = plt.subplots(1, 3, figsize=(12, 4), layout="constrained")
names = [method_names[method] for method in methods]
panels = [
    (
        "mean cor(z_i, x_i)",
        "average correlation with\nthe original variable",
        "Similarity (ZCA-cor is best)",
    ),
    (
        f"var. in first {k}",
        "share of the total variance",
        f"Compression, first {k} outputs (PCA is best)",
    ),
    (
        f"std. var. in first {k}",
        "share of the standardized variance",
        f"Compression, first {k} outputs (PCA-cor is best)",
    ),
]
for ax, (column, ylabel, title) in zip(axes, panels, strict=True):
    values = [results[method][column] for method in methods]
    best = int(np.argmax(values))
    colors = ["tab:orange" if i == best else "tab:blue" for i in range(len(methods))]
    bars = ax.bar(names, values, color=colors)
    ax.bar_label(bars, fmt="%.2f", fontsize="small")
    ax.set(title=title, xlabel="whitening method", ylabel=ylabel, ylim=(0, 1.1))
fig.suptitle("Wine data: what each whitening method is optimal for")
plt.show()

# %%
# ZCA-cor gives the whitened variables most correlated, on average, with their
# original variables, closely followed by ZCA; PCA and PCA-cor, whose outputs are
# principal components rather than modified copies of the features, are far behind.
# (ZCA has the largest average cross-covariance, the criterion it maximizes, but that
# average is dominated by the feature with the largest variance.) Conversely, the
# first two PCA components carry almost all of the total variance, because one feature
# (proline) dominates it, and the first two PCA-cor components carry the largest share
# of the standardized variance. For ZCA, ZCA-cor and Cholesky the first two outputs
# are tied to the first two features (alcohol and malic acid), and what they carry
# depends on the order of the features: these methods are not meant to compress.
#
# .. _plot_whitening_digits_section:
#
# ZCA whitening of images, and the role of ``eps``
# ------------------------------------------------
#
# ZCA is the symmetric whitening, :math:`W = \Sigma^{-1/2}`, the one that changes the
# data least: output pixel :math:`i` stays tied to input pixel :math:`i`, so the
# output is still an image. Neighbouring pixels are positively correlated, so smooth
# patterns have larger variance than patterns that alternate from pixel to pixel;
# dividing every principal direction by its standard deviation damps the former and
# boosts the latter: whitening sharpens the contrast between neighbouring pixels,
# and ZCA shows it as an image. We whiten the 8x8 digit images of scikit-learn (64
# pixels with values 0 to 16).
#
# Some pixels are 0 in every image, so the covariance is singular and some of its
# eigenvalues are (almost) zero. ``eps`` regularizes the whitening: it is added to every
# eigenvalue, :math:`1 / \sqrt{\lambda} \to 1 / \sqrt{\lambda + \varepsilon}`, so that
# the directions of variance much smaller than :math:`\varepsilon` are damped instead
# of being blown up. The price is that the output is only approximately white: the
# direction of variance :math:`\lambda` comes out with variance
# :math:`\lambda / (\lambda + \varepsilon)`. (Without ``eps``, skbn maps the
# directions of zero variance to 0 with a warning.) We compare a small ``eps`` with
# one of the order of the pixel variances.
from sklearn.datasets import load_digits

digits = load_digits()
X_digits = digits.data
pixel_var = X_digits.var(axis=0)
eigenvalues = np.linalg.eigvalsh(population_cov(X_digits))
print(
    f"constant pixels: {np.sum(pixel_var == 0)}, "
    f"mean pixel variance: {pixel_var.mean():.1f}"
)
print(f"covariance eigenvalues from {eigenvalues.min():.1e} to {eigenvalues.max():.1f}")

# Correlation of horizontally and vertically adjacent pixels (non-constant ones).
pixel = np.arange(64).reshape(8, 8)
pairs = np.concatenate(
    [
        np.column_stack([pixel[:, :-1].ravel(), pixel[:, 1:].ravel()]),
        np.column_stack([pixel[:-1].ravel(), pixel[1:].ravel()]),
    ]
)
pairs = pairs[np.all(pixel_var[pairs] > 0, axis=1)]
pixel_cov = population_cov(X_digits)
neighbour_corr = pixel_cov[pairs[:, 0], pairs[:, 1]] / np.sqrt(
    pixel_var[pairs[:, 0]] * pixel_var[pairs[:, 1]]
)
print(f"mean correlation of adjacent pixels: {neighbour_corr.mean():.2f}")

small_eps, large_eps = 0.1, 10.0
zca_small = SVDWhitener(method="zca", eps=small_eps).fit(X_digits)
zca_large = SVDWhitener(method="zca", eps=large_eps).fit(X_digits)
pca_large = SVDWhitener(method="pca", eps=large_eps).fit(X_digits)
Z_small = zca_small.transform(X_digits)
Z_large = zca_large.transform(X_digits)


def roughness(images):
    """Mean squared difference of adjacent pixels, over twice the mean square.

    Larger when neighbouring pixels contrast more.
    """
    images = images.reshape(-1, 8, 8)
    across = np.mean(np.diff(images, axis=2) ** 2)
    down = np.mean(np.diff(images, axis=1) ** 2)
    return (across + down) / (2.0 * np.mean(images**2))


print(f"roughness of the centred digits: {roughness(X_digits - X_digits.mean(0)):.2f}")
for name, Z in [(f"eps={small_eps:g}", Z_small), (f"eps={large_eps:g}", Z_large)]:
    print(
        f"ZCA, {name}: roughness {roughness(Z):.2f}, "
        f"largest |whitened pixel| {np.abs(Z).max():.1f}"
    )
# Each output pixel has its largest weight on the same input pixel.
weights = np.abs(zca_large.whitening_matrix_)
print(
    "filters peaked on their own pixel:",
    np.all(weights.argmax(axis=0) == np.arange(64)),
)

# Five digits, and the image with the most extreme whitened pixel under small eps.
outlier = int(np.abs(Z_small).max(axis=1).argmax())
hot = int(np.abs(Z_small[outlier]).argmax())
print(
    f"image {outlier}: value {X_digits[outlier, hot]:g} at pixel (row, column) "
    f"{divmod(hot, 8)}, which is 0 in {np.mean(X_digits[:, hot] == 0):.1%} "
    "of the images"
)
shown = np.array([0, 1, 2, 3, 4, outlier])
rows = {
    "original": X_digits[shown],
    f"ZCA, eps={small_eps:g}": Z_small[shown],
    f"ZCA, eps={large_eps:g}": Z_large[shown],
    f"PCA, eps={large_eps:g}": pca_large.transform(X_digits[shown]),
}

fig, axes = plt.subplots(len(rows), len(shown), figsize=(10, 7.5), layout="constrained")
for row_axes, (row_name, images) in zip(axes, rows.items(), strict=True):
    for ax, image, index in zip(row_axes, images, shown, strict=True):
        if row_name == "original":
            ax.imshow(image.reshape(8, 8), cmap="gray", vmin=0, vmax=16)
        else:
            limit = np.abs(image).max()
            ax.imshow(image.reshape(8, 8), cmap="gray", vmin=-limit, vmax=limit)
        ax.set(
            title=(
                f"image {index}: a {digits.target[index]}"
                if row_name == "original"
                else f"image {index}, {row_name.split(',')[0]}"
            ),
            xlabel="pixel column",
            ylabel="pixel row",
            xticks=[],
            yticks=[],
        )
        ax.title.set_fontsize("x-small")
        ax.xaxis.label.set_fontsize("x-small")
        ax.yaxis.label.set_fontsize("x-small")
    row_axes[0].set_ylabel(f"{row_name}\npixel row", fontsize="small")
fig.suptitle(
    "Digits before and after whitening (whitened: each image scaled to its largest"
    " |value|, 0 is mid-grey)"
)
plt.show()

# %%
# On the first five digits both ``eps`` give similar pictures: the mean digit has
# been subtracted, the strokes stand out against the mid-grey background, and
# adjacent pixels contrast more than in the original (the roughness printed above
# grows from the centred digits to the whitened ones, and more so for the smaller
# ``eps``). The difference is in the directions of tiny variance. The last image has
# ink on a pixel that is blank in almost every other image: with ``eps=0.1`` that
# rare ink is amplified to a whitened value near 20 and dominates the picture, while
# ``eps=10``, about half the mean pixel variance, keeps it in proportion and the
# digit stays visible.
#
# PCA whitening with the same ``eps`` carries the same information, but its output
# is not an image any more: its 64 values are the principal components in decreasing
# order of variance (the last rows, components of variance far below ``eps``, are
# strongly damped), and reshaping them to 8x8 gives no picture. Only ZCA (and
# ZCA-cor) keep the pixel layout, which is why ZCA is the whitening of choice when
# the output must stay an image.
#
# .. _plot_whitening_inverse_section:
#
# Inverse transform, and scikit-learn's PCA(whiten=True)
# ------------------------------------------------------
#
# With every direction kept (``n_components=None`` and no direction of zero
# variance), whitening is invertible: ``inverse_transform`` returns
# ``Z @ dewhitening_matrix_ + mean_``, the original data up to rounding.
for method in methods:
    whitener = SVDWhitener(method=method).fit(X_wine)
    error = np.abs(whitener.inverse_transform(whitener.transform(X_wine)) - X_wine)
    print(f"{method_names[method]:>8}: max reconstruction error {error.max():.1e}")

# %%
# ``method="pca"`` is the whitening of :class:`~sklearn.decomposition.PCA` with
# ``whiten=True``, up to two conventions. scikit-learn divides by the standard
# deviations of the sample covariance (divisor :math:`n - 1`), skbn by those of the
# population covariance (divisor :math:`n`), so scikit-learn's output is skbn's times
# :math:`\sqrt{(n - 1) / n}`. And an eigenvector is defined up to its sign:
# scikit-learn flips each component by its own rule (``svd_flip``), while skbn follows
# Kessy et al. and gives the eigenvector matrix a positive diagonal.
from sklearn.decomposition import PCA

Z_skbn = SVDWhitener(method="pca").fit_transform(X_wine)
Z_sklearn = PCA(whiten=True).fit_transform(X_wine)
ddof_factor = np.sqrt((n_samples - 1) / n_samples)
signs = np.sign(np.sum(Z_skbn * Z_sklearn, axis=0))
print(f"components with opposite signs: {np.flatnonzero(signs < 0)}")
print(f"max |Z_sklearn - Z_skbn| as is: {np.abs(Z_sklearn - Z_skbn).max():.2f}")
difference = np.abs(Z_sklearn - signs * ddof_factor * Z_skbn).max()
print(f"max |Z_sklearn - signs * sqrt((n - 1) / n) * Z_skbn|: {difference:.1e}")

# %%
# After the :math:`\sqrt{(n - 1) / n}` factor and the sign flips, the two agree to
# about :math:`10^{-10}`: rounding errors of two different computations on a
# covariance with condition number :math:`10^7` (scikit-learn takes the SVD of the
# data, skbn the eigendecomposition of the covariance, which it can update batch by
# batch; see :ref:`sphx_glr_auto_examples_plot_streaming.py`).
# :class:`~skbn.SVDWhitener` adds the four other whitening methods, ``eps`` and
# ``partial_fit`` to this.
