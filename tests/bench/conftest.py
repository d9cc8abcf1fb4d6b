"""Helpers for the benchmark smoke tests: run a script of bench/ as `make run` would, on a
PostgreSQL database of its own (created empty, dropped after)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_bench(script: str, args: list[str], env: dict[str, str], timeout: float = 240) -> str:
    """Run bench/<script> once; fail with its output unless it exits 0. Returns its stdout."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        cwd=ROOT,
        env={k: v for k, v in env.items() if not k.startswith("PYTEST")},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    print(done.stdout, done.stderr)
    tail = done.stdout[-3000:] + done.stderr[-3000:]
    assert done.returncode == 0, f"exit {done.returncode}\n{tail}"
    return done.stdout


@pytest.fixture
def bench_pg_env(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """The environment for a benchmark on an empty PostgreSQL database of its own."""
    import psycopg

    url = urlparse(os.environ["DATABASE_URL"])
    name = f"{url.path.lstrip('/')}_{request.node.name[:30].lower()}"
    admin = url._replace(path="/postgres").geturl()

    def recreate(drop_only: bool = False) -> None:
        with psycopg.connect(admin, autocommit=True) as pg:
            pg.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            if not drop_only:
                pg.execute(f'CREATE DATABASE "{name}"')

    recreate()
    yield {
        **os.environ,
        "DATABASE_URL": url._replace(path=f"/{name}").geturl(),
        "KC_VAR_DIR": str(tmp_path),
    }
    recreate(drop_only=True)


BenchRunner = Callable[[str, list[str], dict[str, str]], str]
