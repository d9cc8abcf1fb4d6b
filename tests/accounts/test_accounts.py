"""Sign-in, sign-out, password change, throttling, the shared-link round trip, and the
account commands."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from accounts.roles import role_of

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def operator() -> User:
    call_command(
        "create_user",
        "olga",
        "--role",
        "operator",
        "--password-stdin",
        stdin=StringIO(PASSWORD + "\n"),
        stdout=StringIO(),
    )
    return User.objects.get(username="olga")


def _login(client: Client, username: str, password: str, **extra):
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


def test_login_page_renders_without_login(client: Client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b'name="username"' in response.content and b"csrfmiddlewaretoken" in response.content


def test_login_and_logout(client: Client, operator: User):
    response = _login(client, "olga", PASSWORD)
    assert response.status_code == 302
    assert client.session.get("_auth_user_id") == str(operator.pk)
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert "_auth_user_id" not in client.session


def test_shared_link_leads_through_login_and_back(client: Client, operator: User):
    target = "/connections/?x=1"
    response = client.get(target)
    assert response.status_code == 302
    login_url = response["Location"]
    assert login_url.startswith(reverse("login")) and "next=" in login_url
    page = client.get(login_url)
    assert b'name="next" value="/connections/?x=1"' in page.content
    response = client.post(login_url, {"username": "olga", "password": PASSWORD, "next": target})
    assert response.status_code == 302 and response["Location"] == target


def test_next_to_another_site_is_ignored(client: Client, operator: User):
    response = client.post(
        reverse("login"),
        {"username": "olga", "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert response.status_code == 302 and response["Location"] == "/"


def test_failed_logins_are_throttled_per_username_and_address(
    client: Client, operator: User, settings
):
    settings.LOGIN_FAILURE_LIMIT = 3
    for _ in range(3):
        response = _login(client, "olga", "wrong")
        assert response.status_code == 200
        assert b"Please enter a correct username and password" in response.content
    # Now even the right password is refused, with a clear message and 429.
    response = _login(client, "olga", PASSWORD)
    assert response.status_code == 429
    assert b"Too many failed sign-in attempts" in response.content
    assert int(response["Retry-After"]) > 0
    assert "_auth_user_id" not in client.session
    # Another address is not blocked by this address's failures.
    other = Client(REMOTE_ADDR="10.9.8.7")
    assert _login(other, "olga", PASSWORD).status_code == 302


def test_throttle_window_expires(client: Client, operator: User, settings):
    from datetime import timedelta

    from accounts.models import LoginFailure

    settings.LOGIN_FAILURE_LIMIT = 2
    _login(client, "olga", "wrong")
    _login(client, "olga", "wrong")
    assert _login(client, "olga", PASSWORD).status_code == 429
    LoginFailure.objects.update(at=LoginFailure.objects.first().at - timedelta(hours=1))
    assert _login(client, "olga", PASSWORD).status_code == 302


def test_success_clears_failures(client: Client, operator: User, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    _login(client, "olga", "wrong")
    _login(client, "olga", "wrong")
    assert _login(client, "olga", PASSWORD).status_code == 302
    client.post(reverse("logout"))
    _login(client, "olga", "wrong")
    _login(client, "olga", "wrong")
    assert _login(client, "olga", PASSWORD).status_code == 302


def test_password_change(client: Client, operator: User):
    client.force_login(operator)
    page = client.get(reverse("password_change"))
    assert page.status_code == 200
    response = client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a much newer pass 42",
            "new_password2": "a much newer pass 42",
        },
    )
    assert response.status_code == 302 and response["Location"] == reverse("password_change_done")
    assert client.get(reverse("password_change_done")).status_code == 200
    operator.refresh_from_db()
    assert operator.check_password("a much newer pass 42")


def test_create_user_roles_and_reset(tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("first password here\n")
    out = StringIO()
    call_command("create_user", "ada", "--role", "admin", "--password-file", str(pw), stdout=out)
    assert "created user ada with role admin" in out.getvalue()
    ada = User.objects.get(username="ada")
    assert role_of(ada) == "admin" and ada.is_staff and ada.check_password("first password here")
    pw.write_text("second password here")
    call_command(
        "create_user", "ada", "--role", "viewer", "--password-file", str(pw), stdout=StringIO()
    )
    ada = User.objects.get(username="ada")
    assert role_of(ada) == "viewer" and not ada.is_staff
    assert ada.check_password("second password here")


def test_create_demo_user_reuses_its_password_file(tmp_path):
    pw = tmp_path / "var" / "demo-password"
    out = StringIO()
    call_command("create_demo_user", "--password-file", str(pw), stdout=out)
    password = pw.read_text().strip()
    assert len(password) >= 12 and f"demo / {password}" in out.getvalue()
    assert oct(pw.stat().st_mode & 0o777) == "0o600"
    call_command("create_demo_user", "--password-file", str(pw), stdout=StringIO())
    demo = User.objects.get(username="demo")
    assert role_of(demo) == "operator" and demo.check_password(password)
    assert pw.read_text().strip() == password


def test_admin_role_manages_users_in_django_admin_and_reads_connections(client: Client, tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("admin password here")
    call_command(
        "create_user", "ada", "--role", "admin", "--password-file", str(pw), stdout=StringIO()
    )
    client.force_login(User.objects.get(username="ada"))
    for path in (
        "/admin/",
        "/admin/auth/user/",
        "/admin/connections/connection/",
        "/admin/auth/user/add/",
    ):
        assert client.get(path).status_code == 200, path
    # Connections are added on the console's own page (it refuses pasted secrets and audits).
    assert client.get("/admin/connections/connection/add/").status_code == 403
    viewer = User.objects.create_user("vic", password="x")
    client.force_login(viewer)
    assert client.get("/admin/auth/user/").status_code == 302


def test_old_admin_connection_links_redirect_to_the_connections_app(client: Client):
    admin = User.objects.create_superuser("root", password="x")
    client.force_login(admin)
    response = client.get("/admin/jobs/connection/?q=x")
    assert response.status_code == 301
    assert response["Location"] == "/admin/connections/connection/?q=x"
    assert client.get(response["Location"]).status_code == 200
