"""Fixtures of the operate browser tests: the simulator with a real Celery worker, and a
signed-in operator's page."""

from __future__ import annotations

import pytest

from connections.models import Connection
from tests.fixtures.data import make_user


@pytest.fixture
def world(kuscia_sim, celery_worker_factory, live_server):
    conn = Connection.objects.create(
        name="sim", url=kuscia_sim.url, cert_dir=str(kuscia_sim.cert_dir)
    )
    worker = celery_worker_factory(concurrency=2)
    return conn, kuscia_sim, worker


@pytest.fixture
def operator_page(browser_page, live_server, login_as):
    login_as(browser_page, live_server, make_user("olga", "operator"))
    return browser_page
