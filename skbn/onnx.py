"""Export skbn estimators to ONNX through skl2onnx.

``import skbn`` does not import this module; skl2onnx is imported only by
:func:`register` and the converters it registers.
"""

import numpy as np

from . import (
    BatchStandardizer,
    MinMaxNormalizer,
    RobustStandardizer,
    SVDWhitener,
    ZScoreOutlierDetector,
)

__all__ = ["register"]


def register():
    """Register skl2onnx converters for every skbn estimator.

    After this call ``skl2onnx.to_onnx`` converts :class:`~skbn.BatchStandardizer`,
    :class:`~skbn.MinMaxNormalizer`, :class:`~skbn.RobustStandardizer`,
    :class:`~skbn.SVDWhitener` and :class:`~skbn.ZScoreOutlierDetector`,
    alone or inside any pipeline.
    Calling it again is harmless.

    The graph computes in the dtype of its input, float32 or float64, with
    the fitted values rounded to that dtype. Float64 graphs reproduce
    ``transform`` to rounding (bit for bit for the scalers). Float32 graphs
    stay close to float32 rounding also for data far from zero, because the
    mean (the median, for :class:`~skbn.RobustStandardizer`) is subtracted
    as the sum of two float32 numbers (a single rounded mean of
    ``1e4 + N(0, 0.1)`` data would cost about 1e-4 in the z-scores).
    NaN stays NaN, as in ``transform``.

    :class:`~skbn.ZScoreOutlierDetector` has two outputs, as skl2onnx gives
    its own outlier detectors: ``label`` (int64, shape (n_samples, 1), the
    labels of ``predict``) and ``scores`` (shape (n_samples, 1), the values
    of ``decision_function``).

    Raises
    ------
    ImportError
        If skl2onnx is not installed.

    See Also
    --------
    skl2onnx.to_onnx : Converts an estimator or a pipeline once registered.

    Examples
    --------
    >>> import pytest
    >>> onnxruntime = pytest.importorskip("onnxruntime")
    >>> skl2onnx = pytest.importorskip("skl2onnx")
    >>> import numpy as np
    >>> from skbn import BatchStandardizer
    >>> import skbn.onnx
    >>> skbn.onnx.register()
    >>> X = np.array([[1.0, 10.0], [3.0, 30.0], [5.0, np.nan]], dtype=np.float32)
    >>> scaler = BatchStandardizer().fit(X)
    >>> model = skl2onnx.to_onnx(scaler, X[:1])
    >>> session = onnxruntime.InferenceSession(
    ...     model.SerializeToString(), providers=["CPUExecutionProvider"]
    ... )
    >>> session.run(None, {"X": X})[0]
    array([[-1.2247449, -1.       ],
           [ 0.       ,  1.       ],
           [ 1.2247449,        nan]], dtype=float32)
    """
    try:
        from skl2onnx import update_registered_converter
    except ImportError as error:
        raise ImportError(
            "skbn.onnx.register needs skl2onnx: pip install skl2onnx onnxruntime"
        ) from error
    for estimator, convert in _CONVERTERS.items():
        detector = estimator is ZScoreOutlierDetector
        # update_registered_converter overwrites, hence idempotence.
        update_registered_converter(
            estimator,
            _alias(estimator),
            _detector_shapes if detector else _transformer_shapes,
            convert,
            parser=_parse_detector if detector else None,
        )


def _alias(estimator):
    return f"Skbn{estimator.__name__}"


def _float_dtype(variable):
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    kinds = {FloatTensorType: np.float32, DoubleTensorType: np.float64}
    if type(variable.type) not in kinds:
        raise NotImplementedError(
            f"skbn converters take float or double tensors, not {variable.type}; "
            "cast the input to float32 or float64."
        )
    return kinds[type(variable.type)]


def _transformer_shapes(operator):
    _float_dtype(operator.inputs[0])
    estimator = operator.raw_operator
    width = (
        estimator.whitening_matrix_.shape[1]
        if isinstance(estimator, SVDWhitener)
        else estimator.n_features_in_
    )
    n_rows = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = type(operator.inputs[0].type)([n_rows, width])


def _detector_shapes(operator):
    from skl2onnx.common.data_types import Int64TensorType

    _float_dtype(operator.inputs[0])
    n_rows = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = Int64TensorType([n_rows, 1])
    operator.outputs[1].type = type(operator.inputs[0].type)([n_rows, 1])


def _parse_detector(scope, model, inputs, custom_parsers=None):
    from skl2onnx.common.data_types import Int64TensorType

    operator = scope.declare_local_operator(_alias(type(model)), model)
    operator.inputs = inputs
    operator.outputs.append(scope.declare_local_variable("label", Int64TensorType()))
    operator.outputs.append(
        scope.declare_local_variable("scores", type(inputs[0].type)())
    )
    return operator.outputs


def _centered(X, mean, dtype, opv):
    """``X - mean`` in ``dtype``, the mean subtracted as ``hi`` then ``lo``.

    ``hi`` is the mean rounded to ``dtype`` and ``lo`` the rest: data near
    the mean minus ``hi`` is exact, so float32 data far from zero keeps the
    digits a single rounded mean would cancel.
    """
    from skl2onnx.algebra.onnx_ops import OnnxSub

    hi = mean.astype(dtype)
    lo = (mean - hi).astype(dtype)
    centered = OnnxSub(X, hi, op_version=opv)
    return OnnxSub(centered, lo, op_version=opv) if lo.any() else centered


def _affine(X, shift, factor, offset, dtype, opv, output=None):
    """``(X - shift) * factor + offset``, each step skipped when None.

    With ``output`` (names), the result is written there: through an
    Identity, which onnxruntime removes, since every step may be skipped.
    """
    from skl2onnx.algebra.onnx_ops import OnnxAdd, OnnxIdentity, OnnxMul

    Y = X if shift is None else _centered(X, shift, dtype, opv)
    if factor is not None:
        Y = OnnxMul(Y, factor.astype(dtype), op_version=opv)
    if offset is not None:
        Y = OnnxAdd(Y, np.asarray(offset, dtype=dtype), op_version=opv)
    if output is None:
        return Y
    return OnnxIdentity(Y, op_version=opv, output_names=output)


def _convert_scaler(scope, operator, container):
    """BatchStandardizer and RobustStandardizer: the skeleton's affine map.

    Each step is skipped where its parameter is None (``with_mean=False``,
    ``with_centering=False``, ``with_scaling=False``; a RobustStandardizer
    with neither is the identity).
    """
    X = operator.inputs[0]
    estimator = operator.raw_operator
    # The parameters of transform itself: gamma / scale_ is one factor there
    # (RobustStandardizer's is 1 / scale_ as its fit computes it: from
    # halves where the range overflows), so the float64 graph rounds as
    # transform does. Reading them derives them after partial_fit.
    _affine(
        X,
        estimator._shift,
        estimator._factor,
        estimator._offset,
        _float_dtype(X),
        container.target_opset,
        operator.outputs[:1],
    ).add_to(scope, container)


def _convert_minmax(scope, operator, container):
    from skl2onnx.algebra.onnx_ops import OnnxClip

    X = operator.inputs[0]
    estimator = operator.raw_operator
    dtype, opv = _float_dtype(X), container.target_opset
    if not estimator.clip:
        _affine(
            X, None, estimator.scale_, estimator.min_, dtype, opv, operator.outputs[:1]
        ).add_to(scope, container)
        return
    scaled = _affine(X, None, estimator.scale_, estimator.min_, dtype, opv)
    low, high = (np.asarray(end, dtype=dtype) for end in estimator.feature_range)
    # Clip keeps NaN, as np.clip does.
    OnnxClip(
        scaled, low, high, op_version=opv, output_names=operator.outputs[:1]
    ).add_to(scope, container)


def _convert_whitener(scope, operator, container):
    from skl2onnx.algebra.onnx_ops import OnnxMatMul

    X = operator.inputs[0]
    estimator = operator.raw_operator
    dtype, opv = _float_dtype(X), container.target_opset
    # Not Gemm with the mean folded into its bias: that cancels for data far
    # from zero (see skbn._affine).
    OnnxMatMul(
        _centered(X, estimator.mean_, dtype, opv),
        estimator.whitening_matrix_.astype(dtype),
        op_version=opv,
        output_names=operator.outputs[:1],
    ).add_to(scope, container)


def _convert_detector(scope, operator, container):
    from skl2onnx.algebra.onnx_ops import (
        OnnxAbs,
        OnnxIsNaN,
        OnnxLess,
        OnnxReduceMaxApi18,
        OnnxSub,
        OnnxWhere,
    )

    X = operator.inputs[0]
    estimator = operator.raw_operator
    dtype, opv = _float_dtype(X), container.target_opset
    z = _affine(X, estimator.mean_, 1.0 / estimator.scale_, None, dtype, opv)
    distance = OnnxAbs(z, op_version=opv)
    # ReduceMax's NaN handling differs between dtypes in onnxruntime; a
    # missing value counts as 0, so a row of NaN scores the threshold.
    distance = OnnxWhere(
        OnnxIsNaN(distance, op_version=opv),
        np.zeros(1, dtype=dtype),
        distance,
        op_version=opv,
    )
    largest = OnnxReduceMaxApi18(distance, axes=[1], keepdims=1, op_version=opv)
    # threshold - max |z|, as decision_function rounds it.
    scores = OnnxSub(
        np.asarray([-estimator.offset_], dtype=dtype),
        largest,
        op_version=opv,
        output_names=operator.outputs[1:2],
    )
    OnnxWhere(
        OnnxLess(scores, np.zeros(1, dtype=dtype), op_version=opv),
        np.array([-1], dtype=np.int64),
        np.array([1], dtype=np.int64),
        op_version=opv,
        output_names=operator.outputs[:1],
    ).add_to(scope, container)


_CONVERTERS = {
    BatchStandardizer: _convert_scaler,
    MinMaxNormalizer: _convert_minmax,
    RobustStandardizer: _convert_scaler,
    SVDWhitener: _convert_whitener,
    ZScoreOutlierDetector: _convert_detector,
}
