"""bench/bench_logs.py at a small size: its preconditions (every archived log equal to the
node's, the viewer's log size and window, the search counts) hold; figures are only printed."""

from __future__ import annotations

import argparse
import importlib.util
import os
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

BENCH = Path(__file__).resolve().parents[2] / "bench" / "bench_logs.py"


def test_bench_logs_small(transactional_db: Any, capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("bench_logs", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    saved = dict(os.environ)
    try:  # the script sets its own environment at import (KUSCIA_DEFAULT_CONNECTION=0...)
        spec.loader.exec_module(bench)
    finally:  # ... which must not leak into the tests after this one (or their subprocesses)
        os.environ.clear()
        os.environ.update(saved)
    args = argparse.Namespace(jobs=2, mb=0.2, parallel=4, log_mb=1.0, runs=3)
    figures = bench.run(args)
    print(figures)
    assert figures["archive_logs"] == 8
    assert figures["archive_mb_per_s"] > 0 and figures["store_only_mb_per_s"] > 0
    assert figures["view_log_mb"] >= 1.0
    assert figures["open_end_ms_p95"] > 0 and figures["search_ms_p95"] > 0
