"""``manage.py ensure_admin``: the first administrator, with a generated password printed once.

Run by ``scripts/start.sh`` on every start: it creates the account only while no superuser exists, so the
password is shown exactly once (at the first start) and never stored anywhere but as a hash. Lost it?
``manage.py changepassword admin``.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

from accounts.roles import Role


class Command(BaseCommand):
    help = "Create the first administrator with a generated password (printed once) if there is none."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin")
        parser.add_argument("--email", default="admin@localhost")

    def handle(self, *args: Any, **opts: Any) -> None:
        users = get_user_model().objects
        if users.filter(is_superuser=True).exists():
            names = ", ".join(users.filter(is_superuser=True).values_list("username", flat=True)[:3])
            self.stdout.write(f"administrator account exists ({names}); its password was printed at the first start "
                              f"(reset it with: .venv/bin/python manage.py changepassword {names.split(',')[0]})")
            return
        password = secrets.token_urlsafe(12)
        users.create_superuser(username=opts["username"], email=opts["email"], password=password, role=Role.ADMIN)
        bar = "=" * 72
        self.stdout.write(f"\n{bar}\n  Administrator account created. The password is shown ONLY NOW:\n"
                          f"    username: {opts['username']}\n    password: {password}\n{bar}\n")
