"""`manage.py sync_jobs`: one reconcile of every enabled connection now (cron, debugging)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from connections.models import Connection
from jobs import sync


class Command(BaseCommand):
    help = "Reconcile the local job state with Kuscia once and print a summary per connection."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--connection", help="only this connection (name)")
        parser.add_argument(
            "--respect-backoff",
            action="store_true",
            help="skip connections that are backing off (the default is to poll them now)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        force = not options["respect_backoff"]
        if options["connection"]:
            connection = Connection.objects.filter(name=options["connection"]).first()
            if connection is None:
                raise CommandError(f"no connection named {options['connection']!r}")
            summaries = [sync.poll_connection(connection, force=force)]
        else:
            summaries = sync.run_poll_cycle(force=force)
        if not summaries:
            self.stdout.write("no enabled connections")
        failed = False
        for summary in summaries:
            self.stdout.write(str(summary))
            failed |= bool(summary.error)
        if failed:
            raise SystemExit(1)
