"""Time skbn on a GPU against scikit-learn's array API support and torch itself.

What it times, against which targets, and what it checks: ``benchmarks/README.md``
and ``docs/array_api.rst``.
"""

import os

# scikit-learn's array API support needs scipy's, switched on before scipy is
# imported (by the harness, or by scikit-learn).
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import gc
import importlib.metadata
import sys
import time
from functools import partial
from operator import methodcaller

import harness
import numpy as np
import sklearn
from harness import Section, progress
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.preprocessing import MinMaxScaler, StandardScaler

import skbn
from skbn import BatchStandardizer, MinMaxNormalizer, SVDWhitener

try:
    import torch
except ImportError:
    torch = None

ROWS = {"full": 8_000_000, "quick": 80_000}
DTYPES, N_FEATURES, CHECK_ROWS = ("float64", "float32"), 64, 1_000
# The checks: max |skbn - reference| / max |reference|, the reference being
# scikit-learn's float64 fit of the same values. In float32, skbn accumulates in
# float64 and maps in float32: the tolerance leaves room for the map's rounding.
TOLERANCE = {"float64": 1e-8, "float32": 1e-4}
# The floors: label, function of X, bytes moved in multiples of X (None: no rate).
FLOORS = {
    "var_mean": ("torch.var_mean(X, 0)", lambda X: torch.var_mean(X, 0), 1),
    "aminmax": ("torch.aminmax(X, dim=0)", lambda X: torch.aminmax(X, dim=0), 1),
    "gram": ("X.T @ X", lambda X: X.T @ X, None),
    "clone": ("X.clone()", lambda X: X.clone(), 2),
}
# The pairs: the estimators, the floor of fit and the targets of fit (what skbn's
# time is divided by, the largest ratio allowed); a transform's floor is clone.
SCALERS, TRANSFORMS = (("sklearn", 0.1), ("floor", 1.5)), (("floor", 1.5),)
PAIRS = (
    (BatchStandardizer, StandardScaler, "var_mean", SCALERS),
    (MinMaxNormalizer, MinMaxScaler, "aminmax", SCALERS),
    (
        partial(SVDWhitener, method="pca"),
        partial(PCA, whiten=True, svd_solver="covariance_eigh"),
        "gram",
        (("sklearn", 1.0),),
    ),
)


def open_device(name):
    """The device (``--device``, else CUDA if there is one, else the CPU), a
    function that waits for its queued work (or None), and its description."""
    device = torch.device(name or ("cuda" if torch.cuda.is_available() else "cpu"))
    sync, where = None, f"torch on {torch.get_num_threads()} threads"
    info = {"torch": torch.__version__, "cuda": torch.version.cuda}
    info["SCIPY_ARRAY_API"] = os.environ.get("SCIPY_ARRAY_API")
    try:
        info["array_api_compat"] = importlib.metadata.version("array-api-compat")
    except importlib.metadata.PackageNotFoundError:
        info["array_api_compat"] = None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            sys.exit(f"--device {name}: torch sees no CUDA device")
        index = torch.cuda.current_device() if device.index is None else device.index
        device = torch.device("cuda", index)
        torch.cuda.set_device(device)
        sync = partial(torch.cuda.synchronize, device)
        props = torch.cuda.get_device_properties(device)
        info.update(name=props.name, memory_gib=round(props.total_memory / 2**30, 1))
        info.update(capability=f"{props.major}.{props.minor}")
        info.update(tf32_matmul=torch.backends.cuda.matmul.allow_tf32)
        where = f"{props.name} ({info['memory_gib']} GiB, compute capability "
        where += f"{info['capability']}), CUDA {info['cuda']}"
    elif device.type == "mps":
        sync = torch.mps.synchronize
    print(f"Device: {device}, {where}")
    versions = ("torch", "array_api_compat", "SCIPY_ARRAY_API")
    print(", ".join(f"{key} {info[key]}" for key in versions))
    return device, sync, {"device": str(device), **info}


def peak_memory(device, sync):
    """A warm-up for measure(): one call; its extra peak device memory (CUDA)."""

    def warm_up(function):
        if device.type != "cuda":
            function()
            return None
        sync()
        before = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        result = function()
        sync()
        del result
        return torch.cuda.max_memory_allocated(device) - before

    return warm_up


def make_data(n_samples, n_features, dtype, device):
    """The offsets and scales of ``run.make_data``, normal draws from a torch
    generator on the device, seeded with 0."""
    rng = np.random.default_rng(0)
    offsets = rng.uniform(-100.0, 100.0, n_features)
    scales = rng.uniform(0.1, 10.0, n_features)
    generator = torch.Generator(device=device).manual_seed(0)
    shape = (n_samples, n_features)
    X = torch.randn(shape, generator=generator, dtype=dtype, device=device)
    X.mul_(torch.as_tensor(scales, dtype=dtype, device=device))
    return X.add_(torch.as_tensor(offsets, dtype=dtype, device=device))


def check(section, ours, theirs, X):
    """Check skbn's fit of X against scikit-learn's float64 fit of the same values.

    The transforms of the first rows are compared (for the whitener, their Gram
    matrices, which the signs and order of the components do not change; PCA
    whitens with the ddof=1 covariance, hence the factor (n - 1) / n). Also
    checks that skbn's result is a tensor of X's dtype on X's device, its fitted
    attributes tensors on that device, and that estimator_to_numpy moves them.
    """
    X64 = X.double()
    out, problems = ours.transform(X[:CHECK_ROWS]), []
    where = (getattr(out, "device", None), getattr(out, "dtype", None))
    if not isinstance(out, torch.Tensor) or where != (X.device, X.dtype):
        problems.append(f"transform gave {type(out).__name__} {where[1]} on {where[0]}")
    attribute = "whitening_matrix_" if isinstance(ours, SVDWhitener) else "scale_"
    fitted = getattr(ours, attribute)
    if not (isinstance(fitted, torch.Tensor) and fitted.device == X.device):
        problems.append(f"{attribute} is not a tensor on {X.device}")
    if not isinstance(getattr(skbn.estimator_to_numpy(ours), attribute), np.ndarray):
        problems.append(f"estimator_to_numpy left {attribute} off numpy")
    reference = clone(theirs).fit(X64).transform(X64[:CHECK_ROWS])
    outputs = [
        np.asarray(o.detach().cpu().double() if isinstance(o, torch.Tensor) else o)
        for o in (out, theirs.transform(X[:CHECK_ROWS]), reference)
    ]
    if isinstance(ours, SVDWhitener):
        outputs = [o @ o.T for o in outputs]
        outputs[0] *= (X.shape[0] - 1) / X.shape[0]
    difference = harness.relative_difference(outputs[0], outputs[2])
    tolerance = TOLERANCE[section.data["dtype"]]
    if difference > tolerance:
        problems.append(
            f"its transform of the first {CHECK_ROWS:,} rows differs from scikit-"
            f"learn's float64 fit by {difference:.1e} (tolerance {tolerance:g})"
        )
    check = {"skbn_vs_float64_reference": difference, "tolerance": tolerance}
    check["sklearn_vs_float64_reference"] = harness.relative_difference(*outputs[1:])
    section.extra["check"] = {**check, "problems": problems}
    section.notes += [f"{section.case}: {problem}" for problem in problems]


def meets(section, row, targets):
    """Whether a row meets its targets, ``(against, largest ratio allowed)``."""
    ratios = {"sklearn": row.skbn / row.sklearn}
    ratios["floor"] = row.skbn / section.floor_of(row)
    return all(ratios[key] <= limit for key, limit in targets)


def run_dtype(device, sync, dtype_name, args):
    """Floors, then fit and transform of each pair, then the checks, on one X."""
    dtype, n, p = getattr(torch, dtype_name), args.rows, args.features
    try:
        torch.zeros(1, dtype=dtype, device=device)
    except (TypeError, RuntimeError):
        progress(f"  {device} has no {dtype_name}: skipped")
        return []
    progress(f"  building {n:,} x {p} {dtype_name} on {device}")
    X = make_data(n, p, dtype, device)
    nbytes = X.numel() * X.element_size()
    floors = {
        key: (label, partial(f, X), moved and moved * nbytes)
        for key, (label, f, moved) in FLOORS.items()
    }
    floors = harness.measure_floors(floors, args.repeat, sync=sync)
    kw = {"sync": sync, "warm_up": peak_memory(device, sync)}
    sections = []
    for ours, theirs, fit_floor, fit_targets in PAIRS:
        pair = (ours(), theirs())
        name = " vs ".join(repr(e).removesuffix("()") for e in pair)
        title = f"{name}, {n:,} x {p} {dtype_name} ({nbytes / 1e6:,.0f} MB) on {device}"
        data = {"shape": [n, p], "dtype": dtype_name, "nbytes": nbytes}
        keys = (fit_floor, "clone")
        section = Section(f"{dtype_name} {type(pair[0]).__name__}", title, "s", data)
        section.floors = {key: floors[key] for key in keys}
        # A matrix product on the CPU: both sides use a multi-threaded BLAS.
        kw["pause"] = harness.blas_pause() if fit_floor == "gram" and not sync else 0
        for operation, floor, targets in zip(
            ("fit", "transform"), keys, (fit_targets, TRANSFORMS), strict=True
        ):
            call = methodcaller(operation, X)
            row = section.compare(operation, call, pair, args.repeat, floor, **kw)
            target = ", ".join(f"{key} <= {limit:g}" for key, limit in targets)
            row.extra.update(target=target, met=meets(section, row, targets))
        progress("  check")
        check(section, *pair, X)
        sections.append(section)
    return sections


def percent(section, row, who):
    peak = row.extra.get(f"{who}_warm_up")
    return "" if peak is None else f"{100 * peak / section.data['nbytes']:.0f}%"


COLUMNS = (
    ("skbn mem", partial(percent, who="skbn")),
    ("sklearn mem", partial(percent, who="sklearn")),
    ("target (skbn/...)", lambda section, row: row.extra["target"]),
    ("met", lambda section, row: "yes" if row.extra["met"] else "no"),
)


def main(argv=None):
    quick = f"{ROWS['quick']:,} rows"
    parser = harness.options_parser(__doc__, "gpu.json", 7, quick, DTYPES)
    add = parser.add_argument
    add("--device", help="a torch device (default: cuda if there is one, else cpu)")
    add("--rows", type=int, help=f"rows of X (default {ROWS['full']:,})")
    add("--features", type=int, default=N_FEATURES, help="columns of X (default 64)")
    args = parser.parse_args(argv)
    args.rows = args.rows or ROWS["quick" if args.quick else "full"]
    if args.features < 2 or args.rows < CHECK_ROWS:
        parser.error(f"--features must be at least 2, --rows at least {CHECK_ROWS:,}")
    if torch is None:
        sys.exit("benchmarks/gpu.py needs torch (pip install torch)")
    if not hasattr(skbn, "estimator_to_numpy"):
        sys.exit(f"skbn {skbn.__version__} does not take array-API inputs")
    info, names = harness.begin(args, DTYPES)
    device, sync, info["accelerator"] = open_device(args.device)
    on_cpu = device.type != "cuda"
    if on_cpu:
        print(
            f"Note: running on {device}, not on a CUDA device: these times say "
            "nothing about a GPU, and the targets are meant for one."
        )
    print()
    try:
        sklearn.set_config(array_api_dispatch=True)
    except Exception as error:  # noqa: BLE001 - say why, then stop
        sys.exit(f"cannot turn scikit-learn's array API dispatch on: {error}")

    def run_case(name):
        sections = run_dtype(device, sync, name, args)
        gc.collect()  # X and the fitted estimators are gone
        if device.type == "cuda":
            torch.cuda.empty_cache()
        return sections

    start = time.perf_counter()
    sections, failed = harness.run_cases(names, run_case)
    elapsed = time.perf_counter() - start
    met = sum(row.extra["met"] for section in sections for row in section.rows)
    lines = sum(len(s.rows) for s in sections)
    ok = not failed and all(not s.extra["check"]["problems"] for s in sections)
    settings = {"rows": args.rows, "features": args.features, "device": str(device)}
    settings.update(on_cpu=on_cpu, check_rows=CHECK_ROWS, tolerance=TOLERANCE)
    settings.update(checks_passed=ok, only=args.only, seconds=elapsed)
    footer = [
        "Device times: between two synchronizations of the device. mem: extra peak "
        "device memory of the warm-up call, in % of X (CUDA only). Targets"
        + (" (meant for a GPU)" if on_cpu else "")
        + f": {met} of {lines} lines meet theirs. Checks (skbn's transform of the "
        f"first {CHECK_ROWS:,} rows vs scikit-learn's float64 fit of X; results and "
        "attributes are tensors on X's device): "
        + ("passed" if ok else "FAILED, see the notes"),
    ]
    harness.report(args, info, settings, sections, elapsed, COLUMNS, footer, failed)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
