"""Pages that change things: create a job, act on one, add one by id. Operators only.

Thin views: forms validate, operate.actions does the work (and the audit), these only choose
what to render or where to redirect.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.roles import operator_required
from connections.models import Connection
from connections.texts import error_message, translated
from jobs.http import HtmxHttpRequest
from jobs.models import Job
from kuscia import types as kt
from kuscia.errors import KusciaError
from kuscia.wire import SpecError, spec_from_request, spec_to_request
from network.models import DataItem, NetworkSync
from operate import actions, forms, jobspec, prefill
from operate.job_templates import APP_IMAGE, TEMPLATES, get_template

TEMPLATE = "operate/create.html"


def _page(request: HttpRequest, bundle: forms.JobCreateForms, **extra: Any) -> HttpResponse:
    connection = bundle.connection or Connection.objects.default_first().first()
    context = {
        "f": bundle,
        "templates": TEMPLATES.values(),
        "domains": forms.known_domains(connection),
        "paste": extra.pop("paste", None) or forms.PasteForm(),
        "limits": {
            "tasks": jobspec.MAX_TASKS,
            "parties": jobspec.MAX_PARTIES,
            "custom_fields": jobspec.MAX_CUSTOM_FIELDS,
        },
        **extra,
    }
    return render(request, TEMPLATE, context)


def _fresh_data_for(spec: Any, connection: Connection) -> Any:
    return forms.spec_to_data(spec, connection=connection.name, token=forms.new_token())


def _unused_task_ids(spec: Any, connection: Connection) -> Any:
    """Template/re-run task ids already used on this connection get the job's suffix."""
    used = forms.existing_task_ids(connection)
    if any(t.task_id in used for t in spec.tasks):
        return forms.renamed_tasks(spec, spec.job_id.rsplit("-", 1)[-1])
    return spec


@operator_required
@require_http_methods(["GET", "POST"])
def create(request: HtmxHttpRequest) -> HttpResponse:
    if request.method == "GET":
        return _create_get(request)
    data = request.POST.copy()
    intent = request.POST.get("intent", "")
    if intent == "unique-ids":
        return _unique_ids(request, forms.JobCreateForms(data))
    earlier = actions.previous_attempt(data.get("submit_token", ""))
    if earlier is not None and intent != "preview":
        return _after_create(request, forms.JobCreateForms(data), earlier)
    bundle = forms.JobCreateForms(data)
    if not bundle.is_valid():
        if request.htmx and request.POST.get("intent") == "preview":
            return render(request, f"{TEMPLATE}#preview", {"f": bundle, "invalid": True})
        return _page(request, bundle)
    assert bundle.spec is not None and bundle.connection is not None
    spec, connection = bundle.spec, bundle.connection
    if request.POST.get("intent") == "preview":
        body = spec_to_request(spec)
        preview = {
            "json": forms.request_json(spec),
            "curl": forms.curl_command(connection.client_config(), "/api/v1/job/create", body),
        }
        if request.htmx:
            return render(request, f"{TEMPLATE}#preview", {"f": bundle, "preview": preview})
        return _page(request, bundle, preview=preview)
    result = actions.create_job(
        user=request.user,
        connection=connection,
        spec=spec,
        key=bundle.job.cleaned_data["submit_token"],
    )
    return _after_create(request, bundle, result)


def _unique_ids(request: HttpRequest, bundle: forms.JobCreateForms) -> HttpResponse:
    """The form again with new ids for the clashing tasks (nothing is sent to Kuscia)."""
    bundle.is_valid()
    connection = bundle.connection
    if connection is None or not bundle.data:
        return _page(request, bundle)
    data, renamed = prefill.unique_task_ids(bundle.data, forms.existing_task_ids(connection))
    again = forms.JobCreateForms(data)
    again.is_valid()
    return _page(request, again, renamed=renamed)


def _after_create(
    request: HttpRequest,
    bundle: forms.JobCreateForms,
    result: actions.ActionResult,
) -> HttpResponse:
    if result.ok and result.job is not None:
        return redirect(_detail_url(result.job.connection.name, result.job.job_id, result))
    if result.duplicate and result.record.outcome == result.record.Outcome.PENDING:
        return _page(request, bundle, duplicate=result.record)
    if bundle.data is not None:  # a corrected resubmit is a new attempt
        bundle.data["submit_token"] = forms.new_token()
    return _page(request, bundle, failure=result.record)


def _create_get(request: HttpRequest) -> HttpResponse:
    connection = Connection.objects.named_or_default(request.GET.get("connection", ""))
    if connection is None:
        return _page(request, forms.JobCreateForms(), no_connection=True)
    source = request.GET.get("from", "")
    template = get_template(request.GET.get("template", ""))
    if template is not None:
        spec = replace(template.spec, job_id=forms.suggest_job_id(template.spec.job_id))
        spec = _unused_task_ids(spec, connection)
        bundle = forms.JobCreateForms(_fresh_data_for(spec, connection))
        return _page(request, bundle, started_from=template.title)
    if source:
        conn_name, _sep, job_id = source.partition("/")
        job = actions.job_for_action(connection_name=conn_name, job_id=job_id)
        if job is None:
            raise Http404("No such job to run again.")
        spec = forms.spec_from_job(job, new_job_id=forms.suggest_job_id(job.job_id))
        spec = _unused_task_ids(spec, job.connection)
        bundle = forms.JobCreateForms(_fresh_data_for(spec, job.connection))
        started = _("a copy of %(job_id)s") % {"job_id": job.job_id}
        return _page(request, bundle, started_from=started)
    blank = replace(
        TEMPLATES["psi-split"].spec,
        job_id=forms.suggest_job_id("job"),
        tasks=(
            kt.TaskSpec(
                alias="task-1",
                task_id="",
                app_image=APP_IMAGE,
                parties=(kt.Party(""), kt.Party("")),
            ),
        ),
        initiator=connection.local_domain,
        max_parallelism=1,
    )
    return _page(request, forms.JobCreateForms(_fresh_data_for(blank, connection)))


@operator_required
@require_POST
def paste(request: HttpRequest) -> HttpResponse:
    """Start from a pasted CreateJob body: fill the form and show its problems at once."""
    paste_form = forms.PasteForm(request.POST)
    connection = Connection.objects.named_or_default(request.POST.get("connection", ""))
    if connection is None:
        return _page(request, forms.JobCreateForms(), no_connection=True)
    if paste_form.is_valid():
        try:
            spec = spec_from_request(paste_form.cleaned_data["request_json"])
        except SpecError as exc:
            problem = _("Not a CreateJob body: %(error)s") % {"error": translated(exc.text)}
            paste_form.add_error("request_json", problem)
        else:
            bundle = forms.JobCreateForms(_fresh_data_for(spec, connection))
            bundle.is_valid()  # show what is wrong before anything is sent
            return _page(
                request,
                bundle,
                started_from=_("the pasted job"),
                pasted=True,
                notes=getattr(paste_form, "notes", []),
            )
    bundle = forms.JobCreateForms(
        _fresh_data_for(
            kt.JobSpec(job_id="", initiator="", max_parallelism=1, tasks=()), connection
        )
    )
    return _page(request, bundle, paste=paste_form, paste_open=True)


PREFIX_TASK = re.compile(r"[0-9]{1,3}")  # use fullmatch


@operator_required
@require_GET
def task_row(request: HttpRequest) -> HttpResponse:
    """htmx: one more task block (index from the page's TOTAL_FORMS)."""
    index = request.GET.get("index", "")
    if not PREFIX_TASK.fullmatch(index):
        return HttpResponseBadRequest("index")
    form = forms.TaskForm(prefix=f"tasks-{index}")
    forms.TaskFormSet(prefix="tasks").add_fields(form, int(index))  # the "remove" box
    form.parties = forms.blank_party_formset(f"tasks-{index}-parties")  # type: ignore[attr-defined]
    return render(request, f"{TEMPLATE}#task", {"tform": form, "new": True})


@operator_required
@require_GET
def party_row(request: HttpRequest) -> HttpResponse:
    prefix, index = request.GET.get("prefix", ""), request.GET.get("index", "")
    if not forms.PREFIX_RE.fullmatch(prefix) or not PREFIX_TASK.fullmatch(index):
        return HttpResponseBadRequest("prefix")
    pform = forms.PartyForm(prefix=f"{prefix}-{index}")
    forms.PartyFormSet(prefix=prefix).add_fields(pform, int(index))
    return render(request, f"{TEMPLATE}#party", {"pform": pform})


@operator_required
@require_GET
def field_row(request: HttpRequest) -> HttpResponse:
    index = request.GET.get("index", "")
    if not PREFIX_TASK.fullmatch(index):
        return HttpResponseBadRequest("index")
    cform = forms.CustomFieldForm(prefix=f"cf-{index}")
    forms.CustomFieldFormSet(prefix="cf").add_fields(cform, int(index))
    return render(request, f"{TEMPLATE}#cfield", {"cform": cform})


@operator_required
@require_GET
def domaindata_options(request: HttpRequest) -> HttpResponse:
    """htmx: the domain data a party's domain has on the connection (a live ListDomainData)."""
    connection = Connection.objects.named(request.GET.get("connection", "")).first()
    domain = request.GET.get("domain", "").strip()
    context: dict[str, Any] = {"domain": domain, "items": [], "error": None}
    if connection is None or not domain:
        context["error"] = _("Choose a connection and type the party's domain first.")
        return render(request, f"{TEMPLATE}#ddoptions", context)
    stored = DataItem.objects.ids_for_picker(connection.pk, domain)
    if stored:  # the network app's inventory: no request to Kuscia
        sync = NetworkSync.objects.for_pages(connection.name).first()
        context["items"] = [{"domaindata_id": i, "type": t, "name": n} for i, t, n in stored]
        context["source"] = "inventory"
        context["taken"] = sync.last_inventory if sync is not None else None
    else:  # nothing stored for this domain yet: ask Kuscia now
        context["source"] = "live"
        try:
            with actions.client_for(connection) as client:
                context["items"] = client.list_domaindata(domain)
        except KusciaError as exc:
            context["error"] = _("%(message)s (%(hint)s)") % {
                "message": error_message(exc),
                "hint": translated(exc.hint),
            }
    return render(request, f"{TEMPLATE}#ddoptions", context)


# ---------------------------------------------------------------- acting on a job


def _detail_url(connection: str, job_id: str, result: actions.ActionResult | None = None) -> str:
    url = reverse("jobs:detail", kwargs={"connection": connection, "job_id": job_id})
    if result is not None:
        url += "?" + urlencode({"done": result.record.pk})
    return url


@operator_required
@require_GET
def buttons(request: HttpRequest, connection: str, job_id: str) -> HttpResponse:
    """htmx: the action buttons again once the job's state has moved on (204 while it has
    not, so an open confirmation form is left alone)."""
    job = actions.job_for_action(connection_name=connection, job_id=job_id)
    if job is None:
        raise Http404("No such job.")
    if request.GET.get("state") == job.state and job.gone_at is None:
        return HttpResponse(status=204)
    return render(request, "operate/_job_actions.html", {"job": job})


def _run_action(
    request: HttpRequest, job: Job, action: str, key: str, reason: str
) -> actions.ActionResult:
    """The service for `action` on `job` (Http404 for an unknown action)."""
    user = request.user
    if action in actions.KUSCIA_ACTIONS:
        return actions.act_on_job(action=action, user=user, job=job, key=key, reason=reason)
    if action == actions.Action.DELETE:
        return actions.delete_job(user=user, job=job, key=key, reason=reason)
    if action == actions.Action.FORGET:
        return actions.forget_job(user=user, job=job, key=key, reason=reason)
    raise Http404("No such action.")


def _refused(connection: str, job_id: str, action: str, reason: str) -> HttpResponse:
    """Back to the job page with the confirmation form open again, keeping the typed reason."""
    query = {"refused": action, **({"reason": reason} if reason else {})}
    return redirect(_detail_url(connection, job_id) + "?" + urlencode(query))


@operator_required
@require_POST
def act(request: HttpRequest, connection: str, job_id: str, action: str) -> HttpResponse:
    job = actions.job_for_action(connection_name=connection, job_id=job_id)
    if job is None:
        raise Http404("No such job.")
    form = forms.ActionForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest(
            _("This form is missing its one-time token; reload the page.")
        )
    reason, key = form.cleaned_data["reason"].strip(), form.cleaned_data["token"]
    confirmed = form.cleaned_data["confirm_job_id"].strip() == job.job_id
    if action in ("delete", "forget") and not confirmed:
        return _refused(connection, job_id, action, reason)
    try:
        result = _run_action(request, job, action, key, reason)
    except actions.KeySpent as spent:  # the form's one-time token was spent on something else
        earlier = spent.earlier
        messages.error(
            request,
            _(
                "Not done: this form was already used for “%(action)s” of %(job)s. "
                "Reload the page for a fresh form."
            )
            % {
                "action": earlier.get_action_display(),
                "job": earlier.job_id or earlier.connection_name,
            },
        )
        return redirect(_detail_url(connection, job_id))
    if action == "forget" and result.ok:  # the job is gone from the console: its audit trail
        return redirect(reverse("audit:list") + "?" + urlencode({"job": job_id}))
    return redirect(_detail_url(connection, job_id, result))


@operator_required
@require_POST
def track(request: HttpRequest) -> HttpResponse:
    """Add a job Kuscia already has, by id (the form on the jobs list)."""
    form = forms.TrackForm(request.POST)
    connection = Connection.objects.named_or_default(request.POST.get("connection", ""))
    if not form.is_valid() or connection is None:
        return render(
            request,
            "operate/create_track.html",
            {"form": form, "connection": connection},
            status=400,
        )
    job_id = form.cleaned_data["job_id"]
    existing = actions.job_for_action(connection_name=connection.name, job_id=job_id)
    if existing is not None and existing.gone_at is None:
        return redirect(_detail_url(connection.name, job_id))
    result = actions.track_job(
        user=request.user,
        connection=connection,
        job_id=job_id,
        key=forms.new_token(),
    )
    if result.job is not None and result.ok:
        return redirect(_detail_url(connection.name, job_id))
    return render(
        request,
        "operate/create_track.html",
        {"form": form, "connection": connection, "failure": result.record},
        status=200,
    )
