"""Forms for creating a job and acting on one.

The create form is a small tree: JobForm (job fields), a custom-fields formset, a tasks
formset, and for each task a parties formset (prefix "tasks-<i>-parties"). `JobCreateForms`
binds them all, builds the JobSpec, runs operate.jobspec on it and puts every problem next to
its field. `spec_to_data` is the reverse (template, "run again", pasted JSON → form data).
What operate.js posts (the rows as one JSON field) is expanded first by operate.rows; domains
the network poll has not found are warnings (known_domains).

Why one module over 600 lines: the create form's parts (job, tasks, parties, custom fields,
paste, preview) convert to and from one JobSpec; apart they would repeat that conversion.
"""

from __future__ import annotations

import json
import re
import secrets
import shlex
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.forms.formsets import BaseFormSet, formset_factory
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext_lazy as _

from connections.models import Connection
from jobs import inputs
from jobs.models import Job, Task
from jobs.templatetags.kc import pretty_json
from kuscia import types as kt
from kuscia.config import ConnectionConfig
from kuscia.wire import spec_to_request
from network.models import Node
from operate import jobspec, prefill, rows
from operate.job_templates import APP_IMAGE

PREFIX_RE = re.compile(r"tasks-[0-9]{1,3}-parties")  # use fullmatch
SCHEDULE_FIELDS = (
    "task_timeout_seconds",
    "resource_reserved_seconds",
    "resource_reallocation_interval_seconds",
)
MAX_FORMS = 200  # a little above Kuscia's 128 tasks so "too many tasks" gets our message


def new_token() -> str:
    return secrets.token_urlsafe(24)


class AnyChoicesField(forms.MultipleChoiceField):
    """A multi-select whose options are only suggestions: any value is kept, and operate.jobspec
    says which ones are wrong (a dependency that names no alias is an error there)."""

    def valid_value(self, value: str) -> bool:
        return True


class JobForm(forms.Form):
    connection = forms.ModelChoiceField(
        queryset=Connection.objects.enabled(),
        empty_label=None,
        to_field_name="name",
        label=_("Connection"),
    )
    job_id = forms.CharField(required=False, max_length=200, label=_("Job id"))
    initiator = forms.CharField(required=False, max_length=200, label=_("Initiator"))
    max_parallelism = forms.IntegerField(
        initial=1, label=_("Max parallelism"), help_text=_("Tasks running at once, 1-128.")
    )
    submit_token = forms.CharField(widget=forms.HiddenInput, max_length=64)


class CustomFieldForm(forms.Form):
    key = forms.CharField(required=False, max_length=200, label=_("Key"))
    value = forms.CharField(required=False, max_length=200, label=_("Value"))


class TaskForm(forms.Form):
    alias = forms.CharField(required=False, max_length=200, label=_("Alias"))
    task_id = forms.CharField(
        required=False,
        max_length=200,
        label=_("Task id"),
        help_text=_("Empty: same as the alias."),
    )
    app_image = forms.CharField(
        required=False, max_length=255, initial=APP_IMAGE, label=_("App image")
    )
    dependencies = AnyChoicesField(
        required=False,
        label=_("Dependencies"),
        help_text=_("Other tasks (by alias) that must succeed first."),
    )
    priority = forms.IntegerField(required=False, initial=0, label=_("Priority"))
    tolerable = forms.BooleanField(
        required=False,
        label=_("Tolerable"),
        help_text=_("The job may succeed even if this task fails."),
    )
    task_timeout_seconds = forms.IntegerField(required=False, label=_("Scheduling timeout (s)"))
    resource_reserved_seconds = forms.IntegerField(required=False, label=_("Resource reserved (s)"))
    resource_reallocation_interval_seconds = forms.IntegerField(
        required=False, label=_("Reallocation interval (s)")
    )
    task_input_config = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false", "data-json-editor": ""}),
        label=_("Task input config (JSON)"),
    )


class PartyForm(forms.Form):
    domain_id = forms.CharField(required=False, max_length=200, label=_("Domain"))
    role = forms.CharField(required=False, max_length=200, label=_("Role"))
    cpu = forms.CharField(required=False, max_length=32, label=_("CPU"))
    memory = forms.CharField(required=False, max_length=32, label=_("Memory"))
    bandwidth = forms.CharField(required=False, max_length=32, label=_("Bandwidth (Mbps)"))
    bandwidth_limits = forms.CharField(
        required=False,
        max_length=500,
        label=_("Bandwidth limits"),
        help_text=_("destination=kbps, comma separated"),
    )
    input_data = forms.CharField(
        required=False,
        max_length=200,
        label=_("Input data"),
        help_text=_("Domain data id for sf_input_ids (SecretFlow)."),
    )

    def clean_bandwidth_limits(self) -> tuple[kt.BandwidthLimit, ...]:
        raw = self.cleaned_data.get("bandwidth_limits", "")
        out = []
        for item in (p.strip() for p in raw.split(",")):
            if not item:
                continue
            dest, sep, kbps = item.partition("=")
            kbps = kbps.strip()
            # ASCII only: isdigit() alone also accepts '²', which int() refuses.
            if not sep or not (kbps.isascii() and kbps.isdigit()):
                raise forms.ValidationError(_("Write destination=kbps, e.g. bob=1000."))
            out.append(kt.BandwidthLimit(dest.strip(), int(kbps)))
        return tuple(out)


class _FormSet(BaseFormSet):  # type: ignore[type-arg]
    """Every row in the page counts (no silently skipped 'empty extra' forms)."""

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        return {**super().get_form_kwargs(index), "empty_permitted": False}


CustomFieldFormSet = formset_factory(
    CustomFieldForm, formset=_FormSet, extra=0, can_delete=True, max_num=MAX_FORMS
)
TaskFormSet = formset_factory(
    TaskForm, formset=_FormSet, extra=0, can_delete=True, max_num=MAX_FORMS, absolute_max=MAX_FORMS
)
PartyFormSet = formset_factory(
    PartyForm, formset=_FormSet, extra=0, can_delete=True, max_num=MAX_FORMS
)


def blank_party_formset(prefix: str, count: int = 2) -> Any:
    return PartyFormSet(prefix=prefix, initial=[{}] * count)


def _deleted(form: forms.Form) -> bool:
    raw = form.data.get(form.add_prefix("DELETE"))
    return raw not in (None, "", "false", "False", "off", "0")


# ---------------------------------------------------------------- the whole create form


class JobCreateForms:
    def __init__(self, data: Any | None = None, *, initial_connection: str = "") -> None:
        self.bound = data is not None
        self.row_errors: dict[str, list[str]] = {}
        if rows.is_packed(data):  # what operate.js posts: the repeated rows as one field
            expanded = rows.expand(data)
            data, self.row_errors = expanded.data, expanded.errors
        self.data = data
        self.job = JobForm(
            data, initial={"connection": initial_connection, "submit_token": new_token()}
        )
        self.custom_fields = CustomFieldFormSet(data, prefix="cf")
        self.tasks = TaskFormSet(data, prefix="tasks")
        for form in self.tasks.forms:
            form.parties = PartyFormSet(data, prefix=f"{form.prefix}-parties")  # type: ignore[attr-defined]
        self.task_errors: list[str] = []
        self.clashing_ids: list[str] = []  # task ids used elsewhere on the connection or twice
        self.warnings: list[tuple[str, str]] = []
        self.spec: kt.JobSpec | None = None
        self._offer_aliases()

    # -- rendering helpers

    def _offer_aliases(self) -> None:
        aliases = [str(f["alias"].value() or "") for f in self.tasks.forms]
        for form in self.tasks.forms:
            own = str(form["alias"].value() or "")
            chosen = [str(v) for v in (form["dependencies"].value() or [])]
            # chosen ones first: with 127 other tasks the chip list scrolls
            offer = [a for a in dict.fromkeys([*chosen, *aliases]) if a and a != own]
            form.fields["dependencies"].choices = [(a, a) for a in offer]

    @property
    def connection(self) -> Connection | None:
        if self.bound and self.job.is_valid():
            conn: Connection = self.job.cleaned_data["connection"]
            return conn
        return None

    # -- validation

    def _place_row_errors(self) -> None:
        """Errors found reading the `rows` document, on the row or field they concern."""
        by_prefix: dict[str, forms.Form] = {"": self.job}
        for fs in (self.custom_fields, self.tasks):
            by_prefix.update((f.prefix, f) for f in fs.forms)
        for task in self.tasks.forms:
            by_prefix.update((f.prefix, f) for f in task.parties.forms)  # type: ignore[attr-defined]
        for where, messages in self.row_errors.items():
            prefix, name = where, ""
            if where not in by_prefix:
                prefix, _sep, name = where.rpartition("-")
            form = by_prefix.get(prefix, self.job)
            for message in messages:
                _add(form, name, message) if name else form.add_error(None, message)
        self.row_errors = {}

    def is_valid(self) -> bool:
        ok = all(
            [
                self.job.is_valid(),
                self._formset_ok(self.custom_fields),
                self._formset_ok(self.tasks),
            ]
        )
        if self.row_errors:
            self._place_row_errors()
            ok = False
        active_tasks = [f for f in self.tasks.forms if not _deleted(f)]
        for form in active_tasks:
            ok = self._formset_ok(form.parties) and ok  # type: ignore[attr-defined]
        spec, custom_rows = self._build(active_tasks)
        connection = self.connection
        if connection is None:
            return False
        used = existing_task_ids(connection)
        ids = [t.task_id for t in spec.tasks if t.task_id]
        self.clashing_ids = sorted(
            {i for i in ids if used.get(i, spec.job_id) != spec.job_id or ids.count(i) > 1}
        )
        problems = jobspec.validate_spec(
            spec,
            existing_job_ids=existing_job_ids(connection),
            existing_task_ids=used,
            local_domain=connection.local_domain
            if connection.mode in (Connection.Mode.P2P, Connection.Mode.LITE)
            else "",
        )
        for problem in problems:
            if problem.is_error:
                ok = False
                self._place(problem, active_tasks, custom_rows)
            else:
                self.warnings.append((_label(problem.field), problem.message))
        self._warn_unknown_domains(spec, active_tasks, connection)
        if not self.tasks.forms or not active_tasks:
            ok = False
        # One rule: any error the page shows blocks, also those added while building the spec.
        if self.problem_count():
            ok = False
        self.spec = spec if ok else None
        return ok

    def _warn_unknown_domains(
        self, spec: kt.JobSpec, tasks: list[forms.Form], connection: Connection
    ) -> None:
        """Domains the network poll has not found on the connection: a warning next to each
        input naming one and one line at the top (Kuscia fails such a job only after
        accepting it). Nothing is said while the poll has found no node at all."""
        known = known_domains(connection)
        if not known.checked:
            return
        names = set(known.domains)
        unknown: dict[str, None] = {}
        if spec.initiator and spec.initiator not in names:
            self.job.domain_warning = _unknown_text(spec.initiator)  # type: ignore[attr-defined]
            unknown[spec.initiator] = None
        for form, task in zip(tasks, spec.tasks, strict=False):
            pforms = [f for f in form.parties.forms if not _deleted(f)]  # type: ignore[attr-defined]
            for pform, party in zip(pforms, task.parties, strict=False):
                domain = party.domain_id
                if domain and jobspec.DNS_LABEL_RE.match(domain) and domain not in names:
                    pform.domain_warning = _unknown_text(domain)
                    unknown[domain] = None
        if unknown:
            shown = sorted(names)[:12]
            message = _(
                "%(domains)s: not found by the network poll on this connection (it knows "
                "%(known)s). Kuscia accepts the job and then fails it if a party's domain "
                "does not exist."
            ) % {
                "domains": ", ".join(list(unknown)[:12]),
                "known": ", ".join(shown) + (" …" if len(names) > len(shown) else ""),
            }
            self.warnings.append((str(_("Party domains")), message))

    def problem_count(self) -> int:
        """How many errors the page shows (for the summary at the top)."""
        if not self.bound or not hasattr(self.job, "cleaned_data"):
            return 0
        forms_: list[forms.Form] = [self.job]
        for fs in (self.custom_fields, self.tasks):
            forms_ += [f for f in fs.forms if not _deleted(f)]
        for t in self.tasks.forms:
            if not _deleted(t):
                forms_ += [f for f in t.parties.forms if not _deleted(f)]  # type: ignore[attr-defined]
        count = sum(len(e) for f in forms_ for e in f.errors.values())
        count += len(self.task_errors) + len(self.tasks.non_form_errors())
        return count + len(self.custom_fields.non_form_errors())

    @staticmethod
    def _formset_ok(formset: Any) -> bool:
        if not formset.management_form.is_valid():
            return False
        return all(f.is_valid() for f in formset.forms if not _deleted(f))

    def _build(self, active_tasks: list[forms.Form]) -> tuple[kt.JobSpec, list[forms.Form]]:
        jd = self.job.cleaned_data if self.job.is_bound else {}
        custom: dict[str, str] = {}
        custom_rows: list[forms.Form] = []
        for form in self.custom_fields.forms:
            if _deleted(form):
                continue
            cd = getattr(form, "cleaned_data", {})
            key, value = cd.get("key", "").strip(), cd.get("value", "").strip()
            if not key and not value:
                continue
            if key in custom:
                form.add_error("key", _("Key '%(key)s' is given twice.") % {"key": key})
                continue
            custom[key] = value
            custom_rows.append(form)
        tasks = []
        for form in active_tasks:
            cd = getattr(form, "cleaned_data", {})
            alias = cd.get("alias", "").strip()
            parties = []
            picks = []
            for pform in form.parties.forms:  # type: ignore[attr-defined]
                if _deleted(pform):
                    continue
                pd = getattr(pform, "cleaned_data", {})
                res = kt.JobResource(
                    cpu=pd.get("cpu", "").strip(),
                    memory=pd.get("memory", "").strip(),
                    bandwidth=pd.get("bandwidth", "").strip(),
                )
                parties.append(
                    kt.Party(
                        domain_id=pd.get("domain_id", "").strip(),
                        role=pd.get("role", "").strip(),
                        resources=res if (res.cpu or res.memory or res.bandwidth) else None,
                        bandwidth_limits=pd.get("bandwidth_limits") or (),
                    )
                )
                picks.append(pd.get("input_data", "").strip())
            schedule = [cd.get(n) for n in SCHEDULE_FIELDS]
            tasks.append(
                kt.TaskSpec(
                    alias=alias,
                    task_id=cd.get("task_id", "").strip() or alias,
                    app_image=cd.get("app_image", "").strip(),
                    parties=tuple(parties),
                    dependencies=tuple(cd.get("dependencies") or ()),
                    task_input_config=apply_input_picks(cd.get("task_input_config", ""), picks),
                    priority=cd.get("priority") or 0,
                    schedule_config=kt.ScheduleConfig(*(v or 0 for v in schedule))
                    if any(v is not None for v in schedule)
                    else None,
                    tolerable=bool(cd.get("tolerable")),
                )
            )
        spec = kt.JobSpec(
            job_id=jd.get("job_id", "").strip(),
            initiator=jd.get("initiator", "").strip(),
            max_parallelism=jd.get("max_parallelism") or 0,
            tasks=tuple(tasks),
            custom_fields=custom,
        )
        return spec, custom_rows

    def _place(
        self, problem: jobspec.Problem, tasks: list[forms.Form], custom_rows: list[forms.Form]
    ) -> None:
        parts = problem.field.split(".")
        if parts[0] in ("job_id", "initiator", "max_parallelism"):
            _add(self.job, parts[0], problem.message)
        elif parts[0] == "custom_fields":
            _add(custom_rows[int(parts[1])], parts[2], problem.message)
        elif parts == ["tasks"]:
            self.task_errors.append(problem.message)
        else:
            form = tasks[int(parts[1])]
            if len(parts) == 3 and parts[2] == "parties":
                form.add_error(None, problem.message)
            elif len(parts) >= 5 and parts[2] == "parties":
                pforms = [f for f in form.parties.forms if not _deleted(f)]  # type: ignore[attr-defined]
                _add(pforms[int(parts[3])], parts[4], problem.message)
            else:
                _add(form, parts[2], problem.message)


def _add(form: forms.Form, field: str, message: str) -> None:
    """Add an error unless the field already has one (a type error says enough)."""
    if field in form.fields:
        if field not in form.errors:
            form.add_error(field, message)
    else:
        form.add_error(None, message)


def _unknown_text(domain: str) -> str:
    return str(_("Not a domain the network poll has found on this connection: %(domain)s")) % {
        "domain": domain
    }


def _label(path: str) -> str:
    """A warning's field in the reader's words: "Initiator", "Task 2: Task id"."""
    parts = path.split(".")
    if parts[0] == "tasks" and len(parts) > 2:
        field = TaskForm.base_fields.get(parts[2])
        rest = str(field.label) if field is not None and len(parts) == 3 else ".".join(parts[2:])
        return _("Task %(number)d: %(field)s") % {"number": int(parts[1]) + 1, "field": rest}
    field = JobForm.base_fields.get(parts[0])
    return str(field.label) if field is not None else path


def existing_job_ids(connection: Connection) -> set[str]:
    """Job ids Kuscia still has on `connection`, as far as the console knows."""
    return Job.objects.live_ids(connection)


def existing_task_ids(connection: Connection) -> dict[str, str]:
    return Task.objects.live_ids(connection)


@dataclass(frozen=True)
class KnownDomains:
    """The domains the form suggests for parties and the initiator, and where they came from:
    "inventory" (nodes the network poll found: the form warns about any other domain) or
    "jobs" (the poll has stored no node yet: the local domain and parties of recent jobs,
    suggestions only) or "" (no connection)."""

    domains: list[str]
    source: str = ""

    @property
    def checked(self) -> bool:
        return self.source == "inventory"


def known_domains(connection: Connection | None) -> KnownDomains:
    if connection is None:
        return KnownDomains([])
    nodes = Node.objects.domain_ids(connection.pk)
    if nodes:
        return KnownDomains(nodes, "inventory")
    seen: set[str] = {connection.local_domain} if connection.local_domain else set()
    seen.update(Job.objects.recent_parties(connection))
    return KnownDomains(sorted(seen), "jobs")


def apply_input_picks(config: str, picks: list[str]) -> str:
    """Put per-party input domaindata picks into sf_input_ids (party order), leaving the rest
    of a SecretFlow task_input_config as it is. Not JSON or nothing picked: unchanged."""
    if not any(picks):
        return config
    try:
        doc = inputs.loads_json(config) if config.strip() else {}
    except ValueError:
        return config
    if not isinstance(doc, dict):
        return config
    ids = list(doc.get("sf_input_ids") or [])
    for i, pick in enumerate(picks):
        if pick:
            ids.extend([""] * (i + 1 - len(ids)))
            ids[i] = pick
    doc["sf_input_ids"] = ids
    return json.dumps(doc, indent=2)


# ---------------------------------------------------------------- spec → form data


def spec_to_data(spec: kt.JobSpec, *, connection: str, token: str) -> MultiValueDict[str, Any]:
    """Form data for `spec`, as the browser would post it."""
    data: dict[str, list[str]] = {
        "connection": [connection],
        "job_id": [spec.job_id],
        "initiator": [spec.initiator],
        "max_parallelism": [str(spec.max_parallelism)],
        "submit_token": [token],
    }
    _management(data, "cf", len(spec.custom_fields))
    for i, (k, v) in enumerate(spec.custom_fields.items()):
        data[f"cf-{i}-key"] = [k]
        data[f"cf-{i}-value"] = [v]
    _management(data, "tasks", len(spec.tasks))
    for i, task in enumerate(spec.tasks):
        p = f"tasks-{i}"
        data[f"{p}-alias"] = [task.alias]
        data[f"{p}-task_id"] = [task.task_id]
        data[f"{p}-app_image"] = [task.app_image]
        data[f"{p}-dependencies"] = list(task.dependencies)
        data[f"{p}-priority"] = [str(task.priority)]
        if task.tolerable:
            data[f"{p}-tolerable"] = ["on"]
        if task.schedule_config is not None:
            for name in SCHEDULE_FIELDS:
                data[f"{p}-{name}"] = [str(getattr(task.schedule_config, name))]
        data[f"{p}-task_input_config"] = [pretty_json(task.task_input_config)]
        _management(data, f"{p}-parties", len(task.parties))
        for j, party in enumerate(task.parties):
            q = f"{p}-parties-{j}"
            data[f"{q}-domain_id"] = [party.domain_id]
            data[f"{q}-role"] = [party.role]
            res = party.resources or kt.JobResource()
            data[f"{q}-cpu"] = [res.cpu]
            data[f"{q}-memory"] = [res.memory]
            data[f"{q}-bandwidth"] = [res.bandwidth]
            data[f"{q}-bandwidth_limits"] = [
                ", ".join(f"{b.destination_id}={b.limit_kbps}" for b in party.bandwidth_limits)
            ]
    return MultiValueDict(data)


def _management(data: dict[str, list[str]], prefix: str, count: int) -> None:
    data[f"{prefix}-TOTAL_FORMS"] = [str(count)]
    data[f"{prefix}-INITIAL_FORMS"] = ["0"]
    data[f"{prefix}-MIN_NUM_FORMS"] = ["0"]
    data[f"{prefix}-MAX_NUM_FORMS"] = [str(MAX_FORMS)]


def spec_from_job(job: Job, *, new_job_id: str) -> kt.JobSpec:
    """'Run again': the spec the console knows for `job` (what we submitted or QueryJob
    returned), under a new id."""
    tasks = []
    for t in job.tasks.all():
        parties = []
        for p in t.party_spec or []:
            r = p.get("resources") or None
            parties.append(
                kt.Party(
                    domain_id=str(p.get("domain_id", "")),
                    role=str(p.get("role", "") or ""),
                    resources=kt.JobResource(
                        cpu=str(r.get("cpu", "") or ""),
                        memory=str(r.get("memory", "") or ""),
                        bandwidth=str(r.get("bandwidth", "") or ""),
                    )
                    if isinstance(r, dict)
                    else None,
                )
            )
        sc = t.schedule_config if isinstance(t.schedule_config, dict) else None
        tasks.append(
            kt.TaskSpec(
                alias=t.alias,
                task_id=t.task_id,
                app_image=t.app_image,
                parties=tuple(parties),
                dependencies=tuple(t.dependencies or ()),
                task_input_config=t.task_input_config,
                priority=t.priority,
                schedule_config=kt.ScheduleConfig(
                    **{k: int(sc.get(k) or 0) for k in SCHEDULE_FIELDS}
                )
                if sc
                else None,
                tolerable=bool(t.tolerable),
            )
        )
    return kt.JobSpec(
        job_id=new_job_id,
        initiator=job.initiator,
        max_parallelism=job.max_parallelism or 1,
        tasks=tuple(tasks),
        custom_fields=dict(job.custom_fields or {}),
    )


def renamed_tasks(spec: kt.JobSpec, suffix: str) -> kt.JobSpec:
    """Task ids are cluster-wide names: a re-run needs new ones. Aliases follow (and the
    dependencies that name them), so alias and task id stay equal as §7 advises."""
    names = {t.alias: _with_suffix(t.task_id or t.alias, suffix) for t in spec.tasks}
    return replace(
        spec,
        tasks=tuple(
            replace(
                t,
                alias=names.get(t.alias, t.alias) if t.alias == (t.task_id or t.alias) else t.alias,
                task_id=names[t.alias],
                dependencies=tuple(
                    names[d]
                    if d in names
                    and any(x.alias == d and x.alias == (x.task_id or x.alias) for x in spec.tasks)
                    else d
                    for d in t.dependencies
                ),
            )
            for t in spec.tasks
        ),
    )


def _with_suffix(task_id: str, suffix: str) -> str:
    base = re.sub(r"-r[0-9a-z]{4}$", "", task_id)
    return f"{base[: 63 - len(suffix) - 1].rstrip('-')}-{suffix}"


def suggest_job_id(base: str = "job") -> str:
    stem = re.sub(r"[^a-z0-9-]", "-", base.lower()).strip("-")[:50] or "job"
    stem = re.sub(r"-r[0-9a-z]{4}$", "", stem)
    return f"{stem}-r{secrets.token_hex(2)}"


# ---------------------------------------------------------------- preview and curl


def request_json(spec: kt.JobSpec) -> str:
    return json.dumps(spec_to_request(spec), indent=2, ensure_ascii=False)


def curl_command(config: ConnectionConfig, route: str, body: dict[str, Any]) -> str:
    """The seed document's curl, with this connection's certificate PATHS and the token read
    from its file by the shell (the token value itself is never shown)."""
    url = config.url
    lines = [f"curl -X POST {shlex.quote(url + route)}"]
    if config.uses_tls:
        lines.append(f'--header "Token: $(cat {shlex.quote(config.token_file)})"')
    lines.append("--header 'Content-Type: application/json'")
    if config.protocol == "MTLS":
        lines.append(f"--cert {shlex.quote(config.cert_file)}")
        lines.append(f"--key {shlex.quote(config.key_file)}")
    if config.uses_tls and config.ca_file:
        lines.append(f"--cacert {shlex.quote(config.ca_file)}")
    if config.tls_server_name:
        parts = urlsplit(url)
        port = parts.port or 443
        target = f"{config.tls_server_name}:{port}:{parts.hostname}:{port}"
        lines.append(f"--connect-to {shlex.quote(target)}")
        lines[0] = "curl -X POST " + shlex.quote(
            f"{parts.scheme}://{config.tls_server_name}:{port}{route}"
        )
    lines.append("-d " + shlex.quote(json.dumps(body, indent=2, ensure_ascii=False)))
    return " \\\n  ".join(lines)


# ---------------------------------------------------------------- small forms


class PasteForm(forms.Form):
    connection = forms.CharField(required=False, max_length=64)
    request_json = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false"}),
        label=_("Job as JSON or YAML"),
        help_text=_(
            "A CreateJob body (what you would send with curl -d; snake_case or lowerCamelCase), "
            "a QueryJob answer, or a KusciaJob (apiVersion, kind, metadata, spec) as in "
            "Kuscia's docs."
        ),
    )

    def clean_request_json(self) -> dict[str, Any]:
        try:
            body, notes = prefill.read_document(self.cleaned_data["request_json"])
        except prefill.DocumentError as exc:
            raise forms.ValidationError(str(exc)) from None
        self.notes = notes
        return body


class ActionForm(forms.Form):
    reason = forms.CharField(required=False, max_length=500)
    token = forms.CharField(max_length=64)
    confirm_job_id = forms.CharField(required=False, max_length=200)


class TrackForm(forms.Form):
    job_id = forms.CharField(max_length=63)
    connection = forms.CharField(required=False, max_length=64)

    def clean_job_id(self) -> str:
        value: str = self.cleaned_data["job_id"].strip()
        if not jobspec.JOB_ID_RE.match(value):
            raise forms.ValidationError(
                _("Not a Kuscia job id (lowercase letters, digits, - and .).")
            )
        return value
