"""The completeness check and the pure-Python catalogue tools: extraction from Python and
templates, merging, compiling, and every kind of problem the check must catch (each on a
temporary app and catalogue)."""

from __future__ import annotations

import gettext
import io
from pathlib import Path

import polib
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from dashboard import catalogues
from dashboard.catalogue_check import Term, check, check_dir, placeholder_problems

PY = """
from django.utils.translation import gettext as _, gettext_lazy, ngettext, pgettext
from django.utils import translation

A = gettext_lazy("Jobs")
B = _("Stop the job %(job)s") % {"job": "j"}
C = ngettext("%(n)d task", "%(n)d tasks", 2) % {"n": 2}
D = pgettext("verb", "Check")
E = translation.gettext("Connection {name} saved").format(name="x")
F = _("implicit " "concatenation")
G = _(some_variable)
"""
HTML = """{% load i18n %}<h1>{% translate "Audit log" %}</h1>
<p>{% blocktranslate trimmed with name=conn.name %}
  Connection {{ name }}
  is ready.{% endblocktranslate %}</p>
{% blocktranslate count counter=n %}{{ counter }} record{% plural %}{{ counter }} records\
{% endblocktranslate %}
{% translate "Main" context "navigation" as nav %}{{ nav }}
<p>not a message</p>
"""
ZH = {
    "Jobs": "作业",
    "Stop the job %(job)s": "停止作业 %(job)s",
    "Check": "检查",
    "Connection {name} saved": "已保存连接 {name}",
    "implicit concatenation": "隐式拼接",
    "Audit log": "审计日志",
    "Connection %(name)s is ready.": "连接 %(name)s 已就绪。",
    "Main": "主导航",
}
PLURALS = {"%(n)d task": ["%(n)d 个任务"], "%(counter)s record": ["%(counter)s 条记录"]}


@pytest.fixture
def app(tmp_path: Path) -> Path:
    """A temporary app with a module, a template and a complete Chinese catalogue."""
    (tmp_path / "templates" / "x").mkdir(parents=True)
    (tmp_path / "mod.py").write_text(PY)
    (tmp_path / "templates" / "x" / "page.html").write_text(HTML)
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "0001.py").write_text('x = _("never extracted")\n')
    messages, errors = catalogues.extract_dir(tmp_path)
    assert errors == []
    po = catalogues.new_catalogue("zh_Hans")
    catalogues.merge(po, messages, 1)
    for entry in po:
        if entry.msgid_plural:
            entry.msgstr_plural = dict(enumerate(PLURALS[entry.msgid]))
        else:
            entry.msgstr = ZH[entry.msgid]
    path = catalogues.catalogue_path(tmp_path, "zh_Hans")
    path.parent.mkdir(parents=True)
    po.save(str(path))
    return tmp_path


def edit(app: Path, msgid: str, **changes: object) -> None:
    path = catalogues.catalogue_path(app, "zh_Hans")
    po = polib.pofile(str(path))
    entry = po.find(msgid)
    for name, value in changes.items():
        setattr(entry, name, value)
    po.save(str(path))


def problems(app: Path, terms=()) -> list[str]:
    found, _translated = check_dir(app, terms)
    return [f"{p.msgid}: {p.problem}" for p in found]


def test_extraction_finds_every_kind_of_message(app: Path):
    messages, _errors = catalogues.extract_dir(app)
    keys = {(m.msgctxt, m.msgid, m.msgid_plural) for m in messages}
    assert keys == {
        (None, "Jobs", ""),
        (None, "Stop the job %(job)s", ""),
        (None, "%(n)d task", "%(n)d tasks"),
        ("verb", "Check", ""),
        (None, "Connection {name} saved", ""),
        (None, "implicit concatenation", ""),
        (None, "Audit log", ""),
        (None, "Connection %(name)s is ready.", ""),  # template variables become %(name)s
        (None, "%(counter)s record", "%(counter)s records"),
        ("navigation", "Main", ""),
    }


def test_a_complete_catalogue_passes(app: Path):
    assert problems(app) == []


def test_a_message_missing_from_the_catalogue_fails(app: Path):
    (app / "more.py").write_text(
        'from django.utils.translation import gettext as _\n_("New one")\n'
    )
    assert problems(app) == [
        "New one: not in the catalogue: run `manage.py catalogues update` and translate it"
    ]


def test_an_untranslated_message_fails(app: Path):
    edit(app, "Audit log", msgstr="")
    assert problems(app) == ["Audit log: no translation"]


def test_an_untranslated_plural_fails(app: Path):
    edit(app, "%(n)d task", msgstr_plural={0: ""})
    assert problems(app) == ["%(n)d task: no translation"]


def test_a_fuzzy_translation_fails(app: Path):
    edit(app, "Jobs", flags=["fuzzy"])
    assert problems(app) == ["Jobs: marked fuzzy: check the translation and remove the flag"]


@pytest.mark.parametrize(
    ("msgid", "wrong"),
    [
        ("Stop the job %(job)s", "停止作业 %(jobs)s"),  # renamed
        ("Stop the job %(job)s", "停止作业"),  # dropped
        ("Connection %(name)s is ready.", "连接 %(name)d 已就绪。"),  # another conversion
        ("Connection {name} saved", "已保存连接 {nom}"),
        ("Jobs", "作业 %(extra)s"),  # added
    ],
)
def test_placeholders_that_differ_fail(app: Path, msgid: str, wrong: str):
    edit(app, msgid, msgstr=wrong)
    [problem] = problems(app)
    assert problem.startswith(f"{msgid}: placeholders differ")


def test_plural_placeholders_are_compared_with_the_plural_source(app: Path):
    edit(app, "%(counter)s record", msgstr_plural={0: "%(count)s 条记录"})
    assert problems(app)[0].startswith("%(counter)s record: placeholders differ")


def test_no_python_format_flag_accepts_a_literal_percent():
    entry = polib.POEntry(msgid="100% done", msgstr="完成 100%")
    assert placeholder_problems(entry, 1) != []
    entry.flags = ["no-python-format"]
    assert placeholder_problems(entry, 1) == []


def test_glossary_terms_are_required_unless_accepted(app: Path):
    terms = [Term(("job", "jobs"), "作业")]
    edit(app, "Jobs", msgstr="工作")
    assert problems(app, terms) == ["Jobs: glossary: job/jobs is '作业' (docs/glossary.md)"]
    edit(app, "Jobs", tcomment="glossary: ok")
    assert problems(app, terms) == []


def test_the_same_words_translated_differently_in_two_apps_fail(
    app: Path, tmp_path_factory, monkeypatch
):
    other = tmp_path_factory.mktemp("other")
    (other / "mod.py").write_text(
        'from django.utils.translation import gettext as _\n_("implicit concatenation")\n'
    )
    po = catalogues.new_catalogue("zh_Hans")
    po.append(polib.POEntry(msgid="implicit concatenation", msgstr="隐含的连接"))
    path = catalogues.catalogue_path(other, "zh_Hans")
    path.parent.mkdir(parents=True)
    po.save(str(path))
    monkeypatch.setattr("dashboard.catalogue_check.app_dir", {"a": app, "b": other}.__getitem__)
    found = [str(p) for p in check(["a", "b"])]
    assert found == [
        "a and b: 'implicit concatenation': translated differently: '隐式拼接' and '隐含的连接'"
    ]


def test_an_f_string_in_gettext_is_an_error(tmp_path: Path):
    (tmp_path / "bad.py").write_text(
        'from django.utils.translation import gettext as _\nx = 1\n_(f"job {x}")\n'
    )
    _messages, errors = catalogues.extract_dir(tmp_path)
    assert [(e.where.endswith("bad.py:3"), e.problem) for e in errors] == [
        (True, "an f-string cannot be translated")
    ]


def test_update_keeps_translations_adds_new_and_keeps_gone_ones_obsolete(app: Path):
    path = catalogues.catalogue_path(app, "zh_Hans")
    (app / "mod.py").write_text(
        'from django.utils.translation import gettext as _\n_("Jobs")\n_("Brand new")\n'
    )
    messages, _errors = catalogues.extract_dir(app)
    po = polib.pofile(str(path))
    added, obsoleted = catalogues.merge(po, messages, 1)
    assert (added, obsoleted) == (1, 5)
    assert po.find("Jobs").msgstr == "作业"
    assert po.find("Brand new").msgstr == ""
    assert po.find("Check", msgctxt="verb", include_obsolete_entries=True).obsolete


def test_compiled_catalogue_is_read_by_gettext_without_fuzzy_entries(app: Path):
    edit(app, "Jobs", flags=["fuzzy"])
    po_path = catalogues.catalogue_path(app, "zh_Hans")
    mo_path = catalogues.compile_catalogue(po_path)
    assert not catalogues.is_stale(po_path)
    with mo_path.open("rb") as handle:
        t = gettext.GNUTranslations(handle)
    assert t.gettext("Audit log") == "审计日志"
    assert t.gettext("Jobs") == "Jobs"  # fuzzy: left out, as msgfmt does
    assert t.ngettext("%(n)d task", "%(n)d tasks", 5) == "%(n)d 个任务"
    assert t.pgettext("verb", "Check") == "检查"


def test_the_projects_catalogues_are_complete():
    assert [str(p) for p in check()] == []


def test_check_command_fails_with_the_problems(app: Path, monkeypatch, capsys):
    edit(app, "Audit log", msgstr="")
    monkeypatch.setattr("dashboard.catalogue_check.app_dir", lambda label: app)
    with pytest.raises(CommandError, match="1 translation problem"):
        call_command("catalogues", "check", "tmp")
    assert "'Audit log': no translation" in capsys.readouterr().err


def test_stale_catalogues_are_reported_by_the_system_check(app: Path, monkeypatch):
    po_path = catalogues.catalogue_path(app, "zh_Hans")
    monkeypatch.setattr(catalogues, "all_catalogues", lambda: [po_path])
    [warning] = catalogues.check_compiled()
    assert warning.id == "dashboard.W001"
    catalogues.compile_all()
    assert catalogues.check_compiled() == []


def test_django_uses_our_translations_not_its_own_catalogues():
    """Every translation of ours is the one a page gets: no catalogue of Django or of a
    contrib app (admin says "动作" for "Action") takes precedence over it."""
    from django.utils import translation

    from dashboard.catalogue_check import app_dir, checked_apps, translations_of

    wrong = []
    with translation.override("zh-hans"):
        for label in checked_apps():
            po = polib.pofile(str(catalogues.catalogue_path(app_dir(label), "zh_Hans")))
            for entry in po.translated_entries():
                if entry.msgid_plural:
                    got = translation.ngettext(entry.msgid, entry.msgid_plural, 5)
                elif entry.msgctxt:
                    got = translation.pgettext(entry.msgctxt, entry.msgid)
                else:
                    got = translation.gettext(entry.msgid)
                if got != translations_of(entry)[0]:
                    wrong.append((label, entry.msgid, got))
    assert wrong == []


PROJECT_APPS = {"dashboard", "accounts", "audit", "connections", "jobs", "operate", "network",
                "alerts", "logs"}  # fmt: skip


def test_every_project_app_is_checked_and_nothing_else():
    """The check covers the apps of this repository, derived from INSTALLED_APPS (no list to
    forget a new app in): not Django's contrib apps nor third-party ones."""
    assert set(catalogues.checked_apps()) == PROJECT_APPS


def test_a_new_app_with_an_untranslated_string_fails_the_check(tmp_path, settings, monkeypatch):
    """An app added to INSTALLED_APPS is checked without being named anywhere: a message it
    does not translate fails `manage.py catalogues check`."""
    app = tmp_path / "kc_new_app"
    (app / "templates" / "kc_new_app").mkdir(parents=True)
    (app / "__init__.py").write_text("")
    (app / "views.py").write_text(
        "from django.utils.translation import gettext as _\n\nTITLE = _('Fresh words')\n"
    )
    (app / "templates" / "kc_new_app" / "page.html").write_text(
        '{% load i18n %}<h1>{% translate "Fresh heading" %}</h1>'
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "kc_new_app"]
    settings.BASE_DIR = tmp_path  # the new app is the one project app here
    assert catalogues.checked_apps() == ("kc_new_app",)
    with pytest.raises(CommandError) as err:  # no catalogue at all
        call_command("catalogues", "check")
    assert "kc_new_app" in str(err.value)
    call_command("catalogues", "update", stdout=io.StringIO())  # every project app: the new one
    with pytest.raises(CommandError):  # a catalogue, its messages untranslated
        call_command("catalogues", "check")
    assert {p.msgid for p in check()} == {"Fresh words", "Fresh heading"}
