"""``import skbn`` imports none of its optional dependencies."""

import subprocess
import sys

OPTIONAL = ("skl2onnx", "onnx", "onnxruntime", "torch", "dask", "skops", "imblearn")


def test_import_skbn_imports_no_optional_dependency():
    code = (
        f"import sys, skbn; print(sorted(m for m in {OPTIONAL!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
