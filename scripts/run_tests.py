"""`make test`: lint, type-check, check the layer contracts and the translation catalogues'
completeness, then the whole test suite (with the catalogues compiled, so that pages can be
tested in both languages).

The unit tier runs on SQLite. The integration and browser tiers run on PostgreSQL, Redis and
Debian's Chromium when they are reachable; where they are not, those tests are skipped with the
reason printed, except with KC_REQUIRE_SERVICES=1 (set by .ci/run), where a missing service
fails the run instead.

A tier that collects no test (pytest's exit status 5, e.g. after a marker was renamed) fails the
run. Arguments (`make test ARGS="-k watch"`) narrow the run on purpose: then one tier may match
nothing, but not both.
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


NO_TESTS = 5  # pytest's exit status when it collected nothing


def main() -> int:
    args = sys.argv[1:]
    if run([str(BIN / "ruff"), "check", "."]) or run([str(BIN / "ruff"), "format", "--check", "."]):
        return 1
    if run([str(BIN / "mypy"), "."]):
        return 1
    if run([str(BIN / "lint-imports")]):  # the layer contracts in pyproject.toml
        return 1
    manage = [sys.executable, "manage.py", "catalogues"]
    if run([*manage, "check"]) or run([*manage, "compile"]):
        return 1
    unit_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    service_env = {
        **unit_env,
        "DATABASE_URL": os.environ.get(
            "KC_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/kuscia_console"
        ),
        "REDIS_URL": os.environ.get("KC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
    }
    tiers = [
        # Tier 1: unit tests on SQLite, no services.
        ("unit", "not integration and not browser", unit_env),
        # Tier 2: integration and browser tests on PostgreSQL, Redis and Chromium. The conftest
        # skips them with the reason when a service is missing (fails with KC_REQUIRE_SERVICES=1).
        ("integration and browser", "integration or browser", service_env),
    ]
    empty: list[str] = []
    for name, marker, env in tiers:
        code = run([str(BIN / "pytest"), "-m", marker, *args], env=env)
        if code == NO_TESTS:
            print(f"the {name} tier collected no tests", flush=True)
            empty.append(name)
        elif code:
            return code
    if empty and (not args or len(empty) == len(tiers)):
        print(f"failing: the {' and the '.join(empty)} tier ran nothing", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
