"""Channel targets and secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256) with a key derived
from DJANGO_SECRET_KEY by HKDF, so the database alone never reveals a webhook URL or secret.

Changing DJANGO_SECRET_KEY makes stored values unreadable: deliveries then fail with a clear
error and the channel's page asks for the URL and secret again.
"""

from __future__ import annotations

import base64
from functools import lru_cache
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.utils.translation import gettext as _

_INFO = b"kuscia-console alerts channel secrets v1"


class SecretUnreadable(Exception):
    """A stored value cannot be decrypted (the secret key changed)."""


@lru_cache(maxsize=4)
def _fernet(secret_key: str) -> Fernet:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(raw))


def seal(value: str) -> str:
    """Encrypt `value` for storage ("" stays "")."""
    if not value:
        return ""
    return _fernet(settings.SECRET_KEY).encrypt(value.encode()).decode()


def unseal(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet(settings.SECRET_KEY).decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            _(
                "The channel's stored URL or secret cannot be decrypted (DJANGO_SECRET_KEY "
                "changed?). Enter them again on the channel's page."
            )
        ) from None


def url_hint(url: str) -> str:
    """What a page may show of a webhook URL: scheme and host only (the path and query of
    WeCom, Slack, DingTalk and Feishu hooks are the credential)."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        return "…"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}/…"
