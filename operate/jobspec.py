"""Checks on a JobSpec before anything is sent to Kuscia (pure: no database, no network; the
messages are in the active language).

Two families of rules (../shared/kuscia-api.md §7):

* what Kuscia itself rejects at create (KusciaAPI validation → 11100, the CRD schema → 11201):
  the job_id regex, 1-128 tasks, 1-128 parallelism, non-empty aliases and parties,
  label-safe custom_fields, resources that parse as quantities, bandwidth limits;
* the mistakes Kuscia accepts and only fails later (or never): dependencies naming no task
  alias, dependency cycles, duplicate aliases or task ids, task ids that are not DNS labels,
  malformed task_input_config JSON, an initiator that is not a party (a warning), an id already
  in use on the connection, a task id already used by another job on the connection.

Every problem names the field it belongs to with a dotted path ("job_id", "tasks.1.dependencies",
"tasks.0.parties.1.cpu", "custom_fields.2.key") so a form can show it next to the input.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Literal

from django.utils.translation import gettext as _

from jobs.inputs import TOO_DEEP as TOO_DEEP  # (the message, also for callers of jobspec)
from jobs.inputs import loads_json
from kuscia.types import JobSpec, Party, TaskSpec

JOB_ID_RE = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$")
# DNS-1123 label: what a task id must be to become a KusciaTask name and pod/service prefixes.
DNS_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
# Kubernetes label name part / label value characters.
LABEL_RE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
# Kubernetes resource quantity (non-negative). ASCII: \d alone also matches digits like '٣'.
QUANTITY_RE = re.compile(
    r"^\+?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$", re.ASCII
)

MAX_TASKS = 128
MAX_PARALLELISM = 128
MAX_DEPENDENCIES = 128
# The form's own limits (Kuscia sets none): what a page can show and a person can check.
MAX_PARTIES = 32
MAX_CUSTOM_FIELDS = 32
MAX_CUSTOM_KEY = 38
MAX_CUSTOM_VALUE = 63
MAX_ALIAS = 63
INT32_MAX = 2**31 - 1
INT32_MIN = -(2**31)
UINT64_MAX = 2**64 - 1

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    field: str
    message: str
    severity: Severity = "error"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


def errors(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.is_error]


def warnings(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if not p.is_error]


def validate_spec(
    spec: JobSpec,
    *,
    existing_job_ids: Collection[str] = (),
    existing_task_ids: dict[str, str] | None = None,
    local_domain: str = "",
) -> list[Problem]:
    """All problems of `spec`, errors and warnings, in field order.

    `existing_job_ids`: job ids Kuscia already knows on the target connection.
    `existing_task_ids`: task id → job id of tasks of live jobs on that connection (task ids are
    cluster-wide names). `local_domain`: for P2P/lite connections the initiator must be it.
    """
    out: list[Problem] = []
    out += _job_id(spec.job_id, existing_job_ids)
    out += _initiator(spec, local_domain)
    if not 1 <= spec.max_parallelism <= MAX_PARALLELISM:
        out.append(
            Problem(
                "max_parallelism",
                _("Must be between 1 and %(max)d (Kuscia's limit).") % {"max": MAX_PARALLELISM},
            )
        )
    out += _custom_fields(spec.custom_fields)
    if not spec.tasks:
        out.append(Problem("tasks", _("A job needs at least one task.")))
    elif len(spec.tasks) > MAX_TASKS:
        out.append(
            Problem(
                "tasks",
                _("At most %(max)d tasks per job (%(count)d given).")
                % {"max": MAX_TASKS, "count": len(spec.tasks)},
            )
        )
    for i, task in enumerate(spec.tasks):
        out += _task(i, task, spec.job_id, existing_task_ids or {})
    out += _duplicates(spec.tasks)
    out += _dependencies(spec.tasks)
    return out


def _job_id(job_id: str, existing: Collection[str]) -> list[Problem]:
    if not job_id:
        return [Problem("job_id", _("Job id can not be empty."))]
    if not JOB_ID_RE.match(job_id):
        return [
            Problem(
                "job_id",
                _(
                    "1-63 characters: lowercase letters, digits, '-' and '.', starting and "
                    "ending with a letter or digit."
                ),
            )
        ]
    if job_id in existing:
        message = _("A job '%(job_id)s' already exists on this connection.") % {"job_id": job_id}
        return [Problem("job_id", message)]
    return []


def _initiator(spec: JobSpec, local_domain: str) -> list[Problem]:
    if not spec.initiator:
        return [Problem("initiator", _("Initiator can not be empty."))]
    if local_domain and spec.initiator != local_domain:
        return [
            Problem(
                "initiator",
                _("On this node (P2P/lite) the initiator must be the local domain '%(domain)s'.")
                % {"domain": local_domain},
            )
        ]
    parties = {p.domain_id for t in spec.tasks for p in t.parties}
    if spec.tasks and parties and spec.initiator not in parties:
        return [
            Problem(
                "initiator",
                _(
                    "'%(initiator)s' is not a party of any task; Kuscia accepts this in "
                    "centralized mode, but it is usually a typo."
                )
                % {"initiator": spec.initiator},
                "warning",
            )
        ]
    return []


def _custom_fields(fields: dict[str, str]) -> list[Problem]:
    out: list[Problem] = []
    if len(fields) > MAX_CUSTOM_FIELDS:
        out.append(
            Problem(
                f"custom_fields.{MAX_CUSTOM_FIELDS}.key",
                _("At most %(max)d custom fields (%(count)d given).")
                % {"max": MAX_CUSTOM_FIELDS, "count": len(fields)},
            )
        )
    for i, (key, value) in enumerate(fields.items()):
        if not key or len(key) > MAX_CUSTOM_KEY or not LABEL_RE.match(key):
            out.append(
                Problem(
                    f"custom_fields.{i}.key",
                    _(
                        "Keys become Kubernetes labels: 1-%(max)d letters, digits, '-', '_' or "
                        "'.', starting and ending with a letter or digit."
                    )
                    % {"max": MAX_CUSTOM_KEY},
                )
            )
        if value and (len(value) > MAX_CUSTOM_VALUE or not LABEL_RE.match(value)):
            out.append(
                Problem(
                    f"custom_fields.{i}.value",
                    _(
                        "Values become Kubernetes label values: at most %(max)d letters, digits, "
                        "'-', '_' or '.', starting and ending with a letter or digit."
                    )
                    % {"max": MAX_CUSTOM_VALUE},
                )
            )
    return out


def _task(i: int, task: TaskSpec, job_id: str, existing_tasks: dict[str, str]) -> list[Problem]:
    at = f"tasks.{i}"
    out: list[Problem] = []
    if not task.alias:
        out.append(Problem(f"{at}.alias", _("Alias can not be empty.")))
    elif (
        len(task.alias) > MAX_ALIAS
        or not task.alias.isprintable()
        or task.alias != task.alias.strip()
    ):
        out.append(
            Problem(
                f"{at}.alias",
                _("At most %(max)d printable characters, no outer spaces.") % {"max": MAX_ALIAS},
            )
        )
    if not task.task_id:
        out.append(Problem(f"{at}.task_id", _("Give every task an explicit task id.")))
    elif not DNS_LABEL_RE.match(task.task_id):
        out.append(
            Problem(
                f"{at}.task_id",
                _(
                    "A task id becomes a Kubernetes object name: 1-63 lowercase letters, digits "
                    "or '-', starting and ending with a letter or digit."
                ),
            )
        )
    elif task.task_id in existing_tasks and existing_tasks[task.task_id] != job_id:
        out.append(
            Problem(
                f"{at}.task_id",
                _(
                    "Task id '%(task_id)s' is already used by job '%(job_id)s' on this "
                    "connection; task ids are unique cluster-wide, so the job would fail."
                )
                % {"task_id": task.task_id, "job_id": existing_tasks[task.task_id]},
            )
        )
    if not task.app_image:
        out.append(Problem(f"{at}.app_image", _("App image can not be empty.")))
    if not INT32_MIN <= task.priority <= INT32_MAX:
        out.append(Problem(f"{at}.priority", _("Priority must fit a 32-bit integer.")))
    if task.schedule_config is not None:
        for name in (
            "task_timeout_seconds",
            "resource_reserved_seconds",
            "resource_reallocation_interval_seconds",
        ):
            value = getattr(task.schedule_config, name)
            if not 0 <= value <= INT32_MAX:
                out.append(Problem(f"{at}.{name}", _("Seconds: 0 (Kuscia's default) or more.")))
    if task.task_input_config.strip():
        try:
            loads_json(task.task_input_config)
        except ValueError as exc:
            out.append(Problem(f"{at}.task_input_config", str(exc)))
    if not task.parties:
        out.append(Problem(f"{at}.parties", _("A task needs at least one party.")))
    elif len(task.parties) > MAX_PARTIES:
        out.append(
            Problem(
                f"{at}.parties",
                _("At most %(max)d parties per task (%(count)d given).")
                % {"max": MAX_PARTIES, "count": len(task.parties)},
            )
        )
    seen: set[tuple[str, str]] = set()
    for j, party in enumerate(task.parties):
        out += _party(f"{at}.parties.{j}", party)
        if (party.domain_id, party.role) in seen and party.domain_id:
            out.append(
                Problem(
                    f"{at}.parties.{j}.domain_id",
                    _("'%(domain)s' is listed twice with the same role.")
                    % {"domain": party.domain_id},
                )
            )
        seen.add((party.domain_id, party.role))
    if len(task.dependencies) > MAX_DEPENDENCIES:
        message = _("At most %(max)d dependencies.") % {"max": MAX_DEPENDENCIES}
        out.append(Problem(f"{at}.dependencies", message))
    return out


def _party(at: str, party: Party) -> list[Problem]:
    out: list[Problem] = []
    if not party.domain_id:
        out.append(Problem(f"{at}.domain_id", _("Party domain id can not be empty.")))
    elif not DNS_LABEL_RE.match(party.domain_id):
        out.append(
            Problem(
                f"{at}.domain_id",
                _("A domain id is a Kubernetes namespace: lowercase letters, digits and '-'."),
            )
        )
    if party.role and not LABEL_RE.match(party.role):
        out.append(Problem(f"{at}.role", _("Role: letters, digits, '-', '_' or '.'.")))
    if party.resources is not None:
        for name in ("cpu", "memory", "bandwidth"):
            value = getattr(party.resources, name)
            if value and not QUANTITY_RE.match(value):
                out.append(
                    Problem(
                        f"{at}.{name}",
                        _("Not a Kubernetes quantity (e.g. 2, 500m, 4Gi)."),
                    )
                )
    for k, limit in enumerate(party.bandwidth_limits):
        if not limit.destination_id:
            out.append(
                Problem(
                    f"{at}.bandwidth_limits",
                    _("Limit %(number)d: destination can not be empty.") % {"number": k + 1},
                )
            )
        if not 0 < limit.limit_kbps <= UINT64_MAX:
            out.append(
                Problem(
                    f"{at}.bandwidth_limits",
                    _("Limit %(number)d: kbps must be more than zero.") % {"number": k + 1},
                )
            )
    return out


def _duplicates(tasks: tuple[TaskSpec, ...]) -> list[Problem]:
    out: list[Problem] = []
    aliases: dict[str, int] = {}
    ids: dict[str, int] = {}
    for i, task in enumerate(tasks):
        if task.alias:
            if task.alias in aliases:
                out.append(
                    Problem(
                        f"tasks.{i}.alias",
                        _("Alias '%(alias)s' is already used by task %(number)d.")
                        % {"alias": task.alias, "number": aliases[task.alias] + 1},
                    )
                )
            else:
                aliases[task.alias] = i
        if task.task_id:
            if task.task_id in ids:
                out.append(
                    Problem(
                        f"tasks.{i}.task_id",
                        _("Task id '%(task_id)s' is already used by task %(number)d.")
                        % {"task_id": task.task_id, "number": ids[task.task_id] + 1},
                    )
                )
            else:
                ids[task.task_id] = i
    return out


def _dependencies(tasks: tuple[TaskSpec, ...]) -> list[Problem]:
    out: list[Problem] = []
    aliases = {t.alias for t in tasks if t.alias}
    by_alias = {t.alias: t for t in tasks if t.alias}
    for i, task in enumerate(tasks):
        at = f"tasks.{i}.dependencies"
        if len(set(task.dependencies)) != len(task.dependencies):
            out.append(Problem(at, _("A dependency is listed twice.")))
        for dep in task.dependencies:
            if dep == task.alias:
                out.append(Problem(at, _("A task can not depend on itself.")))
            elif dep not in aliases:
                known = ", ".join(sorted(aliases - {task.alias})) or _("none")
                out.append(
                    Problem(
                        at,
                        _(
                            "'%(dependency)s' names no task alias (dependencies use aliases; "
                            "other tasks: %(known)s). Kuscia would accept the job and then fail "
                            "it silently."
                        )
                        % {"dependency": dep, "known": known},
                    )
                )
            else:
                parent = by_alias[dep]
                if parent.tolerable:
                    out.append(
                        Problem(
                            at,
                            _(
                                "'%(dependency)s' is tolerable: if it fails this task never runs "
                                "and the job can stay Running forever."
                            )
                            % {"dependency": dep},
                            "warning",
                        )
                    )
        if task.dependencies and task.task_id and task.alias and task.task_id != task.alias:
            out.append(
                Problem(
                    f"tasks.{i}.task_id",
                    _(
                        "Task id differs from the alias; Kuscia looks dependencies up by both, "
                        "so keep them equal."
                    ),
                    "warning",
                )
            )
    for cycle in _cycles(tasks):
        first = min(cycle)
        path = " → ".join(tasks[k].alias for k in [*cycle, cycle[0]])
        out.append(
            Problem(
                f"tasks.{first}.dependencies",
                _("Dependency cycle: %(path)s. Kuscia would fail the job without a message.")
                % {"path": path},
            )
        )
    return out


def _cycles(tasks: tuple[TaskSpec, ...]) -> list[list[int]]:
    """Each dependency cycle once (as task indexes), found by depth-first search."""
    index = {}
    for i, t in enumerate(tasks):
        if t.alias and t.alias not in index:
            index[t.alias] = i
    edges = {
        i: [index[d] for d in dict.fromkeys(t.dependencies) if d in index and d != t.alias]
        for i, t in enumerate(tasks)
    }
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(edges, white)
    found: list[list[int]] = []
    seen_sets: set[frozenset[int]] = set()
    for root in edges:
        if colour[root] != white:
            continue
        stack: list[tuple[int, int]] = [(root, 0)]
        path: list[int] = [root]
        colour[root] = grey
        while stack:
            node, k = stack[-1]
            if k < len(edges[node]):
                stack[-1] = (node, k + 1)
                nxt = edges[node][k]
                if colour[nxt] == grey:
                    cycle = path[path.index(nxt) :]
                    key = frozenset(cycle)
                    if key not in seen_sets:
                        seen_sets.add(key)
                        found.append(cycle)
                elif colour[nxt] == white:
                    colour[nxt] = grey
                    stack.append((nxt, 0))
                    path.append(nxt)
            else:
                colour[node] = black
                stack.pop()
                path.pop()
    return found
