"""An unknown job (or task, or connection) URL answers a 404 page inside the layout, never
Django's debug page, and offers what fits: "Track this id" for an operator on a known
connection, the way back otherwise."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings
from django.urls import reverse

from tests.fixtures.data import make_connection, make_job, make_user

pytestmark = pytest.mark.django_db


def test_an_unknown_job_offers_an_operator_to_track_it(client):
    make_connection("local")
    client.force_login(make_user("otto", "operator"))
    response = client.get(reverse("jobs:detail", args=["local", "job-nope"]))
    assert response.status_code == 404
    html = response.content.decode()
    assert 'class="topbar"' in html and 'aria-current="page"' in html  # the normal layout
    assert "job-nope" in html and "local" in html
    form = html.split('action="/jobs/track/"', 1)[1].split("</form>", 1)[0]
    assert 'name="job_id" value="job-nope"' in form
    assert 'name="connection" value="local"' in form and "csrfmiddlewaretoken" in form
    assert re.search(r"<button[^>]*>Track this id</button>", form)


def test_a_viewer_gets_no_form_but_is_told_who_can(client_in):
    make_connection("local")
    html = client_in.get(reverse("jobs:detail", args=["local", "job-nope"])).content.decode()
    assert "/jobs/track/" not in html and "An operator can add it by id" in html


@override_settings(DEBUG=True)
def test_even_with_debug_pages_on_the_job_404_is_the_consoles(client_in):
    make_connection("local")
    response = client_in.get(reverse("jobs:detail", args=["local", "job-nope"]))
    assert response.status_code == 404
    html = response.content.decode()
    assert "URLconf" not in html and "Using the URLconf" not in html
    assert 'class="topbar"' in html


def test_an_unknown_connection_says_so_and_lists_the_known_ones(client):
    make_connection("local")
    client.force_login(make_user("otto", "operator"))
    html = client.get(reverse("jobs:detail", args=["elsewhere", "job-1"])).content.decode()
    assert "No connection is called" in html and "elsewhere" in html
    assert 'href="/jobs/?connection=local"' in html
    assert "/jobs/track/" not in html  # nowhere to track it


def test_an_unknown_task_links_back_to_its_job(client_in):
    job = make_job(make_connection("local"), "job-1")
    response = client_in.get(reverse("jobs:task", args=["local", job.job_id, "job-1-zz"]))
    assert response.status_code == 404
    html = response.content.decode()
    assert "job-1-zz" in html and 'href="/jobs/local/job-1/"' in html


def test_any_other_unknown_address_gets_the_layouts_404(client_in):
    response = client_in.get("/no/such/page/")
    assert response.status_code == 404
    assert 'class="topbar"' in response.content.decode()
