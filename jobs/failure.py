"""Why a job failed, stopped or was restarted, from everything Kuscia says about it.

Kuscia spreads a job's reasons over several places and often leaves the job's own message
empty (§8.1 of the API notes): a party that could not create the job is only a stage state
("dave: JobCreateStageFailed"), a broken route only a task's err_msg, a container's exit only a
party's err_msg; the job's message is then either empty, or a text synthesized from those party
messages ("Task[t1]-Party[bob]: ..."), or a command's trace ("Party:  execute the cmd: Stop.",
"This job is restarted by "). `explain` gathers them so the page says each reason once and in
words, and keeps Kuscia's own texts for the card's details. The words themselves are the
template's (jobs/_failure.html), so they are translated there."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kuscia import types as kt

if TYPE_CHECKING:
    from jobs.models import Job

# Kuscia's traces of a command in the job's message; <trigger> is the local domain on a lite or
# autonomy node and empty on a master (so a master's text has two spaces).
_COMMAND = re.compile(r"Party: (?P<trigger>\S*) execute the cmd: (?P<cmd>Stop|Cancel)\.")
_RESTARTED = re.compile(r"This job is restarted by ?(?P<trigger>\S*)")
# The job message Kuscia synthesizes from failed parties: said again by the parties themselves.
_SYNTHESIZED = re.compile(r"Task\[[^\]]*\]-Party\[[^\]]*\]: ")
_STAGE_FAILED = re.compile(r"Job(?P<verb>Create|Start|Restart|Stop|Cancel|Suspend)StageFailed")
FAILED_JOB_STATES = frozenset({kt.FAILED, kt.APPROVAL_REJECT, kt.CANCELLED})
_FAR = dt.datetime.max.replace(tzinfo=dt.UTC)  # a failed task whose end Kuscia did not say


@dataclass(frozen=True)
class Command:
    """A command that ended (or restarted) the job: `action` is the audit action's name."""

    action: str  # "stop", "cancel", "restart" or "suspend"
    trigger: str  # the domain Kuscia names ("" on a master, or not named at all)


@dataclass
class Reason:
    """One text Kuscia gave, once, with every place it came from ("t0 @ bob", "t1")."""

    text: str
    places: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class StageFailure:
    domain_id: str
    state: str  # Kuscia's stage state, e.g. JobCreateStageFailed
    verb: str  # "create", "start", ...


@dataclass
class Explanation:
    """What the job page says about why the job is where it is (see jobs/_failure.html)."""

    card: bool  # the job (or a task of it) failed, was stopped or rejected: show the card
    title: str  # "failed", "stopped", "cancelled", "rejected"
    command: Command | None
    record: Any = None  # the audit record of the command, when done from this console
    stages: list[StageFailure] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    task: Any = None  # the first failing task (a TaskRow) and the party that failed it
    party: Any = None
    others: int = 0  # more failed tasks
    reasons: list[Reason] = field(default_factory=list)
    raw: str = ""  # the job's message as Kuscia gave it ("" when it is shown as a reason)

    @property
    def said(self) -> bool:
        """Whether the page can say anything of why (else: "Kuscia gave no reason")."""
        return bool(
            self.command or self.stages or self.rejected or self.task or self.reasons
        ) or bool(self.raw)


def command_of(job: Job) -> Command | None:
    """The command Kuscia's message (or a Suspended state, which has none) tells of."""
    text = job.err_msg.strip()
    if m := _COMMAND.fullmatch(text):
        return Command(m["cmd"].lower(), m["trigger"])
    if m := _RESTARTED.fullmatch(text):
        return Command("restart", m["trigger"])
    if job.state == kt.SUSPENDED:
        return Command("suspend", "")
    return None


def explain(job: Job, tasks: list[Any], record: Any = None) -> Explanation:
    """Every reason Kuscia gives for the job's state. `tasks` are the page's TaskViews (spec
    order, each with its parties); `record` is the audit record of command_of(job), if any."""
    command = command_of(job)
    failed = [tv for tv in tasks if tv.task.state == kt.FAILED]
    stages = [
        StageFailure(s.get("domain_id", ""), s["state"], m["verb"].lower())
        for s in job.stage_status or ()
        if isinstance(s, dict) and (m := _STAGE_FAILED.fullmatch(str(s.get("state", ""))))
    ]
    rejected = [
        str(s.get("domain_id", ""))
        for s in job.approve_status or ()
        if isinstance(s, dict) and s.get("state") == "JobRejected"
    ]
    card = job.state in FAILED_JOB_STATES or bool(failed)
    if command is not None and command.action in ("stop", "cancel"):
        title = "stopped" if command.action == "stop" else "cancelled"
    elif job.state == kt.APPROVAL_REJECT or rejected:
        title = "rejected"
    else:
        title = "cancelled" if job.state == kt.CANCELLED else "failed"
    out = Explanation(card, title, command, record, stages, sorted(rejected))
    out.reasons = _reasons(failed)
    failed.sort(key=lambda tv: (tv.task.end_time or _FAR, tv.task.position))
    if failed:
        first = failed[0]
        out.task = first.task
        out.party = next(
            (p for p in first.parties if p.state == kt.FAILED and p.err_msg), None
        ) or next((p for p in first.parties if p.state == kt.FAILED), None)
        out.others = len(failed) - 1
    text = job.err_msg.strip()
    if text and command is None and not _SYNTHESIZED.match(text):
        out.reasons.insert(0, Reason(job.err_msg, []))  # the job's own words: a reason
    else:
        out.raw = job.err_msg
    return out


def _reasons(failed: list[Any]) -> list[Reason]:
    """Each failed party's and task's message once, with where it came from, in spec order."""
    by_text: dict[str, Reason] = {}
    for tv in failed:
        alias = tv.task.alias or tv.task.task_id
        for p in sorted(tv.parties, key=lambda p: p.domain_id):
            if p.err_msg:
                by_text.setdefault(p.err_msg, Reason(p.err_msg)).places.append(
                    f"{alias} @ {p.domain_id}"
                )
        if tv.task.err_msg:
            by_text.setdefault(tv.task.err_msg, Reason(tv.task.err_msg)).places.append(alias)
    return list(by_text.values())
