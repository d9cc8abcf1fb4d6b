"""Shared test set-up.

Tiers: unit tests (no marker) run anywhere on SQLite. Tests marked `integration` need
PostgreSQL (DATABASE_URL) and Redis (REDIS_URL); tests marked `browser` need Debian's
Chromium at /usr/bin/chromium; tests marked `needs("curl")` need that program. When one is
missing they are skipped with the reason, unless KC_REQUIRE_SERVICES=1 (CI), where they fail
instead.

Fixture modules live in tests/fixtures/ and are registered below.
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path
from urllib.parse import urlparse

import pytest

pytest_plugins = [
    f"tests.fixtures.{p.stem}"
    for p in sorted((Path(__file__).parent / "fixtures").glob("*.py"))
    if p.stem != "__init__"
]

CHROMIUM = Path("/usr/bin/chromium")


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), 2
        ):
            return True
    except OSError:
        return False


def _missing_services(item: pytest.Item) -> list[str]:
    missing: list[str] = []
    if item.get_closest_marker("integration") or item.get_closest_marker("browser"):
        db = os.environ.get("DATABASE_URL", "")
        if not db.startswith("postgres"):
            missing.append("DATABASE_URL does not name PostgreSQL")
        elif not _reachable(db, 5432):
            missing.append(f"PostgreSQL not reachable at {urlparse(db).hostname}")
        redis = os.environ.get("REDIS_URL", "")
        if not redis:
            missing.append("REDIS_URL not set")
        elif not _reachable(redis, 6379):
            missing.append(f"Redis not reachable at {urlparse(redis).hostname}")
    if item.get_closest_marker("browser") and not CHROMIUM.exists():
        missing.append("Chromium missing (apt-get install chromium)")
    for marker in item.iter_markers("needs"):  # @pytest.mark.needs("curl"): a program on PATH
        missing += [f"{tool} is not installed" for tool in marker.args if not shutil.which(tool)]
    return missing


def pytest_runtest_setup(item: pytest.Item) -> None:
    missing = _missing_services(item)
    if not missing:
        return
    reason = "; ".join(missing)
    if os.environ.get("KC_REQUIRE_SERVICES") == "1":
        pytest.fail(f"required service missing: {reason}", pytrace=False)
    pytest.skip(f"service tier skipped: {reason}")
