"""One login throttle for every way to sign in: the Django admin's login page counts and refuses
like /accounts/login/ (429 with Retry-After once the limit is reached), and failures on either
page count towards the same limit."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from accounts.forms import ThrottledAuthenticationForm

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
ADMIN_LOGIN = "/admin/login/"
LOGIN = "/accounts/login/"


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.LOGIN_FAILURE_LIMIT = 3


@pytest.fixture
def ada() -> User:
    call_command(
        "create_user", "ada", "--role", "admin", "--password-stdin",
        stdin=StringIO(PASSWORD + "\n"), stdout=StringIO(),
    )  # fmt: skip
    return User.objects.get(username="ada")


def post(client: Client, url: str, password: str):
    return client.post(url, {"username": "ada", "password": password, "next": "/admin/"})


def test_admin_login_is_throttled(client: Client, ada: User) -> None:
    for _ in range(3):
        response = post(client, ADMIN_LOGIN, "wrong")
        assert response.status_code == 200
        assert b"Please enter the correct username and password" in response.content
    response = post(client, ADMIN_LOGIN, PASSWORD)  # even the right password, now
    assert response.status_code == 429
    assert b"Too many failed sign-in attempts" in response.content
    assert int(response["Retry-After"]) > 0
    assert "_auth_user_id" not in client.session
    # The admin page still works for the right password from another address.
    other = Client(REMOTE_ADDR="10.9.8.7")
    assert post(other, ADMIN_LOGIN, PASSWORD).status_code == 302


@pytest.mark.parametrize("first, then", [(LOGIN, ADMIN_LOGIN), (ADMIN_LOGIN, LOGIN)])
def test_failures_on_one_page_count_on_the_other(client: Client, ada: User, first, then) -> None:
    for _ in range(3):
        assert post(client, first, "wrong").status_code == 200
    assert post(client, then, PASSWORD).status_code == 429


def test_the_admin_site_itself_uses_the_throttled_form() -> None:
    # Any route to the admin site's own login view (not only the URL pattern above) throttles.
    assert admin.site.login_form is not None
    assert issubclass(admin.site.login_form, ThrottledAuthenticationForm)
