"""
=====================================================
Running statistics: momentum, drift and the two modes
=====================================================

Batch Normalization (Ioffe & Szegedy 2015, arXiv:1502.03167) keeps *running*
estimates of the mean and variance of its input, updated after every training
batch and used at inference time. :class:`~skbn.BatchStandardizer` keeps the same
running statistics when ``momentum`` is set, with PyTorch's ``BatchNorm1d`` rule,
and exact cumulative statistics when ``momentum=None``. This example feeds a
stream of mini-batches whose distribution drifts to several settings, shows the
trade-off between a smooth estimate and one that follows the drift, writes the
update rule out in NumPy, and compares BatchNorm's training-mode and
inference-mode outputs.
"""

# Authors: The skbn developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
# .. _plot_running_statistics_stream_section:
#
# A drifting stream of mini-batches
# ---------------------------------
#
# We draw 300 batches of 32 rows of one feature. The true mean rises linearly
# from 0 to 3 over the stream, and the true standard deviation jumps from 1 to 2
# (the variance from 1 to 4) halfway through. Every batch is passed to
# :meth:`~skbn.BatchStandardizer.partial_fit` of four estimators: three with a
# running average (``momentum`` 0.01, 0.1 and 0.5) and one with
# ``momentum=None``, the exact statistics of all rows seen so far. After each
# batch we record ``mean_`` and ``var_``. The rules are described in the
# :ref:`User Guide <batch_standardizer>`.
import matplotlib.pyplot as plt
import numpy as np

from skbn import BatchStandardizer

rng = np.random.default_rng(0)
n_batches, batch_size = 300, 32
step = np.arange(n_batches)
true_mean = 3.0 * step / (n_batches - 1)
true_var = np.where(step < n_batches // 2, 1.0, 4.0)
batches = [
    rng.normal(mu, np.sqrt(v), size=(batch_size, 1))
    for mu, v in zip(true_mean, true_var, strict=True)
]
batch_means = np.array([b.mean() for b in batches])

settings = [0.01, 0.1, 0.5, None]
scalers = {m: BatchStandardizer(momentum=m) for m in settings}
running_mean = {m: np.empty(n_batches) for m in settings}
running_var = {m: np.empty(n_batches) for m in settings}
for t, batch in enumerate(batches):
    for m, scaler in scalers.items():
        scaler.partial_fit(batch)
        running_mean[m][t] = scaler.mean_[0]
        running_var[m][t] = scaler.var_[0]

for m in settings:
    print(
        f"momentum={m!s:>4}: final mean_ = {running_mean[m][-1]:.3f} "
        f"(true {true_mean[-1]:.3f}), final var_ = {running_var[m][-1]:.3f} "
        f"(true {true_var[-1]:.3f})"
    )

# %%
# Running statistics against the truth
# ------------------------------------
#
# The faint dots are the means and unbiased variances of the individual batches:
# the noisy signal that the running statistics smooth.
labels = {m: f"momentum={m}" for m in settings}
labels[None] = "momentum=None (exact)"
colors = {0.01: "tab:blue", 0.1: "tab:orange", 0.5: "tab:green", None: "tab:red"}
batch_vars = np.array([b.var(ddof=1) for b in batches])

fig, axes = plt.subplots(2, 1, figsize=(10, 7), sharex=True, layout="constrained")
axes[0].scatter(step, batch_means, s=6, color="0.6", alpha=0.5, label="batch means")
axes[0].plot(step, true_mean, color="black", lw=2, label="true mean")
axes[1].scatter(
    step, batch_vars, s=6, color="0.6", alpha=0.5, label="batch variances (ddof=1)"
)
axes[1].plot(step, true_var, color="black", lw=2, label="true variance")
for m in settings:
    axes[0].plot(step, running_mean[m], color=colors[m], lw=1.5, label=labels[m])
    axes[1].plot(step, running_var[m], color=colors[m], lw=1.5, label=labels[m])
axes[0].set(title="Running mean_", xlabel="batch index", ylabel="mean")
axes[1].set(title="Running var_", xlabel="batch index", ylabel="variance")
axes[0].legend(loc="upper left", fontsize="small")
axes[1].legend(loc="upper left", fontsize="small")
fig.suptitle("BatchStandardizer's running statistics on a drifting stream")
plt.show()

# %%
# The figure shows the trade-off that ``momentum`` controls:
#
# * **Small momentum** (0.01, the blue line) averages over many batches: the
#   curve is smooth but lags behind the drift. On a linear ramp the lag of a
#   running average grows towards :math:`(1 - m) / m` batches, here 99 batches
#   or about 1 unit of mean, and the variance step takes a few hundred batches
#   to be taken in.
# * **Large momentum** (0.5) follows every change within a few batches, but
#   carries much of each batch's sampling noise.
# * **Exact mode** (``momentum=None``) gives the mean and variance of *all* rows
#   seen. That is the right answer for a stationary stream, and the one that any
#   split of the data into batches reproduces, but under drift it is the wrong
#   target: its mean ends near the average of the ramp, and its variance also
#   absorbs the spread of the drifting means (the variance of a uniform ramp of
#   width 3 is about :math:`3^2/12 = 0.75`), so it ends above the average
#   within-batch variance of 2.5.
#
# The code below checks these statements. Started at batch 0, the lag of a
# running average on a noise-free ramp at batch :math:`t` is
# :math:`\frac{1 - m}{m}\,(1 - (1 - m)^t)` batches; we compare it with the
# measured lag of ``momentum=0.01`` over the last 50 batches (for 0.1 the lag of
# 9 batches, 0.09 in mean, is lost in the noise).
slope = true_mean[1] - true_mean[0]
last = step[-50:]
m = 0.01
measured = np.mean(true_mean[last] - running_mean[m][last]) / slope
predicted = np.mean((1 - m) / m * (1 - (1 - m) ** last))
print(f"momentum=0.01: measured lag {measured:.1f} batches, predicted {predicted:.1f}")
all_rows = np.concatenate(batches)
print(
    f"momentum=None: mean_ = {running_mean[None][-1]:.6f}, mean of all rows "
    f"= {all_rows.mean():.6f}; var_ = {running_var[None][-1]:.6f}, "
    f"var of all rows (ddof=0) = {all_rows.var():.6f}"
)
print(
    f"mean true variance {true_var.mean():.2f} + variance of the ramp "
    f"{true_mean.var():.2f} = {true_var.mean() + true_mean.var():.2f}"
)

# %%
# .. _plot_running_statistics_rule_section:
#
# The update rule written out
# ---------------------------
#
# With ``momentum`` :math:`m`, the first batch sets the statistics exactly (its
# mean and its *unbiased* variance, ``ddof=1``), and every later batch updates
# them as PyTorch's ``BatchNorm1d`` does:
#
# .. math::
#
#    r_t = (1 - m)\, r_{t-1} + m\, s_t,
#
# where :math:`s_t` is the batch mean, or the unbiased batch variance. We
# recompute both for ``momentum=0.1`` with NumPy and compare with the recorded
# ``mean_`` and ``var_``.
m = 0.1
ref_mean = np.empty(n_batches)
ref_var = np.empty(n_batches)
ref_mean[0] = batches[0].mean()
ref_var[0] = batches[0].var(ddof=1)
for t in range(1, n_batches):
    ref_mean[t] = (1 - m) * ref_mean[t - 1] + m * batches[t].mean()
    ref_var[t] = (1 - m) * ref_var[t - 1] + m * batches[t].var(ddof=1)

print(f"max |mean_ - numpy| = {np.max(np.abs(running_mean[m] - ref_mean)):.2e}")
print(f"max |var_  - numpy| = {np.max(np.abs(running_var[m] - ref_var)):.2e}")

# %%
# Unrolling the recursion, the statistic after batch :math:`t` is a weighted sum
# of the batch statistics, in which the batch :math:`k` steps back has weight
# :math:`m (1 - m)^k` (and the first batch keeps the remaining weight
# :math:`(1 - m)^{t}`, so that the weights sum to 1). The weights decay
# geometrically with mean age :math:`(1 - m) / m`: the estimator remembers
# roughly the last :math:`1 / m` batches. The weighted sum reproduces ``mean_``:
t = n_batches - 1
k = np.arange(t + 1)
weights = m * (1 - m) ** k
weights[t] = (1 - m) ** t  # the first batch, t steps back
print(f"sum of weights = {weights.sum():.15f}")
unrolled = np.sum(weights * batch_means[::-1])
print(f"|weighted sum - mean_| = {abs(unrolled - running_mean[m][-1]):.2e}")
for mom in (0.01, 0.1, 0.5):
    n95 = np.log(0.05) / np.log(1 - mom)
    print(
        f"momentum={mom}: 1/m = {1 / mom:5.0f} batches; the last {np.ceil(n95):4.0f} "
        "batches carry 95% of the weight"
    )

# %%
# The weights as a function of the age of the batch, with the effective memory
# :math:`1/m` marked:
fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
age = np.arange(300)
for mom in (0.01, 0.1, 0.5):
    ax.plot(age, mom * (1 - mom) ** age, color=colors[mom], label=f"momentum={mom}")
    ax.axvline(1 / mom, color=colors[mom], ls=":", lw=1)
ax.set_yscale("log")
ax.set_ylim(1e-6, 1)
ax.set(
    title="Weight of a batch in the running statistics (dotted: 1 / momentum)",
    xlabel="age of the batch k (batches ago)",
    ylabel="weight m (1 - m)^k",
)
ax.legend()
plt.show()

# %%
# A word on conventions: Keras' ``BatchNormalization`` writes the same update
# with ``momentum`` weighting the *old* value, so Keras' default ``momentum=0.99``
# is ``momentum=0.01`` here and in PyTorch (whose default is 0.1); see
# :ref:`conventions`. PyTorch's own ``momentum=None`` is also different: it
# averages the per-batch statistics with equal weights, while skbn's is the
# exact pooled mean and variance of every row seen.
#
# .. _plot_running_statistics_modes_section:
#
# Training mode and inference mode
# --------------------------------
#
# BatchNorm normalizes a batch differently during training and at inference:
#
# * :meth:`~skbn.BatchStandardizer.partial_fit_transform` is the training-mode
#   pass. It updates the running statistics exactly as
#   :meth:`~skbn.BatchStandardizer.partial_fit` does, then standardizes the batch
#   by its *own* mean and *biased* variance (plus ``eps``, here 0): the output
#   has mean 0 and population standard deviation 1.
# * :meth:`~skbn.BatchStandardizer.transform` is the inference-mode pass: it uses
#   the running ``mean_`` and ``var_``.
#
# We replay the stream with ``momentum=0.01`` (Keras' default) and with
# ``momentum=0.1`` (PyTorch's), call ``partial_fit_transform`` on every batch, and
# at two batches, one early and one 50 batches after the variance step, also
# record what ``transform`` gives for the same batch, with the statistics of the
# batches before it.
replay = {m: BatchStandardizer(momentum=m) for m in (0.01, 0.1)}
chosen = {"early (batch 10)": 10, "after drift (batch 200)": 200}
train_out, inference_out = {}, {}
replay_diff = 0.0
for t, batch in enumerate(batches):
    for m, bn in replay.items():
        if t in chosen.values():
            inference_out[m, t] = bn.transform(batch)[:, 0]
        train = bn.partial_fit_transform(batch)[:, 0]
        if t in chosen.values():
            train_out[m, t] = train
        replay_diff = max(replay_diff, abs(bn.mean_[0] - running_mean[m][t]))
print(f"max |mean_ by partial_fit_transform - by partial_fit| = {replay_diff:.1e}")

for name, t in chosen.items():
    train = train_out[0.01, t]
    same = np.max(np.abs(train - train_out[0.1, t]))
    print(
        f"{name}: training mode: mean {train.mean():+.1e}, std {train.std():.6f} "
        f"(max difference between the momenta {same:.0e})"
    )
    for m in replay:
        inference = inference_out[m, t]
        print(
            f"    inference mode, momentum={m}: mean {inference.mean():+.3f}, "
            f"std {inference.std():.3f}"
        )

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 4.8), layout="constrained")
for ax, (name, t) in zip(axes, chosen.items(), strict=True):
    train = train_out[0.01, t]
    lim = 1.1 * max(np.max(np.abs(v)) for v in inference_out.values())
    ax.plot([-lim, lim], [-lim, lim], color="black", lw=1, label="y = x")
    for m in replay:
        ax.scatter(
            train, inference_out[m, t], s=15, color=colors[m], label=f"momentum={m}"
        )
    ax.set(
        title=name,
        xlabel="training mode: partial_fit_transform",
        ylabel="inference mode: transform",
        xlim=(-lim, lim),
        ylim=(-lim, lim),
        aspect="equal",
    )
    ax.legend(loc="upper left")
fig.suptitle("Training-mode vs inference-mode output of the rows of one batch")
plt.show()

# %%
# The training-mode output depends on the batch only, not on ``momentum``. Both
# modes apply an increasing affine map to the same rows, so the points lie on
# lines. Early in the stream the running statistics come from a few batches
# close to this one, and the lines are near :math:`y = x`, off by the sampling
# noise of those batches. After the drift, the running mean of
# ``momentum=0.01`` lags behind (its line is shifted up: the rows look larger
# than average) and its running variance has not caught up with the step (the
# slope is above 1): in inference mode the batch is no longer standardized.
# ``momentum=0.1`` has followed the drift and stays close to :math:`y = x`. This
# gap between the two modes is why a network trained with BatchNorm can behave
# differently in evaluation mode when the data drift.
#
# Optional cross-check with PyTorch
# ---------------------------------
#
# If PyTorch is installed, ``torch.nn.BatchNorm1d`` gives the same numbers. Its
# running buffers start at mean 0 and variance 1, so we set ``momentum=1`` for
# the first batch (which copies that batch's statistics, as skbn does) and the
# chosen momentum afterwards.
try:
    import torch
except ImportError:
    torch = None

if torch is None:
    print("PyTorch is not installed: cross-check skipped.")
else:
    torch_bn = torch.nn.BatchNorm1d(1, eps=1e-5, momentum=1.0, dtype=torch.float64)
    skbn_bn = BatchStandardizer(momentum=0.1, eps=1e-5)
    max_out = 0.0
    for batch in batches:
        torch_out = torch_bn.train()(torch.from_numpy(batch)).detach().numpy()
        max_out = max(
            max_out, np.max(np.abs(torch_out - skbn_bn.partial_fit_transform(batch)))
        )
        torch_bn.momentum = 0.1
    torch_stats = (torch_bn.running_mean.numpy(), torch_bn.running_var.numpy())
    print(f"max |train-mode output difference| = {max_out:.1e}")
    print(f"|running_mean - mean_| = {abs(torch_stats[0] - skbn_bn.mean_)[0]:.1e}")
    print(f"|running_var - var_|   = {abs(torch_stats[1] - skbn_bn.var_)[0]:.1e}")
    eval_out = torch_bn.eval()(torch.from_numpy(batches[-1])).detach().numpy()
    print(
        "max |inference-mode output difference| = "
        f"{np.max(np.abs(eval_out - skbn_bn.transform(batches[-1]))):.1e}"
    )

# sphinx_gallery_thumbnail_number = 1
