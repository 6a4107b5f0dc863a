"""The benchmarks start with what the README's commands install (`pip install -e '.[test]'`)."""

import subprocess
import sys

import pytest

from tests.conftest import REPO


# A name starting with « _ » is a helper the benchmarks import (benchmarks/_wrk.py), not a script.
@pytest.mark.parametrize("script", sorted(p.name for p in (REPO / "benchmarks").glob("*.py") if not p.name.startswith("_")))
def test_every_benchmark_imports_with_the_declared_dependencies(script):
    # --help imports every module the script needs, then exits before measuring anything.
    result = subprocess.run([sys.executable, str(REPO / "benchmarks" / script), "--help"],
                            cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout
