import os
from importlib.metadata import version

# scikit-learn's array API dispatch needs SciPy 1.14 or later, with
# SCIPY_ARRAY_API set before SciPy is imported; with an older SciPy the array
# API tests (and scikit-learn's array API checks) skip themselves.
if tuple(int(part) for part in version("scipy").split(".")[:2]) >= (1, 14):
    os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(0)
