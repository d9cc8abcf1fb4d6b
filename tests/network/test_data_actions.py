"""Registering, editing and deleting domain data and managing grants, through the pages, against
the simulator over mTLS: operators only, POST + CSRF, checked before sending, audited, Kuscia's
refusal shown with its code, the inventory updated at once."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AuditRecord
from connections.models import Connection
from network import sync
from network.models import DataItem, GrantItem
from tests.fixtures.data import make_user

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


@pytest.fixture
def conn(kuscia_sim) -> Connection:
    return Connection.objects.create(
        name="sim", url=kuscia_sim.url, protocol="MTLS", cert_dir=str(kuscia_sim.cert_dir)
    )


@pytest.fixture
def operator(client) -> Client:
    client.force_login(make_user("otto", "operator"))
    return client


def token_of(response) -> str:
    return re.search(r'name="token" value="([^"]+)"', response.content.decode()).group(1)


def register_form(operator: Client, **fields: str) -> dict[str, str]:
    page = operator.get(reverse("network:data_new"))
    data = {
        "token": token_of(page),
        "connection": "sim",
        "domain_id": "alice",
        "domaindata_id": "",
        "name": "",
        "type": "table",
        "datasource_id": "default-data-source",
        "relative_uri": "mine/alice-extra.csv",
        "file_format": "CSV",
        "description": "extra columns",
        "columns": "",
        "header": "id1, score ,flag",
        "header_type": "float",
    }
    data.update(fields)
    return data


def test_register_from_a_pasted_header_is_audited_and_listed(operator, conn, kuscia_sim):
    data = register_form(operator, domaindata_id="alice-extra")
    response = operator.post(reverse("network:data_new"), data)
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "network:data_item", args=["sim", "alice", "alice-extra"]
    )
    stored = kuscia_sim.world.domaindata[("alice", "alice-extra")]
    assert [c["name"] for c in stored["columns"]] == ["id1", "score", "flag"]
    assert stored["relative_uri"] == "mine/alice-extra.csv"
    item = DataItem.objects.get(connection=conn, domaindata_id="alice-extra")
    assert item.column_count == 3 and item.attributes == {"description": "extra columns"}
    record = AuditRecord.objects.get(action="data_create")
    assert record.outcome == "ok" and record.username == "otto" and record.job_id == "alice-extra"
    assert record.request_summary["relative_uri"] == "mine/alice-extra.csv"
    page = text(operator.get(response["Location"]))
    assert "Registered alice-extra." in page and "<code>score</code>" in page
    # the same form sent again (double click, retry): nothing sent twice
    again = operator.post(reverse("network:data_new"), data)
    assert again.status_code == 302
    assert AuditRecord.objects.filter(action="data_create").count() == 1


def test_kuscia_makes_the_id_when_none_is_given(operator, conn, kuscia_sim):
    data = register_form(operator, name="Mine.csv", columns="a:str\nb:int")
    response = operator.post(reverse("network:data_new"), data)
    assert response.status_code == 302
    item = DataItem.objects.get(connection=conn, name="Mine.csv")
    assert item.domaindata_id.startswith("mine") and len(item.domaindata_id) > 32
    assert AuditRecord.objects.get(action="data_create").job_id == item.domaindata_id


@pytest.mark.parametrize(
    "fields, field, message",
    [
        ({"relative_uri": "../etc/passwd"}, "relative_uri", "must not leave the data source"),
        ({"relative_uri": "/abs/x.csv"}, "relative_uri", "no leading"),
        ({"domain_id": "Alice"}, "domain_id", "lower-case"),
        ({"domaindata_id": "has space"}, "domaindata_id", "lower-case"),
        ({"columns": "id1:str\nage:decimal"}, "columns", "not a type the data mesh can read"),
        ({"columns": "id1:str\nid1:int"}, "columns", "listed twice"),
        ({"columns": "a b:str"}, "columns", "has a space, comma"),
        ({"columns": "age"}, "columns", "give a name and a type"),
        ({"header": "", "columns": ""}, "", ""),
    ],
)
def test_bad_input_is_refused_next_to_the_field_and_nothing_is_sent(
    operator, conn, kuscia_sim, fields, field, message
):
    before = dict(kuscia_sim.world.domaindata)
    response = operator.post(reverse("network:data_new"), register_form(operator, **fields))
    if not field:  # no columns at all is allowed (Kuscia does not require them)
        assert response.status_code == 302
        return
    assert response.status_code == 200
    page = text(response)
    assert message in page and f'id="id_{field}' in page and "field-error" in page
    assert kuscia_sim.world.domaindata == before and not AuditRecord.objects.exists()


def test_existing_id_is_refused_not_overwritten(operator, conn, kuscia_sim):
    seeded = dict(kuscia_sim.world.domaindata[("alice", "alice-table")])
    response = operator.post(
        reverse("network:data_new"), register_form(operator, domaindata_id="alice-table")
    )
    assert response.status_code == 200
    page = text(response)
    assert "alice-table already exists in alice" in page
    assert kuscia_sim.world.domaindata[("alice", "alice-table")] == seeded
    record = AuditRecord.objects.get(action="data_create")
    assert record.outcome == "error" and record.error_kind == "already_exists"


def test_kuscias_own_refusal_is_shown_with_its_code(operator, conn):
    response = operator.post(
        reverse("network:data_new"), register_form(operator, datasource_id="no-such-source")
    )
    page = text(response)
    assert response.status_code == 200 and "Kuscia refused [11806]" in page
    assert "no-such-source" in page
    assert AuditRecord.objects.get(action="data_create").kuscia_code == 11806


def test_edit_and_delete(operator, conn, kuscia_sim):
    operator.post(reverse("network:data_new"), register_form(operator, domaindata_id="mine"))
    edit_url = reverse("network:data_edit", args=["sim", "alice", "mine"])
    page = operator.get(edit_url)
    assert "id1:float" in page.content.decode()
    form = {
        "token": token_of(page),
        "type": "table",
        "datasource_id": "default-data-source",
        "relative_uri": "mine/v2.csv",
        "name": "renamed.csv",
        "columns": "id1:str\nscore:float",
        "file_format": "",
        "description": "",
    }
    assert operator.post(edit_url, form).status_code == 302
    assert kuscia_sim.world.domaindata[("alice", "mine")]["relative_uri"] == "mine/v2.csv"
    item = DataItem.objects.get(domaindata_id="mine")
    assert item.name == "renamed.csv" and item.column_count == 2
    delete_url = reverse("network:data_delete", args=["sim", "alice", "mine"])
    page = operator.get(delete_url)
    wrong = operator.post(delete_url, {"token": token_of(page), "confirm": "other"})
    assert wrong.status_code == 200 and ("alice", "mine") in kuscia_sim.world.domaindata
    assert (
        operator.post(delete_url, {"token": token_of(page), "confirm": "mine"}).status_code == 302
    )
    assert ("alice", "mine") not in kuscia_sim.world.domaindata
    item.refresh_from_db()
    assert item.gone_at is not None  # kept, marked gone
    actions = list(AuditRecord.objects.order_by("id").values_list("action", "outcome"))
    assert actions == [("data_create", "ok"), ("data_update", "ok"), ("data_delete", "ok")]


def test_grant_and_take_back(operator, conn, kuscia_sim):
    from kuscia.client import KusciaClient

    with KusciaClient(conn.client_config()) as kc:
        sync.apply_domaindata(conn, "alice", kc.list_domaindata("alice"), observed_at=_now())
    item_url = reverse("network:data_item", args=["sim", "alice", "alice-table"])
    page = operator.get(item_url)
    grant_url = reverse("network:data_grant", args=["sim", "alice", "alice-table"])
    tokens = re.findall(r'name="token" value="([^"]+)"', page.content.decode())
    self_grant = operator.post(grant_url, {"token": tokens[-1], "grant_domain": "alice"})
    assert "already belongs to alice" in text(operator.get(self_grant["Location"]))
    operator.post(grant_url, {"token": tokens[-1], "grant_domain": "bob", "use_count": "3"})
    grant = GrantItem.objects.get(connection=conn, grant_domain="bob")
    assert grant.use_count == 3 and grant.phase
    page = text(operator.get(item_url))
    assert "Granted to bob." in page and "take back" in page
    revoke = re.search(r'action="([^"]+/revoke/)".*?name="token" value="([^"]+)"', page)
    operator.post(revoke.group(1), {"token": revoke.group(2)})
    grant.refresh_from_db()
    assert grant.gone_at is not None
    assert [g["grant_domain"] for g in kuscia_sim.world.grants.values()] == []
    assert list(AuditRecord.objects.values_list("action", flat=True).order_by("id")) == [
        "grant_create",
        "grant_delete",
    ]


def _now():
    from django.utils import timezone

    return timezone.now()


def test_viewers_change_nothing_and_csrf_is_required(client, conn, kuscia_sim):
    client.force_login(make_user("vera", "viewer"))
    assert client.get(reverse("network:data_new")).status_code == 403
    assert client.post(reverse("network:data_new"), {}).status_code == 403
    assert "Register data" not in text(client.get(reverse("network:data")))
    csrf = Client(enforce_csrf_checks=True)
    csrf.force_login(make_user("otto", "operator"))
    assert csrf.post(reverse("network:data_new"), {"connection": "sim"}).status_code == 403
    assert not AuditRecord.objects.exists()
