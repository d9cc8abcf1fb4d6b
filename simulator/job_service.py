"""KusciaAPI's job service: create (with Kuscia's validation), query, and the job actions."""

from __future__ import annotations

import re

from .base import (
    ERR_APPROVE_JOB,
    ERR_CANCEL_JOB,
    ERR_CREATE_JOB,
    ERR_DELETE_JOB,
    ERR_QUERY_JOB,
    ERR_QUERY_JOB_STATUS,
    ERR_RESTART_JOB,
    ERR_RESTART_NOT_SUSPENDED_OR_FAILED,
    ERR_STOP_JOB,
    ERR_SUSPEND_JOB,
    ERR_SUSPEND_NOT_RUNNING,
    ERR_UNEXPECTED,
    ERR_VALIDATE,
    JSON,
    K8S_NAME_REGEX,
    APIError,
    invalid_name,
    job_not_found,
)
from .codec import CREATE_JOB, DecodeError, decode_message
from .faults import FAILURE_REASONS, FailPlan
from .jobs import Job, JobRendering, TaskSpec, _schedule_config

# Kuscia checks these with Go regexps, where "$" is the end of the text: fullmatch here
# ("$" in Python also matches before a final newline) and ASCII digits only.
_JOB_ID_RE = re.compile(K8S_NAME_REGEX)
_TASK_ID_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_LABEL_NAME_RE = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_QUANTITY_RE = re.compile(
    r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+|[KMGTPE]i|[numkMGTPE])?$", re.ASCII
)
CUSTOM_FIELD_LABEL_PREFIX = "kuscia.job.custom-fields/"


class JobService(JobRendering):
    """Job routes (create/query/batchQuery/stop/cancel/suspend/restart/approve/delete)."""

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
            raise APIError(ERR_VALIDATE, invalid_name("job_id", job_id))
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
        for key, attr, low, high in (
            ("sim-replicas", "replicas", 1, 8),
            ("sim-log-kb", "log_kb", 0, 1 << 20),
            ("sim-split-line", "split_line", 0, 99),
        ):
            raw = cf.get(key, "")
            if raw.isascii() and raw.isdigit():
                setattr(job, attr, min(max(int(raw), low), high))
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
