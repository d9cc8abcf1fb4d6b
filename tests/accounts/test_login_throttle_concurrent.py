"""The login throttle's check and record are one atomic step: 20 wrong passwords sent at once
over real HTTP (the live server answers each request in its own thread, on its own PostgreSQL
connection) get at most LOGIN_FAILURE_LIMIT password checks; the rest are answered 429."""

from __future__ import annotations

import re
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from django.contrib.auth.models import User
from django.contrib.auth.signals import user_login_failed
from django.db import connection

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PARALLEL = 20
LIMIT = 5
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def signed_out_client(base: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=base, timeout=60)
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    match = TOKEN.search(page.text)
    assert match, page.text[:500]
    return client, match.group(1)


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_parallel_wrong_logins_get_at_most_the_limit_of_checks(live_server, settings, path):
    assert connection.vendor == "postgresql"
    settings.LOGIN_FAILURE_LIMIT = LIMIT
    settings.LOGIN_FAILURE_USER_LIMIT = 100
    # Django's real password hasher: each check takes long enough for requests to overlap.
    User.objects.create_user("ada", password="the right one, not guessed", is_staff=True)

    checks: list[str] = []
    lock = threading.Lock()

    def counted(sender: Any, credentials: dict[str, Any], **kwargs: Any) -> None:
        with lock:
            checks.append(credentials.get("username", ""))

    user_login_failed.connect(counted)
    clients = [signed_out_client(live_server.url) for _ in range(PARALLEL)]
    start = threading.Barrier(PARALLEL)

    def guess(i: int) -> int:
        client, token = clients[i]
        start.wait()
        response = client.post(
            path,
            data={"username": "ada", "password": f"guess {i}", "csrfmiddlewaretoken": token},
        )
        return response.status_code

    try:
        with ThreadPoolExecutor(PARALLEL) as pool:
            statuses = Counter(pool.map(guess, range(PARALLEL)))
    finally:
        user_login_failed.disconnect(counted)
        for client, _ in clients:
            client.close()
    assert set(statuses) <= {200, 429}, statuses
    assert len(checks) <= LIMIT, f"{len(checks)} passwords checked (limit {LIMIT}): {statuses}"
    assert statuses[200] == len(checks) and statuses[429] >= PARALLEL - LIMIT, statuses
    # And the next attempt, even with the right password, is refused.
    client, token = signed_out_client(live_server.url)
    right = {"username": "ada", "password": "the right one, not guessed"}
    response = client.post(path, data={**right, "csrfmiddlewaretoken": token})
    client.close()
    assert response.status_code == 429
