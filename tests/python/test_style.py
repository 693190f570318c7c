"""The code is held to its lint, format and type-check configuration (pyproject.toml) by the test suite."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    exe = BIN / name
    if exe.exists():
        return str(exe)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed; it is part of the 'test' extra (pip install -e '.[test]')")
    return found


@pytest.mark.parametrize(
    "args",
    [
        ["ruff", "check", "python", "tests", "benchmarks"],
        ["ruff", "format", "--check", "python", "tests", "benchmarks"],
        ["mypy"],
    ],
)
def test_tool_passes(args):
    res = subprocess.run([_tool(args[0]), *args[1:]], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
