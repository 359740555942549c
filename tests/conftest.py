import os
from importlib.metadata import version

# scikit-learn's array API dispatch needs SciPy 1.14 or later, with
# SCIPY_ARRAY_API set before SciPy is imported; with an older SciPy the array
# API tests (and scikit-learn's array API checks) skip themselves.
if tuple(int(part) for part in version("scipy").split(".")[:2]) >= (1, 14):
    os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np
import pytest
import sklearn


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def dispatch():
    """scikit-learn's array API dispatch, on for the test; the test skips
    where it cannot be (SciPy < 1.14, or SCIPY_ARRAY_API unset)."""
    pytest.importorskip("array_api_compat")
    try:
        with sklearn.config_context():
            sklearn.set_config(array_api_dispatch=True)
    except (ImportError, RuntimeError) as exc:
        pytest.skip(f"scikit-learn's array API dispatch cannot be enabled: {exc}")
    with sklearn.config_context(array_api_dispatch=True):
        yield
