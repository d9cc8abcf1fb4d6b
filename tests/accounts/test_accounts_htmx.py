"""An htmx request after the session expired: HX-Redirect to the login page with next = the
page the user is on (HX-Current-URL), never the login form swapped into a fragment."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def _next_of(login_url: str) -> str:
    parts = urlsplit(login_url)
    assert parts.path == reverse("login")
    return parse_qs(parts.query)["next"][0]


def test_htmx_fragment_without_session_gets_hx_redirect_to_the_page(client: Client):
    page = "http://testserver/jobs/?state=Failed&sort=-changed"
    response = client.get(reverse("jobs:sync_status"), HTTP_HX_CURRENT_URL=page, **HX)
    assert response.status_code == 200
    assert "Location" not in response
    assert _next_of(response["HX-Redirect"]) == "/jobs/?state=Failed&sort=-changed"
    assert response.content == b""  # nothing for htmx to swap in
    assert "HX-Request" in response["Vary"]


def test_htmx_post_without_session_is_redirected_too(client: Client):
    page = "http://testserver/jobs/local/job-1/"
    response = client.post(reverse("jobs:sync_status"), HTTP_HX_CURRENT_URL=page, **HX)
    assert response.status_code == 200
    assert _next_of(response["HX-Redirect"]) == "/jobs/local/job-1/"


def test_current_url_of_another_site_is_not_used_as_next(client: Client):
    response = client.get(
        reverse("jobs:sync_status"), HTTP_HX_CURRENT_URL="https://evil.example/steal", **HX
    )
    assert _next_of(response["HX-Redirect"]) == "/"


def test_without_current_url_next_is_the_home_page(client: Client):
    response = client.get(reverse("jobs:sync_status"), **HX)
    assert _next_of(response["HX-Redirect"]) == "/"


def test_plain_requests_keep_the_302_to_login(client: Client):
    response = client.get(reverse("jobs:list") + "?state=Running")
    assert response.status_code == 302 and "HX-Redirect" not in response
    assert _next_of(response["Location"]) == "/jobs/?state=Running"


def test_signed_in_htmx_requests_are_untouched(client: Client):
    client.force_login(User.objects.create_user("vera"))
    response = client.get(
        reverse("jobs:sync_status"), HTTP_HX_CURRENT_URL="http://testserver/", **HX
    )
    assert response.status_code == 200 and "HX-Redirect" not in response


def test_public_pages_answer_htmx_without_redirect(client: Client):
    response = client.get(reverse("login"), **HX)
    assert response.status_code == 200 and "HX-Redirect" not in response
