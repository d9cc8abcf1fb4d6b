"""A database made by the release before the layout split upgrades with `migrate` and keeps every
row: connections, sync state, leases, jobs, tasks, party states, endpoints, transitions, audit
records, users and groups (with the admin group's connection permissions), on PostgreSQL.

The migration graph of that release ends at these nodes; the test unapplies everything after
them (the split's migrations change no table), fills the database through the historical
models, migrates forward and reads the rows back through today's models and a page.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PREVIOUS_RELEASE = [
    ("accounts", "0003_admin_group_permissions"),
    ("audit", "0002_connection_changes"),
    ("jobs", "0007_job_refused"),
    ("contenttypes", "0002_remove_content_type_name"),
    ("auth", "0012_alter_user_first_name_max_length"),
    ("sessions", "0001_initial"),
    ("admin", "0003_logentry_add_action_flag_choices"),
]


def _migrate(targets: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return MigrationExecutor(connection)


def _latest() -> list[tuple[str, str]]:
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


def _fill_previous_release(apps) -> dict[str, int]:
    now = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)
    User = apps.get_model("auth", "User")
    Group = apps.get_model("auth", "Group")
    Connection = apps.get_model("jobs", "Connection")
    SyncState = apps.get_model("jobs", "SyncState")
    SyncLease = apps.get_model("jobs", "SyncLease")
    Job = apps.get_model("jobs", "Job")
    Task = apps.get_model("jobs", "Task")
    PartyStatus = apps.get_model("jobs", "PartyStatus")
    Endpoint = apps.get_model("jobs", "Endpoint")
    Transition = apps.get_model("jobs", "Transition")
    AuditRecord = apps.get_model("audit", "AuditRecord")
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")

    # As the previous release left them: the connection's content type and permissions under
    # the `jobs` label, granted to the admin group (a flush by an earlier test may have
    # re-created them under today's label: put them back as they were).
    ContentType.objects.filter(app_label="connections").delete()
    jobs_connection, _ = ContentType.objects.get_or_create(app_label="jobs", model="connection")
    admin_group, _ = Group.objects.get_or_create(name="admin")
    for action in ("add", "change", "delete", "view"):
        perm, _ = Permission.objects.get_or_create(
            content_type=jobs_connection,
            codename=f"{action}_connection",
            defaults={"name": f"Can {action} connection"},
        )
        admin_group.permissions.add(perm)

    admin = User.objects.create(username="ada", password="!")
    admin.groups.add(admin_group)
    operator = User.objects.create(username="olga", password="!")
    operator.groups.add(Group.objects.get_or_create(name="operator")[0])
    conn = Connection.objects.create(
        name="master", url="https://10.0.0.1:8082", cert_dir="/etc/kuscia", created_at=now
    )
    SyncState.objects.create(connection=conn, last_success=now, last_cycle={"jobs": 1})
    SyncLease.objects.create(name="poll:1", owner="w1", expires_at=now)
    job = Job.objects.create(
        connection=conn,
        job_id="job-psi",
        initiator="alice",
        state="Failed",
        err_msg="alice: boom",
        source="created",
        parties=["alice", "bob"],
        task_count=1,
        first_seen=now,
        last_changed=now,
    )
    task = Task.objects.create(job=job, task_id="job-psi-t1", alias="psi", state="Failed")
    party = PartyStatus.objects.create(task=task, domain_id="alice", state="Failed")
    Endpoint.objects.create(
        party=party, port_name="spu", scope="Cluster", endpoint="alice-psi-0-spu.alice.svc"
    )
    for old, new in (("", "Pending"), ("Pending", "Running"), ("Running", "Failed")):
        Transition.objects.create(
            job=job, kind="job", old_state=old, new_state=new, observed_at=now, source="poll"
        )
    AuditRecord.objects.create(
        user=operator,
        username="olga",
        connection=conn,
        connection_name="master",
        job_id="job-psi",
        action="create",
        outcome="ok",
    )
    return {"connection": conn.pk, "job": job.pk}


def test_previous_release_database_upgrades_with_every_row():
    assert connection.vendor == "postgresql"
    latest = _latest()
    executor = _migrate(PREVIOUS_RELEASE)
    old_apps = executor.loader.project_state(PREVIOUS_RELEASE).apps
    assert "connection" in {
        m._meta.model_name for m in old_apps.get_app_config("jobs").get_models()
    }
    ids = _fill_previous_release(old_apps)

    _migrate(latest)

    from django.contrib.auth.models import User

    from audit.models import AuditRecord
    from connections.models import Connection, SyncLease, SyncState
    from jobs.models import Endpoint, Job, PartyStatus, Task, Transition

    conn = Connection.objects.get(pk=ids["connection"])
    assert (conn.name, conn.url, conn.cert_dir) == (
        "master",
        "https://10.0.0.1:8082",
        "/etc/kuscia",
    )
    assert SyncState.objects.get(connection=conn).last_cycle == {"jobs": 1}
    assert SyncLease.objects.get().owner == "w1"
    job = Job.objects.get(pk=ids["job"])
    assert (job.connection_id, job.state, job.err_msg) == (conn.pk, "Failed", "alice: boom")
    assert Task.objects.get(job=job).alias == "psi"
    assert PartyStatus.objects.get(task__job=job).domain_id == "alice"
    assert Endpoint.objects.get().endpoint == "alice-psi-0-spu.alice.svc"
    assert [t.new_state for t in Transition.objects.filter(job=job)] == [
        "Pending",
        "Running",
        "Failed",
    ]
    record = AuditRecord.objects.get()
    assert (record.connection_id, record.username) == (conn.pk, "olga")

    # The admin group keeps its connection permissions under the new app label.
    ada = User.objects.get(username="ada")
    assert ada.has_perm("connections.change_connection")
    assert ada.has_perm("connections.view_connection")
    assert not ada.has_perm("jobs.change_connection")

    # A page shows the upgraded rows.
    client = Client()
    client.force_login(User.objects.get(username="olga"))
    page = client.get("/jobs/master/job-psi/")
    assert page.status_code == 200
    assert b"job-psi-t1" in page.content or b"psi" in page.content
    listing = client.get("/connections/")
    assert listing.status_code == 200
    assert b"master" in listing.content
