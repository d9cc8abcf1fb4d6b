"""Reading a stored log for the viewer without ever loading more than it shows.

A window (WINDOW lines at the end, or around a line) reads only the segments it overlaps,
found from the index (LogSegment.first_line). Search reads every segment once, in order, and
keeps only the numbers of the matching lines (a case-insensitive plain-text search: no regular
expressions from users); its result is cached per log size and query, so next/previous do not
search again.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field

from logs import storage
from logs.archive import is_error
from logs.models import LogSegment, TaskLog

WINDOW = 200
TAIL = 30  # the failure card's last lines
MAX_MATCH_LINES = 10_000  # line numbers kept per search (the count is always exact)
MAX_QUERY = 200


@dataclass
class Line:
    number: int  # 1-based
    text: str
    error: bool = False
    match: bool = False

    @property
    def shown(self) -> str:
        """The text as shown: a carriage return (progress bars) as a visible ␍, since HTML
        would turn it into a line break."""
        return self.text.replace("\r", "\u240d")


@dataclass
class Window:
    lines: list[Line]
    total: int  # lines in the log

    @property
    def first(self) -> int:
        return self.lines[0].number if self.lines else 0

    @property
    def last(self) -> int:
        return self.lines[-1].number if self.lines else 0

    @property
    def at_start(self) -> bool:
        return self.first <= 1

    @property
    def at_end(self) -> bool:
        return self.last >= self.total


@dataclass
class Search:
    query: str
    count: int = 0  # occurrences
    lines: list[int] = field(default_factory=list)  # 1-based numbers of matching lines
    capped: bool = False


def _text_lines(segment: LogSegment) -> list[str]:
    text = storage.read(segment.name).decode("utf-8", "replace")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _window(segments: list[LogSegment], start: int, end: int, total: int) -> Window:
    """Lines [start, end) (0-based) out of `segments` (ascending, covering that range)."""
    out: list[Line] = []
    for seg in segments:
        lo, hi = max(start, seg.first_line), min(end, seg.first_line + seg.lines)
        if lo >= hi:
            continue
        texts = _text_lines(seg)
        for i in range(lo, hi):
            text = texts[i - seg.first_line] if i - seg.first_line < len(texts) else ""
            out.append(Line(i + 1, text, error=is_error(text)))
    return Window(out, total)


def window_end(log: TaskLog, size: int = WINDOW) -> Window:
    """The last `size` lines (the view a log opens with, and the live tail)."""
    total = int(log.lines)
    start = max(total - size, 0)
    return window_range(log, start, total)


def window_at(log: TaskLog, line: int, size: int = WINDOW) -> Window:
    """`size` lines around line `line` (1-based), clamped to the log."""
    total = int(log.lines)
    line = min(max(line, 1), max(total, 1))
    start = max(min(line - 1 - size // 2, total - size), 0)
    return window_range(log, start, min(start + size, total))


def window_range(log: TaskLog, start: int, end: int) -> Window:
    if end <= start:
        return Window([], int(log.lines))
    segments = LogSegment.objects.covering(log, start, end)
    return _window(segments, start, end, int(log.lines))


# ---------------------------------------------------------------------------------- search

_cache: OrderedDict[tuple[int, int, int, str], Search] = OrderedDict()
_cache_lock = threading.Lock()
CACHE_SIZE = 32


def clean_query(query: str) -> str:
    """What is searched for: one line of at most MAX_QUERY characters."""
    return query.replace("\r", " ").replace("\n", " ").strip()[:MAX_QUERY]


def search(log: TaskLog, query: str) -> Search:
    query = clean_query(query)
    if not query:
        return Search(query)
    key = (log.pk, int(log.size), int(log.lines), query.casefold())
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    result = _search(log, query)
    with _cache_lock:
        _cache[key] = result
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return result


def _search(log: TaskLog, query: str) -> Search:
    """Every segment once, in order. An ASCII query is searched in the bytes, lowered (C
    speed: bytes.lower, bytes.find, bytes.count); others in the decoded, casefolded text."""
    found = Search(query)
    ascii_query = query.isascii()
    needle_b = query.lower().encode()
    pattern = re.compile(re.escape(query), re.IGNORECASE)
    for seg in LogSegment.objects.of_log(log):
        data = storage.read(seg.name)
        if ascii_query:
            positions = _find_all(data.lower(), needle_b)
            text: bytes | str = data
        else:
            text = data.decode("utf-8", "replace")
            positions = (m.start() for m in pattern.finditer(text))
        line, pos, last_line = seg.first_line + 1, 0, 0
        for start in positions:
            line += text.count(b"\n" if ascii_query else "\n", pos, start)  # type: ignore[arg-type]
            pos = start
            found.count += 1
            if line != last_line:
                last_line = line
                if len(found.lines) < MAX_MATCH_LINES:
                    found.lines.append(line)
                else:
                    found.capped = True
    return found


def _find_all(haystack: bytes, needle: bytes) -> Iterator[int]:
    start = haystack.find(needle)
    while start >= 0:
        yield start
        start = haystack.find(needle, start + len(needle))


def mark(window: Window, query: str) -> Window:
    """Flag the window's lines that contain the query."""
    query = clean_query(query).casefold()
    if query:
        for line in window.lines:
            line.match = query in line.text.casefold()
    return window


# ---------------------------------------------------------------------------------- whole log


def chunks(log: TaskLog) -> Iterator[bytes]:
    """The stored log, segment by segment (the download)."""
    for seg in LogSegment.objects.of_log(log):
        yield storage.read(seg.name)


def read_all(log: TaskLog) -> bytes:
    return b"".join(chunks(log))
