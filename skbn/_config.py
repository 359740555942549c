"""skbn's settings (how many threads it may use), and the BLAS thread limit.

The settings are the calling thread's own, as scikit-learn's are: a thread
starts with the defaults, whatever the thread that started it had set.
"""

import numbers
import threading
from contextlib import contextmanager
from functools import cache

# Installed with scikit-learn, which depends on it for the same purpose.
from threadpoolctl import ThreadpoolController

_DEFAULTS = {"n_threads": None}
_local = threading.local()


class _Unchanged:
    """The default of the setters: the setting stays as it is."""

    def __repr__(self):
        return "<unchanged>"


_UNCHANGED = _Unchanged()


def _settings():
    # The calling thread's settings, made from the defaults on first use.
    if not hasattr(_local, "settings"):
        _local.settings = dict(_DEFAULTS)
    return _local.settings


def get_config():
    """skbn's settings, in the calling thread.

    Returns
    -------
    config : dict
        A copy of ``{"n_threads": ...}`` (see :func:`set_config`).

    Examples
    --------
    >>> import skbn
    >>> skbn.get_config()
    {'n_threads': None}
    """
    return dict(_settings())


def set_config(*, n_threads=_UNCHANGED):
    """Change skbn's settings, in the calling thread.

    skbn shares the row blocks of a large dense NumPy array among threads of
    its own in ``fit``, ``partial_fit`` and ``transform`` (:ref:`threads`).
    The setting is the calling thread's, as scikit-learn's are: a thread
    started afterwards starts with the default.

    Parameters
    ----------
    n_threads : int or None, optional
        How many threads skbn may use; 1 runs all the work on the calling
        thread and starts no thread. None (the initial setting) takes the
        first of: the ``OMP_NUM_THREADS`` environment variable (the first
        number of a list such as ``"4,2"``; read at each call, since
        joblib's process workers and Dask's worker processes set it), the
        number of CPUs the process may use (CPU affinity and cgroup quotas
        honoured, as by ``joblib.cpu_count``). Left out: unchanged. The
        result of a fit does not depend on it.

    Raises
    ------
    ValueError
        If ``n_threads`` is neither a positive integer nor None.

    See Also
    --------
    config_context : Change a setting within a ``with`` block.

    Notes
    -----
    threadpoolctl limits native libraries (BLAS, OpenMP), which it finds by
    their shared objects, and cannot see a pool of Python threads, hence a
    setting of skbn's own; the limits that joblib's process workers and
    Dask's worker processes impose reach it through ``OMP_NUM_THREADS``.

    Examples
    --------
    >>> import skbn
    >>> skbn.set_config(n_threads=2)
    >>> skbn.get_config()["n_threads"]
    2
    >>> skbn.set_config(n_threads=None)  # back to the default
    """
    if n_threads is not _UNCHANGED:
        _settings()["n_threads"] = _checked_n_threads(n_threads)


@contextmanager
def config_context(*, n_threads=_UNCHANGED):
    """Change skbn's settings within a ``with`` block, in the calling thread.

    The settings of :func:`set_config`, restored when the block ends,
    however it ends; a thread started inside the block starts with the
    default, as with scikit-learn's ``config_context``.

    Parameters
    ----------
    n_threads : int or None, optional
        How many threads skbn may use within the block (see
        :func:`set_config`). Left out: unchanged.

    Yields
    ------
    None

    See Also
    --------
    set_config : Change a setting until changed again.

    Examples
    --------
    >>> import numpy as np
    >>> import skbn
    >>> from skbn import BatchStandardizer
    >>> X = np.random.default_rng(0).normal(size=(400_000, 8))
    >>> with skbn.config_context(n_threads=1):  # no thread: all on this one
    ...     scaler = BatchStandardizer().fit(X)
    >>> np.array_equal(scaler.var_, BatchStandardizer().fit(X).var_)
    True
    """
    before = get_config()
    set_config(n_threads=n_threads)
    try:
        yield
    finally:
        _settings().update(before)


def _checked_n_threads(n_threads):
    if n_threads is None:
        return None
    if (
        isinstance(n_threads, numbers.Integral)
        and not isinstance(n_threads, bool)
        and n_threads >= 1
    ):
        return int(n_threads)
    raise ValueError(
        f"n_threads must be a positive integer or None, got {n_threads!r}."
    )


def one_blas_thread():
    """A context in which BLAS and LAPACK calls run on one thread."""
    return _blas_threads().limit(limits=1, user_api="blas")


@cache
def _blas_threads():
    return ThreadpoolController()
