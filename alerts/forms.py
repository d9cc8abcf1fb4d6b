"""Forms of the alerts pages. Channel URLs and secrets are write-only fields: never filled in
when a form is shown again, and left empty to keep what is stored."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

from alerts.changes import ChannelInput, RuleInput
from alerts.models import Channel, Delivery, Rule
from alerts.provision import minutes_problem, scope_problem, url_problem
from connections.models import Connection

SIGNED = (Channel.Kind.WEBHOOK, Channel.Kind.DINGTALK, Channel.Kind.FEISHU)


class ChannelForm(forms.Form):
    name = forms.SlugField(label=_("Name"), max_length=64)
    kind = forms.ChoiceField(label=_("Kind"), choices=Channel.Kind.choices)
    url = forms.CharField(
        label=_("Webhook URL"),
        required=False,
        max_length=2000,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_(
            "Stored encrypted and never shown again (WeCom and Slack URLs are the credential). "
            "Leave empty to keep the stored one."
        ),
    )
    to = forms.CharField(
        label=_("E-mail addresses"),
        required=False,
        max_length=2000,
        help_text=_("For e-mail channels: addresses separated by commas."),
    )
    secret = forms.CharField(
        label=_("Signing secret"),
        required=False,
        max_length=500,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_(
            "Webhook (HMAC-SHA256 of the body), DingTalk (the SEC… string) or Feishu. Stored "
            "encrypted and never shown again; leave empty to keep the stored one."
        ),
    )
    clear_secret = forms.BooleanField(label=_("Remove the stored secret"), required=False)
    enabled = forms.BooleanField(label=_("Enabled"), required=False, initial=True)

    def __init__(self, *args: Any, channel: Channel | None = None, **kwargs: Any) -> None:
        self.channel = channel
        if channel is not None and "initial" not in kwargs:
            initial: dict[str, Any] = {"name": channel.name, "kind": channel.kind}
            initial["enabled"] = channel.enabled
            if channel.kind == Channel.Kind.EMAIL:
                initial["to"] = channel.target_hint
            kwargs["initial"] = initial
        super().__init__(*args, **kwargs)

    def clean_name(self) -> str:
        name = str(self.cleaned_data["name"])
        others = Channel.objects.filter(name=name)
        if self.channel is not None:
            others = others.exclude(pk=self.channel.pk)
        if others.exists():
            raise ValidationError(_("A channel with this name exists."))
        return name

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        new = self.channel is None or self.channel.kind != kind
        if kind == Channel.Kind.EMAIL:
            addresses = [a.strip() for a in str(data.get("to") or "").split(",") if a.strip()]
            if not addresses:
                self.add_error("to", _("Give at least one e-mail address."))
            for a in addresses:
                try:
                    validate_email(a)
                except ValidationError:
                    self.add_error("to", _("%(a)s is not an e-mail address.") % {"a": a})
            data["target"] = ", ".join(addresses)
        else:
            url = str(data.get("url") or "").strip()
            if url:
                problem = url_problem(url)
                if problem:
                    self.add_error("url", _("Give the full URL, starting with https://."))
                data["target"] = url
            elif new:
                self.add_error("url", _("Give the webhook URL."))
            else:
                data["target"] = None
        if data.get("secret") and kind not in SIGNED:
            self.add_error("secret", _("This kind of channel has no signing secret."))
        return data

    def to_input(self) -> ChannelInput:
        d = self.cleaned_data
        secret: str | None = d.get("secret") or None
        if d.get("clear_secret") or d["kind"] not in SIGNED:
            secret = ""
        return ChannelInput(
            name=d["name"],
            kind=d["kind"],
            target=d.get("target"),
            secret=secret,
            enabled=bool(d.get("enabled")),
        )


class RuleForm(forms.Form):
    name = forms.SlugField(label=_("Name"), max_length=64)
    kind = forms.ChoiceField(label=_("When"), choices=Rule.Kind.choices)
    minutes = forms.IntegerField(
        label=_("Minutes"),
        min_value=0,
        max_value=100_000,
        initial=0,
        help_text=_("N of the duration rules; 0 for job failed / job ended."),
    )
    connection = forms.ModelChoiceField(
        label=_("Connection"),
        queryset=Connection.objects.order_by("name"),
        required=False,
        empty_label=_("any connection"),
        to_field_name="name",
    )
    party = forms.CharField(
        label=_("Party"),
        max_length=63,
        required=False,
        help_text=_(
            "A party of the job; for node rules the node's domain, for route rules "
            "either end of the route."
        ),
    )
    initiator = forms.CharField(
        label=_("Initiator"),
        max_length=63,
        required=False,
        help_text=_("Job rules only."),
    )
    channels = forms.ModelMultipleChoiceField(
        label=_("Channels"),
        queryset=Channel.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    enabled = forms.BooleanField(label=_("Enabled"), required=False, initial=True)

    def __init__(self, *args: Any, rule: Rule | None = None, **kwargs: Any) -> None:
        self.rule = rule
        if rule is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": rule.name,
                "kind": rule.kind,
                "minutes": rule.minutes,
                "connection": rule.connection.name if rule.connection else None,
                "party": rule.party,
                "initiator": rule.initiator,
                "channels": list(rule.channels.all()),
                "enabled": rule.enabled,
            }
        super().__init__(*args, **kwargs)

    def clean_name(self) -> str:
        name = str(self.cleaned_data["name"])
        others = Rule.objects.filter(name=name)
        if self.rule is not None:
            others = others.exclude(pk=self.rule.pk)
        if others.exists():
            raise ValidationError(_("A rule with this name exists."))
        return name

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind, minutes = data.get("kind"), data.get("minutes")
        if kind and minutes is not None:
            problem = minutes_problem(str(kind), int(minutes))
            if problem:
                self.add_error("minutes", problem)
        problem = scope_problem(str(kind or ""), str(data.get("initiator") or "").strip())
        if kind and problem:
            self.add_error("initiator", problem)
        return data

    def to_input(self) -> RuleInput:
        d = self.cleaned_data
        return RuleInput(
            name=d["name"],
            kind=d["kind"],
            minutes=int(d["minutes"]),
            connection=d.get("connection"),
            party=str(d.get("party") or "").strip(),
            initiator=str(d.get("initiator") or "").strip(),
            channels=list(d.get("channels") or []),
            enabled=bool(d.get("enabled")),
        )


class DeliveryFilterForm(forms.Form):
    channel = forms.CharField(label=_("Channel or user"), required=False, max_length=150)
    event = forms.ChoiceField(
        label=_("Message"),
        required=False,
        choices=[("", _("any message")), *Delivery.Event.choices],
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("any status")), *Delivery.Status.choices],
    )
    rule = forms.CharField(label=_("Rule"), required=False, max_length=64)
    subject = forms.CharField(label=_("Job or connection contains"), required=False, max_length=63)
    since = forms.DateField(
        label=_("Since"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
