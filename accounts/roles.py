"""Roles: viewer (read), operator (read + act on jobs), admin (Django admin: users, connections).

Roles are Django groups created by a migration. A superuser counts as every role.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

VIEWER = "viewer"
OPERATOR = "operator"
ADMIN = "admin"
ROLES = (VIEWER, OPERATOR, ADMIN)

User = AbstractBaseUser | AnonymousUser


def _groups(user: Any) -> set[str]:
    if not getattr(user, "is_authenticated", False):
        return set()
    cached = getattr(user, "_kc_groups", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        user._kc_groups = cached
    return cached


def is_admin(user: Any) -> bool:
    return bool(getattr(user, "is_superuser", False)) or ADMIN in _groups(user)


def is_operator(user: Any) -> bool:
    return is_admin(user) or OPERATOR in _groups(user)


def role_of(user: Any) -> str:
    """The strongest role of a user, for display ("" when signed out or in no group)."""
    if is_admin(user):
        return ADMIN
    if is_operator(user):
        return OPERATOR
    return VIEWER if getattr(user, "is_authenticated", False) else ""


def forbidden(request: HttpRequest, reason: str) -> HttpResponse:
    """403 with the console's page inside the layout (403.html): the reason, the user's role
    and the way back. Rendered here rather than raised as PermissionDenied, which Django logs
    with a traceback for what is an ordinary refusal."""
    return render(request, "403.html", {"exception": reason}, status=403)


def operator_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Server-side check for every mutation: 403 unless the user is an operator or admin (the
    console's 403 page, inside the layout, says why: dashboard/templates/403.html)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_operator(request.user):
            return forbidden(request, _("Only operators may do this."))
        return view(request, *args, **kwargs)

    return wrapped


def admin_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_admin(request.user):
            return forbidden(request, _("Only admins may do this."))
        return view(request, *args, **kwargs)

    return wrapped


def roles_context(request: HttpRequest) -> dict[str, object]:
    """Template context processor: `user_role`, `can_operate`, `can_admin`."""
    return {
        "user_role": role_of(request.user),
        "can_operate": is_operator(request.user),
        "can_admin": is_admin(request.user),
    }
