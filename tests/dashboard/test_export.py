"""Exports of the job list and the audit log: streamed, filtered like their pages, CSV cells
safe to open in a spreadsheet, JSON valid; signed-in users only."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from audit.models import AuditRecord
from dashboard.export import safe_cell
from kuscia import types as kt
from tests.fixtures.data import make_connection, make_job

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
SMALL = ["--sizes", "200,1000", "--chunk", "50"]


def body(response) -> str:
    assert response.streaming
    return b"".join(response.streaming_content).decode("utf-8")


def test_formula_cells_are_defused() -> None:
    for text in ("=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert safe_cell(text) == "'" + text
    assert safe_cell("job-1") == "job-1" and safe_cell(-1) == -1 and safe_cell(None) == ""
    assert safe_cell(["alice", "bob"]) == '["alice", "bob"]'


def test_the_job_export_follows_the_lists_filters(client_in) -> None:
    conn = make_connection("local")
    make_job(conn, "job-ok", state=kt.SUCCEEDED)
    make_job(conn, "job-bad", state=kt.FAILED, err_msg='=HYPERLINK("http://evil")')
    make_job(make_connection("other"), "job-else", state=kt.FAILED)
    response = client_in.get(reverse("export_jobs") + "?state=Failed&connection=local")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'attachment; filename="jobs-' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(body(response).lstrip("\ufeff"))))
    assert rows[0][:3] == ["connection", "job_id", "state"]
    assert [r[1] for r in rows[1:]] == ["job-bad"]
    assert rows[1][rows[0].index("err_msg")] == '\'=HYPERLINK("http://evil")'
    assert rows[1][rows[0].index("parties")] == '["alice", "bob"]'


def test_the_job_export_as_json(client_in) -> None:
    conn = make_connection("local")
    for i in range(3):
        make_job(conn, f"job-{i}", state=kt.SUCCEEDED, created_ago=600 - i)
    response = client_in.get(reverse("export_jobs") + "?format=json&sort=job")
    assert response["Content-Type"].startswith("application/json")
    data = json.loads(body(response))
    assert [d["job_id"] for d in data] == ["job-0", "job-1", "job-2"]
    assert data[0]["connection"] == "local" and data[0]["parties"] == ["alice", "bob"]
    # an empty export is still valid JSON
    assert json.loads(body(client_in.get(reverse("export_jobs") + "?format=json&q=zz"))) == []


def test_the_audit_export_follows_its_filters(client_in) -> None:
    for action, reason in (("stop", "@ops asked"), ("delete", "cleanup")):
        AuditRecord.objects.create(
            username="demo",
            connection_name="local",
            job_id="job-1",
            action=action,
            reason=reason,
            outcome="ok",
            request_summary={"secret": "not exported"},
        )
    text = body(client_in.get(reverse("export_audit") + "?action=stop"))
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert len(rows) == 2 and rows[1][rows[0].index("reason")] == "'@ops asked"
    assert "not exported" not in text and "request_summary" not in rows[0]
    data = json.loads(body(client_in.get(reverse("export_audit") + "?format=json")))
    assert {d["action"] for d in data} == {"stop", "delete"}


def test_exports_need_a_login(client) -> None:
    for name in ("export_jobs", "export_audit"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_odd_parameters_are_no_error(client_in) -> None:
    url = reverse("export_jobs") + "?format=xls&state=Nope&created_from=2020-13-45&sort=zz"
    response = client_in.get(url)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    url = reverse("export_audit") + "?format=&since=yesterday&action=nope"
    assert client_in.get(url).status_code == 200


def test_export_benchmark_small(tmp_path: Path) -> None:
    """bench/bench_export.py at a small size: every row written, memory flat across sizes
    (the benchmark asserts both itself and exits non-zero otherwise)."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'bench.sqlite3'}"}
    env.pop("REDIS_URL", None)
    command = [sys.executable, str(ROOT / "bench" / "bench_export.py"), *SMALL]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-4000:]
    assert "jobs csv: peak" in out and "audit json: peak" in out


def test_the_list_and_the_audit_page_link_their_export_with_their_filters(client_in) -> None:
    make_job(make_connection("local"), "job-1", state=kt.FAILED)
    html = client_in.get(reverse("jobs:list") + "?state=Failed&after=v1~2").content.decode()
    assert 'href="/jobs/export/?state=Failed&amp;format=csv"' in html
    assert 'href="/jobs/export/?state=Failed&amp;format=json"' in html
    AuditRecord.objects.create(username="demo", connection_name="local", job_id="j", action="stop")
    html = client_in.get(reverse("audit:list") + "?action=stop").content.decode()
    assert 'href="/audit/export/?action=stop&amp;format=csv"' in html
