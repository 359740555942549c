"""Time skbn against scikit-learn on the CPU, in one process, on the same arrays.

The cases, the floors and the protocol: ``benchmarks/README.md`` and
``docs/performance.rst``.
"""

import argparse
import functools
import gc
import json
import subprocess
import sys
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from operator import methodcaller

import harness
import numpy as np
from harness import Section, progress
from sklearn.base import clone
from sklearn.decomposition import PCA, IncrementalPCA
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

from skbn import BatchStandardizer, MinMaxNormalizer, RobustStandardizer, SVDWhitener

# Rows (--quick: / 100), chunks of a streaming pass (/ 10), calls a run (/ 100).
SIZES = {
    "full": {"tall": 2_000_000, "chunk": 10_000, "whiten": (500_000, 200_000)},
    "quick": {"tall": 20_000, "chunk": 1_000, "whiten": (5_000, 2_000)},
}
# The robust case: 1,000,000 x 20 (quick: / 100), streamed in 100 batches.
SIZES["full"].update(robust=1_000_000)
SIZES["quick"].update(robust=10_000)
ROBUST_FEATURES, ROBUST_BATCHES = 20, 100
SIZES["full"].update(calls=2_000, memory=1_000_000)  # memory: rows of a subprocess
SIZES["quick"].update(calls=20, memory=10_000)
N_FEATURES, BATCH_SHAPES = 50, ((32, 16), (256, 16))
SLOW_REPEAT = 3  # PCA(svd_solver="full") on the 300-feature data takes seconds a fit
PCA_WHITE = functools.partial(PCA, whiten=True)
# By name: the memory subprocesses rebuild them from these names.
ESTIMATORS = {
    "BatchStandardizer": BatchStandardizer,
    "StandardScaler": StandardScaler,
    "MinMaxNormalizer": MinMaxNormalizer,
    "MinMaxScaler": MinMaxScaler,
    # Whitening the principal components, as PCA(whiten=True) does.
    "SVDWhitener": functools.partial(SVDWhitener, method="pca"),
    "SVDWhitener(qr)": functools.partial(SVDWhitener, method="pca", solver="qr"),
    "PCA(covariance_eigh)": functools.partial(PCA_WHITE, svd_solver="covariance_eigh"),
    "PCA(full)": functools.partial(PCA_WHITE, svd_solver="full"),
    "IncrementalPCA": functools.partial(IncrementalPCA, whiten=True),
}
MEMORY_PAIRS = (
    ("BatchStandardizer", "StandardScaler"),
    ("MinMaxNormalizer", "MinMaxScaler"),
    ("SVDWhitener", "PCA(covariance_eigh)"),
)
MEMORY_CALLS = ("fit", "transform (copy=True)", "transform (copy=False)")
FLOORS = {}  # (shape, dtype) -> the floors of that X
# SVDWhitener(solver="qr") takes the covariance's pass alone where every eigenvalue
# of the correlation matrix is within this factor of the largest (its docstring);
# otherwise a second pass reads the directions of the smaller ones from the rows.
WELL_DETERMINED = 64


@functools.cache
def make_data(n_samples, n_features, dtype="float64"):
    """Normal draws from default_rng(0) times per-feature scales plus offsets,
    built in place (no temporary array of X's size); made once."""
    progress(f"  building {n_samples:,} x {n_features} {dtype}")
    rng = np.random.default_rng(0)
    offsets = rng.uniform(-100.0, 100.0, n_features).astype(dtype)
    scales = rng.uniform(0.1, 10.0, n_features).astype(dtype)
    X = rng.standard_normal((n_samples, n_features), dtype=dtype)
    X *= scales
    X += offsets
    return X


@functools.cache
def make_correlated(n_samples, n_features):
    """make_data's X times M = I + 0.3 G, G standard normal (p x p) from
    default_rng(1): the features mixed, their factor ill-conditioned; made once."""
    progress(f"  building {n_samples:,} x {n_features} correlated")
    rng = np.random.default_rng(1)
    mixing = np.eye(n_features) + 0.3 * rng.standard_normal((n_features, n_features))
    return make_data(n_samples, n_features) @ mixing


def conditioning(X):
    """How ill-conditioned X is: the condition number of the centred X with its
    columns scaled to unit norm (the square root of its correlation matrix's
    largest eigenvalue over its smallest), and how many of those eigenvalues lie
    below 1 / WELL_DETERMINED of the largest."""
    eigenvalues = np.linalg.eigvalsh(np.corrcoef(X, rowvar=False))
    largest, smallest = eigenvalues[-1], eigenvalues[0]
    condition = float(np.sqrt(largest / smallest)) if smallest > 0 else float("inf")
    return condition, int(np.sum(eigenvalues < largest / WELL_DETERMINED))


def has_qr_solver():
    """Whether the skbn imported has SVDWhitener(solver='qr') (an older
    checkout, timed with PYTHONPATH, may not)."""
    return "solver" in SVDWhitener().get_params()


def describe(n_samples, n_features, dtype, nbytes):
    return f"{n_samples:,} x {n_features} {dtype} ({nbytes / 1e6:,.0f} MB)"


def section(case, title, X, repeat, keys=("sum", "copyto")):
    """A section on X, with X's floors: the time to read X (sum) and to read and
    write it (copyto), measured once for each X."""
    key = (X.shape, X.dtype.name)
    if key not in FLOORS:
        out, n = np.empty_like(X), X.nbytes
        calls = {"sum": ("X.sum(axis=0)", lambda: X.sum(axis=0), n)}
        calls["copyto"] = ("np.copyto(out, X)", lambda: np.copyto(out, X), 2 * n)
        FLOORS[key] = harness.measure_floors(calls, repeat)
    data = {"shape": list(X.shape), "dtype": X.dtype.name, "nbytes": X.nbytes}
    title += ", " + describe(*X.shape, X.dtype.name, X.nbytes)
    return Section(case, title, "s", data, {k: FLOORS[key][k] for k in keys})


def streaming_pass(estimator, X, chunk):
    """partial_fit over consecutive chunks of X, a full pass, on a fresh clone."""
    estimator = clone(estimator)
    for start in range(0, X.shape[0], chunk):
        estimator.partial_fit(X[start : start + chunk])


def passes(X, chunk):
    return f"partial_fit pass ({-(-X.shape[0] // chunk)} x {chunk:,} rows)"


def scaler_case(sizes, repeat, name, ours, theirs, dtype):
    """fit, transform (copy and in place) and a partial_fit pass over a tall X."""
    X, chunk = make_data(sizes["tall"], N_FEATURES, dtype), sizes["chunk"]
    result = section(name, f"{ours.__name__} vs {theirs.__name__}", X, repeat)
    pair = (ours(), theirs())
    result.compare("fit", methodcaller("fit", X), pair, repeat, "sum")
    transform = methodcaller("transform", X)
    result.compare("transform (copy=True)", transform, pair, repeat, "copyto")
    # In place: each run overwrites a fresh copy of X, refreshed outside the
    # timed region (into the same buffer, whose pages are then already mapped).
    buffer, outputs = np.empty_like(X), {}
    for estimator in pair:
        estimator.set_params(copy=False)
    result.compare(
        "transform (copy=False, in place)",
        lambda e: outputs.update({type(e).__name__: e.transform(buffer)}),
        *(pair, repeat, "copyto"),
        setup=lambda: np.copyto(buffer, X),
    )
    for who, output in outputs.items():
        if not np.shares_memory(output, buffer):
            result.notes.append(f"{name}: {who}'s copy=False transform copied X")
    stream = functools.partial(streaming_pass, X=X, chunk=chunk)
    result.compare(passes(X, chunk), stream, pair, repeat, "sum")
    # Timing two different results would mean nothing.
    rows, tol = X[:1000], 1e-4 if X.dtype == np.float32 else 1e-9
    a, b = (e.set_params(copy=True).transform(rows) for e in pair)
    if not np.allclose(a, b, rtol=tol, atol=tol):
        most = np.max(np.abs(a - b))
        result.notes.append(f"{name}: the transforms differ by up to {most:.3g}")
    return [result]


def robust_case(sizes, repeat):
    """RobustStandardizer vs RobustScaler: fit and transform on the same X, and
    RobustStandardizer's partial_fit pass (quantiles read at the end) against
    RobustScaler.fit on all of X, which has no partial_fit."""
    X = make_data(sizes["robust"], ROBUST_FEATURES)
    result = section("robust", "RobustStandardizer vs RobustScaler", X, repeat)
    pair = (RobustStandardizer(), RobustScaler())
    result.compare("fit", methodcaller("fit", X), pair, repeat, "sum")
    transform = methodcaller("transform", X)
    result.compare("transform (copy=True)", transform, pair, repeat, "copyto")
    chunk = -(-X.shape[0] // ROBUST_BATCHES)

    def stream_or_fit(estimator):
        if isinstance(estimator, RobustScaler):
            return estimator.fit(X)
        estimator = clone(estimator)
        for start in range(0, X.shape[0], chunk):
            estimator.partial_fit(X[start : start + chunk])
        # The quantiles are derived on first use: timed too.
        return estimator, estimator.center_

    line = passes(X, chunk) + " vs RobustScaler.fit"
    result.compare(line, stream_or_fit, pair, repeat, "sum")
    streamed, _ = stream_or_fit(pair[0])
    result.notes.append(
        f"robust: the streamed quantiles' proved rank error is at most "
        f"{streamed.rank_error_.max():.2g} (fit: exact)"
    )
    rows = X[:1000]
    a, b = (e.transform(rows) for e in pair)
    if not np.array_equal(a, b):
        most = np.max(np.abs(a - b))
        result.notes.append(f"robust: the transforms differ by up to {most:.3g}")
    return [result]


def whiten_case(sizes, repeat, name, size, n_features):
    """SVDWhitener vs PCA(whiten=True), both solvers: fit and transform; then
    SVDWhitener(solver='qr').fit against the covariance solver and PCA."""
    X, pause = make_data(sizes["whiten"][size], n_features), harness.blas_pause()
    title = "SVDWhitener(method='pca') vs PCA(whiten=True)"
    result = section(name, title, X, repeat)
    for solver in ("covariance_eigh", "full"):
        pair = (ESTIMATORS["SVDWhitener"](), ESTIMATORS[f"PCA({solver})"]())
        runs = repeat
        if solver == "full" and n_features > N_FEATURES:
            runs = min(repeat, SLOW_REPEAT)  # the full SVD takes seconds
        label = f"svd_solver={solver!r}"
        label += f", {runs} repeats" if runs != repeat else ""
        for operation, floor in (("fit", "sum"), ("transform", "copyto")):
            call, line = methodcaller(operation, X), f"{operation} (PCA {label})"
            result.compare(line, call, pair, runs, floor, pause=pause)
    if not has_qr_solver():
        result.notes.append(f"{name}: this skbn's SVDWhitener has no solver='qr'")
        return [result]
    return [result, *qr_sections(repeat, name, X, pause)]


QR = "SVDWhitener(method='pca', solver='qr')"
QR_NOTE = (
    f"In the {QR} sections the skbn column times the qr solver and the sklearn "
    "column the reference its line names (SVDWhitener's covariance solver or PCA): "
    "skbn/sklearn is the qr fit's time over the reference's, above 1 when qr is "
    "slower."
)


def qr_sections(repeat, name, X, pause):
    """SVDWhitener(solver='qr').fit against the covariance solver's, on X and on
    X's features mixed (ill-conditioned), and against PCA(svd_solver='full')."""
    qr, covariance = ESTIMATORS["SVDWhitener(qr)"](), ESTIMATORS["SVDWhitener"]()
    results = []
    for correlated in (False, True):
        data = make_correlated(*X.shape) if correlated else X
        condition, small = conditioning(data)
        kind = "correlated X @ (I + 0.3 G)" if correlated else "independent features"
        title = f"{QR} vs the reference on each line (sklearn column), {kind}, "
        title += f"condition number {condition:.3g}, {small} of {X.shape[1]} "
        title += f"correlation eigenvalues below 1/{WELL_DETERMINED} of the largest"
        result = section(name, title, data, repeat, keys=("sum",))
        result.extra.update(condition=condition, small_eigenvalues=small)
        result.extra.update(correlated=correlated)
        fit = methodcaller("fit", data)
        line = "fit, correlated X " if correlated else "fit "
        line += "(solver='qr' vs solver='covariance')"
        result.compare(line, fit, (qr, covariance), repeat, "sum", pause=pause)
        if not correlated:
            runs = repeat if X.shape[1] <= N_FEATURES else min(repeat, SLOW_REPEAT)
            line = "fit (solver='qr' vs PCA svd_solver='full'"
            line += f", {runs} repeats)" if runs != repeat else ")"
            pair = (qr, ESTIMATORS["PCA(full)"]())
            result.compare(line, fit, pair, runs, "sum", pause=pause)
        results.append(result)
    return results


def whiten_streaming(sizes, repeat):
    """SVDWhitener.partial_fit (both solvers) vs IncrementalPCA.partial_fit, the
    same batches."""
    X, chunk = make_data(sizes["whiten"][0], N_FEATURES), sizes["chunk"]
    title = "SVDWhitener vs IncrementalPCA(whiten=True), partial_fit"
    result = section("whiten-streaming", title, X, repeat, keys=("sum",))
    pair = (ESTIMATORS["SVDWhitener"](), ESTIMATORS["IncrementalPCA"]())
    stream = functools.partial(streaming_pass, X=X, chunk=chunk)
    pause = harness.blas_pause()
    result.compare(passes(X, chunk), stream, pair, repeat, "sum", pause=pause)
    if not has_qr_solver():
        result.notes.append(
            "whiten-streaming: this skbn's SVDWhitener has no solver='qr'"
        )
        return [result]
    pair = (ESTIMATORS["SVDWhitener(qr)"](), pair[1])
    line = passes(X, chunk) + ", solver='qr'"
    result.compare(line, stream, pair, repeat, "sum", pause=pause)
    return [result]


def call_repeatedly(operation, batch, calls, estimator):
    method = getattr(estimator, operation)
    for _ in range(calls):
        method(batch)


def per_call(sizes, repeat):
    """The fixed cost of one call on a small batch, in seconds per call."""
    calls, results = sizes["calls"], []
    for ours, theirs in (
        (BatchStandardizer, StandardScaler),
        (MinMaxNormalizer, MinMaxScaler),
    ):
        title = f"{ours.__name__} vs {theirs.__name__}, per call on small float64 "
        title += f"batches ({calls:,} calls a run)"
        data = {"shapes": BATCH_SHAPES, "calls": calls}
        result = Section("per-call", title, "s/call", data)
        for n_samples, n_features in BATCH_SHAPES:
            batch = make_data(n_samples, n_features)
            streaming = (ours(), theirs())
            fitted = [clone(e).fit(batch) for e in streaming]
            for operation, pair in (("partial_fit", streaming), ("transform", fitted)):
                call = functools.partial(call_repeatedly, operation, batch, calls)
                line = f"{operation}, {n_samples} x {n_features}"
                result.compare(line, call, pair, repeat, per=calls)
        results.append(result)
    return results


def measure_memory(specs, n_samples):
    """A memory subprocess: print {"ESTIMATOR:CALL": extra peak bytes} as JSON.

    Each on a fresh X and a fresh estimator; tracemalloc starts after X is built
    (and, for a transform, after the fit), so its peak is what the call allocates
    (numpy reports every array buffer to tracemalloc).
    """
    peaks = {}
    for spec in specs:
        name, call = spec.split(":")
        X, estimator = make_data.__wrapped__(n_samples, N_FEATURES), ESTIMATORS[name]()
        if call != "fit":
            estimator.fit(X).set_params(copy="copy=True" in call)
        gc.collect()
        tracemalloc.start()
        output = estimator.fit(X) if call == "fit" else estimator.transform(X)
        peaks[spec] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        del output, estimator, X
    print(json.dumps(peaks))


def memory(sizes, repeat):
    """Extra peak memory of one call, each measured in a fresh subprocess."""
    n_samples = sizes["memory"]
    nbytes = n_samples * N_FEATURES * 8
    specs = [  # PCA's transform always allocates (its copy=False is about fit)
        f"{name}:{call}"
        for pair in MEMORY_PAIRS
        for name in pair
        for call in MEMORY_CALLS
        if call != "transform (copy=False)" or not name.startswith("PCA")
    ]

    def run(job):
        command = [sys.executable, __file__, "--memory-rows", str(n_samples)]
        done = subprocess.run([*command, "--memory-case", *job], capture_output=True)
        if done.returncode != 0:
            raise RuntimeError(f"memory case {job} failed:\n{done.stderr.decode()}")
        progress(f"  {', '.join(job)}")
        return json.loads(done.stdout.splitlines()[-1])

    # Two subprocesses at a time; --quick, whose arrays are tiny and where the
    # interpreter's start-up would dominate, measures them all in one.
    jobs = [specs] if sizes["quick"] else [[spec] for spec in specs]
    with ThreadPoolExecutor(max_workers=2) as pool:
        peaks = {k: v for result in pool.map(run, jobs) for k, v in result.items()}
    results = []
    for ours, theirs in MEMORY_PAIRS:
        title = f"{ours} vs {theirs}, extra peak memory (tracemalloc), "
        title += describe(n_samples, N_FEATURES, "float64", nbytes)
        data = {"shape": [n_samples, N_FEATURES], "dtype": "float64", "nbytes": nbytes}
        floor = {"X": harness.Floor(float(nbytes), "size of X")}
        result = Section("memory", title + "; floor = size of X", "bytes", data, floor)
        for call in MEMORY_CALLS:
            mine, other = peaks.get(f"{ours}:{call}"), peaks.get(f"{theirs}:{call}")
            if mine is not None:
                result.rows.append(harness.Row(call, mine, other, "X"))
        results.append(result)
    return results


CASES = {
    f"{kind}-{dtype}": functools.partial(
        scaler_case, name=f"{kind}-{dtype}", ours=ours, theirs=theirs, dtype=dtype
    )
    for kind, ours, theirs in (
        ("standardize", BatchStandardizer, StandardScaler),
        ("minmax", MinMaxNormalizer, MinMaxScaler),
    )
    for dtype in ("float64", "float32")
}
for name, size, p in (("whiten-50", 0, 50), ("whiten-300", 1, 300)):
    CASES[name] = functools.partial(whiten_case, name=name, size=size, n_features=p)
CASES.update({"whiten-streaming": whiten_streaming, "per-call": per_call})
CASES["robust"] = robust_case
CASES["memory"] = memory


def main(argv=None):
    parser = harness.options_parser(__doc__, "results.json", 5, "rows / 100", CASES)
    # A memory subprocess: --memory-rows N --memory-case ESTIMATOR:CALL [...].
    parser.add_argument("--memory-case", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--memory-rows", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_case:
        return measure_memory(args.memory_case, args.memory_rows)
    info, names = harness.begin(args, CASES)
    print()
    sizes = {**SIZES["quick" if args.quick else "full"], "quick": args.quick}
    start = time.perf_counter()
    sections, failed = harness.run_cases(names, lambda n: CASES[n](sizes, args.repeat))
    elapsed = time.perf_counter() - start
    settings = {"only": args.only, "cases": names, "sizes": sizes}
    settings.update(blas_pause=harness.blas_pause(), seconds=elapsed)
    lines = [QR_NOTE] if any(QR in section.title for section in sections) else []
    harness.report(args, info, settings, sections, elapsed, lines=lines, notes=failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
