"""`manage.py network nodes|routes|data|poll` against the simulator over mTLS."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from connections.models import Connection
from network.models import Node, Route

pytestmark = pytest.mark.django_db


@pytest.fixture
def conn(kuscia_sim, settings) -> Connection:
    settings.KUSCIA_NETWORK_DOMAINS = "bob,carol,nobody"
    settings.KUSCIA_DEFAULT_CONNECTION = False
    return Connection.objects.create(
        name="sim",
        url=kuscia_sim.url,
        protocol="MTLS",
        cert_dir=str(kuscia_sim.cert_dir),
        local_domain="alice",
    )


def run(*args: str) -> str:
    out = StringIO()
    call_command("network", *args, stdout=out)
    return out.getvalue()


def test_nodes_live_with_an_unknown_id_named(conn):
    out = run("nodes")
    assert "root-kuscia-lite-alice" in out and "Ready" in out
    assert "nobody: Kuscia has no such domain (11305)" in out
    rows = [json.loads(line) for line in run("--json", "nodes").splitlines()]
    assert {r["domain_id"] for r in rows} == {"alice", "bob", "carol", "nobody"}
    alice = next(r for r in rows if r["domain_id"] == "alice")
    assert alice["node_statuses"][0]["status"] == "Ready" and "cert" in alice


def test_poll_then_routes_with_a_broken_one(conn, kuscia_sim):
    out = run("poll")
    assert out.startswith("sim: 3 domains, 6 routes")
    assert Node.objects.filter(connection=conn).count() == 3
    assert Route.objects.filter(connection=conn).count() == 6
    kuscia_sim.world.set_route_status("bob", "alice", "Failed", "HeartBeatTimeout")
    out = run("routes")
    line = next(ln for ln in out.splitlines() if ln.startswith("bob") and " alice " in ln)
    assert "Failed" in line and "HeartBeatTimeout" in line
    out = run("poll", "--inventory")
    assert "inventory" in out


def test_data_of_a_domain(conn):
    out = run("data", "alice")
    assert "alice-table" in out and "25" in out
    (first, *_) = [json.loads(line) for line in run("--json", "data", "bob").splitlines()]
    assert first["domain_id"] == "bob"


def test_errors_are_explained(conn, kuscia_sim):
    with pytest.raises(CommandError, match="no enabled connection 'nope'"):
        run("--connection", "nope", "nodes")
    with pytest.raises(CommandError, match="no route known"):
        run("routes")
    kuscia_sim.stop()
    with pytest.raises(CommandError) as info:
        run("nodes")
    assert "connect_refused" in str(info.value) and "hint:" in str(info.value)


def same(a: str, b: str) -> bool:
    """Equal but for the heartbeat times (the simulator's agents beat between the calls)."""
    import re

    stamp = re.compile(r"\d{4}-\d\d-\d\d[ T][\d:.]+(Z|[+-]\d\d:?\d\d)?")
    return stamp.sub("T", a).strip() == stamp.sub("T", b).strip()


@pytest.mark.parametrize(
    "args",
    [
        ("nodes",),
        ("--json", "nodes"),
        ("nodes", "--json"),
        ("routes",),
        ("--json", "routes"),
        ("data", "alice"),
        ("data", "alice", "--json"),
    ],
)
def test_kuscia_nodes_routes_data_are_the_network_command(conn, args):
    """`manage.py kuscia nodes` is `manage.py network nodes`: the same output, options."""
    run("poll")
    network_args = [a for a in args if a != "--json"]
    if "--json" in args:
        network_args.insert(0, "--json")
    out = StringIO()
    call_command("kuscia", *args, "--connection", "sim", stdout=out)
    assert same(out.getvalue(), run("--connection", "sim", *network_args))
    assert out.getvalue().strip()


def test_kuscia_nodes_from_the_command_line(conn):
    """Through run_from_argv (what `manage.py kuscia nodes` runs), with the network command's
    own errors and exit codes."""
    from django.core.management import ManagementUtility

    out = StringIO()
    import contextlib

    with contextlib.redirect_stdout(out):
        ManagementUtility(["manage.py", "kuscia", "nodes", "--connection", "sim"]).execute()
    assert same(out.getvalue(), run("--connection", "sim", "nodes"))
    with pytest.raises(CommandError, match="no enabled connection 'nope'"):
        call_command("kuscia", "nodes", "--connection", "nope", stdout=StringIO())
    with pytest.raises(CommandError, match="uses a stored connection"):
        call_command("kuscia", "--url", "https://x:1", "routes", stdout=StringIO())
