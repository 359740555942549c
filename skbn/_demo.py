"""The ``python -m skbn demo`` tour: BatchStandardizer on the wine data.

Uses only data bundled with scikit-learn, so it runs offline.
"""

import numpy as np
from sklearn.datasets import load_wine

from ._standardize import BatchStandardizer

BATCH_SIZE = 32
MOMENTUM = 0.1


def format_table(headers, rows):
    """Right-aligned plain-text table; the first column is left-aligned."""
    cells = [list(map(str, headers))] + [list(map(str, row)) for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row):
        first = row[0].ljust(widths[0])
        rest = (
            cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)
        )
        return "  ".join([first, *rest]).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(cells[0]), rule, *map(line, cells[1:])])


def _section(title):
    return f"\n{title}\n{'=' * len(title)}\n"


def _fixed(value):
    # Rounding error leaves means like -4e-15; show them as the zero they are.
    return f"{value:.3f}".replace("-0.000", "0.000")


def _summary_rows(names, before, after):
    rows = []
    for j, name in enumerate(names):
        raw, z = before[:, j], after[:, j]
        stats = (np.mean, np.std, np.min, np.max)
        rows.append(
            [name]
            + [f"{stat(raw):.4g}" for stat in stats]
            + [_fixed(stat(z)) for stat in stats]
        )
    return rows


def standardization_report(X, names):
    """Per-feature mean / std / min / max before and after standardizing."""
    X_std = BatchStandardizer().fit_transform(X)
    headers = [
        "feature",
        "mean",
        "std",
        "min",
        "max",
        "z mean",
        "z std",
        "z min",
        "z max",
    ]
    return _section(
        "1. BatchStandardizer().fit_transform(X): before | after"
    ) + format_table(headers, _summary_rows(names, X, X_std))


def streaming_report(X, names, batches):
    """Exact streaming and momentum statistics next to the one-shot fit."""
    one_shot = BatchStandardizer().fit(X)
    exact = BatchStandardizer()
    running = BatchStandardizer(momentum=MOMENTUM)
    for batch in batches:
        exact.partial_fit(batch)
        running.partial_fit(batch)
    headers = [
        "feature",
        "fit mean",
        "stream mean",
        f"m={MOMENTUM} mean",
        "fit var",
        "stream var",
        f"m={MOMENTUM} var",
    ]
    rows = [
        [
            name,
            f"{one_shot.mean_[j]:.6g}",
            f"{exact.mean_[j]:.6g}",
            f"{running.mean_[j]:.6g}",
            f"{one_shot.var_[j]:.6g}",
            f"{exact.var_[j]:.6g}",
            f"{running.var_[j]:.6g}",
        ]
        for j, name in enumerate(names)
    ]
    gap = max(
        np.max(np.abs(exact.mean_ - one_shot.mean_) / np.abs(one_shot.mean_)),
        np.max(np.abs(exact.var_ - one_shot.var_) / one_shot.var_),
    )
    return (
        _section(
            f"2. Streaming: partial_fit over {len(batches)} batches of up to "
            f"{BATCH_SIZE} rows"
        )
        + "exact (momentum=None) vs running (momentum="
        + f"{MOMENTUM}) statistics, next to one fit on all rows\n\n"
        + format_table(headers, rows)
        + f"\n\nlargest relative gap, exact stream vs one-shot fit: {gap:.1e}"
    )


def train_inference_report(X, names, batches, n_rows=6, n_features=3):
    """One batch through BatchNorm's training and inference passes."""
    model = BatchStandardizer(momentum=MOMENTUM, eps=1e-5)
    for batch in batches[:-1]:
        model.partial_fit(batch)
    batch = batches[-1][:n_rows]
    inference = model.transform(batch)
    training = model.partial_fit_transform(batch)
    headers = ["row"]
    for name in names[:n_features]:
        headers += [f"{name[:12]} x", "train", "infer"]
    rows = [
        [i]
        + [
            value
            for j in range(n_features)
            for value in (
                f"{batch[i, j]:.4g}",
                f"{training[i, j]:+.3f}",
                f"{inference[i, j]:+.3f}",
            )
        ]
        for i in range(n_rows)
    ]
    return (
        _section(
            "3. One batch, training mode vs inference mode (momentum=0.1, eps=1e-5)"
        )
        + "train = partial_fit_transform(batch): the batch's own mean and biased "
        "variance\ninfer = transform(batch): the running mean_ and var_ "
        f"after {len(batches) - 1} batches\n\n" + format_table(headers, rows)
    )


def run_demo():
    """Print the three reports on the wine data; return the text."""
    wine = load_wine()
    X, names = wine.data, list(wine.feature_names)
    order = np.random.default_rng(0).permutation(X.shape[0])
    shuffled = X[order]
    batches = [
        shuffled[start : start + BATCH_SIZE]
        for start in range(0, shuffled.shape[0], BATCH_SIZE)
    ]
    text = "\n".join(
        [
            f"skbn demo: the wine data bundled with scikit-learn, {X.shape[0]} samples "
            f"x {X.shape[1]} features",
            standardization_report(X, names),
            streaming_report(X, names, batches),
            train_inference_report(X, names, batches),
        ]
    )
    print(text)
    return text
