"""Channels and rules as code: the YAML file named by KC_ALERTS_FILE.

Loaded when a worker starts and whenever the file (or a secret file it names) changes: the beat
sweep compares their modification times and sizes. A file with problems changes nothing; each
problem is reported once as "file:line: what" (logged, and shown to admins on the alerts page).
Items from the file are marked provisioned and are read-only in the pages; items the file no
longer lists are removed.

    channels:
      - name: ops-hook
        kind: webhook          # webhook | dingtalk | feishu | wecom | slack | email
        url: https://example.invalid/hook
        secret: change-me      # or secret_file: /path   (webhook, dingtalk, feishu)
        # to: [ops@example.org]  (email)
        # enabled: true
    rules:
      - name: job-failed
        when: job_failed       # job_failed | job_ended | pending_longer | approval_longer |
                               # no_progress | node_not_ready | route_failed | sync_failing
        minutes: 0
        channels: [ops-hook]
        # connection: NAME, party: DOMAIN, initiator: DOMAIN (job rules), enabled: true
        # (party on node_not_ready: the node's domain; on route_failed: either end)
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts import changes
from alerts.models import Channel, ProvisionState, Rule
from alerts.rules import DURATION_KINDS, EVENT_KINDS, JOB_DURATION_STATES, JOB_KINDS
from alerts.secrets import seal, unseal, url_hint
from connections.models import Connection

log = logging.getLogger(__name__)

SLUG = re.compile(r"^[-a-zA-Z0-9_]{1,64}$")
SIGNED_KINDS = {Channel.Kind.WEBHOOK, Channel.Kind.DINGTALK, Channel.Kind.FEISHU}
CHANNEL_KEYS = {"name", "kind", "url", "to", "secret", "secret_file", "enabled"}
RULE_KEYS = {"name", "when", "minutes", "channels", "connection", "party", "initiator", "enabled"}


@dataclass
class ChannelSpec:
    name: str
    kind: str
    target: str
    secret: str
    enabled: bool
    node: yaml.Node | None = None  # where the file defines it (for problems)


@dataclass
class RuleSpec:
    name: str
    kind: str
    minutes: int
    channels: list[str]
    connection_id: int | None
    party: str
    initiator: str
    enabled: bool
    node: yaml.Node | None = None


@dataclass
class Plan:
    channels: list[ChannelSpec] = field(default_factory=list)
    rules: list[RuleSpec] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # secret files read


class Problems(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


# ============================================================== reading and checking


def parse(text: str, path: str) -> Plan:
    """The plan a file describes, or Problems listing every problem as "path:line: what"."""
    problems: list[str] = []

    def bad(node: yaml.Node | None, what: str) -> None:
        line = f"{node.start_mark.line + 1}" if node is not None else "1"
        problems.append(f"{path}:{line}: {what}")

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise Problems(
            [
                f"{path}:{line}: "
                + _("not valid YAML: %(what)s") % {"what": exc.problem or exc.context}
            ]
        ) from None
    plan = Plan()
    if root is None:
        return plan
    if not isinstance(root, yaml.MappingNode):
        raise Problems(
            [f"{path}:1: " + _("the file must be a mapping with 'channels' and 'rules'")]
        )
    top = _mapping(root, {"channels", "rules"}, bad, "the file")
    channel_names: set[str] = set()
    for item in _items(top.get("channels"), bad, "channels"):
        spec = _channel(item, bad, plan)
        if spec.name in channel_names:
            bad(item, _("channel %(name)r is defined twice") % {"name": spec.name})
        channel_names.add(spec.name)  # an invalid channel still counts as defined
        plan.channels.append(spec)
    rule_names: set[str] = set()
    for item in _items(top.get("rules"), bad, "rules"):
        rule = _rule(item, bad, channel_names)
        if rule is None:
            continue
        if rule.name in rule_names:
            bad(item, _("rule %(name)r is defined twice") % {"name": rule.name})
        rule_names.add(rule.name)
        plan.rules.append(rule)
    _not_made_in_pages(plan, bad)
    if problems:
        raise Problems(problems)
    return plan


def _mapping(node: yaml.Node, allowed: set[str], bad: Any, what: str) -> dict[str, yaml.Node]:
    out: dict[str, yaml.Node] = {}
    assert isinstance(node, yaml.MappingNode)
    for key_node, value_node in node.value:
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        if not isinstance(key, str) or key not in allowed:
            bad(
                key_node,
                _("unknown key %(key)r in %(what)s (allowed: %(allowed)s)")
                % {"key": key, "what": what, "allowed": ", ".join(sorted(allowed))},
            )
            continue
        if key in out:
            bad(key_node, _("key %(key)r given twice in %(what)s") % {"key": key, "what": what})
            continue
        out[key] = value_node
    return out


def _items(node: yaml.Node | None, bad: Any, what: str) -> list[yaml.MappingNode]:
    if node is None or (isinstance(node, yaml.ScalarNode) and node.value in ("", "~", "null")):
        return []
    if not isinstance(node, yaml.SequenceNode):
        bad(node, _("'%(what)s' must be a list") % {"what": what})
        return []
    out = []
    for item in node.value:
        if isinstance(item, yaml.MappingNode):
            out.append(item)
        else:
            bad(
                item,
                _("each entry of '%(what)s' must be a mapping (name: ..., ...)") % {"what": what},
            )
    return out


def _scalar(node: yaml.Node | None) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        return node
    return yaml.SafeLoader("").construct_object(node)  # type: ignore[no-untyped-call]


def _text(node: yaml.Node | None, bad: Any, what: str) -> str:
    if node is None:
        return ""
    value = _scalar(node)
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        bad(node, _("%(what)s must be a text") % {"what": what})
        return ""
    return str(value).strip()


def _flag(node: yaml.Node | None, bad: Any, what: str) -> bool:
    if node is None:
        return True
    value = _scalar(node)
    if not isinstance(value, bool):
        bad(node, _("%(what)s must be true or false") % {"what": what})
        return True
    return value


def _name(item: yaml.MappingNode, fields: dict[str, yaml.Node], bad: Any, what: str) -> str:
    name = _text(fields.get("name"), bad, "name")
    if not name:
        bad(item, _("a %(what)s needs a name") % {"what": what})
    elif not SLUG.match(name):
        bad(
            fields["name"],
            _("%(what)s name %(name)r: use letters, digits, '-' and '_' (1-64)")
            % {"what": what, "name": name},
        )
    return name


def _channel(item: yaml.MappingNode, bad: Any, plan: Plan) -> ChannelSpec:
    f = _mapping(item, CHANNEL_KEYS, bad, "a channel")
    name = _name(item, f, bad, "channel")
    kind = _text(f.get("kind"), bad, "kind")
    kinds = Channel.Kind.values
    if kind not in kinds:
        bad(
            f.get("kind", item),
            _("channel %(name)r: kind must be one of %(kinds)s")
            % {"name": name, "kinds": ", ".join(kinds)},
        )
        return ChannelSpec(name, kind, "", "", False, f.get("name", item))
    target = ""
    if kind == Channel.Kind.EMAIL:
        target = _addresses(f.get("to"), item, bad, name)
        if "url" in f:
            bad(
                f["url"],
                _("channel %(name)r: an email channel takes 'to', not 'url'") % {"name": name},
            )
    else:
        target = _text(f.get("url"), bad, "url")
        if "to" in f:
            bad(f["to"], _("channel %(name)r: 'to' is for email channels") % {"name": name})
        problem = url_problem(target)
        if problem:
            bad(
                f.get("url", item),
                _("channel %(name)r: %(problem)s") % {"name": name, "problem": problem},
            )
    secret = _secret(f, bad, name, kind, plan)
    enabled = _flag(f.get("enabled"), bad, "enabled")
    return ChannelSpec(name, kind, target, secret, enabled, f.get("name", item))


def _addresses(node: yaml.Node | None, item: yaml.Node, bad: Any, name: str) -> str:
    if node is None:
        bad(
            item,
            _("channel %(name)r: an email channel needs 'to' (a list of addresses)")
            % {"name": name},
        )
        return ""
    raw = _scalar(node)
    if isinstance(node, yaml.SequenceNode):
        raw = [_scalar(n) for n in node.value]
    values = raw if isinstance(raw, list) else str(raw).split(",")
    out = []
    for value in values:
        address = str(value).strip()
        try:
            validate_email(address)
        except ValidationError:
            bad(
                node,
                _("channel %(name)r: %(address)r is not an e-mail address")
                % {"name": name, "address": address},
            )
        out.append(address)
    if not out:
        bad(node, _("channel %(name)r: 'to' lists no address") % {"name": name})
    return ", ".join(out)


def _secret(f: dict[str, yaml.Node], bad: Any, name: str, kind: str, plan: Plan) -> str:
    if "secret" in f and "secret_file" in f:
        bad(
            f["secret"],
            _("channel %(name)r: give 'secret' or 'secret_file', not both") % {"name": name},
        )
        return ""
    if ("secret" in f or "secret_file" in f) and kind not in SIGNED_KINDS:
        node = f.get("secret") or f["secret_file"]
        bad(
            node,
            _("channel %(name)r: %(kind)s has no signing secret (its URL is the credential)")
            % {"name": name, "kind": kind},
        )
        return ""
    if "secret" in f:
        return _text(f["secret"], bad, "secret")
    if "secret_file" in f:
        path = _text(f["secret_file"], bad, "secret_file")
        try:
            value = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            bad(
                f["secret_file"],
                _("channel %(name)r: cannot read secret_file: %(error)s")
                % {"name": name, "error": exc.strerror},
            )
            return ""
        plan.files.append(path)
        if not value:
            bad(
                f["secret_file"],
                _("channel %(name)r: secret_file %(path)s is empty") % {"name": name, "path": path},
            )
        return value
    return ""


def _rule(item: yaml.MappingNode, bad: Any, channel_names: set[str]) -> RuleSpec | None:
    f = _mapping(item, RULE_KEYS, bad, "a rule")
    name = _name(item, f, bad, "rule")
    kind = _text(f.get("when"), bad, "when")
    if kind not in Rule.Kind.values:
        allowed = ", ".join(Rule.Kind.values)
        bad(
            f.get("when", item),
            _("rule %(name)r: 'when' must be one of %(allowed)s")
            % {"name": name, "allowed": allowed},
        )
        return None
    minutes = _scalar(f.get("minutes")) if "minutes" in f else 0
    if not isinstance(minutes, int) or isinstance(minutes, bool) or minutes < 0:
        bad(f["minutes"], _("rule %(name)r: minutes must be a whole number >= 0") % {"name": name})
        minutes = 0
    problem = minutes_problem(kind, minutes)
    if problem:
        bad(
            f.get("minutes", item),
            _("rule %(name)r: %(problem)s") % {"name": name, "problem": problem},
        )
    channels: list[str] = []
    node = f.get("channels")
    if isinstance(node, yaml.SequenceNode):
        for n in node.value:
            ref = _text(n, bad, "channel name")
            if ref not in channel_names:
                bad(
                    n,
                    _("rule %(name)r: no channel %(ref)r in this file")
                    % {"name": name, "ref": ref},
                )
            channels.append(ref)
    elif node is not None:
        bad(node, _("rule %(name)r: channels must be a list of channel names") % {"name": name})
    connection_id = None
    if "connection" in f:
        conn_name = _text(f["connection"], bad, "connection")
        connection_id = (
            Connection.objects.filter(name=conn_name).values_list("pk", flat=True).first()
        )
        if connection_id is None:
            bad(
                f["connection"],
                _("rule %(name)r: no connection named %(conn)r")
                % {"name": name, "conn": conn_name},
            )
    initiator = _text(f.get("initiator"), bad, "initiator")
    problem = scope_problem(kind, initiator)
    if problem:
        bad(f["initiator"], _("rule %(name)r: %(problem)s") % {"name": name, "problem": problem})
    return RuleSpec(
        name=name,
        kind=kind,
        minutes=minutes,
        channels=channels,
        connection_id=connection_id,
        party=_text(f.get("party"), bad, "party"),
        initiator=initiator,
        enabled=_flag(f.get("enabled"), bad, "enabled"),
        node=f.get("name", item),
    )


def _not_made_in_pages(plan: Plan, bad: Any) -> None:
    """A name the file uses must not belong to an item made in the pages."""
    names = [c.name for c in plan.channels]
    taken = set(
        Channel.objects.filter(provisioned=False, name__in=names).values_list("name", flat=True)
    )
    for c in plan.channels:
        if c.name in taken:
            bad(
                c.node,
                _("channel %(name)r already exists and was made in the pages: rename one")
                % {"name": c.name},
            )
    names = [r.name for r in plan.rules]
    taken = set(
        Rule.objects.filter(provisioned=False, name__in=names).values_list("name", flat=True)
    )
    for r in plan.rules:
        if r.name in taken:
            bad(
                r.node,
                _("rule %(name)r already exists and was made in the pages: rename one")
                % {"name": r.name},
            )


def url_problem(url: str) -> str:
    """What is wrong with a webhook URL ("" when nothing)."""
    from urllib.parse import urlsplit

    if not url:
        return _("a url is required")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return _("the url must start with https:// (or http://) and name a host")
    return ""


def scope_problem(kind: str, initiator: str) -> str:
    """What is wrong with a rule's scope for its kind ("" when nothing)."""
    if initiator and kind not in JOB_KINDS:
        return _("%(kind)s is not about a job: the initiator scope does not apply") % {"kind": kind}
    return ""


def minutes_problem(kind: str, minutes: int) -> str:
    if kind in EVENT_KINDS and minutes:
        return _("%(kind)s is an event (sent when it happens): minutes must be 0") % {"kind": kind}
    if kind in JOB_DURATION_STATES and minutes < 1:
        return _("%(kind)s needs minutes of at least 1") % {"kind": kind}
    assert kind in EVENT_KINDS or kind in DURATION_KINDS
    return ""


# ============================================================== applying


def apply(plan: Plan) -> dict[str, list[str]]:
    """Make the provisioned channels and rules what the plan says (inside the caller's
    transaction). Returns the names added, changed and removed."""
    now = timezone.now()
    done: dict[str, list[str]] = {k: [] for k in ("added", "changed", "removed")}
    existing = {c.name: c for c in Channel.objects.filter(provisioned=True)}
    by_name: dict[str, Channel] = {}
    for spec in plan.channels:
        channel = existing.pop(spec.name, None)
        if channel is None:
            channel = Channel(name=spec.name, provisioned=True, created_at=now)
            done["added"].append(f"channel {spec.name}")
        elif _channel_differs(channel, spec):
            done["changed"].append(f"channel {spec.name}")
        else:
            by_name[spec.name] = channel
            continue
        channel.kind = spec.kind
        channel.target_encrypted = seal(spec.target)
        channel.target_hint = (
            spec.target if spec.kind == Channel.Kind.EMAIL else url_hint(spec.target)
        )
        channel.secret_encrypted = seal(spec.secret)
        channel.enabled = spec.enabled
        channel.updated_at = now
        channel.save()
        by_name[spec.name] = channel
    rules = {r.name: r for r in Rule.objects.filter(provisioned=True).prefetch_related("channels")}
    for rspec in plan.rules:
        rule = rules.pop(rspec.name, None)
        wanted = sorted(rspec.channels)
        if rule is None:
            rule = Rule(name=rspec.name, provisioned=True, created_at=now)
            done["added"].append(f"rule {rspec.name}")
        elif _rule_differs(rule, rspec):
            done["changed"].append(f"rule {rspec.name}")
            if not rspec.enabled or rule.kind != rspec.kind:
                changes.close_rule_incidents(rule)
        else:
            continue
        rule.kind, rule.minutes, rule.enabled = rspec.kind, rspec.minutes, rspec.enabled
        rule.connection_id, rule.party, rule.initiator = (
            rspec.connection_id,
            rspec.party,
            rspec.initiator,
        )
        rule.updated_at = now
        rule.save()
        rule.channels.set([by_name[n] for n in wanted])
    for rule in rules.values():
        changes.close_rule_incidents(rule)
        rule.delete()
        done["removed"].append(f"rule {rule.name}")
    for channel in existing.values():
        channel.delete()
        done["removed"].append(f"channel {channel.name}")
    return done


def _channel_differs(channel: Channel, spec: ChannelSpec) -> bool:
    try:
        same = (
            unseal(channel.target_encrypted) == spec.target
            and unseal(channel.secret_encrypted) == spec.secret
        )
    except Exception:  # unreadable: write it again
        return True
    return not same or channel.kind != spec.kind or channel.enabled != spec.enabled


def _rule_differs(rule: Rule, spec: RuleSpec) -> bool:
    return (
        rule.kind != spec.kind
        or rule.minutes != spec.minutes
        or rule.enabled != spec.enabled
        or rule.connection_id != spec.connection_id
        or rule.party != spec.party
        or rule.initiator != spec.initiator
        or sorted(c.name for c in rule.channels.all()) != sorted(spec.channels)
    )


def _signature(paths: list[str]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for p in paths:
        try:
            st = Path(p).stat()
            out[p] = [st.st_mtime_ns, st.st_size]
        except OSError:
            out[p] = [-1, -1]
    return out


def refresh(*, force: bool = False, path: str | None = None) -> str:
    """Load KC_ALERTS_FILE if it (or a secret file it names) changed since the last look.
    Returns what happened: "no file", "unchanged", "invalid", "applied", "same"."""
    path = settings.KC_ALERTS_FILE if path is None else path
    if not path:
        return "no file"
    state, _created = ProvisionState.objects.get_or_create(key=1)
    watched = [path, *state.summary.get("files", [])] if state.path == path else [path]
    signature = _signature(watched)
    if not force and state.path == path and state.signature == signature:
        return "unchanged"
    with transaction.atomic():
        state = ProvisionState.objects.select_for_update().get(key=1)
        if not force and state.path == path and state.signature == signature:
            return "unchanged"
        now = timezone.now()
        state.path, state.checked_at = path, now
        try:
            raw = Path(path).read_bytes()
            plan = parse(raw.decode("utf-8"), path)
        except (OSError, UnicodeDecodeError) as exc:
            problems = [f"{path}:1: " + _("cannot read the file: %(error)s") % {"error": exc}]
        except Problems as exc:
            problems = exc.problems
        else:
            problems = []
        if problems:
            state.errors = problems
            state.signature = signature
            state.save()
            for p in problems:
                log.error("alerts provisioning: %s", p)
            return "invalid"
        digest = hashlib.sha256(raw).hexdigest()
        done = apply(plan)
        state.errors = []
        state.signature = _signature([path, *plan.files])
        state.digest = digest
        state.summary = {"files": plan.files, **done}
        if any(done.values()):
            state.applied_at = now
            changes.record_provisioning(path=path, done=done)
            log.info("alerts provisioning from %s: %s", path, done)
        state.save()
        return "applied" if any(done.values()) else "same"
