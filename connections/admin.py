"""Connections in Django's admin are read-only: they are added and changed only on the console's
own pages (connections.views), which refuse pasted certificates, keys and tokens and record
every change in the audit log."""

from django.contrib import admin
from django.http import HttpRequest

from connections.models import Connection


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "url", "protocol", "mode", "local_domain", "enabled")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Connection | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Connection | None = None) -> bool:
        return False
