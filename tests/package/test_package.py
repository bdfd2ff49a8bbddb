"""The real deployment package (not app-only) loads on the declared Lambda runtime.

Builds the full zip (infra/packaging.py; dependencies cached in .cache/lambda by the requirements'
hash, so only the first run downloads), then infra/package_check.py: every ELF file's needed
libraries and symbol versions against the python3.12 / AL2023 runtime, and the imports of the API
handler and the worker in a clean CPython 3.12 with the template's environment. The checks are
also shown to fail on the defects they exist for: a library the runtime lacks, one not bundled,
a glibc too new, an extension module for another Python or another architecture.
"""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra import package_check, packaging, runtime

pytestmark = [pytest.mark.xdist_group("package"), pytest.mark.timeout(900)]

PIL_IMAGING = "PIL/_imaging.cpython-312-x86_64-linux-gnu.so"


@pytest.fixture(scope="module")
def archive() -> Path:
    return packaging.build_package(packaging.FULL)


@pytest.fixture(scope="module")
def root(archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return package_check.unpack(archive, tmp_path_factory.mktemp("package"))


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return package_check.synth_template("dev")


def test_every_shared_object_loads_on_the_runtime(root: Path) -> None:
    report = package_check.check_shared_objects(root)
    assert report["problems"] == []
    assert report["elf_files"] >= 20  # Pillow and its libraries, pydantic-core, cryptography, jiter, ...
    assert tuple(map(int, report["glibc_max_needed"].split("."))) <= runtime.GLIBC_MAX
    assert set(report["runtime_libraries_used"]) <= runtime.RUNTIME_LIBRARIES


def test_the_package_holds_the_app_and_chalices_runtime_but_no_local_stack_or_build_paths(archive: Path) -> None:
    with zipfile.ZipFile(archive) as z:
        names = set(z.namelist())
        pyc = z.read("chalicelib/generation/__pycache__/worker.cpython-312.pyc")
    assert {"app.py", "chalice/app.py", "chalice/__init__.py", "chalicelib/generation/worker.py", PIL_IMAGING} <= names
    assert not any(name.startswith(("bin/", "/", "chalicelib/local/")) or ".." in name.split("/") for name in names)
    assert b"/var/task/chalicelib/generation/worker.py" in pyc, "tracebacks name the file as Lambda sees it"
    assert str(packaging.REPO_ROOT).encode() not in pyc


def test_the_zip_is_reproducible(archive: Path, tmp_path: Path) -> None:
    again = packaging.build_package(packaging.FULL, tmp_path)
    assert hashlib.sha256(again.read_bytes()).digest() == hashlib.sha256(archive.read_bytes()).digest()


def test_handlers_and_worker_import_in_a_clean_runtime_interpreter(root: Path, template: dict[str, Any]) -> None:
    problems, reports = package_check.check_imports(runtime.find_python(), root, template)
    assert problems == []
    assert reports["api_handler"]["python"].startswith(runtime.PYTHON_VERSION + ".")
    assert set(reports["api_handler"]["handlers"]) == {p["Handler"] for p in package_check.template_functions(template).values()}
    images = reports["worker"]["images"]
    assert {fmt: images[fmt][0] for fmt in ("png", "jpeg", "webp")} == {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
    assert images["features"]["webp"] is True


# --- the checks catch what they are for ---------------------------------------------------------------


def test_a_library_missing_from_the_runtime_is_reported(root: Path) -> None:
    without_zlib = runtime.RUNTIME_LIBRARIES - {"libz.so.1"}
    problems = package_check.check_shared_objects(root, allowed=without_zlib)["problems"]
    assert any(p.startswith(PIL_IMAGING) and "libz.so.1" in p for p in problems)


def test_a_glibc_newer_than_the_runtimes_is_reported(root: Path) -> None:
    limits = {**package_check.VERSION_LIMITS, "GLIBC": (2, 17)}
    problems = package_check.check_shared_objects(root, limits=limits)["problems"]
    assert problems and all("GLIBC_2." in p and "AL2023 has up to GLIBC_2.17" in p for p in problems)


@pytest.fixture
def lone_imaging(root: Path, tmp_path: Path) -> Iterator[Path]:
    """Pillow's extension module without the libraries its wheel bundles (what a local build ships)."""
    (tmp_path / "PIL").mkdir()
    shutil.copy2(root / PIL_IMAGING, tmp_path / PIL_IMAGING)
    yield tmp_path


def test_a_library_that_is_neither_in_the_runtime_nor_bundled_is_reported(lone_imaging: Path) -> None:
    problems = package_check.check_shared_objects(lone_imaging)["problems"]
    assert any("libjpeg-" in p and "neither in the python3.12 runtime nor bundled" in p for p in problems)


def test_an_extension_for_another_python_or_architecture_is_reported(lone_imaging: Path) -> None:
    other_python = lone_imaging / "PIL" / "_imaging.cpython-311-x86_64-linux-gnu.so"
    (lone_imaging / PIL_IMAGING).rename(other_python)
    data = bytearray(other_python.read_bytes())
    data[18:20] = (183).to_bytes(2, "little")  # e_machine = EM_AARCH64
    other_python.write_bytes(bytes(data))
    problems = package_check.check_shared_objects(lone_imaging)["problems"]
    assert any("another Python than 3.12" in p for p in problems)
    assert any("EM_AARCH64" in p and "not x86_64" in p for p in problems)


def test_an_import_that_fails_in_the_clean_interpreter_is_reported(tmp_path: Path, template: dict[str, Any]) -> None:
    (tmp_path / "app.py").write_text("import boto3\napp = None\n")  # boto3 is not on sys.path without the package
    problems, _ = package_check.check_imports(runtime.find_python(), tmp_path, template)
    assert problems and all("import failed" in p and "boto3" in p for p in problems)
