"""Create or refresh the demo operator account that `make run` prints."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from accounts.management.commands.create_user import set_user
from accounts.roles import OPERATOR


class Command(BaseCommand):
    help = "Create or refresh the demo operator account and print its credentials."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="demo")
        parser.add_argument(
            "--password-file",
            help="use (and, if missing, create) the password kept in this file",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        password = ""
        path = Path(options["password_file"]) if options["password_file"] else None
        if path is not None and path.exists():
            password = path.read_text(encoding="utf-8").strip()
        if not password:
            password = secrets.token_urlsafe(12)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(password + "\n", encoding="utf-8")
                path.chmod(0o600)
        user, _created = set_user(options["username"], password, OPERATOR)
        if options["verbosity"] > 0:
            self.stdout.write(f"demo operator: {user.username} / {password}")
