"""The container image and the compose file, built and run for real (issue 21).

The image is built from the Containerfile with rootful podman on a local Debian base (the
machines here reach Debian's and PyPI's repositories but no container registry: the base is
a cached mmdebstrap root filesystem, deploy/container/base-image.sh). deploy/compose.yaml is
validated with `podman-compose config`; then its console services (migrate, web, worker with
beat, watch) are started from it with deploy/compose.host-services.yaml on the host's network,
against the host's PostgreSQL (a fresh database) and Redis (a key prefix of its own) and the
bundled simulator as KusciaAPI. The test logs in as a user it creates inside the container,
sees the demo jobs synced, checks /healthz, the HEALTHCHECK of each role, static files,
/metrics, that every process runs as a non-root user, and that no
layer of the image holds a token, a private key or the build host's CA bundle. It removes the
containers, pod, volume and database it made; images stay as the build cache.

Needs root, podman (with runc), mmdebstrap (unless KC_CONTAINER_BASE names a base image) and
podman-compose 1.1 or newer (requirements-dev.txt; Debian's 1.0.3 has no `config` and cannot
put a service on the host network). Without them the tests skip with the reason, or fail
under KC_REQUIRE_SERVICES=1 (CI).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tarfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.container, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
IMAGE = "localhost/kuscia-console:test"
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
UID = 10001  # the image's service user (Containerfile)
DEMO_JOBS = ("job-best-effort-linear", "job-psi-fails-at-bob", "job-three-party", "job-wide-dag")
PEM_PRIVATE_KEY = re.compile(rb"-----BEGIN [A-Z ]*PRIVATE KEY-----\s*[A-Za-z0-9+/=\s]{64}")


def unavailable(reason: str) -> None:
    if os.environ.get("KC_REQUIRE_SERVICES") == "1":
        pytest.fail(f"container test cannot run: {reason}", pytrace=False)
    pytest.skip(f"container test skipped: {reason}")


def podman_compose_path() -> str:
    """podman-compose from this venv (requirements-dev.txt), else from PATH."""
    local = Path(sys.executable).parent / "podman-compose"
    return str(local) if local.exists() else (shutil.which("podman-compose") or "")


@pytest.fixture(scope="module")
def podman_env() -> dict[str, str]:
    if os.geteuid() != 0:
        unavailable("it needs rootful podman (run as root)")
    if not shutil.which("podman"):
        unavailable("podman is not installed (apt-get install podman runc mmdebstrap)")
    compose = podman_compose_path()
    if not compose:
        unavailable("podman-compose is not installed (pip install -r requirements-dev.txt)")
    if "config" not in run([compose, "--help"], check=False).stdout:
        unavailable(f"{compose} is too old (no `config`); pip install -r requirements-dev.txt")
    env = dict(os.environ)
    # runc and capped ulimits for rootful podman on these VMs (see the file's comments).
    env.setdefault("CONTAINERS_CONF", str(DEPLOY / "container" / "containers.conf"))
    env["KC_PODMAN_COMPOSE"] = compose
    return env


def run(
    argv: list[str], *, env: dict[str, str] | None = None, check: bool = True, **kw
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=kw.pop("timeout", 600), **kw
    )
    if check and done.returncode != 0:
        command = " ".join(argv)
        raise AssertionError(f"{command} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


def podman(env: dict[str, str], *args: str, **kw) -> subprocess.CompletedProcess[str]:
    return run(["podman", *args], env=env, **kw)


def report(request: pytest.FixtureRequest, line: str) -> None:
    """A figure for the CI log (build times, image size), printed whatever pytest captures."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"[container] {line}")


@pytest.fixture(scope="module")
def canaries() -> Iterator[list[bytes]]:
    """Secrets planted where a deployment keeps them in the build context (the compose file's
    certificate directory, `make run`'s var/): the image must not pick any of them up."""
    planted: list[Path] = []
    values: list[bytes] = []
    for parent in (DEPLOY / "kuscia-certs", ROOT / "var"):
        if not parent.exists():
            planted.append(parent)  # removed afterwards when empty
        folder = parent / f"kc-canary-{uuid.uuid4().hex[:8]}"
        folder.mkdir(parents=True)
        planted.append(folder)
        value = secrets.token_hex(16).encode()
        (folder / "token").write_bytes(value)
        (folder / "kusciaapi-server.key").write_bytes(
            b"-----BEGIN PRIVATE KEY-----\n" + secrets.token_hex(48).encode() + b"\n"
            b"-----END PRIVATE KEY-----\n"
        )
        values.append(value)
    yield values
    for folder in reversed(planted):
        if folder.name.startswith("kc-canary-"):
            shutil.rmtree(folder, ignore_errors=True)
        elif not any(folder.iterdir()):
            folder.rmdir()


@pytest.fixture(scope="module")
def console_image(request: pytest.FixtureRequest, podman_env, canaries) -> dict[str, str]:
    env = podman_env
    started = time.monotonic()
    base = os.environ.get("KC_CONTAINER_BASE", "")
    if not base:
        if not shutil.which("mmdebstrap"):
            unavailable("mmdebstrap is not installed (apt-get install mmdebstrap)")
        base = run(["sh", str(DEPLOY / "container" / "base-image.sh")], env=env).stdout.strip()
    base_seconds = time.monotonic() - started
    previous = podman(env, "image", "inspect", "--format", "{{.Id}}", IMAGE, check=False)
    argv = ["podman", "build", "--format", "docker", "--network", "host"]
    argv += ["--build-arg", f"BASE={base}", "-t", IMAGE, "-f", "Containerfile", "."]
    if HOST_CA_BUNDLE.exists():
        # The host's bundle (it trusts this network's TLS proxy) for pip, during RUN steps only.
        argv[2:2] = ["-v", f"{HOST_CA_BUNDLE}:{HOST_CA_BUNDLE}:ro"]
    started_build = time.monotonic()
    run(argv, env=env, cwd=ROOT, timeout=900)
    build_seconds = time.monotonic() - started_build
    image_id = podman(env, "image", "inspect", "--format", "{{.Id}}", IMAGE).stdout.strip()
    old_id = previous.stdout.strip()
    if previous.returncode == 0 and old_id and old_id != image_id:
        podman(env, "rmi", old_id, check=False)  # the previous build's image; kept while used
    size = int(podman(env, "image", "inspect", "--format", "{{.Size}}", IMAGE).stdout)
    report(
        request,
        f"base {base} ready in {base_seconds:.1f}s; image built in {build_seconds:.1f}s; "
        f"size {size / 1e6:.0f} MB",
    )
    return {"image": IMAGE, "base": base}


def parse_yaml(compose_tool: str, text: str) -> dict:
    """YAML read by podman-compose's own interpreter (PyYAML is its dependency, not ours)."""
    interpreter = Path(compose_tool).read_text().splitlines()[0].removeprefix("#!").split()
    code = "import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))"
    return json.loads(run([*interpreter, "-c", code], input=text).stdout)


def compose_env(podman_env: dict[str, str], **values: str) -> dict[str, str]:
    env = {k: v for k, v in podman_env.items() if not k.startswith(("KUSCIA_", "DJANGO_"))}
    env.update(values)
    return env


def compose(env: dict[str, str], *args: str, check: bool = True, **kw):
    files = ["-f", "compose.yaml", "-f", "compose.host-services.yaml"]
    if kw.pop("base_only", False):
        files = ["-f", "compose.yaml"]
    argv = [env["KC_PODMAN_COMPOSE"], *files, *args]
    return run(argv, env=env, cwd=DEPLOY, check=check, **kw)


def test_compose_file_config(podman_env) -> None:
    """compose.yaml is valid for podman-compose and says what the README promises."""
    required = {
        "DJANGO_SECRET_KEY": "k" * 50,
        "POSTGRES_PASSWORD": "pw",
        "KUSCIA_API_URL": "https://root-kuscia-master:8082",
    }
    out = compose(compose_env(podman_env, **required), "config", base_only=True).stdout
    config = parse_yaml(podman_env["KC_PODMAN_COMPOSE"], out)
    services = config["services"]
    assert set(services) == {"migrate", "web", "worker", "watch", "logs", "postgres", "redis"}
    assert config["networks"]["kuscia"] == {"external": True, "name": "kuscia-exchange"}
    for name, command in (("migrate", "migrate"), ("web", "web"), ("worker", "worker")):
        assert services[name]["command"] == [command]
    assert services["logs"]["command"] == ["logs"]
    assert "task-logs:/var/lib/kuscia-console/logs" in services["logs"]["volumes"]
    for name in ("migrate", "web", "worker", "watch", "logs"):
        service = services[name]
        assert "kuscia" in service["networks"], name
        assert "./kuscia-certs:/etc/kuscia-console/certs:ro" in service["volumes"], name
        assert service["environment"]["KUSCIA_TLS_SERVER_NAME"] == "kusciaapi"
        assert service["environment"]["KUSCIA_API_URL"] == "https://root-kuscia-master:8082"
        assert service["environment"]["REDIS_URL"] == "redis://redis:6379/0"
    assert services["web"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["web"]["ports"] == ["127.0.0.1:8000:8000"]
    assert set(config["volumes"]) == {"postgres-data", "redis-data", "task-logs"}
    # Each of the three variables is required, with a message saying so.
    for name in required:
        partial = {k: v for k, v in required.items() if k != name}
        done = compose(compose_env(podman_env, **partial), "config", base_only=True, check=False)
        assert done.returncode != 0 and name in done.stderr, (name, done.stderr[-500:])


@pytest.fixture
def fresh_database() -> Iterator[str]:
    import psycopg

    base = urlparse(os.environ["DATABASE_URL"])
    name = f"kc_ctr_{uuid.uuid4().hex[:8]}"
    admin_dsn = base._replace(path="/postgres").geturl()
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def readable_cert_copy(source: Path, target: Path) -> Path:
    """Kuscia's four files as a deployment mounts them: owned by the container's user, 0600."""
    target.mkdir(mode=0o700)
    for name in ("ca.crt", "kusciaapi-server.crt", "kusciaapi-server.key", "token"):
        shutil.copyfile(source / name, target / name)
        os.chmod(target / name, 0o600)
        os.chown(target / name, UID, UID)
    os.chown(target, UID, UID)
    return target


class Client:
    """Cookies by hand, as a browser keeps production's Secure cookies for http://127.0.0.1
    (a potentially trustworthy origin): the compose file serves plain HTTP on 127.0.0.1 only."""

    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=15, follow_redirects=False)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, **kw) -> httpx.Response:
        headers = kw.pop("headers", {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = self.http.request(method, path, headers=headers, **kw)
        for raw in response.headers.get_list("set-cookie"):
            name, _, rest = raw.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response


def wait_for(what: str, probe, seconds: float, logs) -> object:
    deadline = time.monotonic() + seconds
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = probe()
        except httpx.HTTPError as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(1)
    raise AssertionError(f"{what} did not happen in {seconds:.0f}s (last: {last!r})\n{logs()}")


def test_stack_from_compose_on_host_services(
    request, tmp_path, podman_env, console_image, fresh_database, kuscia_sim_factory
) -> None:
    started = time.monotonic()
    sim = kuscia_sim_factory(demo=True, speed=20)
    token = (sim.cert_dir / "token").read_text()
    certs = readable_cert_copy(sim.cert_dir, tmp_path / "certs")
    project = f"kc-test-{uuid.uuid4().hex[:8]}"
    port = free_port()
    metrics_token = secrets.token_urlsafe(16)
    env = compose_env(
        podman_env,
        KC_IMAGE=console_image["image"],
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        POSTGRES_PASSWORD="unused-here",
        KUSCIA_API_URL=sim.url,
        KUSCIA_CERTS=str(certs),
        KC_PORT=str(port),
        METRICS_TOKEN=metrics_token,
        DATABASE_URL=fresh_database,
        REDIS_URL=os.environ["REDIS_URL"],
        KC_REDIS_PREFIX=f"{project}:",
        KUSCIA_POLL_SECONDS="1",
        KUSCIA_WATCH_SECONDS="20",
    )
    names = {s: f"{project}_{s}_1" for s in ("migrate", "web", "worker", "watch", "logs")}

    def logs() -> str:
        out = []
        for name in names.values():
            done = podman(env, "logs", name, check=False)
            out.append(f"--- {name}\n{(done.stdout + done.stderr)[-3000:]}")
        return "\n".join(out)

    try:
        compose(
            env, "-p", project, "up", "-d", "migrate", "web", "worker", "watch", "logs", timeout=300
        )
        state = ("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", names["migrate"])
        wait_for(
            "migrate exiting 0", lambda: podman(env, *state).stdout.strip() == "exited 0", 120, logs
        )
        password = secrets.token_urlsafe(12)
        create_user = ("python", "manage.py", "create_user", "olga", "--role", "operator")
        podman(env, "exec", "-i", names["web"], *create_user, "--password-stdin", input=password)
        base = f"http://127.0.0.1:{port}"

        def synced() -> dict | None:
            body = httpx.get(base + "/healthz", timeout=10).json()
            return body if body["sync"] and body["sync"][0]["last_success"] else None

        health = wait_for("a synced /healthz", synced, 120, logs)
        assert health["status"] == "ok" and health["database"]["ok"], health
        assert "redis" in health["broker"]["transport"].lower(), health

        client = Client(base)
        page = client.request("GET", "/accounts/login/?next=/jobs/")
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert page.status_code == 200 and csrf, page.text[:500]
        login = client.request(
            "POST",
            "/accounts/login/",
            data={"username": "olga", "password": password, "next": "/jobs/"}
            | {"csrfmiddlewaretoken": csrf.group(1)},
            headers={"Origin": base},
        )
        assert login.status_code == 302 and login.headers["location"] == "/jobs/", login.text
        assert "Secure" in login.headers["set-cookie"], "the image does not run in production mode"

        def demo_jobs_listed() -> httpx.Response | None:
            page = client.request("GET", "/jobs/")
            ok = page.status_code == 200 and all(job in page.text for job in DEMO_JOBS)
            return page if ok else None

        jobs = wait_for("the demo jobs on /jobs/", demo_jobs_listed, 90, logs)
        assert isinstance(jobs, httpx.Response)
        css = re.search(r'href="(/static/css/console\.[0-9a-f]+\.css)"', jobs.text)
        assert css, "static files are not the image's hashed ones"
        assert client.request("GET", css.group(1)).status_code == 200

        # The web container's /metrics: the job gauges the sync wrote, with the bearer token.
        metrics = httpx.get(base + "/metrics", headers={"Authorization": f"Bearer {metrics_token}"})
        assert metrics.status_code == 200
        assert re.search(
            r'^kuscia_console_jobs\{connection="default".*\} [1-9]', metrics.text, re.M
        )

        for role in ("web", "worker", "watch", "logs"):
            name = names[role]
            users = podman(env, "top", name, "huser", "user").stdout.split()[2:]
            assert users and set(users) == {str(UID), "kuscia-console"}, (role, users)
            check = podman(env, "healthcheck", "run", name, check=False)
            assert check.returncode == 0, (role, check.stdout, check.stderr, logs())
        config_user = podman(env, "image", "inspect", "--format", "{{.Config.User}}", IMAGE)
        assert config_user.stdout.strip() == f"{UID}:{UID}"
    finally:
        output = logs()
        compose(env, "-p", project, "down", "-v", "-t", "5", check=False, timeout=120)
        label = f"label=io.podman.compose.project={project}"
        leftovers = podman(env, "ps", "-a", "-q", "--filter", label, check=False).stdout.split()
        if leftovers:
            podman(env, "rm", "-f", *leftovers, check=False)
    assert not leftovers, f"podman-compose down left {leftovers}"
    assert token not in output, "the Kuscia token appeared in a container's log"
    seconds = time.monotonic() - started
    report(request, f"stack from compose: up, synced, checked and removed in {seconds:.1f}s")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def image_files(archive: Path) -> Iterator[tuple[int, str, bytes]]:
    """(layer index, path, content) of every regular file in every layer of a docker-archive."""
    with tarfile.open(archive) as outer:
        manifest = json.load(outer.extractfile("manifest.json"))  # type: ignore[arg-type]
        yield -1, "config", outer.extractfile(manifest[0]["Config"]).read()  # type: ignore[union-attr]
        for index, layer_name in enumerate(manifest[0]["Layers"]):
            with tarfile.open(fileobj=outer.extractfile(layer_name), mode="r|*") as layer:
                for member in layer:
                    if member.isfile():
                        handle = layer.extractfile(member)
                        yield index, member.name, handle.read() if handle else b""


def test_image_holds_no_secrets(
    request, tmp_path, podman_env, console_image, canaries, sim_cert_dir
) -> None:
    env = podman_env
    archive = tmp_path / "image.tar"
    podman(env, "image", "save", "--format", "docker-archive", "-o", str(archive), IMAGE)
    base = console_image["base"]
    layers = podman(env, "image", "inspect", "--format", "{{json .RootFS.Layers}}", base)
    base_layers = len(json.loads(layers.stdout))
    secrets_ = {"simulator token": (sim_cert_dir / "token").read_bytes()}
    secrets_ |= {f"planted token {i}": value for i, value in enumerate(canaries)}
    host_ca = HOST_CA_BUNDLE.read_bytes() if HOST_CA_BUNDLE.exists() else b""
    host_ca_sha = hashlib.sha256(host_ca).digest()
    found: list[str] = []
    files = 0
    for layer, path, content in image_files(archive):
        files += 1
        for what, value in secrets_.items():
            if value in content:
                found.append(f"{what} in layer {layer}: {path}")
        # Layers the Containerfile adds. (The base's libgnutls embeds its FIPS self-test keys,
        # and its CA bundle may equal the host's on another machine.)
        ours = layer >= base_layers
        if ours and PEM_PRIVATE_KEY.search(content):
            found.append(f"a PEM private key in layer {layer}: {path}")
        same_size = host_ca and len(content) == len(host_ca)
        if ours and same_size and hashlib.sha256(content).digest() == host_ca_sha:
            found.append(f"the build host's CA bundle in layer {layer}: {path}")
        if ours and (path.startswith(("app/var/", "app/tests/")) or "kuscia-certs" in path):
            found.append(f"a file that must stay out of the image in layer {layer}: {path}")
    assert files > 1000, f"only {files} files read from the image"
    assert not found, "\n".join(found)
    report(request, f"secret scan: {files} files in {IMAGE}, nothing found")
