"""What the console knows of Kuscia's network and data, per connection: nodes (a domain's
agents), routes between domains, their recorded transitions, and the domain data inventory.

Only network.sync writes these rows (one write path): it writes only changes, records every
state change of a node or route as a transition (time, old -> new, reason) and marks things
Kuscia no longer has as gone (gone_at) instead of deleting them. Reads that views need are
named QuerySet methods in network.querysets.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from connections.models import Connection
from network.querysets import (
    DataItemQuerySet,
    DataSourceItemQuerySet,
    DataUseQuerySet,
    GrantItemQuerySet,
    NetworkSyncQuerySet,
    NodeQuerySet,
    NodeTransitionQuerySet,
    RouteQuerySet,
    RouteTransitionQuerySet,
)

# A node's status, derived from its agents (network.derive.node_status).
READY = "Ready"
NOT_READY = "NotReady"
DEGRADED = "Degraded"  # some agents Ready, some not
NO_AGENT = "NoAgent"  # Kuscia reports no agent (partner domains always: P2P shows only yours)
GONE = "Gone"  # Kuscia no longer knows the domain / route (transitions only)
NODE_STATUSES = (READY, NOT_READY, DEGRADED, NO_AGENT)
# A route's status as Kuscia reports it.
ROUTE_UP = "Succeeded"
ROUTE_DOWN = "Failed"


class NetworkSync(models.Model):
    """Health of the network poll for one connection (the jobs' SyncState is separate)."""

    connection = models.OneToOneField(
        Connection, on_delete=models.CASCADE, related_name="network_sync"
    )
    last_attempt = models.DateTimeField(null=True, blank=True)
    last_success = models.DateTimeField(null=True, blank=True)
    last_error_kind = models.CharField(max_length=64, blank=True)
    last_error_message = models.TextField(blank=True)
    last_error_hint = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    next_attempt = models.DateTimeField(null=True, blank=True)
    # The slower cycle: domain data, data sources, grants, route and domain details, re-probes.
    last_inventory = models.DateTimeField(null=True, blank=True)
    # Jobs changed since this time have not yet been looked at for new party domains.
    jobs_scanned_until = models.DateTimeField(null=True, blank=True)
    last_cycle = models.JSONField(default=dict, blank=True)
    # The /data/ filter's choices: {"domains": [...], "types": [...]} of the data not gone,
    # stored by network.sync after each inventory (a page never runs the DISTINCT itself).
    data_facets = models.JSONField(default=dict, blank=True)

    objects = NetworkSyncQuerySet.as_manager()

    def __str__(self) -> str:
        return f"network sync of {self.connection_id}"


class Node(models.Model):
    """A domain as one connection reports it: its agents' health and identity."""

    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="network_nodes"
    )
    domain_id = models.CharField(max_length=63)
    role = models.CharField(max_length=16, blank=True)  # "" (this cluster) or "partner"
    status = models.CharField(max_length=16, blank=True)
    reason = models.TextField(blank=True)  # the agents that are not Ready, as Kuscia names them
    # [{"name", "status", "version", "last_heartbeat_time", "last_transition_time"}] by name
    agents = models.JSONField(default=list, blank=True)
    version = models.CharField(max_length=200, blank=True)  # agent versions, distinct, joined
    last_heartbeat = models.DateTimeField(null=True, blank=True)  # the newest of its agents
    kuscia_since = models.DateTimeField(null=True, blank=True)  # agents' last transition
    cert_present = models.BooleanField(default=False)
    cert_not_after = models.DateTimeField(null=True, blank=True)
    # From domain/query (slow cycle): deploy token states (never the tokens), auth, master.
    deploy_tokens = models.JSONField(default=list, blank=True)  # [{"state", "since"}]
    auth_type = models.CharField(max_length=32, blank=True)
    master_domain_id = models.CharField(max_length=63, blank=True)
    detail_at = models.DateTimeField(null=True, blank=True)
    since = models.DateTimeField(default=timezone.now)  # when the status last changed (observed)
    first_seen = models.DateTimeField(default=timezone.now)
    last_changed = models.DateTimeField(default=timezone.now)
    gone_at = models.DateTimeField(null=True, blank=True)

    objects = NodeQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "domain_id"], name="uniq_node")
        ]
        indexes = [models.Index(fields=["domain_id"], name="network_node_domain")]

    def __str__(self) -> str:
        return f"{self.connection_id}/{self.domain_id}"


class NodeTransition(models.Model):
    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="transitions")
    old_status = models.CharField(max_length=16, blank=True)  # "" for the first observation
    new_status = models.CharField(max_length=16)
    reason = models.TextField(blank=True)
    kuscia_time = models.DateTimeField(null=True, blank=True)
    observed_at = models.DateTimeField(default=timezone.now)

    objects = NodeTransitionQuerySet.as_manager()

    class Meta:
        ordering = ["observed_at", "id"]
        indexes = [
            models.Index(fields=["node", "-observed_at"], name="network_nodet_node_time"),
            models.Index(fields=["observed_at"], name="network_nodet_time"),
        ]

    def __str__(self) -> str:
        return f"{self.node_id} {self.old_status}->{self.new_status}"


class Route(models.Model):
    """A route source -> destination (a ClusterDomainRoute) as one connection reports it."""

    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="network_routes"
    )
    source = models.CharField(max_length=63)
    destination = models.CharField(max_length=63)
    status = models.CharField(max_length=16, blank=True)  # Succeeded / Failed
    reason = models.TextField(blank=True)  # Kuscia's text, verbatim
    reason_code = models.CharField(max_length=64, blank=True)  # e.g. DestinationUnreachable
    kuscia_updated_at = models.DateTimeField(null=True, blank=True)  # the reason's LastUpdateAt
    # From route/query (slow cycle); secrets never (the private key is dropped by the client).
    authentication_type = models.CharField(max_length=16, blank=True)
    endpoint_host = models.CharField(max_length=255, blank=True)
    endpoint_ports = models.JSONField(default=list, blank=True)
    transit = models.CharField(max_length=100, blank=True)
    cert_not_after = models.DateTimeField(null=True, blank=True)  # the mTLS certificates' first
    detail_at = models.DateTimeField(null=True, blank=True)
    since = models.DateTimeField(default=timezone.now)
    first_seen = models.DateTimeField(default=timezone.now)
    last_changed = models.DateTimeField(default=timezone.now)
    gone_at = models.DateTimeField(null=True, blank=True)

    objects = RouteQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "source", "destination"], name="uniq_route"
            )
        ]

    def __str__(self) -> str:
        return f"{self.connection_id}/{self.source}->{self.destination}"

    @property
    def is_up(self) -> bool:
        return self.status == ROUTE_UP and self.gone_at is None


class RouteTransition(models.Model):
    route = models.ForeignKey(Route, on_delete=models.CASCADE, related_name="transitions")
    old_status = models.CharField(max_length=16, blank=True)
    new_status = models.CharField(max_length=16)
    reason = models.TextField(blank=True)
    reason_code = models.CharField(max_length=64, blank=True)
    kuscia_time = models.DateTimeField(null=True, blank=True)
    observed_at = models.DateTimeField(default=timezone.now)

    objects = RouteTransitionQuerySet.as_manager()

    class Meta:
        ordering = ["observed_at", "id"]
        indexes = [
            models.Index(fields=["route", "-observed_at"], name="network_routet_route_time"),
            models.Index(fields=["observed_at"], name="network_routet_time"),
        ]

    def __str__(self) -> str:
        return f"{self.route_id} {self.old_status}->{self.new_status}"


class Absent(models.Model):
    """A domain or route the console asked Kuscia about and Kuscia does not have (11305 /
    11404): left out of the per-cycle batch (one unknown key fails the whole batch) and asked
    again on the slow cycle. The console's own bookkeeping, not Kuscia data."""

    class Kind(models.TextChoices):
        DOMAIN = "domain", _("domain")
        ROUTE = "route", _("route")

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    source = models.CharField(max_length=63)  # the domain id, or the route's source
    destination = models.CharField(max_length=63, blank=True)
    checked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "kind", "source", "destination"], name="uniq_absent"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.source}{'->' + self.destination if self.destination else ''}"


class DataItem(models.Model):
    """One DomainData of a domain, as listed through a connection."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="data_items")
    domain_id = models.CharField(max_length=63)
    domaindata_id = models.CharField(max_length=253)
    name = models.CharField(max_length=255, blank=True)
    type = models.CharField(max_length=32, blank=True)
    relative_uri = models.TextField(blank=True)
    datasource_id = models.CharField(max_length=253, blank=True)
    vendor = models.CharField(max_length=64, blank=True)
    author = models.CharField(max_length=63, blank=True)
    file_format = models.CharField(max_length=16, blank=True)
    status = models.CharField(max_length=32, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    # [{"name", "type", "comment", "not_nullable"}]
    columns = models.JSONField(default=list, blank=True)
    column_count = models.PositiveIntegerField(default=0)
    digest = models.CharField(max_length=32, blank=True)  # of what is stored: unchanged = no write
    first_seen = models.DateTimeField(default=timezone.now)
    last_changed = models.DateTimeField(default=timezone.now)
    gone_at = models.DateTimeField(null=True, blank=True)

    objects = DataItemQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "domain_id", "domaindata_id"], name="uniq_data_item"
            )
        ]
        indexes = [
            # the /data/ list's keyset order, whole and per domain / per type
            models.Index(fields=["domain_id", "domaindata_id", "id"], name="network_data_order"),
            models.Index(fields=["type", "domain_id", "domaindata_id"], name="network_data_type"),
            models.Index(fields=["domaindata_id"], name="network_data_id"),
        ]

    def __str__(self) -> str:
        return f"{self.domain_id}/{self.domaindata_id}"


class DataSourceItem(models.Model):
    """A domain's data source: where its data lives (never credentials)."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="+")
    domain_id = models.CharField(max_length=63)
    datasource_id = models.CharField(max_length=253)
    name = models.CharField(max_length=255, blank=True)
    type = models.CharField(max_length=32, blank=True)
    location = models.TextField(blank=True)  # path, bucket/prefix, endpoint/database, ...
    access_directly = models.BooleanField(default=False)
    digest = models.CharField(max_length=32, blank=True)
    first_seen = models.DateTimeField(default=timezone.now)
    last_changed = models.DateTimeField(default=timezone.now)
    gone_at = models.DateTimeField(null=True, blank=True)

    objects = DataSourceItemQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "domain_id", "datasource_id"], name="uniq_data_source"
            )
        ]

    def __str__(self) -> str:
        return f"{self.domain_id}/{self.datasource_id}"


class GrantItem(models.Model):
    """A DomainDataGrant: a domain's data shared with another domain."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="+")
    domain_id = models.CharField(max_length=63)
    grant_id = models.CharField(max_length=253)
    domaindata_id = models.CharField(max_length=253)
    grant_domain = models.CharField(max_length=63)
    author = models.CharField(max_length=63, blank=True)
    phase = models.CharField(max_length=16, blank=True)
    message = models.TextField(blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    use_count = models.IntegerField(default=0)
    components = models.JSONField(default=list, blank=True)
    uses = models.PositiveIntegerField(default=0)  # use records Kuscia keeps
    digest = models.CharField(max_length=32, blank=True)
    first_seen = models.DateTimeField(default=timezone.now)
    last_changed = models.DateTimeField(default=timezone.now)
    gone_at = models.DateTimeField(null=True, blank=True)

    objects = GrantItemQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "domain_id", "grant_id"], name="uniq_grant"
            )
        ]
        indexes = [models.Index(fields=["domaindata_id"], name="network_grant_data")]

    def __str__(self) -> str:
        return f"{self.domain_id}/{self.grant_id}"


class DataUse(models.Model):
    """A task that reads (sf_input_ids) or writes (sf_output_ids) a domain data id, indexed
    from the tasks' input config by network.uses.index_data_uses."""

    class Direction(models.TextChoices):
        INPUT = "input", _("reads")
        OUTPUT = "output", _("writes")

    job = models.ForeignKey("jobs.Job", on_delete=models.CASCADE, related_name="+")
    task_id = models.CharField(max_length=63)
    domaindata_id = models.CharField(max_length=253)
    direction = models.CharField(max_length=8, choices=Direction.choices)
    parties = models.JSONField(default=list, blank=True)  # the task's party domains
    job_time = models.DateTimeField()  # the job's creation (or first seen): newest first

    objects = DataUseQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["job", "task_id", "domaindata_id", "direction"], name="uniq_data_use"
            )
        ]
        indexes = [
            models.Index(fields=["domaindata_id", "-job_time"], name="network_use_data_time")
        ]

    def __str__(self) -> str:
        return f"{self.task_id} {self.direction} {self.domaindata_id}"


class DataUseScan(models.Model):
    """Marks a job whose tasks' input configs have been indexed into DataUse."""

    job = models.OneToOneField("jobs.Job", on_delete=models.CASCADE, primary_key=True)
    scanned_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"uses of job {self.job_id} indexed"
