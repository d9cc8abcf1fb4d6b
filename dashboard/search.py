"""The header's search box: one query finds jobs (by id), tasks (by id, pod name or alias),
parties (domains) and data (DomainData ids), grouped. `/search/?q=` is the shareable page; the
box asks for the `results` partial as the user types (htmx) and moves through it with the arrow
keys (static/js/search.js). The page lives in the project app because it reads jobs and network.
Every read is a named QuerySet method with a limit: a few index ranges, never a scan."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from jobs.http import HtmxHttpRequest
from jobs.models import Job, JobStats, Task
from jobs.querysets import JobFilter
from network.models import DataItem, Node

MAX_QUERY = 253  # the longest id any group holds (a DomainData id)
PER_GROUP = 8
_DOMAIN = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$")


@dataclass
class Party:
    domain_id: str
    nodes: list[Any] = field(default_factory=list)  # Node rows of this domain (per connection)
    in_jobs: bool = False


@dataclass
class Results:
    q: str
    jobs: list[Job] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    parties: list[Party] = field(default_factory=list)
    data: list[DataItem] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.jobs) + len(self.tasks) + len(self.parties) + len(self.data)


def find(q: str) -> Results:
    """Everything the search finds for `q` (already stripped, non-empty)."""
    found = Results(q)
    found.tasks = Task.objects.search(q, PER_GROUP)
    # a task id or pod name given whole names no job: no need to look inside every job id
    whole_task = any(
        t.task_id == q.lower() or q.lower().startswith(t.task_id + "-") for t in found.tasks
    )
    found.jobs = Job.objects.search_ids(q, PER_GROUP, substring=not whole_task)
    found.data = DataItem.objects.search(q, PER_GROUP)
    found.parties = _parties(q)
    return found


def _parties(q: str) -> list[Party]:
    """Domains starting with `q` that the network poll knows or that the overview's party
    activity lists, and `q` itself when some job names it as a party."""
    prefix = q.lower()
    parties: dict[str, Party] = {}
    for node in Node.objects.search(prefix, PER_GROUP):
        parties.setdefault(node.domain_id, Party(node.domain_id)).nodes.append(node)
    stats = JobStats.objects.current()
    active = {a["party"] for a in (stats.activity if stats else []) if isinstance(a, dict)}
    for domain in sorted(d for d in active if isinstance(d, str) and d.startswith(prefix)):
        parties.setdefault(domain, Party(domain)).in_jobs = True
    if _DOMAIN.match(prefix) and Job.objects.filtered(JobFilter(party=prefix)).exists():
        parties.setdefault(prefix, Party(prefix)).in_jobs = True
    return sorted(parties.values(), key=lambda p: (p.domain_id != prefix, p.domain_id))[:PER_GROUP]


@require_GET
@vary_on_headers("HX-Request")
def search(request: HtmxHttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:MAX_QUERY]
    results = find(q) if q else None
    context = {"q": q, "results": results, "per_group": PER_GROUP}
    template = "dashboard/search.html#results" if request.htmx else "dashboard/search.html"
    return render(request, template, context)
