"""The alerts pages: incidents and the delivery log (everyone), channels and rules (admins
change them; items from the provisioning file are read-only), "notify me" subscriptions (each
user their own)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.roles import admin_required
from alerts import changes
from alerts.forms import ChannelForm, DeliveryFilterForm, RuleForm
from alerts.models import Channel, Delivery, Incident, ProvisionState, Rule, Subscription
from jobs.models import Job


@require_GET
def alerts_home(request: HttpRequest) -> HttpResponse:
    form = DeliveryFilterForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    page = Paginator(Delivery.objects.for_log(filters=filters), 50).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "deliveries": page.object_list,
        "query": query.urlencode(),
        "incidents": Incident.objects.for_page(),
        "provisioning": ProvisionState.objects.filter(key=1).first(),
    }
    return render(request, "alerts/home.html", context)


@require_GET
def channel_list(request: HttpRequest) -> HttpResponse:
    return render(request, "alerts/channels.html", {"channels": Channel.objects.for_page()})


@admin_required
@require_http_methods(["GET", "POST"])
def channel_edit(request: HttpRequest, name: str | None = None) -> HttpResponse:
    channel = get_object_or_404(Channel, name=name) if name else None
    if channel is not None and channel.provisioned:
        return _read_only(request, "alerts:channels")
    form = ChannelForm(request.POST or None, channel=channel)
    if request.method == "POST" and form.is_valid():
        saved = changes.save_channel(user=request.user, channel=channel, data=form.to_input())
        messages.success(request, _("Channel %(name)s saved.") % {"name": saved.name})
        return redirect("alerts:channels")
    return render(request, "alerts/channel_form.html", {"form": form, "channel": channel})


@admin_required
@require_POST
def channel_delete(request: HttpRequest, name: str) -> HttpResponse:
    channel = get_object_or_404(Channel, name=name)
    if channel.provisioned:
        return _read_only(request, "alerts:channels")
    changes.delete_channel(user=request.user, channel=channel)
    messages.success(request, _("Channel %(name)s deleted.") % {"name": name})
    return redirect("alerts:channels")


@admin_required
@require_POST
def channel_test(request: HttpRequest, name: str) -> HttpResponse:
    channel = get_object_or_404(Channel, name=name)
    changes.test_channel(user=request.user, channel=channel)
    messages.success(
        request,
        _("A test message to %(name)s is queued; its outcome appears in the delivery log.")
        % {"name": channel.name},
    )
    return redirect(f"{reverse('alerts:home')}?channel={channel.name}")


@require_GET
def rule_list(request: HttpRequest) -> HttpResponse:
    return render(request, "alerts/rules.html", {"rules": Rule.objects.for_page()})


@admin_required
@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, name: str | None = None) -> HttpResponse:
    rule = get_object_or_404(Rule, name=name) if name else None
    if rule is not None and rule.provisioned:
        return _read_only(request, "alerts:rules")
    form = RuleForm(request.POST or None, rule=rule)
    if request.method == "POST" and form.is_valid():
        saved = changes.save_rule(user=request.user, rule=rule, data=form.to_input())
        messages.success(request, _("Rule %(name)s saved.") % {"name": saved.name})
        return redirect("alerts:rules")
    return render(request, "alerts/rule_form.html", {"form": form, "rule": rule})


@admin_required
@require_POST
def rule_delete(request: HttpRequest, name: str) -> HttpResponse:
    rule = get_object_or_404(Rule, name=name)
    if rule.provisioned:
        return _read_only(request, "alerts:rules")
    changes.delete_rule(user=request.user, rule=rule)
    messages.success(request, _("Rule %(name)s deleted.") % {"name": name})
    return redirect("alerts:rules")


@require_GET
def my_subscriptions(request: HttpRequest) -> HttpResponse:
    subs = Subscription.objects.of_user(request.user)
    return render(request, "alerts/mine.html", {"subscriptions": subs})


@require_POST
def notify_toggle(request: HttpRequest, connection: str, job_id: str) -> HttpResponse:
    """Turn "notify me when this job ends" on (or off, with `off`) for the signed-in user, of
    any role: it changes nothing but the user's own subscription."""
    job = get_object_or_404(
        Job.objects.select_related("connection"), connection__name=connection, job_id=job_id
    )
    if "off" in request.POST:
        changes.unsubscribe(user=request.user, job=job)
        messages.success(
            request, _("You will not be notified about %(job)s.") % {"job": job.job_id}
        )
    elif not getattr(request.user, "email", ""):
        messages.error(
            request, _("Your account has no e-mail address: ask an admin to add one first.")
        )
    else:
        changes.subscribe(user=request.user, job=job)
        messages.success(
            request,
            _("You will get an e-mail at %(email)s when %(job)s ends.")
            % {"email": request.user.email, "job": job.job_id},  # type: ignore[union-attr]
        )
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    return redirect("jobs:detail", connection=job.connection.name, job_id=job.job_id)


def _read_only(request: HttpRequest, back: str) -> HttpResponse:
    if request.method == "POST":
        return HttpResponseForbidden(
            _("This item comes from the provisioning file: change it there.")
        )
    messages.info(
        request, _("This item comes from the provisioning file (KC_ALERTS_FILE): change it there.")
    )
    return redirect(back)
