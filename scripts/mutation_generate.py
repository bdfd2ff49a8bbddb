"""Write mutmut's mutants (mutants/, with their .meta files) without running any test.

    .venv/bin/python scripts/mutation_generate.py

Why: `make mutation-sample` draws its sample from the generated mutants' names, and every
`mutmut run` starts by running the whole selected test set once ("clean tests", ~20 minutes on
2 cores here). Generating first and then starting ONE run with the sampled names pays that once.
mutmut 3 has no generate-only command, so this calls the same steps its `run` starts with
(mutmut 3.8; pinned in requirements-dev.txt).
"""

from __future__ import annotations

import os
from pathlib import Path

from mutmut.__main__ import create_mutants, store_lines_covered_by_tests
from mutmut.mutation.trampoline import set_mutant_under_test
from mutmut.utils.file_utils import copy_also_copy_files, copy_src_dir, setup_source_paths


def main() -> None:
    set_mutant_under_test("mutant_generation")
    Path("mutants").mkdir(exist_ok=True)
    copy_src_dir()
    copy_also_copy_files()
    setup_source_paths()
    store_lines_covered_by_tests()
    stats = create_mutants(os.cpu_count() or 2)
    print(f"mutants: {stats.mutated} files mutated, {stats.ignored} ignored, {stats.unmodified} unmodified")


if __name__ == "__main__":
    main()
