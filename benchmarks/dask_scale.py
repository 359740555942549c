"""Fit skbn on a Dask array larger than memory, on a local cluster.

Usage::

    python benchmarks/dask_scale.py                # 40 GB, 100,000,000 x 50
    python benchmarks/dask_scale.py --quick        # 0.5 GB: under a minute
    python benchmarks/dask_scale.py --gb 20 --json scale.json

The data are generated lazily, chunk by chunk, on the workers of a
``dask.distributed.LocalCluster`` (2 worker processes of 1 thread each, 4 GiB
each by default): normal draws from ``dask.array.random.default_rng(0)`` times
per-feature scales plus per-feature offsets, float64, in chunks of whole rows
(about 100 MB each). No process ever holds the whole array. ``BatchStandardizer``
and ``SVDWhitener`` fit it in one pass: each chunk's statistics are computed where
the chunk is generated and merged in a tree reduction.

Each Dask line is one run, timed with ``time.perf_counter`` around the ``fit``
call (graph construction included), and shows its throughput (size of X / time)
and its time as a multiple of the "floor", the time the cluster takes to
generate X and sum it (``X.sum(axis=0).compute()``): generating the normal draws
costs more than reading them, so the floor is the yardstick here. After each
line the script records every worker's peak resident set size
(``getrusage(RUSAGE_SELF).ru_maxrss``, run in the worker: the high-water mark
since the worker started, so it never goes down) and the peak of the cluster's
process memory during the line (the sum over the workers, sampled every 0.5 s by
``distributed.diagnostics.MemorySampler``).

Next to them: the first ``--slice-gb`` GB of the same array computed to numpy in
this process, and fitted in memory by the same estimators and by scikit-learn's
``StandardScaler`` (median of ``--repeat`` runs after one warm-up); the Dask fits
of that slice (of the whole array, where the slice is all of it), which must equal
the numpy fits to 1e-10 relative (the script exits with status 1 if they do not);
and dask-ml's ``StandardScaler`` on the whole Dask array, if dask-ml imports.

The script prints the machine, progress (on stderr) and one table, and writes
every number to a JSON file.
"""

import argparse
import gc
import importlib
import math
import resource
import statistics
import sys
import time
from pathlib import Path

import dask
import dask.array as da
import distributed
import numpy as np
from distributed import Client, LocalCluster
from distributed.diagnostics import MemorySampler
from run import machine, print_machine, progress, render_table, write_json
from sklearn.preprocessing import StandardScaler

from skbn import BatchStandardizer, SVDWhitener

DEFAULT_JSON = Path(__file__).resolve().parent / "dask_scale.json"
DEFAULT_GB = 40.0
QUICK_GB = 0.5
N_WORKERS = 2
THREADS_PER_WORKER = 1
TOLERANCE = 1e-10  # relative, between a Dask fit and the numpy fit of the same data

# The fitted attributes compared between the Dask and the numpy fit.
CHECKED = {
    "BatchStandardizer": ("mean_", "var_"),
    "SVDWhitener": ("mean_", "covariance_"),
}


def make_dask_data(n_samples, n_features, chunk_rows):
    """Lazy normal data with per-feature offsets and scales, float64.

    The offsets and scales are drawn as ``run.make_data`` draws them; the normal
    draws come from ``dask.array.random.default_rng(0)``, one generator per chunk,
    so that any chunk, and any slice, is the same at every compute.
    """
    rng = np.random.default_rng(0)
    offsets = rng.uniform(-100.0, 100.0, n_features)
    scales = rng.uniform(0.1, 10.0, n_features)
    X = da.random.default_rng(0).standard_normal(
        (n_samples, n_features), chunks=(chunk_rows, n_features)
    )
    return X * scales + offsets


def describe(n_samples, n_features):
    nbytes = n_samples * n_features * 8
    return f"{n_samples:,} x {n_features} float64 ({nbytes / 1e9:,.1f} GB)"


# ------------------------------------------------------------ worker memory


def _peak_rss():
    """This process's peak resident set size in bytes (ru_maxrss is KiB on Linux,
    bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def worker_peaks(client):
    """Each worker's peak RSS in bytes, in the order of the workers' addresses."""
    peaks = client.run(_peak_rss)
    return [peaks[address] for address in sorted(peaks)]


def _threadpools():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return [
        {key: pool.get(key) for key in ("internal_api", "version", "num_threads")}
        for pool in threadpool_info()
    ]


class Recorder:
    """Times one call on the cluster; records its memory and its table line."""

    def __init__(self, client):
        self.client = client
        self.sampler = MemorySampler()
        self.rows = []

    def dask(self, section, operation, call, nbytes, *, floor=False):
        progress(f"  {operation}")
        gc.collect()
        with self.sampler.sample(operation, client=self.client, interval=0.5):
            start = time.perf_counter()
            result = call()
            elapsed = time.perf_counter() - start
        samples = self.sampler.to_pandas()[operation].dropna()
        row = {
            "section": section,
            "operation": operation,
            "nbytes": nbytes,
            "seconds": elapsed,
            "runs": [elapsed],
            "worker_peak_rss": worker_peaks(self.client),
            "cluster_peak_memory": float(samples.max()) if len(samples) else None,
            "floor": floor,
        }
        self.rows.append(row)
        progress(f"    {elapsed:.1f} s, {nbytes / elapsed / 1e9:.2f} GB/s")
        return result

    def local(self, section, operation, call, nbytes, repeat, *, floor=False):
        """Median of ``repeat`` runs after one warm-up, in this process."""
        progress(f"  {operation}")
        times = []
        for run in range(1 + repeat):
            gc.collect()
            start = time.perf_counter()
            result = call()
            elapsed = time.perf_counter() - start
            if run:
                times.append(elapsed)
        self.rows.append(
            {
                "section": section,
                "operation": operation,
                "nbytes": nbytes,
                "seconds": statistics.median(times),
                "runs": times,
                "worker_peak_rss": None,
                "cluster_peak_memory": None,
                "floor": floor,
            }
        )
        return result


def fit_in_memory(recorder, X_slice, repeat):
    """Compute X_slice to numpy here; time the in-memory fits; return them."""
    # Stored chunk by chunk into one array: no concatenation, no second copy.
    X = np.empty(X_slice.shape)
    da.store(X_slice, X, lock=False, scheduler="threads")
    recorder.local(
        "numpy",
        "floor: X.sum(axis=0)",
        lambda: X.sum(axis=0),
        X.nbytes,
        repeat,
        floor=True,
    )
    return {
        name: recorder.local(
            "numpy", f"{name}.fit", lambda make=make: make().fit(X), X.nbytes, repeat
        )
        for name, make in (
            ("BatchStandardizer", BatchStandardizer),
            ("SVDWhitener", SVDWhitener),
            ("StandardScaler", StandardScaler),
        )
    }


# ----------------------------------------------------------------- dask-ml


def import_dask_ml():
    """dask-ml's StandardScaler and version, or None and the reason it failed."""
    try:
        module = importlib.import_module("dask_ml.preprocessing")
        version = importlib.import_module("dask_ml").__version__
    except Exception as error:  # noqa: BLE001 - any failure means "not available"
        reason = f"{type(error).__name__}: {error}".splitlines()[0]
        return None, None, reason
    return module.StandardScaler, version, None


# ------------------------------------------------------------------- checks


def relative_difference(ours, reference):
    """max |ours - reference| / max |reference|, over the whole attribute."""
    ours, reference = np.asarray(ours), np.asarray(reference)
    scale = np.max(np.abs(reference))
    return float(np.max(np.abs(ours - reference)) / (scale if scale > 0 else 1.0))


def compare_fits(dask_fits, numpy_fits):
    """{estimator: {attribute: relative difference}} for the CHECKED attributes."""
    return {
        name: {
            attribute: relative_difference(
                getattr(dask_fits[name], attribute),
                getattr(numpy_fits[name], attribute),
            )
            for attribute in attributes
        }
        for name, attributes in CHECKED.items()
    }


# ------------------------------------------------------------------- output


def format_seconds(value):
    if value is None:
        return "n/a"
    return f"{value * 1e3:,.0f} ms" if value < 1 else f"{value:,.1f} s"


def format_bytes(value):
    return "" if value is None else f"{value / 1e6:,.0f} MB"


HEADER = (
    "operation",
    "time",
    "GB/s",
    "x floor",
    "worker peak RSS",
    "cluster peak",
)


def table_lines(sections, rows):
    """One table: a heading line per section, then its lines (the floor first)."""
    body = []
    for section, title in sections:
        section_rows = [row for row in rows if row["section"] == section]
        if not section_rows:
            continue
        body.append(title)
        floor = next((row["seconds"] for row in section_rows if row.get("floor")), None)
        for row in section_rows:
            peaks = row["worker_peak_rss"]
            body.append(
                (
                    "  " + row["operation"],
                    format_seconds(row["seconds"]),
                    f"{row['nbytes'] / row['seconds'] / 1e9:.2f}",
                    f"{row['seconds'] / floor:.2f}x" if floor else "",
                    " / ".join(format_bytes(peak) for peak in peaks) if peaks else "",
                    format_bytes(row["cluster_peak_memory"]),
                )
            )
    return render_table(HEADER, body)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--gb",
        type=float,
        default=None,
        help=f"size of X in GB (1e9 bytes; default {DEFAULT_GB:g}, "
        f"{QUICK_GB:g} with --quick)",
    )
    parser.add_argument(
        "--features", type=int, default=50, help="columns of X (default 50)"
    )
    parser.add_argument(
        "--chunk-mb",
        type=float,
        default=100.0,
        help="size of a chunk of whole rows in MB (default 100)",
    )
    parser.add_argument(
        "--slice-gb",
        type=float,
        default=2.0,
        help="size of the slice fitted in memory and checked (default 2; "
        "whole chunks, at most X)",
    )
    parser.add_argument(
        "--memory-limit",
        default="4GiB",
        help="memory limit of each worker (default 4GiB)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        metavar="N",
        help="timed runs of each in-memory fit, after one warm-up (default 3); "
        "each Dask fit runs once",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_GB:g} GB unless --gb says otherwise: under a minute",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=DEFAULT_JSON,
        metavar="PATH",
        help="where to write the results (default: benchmarks/dask_scale.json)",
    )
    args = parser.parse_args(argv)
    if args.gb is None:
        args.gb = QUICK_GB if args.quick else DEFAULT_GB
    if args.gb <= 0 or args.chunk_mb <= 0 or args.slice_gb <= 0:
        parser.error("--gb, --chunk-mb and --slice-gb must be positive")
    if args.features < 1 or args.repeat < 1:
        parser.error("--features and --repeat must be at least 1")
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

    info = machine()
    info["dask"] = dask.__version__
    info["distributed"] = distributed.__version__
    print_machine(info)
    StandardScalerDaskML, dask_ml_version, dask_ml_missing = import_dask_ml()
    info["dask_ml"] = dask_ml_version
    print(
        f"dask {info['dask']}, distributed {info['distributed']}, dask-ml "
        + (dask_ml_version or f"not available ({dask_ml_missing})")
    )

    start = time.perf_counter()
    progress(
        f"starting a LocalCluster: {N_WORKERS} worker processes x "
        f"{THREADS_PER_WORKER} thread, memory limit {args.memory_limit} each"
    )
    cluster = LocalCluster(
        n_workers=N_WORKERS,
        threads_per_worker=THREADS_PER_WORKER,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        memory_limit=args.memory_limit,
    )
    client = Client(cluster)
    try:
        client.wait_for_workers(N_WORKERS)
        pools = client.run(_threadpools)
        worker_blas = sorted(
            {
                f"{pool['internal_api']} {pool['num_threads']} thread"
                + ("s" if pool["num_threads"] != 1 else "")
                for pools_of_worker in pools.values()
                for pool in pools_of_worker
            }
        )
        print(
            f"Cluster: LocalCluster, {N_WORKERS} worker processes x "
            f"{THREADS_PER_WORKER} thread, memory limit {args.memory_limit} each; "
            f"in each worker: {', '.join(worker_blas) or 'no thread pools found'}"
        )
        print()
        idle_peaks = worker_peaks(client)
        recorder = Recorder(client)
        X = make_dask_data(n_samples, args.features, chunk_rows)
        steps = 3 if slice_rows < n_samples else 2
        X_slice = X[:slice_rows]

        # ------------------------------------------------ the slice, in memory
        progress(
            f"[1/{steps}] the first {slice_rows:,} rows ({slice_nbytes / 1e9:.1f} GB), "
            "computed to numpy in this process"
        )
        numpy_fits = fit_in_memory(recorder, X_slice, args.repeat)
        gc.collect()

        # ---------------------------------- the slice on the cluster: the check
        # (When the slice is all of X, the fits of the whole array are checked.)
        dask_fits = None
        if slice_rows < n_samples:
            progress("[2/3] the same rows on the cluster, to check against numpy")
            recorder.dask(
                "slice",
                "floor: X.sum(axis=0).compute()",
                lambda: X_slice.sum(axis=0).compute(),
                slice_nbytes,
                floor=True,
            )
            dask_fits = {
                name: recorder.dask(
                    "slice",
                    f"{name}.fit",
                    lambda make=make: make().fit(X_slice),
                    slice_nbytes,
                )
                for name, make in (
                    ("BatchStandardizer", BatchStandardizer),
                    ("SVDWhitener", SVDWhitener),
                )
            }

        # -------------------------------------------------- the whole array
        progress(
            f"[{steps}/{steps}] {describe(n_samples, args.features)} on the cluster, "
            f"{n_chunks:,} chunks of {chunk_rows:,} rows"
        )
        recorder.dask(
            "dask",
            "floor: X.sum(axis=0).compute()",
            lambda: X.sum(axis=0).compute(),
            nbytes,
            floor=True,
        )
        full = {
            name: recorder.dask(
                "dask", f"{name}.fit", lambda make=make: make().fit(X), nbytes
            )
            for name, make in (
                ("BatchStandardizer", BatchStandardizer),
                ("SVDWhitener", SVDWhitener),
            )
        }
        differences = compare_fits(dask_fits or full, numpy_fits)
        check_ok = all(
            value <= TOLERANCE
            for attributes in differences.values()
            for value in attributes.values()
        )
        notes = []
        dask_ml_result = {"version": dask_ml_version, "missing": dask_ml_missing}
        if StandardScalerDaskML is not None:
            try:
                theirs = recorder.dask(
                    "dask",
                    "dask_ml StandardScaler.fit",
                    lambda: StandardScalerDaskML().fit(X),
                    nbytes,
                )
            except Exception as error:  # noqa: BLE001 - report it, go on
                reason = f"{type(error).__name__}: {error}".splitlines()[0]
                notes.append(f"dask-ml: StandardScaler.fit failed ({reason})")
                dask_ml_result["failed"] = reason
            else:
                agreement = {
                    attribute: relative_difference(
                        getattr(full["BatchStandardizer"], attribute),
                        getattr(theirs, attribute),
                    )
                    for attribute in ("mean_", "var_")
                }
                dask_ml_result["agreement"] = agreement
                notes.append(
                    "dask-ml and BatchStandardizer on the whole array: "
                    + ", ".join(
                        f"{key} {value:.1e}" for key, value in agreement.items()
                    )
                    + " (max |skbn - dask-ml| / max |dask-ml|)"
                )
        else:
            notes.append(f"dask-ml: not available ({dask_ml_missing})")
        progress(f"  ({time.perf_counter() - start:.0f} s in all)")
    finally:
        client.close()
        cluster.close()
    elapsed = time.perf_counter() - start

    cluster_title = (
        f"LocalCluster ({N_WORKERS} workers x {THREADS_PER_WORKER} thread, "
        f"{args.memory_limit} each)"
    )
    sections = [
        (
            "dask",
            f"Dask, {describe(n_samples, args.features)}, {n_chunks:,} chunks of "
            f"{chunk_rows:,} rows, on a {cluster_title}; floor = generate X and sum it",
        ),
        (
            "numpy",
            f"In memory, numpy: the first {slice_rows:,} rows "
            f"({slice_nbytes / 1e9:.1f} GB), in this process; floor = sum X",
        ),
        (
            "slice",
            f"Dask, the same {slice_rows:,} rows on the same cluster; "
            "floor = generate them and sum them",
        ),
    ]
    print("\n".join(table_lines(sections, recorder.rows)))
    print(
        "Dask lines: one run each, the fit's whole wall time (graph, generation, "
        "the fit, the compute). In-memory lines: median of "
        f"{args.repeat} runs after a warm-up. GB/s = size of X / time."
    )
    print(
        "Worker peak RSS: getrusage(RUSAGE_SELF).ru_maxrss of each worker process "
        "after the line, its high-water mark since it started "
        f"({' / '.join(format_bytes(peak) for peak in idle_peaks)} when idle). "
        "Cluster peak: the most process memory of all workers together during the "
        "line (distributed's MemorySampler, every 0.5 s)."
    )
    print(f"Peak RSS of this process: {format_bytes(_peak_rss())}")
    print(
        f"Check, {'the first' if slice_rows < n_samples else 'all'} {slice_rows:,} "
        "rows, Dask fit vs numpy fit "
        f"(max |dask - numpy| / max |numpy|, tolerance {TOLERANCE:g}): "
        + "; ".join(
            f"{name} "
            + ", ".join(f"{key} {value:.1e}" for key, value in attributes.items())
            for name, attributes in differences.items()
        )
        + (": equal" if check_ok else ": NOT EQUAL")
    )
    for note in notes:
        print(f"Note: {note}")

    settings = {
        "gb": args.gb,
        "quick": args.quick,
        "shape": [n_samples, args.features],
        "dtype": "float64",
        "nbytes": nbytes,
        "chunk_rows": chunk_rows,
        "n_chunks": n_chunks,
        "slice_rows": slice_rows,
        "slice_nbytes": slice_nbytes,
        "repeat": args.repeat,
        "seconds": elapsed,
    }
    out = {
        "machine": info,
        "settings": settings,
        "cluster": {
            "n_workers": N_WORKERS,
            "threads_per_worker": THREADS_PER_WORKER,
            "memory_limit": args.memory_limit,
            "worker_threadpools": list(pools.values()),
            "idle_worker_peak_rss": idle_peaks,
        },
        "rows": recorder.rows,
        "check": {
            "tolerance": TOLERANCE,
            "relative_differences": differences,
            "equal": check_ok,
        },
        "dask_ml": dask_ml_result,
        "client_peak_rss": _peak_rss(),
        "notes": notes,
    }
    write_json(args.json, out, elapsed)
    return 0 if check_ok else 1


if __name__ == "__main__":
    sys.exit(main())
