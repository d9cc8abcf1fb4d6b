"""The audit page: every create/act attempt, newest first, with filters (any signed-in user)."""

from __future__ import annotations

from django import forms
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from audit.models import AuditRecord


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(
        required=False, choices=[("", "any action"), *AuditRecord.Action.choices]
    )
    outcome = forms.ChoiceField(
        required=False, choices=[("", "any outcome"), *AuditRecord.Outcome.choices]
    )
    user = forms.CharField(required=False, max_length=150)
    connection = forms.CharField(required=False, max_length=64)
    job = forms.CharField(required=False, max_length=63, label="Job id contains")
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))


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
