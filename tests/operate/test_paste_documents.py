"""Pasting a job: JSON or YAML, as a CreateJob body, a QueryJob answer or a KusciaJob (the shape
Kuscia's docs show: apiVersion/kind/metadata/spec). Errors name their line; nothing hostile
gives a 5xx."""

from __future__ import annotations

import json

import pytest

from operate import prefill
from tests.fixtures.data import make_connection, make_user
from tests.fixtures.htmlform import submission

pytestmark = pytest.mark.django_db

PASTE = "/jobs/new/paste/"

KUSCIA_JOB = """\
apiVersion: kuscia.secretflow/v1alpha1
kind: KusciaJob
metadata:
  name: yaml-job
  namespace: cross-domain
  labels:
    kuscia.job.custom-fields/team: risk
spec:
  initiator: alice
  scheduleMode: Strict
  maxParallelism: 2
  tasks:
    - taskID: yaml-psi
      alias: yaml-psi
      priority: 100
      taskInputConfig: '{"sf_input_ids": ["alice-table", "bob-table"]}'
      appImage: secretflow-image
      parties:
        - domainID: alice
          resources:
            limits: {cpu: 2, memory: 4Gi}
        - domainID: bob
    - taskID: yaml-split
      alias: yaml-split
      dependencies: ['yaml-psi']
      tolerable: true
      appImage: secretflow-image
      taskInputConfig: '{}'
      scheduleConfig: {taskTimeoutSeconds: 600}
      parties:
        - domainID: alice
        - domainID: bob
"""


@pytest.fixture
def operator(client):
    make_connection("local")
    client.force_login(make_user("olga", "operator"))
    return client


def paste(client, text: str) -> str:
    response = client.post(PASTE, {"connection": "local", "request_json": text})
    assert response.status_code == 200
    return response.content.decode()


def test_a_kuscia_job_in_yaml_fills_the_form(operator):
    html = paste(operator, KUSCIA_JOB)
    fields = dict(submission(html, "create-form"))
    assert fields["job_id"] == "yaml-job" and fields["initiator"] == "alice"
    assert fields["max_parallelism"] == "2"
    assert fields["cf-0-key"] == "team" and fields["cf-0-value"] == "risk"
    assert fields["tasks-0-task_id"] == "yaml-psi" and fields["tasks-0-priority"] == "100"
    assert fields["tasks-0-parties-0-cpu"] == "2" and fields["tasks-0-parties-0-memory"] == "4Gi"
    assert fields["tasks-1-dependencies"] == "yaml-psi" and fields["tasks-1-tolerable"] == "on"
    assert fields["tasks-1-task_timeout_seconds"] == "600"
    assert "scheduleMode Strict was left out" in html
    assert 'class="errorlist' not in html


def test_the_same_job_as_kuscia_job_json_and_as_a_query_job_answer(operator):
    body, _notes = prefill.read_document(KUSCIA_JOB)
    as_json = json.dumps(
        {"apiVersion": "kuscia.secretflow/v1alpha1", "kind": "KusciaJob",
         "metadata": {"name": "json-job"}, "spec": {"initiator": "alice", "tasks": []}}
    )  # fmt: skip
    assert prefill.read_document(as_json)[0]["job_id"] == "json-job"
    answer = {"status": {"code": 0, "message": "success"}, "data": {**body, "status": {}}}
    fields = dict(submission(paste(operator, json.dumps(answer)), "create-form"))
    assert fields["job_id"] == "yaml-job" and fields["tasks-1-alias"] == "yaml-split"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("spec:\n  tasks: [\n", "line 2, column 11"),
        ("a: b\n c: d\n", "line 2, column 3: mapping values"),
        ("a: &x [1]\nb: *x\n", "Line 2: YAML aliases"),
        ("a: " + "[" * 200 + "]" * 200, "nested too deeply"),
        ("job_id: " + "9" * 5000, "Not valid YAML"),
        ('job_id: "\\ud800"\n', "lone surrogate"),
        ("- 1\n- 2\n", "Expected an object"),
        ("kind: KusciaJob\nspec: 3\n", "spec: expected a mapping"),
        (
            "kind: KusciaJob\nspec:\n  tasks:\n    - parties: 5\n",
            "spec.tasks[0].parties: expected a list",
        ),
        ('{"job_id": 1,}', "line 1 column"),
        ("job_id: 2024-01-01\n", "Not a CreateJob body"),
    ],
)
def test_bad_documents_are_a_field_error_with_their_line(operator, text, message):
    html = paste(operator, text)
    assert message in html, html[html.find("errorlist") - 200 : html.find("errorlist") + 600]
    assert 'id="create-form"' in html
