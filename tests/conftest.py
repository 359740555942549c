# scikit-learn's array API dispatch needs SCIPY_ARRAY_API set before scipy is imported.
import os

os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(0)
