import pytest

from connections.models import Connection

pytestmark = pytest.mark.django_db


def test_named_or_default_picks_the_named_enabled_connection_else_the_default():
    objects = Connection.objects
    assert objects.named_or_default("") is None  # no connection at all
    first = objects.create(name="first", url="https://127.0.0.1:1")
    assert objects.named_or_default("nope") == first  # no default: the oldest enabled
    default = objects.create(name="main", url="https://127.0.0.1:2", is_default=True)
    other = objects.create(name="other", url="https://127.0.0.1:3")
    off = objects.create(name="off", url="https://127.0.0.1:4", enabled=False)
    assert objects.named_or_default("other") == other
    assert objects.named_or_default("") == default
    assert objects.named_or_default("nope") == default
    assert objects.named_or_default(off.name) == default  # a disabled one is never chosen
