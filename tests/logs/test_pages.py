"""The log viewer's pages: tabs per party, the end window, a line, search with next/previous,
first error, download headers, the failure card's tail, live refresh that stops, the party
without a node, escaping, and sign-in."""

from __future__ import annotations

import pytest
from django.urls import reverse

from connections.models import Connection
from jobs.models import PartyStatus
from kuscia import types as kt
from logs.archive import Archive, claim
from logs.models import TaskLog
from tests.fixtures.data import make_job

pytestmark = pytest.mark.django_db


def lines_for(party: str, n: int = 600) -> list[str]:
    out = [f"2025-04-16 10:00:00,000|{party}|INFO|secretflow|c.py:e:1| step {i}" for i in range(n)]
    out[300] = f"2025-04-16 10:00:00,000|{party}|ERROR|secretflow|e.py:m:1| it broke <b>here</b>"
    out.append("progress\r 50%\r100%")
    return out


def store(log: TaskLog, lines: list[str], state: str = "complete") -> None:
    claim(log)
    archive = Archive(log, segment_bytes=8192)
    archive.feed(lines)
    archive.finish(authoritative=True, state=state)


@pytest.fixture
def setup(db, log_storage):
    master = Connection.objects.create(
        name="master", url="https://m:8082", role="master", domains=["alice", "bob", "carol"]
    )
    Connection.objects.create(name="lite-alice", url="https://a:1", role="lite", domains=["alice"])
    job = make_job(master, "job-v", tasks=[("psi", [])], parties=("alice", "bob", "carol"))
    logs = {}
    for party in ("alice", "bob"):
        logs[party] = TaskLog.objects.create(
            job=job,
            connection_name="master",
            kuscia_job_id="job-v",
            task_id="job-v-psi",
            domain_id=party,
        )
        store(logs[party], lines_for(party))
    return job, logs


def panel(client, **params):
    url = reverse("logs:task", args=["master", "job-v", "job-v-psi"])
    return client.get(url, params)


def test_tabs_per_party_open_at_the_end(client, pages_user, setup):
    client.force_login(pages_user)
    _, logs = setup
    html = panel(client).content.decode()
    assert html.count('role="tab"') == 3  # alice, bob, and carol without a log
    assert "|alice|INFO" in html and "|bob|" not in html  # parties never mixed
    assert 'id="L601"' in html and 'id="L400"' not in html  # the last 200 lines only
    assert "progress\u240d 50%\u240d100%" in html  # carriage returns shown, not line breaks
    assert "it broke &lt;b&gt;here&lt;/b&gt;" not in html  # line 301 is not in the end window
    bob = panel(client, log=logs["bob"].pk).content.decode()
    assert "|bob|INFO" in bob and "|alice|" not in bob
    carol = panel(client, party="carol").content.decode()
    assert "No connection serves carol" in carol and "kuscia-lite-carol" in carol


def test_a_line_permalink_and_first_error(client, pages_user, setup):
    client.force_login(pages_user)
    _, logs = setup
    alice = logs["alice"]
    alice.refresh_from_db()
    assert alice.first_error_line == 301
    html = panel(client, log=alice.pk, line=301).content.decode()
    assert 'class="ln-row err focus" id="L301"' in html
    assert "it broke &lt;b&gt;here&lt;/b&gt;" in html and "<b>here" not in html
    assert f"?log={alice.pk}&amp;line=301#L301" in html  # its permalink


def test_search_counts_and_moves_between_matches(client, pages_user, setup):
    client.force_login(pages_user)
    _, logs = setup
    view = reverse("logs:view", args=[logs["alice"].pk])
    html = client.get(view, {"q": "STEP 59"}, HTTP_HX_REQUEST="true").content.decode()
    assert "11 matches for “STEP 59” in 11 lines" in html  # 59, 590..599
    assert "showing 1 of 11" in html and 'class="ln-row hit focus" id="L60"' in html
    last = client.get(view, {"q": "step 59", "m": 10}).content.decode()
    assert 'class="ln-row hit focus" id="L600"' in last and "showing 11 of 11" in last
    wrapped = client.get(view, {"q": "step 59", "m": 11}).content.decode()
    assert "showing 11 of 11" in wrapped  # clamped
    none = client.get(view, {"q": "<script>"}).content.decode()
    assert "No match for “&lt;script&gt;”" in none


def test_download_is_plain_text_and_complete(client, pages_user, setup):
    client.force_login(pages_user)
    _, logs = setup
    response = client.get(reverse("logs:download", args=[logs["bob"].pk]))
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == 'attachment; filename="job-v_job-v-psi_bob_r0.log"'
    body = b"".join(response.streaming_content)
    assert body == ("\n".join(lines_for("bob")) + "\n").encode()


def test_failure_card_tail(client, pages_user, setup):
    client.force_login(pages_user)
    html = client.get(reverse("logs:tail", args=["master", "job-v", "job-v-psi", "bob"])).content
    text = html.decode()
    assert text.count('class="ln-row') == 30 and "step 599" in text
    assert "Open the full log" in text
    empty = client.get(reverse("logs:tail", args=["master", "job-v", "job-v-psi", "carol"]))
    assert "No log of carol is stored" in empty.content.decode()


def test_failure_card_of_a_party_no_connection_serves_says_why(client, pages_user, setup):
    client.force_login(pages_user)
    url = reverse("logs:tail", args=["master", "job-v", "job-v-psi", "carol"])
    html = client.get(url).content.decode()
    assert "No log of carol is stored for this task." in html
    assert "a master does not serve task logs; each party&#x27;s lite node does" in html


def test_a_failed_task_opens_on_the_failed_party(client, pages_user, setup):
    client.force_login(pages_user)
    job, _ = setup
    PartyStatus.objects.filter(task__job=job).update(state=kt.FAILED)  # as Kuscia marks peers
    PartyStatus.objects.filter(task__job=job, domain_id="bob").update(err_msg="exit code 1")
    html = panel(client).content.decode()
    assert "|bob|" in html and "|alice|" not in html
    html = panel(client, party="alice").content.decode()  # asked for: that one
    assert "|alice|" in html


def test_live_tail_refreshes_until_the_log_is_final(client, pages_user, setup):
    client.force_login(pages_user)
    _, logs = setup
    alice = logs["alice"]
    TaskLog.objects.filter(pk=alice.pk).update(state="following", finished_at=None)
    html = panel(client, log=alice.pk).content.decode()
    assert "every 3s" in html and "Live:" in html
    view = reverse("logs:view", args=[alice.pk])
    assert client.get(view, {"poll": "1"}, HTTP_HX_REQUEST="true").status_code == 200
    TaskLog.objects.filter(pk=alice.pk).update(state="complete")
    assert client.get(view, {"poll": "1"}, HTTP_HX_REQUEST="true").status_code == 286


def test_signed_in_users_only(client, setup):
    _, logs = setup
    for url in (
        reverse("logs:task", args=["master", "job-v", "job-v-psi"]),
        reverse("logs:view", args=[logs["alice"].pk]),
        reverse("logs:download", args=[logs["alice"].pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_unknown_task_or_log_is_404(client, pages_user, setup):
    client.force_login(pages_user)
    assert client.get(reverse("logs:task", args=["master", "job-v", "nope"])).status_code == 404
    assert client.get(reverse("logs:view", args=[999999])).status_code == 404


def test_the_panel_costs_a_fixed_number_of_queries(
    client, pages_user, setup, django_assert_max_num_queries
):
    client.force_login(pages_user)
    _, logs = setup
    with django_assert_max_num_queries(9):  # session, user, sync indicator, job, task, tabs,
        panel(client, log=logs["alice"].pk)  # the party without a log's node, segments
