"""`make test`: lint, type-check, the translation catalogues' completeness check, then the whole
test suite (with the catalogues compiled, so that pages can be tested in both languages).

The unit tier runs on SQLite. The integration and browser tiers run on PostgreSQL, Redis and
Debian's Chromium when they are reachable; where they are not, those tests are skipped with the
reason printed, except with KC_REQUIRE_SERVICES=1 (set by .ci/run), where a missing service
fails the run instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def run(cmd: list[str], env: dict[str, str] | None = None) -> int:
    print("+", " ".join(cmd), flush=True)
    return subprocess.call(cmd, cwd=ROOT, env=env)


def main() -> int:
    args = sys.argv[1:]
    if run([str(BIN / "ruff"), "check", "."]) or run([str(BIN / "ruff"), "format", "--check", "."]):
        return 1
    if run([str(BIN / "mypy"), "."]):
        return 1
    manage = [sys.executable, "manage.py", "catalogues"]
    if run([*manage, "check"]) or run([*manage, "compile"]):
        return 1
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    # Tier 1: unit tests on SQLite, no services.
    code = run([str(BIN / "pytest"), "-m", "not integration and not browser", *args], env=env)
    if code not in (0, 5):
        return code
    # Tier 2: integration and browser tests on PostgreSQL, Redis and Chromium. The conftest
    # skips them with the reason when a service is missing (fails with KC_REQUIRE_SERVICES=1).
    env["DATABASE_URL"] = os.environ.get(
        "KC_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/kuscia_console"
    )
    env["REDIS_URL"] = os.environ.get("KC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    code2 = run([str(BIN / "pytest"), "-m", "integration or browser", *args], env=env)
    if code2 == 5 and code == 5:
        print("no tests ran", flush=True)
        return 1
    return code2 if code2 != 5 else 0


if __name__ == "__main__":
    sys.exit(main())
