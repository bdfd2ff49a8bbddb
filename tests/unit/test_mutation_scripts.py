"""The mutation score scripts: what a sampled run may claim, and which mutants it picks."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import mutation_report
import mutation_sample


def _meta(root: Path, module: str, codes: dict[str, int | None]) -> None:
    path = root / f"{module}.meta"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"exit_code_by_key": codes}))


def test_the_wilson_interval_brackets_the_rate_and_narrows_with_the_sample() -> None:
    low, high = mutation_report.wilson(370, 400)
    assert low < 370 / 400 < high
    assert (round(low, 3), round(high, 3)) == (0.895, 0.947)
    wide = mutation_report.wilson(37, 40)
    assert wide[0] < low and wide[1] > high
    assert mutation_report.wilson(0, 0) == (0.0, 0.0)


def test_the_sample_is_seeded_and_only_of_unchecked_mutants(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _meta(tmp_path, "chalicelib/accounting/ledger.py", {f"ledger.m_{i}": None for i in range(30)} | {"ledger.done": 1})
    _meta(tmp_path, "chalicelib/billing/topup.py", {f"topup.m_{i}": (0 if i % 2 else None) for i in range(10)})
    assert mutation_sample.main(["--mutants", str(tmp_path), "--size", "8", "--seed", "3"]) == 0
    first = capsys.readouterr().out.split()
    assert mutation_sample.main(["--mutants", str(tmp_path), "--size", "8", "--seed", "3"]) == 0
    assert capsys.readouterr().out.split() == first
    assert len(first) == 8 and len(set(first)) == 8
    assert "ledger.done" not in first and not any(name in first for name in ("topup.m_1", "topup.m_3"))
    assert mutation_sample.main(["--mutants", str(tmp_path), "--size", "8", "--seed", "4"]) == 0
    assert capsys.readouterr().out.split() != first


def test_the_report_leaves_unchecked_mutants_out_of_the_score(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _meta(tmp_path / "m", "chalicelib/accounting/ledger.py", {"a": 1, "b": 1, "c": 0, "d": None, "e": 33})
    docs = tmp_path / "mutation.md"
    docs.write_text("| mutant | why |\n|---|---|\n| `c` | equivalent: same value |\n")
    assert mutation_report.main(["--mutants", str(tmp_path / "m"), "--equivalents", str(docs)]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["killed"] == 2 and summary["equivalent"] == 1 and summary["not_checked"] == 1
    assert summary["score_non_equivalent"] == round(2 / 3, 4)  # a, b killed; e (no tests) counts against
