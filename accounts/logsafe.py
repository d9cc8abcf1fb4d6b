"""One line per log event, with token and key material removed.

`JsonLineFormatter` writes one JSON object per line (ts, level, logger, msg, and exc for
tracebacks, all newlines escaped); `TextLineFormatter` writes the same on one plain line.
`RedactingFilter` masks PEM blocks, `Token:`/`token=` values, bearer tokens, and the content of
the Kuscia token files the console knows about (KUSCIA_TOKEN_FILE / KUSCIA_CERT_DIR/token).
"""

from __future__ import annotations

import json
import logging
import os
import re
from datetime import UTC, datetime
from pathlib import Path

REDACTED = "[redacted]"
_PEM = re.compile(r"-----BEGIN [A-Z0-9 ]+-----.*?(-----END [A-Z0-9 ]+-----|$)", re.DOTALL)
_TOKEN_KV = re.compile(
    r"(?i)\b(token|authorization|password|secret)([\"']?\s*[:=]\s*b?[\"']?)(bearer\s+)?"
    r"[^\s\"',;}]+"
)


def _known_token_files() -> list[Path]:
    files: list[Path] = []
    if os.environ.get("KUSCIA_TOKEN_FILE"):
        files.append(Path(os.environ["KUSCIA_TOKEN_FILE"]))
    cert_dir = os.environ.get("KUSCIA_CERT_DIR")
    if cert_dir:
        files.append(Path(cert_dir) / "token")
    try:
        from django.conf import settings

        for name in ("KUSCIA_TOKEN_FILE",):
            value = getattr(settings, name, "")
            if value:
                files.append(Path(value))
        cert_dir_setting = getattr(settings, "KUSCIA_CERT_DIR", "")
        if cert_dir_setting:
            files.append(Path(cert_dir_setting) / "token")
    except Exception:  # noqa: S110 - settings not configured (e.g. a bare script)
        pass
    return files


class RedactingFilter(logging.Filter):
    """Rewrites the record's message so that secrets never reach a handler."""

    def __init__(self, name: str = "") -> None:
        super().__init__(name)
        self._tokens: dict[Path, tuple[float, str]] = {}

    def _token_values(self) -> list[str]:
        values: list[str] = []
        for path in _known_token_files():
            try:
                mtime = path.stat().st_mtime
            except OSError:
                continue
            cached = self._tokens.get(path)
            if cached is None or cached[0] != mtime:
                try:
                    cached = (mtime, path.read_text(encoding="utf-8", errors="replace").strip())
                except OSError:
                    continue
                self._tokens[path] = cached
            if len(cached[1]) >= 8:
                values.append(cached[1])
        return values

    def redact(self, text: str) -> str:
        for value in self._token_values():
            text = text.replace(value, REDACTED)
        text = _PEM.sub(REDACTED, text)
        return _TOKEN_KV.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        record.exc_info = None if record.exc_text else record.exc_info
        return True


class JsonLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_text:
            event["exc"] = record.exc_text
        elif record.exc_info:
            event["exc"] = self.formatException(record.exc_info)
        return json.dumps(event, ensure_ascii=False, default=str)


class TextLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
        line = f"{ts}Z {record.levelname} {record.name} {record.getMessage()}"
        exc = record.exc_text or (self.formatException(record.exc_info) if record.exc_info else "")
        if exc:
            line += " | " + exc
        return line.replace("\r", "\\r").replace("\n", "\\n")
