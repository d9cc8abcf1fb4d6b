"""KC_ALERTS_FILE: applied when it changes, every problem reported as file:line: what, and a
file with problems changes nothing."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from alerts import provision
from alerts.models import Channel, ProvisionState, Rule
from alerts.secrets import unseal
from audit.models import AuditRecord
from tests.fixtures.data import make_connection

pytestmark = pytest.mark.django_db

GOOD = """\
channels:
  - name: ops-hook
    kind: webhook
    url: https://hooks.example.invalid/kc
    secret: change-me
  - name: team-ding
    kind: dingtalk
    url: https://oapi.dingtalk.com/robot/send?access_token=abc
    secret_file: {secret_file}
  - name: ops-mail
    kind: email
    to: [ops@example.org]
rules:
  - name: job-failed
    when: job_failed
    minutes: 0
    channels: [ops-hook, team-ding]
  - name: waiting
    when: approval_longer
    minutes: 60
    connection: local
    party: bob
    channels: [ops-mail]
"""


@pytest.fixture
def alerts_file(tmp_path: Path, settings: Any) -> Path:
    secret = tmp_path / "ding.secret"
    secret.write_text("SECabc\n")
    path = tmp_path / "alerts.yaml"
    path.write_text(GOOD.format(secret_file=secret))
    settings.KC_ALERTS_FILE = str(path)
    make_connection("local")
    return path


def touch(path: Path, text: str) -> None:
    path.write_text(text)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def test_a_valid_file_is_applied_once(alerts_file: Path) -> None:
    assert provision.refresh() == "applied"
    assert set(Channel.objects.values_list("name", "provisioned")) == {
        ("ops-hook", True),
        ("team-ding", True),
        ("ops-mail", True),
    }
    ding = Channel.objects.get(name="team-ding")
    assert (
        unseal(ding.secret_encrypted) == "SECabc"
        and ding.target_hint == "https://oapi.dingtalk.com/…"
    )
    assert "access_token" not in ding.target_hint and "abc" not in ding.target_encrypted
    waiting = Rule.objects.get(name="waiting")
    assert (waiting.kind, waiting.minutes, waiting.party) == ("approval_longer", 60, "bob")
    assert waiting.connection is not None and waiting.connection.name == "local"
    assert sorted(c.name for c in Rule.objects.get(name="job-failed").channels.all()) == [
        "ops-hook",
        "team-ding",
    ]
    record = AuditRecord.objects.get(action="alerts_file")
    assert "channel ops-hook" in record.request_summary["added"]
    assert "change-me" not in str(record.request_summary)
    assert provision.refresh() == "unchanged"  # same mtime: not even read


def test_changes_and_removals_follow_the_file(alerts_file: Path) -> None:
    provision.refresh()
    text = alerts_file.read_text().replace("minutes: 60", "minutes: 90")
    text = text.split("  - name: ops-mail")[0] + "rules:\n" + text.split("rules:\n")[1]
    text = text.replace("    channels: [ops-mail]\n", "")
    touch(alerts_file, text)
    assert provision.refresh() == "applied"
    assert not Channel.objects.filter(name="ops-mail").exists()
    assert Rule.objects.get(name="waiting").minutes == 90
    summary = ProvisionState.objects.get().summary
    assert summary["removed"] == ["channel ops-mail"] and summary["changed"] == ["rule waiting"]


def test_secret_file_change_is_noticed(alerts_file: Path, tmp_path: Path) -> None:
    provision.refresh()
    touch(tmp_path / "ding.secret", "SECnew")
    assert provision.refresh() == "applied"
    assert unseal(Channel.objects.get(name="team-ding").secret_encrypted) == "SECnew"


BAD = """\
channels:
  - name: ops-hook
    kind: telegram
    url: https://x.invalid/
  - name: slack
    kind: slack
    url: ftp://nope
    secret: x
  - name: mail
    kind: email
    to: [not-an-address]
rules:
  - name: job-failed
    when: job_failed
    minutes: 5
    channels: [ops-hook, missing]
  - name: nodes
    when: node_not_ready
    initiator: alice
  - name: waiting
    when: pending_longer
    minutes: 0
    connection: nowhere
    colour: red
"""


def test_every_problem_is_reported_with_its_line_and_nothing_changes(
    alerts_file: Path,
) -> None:
    provision.refresh()
    before = sorted(Channel.objects.values_list("name", "updated_at"))
    touch(alerts_file, BAD)
    assert provision.refresh() == "invalid"
    errors = ProvisionState.objects.get().errors
    f = str(alerts_file)
    expected = [
        f"{f}:3: channel 'ops-hook': kind must be one of",
        f"{f}:7: channel 'slack': the url must start with https://",
        f"{f}:8: channel 'slack': slack has no signing secret",
        f"{f}:11: channel 'mail': 'not-an-address' is not an e-mail address",
        f"{f}:15: rule 'job-failed': job_failed is an event",
        f"{f}:16: rule 'job-failed': no channel 'missing' in this file",
        f"{f}:19: rule 'nodes': node_not_ready is not about a job: the initiator scope",
        f"{f}:24: unknown key 'colour' in a rule",
        f"{f}:22: rule 'waiting': pending_longer needs minutes of at least 1",
        f"{f}:23: rule 'waiting': no connection named 'nowhere'",
    ]
    for e in expected:
        assert any(x.startswith(e) for x in errors), (e, errors)
    assert len(errors) == len(expected), errors
    assert sorted(Channel.objects.values_list("name", "updated_at")) == before
    assert Rule.objects.count() == 2
    assert provision.refresh() == "unchanged"  # reported once, not on every sweep


def test_yaml_syntax_error_names_the_line(alerts_file: Path) -> None:
    touch(alerts_file, "channels:\n  - name: a\n    kind: [webhook\n")
    assert provision.refresh() == "invalid"
    (error,) = ProvisionState.objects.get().errors
    assert error.startswith(f"{alerts_file}:") and "not valid YAML" in error


def test_names_made_in_the_pages_are_not_taken_over(alerts_file: Path) -> None:
    Channel.objects.create(name="ops-hook", kind="webhook", target_encrypted="")
    assert provision.refresh() == "invalid"
    (error,) = ProvisionState.objects.get().errors
    expected = "channel 'ops-hook' already exists and was made in the pages: rename one"
    assert error == f"{alerts_file}:2: {expected}"


def test_missing_file_is_one_error(settings: Any, tmp_path: Path) -> None:
    settings.KC_ALERTS_FILE = str(tmp_path / "nope.yaml")
    assert provision.refresh() == "invalid"
    (error,) = ProvisionState.objects.get().errors
    assert "cannot read the file" in error


def test_command_checks_a_file(alerts_file: Path, capsys: Any, tmp_path: Path) -> None:
    call_command("alerts_provision", "--check", str(alerts_file))
    assert "ok" in capsys.readouterr().out
    assert not Channel.objects.exists()  # --check changes nothing
    bad = tmp_path / "bad.yaml"
    bad.write_text(textwrap.dedent(BAD))
    with pytest.raises(CommandError):
        call_command("alerts_provision", "--check", str(bad))
    assert "node_not_ready is not about a job" in capsys.readouterr().err


NETWORK = """\
channels:
  - name: ops-hook
    kind: webhook
    url: https://hooks.example.invalid/kc
rules:
  - name: nodes-down
    when: node_not_ready
    minutes: 5
    party: bob
    channels: [ops-hook]
  - name: routes-down
    when: route_failed
    minutes: 0
    connection: local
    channels: [ops-hook]
"""


def test_node_and_route_rules_are_accepted(alerts_file: Path) -> None:
    touch(alerts_file, NETWORK)
    assert provision.refresh() == "applied", ProvisionState.objects.get().errors
    nodes, routes = Rule.objects.get(name="nodes-down"), Rule.objects.get(name="routes-down")
    assert (nodes.kind, nodes.minutes, nodes.party) == ("node_not_ready", 5, "bob")
    assert (routes.kind, routes.connection.name) == ("route_failed", "local")
    assert [c.name for c in routes.channels.all()] == ["ops-hook"] and routes.provisioned
