"""benchmarks/README.md is generated from benchmarks/results/*.json and must stay in sync."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "benchmarks" / "report.py"


def test_benchmarks_readme_matches_the_results() -> None:
    done = subprocess.run(
        [sys.executable, str(REPORT), "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_an_unknown_results_file_gets_a_generic_table(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("benchmark_report", REPORT)
    assert spec is not None
    assert spec.loader is not None
    report = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(report)
    (tmp_path / "newbench.json").write_text(json.dumps({"speed": {"recforge": 1.5}, "n": 3}))
    text = report.generate(tmp_path)
    assert "## newbench" in text
    assert "| speed.recforge | 1.50 |" in text
