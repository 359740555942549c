"""Time skbn against scikit-learn, in one process, on the same arrays.

Usage::

    python benchmarks/run.py                 # the default sizes: a few minutes
    python benchmarks/run.py --quick         # small sizes: a few seconds
    python benchmarks/run.py --only minmax   # the cases whose name contains "minmax"
    python benchmarks/run.py --repeat 9 --json before.json

Each timing is the median of ``--repeat`` runs (5 by default) after one warm-up run,
measured with ``time.perf_counter``; the skbn and scikit-learn calls of a line take
turns, so that a slow phase of the machine hits both. Normalization is memory-bound:
``fit`` reads X once and ``transform`` reads it and writes a result of the same size,
so every section starts with the "floor" of its X, the time numpy takes to read X
(``X.sum(axis=0)``) and to read and write it (``np.copyto(out, X)``), and every line
shows its time as a multiple of that floor (fits and ``partial_fit`` passes against
the sum, transforms against the copy).

The script prints the machine, progress (on stderr) and one table, and writes every
number, with the individual repeats, to a JSON file.
"""

import argparse
import dataclasses
import functools
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import scipy
import sklearn
from sklearn.base import clone
from sklearn.decomposition import PCA, IncrementalPCA
from sklearn.preprocessing import MinMaxScaler, StandardScaler

import skbn
from skbn import BatchStandardizer, MinMaxNormalizer, SVDWhitener

DEFAULT_JSON = Path(__file__).resolve().parent / "results.json"

# Sizes. Rows are cut 100-fold by --quick; the feature counts stay.
SIZES = {
    "full": {
        "tall": 2_000_000,  # x 50: BatchStandardizer, MinMaxNormalizer
        "chunk": 10_000,  # rows per partial_fit call in a streaming pass
        "whiten": (500_000, 200_000),  # x 50 and x 300
        "calls": 2_000,  # calls per run in the per-call section
        "memory": 1_000_000,  # x 50, in each memory subprocess
    },
    "quick": {
        "tall": 20_000,
        "chunk": 1_000,
        "whiten": (5_000, 2_000),
        "calls": 20,
        "memory": 10_000,
    },
}
N_FEATURES = 50
WIDE_FEATURES = 300
BATCH_SHAPES = ((32, 16), (256, 16))  # the per-call section
SLOW_REPEAT = 3  # PCA(svd_solver="full") on the 300-feature data takes seconds a fit


def progress(message):
    print(message, file=sys.stderr, flush=True)


# The estimators, by name: the memory subprocesses rebuild them from these names.
ESTIMATORS = {
    "BatchStandardizer": BatchStandardizer,
    "StandardScaler": StandardScaler,
    "MinMaxNormalizer": MinMaxNormalizer,
    "MinMaxScaler": MinMaxScaler,
    # Whitening the principal components, as PCA(whiten=True) does.
    "SVDWhitener": lambda: SVDWhitener(method="pca"),
    "PCA(covariance_eigh)": lambda: PCA(whiten=True, svd_solver="covariance_eigh"),
    "PCA(full)": lambda: PCA(whiten=True, svd_solver="full"),
    "IncrementalPCA": lambda: IncrementalPCA(whiten=True, n_components=None),
}


def make_data(n_samples, n_features, dtype=np.float64):
    """Normal data with per-feature offsets and scales, from default_rng(0).

    Built in place, so that no temporary array of X's size is ever allocated.
    """
    rng = np.random.default_rng(0)
    offsets = rng.uniform(-100.0, 100.0, n_features).astype(dtype)
    scales = rng.uniform(0.1, 10.0, n_features).astype(dtype)
    X = rng.standard_normal((n_samples, n_features), dtype=dtype)
    X *= scales
    X += offsets
    return X


def describe(X):
    n, p = X.shape
    return f"{n:,} x {p} {X.dtype} ({X.nbytes / 1e6:,.0f} MB)"


# --------------------------------------------------------------------- timing


def measure(functions, *, repeat, setup=None, warmup=1):
    """Median wall time of each function, its runs back to back.

    ``functions`` maps names to callables; each run calls ``setup()`` (untimed,
    e.g. to refresh an array that a call overwrites) first. Returns
    ``{name: (median, [times])}``, the warm-up runs left out. The garbage
    collector is off in the timed region, as in ``timeit``.

    The functions do not take turns: after a call, OpenBLAS keeps its threads
    spinning for about 0.1 s, and whatever runs next shares the cores with
    them (a whitener fit right after PCA's took 1.6 times as long), so taking
    turns would charge one library's BLAS threads to the other.
    """
    times = {name: [] for name in functions}
    for name, function in functions.items():
        for run in range(warmup + repeat):
            if setup is not None:
                setup()
            gc.collect()
            gc.disable()
            try:
                start = time.perf_counter()
                function()
                elapsed = time.perf_counter() - start
            finally:
                gc.enable()
            if run >= warmup:
                times[name].append(elapsed)
    return {name: (statistics.median(t), t) for name, t in times.items()}


@dataclasses.dataclass
class Row:
    """One line of the table: a skbn value, a scikit-learn value, their ratio."""

    operation: str
    skbn: float | None
    sklearn: float | None = None
    floor: str | None = None  # the floor it is compared with, a key of .floors
    repeats: int | None = None
    skbn_runs: list = dataclasses.field(default_factory=list)
    sklearn_runs: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Section:
    case: str
    title: str
    unit: str  # "s", "s/call" or "bytes"
    data: dict
    floors: dict = dataclasses.field(default_factory=dict)  # name -> (value, label)
    rows: list = dataclasses.field(default_factory=list)
    notes: list = dataclasses.field(default_factory=list)


class Context:
    """What the cases share: the sizes, the repeat count, the arrays and floors."""

    def __init__(self, quick, repeat):
        self.quick = quick
        self.sizes = SIZES["quick" if quick else "full"]
        self.repeat = repeat
        self._data = {}
        self._floors = {}

    def data(self, n_samples, n_features, dtype=np.float64):
        key = (n_samples, n_features, np.dtype(dtype).name)
        if key not in self._data:
            progress(f"  building {n_samples:,} x {n_features} {key[2]}")
            self._data[key] = make_data(n_samples, n_features, dtype)
        return self._data[key]

    def floors(self, X):
        """The time to read X once (sum) and to read and write it once (copyto)."""
        key = (X.shape, X.dtype.name)
        if key not in self._floors:
            progress("  floor: X.sum(axis=0), np.copyto(out, X)")
            out = np.empty_like(X)
            timed = measure(
                {"sum": lambda: X.sum(axis=0), "copyto": lambda: np.copyto(out, X)},
                repeat=self.repeat,
            )
            del out
            read, copied = timed["sum"][0], timed["copyto"][0]
            self._floors[key] = {
                "sum": (
                    read,
                    f"floor: X.sum(axis=0) [{X.nbytes / read / 1e9:.1f} GB/s]",
                ),
                "copyto": (
                    copied,
                    f"floor: np.copyto(out, X) [{2 * X.nbytes / copied / 1e9:.1f}"
                    " GB/s]",
                ),
            }
        return self._floors[key]

    def compare(self, section, operation, skbn_call, sklearn_call, *, floor, **kw):
        """Time a skbn call and a scikit-learn call; add their line to section."""
        repeat = kw.pop("repeat", self.repeat)
        progress(f"  {operation}")
        timed = measure(
            {"skbn": skbn_call, "sklearn": sklearn_call}, repeat=repeat, **kw
        )
        section.rows.append(
            Row(
                operation,
                timed["skbn"][0],
                timed["sklearn"][0],
                floor=floor,
                repeats=repeat,
                skbn_runs=timed["skbn"][1],
                sklearn_runs=timed["sklearn"][1],
            )
        )


def streaming_pass(estimator, X, chunk):
    """partial_fit over consecutive chunks of X, a full pass, on a fresh clone."""
    estimator = clone(estimator)
    for start in range(0, X.shape[0], chunk):
        estimator.partial_fit(X[start : start + chunk])
    return estimator


def check_agreement(section, skbn_est, sklearn_est, X):
    """Note it in the table if the two transforms disagree: a benchmark of two
    different results would mean nothing."""
    rows = X[:1000]
    tol = 1e-4 if X.dtype == np.float32 else 1e-9
    a = skbn_est.transform(rows, copy=True)
    b = sklearn_est.set_params(copy=True).transform(rows)
    if not np.allclose(a, b, rtol=tol, atol=tol):
        section.notes.append(
            f"{section.case}: skbn and scikit-learn transforms differ by up to "
            f"{np.max(np.abs(a - b)):.3g}"
        )


# ---------------------------------------------------------------------- cases

CASES = {}


def case(name):
    def register(function):
        CASES[name] = function
        return function

    return register


def scaler_case(ctx, name, skbn_estimator, sklearn_estimator, dtype):
    """fit, transform (copy and in place) and a partial_fit pass over a tall X."""
    X = ctx.data(ctx.sizes["tall"], N_FEATURES, dtype)
    chunk = ctx.sizes["chunk"]
    section = Section(
        name,
        f"{type(skbn_estimator).__name__} vs {type(sklearn_estimator).__name__}, "
        + describe(X),
        "s",
        {"shape": list(X.shape), "dtype": X.dtype.name, "nbytes": X.nbytes},
        floors=ctx.floors(X),
    )
    ours, theirs = clone(skbn_estimator), clone(sklearn_estimator)
    ctx.compare(section, "fit", lambda: ours.fit(X), lambda: theirs.fit(X), floor="sum")
    ours.set_params(copy=True)
    theirs.set_params(copy=True)
    ctx.compare(
        section,
        "transform (copy=True)",
        lambda: ours.transform(X),
        lambda: theirs.transform(X),
        floor="copyto",
    )
    # In place: each run overwrites a fresh copy of X, refreshed outside the
    # timed region (into the same buffer, whose pages are then already mapped).
    buffer = np.empty_like(X)
    ours.set_params(copy=False)
    theirs.set_params(copy=False)
    results = {}
    ctx.compare(
        section,
        "transform (copy=False, in place)",
        lambda: results.__setitem__("skbn", ours.transform(buffer)),
        lambda: results.__setitem__("sklearn", theirs.transform(buffer)),
        floor="copyto",
        setup=lambda: np.copyto(buffer, X),
    )
    for who, result in results.items():
        if not np.shares_memory(result, buffer):
            section.notes.append(f"{name}: {who}'s copy=False transform copied X")
    n_chunks = -(-X.shape[0] // chunk)
    ctx.compare(
        section,
        f"partial_fit pass ({n_chunks} x {chunk:,} rows)",
        lambda: streaming_pass(skbn_estimator, X, chunk),
        lambda: streaming_pass(sklearn_estimator, X, chunk),
        floor="sum",
    )
    check_agreement(section, ours, theirs, X)
    return [section]


@case("standardize-float64")
def standardize_float64(ctx):
    return scaler_case(
        ctx, "standardize-float64", BatchStandardizer(), StandardScaler(), np.float64
    )


@case("standardize-float32")
def standardize_float32(ctx):
    return scaler_case(
        ctx, "standardize-float32", BatchStandardizer(), StandardScaler(), np.float32
    )


@case("minmax-float64")
def minmax_float64(ctx):
    return scaler_case(
        ctx, "minmax-float64", MinMaxNormalizer(), MinMaxScaler(), np.float64
    )


@case("minmax-float32")
def minmax_float32(ctx):
    return scaler_case(
        ctx, "minmax-float32", MinMaxNormalizer(), MinMaxScaler(), np.float32
    )


def whiten_case(ctx, name, n_samples, n_features):
    """SVDWhitener vs PCA(whiten=True), both solvers: fit and transform."""
    X = ctx.data(n_samples, n_features)
    section = Section(
        name,
        "SVDWhitener(method='pca') vs PCA(whiten=True), " + describe(X),
        "s",
        {"shape": list(X.shape), "dtype": X.dtype.name, "nbytes": X.nbytes},
        floors=ctx.floors(X),
    )
    ours = ESTIMATORS["SVDWhitener"]()
    solvers = {
        "covariance_eigh": (ESTIMATORS["PCA(covariance_eigh)"](), ctx.repeat),
        # The full SVD of a 300-column X takes seconds: fewer repeats.
        "full": (
            ESTIMATORS["PCA(full)"](),
            min(ctx.repeat, SLOW_REPEAT) if n_features > N_FEATURES else ctx.repeat,
        ),
    }
    for solver, (theirs, repeat) in solvers.items():
        label = f"svd_solver={solver!r}" + (
            f", {repeat} repeats" if repeat != ctx.repeat else ""
        )
        ctx.compare(
            section,
            f"fit (PCA {label})",
            lambda: ours.fit(X),
            lambda theirs=theirs: theirs.fit(X),
            floor="sum",
            repeat=repeat,
        )
        ctx.compare(
            section,
            f"transform (PCA {label})",
            lambda: ours.transform(X),
            lambda theirs=theirs: theirs.transform(X),
            floor="copyto",
            repeat=repeat,
        )
    return [section]


@case("whiten-50")
def whiten_50(ctx):
    return whiten_case(ctx, "whiten-50", ctx.sizes["whiten"][0], N_FEATURES)


@case("whiten-300")
def whiten_300(ctx):
    return whiten_case(ctx, "whiten-300", ctx.sizes["whiten"][1], WIDE_FEATURES)


@case("whiten-streaming")
def whiten_streaming(ctx):
    """SVDWhitener.partial_fit vs IncrementalPCA.partial_fit, the same batches."""
    X = ctx.data(ctx.sizes["whiten"][0], N_FEATURES)
    chunk = ctx.sizes["chunk"]
    section = Section(
        "whiten-streaming",
        "SVDWhitener vs IncrementalPCA(whiten=True), partial_fit, " + describe(X),
        "s",
        {"shape": list(X.shape), "dtype": X.dtype.name, "nbytes": X.nbytes},
        floors={"sum": ctx.floors(X)["sum"]},
    )
    ours, theirs = ESTIMATORS["SVDWhitener"](), ESTIMATORS["IncrementalPCA"]()
    n_chunks = -(-X.shape[0] // chunk)
    ctx.compare(
        section,
        f"partial_fit pass ({n_chunks} x {chunk:,} rows)",
        lambda: streaming_pass(ours, X, chunk),
        lambda: streaming_pass(theirs, X, chunk),
        floor="sum",
    )
    return [section]


def call_repeatedly(method, batch, calls):
    for _ in range(calls):
        method(batch)


@case("per-call")
def per_call(ctx):
    """The fixed cost of one call on a small batch, in seconds per call."""
    calls = ctx.sizes["calls"]
    sections = []
    for ours, theirs in (
        (BatchStandardizer(), StandardScaler()),
        (MinMaxNormalizer(), MinMaxScaler()),
    ):
        section = Section(
            "per-call",
            f"{type(ours).__name__} vs {type(theirs).__name__}, per call on small "
            f"float64 batches ({calls:,} calls a run)",
            "s/call",
            {"shapes": [list(shape) for shape in BATCH_SHAPES], "calls": calls},
        )
        for n_samples, n_features in BATCH_SHAPES:
            batch = make_data(n_samples, n_features)
            streaming = {"skbn": clone(ours), "sklearn": clone(theirs)}
            fitted = {who: clone(e).fit(batch) for who, e in streaming.items()}
            for operation, estimators in (
                ("partial_fit", streaming),
                ("transform", fitted),
            ):
                ctx.compare(
                    section,
                    f"{operation}, {n_samples} x {n_features}",
                    *(
                        functools.partial(
                            call_repeatedly,
                            getattr(estimators[who], operation),
                            batch,
                            calls,
                        )
                        for who in ("skbn", "sklearn")
                    ),
                    floor=None,
                )
                row = section.rows[-1]
                row.skbn, row.sklearn = row.skbn / calls, row.sklearn / calls
                row.skbn_runs = [t / calls for t in row.skbn_runs]
                row.sklearn_runs = [t / calls for t in row.sklearn_runs]
        sections.append(section)
    return sections


# --------------------------------------------------------------------- memory

MEMORY_PAIRS = (
    ("BatchStandardizer", "StandardScaler"),
    ("MinMaxNormalizer", "MinMaxScaler"),
    ("SVDWhitener", "PCA(covariance_eigh)"),
)
MEMORY_CALLS = ("fit", "transform", "transform-inplace")
MEMORY_LABELS = {
    "fit": "fit",
    "transform": "transform (copy=True)",
    "transform-inplace": "transform (copy=False)",
}


def has_inplace_transform(name):
    # PCA.transform always allocates its output; PCA(copy=False) is about fit.
    return not name.startswith("PCA")


def memory_case_main(specs, n_samples):
    """The body of a memory subprocess: print {spec: extra peak bytes} as JSON.

    Each spec is "ESTIMATOR:CALL", measured on a fresh X and a fresh estimator.
    tracemalloc is started after X is built (and, for a transform, after the
    estimator is fitted), so its peak is what the call allocates through numpy
    and Python, X and the imported libraries excluded: numpy reports every array
    buffer to tracemalloc. The resident-set high-water mark (ru_maxrss) would
    also count the interpreter, the libraries and the allocator's slack, and it
    cannot be reset between measurements.
    """
    peaks = {}
    for spec in specs:
        name, call = spec.split(":")
        X = make_data(n_samples, N_FEATURES)
        estimator = ESTIMATORS[name]()
        if call != "fit":
            estimator.fit(X)
            estimator.set_params(copy=call == "transform")
        gc.collect()
        tracemalloc.start()
        result = estimator.fit(X) if call == "fit" else estimator.transform(X)
        peaks[spec] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        del result, estimator, X
    print(json.dumps(peaks))


@case("memory")
def memory(ctx):
    """Extra peak memory of one call, each measured in a fresh subprocess."""
    n_samples = ctx.sizes["memory"]
    nbytes = n_samples * N_FEATURES * 8
    specs = [
        f"{name}:{call}"
        for pair in MEMORY_PAIRS
        for name in pair
        for call in MEMORY_CALLS
        if call != "transform-inplace" or has_inplace_transform(name)
    ]
    # A fresh subprocess per measurement. --quick, whose arrays are tiny and where
    # the interpreter's start-up would dominate, makes them all in one subprocess,
    # one after the other (tracemalloc measures each call on its own either way).
    jobs = [specs] if ctx.quick else [[spec] for spec in specs]

    def run(job):
        command = [sys.executable, __file__, "--memory-case", *job]
        command += ["--memory-rows", str(n_samples)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"memory case {job} failed:\n{done.stderr}")
        progress(f"  {', '.join(job)}")
        return json.loads(done.stdout.splitlines()[-1])

    # Memory does not depend on what else runs: two subprocesses at a time.
    peaks = {}
    with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
        for result in pool.map(run, jobs):
            peaks.update(result)
    sections = []
    for ours, theirs in MEMORY_PAIRS:
        section = Section(
            "memory",
            f"{ours} vs {theirs}, extra peak memory (tracemalloc), "
            f"{n_samples:,} x {N_FEATURES} float64 ({nbytes / 1e6:,.0f} MB); "
            "floor = size of X",
            "bytes",
            {"shape": [n_samples, N_FEATURES], "dtype": "float64", "nbytes": nbytes},
            floors={"X": (float(nbytes), "size of X")},
        )
        for call in MEMORY_CALLS:
            mine, other = peaks.get(f"{ours}:{call}"), peaks.get(f"{theirs}:{call}")
            if mine is not None:
                section.rows.append(
                    Row(
                        MEMORY_LABELS[call],
                        float(mine),
                        None if other is None else float(other),
                        floor="X",
                    )
                )
        sections.append(section)
    return sections


# ---------------------------------------------------------------------- output


def machine():
    """The CPU, memory and library versions, and the BLAS/OpenMP thread pools."""
    cpu = platform.processor() or platform.machine()
    memory_gib = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory_gib = round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    info = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "memory_gib": memory_gib,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "sklearn": sklearn.__version__,
        "skbn": skbn.__version__,
        "threadpools": [],
    }
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return info
    for pool in threadpool_info():
        info["threadpools"].append(
            {
                key: pool.get(key)
                for key in (
                    "user_api",
                    "internal_api",
                    "version",
                    "num_threads",
                    "architecture",
                    "threading_layer",
                    "prefix",
                )
                if pool.get(key) is not None
            }
        )
    return info


def print_machine(info):
    memory = f", {info['memory_gib']} GiB memory" if info["memory_gib"] else ""
    print(f"CPU: {info['cpu']}, {info['usable_cores']} cores{memory}")
    print(f"Platform: {info['platform']}, Python {info['python']}")
    print(
        f"numpy {info['numpy']}, scipy {info['scipy']}, scikit-learn "
        f"{info['sklearn']}, skbn {info['skbn']}"
    )
    for pool in info["threadpools"]:
        details = ", ".join(
            f"{pool[key]}" for key in ("version", "architecture") if pool.get(key)
        )
        print(
            f"{pool['user_api']}: {pool['internal_api']} ({pool.get('prefix', '')}"
            f"{', ' + details if details else ''}), {pool['num_threads']} threads"
        )


def format_value(value, unit):
    if value is None:
        return "n/a"
    if unit == "bytes":
        return f"{value / 1e6:,.1f} MB" if value >= 1e5 else f"{value / 1e3:,.1f} kB"
    if unit == "s/call" or value < 1e-3:
        return f"{value * 1e6:,.1f} us"
    if value < 1:
        return f"{value * 1e3:,.1f} ms"
    return f"{value:,.2f} s"


def format_multiple(value, floor, unit):
    if value is None or floor is None:
        return ""
    if unit == "bytes":
        percent = 100 * value / floor
        return f"{percent:.1f}%" if percent < 10 else f"{percent:.0f}%"
    return f"{value / floor:.1f}x"


HEADER = (
    "operation",
    "skbn",
    "sklearn",
    "skbn/sklearn",
    "x faster",
    "skbn/floor",
    "sklearn/floor",
)


def table_lines(sections):
    """The table: a heading line per section, then its floors and its lines."""
    body = []  # (cells) or a heading string
    for section in sections:
        body.append(section.title)
        if section.unit == "s":
            for floor, label in section.floors.values():
                body.append(("  " + label, format_value(floor, "s"), *[""] * 5))
        for row in section.rows:
            floor = section.floors[row.floor][0] if row.floor else None
            both = row.skbn is not None and row.sklearn is not None and row.skbn > 0
            body.append(
                (
                    "  " + row.operation,
                    format_value(row.skbn, section.unit),
                    format_value(row.sklearn, section.unit),
                    f"{row.skbn / row.sklearn:.2f}" if both and row.sklearn else "",
                    f"{row.sklearn / row.skbn:.2f}x"
                    if both and section.unit != "bytes"
                    else "",
                    format_multiple(row.skbn, floor, section.unit),
                    format_multiple(row.sklearn, floor, section.unit),
                )
            )
    return render_table(HEADER, body)


def write_json(path, document, elapsed):
    """Write ``document`` to ``path`` as JSON and say so, with the run's time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1))
    try:
        shown = path.resolve().relative_to(Path.cwd())
    except ValueError:
        shown = path
    print(f"Wrote {shown} in {elapsed:.0f} s")


def render_table(header, body):
    """The lines of a plain-text table under ``header``.

    ``body`` holds rows (tuples of cells: the first left-aligned, the others
    right-aligned) and headings (strings); a heading that is not indented
    starts a new block, after a blank line.
    """
    rows = [header] + [line for line in body if not isinstance(line, str)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]

    def render(cells):
        first = cells[0].ljust(widths[0])
        rest = (
            cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True)
        )
        return "  ".join([first, *rest]).rstrip()

    rule = "-" * len(render(header))
    lines = [render(header), rule]
    for line in body:
        if isinstance(line, str):
            if not line.startswith(" ") and len(lines) > 2:
                lines.append("")
            lines.append(line)
        else:
            lines.append(render(line))
    lines.append(rule)
    return lines


def to_json(info, settings, sections):
    out = {"machine": info, "settings": settings, "sections": []}
    for section in sections:
        rows = []
        for row in section.rows:
            floor = section.floors[row.floor][0] if row.floor else None
            both = row.skbn is not None and row.sklearn is not None
            rows.append(
                {
                    "operation": row.operation,
                    "skbn": row.skbn,
                    "sklearn": row.sklearn,
                    "ratio": row.skbn / row.sklearn if both and row.sklearn else None,
                    "speedup": row.sklearn / row.skbn if both and row.skbn else None,
                    "floor": row.floor,
                    "skbn_vs_floor": row.skbn / floor if floor else None,
                    "sklearn_vs_floor": row.sklearn / floor
                    if floor and row.sklearn is not None
                    else None,
                    "repeats": row.repeats,
                    "skbn_runs": row.skbn_runs,
                    "sklearn_runs": row.sklearn_runs,
                }
            )
        out["sections"].append(
            {
                "case": section.case,
                "title": section.title,
                "unit": section.unit,
                "data": section.data,
                "floors": {
                    name: {"value": value, "label": label}
                    for name, (value, label) in section.floors.items()
                },
                "rows": rows,
                "notes": section.notes,
            }
        )
    return out


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="cases: " + ", ".join(CASES),
    )
    parser.add_argument(
        "--quick", action="store_true", help="small sizes, a few seconds in all"
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=DEFAULT_JSON,
        metavar="PATH",
        help="where to write the results (default: benchmarks/results.json)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=5,
        metavar="N",
        help=f"timed runs per line, after one warm-up; the median is reported "
        f"(default 5; at most {SLOW_REPEAT} for PCA's full SVD of 300 features)",
    )
    parser.add_argument(
        "--only",
        metavar="SUBSTRING",
        help="run only the cases whose name contains SUBSTRING",
    )
    # A memory subprocess: --memory-case ESTIMATOR:CALL [ESTIMATOR:CALL ...].
    parser.add_argument("--memory-case", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--memory-rows", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.memory_case:
        memory_case_main(args.memory_case, args.memory_rows)
        return 0
    cases = [name for name in CASES if args.only is None or args.only in name]
    if not cases:
        print(f"no case matches {args.only!r}; cases: {', '.join(CASES)}")
        return 2
    # Move everything imported so far out of the garbage collector's sight: the
    # gc.collect() before each timed call then takes microseconds, not tens of ms.
    gc.collect()
    gc.freeze()
    info = machine()
    print_machine(info)
    print()
    ctx = Context(args.quick, args.repeat)
    sections = []
    start = time.perf_counter()
    for number, name in enumerate(cases, 1):
        progress(f"[{number}/{len(cases)}] {name}")
        case_start = time.perf_counter()
        sections.extend(CASES[name](ctx))
        progress(f"  ({time.perf_counter() - case_start:.1f} s)")
    elapsed = time.perf_counter() - start
    print("\n".join(table_lines(sections)))
    print(
        f"Times: median of {args.repeat} runs after a warm-up; skbn/sklearn below 1 "
        "and 'x faster' above 1 favour skbn."
    )
    notes = [note for section in sections for note in section.notes]
    for note in notes:
        print(f"Note: {note}")
    settings = {
        "quick": args.quick,
        "repeat": args.repeat,
        "only": args.only,
        "cases": cases,
        "sizes": ctx.sizes,
        "seconds": elapsed,
    }
    write_json(args.json, to_json(info, settings, sections), elapsed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
