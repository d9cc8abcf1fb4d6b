"""The fault suite at a small size (bench/bench_faults.py: real Celery workers, the simulator,
proxies of our own cut in front of Kuscia, PostgreSQL and Redis). For every fault: the console
recovers, stores every job and task transition the simulator went through exactly once (none
lost, none duplicated) and no page answers 5xx meanwhile. The figures are only printed."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from tests.bench.conftest import ROOT, run_bench

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]


def scenarios() -> set[str]:
    """bench_faults.SCENARIOS, read without importing the script (it sets up Django)."""
    tree = ast.parse((ROOT / "bench" / "bench_faults.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "SCENARIOS":
            return set(ast.literal_eval(node.value))
    raise AssertionError("no SCENARIOS in bench_faults.py")


def test_fault_suite_small(bench_pg_env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "faults.json"
    args = ["--down", "3", "--window", "3", "--slow", "2", "--changes", "2", "--json", str(out)]
    printed = run_bench("bench_faults.py", args, bench_pg_env, timeout=540)
    results = {r["scenario"]: r for r in json.loads(out.read_text())}
    assert set(results) == scenarios() and len(results) >= 9
    for name, r in results.items():
        assert name in printed  # its line of the table
        assert r["recover_s"] is not None, f"{name}: not recovered"
        assert r["truth"] >= r["changes"] == 2, f"{name}: the changes did not happen: {r}"
        assert (r["lost"], r["dup"]) == (0, 0), f"{name}: transitions lost/duplicated: {r}"
        assert r["pages"] > 0 and r["pages_5xx"] == 0, f"{name}: pages answered 5xx: {r}"
    assert "watch taken over by the other worker: True" in printed
