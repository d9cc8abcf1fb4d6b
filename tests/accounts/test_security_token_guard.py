"""The suite-wide token guard (tests/fixtures/token_guard.py) catches what it promises to.

Each check here makes the guard see a leak on purpose, asserts that it was named, and then
takes the leak away so this test itself passes; the last test runs an inner pytest to show
that an unclaimed leak fails the test that made it.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from tests.fixtures.token_guard import TokenGuard

FAKE = "guard-probe-0123456789abcdef"
ROOT = Path(__file__).resolve().parents[2]


def test_the_guard_knows_the_simulators_token(kuscia_sim, token_guard: TokenGuard):
    assert kuscia_sim.token in token_guard.tokens


def test_a_token_in_a_response_body_is_caught(client, token_guard: TokenGuard):
    token_guard.learn(FAKE)
    response = client.get(f"/accounts/login/?next=/jobs/{FAKE}/")  # echoed in the form
    assert FAKE.encode() in response.content
    leaks = token_guard.take_leaks()
    assert any(w.startswith("response GET /accounts/login/") and "body" in w for w in leaks)


def test_a_token_in_a_log_line_is_caught_and_a_redacted_one_is_not(token_guard: TokenGuard):
    token_guard.learn(FAKE)
    logging.getLogger("kc.probe").warning("Token: %s", FAKE)  # redacted by the project filter
    assert token_guard.take_leaks() == []
    logging.getLogger("kc.probe").warning("copied %s into the page", FAKE)
    assert token_guard.take_leaks() == ["log line of logger 'kc.probe'"]


@pytest.mark.django_db
def test_a_token_in_a_database_row_is_caught(token_guard: TokenGuard):
    token_guard.learn(FAKE)
    User.objects.create(username="probe", first_name="x", last_name=FAKE[:20])
    token_guard.check_db()  # a prefix of the token is no leak
    assert token_guard.take_leaks() == []
    User.objects.filter(username="probe").update(last_name=FAKE)
    token_guard.check_db()
    assert token_guard.take_leaks() == ["db row in auth_user.last_name"]
    User.objects.filter(username="probe").delete()  # else the end-of-test check fails this test


def test_short_values_are_not_learned():
    guard = TokenGuard()
    guard.learn("abc")
    guard.observe("somewhere", "abc abc")
    assert guard.tokens == set() and guard.take_leaks() == []


def test_a_token_learned_late_is_checked_against_earlier_output():
    guard = TokenGuard()
    guard.start_test()
    guard.observe("response GET /early: body", f"<p>{FAKE}</p>")
    assert guard.take_leaks() == []
    guard.learn(FAKE)
    guard.recheck_late_tokens()
    assert guard.take_leaks() == ["response GET /early: body"]


def test_an_unclaimed_leak_fails_the_test_that_made_it(tmp_path: Path):
    (tmp_path / "test_inner.py").write_text(
        "import logging\n"
        "from tests.fixtures.token_guard import GUARD\n"
        f"def test_leaks():\n    GUARD.learn({FAKE!r})\n"
        f"    logging.getLogger('leaky').warning('here: %s', {FAKE!r})\n"
        "def test_clean():\n    logging.getLogger('leaky').warning('nothing secret')\n"
        "def test_token_file_in_tmp_path(tmp_path):\n"
        "    (tmp_path / 'token').write_text('tmp-path-token-abcdef01')\n"
        "    logging.getLogger('leaky').warning('value tmp-path-token-abcdef01')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "dashboard.settings"}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "tests.fixtures.token_guard",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(tmp_path),
            "-c",
            os.devnull,
            str(tmp_path / "test_inner.py"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = run.stdout + run.stderr
    assert run.returncode == 1, out
    assert "2 failed, 1 passed" in out, out
    assert "token guard" in out and "log line of logger 'leaky'" in out, out
    assert "FAILED" in out and "test_inner.py::test_leaks" in out, out
    assert "test_inner.py::test_token_file_in_tmp_path" in out, out
