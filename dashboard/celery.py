"""The Celery app. Broker and schedule come from dashboard.settings (CELERY_* names).

Four queues: `celery` (reconcile, short tasks), `watch` (one long-running watcher per
connection), `alerts` (alert deliveries and the alert sweep, so a slow chat webhook never
delays a poll) and `logs` (task-log followers, long-running while a task runs). A worker started
without -Q consumes all four; in production run a separate `-Q watch` worker with concurrency
>= number of connections and a `-Q logs` worker whose concurrency bounds the followers. Without
REDIS_URL the broker is kombu's filesystem transport, whose folders are created here so
`celery -A dashboard worker -B` works on a fresh clone.
"""

import os
from pathlib import Path

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")

app = Celery("dashboard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = (Queue("celery"), Queue("watch"), Queue("alerts"), Queue("logs"))
app.conf.task_default_queue = "celery"
app.conf.worker_prefetch_multiplier = 1  # a watcher must not hold back queued polls


def _prepare_broker() -> None:
    from django.conf import settings

    options = dict(getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}) or {})
    if str(app.conf.broker_url).startswith("filesystem"):
        for key in ("data_folder_in", "data_folder_out", "processed_folder"):
            if options.get(key):
                Path(options[key]).mkdir(parents=True, exist_ok=True)
        app.conf.beat_schedule_filename = str(Path(settings.VAR_DIR) / "celerybeat-schedule")
    prefix = getattr(settings, "KC_REDIS_PREFIX", "")
    if prefix and str(app.conf.broker_url).startswith("redis"):
        options["global_keyprefix"] = prefix
        app.conf.broker_transport_options = options


_prepare_broker()
app.autodiscover_tasks()
