"""Connections as Kuscia nodes: what each one is (role, served domains), which of them form one
deployment, and which node serves a party's task logs.

Rules (issue 16, kuscia-log-api.md §1):
* the role and domains come from Kuscia (kuscia.node.probe_node, run by the connection check,
  `manage.py connections check` and the log archive for connections never probed);
* a master connection and the lite connections of its domains form one deployment: jobs are
  read through the master, each party's logs through the lite of its domain; such lites are
  not job sources of their own (their jobs are the master's, seen again);
* in P2P each autonomy connection serves its own domain;
* a party's logs come only from a lite or autonomy connection serving that domain.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from connections.models import Connection, NodeRole
from kuscia.client import KusciaClient
from kuscia.node import NodeInfo, probe_node

LOG_ROLES = (NodeRole.LITE, NodeRole.AUTONOMY)
ROLE_MAX_AGE = dt.timedelta(hours=6)  # the archive probes connections older than this again
UNKNOWN_MAX_AGE = dt.timedelta(minutes=5)  # ... and those whose role is not known sooner


def record_node(connection: Connection, node: NodeInfo) -> Connection:
    """The one write path of a connection's role and domains (what Kuscia said, now)."""
    with transaction.atomic():
        Connection.objects.filter(pk=connection.pk).update(
            role=node.role,
            domains=sorted(node.domains),
            role_detail=node.detail,
            role_checked_at=timezone.now(),
        )
    connection.refresh_from_db(fields=["role", "domains", "role_detail", "role_checked_at"])
    return connection


def candidate_domains(connection: Connection, extra: Iterable[str] = ()) -> list[str]:
    """Domains this endpoint may serve: its configured local domain, the domains other
    connections know (a master holds its lites' domains), and `extra` (job parties)."""
    names: list[str] = [connection.local_domain] if connection.local_domain else []
    for other in Connection.objects.exclude(pk=connection.pk).only("local_domain", "domains"):
        if other.local_domain:
            names.append(other.local_domain)
        names.extend(str(d) for d in other.domains or [])
    names.extend(extra)
    return list(dict.fromkeys(n for n in names if n))


def probe_and_record(connection: Connection, extra: Sequence[str] = ()) -> Connection:
    """Ask Kuscia what the connection is and store it (raises KusciaError on failure)."""
    with KusciaClient(connection.client_config()) as client:
        node = probe_node(client, candidate_domains(connection, extra))
    return record_node(connection, node)


def needs_probe(connection: Connection, now: dt.datetime | None = None) -> bool:
    checked = connection.role_checked_at
    max_age = ROLE_MAX_AGE if connection.role else UNKNOWN_MAX_AGE
    return checked is None or (now or timezone.now()) - checked > max_age


# ----------------------------------------------------------------------------- deployments


@dataclass(frozen=True)
class LogNode:
    """Where a party's task logs come from: a connection, or why there is none and what to do."""

    connection: Connection | None
    reason: str = ""
    hint: str = ""


def _serves(connection: Connection, domain: str) -> bool:
    return connection.role in LOG_ROLES and domain in (connection.domains or [])


def log_node_for(job_connection: Connection, domain: str) -> LogNode:
    """The connection that serves `domain`'s task logs for jobs seen through `job_connection`:
    the job's own connection when it serves the domain; for a master, a lite of its
    deployment; otherwise (P2P, or a role not known yet) any lite/autonomy node of the domain."""
    if _serves(job_connection, domain):
        return LogNode(job_connection)
    candidates = [c for c in Connection.objects.enabled().order_by("pk") if _serves(c, domain)]
    if job_connection.role == NodeRole.MASTER and job_connection.domains:
        held = domain in job_connection.domains
        candidates = [c for c in candidates if c.role == NodeRole.LITE and held]
    if candidates:
        return LogNode(candidates[0])
    return LogNode(None, *no_log_node(job_connection, domain))


# Why a party has no log node, and how to add one: stored in English with the log (and shown
# through the `stored` filter, dashboard/stored_texts.STORED_FORMATS: the values are facts).
NO_NODE_MASTER = gettext_noop(
    "No connection serves %(domain)s's logs. %(name)s is a Kuscia master, and a master "
    "does not serve task logs; each party's lite node does."
)
NO_NODE_P2P = gettext_noop(
    "No connection serves %(domain)s's logs: Kuscia's log API only gives a node's own "
    "domain, so these logs come from that party's own node."
)
NO_NODE_HINT = gettext_noop(
    "An admin adds a connection to %(domain)s's node (container %(node)s, KusciaAPI port "
    "8082) with the files %(files)s copied from /home/kuscia/var/certs/ there, then runs its "
    "check: Connections → Add, or manage.py connections add."
)


def no_log_node(job_connection: Connection, domain: str) -> tuple[str, str]:
    """(why there is no log node for `domain`, how to add one), in English (stored texts)."""
    files = "ca.crt, kusciaapi-server.crt, kusciaapi-server.key, token"
    if job_connection.role == NodeRole.MASTER or job_connection.mode == Connection.Mode.CENTRALIZED:
        reason = NO_NODE_MASTER % {"domain": domain, "name": job_connection.name}
        node = f"${{USER}}-kuscia-lite-{domain}"
    else:
        reason = NO_NODE_P2P % {"domain": domain}
        node = f"${{USER}}-kuscia-autonomy-{domain}"
    hint = NO_NODE_HINT % {"domain": domain, "node": node, "files": files}
    return reason, hint
