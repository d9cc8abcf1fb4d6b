"""The Kuscia endpoints the console talks to, and the health of syncing each one.

Rows are written by connections.views (admins), `manage.py connections`, and the sync engine
(jobs.sync: SyncState, SyncLease). Tables keep their names from before the layout split.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from connections.querysets import ConnectionQuerySet

if TYPE_CHECKING:
    from kuscia.config import ConnectionConfig

DEFAULT_CONNECTION_NAME = "default"


def _default_connection_fields() -> dict[str, object]:
    """The default connection as the KUSCIA_* settings describe it (paths only, never contents)."""
    return {
        "url": settings.KUSCIA_API_URL,
        "protocol": settings.KUSCIA_PROTOCOL,
        "cert_dir": settings.KUSCIA_CERT_DIR,
        "ca_file": settings.KUSCIA_CA_FILE,
        "cert_file": settings.KUSCIA_CERT_FILE,
        "key_file": settings.KUSCIA_KEY_FILE,
        "token_file": settings.KUSCIA_TOKEN_FILE,
        "tls_server_name": settings.KUSCIA_TLS_SERVER_NAME,
        "mode": settings.KUSCIA_MODE,
        "local_domain": settings.KUSCIA_LOCAL_DOMAIN,
    }


class ConnectionManager(models.Manager.from_queryset(ConnectionQuerySet)):  # type: ignore[misc]
    def ensure_default(self) -> Connection:
        """The env-configured connection named `default`, created or brought up to date with the
        KUSCIA_* settings (which stay its source of truth). Safe to call concurrently."""
        fields = _default_connection_fields()
        conn = self.filter(name=DEFAULT_CONNECTION_NAME).first()
        if conn is None:
            try:
                with transaction.atomic():
                    return self.create(name=DEFAULT_CONNECTION_NAME, is_default=True, **fields)
            except IntegrityError:
                conn = self.get(name=DEFAULT_CONNECTION_NAME)
        if conn.is_default:
            changed = [k for k, v in fields.items() if getattr(conn, k) != v]
            if changed:
                for k in changed:
                    setattr(conn, k, fields[k])
                conn.save(update_fields=changed)
        return conn


class NodeRole(models.TextChoices):
    MASTER = "master", _("master")
    LITE = "lite", _("lite")
    AUTONOMY = "autonomy", _("autonomy")


class Connection(models.Model):
    """A Kuscia API endpoint the console talks to. Certificate files stay on disk: only their
    paths are stored, never their contents."""

    class Protocol(models.TextChoices):
        MTLS = "MTLS"
        TLS = "TLS"
        NOTLS = "NOTLS"

    class Mode(models.TextChoices):
        CENTRALIZED = "centralized", _("Centralized (master)")
        LITE = "lite", _("Lite node")
        P2P = "p2p", _("P2P (autonomy node)")

    name = models.SlugField(max_length=64, unique=True)
    url = models.CharField(max_length=255, help_text=_("e.g. https://127.0.0.1:8082"))
    protocol = models.CharField(max_length=8, choices=Protocol.choices, default=Protocol.MTLS)
    cert_dir = models.CharField(max_length=500, blank=True)
    ca_file = models.CharField(max_length=500, blank=True)
    cert_file = models.CharField(max_length=500, blank=True)
    key_file = models.CharField(max_length=500, blank=True)
    token_file = models.CharField(max_length=500, blank=True)
    tls_server_name = models.CharField(max_length=255, blank=True)
    mode = models.CharField(max_length=16, choices=Mode.choices, default=Mode.CENTRALIZED)
    local_domain = models.CharField(max_length=63, blank=True)
    enabled = models.BooleanField(default=True)
    # What Kuscia says this endpoint is (connections.nodes, from the connection check): its role
    # and the domains whose task logs it serves. Written only by connections.nodes.record_node.
    role = models.CharField(max_length=16, choices=NodeRole.choices, blank=True)
    domains = models.JSONField(default=list, blank=True)  # sorted domain ids
    role_detail = models.TextField(blank=True)  # how Kuscia's answers told it
    role_checked_at = models.DateTimeField(null=True, blank=True)
    is_default = models.BooleanField(
        default=False, help_text=_("Created from the KUSCIA_* environment variables.")
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = ConnectionManager()

    class Meta:
        ordering = ["name"]
        db_table = "jobs_connection"  # created by jobs' migrations before the layout split

    def __str__(self) -> str:
        return self.name

    def client_config(self) -> ConnectionConfig:
        """The client's settings for this connection (certificate paths, never contents)."""
        from kuscia.config import ConnectionConfig

        explicit = {
            "ca_file": self.ca_file,
            "cert_file": self.cert_file,
            "key_file": self.key_file,
            "token_file": self.token_file,
        }
        common = {
            "protocol": self.protocol,
            "tls_server_name": self.tls_server_name,
            "connect_timeout": settings.KUSCIA_CONNECT_TIMEOUT,
            "read_timeout": settings.KUSCIA_READ_TIMEOUT,
        }
        if self.cert_dir:
            overrides = {k: v for k, v in explicit.items() if v}
            return ConnectionConfig.from_cert_dir(self.url, self.cert_dir, **overrides, **common)
        return ConnectionConfig(url=self.url, **explicit, **common)  # type: ignore[arg-type]


class SyncState(models.Model):
    """Health of the sync engine for one connection."""

    connection = models.OneToOneField(Connection, on_delete=models.CASCADE, related_name="sync")
    last_attempt = models.DateTimeField(null=True, blank=True)
    last_success = models.DateTimeField(null=True, blank=True)
    last_error_kind = models.CharField(max_length=64, blank=True)
    last_error_message = models.TextField(blank=True)
    last_error_hint = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    next_attempt = models.DateTimeField(null=True, blank=True)
    watch_connected_since = models.DateTimeField(null=True, blank=True)
    watch_last_event = models.DateTimeField(null=True, blank=True)
    # The last watch failure ("kind: message"), cleared when a watch connects again.
    watch_last_error = models.TextField(blank=True)
    # When restartable / recently finished jobs were last included in a reconcile (slow cadence).
    last_slow_poll = models.DateTimeField(null=True, blank=True)
    # Summary of the last reconcile cycle (jobs polled, requests, rows written, gone, seconds).
    last_cycle = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "jobs_syncstate"

    def __str__(self) -> str:
        return f"sync of {self.connection_id}"

    @property
    def backoff_seconds(self) -> float:
        """Seconds between the last attempt and the next one (0 when not backing off)."""
        if self.next_attempt is None or self.last_attempt is None:
            return 0.0
        return max(0.0, (self.next_attempt - self.last_attempt).total_seconds())


class SyncLease(models.Model):
    """A named, expiring lock held by one worker (used when there is no Redis)."""

    name = models.CharField(max_length=100, unique=True)
    owner = models.CharField(max_length=100, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "jobs_synclease"

    def __str__(self) -> str:
        return f"{self.name} ({self.owner or 'free'})"
