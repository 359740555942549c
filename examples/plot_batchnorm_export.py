"""
=======================================================
From skbn to a PyTorch BatchNorm layer, and back again
=======================================================

A :class:`~skbn.BatchStandardizer` with ``momentum`` keeps the running statistics of
a Batch Normalization layer, with PyTorch's update rule. This example streams the
statistics of a data set with :meth:`~skbn.BatchStandardizer.partial_fit`, exports
the standardizer with :func:`skbn.torch.to_module` as the first layer of a small
PyTorch network, and shows that the network starts from those statistics: its
predictions in eval mode are sensible from the first training step, where a
``BatchNorm1d`` that starts from PyTorch's defaults (running mean 0, running variance
1) needs many steps to catch up. After training, :func:`skbn.torch.from_module`
turns the layer back into a fitted estimator. See :ref:`deploying_batchnorm` for the
correspondence, parameter by parameter.
"""

# Authors: The skbn developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
# .. _plot_batchnorm_export_stream_section:
#
# Statistics streamed by skbn
# ---------------------------
#
# A binary classification problem of 8 features, each with its own unit and origin:
# the features of ``make_classification`` multiplied by scales from 0.01 to 500 and
# shifted by up to 3,000, so that their standard deviations range from about 0.01 to
# 800 and their means lie up to about 150 standard deviations from zero. The first
# 12,800 rows arrive as a stream of 200 batches of 64 rows, which a
# ``BatchStandardizer(momentum=0.1, eps=1e-5)``, PyTorch's defaults, follows with
# :meth:`~skbn.BatchStandardizer.partial_fit`; the next 6,400 rows are the training
# set of the network, the last 1,000 its validation set.
import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import make_classification

from skbn import BatchStandardizer
from skbn.torch import from_module, to_module

X, y = make_classification(
    n_samples=20_200, n_features=8, n_informative=5, random_state=0
)
rng = np.random.default_rng(0)
scales = np.array([500.0, 0.01, 20.0, 3.0, 0.5, 100.0, 0.1, 7.0])
offsets = np.array([3000.0, -2.0, 150.0, 40.0, -8.0, -900.0, 1.5, 60.0])
X = X * scales + offsets
batch_size = 64
X_stream, X_train, X_val = X[:12_800], X[12_800:19_200], X[19_200:]
y_train, y_val = y[12_800:19_200], y[19_200:]

scaler = BatchStandardizer(momentum=0.1, eps=1e-5)
for batch in np.split(X_stream, len(X_stream) // batch_size):
    scaler.partial_fit(batch)
print(f"batches seen: {scaler.n_batches_seen_}")
print("running mean:", np.array2string(scaler.mean_, precision=2))
print("running std: ", np.array2string(np.sqrt(scaler.var_), precision=3))

# %%
# .. _plot_batchnorm_export_network_section:
#
# Two networks that differ only in their first layer's statistics
# ---------------------------------------------------------------
#
# :func:`~skbn.torch.to_module` returns a ``BatchNorm1d`` (in float64, the precision
# of skbn's statistics, and in eval mode) whose ``running_mean``, ``running_var``,
# ``momentum``, ``eps`` and ``num_batches_tracked`` are the standardizer's. We put it
# first in an 8-32-1 network, and build a second network with a fresh
# ``BatchNorm1d``. Both start from the same weights (the same seed), and are trained
# alike: Adam, 100 steps over the training set in batches of 64, in the same order.
# After every step both are evaluated, in eval mode, on the validation set.


def make_network(first_layer):
    torch.manual_seed(0)
    return torch.nn.Sequential(
        first_layer,
        torch.nn.Linear(8, 32, dtype=torch.float64),
        torch.nn.ReLU(),
        torch.nn.Linear(32, 1, dtype=torch.float64),
    )


networks = {
    "skbn's statistics": make_network(to_module(scaler)),
    "PyTorch's defaults": make_network(torch.nn.BatchNorm1d(8, dtype=torch.float64)),
}
print(networks["skbn's statistics"])

n_steps = 100
X_val_t = torch.from_numpy(X_val)
y_val_t = torch.from_numpy(y_val.astype(np.float64))[:, None]
order = np.random.default_rng(1).permutation(len(X_train))[: n_steps * batch_size]
train_batches = np.split(order, n_steps)
loss_fn = torch.nn.BCEWithLogitsLoss()
history = {}
for name, net in networks.items():
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    curves = {"train": [], "val": [], "z_std": []}
    for rows in train_batches:
        net.train()
        logits = net(torch.from_numpy(X_train[rows]))
        loss = loss_fn(
            logits, torch.from_numpy(y_train[rows].astype(np.float64))[:, None]
        )
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        net.eval()
        with torch.no_grad():
            curves["train"].append(loss.item())
            curves["val"].append(loss_fn(net(X_val_t), y_val_t).item())
            bn = net[0]
            z = (X_val_t - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps)
            curves["z_std"].append(z.std(dim=0).numpy())
    history[name] = {key: np.array(value) for key, value in curves.items()}
    print(
        f"BatchNorm1d from {name}: validation loss after 1 step "
        f"{history[name]['val'][0]:.3g}, after {n_steps} steps "
        f"{history[name]['val'][-1]:.3g}"
    )

# %%
# In training mode a BatchNorm layer normalizes each batch by that batch's own
# statistics, and its running statistics do not enter the loss or its gradients.
# The two networks therefore follow the same training trajectory, step for step:
skbn_start, default_start = history.values()
print(
    "max |difference| between the training losses: "
    f"{np.abs(skbn_start['train'] - default_start['train']).max():.1e}"
)

# %%
# What the running statistics decide is the network's output in eval mode, the mode
# used to validate and to deploy it. The left panel shows the validation loss in
# eval mode; the right one shows what the first layer makes of the validation set
# in eval mode: the standard deviation of its z-scores
# ``(x - running_mean) / sqrt(running_var + eps)``, which is 1 when the running
# statistics are the data's, for the feature multiplied by 500 (feature 0) and for
# the one multiplied by 0.01 (feature 1).
colors = ["tab:blue", "tab:orange"]
steps = np.arange(1, n_steps + 1)
features = {0: "-", 1: "--"}
fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), layout="constrained")
for (name, curves), color in zip(history.items(), colors, strict=True):
    axes[0].plot(steps, curves["val"], color=color, label=f"BatchNorm1d from {name}")
    for feature, ls in features.items():
        axes[1].semilogy(
            steps,
            curves["z_std"][:, feature],
            color=color,
            ls=ls,
            label=f"feature {feature} (scale {scales[feature]:g}), from {name}",
        )
axes[0].plot(
    steps, skbn_start["train"], color="0.5", lw=1, ls=":", label="training loss (both)"
)
axes[0].set(
    title="Validation loss in eval mode",
    xlabel="training step",
    ylabel="binary cross-entropy",
)
axes[1].axhline(1.0, color="k", lw=0.8)
axes[1].set(
    title="Standard deviation of the first layer's z-scores",
    xlabel="training step",
    ylabel="std of the validation z-scores",
)
for ax in axes:
    ax.legend(fontsize="small")
fig.suptitle("An 8-32-1 network whose first layer is a BatchNorm1d")
plt.show()

# %%
# Started from skbn's statistics, the first layer standardizes the validation set
# from the first step, and the validation loss follows the training loss. Started
# from a running mean of 0 and a running variance of 1, the running statistics move
# 10 % of the way to each batch's (``momentum=0.1``): after ``k`` steps the
# variance still holds :math:`0.9^k` of its starting value 1. Feature 0, of
# variance about :math:`7 \times 10^5`, is divided by a standard deviation about
# :math:`\sqrt{10}` times too small after the first step, and by about the right one
# some 20 steps later; feature 1, of variance about :math:`2 \times 10^{-4}`, is
# divided by a standard deviation near 1, some 70 times too large, until
# :math:`0.9^k` falls below its variance, after about 80 steps. Meanwhile the network
# is validated on inputs other than those it is trained on, and its validation loss
# lags 10 to 20 steps behind. Both networks end at the same place: after 100 steps
# their running statistics have forgotten where they started.
#
# .. _plot_batchnorm_export_back_section:
#
# Back to skbn
# ------------
#
# :func:`~skbn.torch.from_module` turns the trained layer into a fitted
# :class:`~skbn.BatchStandardizer`: ``mean_`` and ``var_`` are the running
# statistics, ``gamma`` and ``beta`` the weight and bias the optimizer has learned.
# Its :meth:`~skbn.BatchStandardizer.transform` is the layer's eval pass:
layer = networks["skbn's statistics"][0]
back = from_module(layer)
with torch.no_grad():
    by_layer = layer(X_val_t).numpy()
print(f"batches seen: {back.n_batches_seen_}")
print("learned gamma:", np.array2string(back.gamma, precision=3))
print(f"max |transform - layer| = {np.abs(back.transform(X_val) - by_layer).max():.1e}")

# %%
# skbn's ``momentum`` is PyTorch's, and both keep the unbiased batch variance in the
# running variance. So the layer's 100 training steps moved its running statistics
# exactly as 100 more calls of :meth:`~skbn.BatchStandardizer.partial_fit`, on the
# same batches, move the standardizer's:
for rows in train_batches:
    scaler.partial_fit(X_train[rows])
for attribute in ("mean_", "var_"):
    ours, theirs = getattr(scaler, attribute), getattr(back, attribute)
    print(
        f"{attribute}: max relative difference "
        f"{np.max(np.abs(ours - theirs) / np.abs(ours)):.1e}"
    )

# %%
# The estimator can go on from there: standardize new data without PyTorch, keep
# following the stream with ``partial_fit``, be saved with skops, or be exported
# again with :func:`~skbn.torch.to_module`.
