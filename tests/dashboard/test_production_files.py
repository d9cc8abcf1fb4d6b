"""The example process files in deploy/ and README's Production section describe the same
set-up: gunicorn, a poll worker (-Q celery, no embedded beat), a separate watch worker (-Q watch,
concurrency at least the number of connections) and exactly one beat."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def _procfile() -> dict[str, list[str]]:
    procs: dict[str, list[str]] = {}
    for line in (DEPLOY / "Procfile").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, command = line.split(":", 1)
            procs[name.strip()] = shlex.split(command.replace("${", "").replace("}", ""))
    return procs


def _exec_start(unit: str) -> list[str]:
    text = (DEPLOY / "systemd" / f"kuscia-console-{unit}.service").read_text()
    match = re.search(r"^ExecStart=(.*?)(?<!\\)$", text.replace("\\\n", " "), re.MULTILINE)
    assert match, unit
    return shlex.split(match.group(1))


def _option(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


def _check_celery_set(web: list[str], poll: list[str], watch: list[str], beat: list[str]) -> None:
    assert any("gunicorn" in a for a in web[:1]) and "dashboard.wsgi:application" in web
    for worker, queue in ((poll, "celery"), (watch, "watch")):
        assert worker[1:4] == ["-A", "dashboard", "worker"], worker
        assert _option(worker, "-Q") == queue, worker
        assert "-B" not in worker and "--beat" not in worker, "beat runs as its own process"
    assert _option(watch, "--concurrency") is not None, "watch needs one slot per connection"
    assert beat[1:4] == ["-A", "dashboard", "beat"], beat


def test_procfile_runs_web_poll_worker_watch_worker_and_one_beat():
    procs = _procfile()
    assert {"web", "worker", "watcher", "beat"} <= set(procs)
    _check_celery_set(procs["web"], procs["worker"], procs["watcher"], procs["beat"])
    assert "WATCH_CONCURRENCY" in (DEPLOY / "Procfile").read_text()


def test_systemd_units_match_and_the_target_starts_all_four():
    _check_celery_set(
        _exec_start("web"), _exec_start("worker"), _exec_start("watch"), _exec_start("beat")
    )
    wants = (DEPLOY / "systemd" / "kuscia-console.target").read_text()
    for unit in ("web", "worker", "watch", "beat"):
        assert f"kuscia-console-{unit}.service" in wants
    watch_unit = (DEPLOY / "systemd" / "kuscia-console-watch.service").read_text()
    assert "at least the number of kuscia connections" in watch_unit.replace("\n# ", " ").lower()


def test_readme_production_section_names_the_same_processes():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Production", 1)[1].split("\n## ", 1)[0]
    assert "gunicorn dashboard.wsgi:application" in section
    assert "-Q celery" in section and "-Q watch" in section
    assert "concurrency at least the number of connections" in section
    assert "exactly one" in section and "celery -A dashboard beat" in section
