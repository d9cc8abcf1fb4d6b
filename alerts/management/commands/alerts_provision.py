"""`manage.py alerts_provision [--check] [FILE]`: check a provisioning file (CI, before a
commit), or load it now (default: KC_ALERTS_FILE) instead of waiting for the sweep. Its words
and the file's problems follow the process locale (`LANG=zh_CN.UTF-8`), as `manage.py kuscia`'s
do; the problems a load stores for the alerts page are in the deployment's language."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import translation
from django.utils.translation import gettext as _

from alerts import provision
from connections.process_locale import language_from_environment


class Command(BaseCommand):
    help = "Check or load an alerts provisioning file (YAML)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", default="", help="default: KC_ALERTS_FILE")
        parser.add_argument("--check", action="store_true", help="only check; change nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        with translation.override(language_from_environment()):
            self.run_action(options)

    def run_action(self, options: dict[str, Any]) -> None:
        path = options["file"] or settings.KC_ALERTS_FILE
        if not path:
            raise CommandError(_("Give a file, or set KC_ALERTS_FILE."))
        if options["check"]:
            try:
                text = Path(path).read_text(encoding="utf-8")
                plan = provision.parse(text, path)
            except OSError as exc:
                problem = _("cannot read the file: %(error)s") % {"error": exc}
                raise CommandError(f"{path}:1: {problem}") from None
            except provision.Problems as exc:
                for problem in exc.problems:
                    self.stderr.write(problem)
                raise CommandError(
                    _("%(n)s problem(s) in %(path)s") % {"n": len(exc.problems), "path": path}
                ) from None
            self.stdout.write(
                _("%(path)s: ok (%(channels)s channels, %(rules)s rules)")
                % {"path": path, "channels": len(plan.channels), "rules": len(plan.rules)}
            )
            return
        outcome = provision.refresh(force=True, path=path)
        self.stdout.write(f"{path}: {outcome}")
        if outcome == "invalid":
            from alerts.models import ProvisionState

            for problem in ProvisionState.objects.get(key=1).errors:
                self.stderr.write(problem)
            raise CommandError(_("%(path)s has problems; nothing was changed") % {"path": path})
