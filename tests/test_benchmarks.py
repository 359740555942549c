"""The benchmark script runs end to end on small sizes.

Only that it runs and reports: no speed or ratio is asserted, since timings depend
on the machine and on whatever else it is doing.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"

ESTIMATORS = [
    "BatchStandardizer",
    "StandardScaler",
    "MinMaxNormalizer",
    "MinMaxScaler",
    "SVDWhitener",
    "PCA",
    "IncrementalPCA",
]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("bench") / "r.json"
    # One BLAS/OpenMP thread: a busy machine then slows the small linear algebra
    # of --quick down less; the results are not looked at as timings anyway.
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    env["MKL_NUM_THREADS"] = "1"
    # The test suite's strictness about deprecations, in the script and in the
    # subprocesses it starts.
    env["PYTHONWARNINGS"] = "error::DeprecationWarning,error::FutureWarning"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--json", str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    return done, path


def test_exits_cleanly(quick_run):
    done, _ = quick_run
    assert done.returncode == 0, done.stderr


def test_prints_machine_and_table(quick_run):
    done, _ = quick_run
    out = done.stdout
    assert "CPU:" in out
    assert "numpy" in out and "scikit-learn" in out and "skbn" in out
    lines = out.splitlines()
    header = [line for line in lines if line.startswith("operation")]
    assert len(header) == 1
    for column in ("skbn", "sklearn", "skbn/sklearn", "x faster", "skbn/floor"):
        assert column in header[0]
    table = out[out.index(header[0]) :]
    for estimator in ESTIMATORS:
        assert estimator in table, estimator
    for operation in (
        "floor: X.sum(axis=0)",
        "floor: np.copyto(out, X)",
        "fit",
        "transform (copy=True)",
        "transform (copy=False, in place)",
        "partial_fit pass",
        "partial_fit, 32 x 16",
        "transform, 256 x 16",
        "transform (copy=False)",
    ):
        assert any(line.strip().startswith(operation) for line in lines), operation


def test_writes_json(quick_run):
    _, path = quick_run
    results = json.loads(path.read_text())
    assert {"machine", "settings", "sections"} <= results.keys()
    for key in ("cpu", "cores", "numpy", "scipy", "sklearn", "skbn", "threadpools"):
        assert key in results["machine"]
    assert results["settings"]["quick"] is True
    cases = {section["case"] for section in results["sections"]}
    assert cases == set(results["settings"]["cases"])
    assert {"standardize-float64", "minmax-float32", "whiten-300", "memory"} <= cases
    for section in results["sections"]:
        assert {"case", "title", "unit", "data", "floors", "rows"} <= section.keys()
        assert section["rows"]
        for row in section["rows"]:
            assert {"operation", "skbn", "sklearn", "ratio", "speedup"} <= row.keys()
            assert row["skbn"] is not None and row["skbn"] >= 0
    memory = [s for s in results["sections"] if s["case"] == "memory"]
    assert [s["title"].split(" vs ")[0] for s in memory] == [
        "BatchStandardizer",
        "MinMaxNormalizer",
        "SVDWhitener",
    ]
