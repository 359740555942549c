"""
===============================================
Normalized inputs allow a larger learning rate
===============================================

Gradient descent on a least-squares problem whose two input features have very
different scales must take small steps: the largest stable learning rate is set by
the steepest direction of the loss, and along the flat direction the weights then
crawl. After standardizing the features with :class:`~skbn.BatchStandardizer` the
same problem accepts a learning rate more than a hundred times larger and reaches the
optimum in a handful of steps instead of several hundred. This example draws the loss
surfaces and the descent paths, and sweeps the learning rate on both problems.
"""

# Authors: The skbn developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
# .. _plot_learning_rate_data_section:
#
# A least-squares problem with two badly scaled features
# ------------------------------------------------------
#
# Two features, the first with standard deviation 1 and the second with standard
# deviation 15 (as happens when features come in different units), correlated a
# little (:math:`\rho = 0.3`). The target is a noisy linear function of them,
# :math:`y = X w + \varepsilon`. The features and the target are centred, so the model
# needs no intercept. Centring alone is :class:`~skbn.BatchStandardizer` with
# ``with_std=False``.
#
# The loss and its gradient are
#
# .. math::
#
#     L(w) = \frac{1}{2n} \lVert X w - y \rVert^2, \qquad
#     \nabla L(w) = \frac{1}{n} X^\top (X w - y),
#
# and its Hessian is the constant matrix :math:`H = X^\top X / n`. Gradient descent
# with learning rate :math:`\eta` converges if and only if
# :math:`\eta < 2 / \lambda_{\max}(H)`, and along the eigenvector of the smallest
# eigenvalue the error shrinks by the factor :math:`1 - \eta \lambda_{\min}` per step.
# With :math:`\eta` just below :math:`2 / \lambda_{\max}` that factor is about
# :math:`1 - 2 / \kappa`, where :math:`\kappa = \lambda_{\max} / \lambda_{\min}` is the
# condition number: the larger :math:`\kappa`, the slower the descent.
import matplotlib.pyplot as plt
import numpy as np

from skbn import BatchStandardizer

rng = np.random.default_rng(0)
n_samples = 200
z = rng.standard_normal((n_samples, 2))
X_raw = np.column_stack(
    [z[:, 0], 15.0 * (0.3 * z[:, 0] + np.sqrt(1 - 0.3**2) * z[:, 1])]
)
w_true = np.array([2.0, 0.2])
y = X_raw @ w_true + rng.normal(scale=1.0, size=n_samples)

X_centred = BatchStandardizer(with_std=False).fit_transform(X_raw)
y = y - y.mean()
print("feature standard deviations:", X_centred.std(axis=0).round(2))

# %%
# Standardizing the features
# --------------------------
#
# :class:`~skbn.BatchStandardizer` with its default parameters is scikit-learn's
# :class:`~sklearn.preprocessing.StandardScaler`: each feature minus its mean, divided
# by its population standard deviation (see :ref:`batch_standardizer`). The
# standardized model :math:`X_s v` describes the same linear functions as the raw one,
# with :math:`w_j = v_j / s_j`, so the two problems have the same smallest loss and
# their losses can be compared point for point.
from sklearn.preprocessing import StandardScaler

scaler = BatchStandardizer()
X_std = scaler.fit_transform(X_raw)
np.testing.assert_allclose(X_std, StandardScaler().fit_transform(X_raw), atol=1e-12)

problems = {"raw": X_centred, "standardized": X_std}
optimum, min_loss, hessian = {}, {}, {}
for name, X in problems.items():
    optimum[name] = np.linalg.lstsq(X, y, rcond=None)[0]
    min_loss[name] = np.mean((X @ optimum[name] - y) ** 2) / 2
    hessian[name] = X.T @ X / n_samples

print("raw optimum w:                 ", optimum["raw"].round(4))
print(
    "standardized optimum v / scale_:",
    (optimum["standardized"] / scaler.scale_).round(4),
)
print(
    f"smallest loss: raw {min_loss['raw']:.6f}, "
    f"standardized {min_loss['standardized']:.6f}"
)

# %%
# The eigenvalues of the Hessian tell how far apart the two problems are. The raw
# Hessian has one eigenvalue close to the variance of the second feature and one
# below 1; the standardized Hessian is the features' correlation matrix, whose
# eigenvalues are :math:`1 \pm r`, with :math:`r` the sample correlation.
eigenvalues = {name: np.linalg.eigvalsh(H) for name, H in hessian.items()}
stability_limit = {name: 2 / lam[-1] for name, lam in eigenvalues.items()}
for name, lam in eigenvalues.items():
    print(
        f"{name:>12}: eigenvalues {lam.round(3)}, condition number "
        f"{lam[-1] / lam[0]:7.2f}, stability limit 2 / lambda_max = "
        f"{stability_limit[name]:.4f}"
    )
ratio = stability_limit["standardized"] / stability_limit["raw"]
print(f"the standardized problem's stability limit is {ratio:.0f} times larger")

# %%
# .. _plot_learning_rate_paths_section:
#
# Loss surfaces and descent paths
# -------------------------------
#
# Gradient descent written out, from :math:`w = 0` (the same zero model in both
# parametrizations), for the same number of steps on both problems, each with a
# learning rate at 90% of its own stability limit :math:`2 / \lambda_{\max}`:
#
# .. math::
#
#     w \leftarrow w - \eta \, \frac{1}{n} X^\top (X w - y).


def gradient_descent_path(X, y, learning_rate, n_steps):
    """Weights after each gradient-descent step, starting from zero."""
    w = np.zeros(X.shape[1])
    path = [w]
    for _ in range(n_steps):
        w = w - learning_rate * (X.T @ (X @ w - y)) / X.shape[0]
        path.append(w)
    return np.array(path)


n_path_steps = 40
learning_rate = {name: 0.9 * limit for name, limit in stability_limit.items()}
paths = {
    name: gradient_descent_path(X, y, learning_rate[name], n_path_steps)
    for name, X in problems.items()
}


def excess_loss(X, W, name):
    """Loss above the optimum for each row of W (one weight vector per row)."""
    return np.mean((X @ W.T - y[:, None]) ** 2, axis=0) / 2 - min_loss[name]


initial_excess = excess_loss(X_centred, np.zeros((1, 2)), "raw")[0]
for name, X in problems.items():
    remaining = excess_loss(X, paths[name][-1:], name)[0] / initial_excess
    print(
        f"{name:>12}: learning rate {learning_rate[name]:.4f}, excess loss after "
        f"{n_path_steps} steps = {remaining:.2e} of the initial excess loss"
    )

# %%
# The contours are drawn at the same loss values in both panels, and both panels keep
# equal scales on their two axes, so that the ellipses have their true shape. A third
# panel follows the excess loss along the two paths.
levels = np.sort(initial_excess * np.logspace(0, -4, 9)) + min_loss["raw"]
limits = {
    "raw": ((-0.4, 2.6), (-0.05, 0.5)),
    "standardized": ((-1.0, 4.5), (-0.5, 5.5)),
}
fig, axes = plt.subplot_mosaic(
    [["raw", "raw"], ["standardized", "curve"]],
    figsize=(11, 8),
    layout="constrained",
    height_ratios=[1, 2],
)
colors = {"raw": "tab:orange", "standardized": "tab:blue"}
for name, X in problems.items():
    ax = axes[name]
    (x_lo, x_hi), (y_lo, y_hi) = limits[name]
    g1, g2 = np.meshgrid(np.linspace(x_lo, x_hi, 200), np.linspace(y_lo, y_hi, 200))
    grid = np.column_stack([g1.ravel(), g2.ravel()])
    loss = (excess_loss(X, grid, name) + min_loss[name]).reshape(g1.shape)
    contours = ax.contour(g1, g2, loss, levels=levels, cmap="viridis")
    ax.clabel(contours, fmt="%.2g", fontsize=7)
    path = paths[name]
    ax.plot(
        path[:, 0],
        path[:, 1],
        "o-",
        color="tab:red",
        ms=3,
        lw=1,
        label=f"gradient descent, {n_path_steps} steps",
    )
    ax.plot(*optimum[name], "k*", ms=14, label="optimum")
    ax.plot(0, 0, "s", color="tab:red", ms=6, label="start")
    ax.set_aspect("equal")
    ax.set(xlim=(x_lo, x_hi), ylim=(y_lo, y_hi))
    relative = excess_loss(X, path, name) / initial_excess
    axes["curve"].semilogy(
        relative, "o-", ms=3, color=colors[name], label=f"{name} features"
    )
axes["raw"].legend(loc="lower right", fontsize=8)
axes["standardized"].legend(loc="upper left", fontsize=8)
axes["raw"].set(
    title=f"Raw features: learning rate {learning_rate['raw']:.4f}",
    xlabel="w1 (weight of the std-1 feature)",
    ylabel="w2 (weight of the std-15 feature)",
)
axes["standardized"].set(
    title=f"Standardized features: learning rate {learning_rate['standardized']:.3f}",
    xlabel="v1 (weight of standardized feature 1)",
    ylabel="v2 (weight of standardized feature 2)",
)
axes["curve"].set(
    title="Excess loss along the two paths",
    xlabel="gradient-descent step",
    ylabel="excess loss / initial excess loss",
)
axes["curve"].legend()
fig.suptitle("Loss contours and gradient descent at 90% of the stability limit")
plt.show()

# %%
# On the raw features (top) the contours are long, thin ellipses: the loss is far more
# curved across the valley than along it (the ratio is the condition number printed
# above). The learning rate has to stay below :math:`2 / \lambda_{\max}`, or the steps
# across the valley grow without bound; at such a learning rate the path first
# zigzags across the valley and then crawls along its floor, and after 40 steps it has
# gone only a small part of the way to the optimum. On the standardized features
# (bottom left) the contours are nearly round, the stable learning rate is much
# larger, and the excess loss falls by a constant factor at every step (bottom
# right). The remaining elongation of the standardized contours, a ratio of
# :math:`\sqrt{\kappa}` between their axes, comes from the correlation between the
# features; standardization leaves it, whitening removes it (see
# :ref:`sphx_glr_auto_examples_plot_whitening.py`).
#
# .. _plot_learning_rate_sweep_section:
#
# Sweeping the learning rate
# --------------------------
#
# Now gradient descent runs for many learning rates at once: the weights of all runs
# are the columns of one matrix, and each step is the same written-out update. A run
# whose loss grows past :math:`10^8` times its initial value is stopped as diverged.
# For each learning rate we record the excess loss after 100 steps and the number of
# steps needed to bring the excess loss below :math:`10^{-6}` of its initial value.
learning_rates = np.logspace(-4, 1, 251)
n_sweep_steps, max_steps, tolerance = 100, 3000, 1e-6


def sweep(X, name):
    W = np.zeros((X.shape[1], learning_rates.size))
    active = np.ones(learning_rates.size, dtype=bool)
    excess_at_n = np.full(learning_rates.size, np.inf)
    steps_needed = np.full(learning_rates.size, np.nan)
    for step in range(1, max_steps + 1):
        Wa = W[:, active]
        gradient = X.T @ (X @ Wa - y[:, None]) / len(y)
        W[:, active] = Wa - learning_rates[active] * gradient
        relative = excess_loss(X, W[:, active].T, name) / initial_excess
        index = np.flatnonzero(active)
        if step == n_sweep_steps:
            excess_at_n[index] = relative
        steps_needed[index[(relative < tolerance) & np.isnan(steps_needed[index])]] = (
            step
        )
        # A diverged run stops at once (its excess loss after 100 steps counts as
        # infinite); a converged one runs on to the 100th step.
        done = relative > 1e8
        if step >= n_sweep_steps:
            done |= relative < tolerance
        active[index[done]] = False
        if not active.any():
            break
    return excess_at_n, steps_needed


results = {name: sweep(X, name) for name, X in problems.items()}
for name, (excess_at_n, steps_needed) in results.items():
    converges = learning_rates[excess_at_n < 1]
    best = np.nanargmin(steps_needed)
    print(
        f"{name:>12}: loss decreases for learning rates up to {converges.max():.4f} "
        f"(2 / lambda_max = {stability_limit[name]:.4f}); fewest steps to 1e-6: "
        f"{steps_needed[best]:.0f} at learning rate {learning_rates[best]:.4f}"
    )

# %%
# In the left panel, runs whose loss grew are drawn at most at :math:`10^{3}` times
# the initial excess loss, and excess losses below :math:`10^{-15}` (the rounding
# level of the computed loss) at :math:`10^{-15}`. Runs that did not reach the
# tolerance within 3000 steps are missing from the right panel.
fig, (ax_loss, ax_steps) = plt.subplots(1, 2, figsize=(11, 4.5), layout="constrained")
for name, (excess_at_n, steps_needed) in results.items():
    shown = np.clip(excess_at_n, 1e-15, 1e3)
    ax_loss.loglog(learning_rates, shown, color=colors[name], label=name)
    ax_steps.loglog(learning_rates, steps_needed, color=colors[name], label=name)
    for ax in (ax_loss, ax_steps):
        ax.axvline(
            stability_limit[name],
            color=colors[name],
            ls="--",
            lw=1,
            label=f"2 / lambda_max ({name})",
        )
ax_loss.axhline(1, color="gray", ls=":", lw=1, label="initial excess loss")
ax_loss.set(
    title=f"Excess loss after {n_sweep_steps} steps",
    xlabel="learning rate",
    ylabel="excess loss / initial excess loss",
    ylim=(3e-16, 1e4),
)
ax_steps.set(
    title=f"Steps to reach {tolerance:.0e} of the initial excess loss",
    xlabel="learning rate",
    ylabel="gradient-descent steps",
)
ax_loss.legend(fontsize=8, loc="lower left")
ax_steps.legend(fontsize=8, loc="lower left")
fig.suptitle("Gradient descent against the learning rate, raw and standardized inputs")
plt.show()

# %%
# On the raw features the loss decreases only for learning rates below
# :math:`2 / \lambda_{\max}` (dashed orange line) and grows above it, and even at the
# best learning rate the flat direction needs hundreds of steps. The standardized
# problem converges for every learning rate up to its own, much larger, limit (dashed
# blue line), and near that limit it needs only a handful of steps.
#
# Note what standardizing does *not* do: at a small learning rate, where both problems
# are stable, the two need about as many steps (the curves on the right overlap), since
# the flat direction has a similar curvature in both. Standardizing helps because it
# lowers :math:`\lambda_{\max}`, which raises the largest learning rate that can be
# used.
#
# The same reasoning is behind Batch Normalization (Ioffe & Szegedy 2015,
# arXiv:1502.03167), which standardizes the inputs of every layer of a network, not
# just the first; Santurkar et al. (2018), "How Does Batch Normalization Help
# Optimization?", argue that it helps less by reducing "internal covariate shift"
# than by making the loss surface smoother, which tolerates larger learning rates. See
# :ref:`sphx_glr_auto_examples_plot_hidden_layer_batchnorm.py` for Batch Normalization
# in a small network.

# sphinx_gallery_thumbnail_number = 1
