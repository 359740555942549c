"""The detector as a sampler (``fit_resample``), and persistence with skops.

References: the rows ``predict`` labels +1, taken with numpy indexing; for
skops, the types it reports untrusted, and the transforms of the reloaded
estimator against those of the original.
"""

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.base import clone

from skbn import RobustStandardizer, SVDWhitener, ZScoreOutlierDetector
from tests.helpers import COMPLIANCE_ESTIMATORS


def make_data(n_samples=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, 3)) * [1.0, 5.0, 0.1] + [0.0, 100.0, -3.0]
    X[[7, 100, 250]] += [[9.0, 0.0, 0.0], [0.0, -60.0, 0.0], [0.0, 0.0, 1.5]]
    y = rng.integers(0, 2, size=n_samples)
    return X, y


def test_fit_resample_keeps_the_inlier_rows_and_their_targets():
    X, y = make_data()
    detector = ZScoreOutlierDetector(threshold=4.0)
    X_in, y_in = detector.fit_resample(X, y)
    # The z-scores written out: population statistics of every row.
    z = (X - X.mean(axis=0)) / X.std(axis=0)
    keep = np.all(np.abs(z) <= 4.0, axis=1)
    assert not keep[[7, 100, 250]].any()
    assert_array_equal(X_in, X[keep])
    assert_array_equal(y_in, y[keep])
    assert detector.n_samples_seen_ == X.shape[0]  # fitted on every row


@pytest.mark.parametrize("library", ["pandas", "polars"])
def test_fit_resample_returns_frames_of_the_input_library(library):
    lib = pytest.importorskip(library)
    X, y = make_data()
    frame = lib.DataFrame(X, schema=["a", "b", "c"]) if library == "polars" else None
    if frame is None:
        frame = lib.DataFrame(X, columns=["a", "b", "c"])
    target = lib.Series("y", y) if library == "polars" else lib.Series(y)
    X_in, y_in = ZScoreOutlierDetector(threshold=4.0).fit_resample(frame, target)
    keep = ZScoreOutlierDetector(threshold=4.0).fit(X).predict(X) == 1
    assert type(X_in) is type(frame) and type(y_in) is type(target)
    assert_array_equal(X_in.to_numpy(), X[keep])
    assert_array_equal(y_in.to_numpy(), y[keep])


def test_detector_is_a_sampler_in_an_imbalanced_learn_pipeline():
    pipeline_module = pytest.importorskip("imblearn.pipeline")
    from sklearn.neighbors import KNeighborsClassifier

    X, y = make_data()
    pipe = pipeline_module.make_pipeline(
        ZScoreOutlierDetector(threshold=4.0), KNeighborsClassifier(n_neighbors=3)
    ).fit(X, y)
    keep = ZScoreOutlierDetector(threshold=4.0).fit(X).predict(X) == 1
    # The rows are dropped while fitting only; every row is predicted.
    assert pipe[-1].n_samples_fit_ == keep.sum() < X.shape[0]
    expected = KNeighborsClassifier(n_neighbors=3).fit(X[keep], y[keep]).predict(X)
    assert_array_equal(pipe.predict(X), expected)


@pytest.mark.parametrize(
    "estimator", COMPLIANCE_ESTIMATORS, ids=lambda est: repr(est).replace(" ", "")
)
@pytest.mark.parametrize("how", ["fit", "partial_fit"])
def test_skops_asks_to_trust_only_the_estimator_class(estimator, how):
    sio = pytest.importorskip("skops.io")
    X, _ = make_data()
    X = np.abs(X) if "data_range" in repr(estimator) else X
    est = clone(estimator)
    if how == "fit":
        est.fit(X)
    else:
        for part in np.array_split(X, 3):
            est.partial_fit(part)
    data = sio.dumps(est)
    own = f"{type(est).__module__}.{type(est).__qualname__}"
    assert sio.get_untrusted_types(data=data) == [own]
    loaded = sio.loads(data, trusted=[own])
    method = "decision_function" if hasattr(est, "decision_function") else "transform"
    assert_array_equal(getattr(loaded, method)(X), getattr(est, method)(X))
    loaded.partial_fit(X[:50])  # and the stream goes on
    est.partial_fit(X[:50])
    assert_array_equal(getattr(loaded, method)(X), getattr(est, method)(X))


def test_skops_keeps_a_whitening_map_not_yet_derived():
    sio = pytest.importorskip("skops.io")
    X, _ = make_data()
    est = SVDWhitener(method="cholesky").partial_fit(X)
    assert "whitening_matrix_" not in vars(est)
    loaded = sio.loads(sio.dumps(est), trusted=["skbn._whitener.SVDWhitener"])
    assert_array_equal(loaded.transform(X), est.transform(X))


@pytest.mark.parametrize("n_samples", [300, 20_000], ids=["exact", "compacted"])
def test_skops_keeps_a_robust_sketch_and_its_quantiles_not_yet_derived(n_samples):
    # After partial_fit the quantiles are derived on first use; past 16384
    # rows the sketch has compacted levels and a rank error: all of it must
    # come back from skops as numpy arrays and builtins, so that the loaded
    # estimator transforms, and goes on streaming, as the original does.
    sio = pytest.importorskip("skops.io")
    X = np.random.default_rng(1).standard_t(3, size=(n_samples, 3)) * [1.0, 5.0, 0.1]
    est = RobustStandardizer()
    for part in np.array_split(X, 3):
        est.partial_fit(part)
    assert "center_" not in vars(est)
    own = "skbn._robust.RobustStandardizer"
    data = sio.dumps(est)
    assert sio.get_untrusted_types(data=data) == [own]
    loaded = sio.loads(data, trusted=[own])
    assert_array_equal(loaded.transform(X), est.transform(X))
    assert_array_equal(loaded.rank_error_, est.rank_error_)
    assert (est.rank_error_ > 0).all() == (n_samples > 16_384)
    loaded.partial_fit(X[:5_000])
    est.partial_fit(X[:5_000])
    for name in ("center_", "scale_", "quantiles_", "rank_error_"):
        assert_array_equal(getattr(loaded, name), getattr(est, name), err_msg=name)
