"""Operators' data pages: register, edit and delete domain data, grant it and take a grant
back. Every change is a POST with the CSRF token and the form's one-time token, checked for
the operator role, audited (network.actions) and answered with Kuscia's own words."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.roles import operator_required
from connections.models import Connection
from connections.texts import translated
from network import actions
from network.forms import (
    DATA_TYPES,
    DataForm,
    DeleteForm,
    GrantForm,
    TokenForm,
    columns_text,
    new_token,
)
from network.models import DataItem, GrantItem


def _item(connection: str, domain_id: str, domaindata_id: str) -> DataItem:
    item = DataItem.objects.for_detail(connection, domain_id, domaindata_id).first()
    if item is None:
        raise Http404(_("No such domain data on this connection."))
    return item


def _item_url(item: DataItem | None, connection: str, domain_id: str, data_id: str) -> str:
    if item is not None:
        connection, domain_id, data_id = item.connection.name, item.domain_id, item.domaindata_id
    return reverse("network:data_item", args=(connection, domain_id, data_id))


def _fresh_token(request: HttpRequest) -> Any:
    data = request.POST.copy()
    data["token"] = new_token()
    return data


def _said(request: HttpRequest, result: actions.DataResult, done: str) -> bool:
    """Tell the user what happened (Kuscia's code and message on a refusal); True when done."""
    record = result.record
    if result.duplicate:
        messages.info(request, _("This form was already sent; nothing was sent again."))
    if record.outcome == actions.Outcome.OK:
        if not result.duplicate:
            messages.success(request, done)
        return True
    code = f" [{record.kuscia_code}]" if record.kuscia_code else ""
    messages.error(
        request,
        _("Kuscia refused%(code)s: %(message)s — %(hint)s")
        % {"code": code, "message": record.kuscia_message, "hint": translated(record.hint)},
    )
    return False


@operator_required
@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    names = Connection.objects.enabled().names()
    if not names:
        raise Http404(_("No connection is enabled."))
    if request.method == "POST":
        form = DataForm(request.POST, connections=names)
        if form.is_valid():
            connection = Connection.objects.named(form.cleaned_data["connection"]).get()
            spec = form.spec()
            try:
                result = actions.register_data(
                    user=request.user,
                    connection=connection,
                    spec=spec,
                    key=form.cleaned_data["token"],
                )
            except actions.KeySpent:
                messages.error(request, _("This form was used for something else: try again."))
                return HttpResponseRedirect(reverse("network:data_new"))
            if _said(request, result, _("Registered %(id)s.") % {"id": result.domaindata_id}):
                item = DataItem.objects.for_detail(
                    connection.name, spec.domain_id, result.domaindata_id
                ).first()
                if item is not None:
                    return HttpResponseRedirect(
                        _item_url(item, connection.name, spec.domain_id, result.domaindata_id)
                    )
                return HttpResponseRedirect(reverse("network:data") + f"?domain={spec.domain_id}")
            form.data = _fresh_token(request)  # a corrected resubmit is a new attempt
    else:
        form = DataForm(
            connections=names,
            initial={
                "token": new_token(),
                "connection": names[0],
                "domain_id": request.GET.get("domain", "")[:63],
            },
        )
    return render(request, "network/data_form.html", {"form": form, "item": None})


@operator_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, connection: str, domain_id: str, domaindata_id: str) -> HttpResponse:
    item = _item(connection, domain_id, domaindata_id)
    fixed = {
        "connection": item.connection.name,
        "domain_id": item.domain_id,
        "domaindata_id": item.domaindata_id,
    }
    if request.method == "POST":
        form = DataForm(
            request.POST, connections=[item.connection.name], editing=True, initial=fixed
        )
        if form.is_valid():
            try:
                result = actions.update_data(
                    user=request.user, item=item, spec=form.spec(), key=form.cleaned_data["token"]
                )
            except actions.KeySpent:
                messages.error(request, _("This form was used for something else: try again."))
                return HttpResponseRedirect(request.path)
            if _said(request, result, _("Saved %(id)s.") % {"id": item.domaindata_id}):
                return HttpResponseRedirect(_item_url(item, "", "", ""))
            form.data = _fresh_token(request)
    else:
        form = DataForm(
            connections=[item.connection.name],
            editing=True,
            initial={
                **fixed,
                "token": new_token(),
                "name": item.name,
                "type": item.type if item.type in DATA_TYPES else "unknown",
                "datasource_id": item.datasource_id or "default-data-source",
                "relative_uri": item.relative_uri,
                "file_format": item.file_format if item.file_format in ("CSV", "BINARY") else "",
                "description": (item.attributes or {}).get("description", ""),
                "columns": columns_text(item.columns),
            },
        )
    return render(request, "network/data_form.html", {"form": form, "item": item})


@operator_required
@require_http_methods(["GET", "POST"])
def delete(
    request: HttpRequest, connection: str, domain_id: str, domaindata_id: str
) -> HttpResponse:
    item = _item(connection, domain_id, domaindata_id)
    form = DeleteForm(
        request.POST if request.method == "POST" else None,
        expected=item.domaindata_id,
        initial={"token": new_token()},
    )
    if request.method == "POST" and form.is_valid():
        try:
            result = actions.delete_data(
                user=request.user, item=item, key=form.cleaned_data["token"]
            )
        except actions.KeySpent:
            messages.error(request, _("This form was used for something else: try again."))
            return HttpResponseRedirect(request.path)
        _said(
            request,
            result,
            _("Deleted %(id)s from Kuscia (the file itself stays).") % {"id": item.domaindata_id},
        )
        return HttpResponseRedirect(_item_url(item, "", "", ""))
    return render(request, "network/data_delete.html", {"form": form, "item": item})


@operator_required
@require_POST
def grant(
    request: HttpRequest, connection: str, domain_id: str, domaindata_id: str
) -> HttpResponse:
    item = _item(connection, domain_id, domaindata_id)
    form = GrantForm(request.POST, owner=item.domain_id)
    if not form.is_valid():
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        messages.error(request, _("Not granted: %(why)s") % {"why": errors})
        return HttpResponseRedirect(_item_url(item, "", "", "") + "#grants")
    try:
        result = actions.grant_data(
            user=request.user,
            item=item,
            spec=form.spec(item.domain_id, item.domaindata_id),
            key=form.cleaned_data["token"],
        )
    except actions.KeySpent:
        messages.error(request, _("This form was used for something else: try again."))
    else:
        _said(request, result, _("Granted to %(d)s.") % {"d": form.cleaned_data["grant_domain"]})
    return HttpResponseRedirect(_item_url(item, "", "", "") + "#grants")


@operator_required
@require_POST
def revoke(
    request: HttpRequest, connection: str, domain_id: str, domaindata_id: str, grant_id: str
) -> HttpResponse:
    item = _item(connection, domain_id, domaindata_id)
    grant_row = GrantItem.objects.for_item(item.connection_id, domain_id, domaindata_id)
    found = next((g for g in grant_row if g.grant_id == grant_id), None)
    if found is None:
        raise Http404(_("No such grant on this data."))
    form = TokenForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("This form is missing its one-time token; reload the page."))
        return HttpResponseRedirect(_item_url(item, "", "", "") + "#grants")
    found.connection = item.connection
    try:
        result = actions.revoke_grant(
            user=request.user, grant=found, key=form.cleaned_data["token"]
        )
    except actions.KeySpent:
        messages.error(request, _("This form was used for something else: try again."))
    else:
        _said(request, result, _("Grant to %(d)s taken back.") % {"d": found.grant_domain})
    return HttpResponseRedirect(_item_url(item, "", "", "") + "#grants")


def item_forms(item: DataItem, grants: list[GrantItem]) -> dict[str, Any]:
    """The operator's forms on a data item's page, each with its own one-time token (a
    token spent on one grant's revocation must not be found again for another's)."""
    for g in grants:
        g.revoke_token = new_token()  # type: ignore[attr-defined]
    return {"grant_form": GrantForm(owner=item.domain_id, initial={"token": new_token()})}
