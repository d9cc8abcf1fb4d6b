"""Creating and operating jobs in Chromium, against the simulator (mTLS) with a real Celery
worker keeping the database in sync, as in production."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from audit.models import AuditRecord
from jobs.models import Job
from kuscia import types as kt
from tests.fixtures.celery import wait_for
from tests.fixtures.data import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENS = Path(os.environ.get("KC_SCREENS_DIR", "/work/screens"))


def shot(page, name: str) -> None:
    if SCREENS.is_dir():
        page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)


def _state(page) -> str:
    return page.locator("#job-status").get_attribute("data-state") or ""


def _wait_state(page, state: str, timeout: float = 40.0) -> None:
    wait_for(lambda: _state(page) == state, timeout=timeout, what=f"page to show {state}")


def _open_template(page, live_server) -> str:
    page.goto(live_server.url + "/jobs/new/?template=psi-split")
    job_id = page.locator("#id_job_id").input_value()
    assert re.fullmatch(r"job-best-effort-linear-r[0-9a-f]{4}", job_id)
    return job_id


def test_create_template_job_runs_to_succeeded(world, operator_page, live_server):
    _conn, sim, _ = world
    page = operator_page
    job_id = _open_template(page, live_server)
    shot(page, "create-wide")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "create-narrow")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("button", name="Preview request").click()
    curl = page.locator("#preview-curl")
    curl.wait_for()
    assert "--cert" in curl.inner_text() and "$(cat" in curl.inner_text()
    assert sim.world.jobs == {}  # a preview sends nothing
    shot(page, "create-preview")
    page.get_by_role("button", name="Create job").click()
    page.wait_for_url(re.compile(rf"/jobs/sim/{job_id}/"))
    expect(page.locator("#action-result")).to_contain_text("Create: Done.")
    _wait_state(page, kt.SUCCEEDED)
    shot(page, "job-succeeded")
    assert Job.objects.get(job_id=job_id).state == kt.SUCCEEDED


def test_broken_dependency_is_a_field_error(world, operator_page, live_server):
    _conn, sim, _ = world
    page = operator_page
    _open_template(page, live_server)
    psi_alias = page.locator("#id_tasks-0-alias")
    old = psi_alias.input_value()
    psi_alias.fill("renamed-psi")
    # the split task still depends on the old alias, now flagged on its chip
    chip = page.locator("#id_tasks-1-dependencies label.chip", has_text=old)
    expect(chip).to_contain_text("(no such task)")
    page.get_by_role("button", name="Create job").click()
    error = page.locator("fieldset#id_tasks-1-dependencies.has-error")
    assert "names no task alias" in error.inner_text()
    shot(page, "create-broken-dependency")
    assert sim.world.jobs == {}
    assert not AuditRecord.objects.exists()


def test_stop_restart_delete_running_job(world, operator_page, live_server):
    _conn, sim, _ = world
    page = operator_page
    job_id = _open_template(page, live_server)
    # a custom field added in the page (htmx) makes the simulator's tasks long-running
    page.get_by_role("button", name="+ Add a custom field").click()
    page.locator("#id_cf-0-key").fill("sim-task-seconds")
    page.locator("#id_cf-0-value").fill("3000")
    page.get_by_role("button", name="Create job").click()
    page.wait_for_url(re.compile(rf"/jobs/sim/{job_id}/"))
    _wait_state(page, kt.RUNNING)
    # the buttons follow the state without a reload: Suspend is offered once it runs
    page.locator("summary[data-action=suspend]").wait_for()
    shot(page, "job-running-actions")

    # Escape closes an open panel and gives the focus back to its button
    page.locator("summary[data-action=cancel]").click()
    page.locator("details.action-cancel input[name=reason]").focus()
    page.keyboard.press("Escape")
    assert page.locator("details.action-cancel").get_attribute("open") is None
    assert page.evaluate("document.activeElement.getAttribute('data-action')") == "cancel"

    page.locator("summary[data-action=stop]").click()
    form = page.locator("details.action-stop form")
    form.locator("input[name=reason]").fill("browser test")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "job-stop-form-narrow")
    page.set_viewport_size({"width": 1280, "height": 900})
    form.get_by_role("button").click()
    expect(page.locator("#action-result")).to_contain_text("Stop: Done.")
    expect(page.locator("#action-result")).to_contain_text("Kuscia code 0")
    _wait_state(page, kt.FAILED)

    page.locator("summary[data-action=restart]").click()
    page.locator("details.action-restart form").get_by_role("button").click()
    expect(page.locator("#action-result")).to_contain_text("Restart: Done.")
    _wait_state(page, kt.RUNNING)

    page.locator("summary[data-action=delete]").click()
    form = page.locator("details.action-delete form")
    form.locator("input[name=confirm_job_id]").fill(job_id)
    shot(page, "job-delete-confirm")
    form.get_by_role("button").click()
    expect(page.locator("#action-result")).to_contain_text("Delete: Done.")
    assert "gone from Kuscia" in page.locator("#job-status").inner_text()
    shot(page, "job-deleted")
    assert job_id not in sim.world.jobs
    # our delete or the watch's DELETED event, whichever the sync engine recorded first
    assert Job.objects.get(job_id=job_id).gone_reason in ("deleted-here", "watch-deleted")
    actions = list(AuditRecord.objects.filter(job_id=job_id).values_list("action", flat=True))
    assert sorted(actions) == ["create", "delete", "restart", "stop"]

    page.goto(live_server.url + f"/audit/?job={job_id}")
    rows = page.locator("table.audit tbody tr")
    assert rows.count() == 4
    assert "browser test" in rows.nth(2).inner_text()  # the stop's reason, newest first
    shot(page, "audit-wide")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "audit-narrow")


def test_viewer_sees_no_buttons_and_forged_post_is_403(world, browser_page, live_server, login_as):
    _conn, sim, _ = world
    sim.world.create_job(
        {
            "job_id": "watched-1",
            "initiator": "alice",
            "max_parallelism": 1,
            "custom_fields": {"sim-task-seconds": "3000"},
            "tasks": [
                {
                    "alias": "t1",
                    "task_id": "t1-watched",
                    "app_image": "secretflow-image",
                    "parties": [{"domain_id": "alice"}],
                }
            ],
        }
    )
    wait_for(
        lambda: Job.objects.filter(job_id="watched-1").exists(), what="the worker to find the job"
    )
    page = browser_page
    login_as(page, live_server, make_user("vic", "viewer"))
    page.goto(live_server.url + "/jobs/sim/watched-1/")
    assert page.locator("#job-status").is_visible()
    assert page.locator("summary[data-action]").count() == 0
    assert page.get_by_text("Run again").count() == 0
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        live_server.url + "/jobs/sim/watched-1/act/stop/",
        form={"token": "forged", "csrfmiddlewaretoken": csrf},
        headers={"X-CSRFToken": csrf, "Referer": live_server.url + "/jobs/sim/watched-1/"},
    )
    assert response.status == 403
    assert "Only operators" in response.text()
    assert sim.world.jobs["watched-1"].api_state() == kt.RUNNING
    assert not AuditRecord.objects.exists()
    shot(page, "job-viewer")


def test_add_task_party_and_pick_input_data_in_the_page(world, operator_page, live_server):
    _conn, sim, _ = world
    page = operator_page
    _open_template(page, live_server)
    page.get_by_role("button", name="+ Add a task").click()
    page.locator("#id_tasks-2-alias").wait_for()
    assert page.locator("#id_tasks-TOTAL_FORMS").input_value() == "3"
    page.locator("#id_tasks-2-alias").fill("extra")
    # the new task's dependency list offers the other aliases (kept in step by operate.js)
    psi = page.locator("#id_tasks-0-alias").input_value()
    page.locator("#id_tasks-2-dependencies label.chip", has_text=psi).click()
    expect(page.locator("#id_tasks-2-dependencies [data-deps-chosen]")).to_contain_text(psi)
    page.locator("#id_tasks-2-parties-0-domain_id").fill("alice")
    page.locator("#id_tasks-2-parties-1-DELETE").check()
    page.locator("[data-domaindata='tasks-2-parties-0']").click()
    page.locator("#tasks-2-parties-0-dd-status [data-pick='alice-table']").click()
    assert page.locator("#id_tasks-2-parties-0-input_data").input_value() == "alice-table"
    page.get_by_role("button", name="+ Add a party").nth(2).click()
    page.locator("#id_tasks-2-parties-2-domain_id").wait_for()
    page.locator("#id_tasks-2-parties-2-domain_id").fill("bob")
    # rows added in the page can be removed too: a fourth party, removed again
    page.get_by_role("button", name="+ Add a party").nth(2).click()
    page.locator("#id_tasks-2-parties-3-DELETE").check()
    page.get_by_role("button", name="Preview request").click()
    preview = page.locator("#preview-json")
    preview.wait_for()
    text = preview.inner_text()
    assert '"alias": "extra"' in text and f'"dependencies": [\n        "{psi}"' in text
    assert "alice-table" in text and '"domain_id": "bob"' in text
    shot(page, "create-added-task-preview")
    assert sim.world.jobs == {}
