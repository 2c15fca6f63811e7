"""Run the ``python`` target as a user gets it: the wheel pip-installed, offline, into a
fresh virtual environment.

The venv is created without pip (fast) and the wheel is installed by this interpreter's
pip with ``--python`` and ``--no-index``, so nothing can come from the network. The
wheel's one dependency, numpy, is made visible through a ``.pth`` file naming a directory
that holds only this interpreter's numpy: the venv sees the wheel and numpy, nothing else.
Rows go through the installed package's own ``predict_matrix`` via the harness protocol.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from .engine import read_result, write_matrix

_SCRIPT = """
import importlib, struct, sys
import numpy as np
pkg = importlib.import_module(sys.argv[1])
data = open(sys.argv[2], "rb").read()
n, k = struct.unpack_from("<QQ", data)
x = np.frombuffer(data, dtype="<f8", count=n * k, offset=16).reshape(n, k)
out, status = pkg.predict_matrix(x)
with open(sys.argv[3], "wb") as f:
    f.write(np.ascontiguousarray(out, dtype="<f8").tobytes())
    f.write(np.ascontiguousarray(status, dtype="<i4").tobytes())
"""


def clean_env() -> dict[str, str]:
    """No PIP_*/PYTHON* settings of this machine: pip sees only what we give it."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PIP_", "PYTHON", "VIRTUAL_ENV"))}
    env["PIP_CONFIG_FILE"] = os.devnull
    return env


def fresh_venv(base: Path) -> Path:
    """A new venv under ``base`` that sees this interpreter's numpy and nothing else;
    returns its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(base / "env")],
                   check=True, env=clean_env(), capture_output=True)
    python = base / "env" / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = subprocess.check_output(
        [str(python), "-I", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        env=clean_env(), text=True).strip()
    dist = importlib.metadata.distribution("numpy")
    site = Path(dist.locate_file(""))
    only = base / "numpy-only"
    only.mkdir()
    for entry in [site / "numpy", site / "numpy.libs", *site.glob("numpy-*.dist-info")]:
        if entry.exists() and (not entry.name.endswith(".dist-info")
                               or importlib.metadata.Distribution.at(entry).version
                               == dist.version):
            os.symlink(entry, only / entry.name)
    (Path(purelib) / "_host_numpy.pth").write_text(f"{only}\n")
    return python


class WheelEngine:
    """The wheel installed into a fresh venv (created on construction, removed by close)."""

    target = "python"

    def __init__(self, wheel: Path, package: str, n_outputs: int) -> None:
        self.n_outputs = n_outputs
        self.package = package
        self._dir = Path(tempfile.mkdtemp(prefix="staticml-wheel-"))
        try:
            self.python = fresh_venv(self._dir)
            res = subprocess.run(
                [sys.executable, "-m", "pip", "--python", str(self.python), "install",
                 "--no-index", "--no-deps", "--no-cache-dir", "--disable-pip-version-check",
                 "--quiet", str(wheel)], env=clean_env(), capture_output=True, text=True)
            if res.returncode != 0:
                raise RuntimeError(f"pip install {wheel.name} failed: "
                                   f"{(res.stderr or res.stdout).strip()[-2000:]}")
        except BaseException:
            shutil.rmtree(self._dir, ignore_errors=True)
            raise

    def predict_matrix(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        inp, out = self._dir / "in.bin", self._dir / "out.bin"
        write_matrix(inp, x)
        res = subprocess.run([str(self.python), "-I", "-c", _SCRIPT, self.package, str(inp),
                              str(out)], env=clean_env(), capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"the installed wheel failed: {res.stderr.strip()[-2000:]}")
        return read_result(out, x.shape[0], self.n_outputs)

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)
