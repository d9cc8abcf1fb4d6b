"""Named reads. Every query a view runs is a method here, pinned by a query-count test."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models

from jobs.kuscia import types as kt

if TYPE_CHECKING:
    from jobs.models import Connection, Job, Task, Transition  # noqa: F401


class ConnectionQuerySet(models.QuerySet["Connection"]):
    def enabled(self) -> ConnectionQuerySet:
        return self.filter(enabled=True)


class JobQuerySet(models.QuerySet["Job"]):
    def active(self) -> JobQuerySet:
        """Jobs whose state can still change on its own and that Kuscia still knows."""
        return self.filter(state__in=kt.ACTIVE_JOB_STATES, gone_at__isnull=True)

    def terminal(self) -> JobQuerySet:
        return self.filter(state__in=kt.TERMINAL_JOB_STATES)

    def for_connection(self, connection_id: int) -> JobQuerySet:
        return self.filter(connection_id=connection_id)


class TaskQuerySet(models.QuerySet["Task"]):
    pass


class TransitionQuerySet(models.QuerySet["Transition"]):
    pass
