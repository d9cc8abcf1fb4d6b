"""`manage.py track_job CONNECTION JOB_ID`: add a job by id (QueryJob and store it). Its words
and an error's hint follow the process locale (`LANG=zh_CN.UTF-8`), as `manage.py kuscia`'s do;
Kuscia's words (the job's state, its messages) stay as Kuscia gives them."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _

from connections.models import Connection
from connections.process_locale import language_from_environment
from connections.texts import error_message, translated
from jobs import sync
from kuscia.errors import KusciaError


class Command(BaseCommand):
    help = "Fetch one job from Kuscia by id and keep it in sync from now on."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("connection", help="connection name, e.g. default")
        parser.add_argument("job_id")

    def handle(self, *args: Any, **options: Any) -> None:
        with translation.override(language_from_environment()):
            self.run_action(options)

    def run_action(self, options: dict[str, Any]) -> None:
        connection = Connection.objects.filter(name=options["connection"]).first()
        if connection is None:
            raise CommandError(_("no connection named %(name)r") % {"name": options["connection"]})
        try:
            job = sync.track_job(connection, options["job_id"])
        except KusciaError as exc:
            hint = _("hint: %(hint)s") % {"hint": translated(exc.hint)}
            raise CommandError(f"{exc.kind}: {error_message(exc)}\n{hint}") from None
        said = _("%(state)s, %(n)s tasks, parties %(parties)s, progress %(pct)s%%") % {
            "state": job.state,
            "n": job.task_count,
            "parties": ", ".join(job.parties) or "-",
            "pct": round(job.progress * 100),
        }
        self.stdout.write(f"{connection.name}/{job.job_id}: {said}")
