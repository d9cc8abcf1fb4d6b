"""The simulated Kuscia cluster: domains, domain data, routes and jobs with their controllers.

Everything a route answers comes from here. Time comes from a clock; simulated durations are
divided by `speed`. The concepts live in their own modules: core (clock, action heap, watch
events), jobs / job_controller / job_service (jobs and their state machine), network
(domains and routes), data (domain data, sources, grants), logs, faults. World puts them together.

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

import itertools
import random
import threading

from .clock import Clock, RealClock
from .data import seed_domaindata
from .faults import Faults
from .job_controller import JobController
from .job_service import JobService
from .logs import Logs
from .network import SEED_DOMAINS


class World(JobService, JobController, Logs):
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
        self.clock = clock or RealClock()
        self.speed = speed
        self.lock = threading.RLock()
        self.jobs = {}
        self.domains = {}
        self.routes = {}
        self.domaindata = seed_domaindata()
        self.datasources = {}
        self.grants = {}
        self.app_images = {"secretflow-image", "secretflow-sidecar-image"}
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
        self._heap = []
        self._seq = itertools.count()
        self._subs = []
        self._listeners = []
        for d in SEED_DOMAINS:
            self.add_domain(d)
