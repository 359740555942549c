"""
====================================================
Batch Normalization in the hidden layer of a network
====================================================

Batch Normalization (Ioffe & Szegedy 2015, arXiv:1502.03167) standardizes the
pre-activations of a hidden layer over each mini-batch while the network trains, and
uses running averages of those statistics at inference. Here a small two-layer
network, written in numpy and trained by mini-batch SGD on the digits data set, gets
a :class:`~skbn.BatchStandardizer` on its hidden pre-activations: its training-mode
pass (:meth:`~skbn.BatchStandardizer.partial_fit_transform`) is Batch
Normalization's forward pass, and its :meth:`~skbn.BatchStandardizer.transform` is
the inference pass. The example writes out the backward pass, checks it by finite
differences, and compares training with and without Batch Normalization over a range
of learning rates.
"""

# Authors: The skbn developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
# .. _plot_hidden_layer_batchnorm_data_section:
#
# Data
# ----
#
# The 8x8 digit images bundled with scikit-learn: 64 pixel intensities between 0 and
# 16 per image, 10 classes. A quarter of the images is held out as a test set. The
# pixels are left unscaled (non-negative, up to 16), so that the first layer's
# pre-activations are large and far from zero mean, as they can be anywhere inside a
# network whose layers are not normalized.
import copy
import time

import matplotlib.pyplot as plt
import numpy as np
from scipy.special import log_softmax, softmax
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skbn import BatchStandardizer

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)
n_classes = 10
print(f"{X_train.shape[0]} training and {X_test.shape[0]} test images")
print(f"pixel values from {X_train.min():.0f} to {X_train.max():.0f}")

# %%
# .. _plot_hidden_layer_batchnorm_forward_section:
#
# The training-mode forward pass
# ------------------------------
#
# For a mini-batch :math:`h_1, \dots, h_m` of one unit's pre-activations, Batch
# Normalization's training pass (Algorithm 1 of the paper) is
#
# .. math::
#
#     \mu_B = \frac{1}{m} \sum_i h_i, \qquad
#     \sigma_B^2 = \frac{1}{m} \sum_i (h_i - \mu_B)^2, \qquad
#     \hat{x}_i = \frac{h_i - \mu_B}{\sqrt{\sigma_B^2 + \epsilon}}, \qquad
#     y_i = \gamma \hat{x}_i + \beta,
#
# with the *biased* batch variance :math:`\sigma_B^2`. A
# :class:`~skbn.BatchStandardizer` with ``momentum`` set computes :math:`\hat{x}` in
# :meth:`~skbn.BatchStandardizer.partial_fit_transform`, and updates its running
# ``mean_`` and ``var_`` on the way (see :ref:`batch_standardizer`). We use PyTorch's
# defaults, ``momentum=0.1`` and ``eps=1e-5``, and keep the estimator's own ``gamma``
# and ``beta`` at 1 and 0: the learnable per-unit :math:`\gamma` and :math:`\beta`
# belong to the network, which updates them by gradient descent. The check below
# compares the output with the formula written out in numpy.
eps = 1e-5
rng = np.random.default_rng(0)
h = rng.normal(loc=3.0, scale=2.0, size=(32, 5))
x_hat = BatchStandardizer(momentum=0.1, eps=eps).partial_fit_transform(h)
by_hand = (h - h.mean(axis=0)) / np.sqrt(h.var(axis=0) + eps)  # ddof=0
print(f"max |partial_fit_transform - formula| = {np.abs(x_hat - by_hand).max():.1e}")

# %%
# .. _plot_hidden_layer_batchnorm_backward_section:
#
# The backward pass
# -----------------
#
# Section 3 of the paper gives the gradients by the chain rule, from the gradient
# :math:`\partial \ell / \partial y_i` that reaches the layer's output:
#
# .. math::
#
#     \frac{\partial \ell}{\partial \hat{x}_i} = \frac{\partial \ell}{\partial y_i}
#     \gamma, \qquad
#     \frac{\partial \ell}{\partial \gamma} = \sum_i \frac{\partial \ell}{\partial y_i}
#     \hat{x}_i, \qquad
#     \frac{\partial \ell}{\partial \beta} = \sum_i \frac{\partial \ell}{\partial y_i},
#
# .. math::
#
#     \frac{\partial \ell}{\partial \sigma_B^2} = \sum_i
#     \frac{\partial \ell}{\partial \hat{x}_i} (h_i - \mu_B)
#     \frac{-1}{2} (\sigma_B^2 + \epsilon)^{-3/2}, \qquad
#     \frac{\partial \ell}{\partial \mu_B} = -\sum_i
#     \frac{\partial \ell}{\partial \hat{x}_i} \frac{1}{\sqrt{\sigma_B^2 + \epsilon}}
#     + \frac{\partial \ell}{\partial \sigma_B^2} \frac{\sum_i -2 (h_i - \mu_B)}{m},
#
# .. math::
#
#     \frac{\partial \ell}{\partial h_i} = \frac{\partial \ell}{\partial \hat{x}_i}
#     \frac{1}{\sqrt{\sigma_B^2 + \epsilon}}
#     + \frac{\partial \ell}{\partial \sigma_B^2} \frac{2 (h_i - \mu_B)}{m}
#     + \frac{\partial \ell}{\partial \mu_B} \frac{1}{m}.
#
# Collecting terms (the middle term of :math:`\partial \ell / \partial \mu_B` is zero,
# since the deviations sum to zero) gives the compact form used below, one line of
# numpy:
#
# .. math::
#
#     \frac{\partial \ell}{\partial h_i} = \frac{1}{m \sqrt{\sigma_B^2 + \epsilon}}
#     \Big( m \frac{\partial \ell}{\partial \hat{x}_i}
#     - \sum_j \frac{\partial \ell}{\partial \hat{x}_j}
#     - \hat{x}_i \sum_j \frac{\partial \ell}{\partial \hat{x}_j} \hat{x}_j \Big).
#
# The backward pass must use the same :math:`\sigma_B^2` as the forward pass, the
# biased batch variance, not the estimator's running ``var_``.


def batchnorm_forward(h, bn, gamma, beta):
    """Training-mode forward pass: batch statistics, running statistics updated."""
    x_hat = bn.partial_fit_transform(h)
    return gamma * x_hat + beta, x_hat


def batchnorm_backward(d_out, h, x_hat, gamma):
    """Gradients of the loss with respect to h, gamma and beta."""
    m = h.shape[0]
    d_gamma = (d_out * x_hat).sum(axis=0)
    d_beta = d_out.sum(axis=0)
    d_x_hat = d_out * gamma
    inv_std = 1.0 / np.sqrt(h.var(axis=0) + eps)  # the biased batch variance
    d_h = (inv_std / m) * (
        m * d_x_hat - d_x_hat.sum(axis=0) - x_hat * (d_x_hat * x_hat).sum(axis=0)
    )
    return d_h, d_gamma, d_beta


# %%
# A numerical gradient check on a tiny batch (4 samples, 3 units): the scalar
# :math:`\ell = \sum_{i,j} g_{ij} y_{ij}`, with random weights :math:`g`, is
# differentiated by central finite differences with respect to every entry of
# :math:`h`, :math:`\gamma` and :math:`\beta`. Each forward pass uses a fresh
# estimator: the training-mode output depends only on the batch.
rng = np.random.default_rng(1)
h = rng.normal(size=(4, 3)) * [1.0, 5.0, 0.2] + [0.0, -3.0, 10.0]
gamma, beta = rng.normal(size=3), rng.normal(size=3)
g = rng.normal(size=(4, 3))


def scalar_loss(h, gamma, beta):
    bn = BatchStandardizer(momentum=0.1, eps=eps)
    return np.sum(g * batchnorm_forward(h, bn, gamma, beta)[0])


def numerical_gradient(f, x, step=1e-6):
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        x_plus, x_minus = x.copy(), x.copy()
        x_plus[index] += step
        x_minus[index] -= step
        grad[index] = (f(x_plus) - f(x_minus)) / (2 * step)
    return grad


x_hat = batchnorm_forward(h, BatchStandardizer(momentum=0.1, eps=eps), gamma, beta)[1]
analytic = batchnorm_backward(g, h, x_hat, gamma)
numeric = (
    numerical_gradient(lambda v: scalar_loss(v, gamma, beta), h),
    numerical_gradient(lambda v: scalar_loss(h, v, beta), gamma),
    numerical_gradient(lambda v: scalar_loss(h, gamma, v), beta),
)
for name, a, n in zip(["h", "gamma", "beta"], analytic, numeric, strict=True):
    error = np.abs(a - n).max() / np.abs(n).max()
    print(
        f"d loss / d {name:<5}: max |analytic - numerical| / max |numerical| = "
        f"{error:.1e}"
    )

# %%
# .. _plot_hidden_layer_batchnorm_network_section:
#
# The network
# -----------
#
# A 64 -> 64 -> 10 network: hidden pre-activations :math:`h = X W_1 + b_1`, then (in
# the Batch Normalization variant) :math:`y = \gamma \hat{x} + \beta`, a ReLU, the
# output layer and the softmax cross-entropy loss. With Batch Normalization the bias
# :math:`b_1` is left out, since subtracting the batch mean removes it (:math:`\beta`
# takes its role). Both variants start from the same weights (He initialization) and
# see the same mini-batches of 32 images in the same order.


class TwoLayerNet:
    """A 64 -> 64 -> 10 ReLU network, with or without Batch Normalization."""

    def __init__(self, batchnorm, seed=0, n_hidden=64):
        rng = np.random.default_rng(seed)
        n_features = X_train.shape[1]
        self.W1 = rng.normal(scale=np.sqrt(2 / n_features), size=(n_features, n_hidden))
        self.W2 = rng.normal(scale=np.sqrt(1 / n_hidden), size=(n_hidden, n_classes))
        self.b1 = np.zeros(n_hidden)
        self.b2 = np.zeros(n_classes)
        self.batchnorm = batchnorm
        self.diverged = False
        if batchnorm:
            self.bn = BatchStandardizer(momentum=0.1, eps=eps)
            self.gamma = np.ones(n_hidden)
            self.beta = np.zeros(n_hidden)

    def pre_activations(self, X):
        return X @ self.W1 if self.batchnorm else X @ self.W1 + self.b1

    def logits(self, X):
        """Inference mode: Batch Normalization with the running statistics."""
        z = self.pre_activations(X)
        if self.batchnorm:
            z = self.gamma * self.bn.transform(z) + self.beta
        return np.maximum(z, 0) @ self.W2 + self.b2

    def predict(self, X):
        return self.logits(X).argmax(axis=1)

    def sgd_step(self, X, y, learning_rate):
        """One training-mode forward and backward pass; returns the batch loss."""
        h = self.pre_activations(X)
        if self.batchnorm:
            z, x_hat = batchnorm_forward(h, self.bn, self.gamma, self.beta)
        else:
            z = h
        a = np.maximum(z, 0)
        log_p = log_softmax(a @ self.W2 + self.b2, axis=1)
        m = X.shape[0]
        loss = -log_p[np.arange(m), y].mean()

        d_logits = np.exp(log_p)
        d_logits[np.arange(m), y] -= 1
        d_logits /= m
        d_z = (d_logits @ self.W2.T) * (z > 0)
        grads = {"W2": a.T @ d_logits, "b2": d_logits.sum(axis=0)}
        if self.batchnorm:
            d_h, grads["gamma"], grads["beta"] = batchnorm_backward(
                d_z, h, x_hat, self.gamma
            )
        else:
            d_h = d_z
            grads["b1"] = d_h.sum(axis=0)
        grads["W1"] = X.T @ d_h
        for name, grad in grads.items():
            setattr(self, name, getattr(self, name) - learning_rate * grad)
        return loss


def train(data, batchnorm, learning_rate, n_epochs=15, batch_size=32):
    """Mini-batch SGD; returns the network and its history, one value per epoch.

    A run whose mini-batch loss exceeds 1e4 (chance level is 2.3) is stopped as
    diverged; its remaining epochs are NaN.
    """
    X_tr, X_te = data
    net = TwoLayerNet(batchnorm)
    order = np.random.default_rng(42)
    history = {
        "loss": np.full(n_epochs, np.nan),
        "test_accuracy": np.full(n_epochs, np.nan),
    }
    for epoch in range(n_epochs):
        perm = order.permutation(X_tr.shape[0])
        # The last, incomplete batch is dropped.
        batches = perm[: len(perm) // batch_size * batch_size].reshape(-1, batch_size)
        losses = []
        for rows in batches:
            losses.append(net.sgd_step(X_tr[rows], y_train[rows], learning_rate))
            if not losses[-1] < 1e4:
                net.diverged = True
                return net, history
        history["loss"][epoch] = np.mean(losses)
        history["test_accuracy"][epoch] = np.mean(net.predict(X_te) == y_test)
    return net, history


# The sweep further down also trains on standardized pixels (z-scores of the training
# images); each setting is trained once and its result reused.
scaler = BatchStandardizer().fit(X_train)
inputs = {
    "raw pixels": (X_train, X_test),
    "standardized pixels": (scaler.transform(X_train), scaler.transform(X_test)),
}
runs = {}


def run(input_name, batchnorm, learning_rate):
    """Train once per setting; later calls reuse the result."""
    key = input_name, batchnorm, learning_rate
    if key not in runs:
        runs[key] = train(inputs[input_name], batchnorm, learning_rate)
    return runs[key]


# %%
# .. _plot_hidden_layer_batchnorm_curves_section:
#
# Training with a small and with a large learning rate
# ----------------------------------------------------
#
# Both networks are trained on the raw pixels for 15 epochs, at a small learning rate
# and at one ten times larger. The training loss of an epoch is the mean of its
# mini-batch losses (in training mode); the test accuracy is measured in inference
# mode after each epoch.
small_lr, large_lr = 0.03, 0.3
for lr in (small_lr, large_lr):
    for batchnorm in (False, True):
        net, history = run("raw pixels", batchnorm, lr)
        train_accuracy = np.mean(net.predict(X_train) == y_train)
        print(
            f"learning rate {lr:<4}  {'with' if batchnorm else 'without'} BN: "
            f"final training loss {history['loss'][-1]:.4f}, "
            f"train accuracy {train_accuracy:.3f}, "
            f"test accuracy {history['test_accuracy'][-1]:.3f}"
        )

# %%
labels = {False: "without Batch Normalization", True: "with Batch Normalization"}
colors = {False: "tab:orange", True: "tab:blue"}
fig, axes = plt.subplots(2, 2, figsize=(10, 7), layout="constrained", sharex=True)
for column, lr in enumerate((small_lr, large_lr)):
    for batchnorm in (False, True):
        history = run("raw pixels", batchnorm, lr)[1]
        epochs = np.arange(1, len(history["loss"]) + 1)
        style = {"marker": "o", "ms": 3, "color": colors[batchnorm]}
        axes[0, column].semilogy(
            epochs, history["loss"], label=labels[batchnorm], **style
        )
        axes[1, column].plot(
            epochs, history["test_accuracy"], label=labels[batchnorm], **style
        )
    axes[0, column].set(
        title=f"Training loss, learning rate {lr}",
        xlabel="epoch",
        ylabel="cross-entropy (mean over the epoch)",
    )
    axes[1, column].set(
        title=f"Test accuracy, learning rate {lr}",
        xlabel="epoch",
        ylabel="accuracy",
        ylim=(0, 1.02),
    )
    axes[0, column].legend()
    axes[1, column].legend(loc="lower right")
fig.suptitle("A 64-64-10 network on raw digit pixels, trained by mini-batch SGD")
plt.show()

# %%
# At the small learning rate both networks train, and the plain one learns faster;
# one reason is that with Batch Normalization the gradient that reaches :math:`W_1` is
# divided by the batch standard deviation of the pre-activations, which is large on
# raw pixels, so a small learning rate moves :math:`W_1` slowly. At the large learning
# rate the plain network breaks down: its first steps, driven by pre-activations on
# the scale of the raw pixel values, overshoot, and the network ends up predicting at
# chance level. Counting the hidden units that are active (whose ReLU gets a
# positive input) for at least one training image shows what happened:


def active_units(net, X):
    z = net.pre_activations(X)
    if net.batchnorm:
        z = net.gamma * net.bn.transform(z) + net.beta
    return np.count_nonzero((z > 0).any(axis=0))


for batchnorm in (False, True):
    net = run("raw pixels", batchnorm, large_lr)[0]
    print(
        f"learning rate {large_lr}, {'with' if batchnorm else 'without'} BN: "
        f"{active_units(net, X_train)} of 64 hidden units active for some image"
    )

# %%
# Every ReLU unit of the plain network is inactive for every image: no gradient
# reaches :math:`W_1` any more, and the network cannot recover. With Batch
# Normalization the same learning rate trains well: whatever the scale of
# :math:`X W_1`, the next layer sees standardized values, and an update that changes
# that scale is undone by the normalization.
#
# .. _plot_hidden_layer_batchnorm_sweep_section:
#
# A sweep over learning rates, with raw and standardized inputs
# -------------------------------------------------------------
#
# Part of what Batch Normalization does here is what standardizing the inputs would
# do (see :ref:`sphx_glr_auto_examples_plot_learning_rate.py`). To separate the two
# effects the sweep also trains both networks on standardized pixels: z-scores from a
# :class:`~skbn.BatchStandardizer` fitted on the training images, without
# ``momentum``.
learning_rates = [0.01, 0.03, 0.1, 0.3, 1.0, 3.0]
for input_name in inputs:
    for batchnorm in (False, True):
        results = [run(input_name, batchnorm, lr) for lr in learning_rates]
        print(
            f"{input_name:>19}, {'with' if batchnorm else 'without'} BN, "
            "test accuracy:",
            ", ".join(
                "diverged" if net.diverged else f"{history['test_accuracy'][-1]:.3f}"
                for net, history in results
            ),
        )

# %%
# Runs that diverged have no point in the left panel, and are marked at the bottom of
# the right panel: a cross for raw pixels, a plus for standardized pixels.
fig, axes = plt.subplots(1, 2, figsize=(11, 5), layout="constrained")
for input_name in inputs:
    raw = input_name == "raw pixels"
    for batchnorm in (False, True):
        results = [run(input_name, batchnorm, lr) for lr in learning_rates]
        diverged = np.array([net.diverged for net, _ in results])
        style = {
            "color": colors[batchnorm],
            "marker": "o" if raw else "s",
            "ls": "-" if raw else "--",
            "label": f"{labels[batchnorm]}, {input_name}",
        }
        for ax, key in zip(axes, ["loss", "test_accuracy"], strict=True):
            final = [history[key][-1] for _, history in results]
            ax.plot(learning_rates, final, **style)
        axes[1].plot(
            np.array(learning_rates)[diverged],
            np.zeros(diverged.sum()),
            "x" if raw else "+",
            ms=10,
            mew=2,
            color=colors[batchnorm],
            label=f"diverged: {labels[batchnorm]}, {input_name}"
            if diverged.any()
            else None,
        )
axes[0].set(
    title="Training loss in the last epoch",
    xlabel="learning rate",
    ylabel="cross-entropy",
    xscale="log",
    yscale="log",
)
axes[1].set(
    title="Test accuracy after 15 epochs",
    xlabel="learning rate",
    ylabel="accuracy",
    xscale="log",
    ylim=(-0.04, 1.02),
)
fig.legend(*axes[1].get_legend_handles_labels(), loc="outside lower center", ncols=2)
fig.suptitle("Training against the learning rate, with and without Batch Normalization")
plt.show()

# %%
# On raw pixels the plain network trains only at the two smallest learning rates,
# while the network with Batch Normalization trains at every learning rate of the
# sweep (slowly at the smallest). Standardizing the inputs moves the plain network's
# limit up by more than a factor of ten, but it still diverges at the largest
# learning rate, where Batch Normalization, which keeps standardizing the hidden
# layer while :math:`W_1` changes, trains on raw and standardized pixels alike. Batch
# Normalization does not make the network train faster at a small learning rate
# here; its gain is the larger learning rates it tolerates and its insensitivity to
# the input scale (compare Santurkar et al. 2018, "How Does Batch Normalization Help
# Optimization?").
#
# .. _plot_hidden_layer_batchnorm_inference_section:
#
# Training mode and inference mode
# --------------------------------
#
# At inference a network must not depend on which other images share a batch, so
# Batch Normalization then uses its running statistics: the ``mean_`` and ``var_`` of
# the :class:`~skbn.BatchStandardizer`, exponential moving averages of the batch means
# and of the *unbiased* batch variances, as in PyTorch (see :ref:`conventions`; Keras
# stores the biased variance, and its ``momentum`` is one minus this one; and unlike
# PyTorch's, whose running statistics start at 0 and 1, skbn's are set by the first
# batch, a difference that is forgotten after a few dozen batches).
#
# After training, the two modes give close but not identical outputs for the same
# batch of 32 training images. A copy of the estimator computes the training-mode
# output, so that the trained network's running statistics are left untouched. The
# inference-mode output is also compared with a standardization by the exact mean
# and variance of the pre-activations over the whole training set, which a
# :class:`~skbn.BatchStandardizer` without ``momentum`` computes.
net = run("raw pixels", True, large_lr)[0]
h = net.pre_activations(X_train[:32])
train_mode = copy.deepcopy(net.bn).partial_fit_transform(h)
inference_mode = net.bn.transform(h)
exact = BatchStandardizer(eps=eps).fit(net.pre_activations(X_train))
exact_mode = exact.transform(h)
print(
    "mean |x_hat difference|: train mode vs inference mode "
    f"{np.abs(train_mode - inference_mode).mean():.3f}, inference mode vs exact "
    f"statistics {np.abs(inference_mode - exact_mode).mean():.3f}"
)
print(
    "standard deviation of a mean of 32 values, in units of theirs: "
    f"1 / sqrt(32) = {1 / np.sqrt(32):.3f}"
)


def class_probabilities(x_hat):
    z = net.gamma * x_hat + net.beta
    return softmax(np.maximum(z, 0) @ net.W2 + net.b2, axis=1)


p_train = class_probabilities(train_mode)
p_inference = class_probabilities(inference_mode)
print(
    f"class probabilities: max |difference| {np.abs(p_train - p_inference).max():.3f}"
)
agree = np.mean(p_train.argmax(axis=1) == p_inference.argmax(axis=1))
print(f"same predicted class for {agree:.0%} of the batch")

# %%
fig, axes = plt.subplots(1, 3, figsize=(12, 4.2), layout="constrained")
axes[0].scatter(inference_mode.ravel(), train_mode.ravel(), s=4, alpha=0.5)
axes[0].set(
    title="Normalized pre-activations of one batch",
    xlabel="inference mode (running statistics)",
    ylabel="training mode (batch statistics)",
)
axes[1].scatter(exact.mean_, net.bn.mean_, s=12)
axes[1].set(
    title="Per-unit mean",
    xlabel="exact, over the training set",
    ylabel="running mean_",
)
axes[2].scatter(exact.var_, net.bn.var_, s=12)
axes[2].set(
    title="Per-unit variance",
    xlabel="exact, over the training set",
    ylabel="running var_",
)
for ax in axes:
    lo, hi = ax.dataLim.min.min(), ax.dataLim.max.max()
    ax.plot([lo, hi], [lo, hi], "k--", lw=1, label="equal")
    ax.legend(loc="upper left")
fig.suptitle("After training: training mode, inference mode and exact statistics")
plt.show()

# %%
# The running statistics lie close to the training set's exact statistics (middle
# and right), so inference mode is nearly a standardization by the population
# statistics, as the paper prescribes for inference. The training-mode outputs of a
# batch scatter about the inference-mode ones (left) by about as much as the mean and
# variance of 32 samples differ from those of the population: that noise is part of
# what the network sees during training. The predicted classes of the batch are the
# same in both modes.
#
# .. _plot_hidden_layer_batchnorm_cost_section:
#
# The cost per batch
# ------------------
#
# :meth:`~skbn.BatchStandardizer.partial_fit_transform` validates its input and
# accumulates the statistics in float64 with an exact, mergeable algorithm; on a
# 32 x 64 batch that costs more than the bare numpy expression, and in this small
# network it is a large part of a training step. In a real network the matrix
# products dominate, and a deep-learning framework is the right tool there anyway;
# the estimator is meant for data-preprocessing pipelines and for experiments like
# this one.
bn = BatchStandardizer(momentum=0.1, eps=eps)
n_repeats = 300
start = time.perf_counter()
for _ in range(n_repeats):
    bn.partial_fit_transform(h)
per_call = (time.perf_counter() - start) / n_repeats

running_mean, running_var = h.mean(axis=0), h.var(axis=0, ddof=1)
start = time.perf_counter()
for _ in range(n_repeats):
    mu, var = h.mean(axis=0), h.var(axis=0)
    x_hat = (h - mu) / np.sqrt(var + eps)
    running_mean = 0.9 * running_mean + 0.1 * mu
    running_var = 0.9 * running_var + 0.1 * var * 32 / 31
per_expression = (time.perf_counter() - start) / n_repeats

start = time.perf_counter()
net_copy = copy.deepcopy(net)
for _ in range(n_repeats):
    net_copy.sgd_step(X_train[:32], y_train[:32], 0.0)
per_step = (time.perf_counter() - start) / n_repeats
print(f"partial_fit_transform:  {per_call * 1e6:4.0f} us per 32 x 64 batch")
print(f"bare numpy expression:  {per_expression * 1e6:4.0f} us per 32 x 64 batch")
print(f"whole SGD step with BN: {per_step * 1e6:4.0f} us")

# sphinx_gallery_thumbnail_number = 1
