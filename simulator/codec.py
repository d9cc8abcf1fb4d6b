"""Request decoding and stream encoding in Kuscia's two JSON dialects (kuscia-api.md §3).

Unary requests are decoded like protobuf-go's protojson with DiscardUnknown: proto names
(`job_id`) and lowerCamelCase names (`jobId`) are accepted, unknown keys ignored, `null` means
unset, int32/int64/uint64 accept numbers or numeric strings, enums accept their exact name or
number, bools must be JSON bools. Stream requests (watch, logs) are decoded like Go's
`encoding/json` into the generated struct: only proto names match (case-insensitively), int64
must be a JSON number. Stream responses omit zero fields (`omit_empty`).
"""

from __future__ import annotations

import json
import math
from typing import Any

# A field type is one of: "string", "int32", "int64", "uint64", "bool", "float",
# ("enum", {name: number}), ("msg", schema), ("repeated", type), ("map", "string").
FieldType = Any
Schema = dict[str, FieldType]

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
UINT64 = (0, 2**64 - 1)


class DecodeError(Exception):
    """The body cannot be decoded; the server answers 11101 with this message."""


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


REQUEST_HEADER: Schema = {"custom_headers": ("map", "string")}
JOB_RESOURCE: Schema = {"cpu": "string", "memory": "string", "bandwidth": "string"}
BANDWIDTH_LIMIT: Schema = {"destination_id": "string", "limit_kbps": "uint64"}
PARTY: Schema = {
    "domain_id": "string",
    "role": "string",
    "resources": ("msg", JOB_RESOURCE),
    "bandwidth_limits": ("repeated", ("msg", BANDWIDTH_LIMIT)),
}
SCHEDULE_CONFIG: Schema = {
    "task_timeout_seconds": "int32",
    "resource_reserved_seconds": "int32",
    "resource_reallocation_interval_seconds": "int32",
}
TASK: Schema = {
    "app_image": "string",
    "parties": ("repeated", ("msg", PARTY)),
    "alias": "string",
    "task_id": "string",
    "dependencies": ("repeated", "string"),
    "task_input_config": "string",
    "priority": "int32",
    "schedule_config": ("msg", SCHEDULE_CONFIG),
    "tolerable": "bool",
}
CREATE_JOB: Schema = {
    "header": ("msg", REQUEST_HEADER),
    "job_id": "string",
    "initiator": "string",
    "max_parallelism": "int32",
    "tasks": ("repeated", ("msg", TASK)),
    "custom_fields": ("map", "string"),
}
JOB_ID: Schema = {"header": ("msg", REQUEST_HEADER), "job_id": "string"}
JOB_ACTION: Schema = {**JOB_ID, "reason": "string"}
APPROVE_RESULTS = {
    "APPROVE_RESULT_UNKNOWN": 0,
    "APPROVE_RESULT_ACCEPT": 1,
    "APPROVE_RESULT_REJECT": 2,
}
APPROVE_JOB: Schema = {"job_id": "string", "result": ("enum", APPROVE_RESULTS), "reason": "string"}
BATCH_JOB_STATUS: Schema = {"header": ("msg", REQUEST_HEADER), "job_ids": ("repeated", "string")}
QUERY_APPIMAGE: Schema = {"header": ("msg", REQUEST_HEADER), "name": "string"}
QUERY_DOMAIN: Schema = {"header": ("msg", REQUEST_HEADER), "domain_id": "string"}
BATCH_DOMAIN: Schema = {"header": ("msg", REQUEST_HEADER), "domain_ids": ("repeated", "string")}
DOMAINDATA_ID: Schema = {"domain_id": "string", "domaindata_id": "string"}
QUERY_DOMAINDATA: Schema = {"header": ("msg", REQUEST_HEADER), "data": ("msg", DOMAINDATA_ID)}
BATCH_DOMAINDATA: Schema = {
    "header": ("msg", REQUEST_HEADER),
    "data": ("repeated", ("msg", DOMAINDATA_ID)),
}
LIST_DOMAINDATA: Schema = {
    "header": ("msg", REQUEST_HEADER),
    "data": (
        "msg",
        {"domain_id": "string", "domaindata_type": "string", "domaindata_vendor": "string"},
    ),
}
ROUTE_KEY: Schema = {"source": "string", "destination": "string"}
BATCH_ROUTE_STATUS: Schema = {
    "header": ("msg", REQUEST_HEADER),
    "route_keys": ("repeated", ("msg", ROUTE_KEY)),
}
QUERY_ROUTE: Schema = {"header": ("msg", REQUEST_HEADER), **ROUTE_KEY}
DATA_COLUMN: Schema = {
    "name": "string",
    "type": "string",
    "comment": "string",
    "not_nullable": "bool",
}
FILE_FORMATS = {"UNKNOWN": 0, "CSV": 1, "BINARY": 2}
DOMAINDATA: Schema = {  # CreateDomainDataRequest and UpdateDomainDataRequest (flat)
    "header": ("msg", REQUEST_HEADER),
    "domaindata_id": "string",
    "name": "string",
    "type": "string",
    "relative_uri": "string",
    "domain_id": "string",
    "datasource_id": "string",
    "attributes": ("map", "string"),
    "partition": ("msg", {"type": "string", "fields": ("repeated", ("msg", DATA_COLUMN))}),
    "columns": ("repeated", ("msg", DATA_COLUMN)),
    "vendor": "string",
    "file_format": ("enum", FILE_FORMATS),
}
DELETE_DOMAINDATA: Schema = {"header": ("msg", REQUEST_HEADER), **DOMAINDATA_ID}
DATASOURCE_ID: Schema = {"domain_id": "string", "datasource_id": "string"}
LIST_DATASOURCE: Schema = {"header": ("msg", REQUEST_HEADER), "domain_id": "string"}
QUERY_DATASOURCE: Schema = {"header": ("msg", REQUEST_HEADER), **DATASOURCE_ID}
BATCH_DATASOURCE: Schema = {
    "header": ("msg", REQUEST_HEADER),
    "data": ("repeated", ("msg", DATASOURCE_ID)),
}
GRANT_LIMIT: Schema = {
    "expiration_time": "int64",  # nanoseconds since the epoch
    "use_count": "int32",
    "flow_id": "string",
    "components": ("repeated", "string"),
    "initiator": "string",
    "input_config": "string",
}
CREATE_GRANT: Schema = {
    "header": ("msg", REQUEST_HEADER),
    "domaindatagrant_id": "string",
    "domaindata_id": "string",
    "grant_domain": "string",
    "limit": ("msg", GRANT_LIMIT),
    "description": ("map", "string"),
    "signature": "string",
    "domain_id": "string",
}
GRANT_KEY: Schema = {"domain_id": "string", "domaindatagrant_id": "string"}
GRANT_ID: Schema = {"header": ("msg", REQUEST_HEADER), **GRANT_KEY}
BATCH_GRANT: Schema = {"header": ("msg", REQUEST_HEADER), "data": ("repeated", ("msg", GRANT_KEY))}
LIST_GRANT: Schema = {
    "header": ("msg", REQUEST_HEADER),
    "data": (
        "msg",
        {"domain_id": "string", "grant_domain": "string", "domaindata_vendor": "string"},
    ),
}
HEALTH: Schema = {"header": ("msg", REQUEST_HEADER)}
QUERY_POD_NODE: Schema = {
    "header": ("msg", REQUEST_HEADER),
    "task_id": "string",
    "domain": "string",
    "replica_idx": "int32",
}
WATCH_JOB: Schema = {"header": ("msg", REQUEST_HEADER), "timeout_seconds": "int64"}
QUERY_LOG: Schema = {
    "header": ("msg", REQUEST_HEADER),
    "task_id": "string",
    "replica_idx": "int32",
    "container": "string",
    "follow": "bool",
    "local": "bool",
}


def default(ftype: FieldType) -> Any:
    if isinstance(ftype, tuple):
        kind = ftype[0]
        if kind == "repeated":
            return []
        if kind == "map":
            return {}
        if kind == "enum":
            return 0
        return None  # unset message
    return {"string": "", "bool": False, "float": 0.0}.get(ftype, 0)


def _type_name(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return "null"


def _int(v: Any, ftype: str, name: str) -> int:
    lo, hi = {"int32": INT32, "int64": INT64, "uint64": UINT64}[ftype]
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        raise DecodeError(f"proto: invalid value for {ftype} field {name}: {json.dumps(v)}")
    if isinstance(v, str):
        try:
            num = float(v) if any(c in v for c in ".eE") else int(v)
        except ValueError:
            raise DecodeError(
                f"proto: invalid value for {ftype} field {name}: {json.dumps(v)}"
            ) from None
    else:
        num = v
    if isinstance(num, float):
        if not math.isfinite(num) or num != int(num):
            raise DecodeError(f"proto: invalid value for {ftype} field {name}: {v}")
        num = int(num)
    if not lo <= num <= hi:
        raise DecodeError(f"proto: invalid value for {ftype} field {name}: {v}")
    return num


def _value(v: Any, ftype: FieldType, name: str) -> Any:
    if isinstance(ftype, tuple):
        kind = ftype[0]
        if kind == "msg":
            if not isinstance(v, dict):
                raise DecodeError(f"proto: invalid value for message field {name}: {v!r}")
            return decode_message(v, ftype[1])
        if kind == "repeated":
            if not isinstance(v, list):
                raise DecodeError(f"proto: invalid value for list field {name}: {v!r}")
            out = []
            for item in v:
                if item is None:
                    raise DecodeError(f"proto: invalid value for list field {name}: null")
                out.append(_value(item, ftype[1], name))
            return out
        if kind == "map":
            if not isinstance(v, dict):
                raise DecodeError(f"proto: invalid value for map field {name}: {v!r}")
            result: dict[str, Any] = {}
            for k, item in v.items():
                if not isinstance(item, str):
                    raise DecodeError(
                        f"proto: invalid value for string field value: {json.dumps(item)}"
                    )
                result[k] = item
            return result
        if kind == "enum":
            names: dict[str, int] = ftype[1]
            if isinstance(v, str) and v in names:
                return names[v]
            if isinstance(v, int) and not isinstance(v, bool):
                return v
            raise DecodeError(f"proto: invalid value for enum field {name}: {json.dumps(v)}")
    if ftype == "string":
        if not isinstance(v, str):
            raise DecodeError(f"proto: invalid value for string field {name}: {json.dumps(v)}")
        return v
    if ftype == "bool":
        if not isinstance(v, bool):
            raise DecodeError(f"proto: invalid value for bool field {name}: {json.dumps(v)}")
        return v
    if ftype == "float":
        if isinstance(v, bool) or not isinstance(v, (int, float, str)):
            raise DecodeError(f"proto: invalid value for float field {name}: {json.dumps(v)}")
        try:
            return float(v)
        except ValueError:
            raise DecodeError(f"proto: invalid value for float field {name}: {v}") from None
    return _int(v, ftype, name)


def decode_message(obj: dict[str, Any], schema: Schema) -> dict[str, Any]:
    out = {name: default(ftype) for name, ftype in schema.items()}
    by_key: dict[str, str] = {}
    for name in schema:
        by_key[name] = name
        by_key[camel(name)] = name
    seen: set[str] = set()
    for key, v in obj.items():
        found = by_key.get(key)
        if found is None:
            continue  # DiscardUnknown
        name = found
        if name in seen:
            raise DecodeError(f'proto: duplicate field "{key}"')
        seen.add(name)
        if v is None:
            continue
        out[name] = _value(v, schema[name], name)
    return out


def parse_json(body: bytes) -> Any:
    if not body.strip():
        raise DecodeError("EOF")
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise DecodeError("proto: invalid UTF-8 in JSON input") from None
    except json.JSONDecodeError as exc:
        raise DecodeError(
            f"proto: syntax error (line {exc.lineno}:{exc.colno}): {exc.msg}"
        ) from None


def decode_unary(body: bytes, schema: Schema) -> dict[str, Any]:
    """Kuscia's JSONProtoBinder: protojson.Unmarshal(DiscardUnknown) of `body`, and when that
    fails, Go encoding/json with unknown fields disallowed (meant for maps holding null:
    {"custom_fields": {"k": null}}). When both fail the request is refused (11101); the message
    here is protojson's (Kuscia's is Go's, whose wording names Go types this schema lacks)."""
    obj = parse_json(body)
    if not isinstance(obj, dict):
        raise DecodeError(f"proto: syntax error (line 1:1): unexpected token {json.dumps(obj)}")
    try:
        return decode_message(obj, schema)
    except DecodeError as first:
        try:
            return decode_go(obj, schema)
        except DecodeError:
            raise first from None


def decode_go(obj: dict[str, Any], schema: Schema) -> dict[str, Any]:
    """Go encoding/json into the generated struct, DisallowUnknownFields: keys are the proto
    names matched case-insensitively (no camelCase), null leaves a field (or a map value, or a
    list item) at its zero value, integers and enums must be JSON numbers."""
    out = {name: default(ftype) for name, ftype in schema.items()}
    by_key = {name.lower(): name for name in schema}
    for key, v in obj.items():
        name = by_key.get(key.lower())
        if name is None:
            raise DecodeError(f'json: unknown field "{key}"')
        if v is not None:
            out[name] = _go_value(v, schema[name], name)
    return out


def _go_value(v: Any, ftype: FieldType, name: str) -> Any:
    def refuse() -> DecodeError:
        return DecodeError(f"json: cannot unmarshal {_type_name(v)} into Go struct field {name}")

    if isinstance(ftype, tuple):
        kind = ftype[0]
        if kind == "msg":
            if not isinstance(v, dict):
                raise refuse()
            return decode_go(v, ftype[1])
        if kind == "repeated":
            if not isinstance(v, list):
                raise refuse()
            item_type = ftype[1]
            return [
                default(item_type) if item is None else _go_value(item, item_type, name)
                for item in v
            ]
        if kind == "map":
            if not isinstance(v, dict):
                raise refuse()
            if not all(item is None or isinstance(item, str) for item in v.values()):
                raise refuse()
            return {k: item or "" for k, item in v.items()}
        if kind == "enum":
            if isinstance(v, bool) or not isinstance(v, int):
                raise refuse()
            return v
    if ftype == "string":
        if not isinstance(v, str):
            raise refuse()
        return v
    if ftype == "bool":
        if not isinstance(v, bool):
            raise refuse()
        return v
    if ftype == "float":
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise refuse()
        return float(v)
    if isinstance(v, bool) or not isinstance(v, int):  # int32/int64: an integer number only
        raise refuse()
    return _int(v, ftype, name)


class BindError(Exception):
    """Go encoding/json refused the stream request; the server answers HTTP 400, no body."""


def decode_stream_request(body: bytes, content_type: str, schema: Schema) -> dict[str, Any]:
    """gin ShouldBind: JSON only with a JSON content type; otherwise the body is ignored."""
    out = {name: default(ftype) for name, ftype in schema.items()}
    if not content_type.lower().startswith("application/json"):
        return out  # form binding: the JSON body is not read
    if not body.strip():
        raise BindError("EOF")
    try:
        obj = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BindError(str(exc)) from None
    if obj is None:
        return out
    if not isinstance(obj, dict):
        raise BindError("json: cannot unmarshal into Go value")
    lowered = {name.lower(): name for name in schema}
    for key, v in obj.items():
        name = lowered.get(key.lower())
        if name is None or v is None:
            continue
        ftype = schema[name]
        if ftype in ("int64", "int32"):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v != int(v):
                raise BindError(f"json: cannot unmarshal {_type_name(v)} into {name}")
            out[name] = int(v)
        elif ftype == "bool":
            if not isinstance(v, bool):
                raise BindError(f"json: cannot unmarshal {_type_name(v)} into {name}")
            out[name] = v
        elif ftype == "string":
            if not isinstance(v, str):
                raise BindError(f"json: cannot unmarshal {_type_name(v)} into {name}")
            out[name] = v
    return out


def omit_empty(value: Any) -> Any:
    """Go encoding/json with `omitempty` tags: drop "", 0, false, empty lists/maps, null.

    Nested messages (dicts) are pointers in Go: kept even when all their fields are zero.
    """
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if v is None or v == "" or v == [] or (v is False):
                continue
            if isinstance(v, (int, float)) and not isinstance(v, bool) and v == 0:
                continue
            out[k] = omit_empty(v)
        return out
    if isinstance(value, list):
        return [omit_empty(v) for v in value]
    return value


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def dumps_go(obj: Any) -> bytes:
    """Like Go's encoding/json: as dumps, with <, >, & and U+2028/U+2029 escaped (only
    strings can hold them, so replacing in the text is safe)."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(ch, esc)
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return text.encode("utf-8")
