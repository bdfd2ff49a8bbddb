"""The Lambda runtime every function is deployed on, and what that runtime provides.

`python3.12` on Amazon Linux 2023, x86_64 (docs/infra.md, "Runtime"):

- AL2023 ships glibc 2.34, so wheels tagged up to `manylinux_2_34` load; Amazon Linux 2 (the
  python3.11 runtime) has glibc 2.26, which is why Pillow had no matching wheel there and got
  compiled on the build machine instead.
- 3.12 rather than 3.13: every compiled dependency publishes cp312 wheels, a CPython 3.12 is on
  the build machines (pyenv) to resolve markers, compile `.pyc` files and run the package check
  with the very `.so` files that ship, and AWS supports the runtime until 2028.
- x86_64 rather than arm64 (Graviton, ~20 % cheaper per GB-s): the package check loads the
  shipped `.so` files in a real interpreter, which an x86_64 build machine can only do for
  x86_64. Switching is one constant here plus the platform tags, once CI can run arm64.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

RUNTIME = "python3.12"
PYTHON_VERSION = "3.12"
ABI = "cp312"
ARCHITECTURE = "x86_64"
GLIBC_MAX = (2, 34)  # Amazon Linux 2023: `ldd --version` in public.ecr.aws/lambda/python:3.12

# pip --platform tags, newest first: every manylinux level the runtime's glibc can load.
PLATFORMS = tuple(f"manylinux_2_{minor}_{ARCHITECTURE}" for minor in range(GLIBC_MAX[1], 16, -1)) + (
    f"manylinux2014_{ARCHITECTURE}",
)

# Shared libraries the runtime provides, by SONAME (anything else must be in the zip). Kept to
# what every manylinux wheel may assume (PEP 600's base set, as audited by auditwheel) AND what
# the AL2023 minimal image the python3.12 runtime is built from has in /lib64: glibc's own
# libraries, libgcc_s (gcc's runtime, a glibc dependency), zlib (rpm, curl-minimal) and
# libstdc++ (microdnf's libdnf is C++). Deliberately absent although manylinux allows them:
# libX11/libXext/libGL/glib/libexpat (not in the minimal image) and libnsl/libcrypt (libnsl is
# gone from AL2023, libcrypt is libxcrypt's .so.2 there, not the .so.1 wheels would name).
RUNTIME_LIBRARIES = frozenset(
    {
        "ld-linux-x86-64.so.2",
        "libc.so.6",
        "libm.so.6",
        "libpthread.so.0",
        "libdl.so.2",
        "librt.so.1",
        "libutil.so.1",
        "libresolv.so.2",
        "libgcc_s.so.1",
        "libstdc++.so.6",
        "libz.so.1",
    }
)

# LD_LIBRARY_PATH of the python runtimes, as far as it points into the deployment package
# (/var/task is the unzipped package): a bundled library there is found without an RPATH.
TASK_LIBRARY_DIRS = ("", "lib")


def find_python() -> str:
    """A CPython of the runtime's version: `LAMBDA_PYTHON`, pyenv's, or `python3.12` on PATH.

    Each candidate is run once: a pyenv shim on PATH exists even where it cannot run 3.12.
    """
    candidates = [os.environ.get("LAMBDA_PYTHON", "")]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    versions = sorted(
        (p for p in pyenv.glob(f"{PYTHON_VERSION}.*") if re.fullmatch(r"\d+\.\d+\.\d+", p.name)),
        key=lambda p: tuple(int(x) for x in p.name.split(".")),
        reverse=True,
    )
    candidates += [str(v / "bin" / f"python{PYTHON_VERSION}") for v in versions]
    candidates.append(shutil.which(f"python{PYTHON_VERSION}") or "")
    for candidate in filter(None, candidates):
        if _runs_version(candidate):
            return candidate
    raise RuntimeError(
        f"building and checking the Lambda package needs a CPython {PYTHON_VERSION} (the {RUNTIME} runtime's): "
        f"install one (`pyenv install {PYTHON_VERSION}`, `uv python install {PYTHON_VERSION}`, or your OS's "
        f"python{PYTHON_VERSION}) and put it on PATH, or point LAMBDA_PYTHON at it"
    )


def _runs_version(python: str) -> bool:
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except OSError:
        return False
    return out.returncode == 0 and out.stdout.strip() == PYTHON_VERSION
