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


# ---------------------------------------------------------------- domains and data


@dataclass(frozen=True)
class NodeStatus:
    name: str
    status: str
    version: str = ""
    last_heartbeat_time: datetime | None = None
    last_transition_time: datetime | None = None


@dataclass(frozen=True)
class Domain:
    domain_id: str
    role: str = ""
    node_statuses: tuple[NodeStatus, ...] = ()
    raw: JSON = field(default_factory=dict, compare=False, repr=False)


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
    columns: tuple[JSON, ...] = ()
    raw: JSON = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class RouteStatus:
    source: str
    destination: str
    status: str
    reason: str = ""
    raw: JSON = field(default_factory=dict, compare=False, repr=False)
