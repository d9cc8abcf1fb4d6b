"""Shared set-up for the log archive's tests: a storage folder of the test's own and a log row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from connections.models import Connection
from logs.models import TaskLog
from tests.fixtures.data import make_job


@pytest.fixture
def log_storage(settings: Any, tmp_path: Path) -> Path:
    """STORAGES["task_logs"] in a folder of this test's own."""
    folder = tmp_path / "task-logs-storage"
    settings.STORAGES = {
        **settings.STORAGES,
        "task_logs": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(folder)},
        },
    }
    return folder


@pytest.fixture
def task_log(db: Any, log_storage: Path) -> TaskLog:
    conn = Connection.objects.create(name="m", url="https://m:8082")
    job = make_job(conn, "job-a", tasks=[("psi", [])])
    return TaskLog.objects.create(
        job=job,
        connection_name="m",
        kuscia_job_id="job-a",
        task_id="job-a-psi",
        domain_id="alice",
    )
