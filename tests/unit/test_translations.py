"""The English catalogue is complete and compiled.

The UI speaks Chinese first; every gettext string must also read in English. These tests
parse backend/locale/en/LC_MESSAGES/django.po and fail when

- a msgid used in the sources (Python and templates, as `makemessages` finds them) is
  missing from the catalogue, or the catalogue keeps one no source uses (run
  `python manage.py makemessages -l en --ignore=.venv --ignore=tests --ignore=node_modules`);
- an entry has an empty msgstr or is marked fuzzy (translate it, remove the flag);
- a translation drops or adds a placeholder (%(name)s, %s, {name});
- the committed django.mo does not hold exactly the .po's translations (run
  `python manage.py compilemessages -l en --ignore=.venv`).
"""

from __future__ import annotations

import ast
import gettext
import io
import re
import tokenize
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.utils.translation.template import templatize

from tests.paths import REPO_ROOT

LOCALE_DIR = REPO_ROOT / "backend" / "locale" / "en" / "LC_MESSAGES"
PO_PATH = LOCALE_DIR / "django.po"
MO_PATH = LOCALE_DIR / "django.mo"

# What makemessages leaves out (its --ignore list plus its defaults: hidden files, caches).
SKIPPED_DIRS = {".venv", "tests", "node_modules", "var", "__pycache__", "test-artifacts"}
TEMPLATE_SUFFIXES = {".html", ".txt"}

# Django's xgettext keywords: name -> (context argument or None, msgid argument).
KEYWORDS: dict[str, tuple[int | None, int]] = {
    "_": (None, 0),
    "gettext": (None, 0),
    "gettext_lazy": (None, 0),
    "gettext_noop": (None, 0),
    "ngettext": (None, 0),
    "ngettext_lazy": (None, 0),
    "pgettext": (0, 1),
    "pgettext_lazy": (0, 1),
    "npgettext": (0, 1),
    "npgettext_lazy": (0, 1),
}

PERCENT_PLACEHOLDER = re.compile(r"%(?:\([^)]+\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")
BRACE_PLACEHOLDER = re.compile(r"\{[^{}]*\}")

MessageKey = tuple[str | None, str]  # (msgctxt, msgid)


@dataclass
class Entry:
    msgid: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    line: int = 0

    @property
    def key(self) -> MessageKey:
        return (self.msgctxt, self.msgid)


def _unquote(text: str, path: Path, line: int) -> str:
    value = ast.literal_eval(text.strip())
    if not isinstance(value, str):
        raise ValueError(f"{path}:{line}: not a quoted string: {text!r}")
    return value


def parse_po(path: Path) -> list[Entry]:
    """The active entries of a .po file (obsolete `#~` entries are left out), header first."""
    entries: list[Entry] = []
    current: Entry | None = None
    target: str | None = None  # the field a continuation line ("...") extends

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if line.startswith("#~"):
            continue
        keyword, _space, value = line.partition(" ")
        # A blank line, a comment after the strings, or a msgctxt/msgid that does not
        # follow this entry's msgctxt starts a new entry.
        starts_entry = not line or (
            target is not None
            and (
                line.startswith("#")
                or keyword == "msgctxt"
                or (keyword == "msgid" and target != "msgctxt")
            )
        )
        if starts_entry and current is not None:
            entries.append(current)
            current, target = None, None
        if not line:
            continue
        current = current or Entry(line=number)
        if line.startswith("#,"):
            current.flags |= {flag.strip() for flag in line[2:].split(",") if flag.strip()}
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            if target is None:
                raise ValueError(f"{path}:{number}: a continuation line without a field")
            addition = _unquote(line, path, number)
            if target == "msgctxt":
                current.msgctxt = (current.msgctxt or "") + addition
            elif target == "msgid":
                current.msgid += addition
            elif target == "msgid_plural":
                current.msgid_plural = (current.msgid_plural or "") + addition
            else:
                current.msgstr[int(target)] += addition
        elif keyword == "msgctxt":
            current.msgctxt, target = _unquote(value, path, number), "msgctxt"
        elif keyword == "msgid":
            current.msgid, target = _unquote(value, path, number), "msgid"
        elif keyword == "msgid_plural":
            current.msgid_plural, target = _unquote(value, path, number), "msgid_plural"
        elif match := re.fullmatch(r"msgstr(?:\[(\d+)\])?", keyword):
            index = int(match.group(1) or 0)
            current.msgstr[index], target = _unquote(value, path, number), str(index)
        else:
            raise ValueError(f"{path}:{number}: unexpected line {raw!r}")
    if current is not None:
        entries.append(current)
    return [e for e in entries if e.msgid or e.msgstr]


def _messages(entries: list[Entry]) -> list[Entry]:
    return [e for e in entries if e.msgid]  # without the header


def _source_files() -> Iterator[Path]:
    stack = [REPO_ROOT]
    while stack:
        folder = stack.pop()
        for path in sorted(folder.iterdir()):
            if path.name.startswith(".") or path.name.endswith("~"):
                continue
            if path.is_dir():
                if path.name not in SKIPPED_DIRS and not path.name.endswith(".egg-info"):
                    stack.append(path)
            elif path.suffix == ".py" or path.suffix in TEMPLATE_SUFFIXES:
                yield path


def _literal(argument: list[tokenize.TokenInfo]) -> str | None:
    """The text of an argument made only of string literals (adjacent ones are joined, as
    xgettext joins them); None for anything else, f-strings included."""
    if not argument or any(t.type != tokenize.STRING for t in argument):
        return None
    text = ""
    for token in argument:
        if re.match(r"[a-zA-Z]*[fF]", token.string):
            return None
        value = ast.literal_eval(token.string)
        if not isinstance(value, str):
            return None
        text += value
    return text


def _calls(code: str) -> Iterator[MessageKey]:
    """(context, msgid) of every gettext-family call whose message is a literal string."""
    skipped = {tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT}
    tokens = [
        t for t in tokenize.generate_tokens(io.StringIO(code).readline) if t.type not in skipped
    ]
    for i, token in enumerate(tokens[:-1]):
        if token.type != tokenize.NAME or token.string not in KEYWORDS:
            continue
        if (i > 0 and tokens[i - 1].string in {".", "def", "class"}) or tokens[i + 1].string != "(":
            continue
        arguments: list[list[tokenize.TokenInfo]] = [[]]
        depth = 0
        for current in tokens[i + 2 :]:
            if current.string in {"(", "[", "{"}:
                depth += 1
            elif current.string in {")", "]", "}"}:
                if depth == 0:
                    break
                depth -= 1
            elif current.string == "," and depth == 0:
                arguments.append([])
                continue
            arguments[-1].append(current)
        context_at, msgid_at = KEYWORDS[token.string]
        if len(arguments) <= msgid_at:
            continue
        msgid = _literal(arguments[msgid_at])
        context = _literal(arguments[context_at]) if context_at is not None else None
        if msgid and (context_at is None or context is not None):
            yield (context, msgid)


def source_messages() -> set[MessageKey]:
    found: set[MessageKey] = set()
    for path in _source_files():
        text = path.read_text(encoding="utf-8")
        if path.suffix in TEMPLATE_SUFFIXES:
            if "{%" not in text:
                continue
            text = templatize(text, origin=str(path))
        found |= set(_calls(text))
    return found


def _placeholders(pattern: re.Pattern[str], text: str) -> Counter[str]:
    return Counter(pattern.findall(text))


@pytest.fixture(scope="module")
def entries() -> list[Entry]:
    return parse_po(PO_PATH)


def test_the_catalogue_holds_every_source_string(entries: list[Entry]) -> None:
    in_sources = source_messages()
    in_catalogue = {e.key for e in _messages(entries)}
    assert in_sources, "no gettext call found: the source scan is broken"
    missing = sorted(in_sources - in_catalogue, key=str)
    unused = sorted(in_catalogue - in_sources, key=str)
    assert missing == [], f"run makemessages -l en: strings not in {PO_PATH.name}: {missing}"
    assert unused == [], f"run makemessages -l en: strings no source uses: {unused}"


def test_every_entry_is_translated_and_checked(entries: list[Entry]) -> None:
    header = [e for e in entries if not e.msgid]
    assert header and "fuzzy" not in header[0].flags, "the header is fuzzy"
    messages = _messages(entries)
    assert len(messages) > 100, "the .po file parsed to almost nothing"
    empty = [
        f"line {e.line}: {e.msgid}"
        for e in messages
        if any(
            not e.msgstr.get(index, "").strip()
            for index in ((0, 1) if e.msgid_plural is not None else (0,))
        )
    ]
    fuzzy = [f"line {e.line}: {e.msgid}" for e in messages if "fuzzy" in e.flags]
    assert empty == [], f"untranslated entries in {PO_PATH}: {empty}"
    assert fuzzy == [], f"fuzzy entries in {PO_PATH} (check them, drop the flag): {fuzzy}"


def test_translations_keep_their_placeholders(entries: list[Entry]) -> None:
    wrong: list[str] = []
    for e in _messages(entries):
        for flag, pattern in (
            ("python-format", PERCENT_PLACEHOLDER),
            ("python-brace-format", BRACE_PLACEHOLDER),
        ):
            if flag not in e.flags:
                continue
            wanted = _placeholders(pattern, e.msgid)
            wanted_plural = _placeholders(pattern, e.msgid_plural or e.msgid)
            for index, text in e.msgstr.items():
                expected = wanted if index == 0 else wanted_plural
                if text and _placeholders(pattern, text) != expected:
                    wrong.append(f"line {e.line}: {e.msgid!r} -> {text!r}")
    assert wrong == [], f"placeholders differ between msgid and msgstr: {wrong}"


def test_the_compiled_catalogue_matches_the_po_file(entries: list[Entry]) -> None:
    with MO_PATH.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    expected: dict[object, str] = {}
    for e in _messages(entries):
        if "fuzzy" in e.flags:  # msgfmt leaves fuzzy entries out
            continue
        msgid = e.msgid if e.msgctxt is None else f"{e.msgctxt}\x04{e.msgid}"
        if e.msgid_plural is None:
            expected[msgid] = e.msgstr.get(0, "")
        else:
            for index, text in e.msgstr.items():
                expected[(msgid, index)] = text
    expected = {key: text for key, text in expected.items() if text}  # msgfmt omits empty ones
    actual = {key: text for key, text in compiled._catalog.items() if key != ""}  # type: ignore[attr-defined]
    stale = sorted(
        str(key) for key in expected.keys() | actual.keys() if expected.get(key) != actual.get(key)
    )
    assert stale == [], (
        f"{MO_PATH.name} differs from {PO_PATH.name} (run compilemessages -l en): {stale[:20]}"
    )
    # Through the public API too: a translated string reads in English.
    sample = next(e for e in _messages(entries) if e.msgctxt is None and e.msgid_plural is None)
    assert compiled.gettext(sample.msgid) == sample.msgstr[0]
