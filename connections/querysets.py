"""Named reads of connections (every query a view runs is a method here)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models

if TYPE_CHECKING:
    from connections.models import Connection


class ConnectionQuerySet(models.QuerySet["Connection"]):
    def enabled(self) -> ConnectionQuerySet:
        return self.filter(enabled=True)

    def log_only_ids(self) -> list[int]:
        """Enabled lite connections of a master's deployment (a master connection holds their
        domain): they serve their party's task logs, their jobs are the master's (one query)."""
        return _log_only(
            [(c.pk, c.role, c.domains) for c in self.enabled().only("role", "domains")]
        )

    def job_sources(self) -> ConnectionQuerySet:
        """Enabled connections whose jobs the sync engine reads: all but log-only lites."""
        return self.enabled().exclude(pk__in=self.log_only_ids())

    def with_sync(self) -> list[Connection]:
        """Job-source connections with their sync health, for the indicator on every page:
        only the columns it shows, in one query (it runs on every request)."""
        rows = list(
            self.enabled()
            .select_related("sync")
            .only(
                "name",
                "mode",
                "role",
                "domains",
                "sync__last_success",
                "sync__last_error_at",
                "sync__last_error_kind",
                "sync__last_error_message",
                "sync__last_error_hint",
                "sync__consecutive_failures",
                "sync__watch_connected_since",
            )
            .order_by("name")
        )
        skip = set(_log_only([(c.pk, c.role, c.domains) for c in rows]))
        return [c for c in rows if c.pk not in skip]

    def named(self, name: str) -> ConnectionQuerySet:
        """The enabled connection called `name` (empty when none): `.first()` it."""
        return self.enabled().filter(name=name)

    def default_first(self) -> ConnectionQuerySet:
        """Enabled connections, the default one first (then oldest): `.first()` is the
        connection a form starts with. One query."""
        return self.enabled().order_by("-is_default", "pk")

    def named_or_default(self, name: str) -> Connection | None:
        """The enabled connection called `name`; without a name, or when no enabled connection
        is called so, the one a form starts with (default_first)."""
        return (self.named(name).first() if name else None) or self.default_first().first()

    def names(self) -> list[str]:
        """Every connection name, sorted (the list page's connection filter)."""
        return list(self.order_by("name").values_list("name", flat=True))


def _log_only(rows: list[tuple[int, str, list[str] | None]]) -> list[int]:
    held = {d for _pk, role, domains in rows if role == "master" for d in domains or []}
    return [pk for pk, role, domains in rows if role == "lite" and held & set(domains or [])]
