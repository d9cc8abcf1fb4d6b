"""`manage.py connections list|add|edit|remove|check`: the connections page on the command line,
so that a deployment can be scripted. Same validation as the page (ConnectionForm: paths only,
pasted keys or tokens refused) and the same audit records (connections.changes), under the
name `manage.py (<os user>)`.

    manage.py connections list [--json]
    manage.py connections add NAME --url URL [--cert-dir DIR] [--mode lite] [--local-domain bob]
    manage.py connections add NAME ... --update      # add, or bring an existing one up to date
    manage.py connections edit NAME [--url ...] [--enable | --disable]
    manage.py connections remove NAME [--delete-jobs]
    manage.py connections check NAME... | --all [--json]
"""

from __future__ import annotations

import getpass
import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils.translation import gettext as _

from audit.models import AuditRecord
from connections import changes, nodes
from connections.models import Connection
from connections.views import ConnectionForm, known_domains
from kuscia.check import first_failure, run_check
from kuscia.errors import KusciaError

Action = AuditRecord.Action
FIELDS = tuple(f for f in ConnectionForm.Meta.fields if f not in ("name", "enabled"))


def _who() -> str:
    try:
        return f"manage.py ({getpass.getuser()})"
    except (KeyError, OSError):
        return "manage.py"


class Command(BaseCommand):
    help = "List, add, edit, remove and check Kuscia connections (audited like the page)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="every connection with its role and sync state")
        listing.add_argument("--json", action="store_true")
        for name in ("add", "edit"):
            p = sub.add_parser(name, help=f"{name} a connection")
            p.add_argument("name")
            p.add_argument("--url")
            p.add_argument("--protocol", type=str.upper, choices=("MTLS", "TLS", "NOTLS"))
            p.add_argument("--mode", choices=[m.value for m in Connection.Mode])
            for field in FIELDS[3:]:
                p.add_argument("--" + field.replace("_", "-"), dest=field)
            state = p.add_mutually_exclusive_group()
            state.add_argument("--enable", dest="enabled", action="store_true", default=None)
            state.add_argument("--disable", dest="enabled", action="store_false")
            if name == "add":
                p.add_argument(
                    "--update",
                    action="store_true",
                    help="when NAME exists, bring it up to date instead of failing",
                )
        remove = sub.add_parser("remove", help="remove a connection")
        remove.add_argument("name")
        remove.add_argument(
            "--delete-jobs",
            action="store_true",
            help="also delete the jobs and history read through it (otherwise refused)",
        )
        check = sub.add_parser("check", help="run the connection check and learn the node role")
        check.add_argument("names", nargs="*")
        check.add_argument("--all", action="store_true", help="every enabled connection")
        check.add_argument("--json", action="store_true")
        check.add_argument(
            "--role-only",
            action="store_true",
            help="only ask Kuscia what each node is (role, served domains); no other step",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        action = opts["action"]
        if action == "list":
            self.do_list(opts)
        elif action in ("add", "edit"):
            self.do_save(opts, adding=action == "add")
        elif action == "remove":
            self.do_remove(opts)
        else:
            self.do_check(opts)

    # ------------------------------------------------------------------ list

    def do_list(self, opts: dict[str, Any]) -> None:
        log_only = set(Connection.objects.log_only_ids())
        for conn in Connection.objects.select_related("sync").order_by("name"):
            sync = getattr(conn, "sync", None) if hasattr(conn, "sync") else None
            row = {
                "name": conn.name,
                "url": conn.url,
                "protocol": conn.protocol,
                "mode": conn.mode,
                "local_domain": conn.local_domain,
                "enabled": conn.enabled,
                "default": conn.is_default,
                "role": conn.role,
                "domains": list(conn.domains or []),
                "logs_only": conn.pk in log_only,
                "role_checked_at": conn.role_checked_at.isoformat()
                if conn.role_checked_at
                else None,
                "last_sync": sync.last_success.isoformat() if sync and sync.last_success else None,
            }
            if opts["json"]:
                self.stdout.write(json.dumps(row))
                continue
            role = conn.role or _("role not checked")
            served = ", ".join(row["domains"]) or "-"
            flags = [
                f
                for f, on in (("disabled", not conn.enabled), ("logs only", row["logs_only"]))
                if on
            ]
            self.stdout.write(
                f"{conn.name:<16} {conn.url:<32} {conn.protocol:<5} {role:<9} {served}"
                + (f"  ({', '.join(flags)})" if flags else "")
            )

    # ------------------------------------------------------------------ add / edit

    def do_save(self, opts: dict[str, Any], *, adding: bool) -> None:
        name = opts["name"]
        instance = Connection.objects.filter(name=name).first()
        if adding and instance is not None and not opts.get("update"):
            raise CommandError(
                _("connection %(name)s exists (use edit, or add --update)") % {"name": name}
            )
        if not adding and instance is None:
            raise CommandError(_("no connection named %(name)s") % {"name": name})
        if instance is not None and instance.is_default:
            raise CommandError(
                _("%(name)s is configured by the KUSCIA_* environment variables; change them")
                % {"name": name}
            )
        data: dict[str, Any] = {
            "name": name,
            "enabled": True,
            "protocol": "MTLS",
            "mode": "centralized",
        }
        if instance is not None:
            data.update({f: getattr(instance, f) for f in FIELDS})
            data["enabled"] = instance.enabled
        data.update({f: opts[f] for f in FIELDS if opts.get(f) is not None})
        if opts.get("enabled") is not None:
            data["enabled"] = opts["enabled"]
        if not data.get("enabled"):
            data.pop("enabled")  # an unchecked box is an absent field
        form = ConnectionForm(_QueryDict(data), instance=instance)
        if not form.is_valid():
            lines = [
                f"{field or 'connection'}: {err}"
                for field, errs in form.errors.items()
                for err in errs
            ]
            raise CommandError("\n".join(lines))
        action = Action.CONNECTION_ADD if instance is None else Action.CONNECTION_EDIT
        with transaction.atomic():
            connection = form.save()
            changes.record_connection_change(
                user=None,
                username=_who(),
                connection=connection,
                action=action,
                changed=list(form.changed_data),
            )
        verb = _("added") if instance is None else _("saved")
        self.stdout.write(f"{connection.name} {verb}: {', '.join(form.changed_data) or '-'}")

    # ------------------------------------------------------------------ remove

    def do_remove(self, opts: dict[str, Any]) -> None:
        connection = Connection.objects.filter(name=opts["name"]).first()
        if connection is None:
            raise CommandError(_("no connection named %(name)s") % {"name": opts["name"]})
        if connection.is_default:
            raise CommandError(_("the default connection comes from KUSCIA_*; disable it instead"))
        jobs = connection.jobs.count()
        if jobs and not opts["delete_jobs"]:
            raise CommandError(
                _(
                    "%(name)s has %(jobs)d job(s) with their history; disable it instead, or pass "
                    "--delete-jobs to delete them too"
                )
                % {"name": connection.name, "jobs": jobs}
            )
        with transaction.atomic():
            changes.record_connection_change(
                user=None,
                username=_who(),
                connection=connection,
                action=Action.CONNECTION_REMOVE,
                changed=[f"jobs deleted: {jobs}"] if jobs else [],
            )
            connection.delete()
        self.stdout.write(_("%(name)s removed") % {"name": opts["name"]})

    # ------------------------------------------------------------------ check

    def probe_roles(self, targets: list[Connection]) -> None:
        """Role and domains of each, lites first (a master learns its domains from them)."""
        failed = []
        for connection in sorted(targets, key=lambda c: c.mode != Connection.Mode.LITE):
            try:
                nodes.probe_and_record(connection, sorted(known_domains(connection)))
            except KusciaError as err:
                failed.append(connection.name)
                self.stderr.write(f"{connection.name}: {err.kind}: {err.message}")
                continue
            served = ", ".join(connection.domains or []) or "-"
            self.stdout.write(f"{connection.name}: {connection.role or '?'} ({served})")
        if failed:
            raise CommandError(_("a connection check failed"))

    def do_check(self, opts: dict[str, Any]) -> None:
        if opts["all"]:
            if settings.KUSCIA_DEFAULT_CONNECTION:  # the env-configured one, as the sync has it
                Connection.objects.ensure_default()
            targets = list(Connection.objects.enabled().order_by("name"))
        else:
            targets = list(Connection.objects.filter(name__in=opts["names"]).order_by("name"))
            missing = set(opts["names"]) - {c.name for c in targets}
            if missing or not opts["names"]:
                raise CommandError(
                    _("name connections to check, or pass --all: %(m)s")
                    % {"m": ", ".join(sorted(missing)) or "-"}
                )
        if opts["role_only"]:
            self.probe_roles(targets)
            return
        failed = False
        for connection in targets:
            domains = nodes.candidate_domains(connection, known_domains(connection))
            steps = run_check(connection.client_config(), domains=domains)
            node = next((s.node for s in steps if s.node is not None), None)
            if node is not None:
                nodes.record_node(connection, node)
            failed = failed or first_failure(steps) is not None
            if opts["json"]:
                for step in steps:
                    self.stdout.write(
                        json.dumps(
                            {
                                "connection": connection.name,
                                "name": step.name,
                                "status": step.status,
                                "detail": step.detail,
                                "hint": step.hint,
                            }
                        )
                    )
                continue
            self.stdout.write(f"{connection.name}: {connection.client_config().describe()}")
            for step in steps:
                self.stdout.write(f"  [{step.status:>7}] {step.name}: {step.detail}")
                if step.hint and step.status in ("fail", "warn"):
                    self.stdout.write(f"            {step.hint}")
        if failed:
            raise CommandError(_("a connection check failed"))


class _QueryDict(dict[str, Any]):
    """The form's data: a dict with QueryDict's copy() (ConnectionForm copies what it gets)."""

    def copy(self) -> _QueryDict:
        return _QueryDict(self)
