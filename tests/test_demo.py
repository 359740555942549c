"""The ``python -m skbn demo`` command prints its three reports."""

from sklearn.datasets import load_wine

from skbn.__main__ import main


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
