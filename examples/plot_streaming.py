"""
=============================================
Out-of-core learning with streamed statistics
=============================================

When a data set does not fit in memory, it is read in chunks, and both the
scaler and the model have to learn from one chunk at a time. With the default
``momentum=None``, :class:`~skbn.BatchStandardizer` merges the statistics of
every chunk exactly, so that streaming gives the scaler of a one-shot ``fit``
whatever the split. This example streams a classification data set through the
scaler and then through an :class:`~sklearn.linear_model.SGDClassifier`,
compares the result with learning from unscaled chunks, and finally puts the
scaler in a :class:`~sklearn.pipeline.Pipeline` tuned by
:class:`~sklearn.model_selection.GridSearchCV`.
"""

# Authors: The skbn developers
# SPDX-License-Identifier: BSD-3-Clause

# %%
# .. _plot_streaming_data_section:
#
# A data set read in chunks
# -------------------------
#
# We make a binary classification problem of 40,000 rows and 20 features and
# give every feature its own unit and origin: scales spread over six orders of
# magnitude, and offsets of up to about ten standard deviations. The last 10,000
# rows are kept for testing. The generator ``iter_chunks`` stands in for reading a
# file 1,000 rows at a time.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_classification
from sklearn.linear_model import SGDClassifier
from sklearn.preprocessing import StandardScaler

from skbn import BatchStandardizer, MinMaxNormalizer

X, y = make_classification(
    n_samples=40_000,
    n_features=20,
    n_informative=8,
    n_redundant=4,
    random_state=0,
)
rng = np.random.default_rng(1)
scales = 10.0 ** rng.uniform(-3, 3, size=X.shape[1])
offsets = 5 * scales * rng.normal(size=X.shape[1])
X = X * scales + offsets
X_train, y_train = X[:30_000], y[:30_000]
X_test, y_test = X[30_000:], y[30_000:]
classes = np.unique(y)
chunk_size = 1_000


def iter_chunks(X, y, size):
    """Yield consecutive chunks of rows, as if reading them from disk."""
    for start in range(0, X.shape[0], size):
        yield X[start : start + size], y[start : start + size]


std = X_train.std(axis=0)
print(f"feature standard deviations from {std.min():.1e} to {std.max():.1e}")
print(f"|mean| / standard deviation up to {np.max(np.abs(X_train.mean(0)) / std):.1f}")


def max_rel_diff(a, b):
    """Largest relative difference between two arrays."""
    return np.max(np.abs(a - b) / np.abs(b))


# %%
# .. _plot_streaming_pass1_section:
#
# Pass 1: the statistics, one chunk at a time
# -------------------------------------------
#
# A first pass over the chunks calls :meth:`~skbn.BatchStandardizer.partial_fit`
# on each. The streamed ``mean_`` and ``var_`` equal those of a one-shot
# :meth:`~skbn.BatchStandardizer.fit` on all rows, and those of scikit-learn's
# :class:`~sklearn.preprocessing.StandardScaler`, to rounding error:
scaler = BatchStandardizer()
for X_chunk, _ in iter_chunks(X_train, y_train, chunk_size):
    scaler.partial_fit(X_chunk)

one_shot = BatchStandardizer().fit(X_train)
reference = StandardScaler().fit(X_train)
print(f"chunks seen: {scaler.n_batches_seen_}, rows seen: {scaler.n_samples_seen_}")
for name, other in [("one-shot fit", one_shot), ("StandardScaler", reference)]:
    print(
        f"streamed vs {name:>14}: max rel. diff of mean_ "
        f"{max_rel_diff(scaler.mean_, other.mean_):.1e}, "
        f"of var_ {max_rel_diff(scaler.var_, other.var_):.1e}"
    )

# %%
# The split does not matter: chunks of random sizes, the first a single row,
# give the same statistics.
cuts = np.union1d([1], rng.choice(np.arange(2, X_train.shape[0]), size=25))
sizes = np.diff(np.concatenate([[0], cuts, [X_train.shape[0]]]))
random_split = BatchStandardizer()
for X_chunk in np.split(X_train, cuts):
    random_split.partial_fit(X_chunk)
print(f"{len(sizes)} chunks of {sizes.min()} to {sizes.max()} rows")
print(
    f"random split vs one-shot fit: max rel. diff of mean_ "
    f"{max_rel_diff(random_split.mean_, one_shot.mean_):.1e}, "
    f"of var_ {max_rel_diff(random_split.var_, one_shot.var_):.1e}"
)

# %%
# The other skbn estimators stream in the same way; for instance the minima and
# maxima of :class:`~skbn.MinMaxNormalizer` are exact, so the streamed ranges
# equal the one-shot ones bit for bit:
minmax = MinMaxNormalizer()
for X_chunk, _ in iter_chunks(X_train, y_train, chunk_size):
    minmax.partial_fit(X_chunk)
minmax_one_shot = MinMaxNormalizer().fit(X_train)
print(
    "identical data_min_ and data_max_:",
    np.array_equal(minmax.data_min_, minmax_one_shot.data_min_)
    and np.array_equal(minmax.data_max_, minmax_one_shot.data_max_),
)

# %%
# .. _plot_streaming_pass2_section:
#
# Pass 2: learning from standardized chunks
# -----------------------------------------
#
# With the statistics known, a second pass feeds
# ``scaler.transform(chunk)`` to :meth:`SGDClassifier.partial_fit
# <sklearn.linear_model.SGDClassifier.partial_fit>`, for 5 epochs over the 30
# chunks. We compare it with the same classifier fed the raw chunks, and with a
# *single-pass* variant that needs no first pass: during the first epoch, each
# chunk first updates the scaler with ``partial_fit`` and is then transformed
# with the statistics seen so far. The test accuracy is recorded after every
# chunk.
n_epochs = 5


def stream_sgd(prepare, update_scaler=None):
    """Train SGD over the chunks for n_epochs; return test accuracy per chunk."""
    clf = SGDClassifier(random_state=0)
    accuracy = []
    for epoch in range(n_epochs):
        for X_chunk, y_chunk in iter_chunks(X_train, y_train, chunk_size):
            if update_scaler is not None and epoch == 0:
                update_scaler.partial_fit(X_chunk)
            clf.partial_fit(prepare(X_chunk), y_chunk, classes=classes)
            accuracy.append(clf.score(prepare(X_test), y_test))
    return np.array(accuracy)


single_pass = BatchStandardizer()
curves = {
    "raw chunks": stream_sgd(lambda A: A),
    "standardized chunks (two passes)": stream_sgd(scaler.transform),
    "standardized chunks (single pass)": stream_sgd(
        single_pass.transform, update_scaler=single_pass
    ),
}
for name, accuracy in curves.items():
    epoch_ends = ", ".join(f"{a:.3f}" for a in accuracy[29::30])
    print(f"{name:>34}: test accuracy after each epoch {epoch_ends}")

# %%
# The single-pass scaler standardizes the first chunk with the statistics of
# those 1,000 rows alone, which are already close to the final ones; after the
# first epoch it has seen every chunk once, and its statistics are those of the
# two-pass scaler:
first = BatchStandardizer().fit(X_train[:chunk_size])
print(
    "first chunk vs all rows: max |mean_ difference| / scale_ "
    f"{np.max(np.abs(first.mean_ - scaler.mean_) / scaler.scale_):.3f}, "
    f"max |scale_ ratio - 1| {np.max(np.abs(first.scale_ / scaler.scale_ - 1)):.3f}"
)
print(
    f"single pass vs two passes: max abs diff of mean_ "
    f"{np.max(np.abs(single_pass.mean_ - scaler.mean_)):.1e}, "
    f"of var_ {np.max(np.abs(single_pass.var_ - scaler.var_)):.1e}"
)

# %%
fig, ax = plt.subplots(figsize=(10, 5), layout="constrained")
n_chunks = np.arange(1, n_epochs * 30 + 1)
styles = {
    "raw chunks": {"color": "tab:red"},
    "standardized chunks (two passes)": {"color": "tab:blue"},
    "standardized chunks (single pass)": {"color": "tab:green", "ls": "--"},
}
for name, accuracy in curves.items():
    ax.plot(n_chunks, accuracy, label=name, **styles[name])
for epoch in range(1, n_epochs):
    ax.axvline(epoch * 30 + 0.5, color="0.7", ls=":", lw=1)
ax.set(
    title="SGDClassifier.partial_fit over 1,000-row chunks (dotted: epochs)",
    xlabel="chunks seen",
    ylabel="test accuracy",
)
ax.set_ylim(0.45, 1.02)
ax.legend(loc="upper center", ncols=3, fontsize="small")
plt.show()

# %%
# On the raw chunks, the features with the largest units dominate the gradient
# steps: the accuracy jumps from chunk to chunk and stays well below that of the
# standardized chunks (by how much depends on which features happen to get the
# large units). Standardized, every feature takes steps of comparable size, and
# SGD settles within the first epoch. The single-pass variant is as good as the
# two-pass one from the start, since the statistics it uses differ little from
# the final ones. Why scaling makes
# gradient descent easier is the subject of
# :ref:`sphx_glr_auto_examples_plot_learning_rate.py`.
#
# .. _plot_streaming_pipeline_section:
#
# The same scaler in a Pipeline
# -----------------------------
#
# :class:`~skbn.BatchStandardizer` is a scikit-learn transformer, so it fits in
# a :class:`~sklearn.pipeline.Pipeline` and its parameters can be tuned with the
# classifier's. To keep the search fast we take 6,000 training rows and search
# SGD's ``alpha`` together with ``with_mean`` (centering on or off), with 3-fold
# cross-validation.
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

X_small, y_small = X_train[:6_000], y_train[:6_000]
pipe = make_pipeline(BatchStandardizer(), SGDClassifier(random_state=0))
param_grid = {
    "sgdclassifier__alpha": [1e-5, 1e-4, 1e-3],
    "batchstandardizer__with_mean": [True, False],
}
search = GridSearchCV(pipe, param_grid, cv=3, n_jobs=1).fit(X_small, y_small)
print("best parameters:", search.best_params_)
print(f"best cross-validation accuracy: {search.best_score_:.3f}")
print(f"test accuracy of the refitted pipeline: {search.score(X_test, y_test):.3f}")
for params, mean, std in zip(
    search.cv_results_["params"],
    search.cv_results_["mean_test_score"],
    search.cv_results_["std_test_score"],
    strict=True,
):
    print(f"  {params}: {mean:.3f} +/- {std:.3f}")

# %%
# The refitted pipeline's scaler holds the statistics of the 6,000 rows, as
# :class:`~sklearn.preprocessing.StandardScaler` would:
fitted = search.best_estimator_.named_steps["batchstandardizer"]
small_reference = StandardScaler().fit(X_small)
print(
    f"pipeline scaler vs StandardScaler: max rel. diff of mean_ "
    f"{max_rel_diff(fitted.mean_, small_reference.mean_):.1e}, "
    f"of var_ {max_rel_diff(fitted.var_, small_reference.var_):.1e}"
)

# %%
results = search.cv_results_
alphas = param_grid["sgdclassifier__alpha"]
fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
for with_mean, color in [(True, "tab:blue"), (False, "tab:orange")]:
    mask = np.array(results["param_batchstandardizer__with_mean"]) == with_mean
    order = np.argsort(np.array(results["param_sgdclassifier__alpha"])[mask])
    ax.errorbar(
        np.array(alphas),
        results["mean_test_score"][mask][order],
        yerr=results["std_test_score"][mask][order],
        marker="o",
        capsize=3,
        color=color,
        label=f"with_mean={with_mean}",
    )
ax.set_xscale("log")
ax.set(
    title="Grid search over BatchStandardizer + SGDClassifier (3-fold CV)",
    xlabel="SGDClassifier alpha",
    ylabel="mean cross-validation accuracy",
)
ax.legend()
plt.show()

# %%
# The error bars are the standard deviations over the folds. With centering,
# the strongest regularization is best and the folds agree. Scaling without
# centering (``with_mean=False``) leaves the features with offsets of up to
# about ten standard deviations, which SGD's intercept has to absorb: the
# accuracies are lower on average and vary more from fold to fold.
#
# Inside :class:`~sklearn.model_selection.GridSearchCV` the scaler is fitted on
# the training folds only, so no statistic of a validation fold leaks into the
# model. More on the estimator in the :ref:`User Guide <batch_standardizer>`;
# its running-statistics mode, for streams whose distribution drifts, is shown
# in :ref:`sphx_glr_auto_examples_plot_running_statistics.py`.

# sphinx_gallery_thumbnail_number = 1
