"""Connections as Kuscia nodes: the role learned by the check (page and command), a master and
its lites as one deployment (lites are log nodes, not job sources), which node serves a party's
logs, and `manage.py connections list|add|edit|remove|check` with its audit records."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from audit.models import AuditRecord
from connections import nodes
from connections.models import Connection
from jobs.sync.watch import watch_candidates
from kuscia.node import NodeInfo
from tests.connections.test_check_pages import login_as
from tests.fixtures.data import make_job

pytestmark = pytest.mark.django_db


def conn(name, role="", domains=(), **kw):
    return Connection.objects.create(
        name=name, url=f"https://{name}:8082", role=role, domains=list(domains), **kw
    )


def run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command("connections", *args, stdout=out)
    return out.getvalue()


def test_master_and_its_lites_form_one_deployment(settings):
    settings.KUSCIA_DEFAULT_CONNECTION = False
    master = conn("master", "master", ["alice", "bob"])
    lite_a = conn("lite-alice", "lite", ["alice"])
    lite_b = conn("lite-bob", "lite", ["bob"])
    other = conn("lite-zed", "lite", ["zed"])  # no master of ours holds zed: a job source
    assert set(Connection.objects.log_only_ids()) == {lite_a.pk, lite_b.pk}
    assert watch_candidates() == [master.pk, other.pk]
    assert list(Connection.objects.with_sync()) == [other, master]  # by name
    assert nodes.log_node_for(master, "bob").connection == lite_b
    assert nodes.log_node_for(lite_a, "alice").connection == lite_a
    missing = nodes.log_node_for(master, "carol")
    assert missing.connection is None
    assert "master" in missing.reason and "kuscia-lite-carol" in missing.hint
    assert "kusciaapi-server.key" in missing.hint


def test_p2p_party_logs_come_from_its_own_autonomy_node():
    alice = conn("alice", "autonomy", ["alice"], mode="p2p")
    bob = conn("bob", "autonomy", ["bob"], mode="p2p")
    assert nodes.log_node_for(alice, "alice").connection == alice
    assert nodes.log_node_for(alice, "bob").connection == bob
    bob.enabled = False
    bob.save()
    gone = nodes.log_node_for(alice, "bob")
    assert gone.connection is None and "kuscia-autonomy-bob" in gone.hint


def test_check_page_records_the_role(client, kuscia_sim_factory, tmp_path):
    login_as(client, "viewer")
    master = kuscia_sim_factory()
    lite = kuscia_sim_factory(cert_dir=tmp_path / "lite-bob", world=master.world, lite_domain="bob")
    c = Connection.objects.create(name="lite-bob", url=lite.url, cert_dir=str(lite.cert_dir))
    m = Connection.objects.create(name="master", url=master.url, cert_dir=str(master.cert_dir))
    assert client.get(reverse("connections:check", args=["lite-bob"])).status_code == 200
    assert client.get(reverse("connections:check", args=["master"])).status_code == 200
    c.refresh_from_db()
    m.refresh_from_db()
    assert (c.role, c.domains) == ("lite", ["bob"])
    assert m.role == "master" and m.domains == ["bob"]  # bob is known through its lite
    html = client.get(reverse("connections:list")).content.decode()
    assert "Kuscia says: lite" in html and "serves bob" in html
    assert "task logs only" in html


def test_record_node_is_the_one_write_path():
    c = conn("x")
    nodes.record_node(c, NodeInfo("autonomy", ("zoe", "amy"), "told"))
    c.refresh_from_db()
    assert (c.role, c.domains, c.role_detail) == ("autonomy", ["amy", "zoe"], "told")
    assert c.role_checked_at is not None and not nodes.needs_probe(c)


def test_cli_add_edit_list_remove_are_audited(tmp_path):
    out = run(
        "add",
        "lite-bob",
        "--url",
        "https://127.0.0.1:18084",
        "--cert-dir",
        str(tmp_path),
        "--mode",
        "lite",
        "--local-domain",
        "bob",
    )
    assert "lite-bob added" in out
    c = Connection.objects.get(name="lite-bob")
    assert (c.mode, c.local_domain, c.cert_dir) == ("lite", "bob", str(tmp_path))
    with pytest.raises(CommandError, match="exists"):
        run("add", "lite-bob", "--url", "https://127.0.0.1:18084", "--cert-dir", str(tmp_path))
    run(
        "add",
        "lite-bob",
        "--url",
        "https://127.0.0.1:18085",
        "--cert-dir",
        str(tmp_path),
        "--update",
    )
    run("edit", "lite-bob", "--disable")
    c.refresh_from_db()
    assert c.url == "https://127.0.0.1:18085" and not c.enabled and c.mode == "lite"
    rows = [json.loads(line) for line in run("list", "--json").splitlines()]
    assert [r["name"] for r in rows] == ["lite-bob"] and rows[0]["enabled"] is False
    run("remove", "lite-bob")
    assert not Connection.objects.filter(name="lite-bob").exists()
    actions = list(
        AuditRecord.objects.filter(connection_name="lite-bob")
        .order_by("created_at", "id")
        .values_list("action", "username")
    )
    assert [a for a, _ in actions] == [
        "connection_add",
        "connection_edit",
        "connection_edit",
        "connection_del",
    ]
    assert all(u.startswith("manage.py") for _, u in actions)


def test_cli_refuses_bad_input_without_writing(tmp_path):
    with pytest.raises(CommandError, match="url"):
        run("add", "bad", "--url", "ftp://x", "--cert-dir", str(tmp_path))
    with pytest.raises(CommandError, match="not kept"):
        run("add", "bad", "--url", "https://x:1", "--token-file", "abcdefSECRETTOKEN")
    with pytest.raises(CommandError, match="no connection"):
        run("edit", "nope", "--url", "https://x:1")
    assert not Connection.objects.exists()
    assert not AuditRecord.objects.exists()


def test_cli_remove_keeps_jobs_unless_asked():
    c = conn("old")
    make_job(c, "job-1")
    with pytest.raises(CommandError, match="--delete-jobs"):
        run("remove", "old")
    assert Connection.objects.filter(name="old").exists()
    run("remove", "old", "--delete-jobs")
    assert not Connection.objects.filter(name="old").exists()


def test_cli_check_learns_the_role(kuscia_sim_factory, tmp_path):
    master = kuscia_sim_factory()
    lite = kuscia_sim_factory(
        cert_dir=tmp_path / "lite-carol", world=master.world, lite_domain="carol"
    )
    run("add", "lite-carol", "--url", lite.url, "--cert-dir", str(lite.cert_dir))
    out = run("check", "lite-carol")
    assert "Node role: lite, serving carol" in out
    assert Connection.objects.get(name="lite-carol").domains == ["carol"]


def test_cli_role_only_probes_lites_first(kuscia_sim_factory, tmp_path, settings):
    settings.KUSCIA_DEFAULT_CONNECTION = False
    master = kuscia_sim_factory()
    lite = kuscia_sim_factory(cert_dir=tmp_path / "lite-bob", world=master.world, lite_domain="bob")
    run("add", "master", "--url", master.url, "--cert-dir", str(master.cert_dir))
    run("add", "lite-bob", "--url", lite.url, "--cert-dir", str(lite.cert_dir), "--mode", "lite")
    out = run("check", "--all", "--role-only")
    assert out.splitlines() == ["lite-bob: lite (bob)", "master: master (bob)"]
