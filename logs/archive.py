"""The one write path of stored task logs: lines in, segments and their index out.

Kuscia's log API has no offset (kuscia-log-api.md §4): every read, follow or not, starts at the
beginning of the file. So a follower that died, or reconnected after a cut stream, reads the
whole log again, and the archive *replays* it against what it stored:

* the stored segments are compared, in order, with the lines the node sends again (SHA-256 of
  each segment's bytes, once as many lines as the segment holds have arrived): a segment that
  matches is kept as it is; at the first that differs, it and everything after it are dropped
  and the replayed lines are stored instead;
* past the stored lines, new lines are appended.

Nothing is stored twice and nothing is skipped, as long as the node sends the same lines again.
It does not always: a follow read sends a partial last line as a line of its own, and the same
bytes read later form one line (kuscia-log-api.md §4). That is why a log is only `complete`
after a final read without follow once the task has ended: that read is the node's file as it
is, and the replay makes the stored copy equal to it (rewriting from the first segment that
differs). Limits: Kuscia replaces bytes that are not UTF-8 with U+FFFD (the original bytes are
lost before the console sees them); whether the file ended with a newline cannot be known (the
stored copy always does); a log the node no longer has (job deleted or collected) keeps what
was stored while it ran (`partial`).

Durability: a segment is written to storage under a fresh name, then the index is committed in
one transaction (under the log row's lock, checking that this writer still owns the log), then
the object it replaced is deleted. A crash leaves at worst an object no row names; the next
writer deletes those. The open tail segment is rewritten (bounded by KC_LOG_SEGMENT_BYTES);
full segments are sealed and never rewritten unless a replay differs.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from logs import storage
from logs.models import LogSegment, TaskLog

# The first line that is worth jumping to: SecretFlow's `|ERROR|`, Python's traceback header,
# or an exception line ("secretflow.component.component.CompEvalError: ...").
ERROR_RE = re.compile(
    r"Traceback \(most recent call last\)|\b(?:ERROR|FATAL|CRITICAL)\b|"
    r"^[\w.]*(?:Error|Exception): "
)
State = TaskLog.State


class Lost(Exception):
    """Another follower owns this log now: stop writing."""


def encode(lines: Sequence[str]) -> bytes:
    """Lines as stored: each followed by "\\n" (the node's file, rebuilt)."""
    return "".join(f"{line}\n" for line in lines).encode("utf-8", "surrogatepass")


def line_bytes(line: str) -> int:
    return (len(line) if line.isascii() else len(line.encode("utf-8", "surrogatepass"))) + 1


def is_error(line: str) -> bool:
    """Whether a line is worth jumping to (cheap substring tests first, the pattern then)."""
    maybe = (
        "ERROR" in line
        or "Error: " in line
        or "Traceback" in line
        or "FATAL" in line
        or "CRITICAL" in line
        or "Exception: " in line
    )
    return maybe and ERROR_RE.search(line) is not None


def claim(log: TaskLog) -> str:
    """Become the log's only writer (a follower holding its lease calls this first)."""
    token = secrets.token_hex(8)
    TaskLog.objects.filter(pk=log.pk).update(
        writer=token, heartbeat_at=timezone.now(), queued_at=None
    )
    log.writer = token
    return token


@dataclass
class _Tail:
    """The open last segment: its lines in memory, and its stored row (if stored yet)."""

    lines: list[str] = field(default_factory=list)
    size: int = 0
    row: LogSegment | None = None
    dirty: bool = False
    first_error: int | None = None  # index of its first error line


class Archive:
    """Replays and appends the lines of one log, as the node sends them from its start."""

    def __init__(
        self,
        log: TaskLog,
        *,
        max_bytes: int | None = None,
        segment_bytes: int | None = None,
    ) -> None:
        if not log.writer:
            raise Lost("claim() the log first")
        self.log = log
        self.max_bytes = max_bytes if max_bytes is not None else settings.KC_LOG_MAX_BYTES
        self.segment_bytes = segment_bytes or settings.KC_LOG_SEGMENT_BYTES
        self.stored = list(LogSegment.objects.filter(log=log).order_by("seq"))
        self.sealed: list[LogSegment] = []  # verified (or newly written) full segments
        self.base_lines = 0  # lines and bytes in `sealed`
        self.base_bytes = 0
        self.k = 0  # the stored segment being replayed
        self.replay: list[str] = []
        self.verifying = bool(self.stored)
        self.tail = _Tail()
        self.truncated = log.state == State.TRUNCATED
        self.received = 0  # lines received since this archive was opened
        storage.delete(storage.orphans(log.prefix, {s.name for s in self.stored}))

    # ------------------------------------------------------------ reading the stream

    @property
    def replaying(self) -> bool:
        return self.verifying

    def feed(self, lines: Iterable[str]) -> None:
        """The next lines of the stream (from the file's first line on)."""
        pending = list(lines)
        self.received += len(pending)
        while pending and not self.truncated:
            if self.verifying:
                segment = self.stored[self.k]
                take = segment.lines - len(self.replay)
                self.replay.extend(pending[:take])
                pending = pending[take:]
                if len(self.replay) == segment.lines:
                    self._verify(segment)
            else:
                self._append(pending)
                pending = []

    def flush(self) -> None:
        """Store the open tail if it has lines not stored yet."""
        if self.tail.dirty and not self.truncated:
            self._store_tail(sealed=False)

    def finish(self, *, authoritative: bool, state: str) -> None:
        """End of a read. `authoritative`: it was a whole-file read (follow=false) that ended
        by itself, so the node's file is exactly what was sent: drop any stored rest."""
        if self.verifying and authoritative:
            lines, self.replay = self.replay, []
            self.verifying = False
            self._drop_from(self.k)
            self._append(lines)
        if self.truncated:
            return
        self.flush()
        if not self.verifying and state:
            self._commit(state=state)

    # ------------------------------------------------------------ replay

    def _verify(self, segment: LogSegment) -> None:
        lines, self.replay = self.replay, []
        data = encode(lines)
        self.k += 1
        if hashlib.sha256(data).hexdigest() == segment.sha256 and not segment.marker:
            if segment.sealed:
                self._seal(segment)
                self.verifying = self.k < len(self.stored)
                return
            self.tail = _Tail(lines, len(data), segment, first_error=segment.first_error)
            self.verifying = False
            self._drop_from(self.k)  # nothing can follow an open tail; be sure
            return
        self.verifying = False
        self._drop_from(self.k - 1)
        self._append(lines)

    def _drop_from(self, k: int) -> None:
        """Forget stored segments k, k+1, ... (the node now sends something else)."""
        gone = self.stored[k:]
        if not gone:
            return
        self.stored = self.stored[:k]
        self._commit(drop_from_seq=gone[0].seq)
        storage.delete([s.name for s in gone])

    # ------------------------------------------------------------ appending

    def _append(self, lines: Sequence[str]) -> None:
        """Append lines to the open tail, sealing full segments, stopping at the cap."""
        for line in lines:
            if self.truncated:
                return
            tail = self.tail
            size = line_bytes(line)
            if self.base_bytes + tail.size + size > self.max_bytes:
                room = self.max_bytes - self.base_bytes - tail.size - 1
                if room > 0:  # the part of the line that fits under the cap
                    cut = line.encode("utf-8", "surrogatepass")[:room].decode("utf-8", "ignore")
                    tail.lines.append(cut)
                    tail.size += line_bytes(cut)
                self._cap()
                return
            if tail.first_error is None and is_error(line):
                tail.first_error = len(tail.lines)
            tail.lines.append(line)
            tail.size += size
            tail.dirty = True
            if tail.size >= self.segment_bytes:
                self._store_tail(sealed=True)

    def _cap(self) -> None:
        """The size cap: seal what fits, then the console's visible truncation notice."""
        if self.tail.lines:
            self._store_tail(sealed=True)
        mb = self.max_bytes / (1024 * 1024)
        notice = _(
            "[kuscia-console] Log truncated: the console keeps at most %(mb).1f MB of a task "
            "log (KC_LOG_MAX_BYTES); the lines after this point were not stored."
        ) % {"mb": mb}
        self.tail = _Tail(lines=[notice], size=line_bytes(notice), dirty=True)
        self._store_tail(sealed=True, marker=True, state=State.TRUNCATED)
        self.truncated = True

    def _store_tail(self, *, sealed: bool, marker: bool = False, state: str = "") -> None:
        tail = self.tail
        data = encode(tail.lines)
        seq = tail.row.seq if tail.row is not None else self._next_seq()
        name = storage.write_segment(self.log.prefix, seq, data)
        row = LogSegment(
            log=self.log,
            seq=seq,
            name=name,
            first_line=self.base_lines,
            lines=len(tail.lines),
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            first_error=None if marker else tail.first_error,
            sealed=sealed,
            marker=marker,
        )
        old = tail.row
        try:
            self._commit(add=row, replace=old, state=state)
        except BaseException:
            storage.delete([name])
            raise
        if old is not None:
            storage.delete([old.name])
        if sealed:
            self._seal(row)
            self.tail = _Tail()
        else:
            tail.row, tail.dirty = row, False

    def _seal(self, row: LogSegment) -> None:
        self.sealed.append(row)
        self.base_lines += row.lines
        self.base_bytes += row.size

    def _next_seq(self) -> int:
        seqs = [s.seq for s in self.sealed] + [s.seq for s in self.stored]
        return max(seqs, default=-1) + 1

    def touch(self) -> bool:
        """Report that the follower is alive; False when another one owns the log now."""
        return bool(
            TaskLog.objects.filter(pk=self.log.pk, writer=self.log.writer).update(
                heartbeat_at=timezone.now()
            )
        )

    # ------------------------------------------------------------ the index

    def _rows(self) -> list[LogSegment]:
        rows = list(self.sealed)
        if self.tail.row is not None:
            rows.append(self.tail.row)
        if self.verifying:  # stored segments not replayed yet still count
            rows += self.stored[self.k :]
        return rows

    def _commit(
        self,
        *,
        add: LogSegment | None = None,
        replace: LogSegment | None = None,
        drop_from_seq: int | None = None,
        state: str = "",
    ) -> None:
        now = timezone.now()
        with transaction.atomic():
            owner = (
                TaskLog.objects.select_for_update()
                .filter(pk=self.log.pk)
                .values_list("writer", flat=True)
                .first()
            )
            if owner != self.log.writer:
                raise Lost(f"log {self.log.pk} is written by another follower now")
            if drop_from_seq is not None:
                LogSegment.objects.filter(log=self.log, seq__gte=drop_from_seq).delete()
            if replace is not None:
                LogSegment.objects.filter(pk=replace.pk).delete()
            if add is not None:
                add.save(force_insert=True)
            rows = [r for r in self._rows() if r is not replace]
            if add is not None and add not in rows:
                rows.append(add)
            errors = [r.first_line + r.first_error + 1 for r in rows if r.first_error is not None]
            fields: dict[str, object] = {
                "size": sum(r.size for r in rows),
                "lines": sum(r.lines for r in rows),
                "first_error_line": min(errors, default=None),
                "fetched_at": now,
                "heartbeat_at": now,
            }
            if state:
                fields["state"] = state
                if state in TaskLog.FINAL:
                    fields.update(finished_at=now, message="", hint="", next_try_at=None)
            TaskLog.objects.filter(pk=self.log.pk).update(**fields)
        for name, value in fields.items():
            setattr(self.log, name, value)
