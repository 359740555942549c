"""The estimator settings the tests run on, shared by the test files."""

import dataclasses

from skbn import BatchStandardizer, MinMaxNormalizer, SVDWhitener, ZScoreOutlierDetector

# Every estimator with its default parameters and the non-default settings
# the documentation lists for scikit-learn's estimator checks.
COMPLIANCE_ESTIMATORS = [
    BatchStandardizer(),
    BatchStandardizer(momentum=0.1, eps=1e-5),
    BatchStandardizer(with_mean=False),
    MinMaxNormalizer(),
    MinMaxNormalizer(feature_range=(-1, 1), clip=True),
    MinMaxNormalizer(data_range=(0, 255)),
    *(
        SVDWhitener(method=method)
        for method in ("zca", "pca", "cholesky", "zca_cor", "pca_cor")
    ),
    SVDWhitener(method="pca", n_components=2),
    SVDWhitener(method="zca", n_components=2),
    SVDWhitener(eps=1e-3),
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
    ZScoreOutlierDetector: ("mean_", "var_", "scale_"),
}
FITTED_NUMBERS = {
    BatchStandardizer: ("n_samples_seen_", "n_batches_seen_"),
    MinMaxNormalizer: ("n_samples_seen_",),
    SVDWhitener: ("n_samples_seen_", "n_components_"),
    ZScoreOutlierDetector: ("n_samples_seen_", "n_batches_seen_", "offset_"),
}
