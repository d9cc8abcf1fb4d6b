"""When rules match.

- Event rules (job failed, job ended) and "notify me" subscriptions are evaluated from the
  sync engine's hook (jobs.sync.signals.transitions_recorded), on the chunk's new transitions
  only: a chunk without a job reaching or leaving a final state costs nothing, so the cost
  follows the changes, not the number of jobs.
- Duration rules (Pending / awaiting approval longer than N minutes, Running with no progress
  for N minutes, connection sync failing or stale for N minutes) are evaluated by the beat
  sweep, each with one indexed query plus one over its open incidents.
- Sync health changes (jobs.sync.signals.sync_health_changed) re-evaluate the sync rules of that
  one connection at once.
- Node NotReady / route Failed for N minutes read what the network poll stores (network.models):
  the sweep evaluates them like the other duration rules, and a poll that records a node or
  route transition (network.signals.network_changed) re-evaluates them for that connection at
  once, so a route that breaks (N = 0) or comes back is heard within the poll, not the sweep.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connections as db_connections
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts import incidents
from alerts.incidents import Facts, connection_key, job_key
from alerts.messages import in_deployment_language
from alerts.models import Incident, Rule, Subscription
from connections.models import Connection
from jobs.models import Job, PartyStatus, Task, Transition
from kuscia import types as kt
from network.models import Node, Route

log = logging.getLogger(__name__)

Kind = Rule.Kind
EVENT_KINDS = frozenset({Kind.JOB_FAILED, Kind.JOB_ENDED})
JOB_DURATION_STATES = {
    Kind.PENDING_LONGER: kt.PENDING,
    Kind.APPROVAL_LONGER: kt.AWAITING_APPROVAL,
    Kind.NO_PROGRESS: kt.RUNNING,
}
NETWORK_KINDS = frozenset({Kind.NODE_NOT_READY, Kind.ROUTE_FAILED})
DURATION_KINDS = frozenset({*JOB_DURATION_STATES, Kind.SYNC_FAILING, *NETWORK_KINDS})
# Kinds whose subject is a job (the initiator scope applies to these only).
JOB_KINDS = frozenset({*EVENT_KINDS, *JOB_DURATION_STATES})
ACCEPTED = "JobAccepted"  # a party's approve state once it accepted the job


STALE_FLOOR = 300.0  # seconds without a successful sync before sync_failing calls it stale


def job_link(connection_name: str, job_id: str) -> str:
    return reverse("jobs:detail", kwargs={"connection": connection_name, "job_id": job_id})


# ============================================================== events (the sync hook)


@in_deployment_language
def on_transitions(
    *, connection: Connection, transitions: Sequence[Transition], now: dt.datetime | None = None
) -> None:
    """A chunk's transitions were committed: open job-failed incidents and job-ended notices,
    tell subscribers, and clear the job-failed incidents of jobs that left Failed."""
    now = now or timezone.now()
    moves = [t for t in transitions if t.kind == Transition.Kind.JOB and t.new_state != t.old_state]
    ended = [t for t in moves if t.new_state in kt.TERMINAL_JOB_STATES and _news(t, now)]
    recovered = [t for t in moves if t.old_state == kt.FAILED]
    if recovered:
        keys = {job_key(t.job_id): t.new_state for t in recovered}
        open_ = Incident.objects.open().filter(kind=Kind.JOB_FAILED, subject_key__in=list(keys))
        for pk, key in open_.values_list("pk", "subject_key"):
            incidents.clear([pk], note=_("now %(state)s") % {"state": keys[key]}, now=now)
    if not ended:
        return
    rules = list(Rule.objects.enabled_of(EVENT_KINDS))
    waiting: dict[int, list[Subscription]] = defaultdict(list)
    for sub in Subscription.objects.waiting_on([t.job_id for t in ended]):
        waiting[sub.job_id].append(sub)
    for t in ended:
        job = t.job
        facts = _job_facts(connection, job, t)
        for rule in rules:
            if not rule.matches_job(
                connection_id=job.connection_id, parties=job.parties, initiator=job.initiator
            ):
                continue
            if rule.kind == Kind.JOB_FAILED and t.new_state == kt.FAILED:
                incidents.fire(rule, job_key(job.pk), facts, now=now)
            elif rule.kind == Kind.JOB_ENDED:
                incidents.notice(rule, job_key(job.pk), facts, now=now)
        if waiting.get(job.pk):
            incidents.notify_subscribers(waiting[job.pk], job_key(job.pk), facts, now=now)


def _news(t: Transition, now: dt.datetime) -> bool:
    """A job first seen already ended (the watch's initial burst replays old jobs) is news only
    if it ended recently; any other change to a final state is."""
    if t.old_state:
        return True
    fresh = dt.timedelta(seconds=float(settings.KC_ALERTS_FRESH_SECONDS))
    return t.kuscia_time is not None and now - t.kuscia_time <= fresh


def _job_facts(connection: Connection, job: Job, t: Transition) -> Facts:
    party, reason = "", t.message or job.err_msg
    if job.state in (kt.FAILED, kt.APPROVAL_REJECT):
        party, reason = failure_of(job)
    return Facts(
        subject=job.job_id,
        job_state=job.state,
        party=party,
        reason=reason,
        link=job_link(connection.name, job.job_id),
        connection_id=connection.pk,
        job_id=job.pk,
    )


def failure_of(job: Job) -> tuple[str, str]:
    """(party, reason) of a failed job: the first failing task's failing party and its message
    (Kuscia's job err_msg is often empty; the reason sits in a party). Two queries."""
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    failed = sorted(
        Task.objects.filter(job=job, state=kt.FAILED).only("pk", "position", "end_time", "err_msg"),
        key=lambda t: (t.end_time or far, t.position),
    )
    if not failed:
        return "", job.err_msg
    first = failed[0]
    parties = list(PartyStatus.objects.filter(task=first, state=kt.FAILED).order_by("domain_id"))
    party = next((p for p in parties if p.err_msg), parties[0] if parties else None)
    reason = (party.err_msg if party else "") or first.err_msg or job.err_msg
    return (party.domain_id if party else ""), reason


# ============================================================== durations (the sweep)


@dataclass
class SweepSummary:
    rules: int = 0
    opened: int = 0
    cleared: int = 0
    resolved: int = 0
    deliveries: dict[str, int] = field(default_factory=dict)
    provisioning: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "rules": self.rules,
            "opened": self.opened,
            "cleared": self.cleared,
            "resolved": self.resolved,
            "deliveries": self.deliveries,
            "provisioning": self.provisioning,
        }


def evaluate_durations(now: dt.datetime, summary: SweepSummary) -> None:
    # Channels are read by `fire` for the rare rule that opens an incident.
    rules = list(Rule.objects.enabled_of(DURATION_KINDS, with_channels=False))
    summary.rules = len(rules)
    for rule in rules:
        if rule.kind == Kind.SYNC_FAILING:
            opened, cleared = _reconcile(rule, _sync_matches(rule, now), now)
        elif rule.kind in NETWORK_KINDS:
            opened, cleared = _reconcile(rule, network_matches(rule, now), now)
        else:
            opened, cleared = _reconcile_jobs(rule, now)
        summary.opened += opened
        summary.cleared += cleared


def _reconcile(rule: Rule, matching: dict[str, Facts], now: dt.datetime) -> tuple[int, int]:
    """Open incidents for subjects that match and have none (or a resolving one); clear the
    firing ones whose subject no longer matches. For the few subjects of the sync rules."""
    open_ = dict(Incident.objects.open_of_rule(rule.pk).values_list("subject_key", "state"))
    opened = 0
    for key, facts in matching.items():
        if open_.get(key) != Incident.State.FIRING and incidents.fire(rule, key, facts, now=now):
            opened += 1
    gone = [k for k, state in open_.items() if state == Incident.State.FIRING and k not in matching]
    if not gone:
        return opened, 0
    ids = Incident.objects.open_of_rule(rule.pk).filter(subject_key__in=gone)
    note = _("no longer matches")
    return opened, incidents.clear(ids.values_list("pk", flat=True), note=note, now=now)


def _reconcile_jobs(rule: Rule, now: dt.datetime) -> tuple[int, int]:
    """The same for a job duration rule: the ids of the matching jobs against the jobs of the
    rule's firing incidents, each read from an index alone (alerts_job_waiting on jobs_job,
    alerts_inc_open_rule); the facts are read only for the jobs that get a new incident."""
    matching = set(_job_match_qs(rule, now).values_list("pk", flat=True))
    firing = Incident.objects.open_of_rule(rule.pk).filter(state=Incident.State.FIRING)
    firing_jobs = set(firing.values_list("job_id", flat=True))
    opened = 0
    fresh = sorted(matching - firing_jobs)
    for i in range(0, len(fresh), 500):
        for key, facts in _job_facts_of(Job.objects.filter(pk__in=fresh[i : i + 500]), rule):
            opened += incidents.fire(rule, key, facts, now=now) is not None
    gone = firing_jobs - matching  # None: the job row was deleted (forgotten)
    if not gone:
        return opened, 0
    which = Q(job_id__in=[j for j in gone if j is not None])
    if None in gone:
        which |= Q(job__isnull=True)
    ids = list(firing.filter(which).values_list("pk", flat=True))
    return opened, incidents.clear(ids, note=_("no longer matches"), now=now)


def _job_match_qs(rule: Rule, now: dt.datetime) -> Any:
    """Jobs in the rule's state since before now - N minutes (last_changed: the last observed
    state or progress change), in the rule's scope; on the (state, connection) index."""
    state = JOB_DURATION_STATES[Kind(rule.kind)]
    qs = Job.objects.filter(
        state=state,
        gone_at__isnull=True,
        last_changed__lte=now - dt.timedelta(minutes=rule.minutes),
    )
    if rule.connection_id:
        qs = qs.filter(connection_id=rule.connection_id)
    if rule.initiator:
        qs = qs.filter(initiator=rule.initiator)
    if rule.party:
        if db_connections[qs.db].vendor == "postgresql":
            qs = qs.filter(parties__contains=[rule.party])
        else:  # SQLite has no JSON containment; the id is a quoted token in the JSON text
            qs = qs.filter(parties__icontains=f'"{rule.party}"')
    return qs


def _job_facts_of(qs: Any, rule: Rule) -> list[tuple[str, Facts]]:
    """What the messages say about each job of `qs`."""
    state = JOB_DURATION_STATES[Kind(rule.kind)]
    rows = qs.values_list(
        "pk",
        "job_id",
        "connection_id",
        "connection__name",
        "parties",
        "approve_status",
        "last_changed",
        "tasks_succeeded",
        "task_count",
    )
    out: list[tuple[str, Facts]] = []
    for pk, job_id, conn_id, conn_name, parties, approvals, since, done, total in rows:
        party, when = "", since.strftime("%Y-%m-%d %H:%M UTC")
        if state == kt.AWAITING_APPROVAL:
            accepted = {a.get("domain_id") for a in approvals or [] if a.get("state") == ACCEPTED}
            party = ", ".join(p for p in parties or [] if p not in accepted)
            reason = _("waiting for approval since %(when)s") % {"when": when}
        elif state == kt.RUNNING:
            reason = _("%(done)s of %(total)s tasks succeeded; no change since %(when)s") % {
                "done": done,
                "total": total,
                "when": when,
            }
        else:
            reason = _("Pending since %(when)s") % {"when": when}
        facts = Facts(
            subject=job_id,
            job_state=state,
            party=party,
            reason=reason,
            link=job_link(conn_name, job_id),
            connection_id=conn_id,
            job_id=pk,
        )
        out.append((job_key(pk), facts))
    return out


def _sync_matches(rule: Rule, now: dt.datetime) -> dict[str, Facts]:
    """Enabled connections where, since at least N minutes ago, reconcile has failed (failures
    with no success since) or the watch has failed (an error and no stream since its last
    event; with no active job reconcile asks Kuscia nothing, so the watch is what notices a
    lost Kuscia), or whose last success is older than max(N minutes, KC_HEALTH_MAX_SYNC_AGE):
    nothing is polling it."""
    cutoff = now - dt.timedelta(minutes=rule.minutes)
    # Stale: no successful sync for KC_HEALTH_MAX_SYNC_AGE when set, else for STALE_FLOOR seconds
    # (/healthz's own 0 default means "a few poll intervals", too eager for a chat alert).
    stale_age = max(rule.minutes * 60.0, float(settings.KC_HEALTH_MAX_SYNC_AGE) or STALE_FLOOR)
    stale_cutoff = now - dt.timedelta(seconds=stale_age)
    qs = Connection.objects.filter(enabled=True)
    if rule.connection_id:
        qs = qs.filter(pk=rule.connection_id)
    rows = qs.values_list(
        "pk",
        "name",
        "created_at",
        "sync__consecutive_failures",
        "sync__last_success",
        "sync__last_error_kind",
        "sync__last_error_message",
        "sync__watch_connected_since",
        "sync__watch_last_event",
        "sync__watch_last_error",
    )
    out: dict[str, Facts] = {}
    link = reverse("connections:list")
    for row in rows:
        pk, name, created, failures, last_success, kind, message = row[:7]
        watch_since, watch_event, watch_error = row[7:]
        since = last_success or created
        if failures and since <= cutoff:
            reason = f"{kind}: {message}" if kind else message
        elif watch_error and watch_since is None and (watch_event or created) <= cutoff:
            reason = _("watch: %(error)s") % {"error": watch_error}
        elif since <= stale_cutoff:
            reason = _("no successful sync since %(when)s") % {
                "when": since.strftime("%Y-%m-%d %H:%M:%S UTC")
            }
        else:
            continue
        out[connection_key(pk)] = Facts(subject=name, reason=reason, link=link, connection_id=pk)
    return out


@in_deployment_language
def on_sync_health(*, connection: Connection, ok: bool, now: dt.datetime | None = None) -> None:
    """A reconcile cycle ended: evaluate the sync rules of this connection now (a success costs
    one query when nothing is open for it)."""
    now = now or timezone.now()
    key = connection_key(connection.pk)
    if ok and not Incident.objects.open().filter(subject_key=key).exists():
        return
    for rule in Rule.objects.enabled_of(frozenset({Kind.SYNC_FAILING})):
        if rule.connection_id not in (None, connection.pk):
            continue
        matching = {k: f for k, f in _sync_matches(rule, now).items() if k == key}
        open_ = Incident.objects.open_of_rule(rule.pk).filter(subject_key=key)
        state = open_.values_list("state", flat=True).first()
        if key in matching and state != Incident.State.FIRING:
            incidents.fire(rule, key, matching[key], now=now)
        elif key not in matching and state == Incident.State.FIRING:
            incidents.clear(open_.values_list("pk", flat=True), note=_("syncing again"), now=now)


# ============================================================== nodes and routes


def node_key(node_pk: int) -> str:
    return f"node:{node_pk}"


def route_key(route_pk: int) -> str:
    return f"route:{route_pk}"


def network_matches(
    rule: Rule, now: dt.datetime, *, connection_id: int | None = None
) -> dict[str, Facts]:
    """The nodes NotReady (or Degraded) / routes Failed for at least the rule's N minutes, in
    its scope (connection; party: the node's domain, either end of a route), as stored by the
    network poll. One query."""
    cutoff = now - dt.timedelta(minutes=rule.minutes)
    if rule.connection_id is not None:
        if connection_id not in (None, rule.connection_id):
            return {}
        connection_id = rule.connection_id
    out: dict[str, Facts] = {}
    if rule.kind == Kind.NODE_NOT_READY:
        for node in Node.objects.not_ready_since(
            cutoff, connection_id=connection_id, domain=rule.party
        ):
            out[node_key(node.pk)] = Facts(
                subject=node.domain_id,
                job_state=node.status,
                party=node.domain_id,
                reason=_since(node.reason or node.status, node.since),
                link=reverse("network:node", args=(node.connection.name, node.domain_id)),
                connection_id=node.connection_id,
            )
        return out
    for route in Route.objects.failed_since(cutoff, connection_id=connection_id, party=rule.party):
        args = (route.connection.name, route.source, route.destination)
        out[route_key(route.pk)] = Facts(
            subject=f"{route.source} → {route.destination}",
            job_state=route.status,
            party=f"{route.source}, {route.destination}",
            reason=_since(route.reason_code or route.reason or route.status, route.since),
            link=reverse("network:route", args=args),
            connection_id=route.connection_id,
        )
    return out


def _since(reason: str, since: dt.datetime) -> str:
    when = since.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return _("%(reason)s (since %(when)s)") % {"reason": reason, "when": when}


@in_deployment_language
def on_network_change(*, connection: Connection, now: dt.datetime | None = None) -> None:
    """A network poll recorded node or route transitions on this connection: evaluate the node
    and route rules for its subjects now (open what matches, clear what stopped matching)."""
    now = now or timezone.now()
    for rule in Rule.objects.enabled_of(NETWORK_KINDS):
        if rule.connection_id not in (None, connection.pk):
            continue
        matching = network_matches(rule, now, connection_id=connection.pk)
        prefix = "node:" if rule.kind == Kind.NODE_NOT_READY else "route:"
        ours = Incident.objects.open_of_rule(rule.pk).filter(
            connection_id=connection.pk, subject_key__startswith=prefix
        )
        open_ = dict(ours.values_list("subject_key", "state"))
        for key, facts in matching.items():
            if open_.get(key) != Incident.State.FIRING:
                incidents.fire(rule, key, facts, now=now)
        gone = [
            k for k, state in open_.items() if state == Incident.State.FIRING and k not in matching
        ]
        if gone:
            ids = ours.filter(subject_key__in=gone).values_list("pk", flat=True)
            incidents.clear(ids, note=_("no longer matches"), now=now)


@in_deployment_language
def sweep(now: dt.datetime | None = None) -> SweepSummary:
    """The beat sweep: duration rules, grouping windows that ended, lost deliveries."""
    from alerts import delivery

    now = now or timezone.now()
    summary = SweepSummary()
    evaluate_durations(now, summary)
    summary.resolved = incidents.finish_due(now)
    summary.deliveries = delivery.recover(now)
    return summary
