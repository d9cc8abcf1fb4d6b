"""Property test: generated create-form submissions thrown at the create view.

Valid ones must be created by the simulator (over real mTLS); invalid ones must come back with
field errors and nothing sent to Kuscia: no audit row (the create service writes one before
any request) and no new job in the simulator's world.
"""

from __future__ import annotations

import itertools
import json
import os
import time

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.models import AuditRecord
from connections.models import Connection
from jobs.models import Job
from kuscia import types as kt
from operate.forms import renamed_tasks, spec_to_data
from operate.job_templates import example_spec, task_input_config

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=False)]

EXAMPLES = int(os.environ.get("KC_PROPERTY_EXAMPLES", "1000"))
DOMAINS = ["alice", "bob", "carol"]
counter = itertools.count(1)

label = st.from_regex(r"\A[a-z0-9]([a-z0-9_.-]{0,20}[a-z0-9])?\Z")
SUFFIX = st.from_regex(r"\A[a-z0-9]{0,6}\Z")
quantity = st.sampled_from(["", "1", "500m", "2", "4Gi", "512Mi", "0.5", "1e3"])


@st.composite
def valid_specs(draw: st.DrawFn) -> kt.JobSpec:
    n = next(counter)
    count = draw(st.integers(1, 4))
    aliases = [f"t{k}x{n}" for k in range(count)]
    tasks = []
    for k, alias in enumerate(aliases):
        parties = draw(st.lists(st.sampled_from(DOMAINS), min_size=1, max_size=3, unique=True))
        deps = draw(st.lists(st.sampled_from(aliases[:k]), unique=True)) if k else []
        tasks.append(
            kt.TaskSpec(
                alias=alias,
                task_id=alias,
                app_image="secretflow-image",
                parties=tuple(
                    kt.Party(
                        domain_id=p,
                        role=draw(st.sampled_from(["", "", "server", "client"])),
                        resources=draw(
                            st.one_of(
                                st.none(),
                                st.builds(
                                    kt.JobResource,
                                    cpu=quantity,
                                    memory=quantity,
                                    bandwidth=quantity,
                                ),
                            )
                        ),
                        bandwidth_limits=tuple(
                            kt.BandwidthLimit(d, draw(st.integers(1, 10**9)))
                            for d in draw(
                                st.lists(st.sampled_from(DOMAINS), max_size=2, unique=True)
                            )
                        ),
                    )
                    for p in parties
                ),
                dependencies=tuple(deps),
                task_input_config=draw(
                    st.sampled_from(
                        [
                            "",
                            '{"a": 1}',
                            task_input_config(
                                parties=parties,
                                eval_param={"domain": "d", "name": "n", "version": "1"},
                                input_ids=[f"{p}-table" for p in parties],
                                output_ids=["o"],
                                output_uris=["o.csv"],
                            ),
                        ]
                    )
                ),
                priority=draw(st.integers(-1000, 1000)),
                schedule_config=draw(
                    st.one_of(
                        st.none(),
                        st.builds(
                            kt.ScheduleConfig,
                            st.integers(0, 3600),
                            st.integers(0, 3600),
                            st.integers(0, 3600),
                        ),
                    )
                ),
                tolerable=draw(st.booleans()),
            )
        )
    custom = draw(
        st.dictionaries(
            label.filter(lambda k: not k.startswith("sim-")),
            st.one_of(st.just(""), label),
            max_size=3,
        )
    )
    return kt.JobSpec(
        job_id=f"prop-{n}-{draw(SUFFIX)}".rstrip("-"),
        initiator=draw(st.sampled_from([tasks[0].parties[0].domain_id, "carol"])),
        max_parallelism=draw(st.integers(1, 128)),
        tasks=tuple(tasks),
        custom_fields=custom,
    )


def _set(data, key, value):
    data.setlist(key, value if isinstance(value, list) else [value])


# Each breaks exactly one rule; (name, applies-to(spec) -> bool, mutate(data, spec)).
def _m_job_id(data, spec, draw):
    _set(data, "job_id", draw(st.sampled_from(["", "Upper", "a_b", "-x", "x" * 64, "a b"])))


def _m_parallelism(data, spec, draw):
    _set(data, "max_parallelism", draw(st.sampled_from(["0", "129", "-3", "abc", ""])))


def _m_missing_dep(data, spec, draw):
    _set(data, f"tasks-{len(spec.tasks) - 1}-dependencies", ["no-such-alias"])


def _m_self_dep(data, spec, draw):
    _set(data, "tasks-0-dependencies", [spec.tasks[0].alias])


def _m_cycle(data, spec, draw):
    last = len(spec.tasks) - 1
    _set(data, "tasks-0-dependencies", [spec.tasks[last].alias])
    _set(data, f"tasks-{last}-dependencies", [spec.tasks[0].alias])


def _m_dup_alias(data, spec, draw):
    _set(data, "tasks-1-alias", spec.tasks[0].alias)


def _m_dup_task_id(data, spec, draw):
    _set(data, "tasks-1-task_id", spec.tasks[0].task_id)


def _m_bad_task_id(data, spec, draw):
    _set(data, "tasks-0-task_id", draw(st.sampled_from(["Bad", "a_b", "a.b", "-a", "x" * 64])))


def _m_bad_json(data, spec, draw):
    _set(data, "tasks-0-task_input_config", draw(st.sampled_from(["{", '{"a":}', "[1,", "nope"])))


def _m_empty_domain(data, spec, draw):
    _set(data, "tasks-0-parties-0-domain_id", "")


def _m_bad_cpu(data, spec, draw):
    _set(data, "tasks-0-parties-0-cpu", draw(st.sampled_from(["lots", "1 core", "-1", "1x"])))


def _m_no_parties(data, spec, draw):
    _set(data, "tasks-0-parties-TOTAL_FORMS", "0")


def _m_custom_key(data, spec, draw):
    i = len(spec.custom_fields)
    _set(data, "cf-TOTAL_FORMS", str(i + 1))
    _set(data, f"cf-{i}-key", draw(st.sampled_from(["k" * 39, "bad key", "-k", "ü"])))
    _set(data, f"cf-{i}-value", "v")


def _m_custom_value(data, spec, draw):
    i = len(spec.custom_fields)
    _set(data, "cf-TOTAL_FORMS", str(i + 1))
    _set(data, f"cf-{i}-key", "okkey")
    _set(data, f"cf-{i}-value", draw(st.sampled_from(["v" * 64, "a b", "-v"])))


def _m_empty_alias(data, spec, draw):
    _set(data, "tasks-0-alias", "")
    _set(data, "tasks-0-task_id", spec.tasks[0].task_id)


def _m_priority(data, spec, draw):
    _set(data, "tasks-0-priority", draw(st.sampled_from(["high", "1.5", str(2**31)])))


def _m_no_tasks(data, spec, draw):
    _set(data, "tasks-TOTAL_FORMS", "0")


def _m_in_use(data, spec, draw):
    _set(data, "job_id", EXISTING)


def _m_initiator(data, spec, draw):
    _set(data, "initiator", "")


def _m_bandwidth(data, spec, draw):
    _set(
        data,
        "tasks-0-parties-0-bandwidth_limits",
        draw(st.sampled_from(["bob", "bob=0", "=5", "bob=x"])),
    )


ANY = lambda spec: True  # noqa: E731
TWO = lambda spec: len(spec.tasks) >= 2  # noqa: E731
MUTATIONS = [
    (_m_job_id, ANY),
    (_m_parallelism, ANY),
    (_m_missing_dep, ANY),
    (_m_self_dep, ANY),
    (_m_cycle, TWO),
    (_m_dup_alias, TWO),
    (_m_dup_task_id, TWO),
    (_m_bad_task_id, ANY),
    (_m_bad_json, ANY),
    (_m_empty_domain, ANY),
    (_m_bad_cpu, ANY),
    (_m_no_parties, ANY),
    (_m_custom_key, ANY),
    (_m_custom_value, ANY),
    (_m_empty_alias, ANY),
    (_m_priority, ANY),
    (_m_no_tasks, ANY),
    (_m_in_use, ANY),
    (_m_initiator, ANY),
    (_m_bandwidth, ANY),
]
EXISTING = "prop-existing"


@pytest.fixture
def setup(kuscia_sim, db):
    conn = Connection.objects.create(
        name="sim", url=kuscia_sim.url, cert_dir=str(kuscia_sim.cert_dir)
    )
    user = User.objects.create_user("op", password="pw")
    user.groups.add(Group.objects.get(name="operator"))
    client = Client()
    client.force_login(user)
    # one job that already exists, for the "id in use" mutation
    data = spec_to_data(example_spec(EXISTING), connection="sim", token="seed")
    r = client.post(reverse("jobs-actions:create"), data)
    assert r.status_code == 302, r.content.decode()[:2000]
    return conn, client, kuscia_sim


@pytest.mark.timeout(1200)
def test_generated_submissions(setup):
    conn, client, sim = setup
    stats = {"valid": 0, "invalid": 0}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(spec=valid_specs(), data=st.data())
    def run(spec, data):
        form = spec_to_data(spec, connection="sim", token=f"tok-{next(counter)}")
        applicable = [m for m, ok in MUTATIONS if ok(spec)]
        # a mix: valid submissions and ones that break exactly one rule
        mutate = data.draw(st.sampled_from(applicable)) if data.draw(st.integers(0, 2)) else None
        if mutate is not None:
            mutate(form, spec, data.draw)
        audits, sim_jobs = AuditRecord.objects.count(), len(sim.world.jobs)
        response = client.post(reverse("jobs-actions:create"), form)
        assert response.status_code < 500
        if mutate is None:
            stats["valid"] += 1
            assert response.status_code == 302, (
                spec,
                response.content.decode()[-3000:],
            )
            assert spec.job_id in sim.world.jobs
            assert Job.objects.filter(connection=conn, job_id=spec.job_id).exists()
            record = AuditRecord.objects.get(idempotency_key=form["submit_token"])
            assert record.outcome == "ok" and record.kuscia_code == 0
            sent = record.request_summary
            assert sent["job_id"] == spec.job_id
            assert [t["alias"] for t in sent["tasks"]] == [t.alias for t in spec.tasks]
        else:
            stats["invalid"] += 1
            body = response.content.decode()
            assert response.status_code == 200, mutate.__name__
            assert 'class="errorlist' in body or 'id="task-errors"' in body, mutate.__name__
            assert AuditRecord.objects.count() == audits, mutate.__name__
            assert len(sim.world.jobs) == sim_jobs, mutate.__name__

    started = time.monotonic()
    run()
    elapsed = time.monotonic() - started
    print(f"\ngenerated submissions: {stats} in {elapsed:.1f}s")
    assert stats["valid"] + stats["invalid"] >= EXAMPLES
    assert stats["valid"] >= EXAMPLES // 10 and stats["invalid"] >= EXAMPLES // 10


def test_double_submit_creates_one_job(setup):
    _conn, client, sim = setup
    spec = renamed_tasks(example_spec("prop-double"), "dbl")
    data = spec_to_data(spec, connection="sim", token="same-token")
    first = client.post(reverse("jobs-actions:create"), data)
    second = client.post(reverse("jobs-actions:create"), data)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert AuditRecord.objects.filter(job_id="prop-double", action="create").count() == 1
    assert json.dumps(sorted(sim.world.jobs)).count('"prop-double"') == 1
