"""Connections pages: list with sync health, admin add/edit/disable, and the check page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone

from audit.models import AuditRecord
from connections.models import Connection, SyncState

pytestmark = pytest.mark.django_db

PEM = (
    "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n"
    "-----END PRIVATE KEY-----"
)


def login_as(client, role: str) -> User:
    user = User.objects.create_user(f"u-{role}", password="x")
    user.groups.add(Group.objects.get(name=role))
    client.force_login(user)
    return user


def form_data(**overrides):
    data = {
        "name": "bob",
        "url": "https://10.0.0.7:8082",
        "protocol": "MTLS",
        "mode": "p2p",
        "local_domain": "bob",
        "cert_dir": "/etc/kuscia/bob",
        "ca_file": "",
        "cert_file": "",
        "key_file": "",
        "token_file": "",
        "tls_server_name": "",
        "enabled": "on",
    }
    data.update(overrides)
    return data


def test_list_shows_sync_health_per_connection(client):
    login_as(client, "viewer")
    ok = Connection.objects.create(name="alice", url="https://a:8082")
    bad = Connection.objects.create(name="carol", url="https://c:8082")
    Connection.objects.create(name="dave", url="https://d:8082", enabled=False)
    SyncState.objects.create(connection=ok, last_success=timezone.now() - timedelta(seconds=30))
    SyncState.objects.create(
        connection=bad,
        last_attempt=timezone.now(),
        consecutive_failures=3,
        last_error_kind="tls_untrusted",
        last_error_message="certificate verify failed <b>x</b>",
        last_error_hint="Use the node's ca.crt.",
    )
    page = client.get("/connections/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "alice" in html and "st-succeeded" in html and "last success" in html
    assert "never succeeded" in html and "tls_untrusted" in html and "3 failures" in html
    assert "certificate verify failed &lt;b&gt;x&lt;/b&gt;" in html
    assert "disabled" in html
    assert "Add a connection" not in html and "/toggle/" not in html


def test_admin_adds_a_connection_and_it_is_logged(client):
    admin = login_as(client, "admin")
    page = client.get("/connections/")
    assert "Add a connection" in page.content.decode()
    response = client.post("/connections/new/", form_data())
    assert response.status_code == 302 and response["Location"] == "/connections/bob/check/"
    conn = Connection.objects.get(name="bob")
    assert conn.cert_dir == "/etc/kuscia/bob" and conn.mode == "p2p" and conn.enabled
    record = AuditRecord.objects.get(connection=conn)
    assert record.user_id == admin.pk and record.action == "connection_add"
    assert record.outcome == "ok" and record.job_id == ""
    assert "cert_dir" in record.request_summary["changed"]
    audit = client.get("/audit/?action=connection_add").content.decode()
    assert "Add connection" in audit and "bob" in audit


def test_pasted_key_is_refused_and_not_echoed(client):
    login_as(client, "admin")
    response = client.post("/connections/new/", form_data(cert_dir="", key_file=PEM))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Give the absolute path of the file, not its contents" in html
    assert "BEGIN PRIVATE KEY" not in html and "MIGHAgEAMBMG" not in html
    assert not Connection.objects.filter(name="bob").exists()


def test_a_token_typed_into_the_token_file_field_is_refused_and_not_echoed(client):
    login_as(client, "admin")
    token = "s3cr3tT0kenValue1234567890abcdef"
    response = client.post("/connections/new/", form_data(cert_dir="", token_file=token))
    html = response.content.decode()
    assert response.status_code == 200 and token not in html
    assert "not kept, in case it was a key or token" in html
    assert not Connection.objects.filter(name="bob").exists()


def test_paths_must_be_absolute_and_mtls_needs_files(client):
    login_as(client, "admin")
    response = client.post("/connections/new/", form_data(cert_dir="certs/bob"))
    assert "Give an absolute path" in response.content.decode()
    response = client.post("/connections/new/", form_data(cert_dir=""))
    assert "MTLS needs the CA, client certificate, client key and token" in (
        response.content.decode()
    )
    response = client.post("/connections/new/", form_data(url="http://10.0.0.7:8082"))
    assert "Protocol MTLS uses https://" in response.content.decode()
    response = client.post("/connections/new/", form_data(url="https://u:p@10.0.0.7:8082"))
    assert "Do not put credentials in the URL" in response.content.decode()
    assert not Connection.objects.exists()


def test_admin_edits_and_disables(client):
    login_as(client, "admin")
    conn = Connection.objects.create(
        name="bob",
        url="https://10.0.0.7:8082",
        cert_dir="/etc/kuscia/bob",
        mode="p2p",
        local_domain="bob",
    )
    page = client.get("/connections/bob/edit/")
    assert page.status_code == 200 and "https://10.0.0.7:8082" in page.content.decode()
    response = client.post("/connections/bob/edit/", form_data(tls_server_name="kusciaapi"))
    assert response.status_code == 302
    conn.refresh_from_db()
    assert conn.tls_server_name == "kusciaapi"
    assert client.post("/connections/bob/toggle/").status_code == 302
    conn.refresh_from_db()
    assert not conn.enabled
    assert client.get("/connections/bob/toggle/").status_code == 405
    records = AuditRecord.objects.filter(connection=conn).order_by("pk")
    assert [(r.action, r.request_summary["changed"]) for r in records] == [
        ("connection_edit", ["tls_server_name"]),
        ("connection_off", ["enabled"]),
    ]


def test_default_connection_is_not_editable_in_the_ui(client):
    login_as(client, "admin")
    Connection.objects.create(name="default", url="https://127.0.0.1:1", is_default=True)
    response = client.get("/connections/default/edit/", follow=True)
    assert "KUSCIA_* environment variables" in response.content.decode()


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_non_admins_cannot_change_connections(client, role):
    login_as(client, role)
    Connection.objects.create(name="bob", url="https://10.0.0.7:8082")
    assert client.get("/connections/new/").status_code == 403
    assert client.post("/connections/new/", form_data(name="eve")).status_code == 403
    assert client.post("/connections/bob/edit/", form_data()).status_code == 403
    assert client.post("/connections/bob/toggle/").status_code == 403
    assert Connection.objects.get(name="bob").enabled
    assert not Connection.objects.filter(name="eve").exists()


def sim_connection(sim, **extra) -> Connection:
    return Connection.objects.create(
        name="sim", url=sim.url, protocol="MTLS", cert_dir=str(sim.cert_dir), **extra
    )


def test_check_page_against_the_simulator(client, kuscia_sim):
    login_as(client, "viewer")
    sim_connection(kuscia_sim)
    page = client.get("/connections/sim/check/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "All steps passed" in html and "<html" in html
    for name in ("TLS handshake", "Certificate expiry", "Token accepted", "healthZ", "Watch"):
        assert name in html
    assert page["Vary"] and "HX-Request" in page["Vary"]
    token = (kuscia_sim.cert_dir / "token").read_text()
    assert token not in html
    fragment = client.get("/connections/sim/check/", HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200
    text = fragment.content.decode()
    assert "<html" not in text and 'id="check-results"' in text


def test_check_page_names_the_failing_step(client, kuscia_sim, tmp_path):
    login_as(client, "viewer")
    token = tmp_path / "token"
    token.write_text("not-the-token-0123456789abcdefgh")
    sim_connection(kuscia_sim, token_file=str(token))
    html = client.get("/connections/sim/check/").content.decode()
    assert "Stops at “Token accepted”" in html
    assert "401 Unauthorized" in html
    assert "not-the-token-0123456789abcdefgh" not in html
