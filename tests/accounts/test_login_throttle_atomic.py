"""The throttle's bookkeeping (accounts.throttle): an attempt is recorded before the password
is checked and taken back only when the password was right or none was given; a form without a
password does not wipe the failures counted so far. The concurrent proof is on PostgreSQL:
tests/accounts/test_login_throttle_concurrent.py."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from accounts import throttle
from accounts.models import LoginFailure

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def limits(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.LOGIN_FAILURE_USER_LIMIT = 5


def test_each_attempt_is_recorded_before_any_password_is_checked() -> None:
    attempts = [throttle.begin("ada", "10.0.0.1") for _ in range(4)]
    assert [a.blocked for a in attempts] == [False, False, False, True]
    assert attempts[3].retry_after > 0 and attempts[3].recorded == ()
    assert LoginFailure.objects.count() == 6  # per username+address and per username, 3 each
    throttle.not_checked(attempts[0])
    assert LoginFailure.objects.count() == 4
    assert not throttle.begin("ada", "10.0.0.1").blocked  # one place free again


def test_the_per_username_limit_spans_addresses() -> None:
    for i in range(5):
        assert not throttle.begin("ada", f"10.0.0.{i}").blocked
    assert throttle.begin("ADA ", "10.9.9.9").blocked


def test_a_form_without_password_does_not_clear_the_failures(client: Client) -> None:
    User.objects.create_user("ada", password=PASSWORD)
    for _ in range(2):
        assert (
            client.post("/accounts/login/", {"username": "ada", "password": "x"}).status_code == 200
        )
    # An empty password checks nothing; it used to reset this address's count.
    assert client.post("/accounts/login/", {"username": "ada", "password": ""}).status_code == 200
    assert client.post("/accounts/login/", {"username": "ada", "password": "y"}).status_code == 200
    assert (
        client.post("/accounts/login/", {"username": "ada", "password": PASSWORD}).status_code
        == 429
    )
