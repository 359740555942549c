"""scikit-learn's estimator checks, on every estimator and DESIGN setting."""

from sklearn.utils.estimator_checks import parametrize_with_checks

import skbn
from skbn import BatchStandardizer

ESTIMATORS = [
    BatchStandardizer(),
    BatchStandardizer(momentum=0.1, eps=1e-5),
    BatchStandardizer(with_mean=False),
]


def test_every_public_estimator_is_checked():
    assert {type(est).__name__ for est in ESTIMATORS} == set(skbn.__all__)


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
