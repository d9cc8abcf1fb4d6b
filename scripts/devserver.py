"""`make run`: the whole console on one machine, supervised by one process.

Steps, each idempotent so that running it again reuses what exists:
1. compile the translation catalogues and migrate the database (SQLite under var/ unless
   DATABASE_URL is set); pages show times in the machine's time zone unless DJANGO_TIME_ZONE
   is set;
2. unless KUSCIA_API_URL is set, create the simulator's certificates in KUSCIA_CERT_DIR
   (default var/simulator-certs) and start the Kuscia simulator with demo jobs on
   KUSCIA_SIM_PORT (default 18082) as the master, with a lite node per demo domain on the
   next ports (alice 18083, bob 18084, carol 18085); add a connection per lite and run the
   connection check of every connection, so that the console knows the master and its lites
   (each party's task logs come from its lite);
3. start a Celery worker with an embedded beat (filesystem broker when REDIS_URL is unset) and
   a worker for the task-log followers (queue `logs`, threads);
4. start the web server on PORT (default 8000): Django's runserver, or gunicorn with
   KC_WEB=gunicorn;
5. create or refresh the demo operator account and print the URL and its credentials.

One Ctrl-C (SIGINT) or SIGTERM stops every child process, and only that does. A child that
dies on its own (the simulator, the worker, the web server) is started again after a back-off
(1 s, doubling up to 30 s; back to 1 s once it has run for a minute), and the output says so:
the console stays up to show "Kuscia unreachable" while the simulator is down.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(PYTHON).parent
STOP_GRACE_SECONDS = 8.0
# Celery's warm shutdown with the filesystem broker takes about 7 s (its loop and pool threads
# wake once a second); the watch itself closes at once (jobs.tasks.stop_watching_on_shutdown).
ESCALATE_SECONDS = 10.0
# Restarting a child that died: wait 1 s, doubling for each quick death up to the maximum; a child
# that ran this long before dying counts as healthy again.
RESTART_FIRST_SECONDS = 1.0
RESTART_MAX_SECONDS = 30.0
RESTART_HEALTHY_SECONDS = 60.0


def restart_delay(quick_deaths: int) -> float:
    """Back-off before the next start of a child that died `quick_deaths` times in a row soon
    after being started (1 for the first death)."""
    return min(RESTART_MAX_SECONDS, RESTART_FIRST_SECONDS * 2 ** max(quick_deaths - 1, 0))


def log(message: str) -> None:
    print(f"[make run] {message}", flush=True)


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    # Sent when SIGTERM has not stopped the child after ESCALATE_SECONDS (Celery's warm
    # shutdown waits for the long-running watch task; SIGQUIT is its cold shutdown).
    escalate: signal.Signals | None = field(default=None)
    started_at: float = 0.0
    quick_deaths: int = 0  # deaths in a row, each within RESTART_HEALTHY_SECONDS of its start
    restart_at: float | None = None  # when a dead child is started again


class Supervisor:
    """Starts children in their own process groups, starts again those that die (supervise),
    and stops them all together."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.children: list[Child] = []
        self.stop_requested = False
        self.stop_signal = ""
        self.reminder = ""  # the URL and login, said again after a restart's messages

    def start(self, name: str, argv: list[str], escalate: signal.Signals | None = None) -> Child:
        log(f"starting {name}: {' '.join(argv)}")
        child = Child(name, argv, escalate=escalate)
        self.children.append(child)
        self._spawn(child)
        return child

    def _spawn(self, child: Child) -> None:
        child.process = subprocess.Popen(child.argv, cwd=ROOT, env=self.env, start_new_session=True)
        child.started_at = time.monotonic()
        child.restart_at = None
        log(f"{child.name} running (pid {child.process.pid})")

    def supervise(self) -> None:
        """One round: schedule a restart of each child that died, start those that are due."""
        now = time.monotonic()
        for child in self.children:
            proc = child.process
            if proc is None or proc.poll() is None:
                continue
            if child.restart_at is None:
                ran = now - child.started_at
                child.quick_deaths = 1 if ran >= RESTART_HEALTHY_SECONDS else child.quick_deaths + 1
                delay = restart_delay(child.quick_deaths)
                child.restart_at = now + delay
                log(
                    f"{child.name} (pid {proc.pid}) exited with status {proc.returncode} after "
                    f"{ran:.0f}s; restarting it in {delay:g}s"
                )
                # What the dead child left in its process group (e.g. Celery pool processes).
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
            elif now >= child.restart_at:
                log(f"restarting {child.name}")
                self._spawn(child)
                if self.reminder:
                    log(self.reminder)

    def request_stop(self, signum: int, _frame: FrameType | None) -> None:
        self.stop_requested = True
        self.stop_signal = signal.Signals(signum).name

    def stop_all(self) -> None:
        """SIGTERM each process group (newest first), wait, then SIGKILL what is left."""
        for child in reversed(self.children):
            proc = child.process
            if proc is None or proc.poll() is not None:
                continue
            log(f"stopping {child.name} (pid {proc.pid})")
            with contextlib.suppress(ProcessLookupError):
                # Celery: only its main process, which stops its pool itself (warm shutdown);
                # SIGTERM to the group would kill pool processes in the middle of a task.
                if child.escalate:
                    os.kill(proc.pid, signal.SIGTERM)
                else:
                    os.killpg(proc.pid, signal.SIGTERM)
        escalate_at = time.monotonic() + ESCALATE_SECONDS
        for child in self.children:
            proc = child.process
            if proc is None or child.escalate is None:
                continue
            try:
                proc.wait(timeout=max(0.1, escalate_at - time.monotonic()))
            except subprocess.TimeoutExpired:
                log(f"{child.name} is still busy; sending {child.escalate.name}")
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, child.escalate)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in reversed(self.children):
            proc = child.process
            if proc is None or child.restart_at is not None:
                continue  # (dead and waiting to be restarted: its group was killed then)
            # An escalated child already had its chance: a few more seconds, not the full grace.
            limit = (
                min(deadline, time.monotonic() + ESCALATE_SECONDS) if child.escalate else deadline
            )
            try:
                proc.wait(timeout=max(0.1, limit - time.monotonic()))
            except subprocess.TimeoutExpired:
                log(f"{child.name} did not stop; killing it")
            # Kill leftovers in the group too (e.g. prefork pool children, runserver reloader).
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def port_answers(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout):
            return True
    except OSError:
        return False


def wait_for_port(sup: Supervisor, child: Child, host: str, port: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if sup.stop_requested or (child.process is not None and child.process.poll() is not None):
            return False
        if port_answers(host, port):
            return True
        time.sleep(0.2)
    return False


def verbose(env: dict[str, str]) -> bool:
    """KC_VERBOSE=1 (or an explicit LOG_LEVEL): every child's log lines, as before. Otherwise
    `make run` is quiet: warnings and errors only, so the URL and the demo login stay on
    screen instead of scrolling away under the worker's INFO lines (about two a second)."""
    flag = env.get("KC_VERBOSE", "").strip().lower() in {"1", "true", "yes", "on"}
    return flag or bool(env.get("LOG_LEVEL"))


def quiet_env(env: dict[str, str]) -> dict[str, str]:
    """The children's environment in quiet mode: log level WARNING for every process, no line
    per request (a 404 is a warning), no runserver warning banner, and no Celery warning about
    running as root (the supervisor says what matters itself)."""
    if verbose(env):
        return env
    return {
        **env,
        "LOG_LEVEL": "WARNING",
        "KC_REQUEST_LOG_LEVEL": "ERROR",  # no line per request, nor per 404
        "DJANGO_RUNSERVER_HIDE_WARNING": "true",
        "PYTHONWARNINGS": "ignore::UserWarning:celery.platforms",
    }


def output_line(env: dict[str, str]) -> str:
    if verbose(env):
        return "Output: every log line (KC_VERBOSE or LOG_LEVEL is set)."
    return "Output: warnings and errors only (KC_VERBOSE=1 make run shows every log line)."


def debug_line(env: dict[str, str]) -> str:
    if env.get("KC_DEBUG", "").strip().lower() in {"1", "true", "yes", "on"}:
        return "Debug pages: ON (KC_DEBUG) - do not expose this server."
    return "Debug pages: off (KC_DEBUG=1 turns them on)."


def manage(env: dict[str, str], *args: str, capture: bool = False) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.PIPE if capture else None,
        text=True,
    )
    return result.stdout or ""


def demo_password(var_dir: Path) -> str:
    """A random demo password, created once and kept in var/ (mode 0600) so re-runs reuse it."""
    path = var_dir / "demo-password"
    if path.exists():
        value = path.read_text().strip()
        if value:
            return value
    value = secrets.token_urlsafe(12)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def machine_time_zone(localtime: Path = Path("/etc/localtime")) -> str:
    """The machine's IANA zone name: $TZ, else where /etc/localtime points, else
    /etc/timezone; UTC when none of them names a zone Python knows."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    with contextlib.suppress(OSError):
        target = str(localtime.resolve())
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    with contextlib.suppress(OSError):
        candidates.append((localtime.parent / "timezone").read_text().strip())
    for name in candidates:
        if not name:
            continue
        with contextlib.suppress(zoneinfo.ZoneInfoNotFoundError, ValueError):
            zoneinfo.ZoneInfo(name)
            return name
    return "UTC"


def build_env() -> tuple[dict[str, str], Path]:
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")
    env.setdefault("DJANGO_TIME_ZONE", machine_time_zone())
    env["PYTHONUNBUFFERED"] = "1"
    var_dir = Path(env.get("KC_VAR_DIR", str(ROOT / "var"))).resolve()
    env["KC_VAR_DIR"] = str(var_dir)
    env.setdefault("KUSCIA_CERT_DIR", str(var_dir / "simulator-certs"))
    # Kuscia request metrics from the worker and the web server land in one shared directory.
    env.setdefault("PROMETHEUS_MULTIPROC_DIR", str(var_dir / "metrics"))
    return env, var_dir


def prepare_dirs(env: dict[str, str], var_dir: Path) -> None:
    var_dir.mkdir(parents=True, exist_ok=True)
    for sub in ("broker/queue", "broker/processed"):
        (var_dir / sub).mkdir(parents=True, exist_ok=True)
    metrics_dir = Path(env["PROMETHEUS_MULTIPROC_DIR"])
    metrics_dir.mkdir(parents=True, exist_ok=True)
    # Multiprocess metric files belong to the previous run's (now dead) processes.
    for stale in metrics_dir.glob("*.db"):
        stale.unlink()


def ensure_sim_certs(cert_dir: Path) -> None:
    sys.path.insert(0, str(ROOT))
    import simulator as simulator
    from simulator import certs

    ensure = getattr(simulator, "ensure_certs", certs.ensure_certs)
    cert_dir.mkdir(parents=True, exist_ok=True)
    ensure(cert_dir)


DEMO_DOMAINS = ("alice", "bob", "carol")  # the parties of the simulator's demo jobs


def lite_ports(sim_port: int) -> dict[str, int]:
    return {domain: sim_port + 1 + i for i, domain in enumerate(DEMO_DOMAINS)}


def add_lite_connections(env: dict[str, str], cert_dir: Path, ports: dict[str, int]) -> None:
    """A connection per demo lite node (add or bring up to date), then every connection's
    check: the console learns that the default connection is a master holding these domains
    and that each lite serves one of them (before the worker reads any job)."""
    for domain, port in ports.items():
        manage(
            env,
            "connections",
            "add",
            f"lite-{domain}",
            "--url",
            f"https://127.0.0.1:{port}",
            "--cert-dir",
            str(cert_dir),
            "--mode",
            "lite",
            "--local-domain",
            domain,
            "--update",
            capture=True,
        )
    subprocess.run(
        [PYTHON, "manage.py", "connections", "check", "--all", "--role-only"],
        cwd=ROOT,
        env=env,
        check=False,
        stdout=subprocess.DEVNULL,
    )


def main() -> int:
    env, var_dir = build_env()
    host = env.get("HOST", "127.0.0.1")
    port = int(env.get("PORT") or 8000)
    sim_port = int(env.get("KUSCIA_SIM_PORT") or 18082)
    use_sim = not env.get("KUSCIA_API_URL")
    web = env.get("KC_WEB", "runserver")

    prepare_dirs(env, var_dir)
    if port_answers(host, port):
        log(f"port {port} on {host} is already in use; set PORT to another port")
        return 2
    # Handlers first: a Ctrl-C during migrate (the manage.py step is in our process group and
    # gets it too) is a clean stop, not a traceback.
    sup = Supervisor(quiet_env(env))
    signal.signal(signal.SIGINT, sup.request_stop)
    signal.signal(signal.SIGTERM, sup.request_stop)
    try:
        log(f"database: {env.get('DATABASE_URL') or var_dir / 'db.sqlite3'}")
        manage(env, "catalogues", "-v", "0", "compile")
        manage(env, "migrate", "--noinput", "-v", "0")
        if use_sim:
            cert_dir = Path(env["KUSCIA_CERT_DIR"])
            ensure_sim_certs(cert_dir)
            taken = [
                p
                for p in (sim_port, *lite_ports(sim_port).values())
                if port_answers("127.0.0.1", p)
            ]
            if taken:
                log(
                    f"port {taken[0]} is taken: set KUSCIA_SIM_PORT to a free port "
                    "(its lite nodes use the next three)"
                )
                return 2
            lites = lite_ports(sim_port)
            sim = sup.start(
                "kuscia simulator",
                [
                    PYTHON,
                    "manage.py",
                    "kuscia_simulator",
                    "--port",
                    str(sim_port),
                    "--cert-dir",
                    str(cert_dir),
                    *(a for d, p in lites.items() for a in ("--lite", f"{d}={p}")),
                ],
            )
            ports = [sim_port, *lites.values()]
            if not all(wait_for_port(sup, sim, "127.0.0.1", p, 30) for p in ports):
                log("the simulator did not start")
                return 1
            add_lite_connections(env, cert_dir, lites)
        else:
            log(f"using the Kuscia API at {env['KUSCIA_API_URL']} (no simulator)")

        password = demo_password(var_dir)
        username = env.get("KC_DEMO_USER", "demo")
        manage(
            env,
            "create_demo_user",
            "--username",
            username,
            "--password-file",
            str(var_dir / "demo-password"),
            "-v",
            "0",
        )

        loud = verbose(env)
        celery_argv = [
            str(BIN / "celery"),
            "-A",
            "dashboard",
            *([] if loud else ["--quiet"]),  # no start-up banner
            "worker",
            "-B",
            "--schedule",
            str(var_dir / "celerybeat-schedule"),
            "--loglevel",
            env.get("LOG_LEVEL", "INFO") if loud else "WARNING",
            "--concurrency",
            env.get("KC_WORKER_CONCURRENCY", "4"),
            "-Q",
            "celery,watch,alerts",  # the task-log followers have their own worker below
        ]
        sup.start("celery worker + beat", celery_argv, escalate=signal.SIGQUIT)
        logs_argv = [
            str(BIN / "celery"),
            "-A",
            "dashboard",
            *([] if loud else ["--quiet"]),
            "worker",
            "-Q",
            "logs",
            "--pool",
            "threads",
            "--concurrency",
            env.get("KC_LOG_WORKER_CONCURRENCY", "16"),
            "-n",
            "logs@%h",
            "--loglevel",
            env.get("LOG_LEVEL", "INFO") if loud else "WARNING",
        ]
        sup.start("celery worker for task logs", logs_argv, escalate=signal.SIGQUIT)

        if web == "gunicorn":
            manage(env, "collectstatic", "--noinput", "-v", "0")
            web_argv = [
                str(BIN / "gunicorn"),
                "dashboard.wsgi:application",
                "--bind",
                f"{host}:{port}",
                "--workers",
                env.get("WEB_CONCURRENCY", "2"),
                *(["--access-logfile", "-"] if loud else []),
            ]
        else:
            web_argv = [PYTHON, "manage.py", "runserver", "--noreload", f"{host}:{port}"]
            if not loud:
                web_argv.insert(-1, "--skip-checks")  # migrate ran them
        web_child = sup.start("web server", web_argv)
        if not wait_for_port(sup, web_child, host, port, 60):
            if not sup.stop_requested:
                log("the web server did not start")
                return 1
            # Not a child's exit (that is "did not start" above): the supervisor itself got the
            # signal, e.g. Ctrl-C, or a signal sent to the process group it shares with its
            # caller (GNU timeout's kill(0), a job runner stopping its job).
            log(
                f"{sup.stop_signal} received while starting (pid {os.getpid()}, process group "
                f"{os.getpgrp()}); stopping"
            )
            return 0
        else:
            shown_host = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host  # noqa: S104
            url = f"http://{shown_host}:{port}/"
            sup.reminder = (
                f"Console at {url} - log in as {username} (password in {var_dir}/demo-password)"
            )
            print(
                "\n"
                f"  Kuscia Console is running at {url}\n"
                f"  Log in as: {username}   password: {password}   (role: operator)\n"
                f"  Kuscia API: {env.get('KUSCIA_API_URL') or f'simulator https://127.0.0.1:{sim_port}'}\n"
                f"  {debug_line(env)}\n"
                f"  {output_line(env)}\n"
                f"  Times shown in {env['DJANGO_TIME_ZONE']} (DJANGO_TIME_ZONE); English and "
                "中文: the header's switcher.\n"
                "  Press Ctrl-C to stop everything.\n",
                flush=True,
            )

        while not sup.stop_requested:  # only Ctrl-C or SIGTERM ends `make run`
            sup.supervise()
            time.sleep(0.3)
        log(f"{'Ctrl-C' if sup.stop_signal == 'SIGINT' else sup.stop_signal} received; stopping")
        return 0
    except subprocess.CalledProcessError as exc:
        if sup.stop_requested:
            log(f"{sup.stop_signal} received while starting; stopping")
            return 0
        log(f"{' '.join(map(str, exc.cmd[1:]))} failed with status {exc.returncode}")
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        sup.stop_all()
        log("stopped")


if __name__ == "__main__":
    sys.exit(main())
