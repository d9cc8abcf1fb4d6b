"""Run the local KusciaAPI simulator until Ctrl-C or SIGTERM (same as `python -m simulator`).

A thin adapter over simulator.cli: the options are the same; the default cert dir comes from
settings.KUSCIA_CERT_DIR.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from simulator import cli


class Command(BaseCommand):
    help = "Run a local KusciaAPI simulator (mTLS, Kuscia's routes and state machines)."

    def add_arguments(self, parser: CommandParser) -> None:
        cli.add_arguments(
            parser, cert_dir=str(getattr(settings, "KUSCIA_CERT_DIR", cli.DEFAULT_CERT_DIR))
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        def write(line: str) -> None:
            self.stdout.write(line)
            self.stdout.flush()

        try:
            cli.serve(opts, write)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
