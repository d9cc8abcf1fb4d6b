"""Security headers Django does not set itself: a Content-Security-Policy without inline script,
and a Permissions-Policy. Frame denial, nosniff, referrer policy and COOP come from Django.

`HtmxLoginRequiredMiddleware` is Django's LoginRequiredMiddleware, except that an htmx request
(`HX-Request`) of a signed-out user (e.g. an expired session while a page polls) is answered with
`HX-Redirect` to the login page, `next` being the page the user is on (`HX-Current-URL`), instead
of a 302 that htmx would follow and swap the login form into a fragment.

`RejectNulMiddleware` answers 400 to a request whose path, query, form or cookies hold a NUL:
PostgreSQL text cannot hold one, so such a value would otherwise fail in the first query that
uses it (a 500) instead of being refused (Django's form fields refuse it; raw GET and path
values reach querysets unchecked).

`PreferenceMiddleware` (after AuthenticationMiddleware) applies the signed-in user's saved
language over the one LocaleMiddleware chose from the cookie or Accept-Language, and activates
the user's time zone (else TIME_ZONE) for the request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import resolve_url
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect

from accounts.preferences import preference_of, zone

DEFAULT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
DEFAULT_PERMISSIONS = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.csp = getattr(settings, "CONTENT_SECURITY_POLICY", DEFAULT_CSP)
        self.permissions = getattr(settings, "PERMISSIONS_POLICY", DEFAULT_PERMISSIONS)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.csp and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self.csp
        if self.permissions and "Permissions-Policy" not in response:
            response["Permissions-Policy"] = self.permissions
        return response


def _has_nul(request: HttpRequest) -> bool:
    if "\x00" in request.path or any("\x00" in v for v in request.COOKIES.values()):
        return True  # (a session cookie with one would reach the session query)
    forms = [request.GET]
    if request.method == "POST" and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        forms.append(request.POST)
    return any(
        "\x00" in key or any("\x00" in value for value in values)
        for form in forms
        for key, values in form.lists()
    )


class RejectNulMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _has_nul(request):
            # Before sessions and LocaleMiddleware: the language from the cookie or browser.
            with translation.override(translation.get_language_from_request(request)):
                text = translation.gettext(
                    "Bad request: the address or the form holds a NUL character (%00), which "
                    "no job, task or connection name can contain."
                )
            return HttpResponseBadRequest(text, content_type="text/plain; charset=utf-8")
        return self.get_response(request)


class PreferenceMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        pref = preference_of(request.user)
        if pref is not None and pref.language:
            translation.activate(pref.language)
            request.LANGUAGE_CODE = translation.get_language()
        user_zone = zone(pref.time_zone) if pref is not None else None
        if user_zone is not None:
            timezone.activate(user_zone)
        else:
            timezone.deactivate()  # TIME_ZONE (a thread serves many users)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


def _page_path(request: HttpRequest) -> str:
    """Path and query of the page the htmx request came from, if it is on this site."""
    current = request.headers.get("HX-Current-URL", "")
    if current and url_has_allowed_host_and_scheme(
        current, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        parts = urlsplit(current)
        return parts.path + (f"?{parts.query}" if parts.query else "") or "/"
    return str(resolve_url(settings.LOGIN_REDIRECT_URL))


class HtmxLoginRequiredMiddleware(LoginRequiredMiddleware):
    def handle_no_permission(  # type: ignore[override]  # a 200 + HX-Redirect for htmx
        self, request: HttpRequest, view_func: Any
    ) -> HttpResponse:
        if request.headers.get("HX-Request") != "true":
            return super().handle_no_permission(request, view_func)
        login = redirect_to_login(
            _page_path(request),
            resolve_url(self.get_login_url(view_func)),
            self.get_redirect_field_name(view_func),
        )
        response = HttpResponseClientRedirect(login["Location"])
        response["Vary"] = "HX-Request"
        return response
