"""Kuscia JSON of the domain, route, domain data, data source and grant routes <-> the typed
values of types.py (facts: kuscia-network-api.md).

Secrets are dropped here, at the client boundary, and never reach a typed value: the deploy
tokens of domain/query, a route's `source_client_private_key`, a data source's access keys,
users and passwords. Certificates (public) are reduced to their presence and expiry.
Timestamps become aware UTC datetimes; Kuscia's nanosecond integers too.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509

from kuscia.errors import KusciaMalformed
from kuscia.types import (
    JSON,
    AuthCenter,
    CertInfo,
    DataColumn,
    DataSourceInfo,
    DeployTokenStatus,
    Domain,
    DomainData,
    DomainDataGrant,
    DomainDataGrantSpec,
    DomainDataSource,
    DomainDataSpec,
    GrantLimit,
    GrantUseRecord,
    NodeStatus,
    RouteDetail,
    RouteEndpoint,
    RouteMTLSConfig,
    RoutePort,
    RouteReason,
    RouteStatus,
    RouteTokenConfig,
    RouteTransit,
)
from kuscia.wire import _bad, _each, _id, _int, _list, _s, _str_map, _t, obj

# ------------------------------------------------------------------ small readers


def _bool(o: Mapping[str, Any], key: str, where: str) -> bool:
    value = o.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise _bad(f"{where}.{key}", "true or false", value)
    return value


def _given(o: Mapping[str, Any], key: str, where: str) -> bool:
    """Whether a secret or key string was sent, without keeping it."""
    return bool(_s(o, key, where))


def _nanos(o: Mapping[str, Any], key: str, where: str) -> datetime | None:
    """Kuscia's int64 nanoseconds since the epoch (a JSON string or number); 0 -> None."""
    n = _int(o, key, where)
    if n <= 0:
        return None
    try:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=n // 1000)
    except OverflowError:
        raise _bad(f"{where}.{key}", "nanoseconds since 1970", n) from None


def to_nanos(value: datetime | None) -> int:
    if value is None:
        return 0
    delta = value.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * 10**9 + delta.microseconds * 1000


def cert_info(value: Any, where: str = "cert") -> CertInfo:
    """A certificate as Kuscia returns it (base64 of a PEM, or a PEM) -> presence and expiry.
    A value that is not a readable certificate keeps present=True with no expiry."""
    if value is None or value == "":
        return CertInfo()
    if not isinstance(value, str):
        raise _bad(where, "a certificate string", value)
    text = value.strip()
    blobs: list[bytes] = []
    if "-----BEGIN" in text:
        blobs.append(text.encode())
    else:
        try:
            decoded = base64.b64decode(text + "=" * (-len(text) % 4), validate=False)
        except (binascii.Error, ValueError):
            decoded = b""
        if decoded:
            blobs.append(decoded)
            if b"-----BEGIN" not in decoded:  # doubly base64-encoded, which Kuscia accepts
                with contextlib.suppress(binascii.Error, ValueError):
                    blobs.append(base64.b64decode(decoded.strip() + b"=" * (-len(decoded) % 4)))
    for blob in blobs:
        cert = _load_cert(blob)
        if cert is not None:
            return CertInfo(
                present=True,
                not_after=cert.not_valid_after_utc,
                subject=cert.subject.rfc4514_string(),
            )
    return CertInfo(present=True)


def _load_cert(blob: bytes) -> x509.Certificate | None:
    try:
        if b"-----BEGIN" in blob:
            return x509.load_pem_x509_certificate(blob)
        return x509.load_der_x509_certificate(blob)
    except ValueError:
        return None


# ------------------------------------------------------------------ domains


def _node_status(o: Any, where: str) -> NodeStatus:
    o = obj(o, where)
    return NodeStatus(
        name=_s(o, "name", where),
        status=_s(o, "status", where),
        version=_s(o, "version", where),
        last_heartbeat_time=_t(o, "last_heartbeat_time", where),
        last_transition_time=_t(o, "last_transition_time", where),
    )


def _deploy_token(o: Any, where: str) -> DeployTokenStatus:
    o = obj(o, where)  # `token` is a live secret: read the state only
    return DeployTokenStatus(
        state=_s(o, "state", where), last_transition_time=_t(o, "last_transition_time", where)
    )


def parse_domain(o: Any, where: str = "data") -> Domain:
    o = obj(o, where)
    auth = o.get("auth_center")
    auth_center = None
    if auth is not None:
        a = obj(auth, f"{where}.auth_center")
        auth_center = AuthCenter(
            authentication_type=_s(a, "authentication_type", f"{where}.auth_center"),
            token_gen_method=_s(a, "token_gen_method", f"{where}.auth_center"),
        )
    nodes = _each(o, "node_statuses", where, _node_status)
    return Domain(
        domain_id=_id(o, "domain_id", where),
        role=_s(o, "role", where),
        cert=cert_info(o.get("cert"), f"{where}.cert"),
        node_statuses=tuple(sorted(nodes, key=lambda n: n.name)),
        deploy_token_statuses=tuple(_each(o, "deploy_token_statuses", where, _deploy_token)),
        annotations=_str_map(o, "annotations", where),
        auth_center=auth_center,
        master_domain_id=_s(o, "master_domain_id", where),
    )


def parse_domains(data: Any) -> list[Domain]:
    return _each(obj(data, "data"), "domains", "data", parse_domain)


# ------------------------------------------------------------------ routes

_REASON = re.compile(r"^LastUpdateAt=(?P<at>.*?), Message=(?P<message>.*?), Reason:(?P<reason>.*)$")
_GO_TIME = re.compile(
    r"^(?P<date>\d{4}-\d\d-\d\d) (?P<time>\d\d:\d\d:\d\d)(?:\.(?P<frac>\d+))? "
    r"(?P<offset>[+-]\d{4})(?: \S+)?(?: m=[+-][\d.]+)?$"
)


def parse_go_time(text: str) -> datetime | None:
    """Go's time.Time.String() ("2025-04-16 10:02:11 +0000 UTC") as aware UTC; None when the
    text has another shape."""
    m = _GO_TIME.match(text.strip())
    if m is None:
        return None
    frac = (m["frac"] or "")[:6].ljust(6, "0")
    try:
        parsed = datetime.strptime(
            f"{m['date']} {m['time']}.{frac}{m['offset']}", "%Y-%m-%d %H:%M:%S.%f%z"
        )
    except ValueError:
        return None
    return parsed.astimezone(UTC)


def parse_route_reason(reason: str) -> RouteReason:
    """`LastUpdateAt=<t>, Message=<m>, Reason:<r>` (Kuscia's buildRouteStatus) taken apart."""
    m = _REASON.match(reason.strip())
    if m is None:
        return RouteReason(message=reason.strip())
    return RouteReason(
        updated_at=parse_go_time(m["at"]), message=m["message"].strip(), reason=m["reason"].strip()
    )


def parse_route_status(o: Any, where: str = "route") -> RouteStatus:
    o = obj(o, where)
    st = obj(o.get("status"), f"{where}.status")
    return RouteStatus(
        source=_s(o, "source", where),
        destination=_s(o, "destination", where),
        status=_s(st, "status", f"{where}.status"),
        reason=_s(st, "reason", f"{where}.status"),
        name=_s(o, "name", where),
        raw=o,
    )


def parse_route_statuses(data: Any) -> list[RouteStatus]:
    return _each(obj(data, "data"), "routes", "data", parse_route_status)


def _port(o: Any, where: str) -> RoutePort:
    o = obj(o, where)
    return RoutePort(
        name=_s(o, "name", where),
        port=_int(o, "port", where),
        protocol=_s(o, "protocol", where),
        is_tls=_bool(o, "isTLS", where),
        path_prefix=_s(o, "path_prefix", where) or _s(o, "pathPrefix", where),
    )


def parse_route_detail(data: Any) -> RouteDetail:
    d = obj(data, "data")
    ep = obj(d.get("endpoint"), "data.endpoint")
    token = None
    if d.get("token_config") is not None:
        tc = obj(d["token_config"], "data.token_config")
        w = "data.token_config"
        token = RouteTokenConfig(
            token_gen_method=_s(tc, "token_gen_method", w),
            rolling_update_period=_int(tc, "rolling_update_period", w),
            source_public_key=_given(tc, "source_public_key", w),
            destination_public_key=_given(tc, "destination_public_key", w),
        )
    mtls = None
    if d.get("mtls_config") is not None:
        mc = obj(d["mtls_config"], "data.mtls_config")
        w = "data.mtls_config"
        mtls = RouteMTLSConfig(
            tls_ca=cert_info(mc.get("tls_ca"), f"{w}.tls_ca"),
            source_client_cert=cert_info(mc.get("source_client_cert"), f"{w}.source_client_cert"),
            source_client_private_key=_given(mc, "source_client_private_key", w),
        )
    transit = None
    if d.get("transit") is not None:
        tr = obj(d["transit"], "data.transit")
        dom = obj(tr.get("domain"), "data.transit.domain")
        transit = RouteTransit(
            transit_method=_s(tr, "transit_method", "data.transit"),
            domain_id=_s(dom, "domain_id", "data.transit.domain"),
        )
    body = obj(d.get("body_encryption"), "data.body_encryption")
    status = obj(d.get("status"), "data.status")
    return RouteDetail(
        source=_s(d, "source", "data"),
        destination=_s(d, "destination", "data"),
        name=_s(d, "name", "data"),
        authentication_type=_s(d, "authentication_type", "data"),
        endpoint=RouteEndpoint(
            host=_s(ep, "host", "data.endpoint"),
            ports=tuple(_each(ep, "ports", "data.endpoint", _port)),
        ),
        token_config=token,
        mtls_config=mtls,
        transit=transit,
        body_encryption=_s(body, "algorithm", "data.body_encryption"),
        status=_s(status, "status", "data.status"),
        reason=_s(status, "reason", "data.status"),
    )


# ------------------------------------------------------------------ domain data


def _column(o: Any, where: str) -> DataColumn:
    o = obj(o, where)
    return DataColumn(
        name=_s(o, "name", where),
        type=_s(o, "type", where),
        comment=_s(o, "comment", where),
        not_nullable=_bool(o, "not_nullable", where),
    )


def parse_domaindata(o: Any, where: str = "data") -> DomainData:
    o = obj(o, where)
    return DomainData(
        domaindata_id=_id(o, "domaindata_id", where),
        domain_id=_s(o, "domain_id", where),
        name=_s(o, "name", where),
        type=_s(o, "type", where),
        relative_uri=_s(o, "relative_uri", where),
        datasource_id=_s(o, "datasource_id", where),
        vendor=_s(o, "vendor", where),
        attributes=_str_map(o, "attributes", where),
        columns=tuple(_each(o, "columns", where, _column)),
        status=_s(o, "status", where),
        author=_s(o, "author", where),
        file_format=_file_format(o.get("file_format"), f"{where}.file_format"),
        raw=o,
    )


_FILE_FORMATS = {0: "UNKNOWN", 1: "CSV", 2: "BINARY"}


def _file_format(value: Any, where: str) -> str:
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return _FILE_FORMATS.get(value, str(value))
    if not isinstance(value, str):
        raise _bad(where, "a file format", value)
    return value


def parse_domaindata_list(data: Any) -> list[DomainData]:
    return _each(obj(data, "data"), "domaindata_list", "data", parse_domaindata)


def domaindata_request(spec: DomainDataSpec) -> JSON:
    """The flat create/update body; empty fields are left out (Kuscia's defaults apply)."""
    body: JSON = {"domain_id": spec.domain_id}
    for key in (
        "domaindata_id",
        "name",
        "type",
        "relative_uri",
        "datasource_id",
        "vendor",
        "file_format",
    ):
        value = getattr(spec, key)
        if value:
            body[key] = value
    if spec.attributes:
        body["attributes"] = dict(spec.attributes)
    if spec.columns:
        body["columns"] = [
            {"name": c.name, "type": c.type, "comment": c.comment, "not_nullable": c.not_nullable}
            for c in spec.columns
        ]
    return body


def parse_created_id(data: Any, key: str) -> str:
    d = obj(data, "data")
    value = _s(d, key, "data")
    if not value:
        raise KusciaMalformed(f"data.{key} missing in the reply")
    return value


# ------------------------------------------------------------------ data sources


def _source_info(value: Any, where: str) -> DataSourceInfo | None:
    """The location part of `info`; credentials (access keys, user, password) are dropped."""
    if value is None:
        return None
    info = obj(value, where)
    for kind in ("localfs", "oss", "database", "odps"):
        part = info.get(kind)
        if part is None:
            continue
        p = obj(part, f"{where}.{kind}")
        w = f"{where}.{kind}"
        return DataSourceInfo(
            kind=kind,
            path=_s(p, "path", w),
            endpoint=_s(p, "endpoint", w),
            bucket=_s(p, "bucket", w),
            prefix=_s(p, "prefix", w),
            database=_s(p, "database", w),
            project=_s(p, "project", w),
            storage_type=_s(p, "storage_type", w),
        )
    return DataSourceInfo()


def parse_datasource(o: Any, where: str = "data") -> DomainDataSource:
    o = obj(o, where)
    return DomainDataSource(
        domain_id=_s(o, "domain_id", where),
        datasource_id=_id(o, "datasource_id", where),
        name=_s(o, "name", where),
        type=_s(o, "type", where),
        status=_s(o, "status", where),
        info=_source_info(o.get("info"), f"{where}.info"),
        info_key=_s(o, "info_key", where),
        access_directly=_bool(o, "access_directly", where),
    )


def parse_datasource_list(data: Any) -> list[DomainDataSource]:
    return _each(obj(data, "data"), "datasource_list", "data", parse_datasource)


# ------------------------------------------------------------------ grants


def _use_record(o: Any, where: str) -> GrantUseRecord:
    o = obj(o, where)
    return GrantUseRecord(
        use_time=_nanos(o, "use_time", where),
        grant_domain=_s(o, "grant_domain", where),
        component=_s(o, "component", where),
        output=_s(o, "output", where),
    )


def parse_grant(o: Any, where: str = "data") -> DomainDataGrant:
    """{data: {...grant...}, status: {phase, message, records}} -> DomainDataGrant (the
    signature is not kept)."""
    o = obj(o, where)
    g = obj(o.get("data"), f"{where}.data")
    gw = f"{where}.data"
    st = obj(o.get("status"), f"{where}.status")
    limit = None
    if g.get("limit") is not None:
        lw = f"{gw}.limit"
        lo = obj(g["limit"], lw)
        comps = _list(lo, "components", lw)
        for i, c in enumerate(comps):
            if not isinstance(c, str):
                raise _bad(f"{lw}.components[{i}]", "a string", c)
        limit = GrantLimit(
            expiration_time=_nanos(lo, "expiration_time", lw),
            use_count=_int(lo, "use_count", lw),
            flow_id=_s(lo, "flow_id", lw),
            components=tuple(comps),
            initiator=_s(lo, "initiator", lw),
            input_config=_s(lo, "input_config", lw),
        )
    return DomainDataGrant(
        domaindatagrant_id=_id(g, "domaindatagrant_id", gw),
        domaindata_id=_s(g, "domaindata_id", gw),
        grant_domain=_s(g, "grant_domain", gw),
        author=_s(g, "author", gw),
        domain_id=_s(g, "domain_id", gw),
        limit=limit,
        description=_str_map(g, "description", gw),
        phase=_s(st, "phase", f"{where}.status"),
        message=_s(st, "message", f"{where}.status"),
        records=tuple(_each(st, "records", f"{where}.status", _use_record)),
    )


def parse_grant_list(data: Any) -> list[DomainDataGrant]:
    return _each(obj(data, "data"), "domaindatagrant_list", "data", parse_grant)


def grant_request(spec: DomainDataGrantSpec) -> JSON:
    body: JSON = {
        "domain_id": spec.domain_id,
        "domaindata_id": spec.domaindata_id,
        "grant_domain": spec.grant_domain,
    }
    if spec.domaindatagrant_id:
        body["domaindatagrant_id"] = spec.domaindatagrant_id
    limit: JSON = {}
    if spec.expiration_time is not None:
        limit["expiration_time"] = str(to_nanos(spec.expiration_time))
    if spec.use_count:
        limit["use_count"] = spec.use_count
    if spec.components:
        limit["components"] = list(spec.components)
    if spec.flow_id:
        limit["flow_id"] = spec.flow_id
    if limit:
        body["limit"] = limit
    if spec.description:
        body["description"] = dict(spec.description)
    return body
