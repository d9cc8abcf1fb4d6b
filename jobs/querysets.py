"""Named reads. Every query a view runs is a method here, pinned by a query-count test.

Why one module over 600 lines: the list's filter, its keyset cursor and the row types the pages
read are defined beside the queries that produce them, so every read of a job page is in one file.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db import connections, models
from django.db.models import Q
from django.utils.translation import gettext, gettext_lazy

from jobs.inputs import db_id
from jobs.trend_queries import TrendQuerySet
from kuscia import types as kt

if TYPE_CHECKING:
    from connections.models import Connection
    from jobs.models import Job, JobStats, Task, Transition  # noqa: F401

# "Stuck": waiting to start for longer than this, or running without any observed change.
STUCK_WAITING = dt.timedelta(minutes=10)
STUCK_RUNNING = dt.timedelta(minutes=30)

SORTS = {
    "created": "create_time",
    "changed": "last_changed",
    "state": "state",
    "job": "job_id",
    "initiator": "initiator",
    "progress": "progress",
}
PAGE_SIZES = (25, 50, 100, 200)
# The list's filter fields as its form names them (errors about a value name its field).
FILTER_LABELS = {
    "party": gettext_lazy("Party"),
    "initiator": gettext_lazy("Initiator"),
    "connection": gettext_lazy("Connection"),
    "created_from": gettext_lazy("Created from"),
    "created_to": gettext_lazy("Created until"),
}
NULLABLE = frozenset({"create_time"})  # sort columns that may be NULL
COUNT_CAP = 1000  # the list counts at most this many matches ("1,000+"): no full COUNT(*)
_TOKEN = re.compile(r"^[A-Za-z0-9._-]{1,63}$")
MIN_SUBSTRING = 3  # the shortest text a search looks for inside ids (a trigram)
_POD = re.compile(r"^([a-z0-9.-]+)-\d{1,3}$")  # a task's pod: "<task id>-<replica>"
# Jobs Kuscia no longer has (gone_at) that had not finished: their last known state is kept on
# the job, but they are not active. A filter value and an overview tile of their own, so that
# every job is in exactly one tile and a "Running" job is one Kuscia still runs.
GONE = "Gone"
UNFINISHED_STATES = frozenset(kt.JOB_STATES) - kt.TERMINAL_JOB_STATES
FILTER_STATES = (*kt.JOB_STATES, GONE)


@dataclass(frozen=True)
class JobFilter:
    """A job list view, exactly as it appears in the URL (see JobFilter.from_query)."""

    states: tuple[str, ...] = ()
    party: str = ""
    initiator: str = ""
    connection: str = ""
    created_from: dt.date | None = None
    created_to: dt.date | None = None
    q: str = ""
    sort: str = "-created"
    per_page: int = 25
    errors: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def from_query(cls, query: Any) -> JobFilter:
        """Parse a QueryDict (or dict of lists); unknown or malformed values are dropped and
        reported in `errors` instead of failing the page."""
        errors: list[str] = []

        def one(name: str) -> str:
            values = query.getlist(name) if hasattr(query, "getlist") else query.get(name, [])
            if isinstance(values, str):
                values = [values]
            return (values[-1] if values else "").strip()

        raw_states = query.getlist("state") if hasattr(query, "getlist") else query.get("state", [])
        states = tuple(s for s in dict.fromkeys(raw_states) if s in FILTER_STATES)
        if len(states) != len(set(raw_states)):
            errors.append(gettext("Unknown state ignored."))

        def token(name: str) -> str:
            value = one(name)
            if value and not _TOKEN.match(value):
                errors.append(
                    gettext("Ignored %(name)s: only letters, digits, '.', '_' and '-'.")
                    % {"name": FILTER_LABELS[name]}
                )
                return ""
            return value

        def date(name: str) -> dt.date | None:
            value = one(name)
            if not value:
                return None
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                errors.append(
                    gettext("Ignored %(name)s: use YYYY-MM-DD.") % {"name": FILTER_LABELS[name]}
                )
                return None

        sort = one("sort") or "-created"
        if sort.lstrip("-") not in SORTS:
            errors.append(gettext("Unknown sort ignored."))
            sort = "-created"
        try:
            per_page = int(one("per_page") or 25)
        except ValueError:
            per_page = 25
        if per_page not in PAGE_SIZES:
            per_page = 25
        return cls(
            states=states,
            party=token("party"),
            initiator=token("initiator"),
            connection=token("connection"),
            created_from=date("created_from"),
            created_to=date("created_to"),
            q=one("q")[:63],
            sort=sort,
            per_page=per_page,
            errors=tuple(errors),
        )

    def is_default(self) -> bool:
        return self == JobFilter()

    @property
    def active_count(self) -> int:
        """How many filters narrow the list (sort and page size are not filters)."""
        fields = (self.party, self.initiator, self.connection, self.created_from, self.q)
        return bool(self.states) + sum(bool(v) for v in fields) + bool(self.created_to)


# The columns a job row in a list or on the overview shows (and its connection's name): loading
# only these halves the cost of turning rows into objects; `raw` alone can be many KB per job.
# A template that reads another column costs a query per row, which the query-count tests catch.
ROW_FIELDS = (
    "connection__name",
    "job_id",
    "state",
    "initiator",
    "parties",
    "progress",
    "tasks_succeeded",
    "task_count",
    "create_time",
    "start_time",
    "end_time",
    "first_seen",
    "last_changed",
    "gone_at",
)


# The columns of a job list export (dashboard.export), in this order: what the list shows, and
# the error message. `connection__name` is exported as `connection`.
EXPORT_COLUMNS = (
    "connection__name",
    "job_id",
    "state",
    "gone_at",
    "initiator",
    "parties",
    "task_count",
    "tasks_succeeded",
    "progress",
    "create_time",
    "start_time",
    "end_time",
    "last_changed",
    "err_msg",
)
EXPORT_FIELDS = ("connection", *EXPORT_COLUMNS[1:])


class JobQuerySet(TrendQuerySet):
    def active(self) -> JobQuerySet:
        """Jobs whose state can still change on its own and that Kuscia still knows."""
        return self.filter(state__in=kt.ACTIVE_JOB_STATES, gone_at__isnull=True)

    def terminal(self) -> JobQuerySet:
        return self.filter(state__in=kt.TERMINAL_JOB_STATES)

    def for_connection(self, connection_id: int) -> JobQuerySet:
        return self.filter(connection_id=connection_id)

    # ------------------------------------------------------------------ overview

    def state_totals(self) -> dict[str, int]:
        """{state: number of jobs} over every state and GONE (0 when none), exact: one GROUP
        BY over the whole table. A job Kuscia lost before it finished counts as GONE, not in
        its last known state: every job is in exactly one entry. For jobs.stats.refresh (off
        the request path), not for a page."""
        totals = dict.fromkeys(FILTER_STATES, 0)
        gone = models.ExpressionWrapper(
            Q(gone_at__isnull=False), output_field=models.BooleanField()
        )
        rows = (
            self.order_by()
            .annotate(gone=gone)
            .values_list("state", "gone")
            .annotate(n=models.Count("pk"))
        )
        for state, is_gone, n in rows:
            key = GONE if is_gone and state in UNFINISHED_STATES else state
            totals[key] = totals.get(key, 0) + n
        return totals

    def changed_since(self, since: dt.datetime, cap: int) -> int:
        """How many jobs changed since `since`, counting at most cap + 1. One query."""
        return self.filter(last_changed__gte=since).order_by().values("pk")[: cap + 1].count()

    def running_for_overview(self, limit: int = 10) -> JobQuerySet:
        return (
            self.filter(state=kt.RUNNING, gone_at__isnull=True)
            .select_related("connection")
            .only(*ROW_FIELDS)
            .order_by("-last_changed")[:limit]
        )

    def recent_failures(self, limit: int = 10) -> JobQuerySet:
        return (
            self.filter(state__in=(kt.FAILED, kt.APPROVAL_REJECT))
            .select_related("connection")
            .only(*ROW_FIELDS, "err_msg")
            .order_by("-last_changed")[:limit]  # indexed; for a failed job ~ when it failed
        )

    def stuck(self, now: dt.datetime, limit: int = 10) -> JobQuerySet:
        """Waiting (Pending / AwaitingApproval) for long, or Running with no change for long."""
        waiting = Q(
            state__in=(kt.PENDING, kt.AWAITING_APPROVAL), first_seen__lt=now - STUCK_WAITING
        )
        frozen = Q(state=kt.RUNNING, last_changed__lt=now - STUCK_RUNNING)
        return (
            self.filter(waiting | frozen, gone_at__isnull=True)
            .select_related("connection")
            .only(*ROW_FIELDS)
            .order_by("last_changed")[:limit]
        )

    def party_activity(self, since: dt.datetime, limit: int = 20_000) -> list[dict[str, Any]]:
        """Per party: active, failed and succeeded jobs among those changed since `since`
        (at most `limit` most recent jobs are looked at, so the cost stays bounded). Counted by
        the database (parties unnested from the JSON list): one query, no JSON decoding here.
        For jobs.stats.refresh (off the request path)."""
        db = connections[self.db]
        table = db.ops.quote_name(self.model._meta.db_table)
        if db.vendor == "postgresql":
            unnest, party = "jsonb_array_elements_text(j.parties) AS p(party)", "p.party"
        else:  # SQLite's JSON1
            unnest, party = "json_each(j.parties) AS p", "p.value"
        active = ", ".join(["%s"] * len(kt.ACTIVE_JOB_STATES))
        sql = (
            f"SELECT {party}, "  # noqa: S608 (names only; every value is a parameter)
            f"SUM(CASE WHEN j.state IN ({active}) AND j.gone_at IS NULL THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN j.state = %s THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN j.state = %s THEN 1 ELSE 0 END), COUNT(*) "
            f'FROM (SELECT parties, state, gone_at FROM {table} WHERE "last_changed" >= %s '
            f'ORDER BY "last_changed" DESC LIMIT %s) j, {unnest} GROUP BY {party}'
        )
        params: list[Any] = [*sorted(kt.ACTIVE_JOB_STATES), kt.FAILED, kt.SUCCEEDED, since, limit]
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        per = [
            {"party": p, "active": a, "failed": f, "succeeded": ok, "total": n}
            for p, a, f, ok, n in rows
        ]
        return sorted(per, key=lambda e: (-e["active"], -e["total"], e["party"]))

    # ------------------------------------------------------------------ list

    def filtered(self, f: JobFilter) -> JobQuerySet:
        """The job list for a JobFilter, sorted, with the connection joined."""
        qs = self
        if f.states:
            qs = qs.filter(state_filter(f.states))
        if f.party:
            if connections[self.db].vendor == "postgresql":
                qs = qs.filter(parties__contains=[f.party])
            else:  # SQLite has no JSON containment; the id is a quoted token in the JSON text
                qs = qs.filter(parties__icontains=f'"{f.party}"')
        if f.initiator:
            qs = qs.filter(initiator=f.initiator)
        if f.connection:
            qs = qs.filter(connection__name=f.connection)
        if f.created_from:
            qs = qs.filter(create_time__date__gte=f.created_from)
        if f.created_to:
            qs = qs.filter(create_time__date__lte=f.created_to)
        if f.q:
            qs = qs.filter(job_id__icontains=f.q)
        # plain column ordering (no NULLS LAST) so PostgreSQL can walk the -create_time and
        # -last_changed indexes instead of sorting every matching row
        column = SORTS[f.sort.lstrip("-")]
        desc = f.sort.startswith("-")
        return (
            qs.select_related("connection")
            .only(*ROW_FIELDS)
            .order_by(f"-{column}" if desc else column, "-id" if desc else "id")
        )

    def for_export(self, f: JobFilter) -> JobQuerySet:
        """Every job of the list for `f`, in the list's order, as tuples of EXPORT_COLUMNS
        (no model instances: an export streams them with iterator())."""
        return self.filtered(f).values_list(*EXPORT_COLUMNS)  # type: ignore[return-value]

    def search_ids(self, q: str, limit: int = 8, *, substring: bool = True) -> list[Job]:
        """Jobs whose id is `q`, else those whose id contains it (newest created first), for
        the header search: at most `limit`. One or two queries (the equality by the (job_id,
        id) index; the substring, of MIN_SUBSTRING characters or more and unless `substring`
        is False, by the job id's trigram index on PostgreSQL, as the list's id search)."""
        rows = self.select_related("connection").only(*ROW_FIELDS)
        exact = list(rows.filter(job_id=q).order_by("connection__name")[:limit])
        # found as it is, or no trigram to look up (a substring would scan every job)
        if exact or not substring or len(q) < MIN_SUBSTRING:
            return exact
        near = rows.filter(job_id__icontains=q)
        return list(near.order_by("-create_time", "-id")[:limit])

    def bounded_count(self, cap: int = COUNT_CAP) -> int:
        """How many rows match, counting at most cap + 1 (so "cap+" can be shown). One query."""
        return self.order_by().values("pk")[: cap + 1].count()

    def keyset_page(
        self, f: JobFilter, *, after: Cursor | None = None, before: Cursor | None = None
    ) -> KeysetPage:
        """One page of the job list after (or before) a row, by the sort column and id:
        an index walk from the cursor whatever the depth, instead of OFFSET. One query."""
        column = SORTS[f.sort.lstrip("-")]
        desc = f.sort.startswith("-")
        nulls_high = connections[self.db].vendor == "postgresql"  # where NULLs sort
        qs = self.filtered(f)
        size = f.per_page
        if before is not None:
            back = qs.filter(_beyond(column, before, greater=desc, nulls_high=nulls_high))
            order = (column, "id") if desc else (f"-{column}", "-id")
            rows = list(back.order_by(*order)[: size + 1])
            has_prev = len(rows) > size
            rows = rows[:size][::-1]
            return KeysetPage(rows, f, has_prev=has_prev, has_next=True)
        if after is not None:
            qs = qs.filter(_beyond(column, after, greater=not desc, nulls_high=nulls_high))
        rows = list(qs[: size + 1])
        return KeysetPage(rows[:size], f, has_prev=after is not None, has_next=len(rows) > size)

    def list_facets(self, recent: int = 500) -> dict[str, list[str]]:
        """Choices for the list filters: every connection name, and the initiators of the
        `recent` most recently created jobs (bounded work on a large table). Two queries."""
        from connections.models import Connection

        rows = self.order_by("-create_time").values_list("initiator", flat=True)[:recent]
        return {
            "connections": Connection.objects.names(),
            "initiators": sorted({i for i in rows if i}),
        }

    # ------------------------------------------------------------------ detail

    def for_detail(self, connection: str, job_id: str) -> JobQuerySet:
        """The job a page shows or an action button names (by connection name and Kuscia job
        id), with its connection; without `raw` (the last Kuscia reply, 100 KB and more for a
        large job), which the page loads only when asked (raw_reply)."""
        return (
            self.select_related("connection")
            .defer("raw")
            .filter(connection__name=connection, job_id=job_id)
        )

    def raw_reply(self, pk: int) -> Any:
        """The last raw Kuscia reply stored for job `pk` (None or {} when there is none)."""
        return self.filter(pk=pk).values_list("raw", flat=True).first()

    # ------------------------------------------------------------------ actions / create form

    def of_record(self, connection_id: int, job_id: str) -> JobQuerySet:
        """The job an audit record is about (by connection pk and Kuscia job id)."""
        return self.filter(connection_id=connection_id, job_id=job_id)

    def live_ids(self, connection: Connection) -> set[str]:
        """Job ids Kuscia still has on `connection`, as far as the console knows. One query."""
        return set(
            self.filter(connection=connection, gone_at__isnull=True).values_list(
                "job_id", flat=True
            )
        )

    def recent_parties(self, connection: Connection, limit: int = 500) -> set[str]:
        """Party domain ids of (at most `limit`) jobs on `connection`. One query."""
        seen: set[str] = set()
        for parties in self.filter(connection=connection).values_list("parties", flat=True)[:limit]:
            seen.update(p for p in parties or () if isinstance(p, str))
        return seen


def state_filter(states: tuple[str, ...]) -> Q:
    """Jobs in any of `states` (FILTER_STATES): a finished state matches whether or not Kuscia
    still has the job; an unfinished one only while it does; GONE, the unfinished jobs Kuscia
    no longer has (what state_totals counts under each key)."""
    finished = [s for s in states if s in kt.TERMINAL_JOB_STATES]
    unfinished = [s for s in states if s in UNFINISHED_STATES]
    parts = []
    if finished:
        parts.append(Q(state__in=finished))
    if unfinished:
        parts.append(Q(state__in=unfinished, gone_at__isnull=True))
    if GONE in states:
        parts.append(Q(state__in=sorted(UNFINISHED_STATES), gone_at__isnull=False))
    return functools.reduce(operator.or_, parts, Q()) if parts else Q(pk__in=[])


@dataclass(frozen=True)
class Cursor:
    """A position in the job list: the sort column's value and the id of a row. In the URL as
    `after=`/`before=` (`v<value>~<id>`, or `n~<id>` for a NULL value), so a page is a link."""

    value: Any
    pk: int

    @classmethod
    def of(cls, job: Job, sort: str) -> Cursor:
        return cls(getattr(job, SORTS[sort.lstrip("-")]), job.pk)

    def encode(self) -> str:
        if self.value is None:
            return f"n~{self.pk}"
        value = self.value.isoformat() if isinstance(self.value, dt.datetime) else self.value
        return f"v{value}~{self.pk}"

    @classmethod
    def decode(cls, text: str, sort: str) -> Cursor | None:
        """None for anything malformed (the list then starts at its first page)."""
        head, sep, pk_text = text.rpartition("~")
        pk = db_id(pk_text)
        if not sep or pk is None or not head or head[0] not in "nv":
            return None
        if head[0] == "n":
            return cls(None, pk) if head == "n" else None
        raw = head[1:]
        column = SORTS[sort.lstrip("-")]
        try:
            if column in ("create_time", "last_changed"):
                value: Any = dt.datetime.fromisoformat(raw)
                if value.tzinfo is None:
                    return None
            elif column == "progress":
                value = float(raw)
            else:
                value = raw
        except ValueError:
            return None
        return cls(value, pk)


def _beyond(column: str, c: Cursor, *, greater: bool, nulls_high: bool) -> Q:
    """Rows strictly past cursor `c` when walking `column, id` upwards (greater=True) or
    downwards; NULLs sort above every value on PostgreSQL and below on SQLite (nulls_high)."""
    op = "gt" if greater else "lt"
    if c.value is None:
        q = Q(**{f"{column}__isnull": True, f"id__{op}": c.pk})
        if greater != nulls_high:  # walking away from the NULLs: every value is past them
            q |= Q(**{f"{column}__isnull": False})
        return q
    q = Q(**{f"{column}__{op}": c.value}) | Q(**{column: c.value, f"id__{op}": c.pk})
    # the same bound again without the OR: an index condition, so the scan starts at the cursor
    bound = Q(**{f"{column}__{op}e": c.value})
    if column in NULLABLE and greater == nulls_high:  # walking towards the NULLs
        q |= Q(**{f"{column}__isnull": True})
        bound |= Q(**{f"{column}__isnull": True})
    return bound & q


@dataclass
class KeysetPage:
    """A page of the job list with the cursors of its neighbours (None at either end)."""

    rows: list[Any]
    f: JobFilter
    has_prev: bool
    has_next: bool

    @property
    def next_cursor(self) -> str:
        return Cursor.of(self.rows[-1], self.f.sort).encode() if self.has_next else ""

    @property
    def prev_cursor(self) -> str:
        return Cursor.of(self.rows[0], self.f.sort).encode() if self.has_prev and self.rows else ""


@dataclass(slots=True)
class TaskRow:
    """A task as the job page's graph, matrix, timeline and live data show it: a plain row
    without the spec columns (only the selected task's panel shows those, and
    task_input_config is often several KB per task). A model instance per task would cost
    more than the query, on the page and on its 3-second poll."""

    pk: int
    task_id: str
    alias: str
    dependencies: list[str]
    state: str
    err_msg: str
    progress: float
    create_time: dt.datetime | None
    start_time: dt.datetime | None
    end_time: dt.datetime | None
    position: int
    party_list: list[PartyRow] = field(default_factory=list)


TASK_ROW = (
    "pk",
    "task_id",
    "alias",
    "dependencies",
    "state",
    "err_msg",
    "progress",
    "create_time",
    "start_time",
    "end_time",
    "position",
)


class TaskQuerySet(models.QuerySet["Task"]):
    def live_ids(self, connection: Connection) -> dict[str, str]:
        """{task id: job id} over the jobs Kuscia still has on `connection`. One query."""
        rows = self.filter(job__connection=connection, job__gone_at__isnull=True).values_list(
            "task_id", "job__job_id"
        )
        return dict(rows)

    def for_job_page(self, job: Job, *, full: bool = True, endpoint_limit: int = 48) -> JobRows:
        """A job's tasks in spec order, each with `party_list` (PartyRow by domain) and each
        party with `endpoint_list`: three plain queries grouped in Python (Django's
        prefetch_related, or a model instance per party, costs more than the queries
        themselves for a 128-task job).

        Endpoints are attached only when there are at most `endpoint_limit` of them
        (`endpoints_complete`); a larger job's page loads them per party on demand
        (`endpoints_of_party`). With full=False (the live fragment, whose matrix needs every
        party's state) no endpoints are read: two queries."""
        from jobs.models import Endpoint, PartyStatus

        values = self.filter(job=job).order_by("position", "id").values_list(*TASK_ROW)
        tasks = [TaskRow(*row) for row in values]
        parties = _party_rows(PartyStatus.objects.filter(task__job=job))
        if not full:
            return JobRows(_attach_parties(tasks, parties, []), endpoints_complete=False)
        endpoints: list[Any] = []
        # More parties than the limit: more endpoints too, once their pods run. Such a job's
        # page loads them per party, so they are not read here at all.
        if len(parties) <= endpoint_limit:
            endpoints = list(
                Endpoint.objects.filter(party__task__job=job).order_by("party_id", "port_name")[
                    : endpoint_limit + 1
                ]
            )
        complete = len(parties) <= endpoint_limit and len(endpoints) <= endpoint_limit
        rows = _attach_parties(tasks, parties, endpoints if complete else [])
        return JobRows(rows, endpoints_complete=complete)

    def search(self, q: str, limit: int = 8) -> list[Task]:
        """Tasks for the header search, at most `limit`: whose id starts with `q` (task ids are
        cluster-wide, lower case, and a pod is named `<task id>-<replica>`, so a pasted pod
        name finds its task too), then whose alias is `q` (newest first). Two or three
        queries, each an index range on PostgreSQL (jobs migration 0009), never a scan."""
        rows = self.select_related("job__connection").only(
            "task_id", "alias", "state", "job__job_id", "job__connection__name", "job__state"
        )
        q = q.lower()
        found = list(rows.filter(task_id__startswith=q).order_by("task_id")[:limit])
        pod = _POD.match(q)
        if pod and len(found) < limit:
            found += rows.filter(task_id=pod.group(1)).exclude(pk__in=[t.pk for t in found])[:1]
        if len(found) < limit:
            seen = [t.pk for t in found]
            by_alias = rows.filter(alias=q).exclude(pk__in=seen).order_by("-id")
            found += by_alias[: limit - len(found)]
        return found

    def with_spec(self, job: Job, task_id: str) -> Task | None:
        """One task with every column, its spec included (the selected task's panel; the
        page's other tasks are TaskRows, without it). One query."""
        return self.filter(job=job, task_id=task_id).first()

    def endpoints_of_party(self, job: Job, domain_id: str) -> list[Any]:
        """One party's endpoints over all of a job's tasks, in spec order. One query."""
        from jobs.models import Endpoint

        return list(
            Endpoint.objects.filter(party__task__job=job, party__domain_id=domain_id)
            .select_related("party__task")
            .order_by("party__task__position", "port_name")
        )

    def of_job(self, job: Job, task_id: str) -> bool:
        """Whether `job` has the task `task_id` (one query)."""
        return self.filter(job=job, task_id=task_id).exists()

    def one_for_page(self, job: Job, task_id: str) -> Task | None:
        """One task with its parties and their endpoints (three queries)."""
        from jobs.models import Endpoint, PartyStatus

        tasks = list(self.filter(job=job, task_id=task_id))
        if not tasks:
            return None
        endpoints = Endpoint.objects.filter(party__task=tasks[0]).order_by("party_id", "port_name")
        parties = _party_rows(PartyStatus.objects.filter(task=tasks[0]))
        return _attach_parties(tasks, parties, endpoints)[0]


@dataclass
class JobRows:
    tasks: list[Any]
    endpoints_complete: bool


@dataclass(slots=True)
class PartyRow:
    """A task's party as the job and task pages show it: a plain row, not a model instance."""

    pk: int
    task_pk: int
    domain_id: str
    role: str
    state: str
    err_msg: str
    endpoint_list: list[Any] = field(default_factory=list)


def _party_rows(parties_qs: Any) -> list[PartyRow]:
    """PartyStatus rows as plain PartyRows, by task then domain. One query."""
    rows = parties_qs.order_by("task_id", "domain_id").values_list(
        "pk", "task_id", "domain_id", "role", "state", "err_msg"
    )
    return [PartyRow(*row) for row in rows]


def _attach_parties(tasks: list[Any], rows: list[PartyRow], endpoints: Any) -> list[Any]:
    parties: dict[int, list[PartyRow]] = {t.pk: [] for t in tasks}
    by_id: dict[int, PartyRow] = {}
    for p in rows:
        parties.setdefault(p.task_pk, []).append(p)
        by_id[p.pk] = p
    for e in endpoints:
        owner = by_id.get(e.party_id)
        if owner is not None:
            owner.endpoint_list.append(e)
    for t in tasks:
        t.party_list = parties.get(t.pk, [])
    return tasks


@dataclass(slots=True)
class Change:
    """One recorded transition as the history tables show it (a plain row)."""

    kind: str
    task_id: str
    domain_id: str
    old_state: str
    new_state: str
    message: str
    observed_at: dt.datetime
    source: str


CHANGE_COLUMNS = (
    "kind",
    "task_id",
    "domain_id",
    "old_state",
    "new_state",
    "message",
    "observed_at",
    "source",
)


class TransitionQuerySet(models.QuerySet["Transition"]):
    def for_task(self, job: Job, task_id: str) -> TransitionQuerySet:
        return self.filter(job=job, task_id=task_id).order_by("observed_at", "id")

    def _newest_first(self, job: Job) -> TransitionQuerySet:
        return self.filter(job=job).order_by("-observed_at", "-id")

    def newest(self, job: Job, n: int) -> list[Change]:
        """The job's newest `n` changes, oldest first, without counting the rest (a count
        reads every change of the job). One query."""
        rows = self._newest_first(job).values_list(*CHANGE_COLUMNS)[:n]
        return [Change(*row) for row in reversed(list(rows))]

    def history(self, job: Job, newest: int | None) -> tuple[list[Change], int]:
        """The job's newest `newest` changes (every one when None), oldest first, and how many
        it has in all (counted in the same query by a window). One query."""
        qs = (
            self._newest_first(job)
            .annotate(total=models.Window(models.Count("pk")))
            .values_list(*CHANGE_COLUMNS, "total")
        )
        rows = list(qs if newest is None else qs[:newest])
        total = rows[0][-1] if rows else 0
        return [Change(*row[:-1]) for row in reversed(rows)], total

    def task_times(self, job: Job) -> list[tuple[str, str, dt.datetime]]:
        """(task id, new state, Kuscia's time or else when observed) of every task-state
        change of the job, in order: what the timeline is drawn from. One query."""
        rows = (
            self.filter(job=job, kind="task")
            .order_by("observed_at", "id")
            .values_list("task_id", "new_state", "kuscia_time", "observed_at")
        )
        return [(task_id, state, kuscia or seen) for task_id, state, kuscia, seen in rows]


class JobStatsQuerySet(models.QuerySet["JobStats"]):
    def current(self) -> JobStats | None:
        """The overview's stats row (None before the first refresh). One query."""
        return self.filter(key=1).first()

    def trends_age(self) -> dt.datetime | None:
        """When the trends were last computed (None: never). One query."""
        return self.filter(key=1).values_list("trends_at", flat=True).first()
