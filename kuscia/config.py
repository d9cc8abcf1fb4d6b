"""How to reach one KusciaAPI: URL, protocol, certificate files, token file, timeouts.

Only paths are kept here, never file contents: the client reads the files when it is built.
Framework-free: the console builds configs from its settings (connections.config).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any

PROTOCOLS = ("MTLS", "TLS", "NOTLS")

# The file names a user copies out of /home/kuscia/var/certs/ (the seed document's names).
CA_NAME = "ca.crt"
CERT_NAME = "kusciaapi-server.crt"
KEY_NAME = "kusciaapi-server.key"
TOKEN_NAME = "token"
SEED_FILES = {
    "ca_file": CA_NAME,
    "cert_file": CERT_NAME,
    "key_file": KEY_NAME,
    "token_file": TOKEN_NAME,
}


@dataclass(frozen=True)
class ConnectionConfig:
    url: str
    protocol: str = "MTLS"
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    token_file: str = ""
    tls_server_name: str = ""
    connect_timeout: float = 5.0
    read_timeout: float = 30.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "protocol", (self.protocol or "MTLS").strip().upper())
        object.__setattr__(self, "url", self.url.strip().rstrip("/"))

    @classmethod
    def from_cert_dir(
        cls, url: str, cert_dir: str | os.PathLike[str], **kw: Any
    ) -> ConnectionConfig:
        """Paths from a directory holding Kuscia's files; non-empty explicit paths in kw win."""
        base = os.fspath(cert_dir)
        values: dict[str, Any] = {
            field: os.path.join(base, name) if base else "" for field, name in SEED_FILES.items()
        }
        values.update((k, v) for k, v in kw.items() if v or k not in SEED_FILES)
        return cls(url=url, **values)

    def with_overrides(self, **kw: Any) -> ConnectionConfig:
        """A copy with the given non-empty values replaced (used by the CLI's options)."""
        return replace(self, **{k: v for k, v in kw.items() if v not in (None, "")})

    @property
    def uses_tls(self) -> bool:
        return self.protocol in ("TLS", "MTLS")

    def required_files(self) -> list[tuple[str, str]]:
        """(role, path) of every file this protocol needs; empty paths included."""
        if self.protocol == "NOTLS":
            return []
        files = [("token", self.token_file)]
        if self.protocol == "MTLS":
            files += [("client certificate", self.cert_file), ("client key", self.key_file)]
        if self.ca_file:
            files.insert(0, ("CA certificate", self.ca_file))
        return files

    def describe(self) -> str:
        """One safe line (paths and names only, never file contents)."""
        parts = [self.url, self.protocol]
        if self.tls_server_name:
            parts.append(f"server name {self.tls_server_name}")
        return " · ".join(parts)
