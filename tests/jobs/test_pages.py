"""Monitoring pages through HTTP: content, filters in the URL, htmx fragments, escaping."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from jobs.models import Job, Task, Transition
from kuscia import types as kt
from tests.fixtures.data import add_changes, make_connection, make_job

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def detail_url(job: Job) -> str:
    return reverse("jobs:detail", args=[job.connection.name, job.job_id])


def banner_text(html: str) -> str:
    """The sync banner's markup, with line breaks as the browser shows them (spaces)."""
    banner = html.split('class="banner banner-error"', 1)[1].split('<ul class="sync-list"', 1)[0]
    return " ".join(banner.split())


def part_url(name: str, job: Job) -> str:
    """One of the job page's parts: live, history, raw or endpoints."""
    return reverse(f"jobs:detail_{name}", args=[job.connection.name, job.job_id])


def test_pages_need_login(client, pages_connection):
    job = make_job(pages_connection)
    for url in (reverse("jobs:overview"), reverse("jobs:list"), detail_url(job)):
        response = client.get(url)
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


def test_layout_shows_nav_user_role_logout_and_sync_age(client_in, pages_connection):
    html = client_in.get(reverse("jobs:overview")).content.decode()
    for label in ("Overview", "Jobs", "Connections", "Audit"):
        assert f">{label}</a>" in html
    assert "vera" in html and 'class="role role-viewer"' in html
    assert re.search(r'<form method="post" action="/accounts/logout/"', html)
    assert re.search(r"local: synced [56]s ago", html)  # 5 s old when made; a slow run: 6
    assert 'hx-headers=\'{"X-CSRFToken": "' in html
    assert "<script>" not in html and " onclick=" not in html


def test_sync_failure_shows_red_banner_with_kind_message_and_hint(client_in):
    make_connection(
        "kuscia-a",
        error=(
            "tls_untrusted",
            "certificate verify failed",
            "Use the CA that signed the server cert.",
        ),
    )
    html = client_in.get(reverse("jobs:list")).content.decode()
    assert "banner-error" in html and "Sync failing" in html
    assert "tls_untrusted" in html and "certificate verify failed" in html
    assert "Use the CA that signed the server cert." in html


def test_stale_sync_is_flagged(client_in):
    make_connection("slow", synced_ago=3600)
    html = client_in.get(reverse("jobs:overview")).content.decode()
    assert "Data may be stale" in html and "slow" in html


def test_stale_connections_share_one_banner_item_and_failing_ones_keep_their_own(client_in):
    make_connection("idle-a", synced_ago=3600)
    make_connection("idle-b", synced_ago=7200)
    make_connection("idle-c", synced_ago=600)
    make_connection("broken", error=("unreachable", "connection refused", "Is Kuscia up?"))
    html = client_in.get(reverse("jobs:overview")).content.decode()
    banner = banner_text(html)
    assert banner.count('class="banner-item"') == 2
    assert "Data may be stale — idle-a, idle-b, idle-c" in banner
    assert "last successful sync: 2h 00m ago (the oldest of 3)" in banner
    assert "Sync failing — broken" in banner and "connection refused" in banner


def test_connections_failing_the_same_way_share_one_item_and_one_hint(client_in):
    make_connection("a", error=("tls_untrusted", "a: verify failed", "Use the right CA."))
    make_connection("b", error=("tls_untrusted", "b: verify failed", "Use the right CA."))
    make_connection("c", error=("unreachable", "connection refused", "Is Kuscia up?"))
    html = client_in.get(reverse("jobs:list")).content.decode()
    banner = banner_text(html)
    assert banner.count('class="banner-item"') == 2
    assert "Sync failing — a, b" in banner and banner.count("Use the right CA.") == 1
    assert "<strong>a:</strong>" in banner and "a: verify failed" in banner
    assert "b: verify failed" in banner
    assert "Sync failing — c" in banner and "3 failed attempts in a row" in banner


def test_overview_counts_link_to_filtered_list(client_in, pages_connection):
    make_job(pages_connection, "r1", state=kt.RUNNING)
    make_job(pages_connection, "f1", state=kt.FAILED, err_msg="Task[t1]-Party[bob]: boom")
    make_job(pages_connection, "s1", state=kt.SUCCEEDED)
    html = client_in.get(reverse("jobs:overview")).content.decode()
    assert 'href="/jobs/?state=Running"' in html
    assert re.search(
        r'<span class="n">1</span>\s*<span class="label"><span aria-hidden="true">✗</span> Failed',
        html,
    )
    assert "r1" in html and "f1" in html and "Task[t1]-Party[bob]: boom" in html
    assert 'hx-trigger="every 10s, kc-visible"' in html  # the counts change by beat's recount


def test_overview_lists_stuck_jobs(client_in, pages_connection):
    make_job(
        pages_connection, "frozen", state=kt.RUNNING, changed_ago=3 * 3600, created_ago=4 * 3600
    )
    make_job(pages_connection, "fresh", state=kt.RUNNING, changed_ago=5)
    response = client_in.get(reverse("jobs:overview"))
    stuck = [j.job_id for j in response.context["stuck"]]
    assert stuck == ["frozen"]


def test_overview_empty_state_explains_what_to_do(client_in):
    html = client_in.get(reverse("jobs:overview")).content.decode()
    assert "No jobs yet" in html and "add one by id" in html


def test_list_filters_sort_and_page_come_from_the_url(client_in, pages_connection):
    other = make_connection("other")
    make_job(pages_connection, "alpha-1", state=kt.RUNNING, parties=("alice", "bob"))
    make_job(pages_connection, "alpha-2", state=kt.FAILED, parties=("alice", "carol"))
    make_job(other, "beta-1", state=kt.SUCCEEDED, parties=("bob", "carol"), initiator="bob")
    url = reverse("jobs:list")

    def ids(query: str) -> list[str]:
        return [j.job_id for j in client_in.get(url + query).context["jobs"]]

    assert ids("?state=Running&state=Failed&sort=job") == ["alpha-1", "alpha-2"]
    assert ids("?party=carol&sort=job") == ["alpha-2", "beta-1"]
    assert ids("?initiator=bob") == ["beta-1"]
    assert ids("?connection=other") == ["beta-1"]
    assert ids("?q=ALPHA&sort=-job") == ["alpha-2", "alpha-1"]
    assert ids("?sort=job&per_page=25&page=1") == ["alpha-1", "alpha-2", "beta-1"]
    # malformed values are dropped with a note, never a 500
    response = client_in.get(url + "?state=Bogus&created_from=yesterday&sort=drop&party=a%20b")
    assert response.status_code == 200
    assert len(response.context["jobs"]) == 3
    assert "Ignored Created from" in response.content.decode()


def test_list_pagination_keeps_filters_in_links(client_in, pages_connection):
    for i in range(30):
        make_job(
            pages_connection,
            f"job-{i:02d}",
            state=kt.SUCCEEDED,
            tasks=1,
            transitions=False,
            endpoints=False,
        )
    html = client_in.get(
        reverse("jobs:list") + "?state=Succeeded&per_page=25&sort=job"
    ).content.decode()
    assert "30 jobs" in html
    cursor = (
        client_in.get(reverse("jobs:list") + "?state=Succeeded&sort=job")
        .context["page"]
        .next_cursor
    )
    assert cursor.startswith("vjob-24~")
    nxt = 'href="?state=Succeeded&amp;per_page=25&amp;sort=job&amp;after=vjob-24~'
    assert nxt in html
    page2 = client_in.get(reverse("jobs:list") + f"?state=Succeeded&sort=job&after={cursor}")
    assert [j.job_id for j in page2.context["jobs"]] == [f"job-{i:02d}" for i in range(25, 30)]
    assert 'rel="next"' not in page2.content.decode()
    back = page2.context["page"].prev_cursor
    page1 = client_in.get(reverse("jobs:list") + f"?state=Succeeded&sort=job&before={back}")
    assert [j.job_id for j in page1.context["jobs"]] == [f"job-{i:02d}" for i in range(25)]
    # a page number is not a position the list knows: it shows the first page, never fails
    old = client_in.get(reverse("jobs:list") + "?state=Succeeded&per_page=25&sort=job&page=2")
    assert [j.job_id for j in old.context["jobs"]] == [f"job-{i:02d}" for i in range(25)]


def test_list_fragment_polls_only_while_something_listed_is_active(client_in, pages_connection):
    make_job(pages_connection, "run", state=kt.RUNNING)
    make_job(pages_connection, "done", state=kt.SUCCEEDED)
    url = reverse("jobs:list")
    live = client_in.get(url + "?state=Running", **HX)
    assert live.status_code == 200
    assert live["Vary"].count("HX-Request") == 1
    body = live.content.decode()
    assert body.lstrip().startswith('<div id="job-table"') and "<html" not in body
    assert 'hx-trigger="every 3s, kc-visible"' in body
    assert 'hx-get="/jobs/?state=Running"' in body
    finished = client_in.get(url + "?state=Succeeded", **HX)
    assert finished.status_code == 286
    assert "hx-trigger" not in finished.content.decode()


def test_list_empty_states(client_in, pages_connection):
    html = client_in.get(reverse("jobs:list")).content.decode()
    assert "No jobs yet" in html
    make_job(pages_connection, "x")
    html = client_in.get(reverse("jobs:list") + "?q=nothing-like-this").content.decode()
    assert "No job matches these filters" in html


def test_detail_shows_header_dag_matrix_endpoints_timeline_history_raw(client_in, pages_connection):
    job = make_job(
        pages_connection,
        "job-psi",
        state=kt.RUNNING,
        tasks=[("psi", []), ("split", ["psi"]), ("train", ["split"])],
        custom_fields={"team": "risk"},
    )
    html = client_in.get(detail_url(job)).content.decode()
    assert '<svg class="dag"' in html
    assert html.count('class="node ') == 3
    assert html.count('class="edge"') == 2
    assert "team=risk" in html and "Max parallelism" in html
    assert 'class="matrix"' in html and ">alice</th>" in html
    assert 'data-copy="job-psi-psi-0-global.alice.svc:26836"' in html
    assert 'class="gantt"' in html and "History" in html
    assert "Last raw reply from Kuscia" in html
    assert 'hx-trigger="every 3s, kc-visible"' in html  # running: refreshes
    assert "task_input_config" not in html  # only for the selected task
    html = client_in.get(detail_url(job) + "?task=job-psi-split").content.decode()
    assert "&quot;sf_node_eval_param&quot;: {" in html  # task_input_config pretty-printed


def test_raw_reply_loads_when_opened_and_is_escaped(
    client_in, pages_connection, django_assert_num_queries
):
    job = make_job(pages_connection, "job-raw", state=kt.RUNNING, tasks=1)
    Job.objects.filter(pk=job.pk).update(
        raw={"job_id": "job-raw", "status": {"err_msg": "<img src=x onerror=alert(1)>"}}
    )
    html = client_in.get(detail_url(job)).content.decode()
    assert "onerror" not in html  # not on the page: it loads when opened
    assert 'id="raw-body" hx-get="/jobs/local/job-raw/raw/"' in html
    with django_assert_num_queries(5):  # session, user, groups, job, the reply
        part = client_in.get(part_url("raw", job), **HX)
    body = part.content.decode()
    assert body.startswith('<pre class="json">') and "<html" not in body
    assert "&lt;img src=x onerror=alert(1)&gt;" in body and "<img" not in body
    inline = client_in.get(detail_url(job) + "?raw=1").content.decode()  # a link, or no JS
    assert "&lt;img src=x onerror=alert(1)&gt;" in inline and "raw-body" not in inline
    empty = make_job(pages_connection, "job-noraw", state=kt.RUNNING, tasks=1)
    Job.objects.filter(pk=empty.pk).update(raw={})
    part = client_in.get(part_url("raw", empty), **HX)
    assert "None stored yet" in part.content.decode()


def test_dag_node_click_url_selects_task(client_in, pages_connection):
    job = make_job(pages_connection, "job-sel", tasks=[("psi", []), ("train", ["psi"])])
    html = client_in.get(detail_url(job)).content.decode()
    assert 'href="/jobs/local/job-sel/?task=job-sel-train#task-panel"' in html
    selected = client_in.get(detail_url(job) + "?task=job-sel-train")
    assert selected.context["selected"].task.alias == "train"
    assert "node st-running selected" in selected.content.decode()


def test_failed_job_has_failure_card_with_party_reason_and_stops_polling(
    client_in, pages_connection
):
    job = make_job(
        pages_connection,
        "job-f",
        state=kt.FAILED,
        tasks=3,
        parties=("alice", "bob"),
        party_err="OOMKilled: psi used 9Gi",
    )
    html = " ".join(client_in.get(detail_url(job)).content.decode().split())
    assert "Why it failed" in html
    assert re.search(
        r"Task <a [^>]*><strong>t2</strong></a> failed in party <strong>bob</strong>", html
    )
    assert "OOMKilled: psi used 9Gi" in html
    assert "hx-trigger" not in html.split('id="job-status"')[1].split(">")[0]
    fragment = client_in.get(part_url("live", job), **HX)
    assert fragment.status_code == 286
    assert "<html" not in fragment.content.decode()


def test_kuscia_text_is_escaped_everywhere(client_in, pages_connection):
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    job = make_job(pages_connection, "job-xss", state=kt.FAILED, err_msg=evil, party_err=evil)
    Transition.objects.create(job=job, kind="job", new_state="Failed", message=evil, source="poll")
    for url in (
        detail_url(job),
        reverse("jobs:overview"),
        reverse("jobs:task", args=["local", "job-xss", "job-xss-t1"]),
    ):
        html = client_in.get(url).content.decode()
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


def test_gone_job_is_marked_and_not_polled(client_in, pages_connection):
    from django.utils import timezone

    job = make_job(
        pages_connection,
        "job-gone",
        state=kt.RUNNING,
        gone_at=timezone.now(),
        gone_reason="not-found",
    )
    html = client_in.get(detail_url(job)).content.decode()
    assert "gone from Kuscia" in html and "Kuscia answers that it has no such job" in html
    assert client_in.get(part_url("live", job), **HX).status_code == 286


def test_unknown_job_and_task_are_404(client_in, pages_connection):
    job = make_job(pages_connection, "j")
    assert client_in.get(reverse("jobs:detail", args=["local", "nope"])).status_code == 404
    assert (
        client_in.get(reverse("jobs:task", args=["local", job.job_id, "nope"])).status_code == 404
    )


def test_task_page_loads_the_archived_logs_lazily(client_in, pages_connection):
    job = make_job(pages_connection, "job-t", state=kt.FAILED, party_err="exit 137")
    url = reverse("jobs:task", args=["local", job.job_id, "job-t-t1"])
    html = client_in.get(url).content.decode()
    assert "exit 137" in html
    assert 'data-copy="job-t-t1-0-global.bob.svc:26836"' in html
    logs_url = reverse("logs:task", args=["local", job.job_id, "job-t-t1"])
    assert f'hx-get="{logs_url}"' in html and 'id="task-logs"' in html
    assert client_in.get(logs_url).status_code == 200
    assert client_in.get(url, **HX).status_code == 286


def test_job_with_no_tasks_yet_explains_itself(client_in, pages_connection):
    job = make_job(pages_connection, "job-empty", state=kt.PENDING, tasks=0)
    html = client_in.get(detail_url(job)).content.decode()
    assert "No tasks known yet" in html and "No endpoints reported" in html


def test_dag_svg_escapes_aliases_and_ids(client_in, pages_connection):
    job = make_job(pages_connection, "job-esc", tasks=[('<b onmouseover="x()">a</b>', [])])
    html = client_in.get(detail_url(job)).content.decode()
    svg = html.split('<svg class="dag"')[1].split("</svg>")[0]
    assert "<b " not in svg and "&lt;b onmouseover=&quot;x()&quot;&gt;a&lt;/b&gt;" in svg
    assert (
        'href="/jobs/local/job-esc/?task=job-esc-%3Cb+onmouseover%3D%22x%28%29%22%3Ea%3C%2Fb%3E#task-panel"'
        in svg
    )


def test_large_job_loads_endpoints_per_party_on_demand(
    client_in, pages_connection, django_assert_num_queries
):
    job = make_job(
        pages_connection, "job-big", state=kt.SUCCEEDED, tasks=13, parties=("alice", "bob")
    )
    html = client_in.get(detail_url(job)).content.decode()
    assert "open a party to load its endpoints" in html
    assert 'hx-get="/jobs/local/job-big/endpoints/?party=alice"' in html
    assert "data-copy=" not in html
    with django_assert_num_queries(5):  # session, user, groups, job, endpoints
        part = client_in.get(part_url("endpoints", job) + "?party=alice", **HX)
    body = part.content.decode()
    assert body.count("<tr>") == 1 + 26 and "<html" not in body
    assert 'data-copy="job-big-t12-0-global.alice.svc:26836"' in body


def test_more_parties_than_the_endpoint_limit_skip_the_endpoint_read(
    client_in, pages_connection, django_assert_num_queries
):
    # 25 tasks x 2 parties = 50 party rows > 48: endpoints are per party, not read at all
    job = make_job(pages_connection, "job-wide", state=kt.SUCCEEDED, tasks=25, parties=("a", "b"))
    with django_assert_num_queries(2):  # tasks, parties: no endpoint query
        rows = Task.objects.for_job_page(job)
    assert not rows.endpoints_complete
    small = make_job(pages_connection, "job-small", state=kt.RUNNING, tasks=2, parties=("a", "b"))
    with django_assert_num_queries(3):  # tasks, parties, endpoints
        rows = Task.objects.for_job_page(small)
    assert rows.endpoints_complete
    assert sum(len(p.endpoint_list) for t in rows.tasks for p in t.party_list) > 0


def test_unchanged_job_polls_are_answered_304(
    client_in, pages_connection, django_assert_num_queries
):
    job = make_job(pages_connection, "job-etag", state=kt.RUNNING)
    first = client_in.get(part_url("live", job), **HX)
    assert first.status_code == 200 and first["ETag"].startswith('"')
    assert "no-cache" in first["Cache-Control"]
    with django_assert_num_queries(3):  # session, user, job (nothing rendered)
        again = client_in.get(part_url("live", job), HTTP_IF_NONE_MATCH=first["ETag"], **HX)
    assert again.status_code == 304 and again.content == b""
    Job.objects.filter(pk=job.pk).update(state=kt.SUCCEEDED)
    changed = client_in.get(part_url("live", job), HTTP_IF_NONE_MATCH=first["ETag"], **HX)
    assert changed.status_code == 286 and b"Succeeded" in changed.content


def test_the_live_part_is_compressed_and_its_weak_etag_still_answers_304(
    client_in, pages_connection
):
    import gzip

    job = make_job(pages_connection, "job-gz", state=kt.RUNNING, tasks=40)
    first = client_in.get(part_url("live", job), HTTP_ACCEPT_ENCODING="gzip, br", **HX)
    assert first.status_code == 200 and first["Content-Encoding"] == "gzip"
    body = gzip.decompress(first.content).decode()
    assert '<div id="job-status"' in body and len(first.content) * 4 < len(body)
    assert "Accept-Encoding" in first["Vary"] and first["ETag"].startswith('W/"')
    again = client_in.get(
        part_url("live", job),
        HTTP_ACCEPT_ENCODING="gzip, br",
        HTTP_IF_NONE_MATCH=first["ETag"],
        **HX,
    )
    assert again.status_code == 304 and again.content == b""


def test_operator_empty_list_links_to_create(client, pages_operator):
    client.force_login(pages_operator)
    html = client.get(reverse("jobs:list")).content.decode()
    assert '<a href="/jobs/new/">Create one</a>' in html
    assert '<a class="button" href="/jobs/new/">Create job</a>' in html


def test_sync_indicator_refreshes_itself(client_in, pages_connection, django_assert_num_queries):
    from django.utils import timezone

    from connections.models import SyncState

    html = client_in.get(reverse("jobs:overview")).content.decode()
    assert 'hx-get="/sync-status/" hx-trigger="every 15s, kc-visible"' in html
    SyncState.objects.filter(connection=pages_connection).update(
        last_error_kind="unauthorized",
        last_error_message="token rejected",
        last_error_hint="Check the token file.",
        last_error_at=timezone.now(),
    )
    with django_assert_num_queries(4):  # session, user, groups (role), connections + sync state
        fragment = client_in.get(reverse("jobs:sync_status"), **HX)
    body = fragment.content.decode()
    assert body.startswith('<div id="sync-indicator"') and "token rejected" in body
    assert "Check the token file." in body


def test_long_history_loads_the_newest_sixty_when_opened_with_a_link_to_all(
    client_in, pages_connection
):
    job = make_job(pages_connection, "job-h", state=kt.RUNNING, tasks=1, transitions=False)
    add_changes(
        job, [f"m{i:03d}" for i in range(130)], kind="party", task_id="job-h-t0", domain_id="alice"
    )
    html = client_in.get(detail_url(job) + "?task=job-h-t0").content.decode()
    # a long history is not on the page: it loads (the newest 60) when its <details> opens
    assert "More than 30 recorded changes" in " ".join(html.split()) and ">m129<" not in html
    assert 'id="history-body" hx-get="/jobs/local/job-h/history/?task=job-h-t0"' in html
    body = client_in.get(part_url("history", job) + "?task=job-h-t0", **HX).content.decode()
    assert "The newest 60 of 130 are shown" in body
    assert ">m129<" in body and ">m070<" in body and ">m069<" not in body
    assert 'href="?task=job-h-t0&amp;history=all#hist-h"' in body
    assert "<html" not in body
    full = client_in.get(detail_url(job) + "?history=all").content.decode()
    assert ">m000<" in full and ">m129<" in full and "are shown" not in full


def test_short_history_is_on_the_page_and_open(client_in, pages_connection):
    job = make_job(pages_connection, "job-s", state=kt.RUNNING, tasks=1, transitions=False)
    add_changes(job, [f"s{i:02d}" for i in range(30)])
    html = client_in.get(detail_url(job)).content.decode()
    assert "30 recorded changes" in html and ">s00<" in html and ">s29<" in html
    assert "history-body" not in html and "<details open><summary>30 recorded" in html


def test_list_filters_fold_away_unless_a_filter_is_active(client_in, pages_connection):
    html = client_in.get(reverse("jobs:list") + "?sort=job&per_page=50").content.decode()
    assert '<details class="filterbox">' in html  # closed on narrow screens (CSS opens wide)
    html = client_in.get(reverse("jobs:list") + "?state=Failed&party=bob").content.decode()
    assert '<details class="filterbox" open>' in html and "2 filters active" in html


def test_a_long_job_message_folds_into_a_summary_and_stays_escaped(client_in, pages_connection):
    long = "<b>stderr</b> " + "x" * 600
    job = make_job(pages_connection, "job-long", state=kt.RUNNING, err_msg=long)
    html = client_in.get(reverse("jobs:detail", args=["local", job.job_id])).content.decode()
    box = html.split('<div class="errbox">', 1)[1].split("</div>", 1)[0]
    assert '<details class="errlong" id="job-errlong">' in box and "<b>" not in box
    assert box.count("&lt;b&gt;stderr&lt;/b&gt;") == 2  # the summary's start and the whole text
    # a failed job's message is a reason in its failure card, folded the same way
    failed = make_job(pages_connection, "job-long-f", state=kt.FAILED, err_msg=long)
    html = client_in.get(reverse("jobs:detail", args=["local", failed.job_id])).content.decode()
    card = html.split('class="failure"', 1)[1].split("</section>", 1)[0]
    assert '<details class="errlong">' in card and "<b>" not in card
    assert card.count("&lt;b&gt;stderr&lt;/b&gt;") == 2 and 'class="errbox"' not in html
    short = make_job(pages_connection, "job-short", state=kt.RUNNING, err_msg="exit 1")
    html = client_in.get(reverse("jobs:detail", args=["local", short.job_id])).content.decode()
    assert '<span class="msg wrap">exit 1</span>' in html and "errlong" not in html


def test_a_never_synced_failing_connection_is_not_given_another_ones_age(client_in):
    error = ("unreachable", "connection refused", "Is Kuscia up?")
    make_connection("a", synced_ago=None, error=error)
    make_connection("b", synced_ago=600, error=error)
    html = client_in.get(reverse("jobs:list")).content.decode()
    banner = banner_text(html)
    assert "Sync failing — a</strong>" in banner and "last successful sync: never" in banner
    assert "Sync failing — b</strong>" in banner and "10m 00s ago" in banner


def test_a_job_kuscia_refuses_to_show_says_so_on_its_page(client_in, pages_connection):
    job = make_job(pages_connection, "job-hidden", state=kt.RUNNING)
    Job.objects.filter(pk=job.pk).update(
        refused_at=timezone.now(), refused_message="domain's <b>KusciaAPI</b> could only retrieve"
    )
    html = client_in.get(reverse("jobs:detail", args=["local", job.job_id])).content.decode()
    html = " ".join(html.split())  # as the browser shows it: line breaks are spaces
    assert "Kuscia has refused to show this job to local for " in html
    assert "&lt;b&gt;KusciaAPI&lt;/b&gt;" in html and "<b>KusciaAPI" not in html


def test_failure_card_loads_the_failed_partys_last_log_lines(client_in, pages_connection):
    job = make_job(pages_connection, "job-ft", state=kt.FAILED, party_err="exit 137")
    html = client_in.get(detail_url(job)).content.decode()
    card = html.split('<section class="failure"')[1].split("</section>")[0]
    tail = reverse("logs:tail", args=["local", job.job_id, "job-ft-t1", "bob"])
    assert f'hx-get="{tail}"' in card
