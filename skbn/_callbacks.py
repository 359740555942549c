"""scikit-learn's fit callbacks (``sklearn.callback``, scikit-learn 1.9 and later).

Where the installed scikit-learn has them, every skbn estimator takes
``set_callbacks(...)``, as ``StandardScaler`` does: each ``fit``,
``partial_fit`` (and ``partial_fit_transform``) call is one fit task, whose
end hook receives the fitted estimator, and a fit that loops over batches
(``BatchStandardizer(batch_size=...)``) reports one subtask per batch, so
that ``sklearn.callback.ProgressBar()`` shows its progress. Where it does not
(scikit-learn 1.6 to 1.8), ``CallbackSupportMixin`` adds nothing and there is
nothing to report.
"""

import functools
from contextlib import contextmanager

import numpy as np

try:
    from sklearn.callback import CallbackSupportMixin, with_callbacks
except ImportError:  # scikit-learn before 1.9: no callbacks

    class CallbackSupportMixin:
        """This scikit-learn has no callbacks to support."""

    with_callbacks = None


def fit_task(subtasks=None):
    """Decorate a fitting method ``(self, X, y=None, sample_weight=None)``:
    each call is one fit task, reported to the estimator's callbacks.

    ``subtasks(self, X)``, if given, is the number of batch subtasks the call
    will report (:func:`batch_task`); 0 for none. Where nothing listens (no
    callback set on the estimator nor propagated to it by a meta-estimator,
    or no callbacks in this scikit-learn) the method runs as it is: setting
    up a task costs a few microseconds, which a ``partial_fit`` on a small
    batch should not pay for nothing.
    """

    def decorate(method):
        @functools.wraps(method)
        def wrapper(self, X, y=None, sample_weight=None, **kwargs):
            if not _listened_to(self):
                return method(self, X, y, sample_weight, **kwargs)
            n_subtasks = 0 if subtasks is None else subtasks(self, X)
            return _reported(self, method, n_subtasks, X, y, sample_weight, kwargs)

        return wrapper

    return decorate


def _listened_to(estimator):
    return with_callbacks is not None and (
        getattr(estimator, "_skl_callbacks", None)
        or hasattr(estimator, "_parent_callback_ctx")
    )


def _report(estimator, method, n_subtasks, X, y, sample_weight, kwargs):
    context = estimator._init_callback_context(max_subtasks=n_subtasks)
    metadata = {"sample_weight": sample_weight}
    context.call_on_fit_task_begin(estimator=estimator, X=X, y=y, metadata=metadata)
    result = method(estimator, X, y, sample_weight, **kwargs)
    # An empty dict: the estimator itself, as it is now, is the fitted one.
    context.call_on_fit_task_end(
        estimator=estimator,
        X=X,
        y=y,
        metadata=metadata,
        reconstruction_attributes={},
    )
    return result


# The callbacks are torn down whether the task ends or raises.
_reported = _report if with_callbacks is None else with_callbacks(_report)


@contextmanager
def batch_task(estimator, X, sample_weight):
    """Report the block as the next batch subtask of the running fit task
    (nothing, where the task has no subtasks or nothing listens)."""
    context = getattr(estimator, "_callback_fit_ctx", None)
    if context is None or not context.max_subtasks:
        yield
        return
    subtask = context.subcontext(task_name="batch")
    metadata = {"sample_weight": sample_weight}
    subtask.call_on_fit_task_begin(estimator=estimator, X=X, metadata=metadata)
    yield
    subtask.call_on_fit_task_end(
        estimator=estimator, X=X, metadata=metadata, reconstruction_attributes={}
    )


def n_rows(X):
    """The number of rows of an X not validated yet, to count its batches.

    0 for what has no rows (a scalar, say): validation refuses it anyway.
    """
    try:
        # An array of any library, or a frame, has a shape; a list does not.
        return X.shape[0] if hasattr(X, "shape") else np.shape(X)[0]
    except (IndexError, TypeError, ValueError):
        return 0
