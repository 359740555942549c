"""Helpers shared by the test files.

The estimator settings the tests run on, ways to cut a data set into
partial_fit batches, and BatchNorm's rules written out in numpy.
"""

import dataclasses
from importlib.metadata import version

import numpy as np
from hypothesis import strategies as st

from skbn import (
    BatchStandardizer,
    MinMaxNormalizer,
    RobustStandardizer,
    SVDWhitener,
    ZScoreOutlierDetector,
)
from skbn._whitening import METHODS

# --------------------------------------------------------------------------
# Estimator settings
# --------------------------------------------------------------------------

# Every estimator with its default parameters and the non-default settings
# the documentation lists for scikit-learn's estimator checks.
COMPLIANCE_ESTIMATORS = [
    BatchStandardizer(),
    BatchStandardizer(momentum=0.1, eps=1e-5),
    BatchStandardizer(with_mean=False),
    MinMaxNormalizer(),
    MinMaxNormalizer(feature_range=(-1, 1), clip=True),
    MinMaxNormalizer(data_range=(0, 255)),
    *(SVDWhitener(method=method) for method in METHODS),
    SVDWhitener(method="pca", n_components=2),
    SVDWhitener(method="zca", n_components=2),
    SVDWhitener(eps=1e-3),
    *(SVDWhitener(method=method, solver="qr") for method in METHODS),
    RobustStandardizer(),
    RobustStandardizer(with_centering=False, unit_variance=True),
    RobustStandardizer(quantile_range=(10.0, 90.0), with_scaling=False),
    RobustStandardizer(rank_error=0.05),
    ZScoreOutlierDetector(),
    ZScoreOutlierDetector(threshold=2.0),
    ZScoreOutlierDetector(threshold=2.0, momentum=0.2),
]


@dataclasses.dataclass
class Setting:
    """An estimator class with the parameters it is built with, and a name."""

    cls: type
    name: str
    params: dict = dataclasses.field(default_factory=dict)

    @property
    def id(self):
        return f"{self.cls.__name__}-{self.name}"

    def make(self):
        return self.cls(**self.params)


# The fitted attributes of each estimator: arrays of per-feature values (or a
# matrix), and numbers (n_samples_seen_ becomes per-feature counts where
# values were missing).
FITTED_ARRAYS = {
    BatchStandardizer: ("mean_", "var_", "scale_"),
    MinMaxNormalizer: ("data_min_", "data_max_", "data_range_", "scale_", "min_"),
    SVDWhitener: (
        "mean_",
        "covariance_",
        "whitening_matrix_",
        "dewhitening_matrix_",
        "components_",
        "explained_variance_",
    ),
    RobustStandardizer: ("center_", "scale_", "quantiles_", "rank_error_"),
    ZScoreOutlierDetector: ("mean_", "var_", "scale_"),
}
FITTED_NUMBERS = {
    BatchStandardizer: ("n_samples_seen_", "n_batches_seen_"),
    MinMaxNormalizer: ("n_samples_seen_",),
    SVDWhitener: ("n_samples_seen_", "n_components_"),
    RobustStandardizer: ("n_samples_seen_",),
    ZScoreOutlierDetector: ("n_samples_seen_", "n_batches_seen_", "offset_"),
}


# --------------------------------------------------------------------------
# partial_fit batches
# --------------------------------------------------------------------------


def random_splits(rng, n_samples, max_batches=6):
    """Consecutive row slices covering ``range(n_samples)``, cut at random."""
    n_cuts = rng.integers(0, max_batches)
    cuts = np.unique(rng.integers(1, n_samples, size=n_cuts))
    return _slices([0, *cuts.tolist(), n_samples])


@st.composite
def batch_splits(draw, n_samples, max_cuts=6):
    """Hypothesis strategy: consecutive non-empty row slices of ``n_samples``."""
    cuts = draw(st.lists(st.integers(0, n_samples), max_size=max_cuts))
    return _slices(sorted({0, n_samples, *cuts}))


def _slices(bounds):
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


# --------------------------------------------------------------------------
# BatchNorm's rules (Ioffe & Szegedy 2015, Algorithm 1; PyTorch BatchNorm1d)
# --------------------------------------------------------------------------


def batchnorm_step(mean, var, batch, momentum):
    """One update of PyTorch's running statistics: unbiased batch variance."""
    mean = (1 - momentum) * mean + momentum * batch.mean(axis=0)
    var = (1 - momentum) * var + momentum * batch.var(axis=0, ddof=1)
    return mean, var


def running_stats_reference(batches, momentum):
    """PyTorch BatchNorm1d's running statistics, the first batch taken exactly.

    The running mean and unbiased variance after each batch, as a list of
    ``(mean, var)`` pairs.
    """
    mean = batches[0].mean(axis=0)
    var = batches[0].var(axis=0, ddof=1)
    history = [(mean, var)]
    for batch in batches[1:]:
        mean, var = batchnorm_step(mean, var, batch, momentum)
        history.append((mean, var))
    return history


def training_forward_reference(batch, gamma, beta, eps):
    """Ioffe & Szegedy 2015, Algorithm 1: biased batch variance."""
    mu = batch.mean(axis=0)
    sigma2 = batch.var(axis=0)  # ddof=0
    return gamma * (batch - mu) / np.sqrt(sigma2 + eps) + beta


ARRAY_API_CHECKS = (
    "check_array_api_input",
    "check_array_api_mixed_inputs",
    "check_array_api_same_namespace",
)
# scikit-learn refuses to switch array API dispatch on with an older SciPy.
NO_ARRAY_API = (
    dict.fromkeys(ARRAY_API_CHECKS, "array API dispatch needs SciPy 1.14 or later")
    if tuple(int(part) for part in version("scipy").split(".")[:2]) < (1, 14)
    else {}
)
