"""Kuscia's task-log stream (`/api/v1/log/task/query`) as lines, closable from another thread.

What the node sends (kuscia-log-api.md §4): concatenated JSON objects, each
`{"status":{"message":"success"},"log":"line\\nline"}` — up to 100 lines joined by "\\n", no
trailing newline, no separator between objects. Go's encoding/json omits an empty `log`, so a
success object without `log` is exactly one empty line. An error arrives as one object with a
status code (HTTP 200) and ends the stream. With `follow`, the stream starts at the beginning of
the file and never ends by itself: the reader decides when to stop and calls `close()`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from kuscia import wire
from kuscia.errors import KusciaError, KusciaMalformed
from kuscia.stream import ClosableStream, ObjectDecoder

ROUTE = "/api/v1/log/task/query"
APP_IMAGE_ROUTE = "/api/v1/appimage/query"

OpenFn = Callable[[], httpx.Response]
MapFn = Callable[[BaseException, str], KusciaError]
CheckFn = Callable[[dict[str, object]], None]


def chunk_lines(obj: dict[str, object]) -> list[str]:
    """The lines one success object carries ("\\n"-joined; absent `log` = one empty line)."""
    log = obj.get("log", "")
    if not isinstance(log, str):
        raise KusciaMalformed("log chunk is not a string", route=ROUTE)
    return log.split("\n")


class TaskLogStream(ClosableStream):
    """Iterate to get lists of lines (one list per object). `close()` ends it from anywhere.

    objects: objects received so far; bytes_read: body bytes received so far.
    """

    route = ROUTE

    def __init__(self, open_fn: OpenFn, map_error: MapFn, check_status: CheckFn) -> None:
        self._open_fn = open_fn
        self._map_error = map_error
        self._check_status = check_status
        self._response: httpx.Response | None = None
        self._closed = False
        self.objects = 0
        self.bytes_read = 0

    def __enter__(self) -> TaskLogStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[list[str]]:
        if self._closed:
            return
        response = self._open_fn()
        self._response = response
        if self._closed:  # closed while opening
            response.close()
            return
        decoder = ObjectDecoder()
        try:
            for data in response.iter_bytes():
                self.bytes_read += len(data)
                for obj in decoder.feed(data):
                    self.objects += 1
                    self._check_status(wire.obj(obj.get("status"), "status"))
                    yield chunk_lines(obj)
            if not self._closed:
                decoder.finish()
        except KusciaMalformed as exc:
            if self._closed:
                return
            exc.route = ROUTE
            raise
        except httpx.HTTPError as exc:
            if self._closed:
                return  # close() (maybe from another thread) ends the stream quietly
            raise self._map_error(exc, "read") from None
        finally:
            response.close()
            if self._response is response:
                self._response = None


# ---------------------------------------------------------------- which containers

# A pod with several containers has one log per container, and the log API then wants the
# container named: "task's deploy container larger than 1, please specify the container name"
# (an autonomy node; a lite reads whichever file it finds first). The names are those of the
# task's AppImage deploy template for the party's role (the first template when the role is
# empty): pkg/kusciaapi/service/log_service.go, validateQueryRequest. /api/v1/appimage/query
# answers on a master and an autonomy node (a lite: 11104).


@dataclass(frozen=True)
class DeployTemplate:
    role: str
    replicas: int
    containers: tuple[str, ...]


def _key(o: dict[str, Any], snake: str) -> Any:
    if snake in o:
        return o[snake]
    head, *rest = snake.split("_")
    return o.get(head + "".join(p[:1].upper() + p[1:] for p in rest))


def parse_deploy_templates(data: Any) -> tuple[DeployTemplate, ...]:
    """The deploy templates of a QueryAppImageResponse's `data`."""
    where = APP_IMAGE_ROUTE
    templates = _key(wire.obj(data, "data"), "deploy_templates") or []
    if not isinstance(templates, list):
        raise KusciaMalformed("deploy_templates is not a list", route=where)
    out: list[DeployTemplate] = []
    for raw in templates:
        t = wire.obj(raw, "deploy_template")
        containers = _key(t, "containers") or []
        if not isinstance(containers, list):
            raise KusciaMalformed("containers is not a list", route=where)
        names = tuple(str(wire.obj(c, "container").get("name", "")) for c in containers)
        replicas = _key(t, "replicas")
        role = t.get("role", "")
        out.append(
            DeployTemplate(
                role if isinstance(role, str) else "",
                replicas if isinstance(replicas, int) else 1,
                names,
            )
        )
    return tuple(out)


def containers_for(templates: Sequence[DeployTemplate], role: str) -> tuple[str, ...]:
    """The containers of a party's pods: its role's template, the first one for no role."""
    if not role:
        return templates[0].containers if templates else ()
    return next((t.containers for t in templates if t.role == role), ())
