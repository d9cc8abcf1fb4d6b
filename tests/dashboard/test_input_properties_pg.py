"""The property tests over every GET parameter and every form field, again on PostgreSQL, where
values reach a stricter database (bigint ranges, text that cannot hold NUL, trigram search)."""

from __future__ import annotations

import pytest
from django.db import connection

from tests.dashboard.test_input_properties import (  # noqa: F401
    test_every_url_pattern_has_its_parameters_listed,
    test_hostile_get_parameters_never_give_a_5xx,
    world,
)
from tests.operate.test_form_properties import (  # noqa: F401 - fixtures are used by name
    form_world,
    test_every_form_is_fuzzed,
    test_hostile_form_fields_never_give_a_5xx,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_this_tier_runs_on_postgresql() -> None:
    assert connection.vendor == "postgresql"
