"""The index of which tasks read or wrote which domain data: the one write path of DataUse,
filled from the tasks' input config (sf_input_ids / sf_output_ids) of jobs whose spec is
known. A job's spec does not change, so each job is indexed once (DataUseScan marks it)."""

from __future__ import annotations

import json

from django.db import transaction

from network.models import DataUse, DataUseScan


def index_data_uses(*, limit: int = 500) -> int:
    """Index the sf_input_ids / sf_output_ids of tasks of jobs whose spec is known and that
    were not indexed yet (a job's spec does not change). Returns the jobs indexed."""
    from jobs.models import Job, Task

    jobs = list(
        Job.objects.filter(spec_fetched=True)
        .exclude(pk__in=DataUseScan.objects.values("job_id"))
        .order_by("pk")
        .values_list("pk", "create_time", "first_seen")[:limit]
    )
    if not jobs:
        return 0
    when = {pk: create or first for pk, create, first in jobs}
    uses: list[DataUse] = []
    tasks = Task.objects.filter(job_id__in=list(when)).values_list(
        "job_id", "task_id", "task_input_config", "party_spec"
    )
    for job_pk, task_id, config, party_spec in tasks:
        parties = sorted({p.get("domain_id", "") for p in party_spec or [] if isinstance(p, dict)})
        for direction, ids in data_ids(config).items():
            for domaindata_id in ids:
                uses.append(
                    DataUse(
                        job_id=job_pk,
                        task_id=task_id,
                        domaindata_id=domaindata_id[:253],
                        direction=direction,
                        parties=parties,
                        job_time=when[job_pk],
                    )
                )
    with transaction.atomic():
        DataUse.objects.bulk_create(uses, batch_size=500, ignore_conflicts=True)
        DataUseScan.objects.bulk_create(
            [DataUseScan(job_id=pk) for pk in when], ignore_conflicts=True
        )
    return len(when)


def data_ids(task_input_config: str) -> dict[str, list[str]]:
    """{"input": sf_input_ids, "output": sf_output_ids} of a task's input config (a JSON
    string, as in the seed's example); anything unreadable gives nothing."""
    try:
        config = json.loads(task_input_config or "{}")
    except (ValueError, RecursionError):
        return {}
    if not isinstance(config, dict):
        return {}
    out: dict[str, list[str]] = {}
    for direction, key in (("input", "sf_input_ids"), ("output", "sf_output_ids")):
        ids = config.get(key)
        if isinstance(ids, list):
            found = [i for i in dict.fromkeys(ids) if isinstance(i, str) and i]
            if found:
                out[direction] = found
    return out
