"""What a lite node refuses that its master would answer: another domain's data.

A lite serves domain data locally and only for its own domain (`validateRequestWhenLite`,
pkg/kusciaapi/service/domaindata_service.go): a request naming another domain is refused with
11100 and a message that names the lite's domain (which is how a client learns it)."""

from __future__ import annotations

from .base import ERR_VALIDATE, JSON, APIError

DATA_ROUTES = frozenset(
    {
        "/api/v1/domaindata/create",
        "/api/v1/domaindata/update",
        "/api/v1/domaindata/delete",
        "/api/v1/domaindata/query",
        "/api/v1/domaindata/batchQuery",
        "/api/v1/domaindata/list",
    }
)


def _domains(path: str, req: JSON) -> list[str]:
    data = req.get("data")
    if isinstance(data, list):  # batchQuery: every item
        return [str(item.get("domain_id") or "") for item in data if isinstance(item, dict)]
    if isinstance(data, dict):  # query, list
        return [str(data.get("domain_id") or "")]
    return [str(req.get("domain_id") or "")]  # create, update, delete


def check_request(path: str, req: JSON, lite_domain: str) -> None:
    """Raise Kuscia's refusal when a lite is asked about another domain's data."""
    if path not in DATA_ROUTES:
        return
    for domain in _domains(path, req):
        if domain and domain != lite_domain:
            raise APIError(
                ERR_VALIDATE,
                "kuscia lite api could only operate it's own domaindata, the domainid of "
                f"request must be {lite_domain}, not {domain}",
            )
