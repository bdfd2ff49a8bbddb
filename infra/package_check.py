"""Will the deployment package run on the declared Lambda runtime? Checked without an AWS account.

    .venv/bin/python -m infra.package_check        # or `make package-check`; JSON report, exit 1 on a problem

1. Every ELF file in the zip (extension modules and the libraries wheels bundle) is x86-64 and
   64-bit; each library it NEEDS is either in the runtime (infra/runtime.py RUNTIME_LIBRARIES) or
   bundled where the loader will look (its RPATH/RUNPATH, `$ORIGIN` expanded, or the package
   root and `lib/`, which Lambda's LD_LIBRARY_PATH covers); and every symbol version it needs
   from a runtime library (GLIBC_2.x, GCC_x, ZLIB_x, ...) is one that library has on AL2023.
2. The unzipped package is imported by a CPython of the runtime's version in a clean interpreter
   (`-I -S`: no site-packages, only the package and the standard library on sys.path) with the
   function's environment from the synthesized template: each function's handler resolves, the
   worker module imports, and Pillow encodes PNG, JPEG and WebP through the app's own tools.
   Every module loaded must come from the package or the standard library.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra import runtime

# Highest symbol version each runtime library has on AL2023 (glibc 2.34, GCC 11's libgcc_s and
# libstdc++ 6.0.29, zlib 1.2.11). A version prefix not listed here is not trusted at all.
VERSION_LIMITS: dict[str, tuple[int, ...]] = {
    "GLIBC": runtime.GLIBC_MAX,
    "GCC": (7, 0, 0),
    "GLIBCXX": (3, 4, 29),
    "CXXABI": (1, 3, 13),
    "ZLIB": (1, 2, 11),
}
ELF_MAGIC = b"\x7fELF"
WORKER_MODULE = "chalicelib.generation.worker"


@dataclass
class SharedObject:
    """What the dynamic loader needs to load one ELF file of the package."""

    path: str  # relative to the package root
    machine: str
    elf_class: int
    needed: list[str] = field(default_factory=list)
    search_path: list[str] = field(default_factory=list)  # RPATH/RUNPATH entries, as written
    versions: dict[str, set[str]] = field(default_factory=dict)  # library -> symbol versions needed


def read_elf(root: Path, relative: str) -> SharedObject:
    from elftools.elf.dynamic import DynamicSection
    from elftools.elf.elffile import ELFFile
    from elftools.elf.gnuversions import GNUVerNeedSection

    with (root / relative).open("rb") as handle:
        elf = ELFFile(handle)
        found = SharedObject(relative, elf.header.e_machine, elf.elfclass)
        for section in elf.iter_sections():
            if isinstance(section, DynamicSection):
                for tag in section.iter_tags():
                    if tag.entry.d_tag == "DT_NEEDED":
                        found.needed.append(tag.needed)
                    elif tag.entry.d_tag == "DT_RPATH":
                        found.search_path += [p for p in tag.rpath.split(":") if p]
                    elif tag.entry.d_tag == "DT_RUNPATH":
                        found.search_path += [p for p in tag.runpath.split(":") if p]
            elif isinstance(section, GNUVerNeedSection):
                for verneed, auxiliaries in section.iter_versions():
                    found.versions.setdefault(verneed.name, set()).update(aux.name for aux in auxiliaries)
    return found


def elf_files(root: Path) -> list[str]:
    """Every ELF file under root (by magic number: bundled libraries are named `libx-<hash>.so.6.2`)."""
    out = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as handle:
                if handle.read(4) == ELF_MAGIC:
                    out.append(path.relative_to(root).as_posix())
    return out


def _version_tuple(text: str) -> tuple[int, ...] | None:
    parts = text.split(".")
    return tuple(int(p) for p in parts) if all(p.isdigit() for p in parts) else None


def version_problems(obj: SharedObject, allowed: frozenset[str], limits: dict[str, tuple[int, ...]]) -> list[str]:
    """Symbol versions needed from runtime libraries that AL2023's copies do not have."""
    problems = []
    for library, versions in sorted(obj.versions.items()):
        if library not in allowed:
            continue  # satisfied by the bundled copy, checked by the loader lookup below
        for version in sorted(versions):
            prefix, _, number = version.partition("_")
            limit, parsed = limits.get(prefix), _version_tuple(number)
            if limit is None or parsed is None:
                problems.append(f"{obj.path}: needs {version} from {library}, a version this check cannot vouch for")
            elif parsed > limit:
                problems.append(
                    f"{obj.path}: needs {version} from {library}; AL2023 has up to {prefix}_{'.'.join(map(str, limit))}"
                )
    return problems


def loader_problems(obj: SharedObject, root: Path, allowed: frozenset[str]) -> list[str]:
    """NEEDED libraries that are neither in the runtime nor where the loader will find them in the package."""
    origin = (root / obj.path).parent
    dirs = [Path(entry.replace("$ORIGIN", str(origin)).replace("${ORIGIN}", str(origin))) for entry in obj.search_path]
    dirs += [root / sub for sub in runtime.TASK_LIBRARY_DIRS]
    problems = []
    for library in obj.needed:
        if library in allowed:
            continue
        if not any((d / library).resolve().is_relative_to(root.resolve()) and (d / library).is_file() for d in dirs):
            problems.append(
                f"{obj.path}: needs {library}, which is neither in the {runtime.RUNTIME} runtime "
                f"nor bundled where the loader looks"
            )
    return problems


def check_shared_objects(
    root: Path, allowed: frozenset[str] = runtime.RUNTIME_LIBRARIES, limits: dict[str, tuple[int, ...]] | None = None
) -> dict[str, Any]:
    """Problems (empty when the package loads on the runtime) and figures over every ELF file."""
    limits = VERSION_LIMITS if limits is None else limits
    objects = [read_elf(root, relative) for relative in elf_files(root)]
    problems: list[str] = []
    glibc: list[tuple[int, ...]] = []
    for obj in objects:
        if obj.machine != "EM_X86_64" or obj.elf_class != 64:
            problems.append(f"{obj.path}: built for {obj.machine}/{obj.elf_class}-bit, not {runtime.ARCHITECTURE}")
        if ".cpython-" in obj.path and f".cpython-{runtime.ABI[2:]}-" not in obj.path:
            problems.append(f"{obj.path}: an extension module for another Python than {runtime.PYTHON_VERSION}")
        problems += loader_problems(obj, root, allowed)
        problems += version_problems(obj, allowed, limits)
        glibc += [
            v
            for versions in obj.versions.values()
            for name in versions
            if name.startswith("GLIBC_") and (v := _version_tuple(name[6:]))
        ]
    runtime_needed = sorted({lib for obj in objects for lib in obj.needed if lib in allowed})
    return {
        "problems": problems,
        "elf_files": len(objects),
        "runtime_libraries_used": runtime_needed,
        "glibc_max_needed": ".".join(map(str, max(glibc))) if glibc else None,
    }


# --- importing the package in a clean interpreter -------------------------------------------------

IMPORT_PROBE = r"""
import importlib, io, json, os, sys, time
root = sys.argv[1]
sys.path.insert(0, root)
started = time.perf_counter()
module, _, attr = os.environ["_HANDLER"].rpartition(".")
handler = getattr(importlib.import_module(module), attr)
handlers = {name: callable(getattr(sys.modules[module], name.rpartition(".")[2], None))
            for name in filter(None, sys.argv[3].split(","))}
for extra in filter(None, sys.argv[2].split(",")):
    importlib.import_module(extra)
images = {}
if os.environ.get("PROBE_IMAGES"):
    from PIL import Image, features
    from chalicelib.generation import tools
    source = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(source, format="PNG")
    for fmt in ("png", "jpeg", "webp"):
        data, content_type, width, height = tools.apply_operations(source.getvalue(), [{"op": "format", "to": fmt}])
        with Image.open(io.BytesIO(data)) as back:
            images[fmt] = [back.format, content_type, back.size == (width, height) == (64, 48)]
    images["features"] = {name: features.check(name) for name in ("webp", "jpg", "zlib", "freetype2")}
allowed = (os.path.realpath(root), os.path.realpath(sys.base_prefix))
foreign = sorted(m.__name__ for m in list(sys.modules.values())
                 if getattr(m, "__file__", None) and not os.path.realpath(m.__file__).startswith(allowed))
print(json.dumps({"handler": callable(handler), "handlers": handlers, "images": images, "foreign_modules": foreign,
                  "seconds": round(time.perf_counter() - started, 3), "python": sys.version.split()[0]}))
"""


def lambda_environment(function_env: dict[str, Any], function_name: str, handler: str, root: Path) -> dict[str, str]:
    """The environment Lambda gives the function: the template's variables and the runtime's own."""
    env = {key: value if isinstance(value, str) else f"deploy-time-{key.lower()}" for key, value in function_env.items()}
    env.update(
        {
            "_HANDLER": handler,
            "AWS_LAMBDA_FUNCTION_NAME": function_name,
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime.RUNTIME}",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
            "LAMBDA_TASK_ROOT": str(root),
            "TZ": ":UTC",
            "LANG": "en_US.UTF-8",
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LD_LIBRARY_PATH": ":".join(str(root / sub) for sub in runtime.TASK_LIBRARY_DIRS),
            "AWS_ACCESS_KEY_ID": "package-check",
            "AWS_SECRET_ACCESS_KEY": "package-check",
        }
    )
    return env


def clean_command(python: str, code: str, *args: str, importtime: bool = False) -> list[str]:
    """`python -I -S`: no user or site packages; the probe puts only the package before the stdlib."""
    return [python, "-I", "-S", *(["-X", "importtime"] if importtime else []), "-c", code, *args]


def import_probe(
    python: str,
    root: Path,
    env: dict[str, str],
    extra: tuple[str, ...] = (),
    handlers: tuple[str, ...] = (),
    images: bool = False,
) -> dict[str, Any]:
    env = {**env, **({"PROBE_IMAGES": "1"} if images else {})}
    out = subprocess.run(
        clean_command(python, IMPORT_PROBE, str(root), ",".join(extra), ",".join(handlers)),
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-20:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def import_problems(report: dict[str, Any], function: str) -> list[str]:
    if "error" in report:
        return [f"{function}: import failed: " + "\n".join(report["error"])]
    problems = [f"{function}: handler {name} does not resolve" for name, ok in report["handlers"].items() if not ok]
    if not report["handler"]:
        problems.append(f"{function}: its handler is not callable")
    problems += [f"{function}: module {name} loaded from outside the package" for name in report["foreign_modules"]]
    for fmt, result in report["images"].items():
        if fmt != "features" and not (result[0] == fmt.upper() and result[2]):
            problems.append(f"{function}: Pillow could not round-trip {fmt}: {result}")
    return problems


# --- the template's functions ---------------------------------------------------------------------


def template_functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Chalice function name -> its SAM properties (Handler, Environment, Runtime, FunctionName)."""
    out = {}
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            props = resource["Properties"]
            out[props["FunctionName"].split("-", 2)[2].replace("-", "_")] = props
    return out


def synth_template(stage: str = "dev") -> dict[str, Any]:
    """The stage's template from an offline synth (app-only: the environment is the same as full's)."""
    from infra.synth import build_app

    with tempfile.TemporaryDirectory(prefix="package-check-cdk-") as outdir:
        build_app({"package": "app-only", "stage": stage}, outdir=outdir).synth()
        return json.loads((Path(outdir) / f"{stage}.template.json").read_text())


def check_imports(python: str, root: Path, template: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    functions = template_functions(template)
    problems = [
        f"{name}: runtime {p['Runtime']}, not {runtime.RUNTIME}"
        for name, p in functions.items()
        if p["Runtime"] != runtime.RUNTIME
    ]
    reports = {}
    for name, extra, images in (("api_handler", (), False), ("worker", (WORKER_MODULE,), True)):
        props = functions[name]
        env = lambda_environment(props["Environment"]["Variables"], props["FunctionName"], props["Handler"], root)
        handlers = tuple(p["Handler"] for p in functions.values()) if name == "api_handler" else ()
        reports[name] = import_probe(python, root, env, extra, handlers, images)
        problems += import_problems(reports[name], name)
    return problems, reports


def unpack(archive: Path, into: Path) -> Path:
    with zipfile.ZipFile(archive) as z:
        z.extractall(into)
    return into


def run(archive: Path | None = None) -> dict[str, Any]:
    """Build (or take) the full package, check it, and report figures; `problems` empty = good."""
    from infra import packaging

    started = time.perf_counter()
    python = runtime.find_python()
    archive = archive or packaging.build_package(packaging.FULL)
    with tempfile.TemporaryDirectory(prefix="package-check-") as tmp:
        root = unpack(archive, Path(tmp))
        unpacked = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
        elf = check_shared_objects(root)
        problems, reports = check_imports(python, root, synth_template())
    return {
        "problems": elf.pop("problems") + problems,
        "runtime": runtime.RUNTIME,
        "zip_bytes": archive.stat().st_size,
        "unzipped_bytes": unpacked,
        **elf,
        "imports": reports,
        "seconds": round(time.perf_counter() - started, 1),
    }


def main() -> int:
    report = run(Path(sys.argv[1]) if len(sys.argv) > 1 else None)
    print(json.dumps(report, indent=2))
    if report["problems"]:
        print(f"package check FAILED: {len(report['problems'])} problem(s)", file=sys.stderr)
        return 1
    print(
        f"package check passed: {report['elf_files']} ELF files, glibc <= {report['glibc_max_needed']}, "
        f"imports clean, {report['seconds']} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
