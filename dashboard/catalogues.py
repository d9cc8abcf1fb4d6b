"""Translation catalogues without GNU gettext: extract messages from the source, merge them into
each app's catalogue, and compile catalogues to the .mo files Django reads.

Each app owns `<app>/locale/<locale>/LC_MESSAGES/django.po` (Django finds it through the app),
so that work on different apps never touches the same file. `manage.py catalogues` runs this:

    update [APP…]   extract the app's messages and merge them into its catalogues: new ones
                    come in untranslated, gone ones are kept as obsolete (#~) entries
    compile         compile every catalogue whose .mo is missing or older than its .po
    check [APP…]    the completeness check (dashboard.catalogue_check); `make test` runs it
                    (no APP: every project app, checked_apps())

Extraction reads Python with `ast` (gettext, gettext_lazy, ngettext, pgettext… called by name
or as an attribute, `_` included) and templates through Django's own `templatize`, the same
front end `makemessages` feeds to xgettext. The .po files stay standard: GNU gettext and
`makemessages` can work on them too. polib reads, writes and compiles them.
"""

from __future__ import annotations

import ast
import io
import logging
import os
import sys
import tempfile
import tokenize
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polib
from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Warning
from django.utils.translation import to_locale
from django.utils.translation.template import templatize

log = logging.getLogger("dashboard.catalogues")

# Framework-free code whose messages an app's catalogue holds: kuscia/ writes English and marks
# its messages with N_ (kuscia.texts); the connections app translates them where they are shown.
EXTRA_SOURCES: dict[str, tuple[str, ...]] = {"connections": ("kuscia",)}

DOMAIN = "django"
SOURCE_LANGUAGE = "en"
TEMPLATE_SUFFIXES = (".html", ".txt")
SKIPPED_DIRS = {"migrations", "locale", "__pycache__", "static"}

# name -> (index of the context, of the singular, of the plural); None where there is none.
KEYWORDS: dict[str, tuple[int | None, int, int | None]] = {
    "_": (None, 0, None),
    "gettext": (None, 0, None),
    "gettext_lazy": (None, 0, None),
    "gettext_noop": (None, 0, None),
    "ngettext": (None, 0, 1),
    "ngettext_lazy": (None, 0, 1),
    "pgettext": (0, 1, None),
    "pgettext_lazy": (0, 1, None),
    "npgettext": (0, 1, 2),
    "npgettext_lazy": (0, 1, 2),
    "N_": (None, 0, None),  # kuscia.texts.N_, gettext_noop's conventional name
}
PLURAL_FORMS = {"zh_Hans": "nplurals=1; plural=0;"}


Key = tuple[str | None, str]  # (context, msgid)


@dataclass
class Message:
    msgid: str
    msgid_plural: str = ""
    msgctxt: str | None = None
    references: list[str] = field(default_factory=list)

    @property
    def key(self) -> Key:
        return (self.msgctxt, self.msgid)


@dataclass
class ExtractionError:
    where: str
    problem: str


def target_locales() -> list[str]:
    """The catalogues' locales: every language of LANGUAGES but the source one, e.g. zh_Hans."""
    return [to_locale(code) for code, _name in settings.LANGUAGES if code != SOURCE_LANGUAGE]


def checked_apps() -> tuple[str, ...]:
    """The apps whose messages the completeness check covers: every project app, i.e. every
    installed app whose package sits at the top of this repository (BASE_DIR), in
    INSTALLED_APPS order. Derived, not listed, so that a new app cannot escape the check;
    Django's contrib apps and third-party packages live elsewhere (site-packages)."""
    base = Path(settings.BASE_DIR).resolve()
    return tuple(
        config.label
        for config in apps.get_app_configs()
        if Path(config.path).resolve().parent == base
    )


def app_dir(label: str) -> Path:
    return Path(apps.get_app_config(label).path)


def extra_dirs(label: str) -> list[Path]:
    """The directories besides the app's own whose messages its catalogue holds."""
    return [Path(settings.BASE_DIR) / d for d in EXTRA_SOURCES.get(label, ())]


def catalogue_path(root: Path, locale: str) -> Path:
    """The catalogue of the app in directory `root`."""
    return root / "locale" / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def source_files(root: Path) -> Iterator[Path]:
    """The app's Python modules and templates (not its migrations or catalogues), sorted."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
        here = Path(dirpath)
        for name in sorted(filenames):
            if name.endswith(".py") or (
                name.endswith(TEMPLATE_SUFFIXES) and "templates" in here.relative_to(root).parts
            ):
                yield here / name


# ------------------------------------------------------------------------------- extraction


def _literal(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _call_name(node: ast.Call) -> str:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return ""


def extract_python(text: str, where: str) -> tuple[list[Message], list[ExtractionError]]:
    messages: list[Message] = []
    errors: list[ExtractionError] = []
    for node in ast.walk(ast.parse(text, filename=where)):
        if not isinstance(node, ast.Call) or _call_name(node) not in KEYWORDS:
            continue
        ctx_i, one_i, many_i = KEYWORDS[_call_name(node)]
        needed = [i for i in (ctx_i, one_i, many_i) if i is not None]
        if len(node.args) <= max(needed):
            continue  # not a message call (e.g. a method that happens to be called "_")
        values = {i: _literal(node.args[i]) for i in needed}
        ref = f"{where}:{node.lineno}"
        if any(v is None for v in values.values()):
            if any(isinstance(node.args[i], ast.JoinedStr) for i in needed):
                errors.append(ExtractionError(ref, "an f-string cannot be translated"))
            continue  # a variable: translated elsewhere, or on purpose at run time
        messages.append(
            Message(
                msgid=values[one_i] or "",
                msgid_plural=(values[many_i] or "") if many_i is not None else "",
                msgctxt=values[ctx_i] if ctx_i is not None else None,
                references=[where],
            )
        )
    return messages, errors


def _string_value(token: str) -> str:
    value = ast.literal_eval(token)
    return value if isinstance(value, str) else ""


def extract_template(text: str, where: str) -> tuple[list[Message], list[ExtractionError]]:
    """Messages of a template: Django's templatize turns its translation tags into gettext
    calls in otherwise blanked-out text, which is read here token by token (each line alone:
    the blanked text keeps the template's indentation, which is no Python)."""
    source = "\n".join(line.lstrip() for line in templatize(text, origin=where).splitlines())
    tokens = [
        t
        for t in tokenize.generate_tokens(io.StringIO(source + "\n").readline)
        if t.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT)
    ]
    messages: list[Message] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if (
            tok.type == tokenize.NAME
            and tok.string in KEYWORDS
            and i + 1 < len(tokens)
            and tokens[i + 1].string == "("
        ):
            args, i = _call_args(tokens, i + 2)
            ctx_i, one_i, many_i = KEYWORDS[tok.string]
            if len(args) > max(i for i in (ctx_i, one_i, many_i) if i is not None):
                messages.append(
                    Message(
                        msgid=args[one_i],
                        msgid_plural=args[many_i] if many_i is not None else "",
                        msgctxt=args[ctx_i] if ctx_i is not None else None,
                        references=[where],
                    )
                )
            continue
        i += 1
    return messages, []


def _call_args(tokens: list[tokenize.TokenInfo], i: int) -> tuple[list[str], int]:
    """The string arguments of a call whose "(" was just read (others as ""); the index after
    its ")"."""
    args: list[str] = []
    current: list[str] = []
    depth = 0
    while i < len(tokens):
        tok = tokens[i]
        i += 1
        if tok.string in "([{" and tok.type == tokenize.OP:
            depth += 1
        elif tok.string in ")]}" and tok.type == tokenize.OP:
            if depth == 0:
                break
            depth -= 1
        elif tok.string == "," and depth == 0:
            args.append("".join(current))
            current = []
            continue
        if tok.type == tokenize.STRING and depth == 0:
            current.append(_string_value(tok.string))
    args.append("".join(current))
    return args, i


def shown_path(path: Path) -> str:
    base = Path(settings.BASE_DIR)
    return str(path.relative_to(base) if path.is_relative_to(base) else path)


def extract_dir(
    root: Path, extra: Iterable[Path] = ()
) -> tuple[list[Message], list[ExtractionError]]:
    """Every message of the app in directory `root` (and of the `extra` directories), once per
    (context, msgid), references merged."""
    found: dict[Key, Message] = {}
    errors: list[ExtractionError] = []
    paths = [p for r in (root, *extra) for p in source_files(r)]
    for path in paths:
        where = shown_path(path)
        text = path.read_text(encoding="utf-8")
        extractor = extract_python if path.suffix == ".py" else extract_template
        messages, problems = extractor(text, where)
        errors.extend(problems)
        for message in messages:
            if not message.msgid:
                continue
            known = found.get(message.key)
            if known is None:
                found[message.key] = message
                continue
            if message.msgid_plural and not known.msgid_plural:
                known.msgid_plural = message.msgid_plural
            known.references.extend(r for r in message.references if r not in known.references)
    return sorted(found.values(), key=lambda m: (m.msgctxt or "", m.msgid)), errors


# ------------------------------------------------------------------------------- catalogues


def new_catalogue(locale: str) -> polib.POFile:
    po = polib.POFile(wrapwidth=100)
    po.metadata = {
        "Project-Id-Version": "kuscia-console",
        "Language": locale,
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
        "Plural-Forms": PLURAL_FORMS.get(locale, "nplurals=2; plural=(n != 1);"),
    }
    return po


def load_catalogue(path: Path, locale: str) -> polib.POFile:
    if not path.exists():
        return new_catalogue(locale)
    po = polib.pofile(str(path), wrapwidth=100)
    return po


def merge(po: polib.POFile, messages: Iterable[Message], nplurals: int) -> tuple[int, int]:
    """Bring the catalogue in line with the source: add new messages (untranslated), refresh
    references, keep translations, translators' comments and flags, and turn entries
    no longer in the source into obsolete ones. Returns (added, obsoleted)."""
    by_key: dict[Key, polib.POEntry] = {(e.msgctxt, e.msgid): e for e in po if not e.obsolete}
    obsolete: dict[Key, polib.POEntry] = {(e.msgctxt, e.msgid): e for e in po if e.obsolete}
    entries: list[polib.POEntry] = []
    added = 0
    for message in messages:
        entry = by_key.pop(message.key, None) or obsolete.pop(message.key, None)
        if entry is None:
            entry = polib.POEntry(msgid=message.msgid, msgctxt=message.msgctxt)
            added += 1
        entry.obsolete = False
        entry.occurrences = [(ref, "") for ref in message.references]
        if message.msgid_plural:
            entry.msgid_plural = message.msgid_plural
            entry.msgstr = ""
            entry.msgstr_plural = {n: entry.msgstr_plural.get(n, "") for n in range(nplurals)}
        else:
            entry.msgid_plural = ""
            entry.msgstr_plural = {}
        flags = [f for f in entry.flags if not f.startswith("python-")]
        flags += [f for f in _format_flags(message) if f not in flags]
        entry.flags = flags
        entries.append(entry)
    gone = list(by_key.values())
    for entry in gone:
        entry.obsolete = True
        entry.occurrences = []
    entries.extend(gone)
    entries.extend(obsolete.values())
    po[:] = entries
    return added, len(gone)


def _format_flags(message: Message) -> list[str]:
    from dashboard.catalogue_check import brace_placeholders, percent_placeholders

    texts = [message.msgid, message.msgid_plural]
    if any(percent_placeholders(t) for t in texts):
        return ["python-format"]
    if any(brace_placeholders(t) for t in texts):
        return ["python-brace-format"]
    return []


def nplurals_of(po: polib.POFile) -> int:
    forms = po.metadata.get("Plural-Forms", "")
    for part in forms.split(";"):
        name, _sep, value = part.strip().partition("=")
        if name.strip() == "nplurals" and value.strip().isdigit():
            return int(value)
    return 2


def update_app(label: str) -> list[str]:
    """`catalogues update`: one line of report per catalogue written."""
    root = app_dir(label)
    messages, errors = extract_dir(root, extra_dirs(label))
    if errors:
        raise ValueError("; ".join(f"{e.where}: {e.problem}" for e in errors))
    lines = []
    for locale in target_locales():
        path = catalogue_path(root, locale)
        po = load_catalogue(path, locale)
        added, obsoleted = merge(po, messages, nplurals_of(po))
        path.parent.mkdir(parents=True, exist_ok=True)
        po.save(str(path))
        untranslated = sum(1 for e in po if not e.obsolete and not e.translated())
        lines.append(
            f"{shown_path(path)}: {len(messages)} messages, {added} new, {obsoleted} obsolete, "
            f"{untranslated} to translate"
        )
    return lines


# ------------------------------------------------------------------------------- compiling


def all_catalogues() -> list[Path]:
    """Every catalogue of every installed app of this project (not of site-packages)."""
    base = Path(settings.BASE_DIR).resolve()
    venv = Path(sys.prefix).resolve()  # `make` puts the venv inside the checkout (.venv/)
    found: list[Path] = []
    for config in apps.get_app_configs():
        root = Path(config.path).resolve()
        ours = root.is_relative_to(base) and not root.is_relative_to(venv)
        if ours and (root / "locale").is_dir():
            found.extend(sorted((root / "locale").glob(f"*/LC_MESSAGES/{DOMAIN}.po")))
    return found


def is_stale(po_path: Path) -> bool:
    mo_path = po_path.with_suffix(".mo")
    return not mo_path.exists() or mo_path.stat().st_mtime < po_path.stat().st_mtime


def compile_catalogue(po_path: Path) -> Path:
    """The .mo beside the .po (fuzzy and untranslated entries left out, as msgfmt does),
    written to a temporary file first so that a running process never reads half a file."""
    mo_path = po_path.with_suffix(".mo")
    po = polib.pofile(str(po_path))
    fd, tmp = tempfile.mkstemp(dir=mo_path.parent, prefix=".", suffix=".mo")
    os.close(fd)
    try:
        po.save_as_mofile(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, mo_path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return mo_path


def compile_all(*, force: bool = False) -> list[Path]:
    """Compile the catalogues that need it; the .mo files written."""
    return [compile_catalogue(p) for p in all_catalogues() if force or is_stale(p)]


def compile_after_migrate(**kwargs: object) -> None:
    """post_migrate receiver: every way the console is set up migrates its database (`make run`,
    the Procfile's release step, the test database), so catalogues get compiled there too. A
    read-only tree is no error here: the system check below reports what is missing."""
    try:
        compile_all()
    except OSError as exc:
        log.warning("translation catalogues not compiled: %s", exc)


def check_compiled(**kwargs: object) -> list[CheckMessage]:
    """System check: a catalogue without an up-to-date .mo means pages in English only."""
    stale = [shown_path(p) for p in all_catalogues() if is_stale(p)]
    if not stale:
        return []
    return [
        Warning(
            f"translation catalogues not compiled or out of date: {', '.join(stale)}",
            hint="run `python manage.py catalogues compile`",
            id="dashboard.W001",
        )
    ]
