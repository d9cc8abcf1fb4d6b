"""Export the job list (with the filters of its URL) and the audit log as CSV or JSON.

Both are streamed: the rows come from the database in chunks (`QuerySet.iterator`, a server-side
cursor on PostgreSQL) and leave as they are written, so an export of 100,000 rows holds one chunk
in memory, never the whole list (bench/bench_export.py measures it). Any signed-in user may
export what the pages show them (the same login the list and the audit page require).

CSV cells that a spreadsheet would read as a formula (starting with = + - @, or a tab or carriage
return) get a leading apostrophe: a job id or a Kuscia message cannot run as a formula when the
file is opened.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from audit.models import AuditRecord
from audit.views import AuditFilterForm
from jobs.models import Job
from jobs.querysets import EXPORT_FIELDS, JobFilter

CHUNK = 2000  # rows fetched per round trip, and the most held in memory at once
FORMATS = ("csv", "json")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

AUDIT_FIELDS = (
    "created_at",
    "finished_at",
    "username",
    "action",
    "connection_name",
    "job_id",
    "reason",
    "outcome",
    "state_before",
    "state_after",
    "kuscia_code",
    "kuscia_message",
    "error_kind",
    "note",
)


def safe_cell(value: Any) -> Any:
    """A CSV cell: text that starts like a formula gets a leading apostrophe; datetimes in
    ISO 8601 (UTC offset included); None empty; lists and dicts as JSON."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, list | dict):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


class _Line:
    """A file-like object whose write() returns what it was given (csv.writer writes one line
    at a time into it): the idiom of Django's streaming CSV example."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield "\ufeff"  # a byte-order mark: spreadsheets then read the file as UTF-8
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([safe_cell(v) for v in row])


def json_lines(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """One JSON array of objects, one object a line, written as it goes."""
    encoder = DjangoJSONEncoder(ensure_ascii=False)
    yield "["
    first = True
    for row in rows:
        yield ("\n" if first else ",\n") + encoder.encode(dict(zip(header, row, strict=True)))
        first = False
    yield "\n]\n"


def stream(
    name: str, fmt: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> StreamingHttpResponse:
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    if fmt == "json":
        body, kind = json_lines(header, rows), "application/json; charset=utf-8"
    else:
        body, kind = csv_lines(header, rows), "text/csv; charset=utf-8"
    response = StreamingHttpResponse(body, content_type=kind)
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.{fmt}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def _format(request: HttpRequest) -> str:
    fmt = request.GET.get("format", "csv")
    return fmt if fmt in FORMATS else "csv"


@require_GET
def export_jobs(request: HttpRequest) -> StreamingHttpResponse:
    """The job list as the list's URL filters it (state, party, initiator, connection, dates,
    id, sort), every matching row, in the list's order."""
    f = JobFilter.from_query(request.GET)
    rows: Iterator[Any] = Job.objects.for_export(f).iterator(chunk_size=CHUNK)
    return stream("jobs", _format(request), EXPORT_FIELDS, rows)


@require_GET
def export_audit(request: HttpRequest) -> StreamingHttpResponse:
    """The audit log as its page filters it, newest first."""
    form = AuditFilterForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    records = AuditRecord.objects.for_export(filters=filters, fields=AUDIT_FIELDS)
    rows: Iterator[Any] = records.iterator(chunk_size=CHUNK)
    return stream("audit", _format(request), AUDIT_FIELDS, rows)
