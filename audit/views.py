"""The audit page: every create/act attempt, newest first, with filters (any signed-in user)."""

from __future__ import annotations

from django import forms
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from audit.models import AuditRecord


class AuditFilterForm(forms.Form):
    """The page's filters. Dates are days in the reader's time zone (the one the page shows
    times in): the queryset's `__date` lookups use the zone activated for the request."""

    action = forms.ChoiceField(
        label=_("Action"),
        required=False,
        choices=[("", _("any action")), *AuditRecord.Action.choices],
    )
    outcome = forms.ChoiceField(
        label=_("Outcome"),
        required=False,
        choices=[("", _("any outcome")), *AuditRecord.Outcome.choices],
    )
    user = forms.CharField(label=_("User"), required=False, max_length=150)
    connection = forms.CharField(label=_("Connection"), required=False, max_length=64)
    job = forms.CharField(label=_("Job id contains"), required=False, max_length=63)
    since = forms.DateField(
        label=_("Since"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


@require_GET
def audit_list(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    records = AuditRecord.objects.for_list(filters=filters)
    page = Paginator(records, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/list.html",
        {"form": form, "page": page, "records": page.object_list, "query": query.urlencode()},
    )
