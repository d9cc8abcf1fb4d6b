"""`python manage.py kuscia ACTION`: the operator's curl, on the console's own client.

    kuscia health | version | status JOB_ID... | query JOB_ID | watch [--timeout N]
    kuscia domains ID... | domaindata DOMAIN | logs TASK_ID | check [--domain ID]...
    kuscia nodes | routes | data DOMAIN [--connection NAME]   (= manage.py network ...)

Connection options (before or after ACTION) override the KUSCIA_* settings: --url, --protocol,
--cert-dir, --ca-file, --cert-file, --key-file, --token-file, --tls-server-name,
--connect-timeout, --read-timeout. Output is human-readable; --json (also before or after)
prints the typed results with Kuscia's field names (one object per line for watch). On failure
the error's hint is printed and the command exits non-zero. The command's own words follow the
process locale (`LANG=zh_CN.UTF-8`); Kuscia's data (states, ids, messages) is printed as Kuscia
gives it.
"""

from __future__ import annotations

import json
from argparse import SUPPRESS, ArgumentParser
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation
from django.utils.translation import gettext as _

from connections.check_texts import status_label, step_detail, step_hint, step_label
from connections.config import default_config
from connections.process_locale import language_from_environment
from connections.texts import error_message, translated
from kuscia import wire
from kuscia.client import KusciaClient
from kuscia.config import PROTOCOLS, ConnectionConfig
from kuscia.errors import KusciaError
from kuscia.types import Domain, DomainData, JobDetail, JobStatusDetail, WatchEvent


def _t(value: datetime | None) -> str:
    return wire.format_time(value).replace("T", " ") if value else "-"


def _pct(progress: float) -> str:
    return f"{progress * 100:.0f}%"


def connection_options(parser: ArgumentParser) -> None:
    """The options that override the KUSCIA_* settings, and --json."""
    parser.add_argument("--url", help="KusciaAPI base URL (default: KUSCIA_API_URL)")
    parser.add_argument("--protocol", choices=PROTOCOLS, type=str.upper)
    parser.add_argument("--cert-dir", help="directory with ca.crt, kusciaapi-server.*, token")
    parser.add_argument("--ca-file")
    parser.add_argument("--cert-file")
    parser.add_argument("--key-file")
    parser.add_argument("--token-file")
    parser.add_argument("--tls-server-name", help="name to verify the server certificate for")
    parser.add_argument("--connect-timeout", type=float)
    parser.add_argument("--read-timeout", type=float)
    parser.add_argument("--json", action="store_true", help="print JSON (Kuscia's field names)")


NETWORK_ALIASES = {
    "nodes": "the known domains' node status (as `manage.py network nodes`)",
    "routes": "the known routes' status (as `manage.py network routes`)",
    "data": "a domain's DomainData (as `manage.py network data`)",
}


class Command(BaseCommand):
    help = "Talk to KusciaAPI like the seed's curl examples, with explained errors."

    def add_arguments(self, parser: ArgumentParser) -> None:
        connection_options(parser)
        # The same options after the action too (`kuscia status JOB --json`): there they only
        # set what is given (SUPPRESS), so a value before the action is not reset.
        after = ArgumentParser(add_help=False, argument_default=SUPPRESS)
        connection_options(after)
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

        def add(name: str, help: str) -> ArgumentParser:
            return sub.add_parser(name, help=help, parents=[after])  # type: ignore[no-any-return]

        add("health", "POST /healthZ")
        add("version", "GET /version")
        p = add("status", "batch-query job status")
        p.add_argument("job_ids", nargs="+", metavar="JOB_ID")
        p = add("query", "query one job (spec and status)")
        p.add_argument("job_id", metavar="JOB_ID")
        p = add("watch", "print job events as they happen")
        p.add_argument("--timeout", type=int, default=60, help="watch timeout_seconds (default 60)")
        p.add_argument("--reconnect", action="store_true", help="reopen the watch when it ends")
        p = add("domains", "batch-query domains")
        p.add_argument("domain_ids", nargs="+", metavar="ID")
        p = add("domaindata", "list a domain's data")
        p.add_argument("domain_id", metavar="DOMAIN")
        p = add("logs", "print a task's log (lite/autonomy nodes only)")
        p.add_argument("task_id", metavar="TASK_ID")
        p.add_argument("--replica", type=int, default=0)
        p.add_argument("--container", default="")
        p.add_argument("--follow", action="store_true")
        p = add("check", "test the connection step by step")
        p.add_argument("--domain", action="append", default=[], dest="domains")
        # `manage.py network nodes|routes|data` under this name too: a stored connection's
        # view (--connection NAME), run by that command (found by name: connections never
        # imports the network app above it).
        for name, text in NETWORK_ALIASES.items():
            p = sub.add_parser(name, help=text)
            p.add_argument("--connection", default=SUPPRESS, help="connection name")
            p.add_argument("--json", action="store_true", default=SUPPRESS)
            if name == "data":
                p.add_argument("domain_id", metavar="DOMAIN")

    # ------------------------------------------------------------ plumbing

    def config(self, opts: dict[str, Any]) -> ConnectionConfig:
        config = default_config()
        if opts.get("cert_dir"):
            config = ConnectionConfig.from_cert_dir(
                config.url,
                opts["cert_dir"],
                protocol=config.protocol,
                tls_server_name=config.tls_server_name,
                connect_timeout=config.connect_timeout,
                read_timeout=config.read_timeout,
            )
        return config.with_overrides(
            url=opts.get("url"),
            protocol=opts.get("protocol"),
            ca_file=opts.get("ca_file"),
            cert_file=opts.get("cert_file"),
            key_file=opts.get("key_file"),
            token_file=opts.get("token_file"),
            tls_server_name=opts.get("tls_server_name"),
            connect_timeout=opts.get("connect_timeout"),
            read_timeout=opts.get("read_timeout"),
        )

    def emit(self, value: Any) -> None:
        self.stdout.write(json.dumps(value, ensure_ascii=False))
        self.stdout.flush()

    def line(self, text: str = "") -> None:
        self.stdout.write(text)

    def show(self, value: Any, printer: Callable[[Any], None]) -> None:
        """A typed result: as JSON with Kuscia's field names under --json, else printed."""
        if self.as_json:
            self.emit(wire.to_json(value))
        else:
            printer(value)

    def handle(self, *args: Any, **opts: Any) -> None:
        with translation.override(language_from_environment()):
            self.run_action(opts)

    def run_action(self, opts: dict[str, Any]) -> None:
        self.as_json = bool(opts["json"])
        if opts["action"] in NETWORK_ALIASES:
            self.run_network(opts)
            return
        config = self.config(opts)
        action = opts["action"]
        try:
            if action == "check":
                self.do_check(config, opts["domains"])
                return
            with KusciaClient(config) as kc:
                getattr(self, f"do_{action}")(kc, opts)
        except KusciaError as exc:
            if self.as_json:
                self.emit({"error": exc.to_dict()})
            raise CommandError(
                f"{exc.kind}: {error_message(exc)}\n"
                + _("hint: %(hint)s") % {"hint": translated(exc.hint)},
                returncode=1,
            ) from None
        except ValueError as exc:
            raise CommandError(str(exc), returncode=2) from None
        except KeyboardInterrupt:
            return

    def run_network(self, opts: dict[str, Any]) -> None:
        """`kuscia nodes|routes|data`: exactly `manage.py network ...` (same options, output
        and exit codes). It reads a stored connection, so the override options do not apply."""
        names = ArgumentParser(add_help=False)
        connection_options(names)
        overrides = [a.dest for a in names._actions if a.dest != "json"]
        given = [o for o in overrides if opts.get(o) not in (None, False)]
        if given:
            raise CommandError(
                _("%(action)s uses a stored connection (--connection NAME), not %(options)s")
                % {
                    "action": opts["action"],
                    "options": ", ".join("--" + o.replace("_", "-") for o in given),
                },
                returncode=2,
            )
        args = [opts["action"]] + ([opts["domain_id"]] if opts["action"] == "data" else [])
        call_command(
            "network",
            *args,
            connection=opts.get("connection", ""),
            json=self.as_json,
            stdout=self.stdout,
            stderr=self.stderr,
        )

    # ------------------------------------------------------------ actions

    def do_health(self, kc: KusciaClient, opts: dict[str, Any]) -> None:
        ready = kc.health()
        if self.as_json:
            self.emit({"ready": ready})
        else:
            self.line(f"{kc.config.url}: {_('ready') if ready else _('NOT ready')}")
        if not ready:
            raise CommandError(_("Kuscia answered healthZ but is not ready"), returncode=1)

    def do_version(self, kc: KusciaClient, opts: dict[str, Any]) -> None:
        version = kc.version()
        if self.as_json:
            self.emit({"version": version})
        else:
            self.line(version)

    def do_status(self, kc: KusciaClient, opts: dict[str, Any]) -> None:
        for job in kc.batch_query_job_status(opts["job_ids"]):
            self.show(job, lambda j: self.print_status(j.job_id, j.status))

    def do_query(self, kc: KusciaClient, opts: dict[str, Any]) -> None:
        self.show(kc.query_job(opts["job_id"]), self.print_detail)

    def do_watch(self, kc: KusciaClient, opts: dict[str, Any]) -> None:
        with kc.watch_jobs(timeout_seconds=opts["timeout"], reconnect=opts["reconnect"]) as ws:
            for event in ws:
                self.print_event(event)

    def do_domains(self, kc: KusciaClient, opts: dict[str, Any]) -> None:
        for domain in kc.batch_query_domains(opts["domain_ids"]):
            self.show(domain, self.print_domain)

    def do_domaindata(self, kc: KusciaClient, opts: dict[str, Any]) -> None:
        items = kc.list_domaindata(opts["domain_id"])
        if self.as_json:
            for item in items:
                self.emit(wire.to_json(item))
            return
        self.print_domaindata(items)

    def do_logs(self, kc: KusciaClient, opts: dict[str, Any]) -> None:
        chunks = kc.query_task_log(
            opts["task_id"],
            replica_idx=opts["replica"],
            container=opts["container"],
            follow=opts["follow"],
        )
        for chunk in chunks:
            if self.as_json:
                self.emit({"log": chunk})
            else:
                self.line(chunk)

    def do_check(self, config: ConnectionConfig, domains: list[str]) -> None:
        from kuscia.check import run_check

        steps = run_check(config, domains=domains)
        failed = [s for s in steps if s.status == "fail"]
        if self.as_json:
            for step in steps:
                self.emit(wire.to_json(step))  # name, status, detail, hint
        else:
            self.line(_("Checking %(connection)s") % {"connection": config.describe()})
            for step in steps:
                status, name = status_label(step.status), step_label(step.name)
                self.line(f"  [{status:>7}] {name}: {step_detail(step)}")
                if step.hint and step.status in ("fail", "warn"):
                    self.line("            " + _("hint: %(hint)s") % {"hint": step_hint(step)})
        if failed:
            raise CommandError(
                _("check failed at: %(step)s") % {"step": step_label(failed[0].name)}
                + "\n"
                + _("hint: %(hint)s") % {"hint": step_hint(failed[0])},
                returncode=1,
            )

    # ------------------------------------------------------------ human output

    def print_status(self, job_id: str, st: JobStatusDetail) -> None:
        self.line(
            f"{job_id}  {st.state}  created {_t(st.create_time)}  started {_t(st.start_time)}"
            f"  ended {_t(st.end_time)}"
        )
        if st.err_msg:
            self.line(f"  error: {st.err_msg}")
        for task in st.tasks:
            name = task.task_id + (
                f" ({task.alias})" if task.alias and task.alias != task.task_id else ""
            )
            self.line(
                f"  task {name}  {task.state}  {_pct(task.progress)}"
                f"  {_t(task.start_time)} -> {_t(task.end_time)}"
            )
            if task.err_msg:
                self.line(f"    error: {task.err_msg}")
            for party in task.parties:
                eps = " ".join(f"{e.port_name}={e.endpoint}" for e in party.endpoints)
                self.line(f"    {party.domain_id}  {party.state}  {eps}".rstrip())
                if party.err_msg:
                    self.line(f"      error: {party.err_msg}")
        for label, items in (
            ("stages", st.stage_status_list),
            ("approval", st.approve_status_list),
        ):
            if items:
                self.line(f"  {label}: " + ", ".join(f"{s.domain_id}={s.state}" for s in items))

    def print_detail(self, d: JobDetail) -> None:
        self.line(f"job {d.job_id}  initiator {d.initiator}  max_parallelism {d.max_parallelism}")
        if d.custom_fields:
            self.line(
                "  custom_fields: " + ", ".join(f"{k}={v}" for k, v in d.custom_fields.items())
            )
        for t in d.tasks:
            deps = ", ".join(t.dependencies) or "-"
            parties = ", ".join(p.domain_id + (f"/{p.role}" if p.role else "") for p in t.parties)
            self.line(
                f"  spec {t.task_id} alias {t.alias}  image {t.app_image}  parties {parties}"
                f"  after {deps}  priority {t.priority}"
            )
        self.print_status(d.job_id, d.status)

    def print_event(self, ev: WatchEvent) -> None:
        if ev.job is None:
            return
        if self.as_json:
            self.emit({"type": ev.type.name, "object": wire.to_json(ev.job)})
            return
        tasks = "  ".join(f"{t.task_id}:{t.state}:{_pct(t.progress)}" for t in ev.job.status.tasks)
        self.line(f"{ev.type.name:<8} {ev.job.job_id}  {ev.job.status.state}  {tasks}".rstrip())
        self.stdout.flush()

    def print_domain(self, d: Domain) -> None:
        self.line(f"{d.domain_id}  role {d.role or '-'}")
        for n in d.node_statuses:
            self.line(
                f"  node {n.name}  {n.status}  {n.version}  heartbeat {_t(n.last_heartbeat_time)}"
            )

    def print_domaindata(self, items: Iterable[DomainData]) -> None:
        rows = [("ID", "NAME", "TYPE", "URI", "DATASOURCE", "VENDOR", "COLUMNS")]
        for i in items:
            rows.append(
                (
                    i.domaindata_id,
                    i.name,
                    i.type,
                    i.relative_uri,
                    i.datasource_id,
                    i.vendor,
                    str(len(i.columns)),
                )
            )
        widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
        for r in rows:
            self.line("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
