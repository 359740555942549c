"""Dask arrays: every estimator against its own numpy fit on the computed data.

A fit of a ``dask.array.Array`` must give the fitted attributes of the numpy
fit of ``X.compute()`` (to rounding, exactly for the extrema), and the
transforms of a dask array must be lazy dask arrays, chunk for chunk equal to
the numpy methods. The computations run on a real ``LocalCluster`` of two
worker processes, started once for the module.
"""

import copy
import os
import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

distributed = pytest.importorskip("dask.distributed")
import dask  # noqa: E402
import dask.array as da  # noqa: E402

from skbn import (  # noqa: E402
    BatchStandardizer,
    MinMaxNormalizer,
    RobustStandardizer,
    SVDWhitener,
    ZScoreOutlierDetector,
)
from skbn._whitening import METHODS  # noqa: E402
from tests.helpers import FITTED_ARRAYS, FITTED_NUMBERS, Setting  # noqa: E402

RTOL = 1e-10
# Transformed values are O(1) and cross zero: an absolute tolerance too.
ATOL_OUT = 1e-10
N_SAMPLES = 2_000
N_FEATURES = 5
ROW_CHUNKS = (700, 300, 1_000)
COLUMN_CHUNKS = (2, 3)
# Chunks of one and two rows among large ones.
TINY_CHUNKS = (1, 2, 697, 300, 999, 1)
INFINITY = "Input X contains infinity"


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        # Port 0: the HTTP server the scheduler always starts takes a free port
        # instead of 8787, which a concurrent cluster may hold.
        dashboard_address=":0",
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


pytestmark = pytest.mark.usefixtures("client")


# ---------------------------------------------------------------------------
# Settings and data
# ---------------------------------------------------------------------------


SETTINGS = [
    Setting(BatchStandardizer, "default"),
    Setting(BatchStandardizer, "momentum", {"momentum": 0.1, "eps": 1e-5}),
    Setting(
        BatchStandardizer,
        "momentum_batch_size",
        {"momentum": 0.1, "eps": 1e-5, "batch_size": 256},
    ),
    Setting(BatchStandardizer, "with_mean_false", {"with_mean": False}),
    Setting(MinMaxNormalizer, "default"),
    Setting(
        MinMaxNormalizer, "feature_range_clip", {"feature_range": (-1, 1), "clip": True}
    ),
    Setting(MinMaxNormalizer, "data_range", {"data_range": (0, 255)}),
    # N_SAMPLES rows are fewer than the sketch holds whole (16384 by default,
    # 4200 at rank_error=0.02): merged chunk sketches give the exact
    # quantiles of the numpy fit.
    Setting(RobustStandardizer, "default"),
    Setting(
        RobustStandardizer,
        "unit_variance_no_centering",
        {"with_centering": False, "unit_variance": True},
    ),
    Setting(
        RobustStandardizer,
        "deciles_no_scaling",
        {"quantile_range": (10.0, 90.0), "with_scaling": False},
    ),
    Setting(RobustStandardizer, "rank_error", {"rank_error": 0.02}),
    *(Setting(SVDWhitener, method, {"method": method}) for method in METHODS),
    Setting(SVDWhitener, "pca_2", {"method": "pca", "n_components": 2}),
    Setting(SVDWhitener, "eps", {"eps": 1e-3}),
    Setting(ZScoreOutlierDetector, "default"),
    Setting(
        ZScoreOutlierDetector, "threshold_momentum", {"threshold": 2.0, "momentum": 0.2}
    ),
]

NAN_SETTINGS = [s for s in SETTINGS if s.cls is not SVDWhitener]
DEFAULT_SETTINGS = [s for s in SETTINGS if s.name in ("default", "zca")]
PCA_2 = next(s for s in SETTINGS if s.id == "SVDWhitener-pca_2")
MOMENTUM_BATCHES = next(
    s for s in SETTINGS if s.id == "BatchStandardizer-momentum_batch_size"
)

ATTRIBUTES = {
    cls: (*FITTED_ARRAYS[cls], *FITTED_NUMBERS[cls], "n_features_in_")
    for cls in FITTED_ARRAYS
}
# Extrema are exact, whatever the order in which the chunks are merged.
EXACT = {MinMaxNormalizer: ("data_min_", "data_max_", "data_range_")}

TRANSFORMS = {
    BatchStandardizer: ("transform",),
    MinMaxNormalizer: ("transform",),
    RobustStandardizer: ("transform",),
    SVDWhitener: ("transform",),
    ZScoreOutlierDetector: ("score_samples", "decision_function", "predict"),
}


def params(settings):
    return [pytest.param(setting, id=setting.id) for setting in settings]


# Correlated features: every column mixes the first one in, with offsets far
# from 0 relative to the spreads.
MIXING = np.array(
    [
        [2.0, 0.5, 0.3, 0.2, 0.1],
        [0.0, 1.5, 0.4, 0.3, 0.2],
        [0.0, 0.0, 1.0, 0.5, 0.3],
        [0.0, 0.0, 0.0, 0.7, 0.4],
        [0.0, 0.0, 0.0, 0.0, 0.5],
    ]
)
OFFSETS = np.array([1e3, -200.0, 50.0, 5e3, -30.0])


def make_data(seed=0, n_samples=N_SAMPLES):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n_samples, N_FEATURES)) @ MIXING + OFFSETS


def make_data_with_nan(seed=0):
    rng = np.random.default_rng(seed)
    X = make_data(seed)
    X[rng.random(X.shape) < 0.2] = np.nan
    # A feature missing from a whole chunk.
    X[700:1_000, 1] = np.nan
    return X


def make_weights(seed=0, n_samples=N_SAMPLES):
    rng = np.random.default_rng(seed + 100)
    weights = rng.uniform(0.5, 2.0, size=n_samples)
    weights[::97] = 0.0
    return weights


def to_dask(X, columns=False, rows=ROW_CHUNKS):
    return da.from_array(X, chunks=(rows, COLUMN_CHUNKS if columns else -1))


# ---------------------------------------------------------------------------
# Chunks that leave a trace when they are computed
# ---------------------------------------------------------------------------


def _load_chunk(log_path, index, block):
    with open(log_path, "a") as log:
        log.write(f"{index} {os.getpid()}\n")
    return block


def logged_dask_array(X, log_path, row_chunks=ROW_CHUNKS):
    """A dask array whose chunks append their index to ``log_path`` when made."""
    bounds = np.cumsum([0, *row_chunks])
    blocks = [
        da.from_delayed(
            dask.delayed(_load_chunk, pure=False)(str(log_path), index, X[a:b]),
            shape=(b - a, X.shape[1]),
            dtype=X.dtype,
        )
        for index, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True))
    ]
    return da.concatenate(blocks, axis=0)


def loads(log_path):
    """The (chunk index, process id) of each chunk computed so far."""
    if not log_path.exists():
        return []
    return [
        tuple(map(int, line.split()))
        for line in log_path.read_text().split("\n")
        if line
    ]


# ---------------------------------------------------------------------------
# Comparisons
# ---------------------------------------------------------------------------


def assert_attribute_equal(actual, expected, name, exact=False):
    if expected is None:  # as RobustStandardizer's center_ without centering
        assert actual is None, name
        return
    if isinstance(expected, np.ndarray):
        assert isinstance(actual, np.ndarray), name
        assert actual.shape == expected.shape, name
        assert actual.dtype.kind == expected.dtype.kind, name
    else:
        assert not isinstance(actual, np.ndarray), name
    if exact or np.asarray(expected).dtype.kind in "iub":
        assert_array_equal(actual, expected, err_msg=name)
        return
    # Matrices (eigenvectors, whitening maps) have entries near 0: compare
    # them relative to their largest entry.
    atol = RTOL * np.max(np.abs(expected)) if np.ndim(expected) == 2 else 0.0
    assert_allclose(actual, expected, rtol=RTOL, atol=atol, err_msg=name)


def assert_fitted_like(est, ref):
    cls = type(ref)
    assert type(est) is cls
    for name in ATTRIBUTES[cls]:
        assert hasattr(est, name) == hasattr(ref, name), name
        if hasattr(ref, name):
            assert_attribute_equal(
                getattr(est, name),
                getattr(ref, name),
                name,
                exact=name in EXACT.get(cls, ()),
            )


def assert_lazy_like(out, dX, n_columns):
    assert isinstance(out, da.Array)
    assert out.chunks[0] == dX.chunks[0]
    if n_columns == 0:
        assert out.ndim == 1
    else:
        assert out.shape == (dX.shape[0], n_columns)


def n_output_columns(est, method):
    if isinstance(est, ZScoreOutlierDetector):
        return 0
    if isinstance(est, SVDWhitener):
        return est.n_components_
    return est.n_features_in_


def assert_outputs_like_numpy(est, X, dX):
    """The dask methods map the chunks as the numpy methods map the data.

    ``dX`` holds the values of ``X``; the outputs are computed together.
    """
    lazy, expected = {}, {}
    for method in TRANSFORMS[type(est)]:
        lazy[method] = getattr(est, method)(dX)
        assert_lazy_like(lazy[method], dX, n_output_columns(est, method))
        expected[method] = getattr(est, method)(X)
    if hasattr(est, "inverse_transform"):
        Z = est.transform(X)
        dZ = da.from_array(Z, chunks=(dX.chunks[0], Z.shape[1]))
        lazy["inverse_transform"] = est.inverse_transform(dZ)
        assert_lazy_like(lazy["inverse_transform"], dZ, est.n_features_in_)
        expected["inverse_transform"] = est.inverse_transform(Z)
    computed = dict(zip(lazy, dask.compute(*lazy.values()), strict=True))
    for method, got in computed.items():
        assert got.dtype == expected[method].dtype, method
        if method == "predict":
            assert_array_equal(got, expected[method])
        else:
            assert_allclose(
                got, expected[method], rtol=RTOL, atol=ATOL_OUT, err_msg=method
            )


def fitted_attributes(est):
    return {
        key: copy.deepcopy(value)
        for key, value in vars(est).items()
        if key.endswith("_")
    }


def assert_same_attributes(before, est):
    after = fitted_attributes(est)
    assert before.keys() == after.keys()
    for key, old in before.items():
        new = after[key]
        assert type(new) is type(old), key
        if isinstance(old, np.ndarray):
            assert old.dtype == new.dtype, key
            assert np.array_equal(old, new, equal_nan=old.dtype.kind in "fc"), key
        else:
            assert old == new or (old != old and new != new), key


# ---------------------------------------------------------------------------
# fit and partial_fit equal the numpy fit
# ---------------------------------------------------------------------------


def chunking_params():
    # Several column chunks with one setting of each estimator, and the
    # whitener's truncated output.
    return [
        *(pytest.param(s, False, id=f"{s.id}-row_chunks") for s in SETTINGS),
        *(
            pytest.param(s, True, id=f"{s.id}-grid_chunks")
            for s in [*DEFAULT_SETTINGS, PCA_2, MOMENTUM_BATCHES]
        ),
    ]


@pytest.mark.parametrize(("setting", "columns"), chunking_params())
def test_fit_matches_numpy_fit(setting, columns):
    X = make_data()
    dX = to_dask(X, columns=columns)
    est = setting.make().fit(dX)
    ref = setting.make().fit(X)
    assert_fitted_like(est, ref)
    assert_outputs_like_numpy(est, X, dX)
    # And the outputs of the dask fit are those of the numpy fit.
    for method in TRANSFORMS[setting.cls]:
        assert_allclose(
            getattr(est, method)(X),
            getattr(ref, method)(X),
            rtol=RTOL,
            atol=ATOL_OUT,
            err_msg=method,
        )


@pytest.mark.parametrize(
    "setting", params([*DEFAULT_SETTINGS, PCA_2, MOMENTUM_BATCHES])
)
def test_chunks_of_one_and_two_rows(setting):
    X = make_data(17)
    dX = to_dask(X, rows=TINY_CHUNKS)
    est = setting.make().fit(dX)
    ref = setting.make().fit(X)
    assert_fitted_like(est, ref)
    assert_outputs_like_numpy(est, X, dX)


@pytest.mark.parametrize("setting", params(SETTINGS))
def test_partial_fit_over_two_dask_batches_matches_numpy(setting):
    X = make_data(1)
    dX = to_dask(X)
    # Neither batch lines up with the chunks.
    est = setting.make().partial_fit(dX[:900]).partial_fit(dX[900:])
    ref = setting.make().partial_fit(X[:900]).partial_fit(X[900:])
    assert_fitted_like(est, ref)


@pytest.mark.parametrize("batch_size", [256, 300, 1_000, 5_000])
def test_momentum_batches_follow_row_order(batch_size):
    # Running statistics depend on the order of the batches: those of the
    # dask fit are the consecutive batches of the numpy fit.
    X = make_data(2)
    X[1_200:] += 3.0  # a drift, so that the order shows
    params = {"momentum": 0.1, "eps": 1e-5, "batch_size": batch_size}
    est = BatchStandardizer(**params).fit(to_dask(X))
    ref = BatchStandardizer(**params).fit(X)
    assert_fitted_like(est, ref)
    assert est.n_batches_seen_ == ref.n_batches_seen_


def test_momentum_dask_partial_fit_is_one_batch():
    X = make_data(3)
    est = BatchStandardizer(momentum=0.1, eps=1e-5, batch_size=256)
    ref = BatchStandardizer(momentum=0.1, eps=1e-5, batch_size=256)
    est.partial_fit(to_dask(X)).partial_fit(to_dask(X[::-1].copy()))
    ref.partial_fit(X).partial_fit(X[::-1])
    assert_fitted_like(est, ref)
    assert est.n_batches_seen_ == 2


@pytest.mark.parametrize("setting", params(NAN_SETTINGS))
def test_nan_is_ignored_like_numpy(setting):
    X = make_data_with_nan()
    dX = to_dask(X)
    est = setting.make().fit(dX)
    ref = setting.make().fit(X)
    assert_fitted_like(est, ref)
    assert_outputs_like_numpy(est, X, dX)
    est = setting.make().partial_fit(dX[:800]).partial_fit(dX[800:])
    ref = setting.make().partial_fit(X[:800]).partial_fit(X[800:])
    assert_fitted_like(est, ref)


def test_nan_counts_per_feature():
    X = make_data_with_nan()
    est = BatchStandardizer().fit(to_dask(X))
    counts = est.n_samples_seen_
    assert isinstance(counts, np.ndarray)
    assert counts.dtype.kind == "i"
    assert_array_equal(counts, (~np.isnan(X)).sum(axis=0))


def weight_params():
    # Dask weights with every setting; numpy ones, turned into a dask array
    # chunked like X, with one setting of each estimator and the batches.
    return [
        *(pytest.param(s, "dask", id=f"{s.id}-dask_weights") for s in SETTINGS),
        *(
            pytest.param(s, "numpy", id=f"{s.id}-numpy_weights")
            for s in [*DEFAULT_SETTINGS, MOMENTUM_BATCHES]
        ),
    ]


def as_weights(weights, kind):
    if kind == "dask":
        return da.from_array(weights, chunks=(ROW_CHUNKS,))
    return weights


@pytest.mark.parametrize(("setting", "kind"), weight_params())
def test_sample_weight_matches_numpy(setting, kind):
    X = make_data(4)
    weights = make_weights(4)
    est = setting.make().fit(to_dask(X), sample_weight=as_weights(weights, kind))
    ref = setting.make().fit(X, sample_weight=weights)
    assert_fitted_like(est, ref)


@pytest.mark.parametrize("kind", ["dask", "numpy"])
@pytest.mark.parametrize("setting", params([*DEFAULT_SETTINGS, MOMENTUM_BATCHES]))
def test_sample_weight_over_two_dask_batches_matches_numpy(setting, kind):
    X = make_data(5)
    weights = make_weights(5)
    dX = to_dask(X)
    dw = as_weights(weights, kind)
    est = setting.make()
    est.partial_fit(dX[:900], sample_weight=dw[:900])
    est.partial_fit(dX[900:], sample_weight=dw[900:])
    ref = setting.make()
    ref.partial_fit(X[:900], sample_weight=weights[:900])
    ref.partial_fit(X[900:], sample_weight=weights[900:])
    assert_fitted_like(est, ref)


def test_zero_weight_row_is_absent_from_the_extrema():
    X = make_data(5)
    X[1_500] = 1e6
    weights = np.ones(N_SAMPLES)
    weights[1_500] = 0.0
    dw = da.from_array(weights, chunks=(ROW_CHUNKS,))
    est = MinMaxNormalizer().fit(to_dask(X), sample_weight=dw)
    ref = MinMaxNormalizer().fit(np.delete(X, 1_500, axis=0))
    assert_array_equal(est.data_min_, ref.data_min_)
    assert_array_equal(est.data_max_, ref.data_max_)


@pytest.mark.parametrize("setting", params(NAN_SETTINGS))
def test_nan_with_dask_sample_weight_matches_numpy(setting):
    X = make_data_with_nan(6)
    weights = make_weights(6)
    dw = da.from_array(weights, chunks=(ROW_CHUNKS,))
    est = setting.make().fit(to_dask(X), sample_weight=dw)
    ref = setting.make().fit(X, sample_weight=weights)
    assert_fitted_like(est, ref)


@pytest.mark.parametrize("setting", params([*DEFAULT_SETTINGS, PCA_2]))
def test_float32_stays_float32(setting):
    X = make_data(7).astype(np.float32)
    dX = to_dask(X)
    est = setting.make().fit(dX)
    ref = setting.make().fit(X)
    assert_fitted_like(est, ref)
    for method in TRANSFORMS[setting.cls]:
        out = getattr(est, method)(dX)
        expected = getattr(est, method)(X)
        assert out.dtype == expected.dtype, method
        got = out.compute()
        assert got.dtype == expected.dtype, method
        if setting.cls is not ZScoreOutlierDetector:
            assert got.dtype == np.float32
        assert_allclose(got, expected, rtol=1e-6, atol=1e-6, err_msg=method)
    if hasattr(est, "inverse_transform"):
        Z = est.transform(X)
        out = est.inverse_transform(da.from_array(Z, chunks=(ROW_CHUNKS, -1)))
        assert out.compute().dtype == np.float32


@pytest.mark.parametrize(
    "setting", params([s for s in SETTINGS if s.cls is not ZScoreOutlierDetector])
)
def test_fit_transform_is_lazy_and_matches_numpy(setting, tmp_path):
    X = make_data(8)
    log = tmp_path / "loads.log"
    dX = logged_dask_array(X, log)
    out = setting.make().fit_transform(dX)
    n_loads = len(loads(log))
    assert isinstance(out, da.Array)
    assert out.chunks[0] == ROW_CHUNKS
    assert_allclose(
        out.compute(), setting.make().fit_transform(X), rtol=RTOL, atol=ATOL_OUT
    )
    assert len(loads(log)) > n_loads


# ---------------------------------------------------------------------------
# Laziness, and where the work is done
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("setting", params(DEFAULT_SETTINGS))
def test_methods_compute_nothing_until_asked(setting, tmp_path):
    X = make_data(9)
    est = setting.make().fit(X)
    log = tmp_path / "loads.log"
    dX = logged_dask_array(X, log)
    outputs = {method: getattr(est, method)(dX) for method in TRANSFORMS[setting.cls]}
    if hasattr(est, "inverse_transform"):
        outputs["inverse_transform"] = est.inverse_transform(dX)
    assert loads(log) == []
    for method, out in outputs.items():
        assert isinstance(out, da.Array), method
        assert out.chunks[0] == ROW_CHUNKS, method
    for method in TRANSFORMS[setting.cls]:
        assert_allclose(
            outputs[method].compute(),
            getattr(est, method)(X),
            rtol=RTOL,
            atol=ATOL_OUT,
            err_msg=method,
        )
    assert len(loads(log)) > 0


@pytest.mark.parametrize("setting", params(DEFAULT_SETTINGS))
def test_fit_computes_each_chunk_once_on_the_workers(setting, tmp_path):
    X = make_data(10)
    log = tmp_path / "loads.log"
    est = setting.make().fit(logged_dask_array(X, log))
    records = loads(log)
    assert sorted(index for index, _ in records) == list(range(len(ROW_CHUNKS)))
    assert os.getpid() not in {pid for _, pid in records}
    assert_fitted_like(est, setting.make().fit(X))


def test_importing_skbn_does_not_import_dask():
    code = "import skbn, sys; assert 'dask' not in sys.modules, sorted(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------------------
# Errors, and a rejected batch leaves no trace
# ---------------------------------------------------------------------------


def with_infinity(X, row=850, col=2):
    X = X.copy()
    X[row, col] = np.inf
    return X


@pytest.mark.parametrize("setting", params(SETTINGS))
def test_infinity_in_a_chunk_is_refused_by_fit(setting):
    bad = to_dask(with_infinity(make_data(11)))
    with pytest.raises(ValueError, match=INFINITY):
        setting.make().fit(bad)
    est = setting.make()
    with pytest.raises(ValueError, match=INFINITY):
        est.partial_fit(bad)
    assert not [key for key in vars(est) if key.endswith("_")]


@pytest.mark.parametrize("setting", params(SETTINGS))
def test_bad_dask_batch_leaves_fitted_attributes_unchanged(setting):
    X = make_data(12)
    dX = to_dask(X)
    est = setting.make().partial_fit(dX[:900])
    before = fitted_attributes(est)
    with pytest.raises(ValueError, match=INFINITY):
        est.partial_fit(to_dask(with_infinity(X, row=1_500))[900:])
    assert_same_attributes(before, est)
    # The next good batch continues as if the bad one never came.
    est.partial_fit(dX[900:])
    ref = setting.make().partial_fit(X[:900]).partial_fit(X[900:])
    assert_fitted_like(est, ref)


@pytest.mark.parametrize("setting", params(SETTINGS))
def test_failed_dask_fit_leaves_fitted_estimator_unchanged(setting):
    X = make_data(13)
    est = setting.make().fit(to_dask(X))
    before = fitted_attributes(est)
    with pytest.raises(ValueError, match=INFINITY):
        est.fit(to_dask(with_infinity(X)))
    assert_same_attributes(before, est)


@pytest.mark.parametrize("setting", params(SETTINGS))
def test_wrong_width_is_refused_at_once(setting, tmp_path):
    X = make_data(14)
    est = setting.make().fit(X)
    before = fitted_attributes(est)
    log = tmp_path / "loads.log"
    narrow = logged_dask_array(X[:, :4].copy(), log)
    calls = ["partial_fit", *TRANSFORMS[setting.cls]]
    for method in calls:
        with pytest.raises(ValueError):
            getattr(est, method)(narrow)
    if hasattr(est, "inverse_transform"):
        # 4 columns is neither n_features_in_ (5) nor n_components_ (2 or 5).
        with pytest.raises(ValueError):
            est.inverse_transform(narrow)
    assert loads(log) == []
    assert_same_attributes(before, est)


@pytest.mark.parametrize("setting", params(DEFAULT_SETTINGS))
def test_transform_of_a_chunk_with_infinity_raises_on_compute(setting):
    X = make_data(15)
    est = setting.make().fit(X)
    bad = to_dask(with_infinity(X, row=1_500))
    for method in TRANSFORMS[setting.cls]:
        out = getattr(est, method)(bad)
        with pytest.raises(ValueError, match=INFINITY):
            out.compute()


@pytest.mark.parametrize("method", ["zca", "cholesky"])
def test_whitener_refuses_nan(method):
    setting = Setting(SVDWhitener, method, {"method": method})
    X = make_data(16)
    bad = X.copy()
    bad[1_200, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        setting.make().fit(to_dask(bad))
    est = setting.make().fit(to_dask(X))
    before = fitted_attributes(est)
    with pytest.raises(ValueError, match="NaN"):
        est.partial_fit(to_dask(bad))
    assert_same_attributes(before, est)


# ---------------------------------------------------------------------------
# RobustStandardizer past the sketch's exact range
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "setting", params([s for s in SETTINGS if s.cls is RobustStandardizer])
)
def test_robust_settings_hold_the_data_whole(setting):
    # The premise of comparing the Dask fits above with numpy's exact fit:
    # N_SAMPLES rows streamed in ROW_CHUNKS keep every value, so the
    # quantiles are numpy's and no rank error is reported.
    X = make_data()
    est = setting.make()
    for rows in np.split(X, np.cumsum(ROW_CHUNKS)[:-1]):
        est.partial_fit(rows)
    assert_array_equal(est.rank_error_, 0.0)
    q_min, q_max = setting.params.get("quantile_range", (25.0, 75.0))
    expected = np.percentile(X, [q_min, 50.0, q_max], axis=0)
    assert_allclose(est.quantiles_, expected, rtol=1e-12)


def assert_within_rank_error(est, X, probabilities):
    """Each quantile lies between numpy's exact (q - e) and (q + e) ones,
    ``e = rank_error_`` plus one value (a summary interpolates between its
    own items, not the data's neighbouring order statistics)."""
    n_samples = X.shape[0]
    for row, q in enumerate(probabilities):
        for j in range(X.shape[1]):
            slack = est.rank_error_[j] + 1 / n_samples
            low, high = np.quantile(X[:, j], np.clip([q - slack, q + slack], 0, 1))
            assert low <= est.quantiles_[row, j] <= high, (q, j)


@pytest.mark.parametrize(
    "params",
    [{}, {"quantile_range": (5.0, 95.0), "rank_error": 0.05}],
    ids=["default", "quantile_range_rank_error"],
)
def test_robust_fit_beyond_the_exact_range_keeps_its_rank_error(params):
    # 40000 rows in chunks of 10000: each chunk's sketch is exact, their
    # merge is not; the quantiles must stay within the reported rank error
    # of numpy's, and the fit must not depend on how the workers ran.
    X = make_data(18, n_samples=40_000)
    X[::50, 2] = 1e9  # outliers, which must not move the quantiles
    dX = da.from_array(X, chunks=(10_000, -1))
    est = RobustStandardizer(**params).fit(dX)
    q_min, q_max = params.get("quantile_range", (25.0, 75.0))
    bound = params.get("rank_error", 0.005)
    assert np.all(est.rank_error_ > 0)
    assert np.all(est.rank_error_ <= bound)
    assert_within_rank_error(est, X, (q_min / 100, 0.5, q_max / 100))
    assert_array_equal(est.center_, est.quantiles_[1])
    assert est.n_samples_seen_ == X.shape[0]
    again = RobustStandardizer(**params).fit(dX)
    for name in ("center_", "scale_", "quantiles_", "rank_error_"):
        assert_array_equal(getattr(again, name), getattr(est, name), err_msg=name)
    assert_outputs_like_numpy(est, X, dX)
