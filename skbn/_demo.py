"""The ``python -m skbn demo`` tour.

BatchStandardizer on the wine data, MinMaxNormalizer on 8-bit images of
digits, ZScoreOutlierDetector on the wine data with planted outliers,
SVDWhitener's five methods on the wine data, and RobustStandardizer on the
wine data with the same outliers and on a long heavy-tailed stream.
Uses only data bundled with scikit-learn and draws from a seeded generator,
so it runs offline, and prints the same text every time.
"""

import numpy as np
from sklearn.datasets import load_digits, load_wine

from ._minmax import MinMaxNormalizer
from ._outliers import ZScoreOutlierDetector
from ._quantiles import capacity_for
from ._robust import RobustStandardizer
from ._standardize import BatchStandardizer
from ._whitener import SVDWhitener
from ._whitening import METHODS

BATCH_SIZE = 32
MOMENTUM = 0.1
PIXEL_RANGE = (0, 255)
# (row, feature, value): far outside what wine measurements look like.
PLANTED = (
    (17, "proline", 3500.0),
    (64, "color_intensity", 25.0),
    (140, "alcohol", 9.0),
)
# RobustStandardizer's long stream: Student's t draws (heavy tails), in batches.
STREAM_ROWS = 200_000
STREAM_BATCHES = 100
STREAM_DF = 2
STREAM_SEED = 1


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


def eight_bit_images():
    """The digits as 8-bit images: 8 x 8 pixels from 0 (white) to 255 (black)."""
    digits = load_digits()
    pixels = np.round(digits.data * (PIXEL_RANGE[1] / digits.data.max()))
    return pixels.astype(np.uint8)


def _image_rows(image, fmt):
    return [" ".join(fmt(value) for value in row) for row in image.reshape(8, 8)]


def pixel_report(images, n_batch=16):
    """A batch of 8-bit images onto 0..1 and -1..1 with the known pixel range."""
    batch, other = images[:n_batch], images[n_batch : 2 * n_batch]
    unit = MinMaxNormalizer(data_range=PIXEL_RANGE).fit(batch)
    symmetric = MinMaxNormalizer(feature_range=(-1, 1), data_range=PIXEL_RANGE)
    symmetric.fit(batch)
    values = np.array([0, 64, 128, 191, 255], dtype=np.uint8)
    # One row per value, the same value in every pixel.
    grid = np.repeat(values[:, None], batch.shape[1], axis=1)
    table = format_table(
        ["pixel", "on (0, 1)", "on (-1, 1)"],
        [
            [int(v), _fixed(a), _fixed(b)]
            for v, a, b in zip(
                values,
                unit.transform(grid)[:, 0],
                symmetric.transform(grid)[:, 0],
                strict=True,
            )
        ],
    )
    image = batch[0]
    side_by_side = [
        f"{raw}    {scaled}"
        for raw, scaled in zip(
            _image_rows(image, "{:3d}".format),
            _image_rows(unit.transform(image[None])[0], "{:.2f}".format),
            strict=True,
        )
    ]
    same = np.array_equal(
        MinMaxNormalizer(data_range=PIXEL_RANGE).fit(other).transform(batch),
        unit.transform(batch),
    )
    # Learning the range from the batch instead stretches each pixel to its own
    # extremes in that batch: the faintest pixel that ever lights up shows it.
    learned = MinMaxNormalizer().fit(batch)
    constant = int(np.sum(learned.data_range_ == 0))
    faint = int(np.argmin(np.where(learned.data_max_ > 0, learned.data_max_, 256)))
    faint_max = int(learned.data_max_[faint])
    return (
        _section(
            f"4. MinMaxNormalizer(data_range={PIXEL_RANGE}): a batch of "
            f"{n_batch} 8-bit images"
        )
        + "the digits bundled with scikit-learn as 8 x 8 images of 8-bit pixels "
        "(0..255),\nmapped by their known range onto feature_range (0, 1) and "
        "(-1, 1)\n\n"
        + table
        + "\n\nthe first image, raw and on (0, 1):\n\n"
        + "\n".join(side_by_side)
        + "\n\nthe same map after fitting on another batch of images: "
        + ("yes" if same else "no")
        + "\nwith the range learned from this batch instead (data_range=None), "
        f"{constant} of 64 pixels\nnever vary and all map to 0, and pixel "
        f"{faint}, at most {faint_max} in this batch, maps {faint_max} to 1"
    )


def with_planted_outliers(X, names):
    """A copy of X with the PLANTED values."""
    X = X.copy()
    column = {name: j for j, name in enumerate(names)}
    for row, name, value in PLANTED:
        X[row, column[name]] = value
    return X


def _batches(X, order):
    shuffled = X[order]
    return [
        shuffled[start : start + BATCH_SIZE]
        for start in range(0, shuffled.shape[0], BATCH_SIZE)
    ]


def outlier_report(X, names, threshold=3.0):
    """The wine data with planted outliers, and the rows the detector flags."""
    X = with_planted_outliers(X, names)
    planted_rows = sorted(row for row, _, _ in PLANTED)
    detector = ZScoreOutlierDetector(threshold=threshold).fit(X)
    scores = detector.score_samples(X)
    flagged = np.flatnonzero(detector.predict(X) == -1)
    z = (X - detector.mean_) / detector.scale_
    rows = []
    for i in flagged[np.argsort(scores[flagged])]:
        j = int(np.argmax(np.abs(z[i])))
        planted = "yes" if i in planted_rows else ""
        rows.append([int(i), planted, names[j], f"{X[i, j]:.4g}", f"{z[i, j]:+.2f}"])
    counts = []
    for t in (2.0, 3.0, 4.0, 5.0):
        outlier = ZScoreOutlierDetector(threshold=t).fit_predict(X) == -1
        counts.append([t, int(outlier.sum()), int(outlier[planted_rows].sum())])
    planted = "; ".join(
        f"row {row}: {name} = {value:g}" for row, name, value in PLANTED
    )
    return (
        _section(
            f"5. ZScoreOutlierDetector(threshold={threshold}): "
            f"{len(PLANTED)} planted outliers in the wine data"
        )
        + f"planted: {planted}\n"
        "a row is an outlier when some feature lies more than threshold standard "
        "deviations\nfrom its mean: z-scores have no bounds, and real data has "
        "tails of its own\n\n"
        + format_table(["row", "planted", "largest |z| in", "value", "z"], rows)
        + f"\n\n{len(flagged)} of {X.shape[0]} rows flagged; removing them keeps "
        f"{X.shape[0] - len(flagged)}\n\n"
        + format_table(["threshold", "rows flagged", "planted among them"], counts)
    )


def _largest_off_diagonal(matrix):
    return np.max(np.abs(matrix - np.diag(np.diag(matrix))))


def whitening_report(X):
    """Each whitening method on the wine data: decorrelation and closeness."""
    n_features = X.shape[1]
    standardized = (X - X.mean(axis=0)) / X.std(axis=0)
    rows = []
    for method in METHODS:
        Z = SVDWhitener(method=method).fit_transform(X)
        covariance = np.cov(Z, rowvar=False, ddof=0)
        # How far the whitened data are from the standardized input, and how
        # well each output follows its own input (Kessy et al.'s criteria).
        distance = np.mean(np.sum((Z - standardized) ** 2, axis=1))
        cross = np.corrcoef(Z, standardized, rowvar=False)[:n_features, n_features:]
        rows.append(
            [
                method,
                f"{_largest_off_diagonal(np.corrcoef(Z, rowvar=False)):.1e}",
                f"{np.max(np.abs(covariance - np.eye(n_features))):.1e}",
                f"{distance:.3f}",
                f"{np.mean(np.diag(cross)):.3f}",
            ]
        )
    closest = min(rows, key=lambda row: float(row[3]))[0]
    before = _largest_off_diagonal(np.corrcoef(X, rowvar=False))
    return (
        _section("6. SVDWhitener: five whitenings of the wine data")
        + "whitening decorrelates the features and scales each to unit variance; "
        "the five\nmethods of Kessy, Lewin & Strimmer (2018) differ by a rotation "
        "of the output\n\nlargest |correlation| between two features before "
        f"whitening: {before:.3f}\n\n"
        + format_table(
            [
                "method",
                "largest |corr| after",
                "max |cov(Z) - I|",
                "mean |z - x_std|^2",
                "mean corr(z_j, x_j)",
            ],
            rows,
        )
        + f"\n\nclosest to the standardized input: {closest} (as Kessy et al. "
        "prove for ZCA-cor)"
    )


def _relative_change(before, after):
    return np.abs(after - before) / np.abs(before)


def robust_report(X, names, order):
    """Median and interquartile range next to mean and standard deviation,
    with and without the planted outliers; streamed fits' rank errors."""
    planted = with_planted_outliers(X, names)
    columns = [names.index(name) for _, name, _ in PLANTED]
    pairs = []  # (clean, planted) values of mean_, scale_, center_, scale_
    for kind, attributes in (
        (BatchStandardizer, ("mean_", "scale_")),
        (RobustStandardizer, ("center_", "scale_")),
    ):
        clean, dirty = kind().fit(X), kind().fit(planted)
        pairs += [(getattr(clean, a), getattr(dirty, a)) for a in attributes]
    rows = [
        [names[j]] + [f"{values[j]:.4g}" for pair in pairs for values in pair]
        for j in columns
    ]
    moved = [
        max(_relative_change(*pair)[columns].max() for pair in pairs[:2]),
        max(_relative_change(*pair)[columns].max() for pair in pairs[2:]),
    ]
    batches = _batches(planted, order)
    streamed = RobustStandardizer()
    for batch in batches:
        streamed.partial_fit(batch)
    robust = RobustStandardizer().fit(planted)
    same = np.array_equal(streamed.center_, robust.center_) and np.array_equal(
        streamed.scale_, robust.scale_
    )
    headers = ["feature", "mean", "+out", "std", "+out"]
    headers += ["median", "+out", "IQR", "+out"]
    return (
        _section(
            "7. RobustStandardizer: median and interquartile range against the "
            f"{len(PLANTED)} planted outliers"
        )
        + "the outliers planted in section 5 move the mean and standard deviation "
        "of their\nfeatures (BatchStandardizer's mean_ and scale_) more than their "
        "median and\ninterquartile range (RobustStandardizer's center_ and scale_); "
        "+out: with them\n\n"
        + format_table(headers, rows)
        + "\n\nlargest relative change: mean and std "
        f"{100 * moved[0]:.1f} %, median and IQR {100 * moved[1]:.1f} %\n\n"
        f"partial_fit over the {len(batches)} batches of section 2, outliers "
        f"planted: center_ and scale_\nequal the one-shot fit's: "
        f"{'yes' if same else 'no'}, with rank_error_ {streamed.rank_error_.max():g} "
        "(the sketch holds every\nvalue of a stream of up to "
        f"{2 * capacity_for(streamed.rank_error)} rows)\n\n" + long_stream_report()
    )


def long_stream_report():
    """A stream longer than the sketch holds: its quantiles next to the
    exact ones, the rank error it proves and the one it makes."""
    rng = np.random.default_rng(STREAM_SEED)
    X = rng.standard_t(STREAM_DF, size=(STREAM_ROWS, 1))
    exact = RobustStandardizer().fit(X)
    streamed = RobustStandardizer()
    for batch in np.array_split(X, STREAM_BATCHES):
        streamed.partial_fit(batch)
    # The fraction of the values between each streamed and exact quantile.
    values = np.sort(X[:, 0])
    made = max(
        abs(np.searchsorted(values, q_stream) - np.searchsorted(values, q_exact))
        for q_stream, q_exact in zip(
            streamed.quantiles_[:, 0], exact.quantiles_[:, 0], strict=True
        )
    ) / len(values)
    rows = [
        ["center_ (median)", f"{exact.center_[0]:.5f}", f"{streamed.center_[0]:.5f}"],
        ["scale_ (IQR)", f"{exact.scale_[0]:.5f}", f"{streamed.scale_[0]:.5f}"],
    ]
    return (
        f"a longer stream: {STREAM_ROWS} draws of Student's t with {STREAM_DF} "
        f"degrees of freedom\n(no finite variance) in {STREAM_BATCHES} batches of "
        "partial_fit, next to one exact fit\n\n"
        + format_table(["", "fit", "partial_fit"], rows)
        + f"\n\nrank_error_, the proved bound: {streamed.rank_error_[0]:.1e}; "
        f"the rank error made: {made:.1e}"
    )


def run_demo():
    """Print the seven reports; return the text."""
    wine = load_wine()
    X, names = wine.data, list(wine.feature_names)
    order = np.random.default_rng(0).permutation(X.shape[0])
    batches = _batches(X, order)
    text = "\n".join(
        [
            f"skbn demo: the wine data bundled with scikit-learn, {X.shape[0]} samples "
            f"x {X.shape[1]} features",
            standardization_report(X, names),
            streaming_report(X, names, batches),
            train_inference_report(X, names, batches),
            pixel_report(eight_bit_images()),
            outlier_report(X, names),
            whitening_report(X),
            robust_report(X, names, order),
        ]
    )
    print(text)
    return text
