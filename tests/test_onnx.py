"""ONNX export: onnxruntime on the converted graph equals the estimator.

The reference is each estimator's own numpy output (tested against
independent references elsewhere): the claim here is "ONNX equals
transform / decision_function / predict".
"""

import subprocess
import sys

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from skbn import (
    BatchStandardizer,
    MinMaxNormalizer,
    RobustStandardizer,
    SVDWhitener,
    ZScoreOutlierDetector,
)
from tests.helpers import COMPLIANCE_ESTIMATORS

skl2onnx = pytest.importorskip("skl2onnx")
onnxruntime = pytest.importorskip("onnxruntime")
skbn_onnx = pytest.importorskip("skbn.onnx")

# float32 graphs compute in float32, transform in float64 then rounds.
TOLERANCE = {np.float32: 1e-4, np.float64: 1e-10}
NAN_TOLERANT = (
    BatchStandardizer,
    MinMaxNormalizer,
    RobustStandardizer,
    ZScoreOutlierDetector,
)


@pytest.fixture(autouse=True, scope="module")
def registered():
    skbn_onnx.register()


def far_from_zero(rng, n_samples=400):
    """Correlated features far from zero, with scales from 0.1 to 100."""
    mixing = rng.normal(size=(4, 4)) + 2 * np.eye(4)
    X = rng.normal(size=(n_samples, 4)) @ mixing
    return X * [1.0, 10.0, 100.0, 0.1] + [1e3, -5e3, 2e4, 50.0]


def run(model, X, options=None):
    """Convert ``model`` on X's dtype and run it in onnxruntime."""
    onx = skl2onnx.to_onnx(model, X[:1], options=options)
    session = onnxruntime.InferenceSession(
        onx.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return session.run(None, {session.get_inputs()[0].name: X})


def with_nan(X, rng):
    X = X.copy()
    X[rng.random(X.shape) < 0.1] = np.nan
    X[3] = np.nan
    return X


def assert_close(actual, expected, dtype):
    assert actual.dtype == dtype
    tol = TOLERANCE[dtype]
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("estimator", COMPLIANCE_ESTIMATORS, ids=repr)
def test_compliance_settings(estimator, dtype, rng):
    X_fit = far_from_zero(rng)
    estimator = clone(estimator).fit(X_fit)
    X = (far_from_zero(rng, 200) * 1.05).astype(dtype)
    if isinstance(estimator, NAN_TOLERANT):
        X = with_nan(X, rng)

    outputs = run(estimator, X)

    if isinstance(estimator, ZScoreOutlierDetector):
        label, scores = outputs
        decision = estimator.decision_function(X)
        assert label.shape == scores.shape == (X.shape[0], 1)
        assert label.dtype == np.int64
        assert_close(scores[:, 0], decision, dtype)
        # float32 rounding may flip a row that is on the threshold.
        clear = np.abs(decision) > TOLERANCE[dtype]
        np.testing.assert_array_equal(label[clear, 0], estimator.predict(X)[clear])
        assert scores[3, 0] == estimator.threshold  # no observed feature
        assert (label[:, 0] == -1).any() and (label[:, 0] == 1).any()
    else:
        (Y,) = outputs
        expected = estimator.transform(X)
        assert Y.shape == expected.shape
        assert_close(Y, expected, dtype)
        if isinstance(estimator, NAN_TOLERANT):
            np.testing.assert_array_equal(np.isnan(Y), np.isnan(X))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "params",
    [
        {"gamma": [0.5, 2.0, -1.0, 3.0], "beta": [1.0, -2.0, 0.0, 10.0]},
        {"gamma": 2.0, "beta": [1.0, -2.0, 0.0, 10.0], "with_std": False},
        {"gamma": [0.5, 2.0, -1.0, 3.0], "beta": 1.0, "with_mean": False},
    ],
)
def test_standardizer_gamma_beta(params, dtype, rng):
    X_fit = far_from_zero(rng)
    scaler = BatchStandardizer(**params).fit(X_fit)
    X = with_nan(far_from_zero(rng, 100).astype(dtype), rng)
    (Y,) = run(scaler, X)
    assert_close(Y, scaler.transform(X), dtype)
    # Written out: gamma * (x - mean_) / scale_ + beta.
    mean = scaler.mean_ if scaler.with_mean else 0.0
    expected = np.asarray(params["gamma"]) * (X - mean) / scaler.scale_ + params["beta"]
    assert_close(Y, expected.astype(dtype), dtype)


def robust_formula(scaler, X):
    """RobustStandardizer's map written out in float64: (x - center_) / scale_."""
    center = 0.0 if scaler.center_ is None else scaler.center_
    scale = 1.0 if scaler.scale_ is None else scaler.scale_
    return (X.astype(np.float64) - center) / scale


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"with_centering": False},
        {"with_scaling": False},
        {"with_centering": False, "with_scaling": False},
        {"quantile_range": (10.0, 90.0), "unit_variance": True},
    ],
    ids=repr,
)
def test_robust_standardizer_settings(params, dtype, rng):
    X_fit = with_nan(far_from_zero(rng), rng)
    X_fit[:5] *= 100.0  # outliers, which the median and quantiles ignore
    scaler = RobustStandardizer(**params).fit(X_fit)
    assert (scaler.center_ is None) == (params.get("with_centering") is False)
    assert (scaler.scale_ is None) == (params.get("with_scaling") is False)
    X = with_nan(far_from_zero(rng, 200).astype(dtype), rng)

    (Y,) = run(scaler, X)

    assert Y.shape == X.shape
    np.testing.assert_array_equal(np.isnan(Y), np.isnan(X))
    assert_close(Y, robust_formula(scaler, X).astype(dtype), dtype)
    if dtype == np.float64:
        # The steps and values of transform: the same roundings.
        np.testing.assert_array_equal(Y, scaler.transform(X))
    else:
        assert_close(Y, scaler.transform(X), dtype)


@pytest.mark.parametrize("with_scaling", [True, False])
def test_robust_standardizer_float32_far_from_zero(with_scaling, rng):
    # 1e4 + N(0, 0.1): float32 keeps only about 3 digits of x - median.
    offsets = np.array([1e4, -2e4, 5e3])
    X_fit = offsets + 0.1 * rng.normal(size=(400, 3))
    scaler = RobustStandardizer(with_scaling=with_scaling).fit(X_fit)
    X = (offsets + 0.1 * rng.normal(size=(300, 3))).astype(np.float32)
    expected = robust_formula(scaler, X)  # from the float32 values, in float64

    (Y,) = run(scaler, X)

    assert Y.dtype == np.float32
    # Float32 rounding of the output, not of the median (as transform does).
    tol = 1e-6 * np.abs(expected).max()
    assert np.abs(Y - expected).max() < tol
    assert np.abs(scaler.transform(X) - expected).max() < tol
    # Where a median rounded once to float32 would be off by up to 5e-4,
    # divided by an interquartile range near 0.13.
    factor = np.float32(1.0) if scaler.scale_ is None else 1.0 / scaler.scale_
    naive = (X - scaler.center_.astype(np.float32)) * np.float32(factor)
    assert np.abs(naive - expected).max() > 10 * tol


def test_robust_standardizer_streamed(rng):
    # Past 2 * 512 rows, rank_error=0.1's sketch summarizes: the quantiles
    # are approximate, and the graph carries those of the estimator.
    X_fit = far_from_zero(rng, 3000)
    scaler = RobustStandardizer(rank_error=0.1)
    for batch in np.array_split(X_fit, 10):
        scaler.partial_fit(batch)
    X = with_nan(far_from_zero(rng, 200), rng)

    (Y,) = run(scaler, X)  # the converter reads the map before anything else

    assert (scaler.rank_error_ > 0).all()
    np.testing.assert_array_equal(Y, scaler.transform(X))
    assert_close(Y, robust_formula(scaler, X), np.float64)


def test_robust_standardizer_range_beyond_float64(rng):
    # An interquartile range beyond float64's largest value: scale_ is
    # infinite, the factor that transform multiplies by is not.
    signs = np.repeat([-1.0, 1.0], 20)[:, None]
    scaler = RobustStandardizer().fit(signs * rng.uniform(1.2, 1.5, (40, 2)) * 1e308)
    assert np.isinf(scaler.scale_).all()
    X = rng.uniform(-1.0, 1.0, size=(30, 2)) * 1e308

    (Y,) = run(scaler, X)

    np.testing.assert_array_equal(Y, scaler.transform(X))
    halves = scaler.quantiles_[2] / 2 - scaler.quantiles_[0] / 2
    assert_close(Y, (X - scaler.center_) / halves / 2, np.float64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_minmax_clip_out_of_range(dtype, rng):
    X_fit = far_from_zero(rng)
    scaler = MinMaxNormalizer(feature_range=(-1, 2), clip=True).fit(X_fit)
    centre = (scaler.data_min_ + scaler.data_max_) / 2
    half = (scaler.data_max_ - scaler.data_min_) / 2
    X = (centre + half * rng.uniform(-3, 3, size=(300, 4))).astype(dtype)
    X[0, 1] = np.nan
    (Y,) = run(scaler, X)
    assert_close(Y, scaler.transform(X), dtype)
    assert np.nanmin(Y) == -1 and np.nanmax(Y) == 2
    assert np.isnan(Y[0, 1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pipeline_with_logistic_regression(dtype, rng):
    X = far_from_zero(rng)
    y = (X[:, 0] - 1e3 + (X[:, 1] + 5e3) / 10 > 0).astype(int)
    pipeline = make_pipeline(
        BatchStandardizer(),
        SVDWhitener(method="pca", n_components=3),
        LogisticRegression(),
    ).fit(X, y)
    X_test = far_from_zero(rng, 300).astype(dtype)
    # ZipMap takes no double probabilities: plain arrays in both dtypes.
    label, probabilities = run(
        pipeline, X_test, options={LogisticRegression: {"zipmap": False}}
    )
    np.testing.assert_array_equal(label, pipeline.predict(X_test))
    np.testing.assert_allclose(
        probabilities, pipeline.predict_proba(X_test), atol=TOLERANCE[dtype]
    )


def test_register_twice_is_harmless(rng):
    X = far_from_zero(rng)
    scaler = BatchStandardizer().fit(X)
    skbn_onnx.register()
    skbn_onnx.register()
    (Y,) = run(scaler, X)
    assert_close(Y, scaler.transform(X), np.float64)


def test_integer_input_is_refused(rng):
    scaler = BatchStandardizer().fit(far_from_zero(rng))
    with pytest.raises(NotImplementedError, match="float32 or float64"):
        skl2onnx.to_onnx(scaler, np.ones((1, 4), dtype=np.int64))


def test_import_skbn_imports_no_onnx_package():
    code = (
        "import sys, skbn, skbn.onnx\n"
        "loaded = {'skl2onnx', 'onnx', 'onnxruntime'} & set(sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
