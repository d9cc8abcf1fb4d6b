"""Domains, routes between them, and each domain's data (kuscia-api.md §2.2-§2.6)."""

from __future__ import annotations

import copy
from collections.abc import Iterable

from .base import (
    ERR_DOMAIN_NOT_EXISTS,
    ERR_DOMAINDATA_NOT_EXISTS,
    ERR_ROUTE_NOT_EXISTS,
    ERR_VALIDATE,
    JSON,
    KUSCIA_VERSION,
    APIError,
)
from .clock import rfc3339
from .core import WorldCore

# ---------------------------------------------------------------- seed data


def _domaindata(
    did: str, domain: str, uri: str, columns: list[tuple[str, str]], description: str
) -> JSON:
    return {
        "domaindata_id": did,
        "name": uri,
        "type": "table",
        "relative_uri": uri,
        "domain_id": domain,
        "datasource_id": "default-data-source",
        "attributes": {"description": description},
        "partition": None,
        "columns": [
            {"name": n, "type": t, "comment": "", "not_nullable": False} for n, t in columns
        ],
        "vendor": "manual",
        "status": "Available",
        "author": domain,
        "file_format": "CSV",
    }


SEED_DOMAINS = ("alice", "bob", "carol")


def seed_domaindata() -> list[JSON]:
    return [
        _domaindata(
            "alice-table",
            "alice",
            "alice.csv",
            [("id1", "str"), ("age", "float"), ("education", "str"), ("default", "str")],
            "alice demo data",
        ),
        _domaindata(
            "bob-table",
            "bob",
            "bob.csv",
            [("id2", "str"), ("contact", "str"), ("duration", "float"), ("y", "float")],
            "bob demo data",
        ),
        _domaindata(
            "carol-table",
            "carol",
            "carol.csv",
            [("id3", "str"), ("balance", "float"), ("housing", "str")],
            "carol demo data",
        ),
    ]


class Network(WorldCore):
    """Domain, route and domain-data routes, and the controls that change them."""

    def add_domain(self, domain_id: str) -> None:
        with self.lock:
            t = rfc3339(self.started_at)
            partner = self.mode == "autonomy" and domain_id != self.local_domain
            self.domains[domain_id] = {
                "domain_id": domain_id,
                "role": "partner" if partner else "",
                "node_statuses": []
                if partner
                else [
                    {
                        "name": f"kuscia-{'autonomy' if self.mode == 'autonomy' else 'lite'}-"
                        f"{domain_id}",
                        "status": "Ready",
                        "version": KUSCIA_VERSION,
                        "last_heartbeat_time": t,
                        "last_transition_time": t,
                    }
                ],
            }
            for other in list(self.domains):
                if other != domain_id:
                    self.routes.setdefault((domain_id, other), ("Succeeded", ""))
                    self.routes.setdefault((other, domain_id), ("Succeeded", ""))

    def set_route_status(
        self, source: str, destination: str, status: str, reason: str = ""
    ) -> None:
        """Route `source`->`destination` reports `status` ("Succeeded"/"Failed") and `reason`."""
        with self.lock:
            self.routes[(source, destination)] = (status, reason)

    def set_node_status(self, domain_id: str, status: str) -> None:
        """The domain's node reports `status` ("Ready"/"NotReady") from now on."""
        with self.lock:
            now = rfc3339(self.now())
            for node in self.domains[domain_id]["node_statuses"]:
                if node["status"] != status:
                    node["last_transition_time"] = now
                node["status"] = status
                if status == "Ready":
                    node["last_heartbeat_time"] = now

    def set_route_ready(self, source: str, destination: str, ready: bool) -> None:
        self.set_route_status(source, destination, "Succeeded" if ready else "Failed")

    def query_domain(self, domain_id: str) -> JSON:
        with self.lock:
            if not domain_id:
                raise APIError(ERR_VALIDATE, "domain id can not be empty")
            if domain_id == "master":
                return {
                    "domain_id": "master",
                    "role": "",
                    "cert": self.domain_cert_pem,
                    "node_statuses": [],
                    "deploy_token_statuses": [],
                    "annotations": {},
                    "auth_center": None,
                    "master_domain_id": "",
                }
            d = self.domains.get(domain_id)
            if d is None:
                raise APIError(
                    ERR_DOMAIN_NOT_EXISTS, f'domains.kuscia.secretflow "{domain_id}" not found'
                )
            return {
                "domain_id": d["domain_id"],
                "role": d["role"],
                "cert": self.domain_cert_pem,
                "node_statuses": [dict(n) for n in d["node_statuses"]],
                "deploy_token_statuses": [],
                "annotations": {},
                "auth_center": None,
                "master_domain_id": "",
            }

    def batch_query_domains(self, ids: list[str]) -> list[JSON]:
        with self.lock:
            if not ids:
                raise APIError(ERR_VALIDATE, "domain ids can not be empty")
            for index, i in enumerate(ids):
                if not i:
                    raise APIError(ERR_VALIDATE, f"domain id can not be empty on index {index}")
            out = []
            for i in ids:
                d = self.query_domain(i)
                out.append({k: d[k] for k in ("domain_id", "role", "cert", "node_statuses")})
            return out

    def query_domaindata(self, domain_id: str, domaindata_id: str) -> JSON:
        with self.lock:
            if not domain_id or not domaindata_id:
                raise APIError(ERR_VALIDATE, "domain id and domaindata id can not be empty")
            for dd in self._local_data():
                if dd["domain_id"] == domain_id and dd["domaindata_id"] == domaindata_id:
                    return copy.deepcopy(dd)
            raise APIError(
                ERR_DOMAINDATA_NOT_EXISTS,
                f'domaindatas.kuscia.secretflow "{domaindata_id}" not found',
            )

    def batch_query_domaindata(self, keys: Iterable[JSON]) -> list[JSON]:
        with self.lock:
            keys = list(keys)
            if any(not k["domain_id"] or not k["domaindata_id"] for k in keys):
                raise APIError(ERR_VALIDATE, "domain id and domaindata id can not be empty")
            out = []
            for k in keys:
                try:
                    out.append(self.query_domaindata(k["domain_id"], k["domaindata_id"]))
                except APIError as exc:
                    if exc.code != ERR_DOMAINDATA_NOT_EXISTS:
                        raise
            return out

    def _local_data(self) -> list[JSON]:
        """Domain data lives on its own domain's node: a P2P node holds only its own."""
        if not self.local_domain:
            return self.domaindata
        return [dd for dd in self.domaindata if dd["domain_id"] == self.local_domain]

    def list_domaindata(self, domain_id: str, dtype: str = "", vendor: str = "") -> list[JSON]:
        with self.lock:
            if not domain_id:
                raise APIError(ERR_VALIDATE, "domain id can not be empty")
            return [
                copy.deepcopy(dd)
                for dd in self._local_data()
                if dd["domain_id"] == domain_id
                and (not dtype or dd["type"] == dtype)
                and (not vendor or dd["vendor"] == vendor)
            ]

    def batch_route_status(self, keys: list[JSON]) -> list[JSON]:
        """Route status per key: whole batch fails (11404) on one unknown route."""
        with self.lock:
            if not keys:
                raise APIError(ERR_VALIDATE, "DomainRoute keys can not be empty")
            for k in keys:
                if not k["source"]:
                    raise APIError(ERR_VALIDATE, "source can not be empty")
                if not k["destination"]:
                    raise APIError(ERR_VALIDATE, "destination can not be empty")
            out = []
            for k in keys:
                src, dst = k["source"], k["destination"]
                st = self.routes.get((src, dst))
                if st is None:
                    raise APIError(
                        ERR_ROUTE_NOT_EXISTS,
                        f'clusterdomainroutes.kuscia.secretflow "{src}-{dst}" not found',
                    )
                out.append(
                    {
                        "name": f"{src}-{dst}",
                        "destination": dst,
                        "source": src,
                        "status": {"status": st[0], "reason": st[1]},
                    }
                )
            return out
