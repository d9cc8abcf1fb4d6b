"""KusciaClient's calls for domains, routes, domain data, data sources and grants
(kuscia-network-api.md), as a base class of KusciaClient (client.py holds the transport).

Replies are parsed by wire_network, which drops secrets before anything else sees them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from kuscia import codes
from kuscia import wire_network as wn
from kuscia.errors import KusciaAPIError
from kuscia.texts import N_
from kuscia.types import (
    JSON,
    Domain,
    DomainData,
    DomainDataGrant,
    DomainDataGrantSpec,
    DomainDataSource,
    DomainDataSpec,
    RouteDetail,
    RouteStatus,
)

T = TypeVar("T")


def _nothing(data: Any) -> None:
    """Replies that carry no data (update, delete)."""


class NetworkCalls:
    def _unary(self, route: str, body: JSON, parser: Callable[[Any], T]) -> T:
        raise NotImplementedError  # KusciaClient's: POST, check the envelope, parse `data`

    # ------------------------------------------------------------ domains and routes

    def query_domain(self, domain_id: str) -> Domain:
        """One domain with its deploy-token states, auth center and master (tokens dropped)."""
        return self._unary("/api/v1/domain/query", {"domain_id": domain_id}, wn.parse_domain)

    def batch_query_domains(self, domain_ids: Sequence[str]) -> list[Domain]:
        """In request order. One unknown ID fails the whole batch (11305, not_found; the message
        names it: codes.missing_domain)."""
        if not domain_ids:
            return []
        return self._unary(
            "/api/v1/domain/batchQuery", {"domain_ids": list(domain_ids)}, wn.parse_domains
        )

    def query_route(self, source: str, destination: str) -> RouteDetail:
        """One route's endpoint, authentication and status (the private key is dropped)."""
        body = {"source": source, "destination": destination}
        return self._unary("/api/v1/route/query", body, wn.parse_route_detail)

    def batch_query_route_status(self, pairs: Sequence[tuple[str, str]]) -> list[RouteStatus]:
        """(source, destination) pairs -> status (Succeeded/Failed with a reason), in request
        order. One unknown route fails the whole batch (11404: codes.missing_route)."""
        if not pairs:
            return []
        body = {"route_keys": [{"source": s, "destination": d} for s, d in pairs]}
        return self._unary("/api/v1/route/status/batchQuery", body, wn.parse_route_statuses)

    # ------------------------------------------------------------ domain data

    def list_domaindata(
        self, domain_id: str, *, domaindata_type: str = "", domaindata_vendor: str = ""
    ) -> list[DomainData]:
        body = {
            "data": {
                "domain_id": domain_id,
                "domaindata_type": domaindata_type,
                "domaindata_vendor": domaindata_vendor,
            }
        }
        return self._unary("/api/v1/domaindata/list", body, wn.parse_domaindata_list)

    def query_domaindata(self, domain_id: str, domaindata_id: str) -> DomainData:
        body = {"data": {"domain_id": domain_id, "domaindata_id": domaindata_id}}
        return self._unary("/api/v1/domaindata/query", body, wn.parse_domaindata)

    def batch_query_domaindata(self, pairs: Sequence[tuple[str, str]]) -> list[DomainData]:
        """(domain_id, domaindata_id) pairs; Kuscia silently skips unknown ones."""
        body = {"data": [{"domain_id": d, "domaindata_id": i} for d, i in pairs]}
        return self._unary("/api/v1/domaindata/batchQuery", body, wn.parse_domaindata_list)

    def create_domaindata(self, spec: DomainDataSpec) -> str:
        """The new item's id. An existing domaindata_id is silently updated by Kuscia (upsert):
        query first to refuse duplicates."""
        return self._unary(
            "/api/v1/domaindata/create",
            wn.domaindata_request(spec),
            lambda d: wn.parse_created_id(d, "domaindata_id"),
        )

    def update_domaindata(self, spec: DomainDataSpec) -> None:
        """Empty fields keep Kuscia's stored values (domain_id and domaindata_id required)."""
        self._unary("/api/v1/domaindata/update", wn.domaindata_request(spec), _nothing)

    def delete_domaindata(self, domain_id: str, domaindata_id: str) -> None:
        """Removes the DomainData object (not the file it points at)."""
        body = {"domain_id": domain_id, "domaindata_id": domaindata_id}
        self._unary("/api/v1/domaindata/delete", body, _nothing)

    # ------------------------------------------------------------ data sources

    def list_datasources(self, domain_id: str) -> list[DomainDataSource]:
        """A domain's data sources (Kuscia >= v0.9.0b0); credentials are dropped."""
        return self._unary(
            "/api/v1/domaindatasource/list", {"domain_id": domain_id}, wn.parse_datasource_list
        )

    def query_datasource(self, domain_id: str, datasource_id: str) -> DomainDataSource:
        """An unknown id comes back as 11802 with Kubernetes' not-found text; it is raised as
        kind not_found like the other routes' not-found codes."""
        body = {"domain_id": domain_id, "datasource_id": datasource_id}
        try:
            return self._unary("/api/v1/domaindatasource/query", body, wn.parse_datasource)
        except KusciaAPIError as exc:
            if codes.is_datasource_not_found(exc):
                raise KusciaAPIError(
                    exc.message,
                    kind="not_found",
                    code=exc.code,
                    route=exc.route,
                    hint=N_("No such data source in that domain: check the data source ID."),
                ) from None
            raise

    # ------------------------------------------------------------ grants

    def list_grants(
        self, domain_id: str, *, grant_domain: str = "", domaindata_vendor: str = ""
    ) -> list[DomainDataGrant]:
        body = {
            "data": {
                "domain_id": domain_id,
                "grant_domain": grant_domain,
                "domaindata_vendor": domaindata_vendor,
            }
        }
        return self._unary("/api/v1/domaindatagrant/list", body, wn.parse_grant_list)

    def query_grant(self, domain_id: str, grant_id: str) -> DomainDataGrant:
        body = {"domain_id": domain_id, "domaindatagrant_id": grant_id}
        return self._unary("/api/v1/domaindatagrant/query", body, wn.parse_grant)

    def create_grant(self, spec: DomainDataGrantSpec) -> str:
        """The grant's id (generated by Kuscia when the spec has none)."""
        return self._unary(
            "/api/v1/domaindatagrant/create",
            wn.grant_request(spec),
            lambda d: wn.parse_created_id(d, "domaindatagrant_id"),
        )

    def delete_grant(self, domain_id: str, grant_id: str) -> None:
        body = {"domain_id": domain_id, "domaindatagrant_id": grant_id}
        self._unary("/api/v1/domaindatagrant/delete", body, _nothing)
