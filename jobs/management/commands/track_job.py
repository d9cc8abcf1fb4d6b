"""`manage.py track_job CONNECTION JOB_ID`: add a job by id (QueryJob and store it)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from connections.models import Connection
from jobs import sync
from kuscia.errors import KusciaError


class Command(BaseCommand):
    help = "Fetch one job from Kuscia by id and keep it in sync from now on."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("connection", help="connection name, e.g. default")
        parser.add_argument("job_id")

    def handle(self, *args: Any, **options: Any) -> None:
        connection = Connection.objects.filter(name=options["connection"]).first()
        if connection is None:
            raise CommandError(f"no connection named {options['connection']!r}")
        try:
            job = sync.track_job(connection, options["job_id"])
        except KusciaError as exc:
            raise CommandError(f"{exc.kind}: {exc.message}\nhint: {exc.hint}") from None
        self.stdout.write(
            f"{connection.name}/{job.job_id}: {job.state}, {job.task_count} tasks, "
            f"parties {', '.join(job.parties) or '-'}, progress {job.progress:.0%}"
        )
