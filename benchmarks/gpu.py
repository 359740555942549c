"""Time skbn on a GPU against scikit-learn's array API support and torch itself.

Usage::

    python benchmarks/gpu.py                  # 8,000,000 x 64 on the GPU
    python benchmarks/gpu.py --quick          # 80,000 x 64: under a minute
    python benchmarks/gpu.py --device cuda:1 --repeat 11 --json gpu.json

With scikit-learn's array API dispatch on, skbn's estimators take torch tensors
and make their passes over X on the tensor's device. This script times them on
one device, on torch tensors of 8,000,000 x 64 in float64 and in float32:

- ``BatchStandardizer``, ``MinMaxNormalizer`` and ``SVDWhitener(method="pca")``:
  ``fit`` and ``transform``;
- scikit-learn's ``StandardScaler``, ``MinMaxScaler`` and
  ``PCA(whiten=True, svd_solver="covariance_eigh")`` on the same tensors, also
  with the dispatch on: ``fit`` and ``transform``;
- torch's own primitives, the yardsticks: ``torch.var_mean(X, 0)`` and
  ``torch.aminmax(X, dim=0)`` (one read of X, for the fits), ``X.clone()`` (a
  read and a write, for the transforms) and ``X.T @ X`` (the scatter matrix's
  product, for the whitener's fit).

Each time is the median of ``--repeat`` runs (7 by default) after one warm-up
run, measured with ``time.perf_counter`` between two ``torch.cuda.synchronize()``
calls, so that the kernels a call launches are counted until they finish; each
function's runs are back to back. On CUDA the warm-up run also measures the
call's extra peak device memory (``torch.cuda.max_memory_allocated``, less what
was allocated before), shown as a percentage of the size of X.

The targets, on a GPU: the ``fit`` of ``BatchStandardizer`` and of
``MinMaxNormalizer`` at least 10 times faster than scikit-learn's, and within
1.5 times the torch primitive that reads X once (``var_mean``, ``aminmax``);
the whitener's ``fit`` no slower than ``PCA(svd_solver="covariance_eigh")``'s;
each ``transform`` within 1.5 times ``X.clone()``.

Without a CUDA device the script runs on the CPU with torch, and says so: the
times then say nothing about a GPU. After timing, it checks skbn's transform of
the first 1,000 rows against scikit-learn's float64 fit of the same X (to 1e-8
relative on float64 data, 1e-4 on float32), and that skbn's results are tensors
of X's dtype on X's device and its fitted attributes tensors on that device; it
exits with status 1 if not. It prints the machine, progress (on stderr) and one
table, and writes every number, with the individual runs, to a JSON file.
"""

import os

# scikit-learn's array API support needs scipy's, switched on before scipy is
# imported (by run.py below, or by scikit-learn).
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import argparse
import dataclasses
import functools
import gc
import importlib.metadata
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import sklearn
from run import (
    format_value,
    machine,
    print_machine,
    progress,
    render_table,
    write_json,
)
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.preprocessing import MinMaxScaler, StandardScaler

import skbn
from skbn import BatchStandardizer, MinMaxNormalizer, SVDWhitener

DEFAULT_JSON = Path(__file__).resolve().parent / "gpu.json"
ROWS = {"full": 8_000_000, "quick": 80_000}
N_FEATURES = 64
REPEAT = 7
CHECK_ROWS = 1_000
# The checks: max |skbn - reference| / max |reference|, where the reference is
# scikit-learn's float64 fit of the same values. In float32, skbn accumulates
# its statistics in float64 and maps in float32; the tolerance leaves room for
# the rounding of the map, not for statistics accumulated in float32.
TOLERANCE = {"float64": 1e-8, "float32": 1e-4}

# The targets: (what the skbn time is divided by, the largest ratio allowed).
FIT_TARGETS = (("sklearn", 0.1), ("torch", 1.5))
TRANSFORM_TARGETS = (("torch", 1.5),)
WHITENER_FIT_TARGETS = (("sklearn", 1.0),)

# The torch primitives: the key, the label in the table, the bytes a call moves
# (in multiples of the size of X, for the bandwidth shown beside it).
PRIMITIVES = {
    "var_mean": ("torch.var_mean(X, 0)", 1),
    "aminmax": ("torch.aminmax(X, dim=0)", 1),
    "clone": ("X.clone()", 2),
    "gram": ("X.T @ X", 1),
}

# The pairs: a name, the skbn estimator, scikit-learn's, the primitive and the
# targets of fit, and those of transform.
PAIRS = (
    (
        "BatchStandardizer vs StandardScaler",
        BatchStandardizer,
        StandardScaler,
        ("var_mean", FIT_TARGETS),
        ("clone", TRANSFORM_TARGETS),
    ),
    (
        "MinMaxNormalizer vs MinMaxScaler",
        MinMaxNormalizer,
        MinMaxScaler,
        ("aminmax", FIT_TARGETS),
        ("clone", TRANSFORM_TARGETS),
    ),
    (
        "SVDWhitener(method='pca') vs PCA(whiten=True, svd_solver='covariance_eigh')",
        lambda: SVDWhitener(method="pca"),
        lambda: PCA(whiten=True, svd_solver="covariance_eigh"),
        ("gram", WHITENER_FIT_TARGETS),
        ("clone", TRANSFORM_TARGETS),
    ),
)


# --------------------------------------------------------------------- device


def import_torch():
    try:
        import torch
    except ImportError:
        sys.exit("benchmarks/gpu.py needs torch (pip install torch)")
    return torch


def resolve_device(torch, name):
    """The torch device to run on: --device, else CUDA if there is one, else CPU."""
    if name is None:
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError as error:
        sys.exit(f"--device {name}: {error}")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            sys.exit(f"--device {name}: torch sees no CUDA device")
        if device.index is None:
            device = torch.device("cuda", torch.cuda.current_device())
        torch.cuda.set_device(device)
    return device


def synchronizer(torch, device):
    """A function that waits until the device has finished its queued work."""
    if device.type == "cuda":
        return lambda: torch.cuda.synchronize(device)
    if device.type == "mps":
        return torch.mps.synchronize
    return lambda: None


def device_info(torch, device):
    try:
        compat = importlib.metadata.version("array-api-compat")
    except importlib.metadata.PackageNotFoundError:
        compat = None
    info = {
        "device": str(device),
        "type": device.type,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "array_api_compat": compat,
        "SCIPY_ARRAY_API": os.environ.get("SCIPY_ARRAY_API"),
        "torch_threads": torch.get_num_threads(),
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info.update(
            name=props.name,
            memory_gib=round(props.total_memory / 2**30, 1),
            capability=f"{props.major}.{props.minor}",
            multiprocessors=props.multi_processor_count,
            tf32_matmul=torch.backends.cuda.matmul.allow_tf32,
        )
    return info


def print_device(info):
    if info["type"] == "cuda":
        print(
            f"Device: {info['device']}, {info['name']} ({info['memory_gib']} GiB, "
            f"compute capability {info['capability']}), CUDA {info['cuda']}"
        )
    else:
        print(f"Device: {info['device']}, torch on {info['torch_threads']} threads")
    print(
        f"torch {info['torch']}, array-api-compat {info['array_api_compat']}, "
        f"SCIPY_ARRAY_API={info['SCIPY_ARRAY_API']}"
    )


def supports(torch, device, dtype):
    try:
        torch.zeros(1, dtype=dtype, device=device)
    except (TypeError, RuntimeError):
        return False
    return True


def make_data(torch, n_samples, n_features, dtype, device):
    """Normal draws with per-feature offsets and scales, built on the device.

    The offsets and scales are those of ``run.make_data``; the draws come from a
    torch generator on the device, seeded with 0.
    """
    rng = np.random.default_rng(0)
    offsets = rng.uniform(-100.0, 100.0, n_features)
    scales = rng.uniform(0.1, 10.0, n_features)
    generator = torch.Generator(device=device).manual_seed(0)
    X = torch.randn(
        (n_samples, n_features), generator=generator, dtype=dtype, device=device
    )
    X.mul_(torch.as_tensor(scales, dtype=dtype, device=device))
    X.add_(torch.as_tensor(offsets, dtype=dtype, device=device))
    return X


def release(torch, device):
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


# --------------------------------------------------------------------- timing


class Timer:
    """Times calls on one device: the median of ``repeat`` runs after a warm-up."""

    def __init__(self, torch, device, repeat):
        self.torch = torch
        self.device = device
        self.repeat = repeat
        self.sync = synchronizer(torch, device)

    def peak_memory(self, function):
        """Run function once; its extra peak device memory in bytes (CUDA only)."""
        cuda = self.torch.cuda
        if self.device.type != "cuda":
            function()
            self.sync()
            return None
        self.sync()
        before = cuda.memory_allocated(self.device)
        cuda.reset_peak_memory_stats(self.device)
        result = function()
        self.sync()
        peak = cuda.max_memory_allocated(self.device) - before
        del result
        return peak

    def measure(self, function):
        """(median, runs, extra peak memory): the warm-up run measures memory.

        Each run is timed from a synchronized device to the end of its kernels;
        its result is dropped after the timed region. The garbage collector is
        off in the timed region, as in ``timeit``.
        """
        gc.collect()
        peak = self.peak_memory(function)
        runs = []
        for _ in range(self.repeat):
            gc.collect()
            gc.disable()
            try:
                self.sync()
                start = time.perf_counter()
                result = function()
                self.sync()
                runs.append(time.perf_counter() - start)
            finally:
                gc.enable()
            del result
        return statistics.median(runs), runs, peak


@dataclasses.dataclass
class Row:
    """One line: a skbn call, scikit-learn's, the torch primitive and targets."""

    pair: str  # the heading of the estimators compared
    operation: str  # "fit" or "transform"
    skbn: float
    sklearn: float
    primitive: str  # a key of PRIMITIVES
    targets: tuple
    skbn_runs: list
    sklearn_runs: list
    skbn_peak: int | None = None
    sklearn_peak: int | None = None


@dataclasses.dataclass
class Section:
    dtype: str
    title: str
    data: dict
    floors: dict = dataclasses.field(default_factory=dict)  # key -> (median, runs)
    rows: list = dataclasses.field(default_factory=list)
    checks: dict = dataclasses.field(default_factory=dict)
    notes: list = dataclasses.field(default_factory=list)

    def ratios(self, row):
        """{"sklearn": skbn / sklearn, "torch": skbn / primitive}."""
        return {
            "sklearn": row.skbn / row.sklearn,
            "torch": row.skbn / self.floors[row.primitive][0],
        }

    def misses(self, row):
        """The targets a line misses, as (against, ratio, limit)."""
        ratios = self.ratios(row)
        return [
            (against, ratios[against], limit)
            for against, limit in row.targets
            if ratios[against] > limit
        ]


# --------------------------------------------------------------------- checks


def max_relative_difference(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = np.max(np.abs(b))
    return float(np.max(np.abs(a - b)) / (scale if scale > 0 else 1.0))


def as_expected(torch, value, X):
    """Whether value is a tensor of X's dtype on X's device."""
    return (
        isinstance(value, torch.Tensor)
        and value.device == X.device
        and value.dtype == X.dtype
    )


def as_float64(torch, value):
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().double().numpy()
    return np.asarray(value, dtype=np.float64)


def check_pair(torch, section, ours, theirs, X, X64):
    """Check skbn's fit of X against scikit-learn's float64 fit of the same values.

    The reference is ``theirs`` refitted on X in float64 (``X64``, X itself for
    float64 data), on the device, and the transforms of the first rows are
    compared; scikit-learn's own fit of X is compared with it too, for the
    record. For the whitener the Gram matrices of the outputs are compared,
    which the signs and the order of the components do not change; and
    ``PCA(whiten=True)`` whitens with the ddof=1 covariance, so skbn's Gram
    matrix is rescaled by (n - 1) / n first. Also checks that skbn's result
    and fitted attributes are tensors on X's device (the result of X's dtype),
    and that ``estimator_to_numpy`` brings them to numpy.
    """
    name = type(ours).__name__
    rows, rows64 = X[:CHECK_ROWS], X64[:CHECK_ROWS]
    reference = clone(theirs).fit(X64)
    ours_out, theirs_out = ours.transform(rows), theirs.transform(rows)
    problems = []
    if not as_expected(torch, ours_out, X):
        problems.append(
            f"transform returned a {type(ours_out).__module__}."
            f"{type(ours_out).__name__} of {getattr(ours_out, 'dtype', '?')} on "
            f"{getattr(ours_out, 'device', 'the host')}, not a {X.dtype} tensor on "
            f"{X.device}"
        )
    attribute = "whitening_matrix_" if isinstance(ours, SVDWhitener) else "scale_"
    fitted = getattr(ours, attribute)
    if not (isinstance(fitted, torch.Tensor) and fitted.device == X.device):
        problems.append(
            f"{attribute} is a {type(fitted).__name__}, not a tensor on {X.device}"
        )
    on_host = getattr(skbn.estimator_to_numpy(ours), attribute)
    if not isinstance(on_host, np.ndarray):
        problems.append(
            f"estimator_to_numpy left {attribute} a {type(on_host).__name__}"
        )
    outputs = [
        as_float64(torch, out)
        for out in (ours_out, theirs_out, reference.transform(rows64))
    ]
    if isinstance(ours, SVDWhitener):
        n = X.shape[0]
        outputs = [out @ out.T for out in outputs]
        outputs[0] *= (n - 1) / n
    difference = max_relative_difference(outputs[0], outputs[2])
    tolerance = TOLERANCE[section.dtype]
    if difference > tolerance:
        problems.append(
            f"its transform of the first {len(rows):,} rows differs from "
            f"scikit-learn's float64 fit by {difference:.1e} relative "
            f"(tolerance {tolerance:g})"
        )
    section.checks[name] = {
        "skbn_vs_float64_reference": difference,
        "sklearn_vs_float64_reference": max_relative_difference(outputs[1], outputs[2]),
        "tolerance": tolerance,
        "problems": problems,
    }
    for problem in problems:
        section.notes.append(f"{section.dtype}, {name}: {problem}")
    return not problems


# ---------------------------------------------------------------------- cases


def run_dtype(torch, timer, dtype_name, n_samples, n_features):
    """Floors, fits and transforms on one X of one dtype; (section, checks ok)."""
    device = timer.device
    dtype = getattr(torch, dtype_name)
    nbytes = n_samples * n_features * dtype.itemsize
    where = str(device)
    section = Section(
        dtype_name,
        f"{dtype_name}: {n_samples:,} x {n_features} ({nbytes / 1e6:,.0f} MB), "
        f"torch tensors on {where}",
        {"shape": [n_samples, n_features], "dtype": dtype_name, "nbytes": nbytes},
    )
    if not supports(torch, device, dtype):
        section.notes.append(f"{where} has no {dtype_name}: skipped")
        return section, True
    progress(f"  building {n_samples:,} x {n_features} {dtype_name} on {where}")
    X = make_data(torch, n_samples, n_features, dtype, device)
    primitives = {
        "var_mean": lambda: torch.var_mean(X, 0),
        "aminmax": lambda: torch.aminmax(X, dim=0),
        "clone": lambda: X.clone(),
        "gram": lambda: X.T @ X,
    }
    for key, function in primitives.items():
        progress(f"  {PRIMITIVES[key][0]}")
        median, runs, _ = timer.measure(function)
        section.floors[key] = (median, runs)

    fitted = []
    for name, make_ours, make_theirs, fit_spec, transform_spec in PAIRS:
        ours, theirs = make_ours(), make_theirs()
        for operation, (primitive, targets) in (
            ("fit", fit_spec),
            ("transform", transform_spec),
        ):
            progress(f"  {name}: {operation}")
            skbn_time, skbn_runs, skbn_peak = timer.measure(
                functools.partial(getattr(ours, operation), X)
            )
            sklearn_time, sklearn_runs, sklearn_peak = timer.measure(
                functools.partial(getattr(theirs, operation), X)
            )
            section.rows.append(
                Row(
                    name,
                    operation,
                    skbn_time,
                    sklearn_time,
                    primitive,
                    targets,
                    skbn_runs,
                    sklearn_runs,
                    skbn_peak,
                    sklearn_peak,
                )
            )
        fitted.append((ours, theirs))

    progress("  checks")
    X64 = X if dtype == torch.float64 else X.double()
    ok = True
    for ours, theirs in fitted:
        ok &= check_pair(torch, section, ours, theirs, X, X64)
    return section, ok


# ---------------------------------------------------------------------- output

HEADER = (
    "operation",
    "skbn",
    "sklearn",
    "skbn/sklearn",
    "torch",
    "skbn/torch",
    "skbn mem",
    "sklearn mem",
    "target (skbn/...)",
    "met",
)


def percent(peak, nbytes):
    return "" if peak is None else f"{100 * peak / nbytes:.0f}%"


def target_text(targets):
    return ", ".join(f"{against} <= {limit:g}" for against, limit in targets)


def bandwidth(nbytes, seconds):
    rate = nbytes / seconds / 1e9
    return f"{rate:,.0f} GB/s" if rate >= 100 else f"{rate:.1f} GB/s"


def table_lines(sections):
    """The table: a heading per dtype, its floors, a subheading per pair."""
    body = []  # cells, or a heading
    for section in sections:
        body.append(section.title)
        nbytes = section.data["nbytes"]
        for key, (median, _) in section.floors.items():
            label, moved = PRIMITIVES[key]
            if key != "gram":  # a matrix product: its bandwidth means little
                label += f" [{bandwidth(moved * nbytes, median)}]"
            body.append(
                (f"  {key}: {label}", format_value(median, "s"))
                + ("",) * (len(HEADER) - 2)
            )
        pair = None
        for row in section.rows:
            if row.pair != pair:
                pair = row.pair
                body.append("  " + pair)
            ratios = section.ratios(row)
            misses = section.misses(row)
            body.append(
                (
                    "    " + row.operation,
                    format_value(row.skbn, "s"),
                    format_value(row.sklearn, "s"),
                    f"{ratios['sklearn']:.3f}",
                    row.primitive,
                    f"{ratios['torch']:.2f}x",
                    percent(row.skbn_peak, nbytes),
                    percent(row.sklearn_peak, nbytes),
                    target_text(row.targets),
                    "no" if misses else "yes",
                )
            )
    return render_table(HEADER, body)


def to_json(info, settings, sections):
    out = {"machine": info, "settings": settings, "sections": []}
    for section in sections:
        nbytes = section.data["nbytes"]
        rows = []
        for row in section.rows:
            ratios = section.ratios(row)
            rows.append(
                {
                    "pair": row.pair,
                    "operation": row.operation,
                    "skbn": row.skbn,
                    "sklearn": row.sklearn,
                    "primitive": row.primitive,
                    "torch": section.floors[row.primitive][0],
                    "skbn_vs_sklearn": ratios["sklearn"],
                    "skbn_vs_torch": ratios["torch"],
                    "targets": [
                        {"against": against, "at_most": limit}
                        for against, limit in row.targets
                    ],
                    "met": not section.misses(row),
                    "skbn_peak_bytes": row.skbn_peak,
                    "sklearn_peak_bytes": row.sklearn_peak,
                    "skbn_peak_vs_X": None
                    if row.skbn_peak is None
                    else row.skbn_peak / nbytes,
                    "sklearn_peak_vs_X": None
                    if row.sklearn_peak is None
                    else row.sklearn_peak / nbytes,
                    "skbn_runs": row.skbn_runs,
                    "sklearn_runs": row.sklearn_runs,
                }
            )
        out["sections"].append(
            {
                "dtype": section.dtype,
                "title": section.title,
                "data": section.data,
                "floors": {
                    key: {"label": PRIMITIVES[key][0], "value": median, "runs": runs}
                    for key, (median, runs) in section.floors.items()
                },
                "rows": rows,
                "checks": section.checks,
                "notes": section.notes,
            }
        )
    return out


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--device",
        metavar="DEVICE",
        help="a torch device, such as cuda, cuda:1 or cpu (default: cuda if torch "
        "sees a CUDA device, else cpu)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{ROWS['quick']:,} rows instead of {ROWS['full']:,}: under a minute",
    )
    parser.add_argument(
        "--rows",
        type=int,
        metavar="N",
        help=f"rows of X (default {ROWS['full']:,}, {ROWS['quick']:,} with --quick)",
    )
    parser.add_argument(
        "--features",
        type=int,
        default=N_FEATURES,
        metavar="P",
        help=f"columns of X (default {N_FEATURES})",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=REPEAT,
        metavar="N",
        help=f"timed runs per call, after one warm-up; the median is reported "
        f"(default {REPEAT})",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=DEFAULT_JSON,
        metavar="PATH",
        help="where to write the results (default: benchmarks/gpu.json)",
    )
    args = parser.parse_args(argv)
    if args.rows is None:
        args.rows = ROWS["quick" if args.quick else "full"]
    if args.repeat < 1 or args.features < 2 or args.rows < CHECK_ROWS:
        parser.error(
            f"--repeat must be at least 1, --features at least 2, --rows at least "
            f"{CHECK_ROWS:,}"
        )
    return args


def main(argv=None):
    args = parse_args(argv)
    torch = import_torch()
    device = resolve_device(torch, args.device)
    if not hasattr(skbn, "estimator_to_numpy"):
        sys.exit(f"skbn {skbn.__version__} does not take array-API inputs")
    gc.collect()
    gc.freeze()
    info = machine()
    info["accelerator"] = device_info(torch, device)
    print_machine(info)
    print_device(info["accelerator"])
    on_cpu = device.type != "cuda"
    if on_cpu:
        print(
            f"Note: running on {device}, not on a CUDA device: these times say "
            "nothing about a GPU, and the targets are meant for one."
        )
    print()

    timer = Timer(torch, device, args.repeat)
    sections = []
    ok = True
    start = time.perf_counter()
    try:
        dispatch = sklearn.config_context(array_api_dispatch=True)
        dispatch.__enter__()
    except Exception as error:  # noqa: BLE001 - say why, then stop
        sys.exit(f"cannot turn scikit-learn's array API dispatch on: {error}")
    try:
        for number, dtype_name in enumerate(("float64", "float32"), 1):
            progress(f"[{number}/2] {dtype_name}")
            case_start = time.perf_counter()
            section, checked = run_dtype(
                torch, timer, dtype_name, args.rows, args.features
            )
            release(torch, device)  # X and the fitted estimators are gone
            sections.append(section)
            ok &= checked
            progress(f"  ({time.perf_counter() - case_start:.1f} s)")
    finally:
        dispatch.__exit__(None, None, None)
    elapsed = time.perf_counter() - start

    print("\n".join(table_lines(sections)))
    print(
        f"Times: median of {args.repeat} runs after a warm-up, between two device "
        "synchronizations. skbn/sklearn and skbn/torch below 1 favour skbn; torch = "
        "the primitive (floor) that line is compared with. mem = extra peak device "
        "memory of the call, in % of X (CUDA only)."
    )
    lines = [(section, row) for section in sections for row in section.rows]
    missed = [
        f"{section.dtype} {row.pair.split(' vs ')[0]} {row.operation}: "
        + ", ".join(
            f"skbn/{against} {ratio:.2f} > {limit:g}"
            for against, ratio, limit in section.misses(row)
        )
        for section, row in lines
        if section.misses(row)
    ]
    print(
        "Targets: BatchStandardizer and MinMaxNormalizer fit at most 0.1 x "
        "scikit-learn's and 1.5 x the torch primitive; SVDWhitener fit at most "
        "1 x PCA's; each transform at most 1.5 x X.clone()"
        + (" (meant for a GPU)" if on_cpu else "")
        + f": {len(lines) - len(missed)} of {len(lines)} lines meet theirs."
    )
    for miss in missed:
        print(f"  missed: {miss}")
    print(
        "Checks (skbn's transform of the first "
        f"{CHECK_ROWS:,} rows vs scikit-learn's float64 fit of X; results and "
        "attributes are tensors on X's device): "
        + ("passed" if ok else "FAILED, see the notes")
    )
    for note in (note for section in sections for note in section.notes):
        print(f"Note: {note}")

    settings = {
        "quick": args.quick,
        "rows": args.rows,
        "features": args.features,
        "repeat": args.repeat,
        "warmup": 1,
        "device": str(device),
        "on_cpu": on_cpu,
        "check_rows": CHECK_ROWS,
        "tolerance": TOLERANCE,
        "checks_passed": ok,
        "seconds": elapsed,
    }
    write_json(args.json, to_json(info, settings, sections), elapsed)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
