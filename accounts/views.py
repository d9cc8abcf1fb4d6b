"""Sign-in with throttling (the console's page and the Django admin's); Django's own views for
sign-out and password change; the language switcher and the preferences page."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from accounts.forms import LanguageSwitchForm, PreferenceForm, ThrottledAuthenticationForm
from accounts.preferences import preference_of, save_preference


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


def _return_to(request: HttpRequest, candidate: str) -> str:
    """`candidate` (a path with its query) when it is on this site, else the overview."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return "/"


def _remember_language(response: HttpResponse, language: str) -> None:
    """The language cookie: what LocaleMiddleware reads for a signed-out visitor (the sign-in
    page after sign-out) and for a user who has saved no preference."""
    if not language:
        response.delete_cookie(settings.LANGUAGE_COOKIE_NAME)
        return
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        samesite="Lax",
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=True,
    )


def _browser_language(request: HttpRequest) -> str:
    """The language LocaleMiddleware picks from Accept-Language alone (not the cookie)."""
    cookies = request.COOKIES
    request.COOKIES = {k: v for k, v in cookies.items() if k != settings.LANGUAGE_COOKIE_NAME}
    try:
        return translation.get_language_from_request(request)
    finally:
        request.COOKIES = cookies


@login_not_required
@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """The header's switcher (on every page, the sign-in page too): saves the language for a
    signed-in user, sets the cookie, and returns to the same URL with its query string."""
    form = LanguageSwitchForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(
            _("Unknown language: choose one of the languages in the header."),
            content_type="text/plain; charset=utf-8",
        )
    language = form.cleaned_data["language"]
    if request.user.is_authenticated:
        save_preference(user=request.user, language=language)
    response = HttpResponseRedirect(_return_to(request, form.cleaned_data["next"]))
    _remember_language(response, language)
    return response


@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    """The signed-in user's language and time zone (any role: they change only their own)."""
    pref = preference_of(request.user)
    initial = {"language": pref.language, "time_zone": pref.time_zone} if pref else {}
    form = PreferenceForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        language = form.cleaned_data["language"]
        save_preference(
            user=request.user, language=language, time_zone=form.cleaned_data["time_zone"]
        )
        # The confirmation in the language just chosen (the browser's when that was chosen).
        translation.activate(language or _browser_language(request))
        messages.success(request, _("Preferences saved."))
        response = redirect("preferences")
        _remember_language(response, language)
        return response
    return render(request, "accounts/preferences.html", {"form": form})
