"""Helpers every audited write path shares."""

from __future__ import annotations

from typing import Any


def who(user: Any) -> dict[str, Any]:
    """The audit row's user fields: the account, and its name kept even if it is deleted."""
    authenticated = bool(getattr(user, "is_authenticated", False))
    return {
        "user": user if authenticated else None,
        "username": user.get_username() if authenticated else "",
    }
