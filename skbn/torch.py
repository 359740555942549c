"""Fitted skbn transformers as PyTorch modules, and BatchNorm layers as estimators.

:func:`to_module` turns a fitted transformer into a ``torch.nn.Module`` in
eval mode whose forward pass is the transformer's ``transform``: a
:class:`~skbn.BatchStandardizer` becomes a ``BatchNorm1d`` whose running
statistics mean what the standardizer's do, so that training can go on in
PyTorch; a :class:`~skbn.RobustStandardizer` becomes a fixed per-feature
:class:`Affine` map. :func:`from_module` goes the other way, from a trained
``nn.BatchNorm1d`` to a fitted :class:`~skbn.BatchStandardizer`, which
``partial_fit`` can go on updating.

This module needs PyTorch; ``import skbn`` does not import it.
"""

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted
from torch import nn

from ._array_api import estimator_to_numpy
from ._minmax import MinMaxNormalizer
from ._outliers import ZScoreOutlierDetector
from ._robust import RobustStandardizer
from ._standardize import BatchStandardizer, from_running_statistics
from ._whitener import SVDWhitener

__all__ = [
    "Affine",
    "CenteredBatchNorm1d",
    "MinMaxScale",
    "Whiten",
    "from_module",
    "to_module",
]

# Exported modules hold float64 values, the precision the statistics were
# accumulated in; ``.float()`` converts them like any module's.
_DTYPE = torch.float64


class CenteredBatchNorm1d(nn.BatchNorm1d):
    """``nn.BatchNorm1d`` whose eval pass subtracts the mean before scaling.

    PyTorch's own eval pass computes ``x * a + b`` with
    ``a = weight / sqrt(running_var + eps)`` and ``b = bias - running_mean * a``,
    which loses ``log10(|mean| / std)`` digits on data far from zero (about
    1e-11 relative error on ``1e6 + N(0, 1)``). This class computes
    ``(x - running_mean) * a + bias`` instead, as
    :meth:`skbn.BatchStandardizer.transform` does, and so agrees with it to
    rounding at any distance from zero. Everything else (parameters,
    buffers, ``state_dict``, the training pass and its running-statistics
    update) is ``nn.BatchNorm1d``'s own: its ``state_dict`` loads into a
    plain ``nn.BatchNorm1d``, for tools that look for that exact type
    (module fusion, for one).

    :func:`to_module` builds it; see ``nn.BatchNorm1d`` for the parameters.

    Examples
    --------
    >>> import torch
    >>> from skbn.torch import CenteredBatchNorm1d
    >>> bn = CenteredBatchNorm1d(1, dtype=torch.float64).eval()
    >>> bn.running_mean.fill_(1e9)
    tensor([1.0000e+09], dtype=torch.float64)
    >>> bn.running_var.fill_(1.0)
    tensor([1.], dtype=torch.float64)
    >>> bn(torch.tensor([[1e9 + 0.5]], dtype=torch.float64)).item()
    0.49999750...
    """

    def forward(self, input):
        if self.training or self.running_mean is None:
            return super().forward(input)
        self._check_input_dim(input)
        # weight / scale, as BatchStandardizer's factor is gamma / scale_.
        scale = torch.sqrt(self.running_var + self.eps)
        factor = 1.0 / scale if self.weight is None else self.weight / scale
        shift, offset = self.running_mean, self.bias
        if input.dim() == 3:  # (N, C, L): the features are along dimension 1
            shift, factor = shift[:, None], factor[:, None]
            offset = None if offset is None else offset[:, None]
        output = (input - shift) * factor
        return output if offset is None else output + offset


class Affine(nn.Module):
    """Per-feature affine map ``(x - shift) * factor + offset``.

    What :func:`to_module` gives for a :class:`~skbn.RobustStandardizer`
    (``shift = center_``, ``factor = 1 / scale_``, ``offset = 0``), and for
    a :class:`~skbn.BatchStandardizer` that is not a BatchNorm layer
    (``with_mean=False``, ``with_std=False``, or a ``scale_`` no running
    variance can reproduce).

    Parameters
    ----------
    shift, factor, offset : array-like of shape (n_features,)
        The buffers of the same names.

    Examples
    --------
    >>> import torch
    >>> from skbn.torch import Affine
    >>> module = Affine([1.0, 2.0], [0.5, 2.0], [0.0, 1.0])
    >>> module(torch.tensor([[3.0, 3.0]], dtype=torch.float64))
    tensor([[1., 3.]], dtype=torch.float64)
    """

    def __init__(self, shift, factor, offset):
        super().__init__()
        self.register_buffer("shift", _tensor(shift))
        self.register_buffer("factor", _tensor(factor))
        self.register_buffer("offset", _tensor(offset))

    def forward(self, input):
        return (input - self.shift) * self.factor + self.offset


class MinMaxScale(nn.Module):
    """``x * scale + min``, clamped into ``(low, high)`` when those are given.

    The module :func:`to_module` gives for a :class:`~skbn.MinMaxNormalizer`:
    its ``scale_`` and ``min_``, and its ``feature_range`` when ``clip=True``.
    Like ``nn.Hardtanh``'s limits, ``low`` and ``high`` are attributes, not
    buffers.

    Parameters
    ----------
    scale, min : array-like of shape (n_features,)
        The buffers of the same names.
    low, high : float or None, default=None
        Clamp the output into ``[low, high]``; ``None``: no clamp.

    Examples
    --------
    >>> import torch
    >>> from skbn.torch import MinMaxScale
    >>> module = MinMaxScale([0.5], [-1.0], low=-1.0, high=1.0)
    >>> module(torch.tensor([[0.0], [2.0], [9.0]], dtype=torch.float64))
    tensor([[-1.],
            [ 0.],
            [ 1.]], dtype=torch.float64)
    """

    def __init__(self, scale, min, *, low=None, high=None):
        super().__init__()
        self.register_buffer("scale", _tensor(scale))
        self.register_buffer("min", _tensor(min))
        if (low is None) != (high is None):
            raise ValueError("Give both low and high, or neither.")
        self.low = None if low is None else float(low)
        self.high = None if high is None else float(high)

    def forward(self, input):
        output = input * self.scale + self.min
        if self.low is None:
            return output
        return torch.clamp(output, self.low, self.high)

    def extra_repr(self):
        return "" if self.low is None else f"low={self.low}, high={self.high}"


class Whiten(nn.Module):
    """``(x - mean) @ matrix``: the map of a fitted :class:`~skbn.SVDWhitener`.

    Parameters
    ----------
    mean : array-like of shape (n_features,)
        The buffer ``mean``.
    matrix : array-like of shape (n_features, n_components)
        The buffer ``matrix``, the whitener's ``whitening_matrix_``.

    Examples
    --------
    >>> import torch
    >>> from skbn.torch import Whiten
    >>> module = Whiten([1.0, 1.0], [[2.0, 0.0], [0.0, 0.5]])
    >>> module(torch.tensor([[2.0, 3.0]], dtype=torch.float64))
    tensor([[2., 1.]], dtype=torch.float64)
    """

    def __init__(self, mean, matrix):
        super().__init__()
        self.register_buffer("mean", _tensor(mean))
        self.register_buffer("matrix", _tensor(matrix))

    def forward(self, input):
        return (input - self.mean) @ self.matrix


def to_module(estimator):
    """A PyTorch module, in eval mode, whose forward pass is ``transform``.

    The module holds float64 values, and its output equals
    ``estimator.transform`` to rounding (about 1e-15 relative) on float64
    input; call ``.float()`` on it for float32, as for any module.

    ================================== ========================================
    estimator                          module
    ================================== ========================================
    :class:`~skbn.BatchStandardizer`   :class:`CenteredBatchNorm1d` (a
                                       ``nn.BatchNorm1d``), or :class:`Affine`
                                       where no BatchNorm layer is the same
                                       map (see Notes)
    :class:`~skbn.MinMaxNormalizer`    :class:`MinMaxScale`
    :class:`~skbn.RobustStandardizer`  :class:`Affine` (see Notes)
    :class:`~skbn.SVDWhitener`         :class:`Whiten`
    ================================== ========================================

    Parameters
    ----------
    estimator : fitted transformer
        A :class:`~skbn.BatchStandardizer`, :class:`~skbn.MinMaxNormalizer`,
        :class:`~skbn.RobustStandardizer` or :class:`~skbn.SVDWhitener`,
        fitted (on any array namespace: its statistics are copied to host
        memory).

    Returns
    -------
    module : torch.nn.Module
        The module, in eval mode, on the CPU, in float64.

    Raises
    ------
    TypeError
        If ``estimator`` is not one of the transformers above;
        :class:`~skbn.ZScoreOutlierDetector` is an outlier detector, whose
        labels are no transform.
    sklearn.exceptions.NotFittedError
        If ``estimator`` is not fitted (a ValueError).

    See Also
    --------
    from_module : The way back, from ``nn.BatchNorm1d``.

    Notes
    -----
    A :class:`~skbn.BatchStandardizer` becomes
    ``CenteredBatchNorm1d(n_features, eps=eps, momentum=momentum,
    affine=True, track_running_stats=True)``, with ``running_mean = mean_``,
    ``running_var = var_``, ``weight = gamma`` and ``bias = beta`` (both
    broadcast to ``n_features``), ``num_batches_tracked = n_batches_seen_``.
    skbn's ``momentum`` is PyTorch's, and both keep the *unbiased* batch
    variance in the running variance, so one training batch in PyTorch
    (``module.train(); module(batch)``) moves ``running_mean`` and
    ``running_var`` as one more ``partial_fit(batch)`` moves ``mean_`` and
    ``var_``. Two cases differ:

    - ``momentum=None`` (exact cumulative statistics) becomes PyTorch's
      ``momentum=None``, a cumulative *average of batch statistics*
      (each batch counts the same, whatever its size, and its unbiased
      variances are averaged rather than pooled): the eval pass is exact,
      further training in PyTorch follows PyTorch's rule.
    - A constant feature with ``eps=0`` has ``scale_ = 1`` while its
      ``var_`` is 0 (or within rounding of 0): its ``running_var`` is set to
      1, so that the eval pass divides by 1 as ``transform`` does. A later
      training step in PyTorch then starts that feature's running variance
      from 1 rather than from ``var_``: after ``k`` steps the two differ by
      ``(1 - momentum) ** k * (1 - var_)``.

    PyTorch refuses to train a layer with ``eps=0`` (skbn's default): give
    the module a positive ``eps`` before training it.

    No BatchNorm layer is the map, and an :class:`Affine` module with
    ``shift = mean_`` (0 with ``with_mean=False``),
    ``factor = gamma / scale_`` and ``offset = beta`` is returned instead,
    when ``with_mean=False`` (BatchNorm always centers), when
    ``with_std=False`` (BatchNorm always scales), and when ``scale_`` is
    finite where ``var_`` is not (variances beyond float64's range, from
    data near 1e154 and beyond or spreads near 1e-154 and below).

    A :class:`~skbn.RobustStandardizer` becomes an :class:`Affine` module with
    ``shift = center_`` (0 with ``with_centering=False``),
    ``factor = 1 / scale_`` (1 with ``with_scaling=False``; the reciprocal
    ``transform`` multiplies by, which stays finite where an interquantile
    range beyond float64's range makes ``scale_`` infinite) and
    ``offset = 0``. Its quantiles are fixed: no training pass in PyTorch
    updates them.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from skbn import BatchStandardizer
    >>> from skbn.torch import to_module
    >>> X = np.array([[1.0, 10.0], [3.0, 30.0], [5.0, 20.0]])
    >>> scaler = BatchStandardizer(momentum=0.1, eps=1e-5).fit(X)
    >>> bn = to_module(scaler)
    >>> bn
    CenteredBatchNorm1d(2, eps=1e-05, momentum=0.1, affine=True, ...)
    >>> bn.running_mean
    tensor([ 3., 20.], dtype=torch.float64)
    >>> bn.running_var
    tensor([  4., 100.], dtype=torch.float64)
    >>> y = bn(torch.from_numpy(X)).detach().numpy()
    >>> bool(np.abs(y - scaler.transform(X)).max() < 1e-15)
    True

    Training goes on in PyTorch as ``partial_fit`` would go on:

    >>> batch = np.array([[0.0, 0.0], [2.0, 4.0]])
    >>> _ = bn.train()(torch.from_numpy(batch))
    >>> bn.running_mean
    tensor([ 2.8000, 18.2000], dtype=torch.float64)
    >>> scaler.partial_fit(batch).mean_
    array([ 2.8, 18.2])

    A :class:`~skbn.RobustStandardizer` is a fixed affine map:

    >>> from skbn import RobustStandardizer
    >>> robust = RobustStandardizer().fit(X)
    >>> module = to_module(robust)
    >>> module.shift
    tensor([ 3., 20.], dtype=torch.float64)
    >>> module.factor
    tensor([0.5000, 0.1000], dtype=torch.float64)
    >>> y = module(torch.from_numpy(X)).numpy()
    >>> bool((y == robust.transform(X)).all())
    True
    """
    if isinstance(estimator, ZScoreOutlierDetector):
        raise TypeError(
            "ZScoreOutlierDetector is an outlier detector, not a transformer: "
            "to_module exports transforms. To flag outliers in PyTorch, export "
            "a BatchStandardizer fitted with the detector's momentum and test "
            "module(x).abs().amax(dim=1) > threshold."
        )
    transformers = (
        BatchStandardizer,
        MinMaxNormalizer,
        RobustStandardizer,
        SVDWhitener,
    )
    if not isinstance(estimator, transformers):
        raise TypeError(
            "to_module takes a fitted BatchStandardizer, MinMaxNormalizer, "
            f"RobustStandardizer or SVDWhitener; got {type(estimator).__name__}."
        )
    check_is_fitted(estimator)
    estimator = estimator_to_numpy(estimator)
    if isinstance(estimator, BatchStandardizer):
        module = _standardizer_module(estimator)
    elif isinstance(estimator, MinMaxNormalizer):
        low, high = (
            (float(bound) for bound in estimator.feature_range)
            if estimator.clip
            else (None, None)
        )
        module = MinMaxScale(estimator.scale_, estimator.min_, low=low, high=high)
    elif isinstance(estimator, RobustStandardizer):
        module = _robust_module(estimator)
    else:
        module = Whiten(estimator.mean_, estimator.whitening_matrix_)
    return module.eval()


def from_module(module):
    """A fitted :class:`~skbn.BatchStandardizer` from a ``nn.BatchNorm1d``.

    The estimator's ``transform`` is the layer's eval pass, and its
    ``partial_fit`` continues the layer's running statistics as a training
    batch would: ``momentum``, ``eps``, ``gamma = weight``, ``beta = bias``
    (1 and 0 without ``affine``), ``mean_ = running_mean``,
    ``var_ = running_var``, ``scale_ = sqrt(running_var + eps)`` and
    ``n_batches_seen_ = num_batches_tracked``, in float64.

    Parameters
    ----------
    module : torch.nn.BatchNorm1d
        A BatchNorm layer that tracks running statistics (on any device, of
        any float dtype).

    Returns
    -------
    estimator : BatchStandardizer
        The fitted estimator. The number of samples behind the running
        statistics is unknown to a BatchNorm layer: see
        ``n_samples_seen_`` of the estimator for what it holds.

    Raises
    ------
    TypeError
        If ``module`` is not an ``nn.BatchNorm1d``.
    ValueError
        If ``module`` keeps no running statistics
        (``track_running_stats=False``), is a lazy layer not initialized
        yet, or has a momentum of 0 (or above 1).

    See Also
    --------
    to_module : The way there.

    Notes
    -----
    A layer with ``momentum=None`` (PyTorch's cumulative average of batch
    statistics) gives ``momentum=None``, skbn's exact cumulative statistics:
    the transform is the layer's, but the layer's statistics carry no sample
    count, so they weigh nothing in skbn's pooled statistics and the next
    ``partial_fit`` replaces them by its batch's. Give the layer a momentum
    to continue its statistics.

    Where ``eps`` is 0 and a running variance is 0, the layer divides by
    zero while the estimator, as skbn does for a constant feature, divides
    by 1.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from skbn.torch import from_module
    >>> bn = torch.nn.BatchNorm1d(2, dtype=torch.float64)
    >>> _ = bn(torch.tensor([[1.0, 10.0], [3.0, 30.0]], dtype=torch.float64))
    >>> scaler = from_module(bn)
    >>> scaler
    BatchStandardizer(beta=array([0., 0.]), eps=1e-05, gamma=array([1., 1.]),
                      momentum=0.1)
    >>> scaler.mean_, scaler.var_, scaler.n_batches_seen_
    (array([0.2, 2. ]), array([ 1.1, 20.9]), 1)
    >>> x = torch.tensor([[2.0, 20.0]], dtype=torch.float64)
    >>> bool(np.allclose(scaler.transform(x.numpy()), bn.eval()(x).detach()))
    True
    """
    if isinstance(module, nn.modules.lazy.LazyModuleMixin) and (
        module.has_uninitialized_params()
    ):
        raise ValueError(
            f"{type(module).__name__} has not seen data yet: its number of "
            "features is unknown. Run a batch through it first."
        )
    if not isinstance(module, nn.BatchNorm1d):
        raise TypeError(
            "from_module takes a torch.nn.BatchNorm1d, whose running statistics "
            f"are per feature; got {type(module).__name__}."
        )
    if not module.track_running_stats or module.running_mean is None:
        raise ValueError(
            "from_module needs a BatchNorm1d with track_running_stats=True: "
            "without running statistics the layer normalizes every batch by its "
            "own statistics, and there is nothing to fit an estimator from."
        )

    if module.momentum is not None and not 0.0 < module.momentum <= 1.0:
        raise ValueError(
            f"from_module needs a momentum in (0, 1] or None, got {module.momentum}: "
            "BatchStandardizer's running statistics follow the rule of a layer "
            "whose training batches move them."
        )

    def host(tensor):
        return tensor.detach().to(device="cpu", dtype=_DTYPE).numpy().copy()

    affine = module.weight is not None
    return from_running_statistics(
        mean=host(module.running_mean),
        var=host(module.running_var),
        n_batches_seen=int(module.num_batches_tracked),
        momentum=module.momentum,
        eps=float(module.eps),
        gamma=host(module.weight) if affine else 1.0,
        beta=host(module.bias) if affine else 0.0,
    )


def _standardizer_module(scaler):
    n_features = scaler.n_features_in_
    gamma = _per_feature(scaler.gamma, n_features)
    beta = _per_feature(scaler.beta, n_features)
    mean, var, scale = (
        np.asarray(getattr(scaler, name), dtype=np.float64)
        for name in ("mean_", "var_", "scale_")
    )
    eps = float(scaler.eps)
    running_var = _running_var_for(var, scale, eps)
    if running_var is None or not (scaler.with_mean and scaler.with_std):
        shift = mean if scaler.with_mean else np.zeros(n_features)
        return Affine(shift, gamma / scale, beta)
    bn = CenteredBatchNorm1d(
        n_features,
        eps=eps,
        momentum=None if scaler.momentum is None else float(scaler.momentum),
        affine=True,
        track_running_stats=True,
        dtype=_DTYPE,
    )
    with torch.no_grad():
        bn.running_mean.copy_(_tensor(mean))
        bn.running_var.copy_(_tensor(running_var))
        bn.weight.copy_(_tensor(gamma))
        bn.bias.copy_(_tensor(beta))
        bn.num_batches_tracked.fill_(int(scaler.n_batches_seen_))
    return bn


def _robust_module(scaler):
    n_features = scaler.n_features_in_
    shift = np.zeros(n_features) if scaler.center_ is None else scaler.center_
    # The factor transform multiplies by: 1 / scale_, finite also where
    # scale_ overflows.
    factor = np.ones(n_features) if scaler._factor is None else scaler._factor
    return Affine(shift, factor, np.zeros(n_features))


def _running_var_for(var, scale, eps):
    """The running variance whose ``sqrt(running_var + eps)`` is ``scale``.

    ``var`` where it gives ``scale`` (to rounding), ``scale ** 2 - eps``
    where skbn divides by something else (1, for a constant feature with
    ``eps=0``); None where no float64 variance does (``scale`` finite,
    ``var`` beyond float64's range).
    """
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        agrees = np.isclose(np.sqrt(var + eps), scale, rtol=1e-12, atol=0.0)
        unobserved = np.isnan(var) & np.isnan(scale)
        running_var = np.where(agrees | unobserved, var, scale * scale - eps)
        reproduced = np.isclose(np.sqrt(running_var + eps), scale, rtol=1e-12, atol=0.0)
    if not (reproduced | unobserved).all():
        return None
    return running_var


def _per_feature(value, n_features):
    return np.broadcast_to(np.asarray(value, dtype=np.float64), (n_features,)).copy()


def _tensor(values):
    return torch.tensor(np.asarray(values, dtype=np.float64), dtype=_DTYPE)
