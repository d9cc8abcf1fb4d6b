"""Faults on demand: transport faults (latency, 503s, drops, truncated bodies, garbage bodies,
cut streams, streams cut in the middle of an object),
tasks that fail when asked to (custom_fields `sim-fail-*` or World.fail_task), and network
faults given on the command line (a node NotReady, a route Failed with a reason; at run time
World.set_node_status / set_route_status)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

FAIL_AT = 0.6  # a failing task fails after this fraction of its run time

FAILURE_REASONS: dict[str, str] = {
    "exit-code": (
        'container[secretflow] terminated state reason "Error", message: "RuntimeError: '
        "{alias} failed on {party}: key column 'id2' not found in input table {party}-table\n\""
    ),
    "oom": 'container[secretflow] terminated state reason "OOMKilled", message: ""',
    "image-pull": (
        'container[secretflow] waiting state reason "ErrImagePull", message: "rpc error: code = '
        "NotFound desc = failed to pull and unpack image "
        '\\"secretflow/secretflow-lite-anolis8:1.11.0b1\\": not found"'
    ),
    "network": (
        'container[secretflow] terminated state reason "Error", message: "RuntimeError: brpc '
        "link of {party} could not connect to peer {peer} after 60 retries: [E111]Connection "
        'refused\n"'
    ),
}

# What a gateway in front of Kuscia may answer (HTTP 200, a JSON content type, not JSON)
GARBAGE_BODY = b"<html><body><h1>Welcome to nginx!</h1>\x00\xff\xfe</body></html>"

# Job phases (stored) and what the API reports for them (§8.1).


@dataclass
class FailPlan:
    alias: str
    party: str | None
    message: str
    times: int | None  # None: every attempt


@dataclass
class Faults:
    """Fault injection for the transport (applied to token-protected routes)."""

    latency: float = 0.0  # seconds added before every answer
    error_rate: float = 0.0  # fraction answered with HTTP 503
    drop_rate: float = 0.0  # fraction where the connection is closed without an answer
    malformed_rate: float = 0.0  # fraction answered 200 with a truncated JSON body
    garbage_rate: float = 0.0  # fraction answered 200 with a body that is not JSON at all
    stream_cut_after: float = 0.0  # >0: watch streams are dropped (no final chunk) after s
    stream_cut_mid_object: bool = False  # the cut sends half of the next event, then drops
    log_cut_after: int = 0  # >0: log streams are dropped in the middle of line N+1
    log_cuts: int | None = None  # how many log streams to cut (None: every one)
    seed: int | None = None
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def __post_init__(self) -> None:
        if self.seed is not None:
            self.rng.seed(self.seed)

    def pick(self) -> str | None:
        """Which fault, if any, hits the next request: 'drop', 'error', 'malformed', 'garbage'
        or None."""
        r = self.rng.random()
        for kind, rate in (
            ("drop", self.drop_rate),
            ("error", self.error_rate),
            ("malformed", self.malformed_rate),
            ("garbage", self.garbage_rate),
        ):
            if r < rate:
                return kind
            r -= rate
        return None


# ---------------------------------------------------------------- network faults
# Reasons Kuscia's route controller writes on a route's Ready=False condition
ROUTE_REASONS = (
    "DestinationUnreachable",
    "HeartBeatTimeout",
    "TokenNotGenerate",
    "TokenRevisionNotMatch",
    "DestinationIsNotAuthrized",
)


def parse_node_fault(spec: str) -> tuple[str, str | None]:
    """`DOMAIN` (all its nodes) or `DOMAIN/NODE` -> (domain, node or None)."""
    domain, _, node = spec.partition("/")
    if not domain:
        raise ValueError(f"{spec!r}: expected DOMAIN or DOMAIN/NODE")
    return domain, node or None


def parse_route_fault(spec: str) -> tuple[str, str, str]:
    """`SOURCE:DESTINATION[:REASON]` -> (source, destination, reason); the reason defaults
    to DestinationUnreachable."""
    parts = spec.split(":")
    if len(parts) not in (2, 3) or not all(parts):
        raise ValueError(f"{spec!r}: expected SOURCE:DESTINATION[:REASON]")
    reason = parts[2] if len(parts) == 3 else "DestinationUnreachable"
    return parts[0], parts[1], reason
