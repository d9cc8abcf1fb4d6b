"""Kuscia connections: the list with sync health, add/edit/disable for admins, and the
connection check.

Only file paths are stored for the CA, client certificate/key and token; their contents are
never read here, stored or shown (the check reads them to test them and reports only facts such
as subject names and dates).
"""

from __future__ import annotations

import logging
from pathlib import PurePosixPath
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from accounts.roles import admin_required
from audit.models import AuditRecord
from connections import changes, nodes
from connections.check_texts import status_label, step_detail, step_hint, step_label
from connections.models import Connection
from jobs.models import Job
from kuscia.check import CheckStep, first_failure, run_check

log = logging.getLogger("jobs.connections")
Action = AuditRecord.Action

PATH_FIELDS = ("cert_dir", "ca_file", "cert_file", "key_file", "token_file")


def connections_for_list() -> QuerySet[Connection]:
    """Every connection (enabled first) with its sync state, for the list page."""
    return Connection.objects.select_related("sync").order_by("-enabled", "name")


def known_domains(connection: Connection, *, limit: int = 200) -> list[str]:
    """The connection's local domain and the parties of its most recent jobs."""
    domains: list[str] = [connection.local_domain] if connection.local_domain else []
    recent = (
        Job.objects.for_connection(connection.pk)
        .order_by("-first_seen")
        .values_list("parties", flat=True)[:limit]
    )
    for parties in recent:
        domains.extend(p for p in (parties or []) if isinstance(p, str))
    return list(dict.fromkeys(domains))


class ConnectionForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Connection
        fields = [
            "name",
            "url",
            "protocol",
            "mode",
            "local_domain",
            "cert_dir",
            "ca_file",
            "cert_file",
            "key_file",
            "token_file",
            "tls_server_name",
            "enabled",
        ]
        labels = {
            "name": gettext_lazy("Name"),
            "url": gettext_lazy("KusciaAPI URL"),
            "protocol": gettext_lazy("Protocol"),
            "mode": gettext_lazy("Mode"),
            "cert_dir": gettext_lazy("Certificate directory"),
            "ca_file": gettext_lazy("CA certificate file (ca.crt)"),
            "cert_file": gettext_lazy("Client certificate file"),
            "key_file": gettext_lazy("Client key file"),
            "token_file": gettext_lazy("Token file"),
            "tls_server_name": gettext_lazy("TLS server name"),
            "local_domain": gettext_lazy("Local domain ID"),
            "enabled": gettext_lazy("Enabled"),
        }
        help_texts = {
            "name": gettext_lazy("Short name used in links, e.g. alice or master."),
            "url": gettext_lazy(
                "Scheme, host and port only, e.g. https://127.0.0.1:8082 (13082 via Docker)."
            ),
            "cert_dir": gettext_lazy(
                "A directory holding ca.crt, kusciaapi-server.crt/.key and token (copied from "
                "/home/kuscia/var/certs/). The file fields below override it."
            ),
            "ca_file": gettext_lazy("Path on this server. Only the path is stored."),
            "cert_file": gettext_lazy(
                "Path; Kuscia's docs use kusciaapi-server.crt as the client certificate."
            ),
            "key_file": gettext_lazy("Path; kusciaapi-server.key."),
            "token_file": gettext_lazy(
                "Path of the file holding the token; the token itself is never stored."
            ),
            "tls_server_name": gettext_lazy(
                "Name to expect in the server certificate when the URL's host is not in it "
                "(e.g. kusciaapi)."
            ),
        }

    sections = (
        (gettext_lazy("Kuscia API"), ("name", "url", "protocol", "mode", "local_domain")),
        (
            gettext_lazy("Certificate and token files (paths only)"),
            ("cert_dir", "ca_file", "cert_file", "key_file", "token_file"),
        ),
        (gettext_lazy("TLS and status"), ("tls_server_name", "enabled")),
    )

    def __init__(self, data: Any = None, *args: Any, **kwargs: Any) -> None:
        self.pasted: set[str] = set()
        if data is not None:
            # Someone pasted a certificate, key or token into a path field: drop it before the
            # form is bound, so that it is neither saved nor echoed back in the page. A value
            # without any "/" is no path we could use, and may be a token.
            data = data.copy()
            for name in PATH_FIELDS:
                value = str(data.get(name, "")).strip()
                if (
                    "\n" in value
                    or "\r" in value
                    or "-----BEGIN" in value
                    or (value and "/" not in value)
                ):
                    self.pasted.add(name)
                    data[name] = ""
        super().__init__(data, *args, **kwargs)
        protocol = self.fields["protocol"]
        assert isinstance(protocol, forms.ChoiceField)
        protocol.choices = [
            ("MTLS", _("MTLS: client certificate + token")),
            ("TLS", _("TLS: token only")),
            ("NOTLS", _("NOTLS: plain HTTP, no token")),
        ]

    def clean_url(self) -> str:
        from urllib.parse import urlsplit

        url = str(self.cleaned_data["url"]).strip().rstrip("/")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise forms.ValidationError(
                _("Give scheme, host and port, e.g. https://10.0.0.5:8082.")
            )
        if parts.username or parts.password:
            raise forms.ValidationError(_("Do not put credentials in the URL."))
        try:
            parts.port  # noqa: B018 - raises ValueError for a port that is no number
        except ValueError:
            raise forms.ValidationError(_("The port is not a number.")) from None
        return url

    def _clean_path(self, name: str) -> str:
        if name in self.pasted:
            raise forms.ValidationError(
                _(
                    "Give the absolute path of the file, not its contents. What was typed here "
                    "was not kept, in case it was a key or token."
                )
            )
        value = str(self.cleaned_data.get(name) or "").strip()
        if not value:
            return ""
        if not PurePosixPath(value).is_absolute():
            raise forms.ValidationError(_("Give an absolute path, e.g. /etc/kuscia/alice/ca.crt."))
        return value

    def clean_cert_dir(self) -> str:
        return self._clean_path("cert_dir")

    def clean_ca_file(self) -> str:
        return self._clean_path("ca_file")

    def clean_cert_file(self) -> str:
        return self._clean_path("cert_file")

    def clean_key_file(self) -> str:
        return self._clean_path("key_file")

    def clean_token_file(self) -> str:
        return self._clean_path("token_file")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        protocol = data.get("protocol")
        url = str(data.get("url") or "")
        if protocol == Connection.Protocol.NOTLS and url.startswith("https://"):
            self.add_error("url", _("Protocol NOTLS uses http://."))
        if protocol in (Connection.Protocol.TLS, Connection.Protocol.MTLS) and url.startswith(
            "http://"
        ):
            self.add_error(
                "url", _("Protocol %(protocol)s uses https://.") % {"protocol": protocol}
            )
        if protocol == Connection.Protocol.MTLS and not data.get("cert_dir"):
            missing = [
                f for f in ("ca_file", "cert_file", "key_file", "token_file") if not data.get(f)
            ]
            if missing:
                self.add_error(
                    None,
                    _(
                        "MTLS needs the CA, client certificate, client key and token: give a "
                        "certificate directory or every file path."
                    ),
                )
        return data


def _record(request: HttpRequest, connection: Connection, action: str, changed: list[str]) -> None:
    """The change in the console's audit log (and the app log); call inside the change's
    transaction, so that there is never a change without its record or the reverse."""
    changes.record_connection_change(
        user=request.user, connection=connection, action=action, changed=changed
    )
    log.info(
        "connection %s by user=%s: %s %s",
        connection.name,
        request.user.get_username(),
        action,
        ", ".join(changed),
    )


@require_GET
def connection_list(request: HttpRequest) -> HttpResponse:
    rows = [(conn, getattr(conn, "sync", None)) for conn in connections_for_list()]
    context = {"rows": rows, "now": timezone.now(), "log_only": Connection.objects.log_only_ids()}
    return render(request, "connections/list.html", context)


@admin_required
@require_http_methods(["GET", "POST"])
def connection_add(request: HttpRequest) -> HttpResponse:
    form = ConnectionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            connection = form.save()
            _record(request, connection, Action.CONNECTION_ADD, list(form.changed_data))
        messages.success(
            request,
            _("Connection %(name)s added. Run the check below.") % {"name": connection.name},
        )
        return redirect("connections:check", name=connection.name)
    return render(request, "connections/form.html", {"form": form, "connection": None})


@admin_required
@require_http_methods(["GET", "POST"])
def connection_edit(request: HttpRequest, name: str) -> HttpResponse:
    connection = get_object_or_404(Connection, name=name)
    if connection.is_default:
        messages.info(
            request,
            _(
                "The default connection is configured by the KUSCIA_* environment variables; "
                "change them and restart to edit it."
            ),
        )
        return redirect("connections:list")
    form = ConnectionForm(request.POST or None, instance=connection)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            connection = form.save()
            _record(request, connection, Action.CONNECTION_EDIT, list(form.changed_data))
        messages.success(request, _("Connection %(name)s saved.") % {"name": connection.name})
        return redirect("connections:list")
    return render(request, "connections/form.html", {"form": form, "connection": connection})


@admin_required
@require_POST
def connection_toggle(request: HttpRequest, name: str) -> HttpResponse:
    connection = get_object_or_404(Connection, name=name)
    connection.enabled = not connection.enabled
    with transaction.atomic():
        connection.save(update_fields=["enabled"])
        action = Action.CONNECTION_ON if connection.enabled else Action.CONNECTION_OFF
        _record(request, connection, action, ["enabled"])
    done = (
        _("Connection %(name)s enabled.")
        if connection.enabled
        else _("Connection %(name)s disabled.")
    )
    messages.success(request, done % {"name": connection.name})
    return redirect("connections:list")


@require_GET
@vary_on_headers("HX-Request")
def connection_check(request: HttpRequest, name: str) -> HttpResponse:
    """The live check (a TLS handshake, a watch and every route against Kuscia): at most
    KC_CHECK_LIMIT per user and connection in KC_CHECK_WINDOW seconds, each one audited."""
    connection = get_object_or_404(Connection, name=name)
    htmx = bool(getattr(request, "htmx", False))
    template = "connections/check.html#results" if htmx else "connections/check.html"
    context: dict[str, Any] = {
        "connection": connection,
        "checked_at": timezone.now(),
        "check_url": reverse("connections:check", kwargs={"name": connection.name}),
    }
    slot = changes.begin_connection_check(
        user=request.user,
        connection=connection,
        limit=settings.KC_CHECK_LIMIT,
        window=settings.KC_CHECK_WINDOW,
    )
    if slot.record is None:
        log.warning(
            "connection check %s by user=%s refused: rate limit",
            connection.name,
            request.user.get_username(),
        )
        context["retry_after"] = slot.retry_after
        response = render(request, template, context, status=429)
        response["Retry-After"] = str(slot.retry_after)
        return response
    steps: list[CheckStep] | None = None
    domains = nodes.candidate_domains(connection, known_domains(connection))
    try:
        steps = run_check(connection.client_config(), domains=domains)
    finally:
        changes.finish_connection_check(slot.record, steps)
    node = next((s.node for s in steps if s.node is not None), None)
    if node is not None:  # what Kuscia says the node is, kept for the log archive and list
        nodes.record_node(connection, node)
    failed = first_failure(steps)
    context.update(
        steps=[
            {
                "step": s,
                "label": step_label(s.name),
                "status": status_label(s.status),
                "detail": step_detail(s),
                "hint": step_hint(s),
            }
            for s in steps
        ],
        failed=step_label(failed.name) if failed else "",
    )
    log.info(
        "connection check %s by user=%s: %s",
        connection.name,
        request.user.get_username(),
        " ".join(f"{s.name}={s.status}" for s in steps),
    )
    return render(request, template, context)
