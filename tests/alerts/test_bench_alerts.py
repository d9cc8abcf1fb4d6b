"""bench/bench_alerts.py at a small size: its preconditions hold (the first sweep opens exactly
the incidents the data implies, steady sweeps change nothing, every webhook call is signed)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench" / "bench_alerts.py"


def run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, str(BENCH), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def test_sweep_benchmark_small(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL",)}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'bench.sqlite3'}"
    out = run(["--jobs", "1000", "--sweeps", "3", "--samples", "0"], env)
    # The counts are checked inside the benchmark against what the generated data implies.
    assert re.search(r"sweep N=1000: [1-9]\d* incidents opened by the first sweep", out), out
    assert "steady sweep p50" in out


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_latency_benchmark_small() -> None:
    url = urlparse(os.environ["DATABASE_URL"])
    env = dict(os.environ)
    env["DATABASE_URL"] = url._replace(path=url.path + "_alerts_bench").geturl()
    out = run(["--jobs", "300", "--sweeps", "2", "--samples", "3"], env)
    assert "latency Kuscia change -> signed webhook (3 samples, watch)" in out, out
