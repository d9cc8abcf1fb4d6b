"""`python manage.py catalogues update|compile|check`: the translation catalogues without GNU
gettext (see dashboard/catalogues.py)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from dashboard.catalogue_check import check
from dashboard.catalogues import checked_apps, compile_all, shown_path, update_app


class Command(BaseCommand):
    help = "Update the apps' catalogues from the source, compile them, or check them."
    requires_system_checks: list[str] = []  # must run where the catalogues are not built yet

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        p = sub.add_parser("update", help="merge the source's messages into the catalogues")
        p.add_argument("apps", nargs="*", metavar="APP", help="default: every project app")
        p = sub.add_parser("compile", help="compile catalogues whose .mo is missing or stale")
        p.add_argument("--force", action="store_true", help="compile every catalogue")
        p = sub.add_parser("check", help="fail on a missing, fuzzy or inconsistent translation")
        p.add_argument("apps", nargs="*", metavar="APP", help="default: every project app")

    def handle(self, *args: Any, **opts: Any) -> None:
        action = opts["action"]
        if action == "update":
            for label in opts["apps"] or checked_apps():
                try:
                    for line in update_app(label):
                        self.stdout.write(line)
                except (LookupError, ValueError) as exc:
                    raise CommandError(f"{label}: {exc}") from None
        elif action == "compile":
            written = compile_all(force=opts["force"])
            if opts["verbosity"] > 0:
                for path in written:
                    self.stdout.write(f"compiled {shown_path(path)}")
                self.stdout.write(f"{len(written)} catalogue(s) compiled")
        else:
            labels = opts["apps"] or checked_apps()
            try:
                problems = check(labels)
            except LookupError as exc:
                raise CommandError(str(exc)) from None
            for problem in problems:
                self.stderr.write(str(problem))
            if problems:
                raise CommandError(
                    f"{len(problems)} translation problem(s) in {', '.join(labels)}", returncode=1
                )
            if opts["verbosity"] > 0:
                self.stdout.write(f"catalogues complete: {', '.join(labels)}")
