"""Only fitting methods write to an estimator; concurrent reads are safe.

The contract (DESIGN.md, "Threads and concurrency"): ``fit``, ``partial_fit``
(and ``partial_fit_transform``), ``set_params`` and ``set_output`` change an
estimator; ``transform``, ``inverse_transform``, ``score_samples``,
``decision_function``, ``predict``, ``get_feature_names_out`` and reading a
fitted attribute do not, for numpy arrays and for arrays of other namespaces
(torch tensors with scikit-learn's array API dispatch on), so that threads
may share one fitted estimator.

Three kinds of test:

- After fitting, ``vars(est)`` is snapshot (keys, the objects themselves and
  a deep copy of their values); every non-fitting public method is called
  and every documented attribute read; ``vars(est)`` must be the same dict
  of the same objects with the same values. This holds for a whitener
  after ``partial_fit`` too, whose map is derived on first use: deriving it
  may happen when it is read, but not by writing it into the estimator.
- The same calls with the estimator's class spying on ``__setattr__`` and
  ``__delattr__``: no call sets or deletes an attribute of the estimator,
  not even one it puts back before returning (another thread could read
  it meanwhile).
- Eight threads, started together by a barrier, call the non-fitting
  methods 50 times each on one fitted estimator with inputs of their own.
  Every result must be of the input's kind (a torch tensor on the input's
  device for a tensor, an ndarray for an ndarray) and equal a reference
  computed here with numpy: ``(x - mean) / std`` from ``np.mean`` and
  ``np.var`` (ddof=0) of the fit data, ``(x - min) / (max - min) * (hi - lo)
  + lo``, ``(x - median) / (q_max-th - q_min-th percentile)`` from
  ``np.median`` and ``np.percentile`` (the 200 rows are far fewer than the
  quantile sketch of ``partial_fit`` holds whole, so it is exact too),
  ``-max_j |z_j|`` for the detector's score, the round trip
  ``inverse_transform(transform-reference) == x``. For the whitener the map
  W and the mean are read beforehand, single-threaded, from a deep copy of
  the estimator; they are checked independently (the mean is ``np.mean`` of
  the fit data, and the fit data whitened by them has identity covariance),
  and the threads' results must equal ``(x - mean) @ W``.
"""

import copy
import numbers
import pickle
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
import pytest
import sklearn
from numpy.testing import assert_allclose, assert_array_equal
from scipy.stats import norm
from sklearn.utils.validation import check_is_fitted

from skbn import (
    BatchStandardizer,
    MinMaxNormalizer,
    RobustStandardizer,
    SVDWhitener,
    ZScoreOutlierDetector,
)
from skbn._whitening import METHODS
from tests.helpers import FITTED_ARRAYS, FITTED_NUMBERS

N_THREADS = 8
N_CALLS = 50  # per thread, each with an input of its own
N_FEATURES = 4
FEATURE_RANGE = (-1.0, 2.0)
THRESHOLD = 2.5
WHITENING_METHODS = tuple(METHODS)  # every method of the registry
ONE_TO_ONE = ("zca", "zca_cor", "cholesky")

# float64 throughout: results agree with the written-out formulas to the
# last few digits. Outputs cross zero, where only an absolute tolerance makes
# sense; outputs are O(1) and inputs at most O(1e3).
RTOL = 1e-12
ATOL_OUT = 1e-12
ATOL_ROUND_TRIP = 1e-10

# Correlated features with offsets and spreads of different sizes, so that
# whitening is a full (non-diagonal) map.
MIXING = np.array(
    [
        [2.0, 0.5, 0.0, 0.1],
        [0.0, 1.0, 0.3, 0.0],
        [0.2, 0.0, 0.5, 0.0],
        [0.0, 0.4, 0.0, 30.0],
    ]
)
OFFSET = np.array([10.0, -3.0, 0.5, 100.0])


def make_data(seed, n_samples, spread=1.0):
    rng = np.random.default_rng(seed)
    return spread * rng.normal(size=(n_samples, N_FEATURES)) @ MIXING + OFFSET


X_FIT = make_data(0, 200)

ESTIMATORS = {
    "standardizer": lambda: BatchStandardizer(),
    "minmax": lambda: MinMaxNormalizer(feature_range=FEATURE_RANGE),
    **{
        f"whitener-{method}": (lambda method=method: SVDWhitener(method=method))
        for method in WHITENING_METHODS
    },
    # After partial_fit, center_ and scale_ are derived on first use.
    "robust": lambda: RobustStandardizer(),
    "robust-deciles-unit_variance": lambda: RobustStandardizer(
        quantile_range=(10.0, 90.0), unit_variance=True
    ),
    "robust-no_centering": lambda: RobustStandardizer(with_centering=False),
    "detector": lambda: ZScoreOutlierDetector(threshold=THRESHOLD),
}

# The documented fitted attributes (DESIGN.md), and those of them that are
# arrays: in the fit's namespace and on its device.
ATTRIBUTES = {
    cls: (FITTED_ARRAYS[cls], ("n_features_in_", *FITTED_NUMBERS[cls]))
    for cls in FITTED_ARRAYS
}


@pytest.fixture(params=["numpy", "torch"])
def backend(request):
    """The kind of array the estimator is fitted on and called with."""
    if request.param == "torch":
        pytest.importorskip("torch")
        pytest.importorskip("array_api_compat")
        try:
            with sklearn.config_context(array_api_dispatch=True):
                pass
        except (ImportError, RuntimeError) as exc:  # scipy < 1.14, ...
            pytest.skip(f"scikit-learn's array API dispatch cannot be enabled: {exc}")
    return request.param


@contextmanager
def dispatch(backend):
    """scikit-learn's configuration for ``backend``; it is per thread, so
    every thread enters it itself."""
    with sklearn.config_context(array_api_dispatch=backend == "torch"):
        yield


def as_input(X, backend):
    """A fresh array of ``backend`` holding the float64 values of X."""
    if backend == "torch":
        import torch

        return torch.tensor(X, dtype=torch.float64)
    return np.array(X, dtype=np.float64)


def to_numpy(array):
    if type(array) is np.ndarray:
        return array
    import torch

    assert isinstance(array, torch.Tensor), type(array)
    return array.detach().cpu().numpy().copy()


def assert_kind_of(result, X, backend, *, dtype=True):
    """``result`` is an array of X's kind: a tensor on X's device, or an ndarray."""
    if backend == "torch":
        import torch
        from array_api_compat import device

        assert isinstance(result, torch.Tensor), (
            f"a torch tensor in gave {type(result).__name__} out"
        )
        assert device(result) == device(X)
        if dtype:
            assert result.dtype == torch.float64, result.dtype
    else:
        assert type(result) is np.ndarray, (
            f"an ndarray in gave {type(result).__name__} out"
        )
        if dtype:
            assert result.dtype == np.float64, result.dtype


def fitted(name, fitting, backend):
    """The estimator ``name`` fitted on X_FIT by ``fit``, or by ``partial_fit``
    in four batches (after which a whitener has not derived its map)."""
    est = ESTIMATORS[name]()
    if fitting == "fit":
        est.fit(as_input(X_FIT, backend))
    else:
        for batch in np.array_split(X_FIT, 4):
            est.partial_fit(as_input(batch, backend))
    return est


# --- vars(est) is left alone ---------------------------------------------


def assert_same_value(before, after, where):
    """``after`` has the type and the exact value of ``before`` (a deep copy).

    Arrays, numbers, strings and containers of them are compared by value;
    any other object by type only: what it holds is its own business (a
    fitted state object may keep a map derived on first use).
    """
    assert type(after) is type(before), (
        f"{where}: {type(before).__name__} became {type(after).__name__}"
    )
    if isinstance(before, np.ndarray):
        assert_array_equal(after, before, err_msg=where, strict=True)
    elif type(before).__module__.split(".")[0] == "torch":
        import torch

        if isinstance(before, torch.Tensor):
            assert after.dtype == before.dtype, where
            assert after.device == before.device, where
            assert after.shape == before.shape, where
            assert torch.equal(after, before), where
    elif isinstance(before, dict):
        assert list(after) == list(before), where
        for key in before:
            assert_same_value(before[key], after[key], f"{where}[{key!r}]")
    elif isinstance(before, (list, tuple)):
        assert len(after) == len(before), where
        for i, (b, a) in enumerate(zip(before, after, strict=True)):
            assert_same_value(b, a, f"{where}[{i}]")
    elif isinstance(before, (numbers.Number, np.generic, str, bytes, type(None))):
        if before != before:  # NaN
            assert after != after, f"{where}: NaN became {after!r}"
        else:
            assert after == before, f"{where}: {before!r} became {after!r}"


class Snapshot:
    """The keys of ``vars(est)``, the objects they hold (kept alive, so that
    they are compared by identity) and deep copies of their values."""

    def __init__(self, est):
        self.objects = dict(vars(est))
        self.values = copy.deepcopy(self.objects)

    def assert_unchanged(self, est, after):
        now = vars(est)
        added = sorted(set(now) - set(self.objects))
        removed = sorted(set(self.objects) - set(now))
        assert not added and not removed, (
            f"{after} changed the estimator's attributes: "
            f"added {added}, removed {removed}"
        )
        replaced = sorted(name for name in now if now[name] is not self.objects[name])
        assert not replaced, f"{after} replaced {replaced}"
        for name in now:
            assert_same_value(self.values[name], now[name], f"{after}: {name}")


def non_fitting_calls(est, X):
    """(description, call) for every public method that must not write."""
    if isinstance(est, ZScoreOutlierDetector):
        calls = [
            ("score_samples", lambda: est.score_samples(X)),
            ("decision_function", lambda: est.decision_function(X)),
            ("predict", lambda: est.predict(X)),
        ]
    else:
        calls = [
            ("transform", lambda: est.transform(X)),
            ("inverse_transform", lambda: est.inverse_transform(est.transform(X))),
            ("get_feature_names_out", lambda: est.get_feature_names_out()),
        ]
    calls += [
        ("get_params", lambda: est.get_params()),
        ("repr", lambda: repr(est)),
        ("get_tags", lambda: sklearn.utils.get_tags(est)),
        ("check_is_fitted", lambda: check_is_fitted(est)),
        ("pickle.dumps", lambda: pickle.dumps(est)),
    ]
    arrays, numbers = ATTRIBUTES[type(est)]
    calls += [
        (f"reading {name}", lambda name=name: getattr(est, name))
        for name in arrays + numbers
    ]
    return calls


@pytest.mark.parametrize("fitting", ["fit", "partial_fit"])
@pytest.mark.parametrize("name", ESTIMATORS)
def test_non_fitting_methods_leave_the_estimator_alone(name, fitting, backend):
    with dispatch(backend):
        est = fitted(name, fitting, backend)
        X = as_input(make_data(1, 30), backend)
        snapshot = Snapshot(est)
        done = []
        for description, call in non_fitting_calls(est, X):
            call()
            done.append(description)
            snapshot.assert_unchanged(est, " then ".join(done))


@contextmanager
def recording_writes(est):
    """Record every attribute set on or deleted from ``est`` by name (through
    its class's ``__setattr__`` and ``__delattr__``, spied on meanwhile)."""
    cls = type(est)
    names = ("__setattr__", "__delattr__")
    own = {name: vars(cls)[name] for name in names if name in vars(cls)}
    set_attribute, delete_attribute = cls.__setattr__, cls.__delattr__
    writes = []

    def spy_set(self, name, value):
        if self is est:
            writes.append(f"sets {name}")
        set_attribute(self, name, value)

    def spy_delete(self, name):
        if self is est:
            writes.append(f"deletes {name}")
        delete_attribute(self, name)

    cls.__setattr__, cls.__delattr__ = spy_set, spy_delete
    try:
        yield writes
    finally:
        for name in names:
            if name in own:
                setattr(cls, name, own[name])
            else:
                delattr(cls, name)


@pytest.mark.parametrize("fitting", ["fit", "partial_fit"])
@pytest.mark.parametrize("name", ESTIMATORS)
def test_non_fitting_methods_set_no_attribute(name, fitting, backend):
    """Not even for a while: a thread may be reading the attribute meanwhile.

    (The test above sees what is left after a call; this one sees an
    attribute replaced and put back within a call.)
    """
    with dispatch(backend):
        est = fitted(name, fitting, backend)
        X = as_input(make_data(1, 30), backend)
        for description, call in non_fitting_calls(est, X):
            with recording_writes(est) as writes:
                call()
            assert not writes, f"{description} {', '.join(dict.fromkeys(writes))}"


# --- threads ---------------------------------------------------------------


@contextmanager
def frequent_thread_switches():
    """Let the interpreter switch threads often, so that calls interleave."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        yield
    finally:
        sys.setswitchinterval(interval)


def reference_maps(name, est, backend):
    """numpy functions (forward, round trip expected) written out from X_FIT.

    Returns ``{method: f}`` where ``f(x)`` is the expected result of
    ``est.method`` on the numpy array ``x`` (for ``inverse_transform``, the
    input is the expected transform of x and the expected result x itself).
    """
    mean = np.mean(X_FIT, axis=0)
    if name == "standardizer":
        std = np.sqrt(np.var(X_FIT, axis=0))
        forward = lambda x: (x - mean) / std
    elif name == "minmax":
        lo, hi = FEATURE_RANGE
        low, high = X_FIT.min(axis=0), X_FIT.max(axis=0)
        forward = lambda x: (x - low) / (high - low) * (hi - lo) + lo
    elif name.startswith("robust"):
        params = est.get_params()
        q_min, q_max = params["quantile_range"]
        low, high = np.percentile(X_FIT, [q_min, q_max], axis=0)
        scale = high - low
        if params["unit_variance"]:
            scale = scale / (norm.ppf(q_max / 100) - norm.ppf(q_min / 100))
        center = np.median(X_FIT, axis=0) if params["with_centering"] else 0.0
        forward = lambda x: (x - center) / scale
    elif name == "detector":
        std = np.sqrt(np.var(X_FIT, axis=0))
        score = lambda x: -np.max(np.abs((x - mean) / std), axis=1)
        return {
            "score_samples": score,
            "decision_function": lambda x: score(x) + THRESHOLD,
            "predict": lambda x: np.where(score(x) + THRESHOLD < 0, -1, 1),
        }
    else:
        # Read single-threaded from a copy, before any thread starts, and
        # checked against what a whitening map is.
        reference = copy.deepcopy(est)
        with dispatch(backend):
            whitening = to_numpy(reference.whitening_matrix_)
            shift = to_numpy(reference.mean_)
        assert_allclose(shift, mean, rtol=RTOL)
        assert whitening.shape == (N_FEATURES, N_FEATURES)
        whitened = (X_FIT - shift) @ whitening
        assert_allclose(
            np.cov(whitened, rowvar=False, ddof=0), np.eye(N_FEATURES), atol=1e-10
        )
        forward = lambda x: (x - shift) @ whitening
    return {"transform": forward, "inverse_transform": lambda x: x}


def expected_feature_names(name):
    if name.startswith("whitener-") and name.split("-")[1] not in ONE_TO_ONE:
        return [f"svdwhitener{i}" for i in range(N_FEATURES)]
    return [f"x{i}" for i in range(N_FEATURES)]


def thread_jobs(name, est, backend):
    """For each thread, its list of (method, input, expected numpy result,
    tolerances); every input is an array of its own."""
    maps = reference_maps(name, est, backend)
    jobs = []
    for thread in range(N_THREADS):
        calls = []
        for i in range(N_CALLS):
            # Wider than the fit data, so that the detector sees outliers.
            x = make_data(1000 + thread * N_CALLS + i, 5 + i % 23, spread=1.5)
            if "transform" in maps:
                z = maps["transform"](x)
                calls.append(("transform", as_input(x, backend), z, ATOL_OUT))
                calls.append(
                    ("inverse_transform", as_input(z, backend), x, ATOL_ROUND_TRIP)
                )
            else:
                for method, f in maps.items():
                    calls.append((method, as_input(x, backend), f(x), ATOL_OUT))
        jobs.append(calls)
    return jobs


@pytest.mark.parametrize("fitting", ["fit", "partial_fit"])
@pytest.mark.parametrize("name", ESTIMATORS)
def test_concurrent_calls_on_one_estimator(name, fitting, backend):
    with dispatch(backend):
        est = fitted(name, fitting, backend)
    jobs = thread_jobs(name, est, backend)
    feature_names = expected_feature_names(name)
    barrier = threading.Barrier(N_THREADS)

    def work(thread):
        with dispatch(backend):
            barrier.wait(timeout=60)
            for i, (method, X, expected, atol) in enumerate(jobs[thread]):
                where = f"thread {thread}, call {i}: {method}"
                result = getattr(est, method)(X)
                assert_kind_of(result, X, backend, dtype=method != "predict")
                if method == "predict":
                    assert_array_equal(to_numpy(result), expected, err_msg=where)
                else:
                    assert_allclose(
                        to_numpy(result), expected, rtol=RTOL, atol=atol, err_msg=where
                    )
                if method != "inverse_transform" and hasattr(
                    est, "get_feature_names_out"
                ):
                    assert list(est.get_feature_names_out()) == feature_names

    with frequent_thread_switches(), ThreadPoolExecutor(N_THREADS) as pool:
        futures = [pool.submit(work, thread) for thread in range(N_THREADS)]
        for future in futures:
            future.result()

    if backend == "torch":
        # The fitted arrays are where the fit put them, whatever the threads
        # did with them meanwhile.
        import torch

        with dispatch(backend):
            arrays, _ = ATTRIBUTES[type(est)]
            for attribute in arrays:
                value = getattr(est, attribute)
                if attribute == "center_" and not est.get_params().get(
                    "with_centering", True
                ):
                    assert value is None
                    continue
                assert isinstance(value, torch.Tensor), (
                    f"{attribute} is {type(value).__name__} after the threads"
                )
                assert value.dtype == torch.float64
