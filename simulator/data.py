"""Each domain's data: DomainData, data sources and grants (kuscia-network-api.md §3-§5).

DomainData of every domain lives in the master's cluster (an autonomy node only has its own
domain's). Lists come in Kubernetes list order (by object name). The seed tables are Kuscia's
demo tables (scripts/templates/domaindata_alice_table.yaml, ..._bob_table.yaml); SecretFlow
tasks register their outputs (`sf_output_ids`) as vendor `secretflow` data when they succeed.
Data sources carry their connection `info` (with secrets) only on an autonomy node; a master
answers `info: null`.
"""

from __future__ import annotations

import copy
import json
import re
import secrets
from collections.abc import Sequence

from .base import (
    ERR_BATCH_QUERY_DATASOURCE,
    ERR_CREATE_GRANT,
    ERR_DATASOURCE_NOT_EXISTS,
    ERR_DELETE_GRANT,
    ERR_DOMAINDATA_NOT_EXISTS,
    ERR_GRANT_NOT_EXISTS,
    ERR_LIST_DATASOURCE,
    ERR_QUERY_DATASOURCE,
    ERR_QUERY_GRANT,
    ERR_VALIDATE,
    JSON,
    K8S_NAME_REGEX,
    APIError,
    invalid_name,
)
from .core import WorldCore

DEFAULT_DATASOURCE = "default-data-source"
STORAGE_PATH = "/home/kuscia/var/storage/data"
FILE_FORMATS = {0: "UNKNOWN", 1: "CSV", 2: "BINARY"}
K8S_NAME_RE = re.compile(K8S_NAME_REGEX)


def _typed(names: str, ctype: str) -> list[tuple[str, str]]:
    return [(n, ctype) for n in names.split()]


# Kuscia's demo tables: alice-table (alice.csv) and bob-table (bob.csv), no file format
ALICE_COLUMNS = [
    ("id1", "str"),
    *_typed(
        "age education default balance housing loan day duration campaign pdays previous "
        "job_blue-collar job_entrepreneur job_housemaid job_management job_retired "
        "job_self-employed job_services job_student job_technician job_unemployed "
        "marital_divorced marital_married marital_single",
        "float",
    ),
]
BOB_COLUMNS = [
    ("id2", "str"),
    *_typed(
        "contact_cellular contact_telephone contact_unknown month_apr month_aug month_dec "
        "month_feb month_jan month_jul month_jun month_mar month_may month_nov month_oct "
        "month_sep poutcome_failure poutcome_other poutcome_success poutcome_unknown",
        "float",
    ),
    ("y", "int"),
]
CAROL_COLUMNS = [("id3", "str"), ("balance", "float"), ("housing", "str"), ("loan", "str")]


def domaindata_item(
    did: str,
    domain: str,
    uri: str,
    columns: Sequence[tuple[str, str]] = (),
    *,
    description: str = "",
    vendor: str = "manual",
    dtype: str = "table",
    file_format: str = "UNKNOWN",
) -> JSON:
    """A DomainData as the API renders it."""
    return {
        "domaindata_id": did,
        "name": uri.rsplit("/", 1)[-1],
        "type": dtype,
        "relative_uri": uri,
        "domain_id": domain,
        "datasource_id": DEFAULT_DATASOURCE,
        "attributes": {"description": description} if description else {},
        "partition": None,
        "columns": [
            {"name": n, "type": t, "comment": "", "not_nullable": False} for n, t in columns
        ],
        "vendor": vendor,
        "status": "Available",
        "author": domain,
        "file_format": file_format,
    }


def seed_domaindata() -> dict[tuple[str, str], JSON]:
    items = [
        domaindata_item(
            "alice-table", "alice", "alice.csv", ALICE_COLUMNS, description="alice demo data"
        ),
        domaindata_item("bob-table", "bob", "bob.csv", BOB_COLUMNS, description="bob demo data"),
        domaindata_item(
            "carol-table", "carol", "carol.csv", CAROL_COLUMNS, description="carol demo data"
        ),
    ]
    return {(i["domain_id"], i["domaindata_id"]): i for i in items}


def _localfs(path: str) -> JSON:
    return {"localfs": {"path": path}, "oss": None, "database": None, "odps": None}


def datasource_item(domain: str, ds_id: str, dtype: str, info: JSON, *, direct: bool) -> JSON:
    return {
        "domain_id": domain,
        "datasource_id": ds_id,
        "name": ds_id,
        "type": dtype,
        "status": "",  # never filled by Kuscia
        "info": info,
        "info_key": "",
        "access_directly": direct,
    }


def seed_datasources(domain: str) -> list[JSON]:
    """A domain's default data source; alice also has an OSS source (with its secret)."""
    out = [
        datasource_item(domain, DEFAULT_DATASOURCE, "localfs", _localfs(STORAGE_PATH), direct=True)
    ]
    if domain == "alice":
        oss = {
            "endpoint": "https://oss.example.com",
            "bucket": "alice-bucket",
            "prefix": "kuscia/",
            "access_key_id": "LTAI5tAliceDemoKeyId",
            "access_key_secret": secrets.token_urlsafe(24),
            "virtualhost": False,
            "version": "",
            "storage_type": "",
        }
        info = {"localfs": None, "oss": oss, "database": None, "odps": None}
        out.append(datasource_item(domain, "demo-oss-datasource", "oss", info, direct=False))
    return out


def gen_domaindata_id(name: str) -> str:
    """Kuscia's GenDomainDataID: a cleaned, cut name, "-", 32 hex characters."""
    prefix = re.sub(r"[^a-z0-9/-]", "", name.lower())
    prefix = re.sub(r"^[0-9/-]+", "", prefix)[:16]
    return f"{prefix}-{secrets.token_hex(16)}"


def _not_found(kind: str, name: str) -> str:
    return f'{kind}.kuscia.secretflow "{name}" not found'


class Data(WorldCore):
    """domaindata/*, domaindatasource/list|query|batchQuery, domaindatagrant/*."""

    # ------------------------------------------------------------ domain data

    def _visible_data(self) -> list[JSON]:
        """In list order. A P2P node holds only its own domain's data."""
        items = sorted(self.domaindata.values(), key=lambda d: d["domaindata_id"])
        if not self.local_domain:
            return items
        return [d for d in items if d["domain_id"] == self.local_domain]

    def _find_data(self, domain_id: str, domaindata_id: str) -> JSON:
        dd = self.domaindata.get((domain_id, domaindata_id))
        if dd is None or (self.local_domain and domain_id != self.local_domain):
            raise APIError(ERR_DOMAINDATA_NOT_EXISTS, _not_found("domaindatas", domaindata_id))
        return dd

    def query_domaindata(self, domain_id: str, domaindata_id: str) -> JSON:
        with self.lock:
            if not domain_id or not domaindata_id:
                raise APIError(ERR_VALIDATE, "domain id and domaindata id can not be empty")
            return copy.deepcopy(self._find_data(domain_id, domaindata_id))

    def batch_query_domaindata(self, keys: Sequence[JSON]) -> list[JSON]:
        """In request order; unknown items are skipped."""
        with self.lock:
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

    def list_domaindata(self, domain_id: str, dtype: str = "", vendor: str = "") -> list[JSON]:
        with self.lock:
            if not domain_id:
                raise APIError(ERR_VALIDATE, "domain id can not be empty")
            return [
                copy.deepcopy(dd)
                for dd in self._visible_data()
                if dd["domain_id"] == domain_id
                and (not dtype or dd["type"] == dtype)
                and (not vendor or dd["vendor"] == vendor)
            ]

    def create_domaindata(self, req: JSON) -> str:
        """domaindata/create (flat request, codec.CREATE_DOMAINDATA); an existing id is
        updated instead (Kuscia's upsert). Returns the id."""
        with self.lock:
            domain = req["domain_id"]
            if not domain:
                raise APIError(ERR_VALIDATE, "request domain id can not be empty")
            if not K8S_NAME_RE.fullmatch(domain):
                raise APIError(ERR_VALIDATE, invalid_name("domain_id", domain))
            if not req["type"]:
                raise APIError(ERR_VALIDATE, "request type can not be empty")
            if not req["relative_uri"]:
                raise APIError(ERR_VALIDATE, "request relative_uri can not be empty")
            did = req["domaindata_id"]
            if did:
                if not K8S_NAME_RE.fullmatch(did):
                    raise APIError(ERR_VALIDATE, invalid_name("domaindata_id", did))
                if (domain, did) in self.domaindata:
                    self.update_domaindata({**req, "vendor": ""})  # the upsert drops vendor
                    return did
            name = req["name"] or req["relative_uri"].split("/")[-1]
            did = did or gen_domaindata_id(name)
            ds = req["datasource_id"] or DEFAULT_DATASOURCE
            self._check_datasource(domain, ds)
            self.domaindata[(domain, did)] = {
                "domaindata_id": did,
                "name": name,
                "type": req["type"],
                "relative_uri": req["relative_uri"].removeprefix("/"),
                "domain_id": domain,
                "datasource_id": ds,
                "attributes": dict(req["attributes"]),
                "partition": req["partition"],
                "columns": [dict(c) for c in req["columns"]],
                "vendor": req["vendor"] or "manual",
                "status": "Available",
                "author": domain,
                "file_format": FILE_FORMATS.get(req["file_format"], "UNKNOWN"),
            }
            return did

    def update_domaindata(self, req: JSON) -> None:
        """domaindata/update: fields left empty keep their stored values."""
        with self.lock:
            domain, did = req["domain_id"], req["domaindata_id"]
            if not domain or not did:
                raise APIError(ERR_VALIDATE, "domain id and domaindata id can not be empty")
            old = self._find_data(domain, did)
            ds = req["datasource_id"] or old["datasource_id"]
            self._check_datasource(domain, ds)
            fmt = FILE_FORMATS.get(req["file_format"], "UNKNOWN")
            old.update(
                name=req["name"] or old["name"],
                type=req["type"] or old["type"],
                relative_uri=req["relative_uri"] or old["relative_uri"],
                datasource_id=ds,
                attributes=dict(req["attributes"]) or old["attributes"],
                partition=req["partition"] if req["partition"] is not None else old["partition"],
                columns=[dict(c) for c in req["columns"]] or old["columns"],
                vendor=req["vendor"] or old["vendor"],
                author=domain,
                file_format=old["file_format"] if fmt == "UNKNOWN" else fmt,
            )

    def delete_domaindata(self, domain_id: str, domaindata_id: str) -> None:
        with self.lock:
            if not domain_id or not domaindata_id:
                raise APIError(ERR_VALIDATE, "domain id and domaindata id can not be empty")
            self._find_data(domain_id, domaindata_id)
            del self.domaindata[(domain_id, domaindata_id)]

    def _check_datasource(self, domain: str, ds_id: str) -> None:
        if (domain, ds_id) not in self.datasources:
            raise APIError(
                ERR_DATASOURCE_NOT_EXISTS,
                f"domain data source `{ds_id}` is not exists in domain `{domain}`",
            )

    def record_outputs(self, domains: Sequence[str], task_input_config: str) -> None:
        """What SecretFlow registers when a task succeeds: each `sf_output_ids` item as
        vendor-`secretflow` data of every party domain held here (an approximation: the real
        types and columns come from the component)."""
        try:
            config = json.loads(task_input_config)
            ids = list(config.get("sf_output_ids") or [])
            uris = list(config.get("sf_output_uris") or ids)
            component = str((config.get("sf_node_eval_param") or {}).get("domain", ""))
        except (ValueError, AttributeError, TypeError):
            return
        dtype = {"ml.train": "model", "stats": "report"}.get(component, "table")
        for domain in domains:
            if self.local_domain and domain != self.local_domain:
                continue
            for did, uri in zip(ids, uris, strict=False):
                if not isinstance(did, str) or not K8S_NAME_RE.fullmatch(did):
                    continue
                self.domaindata[(domain, did)] = domaindata_item(
                    did,
                    domain,
                    str(uri) or did,
                    vendor="secretflow",
                    dtype=dtype,
                    file_format="CSV" if dtype == "table" else "UNKNOWN",
                )

    # ------------------------------------------------------------ data sources

    def _datasource(self, domain_id: str, ds_id: str) -> JSON:
        """One source as rendered: `info` only on an autonomy node (master: null)."""
        if not domain_id:
            raise APIError(ERR_QUERY_DATASOURCE, "domain id can not be empty")
        if not K8S_NAME_RE.fullmatch(domain_id):
            raise APIError(ERR_QUERY_DATASOURCE, invalid_name("domain_id", domain_id))
        self._own_sources(domain_id, ERR_QUERY_DATASOURCE)
        if not ds_id:
            raise APIError(
                ERR_QUERY_DATASOURCE, f"domain {domain_id} data source id can not be empty"
            )
        item = self.datasources.get((domain_id, ds_id))
        if item is None:
            raise APIError(
                ERR_QUERY_DATASOURCE,
                f"get domain {domain_id} kuscia data source {ds_id} failed, "
                + _not_found("domaindatasources", ds_id),
            )
        out = copy.deepcopy(item)
        if not self.local_domain:
            out["info"] = None  # a master cannot decrypt it
        return out

    def _own_sources(self, domain_id: str, code: int) -> None:
        if self.local_domain and domain_id != self.local_domain:
            raise APIError(
                code, f"domain {self.local_domain} can't operate domain {domain_id} data source"
            )

    def query_datasource(self, domain_id: str, ds_id: str) -> JSON:
        with self.lock:
            return self._datasource(domain_id, ds_id)

    def batch_query_datasources(self, keys: Sequence[JSON]) -> list[JSON]:
        """In request order; one failing item fails the whole batch (11803)."""
        with self.lock:
            if not keys:
                raise APIError(ERR_VALIDATE, "request data can't be empty")
            out = []
            for k in keys:
                try:
                    out.append(self._datasource(k["domain_id"], k["datasource_id"]))
                except APIError as exc:
                    raise APIError(ERR_BATCH_QUERY_DATASOURCE, exc.message) from None
            return out

    def list_datasources(self, domain_id: str) -> list[JSON]:
        with self.lock:
            if not domain_id:
                raise APIError(ERR_VALIDATE, "request domainID can't be empty")
            self._own_sources(domain_id, ERR_LIST_DATASOURCE)
            ids = sorted(ds for d, ds in self.datasources if d == domain_id)
            return [self._datasource(domain_id, ds) for ds in ids]

    # ------------------------------------------------------------ grants

    def _grant_view(self, g: JSON) -> JSON:
        """QueryDomainDataGrantResponse.data; domain_id, description, signature and
        limit.initiator are never filled on read."""
        limit = g["limit"]
        phase, message = "Ready", ""
        if limit is not None:
            expires = limit["expiration_time"]
            if 0 < expires < self.now() * 1e9:
                phase, message = "Unavailable", "Expirated"  # sic
            elif 0 < limit["use_count"] <= len(g["records"]):
                phase, message = "Unavailable", "UseCount is exhausted"
        return {
            "data": {
                "domaindatagrant_id": g["domaindatagrant_id"],
                "author": g["author"],
                "domaindata_id": g["domaindata_id"],
                "grant_domain": g["grant_domain"],
                "limit": None
                if limit is None
                else {
                    "expiration_time": str(limit["expiration_time"]),
                    "use_count": limit["use_count"],
                    "flow_id": limit["flow_id"],
                    "components": list(limit["components"]),
                    "initiator": "",
                    "input_config": limit["input_config"],
                },
                "description": {},
                "signature": "",
                "domain_id": "",
            },
            "status": {"phase": phase, "message": message, "records": list(g["records"])},
        }

    def create_grant(self, req: JSON) -> str:
        """domaindatagrant/create: grant `domaindata_id` of `domain_id` to `grant_domain`;
        the data is copied into the grantee's namespace (vendor `grant`)."""
        with self.lock:
            domain, did, grantee = req["domain_id"], req["domaindata_id"], req["grant_domain"]
            gid = req["domaindatagrant_id"]
            if not grantee:
                raise APIError(ERR_VALIDATE, "grantdomain can't be null")
            if grantee == domain:
                raise APIError(ERR_VALIDATE, "grantdomain can't be self")
            if not did:
                raise APIError(ERR_VALIDATE, "domaindata can't be null")
            for fname, value in (("domain_id", domain), ("domaindata_id", did)):
                if not K8S_NAME_RE.fullmatch(value):
                    raise APIError(ERR_VALIDATE, invalid_name(fname, value))
            if gid and not K8S_NAME_RE.fullmatch(gid):
                raise APIError(ERR_VALIDATE, invalid_name("domaindatagrant_id", gid))
            source = self.domaindata.get((domain, did))
            if source is None:
                raise APIError(ERR_VALIDATE, f"domaindata [{did}] not exists")
            if gid and (domain, gid) in self.grants:
                raise APIError(
                    ERR_CREATE_GRANT,
                    f"CreateDomainDataGrant failed, because domaindatagrant {gid} is exist",
                )
            gid = gid or gen_domaindata_id("domaindatagrant")
            self.grants[(domain, gid)] = {
                "domaindatagrant_id": gid,
                "author": domain,
                "domaindata_id": did,
                "grant_domain": grantee,
                "limit": copy.deepcopy(req["limit"]),
                "records": [],
            }
            if grantee in self.domains:
                self.domaindata[(grantee, did)] = {
                    **copy.deepcopy(source),
                    "domain_id": grantee,
                    "vendor": "grant",
                }
            return gid

    def _grant(self, domain_id: str, grant_id: str, code: int) -> JSON:
        if not domain_id or not grant_id:
            raise APIError(code, "resource name may not be empty")
        g = self.grants.get((domain_id, grant_id))
        if g is None:
            raise APIError(ERR_GRANT_NOT_EXISTS, _not_found("domaindatagrants", grant_id))
        return g

    def query_grant(self, domain_id: str, grant_id: str) -> JSON:
        with self.lock:
            return self._grant_view(self._grant(domain_id, grant_id, ERR_QUERY_GRANT))

    def delete_grant(self, domain_id: str, grant_id: str) -> None:
        """Remove the grant and the grantee's copy of the data."""
        with self.lock:
            g = self._grant(domain_id, grant_id, ERR_DELETE_GRANT)
            del self.grants[(domain_id, grant_id)]
            copy_key = (g["grant_domain"], g["domaindata_id"])
            if self.domaindata.get(copy_key, {}).get("vendor") == "grant":
                del self.domaindata[copy_key]

    def list_grants(self, domain_id: str, grant_domain: str = "", vendor: str = "") -> list[JSON]:
        """Grants made by `domain_id`. The vendor filter matches a label the API never sets:
        it returns nothing for grants made through the API."""
        with self.lock:
            if not domain_id:
                raise APIError(ERR_VALIDATE, "domain id can not be empty")
            if vendor:
                return []
            return [
                self._grant_view(g)
                for (d, gid), g in sorted(self.grants.items())
                if d == domain_id and (not grant_domain or g["grant_domain"] == grant_domain)
            ]

    def batch_query_grants(self, keys: Sequence[JSON]) -> list[JSON]:
        """A bare list in request order; any empty or unknown item fails the batch (11702)
        with one packed Status per item in `details`."""
        with self.lock:
            if not keys:
                raise APIError(ERR_VALIDATE, "BatchQueryDomainDataGrant.data can't be null")
            out, details, empty, errors = [], [], 0, 0
            for k in keys:
                status = {"code": 0, "message": "success", "details": []}
                if not k["domain_id"] or not k["domaindatagrant_id"]:
                    empty += 1
                    status = {
                        "code": ERR_VALIDATE,
                        "message": "domain id and domaindatagrant id can not be empty",
                        "details": [],
                    }
                else:
                    try:
                        out.append(self.query_grant(k["domain_id"], k["domaindatagrant_id"]))
                    except APIError as exc:
                        errors += 1
                        status = {"code": exc.code, "message": exc.message, "details": []}
                details.append(
                    {"@type": "type.googleapis.com/kuscia.proto.api.v1alpha1.Status", **status}
                )
            if empty or errors:
                raise APIError(
                    ERR_QUERY_GRANT,
                    f"BatchQuery has error. Empty/Error/Total({empty}/{errors}/{len(keys)})",
                    details=details,
                    data=[],
                )
            return out
