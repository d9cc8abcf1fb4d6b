"""The create form's repeated rows as ONE posted field, `rows`.

A browser posts one field per input: a two-party task is 27 of them, so a 40-task job passes
Django's DATA_UPLOAD_MAX_NUMBER_FIELDS (1,000) and the request is refused (400
TooManyFieldsSent) before any view runs. operate.js therefore packs the custom fields, tasks
and parties into one JSON document on submit:

    {"cf": [{"key": "k", "value": "v"}],
     "tasks": [{"alias": "a", "task_id": "a", "app_image": "...", "dependencies": ["b"],
                "priority": "0", "tolerable": false, "task_timeout_seconds": "", ...,
                "task_input_config": "...", "parties": [{"domain_id": "alice", ...}]}]}

`expand` turns it back into the field names the formsets read, so every check and every error
stays where it was (next to its field). A browser without JavaScript still posts every input,
which fits about 35 two-party tasks (tests/operate/test_create_rows.py counts them).

Strict: text that is not JSON, a lone surrogate, a row or value of the wrong shape, an unknown
field: each is an error placed on the row or field it concerns (`Expanded.errors`, keyed by the
form prefix and field name), never a 5xx and never a job half-read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _

from jobs.inputs import LONE_SURROGATE, TOO_DEEP

FIELD = "rows"
MAX_ROWS = 200  # = operate.forms.MAX_FORMS (rows per list); more is refused as a whole
CF_FIELDS = ("key", "value")
TASK_TEXT = (
    "alias",
    "task_id",
    "app_image",
    "priority",
    "task_timeout_seconds",
    "resource_reserved_seconds",
    "resource_reallocation_interval_seconds",
    "task_input_config",
)
PARTY_FIELDS = (
    "domain_id",
    "role",
    "cpu",
    "memory",
    "bandwidth",
    "bandwidth_limits",
    "input_data",
)
MANAGEMENT = ("TOTAL_FORMS", "INITIAL_FORMS", "MIN_NUM_FORMS", "MAX_NUM_FORMS")


@dataclass
class Expanded:
    data: QueryDict
    # "" (the whole document), "tasks-3" (a row), "tasks-3-priority" (a field) -> messages
    errors: dict[str, list[str]] = field(default_factory=dict)

    def add(self, where: str, message: str) -> None:
        self.errors.setdefault(where, []).append(message)


def is_packed(data: Any) -> bool:
    return data is not None and FIELD in data


def expand(data: Any) -> Expanded:
    """`data` with its `rows` document replaced by the formsets' own fields (and every
    formset field the request carried besides dropped: the document is the whole truth)."""
    out = QueryDict(mutable=True)
    for key in data:
        if key != FIELD and not key.startswith(("cf-", "tasks-")):
            out.setlist(key, data.getlist(key))
    result = Expanded(out)
    doc = _document(data.get(FIELD, ""), result)
    cf = _list_of_rows(doc, "cf", result)
    tasks = _list_of_rows(doc, "tasks", result)
    _management(out, "cf", len(cf))
    for i, row in enumerate(cf):
        _fill(out, result, f"cf-{i}", row, CF_FIELDS, ())
    _management(out, "tasks", len(tasks))
    for i, row in enumerate(tasks):
        prefix = f"tasks-{i}"
        parties = _fill(out, result, prefix, row, TASK_TEXT, ("dependencies", "tolerable"))
        _management(out, f"{prefix}-parties", len(parties))
        for j, party in enumerate(parties):
            _fill(out, result, f"{prefix}-parties-{j}", party, PARTY_FIELDS, ())
    return result


def _document(text: str, result: Expanded) -> dict[str, Any]:
    try:
        doc = json.loads(text)
    except RecursionError:
        result.add("", _("The form's rows could not be read (%(error)s).") % {"error": TOO_DEEP})
        return {}
    except ValueError as exc:
        error = _("Not valid JSON: %(error)s.") % {"error": exc}
        result.add("", _("The form's rows could not be read (%(error)s).") % {"error": error})
        return {}
    if not isinstance(doc, dict):
        result.add("", _("The form's rows could not be read (expected a JSON object)."))
        return {}
    unknown = sorted(str(k) for k in doc if k not in ("cf", "tasks"))
    if unknown:
        result.add("", _("The form's rows have unknown parts: %(names)s.") % _names(unknown))
    return doc


def _list_of_rows(doc: dict[str, Any], name: str, result: Expanded) -> list[Any]:
    value = doc.get(name, [])
    if not isinstance(value, list):
        result.add("", _("The form's rows: “%(name)s” is not a list.") % {"name": name})
        return []
    if len(value) > MAX_ROWS:
        result.add(
            "",
            _("The form's rows: at most %(max)d in “%(name)s”.") % {"max": MAX_ROWS, "name": name},
        )
        return []
    return value


def _fill(
    out: QueryDict,
    result: Expanded,
    prefix: str,
    row: Any,
    text_fields: tuple[str, ...],
    task_extras: tuple[str, ...],
) -> list[Any]:
    """Write one row's fields under `prefix`; returns its parties (tasks only)."""
    if not isinstance(row, dict):
        result.add(prefix, _("This row could not be read (expected a JSON object)."))
        return []
    allowed = {*text_fields, *task_extras, *(("parties",) if task_extras else ())}
    unknown = sorted(str(k) for k in row if k not in allowed)
    if unknown:
        result.add(prefix, _("This row has unknown fields: %(names)s.") % _names(unknown))
    for name in text_fields:
        value = row.get(name, "")
        if not isinstance(value, str):
            result.add(f"{prefix}-{name}", _("Expected text here."))
        elif not _text(value):
            result.add(f"{prefix}-{name}", str(LONE_SURROGATE))
        else:
            out[f"{prefix}-{name}"] = value
    if not task_extras:
        return []
    deps = row.get("dependencies", [])
    if not (isinstance(deps, list) and all(isinstance(d, str) for d in deps)):
        result.add(f"{prefix}-dependencies", _("Expected a list of task aliases."))
    elif not all(_text(d) for d in deps):
        result.add(f"{prefix}-dependencies", str(LONE_SURROGATE))
    else:
        out.setlist(f"{prefix}-dependencies", deps)
    tolerable = row.get("tolerable", False)
    if tolerable is True:
        out[f"{prefix}-tolerable"] = "on"
    elif tolerable is not False:
        result.add(f"{prefix}-tolerable", _("Expected true or false."))
    parties = row.get("parties", [])
    if not isinstance(parties, list):
        result.add(prefix, _("This task's parties could not be read (expected a list)."))
        return []
    if len(parties) > MAX_ROWS:
        result.add(prefix, _("At most %(max)d parties in a task.") % {"max": MAX_ROWS})
        return []
    return parties


def _management(out: QueryDict, prefix: str, count: int) -> None:
    for name, value in zip(MANAGEMENT, (count, 0, 0, MAX_ROWS), strict=True):
        out[f"{prefix}-{name}"] = str(value)


def _text(value: str) -> bool:
    """Whether `value` is text a page and the database can hold (no lone surrogate)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _names(names: list[str]) -> dict[str, str]:
    safe = [n[:40].encode("utf-8", "backslashreplace").decode("utf-8") for n in names[:5]]
    shown = ", ".join(safe) + (" …" if len(names) > 5 else "")
    return {"names": shown}


def pack(data: MultiValueDict[str, Any]) -> str:
    """The `rows` document a browser running operate.js would post for flat form `data`
    (tests, and the reference for what the script builds)."""
    doc: dict[str, list[dict[str, Any]]] = {"cf": [], "tasks": []}
    for i in range(_count(data, "cf")):
        if _deleted(data, f"cf-{i}"):
            continue
        doc["cf"].append({n: data.get(f"cf-{i}-{n}", "") for n in CF_FIELDS})
    for i in range(_count(data, "tasks")):
        prefix = f"tasks-{i}"
        if _deleted(data, prefix):
            continue
        task: dict[str, Any] = {n: data.get(f"{prefix}-{n}", "") for n in TASK_TEXT}
        task["dependencies"] = data.getlist(f"{prefix}-dependencies")
        task["tolerable"] = bool(data.get(f"{prefix}-tolerable"))
        task["parties"] = [
            {n: data.get(f"{prefix}-parties-{j}-{n}", "") for n in PARTY_FIELDS}
            for j in range(_count(data, f"{prefix}-parties"))
            if not _deleted(data, f"{prefix}-parties-{j}")
        ]
        doc["tasks"].append(task)
    return json.dumps(doc, ensure_ascii=False)


def _count(data: MultiValueDict[str, Any], prefix: str) -> int:
    raw = data.get(f"{prefix}-TOTAL_FORMS", "0")
    return min(int(raw), MAX_ROWS) if raw.isascii() and raw.isdigit() else 0


def _deleted(data: MultiValueDict[str, Any], prefix: str) -> bool:
    return data.get(f"{prefix}-DELETE") not in (None, "", "false", "False", "off", "0")


def packed(data: MultiValueDict[str, Any]) -> QueryDict:
    """Flat form `data` as a browser running operate.js posts it: the job fields and `rows`."""
    out = QueryDict(mutable=True)
    for key in data:
        if not key.startswith(("cf-", "tasks-")):
            out.setlist(key, data.getlist(key))
    out[FIELD] = pack(data)
    return out
