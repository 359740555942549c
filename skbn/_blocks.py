"""Row blocks: how skbn walks through a large array.

Normalizing is memory-bound: a fit reads X once and a transform reads and writes
it once, so the time goes to moving X through memory, not to arithmetic. X is
therefore taken in blocks of rows small enough to stay in cache while every
pass a block needs (a sum, then the squared deviations; or a subtraction, then
a multiplication) runs over it, and the blocks are shared among threads, since
numpy releases the GIL inside its loops.

How many threads: see :func:`_n_threads`. With one allowed, no pool is made
and no thread started: the work runs on the calling thread.

Blocks are grouped into tasks of a fixed number of blocks, whatever the number
of threads, and results come back in block order, so that the statistics merged
from them do not depend on how many cores the machine has.
"""

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import cache

import joblib
import numpy as np

from ._config import _settings, one_blas_thread

# About 256k values (2 MiB of float64) per block. Smaller blocks would fit a
# smaller cache, but then the handful of numpy calls each block needs, and
# the merge of its statistics, cost more than they save, and threads spend
# their time waiting for one another on the interpreter lock.
_BLOCK_VALUES = 1 << 18
# Rows of a block are a multiple of this, so that a C-contiguous block can be
# viewed as WIDE times fewer rows of WIDE times more columns (see wide_view):
# the width at which elementwise maps run fastest. Column reductions, which
# fold their partial results back, do best over rows REDUCE_WIDTH rows wide.
WIDE = 128
REDUCE_WIDTH = 16
# Below this many rows, setting up a wide view (and repeating per-feature
# values to its width) costs more than it saves.
WIDE_MIN_ROWS = 1024
BLOCKS_PER_TASK = 4


def block_rows(X):
    """Rows per block of ``X``: about 256k values, a multiple of WIDE when possible."""
    rows = max(1, _BLOCK_VALUES // max(1, X.shape[1]))
    return rows - rows % WIDE if rows >= WIDE else rows


def row_blocks(n_rows, rows_per_block):
    """Consecutive row slices of at most ``rows_per_block`` rows covering ``n_rows``."""
    return [
        slice(start, min(start + rows_per_block, n_rows))
        for start in range(0, n_rows, rows_per_block)
    ]


def map_row_blocks(
    task, n_rows, rows_per_block, *, calls_blas=False, blocks_per_task=BLOCKS_PER_TASK
):
    """``[task(group) for group in groups]``, the groups run in parallel threads.

    A group is a list of ``blocks_per_task`` consecutive row slices (a number
    that must not depend on the machine, so that neither do the results); the
    results come back in row order. Small inputs (a single group) stay on the
    calling thread, and so does everything when one thread is allowed
    (:func:`_n_threads`): no thread is then started. A task that
    ``calls_blas`` runs with BLAS limited to one thread: BLAS would otherwise
    start threads of its own inside each of ours, more threads than cores, and
    the surplus spin against each other (a whitener fit took 1.7 times as
    long).
    """
    blocks = row_blocks(n_rows, rows_per_block)
    groups = [
        blocks[start : start + blocks_per_task]
        for start in range(0, len(blocks), blocks_per_task)
    ]
    if len(groups) <= 1:
        return [task(group) for group in groups]
    n_threads = _n_threads()
    if n_threads == 1:
        return [task(group) for group in groups]
    if not calls_blas:
        return list(_pool(n_threads).map(task, groups))
    with one_blas_thread():
        return list(_pool(n_threads).map(task, groups))


def wide_view(block, width=WIDE):
    """``block`` seen with ``width`` times fewer rows and more columns, or None.

    A column reduction over a C-contiguous (rows, n) block is the same as one over
    (rows / width, width * n) followed by folding the partial results, and an
    elementwise map with per-feature values the same as one with the values
    repeated ``width`` times; numpy's loops run far faster over the longer rows
    when n is small. None when the block is small (fewer than WIDE_MIN_ROWS
    rows), not C-contiguous, or its rows are not a multiple of ``width``.
    """
    rows, n_features = block.shape
    if rows < WIDE_MIN_ROWS or rows % width or not block.flags.c_contiguous:
        return None
    return block.reshape(rows // width, width * n_features)


def fold(wide_result, n_features):
    """Sum the partial results of a reduction over a :func:`wide_view`."""
    return wide_result.reshape(-1, n_features).sum(axis=0)


def _n_threads():
    """How many threads skbn may use now, in the calling thread.

    The first of: skbn's setting (``skbn.set_config(n_threads=...)``, the
    calling thread's); ``OMP_NUM_THREADS``, read at each call because
    joblib's process workers and Dask's worker processes set it in their
    environment (the first of a list such as "4,2"; a value that is not a
    positive integer is ignored, as OpenMP ignores it); the number of CPUs
    the process may use (affinity and cgroup quotas honoured).
    """
    n_threads = _settings()["n_threads"]
    if n_threads is not None:
        return n_threads
    return _omp_num_threads(os.environ.get("OMP_NUM_THREADS")) or _cpu_count()


def _omp_num_threads(value):
    """The number of threads an ``OMP_NUM_THREADS`` value gives, or None."""
    if value is None:
        return None
    first = value.split(",")[0].strip()
    if not first.isdigit() or not first.isascii():
        return None
    return int(first) or None


@cache
def _cpu_count():
    # joblib's count honours CPU affinity, cgroup CPU quotas (containers)
    # and LOKY_MAX_CPU_COUNT. Reading the cgroup files costs more than a
    # small call: read once.
    return max(1, joblib.cpu_count())


def _pool(n_threads):
    """The process's pool of ``n_threads`` threads, made on first use.

    One pool per process and size: a child forked from a process whose pool
    has threads inherits the pool but not its threads, and would wait
    forever. Callers that share a size share its pool, so that together
    they run at most that many tasks at once. (Pools of other sizes, made
    under other settings, keep their idle threads.)
    """
    key = (os.getpid(), n_threads)
    pool = _pools.get(key)
    if pool is None:
        with _pools_lock:  # two first callers at once make one pool
            pool = _pools.get(key)
            if pool is None:
                pool = _pools[key] = ThreadPoolExecutor(
                    max_workers=n_threads, thread_name_prefix="skbn"
                )
    return pool


_pools = {}
_pools_lock = threading.Lock()


def _new_pools_lock():
    # A child forked while another thread held the lock would wait forever.
    global _pools_lock
    _pools_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_pools_lock)


def sum_is_finite(X):
    """Whether the sum of all of X is finite: false if any value is not.

    One read of X, shared among the threads when X is large. (An overflow
    can make the sum of finite values infinite: the caller then looks closer.)
    """
    rows_per_block = block_rows(X)
    if X.shape[0] <= rows_per_block or not X.flags.c_contiguous:
        with np.errstate(over="ignore", invalid="ignore"):
            return math.isfinite(X.sum())

    def finite(blocks):
        with np.errstate(over="ignore", invalid="ignore"):
            return all(math.isfinite(column_sums(X[rows]).sum()) for rows in blocks)

    return all(map_row_blocks(finite, X.shape[0], rows_per_block))


_local = threading.local()


def scratch(n_rows, n_features):
    """A float64 C-contiguous (n_rows, n_features) work array, reused per thread.

    One per thread rather than one per task: a task's blocks are worked
    through in it one after the other.
    """
    size = n_rows * n_features
    if size > 8 * _BLOCK_VALUES:  # an unusually wide block: not worth keeping
        return np.empty((n_rows, n_features))
    buffer = getattr(_local, "buffer", None)
    if buffer is None or buffer.size < size:
        buffer = _local.buffer = np.empty(max(size, _BLOCK_VALUES))
    return buffer[:size].reshape(n_rows, n_features)


def column_sums(block):
    """Column sums of a block, over its wide view when it has one.

    (A BLAS matrix-vector product is as fast on one thread, but BLAS calls
    from several threads at once serialize.)
    """
    wide = wide_view(block, REDUCE_WIDTH)
    if wide is None:
        return np.add.reduce(block, axis=0)
    return fold(np.add.reduce(wide, axis=0), block.shape[1])
