"""Named reads of connections (every query a view runs is a method here)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models

if TYPE_CHECKING:
    from connections.models import Connection


class ConnectionQuerySet(models.QuerySet["Connection"]):
    def enabled(self) -> ConnectionQuerySet:
        return self.filter(enabled=True)

    def with_sync(self) -> ConnectionQuerySet:
        """Enabled connections with their sync health, for the indicator on every page: only
        the columns it shows (it runs on every request)."""
        return (
            self.enabled()
            .select_related("sync")
            .only(
                "name",
                "mode",
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
