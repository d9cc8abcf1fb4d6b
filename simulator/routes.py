"""KusciaAPI's unary routes: request schema, handler and reply envelope of each path.

A handler takes the World and the decoded request and returns the reply's `data` (or raises
world's APIError). Envelopes: "data" = {status, data}; "status" = {status} only (messages
without a data field: update and delete replies); "flat" = the fields next to status
(QueryPodNodeResponse).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import codec
from .base import JSON
from .world import World

Unary = Callable[[World, JSON], Any]


@dataclass(frozen=True)
class UnaryRoute:
    schema: codec.Schema
    handler: Unary
    envelope: str = "data"  # "data", "status" or "flat"


def _job_id_data(fn: Callable[[World, str], None]) -> Unary:
    def handler(world: World, req: JSON) -> JSON:
        fn(world, req["job_id"])
        return {"job_id": req["job_id"]}

    return handler


def _create(world: World, req: JSON) -> JSON:
    return {"job_id": world.create_job(req)}


def _approve(world: World, req: JSON) -> JSON:
    world.approve_job(req["job_id"], req["result"])
    return {"job_id": req["job_id"]}


def _domaindata_query(world: World, req: JSON) -> JSON:
    data = req["data"] or {"domain_id": "", "domaindata_id": ""}
    return world.query_domaindata(data["domain_id"], data["domaindata_id"])


def _domaindata_list(world: World, req: JSON) -> JSON:
    data = req["data"] or {"domain_id": "", "domaindata_type": "", "domaindata_vendor": ""}
    items = world.list_domaindata(
        data["domain_id"], data["domaindata_type"], data["domaindata_vendor"]
    )
    return {"domaindata_list": items}


def _grant_list(world: World, req: JSON) -> JSON:
    data = req["data"] or {"domain_id": "", "grant_domain": "", "domaindata_vendor": ""}
    items = world.list_grants(data["domain_id"], data["grant_domain"], data["domaindata_vendor"])
    return {"domaindatagrant_list": items}


def _pod_node(world: World, req: JSON) -> JSON:
    name, ip = world.query_pod_node(req["task_id"], req["domain"], req["replica_idx"])
    return {"node_name": name, "node_ip": ip}


UNARY_ROUTES: dict[str, UnaryRoute] = {
    "/api/v1/job/create": UnaryRoute(codec.CREATE_JOB, _create),
    "/api/v1/job/query": UnaryRoute(codec.JOB_ID, lambda w, r: w.query_job(r["job_id"])),
    "/api/v1/job/status/batchQuery": UnaryRoute(
        codec.BATCH_JOB_STATUS, lambda w, r: {"jobs": w.batch_query_status(r["job_ids"])}
    ),
    "/api/v1/job/stop": UnaryRoute(codec.JOB_ACTION, _job_id_data(World.stop_job)),
    "/api/v1/job/suspend": UnaryRoute(codec.JOB_ACTION, _job_id_data(World.suspend_job)),
    "/api/v1/job/restart": UnaryRoute(codec.JOB_ACTION, _job_id_data(World.restart_job)),
    "/api/v1/job/cancel": UnaryRoute(codec.JOB_ACTION, _job_id_data(World.cancel_job)),
    "/api/v1/job/delete": UnaryRoute(codec.JOB_ID, _job_id_data(World.delete_job)),
    "/api/v1/job/approve": UnaryRoute(codec.APPROVE_JOB, _approve),
    "/api/v1/appimage/query": UnaryRoute(
        codec.QUERY_APPIMAGE, lambda w, r: w.query_app_image(r["name"])
    ),
    "/api/v1/domain/query": UnaryRoute(
        codec.QUERY_DOMAIN, lambda w, r: w.query_domain(r["domain_id"])
    ),
    "/api/v1/domain/batchQuery": UnaryRoute(
        codec.BATCH_DOMAIN, lambda w, r: {"domains": w.batch_query_domains(r["domain_ids"])}
    ),
    "/api/v1/route/query": UnaryRoute(
        codec.QUERY_ROUTE, lambda w, r: w.query_route(r["source"], r["destination"])
    ),
    "/api/v1/route/status/batchQuery": UnaryRoute(
        codec.BATCH_ROUTE_STATUS, lambda w, r: {"routes": w.batch_route_status(r["route_keys"])}
    ),
    "/api/v1/domaindata/query": UnaryRoute(codec.QUERY_DOMAINDATA, _domaindata_query),
    "/api/v1/domaindata/batchQuery": UnaryRoute(
        codec.BATCH_DOMAINDATA,
        lambda w, r: {"domaindata_list": w.batch_query_domaindata(r["data"])},
    ),
    "/api/v1/domaindata/list": UnaryRoute(codec.LIST_DOMAINDATA, _domaindata_list),
    "/api/v1/domaindata/create": UnaryRoute(
        codec.DOMAINDATA, lambda w, r: {"domaindata_id": w.create_domaindata(r)}
    ),
    "/api/v1/domaindata/update": UnaryRoute(
        codec.DOMAINDATA, lambda w, r: w.update_domaindata(r), "status"
    ),
    "/api/v1/domaindata/delete": UnaryRoute(
        codec.DELETE_DOMAINDATA,
        lambda w, r: w.delete_domaindata(r["domain_id"], r["domaindata_id"]),
        "status",
    ),
    "/api/v1/domaindatasource/list": UnaryRoute(
        codec.LIST_DATASOURCE, lambda w, r: {"datasource_list": w.list_datasources(r["domain_id"])}
    ),
    "/api/v1/domaindatasource/query": UnaryRoute(
        codec.QUERY_DATASOURCE, lambda w, r: w.query_datasource(r["domain_id"], r["datasource_id"])
    ),
    "/api/v1/domaindatasource/batchQuery": UnaryRoute(
        codec.BATCH_DATASOURCE,
        lambda w, r: {"datasource_list": w.batch_query_datasources(r["data"])},
    ),
    "/api/v1/domaindatagrant/create": UnaryRoute(
        codec.CREATE_GRANT, lambda w, r: {"domaindatagrant_id": w.create_grant(r)}
    ),
    "/api/v1/domaindatagrant/query": UnaryRoute(
        codec.GRANT_ID, lambda w, r: w.query_grant(r["domain_id"], r["domaindatagrant_id"])
    ),
    "/api/v1/domaindatagrant/delete": UnaryRoute(
        codec.GRANT_ID,
        lambda w, r: w.delete_grant(r["domain_id"], r["domaindatagrant_id"]),
        "status",
    ),
    "/api/v1/domaindatagrant/list": UnaryRoute(codec.LIST_GRANT, _grant_list),
    "/api/v1/domaindatagrant/batchQuery": UnaryRoute(
        codec.BATCH_GRANT, lambda w, r: w.batch_query_grants(r["data"])
    ),
    "/healthZ": UnaryRoute(codec.HEALTH, lambda w, r: {"ready": True}),
    "/api/v1/log/node/query": UnaryRoute(codec.QUERY_POD_NODE, _pod_node, "flat"),
}
# Fields a "flat" reply carries when it fails
FLAT_ERROR_FIELDS = {"/api/v1/log/node/query": {"node_name": "", "node_ip": ""}}
