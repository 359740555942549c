"""The ``python -m skbn demo`` command prints its seven reports."""

import re

import numpy as np
from sklearn.datasets import load_wine

from skbn.__main__ import main
from skbn._demo import STREAM_DF, STREAM_ROWS, STREAM_SEED

PLANTED = {
    17: ("proline", 3500.0),
    64: ("color_intensity", 25.0),
    140: ("alcohol", 9.0),
}


def _wine_with_outliers():
    wine = load_wine()
    X = wine.data.copy()
    names = list(wine.feature_names)
    for row, (name, value) in PLANTED.items():
        X[row, names.index(name)] = value
    return wine.data, X, names


def test_demo_prints_the_three_reports(capsys):
    main(["demo"])
    out = capsys.readouterr().out
    assert "1. BatchStandardizer().fit_transform(X)" in out
    assert "2. Streaming: partial_fit over 6 batches" in out
    assert "3. One batch, training mode vs inference mode" in out
    wine = load_wine()
    first_report = out.split("2. Streaming")[0]
    lines = {
        line.split()[0]: line.split() for line in first_report.splitlines() if line
    }
    for name, column in zip(wine.feature_names, wine.data.T, strict=True):
        row = lines[name]
        # before: the raw mean (numpy), after: z mean 0 and z std 1
        assert float(row[1]) == float(f"{column.mean():.4g}")
        assert row[5:7] == ["0.000", "1.000"]


def test_demo_stream_matches_one_shot_fit(capsys):
    main(["demo"])
    out = capsys.readouterr().out
    gap_line = next(line for line in out.splitlines() if "largest relative gap" in line)
    assert float(gap_line.rsplit(":", 1)[1]) < 1e-12


def test_demo_pixel_table_is_the_known_range_map(capsys):
    main(["demo"])
    out = capsys.readouterr().out
    section = out.split("4. MinMaxNormalizer")[1].split("5. ZScore")[0]
    rows = [line.split() for line in section.splitlines() if line[:1].isdigit()]
    table = [row for row in rows if len(row) == 3]
    assert [int(row[0]) for row in table] == [0, 64, 128, 191, 255]
    for value, unit, symmetric in table:
        # 8-bit values on (0, 1) and (-1, 1), written out
        assert float(unit) == round(int(value) / 255, 3)
        assert float(symmetric) == round(2 * int(value) / 255 - 1, 3)
    assert "the same map after fitting on another batch of images: yes" in section


def test_demo_flags_the_rows_beyond_three_standard_deviations(capsys):
    main(["demo"])
    out = capsys.readouterr().out
    section = out.split("5. ZScoreOutlierDetector")[1].split("6. SVDWhitener")[0]
    _, X, _ = _wine_with_outliers()
    z = (X - X.mean(axis=0)) / X.std(axis=0)
    expected = set(np.flatnonzero(np.abs(z).max(axis=1) > 3.0))
    listed = section.split("\n\n")[1].splitlines()[2:]
    assert {int(line.split()[0]) for line in listed} == expected
    assert set(PLANTED) <= expected
    assert f"{len(expected)} of {X.shape[0]} rows flagged" in section


def test_demo_whitening_table_against_numpy(capsys):
    main(["demo"])
    out = capsys.readouterr().out
    section = out.split("6. SVDWhitener")[1].split("7. RobustStandardizer")[0]
    X = load_wine().data
    corr = np.corrcoef(X, rowvar=False)
    before = np.max(np.abs(corr - np.eye(X.shape[1])))
    assert f"before whitening: {before:.3f}" in section
    methods = ["zca", "pca", "cholesky", "zca_cor", "pca_cor"]
    rows = {
        line.split()[0]: [float(v) for v in line.split()[1:]]
        for line in section.splitlines()
        if line.split() and line.split()[0] in methods
    }
    assert set(rows) == set(methods)
    for largest_corr, cov_error, _, _ in rows.values():
        assert largest_corr < 1e-8 and cov_error < 1e-8
    # Kessy et al.: ZCA-cor output is the closest to the standardized input
    distances = {method: row[2] for method, row in rows.items()}
    assert min(distances, key=distances.get) == "zca_cor"
    assert "closest to the standardized input: zca_cor" in section


def _iqr(X):
    low, high = np.percentile(X, [25, 75], axis=0)
    return high - low


def test_demo_robust_table_against_numpy(capsys):
    main(["demo"])
    out = capsys.readouterr().out
    section = out.split("7. RobustStandardizer")[1]
    clean, planted, names = _wine_with_outliers()
    # (without, with the outliers) of mean, std, median and IQR
    statistics = [
        (statistic(clean), statistic(planted))
        for statistic in (
            lambda X: X.mean(axis=0),
            lambda X: X.std(axis=0),
            lambda X: np.median(X, axis=0),
            _iqr,
        )
    ]
    rows = {line.split()[0]: line.split()[1:] for line in section.splitlines() if line}
    columns = [names.index(name) for name, _ in PLANTED.values()]
    for j in columns:
        expected = [f"{values[j]:.4g}" for pair in statistics for values in pair]
        assert rows[names[j]] == expected
    # The outliers move the mean and std more than the median and IQR.
    found = re.search(r"mean and std ([\d.]+) %, median and IQR ([\d.]+) %", section)
    moment_change, robust_change = (float(value) for value in found.groups())
    relative = [
        np.max(np.abs(after - before)[columns] / np.abs(before)[columns])
        for before, after in statistics
    ]
    assert moment_change == round(100 * max(relative[:2]), 1)
    assert robust_change == round(100 * max(relative[2:]), 1)
    assert robust_change < moment_change
    # Streamed over six batches, the sketch is exact.
    assert "partial_fit over the 6 batches of section 2" in section
    assert "equal the one-shot fit's: yes, with rank_error_ 0 " in section


def test_demo_long_stream_within_its_proved_rank_error(capsys):
    main(["demo"])
    out = capsys.readouterr().out
    section = out.split("7. RobustStandardizer")[1].split("a longer stream")[1]
    rows = {
        line.split(" (")[0]: [float(value) for value in line.split(")")[1].split()]
        for line in section.splitlines()
        if line.startswith(("center_ (", "scale_ ("))
    }
    draws = np.random.default_rng(STREAM_SEED).standard_t(STREAM_DF, STREAM_ROWS)
    # The fit column: numpy's median and interquartile range of the draws.
    assert rows["center_"][0] == round(np.median(draws), 5)
    assert rows["scale_"][0] == round(_iqr(draws), 5)
    found = re.search(r"proved bound: (\S+); the rank error made: (\S+)$", section)
    bound, made = (float(value) for value in found.groups())
    # Past 16384 rows the sketch summarizes, within its bound.
    assert 0 < made <= bound <= 0.005
    streamed_median = rows["center_"][1]
    rank = np.searchsorted(np.sort(draws), streamed_median) / STREAM_ROWS
    assert abs(rank - 0.5) <= bound + 1e-5  # 1e-5: the digits printed
    assert abs(rows["scale_"][1] - rows["scale_"][0]) < 1e-3
