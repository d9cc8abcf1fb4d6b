"""A small in-memory KusciaAPI for the network routes, served to the real KusciaClient through
httpx.MockTransport: whole-batch failures (11305 / 11404 naming the key), domaindata list,
data sources, grants, domain/route query. Replies have Kuscia's shapes (kuscia-network-api.md)
including the secrets the client must drop."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from kuscia.client import KusciaClient
from kuscia.config import ConnectionConfig

DEPLOY_TOKEN = "SECRETdeploytokenSECRETdeploytok"
ROUTE_KEY = "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tU0VDUkVU"
DB_PASSWORD = "db-password-SECRET"


def _ok(data: Any) -> httpx.Response:
    return httpx.Response(
        200, json={"status": {"code": 0, "message": "success", "details": []}, "data": data}
    )


def _err(code: int, message: str) -> httpx.Response:
    return httpx.Response(
        200, json={"status": {"code": code, "message": message, "details": []}, "data": None}
    )


def table(domain: str, item_id: str, *, name: str = "", columns: int = 2, **extra: Any) -> dict:
    return {
        "domaindata_id": item_id,
        "name": name or f"{item_id}.csv",
        "type": "table",
        "relative_uri": f"{item_id}.csv",
        "domain_id": domain,
        "datasource_id": "default-data-source",
        "attributes": {},
        "partition": None,
        "columns": [
            {"name": f"c{i}", "type": "float" if i else "str", "comment": "", "not_nullable": False}
            for i in range(columns)
        ],
        "vendor": "manual",
        "status": "Available",
        "author": domain,
        "file_format": "UNKNOWN",
        **extra,
    }


class FakeKuscia:
    def __init__(self) -> None:
        self.domains: dict[str, dict[str, Any]] = {}
        self.routes: dict[tuple[str, str], tuple[str, str]] = {}
        self.data: dict[str, list[dict[str, Any]]] = {}
        self.grants: dict[str, list[dict[str, Any]]] = {}
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.fail_paths: dict[str, httpx.Response] = {}

    # ------------------------------------------------------------ set-up

    def add_domain(self, domain_id: str, *, role: str = "", agents: int = 1) -> None:
        self.domains[domain_id] = {
            "domain_id": domain_id,
            "role": role,
            "cert": "",
            "node_statuses": [
                {
                    "name": f"kuscia-lite-{domain_id}-{i}",
                    "status": "Ready",
                    "version": "v1.1.0b0",
                    "last_heartbeat_time": "2025-04-16T10:42:55Z",
                    "last_transition_time": "2025-04-16T09:00:01Z",
                }
                for i in range(agents)
            ]
            if role == ""
            else [],
        }

    def set_agent(self, domain_id: str, index: int, status: str) -> None:
        agent = self.domains[domain_id]["node_statuses"][index]
        agent["status"] = status
        agent["last_transition_time"] = "2025-04-16T10:50:00Z"

    def add_route(
        self, source: str, destination: str, status: str = "Succeeded", reason: str = ""
    ) -> None:
        self.routes[(source, destination)] = (status, reason)

    def break_route(
        self, source: str, destination: str, why: str = "DestinationUnreachable"
    ) -> None:
        self.routes[(source, destination)] = (
            "Failed",
            f"LastUpdateAt=2025-04-16 10:02:11 +0000 UTC, Message={why}, Reason:{why}",
        )

    def paths(self) -> list[str]:
        return [p for p, _ in self.requests]

    # ------------------------------------------------------------ serving

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        body = json.loads(request.content or b"{}")
        self.requests.append((path, body))
        if path in self.fail_paths:
            return self.fail_paths[path]
        handler = getattr(self, "h_" + path.removeprefix("/api/v1/").replace("/", "_"), None)
        if handler is None:
            return httpx.Response(404, text="404 page not found")
        return handler(body)

    def _domain(self, domain_id: str, *, full: bool) -> dict[str, Any]:
        d = dict(self.domains[domain_id])
        if full:
            d.update(
                deploy_token_statuses=[
                    {
                        "token": DEPLOY_TOKEN,
                        "state": "unused",
                        "last_transition_time": "2025-04-16T09:00:01Z",
                    }
                ],
                annotations={},
                auth_center={"authentication_type": "Token", "token_gen_method": "UID-RSA-GEN"},
                master_domain_id=domain_id,
            )
        return d

    def h_domain_batchQuery(self, body: dict[str, Any]) -> httpx.Response:
        for i in body["domain_ids"]:
            if i not in self.domains:
                return _err(11305, f'domains.kuscia.secretflow "{i}" not found')
        return _ok({"domains": [self._domain(i, full=False) for i in body["domain_ids"]]})

    def h_domain_query(self, body: dict[str, Any]) -> httpx.Response:
        i = body["domain_id"]
        if i not in self.domains:
            return _err(11305, f'domains.kuscia.secretflow "{i}" not found')
        return _ok(self._domain(i, full=True))

    def _route_status(self, s: str, d: str) -> dict[str, Any]:
        status, reason = self.routes[(s, d)]
        return {
            "name": f"{s}-{d}",
            "source": s,
            "destination": d,
            "status": {"status": status, "reason": reason},
        }

    def h_route_status_batchQuery(self, body: dict[str, Any]) -> httpx.Response:
        keys = [(k["source"], k["destination"]) for k in body["route_keys"]]
        for s, d in keys:
            if (s, d) not in self.routes:
                return _err(11404, f'clusterdomainroutes.kuscia.secretflow "{s}-{d}" not found')
        return _ok({"routes": [self._route_status(s, d) for s, d in keys]})

    def h_route_query(self, body: dict[str, Any]) -> httpx.Response:
        s, d = body["source"], body["destination"]
        if (s, d) not in self.routes:
            return _err(11404, f'clusterdomainroutes.kuscia.secretflow "{s}-{d}" not found')
        st = self._route_status(s, d)
        return _ok(
            {
                "name": f"{s}-{d}",
                "authentication_type": "MTLS",
                "source": s,
                "destination": d,
                "endpoint": {
                    "host": f"kuscia-lite-{d}",
                    "ports": [
                        {
                            "name": "http",
                            "port": 1080,
                            "protocol": "HTTP",
                            "isTLS": True,
                            "path_prefix": "",
                        }
                    ],
                },
                "token_config": None,
                "mtls_config": {
                    "tls_ca": "",
                    "source_client_private_key": ROUTE_KEY,
                    "source_client_cert": "",
                },
                "status": st["status"],
                "transit": None,
                "body_encryption": None,
            }
        )

    def h_domaindata_list(self, body: dict[str, Any]) -> httpx.Response:
        domain = body["data"]["domain_id"]
        return _ok({"domaindata_list": list(self.data.get(domain, []))})

    def h_domaindatasource_list(self, body: dict[str, Any]) -> httpx.Response:
        domain = body["domain_id"]
        return _ok(
            {
                "datasource_list": [
                    {
                        "domain_id": domain,
                        "datasource_id": "default-data-source",
                        "name": "default-data-source",
                        "type": "localfs",
                        "status": "",
                        "info": {"localfs": {"path": "/home/kuscia/var/storage/data"}},
                        "info_key": "",
                        "access_directly": True,
                    },
                    {
                        "domain_id": domain,
                        "datasource_id": "mysql-1",
                        "name": "db",
                        "type": "mysql",
                        "status": "",
                        "info": {
                            "database": {
                                "endpoint": "db:3306",
                                "user": "u",
                                "password": DB_PASSWORD,
                                "database": "d",
                            }
                        },
                        "info_key": "",
                        "access_directly": True,
                    },
                ]
            }
        )

    def h_domaindatagrant_list(self, body: dict[str, Any]) -> httpx.Response:
        domain = body["data"]["domain_id"]
        return _ok({"domaindatagrant_list": list(self.grants.get(domain, []))})


def fake_client(handler: Callable[[httpx.Request], httpx.Response], cert_dir: Path) -> KusciaClient:
    """The console's real client, answered by `handler` (a FakeKuscia) instead of a socket."""
    config = ConnectionConfig.from_cert_dir("https://127.0.0.1:13082", cert_dir)
    return KusciaClient(config, transport=httpx.MockTransport(handler))
