"""`manage.py kuscia` against the simulator over real mTLS."""

from __future__ import annotations

import json
from dataclasses import replace
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from kuscia.client import KusciaClient
from kuscia.config import ConnectionConfig
from tests.kuscia.test_wire import example_spec

pytestmark = pytest.mark.timeout(60)


def run(sim, *args: str, extra: tuple[str, ...] = ()) -> str:
    out = StringIO()
    call_command(
        "kuscia", "--url", sim.url, "--cert-dir", str(sim.cert_dir), *extra, *args, stdout=out
    )
    return out.getvalue()


def create(sim, job_id: str) -> None:
    config = ConnectionConfig.from_cert_dir(sim.url, sim.cert_dir)
    with KusciaClient(config) as kc:
        kc.create_job(replace(example_spec(), job_id=job_id))


def test_health_version_human_and_json(kuscia_sim):
    assert "ready" in run(kuscia_sim, "health")
    assert json.loads(run(kuscia_sim, "health", extra=("--json",))) == {"ready": True}
    assert run(kuscia_sim, "version").strip()


def test_status_and_query(kuscia_sim):
    create(kuscia_sim, "job-cmd-a")
    create(kuscia_sim, "job-cmd-b")
    text = run(kuscia_sim, "status", "job-cmd-a", "job-cmd-b")
    assert "job-cmd-a" in text and "job-cmd-b" in text and "task job-psi" in text
    lines = run(kuscia_sim, "status", "job-cmd-a", "job-cmd-b", extra=("--json",)).splitlines()
    objs = [json.loads(line) for line in lines]
    assert [o["job_id"] for o in objs] == ["job-cmd-a", "job-cmd-b"]
    assert set(objs[0]["status"]) >= {"state", "err_msg", "create_time", "tasks"}
    assert objs[0]["status"]["create_time"].endswith("Z")
    detail = json.loads(run(kuscia_sim, "query", "job-cmd-a", extra=("--json",)))
    assert detail["initiator"] == "alice" and detail["tasks"][1]["dependencies"] == ["job-psi"]
    assert "initiator alice" in run(kuscia_sim, "query", "job-cmd-a")


def test_watch_json_one_object_per_line(kuscia_sim_factory):
    sim = kuscia_sim_factory(heartbeat_interval=0.2)
    create(sim, "job-cmd-w")
    lines = run(sim, "watch", "--timeout", "1", extra=("--json",)).splitlines()
    events = [json.loads(line) for line in lines]
    assert events and events[0]["type"] == "ADDED" and events[0]["object"]["job_id"] == "job-cmd-w"
    assert all(e["type"] != "HEARTBEAT" for e in events)
    human = run(sim, "watch", "--timeout", "1")
    assert human.startswith("ADDED") and "job-cmd-w" in human


def test_domains_and_domaindata(kuscia_sim):
    text = run(kuscia_sim, "domains", "alice", "bob")
    assert "alice" in text and "bob" in text
    doms = [
        json.loads(x) for x in run(kuscia_sim, "domains", "alice", extra=("--json",)).splitlines()
    ]
    assert doms[0]["domain_id"] == "alice" and "node_statuses" in doms[0]
    table = run(kuscia_sim, "domaindata", "alice")
    assert table.startswith("ID") and "alice-table" in table
    items = [
        json.loads(x)
        for x in run(kuscia_sim, "domaindata", "alice", extra=("--json",)).splitlines()
    ]
    assert "alice-table" in [i["domaindata_id"] for i in items]


def test_errors_print_the_hint_and_exit_nonzero(kuscia_sim, tmp_path):
    with pytest.raises(CommandError) as err:
        run(kuscia_sim, "status", "job-missing")
    assert err.value.returncode == 1
    assert "not_found" in str(err.value) and "hint:" in str(err.value)
    bad = tmp_path / "token"
    bad.write_bytes(b"Z" * 32)
    out = StringIO()
    with pytest.raises(CommandError) as err:
        call_command(
            "kuscia",
            "--url",
            kuscia_sim.url,
            "--cert-dir",
            str(kuscia_sim.cert_dir),
            "--token-file",
            str(bad),
            "--json",
            "health",
            stdout=out,
        )
    assert "unauthorized" in str(err.value) and "Token" in str(err.value)
    assert json.loads(out.getvalue())["error"]["kind"] == "unauthorized"
    with pytest.raises(CommandError) as err:
        run(kuscia_sim, "health", extra=("--cert-file", str(tmp_path / "nope.crt")))
    assert "cert_file" in str(err.value) and "(58)" in str(err.value)


def test_defaults_come_from_settings(kuscia_sim, settings):
    settings.KUSCIA_API_URL = kuscia_sim.url
    settings.KUSCIA_CERT_DIR = str(kuscia_sim.cert_dir)
    settings.KUSCIA_PROTOCOL = "MTLS"
    for name in ("CA", "CERT", "KEY", "TOKEN"):
        setattr(settings, f"KUSCIA_{name}_FILE", "")
    out = StringIO()
    call_command("kuscia", "health", stdout=out)
    assert kuscia_sim.url in out.getvalue()


def test_check_subcommand_runs_the_connection_check(kuscia_sim):
    text = run(kuscia_sim, "check", "--domain", "alice", "--domain", "bob")
    assert "Checking" in text and "[     ok]" in text
    steps = [json.loads(x) for x in run(kuscia_sim, "check", extra=("--json",)).splitlines()]
    assert steps and all(s["status"] in ("ok", "warn", "skipped") for s in steps)
