"""The Lambda deployment package, built here rather than by `chalice package`.

`chalice package` picks the runtime from the interpreter running it (3.11 on the build machine)
and, where no wheel matches, compiles dependencies on the build machine: that is how a Pillow
linked against the build machine's libjpeg/libfreetype and glibc 2.29+ once reached the zip.
Here every dependency comes from a wheel for the declared runtime (infra/runtime.py): pip runs
under a CPython 3.12 with `--only-binary=:all:` and the manylinux tags AL2023's glibc can load,
then `compileall` writes the `.pyc` files (the package directory is read-only on Lambda, so
without them every cold start compiles from source).

`full` (the default, what a deploy needs): dependencies + Chalice's runtime module
(`chalice/app.py`, `chalice/__init__.py`, as `chalice package` vendors them) + `app.py` +
`chalicelib/` without `chalicelib/local/` (the local stack's fakes have no business on Lambda).
The dependencies are cached in `.cache/lambda/<key>/`, keyed by the requirements files' contents
and the runtime, so a repeat synth only re-adds the app code.
`app-only` (tests, `make synth PACKAGE=app-only`): the same zip without the dependencies, built
offline in a second; its stack is tagged `package=app-only` and must never be deployed.

Zips are reproducible: sorted entries, fixed timestamps and modes, hash-checked `.pyc` files.
"""

from __future__ import annotations

import atexit
import hashlib
import inspect
import os
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from infra import runtime
from infra.config import REPO_ROOT

FULL = "full"
APP_ONLY = "app-only"
MODES = (FULL, APP_ONLY)

CACHE = Path(os.environ.get("LAMBDA_PACKAGE_CACHE", REPO_ROOT / ".cache" / "lambda"))
REQUIREMENTS = REPO_ROOT / "requirements.txt"
BUILD_FORMAT = "4"  # bump when the way dependencies are installed changes (invalidates the cache)
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
LAMBDA_TASK_ROOT = "/var/task"  # where Lambda unzips the package
LOCAL_ONLY = ("chalicelib/local/",)  # the local stack (moto server, fake Stripe, seed): never deployed


# --- staging the app for `chalice package` (the template) ------------------------------------


def stage_source() -> Path:
    """`app.py`, `chalicelib/` and `.chalice/config.json` with an empty requirements.txt, in a temp dir.

    `chalice package` reads the app from here to write the SAM template; with no requirements it
    never downloads or compiles anything (its own zip is not used).
    """
    staged = scratch("imagegen-chalice-")
    shutil.copy2(REPO_ROOT / "app.py", staged / "app.py")
    shutil.copytree(REPO_ROOT / "chalicelib", staged / "chalicelib", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (staged / ".chalice").mkdir()
    shutil.copy2(REPO_ROOT / ".chalice" / "config.json", staged / ".chalice" / "config.json")
    (staged / "requirements.txt").write_text("")
    return staged


def scratch(prefix: str) -> Path:
    """A temporary directory removed when the process exits."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, path, True)
    return path


# --- dependencies ------------------------------------------------------------------------------


def requirement_files(path: Path = REQUIREMENTS) -> list[Path]:
    """`path` and every file it includes with `-r`, in order."""
    files = [path]
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in ("-r", "--requirement"):
            files += requirement_files(path.parent / parts[1])
    return files


def dependencies_key() -> str:
    """What the installed dependencies depend on: requirements, runtime, platform tags, build format."""
    digest = hashlib.sha256()
    for part in (BUILD_FORMAT, runtime.RUNTIME, runtime.ABI, *runtime.PLATFORMS):
        digest.update(part.encode() + b"\0")
    for file in requirement_files():
        digest.update(file.name.encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()[:20]


def pip_command(python: str, target: Path) -> list[str]:
    """pip install of requirements.txt for the runtime: wheels only, manylinux tags up to its glibc."""
    platforms = [arg for tag in runtime.PLATFORMS for arg in ("--platform", tag)]
    return [
        python,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        "--target",
        str(target),
        *platforms,
        "--implementation",
        "cp",
        "--python-version",
        runtime.PYTHON_VERSION,
        "--abi",
        runtime.ABI,
        "--only-binary=:all:",
        "-r",
        str(REQUIREMENTS),
    ]


def dependencies_zip(python: str | None = None) -> Path:
    """The dependencies as a zip (cached): installed for the runtime, `.pyc` compiled by its Python."""
    final = CACHE / dependencies_key()
    archive = final / "dependencies.zip"
    if archive.exists():
        return archive
    python = python or runtime.find_python()
    CACHE.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="build-", dir=CACHE))
    try:
        site = work / "site"
        subprocess.run(pip_command(python, site), check=True)
        compile_pyc(python, site)
        write_zip(work / "dependencies.zip", sorted(_tree(site)))
        try:
            os.rename(work, final)  # atomic: a concurrent build of the same key may have won
        except OSError:
            if not archive.exists():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for stale in CACHE.iterdir():  # older requirements' builds (in-progress builds are named build-*)
        if stale != final and not stale.name.startswith("build-"):
            shutil.rmtree(stale, ignore_errors=True)
    return archive


def compile_pyc(python: str, root: Path) -> None:
    """`.pyc` for the runtime's Python, checked against the source hash, naming files as Lambda sees
    them (`/var/task/...` in tracebacks): reproducible, and no build machine path in the package."""
    subprocess.run(
        [
            python,
            "-m",
            "compileall",
            "-q",
            "-j",
            "0",
            "--invalidation-mode",
            "checked-hash",
            "-s",
            str(root),
            "-p",
            LAMBDA_TASK_ROOT,
            str(root),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )


# --- the zip -------------------------------------------------------------------------------------


def _tree(root: Path) -> Iterator[tuple[str, Path]]:
    """(name in the zip, file) for every file under root but console scripts (never run on Lambda)."""
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        if path.is_file() and relative.parts[0] != "bin":
            yield relative.as_posix(), path


def app_files(with_pyc: bool) -> list[tuple[str, Path]]:
    """What `chalice package` adds besides the dependencies: Chalice's runtime module and the app."""
    import chalice
    from chalice import app as chalice_app

    files = [
        ("chalice/__init__.py", Path(inspect.getfile(chalice))),
        ("chalice/app.py", Path(inspect.getfile(chalice_app))),
        ("app.py", REPO_ROOT / "app.py"),
    ]
    for path in sorted((REPO_ROOT / "chalicelib").rglob("*")):
        name = path.relative_to(REPO_ROOT).as_posix()
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc" and not name.startswith(LOCAL_ONLY):
            files.append((name, path))
    if not with_pyc:
        return files
    staged = scratch("imagegen-app-")
    for name, source in files:
        (staged / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, staged / name)
    compile_pyc(runtime.find_python(), staged)
    return sorted(_tree(staged))


def write_zip(path: Path, files: list[tuple[str, Path]], append: bool = False) -> None:
    """Entries in the given order with fixed timestamps and modes (the same inputs, the same bytes)."""
    with zipfile.ZipFile(path, "a" if append else "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name, source in files:
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.create_system = 3
            info.external_attr = 0o100644 << 16  # readable by the runtime's user; shared objects need no x bit
            info.compress_type = zipfile.ZIP_DEFLATED
            with source.open("rb") as data:
                archive.writestr(info, data.read(), compresslevel=6)


@cache
def package_for(mode: str) -> Path:
    """The zip of `mode`, built once per process (both stages deploy the same code)."""
    return build_package(mode)


def build_package(mode: str, out_dir: Path | None = None) -> Path:
    """The deployment zip for `mode`; `full` needs a CPython 3.12 (and PyPI once per requirements)."""
    if mode not in MODES:
        raise ValueError(f"package mode must be one of {', '.join(MODES)}, not {mode!r}")
    out = (out_dir or scratch("imagegen-package-")) / f"imagegen-{mode}.zip"
    if mode == FULL:
        shutil.copyfile(dependencies_zip(), out)
    write_zip(out, app_files(with_pyc=mode == FULL), append=mode == FULL)
    return out
