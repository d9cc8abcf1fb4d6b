"""Typed values exchanged with Kuscia (see ../shared/kuscia-api.md §5).

These are the only shapes the rest of the console sees; the client parses Kuscia's JSON into
them and builds request JSON from them. Timestamps are aware datetimes (UTC) or None where
Kuscia sends "". Field names follow Kuscia's snake_case names.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

JSON = dict[str, Any]

# State strings as Kuscia sends them (§8).
PENDING = "Pending"
RUNNING = "Running"
SUCCEEDED = "Succeeded"
FAILED = "Failed"
AWAITING_APPROVAL = "AwaitingApproval"
APPROVAL_REJECT = "ApprovalReject"
CANCELLED = "Cancelled"
SUSPENDED = "Suspended"
UNKNOWN = "Unknown"

JOB_STATES = (
    PENDING,
    RUNNING,
    SUCCEEDED,
    FAILED,
    AWAITING_APPROVAL,
    APPROVAL_REJECT,
    CANCELLED,
    SUSPENDED,
    UNKNOWN,
)
TASK_STATES = (PENDING, RUNNING, SUCCEEDED, FAILED, UNKNOWN)
# Never change again on their own (Failed and Suspended can be restarted by an operator).
TERMINAL_JOB_STATES = frozenset({SUCCEEDED, APPROVAL_REJECT, CANCELLED, FAILED})
RESTARTABLE_JOB_STATES = frozenset({FAILED, SUSPENDED})
ACTIVE_JOB_STATES = frozenset({PENDING, RUNNING, AWAITING_APPROVAL, UNKNOWN})


class EventType(enum.IntEnum):
    """Watch event types; the stream sends numbers and omits ADDED (0)."""

    ADDED = 0
    MODIFIED = 1
    DELETED = 2
    ERROR = 3
    HEARTBEAT = 4


class ApproveResult(enum.IntEnum):
    UNKNOWN = 0
    ACCEPT = 1
    REJECT = 2


# ---------------------------------------------------------------- status (read side)


@dataclass(frozen=True)
class Endpoint:
    port_name: str
    scope: str  # "Cluster" or "Domain"
    endpoint: str


@dataclass(frozen=True)
class PartyStatus:
    domain_id: str
    state: str
    err_msg: str = ""
    endpoints: tuple[Endpoint, ...] = ()


@dataclass(frozen=True)
class TaskStatus:
    task_id: str
    state: str
    alias: str = ""
    err_msg: str = ""
    create_time: datetime | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    progress: float = 0.0
    parties: tuple[PartyStatus, ...] = ()


@dataclass(frozen=True)
class PartyStageStatus:
    """One entry of stage_status_list or approve_status_list."""

    domain_id: str
    state: str


@dataclass(frozen=True)
class JobStatusDetail:
    state: str
    err_msg: str = ""
    create_time: datetime | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    tasks: tuple[TaskStatus, ...] = ()
    stage_status_list: tuple[PartyStageStatus, ...] = ()
    approve_status_list: tuple[PartyStageStatus, ...] = ()


@dataclass(frozen=True)
class JobStatus:
    """One element of batchQuery's data.jobs, or the object of a watch event."""

    job_id: str
    status: JobStatusDetail
    raw: JSON = field(default_factory=dict, compare=False, repr=False)


# ---------------------------------------------------------------- spec (write side and QueryJob)


@dataclass(frozen=True)
class JobResource:
    cpu: str = ""
    memory: str = ""
    bandwidth: str = ""


@dataclass(frozen=True)
class BandwidthLimit:
    destination_id: str
    limit_kbps: int


@dataclass(frozen=True)
class Party:
    domain_id: str
    role: str = ""
    resources: JobResource | None = None
    bandwidth_limits: tuple[BandwidthLimit, ...] = ()


@dataclass(frozen=True)
class ScheduleConfig:
    task_timeout_seconds: int = 0
    resource_reserved_seconds: int = 0
    resource_reallocation_interval_seconds: int = 0


@dataclass(frozen=True)
class TaskSpec:
    """A task of CreateJobRequest, or a TaskConfig of QueryJob (which has no `tolerable`)."""

    alias: str
    task_id: str
    app_image: str
    parties: tuple[Party, ...]
    dependencies: tuple[str, ...] = ()
    task_input_config: str = ""
    priority: int = 0
    schedule_config: ScheduleConfig | None = None
    tolerable: bool | None = None  # None: unknown (QueryJob never returns it)


@dataclass(frozen=True)
class JobSpec:
    """CreateJobRequest."""

    job_id: str
    initiator: str
    max_parallelism: int
    tasks: tuple[TaskSpec, ...]
    custom_fields: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class JobDetail:
    """QueryJob's data: the spec as Kuscia stored it plus the current status."""

    job_id: str
    initiator: str
    max_parallelism: int
    tasks: tuple[TaskSpec, ...]
    status: JobStatusDetail
    custom_fields: dict[str, str] = field(default_factory=dict)
    raw: JSON = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class WatchEvent:
    type: EventType
    job: JobStatus | None  # None for HEARTBEAT
    raw: JSON = field(default_factory=dict, compare=False, repr=False)


# ---------------------------------------------------------------- domains (network notes §1)
#
# Secrets in Kuscia's replies never reach these types: deploy tokens, route private keys and
# data-source passwords/keys are dropped by the parsers (wire_network.py). Certificates are
# public material but only their expiry is kept.

NODE_READY = "Ready"
NODE_NOT_READY = "NotReady"
ROUTE_SUCCEEDED = "Succeeded"
ROUTE_FAILED = "Failed"
ROLE_PARTNER = "partner"


@dataclass(frozen=True)
class NodeStatus:
    """One Kuscia agent (a Kubernetes node) of a domain: status Ready, NotReady or ""."""

    name: str
    status: str
    version: str = ""
    last_heartbeat_time: datetime | None = None
    last_transition_time: datetime | None = None


@dataclass(frozen=True)
class DeployTokenStatus:
    """A lite deploy token's state ("used" / "unused"); the token itself is dropped."""

    state: str
    last_transition_time: datetime | None = None


@dataclass(frozen=True)
class AuthCenter:
    authentication_type: str = ""
    token_gen_method: str = ""


@dataclass(frozen=True)
class CertInfo:
    """What the console keeps of a public certificate: whether one was given and its expiry."""

    present: bool = False
    not_after: datetime | None = None  # None with present=True: not readable as X.509
    subject: str = ""


@dataclass(frozen=True)
class Domain:
    """domain/query (all fields) or one element of domain/batchQuery (domain_id, role, cert,
    node_statuses only: the others stay empty)."""

    domain_id: str
    role: str = ""  # "" = a domain of this cluster, "partner" = a remote party
    cert: CertInfo = field(default_factory=CertInfo)
    node_statuses: tuple[NodeStatus, ...] = ()  # sorted by name (Kuscia's order is unstable)
    deploy_token_statuses: tuple[DeployTokenStatus, ...] = ()
    annotations: dict[str, str] = field(default_factory=dict)
    auth_center: AuthCenter | None = None
    master_domain_id: str = ""


# ---------------------------------------------------------------- routes (§2)


@dataclass(frozen=True)
class RouteReason:
    """Kuscia's route reason text ("LastUpdateAt=..., Message=..., Reason:...") taken apart;
    fields stay empty when the text has another shape."""

    updated_at: datetime | None = None
    message: str = ""
    reason: str = ""


@dataclass(frozen=True)
class RouteStatus:
    source: str
    destination: str
    status: str  # Succeeded or Failed (a route with no Ready condition yet is Failed too)
    reason: str = ""
    name: str = ""
    raw: JSON = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class RoutePort:
    name: str = ""
    port: int = 0
    protocol: str = ""  # HTTP or GRPC
    is_tls: bool = False
    path_prefix: str = ""


@dataclass(frozen=True)
class RouteEndpoint:
    host: str = ""
    ports: tuple[RoutePort, ...] = ()


@dataclass(frozen=True)
class RouteTokenConfig:
    """Token authentication settings; the public keys are only noted as given."""

    token_gen_method: str = ""
    rolling_update_period: int = 0
    source_public_key: bool = False
    destination_public_key: bool = False


@dataclass(frozen=True)
class RouteMTLSConfig:
    """mTLS settings: the CA and client certificate's expiry; the private key is dropped."""

    tls_ca: CertInfo = field(default_factory=CertInfo)
    source_client_cert: CertInfo = field(default_factory=CertInfo)
    source_client_private_key: bool = False  # given (never kept)


@dataclass(frozen=True)
class RouteTransit:
    transit_method: str = ""
    domain_id: str = ""


@dataclass(frozen=True)
class RouteDetail:
    """route/query's data."""

    source: str
    destination: str
    name: str = ""
    authentication_type: str = ""
    endpoint: RouteEndpoint = field(default_factory=RouteEndpoint)
    token_config: RouteTokenConfig | None = None
    mtls_config: RouteMTLSConfig | None = None
    transit: RouteTransit | None = None
    body_encryption: str = ""  # algorithm
    status: str = ""
    reason: str = ""


# ---------------------------------------------------------------- domain data (§3)


@dataclass(frozen=True)
class DataColumn:
    name: str
    type: str = ""
    comment: str = ""
    not_nullable: bool = False


@dataclass(frozen=True)
class DomainData:
    domaindata_id: str
    domain_id: str
    name: str = ""
    type: str = ""
    relative_uri: str = ""
    datasource_id: str = ""
    vendor: str = ""
    attributes: dict[str, str] = field(default_factory=dict)
    columns: tuple[DataColumn, ...] = ()
    status: str = ""
    author: str = ""
    file_format: str = ""  # UNKNOWN, CSV or BINARY
    raw: JSON = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class DomainDataSpec:
    """domaindata/create and /update. Empty fields are left out of the request (Kuscia fills
    defaults on create and keeps the stored values on update)."""

    domain_id: str
    relative_uri: str = ""
    type: str = ""
    domaindata_id: str = ""
    name: str = ""
    datasource_id: str = ""
    attributes: dict[str, str] = field(default_factory=dict)
    columns: tuple[DataColumn, ...] = ()
    vendor: str = ""
    file_format: str = ""


# ---------------------------------------------------------------- data sources (§4)


@dataclass(frozen=True)
class DataSourceInfo:
    """Where a data source points, without credentials (access keys, users and passwords are
    dropped): localfs path; oss endpoint/bucket/prefix; database endpoint/database; odps
    endpoint/project."""

    kind: str = ""  # localfs, oss, database, odps ("" when Kuscia sent no info: the master)
    path: str = ""
    endpoint: str = ""
    bucket: str = ""
    prefix: str = ""
    database: str = ""
    project: str = ""
    storage_type: str = ""


@dataclass(frozen=True)
class DomainDataSource:
    domain_id: str
    datasource_id: str
    name: str = ""
    type: str = ""
    status: str = ""
    info: DataSourceInfo | None = None
    info_key: str = ""
    access_directly: bool = False


# ---------------------------------------------------------------- grants (§5)


@dataclass(frozen=True)
class GrantLimit:
    expiration_time: datetime | None = None  # Kuscia sends nanoseconds; 0 = no expiry
    use_count: int = 0
    flow_id: str = ""
    components: tuple[str, ...] = ()
    initiator: str = ""
    input_config: str = ""


@dataclass(frozen=True)
class GrantUseRecord:
    use_time: datetime | None = None
    grant_domain: str = ""
    component: str = ""
    output: str = ""


@dataclass(frozen=True)
class DomainDataGrant:
    domaindatagrant_id: str
    domaindata_id: str = ""
    grant_domain: str = ""
    author: str = ""
    domain_id: str = ""
    limit: GrantLimit | None = None
    description: dict[str, str] = field(default_factory=dict)
    phase: str = ""  # Ready, Unavailable, Unknown
    message: str = ""
    records: tuple[GrantUseRecord, ...] = ()


@dataclass(frozen=True)
class DomainDataGrantSpec:
    """domaindatagrant/create."""

    domain_id: str
    domaindata_id: str
    grant_domain: str
    domaindatagrant_id: str = ""
    expiration_time: datetime | None = None
    use_count: int = 0
    components: tuple[str, ...] = ()
    flow_id: str = ""
    description: dict[str, str] = field(default_factory=dict)
