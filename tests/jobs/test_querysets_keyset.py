"""Keyset pages of the job list: walking next (or previous) from page to page visits every
matching job exactly once, in the list's order, for every sort, with ties and NULL create times."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from connections.models import Connection
from jobs.models import Job
from jobs.querysets import SORTS, Cursor, JobFilter
from kuscia import types as kt

pytestmark = pytest.mark.django_db


def _jobs(n: int = 23) -> None:
    conn = Connection.objects.create(name="local", url="https://127.0.0.1:1")
    base = timezone.now()
    states = [kt.RUNNING, kt.FAILED, kt.SUCCEEDED]
    Job.objects.bulk_create(
        Job(
            connection=conn,
            job_id=f"job-{i:02d}",
            initiator=["alice", "bob", ""][i % 3],
            state=states[i % 3],
            create_time=None if i % 5 == 0 else base - dt.timedelta(minutes=i // 2),  # ties
            last_changed=base - dt.timedelta(seconds=i % 4),
            progress=(i % 3) / 2,
        )
        for i in range(n)
    )


def _walk(f: JobFilter, *, backwards: bool = False) -> list[str]:
    seen: list[str] = []
    page = Job.objects.keyset_page(f)
    while True:
        seen.extend(j.job_id for j in page.rows)
        if not page.has_next:
            break
        page = Job.objects.keyset_page(f, after=Cursor.decode(page.next_cursor, f.sort))
    if not backwards:
        return seen
    back: list[str] = []
    while True:
        back[:0] = [j.job_id for j in page.rows]
        if not page.prev_cursor:
            break
        page = Job.objects.keyset_page(f, before=Cursor.decode(page.prev_cursor, f.sort))
    return back


@pytest.mark.parametrize("sort", [s for key in SORTS for s in (key, f"-{key}")])
def test_walking_pages_visits_every_job_once_in_order(sort):
    _jobs()
    f = JobFilter(sort=sort, per_page=25)
    expected = [j.job_id for j in Job.objects.filtered(f)]
    small = JobFilter(sort=sort, per_page=25)
    object.__setattr__(small, "per_page", 4)  # smaller pages than any page-size choice
    assert _walk(small) == expected
    assert _walk(small, backwards=True) == expected


def test_bad_cursors_are_ignored():
    assert Cursor.decode("", "-created") is None
    assert Cursor.decode("vnot-a-date~3", "-created") is None
    assert Cursor.decode("v2025-01-01T00:00:00~3", "-created") is None  # naive time
    assert Cursor.decode("vx~y", "job") is None
    assert Cursor.decode("n~7", "-created") == Cursor(None, 7)
    assert Cursor.decode("v0.5~7", "progress") == Cursor(0.5, 7)


def test_bounded_count_stops_at_the_cap():
    _jobs(12)
    assert Job.objects.all().bounded_count(cap=10) == 11
    assert Job.objects.all().bounded_count(cap=100) == 12


@pytest.mark.integration
@pytest.mark.parametrize("sort", ["-created", "created", "initiator", "-progress"])
def test_walking_pages_on_postgresql(sort):
    """PostgreSQL sorts NULLs the other way round from SQLite."""
    from django.db import connection

    assert connection.vendor == "postgresql"
    test_walking_pages_visits_every_job_once_in_order(sort)
