"""The image's HEALTHCHECK: what "healthy" means depends on the role the container runs.

- web: GET /healthz on the container's own port answers 200 (database and broker reachable).
  The request carries a host the deployment allows and X-Forwarded-Proto: https, as the TLS
  proxy in front does, so production's HTTPS redirect does not answer it instead.
- worker, watch, logs: the container's Celery node answers a ping through the broker.
- migrate and other commands: nothing to probe; healthy while running.

The role is the one deploy/container/entrypoint.sh recorded in /tmp/kuscia-console-role.
Exit status 0 = healthy, 1 = unhealthy (Docker's and podman's HEALTHCHECK convention).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

ROLE_FILE = Path("/tmp/kuscia-console-role")  # noqa: S108 (the container's own /tmp)
# role -> Celery node name prefix (entrypoint.sh)
NODES = {"worker": "poll", "watch": "watch", "logs": "logs"}


def allowed_host() -> str:
    for host in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(","):
        host = host.strip().lstrip(".")
        if host and "*" not in host:
            return host
    return "localhost"


def check_web() -> int:
    port = os.environ.get("PORT", "8000")
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/healthz",
        headers={"Host": allowed_host(), "X-Forwarded-Proto": "https"},
    )
    try:
        with urllib.request.urlopen(request, timeout=8) as response:  # noqa: S310 (fixed URL)
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except OSError as exc:
        print(f"/healthz unreachable: {exc}")
        return 1
    print(f"/healthz answered {status}")
    return 0 if status == 200 else 1


def check_worker(prefix: str) -> int:
    node = f"{prefix}@{socket.gethostname()}"
    done = subprocess.run(
        ["celery", "-A", "dashboard", "inspect", "ping", "--timeout", "5", "-d", node],
        capture_output=True,
        text=True,
        timeout=25,
    )
    print((done.stdout + done.stderr).strip()[-400:])
    return 0 if done.returncode == 0 else 1


def main() -> int:
    role = ROLE_FILE.read_text().strip() if ROLE_FILE.exists() else ""
    if role == "web":
        return check_web()
    if role in NODES:
        return check_worker(NODES[role])
    return 0


if __name__ == "__main__":
    sys.exit(main())
