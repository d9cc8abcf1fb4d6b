"""Logs are one line per event and never carry token or key material."""

from __future__ import annotations

import json
import logging

from accounts.logsafe import JsonLineFormatter, RedactingFilter, TextLineFormatter

PEM = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEG\n-----END PRIVATE KEY-----"


def record(msg: str, *args, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc else None
    return logging.LogRecord("kuscia", logging.ERROR, __file__, 1, msg, args, exc_info)


def emit(rec: logging.LogRecord, formatter: logging.Formatter) -> str:
    assert RedactingFilter().filter(rec)
    return formatter.format(rec)


def test_token_file_content_is_redacted(tmp_path, monkeypatch):
    token = tmp_path / "token"
    token.write_text("Zx81TokenValueFromKusciaAbcdefgh")
    monkeypatch.setenv("KUSCIA_TOKEN_FILE", str(token))
    line = emit(
        record("sent header %s to kuscia", "Zx81TokenValueFromKusciaAbcdefgh"), TextLineFormatter()
    )
    assert "Zx81TokenValueFromKusciaAbcdefgh" not in line and "[redacted]" in line


def test_token_in_cert_dir_is_redacted(tmp_path, monkeypatch):
    (tmp_path / "token").write_text("AnotherKusciaTokenValue123456789")
    monkeypatch.setenv("KUSCIA_CERT_DIR", str(tmp_path))
    line = emit(record("oops AnotherKusciaTokenValue123456789"), TextLineFormatter())
    assert "AnotherKusciaTokenValue" not in line


def test_pem_and_header_values_are_redacted():
    text = emit(
        record(
            "key %s headers {'Token': 'abc123secret', 'Authorization': 'Bearer q9w8e7'} "
            "url=https://h?token=zzz999",
            PEM,
        ),
        TextLineFormatter(),
    )
    for secret in ("MIGHAgEAMBMG", "abc123secret", "q9w8e7", "zzz999"):
        assert secret not in text, text
    assert "BEGIN PRIVATE KEY" not in text


def test_exception_text_is_redacted_and_one_line():
    try:
        raise ValueError("bad token=SuperSecretValue42 in\nsecond line")
    except ValueError as exc:
        rec = record("request failed", exc=exc)
    line = emit(rec, JsonLineFormatter())
    assert "\n" not in line
    event = json.loads(line)
    assert event["level"] == "ERROR" and event["logger"] == "kuscia"
    assert "SuperSecretValue42" not in event["exc"] and "ValueError" in event["exc"]


def test_text_lines_are_single_lines():
    line = emit(record("first\nsecond\r\nthird"), TextLineFormatter())
    assert "\n" not in line and "\r" not in line and "first\\nsecond" in line


def test_settings_wire_the_filter_into_the_console_handler(settings):
    handler = settings.LOGGING["handlers"]["console"]
    assert handler["filters"] == ["redact"]
    assert settings.LOGGING["filters"]["redact"]["()"] == "accounts.logsafe.RedactingFilter"
