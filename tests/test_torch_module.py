"""skbn.torch: fitted transformers as PyTorch modules, BatchNorm layers as estimators.

References are PyTorch itself and the written-out formulas of the contract.
"""

import subprocess
import sys

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import StandardScaler

torch = pytest.importorskip("torch")

from skbn import (  # noqa: E402
    BatchStandardizer,
    MinMaxNormalizer,
    RobustStandardizer,
    ZScoreOutlierDetector,
)
from skbn.torch import (  # noqa: E402
    Affine,
    CenteredBatchNorm1d,
    MinMaxScale,
    Whiten,
    from_module,
    to_module,
)
from tests.helpers import COMPLIANCE_ESTIMATORS, batchnorm_step  # noqa: E402

TRANSFORMERS = [
    est for est in COMPLIANCE_ESTIMATORS if not isinstance(est, ZScoreOutlierDetector)
]
SCALES = np.array([1e-3, 1.0, 2.5, 1e3, 1e6])


def _data(rng, n_samples, offset):
    """Mixed scales, each feature ``offset`` of its own spreads from zero."""
    signs = np.array([1.0, -1.0, 1.0, -1.0, 1.0])
    normal = rng.normal(size=(n_samples, SCALES.size))
    mixed = normal @ (np.eye(SCALES.size) + 0.3 * rng.normal(size=(5, 5)))
    return (mixed + offset * signs) * SCALES


def _assert_close(actual, expected, tol):
    """Equal to ``tol`` relative to each column's largest value."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape
    np.testing.assert_equal(np.isnan(actual), np.isnan(expected))
    error = np.nanmax(np.abs(actual - expected), axis=0)
    np.testing.assert_array_less(error, tol * np.nanmax(np.abs(expected), axis=0))


def _forward(module, X):
    with torch.no_grad():
        return module(torch.from_numpy(np.ascontiguousarray(X))).numpy()


def _fitted(est, X):
    est = clone(est)
    for batch in np.array_split(X, 3):
        est.partial_fit(batch)
    return est


def _formula(est, X):
    """The transform as the contract writes it, from the fitted attributes."""
    if isinstance(est, BatchStandardizer):
        gamma, beta = np.asarray(est.gamma), np.asarray(est.beta)
        centered = X - est.mean_ if est.with_mean else X
        return gamma * centered / est.scale_ + beta
    if isinstance(est, MinMaxNormalizer):
        # MinMaxScaler's x * scale_ + min_, whose rounding far from zero
        # differs from (x - data_min_) / data_range_ * (hi - lo) + lo.
        y = X * est.scale_ + est.min_
        return np.clip(y, *est.feature_range) if est.clip else y
    if isinstance(est, RobustStandardizer):
        centered = X if est.center_ is None else X - est.center_
        return centered if est.scale_ is None else centered / est.scale_
    return (X - est.mean_) @ est.whitening_matrix_


def _module_type(est):
    if isinstance(est, BatchStandardizer):
        return CenteredBatchNorm1d if est.with_mean and est.with_std else Affine
    if isinstance(est, RobustStandardizer):
        return Affine
    return MinMaxScale if isinstance(est, MinMaxNormalizer) else Whiten


@pytest.mark.parametrize("est", TRANSFORMERS, ids=repr)
def test_forward_equals_transform_far_from_zero(est, rng):
    est = _fitted(est, _data(rng, 600, offset=1e6))
    X = _data(rng, 200, offset=1e6)
    module = to_module(est)
    assert type(module) is _module_type(est)
    assert not module.training
    tensors = [*module.buffers(), *module.parameters()]
    assert all(t.dtype == torch.float64 for t in tensors if t.is_floating_point())
    actual = _forward(module, X)
    _assert_close(actual, est.transform(X), 1e-12)
    _assert_close(actual, _formula(est, X), 1e-12)


@pytest.mark.parametrize("est", TRANSFORMERS, ids=repr)
def test_float_module(est, rng):
    est = _fitted(est, _data(rng, 600, offset=3.0))
    X = _data(rng, 200, offset=3.0).astype(np.float32)
    module = to_module(est).float()
    with torch.no_grad():
        actual = module(torch.from_numpy(X))
    assert actual.dtype == torch.float32
    _assert_close(actual.numpy(), _formula(est, X.astype(np.float64)), 1e-5)


@pytest.mark.parametrize("est", TRANSFORMERS, ids=repr)
def test_torch_export(est, rng):
    est = _fitted(est, _data(rng, 300, offset=3.0))
    module = to_module(est)
    X = torch.from_numpy(_data(rng, 20, offset=3.0))
    exported = torch.export.export(module, (X,))
    with torch.no_grad():
        np.testing.assert_array_equal(exported.module()(X).numpy(), module(X).numpy())


def test_batchnorm_carries_the_state(rng):
    gamma, beta = rng.uniform(0.5, 2.0, 5), rng.normal(size=5)
    est = _fitted(
        BatchStandardizer(momentum=0.3, eps=1e-3, gamma=gamma, beta=beta),
        _data(rng, 90, offset=5.0),
    )
    bn = to_module(est)
    assert isinstance(bn, torch.nn.BatchNorm1d)
    assert (bn.num_features, bn.eps, bn.momentum) == (5, 1e-3, 0.3)
    assert bn.affine and bn.track_running_stats
    np.testing.assert_array_equal(bn.running_mean.numpy(), est.mean_)
    np.testing.assert_array_equal(bn.running_var.numpy(), est.var_)
    np.testing.assert_array_equal(bn.weight.detach().numpy(), gamma)
    np.testing.assert_array_equal(bn.bias.detach().numpy(), beta)
    assert int(bn.num_batches_tracked) == est.n_batches_seen_ == 3
    # Scalar gamma and beta are broadcast to every feature.
    bn = to_module(BatchStandardizer(gamma=2.0, beta=-1.0).fit(np.eye(3)))
    np.testing.assert_array_equal(bn.weight.detach().numpy(), [2.0] * 3)
    np.testing.assert_array_equal(bn.bias.detach().numpy(), [-1.0] * 3)


def test_cumulative_statistics_become_momentum_none(rng):
    est = _fitted(BatchStandardizer(), _data(rng, 90, offset=5.0))
    bn = to_module(est)
    assert bn.momentum is None
    np.testing.assert_array_equal(bn.running_var.numpy(), est.var_)


@pytest.mark.parametrize("momentum", [0.1, 0.3])
def test_training_step_parity(momentum, rng):
    est = BatchStandardizer(
        momentum=momentum, eps=1e-5, gamma=rng.uniform(0.5, 2, 5), beta=1.0
    )
    est = _fitted(est, _data(rng, 60, offset=1e6))
    old_mean, old_var = est.mean_.copy(), est.var_.copy()
    bn = to_module(est).train()
    batch = _data(rng, 32, offset=1e6)
    with torch.no_grad():
        bn(torch.from_numpy(batch))
    est.partial_fit(batch)
    expected_mean, expected_var = batchnorm_step(old_mean, old_var, batch, momentum)
    for running, skbn, expected in [
        (bn.running_mean, est.mean_, expected_mean),
        (bn.running_var, est.var_, expected_var),
    ]:
        np.testing.assert_allclose(running.numpy(), skbn, rtol=1e-12)
        np.testing.assert_allclose(skbn, expected, rtol=1e-12)
    assert int(bn.num_batches_tracked) == est.n_batches_seen_ == 4


def test_training_forward_is_partial_fit_transform(rng):
    est = _fitted(BatchStandardizer(momentum=0.1, eps=1e-5), _data(rng, 60, 3.0))
    bn = to_module(est).train()
    batch = _data(rng, 16, offset=3.0)
    expected = (batch - batch.mean(axis=0)) / np.sqrt(batch.var(axis=0) + 1e-5)
    actual = _forward(bn, batch)
    _assert_close(actual, est.partial_fit_transform(batch), 1e-12)
    _assert_close(actual, expected, 1e-12)


def test_constant_feature_without_eps(rng):
    X = np.column_stack([rng.normal(size=40), np.full(40, 7.0)])
    est = BatchStandardizer(momentum=0.2).fit(X)
    assert est.var_[1] == 0 and est.scale_[1] == 1
    bn = to_module(est)
    assert isinstance(bn, CenteredBatchNorm1d)
    # sqrt(running_var + eps) is what transform divides by: 1.
    np.testing.assert_array_equal(bn.running_var.numpy(), [est.var_[0], 1.0])
    X_test = np.column_stack([rng.normal(size=10), np.full(10, 9.0)])
    _assert_close(_forward(bn, X_test), est.transform(X_test), 1e-12)
    np.testing.assert_array_equal(_forward(bn, X_test)[:, 1], 2.0)
    # PyTorch trains only with eps > 0; then, as documented, that feature's
    # running variance starts from 1.
    batch = np.column_stack([rng.normal(size=10), rng.normal(size=10)])
    with pytest.raises(ValueError, match="eps must be positive"):
        bn.train()(torch.from_numpy(batch))
    bn.eps = 1e-300
    with torch.no_grad():
        bn.train()(torch.from_numpy(batch))
    est.partial_fit(batch)
    np.testing.assert_allclose(
        bn.running_var[1].item() - est.var_[1], 0.8 * (1.0 - 0.0), rtol=1e-12
    )
    np.testing.assert_allclose(bn.running_var[0].item(), est.var_[0], rtol=1e-12)


@pytest.mark.parametrize(
    "params", [{"with_std": False}, {"with_mean": False}, {"momentum": 0.5}]
)
def test_affine_where_no_batchnorm_is_the_map(params, rng):
    gamma, beta = rng.uniform(0.5, 2, 5), rng.normal(size=5)
    est = BatchStandardizer(gamma=gamma, beta=beta, **params)
    X = _data(rng, 50, offset=5.0)
    if "momentum" in params:
        # Variances beyond float64: var_ is inf where scale_ is finite.
        est = BatchStandardizer(gamma=gamma, beta=beta).fit(X * 1e200)
        X = X * 1e200
        assert np.isinf(est.var_).any()
    else:
        est.fit(X)
    module = to_module(est)
    assert type(module) is Affine
    shift = est.mean_ if est.with_mean else 0.0
    np.testing.assert_array_equal(module.shift.numpy(), np.broadcast_to(shift, 5))
    np.testing.assert_array_equal(module.factor.numpy(), gamma / est.scale_)
    np.testing.assert_array_equal(module.offset.numpy(), beta)
    _assert_close(_forward(module, X), est.transform(X), 1e-12)
    _assert_close(_forward(module, X), _formula(est, X), 1e-12)


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
def test_robust_standardizer_is_affine(params, rng):
    X_fit = _data(rng, 300, offset=1e6)
    X_fit[:10] *= 1e3  # outliers, which the median and quantiles ignore
    X_fit[rng.random(X_fit.shape) < 0.1] = np.nan
    est = RobustStandardizer(**params).fit(X_fit)
    module = to_module(est)
    assert type(module) is Affine and not module.training
    center = np.zeros(5) if est.center_ is None else est.center_
    np.testing.assert_array_equal(module.shift.numpy(), center)
    factor = np.ones(5) if est.scale_ is None else 1.0 / est.scale_
    np.testing.assert_allclose(module.factor.numpy(), factor, rtol=1e-15)
    np.testing.assert_array_equal(module.offset.numpy(), 0.0)
    X = _data(rng, 100, offset=1e6)
    X[rng.random(X.shape) < 0.1] = np.nan
    actual = _forward(module, X)
    # (x - shift) * factor, as transform computes it; NaN stays NaN.
    np.testing.assert_array_equal(actual, est.transform(X))
    _assert_close(actual, _formula(est, X), 1e-12)


def test_robust_standardizer_streamed_and_beyond_float64(rng):
    # Streamed past what rank_error=0.1's sketch holds: approximate quantiles,
    # derived by to_module on first use.
    X = _data(rng, 3000, offset=3.0)
    est = RobustStandardizer(rank_error=0.1)
    for batch in np.array_split(X, 10):
        est.partial_fit(batch)
    module = to_module(est)
    assert (est.rank_error_ > 0).all()
    np.testing.assert_array_equal(_forward(module, X), est.transform(X))
    # An interquartile range beyond float64's largest value: scale_ is
    # infinite, the factor that transform multiplies by is not.
    signs = np.repeat([-1.0, 1.0], 20)[:, None]
    X = signs * rng.uniform(1.2e308, 1.5e308, size=(40, 2))
    est = RobustStandardizer().fit(X)
    assert np.isinf(est.scale_).all()
    module = to_module(est)
    assert (module.factor.numpy() > 0).all()
    X_test = rng.uniform(-1.0, 1.0, size=(30, 2)) * 1e308
    actual = _forward(module, X_test)
    np.testing.assert_array_equal(actual, est.transform(X_test))
    halves = est.quantiles_[2] / 2 - est.quantiles_[0] / 2
    _assert_close(actual, (X_test - est.center_) / halves / 2, 1e-12)


def test_three_dimensional_input_as_batchnorm(rng):
    est = BatchStandardizer(momentum=0.1, eps=1e-5, beta=0.5)
    est = _fitted(est, _data(rng, 60, offset=3.0))
    module = to_module(est)
    plain = torch.nn.BatchNorm1d(5, dtype=torch.float64).eval()
    plain.load_state_dict(module.state_dict())
    X = torch.from_numpy(rng.normal(size=(4, 5, 7)) * SCALES[:, None])
    with torch.no_grad():
        np.testing.assert_allclose(module(X).numpy(), plain(X).numpy(), rtol=1e-12)


def test_estimator_fitted_on_tensors(rng):
    sklearn = pytest.importorskip("sklearn")
    pytest.importorskip("array_api_compat")
    X = torch.from_numpy(_data(rng, 50, offset=3.0))
    try:
        with sklearn.config_context(array_api_dispatch=True):
            est = BatchStandardizer(momentum=0.1).fit(X)
    except (ImportError, RuntimeError) as error:  # SciPy without array API
        pytest.skip(str(error))
    module = to_module(est)
    np.testing.assert_array_equal(module.running_mean.numpy(), est.mean_.numpy())


def _trained_batchnorm(rng, *, momentum=0.1, affine=True, dtype=torch.float64):
    bn = torch.nn.BatchNorm1d(5, eps=1e-4, momentum=momentum, affine=affine)
    bn = bn.to(dtype)
    if affine:
        with torch.no_grad():
            bn.weight.copy_(torch.from_numpy(rng.uniform(0.5, 2.0, 5)))
            bn.bias.copy_(torch.from_numpy(rng.normal(size=5)))
    bn.train()
    with torch.no_grad():
        for _ in range(4):
            bn(torch.from_numpy(_data(rng, 32, offset=3.0)).to(dtype))
    return bn.eval()


def _batchnorm_formula(bn, X):
    mean, var = bn.running_mean.double().numpy(), bn.running_var.double().numpy()
    y = (X - mean) / np.sqrt(var + bn.eps)
    if bn.affine:
        y = y * bn.weight.detach().double().numpy() + bn.bias.detach().double().numpy()
    return y


@pytest.mark.parametrize("momentum", [0.1, 0.3])
def test_from_module_round_trip(momentum, rng):
    bn = _trained_batchnorm(rng, momentum=momentum)
    est = from_module(bn)
    assert isinstance(est, BatchStandardizer)
    assert (est.momentum, est.eps) == (momentum, 1e-4)
    np.testing.assert_array_equal(est.mean_, bn.running_mean.numpy())
    np.testing.assert_array_equal(est.var_, bn.running_var.numpy())
    np.testing.assert_array_equal(est.scale_, np.sqrt(bn.running_var.numpy() + 1e-4))
    np.testing.assert_array_equal(est.gamma, bn.weight.detach().numpy())
    np.testing.assert_array_equal(est.beta, bn.bias.detach().numpy())
    assert est.n_batches_seen_ == int(bn.num_batches_tracked) == 4
    X = _data(rng, 50, offset=3.0)
    _assert_close(est.transform(X), _forward(bn, X), 1e-12)
    _assert_close(est.transform(X), _batchnorm_formula(bn, X), 1e-12)
    # One more batch through both continues the same running statistics.
    batch = _data(rng, 32, offset=3.0)
    with torch.no_grad():
        bn.train()(torch.from_numpy(batch))
    est.partial_fit(batch)
    np.testing.assert_allclose(est.mean_, bn.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(est.var_, bn.running_var.numpy(), rtol=1e-12)
    assert est.n_batches_seen_ == int(bn.num_batches_tracked) == 5
    _assert_close(est.transform(X), _forward(bn.eval(), X), 1e-12)


def test_to_module_of_from_module_reproduces_the_layer(rng):
    bn = _trained_batchnorm(rng)
    copy = to_module(from_module(bn))
    assert (copy.eps, copy.momentum, copy.num_features) == (1e-4, 0.1, 5)
    state, copied = bn.state_dict(), copy.state_dict()
    assert state.keys() == copied.keys()
    for key in state:
        torch.testing.assert_close(copied[key], state[key], rtol=0, atol=0)
    X = _data(rng, 50, offset=3.0)
    _assert_close(_forward(copy, X), _forward(bn, X), 1e-12)


def test_from_module_without_affine_or_in_float32(rng):
    bn = _trained_batchnorm(rng, affine=False)
    est = from_module(bn)
    X = _data(rng, 50, offset=3.0)
    _assert_close(est.transform(X), _batchnorm_formula(bn, X), 1e-12)
    _assert_close(est.transform(X), _forward(bn, X), 1e-12)

    bn32 = _trained_batchnorm(rng, dtype=torch.float32)
    est = from_module(bn32)
    assert est.mean_.dtype == np.float64
    np.testing.assert_array_equal(est.mean_, bn32.running_mean.double().numpy())
    _assert_close(est.transform(X), _forward(bn32.double(), X), 1e-12)


def test_from_module_momentum_none(rng):
    bn = _trained_batchnorm(rng, momentum=None)
    est = from_module(bn)
    assert est.momentum is None
    X = _data(rng, 50, offset=3.0)
    _assert_close(est.transform(X), _batchnorm_formula(bn, X), 1e-12)
    # As documented: the layer's statistics carry no sample count, and the
    # next batch's exact statistics replace them.
    batch = _data(rng, 32, offset=3.0)
    est.partial_fit(batch)
    np.testing.assert_allclose(est.mean_, batch.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(est.var_, batch.var(axis=0), rtol=1e-12)


def test_to_module_errors(rng):
    with pytest.raises(NotFittedError, match="not fitted"):
        to_module(BatchStandardizer())
    assert issubclass(NotFittedError, ValueError)
    detector = ZScoreOutlierDetector().fit(rng.normal(size=(20, 2)))
    with pytest.raises(TypeError, match="outlier detector, not a transformer"):
        to_module(detector)
    with pytest.raises(TypeError, match="got StandardScaler"):
        to_module(StandardScaler().fit(rng.normal(size=(20, 2))))


def test_from_module_errors():
    with pytest.raises(TypeError, match="got BatchNorm2d"):
        from_module(torch.nn.BatchNorm2d(3))
    with pytest.raises(TypeError, match="got Linear"):
        from_module(torch.nn.Linear(3, 3))
    with pytest.raises(ValueError, match="track_running_stats=True"):
        from_module(torch.nn.BatchNorm1d(3, track_running_stats=False))
    with pytest.raises(ValueError, match="has not seen data yet"):
        from_module(torch.nn.LazyBatchNorm1d())
    with pytest.raises(ValueError, match="momentum in"):
        from_module(torch.nn.BatchNorm1d(3, momentum=0.0))


def test_import_skbn_does_not_import_torch():
    code = "import sys, skbn; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
