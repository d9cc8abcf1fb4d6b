"""Command line of the simulator, shared by `python -m simulator` and `manage.py kuscia_simulator`.

    python -m simulator --host 127.0.0.1 --port 8082 --cert-dir DIR \
        [--speed X] [--no-demo] [--protocol MTLS|TLS|NOTLS] [--heartbeat S] \
        [--latency S] [--error-rate R] [--drop-rate R] [--malformed-rate R] [--garbage-rate R]
        [--stream-cut-after S [--cut-mid-object]] [--fault-seed N] [--shuffle]
        [--log-mode lite|master]
        [--mode master|autonomy] [--local-domain alice]
        [--node-down DOMAIN[/NODE]]... [--route-down SRC:DST[:REASON]]...
        [--log-cut-after N] [--lite DOMAIN=PORT]...

Runs until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from .server import Simulator

DEFAULT_CERT_DIR = "var/simulator-certs"


def add_arguments(parser: argparse.ArgumentParser, *, cert_dir: str = DEFAULT_CERT_DIR) -> None:
    """The simulator's options on `parser` (argparse or Django's CommandParser)."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8082)
    parser.add_argument(
        "--cert-dir",
        default=cert_dir,
        help="where ca.crt, kusciaapi-server.crt/.key and token are (created if missing)",
    )
    parser.add_argument("--speed", type=float, default=1.0, help="simulated-time factor")
    parser.add_argument("--no-demo", action="store_true", help="start without demo jobs")
    parser.add_argument(
        "--protocol", default="MTLS", type=str.upper, choices=("MTLS", "TLS", "NOTLS")
    )
    parser.add_argument(
        "--heartbeat", type=float, default=10.0, help="watch heartbeat after S s of silence"
    )
    parser.add_argument(
        "--log-mode",
        default=None,
        choices=("lite", "master"),
        help="lite: serve task logs, as a lite or autonomy node does; master: answer 11105 "
        "like a real master (default: master for --mode master, lite for autonomy)",
    )
    parser.add_argument(
        "--mode",
        default="master",
        choices=("master", "autonomy"),
        help="master: centralized; autonomy: the P2P node of --local-domain",
    )
    parser.add_argument("--local-domain", default="alice", help="domain of an autonomy node")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per call")
    parser.add_argument("--error-rate", type=float, default=0.0, help="fraction of 503s")
    parser.add_argument(
        "--drop-rate", type=float, default=0.0, help="fraction of dropped connections"
    )
    parser.add_argument(
        "--malformed-rate", type=float, default=0.0, help="fraction of truncated bodies"
    )
    parser.add_argument(
        "--garbage-rate", type=float, default=0.0, help="fraction of 200s with a non-JSON body"
    )
    parser.add_argument(
        "--stream-cut-after",
        type=float,
        default=0.0,
        help="drop every watch stream (no final chunk) after S seconds",
    )
    parser.add_argument(
        "--cut-mid-object",
        action="store_true",
        help="with --stream-cut-after: the cut sends half of the next event",
    )
    parser.add_argument("--fault-seed", type=int, default=None)
    parser.add_argument(
        "--shuffle",
        action="store_true",
        help="random order of stage/approve lists, parties and endpoints (as Kuscia)",
    )
    parser.add_argument(
        "--node-down",
        action="append",
        default=[],
        metavar="DOMAIN[/NODE]",
        help="start with the domain's nodes (or one node) NotReady; repeatable",
    )
    parser.add_argument(
        "--route-down",
        action="append",
        default=[],
        metavar="SRC:DST[:REASON]",
        help="start with the route Failed, REASON as Kuscia's condition reason "
        "(default DestinationUnreachable; e.g. HeartBeatTimeout); repeatable",
    )
    parser.add_argument(
        "--log-cut-after",
        type=int,
        default=0,
        metavar="N",
        help="drop every task log stream in the middle of its line N+1",
    )
    parser.add_argument(
        "--lite",
        action="append",
        default=[],
        metavar="DOMAIN=PORT",
        help="also listen on PORT as DOMAIN's lite node (same jobs and data; its log API "
        "serves DOMAIN's pods); repeatable",
    )
    parser.add_argument("--verbose-http", action="store_true", help="log every request")


def build_simulator(opts: dict[str, Any]) -> Simulator:
    """A Simulator (not started) from parsed options (argparse names, as a dict)."""
    faults = {
        "latency": opts["latency"],
        "error_rate": opts["error_rate"],
        "drop_rate": opts["drop_rate"],
        "malformed_rate": opts["malformed_rate"],
        "garbage_rate": opts["garbage_rate"],
        "stream_cut_after": opts["stream_cut_after"],
        "stream_cut_mid_object": opts["cut_mid_object"],
        "log_cut_after": opts["log_cut_after"],
        "seed": opts["fault_seed"],
    }
    return Simulator(
        host=opts["host"],
        port=opts["port"],
        cert_dir=Path(opts["cert_dir"]).resolve(),
        protocol=opts["protocol"],
        speed=opts["speed"],
        demo=not opts["no_demo"],
        heartbeat_interval=opts["heartbeat"],
        log_mode=opts["log_mode"],
        faults=faults,
        shuffle=opts["shuffle"],
        mode=opts["mode"],
        local_domain=opts["local_domain"],
        verbose=opts["verbose_http"],
        nodes_down=opts["node_down"],
        routes_down=opts["route_down"],
    )


def build_lites(sim: Simulator, opts: dict[str, Any]) -> list[Simulator]:
    """One lite listener per `--lite DOMAIN=PORT`, serving `sim`'s world (not started)."""
    lites = []
    for spec in opts["lite"]:
        domain, _, port = spec.partition("=")
        if domain not in sim.world.domains or not port.isdigit():
            raise ValueError(f"--lite {spec!r}: expected DOMAIN=PORT with a known domain")
        lites.append(
            Simulator(
                host=opts["host"],
                port=int(port),
                cert_dir=sim.cert_dir,
                protocol=opts["protocol"],
                heartbeat_interval=opts["heartbeat"],
                verbose=opts["verbose_http"],
                world=sim.world,
                lite_domain=domain,
            )
        )
    return lites


def serve(opts: dict[str, Any], write: Callable[[str], None]) -> None:
    """Start the simulator from `opts`, report where it listens, run until SIGINT/SIGTERM.
    Raises ValueError for options naming an unknown domain, node or route."""
    sim = build_simulator(opts)
    lites = build_lites(sim, opts)
    done = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    sim.start()
    write(f"Kuscia simulator ({sim.protocol}) listening on {sim.url}")
    write(f"cert dir: {sim.cert_dir}")
    write(
        f"files: ca.crt kusciaapi-server.crt kusciaapi-server.key token; speed {opts['speed']}"
        f"; demo jobs: {'no' if opts['no_demo'] else 'yes'}"
    )
    for lite in lites:
        lite.start()
        write(f"lite node of {lite.lite_domain} listening on {lite.url}")
    try:
        while not done.wait(0.5):
            pass
    finally:
        for lite in lites:
            lite.stop()
        sim.stop()
        write("Kuscia simulator stopped")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m simulator",
        description="Run a local KusciaAPI simulator (mTLS, Kuscia's routes and state machines).",
    )
    add_arguments(parser, cert_dir=os.environ.get("KUSCIA_CERT_DIR", DEFAULT_CERT_DIR))
    opts = vars(parser.parse_args(argv))

    def write(line: str) -> None:
        print(line, flush=True)

    try:
        serve(opts, write)
    except ValueError as exc:  # a bad --node-down / --route-down
        parser.error(str(exc))
    return 0
