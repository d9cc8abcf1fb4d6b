"""`manage.py kuscia`: the connection options and --json are accepted after the action too, as
users type them (`kuscia status JOB --json`), not only before it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from kuscia.client import KusciaClient
from kuscia.config import ConnectionConfig
from tests.kuscia.test_wire import example_spec

pytestmark = pytest.mark.timeout(60)
ROOT = Path(__file__).resolve().parents[2]


def create(sim, job_id: str) -> None:
    with KusciaClient(ConnectionConfig.from_cert_dir(sim.url, sim.cert_dir)) as kc:
        kc.create_job(replace(example_spec(), job_id=job_id))


def run(*args: str) -> str:
    out = StringIO()
    call_command("kuscia", *args, stdout=out)
    return out.getvalue()


def test_options_after_the_action(kuscia_sim) -> None:
    create(kuscia_sim, "job-opt-a")
    conn = ("--url", kuscia_sim.url, "--cert-dir", str(kuscia_sim.cert_dir))
    after = run("status", "job-opt-a", "--json", *conn)
    assert json.loads(after)["job_id"] == "job-opt-a"
    mixed = run("--url", kuscia_sim.url, "status", "--json", "job-opt-a", "--cert-dir", conn[3])
    assert json.loads(mixed)["job_id"] == "job-opt-a"
    assert json.loads(run("health", *conn, "--json")) == {"ready": True}
    assert json.loads(run("query", "job-opt-a", *conn, "--json"))["initiator"] == "alice"
    assert "ready" in run("health", *conn)  # no --json anywhere: the human form


def test_an_option_after_the_action_overrides_one_before(kuscia_sim, tmp_path) -> None:
    # Given twice, the later one wins: here the wrong directory before, the right one after.
    out = run(
        "--url", kuscia_sim.url, "--cert-dir", str(tmp_path),
        "health", "--cert-dir", str(kuscia_sim.cert_dir),
    )  # fmt: skip
    assert "ready" in out


def test_as_typed_in_a_shell(kuscia_sim) -> None:
    create(kuscia_sim, "job-opt-b")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    result = subprocess.run(
        [sys.executable, "manage.py", "kuscia", "status", "job-opt-b", "--json",
         "--url", kuscia_sim.url, "--cert-dir", str(kuscia_sim.cert_dir)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"]["state"]
