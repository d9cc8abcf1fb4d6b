"""logs.archive: lines in, the node's file out — replayed after a restart without duplicates or
gaps, rewritten where the node now sends something else, capped with a visible notice, and
written by one owner only."""

from __future__ import annotations

import pytest

from logs import storage, viewer
from logs.archive import Archive, Lost, claim, encode
from logs.models import LogSegment, TaskLog

pytestmark = pytest.mark.django_db

LINES = [
    f"2025-04-16 10:42:{i % 60:02d},000|alice|INFO|secretflow|x.py:f:1| line {i}"
    for i in range(500)
]


def open_archive(log: TaskLog, **kw) -> Archive:
    log = TaskLog.objects.get(pk=log.pk)  # each follower reads its own row
    claim(log)
    kw.setdefault("segment_bytes", 4096)
    return Archive(log, **kw)


def stored(log: TaskLog) -> bytes:
    log.refresh_from_db()
    return viewer.read_all(log)


def names(log: TaskLog) -> list[str]:
    return list(LogSegment.objects.filter(log=log).order_by("seq").values_list("name", flat=True))


def test_lines_become_the_file_in_sealed_segments(task_log):
    a = open_archive(task_log)
    for i in range(0, 500, 100):
        a.feed(LINES[i : i + 100])
    a.finish(authoritative=True, state=TaskLog.State.COMPLETE)
    assert stored(task_log) == encode(LINES)
    segs = list(LogSegment.objects.filter(log=task_log).order_by("seq"))
    assert len(segs) > 5 and all(s.sealed for s in segs[:-1])
    assert [s.first_line for s in segs] == [
        sum(x.lines for x in segs[:i]) for i in range(len(segs))
    ]
    task_log.refresh_from_db()
    assert (task_log.lines, task_log.size) == (500, len(encode(LINES)))
    assert task_log.state == "complete" and task_log.finished_at is not None


def test_a_replay_of_the_same_lines_stores_nothing_again(task_log):
    a = open_archive(task_log)
    a.feed(LINES[:333])
    a.flush()
    before = names(task_log)
    b = open_archive(task_log)  # a new follower: the node sends everything again, then more
    for i in range(0, 500, 100):
        b.feed(LINES[i : i + 100])
    b.flush()
    after = names(task_log)
    assert after[: len(before) - 1] == before[:-1]  # sealed segments untouched
    assert stored(task_log) == encode(LINES)


def test_a_line_split_by_a_follow_read_is_rewritten_by_the_final_read(task_log):
    followed = [*LINES[:200], "half of a line ", "written later", *LINES[200:300]]
    a = open_archive(task_log)
    a.feed(followed)
    a.flush()
    whole = [*LINES[:200], "half of a line written later", *LINES[200:300]]
    b = open_archive(task_log)
    b.feed(whole)
    b.finish(authoritative=True, state=TaskLog.State.COMPLETE)
    assert stored(task_log) == encode(whole)
    task_log.refresh_from_db()
    assert task_log.lines == len(whole)


def test_a_shorter_file_drops_what_the_node_no_longer_has(task_log):
    a = open_archive(task_log)
    a.feed(LINES[:400])
    a.flush()
    b = open_archive(task_log)
    b.feed(LINES[:250])
    b.finish(authoritative=True, state=TaskLog.State.COMPLETE)
    assert stored(task_log) == encode(LINES[:250])


def test_a_follow_read_closed_early_changes_nothing(task_log):
    a = open_archive(task_log)
    a.feed(LINES[:400])
    a.flush()
    b = open_archive(task_log)
    b.feed(LINES[:120])  # then the stream was closed
    b.finish(authoritative=False, state="")
    assert stored(task_log) == encode(LINES[:400])


def test_the_cap_keeps_the_start_and_says_so(task_log):
    a = open_archive(task_log, max_bytes=10_000)
    a.feed(LINES)
    a.finish(authoritative=True, state=TaskLog.State.COMPLETE)
    task_log.refresh_from_db()
    assert task_log.state == "truncated"
    data = stored(task_log)
    body, notice = data[:-1].rsplit(b"\n", 1)
    assert len(body) + 1 <= 10_000 and encode(LINES).startswith(body)
    assert b"Log truncated" in notice and b"KC_LOG_MAX_BYTES" in notice
    more = open_archive(task_log, max_bytes=10_000)
    more.feed(LINES)  # a truncated log takes no more lines
    assert stored(task_log) == data


def test_only_the_owner_writes(task_log):
    a = open_archive(task_log)
    a.feed(LINES[:50])
    a.flush()
    claim(TaskLog.objects.get(pk=task_log.pk))  # another follower took over
    a.feed(LINES[50:60])
    with pytest.raises(Lost):
        a.flush()
    assert stored(task_log) == encode(LINES[:50])
    assert not a.touch()


def test_orphans_of_a_crash_are_removed(task_log):
    a = open_archive(task_log)
    a.feed(LINES[:10])
    a.flush()
    orphan = storage.write_segment(task_log.prefix, 99, b"written, never committed\n")
    open_archive(task_log)
    assert orphan not in storage.names_under(task_log.prefix)
    assert stored(task_log) == encode(LINES[:10])


def test_first_error_line_and_empty_lines(task_log):
    lines = [
        "",
        "ok",
        "",
        "2025|bob|ERROR|secretflow|e.py:m:1| task failed",
        "Traceback (most recent call last):",
        "",
    ]
    a = open_archive(task_log)
    a.feed(lines)
    a.finish(authoritative=True, state=TaskLog.State.COMPLETE)
    task_log.refresh_from_db()
    assert task_log.first_error_line == 4
    assert stored(task_log) == ("\n".join(lines) + "\n").encode()


def test_viewer_windows_and_search(task_log):
    a = open_archive(task_log)
    a.feed([*LINES, "caf\ufffd \u00e9t\u00e9 <script>alert(1)</script>"])
    a.finish(authoritative=True, state=TaskLog.State.COMPLETE)
    task_log.refresh_from_db()
    end = viewer.window_end(task_log, 50)
    assert [line.number for line in end.lines] == list(range(452, 502)) and end.at_end
    assert end.lines[-1].text.startswith("caf\ufffd")
    around = viewer.window_at(task_log, 10, 50)
    assert around.first == 1 and around.lines[9].text == LINES[9]
    found = viewer.search(task_log, "LINE 49")
    assert found.count == 11  # line 49, 490..499
    assert found.lines == [50, *range(491, 501)]
    assert viewer.search(task_log, "\u00c9T\u00c9").lines == [501]
