"""The follower: one party's log of one task run (replica, container), from its node into the
archive (logs.archive). One follower per log across workers (a lease), started by the planner.

While the task runs it reads `log/task/query` with follow=true from the party's lite or
autonomy connection (connections.nodes.log_node_for) and stores new lines about every
KC_LOG_FLUSH_SECONDS. Kuscia's follow stream never ends by itself (kuscia-log-api.md §4): the
follower closes it KC_LOG_END_GRACE_SECONDS after the task has ended (Kuscia sends what it has
every 5 s). A cut stream is opened again: the node sends the log from its start, the archive
replays it. Then one read without follow makes the stored log equal to the node's file
(`complete`). A task that ended before anyone followed it gets only that read.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_noop as N_

from connections import nodes
from jobs.models import Job, Task
from jobs.sync.leases import LeaseKeeper, make_lease
from kuscia import types as kt
from kuscia.client import KusciaClient
from kuscia.errors import KusciaAPIError, KusciaError
from kuscia.logstream import TaskLogStream
from logs import storage
from logs.archive import Archive, Lost, claim
from logs.models import TaskLog

log = logging.getLogger(__name__)
State = TaskLog.State
# Messages and hints are stored in English with the log and translated where they are shown
# (the `stored` filter); Kuscia's own messages are facts and stay as Kuscia wrote them.
MAX_REPLICAS = 8
RETRY_MAX_SECONDS = 60.0
NO_NODE_RETRY = timedelta(minutes=10)
ERRORS_IN_A_ROW = 5  # transport failures before the follower gives the log back

_stopping = threading.Event()
_streams: set[TaskLogStream] = set()
_streams_lock = threading.Lock()


def stop_following() -> int:
    """Close every follow stream of this process (worker shutdown); how many were open."""
    _stopping.set()
    with _streams_lock:
        streams = list(_streams)
    for stream in streams:
        stream.close()
    return len(streams)


@dataclass
class FollowSummary:
    log: int
    outcome: str  # complete, partial, truncated, unavailable, later, stopped, locked, ...
    lines: int = 0
    reconnects: int = 0
    error: str = ""


def follow_log(log_id: int) -> FollowSummary:
    """Follow or fetch one log until it is final or has to wait (the Celery task's body)."""
    lease = make_lease(f"log:{log_id}", settings.KC_LOG_LEASE_SECONDS)
    if not lease.acquire():
        return FollowSummary(log_id, "locked")
    keeper = LeaseKeeper(lease, settings.KC_LOG_LEASE_SECONDS / 3)
    keeper.start()
    try:
        row = TaskLog.objects.select_related("job", "job__connection").filter(pk=log_id).first()
        if row is None or row.job is None or row.is_final:
            return FollowSummary(log_id, "nothing to do")
        claim(row)
        summary = Follower(row, lost=lambda: keeper.lost).run()
        TaskLog.objects.filter(pk=log_id, writer=row.writer).update(heartbeat_at=None)
        return summary
    except Lost as exc:
        return FollowSummary(log_id, "lost", error=str(exc))
    finally:
        keeper.stop()
        lease.release()


class Follower:
    def __init__(self, row: TaskLog, *, lost: Callable[[], bool]) -> None:
        assert row.job is not None
        self.row = row
        self.job: Job = row.job
        self.lost = lost
        self.summary = FollowSummary(row.pk, "")
        self.errors = 0

    # ------------------------------------------------------------ the run

    def run(self) -> FollowSummary:
        found = nodes.log_node_for(self.job.connection, self.row.domain_id)
        if found.connection is None:
            self._mark(
                state=State.UNAVAILABLE,
                message=found.reason,
                hint=found.hint,
                next_try_at=timezone.now() + NO_NODE_RETRY,
            )
            return self._done("unavailable")
        if self.row.node_id != found.connection.pk:
            self._mark(node=found.connection)
        try:
            with KusciaClient(found.connection.client_config()) as client:
                return self._loop(client)
        except KusciaAPIError as err:
            return self._refused(err)
        except KusciaError as err:  # the client could not even be built (files, URL)
            return self._later(err)

    def _loop(self, client: KusciaClient) -> FollowSummary:
        """Each read starts at the file's first line: a fresh Archive replays it."""
        while True:
            if _stopping.is_set():
                return self._done("stopped")
            run = self._task_run()
            if run is None:  # the task is gone here, or runs again: this run is over
                return self._gone()
            if run == "running":
                if self.row.state != State.FOLLOWING and self.row.discovered:
                    self._mark(state=State.FOLLOWING)
                ended = self._follow(client, Archive(self.row))
                if ended is None:  # stream failed: read again from the start
                    if self.errors >= ERRORS_IN_A_ROW:
                        return self._later(None)
                    time.sleep(min(2.0**self.errors, RETRY_MAX_SECONDS))
                    self.summary.reconnects += 1
                continue
            if self._final_read(client, Archive(self.row)):
                return self._done(self.row.state)
            if self.errors >= ERRORS_IN_A_ROW:
                return self._later(None)
            time.sleep(min(2.0**self.errors, RETRY_MAX_SECONDS))

    def _task_run(self) -> str | None:
        """'running', 'ended', or None when this run of the task is no longer Kuscia's."""
        task = (
            Task.objects.filter(job_id=self.job.pk, task_id=self.row.task_id)
            .values("state", "start_time")
            .first()
        )
        job = Job.objects.filter(pk=self.job.pk).values("state", "gone_at").first()
        if task is None or job is None:
            return None
        started = self.row.task_started_at
        if started is not None and task["start_time"] is not None and task["start_time"] != started:
            return None
        ended = (
            task["state"] in (kt.SUCCEEDED, kt.FAILED)
            or job["state"] in kt.TERMINAL_JOB_STATES
            or job["gone_at"] is not None
        )
        return "ended" if ended else "running"

    # ------------------------------------------------------------ reading

    def _open(self, client: KusciaClient, follow: bool) -> TaskLogStream:
        return client.open_task_log(
            self.row.task_id,
            replica_idx=self.row.replica_idx,
            container=self.row.container,
            follow=follow,
            silence_timeout=3600.0,
        )

    def _follow(self, client: KusciaClient, archive: Archive) -> bool | None:
        """Follow until the task has ended (True), or the stream failed (None)."""
        stream = self._open(client, follow=True)
        items: queue.Queue[Any] = queue.Queue()
        reader = threading.Thread(target=_read, args=(stream, items), daemon=True)
        with _streams_lock:
            _streams.add(stream)
        reader.start()
        flush_every = settings.KC_LOG_FLUSH_SECONDS
        grace = settings.KC_LOG_END_GRACE_SECONDS
        last_flush = last_check = time.monotonic()
        ended_at: float | None = None
        result: bool | None = True
        try:
            while True:
                try:
                    item = items.get(timeout=min(flush_every, 1.0))
                except queue.Empty:
                    item = None
                now = time.monotonic()
                if isinstance(item, list):
                    self._served(archive, item)
                elif item is _END:  # Kuscia never ends a follow stream; a proxy might
                    self._failed(RuntimeError("the follow stream ended"))
                    result = None
                    break
                elif isinstance(item, KusciaAPIError):
                    raise item
                elif isinstance(item, BaseException):
                    self._failed(item)
                    result = None
                    break
                if now - last_flush >= flush_every:
                    archive.flush()
                    if not archive.touch() or self.lost():
                        raise Lost(f"log {self.row.pk}: lease lost")
                    last_flush = now
                if _stopping.is_set():
                    break
                if now - last_check >= 2.0:
                    last_check = now
                    if ended_at is None and self._task_run() != "running":
                        ended_at = now
                if ended_at is not None and now - ended_at >= grace:
                    break
        finally:
            stream.close()
            reader.join(timeout=5)
            with _streams_lock:
                _streams.discard(stream)
        archive.flush()
        return result

    def _final_read(self, client: KusciaClient, archive: Archive) -> bool:
        """The whole file once, without follow: the stored log becomes the node's file."""
        try:
            with self._open(client, follow=False) as stream:
                for lines in stream:
                    self._served(archive, lines)
                    if archive.truncated:
                        break
        except KusciaAPIError:
            raise
        except KusciaError as err:
            self._failed(err)
            archive.flush()
            return False
        archive.finish(authoritative=not archive.truncated, state=State.COMPLETE)
        return True

    def _served(self, archive: Archive, lines: list[str]) -> None:
        if archive.received == 0:
            self._discovered()
        archive.feed(lines)
        self.summary.lines += len(lines)
        self.errors = 0

    def _discovered(self) -> None:
        """Kuscia served this replica: show it, and ask for the next one."""
        row = self.row
        if not row.discovered:
            self._mark(discovered=True)
        if row.replica_idx + 1 < MAX_REPLICAS:
            TaskLog.objects.get_or_create(
                job=self.job,
                task_id=row.task_id,
                attempt=row.attempt,
                domain_id=row.domain_id,
                replica_idx=row.replica_idx + 1,
                container=row.container,
                defaults={
                    "connection_name": row.connection_name,
                    "kuscia_job_id": row.kuscia_job_id,
                    "task_started_at": row.task_started_at,
                    "discovered": False,
                },
            )

    def _failed(self, err: BaseException) -> None:
        self.errors += 1
        self.summary.error = str(err)
        log.info("log %s: stream failed (%s), reading again from the start", self.row.pk, err)

    # ------------------------------------------------------------ outcomes

    def _refused(self, err: KusciaAPIError) -> FollowSummary:
        """Kuscia's answer inside the stream (kuscia-log-api.md §3)."""
        message = err.message
        row = self.row
        # Kuscia creates a task's pods together: once replica r was served, "hasn't created
        # pod" for replica r+1 means there is none (an autonomy node says "replicate index
        # invalid"). The row was only a question: drop it.
        if (
            row.replica_idx > 0
            and not row.discovered
            and ("replicate index invalid" in message or "hasn't created pod" in message)
        ):
            TaskLog.objects.filter(pk=row.pk, writer=row.writer).delete()
            storage.delete_prefix(row.prefix)
            return self._done("no such replica")
        if "please try later" in message:
            return self._later(err)
        if err.code == 13200 and "not found" in message:
            return self._gone(kuscia=message)
        hint = ""
        if err.code == 11105:
            hint = N_("This connection is a Kuscia master; run its check so the console knows.")
        elif "can't find pod log" in message:
            hint = N_(
                "The container never started (e.g. its image could not be pulled), or the node "
                "removed its log files (logrotate.maxAgeDays)."
            )
        elif "container larger than 1" in message:
            hint = N_(
                "This task's pods have several containers, and the console could not learn "
                "their names from the task's AppImage on the job's connection; it asks again "
                "for the next run."
            )
        self._mark(state=State.UNAVAILABLE, message=message, hint=hint, next_try_at=None)
        return self._done("unavailable", error=message)

    def _gone(self, kuscia: str = "") -> FollowSummary:
        """Kuscia no longer has this run (job deleted or collected, or the task ran again)."""
        if self.row.lines:
            self._mark(
                state=State.PARTIAL,
                message=N_(
                    "Kuscia no longer has this task run; what was stored while it ran is kept, "
                    "its end may be missing."
                ),
                finished_at=timezone.now(),
                next_try_at=None,
            )
            return self._done("partial")
        self._mark(
            state=State.UNAVAILABLE,
            message=kuscia
            or N_("Kuscia no longer has this task run, and its log was not stored before."),
            hint=N_(
                "Kuscia deletes a task's record with its job (by default 30 days after it "
                "ended): logs are kept only when the console stored them before."
            ),
            next_try_at=None,
        )
        return self._done("unavailable", error=kuscia)

    def _later(self, err: KusciaError | None) -> FollowSummary:
        tries = self.row.tries + 1
        delay = min(5.0 * 2 ** min(tries, 6), 300.0)
        fields: dict[str, Any] = {
            "tries": tries,
            "next_try_at": timezone.now() + timedelta(seconds=delay),
            "queued_at": None,
            "heartbeat_at": None,  # not being followed now: the planner may hand it out
        }
        if err is not None:
            fields["message"] = err.message
        elif self.summary.error:
            fields["message"] = self.summary.error
        self._mark(**fields)
        return self._done("later", error=fields.get("message", ""))

    def _mark(self, **fields: Any) -> None:
        """Change the log row, if this follower still owns it."""
        if "state" in fields and fields["state"] in TaskLog.FINAL and "finished_at" not in fields:
            fields["finished_at"] = timezone.now()
        if not TaskLog.objects.filter(pk=self.row.pk, writer=self.row.writer).update(**fields):
            raise Lost(f"log {self.row.pk} is written by another follower now")
        for name, value in fields.items():
            setattr(self.row, name, value)

    def _done(self, outcome: str, error: str = "") -> FollowSummary:
        self.summary.outcome = outcome
        if error:
            self.summary.error = error
        return self.summary


_END = object()


def _read(stream: TaskLogStream, items: queue.Queue[Any]) -> None:
    """The reader thread: every object's lines, then _END or the error."""
    try:
        for lines in stream:
            items.put(lines)
        items.put(_END)
    except BaseException as exc:  # handed to the follower, which decides
        items.put(exc)
