"""Task logs: what a lite/autonomy node serves on log/task/query, and log/node/query."""

from __future__ import annotations

from .base import ERR_MASTER_NOT_SUPPORT, ERR_QUERY_LOG, ERR_QUERY_POD_NODE, ERR_VALIDATE, APIError
from .clock import rfc3339
from .core import WorldCore
from .jobs import Job, TaskRun


class Logs(WorldCore):
    """Task log lines of the local party and the pod-node lookup."""

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
                    nodes = self.domains[domain].nodes
                    name = nodes[0].name if nodes else f"root-kuscia-autonomy-{domain}"
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
