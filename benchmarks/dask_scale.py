"""Fit skbn on a Dask array larger than memory, on a local cluster.

What it generates, fits, measures and checks: ``benchmarks/README.md`` and
``docs/scaling.rst``.
"""

import gc
import math
import resource
import sys
import time

import dask
import dask.array as da
import distributed
import harness
import numpy as np
from distributed import Client, LocalCluster
from distributed.diagnostics import MemorySampler
from harness import progress
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_info

from skbn import BatchStandardizer, SVDWhitener

DEFAULT_GB, QUICK_GB = 40.0, 0.5
N_WORKERS, THREADS_PER_WORKER = 2, 1
TOLERANCE = 1e-10  # relative, between a Dask fit and the numpy fit of the same data
ESTIMATORS = {"BatchStandardizer": BatchStandardizer, "SVDWhitener": SVDWhitener}
CHECKED = {  # the fitted attributes compared between the Dask and the numpy fit
    "BatchStandardizer": ("mean_", "var_"),
    "SVDWhitener": ("mean_", "covariance_"),
}
HEADER = ("operation", "time", "GB/s", "x floor", "worker peak RSS", "cluster peak")


def make_dask_data(n_samples, n_features, chunk_rows):
    """Lazy normal draws times the per-feature scales plus the offsets of
    ``run.make_data``, float64; one generator per chunk, so that any chunk and any
    slice is the same at every compute."""
    rng = np.random.default_rng(0)
    offsets = rng.uniform(-100.0, 100.0, n_features)
    scales = rng.uniform(0.1, 10.0, n_features)
    shape, chunks = (n_samples, n_features), (chunk_rows, n_features)
    X = da.random.default_rng(0).standard_normal(shape, chunks=chunks)
    return X * scales + offsets


def describe(n_samples, n_features):
    nbytes = n_samples * n_features * 8
    return f"{n_samples:,} x {n_features} float64 ({nbytes / 1e9:,.1f} GB)"


def peak_rss():
    """This process's peak RSS in bytes (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def worker_peaks(client):
    """Each worker's peak RSS in bytes, in the order of the workers' addresses."""
    return [peak for _, peak in sorted(client.run(peak_rss).items())]


class Recorder:
    """Times calls on the cluster and in this process; keeps the table's lines."""

    def __init__(self, client):
        self.client, self.sampler, self.rows = client, MemorySampler(), []

    def add(self, section, operation, nbytes, runs, floor=False, **memory):
        row = {"section": section, "operation": operation, "nbytes": nbytes}
        row.update(seconds=float(np.median(runs)), runs=runs, floor=floor)
        row.update({"worker_peak_rss": None, "cluster_peak_memory": None, **memory})
        self.rows.append(row)

    def dask(self, section, operation, call, nbytes, floor=False):
        """One run on the cluster, with the workers' memory."""
        progress(f"  {operation}")
        gc.collect()
        with self.sampler.sample(operation, client=self.client, interval=0.5):
            start = time.perf_counter()
            result = call()
            elapsed = time.perf_counter() - start
        samples = self.sampler.to_pandas()[operation].dropna()
        memory = {"worker_peak_rss": worker_peaks(self.client)}
        memory["cluster_peak_memory"] = float(samples.max()) if len(samples) else None
        self.add(section, operation, nbytes, [elapsed], floor, **memory)
        progress(f"    {elapsed:.1f} s, {nbytes / elapsed / 1e9:.2f} GB/s")
        return result

    def on_cluster(self, section, X, nbytes):
        """The floor (generate X and sum it), then each skbn fit of X."""
        floor = "floor: X.sum(axis=0).compute()"
        self.dask(section, floor, lambda: X.sum(axis=0).compute(), nbytes, True)
        return {
            name: self.dask(section, f"{name}.fit", lambda m=make: m().fit(X), nbytes)
            for name, make in ESTIMATORS.items()
        }

    def in_memory(self, X_slice, repeat):
        """X_slice computed to numpy here; its fits timed by the protocol."""
        X = np.empty(X_slice.shape)  # stored chunk by chunk: no second copy
        da.store(X_slice, X, lock=False, scheduler="threads")
        fits, calls = {}, {"floor: X.sum(axis=0)": lambda: X.sum(axis=0)}
        for name, make in {**ESTIMATORS, "StandardScaler": StandardScaler}.items():
            calls[f"{name}.fit"] = lambda n=name, m=make: fits.update({n: m().fit(X)})
        progress("  " + ", ".join(calls))
        for operation, timing in harness.measure(calls, repeat).items():
            floor = operation.startswith("floor")
            self.add("numpy", operation, X.nbytes, timing.runs, floor)
        return fits


def table_lines(sections, rows):
    """A heading line per section, then its lines (the floor first)."""
    body = []
    for section, title in sections.items():
        lines = [row for row in rows if row["section"] == section]
        body += [title] if lines else []
        floor = next((row["seconds"] for row in lines if row["floor"]), None)
        for row in lines:
            seconds, peaks = row["seconds"], row["worker_peak_rss"] or ()
            body.append(
                (
                    "  " + row["operation"],
                    f"{seconds * 1e3:,.0f} ms" if seconds < 1 else f"{seconds:,.1f} s",
                    f"{row['nbytes'] / seconds / 1e9:.2f}",
                    f"{seconds / floor:.2f}x" if floor else "",
                    " / ".join(megabytes(peak) for peak in peaks),
                    megabytes(row["cluster_peak_memory"]),
                )
            )
    return harness.render_table(HEADER, body)


def megabytes(value):
    return "" if value is None else f"{value / 1e6:,.0f} MB"


def dask_ml_fit(recorder, X, nbytes, fitted):
    """dask-ml's StandardScaler on X, if it imports: (a note, the JSON record)."""
    try:
        from dask_ml.preprocessing import StandardScaler as DaskMLScaler

        fit = lambda: DaskMLScaler().fit(X)  # noqa: E731
        theirs = recorder.dask("dask", "dask_ml StandardScaler.fit", fit, nbytes)
    except Exception as error:  # noqa: BLE001 - not installed, or failed: say so
        reason = f"{type(error).__name__}: {error}".splitlines()[0]
        return f"dask-ml: {reason}", {"failed": reason}
    agreement = {
        key: harness.relative_difference(getattr(fitted, key), getattr(theirs, key))
        for key in ("mean_", "var_")
    }
    note = "dask-ml and BatchStandardizer on the whole array: "
    note += ", ".join(f"{key} {value:.1e}" for key, value in agreement.items())
    return note + " (max |skbn - dask-ml| / max |dask-ml|)", {"agreement": agreement}


def parse_args(argv):
    parser = harness.options_parser(
        __doc__, "dask_scale.json", repeat=3, quick=f"{QUICK_GB:g} GB unless --gb"
    )
    add = parser.add_argument
    add("--gb", type=float, help=f"size of X in GB (default {DEFAULT_GB:g})")
    add("--features", type=int, default=50, help="columns of X (default 50)")
    add("--chunk-mb", type=float, default=100.0, help="MB a chunk (default 100)")
    slice_help = "GB fitted in memory and checked (default 2; whole chunks)"
    add("--slice-gb", type=float, default=2.0, help=slice_help)
    add("--memory-limit", default="4GiB", help="of each worker (default 4GiB)")
    args = parser.parse_args(argv)
    args.gb = args.gb or (QUICK_GB if args.quick else DEFAULT_GB)
    if min(args.gb, args.chunk_mb, args.slice_gb) <= 0 or args.features < 1:
        parser.error("--gb, --chunk-mb, --slice-gb and --features must be positive")
    return args


def main(argv=None):
    args = parse_args(argv)
    row_bytes = 8 * args.features
    n_samples = max(1, round(args.gb * 1e9 / row_bytes))
    chunk_rows = max(1, min(n_samples, round(args.chunk_mb * 1e6 / row_bytes)))
    n_chunks = math.ceil(n_samples / chunk_rows)
    slice_chunks = max(1, round(args.slice_gb * 1e9 / (chunk_rows * row_bytes)))
    slice_rows = min(n_samples, slice_chunks * chunk_rows)
    nbytes, slice_nbytes = n_samples * row_bytes, slice_rows * row_bytes
    sliced = slice_rows < n_samples

    workers = f"{N_WORKERS} workers x {THREADS_PER_WORKER} thread, {args.memory_limit}"
    titles = {
        "dask": f"Dask, {describe(n_samples, args.features)}, {n_chunks:,} chunks of "
        f"{chunk_rows:,} rows, on a LocalCluster ({workers} each); floor = generate X "
        "and sum it",
        "numpy": f"In memory, numpy: the first {slice_rows:,} rows "
        f"({slice_nbytes / 1e9:.1f} GB), in this process; floor = sum X",
        "slice": f"Dask, the same {slice_rows:,} rows on the same cluster; floor = "
        "generate them and sum them",
    }
    info, _ = harness.begin(args)
    info.update(dask=dask.__version__, distributed=distributed.__version__)
    print(f"dask {info['dask']}, distributed {info['distributed']}")
    start = time.perf_counter()
    progress(f"starting a LocalCluster: {workers} each")
    kw = {"n_workers": N_WORKERS, "threads_per_worker": THREADS_PER_WORKER}
    kw.update(processes=True, host="127.0.0.1", dashboard_address=None)
    with (
        LocalCluster(memory_limit=args.memory_limit, **kw) as cluster,
        Client(cluster) as client,
    ):
        client.wait_for_workers(N_WORKERS)
        pools = list(client.run(threadpool_info).values())
        blas = sorted(
            {f"{p['internal_api']} {p['num_threads']}" for w in pools for p in w}
        )
        print(
            f"Cluster: LocalCluster, {workers} each; threads in each worker: ", end=""
        )
        print(", ".join(blas), end="\n\n")
        idle_peaks, recorder = worker_peaks(client), Recorder(client)
        X = make_dask_data(n_samples, args.features, chunk_rows)
        progress(titles["numpy"])
        numpy_fits = recorder.in_memory(X[:slice_rows], args.repeat)
        gc.collect()
        if sliced:  # else the fits of the whole array are checked
            progress(titles["slice"])
            dask_fits = recorder.on_cluster("slice", X[:slice_rows], slice_nbytes)
        progress(titles["dask"])
        full = recorder.on_cluster("dask", X, nbytes)
        note, dask_ml = dask_ml_fit(recorder, X, nbytes, full["BatchStandardizer"])
    elapsed, differences = time.perf_counter() - start, {}
    for name, keys in CHECKED.items():
        ours, reference = (dask_fits if sliced else full)[name], numpy_fits[name]
        differences[name] = {
            key: harness.relative_difference(
                getattr(ours, key), getattr(reference, key)
            )
            for key in keys
        }
    equal = all(v <= TOLERANCE for d in differences.values() for v in d.values())
    print("\n".join(table_lines(titles, recorder.rows)))
    idle = " / ".join(megabytes(peak) for peak in idle_peaks)
    print(
        "Dask lines: one run each, the fit's whole wall time (graph, generation, the "
        f"fit, the compute). In-memory lines: by the protocol below, median of "
        f"{args.repeat} runs. GB/s = size of X / time. Worker peak RSS: ru_maxrss of "
        f"each worker after the line, its high-water mark ({idle} when idle). Cluster "
        "peak: all workers' process memory during the line (distributed's "
        "MemorySampler, every 0.5 s). Peak RSS of this process: "
        f"{megabytes(peak_rss())}."
    )
    print(f"Protocol: {harness.PROTOCOL}")
    print(
        f"Check, {'the first' if sliced else 'all'} {slice_rows:,} rows, Dask fit vs "
        f"numpy fit (max |dask - numpy| / max |numpy|, tolerance {TOLERANCE:g}): "
        + "; ".join(
            f"{name} " + ", ".join(f"{k} {v:.1e}" for k, v in d.items())
            for name, d in differences.items()
        )
        + (": equal" if equal else ": NOT EQUAL")
    )
    print(f"Note: {note}")
    settings = {k: v for k, v in vars(args).items() if k != "json"}
    settings.update(shape=[n_samples, args.features], nbytes=nbytes, seconds=elapsed)
    settings.update(chunk_rows=chunk_rows, n_chunks=n_chunks, slice_rows=slice_rows)
    cluster = {"n_workers": N_WORKERS, "threads_per_worker": THREADS_PER_WORKER}
    cluster.update(idle_worker_peak_rss=idle_peaks, worker_threadpools=pools)
    check = {"tolerance": TOLERANCE, "relative_differences": differences}
    out = {"machine": info, "protocol": harness.PROTOCOL, "settings": settings}
    out.update(cluster=cluster, rows=recorder.rows, check={**check, "equal": equal})
    out.update(dask_ml=dask_ml, client_peak_rss=peak_rss(), notes=[note])
    harness.write_json(args.json, out, elapsed)
    return 0 if equal else 1


if __name__ == "__main__":
    sys.exit(main())
