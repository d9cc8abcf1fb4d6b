"""The default connection's client settings, read from the KUSCIA_* settings (environment).

kuscia/ is framework-free, so building a ConnectionConfig from Django settings lives here."""

from __future__ import annotations

from django.conf import settings

from kuscia.config import ConnectionConfig


def default_config() -> ConnectionConfig:
    """The default connection from the KUSCIA_* settings (paths only, never file contents)."""
    return ConnectionConfig.from_cert_dir(
        settings.KUSCIA_API_URL,
        getattr(settings, "KUSCIA_CERT_DIR", ""),
        protocol=getattr(settings, "KUSCIA_PROTOCOL", "MTLS"),
        ca_file=getattr(settings, "KUSCIA_CA_FILE", ""),
        cert_file=getattr(settings, "KUSCIA_CERT_FILE", ""),
        key_file=getattr(settings, "KUSCIA_KEY_FILE", ""),
        token_file=getattr(settings, "KUSCIA_TOKEN_FILE", ""),
        tls_server_name=getattr(settings, "KUSCIA_TLS_SERVER_NAME", ""),
        connect_timeout=float(getattr(settings, "KUSCIA_CONNECT_TIMEOUT", 5.0)),
        read_timeout=float(getattr(settings, "KUSCIA_READ_TIMEOUT", 30.0)),
    )
