"""Kuscia JSON <-> the typed values of types.py.

Parsers accept both of Kuscia's dialects (kuscia-api.md §3): unary replies (protojson: all
fields present, int64 as strings, enums as names) and stream objects (encoding/json: zero
fields omitted, numbers). Timestamps become aware UTC datetimes, "" becomes None, unknown
fields are ignored and the raw JSON object is kept on the top-level values.

A value of the wrong JSON type raises KusciaMalformed naming the field.

Why one module over 600 lines: one small parser per job message, all sharing the dialect
helpers at the top; splitting them would scatter the two dialects' rules.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields, is_dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any, TypeVar

from kuscia.errors import KusciaMalformed
from kuscia.texts import N_, Text
from kuscia.types import (
    JSON,
    BandwidthLimit,
    Endpoint,
    EventType,
    JobDetail,
    JobResource,
    JobSpec,
    JobStatus,
    JobStatusDetail,
    Party,
    PartyStageStatus,
    PartyStatus,
    ScheduleConfig,
    TaskSpec,
    TaskStatus,
    WatchEvent,
)

T = TypeVar("T")

# ------------------------------------------------------------------ primitive readers


def _bad(where: str, expected: str, value: Any) -> KusciaMalformed:
    """`expected` is marked with N_ where it is written."""
    shown = json.dumps(value)[:60] if _jsonable(value) else type(value).__name__
    return KusciaMalformed(
        Text(
            N_("%(where)s: expected %(expected)s, got %(got)s"),
            {"where": where, "expected": Text(expected), "got": shown},
        )
    )


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def obj(value: Any, where: str) -> JSON:
    """A JSON object; null/missing counts as {}."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _bad(where, N_("an object"), value)
    return value


def _s(o: Mapping[str, Any], key: str, where: str) -> str:
    value = o.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _bad(f"{where}.{key}", N_("a string"), value)
    return value


def _list(o: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = o.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad(f"{where}.{key}", N_("a list"), value)
    return value


def _id(o: Mapping[str, Any], key: str, where: str) -> str:
    """A string that must be present and non-empty (the object's ID)."""
    value = _s(o, key, where)
    if not value:
        raise KusciaMalformed(Text(N_("%(where)s missing"), {"where": f"{where}.{key}"}))
    return value


def _int(o: Mapping[str, Any], key: str, where: str) -> int:
    value = o.get(key)
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        raise _bad(f"{where}.{key}", N_("an integer"), value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):  # protojson writes int64/uint64 as strings
        try:
            return int(value)
        except ValueError:
            pass
    raise _bad(f"{where}.{key}", N_("an integer"), value)


def _float(o: Mapping[str, Any], key: str, where: str) -> float:
    value = o.get(key)
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(f"{where}.{key}", N_("a number"), value)
    return float(value)


def _str_map(o: Mapping[str, Any], key: str, where: str) -> dict[str, str]:
    m = obj(o.get(key), f"{where}.{key}")
    for k, v in m.items():
        if not isinstance(v, str):
            raise _bad(f"{where}.{key}.{k}", N_("a string"), v)
    return dict(m)


def parse_time(value: Any, where: str = "time") -> datetime | None:
    """Kuscia's RFC 3339 timestamps ("2025-04-16T10:42:55Z") as aware UTC; "" -> None."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _bad(where, N_("an RFC 3339 time"), value)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _bad(where, N_("an RFC 3339 time"), value) from None
    if parsed.tzinfo is None:
        raise _bad(where, N_("a time with a zone"), value)
    return parsed.astimezone(UTC)


def format_time(value: datetime | None) -> str:
    """The reverse of parse_time, in Kuscia's form."""
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _t(o: Mapping[str, Any], key: str, where: str) -> datetime | None:
    return parse_time(o.get(key), f"{where}.{key}")


def _each(o: Mapping[str, Any], key: str, where: str, parse: Callable[[Any, str], T]) -> list[T]:
    """parse(item, "where.key[i]") for each item of the list under key (missing -> [])."""
    return [parse(x, f"{where}.{key}[{i}]") for i, x in enumerate(_list(o, key, where))]


# ------------------------------------------------------------------ job status


def parse_endpoint(o: Any, where: str = "endpoint") -> Endpoint:
    o = obj(o, where)
    return Endpoint(
        port_name=_s(o, "port_name", where),
        scope=_s(o, "scope", where),
        endpoint=_s(o, "endpoint", where),
    )


def parse_party_status(o: Any, where: str = "party") -> PartyStatus:
    o = obj(o, where)
    return PartyStatus(
        domain_id=_s(o, "domain_id", where),
        state=_s(o, "state", where),
        err_msg=_s(o, "err_msg", where),
        endpoints=tuple(_each(o, "endpoints", where, parse_endpoint)),
    )


def parse_task_status(o: Any, where: str = "task") -> TaskStatus:
    o = obj(o, where)
    return TaskStatus(
        task_id=_s(o, "task_id", where),
        state=_s(o, "state", where),
        alias=_s(o, "alias", where),
        err_msg=_s(o, "err_msg", where),
        create_time=_t(o, "create_time", where),
        start_time=_t(o, "start_time", where),
        end_time=_t(o, "end_time", where),
        progress=_float(o, "progress", where),
        parties=tuple(_each(o, "parties", where, parse_party_status)),
    )


def _stage(o: Any, where: str) -> PartyStageStatus:
    o = obj(o, where)
    return PartyStageStatus(domain_id=_s(o, "domain_id", where), state=_s(o, "state", where))


def parse_status_detail(o: Any, where: str = "status") -> JobStatusDetail:
    o = obj(o, where)
    return JobStatusDetail(
        state=_s(o, "state", where),
        err_msg=_s(o, "err_msg", where),
        create_time=_t(o, "create_time", where),
        start_time=_t(o, "start_time", where),
        end_time=_t(o, "end_time", where),
        tasks=tuple(_each(o, "tasks", where, parse_task_status)),
        stage_status_list=tuple(_each(o, "stage_status_list", where, _stage)),
        approve_status_list=tuple(_each(o, "approve_status_list", where, _stage)),
    )


def parse_job_status(o: Any, where: str = "job") -> JobStatus:
    try:
        return _fast_job_status(o)
    except _Slow:
        pass  # something is off: the careful parser below names the field
    o = obj(o, where)
    return JobStatus(
        job_id=_id(o, "job_id", where),
        status=parse_status_detail(o.get("status"), f"{where}.status"),
        raw=o,
    )


# ---- fast path for the hot route (batchQuery / watch): no field paths, any doubt -> _Slow


class _Slow(Exception):
    pass


def _fs(v: Any) -> str:
    if v.__class__ is str:
        return v  # type: ignore[no-any-return]
    if v is None:
        return ""
    raise _Slow


def _fl(v: Any) -> list[Any]:
    if v.__class__ is list:
        return v  # type: ignore[no-any-return]
    if v is None:
        return []
    raise _Slow


def _fd(v: Any) -> JSON:
    if v.__class__ is dict:
        return v  # type: ignore[no-any-return]
    if v is None:
        return {}
    raise _Slow


_time_cache: dict[str, datetime] = {}


def _ft(v: Any) -> datetime | None:
    if not v:
        if v is None or v == "":
            return None
        raise _Slow
    if v.__class__ is not str:
        raise _Slow
    cached = _time_cache.get(v)
    if cached is not None:
        return cached
    try:
        parsed = datetime.fromisoformat(v)
    except ValueError:
        raise _Slow from None
    if parsed.tzinfo is None:
        raise _Slow
    parsed = parsed.astimezone(UTC)
    if len(_time_cache) > 4096:
        _time_cache.clear()
    _time_cache[v] = parsed
    return parsed


def _fast_job_status(o: Any) -> JobStatus:
    o = _fd(o)
    job_id = _fs(o.get("job_id"))
    if not job_id:
        raise _Slow
    st = _fd(o.get("status"))
    tasks = []
    for t in _fl(st.get("tasks")):
        t = _fd(t)
        progress = t.get("progress")
        if progress is None:
            progress = 0.0
        elif progress.__class__ is not float and progress.__class__ is not int:
            raise _Slow
        parties = []
        for p in _fl(t.get("parties")):
            p = _fd(p)
            eps = []
            for e in _fl(p.get("endpoints")):
                e = _fd(e)
                eps.append(
                    Endpoint(_fs(e.get("port_name")), _fs(e.get("scope")), _fs(e.get("endpoint")))
                )
            parties.append(
                PartyStatus(
                    _fs(p.get("domain_id")), _fs(p.get("state")), _fs(p.get("err_msg")), tuple(eps)
                )
            )
        tasks.append(
            TaskStatus(
                task_id=_fs(t.get("task_id")),
                state=_fs(t.get("state")),
                alias=_fs(t.get("alias")),
                err_msg=_fs(t.get("err_msg")),
                create_time=_ft(t.get("create_time")),
                start_time=_ft(t.get("start_time")),
                end_time=_ft(t.get("end_time")),
                progress=float(progress),
                parties=tuple(parties),
            )
        )
    detail = JobStatusDetail(
        state=_fs(st.get("state")),
        err_msg=_fs(st.get("err_msg")),
        create_time=_ft(st.get("create_time")),
        start_time=_ft(st.get("start_time")),
        end_time=_ft(st.get("end_time")),
        tasks=tuple(tasks),
        stage_status_list=_fast_stages(st.get("stage_status_list")),
        approve_status_list=_fast_stages(st.get("approve_status_list")),
    )
    return JobStatus(job_id=job_id, status=detail, raw=o)


def _fast_stages(v: Any) -> tuple[PartyStageStatus, ...]:
    return tuple(
        PartyStageStatus(_fs(x.get("domain_id")), _fs(x.get("state"))) for x in map(_fd, _fl(v))
    )


def parse_batch_job_status(data: Any) -> list[JobStatus]:
    return _each(obj(data, "data"), "jobs", "data", parse_job_status)


def parse_watch_event(o: Any) -> WatchEvent:
    """One watch object -> WatchEvent. A missing `type` means ADDED (0 is omitted)."""
    o = obj(o, "event")
    raw_type = o.get("type", 0)
    if isinstance(raw_type, bool) or not isinstance(raw_type, int | str):
        raise _bad("event.type", N_("an event type"), raw_type)
    try:
        etype = EventType(raw_type) if isinstance(raw_type, int) else EventType[raw_type]
    except (ValueError, KeyError):
        raise _bad("event.type", N_("an event type (0-4)"), raw_type) from None
    if etype == EventType.HEARTBEAT:
        return WatchEvent(type=etype, job=None, raw=o)
    if o.get("object") is None:
        raise KusciaMalformed(f"event.object missing in a {etype.name} event")
    return WatchEvent(type=etype, job=parse_job_status(o["object"], "event.object"), raw=o)


# ------------------------------------------------------------------ spec (QueryJob, CreateJob)


def _pick(o: Mapping[str, Any], snake: str) -> Any:
    """The value under the snake_case key, or its lowerCamelCase form (protojson accepts both)."""
    if snake in o:
        return o[snake]
    head, *rest = snake.split("_")
    return o.get(head + "".join(p[:1].upper() + p[1:] for p in rest))


def _norm(o: Any, where: str, keys: Sequence[str]) -> JSON:
    """A copy of object o with the given keys under their snake_case names."""
    o = obj(o, where)
    return {k: v for k in keys if (v := _pick(o, k)) is not None}


def _resources(o: Any, where: str) -> JobResource | None:
    if o is None:
        return None
    r = _norm(o, where, ("cpu", "memory", "bandwidth"))
    return JobResource(
        cpu=_s(r, "cpu", where), memory=_s(r, "memory", where), bandwidth=_s(r, "bandwidth", where)
    )


def _party(o: Any, where: str) -> Party:
    p = _norm(o, where, ("domain_id", "role", "resources", "bandwidth_limits"))
    limits = []
    for i, raw in enumerate(_list(p, "bandwidth_limits", where)):
        lw = f"{where}.bandwidth_limits[{i}]"
        b = _norm(raw, lw, ("destination_id", "limit_kbps"))
        limits.append(
            BandwidthLimit(
                destination_id=_s(b, "destination_id", lw), limit_kbps=_int(b, "limit_kbps", lw)
            )
        )
    return Party(
        domain_id=_s(p, "domain_id", where),
        role=_s(p, "role", where),
        resources=_resources(p.get("resources"), f"{where}.resources"),
        bandwidth_limits=tuple(limits),
    )


_SCHEDULE_KEYS = (
    "task_timeout_seconds",
    "resource_reserved_seconds",
    "resource_reallocation_interval_seconds",
)
_TASK_KEYS = (
    "app_image",
    "parties",
    "alias",
    "task_id",
    "dependencies",
    "task_input_config",
    "priority",
    "schedule_config",
    "tolerable",
)


def _task_spec(o: Any, where: str) -> TaskSpec:
    t = _norm(o, where, _TASK_KEYS)
    sched = None
    if t.get("schedule_config") is not None:
        sw = f"{where}.schedule_config"
        s = _norm(t["schedule_config"], sw, _SCHEDULE_KEYS)
        sched = ScheduleConfig(**{k: _int(s, k, sw) for k in _SCHEDULE_KEYS})
    deps = _list(t, "dependencies", where)
    for i, d in enumerate(deps):
        if not isinstance(d, str):
            raise _bad(f"{where}.dependencies[{i}]", N_("a string"), d)
    tolerable = t.get("tolerable")
    if tolerable is not None and not isinstance(tolerable, bool):
        raise _bad(f"{where}.tolerable", N_("true or false"), tolerable)
    return TaskSpec(
        alias=_s(t, "alias", where),
        task_id=_s(t, "task_id", where),
        app_image=_s(t, "app_image", where),
        parties=tuple(_each(t, "parties", where, _party)),
        dependencies=tuple(deps),
        task_input_config=_s(t, "task_input_config", where),
        priority=_int(t, "priority", where),
        schedule_config=sched,
        tolerable=tolerable,
    )


def parse_job_detail(data: Any) -> JobDetail:
    """QueryJob's data. Task configs carry no `tolerable` (None) and parties no resources."""
    d = obj(data, "data")
    return JobDetail(
        job_id=_id(d, "job_id", "data"),
        initiator=_s(d, "initiator", "data"),
        max_parallelism=_int(d, "max_parallelism", "data"),
        tasks=tuple(_each(d, "tasks", "data", _task_spec)),
        status=parse_status_detail(d.get("status"), "data.status"),
        custom_fields=_str_map(d, "custom_fields", "data"),
        raw=d,
    )


class SpecError(ValueError):
    """A job spec given to spec_from_request has a field of the wrong type (`text` says which,
    for the console to translate)."""

    def __init__(self, text: Text) -> None:
        super().__init__(str(text))
        self.text = text


def spec_from_request(data: Mapping[str, Any]) -> JobSpec:
    """A CreateJob request body (snake_case or lowerCamelCase keys, like Kuscia) -> JobSpec.

    Unknown keys are ignored; int fields accept numbers or numeric strings.
    """
    try:
        d = _norm(
            dict(data),
            "request",
            ("job_id", "initiator", "max_parallelism", "tasks", "custom_fields"),
        )
        return JobSpec(
            job_id=_s(d, "job_id", "request"),
            initiator=_s(d, "initiator", "request"),
            max_parallelism=_int(d, "max_parallelism", "request"),
            tasks=tuple(
                _task_spec(t, f"tasks[{i}]") for i, t in enumerate(_list(d, "tasks", "request"))
            ),
            custom_fields=_str_map(d, "custom_fields", "request"),
        )
    except KusciaMalformed as exc:
        raise SpecError(exc.text) from None


def spec_to_request(spec: JobSpec) -> JSON:
    """The exact CreateJob JSON body (snake_case, as in kuscia-api.md §10)."""
    tasks = []
    for t in spec.tasks:
        task: JSON = {
            "task_id": t.task_id,
            "alias": t.alias,
            "app_image": t.app_image,
            "parties": [_party_json(p) for p in t.parties],
            "dependencies": list(t.dependencies),
            "priority": t.priority,
            "task_input_config": t.task_input_config,
        }
        if t.schedule_config is not None:
            task["schedule_config"] = {k: getattr(t.schedule_config, k) for k in _SCHEDULE_KEYS}
        if t.tolerable is not None:
            task["tolerable"] = t.tolerable
        tasks.append(task)
    body: JSON = {
        "job_id": spec.job_id,
        "initiator": spec.initiator,
        "max_parallelism": spec.max_parallelism,
        "tasks": tasks,
    }
    if spec.custom_fields:
        body["custom_fields"] = dict(spec.custom_fields)
    return body


def _party_json(p: Party) -> JSON:
    out: JSON = {"domain_id": p.domain_id}
    if p.role:
        out["role"] = p.role
    if p.resources is not None:
        out["resources"] = {
            k: v
            for k, v in (
                ("cpu", p.resources.cpu),
                ("memory", p.resources.memory),
                ("bandwidth", p.resources.bandwidth),
            )
            if v
        }
    if p.bandwidth_limits:
        out["bandwidth_limits"] = [
            {"destination_id": b.destination_id, "limit_kbps": b.limit_kbps}
            for b in p.bandwidth_limits
        ]
    return out


# ------------------------------------------------------------------ typed values -> JSON (CLI)


def to_json(value: Any) -> Any:
    """A typed value as JSON with Kuscia's field names; times as Kuscia writes them."""
    if is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_json(getattr(value, f.name))
            for f in fields(value)
            if f.name != "raw" and f.metadata.get("json", True)
        }
    if isinstance(value, Enum):
        return value.name
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return value
