"""The request the console's views get: django-htmx's middleware (on every request) adds
`request.htmx`, which tells whether htmx sent it and for which element."""

from __future__ import annotations

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails
