"""Domains with their nodes, and the routes between domains (kuscia-network-api.md §1, §2, §8).

What a master holds: one Domain per lite domain plus its own `kuscia-system`, routes
between every pair of lite domains and from each lite to the master (`<lite>-kuscia-system`).
An autonomy node holds every domain it knows (the others as partners, without nodes) and only
its own outbound routes (`alice-bob`, not `bob-alice`).

Time-dependent state is computed from the clock when asked, never by a background loop: a node
or route may `flap` (up, then down, repeating), Ready nodes heartbeat every HEARTBEAT_SECONDS
of simulated time, and a node that goes NotReady last heartbeat NOT_READY_GRACE seconds
before (Kubernetes' node grace period). Controls: set_node_status, set_route_status.
"""

from __future__ import annotations

import datetime as dt
import math
import secrets
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .base import (
    ERR_DOMAIN_NOT_EXISTS,
    ERR_ROUTE_NOT_EXISTS,
    ERR_VALIDATE,
    JSON,
    KUSCIA_VERSION,
    APIError,
)
from .certs import domain_cert, domain_keys
from .clock import rfc3339
from .core import WorldCore
from .data import seed_datasources

SEED_DOMAINS = ("alice", "bob", "carol")
MASTER_DOMAIN = "kuscia-system"
HEARTBEAT_SECONDS = 10.0  # simulated seconds between two heartbeats of a Ready node
NOT_READY_GRACE = 40.0  # a node is NotReady this long after its last heartbeat
ROUTE_PORT = 1080  # Kuscia's gateway port in the deployment scripts
# Condition reasons the route controller writes, and the message that goes with each
ROUTE_MESSAGES = {"DestinationIsNotAuthrized": "TokenNotGenerate"}  # sic, as Kuscia spells it
MTLS_DESTINATIONS = frozenset({"carol"})  # routes into these domains authenticate with mTLS
TOKEN_ALPHABET = string.ascii_letters + string.digits


@dataclass
class Flap:
    """Up for `up`, then down for `down` simulated seconds, over and over from `origin`."""

    origin: float
    up: float
    down: float

    def state(self, now: float, scaled: Callable[[float], float]) -> tuple[bool, float]:
        """(up?, since when) at `now`."""
        up, down = scaled(self.up), scaled(self.down)
        if now < self.origin:
            return True, self.origin
        cycles, phase = divmod(now - self.origin, up + down)
        start = self.origin + cycles * (up + down)
        return (True, start) if phase < up else (False, start + up)


@dataclass
class Node:
    name: str
    ready: bool = True
    since: float = 0.0  # last transition
    flap: Flap | None = None  # overrides ready/since while set
    version: str = KUSCIA_VERSION


@dataclass
class Domain:
    domain_id: str
    role: str  # "" for a domain of this cluster, "partner" for a remote party
    nodes: list[Node] = field(default_factory=list)
    deploy_tokens: list[JSON] = field(default_factory=list)  # each holds a secret `token`
    cert_days: int = 3650  # validity of the domain certificate from now


@dataclass
class Route:
    source: str
    destination: str
    authentication_type: str  # Token | MTLS | None
    host: str
    ready: bool = True
    reason: str = ""  # the Ready condition's Reason while not ready ("": no condition yet)
    since: float | None = None  # the condition's LastUpdateTime
    flap: Flap | None = None  # overrides the above while set
    flap_reason: str = "HeartBeatTimeout"
    is_tls: bool = False


def go_time(ts: float) -> str:
    """Go's time.Time.String() of a UTC time: `2025-04-16 10:02:11 +0000 UTC`."""
    return dt.datetime.fromtimestamp(int(ts), dt.UTC).strftime("%Y-%m-%d %H:%M:%S +0000 UTC")


def _token() -> str:
    return "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(32))


class Network(WorldCore):
    """domain/query|batchQuery, route/query|status/batchQuery, and the network controls."""

    # ------------------------------------------------------------ building the world

    def _node_name(self, domain_id: str) -> str:
        kind = "autonomy" if self.mode == "autonomy" else "lite"
        return f"root-kuscia-{kind}-{domain_id}"

    def add_domain(self, domain_id: str, *, nodes: int = 1, cert_days: int = 3650) -> None:
        """A domain with `nodes` Kuscia nodes (none for a partner) and its routes."""
        with self.lock:
            start = self.started_at
            partner = self.mode == "autonomy" and domain_id != self.local_domain
            dom = Domain(domain_id, "partner" if partner else "", cert_days=cert_days)
            if not partner:
                base = self._node_name(domain_id)
                dom.nodes = [
                    Node(base if i == 0 else f"{base}-{i + 1}", since=start) for i in range(nodes)
                ]
                dom.deploy_tokens = [
                    {"token": _token(), "state": "used", "last_transition_time": rfc3339(start)},
                    {"token": _token(), "state": "unused", "last_transition_time": rfc3339(start)},
                ]
                for ds in seed_datasources(domain_id):  # DataMesh makes them at start
                    self.datasources[(domain_id, ds["datasource_id"])] = ds
            self.domains[domain_id] = dom
            if self.mode == "master":
                if MASTER_DOMAIN not in self.domains:
                    self.domains[MASTER_DOMAIN] = Domain(MASTER_DOMAIN, "")
                self.connect(domain_id, MASTER_DOMAIN)
            for other in [d for d in self.domains if d not in (domain_id, MASTER_DOMAIN)]:
                self.connect(domain_id, other)
                self.connect(other, domain_id)

    def connect(self, source: str, destination: str) -> None:
        """Create the route source->destination (a P2P node holds only its own outbound)."""
        with self.lock:
            if self.mode == "autonomy" and source != self.local_domain:
                return
            if (source, destination) in self.routes:
                return
            if destination == MASTER_DOMAIN:
                host = "root-kuscia-master"
            else:
                host = self._node_name(destination)
            auth = "MTLS" if destination in MTLS_DESTINATIONS else "Token"
            self.routes[(source, destination)] = Route(
                source, destination, auth, host, is_tls=auth == "MTLS"
            )

    def disconnect(self, source: str, destination: str) -> None:
        """Delete the route (queries for it then answer 11404)."""
        with self.lock:
            self.routes.pop((source, destination), None)

    # ------------------------------------------------------------ controls

    def set_node_status(self, domain_id: str, status: str, node: str | None = None) -> None:
        """The domain's nodes (or just `node`) report `status` ("Ready"/"NotReady") from now
        on; this stops a flap."""
        if status not in ("Ready", "NotReady"):
            raise ValueError("status must be 'Ready' or 'NotReady'")
        with self.lock:
            now = self.now()
            for n in self.domains[domain_id].nodes:
                if node is not None and n.name != node:
                    continue
                ready, _ = self._node_state(n, now)
                n.flap = None
                if ready != (status == "Ready"):
                    n.ready, n.since = status == "Ready", now

    def set_route_status(
        self, source: str, destination: str, status: str, reason: str = ""
    ) -> None:
        """Route source->destination reports `status` ("Succeeded"/"Failed") from now on.

        `reason` is the Ready condition's Reason (e.g. "DestinationUnreachable",
        "HeartBeatTimeout"); "Failed" with no reason is a route without a condition yet.
        """
        if status not in ("Succeeded", "Failed"):
            raise ValueError("status must be 'Succeeded' or 'Failed'")
        with self.lock:
            route = self._route(source, destination)
            route.flap = None
            route.ready = status == "Succeeded"
            route.reason = "" if route.ready else reason
            route.since = self.now() if route.ready or reason else None

    def set_route_ready(self, source: str, destination: str, ready: bool) -> None:
        self.set_route_status(
            source,
            destination,
            "Succeeded" if ready else "Failed",
            "" if ready else "DestinationUnreachable",
        )

    def flap_node(self, domain_id: str, node: str, up: float, down: float) -> None:
        """`node` is Ready for `up`, NotReady for `down` simulated seconds, repeating."""
        with self.lock:
            for n in self.domains[domain_id].nodes:
                if n.name == node:
                    n.flap = Flap(self.now(), up, down)

    def flap_route(
        self, source: str, destination: str, up: float, down: float, reason: str
    ) -> None:
        """The route is up for `up`, Failed with `reason` for `down` simulated s, repeating."""
        with self.lock:
            route = self._route(source, destination)
            route.flap, route.flap_reason = Flap(self.now(), up, down), reason

    def _route(self, source: str, destination: str) -> Route:
        route = self.routes.get((source, destination))
        if route is None:
            raise KeyError(f"no route {source}-{destination}")
        return route

    # ------------------------------------------------------------ state at a time

    def _node_state(self, node: Node, now: float) -> tuple[bool, float]:
        if node.flap is not None:
            return node.flap.state(now, self.scaled)
        return node.ready, node.since

    def _route_state(self, route: Route, now: float) -> tuple[bool, str, float | None]:
        """(ready, condition reason, condition time) of a route at `now`."""
        if route.flap is not None:
            up, since = route.flap.state(now, self.scaled)
            return up, "" if up else route.flap_reason, since
        return route.ready, route.reason, route.since

    def _node_status(self, node: Node, now: float) -> JSON:
        ready, since = self._node_state(node, now)
        if ready:
            beat = self.scaled(HEARTBEAT_SECONDS)
            heartbeat = since + math.floor((now - since) / beat) * beat
        else:
            heartbeat = since - self.scaled(NOT_READY_GRACE)
        return {
            "name": node.name,
            "status": "Ready" if ready else "NotReady",
            "version": node.version,
            "last_heartbeat_time": rfc3339(heartbeat),
            "last_transition_time": rfc3339(since),
        }

    def domain_ready(self, domain_id: str) -> bool:
        """Whether the domain has a Ready node (partners have none: not checked)."""
        now = self.now()
        return any(self._node_state(n, now)[0] for n in self.domains[domain_id].nodes)

    # ------------------------------------------------------------ domain routes

    def query_domain(self, domain_id: str) -> JSON:
        with self.lock:
            if not domain_id:
                raise APIError(ERR_VALIDATE, "domain id can not be empty")
            if domain_id == "master":
                return {
                    "domain_id": "master",
                    "role": "",
                    "cert": self.domain_cert_pem,
                    "node_statuses": [],
                    "deploy_token_statuses": [],
                    "annotations": {},
                    "auth_center": None,
                    "master_domain_id": "",
                }
            dom = self._domain(domain_id)
            return {
                **self._domain_summary(dom),
                "deploy_token_statuses": [dict(t) for t in dom.deploy_tokens],
                "annotations": {},
                "auth_center": {"authentication_type": "Token", "token_gen_method": "UID-RSA-GEN"},
                "master_domain_id": domain_id,
            }

    def batch_query_domains(self, ids: Sequence[str]) -> list[JSON]:
        """Domains in request order; one unknown id fails the whole batch (11305)."""
        with self.lock:
            if not ids:
                raise APIError(ERR_VALIDATE, "domain ids can not be empty")
            for index, i in enumerate(ids):
                if not i:
                    raise APIError(ERR_VALIDATE, f"domain id can not be empty on index {index}")
            out = []
            for i in ids:
                if i == "master":
                    master = self.query_domain(i)
                    out.append({k: master[k] for k in ("domain_id", "role", "cert")})
                    out[-1]["node_statuses"] = []
                else:
                    out.append(self._domain_summary(self._domain(i)))
            return out

    def _domain(self, domain_id: str) -> Domain:
        dom = self.domains.get(domain_id)
        if dom is None:
            raise APIError(
                ERR_DOMAIN_NOT_EXISTS, f'domains.kuscia.secretflow "{domain_id}" not found'
            )
        return dom

    def _domain_summary(self, dom: Domain) -> JSON:
        """The `Domain` message of batchQuery: id, role, cert, node statuses."""
        now = self.now()
        nodes = [self._node_status(n, now) for n in dom.nodes]
        if self.shuffle:  # written from a map-backed lister: order changes between calls
            self._rng.shuffle(nodes)
        return {
            "domain_id": dom.domain_id,
            "role": dom.role,
            "cert": domain_cert(dom.domain_id, dom.cert_days),
            "node_statuses": nodes,
        }

    # ------------------------------------------------------------ route routes

    def _route_status(self, route: Route) -> JSON:
        ready, reason, since = self._route_state(route, self.now())
        if ready:
            return {"status": "Succeeded", "reason": ""}
        if since is None:  # no Ready condition yet
            return {"status": "Failed", "reason": ""}
        message = ROUTE_MESSAGES.get(reason, reason)
        text = f"LastUpdateAt={go_time(since)}, Message={message}, Reason:{reason}"
        return {"status": "Failed", "reason": text}

    def _check_key(self, source: str, destination: str) -> None:
        if not source:
            raise APIError(ERR_VALIDATE, "source can not be empty")
        if not destination:
            raise APIError(ERR_VALIDATE, "destination can not be empty")

    def _known_route(self, source: str, destination: str) -> Route:
        route = self.routes.get((source, destination))
        if route is None:
            raise APIError(
                ERR_ROUTE_NOT_EXISTS,
                f'clusterdomainroutes.kuscia.secretflow "{source}-{destination}" not found',
            )
        return route

    def batch_route_status(self, keys: Sequence[JSON]) -> list[JSON]:
        """Route status per key, in request order: the whole batch fails (11404) on one
        unknown route."""
        with self.lock:
            if not keys:
                raise APIError(ERR_VALIDATE, "DomainRoute keys can not be empty")
            for k in keys:
                self._check_key(k["source"], k["destination"])
            out = []
            for k in keys:
                route = self._known_route(k["source"], k["destination"])
                out.append(
                    {
                        "name": f"{route.source}-{route.destination}",
                        "destination": route.destination,
                        "source": route.source,
                        "status": self._route_status(route),
                    }
                )
            return out

    def query_route(self, source: str, destination: str) -> JSON:
        """route/query: endpoint, authentication material (a private key with MTLS), status."""
        with self.lock:
            self._check_key(source, destination)
            route = self._known_route(source, destination)
            token_config = mtls_config = None
            if route.authentication_type == "Token":
                token_config = {
                    "destination_public_key": domain_keys(destination)[1],
                    "rolling_update_period": "0",
                    "source_public_key": domain_keys(source)[1],
                    "token_gen_method": "RSA-GEN",
                }
            elif route.authentication_type == "MTLS":
                mtls_config = {
                    "tls_ca": domain_cert(destination),
                    "source_client_private_key": domain_keys(source)[0],
                    "source_client_cert": domain_cert(source),
                }
            return {
                "name": f"{source}-{destination}",
                "authentication_type": route.authentication_type,
                "destination": destination,
                "endpoint": {
                    "host": route.host,
                    "ports": [
                        {
                            "name": "",
                            "port": ROUTE_PORT,
                            "protocol": "HTTP",
                            "isTLS": route.is_tls,
                            "path_prefix": "",
                        }
                    ],
                },
                "source": source,
                "token_config": token_config,
                "mtls_config": mtls_config,
                "status": self._route_status(route),
                "transit": None,
                "body_encryption": None,
            }

    # ------------------------------------------------------------ what jobs see

    def task_network_problem(self, parties: Sequence[str]) -> str:
        """Kuscia >= v1.0's checks when a task creates its resources (kuscia-network-api.md
        §8): a local party domain without a Ready node, then the first route between two
        parties whose Ready condition is not True (missing routes are skipped). "" if none."""
        now = self.now()
        errors = []
        for d in parties:
            local = not self.local_domain or d == self.local_domain
            if local and d in self.domains and not self.domain_ready(d):
                errors.append(f"resource-check no node status available for domain {d}")
                break
        broken = self.broken_routes(parties, now)
        if broken:
            src, dst, reason = self._rng.choice(broken) if self.shuffle else broken[0]
            # Kuscia splits the route name on "-" (wrong for domain ids that contain one)
            parts = f"{src}-{dst}".split("-")
            errors.append(f"cdr-check {parts[0]} to {parts[1]} failed with {reason}")
        return "; ".join(errors)

    def broken_routes(self, parties: Sequence[str], now: float) -> list[tuple[str, str, str]]:
        """(source, destination, reason) of the existing routes between `parties` that are
        not ready, in party order."""
        out = []
        for src in parties:
            for dst in parties:
                route = self.routes.get((src, dst))
                if src == dst or route is None:
                    continue
                ready, reason, _ = self._route_state(route, now)
                if not ready:
                    out.append((src, dst, reason))
        return out
