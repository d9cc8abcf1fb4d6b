"""The operate pages and the texts the console keeps in English (kuscia/'s hints and check
details, the notes and hints stored in audit rows) in the reader's language."""

from __future__ import annotations

import ast
import datetime as dt
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation

from audit.models import AuditRecord
from connections.changes import STOPS_AT
from connections.check_texts import step_detail, step_hint
from connections.models import Connection
from connections.texts import error_message, translated
from dashboard.stored_texts import stored
from jobs.models import Job
from kuscia import check
from kuscia import types as kt
from kuscia.client import validate_config
from kuscia.config import ConnectionConfig
from kuscia.errors import HINT_401, KusciaError, api_error
from kuscia.texts import Text
from operate.actions import ALREADY_FINISHED, CRASH_HINT, REQUERY_FAILED
from operate.forms import spec_to_data
from operate.job_templates import example_spec
from tests.fixtures.data import make_connection, make_job, make_user
from tests.i18n.conftest import english_words

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
HAN = re.compile(r"[\u4e00-\u9fff]")
# The test's data (names, ids, SecretFlow's image and the template's tables) and Kuscia's words.
DATA = {
    "main", "ada", "alice", "bob", "job-psi", "job-split", "secretflow-image", "PSI",
    "CreateJob", "JSON", "SecretFlow", "sf_datasource_config", "sf_cluster_desc",
    "sf_node_eval_param", "sf_input_ids", "sf_output_ids", "sf_output_uris", "curl",
    "Kubernetes", "kbps", "Mbps", "CPU", "job-best-effort-linear", "alice-table", "bob-table",
    "Running", "Failed", "Cancelled", "Succeeded", "Suspended", "job-1", "task-1", "local",
    "job-x", "job-psix", "snake_case", "lowerCamelCase",
    # the paste box names the shapes it reads (Kuscia's and YAML's words); <noscript> the script
    "YAML", "QueryJob", "KusciaJob", "apiVersion", "kind", "metadata", "spec", "JavaScript",
}  # fmt: skip


def zh(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    with translation.override("zh-hans"):
        return fn(*args, **kwargs)


@pytest.fixture
def operator(client: Client, db) -> Client:
    client.force_login(make_user("ada", "operator"))
    return client


@pytest.fixture
def conn(db) -> Connection:
    return make_connection("main")


def page_words(html: str) -> list[str]:
    # The job template's JSON in the textarea is the user's input, not the page's words.
    html = re.sub(r"<textarea[^>]*>.*?</textarea>", "", html, flags=re.S)
    html = re.sub(r'<div id="sync-indicator".*?(?=<main)', "", html, flags=re.S)
    return english_words(html, allowed=DATA)


@pytest.mark.parametrize("query", ["", "?template=psi-split"], ids=["blank", "from the template"])
def test_create_form_in_both_languages(operator: Client, conn, query):
    url = reverse("jobs-actions:create") + query
    html = operator.get(url, **ZH).content.decode()
    assert "创建作业" in html and "参与方" in html and "任务输入配置（JSON）" in html
    assert page_words(html) == []
    en = operator.get(url, **EN).content.decode()
    assert "Create a job" in en and "Task input config (JSON)" in en
    assert not HAN.search(en.replace("简体中文", ""))


def test_create_form_errors_are_chinese(operator: Client, conn):
    data = spec_to_data(example_spec("Bad_ID"), connection="main", token="t1")
    data.setlist("tasks-1-dependencies", ["job-psix"])
    data["tasks-0-parties-0-cpu"] = "lots"
    html = operator.post(reverse("jobs-actions:create"), data, **ZH).content.decode()
    assert "个问题需要修正" in html
    assert "1-63 个字符：小写字母" in html  # job id
    assert "“job-psix”不是任何任务的别名" in html  # dependency
    assert "不是 Kubernetes 资源数量" in html  # cpu
    assert page_words(html) == []
    assert not AuditRecord.objects.exists()


def test_pasted_json_errors_are_chinese(operator: Client, conn):
    url = reverse("jobs-actions:paste")
    html = operator.post(url, {"connection": "main", "request_json": "[1"}, **ZH).content
    assert "不是有效的 JSON" in html.decode()
    body = '{"job_id": "j", "tasks": "x"}'
    html = operator.post(url, {"connection": "main", "request_json": body}, **ZH).content
    assert "不是 CreateJob 请求体：request.tasks：应为列表，实际为" in html.decode()


def test_track_page_in_chinese(operator: Client, conn):
    html = operator.post(reverse("jobs-actions:track"), {"job_id": "Not An Id"}, **ZH)
    text = html.content.decode()
    assert html.status_code == 400
    assert "按 ID 添加作业" in text and "不是 Kuscia 作业 ID" in text
    assert page_words(text) == []


def test_action_result_and_buttons_in_chinese(operator: Client, conn):
    job = make_job(conn, "job-1", state=kt.SUCCEEDED)
    record = AuditRecord.objects.create(
        username="ada",
        connection=conn,
        connection_name="main",
        job_id="job-1",
        action=AuditRecord.Action.CANCEL,
        outcome=AuditRecord.Outcome.NO_EFFECT,
        kuscia_code=0,
        kuscia_message="success",
        note="\n".join(
            [ALREADY_FINISHED % {"state": "Succeeded"}, REQUERY_FAILED % {"message": "boom"}]
        ),
        state_before="Succeeded",
        state_after="Succeeded",
    )
    url = reverse("jobs:detail", kwargs={"connection": "main", "job_id": job.job_id})
    html = operator.get(f"{url}?done={record.pk}&refused=delete", **ZH).content.decode()
    assert "取消：未生效。" in html and "Kuscia 代码 0" in html
    assert "未生效：作业已经结束（Succeeded）。Kuscia 仍然回答成功。" in html
    assert "无法重新查询作业：boom" in html  # Kuscia's message as it gave it
    assert "未执行：请准确输入作业 ID 以确认“删除”。" in html
    assert "在 Kuscia 中删除该作业及其任务" in html and ">重新运行</a>" in html


def test_audit_page_translates_stored_notes_and_hints(client: Client, conn):
    client.force_login(make_user("ada", "admin"))
    AuditRecord.objects.create(
        username="ada", connection=conn, connection_name="main", job_id="job-1",
        action=AuditRecord.Action.STOP, outcome=AuditRecord.Outcome.ERROR,
        error_kind="internal", hint=CRASH_HINT,
    )  # fmt: skip
    AuditRecord.objects.create(
        username="ada", connection=conn, connection_name="main", job_id="",
        action=AuditRecord.Action.CONNECTION_CHECK, outcome=AuditRecord.Outcome.ERROR,
        error_kind="x", hint=HINT_401, note=STOPS_AT % {"step": check.TOKEN},
    )  # fmt: skip
    html = client.get(reverse("audit:list"), **ZH).content.decode()
    assert "控制台在执行时出错（原因见其日志）" in html
    assert "Kuscia 拒绝了 Token 请求头（401）" in html
    assert "停在“Token 被接受”。" in html
    en = client.get(reverse("audit:list"), **EN).content.decode()
    assert "The console failed while acting" in en and "Stops at Token accepted." in en


def test_stored_text_keeps_what_it_does_not_know():
    old = "No effect: written by an older console."
    assert zh(stored, old) == old
    assert zh(stored, "Stops at a step of no name.") == "停在“a step of no name”。"
    assert stored(ALREADY_FINISHED % {"state": "Failed"}).startswith("No effect")


def test_kuscia_errors_translated_where_shown():
    config = ConnectionConfig(url="https://x", protocol="NOTLS")
    with pytest.raises(KusciaError) as err:
        validate_config(config)
    assert zh(error_message, err.value) == "协议 NOTLS 需要 http:// 开头的 URL，实际为 https://x"
    assert zh(translated, err.value.hint).startswith("TLS 或 MTLS 请使用 https://")
    assert str(err.value) == "protocol NOTLS needs a http:// URL, got https://x"  # the log's
    refused = api_error("/api/v1/job/suspend", 11210, "job is not running")
    assert zh(error_message, refused) == "job is not running [11210] (/api/v1/job/suspend)"
    assert zh(translated, refused.hint).startswith("只有 Running 的作业可以暂停")


def test_check_details_are_translated_with_nested_values():
    label = Text(check.CERT_LABELS["client"], {"subject": "CN=x"})
    step = check._step(
        check.EXPIRY,
        "fail",
        Text("%(label)s expired on %(when)s UTC.", {"label": label, "when": "2020-01-01 00:00"}),
        hint=check._expiry_hint("client"),
    )
    assert step.detail == "client certificate CN=x expired on 2020-01-01 00:00 UTC."
    assert zh(step_detail, step) == "客户端证书 CN=x 已于 2020-01-01 00:00 UTC 过期。"
    assert zh(step_hint, step).startswith("请签发一个由该节点 ca.crt 签名的新客户端证书")


def test_every_hint_in_kuscia_is_marked_for_translation():
    """A hint written as a plain string in kuscia/ would reach the reader in English."""
    unmarked = []
    for path in sorted((Path(settings.BASE_DIR) / "kuscia").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            values: list[ast.expr] = []
            if isinstance(node, ast.keyword) and node.arg == "hint":
                values.append(node.value)
            if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any("hint" in ast.unparse(t).lower() for t in targets):
                    values.append(node.value)
            if isinstance(node, ast.FunctionDef) and "hint" in node.name:
                values += [r.value for r in ast.walk(node) if isinstance(r, ast.Return) and r.value]
            for value in values:
                for sub in ast.walk(value):
                    if (
                        isinstance(sub, ast.Constant)
                        and isinstance(sub.value, str)
                        and len(sub.value) > 40
                        and " " in sub.value
                        and not _inside_marker(value, sub)
                    ):
                        unmarked.append(f"{path.name}:{sub.lineno}: {sub.value[:50]}")
    assert unmarked == []


def _inside_marker(root: ast.expr, target: ast.expr) -> bool:
    return any(
        isinstance(node, ast.Call)
        and ast.unparse(node.func) in ("N_", "Text")
        and any(sub is target for sub in ast.walk(node))
        for node in ast.walk(root)
    )


def test_job_refresh_and_forget_notes_are_stored_in_english(operator: Client, conn):
    """What the console stores is English whatever the actor's language: the record."""
    job = make_job(conn, "job-1", state=kt.SUCCEEDED)
    Job.objects.filter(pk=job.pk).update(gone_at=dt.datetime.now(dt.UTC))
    url = reverse("jobs-actions:act", args=["main", "job-1", "forget"])
    operator.post(url, {"token": "tk-forget", "confirm_job_id": "job-1"}, **ZH)
    record = AuditRecord.objects.get(idempotency_key="tk-forget")
    assert record.note == "Removed from the console's database."


def test_check_page_details_and_hints_are_chinese(client: Client, db):
    client.force_login(make_user("ada", "admin"))
    Connection.objects.create(name="alice", url="http://127.0.0.1:1", protocol="NOTLS")
    html = client.get(reverse("connections:check", args=["alice"]), **ZH).content.decode()
    assert "拒绝端口 1 上的连接：该端口上没有服务在监听" in html
    assert "该地址上没有服务在监听：Kuscia 是否在运行？" in html  # the hint
    assert "协议 NOTLS：不需要证书或 Token。" in html and "未运行：前面的步骤失败了" in html
    html = re.sub(r'<div id="sync-indicator".*?(?=<main)', "", html, flags=re.S)
    assert english_words(html, allowed={"alice", "ada"}) == []
