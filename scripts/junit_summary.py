"""Print the failed and errored tests of a JUnit XML report, last, in a few lines each.

CI keeps only the tail of what a run prints, and the local stacks of the e2e tests flush their logs
after pytest's own summary: this puts the names and the first lines of each failure at the very end.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET  # our own pytest report

MAX_CASES = 12
MAX_LINES = 6


def main(path: str) -> int:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        print(f"junit summary: no report at {path} ({exc})")
        return 0
    bad = []
    for case in root.iter("testcase"):
        for kind in ("failure", "error"):
            for node in case.findall(kind):
                bad.append((kind, f"{case.get('classname')}::{case.get('name')}", node))
    print(f"=== {len(bad)} failed or errored (from {path}) ===")
    for kind, name, node in bad[:MAX_CASES]:
        first = (node.get("message") or "").splitlines()[:1]
        print(f"{kind.upper()} {name}: {first[0] if first else ''}")
        text = (node.text or "").strip().splitlines()
        for line in text[-MAX_LINES:]:
            print(f"    {line[:300]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "build/junit.xml"))
