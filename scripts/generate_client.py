"""Generate the Python client of the API from the app's own OpenAPI document.

`openapi-python-client` (a maintained generator, pinned in requirements-dev.txt) turns
`build_openapi(app.app)` into a typed package, `imagegen_client` (attrs models, httpx calls).
The client is generated, never committed: the spec changes with every route, so a committed copy
would drift. `make client` writes it to build/client/; tests/e2e/test_generated_client.py
generates it into a temporary directory and drives the local stack with it.

Offline by construction: the generator reads a file, and its post hooks (which would run ruff
or black on the output) are turned off, so nothing but this interpreter runs.

    .venv/bin/python scripts/generate_client.py [OUTPUT_DIR]     # default: build/client
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

PACKAGE = "imagegen_client"
ROOT = Path(__file__).resolve().parents[1]
CONFIG = f"post_hooks: []\npackage_name_override: {PACKAGE}\nproject_name_override: imagegen-client\n"


def spec() -> dict[str, object]:
    """The OpenAPI document the app serves at /openapi.json."""
    sys.path.insert(0, str(ROOT))
    import app
    from chalicelib.api.openapi import build_openapi

    return build_openapi(app.app)


def generate(output_dir: Path) -> Path:
    """Write the `imagegen_client` package under `output_dir`; returns the package's directory.

    Fails (CalledProcessError) when the generator warns about any part of the document: a
    construct it cannot model would otherwise vanish from the client silently."""
    output_dir.mkdir(parents=True, exist_ok=True)
    package = output_dir / PACKAGE
    with tempfile.TemporaryDirectory() as work:
        document, config = Path(work) / "openapi.json", Path(work) / "config.yaml"
        document.write_text(json.dumps(spec()))
        config.write_text(CONFIG)
        command = [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(document)]
        command += ["--output-path", str(package), "--config", str(config), "--meta", "none"]
        command += ["--overwrite", "--fail-on-warning"]
        subprocess.run(command, check=True, capture_output=True, text=True)
    return package


def main(argv: list[str]) -> int:
    target = Path(argv[0]) if argv else ROOT / "build" / "client"
    try:
        package = generate(target)
    except subprocess.CalledProcessError as failed:
        print(failed.stdout, failed.stderr, sep="\n", file=sys.stderr)
        return 1
    print(f"generated {package} (import it with {target} on sys.path)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
