"""The log storage: Django's storage API under the alias `task_logs` (settings.STORAGES).

Only whole objects are written (storage backends such as S3 cannot append): a log is a list of
segment objects under its own prefix, each written once under a fresh name. Replacing a
segment writes the new object, commits the index, then deletes the old object, so a crash
leaves at worst an object no row names; `orphans()` finds those under a log's prefix.
"""

from __future__ import annotations

import contextlib
import secrets

from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages

ALIAS = "task_logs"


def log_storage() -> Storage:
    return storages[ALIAS]


def write_segment(prefix: str, seq: int, data: bytes) -> str:
    """Store one segment under a name no other write uses; the name as stored."""
    name = f"{prefix}/{seq:07d}-{secrets.token_hex(4)}.log"
    return log_storage().save(name, ContentFile(data))


def read(name: str) -> bytes:
    with log_storage().open(name, "rb") as fh:
        data = fh.read()
    return data if isinstance(data, bytes) else data.encode()


def delete(names: list[str]) -> None:
    storage = log_storage()
    for name in names:
        with contextlib.suppress(FileNotFoundError, OSError):
            storage.delete(name)


def names_under(prefix: str) -> list[str]:
    try:
        _dirs, files = log_storage().listdir(prefix)
    except (FileNotFoundError, NotADirectoryError, OSError):
        return []
    return [f"{prefix}/{f}" for f in files]


def delete_prefix(prefix: str) -> int:
    """Delete every object of a log (orphans included); how many there were."""
    names = names_under(prefix)
    delete(names)
    return len(names)


def orphans(prefix: str, known: set[str]) -> list[str]:
    return [n for n in names_under(prefix) if n not in known]
