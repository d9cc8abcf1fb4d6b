"""Live connection checks (a TLS handshake, a watch and every route against Kuscia) are limited
per user and connection (KC_CHECK_LIMIT in KC_CHECK_WINDOW seconds): past the limit the page or
its htmx fragment answers 429 with a clear message, and nothing is sent to Kuscia. Every check
that runs is in the audit log: who, which connection, and how it ended."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from audit.models import AuditRecord
from connections import views as views_connections
from connections.models import Connection
from tests.fixtures.data import make_user

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(120)]


@pytest.fixture
def runs(monkeypatch) -> list[str]:
    """The connection URL of each check that really ran."""
    ran: list[str] = []
    real = views_connections.run_check

    def counted(config, **kwargs):
        ran.append(config.url)
        return real(config, **kwargs)

    monkeypatch.setattr(views_connections, "run_check", counted)
    return ran


@pytest.fixture
def limit(settings) -> int:
    settings.KC_CHECK_LIMIT = 3
    settings.KC_CHECK_WINDOW = 60
    return 3


def viewer(name: str) -> Client:
    client = Client()
    client.force_login(make_user(name, "viewer"))
    return client


def test_checks_are_limited_per_user_and_connection(kuscia_sim, runs, limit) -> None:
    Connection.objects.create(name="sim", url=kuscia_sim.url, cert_dir=str(kuscia_sim.cert_dir))
    Connection.objects.create(name="other", url="https://127.0.0.1:1", cert_dir="/nonexistent")
    vera = viewer("vera")
    for _ in range(limit):
        assert vera.get("/connections/sim/check/").status_code == 200
    assert len(runs) == limit

    page = vera.get("/connections/sim/check/")
    assert page.status_code == 429
    assert 0 < int(page["Retry-After"]) <= 60
    html = page.content.decode()
    assert "Too many connection checks" in html and "<html" in html
    fragment = vera.get("/connections/sim/check/", HTTP_HX_REQUEST="true")
    assert fragment.status_code == 429
    text = fragment.content.decode()
    assert "Too many connection checks" in text and 'id="check-results"' in text
    assert "<html" not in text
    assert len(runs) == limit  # nothing was sent to Kuscia past the limit

    # Another user, or another connection, has a limit of its own.
    assert viewer("vic").get("/connections/sim/check/").status_code == 200
    assert vera.get("/connections/other/check/").status_code == 200
    assert len(runs) == limit + 2


def test_the_limit_frees_up_as_the_window_moves(kuscia_sim, runs, limit) -> None:
    Connection.objects.create(name="sim", url=kuscia_sim.url, cert_dir=str(kuscia_sim.cert_dir))
    vera = viewer("vera")
    for _ in range(limit):
        vera.get("/connections/sim/check/")
    assert vera.get("/connections/sim/check/").status_code == 429
    oldest = AuditRecord.objects.filter(action="connection_check").order_by("created_at").first()
    assert oldest is not None
    oldest.created_at -= timedelta(seconds=61)
    oldest.save(update_fields=["created_at"])
    assert vera.get("/connections/sim/check/").status_code == 200


def test_every_check_is_audited(kuscia_sim, tmp_path, runs, limit) -> None:
    token = tmp_path / "token"
    token.write_text("not-the-token-0123456789abcdefgh")
    conn = Connection.objects.create(
        name="sim", url=kuscia_sim.url, cert_dir=str(kuscia_sim.cert_dir)
    )
    vera = viewer("vera")
    assert vera.get("/connections/sim/check/").status_code == 200
    conn.token_file = str(token)
    conn.save()
    assert vera.get("/connections/sim/check/", HTTP_HX_REQUEST="true").status_code == 200
    records = list(AuditRecord.objects.filter(action="connection_check").order_by("pk"))
    assert [(r.username, r.connection_id, r.connection_name) for r in records] == [
        ("vera", conn.pk, "sim"),
        ("vera", conn.pk, "sim"),
    ]
    ok, failed = records
    assert ok.outcome == "ok" and ok.finished_at is not None and ok.error_kind == ""
    assert failed.outcome == "error" and failed.error_kind == "Token accepted"
    assert "401" in failed.kuscia_message
    assert failed.request_summary["steps"]["Token accepted"] == "fail"
    assert "not-the-token" not in str(failed.request_summary) + failed.kuscia_message
    audit = vera.get("/audit/?action=connection_check").content.decode()
    assert "Check connection" in audit and "sim" in audit
