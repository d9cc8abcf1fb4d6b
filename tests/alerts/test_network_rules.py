"""Node NotReady and route Failed for N minutes: evaluated by the sweep and, when the network
poll records a node or route transition, at once for that connection; one incident per rule and
node/route, one firing and one resolved delivery per channel; the scopes apply; the messages
name the node or route, its state, the reason and link to its page."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from alerts import messages, rules
from alerts.models import Channel, Delivery, Incident, Rule
from alerts.secrets import seal
from connections.models import Connection
from network import sync
from tests.fixtures.data import make_connection
from tests.network.factories import domain, route

pytestmark = pytest.mark.django_db


def hook(name: str = "ops") -> Channel:
    return Channel.objects.create(
        name=name, kind="webhook", target_encrypted=seal("http://127.0.0.1:9/x"), target_hint="x"
    )


def rule(name: str, kind: str, *channels: Channel, **scope: Any) -> Rule:
    r = Rule.objects.create(name=name, kind=kind, **scope)
    r.channels.set(channels)
    return r


@pytest.fixture
def no_window(settings: Any) -> None:
    settings.KC_ALERTS_GROUP_SECONDS = 0
    settings.KC_BASE_URL = "https://console.example.org"


@pytest.fixture
def net(django_capture_on_commit_callbacks: Any) -> Any:
    """The network write path as the poll calls it, its on-commit hooks run."""

    class Net:
        def __init__(self) -> None:
            self.conn = make_connection("local")
            self.domains(["alice", "bob", "carol"], at=timezone.now() - dt.timedelta(hours=1))
            pairs = [("alice", "bob"), ("bob", "alice"), ("alice", "carol"), ("carol", "alice")]
            self.pairs = pairs
            self.routes([route(s, d) for s, d in pairs], at=timezone.now() - dt.timedelta(hours=1))

        def domains(self, items: list[Any], at: dt.datetime | None = None) -> None:
            ds = [domain(d) if isinstance(d, str) else d for d in items]
            with django_capture_on_commit_callbacks(execute=True):
                sync.apply_domains(self.conn, ds, observed_at=at or timezone.now())

        def routes(self, items: list[Any], at: dt.datetime | None = None) -> None:
            with django_capture_on_commit_callbacks(execute=True):
                sync.apply_route_statuses(self.conn, items, observed_at=at or timezone.now())

    return Net()


def events(rule_name: str) -> list[tuple[str, str]]:
    return list(
        Delivery.objects.filter(incident__rule_name=rule_name)
        .order_by("id")
        .values_list("event", "target_name")
    )


def test_a_route_failed_fires_at_once_and_resolves_when_it_is_back(
    net: Any, queued: list[int], no_window: None
) -> None:
    r = rule("routes", Rule.Kind.ROUTE_FAILED, hook("ops"), hook("chat"))
    net.routes([route("bob", "alice", up=False)])
    assert sorted(events("routes")) == [("firing", "chat"), ("firing", "ops")]
    inc = Incident.objects.get(rule=r)
    assert (inc.subject, inc.job_state, inc.state) == ("bob → alice", "Failed", "firing")
    assert inc.reason.startswith("DestinationUnreachable (since ")
    # the same state polled again, and the sweep: nothing more
    net.routes([route("bob", "alice", up=False)])
    rules.sweep()
    assert len(events("routes")) == 2
    net.routes([route("bob", "alice")])
    assert sorted(events("routes")[2:]) == [("resolved", "chat"), ("resolved", "ops")]
    assert Incident.objects.get(rule=r).state == "resolved"
    rules.sweep()
    assert len(events("routes")) == 4 and len(queued) == 4


def test_node_not_ready_for_n_minutes_waits_for_the_sweep(
    net: Any, queued: list[int], no_window: None
) -> None:
    rule("nodes", Rule.Kind.NODE_NOT_READY, hook(), minutes=10)
    net.domains([domain("bob", "NotReady")], at=timezone.now() - dt.timedelta(minutes=4))
    assert events("nodes") == []  # not yet 10 minutes
    rules.sweep()
    assert events("nodes") == []
    rules.sweep(now=timezone.now() + dt.timedelta(minutes=7))
    assert events("nodes") == [("firing", "ops")]
    inc = Incident.objects.get(rule__name="nodes")
    assert (inc.subject, inc.job_state, inc.party) == ("bob", "NotReady", "bob")
    assert "kuscia-lite-bob NotReady" in inc.reason
    net.domains(["bob"])  # Ready again: cleared by the poll's hook, not the sweep
    assert events("nodes") == [("firing", "ops"), ("resolved", "ops")]


def test_scopes_connection_and_party(net: Any, queued: list[int], no_window: None) -> None:
    other = make_connection("other")
    rule("bob-routes", Rule.Kind.ROUTE_FAILED, hook("a"), party="bob")
    rule("other-routes", Rule.Kind.ROUTE_FAILED, hook("b"), connection=other)
    rule("carol-node", Rule.Kind.NODE_NOT_READY, hook("c"), party="carol")
    net.routes([route("alice", "carol", up=False)])  # neither bob's nor on `other`
    net.domains([domain("bob", "NotReady")])
    assert Delivery.objects.count() == 0
    net.routes([route("alice", "bob", up=False)])  # bob is the destination
    assert events("bob-routes") == [("firing", "a")] and events("other-routes") == []
    net.domains([domain("carol", "NotReady")])
    assert events("carol-node") == [("firing", "c")]


def test_grouping_window_keeps_a_flapping_route_quiet(
    net: Any, queued: list[int], settings: Any
) -> None:
    settings.KC_ALERTS_GROUP_SECONDS = 120
    rule("routes", Rule.Kind.ROUTE_FAILED, hook())
    for _ in range(3):
        net.routes([route("bob", "alice", up=False)])
        net.routes([route("bob", "alice")])
    assert events("routes") == [("firing", "ops")]
    assert Incident.objects.get().state == "resolving"
    rules.sweep(now=timezone.now() + dt.timedelta(seconds=121))
    assert events("routes") == [("firing", "ops"), ("resolved", "ops")]


def test_a_gone_route_or_a_disabled_connection_stops_matching(
    net: Any, queued: list[int], no_window: None
) -> None:
    rule("routes", Rule.Kind.ROUTE_FAILED, hook())
    net.routes([route("bob", "alice", up=False)])
    Connection.objects.filter(pk=net.conn.pk).update(enabled=False)
    rules.sweep()
    assert events("routes") == [("firing", "ops"), ("resolved", "ops")]


def test_messages_name_the_route_state_reason_and_link(
    net: Any, queued: list[int], no_window: None
) -> None:
    rule("routes", Rule.Kind.ROUTE_FAILED, hook(), minutes=0)
    rule("slow-nodes", Rule.Kind.NODE_NOT_READY, hook("mail"), minutes=5)
    net.routes([route("bob", "alice", up=False)])
    firing = messages.for_incident(Incident.objects.get(rule__name="routes"), "firing")
    assert firing.title == "Route bob → alice Failed"
    text = firing.text()
    assert "Route: bob → alice" in text and "State: Failed" in text
    assert "Connection: local" in text and "Reason: DestinationUnreachable (since" in text
    assert firing.link == "https://console.example.org/network/routes/local/bob/alice/"
    net.domains([domain("carol", "NotReady")], at=timezone.now() - dt.timedelta(minutes=6))
    rules.sweep()
    node = messages.for_incident(Incident.objects.get(rule__name="slow-nodes"), "firing")
    assert node.title == "Node carol not Ready for 5 min"
    assert node.link == "https://console.example.org/network/nodes/local/carol/"
    net.routes([route("bob", "alice")])
    resolved = messages.for_incident(Incident.objects.get(rule__name="routes"), "resolved")
    assert resolved.title == "Resolved: Route bob → alice Failed"
    assert "Now: no longer matches" in resolved.text()


def test_the_evaluation_costs_a_fixed_number_of_queries(
    net: Any, queued: list[int], no_window: None, django_assert_max_num_queries: Any
) -> None:
    """A poll's hook with nothing to open or clear: rules (with channels), the matches and the
    open incidents per rule, whatever the number of routes."""
    rule("routes", Rule.Kind.ROUTE_FAILED, hook())
    rule("nodes", Rule.Kind.NODE_NOT_READY, hook("b"), minutes=30)
    with django_assert_max_num_queries(6):
        rules.on_network_change(connection=net.conn)
