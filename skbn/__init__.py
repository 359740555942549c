"""skbn: scikit-learn compatible normalization on the ideas of Batch Normalization.

Every estimator fits in one shot (``fit``) or streams batch by batch
(``partial_fit``) from mergeable statistics accumulated in float64.
"""

from ._array_api import estimator_to_numpy
from ._config import config_context, get_config, set_config
from ._minmax import MinMaxNormalizer
from ._outliers import ZScoreOutlierDetector
from ._robust import RobustStandardizer
from ._standardize import BatchStandardizer
from ._whitener import SVDWhitener

__all__ = [
    "BatchStandardizer",
    "MinMaxNormalizer",
    "RobustStandardizer",
    "SVDWhitener",
    "ZScoreOutlierDetector",
    "config_context",
    "estimator_to_numpy",
    "get_config",
    "set_config",
]
__version__ = "0.1.0.dev0"
