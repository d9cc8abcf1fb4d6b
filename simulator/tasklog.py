"""What a SecretFlow task writes to its container log, per party: the simulator's pod log files.

Lines are bytes as in the file, without their "\\n" (Kuscia strips only that, kuscia-log-api.md
§4): so a tqdm progress bar keeps its "\\r"s, a data preview can hold bytes that are not UTF-8,
and one line (the input preview) is over 10 KB. A failing party ends with a Python traceback;
its peers log the lost link. `go_string` turns a line into what Go's encoding/json sends.
"""

from __future__ import annotations

import hashlib
import re

from .clock import rfc3339

SF = "/usr/local/lib/python3.10/site-packages/secretflow"
PREVIEW_ROWS = 480  # rows in the input preview line: about 12 KB


def _stamp(at: float) -> str:
    millis = int(at * 1000) % 1000
    return rfc3339(at).replace("T", " ").rstrip("Z") + f".{millis:03d}"


def _line(at: float, level: str, party: str, where: str, text: str) -> bytes:
    return f"{_stamp(at)} {level} [{party}] {where} - {text}".encode()


def _preview(party: str, task_id: str) -> bytes:
    """A CSV preview of the party's input, as SecretFlow's reader logs it (one long line)."""
    seed = hashlib.sha256(f"{party}/{task_id}".encode()).digest()
    rows = []
    for i in range(PREVIEW_ROWS):
        b = seed[i % len(seed)]
        rows.append(f"{party[:1]}{i:05d},{20 + b % 50},{b / 255:.6f},{'yes' if b % 2 else 'no'}")
    return " | ".join(rows).encode()


def start_lines(at: float, party: str, task_id: str, job_id: str, peers: list[str]) -> list[bytes]:
    return [
        _line(at, "INFO", party, "entry.py:64", f"start task {task_id} of job {job_id}"),
        _line(at, "INFO", party, "cluster.py:118", f"ray fed cluster initialized, party={party}"),
        _line(
            at,
            "INFO",
            party,
            "link.py:210",
            f"brpc link established with all parties: {','.join(peers)}",
        ),
        _line(at, "INFO", party, "io.py:152", "input preview: ") + _preview(party, task_id),
        # a column read as bytes that are not UTF-8 (a latin-1 file): kept as they are
        _line(at, "WARNING", party, "io.py:171", "non UTF-8 values in column 'education': ")
        + b"caf\xe9, cr\xe8me, \xff\xfe",
    ]


def progress_lines(at: float, party: str, alias: str, pct: int) -> list[bytes]:
    return [_line(at, "INFO", party, "component.py:212", f"{alias} progress {pct}%")]


def replica_line(at: float, party: str, replica: int, replicas: int) -> bytes:
    """The first line of replica `replica` (> 0): its pod's own log."""
    return _line(at, "INFO", party, "entry.py:58", f"replica {replica} of {replicas} started")


def filler_lines(at: float, party: str, alias: str, pct: int, size: int) -> list[bytes]:
    """About `size` bytes of training batches (custom field sim-log-kb: large logs)."""
    out: list[bytes] = []
    batch = total = 0
    while total < size:
        line = _line(
            at,
            "DEBUG",
            party,
            "sgd.py:118",
            f"{alias} epoch {pct:03d} batch {batch:05d} loss={1 / (pct + batch + 1):.6f}",
        )
        out.append(line)
        total += len(line) + 1
        batch += 1
    return out


def sidecar_lines(at: float, party: str, pod: str, container: str) -> list[bytes]:
    """The log of a pod's second container (an AppImage with a sidecar)."""
    return [
        f"{_stamp(at)} [{container}] starting for pod {party}/{pod}".encode(),
        f"{_stamp(at)} [{container}] watching /home/kuscia/var/logs of {party}".encode(),
    ]


def done_lines(at: float, party: str, task_id: str, alias: str) -> list[bytes]:
    bar = "\r".join(
        f"{p:3d}%|{'#' * (p // 10):<10}| {p // 25}/4 [00:0{p // 25}<00:0{4 - p // 25}]"
        for p in (0, 25, 50, 75, 100)
    )
    return [
        ("\r" + bar).encode(),  # tqdm redraws its bar with "\r" and ends with one "\n"
        _line(at, "INFO", party, "component.py:301", f"{alias} finished, outputs written"),
        _line(at, "INFO", party, "entry.py:99", f"task {task_id} succeeded"),
    ]


def _engine_message(party_error: str) -> str:
    """The exception text inside Kuscia's container termination message, if any."""
    found = re.search(r'message: "(.*)"\s*$', party_error, re.DOTALL)
    inner = found.group(1) if found else party_error
    return inner.replace('\\"', '"').strip()


def failure_lines(
    at: float, party: str, task_id: str, culprit: str, party_error: str
) -> list[bytes]:
    """The failing party's traceback, or a peer's view of the failure."""
    if party != culprit:
        return [
            _line(
                at,
                "ERROR",
                party,
                "link.py:240",
                f"peer {culprit} closed the connection: [E1014]Got EOF",
            ),
            _line(at, "ERROR", party, "entry.py:120", f"task {task_id} failed"),
        ]
    message = _engine_message(party_error)
    out = [_line(at, "ERROR", party, "entry.py:120", f"task {task_id} failed")]
    if not message:  # killed without a word (OOMKilled)
        return [*out, _line(at, "ERROR", party, "entry.py:121", party_error)]
    if ":" not in message.split("\n", 1)[0]:
        message = f"RuntimeError: {message}"
    trace = [
        "Traceback (most recent call last):",
        f'  File "{SF}/kuscia/entry.py", line 531, in main',
        "    res = comp_eval(sf_node_eval_param, storage_config, sf_cluster_config)",
        f'  File "{SF}/component/entry.py", line 109, in comp_eval',
        "    res = definition.eval(param, storage_config=storage_config, "
        "cluster_config=cluster_config)",
        f'  File "{SF}/component/component.py", line 1022, in eval',
        "    ret = self.__eval_callback(ctx=ctx, **kwargs)",
        *message.splitlines(),
    ]
    return out + [t.encode() for t in trace]


def go_string(raw: bytes) -> str:
    """Go's encoding/json view of bytes: every byte that is not part of valid UTF-8 becomes
    U+FFFD (one per byte, unlike Python's "replace", which may merge several)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    out, i = [], 0
    while i < len(raw):
        for size in (1, 2, 3, 4):
            try:
                out.append(raw[i : i + size].decode("utf-8"))
            except UnicodeDecodeError:
                continue
            i += size
            break
        else:
            out.append("\ufffd")
            i += 1
    return "".join(out)
