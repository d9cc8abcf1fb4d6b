"""`manage.py alerts_provision [--check] [FILE]`: check a provisioning file (CI, before a
commit), or load it now (default: KC_ALERTS_FILE) instead of waiting for the sweep."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from alerts import provision


class Command(BaseCommand):
    help = "Check or load an alerts provisioning file (YAML)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", nargs="?", default="", help="default: KC_ALERTS_FILE")
        parser.add_argument("--check", action="store_true", help="only check; change nothing")

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["file"] or settings.KC_ALERTS_FILE
        if not path:
            raise CommandError("Give a file, or set KC_ALERTS_FILE.")
        if options["check"]:
            try:
                text = Path(path).read_text(encoding="utf-8")
                plan = provision.parse(text, path)
            except OSError as exc:
                raise CommandError(f"{path}:1: cannot read the file: {exc}") from None
            except provision.Problems as exc:
                for problem in exc.problems:
                    self.stderr.write(problem)
                raise CommandError(f"{len(exc.problems)} problem(s) in {path}") from None
            self.stdout.write(
                f"{path}: ok ({len(plan.channels)} channels, {len(plan.rules)} rules)"
            )
            return
        outcome = provision.refresh(force=True, path=path)
        self.stdout.write(f"{path}: {outcome}")
        if outcome == "invalid":
            from alerts.models import ProvisionState

            for problem in ProvisionState.objects.get(key=1).errors:
                self.stderr.write(problem)
            raise CommandError(f"{path} has problems; nothing was changed")
