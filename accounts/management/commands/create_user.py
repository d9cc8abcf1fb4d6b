"""Create or update a console user with a role: viewer, operator or admin."""

from __future__ import annotations

import getpass
import sys
from typing import Any

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from accounts.roles import ADMIN, ROLES


def set_user(username: str, password: str, role: str) -> tuple[User, bool]:
    """The one write path for console accounts made from the command line."""
    if role not in ROLES:
        raise CommandError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    with transaction.atomic():
        user, created = User.objects.get_or_create(username=username)
        user.set_password(password)
        user.is_active = True
        user.is_staff = role == ADMIN  # admins manage users and connections in Django admin
        user.save()
        user.groups.set([Group.objects.get(name=role)])
    return user, created


class Command(BaseCommand):
    help = "Create a user (or reset an existing one) with a role: viewer, operator or admin."
    stealth_options = ("stdin",)

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", choices=ROLES, default="viewer")
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--password-file", help="read the password from this file")
        group.add_argument(
            "--password-stdin", action="store_true", help="read the password from stdin"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["password_file"]:
            with open(options["password_file"], encoding="utf-8") as handle:
                password = handle.read().strip()
        elif options["password_stdin"]:
            password = (options.get("stdin") or sys.stdin).readline().strip()
        else:
            password = getpass.getpass(f"Password for {options['username']}: ")
        if not password:
            raise CommandError("empty password")
        user, created = set_user(options["username"], password, options["role"])
        verb = "created" if created else "updated"
        self.stdout.write(f"{verb} user {user.username} with role {options['role']}")
