"""The alerts pages: admins change channels and rules (POST + CSRF, audited, secrets never shown
again), everyone reads the log and manages their own "notify me"."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.template import Context, RequestContext, Template
from django.test import Client, RequestFactory

from alerts.models import Channel, Delivery, Incident, ProvisionState, Rule, Subscription
from alerts.secrets import seal, unseal
from audit.models import AuditRecord
from kuscia import types as kt
from tests.fixtures.data import make_connection, make_job, make_user

pytestmark = pytest.mark.django_db

SECRET = "whsec-Very-Secret-4711"
HOOK_PATH = "/services/T0/B0/token-path-9876"


@pytest.fixture
def admin(client: Client) -> Client:
    client.force_login(make_user("root", role="admin"))
    return client


@pytest.fixture
def viewer(client: Client) -> Client:
    user = make_user("vic", role="viewer")
    user.email = "vic@example.org"
    user.save()
    client.force_login(user)
    return client


def add_channel(admin: Client, **fields: Any) -> Any:
    data = {"name": "ops", "kind": "webhook", "url": f"https://hooks.example{HOOK_PATH}"}
    data.update({"secret": SECRET, "enabled": "on"})
    data.update(fields)
    return admin.post("/alerts/channels/new/", data)


def test_admin_adds_a_channel_whose_secrets_are_never_shown_again(
    admin: Client, caplog: Any
) -> None:
    caplog.set_level(logging.DEBUG)
    r = add_channel(admin)
    assert r.status_code == 302 and r["Location"] == "/alerts/channels/"
    ch = Channel.objects.get(name="ops")
    assert unseal(ch.secret_encrypted) == SECRET and HOOK_PATH in unseal(ch.target_encrypted)
    assert SECRET not in ch.secret_encrypted and HOOK_PATH not in ch.target_encrypted
    assert ch.target_hint == "https://hooks.example/…"
    record = AuditRecord.objects.get(action="channel_add")
    assert record.username == "root" and set(record.request_summary["changed"]) >= {"secret"}
    pages = [
        admin.get("/alerts/channels/"),
        admin.get("/alerts/channels/ops/edit/"),
        admin.get("/audit/"),
        admin.get("/alerts/"),
    ]
    for page in pages:
        assert page.status_code == 200
        body = page.content.decode()
        assert SECRET not in body and HOOK_PATH not in body
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert SECRET not in logged and HOOK_PATH not in logged


def test_editing_keeps_or_clears_the_stored_values(admin: Client) -> None:
    add_channel(admin)
    r = admin.post(
        "/alerts/channels/ops/edit/",
        {"name": "ops", "kind": "webhook", "url": "", "secret": "", "enabled": "on"},
    )
    assert r.status_code == 302
    ch = Channel.objects.get()
    assert unseal(ch.secret_encrypted) == SECRET and HOOK_PATH in unseal(ch.target_encrypted)
    admin.post(
        "/alerts/channels/ops/edit/",
        {"name": "ops", "kind": "webhook", "clear_secret": "on", "enabled": ""},
    )
    ch.refresh_from_db()
    assert ch.secret_encrypted == "" and not ch.enabled
    edit = AuditRecord.objects.filter(action="channel_edit").order_by("id").last()
    assert edit is not None and edit.request_summary["changed"] == ["enabled", "secret"]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"url": ""}, "url", "Give the webhook URL."),
        ({"url": "ftp://x"}, "url", "Give the full URL"),
        ({"kind": "email", "url": "", "to": "nope", "secret": ""}, "to", "not an e-mail"),
        ({"kind": "slack"}, "secret", "no signing secret"),
        ({"name": "bad name!"}, "name", "Enter a valid"),
    ],
)
def test_bad_channel_input_is_shown_next_to_the_field(
    admin: Client, fields: dict[str, str], field: str, message: str
) -> None:
    r = add_channel(admin, **fields)
    assert r.status_code == 200
    assert message in str(r.context["form"].errors[field])
    assert not Channel.objects.exists() and not AuditRecord.objects.exists()
    assert SECRET not in r.content.decode()  # not echoed back either


def test_viewers_cannot_change_anything(viewer: Client) -> None:
    assert viewer.get("/alerts/channels/").status_code == 200
    assert viewer.get("/alerts/rules/").status_code == 200
    assert viewer.get("/alerts/channels/new/").status_code == 403
    assert add_channel(viewer).status_code == 403
    ch = Channel.objects.create(name="ops", kind="webhook", target_encrypted=seal("http://x/y"))
    assert viewer.post("/alerts/channels/ops/test/").status_code == 403
    assert viewer.post("/alerts/channels/ops/delete/").status_code == 403
    assert viewer.post("/alerts/rules/new/", {"name": "r", "kind": "job_failed"}).status_code == 403
    assert Channel.objects.filter(pk=ch.pk).exists() and not Delivery.objects.exists()


def test_mutations_need_the_csrf_token() -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("root", role="admin"))
    r = client.post("/alerts/channels/new/", {"name": "ops", "kind": "slack", "url": "https://x/y"})
    assert r.status_code == 403 and not Channel.objects.exists()


def test_send_a_test_message_queues_a_logged_delivery(
    admin: Client, queued: list[int], django_capture_on_commit_callbacks: Any
) -> None:
    add_channel(admin)
    with django_capture_on_commit_callbacks(execute=True):
        r = admin.post("/alerts/channels/ops/test/")
    assert r.status_code == 302 and r["Location"] == "/alerts/?channel=ops"
    d = Delivery.objects.get()
    assert (d.event, d.target_name, d.incident) == ("test", "ops", None)
    assert queued == [d.pk]
    assert AuditRecord.objects.filter(action="channel_test").count() == 1
    page = admin.get("/alerts/?channel=ops").content.decode()
    assert "test message" in page


def test_rules_are_added_checked_and_deleted(admin: Client) -> None:
    add_channel(admin)
    make_connection("local")
    ops = Channel.objects.get()
    bad = admin.post(
        "/alerts/rules/new/",
        {"name": "slow", "kind": "pending_longer", "minutes": "0", "channels": [ops.pk]},
    )
    assert bad.status_code == 200 and "at least 1" in str(bad.context["form"].errors["minutes"])
    r = admin.post(
        "/alerts/rules/new/",
        {
            "name": "slow",
            "kind": "pending_longer",
            "minutes": "15",
            "connection": "local",
            "party": "bob",
            "channels": [ops.pk],
            "enabled": "on",
        },
    )
    assert r.status_code == 302
    rule = Rule.objects.get()
    assert (rule.minutes, rule.party, rule.connection.name) == (15, "bob", "local")  # type: ignore[union-attr]
    assert list(rule.channels.all()) == [ops]
    listing = admin.get("/alerts/rules/").content.decode()
    assert "slow" in listing and "party bob" in listing
    assert admin.post("/alerts/rules/slow/delete/").status_code == 302
    assert not Rule.objects.exists()
    actions = list(AuditRecord.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["channel_add", "rule_add", "rule_delete"]


def test_provisioned_items_are_read_only(admin: Client) -> None:
    Channel.objects.create(
        name="prov", kind="slack", target_encrypted=seal("https://x/y"), provisioned=True
    )
    Rule.objects.create(name="prov-rule", kind="job_failed", provisioned=True)
    assert admin.get("/alerts/channels/prov/edit/").status_code == 302
    assert admin.post("/alerts/channels/prov/edit/", {"name": "x"}).status_code == 403
    assert admin.post("/alerts/channels/prov/delete/").status_code == 403
    assert admin.post("/alerts/rules/prov-rule/delete/").status_code == 403
    assert Channel.objects.filter(name="prov").exists() and Rule.objects.exists()
    listing = admin.get("/alerts/channels/").content.decode()
    assert "provisioned" in listing and "/alerts/channels/prov/edit/" not in listing


def test_provisioning_problems_are_shown(admin: Client) -> None:
    ProvisionState.objects.create(
        path="/etc/kc/alerts.yaml",
        errors=["/etc/kc/alerts.yaml:3: channel 'x': kind must be one of"],
    )
    page = admin.get("/alerts/").content.decode()
    assert "1 problem" in page and "/etc/kc/alerts.yaml:3: channel" in page


def test_notify_me_button_and_toggle(viewer: Client) -> None:
    conn = make_connection("local")
    job = make_job(conn, "job-9", state=kt.RUNNING)
    request = RequestFactory().get("/jobs/local/job-9/")
    request.user = User.objects.get(username="vic")
    html = Template('{% include "alerts/job_notify.html" %}').render(
        RequestContext(request, {"job": job})
    )
    assert "Notify me when this job ends" in html and "/alerts/notify/local/job-9/" in html
    r = viewer.post("/alerts/notify/local/job-9/", {"next": "/jobs/local/job-9/"})
    assert r.status_code == 302 and r["Location"] == "/jobs/local/job-9/"
    assert Subscription.objects.filter(job=job, notified_at__isnull=True).count() == 1
    html = Template('{% include "alerts/job_notify.html" %}').render(
        RequestContext(request, {"job": job})
    )
    assert "Notifying you when it ends" in html
    mine = viewer.get("/alerts/mine/").content.decode()
    assert "job-9" in mine and "vic@example.org" in mine
    viewer.post("/alerts/notify/local/job-9/", {"off": "1", "next": "https://evil.example/"})
    assert not Subscription.objects.exists()
    actions = list(AuditRecord.objects.order_by("id").values_list("action", "job_id"))
    assert actions == [("notify_on", "job-9"), ("notify_off", "job-9")]


def test_notify_me_needs_an_email_address(client: Client) -> None:
    client.force_login(make_user("nomail", role="viewer"))
    job = make_job(make_connection("local"), "job-9")
    r = client.post("/alerts/notify/local/job-9/", follow=True)
    assert "no e-mail address" in r.content.decode()
    assert not Subscription.objects.exists()
    html = Template("{% load alerts %}{% job_notify_button job %}").render(
        Context({"job": job, "request": r.wsgi_request})
    )
    assert "disabled" in html


def test_delivery_log_filters(viewer: Client) -> None:
    inc = Incident.objects.create(
        rule_name="failed",
        kind="job_failed",
        subject_key="job:1",
        subject="job-77",
        link="/jobs/local/job-77/",
    )
    for i, status in enumerate(["sent", "failed", "retry"]):
        Delivery.objects.create(
            incident=inc,
            event="firing",
            target=f"channel:{i}",
            target_name=f"ch{i}",
            kind="webhook",
            status=status,
            result=f"HTTP 50{i}",
        )
    all_ = viewer.get("/alerts/")
    assert all_.status_code == 200 and len(all_.context["deliveries"]) == 3
    only = viewer.get("/alerts/?status=failed")
    assert [d.target_name for d in only.context["deliveries"]] == ["ch1"]
    by_subject = viewer.get("/alerts/?subject=job-7&channel=ch2")
    assert [d.target_name for d in by_subject.context["deliveries"]] == ["ch2"]
    bad = viewer.get("/alerts/?since=not-a-date")
    assert bad.status_code == 200 and "since" in bad.context["form"].errors
