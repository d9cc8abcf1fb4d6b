"""Jobs as the simulator keeps them, and how a job is rendered in KusciaAPI's unary dialect.

The dataclasses hold a job's spec and its runs; JobRendering turns them into JobStatus /
QueryJobResponse data (kuscia-api.md §7-§9), including Kuscia's map-order noise (shuffle).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from .base import JSON
from .clock import rfc3339
from .core import WorldCore
from .faults import FailPlan

# SecretFlow's AppImage ports (scripts/templates/app_image.secretflow.yaml): name, scope.
APP_PORTS = (("spu", "Cluster"), ("fed", "Cluster"), ("global", "Domain"), ("inference", "Cluster"))
GLOBAL_PORT = 8081

API_JOB_STATE = {
    "": "Pending",
    "Pending": "Pending",
    "Running": "Running",
    "Succeeded": "Succeeded",
    "Failed": "Failed",
    "AwaitingApproval": "AwaitingApproval",
    "ApprovalReject": "ApprovalReject",
    "Cancelled": "Cancelled",
    "Suspended": "Suspended",
}


# ---------------------------------------------------------------- jobs


@dataclass
class TaskSpec:
    alias: str
    task_id: str
    app_image: str
    parties: list[JSON]  # decoded Party messages (domain_id, role, resources, bandwidth_limits)
    dependencies: list[str]
    task_input_config: str
    priority: int
    schedule_config: JSON | None
    tolerable: bool


@dataclass
class PartyRun:
    domain_id: str
    role: str
    state: str = "Running"
    err_msg: str = ""
    endpoints: list[tuple[str, str, str]] = field(default_factory=list)


@dataclass
class TaskRun:
    task_id: str
    alias: str
    phase: str = "Pending"
    err_msg: str = ""
    create_time: float | None = None
    start_time: float | None = None
    end_time: float | None = None
    progress: float = 0.0
    parties: list[PartyRun] = field(default_factory=list)
    log_lines: dict[str, list[bytes]] = field(default_factory=dict)  # per party: its pod log
    # replicas 1, 2, ... of a party (custom field sim-replicas): (party, replica) -> pod log
    replica_lines: dict[tuple[str, int], list[bytes]] = field(default_factory=dict)
    # a line written in two writes (custom field sim-split-line): per party, the bytes of the
    # pod log's unfinished last line (no "\n" yet) and the rest, written at the next write
    partial: dict[str, tuple[bytes, bytes]] = field(default_factory=dict)
    split: set[str] = field(default_factory=set)  # parties whose line was split already


@dataclass
class Job:
    job_id: str
    initiator: str
    max_parallelism: int
    tasks: list[TaskSpec]
    custom_fields: dict[str, str]
    create_time: float
    phase: str = ""
    message: str = ""
    start_time: float | None = None
    end_time: float | None = None
    stage: dict[str, str] = field(default_factory=dict)
    approve: dict[str, str] = field(default_factory=dict)
    runs: dict[str, TaskRun] = field(default_factory=dict)  # by alias, only created tasks
    gen: int = 0  # a fresh world-wide number invalidates scheduled actions (stop, delete, ...)
    attempt: int = 1
    validate_failed: bool = False
    approval_required: bool = False
    task_seconds: float | None = None
    fail_plans: list[FailPlan] = field(default_factory=list)
    stage_label: str = ""

    replicas: int = 1  # pods per party of each task (custom field sim-replicas)
    log_kb: int = 0  # extra log lines per party and replica, KB (custom field sim-log-kb)
    # sim-split-line N: each party's first progress line at N % or later in two writes
    split_line: int = 0

    def parties(self) -> list[str]:
        seen: list[str] = []
        for t in self.tasks:
            for p in t.parties:
                if p["domain_id"] not in seen:
                    seen.append(p["domain_id"])
        return seen

    def api_state(self) -> str:
        return API_JOB_STATE.get(self.phase, "Unknown")


class JobRendering(WorldCore):
    """Job status and detail as KusciaAPI answers them."""

    def job_status(self, job: Job) -> JSON:
        """JobStatus {job_id, status} with every field present (unary dialect)."""
        return {"job_id": job.job_id, "status": self._status_detail(job)}

    def _status_detail(self, job: Job) -> JSON:
        tasks: list[JSON] = []
        for spec in job.tasks:
            run = job.runs.get(spec.alias)
            if run is None:
                tasks.append(
                    {
                        "task_id": spec.task_id,
                        "state": "Pending",
                        "err_msg": "",
                        "create_time": "",
                        "start_time": "",
                        "end_time": "",
                        "parties": [],
                        "alias": spec.alias,
                        "progress": 0,
                    }
                )
                continue
            tasks.append(
                {
                    "task_id": run.task_id,
                    "state": run.phase,
                    "err_msg": run.err_msg,
                    "create_time": rfc3339(run.create_time),
                    "start_time": rfc3339(run.start_time),
                    "end_time": rfc3339(run.end_time),
                    "parties": [
                        {
                            "domain_id": p.domain_id,
                            "state": p.state,
                            "err_msg": p.err_msg,
                            "endpoints": [
                                {"port_name": n, "scope": s, "endpoint": e}
                                for n, s, e in p.endpoints
                            ],
                        }
                        for p in self._visible(run.parties)
                    ],
                    "alias": run.alias,
                    "progress": _number(run.progress),
                }
            )
        err = job.message
        if not err and job.phase == "Failed":
            parts = []
            for spec in job.tasks:
                run = job.runs.get(spec.alias)
                if run is None or run.phase != "Failed":
                    continue
                for p in self._visible(run.parties):
                    if p.state == "Failed" and p.err_msg:
                        parts.append(f"Task[{spec.alias}]-Party[{p.domain_id}]: {p.err_msg}")
            err = "; ".join(parts)
        stage = [{"domain_id": d, "state": st} for d, st in job.stage.items()]
        approve = [{"domain_id": d, "state": st} for d, st in job.approve.items()]
        if self.shuffle:
            self._rng.shuffle(stage)
            self._rng.shuffle(approve)
            for t in tasks:
                self._rng.shuffle(t["parties"])
                for p in t["parties"]:
                    self._rng.shuffle(p["endpoints"])
        return {
            "state": job.api_state(),
            "err_msg": err,
            "create_time": rfc3339(job.create_time),
            "start_time": rfc3339(job.start_time),
            "end_time": rfc3339(job.end_time),
            "tasks": tasks,
            "stage_status_list": stage,
            "approve_status_list": approve,
        }

    def _visible(self, parties: list[PartyRun]) -> list[PartyRun]:
        """P2P nodes only see their own pods; a master sees every party."""
        if not self.local_domain:
            return parties
        return [p for p in parties if p.domain_id == self.local_domain]

    def job_detail(self, job: Job) -> JSON:
        return {
            "job_id": job.job_id,
            "initiator": job.initiator,
            "max_parallelism": job.max_parallelism,
            "tasks": [
                {
                    "app_image": t.app_image,
                    "parties": [
                        {
                            "domain_id": p["domain_id"],
                            "role": p["role"],
                            "resources": None,
                            "bandwidth_limits": [
                                {
                                    "destination_id": b["destination_id"],
                                    "limit_kbps": str(b["limit_kbps"]),
                                }
                                for b in p["bandwidth_limits"]
                            ],
                        }
                        for p in t.parties
                    ],
                    "alias": t.alias,
                    "task_id": t.task_id,
                    "dependencies": list(t.dependencies),
                    "task_input_config": t.task_input_config,
                    "priority": t.priority,
                    "schedule_config": dict(t.schedule_config) if t.schedule_config else None,
                }
                for t in job.tasks
            ],
            "status": self._status_detail(job),
            "custom_fields": dict(job.custom_fields),
        }


def _number(x: float) -> float | int:
    """protojson writes a float without a fraction as an integer (1, not 1.0)."""
    return int(x) if x == int(x) else x


def _schedule_config(sc: JSON | None) -> JSON | None:
    if sc is None:
        return None
    return {
        "task_timeout_seconds": sc["task_timeout_seconds"]
        if sc["task_timeout_seconds"] > 0
        else 300,
        "resource_reserved_seconds": (
            sc["resource_reserved_seconds"] if sc["resource_reserved_seconds"] > 0 else 30
        ),
        "resource_reallocation_interval_seconds": (
            sc["resource_reallocation_interval_seconds"]
            if sc["resource_reallocation_interval_seconds"] > 0
            else 30
        ),
    }


def service_name(pod: str, port_name: str) -> str:
    """Kuscia's service naming: `<pod>-<port>`, `svc-` prefix on a leading digit, hashed if long."""
    name = f"{pod}-{port_name}"
    if name[0].isdigit():
        name = "svc-" + name
    if len(name) > 63:
        digest = hashlib.sha256(name.encode()).hexdigest()[:16]
        keep = 63 - len("svc-") - len(digest) - len(port_name) - 2
        name = f"svc-{pod[:keep].rstrip('-.')}-{digest}-{port_name}"
    return name


def endpoints_for(task_id: str, domain_id: str, role: str) -> list[tuple[str, str, str]]:
    pod = f"{task_id}-{role}-0" if role else f"{task_id}-0"
    out = []
    for port_name, scope in APP_PORTS:
        host = f"{service_name(pod, port_name)}.{domain_id}.svc"
        if scope == "Domain":
            host += f":{GLOBAL_PORT}"
        out.append((port_name, scope, host))
    return out
