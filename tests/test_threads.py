"""skbn's own threads: how many it may use, who decides, and none when one is allowed.

The counts that matter are those of threads alive in a fresh process, so the
tests that count threads run their fits in a subprocess.
"""

import json
import os
import subprocess
import sys
import threading

import joblib
import numpy as np
import pytest
from joblib import Parallel, delayed, parallel_config
from numpy.testing import assert_array_equal

import skbn
from skbn._blocks import _n_threads, _omp_num_threads, map_row_blocks

# In a child process: fit and transform a large array (several groups of row
# blocks) with each estimator, once per setting of n_threads given; save every
# fitted array and output, and report the number of threads allowed and the
# skbn threads alive after each setting.
CHILD = r"""
import json
import sys
import threading

import numpy as np

import skbn
from skbn import (
    BatchStandardizer, MinMaxNormalizer, RobustStandardizer, SVDWhitener,
    ZScoreOutlierDetector,
)
from skbn._blocks import _n_threads

LAZY = ("center_", "scale_", "quantiles_")
settings, path = json.loads(sys.argv[1]), sys.argv[2]
X = np.random.default_rng(0).normal(loc=3.0, scale=2.0, size=(400_000, 8))
results, report = {}, []
for n_threads in settings:
    with skbn.config_context(n_threads=n_threads):
        allowed = _n_threads()
        for estimator in [
            BatchStandardizer(), MinMaxNormalizer(), RobustStandardizer(),
            SVDWhitener(), ZScoreOutlierDetector(),
        ]:
            name = f"{n_threads}.{type(estimator).__name__}"
            estimator.fit(X)
            estimator.partial_fit(X[::-1])
            # Fitted attributes, those derived on first read included.
            keys = [key for key in vars(estimator) if key.endswith("_")]
            keys += [key for key in LAZY if hasattr(estimator, key)]
            for key in keys:
                value = np.asarray(getattr(estimator, key))
                if value.dtype.kind in "biuf":
                    results[f"{name}.{key}"] = value
            if isinstance(estimator, ZScoreOutlierDetector):
                results[f"{name}.score_samples"] = estimator.score_samples(X)
            else:
                results[f"{name}.transform"] = estimator.transform(X)
    alive = [t for t in threading.enumerate() if t.name.startswith("skbn")]
    report.append({"allowed": allowed, "threads": [t.ident for t in alive]})
np.savez(path, **results)
print(json.dumps(report))
"""


def run_child(tmp_path, settings, omp_num_threads=None):
    """Per setting: (threads allowed, skbn threads it started, its results)."""
    env = dict(os.environ)
    env.pop("OMP_NUM_THREADS", None)
    if omp_num_threads is not None:
        env["OMP_NUM_THREADS"] = omp_num_threads
    path = tmp_path / f"results-{omp_num_threads}-{len(settings)}.npz"
    done = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(settings), str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    with np.load(path) as saved:
        arrays = dict(saved)
    outcome, seen = [], set()
    for n_threads, entry in zip(settings, report, strict=True):
        started = set(entry["threads"]) - seen
        seen |= started
        prefix = f"{n_threads}."
        mine = {
            key[len(prefix) :]: value
            for key, value in arrays.items()
            if key.startswith(prefix)
        }
        outcome.append((entry["allowed"], len(started), mine))
    return outcome


@pytest.fixture(scope="module")
def children(tmp_path_factory):
    """The child runs, made once: ``{name: (allowed, started, results)}``."""
    tmp_path = tmp_path_factory.mktemp("threads")
    three, two = run_child(tmp_path, [3, 2])
    (omp_one,) = run_child(tmp_path, [None], omp_num_threads="1")
    (omp_three,) = run_child(tmp_path, [None], omp_num_threads="3")
    return {
        "n_threads=3": three,
        "n_threads=2": two,
        "OMP=1": omp_one,
        "OMP=3": omp_three,
    }


def assert_same_results(results, reference):
    assert results.keys() == reference.keys()
    assert len(reference) > 10  # fitted attributes and outputs of 5 estimators
    for key, value in reference.items():
        assert_array_equal(results[key], value, err_msg=key)


def skbn_threads():
    return {t for t in threading.enumerate() if t.name.startswith("skbn")}


def test_omp_num_threads_1_starts_no_thread_and_changes_no_result(children):
    allowed, started, results = children["OMP=1"]
    assert allowed == 1
    assert started == 0
    assert_same_results(results, children["n_threads=3"][2])


def test_n_threads_bounds_the_threads_started(children):
    allowed, started, results = children["n_threads=3"]
    assert allowed == 3
    assert 1 <= started <= 3
    allowed, started, results = children["n_threads=2"]
    assert allowed == 2
    assert 1 <= started <= 2
    assert_same_results(results, children["n_threads=3"][2])


def test_omp_num_threads_bounds_the_threads_started(children):
    allowed, started, results = children["OMP=3"]
    assert allowed == 3
    assert 1 <= started <= 3
    assert_same_results(results, children["n_threads=3"][2])


# RobustStandardizer's attributes derived from its sketch when first read.
LAZY = ("center_", "scale_", "quantiles_")


def fit_all(X):
    """Fitted arrays and outputs of every estimator fitted on X."""
    results = {}
    for estimator in [
        skbn.BatchStandardizer(),
        skbn.MinMaxNormalizer(),
        skbn.RobustStandardizer(),
        skbn.SVDWhitener(),
        skbn.ZScoreOutlierDetector(),
    ]:
        name = type(estimator).__name__
        estimator.fit(X)
        estimator.partial_fit(X[::-1])
        # Fitted attributes, those derived on first read included; read by
        # name, since private state need not be an array.
        keys = [key for key in vars(estimator) if key.endswith("_")]
        keys += [key for key in LAZY if hasattr(estimator, key)]
        for key in keys:
            value = np.asarray(getattr(estimator, key))
            if value.dtype.kind in "biuf":
                results[f"{name}.{key}"] = value
        if isinstance(estimator, skbn.ZScoreOutlierDetector):
            results[f"{name}.score_samples"] = estimator.score_samples(X)
        else:
            results[f"{name}.transform"] = estimator.transform(X)
            results[f"{name}.inverse"] = estimator.inverse_transform(X)
    return results


def test_one_thread_in_context_runs_everything_on_the_calling_thread(rng):
    X = rng.normal(loc=3.0, scale=2.0, size=(400_000, 8))
    before = skbn_threads()
    with skbn.config_context(n_threads=1):
        alone = fit_all(X)
        ran_on = map_row_blocks(lambda blocks: threading.get_ident(), 100_000, 1000)
    assert skbn_threads() <= before
    assert len(ran_on) > 1
    assert set(ran_on) == {threading.get_ident()}
    # On the calling thread BLAS keeps its own threads; the results are the same.
    with skbn.config_context(n_threads=2):
        assert_same_results(alone, fit_all(X))


def test_with_several_threads_the_work_leaves_the_calling_thread():
    # The check above is not vacuous: the same map does use the pool.
    with skbn.config_context(n_threads=2):
        ran_on = map_row_blocks(lambda blocks: threading.get_ident(), 100_000, 1000)
    assert threading.get_ident() not in ran_on


def test_the_setting_comes_first_then_omp_num_threads_then_the_cpus(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    with skbn.config_context(n_threads=5):
        assert _n_threads() == 5
    assert _n_threads() == 3  # read at each call
    monkeypatch.setenv("OMP_NUM_THREADS", "4,2")  # nested levels: the outer one
    assert _n_threads() == 4
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert _n_threads() == joblib.cpu_count()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("1", 1),
        (" 6 ", 6),
        ("8,4,1", 8),
        ("", None),
        ("0", None),
        ("-2", None),
        ("two", None),
        ("1.5", None),
        (",2", None),
    ],
)
def test_omp_num_threads_values(value, expected):
    # Values that are not a positive integer are ignored, as OpenMP ignores them.
    assert _omp_num_threads(value) == expected


def _allowed_in_worker():
    return os.environ.get("OMP_NUM_THREADS"), _n_threads()


@pytest.mark.parametrize("inner_max_num_threads", [None, 3])
def test_a_loky_worker_allows_what_loky_set(monkeypatch, inner_max_num_threads):
    # loky sets OMP_NUM_THREADS in its workers, to cpu_count() // n_jobs unless
    # told otherwise (or unless the parent sets it).
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    with parallel_config(
        backend="loky", n_jobs=2, inner_max_num_threads=inner_max_num_threads
    ):
        answers = Parallel()(delayed(_allowed_in_worker)() for _ in range(4))
    expected = inner_max_num_threads or max(joblib.cpu_count() // 2, 1)
    for omp_num_threads, allowed in answers:
        assert omp_num_threads == str(expected)
        assert allowed == expected


def test_config_is_thread_local_and_restored():
    assert skbn.get_config() == {"n_threads": None}
    seen = {}
    with skbn.config_context(n_threads=1):
        assert skbn.get_config() == {"n_threads": 1}
        thread = threading.Thread(
            target=lambda: seen.update(skbn.get_config(), inside=_n_threads())
        )
        thread.start()
        thread.join()
        with skbn.config_context():  # nothing given: nothing changes
            assert skbn.get_config()["n_threads"] == 1
        with pytest.raises(RuntimeError), skbn.config_context(n_threads=2):
            raise RuntimeError
        assert skbn.get_config()["n_threads"] == 1
    assert seen["n_threads"] is None  # not inherited from the starting thread
    assert skbn.get_config() == {"n_threads": None}
    skbn.get_config()["n_threads"] = 7  # a copy
    assert skbn.get_config() == {"n_threads": None}
    try:
        skbn.set_config(n_threads=np.int64(2))
        assert skbn.get_config() == {"n_threads": 2}
        assert type(skbn.get_config()["n_threads"]) is int
        skbn.set_config()
        assert skbn.get_config() == {"n_threads": 2}
    finally:
        skbn.set_config(n_threads=None)
    assert skbn.get_config() == {"n_threads": None}


@pytest.mark.parametrize("value", [0, -1, 1.5, 2.0, "2", True, np.int64(0), [2]])
def test_invalid_n_threads_raise_and_change_nothing(value):
    with pytest.raises(ValueError, match="n_threads must be a positive integer"):
        skbn.set_config(n_threads=value)
    with skbn.config_context(n_threads=3):
        with pytest.raises(ValueError, match="n_threads"):
            with skbn.config_context(n_threads=value):
                pass  # pragma: no cover
        assert skbn.get_config() == {"n_threads": 3}
    assert skbn.get_config() == {"n_threads": None}
