"""The console's URLs plus one view that fails, for the 500 page test."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from dashboard.urls import urlpatterns as console


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug in a view, secret-setting-value")


urlpatterns = [*console, path("boom/", boom)]
