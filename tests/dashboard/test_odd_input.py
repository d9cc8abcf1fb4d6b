"""Odd values in addresses and forms get a clear 4xx (or are ignored), never a 500: NUL
characters (PostgreSQL text cannot hold one) and digits that are not ASCII. The integration tier
runs the NUL cases again on PostgreSQL (tests/dashboard/test_odd_input_pg.py)."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.fixtures.data import make_connection, make_job, make_user

pytestmark = pytest.mark.django_db

# What a reviewer found to fail with "PostgreSQL text fields cannot contain NUL".
NUL_GETS = [
    "/jobs/?q=%00",
    "/jobs/?after=vab%00c~1&sort=job",
    "/jobs/local/job%00/",
    "/jobs/local/job-1/tasks/a%00b/",
    "/jobs/new/?connection=%00",
    "/jobs/new/?from=local/a%00",
    "/jobs/new/domaindata/?connection=%00&domain=x",
    "/jobs/?state=Running&%00=1",
]


@pytest.fixture
def operator_client(client: Client) -> Client:
    conn = make_connection("local")
    make_job(conn, "job-1", transitions=False, endpoints=False)
    client.force_login(make_user("olga", "operator"))
    return client


@pytest.mark.parametrize("url", NUL_GETS)
def test_a_nul_in_the_address_is_a_400_with_a_reason(operator_client: Client, url: str) -> None:
    response = operator_client.get(url)
    assert response.status_code == 400
    assert "NUL character" in response.content.decode()


def test_a_nul_in_a_posted_form_is_a_400(operator_client: Client) -> None:
    response = operator_client.post("/jobs/local/a%00/act/", {"action": "stop"})
    assert response.status_code == 400
    response = operator_client.post("/jobs/local/job-1/act/", {"reason": "x\x00y"})
    assert response.status_code == 400


def test_a_signed_out_nul_request_is_refused_too(client: Client) -> None:
    assert client.get("/jobs/?q=%00").status_code == 400  # before login: nothing is queried


def test_ordinary_values_still_pass(operator_client: Client) -> None:
    assert operator_client.get("/jobs/?q=job").status_code == 200
    assert operator_client.get("/jobs/local/job-1/").status_code == 200


@pytest.mark.parametrize(
    "url",
    ["/jobs/?after=n~%C2%B2", "/jobs/?before=n~%C2%B2", "/jobs/local/job-1/?done=%C2%B2"],
)
def test_digits_that_are_not_ascii_are_ignored(operator_client: Client, url: str) -> None:
    # "²".isdigit() is True but int("²") raises: a cursor or ?done= with it is just ignored.
    assert operator_client.get(url).status_code == 200


@pytest.mark.parametrize(
    "url, status",
    [
        ("/jobs/new/task/?index=3", 200),
        ("/jobs/new/task/?index=%D9%A3", 400),  # an Arabic-Indic three
        ("/jobs/new/task/?index=3%0A", 400),
        ("/jobs/new/party/?prefix=tasks-0-parties&index=1", 200),
        ("/jobs/new/party/?prefix=tasks-%D9%A3-parties&index=1", 400),
        ("/jobs/new/party/?prefix=tasks-0-parties%0A&index=1", 400),
    ],
)
def test_form_row_indexes_are_ascii_numbers(operator_client: Client, url: str, status: int) -> None:
    assert operator_client.get(url).status_code == status


def test_a_nul_in_a_cookie_is_a_400(operator_client: Client) -> None:
    operator_client.cookies["sessionid"] = "abc\x00def"
    assert operator_client.get("/jobs/").status_code == 400
