"""bench/bench_network.py runs at a small size (its preconditions asserted, its figures
printed) on a PostgreSQL database of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
ROOT = Path(__file__).resolve().parents[2]


def test_bench_network_small(tmp_path):
    url = urlparse(os.environ["DATABASE_URL"])
    import psycopg

    name = f"{url.path.lstrip('/')}_bench_small"
    admin = url._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as pg:
        pg.execute(f'DROP DATABASE IF EXISTS "{name}"')
        pg.execute(f'CREATE DATABASE "{name}"')
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PYTEST")},
        "DATABASE_URL": url._replace(path=f"/{name}").geturl(),
        "KC_VAR_DIR": str(tmp_path),
    }
    args = ["--domains", "6", "--routes", "20", "--data", "300", "--days", "20", "--runs", "3"]
    done = subprocess.run(
        [sys.executable, "bench/bench_network.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    print(done.stdout, done.stderr)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "data: 6 nodes, 20 routes" in done.stdout
    for page in ("/network/ ", "/data/ search", "data item"):
        assert page in done.stdout
    assert "one poll of 6 domains and 20 routes sent 2 requests" in done.stdout
    with psycopg.connect(admin, autocommit=True) as pg:
        pg.execute(f'DROP DATABASE IF EXISTS "{name}"')
