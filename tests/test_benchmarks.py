"""The benchmark scripts run end to end on small sizes, and state one protocol.

Only that they run and report every estimator: no speed or ratio is asserted,
since timings depend on the machine and on whatever else it is doing. The runs
are slow (``-m bench``); the checks of the scripts' text are not.
"""

import ast
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
SCRIPTS = ("run.py", "dask_scale.py", "gpu.py")


def run(script, tmp_path_factory, *options):
    path = tmp_path_factory.mktemp("bench") / "results.json"
    # One BLAS/OpenMP thread: a busy machine then slows the small linear algebra
    # of --quick down less (and no pause is needed between turns).
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    env["MKL_NUM_THREADS"] = "1"
    # The test suite's strictness about deprecations, in the script and in the
    # subprocesses it starts.
    env["PYTHONWARNINGS"] = "error::DeprecationWarning,error::FutureWarning"
    command = [sys.executable, str(BENCHMARKS / script), "--quick", "--repeat", "1"]
    done = subprocess.run(
        [*command, "--json", str(path), *options],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "CPU:" in done.stdout and "skbn from " in done.stdout
    return done.stdout, json.loads(path.read_text())


def table(out):
    """The lines of the table, from its header on."""
    lines = out.splitlines()
    header = [i for i, line in enumerate(lines) if line.startswith("operation")]
    assert len(header) == 1
    return lines[header[0] :]


@pytest.fixture(scope="module")
def run_py(tmp_path_factory):
    return run("run.py", tmp_path_factory)


@pytest.mark.bench
def test_run_reports_every_case(run_py):
    out, results = run_py
    lines = table(out)
    for column in ("skbn", "sklearn", "skbn/sklearn", "x faster", "skbn/floor"):
        assert column in lines[0]
    text = "\n".join(lines)
    for estimator in (
        "BatchStandardizer",
        "StandardScaler",
        "MinMaxNormalizer",
        "MinMaxScaler",
        "SVDWhitener",
        "PCA",
        "IncrementalPCA",
        "RobustStandardizer",
        "RobustScaler",
    ):
        assert estimator in text, estimator
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
        "fit (solver='qr' vs solver='covariance')",
        "fit, correlated X (solver='qr' vs solver='covariance')",
        "fit (solver='qr' vs PCA svd_solver='full'",
    ):
        assert any(line.strip().startswith(operation) for line in lines), operation
    assert {"machine", "protocol", "settings", "sections"} <= results.keys()
    for key in ("cpu", "cores", "numpy", "scipy", "sklearn", "skbn", "threadpools"):
        assert key in results["machine"]
    assert results["settings"]["quick"] is True
    cases = {section["case"] for section in results["sections"]}
    assert cases == set(results["settings"]["cases"])
    assert {"standardize-float64", "minmax-float32", "whiten-300", "memory"} <= cases
    assert "robust" in cases
    assert any(
        line.strip().startswith("partial_fit pass") and "vs RobustScaler.fit" in line
        for line in lines
    )
    assert any(
        line.strip().startswith("partial_fit pass") and "solver='qr'" in line
        for line in lines
    )
    for section in results["sections"]:
        assert section["rows"]
        for row in section["rows"]:
            assert {"operation", "skbn", "sklearn", "ratio", "skbn_runs"} <= row.keys()
            assert row["skbn"] is not None and row["skbn"] >= 0


@pytest.mark.bench
def test_dask_scale_reports_every_fit(tmp_path_factory):
    pytest.importorskip("distributed")
    options = ("--gb", "0.05", "--slice-gb", "0.02", "--chunk-mb", "10")
    out, results = run("dask_scale.py", tmp_path_factory, *options)
    text = "\n".join(table(out))
    for operation in ("BatchStandardizer.fit", "SVDWhitener.fit", "StandardScaler.fit"):
        assert operation in text, operation
    assert {row["section"] for row in results["rows"]} == {"dask", "numpy", "slice"}


@pytest.mark.bench
@pytest.mark.skipif(not importlib.util.find_spec("torch"), reason="needs torch")
def test_gpu_reports_every_estimator(tmp_path_factory):
    out, results = run("gpu.py", tmp_path_factory)
    text = "\n".join(table(out))
    for estimator in ("BatchStandardizer", "MinMaxNormalizer", "SVDWhitener"):
        assert estimator in text, estimator
    for estimator in ("StandardScaler", "MinMaxScaler", "PCA"):
        assert estimator in text, estimator
    assert len(results["sections"]) == 6


def words(text):
    return " ".join(text.replace("`", "").split())


def test_one_protocol_in_the_same_words():
    source = (BENCHMARKS / "harness.py").read_text()
    docstring = ast.get_docstring(ast.parse(source))
    protocol = words(docstring.split("Protocol:")[1])
    assert "take turns" in protocol
    for document in (BENCHMARKS / "README.md", ROOT / "docs" / "performance.rst"):
        assert protocol in words(document.read_text()), document


def test_case_files_import_the_harness_not_one_another():
    for script in SCRIPTS:
        tree = ast.parse((BENCHMARKS / script).read_text())
        imported = {
            alias.name.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        } | {
            node.module.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module
        }
        assert "harness" in imported, script
        assert not imported & {Path(name).stem for name in SCRIPTS}, script
        # skbn's public API only.
        assert not re.search(r"\bskbn\._(?!_)", (BENCHMARKS / script).read_text()), (
            script
        )
