"""Property test: hostile values in every field of every form the console serves (and in the
create form's formset management fields) never give a 5xx or a logged traceback: a field error,
a 4xx, or the page again.

FORMS maps every form class defined in the apps to the page that takes it and a valid
submission to start from; a check keeps it complete. Each example replaces one to three fields
with values shaped like what the field parses (integer, date, JSON; read from the field types)
or anything else. Examples per form: tests/fixtures/nasty.py (KC_INPUT_EXAMPLES).
"""

from __future__ import annotations

import importlib
import inspect
import itertools
import json
from collections.abc import Callable
from typing import Any

import pytest
from django import forms
from django.conf import settings as django_settings
from django.contrib.auth.forms import PasswordChangeForm
from django.contrib.auth.models import User
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobs.models import Job
from kuscia import types as kt
from kuscia.errors import KusciaError
from kuscia.wire import spec_to_request
from operate import jobspec, rows
from operate.job_templates import example_spec
from tests.fixtures.data import make_connection, make_job, make_user
from tests.fixtures.htmlform import as_data, submission
from tests.fixtures.nasty import PHASES, examples, json_mutations, request_problems, values

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(600)]

FORM_MODULES = ["accounts.forms", "audit.views", "operate.forms", "connections.views"]
PASSWORD = "pw-Kuscia-123"
tokens = itertools.count(1)


def fresh(prefix: str) -> str:
    return f"{prefix}-{next(tokens)}"


RENDERED: dict[str, list[tuple[str, str]]] = {}


def create_data() -> dict[str, list[str]]:
    """What a browser without JavaScript posts from the rendered create page (the example
    job), with a fresh job id and token; the `rows` field is fuzzed separately (see run)."""
    if "page" not in RENDERED:
        client = Client()
        client.force_login(User.objects.get(username="olga"))
        html = client.get("/jobs/new/?template=psi-split").content.decode()
        RENDERED["page"] = submission(html, "create-form")
    data = as_data(RENDERED["page"])
    data.setlist("job_id", [fresh("job-f")])
    data.setlist("submit_token", [fresh("tok")])
    return {k: data.getlist(k) for k in data}


def paste_data() -> dict[str, list[str]]:
    body = json.dumps(spec_to_request(example_spec(fresh("job-p"))))
    return {"connection": ["local"], "request_json": [body]}


def connection_data() -> dict[str, list[str]]:
    return {
        "name": [fresh("c")], "url": ["https://10.0.0.7:8082"], "protocol": ["MTLS"],
        "mode": ["p2p"], "local_domain": ["bob"], "cert_dir": ["/etc/kuscia/bob"],
        "enabled": ["on"],
    }  # fmt: skip


def login_data() -> dict[str, list[str]]:
    return {"username": ["ada"], "password": ["wrong"], "next": ["/"]}


def formset_fields(prefix: str) -> list[str]:
    management = ["TOTAL_FORMS", "INITIAL_FORMS", "MIN_NUM_FORMS", "MAX_NUM_FORMS"]
    return [f"{prefix}-{name}" for name in management] + [f"{prefix}-0-DELETE"]


# form -> (method, URL, valid submission, how a field is named in it, anonymous client)
Case = tuple[str, str, Callable[[], dict[str, list[str]]], str, bool]
FORMS: dict[str, Case] = {
    "operate.forms.JobForm": ("post", "/jobs/new/", create_data, "{}", False),
    "operate.forms.CustomFieldForm": ("post", "/jobs/new/", create_data, "cf-0-{}", False),
    "operate.forms.TaskForm": ("post", "/jobs/new/", create_data, "tasks-0-{}", False),
    "operate.forms.PartyForm": ("post", "/jobs/new/", create_data, "tasks-0-parties-0-{}", False),
    "operate.forms.PasteForm": ("post", "/jobs/new/paste/", paste_data, "{}", False),
    "operate.forms.ActionForm": (
        "post", "/jobs/local/job-1/act/stop/",
        lambda: {"token": [fresh("tok")], "reason": ["r"], "confirm_job_id": [""]}, "{}", False,
    ),
    "operate.forms.TrackForm": (
        "post", "/jobs/track/", lambda: {"job_id": ["job-2"], "connection": ["local"]}, "{}", False,
    ),
    "connections.views.ConnectionForm": (
        "post", "/connections/new/", connection_data, "{}", False,
    ),
    "audit.views.AuditFilterForm": ("get", "/audit/", lambda: {}, "{}", False),
    "accounts.forms.ThrottledAuthenticationForm": (
        "post", "/accounts/login/", login_data, "{}", True,
    ),
    "accounts.forms.ThrottledAdminAuthenticationForm": (
        "post", "/admin/login/", login_data, "{}", True,
    ),
    "accounts.forms.LanguageSwitchForm": (
        "post", "/accounts/language/", lambda: {"language": ["zh-hans"], "next": ["/"]}, "{}", True,
    ),
    "accounts.forms.PreferenceForm": (
        "post", "/accounts/preferences/",
        lambda: {"language": ["en"], "time_zone": ["Asia/Shanghai"]}, "{}", False,
    ),
}  # fmt: skip
# Django's own form the console serves (not discovered in the apps' modules).
EXTRA: dict[str, tuple[type[forms.BaseForm], Case]] = {
    "PasswordChangeForm": (
        PasswordChangeForm,
        ("post", "/accounts/password_change/", lambda: {"old_password": ["x"]}, "{}", False),
    ),
}


# Inputs that once gave a 500, always tried first: {form: [{posted name: value}]}.
KNOWN: dict[str, list[dict[str, str]]] = {
    "operate.forms.PasteForm": [{"request_json": '{"job_id": "\\ud800", "tasks": []}'}],
}


def app_forms() -> dict[str, type[forms.BaseForm]]:
    found = {}
    for name in FORM_MODULES:
        module = importlib.import_module(name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, forms.BaseForm) and cls.__module__ == name:
                found[f"{name}.{cls.__name__}"] = cls
    return found


def shape(field: forms.Field, name: str) -> str:
    if isinstance(field, forms.IntegerField) or name.endswith("_FORMS"):
        return "integer"
    if isinstance(field, forms.DateField):
        return "date"
    if "json" in name or "config" in name:
        return "json"
    return ""


def test_every_form_is_fuzzed() -> None:
    assert set(app_forms()) == set(FORMS)


def cases() -> list[tuple[str, type[forms.BaseForm], Case, list[tuple[str, str]]]]:
    out = []
    table = {**{k: (app_forms()[k], v) for k, v in FORMS.items()}, **EXTRA}
    for key, (cls, case) in table.items():
        fields = [(case[3].format(n), shape(f, n)) for n, f in cls.base_fields.items()]
        if key == "operate.forms.JobForm":  # the create form's formsets, and `rows`
            for prefix in ("cf", "tasks", "tasks-0-parties"):
                fields += [(n, shape(forms.Field(), n)) for n in formset_fields(prefix)]
            fields.append((rows.FIELD, "json"))
        out.append((key, cls, case, fields))
    return out


@pytest.fixture
def form_world(settings):
    settings.KC_CHECK_LIMIT = 10**6
    settings.LOGIN_FAILURE_LIMIT = settings.LOGIN_FAILURE_USER_LIMIT = 10**6
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    conn = make_connection("local")  # Kuscia at 127.0.0.1:1: refused at once
    make_job(conn, "job-1")
    make_user("ada", "admin", PASSWORD)
    signed_in = Client()
    signed_in.force_login(make_user("olga", "admin"))
    RENDERED.clear()
    return {False: signed_in, True: Client()}


@pytest.mark.parametrize(("key", "cls", "case", "fields"), cases(), ids=[c[0] for c in cases()])
def test_hostile_form_fields_never_give_a_5xx(form_world, caplog, key, cls, case, fields) -> None:
    method, url, base, _, anonymous = case
    client: Client = form_world[anonymous]
    by_name = dict(fields)

    def post(submission: dict[str, Any], names: list[str]) -> None:
        before = len(caplog.records)
        response = getattr(client, method)(url, submission)
        assert response.status_code < 500, (key, names, response.status_code)
        assert request_problems(caplog.records[before:]) == [], (key, names)

    @settings(
        max_examples=examples(12),
        deadline=None,
        database=None,
        phases=PHASES,
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def run(data: Any) -> None:
        fields_ = st.sampled_from(sorted(by_name))
        names = data.draw(st.lists(fields_, min_size=1, max_size=3, unique=True))
        submission = base()
        if rows.FIELD in names:  # what operate.js posts: the rows packed into one field
            packed = rows.packed(as_data([(k, v) for k, vs in submission.items() for v in vs]))
            submission = {k: packed.getlist(k) for k in packed}
        for name in names:
            start = (submission.get(name) or [""])[0]
            if by_name[name] == "json" and start.strip() and data.draw(st.booleans()):
                # JSON the page takes apart: valid, with one value in it made hostile
                submission[name] = [data.draw(json_mutations(start), label=name)]
            else:
                submission[name] = data.draw(values(by_name[name]), label=name)
        post(submission, names)

    for known in KNOWN.get(key, []):
        post({**base(), **{k: [v] for k, v in known.items()}}, list(known))
    run()


# ---------------------------------------------------------------- the create form at its limits
#
# Jobs up to (and one past) what the form promises: 128 tasks, 32 parties per task, 32 custom
# fields. Each is pasted, and the POST is built from the page that comes back, as a browser
# submits it (tests/fixtures/htmlform.py): with `rows` as operate.js packs it, or every field
# on its own when that stays under Django's limit (a browser without JavaScript); up to three
# fields made hostile on the way. Kuscia is a stand-in that accepts every job.


DOMAINS = ("alice", "bob")


class AcceptingKuscia:
    def __enter__(self) -> AcceptingKuscia:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def create_job(self, spec: kt.JobSpec) -> None:
        return None

    def query_job(self, job_id: str) -> kt.JobDetail:
        raise KusciaError("not asked in this test", kind="connect_refused")


@st.composite
def specs_up_to_the_limits(draw: st.DrawFn) -> kt.JobSpec:
    n = next(tokens)
    count = draw(st.sampled_from([1, 2, 3, jobspec.MAX_TASKS, jobspec.MAX_TASKS + 1, 40]))
    small = count <= 3
    most = jobspec.MAX_PARTIES + 1 if small else 2
    aliases = [f"g{n}-t{k}" for k in range(count)]
    tasks = []
    for k, alias in enumerate(aliases):
        width = draw(st.integers(1, most)) if small else 2
        deps = draw(st.lists(st.sampled_from(aliases[:k]), max_size=2, unique=True)) if k else []
        tasks.append(
            kt.TaskSpec(
                alias=alias,
                task_id=alias,
                app_image="secretflow-image",
                parties=tuple(
                    kt.Party(["alice", "bob"][j] if j < 2 else f"org-{j}") for j in range(width)
                ),
                dependencies=tuple(deps),
                task_input_config='{"sf_input_ids": []}',
            )
        )
    fields = draw(st.integers(0, jobspec.MAX_CUSTOM_FIELDS + 1))
    return kt.JobSpec(
        job_id=f"gen-{n}",
        initiator="alice",
        max_parallelism=draw(st.integers(1, 128)),
        tasks=tuple(tasks),
        custom_fields={f"k{j}": f"v{j}" for j in range(fields)},
    )


@pytest.mark.timeout(1800)
def test_create_form_up_to_its_limits_from_the_rendered_page(form_world, caplog, monkeypatch):
    monkeypatch.setattr("operate.actions.client_for", lambda connection: AcceptingKuscia())
    client: Client = form_world[False]
    stats = {"created": 0, "refused": 0, "max_tasks": 0}

    @settings(
        max_examples=examples(10),
        deadline=None,
        database=None,
        phases=PHASES,
        suppress_health_check=list(HealthCheck),
    )
    @given(spec=specs_up_to_the_limits(), data=st.data())
    def run(spec: kt.JobSpec, data: Any) -> None:
        body = json.dumps(spec_to_request(spec))
        page = client.post("/jobs/new/paste/", {"connection": "local", "request_json": body})
        assert page.status_code == 200
        fields = submission(page.content.decode(), "create-form")
        assert sum(1 for n, _ in fields if n.endswith("-alias")) == len(spec.tasks)
        names = sorted({n for n, _ in fields if n.startswith(("cf-", "tasks-", "job_id"))})
        hostile = data.draw(st.lists(st.sampled_from(names), max_size=3, unique=True))
        flat = as_data(fields)
        for name in hostile:
            flat.setlist(name, data.draw(values(""), label=name))  # one or two values
        fits = len(fields) < django_settings.DATA_UPLOAD_MAX_NUMBER_FIELDS - 1
        if not fits or data.draw(st.booleans(), label="packed"):
            flat = rows.packed(flat)
        flat.setlist("intent", ["create"])
        before = len(caplog.records)
        response = client.post("/jobs/new/", flat)
        assert response.status_code < 500, (spec.job_id, hostile)
        assert request_problems(caplog.records[before:]) == []
        text = response.content.decode()
        if response.status_code == 302:
            job_id = flat.get("job_id") or spec.job_id
            assert Job.objects.filter(job_id=job_id).exists(), job_id
            stats["created"] += 1
        else:
            assert response.status_code == 200
            assert 'class="errorlist' in text or 'id="task-errors"' in text, hostile
            stats["refused"] += 1
        stats["max_tasks"] = max(stats["max_tasks"], len(spec.tasks))

    run()
    print(f"\ncreate form at its limits: {stats}")
    assert stats["max_tasks"] >= jobspec.MAX_TASKS
    assert stats["created"] and stats["refused"]
