"""The sync engine: the only code that writes observed Kuscia state into the local database.

    apply.py      the one write path (diff, transitions, gone/refused marks)
    track.py      observe one job now (add by id, refresh after an action)
    health.py     SyncState: back-off and the last error per connection
    reconcile.py  the poll cycle (chunked batchQuery, 11203 isolation, idle/error back-off)
    watch.py      the watch consumer (one stream per connection)
    leases.py     one poller and one watcher per connection across workers

Celery tasks (jobs.tasks) and management commands are thin adapters over the names below.
"""

from jobs.sync.apply import (
    BATCH_NOT_FOUND,
    WATCH_EVENT_STAMP_SECONDS,
    Source,
    apply_job_detail,
    apply_job_status,
    apply_job_statuses,
    record_created,
)
from jobs.sync.batch import WriteStats, fingerprint
from jobs.sync.health import backoff_delay, sync_state
from jobs.sync.leases import DbLease, Lease, RedisLease, make_lease
from jobs.sync.marks import DELETED_HERE, GONE_RACE_SECONDS, forget_job, mark_gone
from jobs.sync.reconcile import (
    PollPlan,
    ReconcileSummary,
    fetch_statuses,
    jobs_to_poll,
    poll_connection,
    poll_plan,
    reconcile_connection,
    run_poll_cycle,
)
from jobs.sync.track import refresh_job, track_job
from jobs.sync.watch import (
    WatchSummary,
    handle_watch_event,
    stop_watching,
    watch_candidates,
    watch_connection,
    watch_is_free,
    watch_stopping,
)

__all__ = [
    "BATCH_NOT_FOUND",
    "DELETED_HERE",
    "GONE_RACE_SECONDS",
    "WATCH_EVENT_STAMP_SECONDS",
    "DbLease",
    "Lease",
    "PollPlan",
    "ReconcileSummary",
    "RedisLease",
    "Source",
    "WatchSummary",
    "WriteStats",
    "apply_job_detail",
    "apply_job_status",
    "apply_job_statuses",
    "backoff_delay",
    "fetch_statuses",
    "fingerprint",
    "forget_job",
    "handle_watch_event",
    "jobs_to_poll",
    "make_lease",
    "mark_gone",
    "poll_connection",
    "poll_plan",
    "reconcile_connection",
    "record_created",
    "refresh_job",
    "run_poll_cycle",
    "stop_watching",
    "sync_state",
    "track_job",
    "watch_candidates",
    "watch_connection",
    "watch_is_free",
    "watch_stopping",
]
