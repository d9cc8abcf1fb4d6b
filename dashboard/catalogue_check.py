"""The completeness check of the translation catalogues (`manage.py catalogues check`, run by
`make test` in its lint stage).

It extracts the messages from the source of the checked apps (dashboard.catalogues.checked_apps:
every project app in INSTALLED_APPS) and fails when one of them:
- is missing from its app's catalogue, or has no translation there;
- is marked fuzzy (a guess that nobody has confirmed; Django would not use it);
- has placeholders that its translation does not keep: python-format (%(name)s, %s — the
  template variables of {% blocktranslate %} are these too) and python-brace-format ({name});
  a translator turns either check off for one entry with the standard flag no-python-format or
  no-python-brace-format when the % or braces are no placeholders (e.g. "100% done");
- is translated differently in two catalogues (the same words must read the same everywhere);
- contains a glossary term (docs/glossary.md, rows marked "yes" in its Checked column) whose
  translation lacks the glossary's Chinese term; a translator comment "glossary: ok" on the
  entry accepts a deliberate exception.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import polib
from django.conf import settings

from dashboard.catalogues import (
    Key,
    Message,
    app_dir,
    catalogue_path,
    checked_apps,
    extra_dirs,
    extract_dir,
    load_catalogue,
    nplurals_of,
    shown_path,
    target_locales,
)

PERCENT = re.compile(
    r"%(?:\((?P<name>[^)]*)\))?[#0\- +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?"
    r"(?P<conv>[diouxXeEfFgGcrsa%])"
)
BRACE = re.compile(
    r"\{\{|\}\}|\{(?P<name>[A-Za-z_]\w*|\d*)(?:[.\[][^{}]*)?(?:![rsa])?(?::[^{}]*)?\}"
)
GLOSSARY = Path(settings.BASE_DIR) / "docs" / "glossary.md"
GLOSSARY_OK = "glossary: ok"


@dataclass(frozen=True)
class Problem:
    where: str
    msgid: str
    problem: str

    def __str__(self) -> str:
        shown = self.msgid if len(self.msgid) <= 70 else self.msgid[:67] + "..."
        return f"{self.where}: {shown!r}: {self.problem}"


def percent_placeholders(text: str) -> list[str]:
    """The %-placeholders of a python-format string, "%%" left out: "(name)s" for named ones,
    the conversion alone ("s", "d") for positional ones, in order."""
    found = []
    for match in PERCENT.finditer(text):
        if match.group("conv") == "%" and match.group(0) == "%%":
            continue
        name = match.group("name")
        found.append(f"({name}){match.group('conv')}" if name is not None else match.group("conv"))
    return found


def brace_placeholders(text: str) -> set[str]:
    return {m.group("name") or "" for m in BRACE.finditer(text) if m.group(0) not in ("{{", "}}")}


def _percent_signature(text: str) -> tuple[frozenset[str], tuple[str, ...]]:
    found = percent_placeholders(text)
    named = frozenset(p for p in found if p.startswith("("))
    return named, tuple(p for p in found if not p.startswith("("))


def placeholder_problems(entry: polib.POEntry, nplurals: int) -> list[str]:
    """How the translations of `entry` differ from its source in placeholders."""
    pairs: list[tuple[str, str]] = []  # (source text, its translation)
    if entry.msgid_plural:
        for n, text in sorted(entry.msgstr_plural.items()):
            source = entry.msgid if (n == 0 and nplurals > 1) else entry.msgid_plural
            pairs.append((source, text))
    else:
        pairs.append((entry.msgid, entry.msgstr))
    kinds = [
        (flag, signature, listed)
        for flag, signature, listed in (
            ("no-python-format", _percent_signature, percent_placeholders),
            ("no-python-brace-format", brace_placeholders, brace_placeholders),
        )
        if flag not in entry.flags
    ]
    return [
        f"placeholders differ: {sorted(listed(source))} in the source, "
        f"{sorted(listed(text))} in the translation"
        for source, text in pairs
        for _flag, signature, listed in kinds
        if signature(source) != signature(text)
    ]


def translations_of(entry: polib.POEntry) -> list[str]:
    if entry.msgid_plural:
        return [entry.msgstr_plural[n] for n in sorted(entry.msgstr_plural)]
    return [entry.msgstr]


@dataclass(frozen=True)
class Term:
    english: tuple[str, ...]
    chinese: str

    def pattern(self) -> re.Pattern[str]:
        words = "|".join(re.escape(w) for w in self.english)
        return re.compile(rf"(?<![\w-])(?:{words})(?![\w-])", re.IGNORECASE)


def glossary_terms(path: Path = GLOSSARY) -> list[Term]:
    """The rows of the glossary's table whose Checked column says yes."""
    terms: list[Term] = []
    if not path.exists():
        return terms
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or cells[2].lower() != "yes":
            continue
        english = tuple(w.strip() for w in cells[0].split(",") if w.strip())
        chinese = re.split(r"[(\uff08]", cells[1])[0].strip()  # a note in brackets is left out
        if english and chinese:
            terms.append(Term(english, chinese))
    return terms


def glossary_problems(entry: polib.POEntry, terms: Sequence[Term]) -> list[str]:
    if GLOSSARY_OK in (entry.tcomment or ""):
        return []
    source = BRACE.sub(" ", PERCENT.sub(" ", f"{entry.msgid} {entry.msgid_plural}"))
    texts = translations_of(entry)
    return [
        f"glossary: {'/'.join(term.english)} is {term.chinese!r} (docs/glossary.md)"
        for term in terms
        if term.pattern().search(source) and not all(term.chinese in t for t in texts)
    ]


def check_entry(entry: polib.POEntry | None, message: Message, nplurals: int) -> list[str]:
    if entry is None:
        return ["not in the catalogue: run `manage.py catalogues update` and translate it"]
    if "fuzzy" in entry.flags:
        return ["marked fuzzy: check the translation and remove the flag"]
    if (entry.msgid_plural or "") != message.msgid_plural:
        return ["its plural form changed in the source: run `manage.py catalogues update`"]
    if not all(t.strip() for t in translations_of(entry)):
        return ["no translation"]
    return placeholder_problems(entry, nplurals)


Translations = dict[tuple[str, str], str]  # (locale|context, msgid) -> its translations


def check_dir(
    root: Path, terms: Sequence[Term] = (), extra: Sequence[Path] = ()
) -> tuple[list[Problem], Translations]:
    """Problems of the catalogues of the app in directory `root` (whose messages include those
    of the `extra` directories), and its translations."""
    messages, errors = extract_dir(root, extra)
    problems = [Problem(e.where, "", e.problem) for e in errors]
    translated: Translations = {}
    for locale in target_locales():
        path = catalogue_path(root, locale)
        where = shown_path(path)
        if not path.exists() and messages:
            problems.append(Problem(where, "", "missing: run `manage.py catalogues update`"))
            continue
        po = load_catalogue(path, locale)
        nplurals = nplurals_of(po)
        entries: dict[Key, polib.POEntry] = {(e.msgctxt, e.msgid): e for e in po if not e.obsolete}
        for message in messages:
            entry = entries.get(message.key)
            found = check_entry(entry, message, nplurals)
            if not found and entry is not None:
                found = glossary_problems(entry, terms)
                translated[(f"{locale}|{message.msgctxt}", message.msgid)] = " | ".join(
                    translations_of(entry)
                )
            problems.extend(Problem(where, message.msgid, p) for p in found)
    return problems, translated


def check(labels: Iterable[str] | None = None) -> list[Problem]:
    """Every problem of the apps' catalogues (default: checked_apps()); empty when they are
    complete."""
    labels = checked_apps() if labels is None else labels
    terms = glossary_terms()
    problems: list[Problem] = []
    seen: dict[tuple[str, str], tuple[str, str]] = {}
    for label in labels:
        found, translated = check_dir(app_dir(label), terms, extra_dirs(label))
        problems.extend(found)
        for key, text in translated.items():
            first = seen.setdefault(key, (label, text))
            if first[1] != text:
                problems.append(
                    Problem(
                        f"{first[0]} and {label}",
                        key[1],
                        f"translated differently: {first[1]!r} and {text!r}",
                    )
                )
    return problems
