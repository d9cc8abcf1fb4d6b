"""Top-level URLs. Each app owns its own url module; this file only includes them."""

from django.contrib import admin
from django.http import Http404, HttpRequest, HttpResponsePermanentRedirect
from django.urls import include, path

from accounts.views import admin_login
from dashboard import export, search


def moved_admin(request: HttpRequest, model: str, rest: str = "") -> HttpResponsePermanentRedirect:
    """Connections were the `jobs` app's models before the layout split: old admin links work."""
    if model not in ("connection", "syncstate", "synclease"):
        raise Http404
    query = request.META.get("QUERY_STRING", "")
    return HttpResponsePermanentRedirect(
        f"/admin/connections/{model}/{rest}" + (f"?{query}" if query else "")
    )


urlpatterns = [
    # The admin site's own login view, answering 429 like /accounts/login/ when throttled.
    path("admin/login/", admin_login, name="admin_login"),
    path(
        "admin/jobs/",
        include(
            [path("<slug:model>/", moved_admin), path("<slug:model>/<path:rest>", moved_admin)]
        ),
    ),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("", include("dashboard.health")),
    path("connections/", include("connections.urls")),
    # exports span apps (jobs, audit): the project's views, under the pages they export
    path("jobs/export/", export.export_jobs, name="export_jobs"),
    path("audit/export/", export.export_audit, name="export_audit"),
    path("search/", search.search, name="search"),
    path("jobs/", include("operate.urls")),
    path("audit/", include("audit.urls")),
    path("logs/", include("logs.urls")),
    path("", include("network.urls")),
    path("alerts/", include("alerts.urls")),
    path("", include("jobs.urls")),
]
