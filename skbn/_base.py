"""The estimator skeleton: what every skbn estimator does the same way.

An estimator is its statistic, its derivation and its docstrings: it supplies
``_statistic`` (a class of :mod:`skbn._stats`), ``_check_params()``,
``_accumulate(backend, X, sample_weight, state, params)`` (the batch's
statistic merged into ``state``, None at first) and ``_derive(state, params)``
(the fitted attributes; a transformer's include its map ``_shift``,
``_factor``, ``_offset`` unless it overrides ``_forward`` and ``_backward``).
The base owns the rest: ``fit`` = forget + merge, ``partial_fit``, rollback,
the backend chosen once per call (:mod:`skbn._backend`), validation,
publishing, transforms and persistence. Only fitting methods write to an
estimator. See the developer guide (docs/developer.rst).
"""

import threading

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

from ._backend import backend_for
from ._callbacks import CallbackSupportMixin, batch_task, fit_task, n_rows
from ._validation import check_fitted, kept_dtypes, rollback_on_error


class BatchEstimator(CallbackSupportMixin, BaseEstimator):
    """A statistic merged batch by batch, and what is derived from it."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.array_api_support = True  # every backend of skbn._backend
        tags.input_tags.allow_nan = self._fit_options(False).get("allow_nan", True)
        return tags

    def __getstate__(self):
        # The statistic as a plain dict: persisting the estimator (skops)
        # then asks to trust nothing but its class.
        state = dict(super().__getstate__())  # (it may be __dict__ itself)
        if "_statistics" in state:
            state["_statistics"] = state["_statistics"].as_dict()
        return state

    def __setstate__(self, state):
        if "_statistics" in state:
            statistic = self._statistic.from_dict(state["_statistics"])
            state = {**state, "_statistics": statistic}
        super().__setstate__(state)

    def _fit_options(self, weighted):
        """How a fitting batch is validated (``validate_batch``'s options).

        By default NaN is allowed, and the statistic's own pass over X finds
        infinity unless weights (a row of weight 0) could hide it.
        """
        return {"finite_checked_by_caller": not weighted}

    def _fit_batches(self, n_samples, params):
        """The row slices ``fit`` merges one after the other: all rows."""
        return [slice(0, n_samples)]

    def _n_subtasks(self, X):
        """How many batches ``fit`` reports to callbacks: 0 for one batch."""
        n_batches = len(self._fit_batches(n_rows(X), self._check_params()))
        return n_batches if n_batches > 1 else 0

    @fit_task(subtasks=lambda self, X: self._n_subtasks(X))
    def fit(self, X, y=None, sample_weight=None):
        """Fit on X, forgetting any earlier fit.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The data (sparse CSR/CSC where the estimator says so).

        y : None
            Ignored.

        sample_weight : array-like of shape (n_samples,), default=None
            Frequency weights of the samples.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        params = self._check_params()
        backend = backend_for(X)
        with rollback_on_error(self):
            vars(self).pop("_statistics", None)
            X, sample_weight = self._validated(backend, X, sample_weight, reset=True)
            batches = self._fit_batches(X.shape[0], params)
            for rows in batches:
                batch = X if len(batches) == 1 else X[rows, ...]
                weight = None if sample_weight is None else sample_weight[rows]
                with batch_task(self, batch, weight):
                    self._merge(backend, batch, weight, params)
            self._finish_fit()
        return self

    def _finish_fit(self):
        """What ``fit`` does once every batch is merged: nothing here (the
        whitener derives its map, which ``partial_fit`` leaves to first use)."""

    @fit_task()
    def partial_fit(self, X, y=None, sample_weight=None):
        """Merge one batch of samples into the fit.

        The first call starts it; later calls merge each batch in.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            A batch of data (sparse CSR/CSC where the estimator says so).

        y : None
            Ignored.

        sample_weight : array-like of shape (n_samples,), default=None
            Frequency weights of the samples.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._partial_fit(X, sample_weight)
        return self

    def _partial_fit(self, X, sample_weight, copy=None):
        """Merge one batch; return the backend, the validated batch and the
        new statistic. ``copy``: as for a transform of the batch."""
        params = self._check_params()
        started = "_statistics" in vars(self)
        backend = backend_for(X, self if started else None, "partial_fit")
        with rollback_on_error(self):
            X, weight = self._validated(
                backend, X, sample_weight, reset=not started, copy=copy
            )
            state = self._merge(backend, X, weight, params)
        return backend, X, state

    def _validated(self, backend, X, sample_weight, *, reset, copy=None):
        options = self._fit_options(sample_weight is not None)
        X = backend.validate(self, X, reset=reset, copy=copy, **options)
        return X, backend.weights(sample_weight, X)

    def _merge(self, backend, X, sample_weight, params):
        """Merge a validated batch into the statistic, derive, publish."""
        previous = vars(self).get("_statistics")
        state = self._accumulate(backend, X, sample_weight, previous, params)
        self._statistics = state
        vars(self).update(backend.publish(self._derive(state, params)))
        self._fitted_on = backend.where
        return state

    def _rows(self, call, method, X, n_outputs, n_inputs=None, **kwargs):
        """``method(self, backend, X, **kwargs)``, a map of X's rows in the
        public method ``call``, by X's backend (lazily, for Dask)."""
        check_fitted(self)
        return backend_for(X, self, call).rows(
            self,
            method,
            X,
            n_inputs=self.n_features_in_ if n_inputs is None else n_inputs,
            n_outputs=n_outputs,
            **kwargs,
        )


class BatchTransformer(TransformerMixin, BatchEstimator):
    """A BatchEstimator that transforms X by its fitted map, both ways."""

    #: How X is validated for a transform, besides the defaults.
    _transform_options = {}
    #: ``(low, high)`` to clip the output of ``transform`` to, or None.
    _clip = None

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = [
            np.dtype(dtype).name for dtype in kept_dtypes(self)
        ]
        return tags

    def transform(self, X, copy=None):
        """Transform X by the fitted map.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The data to transform.

        copy : bool, default=None
            Copy X (the default ``None`` follows the ``copy`` parameter).

        Returns
        -------
        X_tr : {ndarray, sparse matrix} of shape (n_samples, n_features_out)
            Transformed data.
        """
        check_fitted(self)
        return backend_for(X, self, "transform").rows(
            self,
            type(self)._forward,
            X,
            n_inputs=self.n_features_in_,
            n_outputs=self._n_outputs,
            copy=self.copy if copy is None else copy,
        )

    def inverse_transform(self, X, copy=None):
        """Map transformed data back to the original space.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features_out)
            Transformed data.

        copy : bool, default=None
            Copy X (the default ``None`` follows the ``copy`` parameter).

        Returns
        -------
        X_original : {ndarray, sparse matrix} of shape (n_samples, n_features)
            Data in the original space.
        """
        check_fitted(self)
        return backend_for(X, self, "inverse_transform").rows(
            self,
            type(self)._backward,
            X,
            n_inputs=self._n_outputs,
            n_outputs=self.n_features_in_,
            copy=self.copy if copy is None else copy,
        )

    @property
    def _n_outputs(self):
        return self.n_features_in_

    def _forward(self, backend, X, copy):
        # Copying, the map's own pass looks for infinity (see
        # skbn._affine.affine); in place, validation must, before X
        # is touched.
        X_valid = backend.validate(
            self,
            X,
            reset=False,
            copy=copy,
            finite_checked_by_caller=copy,
            **self._transform_options,
        )
        return backend.affine(
            X_valid,
            shift=self._shift,
            factor=self._factor,
            offset=self._offset,
            out=backend.output(X, X_valid, copy=copy),
            clip=self._clip,
            refuse_infinity=copy,
        )

    def _backward(self, backend, X, copy):
        X_valid = backend.validate(
            self,
            X,
            reset=False,
            copy=copy,
            inverse_of=self._n_outputs,
            **self._transform_options,
        )
        return backend.affine(
            X_valid,
            shift=self._shift,
            factor=self._factor,
            offset=self._offset,
            out=backend.output(X, X_valid, copy=copy),
            inverse=True,
        )


class DerivedOnUse:
    """A BatchEstimator mixin: attributes derived from the statistic on first
    use after ``partial_fit``, where deriving costs more than merging.

    A subclass lists them in ``_derived_on_use``, computes them (as arrays of
    the fit's backend) in ``_derive_on_use()`` and adds ``self._deferred()``
    to what its ``_derive`` returns. ``fit`` derives them at once, so that
    it, not a later transform, raises or warns; after ``partial_fit`` they
    live in a ``_Derivation`` that the fitting call creates, filled once,
    under a lock, by whichever thread reads one first. A later fitting call
    replaces the object instead of changing it: only fitting methods write
    to an estimator.
    """

    _derived_on_use = ()

    def _deferred(self):
        for name in self._derived_on_use:  # those of the earlier state, if fit set them
            vars(self).pop(name, None)
        return {"_derivation": _Derivation()}

    def _finish_fit(self):
        # Derived now: fit raises or warns, not a later transform.
        vars(self).update(self._derivation.get(self))

    def __getattr__(self, name):
        # Only for attributes not set: derived on first use.
        if name in type(self)._derived_on_use and "_derivation" in self.__dict__:
            return self._derivation.get(self)[name]
        raise AttributeError(name)

    def __getstate__(self):
        # The derived values as a plain dict (or None, not derived yet):
        # skops then asks to trust nothing but the estimator's class.
        state = super().__getstate__()
        if "_derivation" in state:
            state["_derivation"] = state["_derivation"].derived
        return state

    def __setstate__(self, state):
        if "_derivation" in state:
            state = {**state, "_derivation": _Derivation(state["_derivation"])}
        super().__setstate__(state)


class _Derivation:
    """What one fitting call's statistic derives, on first use, once,
    whichever thread asks first."""

    def __init__(self, derived=None):
        self.derived = derived

    def get(self, estimator):
        if self.derived is None:
            with _DERIVING:
                if self.derived is None:  # (another thread may have derived it)
                    self.derived = estimator._derive_on_use()
        return self.derived


# Derivations are rare and short: one lock for all of them.
_DERIVING = threading.Lock()
