"""Top-level URLs. Each app owns its own url module; this file only includes them."""

from django.contrib import admin
from django.urls import include, path

from accounts.views import admin_login

urlpatterns = [
    # The admin site's own login view, answering 429 like /accounts/login/ when throttled.
    path("admin/login/", admin_login, name="admin_login"),
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("", include("jobs.health")),
    path("connections/", include("jobs.connection_urls")),
    path("jobs/", include("jobs.action_urls")),
    path("audit/", include("audit.urls")),
    path("", include("jobs.urls")),
]
