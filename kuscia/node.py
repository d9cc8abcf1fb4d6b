"""What a KusciaAPI endpoint is: its role (master, lite, autonomy) and the domain(s) it serves.

KusciaAPI has no "who am I" route; the answers below give it away without changing anything
(kuscia-log-api.md §1 and §3, kuscia-api.md §5.3 and §5.4):

* `log/task/query` for a task that cannot exist: a master answers 11105 ("kuscia master api
  not support this interface now"); a lite asks its master and answers 13200 "failed to get
  pod node from master, err: ... not found"; an autonomy node answers 13200 with the bare
  "kusciatasks.kuscia.secretflow ... not found". (Kuscia before v0.13 has no such route: 404.)
* A lite's own domain: `domaindata/query` for another domain is refused with 11100 "kuscia lite
  api could only operate it's own domaindata, the domainid of request must be <domain>, not
  <other>" (`validateRequestWhenLite`, pkg/kusciaapi/service/domaindata_service.go).
* The domains of a master or an autonomy node: `domain/query` says `role: ""` for the cluster's
  own domains (a master's lites, an autonomy node's own domain) and "partner" for the others.
  There is no list of domains, so only candidates can be asked (local domain, job parties).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from kuscia.client import KusciaClient
from kuscia.errors import KusciaAPIError, KusciaError

MASTER = "master"
LITE = "lite"
AUTONOMY = "autonomy"
ROLES = (MASTER, LITE, AUTONOMY)

PROBE_TASK = "kc-console-role-probe"
PROBE_DOMAIN = "kc-console-probe"
MAX_CANDIDATES = 32
_LITE_FROM_MASTER = "failed to get pod node from master"
_LITE_DOMAIN = re.compile(r"own domaindata, the domainid of request must be (\S+), not ")


@dataclass(frozen=True)
class NodeInfo:
    role: str  # one of ROLES, or "" when Kuscia's answers do not tell
    domains: tuple[str, ...]  # the domains this endpoint serves (logs of these parties)
    detail: str  # how it was learned, for the check page


def _role_from_log_api(client: KusciaClient) -> tuple[str, str]:
    """(role, evidence) from a log query for a task that does not exist."""
    try:
        for _lines in client.open_task_log(PROBE_TASK):
            return "", "the log API returned lines for a task that should not exist"
    except KusciaAPIError as err:
        if err.code == 11105:
            return MASTER, "the log API answers 11105 (master)"
        if err.code == 13200 and _LITE_FROM_MASTER in err.message:
            return LITE, "the log API asks a master for the pod's node (lite)"
        if err.code == 13200 and "not found" in err.message:
            return AUTONOMY, "the log API looks the task up itself (autonomy)"
        return "", f"the log API answered {err.code}: {err.message}"
    except KusciaError as err:
        if err.kind == "wrong_path":
            return "", "no log API (Kuscia before v0.13)"
        raise
    return "", "the log API answered nothing"


def _lite_domain(client: KusciaClient) -> str:
    """The lite's own domain from its refusal to read another domain's data ("" if none)."""
    try:
        client.query_domaindata(PROBE_DOMAIN, PROBE_DOMAIN)
    except KusciaAPIError as err:
        found = _LITE_DOMAIN.search(err.message)
        return found.group(1) if found else ""
    return ""


def _own_domains(client: KusciaClient, candidates: Sequence[str]) -> list[str]:
    """The candidates this cluster holds as its own (role "", not "partner")."""
    own: list[str] = []
    for domain in list(dict.fromkeys(d for d in candidates if d))[:MAX_CANDIDATES]:
        try:
            if client.query_domain(domain).role == "":
                own.append(domain)
        except KusciaAPIError:
            continue  # unknown here (11305) or refused: not this node's
    return sorted(own)


def probe_node(client: KusciaClient, candidates: Sequence[str] = ()) -> NodeInfo:
    """Ask Kuscia what this endpoint is. `candidates`: domains that may be served here (the
    configured local domain, the parties of its jobs, the domains of other connections).
    Transport and auth failures are raised (KusciaError): the caller's check reports them."""
    role, evidence = _role_from_log_api(client)
    lite_domain = _lite_domain(client) if role in (LITE, "") else ""
    if lite_domain:
        if not role:
            role, evidence = LITE, "it serves only its own domain's data (lite)"
        return NodeInfo(LITE, (lite_domain,), f"{evidence}; its domain is {lite_domain}")
    if role in (MASTER, AUTONOMY):
        domains = _own_domains(client, candidates)
        which = ", ".join(domains) if domains else "none of the known domains"
        return NodeInfo(role, tuple(domains), f"{evidence}; it holds {which}")
    return NodeInfo(role, (), evidence)
