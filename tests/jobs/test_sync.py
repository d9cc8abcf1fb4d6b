"""The sync engine's write path, reconcile and watch handling (SQLite, httpx.MockTransport)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from django.test import override_settings
from django.utils import timezone

from connections.models import Connection, SyncState
from jobs import sync
from jobs.models import Endpoint, Job, PartyStatus, Task, Transition
from kuscia import types as kt
from kuscia.client import KusciaClient
from kuscia.config import ConnectionConfig
from kuscia.wire import to_json

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 1, 1, 10, 0, 0, tzinfo=UTC)


def party(domain: str, state: str, endpoints: tuple[kt.Endpoint, ...] = ()) -> kt.PartyStatus:
    return kt.PartyStatus(domain_id=domain, state=state, endpoints=endpoints)


def task(tid: str, state: str, progress: float = 0.0, parties=("alice", "bob")) -> kt.TaskStatus:
    return kt.TaskStatus(
        task_id=tid,
        alias=tid,
        state=state,
        progress=progress,
        create_time=T0,
        start_time=T0 if state != kt.PENDING else None,
        end_time=T0 + timedelta(minutes=1) if state in (kt.SUCCEEDED, kt.FAILED) else None,
        parties=tuple(
            party(d, state, (kt.Endpoint("spu", "Cluster", f"{tid}-{d}-0-spu.{d}.svc"),))
            for d in parties
        ),
    )


def status(job_id: str, state: str, tasks: tuple[kt.TaskStatus, ...], stages=None) -> kt.JobStatus:
    stages = stages or (
        kt.PartyStageStatus("alice", "JobCreateStageSucceeded"),
        kt.PartyStageStatus("bob", "JobCreateStageSucceeded"),
    )
    return kt.JobStatus(
        job_id=job_id,
        status=kt.JobStatusDetail(
            state=state,
            create_time=T0,
            start_time=T0 if state != kt.PENDING else None,
            end_time=T0 + timedelta(minutes=2) if state in kt.TERMINAL_JOB_STATES else None,
            tasks=tasks,
            stage_status_list=tuple(stages),
        ),
        raw={"job_id": job_id},
    )


def spec(job_id: str, tolerable: bool | None = None) -> kt.JobSpec:
    parties = (kt.Party("alice", "guest"), kt.Party("bob", "host"))
    return kt.JobSpec(
        job_id=job_id,
        initiator="alice",
        max_parallelism=2,
        tasks=(
            kt.TaskSpec("psi", "psi", "secretflow-image:1", parties, task_input_config="{}"),
            kt.TaskSpec(
                "split",
                "split",
                "secretflow-image:1",
                parties,
                dependencies=("psi",),
                tolerable=tolerable,
            ),
        ),
        custom_fields={"team": "a"},
    )


def detail_of(sp: kt.JobSpec, st: kt.JobStatus) -> kt.JobDetail:
    return kt.JobDetail(
        job_id=sp.job_id,
        initiator=sp.initiator,
        max_parallelism=sp.max_parallelism,
        tasks=tuple(
            kt.TaskSpec(
                t.alias,
                t.task_id,
                t.app_image,
                t.parties,
                t.dependencies,
                t.task_input_config,
                t.priority,
                t.schedule_config,
                None,  # QueryJob never returns tolerable
            )
            for t in sp.tasks
        ),
        status=st.status,
        custom_fields=dict(sp.custom_fields),
        raw={"job_id": sp.job_id},
    )


@pytest.fixture
def conn() -> Connection:
    return Connection.objects.create(name="k1", url="http://kuscia.test", protocol="NOTLS")


def transitions(job: Job) -> list[tuple[str, str, str, str, str]]:
    return [
        (t.kind, t.task_id, t.domain_id, t.old_state, t.new_state)
        for t in Transition.objects.filter(job=job).order_by("id")
    ]


# ------------------------------------------------------------------ write path


def test_first_observation_creates_rows_and_transitions(conn: Connection) -> None:
    st = status("j1", kt.RUNNING, (task("psi", kt.RUNNING, 0.5), task("split", kt.PENDING, 0, ())))
    job = sync.apply_job_status(conn, st, source=Transition.Source.WATCH)
    assert job.state == kt.RUNNING and job.source == Job.Source.DISCOVERED
    assert job.spec_fetched is False
    assert job.task_count == 2 and job.tasks_succeeded == 0
    assert job.progress == pytest.approx(0.25)
    assert job.parties == ["alice", "bob"]
    assert Task.objects.filter(job=job).count() == 2
    assert PartyStatus.objects.filter(task__job=job).count() == 2
    assert Endpoint.objects.filter(party__task__job=job).count() == 2
    assert transitions(job) == [
        ("job", "", "", "", "Running"),
        ("task", "psi", "", "", "Running"),
        ("party", "psi", "alice", "", "Running"),
        ("party", "psi", "bob", "", "Running"),
        ("task", "split", "", "", "Pending"),
    ]
    assert {t.source for t in Transition.objects.filter(job=job)} == {"watch"}


def test_same_observation_again_writes_nothing(conn: Connection) -> None:
    st = status("j1", kt.RUNNING, (task("psi", kt.RUNNING, 0.5),))
    sync.apply_job_status(conn, st, source="watch", observed_at=T0)
    # Go maps: reordered stage list and parties must not count as a change.
    shuffled = status(
        "j1",
        kt.RUNNING,
        (
            kt.TaskStatus(
                **{
                    **st.status.tasks[0].__dict__,
                    "parties": tuple(reversed(st.status.tasks[0].parties)),
                }
            ),
        ),
        stages=tuple(reversed(st.status.stage_status_list)),
    )
    stats = sync.apply_job_statuses(conn, [shuffled], source="poll", observed_at=T0 + timedelta(1))
    assert stats.rows == 0
    assert Transition.objects.count() == 4


def test_changes_are_recorded_once_with_denormalised_fields(conn: Connection) -> None:
    sync.apply_job_status(
        conn, status("j1", kt.RUNNING, (task("psi", kt.RUNNING, 0.2),)), source="watch"
    )
    later = timezone.now() + timedelta(seconds=1)
    st = status("j1", kt.SUCCEEDED, (task("psi", kt.SUCCEEDED, 1.0),))
    stats = sync.apply_job_statuses(conn, [st], source="poll", observed_at=later)
    assert stats.transitions == 4 and stats.jobs_updated == 1
    job = Job.objects.get(job_id="j1")
    assert job.state == kt.SUCCEEDED and job.progress == 1.0 and job.tasks_succeeded == 1
    assert job.last_changed == later and job.end_time == T0 + timedelta(minutes=2)
    last = Transition.objects.filter(job=job, kind="job").last()
    assert last is not None
    assert (last.old_state, last.new_state, last.source) == ("Running", "Succeeded", "poll")
    assert last.kuscia_time == T0 + timedelta(minutes=2)
    again = sync.apply_job_statuses(conn, [st], source="watch", observed_at=later)
    assert again.rows == 0


def test_progress_only_change_updates_task_and_job(conn: Connection) -> None:
    sync.apply_job_status(
        conn, status("j1", kt.RUNNING, (task("psi", kt.RUNNING, 0.2),)), source="watch"
    )
    n = Transition.objects.count()
    stats = sync.apply_job_statuses(
        conn, [status("j1", kt.RUNNING, (task("psi", kt.RUNNING, 0.6),))], source="watch"
    )
    assert stats.transitions == 0 and stats.tasks_written == 1 and stats.jobs_updated == 1
    assert Transition.objects.count() == n
    assert Job.objects.get().progress == pytest.approx(0.6)


def test_stale_observation_is_skipped(conn: Connection) -> None:
    new = timezone.now()
    sync.apply_job_status(
        conn,
        status("j1", kt.SUCCEEDED, (task("psi", kt.SUCCEEDED, 1),)),
        source="watch",
        observed_at=new,
    )
    old = status("j1", kt.RUNNING, (task("psi", kt.RUNNING, 0.5),))
    stats = sync.apply_job_statuses(conn, [old], source="poll", observed_at=new - timedelta(1))
    assert stats.stale_skipped == 1 and stats.rows == 0
    assert Job.objects.get().state == kt.SUCCEEDED


def test_endpoints_follow_the_status(conn: Connection) -> None:
    sync.apply_job_status(
        conn, status("j1", kt.RUNNING, (task("psi", kt.RUNNING),)), source="watch"
    )
    moved = kt.TaskStatus(
        task_id="psi",
        alias="psi",
        state=kt.RUNNING,
        create_time=T0,
        start_time=T0,
        parties=(
            party("alice", kt.RUNNING, (kt.Endpoint("spu", "Domain", "new-host"),)),
            party("bob", kt.RUNNING, ()),
        ),
    )
    sync.apply_job_statuses(conn, [status("j1", kt.RUNNING, (moved,))], source="poll")
    eps = list(Endpoint.objects.values_list("party__domain_id", "scope", "endpoint"))
    assert eps == [("alice", "Domain", "new-host")]


def test_detail_stores_spec_and_record_created_keeps_tolerable(conn: Connection) -> None:
    sp = spec("j2", tolerable=True)
    job = sync.record_created(conn, sp, None)
    assert job.source == Job.Source.CREATED and job.state == kt.PENDING and job.spec_fetched
    tasks = list(Task.objects.filter(job=job).order_by("position"))
    assert [t.task_id for t in tasks] == ["psi", "split"]
    assert tasks[1].dependencies == ["psi"] and tasks[1].tolerable is True
    assert tasks[0].party_spec[0]["role"] == "guest"
    assert job.task_count == 2 and job.parties == ["alice", "bob"]
    assert PartyStatus.objects.filter(task__job=job).count() == 4
    assert ("job", "", "", "", "Pending") in transitions(job)
    assert {t.source for t in Transition.objects.filter(job=job)} == {"create"}
    # A later QueryJob (no tolerable) must not forget it.
    st = status("j2", kt.RUNNING, (task("psi", kt.RUNNING, 0.1), task("split", kt.PENDING, 0, ())))
    sync.apply_job_detail(conn, detail_of(sp, st), source="poll")
    assert Task.objects.get(job=job, task_id="split").tolerable is True
    assert Job.objects.get(pk=job.pk).state == kt.RUNNING
    assert Job.objects.get(pk=job.pk).custom_fields == {"team": "a"}


def test_mark_gone_keeps_history_and_a_newer_observation_revives(conn: Connection) -> None:
    job = sync.apply_job_status(
        conn, status("j1", kt.RUNNING, (task("psi", kt.RUNNING),)), source="watch"
    )
    gone_at = timezone.now()
    sync.mark_gone(job, reason="watch-deleted", observed_at=gone_at)
    job.refresh_from_db()
    assert job.gone_at == gone_at and job.gone_reason == "watch-deleted"
    assert Transition.objects.filter(job=job).exists()
    assert not Job.objects.active().exists()
    # An observation fetched before the deletion does not bring it back...
    st = status("j1", kt.RUNNING, (task("psi", kt.RUNNING),))
    sync.apply_job_statuses(conn, [st], source="poll", observed_at=gone_at - timedelta(1))
    assert Job.objects.get().gone_at is not None
    # ...a newer one does (Kuscia knows the id again).
    sync.apply_job_statuses(conn, [st], source="poll", observed_at=gone_at + timedelta(1))
    assert Job.objects.get().gone_at is None
    sync.forget_job(job)
    assert not Job.objects.exists() and not Transition.objects.exists()


def test_console_delete_wins_over_the_watch_deleted_event_it_raced(conn: Connection) -> None:
    st = status("j1", kt.RUNNING, (task("psi", kt.RUNNING),))
    job = sync.apply_job_status(conn, st, source="watch")
    watch_saw = timezone.now()
    # The DELETED event of our own delete arrives before the delete action records it...
    sync.mark_gone(job, reason="watch-deleted", observed_at=watch_saw)
    sync.mark_gone(job, reason="not-found", observed_at=watch_saw + timedelta(seconds=1))
    assert Job.objects.get().gone_reason == "watch-deleted"  # first automatic reason kept
    sync.mark_gone(job, reason="deleted-here", observed_at=watch_saw + timedelta(seconds=3))
    job.refresh_from_db()
    assert job.gone_reason == "deleted-here" and job.gone_at == watch_saw  # first time kept
    # ...and once it is "deleted-here", later automatic observations do not replace it.
    sync.mark_gone(job, reason="watch-deleted", observed_at=watch_saw + timedelta(seconds=4))
    assert Job.objects.get().gone_reason == "deleted-here"


def test_console_delete_of_a_job_gone_long_ago_keeps_the_old_reason(conn: Connection) -> None:
    st = status("j1", kt.RUNNING, (task("psi", kt.RUNNING),))
    job = sync.apply_job_status(conn, st, source="watch")
    long_ago = timezone.now() - timedelta(hours=2)
    sync.mark_gone(job, reason="watch-deleted", observed_at=long_ago)
    sync.mark_gone(job, reason="deleted-here")  # Kuscia answered not found: deleted elsewhere
    job.refresh_from_db()
    assert job.gone_reason == "watch-deleted" and job.gone_at == long_ago


# ------------------------------------------------------------------ a fake Kuscia (MockTransport)


class FakeKuscia:
    """Enough of KusciaAPI's JSON for reconcile and watch, behind httpx.MockTransport."""

    def __init__(self) -> None:
        self.jobs: dict[str, kt.JobDetail] = {}
        self.requests: list[tuple[str, Any]] = []
        self.down = False
        self.watch_events: list[dict[str, Any]] = []
        self.not_ours: set[str] = set()  # jobs a lite node's domain does not take part in

    def put(self, detail: kt.JobDetail) -> None:
        self.jobs[detail.job_id] = detail

    def client(self) -> KusciaClient:
        config = ConnectionConfig(url="http://kuscia.test", protocol="NOTLS")
        return KusciaClient(config, transport=httpx.MockTransport(self.handle))

    def reply(self, data: Any, code: int = 0, message: str = "success") -> httpx.Response:
        body = {"status": {"code": code, "message": message, "details": []}, "data": data}
        return httpx.Response(200, json=body)

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("Connection refused", request=request)
        body = json.loads(request.content or b"{}")
        path = request.url.path
        self.requests.append((path, body))
        if path == "/api/v1/job/status/batchQuery":
            for jid in body["job_ids"]:
                if jid in self.not_ours:
                    msg = "domain's KusciaAPI could only retrieve the job it participates in"
                    return self.reply(None, 11203, msg)
                if jid not in self.jobs:
                    msg = f'kusciakuscia.secretflow "{jid}" not found'
                    return self.reply(None, 11203, msg)
            jobs = [{"job_id": j, "status": to_json(self.jobs[j].status)} for j in body["job_ids"]]
            return self.reply({"jobs": jobs})
        if path == "/api/v1/job/query":
            d = self.jobs.get(body["job_id"])
            if d is None:
                return self.reply(None, 11202, f'kusciajobs "{body["job_id"]}" not found')
            return self.reply(to_json(d))
        if path == "/api/v1/job/watch":
            chunks = b"".join(json.dumps(e).encode() for e in self.watch_events)
            return httpx.Response(200, content=chunks)
        return httpx.Response(404, text="404 page not found")


def known(conn: Connection, fake: FakeKuscia, job_id: str, state: str = kt.RUNNING) -> None:
    st = status(job_id, state, (task("psi", state), task("split", kt.PENDING, 0, ())))
    d = detail_of(spec(job_id), st)
    fake.put(d)
    sync.apply_job_detail(conn, d, source="action", job_source=Job.Source.ADDED)


def test_a_job_kuscia_refuses_to_show_is_not_marked_gone(conn: Connection) -> None:
    """11203 without "not found" (a lite node asked for a job its domain is not in) fails the
    batch like an unknown id, but the job still exists: it is left alone, not marked gone."""
    fake = FakeKuscia()
    for i in range(4):
        known(conn, fake, f"j{i}")
    fake.not_ours.add("j1")
    del fake.jobs["j3"]
    with fake.client() as client:
        summary = sync.reconcile_connection(conn, client=client)
    assert summary.error == "" and summary.gone == ["j3"] and summary.refused == ["j1"]
    assert Job.objects.get(job_id="j1").gone_at is None
    assert Job.objects.get(job_id="j3").gone_reason == "not-found"
    assert summary.as_dict()["refused"] == ["j1"]
    assert "1 refused by Kuscia (not visible here): j1" in str(summary)
    refused = Job.objects.get(job_id="j1")
    assert refused.refused_at is not None and "could only retrieve" in refused.refused_message
    # The next quick cycle does not ask for it (one request, no bisection) ...
    with fake.client() as client:
        quick = sync.reconcile_connection(conn, client=client, include_slow=False)
    assert quick.requests == 1 and quick.refused == []
    # ... a slow one does; once Kuscia shows it again, it is no longer marked
    fake.not_ours.clear()
    with fake.client() as client:
        slow = sync.reconcile_connection(conn, client=client, include_slow=True)
    assert slow.refused == [] and Job.objects.get(job_id="j1").refused_at is None


def test_reconcile_isolates_unknown_ids_and_finishes_the_rest(conn: Connection) -> None:
    fake = FakeKuscia()
    for i in range(6):
        known(conn, fake, f"j{i}")
    del fake.jobs["j2"], fake.jobs["j4"]
    fake.put(detail_of(spec("j5"), status("j5", kt.SUCCEEDED, (task("psi", kt.SUCCEEDED, 1),))))
    with override_settings(KUSCIA_BATCH_SIZE=4), fake.client() as client:
        summary = sync.reconcile_connection(conn, client=client)
    assert summary.error == "" and summary.chunks == 2 and summary.polled == 6
    assert sorted(summary.gone) == ["j2", "j4"]
    gone = Job.objects.filter(gone_at__isnull=False)
    assert sorted(gone.values_list("job_id", flat=True)) == ["j2", "j4"]
    assert {j.gone_reason for j in gone} == {"not-found"}
    assert Job.objects.get(job_id="j5").state == kt.SUCCEEDED
    # chunk 1 (j0..j3): fails naming j2, retried without it; chunk 2 (j4, j5) likewise.
    assert summary.requests == 4
    state = SyncState.objects.get(connection=conn)
    assert state.last_success is not None and state.consecutive_failures == 0
    # Nothing changed since: the next cycle writes no job rows and skips gone/terminal ones.
    with fake.client() as client:
        again = sync.reconcile_connection(conn, client=client, include_slow=False)
    assert again.polled == 3 and again.writes.rows == 0 and again.requests == 1


def test_bisection_when_the_message_names_no_id(conn: Connection) -> None:
    fake = FakeKuscia()
    for i in range(8):
        known(conn, fake, f"j{i}")
    del fake.jobs["j6"]
    original = fake.reply

    def anonymous(data: Any, code: int = 0, message: str = "success") -> httpx.Response:
        return original(data, code, "not found" if code else message)

    fake.reply = anonymous  # type: ignore[method-assign]
    with fake.client() as client:
        summary = sync.reconcile_connection(conn, client=client)
    assert summary.gone == ["j6"]
    assert Job.objects.filter(gone_at__isnull=True).count() == 7
    assert summary.requests <= 1 + 2 * 3  # log2(8) levels


def test_errors_back_off_and_recovery_resets(conn: Connection) -> None:
    fake = FakeKuscia()
    known(conn, fake, "j1")
    fake.down = True
    with override_settings(KUSCIA_POLL_SECONDS=2, KUSCIA_BACKOFF_MAX_SECONDS=5):
        delays = []
        for _ in range(3):
            with fake.client() as client:
                s = sync.reconcile_connection(conn, client=client)
            assert s.error.split(":")[0] in ("connect_refused", "connection")
            st = SyncState.objects.get(connection=conn)
            delays.append(st.backoff_seconds)
        assert st.consecutive_failures == 3 and st.last_error_kind in (
            "connect_refused",
            "connection",
        )
        assert st.last_error_hint
        assert [round(d) for d in delays] == [2, 4, 5]
        assert sync.poll_connection(conn).skipped == "waiting"
        fake.down = False
        with fake.client() as client:
            s = sync.reconcile_connection(conn, client=client)
    st = SyncState.objects.get(connection=conn)
    assert s.error == "" and st.consecutive_failures == 0 and st.next_attempt is None


def test_idle_connection_backs_off_and_new_job_wakes_it(conn: Connection) -> None:
    fake = FakeKuscia()
    with override_settings(KUSCIA_IDLE_POLL_SECONDS=30), fake.client() as client:
        s = sync.reconcile_connection(conn, client=client)
    assert s.requests == 0
    st = SyncState.objects.get(connection=conn)
    assert st.next_attempt is not None and st.next_attempt > timezone.now()
    known(conn, fake, "j1")
    assert SyncState.objects.get(connection=conn).next_attempt is None


def test_slow_cadence_for_restartable_and_recent(conn: Connection) -> None:
    fake = FakeKuscia()
    known(conn, fake, "run")
    known(conn, fake, "failed", kt.FAILED)
    known(conn, fake, "done", kt.SUCCEEDED)
    known(conn, fake, "old", kt.SUCCEEDED)
    Job.objects.filter(job_id="old").update(last_changed=timezone.now() - timedelta(days=1))
    now = timezone.now()
    assert sync.jobs_to_poll(conn, now=now, include_slow=False) == ["run"]
    assert sync.jobs_to_poll(conn, now=now, include_slow=True) == ["run", "failed", "done"]


def test_missing_specs_are_fetched_once(conn: Connection) -> None:
    fake = FakeKuscia()
    st = status("j1", kt.RUNNING, (task("psi", kt.RUNNING),))
    fake.put(detail_of(spec("j1"), st))
    sync.apply_job_status(conn, st, source="watch")
    with fake.client() as client:
        s = sync.reconcile_connection(conn, client=client)
    assert s.specs_fetched == 1
    job = Job.objects.get()
    assert job.spec_fetched and job.initiator == "alice" and job.task_count == 2
    with fake.client() as client:
        assert sync.reconcile_connection(conn, client=client).specs_fetched == 0


def test_watch_discovers_updates_and_marks_deleted_gone(conn: Connection) -> None:
    fake = FakeKuscia()
    known(conn, fake, "old")
    new_st = status("new", kt.RUNNING, (task("psi", kt.RUNNING, 0.3),))
    fake.put(detail_of(spec("new"), new_st))
    fake.watch_events = [
        {"object": {"job_id": "new", "status": to_json(new_st.status)}},
        {"object": {"job_id": "old", "status": to_json(fake.jobs["old"].status)}},
        {"type": 4},
        {"type": 2, "object": {"job_id": "old", "status": to_json(fake.jobs["old"].status)}},
    ]
    with fake.client() as client:
        s = sync.watch_connection(conn.pk, timeout_seconds=5, client=client)
    assert s.error == "" and s.discovered == 1 and s.gone == 1 and s.events == 3
    new = Job.objects.get(job_id="new")
    assert new.source == Job.Source.DISCOVERED and new.spec_fetched and new.initiator == "alice"
    assert {t.source for t in Transition.objects.filter(job=new)} == {"watch"}
    assert Job.objects.get(job_id="old").gone_reason == "watch-deleted"
    state = SyncState.objects.get(connection=conn)
    assert state.watch_connected_since is None and state.watch_last_error == ""


def test_a_watch_event_for_a_refused_job_clears_its_mark(conn: Connection) -> None:
    fake = FakeKuscia()
    known(conn, fake, "j1")
    Job.objects.filter(job_id="j1").update(refused_at=timezone.now(), refused_message="no")
    fake.watch_events = [{"object": {"job_id": "j1", "status": to_json(fake.jobs["j1"].status)}}]
    with fake.client() as client:
        sync.watch_connection(conn.pk, timeout_seconds=5, client=client)
    job = Job.objects.get(job_id="j1")
    assert job.refused_at is None and job.refused_message == ""


def test_refresh_and_track(conn: Connection) -> None:
    fake = FakeKuscia()
    st = status("j1", kt.RUNNING, (task("psi", kt.RUNNING),))
    fake.put(detail_of(spec("j1"), st))
    with fake.client() as client:
        job = sync.track_job(conn, "j1", client=client)
        assert job.source == Job.Source.ADDED
        assert {t.source for t in Transition.objects.filter(job=job)} == {"action"}
        del fake.jobs["j1"]
        job = sync.refresh_job(job, client=client)
        assert job.gone_at is not None and job.gone_reason == "not-found"
        from kuscia.errors import KusciaError

        with pytest.raises(KusciaError) as exc:
            sync.track_job(conn, "nope", client=client)
        assert exc.value.kind == "not_found"


# ------------------------------------------------------------------ connections and leases


@override_settings(
    KUSCIA_API_URL="https://10.0.0.1:8082",
    KUSCIA_CERT_DIR="/etc/kuscia/certs",
    KUSCIA_TOKEN_FILE="/run/secrets/token",
    KUSCIA_PROTOCOL="MTLS",
)
def test_ensure_default_and_client_config() -> None:
    conn = Connection.objects.ensure_default()
    assert conn.name == "default" and conn.is_default and conn.url == "https://10.0.0.1:8082"
    assert Connection.objects.ensure_default().pk == conn.pk
    cfg = conn.client_config()
    assert cfg.ca_file == "/etc/kuscia/certs/ca.crt"
    assert cfg.cert_file == "/etc/kuscia/certs/kusciaapi-server.crt"
    assert cfg.token_file == "/run/secrets/token" and cfg.protocol == "MTLS"
    with override_settings(KUSCIA_API_URL="https://10.0.0.2:8082"):
        assert Connection.objects.ensure_default().url == "https://10.0.0.2:8082"
    assert Connection.objects.count() == 1


@override_settings(REDIS_URL="")
def test_db_lease_is_exclusive_and_expires() -> None:
    a, b = sync.make_lease("poll:1", 60), sync.make_lease("poll:1", 60)
    assert isinstance(a, sync.DbLease)
    assert a.acquire() and not b.acquire()
    assert a.renew() and not b.renew()
    a.release()
    assert b.acquire() and not a.acquire()
    from connections.models import SyncLease

    SyncLease.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert a.acquire()


def _recreated(job_id: str) -> tuple[kt.JobStatus, kt.JobStatus, datetime]:
    done = status(
        job_id, kt.SUCCEEDED, (task("psi", kt.SUCCEEDED, 1), task("split", kt.SUCCEEDED, 1))
    )
    reborn_at = T0 + timedelta(hours=3)
    st = status(job_id, kt.RUNNING, (task("psi", kt.RUNNING, 0.2),))
    again = dataclasses.replace(
        st, status=dataclasses.replace(st.status, create_time=reborn_at, start_time=reborn_at)
    )
    return done, again, reborn_at


def test_a_job_recreated_in_kuscia_reads_as_a_new_run(conn: Connection) -> None:
    fake = FakeKuscia()
    done, again, reborn_at = _recreated("j1")
    sync.apply_job_detail(conn, detail_of(spec("j1"), done), source="watch")
    before = len(transitions(Job.objects.get()))
    # Deleted in Kuscia, then created again with the same id: a later create_time, running.
    fake.put(detail_of(spec("j1"), again))
    fake.watch_events = [
        {"type": 2, "object": {"job_id": "j1", "status": to_json(done.status)}},
        {"type": 0, "object": {"job_id": "j1", "status": to_json(again.status)}},
    ]
    with fake.client() as client:
        s = sync.watch_connection(conn.pk, timeout_seconds=5, client=client)
    assert s.error == "" and s.gone == 1 and s.discovered == 0
    assert [p for p, _ in fake.requests].count("/api/v1/job/query") == 1  # the new run's spec
    job = Job.objects.get()
    assert job.gone_at is None and job.gone_reason == ""
    assert job.state == kt.RUNNING and job.create_time == reborn_at and job.spec_fetched
    new = transitions(job)[before:]
    first = Transition.objects.filter(job=job).order_by("id")[before]
    assert new[0] == ("job", "", "", kt.SUCCEEDED, kt.RUNNING)
    assert first.message.startswith("job re-created in Kuscia (new create_time 2026-01-01T13:00")
    assert first.kuscia_time == reborn_at and first.source == "watch"
    # The old run's tasks are gone (their history stays); the new run starts from scratch.
    # (parties come from the spec as Pending first, exactly as for a job seen the first time)
    assert sorted(new[1:]) == [
        ("party", "psi", "alice", kt.PENDING, kt.RUNNING),
        ("party", "psi", "bob", kt.PENDING, kt.RUNNING),
        ("task", "psi", "", "", kt.RUNNING),
        ("task", "split", "", "", kt.PENDING),
    ]
    assert list(job.tasks.values_list("task_id", "state")) == [
        ("psi", kt.RUNNING),
        ("split", kt.PENDING),
    ]
    assert job.tasks_succeeded == 0 and job.progress == 0.1 and job.task_count == 2
    # The same run observed again is not another re-creation.
    sync.apply_job_statuses(conn, [again], source="poll")
    assert Transition.objects.filter(job=job, message__startswith="job re-created").count() == 1


def test_a_recreated_job_seen_by_status_only_gets_its_spec_again(conn: Connection) -> None:
    fake = FakeKuscia()
    done, again, reborn_at = _recreated("j2")
    sync.apply_job_detail(conn, detail_of(spec("j2"), done), source="watch")
    sync.apply_job_statuses(conn, [again], source="poll")  # a batchQuery element
    job = Job.objects.get()
    assert job.state == kt.RUNNING and job.create_time == reborn_at and not job.spec_fetched
    assert list(job.tasks.values_list("task_id", "state")) == [("psi", kt.RUNNING)]
    fake.put(detail_of(spec("j2"), again))
    with fake.client() as client:
        assert sync.reconcile_connection(conn, client=client).specs_fetched == 1
    job.refresh_from_db()
    assert job.spec_fetched and job.task_count == 2
    assert transitions(job)[-1] == ("task", "split", "", "", kt.PENDING)
    assert Transition.objects.filter(job=job, message__startswith="job re-created").count() == 1
