"""Input that used to slip through the create form or crash a page: a custom-field key given
twice, Unicode digits where a number is expected, JSON nested too deeply to read."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils.datastructures import MultiValueDict

from audit.models import AuditRecord
from jobs.models import Task
from jobs.templatetags.kc import pretty_json as kc_pretty_json
from kuscia import types as kt
from kuscia.wire import spec_to_request
from operate import actions, jobspec
from operate.forms import JobCreateForms, PartyForm, apply_input_picks, spec_to_data
from operate.job_templates import example_spec
from tests.fixtures.data import make_connection, make_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(client: Any, pages_operator: User) -> Any:
    make_connection("main")
    client.force_login(pages_operator)
    return client


@pytest.fixture
def nothing_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the create view goes on to send the job to Kuscia."""

    def create_job(**kwargs: Any) -> None:
        pytest.fail(f"the form was accepted and job {kwargs['spec'].job_id} sent")

    monkeypatch.setattr(actions, "create_job", create_job)


def create_data(**fields: str) -> MultiValueDict[str, Any]:
    """A valid create form as the browser posts it, with some fields replaced."""
    data = spec_to_data(example_spec("job-x"), connection="main", token="t1")
    for name, value in fields.items():
        data[name] = value
    return data


def test_custom_key_given_twice_refuses_the_form_and_keeps_what_was_typed(operator, nothing_sent):
    typed = {"cf-0-key": "team", "cf-0-value": "red", "cf-1-key": "team", "cf-1-value": "blue"}
    data = create_data(**{"cf-TOTAL_FORMS": "2", **typed})
    r = operator.post(reverse("jobs-actions:create"), data)
    assert r.status_code == 200
    assert not AuditRecord.objects.exists()
    rows = r.context["f"].custom_fields.forms
    assert rows[1].errors["key"] == ["Key 'team' is given twice."]
    body = r.content.decode()
    assert 'id="form-problems"' in body
    assert body.index('name="cf-1-key"') < body.index("is given twice")  # next to the field
    assert body.count('value="team"') == 2
    assert 'value="red"' in body and 'value="blue"' in body


def test_every_error_added_while_building_makes_the_form_invalid(db):
    make_connection("main")
    data = create_data(**{"cf-TOTAL_FORMS": "2", "cf-0-key": "a", "cf-1-key": "a"})
    bundle = JobCreateForms(data)
    assert not bundle.is_valid()
    assert bundle.spec is None and bundle.problem_count() == 1


@pytest.mark.parametrize("kbps", ["²", "٣", "1²"])
def test_bandwidth_limit_in_unicode_digits_is_a_field_error(kbps):
    form = PartyForm({"bandwidth_limits": f"bob={kbps}"})
    assert not form.is_valid()
    assert form.errors["bandwidth_limits"] == ["Write destination=kbps, e.g. bob=1000."]


def test_bandwidth_limit_in_unicode_digits_through_the_page(operator, nothing_sent):
    data = create_data(**{"tasks-0-parties-0-bandwidth_limits": "bob=²"})
    r = operator.post(reverse("jobs-actions:create"), data)
    assert r.status_code == 200
    assert "Write destination=kbps" in r.content.decode()


def test_quantity_in_unicode_digits_is_a_problem():
    task = example_spec("job-x").tasks[0]
    party = replace(task.parties[0], resources=kt.JobResource(cpu="٣", memory="2Gi"))
    spec = replace(example_spec("job-x"), tasks=(replace(task, parties=(party,)),))
    fields = [p.field for p in jobspec.errors(jobspec.validate_spec(spec))]
    assert fields == ["tasks.0.parties.0.cpu"]


DEEP = "[" * 5000 + "]" * 5000  # json.loads raises RecursionError, not ValueError


def test_pasted_json_nested_too_deeply_is_a_field_error(operator):
    r = operator.post(reverse("jobs-actions:paste"), {"request_json": DEEP})
    assert r.status_code == 200
    assert r.context["paste"].errors["request_json"] == [jobspec.TOO_DEEP]


def test_pasted_task_input_config_nested_too_deeply_is_a_field_error(operator):
    body = spec_to_request(example_spec("job-x"))
    body["tasks"][0]["task_input_config"] = DEEP
    r = operator.post(reverse("jobs-actions:paste"), {"request_json": json.dumps(body)})
    assert r.status_code == 200
    task = r.context["f"].tasks.forms[0]
    assert task.errors["task_input_config"] == [jobspec.TOO_DEEP]
    assert task["task_input_config"].value() == DEEP  # kept as pasted


def test_preview_of_task_input_config_nested_too_deeply_is_a_field_error(operator, nothing_sent):
    data = create_data(**{"tasks-0-task_input_config": DEEP, "intent": "preview"})
    r = operator.post(reverse("jobs-actions:create"), data)
    assert r.status_code == 200
    task = r.context["f"].tasks.forms[0]
    assert task.errors["task_input_config"] == [jobspec.TOO_DEEP]
    assert "/api/v1/job/create" not in r.content.decode()  # no preview


def test_input_picks_leave_json_nested_too_deeply_unchanged():
    assert apply_input_picks(DEEP, ["alice-data"]) == DEEP
    assert kc_pretty_json(DEEP) == DEEP


def test_job_page_shows_task_input_config_nested_too_deeply_as_escaped_text(
    client_in, pages_connection
):
    job = make_job(pages_connection, "job-deep", tasks=1)
    deep = "[" * 5000 + '"<b>"' + "]" * 5000
    Task.objects.filter(job=job).update(task_input_config=deep)
    r = client_in.get(reverse("jobs:detail", args=["local", "job-deep"]) + "?task=job-deep-t0")
    assert r.status_code == 200
    html = r.content.decode()
    assert "[" * 5000 + "&quot;&lt;b&gt;&quot;" + "]" * 5000 in html and "<b>" not in html
    assert kc_pretty_json(deep) == deep


def test_pretty_json_of_data_nested_too_deeply_says_so():
    data: list[Any] = []
    for _ in range(5000):
        data = [data]
    assert kc_pretty_json(data) == "(nested too deeply to show)"
