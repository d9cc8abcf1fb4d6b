"""The job page carries the "notify me when this job ends" button (alerts/job_notify.html,
included by jobs/templates/jobs/detail.html) for any signed-in user while the job runs."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from alerts.models import Subscription
from kuscia import types as kt
from tests.fixtures.data import make_connection, make_job, make_user

pytestmark = pytest.mark.django_db


def signed_in(client: Client, name: str, role: str, email: str = "") -> Client:
    user = make_user(name, role=role)
    user.email = email
    user.save()
    client.force_login(user)
    return client


@pytest.mark.parametrize("role", ["viewer", "operator", "admin"])
def test_any_signed_in_user_asks_from_the_job_page(client: Client, role: str) -> None:
    viewer = signed_in(client, "vic", role, "vic@example.org")
    job = make_job(make_connection("local"), "job-9", state=kt.RUNNING)
    url = reverse("jobs:detail", args=["local", "job-9"])
    html = viewer.get(url).content.decode()
    assert 'action="/alerts/notify/local/job-9/"' in html
    assert "Notify me when this job ends" in html and "An e-mail to vic@example.org" in html
    assert f'name="next" value="{url}"' in html
    response = viewer.post("/alerts/notify/local/job-9/", {"next": url})
    assert response.status_code == 302 and response["Location"] == url
    assert Subscription.objects.filter(job=job, user__username="vic").count() == 1
    html = viewer.get(url).content.decode()
    assert "Notifying you when it ends · stop" in html and 'name="off"' in html


def test_without_an_address_the_button_says_why(client: Client) -> None:
    viewer = signed_in(client, "nomail", "viewer")
    make_job(make_connection("local"), "job-9", state=kt.PENDING)
    html = viewer.get(reverse("jobs:detail", args=["local", "job-9"])).content.decode()
    assert "Notify me when this job ends</button>" in html and "disabled" in html


def test_an_ended_job_has_no_button(client: Client) -> None:
    viewer = signed_in(client, "vic", "viewer", "vic@example.org")
    make_job(make_connection("local"), "job-9", state=kt.SUCCEEDED)
    html = viewer.get(reverse("jobs:detail", args=["local", "job-9"])).content.decode()
    assert "/alerts/notify/" not in html
