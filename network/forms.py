"""Forms to register, edit and delete domain data and to grant it to another domain. They
check what Kuscia (or the data mesh reading the data later) would reject before anything is
sent: ids (Kubernetes names), relative paths without "..", column names and types
(kuscia-network-api.md §3.3)."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kuscia import types as kt

K3S_ID = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$")
# Column types DataMesh/DataProxy can read (Convert2ArrowColumnType), compared without case.
COLUMN_TYPES = [
    "int8",
    "int16",
    "int32",
    "int64",
    "int",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "uint",
    "float32",
    "float64",
    "float",
    "date32",
    "date64",
    "date",
    "datetime",
    "time32",
    "time64",
    "timestamp",
    "duration",
    "bool",
    "string",
    "str",
    "large_string",
    "large_str",
    "large_utf8",
    "binary",
]
DATA_TYPES = ("table", "model", "rule", "report", "unknown")
FILE_FORMATS = ("", "CSV", "BINARY")
COLUMN_NAME = re.compile(r"^[^\s,:\x00-\x1f\x7f]{1,128}$")
MAX_COLUMNS = 2000
ID_HELP = gettext_lazy("Lower-case letters, digits, '-' and '.', at most 63, as Kubernetes names.")


def new_token() -> str:
    return secrets.token_urlsafe(24)


def check_id(value: str, *, what: str) -> str:
    if not K3S_ID.match(value):
        raise forms.ValidationError(
            _(
                "%(what)s must be lower-case letters, digits, '-' or '.', start and end with a "
                "letter or digit, at most 63 characters."
            )
            % {"what": what}
        )
    return value


def parse_columns(text: str) -> list[kt.DataColumn]:
    """One column per line, "name:type" (or "name type"); blank lines are skipped. Raises a
    ValidationError naming every bad line."""
    columns: list[kt.DataColumn] = []
    errors: list[str] = []
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        if ":" in line:
            name, _sep, kind = line.partition(":")
        else:
            name, _sep, kind = line.partition(" ")
        name, kind = name.strip(), kind.strip()
        if not name or not kind:
            errors.append(_("line %(n)s: give a name and a type, e.g. “age:float”") % {"n": number})
            continue
        if not COLUMN_NAME.match(name):
            errors.append(
                _(
                    "line %(n)s: the column name %(name)s has a space, comma, colon or "
                    "control character"
                )
                % {"n": number, "name": repr(name)}
            )
            continue
        if kind.lower() not in COLUMN_TYPES:
            errors.append(
                _(
                    "line %(n)s: %(type)s is not a type the data mesh can read (use e.g. "
                    "str, int, float, bool, date)"
                )
                % {"n": number, "type": repr(kind)}
            )
            continue
        if name in seen:
            errors.append(
                _("line %(n)s: the column %(name)s is listed twice") % {"n": number, "name": name}
            )
            continue
        seen.add(name)
        columns.append(kt.DataColumn(name=name, type=kind.lower()))
    if len(columns) > MAX_COLUMNS:
        errors.append(_("at most %(n)s columns") % {"n": MAX_COLUMNS})
    if errors:
        raise forms.ValidationError(errors)
    return columns


def columns_text(columns: Any) -> str:
    return "\n".join(f"{c['name']}:{c['type']}" for c in columns or ())


def header_columns(header: str, kind: str) -> str:
    """A pasted CSV header line ("id1,age,education") as column lines of one type."""
    names = [n.strip().strip('"').strip() for n in header.strip().split(",")]
    return "\n".join(f"{n}:{kind}" for n in names if n)


def check_relative_uri(value: str) -> str:
    value = value.strip()
    if not value:
        raise forms.ValidationError(_("Give the path of the file inside the data source."))
    if value.startswith("/") or re.match(r"^[A-Za-z]:[\\/]", value):
        raise forms.ValidationError(
            _("Give a path relative to the data source (no leading '/'): e.g. data/alice.csv")
        )
    parts = re.split(r"[\\/]", value)
    if ".." in parts:
        raise forms.ValidationError(_("The path must not leave the data source ('..')."))
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise forms.ValidationError(_("The path has a control character."))
    if len(value) > 1024:
        raise forms.ValidationError(_("At most 1,024 characters."))
    return value


class DataForm(forms.Form):
    """Register (connection and domain chosen) or edit (fixed) one DomainData."""

    token = forms.CharField(widget=forms.HiddenInput, max_length=64)
    connection = forms.ChoiceField(label=gettext_lazy("Connection"))
    domain_id = forms.CharField(label=gettext_lazy("Domain"), max_length=63, help_text=ID_HELP)
    domaindata_id = forms.CharField(
        label=gettext_lazy("Data id"),
        max_length=63,
        required=False,
        help_text=gettext_lazy("Leave empty and Kuscia makes one from the name."),
    )
    name = forms.CharField(label=gettext_lazy("Name"), max_length=255, required=False)
    type = forms.ChoiceField(
        label=gettext_lazy("Type"), choices=[(t, t) for t in DATA_TYPES], initial="table"
    )
    datasource_id = forms.CharField(
        label=gettext_lazy("Data source"),
        max_length=63,
        initial="default-data-source",
        help_text=gettext_lazy("default-data-source is the node's var/storage/data folder."),
    )
    relative_uri = forms.CharField(
        label=gettext_lazy("Path in the data source"),
        max_length=1024,
        help_text=gettext_lazy("Relative, e.g. alice.csv or data/2024/alice.csv."),
    )
    file_format = forms.ChoiceField(
        label=gettext_lazy("File format"),
        choices=[("", gettext_lazy("not said")), ("CSV", "CSV"), ("BINARY", "BINARY")],
        required=False,
    )
    description = forms.CharField(label=gettext_lazy("Description"), max_length=500, required=False)
    columns = forms.CharField(
        label=gettext_lazy("Columns"),
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        required=False,
        help_text=gettext_lazy("One per line, name:type (str, int, float, bool, date, ...)."),
    )
    header = forms.CharField(
        label=gettext_lazy("…or paste the CSV header line"),
        max_length=20000,
        required=False,
        help_text=gettext_lazy("Used when Columns is empty: every name gets the type below."),
    )
    header_type = forms.ChoiceField(
        label=gettext_lazy("Type for the pasted names"),
        choices=[(t, t) for t in ("str", "float", "int", "bool", "date")],
        initial="str",
        required=False,
    )

    def __init__(self, *args: Any, connections: list[str], editing: bool = False, **kw: Any):
        super().__init__(*args, **kw)
        self.editing = editing
        field = self.fields["connection"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(c, c) for c in connections]
        if editing:  # what identifies the item is fixed
            for name in ("connection", "domain_id", "domaindata_id"):
                self.fields[name].disabled = True

    def clean_domain_id(self) -> str:
        return check_id(self.cleaned_data["domain_id"].strip(), what=_("The domain"))

    def clean_domaindata_id(self) -> str:
        value = self.cleaned_data["domaindata_id"].strip()
        return check_id(value, what=_("The data id")) if value else ""

    def clean_datasource_id(self) -> str:
        return check_id(self.cleaned_data["datasource_id"].strip(), what=_("The data source"))

    def clean_relative_uri(self) -> str:
        return check_relative_uri(self.cleaned_data["relative_uri"])

    def clean_name(self) -> str:
        value = self.cleaned_data["name"].strip()
        if any(ord(ch) < 32 for ch in value):
            raise forms.ValidationError(_("The name has a control character."))
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        text = data.get("columns") or ""
        if not text.strip() and (data.get("header") or "").strip():
            text = header_columns(data["header"], data.get("header_type") or "str")
            data["columns"] = text
            given: Any = self.data
            bound = given.copy()
            bound["columns"] = text  # shown filled if the form comes back
            self.data = bound
        try:
            data["column_list"] = parse_columns(text)
        except forms.ValidationError as exc:
            field = "columns" if (self.data.get("columns") or "").strip() else "header"
            self.add_error(field, exc)
        return data

    def spec(self) -> kt.DomainDataSpec:
        d = self.cleaned_data
        description = d.get("description", "")
        return kt.DomainDataSpec(
            domain_id=d["domain_id"],
            domaindata_id=d.get("domaindata_id", ""),
            name=d.get("name", ""),
            type=d["type"],
            relative_uri=d["relative_uri"],
            datasource_id=d["datasource_id"],
            attributes={"description": description} if description else {},
            columns=tuple(d.get("column_list", ())),
            vendor="manual",
            file_format=d.get("file_format", ""),
        )


class DeleteForm(forms.Form):
    token = forms.CharField(widget=forms.HiddenInput, max_length=64)
    confirm = forms.CharField(label=gettext_lazy("Type the data id to confirm"), max_length=253)

    def __init__(self, *args: Any, expected: str, **kw: Any):
        super().__init__(*args, **kw)
        self.expected = expected

    def clean_confirm(self) -> str:
        value = self.cleaned_data["confirm"].strip()
        if value != self.expected:
            raise forms.ValidationError(
                _("Type %(id)s exactly to delete it.") % {"id": self.expected}
            )
        return value


class GrantForm(forms.Form):
    token = forms.CharField(widget=forms.HiddenInput, max_length=64)
    grant_domain = forms.CharField(label=gettext_lazy("Grant to domain"), max_length=63)
    expires = forms.DateField(
        label=gettext_lazy("Until (optional)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    use_count = forms.IntegerField(
        label=gettext_lazy("Uses (0: no limit)"),
        min_value=0,
        max_value=1_000_000,
        initial=0,
        required=False,
    )

    def __init__(self, *args: Any, owner: str, **kw: Any):
        super().__init__(*args, **kw)
        self.owner = owner

    def clean_grant_domain(self) -> str:
        value = check_id(self.cleaned_data["grant_domain"].strip(), what=_("The domain"))
        if value == self.owner:
            raise forms.ValidationError(_("The data already belongs to %(d)s.") % {"d": value})
        return value

    def clean_expires(self) -> dt.date | None:
        value = self.cleaned_data.get("expires")
        if value is not None and value <= timezone.localdate():
            raise forms.ValidationError(_("Choose a day after today."))
        return value

    def spec(self, domain_id: str, domaindata_id: str) -> kt.DomainDataGrantSpec:
        d = self.cleaned_data
        expires = None
        if d.get("expires"):
            expires = dt.datetime.combine(d["expires"], dt.time(), tzinfo=dt.UTC)
        return kt.DomainDataGrantSpec(
            domain_id=domain_id,
            domaindata_id=domaindata_id,
            grant_domain=d["grant_domain"],
            expiration_time=expires,
            use_count=d.get("use_count") or 0,
        )


class TokenForm(forms.Form):
    token = forms.CharField(widget=forms.HiddenInput, max_length=64)
