"""Property test: hostile values in every GET parameter a page reads, in its path arguments and
in the htmx headers never give a 5xx or a logged traceback.

PARAMS names, for every URL pattern, the GET parameters its view, forms and templates read; two
checks keep it complete: every URL pattern has an entry, and every parameter name the source
reads (`GET.get("x")`, `getlist("x")`, JobFilter's `one/token/date("x")`, templates'
`request.GET.x`, forms bound to request.GET) is listed for some page. Examples per page:
tests/fixtures/nasty.py (KC_INPUT_EXAMPLES).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit.views import AuditFilterForm
from tests.fixtures.data import make_connection, make_job, make_user
from tests.fixtures.nasty import PHASES, TEXT, VALUE, examples, request_problems, values
from tests.fixtures.urls import url_patterns

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
LIST = ["state", "party", "initiator", "connection", "created_from", "created_to", "q", "sort"]
LIST += ["per_page", "after", "before"]
DETAIL = ["task", "party", "history", "raw", "done", "refused", "reason"]
# url name -> GET parameters read by the page (its view, forms and templates).
PARAMS: dict[str, list[str]] = {
    "admin_login": ["next"],
    "login": ["next"],
    "logout": [],
    "password_change": [],
    "password_change_done": [],
    "healthz": ["strict"],
    "metrics": [],
    "connections:list": [],
    "connections:add": [],
    "connections:edit": [],
    "connections:toggle": [],
    "connections:check": [],
    "jobs-actions:create": ["connection", "from", "template"],
    "jobs-actions:paste": [],
    "jobs-actions:task-row": ["index"],
    "jobs-actions:party-row": ["prefix", "index"],
    "jobs-actions:field-row": ["index"],
    "jobs-actions:domaindata": ["connection", "domain"],
    "jobs-actions:track": [],
    "jobs-actions:act": [],
    "jobs-actions:buttons": ["state", *DETAIL],
    "audit:list": [*AuditFilterForm.base_fields, "page"],
    "jobs:overview": [],
    "jobs:list": LIST,
    "jobs:sync_status": [],
    "jobs:detail": DETAIL,
    "jobs:task": [],
    "jobs:detail_live": ["task", "spec"],
    "jobs:detail_history": [],
    "jobs:detail_raw": [],
    "jobs:detail_endpoints": ["party"],
    "set_language": ["next"],
    "preferences": [],
    "network:network": ["connection", "routes", "source"],
    "network:node": ["before"],
    "network:route": ["before"],
    "network:data": ["q", "domain", "type", "connection", "gone", "per_page", "after", "before"],
    "network:data_new": ["connection", "domain"],
    "network:data_item": [],
    "network:data_edit": [],
    "network:data_delete": [],
    "network:data_grant": [],
    "network:data_revoke": [],
    "alerts:home": ["channel", "event", "status", "rule", "page"],
    "alerts:channels": [],
    "alerts:channel_add": [],
    "alerts:channel_edit": [],
    "alerts:channel_delete": [],
    "alerts:channel_test": [],
    "alerts:rules": [],
    "alerts:rule_add": [],
    "alerts:rule_edit": [],
    "alerts:rule_delete": [],
    "alerts:mine": [],
    "alerts:notify": [],
    "logs:task": ["log", "party", "line", "q", "m"],
    "logs:view": ["line", "q", "m", "poll"],
    "logs:download": [],
    "logs:tail": [],
}
# The parameters whose values the code parses (tests/fixtures/nasty.py SHAPED); others: any text.
SHAPES = {
    "after": "cursor",
    "before": "cursor",
    "done": "integer",
    "page": "integer",
    "per_page": "integer",
    "index": "integer",
    "created_from": "date",
    "created_to": "date",
    "since": "date",
    "until": "date",
    "line": "integer",
    "m": "integer",
}
# Path arguments of the sample URLs (each also fuzzed where the route takes any text).
SAMPLE = {"connection": "local", "name": "local", "job_id": "job-1", "task_id": "job-1-t0"}
SAMPLE["action"] = "stop"
CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")
# Inputs that once gave a 500, always tried first (hypothesis also finds them, less surely).
KNOWN = {
    "jobs:list": [{"after": ["n~" + "9" * 5000]}, {"before": ["n~" + "9" * 30], "sort": ["job"]}],
    "jobs:detail": [{"done": ["9" * 5000]}],
    "jobs-actions:buttons": [{"done": ["9" * 5000]}],
    "network:data": [{"after": ["a~b~" + "9" * 4301]}, {"before": ["a~b~²"]}],
    "network:node": [{"before": ["²"]}, {"before": ["9" * 4301]}],
    "network:route": [{"before": ["²"]}],
}
HX_TARGETS = ["raw-body", "history-body", "ep-alice", "ep-", "check-results", "live", ""]


def app_urls() -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(route, url name, [(converter, argument)]) of every URL pattern outside Django admin."""
    return [(route, name, CONVERTER.findall(route)) for route, name in url_patterns()]


URLS = app_urls()
SOURCE_READS = [
    r'GET\.get\("(\w+)"',
    r'GET\["(\w+)"\]',
    r'getlist\("(\w+)"\)',
    r'\b(?:one|token|date)\("(\w+)"\)',
    r"request\.GET\.(\w+)",
]


def source_parameters() -> set[str]:
    names: set[str] = set()
    files = [
        *ROOT.glob("*/*.py"),
        *ROOT.glob("*/templatetags/*.py"),
        *ROOT.glob("templates/**/*.html"),
    ]
    for path in files:
        if path.parts[len(ROOT.parts)] in ("tests", "bench", "scripts", ".venv"):
            continue
        text = path.read_text()
        for pattern in SOURCE_READS:
            names.update(re.findall(pattern, text))
    return names - {"copy", "get", "getlist", "urlencode", "items", "lists"}  # QueryDict methods


def test_every_url_pattern_has_its_parameters_listed() -> None:
    assert {name for _, name, _ in URLS} == set(PARAMS)


def test_every_parameter_the_source_reads_is_fuzzed() -> None:
    listed = {p for params in PARAMS.values() for p in params}
    found = source_parameters()
    assert {"after", "done", "index", "state", "strict"} <= found  # the scan itself works
    assert found <= listed, f"not in PARAMS: {sorted(found - listed)}"


def sample_path(route: str, args: dict[str, str]) -> str:
    return "/" + CONVERTER.sub(lambda m: quote(args.get(m.group(2), "x1"), safe=""), route)


@pytest.fixture
def world(settings):
    settings.KC_CHECK_LIMIT = 10**6  # the checks' rate limit is tested elsewhere
    settings.LOGIN_FAILURE_LIMIT = settings.LOGIN_FAILURE_USER_LIMIT = 10**6
    conn = make_connection("local")
    make_job(conn, "job-1")
    client = Client()
    client.force_login(make_user("ada", "admin"))
    return client


@pytest.mark.parametrize(("route", "name", "args"), URLS, ids=[n for _, n, _ in URLS])
def test_hostile_get_parameters_never_give_a_5xx(world, caplog, route, name, args) -> None:
    client = world
    text_args = [arg for conv, arg in args if conv in ("", "str")]
    params = PARAMS[name]

    @settings(
        max_examples=examples(30) if (params or text_args) else 1,
        deadline=None,
        database=None,
        phases=PHASES,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        query=st.fixed_dictionaries({}, optional={p: values(SHAPES.get(p, "")) for p in params}),
        path_args=st.dictionaries(st.sampled_from(text_args), st.one_of(VALUE, TEXT), max_size=2)
        if text_args
        else st.just({}),
        htmx=st.booleans(),
        target=st.sampled_from(HX_TARGETS),
        etag=st.one_of(st.just(""), TEXT),
    )
    def run(query, path_args, htmx, target, etag) -> None:
        check(query, path_args, htmx, target, etag)

    def check(query, path_args, htmx, target, etag) -> None:
        path = sample_path(route, {**SAMPLE, **path_args})
        headers = {}
        if htmx:
            headers = {"HX-Request": "true", "HX-Target": target, "HX-Current-URL": path}
            if etag:
                headers["If-None-Match"] = etag
        before = len(caplog.records)
        response = client.get(path, query, headers=headers)
        assert response.status_code < 500, (path, query, headers, response.status_code)
        assert request_problems(caplog.records[before:]) == [], (path, query, headers)

    for query in KNOWN.get(name, []):
        check(query, {}, False, "", "")
    run()
