import json

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from audit.models import AuditRecord
from connections.models import Connection
from operate.forms import JobCreateForms, apply_input_picks, spec_to_data
from operate.job_templates import example_spec


@pytest.fixture
def conn(db, tmp_path):
    return Connection.objects.create(
        name="main", url="https://127.0.0.1:1", cert_dir=str(tmp_path / "certs")
    )


@pytest.fixture
def operator_client(client, db):
    user = User.objects.create_user("op", password="pw")
    user.groups.add(Group.objects.get(name="operator"))
    client.force_login(user)
    return client


@pytest.fixture
def viewer_client(client, db):
    user = User.objects.create_user("viewer", password="pw")
    user.groups.add(Group.objects.get(name="viewer"))
    client.force_login(user)
    return client


def test_spec_round_trips_through_the_form(conn):
    spec = example_spec("job-x")
    forms = JobCreateForms(spec_to_data(spec, connection="main", token="t1"))
    assert forms.is_valid(), forms.job.errors
    assert forms.spec == spec.__class__(
        job_id="job-x",
        initiator="alice",
        max_parallelism=2,
        tasks=tuple(
            t.__class__(
                **{**t.__dict__, "tolerable": False, "task_input_config": t.task_input_config}
            )
            for t in spec.tasks
        ),
    )


def test_broken_dependency_is_a_field_error(conn):
    spec = example_spec("job-x")
    data = spec_to_data(spec, connection="main", token="t1")
    data.setlist("tasks-1-dependencies", ["job-psix"])
    forms = JobCreateForms(data)
    assert not forms.is_valid()
    errors = forms.tasks.forms[1].errors["dependencies"]
    assert "names no task alias" in errors[0]


def test_input_picks_replace_sf_input_ids():
    config = example_spec().tasks[0].task_input_config
    out = json.loads(apply_input_picks(config, ["my-alice-data", ""]))
    assert out["sf_input_ids"] == ["my-alice-data", "bob-table"]
    assert apply_input_picks("not json", ["x"]) == "not json"


def test_create_page_renders_template_for_operator(operator_client, conn):
    r = operator_client.get(reverse("jobs-actions:create") + "?template=psi-split")
    assert r.status_code == 200
    body = r.content.decode()
    assert 'value="job-psi"' in body and "job-best-effort-linear-r" in body
    assert "<script>" not in body and " onclick=" not in body


def test_viewer_gets_403(viewer_client, conn):
    assert viewer_client.get(reverse("jobs-actions:create")).status_code == 403
    data = spec_to_data(example_spec("job-x"), connection="main", token="t1")
    assert viewer_client.post(reverse("jobs-actions:create"), data).status_code == 403
    assert not AuditRecord.objects.exists()


def test_invalid_post_shows_errors_and_sends_nothing(operator_client, conn):
    data = spec_to_data(example_spec("Bad_Id"), connection="main", token="t1")
    r = operator_client.post(reverse("jobs-actions:create"), data)
    assert r.status_code == 200
    assert "lowercase letters" in r.content.decode()
    assert 'id="form-problems"' in r.content.decode()
    assert not AuditRecord.objects.exists()


def test_preview_shows_request_and_curl_without_token(operator_client, conn):
    data = spec_to_data(example_spec("job-x"), connection="main", token="t1")
    data["intent"] = "preview"
    r = operator_client.post(reverse("jobs-actions:create"), data)
    body = r.content.decode()
    assert r.status_code == 200
    assert "/api/v1/job/create" in body
    assert "--cert" in body and "kusciaapi-server.crt" in body and "$(cat" in body
    assert "&quot;job_id&quot;: &quot;job-x&quot;" in body
    assert not AuditRecord.objects.exists()


def test_curl_command_uses_paths_and_never_the_token(tmp_path):
    from kuscia.config import ConnectionConfig
    from operate.forms import curl_command

    (tmp_path / "token").write_text("s3cret-token")
    mtls = ConnectionConfig.from_cert_dir("https://kuscia:8082", tmp_path)
    cmd = curl_command(mtls, "/api/v1/job/delete", {"job_id": "it's"})
    assert cmd.startswith("curl -X POST https://kuscia:8082/api/v1/job/delete")
    assert f'--header "Token: $(cat {tmp_path}/token)"' in cmd
    assert f"--cert {tmp_path}/kusciaapi-server.crt" in cmd
    assert f"--key {tmp_path}/kusciaapi-server.key" in cmd
    assert f"--cacert {tmp_path}/ca.crt" in cmd
    assert "s3cret-token" not in cmd
    assert "'\"'\"'" in cmd  # the single quote in the body is shell-escaped
    notls = ConnectionConfig(url="http://127.0.0.1:8082", protocol="NOTLS")
    plain = curl_command(notls, "/api/v1/job/query", {"job_id": "a"})
    assert "--cert" not in plain and "Token" not in plain
    pinned = ConnectionConfig.from_cert_dir(
        "https://127.0.0.1:18082", tmp_path, tls_server_name="kusciaapi"
    )
    cmd = curl_command(pinned, "/api/v1/job/query", {})
    assert "https://kusciaapi:18082/api/v1/job/query" in cmd
    assert "--connect-to kusciaapi:18082:127.0.0.1:18082" in cmd


def test_post_without_token_is_refused_with_a_message(operator_client, conn):
    data = spec_to_data(example_spec("job-x"), connection="main", token="")
    r = operator_client.post(reverse("jobs-actions:create"), data)
    assert r.status_code == 200 and "lost its one-time token" in r.content.decode()
    assert not AuditRecord.objects.exists()


@pytest.mark.parametrize("url", ["/jobs/new/", "/jobs/new/?template=psi-split", "/jobs/new/paste/"])
def test_every_field_description_the_form_points_to_exists(operator_client, conn, url):
    """Django sets aria-describedby="<id>_helptext" on fields with help text: the page must
    render that element, or screen readers lose the hint."""
    import re

    response = operator_client.get(url)
    if response.status_code == 405:  # the paste view only takes POST
        response = operator_client.post(url, {"request_json": "{}", "connection": "main"})
    html = response.content.decode()
    wanted = {i for ids in re.findall(r'aria-describedby="([^"]+)"', html) for i in ids.split()}
    assert wanted, "the form has described fields"
    ids = set(re.findall(r'\sid="([^"]+)"', html))
    assert sorted(w for w in wanted if w not in ids) == []
