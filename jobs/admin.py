from django.contrib import admin

from jobs.models import Connection


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("name", "url", "protocol", "mode", "local_domain", "enabled")
