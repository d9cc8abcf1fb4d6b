"""Defect 11 (issue 19): shared URLs carry no empty parameters, and the audit log says what a
create did ("created: Pending"), not "? → Pending"."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AuditRecord
from tests.fixtures.data import make_connection, make_job

pytestmark = pytest.mark.django_db


def test_a_filter_form_with_empty_fields_redirects_to_the_clean_url(client_in):
    make_job(make_connection("local"), "job-1")
    url = reverse("jobs:list") + "?state=Failed&party=&initiator=&q=&sort=-created&created_from="
    response = client_in.get(url)
    assert response.status_code == 302
    assert response["Location"] == "/jobs/?state=Failed&sort=-created"
    assert client_in.get(response["Location"]).status_code == 200
    # every field empty: the page itself
    assert client_in.get("/audit/?action=&user=")["Location"] == "/audit/"
    assert client_in.get("/search/?q=+")["Location"] == "/search/"


def test_clean_urls_and_fragments_are_answered_as_they_are(client_in):
    make_job(make_connection("local"), "job-1")
    assert client_in.get("/jobs/?state=Failed").status_code == 200
    assert client_in.get("/jobs/?state=Failed&q=", HTTP_HX_REQUEST="true").status_code in (
        200,
        286,
    )
    # other pages keep their parameters (an empty one may mean something there)
    response = client_in.get(reverse("jobs:detail", args=["local", "job-1"]) + "?task=")
    assert response.status_code == 200


def test_the_audit_log_says_created_for_a_create(client_in):
    for action, before, after in (("create", "", "Pending"), ("stop", "Running", "Failed")):
        AuditRecord.objects.create(
            username="demo",
            connection_name="local",
            job_id="job-1",
            action=action,
            outcome="ok",
            state_before=before,
            state_after=after,
        )
    html = client_in.get(reverse("audit:list")).content.decode()
    assert "? →" not in html and "→ ?" not in html
    assert "created: Pending" in html and "Running → Failed" in html


def test_a_huge_query_is_read_as_it_is_not_redirected(client_in):
    response = client_in.get("/audit/?user=&job=" + "x" * 20000)
    assert response.status_code == 200


def test_connections_and_the_sync_indicator_say_how_long_ago_alike(client_in):
    """One relative-time style: "2s ago" on the connections page and in the layout's sync
    indicator (once "0 minutes ago" on one and "2s ago" on the other)."""
    import re

    make_connection("local", synced_ago=2.2)
    connections = client_in.get(reverse("connections:list")).content.decode()
    indicator = client_in.get(reverse("jobs:sync_status")).content.decode()
    assert "minutes ago" not in connections + indicator
    ago = re.compile(r"\b[23]s ago\b")
    assert ago.search(connections) and ago.search(indicator)
