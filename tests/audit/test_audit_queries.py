"""The audit page and the create page run a fixed number of queries, whatever the data."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from audit.models import AuditRecord
from connections.models import Connection
from kuscia import types as kt
from tests.fixtures.data import make_job

pytestmark = pytest.mark.django_db

# session, user, groups (role), sync indicator, then the page's own reads
AUDIT_QUERIES = 6  # + COUNT(*) and the page of records (connection joined)
# + default connection, its task ids, the form's connection (validation), the domains the network
# poll found on it (the party suggestions), its parties, the sync indicator's connections, and the
# enabled connections listed twice (job form and paste form)
CREATE_QUERIES = 11


@pytest.fixture
def operator_client(client):
    user = User.objects.create_user("op", password="pw")
    user.groups.add(Group.objects.get(name="operator"))
    client.force_login(user)
    return client


def _records(conn: Connection, n: int) -> None:
    AuditRecord.objects.bulk_create(
        AuditRecord(
            username="op" if i % 2 else "ann",
            connection=conn,
            connection_name=conn.name,
            job_id=f"job-{i}",
            action="stop" if i % 3 else "delete",
            outcome="ok",
        )
        for i in range(n)
    )


@pytest.mark.parametrize("n", [3, 120])
def test_audit_page_query_count_is_fixed(operator_client, tmp_path, n, django_assert_num_queries):
    conn = Connection.objects.create(name="main", url="https://127.0.0.1:1", cert_dir=str(tmp_path))
    _records(conn, n)
    with django_assert_num_queries(AUDIT_QUERIES):
        r = operator_client.get(reverse("audit:list"))
    assert r.status_code == 200
    assert r.content.decode().count("<tr data-action") == min(n, 50)
    query = {"user": "ann", "action": "delete", "connection": "main", "job": "job-", "page": "1"}
    with django_assert_num_queries(AUDIT_QUERIES):
        r = operator_client.get(reverse("audit:list"), query)
    expected = len([i for i in range(n) if i % 2 == 0 and i % 3 == 0])
    assert r.content.decode().count("<tr data-action") == min(expected, 50)


@pytest.mark.parametrize("n_jobs", [1, 30])
def test_create_page_query_count_is_fixed(
    operator_client, tmp_path, n_jobs, django_assert_num_queries
):
    conn = Connection.objects.create(
        name="main", url="https://127.0.0.1:1", cert_dir=str(tmp_path), is_default=True
    )
    Connection.objects.create(name="other", url="https://127.0.0.1:2", cert_dir=str(tmp_path))
    for i in range(n_jobs):
        make_job(conn, f"job-{i}", state=kt.RUNNING, tasks=3, parties=("alice", "bob"))
    url = reverse("jobs-actions:create") + "?template=psi-split"
    with django_assert_num_queries(CREATE_QUERIES):
        r = operator_client.get(url)
    assert r.status_code == 200
    body = r.content.decode()
    assert "alice" in body and "bob" in body  # parties seen on the connection are offered
