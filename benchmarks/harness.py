"""What the benchmark scripts share: timer, rows, table, JSON, machine, options.

The scripts import this module, not one another, and skbn's public API only: they
time whichever skbn is imported (``PYTHONPATH=/other/checkout``), and say which.

Protocol: the skbn call and the scikit-learn call of a line take turns, run by
run, after one warm-up run of each; each time is the median of ``--repeat`` runs,
measured with ``time.perf_counter`` from the call to its return, the garbage
collector off. Interleaving makes machine noise hit both sides alike. On the
whitening lines, whose calls both use BLAS, each run starts 0.2 s after the
previous one ends (when BLAS runs more than one thread), so that the threads
one library's BLAS leaves spinning after a call are asleep when the other's
call starts.
"""

import argparse
import collections
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
import traceback
from pathlib import Path

import numpy as np
import scipy
import sklearn
from threadpoolctl import threadpool_info

import skbn

PROTOCOL = " ".join(__doc__.split("Protocol:")[1].replace("``", "").split())
BLAS_PAUSE = 0.2  # seconds; OpenBLAS's idle threads spin for about 0.1 s
# What measure() gives for each call: the median, the runs, what the warm-up measured.
Timing = collections.namedtuple("Timing", "median runs warm_up")


def progress(message):
    print(message, file=sys.stderr, flush=True)


@functools.cache
def blas_pause():
    """The pause before each call of a line whose calls both use BLAS."""
    threads = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    return BLAS_PAUSE if max(threads, default=1) > 1 else 0.0


def measure(calls, repeat, *, setup=None, sync=None, pause=0.0, warm_up=None):
    """Time ``calls`` (``{name: function}``) by the protocol: they take turns.

    Before each call, untimed: ``time.sleep(pause)`` and ``setup()`` (to refresh
    an array that a call overwrites). ``sync()`` runs before the clock starts and
    before it stops (to wait for a device). ``warm_up(function)`` makes the
    warm-up call and returns what it measured. Returns ``{name: Timing}``.
    """
    runs, warmed = {name: [] for name in calls}, {}
    for run in range(1 + repeat):
        for name, function in calls.items():
            time.sleep(pause)
            if setup is not None:
                setup()
            if run == 0 and warm_up is not None:
                warmed[name] = warm_up(function)
                continue
            gc.collect()
            gc.disable()
            try:
                sync and sync()
                start = time.perf_counter()
                result = function()
                sync and sync()
                elapsed = time.perf_counter() - start
            finally:
                gc.enable()
            del result  # after the clock: freeing the result is not the call's time
            if run:
                runs[name].append(elapsed)
    return {n: Timing(statistics.median(t), t, warmed.get(n)) for n, t in runs.items()}


@dataclasses.dataclass
class Floor:
    value: float
    label: str
    runs: list = dataclasses.field(default_factory=list)


def measure_floors(calls, repeat, **kw):
    """Time the yardsticks ``{key: (label, function, bytes moved or None)}``."""
    progress("  floors: " + ", ".join(label for label, _, _ in calls.values()))
    timed = measure({key: call[1] for key, call in calls.items()}, repeat, **kw)
    floors = {}
    for key, (label, _, moved) in calls.items():
        value = timed[key].median
        rate = f" [{moved / value / 1e9:,.1f} GB/s]" if moved else ""
        floors[key] = Floor(value, f"floor: {label}{rate}", timed[key].runs)
    return floors


@dataclasses.dataclass
class Row:
    """One line of a table: a skbn value, a scikit-learn value, their ratio."""

    operation: str
    skbn: float | None
    sklearn: float | None = None
    floor: str | None = None  # the key of the section's floor it is set against
    skbn_runs: list = dataclasses.field(default_factory=list)
    sklearn_runs: list = dataclasses.field(default_factory=list)
    extra: dict = dataclasses.field(default_factory=dict)  # more JSON fields


@dataclasses.dataclass
class Section:
    case: str
    title: str
    unit: str = "s"  # "s", "s/call" or "bytes"
    data: dict = dataclasses.field(default_factory=dict)
    floors: dict = dataclasses.field(default_factory=dict)  # key -> Floor
    rows: list = dataclasses.field(default_factory=list)
    notes: list = dataclasses.field(default_factory=list)
    extra: dict = dataclasses.field(default_factory=dict)  # more JSON fields

    def compare(self, operation, call, pair, repeat, floor=None, per=1, **kw):
        """Time ``call(estimator)`` on a skbn estimator and a scikit-learn one
        (``pair``) by the protocol; add their row. ``per`` divides the times
        (calls per run); the other keywords go to :func:`measure`."""
        progress(f"  {operation}")
        partial = functools.partial
        calls = {"skbn": partial(call, pair[0]), "sklearn": partial(call, pair[1])}
        timed = measure(calls, repeat, **kw)
        runs = {who: [x / per for x in t.runs] for who, t in timed.items()}
        medians = [statistics.median(times) for times in runs.values()]
        row = Row(operation, *medians, floor, runs["skbn"], runs["sklearn"])
        if kw.get("warm_up"):
            row.extra.update({f"{w}_warm_up": t.warm_up for w, t in timed.items()})
        self.rows.append(row)
        return row

    def floor_of(self, row):
        return self.floors[row.floor].value if row.floor else None


def ratio(a, b):
    return a / b if a is not None and b else None


def relative_difference(ours, reference):
    """max |ours - reference| / max |reference|, as numpy arrays."""
    ours, reference = np.asarray(ours), np.asarray(reference)
    scale = np.max(np.abs(reference))
    return float(np.max(np.abs(ours - reference)) / (scale if scale > 0 else 1.0))


# ------------------------------------------------------------------- output


def format_value(value, unit="s"):
    if value is None:
        return "n/a"
    if unit == "bytes":
        return f"{value / 1e6:,.1f} MB" if value >= 1e5 else f"{value / 1e3:,.1f} kB"
    if unit == "s/call" or value < 1e-3:
        return f"{value * 1e6:,.1f} us"
    return f"{value * 1e3:,.1f} ms" if value < 1 else f"{value:,.2f} s"


def format_multiple(value, floor, unit):
    if value is None or floor is None:
        return ""
    if unit != "bytes":
        return f"{value / floor:.1f}x"
    percent = 100 * value / floor
    return f"{percent:.1f}%" if percent < 10 else f"{percent:.0f}%"


HEADER = ("operation", "skbn", "sklearn", "skbn/sklearn", "x faster")
HEADER += ("skbn/floor", "sklearn/floor")


def table_lines(sections, columns=()):
    """Per section a heading, its floors and its rows; ``columns`` adds columns,
    as ``(header, function(section, row) -> cell)``."""
    header, body = HEADER + tuple(name for name, _ in columns), []
    for section in sections:
        body.append(section.title)
        unit = section.unit
        for floor in section.floors.values() if unit == "s" else ():
            blank = ("",) * (len(header) - 2)
            body.append(("  " + floor.label, format_value(floor.value), *blank))
        for row in section.rows:
            floor, speedup = section.floor_of(row), ratio(row.sklearn, row.skbn)
            cells = ["  " + row.operation, format_value(row.skbn, unit)]
            cells.append(format_value(row.sklearn, unit))
            cells.append(f"{row.skbn / row.sklearn:.2f}" if speedup else "")
            cells.append(f"{speedup:.2f}x" if speedup and unit != "bytes" else "")
            cells.append(format_multiple(row.skbn, floor, unit))
            cells.append(format_multiple(row.sklearn, floor, unit))
            body.append((*cells, *(cell(section, row) for _, cell in columns)))
    return render_table(header, body)


def render_table(header, body):
    """A plain-text table: ``body`` holds rows (tuples of cells, the first
    left-aligned) and headings (strings; unindented ones start a new block)."""
    rows = [header] + [line for line in body if not isinstance(line, str)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]

    def render(cells):
        rest = (cell.rjust(w) for cell, w in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([cells[0].ljust(widths[0]), *rest]).rstrip()

    lines = [render(header), "-" * len(render(header))]
    for line in body:
        if isinstance(line, str) and not line.startswith(" ") and len(lines) > 2:
            lines.append("")
        lines.append(line if isinstance(line, str) else render(line))
    return [*lines, lines[1]]


def sections_json(sections):
    """Every number of the sections, with the individual runs."""
    out = [dataclasses.asdict(section) for section in sections]
    for section, fields in zip(sections, out, strict=True):
        for row, row_fields in zip(section.rows, fields["rows"], strict=True):
            skbn, sklearn, floor = row.skbn, row.sklearn, section.floor_of(row)
            row_fields.update(ratio=ratio(skbn, sklearn), speedup=ratio(sklearn, skbn))
            row_fields.update(skbn_vs_floor=ratio(skbn, floor))
            row_fields.update(sklearn_vs_floor=ratio(sklearn, floor))
    return out


def shown(path):
    """``path`` relative to the working directory when it is under it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def write_json(path, document, elapsed):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1, default=str))
    print(f"Wrote {shown(path)} in {elapsed:.0f} s")


# ------------------------------------------------------------------ machine


def machine():
    """The CPU, memory and library versions, the BLAS/OpenMP thread pools, and
    the skbn imported: its directory and, in a git checkout, its commit."""
    cpu, memory_gib = platform.processor() or platform.machine(), None
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        memory_gib = round(memory / 2**30, 1)
        cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = next(line for line in cpuinfo if line.startswith("model name"))
        cpu = cpu.split(":", 1)[1].strip()
    except (AttributeError, ValueError, OSError, StopIteration):
        pass
    keys = ("user_api", "internal_api", "version", "num_threads", "architecture")
    keys += ("threading_layer", "prefix")
    pools = [{k: p[k] for k in keys if p.get(k) is not None} for p in threadpool_info()]
    where = Path(skbn.__file__).resolve().parent
    try:
        git = ["git", "-C", where, "describe", "--always", "--dirty"]
        done = subprocess.run(git, capture_output=True, text=True)
        commit = done.stdout.strip() if done.returncode == 0 else None
    except OSError:  # no git
        commit = None
    usable = getattr(os, "sched_getaffinity", lambda _: range(os.cpu_count()))(0)
    info = {"cpu": cpu, "cores": os.cpu_count(), "usable_cores": len(usable)}
    info.update(memory_gib=memory_gib, platform=platform.platform())
    info.update(python=platform.python_version(), numpy=np.__version__)
    info.update(scipy=scipy.__version__, sklearn=sklearn.__version__)
    info.update(skbn=skbn.__version__, skbn_path=str(where), skbn_commit=commit)
    return {**info, "threadpools": pools}


def print_machine(info):
    memory = f", {info['memory_gib']} GiB memory" if info["memory_gib"] else ""
    print(f"CPU: {info['cpu']}, {info['usable_cores']} cores{memory}")
    print(f"Platform: {info['platform']}, Python {info['python']}")
    print(
        f"numpy {info['numpy']}, scipy {info['scipy']}, scikit-learn "
        f"{info['sklearn']}, skbn {info['skbn']}"
    )
    commit = f" ({info['skbn_commit']})" if info["skbn_commit"] else ""
    print(f"skbn from {shown(info['skbn_path'])}{commit}")
    for pool in info["threadpools"]:
        details = [pool.get(k) for k in ("prefix", "version", "architecture")]
        details = ", ".join(str(detail) for detail in details if detail)
        print(f"{pool['user_api']}: {pool['internal_api']} ({details}), ", end="")
        print(f"{pool['num_threads']} threads")


# ------------------------------------------------------------------ running


def options_parser(doc, json_name, repeat=5, quick="small sizes", cases=None):
    """The options every script takes: --quick, --repeat, --json (and --only)."""
    epilog = "cases: " + ", ".join(cases) if cases else None
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0], epilog=epilog)
    add = parser.add_argument
    add("--quick", action="store_true", help=quick)
    runs = f"timed runs per line after a warm-up, the median shown (default {repeat})"
    add("--repeat", type=int, default=repeat, metavar="N", help=runs)
    path = Path(__file__).resolve().parent / json_name
    add("--json", type=Path, default=path, help=f"default: benchmarks/{json_name}")
    if cases:
        add("--only", metavar="TEXT", help="run the cases whose name contains TEXT")
    return parser


def begin(args, cases=()):
    """Check the options and print the machine; the machine and the cases to run."""
    if args.repeat < 1:
        sys.exit("--repeat must be at least 1")
    names = [name for name in cases if (getattr(args, "only", None) or "") in name]
    if cases and not names:
        sys.exit(f"no case matches {args.only!r}; cases: {', '.join(cases)}")
    # Out of the garbage collector's sight, what is imported so far makes the
    # gc.collect() before each timed call take microseconds, not milliseconds.
    gc.collect()
    gc.freeze()
    info = machine()
    print_machine(info)
    return info, names


def run_cases(names, run_case):
    """Run each case (a list of sections each); a case that fails becomes a note."""
    sections, failed = [], []
    for number, name in enumerate(names, 1):
        progress(f"[{number}/{len(names)}] {name}")
        start = time.perf_counter()
        try:
            sections += run_case(name)
        except Exception as error:  # noqa: BLE001 - say so, run the others
            traceback.print_exc()
            failed.append(f"case {name} failed: {type(error).__name__}: {error}")
        progress(f"  ({time.perf_counter() - start:.1f} s)")
    return sections, failed


def report(args, info, settings, sections, elapsed, columns=(), lines=(), notes=()):
    """Print the table, the protocol, ``lines`` and the notes; write the JSON."""
    print("\n".join(table_lines(sections, columns)))
    print(f"Protocol: {PROTOCOL}")
    print("skbn/sklearn below 1, 'x faster' above 1 favour skbn.", *lines, sep="\n")
    notes = [*(note for section in sections for note in section.notes), *notes]
    for note in notes:
        print(f"Note: {note}")
    settings = {"quick": args.quick, "repeat": args.repeat, **settings}
    document = {"machine": info, "protocol": PROTOCOL, "settings": settings}
    document.update(sections=sections_json(sections), notes=notes)
    write_json(args.json, document, elapsed)
