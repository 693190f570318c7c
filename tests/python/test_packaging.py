"""The wheel and the sdist build, and the wheel installs into a fresh virtual environment and works.

Offline: the fresh environment gets no dependencies from an index; a .pth file lends it the project
environment's site-packages (numpy, torch, ...), while twinpurify itself comes only from the wheel.
"""

import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_wheel_and_sdist_build_and_the_wheel_works_in_a_fresh_venv(tmp_path):
    from twinpurify._version import __version__

    dist = tmp_path / "dist"
    for kind in ("wheel", "sdist"):
        res = subprocess.run(
            [sys.executable, "-m", "build", f"--{kind}", "--no-isolation", "--outdir", str(dist), str(ROOT)],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    wheel = next(dist.glob(f"twinpurify-{__version__}-*.whl"))
    assert next(dist.glob(f"twinpurify-{__version__}.tar.gz"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "twinpurify/py.typed" in names and "twinpurify/__main__.py" in names
    assert not any(n.startswith(("tests/", "benchmarks/", "R/")) for n in names)

    env = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env)
    py = env / "bin" / "python"
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    deps = sysconfig.get_paths()["purelib"]
    with zipfile.ZipFile(wheel) as z:  # install = unpack the wheel (pure Python) into the fresh site-packages
        z.extractall(site)
    (Path(site) / "borrowed_deps.pth").write_text(deps + "\n")
    code = (
        "import twinpurify, sys; assert 'venv' in twinpurify.__file__, twinpurify.__file__; "
        "import twinpurify as tp; c = tp.datasets.simulate_cohort(40, 8, 80, seed=0); "
        "Z = tp.TwinPurify(4, hidden_dims=(8,), projector_dims=(8,), max_epochs=2, verbose=False)"
        ".fit_transform(c.tumors, c.normals); print(Z.shape)"
    )
    out = subprocess.run([str(py), "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "(40, 4)"
    ver = subprocess.run([str(py), "-m", "twinpurify", "--version"], capture_output=True, text=True, timeout=120)
    assert ver.stdout.strip() == f"twinpurify {__version__}", ver.stderr[-2000:]
