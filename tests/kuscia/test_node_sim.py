"""kuscia.node tells a master, a lite and an autonomy node apart, and the domains each serves,
from the simulator's answers over real mTLS; the connection check reports it as a step."""

from __future__ import annotations

import httpx
import pytest

from kuscia import check
from kuscia.client import KusciaClient
from kuscia.config import ConnectionConfig
from kuscia.node import AUTONOMY, LITE, MASTER, probe_node


def client_for(sim) -> KusciaClient:
    return KusciaClient(ConnectionConfig.from_cert_dir(sim.url, sim.cert_dir))


@pytest.fixture
def master(kuscia_sim_factory):
    return kuscia_sim_factory()


def test_master_holds_its_lites_domains_not_partners(master):
    master.world.add_domain("dave")
    master.world.domains["dave"].role = "partner"
    with client_for(master) as kc:
        node = probe_node(kc, ["alice", "bob", "dave", "nobody"])
    assert node.role == MASTER
    assert node.domains == ("alice", "bob")
    assert "11105" in node.detail


def test_lite_names_its_own_domain_without_candidates(master, kuscia_sim_factory, tmp_path):
    lite = kuscia_sim_factory(cert_dir=tmp_path / "lite-bob", world=master.world, lite_domain="bob")
    with client_for(lite) as kc:
        node = probe_node(kc, [])
    assert (node.role, node.domains) == (LITE, ("bob",))


def test_autonomy_node_holds_only_its_own_domain(kuscia_sim_factory):
    node_sim = kuscia_sim_factory(mode="autonomy", local_domain="carol")
    with client_for(node_sim) as kc:
        node = probe_node(kc, ["alice", "bob", "carol"])
    assert (node.role, node.domains) == (AUTONOMY, ("carol",))


def test_kuscia_without_a_log_api_is_not_guessed(sim_cert_dir):
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/log/task/query":
            return httpx.Response(404, text="404 page not found")
        return httpx.Response(
            200, json={"status": {"code": 11506, "message": "not found"}, "data": None}
        )

    cfg = ConnectionConfig.from_cert_dir("https://127.0.0.1:1", sim_cert_dir)
    with KusciaClient(cfg, transport=httpx.MockTransport(answer)) as kc:
        node = probe_node(kc, ["alice"])
    assert node.role == "" and node.domains == ()
    assert "before v0.13" in node.detail


def test_check_reports_the_node_role(master, kuscia_sim_factory, tmp_path):
    lite = kuscia_sim_factory(
        cert_dir=tmp_path / "lite-alice", world=master.world, lite_domain="alice"
    )
    steps = check.run_check(ConnectionConfig.from_cert_dir(lite.url, lite.cert_dir))
    step = next(s for s in steps if s.name == check.NODE)
    assert step.status == "ok", step
    assert step.node is not None and step.node.domains == ("alice",)
    assert "lite, serving alice" in step.detail
