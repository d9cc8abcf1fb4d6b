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
from django.contrib.auth.forms import PasswordChangeForm
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kuscia.wire import spec_to_request
from operate.forms import spec_to_data
from operate.job_templates import example_spec
from tests.fixtures.data import make_connection, make_job, make_user
from tests.fixtures.nasty import PHASES, examples, json_mutations, request_problems, values

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(600)]

FORM_MODULES = ["accounts.forms", "audit.views", "operate.forms", "connections.views"]
PASSWORD = "pw-Kuscia-123"
tokens = itertools.count(1)


def fresh(prefix: str) -> str:
    return f"{prefix}-{next(tokens)}"


def create_data() -> dict[str, list[str]]:
    data = spec_to_data(example_spec(fresh("job-f")), connection="local", token=fresh("tok"))
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
        if key == "operate.forms.JobForm":  # the create form's formsets
            for prefix in ("cf", "tasks", "tasks-0-parties"):
                fields += [(n, shape(forms.Field(), n)) for n in formset_fields(prefix)]
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
