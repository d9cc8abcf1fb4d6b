"""The job controller: the state machine that moves jobs and tasks (kuscia-api.md §7-§9).

Job/task/party semantics follow a centralized master (every party local, no approval unless
asked for) or, in autonomy mode, one P2P node. The network matters as in Kuscia >= v1.0: a
task whose parties lack a Ready node or a Ready route fails when it is created
(kuscia-network-api.md §8); a route that breaks while a task runs fails it in the engine.
Succeeded tasks register their outputs as domain data.
"""

from __future__ import annotations

import hashlib
import uuid

from .core import _Action
from .data import Data
from .faults import FAIL_AT, FAILURE_REASONS, FailPlan
from .jobs import Job, PartyRun, TaskRun, TaskSpec, endpoints_for
from .network import Network


class JobController(Network, Data):
    """Scheduled actions applied to jobs: validate, approve, start, tasks, end."""

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
            if run and run.phase == "Running" and not self._lost_peer(job, run, at):
                run.progress = a.step / 100
                self._write_log(job, run, a.step, at)
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
        run.start_time = at
        problem = self.task_network_problem([p["domain_id"] for p in spec.parties])
        if problem:  # no pod is made: the task fails with no parties, the job's err_msg ""
            run.phase = "Failed"
            run.end_time = at
            run.err_msg = f"KusciaTask failed after 3x retry, last error: {problem}"
            self._reconcile(job, at)
            return
        run.phase = "Running"
        run.parties = [
            PartyRun(
                domain_id=p["domain_id"],
                role=p["role"],
                endpoints=endpoints_for(run.task_id, p["domain_id"], p["role"]),
            )
            for p in spec.parties
        ]
        self._write_log(job, run, 0, at)
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
        if run is None or run.phase != "Running" or self._lost_peer(job, run, at):
            return
        spec = next(t for t in job.tasks if t.alias == alias)
        plan = self._fail_plan(job, alias)
        if plan is not None:
            culprit = plan.party or spec.parties[-1]["domain_id"]
            peers = [p["domain_id"] for p in spec.parties if p["domain_id"] != culprit]
            msg = plan.message.format(
                alias=alias, party=culprit, peer=peers[0] if peers else culprit
            )
            self._fail_run(job, run, at, culprit, msg)
            return
        run.end_time = at
        run.phase = "Succeeded"
        run.progress = 1.0
        for p in run.parties:
            p.state = "Succeeded"
        self._write_log(job, run, 100, at)
        self.record_outputs([p["domain_id"] for p in spec.parties], spec.task_input_config)
        self._reconcile(job, at)

    def _lost_peer(self, job: Job, run: TaskRun, at: float) -> bool:
        """A route between the parties broke while the task ran: the engine's link to the
        peer fails and so does the task, in the route's source party. True if it failed."""
        broken = self.broken_routes([p.domain_id for p in run.parties], at)
        if not broken:
            return False
        src, dst, _ = broken[0]
        msg = FAILURE_REASONS["network"].format(alias=run.alias, party=src, peer=dst)
        self._fail_run(job, run, at, src, msg)
        return True

    def _fail_run(self, job: Job, run: TaskRun, at: float, culprit: str, msg: str) -> None:
        """The task fails in `culprit` with `msg`; the others stop with it."""
        run.end_time = at
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
        self._write_log(job, run, -1, at, culprit, msg)
        self._reconcile(job, at)
