"""Sign-in with throttling (the console's page and the Django admin's); Django's own views for
sign-out and password change."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache

from accounts.forms import ThrottledAuthenticationForm


@method_decorator(login_not_required, name="dispatch")
class LoginView(auth_views.LoginView):
    form_class = ThrottledAuthenticationForm
    redirect_authenticated_user = True

    def form_invalid(self, form: Any) -> HttpResponse:
        return _throttled_status(super().form_invalid(form), form)


def _throttled_status(response: HttpResponse, form: Any) -> HttpResponse:
    """429 with Retry-After when the form refused to check the password (too many failures)."""
    retry_after = getattr(form, "throttled_for", 0)
    if retry_after:
        response.status_code = 429
        response["Retry-After"] = str(retry_after)
    return response


@login_not_required
@never_cache
def admin_login(request: HttpRequest) -> HttpResponse:
    """/admin/login/: the admin site's own view (its form is the throttled one, see
    accounts.apps), answering 429 like /accounts/login/ when throttled."""
    response = admin.site.login(request)
    context = getattr(response, "context_data", None) or {}
    return _throttled_status(response, context.get("form"))
