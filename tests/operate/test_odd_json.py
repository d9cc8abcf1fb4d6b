"""JSON whose strings hold lone surrogates (`"\\ud800"`: valid JSON, but no UTF-8 text can hold
the character) is refused where a user types it, with a clear error next to the field, and
shown as written where it comes from elsewhere (a job Kuscia reported), never a 500."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from jobs.models import Task
from kuscia.wire import spec_to_request
from operate.forms import spec_to_data
from operate.job_templates import example_spec
from tests.fixtures.data import make_connection, make_job, make_user

pytestmark = pytest.mark.django_db
LONE = '{"sf_input_ids": ["a\\ud800b"]}'


@pytest.fixture
def operator() -> Client:
    client = Client()
    client.force_login(make_user("olga", "operator"))
    return client


def test_pasted_json_with_a_lone_surrogate_is_a_field_error(operator: Client) -> None:
    make_connection("local")
    body = spec_to_request(example_spec("job-s"))
    body["tasks"][0]["alias"] = "\ud800"
    text = json.dumps(body)  # the escape \\ud800, as a user would paste it
    assert "\\ud800" in text
    response = operator.post("/jobs/new/paste/", {"connection": "local", "request_json": text})
    assert response.status_code == 200
    errors = response.context["paste"].errors["request_json"]
    assert any("lone surrogate" in e for e in errors), errors


def test_task_input_config_with_a_lone_surrogate_is_a_field_error(operator: Client) -> None:
    make_connection("local")
    data = spec_to_data(example_spec("job-s"), connection="local", token="t1")
    data["tasks-0-task_input_config"] = LONE
    response = operator.post("/jobs/new/", data)
    assert response.status_code == 200
    errors = response.context["f"].tasks.forms[0].errors["task_input_config"]
    assert any("lone surrogate" in e for e in errors), errors


def test_a_stored_config_with_a_lone_surrogate_is_shown_as_written(operator: Client) -> None:
    conn = make_connection("local")
    job = make_job(conn, "job-1")
    Task.objects.filter(job=job).update(task_input_config=LONE)
    task = Task.objects.filter(job=job).first()
    assert task is not None
    response = operator.get(f"/jobs/local/job-1/?task={task.task_id}")
    assert response.status_code == 200
    assert "a\\ud800b" in response.content.decode()
