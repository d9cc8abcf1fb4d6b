"""The NUL cases of tests/dashboard/test_odd_input.py on PostgreSQL, where such a value reaching a
query fails ("PostgreSQL text fields cannot contain NUL": a 500), where SQLite answers 404."""

from __future__ import annotations

import pytest
from django.db import connection

from tests.dashboard.test_odd_input import (  # noqa: F401 - the fixture is used by name
    NUL_GETS,
    operator_client,
    test_a_nul_in_a_posted_form_is_a_400,
    test_a_nul_in_the_address_is_a_400_with_a_reason,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_this_tier_runs_on_postgresql() -> None:
    assert connection.vendor == "postgresql"
