"""The header's language switcher (POST + CSRF, back to the same URL with its query string) and
the preferences page (language, time zone): what they save and what they refuse."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Preference
from tests.fixtures.data import make_connection, make_user

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN"}


def csrf_client(user=None) -> Client:
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        client.force_login(user)
    return client


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def token_from(client: Client, url: str) -> str:
    client.get(url, **EN)
    return client.cookies["csrftoken"].value


def test_switch_saves_the_preference_and_returns_to_the_same_url_with_its_filters():
    user = make_user("ann", "viewer")
    make_connection("local")
    client = csrf_client(user)
    back = reverse("audit:list") + "?action=stop&user=ann&page=2"
    token = token_from(client, back)
    response = client.post(
        reverse("set_language"),
        {"language": "zh-hans", "next": back, "csrfmiddlewaretoken": token},
        **EN,
    )
    assert response.status_code == 302 and response["Location"] == back
    assert Preference.objects.get(user=user).language == "zh-hans"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
    # The saved preference beats the browser's Accept-Language, on every device (no cookie).
    other_device = Client()
    other_device.force_login(user)
    html = other_device.get(back, **EN).content.decode()
    assert '<html lang="zh-hans">' in html and "审计日志" in html


def test_switch_without_csrf_token_is_refused():
    user = make_user("ann", "viewer")
    client = csrf_client(user)
    response = client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    assert response.status_code == 403
    assert not Preference.objects.filter(user=user).exists()


def test_switch_on_the_sign_in_page_sets_only_the_cookie():
    client = csrf_client()
    token = token_from(client, reverse("login"))
    response = client.post(
        reverse("set_language"),
        {
            "language": "zh-hans",
            "next": reverse("login") + "?next=/audit/",
            "csrfmiddlewaretoken": token,
        },
    )
    assert response["Location"] == "/accounts/login/?next=/audit/"
    assert not Preference.objects.exists()
    html = client.get(response["Location"], **EN).content.decode()
    assert "登录 Kuscia 控制台" in html  # the cookie beats Accept-Language


def test_switch_never_redirects_off_site_and_refuses_unknown_languages():
    user = make_user("ann", "viewer")
    client = logged_in(user)
    response = client.post(
        reverse("set_language"), {"language": "en", "next": "https://evil.example/x"}
    )
    assert response["Location"] == "/"
    response = client.post(reverse("set_language"), {"language": "fr", "next": "/"}, **ZH)
    assert response.status_code == 400
    assert Preference.objects.get(user=user).language == "en"  # unchanged, and it is English
    assert response.content.decode().startswith("Unknown language")
    response = Client().post(reverse("set_language"), {"language": "fr"}, **ZH)
    assert response.status_code == 400 and "未知的语言" in response.content.decode()


def test_switcher_is_on_every_page_with_the_current_url():
    user = make_user("ann", "viewer")
    make_connection("local")
    client = logged_in(user)
    for url in ("/", reverse("jobs:list") + "?state=Running&q=a", reverse("connections:list")):
        html = client.get(url).content.decode()
        assert f'action="{reverse("set_language")}"' in html, url
        assert f'name="next" value="{url.replace("&", "&amp;")}"' in html, url
        assert 'value="zh-hans" lang="zh-hans"' in html and "简体中文" in html


def test_preferences_page_saves_language_and_zone():
    user = make_user("ann", "viewer")
    client = logged_in(user)
    response = client.post(
        reverse("preferences"), {"language": "", "time_zone": "Asia/Shanghai"}, **ZH
    )
    assert response.status_code == 302
    pref = Preference.objects.get(user=user)
    assert (pref.language, pref.time_zone) == ("", "Asia/Shanghai")
    # "" follows the browser: the confirmation is in the browser's language.
    page = client.get(response["Location"], **ZH).content.decode()
    assert "偏好设置已保存。" in page and "UTC+8" in page


def test_preferences_refuse_an_unknown_zone_next_to_the_field():
    user = make_user("ann", "viewer")
    client = logged_in(user)
    response = client.post(
        reverse("preferences"), {"language": "en", "time_zone": "Mars/Olympus"}, **ZH
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="form-errors"' in html and "Mars/Olympus" in html
    assert not Preference.objects.filter(user=user).exists()


def test_a_saved_preference_costs_no_query(django_assert_num_queries):
    user = make_user("ann", "viewer")
    make_connection("local")
    client = logged_in(user)
    client.get(reverse("audit:list"))
    with CaptureQueriesContext(connection) as before:
        client.get(reverse("audit:list"))
    count = len(before.captured_queries)  # (the next request empties the log)
    client.post(reverse("preferences"), {"language": "zh-hans", "time_zone": "Asia/Tokyo"})
    with django_assert_num_queries(count):
        html = client.get(reverse("audit:list")).content.decode()
    assert "审计日志" in html and "UTC+9" in html


def test_sessions_from_before_the_preference_backend_stay_signed_in():
    user = make_user("ann", "viewer")
    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    assert client.get(reverse("audit:list")).status_code == 200


VERIFIED: list[str] = []


class CountingHasher(PBKDF2PasswordHasher):
    iterations = 1

    def verify(self, password, encoded):
        VERIFIED.append(password)
        return super().verify(password, encoded)


def test_a_wrong_password_is_hashed_once(settings):
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    user = make_user("bob", "viewer", password="right-pw-123")
    VERIFIED.clear()
    assert authenticate(username="bob", password="wrong") is None
    assert VERIFIED == ["wrong"]  # ModelBackend, listed second for old sessions, did not retry
    assert authenticate(username="bob", password="right-pw-123") == user
