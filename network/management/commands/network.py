"""`python manage.py network ACTION`: nodes, routes and data of a connection, live from Kuscia.

    network nodes [--connection NAME] [--json]      domain/batchQuery of the domains known
    network routes [--connection NAME] [--json]     route/status/batchQuery of the routes known
    network data DOMAIN [--connection NAME] [--json]  domaindata/list of one domain
    network poll [--connection NAME] [--inventory]  one network poll now, stored like beat's

Kuscia cannot list domains or routes: the ids asked are those the console knows (the
connection's local domain, KUSCIA_NETWORK_DOMAINS, its jobs' parties, the nodes and routes
it stored). An unknown key fails Kuscia's whole batch; it is dropped and named. Errors print
their hint and exit non-zero, as `manage.py kuscia` does. Like it, the command's own words and
the hints follow the process locale (`LANG=zh_CN.UTF-8`); table headings, Kuscia's words and
--json stay as they are.
"""

from __future__ import annotations

import json
from argparse import ArgumentParser
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from connections.models import Connection
from connections.process_locale import language_from_environment
from connections.texts import error_message, translated
from jobs.sync.track import client_for
from kuscia import wire
from kuscia.errors import KusciaError
from kuscia.wire_network import parse_route_reason
from network import poll


def _t(value: Any) -> str:
    return wire.format_time(value).replace("T", " ") if value else "-"


class Command(BaseCommand):
    help = "Nodes, routes and domain data of a Kuscia connection (live), or one network poll."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--connection", default="", help="connection name (default: first)")
        parser.add_argument("--json", action="store_true", help="one JSON object per line")
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        sub.add_parser("nodes", help="the known domains' node status")
        sub.add_parser("routes", help="the known routes' status")
        p = sub.add_parser("data", help="a domain's DomainData")
        p.add_argument("domain_id", metavar="DOMAIN")
        p = sub.add_parser("poll", help="poll now and store the result")
        p.add_argument("--inventory", action="store_true", help="also list data and grants")

    def emit(self, value: Any) -> None:
        self.stdout.write(json.dumps(value, ensure_ascii=False))

    def table(self, rows: Sequence[tuple[str, ...]]) -> None:
        widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
        for r in rows:
            self.stdout.write(
                "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
            )

    def handle(self, *args: Any, **opts: Any) -> None:
        with translation.override(language_from_environment()):
            self.run_action(opts)

    def run_action(self, opts: dict[str, Any]) -> None:
        self.as_json = bool(opts["json"])
        connection = self.connection(opts["connection"])
        try:
            getattr(self, f"do_{opts['action']}")(connection, opts)
        except KusciaError as exc:
            if self.as_json:
                self.emit({"error": exc.to_dict()})
            raise CommandError(
                f"{exc.kind}: {error_message(exc)}\n"
                + _("hint: %(hint)s") % {"hint": translated(exc.hint)},
                returncode=1,
            ) from None

    def connection(self, name: str) -> Connection:
        qs = Connection.objects.default_first()
        conn = qs.filter(name=name).first() if name else qs.first()
        if conn is None:
            known = ", ".join(Connection.objects.enabled().names()) or _("none")
            raise CommandError(
                _("no enabled connection %(name)r (enabled: %(known)s)")
                % {"name": name, "known": known},
                returncode=2,
            )
        return conn

    # ------------------------------------------------------------ actions

    def do_nodes(self, conn: Connection, opts: dict[str, Any]) -> None:
        known, new = poll.domain_plan(conn, poll.network_state(conn), slow=True, now=_now())
        if not known + new:
            raise CommandError(
                _(
                    "no domain known for this connection: set its local domain, run a job, or "
                    "list ids in KUSCIA_NETWORK_DOMAINS"
                ),
                returncode=2,
            )
        summary = poll.NetSummary(connection=conn.name)
        with client_for(conn) as client:
            domains, missing = poll.fetch_domains(client, known + new, summary)
        if self.as_json:
            for d in domains:
                self.emit(wire.to_json(d))
            for m in missing:
                self.emit({"domain_id": m, "error": "not found"})
            return
        rows = [("DOMAIN", "ROLE", "AGENT", "STATUS", "VERSION", "HEARTBEAT", "CERT UNTIL")]
        for d in domains:
            cert = _t(d.cert.not_after)[:10] if d.cert.not_after else "-"
            for a in d.node_statuses or [None]:
                rows.append(
                    (
                        d.domain_id,
                        d.role or "-",
                        a.name if a else "-",
                        (a.status or _("(none)")) if a else _("no agent reported"),
                        a.version if a else "-",
                        _t(a.last_heartbeat_time) if a else "-",
                        cert,
                    )
                )
        self.table(rows)
        for m in missing:
            self.stdout.write(_("%(id)s: Kuscia has no such domain (11305)") % {"id": m})

    def do_routes(self, conn: Connection, opts: dict[str, Any]) -> None:
        known, new = poll.route_plan(conn, slow=False)
        if not known + new:
            raise CommandError(
                _("no route known for this connection yet: run `manage.py network poll` first"),
                returncode=2,
            )
        summary = poll.NetSummary(connection=conn.name)
        with client_for(conn) as client:
            routes, missing = poll.fetch_routes(client, known + new, summary)
        if self.as_json:
            for r in routes:
                self.emit(wire.to_json(r))
            for s, d in missing:
                self.emit({"source": s, "destination": d, "error": "not found"})
            return
        rows = [("SOURCE", "DESTINATION", "STATUS", "REASON", "SINCE (KUSCIA)")]
        for r in routes:
            why = parse_route_reason(r.reason) if r.reason else None
            rows.append(
                (
                    r.source,
                    r.destination,
                    r.status,
                    (why.reason or why.message) if why else "-",
                    _t(why.updated_at) if why else "-",
                )
            )
        self.table(rows)
        for s, d in missing:
            self.stdout.write(
                _("%(source)s -> %(destination)s: Kuscia has no such route (11404)")
                % {"source": s, "destination": d}
            )

    def do_data(self, conn: Connection, opts: dict[str, Any]) -> None:
        with client_for(conn) as client:
            items = client.list_domaindata(opts["domain_id"])
        if self.as_json:
            for item in items:
                self.emit(wire.to_json(item))
            return
        rows = [("ID", "NAME", "TYPE", "PATH", "DATASOURCE", "COLUMNS", "AUTHOR")]
        for i in items:
            rows.append(
                (
                    i.domaindata_id,
                    i.name,
                    i.type,
                    i.relative_uri,
                    i.datasource_id,
                    str(len(i.columns)),
                    i.author,
                )
            )
        self.table(rows)

    def do_poll(self, conn: Connection, opts: dict[str, Any]) -> None:
        summary = poll.poll_network(conn, inventory=True if opts["inventory"] else None)
        if self.as_json:
            self.emit(summary.as_dict())
        else:
            self.stdout.write(str(summary))
        if summary.error:
            state = poll.network_state(conn)
            hint = _("hint: %(hint)s") % {"hint": translated(state.last_error_hint)}
            raise CommandError(f"{summary.error}\n{hint}", returncode=1)


def _now() -> datetime:
    return timezone.now()
