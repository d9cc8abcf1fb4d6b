"""Filling the create form from something else: a pasted document, or new task ids.

`read_document`: what an operator pastes, JSON or YAML, in any of three shapes:
  * a CreateJob body (what curl -d sends; snake_case or lowerCamelCase keys),
  * a QueryJob answer ({"status": ..., "data": {...}}, or its `data`),
  * a KusciaJob as Kuscia's docs show it (apiVersion, kind, metadata, spec; `kubectl get kj
    -o yaml` too): metadata.name is the job id, spec.tasks[].taskID/appImage/taskInputConfig,
    parties[].domainID, resources as Kubernetes requirements, custom fields from the labels
    `kuscia.job.custom-fields/<key>`.
It returns a CreateJob body (for kuscia.wire.spec_from_request) and notes on what was left
out. YAML is read with PyYAML's safe loader; anchors/aliases and nesting deeper than
MAX_DEPTH are refused before loading, and every error names its line.

`unique_task_ids`: new ids for the tasks whose id is already used on the connection (task
ids are cluster-wide names) or twice in the job, with the aliases equal to them and the
dependencies that name those aliases; everything else in the form is kept as typed.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from typing import Any

import yaml
from django.http import QueryDict
from django.utils.translation import gettext as _

from jobs.inputs import LONE_SURROGATE, TOO_DEEP, has_lone_surrogate, loads_json

MAX_DEPTH = 64
CUSTOM_FIELD_LABEL = "kuscia.job.custom-fields/"


class DocumentError(ValueError):
    """The pasted text, in words for the user (with its line where there is one)."""


def read_document(text: str) -> tuple[dict[str, Any], list[str]]:
    value = _load(text)
    if not isinstance(value, dict):
        raise DocumentError(
            _("Expected an object: a CreateJob body, a QueryJob answer or a KusciaJob.")
        )
    if has_lone_surrogate(value):
        raise DocumentError(str(LONE_SURROGATE))
    if value.get("kind") == "KusciaJob" or ("apiVersion" in value and "spec" in value):
        return _from_kuscia_job(value)
    data = value.get("data")
    if isinstance(data, dict) and ("status" in value or "job_id" in data or "jobId" in data):
        return data, []  # a QueryJob answer: its data has the CreateJob fields (and more)
    return value, []


def _load(text: str) -> Any:
    if text.lstrip().startswith(("{", "[")):
        try:
            return loads_json(text)  # its errors name line and column
        except ValueError as exc:
            raise DocumentError(str(exc)) from None
    _check_yaml_events(text)
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        raise DocumentError(_yaml_message(exc)) from None
    except (yaml.YAMLError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        # e.g. an integer of more than 4,300 digits
        raise DocumentError(_("Not valid YAML: %(error)s.") % {"error": str(exc)[:200]}) from None


def _check_yaml_events(text: str) -> None:
    """Refuse aliases (a few lines can expand to billions of nodes) and deep nesting (the
    loader recurses) before anything is built."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                raise DocumentError(
                    _("Line %(line)d: YAML aliases (*name) are not accepted; write the value out.")
                    % {"line": _line(event)}
                )
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise DocumentError(
                        _("Line %(line)d: %(error)s") % {"line": _line(event), "error": TOO_DEEP}
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.MarkedYAMLError as exc:
        raise DocumentError(_yaml_message(exc)) from None
    except yaml.YAMLError as exc:
        raise DocumentError(_("Not valid YAML: %(error)s.") % {"error": str(exc)[:200]}) from None


def _line(event: Any) -> int:
    mark = getattr(event, "start_mark", None)
    return int(mark.line) + 1 if mark is not None else 0


def _yaml_message(exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or exc.context or ""
    if mark is None:
        return _("Not valid YAML: %(error)s.") % {"error": problem}
    return _("Not valid YAML, line %(line)d, column %(column)d: %(error)s.") % {
        "line": mark.line + 1,
        "column": mark.column + 1,
        "error": problem,
    }


# ---------------------------------------------------------------- KusciaJob -> CreateJob body


def _obj(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise DocumentError(_("%(where)s: expected a mapping.") % {"where": where})
    return value


def _items(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise DocumentError(_("%(where)s: expected a list.") % {"where": where})
    return value


def _quantity(value: Any) -> Any:
    """Kubernetes writes `cpu: 2` as a number in YAML; the API takes text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def _from_kuscia_job(doc: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    notes: list[str] = []
    meta = _obj(doc.get("metadata"), "metadata")
    spec = _obj(doc.get("spec"), "spec")
    labels = _obj(meta.get("labels"), "metadata.labels")
    custom = {
        str(k)[len(CUSTOM_FIELD_LABEL) :]: v
        for k, v in labels.items()
        if str(k).startswith(CUSTOM_FIELD_LABEL)
    }
    mode = spec.get("scheduleMode")
    if mode not in (None, "", "BestEffort"):
        notes.append(
            _("scheduleMode %(mode)s was left out: KusciaAPI creates every job as BestEffort.")
            % {"mode": str(mode)[:40]}
        )
    tasks = []
    for i, raw in enumerate(_items(spec.get("tasks"), "spec.tasks")):
        where = f"spec.tasks[{i}]"
        t = _obj(raw, where)
        parties = []
        for j, rawp in enumerate(_items(t.get("parties"), f"{where}.parties")):
            pw = f"{where}.parties[{j}]"
            p = _obj(rawp, pw)
            party: dict[str, Any] = {"domain_id": p.get("domainID"), "role": p.get("role")}
            res = _obj(p.get("resources"), f"{pw}.resources")
            amounts = _obj(res.get("limits"), f"{pw}.resources.limits") or _obj(
                res.get("requests"), f"{pw}.resources.requests"
            )
            if amounts:
                party["resources"] = {
                    "cpu": _quantity(amounts.get("cpu")),
                    "memory": _quantity(amounts.get("memory")),
                }
            parties.append(party)
        task: dict[str, Any] = {
            "task_id": t.get("taskID", t.get("taskId")),
            "alias": t.get("alias"),
            "app_image": t.get("appImage"),
            "parties": parties,
            "dependencies": t.get("dependencies"),
            "priority": t.get("priority"),
            "task_input_config": t.get("taskInputConfig"),
            "tolerable": t.get("tolerable"),
        }
        if t.get("scheduleConfig") is not None:
            task["schedule_config"] = t.get("scheduleConfig")
        tasks.append(task)
    body = {
        "job_id": meta.get("name"),
        "initiator": spec.get("initiator"),
        "max_parallelism": spec.get("maxParallelism"),
        "tasks": tasks,
        "custom_fields": custom,
    }
    return body, notes


# ---------------------------------------------------------------- unique task ids


def new_suffix() -> str:
    return f"r{secrets.token_hex(2)}"


def with_suffix(task_id: str, suffix: str) -> str:
    """`task_id` with a new "-rXXXX" ending (an earlier one replaced), at most 63 characters."""
    base = re.sub(r"-r[0-9a-z]{4}$", "", task_id)
    return f"{base[: 63 - len(suffix) - 1].rstrip('-')}-{suffix}"


def unique_task_ids(
    data: QueryDict, used: Mapping[str, str]
) -> tuple[QueryDict, list[tuple[str, str]]]:
    """Flat form `data` with new ids for the tasks whose id is in `used` or repeats an earlier
    task's; returns the new data and the (old id, new id) pairs."""
    out = data.copy()
    total = out.get("tasks-TOTAL_FORMS", "0")
    count = min(int(total), 200) if total.isascii() and total.isdigit() else 0
    live = [i for i in range(count) if not out.get(f"tasks-{i}-DELETE")]
    taken = set(used)
    for i in live:
        taken.add((out.get(f"tasks-{i}-task_id") or out.get(f"tasks-{i}-alias") or "").strip())
    seen: set[str] = set()
    renamed: list[tuple[str, str]] = []
    aliases: dict[str, str] = {}
    for i in live:
        alias = (out.get(f"tasks-{i}-alias") or "").strip()
        task_id = (out.get(f"tasks-{i}-task_id") or "").strip() or alias
        if task_id and (task_id in used or task_id in seen):
            new = with_suffix(task_id, new_suffix())
            while new in taken:
                new = with_suffix(task_id, new_suffix())
            taken.add(new)
            renamed.append((task_id, new))
            out[f"tasks-{i}-task_id"] = new
            if alias == task_id:
                out[f"tasks-{i}-alias"] = new
                aliases[alias] = new
            task_id = new
        seen.add(task_id)
    remaining = {(out.get(f"tasks-{i}-alias") or "").strip() for i in live}
    moved = {old: new for old, new in aliases.items() if old not in remaining}
    for i in live:
        key = f"tasks-{i}-dependencies"
        deps = out.getlist(key)
        if any(d in moved for d in deps):
            out.setlist(key, [moved.get(d, d) for d in deps])
    return out, renamed
