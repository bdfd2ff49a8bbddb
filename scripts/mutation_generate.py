"""Write mutmut's mutants (mutants/, with their .meta files) without running any test.

    .venv/bin/python scripts/mutation_generate.py

Why: `make mutation-sample` draws its sample from the generated mutants' names, and every
`mutmut run` starts by running the whole selected test set once ("clean tests", ~20 minutes on
2 cores here). Generating first and then starting ONE run with the sampled names pays that once.
mutmut 3 has no generate-only command, so this calls the same steps its `run` starts with
(mutmut 3.8; pinned in requirements-dev.txt).

With `type_check_command` set in `[tool.mutmut]`, it then runs mypy over the mutants once and
records every mutant mypy refuses as killed (exit code 37, mutmut's own), with mypy's message,
so neither a sample nor `scripts/mutation_run.py` spends a test run on it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path

from mutmut import configuration
from mutmut.__main__ import create_mutants, store_lines_covered_by_tests
from mutmut.mutation.file_mutation import filter_mutants_with_type_checker
from mutmut.mutation.trampoline import set_mutant_under_test
from mutmut.utils.file_utils import copy_also_copy_files, copy_src_dir, setup_source_paths
from mutmut.utils.format_utils import get_module_from_key, mangled_name_from_mutant_name

TYPE_CHECKED = 37  # mutmut's exit code for a mutant the type checker refused (counted as killed)


def main() -> None:
    set_mutant_under_test("mutant_generation")
    Path("mutants").mkdir(exist_ok=True)
    copy_src_dir()
    copy_also_copy_files()
    setup_source_paths()
    store_lines_covered_by_tests()
    stats = create_mutants(os.cpu_count() or 2)
    print(f"mutants: {stats.mutated} files mutated, {stats.ignored} ignored, {stats.unmodified} unmodified")
    print(f"refused by the type checker: {record_type_checked()}")


def record_type_checked() -> int:
    """Run the configured type checker over mutants/ and mark what it refuses as killed."""
    command = configuration.config().type_check_command
    if not command:
        return 0
    # "python" in the configuration is this venv's interpreter, whatever PATH says.
    command = [sys.executable if part == "python" else part for part in command]
    configuration._config = dataclasses.replace(configuration.config(), type_check_command=command)
    caught = filter_mutants_with_type_checker()
    by_meta: dict[Path, dict[str, str]] = {}
    for name, mutant in caught.items():
        module = get_module_from_key(mangled_name_from_mutant_name(name)).replace(".", "/")
        by_meta.setdefault(Path("mutants") / f"{module}.py.meta", {})[name] = mutant.error.error_description
    for meta_path, errors in by_meta.items():
        meta = json.loads(meta_path.read_text())
        for name, error in errors.items():
            meta.setdefault("exit_code_by_key", {})[name] = TYPE_CHECKED
            meta.setdefault("type_check_error_by_key", {})[name] = error
        meta_path.write_text(json.dumps(meta, indent=4))
    return len(caught)


if __name__ == "__main__":
    main()
