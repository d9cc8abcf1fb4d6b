"""Task logs: each party's pod log, what log/task/query serves, and log/node/query
(kuscia-api.md §5.6, kuscia-log-api.md).

Every party of a task gets its own log (tasklog.py writes the lines). Only a node's own domain
is served: an autonomy node serves its local domain; a master-mode world asked for logs stands
in for a lite node of `domain` (the caller's lite domain; by default the job's initiator) and
answers with a lite's error texts ("failed to get pod node from master, err: ..."), without the
autonomy node's request validation. A master answers 11105.
"""

from __future__ import annotations

import uuid

from . import tasklog
from .base import (
    ERR_APPIMAGE_NOT_EXISTS,
    ERR_MASTER_NOT_SUPPORT,
    ERR_QUERY_LOG,
    ERR_QUERY_POD_NODE,
    ERR_VALIDATE,
    JSON,
    APIError,
)
from .core import WorldCore
from .jobs import Job, TaskRun, TaskSpec

LITE_PREFIX = "failed to get pod node from master, err: "
STDOUT_DIR = "/home/kuscia/var/stdout/pods"
# The containers of a task's pods: its AppImage's deploy template (kuscia-api.md §2.8).
# secretflow-sidecar-image's pods have two; the log API then wants a container name
# (pkg/kusciaapi/service/log_service.go, validateQueryRequest).
APP_IMAGE_CONTAINERS = {
    "secretflow-image": ("secretflow",),
    "secretflow-sidecar-image": ("secretflow", "sidecar"),
}
SEVERAL_CONTAINERS = "task's deploy container larger than 1, please specify the container name"


class Logs(WorldCore):
    """Task log files per party and the pod-node lookup."""

    # ------------------------------------------------------------ writing

    def _write_log(
        self, job: Job, run: TaskRun, step: int, at: float, culprit: str = "", error: str = ""
    ) -> None:
        """Append to every party's log: step 0 start, 1-99 progress %, 100 done, -1 failed
        (in `culprit` with its party error `error`)."""
        for party in run.parties:
            me = party.domain_id
            peers = [p.domain_id for p in run.parties if p.domain_id != me]
            if step == 0:
                lines = tasklog.start_lines(at, me, run.task_id, job.job_id, peers)
            elif step == 100:
                lines = tasklog.done_lines(at, me, run.task_id, run.alias)
            elif step < 0:
                lines = tasklog.failure_lines(at, me, run.task_id, culprit, error)
            else:
                lines = tasklog.progress_lines(at, me, run.alias, step)
                filler = job.log_kb * 1024 // 10  # about ten progress reports per task
                lines += tasklog.filler_lines(at, me, run.alias, step, filler) if filler else []
            pod_log = run.log_lines.setdefault(me, [])
            done = run.partial.pop(me, None)
            if done is not None:  # the second write: the rest of the line, and its "\n"
                pod_log.append(done[0] + done[1])
            split = 0 < job.split_line <= step < 100 and done is None and me not in run.split
            if split and lines:  # the first write: half the line, no "\n" yet
                run.split.add(me)
                whole = lines[-1]
                run.partial[me] = (whole[: len(whole) // 2], whole[len(whole) // 2 :])
                pod_log.extend(lines[:-1])
            else:
                pod_log.extend(lines)
            for replica in range(1, job.replicas):
                log = run.replica_lines.setdefault((me, replica), [])
                if step == 0:
                    log.append(tasklog.replica_line(at, me, replica, job.replicas))
                log.extend(lines)

    # ------------------------------------------------------------ appimage/query

    def query_app_image(self, name: str) -> JSON:
        """An AppImage as /api/v1/appimage/query answers (one deploy template, any role)."""
        if not name:
            raise APIError(ERR_VALIDATE, "appimage name can not be empty")
        containers = APP_IMAGE_CONTAINERS.get(name)
        if containers is None or name not in self.app_images:
            raise APIError(
                ERR_APPIMAGE_NOT_EXISTS, f'appimages.kuscia.secretflow "{name}" not found'
            )
        return {
            "name": name,
            "image": {"name": "secretflow/secretflow-lite-anolis8", "tag": "1.11.0b1"},
            "deploy_templates": [
                {
                    "name": name,
                    "replicas": 1,
                    "restart_policy": "Never",
                    "containers": [
                        {"name": c, "command": ["sh"], "working_dir": "/work"} for c in containers
                    ],
                }
            ],
        }

    # ------------------------------------------------------------ log/node/query

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
                    parties = {p.domain_id for p in run.parties}
                    if not 0 <= replica_idx < job.replicas or domain not in parties:
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

    # ------------------------------------------------------------ log/task/query

    def _find_run(self, task_id: str) -> tuple[Job, TaskRun, TaskSpec] | None:
        for job in self.jobs.values():
            for run in job.runs.values():
                if run.task_id == task_id:
                    return job, run, next(t for t in job.tasks if t.alias == run.alias)
        return None

    def task_log(
        self,
        task_id: str,
        replica_idx: int,
        container: str,
        *,
        mode: str | None = None,
        domain: str | None = None,
        start: int = 0,
    ) -> tuple[list[str], str]:
        """The lines so far of `task_id`'s pod log in the node's own domain, as Go's JSON
        encoder sends them, from line `start` on, and the file's unfinished last line ("" when
        the file ends with "\n"). `mode` "master" answers 11105 (default: the world's
        log_mode); `domain` is a lite node's domain (default: the local domain, else the
        initiator)."""
        with self.lock:
            self._tick_locked()
            if (mode or self.log_mode) == "master":
                raise APIError(
                    ERR_MASTER_NOT_SUPPORT, "kuscia master api not support this interface now"
                )
            lite = not self.local_domain
            prefix = LITE_PREFIX if lite else ""
            found = self._find_run(task_id) if task_id else None
            if found is None:
                missing = (
                    f'kusciatasks.kuscia.secretflow "{task_id}" not found'
                    if task_id
                    else "resource name may not be empty"
                )
                raise APIError(ERR_QUERY_LOG, prefix + missing)
            job, run, spec = found
            me = domain or self.local_domain or job.initiator
            containers = APP_IMAGE_CONTAINERS.get(spec.app_image, ("secretflow",))
            if not lite:  # an autonomy node checks the request against the task first
                if me not in {p["domain_id"] for p in spec.parties}:
                    raise APIError(ERR_VALIDATE, "can't find the party in this task")
                if not 0 <= replica_idx < job.replicas:
                    raise APIError(ERR_VALIDATE, "replicate index invalid")
                if not container and len(containers) > 1:
                    raise APIError(ERR_VALIDATE, SEVERAL_CONTAINERS)
                if container and container not in containers:
                    raise APIError(ERR_VALIDATE, f"container name {container} invalid")
                container = container or containers[0]
            if run.phase == "Pending":
                raise APIError(
                    ERR_QUERY_LOG, prefix + f"task {task_id} status pending, please try later"
                )
            if not 0 <= replica_idx < job.replicas or me not in {p.domain_id for p in run.parties}:
                pod = f"{me}/{task_id}-{replica_idx}"
                raise APIError(
                    ERR_QUERY_LOG,
                    prefix + f"task {task_id} hasn't created pod {pod} yet, please try later",
                )
            # A lite does not check: it reads the pod's directory as asked; with no container
            # named it walks the whole pod directory and takes the newest restart's file it
            # meets first (all restart 0 here: the first container by name).
            container = container or min(containers)
            if container not in containers:
                uid = uuid.uuid5(uuid.NAMESPACE_URL, f"{me}/{task_id}/{job.attempt}")
                path = f"{STDOUT_DIR}/{me}_{task_id}-{replica_idx}_{uid}/{container}"
                raise APIError(
                    ERR_QUERY_LOG,
                    f"failed to local query, err: can't find pod log path for {path}, err: <nil>",
                )
            partial = b""
            if container != containers[0]:  # a sidecar's own log
                at = run.start_time or job.create_time
                pod_log = tasklog.sidecar_lines(at, me, f"{task_id}-{replica_idx}", container)
            elif replica_idx:
                pod_log = run.replica_lines.get((me, replica_idx), [])
            else:
                pod_log = run.log_lines.get(me, [])
                partial = run.partial.get(me, (b"", b""))[0]
            return [tasklog.go_string(line) for line in pod_log[start:]], tasklog.go_string(partial)
