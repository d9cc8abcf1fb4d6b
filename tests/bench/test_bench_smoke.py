"""Every script in bench/ runs once at a small size, so a change that breaks a benchmark (or
makes it stop measuring what it claims: each asserts its own preconditions and exits 1) fails
`make test`. bench_logs, bench_network, bench_alerts and bench_export have their smoke tests
next to their apps (tests/logs, tests/network, tests/alerts, tests/dashboard);
test_every_bench_has_a_smoke_test keeps the list complete."""

from __future__ import annotations

import os
import re

import pytest

from tests.bench.conftest import ROOT, run_bench

SMOKE_TESTS = {
    "bench_alerts.py": "tests/alerts/test_bench_alerts.py",
    "bench_export.py": "tests/dashboard/test_export.py",
    "bench_faults.py": "tests/bench/test_bench_faults.py",
    "bench_logs.py": "tests/logs/test_bench_logs.py",
    "bench_network.py": "tests/network/test_bench_network.py",
    "bench_pages.py": "tests/bench/test_bench_smoke.py",
    "bench_parse.py": "tests/bench/test_bench_smoke.py",
    "bench_sync.py": "tests/bench/test_bench_smoke.py",
}


def test_every_bench_has_a_smoke_test() -> None:
    scripts = sorted(p.name for p in (ROOT / "bench").glob("*.py") if p.name != "__init__.py")
    assert scripts == sorted(SMOKE_TESTS), "a bench/ script without a smoke test (add it here)"
    for script, test in SMOKE_TESTS.items():
        text = (ROOT / test).read_text()  # (fails when the test file is missing)
        assert script in text, f"{test} does not run {script}"


def test_bench_parse_small() -> None:
    out = run_bench("bench_parse.py", ["--sizes", "1", "20", "--budget", "0.02"], dict(os.environ))
    assert re.search(r"^\s+1\s+\d+\s+[\d,]+ \([\d,]+\)\s+[\d,]+ \([\d,]+\)$", out, re.M), out
    assert re.search(r"^\s+20\s+\d+\s+[\d,]+ \(", out, re.M), out


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_bench_sync_small(bench_pg_env: dict[str, str]) -> None:
    args = ["--sizes", "30", "--cycles", "2", "--samples", "3", "--poll-samples", "2"]
    out = run_bench("bench_sync.py", [*args, "--poll-interval", "0.5"], bench_pg_env)
    # The preconditions (30 jobs Running, ceil(30 / 200) = 1 request per cycle, samples from
    # Running jobs) are asserted by the script itself (exit 1); here: it printed its figures.
    line = next((x for x in out.splitlines() if x.startswith("N=")), "")
    assert "active jobs 30" in line and "requests/cycle    1 (expected 1)" in line, out
    for figure in ("rows written (no change) 0", "fetch+parse", "watch p50", "polling every"):
        assert figure in line, out


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_bench_pages_small(bench_pg_env: dict[str, str]) -> None:
    out = run_bench("bench_pages.py", ["--jobs", "120", "--runs", "2"], bench_pg_env)
    assert "jobs=120 " in out, out
    rows = [x for x in out.splitlines() if re.match(r"^\S.{31} +\d+\.\d +\d+\.\d", x)]
    assert any(x.startswith("trivial view (floor)") for x in rows), out
    assert len(rows) >= 10, out
    statuses = {x.split()[-1] for x in rows}
    assert statuses == {"200"} or statuses <= {"200", "304"}, statuses
