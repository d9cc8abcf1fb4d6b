"""Kuscia status codes of the domain, route, domain data, data source and grant routes
(kuscia-network-api.md §1.5, §2.4, §3.4, §4, §5), and reading the object a whole-batch failure
names. errors.py classifies codes into error kinds; this module adds what the network sync
needs to tell "one key fails the batch" apart from other failures."""

from __future__ import annotations

import re
from collections.abc import Sequence

from kuscia.errors import KusciaError

DOMAIN_NOT_FOUND = 11305  # domain/query, batchQuery (whole batch), update, delete
DOMAIN_EXISTS = 11306
ROUTE_NOT_FOUND = 11404  # route/query, status/batchQuery (whole batch), delete
ROUTE_EXISTS = 11405
DOMAINDATA_NOT_FOUND = 11506
DOMAINDATA_EXISTS = 11507
DATASOURCE_QUERY_FAILED = 11802  # also "not found": the NotFound mapping is lost (wrapped)
DATASOURCE_BATCH_FAILED = 11803
DATASOURCE_LIST_FAILED = 11808
DATASOURCE_NOT_EXISTS = 11806  # domaindata/create with an unknown datasource_id
GRANT_EXISTS = 11700
GRANT_BATCH_FAILED = 11702
GRANT_NOT_FOUND = 11705
VALIDATION = 11100
LITE_NOT_SUPPORTED = 11104

_QUOTED = re.compile(r'"([^"]+)"')


def named_object(exc: KusciaError) -> str:
    """The Kubernetes object a not-found message names
    (`clusterdomainroutes.kuscia.secretflow "alice-bob" not found` -> "alice-bob")."""
    found = _QUOTED.findall(exc.message)
    return found[-1] if found else ""


def missing_domain(exc: KusciaError, ids: Sequence[str]) -> str | None:
    """The id among `ids` that made domain/batchQuery fail the whole batch (11305), or None
    when the error is something else or names no id we sent."""
    if exc.code != DOMAIN_NOT_FOUND:
        return None
    name = named_object(exc)
    return name if name in ids else None


def missing_route(exc: KusciaError, pairs: Sequence[tuple[str, str]]) -> tuple[str, str] | None:
    """The (source, destination) among `pairs` that made route/status/batchQuery fail the
    whole batch (11404): the route object is named "<source>-<destination>", which is
    ambiguous when ids contain "-", so the name is matched against the pairs sent (the first
    match in request order)."""
    if exc.code != ROUTE_NOT_FOUND:
        return None
    name = named_object(exc)
    return next(((s, d) for s, d in pairs if f"{s}-{d}" == name), None)


def is_datasource_not_found(exc: KusciaError) -> bool:
    """domaindatasource/query answers an unknown id with 11802 and the wrapped k8s text."""
    return exc.code == DATASOURCE_QUERY_FAILED and "not found" in exc.message.lower()
