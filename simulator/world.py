"""The simulated Kuscia cluster: domains, domain data, routes and jobs with their controllers.

Everything a route answers comes from here. Time comes from a clock; simulated durations are
divided by `speed`. State changes are scheduled actions on a heap, processed in time order by
`tick()` (called by the background ticker, before every request, and by `advance()` with a
manual clock), so timestamps are exact even when ticks are late.

Job/task/party semantics follow kuscia-api.md §7-§9 for a centralized master (every party is
local, no approval unless asked for). Failing on demand (custom_fields, label-safe values):

  sim-fail-task:    alias of the task that fails
  sim-fail-party:   domain that fails it (default: the task's last party)
  sim-fail-reason:  one of FAILURE_REASONS (default "exit-code")
  sim-fail-times:   how many attempts fail (default: every attempt; "1" = fails once, a
                    restart then succeeds)
  sim-task-seconds: simulated run time of every task (default 10-30 s, derived from the id)
  sim-approval:     "required" puts the job in AwaitingApproval until /job/approve
"""

from __future__ import annotations

import copy
import hashlib
import heapq
import itertools
import queue
import random
import re
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .clock import Clock, RealClock, rfc3339
from .codec import CREATE_JOB, DecodeError, decode_message

JSON = dict[str, Any]

# Error codes (kuscia-api.md §4.2)
OK = 0
ERR_VALIDATE = 11100
ERR_UNEXPECTED = 11101
ERR_MASTER_NOT_SUPPORT = 11105
ERR_CREATE_JOB = 11201
ERR_QUERY_JOB = 11202
ERR_QUERY_JOB_STATUS = 11203
ERR_DELETE_JOB = 11204
ERR_STOP_JOB = 11205
ERR_APPROVE_JOB = 11206
ERR_SUSPEND_JOB = 11207
ERR_RESTART_JOB = 11208
ERR_CANCEL_JOB = 11209
ERR_SUSPEND_NOT_RUNNING = 11210
ERR_RESTART_NOT_SUSPENDED_OR_FAILED = 11211
ERR_DOMAIN_NOT_EXISTS = 11305
ERR_ROUTE_NOT_EXISTS = 11404
ERR_DOMAINDATA_NOT_EXISTS = 11506
ERR_QUERY_LOG = 13200
ERR_QUERY_POD_NODE = 13201

# Kuscia checks these with Go regexps, where "$" is the end of the text: fullmatch here
# ("$" in Python also matches before a final newline) and ASCII digits only.
JOB_ID_REGEX = "^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$"
_JOB_ID_RE = re.compile(JOB_ID_REGEX)
_TASK_ID_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_LABEL_NAME_RE = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_QUANTITY_RE = re.compile(
    r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+|[KMGTPE]i|[numkMGTPE])?$", re.ASCII
)
CUSTOM_FIELD_LABEL_PREFIX = "kuscia.job.custom-fields/"

# SecretFlow's AppImage ports (scripts/templates/app_image.secretflow.yaml): name, scope.
APP_PORTS = (("spu", "Cluster"), ("fed", "Cluster"), ("global", "Domain"), ("inference", "Cluster"))
GLOBAL_PORT = 8081
FAIL_AT = 0.6  # a failing task fails after this fraction of its run time
KUSCIA_VERSION = "v1.1.0b0"

FAILURE_REASONS: dict[str, str] = {
    "exit-code": (
        'container[secretflow] terminated state reason "Error", message: "RuntimeError: '
        "{alias} failed on {party}: key column 'id2' not found in input table {party}-table\n\""
    ),
    "oom": 'container[secretflow] terminated state reason "OOMKilled", message: ""',
    "image-pull": (
        'container[secretflow] waiting state reason "ErrImagePull", message: "rpc error: code = '
        "NotFound desc = failed to pull and unpack image "
        '\\"secretflow/secretflow-lite-anolis8:1.11.0b1\\": not found"'
    ),
    "network": (
        'container[secretflow] terminated state reason "Error", message: "RuntimeError: brpc '
        "link of {party} could not connect to peer {peer} after 60 retries: [E111]Connection "
        'refused\n"'
    ),
}

# Job phases (stored) and what the API reports for them (§8.1).
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


class APIError(Exception):
    """A service-level error: HTTP 200 with status.code/message and data null."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def job_not_found(job_id: str) -> str:
    return f'kusciakuscia.secretflow "{job_id}" not found'


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
    log_lines: list[str] = field(default_factory=list)


@dataclass
class FailPlan:
    alias: str
    party: str | None
    message: str
    times: int | None  # None: every attempt


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

    def parties(self) -> list[str]:
        seen: list[str] = []
        for t in self.tasks:
            for p in t.parties:
                if p["domain_id"] not in seen:
                    seen.append(p["domain_id"])
        return seen

    def api_state(self) -> str:
        return API_JOB_STATE.get(self.phase, "Unknown")


@dataclass
class Faults:
    """Fault injection for the transport (applied to token-protected routes)."""

    latency: float = 0.0  # seconds added before every answer
    error_rate: float = 0.0  # fraction answered with HTTP 503
    drop_rate: float = 0.0  # fraction where the connection is closed without an answer
    malformed_rate: float = 0.0  # fraction answered 200 with a truncated JSON body
    stream_cut_after: float = 0.0  # >0: watch streams are dropped (no final chunk) after s
    seed: int | None = None
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def __post_init__(self) -> None:
        if self.seed is not None:
            self.rng.seed(self.seed)

    def pick(self) -> str | None:
        """Which fault, if any, hits the next request: 'drop', 'error', 'malformed' or None."""
        r = self.rng.random()
        for kind, rate in (
            ("drop", self.drop_rate),
            ("error", self.error_rate),
            ("malformed", self.malformed_rate),
        ):
            if r < rate:
                return kind
            r -= rate
        return None


@dataclass(order=True)
class _Action:
    at: float
    seq: int
    kind: str = field(compare=False)
    job_id: str = field(compare=False)
    gen: int = field(compare=False)
    alias: str = field(compare=False, default="")
    step: int = field(compare=False, default=0)


class Subscription:
    """A watch subscriber: the initial burst plus a queue of later events."""

    def __init__(self, world: World, initial: list[tuple[int, JSON]]) -> None:
        self.world = world
        self.initial = initial
        self.queue: queue.Queue[tuple[int, JSON]] = queue.Queue()

    def close(self) -> None:
        self.world._unsubscribe(self)


# ---------------------------------------------------------------- seed data


def _domaindata(
    did: str, domain: str, uri: str, columns: list[tuple[str, str]], description: str
) -> JSON:
    return {
        "domaindata_id": did,
        "name": uri,
        "type": "table",
        "relative_uri": uri,
        "domain_id": domain,
        "datasource_id": "default-data-source",
        "attributes": {"description": description},
        "partition": None,
        "columns": [
            {"name": n, "type": t, "comment": "", "not_nullable": False} for n, t in columns
        ],
        "vendor": "manual",
        "status": "Available",
        "author": domain,
        "file_format": "CSV",
    }


SEED_DOMAINS = ("alice", "bob", "carol")


def seed_domaindata() -> list[JSON]:
    return [
        _domaindata(
            "alice-table",
            "alice",
            "alice.csv",
            [("id1", "str"), ("age", "float"), ("education", "str"), ("default", "str")],
            "alice demo data",
        ),
        _domaindata(
            "bob-table",
            "bob",
            "bob.csv",
            [("id2", "str"), ("contact", "str"), ("duration", "float"), ("y", "float")],
            "bob demo data",
        ),
        _domaindata(
            "carol-table",
            "carol",
            "carol.csv",
            [("id3", "str"), ("balance", "float"), ("housing", "str")],
            "carol demo data",
        ),
    ]


# ---------------------------------------------------------------- the world


class World:
    """Thread-safe simulated cluster. All public methods take the lock."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        speed: float = 1.0,
        domain_cert_pem: str = "",
        log_mode: str | None = None,
        shuffle: bool = False,
        mode: str = "master",
        local_domain: str = "alice",
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0")
        if mode not in ("master", "autonomy"):
            raise ValueError("mode must be 'master' or 'autonomy'")
        # master: a centralized master (every party local, no approval, trigger "").
        # autonomy: one P2P node of `local_domain` (kuscia-api.md §11.2): initiator must be the
        # local domain, jobs pass AwaitingApproval, task parties list only the local domain,
        # any failed task fails the job, only local domain data, other domains are partners.
        self.mode = mode
        self.local_domain = local_domain if mode == "autonomy" else ""
        self.clock: Clock = clock or RealClock()
        self.speed = speed
        self.lock = threading.RLock()
        self.jobs: dict[str, Job] = {}
        self.domains: dict[str, JSON] = {}
        self.domaindata: list[JSON] = seed_domaindata()
        self.app_images = {"secretflow-image"}
        self.routes: dict[tuple[str, str], tuple[str, str]] = {}  # -> (status, reason)
        self.faults = Faults()
        # "master": 11105 like a real master (the default for mode master); "lite": logs served
        # (an autonomy node's default; a master-mode world with it stands in for a lite node)
        self.log_mode = log_mode or ("master" if mode == "master" else "lite")
        self.domain_cert_pem = domain_cert_pem
        # Kuscia builds stage/approve lists, parties and endpoints from Go maps: their order is
        # random per answer. shuffle=True reproduces that; False keeps spec order for tests.
        self.shuffle = shuffle
        self._rng = random.Random()  # noqa: S311 - ordering noise, not security
        self.started_at = self.clock.now()
        self._heap: list[_Action] = []
        self._seq = itertools.count()
        self._subs: list[Subscription] = []
        self._listeners: list[Callable[[], None]] = []
        for d in SEED_DOMAINS:
            self.add_domain(d)

    # ------------------------------------------------------------ small helpers

    def now(self) -> float:
        return self.clock.now()

    def scaled(self, sim_seconds: float) -> float:
        return sim_seconds / self.speed

    def add_domain(self, domain_id: str) -> None:
        with self.lock:
            t = rfc3339(self.started_at)
            partner = self.mode == "autonomy" and domain_id != self.local_domain
            self.domains[domain_id] = {
                "domain_id": domain_id,
                "role": "partner" if partner else "",
                "node_statuses": []
                if partner
                else [
                    {
                        "name": f"kuscia-{'autonomy' if self.mode == 'autonomy' else 'lite'}-"
                        f"{domain_id}",
                        "status": "Ready",
                        "version": KUSCIA_VERSION,
                        "last_heartbeat_time": t,
                        "last_transition_time": t,
                    }
                ],
            }
            for other in list(self.domains):
                if other != domain_id:
                    self.routes.setdefault((domain_id, other), ("Succeeded", ""))
                    self.routes.setdefault((other, domain_id), ("Succeeded", ""))

    def set_route_status(
        self, source: str, destination: str, status: str, reason: str = ""
    ) -> None:
        """Route `source`->`destination` reports `status` ("Succeeded"/"Failed") and `reason`."""
        with self.lock:
            self.routes[(source, destination)] = (status, reason)

    def set_node_status(self, domain_id: str, status: str) -> None:
        """The domain's node reports `status` ("Ready"/"NotReady") from now on."""
        with self.lock:
            now = rfc3339(self.now())
            for node in self.domains[domain_id]["node_statuses"]:
                if node["status"] != status:
                    node["last_transition_time"] = now
                node["status"] = status
                if status == "Ready":
                    node["last_heartbeat_time"] = now

    def set_route_ready(self, source: str, destination: str, ready: bool) -> None:
        self.set_route_status(source, destination, "Succeeded" if ready else "Failed")

    def set_faults(self, **kwargs: Any) -> Faults:
        with self.lock:
            self.faults = Faults(**kwargs)
            return self.faults

    def add_listener(self, fn: Callable[[], None]) -> None:
        self._listeners.append(fn)

    def advance(self, seconds: float) -> None:
        """Move a ManualClock forward and process everything that became due."""
        advance = getattr(self.clock, "advance", None)
        if advance is None:
            raise TypeError("advance() needs a ManualClock")
        advance(seconds)
        self.tick()

    def run_until_idle(self, limit: float = 3600.0) -> None:
        """Manual clock: advance until no action is pending (or `limit` seconds passed)."""
        spent = 0.0
        while True:
            with self.lock:
                if not self._heap:
                    return
                nxt = min(a.at for a in self._heap)
            step = max(nxt - self.now(), 0.0)
            if spent + step > limit:
                return
            self.advance(step)
            spent += step

    def _schedule(
        self, job: Job, delay_sim: float, kind: str, alias: str = "", step: int = 0, *, at: float
    ) -> None:
        heapq.heappush(
            self._heap,
            _Action(
                at + self.scaled(delay_sim), next(self._seq), kind, job.job_id, job.gen, alias, step
            ),
        )

    # ------------------------------------------------------------ events

    def subscribe(self) -> Subscription:
        """Register a watcher; atomically take an ADDED snapshot of every existing job."""
        with self.lock:
            self._tick_locked()
            initial = [(0, self.job_status(j)) for j in self._ordered_jobs()]
            sub = Subscription(self, initial)
            self._subs.append(sub)
            return sub

    def _unsubscribe(self, sub: Subscription) -> None:
        with self.lock:
            if sub in self._subs:
                self._subs.remove(sub)

    def _publish(self, etype: int, job: Job) -> None:
        status = self.job_status(job)
        for sub in self._subs:
            sub.queue.put((etype, status))

    def _ordered_jobs(self) -> list[Job]:
        """The order of a Kubernetes list (the watch's initial burst): by object name."""
        return sorted(self.jobs.values(), key=lambda j: j.job_id)

    # ------------------------------------------------------------ ticking

    def tick(self) -> None:
        with self.lock:
            self._tick_locked()

    def _tick_locked(self) -> None:
        now = self.now()
        while self._heap and self._heap[0].at <= now:
            action = heapq.heappop(self._heap)
            job = self.jobs.get(action.job_id)
            if job is None or job.gen != action.gen:
                continue
            self._apply(job, action)

    def _apply(self, job: Job, a: _Action) -> None:
        at = a.at
        if a.kind == "validate":
            self._validate(job, at)
        elif a.kind == "start":
            if job.phase == "Pending":
                job.phase = "Running"
                self._publish(1, job)
                self._reconcile(job, at)
        elif a.kind == "restarted":
            for d in job.parties():
                job.stage[d] = "JobStartStageSucceeded"
            self._publish(1, job)
            self._reconcile(job, at)
        elif a.kind == "auto_approve":
            if job.phase == "AwaitingApproval":
                for d in job.parties():
                    job.approve[d] = "JobAccepted"
                job.phase = "Pending"
                self._publish(1, job)
                self._schedule(job, 1.0, "start", at=at)
        elif a.kind == "task_start":
            self._task_start(job, a.alias, at)
        elif a.kind == "task_progress":
            run = job.runs.get(a.alias)
            if run and run.phase == "Running":
                run.progress = a.step / 100
                run.log_lines.extend(self._log_chunk(job, run, a.step, at))
                self._publish(1, job)
        elif a.kind == "task_end":
            self._task_end(job, a.alias, at)

    # ------------------------------------------------------------ controller

    def _validate(self, job: Job, at: float) -> None:
        job.start_time = at
        aliases = {t.alias for t in job.tasks}
        ok = job.initiator in self.domains and bool(job.tasks)
        ok = ok and all(d in aliases for t in job.tasks for d in t.dependencies)
        ok = ok and not self._has_cycle(job)
        if not ok:
            job.validate_failed = True
            job.phase = "Failed"
            job.end_time = at
            self._publish(1, job)
            return
        missing = [d for d in job.parties() if d not in self.domains]
        if missing:
            for d in job.parties():
                job.stage[d] = "JobCreateStageFailed" if d in missing else "JobCreateStageSucceeded"
            job.phase = "Failed"
            job.end_time = at
            self._publish(1, job)
            return
        for spec in job.tasks:  # the controller names tasks that came without an id
            if not spec.task_id:
                spec.task_id = f"{job.job_id}-{uuid.uuid4().hex[-12:]}"
        for d in job.parties():
            job.stage[d] = "JobCreateStageSucceeded"
        partners = [d for d in job.parties() if d != job.initiator]
        if job.approval_required or (self.mode == "autonomy" and partners):
            # inter-connection jobs always pass AwaitingApproval; the initiator's own parties
            # are accepted at once, partners (enableWorkloadApprove: false) a moment later
            job.phase = "AwaitingApproval"
            job.approve[job.initiator] = "JobAccepted"
            self._publish(1, job)
            if not job.approval_required:
                self._schedule(job, 1.0, "auto_approve", at=at)
            return
        for d in job.parties():
            job.approve[d] = "JobAccepted"
        job.phase = "Pending"
        self._publish(1, job)
        self._schedule(job, 1.0, "start", at=at)

    @staticmethod
    def _has_cycle(job: Job) -> bool:
        deps = {t.alias: list(t.dependencies) for t in job.tasks}
        state: dict[str, int] = {}

        def visit(n: str) -> bool:
            if state.get(n) == 1:
                return True
            if state.get(n) == 2:
                return False
            state[n] = 1
            if any(visit(d) for d in deps.get(n, []) if d in deps):
                return True
            state[n] = 2
            return False

        return any(visit(a) for a in deps)

    def _task_seconds(self, job: Job, spec: TaskSpec) -> float:
        if job.task_seconds is not None:
            return job.task_seconds
        digest = hashlib.sha256(f"{job.job_id}/{spec.alias}".encode()).digest()
        return 10.0 + digest[0] % 21

    def _reconcile(self, job: Job, at: float) -> None:
        """Create ready tasks (priority first, within max_parallelism) and derive the phase."""
        if job.phase != "Running":
            return
        active = sum(1 for r in job.runs.values() if r.phase in ("Pending", "Running"))
        ready = [
            t
            for t in job.tasks
            if t.alias not in job.runs
            and all(
                job.runs.get(d) is not None and job.runs[d].phase == "Succeeded"
                for d in t.dependencies
            )
        ]
        ready.sort(key=lambda t: -t.priority)  # stable: spec order among equal priorities
        for spec in ready[: max(job.max_parallelism - active, 0)]:
            if self._task_id_taken(spec.task_id, job):
                # A task id names a cluster-wide KusciaTask: the controller's create fails,
                # is retried, and fails the job (pkg/controllers/kusciajob/handler/running.go).
                job.phase = "Failed"
                job.message = (
                    "KusciaJob failed after 3x retry, last error: Failed to create task "
                    f"{spec.task_id} because of a task with the same name already exists"
                )
                job.end_time = at
                self._publish(1, job)
                return
            job.runs[spec.alias] = TaskRun(task_id=spec.task_id, alias=spec.alias, create_time=at)
            self._schedule(job, 1.0, "task_start", spec.alias, at=at)
        by_alias = {t.alias: t for t in job.tasks}
        finished = [r for r in job.runs.values() if r.phase in ("Succeeded", "Failed")]
        critical_failed = any(  # P2P: any failed task fails the job, tolerable or not
            r.phase == "Failed" and (self.mode == "autonomy" or not by_alias[r.alias].tolerable)
            for r in job.runs.values()
        )
        running = any(r.phase in ("Pending", "Running") for r in job.runs.values())
        all_done = len(finished) == len(job.tasks)
        new_phase = job.phase
        if all_done and not critical_failed:
            new_phase = "Succeeded"
        elif critical_failed and (self.mode == "autonomy" or (not running and not ready)):
            new_phase = "Failed"
        if new_phase != job.phase:
            job.phase = new_phase
            job.message = ""
            job.end_time = at
        self._publish(1, job)

    def _task_id_taken(self, task_id: str, job: Job) -> bool:
        """Whether another job already created a task named `task_id`."""
        return any(
            run.task_id == task_id
            for other in self.jobs.values()
            if other is not job
            for run in other.runs.values()
        )

    def _task_start(self, job: Job, alias: str, at: float) -> None:
        run = job.runs.get(alias)
        spec = next(t for t in job.tasks if t.alias == alias)
        if run is None or run.phase != "Pending":
            return
        run.phase = "Running"
        run.start_time = at
        run.parties = [
            PartyRun(
                domain_id=p["domain_id"],
                role=p["role"],
                endpoints=endpoints_for(run.task_id, p["domain_id"], p["role"]),
            )
            for p in spec.parties
        ]
        run.log_lines.extend(self._log_chunk(job, run, 0, at))
        self._publish(1, job)
        seconds = self._task_seconds(job, spec)
        plan = self._fail_plan(job, alias)
        end = seconds * (FAIL_AT if plan is not None else 1.0)
        # The engine reports progress every ~tenth of the run (1-30 s apart); each report is a
        # MODIFIED event. Failing tasks stop reporting at FAIL_AT.
        interval = min(max(seconds / 10, 1.0), 30.0)
        k = 1
        while k * interval < end - 1e-9:
            pct = round(100 * k * interval / seconds)
            if 0 < pct < 100:
                self._schedule(job, k * interval, "task_progress", alias, pct, at=at)
            k += 1
        self._schedule(job, end, "task_end", alias, at=at)

    def _fail_plan(self, job: Job, alias: str) -> FailPlan | None:
        for plan in job.fail_plans:
            if plan.alias == alias and (plan.times is None or job.attempt <= plan.times):
                return plan
        return None

    def _task_end(self, job: Job, alias: str, at: float) -> None:
        run = job.runs.get(alias)
        if run is None or run.phase != "Running":
            return
        spec = next(t for t in job.tasks if t.alias == alias)
        plan = self._fail_plan(job, alias)
        run.end_time = at
        if plan is None:
            run.phase = "Succeeded"
            run.progress = 1.0
            for p in run.parties:
                p.state = "Succeeded"
            run.log_lines.extend(self._log_chunk(job, run, 100, at))
        else:
            culprit = plan.party or spec.parties[-1]["domain_id"]
            peers = [p["domain_id"] for p in spec.parties if p["domain_id"] != culprit]
            msg = plan.message.format(
                alias=alias, party=culprit, peer=peers[0] if peers else culprit
            )
            run.phase = "Failed"
            for p in run.parties:
                p.state = "Failed"
                if p.domain_id == culprit:
                    p.err_msg = msg
            ok_parties = [p.domain_id for p in run.parties if p.domain_id != culprit]
            run.err_msg = (
                f"The remaining no-failed party task counts {len(ok_parties)} are less than the "
                f"threshold {len(run.parties)} that meets the conditions for task success. "
                f"pending party[], running party[{','.join(ok_parties)}], successful party[], "
                f"failed party[{culprit}]"
            )
            run.log_lines.extend(self._log_chunk(job, run, -1, at, message=msg))
        self._reconcile(job, at)

    def _log_chunk(
        self, job: Job, run: TaskRun, step: int, at: float, message: str = ""
    ) -> list[str]:
        """Log lines of the local party: step 0 start, 1-99 progress %, 100 done, -1 failed."""
        ts = rfc3339(at).replace("T", " ").rstrip("Z")
        me = self._log_party(job)
        if step == 0:
            return [
                f"{ts} INFO [{me}] entry.py:64 - start task {run.task_id} of job {job.job_id}",
                f"{ts} INFO [{me}] cluster.py:118 - ray fed cluster initialized, party={me}",
                f"{ts} INFO [{me}] link.py:210 - brpc link established with all parties",
            ]
        if step == 100:
            return [
                f"{ts} INFO [{me}] component.py:301 - {run.alias} finished, outputs written",
                f"{ts} INFO [{me}] entry.py:99 - task {run.task_id} succeeded",
            ]
        if step < 0:
            return [
                f"{ts} ERROR [{me}] entry.py:120 - task {run.task_id} failed",
                f"{ts} ERROR [{me}] entry.py:121 - {message}",
            ]
        return [f"{ts} INFO [{me}] component.py:212 - {run.alias} progress {step}%"]

    # ------------------------------------------------------------ rendering (unary dialect)

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

    # ------------------------------------------------------------ job service

    def _get(self, job_id: str, code: int) -> Job:
        if not job_id:
            raise APIError(ERR_VALIDATE, "job id can not be empty")
        job = self.jobs.get(job_id)
        if job is None:
            raise APIError(code, job_not_found(job_id))
        return job

    def create_job(self, req: JSON) -> str:
        """CreateJob from a decoded request (see codec.CREATE_JOB); returns the job id.

        `req` may also be a raw CreateJob JSON dict (snake_case or lowerCamelCase).
        """
        try:
            req = decode_message(req, CREATE_JOB)
        except DecodeError as exc:
            raise APIError(ERR_UNEXPECTED, str(exc)) from None
        with self.lock:
            self._tick_locked()
            job = self._validate_create(req)
            self.jobs[job.job_id] = job
            self._publish(0, job)
            self._schedule(job, 0.5, "validate", at=job.create_time)
            return job.job_id

    def _validate_create(self, req: JSON) -> Job:
        job_id = req["job_id"]
        if not job_id:
            raise APIError(ERR_VALIDATE, "job id can not be empty")
        if not _JOB_ID_RE.fullmatch(job_id):
            raise APIError(
                ERR_VALIDATE,
                f'Field "job_id" is invalid, invalid value: "{job_id}": regex used for '
                f'validation is "{JOB_ID_REGEX}" ',
            )
        if not req["initiator"]:
            raise APIError(ERR_VALIDATE, "initiator can not be empty")
        if self.local_domain and req["initiator"] != self.local_domain:
            raise APIError(
                ERR_VALIDATE,
                f"request.initiator is {req['initiator']}, but initiator must be "
                f"{self.local_domain} in P2P",
            )
        if not req["tasks"]:
            raise APIError(ERR_VALIDATE, "tasks can not be empty")
        for i, t in enumerate(req["tasks"]):
            if not t["alias"]:
                raise APIError(ERR_VALIDATE, f"task alias can not be empty on tasks[{i}]")
            if not t["parties"]:
                raise APIError(ERR_VALIDATE, f"parties can not be empty on tasks[{i}]")
            for p in t["parties"]:
                if not p["domain_id"]:
                    raise APIError(ERR_VALIDATE, "party domain id can not be empty")
                res = p["resources"] or {}
                for kind in ("cpu", "memory", "bandwidth"):
                    value = res.get(kind, "")
                    if value and not _QUANTITY_RE.fullmatch(value):
                        raise APIError(
                            ERR_VALIDATE,
                            f"parse input {kind} resource failed: quantities must match the "
                            "regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
                        )
                for b in p["bandwidth_limits"]:
                    if b["limit_kbps"] <= 0:
                        raise APIError(
                            ERR_VALIDATE, "bandwidth limit kbps can not be zero or negative"
                        )
                    if not b["destination_id"]:
                        raise APIError(
                            ERR_VALIDATE, "bandwidth limit destination id can not be empty"
                        )
        max_par = req["max_parallelism"]
        if max_par <= 0:
            max_par = 1
        invalid = f'KusciaJob.kuscia.secretflow "{job_id}" is invalid: '
        if job_id in self.jobs:
            raise APIError(ERR_CREATE_JOB, f'kusciakuscia.secretflow "{job_id}" already exists')
        if max_par > 128:
            raise APIError(
                ERR_CREATE_JOB,
                invalid + f"spec.maxParallelism: Invalid value: {max_par}: "
                "spec.maxParallelism in body should be less than or equal to 128",
            )
        if len(req["tasks"]) > 128:
            raise APIError(
                ERR_CREATE_JOB,
                invalid + f"spec.tasks: Too many: {len(req['tasks'])}: must have at most 128 items",
            )
        for i, t in enumerate(req["tasks"]):
            if len(t["dependencies"]) > 128:
                raise APIError(
                    ERR_CREATE_JOB,
                    invalid + f"spec.tasks[{i}].dependencies: Too many: "
                    f"{len(t['dependencies'])}: must have at most 128 items",
                )
            if t["task_id"] and not _TASK_ID_RE.search(t["task_id"]):
                raise APIError(
                    ERR_CREATE_JOB,
                    invalid + f'spec.tasks[{i}].taskID: Invalid value: "{t["task_id"]}": '
                    f"spec.tasks[{i}].taskID in body should match "
                    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?'",
                )
        for key, value in req["custom_fields"].items():
            label = CUSTOM_FIELD_LABEL_PREFIX + key
            if len(key) > 63 or not _LABEL_NAME_RE.fullmatch(key):
                raise APIError(
                    ERR_CREATE_JOB,
                    invalid + f'metadata.labels: Invalid value: "{label}": name part must '
                    "consist of alphanumeric characters, '-', '_' or '.', and must start and "
                    "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
                    "'123-abc', regex used for validation is "
                    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
                )
            if len(value) > 63:
                raise APIError(
                    ERR_CREATE_JOB,
                    invalid + f'metadata.labels: Invalid value: "{value}": must be no more '
                    "than 63 characters",
                )
            if not _LABEL_VALUE_RE.fullmatch(value):
                raise APIError(
                    ERR_CREATE_JOB,
                    invalid + f'metadata.labels: Invalid value: "{value}": a valid label must '
                    "be an empty string or consist of alphanumeric characters, '-', '_' or "
                    "'.', and must start and end with an alphanumeric character (e.g. "
                    "'MyValue',  or 'my_value',  or '12345', regex used for validation is "
                    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
                )
        tasks = [
            TaskSpec(
                alias=t["alias"],
                task_id=t["task_id"],
                app_image=t["app_image"],
                parties=[
                    {
                        "domain_id": p["domain_id"],
                        "role": p["role"],
                        "resources": p["resources"],
                        "bandwidth_limits": list(p["bandwidth_limits"]),
                    }
                    for p in t["parties"]
                ],
                dependencies=list(t["dependencies"]),
                task_input_config=t["task_input_config"],
                priority=t["priority"],
                schedule_config=_schedule_config(t["schedule_config"]),
                tolerable=t["tolerable"],
            )
            for t in req["tasks"]
        ]
        cf = dict(req["custom_fields"])
        job = Job(
            job_id=job_id,
            initiator=req["initiator"],
            max_parallelism=max_par,
            tasks=tasks,
            custom_fields=cf,
            create_time=self.now(),
            approval_required=cf.get("sim-approval") == "required",
            gen=next(self._seq),
        )
        if cf.get("sim-task-seconds"):
            try:
                job.task_seconds = max(float(cf["sim-task-seconds"]), 0.0)
            except ValueError:
                job.task_seconds = None
        if cf.get("sim-fail-task"):
            reason = cf.get("sim-fail-reason", "exit-code")
            times_raw = cf.get("sim-fail-times", "")
            job.fail_plans.append(
                FailPlan(
                    alias=cf["sim-fail-task"],
                    party=cf.get("sim-fail-party") or None,
                    message=FAILURE_REASONS.get(reason, FAILURE_REASONS["exit-code"]),
                    times=int(times_raw) if times_raw.isascii() and times_raw.isdigit() else None,
                )
            )
        return job

    def fail_task(
        self,
        job_id: str,
        alias: str,
        *,
        party: str | None = None,
        message: str | None = None,
        times: int | None = None,
    ) -> None:
        """In-process control: make `alias` of `job_id` fail in `party` with `message`."""
        with self.lock:
            job = self._get(job_id, ERR_QUERY_JOB)
            job.fail_plans.insert(
                0,
                FailPlan(alias, party, message or FAILURE_REASONS["exit-code"], times),
            )

    def query_job(self, job_id: str) -> JSON:
        with self.lock:
            self._tick_locked()
            return self.job_detail(self._get(job_id, ERR_QUERY_JOB))

    def batch_query_status(self, job_ids: list[str]) -> list[JSON]:
        with self.lock:
            self._tick_locked()
            if not job_ids:
                raise APIError(ERR_VALIDATE, "job ids can not be empty")
            if any(not j for j in job_ids):
                raise APIError(ERR_VALIDATE, "job id can not be empty")
            return [self.job_status(self._get(j, ERR_QUERY_JOB_STATUS)) for j in job_ids]

    def _stop_tasks(self, job: Job, at: float) -> None:
        for run in job.runs.values():
            if run.phase in ("Pending", "Running"):
                run.phase = "Failed"
                run.err_msg = "Job was stopped"
                run.end_time = at
                for p in run.parties:
                    if p.state not in ("Succeeded", "Failed"):
                        p.state = "Failed"

    def stop_job(self, job_id: str) -> None:
        with self.lock:
            self._tick_locked()
            job = self._get(job_id, ERR_STOP_JOB)
            if job.stage_label == "Stop":
                return
            job.stage_label = "Stop"
            effective = job.phase in ("", "AwaitingApproval", "Pending", "Running", "Suspended")
            if not effective and not (job.phase == "Failed" and job.end_time is None):
                return
            self._end_by_command(job, "Stop", phase="Failed")

    def _end_by_command(self, job: Job, cmd: str, *, phase: str) -> None:
        """Stop or Cancel with an effect: stop running tasks, end the job, mark the stage."""
        at = self.now()
        job.gen = next(self._seq)
        self._stop_tasks(job, at)
        job.phase = phase
        job.message = f"Party: {self.local_domain} execute the cmd: {cmd}."
        job.end_time = at
        for d in job.parties():
            job.stage[d] = f"Job{cmd}StageSucceeded"
        self._publish(1, job)

    def cancel_job(self, job_id: str) -> None:
        with self.lock:
            self._tick_locked()
            job = self._get(job_id, ERR_CANCEL_JOB)
            job.stage_label = "Cancel"
            if job.phase in ("Succeeded", "ApprovalReject", "Cancelled"):
                return
            self._end_by_command(job, "Cancel", phase="Cancelled")

    def suspend_job(self, job_id: str) -> None:
        with self.lock:
            self._tick_locked()
            job = self._get(job_id, ERR_SUSPEND_JOB)
            if job.phase != "Running":
                raise APIError(
                    ERR_SUSPEND_NOT_RUNNING,
                    f"job: {job_id} current status is {job.phase} can not be suspend.",
                )
            job.stage_label = "Suspend"
            at = self.now()
            job.gen = next(self._seq)
            self._stop_tasks(job, at)
            job.phase = "Suspended"
            job.message = ""
            for d in job.parties():
                job.stage[d] = "JobSuspendStageSucceeded"
            self._publish(1, job)

    def restart_job(self, job_id: str) -> None:
        with self.lock:
            self._tick_locked()
            job = self._get(job_id, ERR_RESTART_JOB)
            if job.phase not in ("Failed", "Suspended"):
                raise APIError(
                    ERR_RESTART_NOT_SUSPENDED_OR_FAILED,
                    f"job: {job_id} current status is {job.phase} can not be restart.",
                )
            job.stage_label = "Restart"
            if job.validate_failed:
                return
            at = self.now()
            job.gen = next(self._seq)
            job.attempt += 1
            job.phase = "Running"
            job.end_time = None
            job.message = f"This job is restarted by {self.local_domain}"
            for alias in [a for a, r in job.runs.items() if r.phase != "Succeeded"]:
                del job.runs[alias]
            for d in job.parties():
                job.stage[d] = "JobRestartStageSucceeded"
            self._publish(1, job)
            self._schedule(job, 1.0, "restarted", at=at)

    def approve_job(self, job_id: str, result: int) -> None:
        with self.lock:
            self._tick_locked()
            if not job_id:
                raise APIError(ERR_VALIDATE, "job id can not be empty")
            if result not in (1, 2):
                raise APIError(ERR_VALIDATE, "request result must be legal")
            job = self._get(job_id, ERR_APPROVE_JOB)
            verdict = "JobAccepted" if result == 1 else "JobRejected"
            for d in job.parties():
                if d != job.initiator or d not in job.approve:
                    job.approve[d] = verdict
            if job.phase != "AwaitingApproval":
                self._publish(1, job)
                return
            at = self.now()
            if verdict == "JobRejected":
                job.phase = "ApprovalReject"
                job.end_time = at
                self._publish(1, job)
                return
            job.phase = "Pending"
            self._publish(1, job)
            self._schedule(job, 1.0, "start", at=at)

    def delete_job(self, job_id: str) -> None:
        with self.lock:
            self._tick_locked()
            job = self._get(job_id, ERR_DELETE_JOB)
            job.gen = next(self._seq)
            del self.jobs[job_id]
            self._publish(2, job)

    # ------------------------------------------------------------ domains, data, routes

    def query_domain(self, domain_id: str) -> JSON:
        with self.lock:
            if not domain_id:
                raise APIError(ERR_VALIDATE, "domain id can not be empty")
            if domain_id == "master":
                return {
                    "domain_id": "master",
                    "role": "",
                    "cert": self.domain_cert_pem,
                    "node_statuses": [],
                    "deploy_token_statuses": [],
                    "annotations": {},
                    "auth_center": None,
                    "master_domain_id": "",
                }
            d = self.domains.get(domain_id)
            if d is None:
                raise APIError(
                    ERR_DOMAIN_NOT_EXISTS, f'domains.kuscia.secretflow "{domain_id}" not found'
                )
            return {
                "domain_id": d["domain_id"],
                "role": d["role"],
                "cert": self.domain_cert_pem,
                "node_statuses": [dict(n) for n in d["node_statuses"]],
                "deploy_token_statuses": [],
                "annotations": {},
                "auth_center": None,
                "master_domain_id": "",
            }

    def batch_query_domains(self, ids: list[str]) -> list[JSON]:
        with self.lock:
            if not ids:
                raise APIError(ERR_VALIDATE, "domain ids can not be empty")
            for index, i in enumerate(ids):
                if not i:
                    raise APIError(ERR_VALIDATE, f"domain id can not be empty on index {index}")
            out = []
            for i in ids:
                d = self.query_domain(i)
                out.append({k: d[k] for k in ("domain_id", "role", "cert", "node_statuses")})
            return out

    def query_domaindata(self, domain_id: str, domaindata_id: str) -> JSON:
        with self.lock:
            if not domain_id or not domaindata_id:
                raise APIError(ERR_VALIDATE, "domain id and domaindata id can not be empty")
            for dd in self._local_data():
                if dd["domain_id"] == domain_id and dd["domaindata_id"] == domaindata_id:
                    return copy.deepcopy(dd)
            raise APIError(
                ERR_DOMAINDATA_NOT_EXISTS,
                f'domaindatas.kuscia.secretflow "{domaindata_id}" not found',
            )

    def batch_query_domaindata(self, keys: Iterable[JSON]) -> list[JSON]:
        with self.lock:
            keys = list(keys)
            if any(not k["domain_id"] or not k["domaindata_id"] for k in keys):
                raise APIError(ERR_VALIDATE, "domain id and domaindata id can not be empty")
            out = []
            for k in keys:
                try:
                    out.append(self.query_domaindata(k["domain_id"], k["domaindata_id"]))
                except APIError as exc:
                    if exc.code != ERR_DOMAINDATA_NOT_EXISTS:
                        raise
            return out

    def _local_data(self) -> list[JSON]:
        """Domain data lives on its own domain's node: a P2P node holds only its own."""
        if not self.local_domain:
            return self.domaindata
        return [dd for dd in self.domaindata if dd["domain_id"] == self.local_domain]

    def list_domaindata(self, domain_id: str, dtype: str = "", vendor: str = "") -> list[JSON]:
        with self.lock:
            if not domain_id:
                raise APIError(ERR_VALIDATE, "domain id can not be empty")
            return [
                copy.deepcopy(dd)
                for dd in self._local_data()
                if dd["domain_id"] == domain_id
                and (not dtype or dd["type"] == dtype)
                and (not vendor or dd["vendor"] == vendor)
            ]

    def batch_route_status(self, keys: list[JSON]) -> list[JSON]:
        """Route status per key: whole batch fails (11404) on one unknown route."""
        with self.lock:
            if not keys:
                raise APIError(ERR_VALIDATE, "DomainRoute keys can not be empty")
            for k in keys:
                if not k["source"]:
                    raise APIError(ERR_VALIDATE, "source can not be empty")
                if not k["destination"]:
                    raise APIError(ERR_VALIDATE, "destination can not be empty")
            out = []
            for k in keys:
                src, dst = k["source"], k["destination"]
                st = self.routes.get((src, dst))
                if st is None:
                    raise APIError(
                        ERR_ROUTE_NOT_EXISTS,
                        f'clusterdomainroutes.kuscia.secretflow "{src}-{dst}" not found',
                    )
                out.append(
                    {
                        "name": f"{src}-{dst}",
                        "destination": dst,
                        "source": src,
                        "status": {"status": st[0], "reason": st[1]},
                    }
                )
            return out

    # ------------------------------------------------------------ logs

    def query_pod_node(self, task_id: str, domain: str, replica_idx: int) -> tuple[str, str]:
        """(node_name, node_ip) of the pod `<domain>/<task_id>-<replica_idx>`; errors 13201."""
        with self.lock:
            self._tick_locked()
            for job in self.jobs.values():
                for run in job.runs.values():
                    if run.task_id != task_id:
                        continue
                    if run.phase == "Pending":
                        raise APIError(
                            ERR_QUERY_POD_NODE, f"task {task_id} status pending, please try later"
                        )
                    pod = f"{domain}/{task_id}-{replica_idx}"
                    if replica_idx != 0 or domain not in {p.domain_id for p in run.parties}:
                        raise APIError(
                            ERR_QUERY_POD_NODE,
                            f"task {task_id} hasn't created pod {pod} yet, please try later",
                        )
                    node = self.domains[domain]["node_statuses"]
                    name = node[0]["name"] if node else f"kuscia-autonomy-{domain}"
                    index = sorted(self.domains).index(domain)
                    return name, f"172.18.0.{10 + index}"
            raise APIError(
                ERR_QUERY_POD_NODE,
                f'kusciatasks.kuscia.secretflow "{task_id}" not found'
                if task_id
                else "resource name may not be empty",
            )

    def _log_party(self, job: Job) -> str:
        return self.local_domain or job.initiator

    def task_log(self, task_id: str, replica_idx: int, container: str) -> tuple[list[str], bool]:
        """(lines so far, finished) of `task_id`'s container in the local party.

        Like a lite/autonomy node, only the local domain's pod is read; the simulator takes the
        job's initiator as the local domain.
        """
        with self.lock:
            self._tick_locked()
            if self.log_mode == "master":
                raise APIError(
                    ERR_MASTER_NOT_SUPPORT, "kuscia master api not support this interface now"
                )
            if not task_id:
                raise APIError(ERR_QUERY_LOG, "resource name may not be empty")
            for job in self.jobs.values():
                for run in job.runs.values():
                    if run.task_id != task_id:
                        continue
                    spec = next(t for t in job.tasks if t.alias == run.alias)
                    if self._log_party(job) not in {p["domain_id"] for p in spec.parties}:
                        raise APIError(ERR_VALIDATE, "can't find the party in this task")
                    if replica_idx != 0:
                        raise APIError(ERR_VALIDATE, "replicate index invalid")
                    if container not in ("", "secretflow"):
                        raise APIError(ERR_VALIDATE, f"container name {container} invalid")
                    if run.phase == "Pending":
                        raise APIError(
                            ERR_QUERY_LOG, f"task {task_id} status pending, please try later"
                        )
                    return list(run.log_lines), run.phase in ("Succeeded", "Failed")
            raise APIError(ERR_QUERY_LOG, f'kusciatasks.kuscia.secretflow "{task_id}" not found')


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
