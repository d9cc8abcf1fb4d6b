"""Issue 19 defect 1: a 128-task job from the create form. The page's rows go as one JSON
field, `rows` (operate/rows.py, built by operate.js); the old encoding (one field per input)
passes Django's DATA_UPLOAD_MAX_NUMBER_FIELDS and is refused with a 400 before any view runs.

Every submission here is built from the RENDERED form (tests/fixtures/htmlform.py), as a
browser would post it, then packed as operate.js packs it (rows.packed)."""

from __future__ import annotations

import json
import re

import pytest
from django.conf import settings

from audit.models import AuditRecord
from kuscia import types as kt
from kuscia.wire import spec_to_request
from network.models import Node
from operate import rows
from operate.job_templates import APP_IMAGE
from tests.fixtures.data import make_connection, make_job, make_user
from tests.fixtures.htmlform import as_data, submission

pytestmark = pytest.mark.django_db

CREATE = "/jobs/new/"
PASTE = "/jobs/new/paste/"


def big_spec(job_id: str, n: int = 128, parties: tuple[str, ...] = ("alice", "bob")) -> kt.JobSpec:
    tasks = tuple(
        kt.TaskSpec(
            alias=f"{job_id}-t{i}",
            task_id=f"{job_id}-t{i}",
            app_image=APP_IMAGE,
            parties=tuple(kt.Party(p) for p in parties),
            dependencies=(f"{job_id}-t{i - 1}",) if i else (),
            task_input_config='{"sf_input_ids": []}',
        )
        for i in range(n)
    )
    return kt.JobSpec(job_id=job_id, initiator="alice", max_parallelism=8, tasks=tasks)


@pytest.fixture
def operator(client):
    make_connection("local")  # Kuscia at 127.0.0.1:1: refused at once
    client.force_login(make_user("olga", "operator"))
    return client


def rendered(client, spec: kt.JobSpec) -> tuple[str, list[tuple[str, str]]]:
    """The create page filled from `spec` (pasted), and what a browser would post from it."""
    body = json.dumps(spec_to_request(spec))
    page = client.post(PASTE, {"connection": "local", "request_json": body})
    assert page.status_code == 200
    html = page.content.decode()
    return html, submission(html, "create-form")


def test_old_encoding_of_a_128_task_job_is_refused_by_the_field_limit(operator):
    _html, fields = rendered(operator, big_spec("big-old"))
    assert len(fields) > settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    response = operator.post(CREATE, as_data(fields) | {"intent": ["create"]})
    assert response.status_code == 400  # TooManyFieldsSent: what defect 1 was
    assert not AuditRecord.objects.exists()


def test_a_128_task_job_posted_as_rows_is_sent_to_kuscia(operator):
    _html, fields = rendered(operator, big_spec("big-new"))
    data = rows.packed(as_data(fields))
    assert len(data) < 20  # the job fields, the token, and `rows`
    preview = operator.post(CREATE, data | {"intent": ["preview"]})
    assert preview.status_code == 200
    shown = preview.content.decode().split('id="preview-json">')[1].split("</pre>")[0]
    assert shown.count("&quot;alias&quot;: &quot;big-new-t") == 128
    response = operator.post(CREATE, data | {"intent": ["create"]})
    assert response.status_code == 200  # Kuscia refused the connection: the page says so
    assert "Kuscia did not create the job." in response.content.decode()
    record = AuditRecord.objects.get(action="create")
    assert len(record.request_summary["tasks"]) == 128
    assert record.request_summary["tasks"][127]["dependencies"] == ["big-new-t126"]


def test_a_browser_without_javascript_fits_about_35_two_party_tasks(operator):
    """The number the page states for browsers without JavaScript."""
    counts = {}
    for n in (1, 2):
        _html, fields = rendered(operator, big_spec(f"count{n}", n))
        counts[n] = len(fields)
    per_task, fixed = counts[2] - counts[1], 2 * counts[1] - counts[2]
    fits = (settings.DATA_UPLOAD_MAX_NUMBER_FIELDS - fixed - 1) // per_task  # +1: the button
    assert 33 <= fits <= 37, (per_task, fixed, fits)


def post_rows(client, rows_text: str, **extra: str):
    _html, fields = rendered(client, big_spec("shape", 2))
    data = rows.packed(as_data(fields))
    data.setlist("rows", [rows_text])
    for k, v in extra.items():
        data.setlist(k, [v])
    return client.post(CREATE, data | {"intent": ["create"]})


def good_rows(n: int = 2) -> dict:
    return json.loads(rows.packed(rows_data(n))["rows"])


def rows_data(n: int):
    from operate.forms import spec_to_data

    return spec_to_data(big_spec("shape", n), connection="local", token="t")


def error_of(html: str, field_id: str) -> str:
    """The errors shown in the .fld block of the input (or fieldset) `field_id`."""
    at = html.find(f'id="{field_id}"')
    if at < 0:
        return ""
    block = re.split(r'<(?:div|fieldset) class="fld', html[at:])[0]
    return " ".join(re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', block, re.S))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "could not be read"),
        ("[]", "expected a JSON object"),
        ('{"tasks": {}}', "is not a list"),
        ('{"tasks": [], "extra": 1}', "unknown parts: extra"),
        ('{"tasks": [' + ",".join(["{}"] * 201) + "]}", "at most 200"),
        ("[" * 100_000, "nested too deeply"),
    ],
)
def test_unreadable_rows_are_an_error_at_the_top_and_nothing_is_sent(operator, text, message):
    response = post_rows(operator, text)
    assert response.status_code == 200
    body = response.content.decode()
    assert message in body and 'id="form-problems"' in body
    assert not AuditRecord.objects.exists()


def test_a_value_of_the_wrong_shape_is_an_error_next_to_its_field(operator):
    doc = good_rows()
    doc["tasks"][1]["priority"] = 5
    doc["tasks"][0]["dependencies"] = "x"
    doc["tasks"][1]["parties"][1]["domain_id"] = ["bob"]
    doc["tasks"][0]["tolerable"] = "yes"
    body = post_rows(operator, json.dumps(doc)).content.decode()
    assert "Expected text here." in error_of(body, "id_tasks-1-priority")
    assert "Expected a list of task aliases." in error_of(body, "id_tasks-0-dependencies")
    assert "Expected text here." in error_of(body, "id_tasks-1-parties-1-domain_id")
    assert "Expected true or false." in body
    assert not AuditRecord.objects.exists()


def test_a_lone_surrogate_is_an_error_next_to_its_field_never_a_500(operator):
    doc = good_rows()
    text = json.dumps(doc).replace('"alias": "shape-t1"', '"alias": "\\ud800"', 1)
    response = post_rows(operator, text)
    assert response.status_code == 200
    body = response.content.decode()
    assert "lone surrogate" in error_of(body, "id_tasks-1-alias")
    assert not AuditRecord.objects.exists()


def test_a_row_that_is_not_an_object_or_has_unknown_fields_says_so_on_its_row(operator):
    doc = good_rows()
    doc["tasks"][1]["parties"][0] = "alice"
    doc["tasks"][0]["colour"] = "red"
    body = post_rows(operator, json.dumps(doc)).content.decode()
    assert "This row could not be read" in body
    assert "This row has unknown fields: colour." in body
    assert not AuditRecord.objects.exists()


def test_rows_win_over_flat_fields_posted_beside_them(operator):
    data = rows_data(2)
    packed = rows.packed(data)
    both = data.copy()
    both.setlist("rows", packed.getlist("rows"))
    both.setlist("tasks-0-alias", ["Not Valid"])  # ignored: the document is the whole truth
    response = operator.post(CREATE, both | {"intent": ["preview"]})
    assert "&quot;alias&quot;: &quot;shape-t0&quot;" in response.content.decode()


def test_pack_and_expand_round_trip():
    data = rows_data(3)
    expanded = rows.expand(rows.packed(data))
    assert expanded.errors == {}
    for key in data:
        if key.startswith("tasks-") and not key.endswith("_FORMS"):
            assert expanded.data.getlist(key) == data.getlist(key), key


# ------------------------------------------------------------- dependencies as chips (defect 6)


def test_dependencies_are_checkbox_chips_and_the_first_task_depends_on_nothing(operator):
    response = operator.get(CREATE + "?template=psi-split")
    html = response.content.decode()
    fields = submission(html, "create-form")
    deps = {n: v for n, v in fields if n.endswith("-dependencies")}
    assert list(deps) == ["tasks-1-dependencies"]  # only the second task depends (on psi)
    assert "<select" not in html.split('id="task-list"')[1].split("</section>")[0]
    first = html.split('data-prefix="tasks-0"')[1].split('data-prefix="tasks-1"')[0]
    assert 'type="checkbox" name="tasks-0-dependencies"' in first
    assert "Runs after: nothing (no dependency chosen)" in first


# ------------------------------------------------------------- unknown domains (defect 4, form)


def test_unknown_party_domain_is_a_warning_from_the_network_inventory(operator):
    conn = make_connection("inv")
    for domain in ("alice", "bob"):
        Node.objects.create(connection=conn, domain_id=domain, status="Ready")
    spec = big_spec("dave-job", 1, parties=("alice", "dave"))
    body = json.dumps(spec_to_request(spec))
    page = operator.post(PASTE, {"connection": "inv", "request_json": body}).content.decode()
    assert "Not a domain the network poll has found on this connection: dave" in page
    assert "dave: not found by the network poll" in page
    assert "Not a domain the network poll has found on this connection: alice" not in page
    assert 'id="known-domains" data-checked' in page and '<option value="bob">' in page
    # a warning, not an error: the job is sent
    data = rows.packed(as_data(submission(page, "create-form")))
    operator.post(CREATE, data | {"intent": ["create"]})
    assert AuditRecord.objects.filter(action="create", job_id="dave-job").exists()


def test_without_an_inventory_domains_are_suggestions_only(operator):
    page = operator.get(CREATE).content.decode()
    assert "data-checked" not in page
    assert "the network poll has not found any node yet" in page


def test_domaindata_picker_reads_the_inventory_and_says_so(operator):
    from network.models import DataItem

    conn = make_connection("inv")
    DataItem.objects.create(
        connection=conn, domain_id="alice", domaindata_id="alice-x", type="table"
    )
    page = operator.get("/jobs/new/domaindata/?connection=inv&domain=alice").content.decode()
    assert 'data-pick="alice-x"' in page and 'data-dd-source="inventory"' in page
    # nothing stored for bob: Kuscia is asked (here it refuses the connection)
    page = operator.get("/jobs/new/domaindata/?connection=inv&domain=bob").content.decode()
    assert "nonfield" in page


# ------------------------------------------------------------- unique task ids in one click


def test_clashing_task_ids_get_new_ids_in_one_click(operator):
    from connections.models import Connection
    from jobs.models import Task

    conn = Connection.objects.get(name="local")
    job = make_job(conn, "old-job")
    Task.objects.create(job=job, task_id="shape-t0", alias="shape-t0")
    page = operator.post(
        PASTE,
        {"connection": "local", "request_json": json.dumps(spec_to_request(big_spec("shape", 3)))},
    ).content.decode()
    assert 'id="unique-ids"' in page and "already used" in page
    data = rows.packed(as_data(submission(page, "create-form")))
    again = operator.post(CREATE, data | {"intent": ["unique-ids"]})
    html = again.content.decode()
    assert 'id="renamed-ids"' in html and 'id="unique-ids"' not in html
    new = dict(submission(html, "create-form"))
    new_id = new["tasks-0-task_id"]
    assert re.fullmatch(r"shape-t0-r[0-9a-f]{4}", new_id)
    assert new["tasks-0-alias"] == new_id
    assert new["tasks-1-dependencies"] == new_id  # the dependency follows the rename
    assert new["tasks-1-task_id"] == "shape-t1"  # the others are kept
    assert not AuditRecord.objects.exists()
