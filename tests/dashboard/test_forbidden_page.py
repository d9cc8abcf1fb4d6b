"""A refused page (403) is the console's page inside the layout: why, the user's role, the way
back; never Django's bare text."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django.urls import reverse

from tests.fixtures.data import make_connection, make_user

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("debug", [False, True])
def test_a_viewer_on_an_operator_page_gets_the_layouts_403(client, debug):
    make_connection("local")
    client.force_login(make_user("vera", "viewer"))
    with override_settings(DEBUG=debug):
        response = client.get(reverse("jobs-actions:create"))
    assert response.status_code == 403
    html = response.content.decode()
    assert 'class="topbar"' in html and 'id="header-q"' in html  # the normal layout
    assert "<h1" in html and "Not allowed" in html
    assert "Only operators may do this." in html
    assert "You are signed in as a viewer" in html and "An admin can give you" in html
    assert 'href="/jobs/"' in html


def test_an_operator_on_an_admin_page_is_told_so_in_chinese(client):
    make_connection("local")
    client.force_login(make_user("otto", "operator"))
    response = client.get(reverse("connections:add"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 403
    html = response.content.decode()
    assert "无权访问" in html and "只有管理员" in html and "操作员" in html
