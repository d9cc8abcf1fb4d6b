"""Filter pages' shared URLs carry no empty parameters.

A GET form sends every field, so applying the job list's filters with only a state chosen
gives `/jobs/?state=Failed&party=&initiator=&q=…`: a long link to paste, which says nothing
more than `/jobs/?state=Failed`. For the pages listed in CLEAN_QUERY_VIEWS a GET whose query
holds an empty value is answered with a redirect (302) to the same URL without the empty
values, so the address bar, bookmarks and pasted links hold only the filters in use. htmx
requests are left alone (they never show in the address bar)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.http import urlencode

MAX_URL = 8000  # longer clean URLs are not redirected to (Django refuses redirects over 16 KB)
# url names of pages with a GET filter form
CLEAN_QUERY_VIEWS = frozenset({"jobs:list", "audit:list", "network:data", "search", "alerts:home"})


def clean_query(query: Any) -> str:
    """`query` (a QueryDict) without empty values, in its order."""
    pairs = [(key, value) for key, values in query.lists() for value in values if value.strip()]
    return urlencode(pairs)


class CleanQueryMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Any, args: Any, kwargs: Any
    ) -> HttpResponse | None:
        match = request.resolver_match
        if (
            request.method != "GET"
            or match is None
            or match.view_name not in CLEAN_QUERY_VIEWS
            or request.headers.get("HX-Request")
            or all(v.strip() for _, values in request.GET.lists() for v in values)
        ):
            return None
        url = request.path + (f"?{query}" if (query := clean_query(request.GET)) else "")
        if len(url) > MAX_URL:  # no browser keeps such a link; the page reads it as it is
            return None
        return HttpResponseRedirect(url)
